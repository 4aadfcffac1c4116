/*
 * bench_logd_format - how fast logd formats transactions, per core.
 *
 *   bench_logd_format [RECORDS]      (default 5000000)
 *
 * Formats RECORDS transactions, cycling through 4096 varied ones (IPv4 and
 * IPv6, 0-3 answers of common types, names of typical length, some needing
 * escapes), into a 1 MiB buffer reused like logd's batch buffer, for each
 * format.  Reports records/s and lines/s against both wall-clock and thread
 * CPU time (the latter is what one core can do, whatever else runs).
 */
#include "../../logd/format.h"
#include "unit/test_logd_txn.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POOL 4096

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static size_t gen(struct tb *tb, uint64_t i)
{
	uint64_t h = mix(i);
	struct rec_txn *t = tb_begin(tb, (uint8_t)(h % 10 < 8 ? TXN_ANSWERED : 1 + h % 3));
	struct rec_msg *m = &t->msg;
	m->ts_ns = 1700000000000000000ull + i * 997ull;
	m->id = (uint16_t)h;
	m->ip_version = h % 10 < 7 ? 4 : 6;
	for (int k = 0; k < 16; k++) {
		m->src[k] = (uint8_t)mix(h + (uint64_t)k);
		m->dst[k] = (uint8_t)(m->ip_version == 6 && k > 3 && k < 14 ? 0 : mix(h ^ (uint64_t)k));
	}
	m->sport = (uint16_t)(1024 + h % 60000);
	m->dport = 53;
	m->hflags = 0x8180;
	m->msg_len = (uint32_t)(60 + h % 400);
	t->elapsed_ns = h % 50000000;
	char q[128], d[128];
	size_t qn = (size_t)snprintf(q, sizeof q, "%s%" PRIu64 ".cdn-%u.example.com",
				     h % 50 ? "www" : "we\"ird\\", i % 1000, (unsigned)(h >> 20) % 100);
	tb_question(tb, q, qn, h % 3 ? 1 : 28, 1);
	unsigned nrr = t->kind == TXN_UNANSWERED ? 0 : (unsigned)(h >> 32) % 4;
	for (unsigned r = 0; r < nrr; r++) {
		uint64_t g = mix(h + r);
		size_t dn;
		uint16_t type;
		if (r == 0 && nrr > 1) {
			type = 5;
			dn = (size_t)snprintf(d, sizeof d, "edge-%u.cdn.example.net", (unsigned)g % 1000);
		} else if (h % 3) {
			type = 1;
			dn = (size_t)snprintf(d, sizeof d, "%u.%u.%u.%u", (unsigned)(g & 255),
					      (unsigned)(g >> 8 & 255), (unsigned)(g >> 16 & 255),
					      (unsigned)(g >> 24 & 255));
		} else {
			type = 28;
			dn = (size_t)snprintf(d, sizeof d, "2001:db8:%x::%x", (unsigned)(g & 0xffff),
					      (unsigned)(g >> 16 & 0xffff));
		}
		tb_rr(tb, q, qn, d, dn, type, (uint32_t)(g % 3600), 1, SEC_ANSWER);
	}
	return tb_end(tb);
}

static double secs(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 5000000;
	static struct tb tb;
	static uint8_t *pool[POOL];
	for (uint64_t i = 0; i < POOL; i++) {
		size_t len = gen(&tb, i);
		/* 8-byte aligned, as records are in the ring */
		pool[i] = aligned_alloc(8, (len + 7) & ~(size_t)7);
		memcpy(pool[i], tb.u.raw, len);
	}
	static char buf[1 << 20];
	static const char *const names[] = { "json", "transaction", "passivedns" };
	for (int k = 0; k < 3; k++) {
		struct fmt f;
		fmt_init(&f, (enum logd_format)k, "sensor-1");
		uint64_t lines = 0, bytes = 0;
		size_t used = 0;
		double w0 = secs(CLOCK_MONOTONIC), c0 = secs(CLOCK_THREAD_CPUTIME_ID);
		for (uint64_t i = 0; i < n; i++) {
			uint32_t l;
			const struct rec_txn *t = (const struct rec_txn *)pool[i % POOL];
			size_t w = fmt_txn(&f, t, buf + used, sizeof buf - used, &l);
			if (!w) { /* batch full: logd hands it to the sinks and starts over */
				bytes += used;
				used = 0;
				w = fmt_txn(&f, t, buf, sizeof buf, &l);
			}
			used += w;
			lines += l;
		}
		bytes += used;
		double wall = secs(CLOCK_MONOTONIC) - w0, cpu = secs(CLOCK_THREAD_CPUTIME_ID) - c0;
		printf("%-11s %" PRIu64 " records, %" PRIu64 " lines, %.0f MB: %.2f M records/s "
		       "(%.2f M lines/s, %.0f MB/s) per CPU second; wall %.2f M records/s\n",
		       names[k], n, lines, (double)bytes / 1e6, (double)n / cpu / 1e6,
		       (double)lines / cpu / 1e6, (double)bytes / cpu / 1e6, (double)n / wall / 1e6);
	}
	return 0;
}
