/* sparse.c - sparse Jacobians and Hessians (nabla/sparse.h): patterns found on a level that keeps
 * every operand, a greedy coloring of the columns (or rows), and the nonzeros from one pass per
 * color. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "nabla/sparse.h"

#define NB_SPARSE_BLOCKS 16
#define NONE SIZE_MAX

struct nb_sparse {
    nb_alloc_fn alloc;
    void *ud;
    void *blk[NB_SPARSE_BLOCKS]; /* every allocation of the plan, with its size */
    size_t blk_size[NB_SPARSE_BLOCKS];
    int nblk;
    int hess;
    nb_sparse_mode mode;
    size_t m, n, nnz;
    size_t *row_ptr; /* m + 1 */
    size_t *col;     /* nnz */
    /* Passes 0 .. nfwd-1 are forward passes (Hessian-vector products for a Hessian), seeded with
     * the columns j whose cgroup[j] is the pass; passes nfwd .. passes-1 are reverse sweeps of
     * one recording, seeded with the rows i whose rgroup[i] is the pass (NONE: in no such
     * pass). Pass k recovers the entries gent[gptr[k] .. gptr[k+1]), entry gent[a] being
     * component gout[a] of the pass's result. */
    size_t passes, nfwd;
    size_t *cgroup, *rgroup;
    size_t *gptr, *gent, *gout;
    double *seed, *out, *ysave; /* max(m, n), max(m, n), m */
};

/* ---- memory: the context's hook, not counted as level storage ---- */

/* A block of the plan (freed with it); NULL when it cannot be had. */
static void *plan_get(nb_sparse *p, size_t count, size_t size) {
    if (p->nblk == NB_SPARSE_BLOCKS) return NULL;
    void *q = nb__hook_get(p->alloc, p->ud, count, size);
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
        size_t *nr = nb__hook_get(c->alloc, c->alloc_ud, cap, sizeof *nr);
        size_t *nc = nb__hook_get(c->alloc, c->alloc_ud, cap, sizeof *nc);
        if (!nr || !nc) {
            nb__hook_put(c->alloc, c->alloc_ud, nr, cap, sizeof *nr);
            nb__hook_put(c->alloc, c->alloc_ud, nc, cap, sizeof *nc);
            return 0;
        }
        if (q->n) {
            memcpy(nr, q->r, q->n * sizeof *nr);
            memcpy(nc, q->c, q->n * sizeof *nc);
        }
        nb__hook_put(c->alloc, c->alloc_ud, q->r, q->cap, sizeof *q->r);
        nb__hook_put(c->alloc, c->alloc_ud, q->c, q->cap, sizeof *q->c);
        q->r = nr, q->c = nc, q->cap = cap;
    }
    q->r[q->n] = r;
    q->c[q->n++] = col;
    return 1;
}

static void coo_free(nb_ctx *c, coo *q) {
    nb__hook_put(c->alloc, c->alloc_ud, q->r, q->cap, sizeof *q->r);
    nb__hook_put(c->alloc, c->alloc_ud, q->c, q->cap, sizeof *q->c);
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

/* A bipartite incidence: item v (what gets colored: a column, or a row for reverse sweeps)
 * touches the lines vadj[vptr[v] .. vptr[v+1]), and line w touches the items wadj[wptr[w] ..
 * wptr[w+1]). For a Hessian, items and lines are both the columns of the symmetric pattern. */
typedef struct incidence {
    size_t nv, nw;
    const size_t *vptr, *vadj, *wptr, *wadj;
} incidence;

/* Greedy coloring of the items over the lines that are not dense (dense[w]; for a Hessian
 * (sym) a dense line is also a dense item, left uncolored): two items that touch one line get
 * different colors (a distance-2 coloring of the bipartite graph, in the items' natural order,
 * which is optimal for banded patterns). An item that touches no line left gets NONE. With
 * `cost` (sum over the lines left of their length squared) above budget, each item its own
 * color instead (the greedy would cost that much). color[v] for each item; returns the number
 * of colors. mark has nv + 1 entries. */
static size_t color_items(const incidence *g, int sym, const unsigned char *dense, size_t cost,
                          size_t budget, size_t *color, size_t *mark) {
    size_t colors = 0;
    for (size_t k = 0; k <= g->nv; k++) mark[k] = NONE;
    for (size_t v = 0; v < g->nv; v++) {
        color[v] = NONE;
        if (sym && dense[v]) continue;
        int any = 0;
        for (size_t a = g->vptr[v]; a < g->vptr[v + 1]; a++) {
            const size_t w = g->vadj[a];
            if (dense[w]) continue;
            any = 1;
            if (cost > budget) break;
            for (size_t b = g->wptr[w]; b < g->wptr[w + 1]; b++) {
                const size_t u = g->wadj[b];
                if (u < v && color[u] != NONE) mark[color[u]] = v; /* taken near v */
            }
        }
        if (!any) continue;
        size_t k = colors; /* over budget: a color of its own */
        if (cost <= budget)
            for (k = 0; mark[k] == v;) k++;
        color[v] = k;
        if (k + 1 > colors) colors = k + 1;
    }
    return colors;
}

/* The cheapest split of the items' passes: the lines longer than t taken one pass each (dense),
 * the items colored over the rest, for t from the longest line down by halves to 0 (only the
 * longest, nothing dense, when !allow). The fewest passes (colors + dense lines) wins, the
 * larger t on a tie. Fills color and dense for the winner, returns its passes; *ndense gets
 * the number of dense lines. tcolor, tdense, mark: scratch of nv, nw, nv + 1 entries. */
static size_t best_split(const incidence *g, int sym, int allow, size_t budget, size_t *color,
                         unsigned char *dense, size_t *ndense, size_t *tcolor,
                         unsigned char *tdense, size_t *mark) {
    size_t maxlen = 0;
    for (size_t w = 0; w < g->nw; w++)
        if (g->wptr[w + 1] - g->wptr[w] > maxlen) maxlen = g->wptr[w + 1] - g->wptr[w];
    size_t best = NONE;
    for (size_t t = maxlen;; t /= 2) {
        size_t nd = 0, cost = 0;
        for (size_t w = 0; w < g->nw; w++) {
            const size_t len = g->wptr[w + 1] - g->wptr[w];
            tdense[w] = len > t;
            nd += tdense[w];
            if (!tdense[w]) cost += len > SIZE_MAX / (len ? len : 1) ? SIZE_MAX : len * len;
        }
        if (cost <= budget || !allow) {
            const size_t passes = nd + color_items(g, sym, tdense, cost, budget, tcolor, mark);
            if (passes < best) {
                best = passes;
                *ndense = nd;
                if (g->nv) memcpy(color, tcolor, g->nv * sizeof *color);
                if (g->nw) memcpy(dense, tdense, g->nw);
            }
        }
        if (!allow || t == 0) break;
    }
    return best;
}

/* The rest of the plan once its rows are known: the split into passes, their seeds, which
 * entries each pass recovers, and the scratch vectors. 0 when memory runs out. */
static int finish_plan(nb_sparse *p, nb_sparse_mode mode) {
    const size_t m = p->m, n = p->n, nnz = p->nnz, mn = m > n ? m : n;
    const size_t budget = 32 * (nnz < SIZE_MAX / 64 ? nnz : SIZE_MAX / 64) + 1000000;
    /* columns' rows (compressed columns), and the scratch of the splits */
    size_t *cptr = nb__hook_get(p->alloc, p->ud, n + 1, sizeof *cptr);
    size_t *cadj = nb__hook_get(p->alloc, p->ud, nnz, sizeof *cadj);
    size_t *erow = nb__hook_get(p->alloc, p->ud, nnz, sizeof *erow);
    size_t *fcol = nb__hook_get(p->alloc, p->ud, mn, sizeof *fcol);  /* forward-major: columns' colors */
    size_t *rcol = nb__hook_get(p->alloc, p->ud, mn, sizeof *rcol);  /* reverse-major: rows' colors */
    size_t *tcol = nb__hook_get(p->alloc, p->ud, mn, sizeof *tcol);
    size_t *mark = nb__hook_get(p->alloc, p->ud, mn + 1, sizeof *mark);
    unsigned char *fden = nb__hook_get(p->alloc, p->ud, mn, 1); /* forward-major: dense rows */
    unsigned char *rden = nb__hook_get(p->alloc, p->ud, mn, 1); /* reverse-major: dense columns */
    unsigned char *tden = nb__hook_get(p->alloc, p->ud, mn, 1);
    p->cgroup = plan_get(p, n, sizeof *p->cgroup);
    p->rgroup = plan_get(p, m, sizeof *p->rgroup);
    p->gent = plan_get(p, nnz, sizeof *p->gent);
    p->gout = plan_get(p, nnz, sizeof *p->gout);
    p->seed = plan_get(p, mn, sizeof *p->seed);
    p->out = plan_get(p, mn, sizeof *p->out);
    p->ysave = plan_get(p, m, sizeof *p->ysave);
    int ok = cptr && cadj && erow && fcol && rcol && tcol && mark && fden && rden && tden &&
             p->cgroup && p->rgroup && p->gent && p->gout && p->seed && p->out && p->ysave;
    if (ok) {
        memset(cptr, 0, (n + 1) * sizeof *cptr);
        for (size_t e = 0; e < nnz; e++) cptr[p->col[e] + 1]++;
        for (size_t j = 0; j < n; j++) cptr[j + 1] += cptr[j];
        for (size_t i = 0; i < m; i++)
            for (size_t e = p->row_ptr[i]; e < p->row_ptr[i + 1]; e++) {
                erow[e] = i;
                cadj[cptr[p->col[e]]++] = i;
            }
        for (size_t j = n; j > 0; j--) cptr[j] = cptr[j - 1];
        cptr[0] = 0;
        const incidence fm = {n, m, cptr, cadj, p->row_ptr, p->col}; /* color columns */
        const incidence rm = {m, n, p->row_ptr, p->col, cptr, cadj}; /* color rows */
        size_t fd = 0, rd = 0, fpass = NONE, rpass = NONE;
        if (p->hess || mode != NB_SPARSE_REVERSE)
            fpass = best_split(&fm, p->hess, mode == NB_SPARSE_AUTO, budget, fcol, fden, &fd,
                               tcol, tden, mark);
        if (!p->hess && mode != NB_SPARSE_FORWARD)
            rpass = best_split(&rm, 0, mode == NB_SPARSE_AUTO, budget, rcol, rden, &rd, tcol,
                               tden, mark);
        /* cost in passes, a recording counted as one more: forward-major has reverse sweeps
         * for its dense rows, reverse-major always records */
        const size_t fcost = fpass == NONE ? NONE : fpass + (fd && !p->hess ? 1 : 0);
        const size_t rcost = rpass == NONE ? NONE : rpass + (rpass > rd ? 1 : 0);
        const int forward_major = fcost <= rcost;
        for (size_t j = 0; j < n; j++) p->cgroup[j] = NONE;
        for (size_t i = 0; i < m; i++) p->rgroup[i] = NONE;
        if (forward_major) {
            /* colors 0 .. F-1 forward (or HVPs); then a pass for each dense row: a reverse
             * sweep, or for a Hessian the HVP along that column */
            size_t k = fpass - fd;
            p->nfwd = p->hess ? fpass : k;
            for (size_t j = 0; j < n; j++) p->cgroup[j] = fcol[j];
            for (size_t i = 0; i < m; i++)
                if (fden[i]) {
                    if (p->hess) p->cgroup[i] = k++;
                    else p->rgroup[i] = k++;
                }
            p->passes = fpass;
        } else {
            /* a forward pass for each dense column first, then a sweep per color of rows */
            size_t k = 0;
            for (size_t j = 0; j < n; j++)
                if (rden[j]) p->cgroup[j] = k++;
            p->nfwd = k;
            for (size_t i = 0; i < m; i++) p->rgroup[i] = rcol[i] == NONE ? NONE : k + rcol[i];
            p->passes = rpass;
        }
        p->mode = p->hess ? NB_SPARSE_AUTO
                  : p->passes == 0 ? (mode == NB_SPARSE_REVERSE ? mode : NB_SPARSE_FORWARD)
                  : p->nfwd == p->passes ? NB_SPARSE_FORWARD
                  : p->nfwd == 0 ? NB_SPARSE_REVERSE : NB_SPARSE_MIXED;
        /* each entry's pass and the component of that pass's result that holds it: a dense
         * line's pass takes every entry on it */
        p->gptr = plan_get(p, p->passes + 1, sizeof *p->gptr);
        if (!p->gptr) ok = 0;
        for (size_t e = 0; ok && e < nnz; e++) {
            const size_t i = erow[e], j = p->col[e];
            size_t k, o;
            if (p->hess) {
                if (fden[j] || !fden[i]) k = p->cgroup[j], o = i; /* column j's pass */
                else k = p->cgroup[i], o = j; /* column i's pass, by symmetry */
            } else if (forward_major) {
                if (fden[i]) k = p->rgroup[i], o = j; /* the sweep seeded with row i */
                else k = p->cgroup[j], o = i;         /* the forward pass of j's color */
            } else {
                if (rden[j]) k = p->cgroup[j], o = i; /* the forward pass along column j */
                else k = p->rgroup[i], o = j;         /* the sweep of i's color */
            }
            p->gent[e] = k; /* the pass, for now */
            p->gout[e] = o;
        }
        if (ok) {
            memset(p->gptr, 0, (p->passes + 1) * sizeof *p->gptr);
            for (size_t e = 0; e < nnz; e++) p->gptr[p->gent[e] + 1]++;
            for (size_t k = 0; k < p->passes; k++) p->gptr[k + 1] += p->gptr[k];
            /* entries by pass, through erow as scratch: erow[gptr[k]++] = e */
            for (size_t e = 0; e < nnz; e++) erow[p->gptr[p->gent[e]]++] = e;
            for (size_t k = p->passes; k > 0; k--) p->gptr[k] = p->gptr[k - 1];
            p->gptr[0] = 0;
            /* gent[a] = entry, gout[a] = its component, in pass order */
            for (size_t a = 0; a < nnz; a++) {
                const size_t e = erow[a];
                cadj[a] = p->gout[e];
            }
            memcpy(p->gent, erow, nnz * sizeof *erow);
            memcpy(p->gout, cadj, nnz * sizeof *cadj);
        }
    }
    nb__hook_put(p->alloc, p->ud, cptr, n + 1, sizeof *cptr);
    nb__hook_put(p->alloc, p->ud, cadj, nnz, sizeof *cadj);
    nb__hook_put(p->alloc, p->ud, erow, nnz, sizeof *erow);
    nb__hook_put(p->alloc, p->ud, fcol, mn, sizeof *fcol);
    nb__hook_put(p->alloc, p->ud, rcol, mn, sizeof *rcol);
    nb__hook_put(p->alloc, p->ud, tcol, mn, sizeof *tcol);
    nb__hook_put(p->alloc, p->ud, mark, mn + 1, sizeof *mark);
    nb__hook_put(p->alloc, p->ud, fden, mn, 1);
    nb__hook_put(p->alloc, p->ud, rden, mn, 1);
    nb__hook_put(p->alloc, p->ud, tden, mn, 1);
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

/* The inputs reached from each of the m outputs ys over L's operands (inputs: the nodes first ..
 * first + n - 1), as entries (output, input) in q. NB_OK, or the failure (recorded). */
static nb_status reach(nb_ctx *c, nb_level *L, uint32_t first, size_t n, size_t m,
                       const nb_var *ys, coo *q) {
    const size_t nodes = L->n;
    uint32_t *stamp = nb__hook_get(c->alloc, c->alloc_ud, nodes, sizeof *stamp);
    uint32_t *stack = nb__hook_get(c->alloc, c->alloc_ud, nodes, sizeof *stack);
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
    nb__hook_put(c->alloc, c->alloc_ud, stamp, nodes, sizeof *stamp);
    nb__hook_put(c->alloc, c->alloc_ud, stack, nodes, sizeof *stack);
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
    if (!has_f || !out || (n && !x) || nb__too_many(n) || nb__too_many(m) ||
        (unsigned)mode > NB_SPARSE_REVERSE)
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
    if (!out || (nnz && (!rows || !cols)) || nb__too_many(n) || nb__too_many(m) ||
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


/* The direction of forward pass k (the columns of cgroup k) into p->seed. */
static void seed_of(const nb_sparse *p, size_t k) {
    for (size_t j = 0; j < p->n; j++) p->seed[j] = p->cgroup[j] == k ? 1.0 : 0.0;
}

/* Entries of pass k from its result r. */
static void scatter(const nb_sparse *p, size_t k, const double *r, double *val) {
    for (size_t a = p->gptr[k]; a < p->gptr[k + 1]; a++) val[p->gent[a]] = r[p->gout[a]];
}

/* The reverse passes: one recording, a sweep per pass seeded with its rows; f's values into
 * p->ysave. */
static void jac_sweeps(nb_ctx *c, nb_sparse *p, nb_vfn f, void *env, const double *x,
                       double *val) {
    const size_t n = p->n, m = p->m, d0 = c->depth;
    nb_level *L = NULL;
    if (nb__driver_begin(c, NB_REVERSE, n, m, &L)) return;
    nb_status s = nb__scratch_reserve(c, L, m ? m : 1);
    if (s) nb__fail(c, s);
    else if (!nb_rev_inputs(c, n, x, L->inputs) && c->err == NB_OK) {
        nb_var *ys = L->outputs, *seeds = L->scratch;
        for (size_t i = 0; i < m; i++) ys[i] = nb_const(0);
        f(c, L->inputs, ys, env);
        if (nb__driver_ok(c, d0)) {
            for (size_t i = 0; i < m; i++) p->ysave[i] = ys[i].v;
            for (size_t k = p->nfwd; k < p->passes && c->err == NB_OK; k++) {
                for (size_t i = 0; i < m; i++) seeds[i] = nb_const(p->rgroup[i] == k ? 1.0 : 0.0);
                nb__backward(c, L, m, ys, seeds, 1);
                nb_grads(c, n, L->inputs, p->out);
                scatter(p, k, p->out, val);
            }
        }
    }
    nb__driver_finish(c, d0);
}

nb_status nb_sparse_jacobian(nb_ctx *c, nb_sparse *p, nb_vfn f, void *env, const double *x,
                             double *y, double *val) {
    if (!c || !p || p->hess || !f || (p->n && !x) || (p->nnz && !val)) {
        if (p) { /* a Hessian's plan too: NaN over the sizes it has */
            nb__nan_doubles(y, p->m);
            nb__nan_doubles(val, p->nnz);
        }
        return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
    }
    const size_t n = p->n, m = p->m;
    if (c->err == NB_OK) {
        /* x is read by every pass, and y may be x: f's values go to ysave, into y at the end */
        if (p->passes > p->nfwd) jac_sweeps(c, p, f, env, x, val);
        for (size_t k = 0; k < p->nfwd && c->err == NB_OK; k++) {
            seed_of(p, k);
            if (nb_jvp_vec(c, f, env, n, m, x, p->seed, k == 0 ? p->ysave : NULL, p->out)) break;
            scatter(p, k, p->out, val);
        }
        if (p->passes == 0 && y) { /* no nonzero: the values only */
            memset(p->seed, 0, (n ? n : 1) * sizeof *p->seed);
            nb_jvp_vec(c, f, env, n, m, x, p->seed, p->ysave, p->out);
        }
        if (c->err == NB_OK && y && m) memcpy(y, p->ysave, m * sizeof *y);
    }
    if (c->err) {
        nb__nan_doubles(y, m);
        nb__nan_doubles(val, p->nnz);
    }
    return c->err;
}

nb_status nb_sparse_hessian(nb_ctx *c, nb_sparse *p, nb_fn f, void *env, const double *x,
                            double *fx, double *g, double *val) {
    if (!c || !p || !p->hess || !f || (p->n && !x) || (p->nnz && !val)) {
        if (p) {
            if (fx) *fx = (double)NAN;
            nb__nan_doubles(g, p->n);
            nb__nan_doubles(val, p->nnz);
        }
        return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
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
                seed_of(p, k);
                /* fx and g after the last pass: x is read by every pass, and g may be x */
                const int last = k + 1 == p->passes;
                if (nb_hvp(c, f, env, n, x, p->seed, last ? fx : NULL, last ? g : NULL, p->out))
                    break;
                scatter(p, k, p->out, val);
            }
        }
    }
    if (c->err) {
        if (fx) *fx = (double)NAN;
        nb__nan_doubles(g, n);
        nb__nan_doubles(val, p->nnz);
    }
    return c->err;
}
