/* test_implicit.c - derivatives of solutions of F(x, theta) = 0 (nb_implicit_jacobian,
 * nb_implicit_vjp): against closed forms, and against GSL's central differences of the root that
 * GSL's own solver finds again at theta +- h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multiroots.h>

#include "nabla/gsl.h"
#include "nabla/nabla.h"
#include "oracle.h"

/* x^2 - theta */
static void sqrt_eq(nb_ctx *c, const nb_var *z, nb_var *y, void *env) {
    (void)env;
    y[0] = nb_sub(c, nb_mul(c, z[0], z[0]), z[1]);
}

Test(implicit, square_root) {
    nb_ctx *c = new_ctx();
    for (double t = 0.25; t < 100; t *= 3.7) {
        double x = sqrt(t), d = 0;
        cr_assert_eq(nb_implicit_jacobian(c, sqrt_eq, NULL, 1, 1, &x, &t, &d), NB_OK);
        cr_expect(close_to(d, 0.5 / sqrt(t), 1e-15, 0), "theta %g: %g", t, d);
        double xbar = 3, tbar = 0;
        cr_assert_eq(nb_implicit_vjp(c, sqrt_eq, NULL, 1, 1, &x, &t, &xbar, &tbar), NB_OK);
        cr_expect(close_to(tbar, 1.5 / sqrt(t), 1e-15, 0));
    }
    nb_ctx_free(c);
}

/* the circle x0^2 + x1^2 = theta0 meets the line x0 = theta1 x1 */
static void circle_line(nb_ctx *c, const nb_var *z, nb_var *y, void *env) {
    (void)env;
    y[0] = nb_sub(c, nb_add(c, nb_mul(c, z[0], z[0]), nb_mul(c, z[1], z[1])), z[2]);
    y[1] = nb_sub(c, z[0], nb_mul(c, z[3], z[1]));
}

Test(implicit, circle_and_line_closed_form) {
    nb_ctx *c = new_ctx();
    const double t0 = 2.5, t1 = -0.7, theta[2] = {t0, t1};
    const double q = sqrt(1 + t1 * t1), x1 = sqrt(t0) / q, x[2] = {t1 * x1, x1};
    const double d10 = 1 / (2 * sqrt(t0) * q), d11 = -sqrt(t0) * t1 / (q * q * q);
    const double want[4] = {t1 * d10, x1 + t1 * d11, d10, d11};
    double J[4];
    cr_assert_eq(nb_implicit_jacobian(c, circle_line, NULL, 2, 2, x, theta, J), NB_OK);
    for (int k = 0; k < 4; k++) cr_expect(close_to(J[k], want[k], 1e-14, 0), "%d: %g vs %g", k, J[k], want[k]);
    /* the vjp is xbar^T J, by a solve with A^T */
    const double xbar[2] = {0.3, -1.7};
    double tbar[2];
    cr_assert_eq(nb_implicit_vjp(c, circle_line, NULL, 2, 2, x, theta, xbar, tbar), NB_OK);
    for (int j = 0; j < 2; j++)
        cr_expect(close_to(tbar[j], xbar[0] * J[j] + xbar[1] * J[2 + j], 1e-14, 0), "%d", j);
    nb_ctx_free(c);
}

/* ---- Broyden's tridiagonal system with a right-hand side theta: (3 - 2 x_i) x_i - x_{i-1} -
 * 2 x_{i+1} + theta_i = 0, solved by GSL's hybridsj with nabla's Jacobian ---- */
enum { BN = 8 };
struct broyden_env {
    double theta[BN];
};
static void broyden_f(nb_ctx *c, const nb_var *z, nb_var *y, void *env) {
    (void)env;
    for (int i = 0; i < BN; i++) {
        nb_var t = nb_mul(c, nb_sub(c, nb_const(3), nb_mul(c, nb_const(2), z[i])), z[i]);
        if (i > 0) t = nb_sub(c, t, z[i - 1]);
        if (i + 1 < BN) t = nb_sub(c, t, nb_mul(c, nb_const(2), z[i + 1]));
        y[i] = nb_add(c, t, z[BN + i]);
    }
}
/* the same with theta fixed from env, for the solver */
static void broyden_x(nb_ctx *c, const nb_var *x, nb_var *y, void *env) {
    struct broyden_env *e = env;
    nb_var z[2 * BN];
    for (int i = 0; i < BN; i++) z[i] = x[i], z[BN + i] = nb_const(e->theta[i]);
    broyden_f(c, z, y, NULL);
}
/* x(theta) by hybridsj from -1, to sum |F_i| < 1e-13 */
static int solve(const double *theta, double *x) {
    struct broyden_env e;
    memcpy(e.theta, theta, sizeof e.theta);
    nb_gsl_adapter *a = NULL;
    if (nb_gsl_multiroot_new(&a, broyden_x, &e, BN, NULL)) return 0;
    gsl_multiroot_fdfsolver *s = gsl_multiroot_fdfsolver_alloc(gsl_multiroot_fdfsolver_hybridsj, BN);
    double x0[BN];
    for (int i = 0; i < BN; i++) x0[i] = -1;
    gsl_vector_view v = gsl_vector_view_array(x0, BN);
    gsl_multiroot_fdfsolver_set(s, nb_gsl_multiroot_fdf(a), &v.vector);
    int status = GSL_CONTINUE;
    for (int it = 0; it < 200 && status == GSL_CONTINUE; it++) {
        if (gsl_multiroot_fdfsolver_iterate(s)) break;
        status = gsl_multiroot_test_residual(s->f, 1e-13);
    }
    for (size_t i = 0; i < BN; i++) x[i] = gsl_vector_get(s->x, i);
    gsl_multiroot_fdfsolver_free(s);
    nb_gsl_adapter_free(a);
    return status == GSL_SUCCESS;
}
struct slice {
    double theta[BN];
    int i, j;
};
static double root_component(double t, void *env) {
    struct slice *s = env;
    double th[BN], x[BN];
    memcpy(th, s->theta, sizeof th);
    th[s->j] = t;
    cr_assert(solve(th, x));
    return x[s->i];
}

Test(implicit, broyden_against_central_differences_of_the_solver) {
    gsl_set_error_handler_off();
    nb_ctx *c = new_ctx();
    struct slice s;
    double x[BN], J[BN * BN];
    for (int i = 0; i < BN; i++) s.theta[i] = 1 + 0.1 * i;
    cr_assert(solve(s.theta, x));
    cr_assert_eq(nb_implicit_jacobian(c, broyden_f, NULL, BN, BN, x, s.theta, J), NB_OK);
    for (s.i = 0; s.i < BN; s.i += 3)
        for (s.j = 0; s.j < BN; s.j += 2) {
            double err, d = fd_central(root_component, &s, s.theta[s.j], 1e-3, &err);
            cr_expect(fabs(J[s.i * BN + s.j] - d) <= 1e-7 + 10 * err, "dx%d/dtheta%d: %g vs %g (err %g)",
                      s.i, s.j, J[s.i * BN + s.j], d, err);
        }
    nb_ctx_free(c);
}

/* x^2 - 4 */
static void no_theta(nb_ctx *c, const nb_var *z, nb_var *y, void *env) {
    (void)env;
    y[0] = nb_sub(c, nb_mul(c, z[0], z[0]), nb_const(4));
}

Test(implicit, singular_and_errors) {
    nb_ctx *c = new_ctx();
    double x = 0, t = 0, d = 1, tb = 1, xb = 1;
    /* x^2 = 0 at 0: A = 2x = 0, the root sqrt(theta) has no derivative there */
    cr_expect_eq(nb_implicit_jacobian(c, sqrt_eq, NULL, 1, 1, &x, &t, &d), NB_E_SINGULAR);
    cr_expect(isnan(d));
    cr_expect_str_eq(nb_strerror(NB_E_SINGULAR), "singular matrix");
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_implicit_vjp(c, sqrt_eq, NULL, 1, 1, &x, &t, &xb, &tb), NB_E_SINGULAR);
    cr_expect(isnan(tb));
    nb_ctx_clear_error(c);
    /* an error already recorded is returned at once */
    nb_push(c, NB_REVERSE);
    nb_var h = nb_rev_input(c, nb_const(1));
    nb_pop(c);
    nb_sin(c, h);
    x = 2, t = 4;
    cr_expect_eq(nb_implicit_jacobian(c, sqrt_eq, NULL, 1, 1, &x, &t, &d), NB_E_STALE);
    cr_expect(isnan(d));
    nb_ctx_clear_error(c);
    /* arguments */
    cr_expect_eq(nb_implicit_jacobian(NULL, sqrt_eq, NULL, 1, 1, &x, &t, &d), NB_E_ARG);
    cr_expect_eq(nb_implicit_jacobian(c, NULL, NULL, 1, 1, &x, &t, &d), NB_E_ARG);
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_implicit_jacobian(c, sqrt_eq, NULL, 1, 1, NULL, &t, &d), NB_E_ARG);
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_implicit_vjp(c, sqrt_eq, NULL, 1, 1, &x, &t, NULL, &tb), NB_E_ARG);
    cr_expect(isnan(tb));
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_implicit_jacobian(c, sqrt_eq, NULL, SIZE_MAX / 2, 1, &x, &t, &d), NB_E_ARG);
    nb_ctx_clear_error(c);
    /* no parameter: nothing to compute; the output may be the input */
    cr_expect_eq(nb_implicit_jacobian(c, no_theta, NULL, 1, 0, &x, NULL, NULL), NB_OK);
    x = 0; /* with no parameter nothing is solved, so even a singular A is not an error */
    cr_expect_eq(nb_implicit_jacobian(c, no_theta, NULL, 1, 0, &x, NULL, NULL), NB_OK);
    double tb2[2] = {5, 5}, th2[2] = {1, 2};
    cr_expect_eq(nb_implicit_vjp(c, sqrt_eq, NULL, 0, 2, NULL, th2, NULL, tb2), NB_OK);
    cr_expect(tb2[0] == 0 && !signbit(tb2[0]) && tb2[1] == 0);
    double xt[2] = {2, 4};
    cr_assert_eq(nb_implicit_jacobian(c, sqrt_eq, NULL, 1, 1, xt, xt + 1, xt), NB_OK);
    cr_expect_eq(xt[0], 0.25);
    nb_ctx_free(c);
}

Test(implicit, allocation_failures) {
    const double x[2] = {-0.7 * sqrt(2.5) / sqrt(1.49), sqrt(2.5) / sqrt(1.49)}, th[2] = {2.5, -0.7};
    int ok = 0;
    for (int k = 1; k < 60 && !ok; k++) {
        struct failing f = {0, k};
        nb_ctx_opts o = failing_opts(&f);
        nb_ctx *c = NULL;
        if (nb_ctx_new(&c, &o) != NB_OK) continue;
        double J[4], tb[2], xb[2] = {1, 1};
        nb_status s = nb_implicit_jacobian(c, circle_line, NULL, 2, 2, x, th, J);
        cr_expect(s == NB_OK || s == NB_E_NOMEM, "at %d: %d", k, s);
        if (s) cr_expect(isnan(J[0]) && isnan(J[3]));
        nb_ctx_clear_error(c);
        nb_status s2 = nb_implicit_vjp(c, circle_line, NULL, 2, 2, x, th, xb, tb);
        cr_expect(s2 == NB_OK || s2 == NB_E_NOMEM);
        ok = s == NB_OK && s2 == NB_OK;
        nb_ctx_free(c);
    }
    cr_expect(ok);
}

/* ---- a dense system that pivots: F_i = sum_j M_ij x_j + 0.1 sin(x_i) - theta_i; A dx/dtheta
 * = -B checked by multiplying back, and the vjp against xbar^T dx/dtheta ---- */
enum { DN = 7 };
static void dense_f(nb_ctx *c, const nb_var *z, nb_var *y, void *env) {
    const double(*M)[DN] = env;
    for (int i = 0; i < DN; i++) {
        nb_var s = nb_mul(c, nb_const(0.1), nb_sin(c, z[i]));
        for (int j = 0; j < DN; j++) s = nb_add(c, s, nb_mul(c, nb_const(M[i][j]), z[j]));
        y[i] = nb_sub(c, s, z[DN + i]);
    }
}

Test(implicit, pivoting_vjp_and_residual) {
    nb_ctx *c = new_ctx();
    unsigned long long seed = 99;
    double M[DN][DN];
    for (int i = 0; i < DN; i++)
        for (int j = 0; j < DN; j++) M[i][j] = uniform(&seed, -1, 1);
    double z[2 * DN], J[DN * DN], F[DN * 2 * DN], xbar[DN], tbar[DN];
    for (int i = 0; i < 2 * DN; i++) z[i] = uniform(&seed, -2, 2);
    for (int i = 0; i < DN; i++) xbar[i] = uniform(&seed, -1, 1);
    cr_assert_eq(nb_implicit_jacobian(c, dense_f, M, DN, DN, z, z + DN, J), NB_OK);
    cr_assert_eq(nb_jacobian(c, dense_f, M, 2 * DN, DN, z, NB_JAC_FORWARD, NULL, F), NB_OK);
    for (int i = 0; i < DN; i++)
        for (int j = 0; j < DN; j++) { /* (A J + B)_ij = 0 */
            double s = F[i * 2 * DN + DN + j];
            for (int k = 0; k < DN; k++) s += F[i * 2 * DN + k] * J[k * DN + j];
            cr_expect(fabs(s) < 1e-13, "residual %d %d: %g", i, j, s);
        }
    cr_assert_eq(nb_implicit_vjp(c, dense_f, M, DN, DN, z, z + DN, xbar, tbar), NB_OK);
    for (int j = 0; j < DN; j++) {
        double s = 0;
        for (int i = 0; i < DN; i++) s += xbar[i] * J[i * DN + j];
        cr_expect(close_to(tbar[j], s, 1e-12, 1e-14), "%d: %g vs %g", j, tbar[j], s);
    }
    nb_ctx_free(c);
}

/* ---- nb_implicit: scalar implicit functions as ops of any order ---- */
#include <gsl/gsl_sf_lambert.h>

static nb_var sq_F(nb_ctx *c, const nb_var *z, void *env) { /* x^2 - theta */
    (void)env;
    return nb_sub(c, nb_mul(c, z[0], z[0]), z[1]);
}
static double sq_solve(const double *theta, size_t k, void *env) {
    (void)k, (void)env;
    return sqrt(theta[0]);
}
static const nb_implicit_def sq_def = {sq_F, sq_solve, NULL};
static nb_var sq_root(nb_ctx *c, const nb_var *t, void *env) {
    (void)env;
    return nb_implicit(c, &sq_def, t, 1);
}

Test(implicit, scalar_op_sqrt_all_orders) {
    nb_ctx *c = new_ctx();
    const double t = 2.0;
    double d[7];
    cr_assert_eq(nb_derivatives(c, sq_root, NULL, t, 6, d), NB_OK);
    double coef = 1, pw = 0.5; /* d^n sqrt(t) = (1/2)(-1/2)...(1/2 - n + 1) t^(1/2 - n) */
    for (int n = 0; n <= 6; n++) {
        cr_expect(close_to(d[n], coef * pow(t, pw), 1e-13, 0), "order %d: %.17g vs %.17g", n, d[n],
                  coef * pow(t, pw));
        coef *= pw, pw -= 1;
    }
    /* the same second derivative by nesting: a Hessian (forward over reverse) */
    double H = 0, g = 0;
    cr_assert_eq(nb_hessian(c, sq_root, NULL, 1, &t, NULL, &g, &H), NB_OK);
    cr_expect(close_to(g, 0.5 / sqrt(t), 1e-15, 0));
    cr_expect(close_to(H, -0.25 * pow(t, -1.5), 1e-14, 0));
    /* at theta = 0 dF/dx = 0: no derivative */
    double z = 0, d0 = 0;
    cr_assert_eq(nb_derivative(c, sq_root, NULL, z, NULL, &d0), NB_OK);
    cr_expect(isinf(d0) || isnan(d0));
    nb_ctx_free(c);
}

/* Lambert's W as x e^x - theta = 0, solved by GSL, against the registry's lambert_w0 */
static nb_var w_F(nb_ctx *c, const nb_var *z, void *env) {
    (void)env;
    return nb_sub(c, nb_mul(c, z[0], nb_exp(c, z[0])), z[1]);
}
static double w_solve(const double *theta, size_t k, void *env) {
    (void)k, (void)env;
    return gsl_sf_lambert_W0(theta[0]);
}
static const nb_implicit_def w_def = {w_F, w_solve, NULL};
static nb_var w_implicit(nb_ctx *c, const nb_var *t, void *env) {
    (void)env;
    return nb_implicit(c, &w_def, t, 1);
}
static nb_var w_registry(nb_ctx *c, const nb_var *t, void *env) {
    (void)env;
    return nb_lambert_w0(c, t[0]);
}

Test(implicit, scalar_op_lambert_w_against_the_registry) {
    nb_ctx *c = new_ctx();
    for (double t = 0.3; t < 20; t *= 2.9) {
        double a[9], b[9];
        cr_assert_eq(nb_derivatives(c, w_implicit, NULL, t, 8, a), NB_OK);
        cr_assert_eq(nb_derivatives(c, w_registry, NULL, t, 8, b), NB_OK);
        for (int n = 0; n <= 8; n++)
            cr_expect(close_to(a[n], b[n], 1e-11, 1e-300), "t %g order %d: %.17g vs %.17g", t, n,
                      a[n], b[n]);
    }
    nb_ctx_free(c);
}

/* Kepler's equation E - e sin E = M: the eccentric anomaly E(M, e) */
static nb_var kepler_F(nb_ctx *c, const nb_var *z, void *env) {
    (void)env;
    return nb_sub(c, nb_sub(c, z[0], nb_mul(c, z[2], nb_sin(c, z[0]))), z[1]);
}
static double kepler_solve(const double *th, size_t k, void *env) {
    (void)k, (void)env;
    double E = th[0];
    for (int it = 0; it < 50; it++) {
        const double step = (E - th[1] * sin(E) - th[0]) / (1 - th[1] * cos(E));
        E -= step;
        if (fabs(step) < 1e-16 * (1 + fabs(E))) break;
    }
    return E;
}
static const nb_implicit_def kepler_def = {kepler_F, kepler_solve, NULL};
static nb_var kepler(nb_ctx *c, const nb_var *th, void *env) {
    (void)env;
    return nb_implicit(c, &kepler_def, th, 2);
}
struct kslice {
    double th[2];
    int i, j; /* gradient component i as a function of theta_j */
};
static double kepler_grad(double v, void *env) { /* the analytic gradient */
    struct kslice *s = env;
    double th[2] = {s->th[0], s->th[1]};
    th[s->j] = v;
    const double E = kepler_solve(th, 2, NULL), den = 1 - th[1] * cos(E);
    return s->i == 0 ? 1 / den : sin(E) / den;
}
static nb_var kepler_grad_sum(nb_ctx *c, const nb_var *th, void *env) { /* dE/dM + dE/de */
    nb_var g[2];
    nb_gradient_var(c, kepler, env, 2, th, NULL, g);
    return nb_add(c, g[0], g[1]);
}

Test(implicit, scalar_op_kepler_gradient_and_hessian) {
    nb_ctx *c = new_ctx();
    struct kslice s = {{1.1, 0.6}, 0, 0};
    double E, g[2], H[4], r[2];
    cr_assert_eq(nb_hessian(c, kepler, NULL, 2, s.th, &E, g, H), NB_OK);
    const double den = 1 - s.th[1] * cos(E);
    cr_expect(fabs(E - s.th[1] * sin(E) - s.th[0]) < 1e-15);
    cr_expect(close_to(g[0], 1 / den, 1e-14, 0));
    cr_expect(close_to(g[1], sin(E) / den, 1e-14, 0));
    for (s.i = 0; s.i < 2; s.i++)
        for (s.j = 0; s.j < 2; s.j++) {
            double err, d = fd_central(kepler_grad, &s, s.th[s.j], 1e-4, &err);
            cr_expect(fabs(H[s.i * 2 + s.j] - d) <= 1e-8 + 10 * err, "H %d %d: %g vs %g", s.i, s.j,
                      H[s.i * 2 + s.j], d);
        }
    cr_expect(close_to(H[1], H[2], 1e-13, 0));
    /* reverse over reverse: the gradient of dE/dM + dE/de is the Hessian's column sums */
    cr_assert_eq(nb_gradient(c, kepler_grad_sum, NULL, 2, s.th, NULL, r), NB_OK);
    cr_expect(close_to(r[0], H[0] + H[1], 1e-13, 0));
    cr_expect(close_to(r[1], H[2] + H[3], 1e-13, 0));
    nb_ctx_free(c);
}

Test(implicit, scalar_op_errors) {
    nb_ctx *c = new_ctx();
    nb_var t = nb_const(2);
    nb_implicit_def bad = {NULL, sq_solve, NULL};
    cr_expect(isnan(nb_value(nb_implicit(c, NULL, &t, 1))));
    cr_expect_eq(nb_ctx_status(c), NB_E_ARG);
    nb_ctx_clear_error(c);
    cr_expect(isnan(nb_value(nb_implicit(c, &bad, &t, 1))));
    cr_expect_eq(nb_ctx_status(c), NB_E_ARG);
    nb_ctx_clear_error(c);
    cr_expect(isnan(nb_value(nb_implicit(NULL, &sq_def, &t, 1))));
    /* on constants: the value alone */
    cr_expect_eq(nb_value(nb_implicit(c, &sq_def, &t, 1)), sqrt(2.0));
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_ctx_free(c);
}

/* ---- nb_implicit inside sparse plans made where partials are 0: its rule runs a gradient on
 * constants over the pattern level, whose zeros must stay constants ---- */
static nb_var cubic_F(nb_ctx *c, const nb_var *z, void *env) { /* x^3 + x - theta0^2 - theta1 */
    (void)env;
    nb_var x3 = nb_mul(c, z[0], nb_mul(c, z[0], z[0]));
    return nb_sub(c, nb_sub(c, nb_add(c, x3, z[0]), nb_mul(c, z[1], z[1])), z[2]);
}
static double cubic_solve(const double *th, size_t k, void *env) {
    (void)k, (void)env;
    const double s = th[0] * th[0] + th[1]; /* x^3 + x = s: x = 2 sinh(asinh(3 sqrt(3) s / 2) / 3) / sqrt(3) */
    return 2 / sqrt(3.0) * sinh(asinh(1.5 * sqrt(3.0) * s) / 3);
}
static const nb_implicit_def cubic_def = {cubic_F, cubic_solve, NULL};
static nb_var cubic_chain(nb_ctx *c, const nb_var *t, void *env) { /* sum x(t_i, t_{i+1}) */
    const size_t n = *(const size_t *)env;
    nb_var s = nb_const(0);
    for (size_t i = 0; i + 1 < n; i++) s = nb_add(c, s, nb_implicit(c, &cubic_def, t + i, 2));
    return s;
}
static void cubic_vec(nb_ctx *c, const nb_var *t, nb_var *y, void *env) {
    const size_t n = *(const size_t *)env;
    for (size_t i = 0; i + 1 < n; i++) y[i] = nb_implicit(c, &cubic_def, t + i, 2);
}

Test(implicit, scalar_op_in_sparse_plans_made_at_zero) {
    nb_ctx *c = new_ctx();
    size_t n = 6;
    double z[6] = {0}, t[6] = {0.3, -1.2, 0.7, 2.0, -0.4, 1.1}, val[32], A[36], D[36];
    nb_sparse *p = NULL;
    cr_assert_eq(nb_sparse_jac_new(c, cubic_vec, &n, n, n - 1, z, NB_SPARSE_AUTO, &p), NB_OK);
    cr_expect_eq(nb_sparse_nnz(p), 2 * (n - 1));
    cr_assert_eq(nb_sparse_jacobian(c, p, cubic_vec, &n, t, NULL, val), NB_OK);
    cr_assert_eq(nb_jacobian(c, cubic_vec, &n, n, n - 1, t, NB_JAC_FORWARD, NULL, D), NB_OK);
    const size_t *rp = nb_sparse_row_ptr(p), *ci = nb_sparse_col_idx(p);
    memset(A, 0, sizeof A);
    for (size_t i = 0; i + 1 < n; i++)
        for (size_t e = rp[i]; e < rp[i + 1]; e++) A[i * n + ci[e]] = val[e];
    for (size_t k = 0; k < (n - 1) * n; k++) cr_expect_eq(A[k], D[k], "%zu", k);
    nb_sparse_free(p);
    cr_assert_eq(nb_sparse_hess_new(c, cubic_chain, &n, n, z, &p), NB_OK);
    cr_expect_eq(nb_sparse_nnz(p), 3 * n - 2);
    cr_assert_eq(nb_sparse_hessian(c, p, cubic_chain, &n, t, NULL, NULL, val), NB_OK);
    cr_assert_eq(nb_hessian(c, cubic_chain, &n, n, t, NULL, NULL, D), NB_OK);
    memset(A, 0, sizeof A);
    rp = nb_sparse_row_ptr(p), ci = nb_sparse_col_idx(p);
    for (size_t i = 0; i < n; i++)
        for (size_t e = rp[i]; e < rp[i + 1]; e++) A[i * n + ci[e]] = val[e];
    for (size_t k = 0; k < n * n; k++) cr_expect_eq(A[k], D[k], "%zu", k);
    nb_sparse_free(p);
    nb_ctx_free(c);
}
