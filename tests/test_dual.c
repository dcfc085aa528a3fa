/* test_dual.c - dual numbers at the edges: the NaN policy, infinities, domain boundaries, min/max
 * ties, integer powers with negative and zero exponents, lgamma for negative arguments. */
#include <criterion/criterion.h>
#include <float.h>

#include "nabla/nabla.h"
#include "oracle.h"

static nb_dual x_at(double v) { return nb_dual_var(v); }

Test(nan_policy, sqrt_of_square_at_zero_is_zero) {
    nb_dual y = nb_dual_sqrt(nb_dual_mul(x_at(0), x_at(0)));
    cr_expect_eq(y.v, 0.0);
    cr_expect_eq(y.d, 0.0, "d/dx sqrt(x*x) at 0: got %g", y.d);
    y = nb_dual_sqrt(nb_dual_powi(x_at(0), 2));
    cr_expect_eq(y.d, 0.0, "d/dx sqrt(x^2) at 0: got %g", y.d);
}

Test(nan_policy, sqrt_at_zero_is_plus_inf) {
    nb_dual y = nb_dual_sqrt(x_at(0));
    cr_expect_eq(y.v, 0.0);
    cr_expect(isinf(y.d) && y.d > 0, "d/dx sqrt(x) at 0: got %g", y.d);
    /* sqrt(-0) is -0; the slope is still +inf (0.5 / -0 would be -inf) */
    y = nb_dual_sqrt(x_at(-0.0));
    cr_expect(y.v == 0 && signbit(y.v));
    cr_expect(isinf(y.d) && y.d > 0, "d/dx sqrt(x) at -0: got %g", y.d);
}

Test(nan_policy, abs_at_zero_is_zero) {
    cr_expect_eq(nb_dual_abs(x_at(0)).d, 0.0);
    cr_expect_eq(nb_dual_abs(x_at(-0.0)).d, 0.0);
    cr_expect_eq(nb_dual_abs(x_at(-3)).d, -1.0);
}

Test(nan_policy, domain_error_stays_nan) {
    nb_dual y = nb_dual_sqrt(x_at(-1));
    cr_expect(isnan(y.v) && isnan(y.d));
    y = nb_dual_log(x_at(-1));
    cr_expect(isnan(y.v) && isnan(y.d));
    y = nb_dual_asin(x_at(1.5));
    cr_expect(isnan(y.v) && isnan(y.d));
    y = nb_dual_atanh(x_at(-2));
    cr_expect(isnan(y.v) && isnan(y.d));
    y = nb_dual_log1p(x_at(-3));
    cr_expect(isnan(y.v) && isnan(y.d));
    y = nb_dual_log10(x_at(-3));
    cr_expect(isnan(y.v) && isnan(y.d));
    y = nb_dual_acosh(x_at(0.5));
    cr_expect(isnan(y.v) && isnan(y.d));
    y = nb_dual_pow(x_at(-2), nb_dual_const(0.5));
    cr_expect(isnan(y.v) && isnan(y.d));
    /* y - 1 rounds to the integer -1: the formula y x^(y-1) alone would give -1e-300 */
    y = nb_dual_pow(x_at(-1), nb_dual_const(1e-300));
    cr_expect(isnan(y.v) && isnan(y.d), "pow(-1, 1e-300): slope %g", y.d);
}

Test(nan_policy, zero_tangent_annihilates_inf_and_nan) {
    /* A constant operand never evaluates its partial: sqrt(0) has an infinite partial, but a
     * constant 0 has tangent 0, so the product's tangent is 0, not NaN. */
    nb_dual y = nb_dual_mul(nb_dual_sqrt(nb_dual_const(0)), x_at(2));
    cr_expect_eq(y.d, 0.0);
    y = nb_dual_mul(nb_dual_const(INFINITY), nb_dual_const(1));
    cr_expect_eq(y.d, 0.0);
    /* a NaN with a zero tangent contributes a zero tangent */
    y = nb_dual_add(nb_dual_const(NAN), nb_dual_const(1));
    cr_expect(isnan(y.v));
    cr_expect_eq(y.d, 0.0);
    /* smul is the policy as an op: 0 * inf = 0, 0 * NaN = 0. */
    cr_expect_eq(nb_prim_smul(0, INFINITY), 0.0);
    cr_expect_eq(nb_prim_smul(NAN, 0), 0.0);
    cr_expect_eq(nb_prim_smul(3, 4), 12.0);
}

Test(nan_policy, integer_power_of_negative_base_is_exact) {
    nb_dual y = nb_dual_exp(nb_dual_neg(nb_dual_powi(x_at(-1), 2)));
    cr_expect(close_to(y.v, exp(-1.0), 1e-15, 0));
    cr_expect(close_to(y.d, 2 * exp(-1.0), 1e-15, 0), "got %g", y.d);
    y = nb_dual_powi(x_at(-2), 3);
    cr_expect_eq(y.v, -8.0);
    cr_expect_eq(y.d, 12.0);
}

Test(infinities, limits) {
    nb_dual y = nb_dual_exp(x_at(-INFINITY));
    cr_expect_eq(y.v, 0.0);
    cr_expect_eq(y.d, 0.0);
    y = nb_dual_exp(x_at(INFINITY));
    cr_expect(isinf(y.v) && isinf(y.d));
    y = nb_dual_atan(x_at(INFINITY));
    cr_expect(close_to(y.v, NB_PI / 2, 1e-16, 0));
    cr_expect_eq(y.d, 0.0);
    y = nb_dual_tanh(x_at(INFINITY));
    cr_expect_eq(y.v, 1.0);
    cr_expect_eq(y.d, 0.0);
    y = nb_dual_tanh(x_at(-800));
    cr_expect_eq(y.d, 0.0);
    y = nb_dual_erf(x_at(INFINITY));
    cr_expect_eq(y.v, 1.0);
    cr_expect_eq(y.d, 0.0);
}

Test(infinities, tanh_derivative_keeps_relative_accuracy) {
    /* 1 - tanh^2 would give 0 at x = 20; sech^2(20) = 1.7e-17. */
    nb_dual y = nb_dual_tanh(x_at(20));
    double want = 1 / (cosh(20.0) * cosh(20.0));
    cr_expect(close_to(y.d, want, 1e-14, 0), "got %g want %g", y.d, want);
}

Test(domain, boundaries) {
    nb_dual y = nb_dual_log(x_at(0));
    cr_expect(isinf(y.v) && y.v < 0);
    cr_expect(isinf(y.d) && y.d > 0);
    y = nb_dual_log1p(x_at(-1));
    cr_expect(isinf(y.v) && y.v < 0);
    cr_expect(isinf(y.d) && y.d > 0);
    y = nb_dual_acosh(x_at(1));
    cr_expect_eq(y.v, 0.0);
    cr_expect(isinf(y.d) && y.d > 0);
    y = nb_dual_asin(x_at(1));
    cr_expect(close_to(y.v, NB_PI / 2, 1e-16, 0));
    cr_expect(isinf(y.d) && y.d > 0);
    y = nb_dual_acos(x_at(-1));
    cr_expect(isinf(y.d) && y.d < 0);
    y = nb_dual_atanh(x_at(1));
    cr_expect(isinf(y.v) && isinf(y.d));
    y = nb_dual_cbrt(x_at(0));
    cr_expect_eq(y.v, 0.0);
    cr_expect(isinf(y.d) && y.d > 0);
    y = nb_dual_div(nb_dual_const(1), x_at(0));
    cr_expect(isinf(y.v));
    cr_expect(isinf(y.d) && y.d < 0);
}

Test(piecewise, min_max_ties_split_evenly) {
    nb_dual a = nb_dual_make(2, 1), b = nb_dual_make(2, 0);
    cr_expect_eq(nb_dual_max(a, b).d, 0.5);
    cr_expect_eq(nb_dual_min(a, b).d, 0.5);
    cr_expect_eq(nb_dual_max(b, a).d, 0.5);
    /* max(x, x) and min(x, x) move with x. */
    cr_expect_eq(nb_dual_max(x_at(3), x_at(3)).d, 1.0);
    cr_expect_eq(nb_dual_min(x_at(3), x_at(3)).d, 1.0);
    /* away from a tie, the larger (smaller) operand wins */
    cr_expect_eq(nb_dual_max(x_at(3), nb_dual_const(1)).d, 1.0);
    cr_expect_eq(nb_dual_max(x_at(0), nb_dual_const(1)).d, 0.0);
    cr_expect_eq(nb_dual_min(x_at(0), nb_dual_const(1)).d, 1.0);
}

Test(piecewise, min_max_propagate_nan) {
    cr_expect(isnan(nb_prim_max(NAN, 1)));
    cr_expect(isnan(nb_prim_max(1, NAN)));
    cr_expect(isnan(nb_prim_min(NAN, 1)));
    cr_expect(isnan(nb_prim_min(1, NAN)));
}

Test(piecewise, sign_and_stop_gradient) {
    cr_expect_eq(nb_dual_sign(x_at(-3)).v, -1.0);
    cr_expect_eq(nb_dual_sign(x_at(0)).v, 0.0);
    cr_expect_eq(nb_dual_sign(x_at(0)).d, 0.0);
    cr_expect(isnan(nb_prim_sign(NAN)));
    nb_dual s = nb_dual_stop_gradient(x_at(5));
    cr_expect_eq(s.v, 5.0);
    cr_expect_eq(s.d, 0.0);
}

Test(powi, negative_and_zero_exponents) {
    nb_dual y = nb_dual_powi(x_at(0), 0);
    cr_expect_eq(y.v, 1.0);
    cr_expect_eq(y.d, 0.0, "d/dx x^0 at 0 is 0, not NaN");
    y = nb_dual_powi(x_at(2), -1);
    cr_expect_eq(y.v, 0.5);
    cr_expect_eq(y.d, -0.25);
    y = nb_dual_powi(x_at(-2), -2);
    cr_expect_eq(y.v, 0.25);
    cr_expect_eq(y.d, 0.25);
    y = nb_dual_powi(x_at(-2), -3);
    cr_expect_eq(y.v, -0.125);
    cr_expect(close_to(y.d, -3.0 / 16.0, 1e-15, 0));
    y = nb_dual_powi(x_at(0), -1);
    cr_expect(isinf(y.v) && y.v > 0);
    cr_expect(isinf(y.d) && y.d < 0);
    y = nb_dual_powi(x_at(0), 3);
    cr_expect_eq(y.v, 0.0);
    cr_expect_eq(y.d, 0.0);
    y = nb_dual_powi(x_at(1.5), 1);
    cr_expect_eq(y.d, 1.0);
}

Test(powi, parameter_out_of_range_is_nan) {
    nb_dual y = nb_dual_powi(x_at(2), INT_MIN);
    cr_expect(isnan(y.v) && isnan(y.d));
    y = nb_dual_powi(x_at(2), INT_MAX);
    cr_expect(isnan(y.v) && isnan(y.d));
    y = nb_dual_psi_n(x_at(2), -1);
    cr_expect(isnan(y.v) && isnan(y.d));
}

Test(pow, special_points) {
    /* d/dx x^0 = 0 even at 0; d/dy 0^y = 0 for y > 0. */
    nb_dual y = nb_dual_pow(x_at(0), nb_dual_const(0));
    cr_expect_eq(y.v, 1.0);
    cr_expect_eq(y.d, 0.0);
    y = nb_dual_pow(nb_dual_const(0), x_at(2));
    cr_expect_eq(y.v, 0.0);
    cr_expect_eq(y.d, 0.0);
    y = nb_dual_pow(x_at(0), nb_dual_const(0.5));
    cr_expect(isinf(y.d) && y.d > 0);
    y = nb_dual_pow(x_at(0), nb_dual_const(2));
    cr_expect_eq(y.d, 0.0);
    /* a subnormal base, where x^(y-1) overflows but y x^(y-1) need not (a fuzzing round: NaN and
     * inf before) */
    y = nb_dual_pow(x_at(1e-310), nb_dual_const(0));
    cr_expect_eq(y.d, 0.0, "d/dx x^0 at 1e-310: %g", y.d);
    y = nb_dual_pow(x_at(1e-310), nb_dual_const(1e-300));
    cr_expect(close_to(y.d, 1e-300 / 1e-310, 1e-15, 0), "d/dx x^1e-300 at 1e-310: %g", y.d);
    y = nb_dual_pow(x_at(-1e-310), nb_dual_const(-1));
    cr_expect(isinf(y.d) && y.d < 0, "d/dx x^-1 at -1e-310: %g", y.d);
    /* but only there: where x^(y-1) is finite it is the accurate form (x^0.99 at 4.9e-324 is a
     * subnormal with a few bits; mpmath: 1693.1574583994186) */
    y = nb_dual_pow(x_at(4.9e-324), nb_dual_const(0.99));
    cr_expect(close_to(y.d, 1693.1574583994186, 1e-14, 0), "d/dx x^0.99 at 4.9e-324: %.17g", y.d);
}

Test(lgamma, negative_arguments) {
    /* Gamma(-0.5) = -2 sqrt(pi) < 0: lgamma is log|Gamma| = log(2 sqrt(pi)); its derivative is
     * still digamma: psi(-1/2) = psi(1/2) + 2 = 2 - gamma - 2 ln 2. */
    nb_dual y = nb_dual_lgamma(x_at(-0.5));
    cr_expect(close_to(y.v, log(2 * sqrt(NB_PI)), 1e-15, 0), "got %.17g", y.v);
    cr_expect(close_to(y.d, 2 - 0.57721566490153286 - 2 * log(2.0), 1e-14, 0), "got %.17g", y.d);
    /* Gamma(-2.5) = -8 sqrt(pi) / 15 < 0; Gamma(-1.5) = 4 sqrt(pi) / 3 > 0. */
    cr_expect(close_to(nb_dual_lgamma(x_at(-2.5)).v, log(8 * sqrt(NB_PI) / 15), 1e-14, 0));
    cr_expect(close_to(nb_dual_lgamma(x_at(-1.5)).v, log(4 * sqrt(NB_PI) / 3), 1e-14, 0));
    cr_expect(close_to(nb_dual_tgamma(x_at(-2.5)).v, -8 * sqrt(NB_PI) / 15, 1e-14, 0));
    /* poles */
    y = nb_dual_lgamma(x_at(-2));
    cr_expect(isinf(y.v) && y.v > 0);
    cr_expect(isnan(y.d));
    cr_expect(isnan(nb_dual_digamma(x_at(0)).v));
}
