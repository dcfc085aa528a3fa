/* bench_fwd.c - forward mode on one directional derivative: dual numbers (`dual`) and
 * hand-written tangent code (`hand`), each against the plain double function.
 *
 *   sinexp  y_i = sin(x_i) exp(-x_i^2) at 10^6 points, with dy_i/dx_i
 *   chain   sum_i sin(exp(x_i) cos(x_{i+1})) + log(1 + x_i^2) tanh(x_i), n = 10^5, along v */
#include <math.h>
#include <stdlib.h>

#include "bench.h"
#include "nabla/nabla.h"

enum { SINEXP_N = 1000000, CHAIN_N = 100000 };

struct env {
    double *x, *v, *y, *dy;
    size_t n;
};

/* ---- sinexp ---- */
static void sinexp_plain(void *p) {
    struct env *e = p;
    for (size_t i = 0; i < e->n; i++) {
        double x = e->x[i];
        e->y[i] = sin(x) * exp(-x * x);
    }
    bench_sink = e->y[e->n / 2];
}
static void sinexp_hand(void *p) {
    struct env *e = p;
    for (size_t i = 0; i < e->n; i++) {
        double x = e->x[i], s = sin(x), c = cos(x), g = exp(-x * x);
        e->y[i] = s * g;
        e->dy[i] = (c - 2 * x * s) * g;
    }
    bench_sink = e->dy[e->n / 2];
}
static void sinexp_dual(void *p) {
    struct env *e = p;
    for (size_t i = 0; i < e->n; i++) {
        nb_dual x = nb_dual_var(e->x[i]);
        nb_dual y = nb_dual_mul(nb_dual_sin(x), nb_dual_exp(nb_dual_neg(nb_dual_powi(x, 2))));
        e->y[i] = y.v;
        e->dy[i] = y.d;
    }
    bench_sink = e->dy[e->n / 2];
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
    const double *x = e->x, *v = e->v;
    double s = 0, ds = 0;
    for (size_t i = 0; i + 1 < e->n; i++) {
        double ex = exp(x[i]), cx1 = cos(x[i + 1]), sx1 = sin(x[i + 1]);
        double a = ex * cx1, da = ex * cx1 * v[i] - ex * sx1 * v[i + 1];
        double sa = sin(a), ca = cos(a);
        double q = 1 + x[i] * x[i], l = log(q), dl = 2 * x[i] * v[i] / q;
        double t = tanh(x[i]), dt = (1 - t * t) * v[i];
        s += sa + l * t;
        ds += ca * da + dl * t + l * dt;
    }
    bench_sink = s + ds;
}
static void chain_dual(void *p) {
    struct env *e = p;
    const double *x = e->x, *v = e->v;
    nb_dual s = nb_dual_const(0);
    for (size_t i = 0; i + 1 < e->n; i++) {
        nb_dual xi = nb_dual_make(x[i], v[i]), xj = nb_dual_make(x[i + 1], v[i + 1]);
        nb_dual a = nb_dual_sin(nb_dual_mul(nb_dual_exp(xi), nb_dual_cos(xj)));
        nb_dual b = nb_dual_mul(nb_dual_log(nb_dual_add(nb_dual_const(1), nb_dual_mul(xi, xi))),
                                nb_dual_tanh(xi));
        s = nb_dual_add(s, nb_dual_add(a, b));
    }
    bench_sink = s.v + s.d;
}

int main(void) {
    unsigned long long seed = 42;
    struct env e;
    e.n = SINEXP_N;
    e.x = malloc(e.n * sizeof *e.x);
    e.v = malloc(e.n * sizeof *e.v);
    e.y = malloc(e.n * sizeof *e.y);
    e.dy = malloc(e.n * sizeof *e.dy);
    if (!e.x || !e.v || !e.y || !e.dy) return 1;
    for (size_t i = 0; i < e.n; i++) {
        e.x[i] = bench_uniform(&seed, -3, 3);
        e.v[i] = bench_uniform(&seed, -1, 1);
    }
    bench_report("sinexp", "hand", bench_ratio(sinexp_plain, sinexp_hand, &e, 21, 0.1));
    bench_report("sinexp", "dual", bench_ratio(sinexp_plain, sinexp_dual, &e, 21, 0.1));

    e.n = CHAIN_N;
    for (size_t i = 0; i < e.n; i++) e.x[i] = bench_uniform(&seed, -1, 1);
    bench_report("chain", "hand", bench_ratio(chain_plain, chain_hand, &e, 11, 0.05));
    bench_report("chain", "dual", bench_ratio(chain_plain, chain_dual, &e, 11, 0.05));
    free(e.x);
    free(e.v);
    free(e.y);
    free(e.dy);
    return 0;
}
