/* test_threads.c - four threads, each with its own context, compute gradients, Jacobians (both
 * modes) and vector-Jacobian products, and must give bit-identical results to a serial run.
 *
 * A plain pthread program (Criterion cannot start under ThreadSanitizer); .ci/run also runs it in
 * a -Db_sanitize=thread build. Exit status 0 on success, 1 with a message on any difference. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "nabla/nabla.h"

enum { NT = 4, N = 40, M = 6, POINTS = 6 };
enum { PER_POINT = N + 1 + 2 * M * N + N + M };

struct work {
    double out[POINTS * PER_POINT];
    nb_status status;
};

static nb_var rosen(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    nb_var s = nb_const(0);
    for (int i = 0; i + 1 < N; i++) {
        nb_var a = nb_sub(c, x[i + 1], nb_mul(c, x[i], x[i]));
        nb_var b = nb_sub(c, nb_const(1), x[i]);
        s = nb_add(c, s, nb_add(c, nb_mul(c, nb_const(100), nb_mul(c, a, a)), nb_mul(c, b, b)));
    }
    return s;
}

static void vec(nb_ctx *c, const nb_var *x, nb_var *y, void *env) {
    (void)env;
    for (int j = 0; j < M; j++) {
        nb_var t[N];
        for (int i = 0; i < N; i++) t[i] = nb_sin(c, nb_mul(c, x[i], nb_const(j + 1.0)));
        y[j] = nb_add(c, nb_dot(c, N, t, x), nb_lgamma(c, nb_add(c, x[j], nb_const(3))));
    }
}

static void compute(struct work *w) {
    nb_ctx *c = NULL;
    w->status = nb_ctx_new(&c, NULL);
    if (w->status) return;
    for (int p = 0; p < POINTS; p++) {
        double x[N], v[M];
        for (int i = 0; i < N; i++) x[i] = 0.1 * (p + 1) * ((i % 7) - 3) + 0.01 * i;
        for (int j = 0; j < M; j++) v[j] = 1.0 / (j + 1 + p);
        double *o = w->out + p * PER_POINT;
        nb_status s = nb_gradient(c, rosen, NULL, N, x, o + N, o);
        if (!s) s = nb_jacobian(c, vec, NULL, N, M, x, NB_JAC_REVERSE, NULL, o + N + 1);
        if (!s) s = nb_jacobian(c, vec, NULL, N, M, x, NB_JAC_FORWARD, NULL, o + N + 1 + M * N);
        if (!s) s = nb_vjp(c, vec, NULL, N, M, x, v, o + N + 1 + 2 * M * N + N,
                           o + N + 1 + 2 * M * N);
        if (s) {
            w->status = s;
            break;
        }
    }
    nb_ctx_free(c);
}

static void *thread_main(void *arg) {
    compute(arg);
    return NULL;
}

static struct work serial, threaded[NT];

int main(void) {
    compute(&serial);
    if (serial.status) {
        fprintf(stderr, "serial run failed: %s\n", nb_strerror(serial.status));
        return 1;
    }
    pthread_t th[NT];
    for (int t = 0; t < NT; t++)
        if (pthread_create(&th[t], NULL, thread_main, &threaded[t])) {
            fprintf(stderr, "pthread_create failed\n");
            return 1;
        }
    for (int t = 0; t < NT; t++) pthread_join(th[t], NULL);
    int bad = 0;
    for (int t = 0; t < NT; t++) {
        if (threaded[t].status) {
            fprintf(stderr, "thread %d failed: %s\n", t, nb_strerror(threaded[t].status));
            bad = 1;
        } else if (memcmp(threaded[t].out, serial.out, sizeof serial.out) != 0) {
            fprintf(stderr, "thread %d differs from the serial run\n", t);
            bad = 1;
        }
    }
    if (!bad) printf("%d threads: %zu results each, bit-identical to the serial run\n", NT,
                     sizeof serial.out / sizeof serial.out[0]);
    return bad;
}
