/* implicit.c - derivatives of a solution x(theta) of F(x, theta) = 0 by the implicit function
 * theorem (nabla/drivers.h): one Jacobian of F at the solution, an LU factorization of its x
 * block (GSL), and solves with it. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_permutation.h>
#include <gsl/gsl_permute_vector.h>

#include "internal.h"
#include "nabla/drivers.h"

static void nan_fill(double *p, size_t n) {
    for (size_t i = 0; p && i < n; i++) p[i] = (double)NAN;
}

/* Scratch of one call: z = (x, theta), the n x (n + p) Jacobian, the permutation and a vector. */
typedef struct work {
    double *z, *jac, *v;
    size_t *perm;
    size_t n, p;
} work;

static void work_free(nb_ctx *c, work *w) {
    const size_t n = w->n, k = w->n + w->p;
    if (w->z) c->alloc(c->alloc_ud, w->z, (k ? k : 1) * sizeof(double), 0);
    if (w->jac) c->alloc(c->alloc_ud, w->jac, (n && k ? n * k : 1) * sizeof(double), 0);
    if (w->v) c->alloc(c->alloc_ud, w->v, (n ? n : 1) * sizeof(double), 0);
    if (w->perm) c->alloc(c->alloc_ud, w->perm, (n ? n : 1) * sizeof(size_t), 0);
}

/* The Jacobian of F at (x, theta) and the LU factorization of its x block, in w. NB_OK,
 * NB_E_SINGULAR for an exactly zero pivot, or the failure (recorded). */
static nb_status factor(nb_ctx *c, nb_vfn F, void *env, size_t n, size_t p, const double *x,
                        const double *theta, work *w) {
    const size_t k = n + p;
    w->n = n;
    w->p = p;
    w->z = c->alloc(c->alloc_ud, NULL, 0, (k ? k : 1) * sizeof(double));
    w->jac = c->alloc(c->alloc_ud, NULL, 0, (n && k ? n * k : 1) * sizeof(double));
    w->v = c->alloc(c->alloc_ud, NULL, 0, (n ? n : 1) * sizeof(double));
    w->perm = c->alloc(c->alloc_ud, NULL, 0, (n ? n : 1) * sizeof(size_t));
    if (!w->z || !w->jac || !w->v || !w->perm) return nb__fail(c, NB_E_NOMEM);
    if (n) memcpy(w->z, x, n * sizeof *x);
    if (p) memcpy(w->z + n, theta, p * sizeof *theta);
    nb_status s = nb_jacobian(c, F, env, k, n, w->z, NB_JAC_AUTO, NULL, w->jac);
    if (s || n == 0) return s;
    gsl_matrix_view A = gsl_matrix_view_array_with_tda(w->jac, n, n, k);
    gsl_permutation perm = {n, w->perm};
    int signum;
    gsl_linalg_LU_decomp(&A.matrix, &perm, &signum);
    for (size_t i = 0; i < n; i++)
        if (w->jac[i * k + i] == 0) return nb__fail(c, NB_E_SINGULAR);
    return NB_OK;
}

/* Sizes that no Jacobian could hold: NB_E_ARG before anything is made. */
static int absurd(size_t n, size_t p) {
    if (n > (size_t)UINT32_MAX - 1 || p > (size_t)UINT32_MAX - 1 - n) return 1;
    return n && n + p > SIZE_MAX / sizeof(double) / n;
}

nb_status nb_implicit_jacobian(nb_ctx *c, nb_vfn F, void *env, size_t n, size_t p,
                               const double *x, const double *theta, double *dxdtheta) {
    if (absurd(n, p)) return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
    if (!c || !F || (n && !x) || (p && !theta) || (n && p && !dxdtheta)) {
        nan_fill(dxdtheta, n * p);
        return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
    }
    work w = {0};
    nb_status s = c->err;
    if (!s) s = factor(c, F, env, n, p, x, theta, &w);
    if (!s && n && p) {
        /* column j of dx/dtheta solves A y = -B e_j */
        const size_t k = n + p;
        gsl_matrix_const_view A = gsl_matrix_const_view_array_with_tda(w.jac, n, n, k);
        gsl_permutation perm = {n, w.perm};
        gsl_vector_view v = gsl_vector_view_array(w.v, n);
        for (size_t j = 0; j < p; j++) {
            for (size_t i = 0; i < n; i++) w.v[i] = -w.jac[i * k + n + j];
            gsl_linalg_LU_svx(&A.matrix, &perm, &v.vector);
            for (size_t i = 0; i < n; i++) dxdtheta[i * p + j] = w.v[i];
        }
    }
    work_free(c, &w);
    if (s) nan_fill(dxdtheta, n * p);
    return s;
}

nb_status nb_implicit_vjp(nb_ctx *c, nb_vfn F, void *env, size_t n, size_t p, const double *x,
                          const double *theta, const double *xbar, double *thetabar) {
    if (absurd(n, p)) return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
    if (!c || !F || (n && (!x || !xbar)) || (p && (!theta || !thetabar))) {
        nan_fill(thetabar, p);
        return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
    }
    work w = {0};
    nb_status s = c->err;
    if (!s) s = factor(c, F, env, n, p, x, theta, &w);
    if (!s) {
        /* A^T lambda = xbar with P A = L U: U^T L^T (P lambda) = xbar, then thetabar =
         * -B^T lambda */
        const size_t k = n + p;
        if (n) {
            memcpy(w.v, xbar, n * sizeof *xbar);
            gsl_matrix_const_view A = gsl_matrix_const_view_array_with_tda(w.jac, n, n, k);
            gsl_vector_view v = gsl_vector_view_array(w.v, n);
            gsl_permutation perm = {n, w.perm};
            gsl_blas_dtrsv(CblasUpper, CblasTrans, CblasNonUnit, &A.matrix, &v.vector);
            gsl_blas_dtrsv(CblasLower, CblasTrans, CblasUnit, &A.matrix, &v.vector);
            gsl_permute_vector_inverse(&perm, &v.vector);
        }
        for (size_t j = 0; j < p; j++) {
            double t = 0;
            for (size_t i = 0; i < n; i++) t += w.jac[i * k + n + j] * w.v[i];
            thetabar[j] = -t;
        }
    }
    work_free(c, &w);
    if (s) nan_fill(thetabar, p);
    return s;
}
