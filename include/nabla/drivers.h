/* drivers.h - derivatives of a user function written once against nb_ctx / nb_var.
 *
 * A scalar function has the signature of nb_fn: it reads its inputs x[0 .. n-1] (handles), may
 * branch and loop on their values, and returns its result as a handle, built with the ops of
 * nabla/var.h. The same function runs under a forward level (nb_jvp), a reverse level
 * (nb_gradient), and any nesting of them. A driver pushes its own level on top of whatever the
 * context holds and pops it before returning, so drivers can be called inside functions that are
 * themselves being differentiated.
 *
 * Every driver:
 *   - calls f only when its level and inputs were made (a full tape or a failed allocation is
 *     reported without calling f);
 *   - requires f to leave the level stack as it found it: a level pushed and not popped, or a
 *     level popped that f did not push, is NB_E_LEVEL; the driver then pops back to the depth it
 *     was called at and never below it (a level f popped cannot be restored);
 *   - on any error writes NaN (NaN constants for handles) into every output it was given
 *     (invalid arguments included), and leaves the error recorded in the context - except the
 *     handle outputs of the _var drivers when f popped a level below the driver's (those handles
 *     would belong to a popped level, and their arrays may have been that level's storage,
 *     which nb_ctx_trim frees): they are left unwritten; a count of
 *     inputs or outputs (n, m) beyond 2^32 - 2, which no level can index (node indices are
 *     32-bit), or whose products (m * n for a Jacobian, n * n for a Hessian) overflow, is
 *     NB_E_ARG with nothing written;
 *   - reads its inputs (x, v, u, seeds) before writing any output, so outputs may be the same
 *     arrays as inputs (y = x in a Jacobian, y = v in a vjp, g = x in a Hessian). Outputs must
 *     not overlap each other.
 * The same holds for nb_taylor and nb_derivatives (nabla/taylor.h); and wherever the library
 * calls f on plain values (the gradient check, the GSL adapters, plot samples, nb_loop_vjp's
 * first pass), an f that changes the depth is NB_E_LEVEL and the depth is restored.
 * c must not be NULL for any function of nabla/var.h; the drivers return NB_E_ARG for it.
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
 * recorded; the outputs are then NaN). NB_E_ARG for NULL c, f, x or g. */
nb_status nb_gradient(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x, double *fx,
                      double *g);

/* The directional derivative of f at x along v by one forward pass: f(x) into *fx (NULL to skip)
 * and sum_i df/dx_i v_i into *dfv. Errors as for nb_gradient. */
nb_status nb_jvp(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x, const double *v,
                 double *fx, double *dfv);

/* The derivative f'(x) of a function of one input (n = 1) by one forward pass: f(x) into *fx
 * (NULL to skip) and f'(x) into *dfx. Errors as for nb_gradient. */
nb_status nb_derivative(nb_ctx *c, nb_fn f, void *env, double x, double *fx, double *dfx);

/* The Hessian-vector product H v of f at x by forward-over-reverse (a forward level along v
 * around a reverse sweep), in one pass: f(x) into *fx, the gradient into g (both NULL to skip)
 * and H v into hv (n doubles). Errors as for nb_gradient. */
nb_status nb_hvp(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x, const double *v,
                 double *fx, double *g, double *hv);

/* The full n x n Hessian of f at x into H (row-major), by n Hessian-vector products along the
 * unit vectors; f(x) into *fx and the gradient into g (both NULL to skip). The result is exactly
 * symmetric where the computation is (H[i][j] and H[j][i] come from different passes and may
 * differ in the last bits when rounding differs). Where f is not twice differentiable (pow at a
 * zero base, a rule's singularity) the two passes can disagree beyond rounding: pow(x0, x1) at
 * x0 = 0 gives H[0][1] NaN and H[1][0] 0 for x1 = 0.5, -inf and 0 for x1 = 1 (for x1 > 1 both
 * are 0, the limit). Errors as for nb_gradient. */
nb_status nb_hessian(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x, double *fx,
                     double *g, double *H);

/* ---- nestable drivers on handles ----
 * The same derivatives with inputs and results as handles: x may be constants or handles of the
 * caller's levels, and the results are handles there, differentiable by enclosing levels. A
 * function may call these on its own inputs: the gradient of a function that computes a gradient
 * (reverse-over-reverse), a Hessian-vector product by hand (forward-over-reverse), and so on. The
 * driver pushes one level on top and pops it before returning. */

/* f(x) into *fx (NULL to skip) and the gradient into g[0 .. n-1]. */
nb_status nb_gradient_var(nb_ctx *c, nb_fn f, void *env, size_t n, const nb_var *x, nb_var *fx,
                          nb_var *g);

/* f(x) into *fx (NULL to skip) and the derivative along v into *dfv. */
nb_status nb_jvp_var(nb_ctx *c, nb_fn f, void *env, size_t n, const nb_var *x, const nb_var *v,
                     nb_var *fx, nb_var *dfv);

/* f(x) into *fx (NULL to skip) and f'(x) into *dfx, for a function of one input. */
nb_status nb_derivative_var(nb_ctx *c, nb_fn f, void *env, nb_var x, nb_var *fx, nb_var *dfx);

/* ---- vector functions ---- */

/* A function of n inputs with m outputs: it writes y[0 .. m-1] (n and m are known to the caller
 * and to env). Errors inside it are ops' errors, recorded in the context. */
typedef void (*nb_vfn)(nb_ctx *c, const nb_var *x, nb_var *y, void *env);

/* The vector-Jacobian product v^T J at x by one reverse sweep seeded with v (m doubles): f(x)
 * into y (m doubles, NULL to skip) and v^T J into out (n doubles). Errors as for nb_gradient. */
nb_status nb_vjp(nb_ctx *c, nb_vfn f, void *env, size_t n, size_t m, const double *x,
                 const double *v, double *y, double *out);

/* The Jacobian-vector product J u at x by one forward pass along u (n doubles): f(x) into y (m
 * doubles, NULL to skip) and J u into out (m doubles). Errors as for nb_gradient. */
nb_status nb_jvp_vec(nb_ctx *c, nb_vfn f, void *env, size_t n, size_t m, const double *x,
                     const double *u, double *y, double *out);

typedef enum nb_jac_mode {
    NB_JAC_AUTO = 0, /* reverse when m <= n, forward otherwise */
    NB_JAC_REVERSE,  /* one recording, m reverse sweeps: cheap when outputs are few */
    NB_JAC_FORWARD   /* n forward passes: cheap when inputs are few */
} nb_jac_mode;

/* The m x n Jacobian of f at x into jac (row-major: jac[i*n + j] = dy_i/dx_j), and f(x) into y
 * (m doubles, NULL to skip). The two modes give the same numbers up to rounding (reverse sums
 * contributions in the opposite order). NB_E_ARG for a NULL c, f, jac (with m*n > 0) or x
 * (with n > 0), or an unknown mode; otherwise errors as for nb_gradient. */
nb_status nb_jacobian(nb_ctx *c, nb_vfn f, void *env, size_t n, size_t m, const double *x,
                      nb_jac_mode mode, double *y, double *jac);

/* v^T J at x (handles; v has m entries, out n), f(x) into y (m handles, NULL to skip). */
nb_status nb_vjp_var(nb_ctx *c, nb_vfn f, void *env, size_t n, size_t m, const nb_var *x,
                     const nb_var *v, nb_var *y, nb_var *out);

/* The right-hand side of an ODE system dy/dt = f(t, y) with dim components: writes
 * dydt[0 .. dim-1] from t and y[0 .. dim-1] (dim is known to the caller and to env). Used by the
 * ODE adapter of nabla/gsl.h and by nb_ode_taylor (nabla/taylor.h). */
typedef void (*nb_odefn)(nb_ctx *c, nb_var t, const nb_var *y, nb_var *dydt, void *env);

/* ---- loops with checkpoints ---- */

/* Step i of a loop over a state of n variables: writes x_next[0 .. n-1] from x (n is known to
 * the caller and to env). Errors inside it are ops' errors, recorded in the context. */
typedef void (*nb_step_fn)(nb_ctx *c, size_t i, const nb_var *x, nb_var *x_next, void *env);

/* A loop of `steps` steps, x_{i+1} = step_i(x_i) from x_0 = x0 (n doubles): x_N into xn (NULL to
 * skip), and seed^T dx_N/dx_0 into x0bar (n doubles; NULL to skip the backward pass, seed then
 * unused) - the gradient of any scalar function of x_N with respect to x_0, given that
 * function's gradient at x_N as the seed. For a loss of x_N, call once with x0bar NULL for x_N,
 * take the loss's gradient there (nb_gradient), and call again with it as the seed
 * (docs/examples/loop_gradient.c); or let the last step (i == steps - 1) compute the loss into a
 * state component and seed that component with 1.
 * For loops whose whole tape would not fit (NB_E_TAPE_FULL, or simply too much memory): a first
 * pass on plain values keeps the state at every `interval`-th step (checkpoints; interval 0
 * means about sqrt(steps)), and the backward pass records each segment of `interval` steps from
 * its checkpoint on a tape of its own and sweeps it once (nb_vjp), last segment first. So step
 * runs twice for each index: first in order, on constant handles at the caller's depth, then
 * segment by segment from the last, under a reverse level that nb_vjp pushes. Memory: (ceil(steps
 * / s) + 3) n doubles, s the segment length used (interval, at most steps), and 2n handles from
 * the context's hook for the call (scratch, not counted in nb_ctx_bytes or against
 * max_tape_bytes), plus the tape of one segment; with x0bar NULL, 3n doubles and no tape. Time:
 * one evaluation of the loop on plain values more than a gradient through one tape.
 * Its inputs and outputs are doubles: called inside a function that is being differentiated, on
 * the values of that function's handles, it gives the right numbers, but they are constants to
 * the caller's levels - derivatives do not flow through it (there is no handle version). After a whole-
 * loop attempt failed with NB_E_TAPE_FULL, clear the error (nb_ctx_clear_error: a recorded error
 * is returned at once) and release the grown tape (nb_ctx_trim) before calling this.
 * Parameters that the steps use and whose gradient is wanted belong in the state (as components
 * that each step copies). The numbers are those of nb_vjp through the whole loop, up to the
 * order in which contributions are summed.
 * steps 0: xn = x0 and x0bar = seed; n 0: nothing is called. Errors as for nb_vjp (the step is
 * f; an error recorded before the call is returned, with NaN outputs); NB_E_ARG for a NULL step,
 * x0 with n > 0, seed with x0bar given, or sizes whose memory overflows; NB_E_NOMEM when the
 * checkpoints cannot be allocated. Inputs are read before outputs are written; xn and x0bar must
 * not overlap each other. */
nb_status nb_loop_vjp(nb_ctx *c, nb_step_fn step, void *env, size_t n, size_t steps,
                      const double *x0, const double *seed, size_t interval, double *xn,
                      double *x0bar);

/* ---- implicit functions ----
 * A solution x(theta) of F(x, theta) = 0: n equations in the n unknowns x and p parameters
 * theta, F written once as an nb_vfn of n + p inputs (x_0 .. x_{n-1}, then theta_0 ..
 * theta_{p-1}) and n outputs. Given a solution x (n doubles) that the caller found at theta (p
 * doubles) by any means (a GSL root finder, Newton, a fixed-point loop), the implicit function
 * theorem gives dx/dtheta = -A^{-1} B, A = dF/dx (n x n) and B = dF/dtheta (n x p), both from one
 * Jacobian of F at (x, theta) (nb_jacobian, NB_JAC_AUTO: n reverse sweeps of one recording), A
 * factored by LU with partial pivoting (in the context's memory; not GSL's, which allocates
 * outside it). The solver's iterations are
 * not differentiated, so the result is the derivative of the exact solution whatever solver
 * found x and however many steps it took - it is as accurate as x is a root (|F(x, theta)| is
 * not checked). Cost: the Jacobian, O(n^3) for the factorization, O(n^2) per column or seed;
 * for large sparse A, factor it yourself (nabla/sparse.h gives A's nonzeros).
 * The results are doubles: called inside a function that is being differentiated, they are
 * constants to the enclosing levels (no derivative flows through them). With n or p 0 there is
 * nothing to solve: F is not called, and the vjp's output is 0.
 * Errors: NB_E_SINGULAR when elimination meets an exactly zero pivot (an ill-conditioned A gives
 * a large, inaccurate result instead: near a fold of the solution curve the derivative is large
 * or does not exist; and an A that is singular only in exact arithmetic, whose rounded
 * elimination meets a pivot of rounding size, gives one of its solutions, not always a large
 * one: A = [[0.1, 0.3], [0.3, 0.9]], B = [-1, -3] gives (10, -0)); NB_E_ARG for NULL c or F, or NULL arrays with a nonzero size; errors of F
 * and NB_E_NOMEM as for nb_jacobian; an error recorded before the call is returned at once. On
 * any of these the output is NaN. Sizes no Jacobian could have (n + p beyond 2^32 - 2, or n (n +
 * p) doubles beyond the address space) are NB_E_ARG with nothing written. Inputs are read before
 * the output is written; scratch for the Jacobian (n (n + p) doubles) comes from the context's
 * hook for the call. */

/* dx/dtheta into dxdtheta (n x p, row-major: dxdtheta[i*p + j] = dx_i/dtheta_j). */
nb_status nb_implicit_jacobian(nb_ctx *c, nb_vfn F, void *env, size_t n, size_t p,
                               const double *x, const double *theta, double *dxdtheta);

/* The vector-Jacobian product xbar^T dx/dtheta into thetabar (p doubles): the gradient with
 * respect to theta of a loss whose gradient with respect to x is xbar (n doubles), by one solve
 * with A^T: thetabar = -B^T A^{-T} xbar. */
nb_status nb_implicit_vjp(nb_ctx *c, nb_vfn F, void *env, size_t n, size_t p, const double *x,
                          const double *theta, const double *xbar, double *thetabar);

/* A scalar implicit function x(theta), F(x, theta) = 0 with one unknown, as an op of any order: F
 * is an nb_fn of 1 + k inputs (x, then theta_0 .. theta_{k-1}) written once with nabla's ops,
 * solve gives the root on doubles (a gsl_root solver, Newton, a closed form), and nb_implicit
 * applies x(theta) to handles like a registry op - forward, reverse, nested to any depth, Taylor.
 * Its derivative is the implicit function theorem written with ops, dx/dtheta_j = -(dF/dtheta_j)
 * / (dF/dx) at (x(theta), theta), the partials by nb_gradient_var and x(theta) by the op itself,
 * so differentiating it again differentiates F's gradient and the op: every order follows
 * (docs/design.md, "Scalar implicit functions as ops"). solve runs on the operands' plain values:
 * once for any nesting of forward and reverse levels (the op's value is remembered while its rule
 * runs), K + 1 times on a Taylor level of order K (once per order); F's gradient once per
 * derivative level (d times for d nested levels, K times for order K). It is a custom op
 * (nabla/custom.h): the same rules and errors apply (NB_E_ARG for k out of range, the rule's
 * errors, ...), plus NB_E_ARG for a NULL def, F or solve. Where dF/dx is 0 the first derivative
 * is inf or NaN (the root has no derivative there) and the higher ones mean nothing (an F that
 * does not depend on x at all gives a first derivative +-inf, and higher ones that depend on how
 * F depends on theta: orders 1 to 4 are -inf, 0, 0, 0 for theta - 1 and -inf, -inf, 0, 0 for
 * theta^2 - 1, at 0.5). solve must return
 * the root the caller wants (the derivatives are those of the branch it returns) and must not
 * call nabla on the context; def is read during each call only. */
typedef struct nb_implicit_def {
    nb_fn F;
    double (*solve)(const double *theta, size_t k, void *env);
    void *env; /* passed to F and solve */
} nb_implicit_def;
nb_var nb_implicit(nb_ctx *c, const nb_implicit_def *def, const nb_var *theta, size_t k);

#ifdef __cplusplus
}
#endif

#endif /* NABLA_DRIVERS_H */
