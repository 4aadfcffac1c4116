/*
 * spares.h - freed table entries kept for reuse, by size class.
 *
 * The pending-query table and the dedup cache allocate one entry per
 * message or record and free most of them milliseconds later (or, when the
 * cache is full, evict one for every one they insert); a malloc/free pair
 * per record cost more than the matching.  A freed block of up to
 * SPARES_STEP * SPARES_CLASSES bytes goes on its class's list instead,
 * at most SPARES_MAX per class, so what is held back is bounded
 * (SPARES_HELD_MAX) and counted in the owner's memory figure.
 */
#ifndef DNSTRAIL_CORRELATED_SPARES_H
#define DNSTRAIL_CORRELATED_SPARES_H

#include <stddef.h>
#include <stdint.h>

#define SPARES_STEP 64u
#define SPARES_CLASSES 16u
#define SPARES_MAX 240u /* SPARES_HELD_MAX stays under 2 MiB */
#define SPARES_HELD_MAX ((uint64_t)SPARES_STEP * SPARES_CLASSES * (SPARES_CLASSES + 1) / 2 * SPARES_MAX)

struct spares {
	void *head[SPARES_CLASSES]; /* singly linked through each block's first word */
	unsigned n[SPARES_CLASSES];
	uint64_t bytes; /* held on the lists */
};

/* A block of at least n bytes; *alloc gets its real size, which
 * spares_put needs back.  NULL when memory runs out. */
void *spares_get(struct spares *sp, size_t n, uint32_t *alloc);
/* The *alloc spares_get gives for a block of n bytes. */
uint32_t spares_block_size(size_t n);
/* Give back a block of alloc bytes from spares_get. */
void spares_put(struct spares *sp, void *block, uint32_t alloc);
/* Free everything held. */
void spares_free(struct spares *sp);

#endif
