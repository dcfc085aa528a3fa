/* rule_words.h - the words of the rule algebra used by nabla/ops.def.
 *
 * No include guard: include it right before expanding ops.def and include rule_words_end.h right
 * after. The includer defines how the words evaluate:
 *   NB_R1(op, a)      a one-operand op          NB_R2(op, a, b)   a two-operand op
 *   NB_RI(op, a, n)   an op with an int param   K(c)              a constant
 *   V(a)              the plain value of a
 * With doubles, NB_R1(sin, a) is nb_prim_sin(a); with handles it is nb_sin(ctx, a).
 *
 * The words and the names X, Y, R, N are short, and a user's program may well have macros with
 * those names: each is saved with #pragma push_macro (GCC, Clang and MSVC) and undefined here,
 * and restored by rule_words_end.h, so the user's macros neither break nor lose the expansion.
 */
#pragma push_macro("X")
#undef X
#pragma push_macro("Y")
#undef Y
#pragma push_macro("R")
#undef R
#pragma push_macro("N")
#undef N
#pragma push_macro("K")
#undef K
#pragma push_macro("V")
#undef V
#pragma push_macro("ADD")
#undef ADD
#pragma push_macro("SUB")
#undef SUB
#pragma push_macro("MUL")
#undef MUL
#pragma push_macro("DIV")
#undef DIV
#pragma push_macro("NEG")
#undef NEG
#pragma push_macro("SQRT")
#undef SQRT
#pragma push_macro("EXP")
#undef EXP
#pragma push_macro("LOG")
#undef LOG
#pragma push_macro("SIN")
#undef SIN
#pragma push_macro("COS")
#undef COS
#pragma push_macro("SINH")
#undef SINH
#pragma push_macro("COSH")
#undef COSH
#pragma push_macro("SIGN")
#undef SIGN
#pragma push_macro("DIGAMMA")
#undef DIGAMMA
#pragma push_macro("HYPOT")
#undef HYPOT
#pragma push_macro("POW")
#undef POW
#pragma push_macro("POWI")
#undef POWI
#pragma push_macro("PSI_N")
#undef PSI_N
#pragma push_macro("BESSEL_J0")
#undef BESSEL_J0
#pragma push_macro("BESSEL_J1")
#undef BESSEL_J1
#pragma push_macro("BESSEL_JN")
#undef BESSEL_JN
#pragma push_macro("BESSEL_Y0")
#undef BESSEL_Y0
#pragma push_macro("BESSEL_Y1")
#undef BESSEL_Y1
#pragma push_macro("AIRY_AI")
#undef AIRY_AI
#pragma push_macro("AIRY_BI")
#undef AIRY_BI
#pragma push_macro("AIRY_AI_DERIV")
#undef AIRY_AI_DERIV
#pragma push_macro("AIRY_BI_DERIV")
#undef AIRY_BI_DERIV
#pragma push_macro("SELECT")
#undef SELECT
#pragma push_macro("NB_R1")
#undef NB_R1
#pragma push_macro("NB_R2")
#undef NB_R2
#pragma push_macro("NB_RI")
#undef NB_RI

#define ADD(a_, b_) NB_R2(add, a_, b_)
#define SUB(a_, b_) NB_R2(sub, a_, b_)
#define MUL(a_, b_) NB_R2(mul, a_, b_)
#define DIV(a_, b_) NB_R2(div, a_, b_)
#define NEG(a_) NB_R1(neg, a_)
#define SQRT(a_) NB_R1(sqrt, a_)
#define EXP(a_) NB_R1(exp, a_)
#define LOG(a_) NB_R1(log, a_)
#define SIN(a_) NB_R1(sin, a_)
#define COS(a_) NB_R1(cos, a_)
#define SINH(a_) NB_R1(sinh, a_)
#define COSH(a_) NB_R1(cosh, a_)
#define SIGN(a_) NB_R1(sign, a_)
#define DIGAMMA(a_) NB_R1(digamma, a_)
#define HYPOT(a_, b_) NB_R2(hypot, a_, b_)
#define POW(a_, b_) NB_R2(pow, a_, b_)
#define POWI(a_, n_) NB_RI(powi, a_, n_)
#define PSI_N(n_, a_) NB_RI(psi_n, a_, n_)
#define BESSEL_J0(a_) NB_R1(bessel_j0, a_)
#define BESSEL_J1(a_) NB_R1(bessel_j1, a_)
#define BESSEL_JN(n_, a_) NB_RI(bessel_jn, a_, n_)
#define BESSEL_Y0(a_) NB_R1(bessel_y0, a_)
#define BESSEL_Y1(a_) NB_R1(bessel_y1, a_)
#define AIRY_AI(a_) NB_R1(airy_ai, a_)
#define AIRY_BI(a_) NB_R1(airy_bi, a_)
#define AIRY_AI_DERIV(a_) NB_R1(airy_ai_deriv, a_)
#define AIRY_BI_DERIV(a_) NB_R1(airy_bi_deriv, a_)
#define SELECT(c_, a_, b_) ((c_) ? (a_) : (b_))
