/*
 * ring_tool - feed and drain rings around one stage, for `make bench`.
 *
 *   ring_tool replay SRC DST [--capacity BYTES]   copy every record of ring SRC
 *                                                 into ring DST, then mark DST EOF
 *   ring_tool drain RING                          read and discard until EOF
 *
 * With a stage between a replay and a drain, the stage runs in steady state
 * on rings of normal size (they wrap), fed from memory as fast as it can
 * take, and its CPU time measures it alone.
 */
#include "records.h"
#include "ring.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct ring *attach(const char *path, enum ring_role role, uint64_t capacity, uint32_t kind)
{
	char err[600];
	struct ring_create c = { .capacity = capacity, .kind = kind };
	struct ring *r = ring_attach(path, role, role == RING_PRODUCER ? kind : RING_KIND_ANY,
				     capacity ? &c : NULL, err, sizeof err);
	if (!r) {
		fprintf(stderr, "ring_tool: %s\n", err);
		exit(1);
	}
	return r;
}

static int replay(const char *src, const char *dst, uint64_t capacity)
{
	struct ring *in = attach(src, RING_CONSUMER, 0, 0);
	/* The source keeps its records (never released): it can be replayed again. */
	ring_set_manual_release(in, 1);
	struct ring *out = attach(dst, RING_PRODUCER, capacity, ring_header(in)->kind);
	uint64_t n = 0;
	struct ring_view v;
	for (;;) {
		if (!ring_peek(in, &v)) {
			if (ring_error(in)) {
				fprintf(stderr, "ring_tool: %s\n", ring_error(in));
				return 3;
			}
			if (ring_drained(in))
				break;
			ring_wait_data(in, 100);
			continue;
		}
		if (ring_push(out, v.type, v.data, v.len) < 0) {
			fprintf(stderr, "ring_tool: cannot write %s\n", dst);
			return 1;
		}
		ring_next(in);
		if ((++n & 63) == 0)
			ring_publish(out);
	}
	ring_set_eof(out);
	printf("replayed %" PRIu64 " records\n", n);
	ring_detach(out);
	ring_detach(in);
	return 0;
}

static int drain(const char *path)
{
	/* The stage in front creates the ring: wait for it (10 s at most). */
	for (int i = 0; i < 1000 && access(path, F_OK) != 0; i++)
		usleep(10000);
	struct ring *r = attach(path, RING_CONSUMER, 0, RING_KIND_ANY);
	uint64_t n = 0;
	struct ring_view v;
	for (;;) {
		if (!ring_peek(r, &v)) {
			if (ring_drained(r) || ring_error(r))
				break;
			ring_wait_data(r, 100);
			continue;
		}
		ring_next(r);
		if ((++n & 255) == 0)
			ring_release(r);
	}
	printf("drained %" PRIu64 " records\n", n);
	ring_detach(r);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "replay")) {
		uint64_t cap = 64u << 20;
		if (argc == 6 && !strcmp(argv[4], "--capacity"))
			cap = strtoull(argv[5], NULL, 10);
		return replay(argv[2], argv[3], cap);
	}
	if (argc == 3 && !strcmp(argv[1], "drain"))
		return drain(argv[2]);
	fprintf(stderr, "usage: ring_tool replay SRC DST [--capacity BYTES] | drain RING\n");
	return 1;
}
