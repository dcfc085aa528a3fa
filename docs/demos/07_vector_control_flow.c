/* 07_vector_control_flow.c - exercise 3: the control-flow example with a vector a. f(a) is no
 * longer a scalar, so there is no single gradient: there is a Jacobian, and backward needs a
 * seed. Since f(a) = k a with one k for the whole vector (chosen by the loop and the branch),
 * the Jacobian is k I, and the vector-Jacobian product with a seed v is k v.
 *
 *   PyTorch: a = torch.randn(size=(5,), requires_grad=True); d = f(a); d.backward(v)
 *   here:    nb_jacobian (both ways) and nb_vjp */
#include <math.h>
#include <stdio.h>

#include <nabla/nabla.h>

enum { N = 5 };

static void f(nb_ctx *c, const nb_var *a, nb_var *out, void *env) {
    (void)env;
    nb_var b[N];
    nb_vscale(c, N, nb_const(2), a, b);
    while (nb_value(nb_norm(c, N, b)) < 1000) nb_vscale(c, N, nb_const(2), b, b);
    if (nb_value(nb_sum(c, N, b)) > 0)
        for (int i = 0; i < N; i++) out[i] = b[i];
    else
        nb_vscale(c, N, nb_const(100), b, out);
}

int main(void) {
    nb_ctx *ctx;
    if (nb_ctx_new(&ctx, NULL)) return 1;
    double a[N] = {0.3, -1.2, 0.5, 0.05, -0.4}, y[N], J[N * N], Jf[N * N];
    nb_jacobian(ctx, f, NULL, N, N, a, NB_JAC_REVERSE, y, J);
    nb_jacobian(ctx, f, NULL, N, N, a, NB_JAC_FORWARD, NULL, Jf);
    double k = y[0] / a[0];
    printf("f(a) = k a with k = %g\n", k);
    printf("Jacobian (reverse mode, one sweep per output):\n");
    int kI = 1, same = 1;
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) {
            printf("%s%g", j ? " " : "  ", J[i * N + j]);
            kI &= J[i * N + j] == (i == j ? k : 0);
            same &= J[i * N + j] == Jf[i * N + j];
        }
        printf("\n");
    }
    printf("the Jacobian is k I: %d\n", kI);
    printf("forward mode (one pass per input) gives the same: %d\n", same);

    /* a seed v: v^T J = k v */
    double v[N] = {1, -1, 0.5, 2, 0}, out[N];
    nb_vjp(ctx, f, NULL, N, N, a, v, NULL, out);
    int kv = 1;
    printf("vjp with v = (1, -1, 0.5, 2, 0):");
    for (int i = 0; i < N; i++) {
        printf(" %g", out[i]);
        kv &= out[i] == k * v[i];
    }
    printf("\nequals k v: %d\n", kv);
    int ok = nb_ctx_status(ctx) == NB_OK;
    nb_ctx_free(ctx);
    return ok && kI && same && kv ? 0 : 1;
}
