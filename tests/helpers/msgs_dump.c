/*
 * msgs_dump - run a capture file through netdecode and print one JSON line
 * per DNS message its callback receives:
 *
 *   {"ts":"1476976981.075993000","src":"172.17.0.10","dst":"8.8.8.8",
 *    "sport":53199,"dport":53,"transport":"udp","vlan":null,"len":28,
 *    "id":59311,"qr":0}
 *
 * id is null for a message shorter than 2 bytes, qr for one shorter than 3.
 * Used by tests/netoracle to compare with tshark, and as a benchmark.
 *
 *   msgs_dump [--ports 53,5353,...] [--stats] FILE
 *   msgs_dump --bench PASSES [--ports ...] FILE
 *
 * --stats prints netdecode's counters as one JSON object on stderr.
 * --bench preloads every frame in memory, runs them through a fresh
 * netdecode PASSES times with a callback that only touches the bytes, and
 * prints frames/s and messages/s on stdout.
 * Exit status: 0, or 2 when the file ends in the middle of a record (what
 * came before is still printed), 1 on a usage or open error.
 */
#include "../../decoded/netdecode.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct frame {
	uint64_t ts;
	uint32_t caplen, wire_len;
	uint8_t *data;
};

static void print_msg(void *ctx, const struct pkt_meta *m, const uint8_t *dns, size_t len)
{
	(void)ctx;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	int af = m->ip_version == 4 ? AF_INET : AF_INET6;
	inet_ntop(af, m->src, src, sizeof src);
	inet_ntop(af, m->dst, dst, sizeof dst);
	char vlan[8] = "null", id[8] = "null", qr[8] = "null";
	if (m->has_vlan)
		snprintf(vlan, sizeof vlan, "%u", m->vlan);
	if (len >= 2)
		snprintf(id, sizeof id, "%u", (unsigned)(dns[0] << 8 | dns[1]));
	if (len >= 3)
		snprintf(qr, sizeof qr, "%u", (unsigned)(dns[2] >> 7));
	printf("{\"ts\":\"%llu.%09llu\",\"src\":\"%s\",\"dst\":\"%s\",\"sport\":%u,\"dport\":%u,"
	       "\"transport\":\"%s\",\"vlan\":%s,\"len\":%zu,\"id\":%s,\"qr\":%s}\n",
	       (unsigned long long)(m->ts_ns / 1000000000), (unsigned long long)(m->ts_ns % 1000000000),
	       src, dst, m->sport, m->dport, m->transport == 6 ? "tcp" : "udp", vlan, len, id, qr);
}

struct bench_ctx {
	uint64_t msgs, sum;
};

static void count_msg(void *ctx, const struct pkt_meta *m, const uint8_t *dns, size_t len)
{
	struct bench_ctx *b = ctx;
	b->msgs++;
	b->sum += dns[0] + dns[len - 1] + m->sport;
}

static int parse_ports(const char *s, struct netdecode_limits *l)
{
	size_t n = 0;
	const size_t max = sizeof l->ports / sizeof l->ports[0] - 1;
	while (*s) {
		char *end;
		errno = 0;
		unsigned long v = strtoul(s, &end, 10);
		if (end == s || errno || v == 0 || v > 65535 || (*end && *end != ',') || n == max)
			return -1;
		l->ports[n++] = (uint16_t)v;
		s = *end ? end + 1 : end;
	}
	l->ports[n] = 0;
	return n ? 0 : -1;
}

static void print_stats(const struct netdecode *nd)
{
	const struct netdecode_stats *st = netdecode_stats(nd);
	fputc('{', stderr);
	for (size_t i = 0; i < netdecode_stat_count; i++)
		fprintf(stderr, "%s\"%s\":%llu", i ? "," : "", netdecode_stat_desc[i].name,
			(unsigned long long)stat_value(st, &netdecode_stat_desc[i]));
	fputs("}\n", stderr);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct netdecode_limits lim;
	netdecode_default_limits(&lim);
	int stats = 0;
	long passes = 0;
	const char *file = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--ports") == 0 && i + 1 < argc) {
			if (parse_ports(argv[++i], &lim) < 0) {
				fprintf(stderr, "msgs_dump: bad --ports list: %s\n", argv[i]);
				return 1;
			}
		} else if (strcmp(argv[i], "--stats") == 0) {
			stats = 1;
		} else if (strcmp(argv[i], "--bench") == 0 && i + 1 < argc) {
			passes = strtol(argv[++i], NULL, 10);
			if (passes <= 0) {
				fprintf(stderr, "msgs_dump: bad --bench count\n");
				return 1;
			}
		} else if (argv[i][0] != '-' && !file) {
			file = argv[i];
		} else {
			fprintf(stderr, "usage: msgs_dump [--ports 53,5353] [--stats] [--bench N] FILE\n");
			return 1;
		}
	}
	if (!file) {
		fprintf(stderr, "usage: msgs_dump [--ports 53,5353] [--stats] [--bench N] FILE\n");
		return 1;
	}
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, err);
	if (!p) {
		fprintf(stderr, "msgs_dump: %s\n", err);
		return 1;
	}
	int dlt = pcap_datalink(p);

	if (passes) {
		size_t n = 0, cap = 1024;
		struct frame *fr = malloc(cap * sizeof *fr);
		struct pcap_pkthdr *h;
		const u_char *data;
		while (fr && pcap_next_ex(p, &h, &data) == 1) {
			if (n == cap) {
				struct frame *nf = realloc(fr, (cap *= 2) * sizeof *fr);
				if (!nf)
					break;
				fr = nf;
			}
			fr[n].ts = (uint64_t)h->ts.tv_sec * 1000000000 + (uint64_t)h->ts.tv_usec;
			fr[n].caplen = h->caplen;
			fr[n].wire_len = h->len;
			fr[n].data = malloc(h->caplen ? h->caplen : 1);
			if (!fr[n].data)
				break;
			memcpy(fr[n].data, data, h->caplen);
			n++;
		}
		pcap_close(p);
		struct bench_ctx b = { 0, 0 };
		uint64_t best = UINT64_MAX;
		for (long k = 0; k < passes; k++) {
			struct netdecode *nd = netdecode_new(&lim, count_msg, &b);
			if (!nd)
				return 1;
			uint64_t t0 = now_ns();
			for (size_t i = 0; i < n; i++)
				netdecode_frame(nd, dlt, fr[i].ts, fr[i].data, fr[i].caplen, fr[i].wire_len);
			netdecode_finish(nd);
			uint64_t t = now_ns() - t0;
			if (t < best)
				best = t;
			netdecode_free(nd);
		}
		printf("{\"frames\":%zu,\"messages_per_pass\":%llu,\"best_ns\":%llu,"
		       "\"frames_per_s\":%.0f,\"checksum\":%llu}\n",
		       n, (unsigned long long)(b.msgs / (uint64_t)passes), (unsigned long long)best,
		       best ? (double)n * 1e9 / (double)best : 0.0, (unsigned long long)b.sum);
		for (size_t i = 0; i < n; i++)
			free(fr[i].data);
		free(fr);
		return 0;
	}

	struct netdecode *nd = netdecode_new(&lim, print_msg, NULL);
	if (!nd) {
		fprintf(stderr, "msgs_dump: out of memory\n");
		return 1;
	}
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc;
	while ((rc = pcap_next_ex(p, &h, &data)) == 1)
		netdecode_frame(nd, dlt, (uint64_t)h->ts.tv_sec * 1000000000 + (uint64_t)h->ts.tv_usec,
				data, h->caplen, h->len);
	int status = 0;
	if (rc == PCAP_ERROR) {
		fprintf(stderr, "msgs_dump: %s: %s\n", file, pcap_geterr(p));
		status = 2;
	}
	netdecode_finish(nd);
	if (stats)
		print_stats(nd);
	netdecode_free(nd);
	pcap_close(p);
	return status;
}
