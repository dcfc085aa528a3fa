/* main.c - the nabla command: parses the command line and dispatches to a subcommand.
 *
 * Until the expression and plotting commands land, it answers --help and --version only.
 */
#include <stdio.h>
#include <string.h>

#include "nabla/nabla.h"

static void usage(FILE *out) {
    fputs("Usage: nabla [--help] [--version]\n"
          "\n"
          "Automatic differentiation for C: dual-number forward mode and tape-based reverse\n"
          "mode over one op registry. The expression commands (eval, diff, grad, hess, plot)\n"
          "are not built yet; see README.md.\n"
          "\n"
          "Options:\n"
          "  --help     print this help and exit\n"
          "  --version  print the version and exit\n",
          out);
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("nabla %s\n", nb_version());
        return 0;
    }
    if (argc < 2)
        fputs("nabla: missing command\n", stderr);
    else
        fprintf(stderr, "nabla: unknown argument '%s'\n", argv[1]);
    fputs("Try 'nabla --help' for more information.\n", stderr);
    return 2;
}
