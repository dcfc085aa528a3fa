/* fuzz_expr.c - libFuzzer target for the expression parser: parse any bytes; when they parse,
 * bind the expression's own variables and run it on doubles, dual numbers, a reverse level, a
 * forward-over-reverse Hessian and a Taylor level of order 3. Built only in a clang build where
 * -fsanitize=fuzzer links (tests/meson.build); see docs/expressions.md. Never run by CI. */
#include <stddef.h>
#include <stdint.h>

#include "nabla/nabla.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static nb_var run(nb_ctx *c, const nb_var *x, void *env) { return nb_expr_run(c, env, x); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nb_expr *e = NULL;
    nb_status s = nb_expr_parse(&e, (const char *)data, size, NULL);
    if (s == NB_OK) {
        size_t n = nb_expr_var_count(e);
        if (n <= 8) {
            const char *names[8];
            double x[8], v[8], g[8], H[64], t[4], out;
            nb_dual d[8], dout;
            for (size_t i = 0; i < n; i++) {
                names[i] = nb_expr_var_name(e, i);
                x[i] = 0.3 + 0.7 * (double)i;
                v[i] = 1;
                d[i] = nb_dual_make(x[i], 1);
            }
            if (nb_expr_bind(e, n, names) == NB_OK) {
                nb_expr_eval(e, x, &out);
                nb_expr_eval_dual(e, d, &dout);
                nb_ctx *c = NULL;
                if (nb_ctx_new(&c, NULL) == NB_OK) {
                    nb_gradient(c, run, e, n, x, &out, g);
                    if (n <= 3) nb_hessian(c, run, e, n, x, NULL, NULL, H);
                    nb_taylor(c, run, e, n, x, v, 3, t);
                    nb_ctx_free(c);
                }
            }
        }
    }
    nb_expr_free(e);
    return 0;
}
