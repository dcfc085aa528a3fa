/* bench_vec.c - vector statements and Jacobians.
 *
 *   dot2    y = 2 dot(x, x), n = 10^6: the gradient through the dot statement (`rev`, record +
 *           backward on a warm tape, handles from nb_rev_inputs), through the dot of a borrowed
 *           array (`rev_array`, nabla/array.h: the gradient written into g) and by hand
 *           (`hand`), against the plain loop; `tape_floor`: no derivative, only writing the
 *           bytes of `rev`'s handles and tape once and reading them back once (bench.h), and
 *           `handles_floor` the same for the handles alone
 *   jac100  y_i = sin(sum_j A_ij x_j) + x_i^2, R^100 -> R^100: the full Jacobian by reverse
 *           sweeps (`jacrev`) and by forward passes (`jacfwd`), against one plain evaluation
 *   broyden Broyden's tridiagonal system, R^10000 -> R^10000: the Jacobian's nonzeros by a sparse
 *           plan (`jacsparse`, nabla/sparse.h: 3 forward passes) and making that plan
 *           (`jacplan`: recording the pattern, walking it, coloring), against one plain
 *           evaluation */
#include <math.h>
#include <stdlib.h>

#include "bench.h"
#include "nabla/nabla.h"

enum { DOT_N = 1000000, JN = 100, BN = 10000 };

struct env {
    size_t n;
    double *x, *g;
    nb_ctx *c;
    nb_var *in;
    double A[JN * JN];
    nb_var Av[JN * JN];
    double y[JN], jac[JN * JN];
    nb_sparse *plan;
    double by[BN], bval[3 * BN];
};

static void dot2_plain(void *p) {
    struct env *e = p;
    double s = 0;
    for (size_t i = 0; i < e->n; i++) s += e->x[i] * e->x[i];
    bench_sink = 2 * s;
}
static void dot2_hand(void *p) {
    struct env *e = p;
    double s = 0;
    for (size_t i = 0; i < e->n; i++) {
        s += e->x[i] * e->x[i];
        e->g[i] = 4 * e->x[i];
    }
    bench_sink = 2 * s + e->g[e->n / 2];
}
static void dot2_rev(void *p) {
    struct env *e = p;
    nb_reset(e->c);
    nb_rev_inputs(e->c, e->n, e->x, e->in);
    nb_var y = nb_mul(e->c, nb_const(2), nb_dot(e->c, e->n, e->in, e->in));
    nb_backward(e->c, y);
    nb_grads(e->c, e->n, e->in, e->g);
    bench_sink = nb_value(y) + e->g[e->n / 2];
}

static void dot2_rev_array(void *p) {
    struct env *e = p;
    nb_reset(e->c);
    nb_array a;
    nb_rev_array(e->c, e->n, e->x, e->g, &a);
    nb_var y = nb_mul(e->c, nb_const(2), nb_array_dot(e->c, a, a));
    nb_backward(e->c, y);
    bench_sink = nb_value(y) + e->g[e->n / 2];
}

static void jac_plain(void *p) {
    struct env *e = p;
    for (int i = 0; i < JN; i++) {
        double s = 0;
        for (int j = 0; j < JN; j++) s += e->A[i * JN + j] * e->x[j];
        e->y[i] = sin(s) + e->x[i] * e->x[i];
    }
    bench_sink = e->y[JN / 2];
}
static void jac_f(nb_ctx *c, const nb_var *x, nb_var *y, void *env) {
    struct env *e = env;
    for (int i = 0; i < JN; i++)
        y[i] = nb_add(c, nb_sin(c, nb_dot(c, JN, e->Av + i * JN, x)), nb_mul(c, x[i], x[i]));
}
static void jac_rev(void *p) {
    struct env *e = p;
    nb_jacobian(e->c, jac_f, e, JN, JN, e->x, NB_JAC_REVERSE, e->y, e->jac);
    bench_sink = e->jac[JN * JN / 2];
}
static void jac_fwd(void *p) {
    struct env *e = p;
    nb_jacobian(e->c, jac_f, e, JN, JN, e->x, NB_JAC_FORWARD, e->y, e->jac);
    bench_sink = e->jac[JN * JN / 2];
}

/* y_i = (3 - 2 x_i) x_i - x_{i-1} - 2 x_{i+1} + 1 (More, Garbow & Hillstrom 1981, problem 30) */
static void broyden_plain(void *p) {
    struct env *e = p;
    const double *x = e->x;
    for (size_t i = 0; i < BN; i++) {
        double t = (3 - 2 * x[i]) * x[i] + 1;
        if (i > 0) t -= x[i - 1];
        if (i + 1 < BN) t -= 2 * x[i + 1];
        e->by[i] = t;
    }
    bench_sink = e->by[BN / 2];
}
static void broyden_f(nb_ctx *c, const nb_var *x, nb_var *y, void *env) {
    (void)env;
    for (size_t i = 0; i < BN; i++) {
        nb_var t = nb_mul(c, nb_sub(c, nb_const(3), nb_mul(c, nb_const(2), x[i])), x[i]);
        if (i > 0) t = nb_sub(c, t, x[i - 1]);
        if (i + 1 < BN) t = nb_sub(c, t, nb_mul(c, nb_const(2), x[i + 1]));
        y[i] = nb_add(c, t, nb_const(1));
    }
}
static void broyden_sparse(void *p) {
    struct env *e = p;
    nb_sparse_jacobian(e->c, e->plan, broyden_f, e, e->x, e->by, e->bval);
    bench_sink = e->bval[BN];
}
static void broyden_plan(void *p) {
    struct env *e = p;
    nb_sparse *q = NULL;
    nb_sparse_jac_new(e->c, broyden_f, e, BN, BN, e->x, NB_SPARSE_AUTO, &q);
    bench_sink = (double)nb_sparse_passes(q);
    nb_sparse_free(q);
}

int main(void) {
    unsigned long long seed = 11;
    struct env *e = malloc(sizeof *e);
    if (!e) return 1;
    e->n = DOT_N;
    e->x = malloc(e->n * sizeof *e->x);
    e->g = malloc(e->n * sizeof *e->g);
    e->in = malloc(e->n * sizeof *e->in);
    if (!e->x || !e->g || !e->in || nb_ctx_new(&e->c, NULL)) return 1;
    for (size_t i = 0; i < e->n; i++) e->x[i] = bench_uniform(&seed, -1, 1);

    nb_push(e->c, NB_REVERSE);
    bench_report("dot2", "hand", bench_ratio(dot2_plain, dot2_hand, e, 11, 0.1));
    bench_report("dot2", "rev", bench_ratio(dot2_plain, dot2_rev, e, 11, 0.1));
    bench_report("dot2", "rev_array", bench_ratio(dot2_plain, dot2_rev_array, e, 11, 0.1));
    /* the handles and the dot statement's operands of `rev`, written once and read back once;
     * and the handles alone, what any statement over them reads */
    dot2_rev(e);
    nb_tape_info ti;
    nb_tape_info_get(e->c, 1, &ti);
    bench_report("dot2", "tape_floor",
                 bench_floor_ratio(dot2_plain, e, e->n * sizeof(nb_var) + ti.bytes, 11, 0.1));
    bench_report("dot2", "handles_floor",
                 bench_floor_ratio(dot2_plain, e, e->n * sizeof(nb_var), 11, 0.1));
    int right = 1; /* the gradient the array path wrote last: exactly 4 x */
    for (size_t i = 0; i < e->n; i++) right &= e->g[i] == 4 * e->x[i];
    nb_pop(e->c);

    for (int i = 0; i < JN * JN; i++) {
        e->A[i] = bench_uniform(&seed, -0.2, 0.2);
        e->Av[i] = nb_const(e->A[i]);
    }
    bench_report("jac100", "jacrev", bench_ratio(jac_plain, jac_rev, e, 11, 0.05));
    bench_report("jac100", "jacfwd", bench_ratio(jac_plain, jac_fwd, e, 11, 0.05));
    if (nb_sparse_jac_new(e->c, broyden_f, e, BN, BN, e->x, NB_SPARSE_AUTO, &e->plan)) return 1;
    bench_report("broyden", "jacsparse", bench_ratio(broyden_plain, broyden_sparse, e, 11, 0.05));
    bench_info("broyden", "sparse_passes", (double)nb_sparse_passes(e->plan));
    nb_sparse_free(e->plan);
    bench_report("broyden", "jacplan", bench_ratio(broyden_plain, broyden_plan, e, 11, 0.05));
    int ok = right && nb_ctx_status(e->c) == NB_OK;
    nb_ctx_free(e->c);
    free(e->x);
    free(e->g);
    free(e->in);
    free(e);
    return ok ? 0 : 1;
}
