/*
 * test_ring.c - the ring's promises (common/ring.h), each checked with real
 * separate processes: this program forks and execs build/tests/ring_peer as
 * producer and consumer, kills them, and inspects the ring file.
 */
#include "records.h"
#include "ring.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char peer[512];
static char dir[64];
static char ring_file[128];

static void setup(void)
{
	const char *b = getenv("DNSTRAIL_BUILD");
	snprintf(peer, sizeof peer, "%s/tests/ring_peer", b ? b : "build");
	ck_assert_msg(access(peer, X_OK) == 0, "%s not built", peer);
	snprintf(dir, sizeof dir, "/dev/shm/dnstrail-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(ring_file, sizeof ring_file, "%s/r", dir);
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Start ring_peer with args; its stdout/stderr go to the given fds (-1: inherit). */
static pid_t spawn(int out_fd, int err_fd, const char *const *args)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (out_fd >= 0)
			dup2(out_fd, 1);
		if (err_fd >= 0)
			dup2(err_fd, 2);
		const char *argv[32] = { peer };
		int n = 1;
		for (; args[n - 1]; n++)
			argv[n] = args[n - 1];
		argv[n] = NULL;
		execv(peer, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static int wait_exit(pid_t pid)
{
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Run ring_peer to completion; returns its exit code and its stdout in out. */
static int run_capture(char *out, size_t outlen, const char *const *args)
{
	char path[160];
	snprintf(path, sizeof path, "%s/out.%d", dir, rand());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	int rc = wait_exit(spawn(fd, fd, args));
	ssize_t n = pread(fd, out, outlen - 1, 0);
	out[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(path);
	return rc;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* ---- 1. wrap-around with random sizes, every byte checked ---- */
START_TEST(wrap_random_sizes)
{
	/* 64 KiB ring, records of 1..16 KiB: ~10 000 wraps. */
	const char *prod[] = { "produce", ring_file, "20000", "--sizes", "random", "--seed", "7",
			       "--capacity", "65536", "--eof", NULL };
	const char *cons[] = { "consume", ring_file, "20000", "--sizes", "random", "--seed", "7",
			       "--capacity", "65536", NULL };
	char out[256];
	int pipefd[2];
	ck_assert_int_eq(pipe(pipefd), 0);
	pid_t c = spawn(pipefd[1], -1, cons);
	close(pipefd[1]);
	pid_t p = spawn(-1, -1, prod);
	ck_assert_int_eq(wait_exit(p), 0);
	ck_assert_int_eq(wait_exit(c), 0);
	ssize_t n = read(pipefd[0], out, sizeof out - 1);
	close(pipefd[0]);
	out[n > 0 ? n : 0] = 0;
	ck_assert_str_eq(out, "consumed 20000 last 20000\n");

	/* The ring itself agrees. */
	char err[600];
	struct ring *r = ring_attach(ring_file, RING_OBSERVER, RING_KIND_TEST, NULL, err, sizeof err);
	ck_assert_msg(r != NULL, "%s", err);
	struct ring_hdr *h = ring_header(r);
	ck_assert_uint_eq(atomic_load(&h->records_in), 20000);
	ck_assert_uint_eq(atomic_load(&h->records_out), 20000);
	ck_assert_uint_eq(atomic_load(&h->dropped), 0);
	ck_assert_uint_eq(atomic_load(&h->head), atomic_load(&h->tail));
	ck_assert_uint_gt(atomic_load(&h->head), 20 * 65536);
	ring_detach(r);
}
END_TEST

/* ---- 2. ten million records, sequence numbers verified ---- */
START_TEST(ten_million_in_order)
{
	const char *prod[] = { "produce", ring_file, "10000000", "--sizes", "fixed:16",
			       "--capacity", "1048576", "--eof", NULL };
	const char *cons[] = { "consume", ring_file, "10000000", "--sizes", "fixed:16",
			       "--capacity", "1048576", NULL };
	int pipefd[2];
	ck_assert_int_eq(pipe(pipefd), 0);
	pid_t c = spawn(pipefd[1], -1, cons);
	close(pipefd[1]);
	pid_t p = spawn(-1, -1, prod);
	ck_assert_int_eq(wait_exit(p), 0);
	ck_assert_int_eq(wait_exit(c), 0);
	char out[256];
	ssize_t n = read(pipefd[0], out, sizeof out - 1);
	close(pipefd[0]);
	out[n > 0 ? n : 0] = 0;
	ck_assert_str_eq(out, "consumed 10000000 last 10000000\n");
}
END_TEST

/* Read "seq\n" lines from fd until EOF into seqs; returns how many. */
static size_t read_seqs(int fd, uint64_t *seqs, size_t max)
{
	FILE *f = fdopen(fd, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = 0;
	unsigned long long s;
	while (n < max && fscanf(f, "%llu", &s) == 1)
		seqs[n++] = s;
	fclose(f);
	return n;
}

/* Sequence number of the record at the ring's tail (what a restarted
 * consumer must see first), or UINT64_MAX when the ring is empty. */
static uint64_t seq_at_tail(void)
{
	char err[600];
	struct ring *r = ring_attach(ring_file, RING_OBSERVER, RING_KIND_TEST, NULL, err, sizeof err);
	ck_assert_msg(r != NULL, "%s", err);
	uint64_t pos = atomic_load(&ring_header(r)->tail);
	uint16_t type;
	uint8_t buf[64];
	int64_t n = ring_observe(r, &pos, &type, buf, sizeof buf);
	uint64_t seq = UINT64_MAX;
	if (n > 0) {
		ck_assert_int_eq(n, 16);
		memcpy(&seq, buf, 8);
	} else {
		ck_assert_int_eq(n, 0);
	}
	ring_detach(r);
	return seq;
}

/* ---- 3. consumer SIGKILLed at random moments resumes exactly ---- */
START_TEST(consumer_killed_resumes_exactly)
{
	const uint64_t total = 3000000;
	char n_str[32];
	snprintf(n_str, sizeof n_str, "%" PRIu64, total);
	const char *prod[] = { "produce", ring_file, n_str, "--sizes", "fixed:16",
			       "--capacity", "65536", "--eof", NULL };
	srand((unsigned)time(NULL));
	uint64_t *seqs = malloc(total * sizeof *seqs);
	uint64_t next = 0; /* first seq not yet consumed for good */
	int kills = 0;
	pid_t p = -1;
	while (next < total) {
		char first[32], left[32], batch[16];
		snprintf(first, sizeof first, "%" PRIu64, next);
		snprintf(left, sizeof left, "%" PRIu64, total - next);
		snprintf(batch, sizeof batch, "%d", 1 + rand() % 200);
		const char *cons[] = { "consume", ring_file, left, "--sizes", "fixed:16", "--first",
				       first, "--report", "--batch", batch, "--capacity", "65536", NULL };
		int pipefd[2];
		ck_assert_int_eq(pipe(pipefd), 0);
		pid_t c = spawn(pipefd[1], -1, cons);
		close(pipefd[1]);
		if (p < 0)
			p = spawn(-1, -1, prod);
		int killed = 0;
		if (kills < 6) {
			sleep_ms(30 + rand() % 150);
			killed = kill(c, SIGKILL) == 0;
		}
		size_t n = read_seqs(pipefd[0], seqs, total);
		int rc = wait_exit(c);
		if (killed && rc == 128 + SIGKILL) {
			kills++;
			/* What the ring kept is the truth: records from its tail on
			 * were read but not released, so they are not consumed. */
			uint64_t resume = seq_at_tail();
			if (resume == UINT64_MAX)
				resume = n ? seqs[n - 1] + 1 : next;
			ck_assert_uint_ge(resume, next);
			/* Released records are exactly next..resume-1, in order. */
			ck_assert_uint_ge(n, resume - next);
			for (uint64_t k = 0; k < resume - next; k++)
				ck_assert_uint_eq(seqs[k], next + k);
			/* Anything reported past resume was unreleased: redelivered next time. */
			for (size_t k = resume - next; k < n; k++)
				ck_assert_uint_eq(seqs[k], next + k);
			next = resume;
		} else {
			ck_assert_int_eq(rc, 0);
			ck_assert_uint_eq(n, total - next);
			for (size_t k = 0; k < n; k++)
				ck_assert_uint_eq(seqs[k], next + k);
			next = total;
		}
	}
	ck_assert_int_eq(wait_exit(p), 0);
	ck_assert_int_ge(kills, 3);
	free(seqs);
}
END_TEST

/* ---- 4. producer killed mid-stream: no torn record is ever seen ---- */
START_TEST(producer_killed_no_torn_record)
{
	const char *cons[] = { "consume", ring_file, "1000000000", "--sizes", "checked",
			       "--report", "--capacity", "262144", NULL };
	/* A file, not a pipe: nobody reads until the end, and a full pipe
	 * would stall the consumer and so the producers. */
	char path[160];
	snprintf(path, sizeof path, "%s/seqs", dir);
	int outfd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(outfd, 0);
	pid_t c = spawn(outfd, -1, cons);
	srand((unsigned)time(NULL) ^ 0x5a5a);
	const int incarnations = 6;
	const uint64_t step = 1000000000000ull, last_n = 20000;
	for (int k = 0; k < incarnations; k++) {
		char first[32];
		snprintf(first, sizeof first, "%" PRIu64, (uint64_t)k * step);
		int last = k == incarnations - 1;
		const char *prod[] = { "produce", ring_file, last ? "20000" : "100000000", "--sizes",
				       "checked", "--first", first, "--capacity", "262144",
				       last ? "--eof" : NULL, NULL };
		pid_t p = spawn(-1, -1, prod);
		if (!last) {
			sleep_ms(20 + rand() % 100);
			kill(p, SIGKILL);
			ck_assert_int_eq(wait_exit(p), 128 + SIGKILL);
		} else {
			ck_assert_int_eq(wait_exit(p), 0);
		}
	}
	uint64_t *seqs = malloc(sizeof(uint64_t) * 50000000);
	ck_assert_int_eq(wait_exit(c), 0); /* 4 would mean a torn or foreign record */
	lseek(outfd, 0, SEEK_SET);
	size_t n = read_seqs(outfd, seqs, 50000000);
	/* Each incarnation's records appear as an unbroken prefix of what it
	 * wrote: nothing published is lost, nothing half-written shows. */
	size_t i = 0;
	uint64_t per[8] = { 0 };
	while (i < n) {
		uint64_t inc = seqs[i] / step;
		ck_assert_uint_lt(inc, incarnations);
		ck_assert_uint_eq(seqs[i], inc * step + per[inc]);
		per[inc]++;
		i++;
	}
	ck_assert_uint_eq(per[incarnations - 1], last_n);
	free(seqs);
}
END_TEST

/* ---- 5. drop policy with a stalled consumer: every drop counted ---- */
START_TEST(drop_policy_counts_exactly)
{
	const char *cons[] = { "consume", ring_file, "200000", "--sizes", "fixed:16", "--policy",
			       "drop", "--capacity", "65536", NULL };
	const char *prod[] = { "produce", ring_file, "200000", "--sizes", "fixed:16", "--policy",
			       "drop", "--capacity", "65536", "--eof", NULL };
	int pipefd[2];
	ck_assert_int_eq(pipe(pipefd), 0);
	pid_t c = spawn(pipefd[1], -1, cons);
	close(pipefd[1]);
	kill(c, SIGSTOP);
	char out[256];
	ck_assert_int_eq(run_capture(out, sizeof out, prod), 0);
	unsigned long long written, dropped;
	ck_assert_int_eq(sscanf(out, "written %llu dropped %llu", &written, &dropped), 2);
	ck_assert_uint_eq(written + dropped, 200000);
	ck_assert_uint_gt(dropped, 0);
	kill(c, SIGCONT);
	ck_assert_int_eq(wait_exit(c), 0);
	ssize_t n = read(pipefd[0], out, sizeof out - 1);
	close(pipefd[0]);
	out[n > 0 ? n : 0] = 0;
	unsigned long long consumed, last;
	ck_assert_int_eq(sscanf(out, "consumed %llu last %llu", &consumed, &last), 2);
	ck_assert_uint_eq(consumed, written);

	char err[600];
	struct ring *r = ring_attach(ring_file, RING_OBSERVER, RING_KIND_TEST, NULL, err, sizeof err);
	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_uint_eq(atomic_load(&ring_header(r)->dropped), dropped);
	ck_assert_uint_eq(atomic_load(&ring_header(r)->records_in), written);
	ring_detach(r);
}
END_TEST

/* ---- 6. foreign or damaged ring files are refused, never trusted ---- */
static void make_ring(void)
{
	const char *prod[] = { "produce", ring_file, "100", "--capacity", "65536", NULL };
	char out[256];
	ck_assert_int_eq(run_capture(out, sizeof out, prod), 0);
}

static void poke(off_t off, const void *v, size_t n)
{
	int fd = open(ring_file, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, v, n, off), (ssize_t)n);
	close(fd);
}

static void expect_refused(const char *why)
{
	const char *cons[] = { "consume", ring_file, "100", NULL };
	char out[1024];
	int rc = run_capture(out, sizeof out, cons);
	ck_assert_msg(rc == 3, "consumer exit %d, expected 3 (%s); output: %s", rc, why, out);
	ck_assert_msg(strstr(out, why) != NULL, "message lacks '%s': %s", why, out);
}

START_TEST(refuses_bad_magic)
{
	make_ring();
	uint64_t bad = 0x1122334455667788ULL;
	poke(offsetof(struct ring_hdr, magic), &bad, sizeof bad);
	expect_refused("bad magic");
}
END_TEST

START_TEST(refuses_bad_version)
{
	make_ring();
	uint32_t v = RING_VERSION + 1;
	poke(offsetof(struct ring_hdr, version), &v, sizeof v);
	expect_refused("layout version");
}
END_TEST

START_TEST(refuses_bad_size)
{
	make_ring();
	ck_assert_int_eq(truncate(ring_file, 4096 + 32768), 0);
	expect_refused("truncated or foreign");
}
END_TEST

START_TEST(refuses_bad_capacity)
{
	make_ring();
	uint64_t cap = 65536 + 8; /* not a power of two */
	poke(offsetof(struct ring_hdr, capacity), &cap, sizeof cap);
	expect_refused("inconsistent header");
}
END_TEST

START_TEST(refuses_world_writable)
{
	make_ring();
	ck_assert_int_eq(chmod(ring_file, 0666), 0);
	expect_refused("writable by others");
}
END_TEST

START_TEST(refuses_head_beyond_tail)
{
	make_ring();
	uint64_t head = 1u << 30;
	poke(offsetof(struct ring_hdr, head), &head, sizeof head);
	expect_refused("corrupt positions");
}
END_TEST

START_TEST(refuses_garbage_record_length)
{
	make_ring(); /* 100 records of 16 bytes published, none consumed */
	struct ring_rec rec = { .len = 1u << 20, .type = REC_TEST, .check = (uint16_t)~(1u << 20) };
	poke(RING_HDR_SIZE + 5 * 24, &rec, sizeof rec);
	const char *cons[] = { "consume", ring_file, "100", NULL };
	char out[1024];
	int rc = run_capture(out, sizeof out, cons);
	ck_assert_msg(rc == 3, "consumer exited %d, not 3: %s", rc, out);
	ck_assert_msg(strstr(out, "corrupt record at position 120") != NULL, "%s", out);
}
END_TEST

START_TEST(refuses_second_consumer)
{
	make_ring();
	const char *cons[] = { "consume", ring_file, "1000", NULL }; /* waits: only 100 */
	pid_t c = spawn(-1, -1, cons);
	sleep_ms(200);
	char out[1024];
	ck_assert_int_eq(run_capture(out, sizeof out, cons), 1);
	ck_assert_msg(strstr(out, "already has a consumer") != NULL, "%s", out);
	kill(c, SIGKILL);
	wait_exit(c);
}
END_TEST

/* ---- peeking ahead: records further on, the read position untouched ---- */
START_TEST(peek_ahead_sees_what_is_published)
{
	char err[600];
	struct ring_create rc = { .capacity = 65536, .kind = RING_KIND_TEST };
	struct ring *p = ring_attach(ring_file, RING_PRODUCER, RING_KIND_TEST, &rc, err, sizeof err);
	ck_assert_msg(p != NULL, "%s", err);
	struct ring *c = ring_attach(ring_file, RING_CONSUMER, RING_KIND_TEST, NULL, err, sizeof err);
	ck_assert_msg(c != NULL, "%s", err);
	struct ring_view v;
	uint64_t ahead = 0;
	uint32_t next_push = 0, next_read = 0, next_ahead = 0;
	/* 3000-byte records through a 64 KiB ring: it wraps (with padding)
	 * about 90 times while the lookahead runs up to 8 records ahead. */
	char rec[3000];
	while (next_read < 2000) {
		while (next_push < 2000 && next_push - next_read < 16) {
			memset(rec, 0, sizeof rec);
			memcpy(rec, &next_push, sizeof next_push);
			if (ring_push(p, RING_KIND_TEST, rec, sizeof rec) < 0)
				break;
			next_push++;
		}
		if (next_push % 3 == 0)
			ring_publish(p); /* the lookahead must stop at what is published */
		uint64_t before = ring_read_pos(c);
		while (next_ahead - next_read < 8 && ring_peek_ahead(c, &ahead, &v)) {
			uint32_t seq;
			memcpy(&seq, v.data, sizeof seq);
			ck_assert_uint_eq(seq, next_ahead);
			ck_assert_uint_eq(v.len, sizeof rec);
			ck_assert_uint_ge(v.pos, before);
			next_ahead++;
		}
		ck_assert_uint_eq(ring_read_pos(c), before);
		ck_assert_uint_le(next_ahead, next_push);
		ring_publish(p);
		ck_assert_int_eq(ring_peek(c, &v), 1);
		uint32_t seq;
		memcpy(&seq, v.data, sizeof seq);
		ck_assert_uint_eq(seq, next_read);
		ring_next(c);
		ring_release(c);
		next_read++;
		if (next_ahead < next_read) /* caught up: the lookahead restarts at the read position */
			next_ahead = next_read;
	}
	ck_assert_int_eq(ring_peek_ahead(c, &ahead, &v), 0);
	ring_detach(c);
	ring_detach(p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ring");
	TCase *tc = tcase_create("processes");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, wrap_random_sizes);
	tcase_add_test(tc, ten_million_in_order);
	tcase_add_test(tc, consumer_killed_resumes_exactly);
	tcase_add_test(tc, producer_killed_no_torn_record);
	tcase_add_test(tc, drop_policy_counts_exactly);
	tcase_add_test(tc, refuses_bad_magic);
	tcase_add_test(tc, refuses_bad_version);
	tcase_add_test(tc, refuses_bad_size);
	tcase_add_test(tc, refuses_bad_capacity);
	tcase_add_test(tc, refuses_world_writable);
	tcase_add_test(tc, refuses_head_beyond_tail);
	tcase_add_test(tc, refuses_garbage_record_length);
	tcase_add_test(tc, refuses_second_consumer);
	tcase_add_test(tc, peek_ahead_sees_what_is_published);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_VERBOSE);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
