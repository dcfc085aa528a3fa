/* gsl.h - the drivers with GSL's vector and matrix types in and out.
 *
 * Same contracts as nabla/drivers.h; sizes come from the GSL objects and must agree (NB_E_ARG
 * otherwise, recorded in the context). Vectors with stride 1 and matrices with tda == size2 are
 * used in place; others go through a temporary copy from the context's allocation hook. The
 * library never calls GSL's error handler from these functions and never changes it.
 *
 * Not included by nabla/nabla.h: include it where GSL types are wanted (nabla.pc carries GSL's
 * flags). */
#ifndef NABLA_GSL_H
#define NABLA_GSL_H

#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>

#include "nabla/drivers.h"

#ifdef __cplusplus
extern "C" {
#endif

/* nb_gradient: f(x) into *fx (NULL to skip), the gradient into g (g->size == x->size). */
nb_status nb_gradient_gsl(nb_ctx *c, nb_fn f, void *env, const gsl_vector *x, double *fx,
                          gsl_vector *g);

/* nb_hvp: H v into hv; g may be NULL. */
nb_status nb_hvp_gsl(nb_ctx *c, nb_fn f, void *env, const gsl_vector *x, const gsl_vector *v,
                     double *fx, gsl_vector *g, gsl_vector *hv);

/* nb_hessian: the n x n Hessian into H; g may be NULL. */
nb_status nb_hessian_gsl(nb_ctx *c, nb_fn f, void *env, const gsl_vector *x, double *fx,
                         gsl_vector *g, gsl_matrix *H);

/* nb_jacobian: the m x n Jacobian into J (m = J->size1 outputs, n = x->size = J->size2); y may
 * be NULL, else y->size == m. */
nb_status nb_jacobian_gsl(nb_ctx *c, nb_vfn f, void *env, const gsl_vector *x, nb_jac_mode mode,
                          gsl_vector *y, gsl_matrix *J);

/* nb_vjp: v^T J into out (m = v->size outputs, n = x->size = out->size); y may be NULL. */
nb_status nb_vjp_gsl(nb_ctx *c, nb_vfn f, void *env, const gsl_vector *x, const gsl_vector *v,
                     gsl_vector *y, gsl_vector *out);

/* nb_jvp_vec: J u into out (n = x->size = u->size, m = out->size); y may be NULL. */
nb_status nb_jvp_gsl(nb_ctx *c, nb_vfn f, void *env, const gsl_vector *x, const gsl_vector *u,
                     gsl_vector *y, gsl_vector *out);

#ifdef __cplusplus
}
#endif

#endif /* NABLA_GSL_H */
