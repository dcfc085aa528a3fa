/* opsdoc.c - prints docs/ops.md from the op registry (the file is generated, never hand-edited;
 * tests/meson.build checks that the committed file matches this program's output, and
 * `meson compile -C build ops-doc` rewrites it). */
#include <stdio.h>
#include <string.h>

#include "nabla/ops.h"

/* Writes s with '|' escaped, so that rule texts cannot break the Markdown table. */
static void cell(const char *s) {
    for (; *s; s++) {
        if (*s == '|') fputc('\\', stdout);
        fputc(*s, stdout);
    }
}

int main(void) {
    puts("# The op registry");
    puts("");
    puts("Generated from `include/nabla/ops.def` by `src/tools/opsdoc.c`; do not edit by hand.");
    puts("Regenerate with `meson compile -C build ops-doc`; a test fails when this file and the");
    puts("registry disagree.");
    puts("");
    puts("Rules are the registry's own text in the rule algebra: `X`, `Y` are the operands, `R` the");
    puts("op's result, `N` the integer parameter, `K(c)` a constant, `V(a)` a plain value,");
    puts("`SELECT(c, a, b)` the only branch (its condition is not differentiated). Every derivative");
    puts("product follows the strong-zero NaN policy of docs/design.md: an exactly zero tangent,");
    puts("partial or adjoint gives 0 even against inf or NaN. In a reduction's rules `X` and `Y` are");
    puts("the elements x_i and y_i and `R` is the reduction's value; its primal is a C function of");
    puts("(n, x, stride, y, stride) in `include/nabla/ops.h`.");
    puts("");
    puts("| op | language | operands | primal | derivative | domain | non-differentiable points |");
    puts("|---|---|---|---|---|---|---|");
    for (int i = 0; i < NB_OP_COUNT; i++) {
        const nb_op_info *op = nb_op_get((nb_op)i);
        printf("| `%s` | ", op->name);
        if (op->lang)
            printf(op->has_param ? "`%s(n, x)`" : "`%s`", op->lang);
        else
            fputs("(internal)", stdout);
        if (op->reduction)
            printf(" | %s (n elements; one statement) | `",
                   op->arity == 1 ? "vector x" : "vectors x, y");
        else if (op->has_param)
            printf(" | x; int n in [%d, %d] | `", op->nmin, op->nmax);
        else
            printf(" | %s | `", op->arity == 1 ? "x" : "x, y");
        cell(op->primal);
        fputs("` | ", stdout);
        for (int k = 0; k < op->arity; k++) {
            if (op->reduction)
                printf("d/d%s_i: ", k == 0 ? "x" : "y");
            else if (op->arity > 1)
                printf("d/d%s: ", k == 0 ? "x" : "y");
            fputs("`", stdout);
            cell(op->rule[k]);
            fputs(k + 1 < op->arity ? "`<br>" : "`", stdout);
        }
        fputs(" | ", stdout);
        cell(op->domain);
        fputs(" | ", stdout);
        cell(op->nondiff);
        puts(" |");
    }
    return 0;
}
