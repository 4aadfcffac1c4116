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
 */
#ifndef DNSTRAIL_CORRELATED_MERGE_H
#define DNSTRAIL_CORRELATED_MERGE_H

#include "records.h"
#include "ring.h"

#include <stdint.h>

#define MERGE_MAX_INPUTS 64

struct merge_input {
	struct ring *ring;
	struct ring_view head;
	int has_head;
	int done; /* EOF and drained */
	uint64_t head_ts;
	uint64_t last_ts; /* latest time seen on this ring */
};

struct merge {
	struct merge_input in[MERGE_MAX_INPUTS];
	unsigned n;
	unsigned blocking; /* the ring to wait on when nothing is ready */
	uint64_t bad_records; /* records that were neither messages nor ticks, or too short */
};

enum merge_result {
	MERGE_RECORD, /* *view is the next record; call merge_consumed() when done */
	MERGE_WAIT, /* nothing ready: wait on in[blocking] */
	MERGE_END, /* every ring finished */
	MERGE_CORRUPT, /* a ring is corrupt: ring_error() says which */
};

void merge_init(struct merge *m);
void merge_add(struct merge *m, struct ring *r);
/* The next record in time order (ticks included); *which is its ring. */
enum merge_result merge_next(struct merge *m, struct ring_view *view, uint64_t *ts,
			     unsigned *which);
void merge_consumed(struct merge *m, unsigned which);

#endif
