/* test_ode_sens.c - forward sensitivities of ODE solutions (nb_gsl_odeiv2_sens_new): dy(t)/dp
 * integrated by GSL's steppers with the sensitivity system nabla builds from f written once,
 * against closed forms (exponential decay; the logistic equation, whose closed form nabla
 * differentiates by reverse mode), against central differences of solutions re-solved with a
 * hand-written system at p -+ h (Lotka-Volterra; Robertson's stiff kinetics with msbdf), and the
 * jacobian the implicit steppers get against gsl_deriv_central on the system's own function. */
#include <criterion/criterion.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_odeiv2.h>

#include "nabla/gsl.h"
#include "nabla/nabla.h"
#include "oracle.h"

/* Integrates S from t0 to t1 in u (in place) with stepper T at tolerance tol (absolute and
 * relative); returns GSL's status. */
static int solve(const gsl_odeiv2_system *S, const gsl_odeiv2_step_type *T, double tol,
                 double t0, double t1, double *u) {
    gsl_odeiv2_driver *d = gsl_odeiv2_driver_alloc_y_new(S, T, 1e-6, tol, tol);
    cr_assert_not_null(d);
    double t = t0;
    int s = gsl_odeiv2_driver_apply(d, &t, t1, u);
    gsl_odeiv2_driver_free(d);
    return s;
}

/* ---- y' = -k y, y(0) = y0; p = (k, y0): y = y0 e^(-kt), dy/dk = -t y, dy/dy0 = e^(-kt) ---- */

static void decay(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *p, nb_var *d, void *env) {
    (void)t, (void)env;
    d[0] = nb_neg(c, nb_mul(c, p[0], y[0]));
}

Test(ode_sens, decay_against_the_closed_form_with_explicit_and_implicit_steppers) {
    gsl_set_error_handler_off();
    const double p[2] = {0.8, 1.7}, T = 2.5;
    nb_gsl_adapter *a = NULL;
    cr_assert_eq(nb_gsl_odeiv2_sens_new(&a, decay, NULL, 1, 2, p, NULL), NB_OK);
    gsl_odeiv2_system *S = nb_gsl_odeiv2_system(a);
    cr_assert_not_null(S);
    cr_expect_eq(S->dimension, 3);
    const gsl_odeiv2_step_type *types[] = {gsl_odeiv2_step_rk8pd, gsl_odeiv2_step_rkf45,
                                           gsl_odeiv2_step_msbdf, gsl_odeiv2_step_bsimp,
                                           gsl_odeiv2_step_rk4imp};
    for (size_t s = 0; s < sizeof types / sizeof *types; s++) {
        double u[3] = {p[1], 0, 1}; /* y(0) = y0: dy0/dk = 0, dy0/dy0 = 1 */
        cr_assert_eq(solve(S, types[s], 1e-11, 0, T, u), GSL_SUCCESS, "%s", types[s]->name);
        const double e = exp(-p[0] * T);
        cr_expect(close_to(u[0], p[1] * e, 1e-8, 0), "%s: y %.17g", types[s]->name, u[0]);
        cr_expect(close_to(u[1], -T * p[1] * e, 1e-8, 0), "%s: dy/dk %.17g vs %.17g",
                  types[s]->name, u[1], -T * p[1] * e);
        cr_expect(close_to(u[2], e, 1e-8, 0), "%s: dy/dy0 %.17g", types[s]->name, u[2]);
    }
    cr_expect_eq(nb_gsl_adapter_status(a), NB_OK);

    /* new parameters, the same adapter */
    const double q[2] = {1.9, -0.5};
    cr_assert_eq(nb_gsl_odeiv2_sens_params(a, q), NB_OK);
    double u[3] = {q[1], 0, 1};
    cr_assert_eq(solve(S, gsl_odeiv2_step_rk8pd, 1e-11, 0, T, u), GSL_SUCCESS);
    const double e = exp(-q[0] * T);
    cr_expect(close_to(u[0], q[1] * e, 1e-8, 0) && close_to(u[1], -T * q[1] * e, 1e-8, 0) &&
                  close_to(u[2], e, 1e-8, 0),
              "after nb_gsl_odeiv2_sens_params: %.17g %.17g %.17g", u[0], u[1], u[2]);
    nb_gsl_adapter_free(a);
}

/* ---- the logistic equation y' = r y (1 - y / K), p = (r, K, y0) ---- */

static void logistic(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *p, nb_var *d,
                     void *env) {
    (void)t, (void)env;
    d[0] = nb_mul(c, nb_mul(c, p[0], y[0]), nb_sub(c, nb_const(1), nb_div(c, y[0], p[1])));
}

/* its solution y(t) = K y0 e^(rt) / (K + y0 (e^(rt) - 1)) as a function of p = (r, K, y0) */
static nb_var logistic_solution(nb_ctx *c, const nb_var *p, void *env) {
    const double t = *(const double *)env;
    nb_var g = nb_exp(c, nb_mul(c, p[0], nb_const(t)));
    nb_var num = nb_mul(c, nb_mul(c, p[1], p[2]), g);
    return nb_div(c, num, nb_add(c, p[1], nb_mul(c, p[2], nb_sub(c, g, nb_const(1)))));
}

Test(ode_sens, logistic_against_reverse_mode_on_its_closed_form) {
    gsl_set_error_handler_off();
    const double p[3] = {1.3, 4.0, 0.25};
    nb_gsl_adapter *a = NULL;
    cr_assert_eq(nb_gsl_odeiv2_sens_new(&a, logistic, NULL, 1, 3, p, NULL), NB_OK);
    gsl_odeiv2_driver *d =
        gsl_odeiv2_driver_alloc_y_new(nb_gsl_odeiv2_system(a), gsl_odeiv2_step_rk8pd, 1e-6,
                                      1e-13, 1e-13);
    double u[4] = {p[2], 0, 0, 1}, t = 0;
    nb_ctx *c = new_ctx();
    const double times[] = {0.5, 1, 2.5, 4, 9};
    for (size_t k = 0; k < sizeof times / sizeof *times; k++) {
        double T = times[k], y, g[3];
        cr_assert_eq(gsl_odeiv2_driver_apply(d, &t, T, u), GSL_SUCCESS);
        cr_assert_eq(nb_gradient(c, logistic_solution, &T, 3, p, &y, g), NB_OK);
        cr_expect(close_to(u[0], y, 1e-10, 0), "t = %g: y %.17g vs %.17g", T, u[0], y);
        for (int j = 0; j < 3; j++)
            cr_expect(close_to(u[1 + j], g[j], 1e-9, 1e-12), "t = %g: dy/dp%d %.17g vs %.17g", T,
                      j, u[1 + j], g[j]);
    }
    gsl_odeiv2_driver_free(d);
    nb_ctx_free(c);
    cr_expect_eq(nb_gsl_adapter_status(a), NB_OK);
    nb_gsl_adapter_free(a);
}

/* ---- Lotka-Volterra: x' = a x - b x y, y' = -c y + d x y; p = (a, b, c, d) ---- */

static void lotka(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *p, nb_var *d, void *env) {
    (void)t, (void)env;
    nb_var xy = nb_mul(c, y[0], y[1]);
    d[0] = nb_sub(c, nb_mul(c, p[0], y[0]), nb_mul(c, p[1], xy));
    d[1] = nb_add(c, nb_neg(c, nb_mul(c, p[2], y[1])), nb_mul(c, p[3], xy));
}
static int lotka_plain(double t, const double y[], double d[], void *params) {
    (void)t;
    const double *p = params;
    d[0] = p[0] * y[0] - p[1] * y[0] * y[1];
    d[1] = -p[2] * y[1] + p[3] * y[0] * y[1];
    return GSL_SUCCESS;
}

/* component i of the hand-written system's solution at T, as a function of parameter k */
struct lv_slice {
    double p[4], T;
    int i, k;
};
static double lv_component(double pk, void *q) {
    const struct lv_slice *s = q;
    double p[4], y[2] = {1, 1};
    memcpy(p, s->p, sizeof p);
    p[s->k] = pk;
    const gsl_odeiv2_system sys = {lotka_plain, NULL, 2, p};
    cr_assert_eq(solve(&sys, gsl_odeiv2_step_rk8pd, 1e-13, 0, s->T, y), GSL_SUCCESS);
    return y[s->i];
}

Test(ode_sens, lotka_volterra_against_central_differences_of_re_solved_solutions) {
    gsl_set_error_handler_off();
    const double p[4] = {1.5, 1, 3, 1}, T = 4;
    nb_gsl_adapter *a = NULL;
    cr_assert_eq(nb_gsl_odeiv2_sens_new(&a, lotka, NULL, 2, 4, p, NULL), NB_OK);
    double u[10] = {1, 1}; /* y(0) = (1, 1) does not depend on p */
    cr_assert_eq(solve(nb_gsl_odeiv2_system(a), gsl_odeiv2_step_rk8pd, 1e-12, 0, T, u),
                 GSL_SUCCESS);
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < 2; i++) {
            struct lv_slice s = {{p[0], p[1], p[2], p[3]}, T, i, k};
            double err, fd = fd_central(lv_component, &s, p[k], 1e-3, &err);
            const double sens = u[2 * (1 + k) + i];
            cr_expect(close_to(sens, fd, 1e-7, 1e-9), "dy%d/dp%d: %.12g vs %.12g (+- %.2g)", i, k,
                      sens, fd, err);
        }
    nb_gsl_adapter_free(a);
}

/* ---- the jacobian the implicit steppers get: exact, second derivatives included ---- */

/* forced, parameterized: y0' = p0 y1 sin(t), y1' = -p1 y0^3 + exp(p2 y1) cos(p0 t) */
static void forced(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *p, nb_var *d, void *env) {
    (void)env;
    d[0] = nb_mul(c, nb_mul(c, p[0], y[1]), nb_sin(c, t));
    d[1] = nb_add(c, nb_neg(c, nb_mul(c, p[1], nb_powi(c, y[0], 3))),
                  nb_mul(c, nb_exp(c, nb_mul(c, p[2], y[1])), nb_cos(c, nb_mul(c, p[0], t))));
}

struct sys_slice {
    gsl_odeiv2_system *S;
    double t, u[8];
    int i, j; /* component i of the function, along u_j (j = -1: along t) */
};
static double sys_component(double x, void *q) {
    struct sys_slice *s = q;
    double u[8], f[8], t = s->t;
    memcpy(u, s->u, sizeof u);
    if (s->j < 0)
        t = x;
    else
        u[s->j] = x;
    cr_assert_eq(s->S->function(t, u, f, s->S->params), GSL_SUCCESS);
    return f[s->i];
}

Test(ode_sens, jacobian_of_the_sensitivity_system_against_central_differences) {
    gsl_set_error_handler_off();
    const double p[3] = {0.7, 1.3, -0.4};
    nb_gsl_adapter *a = NULL;
    cr_assert_eq(nb_gsl_odeiv2_sens_new(&a, forced, NULL, 2, 3, p, NULL), NB_OK);
    gsl_odeiv2_system *S = nb_gsl_odeiv2_system(a);
    cr_assert_eq(S->dimension, 8);
    unsigned long long seed = 5;
    for (int r = 0; r < 4; r++) {
        struct sys_slice s = {S, uniform(&seed, -2, 2), {0}, 0, 0};
        for (int j = 0; j < 8; j++) s.u[j] = uniform(&seed, -1.5, 1.5);
        double J[64], dt[8];
        cr_assert_eq(S->jacobian(s.t, s.u, J, dt, S->params), GSL_SUCCESS);
        for (s.i = 0; s.i < 8; s.i++)
            for (s.j = -1; s.j < 8; s.j++) {
                const double x = s.j < 0 ? s.t : s.u[s.j], ours = s.j < 0 ? dt[s.i] : J[s.i * 8 + s.j];
                double err, fd = fd_central(sys_component, &s, x, 1e-4, &err);
                cr_expect(close_to(ours, fd, 1e-7, 1e-8), "d f%d / d %s%d: %.12g vs %.12g", s.i,
                          s.j < 0 ? "t" : "u", s.j, ours, fd);
            }
        /* the structure: y' does not depend on S, and S_k' depends on no other S_l */
        for (int i = 0; i < 8; i++)
            for (int j = 2; j < 8; j++)
                if (i < 2 || (i / 2 != j / 2))
                    cr_expect(J[i * 8 + j] == 0, "J[%d][%d] = %g", i, j, J[i * 8 + j]);
    }
    cr_expect_eq(nb_gsl_adapter_status(a), NB_OK);
    nb_gsl_adapter_free(a);
}

/* ---- Robertson's stiff kinetics with its three rate constants as parameters, msbdf ---- */

static void rober(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *k, nb_var *d, void *env) {
    (void)t, (void)env;
    nb_var a = nb_mul(c, k[0], y[0]), b = nb_mul(c, k[2], nb_mul(c, y[1], y[2]));
    nb_var q = nb_mul(c, k[1], nb_mul(c, y[1], y[1]));
    d[0] = nb_add(c, nb_neg(c, a), b);
    d[1] = nb_sub(c, nb_sub(c, a, b), q);
    d[2] = q;
}
static int rober_plain(double t, const double y[], double d[], void *params) {
    (void)t;
    const double *k = params, a = k[0] * y[0], b = k[2] * (y[1] * y[2]), q = k[1] * (y[1] * y[1]);
    d[0] = -a + b;
    d[1] = a - b - q;
    d[2] = q;
    return GSL_SUCCESS;
}
static int rober_jac(double t, const double y[], double *J, double *dt, void *params) {
    (void)t;
    const double *k = params;
    const double rows[9] = {-k[0], k[2] * y[2], k[2] * y[1], k[0], -k[2] * y[2] - 2 * k[1] * y[1],
                            -k[2] * y[1], 0, 2 * k[1] * y[1], 0};
    memcpy(J, rows, sizeof rows);
    dt[0] = dt[1] = dt[2] = 0;
    return GSL_SUCCESS;
}
struct rober_slice {
    double k[3];
    int i, j;
};
static double rober_component(double log_kj, void *q) {
    const struct rober_slice *s = q;
    double k[3], y[3] = {1, 0, 0};
    memcpy(k, s->k, sizeof k);
    k[s->j] = exp(log_kj);
    const gsl_odeiv2_system sys = {rober_plain, rober_jac, 3, k};
    gsl_odeiv2_driver *d = gsl_odeiv2_driver_alloc_y_new(&sys, gsl_odeiv2_step_msbdf, 1e-8, 1e-14, 1e-12);
    double t = 0;
    cr_assert_eq(gsl_odeiv2_driver_apply(d, &t, 40, y), GSL_SUCCESS);
    gsl_odeiv2_driver_free(d);
    return y[s->i];
}

Test(ode_sens, robertson_stiff_with_msbdf_against_central_differences) {
    gsl_set_error_handler_off();
    const double k[3] = {0.04, 3e7, 1e4};
    nb_gsl_adapter *a = NULL;
    cr_assert_eq(nb_gsl_odeiv2_sens_new(&a, rober, NULL, 3, 3, k, NULL), NB_OK);
    double u[12] = {1, 0, 0};
    gsl_odeiv2_driver *d = gsl_odeiv2_driver_alloc_y_new(nb_gsl_odeiv2_system(a),
                                                         gsl_odeiv2_step_msbdf, 1e-8, 1e-14, 1e-12);
    double t = 0;
    cr_assert_eq(gsl_odeiv2_driver_apply(d, &t, 40, u), GSL_SUCCESS);
    gsl_odeiv2_driver_free(d);
    /* the state, as published (Hairer & Wanner, ROBER at t = 40) */
    cr_expect(close_to(u[0], 0.7158270687193, 1e-8, 0), "%.13g", u[0]);
    cr_expect(close_to(u[1], 9.185534764e-6, 1e-7, 0), "%.13g", u[1]);
    /* k_j dy_i/dk_j (the logarithmic sensitivity) against central differences in log k_j */
    for (int j = 0; j < 3; j++)
        for (int i = 0; i < 3; i++) {
            struct rober_slice s = {{k[0], k[1], k[2]}, i, j};
            double err, fd = fd_central(rober_component, &s, log(k[j]), 1e-3, &err);
            const double ours = k[j] * u[3 * (1 + j) + i];
            cr_expect(close_to(ours, fd, 1e-6, 1e-14), "k%d dy%d/dk%d: %.10g vs %.10g (+- %.2g)",
                      j, i, j, ours, fd, err);
        }
    cr_expect_eq(nb_gsl_adapter_status(a), NB_OK);
    nb_gsl_adapter_free(a);
}

/* ---- y' is f's own value; no parameters is the plain adapter ---- */

struct lv_env {
    double p[4];
};
static void lotka_env(nb_ctx *c, nb_var t, const nb_var *y, nb_var *d, void *env) {
    const struct lv_env *e = env;
    const nb_var p[4] = {nb_const(e->p[0]), nb_const(e->p[1]), nb_const(e->p[2]), nb_const(e->p[3])};
    lotka(c, t, y, p, d, NULL);
}
static void lotka_fixed(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *p, nb_var *d,
                        void *env) {
    cr_assert_null(p);
    lotka_env(c, t, y, d, env);
}

Test(ode_sens, the_state_part_is_the_plain_adapters_to_the_bit) {
    gsl_set_error_handler_off();
    struct lv_env e = {{1.5, 1, 3, 1}};
    nb_gsl_adapter *plain = NULL, *sens = NULL, *none = NULL;
    cr_assert_eq(nb_gsl_odeiv2_new(&plain, lotka_env, &e, 2, NULL), NB_OK);
    cr_assert_eq(nb_gsl_odeiv2_sens_new(&sens, lotka, NULL, 2, 4, e.p, NULL), NB_OK);
    cr_assert_eq(nb_gsl_odeiv2_sens_new(&none, lotka_fixed, &e, 2, 0, NULL, NULL), NB_OK);
    gsl_odeiv2_system *P = nb_gsl_odeiv2_system(plain), *S = nb_gsl_odeiv2_system(sens),
                      *Z = nb_gsl_odeiv2_system(none);
    cr_expect_eq(Z->dimension, 2);
    unsigned long long seed = 3;
    for (int r = 0; r < 10; r++) {
        double u[10], fp[2], fs[10], fz[2], Jp[4], Jz[4], dtp[2], dtz[2];
        for (int j = 0; j < 10; j++) u[j] = uniform(&seed, -2, 2);
        cr_assert_eq(P->function(0.5, u, fp, P->params), GSL_SUCCESS);
        cr_assert_eq(S->function(0.5, u, fs, S->params), GSL_SUCCESS);
        cr_assert_eq(Z->function(0.5, u, fz, Z->params), GSL_SUCCESS);
        cr_expect(fs[0] == fp[0] && fs[1] == fp[1] && fz[0] == fp[0] && fz[1] == fp[1]);
        /* S_k' = J_y S_k + df/dp_k by hand */
        const double *p = e.p, x = u[0], y = u[1];
        const double Jy[4] = {p[0] - p[1] * y, -p[1] * x, p[3] * y, -p[2] + p[3] * x};
        const double Jk[4][2] = {{x, 0}, {-x * y, 0}, {0, -y}, {0, x * y}};
        for (int k = 0; k < 4; k++)
            for (int i = 0; i < 2; i++) {
                const double *Sk = u + 2 * (1 + k);
                double want = Jy[2 * i] * Sk[0] + Jy[2 * i + 1] * Sk[1] + Jk[k][i];
                cr_expect(close_to(fs[2 * (1 + k) + i], want, 1e-14, 1e-14), "S%d'[%d] %.17g vs %.17g",
                          k, i, fs[2 * (1 + k) + i], want);
            }
        cr_assert_eq(P->jacobian(0.5, u, Jp, dtp, P->params), GSL_SUCCESS);
        cr_assert_eq(Z->jacobian(0.5, u, Jz, dtz, Z->params), GSL_SUCCESS);
        cr_expect(memcmp(Jp, Jz, sizeof Jp) == 0 && memcmp(dtp, dtz, sizeof dtp) == 0);
    }
    nb_gsl_adapter_free(plain);
    nb_gsl_adapter_free(sens);
    nb_gsl_adapter_free(none);
}

/* ---- errors ---- */

static void broken(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *p, nb_var *d, void *env) {
    (void)t, (void)env;
    d[0] = nb_mul(c, p[0], y[0]);
    if (nb_value(y[0]) > 2) d[0] = nb_add(c, d[0], *(const nb_var *)env); /* a stale handle */
}
static void unbalanced(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *p, nb_var *d,
                       void *env) {
    (void)t, (void)env;
    d[0] = nb_mul(c, p[0], y[0]);
    nb_push(c, NB_REVERSE); /* and never popped */
}

Test(ode_sens, errors) {
    gsl_set_error_handler_off();
    nb_gsl_adapter *a = (nb_gsl_adapter *)1;
    const double p[2] = {1, 2};
    cr_expect_eq(nb_gsl_odeiv2_sens_new(&a, NULL, NULL, 1, 1, p, NULL), NB_E_ARG);
    cr_expect_null(a);
    cr_expect_eq(nb_gsl_odeiv2_sens_new(NULL, decay, NULL, 1, 1, p, NULL), NB_E_ARG);
    cr_expect_eq(nb_gsl_odeiv2_sens_new(&a, decay, NULL, 1, 1, NULL, NULL), NB_E_ARG);
    cr_expect_eq(nb_gsl_odeiv2_sens_new(&a, decay, NULL, 0, 1, p, NULL), NB_E_ARG);
    cr_expect_eq(nb_gsl_odeiv2_sens_new(&a, decay, NULL, SIZE_MAX / 2, 1, p, NULL), NB_E_ARG);
    cr_expect_eq(nb_gsl_odeiv2_sens_new(&a, decay, NULL, 1, SIZE_MAX, p, NULL), NB_E_ARG);
    cr_expect_eq(nb_gsl_odeiv2_sens_new(&a, decay, NULL, (size_t)1 << 40, (size_t)1 << 40, p, NULL),
                 NB_E_ARG);
    cr_expect_null(a);
    cr_expect_eq(nb_gsl_odeiv2_sens_params(NULL, p), NB_E_ARG);

    /* parameters of a plain adapter, or NULL ones */
    nb_gsl_adapter *plain = NULL;
    cr_assert_eq(nb_gsl_odeiv2_new(&plain, lotka_env, NULL, 2, NULL), NB_OK);
    cr_expect_eq(nb_gsl_odeiv2_sens_params(plain, p), NB_E_ARG);
    nb_gsl_adapter_free(plain);
    cr_assert_eq(nb_gsl_odeiv2_sens_new(&a, decay, NULL, 1, 2, p, NULL), NB_OK);
    cr_expect_eq(nb_gsl_odeiv2_sens_params(a, NULL), NB_E_ARG);
    gsl_odeiv2_system *S = nb_gsl_odeiv2_system(a);
    double u[3] = {1, 0.5, 0.25}, f[3];
    cr_assert_eq(S->function(0, u, f, S->params), GSL_SUCCESS);
    cr_expect(f[0] == -1 && f[1] == -1 * 0.5 - 1 && f[2] == -0.25, "%g %g %g", f[0], f[1], f[2]);
    nb_gsl_adapter_free(a);

    /* an error inside f: NaN outputs, GSL_EBADFUNC, the status kept */
    nb_ctx *other = new_ctx();
    nb_push(other, NB_REVERSE);
    nb_var stale = nb_rev_input(other, nb_const(1));
    nb_pop(other);
    cr_assert_eq(nb_gsl_odeiv2_sens_new(&a, broken, &stale, 1, 1, p, NULL), NB_OK);
    S = nb_gsl_odeiv2_system(a);
    double w[2] = {1, 0}, g[2], J[4], dt[2];
    cr_expect_eq(S->function(0, w, g, S->params), GSL_SUCCESS);
    cr_expect_eq(nb_gsl_adapter_status(a), NB_OK);
    w[0] = 3;
    cr_expect_eq(S->function(0, w, g, S->params), GSL_EBADFUNC);
    cr_expect(isnan(g[0]) && isnan(g[1]));
    cr_expect_neq(nb_gsl_adapter_status(a), NB_OK);
    nb_gsl_adapter_clear(a);
    cr_expect_eq(S->jacobian(0, w, J, dt, S->params), GSL_EBADFUNC);
    cr_expect(isnan(J[0]) && isnan(J[3]) && isnan(dt[1]));
    cr_expect_neq(nb_gsl_adapter_status(a), NB_OK);
    nb_gsl_adapter_free(a);
    nb_ctx_free(other);

    /* f that leaves a level pushed */
    cr_assert_eq(nb_gsl_odeiv2_sens_new(&a, unbalanced, NULL, 1, 1, p, NULL), NB_OK);
    S = nb_gsl_odeiv2_system(a);
    cr_expect_eq(S->function(0, w, g, S->params), GSL_EBADFUNC);
    cr_expect_eq(nb_gsl_adapter_status(a), NB_E_LEVEL);
    cr_expect(isnan(g[0]) && isnan(g[1]));
    nb_gsl_adapter_clear(a);
    cr_expect_eq(S->jacobian(0, w, J, dt, S->params), GSL_EBADFUNC);
    cr_expect_eq(nb_gsl_adapter_status(a), NB_E_LEVEL);
    nb_gsl_adapter_free(a);

    /* after an error the adapter works again (its context balanced, its error cleared) */
    cr_assert_eq(nb_gsl_odeiv2_sens_new(&a, broken, &stale, 1, 1, p, NULL), NB_OK);
    S = nb_gsl_odeiv2_system(a);
    w[0] = 3;
    cr_expect_eq(S->jacobian(0, w, J, dt, S->params), GSL_EBADFUNC);
    nb_gsl_adapter_clear(a);
    w[0] = 1.5, w[1] = 0.25;
    cr_expect_eq(S->function(0, w, g, S->params), GSL_SUCCESS);
    cr_expect(g[0] == 1.5 && g[1] == 1 * 0.25 + 1.5, "%g %g", g[0], g[1]); /* p0 y, p0 S + y */
    cr_expect_eq(S->jacobian(0, w, J, dt, S->params), GSL_SUCCESS);
    cr_expect(J[0] == 1 && J[1] == 0 && J[2] == 1 && J[3] == 1, "%g %g %g %g", J[0], J[1], J[2], J[3]);
    cr_expect_eq(nb_gsl_adapter_status(a), NB_OK);
    nb_gsl_adapter_free(a);
}

Test(ode_sens, every_allocation_failure_is_a_status) {
    gsl_set_error_handler_off();
    const double p[4] = {1.5, 1, 3, 1};
    int total = -1;
    for (int k = 1; k < 2000; k++) {
        struct failing f = {0, k};
        const nb_ctx_opts o = failing_opts(&f);
        nb_gsl_adapter *a = NULL;
        nb_status s = nb_gsl_odeiv2_sens_new(&a, lotka, NULL, 2, 4, p, &o);
        double u[10] = {1, 1, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}, fu[10], J[100], dt[10];
        J[0] = dt[9] = fu[9] = 0;
        if (s == NB_OK) {
            gsl_odeiv2_system *S = nb_gsl_odeiv2_system(a);
            int rf = S->function(0.3, u, fu, S->params), rj = S->jacobian(0.3, u, J, dt, S->params);
            s = nb_gsl_adapter_status(a);
            if (s == NB_E_NOMEM) {
                /* a failed call: GSL_EBADFUNC and NaN outputs; then, cleared, the same calls work */
                cr_expect(rf == GSL_EBADFUNC || rj == GSL_EBADFUNC, "allocation %d", k);
                if (rf) cr_expect(isnan(fu[0]) && isnan(fu[9]), "allocation %d", k);
                if (rj) cr_expect(isnan(J[0]) && isnan(J[99]) && isnan(dt[9]), "allocation %d", k);
                nb_gsl_adapter_clear(a);
                cr_expect_eq(S->function(0.3, u, fu, S->params), GSL_SUCCESS, "allocation %d", k);
                cr_expect_eq(S->jacobian(0.3, u, J, dt, S->params), GSL_SUCCESS, "allocation %d", k);
                cr_expect(close_to(J[0], p[0] - p[1], 1e-15, 0), "allocation %d: %g", k, J[0]);
                cr_expect_eq(nb_gsl_adapter_status(a), NB_OK, "allocation %d", k);
            }
            nb_gsl_adapter_free(a);
        } else
            cr_expect_null(a);
        if (f.count < k) {
            cr_assert_eq(s, NB_OK);
            cr_expect(close_to(J[0], p[0] - p[1], 1e-15, 0), "%.17g", J[0]); /* dx'/dx at (1, 1) */
            total = k - 1;
            break;
        }
        cr_expect_eq(s, NB_E_NOMEM, "allocation %d", k);
    }
    cr_expect_gt(total, 5, "%d allocations", total);
}
