/*
 * dns_out.c - the out-of-line formatters of dns_out.h.
 *
 * Each one checks the room it needs once, up front, from its input length,
 * then writes without further checks; so each is linear in its input and a
 * formatter either writes all of its text or none of it.
 */
#include "dns_out.h"

#include "textfmt.h"

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
	if (out_room(o, FMT_IPV4_MAX))
		o->p = fmt_ipv4(o->p, a);
}

void out_ipv6(struct out *o, const uint8_t a[16])
{
	if (out_room(o, FMT_IPV6_MAX))
		o->p = fmt_ipv6(o->p, a);
}

void out_time14(struct out *o, uint32_t t)
{
	int64_t y;
	unsigned m, d;
	fmt_civil_from_days(t / 86400, &y, &m, &d);
	uint32_t s = t % 86400;
	if (!out_room(o, 14))
		return;
	out_u32w(o, (uint32_t)y, 4);
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
