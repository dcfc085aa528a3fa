/* test_array.c - borrowed double arrays as inputs (nabla/array.h): the chapter's numbers, the
 * reductions and element handles against the same computation on handles (nb_rev_inputs,
 * nb_dot, ...), gradient accumulation and overwrite, the tape's size, and every error. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "nabla/nabla.h"
#include "oracle.h"

/* The same bits (NaN equal to NaN). */
static int same(double a, double b) { return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b)); }

Test(chapter, two_x_dot_x_and_sum) {
    nb_ctx *c = new_ctx();
    cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
    const double x[4] = {0, 1, 2, 3};
    double dx[4] = {7, 7, 7, 7}; /* set to zero by nb_rev_array */
    nb_array a;
    cr_assert_eq(nb_rev_array(c, 4, x, dx, &a), NB_OK);
    nb_var y = nb_mul(c, nb_const(2), nb_array_dot(c, a, a));
    cr_expect_eq(nb_value(y), 28.0);
    cr_assert_eq(nb_backward(c, y), NB_OK);
    for (int i = 0; i < 4; i++) cr_expect_eq(dx[i], 4 * x[i], "dx[%d] = %g", i, dx[i]);
    /* the gradient of sum(x) on a fresh tape: ones */
    cr_assert_eq(nb_reset(c), NB_OK);
    cr_assert_eq(nb_rev_array(c, 4, x, dx, &a), NB_OK);
    cr_assert_eq(nb_backward(c, nb_array_sum(c, a)), NB_OK);
    for (int i = 0; i < 4; i++) cr_expect_eq(dx[i], 1.0);
    nb_ctx_free(c);
}

/* Each reduction over an array against the handle reduction over the same values: the same
 * value and, with a single statement feeding each element, the same gradient bit for bit. */
enum { NR = 5 };
static nb_var red_handles(nb_ctx *c, int k, size_t n, const nb_var *x, const nb_var *y) {
    switch (k) {
    case 0: return nb_sum(c, n, x);
    case 1: return nb_sumsq(c, n, x);
    case 2: return nb_norm(c, n, x);
    case 3: return nb_dot(c, n, x, y);
    default: return nb_dot(c, n, x, x);
    }
}
static nb_var red_array(nb_ctx *c, int k, nb_array a, nb_array b) {
    switch (k) {
    case 0: return nb_array_sum(c, a);
    case 1: return nb_array_sumsq(c, a);
    case 2: return nb_array_norm(c, a);
    case 3: return nb_array_dot(c, a, b);
    default: return nb_array_dot(c, a, a);
    }
}

Test(reductions, agree_with_the_handle_reductions_bit_for_bit) {
    enum { N = 1000 };
    static double x[N], y[N], gx[N], gy[N], dx[N], dy[N];
    static nb_var hx[N], hy[N];
    unsigned long long seed = 5;
    for (int i = 0; i < N; i++) x[i] = uniform(&seed, -3, 3), y[i] = uniform(&seed, -3, 3);
    x[17] = 0; /* a zero partial of sumsq and dot is not recorded: nothing added either way */
    nb_ctx *c = new_ctx();
    for (int k = 0; k < NR; k++) {
        /* handles */
        cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
        nb_rev_inputs(c, N, x, hx);
        nb_rev_inputs(c, N, y, hy);
        nb_var r1 = red_handles(c, k, N, hx, hy);
        nb_var f1 = nb_sin(c, nb_mul(c, r1, nb_const(0.37))); /* a seed other than 1 */
        cr_assert_eq(nb_backward(c, f1), NB_OK);
        nb_grads(c, N, hx, gx);
        nb_grads(c, N, hy, gy);
        nb_tape_info h;
        nb_tape_info_get(c, 1, &h);
        nb_pop(c);
        /* arrays */
        cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
        nb_array a, b;
        cr_assert_eq(nb_rev_array(c, N, x, dx, &a), NB_OK);
        cr_assert_eq(nb_rev_array(c, N, y, dy, &b), NB_OK);
        nb_var r2 = red_array(c, k, a, b);
        nb_var f2 = nb_sin(c, nb_mul(c, r2, nb_const(0.37)));
        cr_assert_eq(nb_backward(c, f2), NB_OK);
        nb_tape_info t;
        nb_tape_info_get(c, 1, &t);
        cr_expect(same(nb_value(r1), nb_value(r2)), "reduction %d: %.17g vs %.17g", k,
                  nb_value(r1), nb_value(r2));
        cr_expect(same(nb_value(f1), nb_value(f2)));
        int bad = 0;
        for (int i = 0; i < N; i++) bad += !same(gx[i], dx[i]) + !same(gy[i], dy[i]);
        cr_expect_eq(bad, 0, "reduction %d: %d gradients differ", k, bad);
        /* the tape: the reduction, the product and sin, and no operand for the array's elements */
        cr_expect_eq(t.operands, 2u, "reduction %d: %zu operands", k, t.operands);
        cr_expect_eq(t.statements, 3u);
        cr_expect_lt(t.bytes, 200u, "%zu bytes", t.bytes);
        cr_expect_eq(t.ops, h.ops, "each reduction counts as one op, as on handles");
        nb_pop(c);
    }
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_ctx_free(c);
}

/* A function of elements and reductions together, against the handle version: the same value;
 * gradients to a few ulps (the order of an element's contributions differs). Analytic check too. */
Test(elements, mixed_with_reductions) {
    enum { N = 50 };
    double x[N], dx[N], g[N];
    nb_var h[N];
    unsigned long long seed = 9;
    for (int i = 0; i < N; i++) x[i] = uniform(&seed, 0.5, 2);
    nb_ctx *c = new_ctx();
    /* f = sumsq(x) * x3 + sin(x0) * norm(x) */
    nb_push(c, NB_REVERSE);
    nb_rev_inputs(c, N, x, h);
    nb_var f1 = nb_add(c, nb_mul(c, nb_sumsq(c, N, h), h[3]),
                       nb_mul(c, nb_sin(c, h[0]), nb_norm(c, N, h)));
    nb_backward(c, f1);
    nb_grads(c, N, h, g);
    nb_pop(c);
    nb_push(c, NB_REVERSE);
    nb_array a;
    cr_assert_eq(nb_rev_array(c, N, x, dx, &a), NB_OK);
    nb_var x3 = nb_array_at(c, a, 3), x0 = nb_array_at(c, a, 0);
    cr_expect_eq(nb_value(x3), x[3]);
    nb_var f2 = nb_add(c, nb_mul(c, nb_array_sumsq(c, a), x3),
                       nb_mul(c, nb_sin(c, x0), nb_array_norm(c, a)));
    cr_assert_eq(nb_backward(c, f2), NB_OK);
    cr_expect(same(nb_value(f1), nb_value(f2)));
    double ss = 0;
    for (int i = 0; i < N; i++) ss += x[i] * x[i];
    double nrm = sqrt(ss);
    for (int i = 0; i < N; i++) {
        double want = 2 * x[i] * x[3] + sin(x[0]) * x[i] / nrm + (i == 3 ? ss : 0) +
                      (i == 0 ? cos(x[0]) * nrm : 0);
        cr_expect(fabs(dx[i] - g[i]) <= 4e-16 * fabs(g[i]), "%d: %.17g vs %.17g", i, dx[i], g[i]);
        cr_expect(fabs(dx[i] - want) <= 1e-13 * fabs(want), "%d: %.17g vs %.17g", i, dx[i], want);
    }
    cr_expect_eq(nb_grad(c, x3).v, 0.0, "an element's gradient is in dx, not in its handle");
    nb_ctx_free(c);
}

Test(gradients, accumulate_overwrite_and_zero) {
    const double x[3] = {1, -2, 0.5};
    double dx[3];
    nb_ctx *c = new_ctx();
    nb_push(c, NB_REVERSE);
    nb_array a;
    nb_rev_array(c, 3, x, dx, &a);
    nb_var y = nb_array_sumsq(c, a);
    nb_var e = nb_mul(c, nb_array_at(c, a, 1), nb_const(3));
    nb_backward(c, y);
    nb_backward(c, y); /* the tape is kept: twice the gradient */
    for (int i = 0; i < 3; i++) cr_expect_eq(dx[i], 4 * x[i]);
    nb_backward(c, e);
    cr_expect_eq(dx[1], 4 * x[1] + 3);
    cr_assert_eq(nb_zero_grad(c), NB_OK);
    for (int i = 0; i < 3; i++) cr_expect_eq(dx[i], 0.0);
    nb_backward(c, y);
    for (int i = 0; i < 3; i++) cr_expect_eq(dx[i], 2 * x[i]);
    nb_ctx_set_grad_mode(c, NB_GRAD_OVERWRITE);
    nb_backward(c, y);
    nb_backward(c, y);
    for (int i = 0; i < 3; i++) cr_expect_eq(dx[i], 2 * x[i], "overwrite: one sweep's worth");
    nb_backward(c, e);
    cr_expect_eq(dx[0], 0.0);
    cr_expect_eq(dx[1], 3.0);
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_ctx_free(c);
}

Test(reductions, norm_at_zero_nan_and_empty) {
    const double z[3] = {0, 0, 0}, w[2] = {1, NAN};
    double dz[3], dw[2];
    nb_ctx *c = new_ctx();
    nb_push(c, NB_REVERSE);
    nb_array a, b, e;
    nb_rev_array(c, 3, z, dz, &a);
    nb_rev_array(c, 2, w, dw, &b);
    nb_var r = nb_array_norm(c, a);
    cr_expect_eq(nb_value(r), 0.0);
    nb_backward(c, r);
    for (int i = 0; i < 3; i++) cr_expect_eq(dz[i], 0.0, "every partial is 0 at the zero vector");
    nb_var s = nb_array_sum(c, b);
    cr_expect(isnan(nb_value(s)));
    nb_backward(c, s);
    cr_expect_eq(dw[0], 1.0);
    cr_expect_eq(dw[1], 1.0);
    cr_assert_eq(nb_rev_array(c, 0, NULL, NULL, &e), NB_OK);
    nb_var d = nb_array_dot(c, e, e);
    cr_expect(nb_is_const(d) && nb_value(d) == 0.0);
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_ctx_free(c);
}

/* Made on level 1 and reduced under a level pushed above it: recorded on level 1. */
Test(levels, reductions_bind_to_the_arrays_level) {
    const double x[2] = {3, 4};
    double dx[2];
    nb_ctx *c = new_ctx();
    nb_push(c, NB_REVERSE);
    nb_array a;
    nb_rev_array(c, 2, x, dx, &a);
    nb_push(c, NB_FORWARD);
    nb_var r = nb_array_norm(c, a);
    cr_expect_eq(nb_var_depth(r), 1);
    cr_expect_eq(nb_value(r), 5.0);
    nb_pop(c);
    nb_backward(c, r);
    cr_expect_eq(dx[0], 0.6);
    cr_expect_eq(dx[1], 0.8);
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_ctx_free(c);
}

Test(errors, every_misuse_is_a_status) {
    double x[4] = {1, 2, 3, 4}, dx[4], buf[8] = {0};
    nb_ctx *c = new_ctx(), *other = new_ctx();
    nb_array a, b;
    /* no level, a forward level, a reverse level at depth 2 */
    cr_expect_eq(nb_rev_array(c, 4, x, dx, &a), NB_E_LEVEL);
    cr_expect_eq(a.tag, 0u);
    cr_expect(isnan(nb_value(nb_array_sum(c, a))), "a failed array gives NaN");
    nb_ctx_clear_error(c);
    nb_push(c, NB_FORWARD);
    cr_expect_eq(nb_rev_array(c, 4, x, dx, &a), NB_E_LEVEL);
    nb_ctx_clear_error(c);
    nb_pop(c);
    nb_push(c, NB_REVERSE);
    nb_push(c, NB_REVERSE);
    cr_expect_eq(nb_rev_array(c, 4, x, dx, &a), NB_E_LEVEL);
    nb_ctx_clear_error(c);
    nb_pop(c);
    /* arguments; with a NULL context too, *out is an array of no level (it was left as it was) */
    memset(&a, 0xab, sizeof a);
    cr_expect_eq(nb_rev_array(NULL, 4, x, dx, &a), NB_E_ARG);
    cr_expect_eq(a.tag, 0u);
    cr_expect(a.x == NULL && a.n == 0);
    memset(&b, 0xab, sizeof b);
    cr_expect_eq(nb_fwd_array(NULL, 4, x, x, &b), NB_E_ARG);
    cr_expect_eq(b.tag, 0u);
    cr_expect(b.x == NULL && b.n == 0);
    cr_expect_eq(nb_rev_array(c, 4, x, dx, NULL), NB_E_ARG);
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_rev_array(c, 4, NULL, dx, &a), NB_E_ARG);
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_rev_array(c, 4, buf, buf + 3, &a), NB_E_ARG, "dx overlaps x");
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_rev_array(c, 4, buf, buf + 4, &a), NB_OK, "adjacent is fine");
    cr_expect_eq(nb_rev_array(c, 2, buf + 4, dx, &b), NB_E_ARG, "x is the other array's dx");
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_rev_array(c, 2, x, buf + 1, &b), NB_E_ARG, "dx is the other array's x");
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_rev_array(c, 2, x, buf + 6, &b), NB_E_ARG, "dx shares the other array's dx");
    nb_ctx_clear_error(c);
    cr_assert_eq(nb_rev_array(c, 2, x, dx, &b), NB_OK);
    cr_expect(isnan(nb_value(nb_array_dot(c, a, b))), "lengths differ");
    cr_expect_eq(nb_ctx_status(c), NB_E_ARG);
    nb_ctx_clear_error(c);
    cr_expect(isnan(nb_value(nb_array_at(c, b, 2))), "index out of range");
    cr_expect_eq(nb_ctx_status(c), NB_E_ARG);
    nb_ctx_clear_error(c);
    nb_array forged = b;
    forged.n = 3;
    cr_expect(isnan(nb_value(nb_array_sum(c, forged))), "changed fields");
    cr_expect_eq(nb_ctx_status(c), NB_E_ARG);
    nb_ctx_clear_error(c);
    forged = b;
    forged.id = 99;
    nb_array_sum(c, forged);
    cr_expect_eq(nb_ctx_status(c), NB_E_ARG);
    nb_ctx_clear_error(c);
    /* stale after a reset, foreign to another context */
    cr_expect_eq(nb_reset(c), NB_OK);
    cr_expect(isnan(nb_value(nb_array_sumsq(c, b))));
    cr_expect_eq(nb_ctx_status(c), NB_E_STALE);
    nb_ctx_clear_error(c);
    cr_assert_eq(nb_rev_array(c, 2, x, dx, &b), NB_OK);
    nb_push(other, NB_REVERSE);
    cr_expect(isnan(nb_value(nb_array_sum(other, b))));
    cr_expect_eq(nb_ctx_status(other), NB_E_FOREIGN);
    nb_ctx_free(other);
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_pop(c);
    cr_expect(isnan(nb_value(nb_array_at(c, b, 0))), "stale after a pop");
    cr_expect_eq(nb_ctx_status(c), NB_E_STALE);
    nb_ctx_free(c);
}

/* Many arrays, reductions and elements, failing each allocation in turn (no leak under the
 * sanitizer build), and the tape cap. */
Test(errors, every_allocation_failure_and_the_cap) {
    enum { M = 300 };
    static double x[M][2], dx[M][2];
    for (int j = 0; j < M; j++) x[j][0] = j, x[j][1] = 1;
    int total = -1;
    for (int k = 1;; k++) {
        struct failing f = {0, k};
        const nb_ctx_opts o = failing_opts(&f);
        nb_ctx *c = NULL;
        nb_status s = nb_ctx_new(&c, &o);
        if (s == NB_OK) s = nb_push(c, NB_REVERSE);
        nb_var y = nb_const(0);
        for (int j = 0; j < M && s == NB_OK; j++) {
            nb_array a;
            s = nb_rev_array(c, 2, x[j], dx[j], &a);
            y = nb_add(c, y, nb_mul(c, nb_array_dot(c, a, a), nb_array_at(c, a, 1)));
            s = nb_ctx_status(c);
        }
        if (s == NB_OK) s = nb_backward(c, y);
        if (c) nb_ctx_free(c);
        if (f.count < k) {
            cr_assert_eq(s, NB_OK);
            for (int j = 0; j < M; j++) {
                cr_expect_eq(dx[j][0], 2.0 * j);
                cr_expect_eq(dx[j][1], 2.0 + (j * j + 1.0));
            }
            total = k - 1;
            break;
        }
        cr_expect_eq(s, NB_E_NOMEM, "allocation %d failed: status %d", k, s);
    }
    cr_expect_gt(total, 4, "several allocations were failed (%d)", total);

    nb_ctx *c = capped_ctx(20000);
    nb_push(c, NB_REVERSE);
    nb_status s = NB_OK;
    for (int j = 0; j < M && s == NB_OK; j++) {
        nb_array a;
        s = nb_rev_array(c, 2, x[j], dx[j], &a);
        for (int r = 0; r < 20; r++) nb_array_sum(c, a);
        s = nb_ctx_status(c);
    }
    cr_expect_eq(s, NB_E_TAPE_FULL);
    cr_expect(nb_ctx_bytes(c) <= 20000);
    nb_ctx_free(c);
}

/* An array reduction's (or element handle's) record and its node grow as one request: where
 * both were full the record doubled into the room of the node and the op was NB_E_TAPE_FULL
 * under caps above ones where it fitted (513 element handles after nb_reserve(c, 512, 0):
 * 29700 to 29703 bytes failed, 21568 passed, and 513 sums 37892 to 37895, 25664 passed; a
 * review). Success is monotone in the cap. */
static nb_status elements_under(size_t cap, int reduce) {
    static const double x[513];
    static double dx[513];
    nb_ctx *c = capped_ctx(cap);
    nb_array a;
    nb_status s = nb_push(c, NB_REVERSE);
    if (!s) s = nb_rev_array(c, 513, x, dx, &a);
    if (!s) s = nb_reserve(c, 512, 0);
    for (int i = 0; i <= 512 && !s; i++) {
        if (reduce) nb_array_sum(c, a);
        else nb_array_at(c, a, (size_t)i);
        s = nb_ctx_status(c);
    }
    cr_expect_leq(nb_ctx_bytes(c), cap);
    nb_ctx_free(c);
    return s;
}

Test(errors, records_and_nodes_grow_together_under_the_cap) {
    for (int reduce = 0; reduce < 2; reduce++) {
        size_t fits = 8192; /* a cap that fits, then every cap above it up to past doubling */
        while (fits < 40000 && elements_under(fits, reduce) != NB_OK) fits += 64;
        cr_assert_lt(fits, 40000);
        for (size_t cap = fits; cap < fits + 20000; cap++)
            cr_expect_eq(elements_under(cap, reduce), NB_OK, "reduce %d: cap %zu, %zu fits",
                         reduce, cap, fits);
    }
}

/* ---- forward arrays ---- */

/* f(a) = sin(0.37 red(a)) + a_3 * dot(a, b): written once against nb_array. */
static nb_var f_arrays(nb_ctx *c, int k, nb_array a, nb_array b) {
    nb_var r = red_array(c, k, a, b);
    return nb_add(c, nb_sin(c, nb_mul(c, r, nb_const(0.37))),
                  nb_mul(c, nb_array_at(c, a, 3), nb_array_dot(c, a, b)));
}

/* Forward arrays against forward handles: the same value and tangent, bit for bit; and the same
 * function under a reverse level: the gradient dotted with the direction equals the tangent. */
Test(forward, agrees_with_handles_and_with_the_gradient) {
    enum { N = 200 };
    static double x[N], y[N], tx[N], ty[N], dx[N], dy[N];
    static nb_var hx[N], hy[N];
    unsigned long long seed = 21;
    for (int i = 0; i < N; i++) {
        x[i] = uniform(&seed, -2, 2), y[i] = uniform(&seed, -2, 2);
        tx[i] = uniform(&seed, -1, 1), ty[i] = i % 3 ? uniform(&seed, -1, 1) : 0;
    }
    nb_ctx *c = new_ctx();
    for (int k = 0; k < NR; k++) {
        cr_assert_eq(nb_push(c, NB_FORWARD), NB_OK);
        nb_fwd_inputs(c, N, x, tx, hx);
        nb_fwd_inputs(c, N, y, ty, hy);
        nb_var r1 = red_handles(c, k, N, hx, hy);
        double t1 = nb_tangent(c, r1).v;
        nb_pop(c);
        cr_assert_eq(nb_push(c, NB_FORWARD), NB_OK);
        nb_array a, b;
        cr_assert_eq(nb_fwd_array(c, N, x, tx, &a), NB_OK);
        cr_assert_eq(nb_fwd_array(c, N, y, ty, &b), NB_OK);
        cr_expect(a.dx == NULL && a.t == tx);
        nb_var r2 = red_array(c, k, a, b);
        cr_expect(same(nb_value(r1), nb_value(r2)), "reduction %d value", k);
        cr_expect(same(t1, nb_tangent(c, r2).v), "reduction %d: tangent %.17g vs %.17g", k, t1,
                  nb_tangent(c, r2).v);
        nb_var f = f_arrays(c, k, a, b);
        double fv = nb_value(f), ft = nb_tangent(c, f).v;
        nb_pop(c);
        /* the same function under a reverse level */
        cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
        nb_rev_array(c, N, x, dx, &a);
        nb_rev_array(c, N, y, dy, &b);
        nb_var g = f_arrays(c, k, a, b);
        cr_expect(same(nb_value(g), fv));
        nb_backward(c, g);
        double dot = 0, mag = 0;
        for (int i = 0; i < N; i++) {
            dot += dx[i] * tx[i] + dy[i] * ty[i];
            mag += fabs(dx[i] * tx[i]) + fabs(dy[i] * ty[i]);
        }
        cr_expect(fabs(dot - ft) <= 1e-14 * mag, "reduction %d: grad . v %.17g, tangent %.17g", k,
                  dot, ft);
        nb_pop(c);
    }
    /* element handles carry their tangent */
    nb_push(c, NB_FORWARD);
    nb_array a;
    nb_fwd_array(c, N, x, tx, &a);
    nb_var e = nb_array_at(c, a, 7);
    cr_expect_eq(nb_value(e), x[7]);
    cr_expect_eq(nb_tangent(c, e).v, tx[7]);
    /* the level kinds: a forward array needs a forward level 1, a reverse one a reverse level 1 */
    double dd[N];
    cr_expect_eq(nb_rev_array(c, N, x, dd, &a), NB_E_LEVEL);
    nb_ctx_clear_error(c);
    nb_pop(c);
    nb_push(c, NB_REVERSE);
    cr_expect_eq(nb_fwd_array(c, N, x, tx, &a), NB_E_LEVEL);
    nb_ctx_clear_error(c);
    nb_push(c, NB_FORWARD);
    cr_expect_eq(nb_fwd_array(c, N, x, tx, &a), NB_E_LEVEL, "depth 2");
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_fwd_array(c, 3, NULL, tx, &a), NB_E_ARG);
    nb_ctx_clear_error(c);
    nb_pop(c);
    nb_pop(c);
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_ctx_free(c);
}
