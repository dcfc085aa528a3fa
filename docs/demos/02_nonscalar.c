/* 02_nonscalar.c - backward for non-scalar variables. y = x * x is a vector; a sweep needs a seed
 * v, and gives v^T J, the vector-Jacobian product. A seed of ones gives the gradient of sum(y).
 *
 *   PyTorch: y = x * x; y.backward(gradient=torch.ones(len(y)))   # or y.sum().backward()
 *   here:    nb_backward_vec(ctx, 4, y, seeds) */
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
    double xv[4] = {0, 1, 2, 3}, g[4];
    nb_var x[4], y[4];
    nb_push(ctx, NB_REVERSE);
    nb_rev_inputs(ctx, 4, xv, x);
    nb_vmul(ctx, 4, x, x, y); /* y_i = x_i * x_i: four statements */

    /* a seed of ones: the gradient of sum(y) = 2x */
    nb_backward_vec(ctx, 4, y, NULL);
    nb_grads(ctx, 4, x, g);
    print("seed ones:", g, 4);

    /* the same as the gradient of sum(y) */
    nb_zero_grad(ctx);
    nb_backward(ctx, nb_sum(ctx, 4, y));
    nb_grads(ctx, 4, x, g);
    print("grad of sum(y):", g, 4);

    /* another seed v weighs the outputs: v^T J = sum_i v_i dy_i/dx, here v_i 2 x_i. The
     * Jacobian of y = x*x is diag(2x), so the product picks each row's diagonal entry. */
    nb_var v[4] = {nb_const(1), nb_const(0.5), nb_const(0), nb_const(-1)};
    nb_zero_grad(ctx);
    nb_backward_vec(ctx, 4, y, v);
    nb_grads(ctx, 4, x, g);
    print("seed (1, 0.5, 0, -1):", g, 4);

    nb_pop(ctx);
    int ok = nb_ctx_status(ctx) == NB_OK;
    nb_ctx_free(ctx);
    return ok ? 0 : 1;
}
