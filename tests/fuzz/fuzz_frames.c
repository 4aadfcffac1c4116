/*
 * fuzz_frames.c - libFuzzer harness for netdecode: the input is a sequence
 * of frames fed into one decoder, then netdecode_finish and netdecode_free.
 *
 * Input layout:
 *   byte 0      configuration: bit 0 set = default limits, clear = tiny
 *               limits (so eviction, overflow and timeout paths run)
 *   then, repeated until the input ends:
 *     u8  sel   bits 0-2: link type (Ethernet, SLL, SLL2, raw, IPv4, IPv6,
 *               NULL, LOOP); bit 6: call netdecode_expire first; bit 7: the
 *               frame is reported longer on the wire than captured
 *     u8  step  time advance: step * 10 ms; 255 = 100 s
 *     u16 len   little-endian, cut to what is left
 *     len bytes the frame
 *
 * The callback reads every byte it is given, so a message pointing outside
 * valid memory shows up under AddressSanitizer (or valgrind in the replay
 * build), and checks what it can of the metadata.
 */
#include "../../decoded/netdecode.h"

#include <pcap/dlt.h>
#include <stdlib.h>
#include <string.h>

static const int dlts[8] = { DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW,
			     DLT_IPV4,   DLT_IPV6,      DLT_NULL,       DLT_LOOP };

struct sum {
	uint64_t bytes;
	uint64_t last_ts;
};

static void on_msg(void *ctx, const struct pkt_meta *m, const uint8_t *dns, size_t len)
{
	struct sum *s = ctx;
	if (len == 0 || len > 65535 || (m->transport != 6 && m->transport != 17) ||
	    (m->ip_version != 4 && m->ip_version != 6))
		abort();
	for (size_t i = 0; i < len; i++)
		s->bytes += dns[i];
	s->last_ts = m->ts_ns;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct netdecode_limits l;
	netdecode_default_limits(&l);
	l.ports[0] = 53;
	l.ports[1] = 5353;
	l.ports[2] = 0;
	if (!(data[0] & 1)) {
		l.frag_mem_max = 3000;
		l.frag_timeout_ns = 1000000000;
		l.tcp_flow_max = 4;
		l.tcp_flow_bytes_max = 300;
		l.tcp_mem_max = 6000;
		l.tcp_idle_ns = 2000000000;
	}
	struct sum s = { 0, 0 };
	struct netdecode *nd = netdecode_new(&l, on_msg, &s);
	if (!nd)
		return 0;
	uint64_t ts = 1000000000;
	size_t pos = 1;
	uint8_t *frame = NULL;
	while (size - pos >= 4) {
		uint8_t sel = data[pos], step = data[pos + 1];
		size_t len = (size_t)data[pos + 2] | (size_t)data[pos + 3] << 8;
		pos += 4;
		if (len > size - pos)
			len = size - pos;
		ts += step == 255 ? 100000000000ull : (uint64_t)step * 10000000;
		if (sel & 0x40)
			netdecode_expire(nd, ts);
		/* A copy of exactly len bytes, so reading past it is caught. */
		free(frame);
		frame = malloc(len ? len : 1);
		if (!frame)
			break;
		memcpy(frame, data + pos, len);
		uint32_t wire = (uint32_t)len + (sel & 0x80 ? 100 : 0);
		netdecode_frame(nd, dlts[sel & 7], ts, frame, len, wire);
		pos += len;
	}
	free(frame);
	netdecode_finish(nd);
	const struct netdecode_stats *st = netdecode_stats(nd);
	/* After finish nothing may be held. */
	if (st->tcp_flows || st->tcp_bytes || st->frag_pending || st->frag_bytes)
		abort();
	netdecode_free(nd);
	return 0;
}
