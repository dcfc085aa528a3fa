/* status.c - status code descriptions and the library version. */
#include "nabla/status.h"
#include "nabla/version.h"

const char *nb_strerror(nb_status s) {
    switch (s) {
    case NB_OK: return "success";
    case NB_E_NOMEM: return "out of memory";
    case NB_E_ARG: return "invalid argument";
    case NB_E_TAPE_FULL: return "tape size limit reached";
    case NB_E_STALE: return "handle of a level that was popped";
    case NB_E_FOREIGN: return "handle of another context";
    case NB_E_LEVEL: return "no level of the required kind";
    case NB_E_DEPTH: return "too many nested levels";
    case NB_E_PARSE: return "expression does not parse";
    case NB_E_UNBOUND: return "unbound variable";
    case NB_E_BIND: return "name cannot be bound";
    case NB_E_NOTFOUND: return "program not found";
    case NB_E_IO: return "input/output error";
    case NB_E_CHILD: return "external program failed";
    case NB_E_NODIFF: return "op has no derivative rule";
    case NB_E_SINGULAR: return "singular matrix";
    case NB_E_SOLVER: return "solver failed";
    }
    return "unknown status";
}

const char *nb_version(void) { return NB_VERSION_STRING; }
