/* taylor_ode.c - a Taylor series integrator in a few lines: nb_ode_taylor gives the solution's
 * Taylor coefficients at the current point to order K from the right-hand side written once, and
 * a step is the polynomial sum_k c_k h^k, with h chosen from the last two coefficients (Jorba &
 * Zou, Experimental Mathematics 14, 2005).
 *
 * Kepler's problem r'' = -r / |r|^3 with eccentricity 0.6, from the periapsis (0.4, 0) with speed
 * sqrt(1.6 / 0.4) = 2: the orbit has period 2 pi, so after one period the state is the start
 * again. Prints the steps and the error after one period for order 20, and for GSL's rk8pd at
 * its tightest useful tolerance, and "taylor ode ok" when the Taylor error is below 1e-12.
 */
#include <math.h>
#include <stdio.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_odeiv2.h>
#include <nabla/nabla.h>

enum { DIM = 4, K = 20 };
static const double PI = 3.14159265358979323846;

/* the right-hand side, once: (x, y, vx, vy)' = (vx, vy, -x / r^3, -y / r^3) */
static void kepler(nb_ctx *c, nb_var t, const nb_var *u, nb_var *du, void *env) {
    (void)t, (void)env;
    nb_var r2 = nb_add(c, nb_mul(c, u[0], u[0]), nb_mul(c, u[1], u[1]));
    nb_var ir3 = nb_pow(c, r2, nb_const(-1.5));
    du[0] = u[2];
    du[1] = u[3];
    du[2] = nb_neg(c, nb_mul(c, u[0], ir3));
    du[3] = nb_neg(c, nb_mul(c, u[1], ir3));
}

/* one period by Taylor steps of order K; returns the number of steps, or -1 on an error */
static int taylor_period(nb_ctx *c, double *u) {
    const double T = 2 * PI, tol = 1e-16;
    double t = 0, coef[DIM * (K + 1)];
    int steps = 0;
    while (t < T) {
        if (nb_ode_taylor(c, kepler, NULL, DIM, t, u, K, coef)) return -1;
        double last = 0, before = 0; /* the largest of the last two coefficients */
        for (int i = 0; i < DIM; i++) {
            last = fmax(last, fabs(coef[i * (K + 1) + K]));
            before = fmax(before, fabs(coef[i * (K + 1) + K - 1]));
        }
        double h = fmin(pow(tol / before, 1.0 / (K - 1)), pow(tol / last, 1.0 / K));
        if (t + h > T) h = T - t;
        for (int i = 0; i < DIM; i++) { /* sum_k coef_k h^k by Horner */
            double s = coef[i * (K + 1) + K];
            for (int k = K - 1; k >= 0; k--) s = s * h + coef[i * (K + 1) + k];
            u[i] = s;
        }
        t = t + h == t ? T : t + h;
        steps++;
    }
    return steps;
}

/* the same right-hand side by hand, for GSL */
static int kepler_plain(double t, const double u[], double du[], void *params) {
    (void)t, (void)params;
    const double ir3 = pow(u[0] * u[0] + u[1] * u[1], -1.5);
    du[0] = u[2], du[1] = u[3], du[2] = -u[0] * ir3, du[3] = -u[1] * ir3;
    return GSL_SUCCESS;
}

static double error(const double *u, const double *u0) {
    double e = 0;
    for (int i = 0; i < DIM; i++) e = fmax(e, fabs(u[i] - u0[i]));
    return e;
}

int main(void) {
    gsl_set_error_handler_off();
    const double u0[DIM] = {0.4, 0, 0, 2};
    nb_ctx *c = NULL;
    if (nb_ctx_new(&c, NULL)) return 1;
    double u[DIM] = {u0[0], u0[1], u0[2], u0[3]};
    int steps = taylor_period(c, u);
    double taylor_err = error(u, u0);
    printf("Taylor order %d: %d steps, error after one period %.2e\n", K, steps, taylor_err);

    const gsl_odeiv2_system sys = {kepler_plain, NULL, DIM, NULL};
    gsl_odeiv2_driver *d = gsl_odeiv2_driver_alloc_y_new(&sys, gsl_odeiv2_step_rk8pd, 1e-3, 1e-14, 0);
    double v[DIM] = {u0[0], u0[1], u0[2], u0[3]}, t = 0;
    int s = gsl_odeiv2_driver_apply(d, &t, 2 * PI, v);
    printf("GSL rk8pd, tolerance 1e-14: %s, %lu steps, error after one period %.2e\n",
           gsl_strerror(s), d->n, error(v, u0));
    gsl_odeiv2_driver_free(d);

    int ok = steps > 0 && taylor_err < 1e-12;
    printf("taylor ode %s\n", ok ? "ok" : "WRONG");
    nb_ctx_free(c);
    return ok ? 0 : 1;
}
