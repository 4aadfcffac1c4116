/*
 * rings.c - run directory scanning for dnstrail-ctl (see rings.h).
 *
 * Headers are read with pread(), never mapped: a status query costs the
 * stages nothing and works on rings of any size.
 */
#include "rings.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *ring_kind_name(uint32_t kind)
{
	switch (kind) {
	case RING_KIND_FRAMES: return "frames";
	case RING_KIND_MESSAGES: return "messages";
	case RING_KIND_TRANSACTIONS: return "transactions";
	case RING_KIND_TEST: return "test";
	default: return "?";
	}
}

int64_t heartbeat_age_ms(uint64_t now, uint64_t beat)
{
	if (!beat)
		return -1;
	return now > beat ? (int64_t)((now - beat) / 1000000u) : 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct ring_info *)a)->name, ((const struct ring_info *)b)->name);
}

int rings_scan(const char *dir, struct ring_info *out, int max)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < max) {
		if (e->d_name[0] == '.' || strstr(e->d_name, ".new.") || strstr(e->d_name, ".stats") ||
		    strstr(e->d_name, ".state") || strstr(e->d_name, ".ckpt"))
			continue;
		struct ring_info *ri = &out[n];
		memset(ri, 0, sizeof *ri);
		snprintf(ri->name, sizeof ri->name, "%s", e->d_name);
		snprintf(ri->path, sizeof ri->path, "%s/%s", dir, e->d_name);
		struct stat st;
		if (stat(ri->path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		int fd = open(ri->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			snprintf(ri->error, sizeof ri->error, "cannot open: %s", strerror(errno));
		} else {
			ring_check_file(fd, ri->path, &ri->hdr, ri->error, sizeof ri->error);
			close(fd);
		}
		ri->now_mono_ns = ring_now_mono_ns();
		n++;
	}
	closedir(d);
	qsort(out, (size_t)n, sizeof *out, by_name);
	return n;
}
