/* ctx.h - the context: all mutable state of nabla's forward and reverse modes, and its stack of
 * levels.
 *
 * A context holds a stack of levels; each level is forward (tangents) or reverse (a tape). An op
 * on handles (nabla/var.h) binds to the innermost level that owns one of its operands and is
 * recorded there; its derivative rule runs at the levels below, which is how nesting gives higher
 * derivatives. Nothing is global: use one context per thread (a context is not thread-safe;
 * different contexts are independent). All memory comes from the context's allocation hook.
 */
#ifndef NABLA_CTX_H
#define NABLA_CTX_H

#include <stddef.h>
#include <stdint.h>

#include "nabla/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nb_ctx nb_ctx;

/* The allocation hook, Lua style: (ud, ptr, old_size, new_size). new_size == 0 frees ptr and
 * returns NULL; otherwise it returns a block of new_size bytes holding the first
 * min(old_size, new_size) bytes of ptr (ptr may be NULL), or NULL on failure, leaving ptr intact. */
typedef void *(*nb_alloc_fn)(void *ud, void *ptr, size_t old_size, size_t new_size);

/* What a reverse sweep does to the gradients of leaves that already hold one. */
typedef enum nb_grad_mode {
    NB_GRAD_ACCUMULATE = 0, /* add to them, as PyTorch does (the default); nb_zero_grad clears */
    NB_GRAD_OVERWRITE = 1   /* replace them, as MXNet's grad_req='write' does */
} nb_grad_mode;

typedef struct nb_ctx_opts {
    nb_alloc_fn alloc;     /* NULL: the C library's realloc and free */
    void *alloc_ud;        /* passed to alloc */
    size_t max_tape_bytes; /* cap on all memory the context holds for levels (tapes, tangents,
                              adjoints); 0: no cap. Reaching it is NB_E_TAPE_FULL. Storage kept
                              by popped levels counts (nb_ctx_bytes): after NB_E_TAPE_FULL a
                              smaller computation can hit the cap again until nb_ctx_trim
                              releases what the failed one grew. */
    nb_grad_mode grad_mode;
} nb_ctx_opts;

/* The defaults: C allocator, no cap, NB_GRAD_ACCUMULATE. */
void nb_ctx_opts_init(nb_ctx_opts *opts);

/* Creates a context with `opts` (NULL for the defaults) into *out. NB_E_ARG if out is NULL,
 * NB_E_NOMEM if the hook fails. On failure *out is NULL (when out is not NULL). */
nb_status nb_ctx_new(nb_ctx **out, const nb_ctx_opts *opts);

/* Frees the context and everything it holds. NULL is a no-op. Every handle of it becomes
 * invalid. */
void nb_ctx_free(nb_ctx *c);

/* The context's first recorded error (NB_OK if none). Ops on handles cannot return a status, so
 * an op that fails (a stale or foreign handle, the tape cap, an allocation) returns a NaN
 * constant and records its status here; later errors do not overwrite the first. Drivers return
 * it. The level calls of this header (nb_push, nb_push_taylor, nb_pop, nb_reset, nb_reserve)
 * return their status without recording it: inside a user function, check what they return (a
 * failed nb_push leaves the function's ops on the caller's level). */
nb_status nb_ctx_status(const nb_ctx *c);

/* Returns the recorded error and clears it. */
nb_status nb_ctx_clear_error(nb_ctx *c);

/* Sets how reverse sweeps treat leaf gradients (see nb_grad_mode). */
void nb_ctx_set_grad_mode(nb_ctx *c, nb_grad_mode mode);

/* Bytes the context holds for levels (capacity, not use): tapes kept across pop and reset
 * count until nb_ctx_trim or nb_ctx_free. */
size_t nb_ctx_bytes(const nb_ctx *c);

/* Releases the storage of every level above the current depth (kept for reuse by pop and
 * reset). */
void nb_ctx_trim(nb_ctx *c);

/* ---- levels ---- */

typedef enum nb_kind {
    NB_FORWARD = 1, /* tangents: one directional derivative (a jvp) */
    NB_REVERSE = 2, /* a tape: gradients by a reverse sweep (a vjp) */
    NB_TAYLOR = 3   /* truncated Taylor series: all derivatives up to order K in one direction
                       (push it with nb_push_taylor) */
} nb_kind;

/* The highest order of a Taylor level. */
#define NB_TAYLOR_MAX_ORDER 1000

/* The deepest nesting: levels 1 .. NB_MAX_DEPTH. */
#define NB_MAX_DEPTH 31

/* ---- private: what the inline ops of nabla/var.h read and write ----
 * Not part of the API (no name with "nb__" is): the fields of level 1 that the ops inlined into
 * user code use when every operand belongs to level 1 and it is a forward or reverse level (the
 * depth-1 fast tier: a tangent, or an Adept-style tape entry), and those of level 2 when it is
 * a reverse level over a forward level 1 (the dual tier of Hessian-vector products). Anything
 * else - a deeper or Taylor level, a stale handle, a full array - goes to the library. A
 * context's first two members point to these fields of levels 1 and 2. Their layout is part of
 * the ABI: a program must run with the library version whose headers it was compiled against. */
#define NB__HOT_MEMBERS                                                                       \
    nb_kind kind;            /* level 1's kind */                                              \
    uint32_t tag;            /* level 1's tag; 0 while there is no level 1 */                  \
    size_t n, ncap;          /* nodes in use (node 0 is a sentinel) and their capacity */      \
    size_t nops, opcap;      /* reverse: operands in use and their capacity */                 \
    size_t rlim, flim;       /* the inline ops record on level 1 while n < rlim (a reverse     \
                                level 1 with room for a node and two operands) or n < flim     \
                                (a forward level 1 with room for a node); 0 otherwise */       \
    unsigned long long ops;  /* registry ops bound to the level, less the nodes the inline     \
                                ops made (each is one op: the library adds them back) */       \
    double *tan;             /* forward: each node's tangent */                                \
    uint32_t *stmt_end;      /* reverse: the end of each node's operands */                    \
    uint32_t *op_idx;        /* reverse: each operand's node */                                \
    double *op_mul;          /* reverse: each operand's partial */                            \
    int dual;                /* a reverse level 2 over a forward level 1 (Hessian-vector       \
                                products): primals and partials carry level 1's tangent */     \
    double *prim_t;          /* dual: each node's primal tangent */                            \
    double *op_mt;           /* dual: each operand's partial's tangent */                      \
    int top;                 /* 1 while the level is the top of the stack */                   \
    size_t leaves;           /* inputs made on the level */                                    \
    size_t adj_n;            /* reverse: adjoints [0, adj_n) are valid */                      \
    double *adj;             /* reverse: each node's adjoint (a leaf's gradient) */
typedef struct nb__hot {
    NB__HOT_MEMBERS
} nb__hot;
static inline nb__hot *nb__hot_of(nb_ctx *nb_c_) { return ((nb__hot *const *)(void *)nb_c_)[0]; }
/* Level 2's hot fields (the second member of a context). */
static inline nb__hot *nb__hot2_of(nb_ctx *nb_c_) { return ((nb__hot *const *)(void *)nb_c_)[1]; }

/* Pushes a new, empty level of `kind` on top of the stack. Its storage is reused from an earlier
 * level at the same depth when there is one. NB_E_DEPTH beyond NB_MAX_DEPTH, NB_E_ARG for an
 * unknown kind, NB_E_NOMEM / NB_E_TAPE_FULL when its first node cannot be allocated. */
nb_status nb_push(nb_ctx *c, nb_kind kind);

/* Pushes a Taylor level of order K = `order` (1 .. NB_TAYLOR_MAX_ORDER): each of its values
 * carries the coefficients c_0 .. c_K of a series in one direction t (nabla/taylor.h). NB_E_ARG
 * for K out of range; otherwise as nb_push. nb_push(c, NB_TAYLOR) is NB_E_ARG (the order is
 * required). */
nb_status nb_push_taylor(nb_ctx *c, int order);

/* Pops the top level. Its handles become stale (an op on them is NB_E_STALE); handles of lower
 * levels, including results its sweeps produced, stay valid. The storage is kept for the next
 * push at this depth. NB_E_LEVEL when no level is pushed. */
nb_status nb_pop(nb_ctx *c);

/* The number of levels pushed (0: none; ops on handles then only fold constants). */
int nb_depth(const nb_ctx *c);

/* The kind of the level at `depth` (1 .. nb_depth), or 0 when there is no such level. */
int nb_level_kind(const nb_ctx *c, int depth);

/* Empties the top level, keeping its memory, so the next recording is warm. Its handles become
 * stale, exactly as after pop + push. NB_E_LEVEL when no level is pushed. */
nb_status nb_reset(nb_ctx *c);

/* Pre-sizes the top level for `statements` nodes and `operands` recorded operands (reverse) in
 * all, those already recorded included, so that recording up to that much grows none of the
 * level's node and operand arrays (nb_tape_info_get counts both). Not pre-sized: the scratch that
 * some ops size at their first use and then keep - Taylor ops (a few series of the level's
 * order), and reductions and custom ops of many operands on a level above the first (one or two
 * handles per operand). NB_E_LEVEL, NB_E_NOMEM, NB_E_TAPE_FULL. */
nb_status nb_reserve(nb_ctx *c, size_t statements, size_t operands);

/* Size of a level's recording. */
typedef struct nb_tape_info {
    size_t statements; /* nodes recorded (inputs and leaves included) */
    size_t leaves;     /* of which inputs (nb_rev_input / nb_fwd_input) */
    size_t operands;   /* (index, partial) pairs recorded (reverse levels) */
    size_t bytes;      /* bytes of storage in use: statements (with a sentinel, so an empty
                          reverse level has 4), operand indices, partials (and, at
                          depth >= 2, the references to lower-level handles; for borrowed
                          arrays, nabla/array.h, a few words per array, reduction and element
                          handle - never the arrays themselves) */
    size_t capacity;   /* bytes allocated for the level (kept across reset and pop) */
    unsigned long long ops; /* registry ops applied at this level, recorded or not */
} nb_tape_info;

/* Fills *out for the level at `depth` (1 .. nb_depth). NB_E_LEVEL when there is none, NB_E_ARG
 * for a NULL out. */
nb_status nb_tape_info_get(const nb_ctx *c, int depth, nb_tape_info *out);

/* Elementary operations counted per depth: every registry op (reductions count once) that bound to
 * a level at `depth`, recorded or folded, summed over every level that has lived at that depth
 * since the context was created or nb_op_count_reset was called. In a nested computation the
 * count of each depth is the cost of that level: a second derivative by forward-over-reverse
 * shows how many operations the outer level performed on the inner level's derivative code.
 * 0 for a depth outside 1 .. NB_MAX_DEPTH. In the forward-over-reverse fast path (a reverse level
 * at depth 2 directly over a forward level at depth 1, whose rules run on dual numbers instead of
 * level-1 handles) level 1's count is charged, not observed: one op per primal and per partial
 * evaluated, two per operand passed on by a sweep; it is higher than the generic path's count,
 * which skips ops on constants. */
unsigned long long nb_op_count(const nb_ctx *c, int depth);
void nb_op_count_reset(nb_ctx *c);

#ifdef __cplusplus
}
#endif

#endif /* NABLA_CTX_H */
