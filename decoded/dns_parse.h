/*
 * dns_parse.h - one DNS message from wire format into a rec_msg
 * (common/records.h), every RR rendered in presentation format.
 *
 * The parser reads through a bounds-checked cursor whose error is sticky
 * (decoded/wire.h); it never reads outside [wire, wire + len).
 */
#ifndef DNSTRAIL_DNS_PARSE_H
#define DNSTRAIL_DNS_PARSE_H

#include "records.h"
#include "stats.h"

#include <stddef.h>
#include <stdint.h>

enum dns_parse_result {
	DNS_PARSE_OK, /* the whole message parsed */
	DNS_PARSE_PARTIAL, /* header and question intact, a later part malformed:
			      emitted with MSG_F_PARTIAL, parse_error says why,
			      the RRs before the fault are kept */
	DNS_PARSE_REJECT, /* not usable: nothing to emit (counted) */
};

struct dns_parse_stats {
	uint64_t messages_ok;
	uint64_t messages_partial;
	uint64_t rejected_short; /* shorter than the 12-byte header */
	uint64_t rejected_question; /* header says QDCOUNT >= 1 but the question is unreadable */
	uint64_t err_truncated; /* by reason, for partial and rejected messages */
	uint64_t err_bad_name;
	uint64_t err_pointer_loop;
	uint64_t err_rdata;
	uint64_t trailing_bytes; /* messages with bytes after the last RR (kept, OK) */
	uint64_t text_cut; /* messages whose record hit the size limit */
};
extern const struct stat_desc dns_parse_stat_desc[];
extern const size_t dns_parse_stat_count;

/*
 * Parse wire[0..len) into b, which the caller has msgb_init()ed.  Fills id,
 * hflags, rcode (with the EDNS extended bits), qtype/qclass/qname, counts,
 * the EDNS fields and summary, every RR of the answer, authority and
 * additional sections (OPT excluded), msg_len, parse_error and flags.
 * Leaves ts, addresses, ports, ip_version, transport and vlan to the caller.
 */
enum dns_parse_result dns_parse(const uint8_t *wire, size_t len, struct msg_builder *b,
				struct dns_parse_stats *st);

#endif
