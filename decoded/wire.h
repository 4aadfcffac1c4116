/*
 * wire.h - a bounds-checked read cursor over a byte buffer (DNS wire format),
 * after the idea of Knot DNS's wire_ctx.
 *
 * Invariants:
 *   - begin <= pos <= end at all times; nothing is ever read outside
 *     [begin, end).
 *   - The error is sticky: the first read, skip or seek that would leave the
 *     buffer sets err and leaves pos where it was; from then on every
 *     operation is a no-op that returns 0 (or NULL).  Callers read a whole
 *     unit (a header, an RR, an rdata field list) and test err once at the end,
 *     instead of testing every read.
 *   - Offsets (wire_offset, wire_seek) are relative to begin, which for the DNS
 *     parser is always the first byte of the message, so that a sub-cursor over
 *     one RR's rdata still speaks in message offsets (compression pointers are
 *     message offsets).
 *
 * Every multi-byte integer is big-endian (network order).
 */
#ifndef DNSTRAIL_WIRE_H
#define DNSTRAIL_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum wire_error {
	WIRE_OK = 0,
	WIRE_ERANGE = 1, /* a read, skip or seek past the end of the buffer */
};

struct wire {
	const uint8_t *begin; /* offset 0 */
	const uint8_t *pos; /* next byte to read */
	const uint8_t *end; /* one past the last readable byte */
	int err; /* enum wire_error; sticky */
};

static inline struct wire wire_init(const uint8_t *buf, size_t len)
{
	struct wire w = { buf, buf, buf + len, WIRE_OK };
	return w;
}

static inline size_t wire_avail(const struct wire *w)
{
	return (size_t)(w->end - w->pos);
}

static inline size_t wire_offset(const struct wire *w)
{
	return (size_t)(w->pos - w->begin);
}

/* Size of the addressable range [begin, end). */
static inline size_t wire_size(const struct wire *w)
{
	return (size_t)(w->end - w->begin);
}

/* Can n more bytes be read?  Sets the error when not. */
static inline int wire_need(struct wire *w, size_t n)
{
	if (w->err)
		return 0;
	if (wire_avail(w) < n) {
		w->err = WIRE_ERANGE;
		return 0;
	}
	return 1;
}

static inline uint8_t wire_u8(struct wire *w)
{
	if (!wire_need(w, 1))
		return 0;
	return *w->pos++;
}

static inline uint16_t wire_u16(struct wire *w)
{
	if (!wire_need(w, 2))
		return 0;
	uint16_t v = (uint16_t)((unsigned)w->pos[0] << 8 | w->pos[1]);
	w->pos += 2;
	return v;
}

static inline uint32_t wire_u32(struct wire *w)
{
	if (!wire_need(w, 4))
		return 0;
	uint32_t v = (uint32_t)w->pos[0] << 24 | (uint32_t)w->pos[1] << 16 |
		     (uint32_t)w->pos[2] << 8 | w->pos[3];
	w->pos += 4;
	return v;
}

/* Big-endian fields of a fixed-size block taken with wire_bytes: one bounds
 * check for the block instead of one per field. */
static inline uint16_t wire_be16_at(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t wire_be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Looks at the byte `at` bytes ahead without moving or touching the error:
 * 1 and *v set when it exists, else 0. */
static inline int wire_peek_u8(const struct wire *w, size_t at, uint8_t *v)
{
	if (w->err || wire_avail(w) <= at)
		return 0;
	*v = w->pos[at];
	return 1;
}

/* The next n bytes in place (valid while the buffer is), cursor advanced;
 * NULL on error.  A zero-length read returns pos, never NULL, unless in error. */
static inline const uint8_t *wire_bytes(struct wire *w, size_t n)
{
	if (!wire_need(w, n))
		return NULL;
	const uint8_t *p = w->pos;
	w->pos += n;
	return p;
}

/* Copies n bytes into dst (zeroes it on error, so it is never uninitialised). */
static inline void wire_read(struct wire *w, void *dst, size_t n)
{
	const uint8_t *p = wire_bytes(w, n);
	if (p)
		memcpy(dst, p, n);
	else
		memset(dst, 0, n);
}

static inline void wire_skip(struct wire *w, size_t n)
{
	if (wire_need(w, n))
		w->pos += n;
}

/* Moves to offset off from begin; off == size is allowed (at the end). */
static inline void wire_seek(struct wire *w, size_t off)
{
	if (w->err)
		return;
	if (off > wire_size(w)) {
		w->err = WIRE_ERANGE;
		return;
	}
	w->pos = w->begin + off;
}

/* Splits off the next n bytes as a cursor of their own (same begin, so the
 * same offsets) and advances w past them.  On error the sub-cursor is empty
 * and in error too. */
static inline struct wire wire_sub(struct wire *w, size_t n)
{
	struct wire s = { w->begin, w->pos, w->pos, WIRE_ERANGE };
	if (!wire_need(w, n))
		return s;
	s.end = w->pos + n;
	s.err = WIRE_OK;
	w->pos += n;
	return s;
}

#endif
