/* test_macros.c - the public headers survive, and preserve, user macros that share names with
 * the rule algebra's words (X, Y, R, N, K, V, ADD, ...), object-like or function-like. */
#define N 4
#define K 10 /* an object-like macro: it must not meet a parameter named K */
#define V(a) (a + 100)
#define R 7
#define X "x"
#define ADD(a, b) ((a) * (b))
#define SELECT 3
#include "nabla/nabla.h"

#include <criterion/criterion.h>

Test(headers, user_macros_survive) {
    cr_expect_eq(N, 4);
    cr_expect_eq(K, 10);
    cr_expect_eq(V(1), 101);
    cr_expect_eq(R, 7);
    cr_expect_str_eq(X, "x");
    cr_expect_eq(ADD(2, 3), 6);
    cr_expect_eq(SELECT, 3);
    cr_expect_eq(nb_dual_sin(nb_dual_var(0)).d, 1.0);
}
