/*
 * ringio.c - read-ahead consumer with deferred release (ringio.h), on top
 * of the ring's manual-release mode: ring.c keeps the protocol (release
 * store of the tail, waking a producer that waits for space, the futex
 * handshake when sleeping); this file only keeps the per-batch accounting
 * that tells how many records and bytes a release covers.
 */
#include "ringio.h"

#include <stdlib.h>

int ringio_init(struct ringio *io, struct ring *r, size_t fifo_cap)
{
	io->r = r;
	io->h = ring_header(r);
	ring_set_manual_release(r, 1);
	io->read_pos = ring_read_pos(r);
	io->released = io->read_pos;
	io->recs = 0;
	io->fifo = calloc(fifo_cap, sizeof *io->fifo);
	io->cap = fifo_cap;
	io->first = io->n = 0;
	return io->fifo ? 0 : -1;
}

void ringio_free(struct ringio *io)
{
	free(io->fifo);
	io->fifo = NULL;
}

int ringio_peek(struct ringio *io, struct ring_view *v)
{
	return ring_peek(io->r, v);
}

void ringio_next(struct ringio *io, const struct ring_view *v)
{
	ring_next(io->r);
	io->read_pos = ring_read_pos(io->r);
	(void)v;
	io->recs++;
}

void ringio_end_batch(struct ringio *io)
{
	if (!io->recs)
		return;
	/* The caller checks ringio_can_read before reading a batch, so there
	 * is always a free slot here. */
	struct ringio_batch *b = &io->fifo[(io->first + io->n) % io->cap];
	b->end = io->read_pos;
	io->n++;
	io->recs = 0;
}

void ringio_release_to(struct ringio *io, uint64_t pos)
{
	if (pos <= io->released)
		return;
	while (io->n && io->fifo[io->first].end <= pos) {
		io->first = (io->first + 1) % io->cap;
		io->n--;
	}
	/* The release store in ring_release_to orders every store before it
	 * (the sinks' state file slot in particular) before the producer may
	 * overwrite the records below pos. */
	ring_release_to(io->r, pos);
	io->released = pos;
}

int ringio_wait(struct ringio *io, int timeout_ms)
{
	return ring_wait_data(io->r, timeout_ms);
}

int ringio_drained(const struct ringio *io)
{
	return ring_drained(io->r);
}

uint64_t ringio_head(const struct ringio *io)
{
	return atomic_load_explicit(&io->h->head, memory_order_acquire);
}
