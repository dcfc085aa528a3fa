/* check.c - gradient checks: nabla's derivatives against gsl_deriv_central (first order, and
 * second order as central differences of the reverse-mode gradient), and the modes against each
 * other. The verdict rule and its constants are explained in nabla/check.h. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <gsl/gsl_deriv.h>
#include <gsl/gsl_math.h>

#include "check_internal.h"
#include "internal.h"
#include "nabla/check.h"
#include "nabla/taylor.h"

/* ---- the central difference ---- */

/* phi, recording what the rounding bound needs: the largest |phi| and the smallest step. */
typedef struct recorder {
    nb__slice_fn phi;
    void *env;
    double x, fmax, hmin;
} recorder;

static double recorded(double t, void *p) {
    recorder *r = p;
    double v = r->phi(t, r->env), a = fabs(v), d = fabs(t - r->x);
    if (!(a <= r->fmax)) r->fmax = a; /* NaN sticks */
    if (d > 0 && d < r->hmin) r->hmin = d;
    return v;
}

void nb__central_diff(nb__slice_fn phi, void *env, double x, double h, nb__central *out) {
    recorder r = {phi, env, x, 0, INFINITY};
    gsl_function F;
    F.function = recorded;
    F.params = &r;
    out->fd = NAN;
    out->err = NAN;
    /* gsl_deriv_central always returns GSL_SUCCESS and never calls GSL's error handler */
    gsl_deriv_central(&F, x, h, &out->fd, &out->err);
    out->fmax = r.fmax;
    out->hmin = r.hmin;
}

/* ---- options and reports ---- */

void nb_check_opts_init(nb_check_opts *o) {
    if (!o) return;
    o->order = 2;
    o->step = 1e-4;
    o->k = 4;
    o->rtol = 1e-7;
    o->atol = 0;
    o->resolve = 1e-2;
    o->scale_tol = 1e-8;
    o->mode_rtol = 1e-12;
    o->mode_atol = 0;
}

static int tol_ok(double t) { return isfinite(t) && t >= 0; }

static int opts_ok(const nb_check_opts *o) {
    return (o->order == 1 || o->order == 2) && isfinite(o->step) && o->step > 0 && tol_ok(o->k) &&
           tol_ok(o->rtol) && tol_ok(o->atol) && tol_ok(o->resolve) && tol_ok(o->scale_tol) &&
           tol_ok(o->mode_rtol) && tol_ok(o->mode_atol);
}

void nb_check_report_free(nb_check_report *r) {
    if (!r) return;
    if (r->entries && r->alloc_)
        r->alloc_(r->alloc_ud_, r->entries, r->count * sizeof *r->entries, 0);
    memset(r, 0, sizeof *r);
}

const char *nb_check_kind_name(nb_check_kind k) {
    switch (k) {
    case NB_CHECK_GRAD: return "reverse";
    case NB_CHECK_JVP: return "forward";
    case NB_CHECK_HESS: return "forward over reverse";
    case NB_CHECK_FWD_REV: return "forward vs reverse";
    case NB_CHECK_TAYLOR_REV: return "Taylor vs reverse";
    case NB_CHECK_TAYLOR_HESS: return "Taylor vs Hessian";
    case NB_CHECK_HESS_SYM: return "Hessian symmetry";
    }
    return "?";
}

const char *nb_check_verdict_name(nb_check_verdict v) {
    switch (v) {
    case NB_CHECK_PASS: return "ok";
    case NB_CHECK_DIFFER: return "DIFFER";
    case NB_CHECK_UNRESOLVED: return "UNRESOLVED";
    case NB_CHECK_NONFINITE: return "NONFINITE";
    }
    return "?";
}

/* Scratch memory from the context's hook: one block, carved into arrays. */
typedef struct scratch {
    nb_ctx *c;
    void *block;
    size_t size;
} scratch;

static void *scratch_get(scratch *s, size_t bytes) {
    s->block = s->c->alloc(s->c->alloc_ud, NULL, 0, bytes ? bytes : 1);
    s->size = bytes ? bytes : 1;
    return s->block;
}

static void scratch_free(scratch *s) {
    if (s->block) s->c->alloc(s->c->alloc_ud, s->block, s->size, 0);
    s->block = NULL;
}

/* a * b + d elements of `size` bytes, or SIZE_MAX on overflow */
static size_t bytes_of(size_t a, size_t b, size_t d, size_t size) {
    if (b && a > (SIZE_MAX - d) / b) return SIZE_MAX;
    size_t m = a * b + d;
    return m > SIZE_MAX / size ? SIZE_MAX : m * size;
}

/* Entries of a report: 2 n first-order, n n second-order (both kinds of report). */
static size_t entry_count(size_t n, int order) {
    if (n > SIZE_MAX / 4) return SIZE_MAX;
    return order == 2 ? bytes_of(n, n + 2, 0, 1) : 2 * n;
}

static nb_status report_alloc(nb_ctx *c, size_t n, size_t count, nb_check_report *out) {
    memset(out, 0, sizeof *out);
    out->n = n;
    out->fx = NAN;
    out->alloc_ = c->alloc;
    out->alloc_ud_ = c->alloc_ud;
    if (count == 0) return NB_OK;
    size_t bytes = bytes_of(count, 1, 0, sizeof *out->entries);
    if (bytes == SIZE_MAX) return NB_E_NOMEM;
    out->entries = c->alloc(c->alloc_ud, NULL, 0, bytes);
    if (!out->entries) return NB_E_NOMEM;
    out->count = count;
    memset(out->entries, 0, bytes);
    return NB_OK;
}

static void report_finish(nb_check_report *r) {
    r->failed = 0;
    for (size_t k = 0; k < r->count; k++) r->failed += r->entries[k].verdict != NB_CHECK_PASS;
    r->pass = r->failed == 0;
}

/* ---- verdicts ---- */

/* An entry against a central difference; its verdict comes later (judge), when the scale of its
 * order is known. xi is the point of the difference. */
static void fd_entry(nb_check_entry *e, nb_check_kind kind, size_t i, size_t j, double value,
                     const nb__central *r, double xi) {
    e->kind = kind;
    e->i = i;
    e->j = j;
    e->value = value;
    e->ref = r->fd;
    e->ref_err = r->err;
    double s = fmax(fabs(value), fabs(r->fd));
    /* GSL's rounding estimate for a step h is at most (6 eps F + eps s |x|) / h, and every step
     * it used is >= 2 hmin */
    e->ref_round = isfinite(r->hmin) ? 4 * DBL_EPSILON * (r->fmax + s * fabs(xi)) / r->hmin : 0;
}

/* An entry comparing two modes; `terms` is the sum of the magnitudes of the terms ref adds up
 * (0 when it is one number). Verdict later, as for fd_entry. */
static void mode_entry(nb_check_entry *e, nb_check_kind kind, size_t i, size_t j, double value,
                       double ref, double terms) {
    e->kind = kind;
    e->i = i;
    e->j = j;
    e->value = value;
    e->ref = ref;
    e->ref_err = 0;
    e->ref_round = terms; /* kept here until judged */
}

/* The largest finite max(|value|, |ref|) of entries [from, to): the scale of one order. */
static double order_scale(const nb_check_entry *e, size_t from, size_t to) {
    double S = 0;
    for (size_t k = from; k < to; k++) {
        if (isfinite(e[k].value)) S = fmax(S, fabs(e[k].value));
        if (isfinite(e[k].ref)) S = fmax(S, fabs(e[k].ref));
    }
    return S;
}

/* Verdicts of the central-difference entries [from, to) of one order (the rule in
 * nabla/check.h). */
static void judge_fd(nb_check_entry *entries, size_t from, size_t to, const nb_check_opts *o) {
    double S = order_scale(entries, from, to);
    for (size_t k = from; k < to; k++) {
        nb_check_entry *e = &entries[k];
        double s = fmax(fabs(e->value), fabs(e->ref));
        e->diff = fabs(e->value - e->ref);
        e->rel = s > 0 ? e->diff / s : 0;
        e->tol = o->k * e->ref_err + o->rtol * s + o->atol;
        /* GSL's rounding bound (ref_round) is not part of the bound: it grows with |f|, and
         * with it 1e11 + x*stop_gradient(x) passed with df/dx = 1.5 against 3 (a review). Only
         * a derivative and a difference both exactly 0 are resolved whatever abserr says. */
        e->res_tol = o->resolve * s + o->scale_tol * S + o->atol;
        if (!isfinite(e->value) || !isfinite(e->ref) || !isfinite(e->ref_err))
            e->verdict = NB_CHECK_NONFINITE;
        else if (e->diff > e->tol)
            e->verdict = NB_CHECK_DIFFER;
        else if (e->ref_err > e->res_tol && !(e->value == 0 && e->ref == 0))
            e->verdict = NB_CHECK_UNRESOLVED;
        else
            e->verdict = NB_CHECK_PASS;
    }
}

/* Verdicts of the cross-mode entries [from, to) of one order. */
static void judge_modes(nb_check_entry *entries, size_t from, size_t to, const nb_check_opts *o) {
    double S = order_scale(entries, from, to);
    for (size_t k = from; k < to; k++) {
        nb_check_entry *e = &entries[k];
        double a = e->value, b = e->ref, terms = e->ref_round, s = fmax(fabs(a), fabs(b));
        e->ref_round = 0;
        e->res_tol = 0;
        if ((isnan(a) && isnan(b)) || (isinf(a) && a == b)) {
            /* the same NaN policy in both modes */
            e->diff = 0;
            e->rel = 0;
            e->tol = 0;
            e->verdict = NB_CHECK_PASS;
            continue;
        }
        e->tol = o->mode_rtol * fmax(fmax(s, terms), S) + o->mode_atol;
        e->diff = fabs(a - b);
        e->rel = s > 0 ? e->diff / s : 0;
        if (!isfinite(a) || !isfinite(b))
            e->verdict = NB_CHECK_NONFINITE;
        else
            e->verdict = e->diff > e->tol ? NB_CHECK_DIFFER : NB_CHECK_PASS;
    }
}

/* ---- slices of f and of its gradient ---- */

#define CACHE 16 /* gradients kept per column of the Hessian check */

typedef struct slice {
    nb_ctx *c;
    nb_fn f;
    void *env;
    size_t n;
    const double *x;
    size_t along;   /* the input that moves */
    nb_var *xs;     /* n constant handles */
    double *xv;     /* n doubles (gradient slices) */
    size_t comp;    /* gradient slices: the component */
    /* gradient slices: gradients at up to CACHE points t, shared by the components */
    double *cache_t;
    double *cache_g; /* CACHE x n */
    size_t cached, next;
    nb_status status;
} slice;

/* f with input `along` at t, the others at x, on plain values (constant handles). */
static double f_slice(double t, void *p) {
    slice *s = p;
    for (size_t k = 0; k < s->n; k++) s->xs[k] = nb_const(k == s->along ? t : s->x[k]);
    const size_t d0 = s->c->depth;
    nb_var y = s->f(s->c, s->xs, s->env);
    nb__balanced(s->c, d0);
    if (s->c->err && !s->status) s->status = s->c->err;
    return nb_value(y);
}

/* Component `comp` of nabla's reverse-mode gradient with input `along` at t. GSL asks every
 * component for the same four points of its first pass (x -+ h, x -+ h/2: the step depends only
 * on x_along): they are computed once; second passes have steps of their own. */
static double g_slice(double t, void *p) {
    slice *s = p;
    for (size_t k = 0; k < s->cached; k++)
        if (s->cache_t[k] == t) return s->cache_g[k * s->n + s->comp];
    memcpy(s->xv, s->x, s->n * sizeof *s->xv);
    s->xv[s->along] = t;
    size_t slot = s->next;
    double *g = s->cache_g + slot * s->n;
    nb_status st = nb_gradient(s->c, s->f, s->env, s->n, s->xv, NULL, g);
    if (st && !s->status) s->status = st;
    s->cache_t[slot] = t;
    /* the first four are the first pass's points, which every component asks for: never evicted */
    s->next = slot + 1 < CACHE ? slot + 1 : 4;
    if (s->cached < CACHE) s->cached++;
    return g[s->comp];
}

static double step_at(const nb_check_opts *o, double x) { return o->step * fmax(1, fabs(x)); }

/* The start both checks share: validates the arguments, copies the options (the defaults for NULL)
 * into *o, gives *nn = n * n (SIZE_MAX on overflow) and allocates the report. NB_OK, or the status
 * to return (with the report empty). */
static nb_status check_begin(nb_ctx *c, nb_fn f, size_t n, const double *x,
                             const nb_check_opts *opts, nb_check_report *out, nb_check_opts *o,
                             size_t *nn) {
    if (out) memset(out, 0, sizeof *out);
    nb_check_opts_init(o);
    if (opts) *o = *opts;
    if (!c || !f || !out || (n && !x) || !opts_ok(o)) return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
    if (c->err) return c->err;
    *nn = bytes_of(n, n, 0, 1);
    /* order 1: 2 n first-order entries; order 2 adds n (n + 1) / 2 Hessian and n (n - 1) / 2
     * symmetry entries */
    size_t count = entry_count(n, o->order);
    if (*nn == SIZE_MAX || count == SIZE_MAX) return nb__fail(c, NB_E_NOMEM);
    nb_status st = report_alloc(c, n, count, out);
    if (st) {
        nb_check_report_free(out);
        return nb__fail(c, st);
    }
    return NB_OK;
}

/* ---- nb_check ---- */

nb_status nb_check(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x,
                   const nb_check_opts *opts, nb_check_report *out) {
    nb_check_opts o;
    size_t nn;
    nb_status st = check_begin(c, f, n, x, opts, out, &o, &nn);
    if (st) return st;
    /* scratch: g, jv, xv, cache_t (CACHE), cache_g (CACHE n), H (n n) doubles; xs (n handles) */
    scratch sc = {c, NULL, 0};
    size_t nd = bytes_of(n, CACHE + 3, CACHE + (o.order == 2 ? nn : 0), sizeof(double));
    size_t nv = bytes_of(n, 1, 0, sizeof(nb_var));
    char *mem = NULL;
    if (nd == SIZE_MAX || nv == SIZE_MAX || nd > SIZE_MAX - nv ||
        !(mem = scratch_get(&sc, nd + nv)))
        st = NB_E_NOMEM;
    if (st) {
        nb_check_report_free(out);
        return nb__fail(c, st);
    }
    double *g = (double *)(void *)mem, *jv = g + n, *xv = jv + n, *cache_t = xv + n;
    double *cache_g = cache_t + CACHE, *H = cache_g + CACHE * n;
    nb_var *xs = (nb_var *)(void *)(mem + nd);
    double *dir = xv; /* unit vectors for the jvps (xv is free until the second order) */

    st = nb_gradient(c, f, env, n, x, &out->fx, g);
    for (size_t i = 0; i < n && !st; i++) {
        memset(dir, 0, n * sizeof *dir);
        dir[i] = 1;
        st = nb_jvp(c, f, env, n, x, dir, NULL, &jv[i]);
    }
    /* first order: both modes against one central difference per input */
    slice s = {c, f, env, n, x, 0, xs, xv, 0, cache_t, cache_g, 0, 0, NB_OK};
    for (size_t i = 0; i < n && !st; i++) {
        nb__central r;
        s.along = i;
        nb__central_diff(f_slice, &s, x[i], step_at(&o, x[i]), &r);
        st = s.status;
        fd_entry(&out->entries[2 * i], NB_CHECK_GRAD, i, i, g[i], &r, x[i]);
        fd_entry(&out->entries[2 * i + 1], NB_CHECK_JVP, i, i, jv[i], &r, x[i]);
    }
    /* second order: H[i][j] against the central difference of reverse-mode g_i along x_j */
    if (o.order == 2 && n && !st) st = nb_hessian(c, f, env, n, x, NULL, NULL, H);
    for (size_t j = 0; j < n && o.order == 2 && !st; j++) {
        s.along = j;
        s.cached = s.next = 0;
        for (size_t i = 0; i < n && !st; i++) {
            nb__central r;
            s.comp = i;
            nb__central_diff(g_slice, &s, x[j], step_at(&o, x[j]), &r);
            st = s.status;
            fd_entry(&out->entries[2 * n + i * n + j], NB_CHECK_HESS, i, j, H[i * n + j], &r, x[j]);
        }
    }
    scratch_free(&sc);
    if (st) {
        nb_check_report_free(out);
        return nb__fail(c, st);
    }
    judge_fd(out->entries, 0, 2 * n, &o);
    judge_fd(out->entries, 2 * n, out->count, &o);
    report_finish(out);
    return NB_OK;
}

/* ---- nb_check_modes ---- */

nb_status nb_check_modes(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x,
                         const nb_check_opts *opts, nb_check_report *out) {
    nb_check_opts o;
    size_t nn;
    nb_status st = check_begin(c, f, n, x, opts, out, &o, &nn);
    if (st) return st;
    /* scratch: g, jv, dir, t1, t2 (n each), H (n n) */
    scratch sc = {c, NULL, 0};
    size_t nd = bytes_of(n, 5, o.order == 2 ? nn : 0, sizeof(double));
    double *g = NULL;
    if (nd == SIZE_MAX || !(g = scratch_get(&sc, nd))) st = NB_E_NOMEM;
    if (st) {
        nb_check_report_free(out);
        return nb__fail(c, st);
    }
    double *jv = g + n, *dir = jv + n, *t1 = dir + n, *t2 = t1 + n, *H = t2 + n;
    const int K = o.order;
    double coef[3];

    st = nb_gradient(c, f, env, n, x, &out->fx, g);
    for (size_t i = 0; i < n && !st; i++) {
        memset(dir, 0, n * sizeof *dir);
        dir[i] = 1;
        st = nb_jvp(c, f, env, n, x, dir, NULL, &jv[i]);
        if (!st) st = nb_taylor(c, f, env, n, x, dir, K, coef);
        if (st) break;
        t1[i] = coef[1];
        t2[i] = K == 2 ? 2 * coef[2] : 0;
    }
    size_t e = 0;
    for (size_t i = 0; i < n && !st; i++) {
        mode_entry(&out->entries[e++], NB_CHECK_FWD_REV, i, i, jv[i], g[i], 0);
        mode_entry(&out->entries[e++], NB_CHECK_TAYLOR_REV, i, i, t1[i], g[i], 0);
    }
    if (K == 2 && n && !st) st = nb_hessian(c, f, env, n, x, NULL, NULL, H);
    for (size_t i = 0; i < n && K == 2 && !st; i++) {
        for (size_t j = i; j < n && !st; j++) {
            double q, scale, taylor;
            if (i == j) {
                q = H[i * n + i];
                scale = fabs(q);
                taylor = t2[i];
            } else {
                /* (e_i + e_j)^T H (e_i + e_j): the mixed entries through a Taylor pass */
                double hij = H[i * n + j], hji = H[j * n + i];
                q = H[i * n + i] + hij + hji + H[j * n + j];
                scale = fabs(H[i * n + i]) + fabs(hij) + fabs(hji) + fabs(H[j * n + j]);
                memset(dir, 0, n * sizeof *dir);
                dir[i] = dir[j] = 1;
                if ((st = nb_taylor(c, f, env, n, x, dir, 2, coef))) break;
                taylor = 2 * coef[2];
            }
            mode_entry(&out->entries[e++], NB_CHECK_TAYLOR_HESS, i, j, taylor, q, scale);
        }
    }
    for (size_t i = 0; i < n && K == 2 && !st; i++)
        for (size_t j = i + 1; j < n; j++)
            mode_entry(&out->entries[e++], NB_CHECK_HESS_SYM, i, j, H[i * n + j], H[j * n + i], 0);
    scratch_free(&sc);
    if (st) {
        nb_check_report_free(out);
        return nb__fail(c, st);
    }
    judge_modes(out->entries, 0, 2 * n, &o);
    judge_modes(out->entries, 2 * n, out->count, &o);
    report_finish(out);
    return NB_OK;
}

/* ---- a custom op alone (nabla/custom.h) ---- */

struct custom_alone {
    const nb_custom_op *op;
    size_t k;
    void *env;
};
static nb_var custom_alone_fn(nb_ctx *c, const nb_var *x, void *p) {
    const struct custom_alone *a = p;
    return nb_custom(c, a->op, x, a->k, a->env);
}

nb_status nb_custom_check(nb_ctx *c, const nb_custom_op *op, const double *x, size_t k,
                          void *env, const nb_check_opts *opts, nb_check_report *out) {
    if (out) memset(out, 0, sizeof *out);
    if (!c) return NB_E_ARG;
    if (!op || !op->value || !x || k == 0 || k > NB_CUSTOM_MAX_ARGS) return nb__fail(c, NB_E_ARG);
    struct custom_alone a = {op, k, env};
    /* a NULL rule is nb_check's own error: f fails (NB_E_NODIFF) once nb_check's argument checks
     * and its rule about an error already recorded have had their say */
    return nb_check(c, custom_alone_fn, &a, k, x, opts, out);
}
