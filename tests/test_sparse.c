/* test_sparse.c - sparse Jacobians and Hessians (nabla/sparse.h): patterns found from the
 * function (structural, whatever the values), colorings, and the nonzeros against dense drivers,
 * analytic derivatives and GSL's central differences. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <gsl/gsl_spblas.h>

#include "nabla/gsl.h"
#include "nabla/nabla.h"
#include "oracle.h"

/* The dense m x n matrix of a plan's values. */
static void densify(const nb_sparse *p, const double *val, double *A) {
    const size_t m = nb_sparse_rows(p), n = nb_sparse_cols(p);
    const size_t *rp = nb_sparse_row_ptr(p), *ci = nb_sparse_col_idx(p);
    memset(A, 0, m * n * sizeof *A);
    for (size_t i = 0; i < m; i++)
        for (size_t e = rp[i]; e < rp[i + 1]; e++) A[i * n + ci[e]] = val[e];
}

/* 1 when the plan holds entry (i, j). */
static int has(const nb_sparse *p, size_t i, size_t j) {
    const size_t *rp = nb_sparse_row_ptr(p), *ci = nb_sparse_col_idx(p);
    for (size_t e = rp[i]; e < rp[i + 1]; e++)
        if (ci[e] == j) return 1;
    return 0;
}

/* ---- Broyden's tridiagonal system (More, Garbow & Hillstrom 1981, problem 30):
 * y_i = (3 - 2 x_i) x_i - x_{i-1} - 2 x_{i+1} + 1 ---- */
static void broyden(nb_ctx *c, const nb_var *x, nb_var *y, void *env) {
    const size_t n = *(const size_t *)env;
    for (size_t i = 0; i < n; i++) {
        nb_var t = nb_mul(c, nb_sub(c, nb_const(3), nb_mul(c, nb_const(2), x[i])), x[i]);
        if (i > 0) t = nb_sub(c, t, x[i - 1]);
        if (i + 1 < n) t = nb_sub(c, t, nb_mul(c, nb_const(2), x[i + 1]));
        y[i] = nb_add(c, t, nb_const(1));
    }
}

Test(sparse, broyden_tridiagonal_three_forward_passes) {
    nb_ctx *c = new_ctx();
    size_t n = 100;
    double x[100], J[100 * 100], D[100 * 100], y[100], yd[100];
    for (size_t i = 0; i < n; i++) x[i] = -1 + 0.01 * (double)i;
    x[40] = 0.75; /* where the diagonal 3 - 4 x_i is exactly 0: still in the pattern */
    nb_sparse *p = NULL;
    cr_assert_eq(nb_sparse_jac_new(c, broyden, &n, n, n, x, NB_SPARSE_AUTO, &p), NB_OK);
    cr_assert_eq(nb_sparse_nnz(p), 3 * n - 2);
    cr_expect_eq(nb_sparse_passes(p), 3);
    cr_expect_eq(nb_sparse_mode_of(p), NB_SPARSE_FORWARD);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            cr_expect_eq(has(p, i, j), i == j || i == j + 1 || j == i + 1, "entry %zu %zu", i, j);
    double *val = malloc(nb_sparse_nnz(p) * sizeof *val);
    cr_assert_eq(nb_sparse_jacobian(c, p, broyden, &n, x, y, val), NB_OK);
    densify(p, val, J);
    cr_assert_eq(nb_jacobian(c, broyden, &n, n, n, x, NB_JAC_FORWARD, yd, D), NB_OK);
    /* a pass along a group's sum meets one nonzero per row, the others contribute exact zeros:
     * the same doubles as the dense forward Jacobian */
    cr_expect_eq(memcmp(J, D, sizeof J), 0);
    cr_expect_eq(memcmp(y, yd, sizeof y), 0);
    for (size_t i = 0; i < n; i++) {
        cr_expect(close_to(J[i * n + i], 3 - 4 * x[i], 1e-15, 1e-15));
        if (i > 0) cr_expect_eq(J[i * n + i - 1], -1.0);
        if (i + 1 < n) cr_expect_eq(J[i * n + i + 1], -2.0);
    }
    cr_expect_eq(J[40 * n + 40], 0.0);
    free(val);
    nb_sparse_free(p);
    nb_ctx_free(c);
}

/* ---- reverse: a dense row and a diagonal: y_0 = sum x, y_i = x_i^2 sin(x_i) ---- */
static void arrow(nb_ctx *c, const nb_var *x, nb_var *y, void *env) {
    const size_t n = *(const size_t *)env;
    y[0] = nb_sum(c, n, x);
    for (size_t i = 1; i < n; i++) y[i] = nb_mul(c, nb_mul(c, x[i], x[i]), nb_sin(c, x[i]));
}

Test(sparse, dense_row_takes_two_passes) {
    nb_ctx *c = new_ctx();
    size_t n = 50;
    double x[50], J[50 * 50], D[50 * 50];
    for (size_t i = 0; i < n; i++) x[i] = 0.1 * (double)i - 2;
    nb_sparse *p = NULL;
    cr_assert_eq(nb_sparse_jac_new(c, arrow, &n, n, n, x, NB_SPARSE_AUTO, &p), NB_OK);
    cr_expect_eq(nb_sparse_nnz(p), n + n - 1);
    /* all forward: n groups of columns (the dense row meets them all); all reverse: 2 groups of
     * rows; the dense row by a sweep and the rest by one forward pass: 2 as well, taken */
    cr_expect_eq(nb_sparse_mode_of(p), NB_SPARSE_MIXED);
    cr_expect_eq(nb_sparse_passes(p), 2);
    double val[99];
    cr_assert_eq(nb_sparse_jacobian(c, p, arrow, &n, x, NULL, val), NB_OK);
    densify(p, val, J);
    cr_assert_eq(nb_jacobian(c, arrow, &n, n, n, x, NB_JAC_REVERSE, NULL, D), NB_OK);
    cr_expect_eq(memcmp(J, D, sizeof J), 0);
    for (size_t i = 1; i < n; i++)
        cr_expect(close_to(J[i * n + i], 2 * x[i] * sin(x[i]) + x[i] * x[i] * cos(x[i]), 1e-15, 0));
    nb_sparse_free(p);
    /* forced reverse: two sweeps */
    cr_assert_eq(nb_sparse_jac_new(c, arrow, &n, n, n, x, NB_SPARSE_REVERSE, &p), NB_OK);
    cr_expect_eq(nb_sparse_mode_of(p), NB_SPARSE_REVERSE);
    cr_expect_eq(nb_sparse_passes(p), 2);
    cr_assert_eq(nb_sparse_jacobian(c, p, arrow, &n, x, NULL, val), NB_OK);
    densify(p, val, J);
    cr_expect_eq(memcmp(J, D, sizeof J), 0);
    nb_sparse_free(p);
    /* forced forward: n passes, the same numbers */
    cr_assert_eq(nb_sparse_jac_new(c, arrow, &n, n, n, x, NB_SPARSE_FORWARD, &p), NB_OK);
    cr_expect_eq(nb_sparse_mode_of(p), NB_SPARSE_FORWARD);
    cr_expect_eq(nb_sparse_passes(p), n);
    cr_assert_eq(nb_sparse_jacobian(c, p, arrow, &n, x, NULL, val), NB_OK);
    densify(p, val, J);
    for (size_t k = 0; k < n * n; k++) cr_expect(close_to(J[k], D[k], 1e-15, 0));
    nb_sparse_free(p);
    nb_ctx_free(c);
}

/* ---- structural patterns: zero partials at the recording point stay in the pattern ---- */
static void zeros(nb_ctx *c, const nb_var *x, nb_var *y, void *env) {
    (void)env;
    y[0] = nb_mul(c, x[0], x[1]);                       /* at x1 = 0: d/dx0 is 0 */
    y[1] = nb_mul(c, x[2], x[2]);                       /* at x2 = 0: 2 x2 = 0 */
    y[2] = nb_dot(c, 2, x, x + 1);                      /* x0 x1 + x1 x2: d/dx0 = x1 = 0 */
    y[3] = nb_max(c, x[0], x[2]);                       /* max: both operands */
    y[4] = nb_add(c, nb_stop_gradient(c, x[0]), x[3]);  /* detached: only x3 */
    y[5] = nb_const(7);                                 /* an empty row */
}

Test(sparse, patterns_are_structural) {
    nb_ctx *c = new_ctx();
    double x0[4] = {3, 0, 0, 1}, x1[4] = {3, 2, -1.5, 1};
    nb_sparse *p = NULL;
    cr_assert_eq(nb_sparse_jac_new(c, zeros, NULL, 4, 6, x0, NB_SPARSE_AUTO, &p), NB_OK);
    static const int want[6][4] = {{1, 1, 0, 0}, {0, 0, 1, 0}, {1, 1, 1, 0},
                                   {1, 0, 1, 0}, {0, 0, 0, 1}, {0, 0, 0, 0}};
    for (size_t i = 0; i < 6; i++)
        for (size_t j = 0; j < 4; j++)
            cr_expect_eq(has(p, i, j), want[i][j], "entry %zu %zu", i, j);
    /* the plan made at x0 is right at x1 */
    double val[16], J[24], D[24], y[6], yd[6];
    cr_assert_eq(nb_sparse_jacobian(c, p, zeros, NULL, x1, y, val), NB_OK);
    densify(p, val, J);
    cr_assert_eq(nb_jacobian(c, zeros, NULL, 4, 6, x1, NB_JAC_FORWARD, yd, D), NB_OK);
    cr_expect_eq(memcmp(J, D, sizeof J), 0);
    cr_expect_eq(memcmp(y, yd, sizeof y), 0);
    cr_expect_eq(J[0], 2.0);
    cr_expect_eq(J[1], 3.0);
    nb_sparse_free(p);
    /* the context goes on as before: an ordinary level skips zero partials again */
    cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
    nb_var a = nb_rev_input(c, nb_const(3)), b = nb_rev_input(c, nb_const(0));
    nb_var z = nb_mul(c, a, b);
    nb_tape_info ti;
    cr_assert_eq(nb_tape_info_get(c, 1, &ti), NB_OK);
    cr_expect_eq(ti.operands, 1);
    cr_assert_eq(nb_backward(c, z), NB_OK);
    cr_expect_eq(nb_grad(c, a).v, 0.0);
    cr_expect_eq(nb_grad(c, b).v, 3.0);
    cr_assert_eq(nb_pop(c), NB_OK);
    nb_ctx_free(c);
}

/* ---- Hessians ---- */
static nb_var rosen(nb_ctx *c, const nb_var *x, void *env) {
    const size_t n = *(const size_t *)env;
    nb_var s = nb_const(0);
    for (size_t i = 0; i + 1 < n; i++) {
        nb_var t = nb_sub(c, x[i + 1], nb_mul(c, x[i], x[i]));
        nb_var u = nb_sub(c, nb_const(1), x[i]);
        s = nb_add(c, s, nb_add(c, nb_mul(c, nb_const(100), nb_mul(c, t, t)), nb_mul(c, u, u)));
    }
    return s;
}

/* The analytic Hessian of rosen (row-major). */
static void rosen_hess(size_t n, const double *x, double *H) {
    memset(H, 0, n * n * sizeof *H);
    for (size_t i = 0; i + 1 < n; i++) {
        H[i * n + i] += 1200 * x[i] * x[i] - 400 * x[i + 1] + 2;
        H[(i + 1) * n + i + 1] += 200;
        H[i * n + i + 1] += -400 * x[i];
        H[(i + 1) * n + i] += -400 * x[i];
    }
}

Test(sparse, rosenbrock_hessian_tridiagonal_from_zero) {
    nb_ctx *c = new_ctx();
    size_t n = 10;
    double x0[10] = {0}, x[10], H[100], A[100], D[100], g[10], gd[10], fx, fd;
    nb_sparse *p = NULL;
    /* at 0 every 2 x_i is 0: the pattern must come from the structure */
    cr_assert_eq(nb_sparse_hess_new(c, rosen, &n, n, x0, &p), NB_OK);
    cr_expect_eq(nb_sparse_nnz(p), 3 * n - 2);
    cr_expect_eq(nb_sparse_passes(p), 3);
    unsigned long long s = 7;
    for (int trial = 0; trial < 5; trial++) {
        for (size_t i = 0; i < n; i++) x[i] = trial == 4 ? 1 : uniform(&s, -2, 2);
        double val[28];
        cr_assert_eq(nb_sparse_hessian(c, p, rosen, &n, x, &fx, g, val), NB_OK);
        densify(p, val, H);
        rosen_hess(n, x, A);
        cr_assert_eq(nb_hessian(c, rosen, &n, n, x, &fd, gd, D), NB_OK);
        cr_expect_eq(memcmp(H, D, sizeof H), 0, "trial %d: the dense Hessian's doubles", trial);
        cr_expect_eq(fx, fd);
        cr_expect_eq(memcmp(g, gd, sizeof g), 0);
        for (size_t k = 0; k < n * n; k++)
            cr_expect(close_to(H[k], A[k], 1e-12, 0), "trial %d entry %zu: %g vs %g", trial, k,
                      H[k], A[k]);
    }
    cr_expect_eq(H[0], 802.0); /* at (1, ..., 1) */
    cr_expect_eq(H[1], -400.0);
    nb_sparse_free(p);
    nb_ctx_free(c);
}

/* x0 x1 + sin(x2) + x3 (a linear term) + exp(x4 + x5) */
static nb_var mixed(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    nb_var s = nb_add(c, nb_mul(c, x[0], x[1]), nb_sin(c, x[2]));
    s = nb_add(c, s, x[3]);
    return nb_add(c, s, nb_exp(c, nb_add(c, x[4], x[5])));
}

static double mixed_d(const double *x, size_t i, size_t j) {
    if ((i == 0 && j == 1) || (i == 1 && j == 0)) return 1;
    if (i == 2 && j == 2) return -sin(x[2]);
    if (i >= 4 && j >= 4) return exp(x[4] + x[5]);
    return 0;
}

Test(sparse, hessian_pattern_is_second_order) {
    nb_ctx *c = new_ctx();
    double x[6] = {0, 0, 0, 0, 0.5, -0.25};
    nb_sparse *p = NULL;
    cr_assert_eq(nb_sparse_hess_new(c, mixed, NULL, 6, x, &p), NB_OK);
    for (size_t i = 0; i < 6; i++)
        for (size_t j = 0; j < 6; j++)
            cr_expect_eq(has(p, i, j), mixed_d(x, i, j) != 0 || (i == 2 && j == 2), "entry %zu %zu",
                         i, j);
    cr_expect_eq(nb_sparse_nnz(p), 7);
    double y[6] = {0.3, -0.7, 1.1, 2, -0.4, 0.9}, val[7], H[36];
    cr_assert_eq(nb_sparse_hessian(c, p, mixed, NULL, y, NULL, NULL, val), NB_OK);
    densify(p, val, H);
    for (size_t i = 0; i < 6; i++)
        for (size_t j = 0; j < 6; j++)
            cr_expect(close_to(H[i * 6 + j], mixed_d(y, i, j), 1e-15, 0), "%zu %zu", i, j);
    nb_sparse_free(p);
    nb_ctx_free(c);
}

/* ---- the gradient of a sparse Jacobian's entry against GSL's central difference ---- */
struct slice {
    size_t n, k;
    double x[8];
};
static double broyden_entry(double t, void *env) {
    struct slice *s = env;
    double xi = s->x[s->k];
    (void)xi;
    /* y_k as a function of x_k alone */
    double v = (3 - 2 * t) * t + 1;
    if (s->k > 0) v -= s->x[s->k - 1];
    if (s->k + 1 < s->n) v -= 2 * s->x[s->k + 1];
    return v;
}

Test(sparse, against_central_differences) {
    nb_ctx *c = new_ctx();
    struct slice s = {8, 0, {0.3, -0.2, 1.5, 0.75, -1, 2, 0.1, -0.6}};
    nb_sparse *p = NULL;
    cr_assert_eq(nb_sparse_jac_new(c, broyden, &s.n, 8, 8, s.x, NB_SPARSE_AUTO, &p), NB_OK);
    double val[22], J[64];
    cr_assert_eq(nb_sparse_jacobian(c, p, broyden, &s.n, s.x, NULL, val), NB_OK);
    densify(p, val, J);
    for (s.k = 0; s.k < 8; s.k++) {
        double err, d = fd_central(broyden_entry, &s, s.x[s.k], 1e-4, &err);
        cr_expect(fabs(J[s.k * 8 + s.k] - d) <= 1e-8 + err, "diagonal %zu: %g vs %g", s.k,
                  J[s.k * 8 + s.k], d);
    }
    nb_sparse_free(p);
    nb_ctx_free(c);
}

/* ---- patterns given by the caller ---- */
Test(sparse, given_patterns) {
    nb_ctx *c = new_ctx();
    size_t n = 6;
    /* Broyden's tridiagonal pattern, shuffled, with repeats */
    size_t rows[40], cols[40], k = 0;
    for (size_t i = n; i-- > 0;) {
        for (size_t j = 0; j < n; j++)
            if (i == j || i == j + 1 || j == i + 1) rows[k] = i, cols[k++] = j;
        rows[k] = i, cols[k++] = i; /* the diagonal twice */
    }
    nb_sparse *p = NULL;
    cr_assert_eq(nb_sparse_jac_new_pattern(c, n, n, k, rows, cols, NB_SPARSE_AUTO, &p), NB_OK);
    cr_expect_eq(nb_sparse_nnz(p), 3 * n - 2);
    cr_expect_eq(nb_sparse_passes(p), 3);
    const size_t *rp = nb_sparse_row_ptr(p), *ci = nb_sparse_col_idx(p);
    for (size_t i = 0; i < n; i++)
        for (size_t e = rp[i] + 1; e < rp[i + 1]; e++) cr_expect_lt(ci[e - 1], ci[e]);
    double x[6] = {1, 2, 3, 4, 5, 6}, val[16], J[36], D[36];
    cr_assert_eq(nb_sparse_jacobian(c, p, broyden, &n, x, NULL, val), NB_OK);
    densify(p, val, J);
    cr_assert_eq(nb_jacobian(c, broyden, &n, n, n, x, NB_JAC_FORWARD, NULL, D), NB_OK);
    cr_expect_eq(memcmp(J, D, sizeof J), 0);
    nb_sparse_free(p);
    /* a Hessian from its lower triangle */
    size_t hr[4] = {1, 2, 4, 5}, hc[4] = {0, 2, 4, 4};
    size_t hr2[1] = {5}, hc2[1] = {5};
    nb_sparse *h = NULL;
    cr_assert_eq(nb_sparse_hess_new_pattern(c, 6, 4, hr, hc, &h), NB_OK);
    cr_expect_eq(nb_sparse_nnz(h), 6); /* (0,1) (1,0) (2,2) (4,4) (4,5) (5,4) */
    cr_expect(has(h, 0, 1) && has(h, 1, 0) && has(h, 5, 4) && !has(h, 5, 5));
    nb_sparse_free(h);
    cr_assert_eq(nb_sparse_hess_new_pattern(c, 6, 1, hr2, hc2, &h), NB_OK);
    nb_sparse_free(h);
    /* out of range */
    size_t bad = 6;
    cr_expect_eq(nb_sparse_jac_new_pattern(c, n, n, 1, &bad, cols, NB_SPARSE_AUTO, &p), NB_E_ARG);
    cr_expect_null(p);
    nb_ctx_free(c);
}

/* ---- errors ---- */
static void backward_inside(nb_ctx *c, const nb_var *x, nb_var *y, void *env) {
    (void)env;
    y[0] = nb_mul(c, x[0], x[0]);
    nb_backward(c, y[0]); /* the pattern level is not a tape to sweep */
}
static void stale(nb_ctx *c, const nb_var *x, nb_var *y, void *env) {
    (void)env;
    nb_push(c, NB_REVERSE);
    nb_var t = nb_rev_input(c, x[0]);
    nb_pop(c);
    y[0] = nb_sin(c, t);
}

Test(sparse, errors) {
    nb_ctx *c = new_ctx();
    size_t n = 4;
    double x[4] = {1, 2, 3, 4}, val[10];
    nb_sparse *p = (nb_sparse *)&n;
    cr_expect_eq(nb_sparse_jac_new(NULL, broyden, &n, n, n, x, NB_SPARSE_AUTO, &p), NB_E_ARG);
    cr_expect_null(p);
    cr_expect_eq(nb_sparse_jac_new(c, NULL, &n, n, n, x, NB_SPARSE_AUTO, &p), NB_E_ARG);
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_sparse_jac_new(c, broyden, &n, n, n, NULL, NB_SPARSE_AUTO, &p), NB_E_ARG);
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_sparse_jac_new(c, broyden, &n, n, n, x, (nb_sparse_mode)7, &p), NB_E_ARG);
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_sparse_jac_new(c, broyden, &n, (size_t)UINT32_MAX, n, x, NB_SPARSE_AUTO, &p),
                 NB_E_ARG);
    nb_ctx_clear_error(c);
    /* a level pushed: the pattern needs level 1 */
    cr_assert_eq(nb_push(c, NB_FORWARD), NB_OK);
    cr_expect_eq(nb_sparse_jac_new(c, broyden, &n, n, n, x, NB_SPARSE_AUTO, &p), NB_E_LEVEL);
    cr_expect_null(p);
    cr_expect_eq(nb_depth(c), 1);
    nb_pop(c);
    nb_ctx_clear_error(c);
    /* errors of f */
    size_t one = 1;
    cr_expect_eq(nb_sparse_jac_new(c, backward_inside, &one, 1, 1, x, NB_SPARSE_AUTO, &p), NB_E_LEVEL);
    cr_expect_null(p);
    cr_expect_eq(nb_depth(c), 0);
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_sparse_jac_new(c, stale, &one, 1, 1, x, NB_SPARSE_AUTO, &p), NB_E_STALE);
    cr_expect_null(p);
    nb_ctx_clear_error(c);
    /* a plan of the other kind, and NULLs at evaluation */
    cr_assert_eq(nb_sparse_jac_new(c, broyden, &n, n, n, x, NB_SPARSE_AUTO, &p), NB_OK);
    double fx = 0;
    cr_expect_eq(nb_sparse_hessian(c, p, rosen, &n, x, &fx, NULL, val), NB_E_ARG);
    nb_ctx_clear_error(c);
    double y[4] = {0};
    cr_expect_eq(nb_sparse_jacobian(c, p, broyden, &n, NULL, y, val), NB_E_ARG);
    cr_expect(isnan(y[0]) && isnan(val[0]));
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_sparse_jacobian(c, NULL, broyden, &n, x, y, val), NB_E_ARG);
    nb_ctx_clear_error(c);
    /* an error of f at evaluation: NaN everywhere */
    cr_expect_eq(nb_sparse_jacobian(c, p, stale, &one, x, y, val), NB_E_STALE);
    for (size_t e = 0; e < nb_sparse_nnz(p); e++) cr_expect(isnan(val[e]));
    nb_ctx_clear_error(c);
    /* an error already recorded is returned at once, f not called */
    cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
    nb_var t = nb_rev_input(c, nb_const(1));
    nb_pop(c);
    nb_sin(c, t);
    nb_sparse *q = NULL;
    cr_expect_eq(nb_sparse_jac_new(c, backward_inside, &one, 1, 1, x, NB_SPARSE_AUTO, &q), NB_E_STALE);
    cr_expect_null(q);
    cr_expect_eq(nb_sparse_jacobian(c, p, broyden, &n, x, y, val), NB_E_STALE);
    cr_expect(isnan(val[0]));
    nb_ctx_clear_error(c);
    nb_sparse_free(p);
    nb_sparse_free(NULL);
    cr_expect_eq(nb_sparse_nnz(NULL), 0);
    nb_ctx_free(c);
}

/* ---- every allocation failing in turn: an error, never a crash or a leak ---- */
Test(sparse, allocation_failures) {
    size_t n = 12;
    double x[12];
    for (size_t i = 0; i < n; i++) x[i] = 0.3 * (double)i - 1;
    int ok_jac = 0, ok_hess = 0;
    for (int k = 1; k < 400 && !(ok_jac && ok_hess); k++) {
        struct failing f = {0, k};
        nb_ctx_opts o = failing_opts(&f);
        nb_ctx *c = NULL;
        if (nb_ctx_new(&c, &o) != NB_OK) continue;
        nb_sparse *p = NULL, *h = NULL;
        nb_status s = nb_sparse_jac_new(c, broyden, &n, n, n, x, NB_SPARSE_AUTO, &p);
        cr_expect(s == NB_OK || s == NB_E_NOMEM, "jac at %d: %d", k, s);
        cr_expect_eq(s == NB_OK, p != NULL);
        if (p) {
            double val[34];
            s = nb_sparse_jacobian(c, p, broyden, &n, x, NULL, val);
            cr_expect(s == NB_OK || s == NB_E_NOMEM);
            if (s == NB_OK) ok_jac = 1;
            else cr_expect(isnan(val[0]));
        }
        nb_ctx_clear_error(c);
        s = nb_sparse_hess_new(c, rosen, &n, n, x, &h);
        cr_expect(s == NB_OK || s == NB_E_NOMEM, "hess at %d: %d", k, s);
        if (h) {
            double val[34];
            s = nb_sparse_hessian(c, h, rosen, &n, x, NULL, NULL, val);
            cr_expect(s == NB_OK || s == NB_E_NOMEM);
            if (s == NB_OK) ok_hess = 1;
        }
        nb_sparse_free(p);
        nb_sparse_free(h);
        nb_ctx_free(c);
    }
    cr_expect(ok_jac && ok_hess);
}

/* ---- ops that pick their rule by value (max: 1 or 0) and rules that are identically zero
 * (stop_gradient) ---- */
static nb_var max_sq(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    nb_var m = nb_max(c, x[0], x[1]);
    return nb_add(c, nb_mul(c, m, m), nb_mul(c, x[2], nb_stop_gradient(c, x[3])));
}

Test(sparse, rules_chosen_by_value_stay_in_the_pattern) {
    nb_ctx *c = new_ctx();
    /* made where x0 > x1 (max's partial for x1 is the constant 0 there), used where x1 > x0 */
    double a[4] = {2, 1, 0.5, 3}, b[4] = {1, 2, -0.5, 4}, val[16], H[16], D[16];
    nb_sparse *p = NULL;
    cr_assert_eq(nb_sparse_hess_new(c, max_sq, NULL, 4, a, &p), NB_OK);
    cr_expect(has(p, 0, 0) && has(p, 0, 1) && has(p, 1, 0) && has(p, 1, 1));
    /* x2 * stop_gradient(x3): no second derivative at all */
    for (size_t j = 0; j < 4; j++) cr_expect(!has(p, 2, j) && !has(p, 3, j), "row 2/3 col %zu", j);
    cr_assert_eq(nb_sparse_hessian(c, p, max_sq, NULL, b, NULL, NULL, val), NB_OK);
    densify(p, val, H);
    cr_assert_eq(nb_hessian(c, max_sq, NULL, 4, b, NULL, NULL, D), NB_OK);
    cr_expect_eq(memcmp(H, D, sizeof H), 0);
    cr_expect_eq(H[5], 2.0);
    nb_sparse_free(p);
    nb_ctx_free(c);
}

/* ---- into GSL's sparse matrices ---- */
Test(sparse, gsl_spmatrix_in_place) {
    nb_ctx *c = new_ctx();
    size_t n = 30;
    double x[30], D[900], v[30], w[30];
    for (size_t i = 0; i < n; i++) x[i] = 0.05 * (double)i - 0.4, v[i] = sin((double)i);
    nb_sparse *p = NULL;
    cr_assert_eq(nb_sparse_jac_new(c, broyden, &n, n, n, x, NB_SPARSE_AUTO, &p), NB_OK);
    gsl_spmatrix *J = nb_gsl_spmatrix_new(p);
    cr_assert_not_null(J);
    cr_expect_eq(J->sptype, GSL_SPMATRIX_CSR);
    cr_expect_eq(J->nz, 3 * n - 2);
    cr_assert_eq(nb_sparse_jacobian(c, p, broyden, &n, x, NULL, J->data), NB_OK);
    cr_assert_eq(nb_jacobian(c, broyden, &n, n, n, x, NB_JAC_FORWARD, NULL, D), NB_OK);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            cr_expect_eq(gsl_spmatrix_get(J, i, j), D[i * n + j], "%zu %zu", i, j);
    gsl_vector_view vv = gsl_vector_view_array(v, n), wv = gsl_vector_view_array(w, n);
    cr_assert_eq(gsl_spblas_dgemv(CblasNoTrans, 1.0, J, &vv.vector, 0.0, &wv.vector), 0);
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t j = 0; j < n; j++) s += D[i * n + j] * v[j];
        cr_expect(close_to(w[i], s, 1e-14, 1e-15));
    }
    gsl_spmatrix_free(J);
    nb_sparse_free(p);
    /* no GSL matrix for an empty shape or no plan */
    size_t none = 0;
    cr_assert_eq(nb_sparse_jac_new_pattern(c, 0, 3, 0, &none, &none, NB_SPARSE_AUTO, &p), NB_OK);
    cr_expect_null(nb_gsl_spmatrix_new(p));
    cr_expect_null(nb_gsl_spmatrix_new(NULL));
    nb_sparse_free(p);
    nb_ctx_free(c);
}

/* ---- the tutorial's claim: sum sin(x_i) exp(-x_i^2) has a diagonal Hessian, one pass ---- */
static nb_var sinexp_sum(nb_ctx *c, const nb_var *x, void *env) {
    const size_t n = *(const size_t *)env;
    nb_var s = nb_const(0);
    for (size_t i = 0; i < n; i++)
        s = nb_add(c, s, nb_mul(c, nb_sin(c, x[i]), nb_exp(c, nb_neg(c, nb_powi(c, x[i], 2)))));
    return s;
}

Test(sparse, diagonal_hessian_one_pass) {
    nb_ctx *c = new_ctx();
    size_t n = 2000;
    double *x = calloc(n, sizeof *x), *val = malloc(n * sizeof *val);
    cr_assert(x && val);
    nb_sparse *p = NULL;
    cr_assert_eq(nb_sparse_hess_new(c, sinexp_sum, &n, n, x, &p), NB_OK); /* at 0 */
    cr_expect_eq(nb_sparse_nnz(p), n);
    cr_expect_eq(nb_sparse_passes(p), 1);
    for (size_t i = 0; i < n; i++) x[i] = -2 + 4 * (double)i / (double)n;
    cr_assert_eq(nb_sparse_hessian(c, p, sinexp_sum, &n, x, NULL, NULL, val), NB_OK);
    for (size_t i = 0; i < n; i++) { /* (sin e^{-x^2})'' = e^{-x^2} ((4x^2 - 3) sin x - 4x cos x) */
        const double t = x[i], want = exp(-t * t) * ((4 * t * t - 3) * sin(t) - 4 * t * cos(t));
        cr_expect(close_to(val[i], want, 1e-13, 1e-15), "%zu: %g vs %g", i, val[i], want);
    }
    free(x);
    free(val);
    nb_sparse_free(p);
    nb_ctx_free(c);
}

/* ---- a dense row and a dense column: y_0 = sum x, y_i = x_i x_0 + x_i^3 ---- */
static void cross(nb_ctx *c, const nb_var *x, nb_var *y, void *env) {
    const size_t n = *(const size_t *)env;
    y[0] = nb_sum(c, n, x);
    for (size_t i = 1; i < n; i++) y[i] = nb_add(c, nb_mul(c, x[i], x[0]), nb_powi(c, x[i], 3));
}

Test(sparse, dense_row_and_column_mixed) {
    nb_ctx *c = new_ctx();
    size_t n = 400;
    double *x = malloc(n * sizeof *x), *J = malloc(n * n * sizeof *J), *D = malloc(n * n * sizeof *D);
    double *val = malloc(3 * n * sizeof *val), y[400], yd[400];
    cr_assert(x && J && D && val);
    for (size_t i = 0; i < n; i++) x[i] = cos((double)i);
    nb_sparse *p = NULL;
    cr_assert_eq(nb_sparse_jac_new(c, cross, &n, n, n, x, NB_SPARSE_AUTO, &p), NB_OK);
    cr_expect_eq(nb_sparse_nnz(p), n + 2 * (n - 1));
    /* all forward needs n passes, all reverse n; row 0 by a sweep, column 0 and the diagonal by
     * two forward passes: 3 */
    cr_expect_eq(nb_sparse_mode_of(p), NB_SPARSE_MIXED);
    cr_expect_eq(nb_sparse_passes(p), 3);
    cr_assert_eq(nb_sparse_jacobian(c, p, cross, &n, x, y, val), NB_OK);
    densify(p, val, J);
    cr_assert_eq(nb_jacobian(c, cross, &n, n, n, x, NB_JAC_FORWARD, yd, D), NB_OK);
    for (size_t k = 0; k < n * n; k++) cr_expect(close_to(J[k], D[k], 1e-15, 0), "%zu", k);
    cr_expect_eq(memcmp(y, yd, sizeof y), 0);
    /* y may be x itself: written after every pass has read x */
    cr_assert_eq(nb_sparse_jacobian(c, p, cross, &n, x, x, val), NB_OK);
    cr_expect_eq(memcmp(x, yd, sizeof yd), 0);
    nb_sparse_free(p);
    free(x), free(J), free(D), free(val);
    nb_ctx_free(c);
}

/* ---- an arrowhead Hessian: x_0 couples every other input, sum_i x_0 sin(x_i) ---- */
static nb_var arrowhead(nb_ctx *c, const nb_var *x, void *env) {
    const size_t n = *(const size_t *)env;
    nb_var s = nb_const(0);
    for (size_t i = 1; i < n; i++) s = nb_add(c, s, nb_mul(c, x[0], nb_sin(c, x[i])));
    return s;
}

Test(sparse, arrowhead_hessian_two_passes) {
    nb_ctx *c = new_ctx();
    size_t n = 300;
    double *x = malloc(n * sizeof *x), *H = malloc(n * n * sizeof *H), *D = malloc(n * n * sizeof *D);
    double *val = malloc(3 * n * sizeof *val);
    cr_assert(x && H && D && val);
    for (size_t i = 0; i < n; i++) x[i] = 0.01 * (double)i - 1;
    nb_sparse *p = NULL;
    cr_assert_eq(nb_sparse_hess_new(c, arrowhead, &n, n, x, &p), NB_OK);
    cr_expect_eq(nb_sparse_nnz(p), 3 * (n - 1)); /* (0, i), (i, 0), (i, i); not (0, 0) */
    /* the columns all meet row 0: n groups without splitting; column 0 alone, then the
     * diagonal in one pass */
    cr_expect_eq(nb_sparse_passes(p), 2);
    cr_assert_eq(nb_sparse_hessian(c, p, arrowhead, &n, x, NULL, NULL, val), NB_OK);
    densify(p, val, H);
    cr_assert_eq(nb_hessian(c, arrowhead, &n, n, x, NULL, NULL, D), NB_OK);
    cr_expect_eq(memcmp(H, D, n * n * sizeof *H), 0);
    for (size_t i = 1; i < n; i++) {
        cr_expect_eq(H[i], cos(x[i]));
        cr_expect_eq(H[i * n], cos(x[i]));
        cr_expect(close_to(H[i * n + i], -x[0] * sin(x[i]), 1e-15, 0));
    }
    nb_sparse_free(p);
    free(x), free(H), free(D), free(val);
    nb_ctx_free(c);
}

/* ---- reverse-major with a dense column: y_0 = sum x, y_i = x_0 x_{2i-1} x_{2i} (i = 1 .. K) ---- */
static void pairs(nb_ctx *c, const nb_var *x, nb_var *y, void *env) {
    const size_t k = *(const size_t *)env;
    y[0] = nb_sum(c, 2 * k + 1, x);
    for (size_t i = 1; i <= k; i++) y[i] = nb_mul(c, x[0], nb_mul(c, x[2 * i - 1], x[2 * i]));
}

Test(sparse, dense_column_with_reverse_sweeps) {
    nb_ctx *c = new_ctx();
    size_t k = 100, n = 2 * k + 1, m = k + 1;
    double x[201], J[101 * 201], D[101 * 201], val[201 + 300];
    for (size_t j = 0; j < n; j++) x[j] = 1 + 0.01 * (double)j;
    nb_sparse *p = NULL;
    cr_assert_eq(nb_sparse_jac_new(c, pairs, &k, n, m, x, NB_SPARSE_AUTO, &p), NB_OK);
    cr_expect_eq(nb_sparse_nnz(p), n + 3 * k);
    /* columns: x_0 meets every row; rows: y_0 meets every row. Column 0 by a forward pass and
     * the rows in two sweeps (y_0 alone, the others together): 3 */
    cr_expect_eq(nb_sparse_mode_of(p), NB_SPARSE_MIXED);
    cr_expect_eq(nb_sparse_passes(p), 3);
    cr_assert_eq(nb_sparse_jacobian(c, p, pairs, &k, x, NULL, val), NB_OK);
    densify(p, val, J);
    cr_assert_eq(nb_jacobian(c, pairs, &k, n, m, x, NB_JAC_REVERSE, NULL, D), NB_OK);
    for (size_t e = 0; e < m * n; e++) cr_expect(close_to(J[e], D[e], 1e-15, 0), "%zu", e);
    nb_sparse_free(p);
    nb_ctx_free(c);
}

/* ---- a dense pattern: the coloring falls back to a color per column instead of its cubic
 * cost, and stays valid ---- */
Test(sparse, dense_pattern_is_cheap_to_plan) {
    nb_ctx *c = new_ctx();
    size_t n = 1500, nnz = n * n;
    size_t *r = malloc(nnz * sizeof *r), *q = malloc(nnz * sizeof *q);
    cr_assert(r && q);
    for (size_t e = 0; e < nnz; e++) r[e] = e / n, q[e] = e % n;
    nb_sparse *p = NULL;
    cr_assert_eq(nb_sparse_jac_new_pattern(c, n, n, nnz, r, q, NB_SPARSE_FORWARD, &p), NB_OK);
    cr_expect_eq(nb_sparse_passes(p), n);
    nb_sparse_free(p);
    cr_assert_eq(nb_sparse_jac_new_pattern(c, n, n, nnz, r, q, NB_SPARSE_AUTO, &p), NB_OK);
    cr_expect_eq(nb_sparse_passes(p), n);
    nb_sparse_free(p);
    free(r), free(q);
    nb_ctx_free(c);
}

/* ---- partials picked by value times a constant adjoint: |x0 x1| and max(x0 x1 - 1, 0) recorded
 * at 0, where abs's sign and max's choice are the constant 0 ---- */
static nb_var abs_prod(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_add(c, nb_abs(c, nb_mul(c, x[0], x[1])),
                  nb_max(c, nb_sub(c, nb_mul(c, x[2], x[3]), nb_const(1)), nb_const(0)));
}
/* the gradient of sum |x_i x_{i+1}| as a vector function */
static nb_var abs_chain(nb_ctx *c, const nb_var *x, void *env) {
    const size_t n = *(const size_t *)env;
    nb_var s = nb_const(0);
    for (size_t i = 0; i + 1 < n; i++) s = nb_add(c, s, nb_abs(c, nb_mul(c, x[i], x[i + 1])));
    return s;
}
static void abs_chain_grad(nb_ctx *c, const nb_var *x, nb_var *y, void *env) {
    nb_gradient_var(c, abs_chain, env, *(const size_t *)env, x, NULL, y);
}

Test(sparse, constant_partials_times_constant_adjoints) {
    nb_ctx *c = new_ctx();
    double z[4] = {0}, x[4] = {1, -2, 1.5, 2}, val[16], H[16], D[16];
    nb_sparse *p = NULL;
    cr_assert_eq(nb_sparse_hess_new(c, abs_prod, NULL, 4, z, &p), NB_OK);
    cr_expect(has(p, 0, 1) && has(p, 1, 0) && has(p, 2, 3) && has(p, 3, 2));
    cr_assert_eq(nb_sparse_hessian(c, p, abs_prod, NULL, x, NULL, NULL, val), NB_OK);
    densify(p, val, H);
    cr_assert_eq(nb_hessian(c, abs_prod, NULL, 4, x, NULL, NULL, D), NB_OK);
    cr_expect_eq(memcmp(H, D, sizeof H), 0);
    cr_expect_eq(H[1], -1.0); /* sign(x0 x1) */
    cr_expect_eq(H[2 * 4 + 3], 1.0);
    nb_sparse_free(p);
    /* the same through a gradient inside a Jacobian */
    size_t n = 6;
    double z6[6] = {0}, x6[6] = {1, -1, 2, 0.5, -3, 1}, v6[16], J[36], D6[36];
    cr_assert_eq(nb_sparse_jac_new(c, abs_chain_grad, &n, n, n, z6, NB_SPARSE_AUTO, &p), NB_OK);
    cr_expect_eq(nb_sparse_nnz(p), 2 * (n - 1));
    cr_assert_eq(nb_sparse_jacobian(c, p, abs_chain_grad, &n, x6, NULL, v6), NB_OK);
    densify(p, v6, J);
    cr_assert_eq(nb_jacobian(c, abs_chain_grad, &n, n, n, x6, NB_JAC_FORWARD, NULL, D6), NB_OK);
    cr_expect_eq(memcmp(J, D6, sizeof J), 0);
    nb_sparse_free(p);
    nb_ctx_free(c);
}

Test(sparse, wrong_kind_and_empty_plans) {
    nb_ctx *c = new_ctx();
    size_t n = 3;
    double x[3] = {1, 2, 3}, y[3] = {0}, val[9] = {0}, fx = 0, g[3] = {0};
    nb_sparse *h = NULL, *j = NULL;
    cr_assert_eq(nb_sparse_hess_new(c, rosen, &n, n, x, &h), NB_OK);
    cr_assert_eq(nb_sparse_jac_new(c, broyden, &n, n, n, x, NB_SPARSE_AUTO, &j), NB_OK);
    cr_expect_eq(nb_sparse_jacobian(c, h, broyden, &n, x, y, val), NB_E_ARG);
    cr_expect(isnan(y[0]) && isnan(y[2]) && isnan(val[0]) && isnan(val[6]));
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_sparse_hessian(c, j, rosen, &n, x, &fx, g, val), NB_E_ARG);
    cr_expect(isnan(fx) && isnan(g[0]) && isnan(val[0]));
    nb_ctx_clear_error(c);
    /* no context: NaN all the same */
    y[0] = 0, fx = 0;
    cr_expect_eq(nb_sparse_jacobian(NULL, j, broyden, &n, x, y, val), NB_E_ARG);
    cr_expect(isnan(y[0]));
    cr_expect_eq(nb_sparse_hessian(NULL, h, rosen, &n, x, &fx, NULL, val), NB_E_ARG);
    cr_expect(isnan(fx));
    nb_sparse_free(h);
    nb_sparse_free(j);
    /* no entries: no pass, the mode asked for */
    size_t none = 0;
    cr_assert_eq(nb_sparse_jac_new_pattern(c, 3, 3, 0, &none, &none, NB_SPARSE_REVERSE, &j), NB_OK);
    cr_expect_eq(nb_sparse_passes(j), 0);
    cr_expect_eq(nb_sparse_mode_of(j), NB_SPARSE_REVERSE);
    cr_assert_eq(nb_sparse_jacobian(c, j, broyden, &n, x, y, val), NB_OK);
    cr_expect_eq(y[0], (3 - 2 * x[0]) * x[0] - 2 * x[1] + 1);
    nb_sparse_free(j);
    nb_ctx_free(c);
}

/* ---- random programs: plans made where inputs are 0 or integers (zero partials everywhere),
 * evaluated at random points against the dense drivers; ops picked by value (max, min, abs) and
 * reductions with constant elements included. A permanent form of the reviews' differential fuzz. ---- */
enum { RP_MAXN = 10, RP_MAXI = 24 };
struct rprog {
    int n, m, len;
    int op[RP_MAXI], a[RP_MAXI], b[RP_MAXI];
};
static nb_var rp_reg(nb_ctx *c, const struct rprog *P, const nb_var *x, nb_var *r, int k) {
    (void)c, (void)P;
    return k < P->n ? x[k] : r[k - P->n];
}
static void rp_run(nb_ctx *c, const struct rprog *P, const nb_var *x, nb_var *r) {
    for (int k = 0; k < P->len; k++) {
        nb_var u = rp_reg(c, P, x, r, P->a[k]), v = rp_reg(c, P, x, r, P->b[k]), w;
        switch (P->op[k]) {
        case 0: w = nb_add(c, u, v); break;
        case 1: w = nb_sub(c, u, v); break;
        case 2: w = nb_mul(c, u, v); break;
        case 3: w = nb_sin(c, u); break;
        case 4: w = nb_exp(c, nb_mul(c, nb_const(0.1), u)); break;
        case 5: w = nb_max(c, u, v); break;
        case 6: w = nb_min(c, u, v); break;
        case 7: w = nb_abs(c, nb_mul(c, u, v)); break;
        case 8: w = nb_powi(c, u, 2); break;
        case 9: w = nb_stop_gradient(c, u); break;
        case 10: { /* reductions mixing handles and constants */
            nb_var e3[3] = {u, nb_const(1.5), v};
            w = nb_sum(c, 3, e3);
            break;
        }
        default: {
            nb_var e2[2] = {u, nb_const(-0.5)}, f2[2] = {v, u};
            w = nb_dot(c, 2, e2, f2);
            break;
        }
        }
        r[k] = w;
    }
}
static void rp_vec(nb_ctx *c, const nb_var *x, nb_var *y, void *env) {
    const struct rprog *P = env;
    nb_var r[RP_MAXI];
    rp_run(c, P, x, r);
    for (int i = 0; i < P->m; i++) y[i] = r[P->len - 1 - i];
}
static nb_var rp_scalar(nb_ctx *c, const nb_var *x, void *env) {
    const struct rprog *P = env;
    nb_var r[RP_MAXI], s = nb_const(0);
    rp_run(c, P, x, r);
    for (int i = 0; i < P->m; i++) s = nb_add(c, s, r[P->len - 1 - i]);
    return s;
}

Test(sparse, random_programs_against_dense_drivers) {
    nb_ctx *c = new_ctx();
    unsigned long long s = 2026;
    int checked = 0;
    for (int trial = 0; trial < 400; trial++) {
        struct rprog P;
        P.n = 2 + (int)uniform(&s, 0, RP_MAXN - 1);
        P.len = 4 + (int)uniform(&s, 0, RP_MAXI - 4);
        P.m = 1 + (int)uniform(&s, 0, 4);
        if (P.m > P.len) P.m = P.len;
        for (int k = 0; k < P.len; k++) {
            P.op[k] = (int)uniform(&s, 0, 12);
            /* operands: mostly inputs, so that the pattern stays sparse */
            P.a[k] = uniform(&s, 0, 1) < 0.6 ? (int)uniform(&s, 0, P.n) : (int)uniform(&s, 0, P.n + k);
            P.b[k] = uniform(&s, 0, 1) < 0.6 ? (int)uniform(&s, 0, P.n) : (int)uniform(&s, 0, P.n + k);
        }
        double x0[RP_MAXN], x[RP_MAXN], val[RP_MAXN * RP_MAXN], A[RP_MAXN * RP_MAXN],
            D[RP_MAXN * RP_MAXN];
        for (int i = 0; i < P.n; i++) x0[i] = trial % 2 ? 0 : (double)((int)uniform(&s, -2, 3));
        const size_t n = (size_t)P.n, m = (size_t)P.m;
        nb_sparse *p = NULL;
        const int hess = trial % 3 == 0;
        nb_status st = hess ? nb_sparse_hess_new(c, rp_scalar, &P, n, x0, &p)
                            : nb_sparse_jac_new(c, rp_vec, &P, n, m, x0, NB_SPARSE_AUTO, &p);
        cr_assert_eq(st, NB_OK, "trial %d", trial);
        for (int pt = 0; pt < 3; pt++) {
            for (int i = 0; i < P.n; i++) x[i] = uniform(&s, -2, 2);
            const size_t rows = hess ? n : m;
            if (hess) {
                cr_assert_eq(nb_sparse_hessian(c, p, rp_scalar, &P, x, NULL, NULL, val), NB_OK);
                cr_assert_eq(nb_hessian(c, rp_scalar, &P, n, x, NULL, NULL, D), NB_OK);
            } else {
                cr_assert_eq(nb_sparse_jacobian(c, p, rp_vec, &P, x, NULL, val), NB_OK);
                cr_assert_eq(nb_jacobian(c, rp_vec, &P, n, m, x, NB_JAC_FORWARD, NULL, D), NB_OK);
            }
            densify(p, val, A);
            for (size_t k = 0; k < rows * n; k++)
                cr_expect(close_to(A[k], D[k], 1e-12, 1e-12), "trial %d point %d entry %zu: %g vs %g",
                          trial, pt, k, A[k], D[k]);
            checked++;
        }
        nb_sparse_free(p);
    }
    cr_expect_eq(checked, 1200);
    nb_ctx_free(c);
}

/* ---- reductions over handles and constants on the pattern level: only the handles are
 * operands ---- */
static void red_mix(nb_ctx *c, const nb_var *x, nb_var *y, void *env) {
    (void)env;
    nb_var a[3] = {x[0], nb_const(2.0), x[2]}, b[3] = {nb_const(3.0), x[1], x[1]};
    y[0] = nb_sum(c, 3, a);
    y[1] = nb_dot(c, 3, a, b);
    y[2] = nb_norm(c, 3, b);
    y[3] = nb_sumsq(c, 3, a);
}
static nb_var red_mix_sum(nb_ctx *c, const nb_var *x, void *env) {
    nb_var y[4];
    red_mix(c, x, y, env);
    return nb_add(c, nb_add(c, y[0], y[1]), nb_add(c, y[2], y[3]));
}

Test(sparse, reductions_with_constant_elements) {
    nb_ctx *c = new_ctx();
    double z[3] = {0}, x[3] = {0.5, -1.5, 2}, val[16], A[12], D[12], H[9], Dh[9];
    nb_sparse *p = NULL;
    cr_assert_eq(nb_sparse_jac_new(c, red_mix, NULL, 3, 4, z, NB_SPARSE_AUTO, &p), NB_OK);
    static const int want[4][3] = {{1, 0, 1}, {1, 1, 1}, {0, 1, 0}, {1, 0, 1}};
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < 3; j++) cr_expect_eq(has(p, i, j), want[i][j], "%zu %zu", i, j);
    cr_assert_eq(nb_sparse_jacobian(c, p, red_mix, NULL, x, NULL, val), NB_OK);
    densify(p, val, A);
    cr_assert_eq(nb_jacobian(c, red_mix, NULL, 3, 4, x, NB_JAC_FORWARD, NULL, D), NB_OK);
    for (int k = 0; k < 12; k++) cr_expect(close_to(A[k], D[k], 1e-15, 0), "%d", k);
    nb_sparse_free(p);
    cr_assert_eq(nb_sparse_hess_new(c, red_mix_sum, NULL, 3, x, &p), NB_OK);
    cr_assert_eq(nb_sparse_hessian(c, p, red_mix_sum, NULL, x, NULL, NULL, val), NB_OK);
    densify(p, val, H);
    cr_assert_eq(nb_hessian(c, red_mix_sum, NULL, 3, x, NULL, NULL, Dh), NB_OK);
    for (int k = 0; k < 9; k++) cr_expect(close_to(H[k], Dh[k], 1e-14, 0), "%d", k);
    nb_sparse_free(p);
    nb_ctx_free(c);
}
