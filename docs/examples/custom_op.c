/* custom_op.c - an op of your own: GSL's Lambert W function, W(x) e^W(x) = x, which the registry
 * does not have. Its value comes from gsl_sf_lambert_W0; its derivative W' = W / (x (1 + W)) is
 * written once with ops on handles, and every derivative after it follows by itself: the first
 * from a gradient, the second from a Hessian (forward over reverse), the first six in one Taylor
 * pass.
 *
 * Prints the derivatives against the closed forms W' = W / (x (1 + W)),
 * W'' = -W^2 (W + 2) / (x^2 (1 + W)^3) (Corless et al., "On the Lambert W function", 1996), and
 * "custom op ok" when each agrees to 1e-12.
 */
#include <math.h>
#include <stdio.h>

#include <gsl/gsl_sf_lambert.h>
#include <nabla/nabla.h>

static double lambert_value(const double *x, size_t k, void *env) {
    (void)k, (void)env;
    return gsl_sf_lambert_W0(x[0]);
}
static nb_status lambert_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env);
static const nb_custom_op lambert_w = {lambert_value, lambert_rule};

/* dW/dx = W / (x (1 + W)), where W is the op itself: its own derivatives come from this rule
 * again, one level further down */
static nb_status lambert_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    nb_var w = nb_custom(c, &lambert_w, x, k, env);
    dfdx[0] = nb_div(c, w, nb_mul(c, x[0], nb_add(c, nb_const(1), w)));
    return NB_OK;
}

/* f(x) = W(x), as any function of nabla/drivers.h */
static nb_var f(nb_ctx *c, const nb_var *x, void *env) { return nb_custom(c, &lambert_w, x, 1, env); }

static int agree(const char *what, double got, double want) {
    int ok = fabs(got - want) <= 1e-12 * fabs(want);
    printf("%-8s %.15g (closed form %.15g)%s\n", what, got, want, ok ? "" : "  WRONG");
    return ok;
}

int main(void) {
    nb_ctx *c = NULL;
    if (nb_ctx_new(&c, NULL)) return 1;
    const double x = 2, w = gsl_sf_lambert_W0(x);
    double fx, g, h, d[7];
    nb_gradient(c, f, NULL, 1, &x, &fx, &g);
    nb_hessian(c, f, NULL, 1, &x, NULL, NULL, &h);
    nb_derivatives(c, f, NULL, x, 6, d);
    int ok = nb_ctx_status(c) == NB_OK;
    ok &= agree("W", fx, w);
    ok &= agree("W'", g, w / (x * (1 + w)));
    ok &= agree("W''", h, -w * w * (w + 2) / (x * x * pow(1 + w, 3)));
    ok &= agree("taylor'", d[1], g) & agree("taylor''", d[2], h);
    for (int k = 3; k <= 6; k++) printf("W^(%d)   %.15g\n", k, d[k]);
    printf("custom op %s\n", ok ? "ok" : "WRONG");
    nb_ctx_free(c);
    return ok ? 0 : 1;
}
