/* expr.c - the expression language: a recursive-descent parser (one function per grammar rule)
 * that compiles straight to a postfix program of registry op ids, and the interpreters that run
 * that program on doubles, dual numbers and handles. */
#define _GNU_SOURCE /* strtod_l and newlocale: numbers are read in the C locale whatever the
                       program's LC_NUMERIC says */
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "strset.h"
#include "nabla/expr.h"

/* Instruction codes beyond the op ids. */
enum { CODE_CONST = NB_OP_COUNT, CODE_VAR };

typedef struct insn {
    int code;  /* an nb_op, CODE_CONST or CODE_VAR */
    int n;     /* the op's int parameter; for CODE_VAR the variable's index (after bind: the
                  caller's index) */
    double k;  /* CODE_CONST: the value */
} insn;

struct nb_expr {
    nb_alloc_fn alloc;
    void *alloc_ud;
    insn *prog;
    size_t nprog, capprog;
    size_t maxstack;
    char **vars;          /* names, in order of first appearance */
    size_t nvars, capvars;
    int ok;               /* parsed and compiled */
    int bound;
    size_t nbound;        /* the number of names of the last successful bind */
    int *map;             /* map[i]: the caller's index of variable i (after bind) */
    double *dstack;       /* scratch stacks for the interpreters */
    nb_dual *ustack;
    nb_var *hstack;
    char err[160];
    size_t errcol;
};

static void *ealloc(nb_expr *e, void *p, size_t old, size_t size) {
    return e->alloc(e->alloc_ud, p, old, size);
}

static void *default_alloc(void *ud, void *ptr, size_t old, size_t size) {
    (void)ud;
    (void)old;
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, size);
}

void nb_expr_opts_init(nb_expr_opts *o) {
    if (!o) return;
    o->alloc = NULL;
    o->alloc_ud = NULL;
    o->max_length = 1048576;
    o->max_depth = 256;
    o->max_program = 2097152;
}

/* ---- the parser ---- */

typedef struct parser {
    nb_expr *e;
    const char *s;
    size_t len, pos;
    int depth, max_depth;
    size_t max_program;
    size_t stack, maxstack; /* operand stack depth of the program so far */
    nb_status status;       /* first error */
    locale_t cloc;
    nb__strset names;       /* an index over e->vars: many distinct names cost linear time */
} parser;

static nb_status fail(parser *p, size_t at, const char *fmt, ...) {
    if (p->status) return p->status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->e->err, sizeof p->e->err, fmt, ap);
    va_end(ap);
    p->e->errcol = at + 1;
    p->status = NB_E_PARSE;
    return p->status;
}

static int is_space(unsigned char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }
static int is_alpha(unsigned char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_'; }
static int is_digit(unsigned char ch) { return ch >= '0' && ch <= '9'; }

/* Skips white space; an invalid byte (a control byte other than space, tab, CR, LF, or a byte
 * >= 0x80) is an error here, before any token. Returns the next byte, or -1 at the end. */
static int peek(parser *p) {
    while (p->pos < p->len && is_space((unsigned char)p->s[p->pos])) p->pos++;
    if (p->pos >= p->len) return -1;
    unsigned char ch = (unsigned char)p->s[p->pos];
    if (ch < 0x20 || ch >= 0x7f) {
        fail(p, p->pos, "invalid byte 0x%02x", ch);
        return -1;
    }
    return ch;
}

/* Describes the token at the current position, for messages. */
static void token_text(parser *p, char *buf, size_t size) {
    size_t i = p->pos, n = 0;
    if (i < p->len && (is_alpha((unsigned char)p->s[i]) || is_digit((unsigned char)p->s[i]) || p->s[i] == '.')) {
        while (i < p->len && n + 1 < size && (is_alpha((unsigned char)p->s[i]) || is_digit((unsigned char)p->s[i]) || p->s[i] == '.'))
            buf[n++] = p->s[i++];
    } else if (i < p->len) {
        buf[n++] = p->s[i];
    }
    buf[n] = 0;
}

static nb_status unexpected(parser *p) {
    int ch = peek(p);
    if (p->status) return p->status;
    if (ch < 0) return fail(p, p->len, "unexpected end of expression");
    char tok[40];
    token_text(p, tok, sizeof tok);
    return fail(p, p->pos, "unexpected '%s'", tok);
}

/* ---- emitting, with constant folding ---- */

static nb_status emit(parser *p, insn in) {
    nb_expr *e = p->e;
    if (e->nprog >= p->max_program)
        return fail(p, p->pos, "expression too large (more than %zu instructions)", p->max_program);
    if (e->nprog == e->capprog) {
        size_t cap = e->capprog ? 2 * e->capprog : 64;
        if (cap > p->max_program) cap = p->max_program;
        insn *q = ealloc(e, e->prog, e->capprog * sizeof *q, cap * sizeof *q);
        if (!q) return p->status = NB_E_NOMEM;
        e->prog = q;
        e->capprog = cap;
    }
    e->prog[e->nprog++] = in;
    return NB_OK;
}

static nb_status emit_const(parser *p, double k) {
    insn in = {CODE_CONST, 0, k};
    if (emit(p, in)) return p->status;
    if (++p->stack > p->maxstack) p->maxstack = p->stack;
    return NB_OK;
}

/* An op on the top one or two values; folded when they are constants. */
static nb_status emit_op(parser *p, nb_op op, int n) {
    nb_expr *e = p->e;
    int arity = nb_op_get(op)->arity;
    if (arity == 1 && e->nprog >= 1 && e->prog[e->nprog - 1].code == CODE_CONST) {
        insn *a = &e->prog[e->nprog - 1];
        a->k = nb_prim_apply(op, a->k, 0, n);
        return NB_OK;
    }
    if (arity == 2 && e->nprog >= 2 && e->prog[e->nprog - 1].code == CODE_CONST &&
        e->prog[e->nprog - 2].code == CODE_CONST) {
        insn *a = &e->prog[e->nprog - 2], *b = &e->prog[e->nprog - 1];
        a->k = nb_prim_apply(op, a->k, b->k, n);
        e->nprog--;
        p->stack--;
        return NB_OK;
    }
    insn in = {(int)op, n, 0};
    if (emit(p, in)) return p->status;
    if (arity == 2) p->stack--;
    return NB_OK;
}

static nb_status emit_var(parser *p, const char *name, size_t len) {
    nb_expr *e = p->e;
    size_t i = nb__strset_find(&p->names, e->vars, name, len);
    if (i == SIZE_MAX) {
        i = e->nvars;
        if (e->nvars == e->capvars) {
            size_t cap = e->capvars ? 2 * e->capvars : 8;
            char **q = ealloc(e, e->vars, e->capvars * sizeof *q, cap * sizeof *q);
            if (!q) return p->status = NB_E_NOMEM;
            e->vars = q;
            e->capvars = cap;
        }
        char *copy = ealloc(e, NULL, 0, len + 1);
        if (!copy) return p->status = NB_E_NOMEM;
        memcpy(copy, name, len);
        copy[len] = 0;
        e->vars[e->nvars++] = copy;
        if (2 * e->nvars > p->names.cap) {
            size_t cap = nb__strset_cap_for(e->nvars);
            uint32_t *slots = ealloc(e, NULL, 0, cap * sizeof *slots);
            if (!slots) return p->status = NB_E_NOMEM;
            memset(slots, 0, cap * sizeof *slots);
            if (p->names.slot) ealloc(e, p->names.slot, p->names.cap * sizeof *slots, 0);
            nb__strset_rebuild(&p->names, slots, cap, e->vars, e->nvars);
        } else {
            nb__strset_put(&p->names, e->vars, i);
        }
    }
    insn in = {CODE_VAR, (int)i, 0};
    if (emit(p, in)) return p->status;
    if (++p->stack > p->maxstack) p->maxstack = p->stack;
    return NB_OK;
}

static nb_status enter(parser *p, size_t at) {
    if (++p->depth > p->max_depth)
        return fail(p, at, "nesting too deep (more than %d levels)", p->max_depth);
    return NB_OK;
}

/* ---- the grammar ---- */

static nb_status expr(parser *p);
static nb_status unary(parser *p);

/* number = digits [ "." [ digits ] ] [ exponent ] | "." digits [ exponent ]
 * exponent = ("e" | "E") [ "+" | "-" ] digits
 * A number directly followed by a letter, digit, '_' or '.' is malformed (no implicit
 * multiplication: 2x, 2e, 1e are errors). Sets *is_int when the text is digits only. */
static nb_status number(parser *p, double *out, int *is_int) {
    size_t start = p->pos, i = p->pos;
    const char *s = p->s;
    size_t nd = 0;
    while (i < p->len && is_digit((unsigned char)s[i])) i++, nd++;
    *is_int = nd > 0;
    if (i < p->len && s[i] == '.') {
        *is_int = 0;
        i++;
        size_t frac = 0;
        while (i < p->len && is_digit((unsigned char)s[i])) i++, frac++;
        if (nd == 0 && frac == 0) return fail(p, start, "malformed number");
    }
    if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
        *is_int = 0;
        size_t j = i + 1;
        if (j < p->len && (s[j] == '+' || s[j] == '-')) j++;
        size_t ed = 0;
        while (j < p->len && is_digit((unsigned char)s[j])) j++, ed++;
        if (ed == 0) return fail(p, start, "malformed number");
        i = j;
    }
    if (i < p->len && (is_alpha((unsigned char)s[i]) || is_digit((unsigned char)s[i]) || s[i] == '.'))
        return fail(p, start, "malformed number");
    /* strtod_l on a NUL-terminated copy (the source need not be terminated) */
    char buf[64], *big = NULL, *text = buf;
    size_t n = i - start;
    if (n >= sizeof buf) {
        big = ealloc(p->e, NULL, 0, n + 1);
        if (!big) return p->status = NB_E_NOMEM;
        text = big;
    }
    memcpy(text, s + start, n);
    text[n] = 0;
    double v = strtod_l(text, NULL, p->cloc);
    if (big) ealloc(p->e, big, n + 1, 0);
    if (isinf(v)) return fail(p, start, "number out of range");
    p->pos = i;
    *out = v;
    return NB_OK;
}

/* function "(" expr { "," expr } ")" for a registry op; polygamma(n, x) takes a literal n. */
static nb_status call(parser *p, nb_op op, size_t name_at, const char *name) {
    const nb_op_info *info = nb_op_get(op);
    size_t open = p->pos;
    p->pos++; /* '(' */
    if (enter(p, open)) return p->status;
    int nargs = 0, param = 0;
    if (info->has_param) {
        /* the parameter: an integer literal, with a minus sign where the op takes negative ones
         * (bessel_jn) */
        int ch = peek(p);
        if (p->status) return p->status;
        size_t at = p->pos;
        double v;
        int is_int = 0, minus = 0;
        if (ch < 0) return fail(p, p->len, "unexpected end of expression");
        if (ch == '-' && info->nmin < 0) {
            minus = 1;
            p->pos++;
            ch = peek(p); /* spaces may follow the sign, as in x^ - 2 */
            if (p->status) return p->status;
        }
        if (ch < 0 || !is_digit((unsigned char)ch) || number(p, &v, &is_int) || !is_int) {
            if (p->status) return p->status;
            if (info->nmin < 0)
                return fail(p, at, "the first argument of %s must be an integer literal", name);
            return fail(p, at, "the first argument of %s must be a non-negative integer literal", name);
        }
        if (minus) v = -v;
        int lo = info->nmin < -NB_PARAM_LANG_MAX ? -NB_PARAM_LANG_MAX : info->nmin;
        int hi = info->nmax > NB_PARAM_LANG_MAX ? NB_PARAM_LANG_MAX : info->nmax;
        if (v > hi || v < lo)
            return fail(p, at, "the first argument of %s is out of range (%d to %d)", name, lo, hi);
        param = (int)v;
        nargs = 1;
        ch = peek(p);
        if (p->status) return p->status;
        if (ch != ',') {
            if (ch == ')') return fail(p, name_at, "'%s' takes 2 arguments, got 1", name);
            return unexpected(p);
        }
        p->pos++;
    }
    for (;;) {
        int ch = peek(p);
        if (p->status) return p->status;
        if (ch == ')' && nargs == 0) break; /* f() */
        if (expr(p)) return p->status;
        nargs++;
        ch = peek(p);
        if (p->status) return p->status;
        if (ch == ',') {
            p->pos++;
            continue;
        }
        if (ch == ')') break;
        if (ch < 0) return fail(p, open, "unclosed parenthesis");
        return unexpected(p);
    }
    p->pos++; /* ')' */
    p->depth--;
    int want = info->has_param ? 2 : info->arity;
    if (nargs != want)
        return fail(p, name_at, "'%s' takes %d argument%s, got %d", name, want, want == 1 ? "" : "s",
                    nargs);
    return emit_op(p, op, param);
}

/* primary = number | constant | variable | function "(" ... ")" | "(" expr ")" */
static nb_status primary(parser *p) {
    int ch = peek(p);
    if (p->status) return p->status;
    if (ch < 0) return fail(p, p->len, "unexpected end of expression");
    size_t at = p->pos;
    if (is_digit((unsigned char)ch) || ch == '.') {
        double v;
        int is_int;
        if (number(p, &v, &is_int)) return p->status;
        return emit_const(p, v);
    }
    if (is_alpha((unsigned char)ch)) {
        size_t i = p->pos;
        while (i < p->len && (is_alpha((unsigned char)p->s[i]) || is_digit((unsigned char)p->s[i]))) i++;
        size_t n = i - p->pos;
        char name[64];
        size_t shown = n < sizeof name - 1 ? n : sizeof name - 1;
        memcpy(name, p->s + p->pos, shown);
        name[shown] = 0;
        p->pos = i;
        int op = n < sizeof name ? nb_op_find_lang(name) : -1;
        int next = peek(p);
        if (p->status) return p->status;
        if (op >= 0) {
            if (next != '(') return fail(p, at, "'%s' is a function: it must be followed by '('", name);
            return call(p, (nb_op)op, at, name);
        }
        if (next == '(' && ((n == 2 && memcmp(name, "pi", 2) == 0) || (n == 1 && name[0] == 'e')))
            return fail(p, at, "'%s' is a constant, not a function", name);
        if (next == '(') return fail(p, at, "unknown function '%s%s'", name, n > shown ? "..." : "");
        if (n == 2 && memcmp(name, "pi", 2) == 0) return emit_const(p, NB_PI);
        if (n == 1 && name[0] == 'e') return emit_const(p, 2.71828182845904523536028747135266250);
        return emit_var(p, p->s + at, n);
    }
    if (ch == '(') {
        p->pos++;
        if (enter(p, at)) return p->status;
        if (expr(p)) return p->status;
        int close = peek(p);
        if (p->status) return p->status;
        if (close == ')') {
            p->pos++;
            p->depth--;
            return NB_OK;
        }
        if (close < 0) return fail(p, at, "unclosed parenthesis");
        return unexpected(p);
    }
    return unexpected(p);
}

/* The exponent is a bare integer literal, optionally after a unary minus, that fits powi's
 * range: x^2, x^-3. Consumes it and sets *n; otherwise leaves the position alone. */
static int integer_exponent(parser *p, int *n) {
    size_t save = p->pos;
    int neg = 0, ch = peek(p);
    if (ch == '-') {
        neg = 1;
        p->pos++;
        ch = peek(p);
    }
    if (p->status || ch < 0 || !is_digit((unsigned char)ch)) {
        p->pos = save;
        return 0;
    }
    size_t i = p->pos;
    long long v = 0;
    while (i < p->len && is_digit((unsigned char)p->s[i])) {
        if (v <= NB_PARAM_LANG_MAX) v = v * 10 + (p->s[i] - '0');
        i++;
    }
    int tail = i < p->len && (is_alpha((unsigned char)p->s[i]) || p->s[i] == '.');
    size_t after = i;
    while (after < p->len && is_space((unsigned char)p->s[after])) after++;
    int tower = after < p->len && p->s[after] == '^';
    if (tail || tower || v > NB_PARAM_LANG_MAX) { /* 2.0, 2e1, 2^3, or too large: pow */
        p->pos = save;
        return 0;
    }
    p->pos = i;
    *n = neg ? -(int)v : (int)v;
    return 1;
}

/* power = primary [ "^" unary ] */
static nb_status power(parser *p) {
    if (primary(p)) return p->status;
    int ch = peek(p);
    if (p->status) return p->status;
    if (ch != '^') return NB_OK;
    size_t at = p->pos;
    p->pos++;
    int n;
    if (integer_exponent(p, &n)) return emit_op(p, NB_OP_powi, n);
    if (p->status) return p->status;
    if (enter(p, at)) return p->status;
    if (unary(p)) return p->status;
    p->depth--;
    return emit_op(p, NB_OP_pow, 0);
}

/* unary = ("-" | "+") unary | power */
static nb_status unary(parser *p) {
    int ch = peek(p);
    if (p->status) return p->status;
    if (ch == '-' || ch == '+') {
        size_t at = p->pos;
        p->pos++;
        if (enter(p, at)) return p->status;
        if (unary(p)) return p->status;
        p->depth--;
        return ch == '-' ? emit_op(p, NB_OP_neg, 0) : NB_OK;
    }
    return power(p);
}

/* term = unary { ("*" | "/") unary } */
static nb_status term(parser *p) {
    if (unary(p)) return p->status;
    for (;;) {
        int ch = peek(p);
        if (p->status) return p->status;
        if (ch != '*' && ch != '/') return NB_OK;
        p->pos++;
        if (unary(p)) return p->status;
        if (emit_op(p, ch == '*' ? NB_OP_mul : NB_OP_div, 0)) return p->status;
    }
}

/* expr = term { ("+" | "-") term } */
static nb_status expr(parser *p) {
    if (term(p)) return p->status;
    for (;;) {
        int ch = peek(p);
        if (p->status) return p->status;
        if (ch != '+' && ch != '-') return NB_OK;
        p->pos++;
        if (term(p)) return p->status;
        if (emit_op(p, ch == '+' ? NB_OP_add : NB_OP_sub, 0)) return p->status;
    }
}

void nb_expr_free(nb_expr *e) {
    if (!e) return;
    for (size_t i = 0; i < e->nvars; i++) ealloc(e, e->vars[i], strlen(e->vars[i]) + 1, 0);
    ealloc(e, e->vars, e->capvars * sizeof *e->vars, 0);
    ealloc(e, e->prog, e->capprog * sizeof *e->prog, 0);
    ealloc(e, e->map, e->nvars * sizeof *e->map, 0);
    ealloc(e, e->dstack, e->maxstack * sizeof *e->dstack, 0);
    ealloc(e, e->ustack, e->maxstack * sizeof *e->ustack, 0);
    ealloc(e, e->hstack, e->maxstack * sizeof *e->hstack, 0);
    e->alloc(e->alloc_ud, e, sizeof *e, 0);
}

nb_status nb_expr_parse(nb_expr **out, const char *src, size_t len, const nb_expr_opts *opts) {
    if (!out) return NB_E_ARG;
    *out = NULL;
    if (!src && len) return NB_E_ARG;
    nb_expr_opts o;
    nb_expr_opts_init(&o);
    if (opts) {
        /* a zero (or negative) limit means its default, as max_tape_bytes does for contexts */
        nb_expr_opts d = o;
        o = *opts;
        if (o.max_length == 0) o.max_length = d.max_length;
        if (o.max_depth <= 0) o.max_depth = d.max_depth;
        /* the parser recurses once per level: the cap bounds its stack (about 250 bytes a level
         * in an optimised build, so 1 MiB at the cap) */
        if (o.max_depth > NB_EXPR_MAX_DEPTH) o.max_depth = NB_EXPR_MAX_DEPTH;
        if (o.max_program == 0) o.max_program = d.max_program;
    }
    if (!o.alloc) o.alloc = default_alloc;
    nb_expr *e = o.alloc(o.alloc_ud, NULL, 0, sizeof *e);
    if (!e) return NB_E_NOMEM;
    memset(e, 0, sizeof *e);
    e->alloc = o.alloc;
    e->alloc_ud = o.alloc_ud;
    parser p = {e, src, len, 0, 0, o.max_depth, o.max_program, 0, 0, NB_OK, (locale_t)0, {NULL, 0}};
    if (len > o.max_length) {
        fail(&p, o.max_length, "expression too long (more than %zu bytes)", o.max_length);
    } else {
        p.cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
        if (!p.cloc) {
            p.status = NB_E_NOMEM;
        } else {
            if (peek(&p) < 0 && !p.status)
                fail(&p, 0, "empty expression");
            else if (!p.status && !expr(&p) && peek(&p) >= 0 && !p.status)
                unexpected(&p);
            freelocale(p.cloc);
        }
    }
    if (p.names.slot) ealloc(e, p.names.slot, p.names.cap * sizeof *p.names.slot, 0);
    if (p.status == NB_OK) {
        size_t m = p.maxstack ? p.maxstack : 1;
        e->maxstack = m;
        e->dstack = ealloc(e, NULL, 0, m * sizeof *e->dstack);
        e->ustack = ealloc(e, NULL, 0, m * sizeof *e->ustack);
        e->hstack = ealloc(e, NULL, 0, m * sizeof *e->hstack);
        e->map = e->nvars ? ealloc(e, NULL, 0, e->nvars * sizeof *e->map) : NULL;
        if (!e->dstack || !e->ustack || !e->hstack || (e->nvars && !e->map)) p.status = NB_E_NOMEM;
    }
    if (p.status == NB_E_NOMEM) {
        nb_expr_free(e);
        return NB_E_NOMEM;
    }
    e->ok = p.status == NB_OK;
    *out = e;
    return p.status;
}

const char *nb_expr_error(const nb_expr *e) { return e ? e->err : ""; }
size_t nb_expr_error_column(const nb_expr *e) { return e ? e->errcol : 0; }
size_t nb_expr_var_count(const nb_expr *e) { return e ? e->nvars : 0; }
const char *nb_expr_var_name(const nb_expr *e, size_t i) {
    return e && i < e->nvars ? e->vars[i] : NULL;
}
size_t nb_expr_program_size(const nb_expr *e) { return e ? e->nprog : 0; }

/* ---- binding ---- */

static int valid_name(const char *s) {
    if (!s || !is_alpha((unsigned char)*s)) return 0;
    for (s++; *s; s++)
        if (!is_alpha((unsigned char)*s) && !is_digit((unsigned char)*s)) return 0;
    return 1;
}

/* The message pre 'name' post, a name longer than fits shown by at most its first 96 bytes and
 * "..." (names have no length limit; the message has room for about 150 bytes). */
static void err_name(nb_expr *e, const char *pre, const char *name, const char *post) {
    if (strlen(name) <= 100) {
        snprintf(e->err, sizeof e->err, "%s'%s'%s", pre, name, post);
        return;
    }
    int cut = 96; /* not inside a UTF-8 sequence (a library caller's invalid name may have one) */
    while (cut > 0 && ((unsigned char)name[cut] & 0xC0) == 0x80) cut--;
    snprintf(e->err, sizeof e->err, "%s'%.*s...'%s", pre, cut, name, post);
}

nb_status nb_expr_bind(nb_expr *e, size_t n, const char *const *names) {
    if (!e || (n && !names)) return NB_E_ARG;
    if (!e->ok) return NB_E_PARSE;
    e->err[0] = 0;
    e->errcol = 0;
    e->bound = 0; /* a failed bind leaves the expression unbound, never half bound */
    e->nbound = 0;
    if (n >= UINT32_MAX / 2) return NB_E_ARG;
    /* an index over names[]: duplicates and lookups in linear time */
    nb__strset ix = {NULL, 0};
    size_t cap = nb__strset_cap_for(n);
    uint32_t *slots = ealloc(e, NULL, 0, cap * sizeof *slots);
    if (!slots) return NB_E_NOMEM;
    memset(slots, 0, cap * sizeof *slots);
    ix.slot = slots;
    ix.cap = cap;
    char *const *keys = (char *const *)names;
    nb_status st = NB_OK;
    for (size_t j = 0; j < n && !st; j++) {
        const char *nm = names[j];
        st = NB_E_BIND;
        if (!valid_name(nm))
            err_name(e, "", nm ? nm : "(null)", " is not a name");
        else if (strcmp(nm, "pi") == 0 || strcmp(nm, "e") == 0)
            err_name(e, "cannot bind ", nm, ": it is a constant");
        else if (nb_op_find_lang(nm) >= 0)
            err_name(e, "cannot bind ", nm, ": it is a function");
        else if (nb__strset_find(&ix, keys, nm, strlen(nm)) != SIZE_MAX)
            err_name(e, "", nm, " is bound twice");
        else {
            nb__strset_put(&ix, keys, j);
            st = NB_OK;
        }
    }
    for (size_t i = 0; i < e->nvars && !st; i++) {
        size_t j = nb__strset_find(&ix, keys, e->vars[i], strlen(e->vars[i]));
        if (j == SIZE_MAX) {
            err_name(e, "variable ", e->vars[i], " is not bound");
            st = NB_E_UNBOUND;
        } else {
            e->map[i] = (int)j;
        }
    }
    ealloc(e, slots, cap * sizeof *slots, 0);
    if (st) return st;
    e->bound = 1;
    e->nbound = n;
    return NB_OK;
}

size_t nb_expr_bound_count(const nb_expr *e) { return e && e->bound ? e->nbound : 0; }

static nb_status check_runnable(nb_expr *e) {
    if (!e->ok) return NB_E_PARSE;
    if (e->nvars && !e->bound) {
        err_name(e, "variable ", e->vars[0], " is not bound");
        e->errcol = 0;
        return NB_E_UNBOUND;
    }
    return NB_OK;
}

/* ---- the interpreters: one loop per value type, the op cases expanded from the registry ---- */

nb_status nb_expr_eval(nb_expr *e, const double *vals, double *out) {
    if (!e || !out) return NB_E_ARG;
    nb_status s = check_runnable(e);
    if (s) return s;
    if (e->nvars && !vals) return NB_E_ARG;
    double *st = e->dstack;
    size_t sp = 0;
    for (const insn *in = e->prog, *end = e->prog + e->nprog; in < end; in++) {
        switch (in->code) {
        case CODE_CONST: st[sp++] = in->k; break;
        case CODE_VAR: st[sp++] = vals[e->map[in->n]]; break;
#define NB_OP1(name_, ...) \
    case NB_OP_##name_: st[sp - 1] = nb_prim_##name_(st[sp - 1]); break;
#define NB_OP2(name_, ...)                                          \
    case NB_OP_##name_:                                             \
        st[sp - 2] = nb_prim_##name_(st[sp - 2], st[sp - 1]);       \
        sp--;                                                       \
        break;
#define NB_OPI(name_, ...) \
    case NB_OP_##name_: st[sp - 1] = nb_prim_##name_(st[sp - 1], in->n); break;
#define NB_RED1(...)
#define NB_RED2(...)
#include "nabla/ops.def"
#undef NB_OP1
#undef NB_OP2
#undef NB_OPI
#undef NB_RED1
#undef NB_RED2
        default: return NB_E_ARG;
        }
    }
    *out = st[0];
    return NB_OK;
}

nb_status nb_expr_eval_dual(nb_expr *e, const nb_dual *vals, nb_dual *out) {
    if (!e || !out) return NB_E_ARG;
    nb_status s = check_runnable(e);
    if (s) return s;
    if (e->nvars && !vals) return NB_E_ARG;
    nb_dual *st = e->ustack;
    size_t sp = 0;
    for (const insn *in = e->prog, *end = e->prog + e->nprog; in < end; in++) {
        switch (in->code) {
        case CODE_CONST: st[sp++] = nb_dual_const(in->k); break;
        case CODE_VAR: st[sp++] = vals[e->map[in->n]]; break;
#define NB_OP1(name_, ...) \
    case NB_OP_##name_: st[sp - 1] = nb_dual_##name_(st[sp - 1]); break;
#define NB_OP2(name_, ...)                                          \
    case NB_OP_##name_:                                             \
        st[sp - 2] = nb_dual_##name_(st[sp - 2], st[sp - 1]);       \
        sp--;                                                       \
        break;
#define NB_OPI(name_, ...) \
    case NB_OP_##name_: st[sp - 1] = nb_dual_##name_(st[sp - 1], in->n); break;
#define NB_RED1(...)
#define NB_RED2(...)
#include "nabla/ops.def"
#undef NB_OP1
#undef NB_OP2
#undef NB_OPI
#undef NB_RED1
#undef NB_RED2
        default: return NB_E_ARG;
        }
    }
    *out = st[0];
    return NB_OK;
}

nb_var nb_expr_run(nb_ctx *c, nb_expr *e, const nb_var *vals) {
    if (!c) return nb_const((double)NAN);
    if (!e) return nb__fail_var(c, NB_E_ARG);
    nb_status s = check_runnable(e);
    if (s) return nb__fail_var(c, s);
    if (e->nvars && !vals) return nb__fail_var(c, NB_E_ARG);
    nb_var *st = e->hstack;
    size_t sp = 0;
    for (const insn *in = e->prog, *end = e->prog + e->nprog; in < end; in++) {
        switch (in->code) {
        case CODE_CONST: st[sp++] = nb_const(in->k); break;
        case CODE_VAR: st[sp++] = vals[e->map[in->n]]; break;
#define NB_OP1(name_, ...) \
    case NB_OP_##name_: st[sp - 1] = nb_##name_(c, st[sp - 1]); break;
#define NB_OP2(name_, ...)                                          \
    case NB_OP_##name_:                                             \
        st[sp - 2] = nb_##name_(c, st[sp - 2], st[sp - 1]);         \
        sp--;                                                       \
        break;
#define NB_OPI(name_, ...) \
    case NB_OP_##name_: st[sp - 1] = nb_##name_(c, st[sp - 1], in->n); break;
#define NB_RED1(...)
#define NB_RED2(...)
#include "nabla/ops.def"
#undef NB_OP1
#undef NB_OP2
#undef NB_OPI
#undef NB_RED1
#undef NB_RED2
        default: return nb__fail_var(c, NB_E_ARG);
        }
    }
    return st[0];
}

nb_var nb_expr_fn(nb_ctx *c, const nb_var *x, void *env) { return nb_expr_run(c, env, x); }
