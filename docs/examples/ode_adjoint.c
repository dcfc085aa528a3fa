/* ode_adjoint.c - recovering an unknown force from observations of the motion it caused: many
 * parameters, one scalar loss, so the gradient comes from the adjoint method
 * (nb_ode_adjoint_solve, nb_ode_adjoint_vjp) and GSL's BFGS2 minimizes.
 *
 * A damped oscillator x'' + 0.3 x' + 4 x = F(t) on [0, 10] starts at rest; the force is a sum
 * of 20 Gaussian bumps, F(t) = sum_k p_k exp(-((t - k/2) / 0.4)^2), with unknown weights p. The
 * data are x at t = 0.2, 0.4, ..., 10 for the weights p_k = sin(k / 3). Starting from p = 0 the
 * fit minimizes the sum of squared misfits; each gradient is one forward solve with rk8pd and one
 * backward solve of the adjoint system (2 + 20 states) - forward sensitivities would carry
 * 2 (1 + 20) = 42. Prints "ode adjoint ok" when the misfit falls below 1e-10 of its start and
 * the force is recovered at t = 2.5, 5 and 7.5 to 1e-3.
 */
#include <math.h>
#include <stdio.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>
#include <nabla/gsl.h>
#include <nabla/nabla.h>

enum { NP = 20, NT = 50 };

static double bump(double t, int k) { return exp(-pow((t - 0.5 * k) / 0.4, 2)); }

/* the right-hand side, once: y = (x, v) */
static void oscillator(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *p, nb_var *dydt,
                       void *env) {
    (void)env;
    nb_var F = nb_const(0);
    for (int k = 0; k < NP; k++) {
        const nb_var z = nb_div(c, nb_sub(c, t, nb_const(0.5 * k)), nb_const(0.4));
        F = nb_add(c, F, nb_mul(c, p[k], nb_exp(c, nb_neg(c, nb_mul(c, z, z)))));
    }
    dydt[0] = y[1];
    dydt[1] = nb_sub(c, F, nb_add(c, nb_mul(c, nb_const(0.3), y[1]), nb_mul(c, nb_const(4), y[0])));
}

struct fit {
    nb_ode_adjoint *a;
    double times[NT], data[NT];
    double Y[NT * 2], W[NT * 2];
    int failed;
};

/* the misfit at p, and dL/dY into W */
static double misfit(struct fit *f, const double *p) {
    static const double y0[2] = {0, 0};
    if (nb_ode_adjoint_solve(f->a, p, 0, y0, NT, f->times, f->Y)) {
        f->failed = 1;
        return NAN;
    }
    double L = 0;
    for (int j = 0; j < NT; j++) {
        const double r = f->Y[2 * j] - f->data[j];
        L += r * r;
        f->W[2 * j] = 2 * r; /* only x is observed */
        f->W[2 * j + 1] = 0;
    }
    return L;
}

static double fit_f(const gsl_vector *x, void *q) { return misfit(q, x->data); }
static void fit_fdf(const gsl_vector *x, void *q, double *L, gsl_vector *g) {
    struct fit *f = q;
    const double v = misfit(f, x->data);
    if (L) *L = v;
    if (!f->failed && nb_ode_adjoint_vjp(f->a, f->W, NULL, g->data)) f->failed = 1;
    if (f->failed) gsl_vector_set_all(g, NAN);
}
static void fit_df(const gsl_vector *x, void *q, gsl_vector *g) { fit_fdf(x, q, NULL, g); }

int main(void) {
    gsl_set_error_handler_off();
    static struct fit f;
    double truth[NP];
    for (int k = 0; k < NP; k++) truth[k] = sin(k / 3.0);
    for (int j = 0; j < NT; j++) f.times[j] = 0.2 * (j + 1);
    nb_ode_adjoint_opts o;
    nb_ode_adjoint_opts_init(&o);
    if (nb_ode_adjoint_new(&f.a, oscillator, NULL, 2, NP, &o, NULL)) return 1;
    misfit(&f, truth); /* the data: x at the true weights */
    if (f.failed) return 1;
    for (int j = 0; j < NT; j++) f.data[j] = f.Y[2 * j];

    gsl_multimin_function_fdf F = {fit_f, fit_df, fit_fdf, (size_t)NP, &f};
    gsl_vector *x = gsl_vector_calloc(NP);
    gsl_multimin_fdfminimizer *s =
        gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, NP);
    if (!x || !s) return 1;
    const double L0 = misfit(&f, x->data);
    gsl_multimin_fdfminimizer_set(s, &F, x, 0.1, 0.1);
    int iter = 0;
    while (++iter < 500 && !gsl_multimin_fdfminimizer_iterate(s) &&
           gsl_multimin_test_gradient(s->gradient, 1e-8) == GSL_CONTINUE)
        ;
    double worst = 0;
    for (int m = 1; m <= 3; m++) { /* the force at t = 2.5, 5, 7.5 */
        double got = 0, want = 0;
        for (int k = 0; k < NP; k++) {
            got += gsl_vector_get(s->x, (size_t)k) * bump(2.5 * m, k);
            want += truth[k] * bump(2.5 * m, k);
        }
        worst = fmax(worst, fabs(got - want));
    }
    size_t fs, bs;
    fit_df(s->x, &f, s->gradient); /* one more gradient, to show its cost */
    nb_ode_adjoint_steps(f.a, &fs, &bs);
    printf("%d iterations: misfit %.3g (from %.3g); force error at t = 2.5, 5, 7.5: %.2g; "
           "a gradient: %zu steps forward, %zu backward\n",
           iter, s->f, L0, worst, fs, bs);
    const int ok = !f.failed && s->f < 1e-10 * L0 && worst < 1e-3;
    if (ok) printf("ode adjoint ok\n");
    gsl_multimin_fdfminimizer_free(s);
    gsl_vector_free(x);
    nb_ode_adjoint_free(f.a);
    return ok ? 0 : 1;
}
