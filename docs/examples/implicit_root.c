/* implicit_root.c - the derivative of a root that a GSL solver found, without differentiating the
 * solver: the implicit function theorem on F(x, theta) = 0, F written once.
 *
 * The circle x0^2 + x1^2 = theta0 meets the line x0 = theta1 x1; gsl_multiroot's hybridsj finds
 * the crossing (nabla supplies its Jacobian), then nb_implicit_jacobian gives d(x0, x1)/d(theta0,
 * theta1) there. Prints it beside the closed form, and "implicit ok" when they agree to 1e-12.
 */
#include <math.h>
#include <stdio.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_multiroots.h>
#include <nabla/gsl.h>
#include <nabla/nabla.h>

/* F(x, theta), once: inputs x0, x1, theta0, theta1 */
static void crossing(nb_ctx *c, const nb_var *z, nb_var *y, void *env) {
    (void)env;
    y[0] = nb_sub(c, nb_add(c, nb_mul(c, z[0], z[0]), nb_mul(c, z[1], z[1])), z[2]);
    y[1] = nb_sub(c, z[0], nb_mul(c, z[3], z[1]));
}
/* the same at fixed theta, for the solver */
static void crossing_x(nb_ctx *c, const nb_var *x, nb_var *y, void *env) {
    const double *theta = env;
    nb_var z[4] = {x[0], x[1], nb_const(theta[0]), nb_const(theta[1])};
    crossing(c, z, y, NULL);
}

int main(void) {
    gsl_set_error_handler_off();
    double theta[2] = {2.5, -0.7}, x[2] = {1, 1}, J[4];
    nb_gsl_adapter *a = NULL;
    if (nb_gsl_multiroot_new(&a, crossing_x, theta, 2, NULL)) return 1;
    gsl_multiroot_fdfsolver *s = gsl_multiroot_fdfsolver_alloc(gsl_multiroot_fdfsolver_hybridsj, 2);
    gsl_vector_view x0 = gsl_vector_view_array(x, 2);
    gsl_multiroot_fdfsolver_set(s, nb_gsl_multiroot_fdf(a), &x0.vector);
    for (int it = 0; it < 100; it++)
        if (gsl_multiroot_fdfsolver_iterate(s) || gsl_multiroot_test_residual(s->f, 1e-14) == GSL_SUCCESS)
            break;
    x[0] = gsl_vector_get(s->x, 0), x[1] = gsl_vector_get(s->x, 1);
    gsl_multiroot_fdfsolver_free(s);
    nb_gsl_adapter_free(a);

    nb_ctx *c = NULL;
    if (nb_ctx_new(&c, NULL) || nb_implicit_jacobian(c, crossing, NULL, 2, 2, x, theta, J)) return 1;
    /* closed form: x1 = sqrt(theta0 / (1 + theta1^2)), x0 = theta1 x1 */
    const double q = sqrt(1 + theta[1] * theta[1]), x1 = sqrt(theta[0]) / q;
    const double d10 = 1 / (2 * sqrt(theta[0]) * q), d11 = -sqrt(theta[0]) * theta[1] / (q * q * q);
    const double want[4] = {theta[1] * d10, x1 + theta[1] * d11, d10, d11};
    int ok = fabs(x[1] - x1) < 1e-12;
    for (int k = 0; k < 4; k++) {
        printf("dx%d/dtheta%d = % .15f (closed form % .15f)\n", k / 2, k % 2, J[k], want[k]);
        ok &= fabs(J[k] - want[k]) < 1e-12;
    }
    printf(ok ? "implicit ok\n" : "implicit FAILED\n");
    nb_ctx_free(c);
    return ok ? 0 : 1;
}
