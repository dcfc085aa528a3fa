/* bench_gsl.c - GSL solvers with nabla's derivatives, against the same solver with the plain
 * reference derivative.
 *   bfgs     extended Rosenbrock, n = 1000, BFGS2 to |g| <= 1e-6: the reference is BFGS2 with a
 *            hand-written gradient; `rev` uses nabla's adapter (reverse mode); `fd` a central
 *            finite-difference gradient (2n evaluations of f per gradient), for perspective: each
 *            of its solves takes over a minute, so it is the median of 3 single solves
 *   grad     one gradient of the same function at the start point, against the hand-written
 *            one: `rev` the adapter's df, `fd` central differences (2n evaluations of f), for
 *            perspective (a whole BFGS solve with it takes minutes)
 *   thurber  the whole NIST Thurber fit from start 2 (trust region, Levenberg scaling): the
 *            reference is GSL's internal finite-difference Jacobian (fdf.df = NULL); `jac` uses
 *            nabla's Jacobian, `jacfvv` adds geodesic acceleration with nabla's fvv
 *   robertson  Robertson's stiff kinetics (Hairer & Wanner's ROBER) from t = 0 to 4e5 with
 *            gsl_odeiv2's msbdf (tolerance 1e-8): the reference is the hand-written right-hand
 *            side and Jacobian; `jac` nabla's ODE adapter for both
 *   robsens  the same with its rate constants k as parameters and the sensitivities dy/dk
 *            integrated with y (a system of 12), to t = 4e5 with msbdf: the reference is the
 *            hand-written sensitivity system and its hand-written 12 x 12 Jacobian (second
 *            derivatives of f included); `sens` nabla's sensitivity adapter for both; `fd`
 *            central differences instead (seven solves of the hand-written 3-state system, k_j
 *            -+ 1e-4 k_j), for perspective
 * BENCHINFO: the iterations of each run; for robsens, the largest relative error of the central
 * differences against the sensitivities. */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_odeiv2.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "nabla/gsl.h"
#include "nist.h"

enum { N = 1000 };

/* ---- bfgs ---- */
static double rosen_plain(const gsl_vector *x, void *p) {
    (void)p;
    double s = 0;
    for (size_t i = 0; i + 1 < N; i++) {
        double a = gsl_vector_get(x, i + 1) - gsl_vector_get(x, i) * gsl_vector_get(x, i);
        double b = 1 - gsl_vector_get(x, i);
        s += 100 * a * a + b * b;
    }
    return s;
}
static void rosen_hand_df(const gsl_vector *x, void *p, gsl_vector *g) {
    (void)p;
    gsl_vector_set_zero(g);
    for (size_t i = 0; i + 1 < N; i++) {
        double xi = gsl_vector_get(x, i), a = gsl_vector_get(x, i + 1) - xi * xi;
        *gsl_vector_ptr(g, i) += -400 * a * xi - 2 * (1 - xi);
        *gsl_vector_ptr(g, i + 1) += 200 * a;
    }
}
static void rosen_fd_df(const gsl_vector *x0, void *p, gsl_vector *g) {
    gsl_vector *x = gsl_vector_alloc(N);
    gsl_vector_memcpy(x, x0);
    for (size_t i = 0; i < N; i++) {
        double xi = gsl_vector_get(x, i), h = 1e-6 * fmax(1, fabs(xi));
        gsl_vector_set(x, i, xi + h);
        double fp = rosen_plain(x, p);
        gsl_vector_set(x, i, xi - h);
        double fm = rosen_plain(x, p);
        gsl_vector_set(x, i, xi);
        gsl_vector_set(g, i, (fp - fm) / (2 * h));
    }
    gsl_vector_free(x);
}
static void rosen_hand_fdf(const gsl_vector *x, void *p, double *f, gsl_vector *g) {
    *f = rosen_plain(x, p);
    rosen_hand_df(x, p, g);
}
static void rosen_fd_fdf(const gsl_vector *x, void *p, double *f, gsl_vector *g) {
    *f = rosen_plain(x, p);
    rosen_fd_df(x, p, g);
}
static nb_var rosen(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    nb_var s = nb_const(0);
    for (size_t i = 0; i + 1 < N; i++) {
        nb_var a = nb_sub(c, x[i + 1], nb_mul(c, x[i], x[i])), b = nb_sub(c, nb_const(1), x[i]);
        s = nb_add(c, s, nb_add(c, nb_mul(c, nb_const(100), nb_mul(c, a, a)), nb_mul(c, b, b)));
    }
    return s;
}

struct env {
    gsl_multimin_function_fdf hand, fd;
    nb_gsl_adapter *a;
    size_t iters;
    const nist_problem *p;
    size_t fit_iters;
};

static gsl_vector *start_point(void) {
    gsl_vector *x0 = gsl_vector_alloc(N);
    if (x0)
        for (size_t i = 0; i < N; i++) gsl_vector_set(x0, i, i % 2 ? 1.0 : -1.2);
    return x0;
}
static size_t minimize(gsl_multimin_function_fdf *F) {
    gsl_multimin_fdfminimizer *s = gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, N);
    gsl_vector *x0 = start_point();
    gsl_multimin_fdfminimizer_set(s, F, x0, 0.01, 0.1);
    int status = GSL_CONTINUE;
    size_t it = 0;
    while (status == GSL_CONTINUE && it < 100000) {
        it++;
        if (gsl_multimin_fdfminimizer_iterate(s)) break;
        status = gsl_multimin_test_gradient(s->gradient, 1e-6);
    }
    bench_sink = s->f;
    gsl_multimin_fdfminimizer_free(s);
    gsl_vector_free(x0);
    return it;
}
static void bfgs_hand(void *p) { ((struct env *)p)->iters = minimize(&((struct env *)p)->hand); }
static void bfgs_rev(void *p) { ((struct env *)p)->iters = minimize(nb_gsl_multimin_fdf(((struct env *)p)->a)); }
struct genv {
    gsl_multimin_function_fdf *hand, *rev, *fd;
    gsl_vector *x, *g;
};
static void grad_with(gsl_multimin_function_fdf *F, struct genv *e) {
    F->df(e->x, F->params, e->g);
    bench_sink = gsl_vector_get(e->g, 0);
}
static void bfgs_fd(void *p) { ((struct env *)p)->iters = minimize(&((struct env *)p)->fd); }
static void grad_hand(void *p) { grad_with(((struct genv *)p)->hand, p); }
static void grad_rev(void *p) { grad_with(((struct genv *)p)->rev, p); }
static void grad_fd(void *p) { grad_with(((struct genv *)p)->fd, p); }

/* ---- thurber ---- */
static int thurber_f(const gsl_vector *b, void *params, gsl_vector *f) {
    const nist_problem *p = params;
    double r[NIST_MAXN];
    nist_residuals_plain(p, b->data, r);
    for (int i = 0; i < p->n; i++) gsl_vector_set(f, (size_t)i, r[i]);
    return GSL_SUCCESS;
}
static size_t fit(gsl_multifit_nlinear_fdf *fdf, const nist_problem *p, int accel) {
    gsl_multifit_nlinear_parameters params = gsl_multifit_nlinear_default_parameters();
    params.trs = accel ? gsl_multifit_nlinear_trs_lmaccel : gsl_multifit_nlinear_trs_lm;
    params.scale = gsl_multifit_nlinear_scale_levenberg;
    gsl_multifit_nlinear_workspace *w =
        gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &params, (size_t)p->n, (size_t)p->p);
    gsl_vector_const_view x0 = gsl_vector_const_view_array(p->start[1], (size_t)p->p);
    gsl_multifit_nlinear_init(&x0.vector, fdf, w);
    int info;
    gsl_multifit_nlinear_driver(1000, 1e-12, 1e-12, 0, NULL, NULL, &info, w);
    size_t it = gsl_multifit_nlinear_niter(w);
    bench_sink = gsl_vector_get(gsl_multifit_nlinear_position(w), 0);
    gsl_multifit_nlinear_free(w);
    return it;
}
static void thurber_fd(void *q) {
    struct env *e = q;
    gsl_multifit_nlinear_fdf fdf = {thurber_f, NULL, NULL, (size_t)e->p->n, (size_t)e->p->p, (void *)e->p, 0, 0, 0};
    e->fit_iters = fit(&fdf, e->p, 0);
}
static void thurber_jac(void *q) {
    struct env *e = q;
    gsl_multifit_nlinear_fdf *fdf = nb_gsl_multifit_fdf(e->a);
    int (*fvv)(const gsl_vector *, const gsl_vector *, void *, gsl_vector *) = fdf->fvv;
    fdf->fvv = NULL;
    e->fit_iters = fit(fdf, e->p, 0);
    fdf->fvv = fvv;
}
static void thurber_jacfvv(void *q) {
    struct env *e = q;
    e->fit_iters = fit(nb_gsl_multifit_fdf(e->a), e->p, 1);
}

/* ---- robertson ---- */
static int rober_f(double t, const double y[], double d[], void *p) {
    (void)t, (void)p;
    d[0] = -0.04 * y[0] + 1e4 * y[1] * y[2];
    d[1] = 0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] * y[1];
    d[2] = 3e7 * y[1] * y[1];
    return GSL_SUCCESS;
}
static int rober_j(double t, const double y[], double *J, double *dt, void *p) {
    (void)t, (void)p;
    J[0] = -0.04, J[1] = 1e4 * y[2], J[2] = 1e4 * y[1];
    J[3] = 0.04, J[4] = -1e4 * y[2] - 6e7 * y[1], J[5] = -1e4 * y[1];
    J[6] = 0, J[7] = 6e7 * y[1], J[8] = 0;
    dt[0] = dt[1] = dt[2] = 0;
    return GSL_SUCCESS;
}
static void rober(nb_ctx *c, nb_var t, const nb_var *y, nb_var *d, void *env) {
    (void)t, (void)env;
    nb_var a = nb_mul(c, nb_const(0.04), y[0]), b = nb_mul(c, nb_const(1e4), nb_mul(c, y[1], y[2]));
    nb_var q = nb_mul(c, nb_const(3e7), nb_mul(c, y[1], y[1]));
    d[0] = nb_sub(c, b, a);
    d[1] = nb_sub(c, nb_sub(c, a, b), q);
    d[2] = q;
}
static void rober_solve(const gsl_odeiv2_system *S) {
    gsl_odeiv2_driver *d = gsl_odeiv2_driver_alloc_y_new(S, gsl_odeiv2_step_msbdf, 1e-8, 1e-8, 1e-8);
    double t = 0, y[3] = {1, 0, 0};
    gsl_odeiv2_driver_apply(d, &t, 4e5, y);
    gsl_odeiv2_driver_free(d);
    bench_sink = y[0];
}
struct oenv {
    gsl_odeiv2_system hand, *nabla;
};
static void rober_hand(void *p) { rober_solve(&((struct oenv *)p)->hand); }
static void rober_jac(void *p) { rober_solve(((struct oenv *)p)->nabla); }

/* ---- robsens: u = (y, S_1, S_2, S_3), S_j = dy/dk_j; k = (k1, k2, k3) multiply y0, y1^2 and
 * y1 y2 ---- */
static const double RK[3] = {0.04, 3e7, 1e4};
static int rober_kf(double t, const double y[], double d[], void *p) {
    (void)t;
    const double *k = p;
    d[0] = -k[0] * y[0] + k[2] * y[1] * y[2];
    d[1] = k[0] * y[0] - k[2] * y[1] * y[2] - k[1] * y[1] * y[1];
    d[2] = k[1] * y[1] * y[1];
    return GSL_SUCCESS;
}
static int rober_kj(double t, const double y[], double *J, double *dt, void *p) {
    (void)t;
    const double *k = p;
    J[0] = -k[0], J[1] = k[2] * y[2], J[2] = k[2] * y[1];
    J[3] = k[0], J[4] = -k[2] * y[2] - 2 * k[1] * y[1], J[5] = -k[2] * y[1];
    J[6] = 0, J[7] = 2 * k[1] * y[1], J[8] = 0;
    dt[0] = dt[1] = dt[2] = 0;
    return GSL_SUCCESS;
}
static int sens_f(double t, const double u[], double d[], void *p) {
    double J[9], dt[3];
    rober_kf(t, u, d, (void *)RK);
    rober_kj(t, u, J, dt, (void *)RK);
    const double y0 = u[0], y1 = u[1], y2 = u[2];
    const double fk[3][3] = {{-y0, y0, 0}, {0, -y1 * y1, y1 * y1}, {y1 * y2, -y1 * y2, 0}};
    for (int j = 0; j < 3; j++) {
        const double *S = u + 3 * (1 + j);
        for (int i = 0; i < 3; i++)
            d[3 * (1 + j) + i] = J[3 * i] * S[0] + J[3 * i + 1] * S[1] + J[3 * i + 2] * S[2] + fk[j][i];
    }
    (void)p;
    return GSL_SUCCESS;
}
static int sens_j(double t, const double u[], double *A, double *dt, void *p) {
    (void)p;
    double J[9], d3[3];
    rober_kj(t, u, J, d3, (void *)RK);
    for (int i = 0; i < 144; i++) A[i] = 0;
    for (int i = 0; i < 12; i++) dt[i] = 0;
    const double *k = RK, y1 = u[1], y2 = u[2];
    for (int b = 0; b < 4; b++) /* J on the block diagonal */
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) A[(3 * b + i) * 12 + 3 * b + j] = J[3 * i + j];
    for (int s = 0; s < 3; s++) {
        const double *S = u + 3 * (1 + s);
        double *r0 = A + (3 * (1 + s)) * 12, *r1 = r0 + 12, *r2 = r1 + 12;
        /* d (J S)/dy1 and d (J S)/dy2 */
        r0[1] += k[2] * S[2], r1[1] += -2 * k[1] * S[1] - k[2] * S[2], r2[1] += 2 * k[1] * S[1];
        r0[2] += k[2] * S[1], r1[2] += -k[2] * S[1];
        /* d f_k/dy */
        if (s == 0) r0[0] += -1, r1[0] += 1;
        if (s == 1) r1[1] += -2 * y1, r2[1] += 2 * y1;
        if (s == 2) r0[1] += y2, r1[1] += -y2, r0[2] += y1, r1[2] += -y1;
    }
    return GSL_SUCCESS;
}
static void rober_ksens(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *k, nb_var *d,
                        void *env) {
    (void)t, (void)env;
    nb_var a = nb_mul(c, k[0], y[0]), b = nb_mul(c, k[2], nb_mul(c, y[1], y[2]));
    nb_var q = nb_mul(c, k[1], nb_mul(c, y[1], y[1]));
    d[0] = nb_sub(c, b, a);
    d[1] = nb_sub(c, nb_sub(c, a, b), q);
    d[2] = q;
}
static void sens_solve(const gsl_odeiv2_system *S, double *u) {
    gsl_odeiv2_driver *d = gsl_odeiv2_driver_alloc_y_new(S, gsl_odeiv2_step_msbdf, 1e-8, 1e-8, 1e-8);
    double t = 0;
    for (int i = 0; i < 12; i++) u[i] = i == 0;
    gsl_odeiv2_driver_apply(d, &t, 4e5, u);
    gsl_odeiv2_driver_free(d);
    bench_sink = u[5];
}
struct senv {
    gsl_odeiv2_system hand, *nabla;
    double u[12], fd[9];
};
static void sens_hand(void *p) { sens_solve(&((struct senv *)p)->hand, ((struct senv *)p)->u); }
static void sens_nabla(void *p) { sens_solve(((struct senv *)p)->nabla, ((struct senv *)p)->u); }
static void rober_k_solve(const double *k, double *y) {
    const gsl_odeiv2_system sys = {rober_kf, rober_kj, 3, (void *)k};
    gsl_odeiv2_driver *d = gsl_odeiv2_driver_alloc_y_new(&sys, gsl_odeiv2_step_msbdf, 1e-8, 1e-8, 1e-8);
    double t = 0;
    y[0] = 1, y[1] = y[2] = 0;
    gsl_odeiv2_driver_apply(d, &t, 4e5, y);
    gsl_odeiv2_driver_free(d);
}
static void sens_fd(void *p) {
    struct senv *e = p;
    double y[3];
    rober_k_solve(RK, y);
    for (int j = 0; j < 3; j++) {
        double k[3] = {RK[0], RK[1], RK[2]}, yp[3], ym[3], h = 1e-4 * RK[j];
        k[j] = RK[j] + h;
        rober_k_solve(k, yp);
        k[j] = RK[j] - h;
        rober_k_solve(k, ym);
        for (int i = 0; i < 3; i++) e->fd[3 * j + i] = (yp[i] - ym[i]) / (2 * h);
    }
    bench_sink = y[0] + e->fd[4];
}

int main(void) {
    gsl_set_error_handler_off();
    {
        nb_gsl_adapter *sa = NULL;
        if (nb_gsl_odeiv2_sens_new(&sa, rober_ksens, NULL, 3, 3, RK, NULL)) return 1;
        struct senv o = {{sens_f, sens_j, 12, NULL}, nb_gsl_odeiv2_system(sa), {0}, {0}};
        double uh[12];
        sens_hand(&o);
        for (int i = 0; i < 12; i++) uh[i] = o.u[i];
        sens_nabla(&o);
        /* the two systems are the same: their solutions agree to what the tolerance (1e-8 per
         * step, over 4e5 time units) leaves of rounding differences (up to 2.5e-6 measured) */
        for (int i = 0; i < 12; i++)
            if (!(fabs(o.u[i] - uh[i]) <= 1e-5 * fabs(uh[i]))) {
                fprintf(stderr, "robsens: u[%d] = %.17g, hand-written %.17g\n", i, o.u[i], uh[i]);
                return 1;
            }
        bench_report("robsens", "sens", bench_ratio(sens_hand, sens_nabla, &o, 11, 0.05));
        bench_report("robsens", "fd", bench_ratio(sens_hand, sens_fd, &o, 5, 0.05));
        double worst = 0; /* the differences' error, relative to the hand-written sensitivities */
        for (int i = 0; i < 9; i++)
            worst = fmax(worst, fabs(o.fd[i] - uh[3 + i]) / fabs(uh[3 + i]));
        bench_info("robsens", "fd_max_rel_error", worst);
        if (nb_gsl_adapter_status(sa)) return 1;
        nb_gsl_adapter_free(sa);
    }
    {
        nb_gsl_adapter *oa = NULL;
        if (nb_gsl_odeiv2_new(&oa, rober, NULL, 3, NULL)) return 1;
        struct oenv o = {{rober_f, rober_j, 3, NULL}, nb_gsl_odeiv2_system(oa)};
        bench_report("robertson", "jac", bench_ratio(rober_hand, rober_jac, &o, 11, 0.05));
        if (nb_gsl_adapter_status(oa)) return 1;
        nb_gsl_adapter_free(oa);
    }
    struct env e = {{rosen_plain, rosen_hand_df, rosen_hand_fdf, N, NULL},
                    {rosen_plain, rosen_fd_df, rosen_fd_fdf, N, NULL}, NULL, 0, NULL, 0};
    if (nb_gsl_multimin_new(&e.a, rosen, NULL, N, NULL)) return 1;
    bench_report("bfgs", "rev", bench_ratio(bfgs_hand, bfgs_rev, &e, 5, 0.2));
    size_t it_rev = e.iters;
    bfgs_hand(&e);
    bench_info("bfgs", "iterations_hand", (double)e.iters);
    bench_info("bfgs", "iterations_rev", (double)it_rev);
    bench_report("bfgs", "fd", bench_ratio(bfgs_hand, bfgs_fd, &e, 3, 0));
    bench_info("bfgs", "iterations_fd", (double)e.iters);
    struct genv g = {&e.hand, nb_gsl_multimin_fdf(e.a), &e.fd, start_point(), gsl_vector_alloc(N)};
    if (!g.x || !g.g) return 1;
    bench_report("grad", "rev", bench_ratio(grad_hand, grad_rev, &g, 11, 0.05));
    bench_report("grad", "fd", bench_ratio(grad_hand, grad_fd, &g, 5, 0.05));
    gsl_vector_free(g.x);
    gsl_vector_free(g.g);
    nb_gsl_adapter_free(e.a);

    static nist_problem p;
    if (nist_load(BENCH_DATA_DIR "/nist/Thurber.txt", &p)) return 1;
    e.p = &p;
    if (nb_gsl_multifit_new(&e.a, nist_residuals, &p, (size_t)p.p, (size_t)p.n, NULL)) return 1;
    bench_report("thurber", "jac", bench_ratio(thurber_fd, thurber_jac, &e, 11, 0.05));
    size_t it_jac = e.fit_iters;
    bench_report("thurber", "jacfvv", bench_ratio(thurber_fd, thurber_jacfvv, &e, 11, 0.05));
    size_t it_fvv = e.fit_iters;
    thurber_fd(&e);
    bench_info("thurber", "iterations_fdjac", (double)e.fit_iters);
    bench_info("thurber", "iterations_jac", (double)it_jac);
    bench_info("thurber", "iterations_jacfvv", (double)it_fvv);
    nb_gsl_adapter_free(e.a);
    return 0;
}
