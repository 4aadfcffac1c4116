/*
 * ringio.c - read-ahead consumer with deferred release (ringio.h).
 *
 * The header fields written here (tail, records_out, bytes_out,
 * empty_waits, data_waiting, consumer heartbeat) belong to the consumer,
 * which logd is; the futex words follow ring.c's protocol exactly so a
 * producer built on ring.c wakes and is woken correctly.
 */
#include "ringio.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SPIN_ROUNDS 128

int ringio_init(struct ringio *io, struct ring *r, size_t fifo_cap)
{
	io->r = r;
	io->h = ring_header(r);
	io->read_pos = atomic_load_explicit(&io->h->tail, memory_order_acquire);
	io->released = io->read_pos;
	io->recs = io->bytes = 0;
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
	io->read_pos = v->pos + sizeof(struct ring_rec) +
		       (((uint64_t)v->len + RING_REC_ALIGN - 1) & ~(uint64_t)(RING_REC_ALIGN - 1));
	io->recs++;
	io->bytes += v->len;
}

void ringio_end_batch(struct ringio *io)
{
	if (!io->recs)
		return;
	/* The caller checks ringio_can_read before reading a batch, so there
	 * is always a free slot here. */
	struct ringio_batch *b = &io->fifo[(io->first + io->n) % io->cap];
	b->end = io->read_pos;
	b->records = io->recs;
	b->bytes = io->bytes;
	io->n++;
	io->recs = io->bytes = 0;
}

static void futex_op(_Atomic uint32_t *word, int op, uint32_t val, int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	/* Shared futex: the word lives in a file two processes map. */
	syscall(SYS_futex, (uint32_t *)word, op, val, op == FUTEX_WAIT ? &ts : NULL, NULL, 0);
}

void ringio_release_to(struct ringio *io, uint64_t pos)
{
	if (pos <= io->released)
		return;
	uint64_t recs = 0, bytes = 0;
	while (io->n && io->fifo[io->first].end <= pos) {
		recs += io->fifo[io->first].records;
		bytes += io->fifo[io->first].bytes;
		io->first = (io->first + 1) % io->cap;
		io->n--;
	}
	struct ring_hdr *h = io->h;
	/* Release: every store before this one - the sinks' state file slot in
	 * particular - is visible before the producer may overwrite the
	 * records below pos. */
	atomic_store_explicit(&h->tail, pos, memory_order_release);
	io->released = pos;
	atomic_store_explicit(&h->records_out,
			      atomic_load_explicit(&h->records_out, memory_order_relaxed) + recs,
			      memory_order_relaxed);
	atomic_store_explicit(&h->bytes_out,
			      atomic_load_explicit(&h->bytes_out, memory_order_relaxed) + bytes,
			      memory_order_relaxed);
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&h->space_waiting, memory_order_relaxed)) {
		atomic_fetch_add(&h->space_futex, 1);
		futex_op(&h->space_futex, FUTEX_WAKE, INT_MAX, 0);
	}
}

static int has_data(const struct ringio *io)
{
	return atomic_load_explicit(&io->h->head, memory_order_acquire) != io->read_pos;
}

int ringio_wait(struct ringio *io, int timeout_ms, volatile sig_atomic_t *stop)
{
	struct ring_hdr *h = io->h;
	for (int spin = 0; spin < SPIN_ROUNDS; spin++) {
		if (has_data(io))
			return 1;
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	}
	if (atomic_load_explicit(&h->eof, memory_order_acquire) || (stop && *stop))
		return has_data(io);
	uint32_t v = atomic_load(&h->data_futex);
	atomic_store(&h->data_waiting, 1);
	atomic_thread_fence(memory_order_seq_cst);
	/* Recheck after announcing ourselves: a producer that published before
	 * seeing data_waiting did not wake us. */
	if (!has_data(io) && !atomic_load_explicit(&h->eof, memory_order_acquire)) {
		atomic_fetch_add_explicit(&h->empty_waits, 1, memory_order_relaxed);
		futex_op(&h->data_futex, FUTEX_WAIT, v, timeout_ms); /* EINTR on a signal */
	}
	atomic_store(&h->data_waiting, 0);
	return has_data(io);
}

int ringio_drained(const struct ringio *io)
{
	return atomic_load_explicit(&io->h->eof, memory_order_acquire) && !has_data(io);
}

uint64_t ringio_head(const struct ringio *io)
{
	return atomic_load_explicit(&io->h->head, memory_order_acquire);
}
