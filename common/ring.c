/*
 * ring.c - SPSC shared-memory ring (see ring.h for the contract).
 *
 * Memory ordering: the producer fills a record, then publishes head with a
 * release store; the consumer loads head with acquire before reading any
 * record below it.  Symmetrically the consumer publishes tail with release
 * after it is done with the bytes below it, and the producer loads tail with
 * acquire before overwriting them.  Sleeping uses a Dekker-style handshake
 * (waiting flag, full fence, recheck) around a futex word, and every sleep has
 * a short timeout, so a peer that dies mid-handshake costs at most one
 * timeout.
 */
#include "ring.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SPIN_ROUNDS 256
#define WAIT_SLICE_MS 10 /* longest single futex sleep */
/* A sleeping peer is woken for a batch this large (or by a flush); smaller
 * ones wait for the next, saving a wake-up and a context switch per
 * handful of records.  The sleeper's own timeout bounds the delay. */
#define WAKE_BATCH(cap) ((cap) / 16 < (1u << 20) ? (cap) / 16 : (1u << 20))

struct ring {
	int fd;
	enum ring_role role;
	enum ring_full_policy policy;
	volatile sig_atomic_t *stop;
	void (*publish_hook)(void *ctx);
	void *publish_ctx;
	struct ring_hdr *hdr;
	uint8_t *data;
	size_t map_len;
	uint64_t cap, mask;
	uint32_t max_record;
	char path[256];
	char err[600];

	/* producer */
	uint64_t head; /* local: includes committed, unpublished records */
	uint64_t tail_seen;
	uint64_t reserved_at; /* record position of the open reservation */
	uint64_t unpublished_records, unpublished_bytes;

	/* consumer */
	uint64_t tail; /* local read position */
	uint64_t head_seen;
	uint64_t peeked_size; /* bytes ring_next will skip; 0 = nothing peeked */
	uint64_t unreported_records, unreported_bytes; /* read, not yet in records_out */
	int manual_release;
	int release_force; /* the next release wakes a waiting producer whatever it frees */
};

static inline uint64_t align_rec(uint64_t n)
{
	return (n + RING_REC_ALIGN - 1) & ~(uint64_t)(RING_REC_ALIGN - 1);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static void futex_wait(_Atomic uint32_t *word, uint32_t val, int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	/* Shared (not FUTEX_PRIVATE): the word lives in a file mapped by two
	 * processes. EINTR, EAGAIN and ETIMEDOUT all just mean "look again". */
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, val, &ts, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *word)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

uint64_t ring_now_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int ring_pid_alive(uint32_t pid)
{
	if (pid == 0)
		return 0;
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

static int stopped(const struct ring *r)
{
	return r->stop && *r->stop;
}

/* ---------------------------------------------------------------- attach */

int ring_check_file(int fd, const char *path, struct ring_hdr *h, char *err, size_t errlen)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "ring %s: cannot stat: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "ring %s: not a regular file", path);
		return -1;
	}
	if (st.st_mode & S_IWOTH) {
		snprintf(err, errlen,
			 "ring %s: writable by others (mode %04o); refusing it: "
			 "remove it or run 'chmod o-w' on it",
			 path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if ((uint64_t)st.st_size < RING_HDR_SIZE) {
		snprintf(err, errlen, "ring %s: file is %lld bytes, smaller than a ring header; "
			 "not a dnstrail ring (remove it)", path, (long long)st.st_size);
		return -1;
	}
	ssize_t n = pread(fd, h, sizeof(*h), 0);
	if (n != (ssize_t)sizeof(*h)) {
		snprintf(err, errlen, "ring %s: cannot read header: %s", path,
			 n < 0 ? strerror(errno) : "short read");
		return -1;
	}
	if (h->magic != RING_MAGIC) {
		snprintf(err, errlen, "ring %s: bad magic 0x%016" PRIx64 ": not a dnstrail ring "
			 "(remove it or choose another --run-dir)", path, h->magic);
		return -1;
	}
	if (h->version != RING_VERSION) {
		snprintf(err, errlen, "ring %s: layout version %u, this build speaks %u: "
			 "stop every stage and remove the run directory's rings",
			 path, h->version, RING_VERSION);
		return -1;
	}
	if (h->hdr_size != RING_HDR_SIZE || h->capacity < RING_MIN_CAPACITY ||
	    h->capacity > RING_MAX_CAPACITY || (h->capacity & (h->capacity - 1)) ||
	    h->max_record == 0 || h->max_record > h->capacity / 4) {
		snprintf(err, errlen, "ring %s: inconsistent header (header %u bytes, "
			 "capacity %" PRIu64 ", max record %u): refusing it (remove it)",
			 path, h->hdr_size, h->capacity, h->max_record);
		return -1;
	}
	if ((uint64_t)st.st_size != h->hdr_size + h->capacity) {
		snprintf(err, errlen, "ring %s: file is %lld bytes but its header says %" PRIu64
			 ": truncated or foreign file (remove it)", path,
			 (long long)st.st_size, h->hdr_size + h->capacity);
		return -1;
	}
	return 0;
}

static int create_ring_file(const char *path, const struct ring_create *c, char *err, size_t errlen)
{
	uint64_t cap = c->capacity;
	if (cap < RING_MIN_CAPACITY || cap > RING_MAX_CAPACITY || (cap & (cap - 1))) {
		snprintf(err, errlen, "ring %s: capacity %" PRIu64 " must be a power of two "
			 "between %u and %llu", path, cap, RING_MIN_CAPACITY, RING_MAX_CAPACITY);
		return -1;
	}
	char tmp[300];
	snprintf(tmp, sizeof tmp, "%s.new.%ld", path, (long)getpid());
	int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0660);
	if (fd < 0 && errno == ENOENT) {
		/* The run directory itself is missing: make it (one level). */
		char dir[300];
		snprintf(dir, sizeof dir, "%s", path);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = 0;
			if (mkdir(dir, 0750) == 0 || errno == EEXIST)
				fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0660);
		}
	}
	if (fd < 0) {
		snprintf(err, errlen, "ring %s: cannot create: %s", path, strerror(errno));
		return -1;
	}
	fchmod(fd, 0660); /* independent of the umask */
	if (c->set_owner && fchown(fd, c->uid, c->gid) < 0) {
		snprintf(err, errlen, "ring %s: cannot hand it to uid %u: %s", path, (unsigned)c->uid,
			 strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	struct ring_hdr h;
	memset(&h, 0, sizeof h);
	h.magic = RING_MAGIC;
	h.version = RING_VERSION;
	h.hdr_size = RING_HDR_SIZE;
	h.capacity = cap;
	h.max_record = (uint32_t)(cap / 4 > (1u << 24) ? (1u << 24) : cap / 4);
	h.kind = c->kind;
	const char *base = strrchr(path, '/');
	snprintf(h.name, sizeof h.name, "%s", base ? base + 1 : path);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	h.created_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	int rc = -1;
	/* Allocate every page now: a run directory on a tmpfs too small for
	 * the ring fails here, with a message, instead of with SIGBUS when a
	 * stage first writes past what the tmpfs could give. */
	int ferr = posix_fallocate(fd, 0, (off_t)(RING_HDR_SIZE + cap));
	if (ferr) {
		snprintf(err, errlen, "ring %s: cannot allocate %" PRIu64 " bytes: %s (is %s's file "
			 "system large enough? see --ring-size)", path, RING_HDR_SIZE + cap,
			 strerror(ferr), path);
	} else if (pwrite(fd, &h, sizeof h, 0) != (ssize_t)sizeof h) {
		snprintf(err, errlen, "ring %s: cannot write header: %s", path, strerror(errno));
	} else if (link(tmp, path) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "ring %s: cannot create: %s", path, strerror(errno));
	} else {
		rc = 0; /* created, or a peer won the race: both are fine */
	}
	close(fd);
	unlink(tmp);
	return rc;
}

struct ring *ring_attach(const char *path, enum ring_role role, uint32_t kind,
			 const struct ring_create *create, char *err, size_t errlen)
{
	if (strlen(path) >= sizeof(((struct ring *)0)->path) - 1) {
		snprintf(err, errlen, "ring %s: path too long", path);
		return NULL;
	}
	int flags = (role == RING_OBSERVER ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	int fd = open(path, flags);
	if (fd < 0 && errno == ENOENT && create && create->capacity) {
		if (create_ring_file(path, create, err, errlen) < 0)
			return NULL;
		fd = open(path, flags);
	}
	if (fd < 0) {
		snprintf(err, errlen, "ring %s: cannot open: %s%s", path, strerror(errno),
			 errno == ENOENT ? " (is the stage that creates it running, and "
					   "is --run-dir the same for every stage?)" : "");
		return NULL;
	}
	struct ring_hdr h;
	if (ring_check_file(fd, path, &h, err, errlen) < 0) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	if (kind != RING_KIND_ANY && h.kind != kind) {
		snprintf(err, errlen, "ring %s holds record kind %u, expected %u: wrong ring name?",
			 path, h.kind, kind);
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	size_t len = (size_t)(h.hdr_size + h.capacity);
	int prot = role == RING_OBSERVER ? PROT_READ : PROT_READ | PROT_WRITE;
	/* Populate the page tables now: one call instead of a page fault per
	 * 4 KiB on the first lap, which costs a stage several percent of its
	 * CPU on a virtual machine. */
	void *m = mmap(NULL, len, prot, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (m == MAP_FAILED) {
		snprintf(err, errlen, "ring %s: cannot map %zu bytes: %s", path, len, strerror(errno));
		close(fd);
		return NULL;
	}
	struct ring *r = calloc(1, sizeof *r);
	if (!r) {
		snprintf(err, errlen, "ring %s: out of memory", path);
		munmap(m, len);
		close(fd);
		return NULL;
	}
	r->fd = fd;
	r->role = role;
	r->policy = RING_FULL_WAIT;
	r->hdr = m;
	r->data = (uint8_t *)m + h.hdr_size;
	r->map_len = len;
	r->cap = h.capacity;
	r->mask = h.capacity - 1;
	r->max_record = h.max_record;
	snprintf(r->path, sizeof r->path, "%s", path);

	/* The header was checked before mapping; the positions are live state
	 * and must be checked again now that they are mapped. */
	uint64_t head = atomic_load_explicit(&r->hdr->head, memory_order_acquire);
	uint64_t tail = atomic_load_explicit(&r->hdr->tail, memory_order_acquire);
	if (tail > head || head - tail > r->cap || (head | tail) % RING_REC_ALIGN) {
		snprintf(err, errlen, "ring %s: corrupt positions (head %" PRIu64 ", tail %" PRIu64
			 "): refusing it (remove the ring file to start afresh)", path, head, tail);
		ring_detach(r);
		errno = EINVAL;
		return NULL;
	}
	uint32_t self = (uint32_t)getpid();
	if (role == RING_PRODUCER) {
		uint32_t old = atomic_load(&r->hdr->producer_pid);
		if (old && old != self && ring_pid_alive(old)) {
			snprintf(err, errlen, "ring %s already has a producer (pid %u)", path, old);
			ring_detach(r);
			errno = EBUSY;
			return NULL;
		}
		atomic_store(&r->hdr->producer_pid, self);
		atomic_fetch_add(&r->hdr->producer_starts, 1);
		atomic_store(&r->hdr->eof, 0);
		r->head = head;
		r->tail_seen = tail;
		ring_producer_heartbeat(r);
	} else if (role == RING_CONSUMER) {
		uint32_t old = atomic_load(&r->hdr->consumer_pid);
		if (old && old != self && ring_pid_alive(old)) {
			snprintf(err, errlen, "ring %s already has a consumer (pid %u)", path, old);
			ring_detach(r);
			errno = EBUSY;
			return NULL;
		}
		atomic_store(&r->hdr->consumer_pid, self);
		atomic_fetch_add(&r->hdr->consumer_starts, 1);
		r->tail = tail;
		r->head_seen = tail;
		ring_consumer_heartbeat(r);
	}
	return r;
}

void ring_detach(struct ring *r)
{
	if (!r)
		return;
	if (r->role == RING_PRODUCER) {
		ring_publish(r);
		uint32_t self = (uint32_t)getpid();
		atomic_compare_exchange_strong(&r->hdr->producer_pid, &self, 0);
	} else if (r->role == RING_CONSUMER) {
		if (!r->manual_release)
			ring_release(r);
		uint32_t self = (uint32_t)getpid();
		atomic_compare_exchange_strong(&r->hdr->consumer_pid, &self, 0);
	}
	munmap(r->hdr, r->map_len);
	close(r->fd);
	free(r);
}

void ring_set_stop_flag(struct ring *r, volatile sig_atomic_t *stop) { r->stop = stop; }
void ring_set_full_policy(struct ring *r, enum ring_full_policy p) { r->policy = p; }
void ring_set_publish_hook(struct ring *r, void (*fn)(void *), void *ctx)
{
	r->publish_hook = fn;
	r->publish_ctx = ctx;
}
struct ring_hdr *ring_header(struct ring *r) { return r->hdr; }
const char *ring_path(const struct ring *r) { return r->path; }
uint32_t ring_max_record(const struct ring *r) { return r->max_record; }
const char *ring_error(const struct ring *r) { return r->err[0] ? r->err : NULL; }

/* -------------------------------------------------------------- producer */

void ring_producer_heartbeat(struct ring *r)
{
	atomic_store_explicit(&r->hdr->producer_heartbeat_ns, ring_now_mono_ns(),
			      memory_order_relaxed);
}

static void publish(struct ring *r, int force_wake)
{
	if (!r->unpublished_records && !force_wake)
		return;
	struct ring_hdr *h = r->hdr;
	atomic_store_explicit(&h->head, r->head, memory_order_release);
	/* Single writer: a relaxed load+store is enough and avoids a locked op. */
	atomic_store_explicit(&h->records_in,
			      atomic_load_explicit(&h->records_in, memory_order_relaxed) +
				      r->unpublished_records, memory_order_relaxed);
	atomic_store_explicit(&h->bytes_in,
			      atomic_load_explicit(&h->bytes_in, memory_order_relaxed) +
				      r->unpublished_bytes, memory_order_relaxed);
	r->unpublished_records = r->unpublished_bytes = 0;
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&h->data_waiting, memory_order_relaxed) &&
	    (force_wake || r->head - atomic_load_explicit(&h->tail, memory_order_relaxed) >=
				   WAKE_BATCH(r->cap))) {
		atomic_fetch_add(&h->data_futex, 1);
		futex_wake(&h->data_futex);
	}
}

void ring_publish(struct ring *r)
{
	publish(r, 0);
}

void ring_flush(struct ring *r)
{
	publish(r, 1);
}

void ring_count_drop(struct ring *r, uint32_t len)
{
	struct ring_hdr *h = r->hdr;
	atomic_store_explicit(&h->dropped, atomic_load_explicit(&h->dropped, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	atomic_store_explicit(&h->dropped_bytes,
			      atomic_load_explicit(&h->dropped_bytes, memory_order_relaxed) + len,
			      memory_order_relaxed);
}

static uint64_t free_space(struct ring *r)
{
	return r->cap - (r->head - r->tail_seen);
}

/* Wait until `need` bytes are free.  Returns 0 when they are, -1 when the
 * stop flag was raised. */
static int wait_for_space(struct ring *r, uint64_t need)
{
	struct ring_hdr *h = r->hdr;
	if (r->publish_hook && r->unpublished_records)
		r->publish_hook(r->publish_ctx);
	publish(r, 1); /* the consumer may be waiting for exactly these */
	atomic_fetch_add_explicit(&h->full_waits, 1, memory_order_relaxed);
	for (unsigned spin = 0;; spin++) {
		r->tail_seen = atomic_load_explicit(&h->tail, memory_order_acquire);
		if (free_space(r) >= need)
			return 0;
		if (stopped(r))
			return -1;
		if (spin < SPIN_ROUNDS) {
			cpu_relax();
			continue;
		}
		uint32_t v = atomic_load(&h->space_futex);
		atomic_store(&h->space_waiting, 1);
		atomic_thread_fence(memory_order_seq_cst);
		r->tail_seen = atomic_load_explicit(&h->tail, memory_order_acquire);
		if (free_space(r) < need)
			futex_wait(&h->space_futex, v, WAIT_SLICE_MS);
		atomic_store(&h->space_waiting, 0);
		ring_producer_heartbeat(r);
	}
}

enum reserve_mode { RESERVE_POLICY, RESERVE_TRY };

static void *reserve(struct ring *r, uint32_t len, enum reserve_mode mode)
{
	if (len > r->max_record) {
		snprintf(r->err, sizeof r->err, "ring %s: record of %u bytes exceeds the maximum %u",
			 r->path, len, r->max_record);
		if (mode == RESERVE_POLICY)
			ring_count_drop(r, len);
		return NULL;
	}
	uint64_t need = sizeof(struct ring_rec) + align_rec(len);
	uint64_t to_end = r->cap - (r->head & r->mask);
	uint64_t total = to_end < need ? to_end + need : need;
	if (free_space(r) < total) {
		r->tail_seen = atomic_load_explicit(&r->hdr->tail, memory_order_acquire);
		if (free_space(r) < total) {
			if (mode == RESERVE_TRY)
				return NULL;
			if (r->policy == RING_FULL_DROP) {
				ring_count_drop(r, len);
				return NULL;
			}
			if (wait_for_space(r, total) < 0)
				return NULL;
		}
	}
	uint64_t pos = r->head;
	if (to_end < need) {
		/* Fill the rest of the area with a PAD record; it becomes visible
		 * only with the record that follows it. */
		struct ring_rec *pad = (struct ring_rec *)(r->data + (pos & r->mask));
		pad->len = (uint32_t)(to_end - sizeof *pad);
		pad->type = RING_REC_PAD;
		pad->check = (uint16_t)~pad->len;
		pos += to_end;
	}
	r->reserved_at = pos;
	return r->data + (pos & r->mask) + sizeof(struct ring_rec);
}

void *ring_reserve(struct ring *r, uint32_t len)
{
	return reserve(r, len, RESERVE_POLICY);
}

void *ring_try_reserve(struct ring *r, uint32_t len)
{
	return reserve(r, len, RESERVE_TRY);
}

void ring_commit(struct ring *r, uint16_t type, uint32_t len)
{
	struct ring_rec *rec = (struct ring_rec *)(r->data + (r->reserved_at & r->mask));
	rec->len = len;
	rec->type = type;
	rec->check = (uint16_t)~len;
	r->head = r->reserved_at + sizeof *rec + align_rec(len);
	r->unpublished_records++;
	r->unpublished_bytes += len;
}

int ring_push(struct ring *r, uint16_t type, const void *data, uint32_t len)
{
	void *p = ring_reserve(r, len);
	if (!p)
		return -1;
	memcpy(p, data, len);
	ring_commit(r, type, len);
	return 0;
}

void ring_set_eof(struct ring *r)
{
	ring_publish(r);
	struct ring_hdr *h = r->hdr;
	atomic_store_explicit(&h->eof, 1, memory_order_release);
	atomic_thread_fence(memory_order_seq_cst);
	atomic_fetch_add(&h->data_futex, 1);
	futex_wake(&h->data_futex);
}

/* -------------------------------------------------------------- consumer */

void ring_consumer_heartbeat(struct ring *r)
{
	atomic_store_explicit(&r->hdr->consumer_heartbeat_ns, ring_now_mono_ns(),
			      memory_order_relaxed);
}

static int corrupt(struct ring *r, uint64_t pos, const char *what)
{
	snprintf(r->err, sizeof r->err,
		 "ring %s: corrupt record at position %" PRIu64 " (%s): stopping here; "
		 "the ring must be removed before this stage can run again",
		 r->path, pos, what);
	return 0;
}

int ring_peek(struct ring *r, struct ring_view *v)
{
	if (r->err[0])
		return 0;
	for (;;) {
		if (r->tail == r->head_seen) {
			r->head_seen = atomic_load_explicit(&r->hdr->head, memory_order_acquire);
			if (r->tail == r->head_seen)
				return 0;
			if (r->head_seen < r->tail || r->head_seen - r->tail > r->cap)
				return corrupt(r, r->tail, "head outside the ring");
		}
		uint64_t off = r->tail & r->mask;
		uint64_t to_end = r->cap - off;
		const struct ring_rec *rec = (const struct ring_rec *)(r->data + off);
		struct ring_rec hd = *rec;
		if (hd.check != (uint16_t)~hd.len)
			return corrupt(r, r->tail, "bad header check");
		if (hd.type == RING_REC_PAD) {
			if (hd.len + sizeof hd != to_end)
				return corrupt(r, r->tail, "padding does not reach the end");
			if (r->tail + to_end > r->head_seen)
				return corrupt(r, r->tail, "padding beyond head");
			r->tail += to_end;
			continue;
		}
		uint64_t size = sizeof hd + align_rec(hd.len);
		if (hd.type == RING_REC_INVALID || hd.len > r->max_record || size > to_end ||
		    r->tail + size > r->head_seen)
			return corrupt(r, r->tail, "length or type out of range");
		v->data = rec + 1;
		v->len = hd.len;
		v->type = hd.type;
		v->pos = r->tail;
		r->peeked_size = size;
		return 1;
	}
}

int ring_peek_ahead(struct ring *r, uint64_t *pos, struct ring_view *v)
{
	uint64_t p = *pos < r->tail ? r->tail : *pos, head = r->head_seen;
	if (r->err[0])
		return 0;
	for (;;) {
		if (p >= head) {
			/* Kept for the next call and for ring_peek: the head's
			 * line is the producer's, and loading it on every call
			 * would bring it over from the producer's core each time. */
			head = atomic_load_explicit(&r->hdr->head, memory_order_acquire);
			if (head - r->tail > r->cap)
				return 0;
			r->head_seen = head;
			if (p >= head)
				return 0;
		}
		uint64_t off = p & r->mask, to_end = r->cap - off;
		struct ring_rec hd;
		memcpy(&hd, r->data + off, sizeof hd);
		if (hd.check != (uint16_t)~hd.len)
			return 0;
		if (hd.type == RING_REC_PAD) {
			if (hd.len + sizeof hd != to_end)
				return 0;
			p += to_end;
			continue;
		}
		uint64_t size = sizeof hd + align_rec(hd.len);
		if (hd.type == RING_REC_INVALID || hd.len > r->max_record || size > to_end ||
		    p + size > head)
			return 0;
		v->data = r->data + off + sizeof hd;
		v->len = hd.len;
		v->type = hd.type;
		v->pos = p;
		*pos = p + size;
		return 1;
	}
}

void ring_next(struct ring *r)
{
	if (!r->peeked_size)
		return;
	struct ring_rec *rec = (struct ring_rec *)(r->data + (r->tail & r->mask));
	r->unreported_bytes += rec->len;
	r->unreported_records++;
	r->tail += r->peeked_size;
	r->peeked_size = 0;
}

static void wake_producer(struct ring *r, int force)
{
	struct ring_hdr *h = r->hdr;
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&h->space_waiting, memory_order_relaxed) &&
	    (force || r->cap - (atomic_load_explicit(&h->head, memory_order_relaxed) - r->tail) >=
			      WAKE_BATCH(r->cap) * 4)) {
		atomic_fetch_add(&h->space_futex, 1);
		futex_wake(&h->space_futex);
	}
}

void ring_set_manual_release(struct ring *r, int on) { r->manual_release = on; }
uint64_t ring_read_pos(const struct ring *r) { return r->tail; }

/* records_out/bytes_out count what the consumer has read (the space it
 * holds shows in head - tail), so neither release needs to walk records. */
static void report_read(struct ring *r)
{
	struct ring_hdr *h = r->hdr;
	if (!r->unreported_records)
		return;
	atomic_store_explicit(&h->records_out,
			      atomic_load_explicit(&h->records_out, memory_order_relaxed) +
				      r->unreported_records, memory_order_relaxed);
	atomic_store_explicit(&h->bytes_out,
			      atomic_load_explicit(&h->bytes_out, memory_order_relaxed) +
				      r->unreported_bytes, memory_order_relaxed);
	r->unreported_records = r->unreported_bytes = 0;
}

void ring_release_to(struct ring *r, uint64_t pos)
{
	report_read(r);
	struct ring_hdr *h = r->hdr;
	uint64_t shared = atomic_load_explicit(&h->tail, memory_order_relaxed);
	if (pos <= shared || pos > r->tail)
		return;
	atomic_store_explicit(&h->tail, pos, memory_order_release);
	wake_producer(r, 0);
}

int ring_seek(struct ring *r, uint64_t pos)
{
	uint64_t head = atomic_load_explicit(&r->hdr->head, memory_order_acquire);
	if (pos < r->tail || pos > head)
		return -1;
	/* Walk the records to be sure pos starts one: a position from a stale
	 * or foreign checkpoint must not make us read from mid-record. */
	uint64_t a = r->tail;
	while (a < pos) {
		const struct ring_rec *rec = (const struct ring_rec *)(r->data + (a & r->mask));
		uint64_t to_end = r->cap - (a & r->mask);
		if (rec->check != (uint16_t)~rec->len)
			return -1;
		uint64_t size = rec->type == RING_REC_PAD ? to_end : sizeof *rec + align_rec(rec->len);
		if (size > to_end)
			return -1;
		a += size;
	}
	if (a != pos)
		return -1;
	r->tail = pos;
	r->head_seen = pos;
	r->peeked_size = 0;
	return 0;
}

uint64_t ring_pending_head(const struct ring *r)
{
	return r->head;
}

uint64_t ring_published_head(const struct ring *r)
{
	return atomic_load_explicit(&r->hdr->head, memory_order_acquire);
}

void ring_release(struct ring *r)
{
	report_read(r);
	struct ring_hdr *h = r->hdr;
	uint64_t shared = atomic_load_explicit(&h->tail, memory_order_relaxed);
	if (r->tail == shared)
		return;
	atomic_store_explicit(&h->tail, r->tail, memory_order_release);
	wake_producer(r, r->release_force);
}

int ring_drained(struct ring *r)
{
	if (!atomic_load_explicit(&r->hdr->eof, memory_order_acquire))
		return 0;
	return atomic_load_explicit(&r->hdr->head, memory_order_acquire) == r->tail;
}

int ring_wait_data(struct ring *r, int timeout_ms)
{
	struct ring_hdr *h = r->hdr;
	/* Never sleep holding space a waiting producer may need. */
	r->release_force = 1;
	if (!r->manual_release)
		ring_release(r);
	else
		report_read(r);
	r->release_force = 0;
	wake_producer(r, 1);
	uint64_t deadline = ring_now_mono_ns() + (uint64_t)timeout_ms * 1000000ull;
	for (unsigned spin = 0;; spin++) {
		if (atomic_load_explicit(&h->head, memory_order_acquire) != r->tail)
			return 1;
		if (atomic_load_explicit(&h->eof, memory_order_acquire) || stopped(r) || r->err[0])
			return atomic_load_explicit(&h->head, memory_order_acquire) != r->tail;
		if (spin < SPIN_ROUNDS) {
			cpu_relax();
			continue;
		}
		uint64_t now = ring_now_mono_ns();
		if (now >= deadline)
			return 0;
		uint64_t left_ms = (deadline - now) / 1000000ull + 1;
		uint32_t v = atomic_load(&h->data_futex);
		atomic_store(&h->data_waiting, 1);
		atomic_thread_fence(memory_order_seq_cst);
		if (atomic_load_explicit(&h->head, memory_order_acquire) == r->tail &&
		    !atomic_load_explicit(&h->eof, memory_order_acquire)) {
			atomic_fetch_add_explicit(&h->empty_waits, 1, memory_order_relaxed);
			futex_wait(&h->data_futex, v,
				   (int)(left_ms < WAIT_SLICE_MS ? left_ms : WAIT_SLICE_MS));
		}
		atomic_store(&h->data_waiting, 0);
		ring_consumer_heartbeat(r);
	}
}

/* -------------------------------------------------------------- observer */

int64_t ring_observe(struct ring *r, uint64_t *pos, uint16_t *type, void *buf, uint32_t buflen)
{
	struct ring_hdr *h = r->hdr;
	for (;;) {
		uint64_t tail = atomic_load_explicit(&h->tail, memory_order_acquire);
		uint64_t head = atomic_load_explicit(&h->head, memory_order_acquire);
		if (*pos < tail || *pos > head)
			*pos = tail;
		if (*pos == head)
			return 0;
		uint64_t off = *pos & r->mask;
		uint64_t to_end = r->cap - off;
		struct ring_rec hd;
		memcpy(&hd, r->data + off, sizeof hd);
		uint32_t n = 0;
		int sane = hd.check == (uint16_t)~hd.len;
		uint64_t size = sizeof hd + align_rec(hd.len);
		if (sane && hd.type != RING_REC_PAD) {
			sane = hd.len <= r->max_record && size <= to_end;
			n = hd.len < buflen ? hd.len : buflen;
			if (sane)
				memcpy(buf, r->data + off + sizeof hd, n);
		}
		/* Anything the consumer has released may be rewritten under us:
		 * if the tail passed this record while we copied, the copy is
		 * worthless. */
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&h->tail, memory_order_acquire) > *pos) {
			*pos = atomic_load_explicit(&h->tail, memory_order_acquire);
			return -1;
		}
		if (!sane)
			return -2; /* corrupt: the position will not get better */
		if (hd.type == RING_REC_PAD) {
			*pos += to_end;
			continue;
		}
		*pos += size;
		*type = hd.type;
		return n;
	}
}
