/* ode_fit.c - fitting the parameters of an ODE to data with GSL's Levenberg-Marquardt, the
 * Jacobian of the residuals being the solution's sensitivities dy(t)/dp: GSL integrates them
 * with y (nb_gsl_odeiv2_sens_new), from the right-hand side written once with nabla's ops.
 *
 * Lotka-Volterra, x' = a x - b x y, y' = -c y + d x y from (1, 1); the data are the solution for
 * (a, b, c, d) = (1.5, 1, 3, 1) at t = 0.5, 1, ..., 10. The fit starts at (1, 0.5, 2, 1.5) and
 * prints "ode fit ok" when it converges to the parameters that made the data (to 1e-6).
 */
#include <math.h>
#include <stdio.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_odeiv2.h>
#include <nabla/gsl.h>
#include <nabla/nabla.h>

enum { DIM = 2, NP = 4, NT = 20 };

/* the right-hand side, once */
static void lotka(nb_ctx *c, nb_var t, const nb_var *y, const nb_var *p, nb_var *dydt, void *env) {
    (void)t, (void)env;
    nb_var xy = nb_mul(c, y[0], y[1]);
    dydt[0] = nb_sub(c, nb_mul(c, p[0], y[0]), nb_mul(c, p[1], xy));
    dydt[1] = nb_sub(c, nb_mul(c, p[3], xy), nb_mul(c, p[2], y[1]));
}

struct problem {
    nb_gsl_adapter *ode;
    double data[NT][DIM];
};

/* y(t_j) and S(t_j) = dy(t_j)/dp for j < NT at parameters p: one integration of u = (y, S) */
static int solve(struct problem *pb, const double *p, double u[NT][DIM * (1 + NP)]) {
    if (nb_gsl_odeiv2_sens_params(pb->ode, p)) return GSL_EINVAL;
    gsl_odeiv2_driver *d = gsl_odeiv2_driver_alloc_y_new(nb_gsl_odeiv2_system(pb->ode),
                                                         gsl_odeiv2_step_rk8pd, 1e-3, 1e-12, 1e-12);
    if (!d) return GSL_ENOMEM;
    double t = 0, w[DIM * (1 + NP)] = {1, 1}; /* y(0) = (1, 1), independent of p: S(0) = 0 */
    int s = GSL_SUCCESS;
    for (int j = 0; j < NT; j++) /* rows after a failed step stay NaN, never unset */
        for (int i = 0; i < DIM * (1 + NP); i++) u[j][i] = NAN;
    for (int j = 0; j < NT && s == GSL_SUCCESS; j++) {
        s = gsl_odeiv2_driver_apply(d, &t, 0.5 * (j + 1), w);
        for (int i = 0; i < DIM * (1 + NP); i++) u[j][i] = w[i];
    }
    gsl_odeiv2_driver_free(d);
    return s;
}

/* residuals r_{2j+i} = y_i(t_j) - data, and their Jacobian, the sensitivities */
static int residuals(const gsl_vector *x, void *params, gsl_vector *r) {
    struct problem *pb = params;
    double u[NT][DIM * (1 + NP)];
    int s = solve(pb, x->data, u);
    for (size_t j = 0; j < NT; j++)
        for (size_t i = 0; i < DIM; i++) gsl_vector_set(r, DIM * j + i, u[j][i] - pb->data[j][i]);
    return s;
}
static int jacobian(const gsl_vector *x, void *params, gsl_matrix *J) {
    struct problem *pb = params;
    double u[NT][DIM * (1 + NP)];
    int s = solve(pb, x->data, u);
    for (size_t j = 0; j < NT; j++)
        for (size_t i = 0; i < DIM; i++)
            for (size_t k = 0; k < NP; k++) gsl_matrix_set(J, DIM * j + i, k, u[j][DIM * (1 + k) + i]);
    return s;
}

int main(void) {
    gsl_set_error_handler_off();
    const double truth[NP] = {1.5, 1, 3, 1}, start[NP] = {1, 0.5, 2, 1.5};
    struct problem pb;
    if (nb_gsl_odeiv2_sens_new(&pb.ode, lotka, NULL, DIM, NP, truth, NULL)) return 1;
    double u[NT][DIM * (1 + NP)];
    if (solve(&pb, truth, u)) return 1; /* the data */
    for (int j = 0; j < NT; j++) pb.data[j][0] = u[j][0], pb.data[j][1] = u[j][1];

    gsl_multifit_nlinear_fdf fdf = {residuals, jacobian, NULL, DIM * NT, NP, &pb, 0, 0, 0};
    gsl_multifit_nlinear_parameters par = gsl_multifit_nlinear_default_parameters();
    gsl_multifit_nlinear_workspace *w =
        gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &par, DIM * NT, NP);
    gsl_vector_const_view x0 = gsl_vector_const_view_array(start, NP);
    gsl_multifit_nlinear_init(&x0.vector, &fdf, w);
    int info, s = gsl_multifit_nlinear_driver(200, 1e-10, 1e-10, 0, NULL, NULL, &info, w);
    const gsl_vector *x = gsl_multifit_nlinear_position(w);
    printf("%s after %zu iterations: (a, b, c, d) = (%.8f, %.8f, %.8f, %.8f)\n", gsl_strerror(s),
           gsl_multifit_nlinear_niter(w), x->data[0], x->data[1], x->data[2], x->data[3]);
    int ok = s == GSL_SUCCESS && nb_gsl_adapter_status(pb.ode) == NB_OK;
    for (int k = 0; k < NP; k++) ok &= fabs(x->data[k] - truth[k]) <= 1e-6 * truth[k];
    printf("ode fit %s\n", ok ? "ok" : "WRONG");
    gsl_multifit_nlinear_free(w);
    nb_gsl_adapter_free(pb.ode);
    return ok ? 0 : 1;
}
