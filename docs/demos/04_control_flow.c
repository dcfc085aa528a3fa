/* 04_control_flow.c - gradients through Python-style control flow, in C. The chapter's f doubles
 * b while its norm is below 1000 and picks a branch on the sign of its sum. Only the path taken
 * is recorded, so the gradient is that path's: f(a) = k a for a k that depends on a, and
 * df/da = k = f(a)/a.
 *
 *   PyTorch: def f(a): b = a * 2; while b.norm() < 1000: b = b * 2; ...
 *   here:    the same loop on nb_value(b), with ops on handles */
#include <math.h>
#include <stdio.h>

#include <nabla/nabla.h>

static nb_var f(nb_ctx *c, const nb_var *a, void *env) {
    (void)env;
    nb_var b = nb_mul(c, a[0], nb_const(2));
    while (fabs(nb_value(b)) < 1000) /* the norm of a scalar */
        b = nb_mul(c, b, nb_const(2));
    if (nb_value(b) > 0) return b; /* the sum of a scalar */
    return nb_mul(c, nb_const(100), b);
}

int main(void) {
    nb_ctx *ctx;
    if (nb_ctx_new(&ctx, NULL)) return 1;
    unsigned long long s = 2024; /* a fixed seed, so the lesson prints the same every time */
    int all = 1;
    for (int i = 0; i < 6; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double a = ((double)(s >> 11) / 9007199254740992.0 - 0.5) * 4; /* in [-2, 2) */
        double fa, grad;
        nb_gradient(ctx, f, NULL, 1, &a, &fa, &grad);
        /* f(a) = k a is rounded once, and f(a)/a once more: equal to within two roundings */
        int equal = fabs(grad - fa / a) <= 4.5e-16 * fabs(grad);
        all &= equal;
        printf("a = %+.6f  f(a) = %+12.4f  d = %9g  f(a)/a = %9g  equal: %d\n", a, fa, grad,
               fa / a, equal);
    }
    printf("the gradient equals f(a)/a (to rounding) for every a: %d\n", all);
    int ok = nb_ctx_status(ctx) == NB_OK;
    nb_ctx_free(ctx);
    return ok && all ? 0 : 1;
}
