/* args.c - the nabla command's arguments: options before or after EXPR, --at bindings (constant
 * expressions, split on commas outside parentheses), --order, --wrt, -f FILE. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The longest expression the library accepts; a file is read up to one byte more, so that the
 * parser can say "too long" without the whole file being held. */
#define MAX_EXPR 1048576

void cli_args_free(cli_args *a) {
    free(a->expr);
    for (size_t i = 0; i < a->nbind; i++) free(a->names[i]);
    free(a->names);
    free(a->values);
    memset(a, 0, sizeof *a);
}

static int is_name(const char *s, size_t n) {
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        int alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
        if (!alpha && !(i > 0 && ch >= '0' && ch <= '9')) return 0;
    }
    return 1;
}

/* One binding NAME=VALUE (text s[0 .. n-1]). */
static int add_binding(cli_args *a, const char *s, size_t n) {
    const char *eq = memchr(s, '=', n);
    if (!eq) return cli_usage_error(a->cmd, "malformed --at binding '%.*s': expected NAME=VALUE", (int)n, s);
    size_t nl = (size_t)(eq - s), vl = n - nl - 1;
    if (nl == 0) return cli_usage_error(a->cmd, "malformed --at binding '%.*s': empty name", (int)n, s);
    if (vl == 0) return cli_usage_error(a->cmd, "malformed --at binding '%.*s': empty value", (int)n, s);
    if (!is_name(s, nl))
        return cli_usage_error(a->cmd, "malformed --at binding '%.*s': '%.*s' is not a name", (int)n,
                               s, (int)nl, s);
    char name[256];
    if (nl >= sizeof name) return cli_usage_error(a->cmd, "malformed --at binding: name too long");
    memcpy(name, s, nl);
    name[nl] = 0;
    if (strcmp(name, "pi") == 0 || strcmp(name, "e") == 0)
        return cli_usage_error(a->cmd, "--at %s: '%s' is a constant, it cannot be bound", name, name);
    if (nb_op_find_lang(name) >= 0)
        return cli_usage_error(a->cmd, "--at %s: '%s' is a function, it cannot be bound", name, name);
    for (size_t i = 0; i < a->nbind; i++)
        if (strcmp(a->names[i], name) == 0)
            return cli_usage_error(a->cmd, "--at: '%s' is bound twice", name);
    /* the value: a constant expression */
    nb_expr *e = NULL;
    nb_status st = nb_expr_parse(&e, eq + 1, vl, NULL);
    if (st == NB_E_NOMEM) return cli_fail(CLI_ERROR, "out of memory");
    if (st != NB_OK) {
        int rc = cli_usage_error(a->cmd, "--at %s: the value does not parse: column %zu: %s", name,
                                 nb_expr_error_column(e), nb_expr_error(e));
        nb_expr_free(e);
        return rc;
    }
    if (nb_expr_var_count(e) > 0) {
        int rc = cli_usage_error(a->cmd, "--at %s: the value must be a constant, not use '%s'", name,
                                 nb_expr_var_name(e, 0));
        nb_expr_free(e);
        return rc;
    }
    double v = NAN;
    nb_expr_eval(e, NULL, &v);
    nb_expr_free(e);
    if (!isfinite(v))
        return cli_usage_error(a->cmd, "--at %s: the value %.*s is not a finite number", name,
                               (int)vl, eq + 1);
    char **names = realloc(a->names, (a->nbind + 1) * sizeof *names);
    if (!names) return cli_fail(CLI_ERROR, "out of memory");
    a->names = names;
    double *values = realloc(a->values, (a->nbind + 1) * sizeof *values);
    if (!values) return cli_fail(CLI_ERROR, "out of memory");
    a->values = values;
    a->names[a->nbind] = malloc(nl + 1);
    if (!a->names[a->nbind]) return cli_fail(CLI_ERROR, "out of memory");
    memcpy(a->names[a->nbind], name, nl + 1);
    a->values[a->nbind++] = v;
    return 0;
}

/* --at NAME=V[,NAME=V...]: split on commas outside parentheses. */
static int add_bindings(cli_args *a, const char *s) {
    size_t start = 0, i = 0;
    int depth = 0;
    for (;; i++) {
        char ch = s[i];
        if (ch == '(') depth++;
        if (ch == ')' && depth > 0) depth--;
        if ((ch == ',' && depth == 0) || ch == 0) {
            int rc = add_binding(a, s + start, i - start);
            if (rc) return rc;
            start = i + 1;
        }
        if (ch == 0) return 0;
    }
}

/* Reads EXPR from a file ('-': standard input), at most MAX_EXPR + 1 bytes. */
static int read_expr_file(cli_args *a, const char *path) {
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) return cli_fail(CLI_ERROR, "cannot read '%s': %s", path, strerror(errno));
    char *buf = malloc(MAX_EXPR + 2);
    if (!buf) {
        if (f != stdin) fclose(f);
        return cli_fail(CLI_ERROR, "out of memory");
    }
    size_t n = fread(buf, 1, MAX_EXPR + 1, f);
    int err = ferror(f);
    if (f != stdin) fclose(f);
    if (err) {
        free(buf);
        return cli_fail(CLI_ERROR, "cannot read '%s'", path);
    }
    /* a final newline (files usually end with one) is white space to the parser anyway */
    buf[n] = 0;
    a->expr = buf;
    a->expr_len = n;
    a->expr_origin = strcmp(path, "-") == 0 ? "standard input" : path;
    return 0;
}

static int parse_order(cli_args *a, const char *v) {
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (*v == 0 || *end != 0 || errno || n < 0 || n > CLI_MAX_ORDER)
        return cli_usage_error(a->cmd, "--order '%s': expected an integer from 0 to %d", v,
                               CLI_MAX_ORDER);
    a->order = (int)n;
    return 0;
}

int cli_parse_args(cli_args *a, const char *cmd, int argc, char **argv) {
    memset(a, 0, sizeof *a);
    a->cmd = cmd;
    a->order = -1;
    const int is_diff = strcmp(cmd, "diff") == 0;
    const char *expr_arg = NULL, *file = NULL;
    int rc = 0, options_done = 0;
    for (int i = 0; i < argc && !rc; i++) {
        const char *arg = argv[i];
        if (!options_done && strcmp(arg, "--") == 0) {
            options_done = 1;
            continue;
        }
        /* --opt VALUE and --opt=VALUE */
        const char *value = NULL;
        const char *opt = NULL;
        if (!options_done && arg[0] == '-' && arg[1] != 0) {
            static const char *const with_value[] = {"--at", "--order", "--wrt", "-f"};
            for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++) {
                size_t l = strlen(with_value[k]);
                if (strncmp(arg, with_value[k], l) == 0 && (arg[l] == 0 || (arg[l] == '=' && arg[1] == '-'))) {
                    opt = with_value[k];
                    if (arg[l] == '=') {
                        value = arg + l + 1;
                    } else {
                        if (i + 1 >= argc) {
                            rc = cli_usage_error(cmd, "option '%s' requires a value", opt);
                            break;
                        }
                        value = argv[++i];
                    }
                    break;
                }
            }
            if (rc) break;
            if (opt && !is_diff && (strcmp(opt, "--order") == 0 || strcmp(opt, "--wrt") == 0)) {
                rc = cli_usage_error(cmd, "unknown option '%s' for '%s'", opt, cmd);
                break;
            }
        }
        if (opt) {
            if (strcmp(opt, "--at") == 0)
                rc = add_bindings(a, value);
            else if (strcmp(opt, "--order") == 0)
                rc = parse_order(a, value);
            else if (strcmp(opt, "--wrt") == 0) {
                if (!is_name(value, strlen(value)))
                    rc = cli_usage_error(cmd, "--wrt '%s': not a variable name", value);
                else
                    a->wrt = value;
            } else { /* -f */
                if (expr_arg || file)
                    rc = cli_usage_error(cmd, "more than one EXPR ('-f %s')", value);
                else
                    file = value;
            }
            continue;
        }
        if (expr_arg || file) {
            if (!options_done && arg[0] == '-' && arg[1] != 0)
                rc = cli_usage_error(cmd, "unknown option '%s'", arg);
            else
                rc = cli_usage_error(cmd, "unexpected argument '%s' (EXPR was already given)", arg);
            break;
        }
        /* the first argument that is neither an option nor an option's value is EXPR, also when
         * it starts with '-' (nabla eval '-x^2') */
        expr_arg = arg;
    }
    if (!rc && !expr_arg && !file) rc = cli_usage_error(cmd, "missing EXPR");
    if (!rc && file) rc = read_expr_file(a, file);
    if (!rc && expr_arg) {
        a->expr_len = strlen(expr_arg);
        a->expr = malloc(a->expr_len + 1);
        if (!a->expr)
            rc = cli_fail(CLI_ERROR, "out of memory");
        else
            memcpy(a->expr, expr_arg, a->expr_len + 1);
        a->expr_origin = "EXPR";
    }
    if (rc) cli_args_free(a);
    return rc;
}
