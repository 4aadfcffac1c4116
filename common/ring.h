/*
 * ring.h - the single-producer/single-consumer shared-memory ring that joins
 * dnstrail's processes (capd -> decoded -> correlated -> logd).
 *
 * One ring is one file in the run directory, mapped MAP_SHARED by exactly one
 * producer and one consumer process (plus any number of read-only observers,
 * such as `dnstrail-ctl dump`, which never move the tail).
 *
 * Invariants the ring keeps (and ring.c checks on every attach and read):
 *   - head and tail are 64-bit byte positions that only grow; tail <= head
 *     <= tail + capacity.  The producer owns head, the consumer owns tail.
 *   - Every record starts on an 8-byte boundary with an 8-byte header and is
 *     contiguous in the data area; a record that would straddle the end of
 *     the area is preceded by a PAD record that fills the rest of it.
 *   - A record becomes visible only when the producer publishes head with a
 *     release store; the consumer reads head with acquire.  A producer killed
 *     mid-record therefore never exposes a torn record: its restart resumes
 *     writing at the published head.
 *   - The consumer publishes tail only after it has finished with the
 *     records before it; a consumer that dies and comes back resumes at that
 *     tail, so nothing published is lost and nothing released is repeated.
 *   - Nothing in the file is trusted: the header is read with pread() and
 *     validated before the file is mapped, and every record header is
 *     bounds-checked before its payload is handed out.
 */
#ifndef DNSTRAIL_RING_H
#define DNSTRAIL_RING_H

#include "records.h"

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RING_MAGIC 0x474e4952544e5344ULL /* "DSNTRING" read little-endian */
/* The header's layout (high bits) and the record layouts the rings carry
 * (records.h): a ring left by a build that lays either out differently is
 * refused, never misread. */
#define RING_VERSION (1u << 8 | RECORDS_VERSION)
#define RING_HDR_SIZE 4096u
#define RING_REC_ALIGN 8u
#define RING_MIN_CAPACITY (64u * 1024u)
#define RING_MAX_CAPACITY (1ull << 36) /* 64 GiB: far beyond any sane setting */

/* What the records of a ring are (see records.h); checked on attach so a
 * stage never reads frames as messages because of a wrong --in. */
enum ring_kind {
	RING_KIND_ANY = 0, /* attach: accept whatever the ring holds */
	RING_KIND_FRAMES = 1,
	RING_KIND_MESSAGES = 2,
	RING_KIND_TRANSACTIONS = 3,
	RING_KIND_TEST = 99,
};

/* Record types 0 and 1 belong to the ring itself; records.h numbers the
 * rest. */
enum { RING_REC_PAD = 0, RING_REC_INVALID = 1 };

/* Header at offset 0 of the ring file.  Fields are grouped by writer so the
 * producer and the consumer never write the same cache line. */
struct ring_hdr {
	/* Written once at creation. */
	uint64_t magic;
	uint32_t version;
	uint32_t hdr_size;
	uint64_t capacity; /* bytes in the data area, a power of two */
	uint32_t max_record; /* largest payload accepted, <= capacity / 4 */
	uint32_t kind; /* enum ring_kind */
	char name[32];
	uint64_t created_ns; /* CLOCK_REALTIME */

	/* Written by the producer. */
	_Alignas(64) _Atomic uint64_t head;
	_Atomic uint64_t records_in;
	_Atomic uint64_t bytes_in;
	_Atomic uint64_t dropped; /* records refused because the ring was full */
	_Atomic uint64_t dropped_bytes;
	_Atomic uint64_t full_waits; /* times the producer had to wait for space */
	_Atomic uint64_t producer_heartbeat_ns; /* CLOCK_MONOTONIC */
	_Atomic uint32_t producer_pid;
	_Atomic uint32_t eof; /* producer finished: no record will follow head */
	_Atomic uint64_t producer_starts;

	/* Written by the consumer. */
	_Alignas(64) _Atomic uint64_t tail;
	_Atomic uint64_t records_out; /* records the consumer has read */
	_Atomic uint64_t bytes_out;
	_Atomic uint64_t empty_waits; /* times the consumer slept on an empty ring */
	_Atomic uint64_t consumer_heartbeat_ns;
	_Atomic uint32_t consumer_pid;
	uint32_t pad0;
	_Atomic uint64_t consumer_starts;

	/* Futex words: a sleeper sets its *_waiting word, the other side bumps
	 * the counter and wakes it after publishing. */
	_Alignas(64) _Atomic uint32_t data_futex;
	_Atomic uint32_t data_waiting;
	_Alignas(64) _Atomic uint32_t space_futex;
	_Atomic uint32_t space_waiting;
};

_Static_assert(sizeof(struct ring_hdr) <= RING_HDR_SIZE, "ring header too large");

/* The 8-byte header in front of every record in the data area. */
struct ring_rec {
	uint32_t len; /* payload bytes, not counting this header or padding */
	uint16_t type; /* RING_REC_PAD or a records.h type */
	uint16_t check; /* (uint16_t)~len: catches a corrupt or stale header */
};

enum ring_role { RING_PRODUCER, RING_CONSUMER, RING_OBSERVER };
enum ring_full_policy {
	RING_FULL_WAIT, /* block until the consumer makes room (offline, later stages) */
	RING_FULL_DROP, /* refuse the record and count it (live capture) */
};

struct ring_create {
	uint64_t capacity; /* 0: do not create, the file must exist */
	uint32_t kind;
	/* A root producer hands the ring to the stage user before the file
	 * appears, so a consumer started first never finds it unreadable. */
	int set_owner;
	uid_t uid;
	gid_t gid;
};

struct ring;

/*
 * Open (and, when create->capacity is set and the file is missing, create)
 * the ring at path.  Creation is atomic: the file is built under a temporary
 * name and linked into place, so a peer never sees a half-made header.
 * A producer or consumer refuses to attach while another live process holds
 * its role.  On failure returns NULL with a one-line reason in err and errno
 * EINVAL (the file is corrupt or foreign: exit EXIT_CORRUPT), EBUSY (the role
 * is taken) or the errno of the failed system call.
 */
struct ring *ring_attach(const char *path, enum ring_role role, uint32_t kind,
			 const struct ring_create *create, char *err, size_t errlen);
void ring_detach(struct ring *r);

/* Flag checked by every blocking call; set it from a signal handler to make
 * waits return promptly. */
void ring_set_stop_flag(struct ring *r, volatile sig_atomic_t *stop);
/* Producer: called right before the ring publishes on its own (when
 * ring_reserve must wait for space it first publishes what is committed,
 * or the consumer might wait for exactly those records), so a stage that
 * keeps checkpoints records one first. */
void ring_set_publish_hook(struct ring *r, void (*fn)(void *ctx), void *ctx);
void ring_set_full_policy(struct ring *r, enum ring_full_policy p);
struct ring_hdr *ring_header(struct ring *r);
const char *ring_path(const struct ring *r);
uint32_t ring_max_record(const struct ring *r);

/* ---- producer ----
 * ring_reserve returns room for a payload of len bytes (8-byte aligned
 * pointer) or NULL: with the DROP policy when the ring is full (the record
 * is counted as dropped), with the WAIT policy only when the stop flag is
 * raised, and for len > max_record.  ring_commit makes the record part of
 * the next publish, with its final length (<= the reserved len).  Records
 * become visible to the consumer at ring_publish, which the producer calls
 * after a batch and always before it blocks for input. */
void *ring_reserve(struct ring *r, uint32_t len);
/* Room now or NULL, whatever the policy: never waits, never counts a drop.
 * For records whose loss is harmless, such as clock ticks. */
void *ring_try_reserve(struct ring *r, uint32_t len);
void ring_commit(struct ring *r, uint16_t type, uint32_t len);
void ring_publish(struct ring *r);
/* Publish, and wake a sleeping consumer even for a few records: call it
 * before going idle (ring_publish leaves small batches for the consumer's
 * next look, at most a few milliseconds away). */
void ring_flush(struct ring *r);
int ring_push(struct ring *r, uint16_t type, const void *data, uint32_t len);
void ring_count_drop(struct ring *r, uint32_t len);
/* Publish, then mark the stream finished so consumers drain and stop. */
void ring_set_eof(struct ring *r);
void ring_producer_heartbeat(struct ring *r);

/* ---- consumer ----
 * ring_peek returns the next unread record (skipping padding) or NULL when
 * none is published.  ring_next moves past it locally; ring_release makes
 * everything passed so far reusable by the producer (and is the point a
 * restarted consumer resumes from).  A corrupt record makes ring_peek return
 * NULL and ring_error non-NULL: the consumer must stop reading the ring. */
struct ring_view {
	const void *data;
	uint32_t len;
	uint16_t type;
	uint64_t pos; /* ring position of the record header */
};
int ring_peek(struct ring *r, struct ring_view *v);
void ring_next(struct ring *r);
/* A published record further on, without moving the read position: the
 * first at or after *pos (a position below the read position means the
 * read position), and *pos then points past it.  For a consumer that
 * prepares for records it has not reached (correlated prefetches its
 * tables).  Returns 0 when nothing more is published, and on anything a
 * later ring_peek would call corrupt: that one reports it. */
int ring_peek_ahead(struct ring *r, uint64_t *pos, struct ring_view *v);
void ring_release(struct ring *r);
/* Wait until a record is published, EOF is set, the stop flag rises or
 * timeout_ms passes.  Returns 1 if data is available, 0 otherwise. */
int ring_wait_data(struct ring *r, int timeout_ms);
/* For a consumer that may release records only some time after reading
 * them (logd, once its sinks are done; a stage that keeps a checkpoint to
 * roll back to): with manual release on, ring_wait_data and ring_detach no
 * longer release what was read; the consumer calls ring_release_to(pos)
 * with a record boundary no later than ring_read_pos(). */
void ring_set_manual_release(struct ring *r, int on);
uint64_t ring_read_pos(const struct ring *r);
void ring_release_to(struct ring *r, uint64_t pos);
/* Consumer: continue reading at pos, a record boundary between the tail and
 * the head (a restart resuming after what it had already processed).
 * Returns -1, moving nothing, when pos is not such a boundary. */
int ring_seek(struct ring *r, uint64_t pos);
/* Producer: the head including committed, unpublished records; and the
 * head as published (at attach: what the previous producer published). */
uint64_t ring_pending_head(const struct ring *r);
uint64_t ring_published_head(const struct ring *r);
/* True once the producer set EOF and every published record was read. */
int ring_drained(struct ring *r);
void ring_consumer_heartbeat(struct ring *r);
const char *ring_error(const struct ring *r);

/* ---- observer (dnstrail-ctl dump) ----
 * Reads records without moving the tail.  The position must be revalidated
 * after copying, since the producer may overwrite anything the consumer has
 * released: ring_observe copies the record at *pos into buf and returns its
 * length, 0 when nothing new is published, -1 when the record was
 * overwritten while read (then *pos jumps to the consumer's tail), -2 when
 * the record at *pos is corrupt. */
int64_t ring_observe(struct ring *r, uint64_t *pos, uint16_t *type, void *buf, uint32_t buflen);

/* Validate a ring file's header without mapping it: 0 if usable, else -1
 * with the reason in err.  Also used by dnstrail-ctl. */
int ring_check_file(int fd, const char *path, struct ring_hdr *out, char *err, size_t errlen);

uint64_t ring_now_mono_ns(void);
int ring_pid_alive(uint32_t pid);

#endif
