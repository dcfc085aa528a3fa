/* test_cxx.cpp - every public header compiles as C++11 (with -Wpedantic, the build's warning
 * level 3), and the inline ops, a driver, dual numbers and a GSL adapter give the same numbers
 * from C++ as from C. A plain program: built only when a C++ compiler is found. */
#include <cmath>
#include <cstdio>

#include <gsl/gsl_multimin.h>

#include "nabla/gsl.h"
#include "nabla/nabla.h"

static int failures = 0;

static void check(const char *what, double got, double want, double rel) {
    if (!(std::fabs(got - want) <= rel * std::fabs(want))) {
        std::printf("FAIL %s: %.17g, expected %.17g\n", what, got, want);
        failures++;
    }
}

/* f(x) = sin(x0) * x1 + x0 * x0 * x1 */
static nb_var f(nb_ctx *c, const nb_var *x, void *) {
    return nb_add(c, nb_mul(c, nb_sin(c, x[0]), x[1]), nb_mul(c, nb_mul(c, x[0], x[0]), x[1]));
}

int main() {
    nb_ctx *c = nullptr;
    if (nb_ctx_new(&c, nullptr) != NB_OK) return 1;
    const double x[2] = {0.5, 1.5};

    /* the inline ops on a reverse level */
    nb_push(c, NB_REVERSE);
    nb_var h[2] = {nb_rev_input(c, nb_const(x[0])), nb_rev_input(c, nb_const(x[1]))};
    nb_var y = f(c, h, nullptr);
    nb_backward(c, y);
    check("f", nb_value(y), std::sin(0.5) * 1.5 + 0.25 * 1.5, 1e-15);
    check("df/dx0", nb_value(nb_grad(c, h[0])), std::cos(0.5) * 1.5 + 2 * 0.5 * 1.5, 1e-15);
    check("df/dx1", nb_value(nb_grad(c, h[1])), std::sin(0.5) + 0.25, 1e-15);
    nb_pop(c);

    /* a driver: the Hessian by forward over reverse */
    double H[4];
    if (nb_hessian(c, f, nullptr, 2, x, nullptr, nullptr, H) != NB_OK) failures++;
    check("H00", H[0], -std::sin(0.5) * 1.5 + 3, 1e-14);
    check("H01", H[1], std::cos(0.5) + 1, 1e-14);
    check("H10", H[2], std::cos(0.5) + 1, 1e-14);
    if (H[3] != 0) failures++;

    /* dual numbers, no context */
    nb_dual d = nb_dual_mul(nb_dual_sin(nb_dual_var(0.5)), nb_dual_exp(nb_dual_var(0.5)));
    check("dual", d.d, (std::cos(0.5) + std::sin(0.5)) * std::exp(0.5), 1e-15);

    /* a GSL adapter: the gradient GSL asks for */
    nb_gsl_adapter *a = nullptr;
    if (nb_gsl_multimin_new(&a, f, nullptr, 2, nullptr) != NB_OK) return 1;
    gsl_multimin_function_fdf *fdf = nb_gsl_multimin_fdf(a);
    gsl_vector *gx = gsl_vector_alloc(2), *g = gsl_vector_alloc(2);
    gsl_vector_set(gx, 0, x[0]);
    gsl_vector_set(gx, 1, x[1]);
    fdf->df(gx, fdf->params, g);
    check("gsl df/dx0", gsl_vector_get(g, 0), std::cos(0.5) * 1.5 + 1.5, 1e-15);
    gsl_vector_free(gx);
    gsl_vector_free(g);
    nb_gsl_adapter_free(a);

    nb_ctx_free(c);
    if (failures) std::printf("%d failures\n", failures);
    return failures != 0;
}
