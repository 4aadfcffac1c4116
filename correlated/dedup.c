/*
 * dedup.c - the dedup cache (see dedup.h for the rules and the invariant).
 *
 * An entry is its key; from its first repeat on it also keeps, ready to
 * write, the one-RR transaction record of its latest unwritten sighting.
 * Most keys are never seen again within their window, so most entries
 * stay that small.  Entries sit on two lists: by window start (whose head
 * closes next) and by last use (whose head is evicted first).
 */
#include "dedup.h"

#include "hash.h"
#include "index.h"
#include "spares.h"

#include <stdlib.h>
#include <string.h>

const struct stat_desc dedup_stat_desc[] = {
	STAT_DESC(struct dedup_stats, first_seen, "dedup.first_seen", "records written at first sighting"),
	STAT_DESC(struct dedup_stats, hits, "dedup.hits", "repeats counted instead of written"),
	STAT_DESC(struct dedup_stats, flushed, "dedup.flushed",
		  "entries written again with their count when the window closed"),
	STAT_DESC(struct dedup_stats, evicted, "dedup.evicted",
		  "entries let go early because the cache was full (--dedup-max)"),
	STAT_DESC(struct dedup_stats, bypassed, "dedup.bypassed",
		  "records too long to cache, written every time"),
	STAT_GAUGE(struct dedup_stats, entries, "dedup.entries", "entries in the cache"),
	STAT_GAUGE(struct dedup_stats, memory_bytes, "dedup.memory_bytes", "bytes held by the cache"),
	STAT_DESC(struct dedup_stats, alloc_failures, "dedup.alloc_failures",
		  "records written uncached because memory ran out"),
};
const size_t dedup_stat_count = sizeof dedup_stat_desc / sizeof dedup_stat_desc[0];

#define NO_ANSWER_UNANSWERED 65535u

struct dedup_entry {
	struct dedup_entry *win_older, *win_newer;
	struct dedup_entry *lru_older, *lru_newer;
	uint64_t hash;
	uint64_t first_ts;
	/* The latest sighting not yet written, ready to write (a one-RR or
	 * no-RR transaction record in a block of its own); NULL while every
	 * sighting is written, which is how most keys live and die. */
	struct rec_txn *latest;
	uint32_t unwritten;
	uint32_t alloc; /* bytes of this block (spares.h) */
	uint32_t latest_size, latest_alloc;
	uint32_t dlen;
	uint16_t qlen, nlen;
	uint16_t qtype, atype, rcode;
	uint8_t section;
	char key[]; /* q, name, data of the first sighting */
};

struct dedup {
	struct dedup_config cfg;
	dedup_write_fn write;
	void *ctx;
	struct index ix;
	struct dedup_entry *win_oldest, *win_newest;
	struct dedup_entry *lru_oldest, *lru_newest;
	uint64_t entry_bytes;
	struct spares spares; /* evicted entries' blocks, for the next ones */
	struct dedup_stats st;
};

/* What identifies a sighting. */
struct dkey {
	const char *q, *name, *data;
	uint32_t qlen, nlen, dlen;
	uint32_t qhash, rrhash; /* the record's own hashes (records.h) */
	uint16_t qtype, atype, rcode;
	uint8_t section; /* 0: the no-RR line */
};

static void key_of(const struct rec_txn *t, const char *text, const struct rec_rr *rr,
		   struct dkey *k)
{
	memset(k, 0, sizeof *k);
	k->q = text + t->msg.qname_off;
	k->qlen = t->msg.qname_len;
	k->qhash = t->msg.qname_hash;
	k->qtype = t->msg.qtype;
	if (rr) {
		k->name = text + rr->name_off;
		k->nlen = rr->name_len;
		k->data = text + rr->data_off;
		k->dlen = rr->data_len;
		k->atype = rr->type;
		k->section = rr->section;
		k->rrhash = rr->hash;
	} else {
		k->rcode = t->kind == TXN_UNANSWERED ? NO_ANSWER_UNANSWERED : t->msg.rcode;
	}
}

/* From the hashes decoded stored in the record: the text is not read. */
static uint64_t key_hash(const struct dkey *k)
{
	uint64_t h = hash_u64(0xbb67ae8584caa73bULL, (uint64_t)k->qhash << 32 | k->rrhash);
	h = hash_u64(h, (uint64_t)k->qtype | (uint64_t)k->atype << 16 | (uint64_t)k->rcode << 32 |
				(uint64_t)k->section << 48);
	return hash_final(h);
}

/* Does entry e hold key k?  Names fold case, rdata does not. */
static int entry_is(const struct dedup_entry *e, const struct dkey *k)
{
	return e->qtype == k->qtype && e->atype == k->atype && e->rcode == k->rcode &&
	       e->section == k->section && e->dlen == k->dlen &&
	       name_eq(e->key, e->qlen, k->q, k->qlen) &&
	       name_eq(e->key + e->qlen, e->nlen, k->name, k->nlen) &&
	       (!k->dlen || !memcmp(e->key + e->qlen + e->nlen, k->data, k->dlen));
}

static struct rec_rr *latest_rr(struct dedup_entry *e)
{
	return (struct rec_rr *)(e->latest + 1);
}

/* ---- lists ---- */

static void win_push(struct dedup *d, struct dedup_entry *e)
{
	e->win_older = d->win_newest;
	e->win_newer = NULL;
	if (d->win_newest)
		d->win_newest->win_newer = e;
	else
		d->win_oldest = e;
	d->win_newest = e;
}

static void lru_push(struct dedup *d, struct dedup_entry *e)
{
	e->lru_older = d->lru_newest;
	e->lru_newer = NULL;
	if (d->lru_newest)
		d->lru_newest->lru_newer = e;
	else
		d->lru_oldest = e;
	d->lru_newest = e;
}

static void lru_unlink(struct dedup *d, struct dedup_entry *e)
{
	if (e->lru_older)
		e->lru_older->lru_newer = e->lru_newer;
	else
		d->lru_oldest = e->lru_newer;
	if (e->lru_newer)
		e->lru_newer->lru_older = e->lru_older;
	else
		d->lru_newest = e->lru_older;
}

static void win_unlink(struct dedup *d, struct dedup_entry *e)
{
	if (e->win_older)
		e->win_older->win_newer = e->win_newer;
	else
		d->win_oldest = e->win_newer;
	if (e->win_newer)
		e->win_newer->win_older = e->win_older;
	else
		d->win_newest = e->win_older;
}

/* ---- entries ---- */

/* Write the entry's unwritten sightings, if any, and forget it. */
static void retire(struct dedup *d, struct dedup_entry *e)
{
	if (e->unwritten) {
		struct rec_txn *t = e->latest;
		t->flags |= TXN_F_DEDUP_FLUSH;
		if (t->msg.n_rr)
			latest_rr(e)->count = e->unwritten;
		else
			t->count = e->unwritten;
		d->st.flushed++;
		d->write(d->ctx, t, e->latest_size);
	}
	if (e->latest) {
		d->entry_bytes -= e->latest_alloc;
		spares_put(&d->spares, e->latest, e->latest_alloc);
	}
	index_remove(&d->ix, e->hash, e);
	win_unlink(d, e);
	lru_unlink(d, e);
	d->entry_bytes -= e->alloc;
	d->st.entries--;
	spares_put(&d->spares, e, e->alloc);
}

/* The sighting (t, text, rr) becomes the entry's latest.  Its record is
 * laid out once, at the first repeat, from the sizes of the key (a repeat
 * has the same q, name and data lengths); later repeats rewrite only what
 * changes between sightings of one key: header fields, TTL, the case of
 * the names.  Returns -1 when memory for it is not available. */
static int remember(struct dedup *d, struct dedup_entry *e, const struct rec_txn *t,
		    const char *text, const struct rec_rr *rr)
{
	uint32_t qlen = e->qlen, nlen = e->nlen, dlen = e->dlen, n_rr = e->section ? 1 : 0;
	if (!e->latest) {
		size_t size = sizeof(struct rec_txn) + n_rr * sizeof(struct rec_rr) + qlen + nlen + dlen;
		uint32_t alloc;
		struct rec_txn *o = spares_get(&d->spares, size, &alloc);
		if (!o)
			return -1;
		e->latest = o;
		e->latest_size = (uint32_t)size;
		e->latest_alloc = alloc;
		d->entry_bytes += alloc;
		memset(o, 0, sizeof *o);
		o->msg.n_rr = (uint16_t)n_rr;
		o->msg.text_len = qlen + nlen + dlen;
		o->msg.qname_len = (uint16_t)qlen;
		if (n_rr) {
			struct rec_rr *orr = latest_rr(e);
			orr->name_off = qlen;
			orr->data_off = qlen + nlen;
			memcpy((char *)rec_msg_text(&o->msg) + qlen + nlen, e->key + qlen + nlen, dlen);
		}
	}
	struct rec_txn *o = e->latest;
	struct rec_msg keep = o->msg;
	*o = *t;
	/* The layout of the entry's own record stays as built. */
	o->msg.n_rr = keep.n_rr;
	o->msg.text_len = keep.text_len;
	o->msg.qname_off = keep.qname_off;
	o->msg.qname_len = keep.qname_len;
	o->msg.edns_off = keep.edns_off;
	o->msg.edns_len = keep.edns_len;
	o->count = 1;
	char *otext = (char *)rec_msg_text(&o->msg);
	memcpy(otext + keep.qname_off, text + t->msg.qname_off, keep.qname_len);
	if (rr) {
		struct rec_rr *orr = latest_rr(e);
		uint32_t noff = orr->name_off, doff = orr->data_off;
		*orr = *rr;
		orr->name_off = noff;
		orr->data_off = doff;
		orr->count = 1;
		memcpy(otext + noff, text + rr->name_off, rr->name_len);
	}
	return 0;
}

static struct dedup_entry *create(struct dedup *d, const struct dkey *k, uint64_t h, uint64_t ts)
{
	uint32_t alloc;
	struct dedup_entry *e = spares_get(&d->spares, sizeof *e + k->qlen + k->nlen + k->dlen, &alloc);
	if (!e)
		return NULL;
	e->alloc = alloc;
	e->hash = h;
	e->first_ts = ts;
	e->latest = NULL;
	e->unwritten = 0;
	e->latest_size = e->latest_alloc = 0;
	e->qlen = (uint16_t)k->qlen;
	e->nlen = (uint16_t)k->nlen;
	e->dlen = k->dlen;
	e->qtype = k->qtype;
	e->atype = k->atype;
	e->rcode = k->rcode;
	e->section = k->section;
	memcpy(e->key, k->q, k->qlen);
	if (k->nlen)
		memcpy(e->key + k->qlen, k->name, k->nlen);
	if (k->dlen)
		memcpy(e->key + k->qlen + k->nlen, k->data, k->dlen);
	if (index_insert(&d->ix, h, e) < 0) {
		spares_put(&d->spares, e, alloc);
		return NULL;
	}
	win_push(d, e);
	lru_push(d, e);
	d->entry_bytes += alloc;
	d->st.entries++;
	return e;
}

/* A full cache evicts one entry per new key, each one cold: its window
 * neighbours, its index slot and its record are all touched to retire it.
 * Ask for them one eviction ahead (the victim itself was asked for at the
 * eviction before), so the next retire finds them in cache. */
static void prefetch_next_victim(struct dedup *d)
{
	const struct dedup_entry *v = d->lru_oldest;
	if (!v)
		return;
	__builtin_prefetch(v->win_older, 1);
	__builtin_prefetch(v->win_newer, 1);
	__builtin_prefetch(&d->ix.slots[v->hash & d->ix.mask], 1);
	__builtin_prefetch(v->latest);
	__builtin_prefetch(v->lru_newer, 1);
}

int dedup_sighting(struct dedup *d, const struct rec_txn *t, const char *text,
		   const struct rec_rr *rr)
{
	struct dkey k;
	key_of(t, text, rr, &k);
	if (k.qlen + k.nlen + k.dlen > d->cfg.max_key_bytes) {
		d->st.bypassed++;
		return 1;
	}
	uint64_t h = key_hash(&k), pos = UINT64_MAX;
	struct dedup_entry *e;
	while ((e = index_next(&d->ix, h, &pos)) && !entry_is(e, &k))
		;
	uint64_t ts = t->msg.ts_ns;
	if (e && ts >= e->first_ts && ts - e->first_ts >= d->cfg.window_ns) {
		retire(d, e); /* its window closed before this sighting */
		e = NULL;
	}
	if (e) {
		/* Its LRU neighbours are about to be relinked: fetch them while
		 * the record is copied. */
		__builtin_prefetch(e->lru_older, 1);
		__builtin_prefetch(e->lru_newer, 1);
		if (remember(d, e, t, text, rr) < 0) {
			d->st.alloc_failures++;
			return 1; /* written now rather than counted without a record */
		}
		d->st.hits++;
		e->unwritten++;
		lru_unlink(d, e);
		lru_push(d, e);
		return 0;
	}
	if (d->st.entries >= d->cfg.max_entries && d->lru_oldest) {
		d->st.evicted++;
		retire(d, d->lru_oldest);
		prefetch_next_victim(d);
	}
	if (!create(d, &k, h, ts))
		d->st.alloc_failures++;
	d->st.first_seen++;
	return 1;
}

void dedup_prefetch(const struct dedup *d, const struct rec_msg *m, const struct rec_rr *rr)
{
	struct dkey k = { .qhash = m->qname_hash, .qtype = m->qtype };
	if (rr) {
		k.rrhash = rr->hash;
		k.atype = rr->type;
		k.section = rr->section;
	} else {
		k.rcode = m->rcode;
	}
	__builtin_prefetch(&d->ix.slots[key_hash(&k) & d->ix.mask], 1);
}

void dedup_expire(struct dedup *d, uint64_t now)
{
	struct dedup_entry *e;
	while ((e = d->win_oldest) && now >= e->first_ts && now - e->first_ts >= d->cfg.window_ns)
		retire(d, e);
}

void dedup_flush(struct dedup *d)
{
	while (d->win_oldest)
		retire(d, d->win_oldest);
}

struct dedup *dedup_new(const struct dedup_config *cfg, dedup_write_fn write, void *ctx)
{
	struct dedup *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->cfg = *cfg;
	d->write = write;
	d->ctx = ctx;
	if (index_init(&d->ix, 4096) < 0) {
		free(d);
		return NULL;
	}
	return d;
}

void dedup_free(struct dedup *d)
{
	if (!d)
		return;
	while (d->win_oldest) {
		d->win_oldest->unwritten = 0;
		retire(d, d->win_oldest);
	}
	spares_free(&d->spares);
	index_free(&d->ix);
	free(d);
}

const struct dedup_stats *dedup_stats(struct dedup *d)
{
	d->st.memory_bytes = d->entry_bytes + d->spares.bytes + index_bytes(&d->ix);
	return &d->st;
}
