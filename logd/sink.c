/*
 * sink.c - what every sink shares (sink.h): the queue and its marks, one
 * write at a time, flow control and lagging, failure with backoff, stalls,
 * counters.  A sink kind only says where bytes go (sink_ops).
 */
#include "sink.h"

#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define D(field, name, help) STAT_DESC(struct sink_stats, field, name, help)
const struct stat_desc sink_stat_desc[] = {
	D(lines_written, "lines_written",
	  "lines written whole to the sink (Kafka: messages the brokers acknowledged)"),
	D(bytes_written, "bytes_written", "bytes written to the sink"),
	D(lines_dropped, "lines_dropped", "lines not written, all causes"),
	D(bytes_dropped, "bytes_dropped", "bytes of the lines not written"),
	D(lines_dropped_full, "lines_dropped_full",
	  "lines dropped because the sink's queue was full (it lagged behind)"),
	D(lines_dropped_failing, "lines_dropped_failing",
	  "lines dropped because writes failed (disk full, I/O error) or during the retry backoff"),
	D(lines_recovered, "lines_recovered",
	  "lines a restart found already in the sink and did not write again"),
	D(writes, "writes", "write operations completed"),
	D(write_errors, "write_errors", "write operations that failed"),
	D(short_writes, "short_writes", "write operations that wrote only part of their bytes"),
	D(reopens, "reopens", "files reopened (SIGHUP)"),
	D(rotations, "rotations", "files rotated"),
	D(rotate_failures, "rotate_failures", "rotations that could not be done"),
	D(compress_failures, "compress_failures", "rotated files that could not be compressed"),
	D(stalls, "stalls", "times a write stayed in flight past the stall limit"),
	D(lags, "lags", "times the queue stayed full past the wait limit"),
	D(delivery_failed, "delivery_failed",
	  "lines the peer did not acknowledge (Kafka: failed delivery reports, messages refused)"),
	D(queue_full_waits, "queue_full_waits",
	  "times the client library's queue was full, so lines waited in the sink's own queue"),
	D(client_errors, "client_errors",
	  "errors reported by the client library (Kafka: brokers unreachable, authentication...)"),
	D(lines_dropped_oversize, "lines_dropped_oversize",
	  "lines dropped because their message is longer than a datagram may be"),
	D(connects, "connects", "connections established (socket sinks)"),
	D(disconnects, "disconnects", "connections lost (socket sinks)"),
	D(connect_failures, "connect_failures", "connection attempts that failed (socket sinks)"),
	D(lines_requeued, "lines_requeued",
	  "lines sent on a connection that broke before the peer acknowledged them: sent again"),
	D(chunks_sent, "chunks_sent", "fluentd chunks sent (first time)"),
	D(chunks_resent, "chunks_resent", "fluentd chunks sent again after a reconnection"),
	D(acks, "acks", "fluentd chunks acknowledged by the peer (require-ack)"),
};
#undef D
const size_t sink_stat_count = sizeof sink_stat_desc / sizeof sink_stat_desc[0];

int sink_init(struct sink *s, const struct sink_ops *ops, const char *name, size_t qcap,
	      size_t max_write, uint64_t stall_ns, uint64_t wait_ns, uint64_t start_pos)
{
	memset(s, 0, sizeof *s);
	s->ops = ops;
	snprintf(s->name, sizeof s->name, "%s", name);
	s->q = malloc(qcap);
	if (!s->q)
		return -1;
	s->qcap = qcap;
	s->max_write = max_write;
	s->stall_ns = stall_ns;
	s->wait_ns = wait_ns;
	s->done_pos = start_pos;
	s->fd = -1;
	return 0;
}

void sink_free(struct sink *s)
{
	free(s->q);
	s->q = NULL;
}

static struct sink_mark *mark_at(struct sink *s, unsigned i)
{
	return &s->marks[(s->m_first + i) % SINK_MARKS];
}

static void set_done(struct sink *s, uint64_t pos)
{
	if (pos <= s->done_pos)
		return;
	s->done_pos = pos;
	if (s->ops->done)
		s->ops->done(s);
}

static uint64_t count_nl(const struct sink *s, uint64_t from, uint64_t to)
{
	uint64_t n = 0;
	while (from < to) {
		size_t off = (size_t)(from % s->qcap);
		size_t len = s->qcap - off;
		if (len > to - from)
			len = (size_t)(to - from);
		const char *p = s->q + off, *end = p + len;
		while ((p = memchr(p, '\n', (size_t)(end - p)))) {
			n++;
			p++;
		}
		from += len;
	}
	return n;
}

static void q_put(struct sink *s, const char *src, size_t n)
{
	size_t off = (size_t)(s->q_head % s->qcap);
	if (src == s->q + off) { /* formatted in place (sink_direct_area) */
		s->q_head += n;
		return;
	}
	size_t first = s->qcap - off < n ? s->qcap - off : n;
	memcpy(s->q + off, src, first);
	memcpy(s->q, src + first, n - first);
	s->q_head += n;
}

static void drop(struct sink *s, uint64_t lines, uint64_t bytes, uint64_t *cause)
{
	s->st.lines_dropped += lines;
	s->st.bytes_dropped += bytes;
	*cause += lines;
}

/* Records up to pos are done once the bytes queued so far are. */
static void push_mark(struct sink *s, uint64_t pos)
{
	if (s->q_head == s->q_tail) {
		set_done(s, pos);
		return;
	}
	if (s->m_n) {
		struct sink_mark *last = mark_at(s, s->m_n - 1);
		int waiting = last->start >= s->q_sub; /* none of its bytes in flight */
		/* Merging keeps writes at the end of the last batch queued: large,
		 * and still ending on a record boundary. */
		if (last->q_end == s->q_head || s->m_n == SINK_MARKS ||
		    (waiting && s->q_head - last->start <= s->max_write)) {
			last->q_end = s->q_head;
			last->lines = s->lines_head;
			last->pos = pos;
			return;
		}
	}
	uint64_t start = s->m_n ? mark_at(s, s->m_n - 1)->q_end : s->q_tail;
	struct sink_mark *m = mark_at(s, s->m_n++);
	m->q_end = s->q_head;
	m->lines = s->lines_head;
	m->pos = pos;
	m->start = start;
}

char *sink_direct_area(struct sink *s, size_t *room)
{
	if (s->ops->offer || s->skip_until || s->failing || s->stalled || s->lagging)
		return NULL;
	size_t off = (size_t)(s->q_head % s->qcap);
	size_t free_bytes = s->qcap - (size_t)(s->q_head - s->q_tail);
	*room = s->qcap - off < free_bytes ? s->qcap - off : free_bytes;
	return s->q + off;
}

void sink_offer(struct sink *s, const struct batch *b)
{
	if (s->ops->offer) {
		s->ops->offer(s, b);
		return;
	}
	uint32_t i = 0;
	if (s->skip_until) {
		while (i < b->n && b->rec[i].pos < s->skip_until)
			i++;
		if (i < b->n || b->pos_end >= s->skip_until)
			s->skip_until = 0; /* recovery is over */
		s->st.lines_recovered += i ? b->rec[i - 1].lines : 0;
	}
	uint32_t start = i ? b->rec[i - 1].end : 0;
	uint64_t lines_before = i ? b->rec[i - 1].lines : 0;
	if (i < b->n) {
		uint64_t all_lines = b->rec[b->n - 1].lines - lines_before;
		if (s->failing || s->stalled) {
			drop(s, all_lines, b->len - start, &s->st.lines_dropped_failing);
		} else if (s->lagging) {
			drop(s, all_lines, b->len - start, &s->st.lines_dropped_full);
		} else {
			size_t room = s->qcap - (size_t)(s->q_head - s->q_tail);
			uint32_t k = b->n; /* records [i, k) go in */
			if (b->len - start > room) {
				k = i;
				while (k < b->n && b->rec[k].end - start <= room)
					k++;
			}
			uint32_t end = k > i ? b->rec[k - 1].end : start;
			uint64_t lines = k > i ? b->rec[k - 1].lines - lines_before : 0;
			q_put(s, b->buf + start, end - start);
			s->lines_head += lines;
			if (k < b->n)
				drop(s, all_lines - lines, b->len - end, &s->st.lines_dropped_full);
		}
	}
	push_mark(s, b->pos_end);
}

#define MIN_READ_ROOM (64u << 10)

size_t sink_read_budget(struct sink *s, uint64_t now)
{
	if (s->failing || s->stalled || s->lagging) {
		s->full_since = 0;
		return SIZE_MAX;
	}
	size_t room = s->qcap - (size_t)(s->q_head - s->q_tail);
	size_t min = s->qcap / 4 < MIN_READ_ROOM ? s->qcap / 4 : MIN_READ_ROOM;
	if (room >= min) {
		s->full_since = 0;
		return s->ops->batch_budget ? s->ops->batch_budget(s, room) : room;
	}
	if (!s->full_since)
		s->full_since = now;
	if (now - s->full_since < s->wait_ns)
		return 0;
	s->full_since = 0;
	s->lagging = 1;
	s->st.lags++;
	s->dropped_before_lag = s->st.lines_dropped;
	log_warn("sink %s: cannot keep up (its queue of %zu bytes has been full for %.1f s): "
		 "dropping (and counting) its records until the queue has drained", s->name, s->qcap,
		 (double)s->wait_ns / 1e9);
	return SIZE_MAX;
}

int sink_submit(struct sink *s, struct io_uring *ring, uint64_t now)
{
	if (s->ops->submit)
		return s->ops->submit(s, ring, now);
	if (s->inflight || s->failing || s->q_head == s->q_sub || !s->m_n)
		return 0;
	struct sink_mark *m0 = mark_at(s, 0);
	size_t first = (size_t)(m0->q_end - s->q_tail);
	size_t limit = s->max_write;
	int fd = s->ops->before_write ? s->ops->before_write(s, now, first, &limit) : s->fd;
	if (fd < 0)
		return 0;
	uint64_t end = m0->q_end;
	for (unsigned j = 1; j < s->m_n; j++) {
		uint64_t e = mark_at(s, j)->q_end;
		if (e - s->q_tail > limit)
			break;
		end = e;
	}
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	if (!sqe)
		return -1;
	size_t len = (size_t)(end - s->q_tail);
	size_t off = (size_t)(s->q_tail % s->qcap);
	int iovcnt = 1;
	s->iov[0].iov_base = s->q + off;
	s->iov[0].iov_len = len;
	if (off + len > s->qcap) { /* the queue wraps inside this write */
		s->iov[0].iov_len = s->qcap - off;
		s->iov[1].iov_base = s->q;
		s->iov[1].iov_len = len - s->iov[0].iov_len;
		iovcnt = 2;
	}
	/* Offset -1: the file position, i.e. the end for an O_APPEND file. */
	io_uring_prep_writev(sqe, fd, s->iov, (unsigned)iovcnt, (uint64_t)-1);
	io_uring_sqe_set_data64(sqe, SINK_UD(s->index, 0));
	s->inflight = 1;
	s->inflight_since = now;
	s->inflight_len = len;
	s->q_sub = end;
	return 1;
}

/* Bytes up to q_tail + n are finished (written or kept): count their lines
 * and settle the marks they complete. */
static void advance(struct sink *s, size_t n)
{
	uint64_t to = s->q_tail + n;
	while (s->m_n && mark_at(s, 0)->q_end <= to) {
		struct sink_mark *m = mark_at(s, 0);
		s->st.lines_written += m->lines - s->lines_tail;
		s->lines_tail = m->lines;
		s->q_tail = m->q_end;
		s->m_first = (s->m_first + 1) % SINK_MARKS;
		s->m_n--;
		set_done(s, m->pos);
	}
	if (s->q_tail < to) { /* a short write ended inside a mark */
		uint64_t nl = count_nl(s, s->q_tail, to);
		s->st.lines_written += nl;
		s->lines_tail += nl;
		s->q_tail = to;
	}
	s->st.bytes_written += n;
}

static void end_lag(struct sink *s)
{
	if (s->lagging && s->q_head == s->q_tail) {
		s->lagging = 0;
		log_info("sink %s: caught up; %" PRIu64 " lines dropped while it lagged", s->name,
			 s->st.lines_dropped - s->dropped_before_lag);
	}
}

void sink_settle(struct sink *s, size_t n, uint64_t failed_lines, uint64_t failed_bytes)
{
	advance(s, n);
	s->st.lines_written -= failed_lines;
	s->st.bytes_written -= failed_bytes;
	drop(s, failed_lines, failed_bytes, &s->st.lines_dropped_failing);
	end_lag(s);
}

void sink_fail(struct sink *s, uint64_t now, const char *why)
{
	uint64_t lines = s->lines_head - s->lines_tail, bytes = s->q_head - s->q_tail;
	drop(s, lines, bytes, &s->st.lines_dropped_failing);
	uint64_t pos = s->m_n ? mark_at(s, s->m_n - 1)->pos : 0;
	s->m_n = 0;
	s->q_tail = s->q_sub = s->q_head;
	s->lines_tail = s->lines_head;
	if (pos)
		set_done(s, pos);
	s->backoff_ns = s->backoff_ns ? s->backoff_ns * 2 : SINK_BACKOFF_MIN_NS;
	if (s->backoff_ns > SINK_BACKOFF_MAX_NS)
		s->backoff_ns = SINK_BACKOFF_MAX_NS;
	s->retry_at = now + s->backoff_ns;
	if (!s->in_failure) {
		log_warn("sink %s: %s; dropping (and counting) its records until it works again, "
			 "retrying with backoff", s->name, why);
		s->in_failure = 1;
		s->dropped_before_failure = s->st.lines_dropped - lines;
	}
	s->failing = 1;
}

void sink_abandon(struct sink *s)
{
	drop(s, s->lines_head - s->lines_tail, s->q_head - s->q_tail, &s->st.lines_dropped_failing);
	s->lines_tail = s->lines_head;
	s->q_tail = s->q_sub = s->q_head;
	s->m_n = 0;
	s->inflight = 0;
	/* done_pos stays: a file's recovery state must not claim these. */
}

void sink_complete(struct sink *s, uint32_t tag, int res, uint64_t now)
{
	if (s->ops->complete) {
		s->ops->complete(s, tag, res, now);
		return;
	}
	size_t len = s->inflight_len;
	s->inflight = 0;
	if (s->stalled) {
		s->stalled = 0;
		log_info("sink %s: the stalled write completed; accepting records again", s->name);
	}
	if (res == -EINTR || res == -EAGAIN) { /* nothing written: write the same bytes again */
		s->q_sub = s->q_tail;
		return;
	}
	if (res <= 0) {
		s->st.write_errors++;
		s->q_sub = s->q_tail;
		char why[160];
		snprintf(why, sizeof why, "write failed: %s", strerror(res ? -res : EIO));
		sink_fail(s, now, why);
		return;
	}
	s->st.writes++;
	if ((size_t)res < len) {
		s->st.short_writes++;
		size_t at_mark = 0;
		for (unsigned j = 0; j < s->m_n && mark_at(s, j)->q_end - s->q_tail <= (size_t)res; j++)
			at_mark = (size_t)(mark_at(s, j)->q_end - s->q_tail);
		size_t keep = s->ops->short_write ? s->ops->short_write(s, (size_t)res, len, at_mark)
						   : (size_t)res;
		s->q_sub = s->q_tail;
		if (!keep) {
			/* Not even one batch fits: retrying would only cut it again. */
			s->st.write_errors++;
			sink_fail(s, now, "short write with no room for a whole batch (disk full?)");
			return;
		}
		advance(s, keep);
		s->q_sub = s->q_tail;
		return;
	}
	if (s->ops->wrote)
		s->ops->wrote(s, len);
	advance(s, len);
	s->backoff_ns = 0;
	end_lag(s);
	if (s->in_failure) {
		log_info("sink %s: writing again after a failure; %" PRIu64 " lines dropped meanwhile",
			 s->name, s->st.lines_dropped - s->dropped_before_failure);
		s->in_failure = 0;
	}
}

/* A stalled sink keeps only what is in flight; the rest is dropped so the
 * ring need not wait for it. */
static void drop_unsubmitted(struct sink *s)
{
	if (s->q_head == s->q_sub)
		return;
	uint64_t nl = count_nl(s, s->q_sub, s->q_head);
	drop(s, nl, s->q_head - s->q_sub, &s->st.lines_dropped_failing);
	uint64_t pos = mark_at(s, s->m_n - 1)->pos;
	while (s->m_n && mark_at(s, s->m_n - 1)->start >= s->q_sub)
		s->m_n--;
	s->lines_head -= nl;
	s->q_head = s->q_sub;
	if (s->m_n) {
		struct sink_mark *last = mark_at(s, s->m_n - 1);
		last->q_end = s->q_sub;
		last->lines = s->lines_head;
		last->pos = pos;
	}
}

int sink_on_mark(const struct sink *s)
{
	return !s->m_n || s->marks[s->m_first].start == s->q_tail;
}

void sink_tick(struct sink *s, uint64_t now)
{
	if (s->inflight && !s->stalled && s->stall_ns && now - s->inflight_since > s->stall_ns) {
		s->stalled = 1;
		s->st.stalls++;
		drop_unsubmitted(s);
		log_warn("sink %s: a write has been in flight for more than %" PRIu64 " s: dropping "
			 "(and counting) its records until it completes; the ring no longer waits for "
			 "this sink", s->name, (uint64_t)(s->stall_ns / 1000000000ull));
	}
	if (s->failing && now >= s->retry_at) {
		if (!s->ops->reconnect || s->ops->reconnect(s, now) == 0) {
			s->failing = 0;
		} else {
			s->backoff_ns = s->backoff_ns * 2 > SINK_BACKOFF_MAX_NS ? SINK_BACKOFF_MAX_NS
									  : s->backoff_ns * 2;
			s->retry_at = now + s->backoff_ns;
		}
	}
	if (s->ops->tick)
		s->ops->tick(s, now, !s->inflight && sink_on_mark(s));
}

int sink_idle(const struct sink *s)
{
	return !s->inflight && s->q_head == s->q_tail;
}

void sink_format_stats(const struct sink *s, char *buf, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < sink_stat_count && o < len; i++) {
		int w = snprintf(buf + o, len - o, "%s%s=%" PRIu64, i ? " " : "", sink_stat_desc[i].name,
				 stat_value(&s->st, &sink_stat_desc[i]));
		if (w < 0)
			break;
		o += (size_t)w;
	}
}
