/* array_dot.c - the chapter's y = 2 x.x and its gradient 4x for a million inputs held in a plain
 * double array: nb_rev_array borrows x and writes the gradient into g (no handle per element),
 * and the same code under a forward level gives the directional derivative 4 x.v.
 *
 * Prints "gradient ok" and "tangent ok" when every figure is what the calculus says.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <nabla/nabla.h>

/* y = 2 dot(a, a), written once against nb_array */
static nb_var two_dot(nb_ctx *c, nb_array a) { return nb_mul(c, nb_const(2), nb_array_dot(c, a, a)); }

int main(void) {
    enum { N = 1000000 };
    double *x = malloc(N * sizeof *x), *g = malloc(N * sizeof *g), *v = malloc(N * sizeof *v);
    nb_ctx *c = NULL;
    if (!x || !g || !v || nb_ctx_new(&c, NULL)) return 1;
    for (size_t i = 0; i < N; i++) x[i] = sin((double)i), v[i] = cos((double)i);

    /* reverse: the gradient lands in g */
    nb_push(c, NB_REVERSE);
    nb_array a;
    nb_rev_array(c, N, x, g, &a);
    nb_var y = two_dot(c, a);
    nb_backward(c, y);
    size_t bad = 0;
    for (size_t i = 0; i < N; i++) bad += g[i] != 4 * x[i];
    printf("y = %.6f, gradient %s (%zu of %d entries differ from 4x)\n", nb_value(y),
           bad ? "WRONG" : "ok", bad, N);
    nb_pop(c);

    /* forward: the tangent along v is 4 x.v, the same sum in the same order */
    nb_push(c, NB_FORWARD);
    nb_fwd_array(c, N, x, v, &a);
    y = two_dot(c, a);
    double t = nb_tangent(c, y).v, want = 0;
    for (size_t i = 0; i < N; i++) want += 4 * x[i] * v[i];
    printf("tangent %s (%.9g, 4 x.v = %.9g)\n",
           fabs(t - want) <= 1e-12 * (fabs(want) + 1) ? "ok" : "WRONG", t, want);
    nb_pop(c);

    int rc = nb_ctx_status(c) == NB_OK ? 0 : 1;
    nb_ctx_free(c);
    free(x);
    free(g);
    free(v);
    return rc;
}
