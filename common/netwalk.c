/*
 * netwalk.c - link layer to IP (see netwalk.h).
 *
 * DLT values are libpcap's (pcap_datalink()), not the LINKTYPE_ values of the
 * file format: libpcap maps LINKTYPE_RAW (101) to DLT_RAW, for example.
 */
#include "netwalk.h"

#include <pcap/dlt.h>
#include <string.h>

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86DD
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88A8
#define ETH_QINQ_OLD 0x9100
#define ETH_PPPOE_SESSION 0x8864
#define PPP_IPV4 0x0021
#define PPP_IPV6 0x0057

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

int netwalk_dlt_supported(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
	case DLT_NULL:
	case DLT_LOOP:
		return 1;
	default:
		return 0;
	}
}

const char *netwalk_dlt_name(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB: return "Ethernet";
	case DLT_LINUX_SLL: return "Linux cooked v1";
	case DLT_LINUX_SLL2: return "Linux cooked v2";
	case DLT_RAW: return "raw IP";
	case DLT_IPV4: return "raw IPv4";
	case DLT_IPV6: return "raw IPv6";
	case DLT_NULL: return "BSD loopback";
	case DLT_LOOP: return "OpenBSD loopback";
	default: return "unsupported";
	}
}

static enum netwalk_result by_version(const uint8_t *p, size_t len, struct net_l3 *out)
{
	if (len < 1)
		return NW_TRUNCATED;
	uint8_t v = p[0] >> 4;
	if (v != 4 && v != 6)
		return NW_NOT_IP;
	out->ip = p;
	out->len = len;
	out->version = v;
	return NW_OK;
}

/* Walk ethertypes from offset off: VLAN tags, PPPoE, then IP. */
static enum netwalk_result by_ethertype(const uint8_t *f, size_t len, size_t off, uint16_t type,
					struct net_l3 *out)
{
	for (int tags = 0;; tags++) {
		switch (type) {
		case ETH_VLAN:
		case ETH_QINQ:
		case ETH_QINQ_OLD:
			if (tags >= NW_MAX_TAGS)
				return NW_TOO_MANY_TAGS;
			if (len - off < 4)
				return NW_TRUNCATED;
			if (!out->has_vlan) {
				out->has_vlan = 1;
				out->vlan = be16(f + off) & 0x0fff;
			}
			type = be16(f + off + 2);
			off += 4;
			continue;
		case ETH_PPPOE_SESSION: {
			/* ver/type, code, session id, length, then the PPP protocol */
			if (len - off < 8)
				return NW_TRUNCATED;
			uint16_t proto = be16(f + off + 6);
			off += 8;
			if (proto != PPP_IPV4 && proto != PPP_IPV6)
				return NW_NOT_IP;
			enum netwalk_result rc = by_version(f + off, len - off, out);
			if (rc == NW_OK && out->version != (proto == PPP_IPV4 ? 4 : 6))
				return NW_NOT_IP;
			return rc;
		}
		case ETH_IPV4:
		case ETH_IPV6: {
			enum netwalk_result rc = by_version(f + off, len - off, out);
			if (rc == NW_OK && out->version != (type == ETH_IPV4 ? 4 : 6))
				return NW_NOT_IP;
			return rc;
		}
		default:
			return NW_NOT_IP;
		}
	}
}

static enum netwalk_result by_af(uint32_t af, const uint8_t *p, size_t len, struct net_l3 *out)
{
	/* AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24 (NetBSD/OpenBSD),
	 * 28 (FreeBSD), 30 (macOS). */
	switch (af) {
	case 2:
	case 10:
	case 24:
	case 28:
	case 30:
		return by_version(p, len, out);
	default:
		return NW_NOT_IP;
	}
}

enum netwalk_result netwalk_frame(int dlt, const uint8_t *f, size_t len, struct net_l3 *out)
{
	memset(out, 0, sizeof *out);
	switch (dlt) {
	case DLT_EN10MB:
		if (len < 14)
			return NW_TRUNCATED;
		return by_ethertype(f, len, 14, be16(f + 12), out);
	case DLT_LINUX_SLL:
		if (len < 16)
			return NW_TRUNCATED;
		return by_ethertype(f, len, 16, be16(f + 14), out);
	case DLT_LINUX_SLL2:
		if (len < 20)
			return NW_TRUNCATED;
		return by_ethertype(f, len, 20, be16(f), out);
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		return by_version(f, len, out);
	case DLT_NULL: {
		if (len < 4)
			return NW_TRUNCATED;
		/* Host byte order of the capturing machine: accept either. */
		uint32_t le = (uint32_t)f[0] | (uint32_t)f[1] << 8 | (uint32_t)f[2] << 16 | (uint32_t)f[3] << 24;
		uint32_t be = (uint32_t)f[3] | (uint32_t)f[2] << 8 | (uint32_t)f[1] << 16 | (uint32_t)f[0] << 24;
		return by_af(le < 256 ? le : be, f + 4, len - 4, out);
	}
	case DLT_LOOP: {
		if (len < 4)
			return NW_TRUNCATED;
		uint32_t be = (uint32_t)f[3] | (uint32_t)f[2] << 8 | (uint32_t)f[1] << 16 | (uint32_t)f[0] << 24;
		return by_af(be, f + 4, len - 4, out);
	}
	default:
		return NW_BAD_LINKTYPE;
	}
}

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static uint64_t hash_bytes(const uint8_t *p, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t w = 0;
		memcpy(&w, p + i, n - i < 8 ? n - i : 8);
		h = mix64(h ^ w);
	}
	return h;
}

uint32_t netwalk_flow_hash(const struct net_l3 *l3)
{
	size_t alen, off;
	if (l3->version == 4) {
		if (l3->len < 20)
			return 0;
		alen = 4;
		off = 12;
	} else if (l3->version == 6) {
		if (l3->len < 40)
			return 0;
		alen = 16;
		off = 8;
	} else {
		return 0;
	}
	const uint8_t *a = l3->ip + off, *b = a + alen;
	if (memcmp(a, b, alen) > 0) {
		const uint8_t *t = a;
		a = b;
		b = t;
	}
	uint64_t h = hash_bytes(a, alen, 0x9e3779b97f4a7c15ULL);
	h = hash_bytes(b, alen, h);
	return (uint32_t)(h ^ (h >> 32));
}
