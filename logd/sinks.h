/*
 * sinks.h - the sink kinds logd knows, how the command line describes one
 * (struct sink_spec, filled by cli.c), and their constructors.  A new kind
 * adds a value, a constructor and a file; the loop does not change.
 */
#ifndef DNSTRAIL_LOGD_SINKS_H
#define DNSTRAIL_LOGD_SINKS_H

#include "netconn.h"
#include "sink.h"
#include "state.h"

#include <stdint.h>

enum sink_kind { SINK_FILE, SINK_STDOUT, SINK_SYSLOG, SINK_FLUENTD, SINK_KAFKA };

#define SINK_MAX_WRITE (1u << 20) /* bytes per write operation */

struct sink_spec {
	enum sink_kind kind;
	char text[300]; /* the --sink argument, for messages */
	char path[STATE_PATH_MAX];
	uint64_t queue_bytes; /* size= */
	uint64_t stall_ns; /* stall= */
	uint64_t wait_ns; /* wait= */
	uint64_t max_size; /* max-size=, 0: no rotation by size */
	uint64_t rotate_every_ns; /* rotate-every=, 0: no rotation by time */
	unsigned max_files; /* max-files= */
	int gzip;
	struct net_spec net; /* syslog and fluentd: address (path holds its text), options */
};

/* start_pos: the ring position reading starts from.  max_line: longest
 * line logd can write (used when repairing a file after a crash). */
int sink_file_create(struct sink *s, const struct sink_spec *sp, uint64_t start_pos,
		     size_t max_line);
int sink_stdout_create(struct sink *s, const struct sink_spec *sp, uint64_t start_pos);
/* sink_kafka.h has the rest of the Kafka sink (its spec and options). */
int sink_kafka_create(struct sink *s, const struct sink_spec *sp, uint64_t start_pos);
int sink_syslog_create(struct sink *s, const struct sink_spec *sp, uint64_t start_pos);
int sink_fluentd_create(struct sink *s, const struct sink_spec *sp, uint64_t start_pos);

/* Their spec: sink_*_address sets the defaults and parses "unix:PATH",
 * "udp:HOST:PORT" (syslog only) or "tcp:HOST:PORT"; sink_*_option one
 * "key" or "key=value" (val NULL for a bare key).  Both return 0, or -1
 * with what was expected in why.  An option the kind does not know gives
 * -1 with *unknown set. */
int sink_syslog_address(struct sink_spec *sp, const char *addr, char *why, size_t whylen);
int sink_syslog_option(struct sink_spec *sp, const char *key, const char *val, int *unknown,
		       char *why, size_t whylen);
int sink_fluentd_address(struct sink_spec *sp, const char *addr, char *why, size_t whylen);
int sink_fluentd_option(struct sink_spec *sp, const char *key, const char *val, int *unknown,
			char *why, size_t whylen);

/* File sinks only: apply the recovery entry found in the state file (or
 * NULL) once the file is open - truncate what was written after the
 * recorded position and skip the records the file already holds.  tail and
 * head are the ring's: an entry past head cannot be for this ring, and one
 * before tail describes records the ring no longer has. */
int sink_is_file(const struct sink *s);
void sink_file_recover(struct sink *s, const struct state_entry *e, uint64_t tail,
		       uint64_t head);
/* Fills e with the sink's recovery entry; returns 1 if it changed since the
 * last call, 0 if not, -1 when the sink has none (not a regular file). */
int sink_file_state(struct sink *s, struct state_entry *e);

#endif
