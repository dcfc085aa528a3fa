/* test_vector.c - non-scalar outputs and vectors: seeded sweeps (vector-Jacobian products),
 * Jacobians by reverse, forward and finite differences, the reductions as single statements, and
 * the elementwise helpers. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "nabla/nabla.h"
#include "oracle.h"

/* ---- seeds ---- */

Test(seeds, ones_equal_the_gradient_of_the_sum) {
    nb_ctx *c = new_ctx();
    nb_push(c, NB_REVERSE);
    double xv[4] = {0, 1, 2, 3};
    nb_var x[4], y[4];
    nb_rev_inputs(c, 4, xv, x);
    nb_vmul(c, 4, x, x, y); /* y = x * x */
    cr_assert_eq(nb_backward_vec(c, 4, y, NULL), NB_OK);
    double g[4];
    nb_grads(c, 4, x, g);
    nb_zero_grad(c);
    nb_backward(c, nb_sum(c, 4, y));
    for (int i = 0; i < 4; i++) {
        cr_expect_eq(g[i], 2.0 * i);
        cr_expect_eq(nb_value(nb_grad(c, x[i])), g[i]);
    }
    /* a seed other than ones: the weighted sum v . dy/dx, here v_i 2 x_i */
    nb_zero_grad(c);
    nb_var v[4] = {nb_const(1), nb_const(-1), nb_const(0.5), nb_const(0)};
    nb_backward_vec(c, 4, y, v);
    for (int i = 0; i < 4; i++) cr_expect_eq(nb_value(nb_grad(c, x[i])), nb_value(v[i]) * 2 * i);
    nb_pop(c);
    nb_ctx_free(c);
}

/* f: R^3 -> R^4, dense and nonlinear */
static void f34(nb_ctx *c, const nb_var *x, nb_var *y, void *env) {
    (void)env;
    y[0] = nb_mul(c, x[0], nb_sin(c, x[1]));
    y[1] = nb_exp(c, nb_sub(c, x[2], nb_mul(c, x[0], x[1])));
    y[2] = nb_dot(c, 3, x, x);
    y[3] = nb_div(c, nb_atan2(c, x[2], x[0]), nb_add(c, nb_const(2), nb_cos(c, x[1])));
}

Test(seeds, random_seed_against_forward_jacobian) {
    nb_ctx *c = new_ctx();
    unsigned long long s = 99;
    for (int trial = 0; trial < 20; trial++) {
        double x[3], v[4], vjp[3], J[12], y[4], y2[4];
        for (int i = 0; i < 3; i++) x[i] = uniform(&s, -2, 2);
        for (int j = 0; j < 4; j++) v[j] = uniform(&s, -1, 1);
        cr_assert_eq(nb_vjp(c, f34, NULL, 3, 4, x, v, y, vjp), NB_OK);
        cr_assert_eq(nb_jacobian(c, f34, NULL, 3, 4, x, NB_JAC_FORWARD, y2, J), NB_OK);
        for (int i = 0; i < 3; i++) {
            double want = 0;
            for (int j = 0; j < 4; j++) want += v[j] * J[j * 3 + i];
            cr_expect(close_to(vjp[i], want, 1e-14, 1e-15), "vjp[%d] %.17g, v.J %.17g", i, vjp[i],
                      want);
        }
        for (int j = 0; j < 4; j++) cr_expect_eq(y[j], y2[j]);
    }
    nb_ctx_free(c);
}

/* ---- Jacobians: reverse, forward, finite differences ---- */

struct fd_slice {
    nb_vfn f;
    size_t n, m, i, j;
    double x[8];
};
static double fd_component(double t, void *p) {
    struct fd_slice *s = p;
    nb_ctx *c = NULL;
    nb_ctx_new(&c, NULL);
    nb_var x[8], y[8];
    for (size_t k = 0; k < s->n; k++) x[k] = nb_const(k == s->j ? t : s->x[k]);
    s->f(c, x, y, NULL);
    nb_ctx_free(c);
    return nb_value(y[s->i]);
}

/* g: R^4 -> R^2 (few outputs), with reductions */
static void g42(nb_ctx *c, const nb_var *x, nb_var *y, void *env) {
    (void)env;
    y[0] = nb_norm(c, 4, x);
    nb_var t[4];
    nb_vapply(c, NB_OP_tanh, 4, x, NULL, 0, t);
    y[1] = nb_mul(c, nb_sum(c, 4, t), nb_sumsq(c, 4, x));
}

static void check_jacobian(nb_vfn f, size_t n, size_t m, const double *x) {
    nb_ctx *c = new_ctx();
    double Jr[64], Jf[64], Ja[64], y[8];
    cr_assert_eq(nb_jacobian(c, f, NULL, n, m, x, NB_JAC_REVERSE, y, Jr), NB_OK);
    cr_assert_eq(nb_jacobian(c, f, NULL, n, m, x, NB_JAC_FORWARD, NULL, Jf), NB_OK);
    cr_assert_eq(nb_jacobian(c, f, NULL, n, m, x, NB_JAC_AUTO, NULL, Ja), NB_OK);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double r = Jr[i * n + j], fw = Jf[i * n + j];
            cr_expect(close_to(r, fw, 1e-14, 1e-15), "J[%zu][%zu]: reverse %.17g forward %.17g", i,
                      j, r, fw);
            cr_expect_eq(Ja[i * n + j], m <= n ? r : fw, "auto picks reverse when m <= n");
            struct fd_slice s = {f, n, m, i, j, {0}};
            for (size_t k = 0; k < n; k++) s.x[k] = x[k];
            double err, fd = fd_central(fd_component, &s, x[j], 1e-5 * fmax(1, fabs(x[j])), &err);
            cr_expect(fabs(r - fd) <= 4 * err + 1e-9 * fmax(1, fabs(r)),
                      "J[%zu][%zu]: AD %.17g, gsl_deriv_central %.17g (+- %.2g)", i, j, r, fd, err);
        }
    nb_ctx_free(c);
}

Test(jacobian, dense_3_to_4) {
    double x[3] = {0.7, -1.3, 0.4};
    check_jacobian(f34, 3, 4, x);
}

Test(jacobian, reductions_4_to_2) {
    double x[4] = {0.3, -0.8, 1.1, 0.05};
    check_jacobian(g42, 4, 2, x);
}

/* The chapter's f(a) for a vector a: b = 2a; while norm(b) < 1000: b = 2b; c = b if sum(b) > 0
 * else 100 b. Its Jacobian is k I, with k = f(a)_i / a_i. */
enum { CF_N = 5 };
static void chapter_vec(nb_ctx *c, const nb_var *a, nb_var *out, void *env) {
    (void)env;
    nb_var b[CF_N];
    nb_vscale(c, CF_N, nb_const(2), a, b);
    while (nb_value(nb_norm(c, CF_N, b)) < 1000) nb_vscale(c, CF_N, nb_const(2), b, b);
    if (nb_value(nb_sum(c, CF_N, b)) > 0)
        for (int i = 0; i < CF_N; i++) out[i] = b[i];
    else
        nb_vscale(c, CF_N, nb_const(100), b, out);
}

Test(jacobian, chapter_control_flow_is_k_identity) {
    nb_ctx *c = new_ctx();
    unsigned long long s = 4242;
    for (int trial = 0; trial < 10; trial++) {
        double a[CF_N], y[CF_N], Jr[CF_N * CF_N], Jf[CF_N * CF_N];
        for (int i = 0; i < CF_N; i++) a[i] = uniform(&s, -1, 1);
        cr_assert_eq(nb_jacobian(c, chapter_vec, NULL, CF_N, CF_N, a, NB_JAC_REVERSE, y, Jr), NB_OK);
        cr_assert_eq(nb_jacobian(c, chapter_vec, NULL, CF_N, CF_N, a, NB_JAC_FORWARD, NULL, Jf),
                     NB_OK);
        double k = y[0] / a[0];
        for (int i = 0; i < CF_N; i++)
            for (int j = 0; j < CF_N; j++) {
                double want = i == j ? k : 0;
                cr_expect(close_to(Jr[i * CF_N + j], want, 4.5e-16, 0), "reverse J[%d][%d]", i, j);
                cr_expect(close_to(Jf[i * CF_N + j], want, 4.5e-16, 0), "forward J[%d][%d]", i, j);
            }
        /* the seed-based vjp: v^T (k I) = k v */
        double v[CF_N], out[CF_N];
        for (int i = 0; i < CF_N; i++) v[i] = uniform(&s, -1, 1);
        cr_assert_eq(nb_vjp(c, chapter_vec, NULL, CF_N, CF_N, a, v, NULL, out), NB_OK);
        for (int i = 0; i < CF_N; i++) cr_expect(close_to(out[i], k * v[i], 4.5e-16, 0));
    }
    nb_ctx_free(c);
}

Test(jacobian, empty_and_bad_arguments) {
    nb_ctx *c = new_ctx();
    double J[12], y[4];
    for (int i = 0; i < 12; i++) J[i] = 42;
    cr_expect_eq(nb_jacobian(c, f34, NULL, 3, 4, NULL, NB_JAC_AUTO, y, J), NB_E_ARG);
    for (int i = 0; i < 12; i++) cr_expect(isnan(J[i]), "invalid arguments: NaN outputs too");
    for (int i = 0; i < 4; i++) cr_expect(isnan(y[i]));
    nb_ctx_clear_error(c);
    double x[3] = {1, 2, 3};
    cr_expect_eq(nb_jacobian(c, f34, NULL, 3, 4, x, (nb_jac_mode)9, NULL, J), NB_E_ARG);
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_depth(c), 0, "a failing driver leaves no level behind");
    nb_ctx_free(c);
}

static nb_var f_scalar_sum(nb_ctx *c, const nb_var *x, void *env) {
    (void)env;
    return nb_add(c, x[0], x[1]);
}

/* Sizes whose arrays could not exist are NB_E_ARG with nothing written: 2 m wrapped to a small
 * number once made a vjp write m seeds into a 256-handle scratch (found by a review). */
Test(drivers, absurd_sizes_and_nan_outputs_on_bad_arguments) {
    nb_ctx *c = new_ctx();
    static double v[4096];
    double x[1] = {1}, out[1] = {42}, y[2] = {42, 42};
    const size_t huge = ((size_t)1 << 63) + 1;
    cr_expect_eq(nb_vjp(c, f34, NULL, 1, huge, x, v, NULL, out), NB_E_ARG);
    cr_expect_eq(out[0], 42.0, "nothing written for an absurd size");
    nb_ctx_clear_error(c);
    nb_var hv[4096], hx[1] = {nb_const(1)}, ho[1];
    cr_expect_eq(nb_vjp_var(c, f34, NULL, 1, huge, hx, hv, NULL, ho), NB_E_ARG);
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_jacobian(c, f34, NULL, (size_t)1 << 40, (size_t)1 << 40, x, NB_JAC_AUTO, y, out),
                 NB_E_ARG);
    cr_expect_eq(out[0], 42.0);
    nb_ctx_clear_error(c);
    /* more inputs or outputs than a level can index: before, pushing the level failed and the
     * failure path wrote NaN into that many elements (found by a review) */
    const size_t many = SIZE_MAX / 8;
    double g4[4] = {7, 7, 7, 7}, fx4 = 7;
    cr_expect_eq(nb_gradient(c, f_scalar_sum, NULL, many, v, &fx4, g4), NB_E_ARG);
    cr_expect_eq(nb_hvp(c, f_scalar_sum, NULL, many, v, v, &fx4, g4, g4), NB_E_ARG);
    cr_expect_eq(nb_jvp_vec(c, f34, NULL, 1, many, x, x, g4, g4), NB_E_ARG);
    cr_expect_eq(nb_vjp(c, f34, NULL, many, 1, v, v, g4, g4), NB_E_ARG);
    cr_expect_eq(nb_jacobian(c, f34, NULL, 0, many, x, NB_JAC_AUTO, g4, g4), NB_E_ARG);
    nb_var h4[4];
    cr_expect_eq(nb_gradient_var(c, f_scalar_sum, NULL, many, hv, h4, h4), NB_E_ARG);
    cr_expect(g4[0] == 7 && g4[3] == 7 && fx4 == 7, "nothing written");
    nb_ctx_clear_error(c);
    cr_expect_eq(nb_vjp(c, NULL, NULL, 1, 2, x, v, y, out), NB_E_ARG);
    cr_expect(isnan(out[0]) && isnan(y[0]) && isnan(y[1]), "NaN outputs for a NULL f");
    nb_ctx_clear_error(c);
    double g[1] = {42}, fx = 42;
    cr_expect_eq(nb_gradient(c, NULL, NULL, 1, x, &fx, g), NB_E_ARG);
    cr_expect(isnan(g[0]) && isnan(fx));
    nb_ctx_clear_error(c);
    double H[1] = {42};
    cr_expect_eq(nb_hessian(c, NULL, NULL, 1, x, NULL, g, H), NB_E_ARG);
    cr_expect(isnan(H[0]));
    nb_ctx_clear_error(c);
    double coef[3] = {42, 42, 42};
    cr_expect_eq(nb_taylor(c, NULL, NULL, 1, x, x, 2, coef), NB_E_ARG);
    cr_expect(isnan(coef[0]) && isnan(coef[2]));
    cr_expect_eq(nb_depth(c), 0);
    nb_ctx_free(c);
}

/* ---- reductions ---- */

static double scalar_version(nb_ctx *c, nb_op op, size_t n, const nb_var *x, const nb_var *y,
                             nb_var *out) {
    nb_var s = nb_const(0);
    for (size_t i = 0; i < n; i++) {
        switch (op) {
        case NB_OP_sum: s = nb_add(c, s, x[i]); break;
        case NB_OP_sumsq:
        case NB_OP_norm: s = nb_add(c, s, nb_mul(c, x[i], x[i])); break;
        case NB_OP_dot: s = nb_add(c, s, nb_mul(c, x[i], y[i])); break;
        default: cr_assert_fail("no scalar version of %s", nb_op_get(op)->name);
        }
    }
    if (op == NB_OP_norm) s = nb_sqrt(c, s);
    *out = s;
    return nb_value(s);
}

static nb_var reduce(nb_ctx *c, nb_op op, size_t n, const nb_var *x, const nb_var *y) {
    switch (op) {
    case NB_OP_sum: return nb_sum(c, n, x);
    case NB_OP_sumsq: return nb_sumsq(c, n, x);
    case NB_OP_norm: return nb_norm(c, n, x);
    case NB_OP_dot: return nb_dot(c, n, x, y);
    default: cr_assert_fail("reduction %s is not in tests/test_vector.c", nb_op_get(op)->name);
    }
    return nb_const(0);
}

struct red_row {
    int op;
};
ParameterizedTestParameters(reductions, per_row) {
    static struct red_row rows[NB_OP_COUNT];
    size_t k = 0;
    for (int i = 0; i < NB_OP_COUNT; i++)
        if (nb_op_get((nb_op)i)->reduction) rows[k++].op = i;
    return cr_make_param_array(struct red_row, rows, k);
}

/* Each reduction against the same computation written with scalar ops: values and gradients to
 * a few ulps (the sums add in the same order; norm is scaled, so it may differ by an ulp or two),
 * and its tape is one statement with n operands (2n for dot of two different vectors). */
ParameterizedTest(struct red_row *r, reductions, per_row) {
    nb_op op = (nb_op)r->op;
    int two = nb_op_get(op)->arity == 2;
    enum { N = 17 };
    unsigned long long s = 7 + (unsigned long long)r->op;
    double xv[N], yv[N];
    for (int i = 0; i < N; i++) xv[i] = uniform(&s, -2, 2), yv[i] = uniform(&s, -2, 2);
    nb_ctx *c = new_ctx();
    nb_push(c, NB_REVERSE);
    nb_var x[N], y[N];
    nb_rev_inputs(c, N, xv, x);
    nb_rev_inputs(c, N, yv, y);
    nb_tape_info before, after;
    nb_tape_info_get(c, 1, &before);
    nb_var red = reduce(c, op, N, x, two ? y : NULL);
    nb_tape_info_get(c, 1, &after);
    cr_expect_eq(after.statements - before.statements, 1u, "%s is one statement",
                 nb_op_get(op)->name);
    cr_expect_eq(after.operands - before.operands, two ? 2u * N : (size_t)N);
    nb_var sc;
    double want = scalar_version(c, op, N, x, two ? y : NULL, &sc);
    cr_expect(close_to(nb_value(red), want, 4e-16, 0), "%s: %.17g vs scalar %.17g",
              nb_op_get(op)->name, nb_value(red), want);
    nb_backward(c, red);
    double g1[N], g1y[N], g2[N], g2y[N];
    nb_grads(c, N, x, g1);
    nb_grads(c, N, y, g1y);
    nb_zero_grad(c);
    nb_backward(c, sc);
    nb_grads(c, N, x, g2);
    nb_grads(c, N, y, g2y);
    for (int i = 0; i < N; i++) {
        cr_expect(close_to(g1[i], g2[i], 1e-15, 1e-300), "%s d/dx_%d: %.17g vs %.17g",
                  nb_op_get(op)->name, i, g1[i], g2[i]);
        cr_expect(close_to(g1y[i], g2y[i], 1e-15, 1e-300));
    }
    /* forward through one statement agrees too, and dual numbers */
    nb_pop(c);
    nb_push(c, NB_FORWARD);
    nb_dual dx[N], dy[N];
    double tx[N], ty[N];
    for (int i = 0; i < N; i++) {
        tx[i] = uniform(&s, -1, 1), ty[i] = uniform(&s, -1, 1);
        dx[i] = nb_dual_make(xv[i], tx[i]), dy[i] = nb_dual_make(yv[i], ty[i]);
    }
    nb_fwd_inputs(c, N, xv, tx, x);
    nb_fwd_inputs(c, N, yv, ty, y);
    double fwd = nb_value(nb_tangent(c, reduce(c, op, N, x, two ? y : NULL)));
    double dirderiv = 0;
    for (int i = 0; i < N; i++) dirderiv += g2[i] * tx[i] + (two ? g2y[i] * ty[i] : 0);
    cr_expect(close_to(fwd, dirderiv, 1e-14, 1e-15), "%s forward %.17g, gradient . t %.17g",
              nb_op_get(op)->name, fwd, dirderiv);
    nb_dual dd = op == NB_OP_sum     ? nb_dual_sum(N, dx)
                 : op == NB_OP_sumsq ? nb_dual_sumsq(N, dx)
                 : op == NB_OP_norm  ? nb_dual_norm(N, dx)
                                     : nb_dual_dot(N, dx, dy);
    cr_expect(close_to(dd.d, fwd, 1e-15, 1e-300), "%s dual %.17g, forward %.17g",
              nb_op_get(op)->name, dd.d, fwd);
    nb_pop(c);
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_ctx_free(c);
}

Test(reductions, dot_of_a_vector_with_itself_merges_operands) {
    nb_ctx *c = new_ctx();
    nb_push(c, NB_REVERSE);
    double xv[4] = {0, 1, 2, 3};
    nb_var x[4];
    nb_rev_inputs(c, 4, xv, x);
    nb_var y = nb_mul(c, nb_const(2), nb_dot(c, 4, x, x));
    cr_expect_eq(nb_value(y), 28.0);
    nb_tape_info ti;
    nb_tape_info_get(c, 1, &ti);
    /* dot(x, x) records one merged operand 2 x_i per element, except x_0 = 0 whose partial is 0;
     * the product with 2 records one */
    cr_expect_eq(ti.operands, 4u, "got %zu", ti.operands);
    nb_backward(c, y);
    for (int i = 0; i < 4; i++) cr_expect_eq(nb_value(nb_grad(c, x[i])), 4.0 * i);
    nb_pop(c);
    nb_ctx_free(c);
}

Test(reductions, norm_at_zero_and_extremes) {
    nb_ctx *c = new_ctx();
    nb_push(c, NB_REVERSE);
    double z[3] = {0, 0, 0}, big[2] = {3e300, 4e300}, tiny[2] = {3e-300, 4e-300};
    nb_var x[3];
    nb_rev_inputs(c, 3, z, x);
    nb_var r = nb_norm(c, 3, x);
    cr_expect_eq(nb_value(r), 0.0);
    nb_backward(c, r);
    for (int i = 0; i < 3; i++) cr_expect_eq(nb_value(nb_grad(c, x[i])), 0.0, "subgradient 0");
    nb_rev_inputs(c, 2, big, x);
    r = nb_norm(c, 2, x);
    cr_expect(close_to(nb_value(r), 5e300, 1e-15, 0), "no overflow: %g", nb_value(r));
    nb_zero_grad(c);
    nb_backward(c, r);
    cr_expect(close_to(nb_value(nb_grad(c, x[0])), 0.6, 1e-15, 0));
    nb_rev_inputs(c, 2, tiny, x);
    cr_expect(close_to(nb_value(nb_norm(c, 2, x)), 5e-300, 1e-15, 0), "no underflow");
    cr_expect_eq(nb_value(nb_sum(c, 0, NULL)), 0.0, "the empty sum");
    nb_pop(c);
    nb_ctx_free(c);
}

Test(reductions, at_depth_two) {
    /* forward over reverse on sumsq and dot: the Hessian-vector product of sumsq(x) is 2v, and of
     * dot(x, w) with a constant w is 0; norm's Hessian at x along v is (v - x (x.v)/|x|^2)/|x| */
    nb_ctx *c = new_ctx();
    double xv[3] = {1, -2, 2}, vv[3] = {0.5, 1, -1};
    nb_push(c, NB_FORWARD);
    nb_var xf[3];
    nb_fwd_inputs(c, 3, xv, vv, xf);
    nb_push(c, NB_REVERSE);
    nb_var xr[3];
    for (int i = 0; i < 3; i++) xr[i] = nb_rev_input(c, xf[i]);
    nb_backward(c, nb_norm(c, 3, xr));
    nb_var g[3];
    for (int i = 0; i < 3; i++) g[i] = nb_grad(c, xr[i]);
    nb_pop(c);
    double nx = 3, xdotv = 0.5 - 2 - 2;
    for (int i = 0; i < 3; i++) {
        cr_expect(close_to(nb_value(g[i]), xv[i] / nx, 1e-15, 0));
        double want = (vv[i] - xv[i] * xdotv / (nx * nx)) / nx;
        cr_expect(close_to(nb_value(nb_tangent(c, g[i])), want, 1e-15, 1e-16),
                  "Hv[%d] = %.17g, want %.17g", i, nb_value(nb_tangent(c, g[i])), want);
    }
    nb_pop(c);
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_ctx_free(c);
}

/* ---- elementwise helpers ---- */

Test(elementwise, helpers) {
    nb_ctx *c = new_ctx();
    nb_push(c, NB_REVERSE);
    double xv[3] = {1, 2, 3}, yv[3] = {4, 5, 6};
    nb_var x[3], y[3], o[3];
    nb_rev_inputs(c, 3, xv, x);
    nb_rev_inputs(c, 3, yv, y);
    nb_vaxpy(c, 3, nb_const(2), x, y, o); /* 2x + y */
    for (int i = 0; i < 3; i++) cr_expect_eq(nb_value(o[i]), 2 * xv[i] + yv[i]);
    nb_vdiv(c, 3, o, y, o);
    nb_vsub(c, 3, o, x, o);
    nb_vadd(c, 3, o, x, o);
    nb_vapply(c, NB_OP_pow, 3, o, x, 0, o);
    nb_vapply(c, NB_OP_powi, 3, o, NULL, 2, o);
    nb_backward(c, nb_sum(c, 3, o));
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    /* o_i = ((2x + y)/y)^(2x): check one gradient against calculus */
    double u = (2 * xv[0] + yv[0]) / yv[0];
    double want = pow(u, 2 * xv[0]) * (2 * log(u) + 2 * xv[0] * (2 / yv[0]) / u);
    cr_expect(close_to(nb_value(nb_grad(c, x[0])), want, 1e-14, 0), "%.17g vs %.17g",
              nb_value(nb_grad(c, x[0])), want);
    nb_vapply(c, NB_OP_sum, 3, x, NULL, 0, o);
    cr_expect_eq(nb_ctx_status(c), NB_E_ARG, "a reduction is not elementwise");
    nb_pop(c);
    nb_ctx_free(c);
}
