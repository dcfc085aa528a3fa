/* bench_plot.c - plotting.
 *   table  f, f', f'' of sin(x)*exp(-x^2) at 10^6 points (nb_plot_sample_expr: a Taylor pass of
 *          order 2 per point), mode `table2`, against the plain C loop for f alone
 * BENCHINFO plot: the time of `nabla plot 'sin(x)*exp(-x^2)' -o x.png` (501 samples, f and f')
 * split into sampling and gnuplot (medians of 5; absolute times, for the proportion only). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "nabla/nabla.h"

enum { N = 1000000 };

struct env {
    double *y;
    nb_expr *e;
    nb_plot p;
};

static void plain(void *p) {
    struct env *e = p;
    for (size_t i = 0; i < N; i++) {
        double x = -3 + 6.0 * (double)i / (N - 1);
        e->y[i] = sin(x) * exp(-x * x);
    }
    bench_sink = e->y[N / 2];
}
static void table2(void *p) {
    struct env *e = p;
    nb_plot_data d;
    double at = 0;
    nb_plot_sample_expr(&e->p, e->e, 1, &at, 0, &d);
    bench_sink = d.y[2 * d.n + d.n / 2];
    nb_plot_data_free(&d);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void) {
    struct env e;
    e.y = malloc(N * sizeof *e.y);
    const char *src = "sin(x)*exp(-x^2)", *names[1] = {"x"};
    if (!e.y || nb_expr_parse(&e.e, src, strlen(src), NULL) || nb_expr_bind(e.e, 1, names)) return 1;
    nb_plot_init(&e.p);
    e.p.a = -3;
    e.p.b = 3;
    e.p.samples = N;
    e.p.ncurves = 3;
    e.p.orders[2] = 2;
    bench_report("table", "table2", bench_ratio(plain, table2, &e, 5, 0.1));

    /* the default plot, sampling against rendering */
    char path[] = "/tmp/nabla-bench-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return 1;
    close(fd);
    char png[64];
    snprintf(png, sizeof png, "%s.png", path);
    nb_plot_init(&e.p);
    e.p.output = png;
    double ts[5], tr[5];
    for (int r = 0; r < 5; r++) {
        nb_plot_data d;
        double at = 0, t0 = now();
        nb_plot_sample_expr(&e.p, e.e, 1, &at, 0, &d);
        double t1 = now();
        nb_status s = nb_plot_render(&e.p, &d, NULL, 0);
        double t2 = now();
        nb_plot_data_free(&d);
        if (s) {
            fprintf(stderr, "render failed: %s\n", nb_strerror(s));
            break;
        }
        ts[r] = t1 - t0;
        tr[r] = t2 - t1;
    }
    qsort(ts, 5, sizeof *ts, cmp);
    qsort(tr, 5, sizeof *tr, cmp);
    bench_info("plot", "sampling_ms", 1e3 * ts[2]);
    bench_info("plot", "gnuplot_ms", 1e3 * tr[2]);
    bench_info("plot", "sampling_share", ts[2] / (ts[2] + tr[2]));
    unlink(png);
    unlink(path);
    nb_expr_free(e.e);
    free(e.y);
    return 0;
}
