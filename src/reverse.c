/* reverse.c - inputs of levels, tangents, and the reverse sweep.
 *
 * A reverse level's tape is linear in creation order, so it is already topologically sorted: the
 * sweep walks it backwards once. At depth 1 it is a plain multiply-accumulate loop over (index,
 * partial) pairs with no dispatch. At depth >= 2 the partials and adjoints are handles of the
 * levels below, and the sweep's arithmetic is recorded there (forward-over-reverse,
 * reverse-over-reverse). */
#include <math.h>
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
    nb_status s = nb__level_grow(c, L, 1, 0);
    if (s) return nb__fail_var(c, s);
    size_t i = L->n;
    if (L->kind == NB_REVERSE) L->stmt_end[i] = (uint32_t)L->nops;
    if (L->depth >= 2) L->prim_ref[i] = nb__var_ref(x);
    L->leaves++;
    L->n++;
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

nb_var nb_rev_input(nb_ctx *c, nb_var x) {
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

/* ---- the sweep ---- */

static void sweep1(nb_level *L, uint32_t from) {
    double *adj = L->adj;
    const uint32_t *end = L->stmt_end, *idx = L->op_idx;
    const double *mul = L->op_mul;
    for (uint32_t i = from; i >= 1; i--) {
        double a = adj[i];
        uint32_t b = end[i - 1], e = end[i];
        if (a == 0 || b == e) continue; /* nothing to pass on, or a leaf: keep its gradient */
        adj[i] = 0;                     /* consumed: a second sweep starts afresh */
        for (uint32_t k = b; k < e; k++) adj[idx[k]] += mul[k] * a;
    }
}

static nb_var adj_get(const nb_level *L, uint32_t i) { return nb__ref_var(L->adj[i], L->adj_ref[i]); }
static void adj_set(nb_level *L, uint32_t i, nb_var v) {
    L->adj[i] = v.v;
    L->adj_ref[i] = nb__var_ref(v);
}

/* The sweep at depth >= 2: every product and sum is an op at the levels below. Only structural
 * zeros are skipped (an adjoint whose value is 0 may carry a tangent outside). */
static void sweepn(nb_ctx *c, nb_level *L, uint32_t from) {
    for (uint32_t i = from; i >= 1; i--) {
        nb_var a = adj_get(L, i);
        uint32_t b = L->stmt_end[i - 1], e = L->stmt_end[i];
        if (nb__szero(a) || b == e) continue;
        adj_set(L, i, nb_const(0));
        for (uint32_t k = b; k < e; k++) {
            nb_var p = nb__ref_var(L->op_mul[k], L->op_ref[k]);
            nb_var contrib = nb_smul(c, p, a);
            nb_var old = adj_get(L, L->op_idx[k]);
            adj_set(L, L->op_idx[k], nb__szero(old) ? contrib : nb_add(c, old, contrib));
        }
    }
}

nb_status nb_backward_seed(nb_ctx *c, nb_var y, nb_var seed) {
    if (!c) return NB_E_ARG;
    nb_level *L = top_of_kind(c, NB_REVERSE);
    if (!L) return c->err;
    if (!below(c, L, seed)) return c->err;
    if (y.tag != 0 && !nb__owner(c, y)) {
        nb__bad_handle(c, y);
        return c->err;
    }
    nb_status s = nb__adj_ready(c, L);
    if (s) return nb__fail(c, s);
    if (c->grad_mode == NB_GRAD_OVERWRITE) {
        memset(L->adj, 0, L->adj_n * sizeof *L->adj);
        if (L->depth >= 2) memset(L->adj_ref, 0, L->adj_n * sizeof *L->adj_ref);
    }
    if (y.tag != L->tag || nb__szero(seed)) return c->err; /* y does not depend on this level */
    if (L->depth == 1) {
        L->adj[y.idx] += seed.v;
        sweep1(L, y.idx);
    } else {
        nb_var old = adj_get(L, y.idx);
        adj_set(L, y.idx, nb__szero(old) ? seed : nb_add(c, old, seed));
        sweepn(c, L, y.idx);
    }
    return c->err;
}

nb_status nb_backward(nb_ctx *c, nb_var y) { return nb_backward_seed(c, y, nb_const(1)); }

nb_var nb_grad(nb_ctx *c, nb_var x) {
    nb_level *L = top_of_kind(c, NB_REVERSE);
    if (!L) return nb_const((double)NAN);
    if (x.tag == 0) return nb_const(0);
    if (!nb__owner(c, x)) return nb__bad_handle(c, x);
    if (x.tag != L->tag || x.idx >= L->adj_n) return nb_const(0);
    if (L->depth == 1) return nb_const(L->adj[x.idx]);
    return adj_get(L, x.idx);
}

nb_status nb_zero_grad(nb_ctx *c) {
    if (!c) return NB_E_ARG;
    nb_level *L = top_of_kind(c, NB_REVERSE);
    if (!L) return NB_E_LEVEL;
    L->adj_n = 0; /* re-zeroed on the next sweep */
    return NB_OK;
}
