/*
 * sink.h - what every logd output has in common, and the interface a sink
 * kind implements.
 *
 * The loop formats a batch of ring records once (struct batch) and offers
 * it to every sink.  A sink copies the lines into its own bounded queue,
 * writes the queue out with one io_uring write at a time, and reports, as
 * done_pos, the ring position before which every record is finished with
 * for it (written, or dropped and counted).  The loop releases the ring up
 * to the lowest done_pos.
 *
 * Invariants of the queue (byte positions only grow; q_tail <= q_sub <=
 * q_head <= q_tail + qcap):
 *   - [q_tail, q_sub) is being written, [q_sub, q_head) waits;
 *   - only whole lines enter it, and every write ends at a mark, i.e. at
 *     the end of a batch, so no write ends inside a line; after a short
 *     write the sink kind puts things back on a line boundary (a file is
 *     truncated to its last whole line) before anything else is written;
 *   - a mark {q_end, pos} says: once bytes up to q_end are finished, every
 *     record before pos is done.  Records that did not fit, or arrive
 *     while the sink is failing, are dropped whole and counted, and their
 *     mark carries no bytes.
 *
 * Flow control.  The ring is the big buffer, so logd reads it only as fast
 * as its sinks take lines: a batch is sized to fit every sink's free queue
 * (sink_read_budget), and while a sink's queue is full logd stops reading
 * and the producer waits (backpressure, as everywhere after capd).  A sink
 * that stays full for wait= seconds is declared lagging: it drops (and
 * counts) every record until its queue has drained, and stops holding back
 * the reading and the ring tail - so a slow or dead sink costs the others at
 * most wait= seconds per episode, and a disk that is merely slower than a
 * backlog in the ring loses nothing.  wait=0 drops at once when full.
 *
 * A sink kind provides struct sink_ops; everything else here is shared, so
 * syslog, fluentd or Kafka sinks are new files, not changes to the loop.
 */
#ifndef DNSTRAIL_LOGD_SINK_H
#define DNSTRAIL_LOGD_SINK_H

#include "stats.h"

#include <liburing.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct batch_rec {
	uint64_t pos; /* ring position of the record */
	uint32_t end; /* offset in batch.buf just after its lines */
	uint32_t lines; /* lines of records [0, this one], cumulative */
};

/* One formatted batch: records rec[0..n) with contiguous lines in buf. */
struct batch {
	char *buf;
	size_t cap, len;
	struct batch_rec *rec;
	uint32_t n, max;
	uint64_t pos_end; /* ring position after the batch (skipped records too) */
};

struct sink_stats {
	uint64_t lines_written, bytes_written;
	uint64_t lines_dropped, bytes_dropped; /* all causes */
	uint64_t lines_dropped_full; /* of which: the queue was full, or the sink lagged */
	uint64_t lines_dropped_failing; /* of which: write errors and backoff */
	uint64_t lines_recovered; /* already in the sink after a restart: not rewritten */
	uint64_t writes, write_errors, short_writes;
	uint64_t reopens, rotations, rotate_failures, compress_failures;
	uint64_t stalls, lags;
	/* Sinks that hand lines to a client library (Kafka) rather than write
	 * them: lines_written counts the acknowledged ones. */
	uint64_t delivery_failed; /* refused or not acknowledged; joins lines_dropped_failing
				    * once the lines before it are settled */
	uint64_t queue_full_waits; /* the library's queue was full: lines waited in ours */
	uint64_t client_errors; /* errors the library reported (brokers down...) */
	/* socket sinks (netconn.c) */
	uint64_t lines_dropped_oversize; /* of lines_dropped: longer than a datagram may be */
	uint64_t connects, disconnects, connect_failures;
	uint64_t lines_requeued; /* sent, then the connection broke before they were acknowledged */
	uint64_t chunks_sent, chunks_resent, acks; /* fluentd */
};

extern const struct stat_desc sink_stat_desc[];
extern const size_t sink_stat_count;

struct sink_mark {
	uint64_t q_end; /* queue position */
	uint64_t lines; /* lines queued up to q_end (absolute count) */
	uint64_t pos; /* ring position */
	uint64_t start; /* queue position where the mark's bytes begin */
};
#define SINK_MARKS 64

struct sink;

struct sink_ops {
	const char *kind;
	/* Before the loop, may block: open files or connections.  0, or -1
	 * with a one-line reason in err (logd then exits). */
	int (*open)(struct sink *s, char *err, size_t errlen);
	/* A write of at least first bytes (one mark) is ready.  Returns the fd
	 * to write to, or -1 to hold back for now; may lower *limit, the most
	 * bytes the write may take (a file sink rotates here). */
	int (*before_write)(struct sink *s, uint64_t now, size_t first, size_t *limit);
	/* A write of len bytes landed whole. */
	void (*wrote)(struct sink *s, size_t len);
	/* Only n < len bytes landed; the first at_mark of them end on a mark
	 * (a batch boundary, 0 if none).  Returns how many to keep - the
	 * rest is written again.  A file sink truncates back to at_mark, so
	 * that on disk full no partial line stays behind and its recovery
	 * state stays exact; a stream keeps n.  NULL: keep n. */
	size_t (*short_write)(struct sink *s, size_t n, size_t len, size_t at_mark);
	/* Retry after a failure (reconnect, reopen): 0 when writing may resume. */
	int (*reconnect)(struct sink *s, uint64_t now);
	/* SIGHUP. */
	void (*reopen)(struct sink *s);
	/* Every loop turn: timers (rotation by time, helper processes).  Called
	 * with idle set when no write is in flight and the queue is on a mark. */
	void (*tick)(struct sink *s, uint64_t now, int idle);
	/* done_pos moved (for sinks that persist it). */
	void (*done)(struct sink *s);
	void (*close)(struct sink *s);

	/* Optional replacements of the shared path, for kinds that do not
	 * write lines as they are to one descriptor: a syslog or fluentd sink
	 * frames each line as it queues it (offer), a Kafka sink hands lines to
	 * librdkafka and waits on its event fd (submit, complete).  Each SQE's
	 * user data is SINK_UD(index, tag); complete gets the tag back. */
	void (*offer)(struct sink *s, const struct batch *b);
	int (*submit)(struct sink *s, struct io_uring *ring, uint64_t now);
	void (*complete)(struct sink *s, uint32_t tag, int res, uint64_t now);
	/* Optional, for kinds whose framing makes a line take more queue than
	 * its length: how many bytes of lines a batch may have when room bytes
	 * of the queue are free (sink_read_budget).  NULL: room. */
	size_t (*batch_budget)(const struct sink *s, size_t room);
};

#define SINK_UD(index, tag) ((uint64_t)(tag) << 32 | ((uint64_t)(index) + 1))
#define SINK_UD_INDEX(ud) ((uint32_t)(ud) - 1)
#define SINK_UD_TAG(ud) ((uint32_t)((ud) >> 32))

struct sink {
	const struct sink_ops *ops;
	void *impl;
	char name[300]; /* as the operator wrote it, for messages */
	unsigned index;

	char *q;
	size_t qcap, max_write;
	uint64_t q_tail, q_sub, q_head;
	uint64_t lines_tail, lines_head; /* lines finished / queued, absolute */
	struct sink_mark marks[SINK_MARKS];
	unsigned m_first, m_n;
	int partial; /* q_tail is inside a mark, after a short write */

	uint64_t done_pos;
	uint64_t skip_until; /* recovery: records before it are already out */

	int fd;
	int inflight;
	uint64_t inflight_since;
	struct iovec iov[2];
	size_t inflight_len;

	int failing; /* dropping everything until retry_at */
	uint64_t retry_at, backoff_ns;
	int in_failure; /* from the first failure to the next good write */
	uint64_t dropped_before_failure; /* lines_dropped when it began */
	uint64_t stall_ns;
	int stalled; /* a write has been in flight longer than stall_ns */
	uint64_t wait_ns; /* how long a full queue may hold back reading */
	uint64_t full_since; /* when the queue became too full to read for it, or 0 */
	int lagging; /* dropping until the queue has drained */
	uint64_t dropped_before_lag;

	/* Lets a sink persist its recovery state at once (after rotating). */
	void (*persist)(void *ctx);
	void *persist_ctx;

	struct sink_stats st;
};

#define SINK_BACKOFF_MIN_NS 100000000ull /* 100 ms */
#define SINK_BACKOFF_MAX_NS 5000000000ull /* 5 s */

/* Common part of creating a sink; qcap bytes of queue, writes of at most
 * max_write bytes.  -1 when out of memory. */
int sink_init(struct sink *s, const struct sink_ops *ops, const char *name, size_t qcap,
	      size_t max_write, uint64_t stall_ns, uint64_t wait_ns, uint64_t start_pos);
void sink_free(struct sink *s);

/* How many bytes of output the next batch may have for this sink: SIZE_MAX
 * when the sink does not constrain reading (it drops anyway), 0 when its
 * queue is too full to read now.  Declares the sink lagging once it has
 * been too full for wait_ns. */
size_t sink_read_budget(struct sink *s, uint64_t now);
/* Whether the sink's progress holds back the ring tail. */
static inline int sink_holds_ring(const struct sink *s)
{
	return !s->stalled && !s->lagging;
}

/* Queue what fits of the batch, drop (and count) the rest.  A batch
 * formatted in place at sink_direct_area() is queued without a copy. */
void sink_offer(struct sink *s, const struct batch *b);
/* With one sink, the loop formats straight into its queue: the contiguous
 * free bytes at the queue's head (*room of them), or NULL when this sink
 * takes batches another way (its own offer, recovery, dropping). */
char *sink_direct_area(struct sink *s, size_t *room);
/* Prepares the sink's SQEs (the shared path: at most one write).  Returns
 * how many, or -1 when the submission queue is full. */
int sink_submit(struct sink *s, struct io_uring *ring, uint64_t now);
void sink_complete(struct sink *s, uint32_t tag, int res, uint64_t now);
void sink_tick(struct sink *s, uint64_t now);
/* Nothing queued and nothing in flight. */
int sink_idle(const struct sink *s);
/* Every byte before q_tail belongs to a settled mark (no partial batch). */
int sink_on_mark(const struct sink *s);
/* At exit with writes unfinished: count every line not written as dropped
 * (the in-flight write's too) and release the sink's hold on the ring. */
void sink_abandon(struct sink *s);
/* For kinds with their own complete() whose lines finish one by one (a
 * Kafka sink, as delivery reports come back): the bytes up to q_tail + n,
 * whole lines, are finished; failed_lines of them (failed_bytes bytes) were
 * not delivered and are counted as dropped, the rest as written.  Settles
 * the marks they complete (done_pos) and ends lagging once the queue is
 * empty. */
void sink_settle(struct sink *s, size_t n, uint64_t failed_lines, uint64_t failed_bytes);
/* Enter the failing state: drop what is queued, retry after the backoff.
 * why is logged once per failure episode. */
void sink_fail(struct sink *s, uint64_t now, const char *why);

/* "name=value ..." of every counter, for the log. */
void sink_format_stats(const struct sink *s, char *buf, size_t len);

#endif
