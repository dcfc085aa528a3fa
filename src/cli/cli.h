/* cli.h - the nabla command's internals: arguments, bindings, commands. Not installed. */
#ifndef NABLA_CLI_H
#define NABLA_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nabla/nabla.h"

enum { CLI_OK = 0, CLI_ERROR = 1, CLI_USAGE = 2, CLI_CHECK_FAILED = 3 };

#define CLI_MAX_ORDER 100

typedef struct cli_args {
    const char *cmd;
    char *expr;         /* the expression text (owned) */
    size_t expr_len;
    const char *expr_origin; /* "EXPR" or the file name, for messages */
    size_t nbind;
    char **names;       /* bound names, in order of first appearance (owned) */
    uint32_t *name_ix;  /* a hash index over names (src/strset.h), name_ix_cap slots (owned) */
    size_t name_ix_cap;
    double *values;
    int order;          /* diff, plot, check: -1 when not given */
    const char *wrt;    /* diff, plot: NULL when not given */
    /* plot */
    int have_range;
    double range_a, range_b;
    int norders;        /* --orders: 0 when not given */
    int orders[NB_PLOT_MAX_CURVES];
    long samples;       /* 0 when not given */
    const char *output, *term, *title;
    int data, script;
    int check;          /* plot --check: the finite-difference overlay */
    int have_timeout;   /* plot --timeout: seconds gnuplot may stay silent (0: no limit) */
    double timeout;
    /* check */
    int have_rtol, have_atol, have_step;
    double rtol, atol, step;
    int help;           /* --help was given where an option may stand: show the help, run nothing */
    int version;        /* --version likewise: show the version */
} cli_args;

/* Parses the arguments after the command name. Returns 0, or an exit status after printing the
 * error. A --help (--version) at an option position stops the parse with a->help
 * (a->version) set and returns 0. On success a must be freed with cli_args_free. */
int cli_parse_args(cli_args *a, const char *cmd, int argc, char **argv);
void cli_args_free(cli_args *a);

/* Runs the command; returns the exit status. */
int cli_run(const cli_args *a);

/* The plot command (plot_cmd.c). */
int cli_plot(const cli_args *a, nb_expr *e);

/* The check command (check_cmd.c). */
int cli_check(const cli_args *a, nb_expr *e);

/* The index of name among the --at names, a->nbind when none binds it. */
size_t cli_at_index(const cli_args *a, const char *name);

/* Parses a constant expression (a --at value, a --range end); 0 or a usage error. */
int cli_constant(const cli_args *a, const char *what, const char *s, size_t n, double *out);

/* Why the rounding warnings of diff and plot (nb_taylor_derivatives_err) are given. */
#define CLI_ROUNDING_WHY                                                                   \
    "as evaluations along 1.5 times the direction and with every value moved by an ulp " \
    "show: digits cancel, in the expression or in the Taylor recurrences (docs/cli.md)"

/* Messages: the first line starts with "nabla: ". */
int cli_fail(int status, const char *fmt, ...);
int cli_usage_error(const char *cmd, const char *fmt, ...);
/* 0 when everything printed on standard output has reached it, else CLI_ERROR after saying why
 * (a closed pipe: SIGPIPE is ignored, so it is EPIPE here; a full disk). GNU: --help and
 * --version into a full disk are errors too. */
int cli_output_flushed(void);
/* "cannot write to standard output", with strerror(err) when err is not 0; exit status 1. */
int cli_write_failed(int err);
int cli_syntax_error(const char *what, const char *src, size_t len, const nb_expr *e);
/* The same for e parsed from src + offset (one of jac's expressions): the column is src's. */
int cli_syntax_error_at(const char *what, const char *src, size_t len, const nb_expr *e,
                        size_t offset);
void cli_print_number(FILE *f, double v);

#endif
