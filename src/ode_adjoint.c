/* ode_adjoint.c - adjoint sensitivities of ODE solutions (nabla/gsl.h): y integrated forward by a
 * GSL stepper with its Taylor coefficients kept at every step, then lambda' = -f_y^T lambda,
 * mu' = -f_p^T lambda integrated backward by another, y(t) read from the two-point Hermite
 * interpolant of the kept coefficients. */
#include <math.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "internal.h"
#include "nabla/gsl.h"
#include "nabla/taylor.h"

struct nb_ode_adjoint {
    nb_gsl_adapter *fa; /* the forward system (its context is the object's) */
    nb_ctx *c;
    nb_odepfn f;
    void *env;
    size_t dim, np, nb; /* nb = dim + np, the backward state */
    nb_ode_adjoint_opts o;
    size_t K1; /* order + 1 coefficients per component */
    int stiff; /* the forward stepper is implicit: each segment is checked (add_segment) */

    double *p;  /* np */
    nb_var *hp; /* np: p as constants (forward, Taylor) */

    /* the trajectory: S points ts[k] with coef[k dim K1 ..] in nb_ode_taylor's layout */
    size_t S, tcap, ccap, qcap; /* points, and the capacities of ts, coef and qs */
    unsigned char *qs;          /* qs[k]: the interpolant's order on segment k (0 .. K) */
    size_t splits;              /* segments halved by the check (add_segment) */
    double *ts, *coef;
    int kept; /* a trajectory from a successful solve */
    size_t m;
    double *obs; /* the observation times (m), kept for the vjp */
    size_t mcap;

    /* interpolation: the Newton coefficients of segment `seg` (2 K1 per component) */
    size_t seg, qseg; /* qseg: the order used on it (1 .. K) */
    double *nd;       /* 2 sets of 2 K1 dim: the coefficients, and scratch */
    double *yt, *ydt; /* y(t), y'(t) (dim) */

    /* backward scratch */
    double *x;   /* (y, p): nb */
    double *z;   /* the backward state (lambda, mu): nb */
    nb_var *sg;  /* the jacobian's gradients, dim nb, made at its first call */
    nb_var *hx;  /* nb handles */
    double tcur; /* t of the backward right-hand side */

    gsl_odeiv2_driver *fd, *bd, *vd; /* forward, backward, and the check's bsimp (stiff only) */
    double *vy, *vc; /* the check's scratch: DEPTH midpoints (dim) and coefficients (dim K1) */
    double *ye;      /* the check's y at the end of a segment (dim) */
    gsl_odeiv2_system bsys;
    size_t fsteps, bsteps;
    int gsl_status;
    nb_status err; /* the first error of a backward callback */
};

void nb_ode_adjoint_opts_init(nb_ode_adjoint_opts *o) {
    if (!o) return;
    o->step = NULL;
    o->back_step = NULL;
    o->h0 = 1e-6;
    o->epsabs = o->epsrel = 1e-10;
    o->back_epsabs = o->back_epsrel = 1e-10;
    o->order = 0;
    o->max_steps = 1000000;
}

static void *get(nb_ctx *c, size_t count, size_t size) {
    return nb__hook_get(c->alloc, c->alloc_ud, count, size);
}
static void put(nb_ctx *c, void *p, size_t count, size_t size) {
    nb__hook_put(c->alloc, c->alloc_ud, p, count, size);
}

/* f with the parameters as constants: the forward system's right-hand side. */
static void fixed_p(nb_ctx *c, nb_var t, const nb_var *y, nb_var *dydt, void *env) {
    nb_ode_adjoint *a = env;
    for (size_t k = 0; k < a->np; k++) a->hp[k] = nb_const(a->p[k]);
    a->f(c, t, y, a->np ? a->hp : NULL, dydt, a->env);
}

/* ---- the trajectory ---- */

/* Room for one more point; 0 on failure (each array keeps the capacity it reached). */
static int grow(nb_ode_adjoint *a) {
    if (a->S < a->tcap && a->S < a->ccap && a->S < a->qcap) return 1;
    const size_t w = a->dim * a->K1;
    const size_t cap = a->S ? 2 * a->S : 64;
    if (cap > SIZE_MAX / sizeof(double) / w) return 0;
    nb_ctx *c = a->c;
    if (a->tcap < cap) {
        double *ts = c->alloc(c->alloc_ud, a->ts, a->tcap * sizeof(double), cap * sizeof(double));
        if (!ts) return 0;
        a->ts = ts;
        a->tcap = cap;
    }
    if (a->ccap < cap) {
        double *cf =
            c->alloc(c->alloc_ud, a->coef, a->ccap * w * sizeof(double), cap * w * sizeof(double));
        if (!cf) return 0;
        a->coef = cf;
        a->ccap = cap;
    }
    if (a->qcap < cap) {
        unsigned char *qs = c->alloc(c->alloc_ud, a->qs, a->qcap, cap);
        if (!qs) return 0;
        a->qs = qs;
        a->qcap = cap;
    }
    return 1;
}

static nb_status solver_failed(nb_ode_adjoint *a, int gs) {
    a->gsl_status = gs;
    return NB_E_SOLVER;
}

/* The Taylor coefficients of the solution through (t, y) into cf (dim K1). */
static nb_status taylor_at(nb_ode_adjoint *a, double t, const double *y, double *cf) {
    const nb_status s = nb_ode_taylor(a->c, fixed_p, a, a->dim, t, y, (int)a->K1 - 1, cf);
    if (s) return s;
    for (size_t i = 0; i < a->dim * a->K1; i++)
        if (!isfinite(cf[i])) return solver_failed(a, GSL_ERANGE); /* the solution blew up */
    return NB_OK;
}

/* Appends the point t with coefficients cf; q is the order of the segment it closes. */
static nb_status push(nb_ode_adjoint *a, double t, const double *cf, size_t q) {
    if (!grow(a)) return NB_E_NOMEM;
    const size_t w = a->dim * a->K1;
    memcpy(a->coef + a->S * w, cf, w * sizeof *cf);
    a->ts[a->S] = t;
    if (a->S) a->qs[a->S - 1] = (unsigned char)q;
    a->S++;
    return NB_OK;
}

/* The Newton coefficients, into d (2 (q + 1) per component), of the Hermite interpolant of
 * order q (degree 2 q + 1; 0 is the straight line) between points with Taylor coefficients ca
 * and cb, h apart, in s = (t - t_a) / h: nodes 0 and 1, each q + 1 times; the divided difference
 * over a node repeated l + 1 times is the scaled Taylor coefficient c_l h^l, and every other one
 * has denominator 1. */
static void newton_q(const nb_ode_adjoint *a, const double *ca, const double *cb, double h,
                     size_t q, double *d) {
    const size_t K1 = a->K1, q1 = q + 1, n = 2 * q1;
    for (size_t i = 0; i < a->dim; i++, d += n) {
        for (size_t r = 0; r < n; r++) d[r] = r < q1 ? ca[i * K1] : cb[i * K1];
        double hl = 1;
        for (size_t l = 1; l < n; l++) {
            if (l < q1) hl *= h;
            for (size_t r = n - 1; r >= l; r--) {
                const int same = (r < q1) == (r - l < q1);
                d[r] = same ? (r < q1 ? ca[i * K1 + l] : cb[i * K1 + l]) * hl : d[r] - d[r - 1];
            }
        }
    }
}

/* The Newton form of order q (coefficients d, 2 (q + 1) of them) at s, and its s-derivative. */
static double newton_eval(const double *d, size_t q, double s, double *ds) {
    const size_t q1 = q + 1, n = 2 * q1;
    double v = d[n - 1], dv = 0;
    for (size_t r = n - 1; r-- > 0;) {
        const double zr = r < q1 ? s : s - 1;
        dv = dv * zr + v;
        v = v * zr + d[r];
    }
    if (ds) *ds = dv;
    return v;
}

/* Prepares segment k for interp: its Newton coefficients, of the order chosen when it was kept. */
static void newton(nb_ode_adjoint *a, size_t k) {
    const size_t w = a->dim * a->K1;
    const double *ca = a->coef + k * w;
    a->qseg = a->qs[k];
    newton_q(a, ca, ca + w, a->ts[k + 1] - a->ts[k], a->qseg, a->nd);
    a->seg = k;
}

/* y(t_a) integrated to tm in place by the checking driver (bsimp). */
static nb_status reintegrate(nb_ode_adjoint *a, double ta, double tm, double *y) {
    gsl_odeiv2_driver *V = a->vd;
    gsl_odeiv2_driver_reset_hstart(V, tm - ta);
    double t = ta;
    const int gs = gsl_odeiv2_driver_apply(V, &t, tm, y);
    if (!gs) return NB_OK;
    const nb_status fs = nb_gsl_adapter_status(a->fa);
    return fs ? fs : solver_failed(a, gs);
}

/* Appends the step from the last kept point to (tb, yb) (cb_known: its Taylor coefficients, or
 * NULL). After an explicit stepper the segment gets order K: an accepted explicit step keeps
 * h |lambda| inside the method's stability region for every mode of the system, so the Taylor
 * series converge over it. After an implicit one a step may be far longer than the fast time
 * scales, and the Taylor coefficients at its ends are then those of the fast modes' transients
 * through points a tolerance away from the slow manifold: terms growing like (lambda h)^j, and
 * even f alone can be far from the slope of the solution the stepper follows, so that a cubic
 * Hermite goes negative where the solution is a tiny positive number (Robertson's y_1 after
 * rk4imp). So the segment is checked: y at its midpoint, integrated from its start by bsimp at
 * the forward tolerances, against the interpolants of order K, K - 1, .. 0 (the straight line);
 * the first within CHECK times the tolerance (epsabs + epsrel |y|, |y| the largest at the ends
 * and the midpoint) plus the disagreement of the two integrations at the segment's end (bsimp
 * carried on from the midpoint, against the forward stepper's point: an interpolant cannot be
 * asked to be closer to one integration than the two are to each other) is the segment's order.
 * When none is, the midpoint becomes a kept point and both halves are checked in turn, to DEPTH
 * halvings. A piece still missing then is 2^-DEPTH of a step or less, and what it misses by is a
 * fast transient that the forward stepper's points themselves do not follow: rk2imp and rk4imp
 * (Gauss methods, A-stable but not L-stable) leave stiff components undamped, so on Robertson's
 * kinetics their points sit a few hundred tolerances off the slow manifold, onto which bsimp
 * started from them relaxes within such a piece. No interpolant of those points gives the
 * gradient to the tolerance (keeping the closest one left it 1e-3 to 0.15 off, worse at tighter
 * tolerances): NB_E_SOLVER with GSL_ETOL. */
enum { DEPTH = 16 };
#define CHECK 10.0
static nb_status add_segment(nb_ode_adjoint *a, double tb, const double *yb,
                             const double *cb_known, int depth) {
    const size_t d = a->dim, K1 = a->K1, w = d * K1;
    double *cb = a->vc + (size_t)depth * w;
    nb_status s = NB_OK;
    if (cb_known) cb = (double *)cb_known;
    else if ((s = taylor_at(a, tb, yb, cb))) return s;
    if (!a->stiff) return push(a, tb, cb, K1 - 1);
    const double *ca = a->coef + (a->S - 1) * w;
    const double ta = a->ts[a->S - 1], h = tb - ta, tm = ta + h / 2;
    double *ym = a->vy + (size_t)depth * d, *ye = a->ye;
    for (size_t i = 0; i < d; i++) ym[i] = ca[i * K1];
    if ((s = reintegrate(a, ta, tm, ym))) return s;
    a->seg = SIZE_MAX; /* nd is scratch here */
    /* first without the disagreement at t_b (most steps pass so, and bsimp's second leg is
     * saved), then with it */
    for (int noisy = 0; noisy < 2; noisy++) {
        if (noisy) {
            memcpy(ye, ym, d * sizeof *ye);
            if ((s = reintegrate(a, tm, tb, ye))) return s;
        }
        for (size_t q = K1; q-- > 0;) {
            newton_q(a, ca, cb, h, q, a->nd);
            double miss = 0; /* the largest miss, in units of what is allowed */
            for (size_t i = 0; i < d; i++) {
                const double v = newton_eval(a->nd + i * 2 * (q + 1), q, 0.5, NULL);
                const double mag = fmax(fabs(ym[i]), fmax(fabs(ca[i * K1]), fabs(cb[i * K1])));
                /* what the two integrations disagree by at t_b */
                const double noise = noisy ? fabs(ye[i] - cb[i * K1]) : 0;
                const double e =
                    fabs(v - ym[i]) / (CHECK * (a->o.epsabs + a->o.epsrel * mag) + noise);
                if (!(e <= miss)) miss = e; /* (NaN stays) */
            }
            if (miss <= 1) return push(a, tb, cb, q);
        }
    }
    if (depth + 1 >= DEPTH || tm == ta || tm == tb) return solver_failed(a, GSL_ETOL);
    a->splits++;
    if ((s = add_segment(a, tm, ym, NULL, depth + 1))) return s;
    return add_segment(a, tb, yb, cb, depth + 1);
}

/* y(t) into a->yt and y'(t) into a->ydt from the segment holding t (t outside [ts[0], ts[S-1]]
 * uses the end segments' polynomial). */
static void interp(nb_ode_adjoint *a, double t) {
    const size_t S = a->S;
    size_t k = a->seg;
    if (k >= S - 1 || t < a->ts[k] || t > a->ts[k + 1]) {
        size_t lo = 0, hi = S - 1; /* the last k with ts[k] <= t, within 0 .. S - 2 */
        while (hi - lo > 1) {
            const size_t mid = lo + (hi - lo) / 2;
            if (a->ts[mid] <= t) lo = mid;
            else hi = mid;
        }
        newton(a, lo);
        k = lo;
    }
    const double h = a->ts[k + 1] - a->ts[k], s = (t - a->ts[k]) / h;
    const size_t q = a->qseg;
    for (size_t i = 0; i < a->dim; i++) {
        double ds;
        a->yt[i] = newton_eval(a->nd + i * 2 * (q + 1), q, s, &ds);
        a->ydt[i] = ds / h;
    }
}

/* ---- the backward system ---- */

static int back_failed(nb_ode_adjoint *a, nb_status s) {
    if (!s) s = nb_ctx_status(a->c);
    if (!s) return 0;
    if (!a->err) a->err = s;
    nb_ctx_clear_error(a->c);
    while (nb_depth(a->c) > 0) nb_pop(a->c);
    return 1;
}

/* f as a function of x = (y, p) at t = a->tcur. */
static void f_of_yp(nb_ctx *c, const nb_var *x, nb_var *out, void *env) {
    const nb_ode_adjoint *a = env;
    a->f(c, nb_const(a->tcur), x, a->np ? x + a->dim : NULL, out, a->env);
}

static void nan_fill(double *p, size_t n) {
    for (size_t i = 0; p && i < n; i++) p[i] = NAN;
}

/* (lambda, mu)' = -(lambda^T f_y, lambda^T f_p): one reverse sweep seeded with lambda. */
static int back_function(double t, const double z[], double dz[], void *params) {
    nb_ode_adjoint *a = params;
    const size_t d = a->dim, nb = a->nb;
    if (a->err) {
        nan_fill(dz, nb);
        return GSL_EBADFUNC;
    }
    interp(a, t);
    memcpy(a->x, a->yt, d * sizeof(double));
    if (a->np) memcpy(a->x + d, a->p, a->np * sizeof(double));
    a->tcur = t;
    if (back_failed(a, nb_vjp(a->c, f_of_yp, a, nb, d, a->x, z, NULL, dz))) {
        nan_fill(dz, nb);
        return GSL_EBADFUNC;
    }
    for (size_t i = 0; i < nb; i++) dz[i] = -dz[i];
    return GSL_SUCCESS;
}

/* The backward system's jacobian: d(lambda, mu)'/d lambda = -(f_y, f_p)^T (nothing depends on
 * mu), and its t-derivative at fixed z, -(d/dt (f_y, f_p))^T lambda along y'(t). One recording
 * of f on a reverse level above a forward level that moves t along 1 and y along y'(t); the
 * sweep of f_i gives row i of (f_y, f_p) as dual numbers whose tangents are its t-derivative. */
static int back_jacobian(double t, const double z[], double *dfdy, double dfdt[],
                         void *params) {
    nb_ode_adjoint *a = params;
    nb_ctx *c = a->c;
    const size_t d = a->dim, np = a->np, nb = a->nb;
    int bad = a->err != NB_OK;
    if (!bad && !a->sg && !(a->sg = get(c, d * nb, sizeof(nb_var))))
        bad = back_failed(a, NB_E_NOMEM); /* made at the first call, kept */
    if (dfdy)
        for (size_t i = 0; i < nb * nb; i++) dfdy[i] = 0;
    if (dfdt)
        for (size_t i = 0; i < nb; i++) dfdt[i] = 0;
    if (!bad) {
        interp(a, t);
        const size_t d0 = c->depth;
        nb_level *R = NULL;
        nb_status s = nb_push(c, NB_FORWARD);
        if (s) bad = back_failed(a, s);
        if (!bad) {
            nb_var *F = a->hx; /* the forward level's y and p */
            const nb_var tF = nb_fwd_input(c, nb_const(t), nb_const(1));
            for (size_t i = 0; i < d; i++)
                F[i] = nb_fwd_input(c, nb_const(a->yt[i]), nb_const(a->ydt[i]));
            for (size_t k = 0; k < np; k++) F[d + k] = nb_const(a->p[k]);
            if (c->err == NB_OK && !nb__driver_begin(c, NB_REVERSE, nb, d, &R)) {
                nb_var *in = R->inputs, *out = R->outputs;
                for (size_t j = 0; j < nb; j++) in[j] = nb_rev_input(c, F[j]);
                for (size_t i = 0; i < d; i++) out[i] = nb_const(0);
                if (c->err == NB_OK) {
                    a->f(c, tF, in, np ? in + d : NULL, out, a->env);
                    if (nb__driver_ok(c, d0 + 1))
                        for (size_t i = 0; i < d && c->err == NB_OK; i++) {
                            nb__backward(c, R, 1, &out[i], NULL, 1);
                            for (size_t j = 0; j < nb; j++) a->sg[i * nb + j] = nb_grad(c, in[j]);
                        }
                }
            }
            nb__driver_finish(c, d0 + 1); /* back to the forward level */
            if (c->err == NB_OK)
                for (size_t i = 0; i < d; i++)
                    for (size_t j = 0; j < nb; j++) {
                        const nb_var g = a->sg[i * nb + j];
                        if (dfdy) dfdy[j * nb + i] = -nb_value(g);
                        if (dfdt) dfdt[j] -= z[i] * nb_value(nb_tangent(c, g));
                    }
            nb__driver_finish(c, d0);
            bad = back_failed(a, NB_OK);
        }
    }
    if (bad) {
        nan_fill(dfdy, nb * nb);
        nan_fill(dfdt, nb);
    }
    return bad ? GSL_EBADFUNC : GSL_SUCCESS;
}

/* ---- the object ---- */

void nb_ode_adjoint_free(nb_ode_adjoint *a) {
    if (!a) return;
    nb_ctx *c = a->c;
    if (a->fd) gsl_odeiv2_driver_free(a->fd);
    if (a->bd) gsl_odeiv2_driver_free(a->bd);
    if (a->vd) gsl_odeiv2_driver_free(a->vd);
    put(c, a->p, a->np, sizeof(double));
    put(c, a->hp, a->np, sizeof(nb_var));
    if (a->ts) c->alloc(c->alloc_ud, a->ts, a->tcap * sizeof(double), 0);
    if (a->coef) c->alloc(c->alloc_ud, a->coef, a->ccap * a->dim * a->K1 * sizeof(double), 0);
    if (a->qs) c->alloc(c->alloc_ud, a->qs, a->qcap, 0);
    put(c, a->vy, DEPTH * a->dim, sizeof(double));
    put(c, a->ye, a->dim, sizeof(double));
    put(c, a->vc, DEPTH * a->dim * a->K1, sizeof(double));
    put(c, a->obs, a->mcap, sizeof(double));
    put(c, a->nd, 2 * a->K1 * a->dim, sizeof(double));
    put(c, a->yt, a->dim, sizeof(double));
    put(c, a->ydt, a->dim, sizeof(double));
    put(c, a->x, a->nb, sizeof(double));
    put(c, a->z, a->nb, sizeof(double));
    put(c, a->sg, a->dim * a->nb, sizeof(nb_var));
    put(c, a->hx, a->nb, sizeof(nb_var));
    nb_gsl_adapter *fa = a->fa;
    put(c, a, 1, sizeof *a);
    nb_gsl_adapter_free(fa); /* frees the context last */
}

/* GSL's implicit steppers: their steps may be far longer than the fast time scales. */
static int implicit(const gsl_odeiv2_step_type *T) {
    return T == gsl_odeiv2_step_rk1imp || T == gsl_odeiv2_step_rk2imp ||
           T == gsl_odeiv2_step_rk4imp || T == gsl_odeiv2_step_bsimp || T == gsl_odeiv2_step_msbdf;
}

static int bad_opts(const nb_ode_adjoint_opts *o) {
    return !(o->h0 > 0) || !isfinite(o->h0) || !(o->epsabs >= 0) || !(o->epsrel >= 0) ||
           !(o->epsabs + o->epsrel > 0) || !isfinite(o->epsabs + o->epsrel) ||
           !(o->back_epsabs >= 0) || !(o->back_epsrel >= 0) ||
           !(o->back_epsabs + o->back_epsrel > 0) || !isfinite(o->back_epsabs + o->back_epsrel) ||
           o->order < 0 || o->order > 8 || o->max_steps == 0;
}

nb_status nb_ode_adjoint_new(nb_ode_adjoint **out, nb_odepfn f, void *env, size_t dim,
                             size_t np, const nb_ode_adjoint_opts *o, const nb_ctx_opts *copts) {
    if (!out) return NB_E_ARG;
    *out = NULL;
    nb_ode_adjoint_opts def;
    nb_ode_adjoint_opts_init(&def);
    if (!o) o = &def;
    if (!f || dim == 0 || bad_opts(o) || np >= SIZE_MAX / 4 || dim >= SIZE_MAX / 4 - np ||
        dim + np > SIZE_MAX / sizeof(double) / (dim + np) || dim > SIZE_MAX / 4096)
        return NB_E_ARG;
    nb_gsl_adapter *fa = NULL;
    nb_status s = nb_gsl_odeiv2_new(&fa, fixed_p, NULL, dim, copts);
    if (s) return s;
    nb_ctx *c = nb_gsl_adapter_ctx(fa);
    nb_ode_adjoint *a = get(c, 1, sizeof *a);
    if (!a) {
        nb_gsl_adapter_free(fa);
        return NB_E_NOMEM;
    }
    memset(a, 0, sizeof *a);
    a->fa = fa;
    a->c = c;
    a->f = f;
    a->env = env;
    a->dim = dim;
    a->np = np;
    a->nb = dim + np;
    a->o = *o;
    a->K1 = (size_t)(o->order ? o->order : 5) + 1;
    a->stiff = implicit(o->step);
    a->seg = SIZE_MAX;
    a->p = get(c, np, sizeof(double));
    a->hp = get(c, np, sizeof(nb_var));
    a->nd = get(c, 2 * a->K1 * dim, sizeof(double));
    a->yt = get(c, dim, sizeof(double));
    a->ydt = get(c, dim, sizeof(double));
    a->x = get(c, a->nb, sizeof(double));
    a->z = get(c, a->nb, sizeof(double));
    a->hx = get(c, a->nb, sizeof(nb_var));
    a->vy = get(c, DEPTH * dim, sizeof(double));
    a->ye = get(c, dim, sizeof(double));
    a->vc = get(c, DEPTH * dim * a->K1, sizeof(double));
    if (!a->p || !a->hp || !a->nd || !a->yt || !a->ydt || !a->x || !a->z || !a->hx || !a->vy ||
        !a->vc || !a->ye) {
        nb_ode_adjoint_free(a);
        return NB_E_NOMEM;
    }
    /* the forward system: the adapter's, with this object as f's environment */
    nb__gsl_odeiv2_set_env(fa, a);
    a->bsys.function = back_function;
    a->bsys.jacobian = back_jacobian;
    a->bsys.dimension = a->nb;
    a->bsys.params = a;
    *out = a;
    return NB_OK;
}

/* Makes the drivers at the first use; 0 when GSL cannot. */
static int drivers(nb_ode_adjoint *a) {
    if (a->fd && a->bd && (a->vd || !a->stiff)) return 1;
    const gsl_odeiv2_step_type *T = a->o.step ? a->o.step : gsl_odeiv2_step_rk8pd;
    const gsl_odeiv2_step_type *B = a->o.back_step ? a->o.back_step : T;
    if (!a->fd)
        a->fd = gsl_odeiv2_driver_alloc_y_new(nb_gsl_odeiv2_system(a->fa), T, a->o.h0, a->o.epsabs,
                                              a->o.epsrel);
    if (!a->bd)
        a->bd = gsl_odeiv2_driver_alloc_y_new(&a->bsys, B, a->o.h0, a->o.back_epsabs,
                                              a->o.back_epsrel);
    if (a->stiff && !a->vd) {
        a->vd = gsl_odeiv2_driver_alloc_y_new(nb_gsl_odeiv2_system(a->fa), gsl_odeiv2_step_bsimp,
                                              a->o.h0, a->o.epsabs, a->o.epsrel);
        if (a->vd) gsl_odeiv2_driver_set_nmax(a->vd, a->o.max_steps);
    }
    return a->fd && a->bd && (a->vd || !a->stiff);
}

nb_status nb_ode_adjoint_solve(nb_ode_adjoint *a, const double *p, double t0, const double *y0,
                               size_t m, const double *times, double *Y) {
    if (!a) return NB_E_ARG;
    const size_t d = a->dim;
    a->kept = 0;
    a->S = 0;
    a->seg = SIZE_MAX;
    a->fsteps = 0;
    a->gsl_status = 0;
    nb_status s = NB_OK;
    const int huge = m > SIZE_MAX / d; /* (no Y of m d doubles can exist either) */
    if (!y0 || (a->np && !p) || (m && !times) || !isfinite(t0) || huge) s = NB_E_ARG;
    for (size_t i = 0; !s && i < d; i++)
        if (!isfinite(y0[i])) s = NB_E_ARG;
    for (size_t k = 0; !s && k < a->np; k++)
        if (!isfinite(p[k])) s = NB_E_ARG;
    for (size_t j = 0; !s && j < m; j++)
        if (!isfinite(times[j]) || times[j] < (j ? times[j - 1] : t0)) s = NB_E_ARG;
    if (!s && m > a->mcap) {
        put(a->c, a->obs, a->mcap, sizeof(double));
        a->mcap = 0;
        if (!(a->obs = get(a->c, m, sizeof(double)))) s = NB_E_NOMEM;
        else a->mcap = m;
    }
    if (!s && !drivers(a)) s = NB_E_NOMEM;
    if (s) {
        if (Y && !huge) nan_fill(Y, m * d);
        return s;
    }
    if (a->np) memcpy(a->p, p, a->np * sizeof *p);
    if (m) memcpy(a->obs, times, m * sizeof *times);
    nb_gsl_adapter_clear(a->fa);
    gsl_odeiv2_driver *D = a->fd;
    gsl_odeiv2_driver_reset(D);
    double *y = a->yt; /* the state while integrating */
    memcpy(y, y0, d * sizeof *y);
    double t = t0, h = a->o.h0;
    a->splits = 0;
    s = taylor_at(a, t, y, a->nd); /* (nd: scratch until the backward pass) */
    if (!s) s = push(a, t, a->nd, 0);
    for (size_t j = 0; j < m && !s; j++) {
        while (t < times[j] && !s) {
            if (a->fsteps >= a->o.max_steps) {
                s = solver_failed(a, GSL_EMAXITER);
                break;
            }
            const double before = t;
            const int gs = gsl_odeiv2_evolve_apply(D->e, D->c, D->s, D->sys, &t, times[j], &h, y);
            a->fsteps++;
            if (gs) {
                const nb_status fs = nb_gsl_adapter_status(a->fa);
                s = fs ? fs : solver_failed(a, gs);
            } else if (t == before) { /* a step below t's resolution: y moved, t did not */
                s = solver_failed(a, GSL_EFAILED);
            } else {
                s = add_segment(a, t, y, NULL, 0);
            }
        }
        if (!s && Y) memcpy(Y + j * d, y, d * sizeof *y);
    }
    if (s) {
        if (Y) nan_fill(Y, m * d);
        nb_ctx_clear_error(a->c);
        a->S = 0;
        a->seg = SIZE_MAX;
        return s;
    }
    a->seg = SIZE_MAX;
    a->m = m;
    a->kept = 1;
    a->bsteps = 0;
    (void)h;
    return NB_OK;
}

nb_status nb_ode_adjoint_vjp(nb_ode_adjoint *a, const double *W, double *gy0, double *gp) {
    if (!a) return NB_E_ARG;
    const size_t d = a->dim, np = a->np, m = a->m;
    nb_status s = NB_OK;
    a->bsteps = 0;
    if (!a->kept) s = NB_E_ARG;
    else if (m && !W) s = NB_E_ARG;
    for (size_t i = 0; !s && i < m * d; i++)
        if (!isfinite(W[i])) s = NB_E_ARG;
    if (s) {
        nan_fill(gy0, d);
        nan_fill(gp, np);
        return s;
    }
    a->err = NB_OK;
    a->gsl_status = 0;
    double *z = a->z;
    memset(z, 0, a->nb * sizeof *z);
    gsl_odeiv2_driver *D = a->bd;
    const double t0 = a->ts[0];
    double t = m ? a->obs[m - 1] : t0;
    double h = -a->o.h0;
    for (size_t j = m; j-- > 0 && !s;) {
        for (size_t i = 0; i < d; i++) z[i] += W[j * d + i];
        const double target = j ? a->obs[j - 1] : t0;
        gsl_odeiv2_driver_reset(D); /* lambda jumped: no history across it */
        while (t > target && !s) {
            if (a->bsteps >= a->o.max_steps) {
                s = solver_failed(a, GSL_EMAXITER);
                break;
            }
            const double before = t;
            const int gs = gsl_odeiv2_evolve_apply(D->e, D->c, D->s, &a->bsys, &t, target, &h, z);
            a->bsteps++;
            if (gs) {
                s = a->err ? a->err : solver_failed(a, gs);
            } else if (t == before) {
                s = solver_failed(a, GSL_EFAILED);
            } else {
                /* GSL's error control accepts a NaN error estimate: check the state itself */
                for (size_t i = 0; i < a->nb && !s; i++)
                    if (!isfinite(z[i])) s = solver_failed(a, GSL_ERANGE);
            }
        }
    }
    if (s) {
        nan_fill(gy0, d);
        nan_fill(gp, np);
        a->err = NB_OK;
        return s;
    }
    if (gy0) memcpy(gy0, z, d * sizeof *z);
    if (gp && np) memcpy(gp, z + d, np * sizeof *z);
    return NB_OK;
}

void nb_ode_adjoint_steps(const nb_ode_adjoint *a, size_t *forward, size_t *backward) {
    if (forward) *forward = a ? a->fsteps : 0;
    if (backward) *backward = a ? a->bsteps : 0;
}

void nb_ode_adjoint_points(const nb_ode_adjoint *a, size_t *points, size_t *halved) {
    if (points) *points = a && a->kept ? a->S : 0;
    if (halved) *halved = a && a->kept ? a->splits : 0;
}

int nb_ode_adjoint_gsl_status(const nb_ode_adjoint *a) { return a ? a->gsl_status : 0; }

nb_ctx *nb_ode_adjoint_ctx(nb_ode_adjoint *a) { return a ? a->c : NULL; }
