/*
 * hash.h - the 64-bit hash correlated uses for its tables.
 *
 * Not cryptographic: the tables bound their size, so a flood of colliding
 * keys can cost time but never memory.  Names are hashed case-folded (ASCII
 * only, as DNS compares them), so "Example.COM" and "example.com" meet.
 */
#ifndef DNSTRAIL_CORRELATED_HASH_H
#define DNSTRAIL_CORRELATED_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t hash_mix(uint64_t x)
{
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ULL;
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ULL;
	x ^= x >> 32;
	return x;
}

static inline uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, b, 8);
		h = hash_mix(h ^ w) + 0x9e3779b97f4a7c15ULL;
		b += 8;
		n -= 8;
	}
	uint64_t w = 0;
	memcpy(&w, b, n);
	return hash_mix(h ^ w ^ ((uint64_t)n << 56));
}

static inline uint64_t hash_u64(uint64_t h, uint64_t v)
{
	return hash_mix(h ^ v) + 0x9e3779b97f4a7c15ULL;
}

/* Hash of the ASCII-lowercased bytes of s. */
static inline uint64_t hash_name(uint64_t h, const char *s, size_t n)
{
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		/* SWAR tolower: set bit 5 of every byte in 'A'..'Z'. */
		uint64_t heptets = w & 0x7f7f7f7f7f7f7f7fULL;
		uint64_t ge_a = heptets + 0x3f3f3f3f3f3f3f3fULL; /* bit 7 set if >= 'A' */
		uint64_t gt_z = heptets + 0x2525252525252525ULL; /* bit 7 set if > 'Z' */
		uint64_t upper = ge_a & ~gt_z & ~w & 0x8080808080808080ULL;
		w |= upper >> 2;
		h = hash_mix(h ^ w) + 0x9e3779b97f4a7c15ULL;
		s += 8;
		n -= 8;
	}
	uint64_t w = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)s[i];
		if (c >= 'A' && c <= 'Z')
			c |= 0x20;
		w |= (uint64_t)c << (8 * i);
	}
	return hash_mix(h ^ w ^ ((uint64_t)n << 56));
}

static inline int name_eq(const char *a, size_t an, const char *b, size_t bn)
{
	if (an != bn)
		return 0;
	for (size_t i = 0; i < an; i++) {
		uint8_t x = (uint8_t)a[i], y = (uint8_t)b[i];
		if (x != y) {
			if (x >= 'A' && x <= 'Z')
				x |= 0x20;
			if (y >= 'A' && y <= 'Z')
				y |= 0x20;
			if (x != y)
				return 0;
		}
	}
	return 1;
}

#endif
