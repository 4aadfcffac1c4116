/*
 * dns_rdata.c - presentation format of RR data (dns_rdata.h).
 *
 * Most types are a sequence of simple fields and are described by a field
 * spec string, one character per field (see render_spec); the rest (LOC, WKS,
 * A6, SVCB/HTTPS, APL, ...) have a function each.  Every renderer reads its
 * rdata through a wire cursor confined to the RR's rdata and fails, rather
 * than guessing, on anything that does not fit its type: the caller then
 * falls back to RFC 3597.  The expected strings in test_dns_parse.c come
 * from dig 9.18 (tests/oracle/dig_render.py).
 *
 * Invariant: a renderer either returns 0 with the complete text written, or
 * -1; it never reads outside the rdata, except that compressed names may
 * point anywhere in the message.
 */
#include "dns_rdata.h"

#include "dns_name.h"
#include "dns_names.h"

#include <stdbool.h>

/* ---- shared pieces ------------------------------------------------------ */

void dns_qstring(struct out *o, const uint8_t *s, size_t n)
{
	if (n > SIZE_MAX / 4 - 2 || !out_room(o, 4 * n + 2))
		return;
	char *p = o->p;
	*p++ = '"';
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];
		if (c < 0x20 || c > 0x7e) {
			*p++ = '\\';
			*p++ = (char)('0' + c / 100);
			*p++ = (char)('0' + c / 10 % 10);
			*p++ = (char)('0' + c % 10);
		} else {
			if (c == '"' || c == '\\')
				*p++ = '\\';
			*p++ = (char)c;
		}
	}
	*p++ = '"';
	o->p = p;
}

void dns_rdata_generic(const struct wire *rdata, struct out *o)
{
	struct wire rd = *rdata;
	size_t n = wire_avail(&rd);
	out_mem(o, "\\# ", 3);
	out_u32(o, (uint32_t)n);
	if (n) {
		out_char(o, ' ');
		out_hex(o, wire_bytes(&rd, n), n, 1);
	}
}

/* Separates fields: a space before every field but the first. */
static void sep(struct out *o, bool *first)
{
	if (!*first)
		out_char(o, ' ');
	*first = false;
}

static int name_field(const struct wire *msg, struct wire *rd, struct out *o)
{
	return dns_name_read(msg, rd, o, NULL) == DNS_NAME_OK ? 0 : -1;
}

/* One length-prefixed character-string, quoted. */
static int qstring_field(struct wire *rd, struct out *o)
{
	uint8_t n = wire_u8(rd);
	const uint8_t *s = wire_bytes(rd, n);
	if (!s)
		return -1;
	dns_qstring(o, s, n);
	return 0;
}

/* A type bitmap (RFC 4034 4.1.2): windows in increasing order, each 1-32
 * bytes; every type present is written with a space before it. */
static int type_bitmap(struct wire *rd, struct out *o)
{
	int last_window = -1;
	while (wire_avail(rd)) {
		uint8_t window = wire_u8(rd);
		uint8_t len = wire_u8(rd);
		const uint8_t *bits = wire_bytes(rd, len);
		if (!bits || (int)window <= last_window || len == 0 || len > 32)
			return -1;
		last_window = window;
		for (unsigned i = 0; i < len; i++)
			for (unsigned bit = 0; bit < 8; bit++)
				if (bits[i] & (0x80 >> bit)) {
					out_char(o, ' ');
					out_type(o, (uint16_t)(window << 8 | i << 3 | bit));
				}
	}
	return 0;
}

/* DNSSEC algorithm mnemonics as BIND's dns_secalg_totext (used by CERT). */
static void out_secalg(struct out *o, uint8_t alg)
{
	static const char *const names[] = {
		[1] = "RSAMD5", [2] = "DH", [3] = "DSA", [5] = "RSASHA1",
		[6] = "NSEC3DSA", [7] = "NSEC3RSASHA1", [8] = "RSASHA256",
		[10] = "RSASHA512", [12] = "ECCGOST", [13] = "ECDSAP256SHA256",
		[14] = "ECDSAP384SHA384", [15] = "ED25519", [16] = "ED448",
	};
	const char *n = alg < sizeof names / sizeof names[0] ? names[alg]
		      : alg == 252 ? "INDIRECT" : alg == 253 ? "PRIVATEDNS"
		      : alg == 254 ? "PRIVATEOID" : NULL;
	if (n)
		out_str(o, n);
	else
		out_u32(o, alg);
}

/* CERT types (RFC 4398 2.1) as BIND's dns_cert_totext. */
static void out_certtype(struct out *o, uint16_t t)
{
	static const char *const names[] = {
		[1] = "PKIX", [2] = "SPKI", [3] = "PGP", [4] = "IPKIX",
		[5] = "ISPKI", [6] = "IPGP", [7] = "ACPKIX", [8] = "IACPKIX",
	};
	const char *n = t < sizeof names / sizeof names[0] ? names[t]
		      : t == 253 ? "URI" : t == 254 ? "OID" : NULL;
	if (n)
		out_str(o, n);
	else
		out_u32(o, t);
}

/* TSIG/TKEY error field: RCODE mnemonics, with 16 read as BADSIG (RFC 8945)
 * where plain RCODEs say BADVERS, as BIND prints it. */
static void out_tsig_error(struct out *o, uint16_t e)
{
	const char *n = e == 16 ? "BADSIG" : dns_rcode_name(e);
	if (n)
		out_str(o, n);
	else
		out_u32(o, e);
}

/*
 * Field specs, one character per field:
 *   N name            b u8             s u16            l u32
 *   4 IPv4            6 IPv6           y type mnemonic  D time YYYYMMDDHHmmSS
 *   t character-string (quoted)        T one or more character-strings to the end
 *   X hex to the end (>= 1 byte)       B base64 to the end (>= 1 byte)
 *   O base64 to the end, may be empty (then nothing is written)
 *   M type bitmap to the end           q the rest as one quoted string
 *   x u8-length salt, hex or "-"       h u8-length hash, base32hex (>= 1 byte)
 *   a CAA tag (u8 length, 1+ letters and digits)
 *   c CERT type       g DNSSEC algorithm mnemonic
 *   e u48 (TSIG time) r TSIG/TKEY error
 *   m u16-length blob: the length, then base64 when not empty
 */
static int render_spec(const char *spec, const struct wire *msg, struct wire *rd,
		       struct out *o)
{
	bool first = true;
	for (const char *f = spec; *f; f++) {
		size_t rest = wire_avail(rd);
		switch (*f) {
		case 'M': /* writes its own separators; empty is fine */
			if (type_bitmap(rd, o) < 0)
				return -1;
			continue;
		case 'O':
			if (!rest)
				continue;
			break;
		default:
			break;
		}
		sep(o, &first);
		switch (*f) {
		case 'N':
			if (name_field(msg, rd, o) < 0)
				return -1;
			break;
		case 'b':
			out_u32(o, wire_u8(rd));
			break;
		case 's':
			out_u32(o, wire_u16(rd));
			break;
		case 'l':
			out_u32(o, wire_u32(rd));
			break;
		case '4': {
			uint8_t a[4];
			wire_read(rd, a, 4);
			out_ipv4(o, a);
			break;
		}
		case '6': {
			uint8_t a[16];
			wire_read(rd, a, 16);
			out_ipv6(o, a);
			break;
		}
		case 'y':
			out_type(o, wire_u16(rd));
			break;
		case 'D':
			out_time14(o, wire_u32(rd));
			break;
		case 't':
			if (qstring_field(rd, o) < 0)
				return -1;
			break;
		case 'T':
			if (qstring_field(rd, o) < 0)
				return -1;
			while (wire_avail(rd)) {
				out_char(o, ' ');
				if (qstring_field(rd, o) < 0)
					return -1;
			}
			break;
		case 'X':
			if (!rest)
				return -1;
			out_hex(o, wire_bytes(rd, rest), rest, 1);
			break;
		case 'B':
			if (!rest)
				return -1;
			out_base64(o, wire_bytes(rd, rest), rest);
			break;
		case 'O':
			out_base64(o, wire_bytes(rd, rest), rest);
			break;
		case 'q':
			dns_qstring(o, wire_bytes(rd, rest), rest);
			break;
		case 'x': {
			uint8_t n = wire_u8(rd);
			const uint8_t *salt = wire_bytes(rd, n);
			if (!salt)
				return -1;
			if (n)
				out_hex(o, salt, n, 1);
			else
				out_char(o, '-');
			break;
		}
		case 'h': {
			uint8_t n = wire_u8(rd);
			const uint8_t *hash = wire_bytes(rd, n);
			if (!hash || !n)
				return -1;
			out_base32hex(o, hash, n);
			break;
		}
		case 'a': {
			uint8_t n = wire_u8(rd);
			const uint8_t *tag = wire_bytes(rd, n);
			if (!tag || !n)
				return -1;
			for (unsigned i = 0; i < n; i++)
				if (!((tag[i] >= '0' && tag[i] <= '9') || ((tag[i] | 0x20) >= 'a' &&
									   (tag[i] | 0x20) <= 'z')))
					return -1;
			out_mem(o, (const char *)tag, n);
			break;
		}
		case 'c':
			out_certtype(o, wire_u16(rd));
			break;
		case 'g':
			out_secalg(o, wire_u8(rd));
			break;
		case 'e': {
			uint64_t hi = wire_u16(rd);
			out_u64(o, hi << 32 | wire_u32(rd));
			break;
		}
		case 'r':
			out_tsig_error(o, wire_u16(rd));
			break;
		case 'm': {
			uint16_t n = wire_u16(rd);
			const uint8_t *blob = wire_bytes(rd, n);
			if (!blob)
				return -1;
			out_u32(o, n);
			if (n) {
				out_char(o, ' ');
				out_base64(o, blob, n);
			}
			break;
		}
		default:
			return -1; /* a spec typo: make it visible as generic output */
		}
		if (rd->err)
			return -1;
	}
	return rd->err || wire_avail(rd) ? -1 : 0;
}

/* ---- types with a renderer of their own ---------------------------------- */

/* DS, CDS, TA, DLV: BIND refuses a digest shorter than its type's (SHA-1 20,
 * SHA-256 32, SHA-384 48 bytes) and reads only that many. */
static int render_ds(const struct wire *msg, struct wire *rd, struct out *o)
{
	uint8_t dtype;
	if (wire_peek_u8(rd, 3, &dtype)) {
		size_t want = dtype == 1 ? 20 : dtype == 2 ? 32 : dtype == 4 ? 48 : 0;
		if (want && wire_avail(rd) - 4 != want)
			return -1;
	}
	return render_spec("sbbX", msg, rd, o);
}

/* SSHFP: fingerprint lengths of SHA-1 (20) and SHA-256 (32), as BIND checks. */
static int render_sshfp(const struct wire *msg, struct wire *rd, struct out *o)
{
	uint8_t ftype;
	if (wire_peek_u8(rd, 1, &ftype)) {
		size_t want = ftype == 1 ? 20 : ftype == 2 ? 32 : 0;
		if (want && wire_avail(rd) - 2 != want)
			return -1;
	}
	return render_spec("bbX", msg, rd, o);
}

/* LOC (RFC 1876): "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m". */
static void loc_size(struct out *o, uint8_t v)
{
	unsigned mant = v >> 4, exp = v & 15;
	if (exp >= 2) {
		out_u32(o, mant);
		for (unsigned i = 2; i < exp; i++)
			out_char(o, '0');
	} else {
		out_mem(o, "0.", 2);
		out_u32w(o, exp ? mant * 10 : mant, 2);
	}
	out_char(o, 'm');
}

static void loc_angle(struct out *o, uint32_t raw, char pos, char neg)
{
	uint32_t v = raw >= 0x80000000u ? raw - 0x80000000u : 0x80000000u - raw;
	out_u32(o, v / 3600000);
	out_char(o, ' ');
	out_u32(o, v / 60000 % 60);
	out_char(o, ' ');
	out_u32(o, v / 1000 % 60);
	out_char(o, '.');
	out_u32w(o, v % 1000, 3);
	out_char(o, ' ');
	out_char(o, raw >= 0x80000000u ? pos : neg);
}

static int render_loc(const struct wire *msg, struct wire *rd, struct out *o)
{
	(void)msg;
	uint8_t version = wire_u8(rd), size = wire_u8(rd), hp = wire_u8(rd), vp = wire_u8(rd);
	uint32_t lat = wire_u32(rd), lon = wire_u32(rd), alt = wire_u32(rd);
	if (rd->err || wire_avail(rd) || version != 0)
		return -1;
	/* mantissas and exponents above 9, and angles beyond 90/180 degrees, are
	 * refused by BIND too */
	const uint8_t sizes[3] = { size, hp, vp };
	for (int i = 0; i < 3; i++)
		if ((sizes[i] >> 4) > 9 || (sizes[i] & 15) > 9)
			return -1;
	if ((lat >= 0x80000000u ? lat - 0x80000000u : 0x80000000u - lat) > 90u * 3600000 ||
	    (lon >= 0x80000000u ? lon - 0x80000000u : 0x80000000u - lon) > 180u * 3600000)
		return -1;
	loc_angle(o, lat, 'N', 'S');
	out_char(o, ' ');
	loc_angle(o, lon, 'E', 'W');
	out_char(o, ' ');
	uint32_t cm = alt >= 10000000u ? alt - 10000000u : 10000000u - alt;
	if (alt < 10000000u)
		out_char(o, '-');
	out_u32(o, cm / 100);
	out_char(o, '.');
	out_u32w(o, cm % 100, 2);
	out_char(o, 'm');
	for (int i = 0; i < 3; i++) {
		out_char(o, ' ');
		loc_size(o, sizes[i]);
	}
	return 0;
}

/* WKS (RFC 1035 3.4.2): address, protocol number, then every port whose bit
 * is set. */
static int render_wks(const struct wire *msg, struct wire *rd, struct out *o)
{
	(void)msg;
	uint8_t a[4];
	wire_read(rd, a, 4);
	uint8_t proto = wire_u8(rd);
	if (rd->err)
		return -1;
	out_ipv4(o, a);
	out_char(o, ' ');
	out_u32(o, proto);
	size_t n = wire_avail(rd);
	if (n > 8192)
		return -1;
	const uint8_t *bits = wire_bytes(rd, n);
	for (size_t i = 0; i < n; i++)
		for (unsigned bit = 0; bit < 8; bit++)
			if (bits[i] & (0x80 >> bit)) {
				out_char(o, ' ');
				out_u32(o, (uint32_t)(i * 8 + bit));
			}
	return 0;
}

/* NXT (RFC 2535 5.2): next name and the old, window-less type bitmap. */
static int render_nxt(const struct wire *msg, struct wire *rd, struct out *o)
{
	if (name_field(msg, rd, o) < 0)
		return -1;
	size_t n = wire_avail(rd);
	if (n > 16)
		return -1; /* types above 127 need the extended form nobody uses */
	const uint8_t *bits = wire_bytes(rd, n);
	for (size_t i = 0; i < n; i++)
		for (unsigned bit = 0; bit < 8; bit++)
			if (bits[i] & (0x80 >> bit)) {
				out_char(o, ' ');
				out_type(o, (uint16_t)(i * 8 + bit));
			}
	return 0;
}

/* A6 (RFC 2874 3.1): prefix length, the address suffix, the prefix name. */
static int render_a6(const struct wire *msg, struct wire *rd, struct out *o)
{
	uint8_t plen = wire_u8(rd);
	if (rd->err || plen > 128)
		return -1;
	out_u32(o, plen);
	size_t suffix = (128u - plen + 7) / 8;
	if (suffix) {
		uint8_t a[16] = { 0 };
		wire_read(rd, a + 16 - suffix, suffix);
		if (rd->err)
			return -1;
		out_char(o, ' ');
		out_ipv6(o, a);
	}
	if (plen) {
		out_char(o, ' ');
		if (name_field(msg, rd, o) < 0)
			return -1;
	}
	return wire_avail(rd) ? -1 : 0;
}

/* APL (RFC 3123 4): "[!]family:address/prefix" items. */
static int render_apl(const struct wire *msg, struct wire *rd, struct out *o)
{
	(void)msg;
	bool first = true;
	while (wire_avail(rd)) {
		uint16_t family = wire_u16(rd);
		uint8_t prefix = wire_u8(rd);
		uint8_t nlen = wire_u8(rd);
		size_t alen = nlen & 0x7f;
		const uint8_t *addr = wire_bytes(rd, alen);
		size_t max = family == 1 ? 4 : family == 2 ? 16 : 0;
		if (!addr || !max || alen > max || prefix > max * 8)
			return -1;
		uint8_t a[16] = { 0 };
		memcpy(a, addr, alen);
		sep(o, &first);
		if (nlen & 0x80)
			out_char(o, '!');
		out_u32(o, family);
		out_char(o, ':');
		if (family == 1)
			out_ipv4(o, a);
		else
			out_ipv6(o, a);
		out_char(o, '/');
		out_u32(o, prefix);
	}
	return 0;
}

/* IPSECKEY (RFC 4025 3): precedence, gateway type, algorithm, gateway, key. */
static int render_ipseckey(const struct wire *msg, struct wire *rd, struct out *o)
{
	uint8_t prec = wire_u8(rd), gtype = wire_u8(rd), alg = wire_u8(rd);
	if (rd->err || gtype > 3)
		return -1;
	out_u32(o, prec);
	out_char(o, ' ');
	out_u32(o, gtype);
	out_char(o, ' ');
	out_u32(o, alg);
	out_char(o, ' ');
	switch (gtype) {
	case 0:
		out_char(o, '.');
		break;
	case 1:
		if (wire_avail(rd) < 4)
			return -1;
		out_ipv4(o, wire_bytes(rd, 4));
		break;
	case 2:
		if (wire_avail(rd) < 16)
			return -1;
		out_ipv6(o, wire_bytes(rd, 16));
		break;
	default:
		if (name_field(msg, rd, o) < 0)
			return -1;
	}
	if (wire_avail(rd)) {
		out_char(o, ' ');
		size_t n = wire_avail(rd);
		out_base64(o, wire_bytes(rd, n), n);
	}
	return rd->err ? -1 : 0;
}

/* HIP (RFC 8005 5): algorithm, HIT in hex, public key in base64, servers. */
static int render_hip(const struct wire *msg, struct wire *rd, struct out *o)
{
	uint8_t hit_len = wire_u8(rd), alg = wire_u8(rd);
	uint16_t pk_len = wire_u16(rd);
	const uint8_t *hit = wire_bytes(rd, hit_len);
	const uint8_t *pk = wire_bytes(rd, pk_len);
	if (!hit || !pk || !hit_len || !pk_len)
		return -1;
	out_u32(o, alg);
	out_char(o, ' ');
	out_hex(o, hit, hit_len, 1);
	out_char(o, ' ');
	out_base64(o, pk, pk_len);
	while (wire_avail(rd)) {
		out_char(o, ' ');
		if (name_field(msg, rd, o) < 0)
			return -1;
	}
	return 0;
}

/* AMTRELAY (RFC 8777 4.3): precedence, discovery bit, type, relay. */
static int render_amtrelay(const struct wire *msg, struct wire *rd, struct out *o)
{
	uint8_t prec = wire_u8(rd), dt = wire_u8(rd);
	uint8_t rtype = dt & 0x7f;
	if (rd->err || rtype > 3)
		return -1;
	out_u32(o, prec);
	out_char(o, ' ');
	out_u32(o, dt >> 7);
	out_char(o, ' ');
	out_u32(o, rtype);
	switch (rtype) {
	case 0:
		return wire_avail(rd) ? -1 : 0;
	case 1:
		out_char(o, ' ');
		return render_spec("4", msg, rd, o);
	case 2:
		out_char(o, ' ');
		return render_spec("6", msg, rd, o);
	default:
		out_char(o, ' ');
		return render_spec("N", msg, rd, o);
	}
}

/* EUI48/EUI64 (RFC 7043): bytes in lower-case hex joined by '-'. */
static int render_eui(struct wire *rd, struct out *o, size_t n)
{
	const uint8_t *b = wire_bytes(rd, n);
	if (!b || wire_avail(rd))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (i)
			out_char(o, '-');
		out_hex(o, b + i, 1, 0);
	}
	return 0;
}

/* NID/L64 (RFC 6742): preference, then 64 bits as four hex groups. */
static int render_l64(struct wire *rd, struct out *o)
{
	uint16_t pref = wire_u16(rd);
	uint16_t g[4];
	for (int i = 0; i < 4; i++)
		g[i] = wire_u16(rd);
	if (rd->err || wire_avail(rd))
		return -1;
	out_u32(o, pref);
	out_char(o, ' ');
	for (int i = 0; i < 4; i++) {
		static const char digits[] = "0123456789abcdef";
		if (i)
			out_char(o, ':');
		int started = 0;
		for (int shift = 12; shift >= 0; shift -= 4) {
			unsigned d = (g[i] >> shift) & 15;
			if (d || started || shift == 0) {
				out_char(o, digits[d]);
				started = 1;
			}
		}
	}
	return 0;
}

/* NSAP (RFC 1706 5): "0x" and the hex. */
static int render_nsap(struct wire *rd, struct out *o)
{
	size_t n = wire_avail(rd);
	if (!n)
		return -1;
	out_mem(o, "0x", 2);
	out_hex(o, wire_bytes(rd, n), n, 0);
	return 0;
}

/* DSYNC (RFC 9859): RRtype, scheme (1 = NOTIFY), port, target. */
static int render_dsync(const struct wire *msg, struct wire *rd, struct out *o)
{
	out_type(o, wire_u16(rd));
	uint8_t scheme = wire_u8(rd);
	out_char(o, ' ');
	if (scheme == 1)
		out_mem(o, "NOTIFY", 6);
	else
		out_u32(o, scheme);
	out_char(o, ' ');
	return rd->err ? -1 : render_spec("sN", msg, rd, o);
}

/* ---- SVCB / HTTPS (RFC 9460 2.1, 7) -------------------------------------- */

static const char *const svc_key_names[] = {
	"mandatory", "alpn", "no-default-alpn", "port", "ipv4hint", "ech", "ipv6hint",
};
#define SVC_KEYS_NAMED (sizeof svc_key_names / sizeof svc_key_names[0])

static void out_svc_key(struct out *o, uint16_t key)
{
	if (key < SVC_KEYS_NAMED) {
		out_str(o, svc_key_names[key]);
	} else {
		out_mem(o, "key", 3);
		out_u32(o, key);
	}
}

/* alpn="h2,h3": each id value-list-escaped (',' and '\' get a backslash),
 * then the whole char-string escaped, exactly as BIND 9.18 prints it. */
static int svc_alpn(const uint8_t *v, size_t n, struct out *o)
{
	struct wire w = wire_init(v, n);
	out_char(o, '"');
	bool first = true;
	while (wire_avail(&w)) {
		uint8_t len = wire_u8(&w);
		const uint8_t *id = wire_bytes(&w, len);
		if (!id || !len)
			return -1;
		if (!first)
			out_char(o, ',');
		first = false;
		for (unsigned i = 0; i < len; i++) {
			uint8_t c = id[i];
			if (c == ',' || c == '\\')
				out_mem(o, "\\\\", 2); /* the value-list backslash, itself escaped */
			if (c == '\\')
				out_mem(o, "\\\\", 2);
			else if (c == '"')
				out_mem(o, "\\\"", 2);
			else if (c < 0x20 || c > 0x7e) {
				out_char(o, '\\');
				out_u32w(o, c, 3);
			} else
				out_char(o, (char)c);
		}
	}
	out_char(o, '"');
	return first ? -1 : 0;
}

static int svc_param(uint16_t key, const uint8_t *v, size_t n, struct out *o)
{
	switch (key) {
	case 0: /* mandatory: keys, in increasing order */
		if (!n || n % 2)
			return -1;
		for (size_t i = 0; i < n; i += 2) {
			if (i)
				out_char(o, ',');
			out_svc_key(o, (uint16_t)(v[i] << 8 | v[i + 1]));
		}
		return 0;
	case 1:
		return svc_alpn(v, n, o);
	case 3:
		if (n != 2)
			return -1;
		out_u32(o, (uint32_t)(v[0] << 8 | v[1]));
		return 0;
	case 4:
		if (!n || n % 4)
			return -1;
		for (size_t i = 0; i < n; i += 4) {
			if (i)
				out_char(o, ',');
			out_ipv4(o, v + i);
		}
		return 0;
	case 5:
		out_base64(o, v, n);
		return 0;
	case 6:
		if (!n || n % 16)
			return -1;
		for (size_t i = 0; i < n; i += 16) {
			if (i)
				out_char(o, ',');
			out_ipv6(o, v + i);
		}
		return 0;
	default:
		dns_qstring(o, v, n);
		return 0;
	}
}

static int render_svcb(const struct wire *msg, struct wire *rd, struct out *o)
{
	out_u32(o, wire_u16(rd));
	out_char(o, ' ');
	if (rd->err || name_field(msg, rd, o) < 0)
		return -1;
	int last_key = -1;
	while (wire_avail(rd)) {
		uint16_t key = wire_u16(rd);
		uint16_t len = wire_u16(rd);
		const uint8_t *v = wire_bytes(rd, len);
		if (!v || (int)key <= last_key || key == 65535)
			return -1; /* keys strictly increasing (2.2); 65535 is reserved */
		last_key = key;
		out_char(o, ' ');
		out_svc_key(o, key);
		if (key == 2 && len)
			return -1; /* no-default-alpn has no value */
		if (!len && key != 0 && key != 1 && key != 3 && key != 4 && key != 6)
			continue; /* "ech", "key65002": no value written */
		out_char(o, '=');
		if (svc_param(key, v, len, o) < 0)
			return -1;
	}
	return 0;
}

/* ---- dispatch ------------------------------------------------------------ */

typedef int (*render_fn)(const struct wire *msg, struct wire *rd, struct out *o);

/* Spec of a type whose format is a plain field sequence, or NULL. */
static const char *type_spec(uint16_t type)
{
	switch (type) {
	case 1: return "4"; /* A */
	case 2: case 3: case 4: case 5: case 7: case 8: case 9: case 12: case 39:
		return "N"; /* NS MD MF CNAME MB MG MR PTR DNAME */
	case 6: return "NNlllll"; /* SOA */
	case 13: return "tt"; /* HINFO */
	case 14: case 17: case 58: return "NN"; /* MINFO RP TALINK */
	case 15: case 18: case 21: case 36: case 107:
		return "sN"; /* MX AFSDB RT KX LP */
	case 16: case 99: case 56: case 258: case 261: case 262:
		return "T"; /* TXT SPF NINFO AVC RESINFO WALLET */
	case 19: return "t"; /* X25 */
	case 20: return "T"; /* ISDN: one or two strings */
	case 24: case 46: return "ybblDDsNB"; /* SIG RRSIG */
	case 25: return "sbbO"; /* KEY: no key data when the NOKEY flags say so */
	case 26: return "sNN"; /* PX */
	case 27: return "ttt"; /* GPOS */
	case 28: return "6"; /* AAAA */
	case 33: return "sssN"; /* SRV */
	case 35: return "sstttN"; /* NAPTR */
	case 37: return "csgB"; /* CERT */
	case 47: return "NM"; /* NSEC */
	case 48: case 60: case 57: return "sbbB"; /* DNSKEY CDNSKEY RKEY */
	case 49: case 61: return "B"; /* DHCID OPENPGPKEY */
	case 50: return "bbsxhM"; /* NSEC3 */
	case 51: return "bbsx"; /* NSEC3PARAM */
	case 52: case 53: return "bbbX"; /* TLSA SMIMEA */
	case 62: return "lsM"; /* CSYNC */
	case 63: return "lbbX"; /* ZONEMD */
	case 105: return "s4"; /* L32 */
	case 249: return "Nllsrmm"; /* TKEY */
	case 250: return "Nesmsrm"; /* TSIG */
	case 256: return "ssq"; /* URI */
	case 257: return "baq"; /* CAA */
	default: return NULL;
	}
}

static render_fn type_fn(uint16_t type)
{
	switch (type) {
	case 11: return render_wks;
	case 29: return render_loc;
	case 30: return render_nxt;
	case 38: return render_a6;
	case 42: return render_apl;
	case 43: case 59: case 32768: case 32769: return render_ds; /* DS CDS TA DLV */
	case 44: return render_sshfp;
	case 45: return render_ipseckey;
	case 55: return render_hip;
	case 64: case 65: return render_svcb;
	case 66: return render_dsync;
	case 260: return render_amtrelay;
	default: return NULL;
	}
}

int dns_rdata_text(uint16_t type, const struct wire *msg, const struct wire *rdata,
		   struct out *o)
{
	struct wire rd = *rdata;
	int r;
	const char *spec = type_spec(type);
	render_fn fn;
	if (spec)
		r = render_spec(spec, msg, &rd, o);
	else if ((fn = type_fn(type)))
		r = fn(msg, &rd, o);
	else if (type == 108 || type == 109)
		r = render_eui(&rd, o, type == 108 ? 6 : 8);
	else if (type == 104 || type == 106)
		r = render_l64(&rd, o);
	else if (type == 22)
		r = render_nsap(&rd, o);
	else {
		dns_rdata_generic(rdata, o); /* no format of its own: RFC 3597 is its format */
		return o->full ? -1 : 0;
	}
	return r < 0 || rd.err || wire_avail(&rd) || o->full ? -1 : 0;
}
