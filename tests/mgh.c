/* mgh.c - the Moré–Garbow–Hillstrom (1981) test problems on nabla handles and on plain doubles.
 *
 * Each problem is written twice, once with nabla's ops and once with <math.h>, with the same
 * operations in the same order, so that the two give the same value bit for bit (nb_powi(x, 2) is
 * x * x, other integer powers are pow(x, n), as ops.def defines them; nb_sumsq, nb_sum and nb_dot
 * are left-to-right loops). The formulas and constants are those of
 * shared/data/mgh1981-residuals.md (MGH 1981, section 3); indices there are 1-based, here x[0] is
 * x_1 and r[0] is r_1.
 */
#include "mgh.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MGH_TWO_PI 6.283185307179586476925286766559 /* MINPACK's tpi = 8 atan(1) */

/* ---- shorthands for the handle versions (c is the context in scope) ---- */

#define K(v) nb_const(v)
#define ADD(a, b) nb_add(c, (a), (b))
#define SUB(a, b) nb_sub(c, (a), (b))
#define MUL(a, b) nb_mul(c, (a), (b))
#define DIV(a, b) nb_div(c, (a), (b))
#define NEG(a) nb_neg(c, (a))
#define EXP(a) nb_exp(c, (a))
#define SQ(a) nb_powi(c, (a), 2)

/* nb_powi's value on doubles (ops.def): exact x * x for n = 2, pow(x, n) otherwise. */
static double powi_plain(double x, int n) {
    return n == 2 ? x * x : n == 1 ? x : n == 0 ? 1.0 : n == -1 ? 1.0 / x : pow(x, (double)n);
}

static double sq(double x) { return x * x; }

/* Left-to-right loops, as nb_sum, nb_sumsq and nb_dot compute their values. */
static double sum_plain(int n, const double *x) {
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i];
    return s;
}

static double dot_plain(int n, const double *a, const double *b) {
    double s = 0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* ---- data of the problems ---- */

static const double beale_y[3] = {1.5, 2.25, 2.625};

static const double gauss_y[15] = {0.0009, 0.0044, 0.0175, 0.0540, 0.1295, 0.2420, 0.3521, 0.3989,
                                   0.3521, 0.2420, 0.1295, 0.0540, 0.0175, 0.0044, 0.0009};

/* Gulf: y_i = 25 + (-50 ln t_i)^(2/3), t_i = i / 100. */
static double gulf_t(int i) { return (double)i / 100.0; }
static double gulf_y(int i) { return 25.0 + pow(-50.0 * log(gulf_t(i)), 2.0 / 3.0); }

/* Biggs EXP6: y_i = exp(-t_i) - 5 exp(-10 t_i) + 3 exp(-4 t_i), t_i = i / 10. */
static double biggs_y(double t) { return exp(-t) - 5.0 * exp(-10.0 * t) + 3.0 * exp(-4.0 * t); }

/* Watson, residual i (1..29), t = i / 29: the coefficients of s1 = sum_{j=2..n} (j-1) t^(j-2) x_j
 * (a[0 .. n-2], multiplying x_2 .. x_n) and of s2 = sum_{j=1..n} t^(j-1) x_j (b[0 .. n-1]), the
 * powers of t by repeated multiplication as in MINPACK. */
static void watson_coef(int i, int n, double *a, double *b) {
    double t = (double)i / 29.0;
    double dx = 1.0;
    for (int j = 2; j <= n; j++) {
        a[j - 2] = (double)(j - 1) * dx;
        dx = t * dx;
    }
    dx = 1.0;
    for (int j = 1; j <= n; j++) {
        b[j - 1] = dx;
        dx = t * dx;
    }
}

/* Helical valley's theta with MINPACK's branches: atan(x2/x1)/(2 pi) for x1 > 0, plus 0.5 for
 * x1 < 0, and sign(0.25, x2) (Fortran SIGN: +0.25 for x2 >= 0) for x1 == 0. At x1 == 0 with
 * x2 != 0 the value is written as sign(0.25, x2) - atan(x1/x2)/(2 pi), which is exactly
 * +-0.25 there but carries the derivative of the x1 > 0 branch (theta is smooth across x1 = 0
 * for x2 > 0; for x2 < 0 it jumps and this is the derivative from the side x1 > 0). */
static double helical_q(double x2) { return x2 < 0 ? -0.25 : 0.25; }

static nb_var helical_theta(nb_ctx *c, nb_var x1, nb_var x2) {
    double v1 = nb_value(x1), v2 = nb_value(x2);
    if (v1 == 0) {
        if (v2 == 0) return K(helical_q(v2));
        return SUB(K(helical_q(v2)), DIV(nb_atan(c, DIV(x1, x2)), K(MGH_TWO_PI)));
    }
    nb_var th = DIV(nb_atan(c, DIV(x2, x1)), K(MGH_TWO_PI));
    if (v1 < 0) th = ADD(th, K(0.5));
    return th;
}

static double helical_theta_plain(double x1, double x2) {
    if (x1 == 0) {
        if (x2 == 0) return helical_q(x2);
        return helical_q(x2) - atan(x1 / x2) / MGH_TWO_PI;
    }
    double th = atan(x2 / x1) / MGH_TWO_PI;
    if (x1 < 0) th = th + 0.5;
    return th;
}

/* 1 when problem p->no is implemented here and (p->n, p->m) is a size it allows. */
static int dims_ok(const mgh_problem *p) {
    int n = p->n, m = p->m;
    if (n < 1 || n > MGH_MAX_N || m < 1 || m > MGH_MAX_M) return 0;
    switch (p->no) {
    case 1: case 3: return n == 2 && m == 2;
    case 4: case 5: return n == 2 && m == 3;
    case 7: return n == 3 && m == 3;
    case 9: return n == 3 && m == 15;
    case 11: return n == 3 && m >= n && m <= 100; /* t_i = i/100 <= 1 */
    case 12: return n == 3 && m >= n;
    case 14: return n == 4 && m == 6;
    case 16: return n == 4 && m >= n;
    case 18: return n == 6 && m >= n;
    case 20: return n >= 2 && m == 31;
    case 21: return n % 2 == 0 && m == n;
    case 22: return n % 4 == 0 && m == n;
    case 23: return m == n + 1;
    case 24: return m == 2 * n;
    case 25: return m == n + 2;
    case 26: return m == n;
    case 35: return m >= n;
    default: return 0;
    }
}

/* ---- residuals on handles ---- */

void mgh_residuals(nb_ctx *c, const nb_var *x, nb_var *r, void *env) {
    const mgh_problem *p = (const mgh_problem *)env;
    int n = p->n, m = p->m;
    switch (dims_ok(p) ? p->no : 0) {
    case 1:  /* Rosenbrock */
    case 21: /* extended Rosenbrock */
        for (int i = 0; i + 1 < n; i += 2) {
            r[i] = MUL(K(10.0), SUB(x[i + 1], SQ(x[i])));
            r[i + 1] = SUB(K(1.0), x[i]);
        }
        break;
    case 3: /* Powell badly scaled */
        r[0] = SUB(MUL(MUL(K(1e4), x[0]), x[1]), K(1.0));
        r[1] = SUB(ADD(EXP(NEG(x[0])), EXP(NEG(x[1]))), K(1.0001));
        break;
    case 4: /* Brown badly scaled */
        r[0] = SUB(x[0], K(1e6));
        r[1] = SUB(x[1], K(2e-6));
        r[2] = SUB(MUL(x[0], x[1]), K(2.0));
        break;
    case 5: /* Beale */
        for (int i = 1; i <= 3; i++)
            r[i - 1] = SUB(K(beale_y[i - 1]), MUL(x[0], SUB(K(1.0), nb_powi(c, x[1], i))));
        break;
    case 7: /* Helical valley */
        r[0] = MUL(K(10.0), SUB(x[2], MUL(K(10.0), helical_theta(c, x[0], x[1]))));
        r[1] = MUL(K(10.0), SUB(nb_sqrt(c, ADD(SQ(x[0]), SQ(x[1]))), K(1.0)));
        r[2] = x[2];
        break;
    case 9: /* Gaussian */
        for (int i = 1; i <= 15; i++) {
            double t = (double)(8 - i) / 2.0;
            nb_var e = EXP(MUL(K(-0.5), MUL(x[1], SQ(SUB(K(t), x[2])))));
            r[i - 1] = SUB(MUL(x[0], e), K(gauss_y[i - 1]));
        }
        break;
    case 11: /* Gulf research and development */
        for (int i = 1; i <= m; i++) {
            nb_var d = nb_abs(c, SUB(K(gulf_y(i)), x[1]));
            r[i - 1] = SUB(EXP(NEG(DIV(nb_pow(c, d, x[2]), x[0]))), K(gulf_t(i)));
        }
        break;
    case 12: /* Box three-dimensional */
        for (int i = 1; i <= m; i++) {
            double t = (double)i / 10.0;
            r[i - 1] = SUB(SUB(EXP(MUL(K(-t), x[0])), EXP(MUL(K(-t), x[1]))),
                           MUL(x[2], K(exp(-t) - exp(-10.0 * t))));
        }
        break;
    case 14: /* Wood */
        r[0] = MUL(K(10.0), SUB(x[1], SQ(x[0])));
        r[1] = SUB(K(1.0), x[0]);
        r[2] = MUL(K(sqrt(90.0)), SUB(x[3], SQ(x[2])));
        r[3] = SUB(K(1.0), x[2]);
        r[4] = MUL(K(sqrt(10.0)), SUB(ADD(x[1], x[3]), K(2.0)));
        r[5] = DIV(SUB(x[1], x[3]), K(sqrt(10.0)));
        break;
    case 16: /* Brown and Dennis */
        for (int i = 1; i <= m; i++) {
            double t = (double)i / 5.0;
            nb_var a = SUB(ADD(x[0], MUL(K(t), x[1])), K(exp(t)));
            nb_var b = SUB(ADD(x[2], MUL(x[3], K(sin(t)))), K(cos(t)));
            r[i - 1] = ADD(SQ(a), SQ(b));
        }
        break;
    case 18: /* Biggs EXP6 */
        for (int i = 1; i <= m; i++) {
            double t = (double)i / 10.0;
            nb_var s = SUB(MUL(x[2], EXP(MUL(K(-t), x[0]))), MUL(x[3], EXP(MUL(K(-t), x[1]))));
            s = ADD(s, MUL(x[5], EXP(MUL(K(-t), x[4]))));
            r[i - 1] = SUB(s, K(biggs_y(t)));
        }
        break;
    case 20: /* Watson (m = 31) */
        for (int i = 1; i <= 29; i++) {
            double a[MGH_MAX_N], b[MGH_MAX_N];
            nb_var ka[MGH_MAX_N], kb[MGH_MAX_N];
            watson_coef(i, n, a, b);
            for (int j = 0; j < n - 1; j++) ka[j] = K(a[j]);
            for (int j = 0; j < n; j++) kb[j] = K(b[j]);
            nb_var s1 = nb_dot(c, (size_t)(n - 1), ka, x + 1);
            nb_var s2 = nb_dot(c, (size_t)n, kb, x);
            r[i - 1] = SUB(SUB(s1, SQ(s2)), K(1.0));
        }
        r[29] = x[0];
        r[30] = SUB(SUB(x[1], SQ(x[0])), K(1.0));
        break;
    case 22: /* extended Powell singular */
        for (int i = 0; i + 3 < n; i += 4) {
            r[i] = ADD(x[i], MUL(K(10.0), x[i + 1]));
            r[i + 1] = MUL(K(sqrt(5.0)), SUB(x[i + 2], x[i + 3]));
            r[i + 2] = SQ(SUB(x[i + 1], MUL(K(2.0), x[i + 2])));
            r[i + 3] = MUL(K(sqrt(10.0)), SQ(SUB(x[i], x[i + 3])));
        }
        break;
    case 23: /* Penalty I (m = n + 1) */
        for (int i = 0; i < n; i++) r[i] = MUL(K(sqrt(1e-5)), SUB(x[i], K(1.0)));
        r[n] = SUB(nb_sumsq(c, (size_t)n, x), K(0.25));
        break;
    case 24: { /* Penalty II (m = 2n) */
        double sa = sqrt(1e-5);
        nb_var w[MGH_MAX_N], x2[MGH_MAX_N];
        r[0] = SUB(x[0], K(0.2));
        for (int i = 2; i <= n; i++) {
            double y = exp((double)i / 10.0) + exp((double)(i - 1) / 10.0);
            r[i - 1] = MUL(K(sa), SUB(ADD(EXP(DIV(x[i - 1], K(10.0))), EXP(DIV(x[i - 2], K(10.0)))),
                                      K(y)));
        }
        for (int i = n + 1; i < 2 * n; i++)
            r[i - 1] = MUL(K(sa), SUB(EXP(DIV(x[i - n], K(10.0))), K(exp(-0.1))));
        for (int j = 1; j <= n; j++) {
            w[j - 1] = K((double)(n - j + 1));
            x2[j - 1] = SQ(x[j - 1]);
        }
        r[2 * n - 1] = SUB(nb_dot(c, (size_t)n, w, x2), K(1.0));
        break;
    }
    case 25: { /* variably dimensioned (m = n + 2) */
        nb_var w[MGH_MAX_N];
        for (int j = 1; j <= n; j++) {
            r[j - 1] = SUB(x[j - 1], K(1.0));
            w[j - 1] = K((double)j);
        }
        nb_var s = nb_dot(c, (size_t)n, w, r);
        r[n] = s;
        r[n + 1] = SQ(s);
        break;
    }
    case 26: { /* trigonometric (m = n) */
        nb_var cs[MGH_MAX_N];
        for (int j = 0; j < n; j++) cs[j] = nb_cos(c, x[j]);
        nb_var s = nb_sum(c, (size_t)n, cs);
        for (int i = 1; i <= m; i++) {
            nb_var t = ADD(SUB(K((double)n), s), MUL(K((double)i), SUB(K(1.0), cs[i - 1])));
            r[i - 1] = SUB(t, nb_sin(c, x[i - 1]));
        }
        break;
    }
    case 35: /* Chebyquad (m >= n; T_i shifted to [0, 1]) */
        for (int i = 0; i < m; i++) r[i] = K(0.0);
        for (int j = 0; j < n; j++) {
            nb_var y = SUB(MUL(K(2.0), x[j]), K(1.0)); /* T_1 */
            nb_var y2 = MUL(K(2.0), y);
            nb_var tm = K(1.0), tk = y; /* T_{i-1}, T_i */
            for (int i = 1; i <= m; i++) {
                r[i - 1] = ADD(r[i - 1], tk);
                nb_var tn = SUB(MUL(y2, tk), tm);
                tm = tk;
                tk = tn;
            }
        }
        for (int i = 1; i <= m; i++) {
            double integral = i % 2 == 0 ? -1.0 / ((double)i * (double)i - 1.0) : 0.0;
            r[i - 1] = SUB(DIV(r[i - 1], K((double)n)), K(integral));
        }
        break;
    default: /* not implemented, or a size the problem does not allow */
        for (int i = 0; i < m; i++) r[i] = K((double)NAN);
        break;
    }
}

nb_var mgh_objective(nb_ctx *c, const nb_var *x, void *env) {
    const mgh_problem *p = (const mgh_problem *)env;
    nb_var r[MGH_MAX_M];
    if (p->m < 1 || p->m > MGH_MAX_M) return K((double)NAN);
    mgh_residuals(c, x, r, env);
    return nb_sumsq(c, (size_t)p->m, r);
}

/* ---- residuals on doubles: the same operations in the same order ---- */

void mgh_residuals_plain(const mgh_problem *p, const double *x, double *r) {
    int n = p->n, m = p->m;
    switch (dims_ok(p) ? p->no : 0) {
    case 1:
    case 21:
        for (int i = 0; i + 1 < n; i += 2) {
            r[i] = 10.0 * (x[i + 1] - sq(x[i]));
            r[i + 1] = 1.0 - x[i];
        }
        break;
    case 3:
        r[0] = 1e4 * x[0] * x[1] - 1.0;
        r[1] = exp(-x[0]) + exp(-x[1]) - 1.0001;
        break;
    case 4:
        r[0] = x[0] - 1e6;
        r[1] = x[1] - 2e-6;
        r[2] = x[0] * x[1] - 2.0;
        break;
    case 5:
        for (int i = 1; i <= 3; i++) r[i - 1] = beale_y[i - 1] - x[0] * (1.0 - powi_plain(x[1], i));
        break;
    case 7:
        r[0] = 10.0 * (x[2] - 10.0 * helical_theta_plain(x[0], x[1]));
        r[1] = 10.0 * (sqrt(sq(x[0]) + sq(x[1])) - 1.0);
        r[2] = x[2];
        break;
    case 9:
        for (int i = 1; i <= 15; i++) {
            double t = (double)(8 - i) / 2.0;
            double e = exp(-0.5 * (x[1] * sq(t - x[2])));
            r[i - 1] = x[0] * e - gauss_y[i - 1];
        }
        break;
    case 11:
        for (int i = 1; i <= m; i++) {
            double d = fabs(gulf_y(i) - x[1]);
            r[i - 1] = exp(-(pow(d, x[2]) / x[0])) - gulf_t(i);
        }
        break;
    case 12:
        for (int i = 1; i <= m; i++) {
            double t = (double)i / 10.0;
            r[i - 1] = (exp(-t * x[0]) - exp(-t * x[1])) - x[2] * (exp(-t) - exp(-10.0 * t));
        }
        break;
    case 14:
        r[0] = 10.0 * (x[1] - sq(x[0]));
        r[1] = 1.0 - x[0];
        r[2] = sqrt(90.0) * (x[3] - sq(x[2]));
        r[3] = 1.0 - x[2];
        r[4] = sqrt(10.0) * ((x[1] + x[3]) - 2.0);
        r[5] = (x[1] - x[3]) / sqrt(10.0);
        break;
    case 16:
        for (int i = 1; i <= m; i++) {
            double t = (double)i / 5.0;
            double a = (x[0] + t * x[1]) - exp(t);
            double b = (x[2] + x[3] * sin(t)) - cos(t);
            r[i - 1] = sq(a) + sq(b);
        }
        break;
    case 18:
        for (int i = 1; i <= m; i++) {
            double t = (double)i / 10.0;
            double s = x[2] * exp(-t * x[0]) - x[3] * exp(-t * x[1]);
            s = s + x[5] * exp(-t * x[4]);
            r[i - 1] = s - biggs_y(t);
        }
        break;
    case 20:
        for (int i = 1; i <= 29; i++) {
            double a[MGH_MAX_N], b[MGH_MAX_N];
            watson_coef(i, n, a, b);
            double s1 = dot_plain(n - 1, a, x + 1);
            double s2 = dot_plain(n, b, x);
            r[i - 1] = (s1 - sq(s2)) - 1.0;
        }
        r[29] = x[0];
        r[30] = (x[1] - sq(x[0])) - 1.0;
        break;
    case 22:
        for (int i = 0; i + 3 < n; i += 4) {
            r[i] = x[i] + 10.0 * x[i + 1];
            r[i + 1] = sqrt(5.0) * (x[i + 2] - x[i + 3]);
            r[i + 2] = sq(x[i + 1] - 2.0 * x[i + 2]);
            r[i + 3] = sqrt(10.0) * sq(x[i] - x[i + 3]);
        }
        break;
    case 23: {
        double s = 0;
        for (int i = 0; i < n; i++) r[i] = sqrt(1e-5) * (x[i] - 1.0);
        for (int i = 0; i < n; i++) s += x[i] * x[i];
        r[n] = s - 0.25;
        break;
    }
    case 24: {
        double sa = sqrt(1e-5);
        double w[MGH_MAX_N], x2[MGH_MAX_N];
        r[0] = x[0] - 0.2;
        for (int i = 2; i <= n; i++) {
            double y = exp((double)i / 10.0) + exp((double)(i - 1) / 10.0);
            r[i - 1] = sa * ((exp(x[i - 1] / 10.0) + exp(x[i - 2] / 10.0)) - y);
        }
        for (int i = n + 1; i < 2 * n; i++) r[i - 1] = sa * (exp(x[i - n] / 10.0) - exp(-0.1));
        for (int j = 1; j <= n; j++) {
            w[j - 1] = (double)(n - j + 1);
            x2[j - 1] = sq(x[j - 1]);
        }
        r[2 * n - 1] = dot_plain(n, w, x2) - 1.0;
        break;
    }
    case 25: {
        double w[MGH_MAX_N];
        for (int j = 1; j <= n; j++) {
            r[j - 1] = x[j - 1] - 1.0;
            w[j - 1] = (double)j;
        }
        double s = dot_plain(n, w, r);
        r[n] = s;
        r[n + 1] = sq(s);
        break;
    }
    case 26: {
        double cs[MGH_MAX_N];
        for (int j = 0; j < n; j++) cs[j] = cos(x[j]);
        double s = sum_plain(n, cs);
        for (int i = 1; i <= m; i++) {
            double t = ((double)n - s) + (double)i * (1.0 - cs[i - 1]);
            r[i - 1] = t - sin(x[i - 1]);
        }
        break;
    }
    case 35:
        for (int i = 0; i < m; i++) r[i] = 0.0;
        for (int j = 0; j < n; j++) {
            double y = 2.0 * x[j] - 1.0;
            double y2 = 2.0 * y;
            double tm = 1.0, tk = y;
            for (int i = 1; i <= m; i++) {
                r[i - 1] = r[i - 1] + tk;
                double tn = y2 * tk - tm;
                tm = tk;
                tk = tn;
            }
        }
        for (int i = 1; i <= m; i++) {
            double integral = i % 2 == 0 ? -1.0 / ((double)i * (double)i - 1.0) : 0.0;
            r[i - 1] = r[i - 1] / (double)n - integral;
        }
        break;
    default: /* not implemented, or a size the problem does not allow */
        for (int i = 0; i < m; i++) r[i] = (double)NAN;
        break;
    }
}

double mgh_objective_plain(const mgh_problem *p, const double *x) {
    double r[MGH_MAX_M];
    if (p->m < 1 || p->m > MGH_MAX_M) return (double)NAN;
    mgh_residuals_plain(p, x, r);
    double s = 0;
    for (int i = 0; i < p->m; i++) s += r[i] * r[i];
    return s;
}

/* ---- the TSV ---- */

enum { COL_NO, COL_NAME, COL_N, COL_M, COL_X0, COL_FPAPER, COL_FPRECISE, COL_FX0, COL_ALG, NCOL };

static const char *const col_names[NCOL] = {"mgh_no", "name",          "n",    "m",        "x0",
                                            "fstar_paper", "fstar_precise", "f_x0", "alg566_18"};

#define MAX_FIELDS 32

/* Splits line (no newline) at tabs in place into at most MAX_FIELDS fields; returns the count. */
static int split_tabs(char *line, char **field) {
    int k = 0;
    field[k++] = line;
    for (char *s = line; *s; s++) {
        if (*s == '\t') {
            if (k == MAX_FIELDS) return -1;
            *s = '\0';
            field[k++] = s + 1;
        }
    }
    return k;
}

/* A whole field as an integer. */
static int parse_int(const char *s, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < -1000000 || v > 1000000) return -1;
    *out = (int)v;
    return 0;
}

/* The first number of a published-minimum field ("5.65565e-3 (m=13); 0 at (...)") into *first
 * and the number after its first ';' into *second (NAN when there is none). Returns 0, or -1
 * when the field does not start with a number; an empty field gives NAN, NAN and 0. */
static int parse_minima(const char *s, double *first, double *second) {
    char *end;
    *first = (double)NAN;
    *second = (double)NAN;
    while (*s == ' ') s++;
    if (*s == '\0') return 0;
    *first = strtod(s, &end);
    if (end == s) return -1;
    const char *semi = strchr(end, ';');
    if (semi) {
        double v = strtod(semi + 1, &end);
        if (end != semi + 1) *second = v;
    }
    return 0;
}

static int parse_row(char **f, mgh_problem *p) {
    memset(p, 0, sizeof *p);
    if (parse_int(f[COL_NO], &p->no) || p->no < 1 || p->no > 35) return -1;
    if (strlen(f[COL_NAME]) >= sizeof p->name) return -1;
    strcpy(p->name, f[COL_NAME]);
    if (parse_int(f[COL_N], &p->n) || p->n < 1 || p->n > MGH_MAX_N) return -1;
    if (parse_int(f[COL_M], &p->m) || p->m < 1 || p->m > MGH_MAX_M) return -1;
    if (!dims_ok(p)) return -1; /* an unimplemented problem or a size it does not allow */
    const char *s = f[COL_X0];
    for (int j = 0; j < p->n; j++) {
        char *end;
        p->x0[j] = strtod(s, &end);
        if (end == s) return -1;
        s = end;
    }
    while (*s == ' ') s++;
    if (*s != '\0') return -1; /* more than n numbers */
    double pa, pa2, pr, pr2;
    if (parse_minima(f[COL_FPAPER], &pa, &pa2) || isnan(pa)) return -1;
    if (parse_minima(f[COL_FPRECISE], &pr, &pr2)) return -1;
    p->fstar = isnan(pr) ? pa : pr;
    p->fstar_alt = !isnan(pr2) ? pr2 : pa2;
    char *end;
    p->f_x0 = strtod(f[COL_FX0], &end);
    if (end == f[COL_FX0] || *end != '\0') return -1;
    return 0;
}

/* Removes a trailing "\n" or "\r\n"; returns -1 when the line did not fit the buffer. */
static int chomp(char *line, size_t cap, FILE *fp) {
    size_t len = strlen(line);
    if (len > 0 && line[len - 1] == '\n') {
        line[--len] = '\0';
        if (len > 0 && line[len - 1] == '\r') line[--len] = '\0';
        return 0;
    }
    return (len + 1 == cap && !feof(fp)) ? -1 : 0;
}

int mgh_load(const char *path, mgh_problem *out, int max) {
    char line[8192];
    char *f[MAX_FIELDS];
    int col[NCOL], ncols = 0;
    if (!path || (!out && max > 0) || max < 0) return -1;
    FILE *fp = fopen(path, "r");
    if (!fp) return -1;
    int count = -1, nf;
    /* the header: find the columns by name */
    if (!fgets(line, sizeof line, fp) || chomp(line, sizeof line, fp)) goto done;
    nf = split_tabs(line, f);
    if (nf < 0) goto done;
    for (int k = 0; k < NCOL; k++) {
        col[k] = -1;
        for (int i = 0; i < nf; i++)
            if (strcmp(f[i], col_names[k]) == 0) col[k] = i;
        if (col[k] < 0) goto done;
    }
    ncols = nf;
    count = 0;
    while (count < max && fgets(line, sizeof line, fp)) {
        char *g[MAX_FIELDS], *h[NCOL];
        if (chomp(line, sizeof line, fp)) {
            count = -1;
            break;
        }
        if (line[0] == '\0') continue;
        if (split_tabs(line, g) != ncols) {
            count = -1;
            break;
        }
        for (int k = 0; k < NCOL; k++) h[k] = g[col[k]];
        if (!(strcmp(h[COL_ALG], "yes") == 0 || strcmp(h[COL_NO], "1") == 0)) continue;
        if (parse_row(h, &out[count])) {
            count = -1;
            break;
        }
        count++;
    }
done:
    fclose(fp);
    return count;
}
