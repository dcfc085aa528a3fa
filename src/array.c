/* array.c - borrowed double arrays as inputs of a reverse level 1 (nabla/array.h): reductions as
 * one node without operands, whose partials the backward pass evaluates from x with the
 * registry's rules on doubles (the same rows as every other tier), and element handles. */
#include <math.h>
#include <string.h>

#include "internal.h"
#include "nabla/array.h"

/* 1 when [p, p + n) and [q, q + m) share a byte (n, m in doubles). */
static int overlap(const double *p, size_t n, const double *q, size_t m) {
    if (!n || !m) return 0;
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)q;
    return a < b + m * sizeof *q && b < a + n * sizeof *p;
}

static nb_array no_array(void) {
    nb_array a;
    memset(&a, 0, sizeof a);
    return a;
}

/* Enters an array in L's table (room made) and describes it in *out. */
static nb_status add_array(nb_level *L, const double *x, double *dx, const double *t, size_t n,
                           nb_array *out, nb_ctx *c) {
    nb__arr *e = &L->arr[L->narr];
    e->x = x;
    e->dx = dx;
    e->t = t;
    e->n = n;
    out->x = x;
    out->dx = dx;
    out->t = t;
    out->n = n;
    out->id = (uint32_t)L->narr++;
    out->tag = L->tag;
    return c->err;
}

nb_status nb_rev_array(nb_ctx *c, size_t n, const double *x, double *dx, nb_array *out) {
    if (out) *out = no_array(); /* on every failure, a NULL context's too */
    if (!c) return NB_E_ARG;
    if (!out) return nb__fail(c, NB_E_ARG);
    if (n && (!x || !dx)) return nb__fail(c, NB_E_ARG);
    if (n > SIZE_MAX / sizeof *x || overlap(x, n, dx, n)) return nb__fail(c, NB_E_ARG);
    nb_level *L = &c->lv[1];
    if (c->depth != 1 || L->kind != NB_REVERSE || L->mode != NB_MODE_PLAIN)
        return nb__fail(c, NB_E_LEVEL);
    /* one array's gradient must not be written over another's values, nor share its memory
     * with another's gradient (making this array would zero that one, and the two would then
     * collect into one buffer) */
    for (size_t k = 0; k < L->narr; k++)
        if (overlap(L->arr[k].x, L->arr[k].n, dx, n) || overlap(x, n, L->arr[k].dx, L->arr[k].n) ||
            overlap(L->arr[k].dx, L->arr[k].n, dx, n))
            return nb__fail(c, NB_E_ARG);
    nb_status s = nb__arrays_grow(c, L, 1, 0, 0, 0);
    if (s) return nb__fail(c, s);
    if (n) memset(dx, 0, n * sizeof *dx);
    return add_array(L, x, dx, NULL, n, out, c);
}

nb_status nb_fwd_array(nb_ctx *c, size_t n, const double *x, const double *t, nb_array *out) {
    if (out) *out = no_array(); /* on every failure, a NULL context's too */
    if (!c) return NB_E_ARG;
    if (!out) return nb__fail(c, NB_E_ARG);
    if (n && (!x || !t)) return nb__fail(c, NB_E_ARG);
    if (n > SIZE_MAX / sizeof *x) return nb__fail(c, NB_E_ARG);
    nb_level *L = &c->lv[1];
    if (c->depth != 1 || L->kind != NB_FORWARD || L->mode != NB_MODE_PLAIN)
        return nb__fail(c, NB_E_LEVEL);
    nb_status s = nb__arrays_grow(c, L, 1, 0, 0, 0);
    if (s) return nb__fail(c, s);
    return add_array(L, x, NULL, t, n, out, c);
}

/* The level of a (reverse or forward level 1, live), or NULL after recording why not. */
static nb_level *owner(nb_ctx *c, nb_array a) {
    nb_level *L = &c->lv[1];
    if (a.tag != 0 && c->depth >= 1 && a.tag == L->tag) {
        if ((L->kind == NB_REVERSE || L->kind == NB_FORWARD) && L->mode == NB_MODE_PLAIN &&
            a.id < L->narr && L->arr[a.id].x == a.x && L->arr[a.id].dx == a.dx &&
            L->arr[a.id].t == a.t && L->arr[a.id].n == a.n)
            return L;
        nb__fail(c, NB_E_ARG); /* fields changed by the caller */
        return NULL;
    }
    if (a.tag == 0) {
        nb__fail(c, NB_E_ARG); /* the result of a failed nb_rev_array */
        return NULL;
    }
    nb_var h = {NAN, 1, a.tag};
    nb__bad_handle(c, h);
    return NULL;
}

/* ---- each reduction's rule from the registry, on doubles: the backward pass (back_) and the
 * forward tangent (tan_, the strong-zero sum of partial * tangent, element by element in the
 * order of the handle reductions: x's term, then y's) ---- */

#include "nabla/bits/rule_doubles.h"
#define NB_OP1(...)
#define NB_OP2(...)
#define NB_OPI(...)
/* dx[i] += p * adj for each partial p that is not exactly 0, as the sweep of recorded operands
 * does (an operand whose partial is 0 is never recorded) */
#define NB_RED1(name_, lang_, primal_, dX_, ...)                                          \
    static void back_##name_(const nb__arr *A, const nb__arr *B, double R, double adj) { \
        (void)B, (void)R;                                                                 \
        const double *x = A->x;                                                           \
        double *dx = A->dx;                                                               \
        for (size_t i = 0; i < A->n; i++) {                                               \
            const double X = x[i];                                                        \
            (void)X;                                                                      \
            const double p = (dX_);                                                       \
            if (p != 0) dx[i] += p * adj;                                                 \
        }                                                                                 \
    }                                                                                     \
    static double tan_##name_(const nb__arr *A, const nb__arr *B, double R) {            \
        (void)B, (void)R;                                                                 \
        double t = 0;                                                                     \
        for (size_t i = 0; i < A->n; i++) {                                               \
            const double X = A->x[i];                                                     \
            (void)X;                                                                      \
            t += nb__szmul((dX_), A->t[i]);                                               \
        }                                                                                 \
        return t;                                                                         \
    }
#define NB_RED2(name_, lang_, primal_, dX_, dY_, ...)                                     \
    static void back_##name_(const nb__arr *A, const nb__arr *B, double R, double adj) { \
        (void)R;                                                                          \
        const double *x = A->x, *y = B->x;                                                \
        double *dx = A->dx, *dy = B->dx;                                                  \
        if (A == B) { /* one operand per element, as for x[i] and y[i] the same handle */ \
            for (size_t i = 0; i < A->n; i++) {                                           \
                const double X = x[i], Y = x[i];                                          \
                const double p = (dX_) + (dY_);                                           \
                if (p != 0) dx[i] += p * adj;                                             \
            }                                                                             \
            return;                                                                       \
        }                                                                                 \
        for (size_t i = 0; i < A->n; i++) {                                               \
            const double X = x[i], Y = y[i];                                              \
            const double p = (dX_), q = (dY_);                                            \
            if (p != 0) dx[i] += p * adj;                                                 \
            if (q != 0) dy[i] += q * adj;                                                 \
        }                                                                                 \
    }                                                                                     \
    static double tan_##name_(const nb__arr *A, const nb__arr *B, double R) {            \
        (void)R;                                                                          \
        double t = 0;                                                                     \
        for (size_t i = 0; i < A->n; i++) {                                               \
            const double X = A->x[i], Y = B->x[i];                                        \
            t += nb__szmul((dX_), A->t[i]);                                               \
            t += nb__szmul((dY_), B->t[i]);                                               \
        }                                                                                 \
        return t;                                                                         \
    }
#include "nabla/ops.def"
#undef NB_OP1
#undef NB_OP2
#undef NB_OPI
#undef NB_RED1
#undef NB_RED2
#include "nabla/bits/rule_words_end.h"

/* Each reduction's kernels, indexed by op (only reductions are ever recorded here). */
typedef struct {
    void (*back)(const nb__arr *A, const nb__arr *B, double R, double adj);
    double (*tan)(const nb__arr *A, const nb__arr *B, double R);
} kernels;
static const kernels kernel_of[NB_OP_COUNT] = {
#define NB_OP1(...)
#define NB_OP2(...)
#define NB_OPI(...)
#define NB_RED1(name_, ...) [NB_OP_##name_] = {back_##name_, tan_##name_},
#define NB_RED2(name_, ...) [NB_OP_##name_] = {back_##name_, tan_##name_},
#include "nabla/ops.def"
#undef NB_OP1
#undef NB_OP2
#undef NB_OPI
#undef NB_RED1
#undef NB_RED2
};


/* A node for a reduction over arrays a and b (b unused by one-array reductions) with value r: on
 * a forward level a node with its tangent, on a reverse level a tape node. */
static nb_var record(nb_ctx *c, nb_level *L, nb_op op, nb_array a, nb_array b, double r) {
    if (L->kind == NB_FORWARD) {
        L->ops++;
        return nb__level1_var(c, r, kernel_of[op].tan(&L->arr[a.id], &L->arr[b.id], r));
    }
    nb_status s = nb__arrays_grow(c, L, 0, 1, 0, 1);
    if (s) return nb__fail_var(c, s);
    nb__arr_stmt *t = &L->astmt[L->nastmt++];
    t->node = (uint32_t)L->n;
    t->op = (uint32_t)op;
    t->a = a.id;
    t->b = b.id;
    t->r = r;
    L->stmt_end[L->n] = (uint32_t)L->nops; /* no operands: the sweep leaves its adjoint here */
    L->ops++;
    L->nodes_lib++;
    nb_var out = {r, (uint32_t)L->n++, L->tag};
    return out;
}

#define RED1_(name_)                                                                      \
    nb_var nb_array_##name_(nb_ctx *c, nb_array a) {                                      \
        if (!c) return nb_const((double)NAN);                                             \
        nb_level *L = owner(c, a);                                                        \
        if (!L) return nb_const((double)NAN);                                             \
        const double r = nb_red_##name_(a.n, a.x, sizeof *a.x, a.x, sizeof *a.x);         \
        if (a.n == 0) return nb_const(r);                                                 \
        return record(c, L, NB_OP_##name_, a, a, r);                                      \
    }
RED1_(sum)
RED1_(sumsq)
RED1_(norm)
#undef RED1_

nb_var nb_array_dot(nb_ctx *c, nb_array a, nb_array b) {
    if (!c) return nb_const((double)NAN);
    nb_level *L = owner(c, a);
    if (!L || !owner(c, b)) return nb_const((double)NAN);
    if (a.n != b.n) return nb__fail_var(c, NB_E_ARG);
    const double r = nb_red_dot(a.n, a.x, sizeof *a.x, b.x, sizeof *b.x);
    if (a.n == 0) return nb_const(r);
    return record(c, L, NB_OP_dot, a, b, r);
}

nb_var nb_array_at(nb_ctx *c, nb_array a, size_t i) {
    if (!c) return nb_const((double)NAN);
    nb_level *L = owner(c, a);
    if (!L) return nb_const((double)NAN);
    if (i >= a.n) return nb__fail_var(c, NB_E_ARG);
    if (L->kind == NB_FORWARD) { /* a leaf with its tangent, as nb_fwd_input makes */
        nb_status s = nb__level_grow(c, L, 1, 0);
        if (s) return nb__fail_var(c, s);
        L->tan[L->n] = a.t[i];
        L->leaves++;
        nb_var out = {a.x[i], (uint32_t)L->n++, L->tag};
        return out;
    }
    nb_status s = nb__arrays_grow(c, L, 0, 0, 1, 1);
    if (s) return nb__fail_var(c, s);
    nb__arr_elem *e = &L->aelem[L->naelem++];
    e->node = (uint32_t)L->n;
    e->arr = a.id;
    e->i = i;
    L->stmt_end[L->n] = (uint32_t)L->nops;
    L->leaves++;
    nb_var out = {a.x[i], (uint32_t)L->n++, L->tag};
    return out;
}

void nb__arrays_backward(nb_level *L) {
    double *adj = L->adj;
    for (size_t k = 0; k < L->naelem; k++) {
        const nb__arr_elem *e = &L->aelem[k];
        if (adj[e->node] != 0) L->arr[e->arr].dx[e->i] += adj[e->node];
        adj[e->node] = 0;
    }
    for (size_t k = 0; k < L->nastmt; k++) {
        const nb__arr_stmt *t = &L->astmt[k];
        const double a = adj[t->node];
        if (a == 0) continue;
        adj[t->node] = 0; /* consumed, as a statement's adjoint in the sweep */
        const nb__arr *A = &L->arr[t->a], *B = &L->arr[t->b];
        kernel_of[t->op].back(A, B, t->r, a);
    }
}

void nb__arrays_zero(nb_level *L) {
    for (size_t k = 0; k < L->narr; k++)
        if (L->arr[k].n) memset(L->arr[k].dx, 0, L->arr[k].n * sizeof *L->arr[k].dx);
}
