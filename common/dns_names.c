/*
 * dns_names.c - DNS code tables (see dns_names.h).  Names follow the IANA
 * "Resource Record (RR) TYPEs" registry, which is what dig prints.
 */
#include "dns_names.h"

#include <stdio.h>
#include <string.h>

static const char *const low_types[] = {
	[1] = "A", [2] = "NS", [3] = "MD", [4] = "MF", [5] = "CNAME", [6] = "SOA",
	[7] = "MB", [8] = "MG", [9] = "MR", [10] = "NULL", [11] = "WKS", [12] = "PTR",
	[13] = "HINFO", [14] = "MINFO", [15] = "MX", [16] = "TXT", [17] = "RP",
	[18] = "AFSDB", [19] = "X25", [20] = "ISDN", [21] = "RT", [22] = "NSAP",
	[23] = "NSAP-PTR", [24] = "SIG", [25] = "KEY", [26] = "PX", [27] = "GPOS",
	[28] = "AAAA", [29] = "LOC", [30] = "NXT", [31] = "EID", [32] = "NIMLOC",
	[33] = "SRV", [34] = "ATMA", [35] = "NAPTR", [36] = "KX", [37] = "CERT",
	[38] = "A6", [39] = "DNAME", [40] = "SINK", [41] = "OPT", [42] = "APL",
	[43] = "DS", [44] = "SSHFP", [45] = "IPSECKEY", [46] = "RRSIG", [47] = "NSEC",
	[48] = "DNSKEY", [49] = "DHCID", [50] = "NSEC3", [51] = "NSEC3PARAM",
	[52] = "TLSA", [53] = "SMIMEA", [55] = "HIP", [56] = "NINFO", [57] = "RKEY",
	[58] = "TALINK", [59] = "CDS", [60] = "CDNSKEY", [61] = "OPENPGPKEY",
	[62] = "CSYNC", [63] = "ZONEMD", [64] = "SVCB", [65] = "HTTPS", [66] = "DSYNC",
	[99] = "SPF", [100] = "UINFO", [101] = "UID", [102] = "GID", [103] = "UNSPEC",
	[104] = "NID", [105] = "L32", [106] = "L64", [107] = "LP", [108] = "EUI48",
	[109] = "EUI64",
};

const char *dns_type_name(uint16_t type)
{
	if (type < sizeof low_types / sizeof low_types[0])
		return low_types[type];
	switch (type) {
	case 249: return "TKEY";
	case 250: return "TSIG";
	case 251: return "IXFR";
	case 252: return "AXFR";
	case 253: return "MAILB";
	case 254: return "MAILA";
	case 255: return "ANY";
	case 256: return "URI";
	case 257: return "CAA";
	case 258: return "AVC";
	case 259: return "DOA";
	case 260: return "AMTRELAY";
	case 261: return "RESINFO";
	case 262: return "WALLET";
	case 32768: return "TA";
	case 32769: return "DLV";
	default: return NULL;
	}
}

size_t dns_type_str(uint16_t type, char *buf, size_t len)
{
	const char *n = dns_type_name(type);
	int w = n ? snprintf(buf, len, "%s", n) : snprintf(buf, len, "TYPE%u", type);
	return w < 0 ? 0 : (size_t)w < len ? (size_t)w : len - 1;
}

size_t dns_class_str(uint16_t c, char *buf, size_t len)
{
	const char *n = c == 1 ? "IN" : c == 3 ? "CH" : c == 4 ? "HS" : c == 254 ? "NONE"
		      : c == 255 ? "ANY" : NULL;
	int w = n ? snprintf(buf, len, "%s", n) : snprintf(buf, len, "CLASS%u", c);
	return w < 0 ? 0 : (size_t)w < len ? (size_t)w : len - 1;
}

const char *dns_rcode_name(uint16_t rcode)
{
	static const char *const names[] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN",
		"YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI",
	};
	if (rcode < sizeof names / sizeof names[0])
		return names[rcode];
	switch (rcode) {
	case 16: return "BADVERS";
	case 17: return "BADKEY";
	case 18: return "BADTIME";
	case 19: return "BADMODE";
	case 20: return "BADNAME";
	case 21: return "BADALG";
	case 22: return "BADTRUNC";
	case 23: return "BADCOOKIE";
	default: return NULL;
	}
}

const char *dns_opcode_name(uint8_t opcode)
{
	switch (opcode) {
	case 0: return "QUERY";
	case 1: return "IQUERY";
	case 2: return "STATUS";
	case 4: return "NOTIFY";
	case 5: return "UPDATE";
	case 6: return "DSO";
	default: return NULL;
	}
}
