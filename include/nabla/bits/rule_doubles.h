/* rule_doubles.h - the rule algebra of nabla/ops.def evaluated on plain doubles: includes
 * rule_words.h and makes each word the primal function of nabla/ops.h (NB_R1(sin, a) is
 * nb_prim_sin(a)), K(c) a double and V(a) the double itself.
 *
 * No include guard, as rule_words.h: include it right before expanding ops.def and include
 * rule_words_end.h right after. */
#include "nabla/bits/rule_words.h"
#define NB_R1(op_, a_) nb_prim_##op_(a_)
#define NB_R2(op_, a_, b_) nb_prim_##op_(a_, b_)
#define NB_RI(op_, a_, n_) nb_prim_##op_(a_, n_)
#define K(v_) ((double)(v_))
#define V(a_) (a_)
