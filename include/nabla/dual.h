/* dual.h - dual numbers: the context-free forward mode, one derivative in one direction.
 *
 * nb_dual {v, d} carries a value and its tangent. Every op of the registry (nabla/ops.def) has an
 * inline function nb_dual_<op>, expanded here from the op's row: the primal and the same partial
 * text that the reverse tape and the nested levels use. No context, no allocation, no state:
 * thread-safe and usable anywhere.
 *
 *   nb_dual x = nb_dual_var(0.7);                          (x = 0.7, dx = 1)
 *   nb_dual y = nb_dual_mul(nb_dual_sin(x), nb_dual_exp(nb_dual_neg(nb_dual_powi(x, 2))));
 *   y.v is f(0.7), y.d is f'(0.7)
 *
 * NaN policy ("strong zero"): a tangent or partial that is exactly zero contributes exactly zero,
 * even against an inf or NaN. So d/dx sqrt(x*x) at 0 is 0, d/dx sqrt(x) at 0 is +inf, and an op
 * whose operand has tangent 0 contributes 0 whatever its partial is. A domain error (sqrt(-1),
 * log(-1), asin(2)) gives a NaN value and a NaN derivative.
 * Parameterized ops (powi, psi_n) give {NaN, NaN} for a parameter outside their range.
 */
#ifndef NABLA_DUAL_H
#define NABLA_DUAL_H

#include "nabla/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nb_dual {
    double v; /* value */
    double d; /* tangent: the derivative along the chosen direction */
} nb_dual;

/* {v, d}. */
static inline nb_dual nb_dual_make(double v, double d) {
    nb_dual r;
    r.v = v;
    r.d = d;
    return r;
}
/* The independent variable: {v, 1}. */
static inline nb_dual nb_dual_var(double v) { return nb_dual_make(v, 1.0); }
/* A constant: {v, 0}. */
static inline nb_dual nb_dual_const(double v) { return nb_dual_make(v, 0.0); }

/* p * t under the strong-zero policy: exactly 0 when p or t is 0, even against inf or NaN. The
 * product can only be NaN if an operand is NaN or an infinity meets a zero, so the policy costs
 * one well-predicted test of the product, not one per operand. */
static inline double nb_dual_szmul(double p, double t) {
#if defined(__FINITE_MATH_ONLY__) && __FINITE_MATH_ONLY__
    /* -ffinite-math-only (and -ffast-math) let the compiler fold r == r to true: test the
     * operands instead */
    return (p == 0 || t == 0) ? 0.0 : p * t;
#else
    double r = p * t;
    return r == r ? r : (p == 0 || t == 0) ? 0.0 : r;
#endif
}

#include "nabla/bits/rule_doubles.h"
#define NB_OP1(name_, lang_, primal_, dX_, ...)                               \
    static inline nb_dual nb_dual_##name_(nb_dual nb_x_) {                    \
        const double X = nb_x_.v;                                             \
        const double R = (primal_);                                           \
        (void)R;                                                              \
        return nb_dual_make(R, nb_dual_szmul((dX_), nb_x_.d));                \
    }
#define NB_OP2(name_, lang_, primal_, dX_, dY_, ...)                          \
    static inline nb_dual nb_dual_##name_(nb_dual nb_x_, nb_dual nb_y_) {     \
        const double X = nb_x_.v, Y = nb_y_.v;                                \
        const double R = (primal_);                                           \
        (void)R;                                                              \
        return nb_dual_make(R, nb_dual_szmul((dX_), nb_x_.d) +                \
                                   nb_dual_szmul((dY_), nb_y_.d));            \
    }
#define NB_OPI(name_, lang_, nmin_, nmax_, primal_, dX_, ...)                 \
    static inline nb_dual nb_dual_##name_(nb_dual nb_x_, int N) {             \
        const double X = nb_x_.v;                                             \
        if (N < (nmin_) || N > (nmax_))                                       \
            return nb_dual_make((double)NAN, nb_dual_szmul((double)NAN, nb_x_.d));            \
        const double R = (primal_);                                           \
        (void)R;                                                              \
        return nb_dual_make(R, nb_dual_szmul((dX_), nb_x_.d));                \
    }
/* Reductions: nb_dual_sum(n, x), nb_dual_dot(n, x, y), ... */
#define NB_RED1(name_, lang_, primal_, dX_, ...)                              \
    static inline nb_dual nb_dual_##name_(size_t n, const nb_dual *x) {       \
        const double R = primal_(n, x, sizeof *x, x, sizeof *x);              \
        double nb_t_ = 0;                                                     \
        (void)R;                                                              \
        for (size_t i = 0; i < n; i++) {                                      \
            const double X = x[i].v;                                          \
            (void)X;                                                          \
            nb_t_ += nb_dual_szmul((dX_), x[i].d);                            \
        }                                                                     \
        return nb_dual_make(R, nb_t_);                                        \
    }
#define NB_RED2(name_, lang_, primal_, dX_, dY_, ...)                         \
    static inline nb_dual nb_dual_##name_(size_t n, const nb_dual *x,         \
                                          const nb_dual *y) {                 \
        const double R = primal_(n, x, sizeof *x, y, sizeof *y);              \
        double nb_t_ = 0;                                                     \
        (void)R;                                                              \
        for (size_t i = 0; i < n; i++) {                                      \
            const double X = x[i].v, Y = y[i].v;                              \
            (void)X, (void)Y;                                                 \
            /* term by term, in the order the handle levels add them: the same  \
             * rounding (a review found the last bit apart, and nb_hvp's dual   \
             * path apart from its generic one) */                              \
            nb_t_ += nb_dual_szmul((dX_), x[i].d);                              \
            nb_t_ += nb_dual_szmul((dY_), y[i].d);                              \
        }                                                                     \
        return nb_dual_make(R, nb_t_);                                        \
    }
#include "nabla/ops.def"
#undef NB_OP1
#undef NB_OP2
#undef NB_OPI
#undef NB_RED1
#undef NB_RED2
#include "nabla/bits/rule_words_end.h"

/* The op `op` applied to dual numbers: x (and y for two-operand ops, ignored otherwise; n for
 * parameterized ops, ignored otherwise). {NaN, NaN} for an op id out of range and for a
 * reduction (call nb_dual_sum & co. directly). */
nb_dual nb_dual_apply(nb_op op, nb_dual x, nb_dual y, int n);

#ifdef __cplusplus
}
#endif

#endif /* NABLA_DUAL_H */
