/* taylor.c - Taylor levels: every value carries the coefficients w_0 .. w_K of its series in one
 * direction t, so one pass gives all derivatives up to order K (d^k/dt^k = k! w_k).
 *
 * Coefficients are handles of the levels below (constants at depth 1), so a Taylor level nests
 * like the others. The ops with standard recurrences (Griewank & Walther, "Evaluating
 * Derivatives", 2nd ed., ch. 13) have them here: add, sub, neg, mul, div, exp, expm1, log, log1p,
 * log2, log10, sin/cos and sinh/cosh as pairs, tan (the pair, then division), tanh (from
 * tanh' = 1 - tanh^2, its rule at order 0), sqrt, cbrt, pow, powi, tgamma (w' = w psi(u) u').
 * Every other op goes through its registry rule f'(u), evaluated as a series one order shorter,
 * and
 *     w_k = (1/k) sum_{j=1..k} j u_j f'(u)_{k-j}
 * (two operands: the same with both partials). A rule that mentions the op's own result R is
 * evaluated once per order, with R's series known up to that order - "coefficient by
 * coefficient" - since R's series is what is being computed: O(K^3), so only hypot and cbrt at
 * +-inf do (tgamma's R psi(x) re-ran digamma's O(K^3) series at every order).
 *
 * Where a recurrence divides by the zeroth coefficient (log, sqrt, div at 0) an exactly zero
 * numerator gives 0 (the strong-zero policy of first order, carried to every order) and anything
 * else +-inf or NaN as IEEE division gives: sqrt at 0 has w_1 = +inf, sqrt(t^2) has w_1 = 0 and
 * w_2 = +inf, as nested forward levels give. Non-negative integer powers are products of series
 * (exact at 0: x^3 gives 0, 0, 0, 6, 0, ...), negative ones the power recurrence. A non-integer
 * power of a zero base goes through pow's rule. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "nabla/taylor.h"

_Static_assert(NB_PARAM_HEADROOM >= NB_TAYLOR_MAX_ORDER + NB_MAX_DEPTH,
               "powi and psi_n must take every derivative the library can take");

static size_t kp1(const nb_level *L) { return (size_t)L->order + 1; }

/* The coefficients of node i (recomputed after anything that may create nodes at L). */
static nb_var *W(const nb_level *L, size_t i) { return L->coef + i * kp1(L); }

/* Coefficient k of x at L: stored when L owns x, else x for k = 0 and 0 above. */
static nb_var J(const nb_level *L, nb_var x, int k) {
    if (x.tag == L->tag) return W(L, x.idx)[k];
    return k == 0 ? x : nb_const(0);
}

/* ---- coefficient arithmetic at the levels below; structural zeros are skipped ---- */

/* Each has a path for constants (depth 1, where nearly all the work is) that computes what the
 * op's constant fold computes, without a call into the op (the library is built without forcing
 * the inline ops in), and keeps the handle path out of line so that the constant one stays
 * inline in the recurrences' loops (with the handle path inline, a pass of order 100 was 5%
 * slower). */
#if defined(__GNUC__) || defined(__clang__)
#define COLD static __attribute__((noinline))
#else
#define COLD static
#endif
COLD nb_var cadd_h(nb_ctx *c, nb_var a, nb_var b) {
    if (nb__szero(a)) return b;
    if (nb__szero(b)) return a;
    return nb_add(c, a, b);
}
static inline nb_var cadd(nb_ctx *c, nb_var a, nb_var b) {
    if ((a.tag | b.tag) == 0) return a.v == 0 ? b : b.v == 0 ? a : nb_const(a.v + b.v);
    return cadd_h(c, a, b);
}
COLD nb_var csub_h(nb_ctx *c, nb_var a, nb_var b) {
    if (nb__szero(b)) return a;
    if (nb__szero(a)) return nb_neg(c, b);
    return nb_sub(c, a, b);
}
static inline nb_var csub(nb_ctx *c, nb_var a, nb_var b) {
    if ((a.tag | b.tag) == 0) return b.v == 0 ? a : nb_const(a.v == 0 ? -b.v : a.v - b.v);
    return csub_h(c, a, b);
}
/* A product of coefficients. At depth 1 a zero coefficient is a constant, skipped; at depth >= 2
 * it may be a live handle whose value is 0, and its product must have the value the skip gives
 * at depth 1 - 0 even against inf or NaN - or the same derivative would have another value
 * when an outer level also differentiates it (sqrt(x^2) at 0: 0 over a constant base, NaN over
 * a reverse level): the strong-zero product, whose own partials carry the outer tangents. */
COLD nb_var cmul_h(nb_ctx *c, nb_var a, nb_var b) {
    if (nb__szero(a) || nb__szero(b)) return nb_const(0);
    if (a.v == 0 || b.v == 0) return nb_smul(c, a, b);
    return nb_mul(c, a, b);
}
static inline nb_var cmul(nb_ctx *c, nb_var a, nb_var b) {
    if ((a.tag | b.tag) == 0) return nb_const(a.v == 0 || b.v == 0 ? 0.0 : a.v * b.v);
    return cmul_h(c, a, b);
}
COLD nb_var cscale_h(nb_ctx *c, double s, nb_var a) {
    if (nb__szero(a) || s == 0) return nb_const(0);
    if (s == 1) return a;
    return nb_mul(c, nb_const(s), a);
}
static inline nb_var cscale(nb_ctx *c, double s, nb_var a) {
    if (a.tag == 0) return nb_const(a.v == 0 || s == 0 ? 0.0 : s == 1 ? a.v : s * a.v);
    return cscale_h(c, s, a);
}
/* a / k: one rounding, where multiplying by a rounded 1/k would take two. */
COLD nb_var cdivk_h(nb_ctx *c, nb_var a, int k) {
    if (nb__szero(a)) return nb_const(0);
    if (k == 1) return a;
    return nb_div(c, a, nb_const((double)k));
}
static inline nb_var cdivk(nb_ctx *c, nb_var a, int k) {
    if (a.tag == 0) return nb_const(a.v == 0 ? 0.0 : k == 1 ? a.v : a.v / (double)k);
    return cdivk_h(c, a, k);
}
/* The strong-zero division of the recurrences: a zero numerator gives 0 whatever the divisor,
 * also a live one at depth >= 2 (as cmul): a times 1/b by the strong-zero product, which has
 * value 0 and the outer derivative of a / b at a = 0, da / b. */
COLD nb_var cdiv_h(nb_ctx *c, nb_var a, nb_var b) {
    if (nb__szero(a)) return nb_const(0);
    if (a.v == 0) return nb_smul(c, a, nb_div(c, nb_const(1), b));
    return nb_div(c, a, b);
}
static inline nb_var cdiv(nb_ctx *c, nb_var a, nb_var b) {
    if ((a.tag | b.tag) == 0) return nb_const(a.v == 0 ? 0.0 : a.v / b.v);
    return cdiv_h(c, a, b);
}

/* ---- nodes ---- */

/* A new node at L with coefficients all 0; its index, or 0 after recording an error. */
static size_t new_node(nb_ctx *c, nb_level *L) {
    nb_status s = nb__level_grow(c, L, 1, 0);
    if (s) {
        nb__fail(c, s);
        return 0;
    }
    size_t i = L->n++;
    nb_var *w = W(L, i);
    for (size_t k = 0; k < kp1(L); k++) w[k] = nb_const(0);
    return i;
}

/* The handle of node i: its zeroth coefficient alone when every higher one is a structural zero
 * (then it is a constant at this level, and the node is dropped if it is the last). */
static nb_var finish(nb_level *L, size_t i) {
    const nb_var *w = W(L, i);
    int live = 0;
    for (int k = 1; k <= L->trunc && !live; k++) live = !nb__szero(w[k]);
    if (!live) {
        nb_var r = w[0];
        if (i == L->n - 1) L->n--;
        return r;
    }
    nb_var y = {w[0].v, (uint32_t)i, L->tag};
    return y;
}

/* A new node at L holding node src's coefficients 0 .. T (R, while a rule is evaluated). The
 * new node may move L's storage, so src is an index, not a pointer. */
static nb_var node_from(nb_ctx *c, nb_level *L, size_t src, int T) {
    size_t i = new_node(c, L);
    if (!i) return nb_const((double)NAN);
    for (int k = 0; k <= T; k++) W(L, i)[k] = W(L, src)[k];
    nb_var y = {W(L, i)[0].v, (uint32_t)i, L->tag};
    return y;
}

/* ---- the recurrences; each fills W(L, i)[1 .. T] (w_0 is set by the caller) ---- */

static void jet_mul(nb_ctx *c, nb_level *L, nb_var u, nb_var v, nb_var *w, int T, int strong) {
    for (int k = 1; k <= T; k++) {
        nb_var s = nb_const(0);
        for (int j = 0; j <= k; j++) {
            nb_var a = J(L, u, j), b = J(L, v, k - j);
            if (nb__szero(a) || nb__szero(b)) continue;
            s = cadd(c, s, strong ? nb_smul(c, a, b) : cmul(c, a, b));
        }
        w[k] = s;
    }
}

/* w = u / v: w_k = (u_k - sum_{j<k} w_j v_{k-j}) / v_0 */
static void jet_div(nb_ctx *c, nb_level *L, nb_var u, nb_var v, nb_var *w, int T) {
    nb_var v0 = J(L, v, 0);
    for (int k = 1; k <= T; k++) {
        nb_var s = nb_const(0);
        for (int j = 0; j < k; j++) s = cadd(c, s, cmul(c, w[j], J(L, v, k - j)));
        w[k] = cdiv(c, csub(c, J(L, u, k), s), v0);
    }
}

/* w = exp(u) (shift = 0) or expm1(u) (shift = 1, w_0 = expm1 u_0): w_k = (1/k) sum j u_j e_{k-j}
 * with e the series of exp(u) */
static void jet_exp(nb_ctx *c, nb_level *L, nb_var u, nb_var *w, int T, int shift) {
    /* e_0 = exp(u_0) itself for expm1: expm1(u_0) + 1 cancels where expm1 is near -1 */
    const nb_var e0 = shift && T >= 1 ? nb_exp(c, J(L, u, 0)) : w[0];
    for (int k = 1; k <= T; k++) {
        nb_var s = nb_const(0);
        for (int j = 1; j < k; j++) s = cadd(c, s, cscale(c, (double)j, cmul(c, J(L, u, j), w[k - j])));
        s = cadd(c, s, cscale(c, (double)k, cmul(c, J(L, u, k), e0))); /* j = k: e_0 */
        w[k] = cdivk(c, s, k);
    }
}

/* w = log(a) with a = u (+ 1 for log1p): w_k = (a_k - (1/k) sum_{j=1..k-1} j w_j a_{k-j}) / a_0 */
static void jet_log(nb_ctx *c, nb_level *L, nb_var u, nb_var *w, int T, int plus1) {
    nb_var a0 = plus1 ? nb_add(c, nb_const(1), J(L, u, 0)) : J(L, u, 0);
    if (nb_value(a0) == 0) a0 = nb_add(c, a0, nb_const(0)); /* -0 as +0, as the rule does */
    for (int k = 1; k <= T; k++) {
        nb_var s = nb_const(0);
        for (int j = 1; j < k; j++) s = cadd(c, s, cscale(c, (double)j, cmul(c, w[j], J(L, u, k - j))));
        w[k] = cdiv(c, csub(c, J(L, u, k), cdivk(c, s, k)), a0);
    }
}

/* The pair s = sin(u), co = cos(u) (hyp: sinh, cosh):
 * s_k = (1/k) sum j u_j co_{k-j},  co_k = -+(1/k) sum j u_j s_{k-j} */
static void jet_sincos(nb_ctx *c, nb_level *L, nb_var u, nb_var *s, nb_var *co, int T, int hyp) {
    nb_var u0 = J(L, u, 0);
    s[0] = hyp ? nb_sinh(c, u0) : nb_sin(c, u0);
    co[0] = hyp ? nb_cosh(c, u0) : nb_cos(c, u0);
    for (int k = 1; k <= T; k++) {
        nb_var a = nb_const(0), b = nb_const(0);
        for (int j = 1; j <= k; j++) {
            nb_var uj = J(L, u, j);
            if (nb__szero(uj)) continue;
            a = cadd(c, a, cscale(c, (double)j, cmul(c, uj, co[k - j])));
            b = cadd(c, b, cscale(c, (double)j, cmul(c, uj, s[k - j])));
        }
        s[k] = cdivk(c, a, k);
        co[k] = cdivk(c, hyp ? b : csub(c, nb_const(0), b), k);
    }
}

/* w = s / co for series in arrays (tan, tanh) */
static void jet_div_arrays(nb_ctx *c, const nb_var *s, const nb_var *co, nb_var *w, int T) {
    for (int k = 1; k <= T; k++) {
        nb_var acc = nb_const(0);
        for (int j = 0; j < k; j++) acc = cadd(c, acc, cmul(c, w[j], co[k - j]));
        w[k] = cdiv(c, csub(c, s[k], acc), co[0]);
    }
}

/* w = tanh(u) from w' = v u' with v = 1 - w^2: w_k = (1/k) sum_{j=1..k} j u_j v_{k-j}, v_0 from
 * tanh's rule (1/cosh^2 where 1 - w_0^2 would cancel) and v_m = -sum_{j=0..m} w_j w_{m-j}. The
 * pair-and-divide of tan would compute (cosh - tanh sinh) / cosh here, which cancels: a relative
 * error of 1e-6 in w_1 at u = 12 (found by nb_check_modes). */
static void jet_tanh(nb_ctx *c, nb_level *L, nb_var u, nb_var *w, nb_var *v, int T) {
    v[0] = nb__rule(c, NB_OP_tanh, 0, J(L, u, 0), nb_const(0), w[0], 0);
    for (int k = 1; k <= T; k++) {
        nb_var a = nb_const(0);
        for (int j = 1; j <= k; j++) {
            nb_var uj = J(L, u, j);
            if (nb__szero(uj)) continue;
            a = cadd(c, a, cscale(c, (double)j, cmul(c, uj, v[k - j])));
        }
        w[k] = cdivk(c, a, k);
        if (k == T) break;
        nb_var b = nb_const(0);
        for (int j = 0; j <= k; j++) b = cadd(c, b, cmul(c, w[j], w[k - j]));
        v[k] = csub(c, nb_const(0), b);
    }
}

/* w = sqrt(u): w_k = (u_k - sum_{j=1..k-1} w_j w_{k-j}) / (2 w_0) */
static void jet_sqrt(nb_ctx *c, nb_level *L, nb_var u, nb_var *w, int T) {
    nb_var two_w0 = cscale(c, 2, w[0]);
    if (nb__szero(w[0])) two_w0 = nb_const(0);
    for (int k = 1; k <= T; k++) {
        nb_var s = nb_const(0);
        for (int j = 1; j < k; j++) s = cadd(c, s, cmul(c, w[j], w[k - j]));
        w[k] = cdiv(c, csub(c, J(L, u, k), s), two_w0);
    }
}

/* sum_{j=1..k} (r j - (k-j)) u_j w_{k-j}, each u_j divided by u0 first when `scaled` */
static nb_var pow_const_sum(nb_ctx *c, nb_level *L, nb_var u, nb_var r, const nb_var *w, int k,
                            int scaled) {
    nb_var s = nb_const(0), u0 = J(L, u, 0);
    for (int j = 1; j <= k; j++) {
        nb_var uj = J(L, u, j);
        if (nb__szero(uj)) continue;
        if (scaled) uj = cdiv(c, uj, u0);
        nb_var coef = nb_sub(c, cscale(c, (double)j, r), nb_const((double)(k - j)));
        s = cadd(c, s, cmul(c, coef, cmul(c, uj, w[k - j])));
    }
    return s;
}

/* w = u^r for u_0 != 0 and r constant here: w_k = (1/(k u_0)) sum_{j=1..k} (r j - (k-j)) u_j w_{k-j}
 * (from u w' = r u' w) */
static void jet_pow_const(nb_ctx *c, nb_level *L, nb_var u, nb_var r, nb_var *w, int T) {
    nb_var u0 = J(L, u, 0);
    for (int k = 1; k <= T; k++) {
        /* k u0 as a product, not cscale: cscale's structural zero would turn -0 into +0 and
         * the sign of an infinite coefficient with it (x^-3 at -0) */
        w[k] = cdiv(c, pow_const_sum(c, L, u, r, w, k, 0),
                    k == 1 ? u0 : nb_mul(c, nb_const((double)k), u0));
        /* a product u_j w_{k-j} that overflowed before the division (cbrt(1e300 x) at -0.5:
         * u_1 w_0 = 1e300 * -8e99), or underflowed to 0 or a subnormal (cbrt(1e-300 x) at 1:
         * 1e-300 * 1e-100): the sum again with u_j / u0 first */
        if ((!isfinite(w[k].v) || fabs(w[k].v) < DBL_MIN) && isfinite(u0.v) && u0.v != 0 &&
            isfinite(w[k - 1].v) && w[k - 1].v != 0)
            w[k] = cdivk(c, pow_const_sum(c, L, u, r, w, k, 1), k);
    }
}

/* Cauchy product of two series in arrays, orders 0 .. T, into out (which may not alias). */
static void cauchy(nb_ctx *c, const nb_var *a, const nb_var *b, nb_var *out, int T) {
    for (int k = 0; k <= T; k++) {
        nb_var s = nb_const(0);
        for (int j = 0; j <= k; j++) s = cadd(c, s, cmul(c, a[j], b[k - j]));
        out[k] = s;
    }
}

/* Coefficients 1 .. T of node wi for a NaN value whose partials are NaN: NaN from the first order
 * at which one of the operands u[0 .. m-1] moves (a coefficient that is not a structural zero),
 * 0 below it - an operand that does not move contributes exactly nothing (the strong zero). Over
 * an enclosing level the NaN of order k is a live one: the sum over the operands' coefficients
 * of orders 0 .. k of nb__live_nan(u_ij), whose derivative along each is NaN at every order where
 * that coefficient moves (a NaN constant had derivative 0: sqrt at -1 had dc1/dp = 0 where f''
 * is NaN, a review). Over constants it is the NaN constant, as before. */
static void nan_from_first_move(nb_ctx *c, nb_level *L, size_t wi, int T, size_t m,
                                const nb_var *u) {
    int moved = 0;
    nb_var live = nb_const((double)NAN);
    for (int k = 0; k <= T; k++) {
        for (size_t i = 0; i < m; i++) {
            const nb_var uk = J(L, u[i], k);
            if (uk.tag) live = nb_add(c, live, nb__live_nan(c, uk));
            if (k && !moved) moved = !nb__szero(uk);
        }
        if (k) W(L, wi)[k] = moved ? live : nb_const(0.0);
    }
}

/* ---- the fallback: the registry rule as a series ---- */

/* 1 when the rule text mentions the op's result R as a word. */
static int rule_uses_r(const char *rule) {
    for (const char *p = rule; p && *p; p++) {
        if (*p != 'R') continue;
        int before = p > rule && (p[-1] == '_' || (p[-1] >= 'A' && p[-1] <= 'Z') ||
                                  (p[-1] >= 'a' && p[-1] <= 'z') || (p[-1] >= '0' && p[-1] <= '9'));
        char a = p[1];
        int after = a == '_' || (a >= 'A' && a <= 'Z') || (a >= 'a' && a <= 'z') || (a >= '0' && a <= '9');
        if (!before && !after) return 1;
    }
    return 0;
}

/* w_k = (1/k) sum_{j=1..k} j sum_i u_{i,j} p_{i,k-j} for k in [k0, k1], over the operands u[i]
 * this level owns, with p[i] their partials' series (handles at L or below, read with J). */
static void chain(nb_ctx *c, nb_level *L, size_t n, const nb_var *u, const nb_var *p, size_t wi,
                  int k0, int k1) {
    for (int k = k0; k <= k1; k++) {
        nb_var s = nb_const(0);
        for (int j = 1; j <= k; j++)
            for (size_t i = 0; i < n; i++)
                if (u[i].tag == L->tag)
                    s = cadd(c, s, cscale(c, (double)j, cmul(c, J(L, u[i], j), J(L, p[i], k - j))));
        s = cdivk(c, s, k);
        W(L, wi)[k] = s; /* after the loop: the ops above create no nodes at L */
    }
}

/* `no_r`: the caller knows that the branch of the rule taken here does not read R (cbrt at 0),
 * so the rule runs once, as one that does not mention R: its coefficients do not depend on the
 * truncation, and the per-order evaluation below would only repeat it (O(K^4) for cbrt at 0). */
static void fallback(nb_ctx *c, nb_level *L, nb_op op, nb_var u, nb_var v, int n, size_t wi,
                     int T, int no_r) {
    const nb_op_info *info = nb_op_get(op);
    const int ax = u.tag == L->tag, ay = info->arity == 2 && v.tag == L->tag;
    const int saved = L->trunc;
    int uses_r = !no_r && ((ax && rule_uses_r(info->rule[0])) || (ay && rule_uses_r(info->rule[1])));
    if (!uses_r) {
        /* the partials as series of order T-1, once */
        L->trunc = T - 1;
        nb_var r0 = W(L, wi)[0];
        nb_var a = ax ? nb__rule(c, op, 0, u, v, r0, n) : nb_const(0);
        nb_var b = ay ? nb__rule(c, op, 1, u, v, r0, n) : nb_const(0);
        L->trunc = saved;
        const nb_var uv[2] = {u, v}, ab[2] = {a, b};
        chain(c, L, (size_t)info->arity, uv, ab, wi, 1, T);
        return;
    }
    /* R is the series being computed: for each order k, R known to order k-1. A partial whose
     * rule does not mention R is evaluated once, to order T-1 (its coefficients do not depend on
     * the truncation): re-evaluated per order, pow's x-partial y x^(y-1) - a pow again, taking
     * this path again - made the work grow as 2^T */
    const int ra = ax && rule_uses_r(info->rule[0]), rb = ay && rule_uses_r(info->rule[1]);
    nb_var a1 = nb_const(0), b1 = nb_const(0);
    L->trunc = T - 1;
    if (ax && !ra) a1 = nb__rule(c, op, 0, u, v, W(L, wi)[0], n);
    if (ay && !rb) b1 = nb__rule(c, op, 1, u, v, W(L, wi)[0], n);
    L->trunc = saved;
    for (int k = 1; k <= T; k++) {
        L->trunc = k - 1;
        nb_var r = k == 1 ? W(L, wi)[0] : node_from(c, L, wi, k - 1);
        nb_var a = ra ? nb__rule(c, op, 0, u, v, r, n) : a1;
        nb_var b = rb ? nb__rule(c, op, 1, u, v, r, n) : b1;
        L->trunc = saved;
        const nb_var uv[2] = {u, v}, ab[2] = {a, b};
        chain(c, L, (size_t)info->arity, uv, ab, wi, k, k);
    }
}

/* cbrt(u) at u_0 = +-0 with constant coefficients, in O(T^2): the values of its rule there,
 * (1/3) u^(-2/3) with pow's rule at a zero base, whose run recurses T deep, O(T^3). Every
 * coefficient of that series e = u^(-2/3) is +-inf, NaN or 0: e_0 = 0^(-2/3) = +inf, and
 *     e_k = (1/k) sum_{j=1..k} j u_j (-2/3 u^(-5/3))_{k-j},
 * where u^(-5/3) is the same kind of series one level down, and so on. Positive factors (j, 1/k,
 * 2/3, 5/3, ...) do not change a sum of infinities, and every exponent below is negative, so
 * each level has the sign pattern of the one above negated: with s_0 = +inf,
 *     s_k = sum_{j=1..k} -(u_j s_{k-j})   (terms with u_j = 0 or s_{k-j} = 0 skipped),
 * summed as IEEE does (inf + -inf is NaN, and NaN stays), is the pattern of every level, and
 *     w_k = sum_{j=1..k} u_j s_{k-j}
 * is cbrt's: +inf, -inf, +inf, ... for u = t, 0, 0, 0, +inf, 0, 0, -inf, ... for u = t^3, as the
 * rule gives (docs/design.md). The handles of a level below take the rule itself (fallback). */
static nb_status jet_cbrt_zero(nb_ctx *c, nb_level *L, nb_var u, size_t wi, int T) {
    nb_status st = nb__scratch_reserve(c, L, kp1(L));
    if (st) return st;
    nb_var *sk = L->scratch;
    nb_var *w = W(L, wi);
    sk[0] = nb_const((double)INFINITY);
    for (int k = 1; k <= T; k++) {
        double e = 0, r = 0;
        for (int j = 1; j <= k; j++) {
            const double uj = J(L, u, j).v, sp = sk[k - j].v;
            if (uj == 0 || sp == 0) continue;
            r += uj * sp;
            e -= uj * sp;
        }
        w[k] = nb_const(r);
        sk[k] = nb_const(e);
    }
    return NB_OK;
}

/* w = tgamma(u) from w' = w psi(u) u', tgamma's rule R digamma(X): b = digamma(u) as a series of
 * order T-1, once; then, as w becomes known to order k-1, p_{k-1} = (w b)_{k-1} and
 *     w_k = (1/k) sum_{j=1..k} j u_j p_{k-j}.
 * These are the sums and products, in the same order, that the rule evaluated once per order
 * forms (so the same numbers, and the NaN and inf of the poles and of overflow), but that ran
 * digamma's O(k^3) recursion again at each order k: O(T^4) time, and the series it left on the
 * level O(T^3) memory. Now O(T^3) for digamma's series, once, and O(T^2) for the rest. */
static nb_status jet_tgamma(nb_ctx *c, nb_level *L, nb_var u, size_t wi, int T) {
    const int saved = L->trunc;
    L->trunc = T - 1;
    const nb_var b = nb_digamma(c, u);
    L->trunc = saved;
    nb_status st = nb__scratch_reserve(c, L, kp1(L));
    if (st) return st;
    nb_var *p = L->scratch; /* p_0 .. p_{T-1} */
    for (int k = 1; k <= T; k++) {
        /* p_{k-1}: at k = 1 the product of the values, as the rule of order 0 forms it */
        const int m = k - 1;
        if (m == 0) {
            p[0] = nb_mul(c, W(L, wi)[0], J(L, b, 0));
        } else {
            nb_var s = nb_const(0);
            for (int j = 0; j <= m; j++) {
                const nb_var a = W(L, wi)[j], bb = J(L, b, m - j);
                if (nb__szero(a) || nb__szero(bb)) continue;
                s = cadd(c, s, cmul(c, a, bb));
            }
            p[m] = s;
        }
        nb_var s = nb_const(0);
        for (int j = 1; j <= k; j++)
            s = cadd(c, s, cscale(c, (double)j, cmul(c, J(L, u, j), p[k - j])));
        W(L, wi)[k] = cdivk(c, s, k);
    }
    return NB_OK;
}

/* ---- dispatch ---- */

/* u^n for an integer n by binary powering of series (exact at u_0 = 0); w[0] already set. */
static nb_status jet_powi(nb_ctx *c, nb_level *L, nb_var u, int n, size_t wi, int T) {
    if (n < 0) {
        /* the power recurrence u w' = n u' w (jet_pow_const), not 1 / u^|n|: inverting a series
         * whose zeroth coefficient is 0 or whose first overflows gave a slope of 0 or inf where
         * the true one is -inf or finite (x^-2 at 0, (1e300 x)^-5 at 1e-298) */
        jet_pow_const(c, L, u, nb_const((double)n), W(L, wi), T);
        return NB_OK;
    }
    size_t K1 = kp1(L);
    nb_status s = nb__scratch_reserve(c, L, 3 * K1);
    if (s) return s;
    nb_var *base = L->scratch, *acc = base + K1, *tmp = acc + K1;
    for (int k = 0; k <= T; k++) {
        base[k] = J(L, u, k);
        acc[k] = nb_const(k == 0 ? 1.0 : 0.0);
    }
    unsigned m = (unsigned)n;
    while (m) {
        if (m & 1u) {
            cauchy(c, acc, base, tmp, T);
            memcpy(acc, tmp, (size_t)(T + 1) * sizeof *acc);
        }
        m >>= 1;
        if (m) {
            cauchy(c, base, base, tmp, T);
            memcpy(base, tmp, (size_t)(T + 1) * sizeof *base);
        }
    }
    nb_var *w = W(L, wi);
    for (int k = 1; k <= T; k++) w[k] = acc[k];
    return NB_OK;
}

/* The binary exponent of x; 0 for 0, inf and NaN, which no power of 2 brings into range. */
static int expo2(double x) { return isfinite(x) && x != 0 ? ilogb(x) : 0; }

/* The binary exponent E of jet_bessel's scale s = 2^E for u's coefficients 1 .. T:
 * max_m floor(log2|u_m| / m), within +-1000 so that 2^-E and its products are exact; then within
 * what keeps the powers of every coefficient that matters in range: a product at order <= T has
 * at most T/m factors u_m / s, so |el_m - E| T/m <= 1000 (el_m the binary exponent of u_m). A u_m
 * matters unless the lower coefficients' powers outweigh it at its order (el_m below el_j m/j -
 * 60 for some j < m: 1.3 + 100 t + 1e-30 t^2 is a line, whose scale 1e-30 would have undone, a
 * third review). Along a line that is E within 1000/T of log2|u_1|. Where no E meets them all
 * (1e-200 t + 1e300 t^2: one s set by the largest made u_1/s underflow, so c1 = c3 = 0, a second
 * review), E = 0: the unscaled sums, exact where their own products stay in range. Last, as far
 * as the powers that matter allow, no u_m / s itself, outweighed or not, below the normal range:
 * where the g_k vanish (u0 = 0) an outweighed u_m can be all an order has (J5(2^200 t + 1e-271
 * t^2) has c6 = 5 a^4 b / 3840 alone, which became 0: a fourth review). */
static int bessel_scale(const nb_level *L, nb_var u, int T) {
    int ej[NB_TAYLOR_MAX_ORDER + 1], mj[NB_TAYLOR_MAX_ORDER + 1], nj = 0, E = 0;
    double lo = -1e9, hi = 1e9;
    for (int m = 1; m <= T; m++) {
        const double um = J(L, u, m).v;
        if (!isfinite(um) || um == 0) continue;
        const int el = ilogb(um), q = el >= 0 ? el / m : -((m - 1 - el) / m);
        if (!nj || q > E) E = q;
        double top = -1e9; /* max over j < m of el_j m / j */
        for (int i = 0; i < nj; i++) top = fmax(top, (double)ej[i] * m / mj[i]);
        ej[nj] = el, mj[nj++] = m;
        if (el < top - 60) continue; /* outweighed */
        const double room = 1000.0 * m / T;
        if (el - room > lo) lo = el - room;
        if (el + room < hi) hi = el + room;
    }
    if (!nj) return 0;
    E = E > 1000 ? 1000 : E < -1000 ? -1000 : E;
    if (lo > hi) E = 0;
    else if (E < lo) E = (int)ceil(lo);
    else if (E > hi) E = (int)floor(hi);
    for (int i = 0; i < nj; i++)
        if (E > ej[i] + 1021) E = ej[i] + 1021;
    if (lo <= hi && E < lo) E = (int)ceil(lo); /* the powers that matter come first */
    return E;
}

/* Bessel J_n(u) for an integer n, and Y_0, Y_1, by composition, O(T^3) where the registry's
 * rules (J_n' = (J_{n-1} - J_{n+1}) / 2; Y0' = -Y1, Y1' = Y0 - Y1/x) would branch into 2^T series.
 * For every cylinder function C the k-th derivative at u0 is 2^-k sum_j (-1)^j C(k,j)
 * C_{n-k+2j}(u0) (DLMF 10.6.7), so its Taylor coefficients about u0 are g_k = sum_j (-1)^j
 * C_{n-k+2j}(u0) / (2^k j! (k-j)!), and w = sum_k g_k d^k with d = u - u0. The values C_m(u0) are
 * ops at the levels below: J_m directly (an order beyond the function's range gives NaN there, as
 * the rule would), Y_m from Y_0 and Y_1 by the forward recurrence Y_{m+1} = (2m/x) Y_m - Y_{m-1}
 * (stable: Y grows with m) and Y_{-m} = (-1)^m Y_m. w_0 is the primal, already set.
 *
 * Scaled by a power of 2, s = 2^E with E about max_m log2|u_m| / m (|u_1| along a line), as
 * w = sum_k (g_k s^k) (d/s)^k: along a long direction d^k overflows (100^k past k = 154) and
 * g_k underflows (2^-k / k! at k = 154 is subnormal, and 1/j! past j = 170), and the strong-zero
 * product made 0 * inf a silent 0 - J_0 along 100 had coefficient 156 inf and 200 0 where they
 * are 2.3e34 and 1.9e23. Both factors stay near the size of the coefficients themselves. The
 * constant factors of g_k s^k are carried as mantissa and exponent (1/j! = fm_j 2^fe_j), and so
 * are the Y_m, which pass DBL_MAX at m = 159 for u0 = 1.3 (Y_m 2^eB), and each term is put
 * together by one ldexp. Scaling by a power of 2 is exact, so where the unscaled products were
 * normal numbers the result is bit for bit what it was. */
static nb_status jet_bessel(nb_ctx *c, nb_level *L, nb_var u, int y, int n, size_t wi, int T) {
    const size_t K1 = kp1(L);
    nb_status s = nb__scratch_reserve(c, L, 3 * K1 + 2 * (size_t)T + 1 + (y ? (size_t)T + 2 : 0));
    if (s) return s;
    /* B[i] 2^eB[i] = C_{n-T+i}(u0) */
    nb_var *d = L->scratch, *pw = d + K1, *tmp = pw + K1, *B = tmp + K1;
    int eB[2 * NB_TAYLOR_MAX_ORDER + 1];
    const nb_var u0 = J(L, u, 0);
    if (!y) {
        for (int i = 0; i <= 2 * T; i++) {
            B[i] = nb_bessel_jn(c, u0, n - T + i);
            eB[i] = 0;
        }
    } else {
        nb_var *Y = B + 2 * T + 1; /* Y[m] 2^eY[m] = Y_m(u0), m = 0 .. T+1 */
        int eY[NB_TAYLOR_MAX_ORDER + 2];
        Y[0] = nb_bessel_y0(c, u0);
        Y[1] = nb_bessel_y1(c, u0);
        eY[0] = eY[1] = 0;
        nb_var a = Y[0], b = Y[1]; /* (Y_{m-1}, Y_m) 2^-e */
        int e = 0;
        for (int m = 1; m <= T; m++) {
            const nb_var r = nb_div(c, nb_const(2.0 * m), u0);
            const int eb = expo2(b.v);
            if (eb > 0 && eb + expo2(r.v) > 960) { /* r b would near overflow: b to about 1 */
                a = cscale(c, ldexp(1.0, -eb), a);
                b = cscale(c, ldexp(1.0, -eb), b);
                e += eb;
            }
            const nb_var next = nb_sub(c, nb_mul(c, r, b), a);
            Y[m + 1] = next;
            eY[m + 1] = e;
            a = b;
            b = next;
        }
        for (int i = 0; i <= 2 * T; i++) {
            int m = n - T + i, am = m < 0 ? -m : m;
            B[i] = m < 0 && am % 2 ? nb_neg(c, Y[am]) : Y[am];
            eB[i] = eY[am];
        }
    }
    const int E = bessel_scale(L, u, T);
    /* d = (u - u0) / s, and pw = d^k from d^1 = d */
    const double inv_s = ldexp(1.0, -E);
    for (int m = 0; m <= T; m++) pw[m] = d[m] = m == 0 ? nb_const(0) : cscale(c, inv_s, J(L, u, m));
    nb_var *w = W(L, wi);
    for (int m = 1; m <= T; m++) w[m] = nb_const(0);
    double fm[NB_TAYLOR_MAX_ORDER + 1]; /* 1 / j! = fm[j] 2^fe[j], fm[j] in [0.5, 1) */
    int fe[NB_TAYLOR_MAX_ORDER + 1];
    fm[0] = 0.5;
    fe[0] = 1;
    for (int j = 1; j <= T; j++) {
        int ej;
        fm[j] = frexp(fm[j - 1] / j, &ej);
        fe[j] = fe[j - 1] + ej;
    }
    for (int k = 1; k <= T; k++) {
        if (k > 1) { /* pw = pw * d, truncated at T */
            cauchy(c, pw, d, tmp, T);
            memcpy(pw, tmp, K1 * sizeof *pw);
        }
        int any = 0;
        for (int m = k; m <= T && !any; m++) any = !nb__szero(pw[m]);
        if (!any) continue; /* d^k contributes nothing (d = 0) */
        /* g = g_k s^k 2^-G, G > 0 only where a term would pass 2^900: then the sum is not
         * inf - inf = NaN, and w_m is +-inf only if g_k s^k (d/s)^k_m overflows itself */
        int G = 0;
        for (int j = 0; j <= k; j++) {
            const int i = T - k + 2 * j, et = fe[j] + fe[k - j] - k + E * k + eB[i] + expo2(B[i].v);
            if (et - 900 > G) G = et - 900;
        }
        nb_var g = nb_const(0);
        for (int j = 0; j <= k; j++) {
            const int i = T - k + 2 * j;
            const double mant = fm[j] * fm[k - j];
            int ex = fe[j] + fe[k - j] - k + E * k + eB[i] - G;
            nb_var b = B[i];
            if (ex > 1000 || ex < -1000) { /* a very small or large B: B to about 1 first */
                int eb = expo2(b.v);
                eb = eb > 1000 ? 1000 : eb < -1000 ? -1000 : eb;
                b = cscale(c, ldexp(1.0, -eb), b);
                ex += eb;
            }
            g = cadd(c, g, cscale(c, ldexp(j % 2 ? -mant : mant, ex), b));
        }
        w = W(L, wi);
        for (int m = k; m <= T; m++) {
            nb_var t = cmul(c, g, pw[m]);
            for (int left = G; left > 0; left -= 1000) t = cscale(c, ldexp(1.0, left < 1000 ? left : 1000), t);
            w[m] = cadd(c, w[m], t);
        }
    }
    return NB_OK;
}

static nb_var taylor_op(nb_ctx *c, nb_level *L, nb_op op, nb_var x, nb_var y, int n);

/* One op on a Taylor level counts one op there (nb_op_count), as on every level: the ops its
 * rule or its pow path run on this level are its own work, not the user's. */
nb_var nb__taylor_op(nb_ctx *c, nb_level *L, nb_op op, nb_var x, nb_var y, int n) {
    const size_t ops0 = L->ops;
    const uint32_t tag = L->tag;
    const nb_var r = taylor_op(c, L, op, x, y, n);
    if (L->tag == tag) L->ops = ops0 + 1; /* (not if a rule replaced the level: NB_E_LEVEL) */
    return r;
}

/* 1 when a^n (n >= 3) is exactly r: the products of a chain of multiplications are exact (fma),
 * so a^n is representable and pow, which powi calls, returns it - up to a^64; a power of two to
 * any power that is a nonzero double (0.5^3 = 0.125, 2^-1074). */
static int powi_exact(double a, int n, double r) {
    int e;
    if (fabs(frexp(a, &e)) == 0.5) return r != 0;
    if (n < 3 || n > 64) return 0;
    double p = a;
    for (int i = 1; i < n; i++) {
        const double q = p * a;
        if (!isfinite(q) || fma(p, a, -q) != 0) return 0;
        p = q;
    }
    return p == r;
}

/* 1 when r is op(a, b) (with parameter n) exactly, for the ops whose rounding error can be told
 * (Knuth's TwoSum, and fma for products, quotients, square roots and integer powers); 1 also for
 * an integer result of integer operands (below 2^53: cos(0), exp(0), log2(8), tgamma(4), pow's
 * integer exponents), which are most likely exact; 0 for any other (most of which round). An
 * integer from other operands is a rounding like any other: cos(1e-8) = 1, whose error (1 - cos x)
 * / x^2 divides by x^2. */
static int exact(nb_op op, double a, double b, int n, double r) {
    switch (op) {
    case NB_OP_neg:
    case NB_OP_abs:
    case NB_OP_sign:
    case NB_OP_min:
    case NB_OP_max:
    case NB_OP_stop_gradient:
        return 1;
    case NB_OP_sub:
        b = -b;
        /* fall through */
    case NB_OP_add: {
        const double a1 = r - b, b1 = r - a1;
        return (a - a1) + (b - b1) == 0;
    }
    case NB_OP_mul:
    case NB_OP_smul:
        if (fma(a, b, -r) == 0) return 1;
        break;
    case NB_OP_div:
        return fma(r, b, -a) == 0;
    case NB_OP_sqrt:
        return fma(r, r, -a) == 0;
    case NB_OP_powi:
        if (n == 0 || n == 1 || (n == 2 && fma(a, a, -r) == 0) ||
            (n == -1 && fma(r, a, -1) == 0) || powi_exact(a, n, r))
            return 1;
        break;
    default:
        break;
    }
    const double big = 0x1p53;
    return fabs(r) < big && r == nearbyint(r) && fabs(a) < big && a == nearbyint(a) &&
           fabs(b) < big && b == nearbyint(b);
}

/* v moved by one ulp up or down at random (L's jitter, a linear congruential generator), as a
 * rounding might have left it: for the rounding estimate's second pass (nb_taylor_derivatives_err).
 * 0, infinities and NaN stay: moving them would change the function (a branch of f); so do
 * results that exact() finds exact (ties of min and max, pow's integer exponents). */
static double jitter(nb_level *L, double v) {
    if (v == 0 || !isfinite(v)) return v;
    L->jitter = L->jitter * 6364136223846793005ull + 1442695040888963407ull;
    return nextafter(v, L->jitter >> 63 ? (double)INFINITY : -(double)INFINITY);
}

static nb_var taylor_op(nb_ctx *c, nb_level *L, nb_op op, nb_var x, nb_var y, int n) {
    const int T = L->trunc;
    const nb_var u0 = J(L, x, 0), v0 = J(L, y, 0);
    /* the primal, exactly as the op computes it at the levels below (moved by an ulp in the
     * rounding estimate's second pass, when it is a double) */
    nb_var w0 = nb_apply(c, op, u0, v0, n);
    if (L->jitter && w0.tag == 0 && !exact(op, u0.v, v0.v, n, w0.v)) w0.v = jitter(L, w0.v);
    if (T <= 0) return w0; /* a rule's series of order 0 is its value */
    /* pow with an exponent that moves along t: exp(y log x) with the exact primal, for a
     * positive base; at a zero or negative base pow's own rule (log x is not real there). An
     * exponent that is an input of this level but does not move (a series with only its
     * zeroth coefficient, as a bound name with direction 0) is a constant exponent. */
    int y_moves = 0;
    if (op == NB_OP_pow && y.tag == L->tag)
        for (int k = 1; k <= T && !y_moves; k++) y_moves = !nb__szero(J(L, y, k));
    /* (only where x^y is a normal number: from an underflowed w0 = 0 every coefficient of exp
     * would be 0, and a subnormal one has lost digits; pow's rule does not divide by it; only
     * for a finite base: inf^0 = 1 is normal, but log(inf) times y's zero coefficient is NaN;
     * and only for a normal base: log's recurrence divides by it, and x_1 / x_0 overflows for a
     * subnormal x_0 - x^x at 1e-310 had slope +inf where it is x^x (log x + 1) = -712.8) */
    if (op == NB_OP_pow && y_moves && isnormal(u0.v) && u0.v > 0 && isfinite(u0.v) &&
        isnormal(w0.v)) {
        nb_var r = nb_exp(c, nb_mul(c, y, nb_log(c, x)));
        if (r.tag != L->tag) return w0;
        W(L, r.idx)[0] = w0;
        r.v = w0.v;
        return r;
    }
    size_t wi = new_node(c, L);
    if (!wi) return nb_const((double)NAN);
    W(L, wi)[0] = w0;
    nb_status s = NB_OK;
    /* (not for add, sub, neg, mul, smul and div: inf - inf, inf * 0, 0 / 0 or inf / inf is NaN,
     * but their recurrences are the same sums, products and quotients of coefficients that
     * forward mode forms, so they keep its numbers: sub(inf, x) along x has slope -1 there, x / 0
     * at 0 along x has slope inf) */
    const int exact_ops = op == NB_OP_add || op == NB_OP_sub || op == NB_OP_neg ||
                          op == NB_OP_mul || op == NB_OP_smul || op == NB_OP_div;
    if (isnan(w0.v) && !isnan(u0.v) && !isnan(v0.v) && !exact_ops) {
        /* a domain error (log(-1), sqrt(-1)): NaN at every order from the first at which an
         * operand moves, as the rules say at first order, whatever a recurrence would make of
         * it; below that order 0, since an operand that does not move contributes exactly
         * nothing (the strong zero: sqrt(-1) + y along y has slope 1, as in the other modes) */
        const nb_var xy[2] = {x, y};
        nan_from_first_move(c, L, wi, T, 2, xy);
        return finish(L, wi);
    }
    switch (op) {
    case NB_OP_add:
        for (int k = 1; k <= T; k++) W(L, wi)[k] = cadd(c, J(L, x, k), J(L, y, k));
        break;
    case NB_OP_sub:
        for (int k = 1; k <= T; k++) W(L, wi)[k] = csub(c, J(L, x, k), J(L, y, k));
        break;
    case NB_OP_neg:
        for (int k = 1; k <= T; k++) W(L, wi)[k] = csub(c, nb_const(0), J(L, x, k));
        break;
    case NB_OP_mul: jet_mul(c, L, x, y, W(L, wi), T, 0); break;
    case NB_OP_smul: jet_mul(c, L, x, y, W(L, wi), T, 1); break;
    case NB_OP_div: jet_div(c, L, x, y, W(L, wi), T); break;
    case NB_OP_exp: jet_exp(c, L, x, W(L, wi), T, 0); break;
    case NB_OP_expm1: jet_exp(c, L, x, W(L, wi), T, 1); break;
    case NB_OP_log: jet_log(c, L, x, W(L, wi), T, 0); break;
    case NB_OP_log1p: jet_log(c, L, x, W(L, wi), T, 1); break;
    case NB_OP_log2:
    case NB_OP_log10: {
        jet_log(c, L, x, W(L, wi), T, 0);
        double scale = op == NB_OP_log2 ? NB_LOG2E : NB_LOG10E;
        for (int k = 1; k <= T; k++) W(L, wi)[k] = cscale(c, scale, W(L, wi)[k]);
        break;
    }
    case NB_OP_tanh:
        if ((s = nb__scratch_reserve(c, L, kp1(L)))) break;
        jet_tanh(c, L, x, W(L, wi), L->scratch, T);
        break;
    case NB_OP_sin:
    case NB_OP_cos:
    case NB_OP_sinh:
    case NB_OP_cosh:
    case NB_OP_tan: {
        size_t K1 = kp1(L);
        if ((s = nb__scratch_reserve(c, L, 2 * K1))) break;
        nb_var *sn = L->scratch, *cs = L->scratch + K1;
        int hyp = op == NB_OP_sinh || op == NB_OP_cosh;
        jet_sincos(c, L, x, sn, cs, T, hyp);
        nb_var *w = W(L, wi);
        if (op == NB_OP_sin || op == NB_OP_sinh)
            for (int k = 1; k <= T; k++) w[k] = sn[k];
        else if (op == NB_OP_cos || op == NB_OP_cosh)
            for (int k = 1; k <= T; k++) w[k] = cs[k];
        else
            jet_div_arrays(c, sn, cs, w, T);
        break;
    }
    case NB_OP_sqrt: jet_sqrt(c, L, x, W(L, wi), T); break;
    case NB_OP_cbrt:
        /* at 0 and at +-inf the recurrence divides by u0 and gets 0 / 0 or inf / inf: the rule
         * (at 0 its branch x^(-2/3) / 3, which does not read R: run once, or its pattern of
         * infinities directly over constants; at inf 1 / (3 R^2), 0, as forward mode says) */
        if (u0.v == 0) {
            int consts = 1;
            for (int k = 0; k <= T && consts; k++) consts = J(L, x, k).tag == 0;
            if (consts)
                s = jet_cbrt_zero(c, L, x, wi, T);
            else
                fallback(c, L, op, x, y, n, wi, T, 1);
        } else if (isinf(u0.v)) {
            fallback(c, L, op, x, y, n, wi, T, 0);
        } else
            jet_pow_const(c, L, x, nb_const(1.0 / 3.0), W(L, wi), T);
        break;
    case NB_OP_powi:
        if (n == 0) break; /* x^0 = 1: no higher coefficients */
        s = jet_powi(c, L, x, n, wi, T);
        break;
    case NB_OP_pow: {
        /* an exponent that moves (at a base <= 0, or where x^y is not a normal number): pow's
         * rule. A constant exponent: an integer
         * constant is powi (exact at 0 and for a negative base); a zero or negative base takes
         * pow's rule (nested-forward semantics); otherwise the power recurrence */
        double r = v0.v;
        if (y_moves)
            fallback(c, L, op, x, y, n, wi, T, 0);
        else if (v0.tag == 0 && r == floor(r) && fabs(r) <= 1073741824.0)
            s = jet_powi(c, L, x, (int)r, wi, T);
        else if (u0.v <= 0 || isinf(u0.v) || !isnormal(w0.v))
            /* an infinite base: see cbrt; an overflowed x^y: the rule's y x^(y-1) may be finite;
             * an underflowed one (x^2.5 at 1e-200): the recurrence multiplies by w0 = 0 and would
             * give 0 at every order, where the rule's y x^(y-1), ... come back normal */
            fallback(c, L, op, x, y, n, wi, T, 0);
        else
            jet_pow_const(c, L, x, v0, W(L, wi), T);
        break;
    }
    case NB_OP_bessel_j0: s = jet_bessel(c, L, x, 0, 0, wi, T); break;
    case NB_OP_bessel_j1: s = jet_bessel(c, L, x, 0, 1, wi, T); break;
    case NB_OP_bessel_jn: s = jet_bessel(c, L, x, 0, n, wi, T); break;
    case NB_OP_bessel_y0: s = jet_bessel(c, L, x, 1, 0, wi, T); break;
    case NB_OP_bessel_y1: s = jet_bessel(c, L, x, 1, 1, wi, T); break;
    case NB_OP_tgamma: s = jet_tgamma(c, L, x, wi, T); break;
    default: fallback(c, L, op, x, y, n, wi, T, 0); break;
    }
    if (s) return nb__fail_var(c, s);
    return finish(L, wi);
}

/* A custom op (nabla/custom.h): the value at the levels below, then, as the fallback does for a
 * registry op without a recurrence, the partials as series of order T-1 from the user's rule run
 * at this level, and w_k = (1/k) sum_{j=1..k} j sum_i u_{i,j} p_{i,k-j}. A partial of this level
 * must be a node the rule made (after the op's own) or an operand: an older node is a handle the
 * rule captured instead of using the ones it was given, NB_E_ARG as at the other levels. */
static int by_node(const void *a, const void *b) {
    const uint32_t i = ((const nb_var *)a)->idx, j = ((const nb_var *)b)->idx;
    return (i > j) - (i < j);
}

nb_var nb__taylor_custom(nb_ctx *c, nb_level *L, const nb__custom_call *cc, const nb_var *x,
                         nb_var *u0, nb_var *p) {
    const int T = L->trunc;
    const size_t k = cc->k;
    for (size_t i = 0; i < k; i++) u0[i] = J(L, x[i], 0);
    const nb_var w0 = nb_custom(c, cc->op, u0, k, cc->env);
    if (!nb__custom_ok(c, cc)) return nb_const((double)NAN);
    L->ops++;
    const size_t ops1 = L->ops; /* one op, whatever its rule runs on this level */
    if (T <= 0) return w0;
    if (!cc->op->rule) return nb__fail_var(c, NB_E_NODIFF);
    size_t wi = new_node(c, L);
    if (!wi) return nb_const((double)NAN);
    W(L, wi)[0] = w0;
    const uint32_t tag = L->tag;
    L->trunc = T - 1;
    nb_status s = nb__custom_partials(c, cc, x, p, L->depth, NULL);
    if (L->tag == tag) L->trunc = T, L->ops = ops1; /* (not if the rule replaced the level) */
    if (s) return nb__fail_var(c, s);
    /* this level's operands sorted by node (u0 is free again), so that each partial is looked
     * up in O(log k): a linear scan per partial was O(k^2), 20 s at k = 2^18 */
    size_t m = 0;
    for (size_t j = 0; j < k; j++)
        if (x[j].tag == L->tag) u0[m++] = x[j];
    qsort(u0, m, sizeof *u0, by_node);
    for (size_t i = 0; i < k; i++) {
        if (p[i].tag != L->tag || p[i].idx > wi) continue;
        /* an operand, or the value an enclosing op's rule was given (the memo) */
        int known = m > 0 && bsearch(&p[i], u0, m, sizeof *u0, by_node) != NULL;
        for (const nb__custom_frame *f = c->custom_memo; f && !known; f = f->prev)
            known = f->r.tag == p[i].tag && f->r.idx == p[i].idx;
        if (!known) return nb__fail_var(c, NB_E_ARG);
    }
    chain(c, L, k, x, p, wi, 1, T);
    return finish(L, wi);
}

nb_var nb__taylor_reduce(nb_ctx *c, nb_level *L, nb_op op, size_t n, const nb_var *x,
                         const nb_var *y) {
    if (op == NB_OP_norm) {
        /* r = |x| from r r = sum_i x_i x_i, each product divided by r_0 first, so that no
         * coefficient overflows or underflows where the result does not (sqrt(sum x_i^2) would,
         * above |x_i| ~ 1e154 and below ~1e-154):
         *   2 r_k = sum_i sum_{j=0..k} (x_{i,j} / r_0) x_{i,k-j} - sum_{j=1..k-1} (r_j / r_0) r_{k-j}
         * r_0 is the op's own value. */
        nb_status st = nb__scratch_reserve(c, L, n ? n : 1);
        if (st) return nb__fail_var(c, st);
        for (size_t i = 0; i < n; i++) L->scratch[i] = J(L, x[i], 0);
        nb_var w0 = nb_norm(c, n, L->scratch);
        const int T = L->trunc;
        L->ops++; /* one op, as every reduction, also where it is a value alone */
        /* at the zero vector (or where every x_i^2 underflows) the norm's partials are 0 by its
         * rule, as in the other modes: the value alone, no series */
        if (w0.v == 0 || T <= 0) return w0;
        {
            int moves = 0;
            for (size_t i = 0; i < n && !moves; i++) moves = x[i].tag == L->tag;
            if (!moves) return w0;
            size_t wi = new_node(c, L);
            if (!wi) return nb_const((double)NAN);
            W(L, wi)[0] = w0;
            if (isnan(w0.v)) {
                /* every partial x_i / r is NaN, as in the other modes: NaN from the first order at
                 * which an element moves, 0 below (the recurrence's strong-zero division would
                 * turn 0 / NaN into 0) */
                nan_from_first_move(c, L, wi, T, n, x);
                return finish(L, wi);
            }
            for (int k = 1; k <= T; k++) {
                nb_var s = nb_const(0);
                for (size_t i = 0; i < n; i++) {
                    if (x[i].tag != L->tag) continue;
                    /* the terms j = 0 and j = k are the same product: taken twice as
                     * (x_{i,0} / r_0) x_{i,k}, since |x_{i,0}| <= r_0, where x_{i,k} / r_0 would
                     * overflow for a subnormal r_0 (norm at 1e-310 had an infinite slope) */
                    s = cadd(c, s, cscale(c, 2.0, cmul(c, cdiv(c, J(L, x[i], 0), w0), J(L, x[i], k))));
                    for (int j = 1; j < k; j++)
                        s = cadd(c, s, cmul(c, cdiv(c, J(L, x[i], j), w0), J(L, x[i], k - j)));
                }
                for (int j = 1; j < k; j++)
                    s = csub(c, s, cmul(c, cdiv(c, W(L, wi)[j], w0), W(L, wi)[k - j]));
                W(L, wi)[k] = cdivk(c, s, 2);
            }
            return finish(L, wi);
        }
    }
    /* the sum of the elements' series, made of this level's add and mul, counted as one op as a
     * reduction is on every level (nb_op_count) */
    const size_t ops0 = L->ops;
    nb_var s = nb_const(0);
    for (size_t i = 0; i < n; i++) {
        switch (op) {
        case NB_OP_sum: s = nb_add(c, s, x[i]); break;
        case NB_OP_dot: s = nb_add(c, s, nb_mul(c, x[i], y[i])); break;
        case NB_OP_sumsq: s = nb_add(c, s, nb_mul(c, x[i], x[i])); break;
        default: return nb__fail_var(c, NB_E_ARG);
        }
    }
    L->ops = ops0 + 1;
    return s;
}

/* ---- public ---- */

static nb_level *top_taylor(nb_ctx *c) {
    if (c->depth == 0 || c->lv[c->depth].kind != NB_TAYLOR) {
        nb__fail(c, NB_E_LEVEL);
        return NULL;
    }
    return &c->lv[c->depth];
}

/* An input of Taylor level L with the series coef[0 .. m-1] (m <= K + 1, checked by the callers):
 * each coefficient a constant or a handle of a lower level. */
static nb_var series_input(nb_ctx *c, nb_level *L, size_t m, const nb_var *coef) {
    for (size_t k = 0; k < m; k++)
        if (coef[k].tag != 0 &&
            (!nb__owner(c, coef[k]) || (coef[k].tag & NB_DEPTH_MASK) >= L->depth))
            return nb__owner(c, coef[k]) ? nb__fail_var(c, NB_E_ARG) : nb__bad_handle(c, coef[k]);
    size_t i = new_node(c, L);
    if (!i) return nb_const((double)NAN);
    for (size_t k = 0; k < m; k++) W(L, i)[k] = coef[k];
    L->leaves++;
    nb_var y = {coef[0].v, (uint32_t)i, L->tag};
    return y;
}

nb_var nb_taylor_input(nb_ctx *c, nb_var x, nb_var dx) {
    nb_level *L = top_taylor(c);
    if (!L) return nb_const((double)NAN);
    /* (every Taylor level has order 1 at least: nb_taylor's K = 0 level too, whose direction
     * is then never read) */
    const nb_var in[2] = {x, dx};
    return series_input(c, L, 2, in);
}

nb_var nb_taylor_series_input(nb_ctx *c, size_t m, const nb_var *coef) {
    nb_level *L = top_taylor(c);
    if (!L) return nb_const((double)NAN);
    if (m == 0 || !coef || m > (size_t)L->trunc + 1) return nb__fail_var(c, NB_E_ARG);
    return series_input(c, L, m, coef);
}

nb_var nb_taylor_coef(nb_ctx *c, nb_var y, int k) {
    nb_level *L = top_taylor(c);
    if (!L) return nb_const((double)NAN);
    /* the coefficients computed: 0 .. K, or 0 alone on the level nb_taylor makes for K = 0 (an
     * order-1 level that computes coefficient 0 only) */
    if (k < 0 || k > L->trunc) return nb__fail_var(c, NB_E_ARG);
    if (y.tag != 0 && !nb__owner(c, y)) return nb__bad_handle(c, y);
    return J(L, y, k);
}

nb_status nb_taylor(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x, const double *v,
                    int K, double *coef) {
    if (nb__too_many(n)) return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG; /* nothing written */
    if (!c || !f || !coef || (n && (!x || !v)) || K < 0 || K > NB_TAYLOR_MAX_ORDER) {
        if (coef && K >= 0 && K <= NB_TAYLOR_MAX_ORDER) /* NaN in the outputs, as for any error */
            for (int k = 0; k <= K; k++) coef[k] = (double)NAN;
        return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
    }
    /* the drivers' protocol (src/drivers.c): f only on good inputs, an unbalanced f is
     * NB_E_LEVEL, never pop below d0, NaN in every coefficient on failure */
    const size_t d0 = c->depth;
    nb_status s = nb_push_taylor(c, K > 0 ? K : 1);
    if (s) {
        nb__fail(c, s);
    } else {
        nb_level *L = &c->lv[c->depth];
        nb__driver_own(L);
        /* K = 0: a level of order 1 (the least there is) that computes coefficient 0 alone, so
         * that no rule runs (an op without a derivative, nabla/custom.h, has f(x) here) */
        if (K == 0) L->trunc = 0;
        if ((s = nb__inputs_reserve(c, L, n ? n : 1))) {
            nb__fail(c, s);
        } else {
            for (size_t i = 0; i < n; i++)
                L->inputs[i] = nb_taylor_input(c, nb_const(x[i]), nb_const(v[i]));
            if (c->err == NB_OK) {
                nb_var y = f(c, L->inputs, env);
                if (nb__driver_ok(c, d0))
                    for (int k = 0; k <= K; k++) coef[k] = nb_value(nb_taylor_coef(c, y, k));
            }
        }
    }
    if ((s = nb__driver_finish(c, d0)))
        for (int k = 0; k <= K; k++) coef[k] = (double)NAN;
    return s;
}

/* A second evaluation along scale * v into out[0 .. K] with `pass` (nb_taylor or
 * nb_taylor_derivatives), its direction and output in arrays from the context's hook. NB_E_NOMEM
 * (recorded) when they cannot be allocated. */
static nb_status pass_along(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x,
                            const double *v, double scale, int K, double *out,
                            nb_status (*pass)(nb_ctx *, nb_fn, void *, size_t, const double *,
                                              const double *, int, double *)) {
    if (n > SIZE_MAX / sizeof *v) return nb__fail(c, NB_E_NOMEM);
    double *sv = c->alloc(c->alloc_ud, NULL, 0, n * sizeof *sv);
    if (!sv) return nb__fail(c, NB_E_NOMEM);
    for (size_t i = 0; i < n; i++) sv[i] = v[i] * scale;
    nb_status s = pass(c, f, env, n, x, sv, K, out);
    c->alloc(c->alloc_ud, sv, n * sizeof *sv, 0);
    return s;
}

/* Scratch for K + 1 doubles from the context's hook, and its release. */
static double *scratch_k(nb_ctx *c, int K) {
    return c->alloc(c->alloc_ud, NULL, 0, ((size_t)K + 1) * sizeof(double));
}
static void scratch_k_free(nb_ctx *c, double *p, int K) {
    if (p) c->alloc(c->alloc_ud, p, ((size_t)K + 1) * sizeof(double), 0);
}

nb_status nb_taylor_derivatives(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x,
                                const double *v, int K, double *d) {
    /* an order out of range says nothing of d's size: nothing is written */
    if (K > NB_DERIVATIVES_MAX_ORDER) return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
    nb_status s = nb_taylor(c, f, env, n, x, v, K, d); /* checks the other arguments */
    if (s) return s;
    char under[NB_DERIVATIVES_MAX_ORDER + 1]; /* coefficient k is 0 or subnormal: it may have
                                                 underflowed */
    int tiny = 0;
    double fact = 1;
    for (int k = 1; k <= K; k++) {
        tiny |= under[k] = fabs(d[k]) < DBL_MIN;
        d[k] *= (fact *= k);
    }
    if (!tiny || n == 0) return NB_OK;
    /* the coefficients of t -> f(x + t s v), s = 2^6, are s^k times larger; k!/s^k stays in range
     * to order 170, so a derivative down to about 1e-280 comes back normal */
    const double scale = 64;
    double *c2 = scratch_k(c, K);
    s = c2 ? pass_along(c, f, env, n, x, v, scale, K, c2, nb_taylor) : nb__fail(c, NB_E_NOMEM);
    if (!s) {
        double r = 1; /* k! / s^k */
        for (int k = 1; k <= K; k++) {
            r *= k / scale;
            const double dk = c2[k] * r;
            if (under[k] && isfinite(dk) && dk != 0) d[k] = dk;
        }
    } else {
        for (int k = 0; k <= K; k++) d[k] = (double)NAN;
    }
    scratch_k_free(c, c2, K);
    return s;
}

nb_status nb_taylor_derivatives_err(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x,
                                    const double *v, int K, double *d, double *err) {
    if (!err || nb__too_many(n)) return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
    nb_status s = nb_taylor_derivatives(c, f, env, n, x, v, K, d); /* checks the rest */
    if (s || n == 0) {
        if (K >= 0 && K <= NB_DERIVATIVES_MAX_ORDER)
            for (int k = 0; k <= K; k++) err[k] = s ? (double)NAN : 0.0;
        return s;
    }
    /* the second evaluation along 1.5 v: the same derivatives times 1.5^k, whose mantissas - and
     * so whose roundings - differ from the first's at every step */
    const double scale = 1.5;
    double *d2 = scratch_k(c, K);
    s = d2 ? pass_along(c, f, env, n, x, v, scale, K, d2, nb_taylor_derivatives)
           : nb__fail(c, NB_E_NOMEM);
    /* where d_k 1.5^k overflows although d_k does not (d_k near DBL_MAX at high orders: the
     * derivatives of 1/(1-x) are k!), that order is compared along 0.75 v instead, whose
     * derivatives are smaller: a pass more, only when needed */
    int over = 0;
    for (int k = 0; k <= K && !s; k++) over |= isfinite(d[k]) && !isfinite(d2[k]);
    double *d3 = NULL;
    if (over && !s) {
        d3 = scratch_k(c, K);
        s = d3 ? pass_along(c, f, env, n, x, v, 0.75, K, d3, nb_taylor_derivatives)
               : nb__fail(c, NB_E_NOMEM);
    }
    double p = 1, q = 1; /* scale^k, 0.75^k */
    for (int k = 0; k <= K && !s; k++, p *= scale, q *= 0.75) {
        const double back = d3 && isfinite(d[k]) && !isfinite(d2[k]) ? d3[k] / q : d2[k] / p;
        err[k] = d[k] == back ? 0.0 : isfinite(d[k]) && isfinite(back) ? fabs(d[k] - back)
                                                                         : (double)NAN;
    }
    /* Both share the values at x, and so their rounding, which the recurrences can amplify:
     * x/atan(x) at 5e-7 divides by atan(x)'s rounding error 1/atan(x)^k times, and its third
     * derivative came out -6394 for -1.07e-6 with an estimate of 4e-9 (a review). So a last pass
     * along v moves every op's inexact value by an ulp at random (jitter above): the change it
     * makes in d_k, times 0.29 (a rounding error is uniform over +-1/2 ulp, of deviation
     * 1/sqrt(12) ulp, where the moves have 1), estimates that error; err_k is the larger of the
     * two estimates (NaN when either is). */
    if (!s) {
        c->taylor_jitter = 0x9E3779B97F4A7C15ull;
        s = pass_along(c, f, env, n, x, v, 1, K, d2, nb_taylor_derivatives);
        c->taylor_jitter = 0;
    }
    for (int k = 0; k <= K && !s; k++) {
        if (isnan(err[k]) || d[k] == d2[k]) continue;
        const double e = isfinite(d[k]) && isfinite(d2[k]) ? 0.29 * fabs(d[k] - d2[k]) : (double)NAN;
        err[k] = isnan(e) || e > err[k] ? e : err[k];
    }
    if (s)
        for (int k = 0; k <= K; k++) d[k] = err[k] = (double)NAN;
    scratch_k_free(c, d3, K);
    scratch_k_free(c, d2, K);
    return s;
}

nb_status nb_derivatives(nb_ctx *c, nb_fn f, void *env, double x, int K, double *d) {
    const double one = 1.0;
    return nb_taylor_derivatives(c, f, env, 1, &x, &one, K, d);
}

/* ---- Taylor coefficients of an ODE's solution ---- */

/* The passes of nb_ode_taylor on handles: coef[i w] holds y0_i (w = K + 1), the rest is written.
 * The arguments are checked. With `values`, each coefficient found is kept as a constant (the
 * doubles' version: a handle of the caller's levels that f captures would otherwise make every
 * later pass record on those levels again, for nothing). */
static nb_status ode_taylor(nb_ctx *c, nb_odefn f, void *env, size_t dim, nb_var t0, int K,
                            nb_var *coef, int values) {
    const size_t w = (size_t)K + 1;
    for (size_t i = 0; i < dim; i++)
        for (size_t k = 1; k < w; k++) coef[i * w + k] = nb_const(0);
    /* the drivers' protocol (src/drivers.c): f only on good inputs, an unbalanced f is
     * NB_E_LEVEL, never pop below d0 */
    const size_t d0 = c->depth;
    nb_status s = NB_OK;
    for (int k = 0; k < K && c->err == NB_OK; k++) {
        /* pass k: y known to order k gives f's coefficient k; k = 0 computes the value alone */
        if ((s = nb_push_taylor(c, k > 0 ? k : 1))) {
            nb__fail(c, s);
            break;
        }
        nb_level *L = &c->lv[c->depth];
        nb__driver_own(L);
        if (k == 0) L->trunc = 0;
        if ((s = nb__inputs_reserve(c, L, dim ? dim : 1)) ||
            (s = nb__outputs_reserve(c, L, dim ? dim : 1))) {
            nb__fail(c, s);
            break;
        }
        nb_var *y = L->inputs, *out = L->outputs;
        const nb_var t = nb_taylor_input(c, t0, nb_const(1));
        for (size_t i = 0; i < dim; i++) {
            y[i] = nb_taylor_series_input(c, (size_t)k + 1, coef + i * w);
            out[i] = nb_const(0);
        }
        if (c->err != NB_OK) break;
        f(c, t, y, out, env);
        if (!nb__driver_ok(c, d0)) break;
        /* coefficient k of f, a handle of the levels below, divided there by k + 1 */
        for (size_t i = 0; i < dim; i++) {
            const nb_var fk = nb_taylor_coef(c, out[i], k);
            coef[i * w + (size_t)k + 1] = values ? nb_const(nb_value(fk) / (k + 1))
                                                 : nb_div(c, fk, nb_const(k + 1));
        }
        nb_pop(c);
    }
    return nb__driver_finish(c, d0);
}

/* NB_E_ARG for an order out of range or sizes whose arrays would overflow (nothing written). */
static int ode_taylor_absurd(size_t dim, int K) {
    return K < 0 || K > NB_TAYLOR_MAX_ORDER || nb__too_many(dim) ||
           dim > SIZE_MAX / sizeof(nb_var) / ((size_t)K + 1);
}

nb_status nb_ode_taylor_var(nb_ctx *c, nb_odefn f, void *env, size_t dim, nb_var t0,
                            const nb_var *y0, int K, nb_var *coef) {
    if (ode_taylor_absurd(dim, K)) return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
    const size_t w = (size_t)K + 1;
    nb_status s;
    if (!c || !f || !coef || (dim && !y0)) {
        s = c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
    } else {
        /* the handles checked here too: the passes would (NB_E_STALE, NB_E_FOREIGN), but there
         * are none for K = 0 */
        s = NB_OK;
        for (size_t i = 0; i <= dim && !s; i++) {
            const nb_var h = i < dim ? y0[i] : t0;
            if (h.tag != 0 && !nb__owner(c, h)) {
                nb__bad_handle(c, h);
                s = c->err;
            }
        }
        for (size_t i = 0; i < dim && !s; i++) coef[i * w] = y0[i];
        if (!s) s = ode_taylor(c, f, env, dim, t0, K, coef, 0);
    }
    if (s && coef)
        for (size_t i = 0; i < dim * w; i++) coef[i] = nb_const((double)NAN);
    return s;
}

nb_status nb_ode_taylor(nb_ctx *c, nb_odefn f, void *env, size_t dim, double t0,
                        const double *y0, int K, double *coef) {
    if (ode_taylor_absurd(dim, K)) return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
    const size_t w = (size_t)K + 1;
    if (!c || !f || !coef || (dim && !y0)) {
        if (coef) nb__nan_doubles(coef, dim * w);
        return c ? nb__fail(c, NB_E_ARG) : NB_E_ARG;
    }
    /* the coefficients as constant handles, in an array from the context's hook */
    nb_var *h = nb__hook_get(c->alloc, c->alloc_ud, dim * w, sizeof *h);
    nb_status s = h ? NB_OK : nb__fail(c, NB_E_NOMEM);
    if (h) {
        for (size_t i = 0; i < dim; i++) h[i * w] = nb_const(y0[i]);
        s = ode_taylor(c, f, env, dim, nb_const(t0), K, h, 1);
        for (size_t i = 0; i < dim * w && !s; i++) coef[i] = nb_value(h[i]);
        nb__hook_put(c->alloc, c->alloc_ud, h, dim * w, sizeof *h);
    }
    if (s) nb__nan_doubles(coef, dim * w);
    return s;
}
