/*
 * flood_pcap - write a large capture of DNS queries fast (the Python
 * generator needs minutes for millions of packets).
 *
 *   flood_pcap OUT.pcap N [--names D] [--answer-every K] [--qps Q]
 *
 * N UDP/IPv4 queries for A records, from distinct client ports, 10 µs apart
 * (or --qps), for names q<i mod D>.flood.example (D defaults to N: all
 * distinct).  With --answer-every K, every K-th query gets a response with
 * one A record 1 ms later.  Prints {"queries":N,"responses":R,"names":D} on
 * stderr.  Deterministic.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)(p[n - 1] << 8);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Ethernet + IPv4 + UDP + DNS into f; returns the frame length. */
static size_t frame(uint8_t *f, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
		    const uint8_t *dns, size_t dlen)
{
	static const uint8_t mac[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
	memcpy(f, mac, 12);
	put16(f + 12, 0x0800);
	uint8_t *ip = f + 14;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + 8 + dlen));
	ip[8] = 64;
	ip[9] = 17;
	uint32_t s = htonl(src), d = htonl(dst);
	memcpy(ip + 12, &s, 4);
	memcpy(ip + 16, &d, 4);
	put16(ip + 10, csum(ip, 20));
	uint8_t *udp = ip + 20;
	put16(udp, sport);
	put16(udp + 2, dport);
	put16(udp + 4, (uint16_t)(8 + dlen));
	put16(udp + 6, 0); /* no checksum: allowed for IPv4 */
	memcpy(udp + 8, dns, dlen);
	return 14 + 20 + 8 + dlen;
}

static size_t dns_msg(uint8_t *m, uint16_t id, int response, uint64_t name_no, uint32_t addr)
{
	memset(m, 0, 12);
	put16(m, id);
	put16(m + 2, response ? 0x8180 : 0x0100);
	put16(m + 4, 1);
	put16(m + 6, response ? 1 : 0);
	char label[24];
	int n = snprintf(label, sizeof label, "q%llu", (unsigned long long)name_no);
	size_t off = 12;
	m[off++] = (uint8_t)n;
	memcpy(m + off, label, (size_t)n);
	off += (size_t)n;
	memcpy(m + off, "\005flood\007example\000", 15);
	off += 15;
	put16(m + off, 1);
	put16(m + off + 2, 1);
	off += 4;
	if (response) {
		put16(m + off, 0xc00c);
		put16(m + off + 2, 1);
		put16(m + off + 4, 1);
		memcpy(m + off + 6, "\0\0\x01\x2c", 4);
		put16(m + off + 10, 4);
		uint32_t a = htonl(addr);
		memcpy(m + off + 12, &a, 4);
		off += 16;
	}
	return off;
}

static void record(FILE *out, uint64_t ts_ns, const uint8_t *f, size_t len)
{
	uint32_t h[4] = { (uint32_t)(ts_ns / 1000000000u), (uint32_t)(ts_ns % 1000000000u / 1000u),
			  (uint32_t)len, (uint32_t)len };
	fwrite(h, sizeof h, 1, out);
	fwrite(f, len, 1, out);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: flood_pcap OUT.pcap N [--names D] [--answer-every K] [--qps Q]\n");
		return 1;
	}
	FILE *out = fopen(argv[1], "wb");
	if (!out) {
		perror(argv[1]);
		return 1;
	}
	uint64_t n = strtoull(argv[2], NULL, 10), names = n, every = 0, qps = 100000;
	for (int i = 3; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--names"))
			names = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--answer-every"))
			every = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--qps"))
			qps = strtoull(argv[i + 1], NULL, 10);
	}
	if (!names || !qps)
		return 1;
	static char buf[1 << 20];
	setvbuf(out, buf, _IOFBF, sizeof buf);
	uint32_t gh[6] = { 0xa1b2c3d4, 2 | 4u << 16, 0, 0, 65535, 1 };
	fwrite(gh, sizeof gh, 1, out);
	uint64_t t0 = 1795000000ull * 1000000000ull, step = 1000000000ull / qps, responses = 0;
	uint8_t dns[128], f[256];
	/* A response 1 ms later sits between later queries: keep it queued. */
	struct { uint64_t ts; size_t len; uint8_t f[256]; } pend[1024];
	size_t head = 0, tail = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t ts = t0 + i * step;
		while (head != tail && pend[head % 1024].ts <= ts) {
			record(out, pend[head % 1024].ts, pend[head % 1024].f, pend[head % 1024].len);
			head++;
		}
		uint32_t cli = 0x0a000000u | (uint32_t)(i / 60000 % 0xffffff);
		uint16_t port = (uint16_t)(1024 + i % 60000);
		size_t dl = dns_msg(dns, (uint16_t)(i * 2654435761u), 0, i % names, 0);
		record(out, ts, f, frame(f, cli, 0xc0000235u, port, 53, dns, dl));
		if (every && i % every == 0) {
			dl = dns_msg(dns, (uint16_t)(i * 2654435761u), 1, i % names, 0xc6336400u | (uint32_t)(i & 0xff));
			pend[tail % 1024].ts = ts + 1000000;
			pend[tail % 1024].len = frame(pend[tail % 1024].f, 0xc0000235u, cli, 53, port, dns, dl);
			tail++;
			responses++;
		}
	}
	while (head != tail) {
		record(out, pend[head % 1024].ts, pend[head % 1024].f, pend[head % 1024].len);
		head++;
	}
	if (fclose(out) != 0) {
		perror(argv[1]);
		return 1;
	}
	fprintf(stderr, "{\"queries\": %llu, \"responses\": %llu, \"names\": %llu}\n",
		(unsigned long long)n, (unsigned long long)responses, (unsigned long long)names);
	return 0;
}
