/*
 * textfmt.c - number, address and date formatting shared by decoded
 * (rdata, EDNS client subnet, RRSIG times) and logd (record fields,
 * timestamps), written
 * by hand because snprintf and inet_ntop cost more than the rest of a
 * record.  Each function writes at most the documented number of bytes and
 * returns the end of what it wrote (no NUL).
 */
#include "textfmt.h"

#include <string.h>

static const char hexd[16] = "0123456789abcdef";
const char fmt_digits2[200] = "00010203040506070809101112131415161718192021222324"
			      "25262728293031323334353637383940414243444546474849"
			      "50515253545556575859606162636465666768697071727374"
			      "75767778798081828384858687888990919293949596979899";

static inline char *octet(char *p, unsigned v)
{
	if (v >= 100) {
		*p++ = (char)('0' + v / 100);
		v %= 100;
		memcpy(p, fmt_digits2 + 2 * v, 2);
		return p + 2;
	}
	if (v >= 10) {
		memcpy(p, fmt_digits2 + 2 * v, 2);
		return p + 2;
	}
	*p++ = (char)('0' + v);
	return p;
}

char *fmt_ipv4(char *p, const uint8_t a[4])
{
	p = octet(p, a[0]);
	*p++ = '.';
	p = octet(p, a[1]);
	*p++ = '.';
	p = octet(p, a[2]);
	*p++ = '.';
	return octet(p, a[3]);
}

/* The two hex digits of every byte value. */
static const char hex2[512] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
			      "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
			      "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
			      "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
			      "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
			      "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
			      "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
			      "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

static inline char *hex16(char *p, unsigned w)
{
	/* No leading zeros (RFC 5952 4.1); a byte pair at a time. */
	unsigned hi = w >> 8, lo = w & 0xff;
	if (hi >= 0x10) {
		memcpy(p, hex2 + 2 * hi, 2);
		p += 2;
	} else if (hi) {
		*p++ = hexd[hi];
	} else if (lo < 0x10) {
		*p++ = hexd[lo];
		return p;
	} else {
		memcpy(p, hex2 + 2 * lo, 2);
		return p + 2;
	}
	memcpy(p, hex2 + 2 * lo, 2);
	return p + 2;
}

char *fmt_ipv6(char *p, const uint8_t a[16])
{
	unsigned w[8];
	for (int i = 0; i < 8; i++)
		w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
	/* Longest run of zero groups; a later run must be strictly longer to
	 * win, so the first one is kept on a tie (RFC 5952 4.2.3). */
	int best = -1, best_len = 0;
	for (int i = 0; i < 8;) {
		if (w[i]) {
			i++;
			continue;
		}
		int j = i;
		while (j < 8 && !w[j])
			j++;
		if (j - i > best_len) {
			best = i;
			best_len = j - i;
		}
		i = j;
	}
	if (best_len < 2) /* a single zero group is not compressed (4.2.2) */
		best = -1;
	for (int i = 0; i < 8; i++) {
		if (best >= 0 && i >= best && i < best + best_len) {
			if (i == best)
				*p++ = ':';
			continue;
		}
		if (i)
			*p++ = ':';
		if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)))
			return fmt_ipv4(p, a + 12); /* ::a.b.c.d and ::ffff:a.b.c.d */
		p = hex16(p, w[i]);
	}
	if (best >= 0 && best + best_len == 8)
		*p++ = ':';
	return p;
}

void fmt_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
	/* Count in 400-year eras starting on 0000-03-01, so that the leap day
	 * is the last day of a year and months have a fixed pattern. */
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097; /* [0, 146096] */
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100); /* [0, 365] */
	int64_t mp = (5 * doy + 2) / 153; /* [0, 11], March = 0 */
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}
