/* bench_rev.c - reverse mode (record + backward on a warm tape, `rev`), forward mode through
 * handles (`fwd`) and hand-written derivatives (`hand`), each against the plain double function.
 *
 *   rosen  extended Rosenbrock sum_i 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2, n = 10^6: gradient
 *          (rev_custom: each term one custom op, nabla/custom.h)
 *   chain  sum_i sin(exp(x_i) cos(x_{i+1})) + log(1 + x_i^2) tanh(x_i), n = 10^5: gradient (rev,
 *          hand) and one directional derivative (fwd)
 * BENCHINFO rosen bytes_per_op: tape bytes in use after recording (statements, operand indices,
 * partials) per registry op recorded.
 * rosen tape_floor: no derivative, only the memory traffic of a tape of that size: the bytes
 * rosen's recording holds written once with ordinary stores and read back once (bench.h), a
 * floor under `rev` at n = 10^6, where the tape is far larger than any cache. */
#include <math.h>
#include <stdlib.h>

#include "bench.h"
#include "nabla/nabla.h"

/* bench_rev_o2 is this file built at -O2 (the optimization level of many users' builds, and
 * meson's debugoptimized), its modes suffixed "_o2". */
#ifndef BENCH_SUFFIX
#define BENCH_SUFFIX ""
#endif

enum { ROSEN_N = 1000000, CHAIN_N = 100000 };

struct env {
    size_t n;
    double *x, *v, *g;
    nb_ctx *c;
    nb_var *in;
};

/* ---- rosen ---- */
static void rosen_plain(void *p) {
    struct env *e = p;
    const double *x = e->x;
    double s = 0;
    for (size_t i = 0; i + 1 < e->n; i++) {
        double a = x[i + 1] - x[i] * x[i], b = 1 - x[i];
        s += 100 * a * a + b * b;
    }
    bench_sink = s;
}
static void rosen_hand(void *p) {
    struct env *e = p;
    const double *x = e->x;
    double *g = e->g, s = 0;
    g[0] = 0;
    for (size_t i = 0; i + 1 < e->n; i++) {
        double a = x[i + 1] - x[i] * x[i], b = 1 - x[i];
        s += 100 * a * a + b * b;
        g[i] += -400 * a * x[i] - 2 * b;
        g[i + 1] = 200 * a;
    }
    bench_sink = s + g[e->n / 2];
}
static nb_var rosen_f(nb_ctx *c, const nb_var *x, size_t n) {
    nb_var s = nb_const(0);
    for (size_t i = 0; i + 1 < n; i++) {
        nb_var a = nb_sub(c, x[i + 1], nb_mul(c, x[i], x[i]));
        nb_var b = nb_sub(c, nb_const(1), x[i]);
        s = nb_add(c, s, nb_add(c, nb_mul(c, nb_const(100), nb_mul(c, a, a)), nb_mul(c, b, b)));
    }
    return s;
}
/* the same, one custom op (nabla/custom.h) per term: its value and partials on doubles at depth 1,
 * one statement of two operands where the registry's ops record seven (and the add into the sum
 * in both) */
static double term_value(const double *x, size_t k, void *env) {
    (void)k, (void)env;
    double a = x[1] - x[0] * x[0], b = 1 - x[0];
    return 100 * a * a + b * b;
}
static nb_status term_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *d, void *env) {
    (void)k, (void)env;
    nb_var a = nb_sub(c, x[1], nb_mul(c, x[0], x[0])), b = nb_sub(c, nb_const(1), x[0]);
    d[0] = nb_sub(c, nb_mul(c, nb_const(-400), nb_mul(c, a, x[0])), nb_mul(c, nb_const(2), b));
    d[1] = nb_mul(c, nb_const(200), a);
    return NB_OK;
}
static const nb_custom_op rosen_term = {term_value, term_rule};
static void rosen_rev_custom(void *p) {
    struct env *e = p;
    nb_reset(e->c);
    for (size_t i = 0; i < e->n; i++) e->in[i] = nb_rev_input(e->c, nb_const(e->x[i]));
    nb_var y = nb_const(0);
    for (size_t i = 0; i + 1 < e->n; i++) y = nb_add(e->c, y, nb_custom(e->c, &rosen_term, e->in + i, 2, NULL));
    nb_backward(e->c, y);
    for (size_t i = 0; i < e->n; i++) e->g[i] = nb_value(nb_grad(e->c, e->in[i]));
    bench_sink = nb_value(y) + e->g[e->n / 2];
}
static void rosen_rev(void *p) {
    struct env *e = p;
    nb_reset(e->c);
    for (size_t i = 0; i < e->n; i++) e->in[i] = nb_rev_input(e->c, nb_const(e->x[i]));
    nb_var y = rosen_f(e->c, e->in, e->n);
    nb_backward(e->c, y);
    for (size_t i = 0; i < e->n; i++) e->g[i] = nb_value(nb_grad(e->c, e->in[i]));
    bench_sink = nb_value(y) + e->g[e->n / 2];
}

/* ---- chain ---- */
static void chain_plain(void *p) {
    struct env *e = p;
    const double *x = e->x;
    double s = 0;
    for (size_t i = 0; i + 1 < e->n; i++)
        s += sin(exp(x[i]) * cos(x[i + 1])) + log(1 + x[i] * x[i]) * tanh(x[i]);
    bench_sink = s;
}
static void chain_hand(void *p) {
    struct env *e = p;
    const double *x = e->x;
    double *g = e->g, s = 0;
    g[0] = 0;
    for (size_t i = 0; i + 1 < e->n; i++) {
        double ex = exp(x[i]), cx1 = cos(x[i + 1]), sx1 = sin(x[i + 1]);
        double a = ex * cx1, sa = sin(a), ca = cos(a);
        double q = 1 + x[i] * x[i], l = log(q), t = tanh(x[i]);
        s += sa + l * t;
        g[i] += ca * a + 2 * x[i] / q * t + l * (1 - t * t);
        g[i + 1] = -ca * ex * sx1;
    }
    bench_sink = s + g[e->n / 2];
}
static nb_var chain_f(nb_ctx *c, const nb_var *x, size_t n) {
    nb_var s = nb_const(0);
    for (size_t i = 0; i + 1 < n; i++) {
        nb_var a = nb_sin(c, nb_mul(c, nb_exp(c, x[i]), nb_cos(c, x[i + 1])));
        nb_var b = nb_mul(c, nb_log(c, nb_add(c, nb_const(1), nb_mul(c, x[i], x[i]))),
                          nb_tanh(c, x[i]));
        s = nb_add(c, s, nb_add(c, a, b));
    }
    return s;
}
static void chain_rev(void *p) {
    struct env *e = p;
    nb_reset(e->c);
    for (size_t i = 0; i < e->n; i++) e->in[i] = nb_rev_input(e->c, nb_const(e->x[i]));
    nb_var y = chain_f(e->c, e->in, e->n);
    nb_backward(e->c, y);
    for (size_t i = 0; i < e->n; i++) e->g[i] = nb_value(nb_grad(e->c, e->in[i]));
    bench_sink = nb_value(y) + e->g[e->n / 2];
}
static void chain_fwd(void *p) {
    struct env *e = p;
    nb_reset(e->c);
    for (size_t i = 0; i < e->n; i++)
        e->in[i] = nb_fwd_input(e->c, nb_const(e->x[i]), nb_const(e->v[i]));
    nb_var y = chain_f(e->c, e->in, e->n);
    bench_sink = nb_value(y) + nb_value(nb_tangent(e->c, y));
}

static int check_ok(nb_ctx *c) { return nb_ctx_status(c) == NB_OK; }

int main(void) {
    unsigned long long seed = 7;
    struct env e;
    e.n = ROSEN_N;
    e.x = malloc(e.n * sizeof *e.x);
    e.v = malloc(e.n * sizeof *e.v);
    e.g = malloc(e.n * sizeof *e.g);
    e.in = malloc(e.n * sizeof *e.in);
    if (!e.x || !e.v || !e.g || !e.in || nb_ctx_new(&e.c, NULL)) return 1;
    for (size_t i = 0; i < e.n; i++) {
        e.x[i] = bench_uniform(&seed, -1.5, 1.5);
        e.v[i] = bench_uniform(&seed, -1, 1);
    }

    nb_push(e.c, NB_REVERSE);
    bench_report("rosen", "hand" BENCH_SUFFIX, bench_ratio(rosen_plain, rosen_hand, &e, 7, 0.1));
    bench_report("rosen", "rev" BENCH_SUFFIX, bench_ratio(rosen_plain, rosen_rev, &e, 7, 0.1));
    bench_report("rosen", "rev_custom" BENCH_SUFFIX,
                 bench_ratio(rosen_plain, rosen_rev_custom, &e, 7, 0.1));
    /* bytes per op of the last recording */
    nb_reset(e.c);
    for (size_t i = 0; i < e.n; i++) e.in[i] = nb_rev_input(e.c, nb_const(e.x[i]));
    rosen_f(e.c, e.in, e.n);
    nb_tape_info ti;
    nb_tape_info_get(e.c, 1, &ti);
    bench_info("rosen", "bytes_per_op" BENCH_SUFFIX,
               (double)ti.bytes / (double)(ti.statements - ti.leaves));
    bench_info("rosen", "operands_per_op" BENCH_SUFFIX,
               (double)ti.operands / (double)(ti.statements - ti.leaves));
    bench_report("rosen", "tape_floor" BENCH_SUFFIX,
                 bench_floor_ratio(rosen_plain, &e, ti.bytes, 7, 0.1));

    e.n = CHAIN_N;
    for (size_t i = 0; i < e.n; i++) e.x[i] = bench_uniform(&seed, -1, 1);
    bench_report("chain", "hand" BENCH_SUFFIX, bench_ratio(chain_plain, chain_hand, &e, 11, 0.05));
    bench_report("chain", "rev" BENCH_SUFFIX, bench_ratio(chain_plain, chain_rev, &e, 11, 0.05));
    nb_pop(e.c);
    nb_push(e.c, NB_FORWARD);
    bench_report("chain", "fwd" BENCH_SUFFIX, bench_ratio(chain_plain, chain_fwd, &e, 11, 0.05));
    nb_pop(e.c);
    int ok = check_ok(e.c);
    nb_ctx_free(e.c);
    free(e.x);
    free(e.v);
    free(e.g);
    free(e.in);
    return ok ? 0 : 1;
}
