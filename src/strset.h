/* strset.h - a hash index over strings the caller keeps in an array (keys[i] for index i): open
 * addressing over caller-allocated slots (0: empty, else index + 1). Shared by the expression
 * parser (variable names) and the command line (--at names), so that many distinct names cost
 * linear time, not quadratic. Not installed; no allocation of its own. */
#ifndef NABLA_STRSET_H
#define NABLA_STRSET_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct nb__strset {
    uint32_t *slot; /* cap entries; cap is a power of two, at least twice the number of keys */
    size_t cap;
} nb__strset;

/* FNV-1a, 64 bits. */
static inline uint64_t nb__strset_hash(const char *s, size_t n) {
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211u;
    return h;
}

/* The index of the key equal to s[0 .. n-1], or SIZE_MAX when there is none. */
static inline size_t nb__strset_find(const nb__strset *t, char *const *keys, const char *s,
                                     size_t n) {
    if (!t->cap) return SIZE_MAX;
    size_t mask = t->cap - 1;
    for (size_t j = (size_t)nb__strset_hash(s, n) & mask;; j = (j + 1) & mask) {
        uint32_t v = t->slot[j];
        if (!v) return SIZE_MAX;
        const char *k = keys[v - 1];
        if (strncmp(k, s, n) == 0 && k[n] == 0) return v - 1;
    }
}

/* Records keys[i] (not already present); the table must have a free slot. */
static inline void nb__strset_put(nb__strset *t, char *const *keys, size_t i) {
    size_t mask = t->cap - 1;
    size_t j = (size_t)nb__strset_hash(keys[i], strlen(keys[i])) & mask;
    while (t->slot[j]) j = (j + 1) & mask;
    t->slot[j] = (uint32_t)(i + 1);
}

/* The capacity the table needs for `count` keys: a power of two, at least 2 count and 16. */
static inline size_t nb__strset_cap_for(size_t count) {
    size_t cap = 16;
    while (cap < 2 * count) cap *= 2;
    return cap;
}

/* Moves the index into `slots` (cap entries, zeroed by the caller) and re-records keys[0 .. n-1].
 * The caller frees the old slots. */
static inline void nb__strset_rebuild(nb__strset *t, uint32_t *slots, size_t cap, char *const *keys,
                                      size_t n) {
    t->slot = slots;
    t->cap = cap;
    for (size_t i = 0; i < n; i++) nb__strset_put(t, keys, i);
}

#endif
