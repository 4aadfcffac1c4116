/*
 * rings.h - what dnstrail-ctl learns from a run directory: its rings, read
 * through their headers only (no stage is disturbed: nothing is written).
 */
#ifndef DNSTRAIL_CTL_RINGS_H
#define DNSTRAIL_CTL_RINGS_H

#include "ring.h"

#include <stdint.h>

#define CTL_MAX_RINGS 256

struct ring_info {
	char name[256];
	char path[600];
	struct ring_hdr hdr; /* a snapshot */
	uint64_t now_mono_ns; /* when the snapshot was taken */
	char error[600]; /* non-empty: not a usable ring (the reason) */
};

/* Snapshot every ring file in dir, sorted by name.  Returns how many, or -1
 * with errno when the directory cannot be read. */
int rings_scan(const char *dir, struct ring_info *out, int max);
const char *ring_kind_name(uint32_t kind);
/* Heartbeat age in milliseconds, or -1 when there never was one. */
int64_t heartbeat_age_ms(uint64_t now_mono_ns, uint64_t beat_ns);

#endif
