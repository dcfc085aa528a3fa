/* test_expr.c - the expression language: values, derivatives and error columns from tables that
 * cover every rule of the grammar, variables and binding, the limits, and every function of the
 * language under plain, dual, forward, reverse and Taylor evaluation against the library's direct
 * results. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nabla/nabla.h"
#include "op_table.h"
#include "oracle.h"

static nb_expr *parse_ok(const char *src) {
    nb_expr *e = NULL;
    nb_status s = nb_expr_parse(&e, src, strlen(src), NULL);
    cr_assert_eq(s, NB_OK, "'%s' should parse: %s (column %zu)", src, nb_expr_error(e),
                 nb_expr_error_column(e));
    return e;
}

static const char *const XY[2] = {"x", "y"};

/* ---- values ---- */

static const struct {
    const char *src;
    double want; /* with x = 2, y = -0.5 */
} values[] = {
    {"1+2*3", 7},
    {"(1+2)*3", 9},
    {"2^3^2", 512},           /* right-associative */
    {"-x^2", -4},             /* -(x^2) */
    {"2^-x^2", 0.0625},       /* 2^(-(x^2)) */
    {"x^-2", 0.25},
    {"(-2)^2", 4},            /* powi: exact for a negative base */
    {"(-2)^3", -8},
    {"x^0", 1},
    {"3/4/2", 0.375},         /* left-associative */
    {"2-3-4", -5},
    {"-+-x", 2},
    {"+x", 2},
    {"--x", 2},
    {"2*pi", 2 * NB_PI},
    {"e", 2.718281828459045},
    {"e^1", 2.718281828459045},
    {"pi", NB_PI},
    {"1e3", 1000},
    {"1E-3", 0.001},
    {"2.5e+1", 25},
    {".5", 0.5},
    {"1.", 1},
    {"1.e2", 100},
    {"0.25", 0.25},
    {" \t x \r\n+\n1 ", 3},   /* white space between tokens */
    {"x*y", -1},
    {"x/y", -4},
    {"x^y", 0.70710678118654757},
    {"x^2.0", 4},             /* pow */
    {"x^(2)", 4},
    {"x^+2", 4},
    {"atan2(1, 2)", 0.46364760900080609}, /* y first, as in C */
    {"hypot(3, 4)", 5},
    {"pow(2, 10)", 1024},
    {"min(x, y)", -0.5},
    {"max(x, y)", 2},
    {"polygamma(1, 1)", 1.6449340668482264},
    {"polygamma(0, 1)", -0.57721566490153287},
    {"digamma(1)", -0.57721566490153287},
    {"lgamma(-0.5)", 1.2655121234846454}, /* log|Gamma| */
    {"cbrt(-8)", -2},         /* the real cube root */
    {"log(e)", 1},            /* natural */
    {"log2(8) + log10(1000)", 6},
    {"abs(y) + sign(y)", -0.5},
    {"stop_gradient(x) * x", 4},
    {"sqrt(x*x + 5)", 3},
    {"exp(0)+expm1(0)+log1p(0)", 1},
    {"sin(0)+cos(0)+tan(0)", 1},
    {"asin(1) + acos(1) + atan(0)", NB_PI / 2},
    {"sinh(0)+cosh(0)+tanh(0)+asinh(0)+acosh(1)+atanh(0)", 1},
    {"erf(0) + erfc(0) + tgamma(4)", 7},
    {"x_1 + 1", 4},           /* a name with digits and underscore: bound below */
};

Test(values, table) {
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        nb_expr *e = parse_ok(values[i].src);
        const char *names[3] = {"x", "y", "x_1"};
        cr_assert_eq(nb_expr_bind(e, 3, names), NB_OK, "%s: %s", values[i].src, nb_expr_error(e));
        double v[3] = {2, -0.5, 3}, out;
        cr_assert_eq(nb_expr_eval(e, v, &out), NB_OK);
        cr_expect(close_to(out, values[i].want, 4e-16, 0), "%s = %.17g, want %.17g", values[i].src,
                  out, values[i].want);
        nb_expr_free(e);
    }
}

Test(values, constants_fold_and_powi_is_chosen_for_integer_literals) {
    nb_expr *e = parse_ok("2*pi + sin(1)^2");
    cr_expect_eq(nb_expr_program_size(e), 1u, "a constant expression folds to one instruction");
    nb_expr_free(e);
    /* x^2 is powi: the derivative at a negative x is exact; x^y with y = 2 is pow */
    e = parse_ok("x^2");
    cr_expect_eq(nb_expr_program_size(e), 2u);
    nb_expr_bind(e, 1, XY);
    nb_dual d, x = nb_dual_var(-3);
    nb_expr_eval_dual(e, &x, &d);
    cr_expect_eq(d.v, 9.0);
    cr_expect_eq(d.d, -6.0);
    nb_expr_free(e);
    e = parse_ok("exp(-x^2)");
    nb_expr_bind(e, 1, XY);
    x = nb_dual_var(-1);
    nb_expr_eval_dual(e, &x, &d);
    cr_expect(close_to(d.d, 2 * exp(-1.0), 1e-15, 0), "d/dx exp(-x^2) at -1: %.17g", d.d);
    nb_expr_free(e);
}

/* ---- derivatives ---- */

static const struct {
    const char *src;
    double x, want; /* d/dx at x */
} derivs[] = {
    {"x^2", -3, -6},
    {"x^-3", 2, -3.0 / 16},
    {"x^3", 0, 0},
    {"sin(x)*exp(-x^2)", 0.7, -0.083968151006932674},
    {"sqrt(x)", 0, INFINITY},
    {"sqrt(x^2)", 0, 0},
    {"abs(x)", 0, 0},
    {"x^x", 2, 6.7725887222397811},          /* x^x (1 + log x) */
    {"atan2(x, 1)", 1, 0.5},
    {"polygamma(2, x)", 1.5, 1.4090910340024372}, /* psi_3(1.5), gsl_sf_psi_n(3, 1.5) */
    /* J_{-3}' = -J_3' = -(J_2 - J_4)/2 at 1.5: gsl_sf_bessel_Jn(2, 1.5) = 0.23208767214421477,
     * gsl_sf_bessel_Jn(4, 1.5) = 0.011768132420343799 */
    {"bessel_jn(-3, x)", 1.5, -0.5 * (0.23208767214421477 - 0.011768132420343799)},
    {"lambert_w0(x)", 0, 1},                 /* W'(0) = e^0 / (1 + 0) */
    {"bessel_jn(- 3, x)", 1.5, -0.5 * (0.23208767214421477 - 0.011768132420343799)}, /* a space */
    {"stop_gradient(x) * x", 3, 3},
    {"min(x, 2*x)", 1, 1},
    {"max(x, 1)", 1, 0.5},                   /* a tie: half */
    {"2^x", 1, 1.3862943611198906},
    {"e^x", 0, 1},
    {"pi*x", 5, NB_PI},
    {"log(x)", -1, NAN},                     /* a domain error has a NaN derivative */
};

Test(derivatives, table) {
    for (size_t i = 0; i < sizeof derivs / sizeof derivs[0]; i++) {
        nb_expr *e = parse_ok(derivs[i].src);
        cr_assert_eq(nb_expr_bind(e, 1, XY), NB_OK);
        nb_dual x = nb_dual_var(derivs[i].x), d;
        cr_assert_eq(nb_expr_eval_dual(e, &x, &d), NB_OK);
        cr_expect(close_to(d.d, derivs[i].want, 1e-14, 1e-300), "d/dx %s at %g = %.17g, want %.17g",
                  derivs[i].src, derivs[i].x, d.d, derivs[i].want);
        /* the same through a reverse level */
        nb_ctx *c = NULL;
        nb_ctx_new(&c, NULL);
        double g;
        cr_assert_eq(nb_gradient(c, nb_expr_fn, e, 1, &derivs[i].x, NULL, &g), NB_OK);
        /* the sweep adds the paths through x in the other order: a few ulps of the terms, which
         * cancel to an eighth of their size in sin(x) exp(-x^2) at 0.7 */
        cr_expect(close_to(g, d.d, 1e-14, 1e-300), "%s: reverse %.17g, dual %.17g", derivs[i].src,
                  g, d.d);
        nb_ctx_free(c);
        nb_expr_free(e);
    }
}

/* ---- errors, with their columns ---- */

static const struct {
    const char *src;
    size_t len; /* 0: strlen */
    size_t col;
    const char *words; /* a piece of the message */
} bad[] = {
    {"", 0, 1, "empty"},
    {"   ", 0, 1, "empty"},
    {"2x", 0, 1, "malformed number"},
    {"2e", 0, 1, "malformed number"},
    {"1e", 0, 1, "malformed number"},
    {"1e+", 0, 1, "malformed number"},
    {"1.2.3", 0, 1, "malformed number"},
    {".", 0, 1, "malformed number"},
    {"3 + 2_", 0, 5, "malformed number"},
    {"2 x", 0, 3, "unexpected 'x'"},
    {"1 2", 0, 3, "unexpected '2'"},
    {"(x) (y)", 0, 5, "unexpected '('"},
    {"sin x", 0, 1, "must be followed by '('"},
    {"sin", 0, 1, "must be followed by '('"},
    {"foo(1)", 0, 1, "unknown function 'foo'"},
    {"x + bar (2)", 0, 5, "unknown function 'bar'"},
    {"atan2(1)", 0, 1, "takes 2 arguments, got 1"},
    {"sin(1, 2)", 0, 1, "takes 1 argument, got 2"},
    {"sin()", 0, 1, "takes 1 argument, got 0"},
    {"polygamma(1)", 0, 1, "takes 2 arguments, got 1"},
    {"polygamma(x, 1)", 0, 11, "non-negative integer literal"},
    {"polygamma(1.5, 1)", 0, 11, "non-negative integer literal"},
    {"polygamma(-1, 1)", 0, 11, "non-negative integer literal"},
    {"polygamma(1073741825, 1)", 0, 11, "out of range (0 to 1073741824)"},
    {"bessel_jn(x, 1)", 0, 11, "must be an integer literal"},
    {"bessel_jn(-x, 1)", 0, 11, "must be an integer literal"},
    {"bessel_jn(--2, 1)", 0, 11, "must be an integer literal"},
    {"bessel_jn(-2.5, 1)", 0, 11, "must be an integer literal"},
    {"bessel_jn(-20001, 1)", 0, 11, "out of range (-20000 to 20000)"},
    {"(1+2", 0, 1, "unclosed parenthesis"},
    {"x*(1+(2", 0, 6, "unclosed parenthesis"},
    {"sin(1", 0, 4, "unclosed parenthesis"},
    {"1+", 0, 3, "unexpected end"},
    {"-", 0, 2, "unexpected end"},
    {"2^", 0, 3, "unexpected end"},
    {"1+*2", 0, 3, "unexpected '*'"},
    {")", 0, 1, "unexpected ')'"},
    {"1)", 0, 2, "unexpected ')'"},
    {"a,b", 0, 2, "unexpected ','"},
    {"@", 0, 1, "unexpected '@'"},
    {"1 # 2", 0, 3, "unexpected '#'"},
    {"x \x80", 0, 3, "invalid byte 0x80"},
    {"x+\x01", 0, 3, "invalid byte 0x01"},
    {"x\x7f", 0, 2, "invalid byte 0x7f"},
    {"1+\0x", 4, 3, "invalid byte 0x00"},
    {"1e999", 0, 1, "out of range"},
};

Test(errors, table_with_columns) {
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nb_expr *e = NULL;
        size_t len = bad[i].len ? bad[i].len : strlen(bad[i].src);
        nb_status s = nb_expr_parse(&e, bad[i].src, len, NULL);
        cr_expect_eq(s, NB_E_PARSE, "'%s' must not parse", bad[i].src);
        cr_expect_eq(nb_expr_error_column(e), bad[i].col, "'%s': column %zu, want %zu (%s)",
                     bad[i].src, nb_expr_error_column(e), bad[i].col, nb_expr_error(e));
        cr_expect(strstr(nb_expr_error(e), bad[i].words) != NULL, "'%s': message '%s' lacks '%s'",
                  bad[i].src, nb_expr_error(e), bad[i].words);
        cr_expect(strchr(nb_expr_error(e), '\n') == NULL, "one line");
        double out;
        cr_expect_eq(nb_expr_eval(e, NULL, &out), NB_E_PARSE, "a failed parse cannot run");
        nb_expr_free(e);
    }
}

static char *repeat(const char *head, const char *unit, size_t n, const char *tail) {
    size_t lh = strlen(head), lu = strlen(unit), lt = strlen(tail);
    char *s = malloc(lh + lu * n + lt + 1);
    cr_assert_not_null(s);
    memcpy(s, head, lh);
    for (size_t i = 0; i < n; i++) memcpy(s + lh + i * lu, unit, lu);
    memcpy(s + lh + lu * n, tail, lt + 1);
    return s;
}

Test(limits, nesting_depth) {
    /* 256 levels parse; the 257th is an error at its column, for each kind of nesting */
    struct {
        const char *open, *close;
        size_t width, at; /* the unit's width and the offset of its nesting token */
    } kinds[] = {{"(", ")", 1, 0}, {"sin(", ")", 4, 3}, {"-", "", 1, 0}, {"x^", "", 2, 1}};
    for (int k = 0; k < 4; k++) {
        nb_expr *e = NULL;
        char *tail256 = repeat("x", kinds[k].close, 256, ""), *tail257 = repeat("x", kinds[k].close, 257, "");
        char *ok_s = repeat("", kinds[k].open, 256, tail256);
        char *deep = repeat("", kinds[k].open, 257, tail257);
        free(tail256);
        free(tail257);
        cr_expect_eq(nb_expr_parse(&e, ok_s, strlen(ok_s), NULL), NB_OK, "kind %d at 256: %s", k,
                     nb_expr_error(e));
        nb_expr_free(e);
        cr_expect_eq(nb_expr_parse(&e, deep, strlen(deep), NULL), NB_E_PARSE);
        cr_expect(strstr(nb_expr_error(e), "nesting too deep") != NULL, "kind %d: %s", k,
                  nb_expr_error(e));
        cr_expect_eq(nb_expr_error_column(e), 256 * kinds[k].width + kinds[k].at + 1,
                     "kind %d: column %zu", k, nb_expr_error_column(e));
        nb_expr_free(e);
        free(ok_s);
        free(deep);
    }
    /* 10 000 levels: an error, not a crash */
    char *very = repeat("", "(", 10000, "x");
    nb_expr *e = NULL;
    cr_expect_eq(nb_expr_parse(&e, very, strlen(very), NULL), NB_E_PARSE);
    nb_expr_free(e);
    free(very);
}

Test(limits, one_mebibyte) {
    /* "x+x+...+x " of exactly 1 MiB parses and evaluates; one byte more is too long */
    size_t terms = (1048576 - 2) / 2; /* "x" + terms * "+x" + " " */
    char *s = repeat("x", "+x", terms, " ");
    cr_assert_eq(strlen(s), 1048576u);
    nb_expr *e = NULL;
    cr_assert_eq(nb_expr_parse(&e, s, strlen(s), NULL), NB_OK, "%s", nb_expr_error(e));
    nb_expr_bind(e, 1, XY);
    double x = 1, out;
    cr_assert_eq(nb_expr_eval(e, &x, &out), NB_OK);
    cr_expect_eq(out, (double)(terms + 1));
    nb_expr_free(e);
    char *s2 = repeat("x", "+x", terms, "  ");
    cr_expect_eq(nb_expr_parse(&e, s2, strlen(s2), NULL), NB_E_PARSE);
    cr_expect(strstr(nb_expr_error(e), "too long") != NULL);
    cr_expect_eq(nb_expr_error_column(e), 1048577u);
    nb_expr_free(e);
    free(s);
    free(s2);
    /* a program cap below the expression's size */
    nb_expr_opts o;
    nb_expr_opts_init(&o);
    o.max_program = 10;
    cr_expect_eq(nb_expr_parse(&e, "x+x+x+x+x+x+x", 13, &o), NB_E_PARSE);
    cr_expect(strstr(nb_expr_error(e), "too large") != NULL, "%s", nb_expr_error(e));
    nb_expr_free(e);
    /* zero limits mean the defaults: a zeroed struct parses what the defaults parse, and a
     * nonzero limit next to them still holds */
    nb_expr_opts z = {0};
    cr_expect_eq(nb_expr_parse(&e, "((x+1)*2)^2", 11, &z), NB_OK, "%s", nb_expr_error(e));
    nb_expr_free(e);
    z.max_depth = 2;
    cr_expect_eq(nb_expr_parse(&e, "(((x)))", 7, &z), NB_E_PARSE);
    cr_expect(strstr(nb_expr_error(e), "nesting too deep (more than 2") != NULL, "%s",
              nb_expr_error(e));
    nb_expr_free(e);
    /* a max_depth beyond the cap is the cap: 100 000 levels asked for overflowed the stack */
    z.max_depth = 1000000;
    size_t deep = 100000;
    char *nest = malloc(2 * deep + 1);
    cr_assert_not_null(nest);
    memset(nest, '(', deep);
    nest[deep] = 'x';
    memset(nest + deep + 1, ')', deep);
    cr_expect_eq(nb_expr_parse(&e, nest, 2 * deep + 1, &z), NB_E_PARSE);
    cr_expect(strstr(nb_expr_error(e), "more than 4096 levels") != NULL, "%s", nb_expr_error(e));
    nb_expr_free(e);
    cr_expect_eq(nb_expr_parse(&e, nest + deep - 4000, 8001, &z), NB_OK, "4000 levels parse");
    nb_expr_free(e);
    free(nest);
    z.max_depth = 0;
    z.max_length = 4;
    cr_expect_eq(nb_expr_parse(&e, "x+x+x", 5, &z), NB_E_PARSE);
    cr_expect(strstr(nb_expr_error(e), "more than 4 bytes") != NULL, "%s", nb_expr_error(e));
    nb_expr_free(e);
}

/* ---- variables and binding ---- */

Test(binding, variables_in_order_of_first_appearance) {
    nb_expr *e = parse_ok("y*x + y + sin(z) + pi + e + x");
    cr_assert_eq(nb_expr_var_count(e), 3u);
    cr_expect_str_eq(nb_expr_var_name(e, 0), "y");
    cr_expect_str_eq(nb_expr_var_name(e, 1), "x");
    cr_expect_str_eq(nb_expr_var_name(e, 2), "z");
    cr_expect_null(nb_expr_var_name(e, 3));
    double out, v[4] = {1, 2, 0.5, 9};
    cr_expect_eq(nb_expr_eval(e, v, &out), NB_E_UNBOUND, "evaluating before binding");
    cr_expect(strstr(nb_expr_error(e), "'y'") != NULL, "%s", nb_expr_error(e));
    const char *partial[2] = {"x", "y"};
    cr_expect_eq(nb_expr_bind(e, 2, partial), NB_E_UNBOUND);
    cr_expect(strstr(nb_expr_error(e), "variable 'z' is not bound") != NULL, "%s", nb_expr_error(e));
    const char *names[4] = {"x", "y", "z", "unused"};
    cr_assert_eq(nb_expr_bind(e, 4, names), NB_OK);
    cr_assert_eq(nb_expr_eval(e, v, &out), NB_OK);
    cr_expect(close_to(out, 2 * 1 + 2 + sin(0.5) + NB_PI + exp(1.0) + 1, 1e-15, 0));
    nb_expr_free(e);
}

Test(binding, reserved_names) {
    nb_expr *e = parse_ok("x + 1");
    const char *pi[2] = {"x", "pi"}, *fn[2] = {"sin", "x"}, *twice[2] = {"x", "x"},
               *notname[2] = {"x", "2y"};
    cr_expect_eq(nb_expr_bind(e, 2, pi), NB_E_BIND);
    cr_expect(strstr(nb_expr_error(e), "constant") != NULL);
    cr_expect_eq(nb_expr_bind(e, 2, fn), NB_E_BIND);
    cr_expect(strstr(nb_expr_error(e), "function") != NULL);
    cr_expect_eq(nb_expr_bind(e, 2, twice), NB_E_BIND);
    cr_expect_eq(nb_expr_bind(e, 2, notname), NB_E_BIND);
    double out, x = 1;
    cr_expect_eq(nb_expr_eval(e, &x, &out), NB_E_UNBOUND, "a failed bind leaves it unbound");
    /* also after an earlier successful bind: never the old map under a failed new list */
    const char *good[1] = {"x"};
    cr_assert_eq(nb_expr_bind(e, 1, good), NB_OK);
    cr_expect_eq(nb_expr_eval(e, &x, &out), NB_OK);
    cr_expect_eq(nb_expr_bind(e, 2, twice), NB_E_BIND);
    cr_expect_eq(nb_expr_eval(e, &x, &out), NB_E_UNBOUND, "a failed rebind leaves it unbound");
    nb_expr_free(e);
    /* internal registry names are not functions of the language */
    cr_expect_eq(nb_expr_parse(&e, "powi(x, 2)", 10, NULL), NB_E_PARSE);
    cr_expect(strstr(nb_expr_error(e), "unknown function 'powi'") != NULL);
    nb_expr_free(e);
    cr_expect_eq(nb_expr_parse(NULL, "x", 1, NULL), NB_E_ARG);
    nb_expr_free(NULL);
}

/* ---- every function of the language, in every mode ---- */

struct row {
    int op;
};
ParameterizedTestParameters(functions, every_mode) {
    static struct row rows[NB_OP_COUNT];
    size_t k = 0;
    for (int i = 0; i < NB_OP_COUNT; i++)
        if (nb_op_get((nb_op)i)->lang) rows[k++].op = i;
    return cr_make_param_array(struct row, rows, k);
}

struct direct {
    nb_op op;
    int n;
};
static nb_var direct_fn(nb_ctx *c, const nb_var *x, void *p) {
    const struct direct *d = p;
    return nb_apply(c, d->op, x[0], nb_op_get(d->op)->arity == 2 ? x[1] : nb_const(0), d->n);
}

ParameterizedTest(struct row *r, functions, every_mode) {
    const nb_op_info *info = nb_op_get((nb_op)r->op);
    const struct closed_form *cf = closed_form_of(info->name);
    cr_assert_not_null(cf);
    nb_ctx *c = NULL;
    nb_ctx_new(&c, NULL);
    int nparams = info->has_param ? cf->nparams : 1;
    for (int pi = 0; pi < nparams; pi++) {
        int n = info->has_param ? cf->params[pi] : 0;
        char src[64];
        if (info->has_param)
            snprintf(src, sizeof src, "%s(%d, x)", info->lang, n);
        else if (info->arity == 2)
            snprintf(src, sizeof src, "%s(x, y)", info->lang);
        else
            snprintf(src, sizeof src, "%s(x)", info->lang);
        nb_expr *e = parse_ok(src);
        cr_assert_eq(nb_expr_bind(e, 2, XY), NB_OK);
        struct direct d = {(nb_op)r->op, n};
        for (int k = 0; k < cf->npts; k++) {
            double xv[2] = {cf->pts[k][0], cf->pts[k][1]}, v;
            /* plain */
            cr_assert_eq(nb_expr_eval(e, xv, &v), NB_OK);
            cr_expect(v == nb_prim_apply((nb_op)r->op, xv[0], xv[1], n), "%s plain", src);
            /* dual and forward, along (1, 0.5) */
            nb_dual dv[2] = {nb_dual_make(xv[0], 1), nb_dual_make(xv[1], 0.5)}, dd;
            cr_assert_eq(nb_expr_eval_dual(e, dv, &dd), NB_OK);
            nb_dual want = nb_dual_apply((nb_op)r->op, dv[0], dv[1], n);
            cr_expect(dd.v == want.v && (dd.d == want.d || (isnan(dd.d) && isnan(want.d))),
                      "%s dual: %.17g vs %.17g", src, dd.d, want.d);
            double vdir[2] = {1, 0.5}, fwd;
            cr_assert_eq(nb_jvp(c, nb_expr_fn, e, 2, xv, vdir, NULL, &fwd), NB_OK);
            cr_expect(fwd == want.d || (isnan(fwd) && isnan(want.d)), "%s forward", src);
            /* reverse: the gradient against the direct op's */
            double g[2], gd[2];
            cr_assert_eq(nb_gradient(c, nb_expr_fn, e, 2, xv, NULL, g), NB_OK);
            cr_assert_eq(nb_gradient(c, direct_fn, &d, 2, xv, NULL, gd), NB_OK);
            for (int i = 0; i < 2; i++) /* the same op on the same tape: bit-identical */
                cr_expect(g[i] == gd[i] || (isnan(g[i]) && isnan(gd[i])), "%s reverse d/dx%d", src, i);
            /* Taylor to order 4 */
            double t[5], td[5];
            cr_assert_eq(nb_taylor(c, nb_expr_fn, e, 2, xv, vdir, 4, t), NB_OK);
            cr_assert_eq(nb_taylor(c, direct_fn, &d, 2, xv, vdir, 4, td), NB_OK);
            for (int o = 0; o <= 4; o++)
                cr_expect(t[o] == td[o] || (isnan(t[o]) && isnan(td[o])), "%s Taylor order %d", src, o);
        }
        nb_expr_free(e);
    }
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_ctx_free(c);
}

/* Many distinct names (an index, not a linear search, since a review found 1 MiB of a0+a1+...
 * took 22 s): every variable maps to its own binding, in any order of the list. */
Test(binding, many_names) {
    enum { N = 20000 };
    char *src = malloc((size_t)N * 8 + 1), *p = src;
    cr_assert_not_null(src);
    for (int i = 0; i < N; i++) p += sprintf(p, "%sa%d", i ? "+" : "", i);
    nb_expr *e = NULL;
    cr_assert_eq(nb_expr_parse(&e, src, strlen(src), NULL), NB_OK);
    cr_expect_eq(nb_expr_var_count(e), (size_t)N);
    static char names_buf[N][8];
    static const char *names[N];
    static double vals[N];
    for (int j = 0; j < N; j++) { /* the list in reverse order; a_i takes the value i */
        snprintf(names_buf[j], sizeof names_buf[j], "a%d", N - 1 - j);
        names[j] = names_buf[j];
        vals[j] = (double)(N - 1 - j);
    }
    cr_assert_eq(nb_expr_bind(e, N, names), NB_OK);
    double out;
    cr_assert_eq(nb_expr_eval(e, vals, &out), NB_OK);
    cr_expect_eq(out, (double)N * (N - 1) / 2, "the sum of a_i = i: %.17g", out);
    /* a duplicate far down the list is still found */
    names[N - 1] = "a17";
    cr_expect_eq(nb_expr_bind(e, N, names), NB_E_BIND);
    cr_expect(strstr(nb_expr_error(e), "'a17' is bound twice") != NULL, "%s", nb_expr_error(e));
    nb_expr_free(e);
    free(src);
}
