/*
 * stats.c - writing a module's counters to the log (see stats.h).
 */
#include "stats.h"

#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <sys/resource.h>

void stats_log(const char *who, const void *st, const struct stat_desc *d, size_t n)
{
	char line[2048];
	size_t off = 0;
	for (size_t i = 0; i < n && off < sizeof line; i++) {
		uint64_t v = stat_value(st, &d[i]);
		if (v)
			off += (size_t)snprintf(line + off, sizeof line - off, " %s=%" PRIu64, d[i].name, v);
	}
	if (off)
		log_info("%s:%s", who, line);
}

void stats_log_rusage(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return;
	log_info("cpu user=%ld.%03lds sys=%ld.%03lds peak_rss=%ldKiB", (long)ru.ru_utime.tv_sec,
		 (long)ru.ru_utime.tv_usec / 1000, (long)ru.ru_stime.tv_sec,
		 (long)ru.ru_stime.tv_usec / 1000, ru.ru_maxrss);
}
