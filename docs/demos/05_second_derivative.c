/* 05_second_derivative.c - exercise 1: why is the second derivative much more expensive to
 * compute than the first? Compute both for f(x) = sin(x) exp(-x^2) summed over n points, count
 * the elementary operations each level performs, and time them.
 *
 * The first derivative (a gradient) is one reverse level: the ops of f, recorded, then one sweep.
 * The second derivative differentiates the first derivative's code: a forward level around the
 * reverse level (a Hessian-vector product) must carry a tangent through every op of f, through
 * every derivative rule, and through every product and sum of the sweep. The reverse-over-reverse
 * order shows the same growth, with exact counts. */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <time.h>

#include <nabla/nabla.h>

enum { N = 2000 };

static nb_var f(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    nb_var s = nb_const(0);
    for (int i = 0; i < N; i++)
        s = nb_add(c, s, nb_mul(c, nb_sin(c, x[i]), nb_exp(c, nb_neg(c, nb_powi(c, x[i], 2)))));
    return s;
}
/* the gradient, itself differentiable: for reverse over reverse */
static nb_var grad_dot_v(nb_ctx *c, const nb_var *x, void *env) {
    nb_var g[N];
    nb_gradient_var(c, f, env, N, x, NULL, g);
    return nb_sum(c, N, g); /* g . (1, ..., 1) */
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(void) {
    nb_ctx *ctx;
    if (nb_ctx_new(&ctx, NULL)) return 1;
    static double x[N], v[N], g[N], hv[N], g2[N];
    for (int i = 0; i < N; i++) x[i] = -3 + 6.0 * i / N, v[i] = 1;

    nb_op_count_reset(ctx);
    double t0 = now();
    nb_gradient(ctx, f, NULL, N, x, NULL, g);
    double t1 = now();
    unsigned long long first = nb_op_count(ctx, 1);
    printf("first derivative (reverse): level 1 performed %llu ops\n", first);

    nb_op_count_reset(ctx);
    double t2 = now();
    nb_hvp(ctx, f, NULL, N, x, v, NULL, NULL, hv);
    double t3 = now();
    printf("second derivative (forward over reverse): level 2 (reverse) %llu ops, "
           "level 1 (forward) %llu ops\n", nb_op_count(ctx, 2), nb_op_count(ctx, 1));

    nb_op_count_reset(ctx);
    nb_gradient(ctx, grad_dot_v, NULL, N, x, NULL, g2);
    printf("second derivative (reverse over reverse): level 2 (inner) %llu ops, "
           "level 1 (outer) %llu ops\n", nb_op_count(ctx, 2), nb_op_count(ctx, 1));
    printf("the outer level of reverse over reverse performs %.1f times the inner level's ops\n",
           (double)nb_op_count(ctx, 1) / (double)nb_op_count(ctx, 2));

    /* both second derivatives agree: H (1, ..., 1) */
    double worst = 0;
    for (int i = 0; i < N; i++) worst = fmax(worst, fabs(hv[i] - g2[i]) / fmax(1, fabs(hv[i])));
    printf("forward-over-reverse and reverse-over-reverse agree: %d\n", worst < 1e-13);

    /* times: printed, not checked (the machine decides them) */
    printf("time: first derivative %.3f ms, second derivative %.3f ms (ratio %.1f)\n",
           1e3 * (t1 - t0), 1e3 * (t3 - t2), (t3 - t2) / (t1 - t0));
    int ok = nb_ctx_status(ctx) == NB_OK;
    nb_ctx_free(ctx);
    return ok ? 0 : 1;
}
