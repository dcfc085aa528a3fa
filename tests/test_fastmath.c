/* test_fastmath.c - nabla's headers in a program compiled with -ffast-math, and with GCC also
 * with -funsafe-math-optimizations alone and, on x86-64, with -mfpmath=387 (x87 arithmetic,
 * FLT_EVAL_METHOD 2, where the inline tier is off as well; tests/meson.build).
 *
 * Fast-math lets the compiler assume there is no NaN or inf, so the inline ops of nabla/var.h
 * turn their fast tier off and call the library (compiled with IEEE semantics), and nb_dual's
 * strong-zero product tests its operands instead of its result. The strong-zero policy must
 * hold regardless: an infinite partial against an exactly zero tangent contributes 0. Values are
 * compared by their bits, since this file's own NaN and inf tests may be folded away. */
#include <criterion/criterion.h>
#include <string.h>

#include "nabla/nabla.h"

static int bits_eq(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }
static double inf(void) {
    const unsigned long long u = 0x7ff0000000000000ull;
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

Test(fast_math, the_inline_tier_is_off) { cr_expect_eq(NB__INLINE_TIER, 0); }

/* Constants too: 7 / 3 here is the library's correctly rounded quotient, not this file's
 * (under -freciprocal-math it could be 7 * (1 / 3)). */
Test(fast_math, constants_fold_in_the_library) {
    nb_ctx *c = NULL;
    cr_assert_eq(nb_ctx_new(&c, NULL), NB_OK);
    volatile double seven = 7;
    const double q = nb_value(nb_div(c, nb_const(seven), nb_const(3)));
    const unsigned long long want = 0x4002aaaaaaaaaaabull; /* 7/3 rounded to nearest */
    double w;
    memcpy(&w, &want, sizeof w);
    cr_expect(bits_eq(q, w), "7/3 = %a", q);
    nb_ctx_free(c);
}

Test(fast_math, a_zero_tangent_annihilates_an_infinite_partial) {
    nb_ctx *c = NULL;
    cr_assert_eq(nb_ctx_new(&c, NULL), NB_OK);
    cr_assert_eq(nb_push(c, NB_FORWARD), NB_OK);
    /* y = x * z with x = inf (tangent 1) and z = 2 (tangent 0): dy = 2 * 1 + inf * 0 = 2 */
    nb_var x = nb_fwd_input(c, nb_const(inf()), nb_const(1));
    nb_var z = nb_fwd_input(c, nb_const(2), nb_const(0));
    nb_var y = nb_mul(c, x, z);
    cr_expect(bits_eq(nb_value(nb_tangent(c, y)), 2.0), "tangent %g", nb_value(nb_tangent(c, y)));
    cr_expect_eq(nb_pop(c), NB_OK);
    /* the same with dual numbers */
    nb_dual dx = nb_dual_make(inf(), 1), dz = nb_dual_make(2, 0);
    cr_expect(bits_eq(nb_dual_mul(dx, dz).d, 2.0), "dual tangent %g", nb_dual_mul(dx, dz).d);
    /* d/dx sqrt(x * x) at 0 is 0 (the partial 0.5 / 0 = inf meets a zero tangent) */
    cr_expect(bits_eq(nb_dual_sqrt(nb_dual_mul(nb_dual_var(0), nb_dual_var(0))).d, 0.0));
    nb_ctx_free(c);
}

Test(fast_math, gradients_are_the_librarys) {
    nb_ctx *c = NULL;
    cr_assert_eq(nb_ctx_new(&c, NULL), NB_OK);
    cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
    cr_assert_eq(nb_reserve(c, 64, 64), NB_OK);
    nb_var x = nb_rev_input(c, nb_const(0.5));
    nb_var y = nb_mul(c, nb_sin(c, x), nb_exp(c, nb_neg(c, nb_mul(c, x, x))));
    cr_expect_eq(nb_backward(c, y), NB_OK);
    /* d/dx sin(x) exp(-x^2) = (cos x - 2 x sin x) exp(-x^2), computed here by the library */
    const double g = nb_value(nb_grad(c, x));
    cr_expect(g > 0.3100850014 && g < 0.3100850016, "gradient %.17g", g);
    nb_ctx_free(c);
}
