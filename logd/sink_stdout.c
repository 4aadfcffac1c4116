/*
 * sink_stdout.c - the stdout sink: the shared queue and writes on fd 1.
 *
 * stdout may be a pipe, a terminal or a file; it cannot be truncated or
 * reopened, so a short write simply continues where it stopped (the stream
 * stays whole), and after a crash lines may be written again (at least
 * once, where file sinks are exactly once).  A reader that stops reading
 * blocks the write: after stall= seconds the sink drops its records rather
 * than hold the ring.
 */
#include "sinks.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int stdout_open(struct sink *s, char *err, size_t errlen)
{
	if (fcntl(STDOUT_FILENO, F_GETFL) < 0) {
		snprintf(err, errlen, "sink %s: standard output is not open: %s", s->name,
			 strerror(errno));
		return -1;
	}
	s->fd = STDOUT_FILENO;
	return 0;
}

static const struct sink_ops stdout_ops = {
	.kind = "stdout",
	.open = stdout_open,
};

int sink_stdout_create(struct sink *s, const struct sink_spec *sp, uint64_t start_pos)
{
	return sink_init(s, &stdout_ops, sp->text, sp->queue_bytes, SINK_MAX_WRITE, sp->stall_ns,
			 sp->wait_ns, start_pos);
}
