/* drivers.h - derivatives of a user function written once against nb_ctx / nb_var.
 *
 * A scalar function has the signature of nb_fn: it reads its inputs x[0 .. n-1] (handles), may
 * branch and loop on their values, and returns its result as a handle, built with the ops of
 * nabla/var.h. The same function runs under a forward level (nb_jvp), a reverse level
 * (nb_gradient), and any nesting of them. A driver pushes its own level on top of whatever the
 * context holds and pops it before returning, so drivers can be called inside functions that are
 * themselves being differentiated.
 */
#ifndef NABLA_DRIVERS_H
#define NABLA_DRIVERS_H

#include <stddef.h>

#include "nabla/var.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A scalar function of n inputs (n is known to the caller and to env). */
typedef nb_var (*nb_fn)(nb_ctx *c, const nb_var *x, void *env);

/* The gradient of f at x (n doubles) by one reverse sweep: f(x) into *fx (NULL to skip) and
 * df/dx into g[0 .. n-1]. Returns NB_OK or the first error of the context (which it leaves
 * recorded; the outputs are then unspecified). NB_E_ARG for NULL c, f, x or g. */
nb_status nb_gradient(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x, double *fx,
                      double *g);

/* The directional derivative of f at x along v by one forward pass: f(x) into *fx (NULL to skip)
 * and sum_i df/dx_i v_i into *dfv. Errors as for nb_gradient. */
nb_status nb_jvp(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x, const double *v,
                 double *fx, double *dfv);

#ifdef __cplusplus
}
#endif

#endif /* NABLA_DRIVERS_H */
