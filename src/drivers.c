/* drivers.c - gradient and jvp of user functions: push a level, make the inputs, run the
 * function, sweep or read tangents, pop. */
#include "internal.h"
#include "nabla/drivers.h"

/* Pushes a level of `kind` with room for n input and m output handles in its scratch. */
static nb_status begin(nb_ctx *c, nb_kind kind, size_t n, size_t m, nb_level **out) {
    nb_status s = nb_push(c, kind);
    if (s) return nb__fail(c, s);
    nb_level *L = &c->lv[c->depth];
    s = nb__inputs_reserve(c, L, n ? n : 1);
    if (!s) s = nb__outputs_reserve(c, L, m ? m : 1);
    if (s) {
        nb_pop(c);
        return nb__fail(c, s);
    }
    *out = L;
    return NB_OK;
}

nb_status nb_gradient(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x, double *fx,
                      double *g) {
    if (!c || !f || (n && (!x || !g))) return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
    nb_level *L = NULL;
    nb_status s = begin(c, NB_REVERSE, n, 1, &L);
    if (s) return s;
    nb_rev_inputs(c, n, x, L->inputs);
    nb_var y = f(c, L->inputs, env);
    if (fx) *fx = y.v;
    nb_backward(c, y);
    nb_grads(c, n, L->inputs, g);
    nb_pop(c);
    return c->err;
}

nb_status nb_jvp(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x, const double *v,
                 double *fx, double *dfv) {
    if (!c || !f || !dfv || (n && (!x || !v))) return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
    nb_level *L = NULL;
    nb_status s = begin(c, NB_FORWARD, n, 1, &L);
    if (s) return s;
    nb_fwd_inputs(c, n, x, v, L->inputs);
    nb_var y = f(c, L->inputs, env);
    if (fx) *fx = y.v;
    *dfv = nb_tangent(c, y).v;
    nb_pop(c);
    return c->err;
}

/* Copies the outputs' values. */
static void values(size_t m, const nb_var *ys, double *y) {
    if (y)
        for (size_t j = 0; j < m; j++) y[j] = ys[j].v;
}

nb_status nb_vjp(nb_ctx *c, nb_vfn f, void *env, size_t n, size_t m, const double *x,
                 const double *v, double *y, double *out) {
    if (!c || !f || (n && (!x || !out)) || (m && !v)) return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
    nb_level *L = NULL;
    nb_status s = begin(c, NB_REVERSE, n, 2 * m, &L);
    if (s) return s;
    nb_var *ys = L->outputs, *seeds = L->outputs + m;
    nb_rev_inputs(c, n, x, L->inputs);
    for (size_t j = 0; j < m; j++) ys[j] = nb_const(0);
    f(c, L->inputs, ys, env);
    values(m, ys, y);
    for (size_t j = 0; j < m; j++) seeds[j] = nb_const(v[j]);
    nb__backward(c, L, m, ys, seeds, 1);
    nb_grads(c, n, L->inputs, out);
    nb_pop(c);
    return c->err;
}

nb_status nb_jvp_vec(nb_ctx *c, nb_vfn f, void *env, size_t n, size_t m, const double *x,
                     const double *u, double *y, double *out) {
    if (!c || !f || (n && (!x || !u)) || (m && !out)) return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
    nb_level *L = NULL;
    nb_status s = begin(c, NB_FORWARD, n, m, &L);
    if (s) return s;
    nb_var *ys = L->outputs;
    nb_fwd_inputs(c, n, x, u, L->inputs);
    for (size_t j = 0; j < m; j++) ys[j] = nb_const(0);
    f(c, L->inputs, ys, env);
    values(m, ys, y);
    nb_tangents(c, m, ys, out);
    nb_pop(c);
    return c->err;
}

nb_status nb_jacobian(nb_ctx *c, nb_vfn f, void *env, size_t n, size_t m, const double *x,
                      nb_jac_mode mode, double *y, double *jac) {
    if (!c || !f || (n && !x) || (n && m && !jac) || (unsigned)mode > NB_JAC_FORWARD)
        return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
    if (mode == NB_JAC_AUTO) mode = m <= n ? NB_JAC_REVERSE : NB_JAC_FORWARD;
    nb_level *L = NULL;
    nb_status s;
    if (mode == NB_JAC_REVERSE) {
        /* one recording; for each output, clear the inputs' gradients and sweep from it */
        if ((s = begin(c, NB_REVERSE, n, m, &L))) return s;
        nb_var *ys = L->outputs;
        nb_rev_inputs(c, n, x, L->inputs);
        for (size_t j = 0; j < m; j++) ys[j] = nb_const(0);
        f(c, L->inputs, ys, env);
        values(m, ys, y);
        for (size_t i = 0; i < m && c->err == NB_OK; i++) {
            nb__backward(c, L, 1, &ys[i], NULL, 1);
            nb_grads(c, n, L->inputs, jac + i * n);
        }
        nb_pop(c);
        return c->err;
    }
    /* forward: one pass per input along e_j, on one level reset between passes */
    if ((s = begin(c, NB_FORWARD, n, m, &L))) return s;
    nb_var *ys = L->outputs;
    for (size_t j = 0; j < n && c->err == NB_OK; j++) {
        if (j > 0 && (s = nb_reset(c))) {
            nb__fail(c, s);
            break;
        }
        for (size_t i = 0; i < n; i++)
            L->inputs[i] = nb_fwd_input(c, nb_const(x[i]), nb_const(i == j ? 1.0 : 0.0));
        for (size_t i = 0; i < m; i++) ys[i] = nb_const(0);
        f(c, L->inputs, ys, env);
        if (j == 0) values(m, ys, y);
        for (size_t i = 0; i < m; i++) jac[i * n + j] = nb_tangent(c, ys[i]).v;
    }
    if (n == 0) { /* no input: only the values */
        for (size_t i = 0; i < m; i++) ys[i] = nb_const(0);
        f(c, L->inputs, ys, env);
        values(m, ys, y);
    }
    nb_pop(c);
    return c->err;
}

nb_status nb_derivative(nb_ctx *c, nb_fn f, void *env, double x, double *fx, double *dfx) {
    const double one = 1.0;
    return nb_jvp(c, f, env, 1, &x, &one, fx, dfx);
}

/* ---- nestable drivers ---- */

nb_status nb_gradient_var(nb_ctx *c, nb_fn f, void *env, size_t n, const nb_var *x, nb_var *fx,
                          nb_var *g) {
    if (!c || !f || (n && (!x || !g))) return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
    nb_level *L = NULL;
    nb_status s = begin(c, NB_REVERSE, n, 1, &L);
    if (s) return s;
    for (size_t i = 0; i < n; i++) L->inputs[i] = nb_rev_input(c, x[i]);
    nb_var y = f(c, L->inputs, env);
    if (fx) *fx = nb_primal(c, y);
    nb__backward(c, L, 1, &y, NULL, 1);
    for (size_t i = 0; i < n; i++) g[i] = nb_grad(c, L->inputs[i]);
    nb_pop(c);
    return c->err;
}

nb_status nb_jvp_var(nb_ctx *c, nb_fn f, void *env, size_t n, const nb_var *x, const nb_var *v,
                     nb_var *fx, nb_var *dfv) {
    if (!c || !f || !dfv || (n && (!x || !v))) return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
    nb_level *L = NULL;
    nb_status s = begin(c, NB_FORWARD, n, 1, &L);
    if (s) return s;
    for (size_t i = 0; i < n; i++) L->inputs[i] = nb_fwd_input(c, x[i], v[i]);
    nb_var y = f(c, L->inputs, env);
    if (fx) *fx = nb_primal(c, y);
    *dfv = nb_tangent(c, y);
    nb_pop(c);
    return c->err;
}

nb_status nb_derivative_var(nb_ctx *c, nb_fn f, void *env, nb_var x, nb_var *fx, nb_var *dfx) {
    const nb_var one = nb_const(1);
    return nb_jvp_var(c, f, env, 1, &x, &one, fx, dfx);
}

nb_status nb_vjp_var(nb_ctx *c, nb_vfn f, void *env, size_t n, size_t m, const nb_var *x,
                     const nb_var *v, nb_var *y, nb_var *out) {
    if (!c || !f || (n && (!x || !out)) || (m && !v)) return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
    nb_level *L = NULL;
    nb_status s = begin(c, NB_REVERSE, n, m, &L);
    if (s) return s;
    nb_var *ys = L->outputs;
    for (size_t i = 0; i < n; i++) L->inputs[i] = nb_rev_input(c, x[i]);
    for (size_t j = 0; j < m; j++) ys[j] = nb_const(0);
    f(c, L->inputs, ys, env);
    if (y)
        for (size_t j = 0; j < m; j++) y[j] = nb_primal(c, ys[j]);
    nb__backward(c, L, m, ys, v, 1);
    for (size_t i = 0; i < n; i++) out[i] = nb_grad(c, L->inputs[i]);
    nb_pop(c);
    return c->err;
}

/* ---- second order ---- */

nb_status nb_hvp(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x, const double *v,
                 double *fx, double *g, double *hv) {
    if (!c || !f || (n && (!x || !v || !hv))) return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
    nb_level *L = NULL;
    nb_status s = begin(c, NB_FORWARD, n, n, &L);
    if (s) return s;
    nb_fwd_inputs(c, n, x, v, L->inputs);
    nb_var y;
    nb_gradient_var(c, f, env, n, L->inputs, &y, L->outputs);
    if (fx) *fx = y.v;
    if (g)
        for (size_t i = 0; i < n; i++) g[i] = L->outputs[i].v;
    nb_tangents(c, n, L->outputs, hv);
    nb_pop(c);
    return c->err;
}

nb_status nb_hessian(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x, double *fx,
                     double *g, double *H) {
    if (!c || !f || (n && (!x || !H))) return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
    if (n == 0) return nb_gradient(c, f, env, 0, x, fx, g);
    nb_level *L = NULL;
    nb_status s = begin(c, NB_FORWARD, n, 2 * n, &L);
    if (s) return s;
    for (size_t j = 0; j < n && c->err == NB_OK; j++) {
        if (j > 0 && (s = nb_reset(c))) {
            nb__fail(c, s);
            break;
        }
        for (size_t i = 0; i < n; i++)
            L->inputs[i] = nb_fwd_input(c, nb_const(x[i]), nb_const(i == j ? 1.0 : 0.0));
        nb_var y;
        nb_gradient_var(c, f, env, n, L->inputs, &y, L->outputs);
        if (j == 0) {
            if (fx) *fx = y.v;
            if (g)
                for (size_t i = 0; i < n; i++) g[i] = L->outputs[i].v;
        }
        for (size_t i = 0; i < n; i++) H[i * n + j] = nb_tangent(c, L->outputs[i]).v;
    }
    nb_pop(c);
    return c->err;
}
