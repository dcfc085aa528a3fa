/* ode_adjoint.c - adjoint sensitivities of ODE solutions (nabla/gsl.h): y integrated forward by a
 * GSL stepper with the state kept at every accepted step (checkpoints), then lambda' = -f_y^T
 * lambda, mu' = -f_p^T lambda integrated backward by another, y(t) at each time the backward
 * stepper asks for integrated again from the checkpoint below it. */
#include <float.h>
#include <math.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "internal.h"
#include "nabla/gsl.h"

enum { CACHE = 4 };
#define SEG_NONE SIZE_MAX

struct nb_ode_adjoint {
    nb_gsl_adapter *fa; /* the forward system (its context is the object's) */
    nb_ctx *c;
    nb_odepfn f;
    void *env;
    size_t dim, np, nb; /* nb = dim + np, the backward state */
    nb_ode_adjoint_opts o;
    int stiff; /* the forward stepper is implicit: y(t) is integrated again by bsimp */

    double *p;  /* np */
    nb_var *hp; /* np: p as constants (the forward system) */

    /* the checkpoints, one every o.stride accepted forward steps and the last: S records of
     * dim + 2 doubles in cp, t, the step size GSL proposed from there, then y (rec_t), room
     * for cap */
    size_t S, cap;
    double *cp;
    /* with o.stride > 1, the steps of stretches between checkpoints, each from checkpoint seg
     * to seg + 1, integrated again (SEG_NONE: a free buffer): n records in r, room for cap; nsb
     * buffers, room for sbcap. A stretch is kept while the backward step in progress may need
     * it: a step across checkpoints asks for y on every stretch it spans, again and again
     * (bsimp's substeps sweep the step once per sequence, rk4imp's stages alternate, a rejected
     * step is retried), and with one or two stretches held the same ones were integrated again
     * 10 to 20 times over. A stretch above t_hi, where the step in progress starts, is never
     * needed again in this vjp (the backward integration only goes down): its buffer is reused. */
    struct stretch_buf {
        size_t seg, n, cap;
        double *r;
    } *sb;
    size_t nsb, sbcap;
    size_t inner;   /* records in the buffers */
    double t_hi;    /* the start of the backward step in progress */
    size_t retakes; /* stretches integrated again in the last vjp */
    size_t held;    /* the most records held at once since the last solve */
    int kept;    /* a trajectory from a successful solve */
    size_t m;
    double *obs; /* the observation times (m), kept for the vjp */
    size_t mcap;

    /* y(t) for the backward pass: the last CACHE times asked for (ct; NaN: none), their y
     * (cy, CACHE dim) and y' (cyd, where cslope) */
    double ct[CACHE], *cy, *cyd;
    int cslope[CACHE];
    size_t cached, cnext;
    double *yt, *ydt; /* y(t), y'(t) (dim) */
    size_t dense;     /* integrations from a checkpoint in the last vjp */

    /* backward scratch */
    double *x;   /* (y, p): nb */
    double *z;   /* the backward state (lambda, mu): nb */
    nb_var *sg;  /* the jacobian's gradients, dim nb, made at its first call */
    nb_var *hx;  /* nb handles */
    double tcur; /* t of the backward right-hand side */

    gsl_odeiv2_driver *fd, *bd, *dd; /* forward, backward, and from a checkpoint to t */
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
    o->max_steps = 1000000;
    o->stride = 1;
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

/* 1 when t and target are within 4 ulps of the larger of them, or closer than 2^-1000: the same
 * time to t's resolution, taken as reached with y unchanged. GSL's rk1imp, rk2imp and rk4imp
 * fail on steps of 1-2 ulps and bsimp on one of 5e-324: two observation times 0.3 and 0.1 + 0.2
 * were NB_E_SOLVER (a review). (A first version crossed every gap below 2048 ulps of the whole
 * span by an Euler step, unstable on Robertson, whose y2 came out negative with NB_OK; a second
 * gave gaps up to 4096 ulps a fresh step of their length, for msbdf, which fails on gaps of up
 * to 256 ulps from its history - and bsimp's backward pass at t = 1e6 then never finished: the
 * second review and the test after it.) */
static int short_gap(double t, double target) {
    const double gap = fabs(target - t), ulp = DBL_EPSILON * fmax(fabs(t), fabs(target));
    return gap <= 4 * ulp || gap < 0x1p-1000;
}

/* One step of an integration by D from t toward target (either direction): GSL's stepper, or
 * across a short gap none (the stepper starts afresh after it). The solve and the stretches
 * integrated again take the same steps through this. Returns GSL's status. */
static int step_to(gsl_odeiv2_driver *D, const gsl_odeiv2_system *sys, double *t, double target,
                   double *h, double *y) {
    if (!short_gap(*t, target))
        return gsl_odeiv2_evolve_apply(D->e, D->c, D->s, sys, t, target, h, y);
    gsl_odeiv2_driver_reset(D);
    *t = target;
    return GSL_SUCCESS;
}

/* ---- the checkpoints ---- */

static nb_status solver_failed(nb_ode_adjoint *a, int gs) {
    a->gsl_status = gs;
    return NB_E_SOLVER;
}

/* A record: t, h, y. */
static double rec_t(const nb_ode_adjoint *a, const double *r, size_t k) {
    return r[k * (a->dim + 2)];
}
static double ckpt_t(const nb_ode_adjoint *a, size_t k) { return rec_t(a, a->cp, k); }

/* Appends the record (t, h, y) to *buf (n records, room for *cap). */
static nb_status append(nb_ode_adjoint *a, double **buf, size_t *n, size_t *cap, double t,
                        double h, const double *y) {
    const size_t d = a->dim, w = d + 2;
    for (size_t i = 0; i < d; i++)
        if (!isfinite(y[i])) return solver_failed(a, GSL_ERANGE); /* the solution blew up */
    if (*n == *cap) {
        const size_t ncap = *n ? 2 * *n : 64;
        if (ncap > SIZE_MAX / sizeof(double) / w) return NB_E_NOMEM;
        nb_ctx *c = a->c;
        double *r = c->alloc(c->alloc_ud, *buf, *cap * w * sizeof(double),
                             ncap * w * sizeof(double));
        if (!r) return NB_E_NOMEM;
        *buf = r;
        *cap = ncap;
    }
    double *r = *buf + (*n)++ * w;
    r[0] = t;
    r[1] = h;
    memcpy(r + 2, y, d * sizeof *y);
    if (a->S + a->inner > a->held) a->held = a->S + a->inner;
    return NB_OK;
}
static nb_status keep(nb_ode_adjoint *a, double t, double h, const double *y) {
    return append(a, &a->cp, &a->S, &a->cap, t, h, y);
}

/* The last of n records (n > 0) at or before t (the first when none is). */
static size_t at_or_before(const nb_ode_adjoint *a, const double *r, size_t n, double t) {
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        const size_t mid = lo + (hi - lo) / 2;
        if (rec_t(a, r, mid) <= t) lo = mid;
        else hi = mid;
    }
    return lo;
}

/* The first observation time after t (a->m when none). */
static size_t obs_after(const nb_ode_adjoint *a, double t) {
    size_t lo = 0, hi = a->m;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        if (a->obs[mid] <= t) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Empties the stretch buffer b. */
static void release(nb_ode_adjoint *a, struct stretch_buf *b) {
    a->inner -= b->n;
    b->n = 0;
    b->seg = SEG_NONE;
}

/* Appends the record (t, h, y) to the stretch buffer b, counted among the records held. */
static nb_status keep_step(nb_ode_adjoint *a, struct stretch_buf *b, double t, double h,
                           const double *y) {
    a->inner++; /* (before the append, which records the most held) */
    const nb_status s = append(a, &b->r, &b->n, &b->cap, t, h, y);
    if (s) a->inner--;
    return s;
}

/* The steps from checkpoint k to checkpoint k + 1 integrated again into b, as the forward pass
 * took them: the forward stepper from checkpoint k's state and step size, aiming at the
 * observation times as the solve did. A one-step stepper (rk2, rk4, rkf45, rkck, rk8pd, rk1imp,
 * rk2imp, rk4imp) retakes the same steps; bsimp, msadams and msbdf carry state a checkpoint
 * does not hold (msbdf restarts at order 1) and may take others, at the same tolerances. */
static nb_status stretch(nb_ode_adjoint *a, struct stretch_buf *b, size_t k) {
    const size_t d = a->dim, w = d + 2;
    release(a, b);
    a->retakes++;
    const double *r = a->cp + k * w;
    double t = r[0], h = r[1];
    const double end = ckpt_t(a, k + 1);
    double *y = a->yt;
    memcpy(y, r + 2, d * sizeof *y);
    nb_status s = keep_step(a, b, t, h, y);
    gsl_odeiv2_driver *D = a->fd;
    gsl_odeiv2_driver_reset(D);
    nb_gsl_adapter_clear(a->fa);
    size_t j = obs_after(a, t), steps = 0; /* (by bisection: a scan made the vjp O(m^2 / s)) */
    while (!s && t < end) {
        /* the solve's target, the next observation time, not the checkpoint: a step clamped to
         * the checkpoint is another step wherever the solve's step there had been rejected and
         * shrunk (h0 = 1: every retaken stretch differed in the last bits, a review) */
        const double target = j < a->m ? a->obs[j] : end;
        if (steps++ >= a->o.max_steps) {
            s = solver_failed(a, GSL_EMAXITER);
            break;
        }
        const double before = t;
        const int gs = step_to(D, D->sys, &t, target, &h, y);
        if (gs) {
            const nb_status fs = nb_gsl_adapter_status(a->fa);
            s = fs ? fs : solver_failed(a, gs);
        } else if (t == before) {
            s = solver_failed(a, GSL_EFAILED);
        } else {
            s = keep_step(a, b, t, h, y);
            while (j < a->m && a->obs[j] <= t) j++;
        }
    }
    if (s) release(a, b);
    else b->seg = k;
    return s;
}

/* The buffer holding stretch k, integrated again into a free one (or a new one) if none does;
 * NULL after recording the failure in *st. */
static struct stretch_buf *stretch_of(nb_ode_adjoint *a, size_t k, nb_status *st) {
    size_t freeb = a->nsb;
    for (size_t i = 0; i < a->nsb; i++) {
        const size_t g = a->sb[i].seg;
        if (g == k) return &a->sb[i];
        if (freeb == a->nsb && (g == SEG_NONE || ckpt_t(a, g) > a->t_hi)) freeb = i;
    }
    if (freeb == a->nsb) {
        if (a->nsb == a->sbcap) {
            const size_t cap = a->sbcap ? 2 * a->sbcap : 4;
            nb_ctx *c = a->c;
            struct stretch_buf *nb = c->alloc(c->alloc_ud, a->sb, a->sbcap * sizeof *nb,
                                              cap * sizeof *nb);
            if (!nb) {
                *st = NB_E_NOMEM;
                return NULL;
            }
            a->sb = nb;
            a->sbcap = cap;
        }
        struct stretch_buf *b = &a->sb[a->nsb++];
        b->seg = SEG_NONE;
        b->n = b->cap = 0;
        b->r = NULL;
    }
    struct stretch_buf *b = &a->sb[freeb];
    if ((*st = stretch(a, b, k))) return NULL;
    return b;
}

/* t within the checkpoints' span: the backward steppers stay inside [t0, t_last] but bsimp's
 * substeps can round a few ulps outside it (t = -2e-16 for t0 = 0), where f may not be defined. */
static double inside(const nb_ode_adjoint *a, double t) {
    const double first = ckpt_t(a, 0), last = ckpt_t(a, a->S - 1);
    return t < first ? first : t > last ? last : t;
}

/* y(t) into a->yt, integrated from the last checkpoint at or before t by the dense driver: the
 * forward stepper's type after an explicit stepper, bsimp after an implicit one (a fresh msbdf
 * starts at order 1 with tiny steps; rk2imp and rk4imp do not damp stiff components). With
 * `slope`, also y'(t) = f(t, y(t)) into a->ydt. Nothing is interpolated: y(t) is as accurate as
 * an integration at the forward tolerances from a checkpoint. The last CACHE times are kept
 * (GSL's implicit steppers ask for the same few times again: rk4imp's Newton iterations
 * alternate between its two stage times, bsimp's substeps revisit theirs). t must be inside().
 * Returns NB_OK or the failure (f's status, or NB_E_SOLVER with GSL's). */
static nb_status y_at(nb_ode_adjoint *a, double t, int slope) {
    const size_t d = a->dim;
    size_t e = CACHE;
    for (size_t k = 0; k < a->cached; k++)
        if (a->ct[k] == t) e = k;
    if (e == CACHE) { /* not kept: integrate into the next entry */
        e = a->cnext;
        a->cnext = (a->cnext + 1) % CACHE;
        if (a->cached < CACHE) a->cached++;
        a->ct[e] = NAN; /* (invalid until done) */
        /* the last checkpoint at or before t, or with a stride the last step of its stretch */
        const double *r = a->cp;
        size_t lo = at_or_before(a, r, a->S, t);
        if (a->o.stride > 1 && lo + 1 < a->S && ckpt_t(a, lo) != t) {
            nb_status s = NB_OK;
            const struct stretch_buf *b = stretch_of(a, lo, &s);
            if (!b) return s;
            r = b->r;
            lo = at_or_before(a, r, b->n, t);
        }
        double *y = a->cy + e * d;
        memcpy(y, r + lo * (d + 2) + 2, d * sizeof(double));
        double tt = rec_t(a, r, lo);
        if (t != tt) {
            gsl_odeiv2_driver *D = a->dd;
            gsl_odeiv2_driver_reset_hstart(D, t - tt);
            nb_gsl_adapter_clear(a->fa);
            const int gs = gsl_odeiv2_driver_apply(D, &tt, t, y);
            a->dense++;
            if (gs) {
                const nb_status fs = nb_gsl_adapter_status(a->fa);
                return fs ? fs : solver_failed(a, gs);
            }
        }
        a->ct[e] = t;
        a->cslope[e] = 0;
    }
    if (slope && !a->cslope[e]) {
        gsl_odeiv2_system *S = nb_gsl_odeiv2_system(a->fa);
        nb_gsl_adapter_clear(a->fa);
        if (S->function(t, a->cy + e * d, a->cyd + e * d, S->params)) {
            const nb_status fs = nb_gsl_adapter_status(a->fa);
            return fs ? fs : solver_failed(a, GSL_EBADFUNC);
        }
        a->cslope[e] = 1;
    }
    memcpy(a->yt, a->cy + e * d, d * sizeof(double));
    if (slope) memcpy(a->ydt, a->cyd + e * d, d * sizeof(double));
    return NB_OK;
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

/* (lambda, mu)' = -(lambda^T f_y, lambda^T f_p): one reverse sweep seeded with lambda. */
static int back_function(double t, const double z[], double dz[], void *params) {
    nb_ode_adjoint *a = params;
    const size_t d = a->dim, nb = a->nb;
    if (a->err) {
        nb__nan_doubles(dz, nb);
        return GSL_EBADFUNC;
    }
    t = inside(a, t);
    if (back_failed(a, y_at(a, t, 0))) {
        nb__nan_doubles(dz, nb);
        return GSL_EBADFUNC;
    }
    memcpy(a->x, a->yt, d * sizeof(double));
    if (a->np) memcpy(a->x + d, a->p, a->np * sizeof(double));
    a->tcur = t;
    if (back_failed(a, nb_vjp(a->c, f_of_yp, a, nb, d, a->x, z, NULL, dz))) {
        nb__nan_doubles(dz, nb);
        return GSL_EBADFUNC;
    }
    for (size_t i = 0; i < nb; i++) dz[i] = -dz[i];
    return GSL_SUCCESS;
}

/* The backward system's jacobian: d(lambda, mu)'/d lambda = -(f_y, f_p)^T (nothing depends on
 * mu), and its t-derivative at fixed z, -(d/dt (f_y, f_p))^T lambda along y'(t) = f(t, y(t)).
 * One recording of f on a reverse level above a forward level that moves t along 1 and y along
 * y'(t); the sweep of f_i gives row i of (f_y, f_p) as dual numbers whose tangents are its
 * t-derivative. */
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
    t = inside(a, t);
    if (!bad) bad = back_failed(a, y_at(a, t, 1));
    if (!bad) {
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
        nb__nan_doubles(dfdy, nb * nb);
        nb__nan_doubles(dfdt, nb);
    }
    return bad ? GSL_EBADFUNC : GSL_SUCCESS;
}

/* ---- the object ---- */

void nb_ode_adjoint_free(nb_ode_adjoint *a) {
    if (!a) return;
    nb_ctx *c = a->c;
    if (a->fd) gsl_odeiv2_driver_free(a->fd);
    if (a->bd) gsl_odeiv2_driver_free(a->bd);
    if (a->dd) gsl_odeiv2_driver_free(a->dd);
    put(c, a->p, a->np, sizeof(double));
    put(c, a->hp, a->np, sizeof(nb_var));
    if (a->cp) c->alloc(c->alloc_ud, a->cp, a->cap * (a->dim + 2) * sizeof(double), 0);
    for (size_t i = 0; i < a->nsb; i++)
        if (a->sb[i].r) c->alloc(c->alloc_ud, a->sb[i].r, a->sb[i].cap * (a->dim + 2) * sizeof(double), 0);
    if (a->sb) c->alloc(c->alloc_ud, a->sb, a->sbcap * sizeof *a->sb, 0);
    put(c, a->cy, CACHE * a->dim, sizeof(double));
    put(c, a->cyd, CACHE * a->dim, sizeof(double));
    put(c, a->obs, a->mcap, sizeof(double));
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
           o->max_steps == 0 || o->stride == 0;
}

nb_status nb_ode_adjoint_new(nb_ode_adjoint **out, nb_odepfn f, void *env, size_t dim,
                             size_t np, const nb_ode_adjoint_opts *o, const nb_ctx_opts *copts) {
    if (!out) return NB_E_ARG;
    *out = NULL;
    nb_ode_adjoint_opts def;
    nb_ode_adjoint_opts_init(&def);
    if (!o) o = &def;
    if (!f || dim == 0 || bad_opts(o) || np >= SIZE_MAX / 4 || dim >= SIZE_MAX / 4 - np ||
        dim + np > SIZE_MAX / sizeof(double) / (dim + np) || dim > SIZE_MAX / 4096 - 2)
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
    a->stiff = implicit(o->step);
    a->p = get(c, np, sizeof(double));
    a->hp = get(c, np, sizeof(nb_var));
    a->yt = get(c, dim, sizeof(double));
    a->ydt = get(c, dim, sizeof(double));
    a->x = get(c, a->nb, sizeof(double));
    a->z = get(c, a->nb, sizeof(double));
    a->hx = get(c, a->nb, sizeof(nb_var));
    a->cy = get(c, CACHE * dim, sizeof(double));
    a->cyd = get(c, CACHE * dim, sizeof(double));
    if (!a->p || !a->hp || !a->yt || !a->ydt || !a->x || !a->z || !a->hx || !a->cy || !a->cyd) {
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
    if (a->fd && a->bd && a->dd) return 1;
    const gsl_odeiv2_step_type *T = a->o.step ? a->o.step : gsl_odeiv2_step_rk8pd;
    const gsl_odeiv2_step_type *B = a->o.back_step ? a->o.back_step : T;
    const gsl_odeiv2_step_type *Y = a->stiff ? gsl_odeiv2_step_bsimp : T;
    gsl_odeiv2_system *F = nb_gsl_odeiv2_system(a->fa);
    if (!a->fd) a->fd = gsl_odeiv2_driver_alloc_y_new(F, T, a->o.h0, a->o.epsabs, a->o.epsrel);
    if (!a->bd)
        a->bd = gsl_odeiv2_driver_alloc_y_new(&a->bsys, B, a->o.h0, a->o.back_epsabs,
                                              a->o.back_epsrel);
    if (!a->dd) {
        a->dd = gsl_odeiv2_driver_alloc_y_new(F, Y, a->o.h0, a->o.epsabs, a->o.epsrel);
        /* within one forward step: a few steps; a step that does not move t spins until this */
        if (a->dd) gsl_odeiv2_driver_set_nmax(a->dd, a->o.max_steps < 10000 ? a->o.max_steps : 10000);
    }
    return a->fd && a->bd && a->dd;
}

nb_status nb_ode_adjoint_solve(nb_ode_adjoint *a, const double *p, double t0, const double *y0,
                               size_t m, const double *times, double *Y) {
    if (!a) return NB_E_ARG;
    const size_t d = a->dim;
    a->kept = 0;
    a->S = 0;
    a->dense = a->retakes = 0;
    for (size_t i = 0; i < a->nsb; i++) release(a, &a->sb[i]);
    a->held = 0;
    a->cached = a->cnext = 0;
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
        if (Y && !huge) nb__nan_doubles(Y, m * d);
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
    size_t since = 0; /* accepted steps since the last checkpoint */
    s = keep(a, t, h, y);
    for (size_t j = 0; j < m && !s; j++) {
        while (t < times[j] && !s) {
            if (a->fsteps >= a->o.max_steps) {
                s = solver_failed(a, GSL_EMAXITER);
                break;
            }
            const double before = t;
            const int gs = step_to(D, D->sys, &t, times[j], &h, y);
            a->fsteps++;
            if (gs) {
                const nb_status fs = nb_gsl_adapter_status(a->fa);
                s = fs ? fs : solver_failed(a, gs);
            } else if (t == before) { /* a step below t's resolution: y moved, t did not */
                s = solver_failed(a, GSL_EFAILED);
            } else if (++since == a->o.stride) {
                s = keep(a, t, h, y);
                since = 0;
            }
        }
        if (!s && Y) memcpy(Y + j * d, y, d * sizeof *y);
    }
    if (!s && since) s = keep(a, t, h, y); /* the last state: the end of the span */
    if (s) {
        if (Y) nb__nan_doubles(Y, m * d);
        nb_ctx_clear_error(a->c);
        a->S = 0;
        return s;
    }
    a->m = m;
    a->kept = 1;
    a->bsteps = 0;
    return NB_OK;
}

nb_status nb_ode_adjoint_vjp(nb_ode_adjoint *a, const double *W, double *gy0, double *gp) {
    if (!a) return NB_E_ARG;
    const size_t d = a->dim, np = a->np, m = a->m;
    nb_status s = NB_OK;
    a->bsteps = 0;
    a->dense = a->retakes = 0; /* (also when the arguments are refused) */
    if (!a->kept) s = NB_E_ARG;
    else if (m && !W) s = NB_E_ARG;
    for (size_t i = 0; !s && i < m * d; i++)
        if (!isfinite(W[i])) s = NB_E_ARG;
    if (s) {
        nb__nan_doubles(gy0, d);
        nb__nan_doubles(gp, np);
        return s;
    }
    a->err = NB_OK;
    a->gsl_status = 0;
    a->dense = 0;
    a->retakes = 0;
    for (size_t i = 0; i < a->nsb; i++) release(a, &a->sb[i]); /* (the last vjp's, near t0) */
    a->t_hi = INFINITY;
    a->cached = a->cnext = 0;
    double *z = a->z;
    memset(z, 0, a->nb * sizeof *z);
    gsl_odeiv2_driver *D = a->bd;
    const double t0 = ckpt_t(a, 0);
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
            a->t_hi = t;
            const int gs = step_to(D, &a->bsys, &t, target, &h, z);
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
        nb__nan_doubles(gy0, d);
        nb__nan_doubles(gp, np);
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

size_t nb_ode_adjoint_points(const nb_ode_adjoint *a) { return a && a->kept ? a->S : 0; }

size_t nb_ode_adjoint_held(const nb_ode_adjoint *a) { return a && a->kept ? a->held : 0; }

size_t nb_ode_adjoint_retakes(const nb_ode_adjoint *a) { return a ? a->retakes : 0; }

size_t nb_ode_adjoint_dense(const nb_ode_adjoint *a) { return a ? a->dense : 0; }

int nb_ode_adjoint_gsl_status(const nb_ode_adjoint *a) { return a ? a->gsl_status : 0; }

nb_ctx *nb_ode_adjoint_ctx(nb_ode_adjoint *a) { return a ? a->c : NULL; }
