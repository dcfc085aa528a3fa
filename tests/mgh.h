/* mgh.h - the Moré–Garbow–Hillstrom (1981) unconstrained-minimization test problems, written
 * against nabla's handle API, for the tests.
 *
 * J. J. Moré, B. S. Garbow, K. E. Hillstrom, "Testing Unconstrained Optimization Software",
 * ACM TOMS 7(1):17-41, 1981. The sizes, starting points and published minima are read from
 * tests/data/mgh1981.tsv (see tests/data/README.md); the residuals follow
 * shared/data/mgh1981-residuals.md. Implemented: problem 1 (Rosenbrock) and the 18 problems of
 * Alg. 566 `objfcn` (3, 4, 5, 7, 9, 11, 12, 14, 16, 18, 20, 21, 22, 23, 24, 25, 26, 35), each for
 * any n and m the problem allows (up to MGH_MAX_N and MGH_MAX_M).
 *
 * The objective is the plain sum of squares f(x) = sum_i r_i(x)^2, with no factor 1/2.
 */
#ifndef NABLA_TEST_MGH_H
#define NABLA_TEST_MGH_H

#include "nabla/var.h"

#define MGH_MAX_N 12  /* the largest n (the size of x0) */
#define MGH_MAX_M 100 /* the largest m the residual functions accept */

typedef struct mgh_problem {
    int no;           /* MGH problem number (1..35) */
    char name[64];
    int n, m;         /* variables, residuals */
    double x0[MGH_MAX_N]; /* starting point (n entries) */
    double fstar;     /* the published minimum f*: fstar_precise when the TSV gives one, else the
                         first number of fstar_paper */
    double fstar_alt; /* a second published minimum when the TSV gives one (the second number of
                         fstar_precise, else of fstar_paper; e.g. Biggs EXP6: 0), else NAN */
    double f_x0;      /* f at x0 from the TSV */
} mgh_problem;

/* Reads the rows of tests/data/mgh1981.tsv whose alg566_18 column is "yes", plus problem 1
 * (Rosenbrock), from the file at `path`, in file order, into out[0 .. max-1]. Returns the number
 * of rows stored (it stops at max), -1 when the file cannot be read or a selected row is malformed
 * (wrong column count, n or m out of range, x0 not n numbers). */
int mgh_load(const char *path, mgh_problem *out, int max);

/* The residuals r[0 .. m-1] of problem p at x[0 .. n-1] (an nb_vfn: env is the
 * const mgh_problem *). An unimplemented problem number gives NaN constants. */
void mgh_residuals(nb_ctx *c, const nb_var *x, nb_var *r, void *env);

/* f(x) = sum of r_i^2, the plain sum of squares, no factor 1/2 (an nb_fn: env is the problem). */
nb_var mgh_objective(nb_ctx *c, const nb_var *x, void *env);

/* The same residuals and objective on plain doubles, the same operations in the same order (for
 * finite-difference oracles); the values equal nb_value of the handle versions. */
void mgh_residuals_plain(const mgh_problem *p, const double *x, double *r);
double mgh_objective_plain(const mgh_problem *p, const double *x);

#endif
