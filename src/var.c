/* var.c - the ops on handles, expanded from the registry.
 *
 * Each op binds to the deepest level owning one of its operands. At depth 1 every partial is a
 * plain double (the fast tier): the registry's rule compiled with doubles feeds a tangent or an
 * Adept-style tape entry. At depth >= 2 the rule compiled with handles runs at the levels below
 * (the generic tier), so the derivative is itself differentiable. */
#include <math.h>
#include <string.h>

#include "internal.h"

/* ---- depth 1: plain double partials ---- */

/* A forward node with tangent t (a constant result when t is 0: at depth 1 a zero tangent may
 * be dropped). Grows the level if needed, then records as the inline tier does (nb__tan1). */
NB_HOT_INLINE nb_var fwd1(nb_ctx *c, nb_level *L, double r, double t) {
    if (t == 0) return nb_const(r);
    if (L->n >= L->ncap) {
        nb_status s = nb__level_grow(c, L, 1, 0);
        if (s) return nb__fail_var(c, s);
    }
    const nb_var out = nb__tan1(&L->hot, L->n, L->tag, r, t);
    L->nodes_lib++; /* (t != 0: a node) */
    nb__hot_limits(L); /* the inline ops come here at their limit while there is room */
    return out;
}

/* Makes room for one node and k operands on L (k as the recording writes them: a unary op's
 * one; asking for two made nb_reserve's exact operand count allocate, a review). */
static nb_status room_for_one(nb_ctx *c, nb_level *L, size_t k) {
    if (L->n < L->ncap && L->nops + k <= L->opcap) return NB_OK;
    return nb__level_grow(c, L, 1, k);
}

/* A reverse node with k = 1 or 2 operands; zero partials are not recorded, and a node without
 * operands is a constant (decided before growing, so it never fails). Equal operands (x * x) are
 * merged into one. The recording is the inline tier's (nb__rec1, nb__rec2). */
nb_var nb__pattern_zero(nb_ctx *c) {
    nb_level *L = &c->lv[1];
    nb_status s = room_for_one(c, L, 0);
    if (s) return nb__fail_var(c, s);
    L->stmt_end[L->n] = (uint32_t)L->nops;
    L->nodes_lib++;
    nb_var out = {0.0, (uint32_t)L->n++, L->tag};
    return out;
}

/* A node of a pattern level (nb_level.pattern): every operand kept, zero partials included,
 * equal operands merged. */
static nb_var rev_keep(nb_ctx *c, nb_level *L, double r, int k, uint32_t i0, double p0,
                       uint32_t i1, double p1) {
    nb_status s = room_for_one(c, L, (size_t)k);
    if (s) return nb__fail_var(c, s);
    if (k == 2 && i0 == i1) p0 += p1, k = 1;
    L->op_idx[L->nops] = i0;
    L->op_mul[L->nops++] = p0;
    if (k == 2) {
        L->op_idx[L->nops] = i1;
        L->op_mul[L->nops++] = p1;
    }
    L->stmt_end[L->n] = (uint32_t)L->nops;
    L->nodes_lib++;
    nb_var out = {r, (uint32_t)L->n++, L->tag};
    return out;
}

NB_HOT_INLINE nb_var rev1(nb_ctx *c, nb_level *L, double r, int k, uint32_t i0, double p0, uint32_t i1,
                   double p1) {
    if (L->pattern) return rev_keep(c, L, r, k, i0, p0, i1, p1);
    if (k == 1 ? p0 == 0 : i0 == i1 ? p0 + p1 == 0 : p0 == 0 && p1 == 0) return nb_const(r);
    nb_status s = room_for_one(c, L, (size_t)k); /* (nb__rec2 writes both slots) */
    if (s) return nb__fail_var(c, s);
    const nb_var out = k == 1 ? nb__rec1(&L->hot, L->n, L->tag, r, i0, p0)
                              : nb__rec2(&L->hot, L->n, L->tag, r, i0, p0, i1, p1);
    L->nodes_lib += out.tag != 0; /* a node (a constant when the merged partials cancel) */
    /* the inline ops come here when they reach their limit (which counts two operands a node)
     * while there is room: inputs and unary ops use less */
    nb__hot_limits(L);
    return out;
}

/* ---- depth >= 2: partials are handles of the levels below ---- */

/* The primal of x at the level below L (x owned by L). */
static nb_var primal_of(const nb_level *L, nb_var x) { return nb__ref_var(x.v, L->prim_ref[x.idx]); }

/* The tangent of x (owned by forward level L) as a handle of the levels below. */
static nb_var tangent_of(const nb_level *L, nb_var x) {
    if (L->depth == 1) return nb_const(L->tan[x.idx]);
    return nb__ref_var(L->tan[x.idx], L->tan_ref[x.idx]);
}

static nb_var acc(nb_ctx *c, nb_var a, nb_var b) {
    if (nb__szero(a)) return b;
    if (nb__szero(b)) return a;
    return nb_add(c, a, b);
}

/* The handle-algebra rules: rule_<op>_<k>(c, X, Y, R, N) is the partial with respect to operand
 * k, evaluated with ops on handles at the levels below. */
#include "nabla/bits/rule_words.h"
#define NB_R1(op_, a_) nb_##op_(c_, a_)
#define NB_R2(op_, a_, b_) nb_##op_(c_, a_, b_)
#define NB_RI(op_, a_, n_) nb_##op_(c_, a_, n_)
#define K(v_) nb_const((double)(v_))
#define V(a_) ((a_).v)
#define NB_RULE_(name_, k_, body_)                                                          \
    static nb_var rule_##name_##_##k_(nb_ctx *c_, nb_var X, nb_var Y, nb_var R, int N) {    \
        (void)c_, (void)X, (void)Y, (void)R, (void)N;                                       \
        return (body_);                                                                     \
    }
#define NB_OP1(name_, lang_, primal_, dX_, ...) NB_RULE_(name_, 0, dX_)
#define NB_OP2(name_, lang_, primal_, dX_, dY_, ...) NB_RULE_(name_, 0, dX_) NB_RULE_(name_, 1, dY_)
#define NB_OPI(name_, lang_, nmin_, nmax_, primal_, dX_, ...) NB_RULE_(name_, 0, dX_)
#define NB_RED1(name_, lang_, primal_, dX_, ...) NB_RULE_(name_, 0, dX_)
#define NB_RED2(name_, lang_, primal_, dX_, dY_, ...) NB_RULE_(name_, 0, dX_) NB_RULE_(name_, 1, dY_)
#include "nabla/ops.def"
#undef NB_OP1
#undef NB_OP2
#undef NB_OPI
#undef NB_RED1
#undef NB_RED2
#undef NB_RULE_
#include "nabla/bits/rule_words_end.h"

/* Each rule's text, to tell the rules that are identically zero (stop_gradient's, sign's): a
 * pattern level (nb_level.pattern) drops those operands and keeps every other, whatever the
 * partial's value. */
static const char *const rule_text[NB_OP_COUNT][2] = {
#define NB_OP1(name_, lang_, primal_, dX_, ...) [NB_OP_##name_] = {#dX_, 0},
#define NB_OP2(name_, lang_, primal_, dX_, dY_, ...) [NB_OP_##name_] = {#dX_, #dY_},
#define NB_OPI(name_, lang_, nmin_, nmax_, primal_, dX_, ...) [NB_OP_##name_] = {#dX_, 0},
#define NB_RED1(name_, lang_, primal_, dX_, ...) [NB_OP_##name_] = {#dX_, 0},
#define NB_RED2(name_, lang_, primal_, dX_, dY_, ...) [NB_OP_##name_] = {#dX_, #dY_},
#include "nabla/ops.def"
#undef NB_OP1
#undef NB_OP2
#undef NB_OPI
#undef NB_RED1
#undef NB_RED2
};
static int zero_rule(nb_op op, int k) {
    return rule_text[op][k] && strcmp(rule_text[op][k], "K(0)") == 0;
}
/* 1 when partial q of operand k of op is recorded at a level of depth >= 2: not a structural
 * zero, or kept because level 1 is a pattern level. */
static int keep_partial(const nb_ctx *c, nb_op op, int k, nb_var q) {
    return !nb__szero(q) || (c->lv[1].pattern && !zero_rule(op, k));
}

typedef nb_var (*rule_fn)(nb_ctx *, nb_var, nb_var, nb_var, int);
static const rule_fn rules[NB_OP_COUNT][2] = {
#define NB_OP1(name_, ...) {rule_##name_##_0, 0},
#define NB_OP2(name_, ...) {rule_##name_##_0, rule_##name_##_1},
#define NB_OPI(name_, ...) {rule_##name_##_0, 0},
#define NB_RED1(name_, ...) {rule_##name_##_0, 0},
#define NB_RED2(name_, ...) {rule_##name_##_0, rule_##name_##_1},
#include "nabla/ops.def"
#undef NB_OP1
#undef NB_OP2
#undef NB_OPI
#undef NB_RED1
#undef NB_RED2
};

nb_var nb__rule(nb_ctx *c, nb_op op, int k, nb_var x, nb_var y, nb_var r, int n) {
    return rules[op][k](c, x, y, r, n);
}

/* A reduction by op id at whatever level its elements bind to (for the generic tier). */
static nb_var reduce_by_id(nb_ctx *c, nb_op op, size_t n, const nb_var *x, const nb_var *y);

/* The elements' binding depth, or -1 after recording the error of an invalid handle. Elements
 * usually share a level, so the last level seen is checked first. */
static int elements_depth(nb_ctx *c, size_t n, const nb_var *x) {
    uint32_t d = 0, seen = 0;
    size_t limit = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t tag = x[i].tag;
        if (tag == 0 || (tag == seen && x[i].idx - 1 < limit)) continue;
        nb_level *L = nb__owner(c, x[i]);
        if (!L) {
            nb__bad_handle(c, x[i]);
            return -1;
        }
        seen = tag;
        limit = L->n - 1; /* valid indices are 1 .. n-1 */
        if (L->depth > d) d = L->depth;
    }
    return (int)d;
}

/* A reduction at level L (depth >= 2) with result value computed at the levels below. */
static nb_var reduce_generic(nb_ctx *c, nb_level *L, nb_op op, size_t n, const nb_var *x,
                             const nb_var *y) {
    nb_status s = nb__scratch_reserve(c, L, y ? 2 * n : n);
    if (s) return nb__fail_var(c, s);
    nb_var *px = L->scratch, *py = y ? L->scratch + n : NULL;
    for (size_t i = 0; i < n; i++) {
        px[i] = x[i].tag == L->tag ? primal_of(L, x[i]) : x[i];
        if (y) py[i] = y[i].tag == L->tag ? primal_of(L, y[i]) : y[i];
    }
    const nb_var r = reduce_by_id(c, op, n, px, py);
    const nb_var zero = nb_const(0);
    L->ops++;
    if (L->kind == NB_FORWARD) {
        nb_var t = zero;
        for (size_t i = 0; i < n; i++) {
            nb_var yi = py ? py[i] : zero;
            if (x[i].tag == L->tag) {
                nb_var tx = tangent_of(L, x[i]);
                if (!nb__szero(tx)) t = acc(c, t, nb_smul(c, rules[op][0](c, px[i], yi, r, 0), tx));
            }
            if (y && y[i].tag == L->tag) {
                nb_var ty = tangent_of(L, y[i]);
                if (!nb__szero(ty)) t = acc(c, t, nb_smul(c, rules[op][1](c, px[i], yi, r, 0), ty));
            }
        }
        if (nb__szero(t)) return r;
        if (L->n >= L->ncap && (s = nb__level_grow(c, L, 1, 0))) return nb__fail_var(c, s);
        L->tan[L->n] = t.v;
        L->tan_ref[L->n] = nb__var_ref(t);
        L->prim_ref[L->n] = nb__var_ref(r);
        nb_var out = {r.v, (uint32_t)L->n++, L->tag};
        return out;
    }
    /* the partials go into the scratch in place of the primals they were computed from (an
     * element's primals are read by its own partials only), and the level grows by the operands
     * kept only (an exact nb_reserve held, a review) */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        nb_var yi = py ? py[i] : zero;
        int ax = x[i].tag == L->tag, ay = y && y[i].tag == L->tag;
        nb_var p = zero, q = zero;
        if (ax) p = rules[op][0](c, px[i], yi, r, 0);
        if (ay && ax && y[i].idx == x[i].idx) { /* dot(x, x): one operand per element */
            p = acc(c, p, rules[op][1](c, px[i], yi, r, 0));
            ay = 0;
        }
        if (ay) q = rules[op][1](c, px[i], yi, r, 0);
        px[i] = p;
        if (y) py[i] = q;
        k += (size_t)(ax && keep_partial(c, op, 0, p)) + (size_t)(ay && keep_partial(c, op, 1, q));
    }
    if (k == 0) return r;
    if ((s = nb__level_grow(c, L, 1, k))) return nb__fail_var(c, s);
    for (size_t i = 0; i < n; i++) {
        const int ax = x[i].tag == L->tag;
        const int ay = y && y[i].tag == L->tag && !(ax && y[i].idx == x[i].idx);
        if (ax && keep_partial(c, op, 0, px[i])) {
            L->op_idx[L->nops] = x[i].idx;
            L->op_mul[L->nops] = px[i].v;
            L->op_ref[L->nops++] = nb__var_ref(px[i]);
        }
        if (ay && keep_partial(c, op, 1, py[i])) {
            L->op_idx[L->nops] = y[i].idx;
            L->op_mul[L->nops] = py[i].v;
            L->op_ref[L->nops++] = nb__var_ref(py[i]);
        }
    }
    L->stmt_end[L->n] = (uint32_t)L->nops;
    L->prim_ref[L->n] = nb__var_ref(r);
    nb_var out = {r.v, (uint32_t)L->n++, L->tag};
    return out;
}

/* The op at level d >= 2, where x and/or y (those with depth d) are owned by level L. */
static nb_var generic(nb_ctx *c, nb_level *L, nb_op op, nb_var x, nb_var y, int n) {
    const uint32_t d = L->depth;
    const int ax = (x.tag & NB_DEPTH_MASK) == d, ay = (y.tag & NB_DEPTH_MASK) == d;
    const nb_var px = ax ? primal_of(L, x) : x, py = ay ? primal_of(L, y) : y;
    const nb_var r = nb_apply(c, op, px, py, n);
    L->ops++;
    if (L->kind == NB_FORWARD) {
        nb_var t = nb_const(0);
        if (ax) {
            nb_var tx = tangent_of(L, x);
            if (!nb__szero(tx)) t = acc(c, t, nb_smul(c, rules[op][0](c, px, py, r, n), tx));
        }
        if (ay) {
            nb_var ty = tangent_of(L, y);
            if (!nb__szero(ty)) t = acc(c, t, nb_smul(c, rules[op][1](c, px, py, r, n), ty));
        }
        if (nb__szero(t)) return r;
        if (L->n >= L->ncap) {
            nb_status s = nb__level_grow(c, L, 1, 0);
            if (s) return nb__fail_var(c, s);
        }
        L->tan[L->n] = t.v;
        L->tan_ref[L->n] = nb__var_ref(t);
        L->prim_ref[L->n] = nb__var_ref(r);
        nb_var out = {r.v, (uint32_t)L->n++, L->tag};
        return out;
    }
    uint32_t idx[2];
    nb_var p[2];
    int k = 0;
    if (ax) {
        nb_var q = rules[op][0](c, px, py, r, n);
        if (keep_partial(c, op, 0, q)) idx[k] = x.idx, p[k++] = q;
    }
    if (ay) {
        nb_var q = rules[op][1](c, px, py, r, n);
        if (keep_partial(c, op, 1, q)) {
            if (k == 1 && idx[0] == y.idx)
                p[0] = acc(c, p[0], q);
            else
                idx[k] = y.idx, p[k++] = q;
        }
    }
    if (k == 0) return r;
    if (L->n >= L->ncap || L->nops + 2 > L->opcap) {
        nb_status s = nb__level_grow(c, L, 1, 2);
        if (s) return nb__fail_var(c, s);
    }
    for (int i = 0; i < k; i++) {
        L->op_idx[L->nops] = idx[i];
        L->op_mul[L->nops] = p[i].v;
        L->op_ref[L->nops++] = nb__var_ref(p[i]);
    }
    L->stmt_end[L->n] = (uint32_t)L->nops;
    L->prim_ref[L->n] = nb__var_ref(r);
    nb_var out = {r.v, (uint32_t)L->n++, L->tag};
    return out;
}

/* ---- dual mode: a reverse level at depth 2 over a forward level at depth 1 ----
 * Partials and primals are dual numbers (value, level-1 tangent): the rules compiled a third
 * time, with nb_dual, instead of as ops on level-1 handles. Same numbers as the generic tier,
 * without a level-1 node per partial. */

nb_var nb__level1_var(nb_ctx *c, double v, double t) { return fwd1(c, &c->lv[1], v, t); }

/* The dual number of an operand of a dual-mode op: (value, tangent of its primal at level 1). */
static nb_dual dual_of(const nb_ctx *c, const nb_level *L, nb_var x) {
    if (x.tag == L->tag) return nb_dual_make(x.v, L->prim_t[x.idx]);
    return nb__dual_low(c, x);
}

/* A dual-mode node with k = 1 or 2 operands; partials that are exactly zero in value and tangent
 * are not recorded (they contribute exactly nothing at either level). Without operands the result
 * lives at level 1 (decided before growing). The recording is the inline dual tier's (nb__drec). */
static int dnonzero(nb_dual p) { return p.v != 0 || p.d != 0; }
NB_HOT_INLINE nb_var rev_dual(nb_ctx *c, nb_level *L, nb_dual r, int k, uint32_t i0, nb_dual p0,
                              uint32_t i1, nb_dual p1) {
    if (k == 1) i1 = 0, p1 = nb_dual_const(0); /* node 0 is never an operand */
    const int keep = i0 == i1 ? dnonzero(nb_dual_make(p0.v + p1.v, p0.d + p1.d))
                              : dnonzero(p0) || dnonzero(p1);
    if (!keep) return nb__level1_var(c, r.v, r.d);
    nb_status s = room_for_one(c, L, 2); /* (nb__drec writes both slots) */
    if (s) return nb__fail_var(c, s);
    L->nodes_lib++; /* (keep: nb__drec makes a node) */
    return nb__drec(c, &L->hot, r, i0, p0, i1, p1);
}

/* The rules on dual numbers are nb__drule_<op>_<k> (nabla/var.h), shared with the inline tier. */
typedef nb_dual (*drule_fn)(nb_dual, nb_dual, nb_dual, int);
static const drule_fn drules[NB_OP_COUNT][2] = {
#define NB_OP1(name_, ...) {nb__drule_##name_##_0, 0},
#define NB_OP2(name_, ...) {nb__drule_##name_##_0, nb__drule_##name_##_1},
#define NB_OPI(name_, ...) {nb__drule_##name_##_0, 0},
#define NB_RED1(name_, ...) {nb__drule_##name_##_0, 0},
#define NB_RED2(name_, ...) {nb__drule_##name_##_0, nb__drule_##name_##_1},
#include "nabla/ops.def"
#undef NB_OP1
#undef NB_OP2
#undef NB_OPI
#undef NB_RED1
#undef NB_RED2
};

/* The dual primal of a reduction by op id. */
static nb_dual dred(nb_op op, size_t n, const nb_dual *x, const nb_dual *y) {
    switch (op) {
#define NB_OP1(...)
#define NB_OP2(...)
#define NB_OPI(...)
#define NB_RED1(name_, ...) \
    case NB_OP_##name_: return nb_dual_##name_(n, x);
#define NB_RED2(name_, ...) \
    case NB_OP_##name_: return nb_dual_##name_(n, x, y);
#include "nabla/ops.def"
#undef NB_OP1
#undef NB_OP2
#undef NB_OPI
#undef NB_RED1
#undef NB_RED2
    default: break;
    }
    return nb_dual_make(NAN, NAN);
}

/* A reduction on a dual-mode level: one statement with dual partials. */
static nb_var reduce_dual(nb_ctx *c, nb_level *L, nb_op op, size_t n, const nb_var *x,
                          const nb_var *y) {
    nb_status s = nb__dscratch_reserve(c, L, y ? 2 * n : n);
    if (s) return nb__fail_var(c, s);
    nb_dual *dx = L->dscratch, *dy = y ? L->dscratch + n : NULL;
    for (size_t i = 0; i < n; i++) {
        dx[i] = dual_of(c, L, x[i]);
        if (y) dy[i] = dual_of(c, L, y[i]);
    }
    const nb_dual r = dred(op, n, dx, dy), zero = nb_dual_const(0);
    L->ops++;
    c->lv[1].ops += 1 + n * (y ? 2 : 1);
    /* the partials go into the scratch in place of the operands they were computed from, and
     * the level grows by the operands kept only (an exact nb_reserve held, a review) */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        nb_dual yi = dy ? dy[i] : zero;
        int ax = x[i].tag == L->tag, ay = y && y[i].tag == L->tag;
        nb_dual p = ax ? drules[op][0](dx[i], yi, r, 0) : zero;
        nb_dual q = ay ? drules[op][1](dx[i], yi, r, 0) : zero;
        if (ay && ax && y[i].idx == x[i].idx) p = nb_dual_make(p.v + q.v, p.d + q.d), q = zero;
        dx[i] = p;
        if (y) dy[i] = q;
        k += (size_t)dnonzero(p) + (size_t)dnonzero(q);
    }
    if (k == 0) return nb__level1_var(c, r.v, r.d);
    if ((s = nb__level_grow(c, L, 1, k))) return nb__fail_var(c, s);
    for (size_t i = 0; i < n; i++) {
        if (dnonzero(dx[i])) {
            L->op_idx[L->nops] = x[i].idx;
            L->op_mul[L->nops] = dx[i].v;
            L->op_mt[L->nops++] = dx[i].d;
        }
        if (y && dnonzero(dy[i])) {
            L->op_idx[L->nops] = y[i].idx;
            L->op_mul[L->nops] = dy[i].v;
            L->op_mt[L->nops++] = dy[i].d;
        }
    }
    L->stmt_end[L->n] = (uint32_t)L->nops;
    L->prim_t[L->n] = r.d;
    L->nodes_lib++;
    nb_var out = {r.v, (uint32_t)L->n++, L->tag};
    return out;
}

/* ---- the public ops: constants fold, depth 1 runs on doubles, deeper levels go generic ---- */

#include "nabla/bits/rule_doubles.h"

#define NB_OP1(name_, lang_, primal_, dX_, ...)                                           \
    nb_var nb__##name_(nb_ctx *c, nb_var x) {                                              \
        if (x.tag == 0) return nb_const(nb_prim_##name_(x.v));                            \
        nb_level *L = nb__owner(c, x);                                                    \
        if (!L) return nb__bad_handle(c, x);                                              \
        if (L->mode == NB_MODE_PLAIN) {                                                   \
            const double X = x.v, R = (primal_);                                          \
            L->ops++;                                                                     \
            if (L->kind == NB_REVERSE)                                                    \
                return L->pattern && zero_rule(NB_OP_##name_, 0)                          \
                           ? nb_const(R)                                                  \
                           : rev1(c, L, R, 1, x.idx, (dX_), 0, 0);                        \
            return fwd1(c, L, R, nb__szmul((dX_), L->tan[x.idx]));                        \
        }                                                                                 \
        if (L->mode == NB_MODE_TAYLOR)                                                    \
            return nb__taylor_op(c, L, NB_OP_##name_, x, nb_const(0), 0);                 \
        if (L->mode == NB_MODE_DUAL) {                                                    \
            const nb_dual dx = dual_of(c, L, x), r = nb_dual_##name_(dx);                 \
            L->ops++;                                                                     \
            c->lv[1].ops += 2;                                                            \
            return rev_dual(c, L, r, 1, x.idx,                                            \
                            nb__drule_##name_##_0(dx, nb_dual_const(0), r, 0), 0, r);         \
        }                                                                                 \
        return generic(c, L, NB_OP_##name_, x, nb_const(0), 0);                           \
    }

nb_var nb__live_nan(nb_ctx *c, nb_var x) {
    return nb__exp(c, nb__add(c, x, nb_const((double)NAN)));
}

/* The value of an op whose integer parameter is out of its range: NaN at every order along a
 * moving x (a NaN constant had a zero derivative, so the first derivative read NaN and the second
 * a finite number where a rule stepped out of range, a review). */

#define NB_OPI(name_, lang_, nmin_, nmax_, primal_, dX_, ...)                             \
    nb_var nb__##name_(nb_ctx *c, nb_var x, int N) {                                       \
        if (N < (nmin_) || N > (nmax_)) return nb__live_nan(c, x);                        \
        if (x.tag == 0) return nb_const(nb_prim_##name_(x.v, N));                         \
        nb_level *L = nb__owner(c, x);                                                    \
        if (!L) return nb__bad_handle(c, x);                                              \
        if (L->mode == NB_MODE_PLAIN) {                                                   \
            const double X = x.v, R = (primal_);                                          \
            L->ops++;                                                                     \
            if (L->kind == NB_REVERSE)                                                    \
                return L->pattern && zero_rule(NB_OP_##name_, 0)                          \
                           ? nb_const(R)                                                  \
                           : rev1(c, L, R, 1, x.idx, (dX_), 0, 0);                        \
            return fwd1(c, L, R, nb__szmul((dX_), L->tan[x.idx]));                        \
        }                                                                                 \
        if (L->mode == NB_MODE_TAYLOR)                                                    \
            return nb__taylor_op(c, L, NB_OP_##name_, x, nb_const(0), N);                 \
        if (L->mode == NB_MODE_DUAL) {                                                    \
            const nb_dual dx = dual_of(c, L, x), r = nb_dual_##name_(dx, N);              \
            L->ops++;                                                                     \
            c->lv[1].ops += 2;                                                            \
            return rev_dual(c, L, r, 1, x.idx,                                            \
                            nb__drule_##name_##_0(dx, nb_dual_const(0), r, N), 0, r);         \
        }                                                                                 \
        return generic(c, L, NB_OP_##name_, x, nb_const(0), N);                           \
    }

#define NB_OP2(name_, lang_, primal_, dX_, dY_, ...)                                      \
    nb_var nb__##name_(nb_ctx *c, nb_var x, nb_var y) {                                    \
        if ((x.tag | y.tag) == 0) return nb_const(nb_prim_##name_(x.v, y.v));             \
        nb_level *Lx = 0, *Ly = 0;                                                        \
        if (x.tag && !(Lx = nb__owner(c, x))) return nb__bad_handle(c, x);                \
        if (y.tag && !(Ly = nb__owner(c, y))) return nb__bad_handle(c, y);                \
        nb_level *L = !Lx ? Ly : !Ly ? Lx : Lx->depth >= Ly->depth ? Lx : Ly;             \
        if (L->mode == NB_MODE_TAYLOR) return nb__taylor_op(c, L, NB_OP_##name_, x, y, 0); \
        if (L->mode == NB_MODE_PLAIN) {                                                   \
            const double X = x.v, Y = y.v, R = (primal_);                                 \
            L->ops++;                                                                     \
            if (L->kind == NB_REVERSE) {                                                  \
                if (Lx && Ly) return rev1(c, L, R, 2, x.idx, (dX_), y.idx, (dY_));        \
                if (Lx) return rev1(c, L, R, 1, x.idx, (dX_), 0, 0);                      \
                return rev1(c, L, R, 1, y.idx, (dY_), 0, 0);                              \
            }                                                                             \
            return fwd1(c, L, R,                                                          \
                        (Lx ? nb__szmul((dX_), L->tan[x.idx]) : 0.0) +                    \
                            (Ly ? nb__szmul((dY_), L->tan[y.idx]) : 0.0));                \
        }                                                                                 \
        if (L->mode == NB_MODE_DUAL) {                                                    \
            const nb_dual dx = dual_of(c, L, x), dy = dual_of(c, L, y);                   \
            const nb_dual r = nb_dual_##name_(dx, dy);                                    \
            const int ax = x.tag == L->tag, ay = y.tag == L->tag;                         \
            L->ops++;                                                                     \
            c->lv[1].ops += 1u + (unsigned)ax + (unsigned)ay;                             \
            if (ax && ay)                                                                 \
                return rev_dual(c, L, r, 2, x.idx, nb__drule_##name_##_0(dx, dy, r, 0), y.idx,\
                                nb__drule_##name_##_1(dx, dy, r, 0));                         \
            if (ax) return rev_dual(c, L, r, 1, x.idx, nb__drule_##name_##_0(dx, dy, r, 0), 0, r); \
            return rev_dual(c, L, r, 1, y.idx, nb__drule_##name_##_1(dx, dy, r, 0), 0, r);    \
        }                                                                                 \
        return generic(c, L, NB_OP_##name_, x, y, 0);                                     \
    }

/* The operands element i of a depth-1 reverse reduction keeps, each passed to KEEP_(node,
 * partial), FLAG_ set when the element is a handle of the level; an element the general path
 * must take jumps there. The pass that makes room and the pass that records run this same
 * code, so the room made is what is recorded (an exact nb_reserve holds). */
#define NB_RED_KEPT_(dX_, dY_, Y_EXPR_, FLAG_, KEEP_)                                     \
    const double X = x[i].v, Y = (Y_EXPR_);                                               \
    (void)X, (void)Y;                                                                     \
    int ax = x[i].tag == tag, ay = y && y[i].tag == tag;                                  \
    if ((ax && (size_t)x[i].idx - 1 >= limit) || (!ax && x[i].tag) ||                     \
        (ay && (size_t)y[i].idx - 1 >= limit) || (y && !ay && y[i].tag))                  \
        goto general;                                                                     \
    FLAG_ |= ax | ay;                                                                     \
    double p = ax ? (dX_) : 0;                                                            \
    if (ay && ax && y[i].idx == x[i].idx) p += (dY_), ay = 0;                             \
    if (p != 0 || (ax && L->pattern)) KEEP_(x[i].idx, p);                                 \
    if (ay && ((p = (dY_)) != 0 || L->pattern)) KEEP_(y[i].idx, p);
#define NB_RED_COUNT_(j_, p_) k++
#define NB_RED_STORE_(j_, p_) (idx[o] = (j_), mul[o++] = (p_))

/* Reductions at depth 1: the partial of each element in the double algebra, recorded as one
 * statement (reverse) or summed into one tangent (forward). */
#define NB_RED_BODY_(name_, primal_, dX_, dY_, Y_EXPR_)                                   \
    if (n && !x) return nb__fail_var(c, NB_E_ARG);                                        \
    const double R = primal_(n, x, sizeof *x, y ? (const void *)y : (const void *)x,      \
                             sizeof *x);                                                  \
    (void)R;                                                                              \
    nb_level *L = &c->lv[1];                                                              \
    if (c->depth >= 1 && L->mode == NB_MODE_PLAIN) {                                      \
        /* Every element a constant or a live handle of level 1 (the usual case): one pass \
         * validates and records; anything else rolls back and takes the general path. */ \
        const uint32_t tag = L->tag;                                                      \
        const size_t limit = L->n - 1; /* valid indices: 1 .. n-1 */                      \
        int any = 0;                                                                      \
        if (L->kind == NB_FORWARD) {                                                      \
            double t = 0;                                                                 \
            for (size_t i = 0; i < n; i++) {                                              \
                const double X = x[i].v, Y = (Y_EXPR_);                                   \
                (void)X, (void)Y;                                                         \
                if (x[i].tag == tag) {                                                    \
                    if ((size_t)x[i].idx - 1 >= limit) goto general;                      \
                    t += nb__szmul((dX_), L->tan[x[i].idx]), any = 1;                     \
                } else if (x[i].tag) {                                                    \
                    goto general;                                                         \
                }                                                                         \
                if (!y) continue;                                                         \
                if (y[i].tag == tag) {                                                    \
                    if ((size_t)y[i].idx - 1 >= limit) goto general;                      \
                    t += nb__szmul((dY_), L->tan[y[i].idx]), any = 1;                     \
                } else if (y[i].tag) {                                                    \
                    goto general;                                                         \
                }                                                                         \
            }                                                                             \
            if (!any) return nb_const(R);                                                 \
            L->ops++;                                                                     \
            return fwd1(c, L, R, t);                                                      \
        }                                                                                 \
        if (L->kind == NB_REVERSE) {                                                      \
            if (L->n + 1 > L->ncap || L->opcap - L->nops < (y ? 2 * n : n)) {             \
                /* room for the operands the loop below keeps, no more: over constants     \
                 * nothing is recorded, and the tape must not grow (or fail, under a cap: a \
                 * review), nor for dot(x, x)'s second operand or a zero partial (an exact  \
                 * nb_reserve failed under a cap at it, a second review); an element the  \
                 * loop below would send to the general path sends it there before growing \
                 * (a stale handle's sum grew the tape and was NB_E_NOMEM, not NB_E_STALE) */ \
                int m = 0;                                                                \
                size_t k = 0;                                                             \
                for (size_t i = 0; i < n; i++) {                                          \
                    NB_RED_KEPT_(dX_, dY_, Y_EXPR_, m, NB_RED_COUNT_)                     \
                }                                                                         \
                if (!m) goto general;                                                     \
                nb_status s = k ? nb__level_grow(c, L, 1, k) : NB_OK;                     \
                if (s) return nb__fail_var(c, s);                                         \
            }                                                                             \
            uint32_t *idx = L->op_idx;                                                    \
            double *mul = L->op_mul;                                                      \
            size_t o = L->nops;                                                           \
            for (size_t i = 0; i < n; i++) { /* nothing is committed before the end */    \
                NB_RED_KEPT_(dX_, dY_, Y_EXPR_, any, NB_RED_STORE_)                       \
            }                                                                             \
            if (!any) return nb_const(R);                                                 \
            L->ops++;                                                                     \
            if (o == L->nops) return nb_const(R);                                         \
            L->nops = o;                                                                  \
            L->stmt_end[L->n] = (uint32_t)o;                                              \
            nb_var out = {R, (uint32_t)L->n++, tag};                                      \
            L->nodes_lib++;                                                               \
            nb__hot_limits(L); /* more than two operands: the inline ops' limit moves */  \
            return out;                                                                   \
        }                                                                                 \
    }                                                                                     \
general:;                                                                                 \
    int d = elements_depth(c, n, x), dy = !y ? 0 : y == x ? d : elements_depth(c, n, y); \
    if (d < 0 || dy < 0) return nb_const((double)NAN);                                    \
    if (dy > d) d = dy;                                                                   \
    if (d == 0) return nb_const(R);                                                       \
    L = &c->lv[d];                                                                        \
    if (L->mode == NB_MODE_TAYLOR) return nb__taylor_reduce(c, L, NB_OP_##name_, n, x, y); \
    if (L->mode == NB_MODE_DUAL) return reduce_dual(c, L, NB_OP_##name_, n, x, y);         \
    /* depth 1 was handled above unless a handle was invalid, which elements_depth caught */ \
    if (d < 2) return nb__fail_var(c, NB_E_ARG);                                          \
    return reduce_generic(c, L, NB_OP_##name_, n, x, y);

#define NB_RED1(name_, lang_, primal_, dX_, ...)                                          \
    nb_var nb_##name_(nb_ctx *c, size_t n, const nb_var *x) {                             \
        const nb_var *y = NULL;                                                           \
        NB_RED_BODY_(name_, primal_, dX_, 0.0, 0.0)                                       \
    }
#define NB_RED2(name_, lang_, primal_, dX_, dY_, ...)                                     \
    nb_var nb_##name_(nb_ctx *c, size_t n, const nb_var *x, const nb_var *y) {            \
        if (n && !y) return nb__fail_var(c, NB_E_ARG);                                    \
        NB_RED_BODY_(name_, primal_, dX_, dY_, y[i].v)                                    \
    }

#include "nabla/ops.def"
#undef NB_OP1
#undef NB_OP2
#undef NB_OPI
#undef NB_RED1
#undef NB_RED2
#undef NB_RED_BODY_
#undef NB_RED_KEPT_
#undef NB_RED_COUNT_
#undef NB_RED_STORE_
#include "nabla/bits/rule_words_end.h"

static nb_var reduce_by_id(nb_ctx *c, nb_op op, size_t n, const nb_var *x, const nb_var *y) {
    switch (op) {
#define NB_OP1(...)
#define NB_OP2(...)
#define NB_OPI(...)
#define NB_RED1(name_, ...) \
    case NB_OP_##name_: return nb_##name_(c, n, x);
#define NB_RED2(name_, ...) \
    case NB_OP_##name_: return nb_##name_(c, n, x, y);
#include "nabla/ops.def"
#undef NB_OP1
#undef NB_OP2
#undef NB_OPI
#undef NB_RED1
#undef NB_RED2
    default: break;
    }
    return nb__fail_var(c, NB_E_ARG);
}

/* ---- custom ops (nabla/custom.h) ----
 * Bound like a registry op to the deepest level owning an operand. The value is computed at the
 * levels below (recursively, down to doubles), the user's rule runs there on the operands'
 * primals, and the partials it returns are recorded as a registry op's are. Taylor levels:
 * src/taylor.c (nb__taylor_custom).
 *
 * Two things guard the user's callbacks. The level stack is compared after each step that ran one
 * (the depth and the top level's tag: a level below the top cannot be replaced without replacing
 * the top); a change is NB_E_LEVEL and the op stops there. And while a rule runs at the levels
 * below, the op's value at the operands it was given is remembered in the context (a chain of
 * frames on the C stack): a rule that calls its own op on them gets that value back instead of
 * recomputing it, which at depth d would be 2^d calls. */

/* Up to this many operands the scratch of one call is on the stack; more come from the hook. */
#define CUSTOM_SMALL 8

typedef struct custom_buf {
    nb_var *px, *p; /* k handles each: the operands at the levels below, the partials */
    double *xv;     /* k doubles: the operands' values */
    size_t bytes;   /* allocated through the context's hook (0: the small arrays) */
    nb_var small_v[2 * CUSTOM_SMALL];
    double small_d[CUSTOM_SMALL];
} custom_buf;

static nb_status custom_buf_get(nb_ctx *c, custom_buf *b, size_t k) {
    b->bytes = 0;
    if (k <= CUSTOM_SMALL) {
        b->px = b->small_v, b->p = b->small_v + k, b->xv = b->small_d;
        return NB_OK;
    }
    b->bytes = k * (2 * sizeof(nb_var) + sizeof(double));
    nb_var *m = c->alloc(c->alloc_ud, NULL, 0, b->bytes);
    if (!m) return NB_E_NOMEM;
    b->px = m, b->p = m + k, b->xv = (double *)(void *)(m + 2 * k);
    return NB_OK;
}

static void custom_buf_put(nb_ctx *c, custom_buf *b) {
    if (b->bytes) c->alloc(c->alloc_ud, b->px, b->bytes, 0);
}

int nb__custom_ok(nb_ctx *c, const nb__custom_call *cc) {
    if (c->depth == cc->d0 && c->lv[c->depth].tag == cc->top_tag)
        return !c->err || cc->err0; /* a new error (possibly a nested op's NB_E_LEVEL) stops it */
    nb__fail(c, NB_E_LEVEL);
    if (c->depth > cc->d0 && c->lv[cc->d0].tag == cc->top_tag)
        while (c->depth > cc->d0) nb_pop(c); /* levels the rule left pushed */
    return 0;
}

nb_status nb__custom_partials(nb_ctx *c, const nb__custom_call *cc, const nb_var *px, nb_var *p,
                              uint32_t max_depth, const nb_var *r) {
    const size_t k = cc->k;
    for (size_t i = 0; i < k; i++) p[i] = nb_const((double)NAN);
    nb__custom_frame frame = {cc->op, cc->env,   k,     px, r ? *r : nb_const(0),
                              max_depth, cc->d0, c->custom_memo};
    if (r) c->custom_memo = &frame;
    nb_status s = cc->op->rule(c, px, k, p, cc->env);
    if (r) c->custom_memo = frame.prev;
    const int ok = nb__custom_ok(c, cc); /* first: it pops what the rule left pushed */
    if (s) return s;
    if (!ok) return c->err;
    for (size_t i = 0; i < k; i++) {
        if (p[i].tag == 0) continue;
        const nb_level *O = nb__owner(c, p[i]);
        if (!O) {
            nb__bad_handle(c, p[i]);
            return c->err ? c->err : NB_E_ARG;
        }
        if (O->depth > max_depth) return NB_E_ARG;
    }
    return NB_OK;
}

/* 1 when an operand is a handle of a level that a running rule must not use: above the levels
 * its partials may be of, at or below the level its op was applied at (a handle the rule
 * captured). Applying an op to it from the rule ran that rule again, and again: a stack overflow
 * (a review). */
static int captured(nb_ctx *c, size_t k, const nb_var *x) {
    for (const nb__custom_frame *f = c->custom_memo; f; f = f->prev)
        for (size_t i = 0; i < k; i++) {
            if (x[i].tag == 0) continue;
            const nb_level *O = nb__owner(c, x[i]);
            if (O && O->depth > f->max_depth && O->depth <= f->d0) return 1;
        }
    return 0;
}

/* The value the rule of an enclosing call of the same op, env and operands already has, or NULL. */
static const nb_var *custom_memo(const nb_ctx *c, const nb__custom_call *cc, const nb_var *x) {
    for (const nb__custom_frame *f = c->custom_memo; f; f = f->prev)
        if (f->op == cc->op && f->env == cc->env && f->k == cc->k &&
            memcmp(f->px, x, cc->k * sizeof *x) == 0)
            return &f->r;
    return NULL;
}

/* The custom op at level L (depth 1, plain): the value and rule on doubles. */
static nb_var custom_plain(nb_ctx *c, nb_level *L, const nb__custom_call *cc, const nb_var *x,
                           custom_buf *b) {
    const size_t k = cc->k;
    for (size_t i = 0; i < k; i++) b->xv[i] = x[i].v, b->px[i] = nb_const(x[i].v);
    const nb_var r = nb_const(cc->op->value(b->xv, k, cc->env));
    nb_status s = nb__custom_partials(c, cc, b->px, b->p, 0, &r);
    if (s) return nb__fail_var(c, s);
    L->ops++;
    if (L->kind == NB_FORWARD) {
        double t = 0;
        for (size_t i = 0; i < k; i++)
            if (x[i].tag == L->tag) t += nb__szmul(b->p[i].v, L->tan[x[i].idx]);
        return fwd1(c, L, r.v, t);
    }
    /* room for the operands kept, no more (an exact nb_reserve held, a review) */
    size_t kept = 0;
    for (size_t i = 0; i < k; i++)
        kept += (size_t)(x[i].tag == L->tag && (b->p[i].v != 0 || L->pattern));
    if (kept == 0) return r;
    if ((s = nb__level_grow(c, L, 1, kept))) return nb__fail_var(c, s);
    size_t o = L->nops;
    for (size_t i = 0; i < k; i++) {
        if (x[i].tag != L->tag || (b->p[i].v == 0 && !L->pattern)) continue;
        L->op_idx[o] = x[i].idx;
        L->op_mul[o++] = b->p[i].v;
    }
    if (o == L->nops) return r;
    L->nops = o;
    L->stmt_end[L->n] = (uint32_t)o;
    nb_var out = {r.v, (uint32_t)L->n++, L->tag};
    L->nodes_lib++;
    nb__hot_limits(L); /* more than two operands: the inline ops' limit moves */
    return out;
}

/* The custom op at a dual-mode level: the primals as level-1 handles, the rule at level 1. */
static nb_var custom_dual(nb_ctx *c, nb_level *L, const nb__custom_call *cc, const nb_var *x,
                          custom_buf *b) {
    const size_t k = cc->k;
    for (size_t i = 0; i < k; i++)
        b->px[i] = x[i].tag == L->tag ? nb__level1_var(c, x[i].v, L->prim_t[x[i].idx]) : x[i];
    const nb_var r = nb_custom(c, cc->op, b->px, k, cc->env);
    if (!nb__custom_ok(c, cc)) return nb_const((double)NAN);
    nb_status s = nb__custom_partials(c, cc, b->px, b->p, 1, &r);
    if (s) return nb__fail_var(c, s);
    L->ops++;
    size_t kept = 0; /* room for the operands kept, no more (as custom_plain) */
    for (size_t i = 0; i < k; i++)
        kept += (size_t)(x[i].tag == L->tag && dnonzero(nb__dual_low(c, b->p[i])));
    if (kept == 0) return r;
    if ((s = nb__level_grow(c, L, 1, kept))) return nb__fail_var(c, s);
    size_t o = L->nops;
    for (size_t i = 0; i < k; i++) {
        if (x[i].tag != L->tag) continue;
        const nb_dual q = nb__dual_low(c, b->p[i]);
        if (!dnonzero(q)) continue;
        L->op_idx[o] = x[i].idx;
        L->op_mul[o] = q.v;
        L->op_mt[o++] = q.d;
    }
    if (o == L->nops) return r;
    L->nops = o;
    L->stmt_end[L->n] = (uint32_t)o;
    L->prim_t[L->n] = nb__dual_low(c, r).d;
    L->nodes_lib++;
    nb_var out = {r.v, (uint32_t)L->n++, L->tag};
    return out;
}

/* The custom op at a generic level (depth >= 2): the rule at the levels below. */
static nb_var custom_generic(nb_ctx *c, nb_level *L, const nb__custom_call *cc, const nb_var *x,
                             custom_buf *b) {
    const size_t k = cc->k;
    for (size_t i = 0; i < k; i++) b->px[i] = x[i].tag == L->tag ? primal_of(L, x[i]) : x[i];
    const nb_var r = nb_custom(c, cc->op, b->px, k, cc->env);
    if (!nb__custom_ok(c, cc)) return nb_const((double)NAN);
    nb_status s = nb__custom_partials(c, cc, b->px, b->p, L->depth - 1, &r);
    if (s) return nb__fail_var(c, s);
    L->ops++;
    if (L->kind == NB_FORWARD) {
        nb_var t = nb_const(0);
        for (size_t i = 0; i < k; i++) {
            if (x[i].tag != L->tag || nb__szero(b->p[i])) continue;
            const nb_var tx = tangent_of(L, x[i]);
            if (!nb__szero(tx)) t = acc(c, t, nb_smul(c, b->p[i], tx));
        }
        if (nb__szero(t)) return r;
        if ((s = nb__level_grow(c, L, 1, 0))) return nb__fail_var(c, s);
        L->tan[L->n] = t.v;
        L->tan_ref[L->n] = nb__var_ref(t);
        L->prim_ref[L->n] = nb__var_ref(r);
        nb_var out = {r.v, (uint32_t)L->n++, L->tag};
        return out;
    }
    size_t kept = 0; /* room for the operands kept, no more (as custom_plain) */
    for (size_t i = 0; i < k; i++)
        kept += (size_t)(x[i].tag == L->tag && (!nb__szero(b->p[i]) || c->lv[1].pattern));
    if (kept == 0) return r;
    if ((s = nb__level_grow(c, L, 1, kept))) return nb__fail_var(c, s);
    size_t o = L->nops;
    for (size_t i = 0; i < k; i++) {
        if (x[i].tag != L->tag || (nb__szero(b->p[i]) && !c->lv[1].pattern)) continue;
        L->op_idx[o] = x[i].idx;
        L->op_mul[o] = b->p[i].v;
        L->op_ref[o++] = nb__var_ref(b->p[i]);
    }
    if (o == L->nops) return r;
    L->nops = o;
    L->stmt_end[L->n] = (uint32_t)o;
    L->prim_ref[L->n] = nb__var_ref(r);
    nb_var out = {r.v, (uint32_t)L->n++, L->tag};
    return out;
}

nb_var nb_custom(nb_ctx *c, const nb_custom_op *op, const nb_var *x, size_t k, void *env) {
    if (!c) return nb_const((double)NAN);
    if (!op || !op->value || !x || k == 0 || k > NB_CUSTOM_MAX_ARGS)
        return nb__fail_var(c, NB_E_ARG);
    const int d = elements_depth(c, k, x);
    if (d < 0) return nb_const((double)NAN);
    const nb__custom_call cc = {op, env, k, c->depth, c->lv[c->depth].tag, c->err};
    const nb_var *memo = custom_memo(c, &cc, x);
    if (memo) return *memo; /* a rule of this op asking for the value it was given */
    if (captured(c, k, x)) return nb__fail_var(c, NB_E_ARG);
    nb_level *L = d ? &c->lv[d] : NULL;
    /* a Taylor level asks for the rule only above order 0 (its own check) */
    if (L && !op->rule && L->mode != NB_MODE_TAYLOR) return nb__fail_var(c, NB_E_NODIFF);
    custom_buf b;
    nb_status s = custom_buf_get(c, &b, k);
    if (s) return nb__fail_var(c, s);
    nb_var r;
    if (!L) {
        for (size_t i = 0; i < k; i++) b.xv[i] = x[i].v;
        r = nb_const(op->value(b.xv, k, env));
    } else if (L->mode == NB_MODE_PLAIN) {
        r = custom_plain(c, L, &cc, x, &b);
    } else if (L->mode == NB_MODE_DUAL) {
        r = custom_dual(c, L, &cc, x, &b);
    } else if (L->mode == NB_MODE_TAYLOR) {
        r = nb__taylor_custom(c, L, &cc, x, b.px, b.p);
    } else {
        r = custom_generic(c, L, &cc, x, &b);
    }
    custom_buf_put(c, &b);
    return r;
}

nb_var nb_apply(nb_ctx *c, nb_op op, nb_var x, nb_var y, int n) {
    switch (op) {
#define NB_OP1(name_, ...) \
    case NB_OP_##name_: return nb_##name_(c, x);
#define NB_OP2(name_, ...) \
    case NB_OP_##name_: return nb_##name_(c, x, y);
#define NB_OPI(name_, ...) \
    case NB_OP_##name_: return nb_##name_(c, x, n);
#define NB_RED1(name_, ...) case NB_OP_##name_:
#define NB_RED2(name_, ...) case NB_OP_##name_:
#include "nabla/ops.def"
#undef NB_OP1
#undef NB_OP2
#undef NB_OPI
#undef NB_RED1
#undef NB_RED2
    case NB_OP_COUNT: break;
    }
    return nb__fail_var(c, NB_E_ARG);
}
