/* gsl.c - drivers on gsl_vector and gsl_matrix: contiguous objects are used in place, strided
 * ones through temporary copies from the context's allocation hook. */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "internal.h"
#include "nabla/gsl.h"

/* A contiguous view of a vector: the data itself, or a copy. */
struct vview {
    double *p;
    size_t n;
    int owned;
};

static nb_status vin(nb_ctx *c, const gsl_vector *v, struct vview *out, int copy_in) {
    out->n = v->size;
    out->owned = 0;
    if (v->stride == 1 || v->size == 0) {
        out->p = v->data;
        return NB_OK;
    }
    out->p = c->alloc(c->alloc_ud, NULL, 0, v->size * sizeof(double));
    if (!out->p) return NB_E_NOMEM;
    out->owned = 1;
    if (copy_in)
        for (size_t i = 0; i < v->size; i++) out->p[i] = gsl_vector_get(v, i);
    return NB_OK;
}

static void vout(nb_ctx *c, gsl_vector *v, struct vview *w, int copy_out) {
    if (!w->owned) return;
    if (copy_out)
        for (size_t i = 0; i < v->size; i++) gsl_vector_set(v, i, w->p[i]);
    c->alloc(c->alloc_ud, w->p, w->n * sizeof(double), 0);
    w->p = NULL;
    w->owned = 0;
}

/* The matrix as row-major contiguous m x n: in place when tda == size2, or when it has no
 * elements (an m x 0 submatrix keeps its parent's tda: a copy of 0 bytes would be a free through
 * the hook, not an allocation). */
static nb_status min_(nb_ctx *c, gsl_matrix *M, double **p, int *owned) {
    *owned = 0;
    if (M->tda == M->size2 || M->size1 == 0 || M->size2 == 0) {
        *p = M->data;
        return NB_OK;
    }
    *p = c->alloc(c->alloc_ud, NULL, 0, M->size1 * M->size2 * sizeof(double));
    if (!*p) return NB_E_NOMEM;
    *owned = 1;
    return NB_OK;
}

static void mout(nb_ctx *c, gsl_matrix *M, double *p, int owned) {
    if (!owned) return;
    for (size_t i = 0; i < M->size1; i++)
        for (size_t j = 0; j < M->size2; j++) gsl_matrix_set(M, i, j, p[i * M->size2 + j]);
    c->alloc(c->alloc_ud, p, M->size1 * M->size2 * sizeof(double), 0);
}

/* NaN into every output given (NULL ones skipped), each over its own size, as the drivers give on
 * a failure: for invalid arguments, and where a temporary copy could not be made and the driver
 * did not run (nothing of the copies is copied out then). */
static void nan_outputs(double *fx, gsl_vector *a, gsl_vector *b, gsl_matrix *m) {
    if (fx) *fx = (double)NAN;
    if (a) gsl_vector_set_all(a, (double)NAN);
    if (b) gsl_vector_set_all(b, (double)NAN);
    if (m) gsl_matrix_set_all(m, (double)NAN);
}

/* Invalid arguments (a NULL context or object, sizes that disagree): NaN outputs and NB_E_ARG,
 * recorded when there is a context. */
static nb_status bad_args(nb_ctx *c, double *fx, gsl_vector *a, gsl_vector *b, gsl_matrix *m) {
    nan_outputs(fx, a, b, m);
    return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
}

nb_status nb_gradient_gsl(nb_ctx *c, nb_fn f, void *env, const gsl_vector *x, double *fx,
                          gsl_vector *g) {
    if (!c || !x || !g || g->size != x->size) return bad_args(c, fx, g, NULL, NULL);
    struct vview X, G;
    nb_status s = vin(c, x, &X, 1);
    if (!s && (s = vin(c, g, &G, 0))) vout(c, (gsl_vector *)x, &X, 0);
    if (s) {
        nan_outputs(fx, g, NULL, NULL);
        return nb__fail(c, s);
    }
    s = nb_gradient(c, f, env, X.n, X.p, fx, G.p);
    vout(c, g, &G, 1);
    vout(c, (gsl_vector *)x, &X, 0);
    return s;
}

nb_status nb_hvp_gsl(nb_ctx *c, nb_fn f, void *env, const gsl_vector *x, const gsl_vector *v,
                     double *fx, gsl_vector *g, gsl_vector *hv) {
    if (!c || !x || !v || !hv || v->size != x->size || hv->size != x->size ||
        (g && g->size != x->size))
        return bad_args(c, fx, g, hv, NULL);
    struct vview X = {0}, V = {0}, G = {0}, HV = {0};
    nb_status s = vin(c, x, &X, 1);
    if (!s) s = vin(c, v, &V, 1);
    if (!s && g) s = vin(c, g, &G, 0);
    if (!s) s = vin(c, hv, &HV, 0);
    const int ran = !s;
    if (ran) s = nb_hvp(c, f, env, X.n, X.p, V.p, fx, g ? G.p : NULL, HV.p);
    else nb__fail(c, s);
    vout(c, hv, &HV, ran);
    if (g) vout(c, g, &G, ran);
    vout(c, (gsl_vector *)v, &V, 0);
    vout(c, (gsl_vector *)x, &X, 0);
    if (!ran) nan_outputs(fx, g, hv, NULL);
    return s;
}

nb_status nb_hessian_gsl(nb_ctx *c, nb_fn f, void *env, const gsl_vector *x, double *fx,
                         gsl_vector *g, gsl_matrix *H) {
    if (!c || !x || !H || H->size1 != x->size || H->size2 != x->size || (g && g->size != x->size))
        return bad_args(c, fx, g, NULL, H);
    struct vview X = {0}, G = {0};
    double *h = NULL;
    int owned = 0;
    nb_status s = vin(c, x, &X, 1);
    if (!s && g) s = vin(c, g, &G, 0);
    if (!s) s = min_(c, H, &h, &owned);
    const int ran = !s;
    if (ran) s = nb_hessian(c, f, env, X.n, X.p, fx, g ? G.p : NULL, h);
    else nb__fail(c, s);
    if (h) mout(c, H, h, owned);
    if (g) vout(c, g, &G, ran);
    vout(c, (gsl_vector *)x, &X, 0);
    if (!ran) nan_outputs(fx, g, NULL, H);
    return s;
}

nb_status nb_jacobian_gsl(nb_ctx *c, nb_vfn f, void *env, const gsl_vector *x, nb_jac_mode mode,
                          gsl_vector *y, gsl_matrix *J) {
    if (!c || !x || !J || J->size2 != x->size || (y && y->size != J->size1))
        return bad_args(c, NULL, y, NULL, J);
    struct vview X = {0}, Y = {0};
    double *j = NULL;
    int owned = 0;
    nb_status s = vin(c, x, &X, 1);
    if (!s && y) s = vin(c, y, &Y, 0);
    if (!s) s = min_(c, J, &j, &owned);
    const int ran = !s;
    if (ran) s = nb_jacobian(c, f, env, X.n, J->size1, X.p, mode, y ? Y.p : NULL, j);
    else nb__fail(c, s);
    if (j) mout(c, J, j, owned);
    if (y) vout(c, y, &Y, ran);
    vout(c, (gsl_vector *)x, &X, 0);
    if (!ran) nan_outputs(NULL, y, NULL, J);
    return s;
}

nb_status nb_vjp_gsl(nb_ctx *c, nb_vfn f, void *env, const gsl_vector *x, const gsl_vector *v,
                     gsl_vector *y, gsl_vector *out) {
    if (!c || !x || !v || !out || out->size != x->size || (y && y->size != v->size))
        return bad_args(c, NULL, y, out, NULL);
    struct vview X = {0}, V = {0}, Y = {0}, O = {0};
    nb_status s = vin(c, x, &X, 1);
    if (!s) s = vin(c, v, &V, 1);
    if (!s && y) s = vin(c, y, &Y, 0);
    if (!s) s = vin(c, out, &O, 0);
    const int ran = !s;
    if (ran) s = nb_vjp(c, f, env, X.n, V.n, X.p, V.p, y ? Y.p : NULL, O.p);
    else nb__fail(c, s);
    vout(c, out, &O, ran);
    if (y) vout(c, y, &Y, ran);
    vout(c, (gsl_vector *)v, &V, 0);
    vout(c, (gsl_vector *)x, &X, 0);
    if (!ran) nan_outputs(NULL, y, out, NULL);
    return s;
}

nb_status nb_jvp_gsl(nb_ctx *c, nb_vfn f, void *env, const gsl_vector *x, const gsl_vector *u,
                     gsl_vector *y, gsl_vector *out) {
    if (!c || !x || !u || !out || u->size != x->size || (y && y->size != out->size))
        return bad_args(c, NULL, y, out, NULL);
    struct vview X = {0}, U = {0}, Y = {0}, O = {0};
    nb_status s = vin(c, x, &X, 1);
    if (!s) s = vin(c, u, &U, 1);
    if (!s && y) s = vin(c, y, &Y, 0);
    if (!s) s = vin(c, out, &O, 0);
    const int ran = !s;
    if (ran) s = nb_jvp_vec(c, f, env, X.n, O.n, X.p, U.p, y ? Y.p : NULL, O.p);
    else nb__fail(c, s);
    vout(c, out, &O, ran);
    if (y) vout(c, y, &Y, ran);
    vout(c, (gsl_vector *)u, &U, 0);
    vout(c, (gsl_vector *)x, &X, 0);
    if (!ran) nan_outputs(NULL, y, out, NULL);
    return s;
}

gsl_spmatrix *nb_gsl_spmatrix_new(const nb_sparse *p) {
    const size_t m = nb_sparse_rows(p), n = nb_sparse_cols(p), nnz = nb_sparse_nnz(p);
    if (!p || !m || !n || m > INT_MAX || n > INT_MAX || nnz > INT_MAX) return NULL;
    gsl_spmatrix *J = gsl_spmatrix_alloc_nzmax(m, n, nnz ? nnz : 1, GSL_SPMATRIX_CSR);
    if (!J) return NULL;
    const size_t *rp = nb_sparse_row_ptr(p), *ci = nb_sparse_col_idx(p);
    for (size_t i = 0; i <= m; i++) J->p[i] = (int)rp[i];
    for (size_t e = 0; e < nnz; e++) {
        J->i[e] = (int)ci[e];
        J->data[e] = 0;
    }
    J->nz = nnz;
    return J;
}
