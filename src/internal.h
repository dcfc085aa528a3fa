/* internal.h - private structures of contexts and levels, shared by the library's sources and
 * never installed. */
#ifndef NABLA_INTERNAL_H
#define NABLA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "nabla/ctx.h"
#include "nabla/custom.h"
#include "nabla/dual.h"
#include "nabla/var.h"

/* Forces inlining of the depth-1 recording helpers into every op (GCC and Clang); the ops are
 * the hot path of reverse mode. */
#if defined(__GNUC__)
#define NB_HOT_INLINE static inline __attribute__((always_inline))
#else
#define NB_HOT_INLINE static inline
#endif

#define NB_DEPTH_BITS 5u
#define NB_DEPTH_MASK 31u
#define NB_GEN_MASK 0x7ffffffu /* 27 bits */

/* A reference to a handle of a lower level: its index and tag (its value is stored beside). */
typedef struct nb_ref {
    uint32_t idx;
    uint32_t tag;
} nb_ref;

/* How a level stores derivatives:
 *   NB_MODE_PLAIN    depth 1: partials, tangents and adjoints are plain doubles
 *   NB_MODE_DUAL     a reverse level at depth 2 over a forward level at depth 1 (forward over
 *                    reverse: Hessian-vector products): partials, primals and adjoints are dual
 *                    numbers (value, tangent at level 1) stored as pairs of doubles, and the rules
 *                    run on nb_dual instead of on level-1 handles
 *   NB_MODE_GENERIC  anything deeper: they are handles of the levels below
 *   NB_MODE_TAYLOR   a Taylor level (any depth): each node holds K+1 coefficients, handles of the
 *                    levels below (constants at depth 1) */
typedef enum nb_mode { NB_MODE_PLAIN, NB_MODE_DUAL, NB_MODE_GENERIC, NB_MODE_TAYLOR } nb_mode;

/* Borrowed arrays of a reverse or forward level 1 (nabla/array.h): each array; each reduction over arrays
 * (a node with no operands, whose partials the backward pass computes from x); each element
 * handle (a leaf node whose adjoint goes to dx[i]). */
typedef struct nb__arr {
    const double *x;
    double *dx;      /* reverse */
    const double *t; /* forward */
    size_t n;
} nb__arr;
typedef struct nb__arr_stmt {
    uint32_t node;
    uint32_t op; /* an nb_op reduction */
    uint32_t a, b;
    double r; /* the primal */
} nb__arr_stmt;
typedef struct nb__arr_elem {
    uint32_t node;
    uint32_t arr;
    size_t i;
} nb__arr_elem;

typedef struct nb_level {
    /* kind, tag, n, ncap, nops, opcap, ops, tan, stmt_end, op_idx, op_mul, dual, prim_t, op_mt,
     * top, leaves, adj_n, adj (nabla/ctx.h): the fields the inline ops use, also readable as one
     * nb__hot */
    union {
        nb__hot hot;
        struct {
            NB__HOT_MEMBERS
        };
    };
    nb_mode mode;
    uint32_t depth;
    size_t nodes_lib; /* plain and dual levels: nodes made other than by the inline ops, leaves
                         and the sentinel aside (nb__level_ops) */
    int driven; /* 1 from a driver's push of this level (nb__driver_own) to the next push here:
                   a level that f popped and replaced by its own is caught (NB_E_LEVEL) */
    int pattern; /* a reverse level 1 that records every operand, zero partials included, for
                    sparsity patterns (src/sparse.c): its tape is the dependence graph, never
                    swept (NB_E_LEVEL), and the inline ops do not record on it (c->hot1 points at
                    c->hot_off while it is pushed) */

    int order;         /* Taylor: K */
    int trunc;         /* Taylor: coefficients computed are 0 .. trunc (K, lowered while a rule is
                          evaluated as a series of one order less) */
    nb_var *coef;      /* Taylor: node i's coefficients at coef[i*(K+1) .. i*(K+1)+K] */
    unsigned long long jitter; /* Taylor: 0, or the state of the pseudo-random +-1 ulp moves of
                                  each op's value (the rounding estimate's second pass, taylor.c) */
    size_t cap_coef;

    /* Nodes (n, ncap, tan, stmt_end above). Node 0 is a sentinel (stmt_end[0] = 0), real nodes
     * start at 1. */
    nb_ref *tan_ref;   /* forward, depth >= 2: the tangent handle */
    nb_ref *prim_ref;  /* generic: the primal handle (a lower-level node) */

    /* Operands (reverse; nops, opcap, op_idx, op_mul above). */
    nb_ref *op_ref;   /* generic: the partial handle */

    /* Adjoints (reverse; adj_n, adj above): entries [0, adj_n) are valid, the rest is garbage
     * until zeroed. */
    nb_ref *adj_ref; /* generic */
    double *adj_t;   /* dual: the adjoint's tangent at level 1 */

    /* Capacities of each array, in elements (arrays of a group may differ after a failed
     * growth; ncap/opcap are the usable minimum). */
    size_t cap_tan, cap_tan_ref, cap_prim_ref, cap_prim_t, cap_stmt_end;
    size_t cap_op_idx, cap_op_mul, cap_op_ref, cap_op_mt;
    size_t cap_adj, cap_adj_ref, cap_adj_t;

    /* Scratch for drivers (handles of this level's inputs and outputs) and for reductions at
     * depth >= 2 (the primal handles of their elements). */
    nb_var *inputs;
    size_t cap_inputs;
    nb_var *outputs;
    size_t cap_outputs;
    nb_var *scratch;
    size_t cap_scratch;
    nb_dual *dscratch; /* dual-mode reductions */
    size_t cap_dscratch;

    /* Borrowed arrays (nabla/array.h; reverse level 1 only), emptied with the level. */
    nb__arr *arr;
    size_t narr, cap_arr;
    nb__arr_stmt *astmt;
    size_t nastmt, cap_astmt;
    nb__arr_elem *aelem;
    size_t naelem, cap_aelem;
} nb_level;

/* While a custom op's rule runs at the levels below: the op, env, operands and value it was
 * given (src/var.c), so that the rule calling the op on them gets the value back. */
typedef struct nb__custom_frame {
    const nb_custom_op *op;
    void *env;
    size_t k;
    const nb_var *px;
    nb_var r;
    /* the rule's partials may be of levels up to max_depth; the levels above it, up to the
     * depth d0 the op was applied at, are the op's own: a handle of one of them in the rule is
     * a captured handle (levels the rule pushes itself lie above d0) */
    uint32_t max_depth;
    size_t d0;
    const struct nb__custom_frame *prev;
} nb__custom_frame;

/* One application of a custom op: what it was called with, and the level stack it found (depth
 * and the top level's tag) and the context's error, to compare after the user's callbacks. */
typedef struct nb__custom_call {
    const nb_custom_op *op;
    void *env;
    size_t k;
    size_t d0;
    uint32_t top_tag;
    nb_status err0;
} nb__custom_call;

struct nb_ctx {
    nb__hot *hot1, *hot2; /* &lv[1].hot, &lv[2].hot; first, for the inline ops (nabla/ctx.h) */
    nb_alloc_fn alloc;
    void *alloc_ud;
    size_t max_bytes; /* SIZE_MAX when uncapped */
    size_t bytes;     /* bytes held for levels */
    nb_grad_mode grad_mode;
    nb_status err;
    uint32_t depth;
    uint32_t gen_first, gen_next; /* generations issued: [gen_first, gen_next) mod 2^27 */
    int gen_wrapped;              /* 1 once all 2^27 generations were issued */
    unsigned long long ops_done[NB_MAX_DEPTH + 1]; /* ops of popped levels, per depth */
    const nb__custom_frame *custom_memo;           /* innermost custom rule running (var.c) */
    unsigned long long taylor_jitter; /* while nb_taylor_derivatives_err's second pass runs: the
                                         jitter each Taylor level pushed then starts from; else 0 */
    nb__hot hot_off; /* all zero: what hot1 points at while level 1 is a pattern level, so that
                        the inline ops take the library's path, which keeps zero partials */
    nb_level lv[NB_MAX_DEPTH + 1]; /* lv[0] unused: depth 0 means a constant */
};

/* The registry ops bound to L (nb_op_count): the count kept, plus one for each node the inline
 * ops made, which do not count themselves (a memory increment per op, 2-3% of a gradient): on a
 * plain or dual level every node is a leaf, the sentinel, a node of the library (nodes_lib) or
 * one of theirs. Other levels have no inline ops. */
static inline unsigned long long nb__level_ops(const nb_level *L) {
    if (L->n == 0 || (L->mode != NB_MODE_PLAIN && L->mode != NB_MODE_DUAL)) return L->ops;
    return L->ops + (unsigned long long)(L->n - 1 - L->leaves - L->nodes_lib);
}

/* Sets the inline ops' limits of L (nabla/ctx.h: rlim, flim) from its counts and capacities:
 * called wherever those change other than by the inline recording itself (which adds a node and
 * at most two operands while n < rlim, so the limit stays true): a growth, a push or reset, a pop,
 * and every recording that keeps more than two operands for one node (reductions, custom ops).
 * Only a plain level at depth 1 gets limits; a pattern level's inline ops read c->hot_off. */
static inline void nb__hot_limits(nb_level *L) {
    L->rlim = L->flim = 0;
    if (L->depth != 1 || L->tag == 0) return;
    if (L->kind == NB_REVERSE) {
        const size_t r = L->n + (L->opcap - L->nops) / 2;
        L->rlim = r < L->ncap ? r : L->ncap;
    } else if (L->kind == NB_FORWARD) {
        L->flim = L->ncap;
    }
}

/* Pushes a pattern level (above) at depth 1; NB_E_LEVEL when a level is pushed already. */
nb_status nb__push_pattern(nb_ctx *c);
/* A node of the pattern level 1 with value 0 and no operands: a zero that is not a structural
 * zero (src/var.c). A NaN constant after recording a failure to grow. */
nb_var nb__pattern_zero(nb_ctx *c);

/* Records `s` as the context's error unless one is already recorded; returns s. */
nb_status nb__fail(nb_ctx *c, nb_status s);

/* A NaN constant after recording `s`. */
nb_var nb__fail_var(nb_ctx *c, nb_status s);

/* The level that owns x (x.tag != 0), or NULL when x is stale or foreign. */
static inline nb_level *nb__owner(nb_ctx *c, nb_var x) {
    uint32_t d = x.tag & NB_DEPTH_MASK;
    if (d == 0 || d > c->depth) return NULL;
    nb_level *L = &c->lv[d];
    if (L->tag != x.tag || x.idx == 0 || x.idx >= L->n) return NULL;
    return L;
}

/* Records NB_E_STALE or NB_E_FOREIGN for the invalid handle x, returns a NaN constant. */
nb_var nb__bad_handle(nb_ctx *c, nb_var x);

/* NaN that moves with x at every order, exp(x + NaN): its derivative is itself, so every level
 * above x's sees a NaN derivative where x moves (0 where it does not, the strong zero). A NaN
 * constant would have derivative 0. For an integer parameter out of range and Taylor mode's
 * domain errors. A constant x gives the NaN constant. */
nb_var nb__live_nan(nb_ctx *c, nb_var x);

/* Makes room for `nodes` more nodes and `operands` more operands on L. NB_OK or the failure
 * (not recorded). */
nb_status nb__level_grow(nb_ctx *c, nb_level *L, size_t nodes, size_t operands);

/* Makes L's adjoints valid (zeroed) for all nodes. */
nb_status nb__adj_ready(nb_ctx *c, nb_level *L);

/* Makes room for n input (output, scratch) handles in L's scratch arrays. */
nb_status nb__inputs_reserve(nb_ctx *c, nb_level *L, size_t n);
nb_status nb__outputs_reserve(nb_ctx *c, nb_level *L, size_t n);
nb_status nb__scratch_reserve(nb_ctx *c, nb_level *L, size_t n);
nb_status nb__dscratch_reserve(nb_ctx *c, nb_level *L, size_t n);

/* The registry's partial of `op` with respect to operand k, evaluated with ops on handles
 * (src/var.c): X, Y the operands, R the op's result, N its parameter. */
nb_var nb__rule(nb_ctx *c, nb_op op, int k, nb_var X, nb_var Y, nb_var R, int N);

/* ---- Taylor levels (src/taylor.c) ---- */

/* The op at Taylor level L (which owns x and/or y). */
nb_var nb__taylor_op(nb_ctx *c, nb_level *L, nb_op op, nb_var x, nb_var y, int n);
/* A reduction at Taylor level L, composed of scalar ops. */
nb_var nb__taylor_reduce(nb_ctx *c, nb_level *L, nb_op op, size_t n, const nb_var *x,
                         const nb_var *y);

/* A custom op at Taylor level L (which owns an operand); u0 and p are scratch for k handles
 * each (src/taylor.c). */
nb_var nb__taylor_custom(nb_ctx *c, nb_level *L, const nb__custom_call *cc, const nb_var *x,
                         nb_var *u0, nb_var *p);
/* 1 when the level stack is as cc found it and no error was recorded since (when none was
 * before); else 0, after recording NB_E_LEVEL for a changed stack and popping the levels the
 * user's callback left pushed above it (when the level it found on top is still there). */
int nb__custom_ok(nb_ctx *c, const nb__custom_call *cc);
/* Runs the op's rule on px[0 .. k-1] into p (filled with NaN constants first) and checks that
 * every partial is a constant or a live handle of depth <= max_depth. With r not NULL, a call of
 * the op on px inside the rule gives *r. The rule's status; the recorded error when the rule
 * changed the level stack (NB_E_LEVEL) or an op in it failed; NB_E_ARG for a partial too deep;
 * the (recorded) status of a stale or foreign one. */
nb_status nb__custom_partials(nb_ctx *c, const nb__custom_call *cc, const nb_var *px, nb_var *p,
                              uint32_t max_depth, const nb_var *r);

/* ---- dual mode (forward over reverse at depths 1 and 2) ---- */

/* The dual number (value, level-1 tangent) of a handle of depth <= 1. */
static inline nb_dual nb__dual_low(const nb_ctx *c, nb_var x) {
    return nb_dual_make(x.v, x.tag ? c->lv[1].tan[x.idx] : 0.0);
}
/* A handle of level 1 (forward) with value v and tangent t: a new level-1 node, or a constant
 * when t is 0. */
nb_var nb__level1_var(nb_ctx *c, double v, double t);

/* Makes room for `arrays` more arrays, `stmts` more array reductions, `elems` more element
 * handles and `nodes` more nodes on L, as one request (src/ctx.c). NB_OK or the failure (not
 * recorded). */
nb_status nb__arrays_grow(nb_ctx *c, nb_level *L, size_t arrays, size_t stmts, size_t elems,
                          size_t nodes);
/* After a sweep of reverse level 1: each array reduction passes its adjoint to its arrays' dx,
 * each element handle its adjoint to dx[i]; those adjoints are consumed (src/array.c). */
void nb__arrays_backward(nb_level *L);
/* Zeroes every dx of L's arrays. */
void nb__arrays_zero(nb_level *L);

/* The reverse sweep of level L from outputs ys with seeds (NULL: ones), after zeroing every
 * gradient of L when `overwrite`. Returns the context's status. */
nb_status nb__backward(nb_ctx *c, nb_level *L, size_t m, const nb_var *ys, const nb_var *seeds,
                       int overwrite);

/* count elements of `size` bytes from an allocation hook (at least one, so that a count of 0
 * still gives a pointer), or NULL when the bytes overflow or the hook fails; and their release
 * with the same count and size (p may be NULL). Scratch and objects that the context does not
 * count as level storage. */
static inline void *nb__hook_get(nb_alloc_fn a, void *ud, size_t count, size_t size) {
    if (count == 0) count = 1;
    if (count > SIZE_MAX / size) return NULL;
    return a(ud, NULL, 0, count * size);
}
static inline void nb__hook_put(nb_alloc_fn a, void *ud, void *p, size_t count, size_t size) {
    if (p) a(ud, p, (count ? count : 1) * size, 0);
}

/* NaN into p[0 .. n-1] (nothing when p is NULL): the outputs of a call that failed. */
static inline void nb__nan_doubles(double *p, size_t n) {
    for (size_t i = 0; p && i < n; i++) p[i] = (double)NAN;
}

/* 1 for more inputs or outputs than a level can index (node indices are 32-bit). */
static inline int nb__too_many(size_t k) { return k > (size_t)UINT32_MAX - 1; }

/* Pushes a level of `kind` owned by the calling driver, with room for n input and m output
 * handles in its scratch (src/drivers.c). NB_OK or the failure (recorded, the level popped). */
nb_status nb__driver_begin(nb_ctx *c, nb_kind kind, size_t n, size_t m, nb_level **out);

/* The drivers' protocol (src/drivers.c, also used by nb_taylor): a driver marks the level it
 * pushed with nb__driver_own; nb__driver_ok is 1 when that level (at d0 + 1) is still on top -
 * not popped, not popped and replaced - and no error is recorded, else records NB_E_LEVEL for an
 * unbalanced f and returns 0; nb__driver_finish pops back to depth d0 (never below) and returns
 * the context's status. */
void nb__driver_own(nb_level *L);
int nb__driver_ok(nb_ctx *c, size_t d0);
/* For f called on constant handles with no level of the caller's own (gradient checks, GSL
 * adapters, plot samples): 1 when f left the depth at d0, else records NB_E_LEVEL, pops back to
 * d0 (never below) and returns 0. */
int nb__balanced(nb_ctx *c, size_t d0);
nb_status nb__driver_finish(nb_ctx *c, size_t d0);

/* The handle stored as (value, ref). */
static inline nb_var nb__ref_var(double v, nb_ref r) {
    nb_var x;
    x.v = v;
    x.idx = r.idx;
    x.tag = r.tag;
    return x;
}
static inline nb_ref nb__var_ref(nb_var x) {
    nb_ref r;
    r.idx = x.idx;
    r.tag = x.tag;
    return r;
}

/* A structural zero: a constant 0. Only these may be skipped at depth >= 2; a handle whose
 * value is 0 may carry a live tangent at an outer level. */
static inline int nb__szero(nb_var x) { return x.tag == 0 && x.v == 0; }

/* The strong-zero product of plain doubles (see nabla/dual.h). */
static inline double nb__szmul(double p, double t) {
    double r = p * t;
    return r == r ? r : (p == 0 || t == 0) ? 0.0 : r;
}

/* The environment an ODE adapter (nb_gsl_odeiv2_new) passes to its f (src/gsl_adapt.c; the
 * adjoint solver makes its adapter before the object f needs). */
struct nb_gsl_adapter;
void nb__gsl_odeiv2_set_env(struct nb_gsl_adapter *a, void *env);

#endif
