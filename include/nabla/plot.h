/* plot.h - plotting f and its derivatives through gnuplot.
 *
 * Three steps, each usable alone:
 *   1. sample: f and the chosen derivative orders over a range, by automatic differentiation of a
 *      parsed expression or of a user function (dual numbers for orders <= 1, one Taylor pass per
 *      point beyond) - no finite differences, no symbolic formulas;
 *   2. write: the sampled table as TSV, or a complete gnuplot script with the data inline, to any
 *      FILE* (so scripts can be tested and reused);
 *   3. render: run gnuplot on that script.
 *
 * The script makes poles and kinks readable: non-finite values are gaps; the y-range comes from
 * robust percentiles of the finite values, so one pole does not flatten the rest; and a curve is
 * broken where it jumps across the visible range, or jumps far more than its neighbouring steps
 * (the kink of |x| shows as a jump in f', not a vertical line).
 *
 * gnuplot is a program run at run time, never linked: it is started with posix_spawnp (a missing
 * program is NB_E_NOTFOUND), fed through a pipe, and its standard error is collected and
 * reported. SIGPIPE is blocked in the calling thread while writing (pthread_sigmask) and a pending
 * one is consumed, so an early exit of gnuplot is an error status, never a signal; no process-wide
 * handler is changed. The child is always reaped. Only the calling thread's signal mask is
 * touched, so threads may render at once.
 */
#ifndef NABLA_PLOT_H
#define NABLA_PLOT_H

#include <stddef.h>
#include <stdio.h>

#include "nabla/drivers.h"
#include "nabla/expr.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NB_PLOT_MAX_CURVES 10
#define NB_PLOT_MAX_ORDER 100
#define NB_PLOT_MAX_SAMPLES 1000000

typedef struct nb_plot {
    double a, b;        /* the x range, a < b, both finite */
    size_t samples;     /* points, 2 .. NB_PLOT_MAX_SAMPLES */
    int ncurves;        /* 1 .. NB_PLOT_MAX_CURVES */
    int orders[NB_PLOT_MAX_CURVES]; /* the derivative order of each curve, 0 .. NB_PLOT_MAX_ORDER */
    const char *title;  /* NULL: no title */
    const char *xlabel; /* NULL: "x" */
    const char *output; /* a file to write; NULL: the terminal (or a window) */
    const char *term;   /* a gnuplot terminal; NULL: from output's extension (.png pngcairo, .svg
                           svg, .pdf pdfcairo), else a window when a display is set and gnuplot
                           has a window terminal, else dumb text; "sixel" means sixelgd */
    int columns, lines; /* the dumb terminal's size; 0: 79 x 24 */
} nb_plot;

/* Defaults: range [-5, 5], 501 samples, curves f and f'. */
void nb_plot_init(nb_plot *p);

/* A sampled table: x[i] (increasing) and y[c * n + i] for curve c (order orders[c]). */
typedef struct nb_plot_data {
    size_t n;
    int ncurves;
    int orders[NB_PLOT_MAX_CURVES];
    double *x;
    double *y;
} nb_plot_data;

/* Frees the table's arrays (and zeroes it); NULL is a no-op. */
void nb_plot_data_free(nb_plot_data *d);

/* Samples a bound expression along its bound name `wrt` (an index into the names given to
 * nb_expr_bind), the other names held at at[] (at[wrt] is ignored). NB_E_ARG for an invalid plot
 * (range, samples, curves, orders) or NULL arguments; NB_E_NOMEM; the expression's errors. */
nb_status nb_plot_sample_expr(const nb_plot *p, nb_expr *e, size_t nvals, const double *at,
                              size_t wrt, nb_plot_data *out);

/* Samples a user function of n inputs along input `wrt`, the others held at at[]. */
nb_status nb_plot_sample_fn(const nb_plot *p, nb_ctx *c, nb_fn f, void *env, size_t n,
                            const double *at, size_t wrt, nb_plot_data *out);

/* The table as TSV: a header "x f f' ..." (xname: the first column's name, NULL: "x"), then one
 * row per sample; numbers as %.17g, NaN as nan, infinities as inf and -inf. NB_E_IO on a write
 * error. */
nb_status nb_plot_write_data(FILE *f, const nb_plot_data *d, const char *xname);

/* The gnuplot script that draws d as p says, with the data inline. NB_E_IO on a write error,
 * NB_E_ARG for a table with no samples or no curves, a term that is not a plain gnuplot terminal
 * name (letters, digits, '_'), an output that is empty or begins with '|' (gnuplot would run it as
 * a command), or an output whose extension names no format when p->term is NULL. */
nb_status nb_plot_write_script(FILE *f, const nb_plot *p, const nb_plot_data *d);

/* Runs gnuplot on the script: NB_OK; NB_E_NOTFOUND when gnuplot is not installed; NB_E_IO when the
 * output file cannot be written (checked before gnuplot starts); NB_E_CHILD when gnuplot fails or
 * exits early; NB_E_ARG as nb_plot_write_script. msg (when not NULL) receives a one-line
 * explanation, with gnuplot's own message. */
nb_status nb_plot_render(const nb_plot *p, const nb_plot_data *d, char *msg, size_t msglen);

/* The label of a derivative order: "f", "f'", "f''", "f'''", then "f^(4)", ... */
void nb_plot_label(int order, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* NABLA_PLOT_H */
