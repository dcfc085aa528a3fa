/* test_ode_adjoint.c - adjoint sensitivities of ODE solutions (nb_ode_adjoint_*): the gradient of
 * sum_j w_j . y(t_j) with respect to y(t0) and p by one backward integration, against closed
 * forms (exponential decay), against forward sensitivities (nb_gsl_odeiv2_sens_new, an
 * independent method: tangents integrated forward) for Lotka-Volterra with several observation
 * times and a time-dependent forced system, against central differences of re-solved solutions,
 * and for Robertson's stiff kinetics with msbdf both ways; errors, recovery and every allocation
 * failure. */
#include <criterion/criterion.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_odeiv2.h>

#include "nabla/gsl.h"
#include "nabla/nabla.h"
#include "oracle.h"

#define TOL_RK4IMP 3e-7

/* ---- y' = -k y: y(T) = y0 e^(-kT), dy/dy0 = e^(-kT), dy/dk = -T y(T) ---- */

static void decay(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *p, nb_var *d, void *env) {
    (void)t, (void)env;
    d[0] = nb_neg(c, nb_mul(c, p[0], y[0]));
}

/* ---- observation times an ulp apart ---- */

/* y' = -k (1 + (t - t0)) y, t0 in env: y(t0 + s) = y0 e^(-k (s + s^2 / 2)); f's t is the time
 * itself, which env's bounds check */
struct ramp {
    double t0, lo, hi;
};
static void ramp(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *p, nb_var *d, void *env) {
    struct ramp *r = env;
    r->lo = fmin(r->lo, nb_value(t));
    r->hi = fmax(r->hi, nb_value(t));
    nb_var rate = nb_mul(c, p[0], nb_add(c, nb_const(1), nb_sub(c, t, nb_const(r->t0))));
    d[0] = nb_neg(c, nb_mul(c, rate, y[0]));
}

/* Robertson's kinetics observed at log-spaced times out to 1e10 (msbdf): y2 at 1e-2 is 3.645048e-5
 * (bsimp sensitivities at 1e-14, a review). The first short-gap rule crossed every gap below
 * 2048 ulps of the whole span - 1.8e-2 here - by an Euler step, unstable on this stiff system:
 * y2(1e-2) came out -2.3e-5 with NB_OK. */
static void rober(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *k, nb_var *d, void *env);
Test(ode_adjoint, log_spaced_times_on_a_stiff_system) {
    gsl_set_error_handler_off();
    nb_ode_adjoint_opts o;
    nb_ode_adjoint_opts_init(&o);
    o.step = gsl_odeiv2_step_msbdf;
    nb_ode_adjoint *a = NULL;
    cr_assert_eq(nb_ode_adjoint_new(&a, rober, NULL, 3, 3, &o, NULL), NB_OK);
    const double k[3] = {0.04, 3e7, 1e4}, y0[3] = {1, 0, 0};
    const double times[4] = {1e-4, 1e-3, 1e-2, 1e10};
    double Y[12];
    cr_assert_eq(nb_ode_adjoint_solve(a, k, 0, y0, 4, times, Y), NB_OK);
    cr_expect(close_to(Y[2 * 3 + 1], 3.645048e-05, 1e-5, 0), "y2(1e-2) = %.9g", Y[2 * 3 + 1]);
    /* (msbdf's own error at the default epsabs 1e-10 is about 1e-9 there) */
    cr_expect(close_to(Y[1 * 3 + 1], 2.916903e-05, 1e-5, 3e-9), "y2(1e-3) = %.9g", Y[1 * 3 + 1]);
    cr_expect(close_to(Y[0 * 3 + 1], 3.984068e-06, 1e-5, 3e-9), "y2(1e-4) = %.9g", Y[0 * 3 + 1]);
    nb_ode_adjoint_free(a);
}

Test(ode_adjoint, times_an_ulp_apart) {
    gsl_set_error_handler_off();
    const double k = 0.7, y0 = 1.3, w = 1;
    /* a rate that depends on t: f, the backward system and its jacobian (bsimp) get t itself */
    const gsl_odeiv2_step_type *both[] = {NULL, gsl_odeiv2_step_bsimp};
    for (size_t i = 0; i < 2; i++) {
        struct ramp r = {1e3, INFINITY, -INFINITY};
        nb_ode_adjoint_opts o;
        nb_ode_adjoint_opts_init(&o);
        o.step = both[i];
        nb_ode_adjoint *a = NULL;
        cr_assert_eq(nb_ode_adjoint_new(&a, ramp, &r, 1, 1, &o, NULL), NB_OK);
        const double T = r.t0 + 2, s = T - r.t0, q = s + s * s / 2, e = exp(-k * q);
        double Y = 0, gy = 0, gp = 0;
        cr_assert_eq(nb_ode_adjoint_solve(a, &k, r.t0, &y0, 1, &T, &Y), NB_OK);
        cr_assert_eq(nb_ode_adjoint_vjp(a, &w, &gy, &gp), NB_OK);
        cr_expect(close_to(Y, y0 * e, 1e-9, 0), "ramp %zu: y %.17g", i, Y);
        cr_expect(close_to(gy, e, 1e-9, 0), "ramp %zu: dy/dy0 %.17g", i, gy);
        cr_expect(close_to(gp, -q * y0 * e, 1e-9, 0), "ramp %zu: dy/dk %.17g", i, gp);
        /* (bsimp's substeps may round a few ulps past the ends) */
        cr_expect(r.lo >= r.t0 * (1 - 1e-14) && r.hi <= T * (1 + 1e-14),
                  "ramp %zu: f saw t in [%.17g, %.17g]", i, r.lo, r.hi);
        cr_expect(r.hi > r.t0 + 1, "ramp %zu: f saw t up to %.17g", i, r.hi);
        nb_ode_adjoint_free(a);
    }
    /* observation times an ulp apart, and a first one a denormal after t0: each sorted and
     * finite, so a solve (a review: NB_E_SOLVER from rk1imp, rk2imp and rk4imp on a step of an
     * ulp, from msbdf up to 256 ulps, and GSL_ERANGE from bsimp on a denormal step) */
    const gsl_odeiv2_step_type *all[] = {
        gsl_odeiv2_step_rk8pd, gsl_odeiv2_step_rkf45,  gsl_odeiv2_step_rk1imp,
        gsl_odeiv2_step_rk2imp, gsl_odeiv2_step_rk4imp, gsl_odeiv2_step_bsimp,
        gsl_odeiv2_step_msbdf, gsl_odeiv2_step_msadams};
    const double t3 = 0.1 + 0.2; /* 0.30000000000000004 */
    double t256 = 19.3;
    for (int u = 0; u < 200; u++) t256 = nextafter(t256, INFINITY);
    const double sets[4][3] = {{0.3, t3, 1}, {0x1p-1074, 1, 1}, {19.3, t256, 20}, {0.3, 0.3, 1}};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        for (size_t q = 0; q < 4; q++)
            for (size_t back = 0; back < 2; back++) {
                const char *name = all[i]->name;
                nb_ode_adjoint_opts o;
                nb_ode_adjoint_opts_init(&o);
                o.step = all[i];
                o.back_step = back ? gsl_odeiv2_step_rk4imp : NULL;
                nb_ode_adjoint *a = NULL;
                cr_assert_eq(nb_ode_adjoint_new(&a, decay, NULL, 1, 1, &o, NULL), NB_OK);
                const double *times = sets[q], W3[3] = {1, 1, 1};
                const double kq = q == 2 ? 0.05 : k; /* (y of order 1 near t = 20 too) */
                double Y[3], gy = 0, gp = 0, L = 0, dk = 0, dy = 0;
                for (int j = 0; j < 3; j++) {
                    L += y0 * exp(-kq * times[j]);
                    dy += exp(-kq * times[j]);
                    dk -= times[j] * y0 * exp(-kq * times[j]);
                }
                const double tol = all[i] == gsl_odeiv2_step_rk1imp     ? 3e-5
                                   : all[i] == gsl_odeiv2_step_rk2imp ? 1e-6
                                   : all[i] == gsl_odeiv2_step_msbdf  ? 3e-7
                                                                      : 1e-8;
                cr_assert_eq(nb_ode_adjoint_solve(a, &kq, 0, &y0, 3, times, Y), NB_OK,
                             "%s set %zu: gsl %d", name, q, nb_ode_adjoint_gsl_status(a));
                cr_expect(close_to(Y[0] + Y[1] + Y[2], L, tol, 0), "%s set %zu: %.17g", name, q,
                          Y[0] + Y[1] + Y[2]);
                cr_assert_eq(nb_ode_adjoint_vjp(a, W3, &gy, &gp), NB_OK, "%s set %zu back %zu: gsl %d",
                             name, q, back, nb_ode_adjoint_gsl_status(a));
                const double btol = fmax(tol, back ? TOL_RK4IMP : 0);
                cr_expect(close_to(gy, dy, btol, 0), "%s set %zu back %zu: %.17g vs %.17g", name,
                          q, back, gy, dy);
                cr_expect(close_to(gp, dk, btol, 0), "%s set %zu back %zu: %.17g vs %.17g", name,
                          q, back, gp, dk);
                nb_ode_adjoint_free(a);
            }
}

Test(ode_adjoint, decay_against_the_closed_form_with_explicit_and_implicit_steppers) {
    gsl_set_error_handler_off();
    const gsl_odeiv2_step_type *types[] = {NULL, gsl_odeiv2_step_rkf45, gsl_odeiv2_step_msbdf,
                                           gsl_odeiv2_step_bsimp, gsl_odeiv2_step_rk4imp};
    const double k = 0.8, y0 = 1.7, T = 2.5, e = exp(-k * T), w = 1;
    for (size_t s = 0; s < sizeof types / sizeof *types; s++) {
        const char *name = types[s] ? types[s]->name : "default";
        nb_ode_adjoint_opts o;
        nb_ode_adjoint_opts_init(&o);
        o.step = types[s];
        nb_ode_adjoint *a = NULL;
        cr_assert_eq(nb_ode_adjoint_new(&a, decay, NULL, 1, 1, &o, NULL), NB_OK);
        double Y = 0, gy = 0, gp = 0;
        cr_assert_eq(nb_ode_adjoint_solve(a, &k, 0, &y0, 1, &T, &Y), NB_OK, "%s", name);
        /* msbdf's own error at this tolerance is about 1e-8 */
        const double tol = types[s] == gsl_odeiv2_step_msbdf ? 1e-7 : 1e-8;
        cr_expect(close_to(Y, y0 * e, tol, 0), "%s: y %.17g", name, Y);
        cr_assert_eq(nb_ode_adjoint_vjp(a, &w, &gy, &gp), NB_OK, "%s", name);
        cr_expect(close_to(gy, e, tol, 0), "%s: dy/dy0 %.17g vs %.17g", name, gy, e);
        cr_expect(close_to(gp, -T * y0 * e, tol, 0), "%s: dy/dk %.17g vs %.17g", name, gp,
                  -T * y0 * e);
        size_t fs = 0, bs = 0;
        nb_ode_adjoint_steps(a, &fs, &bs);
        cr_expect(fs > 0 && bs > 0, "%s: %zu %zu steps", name, fs, bs);
        nb_ode_adjoint_free(a);
    }
}

/* ---- Lotka-Volterra against forward sensitivities ---- */

static void lotka(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *p, nb_var *d, void *env) {
    (void)t, (void)env;
    const nb_var xy = nb_mul(c, y[0], y[1]);
    d[0] = nb_sub(c, nb_mul(c, p[0], y[0]), nb_mul(c, p[1], xy));
    d[1] = nb_sub(c, nb_mul(c, p[2], xy), nb_mul(c, p[3], y[1]));
}

/* The same f with two more parameters that f ignores: forward sensitivities with respect to them,
 * started at e_0 and e_1, are those with respect to y(t0). */
static void lotka6(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *p, nb_var *d, void *env) {
    lotka(c, t, y, p, d, env);
}

/* sum_j W_j . y(t_j) and its gradient (y0 then p, np + dim) by forward sensitivities of f
 * (extended by dim ignored parameters as lotka6) at tolerance 1e-12 with rk8pd. */
static void by_forward_env(nb_odepfn f6, void *env, size_t dim, size_t np, const double *p,
                           double t0, const double *y0, size_t m, const double *times,
                           const double *W, double *g) {
    const size_t n6 = np + dim, N = dim * (1 + n6);
    double p6[16] = {0}, u[256] = {0};
    memcpy(p6, p, np * sizeof *p);
    memcpy(u, y0, dim * sizeof *y0);
    for (size_t i = 0; i < dim; i++) u[dim * (1 + np + i) + i] = 1; /* dy0/dy0_i = e_i */
    nb_gsl_adapter *a = NULL;
    cr_assert_eq(nb_gsl_odeiv2_sens_new(&a, f6, env, dim, n6, p6, NULL), NB_OK);
    gsl_odeiv2_driver *d = gsl_odeiv2_driver_alloc_y_new(nb_gsl_odeiv2_system(a),
                                                         gsl_odeiv2_step_rk8pd, 1e-6, 1e-13, 1e-13);
    double t = t0;
    for (size_t k = 0; k < n6; k++) g[k] = 0;
    for (size_t j = 0; j < m; j++) {
        cr_assert_eq(gsl_odeiv2_driver_apply(d, &t, times[j], u), GSL_SUCCESS);
        for (size_t k = 0; k < n6; k++)
            for (size_t i = 0; i < dim; i++) g[k] += W[j * dim + i] * u[dim * (1 + k) + i];
    }
    (void)N;
    gsl_odeiv2_driver_free(d);
    nb_gsl_adapter_free(a);
}
static void by_forward(nb_odepfn f6, size_t dim, size_t np, const double *p, double t0,
                       const double *y0, size_t m, const double *times, const double *W,
                       double *g) {
    by_forward_env(f6, NULL, dim, np, p, t0, y0, m, times, W, g);
}

Test(ode_adjoint, lotka_volterra_against_forward_sensitivities_at_several_times) {
    gsl_set_error_handler_off();
    const double p[4] = {1.5, 1, 0.75, 3}, y0[2] = {1, 1.2};
    const double times[4] = {0.5, 3, 3, 7.25}; /* a time twice */
    const double W[8] = {0.3, -1.2, 0.7, 0.2, -0.4, 1.1, 0.9, -0.6};
    double ref[6];
    by_forward(lotka6, 2, 4, p, 0, y0, 4, times, W, ref);
    const gsl_odeiv2_step_type *types[] = {gsl_odeiv2_step_rk8pd, gsl_odeiv2_step_rkf45,
                                           gsl_odeiv2_step_bsimp, gsl_odeiv2_step_msbdf};
    for (size_t st = 0; st < sizeof types / sizeof *types; st++) {
        const char *name = types[st]->name;
        nb_ode_adjoint_opts o;
        nb_ode_adjoint_opts_init(&o);
        o.step = types[st];
        nb_ode_adjoint *a = NULL;
        cr_assert_eq(nb_ode_adjoint_new(&a, lotka, NULL, 2, 4, &o, NULL), NB_OK);
        double Y[8], gy[2], gp[4];
        cr_assert_eq(nb_ode_adjoint_solve(a, p, 0, y0, 4, times, Y), NB_OK, "%s", name);
        cr_expect(Y[2] == Y[4] && Y[3] == Y[5], "the repeated time");
        cr_assert_eq(nb_ode_adjoint_vjp(a, W, gy, gp), NB_OK, "%s", name);
        /* msbdf's own error at 1e-10 is about 1e-7 of y here */
        const double tol = types[st] == gsl_odeiv2_step_msbdf ? 1e-6 : 1e-8;
        for (int k = 0; k < 4; k++)
            cr_expect(close_to(gp[k], ref[k], tol, 1e-10), "%s dL/dp%d: %.15g vs %.15g", name, k,
                      gp[k], ref[k]);
        for (int i = 0; i < 2; i++)
            cr_expect(close_to(gy[i], ref[4 + i], tol, 1e-10), "%s dL/dy0_%d: %.15g vs %.15g",
                      name, i, gy[i], ref[4 + i]);
        cr_expect(nb_ode_adjoint_dense(a) > 0);
        /* another seed over the same trajectory: linear in W (to the backward integration's
         * tolerance: its steps depend on the seed) */
        double W2[8], gy2[2], gp2[4];
        for (int i = 0; i < 8; i++) W2[i] = 2 * W[i];
        cr_assert_eq(nb_ode_adjoint_vjp(a, W2, gy2, gp2), NB_OK);
        for (int k = 0; k < 4; k++)
            cr_expect(close_to(gp2[k], 2 * gp[k], 1e-8, 1e-12), "2W: %.15g vs %.15g", gp2[k],
                      2 * gp[k]);
        nb_ode_adjoint_free(a);
    }
}

/* ---- checkpoints every few steps: the same gradient with bounded memory ---- */

Test(ode_adjoint, a_stride_keeps_fewer_states_and_the_same_gradient) {
    gsl_set_error_handler_off();
    const double p[4] = {1.5, 1, 0.75, 3}, y0[2] = {1, 1.2};
    const double times[4] = {2.5, 11, 11, 30}; /* a time twice */
    const double W[8] = {0.3, -1.2, 0.7, 0.2, -0.4, 1.1, 0.9, -0.6};
    double ref[6];
    by_forward(lotka6, 2, 4, p, 0, y0, 4, times, W, ref);
    const gsl_odeiv2_step_type *types[] = {gsl_odeiv2_step_rk8pd, gsl_odeiv2_step_rkf45,
                                           gsl_odeiv2_step_msbdf, gsl_odeiv2_step_bsimp};
    const size_t strides[] = {1, 2, 7, 16, 1000000};
    for (size_t st = 0; st < sizeof types / sizeof *types; st++) {
        const char *name = types[st]->name;
        const int msbdf = types[st] == gsl_odeiv2_step_msbdf;
        const int bsimp = types[st] == gsl_odeiv2_step_bsimp;
        double g1[6] = {0};
        size_t steps1 = 0;
        for (size_t k = 0; k < sizeof strides / sizeof *strides; k++) {
            const size_t s = strides[k];
            nb_ode_adjoint_opts o;
            nb_ode_adjoint_opts_init(&o);
            o.step = types[st];
            o.stride = s;
            o.epsabs = o.epsrel = o.back_epsabs = o.back_epsrel = 1e-12;
            nb_ode_adjoint *a = NULL;
            cr_assert_eq(nb_ode_adjoint_new(&a, lotka, NULL, 2, 4, &o, NULL), NB_OK);
            double Y[8], g[6];
            cr_assert_eq(nb_ode_adjoint_solve(a, p, 0, y0, 4, times, Y), NB_OK, "%s", name);
            size_t fs = 0;
            nb_ode_adjoint_steps(a, &fs, NULL);
            const size_t S = nb_ode_adjoint_points(a);
            /* the start, one every s steps, and the end */
            cr_expect_eq(S, 1 + fs / s + (fs % s != 0), "%s stride %zu: %zu points, %zu steps",
                         name, s, S, fs);
            cr_expect_eq(nb_ode_adjoint_held(a), S, "%s stride %zu: nothing more held yet", name,
                         s);
            cr_assert_eq(nb_ode_adjoint_vjp(a, W, g, g + 2), NB_OK, "%s stride %zu", name, s);
            const size_t held = nb_ode_adjoint_held(a);
            if (s == 1) {
                memcpy(g1, g, sizeof g);
                steps1 = fs;
                cr_expect(fs > 60, "%s: %zu steps", name, fs); /* enough to be thinned */
                cr_expect_eq(held, S);
            } else {
                cr_expect_eq(fs, steps1, "%s: the solve does not depend on the stride", name);
                /* the stretches a backward step spans, s + 1 states each for a stepper that
                 * retakes its steps: two for the explicit ones, whose backward steps are about
                 * as long as their forward ones (bsimp's are longer, msbdf restarts at order 1
                 * and may take more steps) */
                if (!msbdf && !bsimp)
                    cr_expect_leq(held, S + 2 * ((s < fs ? s : fs) + 1), "%s stride %zu: %zu held",
                                  name, s, held);
                /* each stretch integrated again once at most (with one held, bsimp's substeps
                 * across checkpoints made it up to 20 times) */
                const size_t re = nb_ode_adjoint_retakes(a);
                cr_expect(re >= 1 && re <= S - 1, "%s stride %zu: %zu retakes of %zu stretches",
                          name, s, re, S - 1);
            }
            /* msbdf's own error at 1e-12 over this span is about 1e-6 */
            const double tol = msbdf ? 2e-6 : bsimp ? 2e-9 : 3e-8;
            for (int i = 0; i < 6; i++) {
                const double want = ref[(i + 4) % 6]; /* ref is p then y0 */
                cr_expect(close_to(g[i], want, tol, 0), "%s stride %zu g%d: %.15g vs %.15g",
                          name, s, i, g[i], want);
                /* against every step kept: an explicit stepper retakes the very steps of the
                 * solve, so y(t) and the gradient are the same numbers; an implicit one starts
                 * afresh (msbdf at order 1, bsimp without its order history) at the same
                 * tolerances */
                if (msbdf || bsimp)
                    cr_expect(close_to(g[i], g1[i], msbdf ? 1e-7 : 1e-9, 0),
                              "%s stride %zu g%d: %.17g vs stride 1 %.17g", name, s, i, g[i],
                              g1[i]);
                else
                    cr_expect(g[i] == g1[i], "%s stride %zu g%d: %.17g vs stride 1 %.17g", name,
                              s, i, g[i], g1[i]);
            }
            nb_ode_adjoint_free(a);
        }
    }
}

Test(ode_adjoint, a_stride_with_long_backward_steps_integrates_each_stretch_once) {
    /* rk4 forward (1092 steps), bsimp backward: each backward step spans many stretches and
     * bsimp's substeps sweep it once per sequence; with one stretch held the vjp integrated 12
     * forward solves' worth again at stride 7 (a review), with the stretches of the step in
     * progress kept, one */
    gsl_set_error_handler_off();
    const double p[4] = {1.5, 1, 3, 1}, y0[2] = {1, 1}, T[3] = {5, 10, 30};
    const double W[6] = {1, 0, 0, 1, 1, 1};
    const size_t strides[] = {1, 7, 30, 100};
    double g1[6] = {0};
    for (size_t k = 0; k < sizeof strides / sizeof *strides; k++) {
        nb_ode_adjoint_opts o;
        nb_ode_adjoint_opts_init(&o);
        o.step = gsl_odeiv2_step_rk4;
        o.back_step = gsl_odeiv2_step_bsimp;
        o.stride = strides[k];
        nb_ode_adjoint *a = NULL;
        cr_assert_eq(nb_ode_adjoint_new(&a, lotka, NULL, 2, 4, &o, NULL), NB_OK);
        double g[6];
        cr_assert_eq(nb_ode_adjoint_solve(a, p, 0, y0, 3, T, NULL), NB_OK);
        const size_t S = nb_ode_adjoint_points(a);
        cr_expect_eq(nb_ode_adjoint_vjp(a, NULL, g, g + 2), NB_E_ARG); /* counts nothing */
        cr_expect_eq(nb_ode_adjoint_retakes(a), 0);
        cr_expect_eq(nb_ode_adjoint_dense(a), 0);
        for (int rep = 0; rep < 2; rep++) { /* a second vjp over the same solve alike */
            cr_assert_eq(nb_ode_adjoint_vjp(a, W, g, g + 2), NB_OK);
            const size_t re = nb_ode_adjoint_retakes(a);
            if (strides[k] == 1) {
                cr_expect_eq(re, 0);
                memcpy(g1, g, sizeof g);
            } else {
                cr_expect(re >= 1 && re <= S - 1, "stride %zu: %zu retakes of %zu stretches",
                          strides[k], re, S - 1);
                for (int i = 0; i < 6; i++) /* rk4 retakes the very steps */
                    cr_expect(g[i] == g1[i], "stride %zu g%d: %.17g vs %.17g", strides[k], i,
                              g[i], g1[i]);
            }
        }
        nb_ode_adjoint_free(a);
    }
}

Test(ode_adjoint, a_stride_retakes_rejected_first_steps_as_the_solve_took_them) {
    /* h0 = 1 is rejected and shrunk at the start: a retake aimed at the next checkpoint instead
     * of the solve's target (the next observation time) took other steps there, and the
     * gradient of every stride differed from stride 1 in the last bits (a review) */
    gsl_set_error_handler_off();
    const double p[4] = {1.5, 1, 0.75, 3}, y0[2] = {1, 1.2}, times[3] = {2.5, 11, 30};
    const double W[6] = {0.3, -1.2, 0.7, 0.2, -0.4, 1.1};
    const gsl_odeiv2_step_type *types[] = {gsl_odeiv2_step_rk8pd, gsl_odeiv2_step_rkf45,
                                           gsl_odeiv2_step_rk4, gsl_odeiv2_step_rkck};
    for (size_t st = 0; st < sizeof types / sizeof *types; st++) {
        double g1[6];
        for (size_t stride = 1; stride <= 5; stride++) {
            nb_ode_adjoint_opts o;
            nb_ode_adjoint_opts_init(&o);
            o.step = o.back_step = types[st];
            o.h0 = 1;
            o.stride = stride;
            nb_ode_adjoint *a = NULL;
            cr_assert_eq(nb_ode_adjoint_new(&a, lotka, NULL, 2, 4, &o, NULL), NB_OK);
            double g[6];
            cr_assert_eq(nb_ode_adjoint_solve(a, p, 0, y0, 3, times, NULL), NB_OK, "%s",
                         types[st]->name);
            cr_assert_eq(nb_ode_adjoint_vjp(a, W, g, g + 2), NB_OK, "%s", types[st]->name);
            if (stride == 1) memcpy(g1, g, sizeof g);
            for (int i = 0; stride > 1 && i < 6; i++)
                cr_expect(g[i] == g1[i], "%s stride %zu g%d: %.17g vs %.17g", types[st]->name,
                          stride, i, g[i], g1[i]);
            nb_ode_adjoint_free(a);
        }
    }
}

/* ---- a time-dependent, forced system: f_t matters to the implicit backward steppers ---- */

static void forced(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *p, nb_var *d, void *env) {
    (void)env;
    d[0] = nb_mul(c, nb_mul(c, p[0], y[1]), nb_sin(c, t));
    d[1] = nb_add(c, nb_neg(c, nb_mul(c, p[1], nb_powi(c, y[0], 3))),
                  nb_mul(c, nb_exp(c, nb_mul(c, p[2], y[1])), nb_cos(c, nb_mul(c, p[0], t))));
}
static void forced5(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *p, nb_var *d, void *env) {
    forced(c, t, y, p, d, env);
}

Test(ode_adjoint, forced_system_with_implicit_backward_steppers) {
    gsl_set_error_handler_off();
    const double p[3] = {1.3, 0.7, -0.4}, y0[2] = {0.2, -0.1}, times[2] = {1, 2.5};
    const double W[4] = {1, 0.5, -0.25, 2};
    double ref[5];
    by_forward(forced5, 2, 3, p, 0, y0, 2, times, W, ref);
    const gsl_odeiv2_step_type *back[] = {gsl_odeiv2_step_rk8pd, gsl_odeiv2_step_msbdf,
                                          gsl_odeiv2_step_bsimp, gsl_odeiv2_step_rk4imp};
    for (size_t b = 0; b < sizeof back / sizeof *back; b++) {
        nb_ode_adjoint_opts o;
        nb_ode_adjoint_opts_init(&o);
        o.back_step = back[b];
        nb_ode_adjoint *a = NULL;
        cr_assert_eq(nb_ode_adjoint_new(&a, forced, NULL, 2, 3, &o, NULL), NB_OK);
        double gy[2], gp[3];
        cr_assert_eq(nb_ode_adjoint_solve(a, p, 0, y0, 2, times, NULL), NB_OK);
        cr_assert_eq(nb_ode_adjoint_vjp(a, W, gy, gp), NB_OK, "%s", back[b]->name);
        for (int k = 0; k < 3; k++)
            cr_expect(close_to(gp[k], ref[k], 1e-7, 1e-10), "%s: dL/dp%d %.15g vs %.15g",
                      back[b]->name, k, gp[k], ref[k]);
        for (int i = 0; i < 2; i++)
            cr_expect(close_to(gy[i], ref[3 + i], 1e-7, 1e-10), "%s: dL/dy0_%d %.15g vs %.15g",
                      back[b]->name, i, gy[i], ref[3 + i]);
        nb_ode_adjoint_free(a);
    }
}

/* ---- central differences of re-solved solutions (no nabla in the oracle's solve) ---- */

struct lv_loss {
    double p[4];
    int k;
};
static int lv_plain(double t, const double y[], double d[], void *q) {
    (void)t;
    const double *p = q;
    d[0] = p[0] * y[0] - p[1] * y[0] * y[1];
    d[1] = p[2] * y[0] * y[1] - p[3] * y[1];
    return GSL_SUCCESS;
}
/* L = y_0(2) + 3 y_1(5) as a function of p_k */
static double lv_loss_of(double pk, void *q) {
    struct lv_loss *s = q;
    double p[4], y[2] = {1, 1.2}, t = 0;
    memcpy(p, s->p, sizeof p);
    p[s->k] = pk;
    gsl_odeiv2_system sys = {lv_plain, NULL, 2, p};
    gsl_odeiv2_driver *d = gsl_odeiv2_driver_alloc_y_new(&sys, gsl_odeiv2_step_rk8pd, 1e-6, 1e-13, 1e-13);
    cr_assert_eq(gsl_odeiv2_driver_apply(d, &t, 2, y), GSL_SUCCESS);
    double L = y[0];
    cr_assert_eq(gsl_odeiv2_driver_apply(d, &t, 5, y), GSL_SUCCESS);
    gsl_odeiv2_driver_free(d);
    return L + 3 * y[1];
}

Test(ode_adjoint, lotka_volterra_against_central_differences) {
    gsl_set_error_handler_off();
    const double p[4] = {1.5, 1, 0.75, 3}, y0[2] = {1, 1.2}, times[2] = {2, 5};
    const double W[4] = {1, 0, 0, 3};
    nb_ode_adjoint *a = NULL;
    cr_assert_eq(nb_ode_adjoint_new(&a, lotka, NULL, 2, 4, NULL, NULL), NB_OK);
    double gp[4];
    cr_assert_eq(nb_ode_adjoint_solve(a, p, 0, y0, 2, times, NULL), NB_OK);
    cr_assert_eq(nb_ode_adjoint_vjp(a, W, NULL, gp), NB_OK);
    for (int k = 0; k < 4; k++) {
        struct lv_loss s = {{p[0], p[1], p[2], p[3]}, k};
        double err, fd = fd_central(lv_loss_of, &s, p[k], 1e-3, &err);
        cr_expect(close_to(gp[k], fd, 1e-7, 1e-9), "dL/dp%d: %.12g vs %.12g (+- %.2g)", k, gp[k],
                  fd, err);
    }
    nb_ode_adjoint_free(a);
}

/* ---- Robertson's stiff kinetics, msbdf forward and backward ---- */

static void rober(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *k, nb_var *d, void *env) {
    (void)t, (void)env;
    const nb_var r1 = nb_mul(c, k[0], y[0]);
    const nb_var r2 = nb_mul(c, k[1], nb_mul(c, y[1], y[1]));
    const nb_var r3 = nb_mul(c, k[2], nb_mul(c, y[1], y[2]));
    d[0] = nb_add(c, nb_neg(c, r1), r3);
    d[1] = nb_sub(c, nb_sub(c, r1, r2), r3);
    d[2] = r2;
}

Test(ode_adjoint, robertson_stiff_with_msbdf_against_forward_sensitivities) {
    gsl_set_error_handler_off();
    const double k[3] = {0.04, 3e7, 1e4}, y0[3] = {1, 0, 0}, times[2] = {40, 4e5};
    const double W[6] = {1, 0, 0, 0, 1e4, 1};
    /* the reference: forward sensitivities, msbdf at tighter tolerances */
    nb_gsl_adapter *f = NULL;
    cr_assert_eq(nb_gsl_odeiv2_sens_new(&f, rober, NULL, 3, 3, k, NULL), NB_OK);
    gsl_odeiv2_driver *d = gsl_odeiv2_driver_alloc_y_new(nb_gsl_odeiv2_system(f),
                                                         gsl_odeiv2_step_msbdf, 1e-8, 1e-14, 1e-11);
    double u[12] = {1, 0, 0}, t = 0, ref[3] = {0};
    for (int j = 0; j < 2; j++) {
        cr_assert_eq(gsl_odeiv2_driver_apply(d, &t, times[j], u), GSL_SUCCESS);
        for (int m = 0; m < 3; m++)
            for (int i = 0; i < 3; i++) ref[m] += W[3 * j + i] * u[3 * (1 + m) + i];
    }
    gsl_odeiv2_driver_free(d);
    nb_gsl_adapter_free(f);
    /* msbdf and bsimp forward (y(t) for the backward pass from bsimp after either), keeping
     * every step and every 30th */
    const gsl_odeiv2_step_type *fwd[] = {gsl_odeiv2_step_msbdf, gsl_odeiv2_step_bsimp};
    size_t held_all = 0;
    for (int run = 0; run < 4; run++) {
        const int order = run % 2;
        nb_ode_adjoint_opts o;
        nb_ode_adjoint_opts_init(&o);
        o.step = fwd[order];
        o.stride = run < 2 ? 1 : 30;
        o.back_step = gsl_odeiv2_step_msbdf;
        o.epsabs = o.back_epsabs = 1e-12;
        o.epsrel = o.back_epsrel = 1e-10;
        nb_ode_adjoint *a = NULL;
        cr_assert_eq(nb_ode_adjoint_new(&a, rober, NULL, 3, 3, &o, NULL), NB_OK);
        double Y[6], gy[3], gk[3];
        cr_assert_eq(nb_ode_adjoint_solve(a, k, 0, y0, 2, times, Y), NB_OK);
        cr_expect(close_to(Y[0], 0.7158270687193, 1e-8, 0), "%.13g", Y[0]); /* Hairer & Wanner */
        cr_assert_eq(nb_ode_adjoint_vjp(a, W, gy, gk), NB_OK, "%s", fwd[order]->name);
        size_t fs = 0;
        nb_ode_adjoint_steps(a, &fs, NULL);
        const size_t S = nb_ode_adjoint_points(a), held = nb_ode_adjoint_held(a);
        cr_expect_eq(S, 1 + (fs + o.stride - 1) / o.stride, "run %d: %zu points", run, S);
        if (run == 0) held_all = held; /* msbdf: 1222 */
        if (run == 2) /* 42 checkpoints and the stretches in progress, retaken from order 1 */
            cr_expect(held < held_all / 4, "%zu states held, %zu with every step", held,
                      held_all);
        const double tol = 3e-7;
        for (int m = 0; m < 3; m++)
            cr_expect(close_to(gk[m], ref[m], tol, 0), "run %d dL/dk%d: %.12g vs %.12g", run,
                      m, gk[m], ref[m]);
        /* mass is conserved: d(y0 + y1 + y2)/dy0(0) at each time is 1, so with W = 1 at the
         * last time only, every component of dL/dy(0) is 1 */
        const double ones[6] = {0, 0, 0, 1, 1, 1};
        cr_assert_eq(nb_ode_adjoint_vjp(a, ones, gy, gk), NB_OK);
        for (int i = 0; i < 3; i++)
            cr_expect(close_to(gy[i], 1, 1e-7, 0), "run %d: dsum/dy0_%d %.15g", run, i, gy[i]);
        for (int m = 0; m < 3; m++)
            cr_expect(fabs(gk[m]) < 1e-7 * fabs(ref[m]) + 1e-12, "run %d: dsum/dk%d %.3g",
                      run, m, gk[m]);
        nb_ode_adjoint_free(a);
    }
}

/* ---- an oscillation after implicit forward steppers: their long steps need the check ---- */

static void spring(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *p, nb_var *d, void *env) {
    (void)t, (void)env;
    d[0] = y[1];
    d[1] = nb_neg(c, nb_mul(c, nb_mul(c, p[0], p[0]), y[0]));
}

Test(ode_adjoint, oscillator_after_implicit_forward_steppers) {
    gsl_set_error_handler_off();
    /* y0 = cos(w t): d y0(T) / dw = -T sin(w T) */
    const double w = 10, y0[2] = {1, 0}, T = 3, W[2] = {1, 0}, want = -T * sin(w * T);
    const gsl_odeiv2_step_type *types[] = {gsl_odeiv2_step_bsimp, gsl_odeiv2_step_msbdf,
                                           gsl_odeiv2_step_rk4imp, gsl_odeiv2_step_rk8pd};
    for (size_t k = 0; k < sizeof types / sizeof *types; k++) {
        nb_ode_adjoint_opts o;
        nb_ode_adjoint_opts_init(&o);
        o.step = types[k];
        o.back_step = gsl_odeiv2_step_rk8pd;
        nb_ode_adjoint *a = NULL;
        cr_assert_eq(nb_ode_adjoint_new(&a, spring, NULL, 2, 1, &o, NULL), NB_OK);
        double gp = 0;
        cr_assert_eq(nb_ode_adjoint_solve(a, &w, 0, y0, 1, &T, NULL), NB_OK, "%s", types[k]->name);
        cr_assert_eq(nb_ode_adjoint_vjp(a, W, NULL, &gp), NB_OK, "%s", types[k]->name);
        /* (msbdf's own error at 1e-10 is about 1e-8 of y here) */
        cr_expect(close_to(gp, want, 1e-6, 0), "%s: %.12g vs %.12g", types[k]->name, gp, want);
        size_t fs = 0, bs = 0;
        nb_ode_adjoint_steps(a, &fs, &bs);
        cr_expect_eq(nb_ode_adjoint_points(a), fs + 1, "%s", types[k]->name);
        cr_expect(nb_ode_adjoint_dense(a) >= bs, "%s: %zu for %zu backward steps",
                  types[k]->name, nb_ode_adjoint_dense(a), bs);
        nb_ode_adjoint_free(a);
    }
}

/* rk4imp (a Gauss method: A-stable, not L-stable) leaves Robertson's stiff components undamped:
 * its points sit a few hundred tolerances off the slow manifold. Interpolating them gave NaN
 * with NB_OK, or gradients 1e-3 to 0.15 off; integrating y(t) again from them by bsimp, which
 * relaxes onto the manifold, gives the gradient to what rk4imp's trajectory allows */
Test(ode_adjoint, robertson_after_rk4imp) {
    gsl_set_error_handler_off();
    const double k[3] = {0.04, 3e7, 1e4}, y0[3] = {1, 0, 0}, times[2] = {40, 4e5};
    const double W[6] = {1, 0, 0, 0, 1e4, 1};
    const double ref[3] = {-4.01580865711, -2.13721212209e-09, 1.28041040185e-05}; /* above */
    nb_ode_adjoint_opts o;
    nb_ode_adjoint_opts_init(&o);
    o.step = gsl_odeiv2_step_rk4imp;
    o.back_step = gsl_odeiv2_step_msbdf;
    o.epsabs = o.back_epsabs = 1e-12;
    o.epsrel = o.back_epsrel = 1e-10;
    nb_ode_adjoint *a = NULL;
    cr_assert_eq(nb_ode_adjoint_new(&a, rober, NULL, 3, 3, &o, NULL), NB_OK);
    double gk[3];
    cr_assert_eq(nb_ode_adjoint_solve(a, k, 0, y0, 2, times, NULL), NB_OK);
    cr_assert_eq(nb_ode_adjoint_vjp(a, W, NULL, gk), NB_OK);
    for (int m = 0; m < 3; m++)
        cr_expect(close_to(gk[m], ref[m], TOL_RK4IMP, 0), "dL/dk%d: %.12g vs %.12g", m, gk[m],
                  ref[m]);
    nb_ode_adjoint_free(a);
}

/* ---- steep forcing after an explicit stepper (a review's case: the Taylor series did not
 * converge over the steps after the front, and interpolating them was 6e-4 off, or 19 times
 * too large with rk4) ---- */

static void front(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *p, nb_var *d, void *env) {
    const double K = *(const double *)env;
    d[0] = nb_add(c, nb_mul(c, p[0], nb_tanh(c, nb_mul(c, nb_const(K), nb_sub(c, t, nb_const(5))))),
                  nb_mul(c, p[1], y[0]));
    d[1] = nb_mul(c, y[0], y[0]);
}
static void front4(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *p, nb_var *d, void *env) {
    front(c, t, y, p, d, env);
}

Test(ode_adjoint, steep_forcing_after_explicit_steppers) {
    gsl_set_error_handler_off();
    static double K = 3200;
    const double p[2] = {0.7, -0.3}, y0[2] = {0.1, 0}, T = 10, W[2] = {0, 1};
    double ref[4];
    by_forward_env(front4, &K, 2, 2, p, 0, y0, 1, &T, W, ref);
    const gsl_odeiv2_step_type *types[] = {gsl_odeiv2_step_rk8pd, gsl_odeiv2_step_rk4};
    for (size_t st = 0; st < 2; st++) {
        nb_ode_adjoint_opts o;
        nb_ode_adjoint_opts_init(&o);
        o.step = types[st];
        nb_ode_adjoint *a = NULL;
        cr_assert_eq(nb_ode_adjoint_new(&a, front, &K, 2, 2, &o, NULL), NB_OK);
        double gy[2], gp[2];
        cr_assert_eq(nb_ode_adjoint_solve(a, p, 0, y0, 1, &T, NULL), NB_OK, "%s", types[st]->name);
        cr_assert_eq(nb_ode_adjoint_vjp(a, W, gy, gp), NB_OK, "%s", types[st]->name);
        for (int m = 0; m < 2; m++)
            cr_expect(close_to(gp[m], ref[m], 1e-6, 1e-12), "%s dL/dp%d: %.12g vs %.12g",
                      types[st]->name, m, gp[m], ref[m]);
        nb_ode_adjoint_free(a);
    }
}

/* ---- Prothero-Robinson, y' = -L (y - sin t) + cos t, L = 1e8: very stiff (a review's case:
 * checking interpolants there took 131 764 points and 3.8 s for 1 434 steps) ---- */

static void prothero(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *p, nb_var *d,
                     void *env) {
    (void)env;
    d[0] = nb_add(c, nb_neg(c, nb_mul(c, p[0], nb_sub(c, y[0], nb_sin(c, t)))), nb_cos(c, t));
}

Test(ode_adjoint, prothero_robinson_stiff) {
    gsl_set_error_handler_off();
    /* y(t) = sin t + y0 e^(-L t): observed at t1 = 5e-8 (inside the transient, L t1 = 5) and at
     * T = 10, with W = (1, 1): dL/dy0 = e^(-5) + e^(-L T), dL/dL = -t1 y0 e^(-5) - T y0 e^(-L T);
     * e^(-L T) underflows to 0 */
    const double L = 1e8, y0 = 1e-3, times[2] = {5e-8, 10}, W[2] = {1, 1};
    const double e5 = exp(-5.0), want_y0 = e5, want_L = -times[0] * y0 * e5;
    const gsl_odeiv2_step_type *types[] = {gsl_odeiv2_step_msbdf, gsl_odeiv2_step_bsimp};
    for (size_t st = 0; st < 2; st++) {
        nb_ode_adjoint_opts o;
        nb_ode_adjoint_opts_init(&o);
        o.step = o.back_step = types[st];
        o.h0 = 1e-12;
        nb_ode_adjoint *a = NULL;
        cr_assert_eq(nb_ode_adjoint_new(&a, prothero, NULL, 1, 1, &o, NULL), NB_OK);
        double Y[2], gy, gp;
        cr_assert_eq(nb_ode_adjoint_solve(a, &L, 0, &y0, 2, times, Y), NB_OK, "%s",
                     types[st]->name);
        /* (inside the transient the integrations are good to about their absolute tolerance) */
        cr_expect(close_to(Y[0], sin(times[0]) + y0 * e5, 0, 1e-9), "%s: %.15g", types[st]->name,
                  Y[0]);
        cr_expect(close_to(Y[1], sin(times[1]), 1e-8, 0), "%s: %.15g", types[st]->name, Y[1]);
        cr_assert_eq(nb_ode_adjoint_vjp(a, W, &gy, &gp), NB_OK, "%s", types[st]->name);
        cr_expect(close_to(gy, want_y0, 1e-6, 0), "%s: dL/dy0 %.12g vs %.12g", types[st]->name, gy,
                  want_y0);
        cr_expect(close_to(gp, want_L, 1e-4, 0), "%s: dL/dL %.12g vs %.12g", types[st]->name, gp,
                  want_L);
        nb_ode_adjoint_free(a);
    }
}

/* ---- edge cases ---- */

Test(ode_adjoint, times_at_t0_no_parameters_and_no_times) {
    gsl_set_error_handler_off();
    static const double k = 0.5;
    nb_ode_adjoint *a = NULL;
    cr_assert_eq(nb_ode_adjoint_new(&a, decay, NULL, 1, 1, NULL, NULL), NB_OK);
    const double y0 = 2, times[3] = {1, 1, 3}, W[3] = {0.5, 0.25, 1};
    double gy = 0, gp = 0;
    /* an observation at t0 is y0 itself: its weight goes straight into dL/dy0 */
    const double at0[2] = {1, 1}, W0[2] = {2, 3};
    double Y0[2];
    cr_assert_eq(nb_ode_adjoint_solve(a, &k, 1, &y0, 2, at0, Y0), NB_OK);
    cr_expect(Y0[0] == 2 && Y0[1] == 2);
    cr_assert_eq(nb_ode_adjoint_vjp(a, W0, &gy, &gp), NB_OK);
    cr_expect(gy == 5 && gp == 0, "%g %g", gy, gp);
    /* no times: the gradient is 0 */
    cr_assert_eq(nb_ode_adjoint_solve(a, &k, 0, &y0, 0, NULL, NULL), NB_OK);
    cr_assert_eq(nb_ode_adjoint_vjp(a, NULL, &gy, &gp), NB_OK);
    cr_expect(gy == 0 && gp == 0, "%g %g", gy, gp);
    /* from t0 = 1: L = 0.75 y(1) + y(3) = 0.75 y0 + y0 e^(-2k) */
    cr_assert_eq(nb_ode_adjoint_solve(a, &k, 1, &y0, 3, times, NULL), NB_OK);
    cr_assert_eq(nb_ode_adjoint_vjp(a, W, &gy, &gp), NB_OK);
    const double e = exp(-2 * k);
    cr_expect(close_to(gy, 0.75 + e, 1e-9, 0), "%.17g", gy);
    cr_expect(close_to(gp, -2 * y0 * e, 1e-9, 0), "%.17g", gp);
    nb_ode_adjoint_free(a);
}

struct lv_env {
    double p[4];
};
static void lotka_p0(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *p, nb_var *d, void *env) {
    cr_assert_null(p);
    const struct lv_env *e = env;
    const nb_var q[4] = {nb_const(e->p[0]), nb_const(e->p[1]), nb_const(e->p[2]), nb_const(e->p[3])};
    lotka(c, t, y, q, d, NULL);
}

Test(ode_adjoint, no_parameters_gives_the_gradient_with_respect_to_y0) {
    gsl_set_error_handler_off();
    struct lv_env e = {{1.5, 1, 0.75, 3}};
    const double y0[2] = {1, 1.2}, times[1] = {4}, W[2] = {1, -2};
    double ref[6];
    by_forward(lotka6, 2, 4, e.p, 0, y0, 1, times, W, ref);
    nb_ode_adjoint *a = NULL;
    cr_assert_eq(nb_ode_adjoint_new(&a, lotka_p0, &e, 2, 0, NULL, NULL), NB_OK);
    double gy[2];
    cr_assert_eq(nb_ode_adjoint_solve(a, NULL, 0, y0, 1, times, NULL), NB_OK);
    cr_assert_eq(nb_ode_adjoint_vjp(a, W, gy, NULL), NB_OK);
    for (int i = 0; i < 2; i++)
        cr_expect(close_to(gy[i], ref[4 + i], 1e-8, 1e-10), "%.15g vs %.15g", gy[i], ref[4 + i]);
    nb_ode_adjoint_free(a);
}

/* ---- a review's cases for y(t) integrated again ---- */

/* f defined for t >= 0 only (sqrt t): bsimp's backward substeps round a few ulps below t0 = 0,
 * which gave NB_E_SOLVER (GSL_ERANGE) until t was kept inside the checkpoints' span; bsimp is
 * good to 4e-7 here, where t^1.5 is not smooth at t0 */
static void root_t(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *p, nb_var *d, void *env) {
    (void)env;
    d[0] = nb_add(c, nb_neg(c, nb_mul(c, p[0], y[0])), nb_mul(c, p[1], nb_mul(c, t, nb_sqrt(c, t))));
}
static void root_t3(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *p, nb_var *d, void *env) {
    root_t(c, t, y, p, d, env);
}

Test(ode_adjoint, backward_substeps_just_below_t0) {
    gsl_set_error_handler_off();
    const double p[2] = {0.8, 0.5}, y0[1] = {1}, W[1] = {1};
    const double Ts[3] = {0.3, 0.5, 0.9};
    for (int k = 0; k < 3; k++) {
        double ref[3];
        by_forward(root_t3, 1, 2, p, 0, y0, 1, &Ts[k], W, ref);
        nb_ode_adjoint_opts o;
        nb_ode_adjoint_opts_init(&o);
        o.back_step = gsl_odeiv2_step_bsimp;
        nb_ode_adjoint *a = NULL;
        cr_assert_eq(nb_ode_adjoint_new(&a, root_t, NULL, 1, 2, &o, NULL), NB_OK);
        double gy, gp[2];
        cr_assert_eq(nb_ode_adjoint_solve(a, p, 0, y0, 1, &Ts[k], NULL), NB_OK);
        cr_assert_eq(nb_ode_adjoint_vjp(a, W, &gy, gp), NB_OK, "T = %g", Ts[k]);
        for (int m = 0; m < 2; m++)
            cr_expect(close_to(gp[m], ref[m], 1e-6, 1e-12), "T = %g: dL/dp%d %.12g vs %.12g", Ts[k],
                      m, gp[m], ref[m]);
        cr_expect(close_to(gy, ref[2], 1e-6, 1e-12), "T = %g: dL/dy0 %.12g vs %.12g", Ts[k], gy,
                  ref[2]);
        nb_ode_adjoint_free(a);
    }
}

/* f fails one way in one vjp and another way in the next: each vjp reports its own error (the
 * slope path read the ODE adapter's error left from the vjp before) */
static int fail_mode;
static void failing(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *p, nb_var *d, void *env) {
    (void)t, (void)env;
    d[0] = nb_neg(c, nb_mul(c, p[0], y[0]));
    if (nb_depth(c) != 0) return; /* plain calls only: the dense integrations and y' */
    if (fail_mode == 1) nb_push(c, NB_FORWARD); /* left pushed: NB_E_LEVEL */
    if (fail_mode == 2) {                      /* a handle of a popped level: NB_E_STALE */
        nb_push(c, NB_FORWARD);
        const nb_var v = nb_fwd_input(c, nb_const(1), nb_const(1));
        nb_pop(c);
        d[0] = nb_add(c, d[0], v);
    }
}

Test(ode_adjoint, each_vjp_reports_its_own_error) {
    gsl_set_error_handler_off();
    const gsl_odeiv2_step_type *backs[] = {gsl_odeiv2_step_rk8pd, gsl_odeiv2_step_bsimp,
                                           gsl_odeiv2_step_msbdf};
    for (size_t run = 0; run < 6; run++) {
        const size_t b = run % 3;
        nb_ode_adjoint_opts o;
        nb_ode_adjoint_opts_init(&o);
        o.back_step = backs[b];
        o.stride = run < 3 ? 1 : 3; /* the first failure inside a stretch integrated again */
        nb_ode_adjoint *a = NULL;
        cr_assert_eq(nb_ode_adjoint_new(&a, failing, NULL, 1, 1, &o, NULL), NB_OK);
        const double k = 0.5, y0 = 1, T = 2, W = 1;
        double gy, gp;
        fail_mode = 0;
        cr_assert_eq(nb_ode_adjoint_solve(a, &k, 0, &y0, 1, &T, NULL), NB_OK);
        fail_mode = 1;
        cr_expect_eq(nb_ode_adjoint_vjp(a, &W, &gy, &gp), NB_E_LEVEL, "%s", backs[b]->name);
        fail_mode = 2;
        cr_expect_eq(nb_ode_adjoint_vjp(a, &W, &gy, &gp), NB_E_STALE, "%s", backs[b]->name);
        fail_mode = 0;
        cr_expect_eq(nb_ode_adjoint_vjp(a, &W, &gy, &gp), NB_OK, "%s", backs[b]->name);
        cr_expect(close_to(gy, exp(-1.0), 1e-8, 0), "%s: %.17g", backs[b]->name, gy);
        if (run >= 3) {
            cr_expect_gt(nb_ode_adjoint_held(a), nb_ode_adjoint_points(a), "a stretch");
            cr_expect_lt(nb_ode_adjoint_points(a), 10);
        }
        nb_ode_adjoint_free(a);
    }
}

/* ---- errors ---- */

static void blowup(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *p, nb_var *d, void *env) {
    (void)t, (void)p, (void)env;
    d[0] = nb_mul(c, y[0], y[0]); /* y = 1 / (1 - t) from y(0) = 1 */
}
static void root_decay(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *p, nb_var *d,
                       void *env) {
    (void)t, (void)env;
    d[0] = nb_neg(c, nb_mul(c, p[0], nb_sqrt(c, y[0])));
}
static void unbalanced(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *p, nb_var *d,
                       void *env) {
    (void)t, (void)p;
    d[0] = nb_neg(c, y[0]);
    if (*(const double *)env < 0 && nb_value(t) > 0.5) nb_push(c, NB_FORWARD); /* left pushed */
}

Test(ode_adjoint, errors_and_recovery) {
    gsl_set_error_handler_off();
    nb_ode_adjoint *a = (nb_ode_adjoint *)&a;
    nb_ode_adjoint_opts o;
    nb_ode_adjoint_opts_init(&o);
    cr_expect_eq(nb_ode_adjoint_new(NULL, decay, NULL, 1, 1, NULL, NULL), NB_E_ARG);
    cr_expect_eq(nb_ode_adjoint_new(&a, NULL, NULL, 1, 1, NULL, NULL), NB_E_ARG);
    cr_expect_null(a);
    cr_expect_eq(nb_ode_adjoint_new(&a, decay, NULL, 0, 1, NULL, NULL), NB_E_ARG);
    cr_expect_eq(nb_ode_adjoint_new(&a, decay, NULL, SIZE_MAX / 2, 1, NULL, NULL), NB_E_ARG);
    cr_expect_eq(nb_ode_adjoint_new(&a, decay, NULL, 1, SIZE_MAX / 2, NULL, NULL), NB_E_ARG);
    const struct {
        double *field, bad;
    } bad[] = {{&o.h0, 0}, {&o.h0, NAN}, {&o.epsabs, -1}, {&o.back_epsrel, NAN}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        nb_ode_adjoint_opts_init(&o);
        *bad[i].field = bad[i].bad;
        cr_expect_eq(nb_ode_adjoint_new(&a, decay, NULL, 1, 1, &o, NULL), NB_E_ARG, "%zu", i);
    }
    nb_ode_adjoint_opts_init(&o);
    o.epsabs = o.epsrel = 0;
    cr_expect_eq(nb_ode_adjoint_new(&a, decay, NULL, 1, 1, &o, NULL), NB_E_ARG);
    nb_ode_adjoint_opts_init(&o);
    o.max_steps = 0;
    cr_expect_eq(nb_ode_adjoint_new(&a, decay, NULL, 1, 1, &o, NULL), NB_E_ARG);
    nb_ode_adjoint_opts_init(&o);
    o.stride = 0;
    cr_expect_eq(nb_ode_adjoint_new(&a, decay, NULL, 1, 1, &o, NULL), NB_E_ARG);
    cr_expect_eq(nb_ode_adjoint_held(NULL), 0);

    cr_expect_eq(nb_ode_adjoint_solve(NULL, NULL, 0, NULL, 0, NULL, NULL), NB_E_ARG);
    cr_expect_eq(nb_ode_adjoint_vjp(NULL, NULL, NULL, NULL), NB_E_ARG);
    nb_ode_adjoint_free(NULL);
    size_t fs = 7, bs = 7;
    nb_ode_adjoint_steps(NULL, &fs, &bs);
    cr_expect(fs == 0 && bs == 0);
    cr_expect_null(nb_ode_adjoint_ctx(NULL));
    cr_expect_eq(nb_ode_adjoint_gsl_status(NULL), 0);

    const double k = 0.5, y0 = 1, times[2] = {1, 2}, W[2] = {1, 1};
    double Y[2], gy, gp;
    cr_assert_eq(nb_ode_adjoint_new(&a, decay, NULL, 1, 1, NULL, NULL), NB_OK);
    cr_expect_not_null(nb_ode_adjoint_ctx(a));
    /* no trajectory yet */
    cr_expect_eq(nb_ode_adjoint_vjp(a, W, &gy, &gp), NB_E_ARG);
    cr_expect(isnan(gy) && isnan(gp));
    /* arguments */
    const double back[2] = {2, 1}, inf = INFINITY, nan = NAN, before[1] = {-1};
    cr_expect_eq(nb_ode_adjoint_solve(a, &k, 0, &y0, 2, back, Y), NB_E_ARG);
    cr_expect(isnan(Y[0]) && isnan(Y[1]));
    cr_expect_eq(nb_ode_adjoint_solve(a, &k, 0, &y0, 1, before, Y), NB_E_ARG);
    cr_expect_eq(nb_ode_adjoint_solve(a, &k, 0, &y0, 1, &inf, Y), NB_E_ARG);
    cr_expect_eq(nb_ode_adjoint_solve(a, &k, 0, &y0, 1, &nan, Y), NB_E_ARG);
    cr_expect_eq(nb_ode_adjoint_solve(a, &k, nan, &y0, 1, times, Y), NB_E_ARG);
    cr_expect_eq(nb_ode_adjoint_solve(a, &k, 0, &nan, 1, times, Y), NB_E_ARG);
    cr_expect_eq(nb_ode_adjoint_solve(a, NULL, 0, &y0, 1, times, Y), NB_E_ARG);
    cr_expect_eq(nb_ode_adjoint_solve(a, &k, 0, NULL, 1, times, Y), NB_E_ARG);
    cr_expect_eq(nb_ode_adjoint_solve(a, &k, 0, &y0, 1, NULL, Y), NB_E_ARG);
    /* a good solve, then bad seeds */
    cr_assert_eq(nb_ode_adjoint_solve(a, &k, 0, &y0, 2, times, Y), NB_OK);
    cr_expect_eq(nb_ode_adjoint_vjp(a, NULL, &gy, &gp), NB_E_ARG);
    const double Wn[2] = {1, NAN};
    cr_expect_eq(nb_ode_adjoint_vjp(a, Wn, &gy, &gp), NB_E_ARG);
    cr_expect(isnan(gy) && isnan(gp));
    cr_assert_eq(nb_ode_adjoint_vjp(a, W, &gy, &gp), NB_OK); /* the trajectory is still there */
    cr_expect(close_to(gy, exp(-0.5) + exp(-1), 1e-9, 0), "%.17g", gy);
    /* a failed solve drops the trajectory */
    cr_expect_eq(nb_ode_adjoint_solve(a, &k, 0, &y0, 2, back, Y), NB_E_ARG);
    cr_expect_eq(nb_ode_adjoint_vjp(a, W, &gy, &gp), NB_E_ARG);
    nb_ode_adjoint_free(a);

    /* too many steps: NB_E_SOLVER with GSL_EMAXITER, both ways */
    nb_ode_adjoint_opts_init(&o);
    o.max_steps = 3;
    cr_assert_eq(nb_ode_adjoint_new(&a, decay, NULL, 1, 1, &o, NULL), NB_OK);
    const double far = 100;
    cr_expect_eq(nb_ode_adjoint_solve(a, &k, 0, &y0, 1, &far, Y), NB_E_SOLVER);
    cr_expect_eq(nb_ode_adjoint_gsl_status(a), GSL_EMAXITER);
    cr_expect(isnan(Y[0]));
    nb_ode_adjoint_steps(a, &fs, NULL);
    cr_expect_eq(fs, 3);
    nb_ode_adjoint_free(a);

    /* the solution blows up at t = 1 */
    const double one = 1, two = 2;
    cr_assert_eq(nb_ode_adjoint_new(&a, blowup, NULL, 1, 0, NULL, NULL), NB_OK);
    nb_status s = nb_ode_adjoint_solve(a, NULL, 0, &one, 1, &two, Y);
    cr_expect_eq(s, NB_E_SOLVER, "%s", nb_strerror(s));
    const int gs = nb_ode_adjoint_gsl_status(a); /* the blow-up or the step size collapsing */
    cr_expect(gs == GSL_ERANGE || gs == GSL_FAILURE, "%d", gs);
    cr_expect(isnan(Y[0]));
    const double half = 0.5; /* recovery: a solve that can be done */
    cr_expect_eq(nb_ode_adjoint_solve(a, NULL, 0, &one, 1, &half, Y), NB_OK);
    cr_expect(close_to(Y[0], 2, 1e-9, 0), "%.17g", Y[0]);
    cr_expect_eq(nb_ode_adjoint_vjp(a, &one, &gy, NULL), NB_OK);
    cr_expect(close_to(gy, 4, 1e-8, 0), "%.17g", gy); /* d/dy0 of y0 / (1 - y0 t) = 1/(1-t)^2 */
    nb_ode_adjoint_free(a);

    /* an infinite derivative along the trajectory: y' = -sqrt(y) from 0 stays 0, but
     * df/dy = -inf there, so the adjoint is not finite: NB_E_SOLVER, never NaN with NB_OK */
    const gsl_odeiv2_step_type *backs[] = {gsl_odeiv2_step_rk8pd, gsl_odeiv2_step_bsimp,
                                           gsl_odeiv2_step_msbdf};
    for (size_t b = 0; b < 3; b++) {
        nb_ode_adjoint_opts_init(&o);
        o.back_step = backs[b];
        cr_assert_eq(nb_ode_adjoint_new(&a, root_decay, NULL, 1, 1, &o, NULL), NB_OK);
        const double zero = 0;
        cr_assert_eq(nb_ode_adjoint_solve(a, &one, 0, &zero, 1, &one, Y), NB_OK);
        cr_expect_eq(Y[0], 0);
        cr_expect_eq(nb_ode_adjoint_vjp(a, &one, &gy, &gp), NB_E_SOLVER, "%s", backs[b]->name);
        cr_expect(isnan(gy) && isnan(gp), "%s", backs[b]->name);
        if (backs[b] != gsl_odeiv2_step_msbdf) /* (msbdf fails its own way first) */
            cr_expect_eq(nb_ode_adjoint_gsl_status(a), GSL_ERANGE, "%s", backs[b]->name);
        nb_ode_adjoint_free(a);
    }

    /* a first step below t0's resolution moves y but not t: NB_E_SOLVER, GSL_EFAILED */
    cr_assert_eq(nb_ode_adjoint_new(&a, decay, NULL, 1, 1, NULL, NULL), NB_OK);
    const double big = 1e12, later = 1e12 + 0.25;
    cr_expect_eq(nb_ode_adjoint_solve(a, &k, big, &y0, 1, &later, Y), NB_E_SOLVER);
    cr_expect_eq(nb_ode_adjoint_gsl_status(a), GSL_EFAILED);
    cr_expect(isnan(Y[0]));
    /* a non-finite parameter */
    const double pn = NAN;
    cr_expect_eq(nb_ode_adjoint_solve(a, &pn, 0, &y0, 1, &two, Y), NB_E_ARG);
    nb_ode_adjoint_free(a);

    /* f leaves a level pushed: its error, in the solve and in the vjp */
    double flag = -1;
    cr_assert_eq(nb_ode_adjoint_new(&a, unbalanced, &flag, 1, 1, NULL, NULL), NB_OK);
    cr_expect_eq(nb_ode_adjoint_solve(a, &k, 0, &y0, 1, &two, Y), NB_E_LEVEL);
    flag = 1;
    cr_assert_eq(nb_ode_adjoint_solve(a, &k, 0, &y0, 1, &two, Y), NB_OK);
    flag = -1;
    cr_expect_eq(nb_ode_adjoint_vjp(a, &one, &gy, &gp), NB_E_LEVEL);
    cr_expect(isnan(gy) && isnan(gp));
    flag = 1;
    cr_expect_eq(nb_ode_adjoint_vjp(a, &one, &gy, &gp), NB_OK);
    cr_expect(close_to(gy, exp(-2), 1e-9, 0), "%.17g", gy);
    cr_expect_eq(nb_strerror(NB_E_SOLVER)[0], 's');
    nb_ode_adjoint_free(a);
}

Test(ode_adjoint, every_allocation_failure_is_a_status) {
    gsl_set_error_handler_off();
    const double p[4] = {1.5, 1, 0.75, 3}, y0[2] = {1, 1.2}, times[2] = {2, 5};
    const double W[4] = {1, 0, 0, 3};
    double want[4];
    {
        nb_ode_adjoint *a = NULL;
        cr_assert_eq(nb_ode_adjoint_new(&a, lotka, NULL, 2, 4, NULL, NULL), NB_OK);
        cr_assert_eq(nb_ode_adjoint_solve(a, p, 0, y0, 2, times, NULL), NB_OK);
        cr_assert_eq(nb_ode_adjoint_vjp(a, W, NULL, want), NB_OK);
        nb_ode_adjoint_free(a);
    }
    for (size_t stride = 1; stride <= 3; stride += 2) { /* 3: a stretch's steps as well */
        nb_ode_adjoint_opts ao;
        nb_ode_adjoint_opts_init(&ao);
        ao.stride = stride;
        int total = -1;
        for (int k = 1; k < 5000; k++) {
            struct failing f = {0, k};
            const nb_ctx_opts o = failing_opts(&f);
            nb_ode_adjoint *a = NULL;
            nb_status s = nb_ode_adjoint_new(&a, lotka, NULL, 2, 4, &ao, &o);
            double gp[4] = {0};
            if (s == NB_OK) {
                s = nb_ode_adjoint_solve(a, p, 0, y0, 2, times, NULL);
                if (s == NB_OK) s = nb_ode_adjoint_vjp(a, W, NULL, gp);
                if (s == NB_E_NOMEM) {
                    cr_expect(isnan(gp[0]) || gp[0] == 0, "allocation %d", k);
                    /* the object still works */
                    cr_expect_eq(nb_ode_adjoint_solve(a, p, 0, y0, 2, times, NULL), NB_OK,
                                 "allocation %d", k);
                    cr_expect_eq(nb_ode_adjoint_vjp(a, W, NULL, gp), NB_OK, "allocation %d", k);
                    cr_expect(gp[2] == want[2], "allocation %d: %.17g", k, gp[2]);
                }
                nb_ode_adjoint_free(a);
            } else
                cr_expect_null(a);
            if (f.count < k) {
                cr_assert_eq(s, NB_OK);
                for (int i = 0; i < 4; i++) cr_expect(gp[i] == want[i], "%.17g", gp[i]);
                total = k - 1;
                break;
            }
            cr_expect_eq(s, NB_E_NOMEM, "allocation %d", k);
        }
        cr_expect_gt(total, 10, "%d allocations (stride %zu)", total, stride);
    }
}
