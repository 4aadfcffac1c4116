/*
 * statseg.h - a stage's counters in shared memory, for dnstrail-ctl.
 *
 * Each stage owns one file <run-dir>/<stage>.stats (capd, decoded.0,
 * correlated, logd ...), mapped shared.  The stage registers its modules'
 * stat tables (stats.h) once and calls statseg_update() now and then (on
 * every batch it publishes, and when idle); the update copies the values
 * with relaxed atomic stores, so a reader sees each counter whole, never
 * torn, without any lock.  Readers map the file read-only and check its
 * header like a ring's.
 */
#ifndef DNSTRAIL_STATSEG_H
#define DNSTRAIL_STATSEG_H

#include "stats.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define STATSEG_MAGIC 0x5354415453544e44ULL /* "DNTSTATS" read little-endian */
#define STATSEG_VERSION 2u
/* Room for the largest stage: logd with its 16 sinks of ~30 counters each.
 * 1024 entries make a 172 KiB file. */
#define STATSEG_MAX 1024
#define STATSEG_MAX_TABLES 32

struct statseg_entry {
	char name[48];
	char help[108];
	uint32_t gauge; /* 1: a level (Prometheus gauge); 0: a counter */
	_Atomic uint64_t value;
};

struct statseg_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t count; /* entries in use */
	char stage[32];
	uint32_t pid;
	uint32_t finished; /* set by statseg_close: the stage ended cleanly */
	_Atomic uint64_t updated_ns; /* CLOCK_MONOTONIC of the last update */
	uint64_t started_ns; /* CLOCK_REALTIME at start */
	struct statseg_entry e[STATSEG_MAX];
};

struct statseg;

/* Create (or take over) <run_dir>/<stage>.stats.  NULL with a reason in err. */
struct statseg *statseg_open(const char *run_dir, const char *stage, char *err, size_t errlen);
/* Register the counters of one module: base is its stats struct.  -1 (and
 * a warning in the log naming the first counter left out) when the segment
 * has no room for them: never a silent gap in what dnstrail-ctl shows. */
int statseg_add(struct statseg *s, const void *base, const struct stat_desc *d, size_t n);
void statseg_update(struct statseg *s);
/* Write every registered counter to the log (SIGUSR1), via stats_log. */
void statseg_log(struct statseg *s);
void statseg_close(struct statseg *s);

/* The value of counter `name` in <run_dir>/<stage>.stats as the last
 * process of that stage left it (a restarted stage learns what its
 * predecessor held when it died).  0 when found. */
int statseg_peek(const char *run_dir, const char *stage, const char *name, uint64_t *value);
/* 1 when <run_dir>/<stage>.stats was left by a process that died (did not
 * reach statseg_close), else 0. */
int statseg_predecessor_died(const char *run_dir, const char *stage);

/* Reader side (dnstrail-ctl): map a .stats file read-only after checking
 * it; returns NULL with a reason in err. */
const struct statseg_hdr *statseg_map(const char *path, char *err, size_t errlen);
void statseg_unmap(const struct statseg_hdr *h);

#endif
