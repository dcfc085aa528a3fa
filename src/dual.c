/* dual.c - dual numbers and primals applied by op id, for code that holds an nb_op rather than
 * a function name (expression programs, tests). The per-op work is the inline nb_dual_<op>. */
#include <math.h>

#include "nabla/dual.h"

nb_dual nb_dual_apply(nb_op op, nb_dual x, nb_dual y, int n) {
    switch (op) {
#define NB_OP1(name_, ...) \
    case NB_OP_##name_: return nb_dual_##name_(x);
#define NB_OP2(name_, ...) \
    case NB_OP_##name_: return nb_dual_##name_(x, y);
#define NB_OPI(name_, ...) \
    case NB_OP_##name_: return nb_dual_##name_(x, n);
#define NB_RED1(name_, ...) case NB_OP_##name_:
#define NB_RED2(name_, ...) case NB_OP_##name_:
#include "nabla/ops.def"
#undef NB_OP1
#undef NB_OP2
#undef NB_OPI
#undef NB_RED1
#undef NB_RED2
    case NB_OP_COUNT: break;
    }
    return nb_dual_make(NAN, NAN);
}

double nb_prim_apply(nb_op op, double x, double y, int n) {
    switch (op) {
#define NB_OP1(name_, ...) \
    case NB_OP_##name_: return nb_prim_##name_(x);
#define NB_OP2(name_, ...) \
    case NB_OP_##name_: return nb_prim_##name_(x, y);
#define NB_OPI(name_, ...) \
    case NB_OP_##name_: return nb_prim_##name_(x, n);
#define NB_RED1(name_, ...) case NB_OP_##name_:
#define NB_RED2(name_, ...) case NB_OP_##name_:
#include "nabla/ops.def"
#undef NB_OP1
#undef NB_OP2
#undef NB_OPI
#undef NB_RED1
#undef NB_RED2
    case NB_OP_COUNT: break;
    }
    return NAN;
}
