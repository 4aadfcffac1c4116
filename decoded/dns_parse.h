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
	uint64_t err_rdata; /* counted per RR (or OPT) whose rdata does not match its
			       type and was written as RFC 3597; the message stays OK
			       (parse_error MSG_ERR_RDATA when nothing worse happened) */
	uint64_t trailing_bytes; /* messages with bytes after the last RR (kept, OK) */
	uint64_t text_cut; /* messages whose record hit the size limit */
};
extern const struct stat_desc dns_parse_stat_desc[];
extern const size_t dns_parse_stat_count;

/*
 * Text conventions of the record (see also common/records.h):
 *   - names in presentation format without the trailing dot, "." for the
 *     root, case as on the wire, escaped as dig escapes them;
 *   - rdata as `dig +nosplit` prints it (decoded/dns_rdata.h), names in it
 *     without trailing dots; RFC 3597 `\# LEN HEX` for types without a
 *     format of their own and for rdata that does not match its type;
 *     RRSIG/SIG times as YYYYMMDDHHmmSS read as plain unsigned seconds since
 *     1970 (dig reads them around today's date, which is not reproducible).
 *
 * EDNS summary (edns_off/edns_len, when MSG_F_EDNS): space-separated tokens,
 * printable ASCII without quotes, at most 512 bytes:
 *   udp=N v=N          always: the OPT CLASS (UDP payload size), EDNS version
 *   do                 the DO bit
 *   z=0xHHHH           the other flag bits, when any is set
 *   then one token per option, in wire order:
 *   nsid[=HEX]         NSID (3); bare in a query (a request)
 *   ecs=ADDR/SRC/SCOPE edns-client-subnet (8), e.g. ecs=192.0.2.0/24/0,
 *                      ecs=2001:db8::/56/0 (the address zero-padded)
 *   expire[=N]         EXPIRE (9), seconds
 *   cookie[=HEX]       COOKIE (10): client cookie and server cookie in one
 *   keepalive[=N]      edns-tcp-keepalive (11), in units of 100 ms
 *   padding=LEN        Padding (12): its length only
 *   ede=CODE[:TEXT]    Extended DNS Error (15), TEXT escaped like a label
 *                      (spaces as \032) so that it stays one token
 *   optN[=HEX]         any other option, and a known one that is not well
 *                      formed (e.g. opt8=... for a bad ECS)
 *   malformed          the option list overruns the rdata (parsing of the
 *                      options stops there; counted in err_rdata)
 *   ...                the summary was cut at 512 bytes
 * HEX is lower-case; values longer than 64 bytes show their first 64 bytes
 * followed by "...".  Example:
 *   udp=1232 v=0 do ecs=192.0.2.0/24/0 cookie=0001020304050607 nsid=6e7331
 * Only the first OPT of the additional section is EDNS; any other OPT is an
 * ordinary RR (rendered `\# LEN HEX`).
 *
 * Limits: names of at most 255 bytes, labels of 63, DNS_POINTER_HOPS_MAX
 * (128) compression pointers per name (decoded/dns_name.h); one RR's text of
 * at most 64 KiB (an RR whose text is longer is left out as if the record
 * were full: MSG_F_TEXT_CUT).  When an RR does not fit the record, it and
 * every later RR are left out (MSG_F_TEXT_CUT, counted once in text_cut),
 * so the RRs kept are always a prefix of the message's; the header, the
 * question and the EDNS fields are still filled in.
 *
 * Parse wire[0..len) into b, which the caller has msgb_init()ed.  Fills id,
 * hflags, rcode (with the EDNS extended bits), qtype/qclass/qname, counts,
 * the EDNS fields and summary, every RR of the answer, authority and
 * additional sections (OPT excluded), msg_len, parse_error and flags.
 * Leaves ts, addresses, ports, ip_version, transport and vlan to the caller.
 */
enum dns_parse_result dns_parse(const uint8_t *wire, size_t len, struct msg_builder *b,
				struct dns_parse_stats *st);

#endif
