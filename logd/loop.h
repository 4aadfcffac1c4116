/*
 * loop.h - logd's single io_uring event loop: read the ring in batches,
 * format once, fan out to every sink's queue, write, reap, release.
 */
#ifndef DNSTRAIL_LOGD_LOOP_H
#define DNSTRAIL_LOGD_LOOP_H

#include "cli.h"
#include "format.h"
#include "ringio.h"
#include "sink.h"
#include "state.h"
#include "statseg.h"

#include <liburing.h>
#include <signal.h>

struct logd_stats {
	uint64_t records_read; /* REC_TXN records formatted */
	uint64_t records_invalid; /* failed rec_txn_check: skipped */
	uint64_t records_foreign; /* not REC_TXN: skipped */
	uint64_t records_oversize; /* output larger than --max-output: skipped */
	uint64_t lines, bytes; /* formatted, before fan-out */
	uint64_t batches;
	uint64_t state_writes;
};

extern const struct stat_desc logd_stat_desc[];
extern const size_t logd_stat_count;

/* Flags the signal handlers raise (main.c owns them). */
struct logd_signals {
	volatile sig_atomic_t *stop, *hup, *usr1;
};

struct logd {
	const struct logd_config *cfg;
	const struct logd_signals *sig;
	struct ring *ring;
	struct ringio rio;
	struct io_uring uring;
	int uring_ready;
	struct fmt fmt;
	struct batch batch;
	struct sink sinks[LOGD_MAX_SINKS];
	unsigned nsinks;
	struct state state;
	int have_state;
	struct state_entry entries[STATE_MAX_ENTRIES];
	unsigned inflight; /* writes submitted, not reaped */
	uint64_t last_heartbeat, last_invalid_log;
	int exit_code;
	struct logd_stats st;
	struct statseg *stats; /* counters for dnstrail-ctl (NULL if unavailable) */
	struct stat_desc *sink_desc; /* per sink: "sink.N.name" rows */
	char (*sink_names)[48];
};

/* Attaches (or creates) the ring, opens the sinks, applies recovery.  Dies
 * with a clear message on failure. */
void logd_open(struct logd *L, const struct logd_config *cfg, const struct logd_signals *sig);
/* Runs until the stream ends or a stop signal has been served; returns the
 * exit code. */
int logd_run(struct logd *L);
/* Logs the counters. */
void logd_log_stats(struct logd *L);
void logd_close(struct logd *L);

#endif
