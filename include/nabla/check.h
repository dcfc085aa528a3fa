/* check.h - gradient checks: nabla's derivatives of a user function against GSL's central
 * differences, and its modes against each other (PyTorch's gradcheck and gradgradcheck).
 *
 * nb_check compares, at one point x of a function f of n inputs (an nb_fn, nabla/drivers.h):
 *   - the reverse-mode gradient (nb_gradient), component by component, and the forward-mode
 *     derivative along each unit vector (nb_jvp), with gsl_deriv_central of f along that input;
 *   - the second derivatives d2f/dx_i dx_j from forward over reverse (nb_hessian: one
 *     Hessian-vector product per column) with gsl_deriv_central of nabla's own reverse-mode
 *     df/dx_i along x_j. Those test the second-order rules given the first-order ones, which the
 *     gradient rows test.
 * nb_check_modes compares the modes with each other, to rounding: forward with reverse, Taylor
 * with reverse, the Hessian with second-order Taylor coefficients, and the Hessian's symmetry.
 *
 * The verdict rule for a derivative d (nabla's) against a central difference fd with GSL's error
 * estimate abserr, with s = max(|d|, |fd|) and S the largest such s among the entries of the
 * same order (first or second derivatives) of the report:
 *
 *     agree:    |d - fd| <= k abserr + rtol s + atol
 *     resolved: abserr   <= resolve s + scale_tol S + atol,  or d = fd = 0
 *
 * An entry passes when both hold and all three numbers are finite; otherwise it is DIFFER (not
 * agree), UNRESOLVED (agree only on a wide error bar) or NONFINITE. GSL's rounding does not widen
 * the resolution bound: where f is large against its derivative (1e11 + x at the default step)
 * abserr is rounding of order eps |f| / h, and excusing it (an earlier rule added the bound
 * round = 4 eps (F + s |x|) / hmin, kept in each entry) let a derivative off by a factor of 2
 * pass (a review); such an entry is UNRESOLVED, right or wrong, and a smaller |f| (subtract a
 * constant) or a larger step (opts.step) resolves it. A derivative that is exactly 0 with a
 * central difference of exactly 0 (f did not change along x_i at any point GSL took) is
 * resolved. The defaults, and why (measurements in docs/check.md):
 *   k = 4        abserr is an estimate: its truncation part is the error of the 3-point rule
 *                (larger than the 5-point result's), its rounding part assumes f correctly
 *                rounded. Over every registry op at its test points |d - fd| stays below 0.18 of
 *                4 abserr.
 *   rtol = 1e-7  rounding inside f that GSL does not model: with cancellation, f carries noise
 *                nu eps |f| with nu >> 1, GSL picks too small a step and understates its error;
 *                a central difference then reaches about (nu eps)^(2/3), which is 1e-7 for
 *                nu = 1e5. MGH 26 (Trigonometric) needs 7e-9 beyond 4 abserr. A wrong rule is
 *                off by O(1), a wrong constant by far more than 1e-7.
 *   atol = 0     no absolute floor of its own: an exactly zero derivative has an fd of 0 or of
 *                rounding size, which k abserr covers for agreement; for resolution only
 *                d = fd = 0 exactly passes on its own. At a stationary point (sin at pi/2:
 *                d = 6e-17, fd = 0 +- 8.5e-12; a minimiser of (x^2 + y^2 - 1)^2), or where
 *                every derivative of the order is 0, the entry is UNRESOLVED unless atol is at
 *                least GSL's error there (1e-10 covers these). Set it to the size below which
 *                derivatives do not matter to you.
 *   resolve = 1e-2  the central difference must know the derivative to 1%: at a jump within the
 *                stencil (sign at 0) GSL's estimate is 57% of fd, and the entry is
 *                UNRESOLVED rather than passing on a huge error bar.
 *   scale_tol = 1e-8  ... or to 1e-8 of the largest derivative of its order: a derivative that
 *                is zero by cancellation (a Hessian entry of MGH 4, Brown badly scaled) has an fd
 *                of pure rounding noise, which no relative test can resolve. The price: an
 *                input whose partial is 1e8 or more times smaller than another's is checked
 *                only to that scale - 1e11 x + y stop_gradient(y) passes with df/dy = 1.5
 *                against 3 (a review). Check such an input on its own (the others fixed), or
 *                set scale_tol to 0.
 * Cross-mode entries pass when |a - b| <= mode_rtol max(|a|, |b|, terms, S) + mode_atol, where
 * terms is the sum of the magnitudes of the Hessian entries a sum of them adds up (0 otherwise)
 * and S is the largest magnitude of the same order; or when both are NaN or both the same
 * infinity (the modes agree on the NaN policy too). Defaults: mode_rtol = 1e-12 (the modes sum
 * the same contributions in different orders and Taylor mode uses its own recurrences, a few
 * ulps per op; the largest difference measured is 1.2e-3 of this bound), mode_atol = 0.
 *
 * Cost: first order, one gradient, n jvps and at most 8 evaluations of f per input; second
 * order, the Hessian (n Hessian-vector products) and at most 4 + 4 n gradients per input
 * (gradients at the same step are shared between the components). nb_check_modes: one gradient,
 * n jvps, n Taylor passes, the Hessian and n (n - 1) / 2 more Taylor passes.
 *
 * The library prints nothing: the report is returned in a struct. f is evaluated on plain values
 * (constant handles) for the central differences, on the caller's context, whatever levels it
 * holds; it must be deterministic (the same inputs give the same value). GSL's error handler is
 * not used (gsl_deriv_central does not report). Thread safety: as for the context.
 */
#ifndef NABLA_CHECK_H
#define NABLA_CHECK_H

#include <stddef.h>

#include "nabla/ctx.h"
#include "nabla/drivers.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What an entry compares. value is the first mode named, ref the second. */
typedef enum nb_check_kind {
    NB_CHECK_GRAD = 1,    /* df/dx_i: reverse mode vs gsl_deriv_central of f along x_i */
    NB_CHECK_JVP,         /* df/dx_i: forward mode (jvp along e_i) vs the same central difference */
    NB_CHECK_HESS,        /* d2f/dx_i dx_j: forward over reverse (Hessian row i, column j) vs
                             gsl_deriv_central of the reverse-mode df/dx_i along x_j */
    NB_CHECK_FWD_REV,     /* df/dx_i: forward vs reverse */
    NB_CHECK_TAYLOR_REV,  /* df/dx_i: Taylor coefficient 1 along e_i vs reverse */
    NB_CHECK_TAYLOR_HESS, /* v^T H v for v = e_i (i == j) or e_i + e_j: 2 c_2 of a Taylor pass
                             along v vs the forward-over-reverse Hessian's entries */
    NB_CHECK_HESS_SYM     /* H[i][j] vs H[j][i] (i < j): two Hessian-vector products */
} nb_check_kind;

typedef enum nb_check_verdict {
    NB_CHECK_PASS = 0,
    NB_CHECK_DIFFER,     /* |value - ref| exceeds the tolerance */
    NB_CHECK_UNRESOLVED, /* within the tolerance, but the central difference is too uncertain
                            to confirm the derivative (abserr > res_tol): a jump or kink within
                            its step, or noise in f */
    NB_CHECK_NONFINITE   /* value, central difference or GSL's error estimate is NaN or
                            infinite (f undefined or singular within the step, or |f| near
                            DBL_MAX, where GSL's rounding estimate overflows); cross-mode
                            entries: one is not finite */
} nb_check_verdict;

typedef struct nb_check_entry {
    nb_check_kind kind;
    size_t i, j;        /* the inputs: df/dx_i (j = i), d2f/dx_i dx_j */
    double value;       /* nabla's derivative in the mode under test */
    double ref;         /* the reference: the central difference, or the other mode */
    double ref_err;     /* GSL's error estimate abserr (0 for cross-mode entries) */
    double ref_round;   /* 4 eps (F + s |x|) / hmin, a bound on GSL's rounding estimate for its
                           steps (F the largest |f| it evaluated, hmin its smallest distance
                           from x): how much of abserr rounding may be; not in the rule (0 for
                           cross-mode) */
    double diff;        /* |value - ref| (NaN when either is NaN; 0 for two modes that agree on
                           NaN or infinity) */
    double rel;         /* diff / max(|value|, |ref|), 0 when both are 0 */
    double tol;         /* the bound diff was held to (agree) */
    double res_tol;     /* the bound ref_err was held to (resolved; 0 for cross-mode) */
    nb_check_verdict verdict;
} nb_check_entry;

typedef struct nb_check_report {
    size_t n;                /* inputs */
    double fx;               /* f(x) */
    size_t count;            /* entries */
    nb_check_entry *entries; /* in order: for each i, GRAD then JVP; then HESS row by row
                                (nb_check); FWD_REV and TAYLOR_REV for each i, then TAYLOR_HESS
                                for i <= j and HESS_SYM for i < j (nb_check_modes) */
    size_t failed;           /* entries whose verdict is not NB_CHECK_PASS */
    int pass;                /* 1 when failed == 0 */
    /* private: the allocator that owns entries */
    nb_alloc_fn alloc_;
    void *alloc_ud_;
} nb_check_report;

typedef struct nb_check_opts {
    int order;        /* 1: first derivatives only; 2: also second derivatives (default) */
    double step;      /* GSL's initial step along x_i is step * max(1, |x_i|); default 1e-4
                         (GSL then balances truncation against rounding on its own). It assumes
                         f varies on the scale of x_i: far from 0 a function that varies faster
                         (sin at x = 1e9, where the step spans 10^4 periods) gets a central
                         difference near 0 with a small error estimate, and the entry is DIFFER
                         although nabla is right; give a smaller step there */
    double k;         /* default 4 */
    double rtol;      /* default 1e-7 */
    double atol;      /* default 0 */
    double resolve;   /* default 1e-2 */
    double scale_tol; /* default 1e-8 */
    double mode_rtol; /* default 1e-12 */
    double mode_atol; /* default 0 */
} nb_check_opts;

/* The defaults above. */
void nb_check_opts_init(nb_check_opts *opts);

/* Checks f's derivatives at x (n inputs) against central differences, into *out (opts NULL: the
 * defaults). The entries are allocated with c's allocation hook; free them with
 * nb_check_report_free. Returns NB_OK when the check ran - whether it passed is out->pass;
 * NB_E_ARG for a NULL c, f or out, a NULL x with n > 0, or opts with an order other than 1 or 2,
 * a step that is not positive and finite, or a tolerance that is negative or not finite (out is
 * then empty; recorded in c, as the drivers do); the context's error when one was recorded before
 * the call or by f (out is then empty, the error stays recorded); NB_E_NOMEM (recorded). A point
 * where f or a derivative is NaN or infinite is not an error: those entries are NONFINITE. */
nb_status nb_check(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x,
                   const nb_check_opts *opts, nb_check_report *out);

/* Checks that forward, reverse and Taylor modes agree at x, to rounding (mode_rtol, mode_atol;
 * opts->order 1 skips the second derivatives). Returns and allocates as nb_check. */
nb_status nb_check_modes(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x,
                         const nb_check_opts *opts, nb_check_report *out);

/* Frees the entries through the allocation hook (and its ud) of the context that made them - the
 * context itself may already be freed - and empties the report; NULL, or a report that holds
 * none, is a no-op. */
void nb_check_report_free(nb_check_report *r);

/* Static names for messages: "reverse", "forward", "forward over reverse", "forward vs reverse",
 * "Taylor vs reverse", "Taylor vs Hessian", "Hessian symmetry"; "ok", "DIFFER", "UNRESOLVED",
 * "NONFINITE". "?" for values out of range. */
const char *nb_check_kind_name(nb_check_kind k);
const char *nb_check_verdict_name(nb_check_verdict v);

#ifdef __cplusplus
}
#endif

#endif /* NABLA_CHECK_H */
