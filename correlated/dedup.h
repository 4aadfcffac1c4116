/*
 * dedup.h - the dedup cache: a record seen again within the window is not
 * written again, only counted.
 *
 * Key: (q, qtype, rrname, atype, a, section) for an RR, and (q, qtype,
 * rcode) for the line of a response without RRs; an unanswered query has
 * its own key (rcode 65535), so it never merges with a NODATA answer.  Names
 * compare case-insensitively, rdata exactly.
 *
 * Invariant: the sum of `count` over everything written equals the number
 * of lines that would be written without dedup.
 *   - The first sighting is written at once, count 1, and opens a window of
 *     window_ns packet time.
 *   - Repeats in the window only bump the entry's unwritten count and
 *     remember the latest sighting (time, addresses, TTL ...).
 *   - When the window closes, the entry is written again if it has
 *     unwritten sightings: the latest one, with count = their number
 *     (TXN_F_DEDUP_FLUSH), then forgotten.  When the cache is full
 *     (max_entries), a new key closes the window of the oldest entry early,
 *     the one whose window would close next, the same way; so does
 *     shutdown for every entry.  Nothing counted is ever dropped.
 *   - Records whose q + rrname + a exceed max_key_bytes are written every
 *     time (counted as bypassed): the cache's memory stays bounded.
 *
 * Memory: a 128-byte slot per entry (max_entries of them at most, mapped
 * 8 MiB at a time as the cache first fills), a key that does not fit in
 * its slot (over 90 bytes) in a block of its own, and an index slot (16
 * bytes, at most half full; sized for min(max_entries, 2^20) entries from
 * the start, 32 MiB at the default, and grown beyond).  An entry seen again
 * within its window also holds the record of its latest sighting (about
 * 200 bytes + the three strings, in its own block).
 * dedup_stats().memory_bytes is the exact figure.
 */
#ifndef DNSTRAIL_CORRELATED_DEDUP_H
#define DNSTRAIL_CORRELATED_DEDUP_H

#include "records.h"
#include "stats.h"

#include <stddef.h>
#include <stdint.h>

struct dedup_config {
	uint64_t window_ns;
	uint64_t max_entries;
	uint32_t max_key_bytes;
};

struct dedup_stats {
	uint64_t first_seen; /* written at once */
	uint64_t hits; /* repeats only counted */
	uint64_t flushed; /* re-written when their window closed */
	uint64_t evicted; /* let go because the cache was full */
	uint64_t bypassed; /* too long to cache: written every time */
	uint64_t entries; /* gauge */
	uint64_t memory_bytes; /* gauge */
	uint64_t alloc_failures;
};
extern const struct stat_desc dedup_stat_desc[];
extern const size_t dedup_stat_count;

/* Writes a record the cache releases (a one-RR or no-RR REC_TXN). */
typedef void (*dedup_write_fn)(void *ctx, const struct rec_txn *t, size_t len);

struct dedup;
struct dedup *dedup_new(const struct dedup_config *cfg, dedup_write_fn write, void *ctx);
void dedup_free(struct dedup *d);

/*
 * A sighting of rr (NULL: the no-RR line) of transaction t, whose text area
 * is text.  t->msg.n_rr is ignored.  Returns 1 when the record must be
 * written now (first sighting, or not cacheable), 0 when it was counted.
 */
int dedup_sighting(struct dedup *d, const struct rec_txn *t, const char *text,
		   const struct rec_rr *rr);
/* Fetch into cache the index slots that the lines of response m (len
 * bytes, not yet checked; the RRs of the sections in the mask, or else the
 * no-RR line) will look up: a few records ahead, it turns the lookups'
 * cache misses into hits. */
void dedup_prefetch(const struct dedup *d, const struct rec_msg *m, size_t len, unsigned sections);
void dedup_expire(struct dedup *d, uint64_t now_ns);
void dedup_flush(struct dedup *d);
const struct dedup_stats *dedup_stats(struct dedup *d);

#endif
