/*
 * dns_out.c - the out-of-line formatters of dns_out.h.
 *
 * Each one checks the room it needs once, up front, from its input length,
 * then writes without further checks; so each is linear in its input and a
 * formatter either writes all of its text or none of it.
 */
#include "dns_out.h"

#include "dns_names.h"

static const char hex_lower[] = "0123456789abcdef";
static const char hex_upper[] = "0123456789ABCDEF";

void out_hex(struct out *o, const uint8_t *b, size_t n, int upper)
{
	const char *digits = upper ? hex_upper : hex_lower;
	if (n > SIZE_MAX / 2 || !out_room(o, 2 * n))
		return;
	for (size_t i = 0; i < n; i++) {
		*o->p++ = digits[b[i] >> 4];
		*o->p++ = digits[b[i] & 15];
	}
}

void out_base64(struct out *o, const uint8_t *b, size_t n)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	if (!out_room(o, (n + 2) / 3 * 4))
		return;
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 | b[i + 2];
		*o->p++ = alphabet[v >> 18];
		*o->p++ = alphabet[(v >> 12) & 63];
		*o->p++ = alphabet[(v >> 6) & 63];
		*o->p++ = alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)b[i] << 16;
		*o->p++ = alphabet[v >> 18];
		*o->p++ = alphabet[(v >> 12) & 63];
		*o->p++ = '=';
		*o->p++ = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8;
		*o->p++ = alphabet[v >> 18];
		*o->p++ = alphabet[(v >> 12) & 63];
		*o->p++ = alphabet[(v >> 6) & 63];
		*o->p++ = '=';
	}
}

void out_base32hex(struct out *o, const uint8_t *b, size_t n)
{
	static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUV";
	if (!out_room(o, (n * 8 + 4) / 5))
		return;
	uint32_t acc = 0;
	unsigned bits = 0;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8 | b[i]) & 0xffff;
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			*o->p++ = alphabet[(acc >> bits) & 31];
		}
	}
	if (bits)
		*o->p++ = alphabet[(acc << (5 - bits)) & 31];
}

void out_ipv4(struct out *o, const uint8_t a[4])
{
	if (!out_room(o, 15))
		return;
	for (int i = 0; i < 4; i++) {
		unsigned v = a[i];
		if (v >= 100) {
			*o->p++ = (char)('0' + v / 100);
			*o->p++ = (char)('0' + v / 10 % 10);
		} else if (v >= 10) {
			*o->p++ = (char)('0' + v / 10);
		}
		*o->p++ = (char)('0' + v % 10);
		if (i < 3)
			*o->p++ = '.';
	}
}

static void put_hex16(struct out *o, unsigned v)
{
	int started = 0;
	for (int shift = 12; shift >= 0; shift -= 4) {
		unsigned d = (v >> shift) & 15;
		if (d || started || shift == 0) {
			*o->p++ = hex_lower[d];
			started = 1;
		}
	}
}

void out_ipv6(struct out *o, const uint8_t a[16])
{
	unsigned w[8];
	for (int i = 0; i < 8; i++)
		w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
	/* The longest run of two or more zero groups (the first on a tie) becomes
	 * "::" (RFC 5952 4.2). */
	int best = -1, best_len = 0;
	for (int i = 0; i < 8;) {
		if (w[i]) {
			i++;
			continue;
		}
		int j = i;
		while (j < 8 && !w[j])
			j++;
		if (j - i > best_len && j - i >= 2) {
			best = i;
			best_len = j - i;
		}
		i = j;
	}
	if (!out_room(o, 46)) /* INET6_ADDRSTRLEN - 1 */
		return;
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			*o->p++ = ':';
			if (i + best_len == 8)
				*o->p++ = ':';
			i += best_len - 1;
			continue;
		}
		if (i)
			*o->p++ = ':';
		/* ::a.b.c.d and ::ffff:a.b.c.d keep the IPv4 tail, as inet_ntop does */
		if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff))) {
			out_ipv4(o, a + 12);
			return;
		}
		put_hex16(o, w[i]);
	}
}

/* Days since 1970-01-01 -> civil date (proleptic Gregorian), after Howard
 * Hinnant's days_from_civil inverse; valid for the whole uint32 second range. */
static void civil_from_days(uint32_t days, uint32_t *y, uint32_t *m, uint32_t *d)
{
	uint32_t z = days + 719468;
	uint32_t era = z / 146097;
	uint32_t doe = z - era * 146097;
	uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	uint32_t mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

void out_time14(struct out *o, uint32_t t)
{
	uint32_t y, m, d;
	civil_from_days(t / 86400, &y, &m, &d);
	uint32_t s = t % 86400;
	if (!out_room(o, 14))
		return;
	out_u32w(o, y, 4);
	out_u32w(o, m, 2);
	out_u32w(o, d, 2);
	out_u32w(o, s / 3600, 2);
	out_u32w(o, s / 60 % 60, 2);
	out_u32w(o, s % 60, 2);
}

void out_type(struct out *o, uint16_t type)
{
	const char *n = dns_type_name(type);
	if (n) {
		out_str(o, n);
	} else {
		out_mem(o, "TYPE", 4);
		out_u32(o, type);
	}
}
