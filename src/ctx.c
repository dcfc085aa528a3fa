/* ctx.c - contexts and their levels: creation, the allocation hook and the memory cap, push, pop,
 * reset, reserve, and handle validation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

static void *default_alloc(void *ud, void *ptr, size_t old_size, size_t new_size) {
    (void)ud;
    (void)old_size;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, new_size);
}

void nb_ctx_opts_init(nb_ctx_opts *opts) {
    if (!opts) return;
    opts->alloc = NULL;
    opts->alloc_ud = NULL;
    opts->max_tape_bytes = 0;
    opts->grad_mode = NB_GRAD_ACCUMULATE;
}

/* splitmix64: spreads the salt's bits. */
static uint64_t mix64(uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

nb_status nb_ctx_new(nb_ctx **out, const nb_ctx_opts *opts) {
    if (!out) return NB_E_ARG;
    *out = NULL;
    nb_ctx_opts o;
    nb_ctx_opts_init(&o);
    if (opts) o = *opts;
    if (!o.alloc) o.alloc = default_alloc;
    if (o.grad_mode != NB_GRAD_ACCUMULATE && o.grad_mode != NB_GRAD_OVERWRITE) return NB_E_ARG;
    nb_ctx *c = o.alloc(o.alloc_ud, NULL, 0, sizeof *c);
    if (!c) return NB_E_NOMEM;
    memset(c, 0, sizeof *c);
    c->alloc = o.alloc;
    c->alloc_ud = o.alloc_ud;
    c->max_bytes = o.max_tape_bytes ? o.max_tape_bytes : SIZE_MAX;
    c->grad_mode = o.grad_mode;
    /* The salt makes generations differ between contexts, so that a handle of another context is
     * caught (with probability 1 - 2^-27). No global counter: the address and the clock. */
    struct timespec ts = {0, 0};
    timespec_get(&ts, TIME_UTC);
    uint64_t salt = mix64((uint64_t)(uintptr_t)c ^ mix64((uint64_t)ts.tv_nsec ^
                                                         ((uint64_t)ts.tv_sec << 32)));
    c->gen_first = c->gen_next = (uint32_t)(salt & NB_GEN_MASK);
    for (uint32_t d = 1; d <= NB_MAX_DEPTH; d++) c->lv[d].depth = d;
    c->hot1 = &c->lv[1].hot;
    c->hot2 = &c->lv[2].hot;
    *out = c;
    return NB_OK;
}

/* Resizes one array to `cap` elements of `size` bytes, keeping the byte count. */
static nb_status resize(nb_ctx *c, void **p, size_t *cap, size_t newcap, size_t size) {
    size_t old = *cap * size, neu = newcap * size;
    void *q = c->alloc(c->alloc_ud, *p, old, neu);
    if (!q && neu) return NB_E_NOMEM;
    *p = q;
    *cap = newcap;
    c->bytes = c->bytes - old + neu;
    return NB_OK;
}

/* Makes *p hold at least `need` elements: doubles the capacity (at least 256); near the cap,
 * where that does not fit, `need` and a quarter of the room left beyond it. (Exactly `need`
 * there made every op past that point reallocate its arrays by one element: quadratic with an
 * allocation hook that copies, 46 s for 571 428 ops under a 16 MB cap, a review. A quarter of
 * what is left keeps the growth geometric and leaves room for the level's other arrays.)
 * `later` is the bytes that the arrays grown after this one for the same request need beyond
 * their capacities: the room is what is left beside them. (Without it the first array of a
 * request - doubled, or its quarter - took the room of the next ones: nb_reserve of a level's
 * arrays by less than twice their size was NB_E_TAPE_FULL with a quarter of the cap free, a
 * review.) */
static nb_status ensure(nb_ctx *c, void **p, size_t *cap, size_t need, size_t size,
                        size_t later) {
    if (need <= *cap) return NB_OK;
    if (need > SIZE_MAX / size / 2) return NB_E_TAPE_FULL;
    size_t newcap = *cap * 2;
    if (newcap < need) newcap = need;
    if (newcap < 256) newcap = 256;
    size_t old = *cap * size;
    if (c->bytes - old > c->max_bytes) return NB_E_TAPE_FULL;
    /* the bytes this array may hold under the cap, beside what the later arrays need */
    size_t avail = c->max_bytes - (c->bytes - old);
    avail = later < avail ? avail - later : 0;
    if (newcap > avail / size) {
        const size_t room = avail / size; /* the elements of this array that fit */
        if (room < need) return NB_E_TAPE_FULL;
        newcap = need + (room - need) / 4;
    }
    return resize(c, p, cap, newcap, size);
}

#define ENSURE(c_, L_, field_, need_) \
    ensure((c_), (void **)&(L_)->field_, &(L_)->cap_##field_, (need_), sizeof *(L_)->field_, 0)

static size_t min2(size_t a, size_t b) { return a < b ? a : b; }

/* One array of a growth of a level: where it is, and the elements it must hold. */
typedef struct grow_item {
    void **p;
    size_t *cap;
    size_t need, size;
} grow_item;
#define ITEM(L_, field_, need_) \
    ((grow_item){(void **)&(L_)->field_, &(L_)->cap_##field_, (need_), sizeof *(L_)->field_})

/* The bytes an array needs beyond its capacity, saturated. */
static size_t shortfall(const grow_item *it) {
    const size_t d = it->need > *it->cap ? it->need - *it->cap : 0;
    return d > SIZE_MAX / it->size ? SIZE_MAX : d * it->size;
}

/* The bytes the arrays it[0 .. k-1] need beyond their capacities, saturated. */
static size_t shortfalls(const grow_item *it, size_t k) {
    size_t later = 0;
    for (size_t i = 0; i < k; i++) {
        const size_t b = shortfall(&it[i]);
        later = b > SIZE_MAX - later ? SIZE_MAX : later + b;
    }
    return later;
}

/* Grows the arrays it[0 .. k-1] of one request in turn, each leaving the room the ones after
 * it need and `beside` bytes more (what the request's other arrays, grown after these, need). */
static nb_status grow_items(nb_ctx *c, const grow_item *it, size_t k, size_t beside) {
    const size_t own = shortfalls(it, k);
    size_t later = own > SIZE_MAX - beside ? SIZE_MAX : own + beside;
    for (size_t i = 0; i < k; i++) {
        if (later != SIZE_MAX) later -= shortfall(&it[i]);
        nb_status s = ensure(c, it[i].p, it[i].cap, it[i].need, it[i].size, later);
        if (s) return s;
    }
    return NB_OK;
}

/* nb__level_grow, leaving `beside` bytes for arrays of the same request grown after it. */
static nb_status level_grow(nb_ctx *c, nb_level *L, size_t nodes, size_t operands,
                            size_t beside) {
    /* Indices are 32-bit: node and operand counts stay below 2^32. */
    if (nodes > UINT32_MAX - 1 - L->n || operands > UINT32_MAX - L->nops) return NB_E_TAPE_FULL;
    size_t need = L->n + nodes;
    /* room already: the common case, asked by every custom op and reduction (building the
     * list of arrays to grow below when none needs to made bench_rev's rev_custom 7% slower:
     * 58.4-59.3 against 54.8-54.9 with this test) */
    if (need <= L->ncap && (L->kind != NB_REVERSE || L->nops + operands <= L->opcap)) return NB_OK;
    nb_status s = NB_OK;
    if (need > L->ncap && L->kind == NB_TAYLOR) {
        size_t per = (size_t)L->order + 1;
        if (need > SIZE_MAX / sizeof(nb_var) / 2 / per) return NB_E_TAPE_FULL;
        if ((s = ensure(c, (void **)&L->coef, &L->cap_coef, need * per, sizeof *L->coef,
                        beside)))
            return s;
        L->ncap = min2(L->cap_coef / per, (size_t)UINT32_MAX - 1); /* as below */
        return NB_OK;
    }
    /* the node arrays, then the operand arrays of one request, each leaving the room the ones
     * after it need (ensure's `later`) */
    const int gen = L->mode == NB_MODE_GENERIC, dual = L->mode == NB_MODE_DUAL;
    grow_item it[5];
    size_t k = 0, nk;
    if (need > L->ncap) {
        if (L->kind == NB_FORWARD) {
            it[k++] = ITEM(L, tan, need);
            if (gen) it[k++] = ITEM(L, tan_ref, need);
        } else {
            it[k++] = ITEM(L, stmt_end, need);
        }
        if (gen) it[k++] = ITEM(L, prim_ref, need);
        if (dual) it[k++] = ITEM(L, prim_t, need);
    }
    nk = k;
    const size_t oneed = L->nops + operands;
    if (L->kind == NB_REVERSE && oneed > L->opcap) {
        it[k++] = ITEM(L, op_idx, oneed);
        it[k++] = ITEM(L, op_mul, oneed);
        if (gen) it[k++] = ITEM(L, op_ref, oneed);
        if (dual) it[k++] = ITEM(L, op_mt, oneed);
    }
    const size_t ops = shortfalls(it + nk, k - nk);
    if ((s = grow_items(c, it, nk, ops > SIZE_MAX - beside ? SIZE_MAX : ops + beside))) return s;
    /* node indices and operand ends are 32-bit, and the inline ops append while n < ncap (and
     * nops + 2 <= opcap) without asking: the usable capacities stay where the check above would
     * stop growth, even when an array doubled past 2^32 */
    if (nk) {
        size_t ncap = SIZE_MAX;
        for (size_t i = 0; i < nk; i++) ncap = min2(ncap, *it[i].cap);
        L->ncap = min2(ncap, (size_t)UINT32_MAX - 1);
    }
    if ((s = grow_items(c, it + nk, k - nk, beside))) return s;
    if (k > nk) {
        size_t opcap = SIZE_MAX;
        for (size_t i = nk; i < k; i++) opcap = min2(opcap, *it[i].cap);
        L->opcap = min2(opcap, (size_t)UINT32_MAX);
    }
    return NB_OK;
}

nb_status nb__level_grow(nb_ctx *c, nb_level *L, size_t nodes, size_t operands) {
    const nb_status s = level_grow(c, L, nodes, operands, 0);
    nb__hot_limits(L);
    return s;
}

/* The adjoint arrays grow as one request, as the tape's do (adj doubled or given a quarter of
 * the room left took that of adj_ref or adj_t: a second sweep after recording a fifth more was
 * NB_E_TAPE_FULL under caps above what it needed, a review). */
nb_status nb__adj_ready(nb_ctx *c, nb_level *L) {
    if (L->adj_n >= L->n) return NB_OK;
    grow_item it[2];
    size_t k = 0;
    it[k++] = ITEM(L, adj, L->n);
    if (L->mode == NB_MODE_GENERIC) it[k++] = ITEM(L, adj_ref, L->n);
    if (L->mode == NB_MODE_DUAL) it[k++] = ITEM(L, adj_t, L->n);
    nb_status s = grow_items(c, it, k, 0);
    if (s) return s;
    size_t m = L->n - L->adj_n;
    memset(L->adj + L->adj_n, 0, m * sizeof *L->adj);
    if (L->mode == NB_MODE_GENERIC) memset(L->adj_ref + L->adj_n, 0, m * sizeof *L->adj_ref);
    if (L->mode == NB_MODE_DUAL) memset(L->adj_t + L->adj_n, 0, m * sizeof *L->adj_t);
    L->adj_n = L->n;
    return NB_OK;
}

/* The level's nodes grow first, leaving the room the array records need, and then those (an
 * array reduction's record doubled, or given a quarter of the room left, took the room of the
 * node it needs too: NB_E_TAPE_FULL under caps above ones where it fitted, a review). */
nb_status nb__arrays_grow(nb_ctx *c, nb_level *L, size_t arrays, size_t stmts, size_t elems,
                          size_t nodes) {
    if (arrays > SIZE_MAX - L->narr || stmts > SIZE_MAX - L->nastmt || elems > SIZE_MAX - L->naelem)
        return NB_E_TAPE_FULL;
    if (L->narr + arrays > UINT32_MAX) return NB_E_TAPE_FULL; /* ids are 32-bit */
    const grow_item it[3] = {ITEM(L, arr, L->narr + arrays), ITEM(L, astmt, L->nastmt + stmts),
                             ITEM(L, aelem, L->naelem + elems)};
    nb_status s = level_grow(c, L, nodes, 0, shortfalls(it, 3));
    return s ? s : grow_items(c, it, 3, 0);
}

nb_status nb__inputs_reserve(nb_ctx *c, nb_level *L, size_t n) {
    return ENSURE(c, L, inputs, n);
}
nb_status nb__outputs_reserve(nb_ctx *c, nb_level *L, size_t n) {
    return ENSURE(c, L, outputs, n);
}
nb_status nb__scratch_reserve(nb_ctx *c, nb_level *L, size_t n) {
    return ENSURE(c, L, scratch, n);
}
nb_status nb__dscratch_reserve(nb_ctx *c, nb_level *L, size_t n) {
    return ENSURE(c, L, dscratch, n);
}

/* Releases all storage of a level. */
static void level_release(nb_ctx *c, nb_level *L) {
#define RELEASE(field_) resize(c, (void **)&L->field_, &L->cap_##field_, 0, sizeof *L->field_)
    RELEASE(tan);
    RELEASE(tan_ref);
    RELEASE(prim_ref);
    RELEASE(prim_t);
    RELEASE(stmt_end);
    RELEASE(op_idx);
    RELEASE(op_mul);
    RELEASE(op_ref);
    RELEASE(op_mt);
    RELEASE(adj);
    RELEASE(adj_ref);
    RELEASE(adj_t);
    RELEASE(dscratch);
    RELEASE(coef);
    RELEASE(inputs);
    RELEASE(outputs);
    RELEASE(scratch);
    RELEASE(arr);
    RELEASE(astmt);
    RELEASE(aelem);
#undef RELEASE
    L->ncap = L->opcap = 0;
    L->rlim = L->flim = 0;
}

void nb_ctx_free(nb_ctx *c) {
    if (!c) return;
    for (uint32_t d = 1; d <= NB_MAX_DEPTH; d++) level_release(c, &c->lv[d]);
    c->alloc(c->alloc_ud, c, sizeof *c, 0);
}

void nb_ctx_trim(nb_ctx *c) {
    if (!c) return;
    for (uint32_t d = c->depth + 1; d <= NB_MAX_DEPTH; d++) level_release(c, &c->lv[d]);
}

nb_status nb_ctx_status(const nb_ctx *c) { return c ? c->err : NB_E_ARG; }

nb_status nb_ctx_clear_error(nb_ctx *c) {
    if (!c) return NB_E_ARG;
    nb_status s = c->err;
    c->err = NB_OK;
    return s;
}

void nb_ctx_set_grad_mode(nb_ctx *c, nb_grad_mode mode) {
    if (c && (mode == NB_GRAD_ACCUMULATE || mode == NB_GRAD_OVERWRITE)) c->grad_mode = mode;
}

size_t nb_ctx_bytes(const nb_ctx *c) { return c ? c->bytes : 0; }

nb_status nb__fail(nb_ctx *c, nb_status s) {
    if (c->err == NB_OK) c->err = s;
    return s;
}

nb_var nb__fail_var(nb_ctx *c, nb_status s) {
    nb__fail(c, s);
    return nb_const((double)NAN);
}

nb_var nb__bad_handle(nb_ctx *c, nb_var x) {
    /* A generation this context issued means a popped (or reset) level; any other means the
     * handle came from elsewhere. */
    uint32_t gen = x.tag >> NB_DEPTH_BITS;
    uint32_t age = (gen - c->gen_first) & NB_GEN_MASK;
    uint32_t issued = (c->gen_next - c->gen_first) & NB_GEN_MASK;
    if (c->gen_wrapped) return nb__fail_var(c, NB_E_STALE); /* every generation was issued */
    return nb__fail_var(c, age < issued ? NB_E_STALE : NB_E_FOREIGN);
}

/* Gives the level at `d` a fresh tag and empties it. */
static nb_status level_start(nb_ctx *c, nb_level *L, nb_kind kind) {
    uint32_t gen = c->gen_next & NB_GEN_MASK;
    c->gen_next = (c->gen_next + 1) & NB_GEN_MASK;
    if (c->gen_next == c->gen_first) c->gen_wrapped = 1;
    L->tag = (gen << NB_DEPTH_BITS) | L->depth;
    L->kind = kind;
    L->mode = kind == NB_TAYLOR ? NB_MODE_TAYLOR
              : L->depth == 1   ? NB_MODE_PLAIN
              : (L->depth == 2 && kind == NB_REVERSE && c->lv[1].kind == NB_FORWARD)
                  ? NB_MODE_DUAL
                  : NB_MODE_GENERIC;
    L->dual = L->mode == NB_MODE_DUAL;
    L->ops = 0;
    L->nodes_lib = 0;
    L->n = 0;
    L->nops = 0;
    L->leaves = 0;
    L->adj_n = 0;
    L->narr = L->nastmt = L->naelem = 0;
    /* node capacity depends on the kind's arrays: recompute; and the operands' capacity, which
     * is what the arrays of this kind and mode already hold (0 left every op and input of a reset
     * level to the library until an operand was recorded there: bench_rev's rev_custom, whose
     * inputs follow a reset, 13% slower) */
    L->ncap = 0;
    L->opcap = 0;
    if (kind == NB_REVERSE) {
        size_t opcap = min2(L->cap_op_idx, L->cap_op_mul);
        if (L->mode == NB_MODE_GENERIC) opcap = min2(opcap, L->cap_op_ref);
        if (L->mode == NB_MODE_DUAL) opcap = min2(opcap, L->cap_op_mt);
        L->opcap = min2(opcap, (size_t)UINT32_MAX); /* (as level_grow) */
    }
    nb_status s = nb__level_grow(c, L, 1, 0);
    if (s) return s;
    /* node 0: the sentinel */
    if (kind == NB_REVERSE) L->stmt_end[0] = 0;
    else if (kind == NB_FORWARD) L->tan[0] = 0;
    else
        for (int k = 0; k <= L->order; k++) L->coef[k] = nb_const(0);
    if (L->mode == NB_MODE_GENERIC) L->prim_ref[0] = (nb_ref){0, 0};
    if (L->mode == NB_MODE_DUAL) L->prim_t[0] = 0;
    L->n = 1;
    nb__hot_limits(L);
    return NB_OK;
}

static nb_status push(nb_ctx *c, nb_kind kind, int order) {
    if (c->depth >= NB_MAX_DEPTH) return NB_E_DEPTH;
    nb_level *L = &c->lv[c->depth + 1];
    L->order = order;
    L->trunc = order;
    L->driven = 0;
    L->pattern = 0;
    if (c->depth == 0) c->hot1 = &c->lv[1].hot;
    nb_status s = level_start(c, L, kind);
    if (s) {
        L->tag = 0;
        L->rlim = L->flim = 0;
        return s;
    }
    c->lv[c->depth].top = 0; /* lv[0] is unused */
    c->depth++;
    L->top = 1;
    return NB_OK;
}

nb_status nb_push(nb_ctx *c, nb_kind kind) {
    if (!c) return NB_E_ARG;
    if (kind != NB_FORWARD && kind != NB_REVERSE) return NB_E_ARG;
    return push(c, kind, 0);
}

nb_status nb__push_pattern(nb_ctx *c) {
    if (c->depth != 0) return NB_E_LEVEL;
    nb_status s = push(c, NB_REVERSE, 0);
    if (s) return s;
    c->lv[1].pattern = 1;
    c->hot1 = &c->hot_off;
    return NB_OK;
}

nb_status nb_push_taylor(nb_ctx *c, int K) {
    if (!c) return NB_E_ARG;
    if (K < 1 || K > NB_TAYLOR_MAX_ORDER) return NB_E_ARG;
    nb_status s = push(c, NB_TAYLOR, K);
    if (!s) c->lv[c->depth].jitter = c->taylor_jitter;
    return s;
}

nb_status nb_pop(nb_ctx *c) {
    if (!c) return NB_E_ARG;
    if (c->depth == 0) return NB_E_LEVEL;
    nb_level *L = &c->lv[c->depth];
    c->ops_done[c->depth] += nb__level_ops(L);
    L->tag = 0; /* every handle of it is now stale */
    L->rlim = L->flim = 0;
    L->top = 0;
    L->pattern = 0;
    if (c->depth == 1) c->hot1 = &c->lv[1].hot;
    c->depth--;
    c->lv[c->depth].top = 1;
    return NB_OK;
}

int nb_depth(const nb_ctx *c) { return c ? (int)c->depth : 0; }

int nb_level_kind(const nb_ctx *c, int depth) {
    if (!c || depth < 1 || depth > (int)c->depth) return 0;
    return (int)c->lv[depth].kind;
}

nb_status nb_reset(nb_ctx *c) {
    if (!c) return NB_E_ARG;
    if (c->depth == 0) return NB_E_LEVEL;
    nb_level *L = &c->lv[c->depth];
    c->ops_done[c->depth] += nb__level_ops(L);
    L->driven = 0; /* as after pop + push: a driver's level reset by f is no longer the driver's */
    return level_start(c, L, L->kind);
}

unsigned long long nb_op_count(const nb_ctx *c, int depth) {
    if (!c || depth < 1 || depth > NB_MAX_DEPTH) return 0;
    return c->ops_done[depth] + (depth <= (int)c->depth ? nb__level_ops(&c->lv[depth]) : 0);
}

void nb_op_count_reset(nb_ctx *c) {
    if (!c) return;
    memset(c->ops_done, 0, sizeof c->ops_done);
    for (uint32_t d = 1; d <= c->depth; d++) /* the kept count offsets the inline ops' nodes */
        c->lv[d].ops -= nb__level_ops(&c->lv[d]); /* (unsigned: wraps, and adds back to 0) */
}

nb_status nb_reserve(nb_ctx *c, size_t statements, size_t operands) {
    if (!c) return NB_E_ARG;
    if (c->depth == 0) return NB_E_LEVEL;
    nb_level *L = &c->lv[c->depth];
    /* L->n counts the sentinel: `statements` of them need statements + 1 (statements equal to
     * L->n asked for one node too few, a review) */
    size_t nodes = statements >= L->n ? statements - L->n + 1 : 0;
    /* and one operand more: a binary op makes room for both of its operands before it knows
     * whether it keeps one (x*x) or drops a zero partial, and on levels above the first a unary
     * op makes room for two; without the slot the last op of an exact reservation grew the
     * arrays, or hit a cap set right above the reservation (a review) */
    size_t ops = operands >= L->nops ? operands - L->nops + 1 : 0;
    return nb__level_grow(c, L, nodes, L->kind == NB_REVERSE ? ops : 0);
}

nb_status nb_tape_info_get(const nb_ctx *c, int depth, nb_tape_info *out) {
    if (!c || !out) return NB_E_ARG;
    if (depth < 1 || depth > (int)c->depth) return NB_E_LEVEL;
    const nb_level *L = &c->lv[depth];
    size_t nodes = L->n - 1; /* without the sentinel */
    size_t per_node, per_op = 0;
    const int gen = L->mode == NB_MODE_GENERIC, dual = L->mode == NB_MODE_DUAL;
    if (L->kind == NB_TAYLOR) {
        per_node = ((size_t)L->order + 1) * sizeof(nb_var);
    } else if (L->kind == NB_FORWARD) {
        per_node = sizeof(double) + (gen ? 2 * sizeof(nb_ref) : 0);
    } else {
        per_node = sizeof(uint32_t) + (gen ? sizeof(nb_ref) : dual ? sizeof(double) : 0);
        per_op = sizeof(uint32_t) + sizeof(double) +
                 (gen ? sizeof(nb_ref) : dual ? sizeof(double) : 0);
    }
    out->statements = nodes;
    out->leaves = L->leaves;
    out->operands = L->nops;
    out->bytes = L->n * per_node + L->nops * per_op + L->narr * sizeof(nb__arr) +
                 L->nastmt * sizeof(nb__arr_stmt) + L->naelem * sizeof(nb__arr_elem);
    out->capacity = (L->cap_tan + L->cap_prim_t + L->cap_op_mul + L->cap_op_mt + L->cap_adj +
                     L->cap_adj_t) * sizeof(double) +
                    (L->cap_tan_ref + L->cap_prim_ref + L->cap_op_ref + L->cap_adj_ref) *
                        sizeof(nb_ref) +
                    (L->cap_stmt_end + L->cap_op_idx) * sizeof(uint32_t) +
                    (L->cap_inputs + L->cap_outputs + L->cap_scratch) * sizeof(nb_var) +
                    L->cap_dscratch * sizeof(nb_dual) + L->cap_coef * sizeof(nb_var) +
                    L->cap_arr * sizeof(nb__arr) + L->cap_astmt * sizeof(nb__arr_stmt) +
                    L->cap_aelem * sizeof(nb__arr_elem);
    out->ops = nb__level_ops(L);
    return NB_OK;
}
