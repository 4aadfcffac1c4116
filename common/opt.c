/*
 * opt.c - option value parsers (see opt.h).
 */
#include "opt.h"

#include "config.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef DNSTRAIL_VERSION
#define DNSTRAIL_VERSION "0.0.0"
#endif

int opt_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	if (!s || !isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int opt_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	if (!s || !isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	unsigned shift = 0;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift)
		end++;
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	v <<= shift;
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int opt_seconds_ns(const char *s, uint64_t min_ns, uint64_t max_ns, uint64_t *out)
{
	if (!s || !isdigit((unsigned char)s[0]))
		return -1;
	uint64_t whole = 0, frac = 0, scale = 1000000000ull;
	const char *p = s;
	for (; isdigit((unsigned char)*p); p++) {
		if (whole > UINT64_MAX / 10 / 1000000000ull)
			return -1;
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		for (; isdigit((unsigned char)*p); p++) {
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*p - '0') * scale;
			}
		}
	}
	if (*p)
		return -1;
	uint64_t ns = whole * 1000000000ull + frac;
	if (ns < min_ns || ns > max_ns)
		return -1;
	*out = ns;
	return 0;
}

int opt_ports(const char *s, uint16_t *out, int max)
{
	int n = 0;
	const char *p = s;
	if (!s || !*s)
		return -1;
	for (;;) {
		char num[8];
		size_t k = strcspn(p, ",");
		if (k == 0 || k >= sizeof num || n >= max - 1)
			return -1;
		memcpy(num, p, k);
		num[k] = 0;
		uint64_t v;
		if (opt_u64(num, 1, 65535, &v) < 0)
			return -1;
		out[n++] = (uint16_t)v;
		if (!p[k])
			break;
		p += k + 1;
	}
	out[n] = 0;
	return n;
}

const char *opt_ring_path(const char *run_dir, const char *name, char *buf, size_t len)
{
	if (strchr(name, '/'))
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "%s/%s", run_dir ? run_dir : DNSTRAIL_RUN_DIR, name);
	return buf;
}

void opt_fail(const char *opt, const char *val, const char *expect)
{
	/* getopt has moved optind past the value: was it from the config file? */
	const char *where = config_origin(optind - 1);
	if (where)
		die(EXIT_USAGE, "%s: invalid value '%s' for %s: expected %s", where, val ? val : "",
		    opt + 2, expect);
	die(EXIT_USAGE, "invalid value '%s' for %s: expected %s", val ? val : "", opt, expect);
}

void opt_ring_size(const char *val, uint64_t *out)
{
	/* 64 KiB and 64 GiB: RING_MIN_CAPACITY and RING_MAX_CAPACITY (ring.h) */
	if (opt_size(val, 64u << 10, 1ull << 36, out) < 0 || (*out & (*out - 1)))
		opt_fail("--ring-size", val, "a power of two from 64K to 64G");
}

void opt_version(void)
{
	printf("%s %s\n", log_prog(), DNSTRAIL_VERSION);
	exit(0);
}
