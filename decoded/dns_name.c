/*
 * dns_name.c - name decompression and presentation (dns_name.h).
 *
 * Compression pointers and loops.  A pointer that points strictly before the
 * start of the label run containing it (the name's start, or the previous
 * pointer's target) is what every compressor writes and can never loop: the
 * run starts strictly decrease.  Any other pointer - forward, or back into the
 * name being read - is not refused: tshark follows them, and the only capture
 * of the corpus that has one (suricata_dns-forward-pointer.pcap, a client
 * query whose first question is a pointer to the second) is read by tshark
 * and by Suricata as codemonkey.net, so a sensor that refused it would lose a
 * real query.  Only such pointers can make a loop, and a loop never ends, so
 * it runs into the hop bound (DNS_POINTER_HOPS_MAX) or the 255-byte limit:
 * either one, once a non-backward pointer was followed, is reported as a
 * loop (DNS_NAME_LOOP); a name that is merely too long is DNS_NAME_BAD.
 * Every hop costs O(1) (no list of visited targets), and a name at most
 * DNS_POINTER_HOPS_MAX hops and 255 label bytes: the work per name is
 * bounded by a constant, and per message linear in its size.
 * (tcpdump_dns_fwdptr.pcap, despite its name, has no name that decodes either
 * way: tshark shows "<Name too long>" for all of it.)
 */
#include "dns_name.h"

#include <stdbool.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* 0: copy, 1: escape as \c, 2: escape as \DDD (dig's escaping, see BIND's
 * dns_name_totext). */
static const uint8_t label_escape[256] = {
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 0, 1, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0,
	1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

void dns_label_text(struct out *o, const uint8_t *s, size_t n)
{
	if (n > SIZE_MAX / 4 || !out_room(o, 4 * n))
		return;
	char *p = o->p;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];
		uint8_t how = label_escape[c];
		if (how == 0) { /* the common case first: no jump table per byte */
			*p++ = (char)c;
		} else if (how == 1) {
			*p++ = '\\';
			*p++ = (char)c;
		} else {
			*p++ = '\\';
			*p++ = (char)('0' + c / 100);
			*p++ = (char)('0' + c / 10 % 10);
			*p++ = (char)('0' + c % 10);
		}
	}
	o->p = p;
}

#if defined(__SSE2__)
/* Bit i set when byte i of v is copied as it is (label_escape 0): within
 * 0x21-0x7e (signed compares: bytes from 0x80 are negative) and none of
 * " $ ( ) . ; @ \. */
static inline unsigned plain16(__m128i v)
{
	__m128i in = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(0x20)),
				   _mm_cmplt_epi8(v, _mm_set1_epi8(0x7f)));
	__m128i sp = _mm_or_si128(
		_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
					  _mm_cmpeq_epi8(v, _mm_set1_epi8('$'))),
			     _mm_or_si128(_mm_cmpeq_epi8(_mm_and_si128(v, _mm_set1_epi8((char)0xfe)),
							 _mm_set1_epi8('(')),
					  _mm_cmpeq_epi8(v, _mm_set1_epi8('.')))),
		_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(';')),
					  _mm_cmpeq_epi8(v, _mm_set1_epi8('@'))),
			     _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
	return (unsigned)_mm_movemask_epi8(_mm_andnot_si128(sp, in));
}
#endif

/* dns_label_text for a label with `readable` bytes from s on (n of them the
 * label): 16 at a time while they need no escape, the rest byte by byte.
 * Writes exactly what dns_label_text writes, and is cut short (o->full) in
 * exactly the same cases: the fast part runs only when the output has room
 * for the worst case and a 16-byte store besides. */
static void label_text(struct out *o, const uint8_t *s, size_t n, size_t readable)
{
#if defined(__SSE2__)
	if (o->full || (size_t)(o->end - o->p) < 4 * n + 16) {
		dns_label_text(o, s, n);
		return;
	}
	size_t i = 0;
	while (i < n && i + 16 <= readable) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		size_t left = n - i;
		unsigned want = left >= 16 ? 0xffffu : (1u << left) - 1;
		if ((plain16(v) & want) != want)
			break;
		_mm_storeu_si128((__m128i *)(void *)(o->p + i), v);
		i += left >= 16 ? 16 : left;
	}
	o->p += i;
	if (i < n)
		dns_label_text(o, s + i, n - i);
#else
	(void)readable;
	dns_label_text(o, s, n);
#endif
}

static enum dns_name_status fail(struct wire *cur, enum dns_name_status why)
{
	cur->err = WIRE_ERANGE;
	return why;
}

enum dns_name_status dns_name_read(const struct wire *msg, struct wire *cur, struct out *o,
				   struct dns_name_ref *ref)
{
	struct wire jump; /* reads after the first pointer: the whole message */
	struct wire *w = cur;
	size_t run_start = wire_offset(cur);
	bool wandered = false; /* a non-backward pointer was followed */
	unsigned hops = 0;
	size_t wire_len = 1; /* the root's length byte */
	int labels = 0, keyed = 0;

	for (;;) {
		size_t at = wire_offset(w);
		uint8_t c = wire_u8(w);
		if (w->err)
			return fail(cur, w == cur ? DNS_NAME_TRUNCATED : DNS_NAME_BAD);
		if (c == 0) {
			if (!keyed && ref)
				ref->key = (uint32_t)at;
			break;
		}
		if ((c & 0xc0) == 0xc0) {
			uint8_t lo = wire_u8(w);
			if (w->err)
				return fail(cur, w == cur ? DNS_NAME_TRUNCATED : DNS_NAME_BAD);
			uint16_t target = (uint16_t)((c & 0x3f) << 8 | lo);
			if (target >= wire_size(msg))
				return fail(cur, DNS_NAME_BAD);
			if (++hops > DNS_POINTER_HOPS_MAX)
				return fail(cur, DNS_NAME_LOOP);
			if (target >= run_start)
				wandered = true;
			if (w == cur) {
				jump = *msg;
				w = &jump;
			}
			wire_seek(w, target);
			run_start = target;
			continue;
		}
		if (c & 0xc0) /* 0x40 extended (RFC 6891 9), 0x80 reserved */
			return fail(cur, DNS_NAME_BAD);
		if (!keyed && ref) {
			ref->key = (uint32_t)at;
			keyed = 1;
		}
		wire_len += (size_t)c + 1;
		if (wire_len > DNS_NAME_WIRE_MAX)
			return fail(cur, wandered ? DNS_NAME_LOOP : DNS_NAME_BAD);
		const uint8_t *label = wire_bytes(w, c);
		if (!label)
			return fail(cur, w == cur ? DNS_NAME_TRUNCATED : DNS_NAME_BAD);
		if (o) {
			if (labels)
				out_char(o, '.');
			label_text(o, label, c, (size_t)(w->end - label));
		}
		labels++;
	}
	if (o && !labels)
		out_char(o, '.');
	if (ref)
		ref->hops = hops;
	return DNS_NAME_OK;
}
