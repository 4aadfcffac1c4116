/*
 * dns_edns.h - the one-line summary of an EDNS(0) OPT pseudo-RR (RFC 6891)
 * that dnstrail keeps in rec_msg's edns text.  The format is documented in
 * dns_parse.h, next to the fields it complements.
 */
#ifndef DNSTRAIL_DNS_EDNS_H
#define DNSTRAIL_DNS_EDNS_H

#include "dns_out.h"
#include "wire.h"

#include <stdint.h>

/* Longest summary: what does not fit is replaced by " ..." (the buffer given
 * to dns_edns_summary must hold DNS_EDNS_TEXT_MAX bytes). */
#define DNS_EDNS_TEXT_MAX 512
/* Option values printed in hex are cut after this many bytes, then "...". */
#define DNS_EDNS_HEX_MAX 64

/* Writes the summary of an OPT RR with the given CLASS (UDP payload size),
 * TTL (extended RCODE, version, flags) and rdata (the options).  Returns 0,
 * or -1 when the option list is malformed (the summary then ends with
 * " malformed"). */
int dns_edns_summary(uint16_t udp_size, uint32_t ttl, const struct wire *rdata, char *buf,
		     size_t *len);

#endif
