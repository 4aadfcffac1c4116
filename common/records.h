/*
 * records.h - the records carried by the rings: the contract between stages.
 *
 *   cap.K  (RING_KIND_FRAMES)        capd -> decoded      REC_FRAME
 *   dec.K  (RING_KIND_MESSAGES)      decoded -> correlated REC_MSG
 *   log    (RING_KIND_TRANSACTIONS)  correlated -> logd   REC_TXN
 *
 * Every record is a fixed little-endian header followed by variable data,
 * all in host byte order (producer and consumer run on the same machine).
 * A record read from a ring is untrusted: consumers call the rec_*_check()
 * function before touching a variable part, which verifies every offset and
 * length against the record's size.  Changing a layout, or what a field
 * means (4: an RR's hash covers its whole dedup key), means bumping
 * RECORDS_VERSION (it is folded into the ring version check, ring.c).
 */
#ifndef DNSTRAIL_RECORDS_H
#define DNSTRAIL_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#define RECORDS_VERSION 4

enum rec_type {
	REC_FRAME = 16,
	REC_MSG = 17,
	REC_TXN = 18,
	REC_TICK = 19, /* cap.K and dec.K: packet time has advanced */
	REC_TEST = 99, /* ring tests only */
};

/* ---- cap.K and dec.K: a clock tick ---------------------------------------
 * "Records that follow on this ring carry ts_ns >= this" (for a capture in
 * time order).  capd sends one on every ring every TICK_FRAMES frames and,
 * live, at least every TICK_INTERVAL_MS of wall clock; decoded forwards them
 * after everything it derived from earlier frames.  correlated merges its
 * input rings by time, and a ring that carries no DNS for a while would
 * otherwise hold that merge (and its timeouts) back forever. */
#define TICK_FRAMES 1024
#define TICK_INTERVAL_MS 100
struct rec_tick {
	uint64_t ts_ns;
};

/* ---- cap.K: one captured frame ------------------------------------------
 * Followed by the captured bytes (record length - sizeof header = caplen). */
struct rec_frame {
	uint64_t ts_ns; /* capture timestamp, ns since the Unix epoch */
	uint32_t wire_len; /* original length on the wire (>= caplen) */
	uint16_t dlt; /* libpcap DLT_ value of the frame's link type */
	uint16_t flags; /* reserved, 0 */
};

/* ---- dec.K and log: one DNS message --------------------------------------
 * Layout: struct rec_msg, then rr[n_rr] (struct rec_rr), then the text area
 * of text_len bytes.  The text area holds, without NULs, the question name,
 * the EDNS summary, and every RR's owner name and rdata in presentation
 * format, each addressed by an offset and a length.
 *
 * Names are in presentation format without the trailing dot ("." for the
 * root); bytes outside printable ASCII, and the characters . \ " ; ( ) @ $
 * inside a label, are escaped as \DDD or \c as dig prints them.  The text is
 * therefore printable ASCII, but the JSON writer still escapes it. */

enum msg_flags {
	MSG_F_VLAN = 1 << 0, /* vlan holds the outer 802.1Q/802.1ad id */
	MSG_F_QUESTION = 1 << 1, /* qname/qtype/qclass are valid */
	MSG_F_EDNS = 1 << 2, /* an OPT RR was present */
	MSG_F_EDNS_DO = 1 << 3,
	MSG_F_PARTIAL = 1 << 4, /* parsing stopped early: see parse_error */
	MSG_F_TEXT_CUT = 1 << 5, /* RRs omitted because the record hit its size limit */
};

/* Why a message was parsed only in part (rec_msg.parse_error). */
enum msg_parse_error {
	MSG_OK = 0,
	MSG_ERR_TRUNCATED, /* a section ends before its header counts say */
	MSG_ERR_BAD_NAME, /* label too long, name too long, bad label type */
	MSG_ERR_POINTER_LOOP, /* compression pointer loop or forward pointer */
	MSG_ERR_RDATA, /* rdata inconsistent with its type or rdlength */
	MSG_ERR_TRAILING, /* bytes after the last RR (informational) */
};

enum rr_section { SEC_ANSWER = 1, SEC_AUTHORITY = 2, SEC_ADDITIONAL = 3 };

struct rec_rr {
	uint32_t ttl;
	uint32_t count; /* log ring: sightings this RR stands for (dedup); else 1 */
	uint32_t name_off; /* owner name in the text area */
	uint32_t data_off; /* rdata in presentation format in the text area */
	uint32_t data_len;
	uint16_t name_len;
	uint16_t type;
	uint16_t rclass;
	uint8_t section; /* enum rr_section */
	uint8_t flags; /* reserved, 0 */
	uint32_t hash; /* rec_rr_hash(): of the RR's dedup key (msgb_write sets it) */
};

struct rec_msg {
	uint64_t ts_ns; /* packet time (of the message's last segment/fragment) */
	uint8_t src[16]; /* dec ring: packet source. log ring: client (query sender) */
	uint8_t dst[16]; /* dec ring: packet destination. log ring: server */
	uint16_t sport, dport; /* same roles as src/dst */
	uint8_t ip_version; /* 4 (address in the first 4 bytes) or 6 */
	uint8_t transport; /* 17 UDP, 6 TCP */
	uint16_t vlan;
	uint16_t id;
	uint16_t hflags; /* header bytes 2-3: QR opcode AA TC RD RA Z AD CD RCODE */
	uint16_t rcode; /* 12-bit: header RCODE | EDNS extended RCODE << 4 */
	uint16_t qtype, qclass;
	uint16_t counts[4]; /* QDCOUNT ANCOUNT NSCOUNT ARCOUNT from the header */
	uint16_t n_rr; /* entries in rr[]; the OPT pseudo-RR is not one of them */
	uint16_t flags; /* enum msg_flags */
	uint16_t edns_udp_size;
	uint8_t edns_version;
	uint8_t parse_error; /* enum msg_parse_error */
	uint32_t msg_len; /* size of the DNS message in bytes */
	uint32_t text_len;
	uint32_t qname_off, edns_off; /* in the text area */
	uint16_t qname_len, edns_len; /* edns: "udp=1232 v=0 do ecs=192.0.2.0/24/0 cookie=..."
					 (the format: decoded/dns_parse.h) */
	uint32_t qname_hash; /* rec_qname_hash() of the question name (msgb_write sets it) */
	uint32_t pair_hash; /* rec_pair_hash(): of the key pairing it with its query or response */
	uint32_t reserved; /* 0 */
	/* struct rec_rr rr[n_rr]; char text[text_len]; */
};

#define DNS_QR(hflags) (((hflags) >> 15) & 1)
#define DNS_OPCODE(hflags) (((hflags) >> 11) & 0xf)
#define DNS_AA(hflags) (((hflags) >> 10) & 1)
#define DNS_TC(hflags) (((hflags) >> 9) & 1)
#define DNS_RD(hflags) (((hflags) >> 8) & 1)
#define DNS_RA(hflags) (((hflags) >> 7) & 1)
#define DNS_AD(hflags) (((hflags) >> 5) & 1)
#define DNS_CD(hflags) (((hflags) >> 4) & 1)

/* ---- log: one transaction -------------------------------------------------
 * The message logged (the response, or the query when it went unanswered)
 * with the correlation verdict in front.  msg.src/sport are the client's,
 * msg.dst/dport the server's, whatever direction the packet went. */
enum txn_kind {
	TXN_ANSWERED = 1, /* query and response seen; elapsed_ns is valid */
	TXN_RESPONSE_ONLY = 2, /* response whose query was not seen */
	TXN_UNANSWERED = 3, /* query with no response within the timeout */
};

enum txn_flags {
	TXN_F_DEDUP_FLUSH = 1 << 0, /* re-emission of dedup entries when their window closed */
	TXN_F_EVICTED = 1 << 1, /* unanswered because the pending table was full */
};

/* Which RRs a transaction carries is correlated's decision: it keeps the
 * sections the operator asked for (--sections) and leaves out RRs the dedup
 * cache suppressed.  A transaction with n_rr == 0 is written as one line with
 * empty rrname/a/atype (a response without answers, or an unanswered query);
 * `count` is the dedup count of that line. */
struct rec_txn {
	uint64_t query_ts_ns; /* 0 when the query was not seen */
	uint64_t elapsed_ns; /* response time - query time, >= 0 (TXN_ANSWERED only) */
	uint8_t kind; /* enum txn_kind */
	uint8_t flags; /* enum txn_flags */
	uint16_t reserved0;
	uint32_t count; /* dedup count of the no-RR line; 1 without dedup */
	struct rec_msg msg;
};

/* ---- access, for consumers (all bounds-checked by rec_msg_check) ---- */

/* Verify that a REC_MSG body of len bytes is self-consistent: every RR's name
 * and data lie in the text area, the text area lies in the record.  Returns 0
 * when it is, else -1 with a static reason in *why. */
int rec_msg_check(const struct rec_msg *m, size_t len, const char **why);
int rec_txn_check(const struct rec_txn *t, size_t len, const char **why);
int rec_frame_check(const struct rec_frame *f, size_t len, const char **why);

static inline const struct rec_rr *rec_msg_rrs(const struct rec_msg *m)
{
	return (const struct rec_rr *)(m + 1);
}
static inline const char *rec_msg_text(const struct rec_msg *m)
{
	return (const char *)(rec_msg_rrs(m) + m->n_rr);
}
static inline size_t rec_msg_size(const struct rec_msg *m)
{
	return sizeof *m + (size_t)m->n_rr * sizeof(struct rec_rr) + m->text_len;
}

/* ---- the hashes a message carries ----
 * Computed once where the message is built (decoded scales with the number
 * of decoders; correlated is one process), over the text, so a record is
 * hashed the same whoever built it.  correlated keys its pending-query
 * table and dedup cache on them and compares the text itself only on a
 * hash match, so a wrong hash can cost a match or a dedup hit, never merge
 * two different keys.  Names are case-folded (hash.h). */
uint32_t rec_qname_hash(const char *qname, size_t len);
/* The pairing key (DESIGN: client address and port, server address and
 * port, transport, DNS id, question), the same for a query and its
 * response: the client is the source of a query, the destination of a
 * response.  m->qname_hash must be set. */
uint32_t rec_pair_hash(const struct rec_msg *m);
/* The dedup key of an RR (correlated/dedup.h): the question's name and
 * type, the owner name, rdata, type and section.  The whole key, so that
 * correlated, one process, hashes nothing per RR. */
uint32_t rec_rr_hash(uint32_t qname_hash, uint16_t qtype, const char *name, size_t name_len,
		     const char *data, size_t data_len, uint16_t type, uint8_t section);

/* ---- building, for producers ----
 * A builder writes a rec_msg into a caller buffer of fixed size.  RRs and
 * text are staged separately and joined by msgb_finish; anything that would
 * overflow the buffer is left out and flagged MSG_F_TEXT_CUT, never written
 * past the end. */
struct msg_builder {
	struct rec_msg *m; /* header, at the start of the output buffer */
	size_t cap; /* bytes available for the whole record */
	struct rec_rr *rr; /* staging for RR entries */
	uint32_t rr_cap;
	char *text; /* staging for the text area */
	uint32_t text_cap;
};

void msgb_init(struct msg_builder *b, void *out, size_t cap, struct rec_rr *rr_stage,
	       uint32_t rr_cap, char *text_stage, uint32_t text_cap);
/* Append text; returns its offset, or UINT32_MAX when it does not fit. */
uint32_t msgb_text(struct msg_builder *b, const char *s, size_t n);
/* Adds an RR whose name and data are already in the text area. */
int msgb_add_rr(struct msg_builder *b, const struct rec_rr *rr);
/* Size of the finished record. */
size_t msgb_size(const struct msg_builder *b);
/* Sets the hashes (qname_hash, each RR's hash), then joins header, RRs and
 * text in the output buffer; returns the record size. */
size_t msgb_finish(struct msg_builder *b);
/* The same, into dst (msgb_size bytes; e.g. a ring reservation). */
void msgb_write(struct msg_builder *b, void *dst);

#endif
