/* kepler.c - derivatives of any order through a root solve: Kepler's equation E - e sin E = M
 * gives the eccentric anomaly E(M) of an orbit of eccentricity e, solved here by Newton's method
 * on doubles. nb_implicit turns that solver and the equation, written once with nabla's ops,
 * into an op whose derivatives of every order are exact (the implicit function theorem,
 * differentiated again and again), with no derivative written by hand.
 *
 * Prints E and dE/dM .. d^6E/dM^6 at M = 1 for e = 0.3 (one Taylor pass), checks the first
 * against the closed form 1 / (1 - e cos E), and checks that the Taylor polynomial they make
 * predicts E at M + h with the error of order 7: halving h divides it by about 128. Prints
 * "kepler ok" when both hold.
 */
#include <math.h>
#include <stdio.h>

#include <nabla/nabla.h>

static const double ECC = 0.3;

/* F(E, M) = E - e sin E - M, written once */
static nb_var kepler_F(nb_ctx *c, const nb_var *z, void *env) {
    (void)env;
    return nb_sub(c, nb_sub(c, z[0], nb_mul(c, nb_const(ECC), nb_sin(c, z[0]))), z[1]);
}
/* its root on doubles: Newton's method */
static double kepler_solve(const double *M, size_t k, void *env) {
    (void)k, (void)env;
    double E = M[0];
    for (int it = 0; it < 50; it++) {
        const double step = (E - ECC * sin(E) - M[0]) / (1 - ECC * cos(E));
        E -= step;
        if (fabs(step) <= 1e-16 * (1 + fabs(E))) break;
    }
    return E;
}
static const nb_implicit_def kepler = {kepler_F, kepler_solve, NULL};

static nb_var anomaly(nb_ctx *c, const nb_var *M, void *env) {
    (void)env;
    return nb_implicit(c, &kepler, M, 1);
}

int main(void) {
    nb_ctx *c = NULL;
    const double M = 1.0;
    double d[7];
    if (nb_ctx_new(&c, NULL) || nb_derivatives(c, anomaly, NULL, M, 6, d)) return 1;
    for (int n = 0; n <= 6; n++) printf("d^%dE/dM^%d = % .15f\n", n, n, d[n]);
    int ok = fabs(d[1] - 1 / (1 - ECC * cos(d[0]))) < 1e-14;
    /* the Taylor polynomial of order 6 at M predicts E(M + h) to O(h^7): halving h divides the
     * error by 2^7 = 128 (by 64 or less if any derivative up to the sixth were wrong) */
    double prev = 0;
    for (double h = 0.1; h > 0.02; h /= 2) {
        double p = 0, hn = 1, fact = 1;
        for (int n = 0; n <= 6; n++) {
            p += d[n] * hn / fact;
            hn *= h, fact *= n + 1;
        }
        const double mh = M + h, err = fabs(p - kepler_solve(&mh, 1, NULL));
        printf("h = %.4f: |E(M + h) - Taylor| = %.2e\n", h, err);
        if (prev > 0) ok &= prev / err > 100;
        prev = err;
    }
    printf(ok ? "kepler ok\n" : "kepler FAILED\n");
    nb_ctx_free(c);
    return ok ? 0 : 1;
}
