/*
 * dns_out.h - a bounded text writer and the small formatters the DNS
 * renderers need (decimal, hex, base64, base32hex, IPv4, IPv6, times),
 * written by hand because snprintf is too slow for the per-RR hot path.
 *
 * Invariants:
 *   - p never passes end: a write that does not fit writes nothing of itself
 *     and sets `full`, which is sticky; the caller checks full once when the
 *     text is complete and then treats the text as not rendered.
 *   - The writer never NUL-terminates: text goes into the rec_msg text area
 *     by offset and length.
 *   - Everything produced is printable ASCII (0x20-0x7e).
 */
#ifndef DNSTRAIL_DNS_OUT_H
#define DNSTRAIL_DNS_OUT_H

#include "textfmt.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct out {
	char *p; /* next byte to write */
	char *end; /* one past the last writable byte */
	char *start; /* first byte, for out_len */
	int full; /* sticky: something did not fit */
};

static inline struct out out_init(char *buf, size_t cap)
{
	struct out o = { buf, buf + cap, buf, 0 };
	return o;
}

static inline size_t out_len(const struct out *o)
{
	return (size_t)(o->p - o->start);
}

/* Room for n more bytes?  Sets full when not. */
static inline int out_room(struct out *o, size_t n)
{
	if (o->full)
		return 0;
	if ((size_t)(o->end - o->p) < n) {
		o->full = 1;
		return 0;
	}
	return 1;
}

static inline void out_char(struct out *o, char c)
{
	if (out_room(o, 1))
		*o->p++ = c;
}

static inline void out_mem(struct out *o, const char *s, size_t n)
{
	if (out_room(o, n)) {
		memcpy(o->p, s, n);
		o->p += n;
	}
}

static inline void out_str(struct out *o, const char *s)
{
	out_mem(o, s, strlen(s));
}

/* Unsigned decimal, no leading zeros. */
static inline void out_u64(struct out *o, uint64_t v)
{
	unsigned n = fmt_u64_len(v);
	if (out_room(o, n))
		o->p = fmt_u64_n(o->p, v, n);
}

static inline void out_u32(struct out *o, uint32_t v)
{
	out_u64(o, v);
}

/* Exactly `width` decimal digits, zero-padded (v must fit). */
static inline void out_u32w(struct out *o, uint32_t v, unsigned width)
{
	if (!out_room(o, width))
		return;
	for (unsigned i = width; i-- > 0;) {
		o->p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	o->p += width;
}

/* Hex of n bytes, upper case (dig prints DS, SSHFP, TLSA... digests so) or
 * lower case (EDNS option values, as dig's NSID/COOKIE lines). */
void out_hex(struct out *o, const uint8_t *b, size_t n, int upper);
/* RFC 4648 base64 with padding, no line breaks (dig +nosplit). */
void out_base64(struct out *o, const uint8_t *b, size_t n);
/* RFC 4648 base32hex, upper case, no padding (NSEC3 next hashed owner). */
void out_base32hex(struct out *o, const uint8_t *b, size_t n);
/* Dotted quad of 4 bytes. */
void out_ipv4(struct out *o, const uint8_t a[4]);
/* RFC 5952 text of 16 bytes, as inet_ntop prints it (embedded IPv4 for
 * ::ffff:a.b.c.d and ::a.b.c.d). */
void out_ipv6(struct out *o, const uint8_t a[16]);
/* Seconds since 1970 (unsigned 32-bit, no serial-number wrap) as
 * YYYYMMDDHHmmSS, the RFC 4034 3.2 form dig prints for RRSIG. */
void out_time14(struct out *o, uint32_t t);
/* An RR type mnemonic, or TYPE<n> (RFC 3597). */
void out_type(struct out *o, uint16_t type);

#endif
