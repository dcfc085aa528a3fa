/* drivers.c - gradient and jvp of user functions: push a level, make the inputs, run the
 * function, sweep or read tangents, pop. */
#include "internal.h"
#include "nabla/drivers.h"

/* Pushes a level of `kind` and room for n input handles in its scratch. */
static nb_status begin(nb_ctx *c, nb_kind kind, size_t n, nb_level **out) {
    nb_status s = nb_push(c, kind);
    if (s) return nb__fail(c, s);
    nb_level *L = &c->lv[c->depth];
    s = nb__inputs_reserve(c, L, n ? n : 1);
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
    nb_status s = begin(c, NB_REVERSE, n, &L);
    if (s) return s;
    for (size_t i = 0; i < n; i++) L->inputs[i] = nb_rev_input(c, nb_const(x[i]));
    nb_var y = f(c, L->inputs, env);
    if (fx) *fx = y.v;
    nb_backward(c, y);
    for (size_t i = 0; i < n; i++) g[i] = nb_grad(c, L->inputs[i]).v;
    nb_pop(c);
    return c->err;
}

nb_status nb_jvp(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x, const double *v,
                 double *fx, double *dfv) {
    if (!c || !f || !dfv || (n && (!x || !v))) return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
    nb_level *L = NULL;
    nb_status s = begin(c, NB_FORWARD, n, &L);
    if (s) return s;
    for (size_t i = 0; i < n; i++) L->inputs[i] = nb_fwd_input(c, nb_const(x[i]), nb_const(v[i]));
    nb_var y = f(c, L->inputs, env);
    if (fx) *fx = y.v;
    *dfv = nb_tangent(c, y).v;
    nb_pop(c);
    return c->err;
}
