/* plot.c - sampling f and its derivatives (and the finite-difference overlay), the TSV table, and
 * the gnuplot script (robust y-range, gaps at non-finite values, breaks at poles and kinks).
 * Rendering is in gnuplot.c. */
#define _POSIX_C_SOURCE 200809L /* strcasecmp */
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check_internal.h"
#include "internal.h"
#include "nabla/plot.h"
#include "nabla/taylor.h"
#include "plot_internal.h"

void nb_plot_init(nb_plot *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->a = -5;
    p->b = 5;
    p->samples = 501;
    p->ncurves = 2;
    p->orders[0] = 0;
    p->orders[1] = 1;
    p->timeout = 120;
}

void nb_plot_data_free(nb_plot_data *d) {
    if (!d) return;
    free(d->x);
    free(d->y);
    free(d->fd);
    free(d->fd_err);
    free(d->fd_diff);
    free(d->ext_x);
    free(d->ext_y);
    free(d->pole_x);
    free(d->pole_curves);
    memset(d, 0, sizeof *d);
}

void nb_plot_label(int order, char *buf, size_t size) {
    if (order <= 3) {
        static const char *const names[4] = {"f", "f'", "f''", "f'''"};
        snprintf(buf, size, "%s", names[order < 0 ? 0 : order]);
    } else {
        snprintf(buf, size, "f^(%d)", order);
    }
}

static int plot_valid(const nb_plot *p) {
    /* the width b - a must be a double too: the samples and the scales are computed from it */
    if (!p || !isfinite(p->a) || !isfinite(p->b) || !(p->a < p->b) || !isfinite(p->b - p->a))
        return 0;
    if (p->samples < 2 || p->samples > NB_PLOT_MAX_SAMPLES) return 0;
    if (p->ncurves < 1 || p->ncurves > NB_PLOT_MAX_CURVES) return 0;
    for (int c = 0; c < p->ncurves; c++)
        if (p->orders[c] < 0 || p->orders[c] > NB_PLOT_MAX_ORDER) return 0;
    return 1;
}

static int max_order(const nb_plot *p) {
    int k = 0;
    for (int c = 0; c < p->ncurves; c++)
        if (p->orders[c] > k) k = p->orders[c];
    return k;
}

static nb_status table_alloc(const nb_plot *p, nb_plot_data *d) {
    memset(d, 0, sizeof *d);
    d->n = p->samples;
    d->ncurves = p->ncurves;
    memcpy(d->orders, p->orders, sizeof d->orders);
    d->x = malloc(d->n * sizeof *d->x);
    d->y = malloc(d->n * (size_t)d->ncurves * sizeof *d->y);
    if (p->check) {
        d->check = 1;
        d->fd = malloc(d->n * sizeof *d->fd);
        d->fd_err = malloc(d->n * sizeof *d->fd_err);
        d->fd_diff = malloc(d->n * sizeof *d->fd_diff);
    }
    if (!d->x || !d->y || (p->check && (!d->fd || !d->fd_err || !d->fd_diff))) {
        nb_plot_data_free(d);
        return NB_E_NOMEM;
    }
    /* (b - a) i overflows for a range wider than DBL_MAX / (n - 1) though b - a does not (0:1e306
     * at 501 samples gave x = inf from the 181st on): there i / (n - 1) first */
    const double w = p->b - p->a, m = (double)(d->n - 1);
    const int wide = fabs(w) > DBL_MAX / m;
    for (size_t i = 0; i < d->n; i++) {
        /* the ends exactly: a + (b - a) i / (n - 1) can miss b by an ulp */
        d->x[i] = i + 1 == d->n ? p->b
                  : wide        ? p->a + w * ((double)i / m)
                                : p->a + w * (double)i / m;
    }
    return NB_OK;
}

/* Stores the derivatives d^k of point i: deriv[k] for k = 0 .. K, and f in f0[i]. */
static void store(nb_plot_data *d, size_t i, const double *deriv, double *f0) {
    for (int c = 0; c < d->ncurves; c++) d->y[(size_t)c * d->n + i] = deriv[d->orders[c]];
    f0[i] = deriv[0];
}

/* Where f is not finite, a finite derivative is not shown: at a pole on a sample (1/x^2 + x at 0,
 * exp(1/x^2) + x on a whole run around 0, 1/max(x, 0) on an interval) the rules' strong zero
 * makes the pole term's part 0 and leaves whatever the smooth terms add, a finite value inside
 * the pole that the pole finder cannot see (a spike, and a y-range set by the pole's
 * neighbours). Where f has only overflowed (1e300 x^2 beyond 1.3e4) the derivative would be
 * right, but nothing in the samples tells the two apart, and a wrong number drawn is worse than
 * a right one hidden. It becomes NaN, a gap, and so does the overlay's |f'-fd| there. So does an
 * infinite derivative there: the strong zero gives 1/x^2 at 0 the derivatives 0, -inf, 0, +inf,
 * where the limits are -+inf, +inf, -+inf, +inf (a review found the -inf in the table); log at
 * 0 had the right +inf, which the samples cannot tell apart either. */
static void blank_poles(nb_plot_data *d, const double *f0) {
    const size_t n = d->n;
    for (size_t i = 0; i < n; i++) {
        if (isfinite(f0[i])) continue;
        for (int c = 0; c < d->ncurves; c++) {
            double *v = &d->y[(size_t)c * n + i];
            if (d->orders[c] > 0) *v = (double)NAN;
        }
        if (d->check) d->fd_diff[i] = d->fd[i] = (double)NAN; /* fd too: a finite value there
                                                               * drew the overlay through the pole */
    }
}

/* ---- the finite-difference overlay ---- */

/* The central difference's initial step at x: the check's relative step, scaled to the plot's
 * range so that a narrow plot is not differenced across its own features. */
static double fd_step(const nb_plot *p, double x) {
    return 1e-4 * fmax(fabs(x), (p->b - p->a) / 10);
}

/* The overlay at sample i: the central difference of phi and its distance from f' by AD. */
static void store_fd(nb_plot_data *d, const nb_plot *p, size_t i, nb__slice_fn phi, void *env,
                     double d1) {
    nb__central r;
    nb__central_diff(phi, env, d->x[i], fd_step(p, d->x[i]), &r);
    d->fd[i] = r.fd;
    d->fd_err[i] = r.err;
    d->fd_diff[i] = fabs(d1 - r.fd);
}

/* f along the plotted variable, on plain doubles: an expression... */
typedef struct expr_slice {
    nb_expr *e;
    double *vals;
    size_t nvals, wrt;
} expr_slice;

static double expr_at(double t, void *p) {
    expr_slice *s = p;
    if (s->nvals) s->vals[s->wrt] = t;
    double v = NAN;
    nb_expr_eval(s->e, s->vals, &v); /* bound: no error but NaN values */
    return v;
}

/* ... or a user function on constant handles */
typedef struct fn_slice {
    nb_ctx *c;
    nb_fn f;
    void *env;
    nb_var *xs;
    size_t wrt;
} fn_slice;

static double fn_at(double t, void *p) {
    fn_slice *s = p;
    s->xs[s->wrt] = nb_const(t);
    const size_t d0 = s->c->depth;
    const double v = nb_value(s->f(s->c, s->xs, s->env));
    return nb__balanced(s->c, d0) ? v : (double)NAN;
}

/* The derivatives at sample i by Taylor mode, and with p->rounding the rounding estimate folded
 * into out's worst (err: K + 1 doubles of scratch); out NULL: a point between the samples, no
 * estimate. */
static nb_status taylor_at(const nb_plot *p, nb_ctx *c, nb_fn f, void *env, size_t n,
                           const double *vals, const double *dir, int K, double *deriv, double *err,
                           nb_plot_data *out, size_t i) {
    /* at most NB_PLOT_ROUNDING_SAMPLES evenly spaced samples: cancellation is a property of the
     * function and the order that changes slowly along x, and a million samples would otherwise
     * cost a million more Taylor passes */
    if (!out || !p->rounding) return nb_taylor_derivatives(c, f, env, n, vals, dir, K, deriv);
    const size_t stride = out->n > NB_PLOT_ROUNDING_SAMPLES ? out->n / NB_PLOT_ROUNDING_SAMPLES : 1;
    if (i % stride != 0)
        return nb_taylor_derivatives(c, f, env, n, vals, dir, K, deriv);
    nb_status s = nb_taylor_derivatives_err(c, f, env, n, vals, dir, K, deriv, err);
    for (int j = 0; j < out->ncurves && !s; j++) {
        const int k = out->orders[j];
        if (k < 2 || deriv[k] == 0 || !isfinite(deriv[k]) || !isfinite(err[k])) continue;
        const double rel = err[k] / fabs(deriv[k]);
        if (rel > out->rounding) {
            out->rounding = rel;
            out->rounding_order = k;
            out->rounding_x = out->x[i];
        }
    }
    return s;
}

/* Where the samplers evaluate f and its derivatives: an expression (e, dv its dual values) or
 * a user function (f and env, on c); vals, dir and wrt as the samplers have them, err K + 1
 * doubles of scratch. */
typedef struct point_src {
    const nb_plot *p;
    int K;
    nb_expr *e;
    nb_dual *dv;
    nb_fn f;
    void *env;
    nb_ctx *c;
    size_t nvals, wrt;
    double *vals, *err;
    const double *dir;
} point_src;

/* deriv[0 .. K] at x; out and i name the sample for the rounding estimate (out NULL: a point
 * between the samples). */
static nb_status point_at(point_src *s, double x, double *deriv, nb_plot_data *out, size_t i) {
    if (s->nvals) s->vals[s->wrt] = x;
    if (s->e) {
        if (s->K > 1)
            return taylor_at(s->p, s->c, nb_expr_fn, s->e, s->nvals, s->vals, s->dir, s->K, deriv,
                             s->err, out, i);
        /* dual numbers: one pass gives f and f' */
        if (s->nvals) s->dv[s->wrt] = nb_dual_var(x);
        nb_dual r;
        const nb_status st = nb_expr_eval_dual(s->e, s->dv, &r);
        deriv[0] = r.v;
        if (s->K == 1) deriv[1] = s->nvals ? r.d : 0;
        return st;
    }
    if (s->K == 1) return nb_jvp(s->c, s->f, s->env, s->nvals, s->vals, s->dir, &deriv[0], &deriv[1]);
    return taylor_at(s->p, s->c, s->f, s->env, s->nvals, s->vals, s->dir, s->K, deriv, s->err, out,
                     i);
}

static nb_status add_pole_ends(nb_plot_data *d, point_src *src, double *deriv);

double nb_plot_work(const nb_plot *p, const nb_expr *e) {
    if (!p || !e) return 0;
    int K = 1;
    for (int i = 0; i < p->ncurves && i < NB_PLOT_MAX_CURVES; i++)
        if (p->orders[i] > K) K = p->orders[i];
    const double k1 = K + 1.0, m = (double)nb_expr_program_size(e);
    return (double)p->samples * (m > 0 ? m : 1) * k1 * k1;
}

nb_status nb_plot_sample_expr(const nb_plot *p, nb_expr *e, size_t nvals, const double *at,
                              size_t wrt, nb_plot_data *out) {
    if (!out) return NB_E_ARG;
    memset(out, 0, sizeof *out);
    if (!plot_valid(p) || !e || (nvals && !at) || (nvals && wrt >= nvals)) return NB_E_ARG;
    /* the evaluators read one value per bound name: any other count would read past at[] or
     * leave values unset */
    if (nb_expr_var_count(e) > 0 && nvals != nb_expr_bound_count(e)) return NB_E_ARG;
    nb_status s = table_alloc(p, out);
    if (s) return s;
    /* the overlay compares with f', so it needs order 1 at least */
    const int K = p->check && max_order(p) < 1 ? 1 : max_order(p);
    size_t nv = nvals ? nvals : 1;
    double *vals = malloc(nv * sizeof *vals), *dir = calloc(nv, sizeof *dir);
    double *deriv = malloc(2 * ((size_t)K + 1) * sizeof *deriv), *err = deriv ? deriv + K + 1 : NULL;
    nb_dual *dv = malloc(nv * sizeof *dv);
    double *fdvals = p->check ? malloc(nv * sizeof *fdvals) : NULL, *f0 = malloc(out->n * sizeof *f0);
    nb_ctx *c = NULL;
    if (!vals || !dir || !deriv || !dv || !f0 || (p->check && !fdvals) ||
        (K >= 2 && nb_ctx_new(&c, NULL)))
        s = NB_E_NOMEM;
    if (!s) {
        for (size_t j = 0; j < nvals; j++) {
            vals[j] = at[j];
            dv[j] = nb_dual_const(at[j]);
            if (fdvals) fdvals[j] = at[j];
        }
        if (nvals) dir[wrt] = 1;
    }
    expr_slice slice = {e, fdvals, nvals, wrt};
    point_src src = {p, K, e, dv, NULL, NULL, c, nvals, wrt, vals, err, dir};
    for (size_t i = 0; i < out->n && !s; i++) {
        s = point_at(&src, out->x[i], deriv, out, i);
        store(out, i, deriv, f0);
        if (p->check && !s) store_fd(out, p, i, expr_at, &slice, deriv[1]);
    }
    if (!s) blank_poles(out, f0);
    if (!s) s = add_pole_ends(out, &src, deriv);
    nb_ctx_free(c);
    free(vals);
    free(dir);
    free(deriv);
    free(dv);
    free(fdvals);
    free(f0);
    if (s) nb_plot_data_free(out);
    return s;
}

nb_status nb_plot_sample_fn(const nb_plot *p, nb_ctx *c, nb_fn f, void *env, size_t n,
                            const double *at, size_t wrt, nb_plot_data *out) {
    if (!out) return NB_E_ARG;
    memset(out, 0, sizeof *out);
    if (!plot_valid(p) || !c || !f || !n || !at || wrt >= n) return NB_E_ARG;
    nb_status s = table_alloc(p, out);
    if (s) return s;
    const int K = max_order(p) < 1 ? 1 : max_order(p);
    double *vals = malloc(n * sizeof *vals), *dir = calloc(n, sizeof *dir);
    double *deriv = malloc(2 * ((size_t)K + 1) * sizeof *deriv), *err = deriv ? deriv + K + 1 : NULL;
    nb_var *xs = p->check ? malloc(n * sizeof *xs) : NULL;
    double *f0 = malloc(out->n * sizeof *f0);
    if (!vals || !dir || !deriv || !f0 || (p->check && !xs)) s = NB_E_NOMEM;
    if (!s) {
        memcpy(vals, at, n * sizeof *vals);
        dir[wrt] = 1;
        for (size_t j = 0; xs && j < n; j++) xs[j] = nb_const(at[j]);
    }
    fn_slice slice = {c, f, env, xs, wrt};
    point_src src = {p, K, NULL, NULL, f, env, c, n, wrt, vals, err, dir};
    for (size_t i = 0; i < out->n && !s; i++) {
        s = point_at(&src, out->x[i], deriv, out, i);
        store(out, i, deriv, f0);
        if (p->check && !s) {
            store_fd(out, p, i, fn_at, &slice, deriv[1]);
            s = nb_ctx_status(c);
        }
    }
    if (!s) blank_poles(out, f0);
    if (!s) s = add_pole_ends(out, &src, deriv);
    free(vals);
    free(dir);
    free(deriv);
    free(xs);
    free(f0);
    if (s) nb_plot_data_free(out);
    return s;
}

/* ---- writing ---- */

static void print_num(FILE *f, double v) {
    if (isnan(v))
        fputs("nan", f);
    else if (isinf(v))
        fputs(v > 0 ? "inf" : "-inf", f);
    else
        fprintf(f, "%.17g", v);
}

nb_status nb_plot_write_data(FILE *f, const nb_plot_data *d, const char *xname) {
    if (!f || !d || !d->x) return NB_E_ARG;
    fputs(xname ? xname : "x", f);
    for (int c = 0; c < d->ncurves; c++) {
        char label[32];
        nb_plot_label(d->orders[c], label, sizeof label);
        fprintf(f, "\t%s", label);
    }
    int fd = d->check && d->fd && d->fd_err && d->fd_diff;
    if (fd) fputs("\tfd\tfd_err\t|f'-fd|", f);
    fputc('\n', f);
    for (size_t i = 0; i < d->n; i++) {
        print_num(f, d->x[i]);
        for (int c = 0; c < d->ncurves; c++) {
            fputc('\t', f);
            print_num(f, d->y[(size_t)c * d->n + i]);
        }
        if (fd) {
            double cols[3] = {d->fd[i], d->fd_err[i], d->fd_diff[i]};
            for (int k = 0; k < 3; k++) {
                fputc('\t', f);
                print_num(f, cols[k]);
            }
        }
        fputc('\n', f);
    }
    return fflush(f) == 0 && !ferror(f) ? NB_OK : NB_E_IO; /* also what stdio still buffered */
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* 1 when |y| grows toward sample i from sample i-1 faster and faster (log-convex growth, as
 * 1/d^k near a pole; a smooth peak such as exp(-x^2) or 1/(x^2 + a) is log-concave there). */
static int accelerating(const double *y, size_t n, size_t i, int dir) {
    /* the samples i - dir, i - 2 dir must exist */
    if (dir > 0 ? i < 2 : i + 2 >= n) return 0;
    double a = fabs(y[dir > 0 ? i - 2 : i + 2]), b = fabs(y[dir > 0 ? i - 1 : i + 1]), c = fabs(y[i]);
    if (!isfinite(a) || !isfinite(b) || !isfinite(c) || a == 0 || b == 0) return 0;
    return c > b && b > a && c / b >= b / a;
}

/* 1 when the growth toward sample i is as steep as a pole's at the sample nearest to it: the last
 * step at least 3 times the one before. y = A + B/d^k with the pole within half a sample of i
 * gives (1/(1/2)^k - 1/(3/2)^k) / (1/(3/2)^k - 1/(5/2)^k) >= 3.25 for k >= 1/2 (5 for 1/d), and
 * a bounded peak of finite width, such as 1/(|x| + a) or 10 - sqrt(|x|), gives about 1 and
 * 1/(sqrt(2) - 1) = 2.41. A cusp |x|^p with p < 0.41 is as steep and is taken for a pole. */
static int pole_steep(const double *y, size_t n, size_t i, int dir) {
    if (dir > 0 ? i < 2 : i + 2 >= n) return 0;
    double a = fabs(y[dir > 0 ? i - 2 : i + 2]), b = fabs(y[dir > 0 ? i - 1 : i + 1]), c = fabs(y[i]);
    /* the steepness first: cheap, and false almost everywhere on a smooth curve (mark_poles runs
     * at every sample of every curve) */
    return c > b && b > a && c - b >= 3 * (b - a) && accelerating(y, n, i, dir);
}

/* For sample i next to a pole on its side dir (the pole between i and i + dir, the sample i + dir
 * climbing steeply toward it from beyond), two conditions:
 *   - |y| at i is at least 1.5 times |y| at i + 2 dir, the steep sample's other neighbour, which
 *     is farther from the pole than i (h + d against h - d for a pole at d from i + dir; 1.5 is
 *     d >= h/5 for 1/d, d >= h/10 for 1/d^2), or at least as large where y changes sign between
 *     i and i + dir. A peak on one sample with equal neighbours - a narrow bounded peak (1/(|x|
 *     + a) with a below the step, f' of atan(100x)) or a pole close to that sample - is left to
 *     the one-sample branch of mark_poles, which breaks the line only where y changes sign;
 *   - |y| climbs toward i faster and faster, or, at the end of the samples where that cannot be
 *     seen, one step up (one sample behind i) or, with none behind, |y| at i no more than 1.5
 *     times |y| at i + dir (a pole nearer the end sample than the steep one is not found). */
static int approaching(const double *y, size_t n, size_t i, int dir) {
    const long far = (long)i + 2 * dir;
    if (far < 0 || (size_t)far >= n) return 0;
    const double c = fabs(y[i]), f = fabs(y[far]);
    /* across a sign change (an odd pole: 1/(x - a) with a next to a sample) only larger: a
     * bounded peak does not change sign */
    const size_t next = dir > 0 ? i + 1 : i - 1;
    const double ratio = (y[i] < 0) != (y[next] < 0) ? 1 : 1.5;
    if (!isfinite(c) || !isfinite(f) || !(c >= ratio * f)) return 0;
    if (accelerating(y, n, i, dir)) return 1;
    const size_t behind = dir > 0 ? i : n - 1 - i; /* samples on the far side of i */
    /* the first or last sample: a pole nearer the steep sample leaves it the larger, where growth
     * that goes on past it (exp, or (x - 4.99) exp(x^2) crossing zero on the way) makes the end
     * sample larger still (a third and a fourth review: exp at 5 samples had its last sample cut
     * off the y-range; a sign change alone took that zero crossing for a pole) */
    if (behind == 0) return c <= 1.5 * fabs(y[next]);
    if (behind > 1) return 0;
    const double b = fabs(y[dir > 0 ? i - 1 : i + 1]);
    return isfinite(b) && b > 0 && c > b;
}

/* Marks the samples within w of a pole of curve y in excl (when not NULL), and in gap (when not
 * NULL) the intervals a line must not cross: gap[i] = 1 between samples i and i + 1. A pole is a
 * non-finite sample that |y| climbs toward faster and faster (1/x at 0, log at 0), two neighbouring
 * samples that both climb toward the gap between them (tan, with a sign change; tan', without; next
 * to the first or last sample, where the climb cannot be seen to accelerate, one step up or none;
 * the less steep one larger than the steeper one's other neighbour, see approaching), or
 * one sample that |y| climbs to with accelerating growth from both sides (a sample that lands on
 * the pole's peak; the line is broken on the side where y changes sign). In the last two the
 * growth on one side must be as steep as a pole's (pole_steep). A kink (a sign change of a
 * derivative without growth), a steep zero crossing, a smooth peak or a bounded cusp is not a
 * pole. */
enum { POLE_AT = 1, POLE_BETWEEN = 2, POLE_PEAK = 4 }; /* mark_poles' kinds */

static void mark_poles(const double *x, const double *y, size_t n, double w, unsigned char *excl,
                       unsigned char *gap, unsigned char *kind) {
    for (size_t i = 0; i < n; i++) {
        double where = NAN;
        if (!isfinite(y[i])) {
            if ((i >= 1 && accelerating(y, n, i - 1, 1)) || (i + 1 < n && accelerating(y, n, i + 1, -1))) {
                where = x[i];
                if (kind) kind[i] |= POLE_AT;
            }
        } else if (i + 1 < n && isfinite(y[i + 1]) &&
                   ((pole_steep(y, n, i, 1) && (i + 3 >= n || fabs(y[i]) >= fabs(y[i + 1])) &&
                     approaching(y, n, i + 1, -1)) ||
                    (pole_steep(y, n, i + 1, -1) && (i < 2 || fabs(y[i + 1]) >= fabs(y[i])) &&
                     approaching(y, n, i, 1)))) {
            /* between two samples that both climb toward it: tan (a sign change), tan' (none).
             * The steep one is the larger, nearer the pole, unless the other is too near the end
             * for its own steepness to be seen (f' of atan(100x) climbs steeply to the sample
             * before its one-sample peak, which is larger still: not a pole there) */
            where = 0.5 * (x[i] + x[i + 1]);
            if (gap) gap[i] = 1;
            if (kind) kind[i] |= POLE_BETWEEN;
        } else if (i >= 2 && i + 2 < n && (pole_steep(y, n, i, 1) || pole_steep(y, n, i, -1)) &&
                   accelerating(y, n, i, 1) && accelerating(y, n, i, -1)) {
            where = x[i];
            if (gap) {
                if ((y[i - 1] < 0) != (y[i] < 0)) gap[i - 1] = 1;
                if ((y[i + 1] < 0) != (y[i] < 0)) gap[i] = 1;
            }
            if (kind) kind[i] |= POLE_PEAK;
        }
        if (isnan(where) || !excl) continue;
        /* the samples within w of the pole: x increases, so scan outward from i and stop at the
         * first one outside (linear in the samples excluded, not in n per pole) */
        for (size_t j = i + 1; j-- > 0 && fabs(x[j] - where) < w;) excl[j] = 1;
        for (size_t j = i + 1; j < n && fabs(x[j] - where) < w; j++) excl[j] = 1;
    }
}

/* gnuplot takes numbers beyond about DBL_MAX / 2 (its VERYLARGE) as undefined: such a value is
 * a gap in the drawing, and a range is kept within it. */
#define GNUPLOT_MAX 8.9e307
#define PLOT_MIN_WIDTH 1e-303
static int drawable(double v) { return isfinite(v) && fabs(v) <= GNUPLOT_MAX; }
static double clamp_finite(double v) {
    return v > GNUPLOT_MAX ? GNUPLOT_MAX : v < -GNUPLOT_MAX ? -GNUPLOT_MAX : v;
}

/* ---- points near the poles ----
 * The samples stop a branch at the last sample before a pole, often inside the visible range
 * (tgamma' at 501 samples over -5:5 reached -104 beside -4, drawn as a U); these points follow
 * each branch out. For each pole mark_poles finds in a curve, the pole is located between its
 * samples (regula falsi on 1/y where a curve changes sign across it, the one of the lowest
 * order, else a golden-section search for the largest |y|), and points are added at distances
 * d0 / 2, d0 / 4, ... from it on each side (d0: the nearest sample's distance), evaluated on
 * every curve, until each curve that grows there has gone past 1000 times the largest |y| of all
 * curves' samples, is not finite, or has stopped growing (three steps under 1%: not a pole after
 * all). The evaluations are budgeted: at most the number of samples plus 256 in all, shared out
 * among the poles (at least ENDS_SHARE each; left to right beyond what that covers). A pole
 * whose search ran out of its share gets no point inside the bracket it was left with. */
enum { ENDS_HALVINGS = 64 }; /* the most points on each side of a pole */
enum { ENDS_SHARE = 48 };    /* the fewest evaluations a pole is given */

typedef struct ends {
    nb_plot_data *d;
    point_src *src;
    double *deriv, *row; /* K + 1, ncurves */
    size_t budget;
    int failed;       /* f failed at a point (its status returned through the search) */
    size_t next, cap; /* points: x, and rows of ncurves values */
    double *ex, *ey;
    size_t np, pcap;
    double *px;
    unsigned *pm, *pf; /* a pole's curves, and those that stopped growing there (no pole) */
    /* the bracket ends_locate was left with when its evaluations ran out before it narrowed to
     * its tolerance (NaN when it did, or when nothing was located): the pole is somewhere
     * inside, so ends_approach puts no point there */
    double open_lo, open_hi;
    /* set by ends_locate when the sign change it followed was a zero of the curve, not a pole
     * (|y| fell toward it): nothing located */
    int zero;
    double out; /* out of the picture: twice the largest |y| of the y-range (nb__plot_yrange) */
} ends;

/* The curves' values at x into E->row, blanked where f is not finite as blank_poles does. */
static nb_status ends_eval(ends *E, double x) {
    E->budget--;
    nb_status s = point_at(E->src, x, E->deriv, NULL, 0);
    if (s) E->failed = 1;
    const nb_plot_data *d = E->d;
    for (int c = 0; c < d->ncurves; c++) {
        const int k = d->orders[c];
        E->row[c] = k > 0 && !isfinite(E->deriv[0]) ? (double)NAN : E->deriv[k];
    }
    return s;
}

/* Appends x and the row (NaN for the curves not in mask). */
static nb_status ends_keep(ends *E, double x, unsigned mask) {
    const size_t nc = (size_t)E->d->ncurves;
    if (E->next == E->cap) {
        const size_t cap = E->cap ? 2 * E->cap : 64;
        double *ex = realloc(E->ex, cap * sizeof *ex);
        if (!ex) return NB_E_NOMEM;
        E->ex = ex;
        double *ey = realloc(E->ey, cap * nc * sizeof *ey);
        if (!ey) return NB_E_NOMEM;
        E->ey = ey;
        E->cap = cap;
    }
    E->ex[E->next] = x;
    for (size_t c = 0; c < nc; c++)
        E->ey[E->next * nc + c] = mask >> c & 1u ? E->row[c] : (double)NAN;
    E->next++;
    return NB_OK;
}

static nb_status ends_pole(ends *E, double x, unsigned mask, unsigned flat) {
    if (E->np == E->pcap) {
        const size_t cap = E->pcap ? 2 * E->pcap : 16;
        double *px = realloc(E->px, cap * sizeof *px);
        if (!px) return NB_E_NOMEM;
        E->px = px;
        unsigned *pm = realloc(E->pm, cap * sizeof *pm);
        if (!pm) return NB_E_NOMEM;
        E->pm = pm;
        unsigned *pf = realloc(E->pf, cap * sizeof *pf);
        if (!pf) return NB_E_NOMEM;
        E->pf = pf;
        E->pcap = cap;
    }
    E->px[E->np] = x;
    E->pf[E->np] = flat;
    E->pm[E->np++] = mask;
    return NB_OK;
}

/* |y| of curve c at the last point evaluated, a value that is not finite counting as infinite
 * (the pole itself, or a derivative blanked where f is not finite). */
static double abs_at(const ends *E, int c) {
    return isfinite(E->row[c]) ? fabs(E->row[c]) : INFINITY;
}

/* The pole of curve c between a and b (its values ya, yb there) into *xp: by regula falsi on
 * 1/y when ya and yb are finite with opposite signs, else by a golden-section search for the
 * largest |y| (a value that is not finite is the pole itself). Where the evaluations run out
 * first, the bracket left into E->open_lo and E->open_hi. */
static nb_status ends_locate(ends *E, int c, double a, double b, double ya, double yb, double *xp) {
    nb_status s = NB_OK;
    *xp = a + 0.5 * (b - a);
    E->open_lo = E->open_hi = (double)NAN;
    if (isfinite(ya) && isfinite(yb) && ya != 0 && yb != 0 && (ya < 0) != (yb < 0)) {
        /* regula falsi on 1/y, which has a simple root at a simple pole (cot at pi/2), with the
         * Illinois rule (the end kept twice has its value halved), a bisection step after each
         * step that did not halve the bracket, and bisection alone after twelve such steps (a
         * pole of higher order, 1/y = x^3, where the steps gain little): 6 to 25 evaluations
         * for tan, 1/sin, tgamma, 1/x - 10 where bisection took 45 to 65, and about 15% more
         * than bisection for 1/x^3 */
        const double a0 = a, b0 = b;
        double ga = 1 / ya, gb = 1 / yb, width = b - a;
        /* |y| at the ends once they moved (-1 before): a pole's grows toward it, a zero's falls,
         * and a zero is no pole (exp(1/x) at 9 samples over [-0.3, 7.1]: f''' changes sign at its
         * zero -0.211 beside the pole at 0+, was "located" there, and f', evaluated on the points,
         * was drawn across 0; a review) */
        double fa = -1, fb = -1;
        int side = 0, bisect = 0, slow = 0, narrow = 0;
        while (E->budget > 0) {
            const double mid = a + 0.5 * (b - a);
            if (!(mid > a && mid < b)) {
                narrow = 1;
                break;
            }
            /* located well enough once the bracket is narrower than ends_approach's nearest
             * points (ENDS_HALVINGS halvings of the distance to the samples), which then stay on
             * their side of it, or than a few ulps; the last bits are no closer than that near
             * 0, where the doubles go on to 1e-308 and bisection took a thousand steps (1/x
             * over [-5, 5.1]: the whole budget, and no point for any pole) */
            const double tol = fmax(ldexp(fmin(mid - a0, b0 - mid), -ENDS_HALVINGS),
                                    0.5 * DBL_EPSILON * fabs(mid));
            if (b - a <= tol) {
                narrow = 1;
                break;
            }
            double m = mid;
            const int interp = !bisect && slow < 12;
            if (interp) {
                /* kept tol inside the bracket: an end on the pole to the last bits (the step
                 * lands on it again) is then straddled */
                const double t = fmin(fmax(b - gb * ((b - a) / (gb - ga)), a + tol), b - tol);
                if (t > a && t < b) m = t;
            }
            if ((s = ends_eval(E, m))) return s;
            const double v = E->row[c];
            *xp = m;
            if (!isfinite(v)) return NB_OK; /* on the pole */
            if (v == 0) {                    /* on a zero, not a pole */
                *xp = (double)NAN;
                E->zero = 1;
                return NB_OK;
            }
            if ((v < 0) == (ya < 0)) {
                a = m, ga = 1 / v, fa = fabs(v);
                if (side < 0) gb *= 0.5;
                side = -1;
            } else {
                b = m, gb = 1 / v, fb = fabs(v);
                if (side > 0) ga *= 0.5;
                side = 1;
            }
            bisect = interp && b - a > 0.5 * width;
            slow += bisect;
            width = b - a;
            *xp = a + 0.5 * (b - a);
        }
        if ((fa >= 0 || fb >= 0) && fa < fabs(ya) && fb < fabs(yb)) {
            /* every end that moved fell: a zero */
            *xp = (double)NAN;
            E->zero = 1;
            return NB_OK;
        }
        /* the share spent before the bracket is narrow (a pole of higher order, 1/y = x^3, is
         * located by bisection alone): the midpoint may be farther from the pole than the
         * nearest points (tan'' at 21 samples was located 5e-6 from pi/2 and its points on one
         * side crossed the pole, a line from +4e16 to -8e18 through the picture; a review) */
        if (!narrow) E->open_lo = a, E->open_hi = b;
        return NB_OK;
    }
    const double g = 0.61803398874989485; /* (sqrt(5) - 1) / 2 */
    const double a0 = a, b0 = b;
    double x1 = b - g * (b - a), x2 = a + g * (b - a), f1, f2;
    if (E->budget < 2) {
        E->open_lo = a, E->open_hi = b;
        return NB_OK;
    }
    if ((s = ends_eval(E, x1))) return s;
    f1 = abs_at(E, c);
    if ((s = ends_eval(E, x2))) return s;
    f2 = abs_at(E, c);
    while (E->budget > 0 && f1 < INFINITY && f2 < INFINITY) {
        if (f1 >= f2) {
            b = x2, x2 = x1, f2 = f1;
            x1 = b - g * (b - a);
            if (!(x1 > a && x1 < x2)) break;
            if ((s = ends_eval(E, x1))) return s;
            f1 = abs_at(E, c);
        } else {
            a = x1, x1 = x2, f1 = f2;
            x2 = a + g * (b - a);
            if (!(x2 > x1 && x2 < b)) break;
            if ((s = ends_eval(E, x2))) return s;
            f2 = abs_at(E, c);
        }
    }
    /* out of evaluations, the first two included (exp(1/x) at 5 samples over [-0.3, 7.1] with
     * orders 0 to 5: the search after a zero had 2 left, its first probe 0.41 was taken as the
     * pole at 0+, and the point at 0.053 between them was joined to -0.3 across it; a review) */
    if (E->budget == 0 && f1 < INFINITY && f2 < INFINITY) E->open_lo = a, E->open_hi = b;
    *xp = f1 >= f2 ? x1 : x2;
    /* out of evaluations with the bracket still at an end of the one searched: the largest |y|
     * may lie beyond that end, past the sample there (cos(x)/sin(x) over [-20, 20] at 17
     * samples: a search between -12.5 and -10 climbed toward the pole at -4 pi beyond -12.5,
     * was kept at -12.48, and the line was joined across the pole; a review): none located */
    if (isfinite(E->open_lo) && (a == a0 || b == b0)) *xp = (double)NAN;
    /* the largest |y| at an end of the bracket: the pole the samples suggest is not inside it
     * (1/(x - 4.981)^2 at 501 samples, taken as between 4.96 and 4.98): none located */
    if (*xp - a0 <= 1e-9 * (b0 - a0) || b0 - *xp <= 1e-9 * (b0 - a0)) *xp = (double)NAN;
    return NB_OK;
}

/* Points from distance d0 on side dir (-1, +1) toward the pole at xp, for the curves in mask, none
 * inside the open bracket E->open_lo .. E->open_hi (a pole not located to its tolerance); *grew
 * gets the curves that went past the bound, or were still growing when x stopped moving: a curve
 * that stopped growing (three steps under 1%, into *flat) has no pole there, and one cut short by
 * the budget or the bracket is not known to have one. */
static nb_status ends_approach(ends *E, double xp, double d0, int dir, unsigned mask,
                               double bound, unsigned *grew, unsigned *flat) {
    double prev[NB_PLOT_MAX_CURVES] = {0};
    int stall[NB_PLOT_MAX_CURVES] = {0}, k = 1;
    unsigned live = mask, past = 0, high = 0;
    *flat = 0;
    double last = xp + dir * d0;
    for (; k <= ENDS_HALVINGS && live; k++) {
        const double x = xp + dir * ldexp(d0, -k);
        if (x == last || x == xp) break; /* no longer moves */
        if (E->budget == 0 || (dir < 0 ? x > E->open_lo : x < E->open_hi)) {
            /* cut short: a curve still growing counts when it is out of the picture already,
             * past twice the y-range (E->out) (tan' at 201 samples over [-20, 20] with tan'''
             * reached 8e10, where the y-range is +-200, and was dropped at every pole: its
             * bound is 1000 times tan''''s samples; a review; and tan(x) + 10 x at 51 samples
             * with f' and f'', at 1e7 against a y-range of +-245, was dropped by a threshold of
             * twice the largest sample of all curves, and drawn across its poles; a review).
             * One that is not is not known to have a pole there, nor one whose last step did
             * not grow (1/(x^2 + 1e-8) at 21 samples over [-5, 5.1] with f' and f'': f,
             * flattening at the top of its peak, 1e8, after two steps under 1%, was kept as a
             * pole; a review). */
            for (int c = 0; c < E->d->ncurves; c++)
                if (live >> c & 1u && stall[c] == 0 && prev[c] >= E->out) high |= 1u << c;
            live = 0;
            break;
        }
        last = x;
        nb_status s = ends_eval(E, x);
        if (!s) s = ends_keep(E, x, mask);
        if (s) return s;
        for (int c = 0; c < E->d->ncurves; c++) {
            if (!(live >> c & 1u)) continue;
            const double v = fabs(E->row[c]);
            if (!isfinite(v) || v >= bound) {
                past |= 1u << c;
                live &= ~(1u << c);
            } else if (v < 1.01 * prev[c]) {
                if (++stall[c] >= 3) {
                    live &= ~(1u << c);
                    *flat |= 1u << c;
                }
            } else {
                stall[c] = 0;
            }
            prev[c] = v;
        }
    }
    /* still growing when x stopped moving counts only after 16 halvings: a pole located next
     * to its sample leaves a few ulps to approach it, where nothing is seen */
    *grew = past | high | (k > 16 ? live : 0u);
    return NB_OK;
}

/* Sorts idx[0 .. m-1] by key[idx[j]], stably: an insertion sort, as the points come nearly in
 * order (poles left to right; a right side's run reversed, at most 64 points). */
static void sort_by(size_t *idx, size_t m, const double *key) {
    for (size_t j = 1; j < m; j++) {
        const size_t v = idx[j];
        size_t k = j;
        for (; k > 0 && key[idx[k - 1]] > key[v]; k--) idx[k] = idx[k - 1];
        idx[k] = v;
    }
}

/* Orders the points and the poles by x into d's fields. */
static nb_status ends_publish(ends *E) {
    nb_plot_data *d = E->d;
    const size_t m = E->next, nc = (size_t)d->ncurves;
    size_t *idx = malloc((m > E->np ? m : E->np) * sizeof *idx + 1);
    double *ex = malloc(m * sizeof *ex + 1), *ey = malloc(m * nc * sizeof *ey + 1);
    double *px = malloc(E->np * sizeof *px + 1);
    unsigned *pm = malloc(E->np * sizeof *pm + 1);
    if (!idx || !ex || !ey || !px || !pm) {
        free(idx), free(ex), free(ey), free(px), free(pm);
        return NB_E_NOMEM;
    }
    for (size_t j = 0; j < m; j++) idx[j] = j;
    sort_by(idx, m, E->ex);
    for (size_t j = 0; j < m; j++) {
        ex[j] = E->ex[idx[j]];
        for (size_t c = 0; c < nc; c++) ey[c * m + j] = E->ey[idx[j] * nc + c];
    }
    for (size_t j = 0; j < E->np; j++) idx[j] = j;
    sort_by(idx, E->np, E->px);
    for (size_t j = 0; j < E->np; j++) {
        px[j] = E->px[idx[j]];
        pm[j] = E->pm[idx[j]];
    }
    free(idx);
    d->next = m, d->ext_x = ex, d->ext_y = ey;
    d->npoles = E->np, d->pole_x = px, d->pole_curves = pm;
    return NB_OK;
}

/* The largest |y| of the samples' finite values, over every curve. */
static double largest(const nb_plot_data *d) {
    double m = 0;
    for (size_t j = 0; j < d->n * (size_t)d->ncurves; j++)
        if (isfinite(d->y[j]) && fabs(d->y[j]) > m) m = fabs(d->y[j]);
    return m;
}

/* The curves with a pole of kind 1 << k at sample i (bit c), a peak beside a pole between
 * samples left out: that pole, followed there. */
static unsigned pole_mask(const unsigned short *at, size_t n, size_t i, int k) {
    unsigned mask = at[(size_t)k * n + i];
    if (1 << k == POLE_PEAK && mask) mask &= ~(unsigned)(at[n + i - 1] | at[n + i]);
    return mask;
}

/* A curve that changes sign between samples i and i + 1 climbing toward them from both sides,
 * as an odd pole does, the one of the lowest order, or -1: the pole of tan' (none) is located by
 * regula falsi on tan's sign, where the search for the largest |y| of tan' got it to 3e-8 within
 * its share of the evaluations, which tan's own points then crossed short of their bound; and on
 * the sign of tan rather than of tan'', whose pole of order 3 regula falsi gains little on (a
 * review: 5e-6 off after 24 evaluations). */
static int sign_change(const nb_plot_data *d, size_t i) {
    const size_t n = d->n;
    int best = -1;
    for (int c = 0; c < d->ncurves; c++) {
        if (best >= 0 && d->orders[c] >= d->orders[best]) continue;
        const double *y = d->y + (size_t)c * n;
        if (!isfinite(y[i]) || !isfinite(y[i + 1]) || y[i] == 0 || y[i + 1] == 0 ||
            (y[i] < 0) == (y[i + 1] < 0))
            continue;
        if (i > 0 && !(fabs(y[i - 1]) < fabs(y[i]))) continue;
        if (i + 2 < n && !(fabs(y[i + 2]) < fabs(y[i + 1]))) continue;
        best = c;
    }
    return best;
}

/* Locates the pole of kind 1 << k at sample i of the curves in mask with at most half of
 * E->budget, adds the points of both sides with the rest, and keeps the pole for the curves that
 * grow toward it. E->budget ends with what was not used. */
static nb_status follow_pole(ends *E, size_t i, int k, unsigned mask, double bound) {
    const nb_plot_data *d = E->d;
    const size_t n = d->n, nc = (size_t)d->ncurves, all = E->budget;
    const double *x = d->x;
    int c0 = 0; /* the first curve with the pole locates it */
    while (!(mask >> c0 & 1u)) c0++;
    const double *y = d->y + (size_t)c0 * n;
    double xp = x[i], lo = i > 0 ? x[i - 1] : NAN, hi = i + 1 < n ? x[i + 1] : NAN;
    const size_t first = E->next;
    nb_status s = NB_OK;
    /* the bracket: between samples i and i + 1, or beside sample i on either side */
    if (1 << k == POLE_BETWEEN) lo = x[i], hi = x[i + 1];
    /* a pole another curve's marks led to already, inside the bracket, is this one: its points
     * were evaluated on every curve (below), so there is nothing more to do, and the whole share
     * goes back to the others (half of it was lost here: tan over [-5, 5] at 21 samples with f,
     * f' and f'' left 7 evaluations for 3 pi/2, located 0.07 from it; a review). The curves
     * marked here break their lines at it unless its points showed them stop growing: log|x|
     * with its f'', whose pole was kept for f'' alone (log grows too slowly to pass the bound
     * within the share), was drawn across 0 from -1.9 to -3.57 (a review) */
    for (size_t j = E->np; j-- > 0 && 1 << k != POLE_AT;)
        if (E->px[j] > lo && E->px[j] < hi) {
            E->pm[j] |= mask & ~E->pf[j];
            return NB_OK;
        }
    E->budget = all / 2;
    E->open_lo = E->open_hi = (double)NAN;
    E->zero = 0;
    const int cs = 1 << k == POLE_BETWEEN ? sign_change(d, i) : -1;
    int cl = -1, cr = -1;
    if (1 << k == POLE_BETWEEN) {
        const double *ys = d->y + (size_t)(cs >= 0 ? cs : c0) * n;
        s = ends_locate(E, cs >= 0 ? cs : c0, x[i], x[i + 1], ys[i], ys[i + 1], &xp);
    } else if (1 << k == POLE_PEAK) {
        /* beside sample i: across the sign change if there is one */
        if (isfinite(y[i - 1]) && (y[i - 1] < 0) != (y[i] < 0))
            s = ends_locate(E, c0, x[i - 1], x[i], y[i - 1], y[i], &xp);
        else if (isfinite(y[i + 1]) && (y[i + 1] < 0) != (y[i] < 0))
            s = ends_locate(E, c0, x[i], x[i + 1], y[i], y[i + 1], &xp);
        else if ((cl = sign_change(d, i - 1)) >= 0 || (cr = sign_change(d, i)) >= 0) {
            const size_t j = cl >= 0 ? i - 1 : i;
            const int c = cl >= 0 ? cl : cr;
            const double *ys = d->y + (size_t)c * n;
            s = ends_locate(E, c, x[j], x[j + 1], ys[j], ys[j + 1], &xp);
        } else
            s = ends_locate(E, c0, x[i - 1], x[i + 1], NAN, NAN, &xp);
    }
    if (!s && E->zero) {
        /* the sign change followed was a zero, not this pole: the largest |y| of the marked
         * curve instead, as where no curve changes sign */
        E->zero = 0;
        s = ends_locate(E, c0, 1 << k == POLE_BETWEEN ? x[i] : x[i - 1], x[i + 1], NAN, NAN, &xp);
    }
    if (1 << k == POLE_PEAK) {
        if (xp > x[i]) lo = x[i];
        if (xp < x[i]) hi = x[i];
    }
    E->budget += all - all / 2;
    if (!s && isnan(xp)) return NB_OK; /* none inside the bracket */
    /* a search left with a bracket that holds a sample cannot tell on which side of it the
     * pole is: none is kept (cos(x)/sin(x) over [-20, 20] at 17 samples kept the pole at
     * -12.48, right of the sample -12.5 where the pole is left of it, and the line was joined
     * across -4 pi; a review). The marks on the samples break the lines as before. */
    for (size_t j = 0; !s && j < n && isfinite(E->open_lo); j++)
        if (x[j] > E->open_lo && x[j] < E->open_hi) return NB_OK;
    /* the points of both sides; a curve that grows on neither side has no pole here (a bounded
     * peak the samples made look like one): its values there are dropped, and the marks on the
     * samples break its line as before */
    unsigned gl = 0, gr = 0, fl = 0, fr = 0;
    /* every curve is evaluated there: one whose samples did not show this pole (tan at 17
     * samples, where tan' showed it) is followed too when it grows toward it */
    const unsigned every = (1u << nc) - 1;
    /* (the left side first, with all that is left: giving it half made slow curves pass the
     * bound on neither side, their points dropped, and lines were joined across poles: lgamma
     * at 35 samples across -3, sec' at 51 samples to order 3 across 3 pi/2; a review. The
     * right side's branches stop short where the left one spent the share: tan to order 3 over
     * [-20, 20], tgamma over [-10, 5]) */
    if (!s && isfinite(lo)) s = ends_approach(E, xp, xp - lo, -1, every, bound, &gl, &fl);
    if (!s && isfinite(hi)) s = ends_approach(E, xp, hi - xp, 1, every, bound, &gr, &fr);
    const unsigned pole = every & (gl | gr);
    if (s && E->failed) {
        /* f fails near this pole (a user function's error there, where every sample succeeded):
         * the points are extras, so this pole gets none and the samples are drawn as before;
         * the error recorded in the context is cleared */
        if (E->src->c) nb_ctx_clear_error(E->src->c);
        E->failed = 0;
        E->next = first;
        return NB_OK;
    }
    if (s) return s;
    if (!pole) {
        E->next = first;
        return NB_OK;
    }
    for (size_t j = first; j < E->next; j++)
        for (size_t c = 0; c < nc; c++)
            if (!(pole >> c & 1u)) E->ey[j * nc + c] = (double)NAN;
    return ends_pole(E, xp, pole, (fl | fr) & ~pole);
}

static nb_status add_pole_ends(nb_plot_data *d, point_src *src, double *deriv) {
    const size_t n = d->n, nc = (size_t)d->ncurves;
    if (n < 3) return NB_OK;
    ends E = {d, src, deriv, NULL, n + 256, 0, 0, 0, NULL, NULL, 0, 0, NULL, NULL, NULL, NAN, NAN, 0, 0};
    /* the curves with a pole of each kind at each sample (bit c) */
    unsigned short *at = calloc(3 * n, sizeof *at);
    unsigned char *kind = malloc(n);
    E.row = malloc(nc * sizeof *E.row);
    nb_status s = at && kind && E.row ? NB_OK : NB_E_NOMEM;
    int any = 0;
    for (size_t c = 0; c < nc && !s; c++) {
        memset(kind, 0, n);
        mark_poles(d->x, d->y + c * n, n, 0, NULL, NULL, kind);
        for (size_t i = 0; i < n; i++) {
            if (!kind[i]) continue;
            any = 1;
            for (int k = 0; k < 3; k++)
                if (kind[i] >> k & 1) at[(size_t)k * n + i] |= (unsigned short)(1u << c);
        }
    }

    /* the budget is shared out: each pole gets the evaluations left over the poles left, half
     * of them to locate it, and what it does not use stays for the others (left to right, the
     * poles on the right of tan over [-20, 20] got none) */
    size_t poles = 0;
    for (size_t i = 0; i < n && any; i++)
        for (int k = 0; k < 3; k++) poles += pole_mask(at, n, i, k) != 0;
    const double bound = clamp_finite(1000 * largest(d));
    double ylo = 0, yhi = 0;
    if (!s && any) s = nb__plot_yrange(d, &ylo, &yhi);
    E.out = fmin(2 * fmax(fabs(ylo), fabs(yhi)), bound);
    for (size_t i = 0; i < n && any && !s && E.budget > 0; i++) {
        for (int k = 0; k < 3 && !s && E.budget > 0; k++) {
            const unsigned mask = pole_mask(at, n, i, k);
            if (!mask) continue;
            /* at least ENDS_SHARE each: with more poles than that covers, left to right until
             * the budget is spent (tan over [-1000, 1000] at 2001 samples) */
            const size_t pool = E.budget;
            size_t share = pool / poles--;
            if (share < ENDS_SHARE) share = pool < ENDS_SHARE ? pool : ENDS_SHARE;
            E.budget = share;
            s = follow_pole(&E, i, k, mask, bound);
            E.budget = pool - share + E.budget;
        }
    }
    if (!s && E.np) s = ends_publish(&E);
    free(at);
    free(kind);
    free(E.row);
    free(E.ex);
    free(E.ey);
    free(E.px);
    free(E.pm);
    free(E.pf);
    return s;
}

nb_status nb__plot_yrange(const nb_plot_data *d, double *lo, double *hi) {
    *lo = -1;
    *hi = 1;
    size_t n = d->n;
    if (n == 0 || !d->x || !d->y) return NB_OK;
    unsigned char *excl = malloc(n ? n : 1);
    double *v = malloc((n ? n : 1) * sizeof *v);
    if (!excl || !v) {
        free(excl);
        free(v);
        return NB_E_NOMEM;
    }
    double a = INFINITY, b = -INFINITY;
    /* each curve: its finite values away from its poles (2% of the x range on each side, and
     * at least the samples next to the pole) */
    double w = 0.02 * (d->x[n - 1] - d->x[0]), h = n > 1 ? 1.01 * (d->x[1] - d->x[0]) : 0;
    if (w < h) w = h;
    for (int c = 0; c < d->ncurves; c++) {
        const double *y = d->y + (size_t)c * n;
        memset(excl, 0, n);
        mark_poles(d->x, y, n, w, excl, NULL, NULL);
        size_t m = 0, all = 0;
        for (size_t i = 0; i < n; i++) {
            if (!drawable(y[i])) continue;
            all++;
            if (!excl[i]) v[m++] = y[i];
        }
        if (m < all / 4) {
            /* poles everywhere (tan over many periods): the central 80% of the values, widened */
            m = 0;
            for (size_t i = 0; i < n; i++)
                if (drawable(y[i])) v[m++] = y[i];
            if (m == 0) continue;
            qsort(v, m, sizeof *v, cmp_double);
            double q0 = v[(size_t)(0.1 * (double)(m - 1))], q1 = v[(size_t)(0.9 * (double)(m - 1))];
            const double spread = 0.5 * q1 - 0.5 * q0; /* half of q1 - q0, never overflowing */
            v[0] = clamp_finite(q0 - spread);
            v[1] = clamp_finite(q1 + spread);
            m = 2;
        }
        for (size_t i = 0; i < m; i++) {
            if (v[i] < a) a = v[i];
            if (v[i] > b) b = v[i];
        }
    }
    free(excl);
    free(v);
    if (!isfinite(a) || !isfinite(b)) return NB_OK; /* nothing finite: any range */
    if (!(b > a)) { /* a constant curve */
        double half = fabs(a) > 0 ? 0.5 * fabs(a) : 1;
        a = clamp_finite(a - half);
        b = clamp_finite(b + half);
    }
    double margin = 0.05 * b - 0.05 * a; /* 5% of b - a, which may overflow near DBL_MAX */
    *lo = clamp_finite(a - margin);
    *hi = clamp_finite(b + margin);
    return NB_OK;
}

/* Writes curve y as the inline data block $name: its drawable samples, with a blank line (a break
 * in the line) at gaps, jumps (nb__plot_break) and across the poles mark_poles finds; and merged
 * in by x, the drawable points near poles ey[0 .. next-1] at ex (NULL when none) and a break at
 * each pole of px whose pm has bit. Between two samples with points of this curve between them
 * only the poles break the line. gap is n bytes of scratch. */
typedef struct block_ends {
    const double *ex, *ey, *px;
    const unsigned *pm;
    size_t next, np;
    unsigned bit;
} block_ends;

/* 1 when a pole the samples did not show may lie between a value `far` and a value `near`
 * nearer a followed pole: the sign changes and |y| is larger away from that pole (a branch of
 * the followed pole grows toward it, and crosses zero falling away from it, if at all). */
static int hidden_pole(double far, double near) {
    return far != 0 && near != 0 && (far < 0) != (near < 0) && fabs(near) < fabs(far);
}

/* The first of e's poles from index q on that breaks this curve's line (INFINITY: none). */
static double next_pole(const block_ends *e, size_t q, size_t np) {
    for (; q < np; q++)
        if (e->pm[q] & e->bit) return e->px[q];
    return INFINITY;
}

static void write_block(FILE *f, const char *name, const double *x, const double *y, size_t n,
                        double lo, double hi, unsigned char *gap, const block_ends *e) {
    memset(gap, 0, n);
    mark_poles(x, y, n, 0, NULL, gap, NULL);
    fprintf(f, "$%s << EOD\n", name);
    const size_t next = e && e->ey ? e->next : 0, np = e && e->px ? e->np : 0;
    int open = 0;
    size_t i = 0, j = 0, m = 0;
    int prev = 0;       /* 1 when the last point written is sample i - 1 */
    double lastv = NAN; /* the last point written near a pole (when prev is 0) */
    /* this curve's followed poles: the last one passed and the next */
    double lastp = -INFINITY, nextp = next_pole(e, 0, np);
    while (i < n) {
        const double xe = j < next ? e->ex[j] : INFINITY, xm = m < np ? e->px[m] : INFINITY;
        if (xm < x[i] && xm <= xe) { /* a pole */
            if (e->pm[m++] & e->bit) {
                if (open) fputc('\n', f);
                open = 0;
                prev = 0;
                lastp = xm;
                nextp = next_pole(e, m, np);
            }
            continue;
        }
        if (xe < x[i]) { /* a point near a pole: only this curve's, and drawable */
            const double v = e->ey[j++];
            if (!drawable(v)) continue;
            lastv = v;
            /* from a sample to the first point toward its pole, and below from the last point to
             * the next sample, not across a pole the samples did not show (tgamma at 9 samples
             * joined 3.92 at -1.25 across the pole at -1 to -3.79 at -0.625, the first point
             * toward 0; 1/sin at 7 samples crossed -pi the other way), but across a zero (1/x -
             * 10 at 17 samples, falling from 6 at 0.0625 to -2 at 0.125; a review) */
            if (open && prev && hidden_pole(y[i - 1], v)) fputc('\n', f);
            fprintf(f, "%.17g %.17g\n", xe, v);
            open = 1;
            prev = 0;
            continue;
        }
        /* the samples beside a followed pole of this curve, on one side of it, are its branch
         * falling away from it: steep, but not a jump (tgamma at 500 samples broke between 99.2
         * and 32.7 beside 0, the branch's only visible stretch; a review) */
        const int branch = prev && (lastp >= x[i > 1 ? i - 2 : 0] || (i + 1 < n && nextp <= x[i + 1])) &&
                           (y[i - 1] > 0) == (y[i] > 0) && (y[i - 1] < 0) == (y[i] < 0);
        if (open && prev && (gap[i - 1] || (!branch && nb__plot_break(y, n, i - 1, lo, hi)))) {
            fputc('\n', f);
            open = 0;
        }
        if (open && !prev && hidden_pole(y[i], lastv)) {
            fputc('\n', f);
            open = 0;
        }
        if (drawable(y[i])) {
            fprintf(f, "%.17g %.17g\n", x[i], y[i]);
            open = 1;
            prev = 1;
        } else {
            if (open) fputc('\n', f);
            open = 0;
            prev = 0;
        }
        i++;
    }
    fputs("EOD\n", f);
}

int nb__plot_break(const double *y, size_t n, size_t i, double lo, double hi) {
    /* between samples i and i+1 */
    double a = y[i], b = y[i + 1];
    if (!drawable(a) || !drawable(b)) return 1;
    if ((a > hi && b < lo) || (a < lo && b > hi)) return 1; /* across the visible range */
    double step = fabs(b - a), span = hi - lo;
    if (step > span) return 1;
    if (step > 0.25 * span) {
        /* a jump: far larger than the steps on both sides of it (a kink's derivative, a step).
         * A neighbouring step that is itself large and goes the same way is part of the same jump
         * (a sample in its middle, as |x|' = 0 at 0): look past it. Without a step on either side
         * to compare with (the ends of a coarse sampling) nothing is called a jump. */
        double d = b - a, near[2];
        for (int side = 0; side < 2; side++) {
            long j = side == 0 ? (long)i - 1 : (long)i + 1; /* the step from j to j + 1 */
            near[side] = -1;
            for (int tries = 0; tries < 2; tries++) {
                if (j < 0 || (size_t)j + 1 >= n || !drawable(y[j]) || !drawable(y[j + 1])) break;
                double e = y[j + 1] - y[j];
                if ((e > 0) == (d > 0) && fabs(e) > 0.25 * span) {
                    j += side == 0 ? -1 : 1;
                    continue;
                }
                near[side] = fabs(e);
                break;
            }
        }
        if (near[0] >= 0 && near[1] >= 0 && step > 8 * (near[0] > near[1] ? near[0] : near[1]))
            return 1;
    }
    return 0;
}

/* Writes s as a gnuplot string expression that gnuplot takes literally. Inside double quotes it
 * would run `backquoted` text as a shell command and process backslashes, so the text goes in
 * single quotes; a single quote itself is the string "'" joined with `.` (gnuplot 5.4 misreads
 * some doubled quotes inside single quotes, such as f'' written as four quotes). Control
 * characters (a newline would end the command) become spaces. */
static void quoted(FILE *f, const char *s) {
    if (!*s) {
        fputs("\"\"", f);
        return;
    }
    int open = 0; /* inside a single-quoted run */
    for (const char *p = s; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '\'') {
            if (open) fputc('\'', f), open = 0;
            fputs(p == s ? "\"'\"" : ".\"'\"", f);
            continue;
        }
        if (!open) {
            if (p != s) fputc('.', f);
            fputc('\'', f);
            open = 1;
        }
        fputc(ch < 0x20 || ch == 0x7f ? ' ' : ch, f);
    }
    if (open) fputc('\'', f);
}

/* 1 when a terminal name is a plain gnuplot word (letters, digits, '_'): nothing else reaches
 * the script's `set terminal` line. */
static int term_word(const char *t) {
    if (!*t || strlen(t) > 32) return 0;
    for (; *t; t++)
        if (!(isalnum((unsigned char)*t) || *t == '_')) return 0;
    return 1;
}

nb_status nb__plot_check(const nb_plot *p, const nb_plot_data *d, char *msg, size_t msglen) {
    if (!d->x || !d->y || d->n < 1 || d->ncurves < 1 || d->ncurves > NB_PLOT_MAX_CURVES) {
        if (msg && msglen) snprintf(msg, msglen, "the plot table is empty");
        return NB_E_ARG;
    }
    if ((d->next && (!d->ext_x || !d->ext_y)) || (d->npoles && (!d->pole_x || !d->pole_curves))) {
        if (msg && msglen) snprintf(msg, msglen, "the plot table's points near poles are incomplete");
        return NB_E_ARG;
    }
    if (!(p->timeout >= 0)) {
        if (msg && msglen) snprintf(msg, msglen, "the timeout must be 0 (none) or more seconds");
        return NB_E_ARG;
    }
    if (!drawable(d->x[0]) || !drawable(d->x[d->n - 1])) {
        if (msg && msglen)
            snprintf(msg, msglen, "gnuplot cannot draw x beyond +-8.9e307 (about DBL_MAX / 2); "
                                  "the table (--data) has every value");
        return NB_E_ARG;
    }
    /* gnuplot draws no curve (and no x tics) over an x range narrower than about 1e-304 with
     * pngcairo, svg and pdfcairo: its scale, units of the terminal per unit of x, overflows (1e-303
     * draws; dumb, with 79 columns, still draws 1e-306); and samples that round to the same x draw
     * as one: a picture without the function, made with success, unless refused here */
    if (d->n >= 2) {
        int repeated = 0;
        for (size_t i = 1; i < d->n && !repeated; i++) repeated = !(d->x[i] > d->x[i - 1]);
        if (repeated || d->x[d->n - 1] - d->x[0] < PLOT_MIN_WIDTH) {
            if (msg && msglen)
                snprintf(msg, msglen, "the x range %.17g:%.17g is too narrow to draw%s; the table "
                                      "(--data) has every value",
                         d->x[0], d->x[d->n - 1],
                         repeated ? " (neighbouring samples are the same double: fewer samples "
                                    "or a wider range)"
                                  : " (gnuplot needs a width of 1e-303 or more)");
            return NB_E_ARG;
        }
    }
    if (p->term && !term_word(p->term)) {
        if (msg && msglen)
            snprintf(msg, msglen,
                     "'%.40s' is not a gnuplot terminal name (letters, digits, _; at most 32)",
                     p->term);
        return NB_E_ARG;
    }
    if (p->output && (!p->output[0] || p->output[0] == '|')) {
        /* gnuplot would run "|command" as a pipe */
        if (msg && msglen)
            snprintf(msg, msglen, "the output must be a file name%s",
                     p->output[0] ? ", not a pipe ('|...')" : "");
        return NB_E_ARG;
    }
    for (const char *q = p->output; q && *q; q++)
        if ((unsigned char)*q < 0x20 || *q == 0x7f) {
            /* a script line cannot hold it: gnuplot would be given another file name */
            if (msg && msglen)
                snprintf(msg, msglen, "the output file name has a control character (byte %d), "
                                      "which a gnuplot script cannot hold", (int)(unsigned char)*q);
            return NB_E_ARG;
        }
    int dumb;
    if (!nb__plot_terminal(p, &dumb)) {
        if (msg && msglen)
            snprintf(msg, msglen, "cannot tell the format of '%s' from its name: use .png, .svg or "
                     ".pdf, or name a gnuplot terminal", p->output);
        return NB_E_ARG;
    }
    return NB_OK;
}

const char *nb__plot_terminal(const nb_plot *p, int *dumb) {
    *dumb = 0;
    if (p->term) {
        if (!term_word(p->term)) return NULL;
        if (strcmp(p->term, "sixel") == 0) return "sixelgd";
        if (strcmp(p->term, "dumb") == 0) *dumb = 1;
        return p->term;
    }
    if (p->output) {
        /* in any case: cameras and some systems write A.PNG */
        const char *dot = strrchr(p->output, '.');
        if (dot && strcasecmp(dot, ".png") == 0) return "pngcairo";
        if (dot && strcasecmp(dot, ".svg") == 0) return "svg";
        if (dot && strcasecmp(dot, ".pdf") == 0) return "pdfcairo";
        return NULL;
    }
    *dumb = 1;
    return "dumb";
}

/* One error curve of the overlay on the log axis: the positive finite values, a gap at every
 * other (0 cannot be drawn on a log scale). Returns 1 when it has a point; widens [*lo, *hi]. */
static int log_block(FILE *f, const char *name, const double *x, const double *v, size_t n,
                     double *lo, double *hi) {
    fprintf(f, "$%s << EOD\n", name);
    int open = 0, any = 0;
    for (size_t i = 0; i < n; i++) {
        if (drawable(v[i]) && v[i] > 0) {
            fprintf(f, "%.17g %.17g\n", x[i], v[i]);
            open = any = 1;
            if (v[i] < *lo) *lo = v[i];
            if (v[i] > *hi) *hi = v[i];
        } else if (open) {
            fputc('\n', f);
            open = 0;
        }
    }
    fputs("EOD\n", f);
    return any;
}

/* The overlay's data and second axis: fd (broken like the curves, on their y range), and
 * |f' - fd| and GSL's estimate on a log y2 axis (unlabelled in text: the key names them). y2[k]
 * tells which error curve has points. */
static void write_overlay(FILE *f, const nb_plot_data *d, double lo, double hi, int dumb,
                          int y2[2], unsigned char *gap) {
    write_block(f, "fd", d->x, d->fd, d->n, lo, hi, gap, NULL);
    double a = INFINITY, b = 0;
    y2[0] = log_block(f, "fddiff", d->x, d->fd_diff, d->n, &a, &b);
    y2[1] = log_block(f, "fderr", d->x, d->fd_err, d->n, &a, &b);
    if (!y2[0] && !y2[1]) return; /* nothing to draw on the log axis: no y2 at all */
    /* a decade of room on each side, and at least three decades in all */
    a /= 10;
    if (!(a > 0)) a = DBL_TRUE_MIN; /* below 5e-323 a tenth rounds to 0, which no log axis takes */
    b = clamp_finite(b * 10);
    if (b < 1000 * a) b = clamp_finite(1000 * a);
    if (b < 1000 * a) a = b / 1000; /* at gnuplot's limit: three decades below it */
    fputs("set logscale y2\n", f);
    fprintf(f, "set y2range [%.17g:%.17g]\n", a, b);
    fputs("set y2tics\nset ytics nomirror\nset format y2 \"%.0e\"\n", f);
    /* in text the label would be drawn over the plot; the key names the curves */
    if (!dumb) fputs("set y2label \"|f' - fd|, GSL error\" noenhanced\n", f);
}

nb_status nb_plot_validate(const nb_plot *p, const nb_plot_data *d, char *msg, size_t msglen) {
    if (msg && msglen) msg[0] = 0;
    if (!p || !d) {
        if (msg && msglen) snprintf(msg, msglen, "no plot or no table");
        return NB_E_ARG;
    }
    return nb__plot_check(p, d, msg, msglen);
}

nb_status nb_plot_write_script(FILE *f, const nb_plot *p, const nb_plot_data *d) {
    if (!f || !p || !d || nb__plot_check(p, d, NULL, 0)) return NB_E_ARG;
    int dumb;
    const char *term = nb__plot_terminal(p, &dumb);
    fputs("# nabla plot: f and its derivatives, by automatic differentiation\n", f);
    if (dumb)
        fprintf(f, "set terminal dumb size %d,%d\n", p->columns > 0 ? p->columns : 79,
                p->lines > 0 ? p->lines : 24);
    else if (strcmp(term, "pngcairo") == 0)
        fputs("set terminal pngcairo size 900,560 font \",11\"\n", f);
    else if (strcmp(term, "svg") == 0)
        fputs("set terminal svg size 900,560 dynamic font \",11\"\n", f);
    else if (strcmp(term, "pdfcairo") == 0)
        fputs("set terminal pdfcairo size 6in,3.75in font \",10\"\n", f);
    else
        fprintf(f, "set terminal %s\n", term);
    if (p->output) {
        /* gnuplot expands a leading ~ to $HOME: ./ keeps the name literal, the file nabla checks */
        fputs(p->output[0] == '~' ? "set output './'." : "set output ", f);
        quoted(f, p->output);
        fputc('\n', f);
    }
    /* a style file loaded before this script (plots/style.gp) sets nabla_style and its own line
     * styles; otherwise these defaults */
    fputs("if (!exists(\"nabla_style\")) {\n"
          "    set style line 1 lw 2 lc rgb \"#1f77b4\"\n"
          "    set style line 2 lw 2 lc rgb \"#d62728\"\n"
          "    set style line 3 lw 2 lc rgb \"#2ca02c\"\n"
          "    set style line 4 lw 2 lc rgb \"#9467bd\"\n"
          "    set style line 5 lw 2 lc rgb \"#ff7f0e\"\n"
          "    set style line 6 lw 2 lc rgb \"#8c564b\"\n"
          "    set style line 7 lw 2 lc rgb \"#e377c2\"\n"
          "    set style line 8 lw 2 lc rgb \"#7f7f7f\"\n"
          "    set style line 9 lw 2 lc rgb \"#bcbd22\"\n"
          "    set style line 10 lw 2 lc rgb \"#17becf\"\n"
          "    set grid\n"
          "    set key outside right top box\n"
          "}\n",
          f);
    if (dumb) fputs("set key below horizontal nobox\n", f); /* a box in text overlaps its samples */
    if (p->title) {
        fputs("set title ", f);
        quoted(f, p->title);
        fputs(" noenhanced\n", f);
    }
    fputs("set xlabel ", f);
    quoted(f, p->xlabel ? p->xlabel : "x");
    fputs(" noenhanced\n", f);
    double lo, hi;
    unsigned char *gap = malloc(d->n);
    if (!gap || nb__plot_yrange(d, &lo, &hi) != NB_OK) {
        free(gap);
        return NB_E_NOMEM;
    }
    fprintf(f, "set xrange [%.17g:%.17g]\n", d->x[0], d->x[d->n - 1]);
    fprintf(f, "set yrange [%.17g:%.17g]\n", lo, hi);
    fputs("set xzeroaxis\n", f);
    /* one data block per curve; a blank line breaks the line at gaps, poles and jumps */
    for (int c = 0; c < d->ncurves; c++) {
        char name[16];
        snprintf(name, sizeof name, "f%d", c);
        const block_ends e = {d->ext_x, d->ext_y ? d->ext_y + (size_t)c * d->next : NULL,
                              d->pole_x, d->pole_curves, d->next, d->npoles, 1u << c};
        write_block(f, name, d->x, d->y + (size_t)c * d->n, d->n, lo, hi, gap, &e);
    }
    int y2[2] = {0, 0}; /* the overlay's error curves that have a point to draw */
    if (d->check && d->fd && d->fd_err && d->fd_diff) write_overlay(f, d, lo, hi, dumb, y2, gap);
    free(gap);
    fputs("plot ", f);
    for (int c = 0; c < d->ncurves; c++) {
        char label[32];
        nb_plot_label(d->orders[c], label, sizeof label);
        fprintf(f, "%s$f%d using 1:2 with lines ls %d title ", c ? ", \\\n     " : "", c,
                c % NB_PLOT_MAX_CURVES + 1);
        quoted(f, label);
        fputs(" noenhanced", f);
    }
    if (d->check && d->fd && d->fd_err && d->fd_diff) {
        /* fixed colours: the overlay stays distinguishable under any style file */
        fputs(", \\\n     $fd using 1:2 with lines lw 2 dt 2 lc rgb \"#000000\" "
              "title \"fd (central difference)\" noenhanced", f);
        if (y2[0])
            fputs(", \\\n     $fddiff using 1:2 axes x1y2 with linespoints lw 1 pt 7 ps 0.3 "
                  "lc rgb \"#e6550d\" title \"|f' - fd| (y2)\" noenhanced", f);
        if (y2[1])
            fputs(", \\\n     $fderr using 1:2 axes x1y2 with lines lw 1 dt 3 lc rgb \"#636363\" "
                  "title \"GSL error (y2)\" noenhanced", f);
    }
    fputc('\n', f);
    if (p->output) fputs("unset output\n", f);
    return fflush(f) == 0 && !ferror(f) ? NB_OK : NB_E_IO; /* also what stdio still buffered */
}
