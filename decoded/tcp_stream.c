/*
 * tcp_stream.c - TCP reassembly and DNS framing (behaviour in tcp_stream.h).
 *
 * Invariants per direction (struct tcp_dir):
 *  - ranges[0..nranges) are sorted, disjoint, non-adjacent byte ranges
 *    relative to base, all below cap; their bytes in buf are valid.
 *  - After dir_drain(), a synced direction's first range, if it starts at 0,
 *    holds less than one whole message; an unsynced one holds no offset
 *    already rejected as a message start.
 *  - buf is NULL exactly when cap is 0; tcp_bytes counts every cap.
 * Per table: lru_head..lru_tail lists every live flow, least recently
 * active first; st->tcp_flows is their number.
 */
#include "tcp_stream.h"

#include <stdlib.h>

#define FLOW_SLAB 64
/* An acknowledgement further ahead than this is not believed. */
#define ACK_WINDOW_MAX (1u << 30)
/* Name labels a resync scan may walk per call: ~100 us of work. */
#define RESYNC_BUDGET 65536
/* The smallest window that holds a minimal message and its length. */
#define WINDOW_MIN 64

struct tcp_range {
	uint32_t start, end;
};

struct tcp_dir {
	uint32_t base; /* sequence number of buf[0] */
	uint32_t isn;
	uint32_t fin_seq;
	uint32_t skip_lo, skip_hi; /* sequence range skipped without being seen */
	uint32_t acked; /* highest acknowledgement from the peer (has_acked) */
	uint8_t *buf;
	uint32_t cap;
	uint32_t nranges;
	struct tcp_range ranges[TCP_MAX_RANGES];
	uint8_t has_base, synced, isn_known, fin, has_vlan, has_acked;
	uint16_t vlan;
	uint64_t data_ns; /* time of the direction's latest segment with data */
};

struct tcp_flow {
	struct tcp_flow *hnext;
	struct tcp_flow *prev, *next; /* LRU */
	uint8_t addr[2][16]; /* endpoint 0 is the lower (address, port) */
	uint16_t port[2];
	uint8_t version;
	uint32_t bucket;
	uint64_t last_ns; /* decoder clock at the latest segment: the LRU order */
	struct tcp_dir dir[2]; /* dir[i]: bytes sent by endpoint i */
};

enum cand { CAND_REJECT, CAND_MORE, CAND_OK };

/* ---- table ---------------------------------------------------------- */

int tcp_init(struct tcp_table *t, const struct netdecode_limits *l, struct netdecode_stats *st,
	     struct nd_sink sink, uint64_t seed)
{
	memset(t, 0, sizeof *t);
	t->flow_max = l->tcp_flow_max ? l->tcp_flow_max : 1;
	t->mem_max = l->tcp_mem_max;
	t->window_max = l->tcp_flow_bytes_max;
	if (t->window_max > UINT32_MAX / 2)
		t->window_max = UINT32_MAX / 2;
	if (t->window_max < WINDOW_MIN)
		t->window_max = WINDOW_MIN;
	t->idle_ns = l->tcp_idle_ns;
	t->st = st;
	t->sink = sink;
	t->seed = seed;
	uint32_t n = 64;
	while (n < t->flow_max && n < (1u << 22))
		n <<= 1;
	t->buckets = calloc(n, sizeof *t->buckets);
	if (!t->buckets)
		return -1;
	t->bucket_mask = n - 1;
	return 0;
}

static uint32_t flow_bucket(const struct tcp_table *t, const uint8_t a0[16], const uint8_t a1[16],
			    uint16_t p0, uint16_t p1, uint8_t version)
{
	uint64_t w[5];
	memcpy(&w[0], a0, 16);
	memcpy(&w[2], a1, 16);
	w[4] = (uint64_t)p0 | (uint64_t)p1 << 16 | (uint64_t)version << 32;
	return (uint32_t)nd_hash_words(w, 5, t->seed) & t->bucket_mask;
}

static void lru_unlink(struct tcp_table *t, struct tcp_flow *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else
		t->lru_head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		t->lru_tail = f->prev;
	f->prev = f->next = NULL;
}

static void lru_append(struct tcp_table *t, struct tcp_flow *f)
{
	f->prev = t->lru_tail;
	f->next = NULL;
	if (t->lru_tail)
		t->lru_tail->next = f;
	else
		t->lru_head = f;
	t->lru_tail = f;
}

/* ---- window buffers --------------------------------------------------- */

static void buf_release(struct tcp_table *t, struct tcp_dir *d)
{
	if (!d->buf)
		return;
	t->st->tcp_bytes -= d->cap;
	if (d->cap == TCP_SMALL_BUF && t->nspare < TCP_SPARE_BUFS)
		t->spare[t->nspare++] = d->buf;
	else
		free(d->buf);
	d->buf = NULL;
	d->cap = 0;
}

static void flow_close(struct tcp_table *t, struct tcp_flow *f);

/* Evicts least recently active flows other than keep until `bytes` more fit
 * under tcp_mem_max; 0 if they cannot. */
static int mem_room(struct tcp_table *t, const struct tcp_flow *keep, uint64_t bytes)
{
	while (t->st->tcp_bytes + bytes > t->mem_max) {
		struct tcp_flow *v = t->lru_head;
		if (v == keep)
			v = v->next;
		if (!v)
			return 0;
		t->st->tcp_flows_evicted++;
		flow_close(t, v);
	}
	return 1;
}

/* Makes buf hold at least `need` bytes (need <= window_max). */
static int buf_reserve(struct tcp_table *t, struct tcp_flow *f, struct tcp_dir *d, uint32_t need)
{
	if (need <= d->cap)
		return 1;
	uint32_t cap;
	if (need <= TCP_SMALL_BUF && TCP_SMALL_BUF <= t->window_max) {
		cap = TCP_SMALL_BUF;
	} else {
		/* Double, so a long message across many segments is copied
		 * O(log n) times; never past the window. */
		cap = d->cap * 2 > need ? d->cap * 2 : need;
		cap = (cap + 1023) & ~1023u;
		if (cap > t->window_max)
			cap = (uint32_t)t->window_max;
		if (cap < need)
			cap = need;
	}
	if (!mem_room(t, f, cap - d->cap))
		return 0;
	uint8_t *nb;
	if (cap == TCP_SMALL_BUF && !d->buf && t->nspare) {
		nb = t->spare[--t->nspare];
	} else {
		nb = realloc(d->buf, cap);
		if (!nb)
			return 0;
	}
	t->st->tcp_bytes += cap - d->cap;
	d->buf = nb;
	d->cap = cap;
	return 1;
}

/* ---- per-direction window -------------------------------------------- */

static uint32_t prefix_len(const struct tcp_dir *d)
{
	return d->nranges && d->ranges[0].start == 0 ? d->ranges[0].end : 0;
}

static uint64_t present_below(const struct tcp_dir *d, uint32_t k)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < d->nranges && d->ranges[i].start < k; i++)
		n += (d->ranges[i].end < k ? d->ranges[i].end : k) - d->ranges[i].start;
	return n;
}

/* Moves base forward by k bytes, dropping what lies below; the bytes that
 * were held there are counted as discarded when `discard`. */
static void dir_advance(struct tcp_table *t, struct tcp_dir *d, uint32_t k, int discard)
{
	if (k == 0)
		return;
	uint32_t high = d->nranges ? d->ranges[d->nranges - 1].end : 0;
	if (discard)
		t->st->tcp_bytes_discarded += present_below(d, k);
	if (k > high) {
		/* Skipping bytes never seen: remember them, so that when they
		 * do arrive they count as discarded, not as retransmissions. */
		d->skip_lo = d->base + high;
		d->skip_hi = d->base + k;
	}
	uint32_t j = 0;
	for (uint32_t i = 0; i < d->nranges; i++) {
		struct tcp_range r = d->ranges[i];
		if (r.end <= k)
			continue;
		r.start = r.start > k ? r.start - k : 0;
		r.end -= k;
		d->ranges[j++] = r;
	}
	d->nranges = j;
	if (k < high)
		memmove(d->buf, d->buf + k, high - k);
	d->base += k;
}

static void emit(struct tcp_table *t, const struct tcp_flow *f, int i, const uint8_t *p, size_t n)
{
	const struct tcp_dir *d = &f->dir[i];
	struct pkt_meta m;
	memset(&m, 0, sizeof m);
	m.ts_ns = d->data_ns;
	memcpy(m.src, f->addr[i], 16);
	memcpy(m.dst, f->addr[!i], 16);
	m.sport = f->port[i];
	m.dport = f->port[!i];
	m.ip_version = f->version;
	m.transport = IPPROTO_NUM_TCP;
	m.has_vlan = d->has_vlan;
	m.vlan = d->vlan;
	t->st->tcp_messages++;
	sink_emit(&t->sink, &m, p, n);
}

/* Emits the whole length-prefixed messages at the start of s; returns the
 * bytes they took.  Stops at an incomplete message; if that one could never
 * fit the window, its full length (2 + L) goes to *overflow.  (A message
 * longer than the window but whole in one segment needs no buffering and
 * is emitted.) */
static size_t frame_msgs(struct tcp_table *t, const struct tcp_flow *f, int i, struct span s,
			 uint32_t *overflow)
{
	size_t pos = 0;
	uint16_t len;
	struct span msg;
	*overflow = 0;
	while (span_be16(s, pos, &len)) {
		if (len == 0) { /* no DNS message is empty: two stray bytes */
			t->st->tcp_bytes_discarded += 2;
			pos += 2;
			continue;
		}
		if (!span_slice(s, pos + 2, len, &msg)) {
			if (2u + len > t->window_max)
				*overflow = 2u + len;
			break;
		}
		emit(t, f, i, msg.p, msg.n);
		pos += 2u + len;
	}
	return pos;
}

/* Skips one DNS name of a candidate message m at *pos; compression
 * pointers must point before the name's start.  MORE: m ends first, or
 * the work budget is spent. */
static enum cand walk_name(struct span m, uint32_t *pos, uint32_t *budget)
{
	uint32_t start = *pos, total = 0;
	uint8_t c, lo;
	for (;;) {
		if (*budget == 0)
			return CAND_MORE;
		--*budget;
		if (!span_u8(m, *pos, &c))
			return CAND_MORE;
		if (c == 0) {
			*pos += 1;
			return CAND_OK;
		}
		if ((c & 0xc0) == 0xc0) {
			if (!span_u8(m, *pos + 1, &lo))
				return CAND_MORE;
			uint32_t ptr = (uint32_t)(c & 0x3f) << 8 | lo;
			if (ptr < 12 || ptr >= start)
				return CAND_REJECT;
			*pos += 2;
			return CAND_OK;
		}
		if (c & 0xc0)
			return CAND_REJECT;
		total += c + 1u;
		if (total > 255)
			return CAND_REJECT;
		*pos += 1u + c;
	}
}

/* Is s the start of a length-prefixed DNS message?  MORE: it might be,
 * more bytes (or, when *budget is spent, more work) are needed to tell;
 * never MORE when final. */
static enum cand candidate(struct span s, uint64_t window_max, int final, uint32_t *budget)
{
	enum cand more = final ? CAND_REJECT : CAND_MORE;
	if (*budget == 0)
		return more;
	uint16_t len, flags, qd, an, ns, ar, rdlen;
	if (!span_be16(s, 0, &len))
		return more;
	if (len < 12 || 2u + len > window_max)
		return CAND_REJECT;
	/* What we have of the message: running out of it means "wait" while
	 * the message is incomplete, "no" once it is whole. */
	struct span m = span_from(s, 2);
	if (m.n > len)
		m.n = len;
	if (!span_be16(m, 2, &flags) || !span_be16(m, 4, &qd) || !span_be16(m, 6, &an) ||
	    !span_be16(m, 8, &ns) || !span_be16(m, 10, &ar))
		return more;
	enum cand need = m.n == len ? CAND_REJECT : more;
	unsigned opcode = flags >> 11 & 0xf;
	if (opcode == 3 || opcode > 6)
		return CAND_REJECT;
	if (qd > 1 || (qd == 0 && an == 0))
		return CAND_REJECT;
	uint32_t nrr = (uint32_t)an + ns + ar;
	if (12u + qd * 5u + nrr * 11u > len)
		return CAND_REJECT;
	uint32_t pos = 12;
	enum cand r;
	for (uint32_t k = 0; k < qd + nrr; k++) {
		if ((r = walk_name(m, &pos, budget)) != CAND_OK)
			return r == CAND_MORE ? (*budget ? need : more) : r;
		if (k < qd) {
			pos += 4;
		} else {
			if (pos + 10 > len)
				return CAND_REJECT;
			if (!span_be16(m, pos + 8, &rdlen))
				return need;
			pos += 10u + rdlen;
		}
		if (pos > len)
			return CAND_REJECT;
	}
	if (pos != len)
		return CAND_REJECT;
	return m.n == len ? CAND_OK : more;
}

/* Frames what the window holds: emits complete messages, or (unsynced)
 * looks for a message start.  With `final`, nothing more will arrive, so
 * an undecided resync candidate is rejected. */
static void dir_drain(struct tcp_table *t, struct tcp_flow *f, int i, int final)
{
	struct tcp_dir *d = &f->dir[i];
	for (;;) {
		uint32_t have = prefix_len(d);
		if (d->synced) {
			uint32_t overflow;
			size_t used = frame_msgs(t, f, i, span_make(d->buf, have), &overflow);
			dir_advance(t, d, (uint32_t)used, 0);
			if (!overflow)
				return;
			t->st->tcp_flow_overflow++;
			dir_advance(t, d, overflow, 1);
			continue;
		}
		/* Bounded work per call, however the bytes are crafted: when it
		 * is spent the scan waits for the next segment (or, final,
		 * rejects what is left). */
		uint32_t p = 0, budget = RESYNC_BUDGET;
		enum cand c = CAND_REJECT;
		while (p + 2 <= have && (c = candidate(span_make(d->buf + p, have - p), t->window_max,
							  final, &budget)) == CAND_REJECT)
			p++;
		if (p + 2 > have && final)
			p = have;
		dir_advance(t, d, p, 1);
		if (c != CAND_OK)
			return;
		d->synced = 1;
		t->st->tcp_resync++;
	}
}

/* Bytes [g0, g1) of the window are lost for good, [0, g0) being present.
 * Drops the message they cut and finds where framing continues. */
static void dir_gap(struct tcp_table *t, struct tcp_dir *d, uint32_t g0, uint32_t g1)
{
	t->st->tcp_gap_dropped++;
	uint16_t len;
	if (d->synced && g0 >= 2 && span_be16(span_make(d->buf, g0), 0, &len)) {
		uint32_t end = 2u + len;
		if (g1 <= end) {
			dir_advance(t, d, end, 1);
			return;
		}
	}
	dir_advance(t, d, g1, 1);
	d->synced = 0;
}

/* Start of the first hole and of the data after it (or `otherwise`). */
static void first_hole(const struct tcp_dir *d, uint32_t otherwise, uint32_t *g0, uint32_t *g1)
{
	uint32_t k = d->nranges && d->ranges[0].start == 0 ? 1 : 0;
	*g0 = prefix_len(d);
	*g1 = k < d->nranges ? d->ranges[k].start : otherwise;
}

/* The flow ends for this direction: frame what can be framed, drop the rest. */
static void dir_flush(struct tcp_table *t, struct tcp_flow *f, int i)
{
	struct tcp_dir *d = &f->dir[i];
	for (;;) {
		dir_drain(t, f, i, 1);
		if (!d->nranges)
			return;
		uint32_t g0, g1;
		first_hole(d, 0, &g0, &g1);
		if (g1 > g0) {
			dir_gap(t, d, g0, g1);
		} else {
			dir_advance(t, d, g0, 1); /* an unfinished message, nothing after it */
			return;
		}
	}
}

/* The peer acknowledged stream bytes up to ack: holes below it will never
 * be filled by this capture. */
static void dir_acked(struct tcp_table *t, struct tcp_flow *f, int i, uint32_t ack)
{
	struct tcp_dir *d = &f->dir[i];
	if (d->fin && seq_diff(ack, d->fin_seq) > 0)
		ack = d->fin_seq; /* the FIN takes a sequence number but no byte */
	for (int rounds = 0; rounds < TCP_MAX_RANGES + 2; rounds++) {
		int32_t rel = seq_diff(ack, d->base);
		if (rel <= 0 || (uint32_t)rel > ACK_WINDOW_MAX)
			return;
		uint32_t g0, g1;
		first_hole(d, (uint32_t)rel, &g0, &g1);
		if ((uint32_t)rel <= g0)
			return;
		if (g1 > (uint32_t)rel)
			g1 = (uint32_t)rel;
		dir_gap(t, d, g0, g1);
		dir_drain(t, f, i, 0);
	}
}

/* Records [off, off + n) of the window (off + n <= window_max), keeping
 * bytes already there.  0 if the data could not be kept. */
static int dir_store(struct tcp_table *t, struct tcp_flow *f, struct tcp_dir *d, uint32_t off,
		     const uint8_t *p, uint32_t n)
{
	uint32_t end = off + n;
	/* Where the new range goes, and which existing ranges it touches. */
	uint32_t lo = 0;
	while (lo < d->nranges && d->ranges[lo].end < off)
		lo++;
	uint32_t hi = lo;
	while (hi < d->nranges && d->ranges[hi].start <= end)
		hi++;
	if (lo == hi && d->nranges == TCP_MAX_RANGES)
		return 0;
	if (!buf_reserve(t, f, d, end))
		return 0;
	/* Copy only into the holes between the touched ranges. */
	uint32_t at = off;
	for (uint32_t k = lo; k < hi && at < end; k++) {
		if (d->ranges[k].start > at)
			memcpy(d->buf + at, p + (at - off),
			       (d->ranges[k].start < end ? d->ranges[k].start : end) - at);
		if (d->ranges[k].end > at)
			at = d->ranges[k].end;
	}
	if (at < end)
		memcpy(d->buf + at, p + (at - off), end - at);
	struct tcp_range merged = { off, end };
	if (lo < hi) {
		if (d->ranges[lo].start < merged.start)
			merged.start = d->ranges[lo].start;
		if (d->ranges[hi - 1].end > merged.end)
			merged.end = d->ranges[hi - 1].end;
	}
	uint32_t removed = hi - lo;
	if (removed != 1)
		memmove(&d->ranges[lo + 1], &d->ranges[hi], (d->nranges - hi) * sizeof d->ranges[0]);
	d->ranges[lo] = merged;
	d->nranges = d->nranges - removed + 1;
	return 1;
}

/* Adds stream bytes starting at sequence number seq to direction i. */
static void dir_data(struct tcp_table *t, struct tcp_flow *f, int i, uint32_t seq,
		     const uint8_t *p, uint32_t n)
{
	struct tcp_dir *d = &f->dir[i];
	while (n) {
		int32_t rel = seq_diff(seq, d->base);
		if (rel < 0) {
			uint32_t old = (uint32_t)-rel < n ? (uint32_t)-rel : n;
			/* Below base: a retransmission, unless it falls where we
			 * skipped ahead without having seen the bytes. */
			int64_t a = seq_diff(seq, d->skip_lo), lo = a > 0 ? a : 0;
			int64_t hi = a + old, r = (uint32_t)(d->skip_hi - d->skip_lo);
			if (hi > r)
				hi = r;
			if (hi > lo)
				t->st->tcp_bytes_discarded += (uint64_t)(hi - lo);
			seq += old;
			p += old;
			n -= old;
			continue;
		}
		uint32_t off = (uint32_t)rel;
		if (off == 0 && d->synced && d->nranges == 0) {
			/* In order with nothing pending: frame straight from the
			 * segment, copy only an unfinished tail. */
			uint32_t overflow;
			size_t used = frame_msgs(t, f, i, span_make(p, n), &overflow);
			d->base += (uint32_t)used;
			seq += (uint32_t)used;
			p += used;
			n -= (uint32_t)used;
			if (!n)
				return;
			if (overflow) {
				t->st->tcp_flow_overflow++;
				dir_advance(t, d, overflow, 1);
				continue;
			}
		}
		if (off >= t->window_max) {
			/* Beyond the window: the first hole is lost for good. */
			uint32_t g0, g1;
			first_hole(d, off, &g0, &g1);
			if (g1 > g0)
				dir_gap(t, d, g0, g1);
			else /* cannot happen after a drain; never loop on it */
				dir_advance(t, d, off, 1);
			dir_drain(t, f, i, 0);
			continue;
		}
		uint32_t take = (uint64_t)off + n > t->window_max ? (uint32_t)(t->window_max - off) : n;
		if (!dir_store(t, f, d, off, p, take)) {
			t->st->tcp_bytes_discarded += take;
			t->st->tcp_flow_overflow++;
		} else {
			dir_drain(t, f, i, 0);
		}
		seq += take;
		p += take;
		n -= take;
	}
	if (!d->nranges)
		buf_release(t, d);
}

/* ---- flows ------------------------------------------------------------ */

static void flow_flush(struct tcp_table *t, struct tcp_flow *f)
{
	for (int i = 0; i < 2; i++) {
		dir_flush(t, f, i);
		buf_release(t, &f->dir[i]);
	}
}

/* Ends a flow: frames what it can, then frees it. */
static void flow_close(struct tcp_table *t, struct tcp_flow *f)
{
	flow_flush(t, f);
	struct tcp_flow **pp = &t->buckets[f->bucket];
	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
	lru_unlink(t, f);
	t->st->tcp_flows--;
	f->hnext = t->free_list;
	t->free_list = f;
}

static struct tcp_flow *flow_alloc(struct tcp_table *t)
{
	if (!t->free_list) {
		if (t->nslabs == t->slab_cap) {
			size_t nc = t->slab_cap ? t->slab_cap * 2 : 8;
			void **ns = realloc(t->slabs, nc * sizeof *ns);
			if (!ns)
				return NULL;
			t->slabs = ns;
			t->slab_cap = nc;
		}
		struct tcp_flow *slab = calloc(FLOW_SLAB, sizeof *slab);
		if (!slab)
			return NULL;
		t->slabs[t->nslabs++] = slab;
		for (size_t k = 0; k < FLOW_SLAB; k++) {
			slab[k].hnext = t->free_list;
			t->free_list = &slab[k];
		}
	}
	struct tcp_flow *f = t->free_list;
	t->free_list = f->hnext;
	memset(f, 0, sizeof *f);
	return f;
}

void tcp_free(struct tcp_table *t)
{
	while (t->lru_head) {
		struct tcp_flow *f = t->lru_head;
		for (int i = 0; i < 2; i++)
			buf_release(t, &f->dir[i]);
		lru_unlink(t, f);
		t->st->tcp_flows--;
	}
	for (size_t k = 0; k < t->nspare; k++)
		free(t->spare[k]);
	for (size_t k = 0; k < t->nslabs; k++)
		free(t->slabs[k]);
	free(t->slabs);
	free(t->buckets);
	memset(t, 0, sizeof *t);
}

void tcp_expire(struct tcp_table *t, uint64_t now_ns)
{
	while (t->lru_head && now_ns - t->lru_head->last_ns >= t->idle_ns) {
		t->st->tcp_idle_closed++;
		flow_close(t, t->lru_head);
	}
}

void tcp_flush(struct tcp_table *t)
{
	while (t->lru_head)
		flow_close(t, t->lru_head);
}

static void dir_reset(struct tcp_dir *d)
{
	memset(d, 0, sizeof *d);
}

/* Whether a SYN from direction d starts a new connection on this flow's
 * addresses and ports (rather than repeating the one we know). */
static int syn_is_new(const struct tcp_dir *d, uint32_t seq)
{
	if (d->isn_known)
		return seq != d->isn;
	/* Seen mid-stream first: a SYN just before the data is a late copy. */
	return d->has_base && !(seq_diff(d->base, seq) > 0 && seq_diff(d->base, seq) < (1 << 20));
}

void tcp_input(struct tcp_table *t, const struct tcp_seg *s)
{
	struct netdecode_stats *st = t->st;
	st->tcp_segments++;
	const struct pkt_meta *m = &s->meta;

	/* Canonical order of the endpoints, so both directions find the flow. */
	int cmp = memcmp(m->src, m->dst, 16);
	int i = cmp > 0 || (cmp == 0 && m->sport > m->dport);
	const uint8_t *a0 = i ? m->dst : m->src, *a1 = i ? m->src : m->dst;
	uint16_t p0 = i ? m->dport : m->sport, p1 = i ? m->sport : m->dport;
	uint32_t b = flow_bucket(t, a0, a1, p0, p1, m->ip_version);
	struct tcp_flow *f = t->buckets[b];
	while (f && !(f->port[0] == p0 && f->port[1] == p1 && f->version == m->ip_version &&
		      memcmp(f->addr[0], a0, 16) == 0 && memcmp(f->addr[1], a1, 16) == 0))
		f = f->hnext;

	if (!f) {
		/* Only data or a SYN start tracking; a bare ACK, FIN or RST of a
		 * connection we do not know carries nothing to decode. */
		if ((s->flags & TCP_RST) || (!s->payload.n && !(s->flags & TCP_SYN)))
			return;
		if (st->tcp_flows >= t->flow_max && t->lru_head) {
			st->tcp_flows_evicted++;
			flow_close(t, t->lru_head);
		}
		f = flow_alloc(t);
		if (!f) {
			st->tcp_flows_evicted++;
			return;
		}
		memcpy(f->addr[0], a0, 16);
		memcpy(f->addr[1], a1, 16);
		f->port[0] = p0;
		f->port[1] = p1;
		f->version = m->ip_version;
		f->bucket = b;
		f->hnext = t->buckets[b];
		t->buckets[b] = f;
		lru_append(t, f);
		st->tcp_flows++;
	} else {
		lru_unlink(t, f);
		lru_append(t, f);
	}
	f->last_ns = s->now_ns;
	struct tcp_dir *d = &f->dir[i], *peer = &f->dir[!i];

	if (s->flags & TCP_RST) {
		flow_close(t, f);
		return;
	}

	uint32_t data_seq = s->seq;
	if (s->flags & TCP_SYN) {
		data_seq = s->seq + 1; /* the SYN takes one sequence number */
		if (syn_is_new(d, s->seq)) {
			/* Same addresses and ports, new connection: end the old. */
			flow_flush(t, f);
			dir_reset(&f->dir[0]);
			dir_reset(&f->dir[1]);
		}
		if (!d->has_base) {
			d->base = data_seq;
			d->has_base = d->synced = 1;
		}
		d->isn_known = 1;
		d->isn = s->seq;
		/* A SYN-ACK acknowledges the peer's SYN: its data starts there. */
		if ((s->flags & TCP_ACK) && !peer->has_base) {
			peer->base = s->ack;
			peer->has_base = peer->synced = 1;
		}
	}
	/* This ACK covers the peer's stream: remember it.  It is acted on
	 * when the peer next sends (below), so that a peer segment captured
	 * just after the ACK that covers it is still used. */
	if ((s->flags & TCP_ACK) && peer->has_base &&
	    (!peer->has_acked || seq_diff(s->ack, peer->acked) > 0)) {
		peer->acked = s->ack;
		peer->has_acked = 1;
	}

	if (s->payload.n) {
		/* Messages this segment completes carry its time and VLAN. */
		d->data_ns = m->ts_ns;
		d->has_vlan = m->has_vlan;
		d->vlan = m->vlan;
		if (!d->has_base) {
			d->base = data_seq;
			d->has_base = 1;
			d->synced = 0;
		}
		dir_data(t, f, i, data_seq, s->payload.p, (uint32_t)s->payload.n);
	}
	if (s->flags & TCP_FIN) {
		d->fin = 1;
		d->fin_seq = data_seq + (uint32_t)s->payload.n;
	}
	/* This direction sent again and holes the peer acknowledged are still
	 * open: those bytes were on the wire, the capture missed them. */
	if (d->has_acked && d->has_base) {
		dir_acked(t, f, i, d->acked);
		if (!d->nranges)
			buf_release(t, d);
	}
	if (d->fin && peer->fin && !d->nranges && !peer->nranges)
		flow_close(t, f);
}
