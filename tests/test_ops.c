/* test_ops.c - every registry row: the dual-number derivative against an independently written
 * closed form and against GSL's central difference, at several points inside the domain.
 *
 * The test is parameterized over the registry (NB_OP_COUNT rows), so a new row is tested
 * automatically; a row without an entry in the closed-form table below fails. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_psi.h>
#include <string.h>

#include "nabla/nabla.h"
#include "oracle.h"

typedef double (*cf_fn)(double x, double y, int n);

/* Closed-form partials, written from calculus tables, not from ops.def. */
static double one(double x, double y, int n) { (void)x, (void)y, (void)n; return 1; }
static double mone(double x, double y, int n) { (void)x, (void)y, (void)n; return -1; }
static double zero(double x, double y, int n) { (void)x, (void)y, (void)n; return 0; }
static double get_y(double x, double y, int n) { (void)x, (void)n; return y; }
static double get_x(double x, double y, int n) { (void)y, (void)n; return x; }
static double d_div_x(double x, double y, int n) { (void)x, (void)n; return 1 / y; }
static double d_div_y(double x, double y, int n) { (void)n; return -x / (y * y); }
static double d_pow_x(double x, double y, int n) { (void)n; return y * pow(x, y - 1); }
static double d_pow_y(double x, double y, int n) { (void)n; return pow(x, y) * log(x); }
static double d_powi(double x, double y, int n) { (void)y; return n * pow(x, n - 1); }
static double d_sqrt(double x, double y, int n) { (void)y, (void)n; return 0.5 / sqrt(x); }
static double d_cbrt(double x, double y, int n) { (void)y, (void)n; return pow(fabs(x), -2.0 / 3.0) / 3; }
static double d_exp(double x, double y, int n) { (void)y, (void)n; return exp(x); }
static double d_log(double x, double y, int n) { (void)y, (void)n; return 1 / x; }
static double d_log1p(double x, double y, int n) { (void)y, (void)n; return 1 / (1 + x); }
static double d_log2(double x, double y, int n) { (void)y, (void)n; return 1 / (x * log(2.0)); }
static double d_log10(double x, double y, int n) { (void)y, (void)n; return 1 / (x * log(10.0)); }
static double d_sin(double x, double y, int n) { (void)y, (void)n; return cos(x); }
static double d_cos(double x, double y, int n) { (void)y, (void)n; return -sin(x); }
static double d_tan(double x, double y, int n) { (void)y, (void)n; return 1 / (cos(x) * cos(x)); }
static double d_asin(double x, double y, int n) { (void)y, (void)n; return 1 / sqrt(1 - x * x); }
static double d_acos(double x, double y, int n) { (void)y, (void)n; return -1 / sqrt(1 - x * x); }
static double d_atan(double x, double y, int n) { (void)y, (void)n; return 1 / (1 + x * x); }
static double d_sinh(double x, double y, int n) { (void)y, (void)n; return cosh(x); }
static double d_cosh(double x, double y, int n) { (void)y, (void)n; return sinh(x); }
static double d_tanh(double x, double y, int n) { (void)y, (void)n; return 1 / (cosh(x) * cosh(x)); }
static double d_asinh(double x, double y, int n) { (void)y, (void)n; return 1 / sqrt(x * x + 1); }
static double d_acosh(double x, double y, int n) { (void)y, (void)n; return 1 / sqrt(x * x - 1); }
static double d_atanh(double x, double y, int n) { (void)y, (void)n; return 1 / (1 - x * x); }
static double d_atan2_x(double x, double y, int n) { (void)n; return y / (x * x + y * y); }
static double d_atan2_y(double x, double y, int n) { (void)n; return -x / (x * x + y * y); }
static double d_hypot_x(double x, double y, int n) { (void)n; return x / sqrt(x * x + y * y); }
static double d_hypot_y(double x, double y, int n) { (void)n; return y / sqrt(x * x + y * y); }
static double d_abs(double x, double y, int n) { (void)y, (void)n; return x > 0 ? 1 : -1; }
static double d_min_x(double x, double y, int n) { (void)n; return x < y ? 1 : 0; }
static double d_min_y(double x, double y, int n) { (void)n; return y < x ? 1 : 0; }
static double d_max_x(double x, double y, int n) { (void)n; return x > y ? 1 : 0; }
static double d_max_y(double x, double y, int n) { (void)n; return y > x ? 1 : 0; }
static double d_erf(double x, double y, int n) { (void)y, (void)n; return 2 / sqrt(acos(-1.0)) * exp(-x * x); }
static double d_erfc(double x, double y, int n) { (void)y, (void)n; return -2 / sqrt(acos(-1.0)) * exp(-x * x); }
static double d_lgamma(double x, double y, int n) { (void)y, (void)n; return gsl_sf_psi(x); }
static double d_tgamma(double x, double y, int n) { (void)y, (void)n; return gsl_sf_gamma(x) * gsl_sf_psi(x); }
static double d_digamma(double x, double y, int n) { (void)y, (void)n; return gsl_sf_psi_1(x); }
static double d_psi_n(double x, double y, int n) { (void)y; return gsl_sf_psi_n(n + 1, x); }

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
    {"smul", get_y, get_x, 3, {{0.5, -2}, {3, 4}, {-10, 7}}, 0, {0}, 1},
};

static const struct closed_form *closed_form_of(const char *name) {
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].name, name) == 0) return &table[i];
    return NULL;
}

/* The primal as a function of one operand, for gsl_deriv_central. */
struct slice {
    nb_op op;
    double x, y;
    int n, wrt;
};
static double slice_f(double t, void *p) {
    const struct slice *s = p;
    return s->wrt == 0 ? nb_prim_apply(s->op, t, s->y, s->n) : nb_prim_apply(s->op, s->x, t, s->n);
}

struct row {
    int op;
};

ParameterizedTestParameters(registry, derivative_per_row) {
    static struct row rows[NB_OP_COUNT];
    for (int i = 0; i < NB_OP_COUNT; i++) rows[i].op = i;
    return cr_make_param_array(struct row, rows, NB_OP_COUNT);
}

ParameterizedTest(struct row *r, registry, derivative_per_row) {
    const nb_op_info *info = nb_op_get((nb_op)r->op);
    cr_assert_not_null(info);
    const struct closed_form *cf = closed_form_of(info->name);
    cr_assert_not_null(cf, "op '%s' has no closed-form entry in tests/test_ops.c", info->name);
    cr_assert_eq(cf->dy != NULL, info->arity == 2, "op '%s': closed form arity", info->name);
    int nparams = info->has_param ? cf->nparams : 1;
    cr_assert_gt(nparams, 0, "op '%s': parameterized op without parameter values", info->name);
    for (int pi = 0; pi < nparams; pi++) {
        int n = info->has_param ? cf->params[pi] : 0;
        for (int k = 0; k < cf->npts; k++) {
            double x = cf->pts[k][0], y = cf->pts[k][1];
            for (int wrt = 0; wrt < info->arity; wrt++) {
                nb_dual dx = nb_dual_make(x, wrt == 0), dy = nb_dual_make(y, wrt == 1);
                nb_dual got = nb_dual_apply((nb_op)r->op, dx, dy, n);
                double want_v = nb_prim_apply((nb_op)r->op, x, y, n);
                cr_expect(got.v == want_v, "%s(%g, %g; n=%d): dual value %.17g vs primal %.17g",
                          info->name, x, y, n, got.v, want_v);
                /* Closed form: rule and table are both a few ulps from the true value; 1e-13
                 * leaves room for the different rounding of the two formulas. */
                double want = (wrt == 0 ? cf->dx : cf->dy)(x, y, n);
                cr_expect(close_to(got.d, want, 1e-13, 1e-300),
                          "%s d/d%s at (%g, %g; n=%d): dual %.17g, closed form %.17g", info->name,
                          wrt ? "y" : "x", x, y, n, got.d, want);
                if (!cf->fd) continue;
                /* GSL's central difference: agree within a few times its own error estimate,
                 * plus a floor for the rounding of the estimate itself. */
                struct slice s = {(nb_op)r->op, x, y, n, wrt};
                double at = wrt == 0 ? x : y, err;
                double fd = fd_central(slice_f, &s, at, 1e-5 * fmax(1, fabs(at)), &err);
                double tol = 4 * err + 1e-9 * fmax(1, fabs(got.d));
                cr_expect(fabs(got.d - fd) <= tol,
                          "%s d/d%s at (%g, %g; n=%d): dual %.17g, gsl_deriv_central %.17g "
                          "(+- %.3g)", info->name, wrt ? "y" : "x", x, y, n, got.d, fd, err);
            }
        }
    }
}

Test(registry, every_closed_form_names_a_row) {
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        cr_expect_geq(nb_op_find(table[i].name), 0, "closed form '%s' names no registry row",
                      table[i].name);
}

Test(registry, metadata) {
    cr_expect_eq(nb_op_find("sin"), NB_OP_sin);
    cr_expect_eq(nb_op_find_lang("polygamma"), NB_OP_psi_n);
    cr_expect_eq(nb_op_find_lang("psi_n"), -1, "internal names are not language names");
    cr_expect_eq(nb_op_find_lang("add"), -1);
    cr_expect_eq(nb_op_find("no_such_op"), -1);
    cr_expect_eq(nb_op_find(NULL), -1);
    cr_expect_null(nb_op_get(NB_OP_COUNT));
    cr_expect_null(nb_op_get((nb_op)-1));
    cr_expect_str_eq(nb_op_get(NB_OP_sin)->rule[0], "COS(X)");
    cr_expect_eq(nb_op_get(NB_OP_atan2)->arity, 2);
    cr_expect_eq(nb_op_get(NB_OP_powi)->has_param, 1);
    cr_expect(isnan(nb_prim_apply(NB_OP_COUNT, 1, 1, 0)));
    cr_expect(isnan(nb_dual_apply(NB_OP_COUNT, nb_dual_var(1), nb_dual_var(1), 0).d));
}
