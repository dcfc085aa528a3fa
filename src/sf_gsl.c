/* sf_gsl.c - Bessel, Airy and Lambert W functions from GSL, guarded so that GSL's process-global
 * error handler (which aborts by default) is never called.
 *
 * GSL reports underflow, overflow and domain errors through the handler before its _e functions
 * return, even inside the mathematical domain. A sweep of each function (x = +-1e-320 .. 1e308 on
 * a 0.005-decade grid, Jn for |n| up to 10^6, every report recorded by a handler that does not
 * abort) found these reports, and each is answered here before GSL is called:
 *   J1, Jn        underflow where |J_n(x)| < DBL_MIN: small |x|, or |x| below about 0.8 n
 *                 for large n (Jn at n = 50000 also reports at unrelated points: |n| <= 20000)
 *   Jn(n, NaN)    a report, where J0 and J1 return NaN quietly
 *   Y0, Y1        x < 0 and x = 0 (domain), x > 4.5e15 (GSL gives up on the phase), NaN;
 *                 Y1 overflows below 4.5e-308
 *   W0            x < -1/e (domain), x >= 1.7976e308 and +inf (no convergence), NaN; and it
 *                 loses digits near 0 (2.8e-12 relative at 1e-30, 0 instead of x below
 *                 1e-300): a series there, Newton above 1e300
 *   Ai, Ai'       underflow above x = 103.9; Bi, Bi' overflow above 104.17 (Bi while its value,
 *                 1.2e307, is still finite)
 * Two places where GSL reports nothing but loses accuracy are also answered here: Jn for large x
 * (GSL's value is off by 1e-9 relative at x = 1e8 and wrong in every digit at 1e16; here it comes
 * from J0 and J1 by the upward recurrence, stable for |n| < |x|), and the Airy functions for large
 * negative x, whose phase (2/3)|x|^(3/2) a double cannot carry (GSL's Ai is off by 2.4e-7 of its
 * amplitude at x = -1e6, 5e-5 at -1e8): NaN below x = -2^20.
 * tests/test_sf.c walks every function over a wide grid with GSL's aborting handler installed. */
#include <math.h>

#include <gsl/gsl_mode.h>
#include <gsl/gsl_sf_airy.h>
#include <gsl/gsl_sf_bessel.h>
#include <gsl/gsl_sf_lambert.h>

#include "nabla/ops.h"

#define NB_PI 3.14159265358979323846264338327950288

/* ---- Bessel functions of the first kind ---- */

/* Above this |x| (and |x| > |n|) Jn comes from the upward recurrence on GSL's J0 and J1. */
#define JN_RECURRENCE_X 1000.0

/* The large-x form of Y0 and Y1 (DLMF 10.17.4 to leading order; the next term is 1/(8x) relative,
 * below rounding for x > 1e15): sin and cos of the double x itself are exact in glibc, so
 * Y0 = (sin x - cos x) / sqrt(pi x) and Y1 = -(sin x + cos x) / sqrt(pi x) are accurate however
 * large x is. (GSL's own J0 and J1 agree with the same forms to 1e-16 out to 1e300.) */
static double y_large(double x, int one) {
    /* pi x overflows above DBL_MAX / pi (5.7e307): the root of each factor there */
    double s = sin(x), c = cos(x), d = x < 1e307 ? sqrt(NB_PI * x) : sqrt(NB_PI) * sqrt(x);
    return one ? -(s + c) / d : (s - c) / d;
}

double nb_sf_bessel_j0(double x) {
    if (isnan(x)) return x;
    if (isinf(x)) return 0.0; /* |J0(x)| <= sqrt(2/(pi |x|)) -> 0 */
    return gsl_sf_bessel_J0(x);
}

double nb_sf_bessel_j1(double x) {
    if (isnan(x)) return x;
    if (isinf(x)) return 0.0;
    if (fabs(x) < 1e-300) return 0.5 * x; /* J1 = x/2 - x^3/16 + ...: exact here; GSL reports
                                             underflow below 4.5e-308 */
    return gsl_sf_bessel_J1(x);
}

/* log|J_m(x)| to leading order for 0 < x < m (Debye, DLMF 10.19.3):
 * m (tanh a - a) - log(2 pi m tanh a) / 2, with x = m sech a. It is within a fraction of a unit of
 * the true value for every m >= 1 (exactly the small-x limit m log(x/2) - log m! up to Stirling's
 * error), and GSL reports underflow only where it is below -708. */
static double debye_log(double m, double x) {
    double a = acosh(m / x), t = tanh(a);
    return m * (t - a) - 0.5 * log(2 * NB_PI * m * t);
}

double nb_sf_bessel_jn(double x, int n) {
    if (isnan(x)) return x;
    if (n < -NB_SF_BESSEL_JN_MAX || n > NB_SF_BESSEL_JN_MAX) return NAN;
    /* J_{-n} = (-1)^n J_n and J_n(-x) = (-1)^n J_n(x): from here on m >= 0 and ax >= 0 */
    int m = n < 0 ? -n : n;
    double sign = 1.0;
    if ((m & 1) && ((n < 0) != (x < 0))) sign = -1.0;
    double ax = fabs(x);
    if (m == 0) return nb_sf_bessel_j0(ax);
    if (isinf(ax)) return 0.0;
    if (ax == 0) return 0.0;
    if (m == 1) return sign * nb_sf_bessel_j1(ax);
    const double dm = (double)m;
    if (ax < 1e-8) {
        /* (x/2)^m / m! (1 - x^2 / (4 (m + 1))): the next term is below rounding; it underflows
         * gracefully (to subnormals, then 0) instead of reporting */
        double corr = 1.0 - ax * ax / (4.0 * (dm + 1.0));
        if (m <= 170) /* pow to an ulp, m! exact to 22! and to an ulp beyond */
            return sign * (pow(0.5 * ax, dm) / tgamma(dm + 1.0)) * corr;
        return sign * exp(dm * log(0.5 * ax) - nb_sf_lgamma(dm + 1.0)) * corr;
    }
    if (ax < dm && debye_log(dm, ax) < -690.0) return sign * 0.0; /* below 1e-300: 0 */
    if (ax > JN_RECURRENCE_X && ax > dm) {
        double jm = nb_sf_bessel_j0(ax), j = nb_sf_bessel_j1(ax);
        for (int k = 1; k < m; k++) {
            double t = 2.0 * k / ax * j - jm;
            jm = j;
            j = t;
        }
        return sign * j;
    }
    return sign * gsl_sf_bessel_Jn(m, ax);
}

/* ---- Bessel functions of the second kind (x > 0) ---- */

double nb_sf_bessel_y0(double x) {
    if (isnan(x) || x < 0) return NAN;
    if (x == 0) return -INFINITY;
    if (isinf(x)) return 0.0;
    if (x > 1e15) return y_large(x, 0);
    return gsl_sf_bessel_Y0(x);
}

double nb_sf_bessel_y1(double x) {
    if (isnan(x) || x < 0) return NAN;
    if (x == 0) return -INFINITY;
    if (isinf(x)) return 0.0;
    if (x < 1e-300) return -2.0 / (NB_PI * x); /* the next term is x log(x) / pi: far below
                                                  rounding; -inf once 2/(pi x) overflows */
    if (x > 1e15) return y_large(x, 1);
    return gsl_sf_bessel_Y1(x);
}

/* ---- Lambert W, principal branch ---- */

double nb_sf_lambert_w0(double x) {
    if (isnan(x)) return x;
    /* -1/e rounded to the nearest double, 1.2e-17 below -1/e, stands for -1/e (W = -1, as GSL
     * has it: its x + 1/e is 0 there), as -exp(-1) is written; GSL reports a domain error for
     * the next double below */
    if (x < -0.36787944117144233) return NAN;
    if (x == INFINITY) return INFINITY;
    if (x > 1e300) {
        /* GSL's iteration reports no convergence from x = 1.79761528e308 up to DBL_MAX: Newton
         * on w + log w = log x from the asymptotic start L1 - L2 + L2 / L1 (Corless et al. 1996,
         * eq. 4.19), which is already within 1e-5 here; three steps reach rounding */
        double l1 = log(x), l2 = log(l1), w = l1 - l2 + l2 / l1;
        for (int k = 0; k < 3; k++) w -= (w + log(w) - l1) / (1.0 + 1.0 / w);
        return w;
    }
    if (fabs(x) < 1e-3) {
        /* GSL's W0 loses digits near 0 (2.8e-12 relative at 1e-30, and 0 below about 1e-300):
         * the series sum (-n)^(n-1) x^n / n! to n = 7; the next term is 52 x^8, below rounding */
        static const double c[7] = {1.0, -1.0, 1.5, -8.0 / 3.0, 125.0 / 24.0, -54.0 / 5.0,
                                    117649.0 / 5040.0};
        double s = c[6];
        for (int k = 5; k >= 0; k--) s = s * x + c[k];
        return x * s;
    }
    return gsl_sf_lambert_W0(x);
}

/* ---- Airy functions ---- */

/* Below this x the phase (2/3)|x|^(3/2) > 7e8 is not carried by a double: NaN. */
#define AIRY_MIN_X (-1048576.0)
/* From this x on the asymptotic series (DLMF 9.7.5-9.7.8) is used: zeta = (2/3) x^(3/2) >= 666,
 * where the terms fall below rounding by k = 5. */
#define AIRY_ASYMPTOTIC_X 100.0

/* sum_k (+-1)^k c_k / zeta^k, with c_k = u_k (DLMF 9.7.2) or v_k = -(6k+1)/(6k-1) u_k, where
 * u_k = (2k+1)(2k+3)...(6k-1) / (216^k k!). */
static double airy_series(double zeta, int alternate, int v) {
    double sum = 1.0, u = 1.0, p = 1.0;
    for (int k = 1; k <= 8; k++) {
        /* u_k = u_{k-1} (6k-5)(6k-3)(6k-1) / ((2k-1) 216 k) */
        u *= (6.0 * k - 5) * (6.0 * k - 3) * (6.0 * k - 1) / ((2.0 * k - 1) * 216.0 * k);
        p /= zeta;
        double c = v ? -(6.0 * k + 1) / (6.0 * k - 1) * u : u;
        double term = (alternate && (k & 1)) ? -c * p : c * p;
        sum += term;
        if (fabs(term) < 1e-17 * fabs(sum)) break;
    }
    return sum;
}

/* Ai, Bi, Ai', Bi' for x >= AIRY_ASYMPTOTIC_X, in logs so that they underflow to 0 and overflow to
 * inf as IEEE does, never through an intermediate inf * 0. */
static double airy_large(double x, int bi, int deriv) {
    if (x == INFINITY) return bi ? INFINITY : (deriv ? -0.0 : 0.0);
    double zeta = 2.0 / 3.0 * x * sqrt(x), q = 0.25 * log(x);
    double lead = bi ? zeta - 0.5 * log(NB_PI) : -zeta - 0.5 * log(4.0 * NB_PI);
    double s = airy_series(zeta, !bi, deriv);
    double r = exp(lead + (deriv ? q : -q)) * s;
    return deriv && !bi ? -r : r;
}

static const gsl_mode_t airy_mode = GSL_PREC_DOUBLE;

double nb_sf_airy_ai(double x) {
    if (isnan(x) || x < AIRY_MIN_X) return NAN;
    if (x >= AIRY_ASYMPTOTIC_X) return airy_large(x, 0, 0);
    return gsl_sf_airy_Ai(x, airy_mode);
}

double nb_sf_airy_bi(double x) {
    if (isnan(x) || x < AIRY_MIN_X) return NAN;
    if (x >= AIRY_ASYMPTOTIC_X) return airy_large(x, 1, 0);
    return gsl_sf_airy_Bi(x, airy_mode);
}

double nb_sf_airy_ai_deriv(double x) {
    if (isnan(x) || x < AIRY_MIN_X) return NAN;
    if (x >= AIRY_ASYMPTOTIC_X) return airy_large(x, 0, 1);
    return gsl_sf_airy_Ai_deriv(x, airy_mode);
}

double nb_sf_airy_bi_deriv(double x) {
    if (isnan(x) || x < AIRY_MIN_X) return NAN;
    if (x >= AIRY_ASYMPTOTIC_X) return airy_large(x, 1, 1);
    return gsl_sf_airy_Bi_deriv(x, airy_mode);
}
