/* test_sf.c - the special functions behind lgamma, digamma and polygamma: values against known
 * constants and GSL, and a sweep over a wide grid with GSL's default (aborting) error handler
 * installed, which completes only if the range guards keep every GSL call quiet. */
#include <criterion/criterion.h>
#include <float.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_psi.h>

#include "nabla/nabla.h"
#include "oracle.h"

Test(sf, known_values) {
    const double euler = 0.57721566490153286;
    cr_expect(close_to(nb_sf_digamma(1), -euler, 1e-15, 0));
    cr_expect(close_to(nb_sf_psi_n(1, 1), NB_PI * NB_PI / 6, 1e-15, 0));
    cr_expect(close_to(nb_sf_psi_n(0.5, 1), NB_PI * NB_PI / 2, 1e-15, 0));
    /* psi_1(-1/2) = psi_1(1/2) + 4 (one step of the recurrence) */
    cr_expect(close_to(nb_sf_psi_n(-0.5, 1), NB_PI * NB_PI / 2 + 4, 1e-14, 0),
              "got %.17g", nb_sf_psi_n(-0.5, 1));
    /* psi_2(1/2) = -14 zeta(3); psi_2(-1/2) = psi_2(1/2) + 16 */
    const double zeta3 = 1.2020569031595942854;
    cr_expect(close_to(nb_sf_psi_n(0.5, 2), -14 * zeta3, 1e-14, 0));
    cr_expect(close_to(nb_sf_psi_n(-0.5, 2), -14 * zeta3 + 16, 1e-13, 0),
              "got %.17g", nb_sf_psi_n(-0.5, 2));
    cr_expect(close_to(nb_sf_psi_n(-1.5, 3), gsl_sf_psi_n(3, 0.5) + 6 * (16 + 16.0 / 81),
                       1e-13, 0));
}

/* digamma at negative x far from 0, against mpmath (50 digits): GSL's own reflection lost up to
 * 4.8e-6 relative there; through psi(1 - x) - pi cot(pi x) it is a few ulps. */
Test(sf, digamma_far_left) {
    const struct {
        double x, psi;
    } ref[] = {{-1000000000000.3, 29.91278556698016762868427},
               {-1000000000.3, 23.00576722529116548300936},
               {-53545484.696298949, 15.56888600750472159714312},
               {-100.25, 7.754238959208645448412337},
               {-2.3, 3.317323157561822739114479},
               {-0.504, 0.0007420716047053968513313227}};
    for (size_t i = 0; i < sizeof ref / sizeof *ref; i++) {
        /* next to the zero at -0.50408 the cancellation of psi(1 - x) and pi cot(pi x) is
         * inherent: 2.7 / 7.4e-4 costs about 12 bits */
        const double rel = ref[i].x == -0.504 ? 1e-12 : 4e-16;
        cr_expect(close_to(nb_sf_digamma(ref[i].x), ref[i].psi, rel, 0), "psi(%.17g) = %.17g",
                  ref[i].x, nb_sf_digamma(ref[i].x));
    }
}

/* Next to 0 from below, where cot(pi x) overflows (|x| < 1.8e-309): psi^(n)(x) ~ n! / |x|^(n+1)
 * is +inf for every n (the reflection's polynomial gave inf * 0 = NaN); from above, (-1)^(n+1)
 * inf. */
Test(sf, polygamma_next_to_zero) {
    const double xs[2] = {-1e-310, -4.9e-324};
    for (int k = 0; k < 2; k++)
        for (int n = 0; n <= 4; n++) {
            double v = nb_sf_psi_n(xs[k], n);
            cr_expect(isinf(v) && v > 0, "psi_%d(%g) = %g", n, xs[k], v);
            double w = nb_sf_psi_n(-xs[k], n);
            cr_expect(isinf(w) && (w > 0) == (n % 2 == 1), "psi_%d(%g) = %g", n, -xs[k], w);
        }
}

Test(sf, poles_and_bad_arguments) {
    cr_expect(isnan(nb_sf_digamma(0)));
    cr_expect(isnan(nb_sf_digamma(-3)));
    cr_expect(isnan(nb_sf_digamma(-INFINITY)));
    cr_expect(isnan(nb_sf_digamma(NAN)));
    cr_expect(isinf(nb_sf_digamma(INFINITY)));
    cr_expect(isnan(nb_sf_psi_n(1, -1)));
    cr_expect(isnan(nb_sf_psi_n(-2, 1)));
    /* n > 170 at x < 0 (the reflection through the nearest poles): no range limit left */
    cr_expect(isinf(nb_sf_psi_n(-1e5 - 0.5, 171)) && nb_sf_psi_n(-1e5 - 0.5, 171) > 0);
    cr_expect(isinf(nb_sf_lgamma(0)));
    cr_expect(isinf(nb_sf_lgamma(-4)));
    cr_expect_eq(nb_sf_psi_n(INFINITY, 1), 0.0);
}

Test(sf, series_path_matches_gsl_across_the_box_edge) {
    /* Just outside GSL's box the value comes from our series; just inside from GSL. The two
     * sides of each edge must agree to the series' accuracy (|log psi| * 1e-16 relative). */
    const double edges[][2] = {{1e6, 1}, {1e6, 3}, {1e-6, 2}, {1e-6, 1}};
    for (int i = 0; i < 4; i++) {
        double x = edges[i][0];
        int n = (int)edges[i][1];
        double in = x > 1 ? x * (1 - 1e-12) : x * (1 + 1e-12);
        double out = x > 1 ? x * (1 + 1e-12) : x * (1 - 1e-12);
        double a = nb_sf_psi_n(in, n), b = nb_sf_psi_n(out, n);
        cr_expect(close_to(a, b, 1e-11, 0), "n=%d x=%g: %.17g vs %.17g", n, x, a, b);
    }
    /* n = 101 is outside the box everywhere: check the recurrence
     * psi^(n)(x+1) - psi^(n)(x) = (-1)^n n! x^-(n+1) at x = 60. */
    double x = 60, lhs = nb_sf_psi_n(x + 1, 101) - nb_sf_psi_n(x, 101);
    double rhs = -exp(lgamma(102.0) - 102 * log(x));
    cr_expect(close_to(lhs, rhs, 1e-11, 0), "%.17g vs %.17g", lhs, rhs);
    /* large x: psi^(n)(x) ~ (-1)^(n+1) (n-1)!/x^n (1 + n/(2x)) */
    x = 1e100;
    cr_expect(close_to(nb_sf_psi_n(x, 3), 2 / (x * x * x), 1e-13, 0));
    cr_expect(close_to(nb_sf_psi_n(1e-100, 1), 1e200, 1e-13, 0));
}

Test(sf, polygamma_of_high_order_at_negative_x) {
    /* n > 170 (n! overflows): psi^(n)(x) = (-1)^n [psi^(n)(1 - x) - n! sum_k (x - k)^-(n+1)].
     * At a half-integer with n even the sum vanishes (cot^(n) is 0 there), so psi^(n)(-2.5) =
     * psi^(n)(3.5); the upward shift it replaced gave NaN (inf - inf, a review) */
    const int even[] = {172, 200, 210};
    for (int i = 0; i < 3; i++) {
        const double a = nb_sf_psi_n(-2.5, even[i]), b = nb_sf_psi_n(3.5, even[i]);
        cr_expect(isfinite(a) && a == b, "n = %d: %.17g vs %.17g", even[i], a, b);
    }
    cr_expect(close_to(nb_sf_psi_n(-2.5, 172), -1.605221173187264e+217, 1e-13, 0));
    cr_expect(close_to(nb_sf_psi_n(-10.5, 180), nb_sf_psi_n(11.5, 180), 0, 0));
    /* elsewhere n! / (distance to the nearest pole)^(n+1) overflows: the sign of the limit,
     * (-1)^(n+1) n! (x + m)^-(n+1) next to the pole -m */
    /* (with psi^(n)(1 - x) overflowing too: -0.001, -0.3 at n = 200, n = 10^6; inf - inf was
     * NaN, a second review) */
    const double x[] = {-3.3, -10.25, -2.5, -0.7, -1e6 + 0.2, -0.001, -0.01, -0.3, -1.001, -2.5,
                        -2.3, -0.5};
    const int n[] = {200, 180, 171, 173, 301, 171, 172, 200, 200, 1000001, 1000000, (1 << 30) | 1};
    for (int i = 0; i < 12; i++) {
        const double near = nearbyint(x[i]), u = x[i] - near, v = nb_sf_psi_n(x[i], n[i]);
        /* (-1)^(n+1) u^-(n+1): the sign of u to the power n + 1, times (-1)^(n+1) */
        const double sign = ((n[i] + 1) % 2 ? -1.0 : 1.0) * ((n[i] + 1) % 2 && u < 0 ? -1.0 : 1.0);
        cr_expect(isinf(v) && (v > 0) == (sign > 0), "psi^(%d)(%g) = %g, sign %g", n[i], x[i], v,
                  sign);
    }
}

Test(sf, overflow_and_underflow_are_limits) {
    cr_expect(isinf(nb_sf_psi_n(1e-200, 2)) && nb_sf_psi_n(1e-200, 2) < 0);
    cr_expect(isinf(nb_sf_psi_n(1e-320, 1)));
    cr_expect_eq(nb_sf_psi_n(1e300, 2), 0.0);
    cr_expect(isinf(nb_sf_psi_n(1, 1000)));
    cr_expect(isinf(nb_sf_psi_n(0.5, 1073741824)));
}

/* The sweep: GSL's default handler aborts the process, so this test can only pass if no GSL
 * function ever reports an error. */
Test(sf, sweep_with_aborting_handler) {
    gsl_set_error_handler(NULL); /* the default: abort */
    const int ns[] = {0, 1, 2, 3, 4, 7, 20, 99, 100, 101, 170, 171, 500, 100000};
    unsigned long calls = 0;
    for (double e = -320; e <= 308; e += 0.25) {
        double mag = pow(10, e);
        double xs[] = {mag, -mag, -mag - 0.5, mag + 0.25};
        for (int s = 0; s < 4; s++) {
            double x = xs[s];
            volatile double v = nb_sf_lgamma(x) + nb_sf_digamma(x);
            (void)v;
            for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
                volatile double w = nb_sf_psi_n(x, ns[k]);
                (void)w;
                calls++;
            }
        }
    }
    cr_expect_gt(calls, 100000ul);
}

/* ---- Bessel, Lambert W and Airy (GSL behind range guards) ---- */

#include <gsl/gsl_deriv.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_mode.h>
#include <gsl/gsl_sf_airy.h>
#include <gsl/gsl_sf_bessel.h>
#include <gsl/gsl_sf_lambert.h>

struct op1 {
    nb_op op;
    int n;
};
static nb_var apply1(nb_ctx *c, const nb_var *x, void *env) {
    const struct op1 *o = env;
    return nb_apply(c, o->op, x[0], nb_const(0), o->n);
}
/* The second derivative as a handle (forward over forward), to be differentiated once more. */
static nb_var first_of(nb_ctx *c, const nb_var *x, void *env) {
    nb_var d;
    nb_derivative_var(c, apply1, env, x[0], NULL, &d);
    return d;
}
static nb_var second_of(nb_ctx *c, const nb_var *x, void *env) {
    nb_var d;
    nb_derivative_var(c, first_of, env, x[0], NULL, &d);
    return d;
}

static nb_ctx *sf_ctx(void) {
    nb_ctx *c = NULL;
    cr_assert_eq(nb_ctx_new(&c, NULL), NB_OK);
    return c;
}

/* J_n and Y_n for any integer n through GSL (negative orders by C_{-n} = (-1)^n C_n). */
static double gsl_jn(int n, double x) {
    return n < 0 ? ((-n) % 2 ? -1 : 1) * gsl_sf_bessel_Jn(-n, x) : gsl_sf_bessel_Jn(n, x);
}
static double gsl_yn(int n, double x) {
    return n < 0 ? ((-n) % 2 ? -1 : 1) * gsl_sf_bessel_Yn(-n, x) : gsl_sf_bessel_Yn(n, x);
}
/* C_n^(k)(x) = 2^-k sum_j (-1)^j binom(k, j) C_{n-k+2j}(x), DLMF 10.6.7, for J and Y alike. */
static double bessel_deriv(int y, int n, int k, double x) {
    double s = 0, b = 1;
    for (int j = 0; j <= k; j++) {
        double t = y ? gsl_yn(n - k + 2 * j, x) : gsl_jn(n - k + 2 * j, x);
        s += (j % 2 ? -b : b) * t;
        b = b * (k - j) / (j + 1);
    }
    return ldexp(s, -k);
}
/* W^(k) = e^(-kW) p_k(W) / (1 + W)^(2k-1), p_1 = 1, p_2 = -(W + 2), p_3 = 2W^2 + 8W + 9
 * (Corless, Gonnet, Hare, Jeffrey, Knuth, "On the Lambert W function", 1996, eq. 4.2-4.3). */
static double lambert_deriv(int k, double x) {
    double w = gsl_sf_lambert_W0(x);
    if (k == 0) return w;
    double p = k == 1 ? 1 : k == 2 ? -(w + 2) : 2 * w * w + 8 * w + 9;
    return exp(-k * w) * p / pow(1 + w, 2 * k - 1);
}
/* Ai^(k), Bi^(k) and of Ai', Bi' from Ai'' = x Ai (DLMF 9.2.1): f = Ai (deriv = 0) or Ai'
 * (deriv = 1); orders up to 3. */
static double airy_deriv(int bi, int deriv, int k, double x) {
    double a = bi ? gsl_sf_airy_Bi(x, GSL_PREC_DOUBLE) : gsl_sf_airy_Ai(x, GSL_PREC_DOUBLE);
    double ad = bi ? gsl_sf_airy_Bi_deriv(x, GSL_PREC_DOUBLE) : gsl_sf_airy_Ai_deriv(x, GSL_PREC_DOUBLE);
    /* derivatives of Ai: Ai, Ai', x Ai, Ai + x Ai', 2 Ai' + x^2 Ai */
    double d[5] = {a, ad, x * a, a + x * ad, 2 * ad + x * x * a};
    return d[k + deriv];
}

struct sf_case {
    const char *name;
    int n;            /* bessel_jn's order */
    double pts[4];
    int npts;
};
static double closed_form(const char *name, int n, int k, double x) {
    if (strcmp(name, "bessel_j0") == 0) return bessel_deriv(0, 0, k, x);
    if (strcmp(name, "bessel_j1") == 0) return bessel_deriv(0, 1, k, x);
    if (strcmp(name, "bessel_jn") == 0) return bessel_deriv(0, n, k, x);
    if (strcmp(name, "bessel_y0") == 0) return bessel_deriv(1, 0, k, x);
    if (strcmp(name, "bessel_y1") == 0) return bessel_deriv(1, 1, k, x);
    if (strcmp(name, "lambert_w0") == 0) return lambert_deriv(k, x);
    if (strcmp(name, "airy_ai") == 0) return airy_deriv(0, 0, k, x);
    if (strcmp(name, "airy_bi") == 0) return airy_deriv(1, 0, k, x);
    if (strcmp(name, "airy_ai_deriv") == 0) return airy_deriv(0, 1, k, x);
    return airy_deriv(1, 1, k, x);
}

static const struct sf_case sf_cases[] = {
    {"bessel_j0", 0, {-6.2, 0.0, 1.3, 45}, 4},
    {"bessel_j1", 0, {-6.2, 0.0, 1.3, 45}, 4},
    {"bessel_jn", 0, {-6.2, 0.0, 1.3, 45}, 4},
    {"bessel_jn", 3, {-6.2, 0.0, 1.3, 45}, 4},
    {"bessel_jn", -4, {-6.2, 0.0, 1.3, 45}, 4},
    {"bessel_jn", 30, {5, 28, 33, 90}, 4},
    {"bessel_y0", 0, {0.05, 1.3, 7.7, 45}, 4},
    {"bessel_y1", 0, {0.05, 1.3, 7.7, 45}, 4},
    {"lambert_w0", 0, {-0.35, 0.0, 1.3, 1e4}, 4},
    {"airy_ai", 0, {-30, -2.2, 0.0, 9}, 4},
    {"airy_bi", 0, {-30, -2.2, 0.0, 9}, 4},
    {"airy_ai_deriv", 0, {-30, -2.2, 0.0, 9}, 4},
    {"airy_bi_deriv", 0, {-30, -2.2, 0.0, 9}, 4},
};

struct deriv_slice {
    nb_ctx *c;
    struct op1 o;
    int k; /* the order differentiated by GSL */
};
static double nabla_kth(double x, void *p) {
    struct deriv_slice *s = p;
    double d[4];
    nb_derivatives(s->c, apply1, &s->o, x, s->k, d);
    return d[s->k];
}

/* Orders 1-3 against the closed forms (independent of the registry's rules: DLMF's sums of
 * J_{n-k+2j}, Corless et al.'s polynomials, Ai'' = x Ai) and against gsl_deriv_central of nabla's
 * own order below; Taylor, nested forward and reverse agree. The closed forms are sums of
 * oscillating terms: the tolerance is relative to the largest term's size (the sum's condition),
 * 1e-13 of it, and at least 1e-14 absolute. */
Test(special, derivatives_orders_1_to_3) {
    gsl_set_error_handler_off(); /* the oracles are plain GSL calls */
    nb_ctx *c = sf_ctx();
    for (size_t i = 0; i < sizeof sf_cases / sizeof sf_cases[0]; i++) {
        const struct sf_case *sc = &sf_cases[i];
        struct op1 o = {(nb_op)nb_op_find(sc->name), sc->n};
        cr_assert_geq((int)o.op, 0, "%s", sc->name);
        for (int p = 0; p < sc->npts; p++) {
            double x = sc->pts[p], tay[4], fx, d1, g, h, rev3;
            cr_assert_eq(nb_derivatives(c, apply1, &o, x, 3, tay), NB_OK);
            cr_assert_eq(nb_derivative(c, apply1, &o, x, &fx, &d1), NB_OK);
            cr_assert_eq(nb_hessian(c, apply1, &o, 1, &x, NULL, &g, &h), NB_OK);
            cr_assert_eq(nb_gradient(c, second_of, &o, 1, &x, NULL, &rev3), NB_OK);
            double nested[4] = {fx, d1, h, rev3}, revs[4] = {fx, g, h, rev3};
            cr_expect_eq(tay[0], nb_prim_apply(o.op, x, 0, o.n), "%s(%d, %g): the value", sc->name,
                         o.n, x);
            /* the value against GSL's own function (where the guards do not substitute) */
            double v0 = closed_form(sc->name, o.n, 0, x);
            cr_expect(close_to(tay[0], v0, 4 * DBL_EPSILON, 1e-300), "%s(n=%d, %g) = %.17g, GSL %.17g",
                      sc->name, o.n, x, tay[0], v0);
            for (int k = 1; k <= 3; k++) {
                double cf = closed_form(sc->name, o.n, k, x);
                double scale = fabs(cf);
                /* the size of the terms of the closed form */
                for (int j = 0; j <= k; j++) scale = fmax(scale, fabs(closed_form(sc->name, o.n, 0, x)));
                double tol = 1e-13 * scale + 1e-14;
                cr_expect(fabs(tay[k] - cf) <= tol, "%s(n=%d, x=%g) order %d: Taylor %.17g, closed form %.17g",
                          sc->name, o.n, x, k, tay[k], cf);
                cr_expect(close_to(nested[k], tay[k], 1e-13, 1e-14),
                          "%s(n=%d, x=%g) order %d: nested forward %.17g, Taylor %.17g", sc->name, o.n,
                          x, k, nested[k], tay[k]);
                cr_expect(close_to(revs[k], tay[k], 1e-13, 1e-14),
                          "%s(n=%d, x=%g) order %d: reverse %.17g, Taylor %.17g", sc->name, o.n, x, k,
                          revs[k], tay[k]);
                /* GSL's central difference of nabla's order k - 1 */
                struct deriv_slice s = {c, o, k - 1};
                gsl_function F = {nabla_kth, &s};
                double fd, err;
                gsl_deriv_central(&F, x, 1e-3 * fmax(1, fabs(x)) * (sc->n == 30 ? 1 : 1), &fd, &err);
                cr_expect(fabs(fd - tay[k]) <= 4 * err + 1e-8 * fmax(1, fabs(tay[k])),
                          "%s(n=%d, x=%g) order %d: nabla %.17g, GSL central difference %.17g (+- %.2g)",
                          sc->name, o.n, x, k, tay[k], fd, err);
            }
        }
    }
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_ctx_free(c);
}

/* Identities, each to a tolerance justified by the conditioning of its two sides. */
Test(special, identities) {
    gsl_set_error_handler_off();
    /* W(x) e^W(x) = x: W to a few ulps gives x (1 + (1 + W) eps'); 8 (1 + |W|) ulps */
    for (double e = -300; e <= 300; e += 0.37) {
        double xs[2] = {pow(10, e), -pow(10, e)};
        for (int s = 0; s < 2; s++) {
            double x = xs[s];
            if (x < -1 / M_E) continue;
            double w = nb_sf_lambert_w0(x);
            cr_expect(close_to(w * exp(w), x, 8 * DBL_EPSILON * (1 + fabs(w)), 0),
                      "W(%g) e^W = %.17g", x, w * exp(w));
        }
    }
    cr_expect_eq(nb_sf_lambert_w0(-0.36787944117144233), -1.0, "the branch point");
    cr_expect(isnan(nb_sf_lambert_w0(nextafter(-0.36787944117144233, -1))));
    /* J_{n-1} + J_{n+1} = (2n/x) J_n (DLMF 10.6.1): the two sides cancel, so the tolerance is
     * relative to |J_{n-1}| + |J_{n+1}| */
    const int ns[] = {-7, -1, 1, 2, 5, 17, 60};
    const double xs[] = {-40, -3.3, 0.2, 1, 9.5, 75, 1e4, 3e8};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (size_t j = 0; j < sizeof xs / sizeof xs[0]; j++) {
            int n = ns[i];
            double x = xs[j], a = nb_sf_bessel_jn(x, n - 1), b = nb_sf_bessel_jn(x, n + 1);
            double r = 2 * n / x * nb_sf_bessel_jn(x, n);
            cr_expect(fabs(a + b - r) <= 1e-13 * (fabs(a) + fabs(b)) + 1e-300,
                      "J_%d + J_%d at %g: %.17g vs %.17g", n - 1, n + 1, x, a + b, r);
        }
    /* Wronskians: J1 Y0 - J0 Y1 = 2/(pi x) (DLMF 10.5.2), Ai Bi' - Ai' Bi = 1/pi (9.2.7) */
    const double ys[] = {1e-5, 0.3, 2.4, 30, 1e6, 1e15, 3e16, 1e100};
    for (size_t j = 0; j < sizeof ys / sizeof ys[0]; j++) {
        double x = ys[j];
        double w = nb_sf_bessel_j1(x) * nb_sf_bessel_y0(x) - nb_sf_bessel_j0(x) * nb_sf_bessel_y1(x);
        cr_expect(close_to(w, 2 / (M_PI * x), 1e-12, 0), "J/Y Wronskian at %g: %.17g", x, w);
    }
    for (double x = -1e5; x <= 100; x = x < -10 ? x / 1.7 : x + 0.9) {
        double w = nb_sf_airy_ai(x) * nb_sf_airy_bi_deriv(x) - nb_sf_airy_ai_deriv(x) * nb_sf_airy_bi(x);
        /* the products grow like sqrt|x| for x < 0 (amplitudes |x|^-1/4 and |x|^1/4) */
        cr_expect(close_to(w, 1 / M_PI, 1e-12 * fmax(1, sqrt(fabs(x))), 0), "Airy Wronskian at %g: %.17g", x, w);
    }
    /* the guarded large-x forms join GSL's: the asymptotic Airy series at 100 against GSL just
     * below, and Y0, Y1 at 1e15 */
    /* both sides compute e^(+-zeta) with zeta = (2/3) 100^1.5 = 666.7 held in a double: exp's
     * condition number is zeta, so each carries up to zeta * eps = 1.5e-13 relative; 4e-13 */
    for (double x = 99.5; x <= 100.5; x += 0.5) {
        double tol = 4e-13;
        cr_expect(close_to(nb_sf_airy_ai(x), gsl_sf_airy_Ai(x, GSL_PREC_DOUBLE), tol, 0), "Ai(%g)", x);
        cr_expect(close_to(nb_sf_airy_bi(x), gsl_sf_airy_Bi(x, GSL_PREC_DOUBLE), tol, 0), "Bi(%g)", x);
        cr_expect(close_to(nb_sf_airy_ai_deriv(x), gsl_sf_airy_Ai_deriv(x, GSL_PREC_DOUBLE), tol, 0),
                  "Ai'(%g)", x);
        cr_expect(close_to(nb_sf_airy_bi_deriv(x), gsl_sf_airy_Bi_deriv(x, GSL_PREC_DOUBLE), tol, 0),
                  "Bi'(%g)", x);
    }
    cr_expect(close_to(nb_sf_bessel_y0(1.0000001e15), gsl_sf_bessel_Y0(1.0000001e15), 1e-12, 0));
    cr_expect(close_to(nb_sf_bessel_y1(1.0000001e15), gsl_sf_bessel_Y1(1.0000001e15), 1e-12, 0));
    /* beyond DBL_MAX / pi, where pi x overflowed and Y0, Y1 came back 0 (a CLI fuzzing round);
     * mpmath at the doubles 1e308 and 5.73e307, 40 digits */
    cr_expect(close_to(nb_sf_bessel_y0(1e308), 7.5866879552418009e-155, 1e-14, 0), "%.17g",
              nb_sf_bessel_y0(1e308));
    cr_expect(close_to(nb_sf_bessel_y1(1e308), 2.4706564120790078e-155, 1e-14, 0), "%.17g",
              nb_sf_bessel_y1(1e308));
    cr_expect(close_to(nb_sf_bessel_y0(5.73e307), -1.6104185581524389e-155, 1e-14, 0), "%.17g",
              nb_sf_bessel_y0(5.73e307));
    cr_expect(close_to(nb_sf_bessel_y1(5.73e307), 1.0416788333374129e-154, 1e-14, 0), "%.17g",
              nb_sf_bessel_y1(5.73e307));
    /* Jn by the recurrence for large x, against the leading asymptotic form cos(x - n pi/2 - pi/4)
     * sqrt(2/(pi x)), whose next term is (4n^2 - 1)/(8x) relative */
    for (int n = 2; n <= 40; n += 19) {
        double x = 1e16, lead = sqrt(2 / (M_PI * x)) * cos(x - n * M_PI / 2 - M_PI / 4);
        (void)lead; /* cos of x - n pi/2 in double loses x's phase: compare through J0, J1 */
        double c = cos(x), s = sin(x), j = (n % 4 == 0) ? (c + s) : (n % 4 == 1) ? (s - c) : (n % 4 == 2) ? -(c + s) : (c - s);
        j /= sqrt(M_PI * x);
        cr_expect(close_to(nb_sf_bessel_jn(x, n), j, 1e-12, 0), "J_%d(1e16) %.17g vs %.17g", n,
                  nb_sf_bessel_jn(x, n), j);
    }
}

/* Limits and guards, without GSL's handler in the way. */
Test(special, limits) {
    cr_expect(isnan(nb_sf_bessel_y0(-1)));
    cr_expect(isinf(nb_sf_bessel_y0(0)) && nb_sf_bessel_y0(0) < 0);
    cr_expect(isinf(nb_sf_bessel_y1(1e-320)) && nb_sf_bessel_y1(1e-320) < 0);
    cr_expect_eq(nb_sf_bessel_j1(1e-310), 0.5e-310);
    cr_expect_eq(nb_sf_bessel_jn(INFINITY, 3), 0.0);
    cr_expect_eq(nb_sf_bessel_j0(-INFINITY), 0.0);
    cr_expect_eq(nb_sf_bessel_jn(1e-300, 2), 0.0, "(x/2)^2/2 underflows");
    cr_expect(close_to(nb_sf_bessel_jn(1e-100, 2), 1.25e-201, 1e-15, 0));
    cr_expect_eq(nb_sf_bessel_jn(1, NB_SF_BESSEL_JN_MAX), 0.0);
    cr_expect(isnan(nb_sf_bessel_jn(1, NB_SF_BESSEL_JN_MAX + 1)));
    cr_expect(close_to(nb_sf_bessel_jn(-2.5, -3), gsl_sf_bessel_Jn(3, 2.5), 1e-15, 0),
              "J_{-3}(-x) = J_3(x)");
    cr_expect_eq(nb_sf_airy_ai(200), 0.0);
    cr_expect(isinf(nb_sf_airy_bi(200)));
    cr_expect(nb_sf_airy_ai_deriv(INFINITY) == 0 && signbit(nb_sf_airy_ai_deriv(INFINITY)));
    cr_expect(isfinite(nb_sf_airy_bi(104.3)), "Bi(104.3) = 1e308 is finite (GSL reports overflow)");
    cr_expect(isnan(nb_sf_airy_ai(-2e6)), "the phase is lost below -2^20");
    cr_expect(isnan(nb_sf_airy_ai(NAN)));
    cr_expect_eq(nb_sf_lambert_w0(INFINITY), INFINITY);
    /* above 1e300 (GSL reports no convergence from 1.7976e308 on): w + log w = log x */
    const double big[] = {1e300, 3e304, 1.7976152833210912e308, DBL_MAX};
    for (int i = 0; i < 4; i++) {
        double w = nb_sf_lambert_w0(big[i]);
        cr_expect(close_to(w + log(w), log(big[i]), 2 * DBL_EPSILON, 0), "W(%g) = %.17g", big[i], w);
    }
    cr_expect(close_to(nb_sf_lambert_w0(1e300), 684.24720862976085, 4 * DBL_EPSILON, 0),
              "joins GSL's value at 1e300");
    /* the derivative at the branch point of W: +inf; J1' at 0 is 1/2 (the (J0 - J2)/2 form) */
    nb_ctx *c = sf_ctx();
    struct op1 w = {NB_OP_lambert_w0, 0}, j1 = {NB_OP_bessel_j1, 0};
    double fx, d, x = -0.36787944117144233;
    cr_assert_eq(nb_derivative(c, apply1, &w, x, &fx, &d), NB_OK);
    cr_expect(fx == -1 && isinf(d) && d > 0, "W(-1/e) = %g, W' = %g", fx, d);
    cr_assert_eq(nb_derivative(c, apply1, &j1, 0, &fx, &d), NB_OK);
    cr_expect_eq(d, 0.5);
    nb_ctx_free(c);
}

/* With GSL's default handler, which aborts: every new function over +-10^(-320..308), at orders
 * 0-3, through the plain, dual, forward, reverse, nested and Taylor paths. Completing is the
 * test; the values are also checked to be NaN only where the function is undefined. */
Test(special, sweep_with_aborting_handler) {
    gsl_set_error_handler(NULL);
    const struct op1 ops[] = {
        {NB_OP_bessel_j0, 0}, {NB_OP_bessel_j1, 0}, {NB_OP_bessel_jn, 0}, {NB_OP_bessel_jn, 2},
        {NB_OP_bessel_jn, -5}, {NB_OP_bessel_jn, 60}, {NB_OP_bessel_jn, 1000},
        {NB_OP_bessel_jn, NB_SF_BESSEL_JN_MAX}, {NB_OP_bessel_y0, 0}, {NB_OP_bessel_y1, 0},
        {NB_OP_lambert_w0, 0}, {NB_OP_airy_ai, 0}, {NB_OP_airy_bi, 0}, {NB_OP_airy_ai_deriv, 0},
        {NB_OP_airy_bi_deriv, 0},
    };
    nb_ctx *c = sf_ctx();
    unsigned long points = 0;
    for (double e = -320; e <= 308; e += 0.5) {
        for (int s = 0; s < 2; s++) {
            double x = s ? -pow(10, e) : pow(10, e);
            for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
                struct op1 o = ops[i];
                volatile double sink = nb_prim_apply(o.op, x, 0, o.n);
                nb_dual dx = nb_dual_apply(o.op, nb_dual_make(x, 1), nb_dual_make(0, 0), o.n);
                double fx, d, g, h, d3, tay[4];
                nb_derivative(c, apply1, &o, x, &fx, &d);
                nb_gradient(c, apply1, &o, 1, &x, NULL, &g);
                nb_hessian(c, apply1, &o, 1, &x, NULL, NULL, &h);
                nb_gradient(c, second_of, &o, 1, &x, NULL, &d3);
                nb_derivatives(c, apply1, &o, x, 3, tay);
                sink += dx.v + fx + d + g + h + d3 + tay[3];
                (void)sink;
                points++;
            }
        }
    }
    /* and the edges: 0, +-inf, NaN, the branch point, the guards' thresholds */
    const double edges[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, -0.36787944117144233,
                            DBL_MAX, 1.7976152833210912e308, 1e300, 1.0000001e300,
                            103.89, 104.1685, 104.2078, 104.43, -1048576.0, -1048577.0,
                            4.5e15, 4.46e-308, 1e-8, 1000.0, 1000.5};
    for (size_t k = 0; k < sizeof edges / sizeof edges[0]; k++)
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
            struct op1 o = ops[i];
            double x = edges[k], tay[4], g;
            nb_derivatives(c, apply1, &o, x, 3, tay);
            nb_gradient(c, second_of, &o, 1, &x, NULL, &g);
        }
    nb_ctx_free(c);
    cr_expect_gt(points, 30000ul);
}

/* Negative x by the reflection formula (orders <= 170). The upward shift summed terms of both
 * signs that cancel: psi^(50)(-2.5) was 6e40 with the wrong sign (found by a review). References:
 * mpmath 1.3 polygamma at 400 digits, at the double x. */
Test(polygamma, negative_x_by_reflection) {
    const struct {
        int n;
        double x, want, rel;
    } cases[] = {
        {1, -2.5, 9.5392466449891238, 4e-16},
        {10, -2.5, -4.0266930412329948, 1e-14},
        {20, -2.5, -9182070.2049456267, 1e-14},
        {30, -2.5, -3611857616302858.1, 3e-14},
        {50, -2.5, -5.4400863013256217e+36, 3e-14},
        {100, -2.5, -1.0450358166692753e+103, 1e-13},
        {150, -2.5, -4.0051493379183336e+180, 1e-13},
        /* where cot's polynomial coefficients overflowed (n >= 160), which made half-integers
         * NaN (found by a docs review) */
        {166, -2.5, -1.2446785620634138e+207, 2e-13},
        {170, -2.5, -6.6856927007828417e+213, 2e-13},
        {164, -0.5, -2.8958151743112199e+264, 2e-13},
        {100, -7.25, 5.9987778449433916e+218, 1e-13},
        {3, -0.3, 766.61989041916858, 1e-15},
        {2, -1000.7, -68.837544712174143, 1e-14},
        {5, -1000000.25, 492231.26711055587, 1e-13},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        double got = nb_sf_psi_n(cases[i].x, cases[i].n);
        cr_expect(close_to(got, cases[i].want, cases[i].rel, 0), "psi^(%d)(%g) = %.17g, want %.17g",
                  cases[i].n, cases[i].x, got, cases[i].want);
    }
    cr_expect(isinf(nb_sf_psi_n(-0.3, 170)), "1.9e396 overflows");
    cr_expect(isinf(nb_sf_psi_n(-2.5, 169)), "1.3e356 overflows");
    cr_expect(close_to(nb_sf_psi_n(-1e5 - 0.5, 2), nb_sf_psi_n(1e5 + 1.5, 2), 1e-15, 0),
              "psi'' at a half-integer is psi'' at its mirror (cot'' is 0 there)");
}
