/*
 * state.h - logd's crash-recovery state: for each file sink, the ring
 * position up to which its records are in the file, and the file's size
 * and identity at that point (see the exactly-once argument in loop.c).
 *
 * The file (<ring path>.logd.state) is mapped shared and holds two slots.
 * An update rewrites the slot not in use, under a checksum covering all of
 * it, and the reader takes the valid slot with the higher sequence number - so a process killed in the middle of an update leaves
 * the previous slot intact and valid.  The slots also name the ring they
 * describe (its creation time and capacity): positions of another ring
 * mean nothing and are ignored.
 *
 * Scope: this protects against logd dying (kill -9, crash, OOM).  Nothing
 * is fsync'ed, so a power loss may lose the page cache of both the state
 * and the files.
 */
#ifndef DNSTRAIL_LOGD_STATE_H
#define DNSTRAIL_LOGD_STATE_H

#include "ring.h"

#include <stddef.h>
#include <stdint.h>

#define STATE_MAX_ENTRIES 16 /* file sinks per logd */
#define STATE_PATH_MAX 256 /* bytes of a file sink's path, NUL included */

struct state_entry {
	char path[STATE_PATH_MAX]; /* the sink's path as given: the key */
	uint64_t dev, ino; /* identity of the file the entry describes */
	uint64_t pos; /* every ring record before pos is in the file or dropped */
	uint64_t size; /* ... and the file was this long when that was true */
};

struct state_slot {
	uint64_t sum; /* FNV-1a over seq .. e[n] */
	uint64_t seq;
	uint64_t ring_created_ns, ring_capacity;
	uint32_t n, pad;
	struct state_entry e[STATE_MAX_ENTRIES];
};

struct state_file {
	char magic[8]; /* "DTLOGDST" */
	uint32_t version, size;
	struct state_slot slot[2];
};

struct state {
	int fd;
	struct state_file *map;
	unsigned cur; /* slot holding the newest valid state */
	uint64_t seq;
	uint64_t ring_created_ns, ring_capacity;
	struct state_slot loaded; /* what was found at open (n == 0 if nothing usable) */
	char path[300];
};

/* Opens or creates the state file for the ring rh.  Returns 0, or -1 with
 * a reason in err. */
int state_open(struct state *st, const char *path, const struct ring_hdr *rh, char *err,
	       size_t errlen);
/* The entry found at open for this sink path, or NULL. */
const struct state_entry *state_find(const struct state *st, const char *path);
/* Makes e[0..n) the current state (n <= STATE_MAX_ENTRIES). */
void state_write(struct state *st, const struct state_entry *e, unsigned n);
void state_close(struct state *st);

/* Exposed for tests: the checksum of a slot and the slot a reader picks. */
uint64_t state_slot_sum(const struct state_slot *s);
int state_pick(const struct state_file *f);

#endif
