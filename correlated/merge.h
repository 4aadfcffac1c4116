/*
 * merge.h - reading several decoder rings as one stream in packet-time
 * order.
 *
 * With N decoders, the records of one flow arrive in order on one ring, but
 * the rings interleave arbitrarily.  To make every verdict (answered or
 * timed out, dedup window open or closed) depend only on the capture, the
 * merge hands out the record with the smallest time among the ring heads,
 * and only when every other ring has shown it will not deliver anything
 * earlier: it has a head that is not earlier, or its last tick or record is
 * at least as late, or it is finished.  Ticks (records.h) are part of the
 * stream; they carry time forward for rings with no DNS.  Ties go to the
 * lower ring index.  With one ring this is plain in-order reading.
 *
 * Lookahead: every record is also shown, once and in ring order, to a
 * callback while it is still up to MERGE_LOOKAHEAD_BYTES ahead of its
 * ring's head, so the consumer can ask for the memory it will touch
 * (correlated's table slots) a few records before it touches it.  The
 * record has not been checked then: the callback must stay inside v->len
 * and may only read.
 */
#ifndef DNSTRAIL_CORRELATED_MERGE_H
#define DNSTRAIL_CORRELATED_MERGE_H

#include "records.h"
#include "ring.h"

#include <stdint.h>

#define MERGE_MAX_INPUTS 64
/* About a dozen typical messages: far enough for a cache miss to resolve
 * while the records in between are processed, near enough that what was
 * fetched is still in cache when its record comes up. */
#define MERGE_LOOKAHEAD_BYTES 4096u

struct merge_input {
	struct ring *ring;
	struct ring_view head;
	int has_head;
	int done; /* EOF and drained */
	uint64_t head_ts;
	uint64_t last_ts; /* latest time seen on this ring */
	uint64_t ahead_pos; /* the lookahead has shown every record before this */
};

typedef void (*merge_look_fn)(void *ctx, const struct ring_view *v);

struct merge {
	struct merge_input in[MERGE_MAX_INPUTS];
	unsigned n;
	unsigned blocking; /* the ring to wait on when nothing is ready */
	uint64_t bad_records; /* records that were neither messages nor ticks, or too short */
	merge_look_fn look; /* NULL: no lookahead */
	void *look_ctx;
};

enum merge_result {
	MERGE_RECORD, /* *view is the next record; call merge_consumed() when done */
	MERGE_WAIT, /* nothing ready: wait on in[blocking] */
	MERGE_END, /* every ring finished */
	MERGE_CORRUPT, /* a ring is corrupt: ring_error() says which */
};

void merge_init(struct merge *m);
void merge_add(struct merge *m, struct ring *r);
void merge_set_lookahead(struct merge *m, merge_look_fn look, void *ctx);
/* The next record in time order (ticks included); *which is its ring. */
enum merge_result merge_next(struct merge *m, struct ring_view *view, uint64_t *ts,
			     unsigned *which);
void merge_consumed(struct merge *m, unsigned which);

#endif
