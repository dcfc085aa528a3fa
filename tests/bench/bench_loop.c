/* bench_loop.c - gradients through a long loop: one tape against checkpoints (nb_loop_vjp).
 *
 *   pendulum  a pendulum by symplectic Euler, 200 000 steps of the state (q, p, g): the plain
 *             loop against seed^T dx_N/dx_0 by one tape of the whole loop (`rev`, nb_vjp) and
 *             by checkpoints (`ckpt`, nb_loop_vjp with the default interval, about 448 steps)
 * BENCHINFO pendulum bytes_rev / bytes_ckpt: the bytes each context holds afterwards (the tape
 * of the whole loop, the tape of one segment).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "nabla/nabla.h"

enum { STEPS = 200000 };
static const double DT = 1e-3;

struct env {
    nb_ctx *rev, *ckpt;
    double x0[3], seed[3], g[3];
};

static void plain(void *p) {
    struct env *e = p;
    double q = e->x0[0], m = e->x0[1], g = e->x0[2];
    for (long i = 0; i < STEPS; i++) {
        m -= DT * g * sin(q);
        q += DT * m;
    }
    bench_sink = q + m;
}

static void step(nb_ctx *c, size_t i, const nb_var *x, nb_var *y, void *env) {
    (void)i, (void)env;
    nb_var p = nb_sub(c, x[1], nb_mul(c, nb_mul(c, nb_const(DT), x[2]), nb_sin(c, x[0])));
    y[0] = nb_add(c, x[0], nb_mul(c, nb_const(DT), p));
    y[1] = p;
    y[2] = x[2];
}
/* the whole loop as one vector function, for one tape */
static void whole(nb_ctx *c, const nb_var *x0, nb_var *y, void *env) {
    nb_var x[3] = {x0[0], x0[1], x0[2]};
    for (size_t i = 0; i < STEPS; i++) {
        step(c, i, x, y, env);
        memcpy(x, y, sizeof x);
    }
}

static void rev(void *p) {
    struct env *e = p;
    nb_vjp(e->rev, whole, NULL, 3, 3, e->x0, e->seed, NULL, e->g);
    bench_sink = e->g[0];
}
static void ckpt(void *p) {
    struct env *e = p;
    nb_loop_vjp(e->ckpt, step, NULL, 3, STEPS, e->x0, e->seed, 0, NULL, e->g);
    bench_sink = e->g[0];
}

int main(void) {
    struct env e = {NULL, NULL, {1.1, -0.3, 9.81}, {1, 0.5, 0}, {0}};
    if (nb_ctx_new(&e.rev, NULL) || nb_ctx_new(&e.ckpt, NULL)) return 1;
    bench_report("pendulum", "rev", bench_ratio(plain, rev, &e, 7, 0.05));
    bench_report("pendulum", "ckpt", bench_ratio(plain, ckpt, &e, 7, 0.05));
    bench_info("pendulum", "bytes_rev", (double)nb_ctx_bytes(e.rev));
    bench_info("pendulum", "bytes_ckpt", (double)nb_ctx_bytes(e.ckpt));
    int ok = nb_ctx_status(e.rev) == NB_OK && nb_ctx_status(e.ckpt) == NB_OK;
    nb_ctx_free(e.rev);
    nb_ctx_free(e.ckpt);
    return ok ? 0 : 1;
}
