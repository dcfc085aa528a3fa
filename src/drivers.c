/* drivers.c - gradient and jvp of user functions: push a level, make the inputs, run the
 * function, sweep or read tangents, pop; and loops through checkpoints (nb_loop_vjp). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "nabla/drivers.h"

/* Every driver below follows one protocol: remember the depth d0, push its level, make the
 * inputs, and call f only if that worked; after f, check that f left the level stack as it found
 * it (a push without its pop, or a pop of a level f did not push, is NB_E_LEVEL) and use f's
 * results only then; pop back to d0 (never below: a level f popped cannot be restored, and the
 * caller's levels are not the driver's to pop); on any error, write NaN into every output. */

/* 1 when the driver's level (at d0 + 1) is on top and no error is recorded; else records
 * NB_E_LEVEL for an unbalanced f and returns 0. */
void nb__driver_own(nb_level *L) { L->driven = 1; }

int nb__driver_ok(nb_ctx *c, size_t d0) {
    if (c->depth != d0 + 1 || !c->lv[d0 + 1].driven) {
        nb__fail(c, NB_E_LEVEL);
        return 0;
    }
    return c->err == NB_OK;
}

/* Pops back to depth d0 and returns the context's status. */
int nb__balanced(nb_ctx *c, size_t d0) {
    if (c->depth == d0) return 1;
    nb__fail(c, NB_E_LEVEL);
    while (c->depth > d0) nb_pop(c);
    return 0;
}

nb_status nb__driver_finish(nb_ctx *c, size_t d0) {
    while (c->depth > d0) nb_pop(c);
    return c->err;
}

/* 1 when a count of n * k handles or doubles could not be an array (its byte size overflows):
 * such sizes are NB_E_ARG before anything is made or written. */
static int absurd(size_t n, size_t k) { return k && n > SIZE_MAX / sizeof(nb_var) / k; }
static void nan_vars(nb_var *p, size_t n) {
    if (p)
        for (size_t i = 0; i < n; i++) p[i] = nb_const((double)NAN);
}

/* NB_E_ARG for invalid arguments, recorded when there is a context. The outputs that were given
 * get NaN as for every other error (the callers have refused counts that nb__too_many (more
 * inputs or outputs than a level can index: NB_E_ARG with nothing written, before any level
 * is pushed) or absurd reject, so these sizes are real). */
static nb_status arg_error(nb_ctx *c) { return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG; }
static nb_status arg_error_d(nb_ctx *c, double *a, size_t na, double *b, size_t nb, double *d,
                             size_t nd) {
    nb__nan_doubles(a, na);
    nb__nan_doubles(b, nb);
    nb__nan_doubles(d, nd);
    return arg_error(c);
}
static nb_status arg_error_v(nb_ctx *c, nb_var *a, size_t na, nb_var *b, size_t nb) {
    nan_vars(a, na);
    nan_vars(b, nb);
    return arg_error(c);
}

/* Pass j of a forward sweep over the inputs on level L: resets the level after the first pass
 * and makes the inputs along e_j, x read in the first pass only (later passes take the inputs'
 * values, so outputs may alias x). NB_OK or the recorded failure of the reset. */
static nb_status seed_pass(nb_ctx *c, nb_level *L, size_t n, const double *x, size_t j) {
    nb_status s;
    if (j > 0) {
        if ((s = nb_reset(c))) return nb__fail(c, s);
        nb__driver_own(L); /* the driver's own reset: the level stays the driver's */
    }
    for (size_t i = 0; i < n; i++)
        L->inputs[i] = nb_fwd_input(c, nb_const(j == 0 ? x[i] : L->inputs[i].v),
                                    nb_const(i == j ? 1.0 : 0.0));
    return NB_OK;
}

nb_status nb__driver_begin(nb_ctx *c, nb_kind kind, size_t n, size_t m, nb_level **out) {
    nb_status s = nb_push(c, kind);
    if (s) return nb__fail(c, s);
    nb_level *L = &c->lv[c->depth];
    s = nb__inputs_reserve(c, L, n ? n : 1);
    if (!s) s = nb__outputs_reserve(c, L, m ? m : 1);
    if (s) {
        nb_pop(c);
        return nb__fail(c, s);
    }
    nb__driver_own(L);
    *out = L;
    return NB_OK;
}

nb_status nb_gradient(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x, double *fx,
                      double *g) {
    if (nb__too_many(n)) return arg_error(c);
    if (!c || !f || (n && (!x || !g))) return arg_error_d(c, fx, 1, g, n, NULL, 0);
    const size_t d0 = c->depth;
    nb_level *L = NULL;
    nb_status s = nb__driver_begin(c, NB_REVERSE, n, 1, &L);
    if (!s && !nb_rev_inputs(c, n, x, L->inputs) && c->err == NB_OK) {
        nb_var y = f(c, L->inputs, env);
        if (nb__driver_ok(c, d0)) {
            if (fx) *fx = y.v;
            nb_backward(c, y);
            nb_grads(c, n, L->inputs, g);
        }
    }
    if ((s = nb__driver_finish(c, d0))) {
        if (fx) *fx = (double)NAN;
        nb__nan_doubles(g, n);
    }
    return s;
}

nb_status nb_jvp(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x, const double *v,
                 double *fx, double *dfv) {
    if (nb__too_many(n)) return arg_error(c);
    if (!c || !f || !dfv || (n && (!x || !v))) return arg_error_d(c, fx, 1, dfv, 1, NULL, 0);
    const size_t d0 = c->depth;
    nb_level *L = NULL;
    nb_status s = nb__driver_begin(c, NB_FORWARD, n, 1, &L);
    if (!s && !nb_fwd_inputs(c, n, x, v, L->inputs) && c->err == NB_OK) {
        nb_var y = f(c, L->inputs, env);
        if (nb__driver_ok(c, d0)) {
            if (fx) *fx = y.v;
            *dfv = nb_tangent(c, y).v;
        }
    }
    if ((s = nb__driver_finish(c, d0))) {
        if (fx) *fx = (double)NAN;
        *dfv = (double)NAN;
    }
    return s;
}

/* Copies the outputs' values. */
static void values(size_t m, const nb_var *ys, double *y) {
    if (y)
        for (size_t j = 0; j < m; j++) y[j] = ys[j].v;
}

nb_status nb_vjp(nb_ctx *c, nb_vfn f, void *env, size_t n, size_t m, const double *x,
                 const double *v, double *y, double *out) {
    if (nb__too_many(n) || nb__too_many(m)) return arg_error(c);
    if (!c || !f || (n && (!x || !out)) || (m && !v)) return arg_error_d(c, y, m, out, n, NULL, 0);
    const size_t d0 = c->depth;
    nb_level *L = NULL;
    nb_status s = nb__driver_begin(c, NB_REVERSE, n, 2 * m, &L);
    if (!s && !nb_rev_inputs(c, n, x, L->inputs) && c->err == NB_OK) {
        nb_var *ys = L->outputs, *seeds = L->outputs + m;
        /* the seeds are read before anything is written (y may be v) */
        for (size_t j = 0; j < m; j++) seeds[j] = nb_const(v[j]);
        for (size_t j = 0; j < m; j++) ys[j] = nb_const(0);
        f(c, L->inputs, ys, env);
        if (nb__driver_ok(c, d0)) {
            nb__backward(c, L, m, ys, seeds, 1);
            values(m, ys, y);
            nb_grads(c, n, L->inputs, out);
        }
    }
    if ((s = nb__driver_finish(c, d0))) {
        nb__nan_doubles(y, m);
        nb__nan_doubles(out, n);
    }
    return s;
}

nb_status nb_jvp_vec(nb_ctx *c, nb_vfn f, void *env, size_t n, size_t m, const double *x,
                     const double *u, double *y, double *out) {
    if (nb__too_many(n) || nb__too_many(m)) return arg_error(c);
    if (!c || !f || (n && (!x || !u)) || (m && !out)) return arg_error_d(c, y, m, out, m, NULL, 0);
    const size_t d0 = c->depth;
    nb_level *L = NULL;
    nb_status s = nb__driver_begin(c, NB_FORWARD, n, m, &L);
    if (!s && !nb_fwd_inputs(c, n, x, u, L->inputs) && c->err == NB_OK) {
        nb_var *ys = L->outputs;
        for (size_t j = 0; j < m; j++) ys[j] = nb_const(0);
        f(c, L->inputs, ys, env);
        if (nb__driver_ok(c, d0)) {
            nb_tangents(c, m, ys, out);
            values(m, ys, y);
        }
    }
    if ((s = nb__driver_finish(c, d0))) {
        nb__nan_doubles(y, m);
        nb__nan_doubles(out, m);
    }
    return s;
}

nb_status nb_jacobian(nb_ctx *c, nb_vfn f, void *env, size_t n, size_t m, const double *x,
                      nb_jac_mode mode, double *y, double *jac) {
    if (nb__too_many(n) || nb__too_many(m) || absurd(m, n)) return arg_error(c);
    if (!c || !f || (n && !x) || (n && m && !jac) || (unsigned)mode > NB_JAC_FORWARD)
        return arg_error_d(c, y, m, jac, m * n, NULL, 0);
    if (mode == NB_JAC_AUTO) mode = m <= n ? NB_JAC_REVERSE : NB_JAC_FORWARD;
    const size_t d0 = c->depth;
    nb_level *L = NULL;
    nb_status s;
    if (mode == NB_JAC_REVERSE) {
        /* one recording; for each output, clear the inputs' gradients and sweep from it */
        s = nb__driver_begin(c, NB_REVERSE, n, m, &L);
        if (!s && !nb_rev_inputs(c, n, x, L->inputs) && c->err == NB_OK) {
            nb_var *ys = L->outputs;
            for (size_t j = 0; j < m; j++) ys[j] = nb_const(0);
            f(c, L->inputs, ys, env);
            if (nb__driver_ok(c, d0)) {
                values(m, ys, y);
                for (size_t i = 0; i < m && c->err == NB_OK; i++) {
                    nb__backward(c, L, 1, &ys[i], NULL, 1);
                    nb_grads(c, n, L->inputs, jac + i * n);
                }
            }
        }
    } else if (!(s = nb__driver_begin(c, NB_FORWARD, n, m, &L))) {
        /* forward: one pass per input along e_j, on one level reset between passes; x is read in
         * the first pass only (later passes take the inputs' values), so y and jac may alias it */
        nb_var *ys = L->outputs;
        for (size_t j = 0; j < (n ? n : 1) && c->err == NB_OK; j++) {
            if ((s = seed_pass(c, L, n, x, j)) || c->err != NB_OK) break; /* f on good inputs only */
            for (size_t i = 0; i < m; i++) ys[i] = nb_const(0);
            f(c, L->inputs, ys, env);
            if (!nb__driver_ok(c, d0)) break;
            if (n)
                for (size_t i = 0; i < m; i++) jac[i * n + j] = nb_tangent(c, ys[i]).v;
        }
        if (c->err == NB_OK) values(m, ys, y); /* no input: only the values */
    }
    if ((s = nb__driver_finish(c, d0))) {
        nb__nan_doubles(y, m);
        if (n && m) nb__nan_doubles(jac, m * n);
    }
    return s;
}

nb_status nb_derivative(nb_ctx *c, nb_fn f, void *env, double x, double *fx, double *dfx) {
    const double one = 1.0;
    return nb_jvp(c, f, env, 1, &x, &one, fx, dfx);
}

/* ---- nestable drivers ---- */

/* handle_outputs_gone: when f popped levels below the driver's own (NB_E_LEVEL), the handle
 * outputs are left unwritten. They belong to a popped level, and the arrays may be that level's
 * own storage (nb_hvp passes its level's outputs to nb_gradient_var), which f may have freed with
 * nb_ctx_trim: writing NaN there wrote freed memory (a review). Popped is told by the tag of the
 * caller's top level, not by the depth alone: f may push levels back to the same depth (a
 * second review). */
static uint32_t top_tag(const nb_ctx *c) { return c->depth ? c->lv[c->depth].tag : 0; }
static int same_top(const nb_ctx *c, size_t d0, uint32_t t0) {
    return c->depth == d0 && top_tag(c) == t0;
}

nb_status nb_gradient_var(nb_ctx *c, nb_fn f, void *env, size_t n, const nb_var *x, nb_var *fx,
                          nb_var *g) {
    if (nb__too_many(n)) return arg_error(c);
    if (!c || !f || (n && (!x || !g))) return arg_error_v(c, fx, 1, g, n);
    const size_t d0 = c->depth;
    const uint32_t t0 = top_tag(c);
    nb_level *L = NULL;
    nb_status s = nb__driver_begin(c, NB_REVERSE, n, 1, &L);
    if (!s) {
        for (size_t i = 0; i < n && c->err == NB_OK; i++) L->inputs[i] = nb_rev_input(c, x[i]);
        if (c->err == NB_OK) {
            nb_var y = f(c, L->inputs, env);
            if (nb__driver_ok(c, d0)) {
                nb_var y0 = nb_primal(c, y);
                nb__backward(c, L, 1, &y, NULL, 1);
                for (size_t i = 0; i < n; i++) g[i] = nb_grad(c, L->inputs[i]);
                if (fx) *fx = y0;
            }
        }
    }
    if ((s = nb__driver_finish(c, d0)) && same_top(c, d0, t0)) { /* handle_outputs_gone */
        nan_vars(fx, 1);
        nan_vars(g, n);
    }
    return s;
}

nb_status nb_jvp_var(nb_ctx *c, nb_fn f, void *env, size_t n, const nb_var *x, const nb_var *v,
                     nb_var *fx, nb_var *dfv) {
    if (nb__too_many(n)) return arg_error(c);
    if (!c || !f || !dfv || (n && (!x || !v))) return arg_error_v(c, fx, 1, dfv, 1);
    const size_t d0 = c->depth;
    const uint32_t t0 = top_tag(c);
    nb_level *L = NULL;
    nb_status s = nb__driver_begin(c, NB_FORWARD, n, 1, &L);
    if (!s) {
        for (size_t i = 0; i < n && c->err == NB_OK; i++) L->inputs[i] = nb_fwd_input(c, x[i], v[i]);
        if (c->err == NB_OK) {
            nb_var y = f(c, L->inputs, env);
            if (nb__driver_ok(c, d0)) {
                nb_var y0 = nb_primal(c, y);
                *dfv = nb_tangent(c, y);
                if (fx) *fx = y0;
            }
        }
    }
    if ((s = nb__driver_finish(c, d0)) && same_top(c, d0, t0)) { /* handle_outputs_gone */
        nan_vars(fx, 1);
        nan_vars(dfv, 1);
    }
    return s;
}

nb_status nb_derivative_var(nb_ctx *c, nb_fn f, void *env, nb_var x, nb_var *fx, nb_var *dfx) {
    const nb_var one = nb_const(1);
    return nb_jvp_var(c, f, env, 1, &x, &one, fx, dfx);
}

nb_status nb_vjp_var(nb_ctx *c, nb_vfn f, void *env, size_t n, size_t m, const nb_var *x,
                     const nb_var *v, nb_var *y, nb_var *out) {
    if (nb__too_many(n) || nb__too_many(m)) return arg_error(c);
    if (!c || !f || (n && (!x || !out)) || (m && !v)) return arg_error_v(c, y, m, out, n);
    const size_t d0 = c->depth;
    const uint32_t t0 = top_tag(c);
    nb_level *L = NULL;
    nb_status s = nb__driver_begin(c, NB_REVERSE, n, 2 * m, &L);
    if (!s) {
        nb_var *ys = L->outputs, *seeds = L->outputs + m;
        for (size_t j = 0; j < m; j++) seeds[j] = v[j]; /* before anything is written: y may be v */
        for (size_t i = 0; i < n && c->err == NB_OK; i++) L->inputs[i] = nb_rev_input(c, x[i]);
        if (c->err == NB_OK) {
            for (size_t j = 0; j < m; j++) ys[j] = nb_const(0);
            f(c, L->inputs, ys, env);
            if (nb__driver_ok(c, d0)) {
                nb__backward(c, L, m, ys, seeds, 1);
                if (y)
                    for (size_t j = 0; j < m; j++) y[j] = nb_primal(c, ys[j]);
                for (size_t i = 0; i < n; i++) out[i] = nb_grad(c, L->inputs[i]);
            }
        }
    }
    if ((s = nb__driver_finish(c, d0)) && same_top(c, d0, t0)) { /* handle_outputs_gone */
        nan_vars(y, m);
        nan_vars(out, n);
    }
    return s;
}

/* ---- second order ---- */

nb_status nb_hvp(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x, const double *v,
                 double *fx, double *g, double *hv) {
    if (nb__too_many(n)) return arg_error(c);
    if (!c || !f || (n && (!x || !v || !hv))) return arg_error_d(c, fx, 1, g, n, hv, n);
    const size_t d0 = c->depth;
    nb_level *L = NULL;
    nb_status s = nb__driver_begin(c, NB_FORWARD, n, n, &L);
    if (!s && !nb_fwd_inputs(c, n, x, v, L->inputs) && c->err == NB_OK) {
        nb_var y;
        if (!nb_gradient_var(c, f, env, n, L->inputs, &y, L->outputs) && nb__driver_ok(c, d0)) {
            nb_tangents(c, n, L->outputs, hv);
            if (fx) *fx = y.v;
            if (g)
                for (size_t i = 0; i < n; i++) g[i] = L->outputs[i].v;
        }
    }
    if ((s = nb__driver_finish(c, d0))) {
        if (fx) *fx = (double)NAN;
        nb__nan_doubles(g, n);
        nb__nan_doubles(hv, n);
    }
    return s;
}

nb_status nb_hessian(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x, double *fx,
                     double *g, double *H) {
    if (nb__too_many(n) || absurd(n, n)) return arg_error(c);
    if (!c || !f || (n && (!x || !H))) return arg_error_d(c, fx, 1, g, n, H, n * n);
    if (n == 0) return nb_gradient(c, f, env, 0, x, fx, g);
    const size_t d0 = c->depth;
    nb_level *L = NULL;
    nb_status s = nb__driver_begin(c, NB_FORWARD, n, 2 * n, &L);
    double f0 = (double)NAN;
    /* x is read in the first pass only (later passes take the inputs' values): g and H may alias
     * it; g is written at the end */
    for (size_t j = 0; !s && j < n && c->err == NB_OK; j++) {
        if ((s = seed_pass(c, L, n, x, j))) break;
        nb_var y;
        if (c->err || nb_gradient_var(c, f, env, n, L->inputs, &y, L->outputs) || !nb__driver_ok(c, d0))
            break;
        if (j == 0) f0 = y.v;
        for (size_t i = 0; i < n; i++) {
            nb_var t = nb_tangent(c, L->outputs[i]);
            L->outputs[n + i] = j == 0 ? nb_const(L->outputs[i].v) : L->outputs[n + i];
            H[i * n + j] = t.v;
        }
    }
    if (!s && c->err == NB_OK) {
        if (fx) *fx = f0;
        if (g)
            for (size_t i = 0; i < n; i++) g[i] = L->outputs[n + i].v;
    }
    if ((s = nb__driver_finish(c, d0))) {
        if (fx) *fx = (double)NAN;
        nb__nan_doubles(g, n);
        nb__nan_doubles(H, n * n);
    }
    return s;
}

/* ---- loops with checkpoints ---- */

/* Steps first .. first + len - 1 of a loop as one vector function (state in, state out), the
 * intermediate states in two scratch arrays of handles. */
struct loop_segment {
    nb_step_fn step;
    void *env;
    size_t first, len;
    nb_var *a, *b;
};
static void loop_segment_vfn(nb_ctx *c, const nb_var *x, nb_var *y, void *p) {
    const struct loop_segment *w = p;
    const nb_var *cur = x;
    for (size_t t = 0; t < w->len; t++) {
        nb_var *out = t + 1 == w->len ? y : t % 2 ? w->b : w->a;
        w->step(c, w->first + t, cur, out, w->env);
        cur = out;
    }
}

/* x_next = step_i(x) on plain values (constant handles, no level); the context's status. */
static nb_status loop_plain(nb_ctx *c, nb_step_fn step, void *env, size_t i, size_t n,
                            const double *x, double *out, nb_var *hx, nb_var *hy) {
    for (size_t k = 0; k < n; k++) hx[k] = nb_const(x[k]), hy[k] = nb_const(0);
    const size_t d0 = c->depth;
    step(c, i, hx, hy, env);
    nb__balanced(c, d0);
    for (size_t k = 0; k < n; k++) out[k] = hy[k].v;
    return c->err;
}

nb_status nb_loop_vjp(nb_ctx *c, nb_step_fn step, void *env, size_t n, size_t steps,
                      const double *x0, const double *seed, size_t interval, double *xn,
                      double *x0bar) {
    if (nb__too_many(n)) return arg_error(c);
    if (!c || !step || (n && (!x0 || (x0bar && !seed))))
        return arg_error_d(c, xn, n, x0bar, n, NULL, 0);
    if (c->err) { /* as the other drivers: nothing runs after an error already recorded */
        nb__nan_doubles(xn, n);
        nb__nan_doubles(x0bar, n);
        return c->err;
    }
    if (n == 0) return NB_OK;
    /* s steps per segment (interval 0: the smallest s with s * s >= steps); nck checkpoints,
     * the states at steps 0, s, 2s, ... */
    size_t s = interval;
    if (s == 0) { /* from the double square root, then exact */
        s = (size_t)sqrt((double)steps);
        while (s > 1 && (s - 1) >= steps / (s - 1) + (steps % (s - 1) != 0)) s--;
        while (s == 0 || s < steps / s + (steps % s != 0)) s++;
    }
    if (s > steps) s = steps ? steps : 1;
    /* (the loop alone, x0bar NULL, keeps no checkpoint) */
    const size_t nck = !x0bar ? 0 : steps ? (steps - 1) / s + 1 : 1;
    /* doubles: nck checkpoints, the state and the adjoint, a scratch state; handles: 2 n */
    const size_t rows = nck + 3;
    if (rows < nck || rows > SIZE_MAX / sizeof(double) / n || n > SIZE_MAX / sizeof(nb_var) / 2)
        return arg_error_d(c, xn, n, x0bar, n, NULL, 0);
    const size_t dbytes = rows * n * sizeof(double), hbytes = 2 * n * sizeof(nb_var);
    double *ck = c->alloc(c->alloc_ud, NULL, 0, dbytes);
    nb_var *hx = ck ? c->alloc(c->alloc_ud, NULL, 0, hbytes) : NULL;
    if (!hx) {
        if (ck) c->alloc(c->alloc_ud, ck, dbytes, 0);
        nb__nan_doubles(xn, n);
        nb__nan_doubles(x0bar, n);
        return nb__fail(c, NB_E_NOMEM);
    }
    double *cur = ck + nck * n, *abar = cur + n, *next = abar + n;
    nb_var *hy = hx + n;
    const size_t bytes = n * sizeof(double);
    /* the inputs are read before any output is written (xn or x0bar may be x0 or seed) */
    memcpy(cur, x0, bytes);
    if (x0bar) memcpy(abar, seed, bytes);
    /* forward, on plain values: the checkpoints, and x_N */
    nb_status st = NB_OK;
    for (size_t i = 0; i < steps && !st; i++) {
        if (nck && i % s == 0) memcpy(ck + (i / s) * n, cur, bytes);
        st = loop_plain(c, step, env, i, n, cur, next, hx, hy);
        memcpy(cur, next, bytes);
    }
    if (!st && xn) memcpy(xn, cur, bytes);
    /* backward, a segment at a time from the last: the segment recorded from its checkpoint on a
     * tape of its own and swept once, seeded with the adjoint of its last state */
    for (size_t j = nck; x0bar && j-- > 0 && !st && steps;) {
        const size_t first = j * s, len = steps - first < s ? steps - first : s;
        struct loop_segment w = {step, env, first, len, hx, hy};
        st = nb_vjp(c, loop_segment_vfn, &w, n, n, ck + j * n, abar, NULL, abar);
    }
    if (st) {
        nb__nan_doubles(xn, n);
        nb__nan_doubles(x0bar, n);
    } else if (x0bar) {
        memcpy(x0bar, abar, bytes);
    }
    c->alloc(c->alloc_ud, hx, hbytes, 0);
    c->alloc(c->alloc_ud, ck, dbytes, 0);
    return st ? nb__fail(c, st) : NB_OK;
}
