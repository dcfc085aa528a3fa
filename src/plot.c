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
 * into out's worst (err: K + 1 doubles of scratch). */
static nb_status taylor_at(const nb_plot *p, nb_ctx *c, nb_fn f, void *env, size_t n,
                           const double *vals, const double *dir, int K, double *deriv, double *err,
                           nb_plot_data *out, size_t i) {
    /* at most NB_PLOT_ROUNDING_SAMPLES evenly spaced samples: cancellation is a property of the
     * function and the order that changes slowly along x, and a million samples would otherwise
     * cost a million more Taylor passes */
    const size_t stride = out->n > NB_PLOT_ROUNDING_SAMPLES ? out->n / NB_PLOT_ROUNDING_SAMPLES : 1;
    if (!p->rounding || i % stride != 0)
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
    for (size_t i = 0; i < out->n && !s; i++) {
        if (nvals) {
            vals[wrt] = out->x[i];
            dv[wrt] = nb_dual_var(out->x[i]);
        }
        if (K <= 1) {
            /* dual numbers: one pass gives f and f' */
            nb_dual r;
            s = nb_expr_eval_dual(e, dv, &r);
            deriv[0] = r.v;
            if (K == 1) deriv[1] = nvals ? r.d : 0;
        } else {
            s = taylor_at(p, c, nb_expr_fn, e, nvals, vals, dir, K, deriv, err, out, i);
        }
        store(out, i, deriv, f0);
        if (p->check && !s) store_fd(out, p, i, expr_at, &slice, deriv[1]);
    }
    if (!s) blank_poles(out, f0);
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
    for (size_t i = 0; i < out->n && !s; i++) {
        vals[wrt] = out->x[i];
        if (K == 1) {
            s = nb_jvp(c, f, env, n, vals, dir, &deriv[0], &deriv[1]);
        } else {
            s = taylor_at(p, c, f, env, n, vals, dir, K, deriv, err, out, i);
        }
        store(out, i, deriv, f0);
        if (p->check && !s) {
            store_fd(out, p, i, fn_at, &slice, deriv[1]);
            s = nb_ctx_status(c);
        }
    }
    if (!s) blank_poles(out, f0);
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
    if (!accelerating(y, n, i, dir)) return 0;
    double a = fabs(y[dir > 0 ? i - 2 : i + 2]), b = fabs(y[dir > 0 ? i - 1 : i + 1]), c = fabs(y[i]);
    return c - b >= 3 * (b - a);
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
static void mark_poles(const double *x, const double *y, size_t n, double w, unsigned char *excl,
                       unsigned char *gap) {
    for (size_t i = 0; i < n; i++) {
        double where = NAN;
        if (!isfinite(y[i])) {
            if ((i >= 1 && accelerating(y, n, i - 1, 1)) || (i + 1 < n && accelerating(y, n, i + 1, -1)))
                where = x[i];
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
        } else if (i >= 2 && i + 2 < n && accelerating(y, n, i, 1) && accelerating(y, n, i, -1) &&
                   (pole_steep(y, n, i, 1) || pole_steep(y, n, i, -1))) {
            where = x[i];
            if (gap) {
                if ((y[i - 1] < 0) != (y[i] < 0)) gap[i - 1] = 1;
                if ((y[i + 1] < 0) != (y[i] < 0)) gap[i] = 1;
            }
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
        mark_poles(d->x, y, n, w, excl, NULL);
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
 * in the line) at gaps, jumps (nb__plot_break) and across the poles mark_poles finds. gap is n
 * bytes of scratch. */
static void write_block(FILE *f, const char *name, const double *x, const double *y, size_t n,
                        double lo, double hi, unsigned char *gap) {
    memset(gap, 0, n);
    mark_poles(x, y, n, 0, NULL, gap);
    fprintf(f, "$%s << EOD\n", name);
    int open = 0;
    for (size_t i = 0; i < n; i++) {
        if (drawable(y[i])) {
            fprintf(f, "%.17g %.17g\n", x[i], y[i]);
            open = 1;
        }
        if (open && i + 1 < n && (gap[i] || nb__plot_break(y, n, i, lo, hi))) {
            fputc('\n', f);
            open = 0;
        }
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
    write_block(f, "fd", d->x, d->fd, d->n, lo, hi, gap);
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
        write_block(f, name, d->x, d->y + (size_t)c * d->n, d->n, lo, hi, gap);
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
