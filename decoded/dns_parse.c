/*
 * dns_parse.c - one DNS message (RFC 1035 4.1) into a rec_msg (dns_parse.h).
 *
 * The message is read through wire cursors (wire.h) and never outside
 * [wire, wire + len).  What is a fault of what:
 *   - shorter than the header, or a first question that cannot be read:
 *     REJECT (nothing usable to log);
 *   - a later part of the structure (an RR's owner name, its fixed fields, an
 *     RDLENGTH past the end, a section shorter than its count): PARTIAL, the
 *     RRs read before the fault are kept and parse_error says why;
 *   - rdata that does not match its type (too short, too long, a bad name
 *     inside it): the RR is kept, rendered in the RFC 3597 generic form,
 *     counted in err_rdata, and parsing goes on, because RDLENGTH still
 *     delimits it: the structure of the message is intact;
 *   - bytes after the last RR: OK, flagged MSG_ERR_TRAILING.
 *
 * No allocation: the builder's buffers are the caller's, the rest is on the
 * stack, bounded by the limits below.  Work is linear in the message size:
 * names cost at most DNS_POINTER_HOPS_MAX hops and 255 bytes each.
 */
#include "dns_parse.h"

#include "dns_edns.h"
#include "dns_name.h"
#include "dns_rdata.h"
#include "wire.h"

#include <stdbool.h>

#define DNS_HEADER_LEN 12
#define DNS_TYPE_OPT 41
#define DNS_CLASS_NONE 254
#define DNS_CLASS_ANY 255
/* Longest presentation text of one RR (owner name and rdata together); an
 * RR whose text is longer is left out like one that does not fit the record
 * (MSG_F_TEXT_CUT).  Lives on the stack of dns_parse. */
#define DNS_RR_TEXT_MAX 65536
/* Owner names already in the text area, by dns_name_ref key, so that the
 * usual "pointer to the question name" costs no rendering and no text. */
#define NAME_CACHE_SLOTS 8

const struct stat_desc dns_parse_stat_desc[] = {
	STAT_DESC(struct dns_parse_stats, messages_ok, "dns.messages_ok",
		  "DNS messages parsed completely"),
	STAT_DESC(struct dns_parse_stats, messages_partial, "dns.messages_partial",
		  "DNS messages parsed up to a fault, emitted with the RRs before it"),
	STAT_DESC(struct dns_parse_stats, rejected_short, "dns.rejected_short",
		  "payloads shorter than the 12-byte DNS header, dropped"),
	STAT_DESC(struct dns_parse_stats, rejected_question, "dns.rejected_question",
		  "DNS messages whose first question is unreadable, dropped"),
	STAT_DESC(struct dns_parse_stats, err_truncated, "dns.err_truncated",
		  "partial or rejected DNS messages: a section ends before its count"),
	STAT_DESC(struct dns_parse_stats, err_bad_name, "dns.err_bad_name",
		  "partial or rejected DNS messages: bad label type, label or name too long"),
	STAT_DESC(struct dns_parse_stats, err_pointer_loop, "dns.err_pointer_loop",
		  "partial or rejected DNS messages: compression pointer loop"),
	STAT_DESC(struct dns_parse_stats, err_rdata, "dns.err_rdata",
		  "RRs whose rdata did not match their type, logged in RFC 3597 form"),
	STAT_DESC(struct dns_parse_stats, trailing_bytes, "dns.trailing_bytes",
		  "DNS messages with bytes after the last RR"),
	STAT_DESC(struct dns_parse_stats, text_cut, "dns.text_cut",
		  "DNS messages with RRs left out because the record hit its size limit"),
};
const size_t dns_parse_stat_count = sizeof dns_parse_stat_desc / sizeof dns_parse_stat_desc[0];

struct name_cache {
	uint32_t key[NAME_CACHE_SLOTS];
	uint32_t off[NAME_CACHE_SLOTS];
	uint16_t len[NAME_CACHE_SLOTS];
	uint8_t hops[NAME_CACHE_SLOTS];
	unsigned used, next;
};

struct parser {
	struct wire msg; /* the whole message, for compression pointers */
	struct wire cur; /* the next unread byte of the sections */
	struct msg_builder *b;
	struct dns_parse_stats *st;
	bool cut; /* an RR was left out: add no more, so what is kept is a prefix */
	bool edns_seen;
	uint8_t info_error; /* first informational error (rdata, trailing) */
	struct name_cache names;
	char *text; /* DNS_RR_TEXT_MAX bytes of scratch */
};

static uint8_t name_error(enum dns_name_status s)
{
	switch (s) {
	case DNS_NAME_LOOP:
		return MSG_ERR_POINTER_LOOP;
	case DNS_NAME_BAD:
		return MSG_ERR_BAD_NAME;
	default:
		return MSG_ERR_TRUNCATED;
	}
}

static void count_error(struct dns_parse_stats *st, uint8_t err)
{
	switch (err) {
	case MSG_ERR_TRUNCATED:
		st->err_truncated++;
		break;
	case MSG_ERR_BAD_NAME:
		st->err_bad_name++;
		break;
	case MSG_ERR_POINTER_LOOP:
		st->err_pointer_loop++;
		break;
	default:
		break;
	}
}

static int cache_find(const struct name_cache *c, uint32_t key, unsigned extra_hops)
{
	for (unsigned i = 0; i < c->used; i++)
		if (c->key[i] == key && c->hops[i] + extra_hops <= DNS_POINTER_HOPS_MAX)
			return (int)i;
	return -1;
}

static void cache_add(struct name_cache *c, const struct dns_name_ref *ref, uint32_t off,
		      size_t len)
{
	unsigned i = c->used < NAME_CACHE_SLOTS ? c->used++ : c->next++ % NAME_CACHE_SLOTS;
	c->key[i] = ref->key;
	c->hops[i] = (uint8_t)ref->hops;
	c->off[i] = off;
	c->len[i] = (uint16_t)len;
}

/* An owner name that is a single pointer to a name already in the text
 * area: returns its cache slot and skips the pointer, else -1 (cur untouched). */
static int cached_pointer(struct parser *p)
{
	uint8_t hi, lo;
	if (!wire_peek_u8(&p->cur, 0, &hi) || !wire_peek_u8(&p->cur, 1, &lo) ||
	    (hi & 0xc0) != 0xc0)
		return -1;
	uint32_t target = (uint32_t)(hi & 0x3f) << 8 | lo;
	int slot = cache_find(&p->names, target, 1);
	if (slot >= 0)
		wire_skip(&p->cur, 2);
	return slot;
}

/* Reads a name at the cursor into the scratch text at *o.  Returns 0 or the
 * MSG_ERR_* code. */
static uint8_t read_name(struct parser *p, struct out *o, struct dns_name_ref *ref)
{
	enum dns_name_status s = dns_name_read(&p->msg, &p->cur, o, ref);
	return s == DNS_NAME_OK ? 0 : name_error(s);
}

/* The question section: the first question is kept, the others skipped.
 * Returns 0, or the error of the first faulty question and whether it was
 * the first (*first_bad). */
static uint8_t parse_questions(struct parser *p, uint16_t qdcount, bool *first_bad)
{
	struct rec_msg *m = p->b->m;
	for (unsigned i = 0; i < qdcount; i++) {
		*first_bad = i == 0;
		struct dns_name_ref ref;
		struct out o = out_init(p->text, DNS_NAME_TEXT_MAX);
		uint8_t err = read_name(p, i == 0 ? &o : NULL, &ref);
		if (err)
			return err;
		const uint8_t *f = wire_bytes(&p->cur, 4); /* qtype, qclass */
		if (!f)
			return MSG_ERR_TRUNCATED;
		uint16_t qtype = wire_be16_at(f), qclass = wire_be16_at(f + 2);
		if (i)
			continue;
		m->qtype = qtype;
		m->qclass = qclass;
		uint32_t off = msgb_text(p->b, p->text, out_len(&o));
		if (off != UINT32_MAX) {
			m->qname_off = off;
			m->qname_len = (uint16_t)out_len(&o);
			m->flags |= MSG_F_QUESTION;
			cache_add(&p->names, &ref, off, out_len(&o));
		}
	}
	return 0;
}

static void parse_opt(struct parser *p, uint16_t rclass, uint32_t ttl, const struct wire *rdata)
{
	struct rec_msg *m = p->b->m;
	char buf[DNS_EDNS_TEXT_MAX];
	size_t len;
	p->edns_seen = true;
	m->flags |= MSG_F_EDNS;
	if (ttl & 0x8000)
		m->flags |= MSG_F_EDNS_DO;
	m->edns_udp_size = rclass;
	m->edns_version = (uint8_t)(ttl >> 16);
	m->rcode = (uint16_t)(m->rcode | (ttl >> 24) << 4);
	if (dns_edns_summary(rclass, ttl, rdata, buf, &len) < 0) {
		p->st->err_rdata++;
		if (!p->info_error)
			p->info_error = MSG_ERR_RDATA;
	}
	uint32_t off = msgb_text(p->b, buf, len);
	if (off != UINT32_MAX) {
		m->edns_off = off;
		m->edns_len = (uint16_t)len;
	}
}

/* Renders one RR's rdata after the owner text already in o; falls back to
 * RFC 3597 when the rdata does not match its type. */
static void render_rdata(struct parser *p, const struct rec_rr *rr, const struct wire *rdata,
			 struct out *o)
{
	char *mark = o->p;
	/* UPDATE prerequisites and deletes (RFC 2136 2.4, 2.5) carry no rdata in
	 * class ANY or NONE whatever the type: not an rdata fault */
	if (!wire_avail(rdata) && (rr->rclass == DNS_CLASS_NONE || rr->rclass == DNS_CLASS_ANY)) {
		dns_rdata_generic(rdata, o);
		return;
	}
	if (dns_rdata_text(rr->type, &p->msg, rdata, o) == 0 || o->full)
		return;
	o->p = mark;
	dns_rdata_generic(rdata, o);
	p->st->err_rdata++;
	if (!p->info_error)
		p->info_error = MSG_ERR_RDATA;
}

/* One RR of a section.  Returns 0 or the MSG_ERR_* code of a structural
 * fault. */
static uint8_t parse_rr(struct parser *p, uint8_t section)
{
	struct rec_rr rr = { .count = 1, .section = section };
	struct out o = out_init(p->text, DNS_RR_TEXT_MAX);
	struct dns_name_ref ref;
	int slot = cached_pointer(p);
	if (slot < 0) {
		uint8_t err = read_name(p, &o, &ref);
		if (err)
			return err;
	}
	size_t name_len = out_len(&o);
	const uint8_t *f = wire_bytes(&p->cur, 10); /* type, class, ttl, rdlength */
	if (!f)
		return MSG_ERR_TRUNCATED;
	rr.type = wire_be16_at(f);
	rr.rclass = wire_be16_at(f + 2);
	rr.ttl = wire_be32_at(f + 4);
	struct wire rdata = wire_sub(&p->cur, wire_be16_at(f + 8));
	if (p->cur.err)
		return MSG_ERR_TRUNCATED;

	if (section == SEC_ADDITIONAL && rr.type == DNS_TYPE_OPT && !p->edns_seen) {
		parse_opt(p, rr.rclass, rr.ttl, &rdata);
		return 0;
	}
	/* rendered even when it cannot be kept: rdata faults are counted alike
	 * whatever the record's size */
	render_rdata(p, &rr, &rdata, &o);
	if (p->cut)
		return 0;
	uint32_t off = o.full ? UINT32_MAX : msgb_text(p->b, p->text, out_len(&o));
	if (off == UINT32_MAX) {
		p->b->m->flags |= MSG_F_TEXT_CUT;
		p->cut = true;
		return 0;
	}
	if (slot >= 0) {
		rr.name_off = p->names.off[slot];
		rr.name_len = p->names.len[slot];
	} else {
		rr.name_off = off;
		rr.name_len = (uint16_t)name_len;
	}
	rr.data_off = off + (uint32_t)name_len;
	rr.data_len = (uint32_t)(out_len(&o) - name_len);
	if (msgb_add_rr(p->b, &rr) < 0) {
		p->cut = true;
		return 0;
	}
	if (slot < 0)
		cache_add(&p->names, &ref, off, name_len);
	return 0;
}

static enum dns_parse_result finish(struct parser *p, uint8_t err)
{
	struct rec_msg *m = p->b->m;
	if (m->flags & MSG_F_TEXT_CUT)
		p->st->text_cut++;
	if (err) {
		m->flags |= MSG_F_PARTIAL;
		m->parse_error = err;
		p->st->messages_partial++;
		count_error(p->st, err);
		return DNS_PARSE_PARTIAL;
	}
	if (wire_avail(&p->cur)) {
		p->st->trailing_bytes++;
		if (!p->info_error)
			p->info_error = MSG_ERR_TRAILING;
	}
	m->parse_error = p->info_error;
	p->st->messages_ok++;
	return DNS_PARSE_OK;
}

enum dns_parse_result dns_parse(const uint8_t *wire, size_t len, struct msg_builder *b,
				struct dns_parse_stats *st)
{
	char text[DNS_RR_TEXT_MAX];
	/* Field by field: an initializer would zero the name cache's arrays,
	 * a rep stos per message that cost more than the header parse; the
	 * cache reads no slot at or past names.used. */
	struct parser p;
	p.b = b;
	p.st = st;
	p.text = text;
	p.cut = false;
	p.edns_seen = false;
	p.info_error = 0;
	p.names.used = 0;
	p.names.next = 0;
	p.msg = wire_init(wire, len);
	p.cur = p.msg;
	struct rec_msg *m = b->m;

	const uint8_t *h = wire_bytes(&p.cur, 12);
	if (!h) {
		st->rejected_short++;
		return DNS_PARSE_REJECT;
	}
	m->id = wire_be16_at(h);
	m->hflags = wire_be16_at(h + 2);
	for (int i = 0; i < 4; i++)
		m->counts[i] = wire_be16_at(h + 4 + 2 * i);
	m->rcode = m->hflags & 0xf;
	m->msg_len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;

	bool first_bad = false;
	uint8_t err = parse_questions(&p, m->counts[0], &first_bad);
	if (err && first_bad) {
		st->rejected_question++;
		count_error(st, err);
		return DNS_PARSE_REJECT;
	}
	for (uint8_t section = SEC_ANSWER; !err && section <= SEC_ADDITIONAL; section++)
		for (unsigned i = 0; !err && i < m->counts[section]; i++)
			err = parse_rr(&p, section);
	return finish(&p, err);
}
