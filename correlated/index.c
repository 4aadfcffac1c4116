/*
 * index.c - open-addressing hash index (see index.h).
 */
#include "index.h"

#include "hugemem.h"

#include <stdlib.h>
#include <string.h>

#define MIN_SLOTS 1024u

static struct index_slot *slots_alloc(uint64_t n)
{
	return hugemem_alloc((size_t)n * sizeof(struct index_slot));
}

static void slots_free(struct index_slot *s, uint64_t n)
{
	hugemem_free(s, (size_t)n * sizeof(struct index_slot));
}

int index_init(struct index *ix, uint64_t expected)
{
	uint64_t n = MIN_SLOTS;
	while (n < expected * 2)
		n <<= 1;
	ix->slots = slots_alloc(n);
	if (!ix->slots)
		return -1;
	ix->mask = n - 1;
	ix->count = 0;
	return 0;
}

void index_free(struct index *ix)
{
	slots_free(ix->slots, ix->mask + 1);
	ix->slots = NULL;
}

void index_clear(struct index *ix)
{
	if (ix->count)
		memset(ix->slots, 0, (size_t)(ix->mask + 1) * sizeof *ix->slots);
	ix->count = 0;
}

size_t index_bytes(const struct index *ix)
{
	return (size_t)(ix->mask + 1) * sizeof *ix->slots;
}

void *index_next(const struct index *ix, uint64_t hash, uint64_t *pos)
{
	uint64_t i = *pos == UINT64_MAX ? hash & ix->mask : (*pos + 1) & ix->mask;
	for (;; i = (i + 1) & ix->mask) {
		const struct index_slot *s = &ix->slots[i];
		if (!s->entry)
			return NULL;
		if (s->hash == hash) {
			*pos = i;
			return s->entry;
		}
	}
}

static void place(struct index_slot *slots, uint64_t mask, uint64_t hash, void *entry)
{
	uint64_t i = hash & mask;
	while (slots[i].entry)
		i = (i + 1) & mask;
	slots[i].hash = hash;
	slots[i].entry = entry;
}

static int grow(struct index *ix)
{
	uint64_t n = (ix->mask + 1) * 2;
	struct index_slot *s = slots_alloc(n);
	if (!s)
		return -1;
	for (uint64_t i = 0; i <= ix->mask; i++)
		if (ix->slots[i].entry)
			place(s, n - 1, ix->slots[i].hash, ix->slots[i].entry);
	slots_free(ix->slots, ix->mask + 1);
	ix->slots = s;
	ix->mask = n - 1;
	return 0;
}

int index_insert(struct index *ix, uint64_t hash, void *entry)
{
	if ((ix->count + 1) * 2 > ix->mask + 1 && grow(ix) < 0)
		return -1;
	place(ix->slots, ix->mask, hash, entry);
	ix->count++;
	return 0;
}

void index_remove_at(struct index *ix, uint64_t pos)
{
	/* Backward-shift deletion: pull later members of the probe run into
	 * the hole when their home slot is at or before it. */
	uint64_t hole = pos, i = pos;
	for (;;) {
		i = (i + 1) & ix->mask;
		struct index_slot *s = &ix->slots[i];
		if (!s->entry)
			break;
		uint64_t home = s->hash & ix->mask;
		/* Is home cyclically outside (hole, i]?  Then s may move to hole. */
		if (((i - home) & ix->mask) >= ((i - hole) & ix->mask)) {
			ix->slots[hole] = *s;
			hole = i;
		}
	}
	ix->slots[hole].entry = NULL;
	ix->slots[hole].hash = 0;
	ix->count--;
}

void index_remove(struct index *ix, uint64_t hash, const void *entry)
{
	uint64_t pos = UINT64_MAX;
	void *e;
	while ((e = index_next(ix, hash, &pos)))
		if (e == entry) {
			index_remove_at(ix, pos);
			return;
		}
}
