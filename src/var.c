/* var.c - the ops on handles, expanded from the registry.
 *
 * Each op binds to the deepest level owning one of its operands. At depth 1 every partial is a
 * plain double (the fast tier): the registry's rule compiled with doubles feeds a tangent or an
 * Adept-style tape entry. At depth >= 2 the rule compiled with handles runs at the levels below
 * (the generic tier), so the derivative is itself differentiable. */
#include <math.h>

#include "internal.h"

/* ---- depth 1: plain double partials ---- */

/* A forward node with tangent t (a constant result when t is 0: at depth 1 a zero tangent may
 * be dropped). */
NB_HOT_INLINE nb_var fwd1(nb_ctx *c, nb_level *L, double r, double t) {
    if (t == 0) return nb_const(r);
    if (L->n >= L->ncap) {
        nb_status s = nb__level_grow(c, L, 1, 0);
        if (s) return nb__fail_var(c, s);
    }
    L->tan[L->n] = t;
    nb_var y = {r, (uint32_t)L->n++, L->tag};
    return y;
}

/* A reverse node with up to two operands; zero partials are not recorded, and a node without
 * operands is a constant. Equal operands (x * x) are merged into one. */
NB_HOT_INLINE nb_var rev1(nb_ctx *c, nb_level *L, double r, int k, uint32_t i0, double p0, uint32_t i1,
                   double p1) {
    if (k == 2 && i0 == i1) {
        p0 += p1;
        k = 1;
    }
    if (k == 2 && p1 == 0) k = 1;
    if (p0 == 0) {
        if (k == 1) return nb_const(r);
        i0 = i1;
        p0 = p1;
        k = 1;
    }
    if (L->n >= L->ncap || L->nops + 2 > L->opcap) {
        nb_status s = nb__level_grow(c, L, 1, 2);
        if (s) return nb__fail_var(c, s);
    }
    size_t o = L->nops;
    L->op_idx[o] = i0;
    L->op_mul[o] = p0;
    if (k == 2) {
        L->op_idx[o + 1] = i1;
        L->op_mul[o + 1] = p1;
    }
    L->nops = o + (size_t)k;
    L->stmt_end[L->n] = (uint32_t)L->nops;
    nb_var y = {r, (uint32_t)L->n++, L->tag};
    return y;
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
#include "nabla/ops.def"
#undef NB_OP1
#undef NB_OP2
#undef NB_OPI
#undef NB_RULE_
#include "nabla/bits/rule_words_end.h"

typedef nb_var (*rule_fn)(nb_ctx *, nb_var, nb_var, nb_var, int);
static const rule_fn rules[NB_OP_COUNT][2] = {
#define NB_OP1(name_, ...) {rule_##name_##_0, 0},
#define NB_OP2(name_, ...) {rule_##name_##_0, rule_##name_##_1},
#define NB_OPI(name_, ...) {rule_##name_##_0, 0},
#include "nabla/ops.def"
#undef NB_OP1
#undef NB_OP2
#undef NB_OPI
};

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
        if (!nb__szero(q)) idx[k] = x.idx, p[k++] = q;
    }
    if (ay) {
        nb_var q = rules[op][1](c, px, py, r, n);
        if (!nb__szero(q)) {
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

/* ---- the public ops: constants fold, depth 1 runs on doubles, deeper levels go generic ---- */

#include "nabla/bits/rule_words.h"
#define NB_R1(op_, a_) nb_prim_##op_(a_)
#define NB_R2(op_, a_, b_) nb_prim_##op_(a_, b_)
#define NB_RI(op_, a_, n_) nb_prim_##op_(a_, n_)
#define K(v_) ((double)(v_))
#define V(a_) (a_)

#define NB_OP1(name_, lang_, primal_, dX_, ...)                                           \
    nb_var nb_##name_(nb_ctx *c, nb_var x) {                                              \
        if (x.tag == 0) return nb_const(nb_prim_##name_(x.v));                            \
        nb_level *L = nb__owner(c, x);                                                    \
        if (!L) return nb__bad_handle(c, x);                                              \
        if (L->depth == 1) {                                                              \
            const double X = x.v, R = (primal_);                                          \
            L->ops++;                                                                     \
            if (L->kind == NB_REVERSE) return rev1(c, L, R, 1, x.idx, (dX_), 0, 0);       \
            return fwd1(c, L, R, nb__szmul((dX_), L->tan[x.idx]));                        \
        }                                                                                 \
        return generic(c, L, NB_OP_##name_, x, nb_const(0), 0);                           \
    }

#define NB_OPI(name_, lang_, nmin_, nmax_, primal_, dX_, ...)                             \
    nb_var nb_##name_(nb_ctx *c, nb_var x, int N) {                                       \
        if (N < (nmin_) || N > (nmax_)) return nb_const((double)NAN);                     \
        if (x.tag == 0) return nb_const(nb_prim_##name_(x.v, N));                         \
        nb_level *L = nb__owner(c, x);                                                    \
        if (!L) return nb__bad_handle(c, x);                                              \
        if (L->depth == 1) {                                                              \
            const double X = x.v, R = (primal_);                                          \
            L->ops++;                                                                     \
            if (L->kind == NB_REVERSE) return rev1(c, L, R, 1, x.idx, (dX_), 0, 0);       \
            return fwd1(c, L, R, nb__szmul((dX_), L->tan[x.idx]));                        \
        }                                                                                 \
        return generic(c, L, NB_OP_##name_, x, nb_const(0), N);                           \
    }

#define NB_OP2(name_, lang_, primal_, dX_, dY_, ...)                                      \
    nb_var nb_##name_(nb_ctx *c, nb_var x, nb_var y) {                                    \
        if ((x.tag | y.tag) == 0) return nb_const(nb_prim_##name_(x.v, y.v));             \
        nb_level *Lx = 0, *Ly = 0;                                                        \
        if (x.tag && !(Lx = nb__owner(c, x))) return nb__bad_handle(c, x);                \
        if (y.tag && !(Ly = nb__owner(c, y))) return nb__bad_handle(c, y);                \
        nb_level *L = !Lx ? Ly : !Ly ? Lx : Lx->depth >= Ly->depth ? Lx : Ly;             \
        if (L->depth == 1) {                                                              \
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
        return generic(c, L, NB_OP_##name_, x, y, 0);                                     \
    }

#include "nabla/ops.def"
#undef NB_OP1
#undef NB_OP2
#undef NB_OPI
#include "nabla/bits/rule_words_end.h"

nb_var nb_apply(nb_ctx *c, nb_op op, nb_var x, nb_var y, int n) {
    switch (op) {
#define NB_OP1(name_, ...) \
    case NB_OP_##name_: return nb_##name_(c, x);
#define NB_OP2(name_, ...) \
    case NB_OP_##name_: return nb_##name_(c, x, y);
#define NB_OPI(name_, ...) \
    case NB_OP_##name_: return nb_##name_(c, x, n);
#include "nabla/ops.def"
#undef NB_OP1
#undef NB_OP2
#undef NB_OPI
    case NB_OP_COUNT: break;
    }
    return nb__fail_var(c, NB_E_ARG);
}
