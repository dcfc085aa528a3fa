/* gsl.h - the drivers with GSL's vector and matrix types in and out.
 *
 * Same contracts as nabla/drivers.h; sizes come from the GSL objects and must agree (NB_E_ARG
 * otherwise, recorded in the context, and NaN in every output given, each over its own size).
 * Vectors with stride 1 and matrices with tda == size2 are used in place; others go through a
 * temporary copy from the context's allocation hook. The library never calls GSL's error
 * handler from these functions and never changes it.
 *
 * Not included by nabla/nabla.h: include it where GSL types are wanted (nabla.pc carries GSL's
 * flags). */
#ifndef NABLA_GSL_H
#define NABLA_GSL_H

#include <gsl/gsl_math.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_multilarge_nlinear.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_multiroots.h>
#include <gsl/gsl_odeiv2.h>
#include <gsl/gsl_spmatrix.h>
#include <gsl/gsl_vector.h>

#include "nabla/drivers.h"
#include "nabla/sparse.h"

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

/* ---- sparse matrices (nabla/sparse.h) ---- */

/* A compressed-row gsl_spmatrix (GSL_SPMATRIX_CSR) with the plan's shape and pattern and every
 * value 0. Its data array is in the plan's order, so nb_sparse_jacobian(c, p, f, env, x, y,
 * J->data) (or nb_sparse_hessian) fills it in place, ready for gsl_spblas_dgemv and
 * gsl_splinalg's iterative solvers (docs/examples/sparse_newton.c). NULL for a NULL plan, a plan
 * with no rows or no columns (GSL has no empty matrices), a pattern beyond GSL's int indices, or
 * when GSL cannot allocate the matrix (GSL's error handler is called then, as for any GSL
 * allocation: the default handler aborts unless it is turned off). Free it with gsl_spmatrix_free. */
gsl_spmatrix *nb_gsl_spmatrix_new(const nb_sparse *p);

/* ---- adapters for GSL's solvers ----
 *
 * An adapter fills the function object a GSL solver asks for (gsl_multimin_function_fdf,
 * gsl_multiroot_function_fdf, gsl_multifit_nlinear_fdf, gsl_multilarge_nlinear_fdf,
 * gsl_odeiv2_system, gsl_function, gsl_function_fdf) from a
 * user function written once against nb_ctx / nb_var: gradients by reverse mode, Jacobians by
 * nb_jacobian, the second directional derivative fvv of least squares by forward over forward.
 * The adapter owns its context and its tape and reuses them across iterations: after the first
 * evaluation of each kind it allocates nothing. Adapters in different threads are independent.
 *
 * GSL's callbacks return a double or a GSL status, so an error inside the user function (a
 * nabla status) is kept in the adapter: the callback returns NaN (or GSL_EBADFUNC with NaN
 * outputs), and nb_gsl_adapter_status tells what went wrong. A callback given a NULL vector it
 * needs, or a vector or matrix whose size is not the adapter's (n inputs, m outputs), does the
 * same with NB_E_ARG, leaving a wrongly sized output untouched. nabla never calls gsl_error and never
 * changes GSL's error handler; GSL's own solvers may call it (e.g. on a singular matrix), and its
 * default handler aborts, so a program that wants statuses instead should call
 * gsl_set_error_handler_off() (or install its own handler) before iterating.
 *
 * The function objects live inside the adapter: they stay valid until nb_gsl_adapter_free.
 *
 * Every constructor takes the options of the adapter's context last (NULL: nb_ctx_opts_init's
 * defaults), so its allocations go through the caller's hook and its tape can be capped. On
 * failure *out is NULL: NB_E_ARG for a NULL out or f, a zero size (n, p or dim), or sizes whose
 * product overflows; NB_E_NOMEM when an allocation fails (nothing is leaked). */

typedef struct nb_gsl_adapter nb_gsl_adapter;

/* A minimizer adapter for f: R^n -> R: f, df and fdf of the object from nb_gsl_multimin_fdf. */
nb_status nb_gsl_multimin_new(nb_gsl_adapter **out, nb_fn f, void *env, size_t n,
                              const nb_ctx_opts *opts);
gsl_multimin_function_fdf *nb_gsl_multimin_fdf(nb_gsl_adapter *a);

/* A root-finding adapter for f: R^n -> R^n (an nb_vfn): f, df (the Jacobian) and fdf. */
nb_status nb_gsl_multiroot_new(nb_gsl_adapter **out, nb_vfn f, void *env, size_t n,
                               const nb_ctx_opts *opts);
gsl_multiroot_function_fdf *nb_gsl_multiroot_fdf(nb_gsl_adapter *a);

/* A least-squares adapter for residuals r: R^p -> R^n (p parameters, n residuals; GSL's names):
 * f, df (the n x p Jacobian) and fvv (sum_jk d2 r_i/dx_j dx_k v_j v_k, by forward over forward).
 * Set the object's fvv to NULL for a fit without geodesic acceleration's second derivative, or
 * df to NULL for GSL's internal finite differences. */
nb_status nb_gsl_multifit_new(nb_gsl_adapter **out, nb_vfn f, void *env, size_t p, size_t n,
                              const nb_ctx_opts *opts);
gsl_multifit_nlinear_fdf *nb_gsl_multifit_fdf(nb_gsl_adapter *a);

/* A large least-squares adapter for residuals r: R^p -> R^n (gsl_multilarge_nlinear, whose
 * solvers never hold the Jacobian): f; df, which gives J u by one forward pass along u or J^T u by
 * one reverse sweep seeded with u, and, when GSL passes a JTJ matrix (the trust-region methods
 * with a Cholesky solve; cgst passes none), J^T J into its lower half from the n x p Jacobian,
 * which the adapter then holds (n p doubles, made at the first such call); and fvv as above.
 * GSL 2.7 has no finite-difference df or fvv for these solvers (the fvv code is disabled: with
 * either NULL a fit reads memory never written and may report success at a wrong point), so keep
 * both of nabla's. GSL 2.7 does not apply the
 * weights of gsl_multilarge_nlinear_winit to df's products either (a weighted fit through it
 * stops at a point that is neither fit): put the weights into the residuals instead, r_i sqrt(w_i),
 * with gsl_multilarge_nlinear_init. On an error the lower half of JTJ is NaN, as df's output;
 * GSL's upper half is left alone. A TransJ other than CblasNoTrans, CblasTrans or
 * CblasConjTrans (the same for real J: v is then left alone), a JTJ that is not p x p, or u
 * without v (or v without u) is NB_E_ARG the way a wrong size is. */
nb_status nb_gsl_multilarge_new(nb_gsl_adapter **out, nb_vfn f, void *env, size_t p, size_t n,
                                const nb_ctx_opts *opts);
gsl_multilarge_nlinear_fdf *nb_gsl_multilarge_fdf(nb_gsl_adapter *a);

/* (nb_odefn, the right-hand side of an ODE system, is in nabla/drivers.h.) */

/* An ODE adapter for gsl_odeiv2 (the implicit steppers rk1imp, rk2imp, rk4imp, bsimp and msbdf
 * ask for the Jacobian): the system's function, and its jacobian - dfdy[i * dim + j] =
 * df_i/dy_j and dfdt[i] = df_i/dt - by dim reverse sweeps over one recording of f as a function
 * of (t, y), into a dim x (dim + 1) array the adapter makes at the first jacobian call (the
 * explicit steppers never call it, so a large system costs them nothing of the kind). A callback given a NULL y or dydt (jacobian: NULL dfdy and dfdt both; either alone
 * is skipped) is NB_E_ARG as above; on any error the outputs are NaN and the callback returns
 * GSL_EBADFUNC, which GSL's steppers pass on. */
nb_status nb_gsl_odeiv2_new(nb_gsl_adapter **out, nb_odefn f, void *env, size_t dim,
                            const nb_ctx_opts *opts);
gsl_odeiv2_system *nb_gsl_odeiv2_system(nb_gsl_adapter *a);

/* ---- ODE sensitivities: derivatives of an ODE's solution with respect to its parameters ----
 *
 * The right-hand side of dy/dt = f(t, y; p), with dim components and np parameters: writes
 * dydt[0 .. dim-1] from t, y[0 .. dim-1] and p[0 .. np-1] (p is NULL when np is 0). */
typedef void (*nb_odepfn)(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *p, nb_var *dydt,
                          void *env);

/* A forward-sensitivity adapter: a gsl_odeiv2_system (nb_gsl_odeiv2_system) whose state u has
 * dim (1 + np) components, y and its sensitivities S_k = dy/dp_k, k = 0 .. np-1:
 *
 *     u[i] = y_i,   u[dim (1 + k) + i] = dy_i/dp_k        (i < dim, k < np)
 *
 * and whose function is the sensitivity system
 *
 *     y' = f(t, y; p),   S_k' = (df/dy) S_k + df/dp_k,
 *
 * so any gsl_odeiv2 stepper or driver integrates y and all its sensitivities together, to the
 * same tolerances (the error control sees the S_k too). Each evaluation is np forward passes
 * through f along (S_k, e_k) (y' is the first pass's primal, the same doubles f gives on plain
 * values); nothing is differentiated numerically. The jacobian callback, which the implicit
 * steppers ask for, is the exact Jacobian of the whole sensitivity system, assembled from its
 * blocks: f_y (on the diagonal and for y), d/dy (f_y S_k + f_p_k), which holds f's second
 * derivatives, and zeros; and the t-derivatives likewise. For each k, f is recorded once on a
 * reverse level above a forward level along (S_k, e_k) (forward over reverse), and dim sweeps
 * give its rows: np recordings of f and dim np sweeps per call, and dim (dim + 1) handles made
 * at the first call. GSL's implicit steppers then factor the N x N matrix, N = dim (1 + np), so
 * they suit small systems; explicit steppers never call the jacobian.
 *
 * The caller sets the initial state: y(t0) and S_k(t0) = dy(t0)/dp_k, which is 0 when y(t0)
 * does not depend on p, and e_i for a parameter that is y_i(t0) itself. The parameters are
 * copied from p at creation (NULL only when np is 0) and changed by nb_gsl_odeiv2_sens_params
 * (between integrations: a driver in the middle of a step would mix two systems). Errors as for
 * nb_gsl_odeiv2_new; NB_E_ARG also for a NULL p with np > 0 and for a dim (1 + np) that
 * overflows. */
nb_status nb_gsl_odeiv2_sens_new(nb_gsl_adapter **out, nb_odepfn f, void *env, size_t dim,
                                 size_t np, const double *p, const nb_ctx_opts *opts);

/* Replaces the parameters of a sensitivity adapter with p[0 .. np-1]. NB_E_ARG for a NULL a,
 * an adapter of another kind, or a NULL p with np > 0 (the parameters are left as they were). */
nb_status nb_gsl_odeiv2_sens_params(nb_gsl_adapter *a, const double *p);

/* ---- adjoint ODE sensitivities: the gradient of an ODE solution's functional ----
 *
 * Forward sensitivities cost np forward passes per step, whatever is wanted of them. When the
 * parameters are many and the outputs few (a loss over observations of y, for instance), the
 * adjoint method gives the gradient in one integration backward in time instead:
 *
 *     lambda' = -f_y^T lambda,   mu' = -f_p^T lambda,
 *
 * from the last observation time down to t0, lambda jumping by w_j at each observation time t_j
 * (Cao, Li, Petzold & Serban 2003; CVODES). Then lambda(t0) = d L / d y(t0) and mu(t0) = d L / dp
 * for L = sum_j w_j . y(t_j). Each right-hand side of the backward system is one reverse sweep
 * through f (a vjp, nb_vjp), so its cost does not grow with np; its jacobian, for implicit
 * steppers, comes from one recording of f on a reverse level above a forward level and dim sweeps
 * (forward over reverse: -f_y^T, -f_p^T and their derivative along the trajectory).
 *
 * nb_ode_adjoint_solve integrates y forward with a GSL stepper and keeps the state at every
 * accepted step (checkpoints: dim + 2 doubles each), or every `stride` steps (the options). The
 * backward integration asks for y(t) at
 * times of its own choosing; each is integrated again from the checkpoint at or before it, at the
 * forward tolerances, by the forward stepper's type, or by bsimp after an implicit forward
 * stepper (a fresh msbdf starts at order 1 with tiny steps; rk2imp and rk4imp do not damp stiff
 * components). Nothing is interpolated: an earlier version interpolated between the steps with
 * Hermite polynomials of the solution's Taylor coefficients, and reviews found gradients off by
 * 1% to 279 times, or NaN, with success returned, after implicit steppers and after explicit ones
 * stepping over steep forcing (docs/gsl.md). The price is an integration from a checkpoint, at most 10^4
 * steps, for each time the backward stepper asks for y at (the last 4 times are kept;
 * nb_ode_adjoint_dense counts the integrations): about one per backward step with msbdf or
 * msadams, about one per stage with an explicit Runge-Kutta stepper (each stage is at a new
 * time: 11 per rk8pd step, 5 per rkf45 step, 4 per rk4 step on exponential decay), many more
 * with bsimp's substeps or rk4imp's Newton iterations (Robertson to t = 40: 708 for 625 msbdf
 * steps, 5517 for 30 bsimp steps). Two observation times within 4 ulps of each other are the
 * same time (y unchanged between them: GSL's rk1imp, rk2imp and rk4imp fail on such a step;
 * msbdf can fail on gaps of up to a few hundred ulps, NB_E_SOLVER). Far from t = 0 the steppers' stage times round to t's grid,
 * and the backward integration loses accuracy: y' = -p y over 4 time units after t0 = 1e10
 * gives the gradient to 1.5e-3 with rk8pd (4210 backward steps for 16), 1e-4 with bsimp;
 * integrate from t0 near 0 where f allows (shift t inside f). (Integrating in t - t0 fixed that
 * for autonomous f, but a review found bsimp's backward pass on a t-dependent f at t0 = 1e6 no
 * longer finishing, and it was taken back.) The
 * backward integration has its own stepper and tolerances. The result is the gradient of the
 * continuous problem to the accuracy of the integrations, not the exact derivative of the
 * forward integrator's arithmetic (docs/gsl.md shows the accuracy reached on test problems). */

typedef struct nb_ode_adjoint nb_ode_adjoint;

typedef struct nb_ode_adjoint_opts {
    const gsl_odeiv2_step_type *step;      /* forward stepper; NULL: gsl_odeiv2_step_rk8pd */
    const gsl_odeiv2_step_type *back_step; /* backward stepper; NULL: the forward one. Implicit
                                              steppers (msbdf, bsimp, rk*imp) get the exact
                                              jacobian of the backward system */
    double h0;                   /* first step size of both integrations (> 0; default 1e-6) */
    double epsabs, epsrel;       /* forward error control, gsl_odeiv2_control_y_new's (>= 0, not
                                    both 0; default 1e-10, 1e-10) */
    double back_epsabs, back_epsrel; /* the backward integration's (default 1e-10, 1e-10) */
    size_t max_steps;            /* steps of the forward and of the backward integration at
                                    most (default 10^6), and of each integration from a
                                    checkpoint at most min(max_steps, 10^4): more is
                                    NB_E_SOLVER (GSL_EMAXITER) */
    size_t stride;               /* keep the state every `stride` accepted forward steps (>= 1;
                                    default 1: every step). With stride s > 1 the solve keeps
                                    about steps / s + 2 states, and the vjp integrates each
                                    stretch of s steps again once, from its first state, when it
                                    first needs y in it (one more forward integration in all),
                                    holding the steps of the stretches the backward step in
                                    progress spans: about steps / s + 2 s states with a backward
                                    stepper whose steps are about as long as the forward ones,
                                    more when they span more stretches (bsimp's), least near
                                    s = sqrt(steps / 2) (CVODES's checkpoints every Nd steps) */
} nb_ode_adjoint_opts;

/* The defaults above. */
void nb_ode_adjoint_opts_init(nb_ode_adjoint_opts *o);

/* An adjoint solver for dy/dt = f(t, y; p) with dim components and np parameters (np may be 0:
 * the gradient with respect to y(t0) only). o: NULL for the defaults; copts: the options of its
 * context (its allocations and tape cap; NULL for the defaults). The GSL objects are made at the
 * first solve and kept. On failure *out is NULL: NB_E_ARG for a NULL out or f, dim 0, options out
 * of range, or sizes that overflow; NB_E_NOMEM. Free with nb_ode_adjoint_free. */
nb_status nb_ode_adjoint_new(nb_ode_adjoint **out, nb_odepfn f, void *env, size_t dim,
                             size_t np, const nb_ode_adjoint_opts *o, const nb_ctx_opts *copts);

/* Integrates from (t0, y0) with parameters p (np of them; NULL when np is 0) through the m
 * observation times t0 <= times[0] <= times[1] <= ... (all finite), writing y(times[j]) into
 * Y[j dim .. j dim + dim - 1] (Y may be NULL), and keeps the trajectory for nb_ode_adjoint_vjp
 * (it replaces the one kept before). m may be 0. Errors: NB_E_ARG for a NULL a, a NULL y0 or p
 * (np > 0) or times (m > 0), times out of order or not finite, a non-finite t0, y0 or p
 * (nothing integrated); NB_E_SOLVER when GSL's stepper fails, a step does not move t, the
 * solution stops being finite or max_steps is reached (nb_ode_adjoint_gsl_status tells which);
 * an error of f (its first status); NB_E_NOMEM.
 * On an error Y is NaN and no trajectory is kept. GSL's error handler may be called by GSL
 * itself (its default aborts: call gsl_set_error_handler_off() first, as for the adapters). */
nb_status nb_ode_adjoint_solve(nb_ode_adjoint *a, const double *p, double t0, const double *y0,
                               size_t m, const double *times, double *Y);

/* The gradient of L = sum_j sum_i W[j dim + i] y_i(times[j]) over the trajectory of the last
 * successful solve (W is m x dim, as Y; for a loss l(Y), W = dl/dY): dL/dy(t0) into gy0 (dim)
 * and dL/dp into gp (np); either may be NULL. Only f's derivatives are used here, not its value.
 * An adjoint that stops being finite (an infinite derivative of f along the trajectory, or a
 * backward integration that diverges) is NB_E_SOLVER with GSL_ERANGE, never a NaN gradient with
 * NB_OK. Errors: NB_E_ARG for a NULL a, a NULL W with m > 0
 * or a non-finite W, and when no trajectory is kept (no successful solve yet, or the last one
 * failed); NB_E_SOLVER, f's errors and
 * NB_E_NOMEM as above; on an error gy0 and gp are NaN. May be called any number of times for one
 * solve (with different W). */
nb_status nb_ode_adjoint_vjp(nb_ode_adjoint *a, const double *W, double *gy0, double *gp);

/* Steps the last solve and the last vjp took (either pointer may be NULL). */
void nb_ode_adjoint_steps(const nb_ode_adjoint *a, size_t *forward, size_t *backward);

/* The checkpoints the last successful solve kept (0 after a failure or before any solve), and
 * the integrations from a checkpoint the last vjp made. */
size_t nb_ode_adjoint_points(const nb_ode_adjoint *a);
size_t nb_ode_adjoint_dense(const nb_ode_adjoint *a);

/* The most states (t, y) held at once since the last successful solve: its checkpoints and,
 * with a stride > 1, the steps of the stretches integrated again that the backward step in
 * progress spans (0 after a failure or before any solve). Each is dim + 2 doubles. */
size_t nb_ode_adjoint_held(const nb_ode_adjoint *a);

/* The stretches the last vjp integrated again (0 with a stride of 1, after a solve, or when the
 * vjp refused its arguments): each once at most. The stretches a backward step spans are held
 * until the backward integration has passed below them (a step across checkpoints asks for y on
 * each of them again and again). */
size_t nb_ode_adjoint_retakes(const nb_ode_adjoint *a);

/* GSL's status of the last NB_E_SOLVER, else 0: GSL_EMAXITER when max_steps was reached,
 * GSL_ERANGE when the solution or the adjoint stopped being finite, GSL_EFAILED when a step did
 * not move t (a step size below t's resolution: raise h0), or the stepper's own status (msbdf
 * says GSL_FAILURE when its step shrinks below t's resolution, as it does backward on Robertson's
 * kinetics beyond t = 4e7, where bsimp backward works). */
int nb_ode_adjoint_gsl_status(const nb_ode_adjoint *a);

/* The object's context (nb_op_count, nb_ctx_bytes ...); it belongs to the object. */
nb_ctx *nb_ode_adjoint_ctx(nb_ode_adjoint *a);

/* Frees everything; NULL is a no-op. */
void nb_ode_adjoint_free(nb_ode_adjoint *a);

/* A one-dimensional adapter for f: R -> R (an nb_fn of one input): a gsl_function (the value)
 * and a gsl_function_fdf (value and derivative, by forward mode). */
nb_status nb_gsl_function_new(nb_gsl_adapter **out, nb_fn f, void *env,
                              const nb_ctx_opts *opts);
gsl_function *nb_gsl_function(nb_gsl_adapter *a);
gsl_function_fdf *nb_gsl_function_fdf(nb_gsl_adapter *a);

/* The first error of a callback (NB_OK if none), and clearing it. */
nb_status nb_gsl_adapter_status(const nb_gsl_adapter *a);
void nb_gsl_adapter_clear(nb_gsl_adapter *a);

/* The adapter's context (for nb_ctx_bytes, nb_op_count ...); it belongs to the adapter. */
nb_ctx *nb_gsl_adapter_ctx(nb_gsl_adapter *a);

/* Frees the adapter and its context; NULL is a no-op. */
void nb_gsl_adapter_free(nb_gsl_adapter *a);

#ifdef __cplusplus
}
#endif

#endif /* NABLA_GSL_H */
