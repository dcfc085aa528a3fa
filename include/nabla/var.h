/* var.h - value handles and the differentiable ops on them.
 *
 * An nb_var is a small value type: the value itself, and which level of which context recorded it
 * (a tag) and where (an index). The value is always in the handle, so user code can branch and
 * loop on nb_value(x); only the path taken is recorded. A constant is a handle with tag 0.
 *
 * Every registry op (nabla/ops.def) has a function here: nb_sin(c, x), nb_mul(c, x, y),
 * nb_powi(c, x, n) ... An op binds to the deepest level that owns one of its operands (operands
 * of other levels are constants there), records itself there, and evaluates its derivative rule at
 * the levels below - so the same user code runs under a forward level (a jvp), a reverse level (a
 * gradient), or any nesting of them (higher derivatives). With only constant operands an op
 * simply computes its value.
 *
 * Every function here takes the context first, and it must not be NULL (the drivers of
 * nabla/drivers.h and the level functions of nabla/ctx.h return NB_E_ARG for a NULL context; the
 * ops here do not check, as they sit on the hot path).
 *
 * Errors: an op cannot return a status. When an operand is a handle of a popped level
 * (NB_E_STALE) or of another context (NB_E_FOREIGN), or the level cannot grow (NB_E_NOMEM,
 * NB_E_TAPE_FULL), the op returns a NaN constant and records the status in the context
 * (nb_ctx_status). The tag carries a 27-bit generation drawn from a per-context salt: a handle of
 * a popped level is always caught, as long as fewer than 2^27 levels were pushed since; a handle
 * of another context is caught unless its 27-bit generation happens to equal that of the live
 * level at the same depth (a 2^-27 chance per level). Once a context has pushed (or reset) 2^27
 * levels every generation has been issued, and a handle that is not live is reported as
 * NB_E_STALE whatever its origin (a foreign one too).
 */
#ifndef NABLA_VAR_H
#define NABLA_VAR_H

#include <stddef.h>
#include <stdint.h>

#include "nabla/ctx.h"
#include "nabla/dual.h"
#include "nabla/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nb_var {
    double v;     /* the value */
    uint32_t idx; /* node index within the level that owns it */
    uint32_t tag; /* 0: a constant; else the owning level's tag (depth and generation) */
} nb_var;

/* A constant handle of value v. */
static inline nb_var nb_const(double v) {
    nb_var r;
    r.v = v;
    r.idx = 0;
    r.tag = 0;
    return r;
}

/* The value of x: always available, whatever level owns it. */
static inline double nb_value(nb_var x) { return x.v; }

/* 1 when x is a constant (owned by no level). */
static inline int nb_is_const(nb_var x) { return x.tag == 0; }

/* The depth of the level that owns x (0 for a constant). */
static inline int nb_var_depth(nb_var x) { return (int)(x.tag & 31u); }

/* The registry's ops on handles: nb_<op>(c, x), nb_<op>(c, x, y), nb_<op>(c, x, n).
 *
 * They are inline. When every operand is a constant or a live handle of level 1, and level 1 is
 * a forward or reverse level with room for one more node, the op runs right here: the registry's
 * rule compiled with doubles gives a tangent or an Adept-style tape entry (the depth-1 fast
 * tier). Everything else - deeper and Taylor levels, stale or foreign handles, growing the
 * arrays - is the library's nb__<op> (private), which computes exactly the same thing in those
 * cases. Semantics do not depend on which path runs. */
#define NB_OP1(name_, ...) nb_var nb__##name_(nb_ctx *c, nb_var x);
#define NB_OP2(name_, ...) nb_var nb__##name_(nb_ctx *c, nb_var x, nb_var y);
#define NB_OPI(name_, ...) nb_var nb__##name_(nb_ctx *c, nb_var x, int n);
/* Reductions: nb_sum(c, n, x), nb_sumsq(c, n, x), nb_norm(c, n, x), nb_dot(c, n, x, y). Each is
 * ONE tape statement with one (index, partial) pair per element that belongs to its level, not n
 * statements. NULL arrays are allowed only with n == 0. */
#define NB_RED1(name_, ...) nb_var nb_##name_(nb_ctx *c, size_t n, const nb_var *x);
#define NB_RED2(name_, ...) nb_var nb_##name_(nb_ctx *c, size_t n, const nb_var *x, const nb_var *y);
#include "nabla/ops.def"
#undef NB_OP1
#undef NB_OP2
#undef NB_OPI
#undef NB_RED1
#undef NB_RED2

/* ---- private: the depth-1 fast tier of the inline ops ----
 * Names here are prefixed (nb_..._) so that a user's macros cannot break them. */

/* Whether the target may have fused multiply-add: assumed unless it is x86 without FMA (the
 * default x86-64 target). Compilers do not say it reliably (Clang 14 sets neither __FP_FAST_FMA
 * nor anything else on POWER, s390x or RISC-V), so every other target is taken to have it. */
#if (defined(__x86_64__) || defined(__i386__)) && !defined(__FMA__) && !defined(__FMA4__) && \
    !defined(__FP_FAST_FMA)
#define NB__MAY_FMA 0
#else
#define NB__MAY_FMA 1
#endif

/* nb__rnd(v): v, rounded to double and opaque to the optimizer. The library is compiled as ISO C
 * (no contraction of a * b + c into a fused multiply-add); a program compiled for a target with
 * FMA (GCC's default GNU modes contract, so does Clang within an expression) could otherwise fuse
 * an inline rule's products with its sums, or an op's result with the next op's arithmetic, and
 * get last-bit differences from the library path depending on the tape's capacity. Each result
 * of the inline tier goes through this barrier when the target has FMA; it costs nothing else. */
#if NB__MAY_FMA && (defined(__GNUC__) || defined(__clang__)) && \
    (defined(__x86_64__) || defined(__aarch64__))
#define NB__HAVE_RND 1
static inline double nb__rnd(double nb_v_) {
#if defined(__x86_64__)
    __asm__("" : "+x"(nb_v_));
#else
    __asm__("" : "+w"(nb_v_));
#endif
    return nb_v_;
}
#else
#define NB__HAVE_RND 0
#define nb__rnd(v_) (v_)
#endif

/* The inline tier is on unless the program is compiled with value-changing math flags - GCC and
 * Clang say -ffast-math and -ffinite-math-only; GCC also -fassociative-math, -freciprocal-math and
 * -fno-signed-zeros (and so -funsafe-math-optimizations); Clang 14 does not say those, so with
 * Clang they must not be used around nabla's headers - which let the compiler reassociate, use
 * reciprocals, drop signed zeros or assume there is no NaN or inf: the inline ops would compute
 * other numbers than the library's, and the strong-zero policy could break. It is off as well for
 * a target that may have FMA where no barrier is available (any but x86-64 and AArch64), and
 * where doubles are evaluated in a wider format (FLT_EVAL_METHOD 2 or -1: x87 arithmetic, as
 * -mfpmath=387 or 32-bit x86 gives; the tangents and Hessian-vector products differed from the
 * library's in the last bits, a review). Off,
 * every op calls the library, which is compiled with IEEE semantics, constants included. */
#if defined(__FAST_MATH__) || (defined(__FINITE_MATH_ONLY__) && __FINITE_MATH_ONLY__) || \
    defined(__ASSOCIATIVE_MATH__) || defined(__RECIPROCAL_MATH__) ||                      \
    defined(__NO_SIGNED_ZEROS__) || (NB__MAY_FMA && !NB__HAVE_RND) ||                    \
    (defined(__FLT_EVAL_METHOD__) && __FLT_EVAL_METHOD__ != 0 && __FLT_EVAL_METHOD__ != 1)
#define NB__INLINE_TIER 0
#else
#define NB__INLINE_TIER 1
#endif

/* v, opaque to the optimizer: the inline ops compute an op on constants with this, so that the
 * C library runs at run time, as it does in the library path, instead of the compiler folding a
 * literal with its own correctly rounded arithmetic (GCC folded tanh, cbrt, erf, tgamma ... of
 * 101 of 800 literals one ulp away from glibc's, so the same op on a constant and on a handle
 * differed within one program at -O2, a review). Only ops whose operands are all constants pay
 * it. */
static inline double nb__opaque(double nb_v_) {
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
    __asm__("" : "+x"(nb_v_)); /* (free: a volatile copy made the adapters' value calls, all */
    return nb_v_;              /* on constants, 20% slower) */
#elif (defined(__GNUC__) || defined(__clang__)) && defined(__aarch64__)
    __asm__("" : "+w"(nb_v_));
    return nb_v_;
#else
    volatile double nb_t_ = nb_v_;
    return nb_t_;
#endif
}

/* NB__HOT: how the depth-1 tier's functions are declared. GCC at -O2 leaves an op this size out of
 * line (a call per op, and the handle through memory: recording Rosenbrock took 45% longer than
 * at -O3), so wherever the compiler optimizes for speed (-O1 to -O3, and -Og, which also defines
 * __OPTIMIZE__) they are forced inline; -O0 and -Os builds get plain static inline. It costs code
 * size (an op inlined at every call): define NB_NO_FORCE_INLINE before including nabla headers to
 * leave the choice to the compiler. The library itself is built so: it records little through
 * these ops, and forcing them there made its Taylor passes 20% slower (a larger code). */
#if (defined(__GNUC__) || defined(__clang__)) && defined(__OPTIMIZE__) && \
    !defined(__OPTIMIZE_SIZE__) && !defined(NB_NO_FORCE_INLINE)
#define NB__HOT static inline __attribute__((always_inline))
#else
#define NB__HOT static inline
#endif

/* 1 when x is a live handle of the level whose hot fields are nb_h_. */
NB__HOT int nb__owns(const nb__hot *nb_h_, nb_var nb_x_) {
    return nb_x_.tag == nb_h_->tag && nb_x_.tag != 0 && (size_t)nb_x_.idx - 1u < nb_h_->n - 1u;
}
/* 1 when x, which is not a constant, is a live handle of level 1, whose tag and node count are
 * tag and n (read once by the op: the stores of a recording may alias the tag, and reading it
 * again after them cost a load per op). */
NB__HOT int nb__owns1(uint32_t nb_tag_, size_t nb_n_, nb_var nb_x_) {
    return nb_x_.tag == nb_tag_ && (size_t)nb_x_.idx - 1u < nb_n_ - 1u;
}
/* 1 when level 1 is a forward or reverse level with room for one node (and two operands). */
NB__HOT int nb__room1(const nb__hot *nb_h_) {
    return NB__INLINE_TIER && (nb_h_->n < nb_h_->rlim || nb_h_->n < nb_h_->flim);
}
/* A new node of level 1 with value r, index n (the node count, n + 1 after) and level 1's tag. */
NB__HOT nb_var nb__node1(nb__hot *nb_h_, size_t nb_n_, uint32_t nb_tag_, double nb_r_) {
    nb_var nb_v_;
    nb_v_.v = nb_r_;
    nb_v_.idx = (uint32_t)nb_n_;
    nb_v_.tag = nb_tag_;
    nb_h_->n = nb_n_ + 1;
    return nb_v_;
}
/* A node of reverse level 1 (node count n, tag tag) with value r and the partials p0, p1 on
 * nodes i0, i1: a partial that is exactly 0 is not recorded, equal nodes (x * x) make one
 * operand, and without operands the result is a constant. Both entries are written and the count
 * advanced past the kept ones, so the recording has no data-dependent branch; room for two is
 * what n < rlim says. */
NB__HOT nb_var nb__rec2(nb__hot *nb_h_, size_t nb_n_, uint32_t nb_tag_, double nb_r_,
                        uint32_t nb_i0_, double nb_p0_, uint32_t nb_i1_, double nb_p1_) {
    if (nb_i0_ == nb_i1_) {
        nb_p0_ = nb__rnd(nb_p0_ + nb_p1_);
        nb_p1_ = 0;
    }
    const size_t nb_o0_ = nb_h_->nops;
    size_t nb_o_ = nb_o0_;
    uint32_t *const nb_idx_ = nb_h_->op_idx;
    double *const nb_mul_ = nb_h_->op_mul;
    nb_idx_[nb_o_] = nb_i0_;
    nb_mul_[nb_o_] = nb_p0_;
    nb_o_ += (size_t)(nb_p0_ != 0);
    nb_idx_[nb_o_] = nb_i1_;
    nb_mul_[nb_o_] = nb_p1_;
    nb_o_ += (size_t)(nb_p1_ != 0);
    if (nb_o_ == nb_o0_) {
        nb_h_->ops++; /* an op without a node: counted here (a node counts itself, nb_op_count) */
        return nb_const(nb_r_);
    }
    nb_h_->nops = nb_o_;
    nb_h_->stmt_end[nb_n_] = (uint32_t)nb_o_;
    return nb__node1(nb_h_, nb_n_, nb_tag_, nb_r_);
}
NB__HOT nb_var nb__rec1(nb__hot *nb_h_, size_t nb_n_, uint32_t nb_tag_, double nb_r_,
                        uint32_t nb_i0_, double nb_p0_) {
    if (nb_p0_ == 0) {
        nb_h_->ops++;
        return nb_const(nb_r_);
    }
    const size_t nb_o_ = nb_h_->nops;
    nb_h_->op_idx[nb_o_] = nb_i0_;
    nb_h_->op_mul[nb_o_] = nb_p0_;
    nb_h_->nops = nb_o_ + 1;
    nb_h_->stmt_end[nb_n_] = (uint32_t)(nb_o_ + 1);
    return nb__node1(nb_h_, nb_n_, nb_tag_, nb_r_);
}
/* A node of forward level 1 (node count n, tag tag) with value r and tangent t (a constant when
 * t is 0). */
NB__HOT nb_var nb__tan1(nb__hot *nb_h_, size_t nb_n_, uint32_t nb_tag_, double nb_r_,
                        double nb_t_) {
    if (nb_t_ == 0) {
        nb_h_->ops++;
        return nb_const(nb_r_);
    }
    nb_h_->tan[nb_n_] = nb_t_;
    return nb__node1(nb_h_, nb_n_, nb_tag_, nb_r_);
}

/* ---- private: the dual tier ----
 * A reverse level 2 over a forward level 1 (forward over reverse: Hessian-vector products). Its
 * primals and partials are dual numbers (value, level-1 tangent); an op whose operands are
 * constants or live handles of level 2 runs here with the registry's rules compiled on nb_dual,
 * as the library's dual mode does. Off where the inline tier is, and when the target has FMA (the
 * dual numbers' arithmetic has no rounding barrier: the library then does all of it). */
#if NB__INLINE_TIER && !NB__MAY_FMA
#define NB__DUAL_TIER 1
#else
#define NB__DUAL_TIER 0
#endif

/* The registry's partials on dual numbers: nb__drule_<op>_<k>(X, Y, R, N) (also the library's). */
#include "nabla/bits/rule_words.h"
#define NB_R1(op_, a_) nb_dual_##op_(a_)
#define NB_R2(op_, a_, b_) nb_dual_##op_(a_, b_)
#define NB_RI(op_, a_, n_) nb_dual_##op_(a_, n_)
#define K(v_) nb_dual_const((double)(v_))
#define V(a_) ((a_).v)
#define NB__DRULE(name_, k_, body_)                                                               \
    static inline nb_dual nb__drule_##name_##_##k_(nb_dual X, nb_dual Y, nb_dual R, int N) {      \
        (void)X, (void)Y, (void)R, (void)N;                                                       \
        return (body_);                                                                           \
    }
#define NB_OP1(name_, lang_, primal_, dX_, ...) NB__DRULE(name_, 0, dX_)
#define NB_OP2(name_, lang_, primal_, dX_, dY_, ...) \
    NB__DRULE(name_, 0, dX_) NB__DRULE(name_, 1, dY_)
#define NB_OPI(name_, lang_, nmin_, nmax_, primal_, dX_, ...) NB__DRULE(name_, 0, dX_)
#define NB_RED1(name_, lang_, primal_, dX_, ...) NB__DRULE(name_, 0, dX_)
#define NB_RED2(name_, lang_, primal_, dX_, dY_, ...) \
    NB__DRULE(name_, 0, dX_) NB__DRULE(name_, 1, dY_)
#include "nabla/ops.def"
#undef NB_OP1
#undef NB_OP2
#undef NB_OPI
#undef NB_RED1
#undef NB_RED2
#undef NB__DRULE
#include "nabla/bits/rule_words_end.h"

/* A level-1 handle of value v and tangent t (the library's; a constant when t is 0). */
nb_var nb__level1_var(nb_ctx *c, double v, double t);

/* 1 when level 2 is a dual-mode level with room for one node and two operands. */
static inline int nb__room2(const nb__hot *nb_h_) {
    return NB__DUAL_TIER && nb_h_->dual && nb_h_->n < nb_h_->ncap &&
           nb_h_->opcap - nb_h_->nops >= 2u;
}
/* The dual number of an operand: a handle of level 2 (own) or a constant. */
static inline nb_dual nb__dval(const nb__hot *nb_h_, nb_var nb_x_, int nb_own_) {
    return nb_dual_make(nb_x_.v, nb_own_ ? nb_h_->prim_t[nb_x_.idx] : 0.0);
}
/* A node of the dual level with value r and dual partials p0, p1 on nodes i0, i1: as nb__rec2,
 * a partial exactly zero in value and tangent is not recorded, and without operands the result
 * is a level-1 handle. */
static inline nb_var nb__drec(nb_ctx *nb_c_, nb__hot *nb_h_, nb_dual nb_r_, uint32_t nb_i0_,
                              nb_dual nb_p0_, uint32_t nb_i1_, nb_dual nb_p1_) {
    if (nb_i0_ == nb_i1_) {
        nb_p0_ = nb_dual_make(nb_p0_.v + nb_p1_.v, nb_p0_.d + nb_p1_.d);
        nb_p1_ = nb_dual_const(0);
    }
    size_t nb_o_ = nb_h_->nops;
    nb_h_->op_idx[nb_o_] = nb_i0_;
    nb_h_->op_mul[nb_o_] = nb_p0_.v;
    nb_h_->op_mt[nb_o_] = nb_p0_.d;
    nb_o_ += (size_t)(nb_p0_.v != 0 || nb_p0_.d != 0);
    nb_h_->op_idx[nb_o_] = nb_i1_;
    nb_h_->op_mul[nb_o_] = nb_p1_.v;
    nb_h_->op_mt[nb_o_] = nb_p1_.d;
    nb_o_ += (size_t)(nb_p1_.v != 0 || nb_p1_.d != 0);
    if (nb_o_ == nb_h_->nops) {
        nb_h_->ops++; /* as nb__rec2 */
        return nb__level1_var(nb_c_, nb_r_.v, nb_r_.d);
    }
    nb_h_->nops = nb_o_;
    nb_h_->stmt_end[nb_h_->n] = (uint32_t)nb_o_;
    nb_h_->prim_t[nb_h_->n] = nb_r_.d;
    return nb__node1(nb_h_, nb_h_->n, nb_h_->tag, nb_r_.v);
}

#include "nabla/bits/rule_words.h"
#define NB_R1(op_, a_) nb__rnd(nb_prim_##op_(a_))
#define NB_R2(op_, a_, b_) nb__rnd(nb_prim_##op_(a_, b_))
#define NB_RI(op_, a_, n_) nb__rnd(nb_prim_##op_(a_, n_))
#define K(v_) ((double)(v_))
#define V(a_) (a_)
/* After the depth-1 tier, each op runs the dual tier inline, and then calls the library through a
 * cold function (nb__t2c_<op>). A call the compiler takes for a likely one makes it keep the
 * user's values on the stack across all the ops (rosen's sum was loaded and stored again at every
 * term: its value on constants 40%, its gradient 5% slower, with the dual tier behind such a
 * call); with the dual tier behind the cold call, spills around it made Hessian-vector products
 * 16% slower; inline, they are 14% faster than behind a plain call, for 20% more on the value and
 * 4% on the gradient than with none there at all. */
#if defined(__GNUC__) || defined(__clang__)
#define NB__COLD static __attribute__((noinline, unused, cold))
#else
#define NB__COLD static inline
#endif
/* The library's op `slow_`, behind a cold call (the depth-1 and dual tiers are tried inline). */
#define NB__T2_1(name_, slow_, params_) \
    NB__COLD nb_var nb__t2c_##name_ params_ { return slow_; }
#define NB__OP1_BODY(name_, primal_, cprimal_, dX_, dual_, n_, t2_)                               \
    if (!NB__INLINE_TIER) return t2_; /* the library, constants included */                      \
    if (nb_x_.tag == 0) return nb_const(nb__rnd(cprimal_));                                       \
    nb__hot *nb_h_ = nb__hot_of(nb_c_);                                                           \
    const uint32_t nb_tag_ = nb_h_->tag;                                                          \
    const size_t nb_n_ = nb_h_->n;                                                                \
    if (nb__owns1(nb_tag_, nb_n_, nb_x_)) {                                                       \
        if (nb_n_ < nb_h_->rlim) {                                                                \
            const double R = nb__rnd(primal_);                                                    \
            (void)R;                                                                              \
            return nb__rec1(nb_h_, nb_n_, nb_tag_, R, nb_x_.idx, (dX_));                          \
        }                                                                                         \
        if (nb_n_ < nb_h_->flim) {                                                                \
            const double R = nb__rnd(primal_);                                                    \
            (void)R;                                                                              \
            return nb__tan1(nb_h_, nb_n_, nb_tag_, R,                                             \
                            nb__rnd(nb_dual_szmul((dX_), nb_h_->tan[nb_x_.idx])));                \
        }                                                                                         \
    }                                                                                             \
    nb__hot *nb_h2_ = nb__hot2_of(nb_c_); /* the dual tier */                                     \
    if (nb__owns(nb_h2_, nb_x_) && nb__room2(nb_h2_)) {                                           \
        const nb_dual nb_dx_ = nb__dval(nb_h2_, nb_x_, 1), nb_r_ = (dual_);                       \
        nb_h_->ops += 2;                                                                          \
        return nb__drec(nb_c_, nb_h2_, nb_r_, nb_x_.idx,                                          \
                        nb__drule_##name_##_0(nb_dx_, nb_dual_const(0), nb_r_, n_), 0,            \
                        nb_dual_const(0));                                                        \
    }                                                                                             \
    return t2_;
#define NB_OP1(name_, lang_, primal_, dX_, ...)                                                   \
    NB__T2_1(name_, nb__##name_(nb_c_, nb_x_), (nb_ctx *nb_c_, nb_var nb_x_))                     \
    NB__HOT nb_var nb_##name_(nb_ctx *nb_c_, nb_var nb_x_) {                                      \
        const double X = nb_x_.v;                                                                 \
        NB__OP1_BODY(name_, primal_, nb_prim_##name_(nb__opaque(X)), dX_,                         \
                     nb_dual_##name_(nb_dx_), 0, nb__t2c_##name_(nb_c_, nb_x_))                   \
    }
#define NB_OPI(name_, lang_, nmin_, nmax_, primal_, dX_, ...)                                     \
    NB__T2_1(name_, nb__##name_(nb_c_, nb_x_, N), (nb_ctx *nb_c_, nb_var nb_x_, int N))           \
    NB__HOT nb_var nb_##name_(nb_ctx *nb_c_, nb_var nb_x_, int N) {                               \
        const double X = nb_x_.v;                                                                 \
        if (N < (nmin_) || N > (nmax_)) return nb__##name_(nb_c_, nb_x_, N); /* NaN, live in x */ \
        NB__OP1_BODY(name_, primal_, nb_prim_##name_(nb__opaque(X), N), dX_,                      \
                     nb_dual_##name_(nb_dx_, N), N, nb__t2c_##name_(nb_c_, nb_x_, N))             \
    }
#define NB_OP2(name_, lang_, primal_, dX_, dY_, ...)                                              \
    NB__COLD nb_var nb__t2c_##name_(nb_ctx *nb_c_, nb_var nb_x_, nb_var nb_y_) {                  \
        return nb__##name_(nb_c_, nb_x_, nb_y_);                                                  \
    }                                                                                             \
    NB__HOT nb_var nb_##name_(nb_ctx *nb_c_, nb_var nb_x_, nb_var nb_y_) {                        \
        const double X = nb_x_.v, Y = nb_y_.v;                                                    \
        if (!NB__INLINE_TIER) return nb__##name_(nb_c_, nb_x_, nb_y_);                            \
        if ((nb_x_.tag | nb_y_.tag) == 0)                                                         \
            return nb_const(nb__rnd(nb_prim_##name_(nb__opaque(X), nb__opaque(Y))));              \
        nb__hot *nb_h_ = nb__hot_of(nb_c_);                                                       \
        const uint32_t nb_tag_ = nb_h_->tag;                                                      \
        const size_t nb_n_ = nb_h_->n;                                                            \
        /* three paths, so that each knows which partials it records (a constant operand has none:  \
         * a test less, and none of a known-nonzero partial, per op) */                           \
        if (nb_x_.tag != 0 && nb_y_.tag != 0) {                                                   \
            if (nb__owns1(nb_tag_, nb_n_, nb_x_) && nb__owns1(nb_tag_, nb_n_, nb_y_)) {           \
                if (nb_n_ < nb_h_->rlim) {                                                        \
                    const double R = nb__rnd(primal_);                                            \
                    (void)R;                                                                      \
                    return nb__rec2(nb_h_, nb_n_, nb_tag_, R, nb_x_.idx, (dX_), nb_y_.idx, (dY_)); \
                }                                                                                 \
                if (nb_n_ < nb_h_->flim) {                                                        \
                    const double R = nb__rnd(primal_);                                            \
                    (void)R;                                                                      \
                    const double nb_tx_ = nb__rnd(nb_dual_szmul((dX_), nb_h_->tan[nb_x_.idx]));   \
                    const double nb_ty_ = nb__rnd(nb_dual_szmul((dY_), nb_h_->tan[nb_y_.idx]));   \
                    return nb__tan1(nb_h_, nb_n_, nb_tag_, R, nb_tx_ + nb_ty_);                   \
                }                                                                                 \
            }                                                                                     \
        } else if (nb_x_.tag != 0) {                                                              \
            if (nb__owns1(nb_tag_, nb_n_, nb_x_)) {                                               \
                if (nb_n_ < nb_h_->rlim) {                                                        \
                    const double R = nb__rnd(primal_);                                            \
                    (void)R;                                                                      \
                    return nb__rec1(nb_h_, nb_n_, nb_tag_, R, nb_x_.idx, (dX_));                  \
                }                                                                                 \
                if (nb_n_ < nb_h_->flim) {                                                        \
                    const double R = nb__rnd(primal_);                                            \
                    (void)R;                                                                      \
                    return nb__tan1(nb_h_, nb_n_, nb_tag_, R,                                     \
                                    nb__rnd(nb_dual_szmul((dX_), nb_h_->tan[nb_x_.idx])));        \
                }                                                                                 \
            }                                                                                     \
        } else if (nb__owns1(nb_tag_, nb_n_, nb_y_)) {                                            \
            if (nb_n_ < nb_h_->rlim) {                                                            \
                const double R = nb__rnd(primal_);                                                \
                (void)R;                                                                          \
                return nb__rec1(nb_h_, nb_n_, nb_tag_, R, nb_y_.idx, (dY_));                      \
            }                                                                                     \
            if (nb_n_ < nb_h_->flim) {                                                            \
                const double R = nb__rnd(primal_);                                                \
                (void)R;                                                                          \
                return nb__tan1(nb_h_, nb_n_, nb_tag_, R,                                         \
                                nb__rnd(nb_dual_szmul((dY_), nb_h_->tan[nb_y_.idx])));            \
            }                                                                                     \
        }                                                                                         \
        nb__hot *nb_h2_ = nb__hot2_of(nb_c_); /* the dual tier */                                 \
        const int nb_bx_ = nb__owns(nb_h2_, nb_x_), nb_by_ = nb__owns(nb_h2_, nb_y_);             \
        if ((nb_bx_ || nb_x_.tag == 0) && (nb_by_ || nb_y_.tag == 0) && nb__room2(nb_h2_)) {      \
            const nb_dual nb_dx_ = nb__dval(nb_h2_, nb_x_, nb_bx_);                               \
            const nb_dual nb_dy_ = nb__dval(nb_h2_, nb_y_, nb_by_);                               \
            const nb_dual nb_r_ = nb_dual_##name_(nb_dx_, nb_dy_);                                \
            nb__hot_of(nb_c_)->ops += 1u + (unsigned)nb_bx_ + (unsigned)nb_by_;                   \
            return nb__drec(nb_c_, nb_h2_, nb_r_, nb_x_.idx,                                      \
                            nb_bx_ ? nb__drule_##name_##_0(nb_dx_, nb_dy_, nb_r_, 0)              \
                                   : nb_dual_const(0),                                            \
                            nb_y_.idx,                                                            \
                            nb_by_ ? nb__drule_##name_##_1(nb_dx_, nb_dy_, nb_r_, 0)              \
                                   : nb_dual_const(0));                                           \
        }                                                                                         \
        return nb__t2c_##name_(nb_c_, nb_x_, nb_y_);                                              \
    }
#define NB_RED1(...)
#define NB_RED2(...)
#include "nabla/ops.def"
#undef NB_OP1
#undef NB_OP2
#undef NB_OPI
#undef NB_RED1
#undef NB_RED2
#undef NB__OP1_BODY
#undef NB__T2_1
#undef NB__COLD
#include "nabla/bits/rule_words_end.h"

/* The op `op` on handles: y is ignored by one-operand ops, n by ops without a parameter. A NaN
 * constant and NB_E_ARG for an op id out of range or a reduction. */
nb_var nb_apply(nb_ctx *c, nb_op op, nb_var x, nb_var y, int n);

/* detach: the value of x, with derivative 0 at every level (nb_stop_gradient). */
static inline nb_var nb_detach(nb_ctx *c, nb_var x) { return nb_stop_gradient(c, x); }

/* ---- inputs ---- */

/* An input of the top level, which must be forward: value x (a constant or a handle of a lower
 * level) with tangent dx (likewise). NB_E_LEVEL if the top level is not forward, NB_E_ARG if x or
 * dx already belongs to the top level; errors are recorded in the context and give a NaN
 * constant. */
nb_var nb_fwd_input(nb_ctx *c, nb_var x, nb_var dx);

nb_var nb__rev_input(nb_ctx *c, nb_var x); /* private: the library's nb_rev_input */
/* A leaf of the top level, which must be reverse (PyTorch's requires_grad, MXNet's attach_grad):
 * value x (a constant or a handle of a lower level). Its gradient collects there (nb_grad).
 * Errors as for nb_fwd_input. Inline for a constant x on a reverse level 1 with room. */
NB__HOT nb_var nb_rev_input(nb_ctx *nb_c_, nb_var nb_x_) {
    nb__hot *nb_h_ = nb__hot_of(nb_c_);
    /* (n < rlim: a reverse level 1 with room; the library's input, at the limit, moves it while
     * there is room for nodes, so that the ops after the inputs run inline) */
    if (NB__INLINE_TIER && nb_x_.tag == 0 && nb_h_->top && nb_h_->n < nb_h_->rlim) {
        nb_h_->stmt_end[nb_h_->n] = (uint32_t)nb_h_->nops;
        nb_h_->leaves++;
        return nb__node1(nb_h_, nb_h_->n, nb_h_->tag, nb_x_.v);
    }
    return nb__rev_input(nb_c_, nb_x_);
}

/* n inputs at once: out[i] = nb_rev_input(c, nb_const(x[i])) (reverse top level) or
 * nb_fwd_input(c, nb_const(x[i]), nb_const(dx[i])) (forward top level), in one call. Return the
 * context's status; NB_E_ARG for NULL arrays with n > 0. When no input can be made (that status,
 * a NULL context, a top level of another kind, a tape that cannot grow) every out[i] is a NaN
 * constant, as the one-at-a-time calls give (out may be NULL then). */
nb_status nb_rev_inputs(nb_ctx *c, size_t n, const double *x, nb_var *out);
nb_status nb_fwd_inputs(nb_ctx *c, size_t n, const double *x, const double *dx, nb_var *out);

/* The value of y as a handle of the levels below the top level: y itself when the top level does
 * not own it (a constant, a lower-level handle), else the lower-level handle it was computed
 * from (a constant at depth 1). Drivers use it to hand a function's value back to the caller's
 * levels. */
nb_var nb_primal(nb_ctx *c, nb_var y);

/* ---- forward: tangents ---- */

/* The tangent of y at the top level, which must be forward: a handle of the levels below (a
 * constant at depth 1). 0 when y does not depend on the top level's inputs. */
nb_var nb_tangent(nb_ctx *c, nb_var y);

/* ---- reverse: sweeps and gradients ---- */

/* The reverse sweep from y at the top level, which must be reverse, with seed 1: adds dy/dleaf
 * to every leaf's gradient (or replaces it, in NB_GRAD_OVERWRITE mode). The sweep runs at the
 * levels below, so under an enclosing level the gradients are differentiable handles there.
 * The tape is kept: calling it again sweeps again (so in the default mode the gradients double);
 * see docs/design.md. y not recorded on the top level (a constant, or a lower-level handle) adds
 * nothing. Returns the context's status (NB_E_LEVEL if the top level is not reverse). */
nb_status nb_backward(nb_ctx *c, nb_var y);

/* As nb_backward with seed `seed` (a constant or a handle of a lower level): adds seed * dy/dleaf.
 * A zero seed adds exactly nothing, even where dy/dleaf is inf or NaN. */
nb_status nb_backward_seed(nb_ctx *c, nb_var y, nb_var seed);

/* The vector-Jacobian product: one sweep from several outputs ys[0 .. m-1] of the top level
 * with seeds[j] (NULL: all ones), adding sum_j seeds[j] * dys[j]/dleaf to every leaf's gradient
 * - PyTorch's y.backward(gradient=v) for a non-scalar y. Seeding all ones gives the gradient of
 * sum(y). Otherwise as nb_backward. */
nb_status nb_backward_vec(nb_ctx *c, size_t m, const nb_var *ys, const nb_var *seeds);

nb_var nb__grad(nb_ctx *c, nb_var x); /* private: the library's nb_grad */
/* The gradient collected by leaf x of the top level (a handle of the levels below; a constant at
 * depth 1). 0 for a handle that is not a leaf of the top level, or before any sweep. Inline on a
 * reverse level 1. */
NB__HOT nb_var nb_grad(nb_ctx *nb_c_, nb_var nb_x_) {
    const nb__hot *nb_h_ = nb__hot_of(nb_c_);
    if (NB__INLINE_TIER && nb_h_->top && nb_h_->kind == NB_REVERSE && nb__owns(nb_h_, nb_x_) &&
        nb_x_.idx < nb_h_->adj_n) /* a swept node of a reverse level 1 on top */
        return nb_const(nb_h_->adj[nb_x_.idx]);
    return nb__grad(nb_c_, nb_x_);
}

/* The values of nb_grad(c, x[i]) into g[i], and of nb_tangent(c, y[i]) into t[i]: the plain
 * doubles of depth 1 (the values of the handles at deeper levels). Return the context's status;
 * NB_E_ARG for NULL arrays with n > 0, and NaN into every g[i] (t[i]) for that status, a NULL
 * context or a top level of another kind. */
nb_status nb_grads(nb_ctx *c, size_t n, const nb_var *x, double *g);
nb_status nb_tangents(nb_ctx *c, size_t n, const nb_var *y, double *t);

/* Clears every gradient of the top level (which must be reverse): NB_E_LEVEL otherwise, also
 * recorded in the context (nb_ctx_status). */
nb_status nb_zero_grad(nb_ctx *c);

/* ---- elementwise helpers over arrays (out may alias an input) ---- */

/* out[i] = x[i] + y[i], x[i] - y[i], x[i] * y[i], x[i] / y[i]. */
void nb_vadd(nb_ctx *c, size_t n, const nb_var *x, const nb_var *y, nb_var *out);
void nb_vsub(nb_ctx *c, size_t n, const nb_var *x, const nb_var *y, nb_var *out);
void nb_vmul(nb_ctx *c, size_t n, const nb_var *x, const nb_var *y, nb_var *out);
void nb_vdiv(nb_ctx *c, size_t n, const nb_var *x, const nb_var *y, nb_var *out);
/* out[i] = a * x[i]. */
void nb_vscale(nb_ctx *c, size_t n, nb_var a, const nb_var *x, nb_var *out);
/* out[i] = a * x[i] + y[i]. */
void nb_vaxpy(nb_ctx *c, size_t n, nb_var a, const nb_var *x, const nb_var *y, nb_var *out);
/* out[i] = op(x[i]) for a one-operand op, op(x[i], y[i]) for a two-operand op (y ignored
 * otherwise), op(x[i], param) for a parameterized op. NB_E_ARG (recorded) for a reduction. */
void nb_vapply(nb_ctx *c, nb_op op, size_t n, const nb_var *x, const nb_var *y, int param,
               nb_var *out);

#ifdef __cplusplus
}
#endif

#endif /* NABLA_VAR_H */
