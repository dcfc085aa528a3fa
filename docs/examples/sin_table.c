/* sin_table.c - f = sin(x) and df/dx from dual numbers (no cos written anywhere), on [-pi, pi].
 *
 * The derivative comes from nb_dual_sin, whose rule lives in the op registry; the last column is
 * cos(x) only to show the agreement.
 */
#include <stdio.h>

#include <nabla/nabla.h>

int main(void) {
    printf("%8s %12s %12s %12s\n", "x", "sin(x)", "d/dx sin", "cos(x)");
    for (int i = 0; i <= 16; i++) {
        double x = -NB_PI + NB_PI * i / 8.0;
        nb_dual y = nb_dual_sin(nb_dual_var(x));
        printf("%8.4f %12.8f %12.8f %12.8f\n", x, y.v, y.d, cos(x));
    }
    return 0;
}
