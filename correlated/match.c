/*
 * match.c - the pending-query table (see match.h for the rules).
 *
 * Entries live on one of two FIFO lists by arrival, queries and held
 * responses, because they time out after different delays: each list's head
 * is always the next to expire, so expiry and oldest-first eviction are
 * O(1) per entry.  The index finds an entry by the hash of its key.
 */
#include "match.h"

#include "hash.h"
#include "index.h"
#include "spares.h"

#include <stdlib.h>
#include <string.h>

const struct stat_desc match_stat_desc[] = {
	STAT_DESC(struct match_stats, queries, "match.queries", "queries seen (opcode QUERY)"),
	STAT_DESC(struct match_stats, responses, "match.responses", "responses seen (opcode QUERY)"),
	STAT_DESC(struct match_stats, answered, "match.answered", "responses paired with their query"),
	STAT_DESC(struct match_stats, response_only, "match.response_only",
		  "responses whose query was not seen"),
	STAT_DESC(struct match_stats, unanswered, "match.unanswered",
		  "queries with no response within the timeout"),
	STAT_DESC(struct match_stats, late_responses, "match.late_responses",
		  "responses that came after the query timeout"),
	STAT_DESC(struct match_stats, retransmissions, "match.retransmissions",
		  "repeats of a pending query"),
	STAT_DESC(struct match_stats, evicted, "match.evicted",
		  "entries let go early because the table was full (--max-pending)"),
	STAT_DESC(struct match_stats, reordered, "match.reordered",
		  "responses seen before their query and paired within the reorder window"),
	STAT_GAUGE(struct match_stats, pending, "match.pending", "queries waiting for a response"),
	STAT_GAUGE(struct match_stats, held, "match.held", "responses waiting for their query"),
	STAT_GAUGE(struct match_stats, memory_bytes, "match.memory_bytes", "bytes held by the table"),
	STAT_DESC(struct match_stats, alloc_failures, "match.alloc_failures",
		  "messages not tracked because memory ran out"),
};
const size_t match_stat_count = sizeof match_stat_desc / sizeof match_stat_desc[0];

struct pending {
	struct pending *older, *newer; /* by arrival, in its FIFO (queries or held) */
	struct pending *ring_older, *ring_newer; /* by arrival, among its ring's entries */
	uint64_t pos; /* of its record in its ring */
	uint32_t ring;
	uint64_t hash;
	uint64_t ts_ns;
	uint32_t size; /* bytes of msg */
	uint32_t alloc; /* bytes of this allocation */
	_Alignas(8) unsigned char msg[]; /* struct rec_msg as received */
};

struct fifo {
	struct pending *oldest, *newest;
};

struct match {
	struct match_config cfg;
	match_emit_fn emit;
	void *ctx;
	struct index ix;
	struct fifo queries, held;
	struct pending *ring_oldest[MATCH_MAX_RINGS], *ring_newest[MATCH_MAX_RINGS];
	/* Per ring, the oldest entry not yet given up for recovery: the ones
	 * before it fell out of the half of the ring kept for a restart, and the
	 * limit only moves forward, so this never moves back. */
	struct pending *ring_kept[MATCH_MAX_RINGS];
	uint64_t entry_bytes;
	struct spares spares; /* freed entries for reuse */
	struct match_stats st;
};

/* The key of a message, oriented client -> server whatever its direction. */
struct key {
	const uint8_t *cli, *srv;
	uint16_t cport, sport, id, qtype, qclass;
	uint8_t ipv, transport;
	const char *qname;
	uint16_t qlen;
	uint32_t hash; /* the message's pair_hash */
};

static void key_of(const struct rec_msg *m, struct key *k)
{
	int resp = DNS_QR(m->hflags);
	k->cli = resp ? m->dst : m->src;
	k->srv = resp ? m->src : m->dst;
	k->cport = resp ? m->dport : m->sport;
	k->sport = resp ? m->sport : m->dport;
	k->id = m->id;
	k->qtype = m->qtype;
	k->qclass = m->qclass;
	k->ipv = m->ip_version;
	k->transport = m->transport;
	k->qname = rec_msg_text(m) + m->qname_off;
	k->qlen = m->qname_len;
	k->hash = m->pair_hash;
}

/* The record's pair_hash (records.h), decoded's: the text and addresses
 * are read only to confirm a candidate (key_eq). */
static uint64_t key_hash(const struct key *k)
{
	return (uint64_t)k->hash << 32 | k->hash;
}

static int key_eq(const struct key *a, const struct key *b)
{
	size_t alen = a->ipv == 4 ? 4 : 16;
	return a->ipv == b->ipv && a->transport == b->transport && a->id == b->id &&
	       a->cport == b->cport && a->sport == b->sport && a->qtype == b->qtype &&
	       a->qclass == b->qclass && !memcmp(a->cli, b->cli, alen) &&
	       !memcmp(a->srv, b->srv, alen) && name_eq(a->qname, a->qlen, b->qname, b->qlen);
}

static const struct rec_msg *pmsg(const struct pending *p)
{
	return (const struct rec_msg *)p->msg;
}

static void fifo_push(struct fifo *f, struct pending *p)
{
	p->older = f->newest;
	p->newer = NULL;
	if (f->newest)
		f->newest->newer = p;
	else
		f->oldest = p;
	f->newest = p;
}

static void fifo_unlink(struct fifo *f, struct pending *p)
{
	if (p->older)
		p->older->newer = p->newer;
	else
		f->oldest = p->newer;
	if (p->newer)
		p->newer->older = p->older;
	else
		f->newest = p->older;
}

static void ring_list_push(struct match *mt, struct pending *p)
{
	p->ring_older = mt->ring_newest[p->ring];
	p->ring_newer = NULL;
	if (p->ring_older)
		p->ring_older->ring_newer = p;
	else
		mt->ring_oldest[p->ring] = p;
	mt->ring_newest[p->ring] = p;
	if (!mt->ring_kept[p->ring])
		mt->ring_kept[p->ring] = p;
}

static void ring_list_unlink(struct match *mt, struct pending *p)
{
	if (mt->ring_kept[p->ring] == p)
		mt->ring_kept[p->ring] = p->ring_newer;
	if (p->ring_older)
		p->ring_older->ring_newer = p->ring_newer;
	else
		mt->ring_oldest[p->ring] = p->ring_newer;
	if (p->ring_newer)
		p->ring_newer->ring_older = p->ring_older;
	else
		mt->ring_newest[p->ring] = p->ring_older;
}

uint64_t match_oldest_pos(struct match *mt, unsigned ring, uint64_t not_before)
{
	struct pending *p = mt->ring_kept[ring];
	while (p && p->pos < not_before)
		p = p->ring_newer;
	mt->ring_kept[ring] = p;
	return p ? p->pos : UINT64_MAX;
}

static int is_held(const struct pending *p)
{
	return DNS_QR(pmsg(p)->hflags);
}

static void drop_entry(struct match *mt, struct pending *p)
{
	index_remove(&mt->ix, p->hash, p);
	ring_list_unlink(mt, p);
	if (is_held(p)) {
		fifo_unlink(&mt->held, p);
		mt->st.held--;
	} else {
		fifo_unlink(&mt->queries, p);
		mt->st.pending--;
	}
	mt->entry_bytes -= p->alloc;
	spares_put(&mt->spares, p, p->alloc);
}

static void emit(struct match *mt, uint8_t kind, uint8_t flags, uint64_t qts,
		 const struct rec_msg *m, size_t len)
{
	struct txn_event ev = { .kind = kind, .flags = flags, .query_ts_ns = qts, .msg = m,
				.msg_len = len };
	mt->emit(mt->ctx, &ev);
}

/* A query that will get no (timely) response. */
static void give_up_query(struct match *mt, struct pending *p, uint8_t flags)
{
	mt->st.unanswered++;
	if (mt->cfg.log_unanswered)
		emit(mt, TXN_UNANSWERED, flags, p->ts_ns, pmsg(p), p->size);
}

static void give_up_held(struct match *mt, struct pending *p)
{
	mt->st.response_only++;
	emit(mt, TXN_RESPONSE_ONLY, 0, 0, pmsg(p), p->size);
}

static void evict_oldest(struct match *mt)
{
	struct pending *q = mt->queries.oldest, *h = mt->held.oldest;
	struct pending *p = !q ? h : !h ? q : h->ts_ns < q->ts_ns ? h : q;
	mt->st.evicted++;
	if (is_held(p))
		give_up_held(mt, p);
	else
		give_up_query(mt, p, TXN_F_EVICTED);
	drop_entry(mt, p);
}

static struct pending *find(struct match *mt, const struct key *k, uint64_t h)
{
	uint64_t pos = UINT64_MAX;
	struct pending *p;
	while ((p = index_next(&mt->ix, h, &pos))) {
		struct key pk;
		key_of(pmsg(p), &pk);
		if (key_eq(k, &pk))
			return p;
	}
	return NULL;
}

static void track(struct match *mt, const struct rec_msg *m, size_t len, uint64_t h,
		  unsigned ring, uint64_t pos)
{
	if (mt->st.pending + mt->st.held >= mt->cfg.max_pending)
		evict_oldest(mt);
	uint32_t alloc;
	struct pending *p = spares_get(&mt->spares, sizeof(struct pending) + len, &alloc);
	if (!p || index_insert(&mt->ix, h, p) < 0) {
		/* Out of memory below our own bound: say so in the counters
		 * and give the message its verdict now rather than lose it. */
		free(p);
		mt->st.alloc_failures++;
		if (DNS_QR(m->hflags)) {
			mt->st.response_only++;
			emit(mt, TXN_RESPONSE_ONLY, 0, 0, m, len);
		} else {
			mt->st.unanswered++;
			if (mt->cfg.log_unanswered)
				emit(mt, TXN_UNANSWERED, TXN_F_EVICTED, m->ts_ns, m, len);
		}
		return;
	}
	p->hash = h;
	p->ring = ring;
	p->pos = pos;
	ring_list_push(mt, p);
	p->ts_ns = m->ts_ns;
	p->size = (uint32_t)len;
	p->alloc = alloc;
	memcpy(p->msg, m, len);
	mt->entry_bytes += alloc;
	if (DNS_QR(m->hflags)) {
		fifo_push(&mt->held, p);
		mt->st.held++;
	} else {
		fifo_push(&mt->queries, p);
		mt->st.pending++;
	}
}

static void on_query(struct match *mt, const struct rec_msg *m, size_t len, unsigned ring,
		     uint64_t pos)
{
	mt->st.queries++;
	struct key k;
	key_of(m, &k);
	uint64_t h = key_hash(&k);
	struct pending *p = find(mt, &k, h);
	if (!p) {
		track(mt, m, len, h, ring, pos);
		return;
	}
	if (!is_held(p)) {
		mt->st.retransmissions++;
		return;
	}
	/* The response came first (reorder window). */
	mt->st.reordered++;
	mt->st.answered++;
	emit(mt, TXN_ANSWERED, 0, m->ts_ns, pmsg(p), p->size);
	drop_entry(mt, p);
}

void match_prefetch(const struct match *mt, const struct rec_msg *m, size_t len)
{
	if (len < sizeof *m)
		return;
	struct key k = { .hash = m->pair_hash };
	__builtin_prefetch(index_home(&mt->ix, key_hash(&k)), 1);
}

static void on_response(struct match *mt, const struct rec_msg *m, size_t len, unsigned ring,
			uint64_t pos)
{
	mt->st.responses++;
	struct key k;
	key_of(m, &k);
	uint64_t h = key_hash(&k);
	struct pending *p = find(mt, &k, h);
	if (p && !is_held(p)) {
		if (m->ts_ns > p->ts_ns && m->ts_ns - p->ts_ns > mt->cfg.timeout_ns) {
			mt->st.late_responses++;
			give_up_query(mt, p, 0);
			mt->st.response_only++;
			emit(mt, TXN_RESPONSE_ONLY, 0, 0, m, len);
		} else {
			mt->st.answered++;
			emit(mt, TXN_ANSWERED, 0, p->ts_ns, m, len);
		}
		drop_entry(mt, p);
		return;
	}
	if (!p && mt->cfg.reorder_ns) {
		track(mt, m, len, h, ring, pos);
		return;
	}
	/* No query, or a response to the same key is already held: the
	 * first one held keeps the chance to pair. */
	mt->st.response_only++;
	emit(mt, TXN_RESPONSE_ONLY, 0, 0, m, len);
}

void match_message(struct match *mt, const struct rec_msg *m, size_t len, unsigned ring,
		   uint64_t pos)
{
	if (ring >= MATCH_MAX_RINGS)
		ring = MATCH_MAX_RINGS - 1;
	if (DNS_QR(m->hflags))
		on_response(mt, m, len, ring, pos);
	else
		on_query(mt, m, len, ring, pos);
}

void match_expire(struct match *mt, uint64_t now)
{
	struct pending *p;
	while ((p = mt->held.oldest) && now > p->ts_ns && now - p->ts_ns > mt->cfg.reorder_ns) {
		give_up_held(mt, p);
		drop_entry(mt, p);
	}
	while ((p = mt->queries.oldest) && now > p->ts_ns && now - p->ts_ns > mt->cfg.timeout_ns) {
		give_up_query(mt, p, 0);
		drop_entry(mt, p);
	}
}

void match_flush(struct match *mt)
{
	struct pending *p;
	while ((p = mt->held.oldest)) {
		give_up_held(mt, p);
		drop_entry(mt, p);
	}
	while ((p = mt->queries.oldest)) {
		give_up_query(mt, p, 0);
		drop_entry(mt, p);
	}
}

struct match *match_new(const struct match_config *cfg, match_emit_fn fn, void *ctx)
{
	struct match *mt = calloc(1, sizeof *mt);
	if (!mt)
		return NULL;
	mt->cfg = *cfg;
	mt->emit = fn;
	mt->ctx = ctx;
	if (index_init(&mt->ix, 4096) < 0) {
		free(mt);
		return NULL;
	}
	return mt;
}

void match_free(struct match *mt)
{
	if (!mt)
		return;
	struct pending *p;
	while ((p = mt->queries.oldest))
		drop_entry(mt, p);
	while ((p = mt->held.oldest))
		drop_entry(mt, p);
	spares_free(&mt->spares);
	index_free(&mt->ix);
	free(mt);
}

const struct match_stats *match_stats(struct match *mt)
{
	mt->st.memory_bytes = mt->entry_bytes + mt->spares.bytes + index_bytes(&mt->ix);
	return &mt->st;
}
