/* bench.h - the benchmark harness: ratios of a mode's time to the plain double version of the
 * same workload, measured right before it, median over several pairs (docs/benchmarks.md).
 *
 * Output lines: "BENCH <workload> <mode> <ratio>" and "BENCHINFO <workload> <key> <value>". */
#ifndef NABLA_BENCH_H
#define NABLA_BENCH_H

#include <stddef.h>

typedef void (*bench_fn)(void *env);

/* Runs plain then mode, `pairs` times (at least 5); each timing repeats its function until it
 * has taken at least min_seconds. Returns the median of the pairwise ratios mode / plain. */
double bench_ratio(bench_fn plain, bench_fn mode, void *env, int pairs, double min_seconds);

/* Prints "BENCH workload mode ratio" and flushes. */
void bench_report(const char *workload, const char *mode, double ratio);

/* Prints "BENCHINFO workload key value" and flushes. */
void bench_info(const char *workload, const char *key, double value);

/* The floor of a workload's memory traffic: bench_floor_ratio times writing `bytes` once with
 * ordinary stores and reading them back once, last first as a reverse sweep reads a tape, in
 * plain C, against plain(env) (a lower bound on any method that stores that many bytes and
 * reads them back, where they are far larger than the caches). -1 when the buffer cannot be
 * allocated. */
double bench_floor_ratio(bench_fn plain, void *env, size_t bytes, int pairs, double min_seconds);

/* A sink the compiler cannot see through, so that benchmarked results are not optimized away. */
extern volatile double bench_sink;

/* Deterministic uniform numbers in [lo, hi) (a 64-bit LCG; no global state). */
double bench_uniform(unsigned long long *state, double lo, double hi);

#endif
