/* check_internal.h - GSL's central difference with the facts the check's verdict needs, shared
 * by check.c and plot.c; not installed. */
#ifndef NABLA_CHECK_INTERNAL_H
#define NABLA_CHECK_INTERNAL_H

/* A function of one variable: the slice of f (or of one gradient component) along one input. */
typedef double (*nb__slice_fn)(double t, void *env);

typedef struct nb__central {
    double fd;   /* gsl_deriv_central's result */
    double err;  /* its error estimate (abserr) */
    double fmax; /* the largest |phi(t)| it evaluated (NaN when one was NaN) */
    double hmin; /* its smallest nonzero |t - x| (+inf when none) */
} nb__central;

/* gsl_deriv_central of phi at x from the initial step h (GSL may then pick a smaller one). */
void nb__central_diff(nb__slice_fn phi, void *env, double x, double h, nb__central *out);

#endif
