/* plot_cmd.c - nabla plot: sample f and its derivatives by automatic differentiation and draw
 * them through gnuplot, print the table (--data) or the script (--script); --check adds the
 * finite-difference overlay. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define PLOT_WORK 1e11   /* units of nb_plot_work, 1-2.5 ns each */
#define PILOT_WORK 1e7  /* 10 ms or more of arithmetic: time a pilot */
#define PILOT 16         /* its samples */
#define PLOT_SECONDS 300 /* the most a plot may take, projected from the pilot */

/* The terminal's size for a text plot: the tty's, else $COLUMNS and $LINES, else 79 x 24. */
static void text_size(int *cols, int *lines) {
    *cols = 79;
    *lines = 24;
    struct winsize ws;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20 &&
        ws.ws_row >= 8) {
        *cols = ws.ws_col;
        *lines = ws.ws_row - 1; /* room for the prompt */
        return;
    }
    const char *c = getenv("COLUMNS"), *l = getenv("LINES");
    if (c && atoi(c) >= 20 && atoi(c) <= 1000) *cols = atoi(c);
    if (l && atoi(l) >= 8 && atoi(l) <= 1000) *lines = atoi(l) - 1;
}

int cli_plot(const cli_args *a, nb_expr *e) {
    /* the plotted variable: --wrt, which the expression must use unless it uses none (a flat
     * line along a name it does not use is a typo, not a plot), else the one variable that --at
     * does not bind; a constant expression is plotted over x, or over its --wrt */
    const char *var = a->wrt;
    size_t nvars = nb_expr_var_count(e);
    if (var && nvars > 0) {
        size_t i = 0;
        while (i < nvars && strcmp(nb_expr_var_name(e, i), var) != 0) i++;
        if (i == nvars)
            return cli_usage_error(a->cmd, "--wrt %s: the expression does not use '%s'", var, var);
    } else {
        size_t unbound = 0;
        for (size_t i = 0; i < nvars; i++) {
            const char *v = nb_expr_var_name(e, i);
            if (cli_at_index(a, v) == a->nbind) {
                var = v;
                unbound++;
            }
        }
        if (unbound > 1)
            return cli_usage_error(a->cmd, "the expression uses %zu variables without a value: name "
                                           "the plotted one with --wrt and bind the others with --at",
                                   unbound);
        if (!var && nvars == 1) var = nb_expr_var_name(e, 0);
        if (!var && nvars > 1)
            return cli_usage_error(a->cmd, "every variable of the expression has an --at value, but "
                                           "the plotted one takes its values from --range: leave it "
                                           "out of --at");
        if (!var) var = "x";
    }
    /* its --at value would be dropped for the --range samples */
    if (cli_at_index(a, var) < a->nbind)
        return cli_usage_error(a->cmd, "--at %s: '%s' is the plotted variable, which takes its "
                                       "values from --range: leave it out of --at", var, var);
    /* bind the --at names and the plotted variable, last */
    size_t n = a->nbind, wrt = n;
    const char **names = malloc((n + 1) * sizeof *names);
    double *at = malloc((n + 1) * sizeof *at);
    if (!names || !at) {
        free(names);
        free(at);
        return cli_fail(CLI_ERROR, "out of memory");
    }
    for (size_t j = 0; j < n; j++) {
        names[j] = a->names[j];
        at[j] = a->values[j];
    }
    names[n] = var;
    at[n] = 0;
    n++;
    int rc = 0;
    nb_status s = nb_expr_bind(e, n, names);
    if (s)
        rc = cli_fail(CLI_ERROR, "%s%s", nb_expr_error(e),
                      s == NB_E_UNBOUND ? " (bind it with --at NAME=VALUE)" : "");

    nb_plot p;
    nb_plot_init(&p);
    if (a->have_range) {
        p.a = a->range_a;
        p.b = a->range_b;
    }
    if (a->samples) p.samples = (size_t)a->samples;
    if (a->have_timeout) p.timeout = a->timeout;
    if (a->norders) {
        p.ncurves = a->norders;
        memcpy(p.orders, a->orders, sizeof p.orders);
    } else {
        int N = a->order < 0 ? 1 : a->order;
        p.ncurves = N + 1;
        for (int k = 0; k <= N; k++) p.orders[k] = k;
    }
    char title[128];
    if (a->title) {
        p.title = a->title;
    } else {
        /* the expression, shortened when long, on one line */
        size_t k = 0;
        for (size_t i = 0; i < a->expr_len && k + 4 < sizeof title; i++) {
            char ch = a->expr[i];
            if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
            if (ch == ' ' && k > 0 && title[k - 1] == ' ') continue;
            title[k++] = ch;
        }
        while (k > 0 && title[k - 1] == ' ') k--;
        if (k + 4 >= sizeof title) memcpy(title + k, "...", 3), k += 3;
        title[k] = 0;
        p.title = title;
    }
    p.xlabel = var;
    p.output = a->output;
    p.term = a->term;
    p.check = a->check;
    p.rounding = 1;
    text_size(&p.columns, &p.lines);

    /* The sampling's work. Every option and the expression's size are within their own limits,
     * but together they reach days (a 12 KB expression at order 100 and 10^6 samples; tgamma at
     * order 100 and 10^6 samples, about an hour): refused before it starts, in two ways.
     * nb_plot_work counts samples x the program's instructions x (K + 1)^2, about 1-2.5 ns a
     * unit for the arithmetic ops: above PLOT_WORK, a few minutes' work or more, it is refused
     * outright. A special function costs from a few units (erf) to hundreds (hypot, tgamma and
     * the digamma family at order 100), which no count of instructions tells, so above
     * PILOT_WORK a pilot of PILOT samples over the same range is timed and the whole projected
     * from it: above PLOT_SECONDS, refused. */
    if (!rc) {
        const double work = nb_plot_work(&p, e);
        if (work > PLOT_WORK)
            rc = cli_fail(CLI_ERROR, "too much work for one plot: %zu samples x %zu instructions x "
                                     "(highest order + 1)^2 = %.2g (at most %.0e, a few "
                                     "minutes); lower --samples or the highest order",
                          p.samples, nb_expr_program_size(e), work, PLOT_WORK);
        else if (work > PILOT_WORK && p.samples > 4 * PILOT) {
            nb_plot q = p;
            q.samples = PILOT;
            q.check = 0;
            nb_plot_data pd = {0};
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            s = nb_plot_sample_expr(&q, e, n, at, wrt, &pd);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            nb_plot_data_free(&pd);
            const double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
            const double total = secs * (double)p.samples / PILOT;
            if (!s && total > PLOT_SECONDS)
                rc = cli_fail(CLI_ERROR, "too much work for one plot: %d samples took %.2g s, so "
                                         "%zu would take about %.0f minutes (at most %.0f); lower "
                                         "--samples or the highest order",
                              PILOT, secs, p.samples, total / 60, PLOT_SECONDS / 60.0);
        }
    }
    nb_plot_data d = {0};
    if (!rc) {
        s = nb_plot_sample_expr(&p, e, n, at, wrt, &d);
        if (s) rc = cli_fail(CLI_ERROR, "sampling failed: %s", nb_strerror(s));
    }
    /* as diff: fewer than about 8 good digits somewhere on a curve of order >= 2 */
    if (!rc && d.rounding > 1e-8)
        cli_fail(0, "warning: the curve of order %d may be good to only about %.0e relative "
                    "(at %s = %.6g), " CLI_ROUNDING_WHY,
                 d.rounding_order, d.rounding, var, d.rounding_x);
    if (!rc && !a->data) {
        /* a picture with nothing in it is made with success, so say so (log(x) over -2:-1) */
        int any = 0;
        for (size_t j = 0; j < d.n * (size_t)d.ncurves && !any; j++)
            any = isfinite(d.y[j]) && fabs(d.y[j]) <= 8.9e307;
        if (!any)
            cli_fail(0, "warning: no curve has a value to draw on [%.6g, %.6g]: the plot is empty",
                     p.a, p.b);
    }
    if (!rc && a->data) {
        /* a write error is the only failure here; the library flushes, so errno has its reason */
        errno = 0;
        if (nb_plot_write_data(stdout, &d, var)) rc = cli_write_failed(errno);
    } else if (!rc && a->script) {
        char msg[512];
        s = nb_plot_validate(&p, &d, msg, sizeof msg);
        errno = 0;
        if (s)
            rc = cli_usage_error(a->cmd, "%s", msg);
        else if ((s = nb_plot_write_script(stdout, &p, &d)) == NB_E_NOMEM)
            rc = cli_fail(CLI_ERROR, "out of memory");
        else if (s)
            rc = cli_write_failed(errno); /* validated: only a write error is left */
    } else if (!rc) {
        char msg[512];
        fflush(stdout);
        s = nb_plot_render(&p, &d, msg, sizeof msg);
        if (s == NB_E_ARG)
            rc = cli_usage_error(a->cmd, "%s", msg);
        else if (s)
            rc = cli_fail(CLI_ERROR, "%s", msg);
    }
    nb_plot_data_free(&d);
    free(names);
    free(at);
    return rc;
}
