/* sparse_newton.c - Newton's method on a large sparse system with GSL's sparse solvers: the
 * Jacobian's nonzeros come from nabla in a few passes, straight into a gsl_spmatrix.
 *
 * Broyden's tridiagonal system (More, Garbow & Hillstrom 1981, problem 30) with n = 100000:
 * F_i(x) = (3 - 2 x_i) x_i - x_{i-1} - 2 x_{i+1} + 1 = 0 from x = (-1, ..., -1). The pattern is
 * found once from F itself and colored into 3 groups of columns, so each Jacobian takes 3
 * forward passes whatever n is (a dense one would take 100000); each Newton step J d = -F is
 * solved by GMRES.
 *
 * Prints each iteration's |F| and "sparse newton ok" when |F| < 1e-10 within 20 iterations.
 */
#include <math.h>
#include <stdio.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_splinalg.h>
#include <nabla/gsl.h>
#include <nabla/nabla.h>

/* F, written once with nabla's ops */
static void broyden(nb_ctx *c, const nb_var *x, nb_var *y, void *env) {
    const size_t n = *(const size_t *)env;
    for (size_t i = 0; i < n; i++) {
        nb_var t = nb_mul(c, nb_sub(c, nb_const(3), nb_mul(c, nb_const(2), x[i])), x[i]);
        if (i > 0) t = nb_sub(c, t, x[i - 1]);
        if (i + 1 < n) t = nb_sub(c, t, nb_mul(c, nb_const(2), x[i + 1]));
        y[i] = nb_add(c, t, nb_const(1));
    }
}

int main(void) {
    size_t n = 100000;
    nb_ctx *c = NULL;
    nb_sparse *plan = NULL;
    gsl_vector *x = gsl_vector_alloc(n), *F = gsl_vector_alloc(n), *d = gsl_vector_alloc(n);
    gsl_vector_set_all(x, -1);
    if (nb_ctx_new(&c, NULL) ||
        nb_sparse_jac_new(c, broyden, &n, n, n, x->data, NB_SPARSE_AUTO, &plan)) {
        fprintf(stderr, "plan: %s\n", nb_strerror(nb_ctx_status(c)));
        return 1;
    }
    printf("%zu nonzeros, %zu passes per Jacobian\n", nb_sparse_nnz(plan),
           nb_sparse_passes(plan));
    gsl_spmatrix *J = nb_gsl_spmatrix_new(plan);
    gsl_splinalg_itersolve *gmres =
        gsl_splinalg_itersolve_alloc(gsl_splinalg_itersolve_gmres, n, 20);
    int ok = 0;
    for (int it = 0; it < 20; it++) {
        /* F(x) into F and the Jacobian's nonzeros into J, in place */
        if (nb_sparse_jacobian(c, plan, broyden, &n, x->data, F->data, J->data)) break;
        double norm = gsl_blas_dnrm2(F);
        printf("iteration %2d: |F| = %.3e\n", it, norm);
        if (norm < 1e-10) {
            ok = 1;
            break;
        }
        gsl_vector_scale(F, -1);
        gsl_vector_set_zero(d);
        int status, k = 0;
        do status = gsl_splinalg_itersolve_iterate(J, F, 1e-10, d, gmres);
        while (status == GSL_CONTINUE && ++k < 100);
        if (status != GSL_SUCCESS) break;
        gsl_vector_add(x, d);
    }
    printf(ok ? "sparse newton ok\n" : "sparse newton FAILED: %s\n",
           nb_strerror(nb_ctx_status(c)));
    gsl_splinalg_itersolve_free(gmres);
    gsl_spmatrix_free(J);
    nb_sparse_free(plan);
    nb_ctx_free(c);
    gsl_vector_free(x);
    gsl_vector_free(F);
    gsl_vector_free(d);
    return ok ? 0 : 1;
}
