/* vec.c - elementwise helpers over arrays of handles: one scalar op per element. */
#include "internal.h"

#define NB_VEC2_(name_, op_)                                                            \
    void nb_##name_(nb_ctx *c, size_t n, const nb_var *x, const nb_var *y, nb_var *out) { \
        if (n && (!x || !y || !out)) {                                                  \
            nb__fail(c, NB_E_ARG);                                                      \
            return;                                                                     \
        }                                                                               \
        for (size_t i = 0; i < n; i++) out[i] = op_(c, x[i], y[i]);                     \
    }
NB_VEC2_(vadd, nb_add)
NB_VEC2_(vsub, nb_sub)
NB_VEC2_(vmul, nb_mul)
NB_VEC2_(vdiv, nb_div)
#undef NB_VEC2_

void nb_vscale(nb_ctx *c, size_t n, nb_var a, const nb_var *x, nb_var *out) {
    if (n && (!x || !out)) {
        nb__fail(c, NB_E_ARG);
        return;
    }
    for (size_t i = 0; i < n; i++) out[i] = nb_mul(c, a, x[i]);
}

void nb_vaxpy(nb_ctx *c, size_t n, nb_var a, const nb_var *x, const nb_var *y, nb_var *out) {
    if (n && (!x || !y || !out)) {
        nb__fail(c, NB_E_ARG);
        return;
    }
    for (size_t i = 0; i < n; i++) out[i] = nb_add(c, nb_mul(c, a, x[i]), y[i]);
}

void nb_vapply(nb_ctx *c, nb_op op, size_t n, const nb_var *x, const nb_var *y, int param,
               nb_var *out) {
    const nb_op_info *info = nb_op_get(op);
    if (!info || info->reduction || (n && (!x || !out || (info->arity == 2 && !y)))) {
        nb__fail(c, NB_E_ARG);
        return;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = nb_apply(c, op, x[i], info->arity == 2 ? y[i] : nb_const(0), param);
}
