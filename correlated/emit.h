/*
 * emit.h - turning verdicts into REC_TXN records on the log ring.
 *
 * The emitter owns the choice of which RRs a transaction carries: those of
 * the sections the operator asked for, minus what the dedup cache (when on)
 * has already counted.  A transaction left with nothing to say (every RR
 * suppressed) is not written at all.
 */
#ifndef DNSTRAIL_CORRELATED_EMIT_H
#define DNSTRAIL_CORRELATED_EMIT_H

#include "dedup.h"
#include "ring.h"
#include "stats.h"
#include "txn.h"

/* Bits of the --sections mask: 1 << SEC_ANSWER etc. */
#define SECTIONS_DEFAULT (1u << SEC_ANSWER)

struct emit_stats {
	uint64_t records; /* REC_TXN written */
	uint64_t rrs; /* RRs in them */
	uint64_t suppressed; /* transactions left empty by dedup */
	uint64_t oversize; /* transactions too large for the log ring */
};
extern const struct stat_desc emit_stat_desc[];
extern const size_t emit_stat_count;

struct emitter {
	struct ring *out;
	unsigned sections; /* mask of 1 << enum rr_section */
	struct dedup *dedup; /* NULL: off */
	int silent; /* replaying after a restart: decide (dedup state moves) but write nothing */
	struct emit_stats st;
	uint8_t keep[65536]; /* scratch: which RRs of the current message go out */
};

void emit_txn(struct emitter *e, const struct txn_event *ev);
/* A message not yet reached (len bytes, not yet checked): have the dedup
 * slots its lines will look up fetched into cache. */
void emit_prefetch(struct emitter *e, const struct rec_msg *m, size_t len);
/* dedup_write_fn: a record released by the dedup cache, written as is. */
void emit_record(void *emitter, const struct rec_txn *t, size_t len);

#endif
