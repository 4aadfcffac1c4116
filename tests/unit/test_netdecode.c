/*
 * test_netdecode.c - netdecode on frames built here byte by byte: link
 * types, IPv4 options, IPv6 extension headers, UDP checks, IP fragment
 * reassembly (order, overlap, duplicates, timeout, memory cap), TCP
 * reassembly (segmentation, pipelining, reordering, retransmission,
 * mid-stream starts, gaps, RST, idle timeout, sequence wrap, flow and memory
 * caps) and truncated captures.  Every test checks exact message contents
 * and counters.
 */
#include "../../decoded/netdecode.h"

#include <check.h>
#include <pcap/dlt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC 1000000000ull

/* ---- what the callback received --------------------------------------- */

struct got_msg {
	struct pkt_meta m;
	size_t len;
	uint8_t *data;
};

struct got {
	int n;
	struct got_msg msg[512];
};

static void on_msg(void *ctx, const struct pkt_meta *m, const uint8_t *dns, size_t len)
{
	struct got *g = ctx;
	ck_assert_int_lt(g->n, 512);
	struct got_msg *x = &g->msg[g->n++];
	x->m = *m;
	x->len = len;
	x->data = malloc(len);
	ck_assert_ptr_nonnull(x->data);
	memcpy(x->data, dns, len);
}

static void got_free(struct got *g)
{
	for (int i = 0; i < g->n; i++)
		free(g->msg[i].data);
	g->n = 0;
}

static uint16_t msg_id(const struct got *g, int i)
{
	ck_assert_uint_ge(g->msg[i].len, 2);
	return (uint16_t)(g->msg[i].data[0] << 8 | g->msg[i].data[1]);
}

/* ---- byte builders ----------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* A well-formed DNS message: one question for `name`, `answers` A records.
 * Returns its length. */
static size_t dns_build(uint8_t *out, uint16_t id, int qr, const char *name, int answers)
{
	put16(out, id);
	put16(out + 2, (uint16_t)(qr ? 0x8180 : 0x0100));
	put16(out + 4, 1);
	put16(out + 6, (uint16_t)answers);
	put16(out + 8, 0);
	put16(out + 10, 0);
	size_t n = 12;
	const char *s = name;
	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		out[n++] = (uint8_t)l;
		memcpy(out + n, s, l);
		n += l;
		s += l + (dot ? 1 : 0);
	}
	out[n++] = 0;
	put16(out + n, 1);
	put16(out + n + 2, 1);
	n += 4;
	for (int a = 0; a < answers; a++) {
		put16(out + n, 0xc00c);
		put16(out + n + 2, 1);
		put16(out + n + 4, 1);
		put32(out + n + 6, 300);
		put16(out + n + 10, 4);
		put32(out + n + 12, 0xc0000200u + (uint32_t)a);
		n += 16;
	}
	return n;
}

/* DNS over TCP: 2-byte length, then the message. */
static size_t dns_tcp(uint8_t *out, uint16_t id, int qr, const char *name, int answers)
{
	size_t n = dns_build(out + 2, id, qr, name, answers);
	put16(out, (uint16_t)n);
	return n + 2;
}

static size_t udp_build(uint8_t *out, uint16_t sport, uint16_t dport, const uint8_t *pl, size_t n)
{
	put16(out, sport);
	put16(out + 2, dport);
	put16(out + 4, (uint16_t)(8 + n));
	put16(out + 6, 0);
	memcpy(out + 8, pl, n);
	return 8 + n;
}

static size_t tcp_build(uint8_t *out, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
			uint8_t flags, const uint8_t *pl, size_t n)
{
	memset(out, 0, 20);
	put16(out, sport);
	put16(out + 2, dport);
	put32(out + 4, seq);
	put32(out + 8, ack);
	out[12] = 5 << 4;
	out[13] = flags;
	put16(out + 14, 65535);
	if (n)
		memcpy(out + 20, pl, n);
	return 20 + n;
}

struct ip4o {
	int opt_words; /* IPv4 option words (IHL - 5) */
	uint16_t id;
	uint16_t frag; /* flags and offset field */
	int total; /* total length to write, when nonzero */
};

static const uint8_t C4[4] = { 10, 0, 0, 1 }, S4[4] = { 192, 0, 2, 53 };
static const uint8_t C6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t S6[16] = { 0x20, 0x01, 0x0d, 0xb8, [14] = 0x53, [15] = 0x53 };

static size_t ip4_wrap(uint8_t *out, const uint8_t *src, const uint8_t *dst, uint8_t proto,
		       const uint8_t *l4, size_t n, const struct ip4o *o)
{
	static const struct ip4o none;
	if (!o)
		o = &none;
	size_t ihl = 20 + 4 * (size_t)o->opt_words;
	memset(out, 0, ihl);
	out[0] = (uint8_t)(0x40 | (ihl / 4));
	put16(out + 2, (uint16_t)(o->total ? o->total : (int)(ihl + n)));
	put16(out + 4, o->id);
	put16(out + 6, o->frag);
	out[8] = 64;
	out[9] = proto;
	memcpy(out + 12, src, 4);
	memcpy(out + 16, dst, 4);
	for (size_t k = 20; k < ihl; k++)
		out[k] = 1; /* NOP options */
	memcpy(out + ihl, l4, n);
	return ihl + n;
}

/* ext: the extension header chain (already linked), next: first header. */
static size_t ip6_wrap(uint8_t *out, const uint8_t *src, const uint8_t *dst, uint8_t next,
		       const uint8_t *ext, size_t extlen, const uint8_t *l4, size_t n)
{
	memset(out, 0, 40);
	out[0] = 0x60;
	put16(out + 4, (uint16_t)(extlen + n));
	out[6] = next;
	out[7] = 64;
	memcpy(out + 8, src, 16);
	memcpy(out + 24, dst, 16);
	if (extlen)
		memcpy(out + 40, ext, extlen);
	memcpy(out + 40 + extlen, l4, n);
	return 40 + extlen + n;
}

static size_t eth_wrap(uint8_t *out, uint16_t ethertype, const uint16_t *tags, int ntags,
		       const uint8_t *ip, size_t n)
{
	memset(out, 0, 12);
	out[0] = 0x02;
	out[6] = 0x02;
	size_t off = 12;
	for (int t = 0; t < ntags; t++) {
		put16(out + off, t == 0 ? 0x88a8 : 0x8100);
		put16(out + off + 2, tags[t]);
		off += 4;
	}
	if (ntags == 1)
		put16(out + 12, 0x8100);
	put16(out + off, ethertype);
	memcpy(out + off + 2, ip, n);
	return off + 2 + n;
}

static struct netdecode *nd_new(struct got *g, const struct netdecode_limits *l)
{
	struct netdecode_limits def;
	if (!l) {
		netdecode_default_limits(&def);
		l = &def;
	}
	memset(g, 0, sizeof *g);
	struct netdecode *nd = netdecode_new(l, on_msg, g);
	ck_assert_ptr_nonnull(nd);
	return nd;
}

static void raw(struct netdecode *nd, uint64_t ts, const uint8_t *ip, size_t n)
{
	netdecode_frame(nd, DLT_RAW, ts, ip, n, (uint32_t)n);
}

/* One UDP/IPv4 DNS packet from the client to the server, as raw IP. */
static size_t udp4_pkt(uint8_t *out, uint16_t id, int qr, uint16_t sport, uint16_t dport)
{
	uint8_t dns[512], l4[600];
	size_t n = dns_build(dns, id, qr, "www.example.com", qr ? 2 : 0);
	size_t m = udp_build(l4, sport, dport, dns, n);
	return ip4_wrap(out, qr ? S4 : C4, qr ? C4 : S4, 17, l4, m, NULL);
}

/* ---- link layer -------------------------------------------------------- */

START_TEST(link_types)
{
	struct got g;
	struct netdecode *nd = nd_new(&g, NULL);
	uint8_t ip[700], f[800], dns[100], l4[200];
	size_t in = udp4_pkt(ip, 0x1234, 0, 40000, 53);
	size_t dn = dns_build(dns, 0x6666, 0, "v6.example", 0);
	size_t l4n = udp_build(l4, 40001, 53, dns, dn);
	uint8_t ip6[300];
	size_t i6 = ip6_wrap(ip6, C6, S6, 17, NULL, 0, l4, l4n);
	size_t n;

	/* Ethernet, untagged */
	n = eth_wrap(f, 0x0800, NULL, 0, ip, in);
	netdecode_frame(nd, DLT_EN10MB, 1, f, n, (uint32_t)n);
	/* 802.1Q */
	uint16_t tag = 11;
	n = eth_wrap(f, 0x0800, &tag, 1, ip, in);
	netdecode_frame(nd, DLT_EN10MB, 2, f, n, (uint32_t)n);
	/* QinQ: the outer id is kept */
	uint16_t tags[2] = { 100, 200 };
	n = eth_wrap(f, 0x86dd, tags, 2, ip6, i6);
	netdecode_frame(nd, DLT_EN10MB, 3, f, n, (uint32_t)n);
	/* Linux cooked v1 and v2 */
	memset(f, 0, 20);
	put16(f + 14, 0x0800);
	memcpy(f + 16, ip, in);
	netdecode_frame(nd, DLT_LINUX_SLL, 4, f, 16 + in, (uint32_t)(16 + in));
	memset(f, 0, 20);
	put16(f, 0x86dd);
	memcpy(f + 20, ip6, i6);
	netdecode_frame(nd, DLT_LINUX_SLL2, 5, f, 20 + i6, (uint32_t)(20 + i6));
	/* BSD loopback (host order) and OpenBSD loopback (network order) */
	uint8_t af[4] = { 2, 0, 0, 0 };
	memcpy(f, af, 4);
	memcpy(f + 4, ip, in);
	netdecode_frame(nd, DLT_NULL, 6, f, 4 + in, (uint32_t)(4 + in));
	uint8_t af6[4] = { 0, 0, 0, 24 };
	memcpy(f, af6, 4);
	memcpy(f + 4, ip6, i6);
	netdecode_frame(nd, DLT_LOOP, 7, f, 4 + i6, (uint32_t)(4 + i6));
	/* raw IP link types */
	netdecode_frame(nd, DLT_RAW, 8, ip6, i6, (uint32_t)i6);
	netdecode_frame(nd, DLT_IPV4, 9, ip, in, (uint32_t)in);
	netdecode_frame(nd, DLT_IPV6, 10, ip6, i6, (uint32_t)i6);
	/* PPPoE session inside a VLAN */
	uint8_t pp[800];
	memset(pp, 0, 8);
	pp[0] = 0x11;
	put16(pp + 4, (uint16_t)(in + 2));
	put16(pp + 6, 0x0021);
	memcpy(pp + 8, ip, in);
	n = eth_wrap(f, 0x8864, &tag, 1, pp, 8 + in);
	netdecode_frame(nd, DLT_EN10MB, 11, f, n, (uint32_t)n);
	/* not IP: ARP; unsupported link type; frame shorter than its link header */
	n = eth_wrap(f, 0x0806, NULL, 0, ip, in);
	netdecode_frame(nd, DLT_EN10MB, 12, f, n, (uint32_t)n);
	netdecode_frame(nd, DLT_IEEE802_11, 13, f, n, (uint32_t)n);
	netdecode_frame(nd, DLT_EN10MB, 14, f, 10, 10);

	ck_assert_int_eq(g.n, 11);
	static const struct {
		uint16_t id;
		uint8_t version, has_vlan;
		uint16_t vlan;
	} want[11] = { { 0x1234, 4, 0, 0 }, { 0x1234, 4, 1, 11 }, { 0x6666, 6, 1, 100 },
		       { 0x1234, 4, 0, 0 }, { 0x6666, 6, 0, 0 },     { 0x1234, 4, 0, 0 },
		       { 0x6666, 6, 0, 0 }, { 0x6666, 6, 0, 0 },     { 0x1234, 4, 0, 0 },
		       { 0x6666, 6, 0, 0 }, { 0x1234, 4, 1, 11 } };
	for (int i = 0; i < 11; i++) {
		ck_assert_uint_eq(msg_id(&g, i), want[i].id);
		ck_assert_uint_eq(g.msg[i].m.ip_version, want[i].version);
		ck_assert_uint_eq(g.msg[i].m.has_vlan, want[i].has_vlan);
		ck_assert_uint_eq(g.msg[i].m.vlan, want[i].vlan);
		ck_assert_uint_eq(g.msg[i].m.ts_ns, (uint64_t)i + 1);
		ck_assert_uint_eq(g.msg[i].m.transport, 17);
	}
	ck_assert_mem_eq(g.msg[0].m.src, C4, 4);
	ck_assert_mem_eq(g.msg[0].m.dst, S4, 4);
	ck_assert_uint_eq(g.msg[0].m.sport, 40000);
	ck_assert_uint_eq(g.msg[0].m.dport, 53);
	ck_assert_mem_eq(g.msg[2].m.src, C6, 16);
	ck_assert_mem_eq(g.msg[2].m.dst, S6, 16);
	const struct netdecode_stats *st = netdecode_stats(nd);
	ck_assert_uint_eq(st->frames, 14);
	ck_assert_uint_eq(st->not_ip, 2);
	ck_assert_uint_eq(st->link_truncated, 1);
	ck_assert_uint_eq(st->udp_messages, 11);
	netdecode_free(nd);
	got_free(&g);
}
END_TEST

/* ---- IPv4 / IPv6 / UDP ------------------------------------------------ */

START_TEST(ipv4_options_and_lengths)
{
	struct got g;
	struct netdecode *nd = nd_new(&g, NULL);
	uint8_t dns[200], l4[300], ip[400], f[500];
	size_t dn = dns_build(dns, 0x0a0b, 0, "opt.example", 0);
	size_t l4n = udp_build(l4, 1111, 53, dns, dn);

	/* 40 bytes of options (IHL 15) */
	struct ip4o o = { .opt_words = 10 };
	size_t n = ip4_wrap(ip, C4, S4, 17, l4, l4n, &o);
	raw(nd, 1, ip, n);
	ck_assert_int_eq(g.n, 1);
	ck_assert_uint_eq(g.msg[0].len, dn);
	ck_assert_mem_eq(g.msg[0].data, dns, dn);

	/* Ethernet padding after the IP total length is not part of the message */
	n = ip4_wrap(ip, C4, S4, 17, l4, l4n, NULL);
	size_t fn = eth_wrap(f, 0x0800, NULL, 0, ip, n);
	memset(f + fn, 0xee, 20);
	netdecode_frame(nd, DLT_EN10MB, 2, f, fn + 20, (uint32_t)(fn + 20));
	ck_assert_int_eq(g.n, 2);
	ck_assert_uint_eq(g.msg[1].len, dn);

	/* IHL below 5, wrong version, total length below the header */
	n = ip4_wrap(ip, C4, S4, 17, l4, l4n, NULL);
	ip[0] = 0x44;
	raw(nd, 3, ip, n);
	ip[0] = 0x45;
	netdecode_frame(nd, DLT_IPV4, 4, ip, 19, 19); /* shorter than a header */
	struct ip4o small = { .total = 16 };
	n = ip4_wrap(ip, C4, S4, 17, l4, l4n, &small);
	raw(nd, 5, ip, n);
	/* total length above the frame: what was captured is used */
	struct ip4o big = { .total = (int)(20 + l4n + 1) };
	n = ip4_wrap(ip, C4, S4, 17, l4, l4n, &big);
	raw(nd, 6, ip, n);
	ck_assert_int_eq(g.n, 3);
	ck_assert_uint_eq(g.msg[2].len, dn);
	/* IHL past the captured bytes */
	n = ip4_wrap(ip, C4, S4, 17, l4, l4n, &o);
	raw(nd, 7, ip, 30);

	const struct netdecode_stats *st = netdecode_stats(nd);
	ck_assert_uint_eq(st->ip_bad, 2);
	ck_assert_uint_eq(st->ip_truncated, 3);
	ck_assert_int_eq(g.n, 3);
	netdecode_free(nd);
	got_free(&g);
}
END_TEST

START_TEST(ipv6_extension_headers)
{
	struct got g;
	struct netdecode *nd = nd_new(&g, NULL);
	uint8_t dns[200], l4[300], ip[600], ext[64];
	size_t dn = dns_build(dns, 0x0606, 1, "ext.example", 1);
	size_t l4n = udp_build(l4, 53, 2222, dns, dn);

	/* hop-by-hop (8) -> routing (24) -> destination options (16) -> UDP */
	memset(ext, 0, sizeof ext);
	ext[0] = 43, ext[1] = 0;
	ext[8] = 60, ext[9] = 2;
	ext[32] = 17, ext[33] = 1;
	size_t n = ip6_wrap(ip, S6, C6, 0, ext, 48, l4, l4n);
	raw(nd, 1, ip, n);
	ck_assert_int_eq(g.n, 1);
	ck_assert_uint_eq(g.msg[0].len, dn);
	ck_assert_mem_eq(g.msg[0].data, dns, dn);
	ck_assert_uint_eq(g.msg[0].m.sport, 53);
	ck_assert_uint_eq(g.msg[0].m.dport, 2222);

	/* ESP, AH and an unknown header end the walk: not DNS */
	uint8_t esp[8] = { 17, 0 };
	n = ip6_wrap(ip, S6, C6, 50, esp, 8, l4, l4n);
	raw(nd, 2, ip, n);
	n = ip6_wrap(ip, S6, C6, 51, esp, 8, l4, l4n);
	raw(nd, 3, ip, n);
	n = ip6_wrap(ip, S6, C6, 135, esp, 8, l4, l4n);
	raw(nd, 4, ip, n);
	/* an extension header longer than the packet */
	uint8_t longext[8] = { 17, 200 };
	n = ip6_wrap(ip, S6, C6, 60, longext, 8, l4, l4n);
	raw(nd, 5, ip, n);
	/* padding after the payload length is ignored */
	n = ip6_wrap(ip, S6, C6, 17, NULL, 0, l4, l4n);
	ip[n] = 0xff;
	raw(nd, 6, ip, n + 1);
	ck_assert_int_eq(g.n, 2);
	ck_assert_uint_eq(g.msg[1].len, dn);
	/* payload length 0 (jumbogram) */
	put16(ip + 4, 0);
	raw(nd, 7, ip, n);

	const struct netdecode_stats *st = netdecode_stats(nd);
	ck_assert_uint_eq(st->not_dns_port, 4);
	ck_assert_uint_eq(st->ip_bad, 1);
	ck_assert_int_eq(g.n, 2);
	netdecode_free(nd);
	got_free(&g);
}
END_TEST

START_TEST(udp_checks_and_ports)
{
	struct netdecode_limits l;
	netdecode_default_limits(&l);
	l.ports[0] = 53;
	l.ports[1] = 5353;
	l.ports[2] = 0;
	struct got g;
	struct netdecode *nd = nd_new(&g, &l);
	uint8_t ip[700];
	size_t n;

	n = udp4_pkt(ip, 1, 0, 5353, 5353);
	raw(nd, 1, ip, n);
	n = udp4_pkt(ip, 2, 1, 53, 40000); /* source port 53 is enough */
	raw(nd, 2, ip, n);
	n = udp4_pkt(ip, 3, 0, 40000, 8053); /* not configured */
	raw(nd, 3, ip, n);
	ck_assert_int_eq(g.n, 2);
	ck_assert_uint_eq(msg_id(&g, 0), 1);
	ck_assert_uint_eq(msg_id(&g, 1), 2);

	/* UDP length below 8, above the IP payload, exactly 8 (empty) */
	n = udp4_pkt(ip, 4, 0, 40000, 53);
	put16(ip + 24, 7);
	raw(nd, 4, ip, n);
	put16(ip + 24, (uint16_t)(n - 20 + 1));
	raw(nd, 5, ip, n);
	put16(ip + 24, 8);
	raw(nd, 6, ip, n);
	/* UDP length shorter than the IP payload: the message ends there */
	put16(ip + 24, 8 + 20);
	raw(nd, 7, ip, n);
	ck_assert_int_eq(g.n, 3);
	ck_assert_uint_eq(g.msg[2].len, 20);
	/* ICMP port unreachable quoting a DNS query: never a message */
	uint8_t icmp[800], q[700];
	size_t qn = udp4_pkt(q, 5, 0, 40000, 53);
	icmp[0] = 3, icmp[1] = 3;
	memset(icmp + 2, 0, 6);
	memcpy(icmp + 8, q, qn);
	n = ip4_wrap(ip, S4, C4, 1, icmp, 8 + qn, NULL);
	raw(nd, 8, ip, n);
	/* ICMPv6 destination unreachable quoting one */
	uint8_t q6[700], l4[600], dns[200];
	size_t dn = dns_build(dns, 6, 0, "x.example", 0);
	size_t l4n = udp_build(l4, 40000, 53, dns, dn);
	size_t q6n = ip6_wrap(q6, C6, S6, 17, NULL, 0, l4, l4n);
	memset(icmp, 0, 8);
	icmp[0] = 1;
	memcpy(icmp + 8, q6, q6n);
	n = ip6_wrap(ip, S6, C6, 58, NULL, 0, icmp, 8 + q6n);
	raw(nd, 9, ip, n);

	const struct netdecode_stats *st = netdecode_stats(nd);
	ck_assert_int_eq(g.n, 3);
	ck_assert_uint_eq(st->udp_bad, 3);
	ck_assert_uint_eq(st->not_dns_port, 3);
	ck_assert_uint_eq(st->udp_messages, 3);
	netdecode_free(nd);
	got_free(&g);
}
END_TEST

START_TEST(truncated_captures)
{
	struct got g;
	struct netdecode *nd = nd_new(&g, NULL);
	uint8_t ip[700], f[800];
	size_t in = udp4_pkt(ip, 0x7777, 1, 53, 40000);
	size_t n = eth_wrap(f, 0x0800, NULL, 0, ip, in);

	/* snaplen 200: the captured part of the message is passed on */
	netdecode_frame(nd, DLT_EN10MB, 1, f, 14 + 20 + 8 + 30, (uint32_t)n);
	ck_assert_int_eq(g.n, 1);
	ck_assert_uint_eq(g.msg[0].len, 30);
	ck_assert_uint_eq(msg_id(&g, 0), 0x7777);
	/* cut inside the DNS ID: nothing */
	netdecode_frame(nd, DLT_EN10MB, 2, f, 14 + 20 + 8 + 3, (uint32_t)n);
	ck_assert_int_eq(g.n, 1);
	/* every shorter cut of every kind of frame is survived; the UDP ones
	 * holding at least the ID and flags give the captured part */
	for (size_t cut = 0; cut < n; cut++)
		netdecode_frame(nd, DLT_EN10MB, 3, f, cut, (uint32_t)n);
	ck_assert_int_eq(g.n, 1 + (int)(n - 46));
	for (int i = 1; i < g.n; i++) {
		ck_assert_uint_eq(msg_id(&g, i), 0x7777);
		ck_assert_uint_eq(g.msg[i].len, 46 + (size_t)i - 1 - 42);
	}
	int udp_msgs = g.n;
	uint8_t seg[800], t[800], ip6[900];
	uint8_t dns[300];
	size_t dn = dns_tcp(dns, 0x0909, 0, "tcp.example", 3);
	size_t sn = tcp_build(seg, 40000, 53, 1000, 1, 0x18, dns, dn);
	size_t tn = ip4_wrap(t, C4, S4, 6, seg, sn, NULL);
	for (size_t cut = 0; cut < tn; cut++)
		netdecode_frame(nd, DLT_RAW, 4, t, cut, (uint32_t)tn);
	size_t t6 = ip6_wrap(ip6, C6, S6, 6, NULL, 0, seg, sn);
	for (size_t cut = 0; cut < t6; cut++)
		netdecode_frame(nd, DLT_IPV6, 5, ip6, cut, (uint32_t)t6);
	/* the cut segments overlap; all lack the last byte: no message yet */
	ck_assert_int_eq(g.n, udp_msgs);
	netdecode_frame(nd, DLT_RAW, 6, t, tn, (uint32_t)tn);
	ck_assert_int_eq(g.n, udp_msgs + 1);
	ck_assert_uint_eq(msg_id(&g, udp_msgs), 0x0909);
	ck_assert_mem_eq(g.msg[udp_msgs].data, dns + 2, dn - 2);
	netdecode_finish(nd);
	ck_assert_int_eq(g.n, udp_msgs + 1);
	const struct netdecode_stats *st = netdecode_stats(nd);
	ck_assert_uint_eq(st->frames, 3 + n + tn + t6);
	ck_assert_uint_eq(st->tcp_resync, 1);
	ck_assert_uint_eq(st->tcp_bytes_discarded, dn - 1); /* the IPv6 flow's bytes */
	netdecode_free(nd);
	got_free(&g);
}
END_TEST

START_TEST(cut_udp_lengths)
{
	struct got g;
	struct netdecode *nd = nd_new(&g, NULL);
	uint8_t dns[4000], l4[4100], ip[4200];
	size_t dn = dns_build(dns, 0x5a5a, 1, "cut.example", 100);
	size_t l4n = udp_build(l4, 53, 6000, dns, dn);
	/* a first fragment (MF) claiming 1500 bytes, captured to 120: the UDP
	 * length covers the whole datagram, the captured part is used */
	struct ip4o o = { .id = 77, .frag = 0x2000, .total = 1500 };
	ip4_wrap(ip, S4, C4, 17, l4, 1480, &o);
	netdecode_frame(nd, DLT_RAW, 1, ip, 120, 120);
	ck_assert_int_eq(g.n, 1);
	ck_assert_uint_eq(g.msg[0].len, 120 - 28);
	ck_assert_mem_eq(g.msg[0].data, dns, 120 - 28);
	/* the same datagram unfragmented, cut by snaplen: likewise */
	struct ip4o whole = { 0 };
	size_t n = ip4_wrap(ip, S4, C4, 17, l4, l4n, &whole);
	netdecode_frame(nd, DLT_RAW, 2, ip, 120, (uint32_t)n);
	ck_assert_int_eq(g.n, 2);
	ck_assert_uint_eq(g.msg[1].len, 120 - 28);
	/* cut, and the UDP length exceeds what the IP header claims: bad */
	put16(ip + 24, (uint16_t)(l4n + 1));
	netdecode_frame(nd, DLT_RAW, 3, ip, 120, (uint32_t)n);
	/* not cut, UDP length beyond the IP payload (tcpdump rtp-seg-fault) */
	put16(ip + 24, (uint16_t)(l4n + 1));
	netdecode_frame(nd, DLT_RAW, 4, ip, n, (uint32_t)n);
	ck_assert_int_eq(g.n, 2);
	const struct netdecode_stats *st = netdecode_stats(nd);
	ck_assert_uint_eq(st->udp_bad, 2);
	ck_assert_uint_eq(st->ip_truncated, 3);
	ck_assert_uint_eq(st->frag_fragments, 1);
	ck_assert_uint_eq(st->frag_pending, 0);
	netdecode_free(nd);
	got_free(&g);
}
END_TEST

/* ---- IP fragments ------------------------------------------------------ */

/* Splits a UDP datagram carrying a DNS message into IPv4 fragments of `step`
 * bytes (a multiple of 8); frag[i]/len[i] receive the packets. */
static int frags4(uint8_t frag[][1600], size_t *len, uint16_t id, const uint8_t *l4, size_t n,
		  size_t step)
{
	int k = 0;
	for (size_t off = 0; off < n; off += step, k++) {
		size_t part = n - off < step ? n - off : step;
		struct ip4o o = { .id = id, .frag = (uint16_t)(off / 8 | (off + part < n ? 0x2000 : 0)) };
		len[k] = ip4_wrap(frag[k], C4, S4, 17, l4 + off, part, &o);
	}
	return k;
}

static size_t big_udp(uint8_t *l4, uint16_t id, int answers, uint16_t sport)
{
	uint8_t dns[4000];
	size_t dn = dns_build(dns, id, 1, "frag.example", answers);
	return udp_build(l4, sport, 53, dns, dn);
}

START_TEST(frag4_orders)
{
	struct got g;
	struct netdecode *nd = nd_new(&g, NULL);
	static uint8_t fr[16][1600];
	size_t len[16], l4n;
	uint8_t l4[4000];
	l4n = big_udp(l4, 0xf001, 40, 4444); /* 8 + 12 + 18 + 640 bytes */

	int k = frags4(fr, len, 1, l4, l4n, 104);
	ck_assert_int_eq(k, 7);
	for (int i = 0; i < k; i++) /* in order */
		raw(nd, 1, fr[i], len[i]);
	ck_assert_int_eq(g.n, 1);
	ck_assert_uint_eq(g.msg[0].len, l4n - 8);
	ck_assert_mem_eq(g.msg[0].data, l4 + 8, l4n - 8);

	k = frags4(fr, len, 2, l4, l4n, 104);
	for (int i = k - 1; i >= 0; i--) /* reversed */
		raw(nd, 2, fr[i], len[i]);
	ck_assert_int_eq(g.n, 2);
	ck_assert_mem_eq(g.msg[1].data, l4 + 8, l4n - 8);

	k = frags4(fr, len, 3, l4, l4n, 104);
	int order[] = { 3, 0, 3, 6, 1, 1, 5, 2, 4 }; /* shuffled, with duplicates */
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
		raw(nd, 3, fr[order[i]], len[order[i]]);
	ck_assert_int_eq(g.n, 3);
	ck_assert_mem_eq(g.msg[2].data, l4 + 8, l4n - 8);
	/* the duplicate of the last fragment after completion starts a new
	 * datagram, which times out at the end */
	netdecode_finish(nd);

	const struct netdecode_stats *st = netdecode_stats(nd);
	ck_assert_uint_eq(st->frag_fragments, 7 + 7 + 9);
	ck_assert_uint_eq(st->frag_reassembled, 3);
	ck_assert_uint_eq(st->frag_overlap_conflict, 0);
	ck_assert_uint_eq(st->frag_timeout, 0);
	ck_assert_uint_eq(st->frag_pending, 0);
	ck_assert_uint_eq(st->frag_bytes, 0);
	netdecode_free(nd);
	got_free(&g);
}
END_TEST

START_TEST(frag4_overlap_first_wins)
{
	struct got g;
	struct netdecode *nd = nd_new(&g, NULL);
	uint8_t l4[4000], alt[4000], a[1600], b[1600], c[1600];
	size_t l4n = big_udp(l4, 0xf002, 10, 4445); /* 8 + 12 + 18 + 160 = 198 */
	memcpy(alt, l4, l4n);
	memset(alt + 100, 0xAA, 40); /* a conflicting copy of bytes 100..139 */

	/* [0,112) original, then [96,160) conflicting, then [160,end) */
	struct ip4o o1 = { .id = 9, .frag = 0x2000 };
	size_t n1 = ip4_wrap(a, C4, S4, 17, l4, 112, &o1);
	struct ip4o o2 = { .id = 9, .frag = 0x2000 | 96 / 8 };
	size_t n2 = ip4_wrap(b, C4, S4, 17, alt + 96, 64, &o2);
	struct ip4o o3 = { .id = 9, .frag = 160 / 8 };
	size_t n3 = ip4_wrap(c, C4, S4, 17, l4 + 160, l4n - 160, &o3);
	raw(nd, 1, a, n1);
	raw(nd, 2, b, n2);
	raw(nd, 3, c, n3);
	ck_assert_int_eq(g.n, 1);
	uint8_t want[4000];
	memcpy(want, l4, l4n);
	memcpy(want + 112, alt + 112, 48); /* new bytes of the second fragment are used */
	ck_assert_mem_eq(g.msg[0].data, want + 8, l4n - 8);
	ck_assert_uint_eq(netdecode_stats(nd)->frag_overlap_conflict, 1);

	/* identical overlap: no conflict */
	o1.id = o2.id = o3.id = 10;
	n1 = ip4_wrap(a, C4, S4, 17, l4, 112, &o1);
	n2 = ip4_wrap(b, C4, S4, 17, l4 + 96, 64, &o2);
	n3 = ip4_wrap(c, C4, S4, 17, l4 + 160, l4n - 160, &o3);
	raw(nd, 4, c, n3);
	raw(nd, 5, b, n2);
	raw(nd, 6, a, n1);
	ck_assert_int_eq(g.n, 2);
	ck_assert_mem_eq(g.msg[1].data, l4 + 8, l4n - 8);
	ck_assert_uint_eq(netdecode_stats(nd)->frag_overlap_conflict, 1);
	netdecode_free(nd);
	got_free(&g);
}
END_TEST

START_TEST(frag4_missing_times_out)
{
	struct netdecode_limits l;
	netdecode_default_limits(&l);
	l.frag_timeout_ns = 2 * SEC;
	struct got g;
	struct netdecode *nd = nd_new(&g, &l);
	static uint8_t fr[16][1600];
	size_t len[16];
	uint8_t l4[4000];
	size_t l4n = big_udp(l4, 0xf003, 40, 4446);
	int k = frags4(fr, len, 7, l4, l4n, 104);
	for (int i = 0; i < k; i++)
		if (i != 4)
			raw(nd, 10 * SEC, fr[i], len[i]);
	const struct netdecode_stats *st = netdecode_stats(nd);
	ck_assert_uint_eq(st->frag_pending, 1);
	ck_assert_uint_gt(st->frag_bytes, 0);
	netdecode_expire(nd, 11 * SEC); /* not yet */
	ck_assert_uint_eq(st->frag_pending, 1);
	uint8_t ip[700];
	size_t n = udp4_pkt(ip, 1, 0, 40000, 53);
	raw(nd, 12 * SEC, ip, n); /* packet time passes the timeout */
	ck_assert_uint_eq(st->frag_timeout, 1);
	ck_assert_uint_eq(st->frag_pending, 0);
	ck_assert_uint_eq(st->frag_bytes, 0);
	/* the missing fragment alone now starts a datagram of its own */
	raw(nd, 12 * SEC, fr[4], len[4]);
	ck_assert_uint_eq(st->frag_pending, 1);
	netdecode_finish(nd);
	ck_assert_uint_eq(st->frag_timeout, 2);
	ck_assert_int_eq(g.n, 1);
	ck_assert_uint_eq(msg_id(&g, 0), 1);
	netdecode_free(nd);
	got_free(&g);
}
END_TEST

START_TEST(frag_memory_cap)
{
	struct netdecode_limits l;
	netdecode_default_limits(&l);
	l.frag_mem_max = 5000;
	struct got g;
	struct netdecode *nd = nd_new(&g, &l);
	static uint8_t fx[4][1600], fy[4][1600], fz[4][1600];
	size_t lx[4], ly[4], lz[4];
	uint8_t l4[4000];
	size_t l4n = big_udp(l4, 0xf004, 150, 4447); /* 2438 bytes: two fragments */
	ck_assert_int_eq(frags4(fx, lx, 21, l4, l4n, 1480), 2);
	ck_assert_int_eq(frags4(fy, ly, 22, l4, l4n, 1480), 2);
	ck_assert_int_eq(frags4(fz, lz, 23, l4, l4n, 1480), 2);
	raw(nd, 1, fx[0], lx[0]);
	raw(nd, 2, fy[0], ly[0]);
	const struct netdecode_stats *st = netdecode_stats(nd);
	ck_assert_uint_eq(st->frag_pending, 2);
	ck_assert_uint_le(st->frag_bytes, 5000);
	raw(nd, 3, fz[0], lz[0]); /* no room for a third: the oldest (x) goes */
	ck_assert_uint_eq(st->frag_mem_evicted, 1);
	ck_assert_uint_eq(st->frag_pending, 2);
	ck_assert_uint_le(st->frag_bytes, 5000);
	raw(nd, 4, fy[1], ly[1]);
	raw(nd, 5, fz[1], lz[1]);
	ck_assert_int_eq(g.n, 2);
	ck_assert_mem_eq(g.msg[0].data, l4 + 8, l4n - 8);
	ck_assert_mem_eq(g.msg[1].data, l4 + 8, l4n - 8);
	raw(nd, 6, fx[1], lx[1]); /* x's tail alone: pending until the end */
	netdecode_finish(nd);
	ck_assert_uint_eq(st->frag_timeout, 1);
	ck_assert_uint_eq(st->frag_bytes, 0);
	ck_assert_int_eq(g.n, 2);
	netdecode_free(nd);
	got_free(&g);
}
END_TEST

START_TEST(frag_bad_and_not_dns)
{
	struct got g;
	struct netdecode *nd = nd_new(&g, NULL);
	uint8_t l4[4000], p[1600];
	big_udp(l4, 0xf005, 10, 4448);
	/* a middle fragment whose length is not a multiple of 8 */
	struct ip4o o = { .id = 30, .frag = 0x2000 };
	size_t n = ip4_wrap(p, C4, S4, 17, l4, 100, &o);
	raw(nd, 1, p, n);
	/* a fragment reaching past 65535 */
	struct ip4o o2 = { .id = 31, .frag = 8190 };
	n = ip4_wrap(p, C4, S4, 17, l4, 100, &o2);
	raw(nd, 2, p, n);
	/* a last fragment contradicting an earlier one */
	struct ip4o a = { .id = 32, .frag = 0x2000 }, b = { .id = 32, .frag = 4 };
	n = ip4_wrap(p, C4, S4, 17, l4, 64, &a);
	raw(nd, 3, p, n);
	n = ip4_wrap(p, C4, S4, 17, l4 + 32, 16, &b); /* ends at 48 < 64 */
	raw(nd, 4, p, n);
	const struct netdecode_stats *st = netdecode_stats(nd);
	ck_assert_uint_eq(st->frag_bad, 3);
	ck_assert_uint_eq(st->frag_pending, 0);

	/* a fragmented datagram on another port: dropped at its first fragment,
	 * its other fragments are recognised and dropped too */
	static uint8_t fr[16][1600];
	size_t len[16];
	uint8_t other[4000];
	uint8_t dns[4000];
	size_t dn = dns_build(dns, 1, 1, "x", 100);
	size_t on = udp_build(other, 4000, 4001, dns, dn);
	int k = frags4(fr, len, 33, other, on, 800);
	ck_assert_int_eq(k, 3);
	raw(nd, 5, fr[1], len[1]);
	raw(nd, 6, fr[0], len[0]);
	raw(nd, 7, fr[2], len[2]);
	ck_assert_uint_eq(st->not_dns_port, 1);
	ck_assert_uint_eq(st->frag_reassembled, 0);
	ck_assert_uint_eq(st->frag_pending, 1); /* the marker, until its timeout */
	netdecode_finish(nd);
	ck_assert_uint_eq(st->frag_timeout, 0); /* a marker is not a lost datagram */
	ck_assert_int_eq(g.n, 0);
	netdecode_free(nd);
	got_free(&g);
}
END_TEST

START_TEST(frag6_reassembly)
{
	struct got g;
	struct netdecode *nd = nd_new(&g, NULL);
	uint8_t dns[4000], l4[4000], pkt[4][1700];
	size_t dn = dns_build(dns, 0x6f6f, 1, "frag6.example", 100);
	size_t l4n = udp_build(l4, 53, 5555, dns, dn);
	/* fragmentable part: destination options (8 bytes) + UDP */
	uint8_t fp[4100];
	memset(fp, 0, 8);
	fp[0] = 17;
	memcpy(fp + 8, l4, l4n);
	size_t fpn = 8 + l4n;
	size_t pn[4];
	int k = 0;
	for (size_t off = 0; off < fpn; off += 1232, k++) {
		size_t part = fpn - off < 1232 ? fpn - off : 1232;
		uint8_t fh[8] = { 60, 0 };
		put16(fh + 2, (uint16_t)(off | (off + part < fpn ? 1 : 0)));
		put32(fh + 4, 0xabcdef01);
		/* hop-by-hop before the fragment header (unfragmentable part) */
		uint8_t ext[16] = { 44, 0 };
		memcpy(ext + 8, fh, 8);
		pn[k] = ip6_wrap(pkt[k], S6, C6, 0, ext, 16, fp + off, part);
	}
	ck_assert_int_eq(k, 2);
	raw(nd, 1, pkt[1], pn[1]);
	raw(nd, 2, pkt[0], pn[0]);
	ck_assert_int_eq(g.n, 1);
	ck_assert_uint_eq(g.msg[0].len, dn);
	ck_assert_mem_eq(g.msg[0].data, dns, dn);
	ck_assert_uint_eq(g.msg[0].m.ts_ns, 2);
	ck_assert_uint_eq(g.msg[0].m.ip_version, 6);
	ck_assert_uint_eq(g.msg[0].m.dport, 5555);

	/* atomic fragment (offset 0, M = 0): a whole datagram */
	uint8_t fh[8] = { 17, 0, 0, 0, 0, 0, 0, 9 };
	uint8_t small[600];
	size_t sd = dns_build(dns, 0x6f70, 0, "atomic.example", 0);
	size_t sl = udp_build(l4, 5556, 53, dns, sd);
	size_t sn = ip6_wrap(small, C6, S6, 44, fh, 8, l4, sl);
	raw(nd, 3, small, sn);
	ck_assert_int_eq(g.n, 2);
	ck_assert_uint_eq(msg_id(&g, 1), 0x6f70);
	const struct netdecode_stats *st = netdecode_stats(nd);
	ck_assert_uint_eq(st->frag_fragments, 2);
	ck_assert_uint_eq(st->frag_reassembled, 1);
	netdecode_free(nd);
	got_free(&g);
}
END_TEST

/* ---- TCP --------------------------------------------------------------- */

struct conn {
	struct netdecode *nd;
	uint16_t cport, sport;
	uint32_t cseq, sseq; /* next sequence numbers */
	int v6;
};

/* Sends a segment; from_server selects the direction. */
static void seg(struct conn *k, uint64_t ts, int from_server, uint32_t seq, uint32_t ack,
		uint8_t flags, const uint8_t *p, size_t n)
{
	static uint8_t l4[70000 + 64], ip[70000 + 128];
	size_t ln = tcp_build(l4, from_server ? k->sport : k->cport, from_server ? k->cport : k->sport,
			      seq, ack, flags, p, n);
	size_t in;
	if (k->v6)
		in = ip6_wrap(ip, from_server ? S6 : C6, from_server ? C6 : S6, 6, NULL, 0, l4, ln);
	else
		in = ip4_wrap(ip, from_server ? S4 : C4, from_server ? C4 : S4, 6, l4, ln, NULL);
	raw(k->nd, ts, ip, in);
}

enum { F_FIN = 1, F_SYN = 2, F_RST = 4, F_PSH = 8, F_ACK = 16 };

/* SYN, SYN-ACK, ACK with the given initial sequence numbers. */
static void handshake(struct conn *k, uint64_t ts, uint32_t ciss, uint32_t siss)
{
	seg(k, ts, 0, ciss, 0, F_SYN, NULL, 0);
	seg(k, ts, 1, siss, ciss + 1, F_SYN | F_ACK, NULL, 0);
	seg(k, ts, 0, ciss + 1, siss + 1, F_ACK, NULL, 0);
	k->cseq = ciss + 1;
	k->sseq = siss + 1;
}

/* Client data in order, advancing cseq. */
static void csend(struct conn *k, uint64_t ts, const uint8_t *p, size_t n)
{
	seg(k, ts, 0, k->cseq, k->sseq, F_ACK | F_PSH, p, n);
	k->cseq += (uint32_t)n;
}

static void ssend(struct conn *k, uint64_t ts, const uint8_t *p, size_t n)
{
	seg(k, ts, 1, k->sseq, k->cseq, F_ACK | F_PSH, p, n);
	k->sseq += (uint32_t)n;
}

static struct conn conn_on(struct netdecode *nd, uint16_t cport)
{
	struct conn k = { nd, cport, 53, 0, 0, 0 };
	return k;
}

START_TEST(tcp_basic_and_close)
{
	struct got g;
	struct netdecode *nd = nd_new(&g, NULL);
	struct conn k = conn_on(nd, 33000);
	uint8_t q[300], r[600];
	size_t qn = dns_tcp(q, 0x1001, 0, "a.example", 0), rn = dns_tcp(r, 0x1001, 1, "a.example", 5);
	handshake(&k, 1, 1000, 5000);
	csend(&k, 2, q, qn);
	ssend(&k, 3, r, rn);
	const struct netdecode_stats *st = netdecode_stats(nd);
	ck_assert_uint_eq(st->tcp_flows, 1);
	seg(&k, 4, 0, k.cseq, k.sseq, F_FIN | F_ACK, NULL, 0);
	seg(&k, 5, 1, k.sseq, k.cseq + 1, F_FIN | F_ACK, NULL, 0);
	ck_assert_uint_eq(st->tcp_flows, 0); /* both FINs, nothing pending */
	seg(&k, 6, 0, k.cseq + 1, k.sseq + 1, F_ACK, NULL, 0); /* last ACK: no new flow */
	ck_assert_uint_eq(st->tcp_flows, 0);
	ck_assert_int_eq(g.n, 2);
	ck_assert_uint_eq(g.msg[0].len, qn - 2);
	ck_assert_mem_eq(g.msg[0].data, q + 2, qn - 2);
	ck_assert_uint_eq(g.msg[0].m.transport, 6);
	ck_assert_uint_eq(g.msg[0].m.sport, 33000);
	ck_assert_uint_eq(g.msg[0].m.dport, 53);
	ck_assert_uint_eq(g.msg[0].m.ts_ns, 2);
	ck_assert_mem_eq(g.msg[1].data, r + 2, rn - 2);
	ck_assert_uint_eq(g.msg[1].m.sport, 53);
	ck_assert_uint_eq(g.msg[1].m.ts_ns, 3);
	ck_assert_uint_eq(st->tcp_messages, 2);
	ck_assert_uint_eq(st->tcp_segments, 8);
	ck_assert_uint_eq(st->tcp_bytes, 0);
	ck_assert_uint_eq(st->tcp_resync, 0);
	ck_assert_uint_eq(st->tcp_bytes_discarded, 0);
	/* not a DNS port */
	struct conn o = { nd, 33001, 80, 0, 0, 0 };
	handshake(&o, 7, 1, 1);
	csend(&o, 8, q, qn);
	ck_assert_uint_eq(st->not_dns_port, 4);
	ck_assert_uint_eq(st->tcp_flows, 0);
	netdecode_free(nd);
	got_free(&g);
}
END_TEST

START_TEST(tcp_one_byte_segments)
{
	struct got g;
	struct netdecode *nd = nd_new(&g, NULL);
	struct conn k = conn_on(nd, 33002);
	k.v6 = 1;
	uint8_t r[2000];
	size_t rn = dns_tcp(r, 0x1002, 1, "split.example", 60);
	handshake(&k, 1, 77, 0x10000);
	for (size_t i = 0; i < rn; i++)
		ssend(&k, 10 + i, r + i, 1);
	ck_assert_int_eq(g.n, 1);
	ck_assert_uint_eq(g.msg[0].len, rn - 2);
	ck_assert_mem_eq(g.msg[0].data, r + 2, rn - 2);
	ck_assert_uint_eq(g.msg[0].m.ts_ns, 10 + rn - 1); /* the last byte's frame */
	ck_assert_uint_eq(g.msg[0].m.ip_version, 6);
	ck_assert_uint_eq(netdecode_stats(nd)->tcp_bytes, 0); /* window released */
	netdecode_free(nd);
	got_free(&g);
}
END_TEST

START_TEST(tcp_three_in_one_segment)
{
	struct got g;
	struct netdecode *nd = nd_new(&g, NULL);
	struct conn k = conn_on(nd, 33003);
	uint8_t buf[3000];
	size_t n = 0;
	n += dns_tcp(buf + n, 0x2001, 0, "one.example", 0);
	n += dns_tcp(buf + n, 0x2002, 0, "two.example", 0);
	n += dns_tcp(buf + n, 0x2003, 0, "three.example", 0);
	size_t first = n;
	n += dns_tcp(buf + n, 0x2004, 0, "four.example", 0);
	handshake(&k, 1, 1, 1);
	/* three whole messages and the first 5 bytes of a fourth, then the rest */
	csend(&k, 2, buf, first + 5);
	ck_assert_int_eq(g.n, 3);
	csend(&k, 3, buf + first + 5, n - first - 5);
	ck_assert_int_eq(g.n, 4);
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq(msg_id(&g, i), 0x2001 + i);
	ck_assert_uint_eq(g.msg[3].m.ts_ns, 3);
	netdecode_free(nd);
	got_free(&g);
}
END_TEST

START_TEST(tcp_out_of_order_and_retransmit)
{
	struct got g;
	struct netdecode *nd = nd_new(&g, NULL);
	struct conn k = conn_on(nd, 33004);
	uint8_t r[4000], alt[4000];
	size_t rn = dns_tcp(r, 0x3001, 1, "ooo.example", 100);
	memcpy(alt, r, rn);
	memset(alt + 500, 0x55, 300); /* a retransmission with other bytes */
	handshake(&k, 1, 10, 20);
	uint32_t s0 = k.sseq;
	/* segments [1000,rn), [0,400), [300,900) from alt, [400,1000) */
	seg(&k, 2, 1, s0 + 1000, k.cseq, F_ACK, r + 1000, rn - 1000);
	seg(&k, 3, 1, s0, k.cseq, F_ACK, r, 400);
	ck_assert_int_eq(g.n, 0);
	seg(&k, 4, 1, s0 + 300, k.cseq, F_ACK, alt + 300, 600);
	ck_assert_int_eq(g.n, 0);
	seg(&k, 5, 1, s0 + 400, k.cseq, F_ACK, r + 400, 600);
	ck_assert_int_eq(g.n, 1);
	/* first arrival wins: bytes [400,900) came from alt */
	uint8_t want[4000];
	memcpy(want, r, rn);
	memcpy(want + 400, alt + 400, 500);
	ck_assert_uint_eq(g.msg[0].len, rn - 2);
	ck_assert_mem_eq(g.msg[0].data, want + 2, rn - 2);
	/* a plain retransmission of consumed bytes changes nothing */
	seg(&k, 6, 1, s0, k.cseq, F_ACK, r, rn);
	ck_assert_int_eq(g.n, 1);
	const struct netdecode_stats *st = netdecode_stats(nd);
	ck_assert_uint_eq(st->tcp_gap_dropped, 0);
	ck_assert_uint_eq(st->tcp_bytes_discarded, 0);
	ck_assert_uint_eq(st->tcp_bytes, 0);
	netdecode_free(nd);
	got_free(&g);
}
END_TEST

START_TEST(tcp_missing_syn)
{
	struct got g;
	struct netdecode *nd = nd_new(&g, NULL);
	struct conn k = conn_on(nd, 33005);
	uint8_t m1[600], m2[600], m3[600];
	size_t n1 = dns_tcp(m1, 0x4001, 1, "mid.example", 3);
	size_t n2 = dns_tcp(m2, 0x4002, 1, "stream.example", 2);
	size_t n3 = dns_tcp(m3, 0x4003, 0, "q.example", 0);
	/* server side seen from the middle of m1: its tail, then m2 */
	k.sseq = 900000;
	k.cseq = 5;
	ssend(&k, 1, m1 + 20, n1 - 20);
	ssend(&k, 2, m2, n2);
	/* client side seen from a message boundary */
	csend(&k, 3, m3, n3);
	ck_assert_int_eq(g.n, 2);
	ck_assert_uint_eq(msg_id(&g, 0), 0x4002);
	ck_assert_mem_eq(g.msg[0].data, m2 + 2, n2 - 2);
	ck_assert_uint_eq(msg_id(&g, 1), 0x4003);
	const struct netdecode_stats *st = netdecode_stats(nd);
	ck_assert_uint_eq(st->tcp_resync, 2);
	ck_assert_uint_eq(st->tcp_bytes_discarded, n1 - 20);
	/* a lone length prefix, then its message, still synced */
	uint8_t m4[600];
	size_t n4 = dns_tcp(m4, 0x4004, 0, "late.example", 0);
	csend(&k, 4, m4, 2);
	csend(&k, 5, m4 + 2, n4 - 2);
	ck_assert_int_eq(g.n, 3);
	ck_assert_uint_eq(msg_id(&g, 2), 0x4004);
	ck_assert_uint_eq(st->tcp_resync, 2);
	netdecode_free(nd);
	got_free(&g);
}
END_TEST

/* Deterministic junk that holds no plausible DNS message start. */
static void junk(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

START_TEST(tcp_resync_after_junk)
{
	struct netdecode_limits l;
	netdecode_default_limits(&l);
	l.tcp_flow_bytes_max = 1000;
	struct got g;
	struct netdecode *nd = nd_new(&g, &l);
	struct conn k = conn_on(nd, 33020);
	static uint8_t stream[8000];
	junk(stream, 3000, 42);
	size_t n = 3000;
	n += dns_tcp(stream + n, 0x4a01, 1, "after.example", 4);
	n += dns_tcp(stream + n, 0x4a02, 1, "junk.example", 1);
	/* seen mid-stream; 3000 bytes of junk overrun the 1000-byte window */
	k.sseq = 123456;
	for (size_t off = 0; off < n; off += 200)
		ssend(&k, 1 + off, stream + off, n - off < 200 ? n - off : 200);
	ck_assert_int_eq(g.n, 2);
	ck_assert_uint_eq(msg_id(&g, 0), 0x4a01);
	ck_assert_uint_eq(msg_id(&g, 1), 0x4a02);
	const struct netdecode_stats *st = netdecode_stats(nd);
	ck_assert_uint_eq(st->tcp_resync, 1);
	ck_assert_uint_eq(st->tcp_bytes_discarded, 3000);
	ck_assert_uint_le(st->tcp_bytes, 1000);
	netdecode_free(nd);
	got_free(&g);
}
END_TEST

START_TEST(tcp_syn_ack_only_and_fast_open)
{
	struct got g;
	struct netdecode *nd = nd_new(&g, NULL);
	/* TCP Fast Open: the query rides on the SYN */
	struct conn k = conn_on(nd, 33006);
	uint8_t q[300], r[300];
	size_t qn = dns_tcp(q, 0x5001, 0, "tfo.example", 0), rn = dns_tcp(r, 0x5001, 1, "tfo.example", 1);
	seg(&k, 1, 0, 7000, 0, F_SYN, q, qn);
	seg(&k, 2, 1, 9000, 7001 + (uint32_t)qn, F_SYN | F_ACK, NULL, 0);
	ck_assert_int_eq(g.n, 1);
	ck_assert_uint_eq(msg_id(&g, 0), 0x5001);
	seg(&k, 3, 1, 9001, 7001 + (uint32_t)qn, F_ACK, r, rn);
	ck_assert_int_eq(g.n, 2);
	/* the SYN repeated (same ISN, same data) changes nothing */
	seg(&k, 4, 0, 7000, 0, F_SYN, q, qn);
	ck_assert_int_eq(g.n, 2);

	/* SYN missed, SYN-ACK seen: the client's stream starts at its ack */
	struct conn j = conn_on(nd, 33007);
	seg(&j, 5, 1, 100, 5001, F_SYN | F_ACK, NULL, 0);
	j.cseq = 5001;
	j.sseq = 101;
	uint8_t half[300];
	size_t hn = dns_tcp(half, 0x5002, 0, "half.example", 0);
	csend(&j, 6, half, 1); /* one byte: no resync scan could accept this */
	csend(&j, 7, half + 1, hn - 1);
	ck_assert_int_eq(g.n, 3);
	ck_assert_uint_eq(msg_id(&g, 2), 0x5002);
	ck_assert_uint_eq(netdecode_stats(nd)->tcp_resync, 0);
	netdecode_free(nd);
	got_free(&g);
}
END_TEST

START_TEST(tcp_rst_mid_message)
{
	struct got g;
	struct netdecode *nd = nd_new(&g, NULL);
	struct conn k = conn_on(nd, 33008);
	uint8_t r[2000];
	size_t rn = dns_tcp(r, 0x6001, 1, "rst.example", 50);
	handshake(&k, 1, 1, 1);
	ssend(&k, 2, r, 300);
	const struct netdecode_stats *st = netdecode_stats(nd);
	ck_assert_uint_eq(st->tcp_bytes, 2048);
	seg(&k, 3, 0, k.cseq, k.sseq, F_RST, NULL, 0);
	ck_assert_int_eq(g.n, 0);
	ck_assert_uint_eq(st->tcp_flows, 0);
	ck_assert_uint_eq(st->tcp_bytes, 0);
	ck_assert_uint_eq(st->tcp_bytes_discarded, 300);
	/* the rest, after the RST, starts a flow mid-message: never a message */
	ssend(&k, 4, r + 300, rn - 300);
	netdecode_finish(nd);
	ck_assert_int_eq(g.n, 0);
	ck_assert_uint_eq(st->tcp_bytes_discarded, rn);
	netdecode_free(nd);
	got_free(&g);
}
END_TEST

START_TEST(tcp_idle_timeout)
{
	struct netdecode_limits l;
	netdecode_default_limits(&l);
	l.tcp_idle_ns = 5 * SEC;
	struct got g;
	struct netdecode *nd = nd_new(&g, &l);
	struct conn k = conn_on(nd, 33009);
	uint8_t r[600];
	size_t rn = dns_tcp(r, 0x7001, 1, "idle.example", 5);
	handshake(&k, 100 * SEC, 1, 1);
	ssend(&k, 100 * SEC, r, 40);
	const struct netdecode_stats *st = netdecode_stats(nd);
	netdecode_expire(nd, 104 * SEC);
	ck_assert_uint_eq(st->tcp_flows, 1);
	uint8_t ip[700];
	size_t n = udp4_pkt(ip, 0x7002, 0, 40000, 53);
	raw(nd, 105 * SEC, ip, n);
	ck_assert_uint_eq(st->tcp_idle_closed, 1);
	ck_assert_uint_eq(st->tcp_flows, 0);
	ck_assert_uint_eq(st->tcp_bytes_discarded, 40);
	ck_assert_int_eq(g.n, 1);
	ck_assert_uint_eq(msg_id(&g, 0), 0x7002);
	(void)rn;
	netdecode_free(nd);
	got_free(&g);
}
END_TEST

START_TEST(tcp_sequence_wrap)
{
	struct got g;
	struct netdecode *nd = nd_new(&g, NULL);
	struct conn k = conn_on(nd, 33010);
	uint8_t r[3000];
	size_t rn = dns_tcp(r, 0x8001, 1, "wrap.example", 100);
	handshake(&k, 1, 0xfffffff0u, 0xffffff00u);
	/* the server's stream crosses 2^32 inside the message, out of order */
	uint32_t s0 = k.sseq;
	seg(&k, 2, 1, s0 + 600, k.cseq, F_ACK, r + 600, rn - 600);
	seg(&k, 3, 1, s0, k.cseq, F_ACK, r, 600);
	ck_assert_int_eq(g.n, 1);
	ck_assert_mem_eq(g.msg[0].data, r + 2, rn - 2);
	/* the client's too, with a message per segment */
	uint8_t q[300];
	for (int i = 0; i < 10; i++) {
		size_t qn = dns_tcp(q, (uint16_t)(0x8100 + i), 0, "w.example", 0);
		csend(&k, 4, q, qn);
	}
	ck_assert_int_eq(g.n, 11);
	ck_assert_uint_eq(msg_id(&g, 10), 0x8109);
	ck_assert_uint_lt(k.cseq, 0x1000);
	netdecode_free(nd);
	got_free(&g);
}
END_TEST

/* The server sends a bare ACK: its next segment, which settles holes the
 * client acknowledged. */
static void sack(struct conn *k, uint64_t ts)
{
	seg(k, ts, 1, k->sseq, k->cseq, F_ACK, NULL, 0);
}

START_TEST(tcp_gap_acked)
{
	struct got g;
	struct netdecode *nd = nd_new(&g, NULL);
	struct conn k = conn_on(nd, 33011);
	uint8_t m[4][600];
	size_t n[4];
	for (int i = 0; i < 4; i++)
		n[i] = dns_tcp(m[i], (uint16_t)(0x9000 + i), 1, "gap.example", 2 + i);
	handshake(&k, 1, 1, 1);
	/* m0 whole; m1's first 10 bytes; m1's rest is lost; m2, m3 arrive */
	ssend(&k, 2, m[0], n[0]);
	ssend(&k, 3, m[1], 10);
	k.sseq += (uint32_t)(n[1] - 10); /* not captured */
	ssend(&k, 4, m[2], n[2]);
	ssend(&k, 5, m[3], n[3]);
	ck_assert_int_eq(g.n, 1);
	/* the client acknowledges everything, and the server sends again
	 * without filling the hole: it is permanent; the length of m1 was
	 * seen, so framing resumes right after it */
	seg(&k, 6, 0, k.cseq, k.sseq, F_ACK, NULL, 0);
	ck_assert_int_eq(g.n, 1);
	sack(&k, 7);
	ck_assert_int_eq(g.n, 3);
	ck_assert_uint_eq(msg_id(&g, 1), 0x9002);
	ck_assert_uint_eq(msg_id(&g, 2), 0x9003);
	ck_assert_uint_eq(g.msg[2].m.ts_ns, 5); /* the frame of its last byte */
	const struct netdecode_stats *st = netdecode_stats(nd);
	ck_assert_uint_eq(st->tcp_gap_dropped, 1);
	ck_assert_uint_eq(st->tcp_resync, 0);
	ck_assert_uint_eq(st->tcp_bytes_discarded, 10);

	/* a hole covering a length prefix: resynchronise after it */
	ssend(&k, 8, m[0], 5);
	k.sseq += (uint32_t)(n[0] - 5 + n[1]); /* rest of m0 and all of m1 lost */
	ssend(&k, 9, m[2], n[2]);
	seg(&k, 10, 0, k.cseq, k.sseq, F_ACK, NULL, 0);
	sack(&k, 11);
	ck_assert_int_eq(g.n, 4);
	ck_assert_uint_eq(msg_id(&g, 3), 0x9002);
	ck_assert_uint_eq(st->tcp_gap_dropped, 2);
	ck_assert_uint_eq(st->tcp_resync, 1);

	/* data lost while nothing was buffered (suricata ts-gap): the ACK of
	 * unseen bytes moves the stream past them */
	k.sseq += (uint32_t)n[3];
	seg(&k, 12, 0, k.cseq, k.sseq, F_ACK, NULL, 0);
	sack(&k, 13);
	ck_assert_uint_eq(st->tcp_gap_dropped, 3);
	ssend(&k, 14, m[1], n[1]);
	ck_assert_int_eq(g.n, 5);
	ck_assert_uint_eq(msg_id(&g, 4), 0x9001);
	ck_assert_uint_eq(st->tcp_resync, 2);

	/* captured out of order across directions: the client's ACK comes
	 * before the server segment it acknowledges, which still fills the
	 * hole when it arrives */
	uint32_t s0 = k.sseq;
	ssend(&k, 15, m[2], 20);
	seg(&k, 16, 0, k.cseq, s0 + (uint32_t)n[2], F_ACK, NULL, 0);
	seg(&k, 17, 1, s0 + 20, k.cseq, F_ACK, m[2] + 20, n[2] - 20);
	ck_assert_int_eq(g.n, 6);
	ck_assert_uint_eq(msg_id(&g, 5), 0x9002);
	ck_assert_uint_eq(st->tcp_gap_dropped, 3);
	netdecode_free(nd);
	got_free(&g);
}
END_TEST

START_TEST(tcp_gap_at_end_of_flow)
{
	struct got g;
	struct netdecode *nd = nd_new(&g, NULL);
	struct conn k = conn_on(nd, 33012);
	uint8_t a[600], b[600];
	size_t an = dns_tcp(a, 0xa001, 0, "a.example", 0), bn = dns_tcp(b, 0xa002, 0, "b.example", 0);
	handshake(&k, 1, 1, 1);
	uint32_t c0 = k.cseq;
	/* b arrives, a (before it) never does, nobody acknowledges */
	seg(&k, 2, 0, c0 + (uint32_t)an, k.sseq, F_ACK, b, bn);
	ck_assert_int_eq(g.n, 0);
	netdecode_finish(nd);
	ck_assert_int_eq(g.n, 1);
	ck_assert_uint_eq(msg_id(&g, 0), 0xa002);
	const struct netdecode_stats *st = netdecode_stats(nd);
	ck_assert_uint_eq(st->tcp_gap_dropped, 1);
	ck_assert_uint_eq(st->tcp_resync, 1);
	ck_assert_uint_eq(st->tcp_flows, 0);
	netdecode_free(nd);
	got_free(&g);
}
END_TEST

START_TEST(tcp_window_limits)
{
	struct netdecode_limits l;
	netdecode_default_limits(&l);
	l.tcp_flow_bytes_max = 400;
	struct got g;
	struct netdecode *nd = nd_new(&g, &l);
	struct conn k = conn_on(nd, 33013);
	uint8_t big[2000], small[300];
	size_t bn = dns_tcp(big, 0xb001, 1, "big.example", 40); /* 679 bytes > 400 */
	size_t sn = dns_tcp(small, 0xb002, 1, "small.example", 2);
	handshake(&k, 1, 1, 1);
	/* a message longer than the window is skipped by its length */
	ssend(&k, 2, big, 300);
	ssend(&k, 3, big + 300, bn - 300);
	ssend(&k, 4, small, sn);
	ck_assert_int_eq(g.n, 1);
	ck_assert_uint_eq(msg_id(&g, 0), 0xb002);
	const struct netdecode_stats *st = netdecode_stats(nd);
	ck_assert_uint_eq(st->tcp_flow_overflow, 1);
	ck_assert_uint_eq(st->tcp_bytes_discarded, bn);
	/* whole in one segment, it needs no buffering and is decoded */
	ssend(&k, 4, big, bn);
	ck_assert_int_eq(g.n, 2);
	ck_assert_uint_eq(msg_id(&g, 1), 0xb001);
	ck_assert_uint_eq(st->tcp_flow_overflow, 1);
	/* data far beyond a hole forces the hole to be given up */
	uint32_t s0 = k.sseq;
	ssend(&k, 5, small, 3); /* a message begins... */
	seg(&k, 6, 1, s0 + 1000, k.cseq, F_ACK, small, sn); /* ...and the window is overrun */
	ck_assert_uint_eq(st->tcp_gap_dropped, 1);
	ck_assert_int_eq(g.n, 3);
	ck_assert_uint_eq(msg_id(&g, 2), 0xb002);
	ck_assert_uint_le(st->tcp_bytes, 400);
	netdecode_free(nd);
	got_free(&g);
}
END_TEST

START_TEST(tcp_flow_cap)
{
	struct netdecode_limits l;
	netdecode_default_limits(&l);
	l.tcp_flow_max = 2;
	struct got g;
	struct netdecode *nd = nd_new(&g, &l);
	struct conn a = conn_on(nd, 34001), b = conn_on(nd, 34002), c = conn_on(nd, 34003);
	uint8_t q[300];
	size_t qn = dns_tcp(q, 0xc001, 0, "cap.example", 0);
	handshake(&a, 1, 1, 1);
	handshake(&b, 2, 1, 1);
	csend(&a, 3, q, 10); /* a is now the most recently active */
	handshake(&c, 4, 1, 1); /* evicts b */
	const struct netdecode_stats *st = netdecode_stats(nd);
	ck_assert_uint_eq(st->tcp_flows, 2);
	ck_assert_uint_eq(st->tcp_flows_evicted, 1);
	csend(&a, 5, q + 10, qn - 10);
	ck_assert_int_eq(g.n, 1);
	csend(&b, 6, q, qn); /* b again: mid-stream, resynchronised; evicts c */
	ck_assert_int_eq(g.n, 2);
	ck_assert_uint_eq(st->tcp_resync, 1);
	ck_assert_uint_eq(st->tcp_flows_evicted, 2);
	ck_assert_uint_eq(st->tcp_flows, 2);
	netdecode_free(nd);
	got_free(&g);
}
END_TEST

START_TEST(tcp_memory_cap)
{
	struct netdecode_limits l;
	netdecode_default_limits(&l);
	l.tcp_mem_max = 4096;
	struct got g;
	struct netdecode *nd = nd_new(&g, &l);
	struct conn a = conn_on(nd, 35001), b = conn_on(nd, 35002), c = conn_on(nd, 35003);
	uint8_t q[300];
	size_t qn = dns_tcp(q, 0xd001, 0, "mem.example", 0);
	handshake(&a, 1, 1, 1);
	handshake(&b, 1, 1, 1);
	handshake(&c, 1, 1, 1);
	csend(&a, 2, q, 5);
	csend(&b, 3, q, 5);
	const struct netdecode_stats *st = netdecode_stats(nd);
	ck_assert_uint_eq(st->tcp_bytes, 4096);
	csend(&c, 4, q, 5); /* a's window must go */
	ck_assert_uint_eq(st->tcp_flows_evicted, 1);
	ck_assert_uint_eq(st->tcp_bytes, 4096);
	ck_assert_uint_eq(st->tcp_bytes_discarded, 5);
	csend(&b, 5, q + 5, qn - 5);
	csend(&c, 6, q + 5, qn - 5);
	ck_assert_int_eq(g.n, 2);
	ck_assert_uint_eq(st->tcp_bytes, 0);
	netdecode_free(nd);
	got_free(&g);
}
END_TEST

START_TEST(tcp_port_reuse)
{
	struct got g;
	struct netdecode *nd = nd_new(&g, NULL);
	struct conn k = conn_on(nd, 33014);
	uint8_t q[300];
	size_t qn = dns_tcp(q, 0xe001, 0, "reuse.example", 0);
	handshake(&k, 1, 1000, 2000);
	csend(&k, 2, q, 7); /* unfinished when the connection is replaced */
	handshake(&k, 3, 500000, 600000);
	csend(&k, 4, q, qn);
	ck_assert_int_eq(g.n, 1);
	const struct netdecode_stats *st = netdecode_stats(nd);
	ck_assert_uint_eq(st->tcp_bytes_discarded, 7);
	ck_assert_uint_eq(st->tcp_flows, 1);
	netdecode_free(nd);
	got_free(&g);
}
END_TEST

/* ---- counters ---------------------------------------------------------- */

START_TEST(stat_table)
{
	ck_assert_uint_eq(netdecode_stat_count, sizeof(struct netdecode_stats) / sizeof(uint64_t));
	uint8_t seen[sizeof(struct netdecode_stats) / sizeof(uint64_t)] = { 0 };
	for (size_t i = 0; i < netdecode_stat_count; i++) {
		const struct stat_desc *d = &netdecode_stat_desc[i];
		ck_assert_uint_eq(d->offset % sizeof(uint64_t), 0);
		ck_assert_uint_lt(d->offset / 8, sizeof seen);
		ck_assert_int_eq(seen[d->offset / 8]++, 0);
		ck_assert_uint_gt(strlen(d->help), 10);
		for (size_t j = 0; j < i; j++)
			ck_assert_str_ne(d->name, netdecode_stat_desc[j].name);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("netdecode");
	TCase *t = tcase_create("link_ip_udp");
	tcase_add_test(t, link_types);
	tcase_add_test(t, ipv4_options_and_lengths);
	tcase_add_test(t, ipv6_extension_headers);
	tcase_add_test(t, udp_checks_and_ports);
	tcase_add_test(t, truncated_captures);
	tcase_add_test(t, cut_udp_lengths);
	tcase_add_test(t, stat_table);
	suite_add_tcase(s, t);
	t = tcase_create("frag");
	tcase_add_test(t, frag4_orders);
	tcase_add_test(t, frag4_overlap_first_wins);
	tcase_add_test(t, frag4_missing_times_out);
	tcase_add_test(t, frag_memory_cap);
	tcase_add_test(t, frag_bad_and_not_dns);
	tcase_add_test(t, frag6_reassembly);
	suite_add_tcase(s, t);
	t = tcase_create("tcp");
	tcase_add_test(t, tcp_basic_and_close);
	tcase_add_test(t, tcp_one_byte_segments);
	tcase_add_test(t, tcp_three_in_one_segment);
	tcase_add_test(t, tcp_out_of_order_and_retransmit);
	tcase_add_test(t, tcp_missing_syn);
	tcase_add_test(t, tcp_resync_after_junk);
	tcase_add_test(t, tcp_syn_ack_only_and_fast_open);
	tcase_add_test(t, tcp_rst_mid_message);
	tcase_add_test(t, tcp_idle_timeout);
	tcase_add_test(t, tcp_sequence_wrap);
	tcase_add_test(t, tcp_gap_acked);
	tcase_add_test(t, tcp_gap_at_end_of_flow);
	tcase_add_test(t, tcp_window_limits);
	tcase_add_test(t, tcp_flow_cap);
	tcase_add_test(t, tcp_memory_cap);
	tcase_add_test(t, tcp_port_reuse);
	suite_add_tcase(s, t);
	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
