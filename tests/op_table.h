/* op_table.h - the independent oracle for every registry row: closed-form partials written from
 * calculus tables (not from ops.def), and test points inside each op's domain. Shared by the
 * per-row tests of every mode (dual, forward, reverse, nested). */
#ifndef NABLA_TEST_OP_TABLE_H
#define NABLA_TEST_OP_TABLE_H

#include <gsl/gsl_mode.h>
#include <gsl/gsl_sf_airy.h>
#include <gsl/gsl_sf_bessel.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_lambert.h>
#include <gsl/gsl_sf_psi.h>
#include <math.h>
#include <string.h>

typedef double (*cf_fn)(double x, double y, int n);

/* Closed-form partials, written from calculus tables, not from ops.def. */
static inline double one(double x, double y, int n) { (void)x, (void)y, (void)n; return 1; }
static inline double mone(double x, double y, int n) { (void)x, (void)y, (void)n; return -1; }
static inline double zero(double x, double y, int n) { (void)x, (void)y, (void)n; return 0; }
static inline double get_y(double x, double y, int n) { (void)x, (void)n; return y; }
static inline double get_x(double x, double y, int n) { (void)y, (void)n; return x; }
static inline double d_div_x(double x, double y, int n) { (void)x, (void)n; return 1 / y; }
static inline double d_div_y(double x, double y, int n) { (void)n; return -x / (y * y); }
static inline double d_pow_x(double x, double y, int n) { (void)n; return y * pow(x, y - 1); }
static inline double d_pow_y(double x, double y, int n) { (void)n; return pow(x, y) * log(x); }
static inline double d_powi(double x, double y, int n) { (void)y; return n * pow(x, n - 1); }
static inline double d_sqrt(double x, double y, int n) { (void)y, (void)n; return 0.5 / sqrt(x); }
static inline double d_cbrt(double x, double y, int n) { (void)y, (void)n; return pow(fabs(x), -2.0 / 3.0) / 3; }
static inline double d_exp(double x, double y, int n) { (void)y, (void)n; return exp(x); }
static inline double d_log(double x, double y, int n) { (void)y, (void)n; return 1 / x; }
static inline double d_log1p(double x, double y, int n) { (void)y, (void)n; return 1 / (1 + x); }
static inline double d_log2(double x, double y, int n) { (void)y, (void)n; return 1 / (x * log(2.0)); }
static inline double d_log10(double x, double y, int n) { (void)y, (void)n; return 1 / (x * log(10.0)); }
static inline double d_sin(double x, double y, int n) { (void)y, (void)n; return cos(x); }
static inline double d_cos(double x, double y, int n) { (void)y, (void)n; return -sin(x); }
static inline double d_tan(double x, double y, int n) { (void)y, (void)n; return 1 / (cos(x) * cos(x)); }
static inline double d_asin(double x, double y, int n) { (void)y, (void)n; return 1 / sqrt(1 - x * x); }
static inline double d_acos(double x, double y, int n) { (void)y, (void)n; return -1 / sqrt(1 - x * x); }
static inline double d_atan(double x, double y, int n) { (void)y, (void)n; return 1 / (1 + x * x); }
static inline double d_sinh(double x, double y, int n) { (void)y, (void)n; return cosh(x); }
static inline double d_cosh(double x, double y, int n) { (void)y, (void)n; return sinh(x); }
static inline double d_tanh(double x, double y, int n) { (void)y, (void)n; return 1 / (cosh(x) * cosh(x)); }
static inline double d_asinh(double x, double y, int n) { (void)y, (void)n; return 1 / sqrt(x * x + 1); }
static inline double d_acosh(double x, double y, int n) { (void)y, (void)n; return 1 / sqrt(x * x - 1); }
static inline double d_atanh(double x, double y, int n) { (void)y, (void)n; return 1 / (1 - x * x); }
static inline double d_atan2_x(double x, double y, int n) { (void)n; return y / (x * x + y * y); }
static inline double d_atan2_y(double x, double y, int n) { (void)n; return -x / (x * x + y * y); }
static inline double d_hypot_x(double x, double y, int n) { (void)n; return x / sqrt(x * x + y * y); }
static inline double d_hypot_y(double x, double y, int n) { (void)n; return y / sqrt(x * x + y * y); }
static inline double d_abs(double x, double y, int n) { (void)y, (void)n; return x > 0 ? 1 : -1; }
static inline double d_min_x(double x, double y, int n) { (void)n; return x < y ? 1 : 0; }
static inline double d_min_y(double x, double y, int n) { (void)n; return y < x ? 1 : 0; }
static inline double d_max_x(double x, double y, int n) { (void)n; return x > y ? 1 : 0; }
static inline double d_max_y(double x, double y, int n) { (void)n; return y > x ? 1 : 0; }
static inline double d_erf(double x, double y, int n) { (void)y, (void)n; return 2 / sqrt(acos(-1.0)) * exp(-x * x); }
static inline double d_erfc(double x, double y, int n) { (void)y, (void)n; return -2 / sqrt(acos(-1.0)) * exp(-x * x); }
static inline double d_lgamma(double x, double y, int n) { (void)y, (void)n; return gsl_sf_psi(x); }
static inline double d_tgamma(double x, double y, int n) { (void)y, (void)n; return gsl_sf_gamma(x) * gsl_sf_psi(x); }
static inline double d_digamma(double x, double y, int n) { (void)y, (void)n; return gsl_sf_psi_1(x); }
static inline double d_psi_n(double x, double y, int n) { (void)y; return gsl_sf_psi_n(n + 1, x); }
/* The Bessel, Lambert and Airy partials in forms other than the registry's (DLMF 10.6.2, 4.13.4):
 * J1' = J0 - J1/x, Jn' = (n/x) Jn - J_{n+1}, Y1' = (Y0 - Y2)/2, W' = W / (x (1 + W)); points
 * away from 0 where these forms divide by x. */
static inline double d_bessel_j0(double x, double y, int n) { (void)y, (void)n; return -gsl_sf_bessel_J1(x); }
static inline double d_bessel_j1(double x, double y, int n) { (void)y, (void)n; return gsl_sf_bessel_J0(x) - gsl_sf_bessel_J1(x) / x; }
static inline double d_bessel_jn(double x, double y, int n) {
    (void)y;
    return n / x * gsl_sf_bessel_Jn(n, x) - gsl_sf_bessel_Jn(n + 1, x);
}
static inline double d_bessel_y0(double x, double y, int n) { (void)y, (void)n; return -gsl_sf_bessel_Y1(x); }
static inline double d_bessel_y1(double x, double y, int n) {
    (void)y, (void)n;
    return 0.5 * (gsl_sf_bessel_Y0(x) - gsl_sf_bessel_Yn(2, x));
}
static inline double d_lambert_w0(double x, double y, int n) {
    (void)y, (void)n;
    double w = gsl_sf_lambert_W0(x);
    return w / (x * (1 + w));
}
static inline double d_airy_ai(double x, double y, int n) { (void)y, (void)n; return gsl_sf_airy_Ai_deriv(x, GSL_PREC_DOUBLE); }
static inline double d_airy_bi(double x, double y, int n) { (void)y, (void)n; return gsl_sf_airy_Bi_deriv(x, GSL_PREC_DOUBLE); }
static inline double d_airy_ai_deriv(double x, double y, int n) { (void)y, (void)n; return x * gsl_sf_airy_Ai(x, GSL_PREC_DOUBLE); }
static inline double d_airy_bi_deriv(double x, double y, int n) { (void)y, (void)n; return x * gsl_sf_airy_Bi(x, GSL_PREC_DOUBLE); }

#define MAXPTS 6
struct closed_form {
    const char *name;
    cf_fn dx, dy;            /* dy is NULL for one-operand ops */
    int npts;
    double pts[MAXPTS][2];   /* (x, y); each at least 1e-2 inside the domain */
    int nparams;             /* parameter values, for parameterized ops */
    int params[8];
    int fd;                  /* 0: the finite difference is not an oracle (stop_gradient) */
};

static const struct closed_form table[] = {
    {"add", one, one, 3, {{0.5, -2}, {3, 4}, {-1e3, 7}}, 0, {0}, 1},
    {"sub", one, mone, 3, {{0.5, -2}, {3, 4}, {-1e3, 7}}, 0, {0}, 1},
    {"mul", get_y, get_x, 3, {{0.5, -2}, {3, 4}, {-10, 7}}, 0, {0}, 1},
    {"div", d_div_x, d_div_y, 3, {{0.5, -2}, {3, 4}, {-10, 0.7}}, 0, {0}, 1},
    {"neg", mone, NULL, 3, {{0.5, 0}, {-3, 0}, {100, 0}}, 0, {0}, 1},
    {"pow", d_pow_x, d_pow_y, 4, {{0.5, 2.5}, {3, -1.5}, {1.7, 0.3}, {10, 3}}, 0, {0}, 1},
    {"powi", d_powi, NULL, 4, {{-1.7, 0}, {-0.4, 0}, {0.6, 0}, {2.3, 0}}, 8, {-3, -2, -1, 0, 1, 2, 3, 7}, 1},
    {"sqrt", d_sqrt, NULL, 3, {{0.3, 0}, {2, 0}, {1e4, 0}}, 0, {0}, 1},
    {"cbrt", d_cbrt, NULL, 4, {{-8, 0}, {-0.3, 0}, {0.2, 0}, {30, 0}}, 0, {0}, 1},
    {"exp", d_exp, NULL, 4, {{-3, 0}, {0, 0}, {0.7, 0}, {5, 0}}, 0, {0}, 1},
    {"expm1", d_exp, NULL, 4, {{-3, 0}, {1e-3, 0}, {0.7, 0}, {5, 0}}, 0, {0}, 1},
    {"log", d_log, NULL, 3, {{0.2, 0}, {1, 0}, {40, 0}}, 0, {0}, 1},
    {"log1p", d_log1p, NULL, 3, {{-0.8, 0}, {1e-3, 0}, {40, 0}}, 0, {0}, 1},
    {"log2", d_log2, NULL, 3, {{0.2, 0}, {1, 0}, {40, 0}}, 0, {0}, 1},
    {"log10", d_log10, NULL, 3, {{0.2, 0}, {1, 0}, {40, 0}}, 0, {0}, 1},
    {"sin", d_sin, NULL, 4, {{-2.5, 0}, {0, 0}, {0.7, 0}, {30, 0}}, 0, {0}, 1},
    {"cos", d_cos, NULL, 4, {{-2.5, 0}, {0, 0}, {0.7, 0}, {30, 0}}, 0, {0}, 1},
    {"tan", d_tan, NULL, 4, {{-1.2, 0}, {0, 0}, {0.7, 0}, {3, 0}}, 0, {0}, 1},
    {"asin", d_asin, NULL, 4, {{-0.9, 0}, {0, 0}, {0.3, 0}, {0.95, 0}}, 0, {0}, 1},
    {"acos", d_acos, NULL, 4, {{-0.9, 0}, {0, 0}, {0.3, 0}, {0.95, 0}}, 0, {0}, 1},
    {"atan", d_atan, NULL, 4, {{-20, 0}, {0, 0}, {0.3, 0}, {3, 0}}, 0, {0}, 1},
    {"sinh", d_sinh, NULL, 4, {{-3, 0}, {0, 0}, {0.3, 0}, {8, 0}}, 0, {0}, 1},
    {"cosh", d_cosh, NULL, 4, {{-3, 0}, {0, 0}, {0.3, 0}, {8, 0}}, 0, {0}, 1},
    {"tanh", d_tanh, NULL, 5, {{-3, 0}, {0, 0}, {0.3, 0}, {1.4, 0}, {12, 0}}, 0, {0}, 1},
    {"asinh", d_asinh, NULL, 4, {{-30, 0}, {0, 0}, {0.3, 0}, {5, 0}}, 0, {0}, 1},
    {"acosh", d_acosh, NULL, 3, {{1.1, 0}, {2, 0}, {50, 0}}, 0, {0}, 1},
    {"atanh", d_atanh, NULL, 4, {{-0.9, 0}, {0, 0}, {0.3, 0}, {0.95, 0}}, 0, {0}, 1},
    {"atan2", d_atan2_x, d_atan2_y, 4, {{1, 2}, {-1, 0.5}, {0.3, -2}, {-2, -3}}, 0, {0}, 1},
    {"hypot", d_hypot_x, d_hypot_y, 4, {{1, 2}, {-1, 0.5}, {0.3, -2}, {-2, -3}}, 0, {0}, 1},
    {"abs", d_abs, NULL, 3, {{-2, 0}, {0.1, 0}, {7, 0}}, 0, {0}, 1},
    {"sign", zero, NULL, 3, {{-2, 0}, {0.1, 0}, {7, 0}}, 0, {0}, 1},
    {"min", d_min_x, d_min_y, 3, {{1, 2}, {-1, -3}, {5, 4}}, 0, {0}, 1},
    {"max", d_max_x, d_max_y, 3, {{1, 2}, {-1, -3}, {5, 4}}, 0, {0}, 1},
    {"stop_gradient", zero, NULL, 3, {{-2, 0}, {0, 0}, {7, 0}}, 0, {0}, 0},
    {"erf", d_erf, NULL, 4, {{-2, 0}, {0, 0}, {0.5, 0}, {3, 0}}, 0, {0}, 1},
    {"erfc", d_erfc, NULL, 4, {{-2, 0}, {0, 0}, {0.5, 0}, {3, 0}}, 0, {0}, 1},
    {"lgamma", d_lgamma, NULL, 5, {{-2.5, 0}, {-0.5, 0}, {0.3, 0}, {2, 0}, {40, 0}}, 0, {0}, 1},
    {"tgamma", d_tgamma, NULL, 4, {{-2.5, 0}, {-0.5, 0}, {0.3, 0}, {4.5, 0}}, 0, {0}, 1},
    {"digamma", d_digamma, NULL, 4, {{-2.5, 0}, {-0.5, 0}, {0.3, 0}, {40, 0}}, 0, {0}, 1},
    {"psi_n", d_psi_n, NULL, 3, {{0.3, 0}, {2, 0}, {40, 0}}, 4, {0, 1, 2, 3}, 1},
    {"bessel_j0", d_bessel_j0, NULL, 4, {{-7.5, 0}, {0.3, 0}, {2.4, 0}, {30, 0}}, 0, {0}, 1},
    {"bessel_j1", d_bessel_j1, NULL, 4, {{-7.5, 0}, {0.3, 0}, {3.8, 0}, {30, 0}}, 0, {0}, 1},
    {"bessel_jn", d_bessel_jn, NULL, 4, {{-7.5, 0}, {0.3, 0}, {3.8, 0}, {30, 0}}, 6, {-3, -1, 0, 2, 5, 12}, 1},
    {"bessel_y0", d_bessel_y0, NULL, 3, {{0.3, 0}, {2.4, 0}, {30, 0}}, 0, {0}, 1},
    {"bessel_y1", d_bessel_y1, NULL, 3, {{0.3, 0}, {2.4, 0}, {30, 0}}, 0, {0}, 1},
    {"lambert_w0", d_lambert_w0, NULL, 4, {{-0.3, 0}, {0.2, 0}, {2.5, 0}, {1e3, 0}}, 0, {0}, 1},
    {"airy_ai", d_airy_ai, NULL, 4, {{-12, 0}, {-1, 0}, {0.5, 0}, {6, 0}}, 0, {0}, 1},
    {"airy_bi", d_airy_bi, NULL, 4, {{-12, 0}, {-1, 0}, {0.5, 0}, {6, 0}}, 0, {0}, 1},
    {"airy_ai_deriv", d_airy_ai_deriv, NULL, 4, {{-12, 0}, {-1, 0}, {0.5, 0}, {6, 0}}, 0, {0}, 1},
    {"airy_bi_deriv", d_airy_bi_deriv, NULL, 4, {{-12, 0}, {-1, 0}, {0.5, 0}, {6, 0}}, 0, {0}, 1},
    {"smul", get_y, get_x, 3, {{0.5, -2}, {3, 4}, {-10, 7}}, 0, {0}, 1},
};

static inline const struct closed_form *closed_form_of(const char *name) {
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].name, name) == 0) return &table[i];
    return NULL;
}

#endif
