/* commands.c - eval, diff, grad, hess, jac: parse EXPR, bind the --at names, run the library (plot
 * and check have files of their own). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Parses a->expr and binds it to the --at names; prints the error and returns its status. */
static int compile(const cli_args *a, nb_expr **out) {
    nb_expr *e = NULL;
    nb_status s = nb_expr_parse(&e, a->expr, a->expr_len, NULL);
    if (s == NB_E_NOMEM) return cli_fail(CLI_ERROR, "out of memory");
    if (s != NB_OK) {
        int rc = cli_syntax_error(strcmp(a->expr_origin, "EXPR") == 0 ? "syntax error" : a->expr_origin,
                                  a->expr, a->expr_len, e);
        nb_expr_free(e);
        return rc;
    }
    if (strcmp(a->cmd, "plot") == 0) { /* plot binds its own names (the plotted variable too) */
        *out = e;
        return 0;
    }
    s = nb_expr_bind(e, a->nbind, (const char *const *)a->names);
    if (s != NB_OK) {
        int rc = cli_fail(CLI_ERROR, "%s%s", nb_expr_error(e),
                          s == NB_E_UNBOUND ? " (bind it with --at NAME=VALUE)" : "");
        nb_expr_free(e);
        return rc;
    }
    *out = e;
    return 0;
}

static int library_error(nb_status s) {
    return cli_fail(CLI_ERROR, "evaluation failed: %s", nb_strerror(s));
}

static int cmd_eval(const cli_args *a, nb_expr *e) {
    double v;
    nb_status s = nb_expr_eval(e, a->values, &v);
    if (s) return library_error(s);
    cli_print_number(stdout, v);
    putchar('\n');
    return 0;
}

size_t cli_at_index(const cli_args *a, const char *name) {
    for (size_t i = 0; i < a->nbind; i++)
        if (strcmp(a->names[i], name) == 0) return i;
    return a->nbind;
}

/* A warning on standard error when the rounding estimate of a derivative exceeds 1e-8 of it
 * (fewer than about 8 good digits of the 17 printed): from which order, and the worst. Exact
 * zeros and non-finite values are not judged. */
static void warn_rounding(const double *d, const double *err, int K) {
    int first = 0, worst_k = 0;
    double worst = 0;
    for (int k = 1; k <= K; k++) {
        if (d[k] == 0 || !isfinite(d[k]) || !isfinite(err[k])) continue;
        const double rel = err[k] / fabs(d[k]);
        if (rel <= 1e-8) continue;
        if (!first) first = k;
        if (rel > worst) worst = rel, worst_k = k;
    }
    if (first)
        cli_fail(0, "warning: from order %d on the derivatives may be good to only about %.0e "
                    "relative (order %d), " CLI_ROUNDING_WHY,
                 first, worst, worst_k);
}

static int cmd_diff(const cli_args *a, nb_expr *e) {
    size_t wrt = a->nbind;
    if (a->wrt) {
        wrt = cli_at_index(a, a->wrt); /* cli_run has checked that --at binds it */
    } else if (nb_expr_var_count(e) == 1) {
        for (size_t i = 0; i < a->nbind; i++)
            if (strcmp(a->names[i], nb_expr_var_name(e, 0)) == 0) wrt = i;
    } else if (nb_expr_var_count(e) > 1) {
        return cli_usage_error(a->cmd, "the expression uses %zu variables: name one with --wrt",
                               nb_expr_var_count(e));
    } else {
        return cli_usage_error(a->cmd, "the expression uses no variable: name one with --wrt "
                                       "and bind it with --at");
    }
    int K = a->order < 0 ? 1 : a->order;
    double *dir = calloc(a->nbind ? a->nbind : 1, sizeof *dir);
    double *coef = malloc(2 * ((size_t)K + 1) * sizeof *coef);
    nb_ctx *c = NULL;
    if (!dir || !coef || nb_ctx_new(&c, NULL)) {
        free(dir);
        free(coef);
        return cli_fail(CLI_ERROR, "out of memory");
    }
    double *err = coef + K + 1;
    dir[wrt] = 1;
    nb_status s =
        nb_taylor_derivatives_err(c, nb_expr_fn, e, a->nbind, a->values, dir, K, coef, err);
    nb_ctx_free(c);
    if (!s) {
        for (int k = 0; k <= K; k++) {
            cli_print_number(stdout, coef[k]);
            putchar('\n');
        }
        warn_rounding(coef, err, K);
    }
    free(dir);
    free(coef);
    return s ? library_error(s) : 0;
}

/* grad, hess and jac differentiate with respect to the --at names: none is a usage error (the
 * expression has parsed and bound, so it uses no variable) */
static int nothing_bound(const cli_args *a) {
    return cli_usage_error(a->cmd, "nothing to differentiate: bind the variables with --at "
                                   "NAME=VALUE");
}

static int cmd_grad(const cli_args *a, nb_expr *e) {
    if (a->nbind == 0) return nothing_bound(a);
    double *g = malloc((a->nbind ? a->nbind : 1) * sizeof *g);
    nb_ctx *c = NULL;
    if (!g || nb_ctx_new(&c, NULL)) {
        free(g);
        return cli_fail(CLI_ERROR, "out of memory");
    }
    nb_status s = nb_gradient(c, nb_expr_fn, e, a->nbind, a->values, NULL, g);
    nb_ctx_free(c);
    if (!s)
        for (size_t i = 0; i < a->nbind; i++) {
            cli_print_number(stdout, g[i]);
            putchar('\n');
        }
    free(g);
    return s ? library_error(s) : 0;
}

static int cmd_hess(const cli_args *a, nb_expr *e) {
    size_t n = a->nbind;
    if (n == 0) return nothing_bound(a);
    if (n > 4096) return cli_fail(CLI_ERROR, "too many variables for a Hessian (%zu)", n);
    double *H = malloc((n ? n * n : 1) * sizeof *H);
    nb_ctx *c = NULL;
    if (!H || nb_ctx_new(&c, NULL)) {
        free(H);
        return cli_fail(CLI_ERROR, "out of memory");
    }
    nb_status s = nb_hessian(c, nb_expr_fn, e, n, a->values, NULL, NULL, H);
    nb_ctx_free(c);
    if (!s)
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < n; j++) {
                if (j) putchar(' ');
                cli_print_number(stdout, H[i * n + j]);
            }
            putchar('\n');
        }
    free(H);
    return s ? library_error(s) : 0;
}

/* ---- jac: several expressions, split at the commas outside parentheses ---- */

struct jac_env {
    nb_expr **e;
    size_t m;
};
static void jac_fn(nb_ctx *c, const nb_var *x, nb_var *y, void *p) {
    const struct jac_env *j = p;
    for (size_t i = 0; i < j->m; i++) y[i] = nb_expr_run(c, j->e[i], x);
}

static int cmd_jac(const cli_args *a) {
    const char *src = a->expr;
    const size_t len = a->expr_len, n = a->nbind;
    const char *origin = strcmp(a->expr_origin, "EXPR") == 0 ? "syntax error" : a->expr_origin;
    /* the length limit is the whole text's, as for one expression (-f reads one byte more than
     * the limit so that a longer file is refused, not cut): the parser's own message */
    nb_expr_opts lim;
    nb_expr_opts_init(&lim);
    if (len > lim.max_length) {
        nb_expr *whole = NULL;
        if (nb_expr_parse(&whole, src, len, NULL) == NB_E_NOMEM) return cli_fail(CLI_ERROR, "out of memory");
        int rc = cli_syntax_error(origin, src, len, whole);
        nb_expr_free(whole);
        return rc;
    }
    size_t m = 1;
    int depth = 0;
    for (size_t i = 0; i < len; i++) {
        depth += src[i] == '(' ? 1 : src[i] == ')' ? -1 : 0;
        m += src[i] == ',' && depth == 0;
    }
    /* the outermost '(' left open (len if none): it holds the commas after it in one piece */
    size_t open_at = len;
    for (size_t i = len, close = 0; i-- > 0;) {
        if (src[i] == ')') close++;
        else if (src[i] == '(' && close > 0) close--;
        else if (src[i] == '(') open_at = i;
    }
    if (n && m > ((size_t)1 << 24) / n)
        return cli_fail(CLI_ERROR, "too large a Jacobian (%zu expressions, %zu variables)", m, n);
    nb_expr **e = calloc(m, sizeof *e);
    double *J = malloc((m * n != 0 ? m * n : 1) * sizeof *J);
    if (!e || !J) {
        free(e);
        free(J);
        return cli_fail(CLI_ERROR, "out of memory");
    }
    int rc = 0;
    size_t start = 0, k = 0;
    depth = 0;
    for (size_t i = 0; i <= len && !rc; i++) {
        if (i < len) {
            depth += src[i] == '(' ? 1 : src[i] == ')' ? -1 : 0;
            if (src[i] != ',' || depth != 0) continue;
        }
        /* expression k is src[start .. i) */
        nb_status s = nb_expr_parse(&e[k], src + start, i - start, NULL);
        if (s == NB_E_NOMEM) {
            rc = cli_fail(CLI_ERROR, "out of memory");
        } else if (s != NB_OK) {
            const size_t wl = strlen(origin) + 40;
            char *what = malloc(wl);
            if (!what) {
                rc = cli_fail(CLI_ERROR, "out of memory");
            } else {
                snprintf(what, wl, "%s (expression %zu)", origin, k + 1);
                rc = cli_syntax_error_at(what, src, len, e[k], start);
                free(what);
                /* the parser stopped at a comma after that '(': say why it is not a separator */
                const size_t col = nb_expr_error_column(e[k]);
                const size_t at = col ? start + col - 1 : len;
                if (open_at < at && at < len && src[at] == ',')
                    fprintf(stderr,
                            "  (the '(' at column %zu is not closed: the commas after it are "
                            "inside parentheses, so they do not separate expressions)\n",
                            open_at + 1);
            }
        } else if ((s = nb_expr_bind(e[k], n, (const char *const *)a->names)) != NB_OK) {
            rc = cli_fail(CLI_ERROR, "expression %zu: %s%s", k + 1, nb_expr_error(e[k]),
                          s == NB_E_UNBOUND ? " (bind it with --at NAME=VALUE)" : "");
        }
        k++;
        start = i + 1;
    }
    if (!rc && n == 0) rc = nothing_bound(a);
    nb_ctx *c = NULL;
    if (!rc && nb_ctx_new(&c, NULL)) rc = cli_fail(CLI_ERROR, "out of memory");
    if (!rc) {
        struct jac_env env = {e, m};
        nb_status s = nb_jacobian(c, jac_fn, &env, n, m, a->values, NB_JAC_AUTO, NULL, J);
        if (s) {
            rc = library_error(s);
        } else {
            for (size_t i = 0; i < m; i++) {
                for (size_t j = 0; j < n; j++) {
                    if (j) putchar(' ');
                    cli_print_number(stdout, J[i * n + j]);
                }
                putchar('\n');
            }
        }
    }
    nb_ctx_free(c);
    for (size_t i = 0; i < m; i++) nb_expr_free(e[i]);
    free(e);
    free(J);
    return rc;
}

int cli_run(const cli_args *a) {
    /* diff differentiates at a point, so its --wrt needs a value: a usage error, found before the
     * expression is read (whether or not the expression uses the name) */
    if (a->wrt && strcmp(a->cmd, "diff") == 0 && cli_at_index(a, a->wrt) == a->nbind)
        return cli_usage_error(a->cmd, "--wrt %s: '%s' has no value; bind it with --at %s=VALUE",
                               a->wrt, a->wrt, a->wrt);
    if (strcmp(a->cmd, "jac") == 0) {
        int rc = cmd_jac(a);
        if (!rc) rc = cli_output_flushed();
        return rc;
    }
    nb_expr *e = NULL;
    int rc = compile(a, &e);
    if (rc) return rc;
    if (strcmp(a->cmd, "eval") == 0)
        rc = cmd_eval(a, e);
    else if (strcmp(a->cmd, "diff") == 0)
        rc = cmd_diff(a, e);
    else if (strcmp(a->cmd, "grad") == 0)
        rc = cmd_grad(a, e);
    else if (strcmp(a->cmd, "plot") == 0)
        rc = cli_plot(a, e);
    else if (strcmp(a->cmd, "check") == 0)
        rc = cli_check(a, e);
    else
        rc = cmd_hess(a, e);
    nb_expr_free(e);
    if (!rc || rc == CLI_CHECK_FAILED) {
        int out = cli_output_flushed();
        if (out) rc = out;
    }
    return rc;
}
