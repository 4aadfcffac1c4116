/*
 * frag.c - IPv4/IPv6 fragment reassembly (policy and bounds in frag.h).
 *
 * Each incomplete datagram is an entry in a chained hash table and in a
 * list ordered by creation (oldest first), which serves both the timeout
 * and memory eviction.  Its payload buffer is followed by a bitmap with one
 * bit per 8-byte block: fragment offsets are multiples of 8 and every
 * fragment but the last carries a multiple of 8 bytes, so block coverage is
 * exact; a fragment that breaks that rule is rejected (frag_bad).
 *
 * Invariants: blocks_set == number of set bits; charged == bytes this entry
 * adds to st->frag_bytes; every byte of a set block below `total` (or below
 * the fragment end that set it) is valid data; high == largest fragment end
 * seen.
 */
#include "frag.h"

#include <stdlib.h>

#define FRAG_SLAB 64

struct frag_entry {
	struct frag_entry *hnext; /* hash chain */
	struct frag_entry *older, *newer; /* creation order */
	struct frag_key key;
	uint64_t first_ns;
	uint8_t *buf; /* cap payload bytes, then cap/64 bitmap bytes */
	uint32_t cap; /* multiple of 64 */
	uint32_t total; /* payload length, valid when have_last */
	uint32_t high; /* largest fragment end seen */
	uint32_t blocks_set;
	uint32_t bucket;
	uint8_t have_last, ignore;
	uint8_t next;
	size_t charged;
};

static uint32_t round_up(uint32_t v, uint32_t m)
{
	return (v + m - 1) / m * m;
}

int frag_init(struct frag_table *ft, const struct netdecode_limits *l, struct netdecode_stats *st,
	      uint64_t seed, frag_wanted_fn wanted, void *wanted_ctx)
{
	memset(ft, 0, sizeof *ft);
	ft->mem_max = l->frag_mem_max;
	ft->timeout_ns = l->frag_timeout_ns;
	ft->st = st;
	ft->seed = seed;
	ft->wanted = wanted;
	ft->wanted_ctx = wanted_ctx;
	/* About one bucket per 2 KB of allowed memory: chains stay short when
	 * the table is full of typical (two-fragment) DNS datagrams. */
	uint64_t want = l->frag_mem_max / 2048;
	uint32_t n = 64;
	while (n < want && n < (1u << 20))
		n <<= 1;
	ft->buckets = calloc(n, sizeof *ft->buckets);
	if (!ft->buckets)
		return -1;
	ft->bucket_mask = n - 1;
	return 0;
}

static uint32_t key_bucket(const struct frag_table *ft, const struct frag_key *k)
{
	uint64_t w[5];
	memcpy(&w[0], k->src, 16);
	memcpy(&w[2], k->dst, 16);
	w[4] = (uint64_t)k->id | (uint64_t)k->version << 32 | (uint64_t)k->proto << 40;
	return (uint32_t)nd_hash_words(w, 5, ft->seed) & ft->bucket_mask;
}

static int key_eq(const struct frag_key *a, const struct frag_key *b)
{
	return a->id == b->id && a->version == b->version && a->proto == b->proto &&
	       memcmp(a->src, b->src, 16) == 0 && memcmp(a->dst, b->dst, 16) == 0;
}

static struct frag_entry *entry_alloc(struct frag_table *ft)
{
	if (!ft->free_list) {
		if (ft->nslabs == ft->slab_cap) {
			size_t nc = ft->slab_cap ? ft->slab_cap * 2 : 8;
			void **ns = realloc(ft->slabs, nc * sizeof *ns);
			if (!ns)
				return NULL;
			ft->slabs = ns;
			ft->slab_cap = nc;
		}
		struct frag_entry *slab = calloc(FRAG_SLAB, sizeof *slab);
		if (!slab)
			return NULL;
		ft->slabs[ft->nslabs++] = slab;
		for (size_t i = 0; i < FRAG_SLAB; i++) {
			slab[i].hnext = ft->free_list;
			ft->free_list = &slab[i];
		}
	}
	struct frag_entry *e = ft->free_list;
	ft->free_list = e->hnext;
	memset(e, 0, sizeof *e);
	return e;
}

static void charge(struct frag_table *ft, struct frag_entry *e, size_t bytes)
{
	e->charged += bytes;
	ft->st->frag_bytes += bytes;
}

static void entry_release_buf(struct frag_table *ft, struct frag_entry *e)
{
	free(e->buf);
	e->buf = NULL;
	ft->st->frag_bytes -= e->charged - sizeof *e;
	e->charged = sizeof *e;
	e->cap = 0;
}

/* Takes e out of the hash chain and the age list, and uncharges it. */
static void entry_unlink(struct frag_table *ft, struct frag_entry *e)
{
	struct frag_entry **pp = &ft->buckets[e->bucket];
	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	if (e->older)
		e->older->newer = e->newer;
	else
		ft->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		ft->newest = e->older;
	ft->st->frag_bytes -= e->charged;
	ft->st->frag_pending--;
	e->charged = 0;
}

static void entry_put(struct frag_table *ft, struct frag_entry *e)
{
	free(e->buf);
	e->buf = NULL;
	e->hnext = ft->free_list;
	ft->free_list = e;
}

static void entry_free(struct frag_table *ft, struct frag_entry *e)
{
	entry_unlink(ft, e);
	entry_put(ft, e);
}

static void release_done(struct frag_table *ft)
{
	if (ft->done) {
		entry_put(ft, ft->done);
		ft->done = NULL;
	}
}

void frag_free(struct frag_table *ft)
{
	release_done(ft);
	while (ft->oldest)
		entry_free(ft, ft->oldest);
	for (size_t i = 0; i < ft->nslabs; i++)
		free(ft->slabs[i]);
	free(ft->slabs);
	free(ft->buckets);
	memset(ft, 0, sizeof *ft);
}

/* Drops the oldest datagram other than keep; 0 if there is none. */
static int evict_oldest(struct frag_table *ft, const struct frag_entry *keep)
{
	struct frag_entry *e = ft->oldest;
	if (e == keep)
		e = e->newer;
	if (!e)
		return 0;
	if (!e->ignore)
		ft->st->frag_mem_evicted++;
	entry_free(ft, e);
	return 1;
}

/* Makes room for `bytes` more under frag_mem_max; 0 if impossible. */
static int make_room(struct frag_table *ft, const struct frag_entry *keep, size_t bytes)
{
	while (ft->st->frag_bytes + bytes > ft->mem_max)
		if (!evict_oldest(ft, keep))
			return 0;
	return 1;
}

static int bit_get(const uint8_t *bm, uint32_t b)
{
	return bm[b >> 3] >> (b & 7) & 1;
}

static void bit_set(uint8_t *bm, uint32_t b)
{
	bm[b >> 3] = (uint8_t)(bm[b >> 3] | 1u << (b & 7));
}

/* Grows e's buffer to hold at least `need` payload bytes. */
static int entry_grow(struct frag_table *ft, struct frag_entry *e, uint32_t need)
{
	if (need <= e->cap)
		return 1;
	/* Known total: exactly that.  Otherwise double, so a datagram of n
	 * fragments arriving in order costs O(log n) reallocations. */
	uint32_t cap = e->have_last ? e->total : (need > e->cap * 2 ? need : e->cap * 2);
	if (cap < need)
		cap = need;
	cap = round_up(cap, 64);
	if (cap > 65536)
		cap = 65536;
	size_t old = e->cap ? e->cap + e->cap / 64 : 0;
	size_t add = cap + cap / 64 - old;
	if (!make_room(ft, e, add))
		return 0;
	uint8_t *nb = malloc(cap + cap / 64);
	if (!nb)
		return 0;
	memset(nb + cap, 0, cap / 64);
	if (e->buf) {
		memcpy(nb, e->buf, e->cap);
		memcpy(nb + cap, e->buf + e->cap, e->cap / 64);
		free(e->buf);
	}
	e->buf = nb;
	e->cap = cap;
	charge(ft, e, add);
	return 1;
}

int frag_add(struct frag_table *ft, const struct frag_in *in, uint64_t now_ns, struct frag_out *out)
{
	struct netdecode_stats *st = ft->st;
	release_done(ft);
	st->frag_fragments++;

	uint32_t len = (uint32_t)in->data.n;
	uint32_t end = in->offset + len;
	if (len == 0 || (in->more && len % 8) || in->offset % 8 || in->data.n > 65535 ||
	    end > in->max_end) {
		st->frag_bad++;
		return 0;
	}

	uint32_t b = key_bucket(ft, &in->key);
	struct frag_entry *e = ft->buckets[b];
	while (e && !key_eq(&e->key, &in->key))
		e = e->hnext;
	if (!e) {
		if (!make_room(ft, NULL, sizeof *e)) {
			st->frag_mem_evicted++;
			return 0;
		}
		e = entry_alloc(ft);
		if (!e) {
			st->frag_mem_evicted++;
			return 0;
		}
		e->key = in->key;
		e->first_ns = now_ns;
		e->bucket = b;
		e->hnext = ft->buckets[b];
		ft->buckets[b] = e;
		e->older = ft->newest;
		if (ft->newest)
			ft->newest->newer = e;
		else
			ft->oldest = e;
		ft->newest = e;
		st->frag_pending++;
		charge(ft, e, sizeof *e);
	}
	if (e->ignore)
		return 0;

	/* The last fragment fixes the length; anything contradicting it makes
	 * the datagram unusable. */
	if (!in->more) {
		if ((e->have_last && e->total != end) || e->high > end) {
			st->frag_bad++;
			entry_free(ft, e);
			return 0;
		}
		e->have_last = 1;
		e->total = end;
	} else if (e->have_last && end > e->total) {
		st->frag_bad++;
		entry_free(ft, e);
		return 0;
	}
	if (end > e->high)
		e->high = end;

	if (in->offset == 0) {
		e->next = in->next;
		if (!ft->wanted(ft->wanted_ctx, in->key.version, in->next, in->data)) {
			e->ignore = 1;
			entry_release_buf(ft, e);
			st->not_dns_port++;
			return 0;
		}
	}

	if (!entry_grow(ft, e, end)) {
		st->frag_mem_evicted++;
		entry_free(ft, e);
		return 0;
	}

	uint8_t *bm = e->buf + e->cap;
	int conflict = 0;
	for (uint32_t blk = in->offset / 8; blk * 8 < end; blk++) {
		uint32_t s = blk * 8, t = s + 8 < end ? s + 8 : end;
		const uint8_t *src = in->data.p + (s - in->offset);
		if (bit_get(bm, blk)) {
			if (memcmp(e->buf + s, src, t - s) != 0)
				conflict = 1;
			continue;
		}
		memcpy(e->buf + s, src, t - s);
		bit_set(bm, blk);
		e->blocks_set++;
	}
	if (conflict)
		st->frag_overlap_conflict++;

	if (!e->have_last || e->blocks_set != (e->total + 7) / 8)
		return 0;

	/* Complete: hand the bytes out and park the entry until the next call. */
	out->data = span_make(e->buf, e->total);
	out->next = e->next;
	st->frag_reassembled++;
	entry_unlink(ft, e);
	ft->done = e;
	return 1;
}

void frag_expire(struct frag_table *ft, uint64_t now_ns)
{
	/* now_ns never decreases (netdecode keeps the largest time seen). */
	while (ft->oldest && now_ns - ft->oldest->first_ns >= ft->timeout_ns) {
		if (!ft->oldest->ignore)
			ft->st->frag_timeout++;
		entry_free(ft, ft->oldest);
	}
}

void frag_flush(struct frag_table *ft)
{
	release_done(ft);
	while (ft->oldest) {
		if (!ft->oldest->ignore)
			ft->st->frag_timeout++;
		entry_free(ft, ft->oldest);
	}
}
