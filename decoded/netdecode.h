/*
 * netdecode.h - from captured frames to DNS message payloads: link layer,
 * IPv4/IPv6 (options, extension headers), IP fragment reassembly, UDP on the
 * DNS ports, and TCP stream reassembly with the 2-byte length framing.
 *
 * All state (fragment queues, TCP flows) is bounded by the limits given at
 * creation; whatever is dropped or evicted is counted by reason in
 * struct netdecode_stats.  Time is packet time (ts_ns of the frames), never
 * the wall clock.
 */
#ifndef DNSTRAIL_NETDECODE_H
#define DNSTRAIL_NETDECODE_H

#include "stats.h"

#include <stddef.h>
#include <stdint.h>

/* Where a DNS message came from. */
struct pkt_meta {
	uint64_t ts_ns; /* time of the frame that completed the message */
	uint8_t src[16], dst[16]; /* IPv4 in the first 4 bytes */
	uint16_t sport, dport;
	uint8_t ip_version; /* 4 or 6 */
	uint8_t transport; /* 17 UDP, 6 TCP */
	uint8_t has_vlan;
	uint16_t vlan;
};

/* Called once per complete DNS message (for TCP: without the length prefix).
 * The bytes are valid only during the call.  A UDP message the capture cut
 * short (snaplen) is passed with the bytes captured, if they hold at least
 * its ID and flags.  The callback must not call into the same netdecode. */
typedef void (*netdecode_msg_fn)(void *ctx, const struct pkt_meta *m, const uint8_t *dns,
				 size_t len);

/* Defaults (netdecode_default_limits) in brackets; memory per datagram and
 * per flow is described in frag.h and tcp_stream.h. */
struct netdecode_limits {
	uint16_t ports[16]; /* DNS ports (UDP and TCP); 0-terminated [53] */
	uint64_t frag_mem_max; /* bytes held in incomplete datagrams, all flows [4 MiB] */
	uint64_t frag_timeout_ns; /* from a datagram's first fragment [30 s] */
	uint64_t tcp_mem_max; /* bytes buffered in TCP streams, all flows [64 MiB] */
	uint64_t tcp_flow_max; /* number of TCP connections tracked [65536] */
	uint64_t tcp_flow_bytes_max; /* bytes buffered per direction of one flow [128 KiB; min 64] */
	uint64_t tcp_idle_ns; /* a flow with no segment for this long is dropped [60 s] */
};
void netdecode_default_limits(struct netdecode_limits *l);

struct netdecode_stats {
	uint64_t frames;
	uint64_t not_ip;
	uint64_t link_truncated;
	uint64_t ip_bad; /* bad version, header length, total length */
	uint64_t ip_truncated; /* captured less than the IP header says */
	uint64_t not_dns_port;
	uint64_t udp_bad;
	uint64_t udp_messages;
	uint64_t frag_fragments;
	uint64_t frag_reassembled;
	uint64_t frag_timeout; /* datagrams given up after frag_timeout_ns */
	uint64_t frag_mem_evicted; /* datagrams dropped to stay under frag_mem_max */
	uint64_t frag_overlap_conflict;
	uint64_t frag_bad;
	uint64_t frag_pending; /* gauge: incomplete datagrams held now */
	uint64_t frag_bytes; /* gauge */
	uint64_t tcp_segments;
	uint64_t tcp_messages;
	uint64_t tcp_flows; /* gauge */
	uint64_t tcp_bytes; /* gauge: bytes buffered */
	uint64_t tcp_flows_evicted; /* dropped to stay under tcp_flow_max / tcp_mem_max */
	uint64_t tcp_idle_closed;
	uint64_t tcp_gap_dropped; /* streams abandoned at a hole that never filled */
	uint64_t tcp_resync; /* mid-stream starts that found a length prefix */
	uint64_t tcp_bytes_discarded; /* stream bytes that never became a message */
	uint64_t tcp_flow_overflow; /* a direction exceeded tcp_flow_bytes_max */
};
extern const struct stat_desc netdecode_stat_desc[];
extern const size_t netdecode_stat_count;

struct netdecode;
struct netdecode *netdecode_new(const struct netdecode_limits *l, netdecode_msg_fn fn, void *ctx);
void netdecode_free(struct netdecode *nd);
/* Decode one frame; calls fn for each DNS message it completes.  Also expires
 * fragments and flows by the largest frame time seen so far. */
void netdecode_frame(struct netdecode *nd, int dlt, uint64_t ts_ns, const uint8_t *frame,
		     size_t caplen, uint32_t wire_len);
/* Expire fragments and idle TCP flows older than now_ns minus their timeout
 * (for when no frame arrives; a time before the latest frame's changes nothing). */
void netdecode_expire(struct netdecode *nd, uint64_t now_ns);
/* End of input: emit any complete message still buffered, count and drop the rest. */
void netdecode_finish(struct netdecode *nd);
const struct netdecode_stats *netdecode_stats(const struct netdecode *nd);

#endif
