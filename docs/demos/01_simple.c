/* 01_simple.c - the chapter's first example: y = 2 x.x and its gradient 4x; then y = sum(x),
 * with gradients that accumulate unless cleared (PyTorch) or are overwritten (MXNet).
 *
 *   PyTorch: x = torch.arange(4.0, requires_grad=True); y = 2 * torch.dot(x, x); y.backward()
 *   here:    a reverse level, four leaves, one dot statement, one sweep */
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

    /* x = [0, 1, 2, 3], attached to a reverse level: x.requires_grad_(True) */
    double xv[4] = {0, 1, 2, 3}, g[4];
    nb_var x[4];
    nb_push(ctx, NB_REVERSE);
    nb_rev_inputs(ctx, 4, xv, x);

    /* y = 2 * dot(x, x): recorded as it runs */
    nb_var y = nb_mul(ctx, nb_const(2), nb_dot(ctx, 4, x, x));
    printf("y = %g\n", nb_value(y));

    /* y.backward(); x.grad */
    nb_backward(ctx, y);
    nb_grads(ctx, 4, x, g);
    print("x.grad =", g, 4);

    /* x.grad == 4 * x, printed as the chapter prints True four times */
    printf("x.grad == 4x:");
    for (int i = 0; i < 4; i++) printf(" %d", g[i] == 4 * xv[i]);
    printf("\n");

    /* PyTorch accumulates: without x.grad.zero_(), the gradient of sum(x) adds ones to 4x */
    nb_backward(ctx, nb_sum(ctx, 4, x));
    nb_grads(ctx, 4, x, g);
    print("accumulated (4x + 1):", g, 4);

    /* x.grad.zero_(); y = x.sum(); y.backward() gives ones */
    nb_zero_grad(ctx);
    nb_backward(ctx, nb_sum(ctx, 4, x));
    nb_grads(ctx, 4, x, g);
    print("after zero_grad, grad of sum(x):", g, 4);

    /* MXNet's grad_req='write': every sweep overwrites the gradients */
    nb_ctx_set_grad_mode(ctx, NB_GRAD_OVERWRITE);
    nb_backward(ctx, y);
    nb_backward(ctx, nb_sum(ctx, 4, x));
    nb_grads(ctx, 4, x, g);
    print("overwrite mode, grad of sum(x) after grad of y:", g, 4);

    nb_pop(ctx);
    int ok = nb_ctx_status(ctx) == NB_OK;
    nb_ctx_free(ctx);
    return ok ? 0 : 1;
}
