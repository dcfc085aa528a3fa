/* sf.c - the special functions the registry needs (lgamma, digamma, polygamma), guarded so that
 * GSL's process-global error handler, which aborts by default, is never called.
 *
 * GSL reports underflow and overflow as errors even inside the mathematical domain
 * (gsl_sf_psi_n(1, 1e-200) overflows, gsl_sf_psi_n(3, 1e100) underflows although the value 2e-300
 * is a normal double), and each report goes through the handler before the _e function returns.
 * So GSL is only called inside a box where a sweep (n = 1..100, x = 1e-6..1e6 on a 0.0005-decade
 * grid, |log psi| < 300) showed no report; tests/test_sf.c walks a wider grid with GSL's aborting
 * handler installed. Outside the box the value is computed here, in log scale, from the series
 * definition; that path is accurate to about |log psi| * 1e-16 relative.
 */
#define _DEFAULT_SOURCE /* lgamma_r: glibc declares it only under this; plain lgamma races on signgam */
#include <math.h>
#include <string.h>

#include <gsl/gsl_sf_psi.h>

#include "nabla/ops.h"

double nb_sf_lgamma(double x) {
    int sign;
    return lgamma_r(x, &sign);
}

static int is_pole(double x) { return x <= 0 && x == floor(x); }

/* cot(pi x) for x not an integer, from x's distance r to the nearest integer (exact: |r| <= 1/2)
 * as cos(pi r) / sin(pi r), with cos(pi r) = sin(pi (1/2 - |r|)) so that a half-integer gives
 * exactly 0. Accurate for any x: pi x itself is never formed. */
static double cot_pi(double x) {
    double r = x - nearbyint(x);
    double ar = fabs(r);
    double c = sin(M_PI * (0.5 - ar)) / sin(M_PI * ar);
    return r < 0 ? -c : c;
}

double nb_sf_digamma(double x) {
    if (isnan(x) || is_pole(x)) return NAN; /* -inf is a limit of poles: NaN too */
    if (x == INFINITY) return INFINITY;
    /* gsl_sf_psi reports nothing for any other finite double (checked down to 1e-320 and at
     * +-1e300), so it is called directly for x > 0. For x < 0 its reflection loses digits as |x|
     * grows (relative error 4.8e-6 at -1e12 - 0.3, median 1.4e-14 over random x in (-1e14, 0));
     * psi(x) = psi(1 - x) - pi cot(pi x) (DLMF 5.5.4) with cot_pi is good to a few ulps (median
     * 1e-16) except next to psi's own zeros, where any formula cancels. */
    if (x < 0) return gsl_sf_psi(1.0 - x) - M_PI * cot_pi(x);
    return gsl_sf_psi(x);
}

/* B_2j / (2j)!, j = 1..10, for the Euler-Maclaurin tail of the polygamma series. */
static const double bern_over_fact[10] = {
    1.0 / 12.0,
    -1.0 / 720.0,
    1.0 / 30240.0,
    -1.0 / 1209600.0,
    1.0 / 47900160.0,
    -691.0 / 1307674368000.0,
    1.0 / 74724249600.0,
    -3617.0 / 10670622842880000.0,
    43867.0 / 5109094217170944000.0,
    -174611.0 / 802857662698291200000.0,
};

/* log of S = sum_{k>=0} (x+k)^-(n+1) for x > 0, n >= 1, written as x^-(n+1) * T with
 * T = sum_k (x/(x+k))^(n+1) >= 1 so that nothing overflows. The first m terms are summed; the
 * rest is the Euler-Maclaurin tail at z = x + m >= n + 20, where its terms shrink like
 * (n / 2 pi z)^2j: ten Bernoulli terms leave an error far below 1e-17 T. The direct terms decay at
 * least geometrically once k > 0 (ratio <= exp(-(n+1)/(n+21))), so the loop stops when a term
 * falls below 1e-20 T. */
static double log_zeta_sum(double x, int n) {
    const double np1 = (double)n + 1.0;
    double m = ceil((double)n + 20.0 - x);
    if (m < 0) m = 0;
    double t = 0.0;
    double k;
    for (k = 0; k < m; k++) {
        double term = exp(-np1 * log1p(k / x));
        t += term;
        if (term < 1e-20 * t) return np1 * -log(x) + log(t);
    }
    double z = x + m;
    double tail = z / (double)n + 0.5;
    double rising = np1; /* (n+1)(n+2)...(n+2j-1) */
    double zpow = z;     /* z^(2j-1) */
    for (int j = 0; j < 10; j++) {
        tail += bern_over_fact[j] * rising / zpow;
        rising *= (np1 + 2.0 * j + 1.0) * (np1 + 2.0 * j + 2.0);
        zpow *= z * z;
    }
    t += exp(-np1 * log1p(m / x)) * tail;
    return np1 * -log(x) + log(t);
}

/* psi^(n)(x) = (-1)^(n+1) n! S(x, n) for x > 0, n >= 1, without GSL. */
static double psi_n_series(double x, int n) {
    double sign = (n % 2) ? 1.0 : -1.0;
    return sign * exp(nb_sf_lgamma((double)n + 1.0) + log_zeta_sum(x, n));
}

static double psi_n_positive(double x, int n) {
    if (x == INFINITY) return (n % 2) ? 0.0 : -0.0;
    double logm = nb_sf_lgamma((double)n + 1.0) - (double)n * log(x) + log(1.0 / x + 1.0 / (double)n);
    if (n <= 100 && x >= 1e-6 && x <= 1e6 && logm < 300 && logm > -300) return gsl_sf_psi_n(n, x);
    return psi_n_series(x, n);
}

/* The reflection formula for x < 0 (not an integer), orders 1 .. REFLECT_MAX_N:
 *     psi^(n)(x) = (-1)^n psi^(n)(1 - x) - pi^(n+1) cot^(n)(pi x),
 * differentiated n times from psi(1 - x) - psi(x) = pi cot(pi x) (DLMF 5.5.4). The upward shift
 * psi^(n)(x) = psi^(n)(x + m) - ... adds n! (x + k)^-(n+1) over k, terms of both signs that cancel:
 * at x = -2.5 those at -0.5 and 0.5 are 3^(n+1) times the result, and psi^(50)(-2.5) came out
 * 6e40 for -5.4e36. Here the terms that cancel are those of cot, in closed form:
 * cot^(n)(y) = P_n(cot y) with P_0(c) = c, P_(k+1)(c) = -(1 + c^2) P_k'(c), whose coefficients
 * all have the sign (-1)^n and only powers of the parity of n + 1 - so P_n(c) is a sum of terms
 * of one sign, and it is exactly 0 at c = 0 for even n. The recurrence runs on
 * R_k = pi^(k+1) P_k / k! (R_(k+1) = -pi (1 + c^2) R_k' / (k + 1)), whose coefficients stay below
 * about 2^k, and the result is n! R_n(c): P_n's own coefficients overflow from n = 160 on, and
 * inf * 0 made every half-integer NaN. cot(pi x) comes from cot_pi. Beyond REFLECT_MAX_N, n!
 * overflows. */
enum { REFLECT_MAX_N = 170 };
static double psi_n_reflect(double x, int n) {
    const double c = cot_pi(x);
    if (isinf(c)) {
        /* |x| below about 1.8e-309: psi^(n)(x) ~ (-1)^(n+1) n! / x^(n+1) overflows (+inf for
         * x -> 0-, every n); the polynomial below would give inf * 0 = NaN */
        const double r = x - nearbyint(x);
        return (n % 2 || r < 0) ? (double)INFINITY : -(double)INFINITY;
    }
    double p[REFLECT_MAX_N + 2], q[REFLECT_MAX_N + 2];
    memset(p, 0, sizeof p);
    p[1] = M_PI; /* R_0 = pi c */
    double fact = 1; /* n! */
    for (int k = 0; k < n; k++) {
        /* q = R_k', degree k; R_(k+1) = -pi (q + c^2 q) / (k + 1), degree k + 2 */
        for (int j = 0; j <= k; j++) q[j] = (double)(j + 1) * p[j + 1];
        const double s = -M_PI / (double)(k + 1);
        for (int j = 0; j <= k + 2; j++) p[j] = s * ((j <= k ? q[j] : 0) + (j >= 2 ? q[j - 2] : 0));
        fact *= (double)(k + 1);
    }
    double v = 0;
    for (int j = n + 1; j >= 0; j--) v = v * c + p[j];
    double sign_n = (n % 2) ? -1.0 : 1.0; /* (-1)^n */
    return sign_n * psi_n_positive(1.0 - x, n) - fact * v;
}

/* The reflection formula for x < 0 (not an integer) and n > REFLECT_MAX_N, where n! overflows:
 * with pi cot(pi x) = sum_k 1 / (x - k) (DLMF 4.22.3), differentiated n times,
 *     psi^(n)(x) = (-1)^n [psi^(n)(1 - x) - n! sum_k (x - k)^-(n+1)],
 * and for n > 170 the sum is the poles nearest x to the last bit: with r = x - floor x, the pair
 * at distances r + j and 1 - r + j (signs +1 and (-1)^(n+1)) for j = 0 .. 8, the terms beyond
 * below (1/2 / 17/2)^171 of the nearest. Each term is scaled by the nearest distance d first and
 * the sum by n! d^-(n+1) in logs, so nothing overflows unless the result does; at a half-integer
 * with n even the pairs cancel exactly, as cot^(n) vanishes there (psi^(172)(-2.5) =
 * psi^(172)(3.5)). It replaced the upward shift psi^(n)(x + m) - (-1)^n n! sum (x + k)^-(n+1),
 * whose terms cancel: inf - inf, NaN, at -2.5 (a review), and for large finite terms 64 orders
 * of magnitude lost between psi^(n)(x + m) and the sum. */
static double psi_n_reflect_large(double x, int n) {
    const double r = x - floor(x), np1 = (double)n + 1.0, d = fmin(r, 1.0 - r);
    const double odd = (n + 1) % 2 ? -1.0 : 1.0; /* (-1)^(n+1): the sign of the negative side */
    double sum = 0;
    for (int j = 8; j >= 0; j--) { /* (smallest first; each pair together) */
        const double a = exp(-np1 * log((r + j) / d)), b = exp(-np1 * log((1.0 - r + j) / d));
        sum += a + odd * b;
    }
    double t = 0; /* n! sum_k (x - k)^-(n+1) */
    if (sum != 0)
        t = copysign(exp(nb_sf_lgamma(np1) - np1 * log(d) + log(fabs(sum))), sum);
    const double sign_n = (n % 2) ? -1.0 : 1.0; /* (-1)^n */
    /* |t| exceeds |psi^(n)(1 - x)| by 2^(n+1) at least when it is not 0: where t overflows,
     * psi^(n)(1 - x) may too, and inf - inf was NaN (psi^(171)(-0.001), a review) */
    if (isinf(t)) return -sign_n * t;
    return sign_n * (psi_n_positive(1.0 - x, n) - t);
}

double nb_sf_psi_n(double x, int n) {
    if (n < 0 || isnan(x) || is_pole(x)) return NAN;
    if (n == 0) return nb_sf_digamma(x);
    if (x > 0) return psi_n_positive(x, n);
    if (n <= REFLECT_MAX_N) return psi_n_reflect(x, n);
    return psi_n_reflect_large(x, n);
}
