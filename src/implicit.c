/* implicit.c - derivatives of a solution x(theta) of F(x, theta) = 0 by the implicit function
 * theorem (nabla/drivers.h): one Jacobian of F at the solution, an LU factorization of its x
 * block with partial pivoting, and solves with it. The factorization is written here rather than
 * taken from GSL: gsl_linalg_LU_decomp (2.7) allocates its pivot vector with malloc on every call,
 * outside the context's hook, and calls GSL's error handler when that fails. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "nabla/drivers.h"


/* Scratch of one call: z = (x, theta), the n x (n + p) Jacobian [A B] (row-major), a vector. */
typedef struct work {
    double *z, *jac, *v;
    size_t n, p;
} work;

static void work_free(nb_ctx *c, work *w) {
    const size_t n = w->n, k = w->n + w->p;
    nb__hook_put(c->alloc, c->alloc_ud, w->z, k, sizeof(double));
    nb__hook_put(c->alloc, c->alloc_ud, w->jac, n * k, sizeof(double));
    nb__hook_put(c->alloc, c->alloc_ud, w->v, n, sizeof(double));
}

/* The Jacobian [A B] of F at (x, theta), then A = L U in place by Gaussian elimination with
 * partial pivoting, whole rows of [A B] swapped with A's, so that B becomes P B: A y = b is then
 * L U y = P b with P b read from the stored B, and A^T lambda = c is U^T L^T (P lambda) = c with
 * B^T lambda = (P B)^T (P lambda). NB_OK, NB_E_SINGULAR for an exactly zero pivot, or the
 * failure (recorded). */
static nb_status factor(nb_ctx *c, nb_vfn F, void *env, size_t n, size_t p, const double *x,
                        const double *theta, work *w) {
    const size_t k = n + p;
    w->n = n;
    w->p = p;
    w->z = nb__hook_get(c->alloc, c->alloc_ud, k, sizeof(double));
    w->jac = nb__hook_get(c->alloc, c->alloc_ud, n * k, sizeof(double));
    w->v = nb__hook_get(c->alloc, c->alloc_ud, n, sizeof(double));
    if (!w->z || !w->jac || !w->v) return nb__fail(c, NB_E_NOMEM);
    if (n) memcpy(w->z, x, n * sizeof *x);
    if (p) memcpy(w->z + n, theta, p * sizeof *theta);
    nb_status s = nb_jacobian(c, F, env, k, n, w->z, NB_JAC_AUTO, NULL, w->jac);
    if (s) return s;
    double *J = w->jac;
    for (size_t col = 0; col < n; col++) {
        size_t r = col; /* the largest magnitude below the diagonal (a NaN is never chosen
                           over a number) */
        for (size_t i = col + 1; i < n; i++)
            if (fabs(J[i * k + col]) > fabs(J[r * k + col])) r = i;
        if (J[r * k + col] == 0) return nb__fail(c, NB_E_SINGULAR);
        if (r != col)
            for (size_t j = 0; j < k; j++) {
                const double t = J[r * k + j];
                J[r * k + j] = J[col * k + j];
                J[col * k + j] = t;
            }
        const double piv = J[col * k + col];
        for (size_t i = col + 1; i < n; i++) {
            const double l = J[i * k + col] / piv;
            J[i * k + col] = l;
            for (size_t j = col + 1; j < n; j++) J[i * k + j] -= l * J[col * k + j];
        }
    }
    return NB_OK;
}

/* v = A^{-1} v with A = L U stored in J (row stride k). */
static void solve(const double *J, size_t n, size_t k, double *v) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++) v[i] -= J[i * k + j] * v[j];
    for (size_t i = n; i-- > 0;) {
        for (size_t j = i + 1; j < n; j++) v[i] -= J[i * k + j] * v[j];
        v[i] /= J[i * k + i];
    }
}

/* v = (L U)^{-T} v = L^{-T} U^{-T} v. */
static void solve_t(const double *J, size_t n, size_t k, double *v) {
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++) v[i] -= J[j * k + i] * v[j];
        v[i] /= J[i * k + i];
    }
    for (size_t i = n; i-- > 0;)
        for (size_t j = i + 1; j < n; j++) v[i] -= J[j * k + i] * v[j];
}

/* Sizes that no Jacobian could hold: NB_E_ARG before anything is made or written. */
static int absurd(size_t n, size_t p) {
    if (n > (size_t)UINT32_MAX - 1 || p > (size_t)UINT32_MAX - 1 - n) return 1;
    return n && n + p > SIZE_MAX / sizeof(double) / n;
}

nb_status nb_implicit_jacobian(nb_ctx *c, nb_vfn F, void *env, size_t n, size_t p,
                               const double *x, const double *theta, double *dxdtheta) {
    if (absurd(n, p)) return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
    if (!c || !F || (n && !x) || (p && !theta) || (n && p && !dxdtheta)) {
        nb__nan_doubles(dxdtheta, n * p);
        return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
    }
    if (c->err || n == 0 || p == 0) { /* nothing to compute */
        if (c->err) nb__nan_doubles(dxdtheta, n * p);
        return c->err;
    }
    work w = {0};
    nb_status s = factor(c, F, env, n, p, x, theta, &w);
    if (!s) {
        /* column j of dx/dtheta solves A y = -B e_j (the stored B is P B) */
        const size_t k = n + p;
        for (size_t j = 0; j < p; j++) {
            for (size_t i = 0; i < n; i++) w.v[i] = -w.jac[i * k + n + j];
            solve(w.jac, n, k, w.v);
            for (size_t i = 0; i < n; i++) dxdtheta[i * p + j] = w.v[i];
        }
    }
    work_free(c, &w);
    if (s) nb__nan_doubles(dxdtheta, n * p);
    return s;
}

nb_status nb_implicit_vjp(nb_ctx *c, nb_vfn F, void *env, size_t n, size_t p, const double *x,
                          const double *theta, const double *xbar, double *thetabar) {
    if (absurd(n, p)) return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
    if (!c || !F || (n && (!x || !xbar)) || (p && (!theta || !thetabar))) {
        nb__nan_doubles(thetabar, p);
        return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
    }
    if (c->err || p == 0 || n == 0) { /* nothing to solve: no parameter, or no equation */
        for (size_t j = 0; j < p; j++) thetabar[j] = c->err ? (double)NAN : 0.0;
        return c->err;
    }
    work w = {0};
    nb_status s = factor(c, F, env, n, p, x, theta, &w);
    if (!s) {
        /* thetabar = -B^T A^{-T} xbar = -(P B)^T (P lambda), P lambda = (L U)^{-T} xbar */
        const size_t k = n + p;
        memcpy(w.v, xbar, n * sizeof *xbar);
        solve_t(w.jac, n, k, w.v);
        for (size_t j = 0; j < p; j++) {
            double t = 0;
            for (size_t i = 0; i < n; i++) t -= w.jac[i * k + n + j] * w.v[i];
            thetabar[j] = t;
        }
    }
    work_free(c, &w);
    if (s) nb__nan_doubles(thetabar, p);
    return s;
}

/* ---- a scalar implicit function as an op of any order (nb_implicit) ----
 * A custom op (nabla/custom.h) whose value is the caller's solver and whose rule is the implicit
 * function theorem written with ops: dx/dtheta_j = -(dF/dtheta_j) / (dF/dx) at (x(theta), theta),
 * the partials of F by nb_gradient_var at the levels below and x(theta) by the op itself (its
 * value comes back from the custom ops' memo). Differentiating the rule differentiates F's
 * gradient and the op again, so every order follows. */

#include "nabla/custom.h"

static double implicit_value(const double *theta, size_t k, void *env) {
    const nb_implicit_def *d = env;
    return d->solve(theta, k, d->env);
}

static nb_status implicit_rule(nb_ctx *c, const nb_var *theta, size_t k, nb_var *dfdx, void *env);
static const nb_custom_op implicit_op = {implicit_value, implicit_rule};

static nb_status implicit_rule(nb_ctx *c, const nb_var *theta, size_t k, nb_var *dfdx, void *env) {
    const nb_implicit_def *d = env;
    nb_var zs[9], gs[9], *z = zs, *g = gs;
    if (k + 1 > 9) {
        z = nb__hook_get(c->alloc, c->alloc_ud, k + 1, sizeof *z);
        g = nb__hook_get(c->alloc, c->alloc_ud, k + 1, sizeof *g);
        if (!z || !g) {
            nb__hook_put(c->alloc, c->alloc_ud, z, k + 1, sizeof *z);
            nb__hook_put(c->alloc, c->alloc_ud, g, k + 1, sizeof *g);
            return NB_E_NOMEM;
        }
    }
    z[0] = nb_custom(c, &implicit_op, theta, k, env); /* x(theta): the memo's value */
    for (size_t j = 0; j < k; j++) z[1 + j] = theta[j];
    nb_status s = nb_gradient_var(c, d->F, d->env, k + 1, z, NULL, g);
    if (!s) {
        const nb_var minus_inv = nb_neg(c, nb_div(c, nb_const(1), g[0])); /* -1 / (dF/dx) */
        for (size_t j = 0; j < k; j++) dfdx[j] = nb_mul(c, g[1 + j], minus_inv);
    }
    if (z != zs) {
        nb__hook_put(c->alloc, c->alloc_ud, z, k + 1, sizeof *z);
        nb__hook_put(c->alloc, c->alloc_ud, g, k + 1, sizeof *g);
    }
    return s;
}

nb_var nb_implicit(nb_ctx *c, const nb_implicit_def *def, const nb_var *theta, size_t k) {
    if (!c) return nb_const((double)NAN);
    if (!def || !def->F || !def->solve) return nb__fail_var(c, NB_E_ARG);
    return nb_custom(c, &implicit_op, theta, k, (void *)(uintptr_t)def);
}
