/* sparse.c - sparse Jacobians and Hessians (nabla/sparse.h): patterns found on a level that keeps
 * every operand, a greedy coloring of the columns (or rows), and the nonzeros from one pass per
 * color. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "nabla/sparse.h"

#define NB_SPARSE_BLOCKS 12

struct nb_sparse {
    nb_alloc_fn alloc;
    void *ud;
    void *blk[NB_SPARSE_BLOCKS]; /* every allocation of the plan, with its size */
    size_t blk_size[NB_SPARSE_BLOCKS];
    int nblk;
    int hess;
    nb_sparse_mode mode;
    size_t m, n, nnz, passes;
    size_t *row_ptr; /* m + 1 */
    size_t *col;     /* nnz */
    size_t *erow;    /* the row of each entry */
    size_t *group;   /* forward, Hessian: each column's; reverse: each row's */
    size_t *gptr;    /* passes + 1: the entries of group k are gent[gptr[k] .. gptr[k+1]) */
    size_t *gent;
    double *seed;    /* max(m, n): a pass's direction (forward, Hessian) */
    double *out;     /* max(m, n): a pass's result */
};

/* ---- memory: the context's hook, not counted as level storage ---- */

static void *raw_get(nb_alloc_fn a, void *ud, size_t count, size_t size) {
    if (count > SIZE_MAX / size) return NULL;
    return a(ud, NULL, 0, (count ? count : 1) * size);
}
static void raw_put(nb_alloc_fn a, void *ud, void *p, size_t count, size_t size) {
    if (p) a(ud, p, (count ? count : 1) * size, 0);
}

/* A block of the plan (freed with it); NULL when it cannot be had. */
static void *plan_get(nb_sparse *p, size_t count, size_t size) {
    if (p->nblk == NB_SPARSE_BLOCKS) return NULL;
    void *q = raw_get(p->alloc, p->ud, count, size);
    if (q) {
        p->blk[p->nblk] = q;
        p->blk_size[p->nblk++] = (count ? count : 1) * size;
    }
    return q;
}

void nb_sparse_free(nb_sparse *p) {
    if (!p) return;
    for (int k = 0; k < p->nblk; k++) p->alloc(p->ud, p->blk[k], p->blk_size[k], 0);
    p->alloc(p->ud, p, sizeof *p, 0);
}

static nb_sparse *plan_new(nb_ctx *c, int hess, size_t m, size_t n) {
    nb_sparse *p = c->alloc(c->alloc_ud, NULL, 0, sizeof *p);
    if (!p) return NULL;
    memset(p, 0, sizeof *p);
    p->alloc = c->alloc;
    p->ud = c->alloc_ud;
    p->hess = hess;
    p->m = m;
    p->n = n;
    return p;
}

/* A growable list of (row, column) pairs from the context's hook. */
typedef struct coo {
    size_t *r, *c;
    size_t n, cap;
} coo;

static int coo_add(nb_ctx *c, coo *q, size_t r, size_t col) {
    if (q->n == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 64;
        if (cap > SIZE_MAX / 2 / sizeof(size_t)) return 0;
        size_t *nr = raw_get(c->alloc, c->alloc_ud, cap, sizeof *nr);
        size_t *nc = raw_get(c->alloc, c->alloc_ud, cap, sizeof *nc);
        if (!nr || !nc) {
            raw_put(c->alloc, c->alloc_ud, nr, cap, sizeof *nr);
            raw_put(c->alloc, c->alloc_ud, nc, cap, sizeof *nc);
            return 0;
        }
        if (q->n) {
            memcpy(nr, q->r, q->n * sizeof *nr);
            memcpy(nc, q->c, q->n * sizeof *nc);
        }
        raw_put(c->alloc, c->alloc_ud, q->r, q->cap, sizeof *q->r);
        raw_put(c->alloc, c->alloc_ud, q->c, q->cap, sizeof *q->c);
        q->r = nr, q->c = nc, q->cap = cap;
    }
    q->r[q->n] = r;
    q->c[q->n++] = col;
    return 1;
}

static void coo_free(nb_ctx *c, coo *q) {
    raw_put(c->alloc, c->alloc_ud, q->r, q->cap, sizeof *q->r);
    raw_put(c->alloc, c->alloc_ud, q->c, q->cap, sizeof *q->c);
    memset(q, 0, sizeof *q);
}

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* ---- the plan from a list of entries ---- */

/* Compressed rows of the nnz entries (rows[k], cols[k]) (and their mirror images when sym),
 * sorted and merged, into p. 0 when memory runs out. */
static int build_rows(nb_sparse *p, size_t nnz, const size_t *rows, const size_t *cols, int sym) {
    const size_t m = p->m, total = sym ? 2 * nnz : nnz;
    p->row_ptr = plan_get(p, m + 1, sizeof *p->row_ptr);
    size_t *tmp = plan_get(p, total, sizeof *tmp); /* the columns by row, before merging */
    if (!p->row_ptr || !tmp) return 0;
    size_t *rp = p->row_ptr;
    memset(rp, 0, (m + 1) * sizeof *rp);
    for (size_t k = 0; k < nnz; k++) {
        rp[rows[k] + 1]++;
        if (sym) rp[cols[k] + 1]++;
    }
    for (size_t i = 0; i < m; i++) rp[i + 1] += rp[i];
    for (size_t k = 0; k < nnz; k++) { /* rp[i] moves to the end of row i, then back */
        tmp[rp[rows[k]]++] = cols[k];
        if (sym) tmp[rp[cols[k]]++] = rows[k];
    }
    for (size_t i = m; i > 0; i--) rp[i] = rp[i - 1];
    rp[0] = 0;
    size_t w = 0;
    for (size_t i = 0; i < m; i++) {
        const size_t b = rp[i], e = rp[i + 1];
        qsort(tmp + b, e - b, sizeof *tmp, cmp_size);
        rp[i] = w;
        for (size_t k = b; k < e; k++)
            if (k == b || tmp[k] != tmp[k - 1]) tmp[w++] = tmp[k];
    }
    rp[m] = w;
    p->col = tmp;
    p->nnz = w;
    return 1;
}

/* Greedy coloring of nv items, item v touching the "rows" vadj[vptr[v] .. vptr[v+1]) and row r
 * touching the items wadj[wptr[r] .. wptr[r+1]): two items that touch one row get different
 * colors (a distance-2 coloring of the bipartite graph, in the items' natural order, which is
 * optimal for banded patterns). color[v] for each item; returns the number of colors. mark has
 * nv + 1 entries. */
static size_t greedy(size_t nv, const size_t *vptr, const size_t *vadj, const size_t *wptr,
                     const size_t *wadj, size_t *color, size_t *mark) {
    size_t colors = 0;
    for (size_t k = 0; k <= nv; k++) mark[k] = SIZE_MAX;
    for (size_t v = 0; v < nv; v++) {
        for (size_t a = vptr[v]; a < vptr[v + 1]; a++) {
            const size_t r = vadj[a];
            for (size_t b = wptr[r]; b < wptr[r + 1]; b++) {
                const size_t u = wadj[b];
                if (u < v) mark[color[u]] = v; /* u's color is taken near v */
            }
        }
        size_t k = 0;
        while (mark[k] == v) k++;
        color[v] = k;
        if (k + 1 > colors) colors = k + 1;
    }
    return colors;
}

/* Groups (coloring), the entries by group and the scratch vectors: the rest of the plan once its
 * rows are known. 0 when memory runs out. */
static int finish_plan(nb_sparse *p, nb_sparse_mode mode) {
    const size_t m = p->m, n = p->n, nnz = p->nnz;
    /* columns' rows (compressed columns) */
    size_t *cptr = raw_get(p->alloc, p->ud, n + 1, sizeof *cptr);
    size_t *cadj = raw_get(p->alloc, p->ud, nnz, sizeof *cadj);
    size_t *colg = raw_get(p->alloc, p->ud, n, sizeof *colg);
    size_t *rowg = raw_get(p->alloc, p->ud, m, sizeof *rowg);
    size_t *mark = raw_get(p->alloc, p->ud, (m > n ? m : n) + 1, sizeof *mark);
    p->erow = plan_get(p, nnz, sizeof *p->erow);
    int ok = cptr && cadj && colg && rowg && mark && p->erow;
    if (ok) {
        memset(cptr, 0, (n + 1) * sizeof *cptr);
        for (size_t e = 0; e < nnz; e++) cptr[p->col[e] + 1]++;
        for (size_t j = 0; j < n; j++) cptr[j + 1] += cptr[j];
        for (size_t i = 0; i < m; i++)
            for (size_t e = p->row_ptr[i]; e < p->row_ptr[i + 1]; e++) {
                p->erow[e] = i;
                cadj[cptr[p->col[e]]++] = i;
            }
        for (size_t j = n; j > 0; j--) cptr[j] = cptr[j - 1];
        cptr[0] = 0;
        const size_t pc = greedy(n, cptr, cadj, p->row_ptr, p->col, colg, mark);
        size_t pr = 0;
        if (!p->hess && mode != NB_SPARSE_FORWARD)
            pr = greedy(m, p->row_ptr, p->col, cptr, cadj, rowg, mark);
        if (p->hess)
            mode = NB_SPARSE_AUTO;
        else if (mode == NB_SPARSE_AUTO)
            mode = pc <= pr + 1 ? NB_SPARSE_FORWARD : NB_SPARSE_REVERSE;
        p->mode = mode;
        const int by_row = mode == NB_SPARSE_REVERSE;
        const size_t ng = by_row ? m : n;
        p->passes = by_row ? pr : pc;
        p->group = plan_get(p, ng, sizeof *p->group);
        p->gptr = plan_get(p, p->passes + 1, sizeof *p->gptr);
        p->gent = plan_get(p, nnz, sizeof *p->gent);
        p->seed = plan_get(p, m > n ? m : n, sizeof *p->seed);
        p->out = plan_get(p, m > n ? m : n, sizeof *p->out);
        ok = p->group && p->gptr && p->gent && p->seed && p->out;
        if (ok) {
            const size_t *g = by_row ? rowg : colg;
            if (ng) memcpy(p->group, g, ng * sizeof *g);
            memset(p->gptr, 0, (p->passes + 1) * sizeof *p->gptr);
            for (size_t e = 0; e < nnz; e++) p->gptr[g[by_row ? p->erow[e] : p->col[e]] + 1]++;
            for (size_t k = 0; k < p->passes; k++) p->gptr[k + 1] += p->gptr[k];
            for (size_t e = 0; e < nnz; e++) p->gent[p->gptr[g[by_row ? p->erow[e] : p->col[e]]]++] = e;
            for (size_t k = p->passes; k > 0; k--) p->gptr[k] = p->gptr[k - 1];
            p->gptr[0] = 0;
        }
    }
    raw_put(p->alloc, p->ud, cptr, n + 1, sizeof *cptr);
    raw_put(p->alloc, p->ud, cadj, nnz, sizeof *cadj);
    raw_put(p->alloc, p->ud, colg, n, sizeof *colg);
    raw_put(p->alloc, p->ud, rowg, m, sizeof *rowg);
    raw_put(p->alloc, p->ud, mark, (m > n ? m : n) + 1, sizeof *mark);
    return ok;
}

/* A plan from entries (the mirror images too when sym), or NULL after recording NB_E_NOMEM. */
static nb_sparse *plan_from(nb_ctx *c, int hess, size_t m, size_t n, size_t nnz, const size_t *rows,
                            const size_t *cols, int sym, nb_sparse_mode mode) {
    nb_sparse *p = plan_new(c, hess, m, n);
    if (p && build_rows(p, nnz, rows, cols, sym) && finish_plan(p, mode)) return p;
    nb_sparse_free(p);
    nb__fail(c, NB_E_NOMEM);
    return NULL;
}

/* ---- patterns from the function ---- */

static int too_many(size_t k) { return k > (size_t)UINT32_MAX - 1; }

/* The inputs reached from each of the m outputs ys over L's operands (inputs: the nodes first ..
 * first + n - 1), as entries (output, input) in q. NB_OK, or the failure (recorded). */
static nb_status reach(nb_ctx *c, nb_level *L, uint32_t first, size_t n, size_t m,
                       const nb_var *ys, coo *q) {
    const size_t nodes = L->n;
    uint32_t *stamp = raw_get(c->alloc, c->alloc_ud, nodes, sizeof *stamp);
    uint32_t *stack = raw_get(c->alloc, c->alloc_ud, nodes, sizeof *stack);
    nb_status s = NB_OK;
    if (!stamp || !stack) s = NB_E_NOMEM;
    if (!s) memset(stamp, 0, nodes * sizeof *stamp);
    for (size_t i = 0; i < m && !s; i++) {
        if (ys[i].tag == 0) continue; /* a constant: an empty row */
        if (ys[i].tag != L->tag || !nb__owner(c, ys[i])) {
            nb__bad_handle(c, ys[i]);
            s = c->err;
            break;
        }
        const uint32_t mark = (uint32_t)i + 1;
        size_t top = 0;
        stack[top++] = ys[i].idx;
        stamp[ys[i].idx] = mark;
        while (top && !s) {
            const uint32_t v = stack[--top];
            if (v >= first && v - first < n && !coo_add(c, q, i, v - first)) s = NB_E_NOMEM;
            for (uint32_t o = L->stmt_end[v - 1]; o < L->stmt_end[v]; o++) {
                const uint32_t u = L->op_idx[o];
                if (stamp[u] != mark) {
                    stamp[u] = mark;
                    stack[top++] = u;
                }
            }
        }
    }
    raw_put(c->alloc, c->alloc_ud, stamp, nodes, sizeof *stamp);
    raw_put(c->alloc, c->alloc_ud, stack, nodes, sizeof *stack);
    if (s) nb__fail(c, s);
    return s;
}

/* Pushes the pattern level with the inputs x and room for m outputs. */
static nb_status pattern_begin(nb_ctx *c, size_t n, size_t m, const double *x, nb_level **out) {
    nb_status s = nb__push_pattern(c);
    if (s) return nb__fail(c, s);
    nb_level *L = &c->lv[1];
    s = nb__inputs_reserve(c, L, n ? n : 1);
    if (!s) s = nb__outputs_reserve(c, L, m ? m : 1);
    if (s) return nb__fail(c, s);
    nb__driver_own(L);
    *out = L;
    return nb_rev_inputs(c, n, x, L->inputs);
}

static nb_status pattern_args(nb_ctx *c, int has_f, size_t n, size_t m, const double *x,
                              nb_sparse_mode mode, nb_sparse **out) {
    if (out) *out = NULL;
    if (!c) return NB_E_ARG;
    if (!has_f || !out || (n && !x) || too_many(n) || too_many(m) || (unsigned)mode > NB_SPARSE_REVERSE)
        return nb__fail(c, NB_E_ARG);
    if (c->err) return c->err;
    if (c->depth != 0) return nb__fail(c, NB_E_LEVEL);
    return NB_OK;
}

nb_status nb_sparse_jac_new(nb_ctx *c, nb_vfn f, void *env, size_t n, size_t m, const double *x,
                            nb_sparse_mode mode, nb_sparse **out) {
    nb_status s = pattern_args(c, f != NULL, n, m, x, mode, out);
    if (s) return s;
    nb_level *L = NULL;
    coo q = {0};
    if (!pattern_begin(c, n, m, x, &L) && c->err == NB_OK) {
        nb_var *ys = L->outputs;
        for (size_t i = 0; i < m; i++) ys[i] = nb_const(0);
        f(c, L->inputs, ys, env);
        if (nb__driver_ok(c, 0)) reach(c, L, n ? L->inputs[0].idx : 1, n, m, ys, &q);
    }
    if (!nb__driver_finish(c, 0)) *out = plan_from(c, 0, m, n, q.n, q.r, q.c, 0, mode);
    coo_free(c, &q);
    return c->err;
}

nb_status nb_sparse_hess_new(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x,
                             nb_sparse **out) {
    nb_status s = pattern_args(c, f != NULL, n, n, x, NB_SPARSE_AUTO, out);
    if (s) return s;
    nb_level *L = NULL;
    coo q = {0};
    if (!pattern_begin(c, n, n, x, &L) && c->err == NB_OK) {
        nb_var y;
        /* the gradient's handles at the pattern level: their dependences are the Hessian's */
        if (!nb_gradient_var(c, f, env, n, L->inputs, &y, L->outputs) && nb__driver_ok(c, 0))
            reach(c, L, n ? L->inputs[0].idx : 1, n, n, L->outputs, &q);
    }
    if (!nb__driver_finish(c, 0)) *out = plan_from(c, 1, n, n, q.n, q.r, q.c, 1, NB_SPARSE_AUTO);
    coo_free(c, &q);
    return c->err;
}

static nb_status given_args(nb_ctx *c, size_t m, size_t n, size_t nnz, const size_t *rows,
                            const size_t *cols, nb_sparse_mode mode, nb_sparse **out) {
    if (out) *out = NULL;
    if (!c) return NB_E_ARG;
    if (!out || (nnz && (!rows || !cols)) || too_many(n) || too_many(m) ||
        (unsigned)mode > NB_SPARSE_REVERSE || nnz > SIZE_MAX / 4 / sizeof(size_t))
        return nb__fail(c, NB_E_ARG);
    for (size_t k = 0; k < nnz; k++)
        if (rows[k] >= m || cols[k] >= n) return nb__fail(c, NB_E_ARG);
    return c->err;
}

nb_status nb_sparse_jac_new_pattern(nb_ctx *c, size_t n, size_t m, size_t nnz,
                                    const size_t *rows, const size_t *cols, nb_sparse_mode mode,
                                    nb_sparse **out) {
    nb_status s = given_args(c, m, n, nnz, rows, cols, mode, out);
    if (s) return s;
    *out = plan_from(c, 0, m, n, nnz, rows, cols, 0, mode);
    return c->err;
}

nb_status nb_sparse_hess_new_pattern(nb_ctx *c, size_t n, size_t nnz, const size_t *rows,
                                     const size_t *cols, nb_sparse **out) {
    nb_status s = given_args(c, n, n, nnz, rows, cols, NB_SPARSE_AUTO, out);
    if (s) return s;
    *out = plan_from(c, 1, n, n, nnz, rows, cols, 1, NB_SPARSE_AUTO);
    return c->err;
}

/* ---- the plan's fields ---- */

size_t nb_sparse_rows(const nb_sparse *p) { return p ? p->m : 0; }
size_t nb_sparse_cols(const nb_sparse *p) { return p ? p->n : 0; }
size_t nb_sparse_nnz(const nb_sparse *p) { return p ? p->nnz : 0; }
const size_t *nb_sparse_row_ptr(const nb_sparse *p) { return p ? p->row_ptr : NULL; }
const size_t *nb_sparse_col_idx(const nb_sparse *p) { return p ? p->col : NULL; }
size_t nb_sparse_passes(const nb_sparse *p) { return p ? p->passes : 0; }
nb_sparse_mode nb_sparse_mode_of(const nb_sparse *p) { return p ? p->mode : NB_SPARSE_AUTO; }

/* ---- evaluation ---- */

static void nan_fill(double *p, size_t n) {
    for (size_t i = 0; p && i < n; i++) p[i] = (double)NAN;
}

/* The seed of pass k over the n items' groups. */
static void seed_of(const nb_sparse *p, size_t k, size_t n, double *seed) {
    for (size_t j = 0; j < n; j++) seed[j] = p->group[j] == k ? 1.0 : 0.0;
}

/* Jacobian by reverse sweeps: one recording, a sweep per group of rows, seeded with the group's
 * rows; entry (i, j) of group k is component j of the sweep's result. */
static void jac_reverse(nb_ctx *c, nb_sparse *p, nb_vfn f, void *env, const double *x, double *y,
                        double *val) {
    const size_t n = p->n, m = p->m, d0 = c->depth;
    nb_status s = nb_push(c, NB_REVERSE);
    if (s) {
        nb__fail(c, s);
        return;
    }
    nb_level *L = &c->lv[c->depth];
    s = nb__inputs_reserve(c, L, n ? n : 1);
    if (!s) s = nb__outputs_reserve(c, L, m ? m : 1);
    if (!s) s = nb__scratch_reserve(c, L, m ? m : 1);
    if (s) {
        nb__fail(c, s);
        nb__driver_finish(c, d0);
        return;
    }
    nb__driver_own(L);
    if (!nb_rev_inputs(c, n, x, L->inputs) && c->err == NB_OK) {
        nb_var *ys = L->outputs, *seeds = L->scratch;
        for (size_t i = 0; i < m; i++) ys[i] = nb_const(0);
        f(c, L->inputs, ys, env);
        if (nb__driver_ok(c, d0)) {
            if (y)
                for (size_t i = 0; i < m; i++) y[i] = ys[i].v;
            for (size_t k = 0; k < p->passes && c->err == NB_OK; k++) {
                for (size_t i = 0; i < m; i++) seeds[i] = nb_const(p->group[i] == k ? 1.0 : 0.0);
                nb__backward(c, L, m, ys, seeds, 1);
                nb_grads(c, n, L->inputs, p->out);
                for (size_t a = p->gptr[k]; a < p->gptr[k + 1]; a++) {
                    const size_t e = p->gent[a];
                    val[e] = p->out[p->col[e]];
                }
            }
        }
    }
    nb__driver_finish(c, d0);
}

nb_status nb_sparse_jacobian(nb_ctx *c, nb_sparse *p, nb_vfn f, void *env, const double *x,
                             double *y, double *val) {
    if (!c) return NB_E_ARG;
    if (!p || p->hess || !f || (p->n && !x) || (p->nnz && !val)) {
        if (p && !p->hess) {
            nan_fill(y, p->m);
            nan_fill(val, p->nnz);
        }
        return nb__fail(c, NB_E_ARG);
    }
    const size_t n = p->n, m = p->m;
    if (c->err == NB_OK) {
        if (p->mode == NB_SPARSE_REVERSE && p->passes) {
            jac_reverse(c, p, f, env, x, y, val);
        } else if (p->passes == 0) { /* no nonzero: the values only */
            memset(p->seed, 0, (n ? n : 1) * sizeof *p->seed);
            nb_jvp_vec(c, f, env, n, m, x, p->seed, y, p->out);
        } else {
            for (size_t k = 0; k < p->passes && c->err == NB_OK; k++) {
                seed_of(p, k, n, p->seed);
                /* y after the last pass: x is read by every pass, and y may be x */
                if (nb_jvp_vec(c, f, env, n, m, x, p->seed, k + 1 == p->passes ? y : NULL,
                               p->out))
                    break;
                for (size_t a = p->gptr[k]; a < p->gptr[k + 1]; a++) {
                    const size_t e = p->gent[a];
                    val[e] = p->out[p->erow[e]];
                }
            }
        }
    }
    if (c->err) {
        nan_fill(y, m);
        nan_fill(val, p->nnz);
    }
    return c->err;
}

nb_status nb_sparse_hessian(nb_ctx *c, nb_sparse *p, nb_fn f, void *env, const double *x,
                            double *fx, double *g, double *val) {
    if (!c) return NB_E_ARG;
    if (!p || !p->hess || !f || (p->n && !x) || (p->nnz && !val)) {
        if (p && p->hess) {
            if (fx) *fx = (double)NAN;
            nan_fill(g, p->n);
            nan_fill(val, p->nnz);
        }
        return nb__fail(c, NB_E_ARG);
    }
    const size_t n = p->n;
    if (c->err == NB_OK) {
        if (p->passes == 0) {
            if (fx || g) {
                double f0 = (double)NAN;
                nb_gradient(c, f, env, n, x, &f0, g ? g : p->out);
                if (fx) *fx = f0;
            }
        } else {
            for (size_t k = 0; k < p->passes && c->err == NB_OK; k++) {
                seed_of(p, k, n, p->seed);
                const int last = k + 1 == p->passes;
                if (nb_hvp(c, f, env, n, x, p->seed, last ? fx : NULL, last ? g : NULL, p->out))
                    break;
                for (size_t a = p->gptr[k]; a < p->gptr[k + 1]; a++) {
                    const size_t e = p->gent[a];
                    val[e] = p->out[p->erow[e]];
                }
            }
        }
    }
    if (c->err) {
        if (fx) *fx = (double)NAN;
        nan_fill(g, n);
        nan_fill(val, p->nnz);
    }
    return c->err;
}
