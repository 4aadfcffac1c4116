/*
 * stats.h - how a module describes its counters so a stage can publish
 * them (dnstrail-ctl status, Prometheus, statsd) without knowing them.
 *
 * A module keeps its counters as plain uint64_t fields of one struct, owned
 * by the single thread of its process, and exposes a table of
 * { name, offsetof(field), help } rows describing them.
 */
#ifndef DNSTRAIL_STATS_H
#define DNSTRAIL_STATS_H

#include <stddef.h>
#include <stdint.h>

struct stat_desc {
	const char *name; /* dotted, lower case: "tcp.evicted_flows" */
	size_t offset; /* offsetof(struct ..._stats, field) */
	const char *help; /* one line for humans and Prometheus HELP */
	int gauge; /* 1: a level that goes up and down; 0: a counter */
};

#define STAT_DESC(type, field, name, help) { name, offsetof(type, field), help, 0 }
#define STAT_GAUGE(type, field, name, help) { name, offsetof(type, field), help, 1 }

static inline uint64_t stat_value(const void *stats, const struct stat_desc *d)
{
	return *(const uint64_t *)((const char *)stats + d->offset);
}

/* One log line "who: name=value ..." with the counters that are not zero. */
void stats_log(const char *who, const void *st, const struct stat_desc *d, size_t n);

/* One log line with this process's CPU time and peak resident memory. */
void stats_log_rusage(void);

#endif
