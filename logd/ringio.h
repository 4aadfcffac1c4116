/*
 * ringio.h - logd's side of the log ring: read ahead, release later.
 *
 * logd hands records to asynchronous writes, so it reads well past what it
 * may release: the ring tail may only move past a record once every sink
 * has written (or dropped) it, or a crash would lose it.  So the ring is
 * used in manual-release mode (ring.h): reading never moves the tail, and
 * ringio_release_to() moves it to a batch end once every sink is done.
 *
 * Invariants: released <= every position handed to ringio_release_to <=
 * read_pos; the tail moves only through ringio_release_to.
 */
#ifndef DNSTRAIL_LOGD_RINGIO_H
#define DNSTRAIL_LOGD_RINGIO_H

#include "ring.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* Batches read but not yet released. */
struct ringio_batch {
	uint64_t end; /* ring position after the batch's last record */
};

struct ringio {
	struct ring *r;
	struct ring_hdr *h;
	uint64_t read_pos; /* position after the last record read */
	uint64_t released; /* tail as last published */
	uint64_t recs; /* read since the last ringio_end_batch */
	struct ringio_batch *fifo;
	size_t cap, first, n;
};

/* fifo_cap bounds how many batches may be read ahead of the tail. */
int ringio_init(struct ringio *io, struct ring *r, size_t fifo_cap);
void ringio_free(struct ringio *io);

static inline int ringio_can_read(const struct ringio *io)
{
	return io->n < io->cap;
}
int ringio_peek(struct ringio *io, struct ring_view *v);
void ringio_next(struct ringio *io, const struct ring_view *v);
/* Closes the current batch (if it read anything). */
void ringio_end_batch(struct ringio *io);
/* Publishes tail = pos: every record before pos is finished with.  pos
 * must be a batch end returned by an earlier batch (or read_pos). */
void ringio_release_to(struct ringio *io, uint64_t pos);
/* Sleeps until a record is published after read_pos, EOF is set, the
 * ring's stop flag is raised, or timeout_ms passes.  1 if data is there. */
int ringio_wait(struct ringio *io, int timeout_ms);
/* Producer finished and every record was read. */
int ringio_drained(const struct ringio *io);
uint64_t ringio_head(const struct ringio *io);

#endif
