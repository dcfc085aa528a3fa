/* main.c - the nabla command: eval, diff, grad, hess, jac, plot, check on expressions, with nabla's
 * own engine.
 *
 * Exit status: 0 success (a NaN result is a success), 1 an error in the expression or its
 * evaluation, a file or the output (a closed pipe too: SIGPIPE is ignored), 2 a usage error, 3 a
 * check that does not pass. The first line on stderr starts with "nabla: ". See docs/cli.md and
 * docs/nabla.1. */
#define _POSIX_C_SOURCE 200809L /* SIGPIPE */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "cli.h"
#include "nabla/nabla.h"

/* ---- output ---- */

void cli_print_number(FILE *f, double v) {
    if (isnan(v))
        fputs("nan", f);
    else if (isinf(v))
        fputs(v > 0 ? "inf" : "-inf", f);
    else
        fprintf(f, "%.17g", v);
}

int cli_fail(int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("nabla: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return status;
}

int cli_write_failed(int err) {
    return cli_fail(CLI_ERROR, "cannot write to standard output%s%s", err ? ": " : "",
                    err ? strerror(err) : "");
}

int cli_output_flushed(void) {
    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout)) return 0;
    /* errno is fflush's when it failed; an error flag from an earlier write has no reason left */
    return cli_write_failed(errno);
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("nabla: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fprintf(stderr, "Try 'nabla %s%s--help' for more information.\n", cmd ? cmd : "",
            cmd ? " " : "");
    return CLI_USAGE;
}

/* A syntax error: the message with its column, then the expression (a window around the column
 * for long ones, unprintable bytes shown as '?') and a caret under the column; an empty
 * expression too (an empty echo), so that every syntax error has its three lines. */
int cli_syntax_error(const char *what, const char *src, size_t len, const nb_expr *e) {
    return cli_syntax_error_at(what, src, len, e, 0);
}

int cli_syntax_error_at(const char *what, const char *src, size_t len, const nb_expr *e,
                        size_t offset) {
    size_t col = nb_expr_error_column(e);
    if (col) col += offset;
    fprintf(stderr, "nabla: %s: column %zu: %s\n", what, col, nb_expr_error(e));
    if (col == 0) return CLI_ERROR;
    size_t at = col - 1, from = at > 40 ? at - 40 : 0, to = from + 72;
    if (to > len) to = len;
    if (at > len) at = len;
    fputs("  ", stderr);
    if (from > 0) fputs("...", stderr);
    for (size_t i = from; i < to; i++) {
        unsigned char ch = (unsigned char)src[i];
        fputc(ch < 0x20 || ch >= 0x7f ? '?' : ch, stderr);
    }
    if (to < len) fputs("...", stderr);
    fputs("\n  ", stderr);
    if (from > 0) fputs("   ", stderr);
    for (size_t i = from; i < at; i++) fputc(' ', stderr);
    fputs("^\n", stderr);
    return CLI_ERROR;
}

/* ---- help ---- */

static const struct {
    const char *name;
    const char *synopsis;
    const char *help;
} commands[] = {
    {"eval", "nabla eval EXPR [--at x=V[,y=W...]]",
     "Prints the value of EXPR, one number.\n"},
    {"diff", "nabla diff EXPR --at x=V[,...] [--order N] [--wrt x]",
     "Prints d^k f/dx^k for k = 0 .. N (default N = 1), one number per line, k = 0 first.\n"
     "All orders come from one Taylor pass (N up to 100). With several variables, --wrt names\n"
     "the one to differentiate; the others are held at their --at values. Two more passes\n"
     "(along 1.5 times the direction; with every value moved by an ulp) estimate rounding:\n"
     "where orders lost digits to cancellation, a warning on standard error says from which.\n"},
    {"grad", "nabla grad EXPR --at x=V,y=W,...",
     "Prints the gradient, one number per line, in --at order (reverse mode).\n"},
    {"hess", "nabla hess EXPR --at x=V,y=W,...",
     "Prints the Hessian, one row per line, numbers separated by one space, variables in --at\n"
     "order (forward over reverse).\n"},
    {"jac", "nabla jac 'EXPR1, EXPR2, ...' --at x=V,y=W,...",
     "Prints the Jacobian of the comma-separated expressions (commas outside parentheses\n"
     "separate them): one row per expression, in order, numbers separated by one space,\n"
     "variables in --at order. One reverse sweep per expression when they are no more than\n"
     "the variables, else one forward pass per variable.\n"},
    {"plot", "nabla plot EXPR [--range A:B] [--order N | --orders 0,1,3] [--samples N] [--wrt x]\n"
             "                [--at a=V,...] [-o FILE] [--term TERM] [--title T] [--data | --script]\n"
             "                [--check] [--timeout S]",
     "Draws f and its derivatives (dual numbers for the first order, a Taylor pass beyond) through\n"
     "gnuplot: to FILE (.png, .svg, .pdf), to a window when a display is set and gnuplot has one,\n"
     "else as text in the terminal. --data prints the sampled table instead (no gnuplot needed),\n"
     "--script the gnuplot script. Gaps at non-finite values; poles are not drawn as spikes.\n"
     "--check adds f' by central differences (gsl_deriv_central) and, on a log y2 axis, the\n"
     "error |f' - fd| and GSL's error estimate: where finite differences break down.\n"},
    {"check", "nabla check EXPR --at x=V,y=W,... [--order 1|2] [--rtol R] [--atol A] [--step H]",
     "Checks nabla's derivatives at the --at point: the gradient (reverse mode) and the\n"
     "derivatives along each variable (forward mode) against GSL's central differences, the\n"
     "Hessian (forward over reverse) against central differences of the gradient, and forward,\n"
     "reverse and Taylor modes against each other. Prints a table with, per derivative, nabla's\n"
     "value, the reference, GSL's error estimate, the difference, the tolerance and a verdict.\n"
     "An entry passes when |nabla - fd| <= 4 x GSL error + rtol x max(|nabla|, |fd|) + atol\n"
     "and GSL's error is within 1% of the derivative or 1e-8 of the largest derivative of its\n"
     "order, plus atol (or both are exactly 0); modes agree to 1e-12 of the largest derivative\n"
     "of the order, plus atol. Every rule is relative: a derivative that is zero up to rounding\n"
     "(at a stationary point, or in an order whose derivatives are all zero) is UNRESOLVED or\n"
     "fails (2e-16 against 0) unless --atol is given (1e-10 covers rounding at unit scale).\n"
     "Exit status 0 when every entry passes, 3 when one does not. The finite-difference step\n"
     "is H x max(1, |x_i|) (default H = 1e-4): it assumes f varies on the scale of x_i, so for\n"
     "a function that varies faster far from 0 (sin at x = 1e9) give a smaller H.\n"},
};

static const char common_options[] =
    "  --at NAME=VALUE[,NAME=VALUE...]\n"
    "                 bind variables (may be repeated); a VALUE is a constant expression\n"
    "                 such as pi/4 or 2^0.5 and must be finite\n"
    "  -f FILE        read EXPR from FILE ('-' for standard input)\n"
    "  --             end of options\n"
    "      --help     display this help and exit\n"
    "      --version  output version information and exit\n";

static void general_help(FILE *out) {
    fputs("Usage: nabla COMMAND EXPR [OPTION]...\n"
          "Evaluate and differentiate expressions with automatic differentiation.\n"
          "\n"
          "Commands:\n",
          out);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %s\n", commands[i].synopsis);
    fputs("\n"
          "Options may come before or after EXPR. An argument that looks like an option (-x,\n"
          "--name) is one, and an error when unknown; another that starts with '-' is EXPR\n"
          "('nabla eval -x^2 --at x=2'). '--' ends the options: 'nabla eval --at x=2 -- -x'.\n"
          "\n"
          "Options:\n",
          out);
    fputs(common_options, out);
    fputs("\n"
          "Examples:\n"
          "  nabla eval 'sin(x)*exp(-x^2)' --at x=0.7\n"
          "  nabla diff 'sin(x)' --at x=pi/4 --order 4\n"
          "  nabla grad 'x*y^2' --at x=1,y=2\n"
          "  nabla hess 'x*y^2' --at x=1,y=2\n"
          "  nabla jac 'x*y, x+sin(y)' --at x=1,y=2\n"
          "  nabla plot 'sin(x)' --range '-2*pi:2*pi' -o sin.png\n"
          "  nabla check 'x*stop_gradient(x)' --at x=1.5\n"
          "\n"
          "Numbers print as %.17g; NaN prints as nan, infinities as inf and -inf.\n"
          "Exit status: 0 success (a NaN result is a success), 1 an error in the expression, its\n"
          "evaluation or a file, 2 a usage error, 3 a check that does not pass (nabla check).\n"
          "Documentation: docs/cli.md and the nabla(1) manual page.\n",
          out);
}

static void command_help(FILE *out, int i) {
    fprintf(out, "Usage: %s\n%s\nOptions:\n", commands[i].synopsis, commands[i].help);
    if (strcmp(commands[i].name, "diff") == 0)
        fputs("  --order N      the highest order, 0 .. 100 (default 1)\n"
              "  --wrt NAME     the variable to differentiate (needed with several variables)\n",
              out);
    if (strcmp(commands[i].name, "check") == 0)
        fputs("  --order N      1: first derivatives only; 2: also second derivatives (default)\n"
              "  --rtol R       the relative tolerance (default 1e-7), a constant expression\n"
              "  --atol A       the absolute tolerance, of the modes' rule too (default 0)\n"
              "  --step H       the relative finite-difference step (default 1e-4)\n",
              out);
    if (strcmp(commands[i].name, "plot") == 0)
        fputs("  --range A:B    the x range (default -5:5); A and B are constant expressions\n"
              "  --order N      draw f and its derivatives up to order N, 0 .. 9 (default 1)\n"
              "  --orders LIST  draw these orders, e.g. 0,1,3 (up to 10 curves, orders <= 100)\n"
              "  --samples N    points, 2 .. 1000000 (default 501)\n"
              "  --wrt NAME     the plotted variable (needed with several unbound variables)\n"
              "  -o FILE        write FILE: .png (pngcairo), .svg, .pdf (pdfcairo)\n"
              "  --term TERM    a gnuplot terminal: dumb (text), sixel, pngcairo, ...\n"
              "  --title T      the title (default: the expression)\n"
              "  --timeout S    stop gnuplot after S seconds without progress, 0: never\n"
              "                 (default 120)\n"
              "  --data         print the sampled table as TSV on standard output instead of\n"
              "                 plotting (not with -o, --term or --title)\n"
              "  --script       print the gnuplot script instead of running it\n"
              "  --check        add f' by central differences and the error |f' - fd|\n",
              out);
    fputs(common_options, out);
}


static int version(void) {
    printf("nabla %s\n"
           "Automatic differentiation for C: forward, reverse, nested and Taylor modes.\n",
           nb_version());
    return cli_output_flushed();
}

/* ---- main ---- */

int main(int argc, char **argv) {
    /* an application may turn GSL's aborting handler off; the library never relies on it */
    gsl_set_error_handler_off();
    /* a reader that goes away (nabla plot --data | head -1) is a write error, reported and exit
     * 1 as for a full disk, not a death by SIGPIPE (exit 141). gnuplot's spawn restores the
     * default for the child. */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) return cli_usage_error(NULL, "missing command");
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0) {
        general_help(stdout);
        return cli_output_flushed();
    }
    if (strcmp(cmd, "--version") == 0) return version();
    int which = -1;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(cmd, commands[i].name) == 0) which = (int)i;
    if (which < 0) {
        if (cmd[0] == '-') return cli_usage_error(NULL, "unknown option '%s'", cmd);
        return cli_usage_error(NULL, "unknown command '%s'", cmd);
    }
    cli_args a;
    int rc = cli_parse_args(&a, cmd, argc - 2, argv + 2);
    if (rc) return rc;
    if (a.help || a.version) {
        int help = a.help;
        cli_args_free(&a);
        if (!help) return version();
        command_help(stdout, which);
        return cli_output_flushed();
    }
    rc = cli_run(&a);
    cli_args_free(&a);
    return rc;
}
