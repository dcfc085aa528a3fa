/* custom_op.c - an op of your own: Dawson's integral F(x) = e^(-x^2) int_0^x e^(t^2) dt, which
 * the registry does not have. Its value comes from GSL (gsl_sf_dawson); its derivative
 * F' = 1 - 2 x F (differentiate the definition, DLMF 7.2.5) is written once with ops on handles, and every derivative after it follows by itself: the first from a gradient, the
 * second from a Hessian (forward over reverse), the first six in one Taylor pass.
 *
 * Prints the derivatives against the ODE differentiated n times,
 * F^(n+1) = -2 x F^(n) - 2 n F^(n-1), and "custom op ok" when each agrees to 1e-12.
 */
#include <math.h>
#include <stdio.h>

#include <gsl/gsl_sf_dawson.h>
#include <nabla/nabla.h>

static double dawson_value(const double *x, size_t k, void *env) {
    (void)k, (void)env;
    return gsl_sf_dawson(x[0]);
}
static nb_status dawson_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env);
static const nb_custom_op dawson = {dawson_value, dawson_rule};

/* dF/dx = 1 - 2 x F, where F is the op itself: its own derivatives come from this rule again,
 * one level further down */
static nb_status dawson_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    nb_var F = nb_custom(c, &dawson, x, k, env);
    dfdx[0] = nb_sub(c, nb_const(1), nb_mul(c, nb_mul(c, nb_const(2), x[0]), F));
    return NB_OK;
}

/* f(x) = F(x), as any function of nabla/drivers.h */
static nb_var f(nb_ctx *c, const nb_var *x, void *env) { return nb_custom(c, &dawson, x, 1, env); }

static int agree(const char *what, double got, double want) {
    int ok = fabs(got - want) <= 1e-12 * fabs(want);
    printf("%-6s %22.15g   (from the ODE %22.15g)%s\n", what, got, want, ok ? "" : "  WRONG");
    return ok;
}

int main(void) {
    nb_ctx *c = NULL;
    if (nb_ctx_new(&c, NULL)) return 1;
    const double x = 0.8;
    double fx, g, h, d[7], ode[7];
    nb_gradient(c, f, NULL, 1, &x, &fx, &g);
    nb_hessian(c, f, NULL, 1, &x, NULL, NULL, &h);
    nb_derivatives(c, f, NULL, x, 6, d);
    ode[0] = gsl_sf_dawson(x);
    ode[1] = 1 - 2 * x * ode[0];
    for (int n = 1; n < 6; n++) ode[n + 1] = -2 * x * ode[n] - 2 * n * ode[n - 1];
    int ok = nb_ctx_status(c) == NB_OK;
    ok &= agree("F", fx, ode[0]);
    ok &= agree("F'", g, ode[1]);
    ok &= agree("F''", h, ode[2]);
    const char *name[7] = {"", "", "", "F'''", "F^(4)", "F^(5)", "F^(6)"};
    for (int n = 3; n <= 6; n++) ok &= agree(name[n], d[n], ode[n]);
    printf("custom op %s\n", ok ? "ok" : "WRONG");
    nb_ctx_free(c);
    return ok ? 0 : 1;
}
