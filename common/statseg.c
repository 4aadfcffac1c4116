/*
 * statseg.c - counters in shared memory (see statseg.h).
 *
 * The file is built under a temporary name and renamed into place, so a
 * reader never maps a half-written header; a restarted stage replaces its
 * file, and a reader holding the old mapping keeps a consistent (stale)
 * copy until it looks again.
 */
#include "statseg.h"

#include "log.h"
#include "ring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct table {
	const void *base;
	const struct stat_desc *d;
	size_t n;
	size_t first; /* index of its first entry in the segment */
};

struct statseg {
	struct statseg_hdr *h;
	struct table tables[STATSEG_MAX_TABLES];
	size_t n_tables;
};

struct statseg *statseg_open(const char *run_dir, const char *stage, char *err, size_t errlen)
{
	char path[600], tmp[640];
	snprintf(path, sizeof path, "%s/%s.stats", run_dir, stage);
	snprintf(tmp, sizeof tmp, "%s.new.%ld", path, (long)getpid());
	int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return NULL;
	}
	fchmod(fd, 0640);
	struct statseg *s = calloc(1, sizeof *s);
	if (!s || ftruncate(fd, sizeof(struct statseg_hdr)) < 0) {
		snprintf(err, errlen, "cannot size %s: %s", path, strerror(errno));
		close(fd);
		unlink(tmp);
		free(s);
		return NULL;
	}
	s->h = mmap(NULL, sizeof *s->h, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (s->h == MAP_FAILED) {
		snprintf(err, errlen, "cannot map %s: %s", path, strerror(errno));
		unlink(tmp);
		free(s);
		return NULL;
	}
	s->h->magic = STATSEG_MAGIC;
	s->h->version = STATSEG_VERSION;
	snprintf(s->h->stage, sizeof s->h->stage, "%s", stage);
	s->h->pid = (uint32_t)getpid();
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	s->h->started_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		unlink(tmp);
		munmap(s->h, sizeof *s->h);
		free(s);
		return NULL;
	}
	return s;
}

int statseg_add(struct statseg *s, const void *base, const struct stat_desc *d, size_t n)
{
	if (!s)
		return -1;
	if (s->n_tables == STATSEG_MAX_TABLES || s->h->count + n > STATSEG_MAX) {
		log_warn("%s statistics: no room for %zu more counters from %s on (%u of %d used, "
			 "%zu of %d tables): they will not be visible to dnstrail-ctl",
			 s->h->stage, n, n ? d[0].name : "-", s->h->count, STATSEG_MAX, s->n_tables,
			 STATSEG_MAX_TABLES);
		return -1;
	}
	struct table *t = &s->tables[s->n_tables++];
	*t = (struct table){ base, d, n, s->h->count };
	for (size_t i = 0; i < n; i++) {
		struct statseg_entry *e = &s->h->e[t->first + i];
		snprintf(e->name, sizeof e->name, "%s", d[i].name);
		snprintf(e->help, sizeof e->help, "%s", d[i].help);
		e->gauge = d[i].gauge;
	}
	s->h->count += (uint32_t)n;
	statseg_update(s);
	return 0;
}

void statseg_update(struct statseg *s)
{
	if (!s)
		return;
	for (size_t t = 0; t < s->n_tables; t++) {
		const struct table *tb = &s->tables[t];
		for (size_t i = 0; i < tb->n; i++)
			atomic_store_explicit(&s->h->e[tb->first + i].value, stat_value(tb->base, &tb->d[i]),
					      memory_order_relaxed);
	}
	atomic_store_explicit(&s->h->updated_ns, ring_now_mono_ns(), memory_order_release);
}

void statseg_log(struct statseg *s)
{
	if (!s)
		return;
	for (size_t t = 0; t < s->n_tables; t++)
		stats_log(s->h->stage, s->tables[t].base, s->tables[t].d, s->tables[t].n);
}

void statseg_close(struct statseg *s)
{
	if (!s)
		return;
	statseg_update(s);
	s->h->finished = 1;
	munmap(s->h, sizeof *s->h);
	free(s);
}

const struct statseg_hdr *statseg_map(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	struct statseg_hdr h;
	if (fstat(fd, &st) < 0 || (size_t)st.st_size != sizeof h ||
	    pread(fd, &h, sizeof h.magic + sizeof h.version + sizeof h.count, 0) <= 0 ||
	    h.magic != STATSEG_MAGIC || h.version != STATSEG_VERSION || h.count > STATSEG_MAX) {
		snprintf(err, errlen, "%s: not a dnstrail statistics file of this version", path);
		close(fd);
		return NULL;
	}
	void *m = mmap(NULL, sizeof h, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		snprintf(err, errlen, "cannot map %s: %s", path, strerror(errno));
		return NULL;
	}
	return m;
}

void statseg_unmap(const struct statseg_hdr *h)
{
	munmap((void *)h, sizeof *h);
}

int statseg_peek(const char *run_dir, const char *stage, const char *name, uint64_t *value)
{
	char path[600], err[700];
	snprintf(path, sizeof path, "%s/%s.stats", run_dir, stage);
	if (access(path, R_OK) != 0)
		return -1;
	const struct statseg_hdr *h = statseg_map(path, err, sizeof err);
	if (!h)
		return -1;
	int rc = -1;
	for (uint32_t i = 0; i < h->count; i++)
		if (!strcmp(h->e[i].name, name)) {
			*value = atomic_load_explicit(&h->e[i].value, memory_order_relaxed);
			rc = 0;
			break;
		}
	statseg_unmap(h);
	return rc;
}

int statseg_predecessor_died(const char *run_dir, const char *stage)
{
	char path[600], err[700];
	snprintf(path, sizeof path, "%s/%s.stats", run_dir, stage);
	if (access(path, R_OK) != 0)
		return 0;
	const struct statseg_hdr *h = statseg_map(path, err, sizeof err);
	if (!h)
		return 0;
	int died = !h->finished && !ring_pid_alive(h->pid);
	statseg_unmap(h);
	return died;
}
