/* oracle.h - shared test helpers: tolerant float comparison and GSL's central difference as an
 * independent derivative oracle. */
#ifndef NABLA_TEST_ORACLE_H
#define NABLA_TEST_ORACLE_H

#include <math.h>
#include <stdlib.h>
#include <criterion/criterion.h>
#include <gsl/gsl_deriv.h>

#include "nabla/ctx.h"

/* |a - b| <= rel * max(|a|, |b|) + abs_floor, with equal infinities and two NaNs counting as
 * equal (the tests compare NaN policies too). */
static inline int close_to(double a, double b, double rel, double abs_floor) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    if (isinf(a) || isinf(b)) return a == b;
    double m = fmax(fabs(a), fabs(b));
    return fabs(a - b) <= rel * m + abs_floor;
}

/* A fresh context with the default options; the test stops if it cannot be made. */
static inline nb_ctx *new_ctx(void) {
    nb_ctx *c = NULL;
    cr_assert_eq(nb_ctx_new(&c, NULL), NB_OK);
    return c;
}

/* A context whose tape may hold at most max_tape_bytes (nb_ctx_opts). */
static inline nb_ctx *capped_ctx(size_t max_tape_bytes) {
    nb_ctx_opts o;
    nb_ctx_opts_init(&o);
    o.max_tape_bytes = max_tape_bytes;
    nb_ctx *c = NULL;
    cr_assert_eq(nb_ctx_new(&c, &o), NB_OK);
    return c;
}

/* A uniform double in [lo, hi) from a 64-bit linear congruential state s (reproducible across
 * platforms, unlike rand()). */
static inline double uniform(unsigned long long *s, double lo, double hi) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + (hi - lo) * (double)(*s >> 11) / 9007199254740992.0;
}

/* d/dx f at x by gsl_deriv_central, with its error estimate. */
static inline double fd_central(double (*f)(double, void *), void *params, double x, double h,
                                double *abserr) {
    gsl_function F;
    F.function = f;
    F.params = params;
    double result;
    gsl_deriv_central(&F, x, h, &result, abserr);
    return result;
}

/* An allocation hook (nb_ctx_opts.alloc) that fails the k-th allocation, counting from 1, and
 * frees correctly: for tests that walk every allocation failure in turn. */
struct failing {
    int count, fail_at;
};
static inline void *failing_alloc(void *ud, void *ptr, size_t old, size_t size) {
    struct failing *f = (struct failing *)ud;
    (void)old;
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    if (++f->count == f->fail_at) return NULL;
    return realloc(ptr, size);
}

/* Context options whose allocations go through failing_alloc, counted in f. */
static inline nb_ctx_opts failing_opts(struct failing *f) {
    nb_ctx_opts o;
    nb_ctx_opts_init(&o);
    o.alloc = failing_alloc;
    o.alloc_ud = f;
    return o;
}

/* An allocation hook (nb_ctx_opts.alloc) that counts the bytes held and their peak. */
struct alloc_peak {
    size_t bytes, peak;
};
static inline void *peak_alloc(void *ud, void *ptr, size_t old, size_t size) {
    struct alloc_peak *k = (struct alloc_peak *)ud;
    k->bytes = k->bytes - old + size;
    if (k->bytes > k->peak) k->peak = k->bytes;
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, size);
}

/* Context options whose allocations go through peak_alloc, counted in k. */
static inline nb_ctx_opts peak_opts(struct alloc_peak *k) {
    nb_ctx_opts o;
    nb_ctx_opts_init(&o);
    o.alloc = peak_alloc;
    o.alloc_ud = k;
    return o;
}

#endif
