/* stiff_ode.c - a stiff ODE with GSL's BDF stepper (msbdf), which needs the Jacobian of the
 * right-hand side: written once with nabla's ops, differentiated by nabla. Van der Pol's
 * oscillator with mu = 1000, y0'' = mu (1 - y0^2) y0' - y0, as the system y0' = y1,
 * y1' = mu (1 - y0^2) y1 - y0, from (2, 0) to t = 3000.
 *
 * Prints the state at t = 3000 with nabla's Jacobian and with a hand-written one, and "stiff ode
 * ok" when both succeed and agree to 1e-5 (they differ in the 7th digit: the two Jacobians round
 * differently, and the oscillator's sharp transitions amplify that).
 */
#include <math.h>
#include <stdio.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_odeiv2.h>
#include <nabla/gsl.h>
#include <nabla/nabla.h>

static const double MU = 1000;

/* the right-hand side, once */
static void van_der_pol(nb_ctx *c, nb_var t, const nb_var *y, nb_var *dydt, void *env) {
    (void)t, (void)env;
    nb_var damping = nb_mul(c, nb_const(MU), nb_sub(c, nb_const(1), nb_mul(c, y[0], y[0])));
    dydt[0] = y[1];
    dydt[1] = nb_sub(c, nb_mul(c, damping, y[1]), y[0]);
}

/* the same by hand, with its Jacobian, for comparison */
static int f_hand(double t, const double y[], double dydt[], void *params) {
    (void)t, (void)params;
    dydt[0] = y[1];
    dydt[1] = MU * (1 - y[0] * y[0]) * y[1] - y[0];
    return GSL_SUCCESS;
}
static int jac_hand(double t, const double y[], double *dfdy, double dfdt[], void *params) {
    (void)t, (void)params;
    dfdy[0] = 0, dfdy[1] = 1;
    dfdy[2] = -2 * MU * y[0] * y[1] - 1, dfdy[3] = MU * (1 - y[0] * y[0]);
    dfdt[0] = dfdt[1] = 0;
    return GSL_SUCCESS;
}

static int solve(const gsl_odeiv2_system *sys, double y[2]) {
    gsl_odeiv2_driver *d = gsl_odeiv2_driver_alloc_y_new(sys, gsl_odeiv2_step_msbdf, 1e-6, 1e-8, 1e-8);
    if (!d) return GSL_ENOMEM;
    double t = 0;
    y[0] = 2, y[1] = 0;
    int status = gsl_odeiv2_driver_apply(d, &t, 3000, y);
    gsl_odeiv2_driver_free(d);
    return status;
}

int main(void) {
    gsl_set_error_handler_off();
    nb_gsl_adapter *a = NULL;
    if (nb_gsl_odeiv2_new(&a, van_der_pol, NULL, 2, NULL)) return 1;
    const gsl_odeiv2_system hand = {f_hand, jac_hand, 2, NULL};
    double y[2], yh[2];
    int s1 = solve(nb_gsl_odeiv2_system(a), y), s2 = solve(&hand, yh);
    printf("nabla's Jacobian: %s, y(3000) = (%.8f, %.8f)\n", gsl_strerror(s1), y[0], y[1]);
    printf("hand-written:     %s, y(3000) = (%.8f, %.8f)\n", gsl_strerror(s2), yh[0], yh[1]);
    int ok = s1 == GSL_SUCCESS && s2 == GSL_SUCCESS && nb_gsl_adapter_status(a) == NB_OK &&
             fabs(y[0] - yh[0]) <= 1e-5 * fabs(yh[0]) && fabs(y[1] - yh[1]) <= 1e-5 * fabs(yh[1]);
    printf("stiff ode %s\n", ok ? "ok" : "WRONG");
    nb_gsl_adapter_free(a);
    return ok ? 0 : 1;
}
