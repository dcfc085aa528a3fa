/* sparse.h - sparse Jacobians and Hessians: the sparsity pattern found from the function itself,
 * a coloring of it, and the nonzeros from a few passes instead of one per column.
 *
 * A Jacobian whose columns fall into p groups, no two columns of a group sharing a row, is known
 * from p Jacobian-vector products: J times the sum of a group's unit vectors has, in each row, the
 * one nonzero of that row among the group's columns (Curtis, Powell & Reid 1974). Likewise p
 * vector-Jacobian products for groups of rows, and p Hessian-vector products for a Hessian whose
 * columns are so grouped (Coleman & More 1984; the grouping is a greedy distance-2 coloring, in
 * the natural order). A tridiagonal Hessian of any size takes 3 passes instead of n.
 *
 * Dense lines. A dense row would force every column into a group of its own. So the plan also
 * tries taking the longest lines one pass each the other way - a dense row by its own reverse
 * sweep, a dense column (when rows are grouped for sweeps) by its own forward pass, and for a
 * Hessian a dense column by its own product, whose entries give the row too by symmetry - and
 * grouping the rest over the remaining lines: an arrowhead Hessian takes 2 passes, a Jacobian
 * with one dense row and one dense column 3. Within each direction (columns grouped for forward
 * passes, rows for sweeps) it tries the lines longer than t one pass each, for t from the longest
 * line's length down by halves to 0, and keeps the fewest passes (the larger t on a tie); then
 * (NB_SPARSE_AUTO) it takes the direction with fewer passes, a recording counted as one more
 * pass for any plan with sweeps, forward on a tie. The greedy grouping costs, per split tried,
 * the sum over the lines it groups of their squared length; past 32 nnz + 10^6 that split is
 * skipped, or (FORWARD or REVERSE asked for, no split) every column (row) gets a group of its
 * own, which is what such a pattern needs anyway.
 *
 * A plan (nb_sparse) holds the pattern, the grouping and the scratch of one evaluation. Make it
 * once, from the function (the pattern is found by recording it; see "Patterns found from f"
 * below) or from a pattern you give, then evaluate at as many points as you like, with any
 * context (the plan is not tied to the one that made it, which may be freed) and at any depth:
 * the evaluation's results are doubles, constants to the caller's levels. Values are in the
 * plan's order: compressed sparse rows (nb_sparse_row_ptr, nb_sparse_col_idx), rows ascending,
 * columns ascending within a row. A Hessian's pattern is the full symmetric one (both triangles,
 * diagonal included where it is nonzero); for the lower triangle alone keep the entries e of row
 * i with col_idx[e] <= i.
 *
 * Values. Each value is the same double that the dense driver running the same kind of pass
 * computes: nb_jacobian's NB_JAC_FORWARD for entries from forward passes, NB_JAC_REVERSE for
 * entries from sweeps, nb_hessian for a Hessian's grouped columns (in a pass, the other columns
 * of the group contribute strong-zero products with a zero tangent). On a Hessian's dense line,
 * entry (i, j) of a dense row i comes from column i's product, the transpose of nb_hessian's, and
 * may differ from it in the last bits.
 *
 * Patterns found from f. f is recorded once at x on a level that keeps every operand of every
 * op, zero partials included, so the pattern is structural: an entry is in it when the result
 * depends on the input through the recorded ops, whatever the values (x * y at y = 0 still
 * depends on x; the Rosenbrock function's Hessian at 0, where every 2 x_i is 0, is tridiagonal).
 * Only rules that are identically zero drop an operand (stop_gradient's, sign's: a detached
 * input is not in the pattern). A Hessian's pattern is the pattern of the gradient's Jacobian,
 * found by recording the gradient (reverse over the keep-every-operand level, where constant
 * zero partials are kept too), so it holds the entries where the second derivative is
 * structurally nonzero: x*y gives (x, y) and (y, x) but not (x, x). It is the pattern of the path
 * taken at x: where f branches on values (an if, a loop count), another point may take a path
 * with other dependences, and a plan made at one point then gives wrong numbers at such a
 * point - make the plan at a point whose branches go as they will where you evaluate, or give the
 * pattern. Ops whose partials are constants picked by value (max, min, abs) keep every operand,
 * so their entries hold wherever the choice goes, for Hessians too (abs(x*y) recorded at 0 has
 * the entry (x, y)). Rules that switch to a constant only at a special point (pow at a zero
 * base, hypot and norm at zero) lose there the dependences of the rule they did not pick:
 * record a Hessian's pattern away from those points. Finding a pattern needs an empty level
 * stack (c at depth 0): NB_E_LEVEL otherwise.
 *
 * Cost of a plan from f: a Jacobian's takes one recording and, for each output, a walk of the
 * part of the record that output depends on (at most m times the record: dense rows are slow to
 * find); a Hessian's, one recording of the gradient at a second level (the generic nesting tier:
 * 10 to 15 gradients, 5 to 6 Hessian-vector products, on Rosenbrock) and the same walk for each
 * of the n gradient entries; then the grouping above (a dense row of 1000 entries costs about 20
 * gradients to group).
 *
 * Memory. The recordings that find a pattern are levels of the context: they count against
 * max_tape_bytes (NB_E_TAPE_FULL; the pattern level keeps every operand, so it holds more than a
 * gradient's tape, and a Hessian's also holds the gradient's record: for Rosenbrock at n = 10^6
 * a gradient holds 197 MB, a Hessian's pattern 1.26 GB), and their storage stays with the
 * context until nb_ctx_trim. The plan and the scratch of finding and grouping the
 * pattern come from the context's allocation hook, not counted; the plan keeps the hook and
 * gives its memory back with nb_sparse_free.
 *
 * Threads: a plan is used by one thread at a time (it holds scratch); make one per thread, or
 * guard it.
 */
#ifndef NABLA_SPARSE_H
#define NABLA_SPARSE_H

#include <stddef.h>

#include "nabla/drivers.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nb_sparse nb_sparse;

/* How a sparse Jacobian is evaluated (AUTO, FORWARD, REVERSE are asked for; MIXED is reported). */
typedef enum nb_sparse_mode {
    NB_SPARSE_AUTO = 0, /* forward passes over groups of columns or reverse sweeps over groups
                           of rows, either with its dense lines taken one pass each the other
                           way (MIXED): the direction with fewer passes, a recording counted as
                           one more, forward on a tie (the header's "Dense lines") */
    NB_SPARSE_FORWARD,  /* one forward pass (a jvp) per group of columns, nothing else */
    NB_SPARSE_REVERSE,  /* one recording and one reverse sweep per group of rows, nothing else */
    NB_SPARSE_MIXED     /* reported, not asked for: a few dense rows by reverse sweeps and the
                           other rows by forward passes, or dense columns by forward passes and
                           the rest by sweeps (AUTO's choice when it takes fewer passes) */
} nb_sparse_mode;

/* A plan for the m x n Jacobian of f, the pattern found by recording f at x (n doubles), as the
 * header says. *out gets the plan, or NULL on failure. NB_E_ARG for NULL c, f, out or x (n > 0),
 * an unknown mode, or n, m beyond 2^32 - 2; NB_E_LEVEL when c holds a level; an error already
 * recorded is returned at once; errors of f, NB_E_TAPE_FULL and NB_E_NOMEM as for the drivers. */
nb_status nb_sparse_jac_new(nb_ctx *c, nb_vfn f, void *env, size_t n, size_t m, const double *x,
                            nb_sparse_mode mode, nb_sparse **out);

/* A plan for the n x n Hessian of the scalar f, its pattern found by recording the gradient of f
 * at x (the header). Errors as for nb_sparse_jac_new. */
nb_status nb_sparse_hess_new(nb_ctx *c, nb_fn f, void *env, size_t n, const double *x,
                             nb_sparse **out);

/* A plan for an m x n Jacobian whose nonzeros may only be at (rows[k], cols[k]), k < nnz (any
 * order; repeated entries are merged). The plan is only as right as the pattern: a nonzero left
 * out is not computed, and its column's group may then corrupt others. Needs no level (any
 * depth). NB_E_ARG for NULL c or out, an index out of range, NULL arrays with nnz > 0, an
 * unknown mode, or sizes as above; NB_E_NOMEM; an error already recorded is returned. */
nb_status nb_sparse_jac_new_pattern(nb_ctx *c, size_t n, size_t m, size_t nnz,
                                    const size_t *rows, const size_t *cols, nb_sparse_mode mode,
                                    nb_sparse **out);

/* A plan for an n x n Hessian with nonzeros at (rows[k], cols[k]) and (cols[k], rows[k]): give
 * either triangle, or both. Otherwise as nb_sparse_jac_new_pattern. */
nb_status nb_sparse_hess_new_pattern(nb_ctx *c, size_t n, size_t nnz, const size_t *rows,
                                     const size_t *cols, nb_sparse **out);

/* The plan's shape, its number of nonzeros, its pattern in compressed sparse rows (row i's
 * columns are col_idx[row_ptr[i] .. row_ptr[i+1] - 1], ascending; m + 1 row pointers), the
 * number of passes one evaluation makes (groups and dense lines; a plan with sweeps also makes
 * one recording, and a plan with no entries one forward pass when y is asked for), and the mode
 * it uses
 * (NB_SPARSE_FORWARD, NB_SPARSE_REVERSE or NB_SPARSE_MIXED for a Jacobian; NB_SPARSE_AUTO for a
 * Hessian, whose passes are Hessian-vector products). All 0 or NULL for a NULL plan. */
size_t nb_sparse_rows(const nb_sparse *p);
size_t nb_sparse_cols(const nb_sparse *p);
size_t nb_sparse_nnz(const nb_sparse *p);
const size_t *nb_sparse_row_ptr(const nb_sparse *p);
const size_t *nb_sparse_col_idx(const nb_sparse *p);
size_t nb_sparse_passes(const nb_sparse *p);
nb_sparse_mode nb_sparse_mode_of(const nb_sparse *p);

/* The Jacobian's nonzeros at x (n doubles) into val (nnz doubles, in the plan's order), and f(x)
 * into y (m doubles, NULL to skip; it may be x, and is written last), by the plan's passes (the
 * header's "Values"). f must have the plan's n and m: that is not checked, and another n or m
 * gives wrong values or reads past the caller's arrays. val must not overlap x or y. Errors as
 * for nb_jacobian, NaN in every output given (y too, even when it is x); NB_E_ARG for a NULL
 * plan, c, f, val (nnz > 0) or x (n > 0), or a Hessian's plan. */
nb_status nb_sparse_jacobian(nb_ctx *c, nb_sparse *p, nb_vfn f, void *env, const double *x,
                             double *y, double *val);

/* The Hessian's nonzeros at x into val (in the plan's order, both triangles), f(x) into *fx and
 * the gradient into g (n doubles; both NULL to skip; g may be x, and is written last), by one
 * Hessian-vector product (nb_hvp) per pass; val must not overlap x or g; f must have the plan's
 * n (not checked, as above). H[i][j] and H[j][i] come from different passes and may differ in
 * the last bits, except on a dense line, whose one pass gives both. Errors as for nb_hessian,
 * NaN in every output given; NB_E_ARG as for nb_sparse_jacobian, or a Jacobian's plan. */
nb_status nb_sparse_hessian(nb_ctx *c, nb_sparse *p, nb_fn f, void *env, const double *x,
                            double *fx, double *g, double *val);

/* Releases a plan (NULL is allowed), through the allocation hook of the context that made it
 * (the plan keeps the hook; the context may be gone). */
void nb_sparse_free(nb_sparse *p);

#ifdef __cplusplus
}
#endif

#endif /* NABLA_SPARSE_H */
