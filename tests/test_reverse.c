/* test_reverse.c - reverse mode (and forward mode through handles) at depth 1: the chapter's
 * examples, control flow, every registry op against dual numbers, closed forms and GSL, gradient
 * semantics (accumulate, overwrite, backward twice, detach), tape reuse, and errors. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

#include "nabla/nabla.h"
#include "op_table.h"
#include "oracle.h"

/* ---- the chapter: y = 2 x.x, sum, detach ---- */

Test(chapter, two_x_dot_x) {
    nb_ctx *c = new_ctx();
    cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
    nb_var x[4];
    for (int i = 0; i < 4; i++) x[i] = nb_rev_input(c, nb_const(i));
    nb_var dot = nb_const(0);
    for (int i = 0; i < 4; i++) dot = nb_add(c, dot, nb_mul(c, x[i], x[i]));
    nb_var y = nb_mul(c, nb_const(2), dot);
    cr_expect_eq(nb_value(y), 28.0);
    cr_assert_eq(nb_backward(c, y), NB_OK);
    for (int i = 0; i < 4; i++) cr_expect_eq(nb_value(nb_grad(c, x[i])), 4.0 * i);
    /* x.grad.zero_(); y = x.sum(); y.backward() gives ones */
    cr_assert_eq(nb_zero_grad(c), NB_OK);
    nb_var s = nb_const(0);
    for (int i = 0; i < 4; i++) s = nb_add(c, s, x[i]);
    cr_assert_eq(nb_backward(c, s), NB_OK);
    for (int i = 0; i < 4; i++) cr_expect_eq(nb_value(nb_grad(c, x[i])), 1.0);
    nb_pop(c);
    nb_ctx_free(c);
}

Test(chapter, detach) {
    nb_ctx *c = new_ctx();
    nb_push(c, NB_REVERSE);
    nb_var x[4], u[4];
    for (int i = 0; i < 4; i++) x[i] = nb_rev_input(c, nb_const(i));
    /* u = detach(x * x); z = sum(u * x): dz/dx = u, not 3 x^2 */
    nb_var z = nb_const(0);
    for (int i = 0; i < 4; i++) {
        u[i] = nb_detach(c, nb_mul(c, x[i], x[i]));
        cr_expect(nb_is_const(u[i]), "a detached value is a constant");
        z = nb_add(c, z, nb_mul(c, u[i], x[i]));
    }
    nb_backward(c, z);
    for (int i = 0; i < 4; i++) cr_expect_eq(nb_value(nb_grad(c, x[i])), nb_value(u[i]));
    /* the gradient of sum(x * x) afterwards is 2x */
    nb_zero_grad(c);
    nb_var y = nb_const(0);
    for (int i = 0; i < 4; i++) y = nb_add(c, y, nb_mul(c, x[i], x[i]));
    nb_backward(c, y);
    for (int i = 0; i < 4; i++) cr_expect_eq(nb_value(nb_grad(c, x[i])), 2.0 * i);
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_pop(c);
    nb_ctx_free(c);
}

/* The chapter's f(a): b = 2a; while norm(b) < 1000: b = 2b; c = b if sum(b) > 0 else 100b. */
static nb_var chapter_f(nb_ctx *c, const nb_var *a, void *env) {
    (void)env;
    nb_var b = nb_mul(c, a[0], nb_const(2));
    while (fabs(nb_value(b)) < 1000) b = nb_mul(c, b, nb_const(2));
    if (nb_value(b) > 0) return b;
    return nb_mul(c, nb_const(100), b);
}

Test(chapter, control_flow_gradient_is_f_over_a) {
    nb_ctx *c = new_ctx();
    unsigned long long seed = 12345;
    for (int t = 0; t < 200; t++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        double u = (double)(seed >> 11) / 9007199254740992.0;
        double a = (u - 0.5) * 4; /* both signs */
        if (a == 0) continue;
        double fa, g;
        cr_assert_eq(nb_gradient(c, chapter_f, NULL, 1, &a, &fa, &g), NB_OK);
        /* f is k a with k a power of two (times 100): f(a)/a is exact up to one rounding of the
         * division, g is the exact k; allow 2 ulps. */
        cr_expect(close_to(g, fa / a, 4.5e-16, 0), "a = %.17g: grad %.17g, f(a)/a %.17g", a, g,
                  fa / a);
    }
    nb_ctx_free(c);
}

/* ---- the same user function under a forward and a reverse level ---- */

struct rosen_env {
    size_t n;
};
static nb_var rosen(nb_ctx *c, const nb_var *x, void *env) {
    size_t n = ((struct rosen_env *)env)->n;
    nb_var s = nb_const(0);
    for (size_t i = 0; i + 1 < n; i++) {
        nb_var a = nb_sub(c, x[i + 1], nb_mul(c, x[i], x[i]));
        nb_var b = nb_sub(c, nb_const(1), x[i]);
        s = nb_add(c, s, nb_add(c, nb_mul(c, nb_const(100), nb_mul(c, a, a)), nb_mul(c, b, b)));
    }
    return s;
}
static void rosen_grad_hand(size_t n, const double *x, double *g) {
    for (size_t i = 0; i < n; i++) g[i] = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        double a = x[i + 1] - x[i] * x[i];
        g[i] += -400 * a * x[i] - 2 * (1 - x[i]);
        g[i + 1] += 200 * a;
    }
}

Test(rosenbrock, gradient_n10_equals_hand_written) {
    nb_ctx *c = new_ctx();
    struct rosen_env env = {10};
    double x[10], g[10], h[10], fx;
    for (int i = 0; i < 10; i++) x[i] = -1.2 + 0.3 * i;
    cr_assert_eq(nb_gradient(c, rosen, &env, 10, x, &fx, g), NB_OK);
    rosen_grad_hand(10, x, h);
    for (int i = 0; i < 10; i++)
        cr_expect(close_to(g[i], h[i], 1e-14, 1e-14), "g[%d] = %.17g, hand %.17g", i, g[i], h[i]);
    /* the same function under a forward level: directional derivatives equal g . e_i */
    for (int i = 0; i < 10; i++) {
        double v[10] = {0}, d;
        v[i] = 1;
        cr_assert_eq(nb_jvp(c, rosen, &env, 10, x, v, NULL, &d), NB_OK);
        cr_expect(close_to(d, g[i], 1e-14, 1e-14), "jvp e_%d = %.17g, gradient %.17g", i, d, g[i]);
    }
    nb_ctx_free(c);
}

/* ---- every registry op: forward and reverse levels against dual numbers and the oracles ---- */

struct row {
    int op;
};
ParameterizedTestParameters(registry_modes, forward_and_reverse_per_row) {
    static struct row rows[NB_OP_COUNT];
    size_t k = 0;
    for (int i = 0; i < NB_OP_COUNT; i++)
        if (!nb_op_get((nb_op)i)->reduction) rows[k++].op = i; /* reductions: test_vector.c */
    return cr_make_param_array(struct row, rows, k);
}

struct slice {
    nb_op op;
    double x, y;
    int n, wrt;
};
static double slice_f(double t, void *p) {
    const struct slice *s = p;
    return s->wrt == 0 ? nb_prim_apply(s->op, t, s->y, s->n) : nb_prim_apply(s->op, s->x, t, s->n);
}

ParameterizedTest(struct row *r, registry_modes, forward_and_reverse_per_row) {
    const nb_op_info *info = nb_op_get((nb_op)r->op);
    const struct closed_form *cf = closed_form_of(info->name);
    cr_assert_not_null(cf, "op '%s' has no entry in tests/op_table.h", info->name);
    nb_ctx *c = new_ctx();
    int nparams = info->has_param ? cf->nparams : 1;
    for (int pi = 0; pi < nparams; pi++) {
        int n = info->has_param ? cf->params[pi] : 0;
        for (int k = 0; k < cf->npts; k++) {
            double x = cf->pts[k][0], y = cf->pts[k][1];
            /* reverse: both operands are leaves; one sweep gives both partials */
            nb_push(c, NB_REVERSE);
            nb_var rx = nb_rev_input(c, nb_const(x)), ry = nb_rev_input(c, nb_const(y));
            nb_var out = nb_apply(c, (nb_op)r->op, rx, ry, n);
            nb_backward(c, out);
            double grad[2] = {nb_value(nb_grad(c, rx)), nb_value(nb_grad(c, ry))};
            nb_pop(c);
            for (int wrt = 0; wrt < info->arity; wrt++) {
                nb_dual dd = nb_dual_apply((nb_op)r->op, nb_dual_make(x, wrt == 0),
                                           nb_dual_make(y, wrt == 1), n);
                /* forward through handles: both operands are inputs, tangent on one */
                nb_push(c, NB_FORWARD);
                nb_var fx = nb_fwd_input(c, nb_const(x), nb_const(wrt == 0));
                nb_var fy = nb_fwd_input(c, nb_const(y), nb_const(wrt == 1));
                nb_var fo = nb_apply(c, (nb_op)r->op, fx, fy, n);
                double fwd = nb_value(nb_tangent(c, fo));
                nb_pop(c);
                /* Depth 1 runs the registry's same double rule with the same strong-zero product
                 * as nb_dual: the results are bit-identical, so == is the right comparison. */
                cr_expect(fwd == dd.d || (isnan(fwd) && isnan(dd.d)),
                          "%s d/d%s at (%g, %g; n=%d): forward %.17g, dual %.17g", info->name,
                          wrt ? "y" : "x", x, y, n, fwd, dd.d);
                cr_expect(grad[wrt] == dd.d || (isnan(grad[wrt]) && isnan(dd.d)),
                          "%s d/d%s at (%g, %g; n=%d): reverse %.17g, dual %.17g", info->name,
                          wrt ? "y" : "x", x, y, n, grad[wrt], dd.d);
                cr_expect_eq(nb_value(fo), dd.v);
                double want = (wrt == 0 ? cf->dx : cf->dy)(x, y, n);
                cr_expect(close_to(grad[wrt], want, 1e-13, 1e-300),
                          "%s d/d%s at (%g, %g; n=%d): reverse %.17g, closed form %.17g",
                          info->name, wrt ? "y" : "x", x, y, n, grad[wrt], want);
                if (!cf->fd) continue;
                struct slice s = {(nb_op)r->op, x, y, n, wrt};
                double at = wrt == 0 ? x : y, err;
                double fd = fd_central(slice_f, &s, at, 1e-5 * fmax(1, fabs(at)), &err);
                cr_expect(fabs(grad[wrt] - fd) <= 4 * err + 1e-9 * fmax(1, fabs(grad[wrt])),
                          "%s d/d%s: reverse %.17g, gsl_deriv_central %.17g (+- %.3g)",
                          info->name, wrt ? "y" : "x", grad[wrt], fd, err);
            }
        }
    }
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_ctx_free(c);
}

/* ---- gradient semantics ---- */

static void grads_of_sum_of_squares(nb_ctx *c, double out[2]) {
    nb_var a = nb_rev_input(c, nb_const(3)), b = nb_rev_input(c, nb_const(-2));
    nb_var y = nb_add(c, nb_mul(c, a, a), nb_mul(c, b, b));
    cr_assert_eq(nb_backward(c, y), NB_OK);
    cr_assert_eq(nb_backward(c, y), NB_OK); /* the second call on the same tape */
    out[0] = nb_value(nb_grad(c, a));
    out[1] = nb_value(nb_grad(c, b));
}

Test(semantics, backward_twice_accumulates_by_default) {
    nb_ctx *c = new_ctx();
    nb_push(c, NB_REVERSE);
    double g[2];
    grads_of_sum_of_squares(c, g);
    cr_expect_eq(g[0], 12.0, "2 * 6 after two sweeps, got %g", g[0]);
    cr_expect_eq(g[1], -8.0);
    nb_pop(c);
    nb_ctx_free(c);
}

Test(semantics, backward_twice_overwrites_in_mxnet_mode) {
    nb_ctx_opts o;
    nb_ctx_opts_init(&o);
    o.grad_mode = NB_GRAD_OVERWRITE;
    nb_ctx *c = NULL;
    cr_assert_eq(nb_ctx_new(&c, &o), NB_OK);
    nb_push(c, NB_REVERSE);
    double g[2];
    grads_of_sum_of_squares(c, g);
    cr_expect_eq(g[0], 6.0);
    cr_expect_eq(g[1], -4.0);
    /* switching the mode on a live context */
    nb_ctx_set_grad_mode(c, NB_GRAD_ACCUMULATE);
    nb_var a = nb_rev_input(c, nb_const(1));
    nb_var y = nb_mul(c, a, nb_const(5));
    nb_backward(c, y);
    nb_backward(c, y);
    cr_expect_eq(nb_value(nb_grad(c, a)), 10.0);
    nb_pop(c);
    nb_ctx_free(c);
}

Test(semantics, gradients_accumulate_across_outputs_until_cleared) {
    nb_ctx *c = new_ctx();
    nb_push(c, NB_REVERSE);
    nb_var a = nb_rev_input(c, nb_const(2));
    nb_backward(c, nb_mul(c, a, a));           /* 4 */
    nb_backward(c, nb_mul(c, a, nb_const(3))); /* + 3 */
    cr_expect_eq(nb_value(nb_grad(c, a)), 7.0);
    nb_zero_grad(c);
    cr_expect_eq(nb_value(nb_grad(c, a)), 0.0);
    nb_backward(c, nb_sin(c, a));
    cr_expect_eq(nb_value(nb_grad(c, a)), cos(2.0));
    /* a seed scales; a zero seed adds nothing, even through an infinite partial */
    nb_zero_grad(c);
    nb_var s = nb_sqrt(c, nb_sub(c, a, nb_const(2))); /* d/da at a = 2 is +inf */
    nb_backward_seed(c, s, nb_const(0));
    cr_expect_eq(nb_value(nb_grad(c, a)), 0.0);
    nb_backward_seed(c, nb_mul(c, a, a), nb_const(-0.5));
    cr_expect_eq(nb_value(nb_grad(c, a)), -2.0);
    /* a constant output has no dependence: nothing is added */
    nb_backward(c, nb_const(5));
    cr_expect_eq(nb_value(nb_grad(c, a)), -2.0);
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_pop(c);
    nb_ctx_free(c);
}

/* An intermediate node is not a leaf: its gradient reads 0 after a sweep (the sweep leaves its
 * adjoint behind, nabla/var.h), one at a time and through nb_grads alike, in either mode, while a
 * leaf's gradient accumulates over a second sweep and not the intermediate's. */
Test(semantics, an_intermediate_node_has_no_gradient) {
    for (int mode = 0; mode < 2; mode++) {
        nb_ctx *c = new_ctx();
        nb_ctx_set_grad_mode(c, mode ? NB_GRAD_OVERWRITE : NB_GRAD_ACCUMULATE);
        nb_push(c, NB_REVERSE);
        nb_var a = nb_rev_input(c, nb_const(3));
        nb_var m = nb_mul(c, a, a); /* interior: dy/dm = 2 */
        nb_var y = nb_mul(c, m, nb_const(2));
        for (int k = 1; k <= 2; k++) {
            cr_assert_eq(nb_backward(c, y), NB_OK);
            const nb_var h[2] = {a, m};
            double g[2] = {-1, -1};
            cr_assert_eq(nb_grads(c, 2, h, g), NB_OK);
            const double ga = mode ? 12.0 : 12.0 * k; /* 4a, accumulated over k sweeps */
            cr_expect_eq(g[0], ga, "leaf, sweep %d, mode %d: %g", k, mode, g[0]);
            cr_expect_eq(g[1], 0.0, "interior, sweep %d, mode %d: %g", k, mode, g[1]);
            cr_expect_eq(nb_value(nb_grad(c, a)), ga);
            cr_expect_eq(nb_value(nb_grad(c, m)), 0.0);
        }
        nb_pop(c);
        nb_ctx_free(c);
    }
}

Test(semantics, nan_policy_in_reverse) {
    nb_ctx *c = new_ctx();
    nb_push(c, NB_REVERSE);
    nb_var x = nb_rev_input(c, nb_const(0));
    nb_backward(c, nb_sqrt(c, nb_mul(c, x, x)));
    cr_expect_eq(nb_value(nb_grad(c, x)), 0.0, "d/dx sqrt(x*x) at 0");
    nb_zero_grad(c);
    nb_backward(c, nb_sqrt(c, x));
    cr_expect(isinf(nb_value(nb_grad(c, x))), "d/dx sqrt(x) at 0 is +inf");
    nb_zero_grad(c);
    nb_backward(c, nb_abs(c, x));
    cr_expect_eq(nb_value(nb_grad(c, x)), 0.0, "d/dx |x| at 0");
    nb_zero_grad(c);
    nb_var m = nb_rev_input(c, nb_const(-1));
    nb_backward(c, nb_sqrt(c, m));
    cr_expect(isnan(nb_value(nb_grad(c, m))), "sqrt(-1): NaN derivative");
    nb_pop(c);
    nb_ctx_free(c);
}

/* ---- tape reuse and size ---- */

Test(tape, reset_keeps_capacity_and_reports_size) {
    nb_ctx *c = new_ctx();
    nb_push(c, NB_REVERSE);
    cr_assert_eq(nb_reserve(c, 100000, 200000), NB_OK);
    size_t reserved = nb_ctx_bytes(c);
    nb_tape_info ti;
    for (int round = 0; round < 3; round++) {
        nb_var x = nb_rev_input(c, nb_const(1.5));
        nb_var y = x;
        for (int i = 0; i < 1000; i++) y = nb_add(c, nb_mul(c, y, nb_const(0.5)), x);
        cr_assert_eq(nb_tape_info_get(c, 1, &ti), NB_OK);
        /* 1 leaf + 2000 ops; mul by a constant records 1 operand, add of two nodes 2 */
        cr_expect_eq(ti.statements, 2001u);
        cr_expect_eq(ti.leaves, 1u);
        cr_expect_eq(ti.operands, 3000u);
        cr_expect_eq(ti.ops, 2000u);
        /* 4 bytes per statement (with the sentinel), 12 per operand */
        cr_expect_eq(ti.bytes, 2002u * 4 + 3000u * 12);
        cr_expect_eq(nb_ctx_bytes(c), reserved, "recording within the reservation allocates nothing");
        cr_assert_eq(nb_reset(c), NB_OK);
        cr_expect(nb_is_const(nb_add(c, x, x)) && nb_ctx_status(c) == NB_E_STALE,
                  "a handle recorded before reset is stale");
        nb_ctx_clear_error(c);
    }
    nb_pop(c);
    nb_ctx_trim(c);
    cr_expect_eq(nb_ctx_bytes(c), 0u);
    nb_ctx_free(c);
}

Test(tape, zero_partials_and_constants_are_not_recorded) {
    nb_ctx *c = new_ctx();
    nb_push(c, NB_REVERSE);
    nb_var x = nb_rev_input(c, nb_const(2));
    nb_var k = nb_mul(c, nb_const(3), nb_const(4));
    cr_expect(nb_is_const(k));
    cr_expect_eq(nb_value(k), 12.0);
    nb_var z = nb_mul(c, x, nb_const(0)); /* partial 0: a constant */
    cr_expect(nb_is_const(z));
    nb_var sq = nb_mul(c, x, x); /* one operand, partial 2x */
    nb_tape_info ti;
    nb_tape_info_get(c, 1, &ti);
    cr_expect_eq(ti.statements, 2u);
    cr_expect_eq(ti.operands, 1u);
    nb_backward(c, sq);
    cr_expect_eq(nb_value(nb_grad(c, x)), 4.0);
    nb_pop(c);
    nb_ctx_free(c);
}

/* ---- errors ---- */

Test(errors, stale_handle_after_pop) {
    nb_ctx *c = new_ctx();
    nb_push(c, NB_REVERSE);
    nb_var x = nb_rev_input(c, nb_const(2));
    nb_pop(c);
    nb_var y = nb_sin(c, x);
    cr_expect(isnan(nb_value(y)));
    cr_expect_eq(nb_ctx_status(c), NB_E_STALE);
    nb_ctx_clear_error(c);
    /* the same depth pushed again: the old handle is still stale, not silently reused */
    nb_push(c, NB_REVERSE);
    nb_var x2 = nb_rev_input(c, nb_const(7));
    (void)x2;
    y = nb_mul(c, x, nb_const(2));
    cr_expect(isnan(nb_value(y)));
    cr_expect_eq(nb_ctx_status(c), NB_E_STALE);
    cr_expect_eq(nb_backward(c, x), NB_E_STALE);
    nb_pop(c);
    nb_ctx_free(c);
}

/* A reduction over level-1 handles with one stale or foreign handle among them is that handle's
 * error, recording and growing nothing: it made room for the live handles' operands first, so
 * where the level could not grow it was NB_E_NOMEM (NB_E_TAPE_FULL under a cap), and otherwise
 * it grew the tape for nothing (a review). */
Test(errors, a_reduction_over_a_bad_handle_grows_nothing) {
    enum { N = 300 };
    static nb_var x[N];
    nb_ctx *other = new_ctx();
    cr_assert_eq(nb_push(other, NB_REVERSE), NB_OK);
    const nb_var foreign = nb_rev_input(other, nb_const(1));
    for (int bad = 0; bad < 2; bad++) {
        for (int red = 0; red < 2; red++) {
            struct failing counter = {0, -1};
            nb_ctx_opts o = failing_opts(&counter);
            nb_ctx *c = NULL;
            cr_assert_eq(nb_ctx_new(&c, &o), NB_OK);
            cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
            cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
            const nb_var stale = nb_rev_input(c, nb_const(1));
            cr_assert_eq(nb_pop(c), NB_OK);
            for (int i = 0; i < N - 1; i++) x[i] = nb_rev_input(c, nb_const(1.0 + i));
            x[N - 1] = bad ? foreign : stale;
            counter.fail_at = counter.count + 1; /* the level cannot grow any more */
            const nb_var y = red ? nb_dot(c, N, x, x) : nb_sum(c, N, x);
            cr_expect(isnan(nb_value(y)));
            cr_expect_eq(nb_ctx_status(c), bad ? NB_E_FOREIGN : NB_E_STALE, "bad %d, red %d",
                         bad, red);
            cr_expect_eq(counter.count, counter.fail_at - 1, "bad %d, red %d: an allocation",
                         bad, red);
            nb_ctx_free(c);
        }
    }
    nb_ctx_free(other);
}

/* After 2^27 levels every generation has been issued: a stale handle is still NB_E_STALE (the
 * count of generations issued wrapped to 0 and called it foreign, found by a review). */
Test(errors, stale_after_every_generation_was_issued, .timeout = 100) {
    nb_ctx *c = new_ctx();
    nb_push(c, NB_REVERSE);
    for (unsigned long i = 0; i < (1ul << 27) - 1; i++) nb_reset(c);
    nb_var x = nb_rev_input(c, nb_const(2));
    nb_reset(c); /* the 2^27-th generation */
    nb_var y = nb_sin(c, x);
    cr_expect(isnan(nb_value(y)));
    cr_expect_eq(nb_ctx_status(c), NB_E_STALE);
    nb_ctx_free(c);
}

Test(errors, handle_of_another_context) {
    nb_ctx *a = new_ctx(), *b = new_ctx();
    nb_push(a, NB_REVERSE);
    nb_push(b, NB_REVERSE);
    nb_var xa = nb_rev_input(a, nb_const(1));
    nb_var yb = nb_rev_input(b, nb_const(1));
    nb_var r = nb_add(b, yb, xa);
    cr_expect(isnan(nb_value(r)));
    cr_expect_eq(nb_ctx_status(b), NB_E_FOREIGN);
    cr_expect_eq(nb_ctx_status(a), NB_OK);
    nb_ctx_free(a);
    nb_ctx_free(b);
}

Test(errors, tape_cap) {
    nb_ctx *c = capped_ctx(64 * 1024);
    nb_push(c, NB_REVERSE);
    nb_var x = nb_rev_input(c, nb_const(1.0001));
    nb_var y = x;
    for (int i = 0; i < 100000; i++) y = nb_mul(c, y, x);
    cr_expect_eq(nb_ctx_status(c), NB_E_TAPE_FULL);
    cr_expect(nb_ctx_bytes(c) <= 64 * 1024);
    cr_expect_eq(nb_reserve(c, 1000000, 0), NB_E_TAPE_FULL);
    nb_ctx_free(c);
}

/* Near the cap the arrays grew to exactly what the next op needed, so every op from there on
 * reallocated them by one element: with an allocation hook that copies (as the hook's contract
 * allows), recording 571 428 ops under a 16 MB cap took 46 s in 141 463 allocations (a review).
 * The growth stays geometric up to the cap, and the cap is still used nearly to the byte. */
static size_t copying_allocs;
static void *copying_alloc(void *ud, void *p, size_t old, size_t size) {
    (void)ud;
    if (size == 0) {
        free(p);
        return NULL;
    }
    copying_allocs++;
    void *q = malloc(size);
    if (q && p) memcpy(q, p, old < size ? old : size);
    if (q) free(p);
    return q;
}
Test(errors, growth_near_the_cap_stays_geometric) {
    const size_t cap = 1000000;
    nb_ctx_opts o;
    nb_ctx_opts_init(&o);
    o.max_tape_bytes = cap;
    o.alloc = copying_alloc;
    nb_ctx *c = NULL;
    copying_allocs = 0;
    cr_assert_eq(nb_ctx_new(&c, &o), NB_OK);
    cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
    nb_var x = nb_rev_input(c, nb_const(1.0001)), y = x;
    size_t ops = 0;
    for (; ops < 1000000; ops++) {
        const nb_var z = nb_mul(c, y, x);
        if (nb_ctx_status(c) != NB_OK) break;
        y = z;
    }
    cr_expect_eq(nb_ctx_status(c), NB_E_TAPE_FULL);
    cr_expect_lt(copying_allocs, 200, "%zu allocations for %zu ops", copying_allocs, ops);
    nb_tape_info ti;
    cr_assert_eq(nb_tape_info_get(c, 1, &ti), NB_OK);
    cr_expect_leq(nb_ctx_bytes(c), cap);
    cr_expect_geq((double)ti.bytes, 0.98 * (double)cap, "%zu bytes in use under a cap of %zu",
                  ti.bytes, cap);
    nb_ctx_free(c);
}

/* Under a cap, growing a level's arrays by less than twice their size fits wherever its exact
 * size does: the first array of the request (doubled, or grown by a quarter of the room left)
 * took the room of the others, so nb_reserve(12000, 12000) after nb_reserve(10000, 10000) was
 * NB_E_TAPE_FULL with up to a third of the cap free (a review). */
Test(errors, growth_under_a_cap_leaves_room_for_the_other_arrays) {
    static const nb_kind tiers[3][2] = {
        {NB_REVERSE, 0}, {NB_REVERSE, NB_REVERSE}, {NB_FORWARD, NB_REVERSE}};
    for (int t = 0; t < 3; t++) {
        const int depth = tiers[t][1] ? 2 : 1;
        nb_ctx *c = NULL;
        cr_assert_eq(nb_ctx_new(&c, NULL), NB_OK);
        for (int d = 0; d < depth; d++) cr_assert_eq(nb_push(c, tiers[t][d]), NB_OK);
        cr_assert_eq(nb_reserve(c, 12000, 12000), NB_OK);
        const size_t exact = nb_ctx_bytes(c); /* every array at exactly its size */
        nb_ctx_free(c);
        for (size_t cap = exact; cap < exact + exact / 2; cap += 2048) {
            c = capped_ctx(cap);
            for (int d = 0; d < depth; d++) cr_assert_eq(nb_push(c, tiers[t][d]), NB_OK);
            cr_assert_eq(nb_reserve(c, 10000, 10000), NB_OK);
            cr_expect_eq(nb_reserve(c, 12000, 12000), NB_OK, "tier %d: %zu bytes needed, cap %zu",
                         t, exact, cap);
            cr_expect_leq(nb_ctx_bytes(c), cap);
            nb_ctx_free(c);
        }
    }
}

/* The adjoints of a level grow as one request too: a sweep after recording a fifth more than
 * the last one's tape doubled adj (or gave it a quarter of the room left) and left adj_t or
 * adj_ref too little, so it was NB_E_TAPE_FULL under caps above what it needed, for a while and
 * again further up, while caps between passed (a review). */
static nb_status sweep_twice(int tier, size_t cap, int first, size_t *bytes) {
    nb_ctx *c = capped_ctx(cap);
    nb_var x = nb_const(0.5);
    nb_status s = NB_OK;
    if (tier == 1) {
        s = nb_push(c, NB_FORWARD);
        x = nb_fwd_input(c, x, nb_const(1));
    } else if (tier == 2) { /* reverse over reverse: the sweep records on level 1 */
        s = nb_push(c, NB_REVERSE);
        if (!s) s = nb_reserve(c, 20000, 40000);
        x = nb_rev_input(c, x);
    }
    if (!s) s = nb_push(c, NB_REVERSE);
    if (!s) s = nb_reserve(c, 1202, 2404); /* the tape at its exact size */
    nb_var y = x = nb_rev_input(c, x);
    for (int i = 0; i < first; i++) y = nb_mul(c, y, x);
    if (!s) s = nb_backward(c, y);
    for (int i = first; i < 1200; i++) y = nb_mul(c, y, x);
    nb_zero_grad(c);
    if (!s) s = nb_backward(c, y);
    *bytes = nb_ctx_bytes(c);
    nb_ctx_free(c);
    return s;
}

Test(errors, adjoints_under_a_cap_leave_room_for_each_other) {
    for (int tier = 0; tier < 3; tier++) {
        size_t exact;
        /* the tape and the adjoints at exactly their sizes (one sweep at the end): each cap from
         * there on fits the two sweeps */
        cr_assert_eq(sweep_twice(tier, 0, 1200, &exact), NB_OK);
        for (size_t cap = exact; cap < exact + exact / 5; cap += 16) {
            size_t bytes;
            cr_expect_eq(sweep_twice(tier, cap, 1000, &bytes), NB_OK, "tier %d, cap %zu (%zu needed)",
                         tier, cap, exact);
            cr_expect_leq(bytes, cap);
        }
    }
}

/* A reduction over constants records nothing, so a level under a cap computes it (it grew the
 * tape for n operands first: NB_E_TAPE_FULL and a NaN, a review); and nb_reserve for exactly the
 * statements recorded so far plus more allocates nothing more (it was one node short when
 * `statements` equalled the count with the sentinel). */
Test(errors, reductions_over_constants_under_a_cap_and_exact_reserve) {
    nb_ctx *c = capped_ctx(8000);
    static nb_var k[1000];
    for (int i = 0; i < 1000; i++) k[i] = nb_const(1.0 + i % 3);
    cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
    const size_t before = nb_ctx_bytes(c);
    cr_expect_eq(nb_value(nb_sum(c, 1000, k)), 1999.0);
    cr_expect_eq(nb_value(nb_sumsq(c, 1000, k)), 4663.0);
    cr_expect_eq(nb_value(nb_dot(c, 1000, k, k)), 4663.0);
    cr_expect(close_to(nb_value(nb_norm(c, 1000, k)), sqrt(4663.0), 1e-15, 0));
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    cr_expect_eq(nb_ctx_bytes(c), before, "nothing recorded, nothing grown");
    /* one element of the level among them: one operand */
    nb_var x = nb_rev_input(c, nb_const(2));
    k[500] = x;
    nb_var s = nb_sum(c, 1000, k);
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_backward(c, s);
    cr_expect_eq(nb_value(nb_grad(c, x)), 1.0);
    nb_tape_info ti;
    cr_assert_eq(nb_tape_info_get(c, 1, &ti), NB_OK);
    cr_expect_eq(ti.operands, 1u);
    nb_ctx_free(c);

    /* reserving one statement more than recorded, whatever the capacity was (some count meets
     * a full array), then recording it: no allocation */
    for (int rec = 1; rec <= 600; rec++) {
        struct failing counter = {0, -1}; /* (counts the allocations, fails none) */
        nb_ctx_opts o = failing_opts(&counter);
        cr_assert_eq(nb_ctx_new(&c, &o), NB_OK);
        cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
        x = nb_rev_input(c, nb_const(0.5));
        for (int i = 1; i < rec; i++) x = nb_sin(c, x);
        cr_assert_eq(nb_tape_info_get(c, 1, &ti), NB_OK);
        cr_assert_eq(ti.statements, (size_t)rec);
        cr_assert_eq(nb_reserve(c, ti.statements + 1, ti.operands + 1), NB_OK);
        const int after_reserve = counter.count;
        x = nb_sin(c, x);
        cr_expect_eq(counter.count, after_reserve, "%d statements: recording the one reserved "
                     "allocated", rec);
        nb_ctx_free(c);
    }
}

/* The array calls leave no uninitialized handle behind: where no input can be made, every out[i]
 * is a NaN constant (as nb_rev_input and nb_fwd_input give one at a time), and nb_grads /
 * nb_tangents write NaN where the top level is of another kind. */
Test(errors, array_inputs_on_failure_are_nan_constants) {
    nb_ctx *c = capped_ctx(4096);
    enum { N = 10000 };
    static double x[N], dx[N], g[3];
    static nb_var out[N];
    memset(out, 0xab, sizeof out);
    cr_expect_eq(nb_rev_inputs(c, N, x, out), NB_E_LEVEL); /* no level */
    for (int i = 0; i < N; i++) cr_assert(nb_is_const(out[i]) && isnan(out[i].v), "out[%d]", i);
    nb_push(c, NB_REVERSE);
    memset(out, 0xab, sizeof out);
    cr_expect_eq(nb_fwd_inputs(c, 2, x, dx, out), NB_E_LEVEL); /* the wrong kind */
    cr_expect(nb_is_const(out[0]) && isnan(out[0].v) && nb_is_const(out[1]) && isnan(out[1].v));
    g[0] = g[1] = g[2] = 5;
    cr_expect_eq(nb_tangents(c, 3, out, g), NB_E_LEVEL);
    cr_expect(isnan(g[0]) && isnan(g[1]) && isnan(g[2]));
    nb_reset(c);
    memset(out, 0xab, sizeof out);
    cr_expect_eq(nb_rev_inputs(c, N, x, out), NB_E_TAPE_FULL); /* beyond the cap */
    for (int i = 0; i < N; i++) cr_assert(nb_is_const(out[i]) && isnan(out[i].v), "out[%d]", i);
    nb_reset(c);
    memset(out, 0xab, sizeof out);
    cr_expect_eq(nb_fwd_inputs(c, 3, NULL, dx, out), NB_E_ARG);
    cr_expect(nb_is_const(out[2]) && isnan(out[2].v));
    nb_pop(c);
    nb_push(c, NB_FORWARD);
    g[0] = g[1] = g[2] = 5;
    cr_expect_eq(nb_grads(c, 3, out, g), NB_E_LEVEL);
    cr_expect(isnan(g[0]) && isnan(g[1]) && isnan(g[2]));
    memset(out, 0xab, sizeof out);
    cr_expect_eq(nb_fwd_inputs(c, N, x, dx, out), NB_E_TAPE_FULL); /* beyond the cap */
    for (int i = 0; i < N; i++) cr_assert(nb_is_const(out[i]) && isnan(out[i].v), "out[%d]", i);
    memset(out, 0xab, 2 * sizeof *out);
    cr_expect_eq(nb_rev_inputs(NULL, 2, x, out), NB_E_ARG);
    cr_expect(nb_is_const(out[1]) && isnan(out[1].v));
    memset(out, 0xab, 2 * sizeof *out);
    cr_expect_eq(nb_fwd_inputs(NULL, 2, x, dx, out), NB_E_ARG);
    cr_expect(nb_is_const(out[1]) && isnan(out[1].v));
    g[0] = g[1] = g[2] = 5;
    cr_expect_eq(nb_grads(NULL, 3, out, g), NB_E_ARG);
    cr_expect(isnan(g[0]) && isnan(g[2]));
    g[0] = g[1] = g[2] = 5;
    cr_expect_eq(nb_grads(c, 3, NULL, g), NB_E_ARG);
    cr_expect(isnan(g[0]) && isnan(g[2]));
    g[0] = g[1] = g[2] = 5;
    cr_expect_eq(nb_tangents(NULL, 3, out, g), NB_E_ARG);
    cr_expect(isnan(g[0]) && isnan(g[2]));
    g[0] = g[1] = g[2] = 5;
    cr_expect_eq(nb_tangents(c, 3, NULL, g), NB_E_ARG);
    cr_expect(isnan(g[0]) && isnan(g[2]));
    nb_ctx_free(c);
}

Test(errors, levels) {
    nb_ctx *c = new_ctx();
    cr_expect_eq(nb_pop(c), NB_E_LEVEL);
    cr_expect_eq(nb_reset(c), NB_E_LEVEL);
    cr_expect_eq(nb_push(c, (nb_kind)7), NB_E_ARG);
    nb_var t = nb_rev_input(c, nb_const(1));
    cr_expect(isnan(nb_value(t)));
    cr_expect_eq(nb_ctx_status(c), NB_E_LEVEL);
    nb_ctx_clear_error(c);
    nb_push(c, NB_FORWARD);
    cr_expect_eq(nb_backward(c, nb_const(1)), NB_E_LEVEL, "backward needs a reverse level");
    nb_ctx_clear_error(c);
    nb_var x = nb_fwd_input(c, nb_const(1), nb_const(1));
    nb_fwd_input(c, x, nb_const(1)); /* x already belongs to this level */
    cr_expect_eq(nb_ctx_status(c), NB_E_ARG);
    for (int i = 1; i < NB_MAX_DEPTH; i++) cr_assert_eq(nb_push(c, NB_FORWARD), NB_OK);
    cr_expect_eq(nb_depth(c), NB_MAX_DEPTH);
    cr_expect_eq(nb_push(c, NB_FORWARD), NB_E_DEPTH);
    nb_ctx_free(c);
    cr_expect_eq(nb_ctx_new(NULL, NULL), NB_E_ARG);
    nb_ctx_free(NULL);
}


Test(errors, every_allocation_failure_is_a_status) {
    struct rosen_env env = {200};
    double x[200], g[200], h[200];
    for (int i = 0; i < 200; i++) x[i] = 0.01 * i - 1;
    rosen_grad_hand(200, x, h);
    int total = -1;
    for (int k = 1;; k++) {
        struct failing f = {0, k};
        const nb_ctx_opts o = failing_opts(&f);
        nb_ctx *c = NULL;
        nb_status s = nb_ctx_new(&c, &o);
        if (s == NB_OK) {
            s = nb_gradient(c, rosen, &env, 200, x, NULL, g);
            /* a second gradient on the warm context */
            if (s == NB_OK) s = nb_gradient(c, rosen, &env, 200, x, NULL, g);
            nb_ctx_free(c);
        }
        if (f.count < k) { /* no allocation failed: every one was survived before */
            cr_assert_eq(s, NB_OK);
            for (int i = 0; i < 200; i++) cr_expect(close_to(g[i], h[i], 1e-14, 1e-14));
            total = k - 1;
            break;
        }
        cr_expect_eq(s, NB_E_NOMEM, "allocation %d failed: status %d", k, s);
    }
    cr_expect_gt(total, 3, "the test must have failed several allocations (%d)", total);
}

/* ---- the drivers' protocol: f is called only on good inputs, must leave the level stack as it
 * found it, and every failure leaves NaN outputs (found by a review) ---- */

static int f_calls;
static nb_var pushes_and_leaves(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    f_calls++;
    nb_push(c, NB_FORWARD);
    return nb_mul(c, x[0], x[0]);
}
static nb_var pops_too_much(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    f_calls++;
    nb_var y = nb_mul(c, x[0], x[0]);
    nb_pop(c);
    return y;
}
/* Pops the driver's level and pushes one of its own in its place: the depth is right, but the
 * level is not the driver's (without the check, the sweep would run on f's tape). */
static nb_var replaces_the_level(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    f_calls++;
    const double v = nb_value(x[0]);
    nb_pop(c);
    nb_push(c, NB_REVERSE);
    nb_var y = nb_rev_input(c, nb_const(v));
    return nb_mul(c, y, y);
}
/* Resets the driver's level (as pop + push) and builds on the new one. */
static nb_var resets_the_level(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    f_calls++;
    const double v = nb_value(x[0]);
    nb_reset(c);
    const int kind = nb_level_kind(c, nb_depth(c));
    nb_var y = kind == NB_FORWARD  ? nb_fwd_input(c, nb_const(v), nb_const(1))
               : kind == NB_TAYLOR ? nb_taylor_input(c, nb_const(v), nb_const(1))
                                   : nb_rev_input(c, nb_const(v));
    return nb_mul(c, y, y);
}
static nb_var square(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    f_calls++;
    return nb_mul(c, x[0], x[0]);
}

Test(drivers, an_unbalanced_function_is_an_error_and_the_callers_levels_survive) {
    nb_ctx *c = new_ctx();
    double x = 3, fx = 0, g = 0;
    /* the caller's own reverse level, with a handle on it */
    cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
    nb_var mine = nb_rev_input(c, nb_const(5));
    cr_expect_eq(nb_gradient(c, pushes_and_leaves, NULL, 1, &x, &fx, &g), NB_E_LEVEL);
    cr_expect(isnan(fx) && isnan(g), "no number from a failed driver: %g %g", fx, g);
    cr_expect_eq(nb_depth(c), 1, "back at the caller's depth");
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_value(nb_mul(c, mine, mine)), 25, "the caller's handle is still valid");
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    /* popping the driver's level: reported, and nothing of the caller's is popped */
    cr_expect_eq(nb_gradient(c, pops_too_much, NULL, 1, &x, &fx, &g), NB_E_LEVEL);
    cr_expect_eq(nb_depth(c), 1);
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_value(nb_mul(c, mine, mine)), 25);
    /* replacing the driver's level by another at the same depth */
    cr_expect_eq(nb_gradient(c, replaces_the_level, NULL, 1, &x, &fx, &g), NB_E_LEVEL);
    cr_expect(isnan(fx) && isnan(g), "%g %g", fx, g);
    cr_expect_eq(nb_depth(c), 1);
    nb_ctx_clear_error(c);
    double d = 0;
    cr_expect_eq(nb_derivative(c, replaces_the_level, NULL, x, &fx, &d), NB_E_LEVEL);
    cr_expect(isnan(d));
    nb_ctx_clear_error(c);
    double H = 0, v = 1, hv = 0;
    cr_expect_eq(nb_hvp(c, replaces_the_level, NULL, 1, &x, &v, &fx, &g, &hv), NB_E_LEVEL);
    cr_expect(isnan(hv));
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_hessian(c, replaces_the_level, NULL, 1, &x, &fx, &g, &H), NB_E_LEVEL);
    cr_expect(isnan(H));
    cr_expect_eq(nb_depth(c), 1);
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_value(nb_mul(c, mine, mine)), 25, "the caller's handle is still valid");
    /* resetting the driver's level is pop + push: not the driver's level any more (a review
     * found jvp, taylor and derivatives returning NB_OK on f's replacement level) */
    cr_expect_eq(nb_derivative(c, resets_the_level, NULL, x, &fx, &d), NB_E_LEVEL);
    cr_expect(isnan(d));
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_gradient(c, resets_the_level, NULL, 1, &x, &fx, &g), NB_E_LEVEL);
    nb_ctx_clear_error(c);
    double coef[3];
    cr_expect_eq(nb_derivatives(c, resets_the_level, NULL, x, 2, coef), NB_E_LEVEL);
    cr_expect(isnan(coef[2]));
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_depth(c), 1);
    /* and a balanced f that runs its own driver inside is fine */
    cr_expect_eq(nb_gradient(c, square, NULL, 1, &x, &fx, &g), NB_OK);
    cr_expect(fx == 9 && g == 6);
    nb_pop(c);
    nb_ctx_free(c);
}

Test(drivers, failed_inputs_never_reach_f) {
    /* a tape cap too small for the inputs: f is not called, the outputs are NaN */
    nb_ctx *c = capped_ctx(2000);
    enum { N = 1000 };
    static double x[N], g[N], v[N], hv[N];
    for (int i = 0; i < N; i++) x[i] = v[i] = 1;
    f_calls = 0;
    double fx = 0;
    cr_expect_eq(nb_gradient(c, square, NULL, N, x, &fx, g), NB_E_TAPE_FULL);
    cr_expect_eq(f_calls, 0, "f was called on inputs that could not be made");
    cr_expect(isnan(fx) && isnan(g[0]) && isnan(g[N - 1]));
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_hvp(c, square, NULL, N, x, v, &fx, g, hv), NB_E_TAPE_FULL);
    cr_expect_eq(f_calls, 0);
    cr_expect(isnan(hv[0]) && isnan(hv[N - 1]));
    cr_expect_eq(nb_depth(c), 0);
    nb_ctx_free(c);
}

/* A vector function that counts the calls it gets with an input that is not a real value (a
 * NaN constant from a failed nb_fwd_input). */
static int bad_calls;
static void sum_to_one(nb_ctx *c, const nb_var *x, nb_var *y, void *env) {
    size_t n = *(const size_t *)env;
    for (size_t i = 0; i < n; i++) bad_calls += isnan(nb_value(x[i]));
    y[0] = nb_sum(c, n, x);
}

/* The forward Jacobian made its inputs, ignored their failure and called f on NaN constants
 * (found by a review): across tape caps around the size of the inputs, f never sees one. */
Test(drivers, forward_jacobian_calls_f_on_good_inputs_only) {
    enum { N = 1000 };
    static double x[N], J[N], y[1];
    for (int i = 0; i < N; i++) x[i] = 1;
    size_t n = N;
    int failures = 0;
    for (size_t cap = 16000; cap <= 40000; cap += 512) {
        nb_ctx *c = capped_ctx(cap);
        bad_calls = 0;
        nb_status s = nb_jacobian(c, sum_to_one, &n, N, 1, x, NB_JAC_FORWARD, y, J);
        cr_expect_eq(bad_calls, 0, "cap %zu: f called on failed inputs (status %d)", cap, s);
        if (s) {
            failures++;
            cr_expect(isnan(J[0]) && isnan(y[0]));
        }
        nb_ctx_free(c);
    }
    cr_expect_gt(failures, 0, "some caps must be too small");
}

static void twice_and_square(nb_ctx *c, const nb_var *x, nb_var *y, void *env) {
    (void)env;
    y[0] = nb_add(c, nb_mul(c, nb_const(3), x[0]), nb_mul(c, nb_const(2), x[1]));
    y[1] = nb_add(c, x[0], nb_mul(c, x[1], x[1]));
}
static nb_var rosen_xy(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    nb_var a = nb_sub(c, x[1], nb_mul(c, x[0], x[0])), b = nb_sub(c, nb_const(1), x[0]);
    return nb_add(c, nb_mul(c, nb_const(100), nb_mul(c, a, a)), nb_mul(c, b, b));
}

Test(drivers, outputs_may_alias_inputs) {
    nb_ctx *c = new_ctx();
    /* y = x in a forward Jacobian: J = [3 2; 1 2 x1] at (1, 3) */
    for (int mode = NB_JAC_REVERSE; mode <= NB_JAC_FORWARD; mode++) {
        double x[2] = {1, 3}, J[4];
        cr_assert_eq(nb_jacobian(c, twice_and_square, NULL, 2, 2, x, (nb_jac_mode)mode, x, J), NB_OK);
        cr_expect(J[0] == 3 && J[1] == 2 && J[2] == 1 && J[3] == 6, "mode %d: J = [%g %g; %g %g]",
                  mode, J[0], J[1], J[2], J[3]);
        cr_expect(x[0] == 9 && x[1] == 10, "y written: (%g, %g)", x[0], x[1]);
    }
    /* y = v in a vjp: v^T J with v = (1, 2) is (5, 14) */
    double x[2] = {1, 3}, v[2] = {1, 2}, out[2];
    cr_assert_eq(nb_vjp(c, twice_and_square, NULL, 2, 2, x, v, v, out), NB_OK);
    cr_expect(out[0] == 5 && out[1] == 14, "out = (%g, %g)", out[0], out[1]);
    cr_expect(v[0] == 9 && v[1] == 10);
    /* g = x in a Hessian: the gradient at (1, 1) is 0, H = [802 -400; -400 200] */
    double p[2] = {1, 1}, H[4], fx;
    cr_assert_eq(nb_hessian(c, rosen_xy, NULL, 2, p, &fx, p, H), NB_OK);
    cr_expect(H[0] == 802 && H[1] == -400 && H[2] == -400 && H[3] == 200, "H = [%g %g; %g %g]",
              H[0], H[1], H[2], H[3]);
    cr_expect(p[0] == 0 && p[1] == 0 && fx == 0);
    nb_ctx_free(c);
}

/* nb_reserve for exactly what is recorded, with binary ops: x*x keeps one operand, but the op
 * makes room for two first, so the last op of an exact reservation grew the arrays (2 allocations
 * at depth 1, 3 at depth 2), and under a cap set right at the reserved bytes it was
 * NB_E_TAPE_FULL with y NaN (a review). */
Test(errors, an_exact_reservation_of_binary_ops_allocates_nothing_more) {
    for (int depth = 1; depth <= 2; depth++) {
        for (int capped = 0; capped < 2; capped++) {
            static size_t reserved_bytes[3];
            struct failing counter = {0, -1};
            nb_ctx_opts o = failing_opts(&counter);
            if (capped) o.max_tape_bytes = reserved_bytes[depth];
            nb_ctx *c = NULL;
            cr_assert_eq(nb_ctx_new(&c, &o), NB_OK);
            for (int d = 0; d < depth; d++) cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
            /* 1000 squarings: 1001 statements with the input, 1000 operands */
            cr_assert_eq(nb_reserve(c, 1001, 1000), NB_OK);
            if (!capped) reserved_bytes[depth] = nb_ctx_bytes(c);
            const int after_reserve = counter.count;
            nb_var y = nb_rev_input(c, nb_const(1.0));
            for (int i = 0; i < 1000; i++) y = nb_mul(c, y, y);
            nb_tape_info ti;
            cr_assert_eq(nb_tape_info_get(c, depth, &ti), NB_OK);
            cr_expect_eq(ti.statements, 1001u);
            cr_expect_eq(ti.operands, 1000u);
            cr_expect_eq(counter.count, after_reserve, "depth %d, cap %d: %d allocations while "
                         "recording what was reserved", depth, capped, counter.count - after_reserve);
            cr_expect_eq(nb_ctx_status(c), NB_OK, "depth %d, cap %d", depth, capped);
            cr_expect_eq(nb_value(y), 1.0);
            nb_ctx_free(c);
        }
    }
}

/* A custom op of six operands that depends on the first two only: four zero partials. */
static double first_two_value(const double *x, size_t k, void *env) {
    (void)k;
    (void)env;
    return x[0] * x[1];
}
static nb_status first_two_rule(nb_ctx *c, const nb_var *x, size_t k, nb_var *dfdx, void *env) {
    (void)c;
    (void)env;
    for (size_t i = 0; i < k; i++) dfdx[i] = nb_const(0);
    dfdx[0] = x[1];
    dfdx[1] = x[0];
    return NB_OK;
}

/* An exact reservation also holds for the reductions and custom ops that keep fewer operands than
 * they have elements - dot(x, x) (one operand per element), zero partials dropped - on every
 * reverse tier: they made room for an operand per element first, so under a cap at the
 * reservation they failed with NB_E_TAPE_FULL and a NaN (a review). The cap leaves room for the
 * scratch of a reduction above level 1, which nb_reserve does not pre-size (nabla/ctx.h). */
Test(errors, an_exact_reservation_holds_for_ops_that_keep_fewer_operands) {
    static const nb_kind tiers[3][2] = {
        {NB_REVERSE, 0}, {NB_REVERSE, NB_REVERSE}, {NB_FORWARD, NB_REVERSE}};
    static const nb_custom_op first_two = {first_two_value, first_two_rule};
    enum { N = 1000 };
    static nb_var x[N];
    for (int t = 0; t < 3; t++) {
        const int depth = tiers[t][1] ? 2 : 1;
        /* dot(x, x); sumsq with half the elements 0; the sum of x and then the custom op of
         * x[0 .. 5] (a statement more) */
        for (int op = 0; op < 3; op++) {
            const size_t n = N, stmts = op == 2 ? N + 2 : N + 1;
            const size_t kept = op == 0 ? N : op == 1 ? N / 2 : N + 2;
            const size_t per = t == 2 ? sizeof(nb_dual) : sizeof(nb_var);
            const size_t scratch = depth == 1 ? 0 : (op == 0 ? 2 * n : n) * per;
            nb_ctx *c = NULL;
            cr_assert_eq(nb_ctx_new(&c, NULL), NB_OK);
            for (int d = 0; d < depth; d++) cr_assert_eq(nb_push(c, tiers[t][d]), NB_OK);
            cr_assert_eq(nb_reserve(c, stmts, kept), NB_OK);
            const size_t reserved = nb_ctx_bytes(c);
            nb_ctx_free(c);

            c = capped_ctx(reserved + scratch);
            for (int d = 0; d < depth; d++) cr_assert_eq(nb_push(c, tiers[t][d]), NB_OK);
            cr_assert_eq(nb_reserve(c, stmts, kept), NB_OK);
            double want = 0;
            for (size_t i = 0; i < n; i++) {
                const double v = op == 1 && i % 2 == 0 ? 0.0 : (double)i + 1.0;
                x[i] = nb_rev_input(c, nb_const(v));
                want += v * v;
            }
            nb_var y = nb_const(0);
            if (op < 2) y = op == 0 ? nb_dot(c, n, x, x) : nb_sumsq(c, n, x);
            if (op == 2) {
                cr_expect_eq(nb_value(nb_sum(c, n, x)), (double)N * (N + 1) / 2);
                y = nb_custom(c, &first_two, x, 6, NULL);
                want = 2.0;
            }
            nb_tape_info ti;
            cr_assert_eq(nb_tape_info_get(c, depth, &ti), NB_OK);
            cr_expect_eq(nb_ctx_status(c), NB_OK, "tier %d, op %d", t, op);
            cr_expect_eq(nb_value(y), want, "tier %d, op %d", t, op);
            cr_expect_eq(ti.statements, stmts);
            cr_expect_eq(ti.operands, kept, "tier %d, op %d", t, op);
            cr_expect(nb_ctx_bytes(c) <= reserved + scratch);
            nb_ctx_free(c);
        }
    }
}

/* nb_reserve for exactly what a reduction over handles records: dot(x, x) keeps one operand per
 * element and sumsq drops the zero partials, but the reduction made room for 2n (n) operands
 * first, so it grew the arrays past the reservation, and under a cap set right at the reserved
 * bytes it was NB_E_TAPE_FULL with a NaN value (a review). */
Test(errors, an_exact_reservation_of_reductions_allocates_nothing_more) {
    enum { N = 1000 };
    static double x[N];
    static nb_var h[N];
    for (int red = 0; red < 2; red++) {
        for (int i = 0; i < N; i++) x[i] = red == 1 && i % 2 ? 0.0 : 1.0 + i;
        const size_t operands = red == 0 ? N : N / 2; /* what the statement records */
        static size_t reserved_bytes;
        for (int capped = 0; capped < 2; capped++) {
            struct failing counter = {0, -1};
            nb_ctx_opts o = failing_opts(&counter);
            if (capped) o.max_tape_bytes = reserved_bytes;
            nb_ctx *c = NULL;
            cr_assert_eq(nb_ctx_new(&c, &o), NB_OK);
            cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
            cr_assert_eq(nb_reserve(c, N + 1, operands), NB_OK);
            if (!capped) reserved_bytes = nb_ctx_bytes(c);
            const int after_reserve = counter.count;
            cr_assert_eq(nb_rev_inputs(c, N, x, h), NB_OK);
            nb_var y = red == 0 ? nb_dot(c, N, h, h) : nb_sumsq(c, N, h);
            nb_tape_info ti;
            cr_assert_eq(nb_tape_info_get(c, 1, &ti), NB_OK);
            cr_expect_eq(ti.statements, (size_t)N + 1);
            cr_expect_eq(ti.operands, operands);
            cr_expect_eq(counter.count, after_reserve, "reduction %d, cap %d: %d allocations "
                         "while recording what was reserved", red, capped,
                         counter.count - after_reserve);
            cr_expect_eq(nb_ctx_status(c), NB_OK, "reduction %d, cap %d", red, capped);
            cr_expect(!isnan(nb_value(y)), "reduction %d, cap %d", red, capped);
            nb_ctx_free(c);
        }
    }
}

/* ---- an f that pops the caller's levels and frees their storage ---- */

/* A hook that never gives memory back while the context lives: a freed block is filled with 0xA5
 * and kept, so a write after it was freed shows in any build (the sanitizer build sees it too). */
typedef struct {
    void *blocks[4096];
    size_t sizes[4096];
    size_t n;
} keeper;
static void *keeping_alloc(void *ud, void *ptr, size_t old_size, size_t new_size) {
    keeper *k = ud;
    if (new_size == 0) {
        if (ptr) memset(ptr, 0xA5, old_size);
        return NULL;
    }
    void *p = malloc(new_size);
    if (!p || k->n == 4096) {
        free(p);
        return NULL;
    }
    k->blocks[k->n] = p;
    k->sizes[k->n++] = new_size;
    if (ptr) {
        memcpy(p, ptr, old_size < new_size ? old_size : new_size);
        memset(ptr, 0xA5, old_size);
    }
    return p;
}
static nb_var pops_everything_and_trims(nb_ctx *c, const nb_var *x, void *env) {
    (void)x;
    (void)env;
    while (nb_depth(c)) nb_pop(c);
    nb_ctx_trim(c);
    return nb_const(0);
}

/* the same, then pushes levels back to the depth it found (a second review: the depth alone
 * looked balanced) */
static nb_var pops_trims_and_pushes_back(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    nb_var y = nb_mul(c, x[0], x[1]);
    const int d = nb_depth(c);
    while (nb_depth(c)) nb_pop(c);
    nb_ctx_trim(c);
    for (int i = 0; i < d; i++) nb_push(c, i % 2 ? NB_REVERSE : NB_FORWARD);
    return y;
}

/* nb_hvp and nb_hessian hand their own level's storage to nb_gradient_var as its output array;
 * an f that popped every level and called nb_ctx_trim freed it, and nb_gradient_var then wrote
 * its NaN outputs there (a review: heap-use-after-free under the sanitizer, silent corruption
 * otherwise). */
Test(drivers, an_f_that_pops_and_trims_the_callers_levels_writes_no_freed_memory) {
    keeper *k = calloc(1, sizeof *k);
    cr_assert_not_null(k);
    nb_ctx_opts o;
    nb_ctx_opts_init(&o);
    o.alloc = keeping_alloc;
    o.alloc_ud = k;
    nb_ctx *c = NULL;
    cr_assert_eq(nb_ctx_new(&c, &o), NB_OK);
    double x[2] = {1, 2}, v[2] = {1, 0}, hv[2] = {0, 0}, g[2], H[4], fx;
    for (int which = 0; which < 4; which++) {
        /* a warm context, then the whole stack popped and trimmed by f */
        cr_assert_eq(nb_hvp(c, square, NULL, 2, x, v, NULL, NULL, hv), NB_OK);
        size_t before = k->n;
        nb_fn f = which < 2 ? pops_everything_and_trims : pops_trims_and_pushes_back;
        nb_status s = which % 2 == 0 ? nb_hvp(c, f, NULL, 2, x, v, &fx, g, hv)
                                     : nb_hessian(c, f, NULL, 2, x, &fx, g, H);
        cr_expect_eq(s, NB_E_LEVEL, "%s, case %d", which % 2 ? "hessian" : "hvp", which);
        cr_expect(isnan(fx) && isnan(g[0]) && isnan(g[1]), "the double outputs are NaN");
        cr_expect(which % 2 ? isnan(H[0]) && isnan(H[3]) : isnan(hv[0]) && isnan(hv[1]));
        cr_expect_eq(nb_depth(c), 0);
        /* every block that existed before the call and was freed by the trim is still all 0xA5 */
        size_t written = 0;
        for (size_t b = 0; b < before; b++) {
            const unsigned char *p = k->blocks[b];
            size_t poisoned = 0;
            for (size_t i = 0; i < k->sizes[b]; i++) poisoned += p[i] == 0xA5;
            /* a freed block is all poison but for what was written into it afterwards: count
             * blocks that are mostly poison yet not all of it */
            if (poisoned >= k->sizes[b] / 2 && poisoned < k->sizes[b]) written++;
        }
        cr_expect_eq(written, 0, "%zu freed blocks written after they were freed", written);
        nb_ctx_clear_error(c);
        nb_ctx_trim(c);
    }
    /* the context works afterwards */
    double hv2[2];
    cr_expect_eq(nb_hvp(c, square, NULL, 2, x, v, NULL, NULL, hv2), NB_OK);
    nb_ctx_free(c);
    for (size_t b = 0; b < k->n; b++) free(k->blocks[b]);
    free(k);
}
