/*
 * jsonw.c - JSON strings, integers, addresses and timestamps (jsonw.h).
 *
 * The hot path is jw_str on short, clean ASCII names: it moves 8 bytes at a
 * time while a word holds nothing that needs escaping and falls back to one
 * byte at a time only around a byte that does.  Nothing here calls snprintf.
 */
#include "jsonw.h"

#include "textfmt.h"

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

static const char hexd[16] = "0123456789abcdef";

/* Whether any byte of w needs more than a copy: below 0x20, '"', '\\', or
 * 0x80 and above.  Each test is exact for "some byte matches" (the classic
 * has-zero-byte and has-less-than tricks). */
static inline int word_needs_care(uint64_t w)
{
	uint64_t lt20 = (w - ONES * 0x20) & ~w;
	uint64_t q = w ^ (ONES * '"');
	uint64_t bs = w ^ (ONES * '\\');
	uint64_t zq = (q - ONES) & ~q;
	uint64_t zb = (bs - ONES) & ~bs;
	return ((lt20 | zq | zb | w) & HIGHS) != 0;
}

size_t jw_utf8_len(const uint8_t *s, const uint8_t *end)
{
	size_t left = (size_t)(end - s);
	uint8_t c = s[0];
	if (c < 0x80)
		return 1;
	/* Second-byte range depends on the lead byte: this is what rules out
	 * overlongs (E0, F0), surrogates (ED) and code points past U+10FFFF
	 * (F4). */
	uint8_t lo = 0x80, hi = 0xbf;
	size_t n;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (left < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

static inline char *esc_u00(char *p, uint8_t c)
{
	p[0] = '\\';
	p[1] = 'u';
	p[2] = '0';
	p[3] = '0';
	p[4] = hexd[c >> 4];
	p[5] = hexd[c & 15];
	return p + 6;
}

char *jw_str_body(char *p, const char *s, size_t n)
{
	const uint8_t *u = (const uint8_t *)s, *end = u + n;
	int verbatim = 1; /* no escape written yet: output offsets equal input offsets */
	while (u < end) {
		/* Copy clean words whole; names are mostly clean. */
		while (end - u >= 8) {
			uint64_t w;
			memcpy(&w, u, 8);
			if (word_needs_care(w))
				break;
			memcpy(p, &w, 8);
			p += 8;
			u += 8;
		}
		if (u == end)
			break;
		/* A clean tail shorter than a word: the string's last 8 bytes as
		 * one word, overlapping bytes already copied as they are. */
		if (verbatim && n >= 8 && end - u < 8) {
			uint64_t w;
			memcpy(&w, end - 8, 8);
			if (!word_needs_care(w)) {
				p += end - u;
				memcpy(p - 8, &w, 8);
				return p;
			}
		}
		uint8_t c = *u;
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			*p++ = (char)c;
			u++;
			continue;
		}
		if (c < 0x80) {
			verbatim = 0;
			*p++ = '\\';
			switch (c) {
			case '"': *p++ = '"'; break;
			case '\\': *p++ = '\\'; break;
			case '\b': *p++ = 'b'; break;
			case '\f': *p++ = 'f'; break;
			case '\n': *p++ = 'n'; break;
			case '\r': *p++ = 'r'; break;
			case '\t': *p++ = 't'; break;
			default: p = esc_u00(p - 1, c); break;
			}
			u++;
			continue;
		}
		size_t len = jw_utf8_len(u, end);
		if (len) {
			memcpy(p, u, len);
			p += len;
			u += len;
		} else {
			verbatim = 0;
			p = esc_u00(p, c);
			u++;
		}
	}
	return p;
}

char *jw_str(char *p, const char *s, size_t n)
{
	*p++ = '"';
	p = jw_str_body(p, s, n);
	*p++ = '"';
	return p;
}

char *jw_u64(char *p, uint64_t v)
{
	return fmt_u64(p, v);
}


static void fill_second(struct jw_tscache *c, int64_t sec)
{
	int64_t days = sec / 86400, rem = sec % 86400;
	int64_t y;
	unsigned mo, d;
	fmt_civil_from_days(days, &y, &mo, &d);
	char *t = c->text;
	unsigned yy = (unsigned)y; /* ts_ns is unsigned: 1970 <= y <= 2554 */
	memcpy(t, fmt_digits2 + 2 * (yy / 100), 2);
	memcpy(t + 2, fmt_digits2 + 2 * (yy % 100), 2);
	t[4] = '-';
	memcpy(t + 5, fmt_digits2 + 2 * mo, 2);
	t[7] = '-';
	memcpy(t + 8, fmt_digits2 + 2 * d, 2);
	t[10] = 'T';
	memcpy(t + 11, fmt_digits2 + 2 * (rem / 3600), 2);
	t[13] = ':';
	memcpy(t + 14, fmt_digits2 + 2 * (rem / 60 % 60), 2);
	t[16] = ':';
	memcpy(t + 17, fmt_digits2 + 2 * (rem % 60), 2);
	t[19] = 0;
	c->sec = sec;
}

char *jw_rfc3339(char *p, struct jw_tscache *c, uint64_t ts_ns)
{
	int64_t sec = (int64_t)(ts_ns / 1000000000ull);
	unsigned ns = (unsigned)(ts_ns % 1000000000ull);
	if (!c->text[0] || c->sec != sec)
		fill_second(c, sec);
	memcpy(p, c->text, 19);
	p[19] = '.';
	/* nine digits: 1 + 4 pairs */
	p[20] = (char)('0' + ns / 100000000);
	ns %= 100000000;
	memcpy(p + 21, fmt_digits2 + 2 * (ns / 1000000), 2);
	ns %= 1000000;
	memcpy(p + 23, fmt_digits2 + 2 * (ns / 10000), 2);
	ns %= 10000;
	memcpy(p + 25, fmt_digits2 + 2 * (ns / 100), 2);
	memcpy(p + 27, fmt_digits2 + 2 * (ns % 100), 2);
	p[29] = 'Z';
	return p + JW_RFC3339_LEN;
}
