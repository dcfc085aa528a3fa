/* test_mgh.c - nabla's gradients on the Moré–Garbow–Hillstrom (1981) problems: f(x0) against the
 * published table, the gradient against GSL's central differences at x0 and at the point BFGS
 * reaches, and GSL's vector_bfgs2 driven only by nabla's gradient reaching the published minima.
 * The rows are Rosenbrock and the 18 problems of Alg. 566 (tests/mgh.h, tests/data/mgh1981.tsv);
 * each check is a parameterized test over every row. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <float.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_errno.h>
#include <string.h>

#include "mgh.h"
#include "nabla/gsl.h"
#include "nabla/nabla.h"
#include "oracle.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif
#define MGH_TSV TEST_DATA_DIR "/mgh1981.tsv"

/* Rosenbrock, and the 18 problems of Alg. 566 with Watson at n = 6, 9, 12, extended Powell at
 * 8, 12, penalty I and II at 4, 10 and Chebyquad at 8, 9, 10. */
#define MGH_ROWS 26

/* ---- the rows, as parameters ---- */

static size_t load_rows(mgh_problem *rows) {
    int k = mgh_load(MGH_TSV, rows, MGH_ROWS);
    return k < 0 ? 0 : (size_t)k; /* an unreadable table runs no row; table_rows then fails */
}

/* ---- the rows BFGS does not take to f* (at most 5), each with the outcome and why ----
 *
 * The outcomes are those of GSL 2.7.1 with the settings of minimize() below; each run is also
 * logged. A row here still has to run without error and decrease f, and a row that starts
 * reaching f* fails until it is taken out of this table. */

enum why { ILL_CONDITIONED, OTHER_LOCAL_MINIMUM };

static const struct exception {
    int no, n;
    enum why why;
    const char *reason;
} exceptions[] = {
    {20, 9, ILL_CONDITIONED,
     "Watson n = 9: f = 1.39985e-6 after 10339 iterations and 7 rescalings, GSL_ENOPROG "
     "(f* = 1.39976e-6, 6e-5 relative above). Watson's Hessian is a Hilbert-like moment matrix: "
     "at the point reached its eigenvalues span [3.2e-7, 539] (condition 1.7e9), and bfgs2's "
     "line search finds no decrease even along the gradient after a rescaling"},
    {20, 12, ILL_CONDITIONED,
     "Watson n = 12: f = 1.03e-8 at the 50000-iteration cap after 9 rescalings, GSL_CONTINUE "
     "(f* = 4.72238e-10). The Hessian's eigenvalues there span [1.7e-11, 1.1e3] (condition "
     "7e13): BFGS creeps along a valley it cannot resolve in double precision; with no cap it "
     "stops (GSL_ENOPROG, 20 rescalings) at 70380 iterations with f = 8.3e-9, still 18 f*"},
    {26, 10, OTHER_LOCAL_MINIMUM,
     "Trigonometric n = 10: f = 2.79506e-5 after 45 iterations and 1 rescaling, GSL_SUCCESS. "
     "f* = 0 is the global minimum; this is a strict local minimizer (|g| < 1e-8, Hessian "
     "eigenvalues in [0.063, 2.6], checked below). jlmelville/funconstrain R/26_trigon.R: "
     "'there are many others ... extremely difficult to reach the global minimum ... from the "
     "starting location using the typical gradient-based methods (e.g. conjugate gradient, "
     "BFGS, L-BFGS)'"},
};
#define NEXCEPTIONS (sizeof exceptions / sizeof exceptions[0])

static const struct exception *exception_of(const mgh_problem *p) {
    for (size_t i = 0; i < NEXCEPTIONS; i++)
        if (exceptions[i].no == p->no && exceptions[i].n == p->n) return &exceptions[i];
    return NULL;
}

Test(mgh, table_rows) {
    mgh_problem rows[MGH_ROWS + 1];
    int k = mgh_load(MGH_TSV, rows, MGH_ROWS + 1);
    cr_assert_eq(k, MGH_ROWS, "%s: %d rows, expected Rosenbrock and the 18 of Alg. 566 (%d)",
                 MGH_TSV, k, MGH_ROWS);
    static const int numbers[] = {1, 3, 4, 5, 7, 9, 11, 12, 14, 16, 18, 20, 21, 22, 23, 24, 25, 26,
                                  35};
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        int found = 0;
        for (int r = 0; r < k; r++) found |= rows[r].no == numbers[i];
        cr_expect(found, "problem %d is missing", numbers[i]);
    }
    cr_expect_leq(NEXCEPTIONS, 5, "at most 5 rows may miss f*");
    for (size_t i = 0; i < NEXCEPTIONS; i++) {
        int found = 0;
        for (int r = 0; r < k; r++) found |= exception_of(&rows[r]) == &exceptions[i];
        cr_expect(found, "the exception %d (n = %d) names no row", exceptions[i].no,
                  exceptions[i].n);
    }
}

/* ---- f at x0 against the table ---- */

ParameterizedTestParameters(mgh, f_at_x0) {
    static mgh_problem rows[MGH_ROWS];
    return cr_make_param_array(mgh_problem, rows, load_rows(rows));
}

/* The table prints f(x0) to 15 significant digits (half a unit is at most 5e-15 relative) and a
 * sum of up to 99 squares rounds at ~1e-14; 1e-12 is above both and far below what a wrong
 * residual or constant gives. nabla's value and the plain one are the same operations in the
 * same order (mgh.h), so they agree to the last bit; 4 ulps leave room for a contracted
 * multiply-add in one of them. */
ParameterizedTest(mgh_problem *p, mgh, f_at_x0) {
    nb_ctx *c = NULL;
    cr_assert_eq(nb_ctx_new(&c, NULL), NB_OK);
    double fx, g[MGH_MAX_N];
    cr_assert_eq(nb_gradient(c, mgh_objective, p, (size_t)p->n, p->x0, &fx, g), NB_OK);
    double plain = mgh_objective_plain(p, p->x0);
    cr_expect(close_to(fx, p->f_x0, 1e-12, 0), "%s n=%d: f(x0) = %.17g, table %.17g", p->name,
              p->n, fx, p->f_x0);
    cr_expect(close_to(fx, plain, 4 * DBL_EPSILON, 0), "%s n=%d: nabla %.17g, plain %.17g",
              p->name, p->n, fx, plain);
    nb_ctx_free(c);
}

/* ---- the gradient against central differences of the plain objective ---- */

struct coordinate {
    const mgh_problem *p;
    double x[MGH_MAX_N];
    int j;
};

/* f along coordinate j through x, on plain doubles: the oracle never goes through nabla. */
static double along(double t, void *q) {
    const struct coordinate *s = q;
    double x[MGH_MAX_N];
    memcpy(x, s->x, sizeof x);
    x[s->j] = t;
    return mgh_objective_plain(s->p, x);
}

/* Each component g_j against gsl_deriv_central of f along x_j, started at
 * h = 1e-4 max(1, |x_j|) (GSL then moves h to balance its truncation and rounding estimates):
 *
 *     |g_j - fd| <= 4 abserr + rel max(1, |g_j|).
 *
 * abserr is GSL's estimate of its truncation and rounding errors, which models each f value as
 * rounded at eps |f|; the factor 4 is slack for its being an estimate. rel = 1e-10 covers the
 * rounding it does not model (f is a sum of up to 99 squares, rounded at ~m eps |f|, not eps |f|).
 * Over all rows, at x0 and at the final points, the largest |g_j - fd| is ~0.3 of this bound.
 *
 * Trigonometric gets rel = 1e-9: each r_i contains n - sum cos x_j = 10 - 9.95..., a cancellation
 * that makes the rounding noise of f ~1e3 times eps |f|, so GSL's estimate picks too small a step
 * and understates its error by up to 11x at x0 (|g_j - fd| 3.5e-10 with abserr 3e-11, for
 * |g_j| ~ 0.02). nabla's gradient there agrees to 1e-14 with the analytic gradient evaluated in
 * long double (checked when this test was written), so the difference is the oracle's. */
static void check_gradient(const mgh_problem *p, const double *x, const double *g,
                           const char *where) {
    double rel = p->no == 26 ? 1e-9 : 1e-10;
    for (int j = 0; j < p->n; j++) {
        struct coordinate s = {p, {0}, j};
        memcpy(s.x, x, sizeof(double) * (size_t)p->n);
        double abserr, fd = fd_central(along, &s, x[j], 1e-4 * fmax(1, fabs(x[j])), &abserr);
        double tol = 4 * abserr + rel * fmax(1, fabs(g[j]));
        cr_expect(fabs(g[j] - fd) <= tol,
                  "%s n=%d at %s: df/dx%d = %.15g, central difference %.15g (abserr %.2g), "
                  "|difference| %.3g > %.3g",
                  p->name, p->n, where, j + 1, g[j], fd, abserr, fabs(g[j] - fd), tol);
    }
}

ParameterizedTestParameters(mgh, gradient_at_x0) {
    static mgh_problem rows[MGH_ROWS];
    return cr_make_param_array(mgh_problem, rows, load_rows(rows));
}

/* The gradient GSL's solvers see: the multimin adapter's df at x0. */
ParameterizedTest(mgh_problem *p, mgh, gradient_at_x0) {
    nb_gsl_adapter *a = NULL;
    cr_assert_eq(nb_gsl_multimin_new(&a, mgh_objective, p, (size_t)p->n, NULL), NB_OK);
    gsl_multimin_function_fdf *F = nb_gsl_multimin_fdf(a);
    gsl_vector_const_view x0 = gsl_vector_const_view_array(p->x0, (size_t)p->n);
    double g[MGH_MAX_N];
    gsl_vector_view gv = gsl_vector_view_array(g, (size_t)p->n);
    F->df(&x0.vector, F->params, &gv.vector);
    cr_assert_eq(nb_gsl_adapter_status(a), NB_OK, "%s n=%d: nabla error in df", p->name, p->n);
    check_gradient(p, p->x0, g, "x0");
    nb_gsl_adapter_free(a);
}

/* ---- GSL's BFGS from x0 ---- */

/* f times a positive constant: what GSL minimizes (see minimize). */
struct scaled {
    const mgh_problem *p;
    double scale;
};

static nb_var scaled_objective(nb_ctx *c, const nb_var *x, void *env) {
    const struct scaled *s = env;
    return nb_mul(c, nb_const(s->scale), mgh_objective(c, x, (void *)s->p));
}

#define BFGS_STEP 0.01    /* the first trial step */
#define BFGS_TOL 0.1      /* the line search's accuracy (GSL's recommended 0.1) */
#define BFGS_EPSABS 1e-8  /* stop when |g| < this, in units of f */
#define BFGS_MAX_ITER 50000
#define BFGS_MAX_RESCALE 20

struct run {
    int status;        /* GSL's last status: GSL_SUCCESS (gradient test), GSL_ENOPROG, or
                          GSL_CONTINUE when the iteration cap was reached */
    int iter, rescales;
    double f0, f;      /* f at x0 and at the end, unscaled */
    double x[MGH_MAX_N];
    nb_status nb;      /* the adapter's status */
};

/* vector_bfgs2 from x0 until |g| < BFGS_EPSABS, no progress, or BFGS_MAX_ITER iterations.
 *
 * GSL's line search (multimin/linear_minimize.c) gives up with GSL_ENOPROG when the decrease it
 * predicts is below GSL_DBL_EPSILON in absolute terms, so on a problem whose f is small (penalty
 * II: f* = 9.4e-6) it stops while the relative decrease is still far above rounding. When that
 * happens the run restarts GSL at the point reached with f divided by its value there, which
 * makes that test relative without changing the minimizer; it stops when the first iteration
 * after a restart already makes no progress, or after BFGS_MAX_RESCALE restarts. Without the
 * rescaling penalty II n = 4 stops at 4e-6 relative above f*, and within 5e-6 or not depending on
 * the step chosen; with it, 6e-8.
 *
 * BFGS_EPSABS: near a minimum f - f* ~ |g|^2 / (2 lambda_min); for penalty II n = 4 (smallest
 * Hessian eigenvalue 3e-6) |g| = 1e-8 leaves 2e-11, below the 5e-6 f* = 4.7e-11 it must reach. */
static struct run minimize(const mgh_problem *p) {
    struct run r = {0};
    size_t n = (size_t)p->n;
    struct scaled env = {p, 1.0};
    nb_gsl_adapter *a = NULL;
    cr_assert_eq(nb_gsl_multimin_new(&a, scaled_objective, &env, n, NULL), NB_OK);
    gsl_multimin_function_fdf *F = nb_gsl_multimin_fdf(a);
    gsl_multimin_fdfminimizer *s =
        gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, n);
    gsl_vector *x = gsl_vector_alloc(n);
    cr_assert(s && x);
    for (size_t j = 0; j < n; j++) gsl_vector_set(x, j, p->x0[j]);
    r.status = gsl_multimin_fdfminimizer_set(s, F, x, BFGS_STEP, BFGS_TOL);
    r.f0 = gsl_multimin_fdfminimizer_minimum(s);
    int since_restart = 0;
    while (r.status == GSL_SUCCESS || r.status == GSL_CONTINUE) {
        if (r.iter == BFGS_MAX_ITER) {
            r.status = GSL_CONTINUE;
            break;
        }
        r.iter++;
        since_restart++;
        r.status = gsl_multimin_fdfminimizer_iterate(s);
        double fs = gsl_multimin_fdfminimizer_minimum(s);
        if (r.status == GSL_ENOPROG && since_restart > 1 && r.rescales < BFGS_MAX_RESCALE &&
            fs > 0 && isfinite(fs)) {
            env.scale /= fs;
            gsl_vector_memcpy(x, gsl_multimin_fdfminimizer_x(s));
            r.status = gsl_multimin_fdfminimizer_set(s, F, x, BFGS_STEP, BFGS_TOL);
            r.rescales++;
            since_restart = 0;
            continue;
        }
        if (r.status != GSL_SUCCESS) break;
        r.status = gsl_multimin_test_gradient(gsl_multimin_fdfminimizer_gradient(s),
                                              BFGS_EPSABS * env.scale);
        if (r.status == GSL_SUCCESS) break;
    }
    r.f = gsl_multimin_fdfminimizer_minimum(s) / env.scale;
    for (size_t j = 0; j < n; j++) r.x[j] = gsl_vector_get(gsl_multimin_fdfminimizer_x(s), j);
    r.nb = nb_gsl_adapter_status(a);
    gsl_vector_free(x);
    gsl_multimin_fdfminimizer_free(s);
    nb_gsl_adapter_free(a);
    return r;
}

/* f* reached: within 5e-6 relative of a nonzero published minimum, which is printed to 6
 * significant digits (truncated, not rounded, in places: penalty I n = 4's 2.24997e-5 is
 * 2.2499775e-5, 3.3e-6 below), or below 1e-10 max(1, f(x0)) for a zero one. Either of two
 * published minima counts (Biggs EXP6: 5.65565e-3 and 0). */
static int at_minimum(double f, double fstar, double f0) {
    if (isnan(fstar)) return 0;
    if (fstar == 0) return f <= 1e-10 * fmax(1, f0);
    return fabs(f - fstar) <= 5e-6 * fabs(fstar);
}

/* The largest gradient component and the extreme Hessian eigenvalues at x (nabla's Hessian,
 * forward over reverse), to tell a local minimizer from an ill-conditioned valley. */
struct spectrum {
    double gmax, lmin, lmax;
};

static struct spectrum spectrum_at(const mgh_problem *p, const double *x) {
    size_t n = (size_t)p->n;
    nb_ctx *c = NULL;
    cr_assert_eq(nb_ctx_new(&c, NULL), NB_OK);
    double fx, g[MGH_MAX_N], H[MGH_MAX_N * MGH_MAX_N], eval[MGH_MAX_N];
    cr_assert_eq(nb_hessian(c, mgh_objective, (void *)p, n, x, &fx, g, H), NB_OK);
    nb_ctx_free(c);
    gsl_matrix_view Hv = gsl_matrix_view_array(H, n, n);
    gsl_vector_view ev = gsl_vector_view_array(eval, n);
    gsl_eigen_symm_workspace *w = gsl_eigen_symm_alloc(n);
    cr_assert_not_null(w);
    cr_assert_eq(gsl_eigen_symm(&Hv.matrix, &ev.vector, w), GSL_SUCCESS);
    gsl_eigen_symm_free(w);
    struct spectrum sp = {0, INFINITY, -INFINITY};
    for (size_t j = 0; j < n; j++) {
        sp.gmax = fmax(sp.gmax, fabs(g[j]));
        sp.lmin = fmin(sp.lmin, eval[j]);
        sp.lmax = fmax(sp.lmax, eval[j]);
    }
    cr_log_info("%s n=%d: |g|_inf %.2g, Hessian eigenvalues in [%.3g, %.3g]", p->name, p->n,
                sp.gmax, sp.lmin, sp.lmax);
    return sp;
}

/* The eigenvalues are accurate to ~eps lmax: a smallest one above 1e-8 lmax is positive beyond
 * doubt (a strict local minimizer when the gradient is small too), one below is a valley that
 * BFGS in double precision cannot be expected to resolve. */
#define WELL_CONDITIONED(sp) ((sp).lmin > 1e-8 * (sp).lmax)

ParameterizedTestParameters(mgh, bfgs) {
    static mgh_problem rows[MGH_ROWS];
    return cr_make_param_array(mgh_problem, rows, load_rows(rows));
}

ParameterizedTest(mgh_problem *p, mgh, bfgs, .timeout = 20) {
    gsl_set_error_handler_off();
    struct run r = minimize(p);
    const struct exception *e = exception_of(p);
    int reached = at_minimum(r.f, p->fstar, r.f0) || at_minimum(r.f, p->fstar_alt, r.f0);
    cr_log_info("%s n=%d: f = %.10g after %d iterations (%d rescalings), GSL: %s; f* = %.6g%s%s",
                p->name, p->n, r.f, r.iter, r.rescales, gsl_strerror(r.status), p->fstar,
                reached ? ", reached" : ", not reached", e ? " (listed exception)" : "");

    /* every row: no nabla error, a normal end, f decreased */
    cr_expect_eq(r.nb, NB_OK, "%s n=%d: nabla error in the callbacks", p->name, p->n);
    cr_expect(r.status == GSL_SUCCESS || r.status == GSL_ENOPROG || r.status == GSL_CONTINUE,
              "%s n=%d: GSL stopped with %s", p->name, p->n, gsl_strerror(r.status));
    cr_expect(isfinite(r.f) && r.f < r.f0, "%s n=%d: f = %g from f(x0) = %g", p->name, p->n, r.f,
              r.f0);

    if (!e)
        cr_expect(reached, "%s n=%d: f = %.10g after %d iterations (%s), f* = %.10g", p->name,
                  p->n, r.f, r.iter, gsl_strerror(r.status), p->fstar);
    else {
        cr_log_info("%s n=%d: exception: %s", p->name, p->n, e->reason);
        cr_expect(!reached, "%s n=%d now reaches f* (f = %.10g): take it out of the exceptions",
                  p->name, p->n, r.f);
        struct spectrum sp = spectrum_at(p, r.x);
        if (e->why == OTHER_LOCAL_MINIMUM)
            cr_expect(sp.gmax <= BFGS_EPSABS && WELL_CONDITIONED(sp),
                      "%s n=%d: not a strict local minimizer", p->name, p->n);
        else
            cr_expect(!WELL_CONDITIONED(sp), "%s n=%d: not ill-conditioned at the point reached",
                      p->name, p->n);
    }

    /* the gradient at the point reached, where it is small and cancellation is worst */
    nb_ctx *c = NULL;
    cr_assert_eq(nb_ctx_new(&c, NULL), NB_OK);
    double g[MGH_MAX_N];
    cr_assert_eq(nb_gradient(c, mgh_objective, p, (size_t)p->n, r.x, NULL, g), NB_OK);
    nb_ctx_free(c);
    check_gradient(p, r.x, g, "the final point");
}
