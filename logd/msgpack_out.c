/*
 * msgpack_out.c - MessagePack encoding for the fluentd sink (msgpack_out.h).
 *
 * Every byte goes through mp_raw, the only place that checks room and
 * handles the wrap of a circular buffer, so the encoders above it cannot
 * write out of bounds whatever their arguments.  The JSON transcoder is a
 * recursive descent bounded by MP_JSON_DEPTH; it writes a string with
 * escapes in two passes (its decoded length first, for the header; one
 * without, the usual case, is copied as it is), and objects and arrays
 * with 16-bit count headers patched once their members are counted, so it
 * never needs a second buffer.
 */
#include "msgpack_out.h"

#include <string.h>

void mpw_linear(struct mpw *w, void *buf, size_t len)
{
	w->buf = buf;
	w->cap = len ? len : 1;
	w->pos = 0;
	w->limit = len;
	w->err = 0;
}

void mp_raw(struct mpw *w, const void *p, size_t n)
{
	if (w->err || w->limit - w->pos < n) {
		w->err = 1;
		return;
	}
	size_t off = (size_t)(w->pos % w->cap);
	if (off + n <= w->cap) {
		memcpy(w->buf + off, p, n);
	} else {
		size_t first = w->cap - off;
		memcpy(w->buf + off, p, first);
		memcpy(w->buf, (const uint8_t *)p + first, n - first);
	}
	w->pos += n;
}

static void put1(struct mpw *w, uint8_t b)
{
	if (w->err || w->limit == w->pos) {
		w->err = 1;
		return;
	}
	w->buf[w->pos++ % w->cap] = b;
}

/* Type byte and a big-endian integer of size bytes. */
static void put_be(struct mpw *w, uint8_t type, uint64_t v, unsigned size)
{
	uint8_t b[9];
	b[0] = type;
	for (unsigned i = 0; i < size; i++)
		b[1 + i] = (uint8_t)(v >> (8 * (size - 1 - i)));
	mp_raw(w, b, 1 + size);
}

void mp_nil(struct mpw *w)
{
	put1(w, 0xc0);
}

void mp_bool(struct mpw *w, int v)
{
	put1(w, v ? 0xc3 : 0xc2);
}

void mp_uint(struct mpw *w, uint64_t v)
{
	if (v < 128)
		put1(w, (uint8_t)v);
	else if (v <= UINT8_MAX)
		put_be(w, 0xcc, v, 1);
	else if (v <= UINT16_MAX)
		put_be(w, 0xcd, v, 2);
	else if (v <= UINT32_MAX)
		put_be(w, 0xce, v, 4);
	else
		put_be(w, 0xcf, v, 8);
}

void mp_int(struct mpw *w, int64_t v)
{
	if (v >= 0)
		mp_uint(w, (uint64_t)v);
	else if (v >= -32)
		put1(w, (uint8_t)(int8_t)v);
	else if (v >= INT8_MIN)
		put_be(w, 0xd0, (uint64_t)v, 1);
	else if (v >= INT16_MIN)
		put_be(w, 0xd1, (uint64_t)v, 2);
	else if (v >= INT32_MIN)
		put_be(w, 0xd2, (uint64_t)v, 4);
	else
		put_be(w, 0xd3, (uint64_t)v, 8);
}

void mp_uint32(struct mpw *w, uint32_t v)
{
	put_be(w, 0xce, v, 4);
}

void mp_str_hdr(struct mpw *w, size_t n)
{
	if (n < 32)
		put1(w, (uint8_t)(0xa0 | n));
	else if (n <= UINT8_MAX)
		put_be(w, 0xd9, n, 1);
	else if (n <= UINT16_MAX)
		put_be(w, 0xda, n, 2);
	else if (n <= UINT32_MAX)
		put_be(w, 0xdb, n, 4);
	else
		w->err = 1;
}

void mp_str(struct mpw *w, const char *s, size_t n)
{
	mp_str_hdr(w, n);
	mp_raw(w, s, n);
}

void mp_bin(struct mpw *w, const void *p, size_t n)
{
	if (n <= UINT8_MAX)
		put_be(w, 0xc4, n, 1);
	else if (n <= UINT16_MAX)
		put_be(w, 0xc5, n, 2);
	else if (n <= UINT32_MAX)
		put_be(w, 0xc6, n, 4);
	else
		w->err = 1;
	mp_raw(w, p, n);
}

static void container(struct mpw *w, size_t n, uint8_t fix, uint8_t t16)
{
	if (n < 16)
		put1(w, (uint8_t)(fix | n));
	else if (n <= UINT16_MAX)
		put_be(w, t16, n, 2);
	else if (n <= UINT32_MAX)
		put_be(w, (uint8_t)(t16 + 1), n, 4);
	else
		w->err = 1;
}

void mp_array(struct mpw *w, size_t n)
{
	container(w, n, 0x90, 0xdc);
}

void mp_map(struct mpw *w, size_t n)
{
	container(w, n, 0x80, 0xde);
}

void mp_ext(struct mpw *w, int8_t type, const void *p, size_t n)
{
	static const uint8_t fixext[17] = { [1] = 0xd4, [2] = 0xd5, [4] = 0xd6, [8] = 0xd7, [16] = 0xd8 };
	if (n <= 16 && fixext[n]) {
		put1(w, fixext[n]);
	} else if (n <= UINT8_MAX) {
		put_be(w, 0xc7, n, 1);
	} else if (n <= UINT16_MAX) {
		put_be(w, 0xc8, n, 2);
	} else if (n <= UINT32_MAX) {
		put_be(w, 0xc9, n, 4);
	} else {
		w->err = 1;
		return;
	}
	put1(w, (uint8_t)type);
	mp_raw(w, p, n);
}

void mp_event_time(struct mpw *w, uint32_t sec, uint32_t nsec)
{
	uint8_t b[8];
	for (int i = 0; i < 4; i++) {
		b[i] = (uint8_t)(sec >> (24 - 8 * i));
		b[4 + i] = (uint8_t)(nsec >> (24 - 8 * i));
	}
	mp_ext(w, 0, b, sizeof b);
}

uint64_t mp_array32(struct mpw *w, uint32_t n)
{
	uint64_t at = w->pos;
	put_be(w, 0xdd, n, 4);
	return at;
}

static void patch(struct mpw *w, uint64_t at, uint64_t v, unsigned size)
{
	if (w->err || at + size > w->pos)
		return; /* not written: nothing to patch */
	for (unsigned i = 0; i < size; i++)
		w->buf[(at + i) % w->cap] = (uint8_t)(v >> (8 * (size - 1 - i)));
}

void mp_patch_u32(struct mpw *w, uint64_t at, uint32_t v)
{
	patch(w, at, v, 4);
}

/* ------------------------------------------------------------ JSON */

struct jin {
	const char *p, *end;
};

static void skip_ws(struct jin *in)
{
	while (in->p < in->end && (*in->p == ' ' || *in->p == '\t' || *in->p == '\n' || *in->p == '\r'))
		in->p++;
}

static int hex4(const char *p, const char *end, unsigned *out)
{
	if (end - p < 4)
		return -1;
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
			   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
			   : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
						  : 16u;
		if (d == 16)
			return -1;
		v = v << 4 | d;
	}
	*out = v;
	return 0;
}

static size_t utf8_encode(uint8_t *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (uint8_t)(0xc0 | cp >> 6);
		o[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (uint8_t)(0xe0 | cp >> 12);
		o[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (uint8_t)(0xf0 | cp >> 18);
	o[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

/* One pass over a JSON string body (in->p just after the opening quote):
 * its decoded length, and with w its decoded bytes written.  Leaves in->p
 * after the closing quote.  -1 when malformed.  Runs of bytes that need no
 * decoding - nearly all of them - are measured and copied whole. */
static long j_string(struct jin *in, struct mpw *w)
{
	const char *p = in->p, *end = in->end;
	long len = 0;
	for (;;) {
		const char *run = p;
		while (p < end && *p != '"' && *p != '\\' && (uint8_t)*p >= 0x20)
			p++;
		if (p > run) {
			len += p - run;
			if (w)
				mp_raw(w, run, (size_t)(p - run));
		}
		if (p >= end || (uint8_t)*p < 0x20)
			return -1; /* unterminated, or a raw control character */
		if (*p++ == '"')
			break;
		if (p >= end)
			return -1;
		uint8_t tmp[4];
		size_t k = 1;
		switch (*p++) {
		case '"': tmp[0] = '"'; break;
		case '\\': tmp[0] = '\\'; break;
		case '/': tmp[0] = '/'; break;
		case 'b': tmp[0] = '\b'; break;
		case 'f': tmp[0] = '\f'; break;
		case 'n': tmp[0] = '\n'; break;
		case 'r': tmp[0] = '\r'; break;
		case 't': tmp[0] = '\t'; break;
		case 'u': {
			unsigned cp, lo;
			if (hex4(p, end, &cp) < 0)
				return -1;
			p += 4;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return -1; /* a low surrogate alone */
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, end, &lo) < 0 ||
				    lo < 0xdc00 || lo > 0xdfff)
					return -1;
				p += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			k = utf8_encode(tmp, cp);
			break;
		}
		default: return -1;
		}
		len += (long)k;
		if (w)
			mp_raw(w, tmp, k);
	}
	in->p = p;
	return len;
}

static int j_str_value(struct jin *in, struct mpw *w)
{
	in->p++; /* the quote */
	/* The usual string has no escape: its bytes are its value. */
	const char *q = memchr(in->p, '"', (size_t)(in->end - in->p));
	if (q && !memchr(in->p, '\\', (size_t)(q - in->p))) {
		for (const char *c = in->p; c < q; c++)
			if ((uint8_t)*c < 0x20)
				return -1;
		mp_str(w, in->p, (size_t)(q - in->p));
		in->p = q + 1;
		return 0;
	}
	struct jin copy = *in;
	long len = j_string(&copy, NULL);
	if (len < 0)
		return -1;
	mp_str_hdr(w, (size_t)len);
	j_string(in, w);
	return 0;
}

static int j_number(struct jin *in, struct mpw *w)
{
	int neg = 0;
	if (in->p < in->end && *in->p == '-') {
		neg = 1;
		in->p++;
	}
	const char *start = in->p;
	uint64_t v = 0;
	while (in->p < in->end && *in->p >= '0' && *in->p <= '9') {
		unsigned d = (unsigned)(*in->p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
		in->p++;
	}
	size_t digits = (size_t)(in->p - start);
	if (!digits || (digits > 1 && *start == '0'))
		return -1;
	if (in->p < in->end && (*in->p == '.' || *in->p == 'e' || *in->p == 'E'))
		return -1; /* logd writes no fractions */
	if (!neg) {
		mp_uint(w, v);
	} else {
		if (v > (uint64_t)INT64_MAX + 1)
			return -1;
		mp_int(w, v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v);
	}
	return 0;
}

static int j_literal(struct jin *in, const char *lit, size_t n)
{
	if ((size_t)(in->end - in->p) < n || memcmp(in->p, lit, n))
		return -1;
	in->p += n;
	return 0;
}

static void patch16(struct mpw *w, uint64_t at, uint32_t v)
{
	patch(w, at + 1, v, 2);
}

static int j_value(struct jin *in, struct mpw *w, int depth);

/* '{' or '[' at in->p: members until the closing bracket, counted into a
 * 16-bit header patched at the end. */
static int j_container(struct jin *in, struct mpw *w, int depth, int object)
{
	if (depth >= MP_JSON_DEPTH)
		return -1;
	in->p++;
	uint64_t at = w->pos;
	put_be(w, object ? 0xde : 0xdc, 0, 2);
	uint32_t n = 0;
	char close = object ? '}' : ']';
	skip_ws(in);
	if (in->p < in->end && *in->p == close) {
		in->p++;
		return 0;
	}
	for (;;) {
		skip_ws(in);
		if (object) {
			if (in->p >= in->end || *in->p != '"' || j_str_value(in, w) < 0)
				return -1;
			skip_ws(in);
			if (in->p >= in->end || *in->p++ != ':')
				return -1;
		}
		if (j_value(in, w, depth + 1) < 0)
			return -1;
		if (++n > UINT16_MAX)
			return -1;
		skip_ws(in);
		if (in->p >= in->end)
			return -1;
		char c = *in->p++;
		if (c == close)
			break;
		if (c != ',')
			return -1;
	}
	patch16(w, at, n);
	return 0;
}

static int j_value(struct jin *in, struct mpw *w, int depth)
{
	skip_ws(in);
	if (in->p >= in->end)
		return -1;
	switch (*in->p) {
	case '{': return j_container(in, w, depth, 1);
	case '[': return j_container(in, w, depth, 0);
	case '"': return j_str_value(in, w);
	case 't':
		if (j_literal(in, "true", 4) < 0)
			return -1;
		mp_bool(w, 1);
		return 0;
	case 'f':
		if (j_literal(in, "false", 5) < 0)
			return -1;
		mp_bool(w, 0);
		return 0;
	case 'n':
		if (j_literal(in, "null", 4) < 0)
			return -1;
		mp_nil(w);
		return 0;
	default: return j_number(in, w);
	}
}

int mp_from_json(struct mpw *w, const char *s, size_t n)
{
	struct jin in = { s, s + n };
	if (j_value(&in, w, 0) < 0)
		return -1;
	skip_ws(&in);
	return in.p == in.end ? 0 : -1;
}

/* ------------------------------------------------------------ reading */

/* Header of the value at p: its length (0: incomplete, -1: not
 * MessagePack), the values it contains, the payload bytes after it. */
static long header(const uint8_t *p, size_t n, uint64_t *children, uint64_t *payload)
{
	if (!n)
		return 0;
	uint8_t b = p[0];
	*children = 0;
	*payload = 0;
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
		return 1;
	if (b <= 0x8f) {
		*children = 2u * (b & 15);
		return 1;
	}
	if (b <= 0x9f) {
		*children = b & 15;
		return 1;
	}
	if (b <= 0xbf) {
		*payload = b & 31;
		return 1;
	}
	static const uint8_t fixed[] = {
		[0xca - 0xc4] = 5, [0xcb - 0xc4] = 9, [0xcc - 0xc4] = 2, [0xcd - 0xc4] = 3,
		[0xce - 0xc4] = 5, [0xcf - 0xc4] = 9, [0xd0 - 0xc4] = 2, [0xd1 - 0xc4] = 3,
		[0xd2 - 0xc4] = 5, [0xd3 - 0xc4] = 9, [0xd4 - 0xc4] = 3, [0xd5 - 0xc4] = 4,
		[0xd6 - 0xc4] = 6, [0xd7 - 0xc4] = 10, [0xd8 - 0xc4] = 18,
	};
	if (b >= 0xc4 && b <= 0xd8 && fixed[b - 0xc4]) {
		*payload = fixed[b - 0xc4] - 1u; /* the caller checks it is there */
		return 1;
	}
	unsigned size; /* of the length field */
	int ext = 0, kind; /* 0 payload, 1 array, 2 map */
	switch (b) {
	case 0xc4: case 0xd9: size = 1; kind = 0; break;
	case 0xc5: case 0xda: size = 2; kind = 0; break;
	case 0xc6: case 0xdb: size = 4; kind = 0; break;
	case 0xc7: size = 1; kind = 0; ext = 1; break;
	case 0xc8: size = 2; kind = 0; ext = 1; break;
	case 0xc9: size = 4; kind = 0; ext = 1; break;
	case 0xdc: size = 2; kind = 1; break;
	case 0xdd: size = 4; kind = 1; break;
	case 0xde: size = 2; kind = 2; break;
	case 0xdf: size = 4; kind = 2; break;
	default: return -1; /* 0xc1: never used */
	}
	if (n < 1 + size + (unsigned)ext)
		return 0;
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v = v << 8 | p[1 + i];
	if (kind == 0)
		*payload = v;
	else
		*children = kind == 2 ? 2 * v : v;
	return (long)(1 + size + (unsigned)ext);
}

long mp_skip(const uint8_t *p, size_t n)
{
	uint64_t need = 1;
	size_t off = 0;
	while (need) {
		uint64_t children, payload;
		long h = header(p + off, n - off, &children, &payload);
		if (h <= 0)
			return h;
		if (payload > n - off - (size_t)h)
			return 0;
		off += (size_t)h + (size_t)payload;
		/* Each value takes a byte at least, so this loop ends within n
		 * turns however large a count claims to be. */
		need = need - 1 + children;
	}
	return off > (size_t)0x7fffffff ? -1 : (long)off;
}

long mp_str_at(const uint8_t *p, size_t n, const uint8_t **s, size_t *slen)
{
	if (!n)
		return 0;
	uint8_t b = p[0];
	if (!((b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb) || (b >= 0xc4 && b <= 0xc6)))
		return -1; /* str, or bin from a peer that packs strings as raw bytes */
	uint64_t children, payload;
	long h = header(p, n, &children, &payload);
	if (h <= 0)
		return h;
	if (payload > n - (size_t)h)
		return 0;
	*s = p + h;
	*slen = (size_t)payload;
	return h + (long)payload;
}

long mp_map_at(const uint8_t *p, size_t n, uint32_t *count)
{
	if (!n)
		return 0;
	uint8_t b = p[0];
	if (!((b >= 0x80 && b <= 0x8f) || b == 0xde || b == 0xdf))
		return -1;
	uint64_t children, payload;
	long h = header(p, n, &children, &payload);
	if (h > 0)
		*count = (uint32_t)(children / 2);
	return h;
}
