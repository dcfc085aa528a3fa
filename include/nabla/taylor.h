/* taylor.h - Taylor mode: all derivatives up to order K in one direction, in one pass.
 *
 * A Taylor level of order K (nb_push_taylor) makes every value a truncated series
 * w(t) = w_0 + w_1 t + ... + w_K t^K along one direction; d^k/dt^k of f(x + t v) at t = 0 is
 * k! w_k. One pass costs O(K^2) per multiply, where K nested forward levels cost about 3^K. The
 * coefficients are handles of the levels below (constants at depth 1), so a Taylor level nests
 * under or over forward and reverse levels like any other.
 *
 * Ops with standard recurrences use them (add, sub, neg, mul, div, exp, expm1, log, log1p, log2,
 * log10, sin, cos, tan, sinh, cosh, tanh, sqrt, cbrt, pow, powi); the Bessel functions (bessel_j0,
 * bessel_j1, bessel_jn, bessel_y0, bessel_y1) compose their closed-form derivatives, O(K^3) once
 * per op; every other op evaluates its registry rule as a series. Where a recurrence divides by a
 * zeroth coefficient that is 0, an exactly zero numerator gives 0 and the rest +-inf or NaN:
 * d^k/dx^k x^3 at 0 is 0, 0, 0, 6, 0, ...; sqrt at 0 has an infinite first derivative; sqrt(x^2)
 * at 0 has first derivative 0 (the strong-zero policy) and an infinite second, as nested forward
 * levels give.
 *
 * Known limit: an op that goes through its rule computes each coefficient from the derivative
 * f^(k)(u_0) itself, so where that derivative overflows a double its coefficient is +-inf (or NaN)
 * even when f^(k)(u_0)/k! would fit. This matters for functions whose derivatives grow like k!:
 * digamma, lgamma, tgamma and polygamma near the poles (digamma at 0.4: from coefficient 145 on,
 * where psi^(k)(0.4) ~ k! 2.5^(k+1) overflows; coefficient 170 is about 1e68). Derivatives
 * (nb_derivatives) are unaffected in kind: there the overflowing derivative is itself the result.
 */
#ifndef NABLA_TAYLOR_H
#define NABLA_TAYLOR_H

#include "nabla/drivers.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An input of the top level, which must be a Taylor level: the series x + dx t (x and dx
 * constants or handles of lower levels). NB_E_LEVEL if the top level is not Taylor, NB_E_ARG if x
 * or dx belongs to it; errors are recorded in the context and give a NaN constant. */
nb_var nb_taylor_input(nb_ctx *c, nb_var x, nb_var dx);

/* An input of the top level, which must be a Taylor level of order K: the series
 * coef[0] + coef[1] t + ... + coef[m-1] t^(m-1) (constants or handles of lower levels; the
 * coefficients from m to K are 0). nb_taylor_input(c, x, dx) is the case m = 2. NB_E_LEVEL if the
 * top level is not Taylor; NB_E_ARG for m = 0, m > K + 1, a NULL coef, or a coefficient that
 * belongs to the level; errors are recorded in the context and give a NaN constant. */
nb_var nb_taylor_series_input(nb_ctx *c, size_t m, const nb_var *coef);

/* Coefficient k (0 .. K) of y's series at the top Taylor level, as a handle of the levels below:
 * y itself for k = 0 when the level does not own y, and 0 for k > 0. NB_E_ARG (recorded) for k
 * out of range. */
nb_var nb_taylor_coef(nb_ctx *c, nb_var y, int k);

/* The Taylor coefficients coef[0 .. K] of t -> f(x + t v) at t = 0 (n inputs), in one pass on a
 * Taylor level of order K = `order` (0 .. NB_TAYLOR_MAX_ORDER; K = 0 gives f(x) alone). Returns
 * the context's status; NB_E_ARG for NULL c, f or coef, NULL x or v with n > 0 (coef[0 .. K] is
 * NaN then, as on any failure), or K out of range (nothing written). As the drivers of
 * nabla/drivers.h: f is called only when the inputs were made and no error was recorded before;
 * an f that leaves the level stack unbalanced is NB_E_LEVEL (the caller's levels are never
 * popped); x and v are read before coef is written (so coef may alias them); on any other
 * failure coef[0 .. K] is NaN. */
nb_status nb_taylor(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x, const double *v,
                    int order, double *coef);

/* The highest order nb_derivatives takes: 171! overflows a double, and the Taylor coefficients of
 * a function whose derivatives are of size 1 underflow past about order 177, so a higher order
 * would come back as inf or a silent 0. Higher orders: the coefficients from nb_taylor. */
#define NB_DERIVATIVES_MAX_ORDER 170

/* The derivatives d^k/dt^k f(x + t v) at t = 0 into d[0 .. K] (K = `order`, 0 ..
 * NB_DERIVATIVES_MAX_ORDER; NB_E_ARG beyond, or for NULL d): k! times nb_taylor's coefficients.
 * A coefficient that is 0 or subnormal may have underflowed where the derivative has not (f^(100)
 * of exp(x/100) is 1e-200, its coefficient 1e-358): then one more pass along 64 v, whose
 * coefficients are 64^k larger, supplies those orders, so derivatives down to about 1e-280 are
 * exact to rounding rather than 0 or a few digits. d must not overlap x or v. Errors as for
 * nb_taylor (on failure d[0 .. K] is NaN); NB_E_NOMEM when the second pass's two arrays cannot be
 * allocated through the context's hook. */
nb_status nb_taylor_derivatives(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x,
                                const double *v, int order, double *d);

/* Rounding: a coefficient is a sum of products of lower ones, and where those terms are much
 * larger than their sum, digits cancel. For sin(x) exp(x) the terms of order k are about 2^k / k!
 * and the result 2^(k/2) / k!, so about k/2 bits are lost: order 60 is good to 2e-8, order 100
 * only to 3e-2. exp, sin(x) exp(-x^2), tan, 1/(1 + x^2) keep full accuracy to order 100. Nothing in
 * one evaluation tells which case it is; nb_taylor_derivatives_err estimates it. */

/* nb_taylor_derivatives into d[0 .. K], and into err[0 .. K] an estimate of each derivative's
 * rounding error, the larger of two: |d_k - d'_k / 1.5^k|, where d' are the derivatives along
 * 1.5 v (mathematically 1.5^k d_k, rounded differently at every step of the recurrences), and
 * 0.29 |d_k - d~_k|, where d~ are the derivatives along v with every registry op's inexact value
 * (not a reduction's or a custom op's) moved by an ulp up or down (pseudo-random, the same for every call), as another rounding might have left
 * it (the values' rounding, which the recurrences can amplify: x/atan(x) near 0) - so about three
 * times the cost. Where d'_k overflows but d_k does not (derivatives near DBL_MAX), a pass along
 * 0.75 v takes its place for those orders, |d_k - d''_k / 0.75^k|: four times the cost. An
 * estimate, not a bound: the true error is usually within a small factor of it, but the moved
 * pass is one random sample whose moves can cancel (sinh(x)/x at 5e-7: f'' 0.332 for 0.333 with
 * an estimate of 0; docs/design.md, "Known limits"). It cannot see
 * an error of a special function's value beyond its last bit (GSL's airy_bi to about 1e-13).
 * err[k] is 0 where the passes agree exactly (also for equal infinities) and NaN where one is inf
 * or NaN and another differs. NB_E_ARG for a NULL err or an order out of range (nothing written); on any other
 * failure d and err are NaN. Otherwise as nb_taylor_derivatives; err must not overlap d (it may
 * overlap x or v: they are read before it is written). */
nb_status nb_taylor_derivatives_err(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x,
                                    const double *v, int order, double *d, double *err);

/* f(x), f'(x), ..., f^(K)(x) into d[0 .. K] (K = `order`) for a function of one input:
 * nb_taylor_derivatives along v = 1. */
nb_status nb_derivatives(nb_ctx *c, nb_fn f, void *env, double x, int order, double *d);

/* The Taylor coefficients of the solution of an ODE, dy/dt = f(t, y), y(t0) = y0 (dim
 * components): y_i(t0 + h) = sum_k coef[i (K + 1) + k] h^k, k = 0 .. K (K = `order`, 0 ..
 * NB_TAYLOR_MAX_ORDER), coefficient k being y_i^(k)(t0) / k!. The classical recurrence of Taylor
 * series integrators (Moore 1966; Jorba & Zou 2005): with y's coefficients known to order k, one
 * Taylor pass through f(t0 + t, y(t)) gives f's coefficient k, and y's coefficient k + 1 is that
 * divided by k + 1. So f is called K times, on Taylor levels of order 1 .. K - 1 (1 for the first
 * two): a product in f costs about K^3 / 6 multiplications in all; a step of a Taylor integrator is then
 * sum_k coef_k h^k (docs/examples/taylor_ode.c integrates Kepler's problem that way).
 *
 * f runs unchanged under the Taylor levels (t is the series t0 + t, y the series of the
 * coefficients found so far); a branch on a value takes the path of the point (t0, y0). A handle
 * of the caller's levels that f captures (a parameter as a reverse input) makes every pass record
 * its coefficient arithmetic on that level - O(K^3) entries per op of f and call, kept until the
 * caller resets it, while the coefficients come back as doubles that carry no derivative - so
 * pass such values through env as doubles. Errors
 * as for nb_taylor: NB_E_ARG for a NULL c, f or coef, a NULL y0 with dim > 0, K out of range
 * (nothing written) or a dim (K + 1) that overflows; f only on good inputs, an f that leaves the
 * level stack unbalanced is NB_E_LEVEL, and on any failure every coefficient is NaN. coef must
 * not overlap y0. */
nb_status nb_ode_taylor(nb_ctx *c, nb_odefn f, void *env, size_t dim, double t0,
                        const double *y0, int order, double *coef);

/* nb_ode_taylor on handles: t0 and y0[0 .. dim-1] constants or handles of the caller's levels,
 * and the coefficients coef[i (K + 1) + k] handles of those levels (constants when there are
 * none). With y0 (or t0, or a parameter f captures) an input of an enclosing reverse or forward
 * level, the coefficients - and a Taylor step sum_k coef_k h^k built from them with ops - carry
 * their derivatives: the state transition matrix dy(t0 + h)/dy0 of a Taylor integrator by one
 * reverse sweep per output, any order by nesting. Each pass records its coefficient arithmetic on
 * those levels (O(K^3) entries per op of f). Errors as for nb_ode_taylor, with NaN constants in
 * coef; a stale or foreign y0 is the level's error (NB_E_STALE, NB_E_FOREIGN). coef must not
 * overlap y0. */
nb_status nb_ode_taylor_var(nb_ctx *c, nb_odefn f, void *env, size_t dim, nb_var t0,
                            const nb_var *y0, int order, nb_var *coef);

#ifdef __cplusplus
}
#endif

#endif /* NABLA_TAYLOR_H */
