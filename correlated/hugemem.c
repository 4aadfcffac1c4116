/*
 * hugemem.c - large arrays on transparent huge pages (see hugemem.h).
 */
#include "hugemem.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

void *hugemem_alloc(size_t bytes)
{
	if (bytes < HUGEMEM_MIN)
		return calloc(1, bytes);
	size_t span = bytes + HUGEMEM_MIN;
	uint8_t *m = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	uint8_t *a = (uint8_t *)(((uintptr_t)m + HUGEMEM_MIN - 1) & ~(uintptr_t)(HUGEMEM_MIN - 1));
	if (a > m)
		munmap(m, (size_t)(a - m));
	if (a + bytes < m + span)
		munmap(a + bytes, (size_t)(m + span - (a + bytes)));
	madvise(a, bytes, MADV_HUGEPAGE);
	/* Written once now, a page at a time: the first access to a page of
	 * the index is often a read (a lookup), which maps the shared zero
	 * page, and the first write then copies it, a second zeroing of
	 * 2 MiB (do_huge_pmd_wp_page: ~5% of correlated's time with the
	 * dedup cache filling).  Every page is used soon anyway. */
	for (size_t off = 0; off < bytes; off += 4096)
		((volatile uint8_t *)a)[off] = 0;
	return a;
}

void hugemem_free(void *p, size_t bytes)
{
	if (bytes < HUGEMEM_MIN)
		free(p);
	else if (p)
		munmap(p, bytes);
}
