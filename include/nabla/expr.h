/* expr.h - expressions: a small language parsed once into a program of registry op ids, which
 * runs under any level (plain doubles, dual numbers, forward, reverse, nested, Taylor) without
 * reparsing.
 *
 * The language (docs/expressions.md):
 *     expr    = term { ("+" | "-") term }
 *     term    = unary { ("*" | "/") unary }
 *     unary   = ("-" | "+") unary | power
 *     power   = primary [ "^" unary ]         right-associative: 2^3^2 = 512, -x^2 = -(x^2)
 *     primary = number | constant | variable | function "(" expr { "," expr } ")" | "(" expr ")"
 *     number  = digits [ "." [ digits ] ] [ exponent ] | "." digits [ exponent ]
 *     exponent= ("e" | "E") [ "+" | "-" ] digits
 * Names are [A-Za-z_][A-Za-z0-9_]*, case-sensitive. Constants: pi, e. Functions: the registry's
 * language names (nb_op_find_lang), each with exactly its arity; polygamma(n, x) takes a
 * non-negative integer literal n. No implicit multiplication. An exponent that is a bare integer
 * literal, optionally after a unary minus, with |n| <= 2^30 (x^2, x^-3) compiles to powi (exact
 * for negative x, never log); every other exponent to pow. Constant subexpressions are folded.
 *
 * Limits (nb_expr_opts): 1 MiB of text, nesting depth 256 (parentheses, calls, unary operators,
 * exponents), 2^21 program instructions; each is an NB_E_PARSE error, never a crash.
 *
 * An nb_expr is not thread-safe: evaluation uses a scratch stack inside the object, so one
 * expression must not be evaluated by two threads at once (parse one per thread).
 */
#ifndef NABLA_EXPR_H
#define NABLA_EXPR_H

#include <stddef.h>

#include "nabla/ctx.h"
#include "nabla/dual.h"
#include "nabla/var.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nb_expr nb_expr;

/* The most max_depth can be: the parser recurses once per level of nesting, about 250 bytes of
 * stack each in an optimised build (more in a debug or sanitizer build), so the cap keeps a parse
 * within about 1 MiB of stack. A larger max_depth is taken as this. */
#define NB_EXPR_MAX_DEPTH 4096

/* Options of nb_expr_parse. A zero limit (for max_depth, zero or negative) means its default, so
 * a zero-initialised struct is the defaults. */
typedef struct nb_expr_opts {
    nb_alloc_fn alloc;  /* NULL: the C library's realloc and free */
    void *alloc_ud;
    size_t max_length;  /* bytes of text; 0: the default 1048576 (1 MiB) */
    int max_depth;      /* nesting depth; <= 0: the default 256; at most NB_EXPR_MAX_DEPTH */
    size_t max_program; /* compiled instructions; 0: the default 2097152 */
} nb_expr_opts;

/* The defaults above. */
void nb_expr_opts_init(nb_expr_opts *opts);

/* Parses and compiles src[0 .. len-1] (it need not be NUL-terminated; a NUL byte inside is an
 * invalid byte) into *out. Returns NB_OK; NB_E_PARSE with *out set to an expression object that
 * holds the error (nb_expr_error, nb_expr_error_column) and must still be freed; NB_E_NOMEM with
 * *out NULL; NB_E_ARG for NULL out or src (with len > 0). */
nb_status nb_expr_parse(nb_expr **out, const char *src, size_t len, const nb_expr_opts *opts);

/* Frees e; NULL is a no-op. */
void nb_expr_free(nb_expr *e);

/* The last error of e as one line of English ("" when none): a parse error, or an unbound or
 * unbindable name. Valid until the next call on e. */
const char *nb_expr_error(const nb_expr *e);

/* The 1-based byte column of the last parse error, 0 when the error has no position. */
size_t nb_expr_error_column(const nb_expr *e);

/* The variables the expression uses, in order of first appearance: their count, and the i-th
 * name (NULL for i out of range). */
size_t nb_expr_var_count(const nb_expr *e);
const char *nb_expr_var_name(const nb_expr *e, size_t i);

/* Binds the expression's variables to the caller's list names[0 .. n-1]: evaluation then takes
 * values in that order. Every variable of the expression must be in the list (NB_E_UNBOUND,
 * naming it); a name in the list may be unused; a listed name that is a constant, a function or
 * not a name, or a name listed twice, is NB_E_BIND. On failure e stays unbound. NB_E_PARSE when
 * e holds a failed parse; NB_E_ARG for NULL e, or NULL names with n > 0; NB_E_NOMEM. Linear in
 * the number of names and variables. */
nb_status nb_expr_bind(nb_expr *e, size_t n, const char *const *names);

/* The number of names n of the last successful nb_expr_bind (0 while e is unbound or NULL): the
 * length of the value arrays the evaluators read. */
size_t nb_expr_bound_count(const nb_expr *e);

/* Evaluates on plain doubles: vals[j] is the value of bound name j. NB_E_UNBOUND when the
 * expression has variables and no successful bind; NB_E_PARSE when e holds a failed parse;
 * NB_E_ARG for NULL e or out. */
nb_status nb_expr_eval(nb_expr *e, const double *vals, double *out);

/* Evaluates on dual numbers (value and one tangent per name). Errors as nb_expr_eval. */
nb_status nb_expr_eval_dual(nb_expr *e, const nb_dual *vals, nb_dual *out);

/* Evaluates on handles, under whatever levels c holds: the expression's ops are the registry's ops
 * on handles, so this is differentiable by any driver. Errors (unbound, NULL arguments) are
 * recorded in c and give a NaN constant. */
nb_var nb_expr_run(nb_ctx *c, nb_expr *e, const nb_var *vals);

/* nb_expr_run as an nb_fn, with env = the (bound) nb_expr: nb_gradient(c, nb_expr_fn, e, ...). */
nb_var nb_expr_fn(nb_ctx *c, const nb_var *x, void *env);

/* The number of instructions of the compiled program (after constant folding). */
size_t nb_expr_program_size(const nb_expr *e);

#ifdef __cplusplus
}
#endif

#endif /* NABLA_EXPR_H */
