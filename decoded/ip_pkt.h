/*
 * ip_pkt.h - what netdecode.c, frag.c and tcp_stream.c share internally:
 * bounds-checked readers over a byte span, the keyed hash used by their
 * tables, and the sink that receives finished DNS messages.
 *
 * Invariant: every header field is read through span_*(), which checks the
 * offset against the span's length before touching memory; a span never
 * points outside the buffer it was cut from.  Nothing here is public API.
 */
#ifndef DNSTRAIL_IP_PKT_H
#define DNSTRAIL_IP_PKT_H

#include "hash.h"
#include "netdecode.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define IPPROTO_NUM_HOPOPTS 0
#define IPPROTO_NUM_ICMP 1
#define IPPROTO_NUM_TCP 6
#define IPPROTO_NUM_UDP 17
#define IPPROTO_NUM_ROUTING 43
#define IPPROTO_NUM_FRAGMENT 44
#define IPPROTO_NUM_DSTOPTS 60

/* A read-only view of n bytes. */
struct span {
	const uint8_t *p;
	size_t n;
};

static inline struct span span_make(const uint8_t *p, size_t n)
{
	struct span s = { p, n };
	return s;
}

static inline bool span_u8(struct span s, size_t off, uint8_t *v)
{
	if (off >= s.n)
		return false;
	*v = s.p[off];
	return true;
}

static inline bool span_be16(struct span s, size_t off, uint16_t *v)
{
	if (s.n < 2 || off > s.n - 2)
		return false;
	*v = (uint16_t)(s.p[off] << 8 | s.p[off + 1]);
	return true;
}

static inline bool span_be32(struct span s, size_t off, uint32_t *v)
{
	if (s.n < 4 || off > s.n - 4)
		return false;
	*v = (uint32_t)s.p[off] << 24 | (uint32_t)s.p[off + 1] << 16 | (uint32_t)s.p[off + 2] << 8 |
	     (uint32_t)s.p[off + 3];
	return true;
}

/* out = bytes [off, off + len) of s; false (out untouched) if they are not all in s. */
static inline bool span_slice(struct span s, size_t off, size_t len, struct span *out)
{
	if (off > s.n || len > s.n - off)
		return false;
	out->p = s.p + off;
	out->n = len;
	return true;
}

/* Bytes from off to the end (empty when off is past the end). */
static inline struct span span_from(struct span s, size_t off)
{
	if (off >= s.n)
		return span_make(s.p, 0);
	return span_make(s.p + off, s.n - off);
}

static inline bool span_copy(struct span s, size_t off, void *dst, size_t len)
{
	struct span sub;
	if (!span_slice(s, off, len, &sub))
		return false;
	if (len)
		memcpy(dst, sub.p, len);
	return true;
}

/* Where finished messages go. */
struct nd_sink {
	netdecode_msg_fn fn;
	void *ctx;
};

static inline void sink_emit(const struct nd_sink *k, const struct pkt_meta *m, const uint8_t *dns,
			     size_t len)
{
	k->fn(k->ctx, m, dns, len);
}

/* Hash for the fragment and flow tables (hash.h's full mix per word).
 * Keyed per instance, so that remote senders cannot aim many keys at one
 * bucket without knowing the key. */
static inline uint64_t nd_hash_words(const uint64_t *w, size_t n, uint64_t seed)
{
	uint64_t h = seed;
	for (size_t i = 0; i < n; i++)
		h = hash_mix(h ^ w[i]) + (uint64_t)i;
	return h;
}

/* Signed distance from sequence number b to a, modulo 2^32. */
static inline int32_t seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

#endif
