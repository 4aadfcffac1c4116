/*
 * opt.h - strict parsing of option values shared by every stage.
 *
 * Each parser accepts the whole string or nothing: "12x", "", " 5" and
 * values outside [min, max] are refused, and the caller reports the option
 * by name with exit code 2 (opt_fail).
 */
#ifndef DNSTRAIL_OPT_H
#define DNSTRAIL_OPT_H

#include <stddef.h>
#include <stdint.h>
#include <stdnoreturn.h>

int opt_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* A byte size with an optional K, M or G suffix (powers of 1024). */
int opt_size(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Seconds, possibly fractional ("0.5"), to nanoseconds. */
int opt_seconds_ns(const char *s, uint64_t min_ns, uint64_t max_ns, uint64_t *out);
/* A comma-separated list of ports ("53,5353"): 1..65535, at most max-1 of
 * them, written 0-terminated into out. */
int opt_ports(const char *s, uint16_t *out, int max);
noreturn void opt_fail(const char *opt, const char *val, const char *expect);

noreturn void opt_version(void);
/* --ring-size: a power of two between the ring's limits, or exit 2. */
void opt_ring_size(const char *val, uint64_t *out);

/* Ring names without a '/' live in the run directory. */
#define DNSTRAIL_RUN_DIR "/dev/shm/dnstrail"
const char *opt_ring_path(const char *run_dir, const char *name, char *buf, size_t len);

#endif
