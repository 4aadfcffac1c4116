/*
 * hugemem.h - large zeroed arrays that are accessed at random (the index's
 * slots, the dedup cache's entries).
 *
 * With 4 KiB pages nearly every random access to an array of tens of MiB
 * also misses the TLB, so an array of at least HUGEMEM_MIN bytes is mapped
 * on its own, 2 MiB-aligned, and offered transparent huge pages (a hint:
 * the kernel may decline, and the memory is then what it was).  Its
 * pages are written once when it is mapped, so it is resident from then
 * on (every page of a random-access array is soon touched anyway).
 * Smaller ones come from calloc.  The caller gives the size back to free it.
 */
#ifndef DNSTRAIL_CORRELATED_HUGEMEM_H
#define DNSTRAIL_CORRELATED_HUGEMEM_H

#include <stddef.h>

#define HUGEMEM_MIN ((size_t)2 << 20)

void *hugemem_alloc(size_t bytes);
void hugemem_free(void *p, size_t bytes);

#endif
