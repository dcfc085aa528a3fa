/* test_sf.c - the special functions behind lgamma, digamma and polygamma: values against known
 * constants and GSL, and a sweep over a wide grid with GSL's default (aborting) error handler
 * installed, which completes only if the range guards keep every GSL call quiet. */
#include <criterion/criterion.h>
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

Test(sf, poles_and_bad_arguments) {
    cr_expect(isnan(nb_sf_digamma(0)));
    cr_expect(isnan(nb_sf_digamma(-3)));
    cr_expect(isnan(nb_sf_digamma(-INFINITY)));
    cr_expect(isnan(nb_sf_digamma(NAN)));
    cr_expect(isinf(nb_sf_digamma(INFINITY)));
    cr_expect(isnan(nb_sf_psi_n(1, -1)));
    cr_expect(isnan(nb_sf_psi_n(-2, 1)));
    cr_expect(isnan(nb_sf_psi_n(-1e5 - 0.5, 2)), "beyond the documented shift range");
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
