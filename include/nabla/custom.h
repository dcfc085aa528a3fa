/* custom.h - ops of your own: a function the registry does not have (a GSL routine, a closed form
 * of your model, a black box with a known derivative), given as its value on doubles and its
 * partials written with ops on handles, usable like any registry op on every level kind of a
 * context (not on the context-free nb_dual numbers, nor in the expression language).
 *
 * The partials are written once, with the ops of nabla/var.h, and run at the levels below the
 * op's own, as the registry's rules do (docs/design.md, "Ops of your own"). So they are
 * themselves differentiated where a higher derivative is asked for: nested levels of every kind,
 * Hessians, Taylor coefficients of any order. A rule may call its own op or another custom op (the
 * derivative of a special function is often the function again); a rule that is NULL makes an op
 * whose derivative is not known, and differentiating it is the error NB_E_NODIFF - never a
 * wrong number. So an op whose first derivative is known only as another black box is the op,
 * with a rule that calls a second custom op, whose rule is NULL: first derivatives work, second
 * derivatives are NB_E_NODIFF.
 *
 * Example (docs/examples/custom_op.c has it complete): Dawson's integral from GSL, whose
 * derivative is F' = 1 - 2 x F; its derivatives of any order then follow:
 *
 *     static double dawson_value(const double *x, size_t k, void *env) {
 *         (void)k, (void)env;
 *         return gsl_sf_dawson(x[0]);
 *     }
 *     static nb_status dawson_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env);
 *     static const nb_custom_op dawson = {dawson_value, dawson_rule};
 *     static nb_status dawson_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
 *         nb_var F = nb_custom(c, &dawson, x, k, env);
 *         dfdx[0] = nb_sub(c, nb_const(1), nb_mul(c, nb_mul(c, nb_const(2), x[0]), F));
 *         return NB_OK;
 *     }
 */
#ifndef NABLA_CUSTOM_H
#define NABLA_CUSTOM_H

#include <stddef.h>

#include "nabla/check.h"
#include "nabla/ctx.h"
#include "nabla/status.h"
#include "nabla/var.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A custom op of k operands.
 *
 * value(x, k, env): the op's value at the doubles x[0 .. k-1]. Called only with plain doubles
 *   (the values of the operands at the lowest level). It may return NaN or +-inf as the math says
 *   (a domain error is NaN, as for the registry's ops); it must not call nabla on the context.
 *
 * rule(c, x, k, dfdx, env): writes the partial derivatives d op / d x_i into dfdx[0 .. k-1],
 *   computed with ops on c from the handles x[0 .. k-1] it is given (and constants, and handles
 *   of levels below the op's). Those handles are the operands' primals at the levels below: plain
 *   constants when the op runs at depth 1, handles of the lower levels when it is nested, and, on
 *   a Taylor level, the operands' own series. A rule must use them, not the handles the op was
 *   called with: a partial that is a handle of the op's own level or above is NB_E_ARG (a stale
 *   or foreign one NB_E_STALE or NB_E_FOREIGN), and so is a custom op the rule applies to a
 *   handle of the op's own level or of one between it and the partials' levels (at once: it
 *   would run the rule again without end). On a Taylor level the partials are series of that
 *   level: there a partial may be a node the rule made or one of the operands it was given, and
 *   any other node of the level is NB_E_ARG - but a partial the rule computed from a captured
 *   handle is a node it made, and cannot be told apart (nb_gradient of the same code refuses it). It returns NB_OK, or a status that the op records in the context (its
 *   result is then a NaN constant). dfdx comes filled with NaN constants, so a partial it forgets
 *   to write makes the first derivatives NaN, not 0 - but only those: a constant's own
 *   derivative is 0, so second and higher derivatives through it are 0 (silently either way:
 *   nb_custom_check below is the way to find it). A partial that is the constant 0 is never recorded, whatever the
 *   operand's tangent or adjoint (the strong-zero policy of nabla/dual.h); any other value,
 *   inf and NaN included, is multiplied as the registry's partials are.
 *   A rule may push and pop levels of its own (a partial computed by a driver such as
 *   nb_derivative_var) but must leave the level stack as it found it: a rule that pops a level
 *   it did not push, leaves one pushed or replaces one is NB_E_LEVEL (levels it left pushed are
 *   popped). Any error in a rule or value - this, the rule's status, an op of the rule failing -
 *   stops the op there: nothing is recorded and its result is a NaN constant.
 *   A rule that calls its own op on the handles it was given (F' in terms of F) gets the op's
 *   value back without a second evaluation: the rule runs once per level the op passes through.
 *   NULL: the op has no derivative; it may then be applied only where no operand is
 *   differentiated (constants, or a Taylor pass of order 0).
 *
 * The value and the rule must agree: nabla cannot see that they do, but nb_custom_check (below)
 * checks them against central differences, the rule's own derivatives too. The partials are computed as the rule is written, digits lost included: a
 * rule that cancels loses them at every order above it (Dawson's F' = 1 - 2 x F at x = 12, where
 * 2 x F is 1.0035: F' keeps 14 digits, F'' 12, F^(5) 6), and nb_taylor_derivatives_err cannot see
 * it (the error is in the value both of its passes share). env is the caller's, passed through
 * unchanged. value and rule run several times per application of the op - once per level it
 * passes through, and on a Taylor level of order K once per order (each one order shorter), with
 * more under levels nested above a Taylor level - so neither may have side effects that matter. */
typedef struct nb_custom_op {
    double (*value)(const double *x, size_t k, void *env);
    nb_status (*rule)(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env);
} nb_custom_op;

/* The custom op `op` applied to the handles x[0 .. k-1], bound like a registry op to the deepest
 * level owning an operand: one node there with k operands (zero partials dropped) on a reverse
 * level, one tangent on a forward level, K + 1 coefficients on a Taylor level (by the chain rule
 * on the rule's series, as the registry's ops without a recurrence: O(K^2) per partial, O(K^3) in
 * all when the rule calls the op, which recurses once per order), and a
 * constant when every operand is a constant. It counts one op at its level (nb_op_count); the
 * value and rule count theirs where they run. k is at least 1 and at most NB_CUSTOM_MAX_ARGS.
 * Errors are recorded in the context and give a NaN constant: NB_E_ARG for a NULL op, op->value
 * or x, k out of range, or a rule's partial of the wrong level (above); NB_E_STALE / NB_E_FOREIGN
 * for an operand as for any op; NB_E_NODIFF when op->rule is NULL and an operand is
 * differentiated; NB_E_LEVEL when the rule left the level stack changed (the levels it pushed
 * are popped); NB_E_NOMEM / NB_E_TAPE_FULL as for any op; and the rule's own status. With a NULL
 * context: a NaN constant. */
nb_var nb_custom(nb_ctx *c, const nb_custom_op *op, const nb_var *x, size_t k, void *env);

/* nb_check (nabla/check.h) of the op alone at the doubles x[0 .. k-1]: its rule against central
 * differences of its value (the first derivatives), and the rule differentiated once against
 * central differences of the rule (the second derivatives; not with opts->order 1) - so a rule
 * that gives the right numbers but is not differentiable as written (a partial computed on
 * doubles and returned as a constant) is caught there. Third and higher derivatives are not
 * checked: a rule calling another custom op whose rule is flat passes here; check that op too. The report is nb_check's (free it with
 * nb_check_report_free). Errors as nb_check's; NB_E_ARG for a NULL op, op->value or x, or k out of
 * range; NB_E_NODIFF for an op with a NULL rule. */
nb_status nb_custom_check(nb_ctx *c, const nb_custom_op *op, const double *x, size_t k,
                          void *env, const nb_check_opts *opts, nb_check_report *out);

/* The most operands of one custom op (2^20). Up to 8 need no allocation; more take a scratch of
 * 40 bytes per operand from the context's allocation hook for the call (NB_E_NOMEM if it fails). */
#define NB_CUSTOM_MAX_ARGS 1048576

#ifdef __cplusplus
}
#endif

#endif /* NABLA_CUSTOM_H */
