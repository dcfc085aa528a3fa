/* 08_own_control_flow.c - exercise 4: a control-flow example of our own. Newton's iteration for
 * the square root, y <- (y + a/y) / 2 until it settles, is a loop whose length depends on a; the
 * derivative flows through every iteration that ran. And a piecewise function, whose branch
 * depends on x. Each gradient is checked against GSL's central finite difference. */
#include <gsl/gsl_deriv.h>
#include <math.h>
#include <stdio.h>

#include <nabla/nabla.h>

/* sqrt(a) by Newton's iteration, counting the iterations in *env */
static nb_var newton_sqrt(nb_ctx *c, const nb_var *a, void *env) {
    int *iters = env;
    nb_var y = a[0];
    *iters = 0;
    for (;;) {
        nb_var next = nb_mul(c, nb_const(0.5), nb_add(c, y, nb_div(c, a[0], y)));
        ++*iters;
        if (fabs(nb_value(next) - nb_value(y)) <= 1e-15 * nb_value(next)) return next;
        y = next;
    }
}

/* a piecewise function: x^2 below 1, 2x - 1 from 1 on (continuous, with a continuous slope) */
static nb_var piecewise(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    if (nb_value(x[0]) < 1) return nb_mul(c, x[0], x[0]);
    return nb_sub(c, nb_mul(c, nb_const(2), x[0]), nb_const(1));
}

static double plain(nb_fn f, double x) {
    nb_ctx *c;
    nb_ctx_new(&c, NULL);
    int iters;
    nb_var in = nb_const(x);
    double v = nb_value(f(c, &in, &iters));
    nb_ctx_free(c);
    return v;
}
static double plain_newton(double a, void *p) { (void)p; return plain(newton_sqrt, a); }
static double plain_piecewise(double x, void *p) { (void)p; return plain(piecewise, x); }

int main(void) {
    nb_ctx *ctx;
    if (nb_ctx_new(&ctx, NULL)) return 1;
    int all = 1;
    const double as[3] = {0.25, 2, 1e4};
    for (int i = 0; i < 3; i++) {
        int iters;
        double y, g, fd, err;
        nb_gradient(ctx, newton_sqrt, &iters, 1, &as[i], &y, &g);
        gsl_function F = {plain_newton, NULL};
        gsl_deriv_central(&F, as[i], 1e-3 * as[i], &fd, &err);
        int agree = fabs(g - fd) <= 4 * err + 1e-9 * fabs(g);
        all &= agree;
        printf("sqrt(%g) = %.6f after %d Newton steps; d/da = %.6f, 1/(2 sqrt a) = %.6f, "
               "finite difference agrees: %d\n", as[i], y, iters, g, 0.5 / sqrt(as[i]), agree);
    }
    const double xs[3] = {0.5, 1.5, 3};
    for (int i = 0; i < 3; i++) {
        double y, g, fd, err;
        nb_gradient(ctx, piecewise, NULL, 1, &xs[i], &y, &g);
        gsl_function F = {plain_piecewise, NULL};
        gsl_deriv_central(&F, xs[i], 1e-3, &fd, &err);
        int agree = fabs(g - fd) <= 4 * err + 1e-9 * fabs(g);
        all &= agree;
        printf("piecewise(%g) = %g, d/dx = %g, finite difference agrees: %d\n", xs[i], y, g, agree);
    }
    printf("all gradients agree with finite differences: %d\n", all);
    int ok = nb_ctx_status(ctx) == NB_OK;
    nb_ctx_free(ctx);
    return ok && all ? 0 : 1;
}
