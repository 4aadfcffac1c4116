/*
 * index.h - an open-addressing hash index from a 64-bit key hash to an
 * entry pointer, used by the pending-query table and the dedup cache.
 *
 * Linear probing over an array of (hash, entry) slots with the hashes
 * stored, so most misses never touch an entry.  Deletion shifts the
 * following run back (no tombstones), so lookups stay short however long
 * the process runs.  The array doubles when the load passes 1/2; its size
 * is bounded because its owner bounds the number of entries.  Probes
 * land at random, so the array lives in hugemem.h's memory.
 */
#ifndef DNSTRAIL_CORRELATED_INDEX_H
#define DNSTRAIL_CORRELATED_INDEX_H

#include <stddef.h>
#include <stdint.h>

struct index_slot {
	uint64_t hash;
	void *entry; /* NULL: empty */
};

struct index {
	struct index_slot *slots;
	uint64_t mask;
	uint64_t count;
};

int index_init(struct index *ix, uint64_t expected);
void index_free(struct index *ix);
/* Remove every entry at once. */
void index_clear(struct index *ix);
/* Iterate candidates: start with *pos = UINT64_MAX; returns the next entry
 * whose hash equals hash, or NULL.  The caller checks real equality. */
void *index_next(const struct index *ix, uint64_t hash, uint64_t *pos);
/* Returns -1 only when memory for growing the array is not available. */
int index_insert(struct index *ix, uint64_t hash, void *entry);
/* Remove the entry found at pos (from index_next). */
void index_remove_at(struct index *ix, uint64_t pos);
/* Remove this exact entry (found by its hash). */
void index_remove(struct index *ix, uint64_t hash, const void *entry);
size_t index_bytes(const struct index *ix);
/* The slot a probe for hash starts at, for a caller to prefetch.  The
 * caller writes the __builtin_prefetch itself (or INDEX_PREFETCH_PROBE):
 * GCC counts a prefetch as no side effect, finds a function that only
 * prefetches "pure" and deletes the calls to it (dedup_prefetch was
 * compiled to a bare ret that way; tests/build/prefetch_kept.sh watches
 * for it). */
static inline const struct index_slot *index_home(const struct index *ix, uint64_t hash)
{
	return &ix->slots[hash & ix->mask];
}
/* Prefetch, for writing, what a probe for hash reads: at the index's load
 * a probe reads two or three slots, which run into the next cache line
 * when the first is in the second half of its line (16-byte slots, 4 to a
 * line), so the line of the slot two on is fetched too.  A macro, for the
 * reason above. */
#define INDEX_PREFETCH_PROBE(ix, hash)                                    \
	do {                                                              \
		uint64_t probe_hash_ = (hash);                            \
		__builtin_prefetch(index_home((ix), probe_hash_), 1);     \
		__builtin_prefetch(index_home((ix), probe_hash_ + 2), 1); \
	} while (0)

#endif
