/* test_threads.c - four threads, each with its own context, compute gradients, Jacobians (both
 * modes), vector-Jacobian products, Hessians and Taylor coefficients, Hessians through a custom
 * op whose rule calls itself (nabla/custom.h: its memo lives in the context), gradients through a
 * loop from checkpoints (nb_loop_vjp), sparse Hessians from a plan each thread finds for
 * itself (nabla/sparse.h), implicit-function derivatives (nb_implicit_jacobian), and each runs GSL's BFGS2, a Levenberg-Marquardt fit
 * with geodesic acceleration, a stiff ODE (msbdf) with its forward and adjoint sensitivities
 * through its own GSL adapters; all must give
 * bit-identical results to a serial run.
 *
 * A plain pthread program (Criterion cannot start under ThreadSanitizer); .ci/run also runs it in
 * a -Db_sanitize=thread build. Exit status 0 on success, 1 with a message on any difference. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_odeiv2.h>

#include "nabla/gsl.h"
#include "nabla/nabla.h"

enum { NT = 4, N = 40, M = 6, POINTS = 6, ORDER = 6 };
enum { PER_POINT = N + 1 + 2 * M * N + N + M + N * N + ORDER + 1 + N * N + N + 3 * N - 2 + M * M };
enum { FIT_P = 3, FIT_N = 20 };
/* after the points: BFGS2's x, f and iterations; the fit's parameters, residual sum of squares
 * and iterations; the adapters' statuses; Robertson's state at t = 40 by msbdf and the ODE
 * adapter's status; its sensitivities and that adapter's status; the adjoint gradient of
 * the total mass at t = 40 and 400 with respect to y(0) and k (msbdf both ways) and its status */
enum { SOLVES = N + 2 + FIT_P + 2 + 2 + 3 + 1 + 12 + 1 + 3 + 3 + 1 };

struct work {
    double out[POINTS * PER_POINT + SOLVES];
    nb_status status;
};

static nb_var rosen(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    nb_var s = nb_const(0);
    for (int i = 0; i + 1 < N; i++) {
        nb_var a = nb_sub(c, x[i + 1], nb_mul(c, x[i], x[i]));
        nb_var b = nb_sub(c, nb_const(1), x[i]);
        s = nb_add(c, s, nb_add(c, nb_mul(c, nb_const(100), nb_mul(c, a, a)), nb_mul(c, b, b)));
    }
    return s;
}

static void vec(nb_ctx *c, const nb_var *x, nb_var *y, void *env) {
    (void)env;
    for (int j = 0; j < M; j++) {
        nb_var t[N];
        for (int i = 0; i < N; i++) t[i] = nb_sin(c, nb_mul(c, x[i], nb_const(j + 1.0)));
        y[j] = nb_add(c, nb_dot(c, N, t, x), nb_lgamma(c, nb_add(c, x[j], nb_const(3))));
    }
}

/* r_i = p0 exp(-p1 t_i) + p2 - y_i, with data from (2.5, 1.3, 0.5) and a fixed perturbation */
static void fit_residuals(nb_ctx *c, const nb_var *p, nb_var *r, void *env) {
    (void)env;
    for (int i = 0; i < FIT_N; i++) {
        double t = 0.25 * i, y = 2.5 * exp(-1.3 * t) + 0.5 + 0.01 * sin(7.0 * i);
        nb_var e = nb_exp(c, nb_mul(c, nb_neg(c, p[1]), nb_const(t)));
        r[i] = nb_sub(c, nb_add(c, nb_mul(c, p[0], e), p[2]), nb_const(y));
    }
}

/* Robertson's stiff kinetics */
static void rober(nb_ctx *c, nb_var t, const nb_var *y, nb_var *d, void *env) {
    (void)t, (void)env;
    nb_var a = nb_mul(c, nb_const(0.04), y[0]), b = nb_mul(c, nb_const(1e4), nb_mul(c, y[1], y[2]));
    nb_var q = nb_mul(c, nb_const(3e7), nb_mul(c, y[1], y[1]));
    d[0] = nb_sub(c, b, a);
    d[1] = nb_sub(c, nb_sub(c, a, b), q);
    d[2] = q;
}

/* the same with the rate constants as parameters */
static void rober_k(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *k, nb_var *d, void *env) {
    (void)t, (void)env;
    nb_var a = nb_mul(c, k[0], y[0]), b = nb_mul(c, k[2], nb_mul(c, y[1], y[2]));
    nb_var q = nb_mul(c, k[1], nb_mul(c, y[1], y[1]));
    d[0] = nb_sub(c, b, a);
    d[1] = nb_sub(c, nb_sub(c, a, b), q);
    d[2] = q;
}

/* BFGS2 on rosen, the fit and an ODE, each through an adapter of its own; results into o. */
static nb_status solves(double *o) {
    nb_gsl_adapter *a = NULL, *b = NULL;
    nb_status s = nb_gsl_multimin_new(&a, rosen, NULL, N, NULL);
    if (s) return s;
    gsl_multimin_fdfminimizer *m =
        gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, N);
    double start[N];
    for (int i = 0; i < N; i++) start[i] = i % 2 ? 1.0 : -1.2;
    gsl_vector_view x0 = gsl_vector_view_array(start, N);
    gsl_multimin_fdfminimizer_set(m, nb_gsl_multimin_fdf(a), &x0.vector, 0.01, 0.1);
    int iter = 0, st = GSL_CONTINUE;
    while (st == GSL_CONTINUE && ++iter < 5000 && !gsl_multimin_fdfminimizer_iterate(m))
        st = gsl_multimin_test_gradient(m->gradient, 1e-8);
    for (int i = 0; i < N; i++) o[i] = gsl_vector_get(m->x, (size_t)i);
    o[N] = m->f;
    o[N + 1] = iter;
    gsl_multimin_fdfminimizer_free(m);
    o += N + 2;

    if ((s = nb_gsl_multifit_new(&b, fit_residuals, NULL, FIT_P, FIT_N, NULL))) {
        nb_gsl_adapter_free(a);
        return s;
    }
    gsl_multifit_nlinear_parameters params = gsl_multifit_nlinear_default_parameters();
    params.trs = gsl_multifit_nlinear_trs_lmaccel; /* with nabla's fvv */
    gsl_multifit_nlinear_workspace *w =
        gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &params, FIT_N, FIT_P);
    double p0[FIT_P] = {1, 1, 0};
    gsl_vector_view pv = gsl_vector_view_array(p0, FIT_P);
    gsl_multifit_nlinear_init(&pv.vector, nb_gsl_multifit_fdf(b), w);
    int info;
    gsl_multifit_nlinear_driver(200, 1e-12, 1e-12, 0, NULL, NULL, &info, w);
    gsl_vector *px = gsl_multifit_nlinear_position(w), *r = gsl_multifit_nlinear_residual(w);
    for (int i = 0; i < FIT_P; i++) o[i] = gsl_vector_get(px, (size_t)i);
    double rss = 0;
    for (int i = 0; i < FIT_N; i++) {
        double ri = gsl_vector_get(r, (size_t)i);
        rss += ri * ri;
    }
    o[FIT_P] = rss;
    o[FIT_P + 1] = (double)gsl_multifit_nlinear_niter(w);
    gsl_multifit_nlinear_free(w);
    o[FIT_P + 2] = nb_gsl_adapter_status(a);
    o[FIT_P + 3] = nb_gsl_adapter_status(b);
    nb_gsl_adapter_free(a);
    nb_gsl_adapter_free(b);
    o += FIT_P + 4;

    /* a stiff ODE with msbdf, the Jacobian from the ODE adapter */
    if ((s = nb_gsl_odeiv2_new(&a, rober, NULL, 3, NULL))) return s;
    gsl_odeiv2_driver *d =
        gsl_odeiv2_driver_alloc_y_new(nb_gsl_odeiv2_system(a), gsl_odeiv2_step_msbdf, 1e-8, 1e-10, 1e-10);
    double t = 0, y[3] = {1, 0, 0};
    gsl_odeiv2_driver_apply(d, &t, 40, y);
    gsl_odeiv2_driver_free(d);
    for (int i = 0; i < 3; i++) o[i] = y[i];
    o[3] = nb_gsl_adapter_status(a);
    nb_gsl_adapter_free(a);
    o += 4;

    /* and its sensitivities to the rate constants, the sensitivity system's Jacobian by
     * forward over reverse */
    const double k[3] = {0.04, 3e7, 1e4};
    if ((s = nb_gsl_odeiv2_sens_new(&a, rober_k, NULL, 3, 3, k, NULL))) return s;
    d = gsl_odeiv2_driver_alloc_y_new(nb_gsl_odeiv2_system(a), gsl_odeiv2_step_msbdf, 1e-8, 1e-10,
                                      1e-10);
    t = 0;
    for (int i = 0; i < 12; i++) o[i] = i == 0;
    gsl_odeiv2_driver_apply(d, &t, 40, o);
    gsl_odeiv2_driver_free(d);
    o[12] = nb_gsl_adapter_status(a);
    nb_gsl_adapter_free(a);
    o += 13;

    /* the adjoint gradient of the same kinetics (nb_ode_adjoint_*), msbdf both ways */
    nb_ode_adjoint_opts ao;
    nb_ode_adjoint_opts_init(&ao);
    ao.step = gsl_odeiv2_step_msbdf;
    nb_ode_adjoint *adj = NULL;
    if ((s = nb_ode_adjoint_new(&adj, rober_k, NULL, 3, 3, &ao, NULL))) return s;
    const double y0[3] = {1, 0, 0}, times[2] = {40, 400}, W[6] = {1, 1, 1, 1, 1, 1};
    s = nb_ode_adjoint_solve(adj, k, 0, y0, 2, times, NULL);
    if (!s) s = nb_ode_adjoint_vjp(adj, W, o, o + 3);
    o[6] = s;
    nb_ode_adjoint_free(adj);
    return NB_OK;
}

/* exp as a custom op whose rule is the op itself */
static double exp_value(const double *x, size_t k, void *env) {
    (void)k, (void)env;
    return exp(x[0]);
}
static nb_status exp_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env);
static const nb_custom_op own_exp = {exp_value, exp_rule};
static nb_status exp_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    dfdx[0] = nb_custom(c, &own_exp, x, k, env);
    return NB_OK;
}
/* sum_i own_exp(x_i / 10) x_{i+1} */
static nb_var with_custom(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    nb_var s = nb_const(0);
    for (int i = 0; i + 1 < N; i++) {
        nb_var t = nb_mul(c, nb_const(0.1), x[i]);
        s = nb_add(c, s, nb_mul(c, nb_custom(c, &own_exp, &t, 1, NULL), x[i + 1]));
    }
    return s;
}
/* a loop step: x_i <- x_i + 0.01 sin(x_{i+1}) */
/* F(x, theta) = vec(x_0 .. x_{M-1}, the rest of the point in env) - theta */
static void implicit_f(nb_ctx *c, const nb_var *z, nb_var *y, void *env) {
    const double *point = env;
    nb_var x[N], r[M];
    for (int i = 0; i < N; i++) x[i] = i < M ? z[i] : nb_const(point[i]);
    vec(c, x, r, NULL);
    for (int i = 0; i < M; i++) y[i] = nb_sub(c, r[i], z[M + i]);
}

static void loop_step(nb_ctx *c, size_t k, const nb_var *x, nb_var *y, void *env) {
    (void)k, (void)env;
    for (int i = 0; i < N; i++)
        y[i] = nb_add(c, x[i], nb_mul(c, nb_const(0.01), nb_sin(c, x[(i + 1) % N])));
}

static void compute(struct work *w) {
    nb_ctx *c = NULL;
    w->status = nb_ctx_new(&c, NULL);
    if (w->status) return;
    nb_sparse *plan = NULL;
    const double zero[N] = {0};
    w->status = nb_sparse_hess_new(c, rosen, NULL, N, zero, &plan);
    if (!w->status && nb_sparse_nnz(plan) != 3 * N - 2) w->status = NB_E_ARG;
    for (int p = 0; p < POINTS && !w->status; p++) {
        double x[N], v[M];
        for (int i = 0; i < N; i++) x[i] = 0.1 * (p + 1) * ((i % 7) - 3) + 0.01 * i;
        for (int j = 0; j < M; j++) v[j] = 1.0 / (j + 1 + p);
        double *o = w->out + p * PER_POINT;
        nb_status s = nb_gradient(c, rosen, NULL, N, x, o + N, o);
        if (!s) s = nb_jacobian(c, vec, NULL, N, M, x, NB_JAC_REVERSE, NULL, o + N + 1);
        if (!s) s = nb_jacobian(c, vec, NULL, N, M, x, NB_JAC_FORWARD, NULL, o + N + 1 + M * N);
        if (!s) s = nb_vjp(c, vec, NULL, N, M, x, v, o + N + 1 + 2 * M * N + N,
                           o + N + 1 + 2 * M * N);
        double *h = o + N + 1 + 2 * M * N + N + M;
        if (!s) s = nb_hessian(c, rosen, NULL, N, x, NULL, NULL, h);
        if (!s) s = nb_taylor_derivatives(c, rosen, NULL, N, x, x, ORDER, h + N * N);
        double *hc = h + N * N + ORDER + 1;
        if (!s) s = nb_hessian(c, with_custom, NULL, N, x, NULL, NULL, hc);
        if (!s) s = nb_loop_vjp(c, loop_step, NULL, N, 60, x, x, 7, NULL, hc + N * N);
        if (!s) s = nb_sparse_hessian(c, plan, rosen, NULL, x, NULL, NULL, hc + N * N + N);
        /* dx/dtheta of vec(x) - theta = 0 for the first M inputs, the rest fixed at this point */
        if (!s) s = nb_implicit_jacobian(c, implicit_f, x, M, M, x, v, hc + N * N + N + 3 * N - 2);
        if (s) {
            w->status = s;
            break;
        }
    }
    nb_sparse_free(plan);
    nb_ctx_free(c);
    if (!w->status) w->status = solves(w->out + POINTS * PER_POINT);
}

static void *thread_main(void *arg) {
    compute(arg);
    return NULL;
}

static struct work serial, threaded[NT];

int main(void) {
    gsl_set_error_handler_off(); /* process-global: set before any thread starts */
    compute(&serial);
    if (serial.status) {
        fprintf(stderr, "serial run failed: %s\n", nb_strerror(serial.status));
        return 1;
    }
    /* the solves are checked here once (the threads must then match them bit for bit) */
    const double *sv = serial.out + POINTS * PER_POINT;
    if (!(sv[N] < 1e-10) || sv[N + 2 + FIT_P + 2] != NB_OK || sv[N + 2 + FIT_P + 3] != NB_OK ||
        !(fabs(sv[N + 2] - 2.5) < 0.05 && fabs(sv[N + 3] - 1.3) < 0.05)) {
        fprintf(stderr, "serial solves: BFGS2 f = %g after %g iterations, fit (%g, %g, %g)\n",
                sv[N], sv[N + 1], sv[N + 2], sv[N + 3], sv[N + 4]);
        return 1;
    }
    const double *sens = sv + N + 2 + FIT_P + 4 + 4; /* y(40), then k_0 dy/dk_0 (test_ode_sens) */
    if (sens[12] != NB_OK || !(fabs(sens[0] - 0.7158270687193) < 1e-7) ||
        !(fabs(0.04 * sens[3] + 0.16990235) < 1e-6)) {
        fprintf(stderr, "serial sensitivities: y0 = %.12g, k0 dy0/dk0 = %.12g, status %g\n",
                sens[0], 0.04 * sens[3], sens[12]);
        return 1;
    }
    const double *adj = sens + 13; /* the mass is conserved: dL/dy(0) = 2 each, dL/dk = 0 */
    if (adj[6] != NB_OK || !(fabs(adj[0] - 2) < 1e-6 && fabs(adj[1] - 2) < 1e-6) ||
        !(fabs(adj[2] - 2) < 1e-6 && fabs(adj[3]) < 1e-6)) {
        fprintf(stderr, "serial adjoint: dL/dy0 = %.12g %.12g %.12g, dL/dk0 = %.3g, status %g\n",
                adj[0], adj[1], adj[2], adj[3], adj[6]);
        return 1;
    }
    pthread_t th[NT];
    for (int t = 0; t < NT; t++)
        if (pthread_create(&th[t], NULL, thread_main, &threaded[t])) {
            fprintf(stderr, "pthread_create failed\n");
            return 1;
        }
    for (int t = 0; t < NT; t++) pthread_join(th[t], NULL);
    int bad = 0;
    for (int t = 0; t < NT; t++) {
        if (threaded[t].status) {
            fprintf(stderr, "thread %d failed: %s\n", t, nb_strerror(threaded[t].status));
            bad = 1;
        } else if (memcmp(threaded[t].out, serial.out, sizeof serial.out) != 0) {
            fprintf(stderr, "thread %d differs from the serial run\n", t);
            bad = 1;
        }
    }
    if (!bad) printf("%d threads: %zu results each, bit-identical to the serial run\n", NT,
                     sizeof serial.out / sizeof serial.out[0]);
    return bad;
}
