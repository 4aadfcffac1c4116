/*
 * dns_edns.c - EDNS(0) OPT summary text (dns_edns.h; format in dns_parse.h).
 *
 * Invariant: the summary is at most DNS_EDNS_TEXT_MAX bytes of printable
 * ASCII without double quotes, one space between tokens, each token made of
 * complete parts: a token that would not fit is dropped whole and " ..."
 * marks the cut.
 */
#include "dns_edns.h"

#include "dns_name.h"

#define CUT_MARK " ..."

/* "=HEX" after an option name; nothing when the value is empty (an NSID
 * request, say), so that every empty option is its bare name. */
static void hex_value(struct out *o, const uint8_t *v, size_t n)
{
	if (!n)
		return;
	out_char(o, '=');
	if (n > DNS_EDNS_HEX_MAX) {
		out_hex(o, v, DNS_EDNS_HEX_MAX, 0);
		out_mem(o, "...", 3);
	} else {
		out_hex(o, v, n, 0);
	}
}

/* edns-client-subnet (RFC 7871 6): family, source and scope prefix lengths,
 * the address cut to the source prefix.  -1 when it is not well formed. */
static int ecs_value(struct out *o, const uint8_t *v, size_t n)
{
	if (n < 4)
		return -1;
	unsigned family = (unsigned)v[0] << 8 | v[1], source = v[2], scope = v[3];
	size_t alen = n - 4, max = family == 1 ? 4 : family == 2 ? 16 : 0;
	if (!max || alen > max || source > max * 8 || scope > max * 8)
		return -1;
	uint8_t a[16] = { 0 };
	memcpy(a, v + 4, alen);
	if (family == 1)
		out_ipv4(o, a);
	else
		out_ipv6(o, a);
	out_char(o, '/');
	out_u32(o, source);
	out_char(o, '/');
	out_u32(o, scope);
	return 0;
}

static void option_token(struct out *o, uint16_t code, const uint8_t *v, size_t n)
{
	switch (code) {
	case 3: /* NSID, RFC 5001 */
		out_mem(o, "nsid", 4);
		hex_value(o, v, n);
		return;
	case 8: { /* edns-client-subnet */
		char *mark = o->p;
		out_mem(o, "ecs=", 4);
		if (ecs_value(o, v, n) == 0)
			return;
		o->p = mark;
		break; /* not well formed: shown as opt8=hex below */
	}
	case 9: /* EXPIRE, RFC 7314 */
		if (n == 4) {
			out_mem(o, "expire=", 7);
			out_u32(o, (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3]);
			return;
		}
		if (n == 0) {
			out_mem(o, "expire", 6);
			return;
		}
		break;
	case 10: /* COOKIE, RFC 7873: client cookie and server cookie, as one hex string */
		out_mem(o, "cookie", 6);
		hex_value(o, v, n);
		return;
	case 11: /* edns-tcp-keepalive, RFC 7828: timeout in units of 100 ms */
		if (n == 2) {
			out_mem(o, "keepalive=", 10);
			out_u32(o, (uint32_t)v[0] << 8 | v[1]);
			return;
		}
		if (n == 0) {
			out_mem(o, "keepalive", 9);
			return;
		}
		break;
	case 12: /* Padding, RFC 7830: only its length matters */
		out_mem(o, "padding=", 8);
		out_u32(o, (uint32_t)n);
		return;
	case 15: /* Extended DNS Error, RFC 8914: info-code, then optional UTF-8 text */
		if (n >= 2) {
			out_mem(o, "ede=", 4);
			out_u32(o, (uint32_t)v[0] << 8 | v[1]);
			if (n > 2) {
				size_t tlen = n - 2 > DNS_EDNS_HEX_MAX ? DNS_EDNS_HEX_MAX : n - 2;
				out_char(o, ':');
				dns_label_text(o, v + 2, tlen); /* spaces become \032: one token */
				if (tlen < n - 2)
					out_mem(o, "...", 3);
			}
			return;
		}
		break;
	default:
		break;
	}
	out_mem(o, "opt", 3);
	out_u32(o, code);
	hex_value(o, v, n);
}

int dns_edns_summary(uint16_t udp_size, uint32_t ttl, const struct wire *rdata, char *buf,
		     size_t *len)
{
	/* the cut mark always has room: the writer stops short of it */
	struct out o = out_init(buf, DNS_EDNS_TEXT_MAX - (sizeof CUT_MARK - 1));
	struct wire rd = *rdata;
	int rc = 0;
	out_mem(&o, "udp=", 4);
	out_u32(&o, udp_size);
	out_mem(&o, " v=", 3);
	out_u32(&o, ttl >> 16 & 0xff);
	if (ttl & 0x8000)
		out_mem(&o, " do", 3);
	if (ttl & 0x7fff) {
		uint8_t z[2] = { (uint8_t)(ttl >> 8 & 0x7f), (uint8_t)ttl };
		out_mem(&o, " z=0x", 5);
		out_hex(&o, z, 2, 0);
	}
	while (wire_avail(&rd) && !o.full) {
		uint16_t code = wire_u16(&rd);
		uint16_t n = wire_u16(&rd);
		const uint8_t *v = wire_bytes(&rd, n);
		char *mark = o.p;
		if (!v) {
			out_mem(&o, " malformed", 10);
			rc = -1;
		} else {
			out_char(&o, ' ');
			option_token(&o, code, v, n);
		}
		if (o.full) {
			o.p = mark;
			break;
		}
		if (rc)
			break;
	}
	if (o.full) {
		o.full = 0;
		o.end = buf + DNS_EDNS_TEXT_MAX;
		out_mem(&o, CUT_MARK, sizeof CUT_MARK - 1);
	}
	*len = out_len(&o);
	return rc;
}
