/* minimize_bfgs.c - minimize Rosenbrock's function with GSL's BFGS2; the gradient comes from
 * nabla, not from code written by hand. */
#include <stdio.h>

#include <gsl/gsl_errno.h>
#include <nabla/gsl.h>

static nb_var rosenbrock(nb_ctx *c, const nb_var *x, void *env) {
    (void)env; /* 100 (y - x^2)^2 + (1 - x)^2 */
    nb_var a = nb_sub(c, x[1], nb_powi(c, x[0], 2)), b = nb_sub(c, nb_const(1), x[0]);
    return nb_add(c, nb_mul(c, nb_const(100), nb_powi(c, a, 2)), nb_powi(c, b, 2));
}

int main(void) {
    gsl_set_error_handler_off(); /* statuses instead of aborts from GSL itself */
    nb_gsl_adapter *a;
    if (nb_gsl_multimin_new(&a, rosenbrock, NULL, 2, NULL)) return 1;
    gsl_multimin_fdfminimizer *s =
        gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, 2);
    double start[2] = {-1.2, 1};
    gsl_vector_view x0 = gsl_vector_view_array(start, 2);
    gsl_multimin_fdfminimizer_set(s, nb_gsl_multimin_fdf(a), &x0.vector, 0.01, 0.1);
    int status = GSL_CONTINUE, iter = 0;
    while (status == GSL_CONTINUE && ++iter < 200 && !gsl_multimin_fdfminimizer_iterate(s))
        status = gsl_multimin_test_gradient(s->gradient, 1e-6);
    printf("%s after %d iterations: x = (%.8f, %.8f), f = %.3g\n", gsl_strerror(status), iter,
           gsl_vector_get(s->x, 0), gsl_vector_get(s->x, 1), s->f);
    int ok = status == GSL_SUCCESS && nb_gsl_adapter_status(a) == NB_OK;
    gsl_multimin_fdfminimizer_free(s);
    nb_gsl_adapter_free(a);
    return ok ? 0 : 1;
}
