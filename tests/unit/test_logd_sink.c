/*
 * test_logd_sink.c - the parts of logd that decide what is written, dropped
 * and persisted: the sink queue and its marks (sink.c), flow control, the
 * failure, stall and lag states, the recovery state file (state.c) and the
 * file sink's recovery on start (sink_file.c).  Writes go through a real
 * io_uring to real files; completions can be replaced by made-up results to
 * reach short writes and errors.
 */
#include "../../logd/sink.h"
#include "../../logd/sinks.h"
#include "../../logd/state.h"
#include "uringfix.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MS 1000000ull

static void setup(void)
{
	uringfix_setup(8, "logd-sink-test");
}

static void teardown(void)
{
	uringfix_teardown();
}

/* A batch of n records at ring positions base + 100*i; record i has
 * (i % 3) + 1 lines "P<pos>L<k> ...padding\n" of line_len bytes. */
static char bbuf[1 << 20];
static struct batch_rec brec[1024];
static struct batch make_batch(uint64_t base, uint32_t n, size_t line_len)
{
	struct batch b = { .buf = bbuf, .cap = sizeof bbuf, .rec = brec, .max = 1024 };
	uint32_t lines = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t pos = base + 100ull * i;
		for (uint32_t k = 0; k <= i % 3; k++) {
			int w = snprintf(bbuf + b.len, 64, "P%lluL%u", (unsigned long long)pos, k);
			memset(bbuf + b.len + w, '.', line_len - (size_t)w - 1);
			bbuf[b.len + line_len - 1] = '\n';
			b.len += line_len;
			lines++;
		}
		brec[i] = (struct batch_rec){ .pos = pos, .end = (uint32_t)b.len, .lines = lines };
	}
	b.n = n;
	b.pos_end = base + 100ull * n;
	return b;
}

/* A sink kind writing to a plain fd, with no special behaviour. */
static int plain_open(struct sink *s, char *err, size_t len)
{
	(void)s, (void)err, (void)len;
	return 0;
}
static const struct sink_ops plain_ops = { .kind = "plain", .open = plain_open };

static int make_plain(struct sink *s, size_t qcap, const char *file)
{
	ck_assert_int_eq(sink_init(s, &plain_ops, "plain", qcap, 1 << 20, 5000 * MS, 1000 * MS, 0), 0);
	char p[128];
	snprintf(p, sizeof p, "%s/%s", dir, file);
	s->fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
	ck_assert_int_ge(s->fd, 0);
	return s->fd;
}

/* Submits one write and completes it, with its real result or fake_res. */
static int pump(struct sink *s, uint64_t now, int use_fake, int fake_res)
{
	int r = sink_submit(s, &ring, now);
	if (r <= 0)
		return r;
	ck_assert_int_eq(io_uring_submit(&ring), 1);
	struct io_uring_cqe *cqe;
	ck_assert_int_eq(io_uring_wait_cqe(&ring, &cqe), 0);
	int res = use_fake ? fake_res : cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	sink_complete(s, 0, res, now);
	return 1;
}

static size_t slurp(const char *file, char *out, size_t cap)
{
	char p[128];
	snprintf(p, sizeof p, "%s/%s", dir, file);
	FILE *f = fopen(p, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(out, 1, cap, f);
	fclose(f);
	return n;
}

START_TEST(done_after_completion)
{
	struct sink s;
	make_plain(&s, 1 << 20, "a");
	struct batch b = make_batch(1000, 10, 50);
	sink_offer(&s, &b);
	ck_assert_uint_eq(s.done_pos, 0); /* queued is not done */
	ck_assert_int_eq(sink_submit(&s, &ring, 0), 1);
	ck_assert_uint_eq(s.done_pos, 0); /* in flight is not done */
	ck_assert_int_eq(io_uring_submit(&ring), 1);
	struct io_uring_cqe *cqe;
	io_uring_wait_cqe(&ring, &cqe);
	int res = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	sink_complete(&s, 0, res, 0);
	ck_assert_uint_eq(s.done_pos, b.pos_end);
	ck_assert_uint_eq(s.st.lines_written, b.rec[9].lines);
	ck_assert_uint_eq(s.st.bytes_written, b.len);
	ck_assert(sink_idle(&s));
	/* An empty sink is done with a new batch at once. */
	b = make_batch(2000, 3, 50);
	s.failing = 1;
	sink_offer(&s, &b);
	ck_assert_uint_eq(s.done_pos, b.pos_end);
	static char out[1 << 16];
	ck_assert_uint_eq(slurp("a", out, sizeof out), 19 * 50);
	close(s.fd);
	sink_free(&s);
}
END_TEST

/* A batch formatted in place at the queue's head is queued without a copy
 * and written like any other; the free room offered stops at the queue's
 * end, and a sink that is dropping offers none. */
START_TEST(direct_area_in_place)
{
	struct sink s;
	make_plain(&s, 1 << 16, "d");
	size_t room;
	char *d = sink_direct_area(&s, &room);
	ck_assert_ptr_eq(d, s.q);
	ck_assert_uint_eq(room, 1u << 16);
	struct batch b = make_batch(0, 10, 50);
	memcpy(d, b.buf, b.len); /* as if formatted there */
	memset(bbuf, 'X', b.len); /* the batch buffer is not what gets written */
	b.buf = d;
	sink_offer(&s, &b);
	ck_assert_uint_eq(s.q_head, b.len);
	ck_assert_int_eq(pump(&s, 0, 0, 0), 1);
	ck_assert_uint_eq(s.done_pos, b.pos_end);
	static char out[1 << 16];
	size_t n = slurp("d", out, sizeof out);
	ck_assert_uint_eq(n, b.len);
	ck_assert(!memchr(out, 'X', n));
	ck_assert(!strncmp(out, "P0L0.", 5));
	/* Near the end of the queue the room is what is left before it. */
	s.q_head = s.q_tail = (1u << 16) - 1000 + (1u << 16);
	d = sink_direct_area(&s, &room);
	ck_assert_ptr_eq(d, s.q + (1u << 16) - 1000);
	ck_assert_uint_eq(room, 1000);
	s.failing = 1;
	ck_assert_ptr_null(sink_direct_area(&s, &room));
	s.failing = 0;
	close(s.fd);
	sink_free(&s);
}
END_TEST

START_TEST(full_queue_drops_whole_records)
{
	struct sink s;
	make_plain(&s, 64 << 10, "b");
	uint64_t offered = 0, offered_bytes = 0;
	uint64_t base = 0;
	for (int round = 0; round < 5; round++) {
		struct batch b = make_batch(base, 1000, 40); /* ~80 KB: more than the queue */
		base = b.pos_end;
		offered += b.rec[b.n - 1].lines;
		offered_bytes += b.len;
		sink_offer(&s, &b);
		while (pump(&s, 0, 0, 0) > 0)
			;
	}
	ck_assert_uint_gt(s.st.lines_dropped_full, 0);
	ck_assert_uint_eq(s.st.lines_written + s.st.lines_dropped, offered);
	ck_assert_uint_eq(s.st.bytes_written + s.st.bytes_dropped, offered_bytes);
	ck_assert_uint_eq(s.done_pos, base);
	/* What was written is whole records: for each record all its lines or
	 * none, and nothing but whole lines. */
	static char out[1 << 20];
	size_t n = slurp("b", out, sizeof out);
	ck_assert_uint_eq(n, s.st.bytes_written);
	ck_assert_uint_eq(n % 40, 0);
	for (size_t off = 0; off < n; off += 40) {
		unsigned long long pos;
		unsigned k;
		ck_assert_int_eq(sscanf(out + off, "P%lluL%u", &pos, &k), 2);
		if (k == 0) { /* record i = pos / 100 % 1000 has i % 3 more lines */
			for (unsigned j = 1; j <= (unsigned)((pos / 100) % 1000 % 3); j++) {
				unsigned long long p2;
				unsigned k2;
				ck_assert_uint_lt(off + 40 * j, n);
				ck_assert_int_eq(sscanf(out + off + 40 * j, "P%lluL%u", &p2, &k2), 2);
				ck_assert_uint_eq(p2, pos);
				ck_assert_uint_eq(k2, j);
			}
		}
		ck_assert_int_eq(out[off + 39], '\n');
	}
	close(s.fd);
	sink_free(&s);
}
END_TEST

START_TEST(short_write_keeps_marks)
{
	struct sink s;
	make_plain(&s, 1 << 20, "c");
	struct batch b1 = make_batch(0, 10, 50); /* 19 lines, 950 bytes */
	sink_offer(&s, &b1);
	ck_assert_int_eq(pump(&s, 0, 0, 0), 1); /* first batch written whole */
	struct batch b2 = make_batch(b1.pos_end, 10, 50);
	sink_offer(&s, &b2);
	struct batch b3 = make_batch(b2.pos_end, 10, 50);
	sink_offer(&s, &b3);
	/* b2 and b3, queued while idle, share one mark and one write of 1900
	 * bytes; pretend 1000 landed: a stream keeps them (20 lines), but the
	 * mark is not reached, so done_pos stays after b1. */
	ck_assert_int_eq(pump(&s, 0, 1, 1000), 1);
	ck_assert_uint_eq(s.st.short_writes, 1);
	ck_assert_uint_eq(s.done_pos, b1.pos_end);
	ck_assert(!sink_on_mark(&s));
	ck_assert_uint_eq(s.st.lines_written, 19 + 20);
	/* then an error: the rest of b3 is dropped, its records are done */
	ck_assert_int_eq(pump(&s, 0, 1, -ENOSPC), 1);
	ck_assert(s.failing);
	ck_assert_uint_eq(s.done_pos, b3.pos_end);
	ck_assert_uint_eq(s.st.lines_dropped, 18);
	ck_assert_uint_eq(s.st.lines_written + s.st.lines_dropped, 57);
	close(s.fd);
	sink_free(&s);
}
END_TEST

START_TEST(failure_backoff_and_recovery)
{
	struct sink s;
	make_plain(&s, 1 << 20, "d");
	struct batch b = make_batch(0, 5, 50);
	sink_offer(&s, &b);
	ck_assert_int_eq(pump(&s, 0, 1, -EIO), 1);
	ck_assert(s.failing);
	ck_assert_uint_eq(s.backoff_ns, SINK_BACKOFF_MIN_NS);
	ck_assert_uint_eq(s.done_pos, b.pos_end);
	ck_assert_uint_eq(sink_read_budget(&s, 0), SIZE_MAX); /* does not hold reading */
	b = make_batch(b.pos_end, 5, 50);
	sink_offer(&s, &b); /* while failing: dropped at once */
	ck_assert(sink_idle(&s));
	ck_assert_uint_eq(s.st.lines_dropped_failing, 2 * 9);
	sink_tick(&s, SINK_BACKOFF_MIN_NS - 1);
	ck_assert(s.failing);
	sink_tick(&s, SINK_BACKOFF_MIN_NS);
	ck_assert(!s.failing);
	b = make_batch(b.pos_end, 5, 50);
	sink_offer(&s, &b);
	ck_assert_int_eq(pump(&s, SINK_BACKOFF_MIN_NS, 1, -EIO), 1); /* fails again: backoff doubles */
	ck_assert_uint_eq(s.backoff_ns, 2 * SINK_BACKOFF_MIN_NS);
	sink_tick(&s, 5 * SINK_BACKOFF_MIN_NS);
	b = make_batch(b.pos_end, 5, 50);
	sink_offer(&s, &b);
	ck_assert_int_eq(pump(&s, 5 * SINK_BACKOFF_MIN_NS, 0, 0), 1); /* works */
	ck_assert_uint_eq(s.backoff_ns, 0);
	ck_assert_uint_eq(s.st.lines_written, 9);
	ck_assert_uint_eq(s.st.lines_dropped, 27);
	close(s.fd);
	sink_free(&s);
}
END_TEST

START_TEST(stall_and_lag)
{
	struct sink s;
	make_plain(&s, 64 << 10, "e");
	struct batch b = make_batch(0, 600, 40); /* ~48 KB */
	sink_offer(&s, &b);
	ck_assert_int_eq(sink_submit(&s, &ring, 0), 1); /* in flight, never reaped yet */
	ck_assert_int_eq(io_uring_submit(&ring), 1);
	struct batch b2 = make_batch(b.pos_end, 300, 40);
	sink_offer(&s, &b2);
	/* queue nearly full: reading waits, then the sink lags */
	ck_assert_uint_eq(sink_read_budget(&s, 1 * MS), 0);
	ck_assert_uint_eq(sink_read_budget(&s, 500 * MS), 0);
	ck_assert_uint_eq(sink_read_budget(&s, 1002 * MS), SIZE_MAX);
	ck_assert(s.lagging);
	ck_assert(!sink_holds_ring(&s));
	struct batch b3 = make_batch(b2.pos_end, 10, 40);
	uint64_t full_before = s.st.lines_dropped_full;
	ck_assert_uint_gt(full_before, 0); /* b2 did not fit whole */
	sink_offer(&s, &b3);
	ck_assert_uint_eq(s.st.lines_dropped_full - full_before, b3.rec[9].lines);
	/* the write hangs past stall=: unsubmitted lines are dropped */
	sink_tick(&s, 5001 * MS + 1);
	ck_assert(s.stalled);
	ck_assert_uint_eq(s.q_head, s.q_sub);
	/* it completes after all */
	struct io_uring_cqe *cqe;
	io_uring_wait_cqe(&ring, &cqe);
	int res = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	sink_complete(&s, 0, res, 5002 * MS);
	ck_assert(!s.stalled);
	ck_assert(!s.lagging); /* queue drained: caught up */
	ck_assert(sink_idle(&s));
	ck_assert_uint_eq(s.done_pos, b3.pos_end);
	uint64_t offered = b.rec[b.n - 1].lines + b2.rec[b2.n - 1].lines + b3.rec[b3.n - 1].lines;
	ck_assert_uint_eq(s.st.lines_written, b.rec[b.n - 1].lines);
	ck_assert_uint_eq(s.st.lines_written + s.st.lines_dropped, offered);
	close(s.fd);
	sink_free(&s);
}
END_TEST

START_TEST(skip_until_recovered)
{
	struct sink s;
	make_plain(&s, 1 << 20, "f");
	s.skip_until = 500; /* records at 0..400 are already out */
	struct batch b = make_batch(0, 10, 50);
	sink_offer(&s, &b);
	ck_assert_uint_eq(s.st.lines_recovered, b.rec[4].lines);
	ck_assert_uint_eq(s.skip_until, 0);
	while (pump(&s, 0, 0, 0) > 0)
		;
	static char out[4096];
	size_t n = slurp("f", out, sizeof out);
	ck_assert_uint_eq(n, b.len - b.rec[4].end);
	ck_assert(!strncmp(out, "P500L0", 6));
	close(s.fd);
	sink_free(&s);
}
END_TEST

/* ---- state file ---- */

START_TEST(state_slots)
{
	struct ring_hdr rh;
	memset(&rh, 0, sizeof rh);
	rh.created_ns = 42;
	rh.capacity = 1 << 20;
	char path[128], err[256];
	snprintf(path, sizeof path, "%s/st", dir);
	struct state st;
	ck_assert_int_eq(state_open(&st, path, &rh, err, sizeof err), 0);
	ck_assert_ptr_null(state_find(&st, "/x"));
	struct state_entry e[2];
	memset(e, 0, sizeof e);
	strcpy(e[0].path, "/x");
	strcpy(e[1].path, "/y");
	for (uint64_t i = 1; i <= 5; i++) {
		e[0].pos = i * 10;
		e[1].pos = i * 20;
		state_write(&st, e, 2);
	}
	state_close(&st);

	ck_assert_int_eq(state_open(&st, path, &rh, err, sizeof err), 0);
	ck_assert_uint_eq(state_find(&st, "/x")->pos, 50);
	ck_assert_uint_eq(state_find(&st, "/y")->pos, 100);
	/* a kill in the middle of the next update: the newer slot is torn */
	e[0].pos = 60;
	state_write(&st, e, 2);
	struct state_slot *torn = &st.map->slot[st.cur];
	torn->e[1].pos = 12345; /* as if the writer died before the checksum */
	state_close(&st);
	ck_assert_int_eq(state_open(&st, path, &rh, err, sizeof err), 0);
	ck_assert_uint_eq(state_find(&st, "/x")->pos, 50); /* the previous, intact slot */
	state_close(&st);
	/* another ring (recreated): positions are ignored */
	rh.created_ns = 43;
	ck_assert_int_eq(state_open(&st, path, &rh, err, sizeof err), 0);
	ck_assert_ptr_null(state_find(&st, "/x"));
	state_close(&st);
	/* garbage of the wrong size: started afresh */
	int fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_eq(write(fd, "junk", 4), 4);
	close(fd);
	ck_assert_int_eq(state_open(&st, path, &rh, err, sizeof err), 0);
	ck_assert_ptr_null(state_find(&st, "/x"));
	state_close(&st);
}
END_TEST

/* ---- file sink recovery ---- */

static void put_file(const char *p, const char *content)
{
	FILE *f = fopen(p, "w");
	fputs(content, f);
	fclose(f);
}

static struct sink_spec file_spec(const char *p)
{
	struct sink_spec sp;
	memset(&sp, 0, sizeof sp);
	sp.kind = SINK_FILE;
	snprintf(sp.text, sizeof sp.text, "file:%s", p);
	snprintf(sp.path, sizeof sp.path, "%s", p);
	sp.queue_bytes = 1 << 20;
	sp.stall_ns = 30000 * MS;
	sp.wait_ns = 1000 * MS;
	return sp;
}

START_TEST(file_recovery)
{
	char p[128], err[256], out[256];
	snprintf(p, sizeof p, "%s/g", dir);
	/* 1. same inode, longer than recorded: truncated to O, skip to P */
	put_file(p, "one\ntwo\nthree\npartial");
	struct stat sb;
	stat(p, &sb);
	struct state_entry e;
	memset(&e, 0, sizeof e);
	snprintf(e.path, sizeof e.path, "%s", p);
	e.dev = (uint64_t)sb.st_dev;
	e.ino = (uint64_t)sb.st_ino;
	e.pos = 700;
	e.size = 8;
	struct sink_spec sp = file_spec(p);
	struct sink s;
	ck_assert_int_eq(sink_file_create(&s, &sp, 100, 1 << 20), 0);
	ck_assert_int_eq(s.ops->open(&s, err, sizeof err), 0);
	sink_file_recover(&s, &e, 100, 1000);
	ck_assert_uint_eq(s.skip_until, 700);
	stat(p, &sb);
	ck_assert_int_eq(sb.st_size, 8);
	struct state_entry now;
	sink_file_state(&s, &now);
	ck_assert_uint_eq(now.pos, 700); /* never less than what the file holds */
	ck_assert_uint_eq(now.size, 8);
	s.ops->close(&s);
	sink_free(&s);

	/* 2. no state: a partial last line left by a crash is cut */
	put_file(p, "one\ntwo\npart");
	ck_assert_int_eq(sink_file_create(&s, &sp, 0, 1 << 20), 0);
	ck_assert_int_eq(s.ops->open(&s, err, sizeof err), 0);
	sink_file_recover(&s, NULL, 0, 1000);
	ck_assert_uint_eq(s.skip_until, 0);
	s.ops->close(&s);
	sink_free(&s);
	int fd = open(p, O_RDONLY);
	ssize_t n = read(fd, out, sizeof out);
	close(fd);
	ck_assert_int_eq(n, 8);
	ck_assert(!memcmp(out, "one\ntwo\n", 8));

	/* 3. rotated before the crash: the recorded inode is PATH.1 */
	char p1[140];
	snprintf(p1, sizeof p1, "%s.1", p);
	put_file(p, "a\nb\nc\n");
	stat(p, &sb);
	e.dev = (uint64_t)sb.st_dev;
	e.ino = (uint64_t)sb.st_ino;
	e.size = 2;
	rename(p, p1);
	put_file(p, "");
	ck_assert_int_eq(sink_file_create(&s, &sp, 0, 1 << 20), 0);
	ck_assert_int_eq(s.ops->open(&s, err, sizeof err), 0);
	sink_file_recover(&s, &e, 100, 1000);
	ck_assert_uint_eq(s.skip_until, 700);
	stat(p1, &sb);
	ck_assert_int_eq(sb.st_size, 2);
	/* 4. an entry ahead of the ring head, or behind its tail, is not
	 * applied: nothing truncated, nothing skipped */
	s.skip_until = 0;
	sink_file_recover(&s, &e, 0, 10);
	ck_assert_uint_eq(s.skip_until, 0);
	sink_file_recover(&s, &e, 800, 1000);
	ck_assert_uint_eq(s.skip_until, 0);
	s.ops->close(&s);
	sink_free(&s);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("logd_sink");
	TCase *tc = tcase_create("sink");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, done_after_completion);
	tcase_add_test(tc, direct_area_in_place);
	tcase_add_test(tc, full_queue_drops_whole_records);
	tcase_add_test(tc, short_write_keeps_marks);
	tcase_add_test(tc, failure_backoff_and_recovery);
	tcase_add_test(tc, stall_and_lag);
	tcase_add_test(tc, skip_until_recovered);
	tcase_add_test(tc, state_slots);
	tcase_add_test(tc, file_recovery);
	suite_add_tcase(su, tc);
	SRunner *sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
