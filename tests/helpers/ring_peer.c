/*
 * ring_peer - one side of a ring, as a separate process, for the ring tests
 * (tests/unit/test_ring.c) and the ring benchmark (make bench).
 *
 *   ring_peer produce RING N [options]   write records 0..N-1 (from --first)
 *   ring_peer consume RING N [options]   read and verify N records
 *
 * Record i has a length and content that are pure functions of (seed, i), so
 * the consumer can verify every byte without any side channel:
 *   --sizes fixed:S     every record S bytes (S >= 8: starts with seq i)
 *   --sizes random      1..max_record bytes, content = prng(seed, i)
 *   --sizes checked     16..max_record bytes: [u64 seq][u32 len][u32 sum][prng]
 *                       -- verifiable without knowing i (for producer restarts)
 * Options: --seed S, --first I (first seq), --policy wait|drop, --eof,
 * --capacity BYTES (create the ring if missing), --report (consumer: print
 * "seq" per record to stdout before releasing it), --batch N (consumer:
 * release every N records), --stats (print rate), --sleep-us N (consumer:
 * pause per record).
 * Exit codes: 0 ok, 1 usage/attach error, 3 corrupt ring, 4 verification failed.
 */
#include "records.h"
#include "ring.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum sizes { SIZES_FIXED, SIZES_RANDOM, SIZES_CHECKED };

struct opts {
	const char *mode, *path;
	uint64_t n, seed, first, capacity;
	enum sizes sizes;
	uint32_t fixed;
	int drop, eof, report, stats;
	uint64_t batch, sleep_us;
};

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t record_len(const struct opts *o, uint64_t i, uint32_t max)
{
	uint64_t s = o->seed ^ (i * 0x100000001b3ULL);
	switch (o->sizes) {
	case SIZES_FIXED:
		return o->fixed;
	case SIZES_RANDOM:
		return 1 + (uint32_t)(splitmix(&s) % max);
	case SIZES_CHECKED:
		return 16 + (uint32_t)(splitmix(&s) % (max - 15));
	}
	return 0;
}

static void fill(uint8_t *p, uint32_t len, uint64_t seed, uint64_t i)
{
	uint64_t s = seed * 31 + i;
	for (uint32_t k = 0; k < len; k += 8) {
		uint64_t w = splitmix(&s);
		memcpy(p + k, &w, len - k < 8 ? len - k : 8);
	}
}

static uint32_t sum32(const uint8_t *p, uint32_t len)
{
	uint32_t a = 1, b = 0;
	for (uint32_t k = 0; k < len; k++) {
		a = (a + p[k]) % 65521;
		b = (b + a) % 65521;
	}
	return b << 16 | a;
}

static void build(const struct opts *o, uint8_t *p, uint32_t len, uint64_t i)
{
	switch (o->sizes) {
	case SIZES_FIXED:
		memset(p, 0, len);
		memcpy(p, &i, 8);
		break;
	case SIZES_RANDOM:
		fill(p, len, o->seed, i);
		break;
	case SIZES_CHECKED: {
		fill(p + 16, len - 16, o->seed, i);
		uint32_t sum = sum32(p + 16, len - 16);
		memcpy(p, &i, 8);
		memcpy(p + 8, &len, 4);
		memcpy(p + 12, &sum, 4);
		break;
	}
	}
}

static volatile sig_atomic_t stop;
static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int produce(const struct opts *o, struct ring *r)
{
	uint32_t max = ring_max_record(r);
	uint64_t written = 0;
	double t0 = now_s();
	for (uint64_t i = o->first; i < o->first + o->n && !stop; i++) {
		uint32_t len = record_len(o, i, max);
		uint8_t *p = ring_reserve(r, len);
		if (!p)
			continue; /* dropped (counted by the ring) or stopping */
		build(o, p, len, i);
		ring_commit(r, REC_TEST, len);
		written++;
		if ((written & 31) == 0)
			ring_publish(r);
	}
	ring_publish(r);
	double dt = now_s() - t0;
	if (o->eof)
		ring_set_eof(r);
	struct ring_hdr *h = ring_header(r);
	printf("written %" PRIu64 " dropped %" PRIu64 "\n", written, atomic_load(&h->dropped));
	if (o->stats)
		printf("produce %.0f records/s %.3f s\n", (double)written / dt, dt);
	return 0;
}

static int verify(const struct opts *o, const struct ring_view *v, uint64_t *expect,
		  uint32_t max, uint8_t *scratch)
{
	uint64_t i = *expect;
	switch (o->sizes) {
	case SIZES_FIXED: {
		uint64_t seq;
		if (v->len != o->fixed) {
			fprintf(stderr, "record %" PRIu64 ": length %u, expected %u\n", i, v->len, o->fixed);
			return -1;
		}
		memcpy(&seq, v->data, 8);
		/* with the drop policy seqs may jump forward, never back */
		if (o->drop ? seq < i : seq != i) {
			fprintf(stderr, "record: seq %" PRIu64 ", expected %s%" PRIu64 "\n", seq,
				o->drop ? ">= " : "", i);
			return -1;
		}
		*expect = seq + 1;
		return 0;
	}
	case SIZES_RANDOM: {
		uint32_t len = record_len(o, i, max);
		if (v->len != len) {
			fprintf(stderr, "record %" PRIu64 ": length %u, expected %u\n", i, v->len, len);
			return -1;
		}
		fill(scratch, len, o->seed, i);
		if (memcmp(scratch, v->data, len)) {
			fprintf(stderr, "record %" PRIu64 ": content differs\n", i);
			return -1;
		}
		*expect = i + 1;
		return 0;
	}
	case SIZES_CHECKED: {
		uint64_t seq;
		uint32_t len, sum;
		if (v->len < 16) {
			fprintf(stderr, "record of %u bytes: torn\n", v->len);
			return -1;
		}
		memcpy(&seq, v->data, 8);
		memcpy(&len, (const uint8_t *)v->data + 8, 4);
		memcpy(&sum, (const uint8_t *)v->data + 12, 4);
		if (len != v->len || sum != sum32((const uint8_t *)v->data + 16, len - 16)) {
			fprintf(stderr, "record seq %" PRIu64 ": torn (len %u/%u)\n", seq, len, v->len);
			return -1;
		}
		fill(scratch, len - 16, o->seed, seq);
		if (memcmp(scratch, (const uint8_t *)v->data + 16, len - 16)) {
			fprintf(stderr, "record seq %" PRIu64 ": content differs\n", seq);
			return -1;
		}
		/* A restarted producer starts at a new --first: seqs only grow. */
		if (seq < i) {
			fprintf(stderr, "record seq %" PRIu64 " after %" PRIu64 ": repeated\n", seq, i);
			return -1;
		}
		*expect = seq + 1;
		return 0;
	}
	}
	return -1;
}

static int consume(const struct opts *o, struct ring *r)
{
	uint32_t max = ring_max_record(r);
	uint8_t *scratch = malloc(max + 8);
	uint64_t got = 0, expect = o->first, since_release = 0;
	double t0 = now_s();
	int rc = 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (got < o->n && !stop) {
		struct ring_view v;
		if (!ring_peek(r, &v)) {
			if (ring_error(r)) {
				fprintf(stderr, "%s\n", ring_error(r));
				rc = 3;
				goto out;
			}
			if (ring_drained(r))
				break;
			ring_wait_data(r, 100);
			continue;
		}
		if (verify(o, &v, &expect, max, scratch) < 0) {
			rc = 4;
			goto out;
		}
		if (o->report)
			printf("%" PRIu64 "\n", expect - 1);
		ring_next(r);
		got++;
		if (o->sleep_us)
			usleep((useconds_t)o->sleep_us);
		if (++since_release >= o->batch) {
			ring_release(r);
			since_release = 0;
		}
	}
	ring_release(r);
	double dt = now_s() - t0;
	if (!o->report)
		printf("consumed %" PRIu64 " last %" PRIu64 "\n", got, expect);
	if (o->stats)
		printf("consume %.0f records/s %.3f s\n", (double)got / dt, dt);
out:
	free(scratch);
	return rc;
}

static int usage(void)
{
	fprintf(stderr, "usage: ring_peer produce|consume RING N [options] (see the source)\n");
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return usage();
	struct opts o = { .mode = argv[1], .path = argv[2], .n = strtoull(argv[3], NULL, 10),
			  .seed = 1, .sizes = SIZES_FIXED, .fixed = 16, .batch = 64 };
	for (int i = 4; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
		if (!strcmp(a, "--sizes")) {
			i++;
			if (!strcmp(v, "random"))
				o.sizes = SIZES_RANDOM;
			else if (!strcmp(v, "checked"))
				o.sizes = SIZES_CHECKED;
			else if (!strncmp(v, "fixed:", 6))
				o.fixed = (uint32_t)atoi(v + 6);
			else
				return usage();
		} else if (!strcmp(a, "--seed")) {
			o.seed = strtoull(v, NULL, 10), i++;
		} else if (!strcmp(a, "--first")) {
			o.first = strtoull(v, NULL, 10), i++;
		} else if (!strcmp(a, "--capacity")) {
			o.capacity = strtoull(v, NULL, 10), i++;
		} else if (!strcmp(a, "--policy")) {
			o.drop = !strcmp(v, "drop"), i++;
		} else if (!strcmp(a, "--batch")) {
			o.batch = strtoull(v, NULL, 10), i++;
		} else if (!strcmp(a, "--sleep-us")) {
			o.sleep_us = strtoull(v, NULL, 10), i++;
		} else if (!strcmp(a, "--eof")) {
			o.eof = 1;
		} else if (!strcmp(a, "--report")) {
			o.report = 1;
		} else if (!strcmp(a, "--stats")) {
			o.stats = 1;
		} else {
			return usage();
		}
	}
	if (o.sizes == SIZES_FIXED && o.fixed < 8)
		return usage();
	if (o.batch == 0)
		o.batch = 1;
	signal(SIGTERM, on_term);
	int producer = !strcmp(o.mode, "produce");
	if (!producer && strcmp(o.mode, "consume"))
		return usage();
	struct ring_create c = { .capacity = o.capacity, .kind = RING_KIND_TEST };
	char err[600];
	struct ring *r = ring_attach(o.path, producer ? RING_PRODUCER : RING_CONSUMER, RING_KIND_TEST,
				     &c, err, sizeof err);
	if (!r) {
		fprintf(stderr, "%s\n", err);
		return strstr(err, "cannot open") || strstr(err, "already has") ? 1 : 3;
	}
	ring_set_stop_flag(r, &stop);
	ring_set_full_policy(r, o.drop ? RING_FULL_DROP : RING_FULL_WAIT);
	int rc = producer ? produce(&o, r) : consume(&o, r);
	ring_detach(r);
	return rc;
}
