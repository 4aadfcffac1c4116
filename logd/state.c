/*
 * state.c - the double-buffered, mapped recovery state (state.h).
 */
#include "state.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_MAGIC "DTLOGDST"
#define STATE_VERSION 1u

uint64_t state_slot_sum(const struct state_slot *s)
{
	uint32_t n = s->n <= STATE_MAX_ENTRIES ? s->n : STATE_MAX_ENTRIES;
	const uint8_t *p = (const uint8_t *)&s->seq;
	const uint8_t *end = (const uint8_t *)&s->e[n];
	uint64_t h = 0xcbf29ce484222325ull;
	for (; p < end; p++) {
		h ^= *p;
		h *= 0x100000001b3ull;
	}
	return h;
}

static int slot_valid(const struct state_slot *s)
{
	return s->seq && s->n <= STATE_MAX_ENTRIES && s->sum == state_slot_sum(s);
}

int state_pick(const struct state_file *f)
{
	int a = slot_valid(&f->slot[0]), b = slot_valid(&f->slot[1]);
	if (a && b)
		return f->slot[1].seq > f->slot[0].seq ? 1 : 0;
	return a ? 0 : b ? 1 : -1;
}

int state_open(struct state *st, const char *path, const struct ring_hdr *rh, char *err,
	       size_t errlen)
{
	memset(st, 0, sizeof *st);
	st->fd = -1;
	snprintf(st->path, sizeof st->path, "%s", path);
	st->ring_created_ns = rh->created_ns;
	st->ring_capacity = rh->capacity;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open state file %s: %s (it lives next to the ring; "
			 "the run directory must be writable by this user)", path, strerror(errno));
		return -1;
	}
	struct stat sb;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "state file %s: not a regular file: remove it", path);
		close(fd);
		return -1;
	}
	size_t size = sizeof(struct state_file);
	int fresh = (size_t)sb.st_size != size;
	if (fresh) {
		if (sb.st_size)
			log_warn("state file %s has an unexpected size (%lld bytes): starting without "
				 "recovery information", path, (long long)sb.st_size);
		if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)size) < 0) {
			snprintf(err, errlen, "cannot size state file %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
	}
	void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		snprintf(err, errlen, "cannot map state file %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	st->fd = fd;
	st->map = m;
	struct state_file *f = m;
	if (memcmp(f->magic, STATE_MAGIC, 8) || f->version != STATE_VERSION || f->size != size) {
		if (!fresh)
			log_warn("state file %s is not a logd state of this version: starting without "
				 "recovery information", path);
		memset(f, 0, size);
		memcpy(f->magic, STATE_MAGIC, 8);
		f->version = STATE_VERSION;
		f->size = (uint32_t)size;
	}
	int k = state_pick(f);
	if (k >= 0) {
		st->cur = (unsigned)k;
		st->seq = f->slot[k].seq;
		if (f->slot[k].ring_created_ns == rh->created_ns &&
		    f->slot[k].ring_capacity == rh->capacity)
			st->loaded = f->slot[k];
		else if (f->slot[k].n)
			log_warn("state file %s describes another ring (the ring was recreated): "
				 "sink files are appended to without recovery", path);
	}
	return 0;
}

const struct state_entry *state_find(const struct state *st, const char *path)
{
	for (uint32_t i = 0; i < st->loaded.n; i++)
		if (!strncmp(st->loaded.e[i].path, path, STATE_PATH_MAX))
			return &st->loaded.e[i];
	return NULL;
}

void state_write(struct state *st, const struct state_entry *e, unsigned n)
{
	if (!st->map)
		return;
	unsigned k = st->cur ^ 1;
	struct state_slot *s = &st->map->slot[k];
	/* Invalidate first, so a slot half rewritten cannot carry a stale but
	 * matching checksum. */
	s->sum = 0;
	atomic_signal_fence(memory_order_seq_cst);
	s->seq = ++st->seq;
	s->ring_created_ns = st->ring_created_ns;
	s->ring_capacity = st->ring_capacity;
	s->n = n;
	s->pad = 0;
	memcpy(s->e, e, n * sizeof *e);
	atomic_signal_fence(memory_order_seq_cst);
	s->sum = state_slot_sum(s);
	st->cur = k;
}

void state_close(struct state *st)
{
	if (st->map)
		munmap(st->map, sizeof(struct state_file));
	if (st->fd >= 0)
		close(st->fd);
	st->map = NULL;
	st->fd = -1;
}
