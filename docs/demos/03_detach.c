/* 03_detach.c - detaching computation: u = detach(x*x) is a constant with x*x's value, so the
 * gradient of z = u*x is u, not 3x^2; the gradient of y = x*x is still 2x.
 *
 *   PyTorch: u = y.detach(); z = u * x; z.sum().backward()
 *   here:    nb_detach (the registry's stop_gradient: its derivative is 0 at every level) */
#include <stdio.h>

#include <nabla/nabla.h>

static void print(const char *label, const double *v, int n) {
    printf("%s", label);
    for (int i = 0; i < n; i++) printf(" %g", v[i]);
    printf("\n");
}

int main(void) {
    nb_ctx *ctx;
    if (nb_ctx_new(&ctx, NULL)) return 1;
    double xv[4] = {0, 1, 2, 3}, g[4], uv[4];
    nb_var x[4], y[4], u[4], z[4];
    nb_push(ctx, NB_REVERSE);
    nb_rev_inputs(ctx, 4, xv, x);
    nb_vmul(ctx, 4, x, x, y);
    for (int i = 0; i < 4; i++) {
        u[i] = nb_detach(ctx, y[i]);
        uv[i] = nb_value(u[i]);
    }
    nb_vmul(ctx, 4, u, x, z);
    nb_backward(ctx, nb_sum(ctx, 4, z));
    nb_grads(ctx, 4, x, g);
    print("u =", uv, 4);
    print("grad of sum(u*x):", g, 4);
    printf("equals u:");
    for (int i = 0; i < 4; i++) printf(" %d", g[i] == uv[i]);
    printf("\n");

    /* y was recorded before the detach: its gradient is untouched */
    nb_zero_grad(ctx);
    nb_backward(ctx, nb_sum(ctx, 4, y));
    nb_grads(ctx, 4, x, g);
    print("grad of sum(y):", g, 4);
    printf("equals 2x:");
    for (int i = 0; i < 4; i++) printf(" %d", g[i] == 2 * xv[i]);
    printf("\n");

    nb_pop(ctx);
    int ok = nb_ctx_status(ctx) == NB_OK;
    nb_ctx_free(ctx);
    return ok ? 0 : 1;
}
