/*
 * dedup.c - the dedup cache (see dedup.h for the rules and the invariant).
 *
 * Entries live in a ring of fixed-size slots in the order they were
 * created, which is the order their windows close: the head is the next to
 * expire and, when the cache is full, the one let go for a new key, which
 * then takes its slot.  So a repeat moves nothing, a new key reuses memory
 * that retiring the old one has just brought into cache, and an entry
 * costs no allocation.  A key longer than a slot holds is kept in a block
 * of its own.  An entry retired before it reaches the head (its window
 * found closed at a sighting) leaves a dead slot that the head skips.
 * From its first repeat on, an entry also holds, ready to write, the
 * record of its latest unwritten sighting; most keys are never seen again
 * within their window, so most entries never do.
 */
#include "dedup.h"

#include "hash.h"
#include "hugemem.h"
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

/* Two cache lines, aligned (a chunk starts on a huge page): the header in
 * the first, and 90 bytes of key, q + rrname + a of nearly every record (a
 * long CNAME target or TXT answer takes a block of its own). */
#define SLOT_BYTES 128u
/* The ring is mapped a chunk at a time: a power of two slots (slot_at
 * divides by it) and a whole number of huge pages (8 MiB). */
#define CHUNK_SLOTS (1u << 16)
#define CHUNK_BYTES ((uint64_t)CHUNK_SLOTS * SLOT_BYTES)
/* The index starts with room for this many entries (32 MiB of slots), or
 * for --dedup-max when less: a cache that is on fills, and each doubling
 * on the way would rehash every entry at once, a pause in the middle of
 * the traffic.  Beyond it the index grows with the entries, so a large
 * --dedup-max costs memory only as entries arrive. */
#define INDEX_START_ENTRIES (1u << 20)
/* How many evictions ahead a full cache fetches a victim's index slot. */
#define EVICT_AHEAD 16u
_Static_assert(CHUNK_BYTES % HUGEMEM_MIN == 0, "a chunk is whole huge pages");

struct dedup_entry {
	uint64_t first_ts;
	/* The latest sighting not yet written, ready to write (a one-RR or
	 * no-RR transaction record in a block of its own); NULL while every
	 * sighting is written. */
	struct rec_txn *latest;
	uint32_t hash; /* key_hash() */
	uint32_t unwritten;
	uint16_t qlen, nlen, dlen; /* dlen <= max_key_bytes <= UINT16_MAX */
	uint16_t qtype, atype, rcode;
	uint8_t section;
	uint8_t live; /* 0: retired, or never used; the slot waits for the head */
	/* q, name, data of the first sighting; when longer than the slot
	 * holds (key_spilled), the address of the block that holds them. */
	char key_in[];
};
#define SLOT_KEY_BYTES (SLOT_BYTES - offsetof(struct dedup_entry, key_in))
_Static_assert(offsetof(struct dedup_entry, key_in) + sizeof(char *) <= 64,
	       "the header and a key block's address fit the first cache line");

struct dedup {
	struct dedup_config cfg;
	dedup_write_fn write;
	void *ctx;
	struct index ix;
	/* The ring: cfg.max_entries slots in chunks of CHUNK_SLOTS, each mapped
	 * when the ring first reaches it. */
	uint8_t **chunks;
	uint64_t n_chunks;
	uint64_t head, used; /* oldest slot; slots from head on in use (live or dead) */
	uint64_t ring_bytes; /* of the chunks mapped */
	uint64_t entry_bytes; /* key blocks and latest records */
	struct spares spares; /* latest records' blocks, for the next ones */
	struct dedup_stats st;
};

static uint64_t index_start(uint64_t max_entries)
{
	return max_entries < INDEX_START_ENTRIES ? max_entries : INDEX_START_ENTRIES;
}

static uint64_t chunk_bytes(const struct dedup *d, uint64_t c)
{
	uint64_t slots = d->cfg.max_entries - c * CHUNK_SLOTS;
	return slots < CHUNK_SLOTS ? slots * SLOT_BYTES : CHUNK_BYTES;
}

/* Slot i of the ring (i < max_entries), whose chunk is mapped. */
static struct dedup_entry *slot_at(const struct dedup *d, uint64_t i)
{
	return (struct dedup_entry *)(d->chunks[i / CHUNK_SLOTS] + (i % CHUNK_SLOTS) * SLOT_BYTES);
}

/* The ring position n slots on from the head. */
static uint64_t ring_pos(const struct dedup *d, uint64_t n)
{
	uint64_t i = d->head + n;
	return i >= d->cfg.max_entries ? i - d->cfg.max_entries : i;
}

static uint32_t key_bytes(const struct dedup_entry *e)
{
	return (uint32_t)e->qlen + e->nlen + e->dlen;
}

static int key_spilled(const struct dedup_entry *e)
{
	return key_bytes(e) > SLOT_KEY_BYTES;
}

static char *key_block(const struct dedup_entry *e)
{
	char *block;
	memcpy(&block, e->key_in, sizeof block);
	return block;
}

static const char *entry_key(const struct dedup_entry *e)
{
	return key_spilled(e) ? key_block(e) : e->key_in;
}

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

/* From the hashes decoded stored in the record: the text is not read.  An
 * RR's own hash is that of its whole key (rec_rr_hash); the no-RR line's
 * key is made of the question's hash, its type and the rcode. */
static uint32_t key_hash(const struct dkey *k)
{
	if (k->section)
		return k->rrhash;
	return (uint32_t)hash_final(hash_u64(0xbb67ae8584caa73bULL,
					     (uint64_t)k->qhash << 32 | (uint64_t)k->qtype << 16 | k->rcode));
}

/* Does entry e hold key k?  Names fold case, rdata does not. */
static int entry_is(const struct dedup_entry *e, const struct dkey *k)
{
	const char *key = entry_key(e);
	return e->qtype == k->qtype && e->atype == k->atype && e->rcode == k->rcode &&
	       e->section == k->section && e->dlen == k->dlen &&
	       name_eq(key, e->qlen, k->q, k->qlen) &&
	       name_eq(key + e->qlen, e->nlen, k->name, k->nlen) &&
	       (!k->dlen || !memcmp(key + e->qlen + e->nlen, k->data, k->dlen));
}

static struct rec_rr *latest_rr(struct dedup_entry *e)
{
	return (struct rec_rr *)(e->latest + 1);
}

/* The size of the entry's latest record (its layout is fixed by the key). */
static uint32_t latest_size(const struct dedup_entry *e)
{
	return (uint32_t)(sizeof(struct rec_txn) + (e->section ? sizeof(struct rec_rr) : 0) + e->qlen +
			  e->nlen + e->dlen);
}

/* Write the entry's unwritten sightings, if any, and forget it, all but
 * its index slot; its ring slot stays, dead, until the head passes it. */
static void release(struct dedup *d, struct dedup_entry *e)
{
	if (e->unwritten) {
		struct rec_txn *t = e->latest;
		t->flags |= TXN_F_DEDUP_FLUSH;
		if (t->msg.n_rr)
			latest_rr(e)->count = e->unwritten;
		else
			t->count = e->unwritten;
		d->st.flushed++;
		d->write(d->ctx, t, latest_size(e));
	}
	if (e->latest) {
		uint32_t alloc = spares_block_size(latest_size(e));
		d->entry_bytes -= alloc;
		spares_put(&d->spares, e->latest, alloc);
	}
	if (key_spilled(e)) {
		d->entry_bytes -= key_bytes(e);
		free(key_block(e));
	}
	e->live = 0;
	d->st.entries--;
}

static void retire(struct dedup *d, struct dedup_entry *e)
{
	index_remove(&d->ix, e->hash, e);
	release(d, e);
}

/* The head's slot leaves the ring (its entry retired already, or dead). */
static void pop_head(struct dedup *d)
{
	d->head = ring_pos(d, 1);
	d->used--;
}

/* The slot a new entry goes in (the tail), its chunk mapped; NULL when
 * memory is not available.  A full ring lets its head go first. */
static struct dedup_entry *tail_slot(struct dedup *d)
{
	while (d->used && !slot_at(d, d->head)->live)
		pop_head(d);
	if (d->used == d->cfg.max_entries) {
		d->st.evicted++;
		/* A full cache lets one entry go per new key, in ring order, so
		 * what its eviction reads is fetched ahead, in two stages: the
		 * header of the slot 2 * EVICT_AHEAD on now; the header of the
		 * one EVICT_AHEAD on, fetched that long ago, is read now to
		 * fetch its index slot and its latest record.  The header is
		 * the first cache line of its slot. */
		if (d->cfg.max_entries > 2 * EVICT_AHEAD) {
			__builtin_prefetch(slot_at(d, ring_pos(d, 2 * EVICT_AHEAD)));
			const struct dedup_entry *later = slot_at(d, ring_pos(d, EVICT_AHEAD));
			if (later->live) {
				INDEX_PREFETCH_PROBE(&d->ix, later->hash);
				if (later->latest)
					__builtin_prefetch(later->latest);
			}
		}
		retire(d, slot_at(d, d->head));
		pop_head(d);
	}
	uint64_t i = ring_pos(d, d->used), c = i / CHUNK_SLOTS;
	if (!d->chunks[c]) {
		if (!(d->chunks[c] = hugemem_alloc(chunk_bytes(d, c))))
			return NULL;
		d->ring_bytes += chunk_bytes(d, c);
	}
	return slot_at(d, i);
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
		uint32_t alloc;
		struct rec_txn *o = spares_get(&d->spares, latest_size(e), &alloc);
		if (!o)
			return -1;
		e->latest = o;
		d->entry_bytes += alloc;
		memset(o, 0, sizeof *o);
		o->msg.n_rr = (uint16_t)n_rr;
		o->msg.text_len = qlen + nlen + dlen;
		o->msg.qname_len = (uint16_t)qlen;
		if (n_rr) {
			struct rec_rr *orr = latest_rr(e);
			orr->name_off = qlen;
			orr->data_off = qlen + nlen;
			memcpy((char *)rec_msg_text(&o->msg) + qlen + nlen, entry_key(e) + qlen + nlen, dlen);
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

static struct dedup_entry *create(struct dedup *d, const struct dkey *k, uint32_t h, uint64_t ts)
{
	struct dedup_entry *e = tail_slot(d);
	if (!e)
		return NULL;
	uint32_t klen = k->qlen + k->nlen + k->dlen;
	char *key = e->key_in;
	if (klen > SLOT_KEY_BYTES) {
		if (!(key = malloc(klen)))
			return NULL;
		memcpy(e->key_in, &key, sizeof key);
		d->entry_bytes += klen;
	}
	e->hash = h;
	e->first_ts = ts;
	e->latest = NULL;
	e->unwritten = 0;
	e->qlen = (uint16_t)k->qlen;
	e->nlen = (uint16_t)k->nlen;
	e->dlen = (uint16_t)k->dlen;
	e->qtype = k->qtype;
	e->atype = k->atype;
	e->rcode = k->rcode;
	e->section = k->section;
	memcpy(key, k->q, k->qlen);
	if (k->nlen)
		memcpy(key + k->qlen, k->name, k->nlen);
	if (k->dlen)
		memcpy(key + k->qlen + k->nlen, k->data, k->dlen);
	if (index_insert(&d->ix, h, e) < 0) {
		if (key != e->key_in) {
			d->entry_bytes -= klen;
			free(key);
		}
		return NULL;
	}
	e->live = 1;
	d->used++;
	d->st.entries++;
	return e;
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
	uint32_t h = key_hash(&k);
	uint64_t pos = UINT64_MAX;
	struct dedup_entry *e;
	while ((e = index_next(&d->ix, h, &pos)) && !entry_is(e, &k))
		;
	uint64_t ts = t->msg.ts_ns;
	if (e && ts >= e->first_ts && ts - e->first_ts >= d->cfg.window_ns) {
		retire(d, e); /* its window closed before this sighting */
		e = NULL;
	}
	if (e) {
		if (remember(d, e, t, text, rr) < 0) {
			d->st.alloc_failures++;
			return 1; /* written now rather than counted without a record */
		}
		d->st.hits++;
		e->unwritten++;
		return 0;
	}
	if (!create(d, &k, h, ts))
		d->st.alloc_failures++;
	d->st.first_seen++;
	return 1;
}

void dedup_prefetch(const struct dedup *d, const struct rec_msg *m, size_t len, unsigned sections)
{
	/* A query reaches the cache only if it times out, much later. */
	if (len < sizeof *m || !DNS_QR(m->hflags) ||
	    m->n_rr > (len - sizeof *m) / sizeof(struct rec_rr))
		return;
	const struct rec_rr *rr = rec_msg_rrs(m);
	int selected = 0;
	for (uint16_t i = 0; i < m->n_rr; i++)
		if (rr[i].section <= SEC_ADDITIONAL && (sections & (1u << rr[i].section))) {
			INDEX_PREFETCH_PROBE(&d->ix, rr[i].hash); /* key_hash() of its key */
			selected = 1;
		}
	if (!selected) {
		struct dkey k = { .qhash = m->qname_hash, .qtype = m->qtype, .rcode = m->rcode };
		INDEX_PREFETCH_PROBE(&d->ix, key_hash(&k));
	}
}

void dedup_expire(struct dedup *d, uint64_t now)
{
	while (d->used) {
		struct dedup_entry *e = slot_at(d, d->head);
		if (e->live) {
			if (now < e->first_ts || now - e->first_ts < d->cfg.window_ns)
				return;
			retire(d, e);
		}
		pop_head(d);
	}
}

/* Retire every entry; written says whether their counts go out.  In ring
 * order, and the index emptied at once at the end: one probe per entry
 * would be a cache miss per entry. */
static void retire_all(struct dedup *d, int written)
{
	for (; d->used; pop_head(d)) {
		struct dedup_entry *e = slot_at(d, d->head);
		if (!e->live)
			continue;
		if (!written)
			e->unwritten = 0;
		release(d, e);
	}
	index_clear(&d->ix);
}

void dedup_flush(struct dedup *d)
{
	retire_all(d, 1);
}

struct dedup *dedup_new(const struct dedup_config *cfg, dedup_write_fn write, void *ctx)
{
	if (!cfg->max_entries)
		return NULL;
	struct dedup *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->cfg = *cfg;
	if (d->cfg.max_key_bytes > UINT16_MAX)
		d->cfg.max_key_bytes = UINT16_MAX; /* what an entry's lengths hold */
	d->write = write;
	d->ctx = ctx;
	d->n_chunks = (cfg->max_entries + CHUNK_SLOTS - 1) / CHUNK_SLOTS;
	d->chunks = calloc(d->n_chunks, sizeof *d->chunks);
	if (!d->chunks || index_init(&d->ix, index_start(cfg->max_entries)) < 0) {
		free(d->chunks);
		free(d);
		return NULL;
	}
	return d;
}

void dedup_free(struct dedup *d)
{
	if (!d)
		return;
	retire_all(d, 0);
	for (uint64_t c = 0; c < d->n_chunks; c++)
		hugemem_free(d->chunks[c], chunk_bytes(d, c));
	free(d->chunks);
	spares_free(&d->spares);
	index_free(&d->ix);
	free(d);
}

const struct dedup_stats *dedup_stats(struct dedup *d)
{
	d->st.memory_bytes = d->ring_bytes + d->n_chunks * sizeof *d->chunks + d->entry_bytes +
			     d->spares.bytes + index_bytes(&d->ix);
	return &d->st;
}
