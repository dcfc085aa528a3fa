/* test_fast.c - the inline depth-1 fast tier of nabla/var.h against the library's complete ops.
 *
 * Every registry op nb_<op> is inline: on operands of a forward or reverse level 1 with room it
 * records right in the caller; anything else calls the library's nb__<op>. Both must compute the
 * same thing. Each case runs twice, in two contexts, once through nb_<op> and once through
 * nb__<op>, and compares bit for bit: the result's value and whether it is a constant, the tape's
 * statements and operands, the op count, and the gradients (reverse) or tangent (forward).
 * Operands: constant and leaf, leaf and constant, two leaves, the same leaf twice; values include
 * zeros of both signs, infinities, NaN, huge and subnormal numbers. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nabla/nabla.h"

typedef nb_var (*op1_fn)(nb_ctx *, nb_var);
typedef nb_var (*op2_fn)(nb_ctx *, nb_var, nb_var);
typedef nb_var (*opi_fn)(nb_ctx *, nb_var, int);

struct row {
    const char *name;
    int arity; /* 1, 2, or 3 for a parameterized op */
    op1_fn f1, s1;
    op2_fn f2, s2;
    opi_fn fi, si;
};

static const struct row rows[] = {
#define NB_OP1(name_, ...) {#name_, 1, nb_##name_, nb__##name_, 0, 0, 0, 0},
#define NB_OP2(name_, ...) {#name_, 2, 0, 0, nb_##name_, nb__##name_, 0, 0},
#define NB_OPI(name_, ...) {#name_, 3, 0, 0, 0, 0, nb_##name_, nb__##name_},
#define NB_RED1(...)
#define NB_RED2(...)
#include "nabla/ops.def"
#undef NB_OP1
#undef NB_OP2
#undef NB_OPI
#undef NB_RED1
#undef NB_RED2
};
enum { NROWS = sizeof rows / sizeof rows[0] };

static const double vals[] = {0.0, -0.0, 1.0, -1.0, 0.5, -0.75, 2.5, -3.0, 1e308, -1e308,
                              1e-310, INFINITY, -INFINITY, NAN};
enum { NVALS = sizeof vals / sizeof vals[0] };
static const int params[] = {-3, -1, 0, 1, 2, 5, 2000000000};
enum { NPARAMS = sizeof params / sizeof params[0] };

/* Bitwise equality, every NaN equal to every NaN (payloads may differ between libm paths). */
static int same(double a, double b) {
    if (a != a && b != b) return 1;
    return memcmp(&a, &b, sizeof a) == 0;
}

/* Operand shapes of two-operand ops. */
enum { CONST_LEAF, LEAF_CONST, LEAF_LEAF, SAME_LEAF, NSHAPES };

struct outcome {
    double v;
    int is_const;
    nb_tape_info info;
    unsigned long long ops;
    double d[2]; /* gradients of the leaves, or the tangent in d[0] */
    nb_status st;
};

/* One case in a fresh context: `fast` picks nb_<op> or nb__<op>. */
static struct outcome run(const struct row *r, int fast, nb_kind kind, int shape, double a,
                          double b, int n, int tv) {
    struct outcome o;
    memset(&o, 0, sizeof o);
    nb_ctx *c = NULL;
    cr_assert_eq(nb_ctx_new(&c, NULL), NB_OK);
    cr_assert_eq(nb_push(c, kind), NB_OK);
    nb_var x, y;
    if (kind == NB_REVERSE) {
        x = nb_rev_input(c, nb_const(a));
        y = shape == SAME_LEAF ? x : nb_rev_input(c, nb_const(b));
    } else {
        /* tv = 1: x's tangent is exactly 0 (a zero tangent annihilates an infinite partial) */
        x = nb_fwd_input(c, nb_const(a), nb_const(tv ? 0.0 : 1.0));
        y = shape == SAME_LEAF ? x : nb_fwd_input(c, nb_const(b), nb_const(tv ? 1.0 : -0.5));
    }
    if (shape == CONST_LEAF) x = nb_const(a);
    if (shape == LEAF_CONST) y = nb_const(b);
    /* room, so that nb_<op> runs inline (a full array would send both to the library) */
    cr_assert_eq(nb_reserve(c, 16, 16), NB_OK);
    cr_assert(nb__room1(nb__hot_of(c)));
    nb_var z;
    if (r->arity == 1)
        z = fast ? r->f1(c, x) : r->s1(c, x);
    else if (r->arity == 2)
        z = fast ? r->f2(c, x, y) : r->s2(c, x, y);
    else
        z = fast ? r->fi(c, x, n) : r->si(c, x, n);
    o.v = nb_value(z);
    o.is_const = nb_is_const(z);
    cr_assert_eq(nb_tape_info_get(c, 1, &o.info), NB_OK);
    o.ops = nb_op_count(c, 1);
    if (kind == NB_REVERSE) {
        nb_backward(c, z);
        o.d[0] = nb_value(nb_grad(c, x));
        o.d[1] = nb_value(nb_grad(c, y));
    } else {
        o.d[0] = nb_value(nb_tangent(c, z));
    }
    o.st = nb_ctx_status(c);
    nb_ctx_free(c);
    return o;
}

static void compare1(const struct row *r, nb_kind kind, int shape, double a, double b, int n,
                     int tv) {
    struct outcome f = run(r, 1, kind, shape, a, b, n, tv), s = run(r, 0, kind, shape, a, b, n, tv);
    const char *k = kind == NB_REVERSE ? "reverse" : "forward";
    cr_expect(same(f.v, s.v), "%s %s(%g, %g, %d) shape %d tangents %d: value %a vs %a", k,
              r->name, a, b, n, shape, tv, f.v, s.v);
    cr_expect_eq(f.is_const, s.is_const, "%s %s(%g, %g, %d) shape %d: constness", k, r->name, a,
                 b, n, shape);
    cr_expect_eq(f.info.statements, s.info.statements, "%s %s(%g, %g, %d) shape %d: statements",
                 k, r->name, a, b, n, shape);
    cr_expect_eq(f.info.operands, s.info.operands, "%s %s(%g, %g, %d) shape %d: operands", k,
                 r->name, a, b, n, shape);
    cr_expect_eq(f.info.bytes, s.info.bytes, "%s %s: bytes", k, r->name);
    cr_expect_eq(f.ops, s.ops, "%s %s: op count", k, r->name);
    for (int i = 0; i < 2; i++)
        cr_expect(same(f.d[i], s.d[i]), "%s %s(%g, %g, %d) shape %d tangents %d: derivative %d %a vs %a",
                  k, r->name, a, b, n, shape, tv, i, f.d[i], s.d[i]);
    cr_expect_eq(f.st, s.st, "%s %s: status", k, r->name);
}

static void compare(const struct row *r, nb_kind kind, int shape, double a, double b, int n) {
    compare1(r, kind, shape, a, b, n, 0);
    if (kind == NB_FORWARD) compare1(r, kind, shape, a, b, n, 1);
}

static void every_case(nb_kind kind) {
    for (int i = 0; i < NROWS; i++) {
        const struct row *r = &rows[i];
        for (int p = 0; p < NVALS; p++) {
            if (r->arity == 1) {
                compare(r, kind, LEAF_CONST, vals[p], 0, 0);
            } else if (r->arity == 3) {
                for (int q = 0; q < NPARAMS; q++) compare(r, kind, LEAF_CONST, vals[p], 0, params[q]);
            } else {
                for (int q = 0; q < NVALS; q++)
                    for (int shape = 0; shape < NSHAPES; shape++)
                        compare(r, kind, shape, vals[p], vals[q], 0);
            }
        }
    }
}

Test(fast_tier, reverse_agrees_with_the_library_on_every_op) { every_case(NB_REVERSE); }
Test(fast_tier, forward_agrees_with_the_library_on_every_op) { every_case(NB_FORWARD); }

/* The fast tier must actually be taken at depth 1 (or this file tests nothing): after the inline
 * op the tape grew without a call into the library, which the hot fields show directly. */
Test(fast_tier, is_taken_at_depth_one) {
    nb_ctx *c = NULL;
    cr_assert_eq(nb_ctx_new(&c, NULL), NB_OK);
    cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
    nb_var x = nb_rev_input(c, nb_const(3));
    const nb__hot *h = nb__hot_of(c);
    cr_assert_eq(h->tag, x.tag, "level 1's hot fields are the live level");
    size_t n0 = h->n, o0 = h->nops;
    nb_var y = nb_mul(c, x, nb_sin(c, x));
    cr_expect_eq(h->n, n0 + 2);
    cr_expect_eq(h->nops, o0 + 3, "sin: one operand; x * sin(x): two");
    cr_expect_eq(h->op_idx[o0], x.idx);
    cr_expect(same(h->op_mul[o0], cos(3.0)));
    cr_expect_eq(nb_backward(c, y), NB_OK);
    cr_expect_float_eq(nb_value(nb_grad(c, x)), sin(3.0) + 3 * cos(3.0), 1e-15);
    nb_ctx_free(c);
}

/* Rosenbrock's gradient with the tape growing from empty (every growth through the library, the
 * rest inline) equals the hand-written gradient, and a pre-sized tape gives identical bits. */
static nb_var rosen(nb_ctx *c, const nb_var *x, size_t n) {
    nb_var s = nb_const(0);
    for (size_t i = 0; i + 1 < n; i++) {
        nb_var a = nb_sub(c, x[i + 1], nb_mul(c, x[i], x[i]));
        nb_var b = nb_sub(c, nb_const(1), x[i]);
        s = nb_add(c, s, nb_add(c, nb_mul(c, nb_const(100), nb_mul(c, a, a)), nb_mul(c, b, b)));
    }
    return s;
}

Test(fast_tier, growth_in_the_middle_of_recording) {
    enum { N = 3000 };
    static double x[N], g1[N], g2[N], hand[N];
    static nb_var in[N];
    for (int i = 0; i < N; i++) x[i] = 0.3 + 0.7 * sin(1.3 * i);
    for (int i = 0; i < N; i++) hand[i] = 0;
    for (int i = 0; i + 1 < N; i++) {
        double a = x[i + 1] - x[i] * x[i], b = 1 - x[i];
        hand[i] += -400 * a * x[i] - 2 * b;
        hand[i + 1] += 200 * a;
    }
    for (int pass = 0; pass < 2; pass++) {
        nb_ctx *c = NULL;
        cr_assert_eq(nb_ctx_new(&c, NULL), NB_OK);
        cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
        if (pass == 1) cr_assert_eq(nb_reserve(c, 9 * N, 12 * N), NB_OK);
        cr_assert_eq(nb_rev_inputs(c, N, x, in), NB_OK);
        nb_var y = rosen(c, in, N);
        cr_assert_eq(nb_backward(c, y), NB_OK);
        cr_assert_eq(nb_grads(c, N, in, pass ? g2 : g1), NB_OK);
        nb_ctx_free(c);
    }
    for (int i = 0; i < N; i++) {
        cr_expect(same(g1[i], g2[i]), "x%d: %a vs %a", i, g1[i], g2[i]);
        cr_expect(fabs(g1[i] - hand[i]) <= 1e-12 * (1 + fabs(hand[i])), "x%d: %.17g vs %.17g", i,
                  g1[i], hand[i]);
    }
}

/* Handles the fast tier must refuse and hand to the library: of a reset tape, of a popped level,
 * of level 1 while a level 2 is on top (still level 1's), and a Taylor level 1. */
Test(fast_tier, refused_handles_go_to_the_library) {
    nb_ctx *c = NULL;
    cr_assert_eq(nb_ctx_new(&c, NULL), NB_OK);
    cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
    nb_var x = nb_rev_input(c, nb_const(2));
    cr_assert_eq(nb_reset(c), NB_OK);
    nb_var y = nb_mul(c, x, x);
    cr_expect(nb_is_const(y) && isnan(nb_value(y)), "a handle of the tape before reset");
    cr_expect_eq(nb_ctx_clear_error(c), NB_E_STALE);

    x = nb_rev_input(c, nb_const(2));
    cr_assert_eq(nb_push(c, NB_FORWARD), NB_OK);
    y = nb_mul(c, x, nb_const(3)); /* binds to level 1 below the forward level */
    cr_expect_eq(nb_var_depth(y), 1);
    cr_expect_eq(nb_pop(c), NB_OK);
    cr_expect_eq(nb_backward(c, y), NB_OK);
    cr_expect_float_eq(nb_value(nb_grad(c, x)), 3.0, 0);
    cr_expect_eq(nb_pop(c), NB_OK);

    y = nb_exp(c, x);
    cr_expect(nb_is_const(y) && isnan(nb_value(y)), "a handle of a popped level");
    cr_expect_eq(nb_ctx_clear_error(c), NB_E_STALE);

    cr_assert_eq(nb_push_taylor(c, 3), NB_OK);
    nb_var t = nb_taylor_input(c, nb_const(0.5), nb_const(1.0));
    nb_var e = nb_exp(c, t);
    const double fact[4] = {1, 1, 2, 6};
    for (int k = 0; k < 4; k++)
        cr_expect_float_eq(nb_value(nb_taylor_coef(c, e, k)), exp(0.5) / fact[k], 1e-15,
                           "Taylor level 1: coefficient %d", k);
    cr_expect_eq(nb_pop(c), NB_OK);
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_ctx_free(c);
}

/* Reductions at depth 1 validate and record in one pass; an element that is not a constant or a
 * live level-1 handle rolls the pass back and takes the general path: a stale element is an
 * error with nothing recorded, a level-2 element binds the reduction to level 2. */
Test(fast_tier, reductions_roll_back_on_an_element_they_cannot_take) {
    nb_ctx *c = NULL;
    cr_assert_eq(nb_ctx_new(&c, NULL), NB_OK);
    cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
    nb_var old = nb_rev_input(c, nb_const(7));
    cr_assert_eq(nb_reset(c), NB_OK);
    nb_var v[4];
    const double xs[4] = {1, 2, 3, 4};
    cr_assert_eq(nb_rev_inputs(c, 4, xs, v), NB_OK);
    nb_tape_info before, after;
    cr_assert_eq(nb_tape_info_get(c, 1, &before), NB_OK);
    nb_var bad[4] = {v[0], v[1], old, v[3]};
    nb_var s = nb_sumsq(c, 4, bad);
    cr_expect(nb_is_const(s) && isnan(nb_value(s)));
    cr_expect_eq(nb_ctx_clear_error(c), NB_E_STALE);
    cr_assert_eq(nb_tape_info_get(c, 1, &after), NB_OK);
    cr_expect_eq(after.operands, before.operands, "nothing recorded");
    cr_expect_eq(after.statements, before.statements);
    cr_expect_eq(after.ops, before.ops);

    /* a good one: dot(v, v) with a constant in the middle is one statement of 3 operands */
    nb_var w[4] = {v[0], v[1], nb_const(3), v[3]};
    nb_var d = nb_dot(c, 4, w, w);
    cr_expect_eq(nb_value(d), 30);
    cr_assert_eq(nb_tape_info_get(c, 1, &after), NB_OK);
    cr_expect_eq(after.operands, before.operands + 3);
    cr_expect_eq(after.statements, before.statements + 1);
    cr_expect_eq(nb_backward(c, d), NB_OK);
    cr_expect(nb_value(nb_grad(c, v[0])) == 2 && nb_value(nb_grad(c, v[1])) == 4 &&
              nb_value(nb_grad(c, v[3])) == 8);

    /* a level-2 element: forward over reverse, the sum binds to the forward level 2 */
    cr_assert_eq(nb_push(c, NB_FORWARD), NB_OK);
    nb_var t = nb_fwd_input(c, v[2], nb_const(1));
    nb_var mix[3] = {v[0], t, v[1]};
    nb_var z = nb_sum(c, 3, mix);
    cr_expect_eq(nb_var_depth(z), 2);
    cr_expect_eq(nb_value(z), 6);
    cr_expect_eq(nb_value(nb_tangent(c, z)), 1);
    cr_expect_eq(nb_pop(c), NB_OK);
    cr_expect_eq(nb_ctx_status(c), NB_OK);
    nb_ctx_free(c);
}

/* Many ordinary points per row: a contraction of a rule's product and sum into a fused
 * multiply-add (test_fast_fma builds this file with -ffp-contract=fast for this machine) shows up
 * at some points only. Both tapes and the forward tangents must agree bit for bit. */
Test(fast_tier, dense_points_agree) {
    enum { PTS = 400 };
    for (int i = 0; i < NROWS; i++) {
        const struct row *r = &rows[i];
        for (int kind = NB_FORWARD; kind <= NB_REVERSE; kind++) {
            nb_ctx *c[2] = {NULL, NULL};
            double val[2][PTS], tan[2][PTS];
            for (int f = 0; f < 2; f++) {
                cr_assert_eq(nb_ctx_new(&c[f], NULL), NB_OK);
                cr_assert_eq(nb_push(c[f], (nb_kind)kind), NB_OK);
                cr_assert_eq(nb_reserve(c[f], 4 * PTS + 4, 4 * PTS + 4), NB_OK);
                for (int k = 0; k < PTS; k++) {
                    const double a = -3.1 + 6.3 * k / PTS + 1e-3 * sin(k), b = 0.37 + 2.9 * cos(0.7 * k);
                    nb_var x, y;
                    if (kind == NB_REVERSE) {
                        x = nb_rev_input(c[f], nb_const(a));
                        y = nb_rev_input(c[f], nb_const(b));
                    } else {
                        x = nb_fwd_input(c[f], nb_const(a), nb_const(0.75));
                        y = nb_fwd_input(c[f], nb_const(b), nb_const(-1.25));
                    }
                    cr_assert(f == 0 || nb__room1(nb__hot_of(c[f])));
                    nb_var z = r->arity == 1   ? (f ? r->f1(c[f], x) : r->s1(c[f], x))
                               : r->arity == 2 ? (f ? r->f2(c[f], x, y) : r->s2(c[f], x, y))
                                               : (f ? r->fi(c[f], x, 2) : r->si(c[f], x, 2));
                    val[f][k] = nb_value(z);
                    tan[f][k] = kind == NB_FORWARD ? nb_value(nb_tangent(c[f], z)) : 0;
                }
            }
            const nb__hot *h0 = nb__hot_of(c[0]), *h1 = nb__hot_of(c[1]);
            cr_expect_eq(h0->n, h1->n, "%s: nodes", r->name);
            int bad = 0;
            for (int k = 0; k < PTS; k++)
                bad += !same(val[0][k], val[1][k]) || !same(tan[0][k], tan[1][k]);
            if (kind == NB_REVERSE) {
                cr_expect_eq(h0->nops, h1->nops, "%s: operands", r->name);
                for (size_t o = 0; o < h0->nops && o < h1->nops; o++)
                    bad += !same(h0->op_mul[o], h1->op_mul[o]) || h0->op_idx[o] != h1->op_idx[o];
            }
            cr_expect_eq(bad, 0, "%s %s: %d values, tangents or partials differ", r->name,
                         kind == NB_REVERSE ? "reverse" : "forward", bad);
            nb_ctx_free(c[0]);
            nb_ctx_free(c[1]);
        }
    }
}

/* ---- the dual tier: a reverse level 2 over a forward level 1 (Hessian-vector products) ---- */

struct doutcome {
    double v, vt;      /* the result's value and its primal's level-1 tangent */
    int depth;         /* the result's depth */
    nb_tape_info i1, i2;
    unsigned long long ops1, ops2;
    double g[2], gt[2]; /* the leaves' gradients and their level-1 tangents */
    nb_status st;
};

static struct doutcome run_dual(const struct row *r, int fast, int shape, double a, double b, int n) {
    struct doutcome o;
    memset(&o, 0, sizeof o);
    nb_ctx *c = NULL;
    cr_assert_eq(nb_ctx_new(&c, NULL), NB_OK);
    cr_assert_eq(nb_push(c, NB_FORWARD), NB_OK);
    nb_var x1 = nb_fwd_input(c, nb_const(a), nb_const(1.0));
    nb_var y1 = nb_fwd_input(c, nb_const(b), nb_const(shape == LEAF_LEAF ? 0.0 : -0.5));
    cr_assert_eq(nb_reserve(c, 16, 0), NB_OK); /* room at level 1 for the results' tangents */
    cr_assert_eq(nb_push(c, NB_REVERSE), NB_OK);
    nb_var x = nb_rev_input(c, x1);
    nb_var y = shape == SAME_LEAF ? x : nb_rev_input(c, y1);
    if (shape == CONST_LEAF) x = nb_const(a);
    if (shape == LEAF_CONST) y = nb_const(b);
    cr_assert_eq(nb_reserve(c, 16, 16), NB_OK);
    if (fast) cr_assert(nb__room2(nb__hot2_of(c)) || !NB__DUAL_TIER);
    nb_var z = r->arity == 1   ? (fast ? r->f1(c, x) : r->s1(c, x))
               : r->arity == 2 ? (fast ? r->f2(c, x, y) : r->s2(c, x, y))
                               : (fast ? r->fi(c, x, n) : r->si(c, x, n));
    o.v = nb_value(z);
    o.depth = nb_var_depth(z);
    nb_var zp = nb_primal(c, z);
    cr_assert_eq(nb_tape_info_get(c, 1, &o.i1), NB_OK);
    cr_assert_eq(nb_tape_info_get(c, 2, &o.i2), NB_OK);
    o.ops1 = nb_op_count(c, 1);
    o.ops2 = nb_op_count(c, 2);
    nb_backward(c, z);
    nb_var gx = nb_grad(c, x), gy = nb_grad(c, y);
    o.g[0] = nb_value(gx);
    o.g[1] = nb_value(gy);
    nb_pop(c);
    o.vt = nb_value(nb_tangent(c, zp));
    o.gt[0] = nb_value(nb_tangent(c, gx));
    o.gt[1] = nb_value(nb_tangent(c, gy));
    o.st = nb_ctx_status(c);
    nb_ctx_free(c);
    return o;
}

static void compare_dual(const struct row *r, int shape, double a, double b, int n) {
    struct doutcome f = run_dual(r, 1, shape, a, b, n), s = run_dual(r, 0, shape, a, b, n);
    const char *w = r->name;
    cr_expect(same(f.v, s.v) && same(f.vt, s.vt), "dual %s(%g, %g, %d) shape %d: value %a/%a vs %a/%a",
              w, a, b, n, shape, f.v, f.vt, s.v, s.vt);
    cr_expect_eq(f.depth, s.depth, "dual %s(%g, %g, %d) shape %d: depth", w, a, b, n, shape);
    cr_expect(f.i1.statements == s.i1.statements && f.i2.statements == s.i2.statements &&
                  f.i2.operands == s.i2.operands && f.i2.bytes == s.i2.bytes,
              "dual %s(%g, %g, %d) shape %d: tapes", w, a, b, n, shape);
    cr_expect(f.ops1 == s.ops1 && f.ops2 == s.ops2, "dual %s(%g, %g) shape %d: op counts %llu %llu vs %llu %llu",
              w, a, b, shape, f.ops1, f.ops2, s.ops1, s.ops2);
    for (int i = 0; i < 2; i++)
        cr_expect(same(f.g[i], s.g[i]) && same(f.gt[i], s.gt[i]),
                  "dual %s(%g, %g, %d) shape %d: gradient %d %a/%a vs %a/%a", w, a, b, n, shape, i,
                  f.g[i], f.gt[i], s.g[i], s.gt[i]);
    cr_expect_eq(f.st, s.st, "dual %s: status", w);
}

Test(fast_tier, dual_agrees_with_the_library_on_every_op) {
    for (int i = 0; i < NROWS; i++) {
        const struct row *r = &rows[i];
        for (int p = 0; p < NVALS; p++) {
            if (r->arity == 1) {
                compare_dual(r, LEAF_CONST, vals[p], 0, 0);
            } else if (r->arity == 3) {
                for (int q = 0; q < NPARAMS; q++) compare_dual(r, LEAF_CONST, vals[p], 0, params[q]);
            } else {
                for (int q = 0; q < NVALS; q++)
                    for (int shape = 0; shape < NSHAPES; shape++)
                        compare_dual(r, shape, vals[p], vals[q], 0);
            }
        }
    }
}

/* nb_rev_input and nb_grad are inline too on a reverse level 1 on top: the same handles, tape
 * counts and gradients as the library's nb__rev_input and nb__grad, in every case around them. */
Test(fast_tier, inputs_and_gradients_agree_with_the_library) {
    nb_ctx *c[2] = {NULL, NULL};
    nb_var x[2][3], y[2];
    double g[2][8];
    nb_tape_info info[2];
    nb_status st[2];
    for (int f = 0; f < 2; f++) {
        nb_ctx *k = NULL;
        cr_assert_eq(nb_ctx_new(&k, NULL), NB_OK);
        c[f] = k;
        cr_assert_eq(nb_push(k, NB_REVERSE), NB_OK);
        cr_assert_eq(nb_reserve(k, 32, 32), NB_OK);
        for (int i = 0; i < 3; i++) {
            if (f) cr_assert(nb__hot_of(k)->top && nb__hot_of(k)->n < nb__hot_of(k)->ncap);
            x[f][i] = f ? nb_rev_input(k, nb_const(1.5 + i)) : nb__rev_input(k, nb_const(1.5 + i));
        }
        /* before any sweep, then after */
        g[f][0] = nb_value(f ? nb_grad(k, x[f][0]) : nb__grad(k, x[f][0]));
        y[f] = nb_mul(k, nb_sin(k, x[f][0]), nb_add(k, x[f][1], nb_const(2)));
        cr_assert_eq(nb_backward(k, y[f]), NB_OK);
        for (int i = 0; i < 3; i++)
            g[f][1 + i] = nb_value(f ? nb_grad(k, x[f][i]) : nb__grad(k, x[f][i]));
        g[f][4] = nb_value(f ? nb_grad(k, y[f]) : nb__grad(k, y[f]));          /* a consumed non-leaf */
        g[f][5] = nb_value(f ? nb_grad(k, nb_const(3)) : nb__grad(k, nb_const(3))); /* a constant */
        /* a forward level on top: level 1's handles go to the library, which says NB_E_LEVEL */
        cr_assert_eq(nb_push(k, NB_FORWARD), NB_OK);
        g[f][6] = nb_value(f ? nb_grad(k, x[f][0]) : nb__grad(k, x[f][0]));
        nb_var in2 = f ? nb_rev_input(k, nb_const(1)) : nb__rev_input(k, nb_const(1));
        cr_expect(nb_is_const(in2) && isnan(nb_value(in2)));
        cr_expect_eq(nb_ctx_clear_error(k), NB_E_LEVEL);
        cr_assert_eq(nb_pop(k), NB_OK);
        /* after a reset, an old handle is stale */
        cr_assert_eq(nb_tape_info_get(k, 1, &info[f]), NB_OK);
        cr_assert_eq(nb_reset(k), NB_OK);
        g[f][7] = nb_value(f ? nb_grad(k, x[f][2]) : nb__grad(k, x[f][2]));
        st[f] = nb_ctx_clear_error(k);
    }
    for (int i = 0; i < 3; i++)
        cr_expect(x[0][i].idx == x[1][i].idx && nb_var_depth(x[0][i]) == nb_var_depth(x[1][i]) &&
                  x[0][i].v == x[1][i].v);
    cr_expect(info[0].statements == info[1].statements && info[0].leaves == info[1].leaves &&
              info[0].operands == info[1].operands && info[0].ops == info[1].ops);
    cr_expect_eq(info[1].leaves, 3u);
    for (int i = 0; i < 8; i++) cr_expect(same(g[0][i], g[1][i]), "gradient %d: %a vs %a", i, g[0][i], g[1][i]);
    cr_expect(g[1][1] == cos(1.5) * 4.5 && g[1][2] == sin(1.5) && g[1][3] == 0);
    cr_expect(g[1][0] == 0 && g[1][5] == 0 && isnan(g[1][6]) && isnan(g[1][7]));
    cr_expect_eq(st[0], NB_E_STALE);
    cr_expect_eq(st[1], NB_E_STALE);
    nb_ctx_free(c[0]);
    nb_ctx_free(c[1]);
}

/* An op on literal constants gives the value the library computes at run time (as on a handle of
 * the same value): GCC folded tanh(0.5683335870197508) and others with its own correctly rounded
 * arithmetic, one ulp from glibc's (a review); the inline ops now hide constants from it. Each
 * literal is written out so that the compiler could fold it; the handle's value comes from a
 * volatile, so it cannot. */
Test(fast_tier, literal_constants_are_not_folded_by_the_compiler) {
    nb_ctx *c = NULL;
    cr_assert_eq(nb_ctx_new(&c, NULL), NB_OK);
    volatile double v = 0.5683335870197508;
    const double x = v;
    cr_assert_eq(nb_push(c, NB_FORWARD), NB_OK);
    const nb_var h = nb_fwd_input(c, nb_const(x), nb_const(1));
    struct {
        const char *name;
        double lit, run;
    } r[] = {
        {"tanh", nb_value(nb_tanh(c, nb_const(0.5683335870197508))), nb_value(nb_tanh(c, h))},
        {"sinh", nb_value(nb_sinh(c, nb_const(0.5683335870197508))), nb_value(nb_sinh(c, h))},
        {"cosh", nb_value(nb_cosh(c, nb_const(0.5683335870197508))), nb_value(nb_cosh(c, h))},
        {"cbrt", nb_value(nb_cbrt(c, nb_const(0.5683335870197508))), nb_value(nb_cbrt(c, h))},
        {"erf", nb_value(nb_erf(c, nb_const(0.5683335870197508))), nb_value(nb_erf(c, h))},
        {"erfc", nb_value(nb_erfc(c, nb_const(0.5683335870197508))), nb_value(nb_erfc(c, h))},
        {"tgamma", nb_value(nb_tgamma(c, nb_const(0.5683335870197508))), nb_value(nb_tgamma(c, h))},
        {"expm1", nb_value(nb_expm1(c, nb_const(0.5683335870197508))), nb_value(nb_expm1(c, h))},
        {"log1p", nb_value(nb_log1p(c, nb_const(0.5683335870197508))), nb_value(nb_log1p(c, h))},
        {"asinh", nb_value(nb_asinh(c, nb_const(0.5683335870197508))), nb_value(nb_asinh(c, h))},
        {"atanh", nb_value(nb_atanh(c, nb_const(0.5683335870197508))), nb_value(nb_atanh(c, h))},
        {"pow", nb_value(nb_pow(c, nb_const(0.5683335870197508), nb_const(2.5))),
         nb_value(nb_pow(c, h, nb_const(2.5)))},
    };
    for (size_t i = 0; i < sizeof r / sizeof *r; i++)
        cr_expect(r[i].lit == r[i].run, "%s: %a on the literal, %a on the handle", r[i].name,
                  r[i].lit, r[i].run);
    nb_ctx_free(c);
}
