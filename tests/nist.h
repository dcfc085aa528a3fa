/* nist.h - the NIST StRD nonlinear regression problems in tests/data/nist/ (Misra1a, Thurber,
 * Eckerle4, Rat43, BoxBOD): the data, the two certified starting points, the certified parameters
 * and residual sum of squares, and the models as residual functions on handles. */
#ifndef NABLA_TEST_NIST_H
#define NABLA_TEST_NIST_H

#include "nabla/nabla.h"

#define NIST_MAXP 8
#define NIST_MAXN 64

typedef struct nist_problem {
    char name[32];
    int p, n;
    double start[2][NIST_MAXP];
    double certified[NIST_MAXP];
    double rss;
    double x[NIST_MAXN], y[NIST_MAXN];
} nist_problem;

/* Reads one file; 0 on success. */
int nist_load(const char *path, nist_problem *out);

/* The residuals model(x_i; b) - y_i, i = 0 .. n-1 (an nb_vfn: env is the problem). */
void nist_residuals(nb_ctx *c, const nb_var *b, nb_var *r, void *env);

/* The same on plain doubles. */
void nist_residuals_plain(const nist_problem *p, const double *b, double *r);

#endif
