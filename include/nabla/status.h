/* status.h - status codes: every library call that can fail returns one.
 *
 * The library never aborts, exits or prints: a failure is a status code returned to the caller,
 * with any detail (a parser's error column, for instance) kept in the object concerned.
 */
#ifndef NABLA_STATUS_H
#define NABLA_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nb_status {
    NB_OK = 0,
    NB_E_NOMEM,     /* an allocation failed */
    NB_E_ARG,       /* an argument is invalid (NULL where not allowed, a size out of range) */
    NB_E_TAPE_FULL, /* the context's cap on tape memory was reached */
    NB_E_STALE,     /* a handle of a level that was already popped */
    NB_E_FOREIGN,   /* a handle that does not belong to this context */
    NB_E_LEVEL,     /* no level, or the wrong kind of level, for the call */
    NB_E_DEPTH,     /* too many nested levels */
    NB_E_PARSE,     /* an expression does not parse (details in the expression object) */
    NB_E_UNBOUND,   /* an expression's variable has no value bound to it */
    NB_E_BIND,      /* a name that cannot be bound (a constant, a function, not a name) */
    NB_E_NOTFOUND,  /* an external program (gnuplot) is not installed */
    NB_E_IO,        /* a file or pipe cannot be written or read */
    NB_E_CHILD,     /* an external program failed or exited early */
    NB_E_NODIFF,    /* an op without a derivative (a custom op with no rule) was differentiated */
    NB_E_SINGULAR,  /* a matrix that had to be solved with is singular (nb_implicit_*: the
                       solution has no derivative there) */
    NB_E_SOLVER     /* a GSL solver that nabla drives failed (nb_ode_adjoint_*: a step size
                       that underflows, too many steps; GSL's own status is kept) */
} nb_status;

/* A static, one-line English description of `s` (never NULL; "unknown status" for values that
 * are not an nb_status). */
const char *nb_strerror(nb_status s);

#ifdef __cplusplus
}
#endif

#endif /* NABLA_STATUS_H */
