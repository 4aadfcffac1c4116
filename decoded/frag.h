/*
 * frag.h - IPv4 and IPv6 fragment reassembly for netdecode.
 *
 * A datagram is keyed by (source, destination, identification, protocol)
 * for IPv4 and (source, destination, identification) for IPv6.  Fragments
 * may arrive in any order; exact and partial duplicates are ignored.
 *
 * Overlap policy: the bytes that arrived first win, for IPv4 and IPv6 alike.
 * An overlapping fragment whose bytes differ from those already held is
 * counted (frag_overlap_conflict) and only its new bytes are used.  RFC 5722
 * asks an IPv6 host to drop such a datagram, and current Linux drops IPv4
 * ones too; a sensor that dropped them would let a sender hide a message
 * from the log by adding one conflicting fragment, whereas keeping the first
 * copy logs what a first-wins receiver saw and the counter flags the
 * anomaly.  (No capture of the corpus has a conflicting overlap; on a
 * crafted one tshark 4.0 keeps the bytes of the fragment with the lower
 * offset instead.)
 *
 * Bounds: the bytes held by incomplete datagrams, including a fixed
 * per-datagram overhead (sizeof(struct frag_entry), 112 bytes on x86-64) and one bit
 * per 8-byte block, stay under frag_mem_max; when a fragment would exceed
 * it, the oldest datagrams are dropped first (frag_mem_evicted).  A datagram
 * not complete frag_timeout_ns after its first fragment is dropped
 * (frag_timeout).  Reassembled payloads never exceed 65535 bytes.
 *
 * Once the first fragment shows that a datagram is not DNS (its transport
 * ports, found by the caller's `wanted` function), its bytes are freed and
 * later fragments are dropped on arrival; the small entry stays until the
 * timeout so that they are recognised.
 */
#ifndef DNSTRAIL_FRAG_H
#define DNSTRAIL_FRAG_H

#include "ip_pkt.h"

struct frag_key {
	uint8_t src[16], dst[16];
	uint32_t id;
	uint8_t version;
	uint8_t proto; /* IPv4 protocol; 0 for IPv6, whose key has no protocol */
};

/* Decides from the start of a datagram (its first fragment's payload,
 * `next` = IPv4 protocol or the IPv6 fragment header's next header) whether
 * it may be DNS.  Returns 0 to drop it, 1 to keep reassembling. */
typedef int (*frag_wanted_fn)(void *ctx, uint8_t version, uint8_t next, struct span first);

struct frag_entry;

struct frag_table {
	uint64_t mem_max, timeout_ns;
	struct netdecode_stats *st;
	uint64_t seed;
	frag_wanted_fn wanted;
	void *wanted_ctx;
	struct frag_entry **buckets;
	uint32_t bucket_mask;
	struct frag_entry *oldest, *newest; /* creation order: eviction and timeout */
	struct frag_entry *free_list;
	void **slabs; /* entry pools, freed with the table */
	size_t nslabs, slab_cap;
	struct frag_entry *done; /* completed datagram whose bytes the caller holds */
};

struct frag_in {
	struct frag_key key;
	uint8_t next; /* IPv4 protocol / IPv6 fragment header's next header */
	uint32_t offset; /* bytes */
	int more; /* MF flag */
	uint32_t max_end; /* largest allowed end offset of the payload */
	struct span data;
};

struct frag_out {
	struct span data; /* the reassembled payload (valid until the next frag_* call) */
	uint8_t next; /* protocol (IPv4) or next header (IPv6) of the payload */
};

int frag_init(struct frag_table *ft, const struct netdecode_limits *l, struct netdecode_stats *st,
	      uint64_t seed, frag_wanted_fn wanted, void *wanted_ctx);
void frag_free(struct frag_table *ft);
/* Adds a fragment at packet time now_ns; returns 1 and fills *out when it
 * completes its datagram, else 0. */
int frag_add(struct frag_table *ft, const struct frag_in *in, uint64_t now_ns, struct frag_out *out);
/* Drops datagrams whose first fragment is older than now_ns - timeout. */
void frag_expire(struct frag_table *ft, uint64_t now_ns);
/* Drops everything (end of input); incomplete datagrams count as timed out. */
void frag_flush(struct frag_table *ft);

#endif
