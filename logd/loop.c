/*
 * loop.c - logd's event loop (loop.h).
 *
 * One thread, one io_uring.  Each turn:
 *   1. reap every completion without blocking, and let each sink run its
 *      timers (backoff, stall, rotation by time, SIGHUP reopen);
 *   2. read one batch from the ring (up to BATCH_RECORDS records, and as
 *      many bytes of output as every sink's queue can take, at most
 *      BATCH_BYTES - see "flow control" in sink.h), format it once into the
 *      batch buffer, and offer it to every sink's queue (with a single
 *      sink, formatted straight into its queue when the room at its head
 *      takes a whole batch);
 *   3. prepare one write per idle sink that has queued lines and submit
 *      them all with a single io_uring_submit;
 *   4. persist the file sinks' recovery state, then release the ring tail
 *      up to the lowest position every sink is done with;
 *   5. wait, only when there is nothing to do right away.
 *
 * Waiting.  The ring wakes its consumer through a futex and io_uring
 * through its completion queue; one thread cannot sleep on both.  So:
 *   - after a full batch, do not wait at all: more records are likely;
 *   - with writes in flight, wait for a completion for at most WAIT_IO_MS
 *     (1 ms): a completion wakes the loop at once, and new ring records
 *     wait at most 1 ms - the ring holds megabytes, so that costs nothing;
 *   - with no write in flight, sleep on the ring's futex for at most
 *     WAIT_RING_MS (50 ms): nothing can complete, so only the ring (or a
 *     signal, which interrupts the futex) can bring work, and the timeout
 *     bounds how late timers (rotation, backoff) run;
 *   - a sink whose queue is full pauses reading (flow control): its write
 *     is in flight, so this is the completion wait above.
 * Neither source starves the other: every turn reaps all completions and
 * reads a batch whatever woke it.
 *
 * Exactly-once to files across a crash of logd.  For each file sink the
 * state file holds (P, inode, O): every ring record before P is in that
 * file or was dropped and counted, no record at or after P is, and the
 * file was O bytes long at that moment.
 *   - A sink reports done_pos = P only when the writes of all bytes before
 *     P's mark have completed (sink.c); writes end on record boundaries, a
 *     short write is truncated back to one, and rotation/reopen happen only
 *     on one, so O = the file size at P is exact.  A new file is recorded
 *     (P, new inode, 0) before any write to it is submitted.
 *   - Step 4 writes the state before it releases the tail, and the tail
 *     never passes the lowest done_pos (a release store, ordered after the
 *     state's stores).  So at every instant, tail <= P for every file sink
 *     whose records the ring still has to give back: whatever the file
 *     lacks beyond P is still in the ring.
 *   - The state is two checksummed slots written alternately (state.c): a
 *     kill in the middle of an update leaves the previous, still true, one.
 *   - On restart logd reads from the tail T <= P.  For a sink whose file
 *     still has the recorded inode, bytes past O belong to records >= P
 *     (writes that completed, or were in flight, after the last update):
 *     the file is truncated to O.  Records in [T, P) are skipped for that
 *     sink, records from P on are written.  Each record therefore lands in
 *     the file exactly once, whenever the kill came.  (A kill between the
 *     rename of a rotation and the state update finds the recorded inode
 *     at PATH.1, and the new PATH still empty.)
 *   - Limits: a crash only.  Nothing is fsync'ed, so after a power loss the
 *     page cache of file and state may both be gone.  A sink that fails,
 *     stalls or lags drops records (counted) and stops holding the tail:
 *     for those records the guarantee is at-most-once.  stdout is
 *     at-least-once.  tests/e2e/logd_kill9.sh kills logd dozens of times
 *     mid-stream, rotation included, and checks every line once.
 */
#include "loop.h"

#include "log.h"
#include "records.h"
#include "sinks.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BATCH_RECORDS 1024
#define BATCH_BYTES (256u << 10) /* output per batch, unless one record alone is bigger */
#define RING_FIFO 4096 /* batches read ahead of the released tail */
#define WAIT_IO_MS 1
#define WAIT_RING_MS 50
#define HEARTBEAT_NS 100000000ull
#define DRAIN_TIMEOUT_NS 10000000000ull
#define INVALID_LOG_NS 10000000000ull
#define URING_ENTRIES 64

#define D(field, name, help) STAT_DESC(struct logd_stats, field, name, help)
const struct stat_desc logd_stat_desc[] = {
	D(records_read, "records_read", "transaction records formatted"),
	D(records_invalid, "records_invalid", "records that failed validation: skipped"),
	D(records_foreign, "records_foreign", "records of a type other than REC_TXN: skipped"),
	D(records_oversize, "records_oversize", "transactions whose output exceeds --max-output"),
	D(lines, "lines", "lines formatted (each goes to every sink)"),
	D(bytes, "bytes", "bytes formatted"),
	D(batches, "batches", "batches read from the ring"),
	D(state_writes, "state_writes", "updates of the recovery state file"),
};
#undef D
const size_t logd_stat_count = sizeof logd_stat_desc / sizeof logd_stat_desc[0];

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ state */

static void write_state(struct logd *L)
{
	if (!L->have_state)
		return;
	unsigned n = 0;
	int changed = 0;
	for (unsigned i = 0; i < L->nsinks; i++) {
		struct sink *s = &L->sinks[i];
		if (!sink_is_file(s))
			continue;
		int r = sink_file_state(s, &L->entries[n]);
		if (r >= 0) {
			changed |= r;
			n++;
		}
	}
	if (changed) {
		state_write(&L->state, L->entries, n);
		L->st.state_writes++;
	}
}

static void persist_now(void *ctx)
{
	write_state(ctx);
}

/* Step 4: state first, then the tail. */
static void progress(struct logd *L)
{
	write_state(L);
	uint64_t pos = UINT64_MAX;
	for (unsigned i = 0; i < L->nsinks; i++) {
		const struct sink *s = &L->sinks[i];
		if (sink_holds_ring(s) && s->done_pos < pos)
			pos = s->done_pos;
	}
	if (pos == UINT64_MAX) /* every sink stalled or lagging: none holds the ring */
		pos = L->rio.read_pos;
	ringio_release_to(&L->rio, pos);
	statseg_update(L->stats);
}

/* Each sink's counters under its own name, "sink.N.lines_written", so
 * dnstrail-ctl tells the sinks apart (N in --sink order). */
static void publish_counters(struct logd *L)
{
	char err[700], dir[sizeof L->cfg->ring_path];
	snprintf(dir, sizeof dir, "%s", L->cfg->ring_path); /* next to the ring */
	*strrchr(dir, '/') = 0;
	if (!(L->stats = statseg_open(dir, "logd", err, sizeof err))) {
		log_warn("%s: counters will not be visible to dnstrail-ctl", err);
		return;
	}
	statseg_add(L->stats, &L->st, logd_stat_desc, logd_stat_count);
	size_t n = L->nsinks * sink_stat_count;
	L->sink_desc = calloc(n, sizeof *L->sink_desc);
	L->sink_names = calloc(n, sizeof *L->sink_names);
	if (!L->sink_desc || !L->sink_names)
		return;
	for (unsigned i = 0; i < L->nsinks; i++) {
		struct stat_desc *d = L->sink_desc + i * sink_stat_count;
		for (size_t j = 0; j < sink_stat_count; j++) {
			char *name = L->sink_names[i * sink_stat_count + j];
			snprintf(name, sizeof *L->sink_names, "sink.%u.%s", i, sink_stat_desc[j].name);
			d[j] = sink_stat_desc[j];
			d[j].name = name;
		}
		statseg_add(L->stats, &L->sinks[i].st, d, sink_stat_count);
	}
}

/* ------------------------------------------------------------ open */

static void make_run_dir(const char *dir)
{
	if (mkdir(dir, 0770) < 0 && errno != EEXIST)
		die(1, "cannot create run directory %s: %s (create it, or choose another --run-dir)",
		    dir, strerror(errno));
}

void logd_open(struct logd *L, const struct logd_config *cfg, const struct logd_signals *sig)
{
	memset(L, 0, sizeof *L);
	L->cfg = cfg;
	L->sig = sig;
	char err[700];
	if (!strchr(cfg->in, '/'))
		make_run_dir(cfg->run_dir);
	struct ring_create create = { .capacity = cfg->ring_size, .kind = RING_KIND_TRANSACTIONS };
	L->ring = ring_attach(cfg->ring_path, RING_CONSUMER, RING_KIND_TRANSACTIONS, &create, err,
			      sizeof err);
	if (!L->ring)
		die(errno == EINVAL ? EXIT_CORRUPT : 1, "%s", err);
	ring_set_stop_flag(L->ring, sig->stop);
	if (ringio_init(&L->rio, L->ring, RING_FIFO) < 0)
		die(1, "out of memory");
	if (fmt_init(&L->fmt, cfg->format, cfg->sensor) < 0)
		die(EXIT_USAGE, "--sensor is longer than %d bytes", FMT_SENSOR_MAX);
	L->batch.cap = cfg->max_output;
	L->batch.buf = malloc(L->batch.cap);
	L->batch.max = BATCH_RECORDS;
	L->batch.rec = calloc(BATCH_RECORDS, sizeof *L->batch.rec);
	if (!L->batch.buf || !L->batch.rec)
		die(1, "out of memory for the %" PRIu64 "-byte output buffer (see --max-output)",
		    cfg->max_output);

	uint64_t start = L->rio.read_pos;
	int files = 0;
	for (unsigned i = 0; i < cfg->nsinks; i++) {
		const struct sink_spec *sp = &cfg->sinks[i];
		struct sink *s = &L->sinks[i];
		int rc = sp->kind == SINK_FILE ? sink_file_create(s, sp, start, cfg->max_output)
			 : sp->kind == SINK_KAFKA ? sink_kafka_create(s, sp, start)
			 : sp->kind == SINK_SYSLOG ? sink_syslog_create(s, sp, start)
			 : sp->kind == SINK_FLUENTD ? sink_fluentd_create(s, sp, start)
			 : sink_stdout_create(s, sp, start);
		if (rc < 0)
			die(1, "sink %s: out of memory for its %" PRIu64 "-byte queue (see size=)",
			    sp->text, sp->queue_bytes);
		s->index = i;
		L->nsinks = i + 1;
		if (s->ops->open(s, err, sizeof err) < 0)
			die(1, "%s", err);
		files += sp->kind == SINK_FILE;
	}
	if (files) {
		char path[sizeof cfg->ring_path + 16];
		snprintf(path, sizeof path, "%s.logd.state", cfg->ring_path);
		if (state_open(&L->state, path, ring_header(L->ring), err, sizeof err) < 0)
			die(1, "%s", err);
		L->have_state = 1;
		uint64_t head = ringio_head(&L->rio);
		for (unsigned i = 0; i < L->nsinks; i++) {
			struct sink *s = &L->sinks[i];
			if (!sink_is_file(s))
				continue;
			sink_file_recover(s, state_find(&L->state, cfg->sinks[i].path), start, head);
			s->persist = persist_now;
			s->persist_ctx = L;
		}
		write_state(L);
	}
	publish_counters(L);
	int rc = io_uring_queue_init(URING_ENTRIES, &L->uring, 0);
	if (rc < 0)
		die(1, "cannot set up io_uring: %s (logd needs Linux 5.6 or later with io_uring "
		       "enabled; check the kernel.io_uring_disabled sysctl)", strerror(-rc));
	L->uring_ready = 1;
}

/* ------------------------------------------------------------ loop */

/* Reads and formats one batch of at most budget bytes (more only when its
 * first record alone is bigger).  Returns 1 when it stopped because the
 * batch was full (more records are probably waiting), else 0. */
static int read_batch(struct logd *L, uint64_t limit, size_t budget, uint64_t now, int direct)
{
	struct batch *b = &L->batch;
	b->len = 0;
	b->n = 0;
	uint32_t lines = 0;
	struct ring_view v;
	int full = 0;
	while (b->n < b->max && L->rio.read_pos < limit) {
		if (!ringio_peek(&L->rio, &v))
			break;
		if (v.type != REC_TXN) {
			L->st.records_foreign++;
			ringio_next(&L->rio, &v);
			continue;
		}
		const struct rec_txn *t = v.data;
		const char *why;
		if (rec_txn_check(t, v.len, &why) < 0) {
			L->st.records_invalid++;
			if (now - L->last_invalid_log > INVALID_LOG_NS || !L->last_invalid_log) {
				log_warn("skipping an invalid record at ring position %" PRIu64 ": %s (%"
					 PRIu64 " so far; is the producer a matching build?)", v.pos, why,
					 L->st.records_invalid);
				L->last_invalid_log = now;
			}
			ringio_next(&L->rio, &v);
			continue;
		}
		uint32_t nl;
		size_t n = fmt_txn(&L->fmt, t, b->buf + b->len, b->cap - b->len, &nl);
		if (!n && direct) {
			full = 1; /* the rest of the queue is too small: the batch buffer next */
			break;
		}
		if (b->n && (!n || b->len + n > budget)) {
			full = 1; /* first in the next batch */
			break;
		}
		if (!n) {
			L->st.records_oversize++;
			log_warn("skipping the transaction at ring position %" PRIu64 ": its output would "
				 "exceed --max-output (%" PRIu64 " bytes)", v.pos, (uint64_t)b->cap);
			ringio_next(&L->rio, &v);
			continue;
		}
		lines += nl;
		b->len += n;
		b->rec[b->n++] = (struct batch_rec){ .pos = v.pos, .end = (uint32_t)b->len, .lines = lines };
		ringio_next(&L->rio, &v);
	}
	L->st.records_read += b->n;
	L->st.lines += lines;
	L->st.bytes += b->len;
	return full || b->n == b->max;
}

/* The batch size every sink can take now, or 0 when one of them is full
 * (then reading waits for its writes; see sink.h, flow control). */
static size_t read_budget(struct logd *L, uint64_t now)
{
	size_t budget = BATCH_BYTES;
	for (unsigned i = 0; i < L->nsinks; i++) {
		size_t room = sink_read_budget(&L->sinks[i], now);
		if (room < budget)
			budget = room;
	}
	return budget;
}

static void reap(struct logd *L, uint64_t now)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	io_uring_for_each_cqe(&L->uring, head, cqe)
	{
		uint64_t ud = io_uring_cqe_get_data64(cqe);
		uint32_t i = SINK_UD_INDEX(ud);
		if (i < L->nsinks) {
			sink_complete(&L->sinks[i], SINK_UD_TAG(ud), cqe->res, now);
			L->inflight--;
		}
		n++;
	}
	io_uring_cq_advance(&L->uring, n);
}

static void submit(struct logd *L, uint64_t now)
{
	int prepared = 0;
	for (unsigned i = 0; i < L->nsinks; i++) {
		int r = sink_submit(&L->sinks[i], &L->uring, now);
		if (r < 0)
			break; /* submission queue full: the rest go next turn */
		prepared += r;
	}
	if (!prepared && !io_uring_sq_ready(&L->uring))
		return;
	L->inflight += (unsigned)prepared;
	int rc = io_uring_submit(&L->uring);
	/* EAGAIN/EBUSY/EINTR leave the entries queued for the next submit. */
	if (rc < 0 && rc != -EAGAIN && rc != -EBUSY && rc != -EINTR)
		die(1, "io_uring_submit failed: %s", strerror(-rc));
}

/* Flushed as far as it will go: every sink idle, or stalled (a stalled
 * sink has given up its queue; only its hung write is left). */
static int all_flushed(const struct logd *L)
{
	for (unsigned i = 0; i < L->nsinks; i++)
		if (!sink_idle(&L->sinks[i]) && !L->sinks[i].stalled)
			return 0;
	return 1;
}

/* Leaving with writes unfinished: count what they held as dropped. */
static void abandon(struct logd *L)
{
	for (unsigned i = 0; i < L->nsinks; i++) {
		struct sink *s = &L->sinks[i];
		if (!sink_idle(s)) {
			log_warn("sink %s: exiting with %" PRIu64 " lines not written (counted as dropped)",
				 s->name, s->lines_head - s->lines_tail);
			sink_abandon(s);
		}
	}
}

int logd_run(struct logd *L)
{
	const struct logd_signals *sig = L->sig;
	int stopping = 0;
	uint64_t limit = UINT64_MAX, deadline = 0;
	for (;;) {
		uint64_t now = now_ns();
		if (*sig->stop && !stopping) {
			/* Drain what is published now; a producer still writing
			 * must not keep us alive. */
			stopping = 1;
			limit = ringio_head(&L->rio);
			deadline = now + DRAIN_TIMEOUT_NS;
		}
		if (*sig->hup) {
			*sig->hup = 0;
			for (unsigned i = 0; i < L->nsinks; i++)
				if (L->sinks[i].ops->reopen)
					L->sinks[i].ops->reopen(&L->sinks[i]);
		}
		if (*sig->usr1) {
			*sig->usr1 = 0;
			logd_log_stats(L);
		}

		reap(L, now);
		for (unsigned i = 0; i < L->nsinks; i++)
			sink_tick(&L->sinks[i], now);

		int more = 0;
		size_t budget = read_budget(L, now);
		if (budget && ringio_can_read(&L->rio) && L->rio.read_pos < limit) {
			uint64_t before = L->rio.read_pos;
			/* One sink: format into its queue, saving a copy of every
			 * byte, when the free space at its head takes a whole batch. */
			char *own = L->batch.buf;
			size_t own_cap = L->batch.cap, room = 0;
			char *direct = L->nsinks == 1 ? sink_direct_area(&L->sinks[0], &room) : NULL;
			if (direct && room >= budget && room >= BATCH_BYTES) {
				L->batch.buf = direct;
				L->batch.cap = room < own_cap ? room : own_cap;
				more = read_batch(L, limit, budget, now, 1);
				if (!L->batch.n && more) { /* its first record did not fit */
					L->batch.buf = own;
					L->batch.cap = own_cap;
					more = read_batch(L, limit, budget, now, 0);
				}
			} else {
				more = read_batch(L, limit, budget, now, 0);
			}
			if (L->rio.read_pos != before) {
				L->batch.pos_end = L->rio.read_pos;
				for (unsigned i = 0; i < L->nsinks; i++)
					sink_offer(&L->sinks[i], &L->batch);
				ringio_end_batch(&L->rio);
				L->st.batches++;
			}
			L->batch.buf = own;
			L->batch.cap = own_cap;
			const char *e = ring_error(L->ring);
			if (e && !L->exit_code) {
				log_warn("%s", e);
				L->exit_code = EXIT_CORRUPT;
				stopping = 1;
				limit = L->rio.read_pos;
				deadline = now + DRAIN_TIMEOUT_NS;
			}
		}

		submit(L, now);
		progress(L);
		if (now - L->last_heartbeat >= HEARTBEAT_NS) {
			ring_consumer_heartbeat(L->ring);
			L->last_heartbeat = now;
		}

		int input_done = ringio_drained(&L->rio) || (stopping && L->rio.read_pos >= limit);
		if (input_done && all_flushed(L))
			break;
		if (stopping && now >= deadline) {
			log_warn("stopping without flushing every sink: writes still pending after %llu s",
				 DRAIN_TIMEOUT_NS / 1000000000ull);
			break;
		}
		if (more)
			continue;
		if (L->inflight) {
			struct __kernel_timespec ts = { 0, WAIT_IO_MS * 1000000L };
			struct io_uring_cqe *cqe;
			io_uring_wait_cqe_timeout(&L->uring, &cqe, &ts); /* ETIME/EINTR: just loop */
		} else if (!input_done && budget && ringio_can_read(&L->rio)) {
			ringio_wait(&L->rio, WAIT_RING_MS);
		} else {
			/* Only timers can change anything (a sink's backoff). */
			struct timespec ts = { 0, 5000000L };
			nanosleep(&ts, NULL);
		}
	}
	abandon(L);
	progress(L);
	return L->exit_code;
}

/* ------------------------------------------------------------ stats, close */

void logd_log_stats(struct logd *L)
{
	char buf[1024];
	size_t o = 0;
	for (size_t i = 0; i < logd_stat_count && o < sizeof buf; i++) {
		int w = snprintf(buf + o, sizeof buf - o, "%s%s=%" PRIu64, i ? " " : "",
				 logd_stat_desc[i].name, stat_value(&L->st, &logd_stat_desc[i]));
		if (w < 0)
			break;
		o += (size_t)w;
	}
	log_info("counters: %s", buf);
	for (unsigned i = 0; i < L->nsinks; i++) {
		sink_format_stats(&L->sinks[i], buf, sizeof buf);
		log_info("sink %s: %s", L->sinks[i].name, buf);
	}
}

void logd_close(struct logd *L)
{
	for (unsigned i = 0; i < L->nsinks; i++) {
		struct sink *s = &L->sinks[i];
		if (s->ops->close)
			s->ops->close(s);
		sink_free(s);
	}
	if (L->uring_ready)
		io_uring_queue_exit(&L->uring);
	if (L->have_state)
		state_close(&L->state);
	/* In manual-release mode detaching leaves the tail where the sinks
	 * are: what they did not finish is read again by the next logd. */
	ring_detach(L->ring);
	statseg_close(L->stats);
	free(L->sink_desc);
	free(L->sink_names);
	ringio_free(&L->rio);
	free(L->batch.buf);
	free(L->batch.rec);
}
