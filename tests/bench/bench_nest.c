/* bench_nest.c - second and higher derivatives by nesting.
 *
 *   rosen     extended Rosenbrock, n = 10^6: the Hessian-vector product by forward-over-reverse
 *             (`hvp`, through nb_hvp) and by hand (`hand`), against the plain function;
 *             `tape_floor`: only writing and reading back the bytes of hvp's tape (bench.h)
 *   rosen100  extended Rosenbrock, n = 100: the full Hessian (`hess`, nb_hessian: n HVPs), its
 *             nonzeros by a sparse plan (`hess_sparse`, nabla/sparse.h: 3 HVPs), and making that
 *             plan (`hess_plan`: the pattern from the gradient's record, and its coloring)
 *   sinexp1   sin(x) exp(-x^2) at one point: f^(10) by ten nested forward levels (`nested10`),
 *             f .. f^(10) and f .. f^(100) by one Taylor pass (`taylor10`, `taylor100`)
 * BENCHINFO lines give each level's operation count for one HVP on rosen (n = 1000) and for the
 * tenth derivative, from nb_op_count. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "nabla/nabla.h"

enum { ROSEN_N = 1000000 };

struct env {
    size_t n;
    double *x, *v, *hv, *H;
    nb_ctx *c;
    nb_sparse *plan;
    double x0;
};

static nb_var rosen(nb_ctx *c, const nb_var *x, void *env) {
    size_t n = ((struct env *)env)->n;
    nb_var s = nb_const(0);
    for (size_t i = 0; i + 1 < n; i++) {
        nb_var a = nb_sub(c, x[i + 1], nb_mul(c, x[i], x[i]));
        nb_var b = nb_sub(c, nb_const(1), x[i]);
        s = nb_add(c, s, nb_add(c, nb_mul(c, nb_const(100), nb_mul(c, a, a)), nb_mul(c, b, b)));
    }
    return s;
}
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
static void rosen_hvp_hand(void *p) {
    struct env *e = p;
    const double *x = e->x, *v = e->v;
    double *hv = e->hv;
    hv[0] = 0;
    for (size_t i = 0; i + 1 < e->n; i++) {
        double hii = 1200 * x[i] * x[i] - 400 * x[i + 1] + 2, hij = -400 * x[i];
        hv[i] += hii * v[i] + hij * v[i + 1];
        hv[i + 1] = hij * v[i] + 200 * v[i + 1];
    }
    bench_sink = hv[e->n / 2];
}
static void rosen_hvp(void *p) {
    struct env *e = p;
    nb_hvp(e->c, rosen, e, e->n, e->x, e->v, NULL, NULL, e->hv);
    bench_sink = e->hv[e->n / 2];
}
static void rosen_hess(void *p) {
    struct env *e = p;
    nb_hessian(e->c, rosen, e, e->n, e->x, NULL, NULL, e->H);
    bench_sink = e->H[e->n + 1];
}

static void rosen_hess_sparse(void *p) {
    struct env *e = p;
    nb_sparse_hessian(e->c, e->plan, rosen, e, e->x, NULL, NULL, e->H);
    bench_sink = e->H[4];
}
static void rosen_hess_plan(void *p) {
    struct env *e = p;
    nb_sparse *q = NULL;
    nb_sparse_hess_new(e->c, rosen, e, e->n, e->x, &q);
    bench_sink = (double)nb_sparse_passes(q);
    nb_sparse_free(q);
}

static double sinexp_plain_at(double x) { return sin(x) * exp(-x * x); }
static void sinexp1_plain(void *p) {
    struct env *e = p;
    bench_sink = sinexp_plain_at(e->x0 + bench_sink * 1e-300);
}
static void sinexp1_nested10(void *p) {
    struct env *e = p;
    nb_ctx *c = e->c;
    nb_var x = nb_const(e->x0 + bench_sink * 1e-300);
    for (int k = 0; k < 10; k++) {
        nb_push(c, NB_FORWARD);
        x = nb_fwd_input(c, x, nb_const(1));
    }
    nb_var y = nb_mul(c, nb_sin(c, x), nb_exp(c, nb_neg(c, nb_powi(c, x, 2))));
    for (int k = 0; k < 10; k++) {
        y = nb_tangent(c, y);
        nb_pop(c);
    }
    bench_sink = nb_value(y);
}

static nb_var sinexp_fn(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_mul(c, nb_sin(c, x[0]), nb_exp(c, nb_neg(c, nb_powi(c, x[0], 2))));
}
static void sinexp1_taylor10(void *p) {
    struct env *e = p;
    double d[11];
    nb_derivatives(e->c, sinexp_fn, NULL, e->x0 + bench_sink * 1e-300, 10, d);
    bench_sink = d[10];
}
static void sinexp1_taylor100(void *p) {
    struct env *e = p;
    double d[101];
    nb_derivatives(e->c, sinexp_fn, NULL, e->x0 + bench_sink * 1e-300, 100, d);
    bench_sink = d[100] * 1e-150;
}

int main(void) {
    unsigned long long seed = 5;
    struct env e;
    e.n = ROSEN_N;
    e.x = malloc(e.n * sizeof *e.x);
    e.v = malloc(e.n * sizeof *e.v);
    e.hv = malloc(e.n * sizeof *e.hv);
    e.H = malloc(100 * 100 * sizeof *e.H);
    if (!e.x || !e.v || !e.hv || !e.H || nb_ctx_new(&e.c, NULL)) return 1;
    for (size_t i = 0; i < e.n; i++) {
        e.x[i] = bench_uniform(&seed, -1.5, 1.5);
        e.v[i] = bench_uniform(&seed, -1, 1);
    }
    bench_report("rosen", "hand", bench_ratio(rosen_plain, rosen_hvp_hand, &e, 7, 0.1));
    bench_report("rosen", "hvp", bench_ratio(rosen_plain, rosen_hvp, &e, 5, 0.1));
    {
        /* the floor of hvp's memory traffic: the bytes of its dual tape (a reverse level over a
         * forward level, as nb_hvp records f) written once and read back once */
        nb_var *in = malloc(e.n * sizeof *in);
        if (!in) return 1;
        nb_push(e.c, NB_FORWARD);
        for (size_t i = 0; i < e.n; i++)
            in[i] = nb_fwd_input(e.c, nb_const(e.x[i]), nb_const(e.v[i]));
        nb_push(e.c, NB_REVERSE);
        for (size_t i = 0; i < e.n; i++) in[i] = nb_rev_input(e.c, in[i]);
        rosen(e.c, in, &e);
        nb_tape_info ti;
        nb_tape_info_get(e.c, 2, &ti);
        nb_pop(e.c);
        nb_pop(e.c);
        free(in);
        bench_info("rosen", "hvp_tape_bytes_per_op",
                   (double)ti.bytes / (double)(ti.statements - ti.leaves));
        bench_report("rosen", "tape_floor", bench_floor_ratio(rosen_plain, &e, ti.bytes, 5, 0.1));
    }
    /* operation counts of one HVP, per level */
    e.n = 1000;
    nb_op_count_reset(e.c);
    nb_hvp(e.c, rosen, &e, e.n, e.x, e.v, NULL, NULL, e.hv);
    bench_info("rosen1000", "hvp_ops_level1", (double)nb_op_count(e.c, 1));
    bench_info("rosen1000", "hvp_ops_level2", (double)nb_op_count(e.c, 2));
    nb_op_count_reset(e.c);
    double g[1000];
    nb_gradient(e.c, rosen, &e, e.n, e.x, NULL, g);
    bench_info("rosen1000", "grad_ops_level1", (double)nb_op_count(e.c, 1));

    e.n = 100;
    bench_report("rosen100", "hess", bench_ratio(rosen_plain, rosen_hess, &e, 7, 0.05));
    if (nb_sparse_hess_new(e.c, rosen, &e, e.n, e.x, &e.plan)) return 1;
    bench_report("rosen100", "hess_sparse", bench_ratio(rosen_plain, rosen_hess_sparse, &e, 7, 0.05));
    bench_info("rosen100", "sparse_passes", (double)nb_sparse_passes(e.plan));
    nb_sparse_free(e.plan);
    bench_report("rosen100", "hess_plan", bench_ratio(rosen_plain, rosen_hess_plan, &e, 7, 0.05));

    e.x0 = 0.7;
    double nested10 = bench_ratio(sinexp1_plain, sinexp1_nested10, &e, 5, 0.05);
    bench_report("sinexp1", "nested10", nested10);
    double taylor10 = bench_ratio(sinexp1_plain, sinexp1_taylor10, &e, 11, 0.05);
    bench_report("sinexp1", "taylor10", taylor10);
    bench_report("sinexp1", "taylor100", bench_ratio(sinexp1_plain, sinexp1_taylor100, &e, 5, 0.05));
    bench_info("sinexp1", "nested10_over_taylor10", nested10 / taylor10);
    nb_op_count_reset(e.c);
    sinexp1_nested10(&e);
    for (int d = 1; d <= 10; d++) {
        char key[32];
        snprintf(key, sizeof key, "nested10_ops_level%d", d);
        bench_info("sinexp1", key, (double)nb_op_count(e.c, d));
    }
    int ok = nb_ctx_status(e.c) == NB_OK;
    nb_ctx_free(e.c);
    free(e.x);
    free(e.v);
    free(e.hv);
    free(e.H);
    return ok ? 0 : 1;
}
