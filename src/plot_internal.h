/* plot_internal.h - shared between plot.c and gnuplot.c; not installed. */
#ifndef NABLA_PLOT_INTERNAL_H
#define NABLA_PLOT_INTERNAL_H

#include "nabla/plot.h"

/* The y-range the script shows: the curves' values away from their poles, with margins (docs/plotting.md);
 * NB_E_NOMEM when its scratch cannot be allocated. */
nb_status nb__plot_yrange(const nb_plot_data *d, double *lo, double *hi);

/* 1 when the line of curve y must be broken between samples i and i+1 (a gap, a pole, a jump). */
int nb__plot_break(const double *y, size_t n, size_t i, double lo, double hi);

/* NB_E_ARG (with a one-line reason in msg when not NULL) for a table with no samples or curves,
 * a terminal name that is not a plain word, an output that is empty or a pipe ('|...'), or an
 * output whose extension names no format when term is NULL; else NB_OK. */
nb_status nb__plot_check(const nb_plot *p, const nb_plot_data *d, char *msg, size_t msglen);

/* The gnuplot terminal for p (NULL when p's output extension names none, or the terminal name is not a plain word); *dumb tells a text
 * plot. */
const char *nb__plot_terminal(const nb_plot *p, int *dumb);

#endif
