/* test_cli.c - every function of the language through the nabla command: the value and the first
 * three derivatives printed by `nabla diff` against the library's direct results (a Taylor pass on
 * the registry op itself); and the columns of `nabla plot --check --data`. The command is found
 * through the environment variable NABLA. */
#define _POSIX_C_SOURCE 200809L /* popen */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nabla/nabla.h"
#include "op_table.h"

struct direct {
    nb_op op;
    int n;
};
static nb_var direct_fn(nb_ctx *c, const nb_var *x, void *p) {
    const struct direct *d = p;
    return nb_apply(c, d->op, x[0], nb_op_get(d->op)->arity == 2 ? x[1] : nb_const(0), d->n);
}

/* Runs the command line and reads up to max numbers from its output; returns how many. */
static int run(const char *cmd, double *out, int max, int *status) {
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p, "popen %s", cmd);
    int n = 0;
    char line[256];
    while (n < max && fgets(line, sizeof line, p)) out[n++] = strtod(line, NULL);
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return n;
}

struct row {
    int op;
};
ParameterizedTestParameters(cli, every_function) {
    static struct row rows[NB_OP_COUNT];
    size_t k = 0;
    for (int i = 0; i < NB_OP_COUNT; i++)
        if (nb_op_get((nb_op)i)->lang) rows[k++].op = i;
    return cr_make_param_array(struct row, rows, k);
}

ParameterizedTest(struct row *r, cli, every_function) {
    const char *nabla = getenv("NABLA");
    cr_assert_not_null(nabla, "NABLA must name the nabla executable");
    const nb_op_info *info = nb_op_get((nb_op)r->op);
    const struct closed_form *cf = closed_form_of(info->name);
    cr_assert_not_null(cf);
    nb_ctx *c = NULL;
    nb_ctx_new(&c, NULL);
    int nparams = info->has_param ? cf->nparams : 1;
    for (int pi = 0; pi < nparams; pi++) {
        int n = info->has_param ? cf->params[pi] : 0;
        char expr[64];
        if (info->has_param)
            snprintf(expr, sizeof expr, "%s(%d, x)", info->lang, n);
        else if (info->arity == 2)
            snprintf(expr, sizeof expr, "%s(x, y)", info->lang);
        else
            snprintf(expr, sizeof expr, "%s(x)", info->lang);
        struct direct d = {(nb_op)r->op, n};
        for (int k = 0; k < cf->npts; k++) {
            double x[2] = {cf->pts[k][0], cf->pts[k][1]};
            for (int wrt = 0; wrt < info->arity; wrt++) {
                char cmd[512];
                snprintf(cmd, sizeof cmd, "'%s' diff '%s' --at x=%.17g,y=%.17g --wrt %s --order 3",
                         nabla, expr, x[0], x[1], wrt ? "y" : "x");
                double got[4];
                int status;
                int m = run(cmd, got, 4, &status);
                cr_assert_eq(status, 0, "%s: exit %d", cmd, status);
                cr_assert_eq(m, 4, "%s: %d numbers", cmd, m);
                double v[2] = {wrt == 0, wrt == 1}, want[4];
                cr_assert_eq(nb_taylor(c, direct_fn, &d, 2, x, v, 3, want), NB_OK);
                double fact[4] = {1, 1, 2, 6};
                for (int o = 0; o < 4; o++) {
                    double w = want[o] * fact[o];
                    /* the command runs the same ops in the same order: %.17g round-trips
                     * exactly */
                    cr_expect(got[o] == w || (isnan(got[o]) && isnan(w)),
                              "%s: order %d printed %.17g, library %.17g", cmd, o, got[o], w);
                }
            }
        }
    }
    nb_ctx_free(c);
}

/* nabla plot --check --data: the overlay's columns, read back from the table. f' against the
 * analytic derivative, fd against it within GSL's own estimate, and the error column exactly
 * |f' - fd| of the printed numbers (%.17g reads back exactly). */
Test(cli, plot_check_data_columns) {
    const char *nabla = getenv("NABLA");
    cr_assert_not_null(nabla, "NABLA must name the nabla executable");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "'%s' plot 'x^3*exp(-x)' --check --data --range 0.5:4 --samples 36", nabla);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    char line[1024];
    cr_assert_not_null(fgets(line, sizeof line, p));
    cr_expect_str_eq(line, "x\tf\tf'\tfd\tfd_err\t|f'-fd|\n");
    int rows = 0;
    while (fgets(line, sizeof line, p)) {
        double x, f, d1, fd, err, diff;
        cr_assert_eq(sscanf(line, "%lf %lf %lf %lf %lf %lf", &x, &f, &d1, &fd, &err, &diff), 6, "%s", line);
        double want = (3 * x * x - x * x * x) * exp(-x);
        cr_expect(fabs(d1 - want) <= 1e-14 * fmax(1, fabs(want)), "f'(%g) = %.17g, analytic %.17g", x, d1, want);
        cr_expect(fabs(fd - want) <= 4 * err + 1e-7 * fabs(want), "fd(%g) = %.17g +- %g, analytic %.17g",
                  x, fd, err, want);
        cr_expect_gt(err, 0);
        cr_expect_eq(diff, fabs(d1 - fd), "x=%g: |f'-fd| column %.17g", x, diff);
        rows++;
    }
    int st = pclose(p);
    cr_expect_eq(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0);
    cr_expect_eq(rows, 36);
}

/* nabla jac -f: a file over the 1 MiB limit is refused as a whole (each of its expressions is
 * short, but the text is cut at the limit: a silently truncated Jacobian before), and a syntax
 * error names the file in full and the expression. */
static int run_text(const char *cmd, char *out, size_t cap) {
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p, "popen %s", cmd);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(cli, jac_file_limits_and_messages) {
    const char *nabla = getenv("NABLA");
    cr_assert_not_null(nabla, "NABLA must name the nabla executable");
    char dir[] = "/tmp/nabla_jac_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[512], cmd[1024], out[4096];
    snprintf(path, sizeof path, "%s/an_expression_file_with_a_rather_long_name_for_messages.txt",
             dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 1048570; i++) fputc(' ', f);
    fputs("x, x*123456\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s jac -f %s --at x=1 2>&1", nabla, path);
    cr_expect_eq(run_text(cmd, out, sizeof out), 1, "%s", out);
    cr_expect(strstr(out, "expression too long") != NULL, "%s", out);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("x*y, x+*y\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s jac -f %s --at x=1,y=2 2>&1", nabla, path);
    cr_expect_eq(run_text(cmd, out, sizeof out), 1, "%s", out);
    char want[600];
    snprintf(want, sizeof want, "nabla: %s (expression 2): column 8: unexpected '*'", path);
    cr_expect(strstr(out, want) != NULL, "%s", out);
    remove(path);
    rmdir(dir);
}

/* A plot whose special functions make it take far longer than its instruction count says is
 * refused from a timed pilot: tgamma at order 100 costs hundreds of units a sample (digamma's
 * series, O(K^3)), and 10^6 samples would take about an hour (a review: 32 000 samples, then 14
 * minutes, passed the count). A cheap function at the same count runs. */
Test(cli, plot_refuses_what_a_pilot_projects_to_take_too_long) {
    const char *nabla = getenv("NABLA");
    cr_assert_not_null(nabla, "NABLA must name the nabla executable");
    char cmd[512], out[2048];
    snprintf(cmd, sizeof cmd,
             "'%s' plot 'tgamma(x)' --orders 0,100 --samples 1000000 --data 2>&1 >/dev/null",
             nabla);
    int rc = run_text(cmd, out, sizeof out);
    cr_expect_eq(rc, 1, "%s", out);
    cr_expect(strstr(out, "16 samples took") && strstr(out, "minutes"), "%s", out);
    snprintf(cmd, sizeof cmd, "'%s' plot 'erf(x)' --orders 0,100 --samples 2000 --data | wc -l",
             nabla);
    rc = run_text(cmd, out, sizeof out);
    cr_expect_eq(rc, 0);
    cr_expect_eq(atoi(out), 2001, "%s", out);
}
