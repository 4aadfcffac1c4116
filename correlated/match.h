/*
 * match.h - pairing queries with responses.
 *
 * Key: client address and port, server address and port, transport, DNS
 * id, and the question (name compared case-insensitively, type, class).
 * Only opcode QUERY messages come here; main.c counts the others.
 *
 * Time is packet time: `now` only moves when main.c says so, from the time
 * of the record it processes, so a capture replays identically.
 *   - A response whose query is pending is ANSWERED when it came at most
 *     timeout after the query; later than that, the query is UNANSWERED and
 *     the response RESPONSE-ONLY (the same verdict whenever it is processed).
 *   - A query is given up (UNANSWERED) once now > query time + timeout.
 *   - A repeat of a pending query (retransmission) does not make a second
 *     entry: the first query's time stays the reference for elapsed.
 *   - Reorder window: a response whose query is not pending is held for
 *     reorder_ns of packet time, in case its query shows up late (SPAN
 *     ports can copy a fast answer before its question).  If it does, the
 *     pair is ANSWERED with elapsed = 0 when the response's time is earlier.
 *     Otherwise it is RESPONSE-ONLY.
 *   - A second response to an already answered query finds no entry and is
 *     logged as its own RESPONSE-ONLY transaction (count 1).
 *   - Bounded: at most max_pending entries (queries plus held responses);
 *     past that the oldest is let go at once (a query as UNANSWERED with
 *     TXN_F_EVICTED) and counted.
 *
 * Restart recovery: each entry remembers the ring and position of the
 * record it came from.  correlated keeps its input tails at the oldest
 * entry's record (match_oldest_pos), so a correlated that dies can be
 * started again and rebuild this table by replaying those records.
 *
 * Memory per entry: sizeof(struct pending) (72 bytes) + the message record
 * copied as it came (a typical query: 120-byte header + name + EDNS
 * summary, ~200 bytes), rounded up to a 64-byte size class (freed entries
 * are reused, at most 2 MiB of them kept) + 16 bytes of index slot at most
 * half full: about 310 bytes (measured: match.memory_bytes / match.pending
 * on generated queries), so 1,000,000 pending queries take about 310 MB.
 * match_stats().memory_bytes is the exact figure.
 */
#ifndef DNSTRAIL_CORRELATED_MATCH_H
#define DNSTRAIL_CORRELATED_MATCH_H

#include "stats.h"
#include "txn.h"

#include <stdint.h>

struct match_config {
	uint64_t timeout_ns;
	uint64_t reorder_ns;
	uint64_t max_pending;
	int log_unanswered; /* 0: expired queries are counted, not logged */
};

struct match_stats {
	uint64_t queries;
	uint64_t responses;
	uint64_t answered;
	uint64_t response_only;
	uint64_t unanswered;
	uint64_t late_responses; /* came after the timeout: unanswered + response-only */
	uint64_t retransmissions;
	uint64_t evicted;
	uint64_t reordered; /* response held, then matched by a late query */
	uint64_t pending; /* gauge: queries waiting */
	uint64_t held; /* gauge: responses waiting for their query */
	uint64_t memory_bytes; /* gauge */
	uint64_t alloc_failures;
};
extern const struct stat_desc match_stat_desc[];
extern const size_t match_stat_count;

typedef void (*match_emit_fn)(void *ctx, const struct txn_event *ev);

#define MATCH_MAX_RINGS 64

struct match;
struct match *match_new(const struct match_config *cfg, match_emit_fn emit, void *ctx);
void match_free(struct match *m);
/* m must carry a question (MSG_F_QUESTION) and opcode QUERY; ring and pos
 * say where its record is (ring < MATCH_MAX_RINGS). */
void match_message(struct match *mt, const struct rec_msg *m, size_t len, unsigned ring,
		   uint64_t pos);
/* A message not yet reached (len bytes, not yet checked): have the index
 * slot its lookup will probe fetched into cache. */
void match_prefetch(const struct match *mt, const struct rec_msg *m, size_t len);
/* Position of the oldest entry's record on ring at or after not_before, or
 * UINT64_MAX if none.  Entries before not_before are given up for recovery
 * (not for matching); not_before must never decrease for a ring. */
uint64_t match_oldest_pos(struct match *mt, unsigned ring, uint64_t not_before);
/* Let go of every entry whose time is up at packet time now. */
void match_expire(struct match *mt, uint64_t now_ns);
/* End of input: every held response and pending query goes out. */
void match_flush(struct match *mt);
const struct match_stats *match_stats(struct match *mt);

#endif
