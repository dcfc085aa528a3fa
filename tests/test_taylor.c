/* test_taylor.c - Taylor levels: known series to orders 20, 50 and 100, agreement with nested
 * forward levels on every registry op (orders <= 4) and on composite expressions (order 10), tanh
 * relatively accurate far from 0, the zero-coefficient cases, the NaN policy, and nesting with
 * other levels. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <float.h>

#include <gsl/gsl_sf_bessel.h>
#include <math.h>
#include <string.h>

#include "nabla/nabla.h"
#include "op_table.h"
#include "oracle.h"

#define F1(name_, expr_)                                                   \
    static nb_var name_(nb_ctx *c, const nb_var *xs, void *env) {          \
        (void)env;                                                         \
        nb_var x = xs[0];                                                  \
        return (expr_);                                                    \
    }
F1(f_exp, nb_exp(c, x))
F1(f_geom, nb_div(c, nb_const(1), nb_sub(c, nb_const(1), x)))
F1(f_sin, nb_sin(c, x))
F1(f_cos, nb_cos(c, x))
F1(f_log1p, nb_log(c, nb_add(c, nb_const(1), x)))
F1(f_atan, nb_atan(c, x))
/* p(x) = 3 - 2x + 0.5x^2 + 4x^3 - x^5 */
F1(f_poly, nb_add(c, nb_add(c, nb_sub(c, nb_const(3), nb_mul(c, nb_const(2), x)),
                            nb_mul(c, nb_const(0.5), nb_powi(c, x, 2))),
                  nb_sub(c, nb_mul(c, nb_const(4), nb_powi(c, x, 3)), nb_powi(c, x, 5))))

/* Known coefficients c_k of f(x0 + t). */
static double known(int which, double x0, int k) {
    double fact = 1; /* k! without overflow for k <= 100 */
    for (int i = 2; i <= k; i++) fact *= i;
    switch (which) {
    case 0: return exp(x0) / fact;
    case 1: return 1; /* 1/(1-t) at 0 */
    case 2:
    case 3: { /* the derivatives of sin cycle sin, cos, -sin, -cos (cos: one step ahead) */
        int m = (k + (which == 3)) % 4;
        double d = m == 0 ? sin(x0) : m == 1 ? cos(x0) : m == 2 ? -sin(x0) : -cos(x0);
        return d / fact;
    }
    case 4: return k == 0 ? 0 : ((k % 2) ? 1.0 : -1.0) / k; /* log(1+t) */
    case 5: return (k % 2) ? (((k - 1) / 2) % 2 ? -1.0 : 1.0) / k : 0; /* atan t */
    default: {
        /* p(x0 + t) = sum_j a_j (x0 + t)^j: coefficient of t^k is sum_j a_j C(j, k) x0^(j-k) */
        const double a[6] = {3, -2, 0.5, 4, 0, -1};
        double s = 0;
        for (int j = k; j <= 5; j++) {
            double binom = 1;
            for (int i = 0; i < k; i++) binom = binom * (j - i) / (i + 1);
            s += a[j] * binom * pow(x0, j - k);
        }
        return s;
    }
    }
}

Test(series, known_coefficients_to_order_100) {
    nb_ctx *c = new_ctx();
    nb_fn fs[7] = {f_exp, f_geom, f_sin, f_cos, f_log1p, f_atan, f_poly};
    const char *names[7] = {"exp", "1/(1-x)", "sin", "cos", "log(1+x)", "atan", "polynomial"};
    struct {
        int which;
        double x0;
    } cases[] = {{0, 0}, {0, 1}, {1, 0}, {2, 0}, {2, 1}, {3, 0}, {3, 1}, {4, 0}, {5, 0}, {6, 0.7}};
    const int orders[3] = {20, 50, 100};
    static double coef[101];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int o = 0; o < 3; o++) {
            int K = orders[o];
            double one = 1, x0 = cases[i].x0;
            cr_assert_eq(nb_taylor(c, fs[cases[i].which], NULL, 1, &x0, &one, K, coef), NB_OK);
            for (int k = 0; k <= K; k++) {
                double want = known(cases[i].which, x0, k);
                /* Each order adds a few roundings to the recurrence (a product, a sum, the
                 * division by k), so coefficient k is good to a small multiple of k ulps; the
                 * reference itself (a running k!, pow for the polynomial) carries a few ulps
                 * more. 8 (k + 2) ulps relative, and for coefficients that are
                 * exactly 0 (even terms of sin at 0, atan) a floor far below the smallest nonzero
                 * coefficient (1/100! = 1e-158). */
                double tol = 8.0 * (k + 2) * DBL_EPSILON;
                cr_expect(close_to(coef[k], want, tol, 1e-200),
                          "%s at %g, K = %d: c_%d = %.17g, want %.17g", names[cases[i].which], x0,
                          K, k, coef[k], want);
            }
        }
    nb_ctx_free(c);
}

/* ---- every op: Taylor against nested forward levels, orders 0..4 ---- */

struct op_env {
    nb_op op;
    int n;
};
static nb_var op_fn(nb_ctx *c, const nb_var *x, void *p) {
    const struct op_env *e = p;
    return nb_apply(c, e->op, x[0], nb_op_get(e->op)->arity == 2 ? x[1] : nb_const(0), e->n);
}

/* d^k/dt^k f(x + t v) for k = 0..K by K nested forward levels (each level seeds its inputs with
 * v) - a different algorithm from the Taylor recurrences, sharing only the registry rules. */
static void nested_derivatives(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x,
                               const double *v, int K, double *out) {
    for (int k = 0; k <= K; k++) {
        nb_var in[4];
        for (size_t i = 0; i < n; i++) in[i] = nb_const(x[i]);
        for (int l = 0; l < k; l++) {
            cr_assert_eq(nb_push(c, NB_FORWARD), NB_OK);
            for (size_t i = 0; i < n; i++) in[i] = nb_fwd_input(c, in[i], nb_const(v[i]));
        }
        nb_var y = f(c, in, env);
        for (int l = 0; l < k; l++) {
            y = nb_tangent(c, y);
            nb_pop(c);
        }
        out[k] = nb_value(y);
    }
}

struct row {
    int op;
};
ParameterizedTestParameters(taylor_ops, against_nested_forward) {
    static struct row rows[NB_OP_COUNT];
    size_t k = 0;
    for (int i = 0; i < NB_OP_COUNT; i++)
        if (!nb_op_get((nb_op)i)->reduction) rows[k++].op = i;
    return cr_make_param_array(struct row, rows, k);
}

ParameterizedTest(struct row *r, taylor_ops, against_nested_forward) {
    const nb_op_info *info = nb_op_get((nb_op)r->op);
    const struct closed_form *cf = closed_form_of(info->name);
    cr_assert_not_null(cf, "op '%s' has no entry in tests/op_table.h", info->name);
    nb_ctx *c = new_ctx();
    int nparams = info->has_param ? cf->nparams : 1;
    for (int pi = 0; pi < nparams; pi++) {
        struct op_env e = {(nb_op)r->op, info->has_param ? cf->params[pi] : 0};
        for (int k = 0; k < cf->npts; k++) {
            double x[2] = {cf->pts[k][0], cf->pts[k][1]}, v[2] = {1, 0.5};
            double tay[5], nes[5];
            size_t n = (size_t)info->arity;
            cr_assert_eq(nb_taylor(c, op_fn, &e, n, x, v, 0, tay), NB_OK); /* K = 0: f(x) */
            cr_expect_eq(tay[0], nb_prim_apply((nb_op)r->op, x[0], x[1], e.n));
            cr_assert_eq(nb_taylor(c, op_fn, &e, n, x, v, 4, tay), NB_OK);
            double fact = 1;
            for (int o = 1; o <= 4; o++) tay[o] *= (fact *= o);
            nested_derivatives(c, op_fn, &e, n, x, v, 4, nes);
            for (int o = 0; o <= 4; o++)
                cr_expect(close_to(tay[o], nes[o], 1e-12, 1e-13),
                          "%s(%g, %g; n=%d) order %d: Taylor %.17g, nested forward %.17g",
                          info->name, x[0], x[1], e.n, o, tay[o], nes[o]);
        }
    }
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_ctx_free(c);
}

/* tanh far from 0, relatively: sinh/cosh divided as for tan cancelled there (a relative error of
 * 1e-6 in the first coefficient at x = 12, which the comparison above cannot see beside its
 * absolute floor; nb_check_modes found it). Closed forms with t = tanh x, s = 1/cosh^2 x:
 * tanh' = s, '' = -2 t s, ''' = 4 t^2 s - 2 s^2, '''' = 16 t s^2 - 8 t^3 s - none cancels. */
Test(series, tanh_is_relatively_accurate_for_large_x) {
    nb_ctx *c = new_ctx();
    struct op_env e = {NB_OP_tanh, 0};
    double xs[6] = {-30, -12, -3, 0.3, 12, 19};
    for (int i = 0; i < 6; i++) {
        double x = xs[i], v = 1, d[5];
        cr_assert_eq(nb_taylor(c, op_fn, &e, 1, &x, &v, 4, d), NB_OK);
        double t = tanh(x), ch = cosh(x), s = 1 / (ch * ch);
        double want[5] = {t, s, -2 * t * s, 4 * t * t * s - 2 * s * s, 16 * t * s * s - 8 * t * t * t * s};
        double fact = 1;
        for (int k = 1; k <= 4; k++) d[k] *= (fact *= k);
        /* a few roundings per coefficient and order */
        for (int k = 0; k <= 4; k++)
            cr_expect(close_to(d[k], want[k], 1e-14, 0), "tanh at %g, order %d: %.17g, closed form %.17g",
                      x, k, d[k], want[k]);
    }
    nb_ctx_free(c);
}

/* ---- composite expressions at order 10 ---- */

F1(g1, nb_mul(c, nb_sin(c, x), nb_exp(c, nb_neg(c, nb_powi(c, x, 2)))))
F1(g2, nb_div(c, nb_atan(c, x), nb_add(c, nb_const(1), nb_mul(c, x, x))))
F1(g3, nb_add(c, nb_log1p(c, nb_mul(c, x, x)), nb_tanh(c, nb_sqrt(c, nb_add(c, x, nb_const(2))))))
F1(g4, nb_pow(c, nb_add(c, nb_cosh(c, x), nb_const(0.5)), nb_sin(c, x)))
F1(g5, nb_mul(c, nb_erf(c, x), nb_lgamma(c, nb_add(c, x, nb_const(3)))))
F1(g6, nb_hypot(c, nb_cbrt(c, nb_add(c, x, nb_const(4))), nb_tan(c, x)))

Test(composite, order_ten_against_nested_forward) {
    nb_ctx *c = new_ctx();
    nb_fn gs[6] = {g1, g2, g3, g4, g5, g6};
    double pts[3] = {-0.4, 0.3, 0.9};
    for (int i = 0; i < 6; i++)
        for (int p = 0; p < 3; p++) {
            double d[11], nes[11], one = 1;
            cr_assert_eq(nb_derivatives(c, gs[i], NULL, pts[p], 10, d), NB_OK);
            nested_derivatives(c, gs[i], NULL, 1, &pts[p], &one, 10, nes);
            for (int o = 0; o <= 10; o++)
                cr_expect(close_to(d[o], nes[o], 1e-12, 1e-10), "g%d at %g, order %d: %.17g vs %.17g",
                          i + 1, pts[p], o, d[o], nes[o]);
        }
    nb_ctx_free(c);
}

/* Bessel J to high order. Its registry rule, (J_{n-1} - J_{n+1}) / 2, branches into 2^K series
 * when evaluated as a series (order 40 ran out of memory); the Taylor level composes instead.
 * The oracle is Bessel's equation differentiated k times (Leibniz), which every derivative of
 * y = J_n must satisfy: x^2 y(k+2) + (2k+1) x y(k+1) + (k^2 + x^2 - n^2) y(k) + 2k x y(k-1)
 * + k(k-1) y(k-2) = 0 - independent of the formula the level uses. */
static nb_var jn_fn(nb_ctx *c, const nb_var *x, void *env) {
    const int n = *(const int *)env;
    return n == 0 ? nb_bessel_j0(c, x[0]) : n == 1 ? nb_bessel_j1(c, x[0]) : nb_bessel_jn(c, x[0], n);
}
/* Y_0 and Y_1 (env 100 + n) satisfy the same equation. */
static nb_var yn_fn(nb_ctx *c, const nb_var *x, void *env) {
    return *(const int *)env == 100 ? nb_bessel_y0(c, x[0]) : nb_bessel_y1(c, x[0]);
}
Test(series, bessel_j_and_y_to_order_60_satisfy_bessels_equation) {
    nb_ctx *c = new_ctx();
    enum { KMAX = 60 };
    const int orders[] = {0, 1, 2, 5, -3, 40, 100, 101}; /* 100, 101: Y_0, Y_1 */
    const double xs[] = {0.5, 1, 7.5, 30};
    for (size_t a = 0; a < sizeof orders / sizeof *orders; a++)
        for (size_t b = 0; b < sizeof xs / sizeof *xs; b++) {
            int which = orders[a], y = which >= 100, n = y ? which - 100 : which;
            double x = xs[b], d[KMAX + 1];
            cr_assert_eq(nb_derivatives(c, y ? yn_fn : jn_fn, &which, x, KMAX, d), NB_OK);
            cr_expect(close_to(d[0], y ? gsl_sf_bessel_Yn(n, x) : gsl_sf_bessel_Jn(n, x), 1e-14, 1e-300),
                      "%c_%d(%g)", y ? 'Y' : 'J', n, x);
            for (int k = 0; k + 2 <= KMAX; k++) {
                double t[5] = {x * x * d[k + 2], (2 * k + 1) * x * d[k + 1],
                               ((double)k * k + x * x - (double)n * n) * d[k],
                               k >= 1 ? 2 * k * x * d[k - 1] : 0,
                               k >= 2 ? (double)k * (k - 1) * d[k - 2] : 0};
                /* every derivative of J_n is at most 1 in size and is a sum of J values of size
                 * up to 1, so each carries an absolute error of a few ulps of 1 even where it is
                 * tiny (J_40 at 30): the floor is that error times the equation's coefficients.
                 * Y grows with the order (Y_61(0.5) is huge): its relative test is the binding one */
                const double coefs = x * x + (2 * k + 1) * x + fabs((double)k * k + x * x - (double)n * n) +
                                     2 * k * x + (double)k * (k - 1);
                double sum = 0, scale = 0;
                for (int i = 0; i < 5; i++) sum += t[i], scale += fabs(t[i]);
                cr_expect(fabs(sum) <= 1e-13 * scale + 4 * DBL_EPSILON * coefs,
                          "%c_%d at %g, k = %d: residual %g of %g", y ? 'Y' : 'J', n, x, k, sum, scale);
            }
        }
    /* order 100 of the composite in one pass, at the documented limit of the CLI */
    int n = 5;
    double d[101];
    cr_expect_eq(nb_derivatives(c, jn_fn, &n, 1.0, 100, d), NB_OK);
    cr_expect(isfinite(d[100]) && fabs(d[100]) <= 1, "|J^(100)| <= 1: %g", d[100]);
    nb_ctx_free(c);
}

/* Bessel along a long direction (a review): the coefficients were g_k d^k with d = 100 t, and
 * 100^k overflowed past k = 154 while 2^-k / (j! (k-j)!) underflowed, so J_0 had coefficient 156
 * inf and 200 0 with status OK; Y_0 along 1 was wrong from order 154 (0 by 180). The references are mpmath
 * (60 digits): besselj / bessely(n, x, derivative=k) / k! * v^k at x = mpf(1.3), the double nearest
 * 1.3 (at the decimal 1.3, Y's coefficient 150 differs by 6e-15: its relative slope is about k/x).
 * Agreement is within a few 1e-15; 1e-13 leaves room for the libm's Bessel values. */
static nb_var bessel_fn(nb_ctx *c, const nb_var *x, void *env) {
    switch (*(const int *)env) {
    case 0: return nb_bessel_j0(c, x[0]);
    case 1: return nb_bessel_j1(c, x[0]);
    case 3: return nb_bessel_jn(c, x[0], 3);
    case 100: return nb_bessel_y0(c, x[0]);
    default: return nb_bessel_y1(c, x[0]);
    }
}
Test(series, bessel_along_a_long_direction_neither_overflows_nor_underflows) {
    nb_ctx *c = new_ctx();
    static const struct {
        int which; /* 0, 1, 3: J_n; 100, 101: Y_0, Y_1 */
        double v;
        int order;
        int k[6];
        double ref[6]; /* mpmath; +-inf where the coefficient is beyond DBL_MAX */
    } rows[] = {
        {0, 100, 200, {150, 156, 160, 170, 185, 200},
         {-3.0921345595510232e+35, 2.3175483276692202e+34, 3.6250761062457718e+33,
          -2.2829947808673122e+31, -1.367900074200542e+28, 1.9334461262202447e+23}},
        {1, 100, 200, {150, 156, 160, 170, 185, 200},
         {-1.0919186235523094e+36, 8.190074036254107e+34, 1.2816835270237881e+34,
          -8.080506896468112e+31, 3.8383851497376255e+27, 6.8611486217805087e+23}},
        {3, 100, 200, {150, 156, 160, 170, 185, 200},
         {1.0634415138004685e+36, -7.984518467342423e+34, -1.2503031871019995e+34,
          7.8940766791411173e+31, -3.7547300990288953e+27, -6.7262005505565984e+23}},
        /* Y_n's coefficients along 100 grow as (100/1.3)^k / k: past order 163 they overflow
         * (6.1e308, -1.6e318, -5.2e374 for Y_0), and +-inf is the answer, not NaN or 0 */
        {100, 100, 200, {150, 154, 156, 160, 163, 165},
         {-3.4377111046898667e+280, -1.1723772099301736e+288, -6.8482119200274031e+291,
          -2.3378097408836755e+299, 1.0445086065381637e+305, INFINITY}},
        {101, 100, 200, {150, 154, 156, 160, 163, 170},
         {-3.9665917626035475e+282, -1.38881673475983e+290, -8.2178580334087834e+293,
          -2.8773055061451485e+301, 1.3096536195444462e+307, -INFINITY}},
        /* an ordinary direction, at orders that need Y_m(1.3) beyond DBL_MAX (from m = 159) */
        {100, 1, 200, {150, 180, 200, 200, 200, 200},
         {-3.4377111046898667e-20, -1.0934342798994323e-23, -5.1780990355938462e-26,
          -5.1780990355938462e-26, -5.1780990355938462e-26, -5.1780990355938462e-26}},
        {101, 1, 200, {150, 180, 200, 200, 200, 200},
         {-3.9665917626035475e-18, -1.5139863721217463e-21, -7.9663079169535073e-24,
          -7.9663079169535073e-24, -7.9663079169535073e-24, -7.9663079169535073e-24}},
        /* and at low order, where the scaling is 1 and nothing changed */
        {0, 1, 60, {1, 5, 20, 60, 60, 60},
         {-5.2202324741466041e-1, -2.6122157223461984e-3, 2.1476388791075039e-20,
          3.4230990469322163e-84, 3.4230990469322163e-84, 3.4230990469322163e-84}},
        {1, 1, 60, {1, 5, 20, 60, 60, 60},
         {2.1852964539638573e-1, 9.1050692030717508e-4, 6.7507472004211492e-20,
          1.17454042760221e-83, 1.17454042760221e-83, 1.17454042760221e-83}},
        {3, 1, 60, {1, 5, 20, 60, 60, 60},
         {8.8097870184313948e-2, -3.0076917885173276e-4, -5.5989669441267697e-20,
          -1.1004299203620717e-83, -1.1004299203620717e-83, -1.1004299203620717e-83}},
        {100, 1, 60, {1, 5, 20, 60, 60, 60},
         {5.4851972998077604e-1, 3.3416860774778882e-2, -1.6707585611227492e-4,
          -1.5453274618433205e-9, -1.5453274618433205e-9, -1.5453274618433205e-9}},
        {101, 1, 60, {1, 5, 20, 60, 60, 60},
         {7.0847361099693629e-1, 1.2945590100993898e-1, -2.5710285612004747e-3,
          -7.1323392672024787e-8, -7.1323392672024787e-8, -7.1323392672024787e-8}},
    };
    for (size_t r = 0; r < sizeof rows / sizeof *rows; r++) {
        double x = 1.3, v = rows[r].v, co[201];
        int which = rows[r].which;
        cr_assert_eq(nb_taylor(c, bessel_fn, &which, 1, &x, &v, rows[r].order, co), NB_OK);
        for (int i = 0; i < 6; i++) {
            const int k = rows[r].k[i];
            cr_expect(close_to(co[k], rows[r].ref[i], 1e-13, 0), "%d along %g: c%d = %.17g, not %.17g",
                      which, v, k, co[k], rows[r].ref[i]);
        }
        for (int k = 0; k <= rows[r].order; k++)
            cr_expect(!isnan(co[k]), "%d along %g: c%d is NaN", which, v, k);
    }
    /* Taylor over forward: the coefficients are handles, and the tangent of c_k is
     * (k+1) c_{k+1} / v (mpmath: J_0's c161 = -7.9607672485949571e+33, Y_0's c157 =
     * 5.234304479878206e+293) */
    static const struct { int which, k; double ck, ck1; } fw[] = {
        {0, 160, 3.6250761062457718e+33, -7.9607672485949571e+33},
        {100, 156, -6.8482119200274031e+291, 5.234304479878206e+293},
    };
    for (size_t r = 0; r < sizeof fw / sizeof *fw; r++) {
        cr_assert_eq(nb_push(c, NB_FORWARD), NB_OK);
        nb_var xf = nb_fwd_input(c, nb_const(1.3), nb_const(1));
        cr_assert_eq(nb_push_taylor(c, 200), NB_OK);
        nb_var t = nb_taylor_input(c, xf, nb_const(100));
        int which = fw[r].which;
        nb_var y = bessel_fn(c, &t, &which);
        nb_var ck = nb_taylor_coef(c, y, fw[r].k);
        nb_pop(c);
        cr_expect(close_to(nb_value(ck), fw[r].ck, 1e-13, 0), "%d: c%d = %.17g", fw[r].which, fw[r].k,
                  nb_value(ck));
        const double slope = (fw[r].k + 1) * fw[r].ck1 / 100;
        cr_expect(close_to(nb_value(nb_tangent(c, ck)), slope, 1e-13, 0), "%d: c%d' = %.17g, not %.17g",
                  fw[r].which, fw[r].k, nb_value(nb_tangent(c, ck)), slope);
        nb_pop(c);
        cr_expect_eq(nb_ctx_status(c), NB_OK);
    }
    nb_ctx_free(c);
}

/* Derivatives whose Taylor coefficients underflow: f^(k) of exp(x/100) at 0 is 100^-k (1e-200 at
 * k = 100) while its coefficient 100^-k / k! is 0 past about order 85; nb_taylor_derivatives
 * takes those orders from a pass along 64 v. */
static nb_var exp_slow(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_exp(c, nb_div(c, nb_add(c, x[0], nb_mul(c, nb_const(2), x[1])), nb_const(100)));
}
static nb_var cube(nb_ctx *c, const nb_var *x, void *env);
Test(series, derivatives_whose_coefficients_underflow) {
    nb_ctx *c = new_ctx();
    double x[2] = {0, 0}, v[2] = {0.5, 0.25}, d[101], coef[101];
    /* along v the argument moves at (0.5 + 2 * 0.25) / 100 = 1/100 */
    cr_assert_eq(nb_taylor(c, exp_slow, NULL, 2, x, v, 100, coef), NB_OK);
    cr_expect_eq(coef[100], 0, "the coefficient underflows");
    cr_assert_eq(nb_taylor_derivatives(c, exp_slow, NULL, 2, x, v, 100, d), NB_OK);
    for (int k = 0; k <= 100; k++)
        cr_expect(close_to(d[k], pow(10, -2.0 * k), 1e-13, 0), "order %d: %.17g", k, d[k]);
    /* a polynomial's exact zeros stay 0 */
    double p[6];
    cr_assert_eq(nb_derivatives(c, cube, NULL, 2.0, 5, p), NB_OK);
    cr_expect(p[3] == 6 && p[4] == 0 && p[5] == 0);
    cr_expect_eq(nb_taylor_derivatives(c, exp_slow, NULL, 2, x, v, NB_DERIVATIVES_MAX_ORDER + 1, d),
                 NB_E_ARG);
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_taylor_derivatives(c, exp_slow, NULL, 1, x, NULL, 3, d), NB_E_ARG);
    nb_ctx_free(c);
}

/* ---- zeros and the NaN policy ---- */

F1(h_cube, nb_powi(c, x, 3))
F1(h_cube_pow, nb_pow(c, x, nb_const(3)))
F1(h_sqrt, nb_sqrt(c, x))
F1(h_sqrt_sq, nb_sqrt(c, nb_mul(c, x, x)))
F1(h_log, nb_log(c, x))
F1(h_abs, nb_abs(c, x))
F1(h_pow25, nb_pow(c, x, nb_const(2.5)))
F1(h_inv, nb_powi(c, x, -2))

Test(zeros, divisions_by_a_zero_coefficient) {
    nb_ctx *c = new_ctx();
    double d[8];
    cr_assert_eq(nb_derivatives(c, h_cube, NULL, 0, 7, d), NB_OK);
    double want[8] = {0, 0, 0, 6, 0, 0, 0, 0};
    for (int k = 0; k <= 7; k++) cr_expect_eq(d[k], want[k], "x^3 at 0, order %d: %g", k, d[k]);
    cr_assert_eq(nb_derivatives(c, h_cube_pow, NULL, 0, 7, d), NB_OK);
    for (int k = 0; k <= 7; k++) cr_expect_eq(d[k], want[k], "pow(x, 3) at 0, order %d", k);
    cr_assert_eq(nb_derivatives(c, h_sqrt, NULL, 0, 3, d), NB_OK);
    cr_expect_eq(d[0], 0.0);
    cr_expect(isinf(d[1]) && d[1] > 0, "sqrt at 0: +inf, got %g", d[1]);
    cr_expect(isinf(d[2]) && d[2] < 0);
    cr_assert_eq(nb_derivatives(c, h_sqrt_sq, NULL, 0, 2, d), NB_OK);
    cr_expect_eq(d[1], 0.0, "sqrt(x^2) at 0: first derivative 0 (strong zero)");
    cr_expect(isinf(d[2]) && d[2] > 0, "and an infinite second, as nested levels give");
    cr_assert_eq(nb_derivatives(c, h_log, NULL, 0, 2, d), NB_OK);
    cr_expect(isinf(d[0]) && d[0] < 0);
    cr_expect(isinf(d[1]) && d[1] > 0);
    cr_assert_eq(nb_derivatives(c, h_abs, NULL, 0, 3, d), NB_OK);
    for (int k = 0; k <= 3; k++) cr_expect_eq(d[k], 0.0, "|x| at 0, order %d", k);
    cr_assert_eq(nb_derivatives(c, h_pow25, NULL, 0, 4, d), NB_OK);
    cr_expect_eq(d[0], 0.0);
    cr_expect_eq(d[1], 0.0);
    cr_expect_eq(d[2], 0.0);
    cr_expect(isinf(d[3]) && d[3] > 0, "x^2.5 at 0: third derivative 1.875 x^-0.5 -> +inf, %g", d[3]);
    cr_assert_eq(nb_derivatives(c, h_inv, NULL, 0, 2, d), NB_OK);
    cr_expect(isinf(d[0]));
    /* a domain error is NaN at every order */
    cr_assert_eq(nb_derivatives(c, h_sqrt, NULL, -1, 3, d), NB_OK);
    for (int k = 0; k <= 3; k++) cr_expect(isnan(d[k]), "sqrt(-1), order %d", k);
    cr_assert_eq(nb_derivatives(c, h_log, NULL, -1, 3, d), NB_OK);
    for (int k = 0; k <= 3; k++) cr_expect(isnan(d[k]), "log(-1), order %d", k);
    nb_ctx_free(c);
}

/* ---- nesting ---- */

static nb_var norm2(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_norm(c, 2, x);
}

/* |(s, s) + t (1, 0)| for s = 1e200 and 1e-200: the series of sqrt(sum x_i^2) would overflow and
 * underflow; the norm's own scaling must carry through every coefficient */
Test(reductions, norm_of_huge_and_tiny_vectors) {
    nb_ctx *c = new_ctx();
    const double scales[] = {1e200, 1e-200, 3.0};
    for (int i = 0; i < 3; i++) {
        double s = scales[i], x[2] = {s, s}, v[2] = {1, 0}, w[4];
        cr_assert_eq(nb_taylor(c, norm2, NULL, 2, x, v, 3, w), NB_OK);
        /* |x + t e1| = sqrt((s + t)^2 + s^2): f = sqrt2 s, f' = 1/sqrt2, f'' = 1/(2 sqrt2 s),
         * f''' = -3/(4 sqrt2 s^2); w_k = f^(k) / k! */
        double r2 = sqrt(2.0);
        nb_var k[2] = {nb_const(s), nb_const(s)};
        cr_expect_eq(w[0], nb_norm(c, 2, k).v, "s=%g: the primal is the op's own, %.17g", s, w[0]);
        cr_expect(close_to(w[0], hypot(s, s), 4e-16, 0), "s=%g: |x| %.17g", s, w[0]);
        cr_expect(close_to(w[1], 1 / r2, 4e-16, 0), "s=%g: w1 %.17g", s, w[1]);
        cr_expect(close_to(w[2], 1 / (2 * r2 * s) / 2, 4e-16, 0), "s=%g: w2 %.17g", s, w[2]);
        /* w3 ~ -1e399 for s = 1e-200: an overflow of the true value, -inf */
        double w3 = -3 / (4 * r2 * s * s) / 6;
        if (isfinite(w3))
            cr_expect(close_to(w[3], w3, 1e-15, 0), "s=%g: w3 %.17g", s, w[3]);
        else
            cr_expect(isinf(w[3]) && w[3] < 0, "s=%g: w3 %.17g", s, w[3]);
    }
    nb_ctx_free(c);
}

static nb_var third_derivative(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    cr_assert_eq(nb_push_taylor(c, 3), NB_OK);
    nb_var t = nb_taylor_input(c, x[0], nb_const(1));
    nb_var y = nb_mul(c, nb_sin(c, t), nb_exp(c, t));
    nb_var c3 = nb_taylor_coef(c, y, 3);
    nb_pop(c);
    return nb_mul(c, nb_const(6), c3);
}

Test(nesting, taylor_inside_reverse_and_forward) {
    nb_ctx *c = new_ctx();
    /* (sin x e^x)''' = 2 e^x (cos x - sin x); its derivative is -4 e^x sin x */
    double x = 0.6, g, d3;
    cr_assert_eq(nb_gradient(c, third_derivative, NULL, 1, &x, &d3, &g), NB_OK);
    cr_expect(close_to(d3, 2 * exp(x) * (cos(x) - sin(x)), 1e-14, 0), "%.17g", d3);
    cr_expect(close_to(g, -4 * exp(x) * sin(x), 1e-14, 0), "reverse over Taylor: %.17g", g);
    cr_assert_eq(nb_derivative(c, third_derivative, NULL, x, NULL, &g), NB_OK);
    cr_expect(close_to(g, -4 * exp(x) * sin(x), 1e-14, 0), "forward over Taylor: %.17g", g);
    /* Taylor over forward: the tangent of every coefficient */
    nb_push(c, NB_FORWARD);
    nb_var xf = nb_fwd_input(c, nb_const(x), nb_const(1));
    nb_push_taylor(c, 2);
    nb_var t = nb_taylor_input(c, xf, nb_const(1));
    nb_var y = nb_exp(c, nb_mul(c, nb_const(2), t));
    nb_var c2 = nb_taylor_coef(c, y, 2); /* 2 e^(2x) */
    nb_pop(c);
    cr_expect(close_to(nb_value(c2), 2 * exp(2 * x), 1e-15, 0));
    cr_expect(close_to(nb_value(nb_tangent(c, c2)), 4 * exp(2 * x), 1e-15, 0));
    nb_pop(c);
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_ctx_free(c);
}

Test(api, errors) {
    nb_ctx *c = new_ctx();
    double d[3];
    cr_expect_eq(nb_push_taylor(c, 0), NB_E_ARG);
    cr_expect_eq(nb_push_taylor(c, NB_TAYLOR_MAX_ORDER + 1), NB_E_ARG);
    cr_expect_eq(nb_push(c, NB_TAYLOR), NB_E_ARG);
    cr_expect_eq(nb_derivatives(c, f_exp, NULL, 0, -1, d), NB_E_ARG);
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_derivatives(c, f_exp, NULL, 0, NB_DERIVATIVES_MAX_ORDER + 1, d), NB_E_ARG,
                 "171! overflows: no silent inf or 0");
    nb_ctx_clear_error(c);
    nb_taylor_input(c, nb_const(1), nb_const(1));
    cr_expect_eq(nb_ctx_status(c), NB_E_LEVEL);
    nb_ctx_clear_error(c);
    nb_push_taylor(c, 2);
    nb_var t = nb_taylor_input(c, nb_const(1), nb_const(1));
    nb_taylor_coef(c, t, 3);
    cr_expect_eq(nb_ctx_status(c), NB_E_ARG);
    nb_pop(c);
    nb_ctx_clear_error(c);
    nb_exp(c, t);
    cr_expect_eq(nb_ctx_status(c), NB_E_STALE);
    nb_ctx_free(c);
}

/* ---- regressions from a review: each compares Taylor with nested forward levels (and a known
 * value) where one of them used to be wrong ---- */

static nb_var pow_xy(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_pow(c, x[0], x[1]);
}
F1(h_pow_moving, nb_pow(c, x, nb_add(c, x, nb_const(2))))
F1(h_tanh_sq, nb_tanh(c, nb_mul(c, x, x)))
F1(f_tanh_plain, nb_tanh(c, x))
static nb_var norm_fn(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_norm(c, 2, x);
}
/* d/dy of d/dx f at (x, y), forward over forward */
struct fn_of2 {
    nb_fn f;
};
static nb_var dfdx(nb_ctx *c, const nb_var *x, void *env) {
    nb_var g[2];
    nb_gradient_var(c, ((const struct fn_of2 *)env)->f, NULL, 2, x, NULL, g);
    return g[0];
}

Test(review, pow_mixed_partial_at_zero_exponent) {
    /* d2/dx dy x^y = x^(y-1) (1 + y log x): 1/3 at (3, 0). pow's d/dx rule used to be the
     * constant 0 wherever y = 0, so its y-derivative was lost. */
    nb_ctx *c = new_ctx();
    double x[2] = {3, 0}, g[2];
    struct fn_of2 box = {pow_xy};
    cr_assert_eq(nb_gradient(c, dfdx, &box, 2, x, NULL, g), NB_OK);
    cr_expect(close_to(g[1], 1.0 / 3.0, 1e-15, 0), "d2/dx dy = %.17g", g[1]);
    cr_expect_eq(g[0], 0.0, "d2/dx2 x^0 = 0");
    /* and at (0, 0) the d/dx partial stays 0, not 0 * inf */
    double z[2] = {0, 0}, dz[2];
    cr_assert_eq(nb_gradient(c, pow_xy, NULL, 2, z, NULL, dz), NB_OK);
    cr_expect_eq(dz[0], 0.0);
    /* nested forward through a moving exponent: the 5th derivative of (0.5 + t)^(3 + t) at 0
     * (60.764130201825..., by Taylor and by an independent high-precision computation) */
    double a[2] = {0.5, 3}, v[2] = {1, 1}, tay[6], nes[6];
    cr_assert_eq(nb_taylor(c, pow_xy, NULL, 2, a, v, 5, tay), NB_OK);
    nested_derivatives(c, pow_xy, NULL, 2, a, v, 5, nes);
    cr_expect(close_to(tay[5] * 120, 60.764130201825, 1e-12, 0), "Taylor %.15g", tay[5] * 120);
    cr_expect(close_to(nes[5], 60.764130201825, 1e-12, 0), "nested %.15g", nes[5]);
    nb_ctx_free(c);
}

Test(review, pow_with_moving_exponent_where_the_value_underflows) {
    /* x^(x+2) at 1e-170 underflows to 0, but f' = (x+2) x^(x+1) + x^(x+2) log x = 2e-170 (to
     * 1e-167 relative) and f'' ~ 2 are normal numbers; Taylor used to give 0 at every order */
    nb_ctx *c = new_ctx();
    double d[3], fx, d1;
    cr_assert_eq(nb_derivatives(c, h_pow_moving, NULL, 1e-170, 2, d), NB_OK);
    cr_assert_eq(nb_derivative(c, h_pow_moving, NULL, 1e-170, &fx, &d1), NB_OK);
    cr_expect(close_to(d1, 2e-170, 1e-12, 0), "forward: %g", d1);
    cr_expect(close_to(d[1], d1, 1e-12, 0), "Taylor f' %g, forward %g", d[1], d1);
    cr_expect(close_to(d[2], 2, 1e-6, 0), "Taylor f'' %g", d[2]);
    nb_ctx_free(c);
}

Test(review, norm_at_the_zero_vector_as_the_other_modes) {
    /* the norm's partials are 0 at the zero vector (its rule): Taylor used sqrt's series there
     * and gave infinities */
    nb_ctx *c = new_ctx();
    double x[2] = {0, 0}, v[2] = {1, 0.5}, tay[4], nes[4];
    cr_assert_eq(nb_taylor(c, norm_fn, NULL, 2, x, v, 3, tay), NB_OK);
    nested_derivatives(c, norm_fn, NULL, 2, x, v, 3, nes);
    for (int k = 0; k <= 3; k++)
        cr_expect(tay[k] == 0 && nes[k] == 0, "order %d: Taylor %g, nested %g", k, tay[k], nes[k]);
    nb_ctx_free(c);
}

Test(review, tanh_far_out_in_nested_levels) {
    /* d3/dx3 tanh(x^2) at x = 12 is 1.8436e-120 (Taylor; an independent high-precision value
     * agrees): nested levels differentiated tanh's rule 1/(cosh cosh) through cosh^4, which
     * overflows; now the square of 1/cosh. And tanh'' at 200 = -2 tanh sech^2 = -1.53e-173. */
    nb_ctx *c = new_ctx();
    double x = 12, v = 1, tay[4], nes[4];
    cr_assert_eq(nb_taylor(c, h_tanh_sq, NULL, 1, &x, &v, 3, tay), NB_OK);
    nested_derivatives(c, h_tanh_sq, NULL, 1, &x, &v, 3, nes);
    cr_expect(close_to(tay[3] * 6, 1.8436e-120, 1e-4, 0), "Taylor %.6g", tay[3] * 6);
    cr_expect(close_to(nes[3], tay[3] * 6, 1e-10, 0), "nested %.17g, Taylor %.17g", nes[3], tay[3] * 6);
    double x2 = 200, h, g;
    cr_assert_eq(nb_hessian(c, f_tanh_plain, NULL, 1, &x2, NULL, &g, &h), NB_OK);
    double sech = 1 / cosh(200.0);
    cr_expect(close_to(h, -2 * tanh(200.0) * sech * sech, 1e-13, 0), "tanh''(200) = %g", h);
    nb_ctx_free(c);
}

/* ---- the drivers' protocol in nb_taylor and nb_derivatives ---- */
static int t_calls;
static nb_var cube(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    t_calls++;
    return nb_mul(c, x[0], nb_mul(c, x[0], x[0]));
}
static nb_var cube_pushes(nb_ctx *c, const nb_var *x, void *env) {
    nb_push(c, NB_FORWARD);
    return cube(c, x, env);
}
static nb_var cube_pops(nb_ctx *c, const nb_var *x, void *env) {
    nb_var y = cube(c, x, env);
    nb_pop(c);
    return y;
}

static nb_var cube_replaces(nb_ctx *c, const nb_var *x, void *env) {
    const double v = nb_value(x[0]);
    nb_pop(c);
    nb_push_taylor(c, 3);
    nb_var y = nb_taylor_input(c, nb_const(v), nb_const(1));
    return cube(c, &y, env);
}

Test(taylor_driver, an_unbalanced_function_is_an_error_and_the_callers_levels_survive) {
    nb_ctx *c = new_ctx();
    cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
    nb_var mine = nb_rev_input(c, nb_const(5));
    double d[4] = {0, 0, 0, 0};
    cr_expect_eq(nb_derivatives(c, cube_pushes, NULL, 2.0, 3, d), NB_E_LEVEL);
    for (int k = 0; k < 4; k++) cr_expect(isnan(d[k]), "d[%d] = %g after a failure", k, d[k]);
    cr_expect_eq(nb_depth(c), 1, "back at the caller's depth");
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_derivatives(c, cube_pops, NULL, 2.0, 3, d), NB_E_LEVEL);
    cr_expect(isnan(d[0]) && isnan(d[3]));
    cr_expect_eq(nb_depth(c), 1, "the caller's level was not popped");
    nb_ctx_clear_error(c);
    /* a level popped and replaced by f's own at the same depth */
    cr_expect_eq(nb_derivatives(c, cube_replaces, NULL, 2.0, 3, d), NB_E_LEVEL);
    cr_expect(isnan(d[0]) && isnan(d[3]));
    cr_expect_eq(nb_depth(c), 1);
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_value(nb_mul(c, mine, mine)), 25, "the caller's handle is still valid");
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    /* and balanced: x^3 at 2 is 8, 12, 12, 6 */
    cr_expect_eq(nb_derivatives(c, cube, NULL, 2.0, 3, d), NB_OK);
    cr_expect(d[0] == 8 && d[1] == 12 && d[2] == 12 && d[3] == 6, "%g %g %g %g", d[0], d[1], d[2],
              d[3]);
    cr_expect_eq(nb_depth(c), 1);
    nb_pop(c);
    nb_ctx_free(c);
}

Test(taylor_driver, failed_inputs_or_an_earlier_error_never_reach_f) {
    nb_ctx *c = capped_ctx(3000); /* too small for 1000 inputs of order 3 */
    enum { N = 1000 };
    static double x[N], v[N];
    for (int i = 0; i < N; i++) x[i] = v[i] = 1;
    double coef[4] = {0, 0, 0, 0};
    t_calls = 0;
    cr_expect_eq(nb_taylor(c, cube, NULL, N, x, v, 3, coef), NB_E_TAPE_FULL);
    cr_expect_eq(t_calls, 0, "f was called on inputs that could not be made");
    for (int k = 0; k < 4; k++) cr_expect(isnan(coef[k]));
    cr_expect_eq(nb_depth(c), 0);
    /* the error is still recorded: a later call does not run f either */
    cr_expect_eq(nb_taylor(c, cube, NULL, 1, x, v, 3, coef), NB_E_TAPE_FULL);
    cr_expect_eq(t_calls, 0);
    cr_expect(isnan(coef[0]));
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_taylor(c, cube, NULL, 1, x, v, 3, coef), NB_OK);
    cr_expect_eq(t_calls, 1);
    cr_expect(coef[0] == 1 && coef[1] == 3 && coef[2] == 3 && coef[3] == 1);
    nb_ctx_free(c);
}

Test(taylor_driver, coefficients_may_alias_the_inputs) {
    nb_ctx *c = new_ctx();
    /* (x + v t)^3 at x = 2, v = 1: 8, 12, 6, 1, written over x and v */
    double buf[4] = {2, 1, -1, -1};
    cr_expect_eq(nb_taylor(c, cube, NULL, 1, &buf[0], &buf[1], 3, buf), NB_OK);
    cr_expect(buf[0] == 8 && buf[1] == 12 && buf[2] == 6 && buf[3] == 1, "%g %g %g %g", buf[0],
              buf[1], buf[2], buf[3]);
    nb_ctx_free(c);
}

/* ---- rules whose derivatives cancelled (found by an accuracy audit against mpmath) ---- */

F1(f_expm1, nb_expm1(c, x))
F1(f_asin, nb_asin(c, x))
F1(f_acos, nb_acos(c, x))
F1(f_atanh, nb_atanh(c, x))
F1(f_hypot1, nb_hypot(c, x, nb_const(1)))
static nb_var f_hypot2(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_hypot(c, x[0], x[1]);
}

F1(f_acosh, nb_acosh(c, x))

/* acosh at 1: +inf, -inf, +inf, ... (acosh''' = (2x^2 + 1) / (x^2 - 1)^(5/2)), as asin at its
 * end; the product of two square roots in the rule made orders 3 on NaN (a review); and its
 * values near 1 and beyond 2, where the rule switches to that product */
Test(accuracy, acosh_at_one_and_across_two) {
    nb_ctx *c = new_ctx();
    double d[7];
    cr_assert_eq(nb_derivatives(c, f_acosh, NULL, 1, 6, d), NB_OK);
    cr_expect_eq(d[0], 0.0);
    for (int k = 1; k <= 6; k++)
        cr_expect(isinf(d[k]) && (d[k] > 0) == (k % 2 == 1), "order %d: %g", k, d[k]);
    const double xs[] = {1.5, 1.999, 2.001, 3, 1e200};
    for (int i = 0; i < 5; i++) {
        const double x = xs[i], q = (x - 1) * (x + 1);
        const double d1 = 1 / (sqrt(x - 1) * sqrt(x + 1)), d2 = i < 4 ? -x / (q * sqrt(q)) : 0;
        cr_assert_eq(nb_derivatives(c, f_acosh, NULL, x, 2, d), NB_OK);
        cr_expect(close_to(d[1], d1, 1e-15, 0), "x = %g: %.17g vs %.17g", x, d[1], d1);
        if (i < 4) cr_expect(close_to(d[2], d2, 1e-14, 0), "x = %g: %.17g vs %.17g", x, d[2], d2);
    }
    nb_ctx_free(c);
}

/* Well-conditioned derivatives that the old rules lost: expm1's are exp(x) (expm1(x) + 1 was 0
 * at x = -40); asin'' = x / (1 - x^2)^(3/2) and atanh'' = 2x / (1 - x^2)^2 near 0 (the product
 * (1 - x)(1 + x) differentiated cancels); hypot(x, 1)'' = 1 / r^3 and ''' = -3x / r^5 for large
 * x (x / r differentiated cancels). Each by Taylor mode and by forward over reverse. */
Test(accuracy, rules_without_cancellation) {
    nb_ctx *c = new_ctx();
    struct {
        nb_fn f;
        double x, d1, d2, d3; /* d3 NaN: not checked */
    } cases[] = {
        {f_expm1, -40, exp(-40.0), exp(-40.0), exp(-40.0)},
        {f_expm1, -30, exp(-30.0), exp(-30.0), exp(-30.0)},
        {f_asin, 1e-17, 1, 1e-17, 1},
        {f_asin, 1e-10, 1 / sqrt(1 - 1e-20), 1e-10, NAN},
        {f_acos, 1e-14, -1, -1e-14, -1},
        {f_atanh, 1e-14, 1, 2e-14, 2},
        {f_atanh, 0.3, 1 / (1 - 0.09), 0.6 / ((1 - 0.09) * (1 - 0.09)), NAN},
        {f_asin, 0.9, 1 / sqrt(0.19), 0.9 / (0.19 * sqrt(0.19)), NAN},
        {f_hypot1, 1e8, 1, 1 / (1e8 * 1e8 * 1e8), -3e8 / pow(1e8, 5)},
        {f_hypot1, 1e4, 1e4 / hypot(1e4, 1), 1 / pow(hypot(1e4, 1), 3),
         -3e4 / pow(hypot(1e4, 1), 5)},
        {f_hypot1, -1e4, -1e4 / hypot(1e4, 1), 1 / pow(hypot(1e4, 1), 3),
         3e4 / pow(hypot(1e4, 1), 5)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        double d[4], g, H;
        cr_assert_eq(nb_derivatives(c, cases[i].f, NULL, cases[i].x, 3, d), NB_OK);
        const double want[4] = {NAN, cases[i].d1, cases[i].d2, cases[i].d3};
        for (int k = 1; k <= 3; k++)
            if (!isnan(want[k]))
                cr_expect(close_to(d[k], want[k], 1e-14, 0), "case %zu order %d: %.17g vs %.17g", i,
                          k, d[k], want[k]);
        cr_assert_eq(nb_hessian(c, cases[i].f, NULL, 1, &cases[i].x, NULL, &g, &H), NB_OK);
        cr_expect(close_to(g, cases[i].d1, 1e-14, 0), "case %zu: g %.17g", i, g);
        cr_expect(close_to(H, cases[i].d2, 1e-14, 0), "case %zu: H %.17g vs %.17g", i, H,
                  cases[i].d2);
    }
    /* the 2-d Hessian of hypot at (1e4, 1): y^2/r^3, -xy/r^3, x^2/r^3 */
    double x[2] = {1e4, 1}, H[4], r = hypot(1e4, 1), r3 = r * r * r;
    cr_assert_eq(nb_hessian(c, f_hypot2, NULL, 2, x, NULL, NULL, H), NB_OK);
    cr_expect(close_to(H[0], 1 / r3, 1e-14, 0), "%.17g", H[0]);
    cr_expect(close_to(H[1], -1e4 / r3, 1e-14, 0), "%.17g", H[1]);
    cr_expect(close_to(H[3], 1e8 / r3, 1e-14, 0), "%.17g", H[3]);
    cr_expect(close_to(H[2], -1e4 / r3, 1e-14, 0), "%.17g", H[2]);
    nb_ctx_free(c);
}

/* pow with a moving exponent at a base <= 0 goes through pow's rule; its x-partial y x^(y-1) is a
 * pow again, and re-evaluating it at every order made the work grow as 2^K (order 20 took 1 GB,
 * found by a review). Now the partial without R is evaluated once: the same numbers as nested
 * forward levels, at a polynomial cost. */
F1(pow_neg_base, nb_pow(c, nb_sub(c, x, nb_const(3)), x))
F1(pow_zero_base, nb_pow(c, x, nb_add(c, x, nb_const(1))))
F1(pow_nan_exponent, nb_pow(c, x, nb_sqrt(c, x)))

static int same_or_both_nan(double a, double b) {
    return (isnan(a) && isnan(b)) || a == b || close_to(a, b, 1e-12, 1e-12);
}

Test(composite, pow_through_its_rule_is_polynomial) {
    nb_ctx *c = new_ctx();
    struct {
        nb_fn f;
        double x;
    } cases[] = {{pow_neg_base, 1}, {pow_zero_base, 0}, {pow_nan_exponent, -1}, {pow_neg_base, 2.5}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        double d[9], nes[9], one = 1;
        cr_assert_eq(nb_derivatives(c, cases[i].f, NULL, cases[i].x, 8, d), NB_OK);
        nested_derivatives(c, cases[i].f, NULL, 1, &cases[i].x, &one, 8, nes);
        for (int o = 0; o <= 8; o++)
            cr_expect(same_or_both_nan(d[o], nes[o]), "case %zu order %d: %.17g vs %.17g", i, o,
                      d[o], nes[o]);
        nb_op_count_reset(c);
        double d20[21];
        nb_ctx_clear_error(c);
        nb_derivatives(c, cases[i].f, NULL, cases[i].x, 20, d20);
        unsigned long long ops = nb_op_count(c, 1);
        cr_expect_lt(ops, 20000ull, "case %zu: %llu ops at order 20", i, ops);
    }
    nb_ctx_free(c);
}

/* Found by random differential testing: Taylor's first derivative disagreed with forward and
 * reverse mode (which agree). Negative integer powers inverted u^|n| (slope 0 at x = 0 for
 * x^-2, -inf where it is -5e288 for (1e300 x)^-5); a NaN value made every order NaN even along a
 * direction that does not move its operand; norm's slope was inf at a subnormal point. */
F1(powi_m2, nb_powi(c, x, -2))
F1(powi_m3, nb_powi(c, x, -3))
F1(powi_m1100, nb_powi(c, x, -1100))
F1(powi_scaled, nb_powi(c, nb_mul(c, nb_const(1e300), x), -5))
F1(norm1, nb_norm(c, 1, &x))
F1(over_zero, nb_div(c, x, nb_const(0)))
F1(over_inf, nb_div(c, x, nb_const(INFINITY)))
static nb_var inf_minus(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_sub(c, x[0], x[1]);
}
static nb_var norm_with_nan(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    nb_var e[3] = {x[0], x[1], nb_sqrt(c, x[0])};
    return nb_norm(c, 3, e);
}
static nb_var sqrt_plus_y(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_add(c, nb_sqrt(c, x[0]), x[1]);
}

Test(composite, first_derivative_agrees_with_forward_at_the_edges) {
    nb_ctx *c = new_ctx();
    struct {
        nb_fn f;
        double x;
    } cases[] = {{powi_m2, 0},        {powi_m3, 0},  {powi_m3, -0.0}, {powi_m1100, 0.5},
                 {powi_scaled, 1e-298}, {norm1, 1e-310}, {norm1, 3e-309}, {powi_m2, 1e-170}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        double d[3], fx, df;
        cr_assert_eq(nb_derivatives(c, cases[i].f, NULL, cases[i].x, 2, d), NB_OK);
        cr_assert_eq(nb_derivative(c, cases[i].f, NULL, cases[i].x, &fx, &df), NB_OK);
        cr_expect(d[1] == df || close_to(d[1], df, 1e-15, 0), "case %zu: taylor %.17g, forward %.17g",
                  i, d[1], df);
        cr_expect(!isnan(d[1]));
    }
    /* sqrt(-1) + y along y: the NaN of sqrt does not move */
    double x[2] = {-1, 2}, v[2] = {0, 1}, d[4];
    cr_assert_eq(nb_taylor_derivatives(c, sqrt_plus_y, NULL, 2, x, v, 3, d), NB_OK);
    cr_expect(isnan(d[0]));
    cr_expect_eq(d[1], 1.0);
    cr_expect_eq(d[2], 0.0);
    cr_expect_eq(d[3], 0.0);
    /* and along x it does: NaN from the first order */
    v[0] = 1;
    cr_assert_eq(nb_taylor_derivatives(c, sqrt_plus_y, NULL, 2, x, v, 3, d), NB_OK);
    cr_expect(isnan(d[1]) && isnan(d[3]));
    /* a NaN norm: every partial x_i / r is NaN, so its slope along y is NaN as in forward mode
     * (the recurrence's strong-zero division gave 0 at odd orders) */
    double xn[2] = {-2, 0}, vn[2] = {0, 1}, fx, df;
    cr_assert_eq(nb_taylor_derivatives(c, norm_with_nan, NULL, 2, xn, vn, 3, d), NB_OK);
    cr_assert_eq(nb_jvp(c, norm_with_nan, NULL, 2, xn, vn, &fx, &df), NB_OK);
    cr_expect(isnan(df));
    for (int k = 1; k <= 3; k++) cr_expect(isnan(d[k]), "order %d: %g", k, d[k]);
    /* inf - inf is NaN, but sub's partials are 1 and -1: slope -1 along y, as forward mode says
     * (the domain-error shortcut is not for the ops whose recurrences are plain sums and
     * products) */
    double xi[2] = {INFINITY, INFINITY}, vi[2] = {0, 1};
    cr_assert_eq(nb_taylor_derivatives(c, inf_minus, NULL, 2, xi, vi, 2, d), NB_OK);
    cr_assert_eq(nb_jvp(c, inf_minus, NULL, 2, xi, vi, &fx, &df), NB_OK);
    cr_expect(isnan(d[0]));
    cr_expect_eq(df, -1.0);
    cr_expect_eq(d[1], -1.0);
    cr_expect_eq(d[2], 0.0);
    /* x / 0 at 0 and x / inf at inf: NaN values whose slope along x is 1/y, inf and 0 */
    double x0 = 0;
    cr_assert_eq(nb_derivatives(c, over_zero, NULL, x0, 1, d), NB_OK);
    cr_expect(isnan(d[0]) && d[1] == INFINITY, "%g %g", d[0], d[1]);
    x0 = INFINITY;
    cr_assert_eq(nb_derivatives(c, over_inf, NULL, x0, 1, d), NB_OK);
    cr_expect(isnan(d[0]) && d[1] == 0, "%g %g", d[0], d[1]);
    nb_ctx_free(c);
}

/* Found by a second round of differential testing: cbrt and pow with a constant exponent at an
 * infinite base used the power recurrence, which divides by u0 = inf and gave inf / inf = NaN;
 * their rules give slope 0 there, as forward and reverse mode do. */
F1(cbrt_x, nb_cbrt(c, x))
F1(cbrt_neg, nb_cbrt(c, nb_neg(c, x)))
F1(pow_half, nb_pow(c, x, nb_const(0.5)))
F1(pow_07, nb_pow(c, x, nb_const(0.7)))
F1(pow_tiny, nb_pow(c, x, nb_const(1e-300)))
/* pow(inf, y) along y at y = 0: d/dy = log(inf) inf^0 = inf, as the rule says (the exp(y log x)
 * path gave 0 * inf = NaN) */
F1(inf_to_y, nb_pow(c, nb_const(INFINITY), x))
Test(composite, infinite_base_with_a_moving_exponent) {
    nb_ctx *c = new_ctx();
    double d[3], fx, df;
    cr_assert_eq(nb_derivatives(c, inf_to_y, NULL, 0, 2, d), NB_OK);
    cr_assert_eq(nb_derivative(c, inf_to_y, NULL, 0, &fx, &df), NB_OK);
    cr_expect(d[0] == 1 && fx == 1);
    cr_expect(df == INFINITY && d[1] == INFINITY, "forward %g, Taylor %g", df, d[1]);
    nb_ctx_free(c);
}

Test(composite, powers_at_an_infinite_base_as_forward) {
    nb_ctx *c = new_ctx();
    const nb_fn fs[] = {cbrt_x, cbrt_neg, pow_half, pow_07, pow_tiny};
    /* at -inf too: pow(-inf, 0.5) is +inf, not a domain error (a review found the pow rule's
     * domain test taking it for one) */
    for (int side = 0; side < 2; side++)
        for (size_t i = 0; i < sizeof fs / sizeof *fs; i++) {
            const double x = side ? -INFINITY : INFINITY;
            double d[4], fx, df, g;
            cr_assert_eq(nb_derivatives(c, fs[i], NULL, x, 3, d), NB_OK);
            cr_assert_eq(nb_derivative(c, fs[i], NULL, x, &fx, &df), NB_OK);
            cr_assert_eq(nb_gradient(c, fs[i], NULL, 1, &x, NULL, &g), NB_OK);
            cr_expect(isinf(d[0]) && d[0] == fx, "case %zu at %g: value %g", i, x, d[0]);
            cr_expect(df == 0 && g == 0, "case %zu at %g: forward %g, reverse %g", i, x, df, g);
            for (int k = 1; k <= 3; k++)
                cr_expect_eq(d[k], 0.0, "case %zu at %g, order %d: %g", i, x, k, d[k]);
        }
    nb_ctx_free(c);
}

/* The rounding estimate. d^k/dx^k sin(x) exp(x) at 0.3 (mpmath, 50 digits) loses about k/2 bits
 * to cancellation; sin(x) exp(-x^2) does not. The estimate must see the first (within a factor of
 * 10 either way of the true error) and report the second as tiny. */
F1(sin_exp, nb_mul(c, nb_sin(c, x), nb_exp(c, x)))
F1(sin_gauss, nb_mul(c, nb_sin(c, x), nb_exp(c, nb_neg(c, nb_mul(c, x, x)))))
static nb_var three(nb_ctx *c, const nb_var *x, void *env) {
    (void)c, (void)x, (void)env;
    return nb_const(3);
}
Test(rounding, estimate_follows_the_true_error) {
    nb_ctx *c = new_ctx();
    const struct {
        int k;
        double exact;
    } ref[] = {{60, -428326945.62696578157}, {80, 438606792322.01296033}, {100, -449133355337741.27138}};
    double x = 0.3, v = 1, d[101], e[101];
    cr_assert_eq(nb_taylor_derivatives_err(c, sin_exp, NULL, 1, &x, &v, 100, d, e), NB_OK);
    for (size_t i = 0; i < sizeof ref / sizeof *ref; i++) {
        const int k = ref[i].k;
        const double truth = fabs(d[k] - ref[i].exact);
        cr_expect(truth > 1e-9 * fabs(ref[i].exact), "order %d: the case loses digits", k);
        cr_expect(e[k] > truth / 10 && e[k] < truth * 10, "order %d: estimate %g, true error %g", k,
                  e[k], truth);
    }
    cr_assert_eq(nb_taylor_derivatives_err(c, sin_gauss, NULL, 1, &x, &v, 100, d, e), NB_OK);
    for (int k = 0; k <= 100; k++) cr_expect(e[k] <= 1e-13 * fabs(d[k]), "order %d: %g", k, e[k]);
    /* no inputs: a constant, exactly */
    cr_assert_eq(nb_taylor_derivatives_err(c, three, NULL, 0, NULL, NULL, 2, d, e), NB_OK);
    cr_expect(d[0] == 3 && d[1] == 0 && d[2] == 0 && e[0] == 0 && e[1] == 0 && e[2] == 0);
    /* an order beyond the limit, or no err: NB_E_ARG */
    cr_expect_eq(nb_taylor_derivatives_err(c, sin_exp, NULL, 1, &x, &v, 100, d, NULL), NB_E_ARG);
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_taylor_derivatives_err(c, sin_exp, NULL, 1, &x, &v, NB_DERIVATIVES_MAX_ORDER + 1,
                                           d, e),
                 NB_E_ARG);
    nb_ctx_free(c);
}

/* Cancellation driven by the values' own rounding (a review): x/atan(x) near 0 divides by
 * atan(x)'s rounding error amplified 1/atan(x)^k times, and (exp(x) - 1)/x by exp's; both passes
 * along v and 1.5 v share those values, so the estimate said 4e-9 for a third derivative of -6394
 * where it is -1.07e-6. The estimate must follow the true error within a factor of 10 (exact
 * values from mpmath, 50 digits). */
F1(x_over_atan, nb_div(c, x, nb_atan(c, x)))
F1(expm1_over_x, nb_div(c, nb_sub(c, nb_exp(c, x), nb_const(1)), x))
Test(rounding, estimate_sees_the_rounding_of_the_values) {
    nb_ctx *c = new_ctx();
    const struct {
        nb_fn f;
        double x;
        double exact[4];
    } cases[] = {{x_over_atan, 5e-7, {1.0000000000000833, 3.333333333332889e-07, 0.6666666666664,
                                      -1.0666666666659683e-06}},
                 {expm1_over_x, 1e-5, {1.0000050000166667, 0.5000033333458334, 0.3333358333433334,
                                       0.25000200000833334}}};
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        double v = 1, d[4], e[4];
        cr_assert_eq(nb_taylor_derivatives_err(c, cases[t].f, NULL, 1, &cases[t].x, &v, 3, d, e),
                     NB_OK);
        for (int k = 1; k <= 3; k++) {
            const double truth = fabs(d[k] - cases[t].exact[k]);
            cr_expect(truth > 1e-7 * fabs(cases[t].exact[k]), "case %zu order %d loses digits", t, k);
            cr_expect(e[k] > truth / 10 && e[k] < truth * 10,
                      "case %zu order %d: estimate %g, true error %g", t, k, e[k], truth);
        }
    }
    nb_ctx_free(c);
}

/* A value that rounds to an integer is not therefore exact (a review): cos(1e-8) is 1 where
 * the true value is 1 - 5e-17, and (1 - cos x)/x^2 divides that rounding by x^2 and more, so at
 * 1e-8 the first derivative came out 1e8 for -8.3e-10 - with an estimate of 0, since integers
 * were never moved. The estimate must follow the true error within a factor of 10 (mpmath). */
F1(one_minus_cos_over_x2,
   nb_div(c, nb_sub(c, nb_const(1), nb_cos(c, x)), nb_powi(c, x, 2)))
F1(cosh_minus_one_over_x2,
   nb_div(c, nb_sub(c, nb_cosh(c, x), nb_const(1)), nb_powi(c, x, 2)))
Test(rounding, estimate_sees_values_that_round_to_integers) {
    nb_ctx *c = new_ctx();
    const nb_fn fs[] = {one_minus_cos_over_x2, cosh_minus_one_over_x2};
    const double x = 1e-8, v = 1;
    for (size_t t = 0; t < sizeof fs / sizeof *fs; t++) {
        const double exact[3] = {0.5, (t ? 1 : -1) * 8.3333333333333335e-10,
                                 (t ? 1 : -1) * 0.083333333333333332};
        double d[3], e[3];
        cr_assert_eq(nb_taylor_derivatives_err(c, fs[t], NULL, 1, &x, &v, 2, d, e), NB_OK);
        for (int k = 0; k <= 2; k++) {
            const double truth = fabs(d[k] - exact[k]);
            cr_expect(truth > 0.1 * fabs(exact[k]), "case %zu order %d loses digits", t, k);
            cr_expect(e[k] > truth / 10 && e[k] < truth * 10,
                      "case %zu order %d: estimate %g, true error %g", t, k, e[k], truth);
        }
    }
    nb_ctx_free(c);
}

/* ... and a result that is exact is not moved, whichever op made it (a review): x^2 at 0.5 is
 * 0.25 exactly, but powi was not among the ops found exact, so moving it broke the tie of
 * max(x^2, 0.25) (an estimate of 0.3 relative for the tie's derivative, where x*x gave 0) and
 * made (x^2 - 0.25)/(x - 0.5) near 0.5, computed exactly, look good to 7e-2. Also x^3, and
 * sign's 1, exact although its operand is not an integer. */
F1(max_sq_quarter, nb_max(c, nb_powi(c, x, 2), nb_const(0.25)))
F1(min_cube_eighth, nb_min(c, nb_powi(c, x, 3), nb_const(0.125)))
F1(sq_minus_quarter_over, nb_div(c, nb_sub(c, nb_powi(c, x, 2), nb_const(0.25)),
                                 nb_sub(c, x, nb_const(0.5))))
F1(sign_less_one, nb_add(c, nb_div(c, nb_sub(c, nb_sign(c, nb_sin(c, x)), nb_const(1)),
                                    nb_mul(c, x, x)), x))
Test(rounding, estimate_keeps_exact_results) {
    nb_ctx *c = new_ctx();
    const struct {
        nb_fn f;
        double x;
    } cases[] = {{max_sq_quarter, 0.5},
                 {min_cube_eighth, 0.5},
                 {sq_minus_quarter_over, 0.5 + 0x1p-26},
                 {sign_less_one, 1e-4}};
    for (size_t t = 0; t < sizeof cases / sizeof *cases; t++) {
        double v = 1, d[4], e[4];
        cr_assert_eq(nb_taylor_derivatives_err(c, cases[t].f, NULL, 1, &cases[t].x, &v, 3, d, e),
                     NB_OK);
        /* every step is exact, and both other passes agree to their last bit or two */
        for (int k = 0; k <= 3; k++)
            cr_expect(e[k] <= 4 * DBL_EPSILON * fabs(d[k]), "case %zu order %d: estimate %g of %g",
                      t, k, e[k], d[k]);
    }
    nb_ctx_free(c);
}

/* Derivatives near DBL_MAX: those of 1/(1.01 - x) at 0 are k!/1.01^(k+1), 1.3e306 at order 170,
 * where the second pass along 1.5 v overflows (1.5^170 = 9e29). The estimate is still finite
 * there (those orders are compared along 0.75 v) and small: nothing cancels. */
F1(pole_101, nb_div(c, nb_const(1), nb_sub(c, nb_const(1.01), x)))
Test(rounding, estimate_at_derivatives_near_overflow) {
    nb_ctx *c = new_ctx();
    double x = 0, v = 1, d[171], e[171], want = 1 / 1.01;
    cr_assert_eq(nb_taylor_derivatives_err(c, pole_101, NULL, 1, &x, &v, 170, d, e), NB_OK);
    for (int k = 0; k <= 170; k++, want *= k / 1.01) {
        cr_expect(close_to(d[k], want, 1e-12, 0), "order %d: %g, want %g", k, d[k], want);
        cr_expect(isfinite(e[k]) && e[k] <= 1e-13 * d[k], "order %d: estimate %g of %g", k, e[k],
                  d[k]);
    }
    nb_ctx_free(c);
}

/* Every allocation of nb_taylor_derivatives_err failed in turn (the Taylor level, the underflow
 * pass's arrays, the second evaluation's): NB_E_NOMEM with NaN everywhere, never a crash or a
 * leak (the sanitizer build), and the right numbers once nothing fails. exp(x/100) at 0 takes
 * the underflow pass too (its coefficient 100 is 0). */
F1(exp_slow1, nb_exp(c, nb_mul(c, x, nb_const(0.01))))
Test(rounding, estimate_survives_failing_allocations) {
    /* exp(x/100) to order 100 (the underflow pass), 1/(1.01 - x) to order 170 (the pass along
     * 0.75 v) */
    for (int which = 0; which < 2; which++) {
        const int K = which ? 170 : 100;
        int total = 0;
        for (int k = 1; k < 200; k++) {
            struct failing fl = {0, k};
            const nb_ctx_opts o = failing_opts(&fl);
            nb_ctx *c = NULL;
            double x = 0, v = 1, d[171], e[171];
            nb_status s = nb_ctx_new(&c, &o);
            const int made = s == NB_OK;
            if (made) {
                s = nb_taylor_derivatives_err(c, which ? pole_101 : exp_slow1, NULL, 1, &x, &v, K,
                                              d, e);
                nb_ctx_free(c);
            }
            if (fl.count < k) { /* nothing failed */
                cr_assert_eq(s, NB_OK);
                const double want = which ? 1.3238143302323383e306 : 1e-200;
                cr_expect(close_to(d[K], want, 1e-13, 0), "%g", d[K]);
                cr_expect(e[K] <= 1e-13 * d[K], "%g", e[K]);
                total = k - 1;
                break;
            }
            cr_expect_eq(s, NB_E_NOMEM, "allocation %d failed: status %d", k, s);
            if (made) /* the outputs say NaN */
                cr_expect(isnan(d[0]) && isnan(d[K]) && isnan(e[K]), "allocation %d", k);
        }
        cr_expect_gt(total, 3, "the test must have failed several allocations (%d)", total);
    }
}

/* Powers whose recurrence overflows where the derivatives do not (a second fuzzing round):
 * cbrt(1e300 x) at -0.5, where u_1 w_0 = 1e300 * -7.9e99 overflowed before the division by u_0;
 * x^1.5 at 1e300, whose value overflows while its slope 1.5 x^0.5 = 1.5e150 does not (pow's rule
 * there). Against forward mode and the closed forms. */
F1(cbrt_big, nb_cbrt(c, nb_mul(c, nb_const(1e300), x)))
F1(pow_15, nb_pow(c, x, nb_const(1.5)))
/* and where one underflows to 0 (a CLI fuzzing round): u_1 w_0 = 1e-300 * 1e-100 */
F1(cbrt_small, nb_cbrt(c, nb_mul(c, nb_const(1e-300), x)))
F1(pow_15_small, nb_pow(c, nb_mul(c, nb_const(1e-200), x), nb_const(1.5)))
Test(composite, powers_whose_recurrence_overflows) {
    nb_ctx *c = new_ctx();
    const double u = -5e299, w = cbrt(u);
    struct {
        nb_fn f;
        double x, d1, d2;
    } cases[] = {{cbrt_big, -0.5, 1e300 / (3 * w * w), -2.0 / 9 * (1e300 / u) * (1e300 / u) * w},
                 {pow_15, 1e300, 1.5e150, 0.75e-150},
                 {cbrt_small, 1, 1e-300 / (3 * 1e-100 * 1e-100), -2.0 / 9 * 1e-100},
                 {pow_15_small, 1, 1.5e-300, 7.5e-301}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        double d[3], fx, df;
        cr_assert_eq(nb_derivatives(c, cases[i].f, NULL, cases[i].x, 2, d), NB_OK);
        cr_assert_eq(nb_derivative(c, cases[i].f, NULL, cases[i].x, &fx, &df), NB_OK);
        cr_expect(close_to(df, cases[i].d1, 1e-14, 0), "case %zu: forward %g", i, df);
        cr_expect(close_to(d[1], cases[i].d1, 1e-14, 0), "case %zu: d1 %g", i, d[1]);
        cr_expect(close_to(d[2], cases[i].d2, 1e-14, 0), "case %zu: d2 %g, want %g", i, d[2],
                  cases[i].d2);
    }
    nb_ctx_free(c);
}


/* ---- nb_taylor_series_input ---- */

/* sum_k a_k t^k by Horner from the linear input t, for comparison with a series input */
static nb_var horner(nb_ctx *c, const double *a, int m, nb_var t) {
    nb_var r = nb_const(a[m - 1]);
    for (int k = m - 2; k >= 0; k--) r = nb_add(c, nb_mul(c, r, t), nb_const(a[k]));
    return r;
}

Test(series_input, equals_the_same_series_built_from_a_linear_input) {
    nb_ctx *c = new_ctx();
    const double a[5] = {0.3, -1.2, 0.7, 2.5, -0.4};
    const nb_var ah[5] = {nb_const(a[0]), nb_const(a[1]), nb_const(a[2]), nb_const(a[3]),
                          nb_const(a[4])};
    cr_assert_eq(nb_push_taylor(c, 8), NB_OK);
    nb_var s = nb_taylor_series_input(c, 5, ah);
    nb_var h = horner(c, a, 5, nb_taylor_input(c, nb_const(0), nb_const(1)));
    nb_var fs = nb_exp(c, nb_sin(c, s)), fh = nb_exp(c, nb_sin(c, h));
    for (int k = 0; k <= 8; k++) {
        double x = nb_value(nb_taylor_coef(c, fs, k)), y = nb_value(nb_taylor_coef(c, fh, k));
        cr_expect(close_to(x, y, 1e-14, 1e-15), "coefficient %d: %.17g vs %.17g", k, x, y);
        if (k < 5) cr_expect_eq(nb_value(nb_taylor_coef(c, s, k)), a[k]);
        else cr_expect_eq(nb_value(nb_taylor_coef(c, s, k)), 0);
    }
    /* a short series: m = 1 is a constant series, its higher coefficients 0 */
    nb_var one = nb_taylor_series_input(c, 1, ah + 1);
    cr_expect_eq(nb_value(one), a[1]);
    cr_expect_eq(nb_value(nb_taylor_coef(c, nb_mul(c, one, s), 3)), a[1] * a[3]);
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    /* errors: m = 0, m > K + 1, NULL, a coefficient of the level itself */
    nb_var big[10];
    for (int k = 0; k < 10; k++) big[k] = nb_const(k);
    cr_expect(isnan(nb_value(nb_taylor_series_input(c, 0, ah))));
    cr_expect_eq(nb_ctx_clear_error(c), NB_E_ARG);
    cr_expect(isnan(nb_value(nb_taylor_series_input(c, 10, big))));
    cr_expect_eq(nb_ctx_clear_error(c), NB_E_ARG);
    cr_expect(isnan(nb_value(nb_taylor_series_input(c, 9, big))) == 0); /* m = K + 1 is fine */
    cr_expect(isnan(nb_value(nb_taylor_series_input(c, 3, NULL))));
    cr_expect_eq(nb_ctx_clear_error(c), NB_E_ARG);
    const nb_var own[2] = {nb_const(1), s};
    cr_expect(isnan(nb_value(nb_taylor_series_input(c, 2, own))));
    cr_expect_eq(nb_ctx_clear_error(c), NB_E_ARG);
    nb_pop(c);
    /* not a Taylor level; a stale coefficient */
    cr_assert_eq(nb_push(c, NB_FORWARD), NB_OK);
    nb_var fx = nb_fwd_input(c, nb_const(1), nb_const(1));
    cr_expect(isnan(nb_value(nb_taylor_series_input(c, 1, ah))));
    cr_expect_eq(nb_ctx_clear_error(c), NB_E_LEVEL);
    cr_assert_eq(nb_push_taylor(c, 3), NB_OK);
    const nb_var lower[2] = {fx, nb_const(2)}; /* a handle of the level below: fine */
    nb_var q = nb_taylor_series_input(c, 2, lower);
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    cr_expect_eq(nb_value(q), 1);
    nb_pop(c);
    nb_pop(c);
    const nb_var stale[1] = {fx};
    cr_assert_eq(nb_push_taylor(c, 3), NB_OK);
    cr_expect(isnan(nb_value(nb_taylor_series_input(c, 1, stale))));
    cr_expect_eq(nb_ctx_clear_error(c), NB_E_STALE);
    nb_pop(c);
    nb_ctx_free(c);
}

/* ---- nb_ode_taylor ---- */

static void ode_exp(nb_ctx *c, nb_var t, const nb_var *y, nb_var *d, void *env) {
    (void)c, (void)t, (void)env;
    d[0] = y[0]; /* y' = y */
}
static void ode_pole(nb_ctx *c, nb_var t, const nb_var *y, nb_var *d, void *env) {
    (void)t, (void)env;
    d[0] = nb_mul(c, y[0], y[0]); /* y' = y^2, y(0) = 1: 1 / (1 - t) */
}
static void ode_osc(nb_ctx *c, nb_var t, const nb_var *y, nb_var *d, void *env) {
    (void)t, (void)env;
    d[0] = y[1];
    d[1] = nb_neg(c, y[0]);
}
static void ode_forced(nb_ctx *c, nb_var t, const nb_var *y, nb_var *d, void *env) {
    (void)env;
    d[0] = nb_mul(c, nb_cos(c, t), y[0]); /* y' = cos(t) y, y(t0) = exp(sin t0): exp(sin t) */
}
static nb_var exp_sin(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_exp(c, nb_sin(c, x[0]));
}

Test(ode_taylor, closed_forms) {
    nb_ctx *c = new_ctx();
    enum { K = 30 };
    double coef[2 * (K + 1)], one = 1;
    cr_assert_eq(nb_ode_taylor(c, ode_exp, NULL, 1, 0, &one, K, coef), NB_OK);
    double fact = 1;
    for (int k = 0; k <= K; k++) {
        if (k) fact *= k;
        cr_expect(close_to(coef[k], 1 / fact, 1e-14, 0), "exp: %d: %.17g", k, coef[k]);
    }
    cr_assert_eq(nb_ode_taylor(c, ode_pole, NULL, 1, 0, &one, K, coef), NB_OK);
    for (int k = 0; k <= K; k++)
        cr_expect(close_to(coef[k], 1, 1e-13, 0), "1/(1-t): %d: %.17g", k, coef[k]);
    /* the oscillator from (cos 0.4, -sin 0.4): y0 = cos(t + 0.4) */
    const double y0[2] = {cos(0.4), -sin(0.4)};
    cr_assert_eq(nb_ode_taylor(c, ode_osc, NULL, 2, 7, y0, K, coef), NB_OK);
    fact = 1;
    for (int k = 0; k <= K; k++) {
        if (k) fact *= k;
        /* d^k/dt^k cos(t + 0.4) = cos(t + 0.4 + k pi / 2) */
        const double want = cos(0.4 + k * M_PI / 2) / fact;
        cr_expect(close_to(coef[k], want, 1e-13, 1e-17), "osc: %d: %.17g vs %.17g", k, coef[k], want);
        cr_expect(close_to(coef[K + 1 + k], -sin(0.4 + k * M_PI / 2) / fact, 1e-13, 1e-17));
    }
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_ctx_free(c);
}

Test(ode_taylor, time_dependent_against_taylor_mode_on_the_solution) {
    /* y' = cos(t) y has the solution exp(sin t): its coefficients at t0 from nb_taylor on
     * exp(sin(t0 + t)) directly, an independent path through the same Taylor arithmetic */
    nb_ctx *c = new_ctx();
    enum { K = 24 };
    for (double t0 = -2; t0 <= 2; t0 += 0.8) {
        double y0 = exp(sin(t0)), coef[K + 1], want[K + 1], one = 1;
        cr_assert_eq(nb_ode_taylor(c, ode_forced, NULL, 1, t0, &y0, K, coef), NB_OK);
        cr_assert_eq(nb_taylor(c, exp_sin, NULL, 1, &t0, &one, K, want), NB_OK);
        for (int k = 0; k <= K; k++)
            cr_expect(close_to(coef[k], want[k], 1e-12, 1e-15), "t0 %g, %d: %.17g vs %.17g", t0, k,
                      coef[k], want[k]);
    }
    nb_ctx_free(c);
}

static int ode_calls;
static void ode_counted(nb_ctx *c, nb_var t, const nb_var *y, nb_var *d, void *env) {
    ode_calls++;
    ode_osc(c, t, y, d, env);
}
static void ode_pushes(nb_ctx *c, nb_var t, const nb_var *y, nb_var *d, void *env) {
    ode_osc(c, t, y, d, env);
    nb_push(c, NB_REVERSE);
}
static void ode_stale(nb_ctx *c, nb_var t, const nb_var *y, nb_var *d, void *env) {
    ode_osc(c, t, y, d, env);
    d[1] = nb_add(c, d[1], *(const nb_var *)env);
}

Test(ode_taylor, calls_errors_and_allocation_failures) {
    nb_ctx *c = new_ctx();
    double y0[2] = {1, 0}, coef[2 * 11];
    ode_calls = 0;
    cr_assert_eq(nb_ode_taylor(c, ode_counted, NULL, 2, 0, y0, 10, coef), NB_OK);
    cr_expect_eq(ode_calls, 10);
    ode_calls = 0;
    cr_assert_eq(nb_ode_taylor(c, ode_counted, NULL, 2, 0, y0, 0, coef), NB_OK);
    cr_expect_eq(ode_calls, 0);
    cr_expect(coef[0] == 1 && coef[1] == 0);
    /* arguments */
    cr_expect_eq(nb_ode_taylor(NULL, ode_osc, NULL, 2, 0, y0, 10, coef), NB_E_ARG);
    cr_expect(isnan(coef[0]) && isnan(coef[21]));
    cr_expect_eq(nb_ode_taylor(c, NULL, NULL, 2, 0, y0, 10, coef), NB_E_ARG);
    cr_expect_eq(nb_ode_taylor(c, ode_osc, NULL, 2, 0, NULL, 10, coef), NB_E_ARG);
    cr_expect_eq(nb_ode_taylor(c, ode_osc, NULL, 2, 0, y0, 10, NULL), NB_E_ARG);
    coef[0] = 5;
    cr_expect_eq(nb_ode_taylor(c, ode_osc, NULL, 2, 0, y0, -1, coef), NB_E_ARG);
    cr_expect_eq(nb_ode_taylor(c, ode_osc, NULL, 2, 0, y0, NB_TAYLOR_MAX_ORDER + 1, coef), NB_E_ARG);
    cr_expect_eq(nb_ode_taylor(c, ode_osc, NULL, SIZE_MAX / 4, 0, y0, 10, coef), NB_E_ARG);
    cr_expect_eq(coef[0], 5, "nothing written when the sizes are absurd");
    nb_ctx_clear_error(c);
    /* an unbalanced f, an error inside f: NaN everywhere, the caller's level kept */
    cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
    cr_expect_eq(nb_ode_taylor(c, ode_pushes, NULL, 2, 0, y0, 6, coef), NB_E_LEVEL);
    cr_expect_eq(nb_depth(c), 1);
    cr_expect(isnan(coef[0]) && isnan(coef[13]));
    nb_ctx_clear_error(c);
    cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
    nb_var stale = nb_rev_input(c, nb_const(1));
    nb_pop(c);
    cr_expect_eq(nb_ode_taylor(c, ode_stale, &stale, 2, 0, y0, 6, coef), NB_E_STALE);
    cr_expect(isnan(coef[1]) && isnan(coef[8]));
    cr_expect_eq(nb_depth(c), 1);
    nb_ctx_free(c);
    /* every allocation failure is NB_E_NOMEM with NaN coefficients, then the same numbers */
    double ref[2 * 11];
    c = new_ctx();
    cr_assert_eq(nb_ode_taylor(c, ode_osc, NULL, 2, 0.5, y0, 10, ref), NB_OK);
    nb_ctx_free(c);
    int total = -1;
    for (int k = 1; k < 500; k++) {
        struct failing f = {0, k};
        const nb_ctx_opts o = failing_opts(&f);
        if (nb_ctx_new(&c, &o) != NB_OK) continue;
        nb_status s = nb_ode_taylor(c, ode_osc, NULL, 2, 0.5, y0, 10, coef);
        nb_ctx_free(c);
        if (f.count < k) {
            cr_assert_eq(s, NB_OK);
            cr_expect(memcmp(coef, ref, sizeof ref) == 0);
            total = k - 1;
            break;
        }
        cr_expect_eq(s, NB_E_NOMEM, "allocation %d", k);
        cr_expect(isnan(coef[0]) && isnan(coef[21]), "allocation %d", k);
    }
    cr_expect_gt(total, 2);
}

/* ---- found by the sixth session's review ---- */

static nb_var pow_25(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_pow(c, x[0], nb_const(2.5));
}
static nb_var pow_75(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_pow(c, x[0], nb_const(7.5));
}

Test(review6, pow_with_a_constant_exponent_where_the_value_underflows) {
    /* x^r at a tiny x: x^r is 0 (or subnormal) but its derivatives r (r-1) ... x^(r-k) are normal;
     * the power recurrence multiplied by x^r = 0 and gave 0 at every order */
    nb_ctx *c = new_ctx();
    struct {
        nb_fn f;
        double r, x;
        int K;
    } cases[2] = {{pow_25, 2.5, 1e-200, 3}, {pow_75, 7.5, 1e-50, 8}};
    for (int t = 0; t < 2; t++) {
        double d[9], err[9], one = 1;
        cr_assert_eq(nb_taylor_derivatives_err(c, cases[t].f, NULL, 1, &cases[t].x, &one, cases[t].K,
                                               d, err), NB_OK);
        double fall = 1; /* r (r - 1) ... (r - k + 1) */
        for (int k = 0; k <= cases[t].K; k++) {
            const double want = fall * pow(cases[t].x, cases[t].r - k);
            cr_expect(close_to(d[k], want, 1e-13, 0), "x^%g at %g, order %d: %.17g vs %.17g",
                      cases[t].r, cases[t].x, k, d[k], want);
            fall *= cases[t].r - k;
        }
    }
    nb_ctx_free(c);
}

Test(review6, absurd_input_counts_are_arg_errors_with_nothing_written) {
    nb_ctx *c = new_ctx();
    double x = 1, v = 1, co[3] = {7, 7, 7}, err[3] = {7, 7, 7};
    cr_expect_eq(nb_taylor(c, pow_25, NULL, SIZE_MAX, &x, &v, 2, co), NB_E_ARG);
    cr_expect_eq(nb_ctx_clear_error(c), NB_E_ARG);
    cr_expect_eq(nb_taylor(c, pow_25, NULL, (size_t)UINT32_MAX, &x, &v, 2, co), NB_E_ARG);
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_taylor_derivatives(c, pow_25, NULL, SIZE_MAX, &x, &v, 2, co), NB_E_ARG);
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_taylor_derivatives_err(c, pow_25, NULL, SIZE_MAX, &x, &v, 2, co, err), NB_E_ARG);
    for (int k = 0; k < 3; k++) cr_expect(co[k] == 7 && err[k] == 7, "written at %d", k);
    cr_expect_eq(nb_depth(c), 0);
    nb_ctx_free(c);
}

Test(review6, reductions_count_once_on_a_taylor_level) {
    nb_ctx *c = new_ctx();
    cr_assert_eq(nb_push_taylor(c, 3), NB_OK);
    nb_var x[5];
    for (int i = 0; i < 5; i++) x[i] = nb_taylor_input(c, nb_const(i + 1), nb_const(1));
    nb_op_count_reset(c);
    nb_var r[3] = {nb_sum(c, 5, x), nb_dot(c, 5, x, x), nb_sumsq(c, 5, x)};
    cr_expect_eq(nb_op_count(c, 1), 3, "three reductions: %llu ops", nb_op_count(c, 1));
    cr_expect_eq(nb_value(nb_taylor_coef(c, r[1], 1)), 2 * (1 + 2 + 3 + 4 + 5));
    cr_expect_eq(nb_value(r[2]), 55);
    nb_pop(c);
    nb_ctx_free(c);
}

static nb_var coef1(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_add(c, x[0], nb_taylor_coef(c, x[0], 1));
}

Test(review6, order_zero_has_no_coefficient_one) {
    /* nb_taylor with K = 0 runs on an order-1 level that computes coefficient 0 alone: asking
     * it for coefficient 1 is out of range, as at order K for K + 1 (it returned the direction) */
    nb_ctx *c = new_ctx();
    double x = 2, v = 3, co[2] = {7, 7};
    cr_expect_eq(nb_taylor(c, coef1, NULL, 1, &x, &v, 0, co), NB_E_ARG);
    cr_expect(isnan(co[0]) && co[1] == 7);
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_taylor(c, coef1, NULL, 1, &x, &v, 1, co), NB_OK);
    cr_expect(co[0] == 5 && co[1] == 3, "%g %g", co[0], co[1]); /* x + 3, along 3 */
    nb_ctx_free(c);
}

Test(review6, every_op_counts_once_on_a_taylor_level) {
    /* ops through their registry rule (atan, erf, asin, lgamma, hypot), pow along a moving
     * exponent, and norm where it is a value alone counted their rule's ops too */
    nb_ctx *c = new_ctx();
    for (int K = 0; K <= 4; K += 4) {
        cr_assert_eq(nb_push_taylor(c, K ? K : 1), NB_OK);
        nb_var x = nb_taylor_input(c, nb_const(0.5), nb_const(1));
        nb_var z = nb_taylor_input(c, nb_const(0), nb_const(1)), zz[2] = {z, z};
        nb_op_count_reset(c);
        nb_atan(c, x);
        nb_erf(c, x);
        nb_asin(c, x);
        nb_lgamma(c, x);
        nb_hypot(c, x, x);
        nb_pow(c, x, x);
        nb_norm(c, 2, zz);
        cr_expect_eq(nb_op_count(c, 1), 7, "order %d: %llu ops for 7", K, nb_op_count(c, 1));
        nb_pop(c);
    }
    nb_ctx_free(c);
}

/* ---- nb_ode_taylor_var: differentiating through a Taylor integrator ---- */

static void kepler_rhs(nb_ctx *c, nb_var t, const nb_var *u, nb_var *du, void *env) {
    (void)t, (void)env;
    nb_var r2 = nb_add(c, nb_mul(c, u[0], u[0]), nb_mul(c, u[1], u[1]));
    nb_var ir3 = nb_pow(c, r2, nb_const(-1.5));
    du[0] = u[2];
    du[1] = u[3];
    du[2] = nb_neg(c, nb_mul(c, u[0], ir3));
    du[3] = nb_neg(c, nb_mul(c, u[1], ir3));
}

enum { KS = 60, KO = 16 };

/* KS fixed steps of order KO over one period of Kepler's orbit, on handles */
static void kepler_steps(nb_ctx *c, nb_var *u) {
    const double h = 2 * 3.14159265358979323846 / KS;
    nb_var coef[4 * (KO + 1)];
    for (int s = 0; s < KS; s++) {
        cr_assert_eq(nb_ode_taylor_var(c, kepler_rhs, NULL, 4, nb_const(s * h), u, KO, coef), NB_OK);
        for (int i = 0; i < 4; i++) {
            nb_var acc = coef[i * (KO + 1) + KO];
            for (int k = KO - 1; k >= 0; k--)
                acc = nb_add(c, nb_mul(c, acc, nb_const(h)), coef[i * (KO + 1) + k]);
            u[i] = acc;
        }
    }
}
/* the final x as a function of the initial state, the same integrator on constants */
struct kslice {
    double u0[4];
    int j;
};
static double kepler_x_final(double v, void *p) {
    const struct kslice *ks = p;
    nb_ctx *c = new_ctx();
    nb_var u[4];
    for (int i = 0; i < 4; i++) u[i] = nb_const(i == ks->j ? v : ks->u0[i]);
    kepler_steps(c, u);
    nb_ctx_free(c);
    return nb_value(u[0]);
}

Test(ode_taylor_var, state_transition_of_a_taylor_integrator_against_central_differences) {
    nb_ctx *c = new_ctx();
    const double u0[4] = {0.4, 0, 0, 2};
    /* reverse: d x(T) / d u0 in one sweep */
    cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
    nb_var u[4], in[4];
    for (int i = 0; i < 4; i++) in[i] = u[i] = nb_rev_input(c, nb_const(u0[i]));
    kepler_steps(c, u);
    cr_expect(fabs(nb_value(u[0]) - 0.4) < 1e-8, "x(T) = %.17g", nb_value(u[0])); /* one period */
    cr_assert_eq(nb_backward(c, u[0]), NB_OK);
    double g[4];
    for (int j = 0; j < 4; j++) g[j] = nb_value(nb_grad(c, in[j]));
    nb_pop(c);
    /* forward: the column along the initial speed, the same number */
    cr_assert_eq(nb_push(c, NB_FORWARD), NB_OK);
    for (int i = 0; i < 4; i++) u[i] = nb_fwd_input(c, nb_const(u0[i]), nb_const(i == 3));
    kepler_steps(c, u);
    const double fwd = nb_value(nb_tangent(c, u[0]));
    nb_pop(c);
    cr_expect(close_to(fwd, g[3], 1e-12, 1e-12), "forward %.17g, reverse %.17g", fwd, g[3]);
    for (int j = 0; j < 4; j++) {
        struct kslice ks = {{u0[0], u0[1], u0[2], u0[3]}, j};
        double err, fd = fd_central(kepler_x_final, &ks, u0[j], 1e-4, &err);
        cr_expect(close_to(g[j], fd, 1e-7, 1e-8), "dx(T)/du0[%d]: %.12g vs %.12g (+- %.1g)", j, g[j],
                  fd, err);
    }
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_ctx_free(c);
}

static void decay_k(nb_ctx *c, nb_var t, const nb_var *y, nb_var *d, void *env) {
    (void)t;
    d[0] = nb_mul(c, nb_const(-*(const double *)env), y[0]);
}

Test(ode_taylor_var, coefficients_are_the_doubles_ones_and_carry_derivatives) {
    nb_ctx *c = new_ctx();
    double k = 0.7, y0 = 1.3, cd[13];
    nb_var cv[13];
    cr_assert_eq(nb_ode_taylor(c, decay_k, &k, 1, 0.25, &y0, 12, cd), NB_OK);
    const nb_var y0c = nb_const(y0);
    cr_assert_eq(nb_ode_taylor_var(c, decay_k, &k, 1, nb_const(0.25), &y0c, 12, cv), NB_OK);
    for (int j = 0; j <= 12; j++) cr_expect(nb_value(cv[j]) == cd[j] && cv[j].tag == 0, "%d", j);
    /* d coef_j / d y0 = (-k)^j / j! */
    cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
    nb_var x = nb_rev_input(c, y0c);
    cr_assert_eq(nb_ode_taylor_var(c, decay_k, &k, 1, nb_const(0.25), &x, 12, cv), NB_OK);
    double want = 1;
    for (int j = 0; j <= 12; j++) {
        if (j) want *= -k / j;
        nb_zero_grad(c);
        nb_backward(c, cv[j]);
        cr_expect(close_to(nb_value(nb_grad(c, x)), want, 1e-14, 0), "%d: %.17g vs %.17g", j,
                  nb_value(nb_grad(c, x)), want);
    }
    nb_pop(c);
    /* a stale y0: the level's error, NaN constants */
    cr_expect_eq(nb_ode_taylor_var(c, decay_k, &k, 1, nb_const(0.25), &x, 4, cv), NB_E_STALE);
    cr_expect(isnan(nb_value(cv[0])) && isnan(nb_value(cv[4])) && cv[4].tag == 0);
    nb_ctx_clear_error(c);
    /* also at order 0, where no pass runs, and a stale t0 with no state at all */
    cr_expect_eq(nb_ode_taylor_var(c, decay_k, &k, 1, nb_const(0.25), &x, 0, cv), NB_E_STALE);
    cr_expect(isnan(nb_value(cv[0])) && cv[0].tag == 0);
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_ode_taylor_var(c, decay_k, &k, 0, x, NULL, 3, cv), NB_E_STALE);
    nb_ctx_clear_error(c);
    nb_ctx_free(c);
}

/* ---- review (eighth session): a Taylor level over a live level ---- */

static nb_var tl_sqrt_sq(nb_ctx *c, nb_var x) { return nb_sqrt(c, nb_mul(c, x, x)); }
static nb_var tl_cbrt_cube(nb_ctx *c, nb_var x) { return nb_cbrt(c, nb_powi(c, x, 3)); }
static nb_var tl_sqrt_4(nb_ctx *c, nb_var x) { return nb_sqrt(c, nb_powi(c, x, 4)); }
static nb_var tl_sqrt_squared(nb_ctx *c, nb_var x) { return nb_powi(c, nb_sqrt(c, x), 2); }
static nb_var tl_exp_abs(nb_ctx *c, nb_var x) { return nb_exp(c, tl_sqrt_sq(c, x)); }
static nb_var tl_pow_half(nb_ctx *c, nb_var x) {
    return nb_pow(c, nb_mul(c, x, x), nb_const(0.5));
}
static nb_var tl_log_sq(nb_ctx *c, nb_var x) { return nb_log1p(c, nb_mul(c, x, x)); }
static nb_var tl_quot(nb_ctx *c, nb_var x) {
    return nb_div(c, nb_mul(c, x, x), nb_add(c, nb_const(1), tl_sqrt_sq(c, x)));
}

/* The coefficients 0 .. K of f(p + t) (times k!: derivatives) with p a constant (kind -1) or an
 * input of a reverse or forward level below the Taylor level; *dp: d f'(p) / dp through that
 * level (NaN for a constant p). */
static void taylor_over(nb_ctx *c, nb_var (*f)(nb_ctx *, nb_var), int kind, double p0, int K,
                        double *d, double *dp) {
    nb_var p = nb_const(p0);
    if (kind == NB_REVERSE) {
        cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
        p = nb_rev_input(c, p);
    } else if (kind == NB_FORWARD) {
        cr_assert_eq(nb_push(c, NB_FORWARD), NB_OK);
        p = nb_fwd_input(c, p, nb_const(1));
    }
    cr_assert_eq(nb_push_taylor(c, K), NB_OK);
    nb_var y = f(c, nb_taylor_input(c, p, nb_const(1)));
    nb_var co[8];
    for (int k = 0; k <= K; k++) co[k] = nb_taylor_coef(c, y, k);
    nb_pop(c);
    double fact = 1;
    for (int k = 0; k <= K; k++) {
        d[k] = nb_value(co[k]) * fact;
        fact *= k + 1;
    }
    *dp = NAN;
    if (kind == NB_REVERSE) {
        cr_assert_eq(nb_backward(c, co[1]), NB_OK);
        *dp = nb_value(nb_grad(c, p));
    } else if (kind == NB_FORWARD) {
        *dp = nb_value(nb_tangent(c, co[1]));
    }
    if (kind >= 0) nb_pop(c);
    cr_assert_eq(nb_ctx_status(c), NB_OK);
}

static int same_double(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

Test(review8, a_live_base_gives_the_coefficients_of_a_constant_one) {
    /* A derivative must not change its value because an outer level also differentiates it:
     * sqrt(x^2) at 0 has f' = 0 (the strong zero) over a constant base, and was NaN over a
     * reverse or forward level, whose zero-valued coefficients are live handles that the
     * recurrences divided by w_0 = 0 and multiplied by infinite partials */
    nb_var (*fs[])(nb_ctx *, nb_var) = {tl_sqrt_sq, tl_cbrt_cube, tl_sqrt_4, tl_sqrt_squared,
                                        tl_exp_abs, tl_pow_half, tl_log_sq, tl_quot};
    const char *names[] = {"sqrt(x^2)", "cbrt(x^3)", "sqrt(x^4)", "sqrt(x)^2",
                           "exp(|x|)",  "pow(x^2, 1/2)", "log1p(x^2)", "x^2 / (1 + |x|)"};
    const double points[] = {0, -0.0, 0.3, -0.7};
    const int K = 4;
    nb_ctx *c = new_ctx();
    for (size_t i = 0; i < sizeof fs / sizeof *fs; i++)
        for (size_t j = 0; j < sizeof points / sizeof *points; j++) {
            const double p0 = points[j];
            double want[5], got[5], unused, dp;
            taylor_over(c, fs[i], -1, p0, K, want, &unused);
            const int kinds[2] = {NB_REVERSE, NB_FORWARD};
            for (int m = 0; m < 2; m++) {
                taylor_over(c, fs[i], kinds[m], p0, K, got, &dp);
                for (int k = 0; k <= K; k++)
                    cr_expect(same_double(got[k], want[k]), "%s at %g over %s: f^(%d) %.17g, %.17g "
                              "over a constant", names[i], p0, m ? "forward" : "reverse", k,
                              got[k], want[k]);
                /* d f'(p) / dp is f''(p) (two computations: the derivative of the recurrence
                 * against the recurrence of order 2), also where it is infinite - but for its
                 * sign at -0, where a pole's side is a known limit (docs/design.md) */
                if (isfinite(want[2]))
                    cr_expect(close_to(dp, want[2], 1e-12, 1e-13),
                              "%s at %g over %s: d f'/dp %.17g, f'' %.17g", names[i], p0,
                              m ? "forward" : "reverse", dp, want[2]);
                else
                    cr_expect(signbit(p0) && isinf(want[2]) ? isinf(dp) : same_double(dp, want[2]),
                              "%s at %g over %s: d f'/dp %.17g, f'' %.17g", names[i], p0,
                              m ? "forward" : "reverse", dp, want[2]);
            }
        }
    /* the values named in the review */
    double d[5], dp;
    taylor_over(c, tl_sqrt_sq, NB_REVERSE, 0, K, d, &dp);
    cr_expect(d[1] == 0 && d[2] == INFINITY && dp == INFINITY, "%g %g %g", d[1], d[2], dp);
    taylor_over(c, tl_cbrt_cube, NB_FORWARD, 0, K, d, &dp);
    cr_expect(d[1] == 0 && d[2] == 0 && dp == 0, "%g %g %g", d[1], d[2], dp);
    nb_ctx_free(c);
}

static nb_var h_pow_self(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_pow(c, x[0], x[0]);
}

Test(review8, pow_with_a_moving_exponent_at_a_subnormal_base) {
    /* x^x at 1e-310: f' = x^x (log x + 1) = -712.80..., as dual, forward and reverse give;
     * Taylor's exp(y log x) divided by the subnormal base in log's recurrence: +inf */
    nb_ctx *c = new_ctx();
    const double x = 1e-310, want = pow(x, x) * (log(x) + 1);
    double d[3], fx, d1;
    cr_assert_eq(nb_derivatives(c, h_pow_self, NULL, x, 2, d), NB_OK);
    cr_assert_eq(nb_derivative(c, h_pow_self, NULL, x, &fx, &d1), NB_OK);
    cr_expect(close_to(d1, want, 1e-15, 0), "forward: %.17g vs %.17g", d1, want);
    cr_expect(close_to(d[1], want, 1e-15, 0), "Taylor: %.17g vs %.17g", d[1], want);
    cr_expect(d[2] == INFINITY, "f'' = x^x ((log x + 1)^2 + 1/x) overflows: %g", d[2]);
    nb_ctx_free(c);
}

/* The k-th derivative of f at x by k nested levels, forward or reverse by the bits of `kinds`
 * (bit j set: level j + 1 from the outside is reverse), through nb_derivative_var /
 * nb_gradient_var. */
struct nested_k {
    nb_var (*f)(nb_ctx *, nb_var);
    int k, kinds;
};
static nb_var nested_kth(nb_ctx *c, const nb_var *x, void *env) {
    struct nested_k *e = env;
    if (e->k == 0) return e->f(c, x[0]);
    struct nested_k inner = {e->f, e->k - 1, e->kinds >> 1};
    nb_var fx, d;
    if (e->kinds & 1) nb_gradient_var(c, nested_kth, &inner, 1, x, &fx, &d);
    else nb_derivative_var(c, nested_kth, &inner, x[0], &fx, &d);
    return d;
}
static nb_var tl_cbrt(nb_ctx *c, nb_var x) { return nb_cbrt(c, x); }
static nb_var tl_cbrt_h(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_cbrt(c, x[0]);
}

Test(review8, cbrt_at_zero_has_the_derivatives_of_the_cube_root_from_the_right) {
    /* f = x^(1/3): f^(k) = c_k x^(1/3 - k) with c_k of sign (-1)^(k+1), so at 0+ the derivatives
     * are +inf, -inf, +inf, ... (x^(1/3) by pow gives these). The rule 1 / (3 R^2) gave f'' = 0
     * and f''' = -inf at 0: R' = inf met R = 0 in R R, a strong zero. */
    nb_ctx *c = new_ctx();
    const double points[] = {0, -0.0};
    for (int pi = 0; pi < 2; pi++) {
        double d[6];
        cr_assert_eq(nb_derivatives(c, tl_cbrt_h, NULL, points[pi], 5, d), NB_OK);
        cr_expect(d[0] == 0, "%g", d[0]);
        for (int k = 1; k <= 5; k++) {
            const double want = k % 2 ? INFINITY : -INFINITY;
            cr_expect(d[k] == want, "Taylor at %g: f^(%d) %g", points[pi], k, d[k]);
            for (int kinds = 0; kinds < (1 << k); kinds++) {
                struct nested_k e = {tl_cbrt, k, kinds};
                const nb_var x = nb_const(points[pi]);
                const double v = nb_value(nested_kth(c, &x, &e));
                cr_assert_eq(nb_ctx_status(c), NB_OK);
                cr_assert_eq(nb_depth(c), 0);
                cr_expect(v == want, "at %g, f^(%d) by nested levels 0x%x: %g", points[pi], k,
                          kinds, v);
            }
        }
    }
    /* away from 0 the first-order rule is unchanged: 1 / (3 cbrt(x)^2) */
    double fx, d1;
    cr_assert_eq(nb_derivative(c, tl_cbrt_h, NULL, 0.001, &fx, &d1), NB_OK);
    cr_expect_eq(d1, 1.0 / 3.0 / (cbrt(0.001) * cbrt(0.001)), "%.17g", d1);
    nb_ctx_free(c);
}

/* ---- review (tenth session): cbrt at 0 and tgamma cost O(K^4) ---- */

/* The Taylor coefficients c_0 .. c_50 of f(x0 + t), from mpmath 1.3.0 at 60 digits, printed to 17:
 * cbrt(a + t) = cbrt(a) sum_k binomial(1/3, k) (t/a)^k, and
 * tgamma(x + t) = tgamma(x) exp(sum_{k>=1} polygamma(k-1, x) t^k / k!), both cross-checked
 * against mpmath.taylor to 1e-78 at order 20. */
static const double cbrt_m8[51] = {
    -2.0, 8.3333333333333333e-2, 3.4722222222222222e-3, 2.4112654320987654e-4,
    2.0093878600823045e-5, 1.8419388717421125e-6, 1.7907739030826094e-7, 1.812092640024069e-8,
    1.8875965000250719e-9, 2.0099407176192895e-10, 2.1774357774208969e-11, 2.3918802100456823e-12,
    2.6576446778285358e-13, 2.9813321706409857e-14, 3.3717447167963529e-15, 3.8400425941291797e-16,
    4.4000488057730184e-17, 5.0686836733169575e-18, 5.8665320293020341e-19, 6.8185569638817501e-20,
    7.9549831245287085e-21, 9.3123810386347977e-22, 1.0934992886275709e-22, 1.2876350318984078e-23,
    1.5201246904356203e-24, 1.7988142170154841e-25, 2.1332091676145163e-26, 2.5348318812703358e-27,
    3.0176570015123045e-28, 3.5986426885850758e-29, 4.2983787669210627e-30, 5.1418778260211637e-31,
    6.1595411457545191e-32, 7.3883384955388802e-33, 8.8732496637599296e-34, 1.066902638142563e-34,
    1.2842346570234554e-35, 1.5474449133052898e-36, 1.8664357506971697e-37, 2.253282476803207e-38,
    2.7227163261372084e-39, 3.2927158822187785e-40, 3.9852315241139978e-41, 4.8270730669985438e-42,
    5.8509976569679319e-43, 7.0970434542851766e-44, 8.6141650622664281e-45, 1.0462239481653375e-45,
    1.2714527147842643e-46, 1.5460692025012737e-47, 1.8810508630432164e-48,
};
static const double cbrt_2p5[51] = {
    1.3572088082974533, 1.8096117443966044e-1, -2.4128156591954725e-2, 5.3618125759899389e-3,
    -1.4298166869306504e-3, 4.1941289483299078e-4, -1.3048401172581935e-4, 4.2251965701693886e-5,
    -1.4083988567231295e-5, 4.7989886969825154e-6, -1.6636494149539387e-6, 5.8479797616562693e-7,
    -2.0792816930333402e-7, 7.4640881288376314e-8, -2.7012890371031428e-8, 9.8446978241092316e-9,
    -3.6097225355067182e-9, 1.3306428170103197e-9, -4.9283067296678506e-10, 1.8329842573501479e-10,
    -6.8431412274405523e-11, 2.5634624280570958e-11, -9.6324042751236327e-12,
    3.6296016109161514e-12, -1.3711828307905461e-12, 5.1922123192602012e-13,
    -1.9703780083346405e-13, 7.4923015625564107e-14, -2.8542101190691088e-14,
    1.0891928270470622e-14, -4.1631370278243267e-15, 1.5936309482854412e-15,
    -6.1089186350941912e-16, 2.3448374558947401e-16, -9.0115321834386089e-17,
    3.4672942877230457e-17, -1.3355503923081361e-17, 5.1496898009719123e-18,
    -1.9875995723049486e-18, 7.6785898006994595e-19, -2.9690547229371244e-19,
    1.1490000391203831e-19, -4.4500953896091027e-20, 1.7248431742670941e-20,
    -6.6903007971572134e-21, 2.5968278649706517e-21, -1.0086229968291807e-21,
    3.9200383139176667e-22, -1.5244593443013148e-22, 5.9319098295262047e-23,
    -2.3094902269622023e-23,
};
static const double tgamma_2p5[51] = {
    1.329340388179137, 9.3473452162608553e-1, 6.5455857798133677e-1, 2.5387124684114285e-1,
    1.096732340021601e-1, 2.8360780594840238e-2, 1.0392403425910231e-2, 1.6074004848785941e-3,
    7.5447412876917559e-4, 3.941785559266295e-6, 6.1329975134217456e-5, -1.2801653963139646e-5,
    7.2538886270026488e-6, -2.5602441271716046e-6, 1.0821483256950239e-6, -4.2534289637506729e-7,
    1.7154210278850255e-7, -6.8519438540668697e-8, 2.744703347695595e-8, -1.0981405186094032e-8,
    4.3943730223671949e-9, -1.7581398835738125e-9, 7.0338229096512498e-10, -2.8138741638655142e-10,
    1.1256500282415303e-10, -4.502885175499661e-11, 1.8012357248924271e-11,
    -7.2051760790496842e-12, 2.8821370842468629e-12, -1.1528738786279665e-12,
    4.6115499364264971e-13, -1.8446355249923737e-13, 7.3785865330246118e-14,
    -2.9514473090647481e-14, 1.1805825511704747e-14, -4.7223405694427503e-15,
    1.8889391892148117e-15, -7.5557652182818863e-16, 3.0223085049003238e-16,
    -1.2089240927079335e-16, 4.8356983444157754e-17, -1.9342799016516621e-17,
    7.737121217716982e-18, -3.0948489474061038e-18, 1.2379397104827053e-18,
    -4.9517592177040273e-19, 1.9807037944456115e-19, -7.9228154845372393e-20,
    3.1691262814592346e-20, -1.2676505376249585e-20, 5.07060222204636e-21,
};
static const double tgamma_m1p5[51] = {
    2.3632718012073547, 1.6617502606685965, 1.1667089921777286e+1, 7.8368833751335718,
    4.7847335532867593e+1, 3.1926789258240308e+1, 1.9193180678012019e+2, 1.2796746163724814e+2,
    7.6796966380722071e+2, 5.1198554449184994e+2, 3.0719865138985008e+3, 2.0479935765168404e+3,
    1.2287994005676302e+4, 8.1919971453155681e+3, 4.9151997335776717e+4, 3.2767998731283088e+4,
    1.9660799881588806e+5, 1.310719994361309e+5, 7.8643199947372599e+5, 5.2428799974939233e+5,
    3.1457279997661001e+6, 2.0971519998886189e+6, 1.2582911999896044e+7, 8.3886079999504973e+6,
    5.0331647999953798e+7, 3.3554431999977999e+7, 2.0132659199997947e+8, 1.3421772799999022e+8,
    8.0530636799999087e+8, 5.3687091199999565e+8, 3.2212254719999959e+9, 2.1474836479999981e+9,
    1.2884901887999998e+10, 8.5899345919999991e+9, 5.1539607551999999e+10, 3.4359738368e+10,
    2.06158430208e+11, 1.37438953472e+11, 8.24633720832e+11, 5.49755813888e+11, 3.298534883328e+12,
    2.199023255552e+12, 1.3194139533312e+13, 8.796093022208e+12, 5.2776558133248e+13,
    3.5184372088832e+13, 2.11106232532992e+14, 1.40737488355328e+14, 8.44424930131968e+14,
    5.62949953421312e+14, 3.377699720527872e+15,
};

F1(r10_cbrt, nb_cbrt(c, x))
F1(r10_cbrt_cube, nb_cbrt(c, nb_powi(c, x, 3)))
F1(r10_tgamma, nb_tgamma(c, x))

/* Largest relative error of coef[0 .. 50] against ref. */
static double r10_err(const double *coef, const double *ref) {
    double e = 0;
    for (int k = 0; k <= 50; k++) e = fmax(e, fabs(coef[k] - ref[k]) / fabs(ref[k]));
    return e;
}

Test(review10, cbrt_and_tgamma_series_against_mpmath) {
    /* cbrt away from 0 is the power recurrence, tgamma w' = w digamma(u) u' with digamma's series
     * computed once; the tolerances are the largest errors measured to order 50 (1.1e-15 for
     * cbrt, 4.1e-15 for tgamma, at 2.5) times about 10, for other compilers' roundings */
    nb_ctx *c = new_ctx();
    const struct {
        nb_fn f;
        double x0;
        const double *ref;
        double tol;
    } cases[] = {{r10_cbrt, -8, cbrt_m8, 1e-14},
                 {r10_cbrt, 2.5, cbrt_2p5, 1e-14},
                 {r10_tgamma, 2.5, tgamma_2p5, 4e-14},
                 {r10_tgamma, -1.5, tgamma_m1p5, 4e-14}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        double coef[51], v = 1;
        cr_assert_eq(nb_taylor(c, cases[i].f, NULL, 1, &cases[i].x0, &v, 50, coef), NB_OK);
        const double e = r10_err(coef, cases[i].ref);
        cr_expect(e <= cases[i].tol, "case %zu at %g: relative error %g", i, cases[i].x0, e);
    }
    nb_ctx_free(c);
}

Test(review10, cbrt_at_zero_to_order_fifty) {
    /* docs/design.md: cbrt at 0 (and -0) along v has coefficients sign(v) (+inf, -inf, +inf, ...)
     * for v > 0 and -inf at every order for v < 0 (x^(1/3) from the right, along -t); cbrt(x^3)
     * at 0 has 0, 0, 0, +inf, 0, 0, -inf, ... (the strong zero: the true series is x) */
    nb_ctx *c = new_ctx();
    double coef[51];
    const double points[] = {0, -0.0};
    for (int pi = 0; pi < 2; pi++) {
        const double vs[] = {1, -1, 2};
        for (int vi = 0; vi < 3; vi++) {
            cr_assert_eq(nb_taylor(c, r10_cbrt, NULL, 1, &points[pi], &vs[vi], 50, coef), NB_OK);
            cr_expect(coef[0] == 0 && signbit(coef[0]) == signbit(points[pi]), "%g", coef[0]);
            for (int k = 1; k <= 50; k++) {
                const double want = vs[vi] < 0 ? -INFINITY : k % 2 ? INFINITY : -INFINITY;
                cr_expect(coef[k] == want, "at %g along %g: c_%d %g", points[pi], vs[vi], k,
                          coef[k]);
            }
        }
        const double one = 1;
        cr_assert_eq(nb_taylor(c, r10_cbrt_cube, NULL, 1, &points[pi], &one, 50, coef), NB_OK);
        for (int k = 0; k <= 50; k++) {
            const double want = k % 3 ? 0.0 : k == 0 ? 0.0 : (k / 3) % 2 ? INFINITY : -INFINITY;
            cr_expect(coef[k] == want, "cbrt(x^3) at %g: c_%d %g", points[pi], k, coef[k]);
        }
    }
    nb_ctx_free(c);
}

Test(review10, cbrt_at_zero_over_a_live_level_as_over_constants) {
    /* over a forward level the coefficients are handles and cbrt at 0 runs its rule (once, where
     * it ran per order: O(K^4)); the values are those over constants */
    nb_ctx *c = new_ctx();
    const int K = 200;
    cr_assert_eq(nb_push(c, NB_FORWARD), NB_OK);
    const nb_var p = nb_fwd_input(c, nb_const(0), nb_const(1));
    cr_assert_eq(nb_push_taylor(c, K), NB_OK);
    const nb_var y = nb_cbrt(c, nb_taylor_input(c, p, nb_const(1)));
    for (int k = 0; k <= K; k++) {
        const double got = nb_value(nb_taylor_coef(c, y, k));
        const double want = k == 0 ? 0.0 : k % 2 ? INFINITY : -INFINITY;
        cr_expect(got == want, "c_%d %g", k, got);
    }
    nb_pop(c);
    nb_pop(c);
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_ctx_free(c);
}

Test(review10, order_one_thousand_of_cbrt_at_zero_and_tgamma) {
    /* NB_TAYLOR_MAX_ORDER: cbrt at 0 re-ran its rule, an O(k^3) pow recursion, at every order,
     * and tgamma digamma's: O(K^4) time and O(K^3) memory, 0.9 s / 129 MB and 0.75 s / 67 MB at
     * K = 200, some 16 GB at K = 1000. Now under a millisecond and 1.6 s; the test's timeout is
     * the check. */
    nb_ctx *c = new_ctx();
    const int K = NB_TAYLOR_MAX_ORDER;
    double *coef = malloc(((size_t)K + 1) * sizeof *coef);
    cr_assert(coef);
    const double zero = 0, x = 2.5, one = 1;
    cr_assert_eq(nb_taylor(c, r10_cbrt, NULL, 1, &zero, &one, K, coef), NB_OK);
    for (int k = 0; k <= K; k++) {
        const double want = k == 0 ? 0.0 : k % 2 ? INFINITY : -INFINITY;
        cr_expect(coef[k] == want, "cbrt: c_%d %g", k, coef[k]);
    }
    cr_assert_eq(nb_taylor(c, r10_tgamma, NULL, 1, &x, &one, K, coef), NB_OK);
    for (int k = 0; k <= 20; k++)
        cr_expect(close_to(coef[k], tgamma_2p5[k], 4e-14, 0), "tgamma: c_%d %.17g vs %.17g", k,
                  coef[k], tgamma_2p5[k]);
    free(coef);
    nb_ctx_free(c);
}

/* A domain error's Taylor coefficients were NaN constants, so an enclosing level saw them as not
 * depending on its inputs: sqrt at -1 under a reverse level had c1 = NaN but dc1/dp = 0, where
 * f'' is NaN (a review; also log, log2, log10, lgamma and digamma at their poles or domain
 * errors, and at every order of Taylor over Taylor). Now NaN there too, over forward and
 * reverse levels, and 0 where the operand does not move at the Taylor level. */
Test(series, a_domain_error_is_nan_to_an_enclosing_level) {
    nb_ctx *c = NULL;
    cr_assert_eq(nb_ctx_new(&c, NULL), NB_OK);
    const struct {
        nb_op op;
        double x;
    } cases[] = {{NB_OP_sqrt, -1}, {NB_OP_log, -1},     {NB_OP_log2, -1},  {NB_OP_log10, -1},
                 {NB_OP_lgamma, 0}, {NB_OP_digamma, 0}, {NB_OP_acosh, 0.5}, {NB_OP_asin, 2},
                 {NB_OP_atanh, 2},  {NB_OP_log1p, -2}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *name = nb_op_get(cases[i].op)->name;
        for (int kind = 0; kind < 2; kind++) {
            for (int moving = 0; moving < 2; moving++) {
                cr_assert_eq(nb_push(c, kind ? NB_FORWARD : NB_REVERSE), NB_OK);
                nb_var p = kind ? nb_fwd_input(c, nb_const(cases[i].x), nb_const(1))
                                : nb_rev_input(c, nb_const(cases[i].x));
                cr_assert_eq(nb_push_taylor(c, 3), NB_OK);
                nb_var u = nb_taylor_input(c, p, nb_const(moving ? 1.0 : 0.0));
                nb_var y = nb_apply(c, cases[i].op, u, nb_const(0), 0);
                nb_var k[3];
                for (int j = 0; j < 3; j++) k[j] = nb_taylor_coef(c, y, j + 1);
                cr_assert_eq(nb_pop(c), NB_OK);
                double d[3];
                if (kind) {
                    for (int j = 0; j < 3; j++) d[j] = nb_value(nb_tangent(c, k[j]));
                } else {
                    cr_assert_eq(nb_backward(c, k[0]), NB_OK);
                    d[0] = nb_value(nb_grad(c, p));
                    d[1] = d[2] = moving ? (double)NAN : 0.0; /* one sweep is enough here */
                }
                for (int j = 0; j < 3; j++) {
                    if (moving)
                        cr_expect(isnan(nb_value(k[j])) && isnan(d[j]),
                                  "%s(%g), Taylor over %s: c%d = %g, its derivative %g", name,
                                  cases[i].x, kind ? "forward" : "reverse", j + 1,
                                  nb_value(k[j]), d[j]);
                    else
                        cr_expect(nb_value(k[j]) == 0 && d[j] == 0,
                                  "%s(%g), not moving: c%d = %g, its derivative %g", name,
                                  cases[i].x, j + 1, nb_value(k[j]), d[j]);
                }
                cr_assert_eq(nb_pop(c), NB_OK);
                cr_expect_eq(nb_ctx_status(c), NB_OK);
            }
        }
    }
    nb_ctx_free(c);
}

/* A mixed series: one scale for every coefficient (set by the largest) made the small ones
 * underflow - J0(1.3 + 1e-200 t + 1e300 t^2) had c1 = c3 = 0, and with 1e-20 t + 1e300 t^11 the
 * coefficients 7 .. 10 came out 0 (a second review). References: mpmath at 60 digits, the series
 * composed exactly from besselj(0, 1.3, derivative=k)/k! (tests compute them the same way). */
static double mix_a, mix_b;
static int mix_m;
static nb_var j0_mixed(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    nb_var u = nb_add(c, nb_const(1.3), nb_mul(c, nb_const(mix_a), x[0]));
    u = nb_add(c, u, nb_mul(c, nb_const(mix_b), nb_powi(c, x[0], mix_m)));
    return nb_bessel_j0(c, u);
}
static int mix_n;
static nb_var jn_at_zero(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    nb_var u = nb_add(c, nb_mul(c, nb_const(mix_a), x[0]),
                      nb_mul(c, nb_const(mix_b), nb_powi(c, x[0], mix_m)));
    return mix_n < 0 ? nb_bessel_j0(c, u) : nb_bessel_jn(c, u, mix_n);
}
Test(series, bessel_of_a_series_with_coefficients_far_apart) {
    nb_ctx *c = NULL;
    cr_assert_eq(nb_ctx_new(&c, NULL), NB_OK);
    double x = 0, v = 1, co[13];
    mix_a = 1e-200, mix_b = 1e300, mix_m = 2;
    cr_assert_eq(nb_taylor(c, j0_mixed, NULL, 1, &x, &v, 3, co), NB_OK);
    const double ref1[] = {-5.220232474146604e-201, -5.2202324741466043e+299, -2.1852964539638574e+99};
    for (int k = 1; k <= 3; k++)
        cr_expect(fabs(co[k] - ref1[k - 1]) <= 1e-13 * fabs(ref1[k - 1]), "c%d = %.17g, not %.17g",
                  k, co[k], ref1[k - 1]);
    mix_a = 1e-20, mix_b = 1e300, mix_m = 11;
    cr_assert_eq(nb_taylor(c, j0_mixed, NULL, 1, &x, &v, 12, co), NB_OK);
    const double ref2[] = {5.398455476207552e-145, 2.2561681099503398e-166, -6.7119152610032908e-187,
                           -2.1803928981917095e-208};
    for (int k = 7; k <= 10; k++)
        cr_expect(fabs(co[k] - ref2[k - 7]) <= 1e-13 * fabs(ref2[k - 7]), "c%d = %.17g, not %.17g",
                  k, co[k], ref2[k - 7]);
    /* a line with a negligible t^2 term is still scaled as a line (requiring the powers of every
     * coefficient to fit gave up the scale, and c156 was inf again: a third review) */
    static double co200[201];
    mix_a = 100, mix_b = 1e-30, mix_m = 2;
    cr_assert_eq(nb_taylor(c, j0_mixed, NULL, 1, &x, &v, 200, co200), NB_OK);
    cr_expect(fabs(co200[156] - 2.3175483276692202e34) <= 1e-12 * 2.3175483276692202e34,
              "c156 = %g", co200[156]);
    cr_expect(fabs(co200[200] - 1.9334461262202447e23) <= 1e-12 * 1.9334461262202447e23,
              "c200 = %g", co200[200]);
    /* coefficients beyond DBL_MAX are infinities of the right sign (mpmath: c5 = -2.6e1497,
     * c6 = -1.5e1796, c7 = +5.4e2095, c8 = +2.3e2394), not NaN */
    mix_a = 1e300, mix_b = 1e-200, mix_m = 2;
    cr_assert_eq(nb_taylor(c, j0_mixed, NULL, 1, &x, &v, 10, co), NB_OK);
    cr_expect(co[5] == -INFINITY && co[6] == -INFINITY && co[7] == INFINITY && co[8] == INFINITY,
              "%g %g %g %g", co[5], co[6], co[7], co[8]);
    /* at u0 = 0 the g_k of odd or even k vanish, and an outweighed coefficient can be all an order
     * has: J5(2^200 t + 1e-271 t^2) has c6 = 5 a^4 b / 3840, J0 of it c3 = -a b / 2; both were 0
     * (a fourth review; mpmath) */
    mix_a = 0x1p200, mix_b = 1e-271, mix_m = 2, mix_n = 5;
    cr_assert_eq(nb_taylor(c, jn_at_zero, NULL, 1, &x, &v, 6, co), NB_OK);
    cr_expect(fabs(co[6] - 8.6823104594789769e-34) <= 1e-13 * 8.7e-34, "c6 = %g", co[6]);
    mix_n = -1;
    cr_assert_eq(nb_taylor(c, jn_at_zero, NULL, 1, &x, &v, 3, co), NB_OK);
    cr_expect(fabs(co[3] + 8.03469022129495137e-212) <= 1e-13 * 8.1e-212, "c3 = %g", co[3]);
    nb_ctx_free(c);
}
