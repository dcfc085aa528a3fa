/* array.h - plain double arrays as inputs of a reverse level, with their gradients written
 * straight into a second array (a shadow, as in Enzyme's duplicated arguments), or of a forward
 * level, with their tangents read from a second array.
 *
 * nb_rev_inputs makes one 16-byte handle per element and nb_dot records one (index, partial) pair
 * per element: for a reduction over 10^6 inputs the handles, the pairs, the adjoints and the
 * copy of the gradients out cost about nine times the plain loop (docs/benchmarks.md, dot2). An
 * nb_array instead borrows the caller's x and dx: a reduction over it is one node on the tape with
 * no operands, its primal is the same loop over x that the handle version runs, and the backward
 * pass computes each element's partial from x (the registry's rule, evaluated on doubles) and
 * adds partial * adjoint into dx[i]. The tape holds a few words per array and per reduction.
 *
 * Scope: the level that makes the array must be a reverse (nb_rev_array) or forward
 * (nb_fwd_array) level 1 on top of the stack (the plain-double tier); anything else is
 * NB_E_LEVEL. The reductions and element handles below bind to that level, whatever is pushed
 * above it later, and work the same on both kinds, so code written against nb_array runs under a
 * forward level (a directional derivative) and a reverse one (a gradient). A function written
 * against nb_var handles runs unchanged on element handles (nb_array_at).
 *
 * Values, partials and the order of the primal's sum are those of the handle reductions
 * (nb_sum, nb_sumsq, nb_norm, nb_dot of nabla/var.h), so the value is the same double and so is
 * each partial, and on a forward level the tangent is the same sum in the same order (the same
 * double); an element's gradient, a sum of contributions, can differ in its last bits from
 * the handle version's when several statements feed the same element (the order of the sum
 * differs).
 *
 * Gradients: nb_rev_array sets dx to zero; each backward pass of the level adds into it (in
 * NB_GRAD_OVERWRITE mode, zeroes it first), as leaf gradients do (nb_grad); nb_zero_grad zeroes
 * it too. x must stay unchanged and x and dx valid until the level is reset or popped: the
 * backward pass reads x again. dx must not overlap x, nor the x or dx of another array of the
 * level. Errors are recorded in the context (a NaN constant from the ops), as for every op:
 * NB_E_ARG for NULL arrays with n > 0, such an overlap, or lengths that differ; NB_E_STALE for
 * an array of a popped or reset level; NB_E_FOREIGN for one of another context (detected as
 * reliably as for handles, nabla/var.h); NB_E_LEVEL as above; NB_E_NOMEM / NB_E_TAPE_FULL when
 * the tape cannot grow.
 */
#ifndef NABLA_ARRAY_H
#define NABLA_ARRAY_H

#include <stddef.h>
#include <stdint.h>

#include "nabla/ctx.h"
#include "nabla/var.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A borrowed array of n inputs: read its fields, never change them. */
typedef struct nb_array {
    const double *x; /* the values */
    double *dx;      /* reverse: the gradient; forward: NULL */
    const double *t; /* forward: the tangents; reverse: NULL */
    size_t n;
    uint32_t id;  /* which array of its level */
    uint32_t tag; /* its level's tag, as a handle's */
} nb_array;

/* Makes x[0 .. n-1] inputs of the top level (a reverse level at depth 1) with gradient dx[0 ..
 * n-1], which is set to zero. n == 0 is allowed (x and dx may then be NULL). On failure *out is
 * an array of no level (every use is an error). Returns the context's status. The overlap check
 * compares the new array with every array the level already has: the k-th call costs O(k), so
 * thousands of arrays per level are cheap, millions are not (use fewer, larger arrays). */
nb_status nb_rev_array(nb_ctx *c, size_t n, const double *x, double *dx, nb_array *out);

/* Makes x[0 .. n-1] inputs of the top level (a forward level at depth 1) with tangents t[0 ..
 * n-1] (the direction; read by each reduction, so it must stay unchanged too, and it may be x
 * itself). n == 0 is allowed (x and t may then be NULL). Otherwise as nb_rev_array. */
nb_status nb_fwd_array(nb_ctx *c, size_t n, const double *x, const double *t, nb_array *out);

/* Reductions over arrays, each one tape node: sum_i x_i, sum_i x_i^2, the Euclidean norm (scaled,
 * never overflowing; every partial 0 at the zero vector), and sum_i a_i b_i (a and b may be the
 * same array, whose partial is then 2 x_i). An empty array gives the constant 0. */
nb_var nb_array_sum(nb_ctx *c, nb_array a);
nb_var nb_array_sumsq(nb_ctx *c, nb_array a);
nb_var nb_array_norm(nb_ctx *c, nb_array a);
nb_var nb_array_dot(nb_ctx *c, nb_array a, nb_array b);

/* Element i of a as a leaf handle of a's level (value x[i]; on a forward level, tangent t[i]),
 * for any op of nabla/var.h; on a reverse level its gradient goes into dx[i] at each backward
 * pass (nb_grad of the handle itself then reads 0).
 * NB_E_ARG for i >= n. */
nb_var nb_array_at(nb_ctx *c, nb_array a, size_t i);

#ifdef __cplusplus
}
#endif

#endif /* NABLA_ARRAY_H */
