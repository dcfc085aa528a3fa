/* bench_ode.c - gradients of an ODE solution's loss with respect to many parameters, against one
 * plain solve of the same ODE.
 *   kinetics  a chain of n = 16 species fed by a source: y_0' = 1 - a_0 y_0 - b_0 y_0^2,
 *             y_i' = a_(i-1) y_(i-1) - a_i y_i - b_i y_i^2, with np = 2n = 32 rate constants
 *             (a, b), integrated by rk8pd (tolerance 1e-10) from y = 0 through m = 10 observation
 *             times to t = 10; the loss is the sum of squares of y(t_j) - d_j. The reference is
 *             that solve with the hand-written right-hand side. Modes, each giving dL/dp:
 *             `adjoint`  nb_ode_adjoint_solve and nb_ode_adjoint_vjp (rk8pd both ways): one
 *                        backward integration of n + np states, one vjp per right-hand side;
 *             `sens`     forward sensitivities (nb_gsl_odeiv2_sens_new): n (1 + np) = 528
 *                        states, np forward passes per right-hand side;
 *             `fd`       central differences: 2 np plain solves, for perspective;
 *             `adjoint_s7` the adjoint keeping a checkpoint every 7 steps (about the square
 *                        root of the 44 steps), each stretch integrated again in the vjp.
 *   robadj    Robertson's stiff kinetics (its three rate constants as parameters) to t = 4e5 with
 *             msbdf (tolerances 1e-12 absolute, 1e-10 relative), observed at t = 40 and 4e5: the
 *             reference is the plain solve with hand-written f and Jacobian; `adjoint` the
 *             gradient of a weighted sum of y by nb_ode_adjoint_* with msbdf both ways (y(t) for
 *             the backward pass integrated again from the checkpoints by bsimp); `adjoint_s35`
 *             the same keeping a checkpoint every 35 of the 1221 steps.
 * BENCHINFO: the steps of each integration, the integrations from a checkpoint, the states held
 * at once, and the largest relative difference between the adjoint and the forward-sensitivity
 * gradients. */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_odeiv2.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "nabla/gsl.h"
#include "nabla/nabla.h"

enum { N = 16, NP = 2 * N, M = 10 };
static const double T_END = 10, TOL = 1e-10;

static int plain_f(double t, const double y[], double d[], void *q) {
    (void)t;
    const double *a = q, *b = a + N;
    for (int i = 0; i < N; i++) {
        const double in = i ? a[i - 1] * y[i - 1] : 1;
        d[i] = in - a[i] * y[i] - b[i] * y[i] * y[i];
    }
    return GSL_SUCCESS;
}

static void nabla_f(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *p, nb_var *d,
                    void *env) {
    (void)t, (void)env;
    const nb_var *a = p, *b = p + N;
    for (int i = 0; i < N; i++) {
        const nb_var in = i ? nb_mul(c, a[i - 1], y[i - 1]) : nb_const(1);
        d[i] = nb_sub(c, nb_sub(c, in, nb_mul(c, a[i], y[i])),
                      nb_mul(c, b[i], nb_mul(c, y[i], y[i])));
    }
}

struct env {
    double p[NP], times[M], data[M * N], Y[M * N], W[M * N];
    double g_adj[NP], g_sens[NP], g_fd[NP];
    nb_ode_adjoint *adj, *adj_s;
    nb_gsl_adapter *sens;
    double *u; /* N (1 + NP) */
    size_t steps_plain, steps_sens;
};

/* the plain solve through the times: y(t_j) into Y */
static void solve_plain(const double *p, double *Y, size_t *steps) {
    double q[NP], y[N] = {0}, t = 0;
    size_t n = 0;
    memcpy(q, p, sizeof q);
    gsl_odeiv2_system sys = {plain_f, NULL, N, q};
    gsl_odeiv2_driver *d = gsl_odeiv2_driver_alloc_y_new(&sys, gsl_odeiv2_step_rk8pd, 1e-6, TOL, TOL);
    for (int j = 0; j < M; j++) {
        const double tj = T_END * (j + 1) / M;
        if (gsl_odeiv2_driver_apply(d, &t, tj, y) != GSL_SUCCESS) abort();
        memcpy(Y + j * N, y, sizeof y);
        n += d->n; /* (each apply counts its own steps) */
    }
    if (steps) *steps = n;
    gsl_odeiv2_driver_free(d);
}

static double loss(const double *Y, const double *data, double *W) {
    double L = 0;
    for (int i = 0; i < M * N; i++) {
        const double r = Y[i] - data[i];
        L += r * r;
        if (W) W[i] = 2 * r;
    }
    return L;
}

static void run_plain(void *q) {
    struct env *e = q;
    solve_plain(e->p, e->Y, &e->steps_plain);
    bench_sink = loss(e->Y, e->data, NULL);
}

static void adjoint_with(nb_ode_adjoint *a, struct env *e) {
    const double y0[N] = {0};
    if (nb_ode_adjoint_solve(a, e->p, 0, y0, M, e->times, e->Y)) abort();
    bench_sink = loss(e->Y, e->data, e->W);
    if (nb_ode_adjoint_vjp(a, e->W, NULL, e->g_adj)) abort();
}
static void run_adjoint(void *q) { adjoint_with(((struct env *)q)->adj, q); }
static void run_adjoint_s(void *q) { adjoint_with(((struct env *)q)->adj_s, q); }

static void run_sens(void *q) {
    struct env *e = q;
    double *u = e->u, t = 0;
    memset(u, 0, N * (1 + NP) * sizeof *u);
    if (nb_gsl_odeiv2_sens_params(e->sens, e->p)) abort();
    gsl_odeiv2_driver *d = gsl_odeiv2_driver_alloc_y_new(nb_gsl_odeiv2_system(e->sens),
                                                         gsl_odeiv2_step_rk8pd, 1e-6, TOL, TOL);
    memset(e->g_sens, 0, sizeof e->g_sens);
    double L = 0;
    e->steps_sens = 0;
    for (int j = 0; j < M; j++) {
        if (gsl_odeiv2_driver_apply(d, &t, e->times[j], u) != GSL_SUCCESS) abort();
        e->steps_sens += d->n;
        for (int i = 0; i < N; i++) {
            const double r = u[i] - e->data[j * N + i];
            L += r * r;
            for (int k = 0; k < NP; k++) e->g_sens[k] += 2 * r * u[N * (1 + k) + i];
        }
    }
    gsl_odeiv2_driver_free(d);
    bench_sink = L;
}

static void run_fd(void *q) {
    struct env *e = q;
    double p[NP], Y[M * N];
    memcpy(p, e->p, sizeof p);
    for (int k = 0; k < NP; k++) {
        const double h = 1e-5 * e->p[k];
        p[k] = e->p[k] + h;
        solve_plain(p, Y, NULL);
        const double Lp = loss(Y, e->data, NULL);
        p[k] = e->p[k] - h;
        solve_plain(p, Y, NULL);
        const double Lm = loss(Y, e->data, NULL);
        p[k] = e->p[k];
        e->g_fd[k] = (Lp - Lm) / (2 * h);
    }
    bench_sink = e->g_fd[0];
}

/* ---- robadj ---- */
static const double RK[3] = {0.04, 3e7, 1e4}, RT[2] = {40, 4e5}, RW[6] = {1, 0, 0, 0, 1e4, 1};
static int rober_f(double t, const double y[], double d[], void *q) {
    (void)t, (void)q;
    const double r1 = RK[0] * y[0], r2 = RK[1] * y[1] * y[1], r3 = RK[2] * y[1] * y[2];
    d[0] = -r1 + r3, d[1] = r1 - r2 - r3, d[2] = r2;
    return GSL_SUCCESS;
}
static int rober_j(double t, const double y[], double *J, double *dt, void *q) {
    (void)t, (void)q;
    const double rows[9] = {-RK[0], RK[2] * y[2], RK[2] * y[1],
                            RK[0], -2 * RK[1] * y[1] - RK[2] * y[2], -RK[2] * y[1],
                            0, 2 * RK[1] * y[1], 0};
    memcpy(J, rows, sizeof rows);
    dt[0] = dt[1] = dt[2] = 0;
    return GSL_SUCCESS;
}
static void rober_k(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *k, nb_var *d, void *env) {
    (void)t, (void)env;
    const nb_var r1 = nb_mul(c, k[0], y[0]), r2 = nb_mul(c, k[1], nb_mul(c, y[1], y[1]));
    const nb_var r3 = nb_mul(c, k[2], nb_mul(c, y[1], y[2]));
    d[0] = nb_add(c, nb_neg(c, r1), r3);
    d[1] = nb_sub(c, nb_sub(c, r1, r2), r3);
    d[2] = r2;
}
struct renv {
    nb_ode_adjoint *adj, *adj_s;
    double g[3], Y[6];
};
static void rober_plain(void *q) {
    gsl_odeiv2_system sys = {rober_f, rober_j, 3, NULL};
    gsl_odeiv2_driver *d = gsl_odeiv2_driver_alloc_y_new(&sys, gsl_odeiv2_step_msbdf, 1e-6, 1e-12, 1e-10);
    double y[3] = {1, 0, 0}, t = 0;
    for (int j = 0; j < 2; j++)
        if (gsl_odeiv2_driver_apply(d, &t, RT[j], y) != GSL_SUCCESS) abort();
    gsl_odeiv2_driver_free(d);
    bench_sink = y[1];
    (void)q;
}
static void rober_with(nb_ode_adjoint *a, struct renv *e) {
    const double y0[3] = {1, 0, 0};
    if (nb_ode_adjoint_solve(a, RK, 0, y0, 2, RT, e->Y)) abort();
    if (nb_ode_adjoint_vjp(a, RW, NULL, e->g)) abort();
    bench_sink = e->g[0];
}
static void rober_adjoint(void *q) { rober_with(((struct renv *)q)->adj, q); }
static void rober_adjoint_s(void *q) { rober_with(((struct renv *)q)->adj_s, q); }

int main(void) {
    gsl_set_error_handler_off();
    static struct env e;
    unsigned long long seed = 7;
    for (int i = 0; i < N; i++) {
        e.p[i] = bench_uniform(&seed, 0.5, 2);         /* a */
        e.p[N + i] = bench_uniform(&seed, 0.05, 0.3); /* b */
    }
    for (int j = 0; j < M; j++) e.times[j] = T_END * (j + 1) / M;
    /* the data: the solution at perturbed parameters */
    double p0[NP];
    for (int k = 0; k < NP; k++) p0[k] = e.p[k] * bench_uniform(&seed, 0.9, 1.1);
    solve_plain(p0, e.data, NULL);
    nb_ode_adjoint_opts o;
    nb_ode_adjoint_opts_init(&o);
    o.epsabs = o.epsrel = o.back_epsabs = o.back_epsrel = TOL;
    if (nb_ode_adjoint_new(&e.adj, nabla_f, NULL, N, NP, &o, NULL)) return 1;
    o.stride = 7;
    if (nb_ode_adjoint_new(&e.adj_s, nabla_f, NULL, N, NP, &o, NULL)) return 1;
    if (nb_gsl_odeiv2_sens_new(&e.sens, nabla_f, NULL, N, NP, e.p, NULL)) return 1;
    if (!(e.u = malloc(N * (1 + NP) * sizeof *e.u))) return 1;

    run_adjoint(&e);
    run_sens(&e);
    double worst = 0;
    for (int k = 0; k < NP; k++)
        worst = fmax(worst, fabs(e.g_adj[k] - e.g_sens[k]) / fabs(e.g_sens[k]));
    if (!(worst < 1e-6)) {
        fprintf(stderr, "kinetics: the adjoint and forward gradients differ by %g\n", worst);
        return 1;
    }
    bench_report("kinetics", "adjoint", bench_ratio(run_plain, run_adjoint, &e, 11, 0.05));
    double g_every[NP];
    memcpy(g_every, e.g_adj, sizeof g_every);
    bench_report("kinetics", "adjoint_s7", bench_ratio(run_plain, run_adjoint_s, &e, 11, 0.05));
    for (int k = 0; k < NP; k++)
        if (e.g_adj[k] != g_every[k]) { /* rk8pd retakes the very steps */
            fprintf(stderr, "kinetics: the stride changed dL/dp%d\n", k);
            return 1;
        }
    bench_report("kinetics", "sens", bench_ratio(run_plain, run_sens, &e, 7, 0.05));
    bench_report("kinetics", "fd", bench_ratio(run_plain, run_fd, &e, 5, 0.05));
    size_t fs, bs;
    nb_ode_adjoint_steps(e.adj, &fs, &bs);
    bench_info("kinetics", "steps_plain", (double)e.steps_plain);
    bench_info("kinetics", "steps_adjoint_forward", (double)fs);
    bench_info("kinetics", "steps_adjoint_backward", (double)bs);
    bench_info("kinetics", "dense", (double)nb_ode_adjoint_dense(e.adj));
    bench_info("kinetics", "held", (double)nb_ode_adjoint_held(e.adj));
    bench_info("kinetics", "held_s7", (double)nb_ode_adjoint_held(e.adj_s));
    bench_info("kinetics", "steps_sens", (double)e.steps_sens);
    bench_info("kinetics", "adjoint_vs_sens_max_rel", worst);
    double wfd = 0;
    for (int k = 0; k < NP; k++)
        wfd = fmax(wfd, fabs(e.g_fd[k] - e.g_sens[k]) / fabs(e.g_sens[k]));
    bench_info("kinetics", "fd_vs_sens_max_rel", wfd);
    {
        static struct renv r;
        nb_ode_adjoint_opts ro;
        nb_ode_adjoint_opts_init(&ro);
        ro.step = gsl_odeiv2_step_msbdf;
        ro.epsabs = ro.back_epsabs = 1e-12;
        ro.epsrel = ro.back_epsrel = 1e-10;
        if (nb_ode_adjoint_new(&r.adj, rober_k, NULL, 3, 3, &ro, NULL)) return 1;
        rober_adjoint(&r);
        /* the forward sensitivities' gradient (tests/test_ode_adjoint.c) */
        const double ref[3] = {-4.01580865711, -2.13721212209e-09, 1.28041040185e-05};
        double rw = 0;
        for (int m = 0; m < 3; m++) rw = fmax(rw, fabs(r.g[m] - ref[m]) / fabs(ref[m]));
        if (!(rw < 1e-6)) {
            fprintf(stderr, "robadj: the adjoint gradient is %g off\n", rw);
            return 1;
        }
        bench_report("robadj", "adjoint", bench_ratio(rober_plain, rober_adjoint, &r, 7, 0.05));
        ro.stride = 35;
        if (nb_ode_adjoint_new(&r.adj_s, rober_k, NULL, 3, 3, &ro, NULL)) return 1;
        rober_adjoint_s(&r);
        double rs = 0;
        for (int m = 0; m < 3; m++) rs = fmax(rs, fabs(r.g[m] - ref[m]) / fabs(ref[m]));
        if (!(rs < 1e-6)) {
            fprintf(stderr, "robadj: the adjoint gradient with a stride is %g off\n", rs);
            return 1;
        }
        bench_report("robadj", "adjoint_s35",
                     bench_ratio(rober_plain, rober_adjoint_s, &r, 7, 0.05));
        size_t rf, rb;
        nb_ode_adjoint_steps(r.adj, &rf, &rb);
        bench_info("robadj", "steps_forward", (double)rf);
        bench_info("robadj", "steps_backward", (double)rb);
        bench_info("robadj", "dense", (double)nb_ode_adjoint_dense(r.adj));
        bench_info("robadj", "max_rel_error", rw);
        bench_info("robadj", "max_rel_error_s35", rs);
        bench_info("robadj", "held", (double)nb_ode_adjoint_held(r.adj));
        bench_info("robadj", "held_s35", (double)nb_ode_adjoint_held(r.adj_s));
        nb_ode_adjoint_free(r.adj);
        nb_ode_adjoint_free(r.adj_s);
    }
    free(e.u);
    nb_ode_adjoint_free(e.adj);
    nb_ode_adjoint_free(e.adj_s);
    nb_gsl_adapter_free(e.sens);
    return 0;
}
