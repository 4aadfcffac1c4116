/*
 * test_logd_txn.h - test-side helpers shared by logd's unit tests, its
 * fuzzer and txn_feed: building REC_TXN records, and the reference for what
 * a JSON string written by logd must decode to.
 *
 * The reference is written independently of logd/jsonw.c (it decodes code
 * points and checks their ranges, where jsonw.c checks byte ranges), so the
 * two agreeing is evidence, not tautology.
 */
#ifndef DNSTRAIL_TEST_LOGD_TXN_H
#define DNSTRAIL_TEST_LOGD_TXN_H

#include "records.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TB_MAX_RR 256
#define TB_TEXT 65536
#define TB_BUF (sizeof(struct rec_txn) + TB_MAX_RR * sizeof(struct rec_rr) + TB_TEXT)

struct tb {
	union {
		struct rec_txn txn;
		uint8_t raw[TB_BUF];
	} u;
	struct rec_rr rr[TB_MAX_RR];
	char text[TB_TEXT];
	struct msg_builder b;
};

/* Starts a transaction; the message header fields are then set directly in
 * tb->u.txn.msg (after this call, before tb_end). */
static inline struct rec_txn *tb_begin(struct tb *tb, uint8_t kind)
{
	memset(&tb->u.txn, 0, sizeof tb->u.txn);
	msgb_init(&tb->b, &tb->u.txn.msg, TB_BUF - offsetof(struct rec_txn, msg), tb->rr, TB_MAX_RR,
		  tb->text, TB_TEXT);
	tb->u.txn.kind = kind;
	tb->u.txn.count = 1;
	tb->u.txn.msg.ip_version = 4;
	tb->u.txn.msg.transport = 17;
	return &tb->u.txn;
}

static inline void tb_question(struct tb *tb, const char *name, size_t n, uint16_t type,
			       uint16_t rclass)
{
	struct rec_msg *m = tb->b.m;
	m->qname_off = msgb_text(&tb->b, name, n);
	m->qname_len = (uint16_t)n;
	m->qtype = type;
	m->qclass = rclass;
	m->flags |= MSG_F_QUESTION;
}

static inline int tb_rr(struct tb *tb, const char *name, size_t nl, const char *data, size_t dl,
			uint16_t type, uint32_t ttl, uint32_t count, uint8_t section)
{
	struct rec_rr rr;
	memset(&rr, 0, sizeof rr);
	rr.name_off = msgb_text(&tb->b, name, nl);
	rr.name_len = (uint16_t)nl;
	rr.data_off = msgb_text(&tb->b, data, dl);
	rr.data_len = (uint32_t)dl;
	if (rr.name_off == UINT32_MAX || rr.data_off == UINT32_MAX)
		return -1;
	rr.type = type;
	rr.rclass = 1;
	rr.ttl = ttl;
	rr.count = count;
	rr.section = section;
	return msgb_add_rr(&tb->b, &rr);
}

/* Joins the record; returns its size (what goes into the ring). */
static inline size_t tb_end(struct tb *tb)
{
	return offsetof(struct rec_txn, msg) + msgb_finish(&tb->b);
}

/* What logd's JSON string for in[0..n) must decode to, as UTF-8: every
 * well-formed UTF-8 sequence as it is, every other byte b as the code point
 * U+00b.  Returns the output length; out needs 2n bytes. */
static inline size_t ref_json_decode(const uint8_t *in, size_t n, uint8_t *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		uint8_t c = in[i];
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
			   : (c & 0xf8) == 0xf0 ? 4 : 0;
		uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1fu : len == 3 ? c & 0x0fu : c & 0x07u;
		int ok = len != 0 && i + len <= n;
		for (size_t k = 1; ok && k < len; k++) {
			if ((in[i + k] & 0xc0) != 0x80)
				ok = 0;
			else
				cp = cp << 6 | (in[i + k] & 0x3fu);
		}
		static const uint32_t min_cp[5] = { 0, 0, 0x80, 0x800, 0x10000 };
		if (ok && (cp < min_cp[len] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff))
			ok = 0;
		if (ok) {
			memcpy(out + o, in + i, len);
			o += len;
			i += len;
		} else {
			out[o++] = (uint8_t)(0xc0 | c >> 6);
			out[o++] = (uint8_t)(0x80 | (c & 0x3f));
			i++;
		}
	}
	return o;
}

#endif
