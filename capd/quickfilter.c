/*
 * quickfilter.c - see quickfilter.h.
 *
 * What `port N` compiles to for Ethernet (tcpdump -d), and so what is
 * mirrored here:
 *   IPv4: ethertype 0x0800; ip[9] (the protocol) is SCTP, TCP or UDP;
 *         ip[6:2] & 0x1fff == 0 (no later fragment); ports at
 *         14 + 4 * (ip[0] & 0xf) and 2 bytes after.
 *   IPv6: ethertype 0x86dd; ip6[6] (next header) is SCTP, TCP or UDP;
 *         ports at 14 + 40 and 2 bytes after.
 * A BPF load past the captured bytes rejects the frame whatever the other
 * clauses say, so both port fields must be captured.  An IPv4 header
 * length under 20 is left to BPF too (it would read ports from inside the
 * IP header, which is not worth mirroring).
 */
#include "quickfilter.h"

#include <pcap/dlt.h>

static inline unsigned be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static inline int l4_proto(uint8_t p)
{
	return p == 6 || p == 17 || p == 132;
}

static int dns_port(const uint8_t *l4, const uint16_t *ports)
{
	unsigned sport = be16(l4), dport = be16(l4 + 2);
	for (const uint16_t *p = ports; *p; p++)
		if (sport == *p || dport == *p)
			return 1;
	return 0;
}

int quick_accept(int dlt, const uint8_t *f, uint32_t caplen, const uint16_t *ports)
{
	if (dlt != DLT_EN10MB || caplen < 14 + 20 + 4)
		return 0;
	unsigned type = be16(f + 12);
	if (type == 0x0800) {
		unsigned ihl = 4u * (f[14] & 0xf);
		if (ihl < 20 || caplen < 14 + ihl + 4 || !l4_proto(f[23]) || (be16(f + 20) & 0x1fff))
			return 0;
		return dns_port(f + 14 + ihl, ports);
	}
	if (type == 0x86dd && caplen >= 14 + 40 + 4)
		return l4_proto(f[20]) && dns_port(f + 54, ports);
	return 0;
}
