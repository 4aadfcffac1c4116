/*
 * hash.h - the 64-bit hash behind correlated's tables.
 *
 * Two processes use it: the message builder (records.c, run by decoded)
 * hashes each message's names and rdata once, into the record, and
 * correlated combines those hashes into its table keys instead of reading
 * the text again.  Both sides must therefore compute the same function:
 * it is defined here, inline, and nowhere else.
 *
 * Not cryptographic: the tables bound their size, so a flood of colliding
 * keys can cost time but never memory, and every table compares the real
 * key after a hash match.  Names are hashed case-folded (ASCII only, as DNS
 * compares them), so "Example.COM" and "example.com" meet.
 */
#ifndef DNSTRAIL_HASH_H
#define DNSTRAIL_HASH_H

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

/* One cheap round per 8-byte word (a multiply and a rotation); the full
 * mix runs once, in hash_final, which every key hash must end with. */
static inline uint64_t hash_u64(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
	return h << 27 | h >> 37;
}

static inline uint64_t hash_final(uint64_t h)
{
	return hash_mix(h);
}

/* Up to 7 bytes as a little-endian word: three fixed-size loads (a
 * variable-length memcpy would be a library call per key). */
static inline uint64_t hash_tail(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t w = 0;
	unsigned shift = 0;
	if (n & 4) {
		uint32_t v;
		memcpy(&v, b, 4);
		w = v;
		b += 4;
		shift = 32;
	}
	if (n & 2) {
		uint16_t v;
		memcpy(&v, b, 2);
		w |= (uint64_t)v << shift;
		b += 2;
		shift += 16;
	}
	if (n & 1)
		w |= (uint64_t)*b << shift;
	return w;
}

static inline uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (; n >= 8; b += 8, n -= 8) {
		uint64_t w;
		memcpy(&w, b, 8);
		h = hash_u64(h, w);
	}
	return hash_u64(h, hash_tail(b, n) ^ (uint64_t)n << 56);
}

/* SWAR tolower: set bit 5 of every byte in 'A'..'Z'. */
static inline uint64_t ascii_lower8(uint64_t w)
{
	uint64_t heptets = w & 0x7f7f7f7f7f7f7f7fULL;
	uint64_t ge_a = heptets + 0x3f3f3f3f3f3f3f3fULL; /* bit 7 set if >= 'A' */
	uint64_t gt_z = heptets + 0x2525252525252525ULL; /* bit 7 set if > 'Z' */
	uint64_t upper = ge_a & ~gt_z & ~w & 0x8080808080808080ULL;
	return w | upper >> 2;
}

/* Hash of the ASCII-lowercased bytes of s. */
static inline uint64_t hash_name(uint64_t h, const char *s, size_t n)
{
	for (; n >= 8; s += 8, n -= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = hash_u64(h, ascii_lower8(w));
	}
	return hash_u64(h, ascii_lower8(hash_tail(s, n)) ^ (uint64_t)n << 56);
}

/* Equal ignoring ASCII case, eight bytes at a time. */
static inline int name_eq(const char *a, size_t an, const char *b, size_t bn)
{
	if (an != bn)
		return 0;
	for (; an >= 8; a += 8, b += 8, an -= 8) {
		uint64_t x, y;
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		if (x != y && ascii_lower8(x) != ascii_lower8(y))
			return 0;
	}
	uint64_t x = hash_tail(a, an), y = hash_tail(b, an);
	return x == y || ascii_lower8(x) == ascii_lower8(y);
}

#endif
