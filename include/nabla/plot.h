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
 * the finite values away from the poles, so one pole does not flatten the rest; a curve is broken
 * at each pole, where it jumps across the visible range, or where it jumps far more than its
 * neighbouring steps (the kink of |x| shows as a jump in f', not a vertical line); and the
 * samplers add points near each pole so that its branches are drawn out of the picture
 * (docs/plotting.md, "Poles, gaps and kinks").
 *
 * gnuplot is a program run at run time, never linked: it is started with posix_spawnp (a missing
 * program is NB_E_NOTFOUND), fed through a pipe, and its standard error is collected and
 * reported. SIGPIPE is blocked in the calling thread while writing (pthread_sigmask) and a pending
 * one is consumed, so an early exit of gnuplot is an error status, never a signal; no process-wide
 * handler is changed. gnuplot starts with SIGPIPE's default action even where the caller ignores
 * it (an ignored signal would survive exec). The child is always reaped. Only the calling thread's
 * signal mask is touched, so threads may render at once.
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
#define NB_PLOT_ROUNDING_SAMPLES 1000 /* the samples nb_plot.rounding checks, at most */

typedef struct nb_plot {
    double a, b;        /* the x range, a < b, both finite, and b - a finite too */
    size_t samples;     /* points, 2 .. NB_PLOT_MAX_SAMPLES */
    int ncurves;        /* 1 .. NB_PLOT_MAX_CURVES */
    int orders[NB_PLOT_MAX_CURVES]; /* the derivative order of each curve, 0 .. NB_PLOT_MAX_ORDER */
    /* title, xlabel and output are text, never commands: the script gives them to gnuplot as
     * literal strings (backquotes, backslashes and quotes are plain characters; control
     * characters become spaces) */
    const char *title;  /* NULL: no title */
    const char *xlabel; /* NULL: "x" */
    const char *output; /* a file to write; NULL: the terminal (or a window) */
    const char *term;   /* a gnuplot terminal; NULL: from output's extension, in any case (.png
                           pngcairo, .svg svg, .pdf pdfcairo), else a window when a display is set and gnuplot
                           has a window terminal, else dumb text; "sixel" means sixelgd */
    int columns, lines; /* the dumb terminal's size; 0: 79 x 24 */
    int check;          /* 1: also sample the finite-difference overlay (below); 0: not */
    int rounding;       /* 1: also estimate the rounding of curves of order >= 2 (two more Taylor
                           passes, as nb_taylor_derivatives_err, at up to
                           NB_PLOT_ROUNDING_SAMPLES evenly spaced samples: at most three times
                           the sampling work) into the table's rounding fields; 0: not */
    double timeout;     /* nb_plot_render: seconds gnuplot may go without reading, writing or
                           exiting before it is stopped (NB_E_CHILD); 0: no limit. Default 120 */
} nb_plot;

/* Defaults: range [-5, 5], 501 samples, curves f and f', no overlay, a 120 s timeout. */
void nb_plot_init(nb_plot *p);

/* A sampled table: x[i] (increasing) and y[c * n + i] for curve c (order orders[c]).
 *
 * The finite-difference overlay (p->check): at each sample, fd[i] is gsl_deriv_central of f
 * along the plotted variable, started from the step h = 1e-4 max(|x_i|, (b - a) / 10) (the
 * check's step, nabla/check.h, scaled to the plot's range), fd_err[i] is GSL's error estimate,
 * and fd_diff[i] = |f'(x_i) - fd[i]| with f' by automatic differentiation (whether or not order
 * 1 is one of the curves). The drawing adds fd as a dashed curve beside f and its derivatives,
 * and fd_diff and fd_err on a logarithmic second y axis: the picture of where finite differences
 * break down (steps across a pole, a jump or a kink, rounding where f is large). A zero or
 * non-finite entry is a gap there. */
typedef struct nb_plot_data {
    size_t n;
    int ncurves;
    int orders[NB_PLOT_MAX_CURVES];
    double *x;
    double *y;
    int check;       /* 1 when fd, fd_err and fd_diff hold the overlay; else they are NULL */
    double *fd;
    double *fd_err;
    double *fd_diff;
    /* with p->rounding: the largest estimated relative rounding error of a curve of order >= 2
     * over the samples checked (finite, non-zero values only; 0 when none or without
     * p->rounding), its order and its x */
    double rounding;
    int rounding_order;
    double rounding_x;
    /* Points added by the samplers near the poles the samples show, so that the drawing follows
     * each branch out of the visible range instead of stopping at the last sample (the table,
     * nb_plot_write_data, holds the samples only): next points at ext_x (ascending), the curves
     * there at ext_y[c * next + j] (NaN for a curve without that pole: not drawn); npoles poles
     * at pole_x (ascending), bit c of pole_curves[j] set when curve c's line breaks there. All
     * zero and NULL in a table without them (one filled by hand draws as before). */
    size_t next;
    double *ext_x;
    double *ext_y;
    size_t npoles;
    double *pole_x;
    unsigned *pole_curves;
} nb_plot_data;

/* Frees the table's arrays (and zeroes it); NULL is a no-op. */
void nb_plot_data_free(nb_plot_data *d);

/* Both samplers add the points near the poles the samples show (ext_x, pole_x above): at most
 * as many evaluations as samples plus 256, shared out among the poles (docs/plotting.md), not
 * counted by nb_plot_work. A function that fails
 * (an error status) at such a point and at no sample is sampled all the same: that pole gets no
 * points, and the error is cleared from the context.
 * Both samplers: where f is not finite, every derivative (at a pole, the rules' strong zero's
 * artefact: f' of 1/x^2 + x at 0 is 1, f'' is -inf where the limit is +inf; where f only
 * overflowed, or log's +inf at 0, a right value the samples cannot tell apart) is stored as NaN,
 * and so is the overlay's fd_diff there; infinite derivatives where f is finite (sqrt at 0) are
 * kept (docs/plotting.md). */

/* A count of the work of nb_plot_sample_expr(p, e, ...): p->samples times e's instructions
 * times (K + 1)^2, K the highest order p draws (at least 1). An arithmetic op costs about 1-2.5
 * ns a unit on a current machine; a special function from a few units (erf) to hundreds
 * (hypot, tgamma and the digamma family at order 100), which the count cannot tell: the
 * nabla command refuses a count above 1e11 and times a pilot of a few samples above 1e7. 0 for a
 * NULL p or e. */
double nb_plot_work(const nb_plot *p, const nb_expr *e);

/* Samples a bound expression along its bound name `wrt` (an index into the names given to
 * nb_expr_bind), the other names held at at[0 .. nvals-1] (at[wrt] is ignored), and the overlay
 * when p->check is set (f evaluated on plain doubles for the central differences). nvals must be
 * the number of names bound (nb_expr_bound_count) when the expression has variables. NB_E_ARG
 * for an invalid plot (range, samples, curves, orders), NULL arguments or another nvals;
 * NB_E_NOMEM; the expression's errors. */
nb_status nb_plot_sample_expr(const nb_plot *p, nb_expr *e, size_t nvals, const double *at,
                              size_t wrt, nb_plot_data *out);

/* Samples a user function of n inputs along input `wrt`, the others held at at[] (for the
 * overlay, f is evaluated on constant handles on c). */
nb_status nb_plot_sample_fn(const nb_plot *p, nb_ctx *c, nb_fn f, void *env, size_t n,
                            const double *at, size_t wrt, nb_plot_data *out);

/* The table as TSV: a header "x f f' ..." (xname: the first column's name, NULL: "x"), then one
 * row per sample; numbers as %.17g, NaN as nan, infinities as inf and -inf. A table with the
 * overlay has three more columns, "fd", "fd_err" and "|f'-fd|" (fd, fd_err, fd_diff). f is
 * flushed at the end: NB_E_IO on a write error, including one stdio had still buffered. */
nb_status nb_plot_write_data(FILE *f, const nb_plot_data *d, const char *xname);

/* The gnuplot script that draws d as p says, with the data inline (and d's overlay, when it has
 * one, whatever p->check says). f is flushed at the end: NB_E_IO on a write error (including one
 * stdio had still buffered), NB_E_ARG for a table with no samples or no curves, or with next or
 * npoles set and their arrays NULL, an x range
 * beyond +-8.9e307 (gnuplot takes numbers beyond about DBL_MAX / 2 as undefined; y values beyond
 * it are gaps in the drawing and the y-range stays within it), an x range narrower than 1e-303
 * or whose neighbouring samples are the same double (gnuplot draws no curve there), a term that
 * is not a plain gnuplot
 * terminal name (letters, digits, '_', at most 32), a negative or NaN timeout, an output that is
 * empty or begins with '|' (gnuplot would run it as a command) or has a control character (a
 * script line cannot hold it),
 * or an output whose extension names no format when p->term is NULL; NB_E_NOMEM when the
 * scratch for the y-range and the line breaks (about 9 bytes per sample) cannot be allocated. */
nb_status nb_plot_write_script(FILE *f, const nb_plot *p, const nb_plot_data *d);

/* Whether nb_plot_write_script and nb_plot_render accept p and d: NB_OK, or NB_E_ARG (NULL p or
 * d, or any reason listed for nb_plot_write_script) with a one-line reason in msg when msg is not
 * NULL. */
nb_status nb_plot_validate(const nb_plot *p, const nb_plot_data *d, char *msg, size_t msglen);

/* Runs gnuplot on the script. gnuplot's standard output comes back through a pipe and nabla
 * writes it: to p->output, or to file descriptor 1 for a plot without an output (flush a
 * buffered stdout first); a window terminal (qt, wxt, x11, aqua, windows) keeps the caller's
 * standard output instead. For p->output the plot is staged in an unlinked temporary file (in
 * TMPDIR, else /tmp) and copied into p->output only when gnuplot succeeded and wrote something,
 * so when gnuplot fails an existing output is untouched; p->output is then opened as usual
 * (through a symbolic link, keeping its mode and hard links). A write error during that copy
 * (a full disk) is NB_E_IO and leaves p->output as it was: an existing regular file is copied
 * aside (in TMPDIR) before and put back, a new one is removed (where no copy can be kept, a
 * write-only file or no room in TMPDIR, the plot is copied all the same and such an error leaves
 * the file incomplete). An existing output that
 * is not a regular file (a device, a FIFO) is written directly (a FIFO nobody reads is NB_E_IO at
 * once). All this holds for the terminals that write a complete plot to a pipe (pngcairo,
 * pdfcairo, svg, png, jpeg, gif, webp, dumb, sixelgd, canvas); any
 * other (epslatex and cairolatex, which write a second file named after the output; emf, which
 * seeks back to fill its header; postscript ...) is given p->output by name and writes it itself,
 * so for those a write error gnuplot makes goes unseen (gnuplot exits 0 after it); an existing
 * regular output is copied aside first and put back when the plot fails or leaves it empty, and
 * a new one is then removed. p->output is a file name, taken literally: a leading ~ is not
 * expanded (the script says ./~...). gnuplot is stopped (SIGKILL) when it goes p->timeout seconds
 * without reading, writing or exiting, and not waited for once it has exited while something
 * else (a window's helper) keeps its pipes open.
 * Returns NB_OK; NB_E_NOTFOUND when gnuplot is not installed; NB_E_IO when the output cannot be
 * written (a missing directory or a read-only file is found before gnuplot starts; a write
 * error, such as a full disk or a closed pipe, while the plot is copied); NB_E_CHILD when gnuplot
 * fails, exits early, writes nothing for an output file or is stopped; NB_E_ARG as
 * nb_plot_write_script; or NB_E_NOMEM. msg (when not NULL) receives a one-line explanation, with gnuplot's own message. */
nb_status nb_plot_render(const nb_plot *p, const nb_plot_data *d, char *msg, size_t msglen);

/* The label of a derivative order: "f", "f'", "f''", "f'''", then "f^(4)", ... */
void nb_plot_label(int order, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* NABLA_PLOT_H */
