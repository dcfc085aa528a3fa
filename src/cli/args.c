/* args.c - the nabla command's arguments: options before or after EXPR, --at bindings (constant
 * expressions, split on commas outside parentheses), --order, --wrt, -f FILE. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../strset.h"

/* The longest expression the library accepts; a file is read up to one byte more, so that the
 * parser can say "too long" without the whole file being held. */
#define MAX_EXPR 1048576

void cli_args_free(cli_args *a) {
    free(a->expr);
    for (size_t i = 0; i < a->nbind; i++) free(a->names[i]);
    free(a->names);
    free(a->values);
    free(a->name_ix);
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
    if (n == 0) /* "x=1,", ",x=1", "x=1,,y=2" */
        return cli_usage_error(a->cmd, "malformed --at: an empty binding where NAME=VALUE was expected");
    const char *eq = memchr(s, '=', n);
    if (!eq) return cli_usage_error(a->cmd, "malformed --at binding '%.*s': expected NAME=VALUE", (int)n, s);
    size_t nl = (size_t)(eq - s), vl = n - nl - 1;
    if (nl == 0) return cli_usage_error(a->cmd, "malformed --at binding '%.*s': empty name", (int)n, s);
    if (vl == 0) return cli_usage_error(a->cmd, "malformed --at binding '%.*s': empty value", (int)n, s);
    if (!is_name(s, nl))
        return cli_usage_error(a->cmd, "malformed --at binding '%.*s': '%.*s' is not a name", (int)n,
                               s, (int)nl, s);
    /* the name, of any length (the language has no limit), and the value: a constant
     * expression */
    char *name = malloc(nl + 6), *what = name; /* what: "--at NAME", then NAME alone from +5 */
    if (!name) return cli_fail(CLI_ERROR, "out of memory");
    memcpy(what, "--at ", 5);
    memcpy(name + 5, s, nl);
    name[nl + 5] = 0;
    name += 5;
    int rc = 0;
    double v = 0;
    nb__strset ix = {a->name_ix, a->name_ix_cap};
    if (strcmp(name, "pi") == 0 || strcmp(name, "e") == 0)
        rc = cli_usage_error(a->cmd, "--at %s: '%s' is a constant, it cannot be bound", name, name);
    else if (nb_op_find_lang(name) >= 0)
        rc = cli_usage_error(a->cmd, "--at %s: '%s' is a function, it cannot be bound", name, name);
    else if (nb__strset_find(&ix, a->names, name, nl) != SIZE_MAX)
        rc = cli_usage_error(a->cmd, "--at: '%s' is bound twice", name);
    else
        rc = cli_constant(a, what, eq + 1, vl, &v);
    char **names = rc ? NULL : realloc(a->names, (a->nbind + 1) * sizeof *names);
    if (names) a->names = names;
    double *values = names ? realloc(a->values, (a->nbind + 1) * sizeof *values) : NULL;
    if (values) a->values = values;
    char *kept = values ? malloc(nl + 1) : NULL;
    if (kept) memcpy(kept, name, nl + 1);
    free(what);
    if (rc) return rc;
    if (!kept) return cli_fail(CLI_ERROR, "out of memory");
    a->names[a->nbind] = kept;
    a->values[a->nbind++] = v;
    /* index the new name (linear time over many bindings, not quadratic) */
    if (2 * a->nbind > ix.cap) {
        size_t cap = nb__strset_cap_for(a->nbind);
        uint32_t *slots = calloc(cap, sizeof *slots);
        if (!slots) return cli_fail(CLI_ERROR, "out of memory");
        free(a->name_ix);
        nb__strset_rebuild(&ix, slots, cap, a->names, a->nbind);
        a->name_ix = slots;
        a->name_ix_cap = cap;
    } else {
        nb__strset_put(&ix, a->names, a->nbind - 1);
    }
    return 0;
}

int cli_constant(const cli_args *a, const char *what, const char *s, size_t n, double *out) {
    nb_expr *e = NULL;
    nb_status st = nb_expr_parse(&e, s, n, NULL);
    if (st == NB_E_NOMEM) return cli_fail(CLI_ERROR, "out of memory");
    if (st != NB_OK) {
        int rc = cli_usage_error(a->cmd, "%s: the value does not parse: column %zu: %s", what,
                                 nb_expr_error_column(e), nb_expr_error(e));
        nb_expr_free(e);
        return rc;
    }
    if (nb_expr_var_count(e) > 0) {
        int rc = cli_usage_error(a->cmd, "%s: the value must be a constant, not use '%s'", what,
                                 nb_expr_var_name(e, 0));
        nb_expr_free(e);
        return rc;
    }
    double v = NAN;
    nb_expr_eval(e, NULL, &v);
    nb_expr_free(e);
    if (!isfinite(v))
        return cli_usage_error(a->cmd, "%s: the value %.*s is not a finite number", what, (int)n, s);
    *out = v;
    return 0;
}

/* --range A:B (each a constant expression) */
static int parse_range(cli_args *a, const char *v) {
    const char *colon = strchr(v, ':');
    if (!colon || colon == v || colon[1] == 0)
        return cli_usage_error(a->cmd, "--range '%s': expected A:B", v);
    /* name the end: a column alone would count from its start, not from the option's */
    int rc = cli_constant(a, "--range A", v, (size_t)(colon - v), &a->range_a);
    if (!rc) rc = cli_constant(a, "--range B", colon + 1, strlen(colon + 1), &a->range_b);
    if (rc) return rc;
    if (!(a->range_a < a->range_b))
        return cli_usage_error(a->cmd, "--range '%s': A must be less than B", v);
    if (!isfinite(a->range_b - a->range_a))
        return cli_usage_error(a->cmd, "--range '%s': the width B - A overflows a double", v);
    a->have_range = 1;
    return 0;
}

/* --rtol R, --atol A: constant expressions, finite and >= 0; --step H: finite and > 0 */
static int parse_tolerance(cli_args *a, const char *opt, const char *v) {
    double t;
    int rc = cli_constant(a, opt, v, strlen(v), &t);
    if (rc) return rc;
    if (opt[2] == 's') {
        if (!(t > 0)) return cli_usage_error(a->cmd, "%s '%s': the step must be positive", opt, v);
        a->step = t;
        a->have_step = 1;
        return 0;
    }
    if (!(t >= 0)) return cli_usage_error(a->cmd, "%s '%s': a tolerance cannot be negative", opt, v);
    if (opt[2] == 'r') {
        a->rtol = t;
        a->have_rtol = 1;
    } else {
        a->atol = t;
        a->have_atol = 1;
    }
    return 0;
}

/* --timeout SECONDS: a constant expression, >= 0 (0: no limit), finite (cli_constant) */
static int parse_timeout(cli_args *a, const char *v) {
    double t;
    int rc = cli_constant(a, "--timeout", v, strlen(v), &t);
    if (rc) return rc;
    if (!(t >= 0))
        return cli_usage_error(a->cmd, "--timeout '%s': seconds cannot be negative", v);
    a->timeout = t;
    a->have_timeout = 1;
    return 0;
}

/* --orders 0,1,3 */
static int parse_orders(cli_args *a, const char *v) {
    const char *s = v;
    a->norders = 0;
    for (;;) {
        char *end;
        errno = 0;
        long k = strtol(s, &end, 10);
        if (!isdigit((unsigned char)*s) || end == s || errno || k < 0 || k > NB_PLOT_MAX_ORDER || (*end != ',' && *end != 0))
            return cli_usage_error(a->cmd, "--orders '%s': expected orders 0 .. %d separated by commas", v,
                                   NB_PLOT_MAX_ORDER);
        if (a->norders == NB_PLOT_MAX_CURVES)
            return cli_usage_error(a->cmd, "--orders '%s': at most %d curves", v, NB_PLOT_MAX_CURVES);
        a->orders[a->norders++] = (int)k;
        if (*end == 0) return 0;
        s = end + 1;
    }
}

static int parse_samples(cli_args *a, const char *v) {
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!isdigit((unsigned char)*v) || *end != 0 || errno || n < 2 || n > NB_PLOT_MAX_SAMPLES)
        return cli_usage_error(a->cmd, "--samples '%s': expected an integer from 2 to %d", v,
                               NB_PLOT_MAX_SAMPLES);
    a->samples = n;
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
    errno = 0;
    size_t n = fread(buf, 1, MAX_EXPR + 1, f);
    /* a directory opens, and its read fails (EISDIR); fclose may change errno */
    int failed = ferror(f), err = errno;
    if (f != stdin) fclose(f);
    if (failed) {
        free(buf);
        return cli_fail(CLI_ERROR, "cannot read '%s'%s%s", path, err ? ": " : "",
                        err ? strerror(err) : "");
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
    /* plot draws orders 0 .. N, one curve each; check checks first or second derivatives */
    int check = strcmp(a->cmd, "check") == 0;
    int min = check ? 1 : 0;
    int max = strcmp(a->cmd, "plot") == 0 ? NB_PLOT_MAX_CURVES - 1 : check ? 2 : CLI_MAX_ORDER;
    if (!isdigit((unsigned char)*v) || *end != 0 || errno || n < min || n > max)
        return cli_usage_error(a->cmd, "--order '%s': expected an integer from %d to %d", v, min, max);
    a->order = (int)n;
    return 0;
}

/* The length of the option name that arg starts with when arg looks like an option, known or
 * not: "--" and a letter, then letters, digits and hyphens, ending the argument or followed by
 * "=VALUE"; or "-" and one letter. Else 0. Such an argument is never taken as EXPR, so that a
 * mistyped option is reported as one (the expressions -x and --x go after "--" or in
 * parentheses); "-x^2" or "-2" is EXPR. */
static size_t option_like(const char *arg) {
    /* the command never sets a locale: isalpha and isalnum are ASCII's */
    if (arg[0] != '-' || !isalpha((unsigned char)arg[arg[1] == '-' ? 2 : 1])) return 0;
    if (arg[1] != '-') return arg[2] == 0 ? 2 : 0;
    size_t n = 3;
    while (isalnum((unsigned char)arg[n]) || arg[n] == '-') n++;
    return arg[n] == 0 || arg[n] == '=' ? n : 0;
}

/* The options each command takes: with a value, and flags. */
static int takes(const char *cmd, const char *opt) {
    static const struct {
        const char *cmd, *opts;
    } table[] = {
        {"eval", " --at -f "},
        {"diff", " --at -f --order --wrt "},
        {"grad", " --at -f "},
        {"hess", " --at -f "},
        {"jac", " --at -f "},
        {"plot", " --at -f --order --orders --wrt --range --samples -o --term --title --timeout --data --script --check "},
        {"check", " --at -f --order --rtol --atol --step "},
    };
    char key[32];
    snprintf(key, sizeof key, " %s ", opt);
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].cmd, cmd) == 0) return strstr(table[i].opts, key) != NULL;
    return 0;
}

int cli_parse_args(cli_args *a, const char *cmd, int argc, char **argv) {
    memset(a, 0, sizeof *a);
    a->cmd = cmd;
    a->order = -1;
    const char *expr_arg = NULL, *file = NULL;
    int rc = 0, options_done = 0;
    for (int i = 0; i < argc && !rc; i++) {
        const char *arg = argv[i];
        if (!options_done && strcmp(arg, "--") == 0) {
            options_done = 1;
            continue;
        }
        /* --help and --version where an option may stand (not as an option's value, not after
         * --) */
        if (!options_done && (strcmp(arg, "--help") == 0 || strcmp(arg, "--version") == 0)) {
            if (arg[2] == 'h')
                a->help = 1;
            else
                a->version = 1;
            return 0;
        }
        /* --opt VALUE and --opt=VALUE */
        const char *value = NULL;
        const char *opt = NULL;
        if (!options_done && (strcmp(arg, "--data") == 0 || strcmp(arg, "--script") == 0 ||
                              strcmp(arg, "--check") == 0)) {
            if (!takes(cmd, arg)) {
                rc = cli_usage_error(cmd, "unknown option '%s' for '%s'", arg, cmd);
                break;
            }
            if (arg[2] == 'd') a->data = 1;
            else if (arg[2] == 's') a->script = 1;
            else a->check = 1;
            continue;
        }
        if (!options_done && arg[0] == '-' && arg[1] != 0) {
            static const char *const with_value[] = {"--at", "--orders", "--order", "--wrt", "-f",
                                                     "--range", "--samples", "-o", "--term", "--title",
                                                     "--rtol", "--atol", "--step", "--timeout"};
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
            if (opt && !takes(cmd, opt)) {
                rc = cli_usage_error(cmd, "unknown option '%s' for '%s'", opt, cmd);
                break;
            }
        }
        if (opt) {
            if (strcmp(opt, "--at") == 0)
                rc = add_bindings(a, value);
            else if (strcmp(opt, "--order") == 0)
                rc = parse_order(a, value);
            else if (strcmp(opt, "--orders") == 0)
                rc = parse_orders(a, value);
            else if (strcmp(opt, "--range") == 0)
                rc = parse_range(a, value);
            else if (strcmp(opt, "--samples") == 0)
                rc = parse_samples(a, value);
            else if (strcmp(opt, "--rtol") == 0 || strcmp(opt, "--atol") == 0 ||
                     strcmp(opt, "--step") == 0)
                rc = parse_tolerance(a, opt, value);
            else if (strcmp(opt, "--timeout") == 0)
                rc = parse_timeout(a, value);
            else if (strcmp(opt, "-o") == 0) {
                if (!*value) rc = cli_usage_error(cmd, "-o: empty file name");
                else if (*value == '|')
                    rc = cli_usage_error(cmd, "-o '%s': the output must be a file, not a pipe", value);
                a->output = value;
            } else if (strcmp(opt, "--term") == 0) {
                if (!*value) rc = cli_usage_error(cmd, "--term: empty terminal name");
                for (const char *t = value; !rc && *t; t++)
                    if (!isalnum((unsigned char)*t) && *t != '_')
                        rc = cli_usage_error(cmd, "--term '%s': not a gnuplot terminal name", value);
                a->term = value;
            } else if (strcmp(opt, "--title") == 0)
                a->title = value;
            else if (strcmp(opt, "--wrt") == 0) {
                if (!is_name(value, strlen(value)))
                    rc = cli_usage_error(cmd, "--wrt '%s': not a variable name", value);
                else if (strcmp(value, "pi") == 0 || strcmp(value, "e") == 0)
                    rc = cli_usage_error(cmd, "--wrt %s: '%s' is a constant, not a variable", value,
                                         value);
                else if (nb_op_find_lang(value) >= 0)
                    rc = cli_usage_error(cmd, "--wrt %s: '%s' is a function, not a variable", value,
                                         value);
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
        /* an argument that looks like an option is one; after EXPR, so is any other argument
         * that starts with '-' */
        size_t optlen = options_done ? 0 : option_like(arg);
        if (!optlen && !options_done && (expr_arg || file) && arg[0] == '-' && arg[1] != 0)
            optlen = strlen(arg);
        if (optlen) {
            static const char *const flags[] = {"--data", "--script", "--check", "--help",
                                                "--version"};
            for (size_t k = 0; k < sizeof flags / sizeof *flags && !rc; k++)
                if (strlen(flags[k]) == optlen && strncmp(arg, flags[k], optlen) == 0 &&
                    arg[optlen] == '=')
                    rc = cli_usage_error(cmd, "option '%s' takes no value", flags[k]);
            if (!rc)
                rc = cli_usage_error(cmd, "unknown option '%.*s%s'%s", optlen > 60 ? 60 : (int)optlen,
                                     arg, optlen > 60 ? "..." : "",
                                     arg[1] != '-' ? " (an EXPR that starts with '-' goes after "
                                                     "'--', as in: -- -x)"
                                                   : "");
            break;
        }
        if (expr_arg || file) {
            /* the two natural slips: options after '--' (following the hint "-- -x" above), and a
             * binding without its --at */
            const char *eq = strchr(arg, '=');
            const char *hint = options_done && option_like(arg)
                                   ? "; '--' ended the options: put them before it"
                               : eq && is_name(arg, (size_t)(eq - arg)) ? "; bind with --at NAME=VALUE"
                                                                        : "";
            rc = cli_usage_error(cmd, "unexpected argument '%.60s%s' (EXPR was already given%s)", arg,
                                 strlen(arg) > 60 ? "..." : "", hint);
            break;
        }
        /* the first argument that is neither an option nor an option's value is EXPR, also when
         * it starts with '-' but does not look like an option (nabla eval '-x^2') */
        expr_arg = arg;
    }
    if (!rc && !expr_arg && !file) rc = cli_usage_error(cmd, "missing EXPR");
    if (!rc && a->order >= 0 && a->norders)
        rc = cli_usage_error(cmd, "--order and --orders cannot be combined");
    if (!rc && a->data && a->script) rc = cli_usage_error(cmd, "--data and --script cannot be combined");
    /* the table has no output file, terminal or title: silently dropping them would hide the
     * mistake */
    if (!rc && a->data && (a->output || a->term || a->title))
        rc = cli_usage_error(cmd, "--data writes the table to standard output: it cannot be combined "
                                  "with %s", a->output ? "-o" : a->term ? "--term" : "--title");
    /* --data and --script run no gnuplot to time */
    if (!rc && a->have_timeout && (a->data || a->script))
        rc = cli_usage_error(cmd, "--timeout limits gnuplot, which %s does not run",
                             a->data ? "--data" : "--script");
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
