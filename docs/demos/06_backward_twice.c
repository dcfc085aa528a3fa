/* 06_backward_twice.c - exercise 2: what happens when backward runs again right after the first
 * call? In PyTorch the graph is freed by the first call, so the second fails unless
 * retain_graph=True is given; with it, the gradients add up. nabla keeps the tape until the
 * level is popped or reset, so a second sweep is always defined: it passes the same derivatives
 * again, and the leaves' gradients add up (PyTorch's accumulate) - or are replaced in MXNet's
 * overwrite mode. */
#include <stdio.h>

#include <nabla/nabla.h>

int main(void) {
    nb_ctx *ctx;
    if (nb_ctx_new(&ctx, NULL)) return 1;
    nb_push(ctx, NB_REVERSE);
    nb_var x = nb_rev_input(ctx, nb_const(3));
    nb_var y = nb_mul(ctx, x, x); /* dy/dx = 6 */

    nb_backward(ctx, y);
    printf("after one backward:  dy/dx = %g\n", nb_value(nb_grad(ctx, x)));
    nb_status s = nb_backward(ctx, y);
    printf("second backward: %s\n", nb_strerror(s));
    printf("after two backwards: dy/dx = %g (accumulated)\n", nb_value(nb_grad(ctx, x)));

    nb_ctx_set_grad_mode(ctx, NB_GRAD_OVERWRITE);
    nb_backward(ctx, y);
    nb_backward(ctx, y);
    printf("overwrite mode, two backwards: dy/dx = %g\n", nb_value(nb_grad(ctx, x)));

    nb_pop(ctx);
    /* after the level is popped, its handles are stale: an error, never a number */
    nb_var z = nb_mul(ctx, y, nb_const(2));
    printf("using y after its level was popped: %s (value %g)\n", nb_strerror(nb_ctx_status(ctx)),
           nb_value(z));
    nb_ctx_free(ctx);
    return 0;
}
