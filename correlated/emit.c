/*
 * emit.c - REC_TXN records onto the log ring (see emit.h).
 *
 * A transaction is built straight in the ring: the header, the chosen RR
 * entries, then the message's text area copied whole (the RR entries keep
 * their offsets into it).  If nothing is left to say, the reservation is
 * simply not committed.
 */
#include "emit.h"

#include <stddef.h>
#include <string.h>

const struct stat_desc emit_stat_desc[] = {
	STAT_DESC(struct emit_stats, records, "emit.records", "transaction records written to the log ring"),
	STAT_DESC(struct emit_stats, rrs, "emit.rrs", "RRs in them"),
	STAT_DESC(struct emit_stats, suppressed, "emit.suppressed",
		  "transactions not written because dedup counted every line"),
	STAT_DESC(struct emit_stats, oversize, "emit.oversize",
		  "transactions larger than the log ring's record limit (lost; enlarge --ring-size)"),
};
const size_t emit_stat_count = sizeof emit_stat_desc / sizeof emit_stat_desc[0];

static void orient(struct rec_msg *o, const struct rec_msg *m)
{
	*o = *m;
	if (!DNS_QR(m->hflags))
		return;
	/* A response travels server -> client; the record says client, server. */
	memcpy(o->src, m->dst, sizeof o->src);
	memcpy(o->dst, m->src, sizeof o->dst);
	o->sport = m->dport;
	o->dport = m->sport;
}

void emit_txn(struct emitter *e, const struct txn_event *ev)
{
	const struct rec_msg *m = ev->msg;
	struct rec_txn hdr;
	hdr.query_ts_ns = ev->query_ts_ns;
	hdr.elapsed_ns = ev->kind == TXN_ANSWERED && m->ts_ns > ev->query_ts_ns
				 ? m->ts_ns - ev->query_ts_ns : 0;
	hdr.kind = ev->kind;
	hdr.flags = ev->flags;
	hdr.reserved0 = 0;
	hdr.count = 1;
	orient(&hdr.msg, m);

	/* Decide first, write after: the dedup cache may itself write records
	 * (entries it lets go), which must not land inside ours. */
	const struct rec_rr *in = rec_msg_rrs(m);
	const char *text = rec_msg_text(m);
	uint16_t selected = 0, kept = 0;
	for (uint16_t i = 0; i < m->n_rr; i++) {
		e->keep[i] = 0;
		if (!(e->sections & (1u << in[i].section)))
			continue;
		selected++;
		if (e->dedup && !dedup_sighting(e->dedup, &hdr, text, &in[i]))
			continue;
		e->keep[i] = 1;
		kept++;
	}
	if (selected && !kept) {
		e->st.suppressed++;
		return;
	}
	if (!selected && e->dedup && !dedup_sighting(e->dedup, &hdr, text, NULL)) {
		e->st.suppressed++;
		return;
	}
	if (e->silent)
		return; /* written before the restart */
	hdr.msg.n_rr = kept;
	size_t size = offsetof(struct rec_txn, msg) + rec_msg_size(&hdr.msg);
	struct rec_txn *t = ring_reserve(e->out, (uint32_t)size);
	if (!t) {
		e->st.oversize += size > ring_max_record(e->out);
		return;
	}
	*t = hdr;
	struct rec_rr *out = (struct rec_rr *)(&t->msg + 1);
	for (uint16_t i = 0, k = 0; i < m->n_rr; i++) {
		if (!e->keep[i])
			continue;
		out[k] = in[i];
		out[k].count = 1;
		k++;
	}
	memcpy(out + kept, text, m->text_len);
	ring_commit(e->out, REC_TXN, (uint32_t)size);
	e->st.records++;
	e->st.rrs += kept;
}

void emit_prefetch(struct emitter *e, const struct rec_msg *m, size_t len)
{
	if (e->dedup)
		dedup_prefetch(e->dedup, m, len, e->sections);
}

void emit_record(void *emitter, const struct rec_txn *t, size_t len)
{
	struct emitter *e = emitter;
	if (e->silent)
		return;
	if (ring_push(e->out, REC_TXN, t, (uint32_t)len) < 0) {
		e->st.oversize += len > ring_max_record(e->out);
		return;
	}
	e->st.records++;
	e->st.rrs += t->msg.n_rr;
}
