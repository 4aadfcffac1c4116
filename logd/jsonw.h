/*
 * jsonw.h - the small text writers logd's formats are built from: JSON
 * strings, decimal integers, IP addresses and timestamps.
 *
 * json-c costs about 3 us per record, too slow for the output path, so logd
 * writes JSON itself.  Every writer here appends to a caller buffer through a
 * char * cursor and returns the new cursor; none checks for room.  The
 * caller reserves room first with the *_MAX constants and jw_str_bound(),
 * which are exact upper bounds, and that is what keeps every write in bounds.
 *
 * String escaping (RFC 8259): '"' and '\\' as \" and \\, \b \f \n \r \t by
 * name, other bytes below 0x20 as \u00XX.  Bytes 0x20-0x7e and well-formed
 * UTF-8 sequences (RFC 3629: no overlongs, no surrogates, nothing above
 * U+10FFFF) are copied as they are.  A byte that does not belong to a
 * well-formed sequence is written as \u00XX of its value, i.e. it decodes to
 * the code point U+0080-U+00FF of the same number (the Latin-1 reading of
 * the byte).  So every line is valid UTF-8 and valid JSON whatever the input,
 * nothing is silently lost, and a reader can map such characters back to
 * bytes when it knows the field was not UTF-8 text.  DNS text from decoded is
 * printable ASCII already (non-ASCII is \DDD-escaped there), so in practice
 * only '"' and '\\' are ever escaped.
 */
#ifndef DNSTRAIL_LOGD_JSONW_H
#define DNSTRAIL_LOGD_JSONW_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define JW_U64_MAX 20 /* digits of UINT64_MAX */
#define JW_ADDR_MAX 46 /* INET6_ADDRSTRLEN, including room for the NUL it never writes */
#define JW_RFC3339_LEN 30 /* 2016-10-20T15:23:01.075993000Z */

/* Room jw_str needs for n input bytes: the quotes plus 6 bytes per byte
 * (\u00XX) in the worst case. */
static inline size_t jw_str_bound(size_t n)
{
	return 6 * n + 2;
}

static inline char *jw_mem(char *p, const void *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/* Appends a string literal (its length is known at compile time). */
#define JW_LIT(p, lit) jw_mem((p), (lit), sizeof(lit) - 1)

/* Writes s[0..n) as a quoted, escaped JSON string. */
char *jw_str(char *p, const char *s, size_t n);
/* The same without the quotes. */
char *jw_str_body(char *p, const char *s, size_t n);
/* Length of the longest well-formed UTF-8 sequence at s (1-4), or 0 when
 * the byte at s does not start one.  Exposed for the tests. */
size_t jw_utf8_len(const uint8_t *s, const uint8_t *end);

char *jw_u64(char *p, uint64_t v);

/* Caches the date and time of one second, since consecutive records almost
 * always share it.  Zero-initialise it; it is owned by one formatter. */
struct jw_tscache {
	int64_t sec; /* second the text is for; valid when text[0] != 0 */
	char text[20]; /* "YYYY-MM-DDTHH:MM:SS" */
};

/* RFC 3339 UTC with nanoseconds: "1970-01-01T00:00:00.000000000Z" (30 bytes,
 * no quotes). */
char *jw_rfc3339(char *p, struct jw_tscache *c, uint64_t ts_ns);

#endif
