/*
 * msgpack_out.h - logd's own small MessagePack encoder (the fluentd sink's
 * wire format), a transcoder from the JSON logd writes to MessagePack, and
 * the few reads the fluentd sink needs to understand an ack.
 *
 * The writer appends to a byte buffer that may be circular (a sink queue):
 * the byte at position p lives at buf[p % cap], and positions only grow.
 * Every write is checked against limit, the first position it may not
 * reach; a write that does not fit sets err and writes nothing, and every
 * later write is refused too, so a caller checks err once at the end and
 * rolls back by resetting pos.  Nothing here allocates.
 *
 * Encodings are the shortest MessagePack allows, except where a count has
 * to be patched in place once known: mp_array32, mp_uint32, and the
 * objects and arrays of mp_from_json (16-bit counts, 0xde/0xdc).
 */
#ifndef DNSTRAIL_LOGD_MSGPACK_OUT_H
#define DNSTRAIL_LOGD_MSGPACK_OUT_H

#include <stddef.h>
#include <stdint.h>

struct mpw {
	uint8_t *buf;
	size_t cap; /* bytes of buf; positions wrap modulo cap */
	uint64_t pos; /* next byte */
	uint64_t limit; /* pos may not pass it */
	int err; /* something did not fit (or was not encodable) */
};

/* A linear buffer of len bytes, written from its start. */
void mpw_linear(struct mpw *w, void *buf, size_t len);

void mp_raw(struct mpw *w, const void *p, size_t n);
void mp_nil(struct mpw *w);
void mp_bool(struct mpw *w, int v);
void mp_uint(struct mpw *w, uint64_t v);
void mp_int(struct mpw *w, int64_t v);
void mp_uint32(struct mpw *w, uint32_t v); /* always 5 bytes (0xce) */
void mp_str_hdr(struct mpw *w, size_t n);
void mp_str(struct mpw *w, const char *s, size_t n);
void mp_bin(struct mpw *w, const void *p, size_t n);
void mp_array(struct mpw *w, size_t n);
void mp_map(struct mpw *w, size_t n);
void mp_ext(struct mpw *w, int8_t type, const void *p, size_t n);
/* Fluentd's EventTime: ext type 0, 8 bytes, seconds and nanoseconds
 * big-endian. */
void mp_event_time(struct mpw *w, uint32_t sec, uint32_t nsec);
/* An array header of fixed width (5 bytes) whose count is patched later
 * with mp_patch_u32(w, at + 1, n); returns at, its position. */
uint64_t mp_array32(struct mpw *w, uint32_t n);
/* Overwrites 4 bytes at position at (already written) with v, big-endian. */
void mp_patch_u32(struct mpw *w, uint64_t at, uint32_t v);

/* Transcodes one JSON text s[0..n) - as logd writes it: objects, arrays,
 * strings with any JSON escape, integers, true, false, null; no floats -
 * into one MessagePack value.  Strings are decoded to UTF-8 (a \u00XX
 * escape becomes the UTF-8 of U+00XX, as any JSON parser reads it), object
 * members keep their order, integers take their shortest encoding.
 * Returns 0, or -1 when the text is not such JSON (or nests deeper than
 * MP_JSON_DEPTH); w->err says whether it did not fit. */
#define MP_JSON_DEPTH 16
int mp_from_json(struct mpw *w, const char *s, size_t n);

/* Reading, for acks.  mp_skip returns the length of the complete value at
 * p[0..n), 0 when more bytes are needed, -1 when it is not MessagePack.  mp_str_at returns the length of a
 * complete string value at p (0, -1 likewise) and points *s at its bytes,
 * *slen its length.  mp_map_at returns the header length of a map at p and
 * its size in *count (0, -1 likewise; -1 too when it is not a map). */
long mp_skip(const uint8_t *p, size_t n);
long mp_str_at(const uint8_t *p, size_t n, const uint8_t **s, size_t *slen);
long mp_map_at(const uint8_t *p, size_t n, uint32_t *count);

#endif
