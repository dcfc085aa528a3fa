/* reverse.c - inputs of levels, tangents, and the reverse sweep.
 *
 * A reverse level's tape is linear in creation order, so it is already topologically sorted: the
 * sweep walks it backwards once. At depth 1 it is a plain multiply-accumulate loop over (index,
 * partial) pairs with no dispatch. At depth >= 2 the partials and adjoints are handles of the
 * levels below, and the sweep's arithmetic is recorded there (forward-over-reverse,
 * reverse-over-reverse). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* The top level if it has `kind`, else NULL after recording NB_E_LEVEL. */
static nb_level *top_of_kind(nb_ctx *c, nb_kind kind) {
    if (c->depth == 0 || c->lv[c->depth].kind != kind) {
        nb__fail(c, NB_E_LEVEL);
        return NULL;
    }
    return &c->lv[c->depth];
}

/* Checks that x is a constant or a valid handle of a level below L. */
static int below(nb_ctx *c, const nb_level *L, nb_var x) {
    if (x.tag == 0) return 1;
    if (!nb__owner(c, x)) {
        nb__bad_handle(c, x);
        return 0;
    }
    if ((x.tag & NB_DEPTH_MASK) >= L->depth) {
        nb__fail(c, NB_E_ARG);
        return 0;
    }
    return 1;
}

static nb_var new_input(nb_ctx *c, nb_level *L, nb_var x) {
    nb_status s;
    if (L->n >= L->ncap && (s = nb__level_grow(c, L, 1, 0))) return nb__fail_var(c, s);
    size_t i = L->n;
    if (L->kind == NB_REVERSE) L->stmt_end[i] = (uint32_t)L->nops;
    if (L->mode == NB_MODE_GENERIC) L->prim_ref[i] = nb__var_ref(x);
    if (L->mode == NB_MODE_DUAL) L->prim_t[i] = nb__dual_low(c, x).d;
    L->leaves++;
    L->n++;
    nb__hot_limits(L);
    nb_var y = {x.v, (uint32_t)i, L->tag};
    return y;
}

nb_var nb_fwd_input(nb_ctx *c, nb_var x, nb_var dx) {
    nb_level *L = top_of_kind(c, NB_FORWARD);
    if (!L) return nb_const((double)NAN);
    if (!below(c, L, x) || !below(c, L, dx)) return nb_const((double)NAN);
    nb_var y = new_input(c, L, x);
    if (y.tag == 0) return y;
    L->tan[y.idx] = dx.v;
    if (L->depth >= 2) L->tan_ref[y.idx] = nb__var_ref(dx);
    return y;
}

nb_var nb__rev_input(nb_ctx *c, nb_var x) {
    nb_level *L = top_of_kind(c, NB_REVERSE);
    if (!L) return nb_const((double)NAN);
    if (!below(c, L, x)) return nb_const((double)NAN);
    return new_input(c, L, x);
}

nb_var nb_tangent(nb_ctx *c, nb_var y) {
    nb_level *L = top_of_kind(c, NB_FORWARD);
    if (!L) return nb_const((double)NAN);
    if (y.tag == 0) return nb_const(0);
    if (!nb__owner(c, y)) return nb__bad_handle(c, y);
    if (y.tag != L->tag) return nb_const(0);
    if (L->depth == 1) return nb_const(L->tan[y.idx]);
    return nb__ref_var(L->tan[y.idx], L->tan_ref[y.idx]);
}

nb_var nb_primal(nb_ctx *c, nb_var y) {
    if (!c || c->depth == 0 || y.tag == 0) return y;
    if (!nb__owner(c, y)) return nb__bad_handle(c, y);
    const nb_level *L = &c->lv[c->depth];
    if (y.tag != L->tag) return y;
    if (L->mode == NB_MODE_PLAIN) return nb_const(y.v);
    if (L->mode == NB_MODE_DUAL) return nb__level1_var(c, y.v, L->prim_t[y.idx]);
    if (L->mode == NB_MODE_TAYLOR) return L->coef[y.idx * ((size_t)L->order + 1)];
    return nb__ref_var(y.v, L->prim_ref[y.idx]);
}

/* ---- the sweep ---- */

/* The lowest node that has operands, or from + 1 when nodes 1 .. from have none: stmt_end is
 * cumulative, so end[i] == 0 exactly for the leaves before the first statement, which a sweep
 * never visits (a binary search: the sweep's loop then has no test for them). */
static uint32_t first_statement(const uint32_t *end, uint32_t from) {
    uint32_t lo = 1, hi = from + 1; /* end[i] == 0 for i < lo; end[i] != 0 for i >= hi */
    while (lo < hi) {
        const uint32_t mid = lo + (hi - lo) / 2;
        if (end[mid] == 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* 1 when a is +-0 (an integer test of its bits: two instructions where the comparison took five
 * for its NaN case, and the sweep is bound by its instruction count). */
static int is_zero(double a) {
    uint64_t u;
    memcpy(&u, &a, sizeof u);
    return (u << 1) == 0;
}

static void sweep1(nb_level *L, uint32_t from) {
    double *adj = L->adj;
    const uint32_t *end = L->stmt_end, *idx = L->op_idx;
    const double *mul = L->op_mul;
    const uint32_t lo = first_statement(end, from);
    uint32_t e = end[from];
    for (uint32_t i = from; i >= lo; i--) {
        const double a = adj[i];
        const uint32_t b = end[i - 1];
        /* nothing to pass on, or a leaf (b == e): keep its gradient */
        if (!is_zero(a) && b != e) {
            adj[i] = 0; /* consumed: a second sweep starts afresh */
            if (e - b == 2) { /* the common cases of a binary and a unary op, unrolled */
                const uint32_t j0 = idx[b], j1 = idx[b + 1];
                const double c0 = mul[b] * a, c1 = mul[b + 1] * a;
                adj[j0] += c0;
                adj[j1] += c1;
            } else if (e - b == 1) {
                adj[idx[b]] += mul[b] * a;
            } else {
                for (uint32_t k = b; k < e; k++) adj[idx[k]] += mul[k] * a;
            }
        }
        e = b;
    }
}

static nb_var adj_get(const nb_level *L, uint32_t i) { return nb__ref_var(L->adj[i], L->adj_ref[i]); }

/* The sweep of a dual-mode level: adjoints and partials are (value, level-1 tangent) pairs, and
 * each contribution is the strong-zero dual product p * a, all in plain doubles. Level 1 is
 * charged two ops per operand passed on (the product and the sum), as the generic sweep would
 * record them there. */
static void sweep_dual(nb_ctx *c, nb_level *L, uint32_t from) {
    double *adj = L->adj, *adt = L->adj_t;
    const uint32_t *end = L->stmt_end, *idx = L->op_idx;
    const double *mul = L->op_mul, *mt = L->op_mt;
    unsigned long long ops = 0;
    for (uint32_t i = from; i >= 1 && end[i] != 0; i--) { /* as in sweep1 */
        double a = adj[i], at = adt[i];
        uint32_t b = end[i - 1], e = end[i];
        if ((a == 0 && at == 0) || b == e) continue;
        adj[i] = 0;
        adt[i] = 0;
        ops += 2 * (unsigned long long)(e - b);
        for (uint32_t k = b; k < e; k++) {
            adj[idx[k]] += nb__szmul(mul[k], a);
            adt[idx[k]] += nb__szmul(mt[k], a) + nb__szmul(mul[k], at);
        }
    }
    c->lv[1].ops += ops;
}
static void adj_set(nb_level *L, uint32_t i, nb_var v) {
    L->adj[i] = v.v;
    L->adj_ref[i] = nb__var_ref(v);
}

/* The sweep at depth >= 2: every product and sum is an op at the levels below. Only structural
 * zeros are skipped (an adjoint whose value is 0 may carry a tangent outside). */
static void sweepn(nb_ctx *c, nb_level *L, uint32_t from) {
    /* over a pattern level (src/sparse.c), a contribution that is a constant 0 (a partial picked
     * by value, as max's 0 or abs's sign at 0, times a constant adjoint) still reaches an operand
     * whose primal depends on level 1: it becomes a level-1 node without dependences, so that the
     * operand's own partials are multiplied in below and its dependences show in the pattern. An
     * operand whose primal is a constant depends on nothing there (a driver run on constants, as
     * a custom op's rule at depth 1 does): its zero stays a structural one. */
    const int pattern = c->lv[1].pattern;
    for (uint32_t i = from; i >= 1 && L->stmt_end[i] != 0; i--) { /* as in sweep1 */
        nb_var a = adj_get(L, i);
        uint32_t b = L->stmt_end[i - 1], e = L->stmt_end[i];
        if (nb__szero(a) || b == e) continue;
        adj_set(L, i, nb_const(0));
        for (uint32_t k = b; k < e; k++) {
            nb_var p = nb__ref_var(L->op_mul[k], L->op_ref[k]);
            nb_var contrib = nb_smul(c, p, a);
            if (pattern && nb__szero(contrib) && L->prim_ref[L->op_idx[k]].tag != 0)
                contrib = nb__pattern_zero(c);
            nb_var old = adj_get(L, L->op_idx[k]);
            adj_set(L, L->op_idx[k], nb__szero(old) ? contrib : nb_add(c, old, contrib));
        }
    }
}

/* Seeds adj[y_j] += seed_j for the outputs owned by L and sweeps once from the highest. The
 * seeds are valid constants or handles of lower levels. */
static void sweep(nb_ctx *c, nb_level *L, size_t m, const nb_var *ys, const nb_var *seeds) {
    uint32_t top = 0;
    for (size_t j = 0; j < m; j++) {
        nb_var y = ys[j], seed = seeds ? seeds[j] : nb_const(1);
        if (y.tag != L->tag || nb__szero(seed)) continue; /* no dependence on this level */
        if (L->mode == NB_MODE_PLAIN) {
            L->adj[y.idx] += seed.v;
        } else if (L->mode == NB_MODE_DUAL) {
            nb_dual sd = nb__dual_low(c, seed);
            L->adj[y.idx] += sd.v;
            L->adj_t[y.idx] += sd.d;
        } else {
            nb_var old = adj_get(L, y.idx);
            adj_set(L, y.idx, nb__szero(old) ? seed : nb_add(c, old, seed));
        }
        if (y.idx > top) top = y.idx;
    }
    if (top == 0) return;
    if (L->mode == NB_MODE_PLAIN)
        sweep1(L, top);
    else if (L->mode == NB_MODE_DUAL)
        sweep_dual(c, L, top);
    else
        sweepn(c, L, top);
}

nb_status nb__backward(nb_ctx *c, nb_level *L, size_t m, const nb_var *ys, const nb_var *seeds,
                       int overwrite) {
    if (L->pattern) return nb__fail(c, NB_E_LEVEL); /* a dependence graph, not a tape to sweep */
    for (size_t j = 0; j < m; j++) {
        if (!below(c, L, seeds ? seeds[j] : nb_const(1))) return c->err;
        if (ys[j].tag != 0 && !nb__owner(c, ys[j])) {
            nb__bad_handle(c, ys[j]);
            return c->err;
        }
    }
    const size_t fresh = L->adj_n; /* nb__adj_ready zeroes the adjoints from here on */
    nb_status s = nb__adj_ready(c, L);
    if (s) return nb__fail(c, s);
    if (overwrite) {
        memset(L->adj, 0, fresh * sizeof *L->adj);
        if (L->mode == NB_MODE_GENERIC) memset(L->adj_ref, 0, fresh * sizeof *L->adj_ref);
        if (L->mode == NB_MODE_DUAL) memset(L->adj_t, 0, fresh * sizeof *L->adj_t);
    }
    if (overwrite && L->mode == NB_MODE_PLAIN) nb__arrays_zero(L);
    sweep(c, L, m, ys, seeds);
    if (L->mode == NB_MODE_PLAIN && (L->nastmt || L->naelem)) nb__arrays_backward(L);
    return c->err;
}

nb_status nb_backward_vec(nb_ctx *c, size_t m, const nb_var *ys, const nb_var *seeds) {
    if (!c) return NB_E_ARG;
    if (m && !ys) return nb__fail(c, NB_E_ARG);
    nb_level *L = top_of_kind(c, NB_REVERSE);
    if (!L) return c->err;
    return nb__backward(c, L, m, ys, seeds, c->grad_mode == NB_GRAD_OVERWRITE);
}

nb_status nb_backward_seed(nb_ctx *c, nb_var y, nb_var seed) {
    return nb_backward_vec(c, 1, &y, &seed);
}

nb_status nb_backward(nb_ctx *c, nb_var y) { return nb_backward_vec(c, 1, &y, NULL); }

nb_var nb__grad(nb_ctx *c, nb_var x) {
    nb_level *L = top_of_kind(c, NB_REVERSE);
    if (!L) return nb_const((double)NAN);
    if (x.tag == 0) return nb_const(0);
    if (!nb__owner(c, x)) return nb__bad_handle(c, x);
    if (x.tag != L->tag || x.idx >= L->adj_n) return nb_const(0);
    if (L->mode == NB_MODE_PLAIN) return nb_const(L->adj[x.idx]);
    if (L->mode == NB_MODE_DUAL) return nb__level1_var(c, L->adj[x.idx], L->adj_t[x.idx]);
    return adj_get(L, x.idx);
}

nb_status nb_zero_grad(nb_ctx *c) {
    if (!c) return NB_E_ARG;
    nb_level *L = top_of_kind(c, NB_REVERSE);
    if (!L) return NB_E_LEVEL;
    L->adj_n = 0; /* re-zeroed on the next sweep */
    if (L->mode == NB_MODE_PLAIN) nb__arrays_zero(L);
    return NB_OK;
}

/* On a failure of the array calls below: NaN constants into out (when there is one), as the
 * one-at-a-time calls give; the status is returned as it is. */
static nb_status nan_vars(nb_var *out, size_t n, nb_status s) {
    for (size_t i = 0; out && i < n; i++) out[i] = nb_const((double)NAN);
    return s;
}
static nb_status nan_doubles(double *out, size_t n, nb_status s) {
    for (size_t i = 0; out && i < n; i++) out[i] = (double)NAN;
    return s;
}

nb_status nb_rev_inputs(nb_ctx *c, size_t n, const double *x, nb_var *out) {
    if (!c) return nan_vars(out, n, NB_E_ARG);
    if (n && (!x || !out)) return nan_vars(out, n, nb__fail(c, NB_E_ARG));
    nb_level *L = top_of_kind(c, NB_REVERSE);
    if (!L) return nan_vars(out, n, c->err);
    nb_status s = nb__level_grow(c, L, n, 0);
    if (s) return nan_vars(out, n, nb__fail(c, s));
    const uint32_t end = (uint32_t)L->nops, tag = L->tag, first = (uint32_t)L->n;
    for (size_t i = 0; i < n; i++) {
        L->stmt_end[first + i] = end;
        out[i].v = x[i];
        out[i].idx = first + (uint32_t)i;
        out[i].tag = tag;
    }
    if (L->mode == NB_MODE_GENERIC)
        for (size_t i = 0; i < n; i++) L->prim_ref[first + i] = (nb_ref){0, 0};
    if (L->mode == NB_MODE_DUAL)
        for (size_t i = 0; i < n; i++) L->prim_t[first + i] = 0;
    L->n += n;
    L->leaves += n;
    nb__hot_limits(L);
    return c->err;
}

nb_status nb_fwd_inputs(nb_ctx *c, size_t n, const double *x, const double *dx, nb_var *out) {
    if (!c) return nan_vars(out, n, NB_E_ARG);
    if (n && (!x || !dx || !out)) return nan_vars(out, n, nb__fail(c, NB_E_ARG));
    nb_level *L = top_of_kind(c, NB_FORWARD);
    if (!L) return nan_vars(out, n, c->err);
    nb_status s = nb__level_grow(c, L, n, 0);
    if (s) return nan_vars(out, n, nb__fail(c, s));
    for (size_t i = 0; i < n; i++) {
        L->tan[L->n] = dx[i];
        if (L->depth >= 2) {
            L->tan_ref[L->n] = (nb_ref){0, 0};
            L->prim_ref[L->n] = (nb_ref){0, 0};
        }
        out[i].v = x[i];
        out[i].idx = (uint32_t)L->n++;
        out[i].tag = L->tag;
    }
    L->leaves += n;
    return c->err;
}

nb_status nb_grads(nb_ctx *c, size_t n, const nb_var *x, double *g) {
    if (!c) return nan_doubles(g, n, NB_E_ARG);
    if (n && (!x || !g)) return nan_doubles(g, n, nb__fail(c, NB_E_ARG));
    nb_level *L = top_of_kind(c, NB_REVERSE);
    if (!L) return nan_doubles(g, n, c->err);
    const uint32_t tag = L->tag;
    const size_t limit = L->adj_n;
    const double *const adj = L->adj;
    size_t i = 0;
    /* the common case first, in a loop of its own (a swept node of the top level: the library
     * call of the other cases in the same loop made it reload the level's fields, 13 cycles an
     * element) */
    for (; i < n; i++) {
        const nb_var xi = x[i];
        if (xi.tag != tag || xi.idx >= limit || xi.idx == 0) break;
        g[i] = adj[xi.idx];
    }
    for (; i < n; i++) g[i] = nb_grad(c, x[i]).v;
    return c->err;
}

nb_status nb_tangents(nb_ctx *c, size_t n, const nb_var *y, double *t) {
    if (!c) return nan_doubles(t, n, NB_E_ARG);
    if (n && (!y || !t)) return nan_doubles(t, n, nb__fail(c, NB_E_ARG));
    for (size_t i = 0; i < n; i++) t[i] = nb_tangent(c, y[i]).v;
    return c->err;
}
