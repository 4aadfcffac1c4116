/*
 * records.c - validation and building of the ring records (records.h).
 *
 * The checks here are what makes a record read from shared memory safe to
 * use: after rec_msg_check() succeeds, every offset/length pair in the
 * record addresses bytes inside it.
 */
#include "records.h"

#include "hash.h"

#include <string.h>

int rec_frame_check(const struct rec_frame *f, size_t len, const char **why)
{
	if (len < sizeof *f) {
		*why = "frame record shorter than its header";
		return -1;
	}
	if (f->wire_len < len - sizeof *f) {
		*why = "frame longer than its wire length";
		return -1;
	}
	return 0;
}

static int span_ok(uint64_t off, uint64_t n, uint64_t limit)
{
	return off <= limit && n <= limit - off;
}

int rec_msg_check(const struct rec_msg *m, size_t len, const char **why)
{
	if (len < sizeof *m) {
		*why = "message record shorter than its header";
		return -1;
	}
	if (rec_msg_size(m) != len) {
		*why = "message record size does not match its counts";
		return -1;
	}
	if (m->ip_version != 4 && m->ip_version != 6) {
		*why = "message record with an IP version other than 4 or 6";
		return -1;
	}
	uint32_t tl = m->text_len;
	if (!span_ok(m->qname_off, m->qname_len, tl) || !span_ok(m->edns_off, m->edns_len, tl)) {
		*why = "message record question or EDNS text outside the record";
		return -1;
	}
	const struct rec_rr *rr = rec_msg_rrs(m);
	for (uint32_t i = 0; i < m->n_rr; i++) {
		if (!span_ok(rr[i].name_off, rr[i].name_len, tl) ||
		    !span_ok(rr[i].data_off, rr[i].data_len, tl)) {
			*why = "message record RR text outside the record";
			return -1;
		}
		if (rr[i].section < SEC_ANSWER || rr[i].section > SEC_ADDITIONAL) {
			*why = "message record RR with an unknown section";
			return -1;
		}
	}
	return 0;
}

int rec_txn_check(const struct rec_txn *t, size_t len, const char **why)
{
	if (len < offsetof(struct rec_txn, msg) + sizeof(struct rec_msg)) {
		*why = "transaction record shorter than its header";
		return -1;
	}
	if (t->kind < TXN_ANSWERED || t->kind > TXN_UNANSWERED) {
		*why = "transaction record of an unknown kind";
		return -1;
	}
	return rec_msg_check(&t->msg, len - offsetof(struct rec_txn, msg), why);
}

void msgb_init(struct msg_builder *b, void *out, size_t cap, struct rec_rr *rr_stage,
	       uint32_t rr_cap, char *text_stage, uint32_t text_cap)
{
	b->m = out;
	b->cap = cap;
	b->rr = rr_stage;
	b->rr_cap = rr_cap;
	b->text = text_stage;
	b->text_cap = text_cap;
	memset(b->m, 0, sizeof *b->m);
}

/* Would the finished record still fit if it grew by rr_more entries and
 * text_more bytes? */
static int fits(const struct msg_builder *b, uint32_t rr_more, size_t text_more)
{
	size_t need = sizeof *b->m + ((size_t)b->m->n_rr + rr_more) * sizeof(struct rec_rr) +
		      b->m->text_len + text_more;
	return need <= b->cap && b->m->n_rr + rr_more <= b->rr_cap &&
	       b->m->n_rr + rr_more <= UINT16_MAX && b->m->text_len + text_more <= b->text_cap;
}

uint32_t msgb_text(struct msg_builder *b, const char *s, size_t n)
{
	if (!fits(b, 0, n)) {
		b->m->flags |= MSG_F_TEXT_CUT;
		return UINT32_MAX;
	}
	uint32_t off = b->m->text_len;
	memcpy(b->text + off, s, n);
	b->m->text_len += (uint32_t)n;
	return off;
}

int msgb_add_rr(struct msg_builder *b, const struct rec_rr *rr)
{
	if (!fits(b, 1, 0)) {
		b->m->flags |= MSG_F_TEXT_CUT;
		return -1;
	}
	b->rr[b->m->n_rr++] = *rr;
	return 0;
}

size_t msgb_size(const struct msg_builder *b)
{
	return sizeof *b->m + (size_t)b->m->n_rr * sizeof(struct rec_rr) + b->m->text_len;
}

/* A name's part of both hashes: an answer's owner is most often the
 * question name itself (decoded points both at one text span), so
 * set_hashes computes it once per span. */
static uint64_t name_part(const char *name, size_t len)
{
	return hash_name(0x3c6ef372fe94f82bULL, name, len);
}

/* The rest of the key after the owner name: rdata, then the fixed fields. */
static uint32_t rr_hash_from(uint64_t name_part, const char *data, size_t len, uint32_t qname_hash,
			     uint16_t qtype, uint16_t type, uint8_t section)
{
	uint64_t h = hash_bytes(name_part, data, len);
	h = hash_u64(h, (uint64_t)qname_hash << 32 | (uint64_t)qtype << 16 | type);
	return (uint32_t)hash_final(hash_u64(h, section));
}

uint32_t rec_qname_hash(const char *qname, size_t len)
{
	return (uint32_t)hash_final(name_part(qname, len));
}

uint32_t rec_pair_hash(const struct rec_msg *m)
{
	int resp = DNS_QR(m->hflags);
	const uint8_t *cli = resp ? m->dst : m->src, *srv = resp ? m->src : m->dst;
	uint16_t cport = resp ? m->dport : m->sport, sport = resp ? m->sport : m->dport;
	uint64_t h = 0x6a09e667f3bcc908ULL, w[2];
	if (m->ip_version == 4) {
		uint32_t c, s;
		memcpy(&c, cli, 4);
		memcpy(&s, srv, 4);
		h = hash_u64(h, (uint64_t)c << 32 | s);
	} else {
		for (int i = 0; i < 2; i++) {
			memcpy(w, i ? srv : cli, 16);
			h = hash_u64(hash_u64(h, w[0]), w[1]);
		}
	}
	h = hash_u64(h, (uint64_t)cport | (uint64_t)sport << 16 | (uint64_t)m->id << 32 |
				(uint64_t)m->transport << 48 | (uint64_t)m->ip_version << 56);
	h = hash_u64(h, (uint64_t)m->qtype | (uint64_t)m->qclass << 16 | (uint64_t)m->qname_hash << 32);
	return (uint32_t)hash_final(h);
}

uint32_t rec_rr_hash(uint32_t qname_hash, uint16_t qtype, const char *name, size_t name_len,
		     const char *data, size_t data_len, uint16_t type, uint8_t section)
{
	return rr_hash_from(name_part(name, name_len), data, data_len, qname_hash, qtype, type, section);
}

/* The builder's text stage holds every span the header and rr[] name. */
static void set_hashes(struct rec_msg *m, struct rec_rr *rr, const char *text)
{
	uint32_t span_off = m->qname_off, span_len = m->qname_len;
	uint64_t part = name_part(text + span_off, span_len);
	m->qname_hash = (uint32_t)hash_final(part);
	m->pair_hash = rec_pair_hash(m);
	for (uint16_t i = 0; i < m->n_rr; i++) {
		if (rr[i].name_off != span_off || rr[i].name_len != span_len) {
			span_off = rr[i].name_off;
			span_len = rr[i].name_len;
			part = name_part(text + span_off, span_len);
		}
		rr[i].hash = rr_hash_from(part, text + rr[i].data_off, rr[i].data_len, m->qname_hash,
					  m->qtype, rr[i].type, rr[i].section);
	}
}

void msgb_write(struct msg_builder *b, void *dst)
{
	set_hashes(b->m, b->rr, b->text);
	uint8_t *p = dst;
	size_t rr_bytes = (size_t)b->m->n_rr * sizeof(struct rec_rr);
	if (p != (uint8_t *)b->m)
		memcpy(p, b->m, sizeof *b->m);
	p += sizeof *b->m;
	memcpy(p, b->rr, rr_bytes);
	memcpy(p + rr_bytes, b->text, b->m->text_len);
}

size_t msgb_finish(struct msg_builder *b)
{
	msgb_write(b, b->m);
	return msgb_size(b);
}
