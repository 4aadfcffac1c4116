/*
 * checkpoint.c - restart points of a stage (see checkpoint.h).
 *
 * The file is mapped shared and written in place: a slot is filled, its
 * checksum computed, and only then its sequence number stored with release
 * order; a reader (the restarted stage) trusts a slot only when its
 * checksum matches.  A crash can therefore tear at most the slot being
 * written, and the other one still holds the previous checkpoint.
 */
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define CKPT_MAGIC 0x54504b434e525444ULL /* "DTRNCKPT" read little-endian */
#define CKPT_VERSION 2u

struct ckpt_slot {
	_Atomic uint64_t seq; /* 0: never written */
	uint64_t sum;
	struct checkpoint_pos pos;
};

struct ckpt_file {
	uint64_t magic;
	uint32_t version;
	uint32_t n_in, n_out;
	uint32_t reserved;
	char identity[256];
	struct ckpt_slot slot[2];
};

struct checkpoint {
	struct ckpt_file *f;
	unsigned n_in, n_out;
};

static uint64_t slot_sum(const struct ckpt_slot *s, uint64_t seq)
{
	/* FNV-1a style over 64-bit words (a slot is written every few hundred
	 * records: a byte loop over 1 KiB cost more than the records). */
	uint64_t h = 0xcbf29ce484222325ULL ^ seq;
	for (size_t i = 0; i < CHECKPOINT_MAX; i++)
		h = (h ^ s->pos.in[i]) * 0x100000001b3ULL;
	for (size_t i = 0; i < CHECKPOINT_MAX; i++)
		h = (h ^ s->pos.out[i]) * 0x100000001b3ULL;
	return h ^ h >> 29;
}

static int slot_valid(const struct ckpt_slot *s)
{
	uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
	return seq && s->sum == slot_sum(s, seq);
}

struct checkpoint *checkpoint_open(const char *path, const char *identity, unsigned n_in,
				   unsigned n_out, char *err, size_t errlen)
{
	if (n_in > CHECKPOINT_MAX || n_out > CHECKPOINT_MAX) {
		snprintf(err, errlen, "checkpoint %s: too many rings", path);
		return NULL;
	}
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open checkpoint %s: %s", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || (st.st_size != sizeof(struct ckpt_file) &&
				   ftruncate(fd, sizeof(struct ckpt_file)) < 0)) {
		snprintf(err, errlen, "cannot size checkpoint %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	struct ckpt_file *f = mmap(NULL, sizeof *f, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (f == MAP_FAILED) {
		snprintf(err, errlen, "cannot map checkpoint %s: %s", path, strerror(errno));
		return NULL;
	}
	struct checkpoint *c = calloc(1, sizeof *c);
	if (!c) {
		munmap(f, sizeof *f);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->f = f;
	c->n_in = n_in;
	c->n_out = n_out;
	if (f->magic != CKPT_MAGIC || f->version != CKPT_VERSION || f->n_in != n_in ||
	    f->n_out != n_out || strncmp(f->identity, identity, sizeof f->identity)) {
		/* Another stage's, another capture's, or nothing: start afresh. */
		memset(f, 0, sizeof *f);
		f->magic = CKPT_MAGIC;
		f->version = CKPT_VERSION;
		f->n_in = n_in;
		f->n_out = n_out;
		snprintf(f->identity, sizeof f->identity, "%s", identity);
	}
	return c;
}

void checkpoint_close(struct checkpoint *c)
{
	if (!c)
		return;
	munmap(c->f, sizeof *c->f);
	free(c);
}

int checkpoint_recover(struct checkpoint *c, const uint64_t *out_heads, struct checkpoint_pos *pos)
{
	int exact = -1, near = -1;
	uint64_t exact_seq = 0, near_seq = 0;
	for (int i = 0; i < 2; i++) {
		const struct ckpt_slot *s = &c->f->slot[i];
		if (!slot_valid(s))
			continue;
		uint64_t seq = atomic_load(&s->seq);
		int equal = 1, behind = 1;
		for (unsigned k = 0; k < c->n_out; k++) {
			equal &= s->pos.out[k] == out_heads[k];
			behind &= s->pos.out[k] <= out_heads[k];
		}
		if (equal && (exact < 0 || seq > exact_seq)) {
			exact = i;
			exact_seq = seq;
		}
		if (behind && (near < 0 || seq > near_seq)) {
			near = i;
			near_seq = seq;
		}
	}
	if (exact >= 0) {
		*pos = c->f->slot[exact].pos;
		return 1;
	}
	if (near >= 0) {
		*pos = c->f->slot[near].pos;
		return 2;
	}
	return 0;
}

static int newest(const struct checkpoint *c)
{
	uint64_t a = atomic_load(&c->f->slot[0].seq), b = atomic_load(&c->f->slot[1].seq);
	return b > a ? 1 : 0;
}

void checkpoint_write(struct checkpoint *c, const struct checkpoint_pos *pos)
{
	int n = newest(c);
	uint64_t seq = atomic_load(&c->f->slot[n].seq) + 1;
	struct ckpt_slot *s = &c->f->slot[!n];
	atomic_store_explicit(&s->seq, 0, memory_order_relaxed); /* invalid while written */
	atomic_thread_fence(memory_order_release);
	/* Only the stage's own inputs and outputs: the rest stays zero, so the
	 * checksum covers defined bytes only. */
	memset(&s->pos, 0, sizeof s->pos);
	memcpy(s->pos.in, pos->in, c->n_in * sizeof *pos->in);
	memcpy(s->pos.out, pos->out, c->n_out * sizeof *pos->out);
	s->sum = slot_sum(s, seq);
	atomic_store_explicit(&s->seq, seq, memory_order_release);
}

int checkpoint_slot(struct checkpoint *c, int which, struct checkpoint_pos *pos)
{
	int n = newest(c);
	const struct ckpt_slot *s = &c->f->slot[which ? !n : n];
	if (!slot_valid(s))
		return 0;
	*pos = s->pos;
	return 1;
}

int checkpoint_release_pos(struct checkpoint *c, struct checkpoint_pos *pos)
{
	int n = newest(c);
	const struct ckpt_slot *old = &c->f->slot[!n];
	if (!slot_valid(old))
		return 0;
	*pos = old->pos;
	return 1;
}
