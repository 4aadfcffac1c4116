/*
 * netdecode.c - frames to DNS messages (see netdecode.h): link layer via
 * common/netwalk, IPv4 (options) and IPv6 (extension headers), fragments
 * via frag.c, UDP here, TCP via tcp_stream.c.
 *
 * What is trusted: the IPv4 total length and IPv6 payload length bound the
 * packet (bytes after them are link padding, ignored); when they claim more
 * than was captured (snaplen, or a lying header) the captured part is used
 * and the frame counted in ip_truncated.  A UDP datagram's payload is its
 * UDP length minus 8, which must fit in what the IP header claims (a
 * receiver drops it otherwise), cut to what was captured when the capture
 * was cut.  A cut fragment cannot be reassembled; if it is the first of a
 * UDP datagram its captured part is passed on like any cut datagram.
 * Checksums are not verified: offloading makes locally captured packets
 * carry bad ones, and receivers' verdicts cannot be known anyway.
 *
 * Only UDP and TCP reach a DNS port check; ICMP (including errors quoting a
 * DNS packet), ESP, AH and every other protocol count in not_dns_port.
 *
 * Time: nd->now is the largest frame time seen, so state expires by packet
 * time and never runs backwards when captures interleave.  All state is in
 * struct netdecode; the UDP path allocates nothing.
 */
#include "netdecode.h"

#include "frag.h"
#include "ip_pkt.h"
#include "netwalk.h"
#include "tcp_stream.h"

#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

/* At most this many IPv6 extension headers before the transport header. */
#define IP6_MAX_EXT 16

struct netdecode {
	struct nd_sink sink;
	struct netdecode_stats st;
	uint64_t now;
	uint8_t dns_port[65536 / 8]; /* bit per port */
	struct frag_table frag;
	struct tcp_table tcp;
};

void netdecode_default_limits(struct netdecode_limits *l)
{
	memset(l, 0, sizeof *l);
	l->ports[0] = 53;
	l->frag_mem_max = 4u << 20; /* Linux's ipfrag_high_thresh */
	l->frag_timeout_ns = 30ull * 1000000000; /* Linux's ipfrag_time */
	l->tcp_mem_max = 64u << 20;
	l->tcp_flow_max = 65536; /* 448 bytes each without data: 29 MB at most */
	l->tcp_flow_bytes_max = 131072; /* one 65535-byte message + as much out of order */
	l->tcp_idle_ns = 60ull * 1000000000;
}

#define ND_STAT(f, n, h) STAT_DESC(struct netdecode_stats, f, n, h)
const struct stat_desc netdecode_stat_desc[] = {
	ND_STAT(frames, "frames", "frames given to the decoder"),
	ND_STAT(not_ip, "link.not_ip", "frames that carry no IP packet (other ethertypes, unsupported link types, too many VLAN tags)"),
	ND_STAT(link_truncated, "link.truncated", "frames that end inside a link-layer header"),
	ND_STAT(ip_bad, "ip.bad", "IP or TCP headers with a bad version, header length or total length"),
	ND_STAT(ip_truncated, "ip.truncated", "IP packets captured shorter than their header says (snaplen); the captured part is used"),
	ND_STAT(not_dns_port, "ip.not_dns", "IP packets or datagrams that are not UDP/TCP to or from a DNS port (ICMP, ESP, other ports)"),
	ND_STAT(udp_bad, "udp.bad", "UDP datagrams with a bad length or no payload"),
	ND_STAT(udp_messages, "udp.messages", "DNS messages taken from UDP datagrams"),
	ND_STAT(frag_fragments, "frag.fragments", "IP fragments seen"),
	ND_STAT(frag_reassembled, "frag.reassembled", "datagrams reassembled from fragments"),
	ND_STAT(frag_timeout, "frag.timeout", "incomplete datagrams dropped after the fragment timeout or at end of input"),
	ND_STAT(frag_mem_evicted, "frag.mem_evicted", "incomplete datagrams dropped to stay under the fragment memory limit"),
	ND_STAT(frag_overlap_conflict, "frag.overlap_conflict", "fragments overlapping held bytes with different content (first bytes kept)"),
	ND_STAT(frag_bad, "frag.bad", "fragments with a bad offset or length, or contradicting their datagram's length"),
	ND_STAT(frag_pending, "frag.pending", "incomplete datagrams held now"),
	ND_STAT(frag_bytes, "frag.bytes", "bytes held for incomplete datagrams now, bookkeeping included"),
	ND_STAT(tcp_segments, "tcp.segments", "TCP segments on a DNS port"),
	ND_STAT(tcp_messages, "tcp.messages", "DNS messages taken from TCP streams"),
	ND_STAT(tcp_flows, "tcp.flows", "TCP connections tracked now"),
	ND_STAT(tcp_bytes, "tcp.bytes", "bytes of TCP reassembly buffers allocated now"),
	ND_STAT(tcp_flows_evicted, "tcp.flows_evicted", "connections dropped to stay under the flow or memory limit"),
	ND_STAT(tcp_idle_closed, "tcp.idle_closed", "connections closed after the idle timeout"),
	ND_STAT(tcp_gap_dropped, "tcp.gap_dropped", "holes in a stream given up for good (the message they cut is dropped)"),
	ND_STAT(tcp_resync, "tcp.resync", "times a stream seen mid-way or after a hole found a message start"),
	ND_STAT(tcp_bytes_discarded, "tcp.bytes_discarded", "stream bytes that never became part of a message"),
	ND_STAT(tcp_flow_overflow, "tcp.flow_overflow", "messages or segments that did not fit a stream's buffer (skipped)"),
};
const size_t netdecode_stat_count = sizeof netdecode_stat_desc / sizeof netdecode_stat_desc[0];

static inline int is_dns_port(const struct netdecode *nd, uint16_t port)
{
	return nd->dns_port[port >> 3] >> (port & 7) & 1;
}

/* Everything known about a packet once its IP layer is decoded. */
struct l4_pkt {
	struct pkt_meta meta; /* addresses, time, VLAN; ports and transport filled later */
	uint8_t proto;
	struct span data; /* transport header and payload, as captured */
	size_t claimed; /* transport bytes the IP header says there are (>= data.n) */
};

/* A transport header that does not fit: the capture's fault (already
 * counted in ip_truncated) or the packet's (counted in *bad). */
static void header_short(const struct l4_pkt *pk, size_t need, uint64_t *bad)
{
	if (need > pk->claimed)
		++*bad;
}

static void udp_input(struct netdecode *nd, struct l4_pkt *pk)
{
	uint16_t sport, dport, ulen;
	if (!span_be16(pk->data, 0, &sport) || !span_be16(pk->data, 2, &dport) ||
	    !span_be16(pk->data, 4, &ulen)) {
		header_short(pk, 8, &nd->st.udp_bad);
		return;
	}
	if (!is_dns_port(nd, sport) && !is_dns_port(nd, dport)) {
		nd->st.not_dns_port++;
		return;
	}
	/* The UDP length must fit what the IP header says; 8 is no message. */
	if (ulen <= 8 || ulen > pk->claimed) {
		nd->st.udp_bad++;
		return;
	}
	size_t n = ulen - 8u;
	struct span dns = span_from(pk->data, 8);
	if (dns.n > n)
		dns.n = n; /* bytes past the UDP length are not the message */
	/* Cut by the capture: worth passing on only if it still says which
	 * message it is (ID and flags), as tshark does. */
	if (dns.n < n && dns.n < 4)
		return;
	pk->meta.sport = sport;
	pk->meta.dport = dport;
	pk->meta.transport = IPPROTO_NUM_UDP;
	nd->st.udp_messages++;
	sink_emit(&nd->sink, &pk->meta, dns.p, dns.n);
}

static void tcp_input_pkt(struct netdecode *nd, struct l4_pkt *pk)
{
	uint16_t sport, dport;
	uint8_t off_byte, flags;
	struct tcp_seg s;
	if (!span_be16(pk->data, 0, &sport) || !span_be16(pk->data, 2, &dport) ||
	    !span_be32(pk->data, 4, &s.seq) || !span_be32(pk->data, 8, &s.ack) ||
	    !span_u8(pk->data, 12, &off_byte) || !span_u8(pk->data, 13, &flags)) {
		header_short(pk, 20, &nd->st.ip_bad);
		return;
	}
	if (!is_dns_port(nd, sport) && !is_dns_port(nd, dport)) {
		nd->st.not_dns_port++;
		return;
	}
	size_t hlen = (size_t)(off_byte >> 4) * 4;
	if (hlen < 20) {
		nd->st.ip_bad++;
		return;
	}
	if (hlen > pk->data.n) {
		header_short(pk, hlen, &nd->st.ip_bad);
		return;
	}
	s.payload = span_from(pk->data, hlen);
	s.flags = flags;
	pk->meta.sport = sport;
	pk->meta.dport = dport;
	pk->meta.transport = IPPROTO_NUM_TCP;
	s.meta = pk->meta;
	s.now_ns = nd->now;
	tcp_input(&nd->tcp, &s);
}

static void l4_input(struct netdecode *nd, struct l4_pkt *pk)
{
	if (pk->proto == IPPROTO_NUM_UDP)
		udp_input(nd, pk);
	else if (pk->proto == IPPROTO_NUM_TCP)
		tcp_input_pkt(nd, pk);
	else
		nd->st.not_dns_port++;
}

/* Walks the hop-by-hop, routing and destination options headers from
 * `next` at the start of d.  Returns the first other header's number with
 * *d advanced to it: the transport protocol, IPPROTO_NUM_FRAGMENT, or
 * something we do not decode (ESP, AH, no next header...), which callers
 * count as not DNS.  -1 when the chain is cut short or too long: RFC 7112
 * wants the whole chain in the first fragment, and we do not look further. */
static int ip6_walk(uint8_t next, struct span *d)
{
	for (int n = 0; n < IP6_MAX_EXT; n++) {
		uint8_t nh, hl;
		switch (next) {
		case IPPROTO_NUM_HOPOPTS:
		case IPPROTO_NUM_ROUTING:
		case IPPROTO_NUM_DSTOPTS:
			if (!span_u8(*d, 0, &nh) || !span_u8(*d, 1, &hl))
				return -1;
			if (((size_t)hl + 1) * 8 > d->n)
				return -1;
			*d = span_from(*d, ((size_t)hl + 1) * 8);
			next = nh;
			continue;
		default:
			return next;
		}
	}
	return -1;
}

/* frag_wanted_fn: may a datagram starting with `first` be DNS? */
static int frag_wanted(void *ctx, uint8_t version, uint8_t next, struct span first)
{
	struct netdecode *nd = ctx;
	int proto = next;
	if (version == 6)
		proto = ip6_walk(next, &first);
	if (proto != IPPROTO_NUM_UDP && proto != IPPROTO_NUM_TCP)
		return 0;
	uint16_t sport, dport;
	if (!span_be16(first, 0, &sport) || !span_be16(first, 2, &dport))
		return 1; /* ports in a later fragment: cannot tell yet */
	return is_dns_port(nd, sport) || is_dns_port(nd, dport);
}

/* Walks the extension headers at the start of pk->data from `next`, taking
 * their bytes off pk->claimed too; returns as ip6_walk. */
static int ip6_chain(struct l4_pkt *pk, uint8_t next)
{
	size_t before = pk->data.n;
	int proto = ip6_walk(next, &pk->data);
	size_t ext = before - pk->data.n;
	pk->claimed = pk->claimed > ext ? pk->claimed - ext : 0;
	return proto;
}

static void frag_done(struct netdecode *nd, struct l4_pkt *pk, const struct frag_out *out)
{
	pk->data = out->data;
	pk->claimed = out->data.n;
	int proto = pk->meta.ip_version == 6 ? ip6_chain(pk, out->next) : out->next;
	if (proto < 0 || proto == IPPROTO_NUM_FRAGMENT) {
		nd->st.not_dns_port++;
		return;
	}
	pk->proto = (uint8_t)proto;
	l4_input(nd, pk);
}

/* One fragment (pk->data, after the IP header or the fragment header) of
 * datagram `id`; next = IPv4 protocol or the fragment header's next header.
 * A fragment the capture cut short can never complete its datagram; if it
 * is the first one of a UDP datagram, its captured part is used like that
 * of any cut datagram: the DNS header and question are there. */
static void fragment_input(struct netdecode *nd, struct l4_pkt *pk, uint32_t id, uint8_t next,
			   uint32_t frag_off, int more, uint32_t max_end)
{
	int v6 = pk->meta.ip_version == 6;
	if (pk->claimed > pk->data.n) {
		nd->st.frag_fragments++;
		if (frag_off != 0)
			return;
		int proto = v6 ? ip6_chain(pk, next) : next;
		pk->claimed = max_end; /* the UDP length covers the later fragments too */
		if (proto == IPPROTO_NUM_UDP) {
			pk->proto = IPPROTO_NUM_UDP;
			udp_input(nd, pk);
		}
		return;
	}
	struct frag_in in;
	memset(&in.key, 0, sizeof in.key);
	memcpy(in.key.src, pk->meta.src, 16);
	memcpy(in.key.dst, pk->meta.dst, 16);
	in.key.id = id;
	in.key.version = v6 ? 6 : 4;
	in.key.proto = v6 ? 0 : next;
	in.next = next;
	in.offset = frag_off;
	in.more = more;
	in.max_end = max_end;
	in.data = pk->data;
	struct frag_out out;
	if (frag_add(&nd->frag, &in, nd->now, &out))
		frag_done(nd, pk, &out);
}

static void ip4_input(struct netdecode *nd, struct span ip, struct l4_pkt *pk)
{
	uint8_t vihl, proto;
	uint16_t total, fragw, id;
	if (!span_u8(ip, 0, &vihl) || !span_be16(ip, 2, &total) || !span_be16(ip, 4, &id) ||
	    !span_be16(ip, 6, &fragw) || !span_u8(ip, 9, &proto) ||
	    !span_copy(ip, 12, pk->meta.src, 4) || !span_copy(ip, 16, pk->meta.dst, 4)) {
		nd->st.ip_truncated++;
		return;
	}
	size_t ihl = (size_t)(vihl & 0x0f) * 4;
	if (vihl >> 4 != 4 || ihl < 20 || total < ihl) {
		nd->st.ip_bad++;
		return;
	}
	if (ihl > ip.n) {
		nd->st.ip_truncated++;
		return;
	}
	if (total > ip.n)
		nd->st.ip_truncated++; /* snaplen, or a header that lies: use what is there */
	else
		ip.n = total; /* what follows is link-layer padding */
	pk->meta.ip_version = 4;
	pk->proto = proto;
	pk->data = span_from(ip, ihl);
	pk->claimed = total - ihl;

	uint32_t frag_off = (uint32_t)(fragw & 0x1fff) * 8;
	int more = fragw >> 13 & 1;
	if (!frag_off && !more) {
		l4_input(nd, pk);
		return;
	}
	if (proto != IPPROTO_NUM_UDP && proto != IPPROTO_NUM_TCP) {
		nd->st.not_dns_port++;
		return;
	}
	fragment_input(nd, pk, id, proto, frag_off, more, 65535 - (uint32_t)ihl);
}

static void ip6_input(struct netdecode *nd, struct span ip, struct l4_pkt *pk)
{
	uint8_t v, next;
	uint16_t plen;
	if (ip.n < 40 || !span_u8(ip, 0, &v) || !span_be16(ip, 4, &plen) || !span_u8(ip, 6, &next) ||
	    !span_copy(ip, 8, pk->meta.src, 16) || !span_copy(ip, 24, pk->meta.dst, 16)) {
		nd->st.ip_truncated++;
		return;
	}
	if (v >> 4 != 6 || plen == 0) { /* plen 0: a jumbogram, never DNS */
		nd->st.ip_bad++;
		return;
	}
	if (40u + plen > ip.n)
		nd->st.ip_truncated++;
	else
		ip.n = 40u + plen;
	pk->meta.ip_version = 6;
	pk->data = span_from(ip, 40);
	pk->claimed = plen;
	int proto = ip6_chain(pk, next);
	if (proto < 0) {
		nd->st.not_dns_port++;
		return;
	}
	if (proto != IPPROTO_NUM_FRAGMENT) {
		pk->proto = (uint8_t)proto;
		l4_input(nd, pk);
		return;
	}
	uint8_t fnext;
	uint16_t fo;
	uint32_t id;
	if (!span_u8(pk->data, 0, &fnext) || !span_be16(pk->data, 2, &fo) ||
	    !span_be32(pk->data, 4, &id) || pk->claimed < 8) {
		header_short(pk, 8, &nd->st.ip_bad);
		return;
	}
	pk->data = span_from(pk->data, 8);
	pk->claimed -= 8;
	uint32_t frag_off = (uint32_t)(fo >> 3) * 8;
	int more = fo & 1;
	if (!frag_off && !more) {
		/* Atomic fragment (RFC 6946): a whole datagram. */
		int p = ip6_chain(pk, fnext);
		if (p < 0 || p == IPPROTO_NUM_FRAGMENT) {
			nd->st.not_dns_port++;
			return;
		}
		pk->proto = (uint8_t)p;
		l4_input(nd, pk);
		return;
	}
	fragment_input(nd, pk, id, fnext, frag_off, more, 65535);
}

static uint64_t make_seed(void)
{
	uint64_t seed;
	if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) == (ssize_t)sizeof seed)
		return seed;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)ts.tv_sec;
}

struct netdecode *netdecode_new(const struct netdecode_limits *l, netdecode_msg_fn fn, void *ctx)
{
	struct netdecode *nd = calloc(1, sizeof *nd);
	if (!nd)
		return NULL;
	nd->sink.fn = fn;
	nd->sink.ctx = ctx;
	for (size_t k = 0; k < sizeof l->ports / sizeof l->ports[0] && l->ports[k]; k++)
		nd->dns_port[l->ports[k] >> 3] |= (uint8_t)(1u << (l->ports[k] & 7));
	uint64_t seed = make_seed();
	if (frag_init(&nd->frag, l, &nd->st, seed, frag_wanted, nd) < 0) {
		free(nd);
		return NULL;
	}
	if (tcp_init(&nd->tcp, l, &nd->st, nd->sink, seed ^ 0x5bd1e995) < 0) {
		frag_free(&nd->frag);
		free(nd);
		return NULL;
	}
	return nd;
}

void netdecode_free(struct netdecode *nd)
{
	if (!nd)
		return;
	frag_free(&nd->frag);
	tcp_free(&nd->tcp);
	free(nd);
}

/* Moves the clock forward (never back) and drops what has expired; cheap
 * when nothing is due: each table looks at its oldest entry. */
static void advance_clock(struct netdecode *nd, uint64_t now_ns)
{
	if (now_ns <= nd->now)
		return;
	nd->now = now_ns;
	frag_expire(&nd->frag, nd->now);
	tcp_expire(&nd->tcp, nd->now);
}

void netdecode_expire(struct netdecode *nd, uint64_t now_ns)
{
	advance_clock(nd, now_ns);
}

void netdecode_frame(struct netdecode *nd, int dlt, uint64_t ts_ns, const uint8_t *frame,
		     size_t caplen, uint32_t wire_len)
{
	(void)wire_len; /* the IP header says what is missing; see ip_truncated */
	nd->st.frames++;
	advance_clock(nd, ts_ns);
	struct net_l3 l3;
	switch (netwalk_frame(dlt, frame, caplen, &l3)) {
	case NW_OK:
		break;
	case NW_TRUNCATED:
		nd->st.link_truncated++;
		return;
	default:
		nd->st.not_ip++;
		return;
	}
	struct l4_pkt pk;
	memset(&pk.meta, 0, sizeof pk.meta);
	pk.meta.ts_ns = ts_ns;
	pk.meta.has_vlan = l3.has_vlan;
	pk.meta.vlan = l3.vlan;
	struct span ip = span_make(l3.ip, l3.len);
	if (l3.version == 4)
		ip4_input(nd, ip, &pk);
	else
		ip6_input(nd, ip, &pk);
}

void netdecode_finish(struct netdecode *nd)
{
	frag_flush(&nd->frag);
	tcp_flush(&nd->tcp);
}

const struct netdecode_stats *netdecode_stats(const struct netdecode *nd)
{
	return &nd->st;
}
