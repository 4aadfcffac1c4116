/*
 * spares.c - per-size-class free lists (see spares.h).
 */
#include "spares.h"

#include <stdlib.h>
#include <string.h>

/* Size class of n bytes, or SPARES_CLASSES when too big to keep. */
static unsigned spare_class(size_t n)
{
	size_t c = (n + SPARES_STEP - 1) / SPARES_STEP;
	return c >= 1 && c <= SPARES_CLASSES ? (unsigned)c - 1 : SPARES_CLASSES;
}

uint32_t spares_block_size(size_t n)
{
	unsigned c = spare_class(n);
	return c == SPARES_CLASSES ? (uint32_t)n : (c + 1) * SPARES_STEP;
}

void *spares_get(struct spares *sp, size_t n, uint32_t *alloc)
{
	unsigned c = spare_class(n);
	if (c == SPARES_CLASSES) {
		if (n > UINT32_MAX)
			return NULL;
		*alloc = (uint32_t)n;
		return malloc(n);
	}
	*alloc = (c + 1) * SPARES_STEP;
	void *b = sp->head[c];
	if (!b)
		return malloc(*alloc);
	memcpy(&sp->head[c], b, sizeof(void *));
	sp->n[c]--;
	sp->bytes -= *alloc;
	return b;
}

void spares_put(struct spares *sp, void *block, uint32_t alloc)
{
	unsigned c = spare_class(alloc);
	if (c == SPARES_CLASSES || sp->n[c] >= SPARES_MAX) {
		free(block);
		return;
	}
	memcpy(block, &sp->head[c], sizeof(void *));
	sp->head[c] = block;
	sp->n[c]++;
	sp->bytes += alloc;
}

void spares_free(struct spares *sp)
{
	for (unsigned c = 0; c < SPARES_CLASSES; c++)
		while (sp->head[c]) {
			void *b = sp->head[c];
			memcpy(&sp->head[c], b, sizeof(void *));
			free(b);
		}
	sp->bytes = 0;
	memset(sp->n, 0, sizeof sp->n);
}
