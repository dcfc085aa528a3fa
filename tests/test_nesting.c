/* test_nesting.c - higher derivatives by nesting levels: perturbation confusion, ten nested
 * forward levels, sixteen levels of every mix of kinds, zero values with live tangents,
 * Rosenbrock Hessians, reverse-over-reverse, mixed partials, every registry op's second
 * derivatives in every nesting order against GSL's central difference of the first derivative,
 * the NaN policy at every level, stale handles, operation counts, and the drivers (arrays and GSL
 * types). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>
#include <string.h>

#include "nabla/gsl.h"
#include "nabla/nabla.h"
#include "op_table.h"
#include "oracle.h"

/* ---- perturbation confusion: d/dx [x * d/dy (x + y)] at x = y = 1 is 1 ---- */

static nb_var inner_xy(nb_ctx *c, const nb_var *y, void *env) {
    return nb_add(c, *(const nb_var *)env, y[0]);
}

/* d/dy (x + y) at y = 1 with the inner kind, then x * that, differentiated with the outer kind. */
static double confusion(nb_kind outer, nb_kind inner) {
    nb_ctx *c = new_ctx();
    nb_push(c, outer);
    nb_var x = outer == NB_FORWARD ? nb_fwd_input(c, nb_const(1), nb_const(1))
                                   : nb_rev_input(c, nb_const(1));
    nb_var d, y = nb_const(1);
    if (inner == NB_FORWARD)
        nb_derivative_var(c, inner_xy, &x, y, NULL, &d);
    else
        nb_gradient_var(c, inner_xy, &x, 1, &y, NULL, &d);
    nb_var z = nb_mul(c, x, d);
    double r;
    if (outer == NB_FORWARD) {
        r = nb_value(nb_tangent(c, z));
    } else {
        nb_backward(c, z);
        r = nb_value(nb_grad(c, x));
    }
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_pop(c);
    nb_ctx_free(c);
    return r;
}

Test(confusion, all_four_orders) {
    cr_expect_eq(confusion(NB_FORWARD, NB_FORWARD), 1.0, "FWD/FWD");
    cr_expect_eq(confusion(NB_REVERSE, NB_REVERSE), 1.0, "REV/REV");
    cr_expect_eq(confusion(NB_FORWARD, NB_REVERSE), 1.0, "FWD/REV");
    cr_expect_eq(confusion(NB_REVERSE, NB_FORWARD), 1.0, "REV/FWD");
}

/* ---- n nested forward levels ---- */

/* The n-th derivative of g at x0 with n nested forward levels: level k's input is level k-1's
 * input with tangent 1; the result is the tangent of the tangent ... */
static double nth_derivative(nb_ctx *c, nb_var (*g)(nb_ctx *, nb_var), double x0, int n) {
    nb_var x = nb_const(x0);
    for (int k = 0; k < n; k++) {
        cr_assert_eq(nb_push(c, NB_FORWARD), NB_OK);
        x = nb_fwd_input(c, x, nb_const(1));
    }
    nb_var y = g(c, x);
    for (int k = 0; k < n; k++) {
        y = nb_tangent(c, y);
        nb_pop(c);
    }
    return nb_value(y);
}
static nb_var g_exp(nb_ctx *c, nb_var x) { return nb_exp(c, x); }
static nb_var g_sin(nb_ctx *c, nb_var x) { return nb_sin(c, x); }
static nb_var g_sinx2(nb_ctx *c, nb_var x) { return nb_sin(c, nb_mul(c, x, x)); }
static nb_var g_cube(nb_ctx *c, nb_var x) { return nb_powi(c, x, 3); }

Test(nested_forward, exp_and_sin_to_order_ten) {
    nb_ctx *c = new_ctx();
    for (int n = 1; n <= 10; n++) {
        double d = nth_derivative(c, g_exp, 0, n);
        cr_expect(close_to(d, 1, 1e-15, 0), "d^%d/dx^%d exp at 0 = %.17g", n, n, d);
        const double cycle[4] = {0, 1, 0, -1};
        double s = nth_derivative(c, g_sin, 0, n);
        cr_expect(close_to(s, cycle[n % 4], 0, 1e-15), "sin^(%d)(0) = %.17g", n, s);
    }
    /* 16 levels: d^16/dx^16 exp(2x) = 2^16 exp(2x), and x^3 has a zero 4th..16th derivative */
    nb_var x = nb_const(0.25);
    for (int k = 0; k < 16; k++) {
        nb_push(c, NB_FORWARD);
        x = nb_fwd_input(c, x, nb_const(1));
    }
    nb_var y = nb_exp(c, nb_mul(c, nb_const(2), x));
    for (int k = 0; k < 16; k++) {
        y = nb_tangent(c, y);
        nb_pop(c);
    }
    cr_expect(close_to(nb_value(y), 65536 * exp(0.5), 1e-14, 0), "got %.17g", nb_value(y));
    cr_expect_eq(nth_derivative(c, g_cube, 0, 3), 6.0);
    cr_expect_eq(nth_derivative(c, g_cube, 0, 4), 0.0);
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_ctx_free(c);
}

/* d^depth g/dx^depth at x0 by `depth` nested levels; the level k from the outside is reverse when
 * bit k of `kinds` is set (an input, then nb_backward and nb_grad on the way out), else forward
 * (an input with tangent 1, then nb_tangent). */
static double mixed_nth(nb_ctx *c, unsigned kinds, int depth, double x0,
                        nb_var (*g)(nb_ctx *, nb_var)) {
    nb_var xs[NB_MAX_DEPTH], x = nb_const(x0);
    for (int k = 0; k < depth; k++) {
        if (kinds >> k & 1u) {
            nb_push(c, NB_REVERSE);
            x = nb_rev_input(c, x);
        } else {
            nb_push(c, NB_FORWARD);
            x = nb_fwd_input(c, x, nb_const(1));
        }
        xs[k] = x;
    }
    nb_var y = g(c, x);
    for (int k = depth - 1; k >= 0; k--) {
        if (kinds >> k & 1u) {
            nb_backward(c, y);
            y = nb_grad(c, xs[k]);
        } else {
            y = nb_tangent(c, y);
        }
        nb_pop(c);
    }
    return nb_value(y);
}

/* log, log2 and log10 at -0 have the derivatives they have at +0 (the one-sided ones from the
 * right: +inf, -inf, +inf, ...), in every nesting and in Taylor mode; 1/x alone would give -inf
 * at -0 for the odd orders (a review found log(-x) at 0 with slopes -inf, +inf, -inf, +inf). */
static nb_var g_log(nb_ctx *c, nb_var x) { return nb_log(c, x); }
static nb_var g_log2(nb_ctx *c, nb_var x) { return nb_log2(c, x); }
static nb_var g_log10(nb_ctx *c, nb_var x) { return nb_log10(c, x); }
static nb_var f_log(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_log(c, x[0]);
}
static nb_var f_log_neg(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_log(c, nb_neg(c, x[0]));
}

Test(signed_zero, log_family_at_minus_zero_as_at_plus_zero) {
    nb_ctx *c = new_ctx();
    nb_var (*gs[3])(nb_ctx *, nb_var) = {g_log, g_log2, g_log10};
    for (int op = 0; op < 3; op++)
        for (int depth = 1; depth <= 3; depth++)
            for (unsigned kinds = 0; kinds < (1u << depth); kinds++) {
                const double plus = mixed_nth(c, kinds, depth, 0.0, gs[op]);
                const double minus = mixed_nth(c, kinds, depth, -0.0, gs[op]);
                cr_expect(isinf(plus) && (plus > 0) == (depth % 2 == 1),
                          "op %d order %d kinds %u at +0: %g", op, depth, kinds, plus);
                cr_expect_eq(minus, plus, "op %d order %d kinds %u: %g at -0, %g at +0", op, depth,
                             kinds, minus, plus);
            }
    /* Taylor mode: log at -0, and log(-x) at +0 (-x = -0), whose slopes from the left are -inf */
    double d[5];
    const double want[5] = {-INFINITY, INFINITY, -INFINITY, INFINITY, -INFINITY};
    cr_assert_eq(nb_derivatives(c, f_log, NULL, -0.0, 4, d), NB_OK);
    for (int k = 0; k <= 4; k++) cr_expect_eq(d[k], want[k], "log at -0: order %d: %g", k, d[k]);
    cr_assert_eq(nb_derivatives(c, f_log_neg, NULL, 0.0, 4, d), NB_OK);
    for (int k = 0; k <= 4; k++) cr_expect_eq(d[k], -INFINITY, "log(-x) at 0: order %d: %g", k, d[k]);
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_ctx_free(c);
}
static nb_var g_exp2x(nb_ctx *c, nb_var x) { return nb_exp(c, nb_mul(c, nb_const(2), x)); }
static nb_var g_sinexp(nb_ctx *c, nb_var x) { return nb_mul(c, nb_sin(c, x), nb_exp(c, x)); }

/* Sixteen levels in every kind of order: all forward, all reverse, alternating, and random
 * mixtures. d^16/dx^16 exp(2x) = 2^16 exp(2x); (sin(x) e^x)^(n) = 2^(n/2) e^x sin(x + n pi/4),
 * so the 16th is 256 e^x sin(x); x^3 has a zero 16th derivative. */
Test(nested_mixed, sixteen_levels_of_every_kind_order) {
    nb_ctx *c = new_ctx();
    unsigned kinds[24] = {0u, 0xffffu, 0x5555u, 0xaaaau};
    unsigned long long seed = 16;
    for (int i = 4; i < 24; i++) kinds[i] = (unsigned)(uniform(&seed, 0, 65536));
    for (int i = 0; i < 24; i++) {
        double e = mixed_nth(c, kinds[i], 16, 0.25, g_exp2x);
        cr_expect(close_to(e, 65536 * exp(0.5), 1e-13, 0), "kinds %04x: exp %.17g", kinds[i], e);
        if (i > 0) { /* a product over 16 forward levels is 5.7e7 ops (1 s); with reverse
                        levels far fewer (a reverse level's partials of x*y are the operands) */
            double s = mixed_nth(c, kinds[i], 16, 0.3, g_sinexp);
            cr_expect(close_to(s, 256 * exp(0.3) * sin(0.3), 1e-12, 0),
                      "kinds %04x: sin*exp %.17g", kinds[i], s);
        }
        cr_expect_eq(mixed_nth(c, kinds[i], 16, 0.5, g_cube), 0.0, "kinds %04x", kinds[i]);
        cr_expect_eq(nb_ctx_status(c), NB_OK, "kinds %04x", kinds[i]);
        cr_expect_eq(nb_depth(c), 0);
    }
    nb_ctx_free(c);
}

/* d^2/dx^2 sin(x^2) at 0 is 2: the inner tangent 2x cos(x^2) has value 0 at x = 0 but a live
 * outer tangent. Every nesting order. */
static nb_var f_sinx2(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return g_sinx2(c, x[0]);
}
static nb_var f_dsinx2_rev(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    nb_var g;
    nb_gradient_var(c, f_sinx2, NULL, 1, x, NULL, &g);
    return g;
}
static nb_var f_dsinx2_fwd(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    nb_var d;
    nb_derivative_var(c, f_sinx2, NULL, x[0], NULL, &d);
    return d;
}

Test(zero_values, second_derivative_of_sin_x_squared_is_two) {
    nb_ctx *c = new_ctx();
    double x = 0, d2;
    cr_expect_eq(nth_derivative(c, g_sinx2, 0, 2), 2.0, "FWD/FWD");
    cr_assert_eq(nb_derivative(c, f_dsinx2_rev, NULL, x, NULL, &d2), NB_OK);
    cr_expect_eq(d2, 2.0, "FWD/REV");
    cr_assert_eq(nb_gradient(c, f_dsinx2_rev, NULL, 1, &x, NULL, &d2), NB_OK);
    cr_expect_eq(d2, 2.0, "REV/REV");
    cr_assert_eq(nb_gradient(c, f_dsinx2_fwd, NULL, 1, &x, NULL, &d2), NB_OK);
    cr_expect_eq(d2, 2.0, "REV/FWD");
    double H;
    cr_assert_eq(nb_hessian(c, f_sinx2, NULL, 1, &x, NULL, NULL, &H), NB_OK);
    cr_expect_eq(H, 2.0, "nb_hessian");
    nb_ctx_free(c);
}

/* ---- Rosenbrock Hessians ---- */

static nb_var rosen(nb_ctx *c, const nb_var *x, void *env) {
    size_t n = *(const size_t *)env;
    nb_var s = nb_const(0);
    for (size_t i = 0; i + 1 < n; i++) {
        nb_var a = nb_sub(c, x[i + 1], nb_mul(c, x[i], x[i]));
        nb_var b = nb_sub(c, nb_const(1), x[i]);
        s = nb_add(c, s, nb_add(c, nb_mul(c, nb_const(100), nb_mul(c, a, a)), nb_mul(c, b, b)));
    }
    return s;
}
static void rosen_grad(size_t n, const double *x, double *g) {
    for (size_t i = 0; i < n; i++) g[i] = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        double a = x[i + 1] - x[i] * x[i];
        g[i] += -400 * a * x[i] - 2 * (1 - x[i]);
        g[i + 1] += 200 * a;
    }
}
static void rosen_hess(size_t n, const double *x, double *H) {
    for (size_t i = 0; i < n * n; i++) H[i] = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        H[i * n + i] += 1200 * x[i] * x[i] - 400 * x[i + 1] + 2;
        H[i * n + i + 1] += -400 * x[i];
        H[(i + 1) * n + i] += -400 * x[i];
        H[(i + 1) * n + i + 1] += 200;
    }
}

static void check_rosen_hessian(size_t n, const double *x) {
    nb_ctx *c = new_ctx();
    double H[100], want[100], g[10], wg[10];
    cr_assert_eq(nb_hessian(c, rosen, &n, n, x, NULL, g, H), NB_OK);
    rosen_hess(n, x, want);
    rosen_grad(n, x, wg);
    for (size_t i = 0; i < n; i++) {
        cr_expect(close_to(g[i], wg[i], 1e-12, 1e-12));
        for (size_t j = 0; j < n; j++) {
            cr_expect(close_to(H[i * n + j], want[i * n + j], 1e-12, 1e-12),
                      "n=%zu H[%zu][%zu] = %.17g, analytic %.17g", n, i, j, H[i * n + j],
                      want[i * n + j]);
            cr_expect_eq(H[i * n + j], H[j * n + i], "symmetric");
        }
    }
    nb_ctx_free(c);
}

Test(rosenbrock, hessian_n2_and_n10) {
    double ones[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    check_rosen_hessian(2, ones);
    check_rosen_hessian(10, ones);
    double x2[2] = {-1.2, 1}, x10[10];
    for (int i = 0; i < 10; i++) x10[i] = -1.2 + 0.27 * i;
    check_rosen_hessian(2, x2);
    check_rosen_hessian(10, x10);
    /* the literal values at (1, 1), where the residuals are 0 */
    nb_ctx *c = new_ctx();
    size_t n = 2;
    double H[4];
    nb_hessian(c, rosen, &n, 2, ones, NULL, NULL, H);
    cr_expect_eq(H[0], 802.0);
    cr_expect_eq(H[1], -400.0);
    cr_expect_eq(H[2], -400.0);
    cr_expect_eq(H[3], 200.0);
    nb_ctx_free(c);
}

/* ---- reverse over reverse ---- */

static nb_var cube(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_mul(c, x[0], nb_mul(c, x[0], x[0]));
}
static nb_var dcube(nb_ctx *c, const nb_var *x, void *env) {
    nb_var g;
    nb_gradient_var(c, cube, env, 1, x, NULL, &g);
    return g;
}
/* |grad f|^2 for Rosenbrock, computed with the gradient driver inside */
static nb_var grad_norm2(nb_ctx *c, const nb_var *x, void *env) {
    size_t n = *(const size_t *)env;
    nb_var g[10];
    nb_gradient_var(c, rosen, env, n, x, NULL, g);
    return nb_sumsq(c, n, g);
}

Test(reverse_over_reverse, cube_and_gradient_norm) {
    nb_ctx *c = new_ctx();
    for (double x = -2; x <= 2; x += 0.5) {
        double d2;
        cr_assert_eq(nb_gradient(c, dcube, NULL, 1, &x, NULL, &d2), NB_OK);
        cr_expect(close_to(d2, 6 * x, 1e-15, 0), "d2/dx2 x^3 at %g = %.17g", x, d2);
    }
    size_t n = 6;
    double x[6] = {-1.2, 1, 0.5, -0.3, 1.1, 0.9}, g[6], H[36], gn[6];
    rosen_grad(n, x, g);
    rosen_hess(n, x, H);
    cr_assert_eq(nb_gradient(c, grad_norm2, &n, n, x, NULL, gn), NB_OK);
    for (size_t i = 0; i < n; i++) {
        double want = 0;
        for (size_t j = 0; j < n; j++) want += 2 * H[i * n + j] * g[j];
        cr_expect(close_to(gn[i], want, 1e-12, 1e-9), "grad |grad f|^2 [%zu] = %.17g, 2Hg = %.17g",
                  i, gn[i], want);
    }
    nb_ctx_free(c);
}

/* ---- mixed partials of atan2(x, y) exp(x y) ---- */

static nb_var mixed(nb_ctx *c, const nb_var *v, void *env) {
    (void)env;
    return nb_mul(c, nb_atan2(c, v[0], v[1]), nb_exp(c, nb_mul(c, v[0], v[1])));
}
/* The 2x2 Hessian of f by the four nesting orders. */
static void hessian_orders(nb_fn f, void *env, const double *x, int arity, double out[4][4]);

Test(mixed_partials, atan2_exp_agree_in_every_order) {
    double H[4][4];
    double x[2] = {0.7, -0.4};
    hessian_orders(mixed, NULL, x, 2, H);
    for (int k = 1; k < 4; k++)
        for (int i = 0; i < 4; i++)
            cr_expect(close_to(H[k][i], H[0][i], 1e-13, 1e-15), "order %d entry %d: %.17g vs %.17g",
                      k, i, H[k][i], H[0][i]);
    cr_expect(close_to(H[0][1], H[0][2], 1e-13, 1e-15), "d2/dxdy = d2/dydx");
}

/* Orders: 0 FWD/FWD, 1 FWD/REV (nb_hessian), 2 REV/FWD, 3 REV/REV. out[k] is row-major 2x2
 * (or the single entry for arity 1). */
struct nested_env {
    nb_fn f;
    void *env;
    int j; /* the inner direction */
    int arity;
};
static nb_var inner_fwd_partial(nb_ctx *c, const nb_var *x, void *p) {
    struct nested_env *e = p;
    nb_var v[2] = {nb_const(e->j == 0), nb_const(e->j == 1)}, d;
    nb_jvp_var(c, e->f, e->env, (size_t)e->arity, x, v, NULL, &d);
    return d;
}
static nb_var inner_rev_partial(nb_ctx *c, const nb_var *x, void *p) {
    struct nested_env *e = p;
    nb_var g[2];
    nb_gradient_var(c, e->f, e->env, (size_t)e->arity, x, NULL, g);
    return g[e->j];
}
static void hessian_orders(nb_fn f, void *env, const double *x, int arity, double out[4][4]) {
    nb_ctx *c = new_ctx();
    size_t n = (size_t)arity;
    /* FWD/REV */
    double H[4];
    cr_assert_eq(nb_hessian(c, f, env, n, x, NULL, NULL, H), NB_OK);
    for (size_t i = 0; i < n * n; i++) out[1][i] = H[i];
    for (int j = 0; j < arity; j++) {
        struct nested_env e = {f, env, j, arity};
        double row[2];
        /* FWD/FWD: the forward derivative along e_i of the forward partial along e_j */
        for (int i = 0; i < arity; i++) {
            double u[2] = {i == 0, i == 1}, d;
            cr_assert_eq(nb_jvp(c, inner_fwd_partial, &e, n, x, u, NULL, &d), NB_OK);
            out[0][i * arity + j] = d;
        }
        /* REV/FWD and REV/REV: the gradient of the partial along e_j */
        cr_assert_eq(nb_gradient(c, inner_fwd_partial, &e, n, x, NULL, row), NB_OK);
        for (int i = 0; i < arity; i++) out[2][i * arity + j] = row[i];
        cr_assert_eq(nb_gradient(c, inner_rev_partial, &e, n, x, NULL, row), NB_OK);
        for (int i = 0; i < arity; i++) out[3][i * arity + j] = row[i];
    }
    cr_expect_eq(nb_depth(c), 0);
    nb_ctx_free(c);
}

/* ---- every registry op: second derivatives in every order, and GSL on the first ---- */

struct op_env {
    nb_op op;
    int n;
    double y; /* the second operand when it is held constant */
};
static nb_var op_fn(nb_ctx *c, const nb_var *x, void *p) {
    const struct op_env *e = p;
    const nb_op_info *info = nb_op_get(e->op);
    return nb_apply(c, e->op, x[0], info->arity == 2 ? x[1] : nb_const(0), e->n);
}
struct first_slice {
    struct op_env *e;
    double x[2];
    int i, j; /* d/dx_i of the dual-number partial d/dx_j */
};
static double first_partial(double t, void *p) {
    struct first_slice *s = p;
    double a[2] = {s->x[0], s->x[1]};
    a[s->i] = t;
    nb_dual r = nb_dual_apply(s->e->op, nb_dual_make(a[0], s->j == 0), nb_dual_make(a[1], s->j == 1),
                              s->e->n);
    return r.d;
}

struct row {
    int op;
};
ParameterizedTestParameters(second_order, per_row) {
    static struct row rows[NB_OP_COUNT];
    size_t k = 0;
    for (int i = 0; i < NB_OP_COUNT; i++)
        if (!nb_op_get((nb_op)i)->reduction) rows[k++].op = i;
    return cr_make_param_array(struct row, rows, k);
}

ParameterizedTest(struct row *r, second_order, per_row) {
    const nb_op_info *info = nb_op_get((nb_op)r->op);
    const struct closed_form *cf = closed_form_of(info->name);
    cr_assert_not_null(cf, "op '%s' has no entry in tests/op_table.h", info->name);
    int nparams = info->has_param ? cf->nparams : 1;
    for (int pi = 0; pi < nparams; pi++) {
        struct op_env e = {(nb_op)r->op, info->has_param ? cf->params[pi] : 0, 0};
        for (int k = 0; k < cf->npts; k++) {
            double x[2] = {cf->pts[k][0], cf->pts[k][1]}, H[4][4];
            hessian_orders(op_fn, &e, x, info->arity, H);
            int a = info->arity;
            for (int i = 0; i < a; i++)
                for (int j = 0; j < a; j++) {
                    double h = H[1][i * a + j];
                    for (int o = 0; o < 4; o++)
                        cr_expect(close_to(H[o][i * a + j], h, 1e-12, 1e-300),
                                  "%s(%g, %g; n=%d) d2/dx%d dx%d: order %d %.17g vs FWD/REV %.17g",
                                  info->name, x[0], x[1], e.n, i, j, o, H[o][i * a + j], h);
                    struct first_slice s = {&e, {x[0], x[1]}, i, j};
                    double err, at = x[i];
                    double fd = fd_central(first_partial, &s, at, 1e-4 * fmax(1, fabs(at)), &err);
                    cr_expect(fabs(h - fd) <= 4 * err + 1e-7 * fmax(1, fabs(h)),
                              "%s(%g, %g; n=%d) d2/dx%d dx%d: nested %.17g, GSL on the first "
                              "derivative %.17g (+- %.2g)",
                              info->name, x[0], x[1], e.n, i, j, h, fd, err);
                }
        }
    }
}

/* ---- the NaN policy at every level ---- */

static nb_var f_sqrt_sq(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_sqrt(c, nb_mul(c, x[0], x[0]));
}
static nb_var f_abs(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_abs(c, x[0]);
}
static nb_var f_sqrt(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_sqrt(c, x[0]);
}
struct fn_box {
    nb_fn f;
};
static nb_var d_of(nb_ctx *c, const nb_var *x, void *env) {
    nb_var d;
    nb_derivative_var(c, ((struct fn_box *)env)->f, NULL, x[0], NULL, &d);
    return d;
}
static nb_var g_of(nb_ctx *c, const nb_var *x, void *env) {
    nb_var d;
    nb_gradient_var(c, ((struct fn_box *)env)->f, NULL, 1, x, NULL, &d);
    return d;
}

Test(nan_policy, at_every_level) {
    nb_ctx *c = new_ctx();
    double x0 = 0, d;
    /* first derivatives through an enclosing level: the inner derivative is a handle of the
     * outer level, and its value obeys the policy */
    struct fn_box box_abs = {f_abs}, box_sqrt = {f_sqrt};
    nb_fn fs[3] = {f_sqrt_sq, f_abs, f_sqrt};
    double want[3] = {0, 0, INFINITY};
    for (int k = 0; k < 3; k++) {
        nb_push(c, NB_FORWARD);
        nb_var x = nb_fwd_input(c, nb_const(x0), nb_const(1));
        nb_var dr, df;
        nb_gradient_var(c, fs[k], NULL, 1, &x, NULL, &dr);
        nb_derivative_var(c, fs[k], NULL, x, NULL, &df);
        cr_expect_eq(nb_value(dr), want[k], "case %d: reverse inside forward: %g", k, nb_value(dr));
        cr_expect_eq(nb_value(df), want[k], "case %d: forward inside forward: %g", k, nb_value(df));
        nb_pop(c);
    }
    /* second derivatives: |x|'' and sqrt(x^2)'' at 0 are 0 (the subgradient's derivative),
     * sqrt'' at 0 is -inf */
    cr_assert_eq(nb_derivative(c, d_of, &box_abs, x0, NULL, &d), NB_OK);
    cr_expect_eq(d, 0.0);
    cr_assert_eq(nb_gradient(c, g_of, &box_abs, 1, &x0, NULL, &d), NB_OK);
    cr_expect_eq(d, 0.0);
    double one = 1;
    cr_assert_eq(nb_gradient(c, g_of, &box_sqrt, 1, &one, NULL, &d), NB_OK);
    cr_expect_eq(d, -0.25);
    /* at -0 (sqrt(-0) = -0) the slope is +inf as at 0, at depth 1 and inside a level, and the
     * second derivative -inf */
    double mz = -0.0;
    cr_assert_eq(nb_gradient(c, f_sqrt, NULL, 1, &mz, NULL, &d), NB_OK);
    cr_expect(isinf(d) && d > 0, "sqrt' at -0: %g", d);
    cr_assert_eq(nb_derivative(c, f_sqrt, NULL, mz, NULL, &d), NB_OK);
    cr_expect(isinf(d) && d > 0, "sqrt' at -0 (forward): %g", d);
    cr_assert_eq(nb_gradient(c, g_of, &box_sqrt, 1, &mz, NULL, &d), NB_OK);
    cr_expect(isinf(d) && d < 0, "sqrt'' at -0: %g", d);
    /* sqrt(-1) is NaN with NaN derivatives at every level */
    double m1 = -1;
    cr_assert_eq(nb_gradient(c, g_of, &box_sqrt, 1, &m1, NULL, &d), NB_OK);
    cr_expect(isnan(d));
    cr_assert_eq(nb_derivative(c, d_of, &box_sqrt, m1, NULL, &d), NB_OK);
    cr_expect(isnan(d));
    nb_ctx_free(c);
}

/* ---- tags and errors across levels ---- */

Test(tags, other_levels_are_constants_and_popped_levels_are_errors) {
    nb_ctx *c = new_ctx();
    nb_push(c, NB_FORWARD);
    nb_var x = nb_fwd_input(c, nb_const(3), nb_const(1));
    nb_push(c, NB_REVERSE);
    nb_var y = nb_rev_input(c, nb_const(2));
    nb_var z = nb_mul(c, x, y); /* x is a constant at the reverse level */
    nb_backward(c, z);
    cr_expect_eq(nb_value(nb_grad(c, y)), 3.0);
    nb_var gy = nb_grad(c, y);
    cr_expect_eq(nb_var_depth(gy), 1, "the gradient is a handle of the forward level");
    nb_pop(c);
    cr_expect_eq(nb_value(nb_tangent(c, gy)), 1.0, "d/dx of dz/dy = d/dx x = 1");
    /* y and z are handles of the popped level: any use is an error, never a number */
    nb_var w = nb_add(c, y, x);
    cr_expect(isnan(nb_value(w)));
    cr_expect_eq(nb_ctx_status(c), NB_E_STALE);
    nb_ctx_clear_error(c);
    nb_tangent(c, z);
    cr_expect_eq(nb_ctx_status(c), NB_E_STALE);
    nb_pop(c);
    nb_ctx_free(c);
}

Test(counts, each_level_counts_its_operations) {
    nb_ctx *c = new_ctx();
    size_t n = 2;
    double x[2] = {0.5, 0.5}, g[2], H[4];
    nb_op_count_reset(c);
    cr_assert_eq(nb_gradient(c, rosen, &n, 2, x, NULL, g), NB_OK);
    unsigned long long first = nb_op_count(c, 1);
    /* rosen(n = 2): 4 products, 2 subtractions, 2 sums = 8 ops at the reverse level */
    cr_expect_eq(first, 8u);
    cr_expect_eq(nb_op_count(c, 2), 0u);
    nb_op_count_reset(c);
    cr_assert_eq(nb_hessian(c, rosen, &n, 2, x, NULL, NULL, H), NB_OK);
    /* each of the 2 passes: 8 ops at the inner (reverse) level, and at the outer (forward) level
     * the primal ops of those 8 plus the rules and the sweep's products and sums */
    cr_expect_eq(nb_op_count(c, 2), 16u);
    cr_expect_gt(nb_op_count(c, 1), nb_op_count(c, 2));
    nb_ctx_free(c);
}

/* The inline ops leave their nodes uncounted and the library adds them back (nb__level_ops): every
 * node the library makes itself must be told apart. A dual level (reverse over forward) with a
 * reduction, an inline op and a custom op on it: one op each, and the same after the pop. */
static double sq_value(const double *x, size_t k, void *env) {
    (void)k, (void)env;
    return x[0] * x[0];
}
static nb_status sq_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    (void)k, (void)env;
    dfdx[0] = nb_mul(c, nb_const(2), x[0]);
    return NB_OK;
}
static const nb_custom_op square_op = {sq_value, sq_rule};

Test(counts, library_nodes_of_a_dual_level) {
    nb_ctx *c = new_ctx();
    cr_assert_eq(nb_push(c, NB_FORWARD), NB_OK);
    nb_var t = nb_fwd_input(c, nb_const(0.5), nb_const(1));
    cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
    nb_var a = nb_rev_input(c, t), b = nb_rev_input(c, nb_const(2));
    nb_op_count_reset(c);
    nb_var ab[2] = {a, b};
    nb_var r = nb_dot(c, 2, ab, ab); /* the library's dual reduction */
    cr_expect_eq(nb_op_count(c, 2), 1u);
    nb_var s = nb_mul(c, r, a); /* the inline dual tier */
    cr_expect_eq(nb_op_count(c, 2), 2u);
    nb_var q = nb_custom(c, &square_op, &s, 1, NULL); /* the library's dual custom op */
    cr_expect_eq(nb_op_count(c, 2), 3u);
    cr_expect_eq(nb_var_depth(q), 2);
    /* q = ((t^2 + 4) t)^2 at t = 0.5: 2.125^2; the tangent of its value is 2 q' = 2 * 2.125 * 2.75 */
    cr_expect_eq(nb_value(q), 2.125 * 2.125);
    cr_expect_eq(nb_pop(c), NB_OK);
    cr_expect_eq(nb_op_count(c, 2), 3u, "kept after the pop");
    cr_expect_eq(nb_pop(c), NB_OK);
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_ctx_free(c);
}

/* The same on a sparsity pattern's level: its ops all go through the library (the inline ops do
 * not record on it), so the pattern of rosen(n = 2) counts the 8 ops of one evaluation. */
static void rosen_v(nb_ctx *c, const nb_var *x, nb_var *y, void *env) { y[0] = rosen(c, x, env); }
Test(counts, pattern_level) {
    nb_ctx *c = new_ctx();
    size_t n = 2;
    double x[2] = {0.5, 0.5};
    nb_sparse *p = NULL;
    nb_op_count_reset(c);
    cr_assert_eq(nb_sparse_jac_new(c, rosen_v, &n, 2, 1, x, NB_SPARSE_REVERSE, &p), NB_OK);
    cr_expect_eq(nb_op_count(c, 1), 8u);
    nb_sparse_free(p);
    nb_ctx_free(c);
}

/* ---- drivers with GSL types ---- */

static void vfn2(nb_ctx *c, const nb_var *x, nb_var *y, void *env) {
    (void)env;
    y[0] = nb_mul(c, x[0], x[1]);
    y[1] = nb_sin(c, x[0]);
    y[2] = nb_add(c, x[1], nb_const(1));
}

Test(drivers, gsl_types_match_arrays) {
    nb_ctx *c = new_ctx();
    size_t n = 3;
    double xa[3] = {0.3, -0.7, 1.2}, ga[3], Ha[9], hva[3], va[3] = {1, 2, -1};
    nb_gradient(c, rosen, &n, 3, xa, NULL, ga);
    nb_hessian(c, rosen, &n, 3, xa, NULL, NULL, Ha);
    nb_hvp(c, rosen, &n, 3, xa, va, NULL, NULL, hva);
    /* strided vector and a submatrix view: not contiguous */
    gsl_vector *xs = gsl_vector_alloc(6), *gs = gsl_vector_alloc(3), *vs = gsl_vector_alloc(3),
               *hv = gsl_vector_alloc(3);
    gsl_vector_view x = gsl_vector_subvector_with_stride(xs, 0, 2, 3);
    for (int i = 0; i < 3; i++) {
        gsl_vector_set(&x.vector, (size_t)i, xa[i]);
        gsl_vector_set(vs, (size_t)i, va[i]);
    }
    gsl_matrix *big = gsl_matrix_alloc(5, 5);
    gsl_matrix_view H = gsl_matrix_submatrix(big, 1, 1, 3, 3);
    double fx;
    cr_assert_eq(nb_gradient_gsl(c, rosen, &n, &x.vector, &fx, gs), NB_OK);
    cr_assert_eq(nb_hessian_gsl(c, rosen, &n, &x.vector, NULL, NULL, &H.matrix), NB_OK);
    cr_assert_eq(nb_hvp_gsl(c, rosen, &n, &x.vector, vs, NULL, NULL, hv), NB_OK);
    for (size_t i = 0; i < 3; i++) {
        cr_expect_eq(gsl_vector_get(gs, i), ga[i]);
        cr_expect_eq(gsl_vector_get(hv, i), hva[i]);
        for (size_t j = 0; j < 3; j++) cr_expect_eq(gsl_matrix_get(&H.matrix, i, j), Ha[i * 3 + j]);
    }
    gsl_matrix *J = gsl_matrix_alloc(3, 2);
    gsl_vector *x2 = gsl_vector_alloc(2), *y3 = gsl_vector_alloc(3);
    gsl_vector_set(x2, 0, 0.5);
    gsl_vector_set(x2, 1, 2);
    cr_assert_eq(nb_jacobian_gsl(c, vfn2, NULL, x2, NB_JAC_AUTO, y3, J), NB_OK);
    cr_expect_eq(gsl_matrix_get(J, 0, 0), 2.0);
    cr_expect_eq(gsl_matrix_get(J, 0, 1), 0.5);
    cr_expect_eq(gsl_matrix_get(J, 1, 0), cos(0.5));
    cr_expect_eq(gsl_matrix_get(J, 2, 1), 1.0);
    cr_expect_eq(gsl_vector_get(y3, 0), 1.0);
    /* size mismatch */
    cr_expect_eq(nb_gradient_gsl(c, rosen, &n, &x.vector, NULL, x2), NB_E_ARG);
    gsl_vector_free(xs);
    gsl_vector_free(gs);
    gsl_vector_free(vs);
    gsl_vector_free(hv);
    gsl_vector_free(x2);
    gsl_vector_free(y3);
    gsl_matrix_free(big);
    gsl_matrix_free(J);
    nb_ctx_free(c);
}

/* A Jacobian of a function of no inputs (n = 0) into an m x 0 submatrix: GSL keeps the parent's
 * tda, so the view is not contiguous, but it has nothing to copy. It was NB_E_NOMEM with NaN
 * values (the 0-byte copy went to the hook as a free); it is f's values, as with an m x 0
 * matrix of its own (a review). */
static void no_inputs(nb_ctx *c, const nb_var *x, nb_var *y, void *env) {
    (void)x;
    (void)env;
    for (int i = 0; i < 3; i++) y[i] = nb_add(c, nb_const(i), nb_const(0.5));
}

Test(drivers, gsl_jacobian_of_no_inputs_into_an_empty_submatrix) {
    nb_ctx *c = new_ctx();
    gsl_vector *x = gsl_vector_alloc(0), *y = gsl_vector_alloc(3);
    gsl_matrix *big = gsl_matrix_alloc(3, 4);
    gsl_matrix_view J = gsl_matrix_submatrix(big, 0, 0, 3, 0);
    cr_assert(J.matrix.size1 == 3 && J.matrix.size2 == 0 && J.matrix.tda == 4);
    for (int mode = NB_JAC_AUTO; mode <= NB_JAC_FORWARD; mode++) {
        gsl_vector_set_all(y, 7);
        cr_expect_eq(nb_jacobian_gsl(c, no_inputs, NULL, x, (nb_jac_mode)mode, y, &J.matrix), NB_OK);
        for (size_t i = 0; i < 3; i++) cr_expect_eq(gsl_vector_get(y, i), (double)i + 0.5);
        cr_expect_eq(nb_ctx_status(c), NB_OK);
    }
    gsl_vector_free(x);
    gsl_vector_free(y);
    gsl_matrix_free(big);
    nb_ctx_free(c);
}

/* A domain error has NaN derivatives at every order and in every nesting (found by a review:
 * the log family's rules said NaN with a constant, whose own derivative was a structural 0, so
 * Hessians read 0 where the gradient was NaN). */
struct dom_case {
    nb_op op;
    double x, y; /* y: a two-operand op's constant second operand */
};
static nb_var dom_fn(nb_ctx *c, const nb_var *x, void *env) {
    const struct dom_case *d = env;
    return nb_apply(c, d->op, x[0], nb_const(d->y), 0);
}
/* 1 when every element of v (a strided view) is NaN. */
static int all_nan_vec(const gsl_vector *v) {
    for (size_t i = 0; i < v->size; i++)
        if (!isnan(gsl_vector_get(v, i))) return 0;
    return 1;
}
static int all_nan_mat(const gsl_matrix *m) {
    for (size_t i = 0; i < m->size1; i++)
        for (size_t j = 0; j < m->size2; j++)
            if (!isnan(gsl_matrix_get(m, i, j))) return 0;
    return 1;
}

/* 7 in every output buffer (the views below live in them) and no recorded error: a call that
 * leaves an output alone is then seen. */
static void prime(gsl_vector *g, gsl_vector *h, gsl_vector *y, gsl_matrix *m, nb_ctx *c) {
    gsl_vector_set_all(g, 7);
    gsl_vector_set_all(h, 7);
    gsl_vector_set_all(y, 7);
    gsl_matrix_set_all(m, 7);
    nb_ctx_clear_error(c);
}

/* The GSL wrappers copy strided vectors and padded matrices through the context's hook. When a
 * copy cannot be made (each allocation of each call failed in turn) the driver does not run and
 * every output is NaN, as the drivers give on any failure - never the old contents, never an
 * uninitialized copy. The same for invalid arguments. */
Test(drivers, gsl_types_nan_outputs_when_a_copy_fails_or_arguments_are_bad) {
    struct failing f = {0, 0};
    nb_ctx_opts o = failing_opts(&f);
    nb_ctx *c = NULL;
    cr_assert_eq(nb_ctx_new(&c, &o), NB_OK);
    size_t n = 3;
    gsl_vector *xs = gsl_vector_alloc(6), *vs = gsl_vector_alloc(6), *gs = gsl_vector_alloc(6),
               *hs = gsl_vector_alloc(6), *ys = gsl_vector_alloc(6), *x2s = gsl_vector_alloc(4);
    gsl_vector_view x = gsl_vector_subvector_with_stride(xs, 0, 2, 3);
    gsl_vector_view v = gsl_vector_subvector_with_stride(vs, 0, 2, 3);
    gsl_vector_view g = gsl_vector_subvector_with_stride(gs, 1, 2, 3);
    gsl_vector_view hv = gsl_vector_subvector_with_stride(hs, 1, 2, 3);
    gsl_vector_view y = gsl_vector_subvector_with_stride(ys, 1, 2, 3);
    gsl_vector_view x2 = gsl_vector_subvector_with_stride(x2s, 0, 2, 2);
    gsl_vector_view g2 = gsl_vector_subvector_with_stride(gs, 1, 2, 2);
    gsl_matrix *big = gsl_matrix_alloc(5, 5);
    gsl_matrix_view H = gsl_matrix_submatrix(big, 1, 1, 3, 3);
    gsl_matrix_view J = gsl_matrix_submatrix(big, 0, 0, 3, 2);
    gsl_vector_set_all(&x.vector, 0.5);
    gsl_vector_set_all(&v.vector, 1);
    gsl_vector_set_all(&x2.vector, 0.25);
    for (int call = 0; call < 6; call++) {
        int ok = 0;
        for (int k = 1; k < 40 && !ok; k++) {
            double fx = 7;
            prime(gs, hs, ys, big, c);
            f.fail_at = f.count + k;
            nb_status s;
            int nan = 0;
            switch (call) {
            case 0:
                s = nb_gradient_gsl(c, rosen, &n, &x.vector, &fx, &g.vector);
                nan = isnan(fx) && all_nan_vec(&g.vector);
                break;
            case 1:
                s = nb_hvp_gsl(c, rosen, &n, &x.vector, &v.vector, &fx, &g.vector, &hv.vector);
                nan = isnan(fx) && all_nan_vec(&g.vector) && all_nan_vec(&hv.vector);
                break;
            case 2:
                s = nb_hessian_gsl(c, rosen, &n, &x.vector, &fx, &g.vector, &H.matrix);
                nan = isnan(fx) && all_nan_vec(&g.vector) && all_nan_mat(&H.matrix);
                break;
            case 3:
                s = nb_jacobian_gsl(c, vfn2, NULL, &x2.vector, NB_JAC_AUTO, &y.vector, &J.matrix);
                nan = all_nan_vec(&y.vector) && all_nan_mat(&J.matrix);
                break;
            case 4:
                s = nb_vjp_gsl(c, vfn2, NULL, &x2.vector, &v.vector, &y.vector, &g2.vector);
                nan = all_nan_vec(&y.vector) && all_nan_vec(&g2.vector);
                break;
            default:
                s = nb_jvp_gsl(c, vfn2, NULL, &x2.vector, &x2.vector, &y.vector, &hv.vector);
                nan = all_nan_vec(&y.vector) && all_nan_vec(&hv.vector);
                break;
            }
            if (s == NB_OK) {
                ok = 1;
                cr_expect(f.count < f.fail_at, "call %d succeeded past a failed allocation", call);
            } else {
                cr_expect_eq(s, NB_E_NOMEM, "call %d, allocation %d", call, k);
                cr_expect(nan, "call %d, allocation %d failed: an output is not NaN", call, k);
            }
        }
        cr_expect(ok, "call %d never succeeded", call);
    }
    f.fail_at = 0;
    /* invalid arguments (sizes that disagree, a NULL context): NaN in every output given, each
     * over its own size, as the drivers write it */
    for (int call = 0; call < 7; call++) {
        double fx = 7;
        prime(gs, hs, ys, big, c);
        nb_status s;
        int nan;
        switch (call) {
        case 0: /* g of size 2 for x of size 3 */
            s = nb_gradient_gsl(c, rosen, &n, &x.vector, &fx, &g2.vector);
            nan = isnan(fx) && all_nan_vec(&g2.vector);
            break;
        case 1:
            s = nb_gradient_gsl(NULL, rosen, &n, &x.vector, &fx, &g.vector);
            nan = isnan(fx) && all_nan_vec(&g.vector);
            break;
        case 2:
            s = nb_hvp_gsl(c, rosen, &n, &x.vector, &v.vector, &fx, &g2.vector, &hv.vector);
            nan = isnan(fx) && all_nan_vec(&g2.vector) && all_nan_vec(&hv.vector);
            break;
        case 3:
            s = nb_hessian_gsl(c, rosen, &n, &x.vector, &fx, &g.vector, &J.matrix);
            nan = isnan(fx) && all_nan_vec(&g.vector) && all_nan_mat(&J.matrix);
            break;
        case 4:
            s = nb_jacobian_gsl(c, vfn2, NULL, &x2.vector, NB_JAC_AUTO, &g2.vector, &J.matrix);
            nan = all_nan_vec(&g2.vector) && all_nan_mat(&J.matrix);
            break;
        case 5:
            s = nb_vjp_gsl(c, vfn2, NULL, &x2.vector, &v.vector, &g2.vector, &g2.vector);
            nan = all_nan_vec(&g2.vector);
            break;
        default:
            s = nb_jvp_gsl(c, vfn2, NULL, &x2.vector, &x.vector, &y.vector, &hv.vector);
            nan = all_nan_vec(&y.vector) && all_nan_vec(&hv.vector);
            break;
        }
        cr_expect_eq(s, NB_E_ARG, "call %d", call);
        cr_expect(nan, "call %d: an output is not NaN", call);
    }
    gsl_vector_free(xs);
    gsl_vector_free(vs);
    gsl_vector_free(gs);
    gsl_vector_free(hs);
    gsl_vector_free(ys);
    gsl_vector_free(x2s);
    gsl_matrix_free(big);
    nb_ctx_free(c);
}

Test(nan_policy, domain_errors_at_second_order) {
    nb_ctx *c = NULL;
    cr_assert_eq(nb_ctx_new(&c, NULL), NB_OK);
    const struct dom_case cases[] = {
        {NB_OP_log, -1, 0},    {NB_OP_log2, -1, 0},  {NB_OP_log10, -2, 0},
        {NB_OP_log1p, -3, 0},  {NB_OP_atanh, 2, 0},  {NB_OP_sqrt, -1, 0},
        {NB_OP_acosh, 0.5, 0}, {NB_OP_asin, 2, 0},   {NB_OP_pow, -1, 1e-300},
        {NB_OP_pow, -2, 0.5}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct dom_case d = cases[i];
        double g, h, hv, one = 1, tay[3];
        cr_assert_eq(nb_hessian(c, dom_fn, &d, 1, &d.x, NULL, &g, &h), NB_OK);
        cr_assert_eq(nb_hvp(c, dom_fn, &d, 1, &d.x, &one, NULL, NULL, &hv), NB_OK);
        cr_assert_eq(nb_derivatives(c, dom_fn, &d, d.x, 2, tay), NB_OK);
        const char *name = nb_op_get(d.op)->name;
        cr_expect(isnan(g) && isnan(h) && isnan(hv) && isnan(tay[1]) && isnan(tay[2]),
                  "%s(%g): g %g, H %g, Hv %g, Taylor %g %g", name, d.x, g, h, hv, tay[1], tay[2]);
    }
    nb_ctx_free(c);
}

/* The second derivative of x^0.5 at the subnormal 1e-310 is -inf (-0.25 x^-1.5), by forward over
 * reverse and forward over forward: pow's subnormal-base form y x^y / x, taken where x^(y-1)
 * overflows, would give inf - inf here (a review found it taken for every y < 1). */
static nb_var sqrt_pow(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_pow(c, x[0], nb_const(0.5));
}
Test(zero_values, pow_second_derivative_at_a_subnormal_base) {
    nb_ctx *c = new_ctx();
    double x = 1e-310, g, h;
    cr_assert_eq(nb_hessian(c, sqrt_pow, NULL, 1, &x, NULL, &g, &h), NB_OK);
    cr_expect(isinf(h) && h < 0, "hessian %g", h);
    double d[3];
    cr_assert_eq(nb_derivatives(c, sqrt_pow, NULL, x, 2, d), NB_OK);
    cr_expect(isinf(d[2]) && d[2] < 0, "Taylor %g", d[2]);
    nb_ctx_free(c);
}


/* An integer parameter out of its op's range gave a NaN constant: zero derivative, so where a rule
 * stepped out of range (bessel_jn's J_{n+1} at n = 20000) the second derivative came out finite
 * and wrong with NB_OK (3.19e-4, the J_20001 term differentiated as a constant; the value is
 * -1.62e-3), and x + powi(x, 2^30 + 2049) had gradient 1 (a review). Now NaN at every order and
 * in every nesting, as nb_dual says, and 0 only where x does not move. */
static nb_var jn_edge(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_bessel_jn(c, x[0], 20000);
}
static nb_var jn_edge_d(nb_ctx *c, const nb_var *x, void *env) {
    nb_var fx, d;
    nb_derivative_var(c, jn_edge, env, x[0], &fx, &d);
    return d;
}
static nb_var jn_edge_g(nb_ctx *c, const nb_var *x, void *env) {
    nb_var fx, d;
    nb_gradient_var(c, jn_edge, env, 1, x, &fx, &d);
    return d;
}
static nb_var powi_out(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_add(c, x[0], nb_powi(c, x[0], 1073743873));
}
Test(nan_policy, a_parameter_out_of_range_is_nan_at_every_order) {
    nb_ctx *c = new_ctx();
    double x = 25000, d, d2[4], g, h, fx, tay[3];
    cr_assert_eq(nb_derivative(c, jn_edge, NULL, x, &fx, &d), NB_OK);
    cr_expect(isfinite(fx) && isnan(d), "J_20000(25000) = %g, its derivative %g", fx, d);
    cr_assert_eq(nb_derivative(c, jn_edge_d, NULL, x, &fx, &d2[0]), NB_OK); /* fwd over fwd */
    cr_assert_eq(nb_gradient(c, jn_edge_d, NULL, 1, &x, &fx, &d2[1]), NB_OK); /* rev over fwd */
    cr_assert_eq(nb_gradient(c, jn_edge_g, NULL, 1, &x, &fx, &d2[2]), NB_OK); /* rev over rev */
    cr_assert_eq(nb_derivative(c, jn_edge_g, NULL, x, &fx, &d2[3]), NB_OK); /* fwd over rev */
    cr_assert_eq(nb_hessian(c, jn_edge, NULL, 1, &x, NULL, &g, &h), NB_OK);
    cr_assert_eq(nb_derivatives(c, jn_edge, NULL, x, 2, tay), NB_OK);
    for (int k = 0; k < 4; k++) cr_expect(isnan(d2[k]), "nesting %d: f'' = %g", k, d2[k]);
    cr_expect(isnan(h) && isnan(tay[2]), "Hessian %g, Taylor %g", h, tay[2]);
    /* first order: the out-of-range powi makes the whole derivative NaN */
    double x2 = 2;
    cr_assert_eq(nb_gradient(c, powi_out, NULL, 1, &x2, &fx, &g), NB_OK);
    cr_expect(isnan(fx) && isnan(g), "f %g, g %g", fx, g);
    cr_assert_eq(nb_derivative(c, powi_out, NULL, x2, &fx, &d), NB_OK);
    cr_expect(isnan(d));
    /* nb_dual agrees: NaN along a moving x, 0 (the strong zero) along a fixed one */
    nb_dual r = nb_dual_powi(nb_dual_var(2), 1073743873);
    cr_expect(isnan(r.v) && isnan(r.d));
    r = nb_dual_powi(nb_dual_const(2), 1073743873);
    cr_expect(isnan(r.v) && r.d == 0);
    cr_assert_eq(nb_push(c, NB_FORWARD), NB_OK);
    nb_var fixed = nb_fwd_input(c, nb_const(2), nb_const(0));
    nb_var y = nb_bessel_jn(c, fixed, 30000);
    cr_expect(isnan(nb_value(y)) && nb_value(nb_tangent(c, y)) == 0);
    nb_pop(c);
    nb_ctx_free(c);
}

/* nb_dual's two-vector reductions added an element's two terms together before adding them to
 * the sum; the handle levels add them one at a time. The last bit differed (dot of {1,1},{1,1}
 * with {1,0},{2^-53,2^-53}: 1 + 2^-52 against 1), and so did nb_hvp's dual fast path from its
 * generic path under an enclosing level, for functions with dot or norm (a review). */
static nb_var dot_norm_fn(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    nb_var y[3] = {nb_mul(c, x[0], x[1]), nb_sin(c, x[2]), nb_exp(c, x[0])};
    return nb_mul(c, nb_dot(c, 3, x, y), nb_norm(c, 3, y));
}
Test(nested_mixed, reductions_round_alike_in_dual_and_handle_levels) {
    const double e = 0x1p-53;
    nb_dual x[2] = {{1, 1}, {1, 1}}, y[2] = {{1, 0}, {e, e}};
    nb_dual r = nb_dual_dot(2, x, y);
    nb_ctx *c = new_ctx();
    cr_assert_eq(nb_push(c, NB_FORWARD), NB_OK);
    nb_var hx[2], hy[2];
    for (int i = 0; i < 2; i++) {
        hx[i] = nb_fwd_input(c, nb_const(x[i].v), nb_const(x[i].d));
        hy[i] = nb_fwd_input(c, nb_const(y[i].v), nb_const(y[i].d));
    }
    const double t = nb_value(nb_tangent(c, nb_dot(c, 2, hx, hy)));
    cr_expect_eq(r.d, t, "nb_dual_dot %a, a forward level %a", r.d, t);
    nb_pop(c);
    /* nb_hvp at depth 0 (the dual fast path) and under an enclosing level (generic), bit for bit */
    unsigned seed = 5;
    int apart = 0;
    for (int it = 0; it < 400; it++) {
        double p[3], v[3], hv[3], hv2[3], g[3], g2[3];
        for (int i = 0; i < 3; i++) {
            p[i] = 4.0 * rand_r(&seed) / RAND_MAX - 2;
            v[i] = 4.0 * rand_r(&seed) / RAND_MAX - 2;
        }
        cr_assert_eq(nb_hvp(c, dot_norm_fn, NULL, 3, p, v, NULL, g, hv), NB_OK);
        for (int k = 0; k < 2; k++) {
            cr_assert_eq(nb_push(c, k ? NB_REVERSE : NB_FORWARD), NB_OK);
            cr_assert_eq(nb_hvp(c, dot_norm_fn, NULL, 3, p, v, NULL, g2, hv2), NB_OK);
            nb_pop(c);
            apart += memcmp(hv, hv2, sizeof hv) != 0 || memcmp(g, g2, sizeof g) != 0;
        }
    }
    cr_expect_eq(apart, 0, "%d of 800 Hessian-vector products differ between the paths", apart);
    nb_ctx_free(c);
}
