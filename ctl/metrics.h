/*
 * metrics.h - dnstrail-ctl's view of every counter of an instance: the
 * stages' statistics segments (<stage>.stats) and the ring headers, as
 * Prometheus text, JSON, an HTTP listener for scrapes, or statsd pushes.
 */
#ifndef DNSTRAIL_CTL_METRICS_H
#define DNSTRAIL_CTL_METRICS_H

#include <stdint.h>
#include <stdio.h>

/* Prometheus text exposition format (version 0.0.4). */
int metrics_prometheus(const char *run_dir, FILE *out);
/* One line per stage counter: stage, name, value. */
int metrics_text(const char *run_dir, FILE *out);
/* {"stages": {"capd": {"capd.frames": 1, ...}, ...}} */
int metrics_json(const char *run_dir, FILE *out);
/* Serve metrics_prometheus() over HTTP on addr ("127.0.0.1:9853") until
 * killed.  Returns an exit code when it cannot listen. */
int metrics_listen(const char *run_dir, const char *addr);
/* Every interval_s, send the counters' increases (statsd counters) and the
 * gauges to host:port over UDP, named PREFIX.SENSOR.NAME; the names of
 * gopassivedns are used where it had one (packets, packets_dropped ...).
 * Runs until killed, or `rounds` times when rounds > 0. */
int metrics_statsd(const char *run_dir, const char *addr, const char *prefix, const char *sensor,
		   unsigned interval_s, unsigned rounds);

/* The counters `dnstrail-ctl status` shows beside a stage: the few that
 * say whether it is losing anything and how much state it holds (the
 * drops, pending queries, dedup entries, each sink's written/dropped);
 * `stats` has the rest. */
struct metric_kv {
	char name[48];
	uint64_t value;
};
/* Fills up to max of them for stage ("capd", "decoded.0", ...) from its
 * statistics segment; returns how many (0 when it has none). */
int metrics_headline(const char *run_dir, const char *stage, struct metric_kv *kv, int max);

#endif
