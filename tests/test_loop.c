/* nb_loop_vjp: gradients through long loops from checkpoints, one step's tape at a time, against
 * the whole loop on one tape, closed forms and GSL's central differences. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "nabla/nabla.h"
#include "oracle.h"

/* ---- a linear loop: x_{k+1} = A x_k, so seed^T dx_N/dx_0 = (A^T)^N seed ---- */

static const double A[2][2] = {{0.99, 0.15}, {-0.14, 0.995}};

static void linear_step(nb_ctx *c, size_t i, const nb_var *x, nb_var *y, void *env) {
    (void)i, (void)env;
    for (int r = 0; r < 2; r++)
        y[r] = nb_add(c, nb_mul(c, nb_const(A[r][0]), x[0]), nb_mul(c, nb_const(A[r][1]), x[1]));
}

Test(loop, linear_recurrence_every_interval) {
    nb_ctx *c = new_ctx();
    const size_t N = 1000;
    const double x0[2] = {0.3, -1.2}, seed[2] = {1.5, 0.25};
    double ref[2] = {seed[0], seed[1]}, xr[2] = {x0[0], x0[1]};
    for (size_t k = 0; k < N; k++) {
        double a0 = A[0][0] * ref[0] + A[1][0] * ref[1], a1 = A[0][1] * ref[0] + A[1][1] * ref[1];
        ref[0] = a0, ref[1] = a1;
        double y0 = A[0][0] * xr[0] + A[0][1] * xr[1], y1 = A[1][0] * xr[0] + A[1][1] * xr[1];
        xr[0] = y0, xr[1] = y1;
    }
    const size_t intervals[] = {0, 1, 7, 31, 999, 1000, 5000};
    for (size_t t = 0; t < sizeof intervals / sizeof *intervals; t++) {
        double xn[2], g[2];
        cr_assert_eq(nb_loop_vjp(c, linear_step, NULL, 2, N, x0, seed, intervals[t], xn, g), NB_OK);
        for (int r = 0; r < 2; r++) {
            cr_expect(close_to(xn[r], xr[r], 1e-13, 0), "interval %zu: x_N[%d] %.17g vs %.17g",
                      intervals[t], r, xn[r], xr[r]);
            cr_expect(close_to(g[r], ref[r], 1e-13, 0), "interval %zu: x0bar[%d] %.17g vs %.17g",
                      intervals[t], r, g[r], ref[r]);
        }
    }
    cr_expect_eq(nb_depth(c), 0);
    nb_ctx_free(c);
}

/* ---- a nonlinear loop: a pendulum by symplectic Euler, with its gravity g as a state
 * component that each step copies; the gradient of the final energy ---- */

enum { PEND_STEPS = 20000 };
static const double DT = 1e-3;

static void pendulum_step(nb_ctx *c, size_t i, const nb_var *x, nb_var *y, void *env) {
    (void)i, (void)env; /* x = (q, p, g): p' = p - dt g sin q, q' = q + dt p' */
    nb_var p = nb_sub(c, x[1], nb_mul(c, nb_mul(c, nb_const(DT), x[2]), nb_sin(c, x[0])));
    y[0] = nb_add(c, x[0], nb_mul(c, nb_const(DT), p));
    y[1] = p;
    y[2] = x[2];
}
/* E = p^2 / 2 + g (1 - cos q) */
static nb_var energy(nb_ctx *c, const nb_var *x) {
    return nb_add(c, nb_mul(c, nb_const(0.5), nb_mul(c, x[1], x[1])),
                  nb_mul(c, x[2], nb_sub(c, nb_const(1), nb_cos(c, x[0]))));
}
/* the whole loop and the energy, for one tape (nb_gradient) and for plain values */
static nb_var pendulum_energy(nb_ctx *c, const nb_var *x0, void *env) {
    nb_var x[3] = {x0[0], x0[1], x0[2]}, y[3];
    for (size_t i = 0; i < PEND_STEPS; i++) {
        pendulum_step(c, i, x, y, env);
        memcpy(x, y, sizeof x);
    }
    return energy(c, x);
}
static nb_var energy_fn(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return energy(c, x);
}
/* the gradient through the loop: the energy's gradient at x_N as the seed */
static nb_status loop_gradient(nb_ctx *c, const double *x0, size_t interval, double *g) {
    double xn[3], seed[3];
    nb_status s = nb_loop_vjp(c, pendulum_step, NULL, 3, PEND_STEPS, x0, NULL, interval, xn, NULL);
    if (s) return s;
    if ((s = nb_gradient(c, energy_fn, NULL, 3, xn, NULL, seed))) return s;
    return nb_loop_vjp(c, pendulum_step, NULL, 3, PEND_STEPS, x0, seed, interval, NULL, g);
}
struct slice {
    nb_ctx *c;
    double x[3];
    int i;
};
static double energy_along(double t, void *p) {
    struct slice *s = p;
    nb_var x[3] = {nb_const(s->x[0]), nb_const(s->x[1]), nb_const(s->x[2])};
    x[s->i] = nb_const(t);
    return nb_value(pendulum_energy(s->c, x, NULL));
}

Test(loop, pendulum_against_one_tape_and_central_differences) {
    nb_ctx *c = new_ctx();
    const double x0[3] = {1.1, -0.3, 9.81};
    double g[3], gfull[3], g7[3];
    cr_assert_eq(loop_gradient(c, x0, 0, g), NB_OK);
    cr_assert_eq(loop_gradient(c, x0, 7, g7), NB_OK);
    cr_assert_eq(nb_gradient(c, pendulum_energy, NULL, 3, x0, NULL, gfull), NB_OK);
    for (int i = 0; i < 3; i++) {
        cr_expect(close_to(g[i], gfull[i], 1e-12, 0), "dE/dx0[%d]: %.17g vs one tape %.17g", i,
                  g[i], gfull[i]);
        cr_expect(close_to(g7[i], g[i], 1e-12, 0), "interval 7: %.17g", g7[i]);
        struct slice sl = {c, {x0[0], x0[1], x0[2]}, i};
        double err, fd = fd_central(energy_along, &sl, x0[i], 1e-3, &err);
        cr_expect(close_to(g[i], fd, 0, 10 * err + 1e-8), "dE/dx0[%d]: %.17g vs fd %.17g +- %g", i,
                  g[i], fd, err);
    }
    cr_expect_eq(nb_depth(c), 0);
    nb_ctx_free(c);
}

/* A tape cap the whole loop does not fit in: one tape fails, checkpoints do not. */
Test(loop, under_a_tape_cap_the_whole_loop_cannot_meet) {
    nb_ctx *c = capped_ctx((size_t)1 << 20);
    const double x0[3] = {1.1, -0.3, 9.81};
    double g[3], gfull[3];
    cr_expect_eq(nb_gradient(c, pendulum_energy, NULL, 3, x0, NULL, gfull), NB_E_TAPE_FULL);
    cr_expect(isnan(gfull[0]));
    nb_ctx_clear_error(c);
    nb_ctx_trim(c); /* the failed tape's storage, grown to the cap, counts until released */
    cr_assert_eq(loop_gradient(c, x0, 0, g), NB_OK);
    nb_ctx *free_c = new_ctx();
    cr_assert_eq(nb_gradient(free_c, pendulum_energy, NULL, 3, x0, NULL, gfull), NB_OK);
    for (int i = 0; i < 3; i++) cr_expect(close_to(g[i], gfull[i], 1e-12, 0));
    cr_expect_lt(nb_ctx_bytes(c), (size_t)1 << 20);
    nb_ctx_free(free_c);
    nb_ctx_free(c);
}

/* ---- edge cases and errors ---- */

Test(loop, zero_steps_and_aliasing) {
    nb_ctx *c = new_ctx();
    double x[2] = {0.3, -1.2}, v[2] = {1.5, 0.25};
    cr_assert_eq(nb_loop_vjp(c, linear_step, NULL, 2, 0, x, v, 0, x, v), NB_OK);
    cr_expect(x[0] == 0.3 && x[1] == -1.2 && v[0] == 1.5 && v[1] == 0.25);
    /* outputs over the inputs: x_N into x0's array, x0bar into seed's */
    cr_assert_eq(nb_loop_vjp(c, linear_step, NULL, 2, 1, x, v, 0, x, v), NB_OK);
    cr_expect(close_to(x[0], 0.99 * 0.3 - 0.15 * 1.2, 1e-15, 0));
    cr_expect(close_to(v[0], 0.99 * 1.5 - 0.14 * 0.25, 1e-15, 0));
    cr_expect_eq(nb_loop_vjp(c, linear_step, NULL, 0, 5, NULL, NULL, 0, NULL, NULL), NB_OK);
    nb_ctx_free(c);
}

/* fails (an invalid op id, NB_E_ARG) at step `at`: on plain values and on tapes, or only while
 * recorded (at a depth above 0) */
struct fail_at {
    size_t at;
    int taped_only;
};
static void failing_step(nb_ctx *c, size_t i, const nb_var *x, nb_var *y, void *env) {
    const struct fail_at *f = env;
    y[0] = x[0], y[1] = x[1];
    if (i == f->at && (!f->taped_only || nb_depth(c) > 0))
        y[1] = nb_apply(c, NB_OP_COUNT, x[0], x[0], 0);
}
static void unbalanced_step(nb_ctx *c, size_t i, const nb_var *x, nb_var *y, void *env) {
    (void)env;
    y[0] = x[0], y[1] = x[1];
    if (i == 3) nb_push(c, NB_FORWARD);
}

Test(loop, errors_are_statuses_with_nan) {
    nb_ctx *c = new_ctx();
    const double x0[2] = {1, 2}, seed[2] = {1, 1};
    double xn[2], g[2];
    cr_expect_eq(nb_loop_vjp(c, NULL, NULL, 2, 5, x0, seed, 0, xn, g), NB_E_ARG);
    cr_expect(isnan(xn[0]) && isnan(g[1]));
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_loop_vjp(c, linear_step, NULL, 2, 5, x0, NULL, 0, xn, g), NB_E_ARG);
    nb_ctx_clear_error(c);
    /* an error in the forward sweep (step 2 of 10), and one in the backward sweep only (step 7,
     * failing only while it is recorded) */
    for (int t = 0; t < 2; t++) {
        struct fail_at f = {t ? 7 : 2, t};
        xn[0] = g[0] = 0;
        cr_expect_eq(nb_loop_vjp(c, failing_step, &f, 2, 10, x0, seed, 3, xn, g), NB_E_ARG,
                     "failing at step %zu", f.at);
        cr_expect(isnan(xn[0]) && isnan(g[0]) && isnan(g[1]));
        cr_expect_eq(nb_ctx_clear_error(c), NB_E_ARG);
        cr_expect_eq(nb_depth(c), 0);
    }
    cr_expect_eq(nb_loop_vjp(c, unbalanced_step, NULL, 2, 10, x0, seed, 0, xn, g), NB_E_LEVEL);
    cr_expect(isnan(g[0]));
    cr_expect_eq(nb_depth(c), 0);
    nb_ctx_clear_error(c);
    /* an error recorded before the call: nothing runs */
    nb_apply(c, NB_OP_COUNT, nb_const(1), nb_const(1), 0);
    cr_expect_eq(nb_loop_vjp(c, linear_step, NULL, 2, 5, x0, seed, 0, xn, g), NB_E_ARG);
    cr_expect(isnan(g[0]));
    nb_ctx_free(c);
}

Test(loop, every_allocation_failure_is_a_status) {
    const double x0[2] = {0.3, -1.2}, seed[2] = {1.5, 0.25};
    int total = -1;
    for (int k = 1; k < 500; k++) {
        struct failing f = {0, k};
        nb_ctx_opts o = failing_opts(&f);
        nb_ctx *c = NULL;
        if (nb_ctx_new(&c, &o)) continue;
        double xn[2], g[2];
        nb_status s = nb_loop_vjp(c, linear_step, NULL, 2, 50, x0, seed, 0, xn, g);
        nb_ctx_free(c);
        if (f.count < k) {
            cr_expect_eq(s, NB_OK);
            total = k - 1;
            break;
        }
        cr_expect_eq(s, NB_E_NOMEM, "allocation %d", k);
        cr_expect(isnan(g[0]) && isnan(xn[1]), "allocation %d", k);
    }
    cr_expect_gt(total, 3);
}

/* Steps that differ: x_{k+1} = c_k x_k with c_k = 1 + cos(k) / 100, so x_N = x_0 prod c_k and
 * the gradient is seed prod c_k; each step must be recorded with its own index. */
static void scaling_step(nb_ctx *c, size_t i, const nb_var *x, nb_var *y, void *env) {
    (void)env;
    y[0] = nb_mul(c, nb_const(1 + cos((double)i) / 100), nb_mul(c, x[0], x[0]));
    y[0] = nb_div(c, y[0], x[0]); /* (x^2 / x: a nonlinear step with the same value) */
}

Test(loop, each_step_with_its_own_index) {
    nb_ctx *c = new_ctx();
    const size_t N = 100;
    double prod = 1;
    for (size_t k = 0; k < N; k++) prod *= 1 + cos((double)k) / 100;
    const size_t intervals[] = {0, 1, 3, 100};
    for (size_t t = 0; t < 4; t++) {
        const double x0 = 0.8, seed = 2;
        double xn, g;
        cr_assert_eq(nb_loop_vjp(c, scaling_step, NULL, 1, N, &x0, &seed, intervals[t], &xn, &g),
                     NB_OK);
        cr_expect(close_to(xn, 0.8 * prod, 1e-13, 0), "interval %zu: %.17g", intervals[t], xn);
        cr_expect(close_to(g, 2 * prod, 1e-13, 0), "interval %zu: %.17g", intervals[t], g);
    }
    nb_ctx_free(c);
}

/* x0bar NULL: the loop alone, each step once, no level pushed; seed may then be NULL */
static int counted_steps;
static void counting_step(nb_ctx *c, size_t i, const nb_var *x, nb_var *y, void *env) {
    counted_steps++;
    cr_expect_eq(nb_depth(c), 0, "step %zu ran under a level", i);
    linear_step(c, i, x, y, env);
}

Test(loop, forward_only) {
    nb_ctx *c = new_ctx();
    const double x0[2] = {0.3, -1.2};
    double xn[2], xr[2] = {x0[0], x0[1]};
    for (int k = 0; k < 30; k++) {
        double y0 = A[0][0] * xr[0] + A[0][1] * xr[1], y1 = A[1][0] * xr[0] + A[1][1] * xr[1];
        xr[0] = y0, xr[1] = y1;
    }
    counted_steps = 0;
    cr_assert_eq(nb_loop_vjp(c, counting_step, NULL, 2, 30, x0, NULL, 4, xn, NULL), NB_OK);
    cr_expect_eq(counted_steps, 30);
    cr_expect(xn[0] == xr[0] && xn[1] == xr[1], "x_N %.17g %.17g", xn[0], xn[1]);
    nb_ctx_free(c);
}

/* The loop alone keeps no checkpoint: 10^5 steps at interval 1 allocate a few states, not 10^5
 * (2.4 MB before). */
Test(loop, forward_only_keeps_no_checkpoint) {
    struct alloc_peak k = {0, 0};
    const nb_ctx_opts o = peak_opts(&k);
    nb_ctx *c = NULL;
    cr_assert_eq(nb_ctx_new(&c, &o), NB_OK);
    const size_t base = k.peak;
    const double x0[3] = {1.1, -0.3, 9.81};
    double xn[3];
    cr_assert_eq(nb_loop_vjp(c, pendulum_step, NULL, 3, 100000, x0, NULL, 1, xn, NULL), NB_OK);
    cr_expect_lt(k.peak - base, (size_t)1024, "%zu bytes for the loop alone", k.peak - base);
    nb_ctx_free(c);
}
