/* loop_gradient.c - the gradient through a long loop from checkpoints: a pendulum integrated for
 * a million steps (symplectic Euler, dt = 1e-4), and the derivatives of its final energy with
 * respect to the initial angle, the initial momentum and gravity. On one tape the loop would hold
 * about 200 MB; nb_loop_vjp keeps a state every 1000 steps and records 1000 steps at a time.
 *
 * Prints the gradient next to GSL's central differences of the same loop run on plain doubles,
 * and "loop gradient ok" when each agrees within 10 times GSL's error estimate.
 */
#include <math.h>
#include <stdio.h>

#include <gsl/gsl_deriv.h>
#include <nabla/nabla.h>

enum { STEPS = 1000000 };
static const double DT = 1e-4;

/* one step of the loop; the state is (q, p, g), g a parameter carried along */
static void step(nb_ctx *c, size_t i, const nb_var *x, nb_var *y, void *env) {
    (void)i, (void)env;
    nb_var p = nb_sub(c, x[1], nb_mul(c, nb_mul(c, nb_const(DT), x[2]), nb_sin(c, x[0])));
    y[0] = nb_add(c, x[0], nb_mul(c, nb_const(DT), p));
    y[1] = p;
    y[2] = x[2];
}

/* the final energy p^2 / 2 + g (1 - cos q) */
static nb_var energy(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_add(c, nb_mul(c, nb_const(0.5), nb_mul(c, x[1], x[1])),
                  nb_mul(c, x[2], nb_sub(c, nb_const(1), nb_cos(c, x[0]))));
}

/* the same loop on doubles, as a function of one start component, for gsl_deriv_central */
struct along {
    double x0[3];
    int i;
};
static double energy_after_loop(double t, void *p) {
    const struct along *a = p;
    double q = a->x0[0], m = a->x0[1], g = a->x0[2];
    if (a->i == 0) q = t;
    if (a->i == 1) m = t;
    if (a->i == 2) g = t;
    for (long k = 0; k < STEPS; k++) {
        m -= DT * g * sin(q);
        q += DT * m;
    }
    return 0.5 * m * m + g * (1 - cos(q));
}

int main(void) {
    nb_ctx *c = NULL;
    if (nb_ctx_new(&c, NULL)) return 1;
    const double x0[3] = {1.0, 0.0, 9.81};
    double xn[3], seed[3], grad[3];
    /* x_N, then the energy's gradient at x_N, then that seed back through the loop */
    nb_loop_vjp(c, step, NULL, 3, STEPS, x0, NULL, 1000, xn, NULL);
    nb_gradient(c, energy, NULL, 3, xn, NULL, seed);
    nb_loop_vjp(c, step, NULL, 3, STEPS, x0, seed, 1000, NULL, grad);
    int ok = nb_ctx_status(c) == NB_OK;
    const char *name[3] = {"dE/dq0", "dE/dp0", "dE/dg"};
    for (int i = 0; i < 3; i++) {
        struct along a = {{x0[0], x0[1], x0[2]}, i};
        gsl_function F = {energy_after_loop, &a};
        double fd, err;
        gsl_deriv_central(&F, x0[i], 1e-4 * fmax(1, fabs(x0[i])), &fd, &err);
        int agree = fabs(grad[i] - fd) <= 10 * err;
        printf("%-7s %.12f   central difference %.12f +- %.1e%s\n", name[i], grad[i], fd, err,
               agree ? "" : "  DIFFERS");
        ok &= agree;
    }
    printf("tape held: %zu bytes\n", nb_ctx_bytes(c));
    printf("loop gradient %s\n", ok ? "ok" : "WRONG");
    nb_ctx_free(c);
    return ok ? 0 : 1;
}
