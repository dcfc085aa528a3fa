/* bench.c - timing and median-of-ratios for the benchmarks. */
#define _POSIX_C_SOURCE 199309L
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

volatile double bench_sink;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Seconds per call of f, repeating until min_seconds have passed. */
static double time_one(bench_fn f, void *env, double min_seconds) {
    int reps = 0;
    double t0 = now(), t;
    do {
        f(env);
        reps++;
        t = now() - t0;
    } while (t < min_seconds);
    return t / reps;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_ratio(bench_fn plain, bench_fn mode, void *env, int pairs, double min_seconds) {
    if (pairs < 5) pairs = 5;
    double *r = malloc((size_t)pairs * sizeof *r);
    if (!r) return -1;
    plain(env); /* warm caches and pages */
    mode(env);
    for (int i = 0; i < pairs; i++) {
        double tp = time_one(plain, env, min_seconds);
        double tm = time_one(mode, env, min_seconds);
        r[i] = tm / tp;
    }
    qsort(r, (size_t)pairs, sizeof *r, cmp_double);
    double med = pairs % 2 ? r[pairs / 2] : 0.5 * (r[pairs / 2 - 1] + r[pairs / 2]);
    free(r);
    return med;
}

struct floor {
    bench_fn plain;
    void *env;
    size_t words;
    double *buf;
};
static void floor_plain(void *p) {
    struct floor *f = p;
    f->plain(f->env);
}
static void floor_traffic(void *p) {
    struct floor *f = p;
    double *b = f->buf, s = 0;
    for (size_t i = 0; i < f->words; i++) b[i] = (double)i;
    for (size_t i = f->words; i-- > 0;) s += b[i];
    bench_sink = s;
}
double bench_floor_ratio(bench_fn plain, void *env, size_t bytes, int pairs, double min_seconds) {
    struct floor f = {plain, env, bytes / sizeof(double), malloc(bytes + 1)};
    if (!f.buf) return -1;
    const double r = bench_ratio(floor_plain, floor_traffic, &f, pairs, min_seconds);
    free(f.buf);
    return r;
}

void bench_report(const char *workload, const char *mode, double ratio) {
    printf("BENCH %s %s %.3f\n", workload, mode, ratio);
    fflush(stdout);
}

void bench_info(const char *workload, const char *key, double value) {
    printf("BENCHINFO %s %s %.6g\n", workload, key, value);
    fflush(stdout);
}

double bench_uniform(unsigned long long *state, double lo, double hi) {
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    double u = (double)(*state >> 11) * (1.0 / 9007199254740992.0);
    return lo + (hi - lo) * u;
}
