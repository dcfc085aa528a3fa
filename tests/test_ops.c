/* test_ops.c - every registry row: the dual-number derivative against an independently written
 * closed form and against GSL's central difference, at several points inside the domain.
 *
 * The test is parameterized over the registry (NB_OP_COUNT rows), so a new row is tested
 * automatically; a row without an entry in the closed-form table (op_table.h) fails. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "nabla/nabla.h"
#include "op_table.h"
#include "oracle.h"

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
    size_t k = 0;
    for (int i = 0; i < NB_OP_COUNT; i++)
        if (!nb_op_get((nb_op)i)->reduction) rows[k++].op = i; /* reductions: test_vector.c */
    return cr_make_param_array(struct row, rows, k);
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
