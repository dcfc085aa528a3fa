/* gsl_adapt.c - adapters that give GSL's solvers every derivative they ask for, from one user
 * function: reverse-mode gradients, Jacobians, and the second directional derivative fvv by
 * forward over forward. Each adapter owns a context whose levels keep their storage, and scratch
 * arrays allocated once, so iterations allocate nothing. */
#include <math.h>
#include <string.h>

#include <gsl/gsl_blas.h>

#include "internal.h"
#include "nabla/gsl.h"

enum kind { MULTIMIN, MULTIROOT, MULTIFIT, MULTILARGE, FUNCTION, ODEIV2 };

struct nb_gsl_adapter {
    enum kind kind;
    nb_ctx *c;
    nb_status err;
    nb_fn f;
    nb_vfn vf;
    void *env;
    nb_odefn of; /* odeiv2: the user's right-hand side (vf is ode_vfn, env the adapter) */
    void *oenv;
    nb_odepfn pf; /* sensitivities: the user's f(t, y; p) (of is sens_rhs, oenv the adapter) */
    void *penv;
    size_t dim, np;  /* sensitivities: f's components and parameters */
    double *p;       /* sensitivities: the parameters (np) */
    nb_var *sh;      /* sensitivities: scratch handles, f's y and dydt (dim each) and p (np) */
    nb_var *sg;      /* sensitivities: f's gradients in the jacobian, dim (dim + 1), made at its
                        first call */
    size_t n, m;  /* inputs, outputs */
    size_t nv;    /* elements of v and g: n, or max(n, m) for multilarge (J^T u reads m) */
    double *x, *y, *g, *jac, *v; /* scratch: x (n), y (m), g (nv), jac (m n; multilarge: made
                                    at the first J^T J), v (nv) */
    nb_var *hx, *hy;             /* scratch handles: n, m */
    union {
        gsl_multimin_function_fdf multimin;
        gsl_multiroot_function_fdf multiroot;
        gsl_multifit_nlinear_fdf multifit;
        gsl_multilarge_nlinear_fdf multilarge;
        gsl_odeiv2_system ode;
        struct {
            gsl_function plain;
            gsl_function_fdf fdf;
        } fn;
    } u;
};

/* Records the first error (the context's, or s) and clears the context's. */
static int failed(nb_gsl_adapter *a, nb_status s) {
    if (!s) s = nb_ctx_status(a->c);
    if (!s) return 0;
    if (!a->err) a->err = s;
    nb_ctx_clear_error(a->c);
    while (nb_depth(a->c) > 0) nb_pop(a->c);
    return 1;
}

/* 1 (and NB_E_ARG kept in the adapter) when a vector the callback was given has not n elements
 * (NULL is allowed: an output GSL does not want). */
static int bad_size(nb_gsl_adapter *a, const gsl_vector *v, size_t n) {
    if (!v || v->size == n) return 0;
    if (!a->err) a->err = NB_E_ARG;
    return 1;
}

/* 1 (and NB_E_ARG kept in the adapter) when a vector the callback needs is NULL. */
static int missing(nb_gsl_adapter *a, const void *v) {
    if (v) return 0;
    if (!a->err) a->err = NB_E_ARG;
    return 1;
}

/* Likewise for a Jacobian that is not m x n. */
static int bad_shape(nb_gsl_adapter *a, const gsl_matrix *J) {
    if (!J || (J->size1 == a->m && J->size2 == a->n)) return 0;
    if (!a->err) a->err = NB_E_ARG;
    return 1;
}

/* Vectors are read and written through their data and stride (GSL's accessors are calls with a
 * range check unless the caller compiles with HAVE_INLINE); callers check the sizes first. */
static void get(const gsl_vector *x, double *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = x->data[i * x->stride];
}
static void put(gsl_vector *v, const double *in, size_t n) {
    for (size_t i = 0; i < n; i++) v->data[i * v->stride] = in[i];
}
/* x's elements as a contiguous array: its own data when its stride is 1, else copied into
 * scratch. */
static const double *view_in(const gsl_vector *x, double *scratch, size_t n) {
    if (x->stride == 1) return x->data;
    get(x, scratch, n);
    return scratch;
}
static void put_nan(gsl_vector *v) {
    if (v) gsl_vector_set_all(v, NAN);
}

/* ---- evaluation on plain values: no level, every op folds ---- */

static double value_f(nb_gsl_adapter *a, const double *x) {
    for (size_t i = 0; i < a->n; i++) a->hx[i] = nb_const(x[i]);
    const size_t d0 = a->c->depth;
    double v = nb_value(a->f(a->c, a->hx, a->env));
    nb__balanced(a->c, d0);
    return failed(a, NB_OK) ? NAN : v;
}

static int value_vf(nb_gsl_adapter *a) {
    for (size_t i = 0; i < a->n; i++) a->hx[i] = nb_const(a->x[i]);
    for (size_t j = 0; j < a->m; j++) a->hy[j] = nb_const(0);
    const size_t d0 = a->c->depth;
    a->vf(a->c, a->hx, a->hy, a->env);
    nb__balanced(a->c, d0);
    for (size_t j = 0; j < a->m; j++) a->y[j] = nb_value(a->hy[j]);
    return failed(a, NB_OK);
}

/* ---- multimin ---- */

static double mm_f(const gsl_vector *x, void *params) {
    nb_gsl_adapter *a = params;
    if (missing(a, x) || bad_size(a, x, a->n)) return NAN;
    return value_f(a, view_in(x, a->x, a->n));
}
/* The gradient goes straight into g when its stride is 1 (nb_gradient lets g alias x). */
static void mm_fdf(const gsl_vector *x, void *params, double *f, gsl_vector *g) {
    nb_gsl_adapter *a = params;
    if (missing(a, x) || missing(a, g) || bad_size(a, x, a->n) || bad_size(a, g, a->n)) {
        if (f) *f = NAN;
        if (g && g->size == a->n) put_nan(g);
        return;
    }
    double v, *out = g->stride == 1 ? g->data : a->g;
    if (failed(a, nb_gradient(a->c, a->f, a->env, a->n, view_in(x, a->x, a->n), &v, out))) {
        if (f) *f = NAN;
        put_nan(g);
        return;
    }
    if (f) *f = v;
    if (out != g->data) put(g, a->g, a->n);
}
static void mm_df(const gsl_vector *x, void *params, gsl_vector *g) { mm_fdf(x, params, NULL, g); }

/* ---- the Jacobian of a vector function (multiroot, multifit) ---- */

/* The Jacobian into J and, with want_f, the residuals into f: both needed then (df passes no f,
 * fdf both; a NULL one is NB_E_ARG, not a success with nothing written). */
static int jacobian(nb_gsl_adapter *a, const gsl_vector *x, gsl_matrix *J, gsl_vector *f,
                    int want_f) {
    if (missing(a, x) || missing(a, J) || (want_f && missing(a, f)) || bad_size(a, x, a->n) ||
        bad_size(a, f, a->m) || bad_shape(a, J)) {
        if (J && J->size1 == a->m && J->size2 == a->n) gsl_matrix_set_all(J, NAN);
        if (f && f->size == a->m) put_nan(f);
        return GSL_EBADFUNC;
    }
    get(x, a->x, a->n);
    if (failed(a, nb_jacobian(a->c, a->vf, a->env, a->n, a->m, a->x, NB_JAC_AUTO, a->y, a->jac))) {
        gsl_matrix_set_all(J, NAN);
        put_nan(f);
        return GSL_EBADFUNC;
    }
    for (size_t i = 0; i < a->m; i++)
        memcpy(J->data + i * J->tda, a->jac + i * a->n, a->n * sizeof *a->jac);
    if (f) put(f, a->y, a->m);
    return GSL_SUCCESS;
}

static int vec_f(const gsl_vector *x, void *params, gsl_vector *f) {
    nb_gsl_adapter *a = params;
    if (missing(a, x) || missing(a, f) || bad_size(a, x, a->n) || bad_size(a, f, a->m)) {
        if (f && f->size == a->m) put_nan(f);
        return GSL_EBADFUNC;
    }
    get(x, a->x, a->n);
    if (value_vf(a)) {
        put_nan(f);
        return GSL_EBADFUNC;
    }
    put(f, a->y, a->m);
    return GSL_SUCCESS;
}
static int vec_df(const gsl_vector *x, void *params, gsl_matrix *J) {
    return jacobian(params, x, J, NULL, 0);
}
static int vec_fdf(const gsl_vector *x, void *params, gsl_vector *f, gsl_matrix *J) {
    return jacobian(params, x, J, f, 1);
}

/* fvv: the second directional derivative of every residual along v, by two nested forward levels
 * that both move the inputs along v: the tangent of the tangent is v^T H_i v. */
static int fit_fvv(const gsl_vector *x, const gsl_vector *v, void *params, gsl_vector *fvv) {
    nb_gsl_adapter *a = params;
    nb_ctx *c = a->c;
    if (missing(a, x) || missing(a, v) || missing(a, fvv) || bad_size(a, x, a->n) ||
        bad_size(a, v, a->n) || bad_size(a, fvv, a->m)) {
        if (fvv && fvv->size == a->m) put_nan(fvv);
        return GSL_EBADFUNC;
    }
    get(x, a->x, a->n);
    get(v, a->v, a->n);
    /* forward over forward along v, with the drivers' protocol (src/drivers.c): f only on good
     * inputs, and an f that pops, pushes or replaces a level is NB_E_LEVEL */
    const size_t d0 = c->depth;
    nb_status s = nb_push(c, NB_FORWARD);
    if (!s) {
        nb__driver_own(&c->lv[c->depth]);
        for (size_t i = 0; i < a->n; i++) a->hx[i] = nb_fwd_input(c, nb_const(a->x[i]), nb_const(a->v[i]));
        if (c->err == NB_OK && !(s = nb_push(c, NB_FORWARD))) {
            nb__driver_own(&c->lv[c->depth]);
            for (size_t i = 0; i < a->n; i++) a->hx[i] = nb_fwd_input(c, a->hx[i], nb_const(a->v[i]));
            if (c->err == NB_OK) {
                for (size_t j = 0; j < a->m; j++) a->hy[j] = nb_const(0);
                a->vf(c, a->hx, a->hy, a->env);
                if (nb__driver_ok(c, d0 + 1)) {
                    for (size_t j = 0; j < a->m; j++) a->hy[j] = nb_tangent(c, a->hy[j]);
                    nb_pop(c);
                    if (nb__driver_ok(c, d0))
                        for (size_t j = 0; j < a->m; j++) a->y[j] = nb_value(nb_tangent(c, a->hy[j]));
                }
            }
        }
    }
    nb_status fin = nb__driver_finish(c, d0);
    if (failed(a, s ? s : fin)) {
        put_nan(fvv);
        return GSL_EBADFUNC;
    }
    put(fvv, a->y, a->m);
    return GSL_SUCCESS;
}

/* ---- large least squares: J u, J^T u and J^T J without a Jacobian in the solver ---- */

static void *alloc_in(nb_ctx *c, size_t count, size_t size);

/* NaN in the lower half of a square matrix (GSL owns the upper half of JTJ). */
static void nan_lower(gsl_matrix *M) {
    for (size_t i = 0; i < M->size1; i++)
        for (size_t j = 0; j <= i; j++) M->data[i * M->tda + j] = NAN;
}

/* v = J u (NoTrans: one forward pass along u) or J^T u (Trans: one reverse sweep seeded with u),
 * and, when GSL passes JTJ, J^T J into its lower half from the Jacobian (nb_jacobian, whose
 * m x n array the adapter makes at the first such call and keeps). */
static int large_df(CBLAS_TRANSPOSE_t trans_j, const gsl_vector *x, const gsl_vector *u,
                    void *params, gsl_vector *v, gsl_matrix *JTJ) {
    nb_gsl_adapter *a = params;
    const int known = trans_j == CblasNoTrans || trans_j == CblasTrans || trans_j == CblasConjTrans;
    const int tr = trans_j != CblasNoTrans;
    const size_t nu = tr ? a->m : a->n, nout = tr ? a->n : a->m;
    const int jtj_ok = !JTJ || (JTJ->size1 == a->n && JTJ->size2 == a->n);
    if (!known || missing(a, x) || !u != !v || bad_size(a, x, a->n) || bad_size(a, u, nu) ||
        bad_size(a, v, nout) || !jtj_ok) {
        if ((!known || !jtj_ok || (!u != !v)) && !a->err) a->err = NB_E_ARG;
        if (known && v && v->size == nout) put_nan(v);
        if (JTJ && jtj_ok) nan_lower(JTJ);
        return GSL_EBADFUNC;
    }
    get(x, a->x, a->n);
    nb_status s = NB_OK;
    if (u) {
        get(u, a->v, nu);
        s = tr ? nb_vjp(a->c, a->vf, a->env, a->n, a->m, a->x, a->v, NULL, a->g)
               : nb_jvp_vec(a->c, a->vf, a->env, a->n, a->m, a->x, a->v, NULL, a->g);
    }
    if (!s && JTJ) {
        if (!a->jac && !(a->jac = alloc_in(a->c, a->m * a->n, sizeof(double)))) s = NB_E_NOMEM;
        if (!s) s = nb_jacobian(a->c, a->vf, a->env, a->n, a->m, a->x, NB_JAC_AUTO, NULL, a->jac);
    }
    if (failed(a, s)) {
        put_nan(v);
        if (JTJ) nan_lower(JTJ);
        return GSL_EBADFUNC;
    }
    if (v) put(v, a->g, nout);
    if (JTJ) {
        gsl_matrix_const_view J = gsl_matrix_const_view_array(a->jac, a->m, a->n);
        gsl_blas_dsyrk(CblasLower, CblasTrans, 1.0, &J.matrix, 0.0, JTJ);
    }
    return GSL_SUCCESS;
}

/* ---- ODE systems: dy/dt = f(t, y) and its Jacobian ---- */

/* The right-hand side as a vector function of (t, y_0 .. y_{n-1}). */
static void ode_vfn(nb_ctx *c, const nb_var *x, nb_var *y, void *p) {
    const nb_gsl_adapter *a = p;
    a->of(c, x[0], x + 1, y, a->oenv);
}

static void ode_point(nb_gsl_adapter *a, double t, const double *y) {
    a->x[0] = t;
    memcpy(a->x + 1, y, a->m * sizeof *y);
}

static int ode_function(double t, const double y[], double dydt[], void *params) {
    nb_gsl_adapter *a = params;
    const size_t n = a->m;
    if (missing(a, y) || missing(a, dydt)) {
        if (dydt)
            for (size_t i = 0; i < n; i++) dydt[i] = NAN;
        return GSL_EBADFUNC;
    }
    ode_point(a, t, y);
    if (value_vf(a)) {
        for (size_t i = 0; i < n; i++) dydt[i] = NAN;
        return GSL_EBADFUNC;
    }
    memcpy(dydt, a->y, n * sizeof *dydt);
    return GSL_SUCCESS;
}

/* The sensitivity system as an nb_odefn of u = (y, S_0 .. S_{np-1}): y' is f's primal and S_k'
 * the tangent of f along (S_k, e_k), one forward level per parameter pushed above whatever level
 * u belongs to (none for the function, the Jacobian's recording for the jacobian). */
static void sens_rhs(nb_ctx *c, nb_var t, const nb_var *u, nb_var *dudt, void *env) {
    const nb_gsl_adapter *a = env;
    const size_t d = a->dim, np = a->np;
    nb_var *y = a->sh, *out = a->sh + d, *p = a->sh + 2 * d;
    for (size_t j = 0; j < np; j++) p[j] = nb_const(a->p[j]);
    if (np == 0) {
        a->pf(c, t, u, NULL, dudt, a->penv);
        return;
    }
    for (size_t k = 0; k < np; k++) {
        const nb_status s = nb_push(c, NB_FORWARD);
        if (s) {
            nb__fail(c, s);
            return;
        }
        const size_t d1 = c->depth;
        for (size_t i = 0; i < d; i++) {
            y[i] = nb_fwd_input(c, u[i], u[d * (1 + k) + i]);
            out[i] = nb_const(0);
        }
        p[k] = nb_fwd_input(c, nb_const(a->p[k]), nb_const(1));
        a->pf(c, t, y, p, out, a->penv);
        if (!nb__balanced(c, d1)) return; /* f left levels pushed or popped ours: an error */
        for (size_t i = 0; i < d; i++) {
            if (k == 0) dudt[i] = nb_primal(c, out[i]);
            dudt[d * (1 + k) + i] = nb_tangent(c, out[i]);
        }
        p[k] = nb_const(a->p[k]);
        nb_pop(c);
    }
}

static int ode_jacobian(double t, const double y[], double *dfdy, double dfdt[], void *params);

/* The jacobian of the sensitivity system, assembled from its blocks:
 *
 *     d y'/dy = f_y,   d S_k'/dS_k = f_y,   d S_k'/dy = d/dy (f_y S_k + f_p_k),   d/dt likewise,
 *
 * and zero elsewhere. For each k, one recording of f on a reverse level above a forward level
 * that moves y along S_k and p_k along 1 (forward over reverse, the dual fast path): its dim
 * sweeps give the gradients of f_i as dual numbers, whose values are the rows of f_y (and f_t)
 * and whose tangents the rows of d/dy (f_y S_k + f_p_k) (and d/dt). np recordings and dim np
 * sweeps over a tape of one f, where differentiating the system function itself (as the plain
 * adapter's jacobian does) sweeps N = dim (1 + np) times over a tape of np passes. */
static int sens_jacobian(double t, const double u[], double *dfdy, double dfdt[], void *params) {
    nb_gsl_adapter *a = params;
    if (a->np == 0) return ode_jacobian(t, u, dfdy, dfdt, params);
    nb_ctx *c = a->c;
    const size_t d = a->dim, np = a->np, N = a->m, g = d + 1;
    int bad = missing(a, u) || (!dfdy && missing(a, dfdt));
    if (!bad && !a->sg && !(a->sg = alloc_in(c, d * g, sizeof(nb_var))))
        bad = failed(a, NB_E_NOMEM); /* made at the first call, kept */
    if (dfdy)
        for (size_t i = 0; i < N * N; i++) dfdy[i] = 0;
    if (dfdt)
        for (size_t i = 0; i < N; i++) dfdt[i] = 0;
    const size_t d0 = c->depth;
    nb_var *yF = a->sh, *pF = a->sh + 2 * d;
    for (size_t k = 0; k < np && !bad; k++) {
        nb_level *R = NULL;
        nb_status s = nb_push(c, NB_FORWARD);
        if (s) {
            bad = failed(a, s);
            break;
        }
        for (size_t j = 0; j < np; j++) pF[j] = nb_const(a->p[j]);
        pF[k] = nb_fwd_input(c, nb_const(a->p[k]), nb_const(1));
        for (size_t i = 0; i < d; i++) yF[i] = nb_fwd_input(c, nb_const(u[i]), nb_const(u[d * (1 + k) + i]));
        if (c->err == NB_OK && !nb__driver_begin(c, NB_REVERSE, g, d, &R)) {
            nb_var *in = R->inputs, *out = R->outputs;
            in[0] = nb_rev_input(c, nb_const(t));
            for (size_t i = 0; i < d; i++) in[1 + i] = nb_rev_input(c, yF[i]);
            for (size_t i = 0; i < d; i++) out[i] = nb_const(0);
            if (c->err == NB_OK) {
                a->pf(c, in[0], in + 1, pF, out, a->penv);
                if (nb__driver_ok(c, d0 + 1))
                    for (size_t i = 0; i < d && c->err == NB_OK; i++) {
                        nb__backward(c, R, 1, &out[i], NULL, 1);
                        for (size_t j = 0; j < g; j++) a->sg[i * g + j] = nb_grad(c, in[j]);
                    }
            }
        }
        nb__driver_finish(c, d0 + 1); /* back to the forward level */
        if (c->err == NB_OK) {
            const size_t r0 = d * (1 + k); /* S_k's rows and columns */
            for (size_t i = 0; i < d; i++)
                for (size_t j = 0; j < g; j++) {
                    const nb_var gij = a->sg[i * g + j];
                    const double v = nb_value(gij), tan = nb_value(nb_tangent(c, gij));
                    if (j == 0) {
                        if (dfdt) {
                            if (k == 0) dfdt[i] = v;
                            dfdt[r0 + i] = tan;
                        }
                    } else if (dfdy) {
                        if (k == 0) dfdy[i * N + j - 1] = v;
                        dfdy[(r0 + i) * N + r0 + j - 1] = v;
                        dfdy[(r0 + i) * N + j - 1] = tan;
                    }
                }
        }
        nb__driver_finish(c, d0);
        bad = failed(a, NB_OK);
    }
    if (bad) {
        if (dfdy)
            for (size_t i = 0; i < N * N; i++) dfdy[i] = NAN;
        if (dfdt)
            for (size_t i = 0; i < N; i++) dfdt[i] = NAN;
    }
    return bad ? GSL_EBADFUNC : GSL_SUCCESS;
}

/* dfdy (n x n, row-major) and dfdt from the n x (n + 1) Jacobian of (t, y) -> f: n reverse
 * sweeps over one recording. */
static int ode_jacobian(double t, const double y[], double *dfdy, double dfdt[], void *params) {
    nb_gsl_adapter *a = params;
    const size_t n = a->m, w = n + 1;
    int bad = missing(a, y) || (!dfdy && missing(a, dfdt));
    if (!bad && !a->jac && !(a->jac = alloc_in(a->c, n * w, sizeof(double))))
        bad = failed(a, NB_E_NOMEM); /* made at the first call, kept */
    if (!bad) {
        ode_point(a, t, y);
        bad = failed(a, nb_jacobian(a->c, a->vf, a->env, w, n, a->x, NB_JAC_AUTO, NULL, a->jac));
    }
    for (size_t i = 0; i < n; i++) {
        if (dfdt) dfdt[i] = bad ? NAN : a->jac[i * w];
        if (dfdy)
            for (size_t j = 0; j < n; j++) dfdy[i * n + j] = bad ? NAN : a->jac[i * w + 1 + j];
    }
    return bad ? GSL_EBADFUNC : GSL_SUCCESS;
}

/* ---- one dimension ---- */

static double fn_f(double x, void *params) {
    nb_gsl_adapter *a = params;
    return value_f(a, &x);
}
static void fn_fdf(double x, void *params, double *f, double *df) {
    nb_gsl_adapter *a = params;
    double fx, d;
    if (failed(a, nb_derivative(a->c, a->f, a->env, x, &fx, &d))) fx = d = NAN;
    if (f) *f = fx;
    if (df) *df = d;
}
static double fn_df(double x, void *params) {
    double d;
    fn_fdf(x, params, NULL, &d);
    return d;
}

/* ---- construction ---- */

static void *alloc_in(nb_ctx *c, size_t count, size_t size) {
    return nb__hook_get(c->alloc, c->alloc_ud, count, size);
}
static void free_in(nb_ctx *c, void *p, size_t count, size_t size) {
    nb__hook_put(c->alloc, c->alloc_ud, p, count, size);
}

void nb_gsl_adapter_free(nb_gsl_adapter *a) {
    if (!a) return;
    nb_ctx *c = a->c;
    free_in(c, a->x, a->n, sizeof(double));
    free_in(c, a->g, a->nv, sizeof(double));
    free_in(c, a->v, a->nv, sizeof(double));
    free_in(c, a->y, a->m, sizeof(double));
    free_in(c, a->jac, a->m * a->n, sizeof(double)); /* m * n cannot overflow: make checked it */
    free_in(c, a->hx, a->n, sizeof(nb_var));
    free_in(c, a->hy, a->m, sizeof(nb_var));
    free_in(c, a->p, a->np, sizeof(double));
    free_in(c, a->sh, 2 * a->dim + a->np, sizeof(nb_var));
    free_in(c, a->sg, a->dim * (a->dim + 1), sizeof(nb_var));
    free_in(c, a, 1, sizeof *a);
    nb_ctx_free(c);
}

static nb_status make(nb_gsl_adapter **out, enum kind kind, size_t n, size_t m,
                      const nb_ctx_opts *opts) {
    if (!out) return NB_E_ARG;
    *out = NULL;
    if (n == 0 || (kind != MULTIMIN && kind != FUNCTION && m == 0)) return NB_E_ARG;
    if (m && n > SIZE_MAX / sizeof(double) / m) return NB_E_ARG;
    /* a size whose array of handles (the largest of its arrays) overflows: the contract's
     * NB_E_ARG, not an allocation that fails */
    if (n > SIZE_MAX / sizeof(nb_var) || m > SIZE_MAX / sizeof(nb_var)) return NB_E_ARG;
    nb_ctx *c = NULL;
    nb_status s = nb_ctx_new(&c, opts);
    if (s) return s;
    nb_gsl_adapter *a = alloc_in(c, 1, sizeof *a);
    if (!a) {
        nb_ctx_free(c);
        return NB_E_NOMEM;
    }
    memset(a, 0, sizeof *a);
    a->kind = kind;
    a->c = c;
    a->n = n;
    a->m = m;
    a->nv = kind == ODEIV2 ? 0 : kind == MULTILARGE && m > n ? m : n; /* (odeiv2 uses neither) */
    a->x = alloc_in(c, n, sizeof(double));
    a->g = alloc_in(c, a->nv, sizeof(double));
    a->v = alloc_in(c, a->nv, sizeof(double));
    a->y = alloc_in(c, m, sizeof(double));
    /* (multilarge: the Jacobian only if GSL asks for J^T J, and then once; odeiv2: only if the
     * stepper asks for it, which the explicit ones never do) */
    const int lazy_jac = kind == MULTILARGE || kind == ODEIV2;
    a->jac = lazy_jac ? NULL : alloc_in(c, m * n, sizeof(double));
    a->hx = alloc_in(c, n, sizeof(nb_var));
    a->hy = alloc_in(c, m, sizeof(nb_var));
    if (!a->x || !a->g || !a->v || !a->y || (!a->jac && !lazy_jac) || !a->hx || !a->hy) {
        nb_gsl_adapter_free(a);
        return NB_E_NOMEM;
    }
    *out = a;
    return NB_OK;
}

nb_status nb_gsl_multimin_new(nb_gsl_adapter **out, nb_fn f, void *env, size_t n,
                         const nb_ctx_opts *opts) {
    if (out) *out = NULL;
    if (!f) return NB_E_ARG;
    nb_status s = make(out, MULTIMIN, n, 0, opts);
    if (s) return s;
    nb_gsl_adapter *a = *out;
    a->f = f;
    a->env = env;
    a->u.multimin.f = mm_f;
    a->u.multimin.df = mm_df;
    a->u.multimin.fdf = mm_fdf;
    a->u.multimin.n = n;
    a->u.multimin.params = a;
    return NB_OK;
}

nb_status nb_gsl_multiroot_new(nb_gsl_adapter **out, nb_vfn f, void *env, size_t n,
                         const nb_ctx_opts *opts) {
    if (out) *out = NULL;
    if (!f) return NB_E_ARG;
    nb_status s = make(out, MULTIROOT, n, n, opts);
    if (s) return s;
    nb_gsl_adapter *a = *out;
    a->vf = f;
    a->env = env;
    a->u.multiroot.f = vec_f;
    a->u.multiroot.df = vec_df;
    a->u.multiroot.fdf = vec_fdf;
    a->u.multiroot.n = n;
    a->u.multiroot.params = a;
    return NB_OK;
}

nb_status nb_gsl_multifit_new(nb_gsl_adapter **out, nb_vfn f, void *env, size_t p, size_t n,
                         const nb_ctx_opts *opts) {
    if (out) *out = NULL;
    if (!f) return NB_E_ARG;
    nb_status s = make(out, MULTIFIT, p, n, opts);
    if (s) return s;
    nb_gsl_adapter *a = *out;
    a->vf = f;
    a->env = env;
    a->u.multifit.f = vec_f;
    a->u.multifit.df = vec_df;
    a->u.multifit.fvv = fit_fvv;
    a->u.multifit.n = n;
    a->u.multifit.p = p;
    a->u.multifit.params = a;
    return NB_OK;
}

nb_status nb_gsl_multilarge_new(nb_gsl_adapter **out, nb_vfn f, void *env, size_t p, size_t n,
                                const nb_ctx_opts *opts) {
    if (out) *out = NULL;
    if (!f) return NB_E_ARG;
    nb_status s = make(out, MULTILARGE, p, n, opts);
    if (s) return s;
    nb_gsl_adapter *a = *out;
    a->vf = f;
    a->env = env;
    a->u.multilarge.f = vec_f;
    a->u.multilarge.df = large_df;
    a->u.multilarge.fvv = fit_fvv;
    a->u.multilarge.n = n;
    a->u.multilarge.p = p;
    a->u.multilarge.params = a;
    return NB_OK;
}

/* An ODE adapter's system: the right-hand side `of` of dim components, as a function of (t, y). */
static void ode_setup(nb_gsl_adapter *a, nb_odefn of, void *oenv, size_t dim) {
    a->of = of;
    a->oenv = oenv;
    a->vf = ode_vfn;
    a->env = a;
    a->u.ode.function = ode_function;
    a->u.ode.jacobian = ode_jacobian;
    a->u.ode.dimension = dim;
    a->u.ode.params = a;
}

nb_status nb_gsl_odeiv2_new(nb_gsl_adapter **out, nb_odefn f, void *env, size_t dim,
                            const nb_ctx_opts *opts) {
    if (out) *out = NULL;
    if (!f || dim == SIZE_MAX) return NB_E_ARG;
    nb_status s = make(out, ODEIV2, dim + 1, dim, opts);
    if (s) return s;
    ode_setup(*out, f, env, dim);
    return NB_OK;
}

nb_status nb_gsl_odeiv2_sens_new(nb_gsl_adapter **out, nb_odepfn f, void *env, size_t dim,
                                 size_t np, const double *p, const nb_ctx_opts *opts) {
    if (out) *out = NULL;
    /* dim (1 + np) + 1 inputs of the Jacobian's recording, and the scratch handles */
    if (!f || (np && !p) || np >= SIZE_MAX / 4 || dim >= SIZE_MAX / 4 / (np + 1) ||
        2 * dim + np > SIZE_MAX / sizeof(nb_var))
        return NB_E_ARG;
    const size_t N = dim * (1 + np);
    nb_status s = make(out, ODEIV2, N + 1, N, opts);
    if (s) return s;
    nb_gsl_adapter *a = *out;
    a->dim = dim;
    a->np = np;
    a->p = alloc_in(a->c, np, sizeof(double));
    a->sh = alloc_in(a->c, 2 * dim + np, sizeof(nb_var));
    if (!a->p || !a->sh) {
        nb_gsl_adapter_free(a);
        *out = NULL;
        return NB_E_NOMEM;
    }
    if (np) memcpy(a->p, p, np * sizeof *p);
    a->pf = f;
    a->penv = env;
    ode_setup(a, sens_rhs, a, N);
    a->u.ode.jacobian = sens_jacobian;
    return NB_OK;
}

nb_status nb_gsl_odeiv2_sens_params(nb_gsl_adapter *a, const double *p) {
    if (!a || a->kind != ODEIV2 || !a->pf || (a->np && !p)) return NB_E_ARG;
    if (a->np) memcpy(a->p, p, a->np * sizeof *p);
    return NB_OK;
}

nb_status nb_gsl_function_new(nb_gsl_adapter **out, nb_fn f, void *env,
                         const nb_ctx_opts *opts) {
    if (out) *out = NULL;
    if (!f) return NB_E_ARG;
    nb_status s = make(out, FUNCTION, 1, 0, opts);
    if (s) return s;
    nb_gsl_adapter *a = *out;
    a->f = f;
    a->env = env;
    a->u.fn.plain.function = fn_f;
    a->u.fn.plain.params = a;
    a->u.fn.fdf.f = fn_f;
    a->u.fn.fdf.df = fn_df;
    a->u.fn.fdf.fdf = fn_fdf;
    a->u.fn.fdf.params = a;
    return NB_OK;
}

gsl_multimin_function_fdf *nb_gsl_multimin_fdf(nb_gsl_adapter *a) {
    return a && a->kind == MULTIMIN ? &a->u.multimin : NULL;
}
gsl_multiroot_function_fdf *nb_gsl_multiroot_fdf(nb_gsl_adapter *a) {
    return a && a->kind == MULTIROOT ? &a->u.multiroot : NULL;
}
gsl_multifit_nlinear_fdf *nb_gsl_multifit_fdf(nb_gsl_adapter *a) {
    return a && a->kind == MULTIFIT ? &a->u.multifit : NULL;
}
gsl_multilarge_nlinear_fdf *nb_gsl_multilarge_fdf(nb_gsl_adapter *a) {
    return a && a->kind == MULTILARGE ? &a->u.multilarge : NULL;
}
gsl_odeiv2_system *nb_gsl_odeiv2_system(nb_gsl_adapter *a) {
    return a && a->kind == ODEIV2 ? &a->u.ode : NULL;
}
gsl_function *nb_gsl_function(nb_gsl_adapter *a) {
    return a && a->kind == FUNCTION ? &a->u.fn.plain : NULL;
}
gsl_function_fdf *nb_gsl_function_fdf(nb_gsl_adapter *a) {
    return a && a->kind == FUNCTION ? &a->u.fn.fdf : NULL;
}

nb_status nb_gsl_adapter_status(const nb_gsl_adapter *a) { return a ? a->err : NB_E_ARG; }
void nb_gsl_adapter_clear(nb_gsl_adapter *a) {
    if (a) a->err = NB_OK;
}
nb_ctx *nb_gsl_adapter_ctx(nb_gsl_adapter *a) { return a ? a->c : NULL; }

void nb__gsl_odeiv2_set_env(nb_gsl_adapter *a, void *env) { a->oenv = env; }
