/* ops.h - the op registry as C: op ids, op metadata and the plain double primal of every op.
 *
 * The ops themselves are declared once, in nabla/ops.def; everything here is expanded from it.
 * Thread safety: everything here is pure or reads constant tables.
 */
#ifndef NABLA_OPS_H
#define NABLA_OPS_H

#include <math.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Constants the rules use. Strict C11 has no M_PI and friends. */
#define NB_PI 3.14159265358979323846264338327950288
#define NB_2_SQRTPI 1.12837916709551257389615890312154517 /* 2/sqrt(pi) */
#define NB_LOG2E 1.44269504088896340735992468100189214    /* 1/ln 2 */
#define NB_LOG10E 0.434294481903251827651128918916605082  /* 1/ln 10 */

/* Op ids, in registry order. NB_OP_COUNT is the number of ops. */
typedef enum nb_op {
#define NB_OP1(name_, ...) NB_OP_##name_,
#define NB_OP2(name_, ...) NB_OP_##name_,
#define NB_OPI(name_, ...) NB_OP_##name_,
#define NB_RED1(name_, ...) NB_OP_##name_,
#define NB_RED2(name_, ...) NB_OP_##name_,
#include "nabla/ops.def"
#undef NB_OP1
#undef NB_OP2
#undef NB_OPI
#undef NB_RED1
#undef NB_RED2
    NB_OP_COUNT
} nb_op;

/* What the registry says about one op. All strings are static; rule texts are the registry's
 * rule-algebra source text (e.g. "COS(X)"). */
typedef struct nb_op_info {
    const char *name;    /* C name: "sin", "add", "psi_n" */
    const char *lang;    /* name in the expression language, or NULL for internal ops */
    int arity;           /* number of double operands: 1 or 2; for a reduction, the number of
                            vectors (1: x, 2: x and y) */
    int reduction;       /* 1 for a reduction over n elements (sum, dot, norm, sumsq) */
    int has_param;       /* 1 when the op also takes an int parameter n */
    int nmin, nmax;      /* the parameter's range when has_param (the expression language takes
                            at most NB_PARAM_LANG_MAX in magnitude) */
    const char *primal;  /* the primal as C source text */
    const char *rule[2]; /* the partials as rule-algebra text; rule[1] is NULL for arity 1 */
    const char *domain;  /* where the op is defined */
    const char *nondiff; /* the derivative at non-differentiable points */
} nb_op_info;

/* The registry row of `op`, or NULL when op is not an op id (out of range). */
const nb_op_info *nb_op_get(nb_op op);

/* The op whose C name is `name` ("sin", "powi"); -1 when there is none or name is NULL. */
int nb_op_find(const char *name);

/* The op whose expression-language name is `name` ("sin", "polygamma"); -1 when none, when the
 * op is internal, or when name is NULL. */
int nb_op_find_lang(const char *name);

/* Special functions the registry uses, computed without ever calling GSL's error handler: at a
 * pole, outside the domain or where GSL would report underflow or overflow, they return the
 * limiting value (0, +-inf) or NaN themselves. Thread-safe (lgamma_r, not lgamma).
 *   nb_sf_lgamma(x)   log|Gamma(x)|, for negative x too; +inf at the poles 0, -1, -2, ...
 *   nb_sf_digamma(x)  psi(x) = d/dx log|Gamma(x)|; NaN at the poles
 *   nb_sf_psi_n(x,n)  the polygamma function psi^(n)(x) for n >= 0 (n = 0 is digamma); also for
 *                     negative non-integer x: by the reflection formula, for 1 <= n <= 170 with
 *                     cot^(n) in closed form (to about 1e-13 relative: pi^(n+1) and
 *                     psi^(n)(1 - x) each carry n ulps), for larger n through the poles nearest
 *                     x (+-inf where n! / distance^(n+1) overflows, which is everywhere but at
 *                     half-integers with n even: psi^(172)(-2.5) = psi^(172)(3.5)); NaN at the
 *                     poles and for n < 0.
 *                     Accurate to a few ulps where GSL computes it (1 <= n <= 100,
 *                     1e-6 <= x <= 1e6, |log psi| < 300), elsewhere to about 1e-16 times the
 *                     larger of |log psi| and log n! relative (n! psi's sum is formed in logs:
 *                     2e-13 for psi^(400)(151.5), where log 400! = 2000). */
double nb_sf_lgamma(double x);
double nb_sf_digamma(double x);
double nb_sf_psi_n(double x, int n);

/* Bessel, Airy and Lambert W functions from GSL under the same guarantee: GSL's error handler is
 * never called; where GSL would report, the value is the limit (0, +-inf) or NaN, computed here.
 *   nb_sf_bessel_j0(x), nb_sf_bessel_j1(x)   J0, J1 for all x; 0 at +-inf
 *   nb_sf_bessel_jn(x, n)   J_n for |n| <= NB_SF_BESSEL_JN_MAX (NaN beyond), all x. Values below
 *                           about 1e-300 in magnitude (|x| well below |n|) are returned as 0. For
 *                           |x| > 1000 and |x| > |n| from J0 and J1 by the upward recurrence
 *                           (GSL's own Jn loses digits there: 1e-9 relative at x = 1e8)
 *   nb_sf_bessel_y0(x), nb_sf_bessel_y1(x)   Y0, Y1 for x > 0; -inf at 0, NaN for x < 0
 *   nb_sf_lambert_w0(x)     the principal branch W0 for x >= -1/e (W0(-1/e) = -1; the double
 *                           nearest -1/e, 1.2e-17 below it, counts as -1/e); NaN below
 *   nb_sf_airy_ai(x), nb_sf_airy_bi(x), nb_sf_airy_ai_deriv(x), nb_sf_airy_bi_deriv(x)
 *                           Ai, Bi, Ai', Bi' for x >= -2^20 (NaN below: the phase (2/3)|x|^1.5
 *                           is not carried by a double there); for x < 0 GSL's accuracy falls
 *                           with |x| as the phase grows (about 1e-12 of the amplitude at -1000,
 *                           2e-7 at -2^20); for x >= 100 from the asymptotic series (DLMF 9.7),
 *                           underflowing to 0 and overflowing to inf */
/* The largest |n| the expression language writes for a parameter (x^n, polygamma(n, x)), and the
 * headroom powi and psi_n take beyond it: their rules shift n by one per order of derivative, so
 * orders up to NB_TAYLOR_MAX_ORDER plus a full nesting stay in range (bessel_jn's range is GSL's,
 * NB_SF_BESSEL_JN_MAX, and its documented order limit is |n| + k <= that). */
#define NB_PARAM_LANG_MAX 1073741824
#define NB_PARAM_HEADROOM 2048
#define NB_SF_BESSEL_JN_MAX 20000
double nb_sf_bessel_j0(double x);
double nb_sf_bessel_j1(double x);
double nb_sf_bessel_jn(double x, int n);
double nb_sf_bessel_y0(double x);
double nb_sf_bessel_y1(double x);
double nb_sf_lambert_w0(double x);
double nb_sf_airy_ai(double x);
double nb_sf_airy_bi(double x);
double nb_sf_airy_ai_deriv(double x);
double nb_sf_airy_bi_deriv(double x);

/* The primals of the reductions: n elements of x (and y) spaced sx (sy) bytes apart, so that the
 * same loop reads double arrays, nb_dual arrays and nb_var arrays (whose value is their first
 * member). Plain left-to-right sums, as a C loop would compute them; the norm is scaled by the
 * largest |x_i| so that it neither overflows nor underflows. */
#include <stddef.h>
#include <string.h>
static inline double nb_red_at_(const void *base, size_t i, size_t stride) {
    double v;
    memcpy(&v, (const char *)base + i * stride, sizeof v);
    return v;
}
static inline double nb_red_sum(size_t n, const void *x, size_t sx, const void *y, size_t sy) {
    (void)y, (void)sy;
    double s = 0;
    for (size_t i = 0; i < n; i++) s += nb_red_at_(x, i, sx);
    return s;
}
static inline double nb_red_sumsq(size_t n, const void *x, size_t sx, const void *y, size_t sy) {
    (void)y, (void)sy;
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double v = nb_red_at_(x, i, sx);
        s += v * v;
    }
    return s;
}
static inline double nb_red_dot(size_t n, const void *x, size_t sx, const void *y, size_t sy) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += nb_red_at_(x, i, sx) * nb_red_at_(y, i, sy);
    return s;
}
static inline double nb_red_norm(size_t n, const void *x, size_t sx, const void *y, size_t sy) {
    (void)y, (void)sy;
    double scale = 0;
    for (size_t i = 0; i < n; i++) {
        double a = fabs(nb_red_at_(x, i, sx));
        if (a != a) return a; /* NaN */
        if (a > scale) scale = a;
    }
    if (scale == 0 || scale == (double)INFINITY) return scale;
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double v = nb_red_at_(x, i, sx) / scale;
        s += v * v;
    }
    return scale * sqrt(s);
}

/* The plain double primal of every op: nb_prim_sin(x), nb_prim_atan2(y, x), nb_prim_powi(x, n).
 * A parameterized op returns NaN when its parameter is outside [nmin, nmax]. */
#include "nabla/bits/rule_words.h"
#define NB_OP1(name_, lang_, primal_, ...) \
    static inline double nb_prim_##name_(double X) { return (primal_); }
#define NB_OP2(name_, lang_, primal_, ...) \
    static inline double nb_prim_##name_(double X, double Y) { return (primal_); }
#define NB_OPI(name_, lang_, nmin_, nmax_, primal_, ...)                  \
    static inline double nb_prim_##name_(double X, int N) {              \
        return (N < (nmin_) || N > (nmax_)) ? (double)NAN : (primal_);    \
    }
#define NB_RED1(...)
#define NB_RED2(...)
#include "nabla/ops.def"
#undef NB_OP1
#undef NB_OP2
#undef NB_OPI
#undef NB_RED1
#undef NB_RED2
#include "nabla/bits/rule_words_end.h"

/* The primal of `op` at x (and y, n where the op takes them; ignored otherwise). NaN for an op id
 * out of range and for a reduction. */
double nb_prim_apply(nb_op op, double x, double y, int n);

#ifdef __cplusplus
}
#endif

#endif /* NABLA_OPS_H */
