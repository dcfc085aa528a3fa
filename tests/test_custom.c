/* Custom ops (nabla/custom.h): a value on doubles and partials written with ops, in every mode and
 * nesting order, against the same function written with registry ops, closed forms and GSL's
 * central differences; the errors of the contract. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>
#include <gsl/gsl_sf_dawson.h>
#include <gsl/gsl_sf_lambert.h>

#include "nabla/nabla.h"
#include "oracle.h"

/* d^depth g/dx^depth at x0 by `depth` nested reverse levels. */
static double mixed_nth_rev(nb_ctx *c, int depth, double x0, nb_var (*g)(nb_ctx *, nb_var)) {
    nb_var xs[NB_MAX_DEPTH], x = nb_const(x0);
    for (int k = 0; k < depth; k++) {
        nb_push(c, NB_REVERSE);
        xs[k] = x = nb_rev_input(c, x);
    }
    nb_var y = g(c, x);
    for (int k = depth - 1; k >= 0; k--) {
        nb_backward(c, y);
        y = nb_grad(c, xs[k]);
        nb_pop(c);
    }
    return nb_value(y);
}

/* ---- hypot3(x, y, z) = sqrt(x^2 + y^2 + z^2): partials x / r, y / r, z / r, where r is the op
 * itself (a rule that calls its own op) ---- */

static double h3_value(const double *x, size_t k, void *env) {
    (void)k, (void)env;
    return sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]);
}
static nb_status h3_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env);
static const nb_custom_op hypot3 = {h3_value, h3_rule};
static nb_status h3_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    nb_var r = nb_custom(c, &hypot3, x, k, env);
    for (size_t i = 0; i < k; i++) dfdx[i] = nb_div(c, x[i], r);
    return NB_OK;
}

/* f(x) = hypot3(x0, x1 * x2, sin x2) * exp(x0), once through the custom op and once through the
 * registry's ops (the same value to rounding). */
static nb_var f_custom(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    nb_var a[3] = {x[0], nb_mul(c, x[1], x[2]), nb_sin(c, x[2])};
    return nb_mul(c, nb_custom(c, &hypot3, a, 3, NULL), nb_exp(c, x[0]));
}
static nb_var f_registry(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    nb_var a[3] = {x[0], nb_mul(c, x[1], x[2]), nb_sin(c, x[2])};
    return nb_mul(c, nb_sqrt(c, nb_sumsq(c, 3, a)), nb_exp(c, x[0]));
}

static const double X3[3] = {0.7, -1.3, 0.4};

Test(custom, gradient_jvp_hessian_match_the_registry) {
    nb_ctx *c = new_ctx();
    double g1[3], g2[3], f1, f2, H1[9], H2[9], d1, d2;
    const double v[3] = {0.3, -0.8, 1.1};
    cr_assert_eq(nb_gradient(c, f_custom, NULL, 3, X3, &f1, g1), NB_OK);
    cr_assert_eq(nb_gradient(c, f_registry, NULL, 3, X3, &f2, g2), NB_OK);
    cr_expect(close_to(f1, f2, 4e-16, 0), "%.17g vs %.17g", f1, f2);
    for (int i = 0; i < 3; i++)
        cr_expect(close_to(g1[i], g2[i], 1e-14, 0), "g[%d] %.17g vs %.17g", i, g1[i], g2[i]);
    cr_assert_eq(nb_jvp(c, f_custom, NULL, 3, X3, v, NULL, &d1), NB_OK);
    cr_assert_eq(nb_jvp(c, f_registry, NULL, 3, X3, v, NULL, &d2), NB_OK);
    cr_expect(close_to(d1, d2, 1e-14, 0), "jvp %.17g vs %.17g", d1, d2);
    cr_expect(close_to(d1, g1[0] * v[0] + g1[1] * v[1] + g1[2] * v[2], 1e-14, 0));
    /* forward over reverse (the dual-mode level) */
    cr_assert_eq(nb_hessian(c, f_custom, NULL, 3, X3, NULL, NULL, H1), NB_OK);
    cr_assert_eq(nb_hessian(c, f_registry, NULL, 3, X3, NULL, NULL, H2), NB_OK);
    for (int i = 0; i < 9; i++)
        cr_expect(close_to(H1[i], H2[i], 1e-13, 1e-15), "H[%d] %.17g vs %.17g", i, H1[i], H2[i]);
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_ctx_free(c);
}

/* The Hessian by the four nesting orders: FWD/FWD, REV/FWD, FWD/REV and REV/REV, through the
 * *_var drivers, each at the level kinds it names. */
struct partial_env {
    nb_fn f;
    size_t n, j;
    int inner_rev;
};
static nb_var inner_partial(nb_ctx *c, const nb_var *x, void *p) {
    struct partial_env *e = p;
    nb_var g[3], d, u[3];
    if (e->inner_rev) {
        nb_gradient_var(c, e->f, NULL, e->n, x, NULL, g);
        return g[e->j];
    }
    for (size_t i = 0; i < e->n; i++) u[i] = nb_const(i == e->j);
    nb_jvp_var(c, e->f, NULL, e->n, x, u, NULL, &d);
    return d;
}
static void hessian_by(nb_fn f, int outer_rev, int inner_rev, double *H) {
    nb_ctx *c = new_ctx();
    for (size_t j = 0; j < 3; j++) {
        struct partial_env e = {f, 3, j, inner_rev};
        if (outer_rev) {
            double row[3];
            cr_assert_eq(nb_gradient(c, inner_partial, &e, 3, X3, NULL, row), NB_OK);
            for (size_t i = 0; i < 3; i++) H[i * 3 + j] = row[i];
        } else {
            for (size_t i = 0; i < 3; i++) {
                double u[3] = {i == 0, i == 1, i == 2};
                cr_assert_eq(nb_jvp(c, inner_partial, &e, 3, X3, u, NULL, &H[i * 3 + j]), NB_OK);
            }
        }
    }
    cr_expect_eq(nb_depth(c), 0);
    nb_ctx_free(c);
}

Test(custom, hessian_in_every_nesting_order) {
    for (int o = 0; o < 4; o++) {
        double H1[9], H2[9];
        hessian_by(f_custom, o >> 1, o & 1, H1);
        hessian_by(f_registry, o >> 1, o & 1, H2);
        for (int i = 0; i < 9; i++)
            cr_expect(close_to(H1[i], H2[i], 1e-13, 1e-15), "order %d H[%d] %.17g vs %.17g", o, i,
                      H1[i], H2[i]);
        cr_expect(close_to(H1[1], H1[3], 1e-13, 1e-15), "symmetric");
    }
}

Test(custom, taylor_coefficients_match_the_registry) {
    nb_ctx *c = new_ctx();
    const double v[3] = {0.3, -0.8, 1.1};
    double w1[13], w2[13];
    cr_assert_eq(nb_taylor(c, f_custom, NULL, 3, X3, v, 12, w1), NB_OK);
    cr_assert_eq(nb_taylor(c, f_registry, NULL, 3, X3, v, 12, w2), NB_OK);
    for (int k = 0; k <= 12; k++)
        cr_expect(close_to(w1[k], w2[k], 1e-11, 1e-15), "coefficient %d: %.17g vs %.17g", k, w1[k],
                  w2[k]);
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_ctx_free(c);
}

/* ---- the Lambert W function from GSL, W' = W / (x (1 + W)), as a custom op: the registry has it
 * too (lambert_w0), so every mode can be held against the registry's row as well ---- */

static double lw_value(const double *x, size_t k, void *env) {
    (void)k, (void)env;
    return gsl_sf_lambert_W0(x[0]);
}
static nb_status lw_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env);
static const nb_custom_op lambert_w = {lw_value, lw_rule};
static nb_status lw_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    nb_var w = nb_custom(c, &lambert_w, x, k, env);
    dfdx[0] = nb_div(c, w, nb_mul(c, x[0], nb_add(c, nb_const(1), w)));
    return NB_OK;
}
static nb_var lw_fn(nb_ctx *c, const nb_var *x, void *env) {
    return nb_custom(c, &lambert_w, x, 1, env);
}
static nb_var lw_registry(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_lambert_w0(c, x[0]);
}

/* W^(n)(x) = exp(-n W) p_n(W) / (1 + W)^(2n - 1), p_1 = 1,
 * p_{n+1}(w) = -(n w + 3n - 1) p_n(w) + (1 + w) p_n'(w) (Corless, Gonnet, Hare, Jeffrey, Knuth,
 * "On the Lambert W function", Adv. Comput. Math. 5 (1996), the derivatives of section 3). */
static void lambert_derivatives(double x, int K, double *d) {
    double w = gsl_sf_lambert_W0(x), p[16] = {1}, q[16];
    d[0] = w;
    for (int n = 1; n <= K; n++) {
        double pw = 0;
        for (int i = n - 1; i >= 0; i--) pw = pw * w + p[i]; /* p_n has degree n - 1 */
        d[n] = exp(-n * w) * pw / pow(1 + w, 2 * n - 1);
        memset(q, 0, sizeof q);
        for (int i = 0; i < n; i++) {
            q[i + 1] -= n * p[i];
            q[i] -= (3 * n - 1) * p[i];
            if (i > 0) q[i - 1] += i * p[i], q[i] += i * p[i];
        }
        memcpy(p, q, sizeof p);
    }
}

static double lw_plain(double x, void *p) {
    (void)p;
    return gsl_sf_lambert_W0(x);
}
/* The first derivative by nabla, as a function of x (for a central difference of it). */
static double lw_first(double x, void *p) {
    double d = NAN;
    nb_derivative(p, lw_fn, NULL, x, NULL, &d);
    return d;
}

Test(custom, lambert_w_to_order_eight_by_taylor_and_nesting) {
    nb_ctx *c = new_ctx();
    const double xs[3] = {1.0, 0.05, 7.5}, one = 1;
    for (int t = 0; t < 3; t++) {
        double ref[9], d[9], e[9];
        lambert_derivatives(xs[t], 8, ref);
        /* the rule W / (x (1 + W)) divides series by x: near 0 their coefficients grow like
         * (1/x)^k and cancel to W's, which grow like (1/(x + 1/e))^k, so high orders lose digits
         * there (1e-10 at order 8 at x = 0.05): the bound takes nabla's own error estimate */
        cr_assert_eq(nb_taylor_derivatives_err(c, lw_fn, NULL, 1, &xs[t], &one, 8, d, e), NB_OK);
        for (int k = 0; k <= 8; k++)
            cr_expect(close_to(d[k], ref[k], 1e-12, 8 * e[k]), "x %g taylor order %d: %.17g vs "
                      "%.17g (estimate %g)", xs[t], k, d[k], ref[k], e[k]);
        cr_expect(e[8] < 1e-9 * fabs(ref[8]));
        double dr[9];
        cr_assert_eq(nb_derivatives(c, lw_registry, NULL, xs[t], 8, dr), NB_OK);
        for (int k = 0; k <= 8; k++)
            cr_expect(close_to(d[k], dr[k], 1e-12, 8 * e[k]), "x %g order %d: registry %.17g",
                      xs[t], k, dr[k]);
        /* eight nested forward levels, and reverse over forward at order two */
        nb_var x = nb_const(xs[t]);
        for (int k = 0; k < 8; k++) {
            cr_assert_eq(nb_push(c, NB_FORWARD), NB_OK);
            x = nb_fwd_input(c, x, nb_const(1));
        }
        nb_var y = lw_fn(c, &x, NULL);
        for (int k = 7; k >= 0; k--) y = nb_tangent(c, y), nb_pop(c);
        cr_expect(close_to(nb_value(y), ref[8], 1e-12, 8 * e[8]), "x %g nested order 8: %.17g vs %.17g",
                  xs[t], nb_value(y), ref[8]);
        /* the first and second derivatives against GSL's central differences of W and of
         * nabla's W' (independent of the closed form) */
        double err, fd = fd_central(lw_plain, NULL, xs[t], 1e-2 * xs[t], &err);
        cr_expect(close_to(d[1], fd, 0, 10 * err + 1e-9), "x %g: W' %.17g vs %.17g", xs[t], d[1], fd);
        fd = fd_central(lw_first, c, xs[t], 1e-2 * xs[t], &err);
        cr_expect(close_to(d[2], fd, 0, 10 * err + 1e-9), "x %g: W'' %.17g vs %.17g", xs[t], d[2],
                  fd);
    }
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_ctx_free(c);
}

/* ---- perturbation confusion: d/dx [x * d/dy plus(x, y)] at x = y = 1 is 1 in every order ---- */

static double plus_value(const double *x, size_t k, void *env) {
    (void)k, (void)env;
    return x[0] + x[1];
}
static nb_status plus_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    (void)c, (void)x, (void)k, (void)env;
    dfdx[0] = dfdx[1] = nb_const(1);
    return NB_OK;
}
static const nb_custom_op plus = {plus_value, plus_rule};
/* d(x y) = (y, x): partials that are the operands themselves */
static nb_status mul_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    (void)c, (void)k, (void)env;
    dfdx[0] = x[1], dfdx[1] = x[0];
    return NB_OK;
}

static nb_var inner_plus(nb_ctx *c, const nb_var *y, void *env) {
    nb_var a[2] = {*(const nb_var *)env, y[0]};
    return nb_custom(c, &plus, a, 2, NULL);
}
static nb_var outer_confusion(nb_ctx *c, const nb_var *x, void *env) {
    const int inner_rev = *(const int *)env;
    nb_var one = nb_const(1), d;
    nb_var xv = x[0];
    if (inner_rev)
        nb_gradient_var(c, inner_plus, &xv, 1, &one, NULL, &d);
    else
        nb_jvp_var(c, inner_plus, &xv, 1, &one, &one, NULL, &d);
    return nb_mul(c, x[0], d);
}

Test(custom, no_perturbation_confusion) {
    nb_ctx *c = new_ctx();
    const double one = 1;
    for (int o = 0; o < 4; o++) {
        int inner_rev = o & 1;
        double d = NAN;
        if (o >> 1)
            cr_assert_eq(nb_gradient(c, outer_confusion, &inner_rev, 1, &one, NULL, &d), NB_OK);
        else
            cr_assert_eq(nb_jvp(c, outer_confusion, &inner_rev, 1, &one, &one, NULL, &d), NB_OK);
        cr_expect_eq(d, 1.0, "order %d: %.17g", o, d);
    }
    nb_ctx_free(c);
}

/* ---- an op whose derivative is known to first order only ---- */

/* g(x) = x^3 with derivative d(x) = 3 x^2, where d is a black box without a rule */
static double d_value(const double *x, size_t k, void *env) {
    (void)k, (void)env;
    return 3 * x[0] * x[0];
}
static const nb_custom_op d_op = {d_value, NULL};
static double g_value(const double *x, size_t k, void *env) {
    (void)k, (void)env;
    return x[0] * x[0] * x[0];
}
static nb_status g_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    dfdx[0] = nb_custom(c, &d_op, x, k, env);
    return NB_OK;
}
static const nb_custom_op g_op = {g_value, g_rule};
static nb_var g_fn(nb_ctx *c, const nb_var *x, void *env) { return nb_custom(c, &g_op, x, 1, env); }

Test(custom, first_order_only_op_refuses_second_derivatives) {
    nb_ctx *c = new_ctx();
    double f, d, H, w[3];
    const double x = 1.5, one = 1;
    cr_expect_eq(nb_derivative(c, g_fn, NULL, x, &f, &d), NB_OK);
    cr_expect_eq(f, 3.375);
    cr_expect_eq(d, 6.75);
    cr_expect_eq(nb_gradient(c, g_fn, NULL, 1, &x, NULL, &d), NB_OK);
    cr_expect_eq(d, 6.75);
    cr_expect_eq(nb_taylor(c, g_fn, NULL, 1, &x, &one, 1, w), NB_OK);
    cr_expect_eq(w[1], 6.75);
    /* second derivatives: an error, never a number */
    cr_expect_eq(nb_hessian(c, g_fn, NULL, 1, &x, NULL, NULL, &H), NB_E_NODIFF);
    cr_expect(isnan(H));
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_taylor(c, g_fn, NULL, 1, &x, &one, 2, w), NB_E_NODIFF);
    cr_expect(isnan(w[2]));
    nb_ctx_clear_error(c);
    /* the black box itself: its value on constants, an error once differentiated */
    nb_var k = nb_const(2);
    cr_expect_eq(nb_value(nb_custom(c, &d_op, &k, 1, NULL)), 12.0);
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
    nb_var xi = nb_rev_input(c, k);
    cr_expect(isnan(nb_value(nb_custom(c, &d_op, &xi, 1, NULL))));
    cr_expect_eq(nb_ctx_status(c), NB_E_NODIFF);
    nb_pop(c);
    cr_expect_str_eq(nb_strerror(NB_E_NODIFF), "op has no derivative rule");
    nb_ctx_free(c);
}

/* ---- the recording: one statement with one operand per live, non-zero partial ---- */

static double lin_value(const double *x, size_t k, void *env) {
    const double *a = env;
    double s = 0;
    for (size_t i = 0; i < k; i++) s += a[i] * x[i];
    return s;
}
static nb_status lin_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    (void)c, (void)x;
    const double *a = env;
    for (size_t i = 0; i < k; i++) dfdx[i] = nb_const(a[i]);
    return NB_OK;
}
static const nb_custom_op lin = {lin_value, lin_rule};

Test(custom, one_statement_and_strong_zeros) {
    nb_ctx *c = new_ctx();
    double a[20];
    nb_var x[20];
    for (int i = 0; i < 20; i++) a[i] = i % 5 == 0 ? 0.0 : i + 0.5; /* four zero partials */
    cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
    for (int i = 0; i < 20; i++) x[i] = nb_rev_input(c, nb_const(i));
    x[19] = nb_const(2); /* a constant operand is not recorded either */
    nb_tape_info before, after;
    cr_assert_eq(nb_tape_info_get(c, 1, &before), NB_OK);
    nb_var y = nb_custom(c, &lin, x, 20, a);
    cr_assert_eq(nb_tape_info_get(c, 1, &after), NB_OK);
    cr_expect_eq(after.statements - before.statements, 1);
    cr_expect_eq(after.operands - before.operands, 15); /* 20 - 4 zeros - 1 constant */
    cr_expect_eq(after.ops - before.ops, 1);
    cr_assert_eq(nb_backward(c, y), NB_OK);
    for (int i = 0; i < 19; i++) cr_expect_eq(nb_value(nb_grad(c, x[i])), a[i], "x[%d]", i);
    nb_pop(c);
    /* forward: a zero partial annihilates an infinite tangent (the strong-zero policy) */
    cr_assert_eq(nb_push(c, NB_FORWARD), NB_OK);
    nb_var u[2] = {nb_fwd_input(c, nb_const(1), nb_const(INFINITY)),
                   nb_fwd_input(c, nb_const(1), nb_const(2))};
    double b[2] = {0, 3};
    cr_expect_eq(nb_value(nb_tangent(c, nb_custom(c, &lin, u, 2, b))), 6.0);
    nb_pop(c);
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_ctx_free(c);
}

/* ---- errors ---- */

static nb_var captured; /* set by the test: a handle of the op's own level */
static nb_status bad_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    (void)c, (void)x, (void)k, (void)env;
    dfdx[0] = captured;
    dfdx[1] = nb_const(1);
    return NB_OK;
}
static nb_status failing_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    (void)c, (void)x, (void)k, (void)dfdx, (void)env;
    return NB_E_BIND;
}
static nb_status lazy_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    (void)c, (void)x, (void)k, (void)env;
    dfdx[1] = nb_const(1); /* dfdx[0] forgotten */
    return NB_OK;
}

Test(custom, errors_are_statuses_and_nan) {
    nb_ctx *c = new_ctx();
    const nb_custom_op bad = {plus_value, bad_rule}, failing = {plus_value, failing_rule},
                       lazy = {plus_value, lazy_rule}, novalue = {NULL, plus_rule};
    nb_var two[2] = {nb_const(1), nb_const(2)};
    cr_expect(isnan(nb_value(nb_custom(NULL, &plus, two, 2, NULL))));
    struct {
        const nb_custom_op *op;
        const nb_var *x;
        size_t k;
    } args[] = {{NULL, two, 2}, {&novalue, two, 2}, {&plus, NULL, 2}, {&plus, two, 0},
                {&plus, two, NB_CUSTOM_MAX_ARGS + 1}};
    for (size_t i = 0; i < sizeof args / sizeof *args; i++) {
        cr_expect(isnan(nb_value(nb_custom(c, args[i].op, args[i].x, args[i].k, NULL))),
                  "case %zu", i);
        cr_expect_eq(nb_ctx_clear_error(c), NB_E_ARG, "case %zu", i);
    }
    cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
    nb_var x[2] = {nb_rev_input(c, nb_const(1)), nb_rev_input(c, nb_const(2))};
    /* a partial of the op's own level: perturbation confusion, refused */
    captured = x[1];
    cr_expect(isnan(nb_value(nb_custom(c, &bad, x, 2, NULL))));
    cr_expect_eq(nb_ctx_clear_error(c), NB_E_ARG);
    /* the rule's own status */
    cr_expect(isnan(nb_value(nb_custom(c, &failing, x, 2, NULL))));
    cr_expect_eq(nb_ctx_clear_error(c), NB_E_BIND);
    /* a partial not written is NaN, not 0 */
    nb_var y = nb_custom(c, &lazy, x, 2, NULL);
    cr_expect_eq(nb_value(y), 3.0);
    cr_assert_eq(nb_backward(c, y), NB_OK);
    cr_expect(isnan(nb_value(nb_grad(c, x[0]))));
    cr_expect_eq(nb_value(nb_grad(c, x[1])), 1.0);
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_pop(c);
    /* stale operands and partials */
    cr_expect(isnan(nb_value(nb_custom(c, &plus, x, 2, NULL))));
    cr_expect_eq(nb_ctx_clear_error(c), NB_E_STALE);
    cr_assert_eq(nb_push(c, NB_FORWARD), NB_OK);
    nb_var u = nb_fwd_input(c, nb_const(1), nb_const(1)), uu[2] = {u, u};
    cr_expect(isnan(nb_value(nb_custom(c, &bad, uu, 2, NULL)))); /* captured is stale now */
    cr_expect_eq(nb_ctx_clear_error(c), NB_E_STALE);
    nb_pop(c);
    nb_ctx_free(c);
}

/* Every allocation of a recording with a 20-operand op (its scratch comes from the hook) failing
 * in turn: a status, never a crash or a leak (the sanitizer build checks the leak). */
Test(custom, allocation_failures) {
    double a[20];
    for (int i = 0; i < 20; i++) a[i] = i + 1;
    int failed = 0, done = 0;
    for (int at = 1; at < 200 && !done; at++) {
        struct failing f = {0, at};
        nb_ctx_opts o = failing_opts(&f);
        nb_ctx *c = NULL;
        if (nb_ctx_new(&c, &o) != NB_OK) {
            failed++;
            continue;
        }
        nb_status s = nb_push(c, NB_REVERSE);
        nb_var x[20], y = nb_const(NAN);
        if (!s) {
            for (int i = 0; i < 20; i++) x[i] = nb_rev_input(c, nb_const(i));
            y = nb_custom(c, &lin, x, 20, a);
            s = nb_ctx_status(c);
            if (!s) s = nb_backward(c, y);
        }
        if (s) {
            cr_expect_eq(s, NB_E_NOMEM, "failing allocation %d", at);
            failed++;
        } else {
            cr_expect_eq(nb_value(y), 2660.0, "allocation %d", at); /* sum (i + 1) i */
            cr_expect_eq(nb_value(nb_grad(c, x[7])), 8.0);
        }
        nb_ctx_free(c);
        done = f.count < at; /* the hook was not reached: every allocation was tried */
    }
    cr_expect(done);
    cr_expect_gt(failed, 3);
}

/* ---- rules that push levels: balanced is fine (a partial computed by a driver), unbalanced is
 * NB_E_LEVEL with the stack restored ---- */

/* softplus(x) = log(1 + e^x), whose rule differentiates the same function written with ops by
 * nb_derivative_var: the partial is the logistic function 1 / (1 + e^-x) */
static double sp_value(const double *x, size_t k, void *env) {
    (void)k, (void)env;
    return log1p(exp(x[0]));
}
static nb_var sp_ops(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_log1p(c, nb_exp(c, x[0]));
}
static nb_status sp_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    (void)k;
    return nb_derivative_var(c, sp_ops, env, x[0], NULL, &dfdx[0]);
}
static const nb_custom_op softplus = {sp_value, sp_rule};
static nb_var sp_fn(nb_ctx *c, const nb_var *x, void *env) {
    return nb_custom(c, &softplus, x, 1, env);
}
static nb_status pushing_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    (void)x, (void)k, (void)env;
    nb_push(c, NB_FORWARD);
    dfdx[0] = nb_const(1);
    return NB_OK;
}

Test(custom, rules_that_push_levels) {
    nb_ctx *c = new_ctx();
    const double x = 0.3, s = 1 / (1 + exp(-x)), one = 1;
    double d[4], g, h;
    cr_assert_eq(nb_gradient(c, sp_fn, NULL, 1, &x, NULL, &g), NB_OK);
    cr_expect(close_to(g, s, 1e-15, 0), "%.17g vs %.17g", g, s);
    cr_assert_eq(nb_hessian(c, sp_fn, NULL, 1, &x, NULL, NULL, &h), NB_OK);
    cr_expect(close_to(h, s * (1 - s), 1e-14, 0), "%.17g vs %.17g", h, s * (1 - s));
    cr_assert_eq(nb_taylor_derivatives(c, sp_fn, NULL, 1, &x, &one, 3, d), NB_OK);
    cr_expect(close_to(d[3], s * (1 - s) * (1 - 2 * s), 1e-13, 0), "%.17g", d[3]);
    const nb_custom_op pushing = {plus_value, pushing_rule};
    for (int kind = 0; kind < 2; kind++) {
        cr_assert_eq(nb_push(c, kind ? NB_REVERSE : NB_FORWARD), NB_OK);
        nb_var u = kind ? nb_rev_input(c, nb_const(1)) : nb_fwd_input(c, nb_const(1), nb_const(1));
        nb_var uu[2] = {u, u};
        cr_expect(isnan(nb_value(nb_custom(c, &pushing, uu, 2, NULL))));
        cr_expect_eq(nb_ctx_clear_error(c), NB_E_LEVEL);
        cr_expect_eq(nb_depth(c), 1, "the rule's level was popped");
        nb_pop(c);
    }
    nb_ctx_free(c);
}

/* ---- nb_check finds a rule that disagrees with the value ---- */

static nb_status lw_wrong_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env);
static const nb_custom_op lambert_wrong = {lw_value, lw_wrong_rule};
/* W / x, the factor 1 / (1 + W) forgotten */
static nb_status lw_wrong_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    dfdx[0] = nb_div(c, nb_custom(c, &lambert_wrong, x, k, env), x[0]);
    return NB_OK;
}
static nb_var lw_wrong_fn(nb_ctx *c, const nb_var *x, void *env) {
    /* a function of two inputs, so that the Hessian has off-diagonal entries */
    nb_var a = nb_add(c, x[0], nb_mul(c, x[1], x[1]));
    return nb_mul(c, nb_custom(c, env ? &lambert_wrong : &lambert_w, &a, 1, NULL), x[1]);
}

Test(custom, gradient_check_finds_a_wrong_rule) {
    nb_ctx *c = new_ctx();
    const double x[2] = {1.2, 0.8};
    int wrong = 1;
    nb_check_report r;
    cr_assert_eq(nb_check(c, lw_wrong_fn, NULL, 2, x, NULL, &r), NB_OK);
    cr_expect(r.pass, "the right rule: %zu entries failed", r.failed);
    nb_check_report_free(&r);
    cr_assert_eq(nb_check_modes(c, lw_wrong_fn, NULL, 2, x, NULL, &r), NB_OK);
    cr_expect(r.pass, "the modes agree: %zu entries failed", r.failed);
    nb_check_report_free(&r);
    cr_assert_eq(nb_check(c, lw_wrong_fn, &wrong, 2, x, NULL, &r), NB_OK);
    cr_expect(!r.pass);
    size_t grad_differ = 0;
    for (size_t i = 0; i < r.count; i++)
        grad_differ += r.entries[i].kind == NB_CHECK_GRAD && r.entries[i].verdict == NB_CHECK_DIFFER;
    cr_expect_eq(grad_differ, 2, "both gradient entries differ");
    nb_check_report_free(&r);
    nb_ctx_free(c);
}

/* ---- Dawson's integral F (GSL), which the registry does not have: F' = 1 - 2 x F, and
 * F^(n+1) = -2 x F^(n) - 2 n F^(n-1) (the definition, DLMF 7.2.5, differentiated) ---- */

static double dawson_value(const double *x, size_t k, void *env) {
    (void)k, (void)env;
    return gsl_sf_dawson(x[0]);
}
static nb_status dawson_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env);
static const nb_custom_op dawson = {dawson_value, dawson_rule};
static nb_status dawson_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    nb_var F = nb_custom(c, &dawson, x, k, env);
    dfdx[0] = nb_sub(c, nb_const(1), nb_mul(c, nb_mul(c, nb_const(2), x[0]), F));
    return NB_OK;
}
static nb_var dawson_fn(nb_ctx *c, const nb_var *x, void *env) {
    return nb_custom(c, &dawson, x, 1, env);
}
static double dawson_plain(double x, void *p) {
    (void)p;
    return gsl_sf_dawson(x);
}

Test(custom, dawson_to_order_ten) {
    nb_ctx *c = new_ctx();
    /* (not at large |x|: there 2 x F -> 1 and the rule 1 - 2 x F cancels, 2.5 digits per order
     * at x = 12, in the reference recurrence as in nabla; custom.h says so) */
    const double xs[4] = {0.8, -2.5, 0.0, 1.7}, one = 1;
    for (int t = 0; t < 4; t++) {
        double ref[11], d[11], e[11];
        ref[0] = gsl_sf_dawson(xs[t]);
        ref[1] = 1 - 2 * xs[t] * ref[0];
        for (int n = 1; n < 10; n++) ref[n + 1] = -2 * xs[t] * ref[n] - 2 * n * ref[n - 1];
        cr_assert_eq(nb_taylor_derivatives_err(c, dawson_fn, NULL, 1, &xs[t], &one, 10, d, e),
                     NB_OK);
        for (int k = 0; k <= 10; k++)
            cr_expect(close_to(d[k], ref[k], 1e-12, 1e-14 + 8 * e[k]),
                      "x %g order %d: %.17g vs %.17g (estimate %g)", xs[t], k, d[k], ref[k], e[k]);
        double err, fd = fd_central(dawson_plain, NULL, xs[t], 1e-3, &err);
        cr_expect(close_to(d[1], fd, 0, 10 * err + 1e-10), "x %g: F' %.17g vs %.17g", xs[t], d[1],
                  fd);
        double g, h;
        cr_assert_eq(nb_gradient(c, dawson_fn, NULL, 1, &xs[t], NULL, &g), NB_OK);
        cr_assert_eq(nb_hessian(c, dawson_fn, NULL, 1, &xs[t], NULL, NULL, &h), NB_OK);
        cr_expect(close_to(g, ref[1], 1e-14, 1e-16), "x %g: gradient %.17g", xs[t], g);
        cr_expect(close_to(h, ref[2], 1e-13, 1e-15), "x %g: Hessian %.17g", xs[t], h);
    }
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_ctx_free(c);
}

/* ---- found by a review: order 0, level changes inside a rule, self-calling rules at depth,
 * captured handles on Taylor levels ---- */

static nb_var d_fn(nb_ctx *c, const nb_var *x, void *env) { return nb_custom(c, &d_op, x, 1, env); }

Test(custom, an_op_without_derivative_at_taylor_order_zero) {
    nb_ctx *c = new_ctx();
    double w = NAN, d[2] = {NAN, NAN};
    const double x = 2, one = 1;
    cr_expect_eq(nb_taylor(c, d_fn, NULL, 1, &x, &one, 0, &w), NB_OK);
    cr_expect_eq(w, 12.0);
    cr_expect_eq(nb_derivatives(c, d_fn, NULL, x, 0, d), NB_OK);
    cr_expect_eq(d[0], 12.0);
    cr_expect_eq(nb_derivatives(c, d_fn, NULL, x, 1, d), NB_E_NODIFF);
    cr_expect(isnan(d[0]) && isnan(d[1]));
    nb_ctx_free(c);
}

/* A rule that pops the level above it on its first call (inside the value's recursion), or
 * replaces the top level: NB_E_LEVEL, the rule not run again, nothing written. */
static int pops_calls;
static double mul_value(const double *x, size_t k, void *env) {
    (void)k, (void)env;
    return x[0] * x[1];
}
static nb_status popping_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    (void)k, (void)env;
    if (pops_calls++ == 0) nb_pop(c);
    dfdx[0] = x[1], dfdx[1] = x[0];
    return NB_OK;
}
static nb_status replacing_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    (void)k, (void)env;
    if (pops_calls++ == 0) nb_pop(c), nb_push(c, NB_FORWARD);
    dfdx[0] = x[1], dfdx[1] = x[0];
    return NB_OK;
}

/* Two levels, of the kinds of bits 0 and 1 of `kind` (set: reverse), with an input each: x at
 * level 2 (returned) over x1 = 3 at level 1. */
static nb_var two_levels(nb_ctx *c, int kind, nb_var *x1) {
    nb_push(c, kind & 1 ? NB_REVERSE : NB_FORWARD);
    *x1 = kind & 1 ? nb_rev_input(c, nb_const(3)) : nb_fwd_input(c, nb_const(3), nb_const(1));
    nb_push(c, kind & 2 ? NB_REVERSE : NB_FORWARD);
    return kind & 2 ? nb_rev_input(c, *x1) : nb_fwd_input(c, *x1, nb_const(1));
}

Test(custom, rules_that_change_the_stack_stop_the_op) {
    nb_ctx *c = new_ctx();
    const nb_custom_op popping = {mul_value, popping_rule}, replacing = {mul_value, replacing_rule};
    for (int kind = 0; kind < 4; kind++) {
        pops_calls = 0;
        nb_var x1, x2 = two_levels(c, kind, &x1);
        nb_tape_info before, after;
        nb_tape_info_get(c, 2, &before);
        nb_var a[2] = {x2, nb_const(5)};
        nb_var y = nb_custom(c, &popping, a, 2, NULL);
        cr_expect(isnan(nb_value(y)) && y.tag == 0, "kinds %d", kind);
        cr_expect_eq(nb_ctx_clear_error(c), NB_E_LEVEL, "kinds %d", kind);
        cr_expect_eq(pops_calls, 1, "kinds %d: the rule ran %d times", kind, pops_calls);
        cr_expect_eq(nb_depth(c), 1);
        /* the top level replaced: depth unchanged, NB_E_LEVEL all the same */
        pops_calls = 0;
        nb_push(c, NB_FORWARD);
        x2 = nb_fwd_input(c, x1, nb_const(1));
        a[0] = x2;
        nb_tape_info_get(c, 2, &before);
        y = nb_custom(c, &replacing, a, 2, NULL);
        nb_tape_info_get(c, 2, &after);
        cr_expect(isnan(nb_value(y)), "kinds %d", kind);
        cr_expect_eq(nb_ctx_clear_error(c), NB_E_LEVEL, "kinds %d", kind);
        cr_expect_eq(after.statements, 0, "kinds %d: nothing recorded on the new level (%zu)", kind, after.statements);
        nb_pop(c);
        nb_pop(c);
    }
    nb_ctx_free(c);
}

/* exp as a custom op whose rule is the op itself: its rule runs once per level, not 2^depth
 * times, and 12 nested reverse levels give exp(x) as the 12th derivative. */
static int exp_rule_calls;
static double exp_value(const double *x, size_t k, void *env) {
    (void)k, (void)env;
    return exp(x[0]);
}
static nb_status exp_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env);
static const nb_custom_op own_exp = {exp_value, exp_rule};
static nb_status exp_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    exp_rule_calls++;
    dfdx[0] = nb_custom(c, &own_exp, x, k, env);
    return NB_OK;
}
static nb_var g_cexp(nb_ctx *c, nb_var x) { return nb_custom(c, &own_exp, &x, 1, NULL); }

Test(custom, a_self_calling_rule_runs_once_per_level) {
    nb_ctx *c = new_ctx();
    for (int depth = 1; depth <= 12; depth++) {
        exp_rule_calls = 0;
        double d = mixed_nth_rev(c, depth, 0.3, g_cexp);
        cr_expect(close_to(d, exp(0.3), 1e-14, 0), "depth %d: %.17g", depth, d);
        cr_expect_leq(exp_rule_calls, 2 * depth, "depth %d: %d rule calls", depth, exp_rule_calls);
    }
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_ctx_free(c);
}

/* On a Taylor level the rule's partials are series of that level; a node it did not make and
 * that is not an operand is a captured handle: NB_E_ARG, as at the other levels. */
static nb_status taylor_capturing_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx,
                                       void *env) {
    (void)c, (void)x, (void)k, (void)env;
    dfdx[0] = captured;
    dfdx[1] = nb_const(1);
    return NB_OK;
}

Test(custom, a_captured_handle_on_a_taylor_level) {
    nb_ctx *c = new_ctx();
    const nb_custom_op cap = {plus_value, taylor_capturing_rule};
    cr_assert_eq(nb_push_taylor(c, 3), NB_OK);
    nb_var t = nb_taylor_input(c, nb_const(1.5), nb_const(1));
    captured = nb_sin(c, t); /* a node of the level, older than the op's */
    nb_var a[2] = {t, t};
    cr_expect(isnan(nb_value(nb_custom(c, &cap, a, 2, NULL))));
    cr_expect_eq(nb_ctx_clear_error(c), NB_E_ARG);
    /* an operand as a partial is fine: mul's rule gives (y, x) */
    const nb_custom_op m = {mul_value, mul_rule};
    nb_var y = nb_custom(c, &m, a, 2, NULL);
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    cr_expect(close_to(nb_value(nb_taylor_coef(c, y, 2)), 1.0, 1e-15, 0)); /* (1.5 + t)^2 */
    nb_pop(c);
    nb_ctx_free(c);
}

/* A rule that applies its own op to the handle the op was applied to (captured, not the one it
 * was given) ran that rule again, and again: a stack overflow (a review). Now the application
 * from the rule is NB_E_ARG, on a plain, a forward, a dual and a generic level. */
static nb_status sq_rule_given(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env);
static int runaway_calls;
static double sq_value(const double *x, size_t k, void *env) {
    (void)k, (void)env;
    return x[0] * x[0];
}
static nb_status runaway_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env);
static const nb_custom_op runaway = {sq_value, runaway_rule};
static nb_status runaway_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    (void)x;
    if (++runaway_calls > 100) return NB_E_ARG; /* (the test's own stop) */
    dfdx[0] = nb_mul(c, nb_const(2), nb_sqrt(c, nb_custom(c, &runaway, &captured, k, env)));
    return NB_OK;
}
static nb_status sq_rule_given(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    const nb_custom_op self = {sq_value, sq_rule_given};
    dfdx[0] = nb_mul(c, nb_const(2), nb_sqrt(c, nb_custom(c, &self, x, k, env)));
    return NB_OK;
}

Test(custom, a_rule_applying_its_op_to_a_captured_handle) {
    nb_ctx *c = new_ctx();
    const nb_kind kinds[4][2] = {{NB_REVERSE, 0}, {NB_FORWARD, 0}, {NB_FORWARD, NB_REVERSE},
                                 {NB_FORWARD, NB_FORWARD}};
    for (int k = 0; k < 4; k++) {
        runaway_calls = 0;
        nb_var x = nb_const(3);
        for (int d = 0; d < 2; d++) {
            if (d == 1 && kinds[k][1] == 0) break;
            cr_assert_eq(nb_push(c, kinds[k][d]), NB_OK);
            x = kinds[k][d] == NB_REVERSE ? nb_rev_input(c, x) : nb_fwd_input(c, x, nb_const(1));
        }
        captured = x;
        cr_expect(isnan(nb_value(nb_custom(c, &runaway, &captured, 1, NULL))), "case %d", k);
        cr_expect_eq(nb_ctx_clear_error(c), NB_E_ARG, "case %d", k);
        cr_expect_eq(runaway_calls, 1, "case %d: the rule ran %d times", k, runaway_calls);
        while (nb_depth(c) > 0) nb_pop(c);
    }
    /* the same rule given its operand (x, not captured) is fine: 2 sqrt(x^2) = 6 at 3 */
    cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
    nb_var x = nb_rev_input(c, nb_const(3));
    const nb_custom_op sq = {sq_value, sq_rule_given};
    nb_var y = nb_custom(c, &sq, &x, 1, NULL);
    nb_backward(c, y);
    cr_expect_eq(nb_value(nb_grad(c, x)), 6.0);
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_pop(c);
    nb_ctx_free(c);
}

/* ---- found by a second review ---- */

/* Two ops whose rules call each other (sinh' = cosh, cosh' = sinh), under a forward or reverse
 * level over a Taylor level: the memo hands the inner rule the outer op's value, a node of the
 * Taylor level older than the inner op's, which is not a captured handle. */
static double sh_value(const double *x, size_t k, void *env) {
    (void)k, (void)env;
    return sinh(x[0]);
}
static double ch_value(const double *x, size_t k, void *env) {
    (void)k, (void)env;
    return cosh(x[0]);
}
static nb_status sh_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env);
static nb_status ch_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env);
static const nb_custom_op own_sinh = {sh_value, sh_rule}, own_cosh = {ch_value, ch_rule};
static nb_status sh_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    dfdx[0] = nb_custom(c, &own_cosh, x, k, env);
    return NB_OK;
}
static nb_status ch_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    dfdx[0] = nb_custom(c, &own_sinh, x, k, env);
    return NB_OK;
}
static nb_var sinh_of(nb_ctx *c, const nb_var *x, void *env) {
    return env ? nb_custom(c, &own_sinh, x, 1, NULL) : nb_sinh(c, x[0]);
}
struct over_taylor {
    int custom, reverse;
};
static nb_var d_sinh(nb_ctx *c, const nb_var *x, void *p) {
    const struct over_taylor *o = p;
    nb_var d;
    if (o->reverse)
        nb_gradient_var(c, sinh_of, o->custom ? (void *)1 : NULL, 1, x, NULL, &d);
    else
        nb_derivative_var(c, sinh_of, o->custom ? (void *)1 : NULL, x[0], NULL, &d);
    return d;
}

Test(custom, ops_calling_each_other_over_a_taylor_level) {
    nb_ctx *c = new_ctx();
    const double x = 0.5, one = 1;
    for (int reverse = 0; reverse < 2; reverse++) {
        double w[2][5];
        for (int custom = 0; custom < 2; custom++) {
            struct over_taylor o = {custom, reverse};
            cr_assert_eq(nb_taylor(c, d_sinh, &o, 1, &x, &one, 4, w[custom]), NB_OK,
                         "custom %d reverse %d", custom, reverse);
        }
        for (int k = 0; k <= 4; k++)
            cr_expect(close_to(w[1][k], w[0][k], 1e-15, 0), "reverse %d coefficient %d: %.17g vs "
                      "%.17g", reverse, k, w[1][k], w[0][k]);
        cr_expect(close_to(w[1][2], cosh(x) / 2, 1e-15, 0));
    }
    nb_ctx_free(c);
}

/* A rule that fails inside the value's recursion (leaves a level pushed, or returns a status):
 * the op stops there - the rule runs once, nothing is recorded, the result is a NaN constant. */
static int stop_calls;
static nb_status pushing_once_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    (void)k, (void)env;
    if (stop_calls++ == 0) nb_push(c, NB_FORWARD);
    dfdx[0] = x[1], dfdx[1] = x[0];
    return NB_OK;
}
static nb_status failing_once_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    (void)c, (void)k, (void)env;
    dfdx[0] = x[1], dfdx[1] = x[0];
    return stop_calls++ == 0 ? NB_E_BIND : NB_OK;
}

Test(custom, a_failure_inside_the_value_recursion_stops_the_op) {
    nb_ctx *c = new_ctx();
    const nb_custom_op pushing = {mul_value, pushing_once_rule},
                       failing = {mul_value, failing_once_rule};
    for (int kind = 0; kind < 8; kind++) {
        stop_calls = 0;
        nb_var x1, x2 = two_levels(c, kind, &x1);
        nb_tape_info before, after;
        nb_tape_info_get(c, 2, &before);
        nb_var a[2] = {x2, nb_const(5)};
        nb_var y = nb_custom(c, kind & 4 ? &failing : &pushing, a, 2, NULL);
        nb_tape_info_get(c, 2, &after);
        cr_expect(isnan(nb_value(y)) && y.tag == 0, "kind %d", kind);
        cr_expect_eq(nb_ctx_clear_error(c), kind & 4 ? NB_E_BIND : NB_E_LEVEL, "kind %d", kind);
        cr_expect_eq(stop_calls, 1, "kind %d: the rule ran %d times", kind, stop_calls);
        cr_expect_eq(after.statements, before.statements, "kind %d: nothing recorded", kind);
        cr_expect_eq(nb_depth(c), 2);
        nb_pop(c);
        nb_pop(c);
    }
    nb_ctx_free(c);
}

/* ---- nb_custom_check: the op alone against central differences ---- */

/* Dawson's F with a rule that gives the right first derivative as a plain number: right to first
 * order, but not differentiable as written (its derivative is 0) */
static nb_status dawson_flat_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    (void)c, (void)k, (void)env;
    dfdx[0] = nb_const(1 - 2 * nb_value(x[0]) * gsl_sf_dawson(nb_value(x[0])));
    return NB_OK;
}

Test(custom, custom_check_finds_wrong_and_flat_rules) {
    nb_ctx *c = new_ctx();
    const double x = 0.8, xy[3] = {0.7, -1.3, 0.4};
    nb_check_report r;
    cr_assert_eq(nb_custom_check(c, &dawson, &x, 1, NULL, NULL, &r), NB_OK);
    cr_expect(r.pass, "Dawson: %zu failed", r.failed);
    nb_check_report_free(&r);
    cr_assert_eq(nb_custom_check(c, &hypot3, xy, 3, NULL, NULL, &r), NB_OK);
    cr_expect(r.pass, "hypot3: %zu failed", r.failed);
    nb_check_report_free(&r);
    /* the wrong rule of Lambert W: the first derivative differs */
    const double w = 1.2;
    cr_assert_eq(nb_custom_check(c, &lambert_wrong, &w, 1, NULL, NULL, &r), NB_OK);
    cr_expect(!r.pass);
    cr_expect(r.entries[0].kind == NB_CHECK_GRAD && r.entries[0].verdict == NB_CHECK_DIFFER);
    nb_check_report_free(&r);
    /* the flat rule: first derivatives pass, the second does not */
    const nb_custom_op flat = {dawson_value, dawson_flat_rule};
    cr_assert_eq(nb_custom_check(c, &flat, &x, 1, NULL, NULL, &r), NB_OK);
    size_t first_bad = 0, second_bad = 0;
    for (size_t i = 0; i < r.count; i++) {
        const size_t bad = r.entries[i].verdict != NB_CHECK_PASS;
        if (r.entries[i].kind == NB_CHECK_HESS) second_bad += bad;
        else first_bad += bad;
    }
    cr_expect_eq(first_bad, 0);
    cr_expect_eq(second_bad, 1);
    nb_check_report_free(&r);
    nb_check_opts o;
    nb_check_opts_init(&o);
    o.order = 1;
    cr_assert_eq(nb_custom_check(c, &flat, &x, 1, NULL, &o, &r), NB_OK);
    cr_expect(r.pass);
    nb_check_report_free(&r);
    /* errors */
    cr_expect_eq(nb_custom_check(c, &d_op, &x, 1, NULL, NULL, &r), NB_E_NODIFF);
    cr_expect_eq(r.count, 0);
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_custom_check(c, NULL, &x, 1, NULL, NULL, &r), NB_E_ARG);
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_custom_check(c, &dawson, &x, 0, NULL, NULL, &r), NB_E_ARG);
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_custom_check(NULL, &dawson, &x, 1, NULL, NULL, &r), NB_E_ARG);
    nb_ctx_free(c);
}

/* nb_custom_check's errors come in nb_check's order: an error already recorded, then arguments,
 * then the op (a NULL rule) */
Test(custom, custom_check_error_order) {
    nb_ctx *c = new_ctx();
    const double x = 0.8;
    nb_check_report r;
    nb_apply(c, NB_OP_COUNT, nb_const(1), nb_const(1), 0); /* records NB_E_ARG */
    cr_expect_eq(nb_custom_check(c, &d_op, &x, 1, NULL, NULL, &r), NB_E_ARG);
    nb_ctx_clear_error(c);
    nb_check_opts o;
    nb_check_opts_init(&o);
    o.order = 3;
    cr_expect_eq(nb_custom_check(c, &d_op, &x, 1, NULL, &o, &r), NB_E_ARG);
    cr_expect_eq(nb_ctx_clear_error(c), NB_E_ARG);
    cr_expect_eq(nb_custom_check(c, &d_op, &x, 1, NULL, NULL, NULL), NB_E_ARG);
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_custom_check(c, &d_op, &x, 1, NULL, NULL, &r), NB_E_NODIFF);
    cr_expect_eq(r.count, 0);
    nb_ctx_free(c);
}

/* ---- random programs: registry ops wrapped as custom ops against the ops themselves ----
 * Each wrapped op's value is the registry primal (nb_prim_apply) and its rule takes the partials
 * with a driver on the registry op (nb_derivative_var / nb_gradient_var: rules that push levels),
 * so every mode must give the registry's numbers to rounding. 300 random programs of up to 12
 * instructions over two inputs, each checked by value, gradient, Hessian (forward over reverse),
 * reverse over reverse, and Taylor coefficients to order 4. */

enum { PROG_MAX = 12 };
struct prog {
    int n;
    nb_op op[PROG_MAX];
    int a[PROG_MAX], b[PROG_MAX]; /* operands: 0, 1 the inputs, 2 + j instruction j */
    int wrap;                     /* 1: through custom ops */
};
struct wrapped {
    nb_op op;
};
static double wrapped_value(const double *x, size_t k, void *env) {
    const struct wrapped *w = env;
    return nb_prim_apply(w->op, x[0], k > 1 ? x[1] : 0, 0);
}
static nb_var registry_unary(nb_ctx *c, const nb_var *x, void *env) {
    return nb_apply(c, ((const struct wrapped *)env)->op, x[0], nb_const(0), 0);
}
static nb_var registry_binary(nb_ctx *c, const nb_var *x, void *env) {
    return nb_apply(c, ((const struct wrapped *)env)->op, x[0], x[1], 0);
}
static nb_status wrapped_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    if (k == 1) return nb_derivative_var(c, registry_unary, env, x[0], NULL, &dfdx[0]);
    return nb_gradient_var(c, registry_binary, env, 2, x, NULL, dfdx);
}
static const nb_custom_op wrapped_op = {wrapped_value, wrapped_rule};

static nb_var run_prog(nb_ctx *c, const nb_var *x, void *env) {
    const struct prog *p = env;
    nb_var v[2 + PROG_MAX] = {x[0], x[1]};
    for (int j = 0; j < p->n; j++) {
        const int binary = nb_op_get(p->op[j])->arity == 2;
        nb_var args[2] = {v[p->a[j]], v[p->b[j]]};
        if (p->wrap) {
            struct wrapped w = {p->op[j]};
            v[2 + j] = nb_custom(c, &wrapped_op, args, binary ? 2 : 1, &w);
        } else {
            v[2 + j] = nb_apply(c, p->op[j], args[0], args[1], 0);
        }
    }
    return v[1 + p->n];
}
/* d/dx_j of the program, by reverse mode inside, for reverse over reverse */
struct prog_partial {
    struct prog *p;
    int j;
};
static nb_var prog_partial(nb_ctx *c, const nb_var *x, void *env) {
    const struct prog_partial *pp = env;
    nb_var g[2];
    nb_gradient_var(c, run_prog, pp->p, 2, x, NULL, g);
    return g[pp->j];
}

Test(custom, random_programs_match_the_registry) {
    static const nb_op ops[] = {NB_OP_sin, NB_OP_cos, NB_OP_exp, NB_OP_tanh, NB_OP_atan,
                                NB_OP_asinh, NB_OP_add, NB_OP_mul, NB_OP_atan2, NB_OP_hypot};
    nb_ctx *c = new_ctx();
    unsigned long long seed = 2026;
    int compared = 0;
    for (int t = 0; t < 300; t++) {
        struct prog p = {0};
        p.n = 1 + (int)uniform(&seed, 0, PROG_MAX);
        for (int j = 0; j < p.n; j++) {
            p.op[j] = ops[(int)uniform(&seed, 0, sizeof ops / sizeof *ops)];
            p.a[j] = (int)uniform(&seed, 0, 2 + j);
            p.b[j] = (int)uniform(&seed, 0, 2 + j);
        }
        const double x[2] = {uniform(&seed, -1, 1), uniform(&seed, -1, 1)};
        const double v[2] = {uniform(&seed, -1, 1), uniform(&seed, -1, 1)};
        double r[2][16], *o; /* f, gradient 2, Hessian 4, Taylor 5, reverse over reverse 4 */
        for (p.wrap = 0; p.wrap < 2; p.wrap++) {
            o = r[p.wrap];
            cr_assert_eq(nb_gradient(c, run_prog, &p, 2, x, &o[0], &o[1]), NB_OK, "program %d", t);
            cr_assert_eq(nb_hessian(c, run_prog, &p, 2, x, NULL, NULL, &o[3]), NB_OK);
            cr_assert_eq(nb_taylor(c, run_prog, &p, 2, x, v, 4, &o[7]), NB_OK);
            for (int j = 0; j < 2; j++) { /* reverse over reverse: row j of the Hessian */
                struct prog_partial pp = {&p, j};
                cr_assert_eq(nb_gradient(c, prog_partial, &pp, 2, x, NULL, &o[12 + 2 * j]), NB_OK);
            }
        }
        for (int i = 0; i < 16; i++) {
            cr_expect(close_to(r[1][i], r[0][i], 1e-12, 1e-14), "program %d (%d ops) result %d: "
                      "%.17g custom vs %.17g registry", t, p.n, i, r[1][i], r[0][i]);
            compared++;
        }
    }
    cr_expect_eq(compared, 300 * 16);
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_ctx_free(c);
}
