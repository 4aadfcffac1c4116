/*
 * textfmt.h - numbers, addresses and dates as text, fast (see textfmt.c).
 */
#ifndef DNSTRAIL_TEXTFMT_H
#define DNSTRAIL_TEXTFMT_H

#include <stdint.h>
#include <string.h>

#define FMT_IPV4_MAX 15
#define FMT_IPV6_MAX 45 /* INET6_ADDRSTRLEN - 1 */
#define FMT_U64_MAX 20

/* Dotted quad, as inet_ntop prints it. */
char *fmt_ipv4(char *p, const uint8_t a[4]);
/* RFC 5952 text, as inet_ntop prints it (including ::a.b.c.d forms). */
char *fmt_ipv6(char *p, const uint8_t a[16]);
/* "00" "01" .. "99": the two digits of every value below 100. */
extern const char fmt_digits2[200];
/* Unsigned decimal, no leading zeros: fmt_u64_len(v) bytes.  fmt_u64_n
 * takes that length from a caller that needed it already.  Inline: both
 * stages write several numbers per record. */
static inline unsigned fmt_u64_len(uint64_t v)
{
	static const uint64_t pow10[20] = {
		1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
		100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
		10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
		100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull,
	};
	/* From the bit length, corrected once; v | 1: 0 has one digit. */
	unsigned t = (unsigned)(64 - __builtin_clzll(v | 1)) * 1233 >> 12; /* ~log10 */
	return t - ((v | 1) < pow10[t]) + 1;
}

static inline char *fmt_u64_n(char *p, uint64_t v, unsigned len)
{
	/* Backwards from the end, two digits at a time: no variable-length
	 * copy (a library call). */
	char *e = p + len, *t = e;
	while (v >= 100) {
		t -= 2;
		memcpy(t, fmt_digits2 + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10)
		memcpy(t - 2, fmt_digits2 + 2 * v, 2);
	else
		t[-1] = (char)('0' + v);
	return e;
}

static inline char *fmt_u64(char *p, uint64_t v)
{
	return fmt_u64_n(p, v, fmt_u64_len(v));
}
/* Days since 1970-01-01 to a proleptic Gregorian date, for any int64 day. */
void fmt_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

#endif
