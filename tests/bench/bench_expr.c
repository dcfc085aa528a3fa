/* bench_expr.c - the expression interpreter: sin(x)*exp(-x^2) compiled once and evaluated at
 * 10^6 points on doubles (`eval`) and on dual numbers (`dual`, value and derivative), against the
 * same function written in C. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "nabla/nabla.h"

enum { N = 1000000 };

struct env {
    double *x, *y, *dy;
    nb_expr *e;
};

static void plain(void *p) {
    struct env *e = p;
    for (size_t i = 0; i < N; i++) e->y[i] = sin(e->x[i]) * exp(-e->x[i] * e->x[i]);
    bench_sink = e->y[N / 2];
}
static void eval(void *p) {
    struct env *e = p;
    for (size_t i = 0; i < N; i++) nb_expr_eval(e->e, &e->x[i], &e->y[i]);
    bench_sink = e->y[N / 2];
}
static void dual(void *p) {
    struct env *e = p;
    for (size_t i = 0; i < N; i++) {
        nb_dual x = nb_dual_var(e->x[i]), r;
        nb_expr_eval_dual(e->e, &x, &r);
        e->y[i] = r.v;
        e->dy[i] = r.d;
    }
    bench_sink = e->dy[N / 2];
}

int main(void) {
    unsigned long long seed = 3;
    struct env e;
    e.x = malloc(N * sizeof *e.x);
    e.y = malloc(N * sizeof *e.y);
    e.dy = malloc(N * sizeof *e.dy);
    const char *src = "sin(x)*exp(-x^2)", *names[1] = {"x"};
    if (!e.x || !e.y || !e.dy || nb_expr_parse(&e.e, src, strlen(src), NULL) ||
        nb_expr_bind(e.e, 1, names))
        return 1;
    for (size_t i = 0; i < N; i++) e.x[i] = bench_uniform(&seed, -3, 3);
    bench_report("expr", "eval", bench_ratio(plain, eval, &e, 11, 0.1));
    bench_report("expr", "dual", bench_ratio(plain, dual, &e, 11, 0.1));
    bench_info("expr", "program_size", (double)nb_expr_program_size(e.e));
    nb_expr_free(e.e);
    free(e.x);
    free(e.y);
    free(e.dy);
    return 0;
}
