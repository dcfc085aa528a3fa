/* test_gsl.c - GSL's solvers with only nabla's derivatives: least squares (gsl_multifit_nlinear,
 * with and without geodesic acceleration through nabla's fvv, and gsl_multilarge_nlinear through
 * products with the Jacobian) on the NIST StRD problems, root finding (gsl_multiroot hybridsj),
 * stiff ODEs (gsl_odeiv2 msbdf and bsimp), one-dimensional root finding and minimization, and the
 * adapters' contracts (no allocation after the first call, errors kept in the adapter). The
 * Moré-Garbow-Hillstrom minimization runs are in test_mgh.c. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_min.h>
#include <gsl/gsl_roots.h>

#include "nabla/gsl.h"
#include "nabla/nabla.h"
#include "nist.h"
#include "oracle.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

/* ---- NIST StRD with gsl_multifit_nlinear ---- */

struct fit_result {
    int status;
    double x[NIST_MAXP], rss;
    size_t iter;
};


/* accel: 0 lm, 1 lmaccel with nabla's fvv, 2 lmaccel with GSL's finite-difference fvv */
static struct fit_result fit(const nist_problem *p, int start, int accel,
                             const gsl_multifit_nlinear_scale *scale) {
    struct fit_result res = {0};
    nb_gsl_adapter *a = NULL;
    cr_assert_eq(nb_gsl_multifit_new(&a, nist_residuals, (void *)p, (size_t)p->p, (size_t)p->n, NULL), NB_OK);
    gsl_multifit_nlinear_fdf *fdf = nb_gsl_multifit_fdf(a);
    if (accel != 1) fdf->fvv = NULL;
    gsl_multifit_nlinear_parameters params = gsl_multifit_nlinear_default_parameters();
    params.trs = accel ? gsl_multifit_nlinear_trs_lmaccel : gsl_multifit_nlinear_trs_lm;
    params.scale = scale;
    gsl_multifit_nlinear_workspace *w =
        gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &params, (size_t)p->n, (size_t)p->p);
    gsl_vector_const_view x0 = gsl_vector_const_view_array(p->start[start], (size_t)p->p);
    gsl_multifit_nlinear_init(&x0.vector, fdf, w);
    int info;
    res.status = gsl_multifit_nlinear_driver(2000, 1e-12, 1e-12, 0, NULL, NULL, &info, w);
    gsl_vector *x = gsl_multifit_nlinear_position(w);
    gsl_vector *f = gsl_multifit_nlinear_residual(w);
    for (int i = 0; i < p->p; i++) res.x[i] = gsl_vector_get(x, (size_t)i);
    res.rss = 0;
    for (int i = 0; i < p->n; i++) res.rss += gsl_vector_get(f, (size_t)i) * gsl_vector_get(f, (size_t)i);
    res.iter = gsl_multifit_nlinear_niter(w);
    cr_expect_eq(nb_gsl_adapter_status(a), NB_OK, "%s: no nabla error in the callbacks", p->name);
    gsl_multifit_nlinear_free(w);
    nb_gsl_adapter_free(a);
    return res;
}

static void check_nist(const char *name, double tol) {
    gsl_set_error_handler_off();
    char path[256];
    snprintf(path, sizeof path, "%s/nist/%s.txt", TEST_DATA_DIR, name);
    nist_problem p;
    cr_assert_eq(nist_load(path, &p), 0, "cannot read %s", path);
    for (int start = 0; start < 2; start++)
        for (int accel = 0; accel < 2; accel++) {
            struct fit_result r = fit(&p, start, accel, gsl_multifit_nlinear_scale_levenberg);
            int boxbod1 = strcmp(name, "BoxBOD") == 0 && start == 0;
            int ok = r.status == GSL_SUCCESS && close_to(r.rss, p.rss, tol, 0);
            for (int i = 0; i < p.p; i++) ok &= close_to(r.x[i], p.certified[i], tol, 0);
            if (boxbod1) {
                /* GSL's own suite records BoxBOD from start 1 (b = (1, 1)) as a failure for every
                 * method and leaves it out. Here, with Levenberg scaling, both methods reach the
                 * certified values: the outcome is named in the log and checked. */
                cr_log_info("BoxBOD start 1 (%s): %s after %zu iterations, rss %.9g (certified "
                            "%.9g), b = (%.9g, %.9g): %s", accel ? "lmaccel" : "lm",
                            gsl_strerror(r.status), r.iter, r.rss, p.rss, r.x[0], r.x[1],
                            ok ? "converged to the certified values" : "did not converge");
                cr_expect(ok, "BoxBOD start 1 (%s): the outcome changed", accel ? "lmaccel" : "lm");
                continue;
            }
            cr_expect(ok, "%s start %d %s: status %s, %zu iterations, rss %.12g vs certified %.12g",
                      name, start + 1, accel ? "lmaccel" : "lm", gsl_strerror(r.status), r.iter,
                      r.rss, p.rss);
            for (int i = 0; i < p.p; i++)
                cr_expect(close_to(r.x[i], p.certified[i], tol, 0),
                          "%s start %d %s: b%d = %.12g, certified %.12g", name, start + 1,
                          accel ? "lmaccel" : "lm", i + 1, r.x[i], p.certified[i]);
        }
}

/* GSL's own test tolerances: 1e-6 relative for Thurber and Rat43, 1e-7 for the others. The
 * fits use Levenberg's scaling of the trust region (one of the two GSL's suite runs); with
 * More's (GSL's default), geodesic acceleration from Rat43's start 1 stops at a wrong point -
 * see the next test. */
Test(nist, Misra1a) { check_nist("Misra1a", 1e-7); }
Test(nist, Thurber) { check_nist("Thurber", 1e-6); }
Test(nist, Eckerle4) { check_nist("Eckerle4", 1e-7); }
Test(nist, Rat43) { check_nist("Rat43", 1e-6); }
Test(nist, BoxBOD) { check_nist("BoxBOD", 1e-7); }

/* With GSL's default More scaling, lmaccel from Rat43's start 1 (100, 10, 1, 1) accepts a step to
 * b4 < 0 and stops after 7 iterations at rss ~1e6; GSL's own finite-difference fvv does the same,
 * so it is the method from that start, not nabla's fvv (GSL's suite leaves rat43a out). This
 * records the outcome and checks that nabla's fvv and GSL's agree on it. */
Test(nist, rat43_start1_lmaccel_more_scaling_stops_early_with_either_fvv) {
    gsl_set_error_handler_off();
    char path[256];
    snprintf(path, sizeof path, "%s/nist/Rat43.txt", TEST_DATA_DIR);
    nist_problem p;
    cr_assert_eq(nist_load(path, &p), 0);
    struct fit_result ours = fit(&p, 0, 1, gsl_multifit_nlinear_scale_more);
    struct fit_result gsls = fit(&p, 0, 2, gsl_multifit_nlinear_scale_more);
    cr_log_info("Rat43 start 1, lmaccel, More scaling: nabla fvv rss %.6g after %zu iterations, "
                "GSL fvv rss %.6g after %zu (certified %.6g)", ours.rss, ours.iter, gsls.rss,
                gsls.iter, p.rss);
    cr_expect_eq(ours.iter, gsls.iter);
    cr_expect(close_to(ours.x[0], gsls.x[0], 1e-6, 0), "the same stopping point: b1 %.9g vs %.9g",
              ours.x[0], gsls.x[0]);
    /* and with lm (no acceleration) the same scaling converges */
    struct fit_result lm = fit(&p, 0, 0, gsl_multifit_nlinear_scale_more);
    cr_expect(close_to(lm.rss, p.rss, 1e-6, 0), "lm, More scaling: rss %.12g", lm.rss);
}

/* The Jacobian and fvv the adapter hands GSL, against finite differences of the residuals. */
struct nist_slice {
    const nist_problem *p;
    double b[NIST_MAXP];
    int i, j;
};
static double nist_component(double t, void *q) {
    struct nist_slice *s = q;
    double b[NIST_MAXP], r[NIST_MAXN];
    memcpy(b, s->b, sizeof b);
    b[s->j] = t;
    nist_residuals_plain(s->p, b, r);
    return r[s->i];
}

Test(nist, jacobian_and_fvv_against_finite_differences) {
    nist_problem p;
    char path[256];
    snprintf(path, sizeof path, "%s/nist/Thurber.txt", TEST_DATA_DIR);
    cr_assert_eq(nist_load(path, &p), 0);
    nb_gsl_adapter *a = NULL;
    cr_assert_eq(nb_gsl_multifit_new(&a, nist_residuals, &p, (size_t)p.p, (size_t)p.n, NULL), NB_OK);
    gsl_multifit_nlinear_fdf *fdf = nb_gsl_multifit_fdf(a);
    gsl_vector_view b = gsl_vector_view_array(p.start[1], (size_t)p.p);
    gsl_matrix *J = gsl_matrix_alloc((size_t)p.n, (size_t)p.p);
    gsl_vector *f = gsl_vector_alloc((size_t)p.n), *fvv = gsl_vector_alloc((size_t)p.n);
    cr_assert_eq(fdf->df(&b.vector, fdf->params, J), GSL_SUCCESS);
    cr_assert_eq(fdf->f(&b.vector, fdf->params, f), GSL_SUCCESS);
    for (int i = 0; i < p.n; i += 6)
        for (int j = 0; j < p.p; j++) {
            struct nist_slice s = {&p, {0}, i, j};
            memcpy(s.b, p.start[1], sizeof s.b);
            double err, fd = fd_central(nist_component, &s, s.b[j], 1e-6 * fabs(s.b[j]), &err);
            double got = gsl_matrix_get(J, (size_t)i, (size_t)j);
            cr_expect(fabs(got - fd) <= 4 * err + 1e-7 * fabs(got), "J[%d][%d] = %.12g, fd %.12g", i, j,
                      got, fd);
        }
    /* fvv along v against the second difference of the residuals along v */
    double v[NIST_MAXP] = {1, -2, 0.5, 0.1, 1e-3, 2e-3, -1e-4};
    gsl_vector_view vv = gsl_vector_view_array(v, (size_t)p.p);
    cr_assert_eq(fdf->fvv(&b.vector, &vv.vector, fdf->params, fvv), GSL_SUCCESS);
    double h = 1e-3, bp[NIST_MAXP], bm[NIST_MAXP], rp[NIST_MAXN], rm[NIST_MAXN], r0[NIST_MAXN];
    for (int j = 0; j < p.p; j++) bp[j] = p.start[1][j] + h * v[j], bm[j] = p.start[1][j] - h * v[j];
    nist_residuals_plain(&p, bp, rp);
    nist_residuals_plain(&p, bm, rm);
    nist_residuals_plain(&p, p.start[1], r0);
    for (int i = 0; i < p.n; i++) {
        double fd2 = (rp[i] - 2 * r0[i] + rm[i]) / (h * h);
        double got = gsl_vector_get(fvv, (size_t)i);
        /* the second difference is good to O(h^2) relative: 1e-4 with a floor for its rounding */
        cr_expect(close_to(got, fd2, 1e-4, 1e-6 * fabs(r0[i]) / (h * h) * 1e-6),
                  "fvv[%d] = %.12g, second difference %.12g", i, got, fd2);
    }
    gsl_matrix_free(J);
    gsl_vector_free(f);
    gsl_vector_free(fvv);
    nb_gsl_adapter_free(a);
}

/* ---- root finding: gsl_multiroot_fdfsolver_hybridsj ---- */

static void rosen_system(nb_ctx *c, const nb_var *x, nb_var *r, void *env) {
    (void)env;
    r[0] = nb_mul(c, nb_const(10), nb_sub(c, x[1], nb_mul(c, x[0], x[0])));
    r[1] = nb_sub(c, nb_const(1), x[0]);
}
static void powell_singular(nb_ctx *c, const nb_var *x, nb_var *r, void *env) {
    (void)env;
    r[0] = nb_add(c, x[0], nb_mul(c, nb_const(10), x[1]));
    r[1] = nb_mul(c, nb_const(sqrt(5.0)), nb_sub(c, x[2], x[3]));
    r[2] = nb_powi(c, nb_sub(c, x[1], nb_mul(c, nb_const(2), x[2])), 2);
    r[3] = nb_mul(c, nb_const(sqrt(10.0)), nb_powi(c, nb_sub(c, x[0], x[3]), 2));
}
enum { BROYDEN_N = 100 };
static void broyden_tridiagonal(nb_ctx *c, const nb_var *x, nb_var *r, void *env) {
    (void)env;
    for (int i = 0; i < BROYDEN_N; i++) {
        nb_var left = i > 0 ? x[i - 1] : nb_const(0), right = i + 1 < BROYDEN_N ? x[i + 1] : nb_const(0);
        nb_var t = nb_mul(c, nb_sub(c, nb_const(3), nb_mul(c, nb_const(2), x[i])), x[i]);
        r[i] = nb_add(c, nb_sub(c, nb_sub(c, t, left), nb_mul(c, nb_const(2), right)), nb_const(1));
    }
}

static double solve(nb_vfn f, size_t n, const double *x0, double *x, size_t *iters) {
    gsl_set_error_handler_off();
    nb_gsl_adapter *a = NULL;
    cr_assert_eq(nb_gsl_multiroot_new(&a, f, NULL, n, NULL), NB_OK);
    gsl_multiroot_fdfsolver *s = gsl_multiroot_fdfsolver_alloc(gsl_multiroot_fdfsolver_hybridsj, n);
    gsl_vector_const_view v = gsl_vector_const_view_array(x0, n);
    gsl_multiroot_fdfsolver_set(s, nb_gsl_multiroot_fdf(a), &v.vector);
    int status = GSL_CONTINUE;
    size_t it = 0;
    while (status == GSL_CONTINUE && it < 1000) {
        it++;
        if (gsl_multiroot_fdfsolver_iterate(s)) break;
        status = gsl_multiroot_test_residual(s->f, 1e-12);
    }
    double norm = 0;
    for (size_t i = 0; i < n; i++) {
        x[i] = gsl_vector_get(s->x, i);
        norm = fmax(norm, fabs(gsl_vector_get(s->f, i)));
    }
    cr_expect_eq(nb_gsl_adapter_status(a), NB_OK);
    *iters = it;
    gsl_multiroot_fdfsolver_free(s);
    nb_gsl_adapter_free(a);
    return norm;
}

Test(multiroot, rosenbrock_powell_broyden) {
    double x[BROYDEN_N], x0[BROYDEN_N];
    size_t it;
    double r = solve(rosen_system, 2, (double[]){-1.2, 1}, x, &it);
    cr_expect(r <= 1e-12 && close_to(x[0], 1, 1e-12, 0) && close_to(x[1], 1, 1e-12, 0),
              "Rosenbrock: |f| %g at (%g, %g) after %zu iterations", r, x[0], x[1], it);
    /* Powell's singular system: the root 0 has a singular Jacobian, so convergence is linear */
    r = solve(powell_singular, 4, (double[]){3, -1, 0, 1}, x, &it);
    cr_expect(r <= 1e-12 && fabs(x[0]) < 1e-4 && fabs(x[3]) < 1e-4,
              "Powell singular: |f| %g at (%g, %g, %g, %g) after %zu iterations", r, x[0], x[1],
              x[2], x[3], it);
    for (int i = 0; i < BROYDEN_N; i++) x0[i] = -1;
    r = solve(broyden_tridiagonal, BROYDEN_N, x0, x, &it);
    cr_expect(r <= 1e-12, "Broyden tridiagonal n=100: |f| %g after %zu iterations", r, it);
}

/* ---- one dimension: Newton's method and Brent's minimizer ---- */

static nb_var cos_minus_x(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_sub(c, nb_cos(c, x[0]), x[0]);
}
static nb_var well(nb_ctx *c, const nb_var *x, void *env) {
    (void)env; /* (x - 2)^2 + exp(x) / 10: minimum where 2(x-2) + exp(x)/10 = 0 */
    return nb_add(c, nb_powi(c, nb_sub(c, x[0], nb_const(2)), 2), nb_div(c, nb_exp(c, x[0]), nb_const(10)));
}

Test(one_dimension, newton_and_brent) {
    gsl_set_error_handler_off();
    nb_gsl_adapter *a = NULL;
    cr_assert_eq(nb_gsl_function_new(&a, cos_minus_x, NULL, NULL), NB_OK);
    gsl_root_fdfsolver *s = gsl_root_fdfsolver_alloc(gsl_root_fdfsolver_newton);
    gsl_root_fdfsolver_set(s, nb_gsl_function_fdf(a), 1.0);
    double x = 1, prev;
    int status = GSL_CONTINUE, it = 0;
    while (status == GSL_CONTINUE && it++ < 50) {
        gsl_root_fdfsolver_iterate(s);
        prev = x;
        x = gsl_root_fdfsolver_root(s);
        status = gsl_root_test_delta(x, prev, 0, 1e-15);
    }
    cr_expect(close_to(x, 0.7390851332151607, 1e-15, 0), "the Dottie number: %.17g", x);
    gsl_root_fdfsolver_free(s);
    nb_gsl_adapter_free(a);

    cr_assert_eq(nb_gsl_function_new(&a, well, NULL, NULL), NB_OK);
    gsl_min_fminimizer *m = gsl_min_fminimizer_alloc(gsl_min_fminimizer_brent);
    gsl_min_fminimizer_set(m, nb_gsl_function(a), 1.5, 0, 3);
    status = GSL_CONTINUE;
    it = 0;
    while (status == GSL_CONTINUE && it++ < 100) {
        gsl_min_fminimizer_iterate(m);
        status = gsl_min_test_interval(gsl_min_fminimizer_x_lower(m), gsl_min_fminimizer_x_upper(m), 1e-10, 0);
    }
    double xm = gsl_min_fminimizer_x_minimum(m);
    cr_expect(fabs(2 * (xm - 2) + exp(xm) / 10) < 1e-8, "Brent: f'(%.12g) = %g", xm, 2 * (xm - 2) + exp(xm) / 10);
    gsl_min_fminimizer_free(m);
    nb_gsl_adapter_free(a);
}

/* ---- the adapters' contracts ---- */

static nb_var rosen2(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    nb_var a = nb_sub(c, x[1], nb_mul(c, x[0], x[0])), b = nb_sub(c, nb_const(1), x[0]);
    return nb_add(c, nb_mul(c, nb_const(100), nb_mul(c, a, a)), nb_mul(c, b, b));
}

Test(adapter, no_allocation_after_the_first_iteration) {
    gsl_set_error_handler_off();
    nb_gsl_adapter *a = NULL;
    cr_assert_eq(nb_gsl_multimin_new(&a, rosen2, NULL, 2, NULL), NB_OK);
    gsl_multimin_fdfminimizer *s = gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, 2);
    gsl_vector_const_view x0 = gsl_vector_const_view_array((double[]){-1.2, 1}, 2);
    gsl_multimin_fdfminimizer_set(s, nb_gsl_multimin_fdf(a), &x0.vector, 0.01, 0.1);
    gsl_multimin_fdfminimizer_iterate(s);
    size_t bytes = nb_ctx_bytes(nb_gsl_adapter_ctx(a));
    int status = GSL_CONTINUE, it = 0;
    while (status == GSL_CONTINUE && it++ < 1000) {
        if (gsl_multimin_fdfminimizer_iterate(s)) break;
        status = gsl_multimin_test_gradient(s->gradient, 1e-10);
        cr_assert_eq(nb_ctx_bytes(nb_gsl_adapter_ctx(a)), bytes, "iteration %d allocated", it);
    }
    cr_expect(close_to(gsl_vector_get(s->x, 0), 1, 1e-8, 0), "x = %.12g", gsl_vector_get(s->x, 0));
    gsl_multimin_fdfminimizer_free(s);
    nb_gsl_adapter_free(a);
}

/* A user function that fails inside: it uses a handle of a level it popped itself. */
static nb_var broken(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    nb_push(c, NB_FORWARD);
    nb_var t = nb_fwd_input(c, x[0], nb_const(1));
    nb_pop(c);
    return nb_mul(c, t, x[1]);
}

/* A user function that pushes a level and leaves it. */
static nb_var leaves_a_level(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    nb_push(c, NB_REVERSE);
    return nb_mul(c, x[0], x[1]);
}

Test(adapter, an_unbalanced_function_is_an_error_on_plain_values_too) {
    nb_gsl_adapter *a = NULL;
    cr_assert_eq(nb_gsl_multimin_new(&a, leaves_a_level, NULL, 2, NULL), NB_OK);
    gsl_multimin_function_fdf *F = nb_gsl_multimin_fdf(a);
    gsl_vector *x = gsl_vector_alloc(2), *g = gsl_vector_alloc(2);
    gsl_vector_set_all(x, 2);
    cr_expect(isnan(F->f(x, F->params)), "f on plain values with a level left behind");
    cr_expect_eq(nb_gsl_adapter_status(a), NB_E_LEVEL);
    cr_expect_eq(nb_depth(nb_gsl_adapter_ctx(a)), 0, "no level left behind");
    nb_gsl_adapter_clear(a);
    F->df(x, F->params, g);
    cr_expect(isnan(gsl_vector_get(g, 0)) && isnan(gsl_vector_get(g, 1)));
    cr_expect_eq(nb_gsl_adapter_status(a), NB_E_LEVEL);
    cr_expect_eq(nb_depth(nb_gsl_adapter_ctx(a)), 0);
    gsl_vector_free(x);
    gsl_vector_free(g);
    nb_gsl_adapter_free(a);
}

/* Residuals r = (x0^2, sin x1) that push a level and leave it (mode 0), pop one they did not
 * push (1), or pop the caller's and push their own in its place (2); mode 3 is well behaved. */
static void unbalanced_residuals(nb_ctx *c, const nb_var *x, nb_var *y, void *env) {
    int mode = *(const int *)env;
    y[0] = nb_mul(c, x[0], x[0]);
    y[1] = nb_sin(c, x[1]);
    if (mode == 1 || mode == 2) nb_pop(c);
    if (mode == 0 || mode == 2) nb_push(c, NB_FORWARD);
}

/* fvv pushed its two levels and popped them blindly: an unbalanced residual function gave
 * GSL_SUCCESS with fvv = 0 and the next callback failed (found by a review). */
Test(adapter, fvv_keeps_the_drivers_protocol) {
    int mode = 0;
    nb_gsl_adapter *a = NULL;
    cr_assert_eq(nb_gsl_multifit_new(&a, unbalanced_residuals, &mode, 2, 2, NULL), NB_OK);
    gsl_multifit_nlinear_fdf *F = nb_gsl_multifit_fdf(a);
    gsl_vector *x = gsl_vector_alloc(2), *v = gsl_vector_alloc(2), *fvv = gsl_vector_alloc(2);
    gsl_vector_set(x, 0, 1), gsl_vector_set(x, 1, 0.5);
    gsl_vector_set(v, 0, 1), gsl_vector_set(v, 1, 1);
    for (mode = 0; mode < 3; mode++) {
        nb_gsl_adapter_clear(a);
        cr_expect_eq(F->fvv(x, v, F->params, fvv), GSL_EBADFUNC, "mode %d", mode);
        cr_expect(isnan(gsl_vector_get(fvv, 0)) && isnan(gsl_vector_get(fvv, 1)), "mode %d", mode);
        cr_expect_eq(nb_gsl_adapter_status(a), NB_E_LEVEL, "mode %d: %d", mode,
                     nb_gsl_adapter_status(a));
        cr_expect_eq(nb_depth(nb_gsl_adapter_ctx(a)), 0, "mode %d", mode);
    }
    /* well behaved again: v^T r'' v = (2 v0^2, -sin(x1) v1^2) */
    mode = 3;
    nb_gsl_adapter_clear(a);
    cr_expect_eq(F->fvv(x, v, F->params, fvv), GSL_SUCCESS);
    cr_expect_eq(gsl_vector_get(fvv, 0), 2.0);
    cr_expect(fabs(gsl_vector_get(fvv, 1) + sin(0.5)) < 1e-15);
    cr_expect_eq(nb_gsl_adapter_status(a), NB_OK);
    gsl_vector_free(x);
    gsl_vector_free(v);
    gsl_vector_free(fvv);
    nb_gsl_adapter_free(a);
}

Test(adapter, errors_are_kept_and_callbacks_return_nan) {
    nb_gsl_adapter *a = NULL;
    cr_assert_eq(nb_gsl_multimin_new(&a, broken, NULL, 2, NULL), NB_OK);
    gsl_multimin_function_fdf *F = nb_gsl_multimin_fdf(a);
    gsl_vector *x = gsl_vector_alloc(2), *g = gsl_vector_alloc(2);
    gsl_vector_set_all(x, 1);
    cr_expect(isnan(F->f(x, F->params)));
    cr_expect_eq(nb_gsl_adapter_status(a), NB_E_STALE);
    nb_gsl_adapter_clear(a);
    F->df(x, F->params, g);
    cr_expect(isnan(gsl_vector_get(g, 0)) && isnan(gsl_vector_get(g, 1)));
    cr_expect_eq(nb_gsl_adapter_status(a), NB_E_STALE);
    cr_expect_eq(nb_depth(nb_gsl_adapter_ctx(a)), 0, "no level left behind");
    gsl_vector_free(x);
    gsl_vector_free(g);
    nb_gsl_adapter_free(a);
    /* bad arguments */
    cr_expect_eq(nb_gsl_multimin_new(&a, NULL, NULL, 2, NULL), NB_E_ARG);
    cr_expect_eq(nb_gsl_multimin_new(&a, rosen2, NULL, 0, NULL), NB_E_ARG);
    /* sizes whose arrays overflow: NB_E_ARG, as the header says, not NB_E_NOMEM (a review) */
    cr_expect_eq(nb_gsl_multimin_new(&a, rosen2, NULL, SIZE_MAX / 8, NULL), NB_E_ARG);
    cr_expect_eq(nb_gsl_multimin_new(&a, rosen2, NULL, SIZE_MAX, NULL), NB_E_ARG);
    cr_expect_null(a);
    cr_expect_null(nb_gsl_multiroot_fdf(NULL));
    nb_gsl_adapter_free(NULL);
}

/* GSL hands callbacks views as well as whole vectors: strided vectors and a Jacobian inside a
 * larger matrix (tda > size2) are read and written element by element, with the same numbers
 * as contiguous ones; a vector or matrix of the wrong size is NB_E_ARG, never a read or write
 * past its end. */
Test(adapter, strided_views_and_wrong_sizes) {
    gsl_set_error_handler_off();
    nb_gsl_adapter *a = NULL;
    cr_assert_eq(nb_gsl_multimin_new(&a, rosen2, NULL, 2, NULL), NB_OK);
    gsl_multimin_function_fdf *F = nb_gsl_multimin_fdf(a);
    const double x0 = -1.2, x1 = 1, r = x1 - x0 * x0;
    const double g0 = -400 * r * x0 - 2 * (1 - x0), g1 = 200 * r;
    double xs[4] = {x0, 99, x1, 99}, gs[4] = {7, 7, 7, 7};
    gsl_vector_view x = gsl_vector_view_array_with_stride(xs, 2, 2);
    gsl_vector_view g = gsl_vector_view_array_with_stride(gs, 2, 2);
    cr_expect_eq(F->f(&x.vector, F->params), 100 * r * r + (1 - x0) * (1 - x0));
    double f = 0;
    F->fdf(&x.vector, F->params, &f, &g.vector);
    cr_expect_eq(f, 100 * r * r + (1 - x0) * (1 - x0));
    cr_expect(gs[0] == g0 && gs[2] == g1 && gs[1] == 7 && gs[3] == 7, "g = %g %g %g %g", gs[0], gs[1], gs[2], gs[3]);
    cr_expect_eq(nb_gsl_adapter_status(a), NB_OK);
    /* wrong sizes */
    gsl_vector_view x3 = gsl_vector_view_array((double[]){1, 2, 3}, 3);
    gsl_vector_view g1v = gsl_vector_view_array(gs, 1);
    cr_expect(isnan(F->f(&x3.vector, F->params)));
    cr_expect_eq(nb_gsl_adapter_status(a), NB_E_ARG);
    nb_gsl_adapter_clear(a);
    gs[0] = 5;
    F->df(&x.vector, F->params, &g1v.vector);
    cr_expect_eq(nb_gsl_adapter_status(a), NB_E_ARG);
    cr_expect_eq(gs[0], 5, "a wrongly sized output is left alone");
    nb_gsl_adapter_free(a);

    /* a Jacobian and residuals through views */
    cr_assert_eq(nb_gsl_multiroot_new(&a, rosen_system, NULL, 2, NULL), NB_OK);
    gsl_multiroot_function_fdf *R = nb_gsl_multiroot_fdf(a);
    double big[3 * 5], fs[4] = {7, 7, 7, 7};
    for (int i = 0; i < 15; i++) big[i] = 7;
    gsl_matrix_view J = gsl_matrix_view_array_with_tda(big, 2, 2, 5);
    gsl_vector_view fv = gsl_vector_view_array_with_stride(fs, 2, 2);
    cr_expect_eq(R->fdf(&x.vector, R->params, &fv.vector, &J.matrix), GSL_SUCCESS);
    cr_expect(big[0] == -20 * x0 && big[1] == 10 && big[5] == -1 && big[6] == 0, "J = %g %g / %g %g",
              big[0], big[1], big[5], big[6]);
    cr_expect(big[2] == 7 && big[7] == 7 && big[10] == 7, "outside the view untouched");
    cr_expect(fs[0] == 10 * r && fs[2] == 1 - x0 && fs[1] == 7, "f = %g %g", fs[0], fs[2]);
    cr_expect_eq(R->f(&x.vector, R->params, &fv.vector), GSL_SUCCESS);
    cr_expect(fs[0] == 10 * r && fs[2] == 1 - x0);
    gsl_matrix_view J3 = gsl_matrix_view_array_with_tda(big, 3, 2, 5);
    cr_expect_eq(R->df(&x.vector, R->params, &J3.matrix), GSL_EBADFUNC);
    cr_expect_eq(nb_gsl_adapter_status(a), NB_E_ARG);
    cr_expect_eq(big[0], -20 * x0, "a wrongly shaped Jacobian is left alone");
    nb_gsl_adapter_clear(a);
    cr_expect_eq(R->f(&x3.vector, R->params, &fv.vector), GSL_EBADFUNC);
    cr_expect_eq(nb_gsl_adapter_status(a), NB_E_ARG);
    nb_gsl_adapter_free(a);
}

/* df and fdf need their Jacobian, and fdf its residual vector too: a NULL one is NB_E_ARG with
 * GSL_EBADFUNC and NaN in the other output, as vec_f's NULL f is. They returned GSL_SUCCESS with
 * nothing written and no status (a review). */
Test(adapter, a_null_jacobian_or_residual_vector_is_an_error) {
    gsl_set_error_handler_off();
    nb_gsl_adapter *a = NULL;
    cr_assert_eq(nb_gsl_multiroot_new(&a, rosen_system, NULL, 2, NULL), NB_OK);
    gsl_multiroot_function_fdf *R = nb_gsl_multiroot_fdf(a);
    gsl_vector *x = gsl_vector_alloc(2), *f = gsl_vector_alloc(2);
    gsl_matrix *J = gsl_matrix_alloc(2, 2);
    gsl_vector_set_all(x, 2);
    cr_expect_eq(R->df(x, R->params, NULL), GSL_EBADFUNC);
    cr_expect_eq(nb_gsl_adapter_status(a), NB_E_ARG);
    nb_gsl_adapter_clear(a);
    cr_expect_eq(R->fdf(x, R->params, NULL, J), GSL_EBADFUNC);
    cr_expect_eq(nb_gsl_adapter_status(a), NB_E_ARG);
    cr_expect(isnan(gsl_matrix_get(J, 0, 0)) && isnan(gsl_matrix_get(J, 1, 1)));
    nb_gsl_adapter_clear(a);
    cr_expect_eq(R->fdf(x, R->params, f, NULL), GSL_EBADFUNC);
    cr_expect_eq(nb_gsl_adapter_status(a), NB_E_ARG);
    cr_expect(isnan(gsl_vector_get(f, 0)) && isnan(gsl_vector_get(f, 1)));
    nb_gsl_adapter_clear(a);
    cr_expect_eq(R->fdf(x, R->params, f, J), GSL_SUCCESS, "well formed again");
    cr_expect_eq(nb_gsl_adapter_status(a), NB_OK);
    nb_gsl_adapter_free(a);
    cr_assert_eq(nb_gsl_multifit_new(&a, rosen_system, NULL, 2, 2, NULL), NB_OK);
    gsl_multifit_nlinear_fdf *F = nb_gsl_multifit_fdf(a);
    cr_expect_eq(F->df(x, F->params, NULL), GSL_EBADFUNC);
    cr_expect_eq(nb_gsl_adapter_status(a), NB_E_ARG);
    nb_gsl_adapter_free(a);
    gsl_vector_free(x);
    gsl_vector_free(f);
    gsl_matrix_free(J);
}

/* The adapter's context takes the caller's options: every allocation goes through the hook, and
 * failing the k-th one, for every k, gives NB_E_NOMEM from the constructor or a NaN gradient
 * with NB_E_NOMEM kept in the adapter - never a crash, a wrong number or (under the sanitizer
 * build) a leak. */

Test(adapter, every_allocation_failure_is_a_status) {
    int total = -1;
    for (int k = 1; k < 1000; k++) {
        struct failing f = {0, k};
        const nb_ctx_opts o = failing_opts(&f);
        nb_gsl_adapter *a = (nb_gsl_adapter *)&f; /* not NULL: the constructor must reset it */
        nb_status s = nb_gsl_multimin_new(&a, rosen2, NULL, 2, &o);
        double g0 = NAN, g1 = NAN, fx = NAN;
        if (s == NB_OK) {
            gsl_multimin_function_fdf *F = nb_gsl_multimin_fdf(a);
            double xs[2] = {-1.2, 1};
            gsl_vector_view x = gsl_vector_view_array(xs, 2);
            gsl_vector *g = gsl_vector_alloc(2);
            F->fdf(&x.vector, F->params, &fx, g);
            g0 = gsl_vector_get(g, 0);
            g1 = gsl_vector_get(g, 1);
            s = nb_gsl_adapter_status(a);
            gsl_vector_free(g);
            nb_gsl_adapter_free(a);
        } else {
            cr_expect_null(a, "failed constructor leaves *out NULL (k = %d)", k);
        }
        if (f.count < k) { /* no allocation failed */
            cr_assert_eq(s, NB_OK);
            cr_expect(close_to(g0, -215.6, 1e-12, 0) && close_to(g1, -88, 1e-12, 0),
                      "gradient (%.17g, %.17g)", g0, g1);
            cr_expect(close_to(fx, 24.2, 1e-12, 0));
            total = k - 1;
            break;
        }
        cr_expect_eq(s, NB_E_NOMEM, "allocation %d failed: status %d", k, (int)s);
        if (s == NB_OK) cr_expect(isnan(g0) && isnan(g1), "a failure never gives a number");
    }
    cr_expect_gt(total, 3, "the adapter allocates through the hook (%d allocations)", total);
}

/* ---- gsl_multilarge_nlinear: J u, J^T u and J^T J without a Jacobian in the solver ---- */

/* The NIST problems again, through the large-problem interface: lm (a Cholesky solve of the
 * normal equations: GSL asks for J^T J) and cgst (Steihaug-Toint conjugate gradients: only J u
 * and J^T u). */
static struct fit_result fit_large(const nist_problem *p, int start,
                                   const gsl_multilarge_nlinear_trs *trs) {
    struct fit_result res = {0};
    nb_gsl_adapter *a = NULL;
    cr_assert_eq(nb_gsl_multilarge_new(&a, nist_residuals, (void *)p, (size_t)p->p, (size_t)p->n,
                                       NULL), NB_OK);
    gsl_multilarge_nlinear_parameters params = gsl_multilarge_nlinear_default_parameters();
    params.trs = trs;
    params.scale = gsl_multilarge_nlinear_scale_levenberg;
    gsl_multilarge_nlinear_workspace *w = gsl_multilarge_nlinear_alloc(
        gsl_multilarge_nlinear_trust, &params, (size_t)p->n, (size_t)p->p);
    gsl_vector_const_view x0 = gsl_vector_const_view_array(p->start[start], (size_t)p->p);
    gsl_multilarge_nlinear_init(&x0.vector, nb_gsl_multilarge_fdf(a), w);
    int info;
    res.status = gsl_multilarge_nlinear_driver(5000, 1e-12, 1e-12, 0, NULL, NULL, &info, w);
    gsl_vector *x = gsl_multilarge_nlinear_position(w);
    gsl_vector *f = gsl_multilarge_nlinear_residual(w);
    for (int i = 0; i < p->p; i++) res.x[i] = gsl_vector_get(x, (size_t)i);
    for (int i = 0; i < p->n; i++) res.rss += gsl_vector_get(f, (size_t)i) * gsl_vector_get(f, (size_t)i);
    res.iter = gsl_multilarge_nlinear_niter(w);
    cr_expect_eq(nb_gsl_adapter_status(a), NB_OK, "%s: no nabla error in the callbacks", p->name);
    gsl_multilarge_nlinear_free(w);
    nb_gsl_adapter_free(a);
    return res;
}

Test(multilarge, nist_certified_values_with_lm_and_cgst) {
    gsl_set_error_handler_off();
    const char *names[] = {"Misra1a", "Thurber", "Eckerle4", "Rat43", "BoxBOD"};
    const double tols[] = {1e-7, 1e-6, 1e-7, 1e-6, 1e-7};
    for (int t = 0; t < 5; t++) {
        char path[256];
        snprintf(path, sizeof path, "%s/nist/%s.txt", TEST_DATA_DIR, names[t]);
        nist_problem p;
        cr_assert_eq(nist_load(path, &p), 0, "cannot read %s", path);
        for (int start = 0; start < 2; start++)
            for (int m = 0; m < 2; m++) {
                struct fit_result r = fit_large(&p, start, m ? gsl_multilarge_nlinear_trs_cgst
                                                             : gsl_multilarge_nlinear_trs_lm);
                int ok = r.status == GSL_SUCCESS && close_to(r.rss, p.rss, tols[t], 0);
                for (int i = 0; i < p.p; i++) ok &= close_to(r.x[i], p.certified[i], tols[t], 0);
                cr_log_info("multilarge %s start %d %s: %s, %zu iterations, rss %.12g (certified "
                            "%.12g)", names[t], start + 1, m ? "cgst" : "lm",
                            gsl_strerror(r.status), r.iter, r.rss, p.rss);
                if (t == 4 && start == 0 && m == 1) {
                    /* BoxBOD from start 1 (GSL's own suite leaves it out as a failure for every
                     * method): cgst wanders to b2 < 0, where exp(-b2 x) overflows, and stops at
                     * the iteration limit - with a hand-written Jacobian as well (a scratch run
                     * of the same solve: b = (177.7, -301.1) after 5000 iterations). Checked so
                     * that a change is seen. */
                    cr_expect(r.status == GSL_EMAXITER && r.x[1] < 0,
                              "BoxBOD start 1 cgst: the outcome changed (%s, b2 = %g)",
                              gsl_strerror(r.status), r.x[1]);
                    continue;
                }
                cr_expect(ok, "multilarge %s start %d %s: status %s, rss %.12g vs %.12g", names[t],
                          start + 1, m ? "cgst" : "lm", gsl_strerror(r.status), r.rss, p.rss);
            }
    }
}

/* The callbacks against the dense Jacobian: J u and J^T u to rounding, J^T J's lower half, and
 * the errors of a wrong TransJ, size or shape. */
static void three_residuals(nb_ctx *c, const nb_var *x, nb_var *r, void *env) {
    (void)env; /* R^2 -> R^3 */
    r[0] = nb_mul(c, x[0], nb_sin(c, x[1]));
    r[1] = nb_sub(c, nb_exp(c, x[0]), x[1]);
    r[2] = nb_mul(c, nb_mul(c, x[0], x[0]), x[1]);
}

Test(multilarge, products_and_normal_matrix_against_the_jacobian) {
    gsl_set_error_handler_off();
    nb_gsl_adapter *a = NULL;
    cr_assert_eq(nb_gsl_multilarge_new(&a, three_residuals, NULL, 2, 3, NULL), NB_OK);
    gsl_multilarge_nlinear_fdf *F = nb_gsl_multilarge_fdf(a);
    cr_assert_not_null(F);
    cr_expect_null(nb_gsl_multifit_fdf(a));
    cr_expect(F->n == 3 && F->p == 2);
    const double x0 = 0.7, x1 = -1.3;
    const double J[3][2] = {{sin(x1), x0 * cos(x1)}, {exp(x0), -1}, {2 * x0 * x1, x0 * x0}};
    gsl_vector_const_view x = gsl_vector_const_view_array((const double[]){x0, x1}, 2);
    gsl_vector_const_view u2 = gsl_vector_const_view_array((const double[]){0.3, -2}, 2);
    gsl_vector_const_view u3 = gsl_vector_const_view_array((const double[]){1.5, -0.5, 2}, 3);
    gsl_vector *v3 = gsl_vector_alloc(3), *v2 = gsl_vector_alloc(2);
    gsl_matrix *JTJ = gsl_matrix_alloc(2, 2);
    gsl_matrix_set_all(JTJ, 7);
    cr_expect_eq(F->df(CblasNoTrans, &x.vector, &u2.vector, F->params, v3, NULL), GSL_SUCCESS);
    for (int i = 0; i < 3; i++)
        cr_expect(close_to(gsl_vector_get(v3, (size_t)i), J[i][0] * 0.3 - J[i][1] * 2, 1e-15, 0),
                  "J u [%d]", i);
    cr_expect_eq(F->df(CblasTrans, &x.vector, &u3.vector, F->params, v2, JTJ), GSL_SUCCESS);
    for (int j = 0; j < 2; j++)
        cr_expect(close_to(gsl_vector_get(v2, (size_t)j),
                           1.5 * J[0][j] - 0.5 * J[1][j] + 2 * J[2][j], 1e-15, 0), "J^T u [%d]", j);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j <= i; j++)
            cr_expect(close_to(gsl_matrix_get(JTJ, (size_t)i, (size_t)j),
                               J[0][i] * J[0][j] + J[1][i] * J[1][j] + J[2][i] * J[2][j], 1e-15, 0),
                      "J^T J [%d][%d]", i, j);
    cr_expect_eq(gsl_matrix_get(JTJ, 0, 1), 7, "the upper half is GSL's");
    cr_expect_eq(nb_gsl_adapter_status(a), NB_OK);
    /* fvv, as the multifit adapter's: v^T H_i v; r2 = x0^2 x1 has v^T H v = 2 x1 v0^2 + 4 x0 v0 v1 */
    gsl_vector *fvv = gsl_vector_alloc(3);
    cr_expect_eq(F->fvv(&x.vector, &u2.vector, F->params, fvv), GSL_SUCCESS);
    cr_expect(close_to(gsl_vector_get(fvv, 2), 2 * x1 * 0.09 + 4 * x0 * 0.3 * -2, 1e-15, 0));
    /* errors: the product's vector of the wrong length for the transposition, a bad TransJ, a
     * JTJ of the wrong shape, u without v */
    gsl_vector_set_all(v2, 5);
    cr_expect_eq(F->df(CblasNoTrans, &x.vector, &u2.vector, F->params, v2, NULL), GSL_EBADFUNC);
    cr_expect_eq(gsl_vector_get(v2, 0), 5, "a wrongly sized output is left alone");
    cr_expect_eq(nb_gsl_adapter_status(a), NB_E_ARG);
    nb_gsl_adapter_clear(a);
    gsl_vector_set_all(v3, 5);
    cr_expect_eq(F->df((CBLAS_TRANSPOSE_t)99, &x.vector, &u2.vector, F->params, v3, NULL),
                 GSL_EBADFUNC);
    cr_expect_eq(gsl_vector_get(v3, 0), 5, "which length v should have is unknown: left alone");
    cr_expect_eq(nb_gsl_adapter_status(a), NB_E_ARG);
    nb_gsl_adapter_clear(a);
    gsl_matrix *bad = gsl_matrix_alloc(3, 2);
    cr_expect_eq(F->df(CblasTrans, &x.vector, &u3.vector, F->params, v2, bad), GSL_EBADFUNC);
    cr_expect_eq(nb_gsl_adapter_status(a), NB_E_ARG);
    nb_gsl_adapter_clear(a);
    gsl_matrix_set_all(JTJ, 7);
    cr_expect_eq(F->df(CblasTrans, &x.vector, &u3.vector, F->params, NULL, JTJ), GSL_EBADFUNC);
    cr_expect(isnan(gsl_matrix_get(JTJ, 1, 1)) && isnan(gsl_matrix_get(JTJ, 1, 0)));
    cr_expect_eq(gsl_matrix_get(JTJ, 0, 1), 7, "the upper half is GSL's, on errors too");
    cr_expect_eq(nb_gsl_adapter_status(a), NB_E_ARG);
    /* a NULL x, to every callback */
    nb_gsl_adapter_clear(a);
    cr_expect_eq(F->df(CblasTrans, NULL, &u3.vector, F->params, v2, NULL), GSL_EBADFUNC);
    cr_expect_eq(nb_gsl_adapter_status(a), NB_E_ARG);
    nb_gsl_adapter_clear(a);
    cr_expect_eq(F->f(NULL, F->params, v3), GSL_EBADFUNC);
    cr_expect_eq(nb_gsl_adapter_status(a), NB_E_ARG);
    nb_gsl_adapter_clear(a);
    cr_expect_eq(F->fvv(NULL, &u2.vector, F->params, fvv), GSL_EBADFUNC);
    cr_expect_eq(nb_gsl_adapter_status(a), NB_E_ARG);
    gsl_matrix_free(bad);
    gsl_vector_free(fvv);
    gsl_vector_free(v3);
    gsl_vector_free(v2);
    gsl_matrix_free(JTJ);
    nb_gsl_adapter_free(a);
}

/* A problem too large for a dense Jacobian, matrix-free, with a known solution x*_i = 1 + cos(i) / 2:
 * r_i = x_i + sin(x_{i+1}) / 4 + x_i^3 / 10 - c_i (i < p, x_p read as 0) and a dense last row
 * r_p = |x|^2 - |x*|^2, with c_i such that r(x*) = 0; p = 20000, so J would be 3.2 GB. cgst asks
 * only for J u and J^T u, so the adapter never makes the Jacobian (its allocations, counted
 * through the hook, stay far below it), and the fit reaches x*; at p = 200 the dense interface
 * reaches the same point. */
struct banded {
    size_t p;
    double *c, norm2; /* c_i, |x*|^2 */
};
static double xstar(size_t i) { return 1 + cos((double)i) / 2; }
static void banded_residuals(nb_ctx *c, const nb_var *x, nb_var *r, void *env) {
    const struct banded *b = env;
    for (size_t i = 0; i < b->p; i++) {
        nb_var next = i + 1 < b->p ? nb_sin(c, x[i + 1]) : nb_const(0);
        nb_var t = nb_add(c, x[i], nb_mul(c, nb_const(0.25), next));
        t = nb_add(c, t, nb_mul(c, nb_const(0.1), nb_powi(c, x[i], 3)));
        r[i] = nb_sub(c, t, nb_const(b->c[i]));
    }
    r[b->p] = nb_sub(c, nb_sumsq(c, b->p, x), nb_const(b->norm2));
}
static void solve_banded(size_t p, int large, double *err, size_t *peak) {
    struct banded b = {p, malloc(p * sizeof(double)), 0};
    for (size_t i = 0; i < p; i++) {
        double xi = xstar(i);
        b.c[i] = xi + (i + 1 < p ? sin(xstar(i + 1)) : 0) / 4 + 0.1 * xi * xi * xi;
        b.norm2 += xi * xi;
    }
    struct alloc_peak k = {0, 0};
    const nb_ctx_opts o = peak_opts(&k);
    nb_gsl_adapter *a = NULL;
    gsl_vector *x0 = gsl_vector_alloc(p);
    gsl_vector_set_all(x0, 1);
    const gsl_vector *x;
    int status, info;
    gsl_multilarge_nlinear_workspace *wl = NULL;
    gsl_multifit_nlinear_workspace *wd = NULL;
    if (large) {
        cr_assert_eq(nb_gsl_multilarge_new(&a, banded_residuals, &b, p, p + 1, &o), NB_OK);
        gsl_multilarge_nlinear_parameters params = gsl_multilarge_nlinear_default_parameters();
        params.trs = gsl_multilarge_nlinear_trs_cgst;
        wl = gsl_multilarge_nlinear_alloc(gsl_multilarge_nlinear_trust, &params, p + 1, p);
        gsl_multilarge_nlinear_init(x0, nb_gsl_multilarge_fdf(a), wl);
        status = gsl_multilarge_nlinear_driver(100, 1e-12, 1e-12, 0, NULL, NULL, &info, wl);
        x = gsl_multilarge_nlinear_position(wl);
    } else {
        cr_assert_eq(nb_gsl_multifit_new(&a, banded_residuals, &b, p, p + 1, &o), NB_OK);
        gsl_multifit_nlinear_parameters params = gsl_multifit_nlinear_default_parameters();
        wd = gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &params, p + 1, p);
        gsl_multifit_nlinear_init(x0, nb_gsl_multifit_fdf(a), wd);
        status = gsl_multifit_nlinear_driver(100, 1e-12, 1e-12, 0, NULL, NULL, &info, wd);
        x = gsl_multifit_nlinear_position(wd);
    }
    cr_expect_eq(status, GSL_SUCCESS, "p %zu %s: %s", p, large ? "multilarge" : "multifit",
                 gsl_strerror(status));
    *err = 0;
    for (size_t i = 0; i < p; i++) *err = fmax(*err, fabs(gsl_vector_get(x, i) - xstar(i)));
    if (wl) gsl_multilarge_nlinear_free(wl);
    if (wd) gsl_multifit_nlinear_free(wd);
    cr_expect_eq(nb_gsl_adapter_status(a), NB_OK);
    nb_gsl_adapter_free(a);
    *peak = k.peak;
    gsl_vector_free(x0);
    free(b.c);
}

Test(multilarge, matrix_free_fit_of_twenty_thousand_parameters) {
    gsl_set_error_handler_off();
    size_t peak;
    double err;
    solve_banded(20000, 1, &err, &peak);
    cr_log_info("p = 20000, cgst: max |x - x*| = %g, peak %zu bytes through the hook", err, peak);
    cr_expect_lt(peak, (size_t)64 << 20, "peak %zu bytes: no Jacobian (3.2 GB) was made", peak);
    cr_expect_lt(err, 1e-10, "max |x - x*| = %g", err);
    solve_banded(200, 1, &err, &peak);
    cr_expect_lt(err, 1e-10, "multilarge, p = 200: max |x - x*| = %g", err);
    solve_banded(200, 0, &err, &peak);
    cr_expect_lt(err, 1e-10, "multifit, p = 200: max |x - x*| = %g", err);
}

/* Every allocation of a multilarge adapter failing in turn, the lazily made Jacobian of J^T J
 * included: NB_E_NOMEM from the constructor or kept in the adapter with NaN outputs. */
Test(multilarge, every_allocation_failure_is_a_status) {
    gsl_set_error_handler_off();
    int total = -1;
    gsl_vector_const_view x = gsl_vector_const_view_array((const double[]){0.7, -1.3}, 2);
    gsl_vector_const_view u = gsl_vector_const_view_array((const double[]){1.5, -0.5, 2}, 3);
    for (int k = 1; k < 1000; k++) {
        struct failing f = {0, k};
        const nb_ctx_opts o = failing_opts(&f);
        nb_gsl_adapter *a = NULL;
        nb_status s = nb_gsl_multilarge_new(&a, three_residuals, NULL, 2, 3, &o);
        double v0 = NAN, h00 = NAN;
        if (s == NB_OK) {
            gsl_multilarge_nlinear_fdf *F = nb_gsl_multilarge_fdf(a);
            gsl_vector *v = gsl_vector_alloc(2);
            gsl_matrix *JTJ = gsl_matrix_alloc(2, 2);
            int gs = F->df(CblasTrans, &x.vector, &u.vector, F->params, v, JTJ);
            v0 = gsl_vector_get(v, 0);
            h00 = gsl_matrix_get(JTJ, 0, 0);
            s = nb_gsl_adapter_status(a);
            cr_expect_eq(gs == GSL_SUCCESS, s == NB_OK, "k = %d", k);
            gsl_vector_free(v);
            gsl_matrix_free(JTJ);
            nb_gsl_adapter_free(a);
        }
        if (f.count < k) {
            cr_assert_eq(s, NB_OK);
            const double J0[3] = {sin(-1.3), exp(0.7), 2 * 0.7 * -1.3};
            cr_expect(close_to(v0, 1.5 * J0[0] - 0.5 * J0[1] + 2 * J0[2], 1e-15, 0));
            cr_expect(close_to(h00, J0[0] * J0[0] + J0[1] * J0[1] + J0[2] * J0[2], 1e-15, 0));
            total = k - 1;
            break;
        }
        cr_expect_eq(s, NB_E_NOMEM, "allocation %d failed: status %d", k, (int)s);
        cr_expect(isnan(v0) && isnan(h00), "a failure never gives a number (k = %d)", k);
    }
    cr_expect_gt(total, 5, "%d allocations", total);
}

/* ---- gsl_odeiv2: the Jacobian the implicit steppers ask for ---- */

/* forced Van der Pol: y0' = y1, y1' = mu (1 - y0^2) y1 - y0 + A cos(w t) */
struct vdp {
    double mu, A, w;
};
static void vdp_rhs(nb_ctx *c, nb_var t, const nb_var *y, nb_var *d, void *env) {
    const struct vdp *p = env;
    d[0] = y[1];
    nb_var damp = nb_mul(c, nb_const(p->mu), nb_sub(c, nb_const(1), nb_mul(c, y[0], y[0])));
    d[1] = nb_add(c, nb_sub(c, nb_mul(c, damp, y[1]), y[0]),
                  nb_mul(c, nb_const(p->A), nb_cos(c, nb_mul(c, nb_const(p->w), t))));
}

Test(odeiv2, jacobian_against_the_analytic_one) {
    gsl_set_error_handler_off();
    struct vdp p = {3.5, 0.7, 1.3};
    nb_gsl_adapter *a = NULL;
    cr_assert_eq(nb_gsl_odeiv2_new(&a, vdp_rhs, &p, 2, NULL), NB_OK);
    gsl_odeiv2_system *S = nb_gsl_odeiv2_system(a);
    cr_assert_not_null(S);
    cr_expect_null(nb_gsl_multifit_fdf(a));
    cr_expect_eq(S->dimension, 2);
    unsigned long long seed = 11;
    for (int r = 0; r < 20; r++) {
        double t = uniform(&seed, -5, 5), y[2] = {uniform(&seed, -3, 3), uniform(&seed, -3, 3)};
        double f[2], J[4], dt[2];
        cr_assert_eq(S->function(t, y, f, S->params), GSL_SUCCESS);
        cr_assert_eq(S->jacobian(t, y, J, dt, S->params), GSL_SUCCESS);
        const double damp = p.mu * (1 - y[0] * y[0]);
        cr_expect(close_to(f[1], damp * y[1] - y[0] + p.A * cos(p.w * t), 1e-14, 1e-15));
        cr_expect(J[0] == 0 && J[1] == 1, "row 0: %g %g", J[0], J[1]);
        cr_expect(close_to(J[2], -2 * p.mu * y[0] * y[1] - 1, 1e-14, 1e-15), "%.17g", J[2]);
        cr_expect(close_to(J[3], damp, 1e-14, 1e-15), "%.17g", J[3]);
        cr_expect(dt[0] == 0);
        cr_expect(close_to(dt[1], -p.A * p.w * sin(p.w * t), 1e-14, 1e-15), "%.17g", dt[1]);
    }
    cr_expect_eq(nb_gsl_adapter_status(a), NB_OK);
    nb_gsl_adapter_free(a);
}

/* Robertson's stiff chemical kinetics (Hairer & Wanner, Solving Ordinary Differential Equations
 * II, problem ROBER), with msbdf and bsimp: with a hand-written right-hand side that rounds as
 * the nabla one does (the same products in the same order) and a hand-written Jacobian, the
 * solution is the same to the bit; and it reaches the reference at t = 40 (0.7158270687193,
 * 9.185534764e-6, 0.2841637457, as published there). */
static void rober(nb_ctx *c, nb_var t, const nb_var *y, nb_var *d, void *env) {
    (void)t, (void)env;
    nb_var a = nb_mul(c, nb_const(0.04), y[0]), b = nb_mul(c, nb_const(1e4), nb_mul(c, y[1], y[2]));
    nb_var q = nb_mul(c, nb_const(3e7), nb_mul(c, y[1], y[1]));
    d[0] = nb_add(c, nb_neg(c, a), b);
    d[1] = nb_sub(c, nb_sub(c, a, b), q);
    d[2] = q;
}
static int rober_plain(double t, const double y[], double d[], void *p) {
    (void)t, (void)p;
    const double a = 0.04 * y[0], b = 1e4 * (y[1] * y[2]), q = 3e7 * (y[1] * y[1]);
    d[0] = -a + b;
    d[1] = a - b - q;
    d[2] = q;
    return GSL_SUCCESS;
}
static int rober_jac(double t, const double y[], double *J, double *dt, void *p) {
    (void)t, (void)p;
    const double rows[9] = {-0.04, 1e4 * y[2], 1e4 * y[1], 0.04, -1e4 * y[2] - 6e7 * y[1],
                            -1e4 * y[1], 0, 6e7 * y[1], 0};
    memcpy(J, rows, sizeof rows);
    dt[0] = dt[1] = dt[2] = 0;
    return GSL_SUCCESS;
}
static int integrate(const gsl_odeiv2_system *S, const gsl_odeiv2_step_type *T, double tol,
                     double *y) {
    gsl_odeiv2_driver *d = gsl_odeiv2_driver_alloc_y_new(S, T, 1e-8, tol, tol);
    double t = 0;
    y[0] = 1, y[1] = 0, y[2] = 0;
    int s = gsl_odeiv2_driver_apply(d, &t, 40, y);
    gsl_odeiv2_driver_free(d);
    return s;
}

Test(odeiv2, robertson_with_msbdf_and_bsimp) {
    gsl_set_error_handler_off();
    nb_gsl_adapter *a = NULL;
    cr_assert_eq(nb_gsl_odeiv2_new(&a, rober, NULL, 3, NULL), NB_OK);
    const gsl_odeiv2_system hand = {rober_plain, rober_jac, 3, NULL};
    const double ref[3] = {0.7158270687193, 9.185534764e-6, 0.2841637457};
    const gsl_odeiv2_step_type *types[2] = {gsl_odeiv2_step_msbdf, gsl_odeiv2_step_bsimp};
    for (int k = 0; k < 2; k++) {
        double y[3], yh[3];
        cr_assert_eq(integrate(nb_gsl_odeiv2_system(a), types[k], 1e-10, y), GSL_SUCCESS);
        cr_assert_eq(integrate(&hand, types[k], 1e-10, yh), GSL_SUCCESS);
        for (int i = 0; i < 3; i++) {
            cr_expect_eq(y[i], yh[i], "%s y%d: %.17g vs hand %.17g", types[k]->name, i + 1,
                         y[i], yh[i]);
            /* the Jacobians at the end point, to rounding */
            double J[9], Jh[9], dt[3], dth[3];
            gsl_odeiv2_system *S = nb_gsl_odeiv2_system(a);
            S->jacobian(40, y, J, dt, S->params);
            rober_jac(40, y, Jh, dth, NULL);
            for (int j = 0; j < 9; j++)
                cr_expect(close_to(J[j], Jh[j], 1e-15, 0), "J[%d] %.17g vs %.17g", j, J[j], Jh[j]);
            cr_expect(close_to(y[i], ref[i], 1e-7, 0), "%s y%d: %.15g vs reference %.15g",
                      types[k]->name, i + 1, y[i], ref[i]);
        }
    }
    cr_expect_eq(nb_gsl_adapter_status(a), NB_OK);
    nb_gsl_adapter_free(a);
}

static void broken_rhs(nb_ctx *c, nb_var t, const nb_var *y, nb_var *d, void *env) {
    (void)env;
    d[0] = nb_value(t) > 1 ? nb_apply(c, NB_OP_COUNT, y[0], y[0], 0) : nb_neg(c, y[0]);
}

Test(odeiv2, errors_are_kept_and_stop_the_stepper) {
    gsl_set_error_handler_off();
    nb_gsl_adapter *a = NULL;
    cr_expect_eq(nb_gsl_odeiv2_new(&a, vdp_rhs, NULL, 0, NULL), NB_E_ARG);
    cr_expect_null(a);
    cr_expect_eq(nb_gsl_odeiv2_new(&a, NULL, NULL, 2, NULL), NB_E_ARG);
    cr_assert_eq(nb_gsl_odeiv2_new(&a, broken_rhs, NULL, 1, NULL), NB_OK);
    gsl_odeiv2_system *S = nb_gsl_odeiv2_system(a);
    gsl_odeiv2_driver *d = gsl_odeiv2_driver_alloc_y_new(S, gsl_odeiv2_step_msbdf, 1e-3, 1e-8, 0);
    double t = 0, y = 1;
    cr_expect_eq(gsl_odeiv2_driver_apply(d, &t, 0.5, &y), GSL_SUCCESS);
    cr_expect(close_to(y, exp(-0.5), 1e-6, 0), "%.15g", y);
    cr_expect_eq(gsl_odeiv2_driver_apply(d, &t, 3, &y), GSL_EBADFUNC);
    cr_expect_eq(nb_gsl_adapter_status(a), NB_E_ARG);
    gsl_odeiv2_driver_free(d);
    nb_gsl_adapter_clear(a);
    double f = 0, J = 0, dt = 0, yy = 1;
    cr_expect_eq(S->function(0, NULL, &f, S->params), GSL_EBADFUNC);
    cr_expect_eq(nb_gsl_adapter_status(a), NB_E_ARG);
    nb_gsl_adapter_clear(a);
    cr_expect_eq(S->jacobian(2, &yy, &J, &dt, S->params), GSL_EBADFUNC);
    cr_expect(isnan(J) && isnan(dt));
    cr_expect_eq(nb_gsl_adapter_status(a), NB_E_ARG);
    nb_gsl_adapter_free(a);
}

Test(odeiv2, every_allocation_failure_is_a_status) {
    gsl_set_error_handler_off();
    struct vdp p = {3.5, 0.7, 1.3};
    int total = -1;
    for (int k = 1; k < 1000; k++) {
        struct failing f = {0, k};
        const nb_ctx_opts o = failing_opts(&f);
        nb_gsl_adapter *a = NULL;
        nb_status s = nb_gsl_odeiv2_new(&a, vdp_rhs, &p, 2, &o);
        double J[4] = {0, 0, 0, 0}, dt[2] = {0, 0}, y[2] = {0.5, -1}, fy[2];
        if (s == NB_OK) {
            gsl_odeiv2_system *S = nb_gsl_odeiv2_system(a);
            S->function(0.3, y, fy, S->params);
            S->jacobian(0.3, y, J, dt, S->params);
            s = nb_gsl_adapter_status(a);
            nb_gsl_adapter_free(a);
        }
        if (f.count < k) {
            cr_assert_eq(s, NB_OK);
            cr_expect(close_to(J[2], -2 * 3.5 * 0.5 * -1 - 1, 1e-15, 0));
            total = k - 1;
            break;
        }
        cr_expect_eq(s, NB_E_NOMEM, "allocation %d", k);
        if (s == NB_E_NOMEM && a) cr_expect(isnan(J[3]) && isnan(dt[1]));
    }
    cr_expect_gt(total, 3, "%d allocations", total);
}

/* An explicit stepper never asks for the Jacobian, so a large system does not pay for one: the
 * dense 20 000 x 20 001 array (3.2 GB) is made only at the first jacobian call. */
static void decay(nb_ctx *c, nb_var t, const nb_var *y, nb_var *d, void *env) {
    (void)t;
    const size_t n = *(const size_t *)env;
    for (size_t i = 0; i < n; i++) d[i] = nb_neg(c, y[i]);
}

Test(odeiv2, no_jacobian_for_explicit_steppers) {
    gsl_set_error_handler_off();
    size_t n = 20000;
    struct alloc_peak k = {0, 0};
    const nb_ctx_opts o = peak_opts(&k);
    nb_gsl_adapter *a = NULL;
    cr_assert_eq(nb_gsl_odeiv2_new(&a, decay, &n, n, &o), NB_OK);
    gsl_odeiv2_driver *d =
        gsl_odeiv2_driver_alloc_y_new(nb_gsl_odeiv2_system(a), gsl_odeiv2_step_rk8pd, 1e-3, 1e-10, 0);
    double t = 0, *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) y[i] = 1 + (double)i / (double)n;
    cr_assert_eq(gsl_odeiv2_driver_apply(d, &t, 1, y), GSL_SUCCESS);
    cr_expect(close_to(y[n - 1], (2 - 1.0 / (double)n) * exp(-1), 1e-9, 0), "%.15g", y[n - 1]);
    cr_expect_lt(k.peak, (size_t)16 << 20, "peak %zu bytes", k.peak);
    gsl_odeiv2_driver_free(d);
    free(y);
    nb_gsl_adapter_free(a);
}
