/*
 * tcp_stream.h - TCP stream reassembly and DNS length-prefix framing for
 * netdecode (RFC 7766: each message is preceded by a 2-byte length).
 *
 * A flow is a TCP connection seen on a DNS port; each of its two directions
 * is reassembled on its own.  Per direction:
 *
 *  - Data is kept in one window buffer that starts at the first byte not yet
 *    framed ("base") and never grows past tcp_flow_bytes_max.  Out-of-order
 *    segments are placed at their offset; up to TCP_MAX_RANGES disjoint byte
 *    ranges are tracked.  Where segments overlap (retransmissions with
 *    different bytes included) the bytes that arrived first win.
 *  - "Synced": base is the start of a length prefix.  A direction is synced
 *    from its SYN (data on the SYN, TCP Fast Open, included) or from the
 *    peer's SYN-ACK.  A direction first seen mid-stream starts unsynced and
 *    resynchronises: it scans for an offset holding a length L followed by a
 *    DNS header (QDCOUNT 1, or 0 with answers; a known opcode; counts that
 *    fit in L) and a message whose questions and RRs walk to exactly L
 *    bytes; the bytes before it are discarded (tcp_resync, tcp_bytes_discarded).
 *  - A hole becomes permanent when the peer has acknowledged bytes beyond
 *    it (the receiver had them: the capture missed them) and this direction
 *    then sends again without filling it (waiting for that next segment
 *    tolerates captures that put a data segment just after the ACK of it),
 *    when data beyond it would push the window past tcp_flow_bytes_max, or
 *    when the flow ends (FIN+FIN, RST, idle timeout, eviction,
 *    netdecode_finish).  Then the
 *    message the hole cuts is dropped (tcp_gap_dropped).  If the length of
 *    that message was seen and the hole ends inside it, framing continues at
 *    its end; otherwise the direction resynchronises after the hole.
 *  - A message longer than the window (2 + L > tcp_flow_bytes_max) is
 *    skipped by sequence number without buffering (tcp_flow_overflow).
 *  - A resync scan does a bounded amount of work per segment (RESYNC_BUDGET
 *    name labels), so crafted bytes cannot make it quadratic in the window.
 *  - tcp_flow_bytes_max below 64 is taken as 64.
 *
 * Bounds: at most tcp_flow_max flows (least recently active evicted first,
 * tcp_flows_evicted); window buffers of all flows together stay under
 * tcp_mem_max (same eviction).  Memory per flow: sizeof(struct tcp_flow)
 * (448 bytes on x86-64) plus each direction's window, allocated only while that
 * direction holds an unfinished message: 2 KB for an ordinary message, up to
 * tcp_flow_bytes_max.  Up to TCP_SPARE_BUFS empty 2 KB windows are kept for
 * reuse (not counted in tcp_bytes).
 *
 * A message's pkt_meta carries the time and VLAN of the latest segment with
 * data in its direction when it is emitted (normally the one completing it).
 *
 * Flows, their hash table and their windows are owned by struct tcp_table;
 * no state is global.  Sequence numbers compare modulo 2^32.
 */
#ifndef DNSTRAIL_TCP_STREAM_H
#define DNSTRAIL_TCP_STREAM_H

#include "ip_pkt.h"

#define TCP_MAX_RANGES 16
#define TCP_SPARE_BUFS 64
#define TCP_SMALL_BUF 2048

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

struct tcp_flow;

struct tcp_table {
	uint64_t flow_max, mem_max, window_max, idle_ns;
	struct netdecode_stats *st;
	struct nd_sink sink;
	uint64_t seed;
	struct tcp_flow **buckets;
	uint32_t bucket_mask;
	struct tcp_flow *lru_head, *lru_tail; /* least recently active first */
	struct tcp_flow *free_list;
	void **slabs;
	size_t nslabs, slab_cap;
	uint8_t *spare[TCP_SPARE_BUFS];
	size_t nspare;
};

/* One TCP segment on a DNS port; meta holds addresses, ports, time, VLAN.
 * now_ns is the decoder's clock (the largest frame time so far), which
 * orders flows for the idle timeout even when frame times step back. */
struct tcp_seg {
	struct pkt_meta meta;
	uint64_t now_ns;
	uint32_t seq, ack;
	uint8_t flags;
	struct span payload;
};

int tcp_init(struct tcp_table *t, const struct netdecode_limits *l, struct netdecode_stats *st,
	     struct nd_sink sink, uint64_t seed);
void tcp_free(struct tcp_table *t);
void tcp_input(struct tcp_table *t, const struct tcp_seg *s);
/* Closes flows idle for tcp_idle_ns at packet time now_ns (never decreasing). */
void tcp_expire(struct tcp_table *t, uint64_t now_ns);
/* Ends every flow: emits what can still be framed, counts the rest. */
void tcp_flush(struct tcp_table *t);

#endif
