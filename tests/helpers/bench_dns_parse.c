/*
 * bench_dns_parse.c - throughput of dns_parse() alone, on the DNS payloads
 * of a capture (UDP port 53 over IPv4/IPv6, no fragments), loaded into
 * memory first so that only parsing is timed.
 *
 *   bench_dns_parse FILE.pcap [ROUNDS]      (default 5 rounds over the file)
 *
 * e.g.  python3 scripts/gen_dns_pcap.py /tmp/g.pcap --transactions 200000 --tcp 0
 *       build/tests/bench_dns_parse /tmp/g.pcap
 * Prints messages, RRs and text bytes produced, and messages per second
 * (best round) for a builder like decoded's: 64 KiB records, reused.
 */
#include "../../decoded/dns_parse.h"
#include "netwalk.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECORD_BYTES 65536u
#define RR_STAGE 4096u

struct payloads {
	uint8_t *bytes;
	size_t used, cap;
	size_t *off; /* n + 1 offsets */
	size_t n, n_cap;
};

static void add(struct payloads *p, const uint8_t *b, size_t len)
{
	if (p->used + len > p->cap) {
		p->cap = (p->cap + len) * 2;
		p->bytes = realloc(p->bytes, p->cap);
	}
	if (p->n + 2 > p->n_cap) {
		p->n_cap = (p->n_cap + 2) * 2;
		p->off = realloc(p->off, p->n_cap * sizeof *p->off);
	}
	if (!p->bytes || !p->off) {
		fprintf(stderr, "bench_dns_parse: out of memory\n");
		exit(1);
	}
	memcpy(p->bytes + p->used, b, len);
	p->off[p->n++] = p->used;
	p->used += len;
	p->off[p->n] = p->used;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void load(const char *path, struct payloads *p)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(path, err);
	if (!pc) {
		fprintf(stderr, "bench_dns_parse: %s\n", err);
		exit(1);
	}
	int dlt = pcap_datalink(pc);
	struct pcap_pkthdr *h;
	const u_char *f;
	while (pcap_next_ex(pc, &h, &f) == 1) {
		struct net_l3 l3;
		if (netwalk_frame(dlt, f, h->caplen, &l3) != NW_OK)
			continue;
		const uint8_t *ip = l3.ip, *udp;
		size_t n = l3.len, hl;
		if (l3.version == 4 && n >= 20 && ip[9] == 17 && !(be16(ip + 6) & 0x3fff))
			hl = (size_t)(ip[0] & 15) * 4;
		else if (l3.version == 6 && n >= 40 && ip[6] == 17)
			hl = 40;
		else
			continue;
		if (n < hl + 8)
			continue;
		udp = ip + hl;
		if (be16(udp) != 53 && be16(udp + 2) != 53)
			continue;
		size_t len = be16(udp + 4);
		if (len < 8 || len > n - hl)
			continue;
		add(p, udp + 8, len - 8);
	}
	pcap_close(pc);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_dns_parse FILE.pcap [ROUNDS]\n");
		return 2;
	}
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	struct payloads p = { 0 };
	load(argv[1], &p);
	if (!p.n) {
		fprintf(stderr, "bench_dns_parse: no DNS payload in %s\n", argv[1]);
		return 1;
	}
	void *out = malloc(RECORD_BYTES);
	char *text = malloc(RECORD_BYTES);
	struct rec_rr *rr = malloc(RR_STAGE * sizeof *rr);
	if (!out || !text || !rr)
		return 1;
	double best = 0;
	uint64_t rrs = 0, text_bytes = 0;
	struct dns_parse_stats st = { 0 };
	for (int r = 0; r < rounds; r++) {
		rrs = text_bytes = 0;
		double t0 = now();
		for (size_t i = 0; i < p.n; i++) {
			struct msg_builder b;
			msgb_init(&b, out, RECORD_BYTES, rr, RR_STAGE, text, RECORD_BYTES);
			if (dns_parse(p.bytes + p.off[i], p.off[i + 1] - p.off[i], &b, &st) !=
			    DNS_PARSE_REJECT) {
				rrs += b.m->n_rr;
				text_bytes += b.m->text_len;
				msgb_finish(&b);
			}
		}
		double rate = (double)p.n / (now() - t0);
		if (rate > best)
			best = rate;
	}
	printf("bench_dns_parse: %zu messages (%.1f bytes avg), %llu RRs, %llu text bytes per round;"
	       " best of %d rounds: %.0f messages/s (%.0f ns/message); ok %llu partial %llu"
	       " rejected %llu\n",
	       p.n, (double)p.used / (double)p.n, (unsigned long long)rrs,
	       (unsigned long long)text_bytes, rounds, best, 1e9 / best,
	       (unsigned long long)st.messages_ok, (unsigned long long)st.messages_partial,
	       (unsigned long long)(st.rejected_short + st.rejected_question));
	free(out);
	free(text);
	free(rr);
	free(p.bytes);
	free(p.off);
	return 0;
}
