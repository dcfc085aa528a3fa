/* ops.c - the registry's metadata table (names, arities, rule texts), expanded from ops.def. */
#include <stddef.h>
#include <string.h>

#include "nabla/ops.h"

static const nb_op_info op_table[NB_OP_COUNT] = {
#define NB_OP1(name_, lang_, primal_, dX_, domain_, nondiff_) \
    {#name_, lang_, 1, 0, 0, 0, 0, #primal_, {#dX_, NULL}, domain_, nondiff_},
#define NB_OP2(name_, lang_, primal_, dX_, dY_, domain_, nondiff_) \
    {#name_, lang_, 2, 0, 0, 0, 0, #primal_, {#dX_, #dY_}, domain_, nondiff_},
#define NB_OPI(name_, lang_, nmin_, nmax_, primal_, dX_, domain_, nondiff_) \
    {#name_, lang_, 1, 0, 1, nmin_, nmax_, #primal_, {#dX_, NULL}, domain_, nondiff_},
#define NB_RED1(name_, lang_, primal_, dX_, domain_, nondiff_) \
    {#name_, lang_, 1, 1, 0, 0, 0, #primal_, {#dX_, NULL}, domain_, nondiff_},
#define NB_RED2(name_, lang_, primal_, dX_, dY_, domain_, nondiff_) \
    {#name_, lang_, 2, 1, 0, 0, 0, #primal_, {#dX_, #dY_}, domain_, nondiff_},
#include "nabla/ops.def"
#undef NB_OP1
#undef NB_OP2
#undef NB_OPI
#undef NB_RED1
#undef NB_RED2
};

const nb_op_info *nb_op_get(nb_op op) {
    if ((int)op < 0 || (int)op >= NB_OP_COUNT) return NULL;
    return &op_table[op];
}

int nb_op_find(const char *name) {
    if (!name) return -1;
    for (int i = 0; i < NB_OP_COUNT; i++)
        if (strcmp(op_table[i].name, name) == 0) return i;
    return -1;
}

int nb_op_find_lang(const char *name) {
    if (!name) return -1;
    for (int i = 0; i < NB_OP_COUNT; i++)
        if (op_table[i].lang && strcmp(op_table[i].lang, name) == 0) return i;
    return -1;
}
