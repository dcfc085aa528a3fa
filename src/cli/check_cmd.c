/* check_cmd.c - nabla check: the library's gradient check (nabla/check.h) of EXPR at the --at
 * point, printed as two tables: nabla's derivatives against central differences, and the modes
 * against each other. Exit 0 when every entry passes, 3 when one does not. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* A number for the table: %.*g, NaN as nan, infinities as inf and -inf. */
static const char *num(char *buf, size_t size, double v, int digits) {
    if (isnan(v))
        snprintf(buf, size, "nan");
    else if (isinf(v))
        snprintf(buf, size, "%s", v > 0 ? "inf" : "-inf");
    else
        snprintf(buf, size, "%.*g", digits, v);
    return buf;
}

/* A number exactly, in the fewest digits that read back (0.7, not 0.69999999999999996). */
static const char *exact(char *buf, size_t size, double v) {
    if (!isfinite(v)) return num(buf, size, v, 17);
    for (int digits = 15; digits < 17; digits++)
        if (strtod(num(buf, size, v, digits), NULL) == v) return buf;
    return num(buf, size, v, 17);
}

/* The derivative an entry is about: df/dx, d2f/dx^2, d2f/dx dy, or d2f/d(x+y)^2 for the second
 * derivative along e_x + e_y; in buf when it fits, else in memory the caller frees (names have
 * no length limit), or "?" when that cannot be allocated. */
static const char *label(char *buf, size_t size, const cli_args *a, const nb_check_entry *e) {
    const char *x = a->names[e->i], *y = a->names[e->j];
    const char *fmt;
    switch (e->kind) {
    case NB_CHECK_GRAD:
    case NB_CHECK_JVP:
    case NB_CHECK_FWD_REV:
    case NB_CHECK_TAYLOR_REV: fmt = "df/d%s"; break;
    case NB_CHECK_TAYLOR_HESS: fmt = e->i == e->j ? "d2f/d%s^2" : "d2f/d(%s+%s)^2"; break;
    default: fmt = e->i == e->j ? "d2f/d%s^2" : "d2f/d%s d%s";
    }
    const size_t need = strlen(x) + strlen(y) + 16;
    char *out = need <= size ? buf : malloc(need);
    if (!out) return "?";
    snprintf(out, need <= size ? size : need, fmt, x, y);
    return out;
}
static void label_free(const char *l, const char *buf) {
    if (l != buf && strcmp(l, "?") != 0) free((char *)l);
}

static int label_width(const cli_args *a, const nb_check_report *r) {
    int w = 10;
    for (size_t k = 0; k < r->count; k++) {
        char b[160];
        const char *l = label(b, sizeof b, a, &r->entries[k]);
        if ((int)strlen(l) > w) w = (int)strlen(l);
        label_free(l, b);
    }
    return w;
}

/* One table; fd: the central-difference table (with GSL's error column). */
static void table(const cli_args *a, const nb_check_report *r, int fd) {
    int w = label_width(a, r);
    printf("  %-*s  %-20s  %-20s  %-20s  %s%-12s  %-9s  %s\n", w, "derivative",
           fd ? "mode" : "modes", fd ? "nabla" : "value", fd ? "central difference" : "reference",
           fd ? "GSL error  " : "", "|difference|", "tolerance", "verdict");
    for (size_t k = 0; k < r->count; k++) {
        const nb_check_entry *e = &r->entries[k];
        char lb[160], v[40], ref[40], err[40], diff[40], tol[40];
        const char *l = label(lb, sizeof lb, a, e);
        printf("  %-*s  %-20s  %-20s  %-20s  ", w, l, nb_check_kind_name(e->kind),
               num(v, sizeof v, e->value, 12), num(ref, sizeof ref, e->ref, 12));
        label_free(l, lb);
        if (fd) printf("%-9s  ", num(err, sizeof err, e->ref_err, 2));
        printf("%-12s  %-9s  %s\n", num(diff, sizeof diff, e->diff, 2),
               num(tol, sizeof tol, e->tol, 2), nb_check_verdict_name(e->verdict));
    }
}

/* The failures, named: "df/dx reverse DIFFER, ...", at most 8. */
static void failures(const cli_args *a, const nb_check_report *r, size_t *listed, unsigned *seen) {
    for (size_t k = 0; k < r->count; k++) {
        const nb_check_entry *e = &r->entries[k];
        if (e->verdict == NB_CHECK_PASS) continue;
        *seen |= 1u << e->verdict;
        if (*listed == 8) fputs(", ...", stdout);
        if (*listed >= 8) {
            (*listed)++;
            continue;
        }
        char lb[160];
        const char *l = label(lb, sizeof lb, a, e);
        printf("%s%s %s %s", *listed ? ", " : "", l, nb_check_kind_name(e->kind),
               nb_check_verdict_name(e->verdict));
        label_free(l, lb);
        (*listed)++;
    }
}

int cli_check(const cli_args *a, nb_expr *e) {
    size_t n = a->nbind;
    if (n == 0)
        return cli_usage_error(a->cmd, "nothing to check: bind the variables to differentiate with "
                                       "--at NAME=VALUE");
    /* the report holds O(n) entries at order 1 and O(n^2) at order 2 (two reports, ~100 bytes an
     * entry): 4096 variables at order 1, 512 at order 2 (about 50 MB) */
    int order = a->order > 0 ? a->order : 2;
    size_t limit = order == 1 ? 4096 : 512;
    if (n > limit)
        return cli_fail(CLI_ERROR, "too many variables for a check of order %d (%zu; at most %zu)",
                        order, n, limit);
    nb_check_opts o;
    nb_check_opts_init(&o);
    if (a->order > 0) o.order = a->order;
    if (a->have_rtol) o.rtol = a->rtol;
    if (a->have_atol) o.atol = o.mode_atol = a->atol; /* both rules: "below A does not matter" */
    if (a->have_step) o.step = a->step;
    nb_ctx *c = NULL;
    if (nb_ctx_new(&c, NULL)) return cli_fail(CLI_ERROR, "out of memory");
    nb_check_report fd = {0}, modes = {0};
    nb_status s = nb_check(c, nb_expr_fn, e, n, a->values, &o, &fd);
    if (!s) s = nb_check_modes(c, nb_expr_fn, e, n, a->values, &o, &modes);
    nb_ctx_free(c);
    if (s) {
        nb_check_report_free(&fd);
        nb_check_report_free(&modes);
        return cli_fail(CLI_ERROR, "the check failed to run: %s", nb_strerror(s));
    }

    char b[40];
    printf("f = %s at ", exact(b, sizeof b, fd.fx));
    for (size_t i = 0; i < n; i++)
        printf("%s%s = %s", i ? ", " : "", a->names[i], exact(b, sizeof b, a->values[i]));
    printf("\n\nnabla against central differences (gsl_deriv_central%s):\n",
           o.order == 2 ? "; second derivatives: of the reverse-mode gradient" : "");
    table(a, &fd, 1);
    printf("\nmodes against each other:\n");
    table(a, &modes, 0);
    printf("\npass: |nabla - central| <= %g error + %g max(|nabla|, |central|) + %g, with GSL's "
           "error\n"
           "      <= %g max(|nabla|, |central|) + %g (largest of the order) + %g (or both 0);\n"
           "      modes: |value - reference| <= %g max(|value|, |reference|, largest of the order) "
           "+ %g\n",
           o.k, o.rtol, o.atol, o.resolve, o.scale_tol, o.atol, o.mode_rtol, o.mode_atol);
    size_t total = fd.count + modes.count, failed = fd.failed + modes.failed;
    if (failed == 0) {
        printf("PASS: all %zu checks agree\n", total);
    } else {
        size_t listed = 0;
        unsigned seen = 0;
        printf("FAIL: %zu of %zu checks: ", failed, total);
        failures(a, &fd, &listed, &seen);
        failures(a, &modes, &listed, &seen);
        putchar('\n');
        if (seen & (1u << NB_CHECK_DIFFER))
            puts("  DIFFER: nabla and the reference disagree beyond the tolerance");
        if (seen & (1u << NB_CHECK_UNRESOLVED))
            puts("  UNRESOLVED: the central difference is too uncertain to confirm the derivative "
                 "(a jump or kink\n  within its step, or noise in f)");
        if (seen & (1u << NB_CHECK_NONFINITE))
            puts("  NONFINITE: a derivative, central difference or GSL error estimate is NaN or "
                 "infinite (f undefined\n  or singular within the step, or so large that GSL's "
                 "estimate overflows)");
    }
    nb_check_report_free(&fd);
    nb_check_report_free(&modes);
    return failed ? CLI_CHECK_FAILED : CLI_OK;
}
