/*
 * dnstrail-ctl - look at a running (or finished) dnstrail instance without
 * disturbing it.
 *
 *   dnstrail-ctl status [--run-dir DIR] [--json]   stages, their headline counters, rings
 *   dnstrail-ctl dump RING [--run-dir DIR] [--count N] [--follow]
 *   dnstrail-ctl stats [--prometheus | --json] [--listen ADDR] [--statsd HOST:PORT ...]
 *
 * Everything comes from the run directory: the ring headers (each side's
 * pid, heartbeat and counters) and each stage's statistics segment.
 * Nothing is written.
 */
#include "config.h"
#include "dump.h"
#include "metrics.h"
#include "log.h"
#include "opt.h"
#include "rings.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct ring_info infos[CTL_MAX_RINGS];

struct side {
	uint32_t pid;
	int alive;
	int64_t age_ms;
	uint64_t starts;
};

static void side_of(const struct ring_info *ri, int producer, struct side *s)
{
	const struct ring_hdr *h = &ri->hdr;
	s->pid = producer ? h->producer_pid : h->consumer_pid;
	s->alive = ring_pid_alive(s->pid);
	s->age_ms = heartbeat_age_ms(ri->now_mono_ns,
				     producer ? h->producer_heartbeat_ns : h->consumer_heartbeat_ns);
	s->starts = producer ? h->producer_starts : h->consumer_starts;
}

/* Stage names follow the launcher's ring names: capd writes cap.K, decoder K
 * reads cap.K, correlated reads dec.*, logd reads log. */
static int stage_of(const struct ring_info *ri, int producer, char *buf, size_t len)
{
	if (!strncmp(ri->name, "cap.", 4)) {
		if (producer)
			snprintf(buf, len, "capd");
		else
			snprintf(buf, len, "decoded.%s", ri->name + 4);
		return !producer || !strcmp(ri->name, "cap.0");
	}
	if (!strncmp(ri->name, "dec.", 4)) {
		if (producer)
			return 0; /* the decoder, already listed from cap.K */
		snprintf(buf, len, "correlated");
		return !strcmp(ri->name, "dec.0");
	}
	if (!strcmp(ri->name, "log")) {
		snprintf(buf, len, producer ? "correlated" : "logd");
		return !producer;
	}
	return 0;
}

static const char *state(const struct side *s)
{
	return !s->pid ? "none" : s->alive ? "alive" : "dead";
}

/* Each stage's headline counters (metrics_headline), a line each. */
static void print_headlines(const char *dir, int n)
{
	int first = 1;
	for (int i = 0; i < n; i++) {
		for (int producer = 1; producer >= 0; producer--) {
			char name[64];
			struct metric_kv kv[64];
			if (infos[i].error[0] || !stage_of(&infos[i], producer, name, sizeof name))
				continue;
			int k = metrics_headline(dir, name, kv, 64);
			if (!k)
				continue;
			if (first)
				printf("\n%-14s %s\n", "STAGE", "COUNTERS (all of them: dnstrail-ctl stats)");
			first = 0;
			printf("%-14s", name);
			for (int j = 0; j < k; j++)
				printf(" %s=%" PRIu64, kv[j].name, kv[j].value);
			printf("\n");
		}
	}
}

static void print_human(const char *dir, int n)
{
	printf("%-14s %-8s %-6s %s\n", "STAGE", "PID", "STATE", "HEARTBEAT");
	for (int i = 0; i < n; i++) {
		for (int producer = 1; producer >= 0; producer--) {
			char name[64];
			if (infos[i].error[0] || !stage_of(&infos[i], producer, name, sizeof name))
				continue;
			struct side s;
			side_of(&infos[i], producer, &s);
			char age[32] = "-";
			if (s.age_ms >= 0)
				snprintf(age, sizeof age, "%" PRId64 "ms ago", s.age_ms);
			printf("%-14s %-8u %-6s %s\n", name, s.pid, state(&s), age);
		}
	}
	print_headlines(dir, n);
	printf("\n%-10s %-12s %6s %12s %12s %10s %10s %-16s %-16s %s\n", "RING", "KIND", "FILL",
	       "IN", "OUT", "DROPPED", "FULL-WAIT", "PRODUCER", "CONSUMER", "EOF");
	for (int i = 0; i < n; i++) {
		const struct ring_info *ri = &infos[i];
		if (ri->error[0]) {
			printf("%-10s unusable: %s\n", ri->name, ri->error);
			continue;
		}
		const struct ring_hdr *h = &ri->hdr;
		struct side p, c;
		side_of(ri, 1, &p);
		side_of(ri, 0, &c);
		char ps[32], cs[32];
		snprintf(ps, sizeof ps, "%u %s", p.pid, state(&p));
		snprintf(cs, sizeof cs, "%u %s", c.pid, state(&c));
		double fill = 100.0 * (double)(h->head - h->tail) / (double)h->capacity;
		printf("%-10s %-12s %5.1f%% %12" PRIu64 " %12" PRIu64 " %10" PRIu64 " %10" PRIu64
		       " %-16s %-16s %s\n",
		       ri->name, ring_kind_name(h->kind), fill, (uint64_t)h->records_in,
		       (uint64_t)h->records_out, (uint64_t)h->dropped, (uint64_t)h->full_waits, ps, cs,
		       h->eof ? "yes" : "no");
	}
}

static json_object *side_json(const struct side *s)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "pid", json_object_new_int64(s->pid));
	json_object_object_add(o, "state", json_object_new_string(state(s)));
	json_object_object_add(o, "heartbeat_age_ms",
			       s->age_ms >= 0 ? json_object_new_int64(s->age_ms) : NULL);
	json_object_object_add(o, "starts", json_object_new_int64((int64_t)s->starts));
	return o;
}

static void print_json(const char *dir, int n)
{
	json_object *root = json_object_new_object(), *stages = json_object_new_array(),
		    *rings = json_object_new_array();
	json_object_object_add(root, "run_dir", json_object_new_string(dir));
	for (int i = 0; i < n; i++) {
		const struct ring_info *ri = &infos[i];
		json_object *r = json_object_new_object();
		json_object_object_add(r, "name", json_object_new_string(ri->name));
		if (ri->error[0]) {
			json_object_object_add(r, "error", json_object_new_string(ri->error));
			json_object_array_add(rings, r);
			continue;
		}
		const struct ring_hdr *h = &ri->hdr;
		struct side p, c;
		side_of(ri, 1, &p);
		side_of(ri, 0, &c);
#define U64(k, v) json_object_object_add(r, k, json_object_new_uint64(v))
		json_object_object_add(r, "kind", json_object_new_string(ring_kind_name(h->kind)));
		U64("capacity", h->capacity);
		U64("used", h->head - h->tail);
		U64("records_in", h->records_in);
		U64("records_out", h->records_out);
		U64("bytes_in", h->bytes_in);
		U64("bytes_out", h->bytes_out);
		U64("dropped", h->dropped);
		U64("dropped_bytes", h->dropped_bytes);
		U64("full_waits", h->full_waits);
		U64("empty_waits", h->empty_waits);
#undef U64
		json_object_object_add(r, "eof", json_object_new_boolean(h->eof != 0));
		json_object_object_add(r, "producer", side_json(&p));
		json_object_object_add(r, "consumer", side_json(&c));
		json_object_array_add(rings, r);
		for (int producer = 1; producer >= 0; producer--) {
			char name[64];
			if (!stage_of(ri, producer, name, sizeof name))
				continue;
			json_object *s = side_json(producer ? &p : &c);
			json_object_object_add(s, "stage", json_object_new_string(name));
			struct metric_kv kv[64];
			int k = metrics_headline(dir, name, kv, 64);
			json_object *counters = json_object_new_object();
			for (int j = 0; j < k; j++)
				json_object_object_add(counters, kv[j].name, json_object_new_uint64(kv[j].value));
			json_object_object_add(s, "counters", counters);
			json_object_array_add(stages, s);
		}
	}
	json_object_object_add(root, "stages", stages);
	json_object_object_add(root, "rings", rings);
	puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: dnstrail-ctl status [--run-dir DIR] [--json]\n"
		   "       dnstrail-ctl dump RING [--run-dir DIR] [--count N] [--follow]\n"
		   "       dnstrail-ctl stats [--run-dir DIR] [--prometheus | --json]\n"
		   "       dnstrail-ctl stats --listen 127.0.0.1:9853   serve Prometheus scrapes\n"
		   "       dnstrail-ctl stats --statsd HOST:PORT [--interval SEC] [--prefix P]\n"
		   "                          [--sensor NAME] [--rounds N]   push to statsd\n"
		   "       dnstrail-ctl --version\n"
		   "Run directory default: %s\n", DNSTRAIL_RUN_DIR);
}

int main(int argc, char **argv)
{
	log_init("dnstrail-ctl");
	const char *run_dir = DNSTRAIL_RUN_DIR;
	int json = 0, follow = 0, prometheus = 0;
	uint64_t count = UINT64_MAX, interval = 5, rounds = 0;
	const char *listen_addr = NULL, *statsd = NULL, *prefix = "dnstrail", *sensor = NULL;
	enum { O_RUNDIR = 256, O_JSON, O_COUNT, O_FOLLOW, O_VERSION, O_HELP, O_PROM, O_LISTEN,
	       O_STATSD, O_INTERVAL, O_PREFIX, O_SENSOR, O_ROUNDS };
	static const struct option lo[] = {
		{ "run-dir", 1, 0, O_RUNDIR }, { "json", 0, 0, O_JSON }, { "count", 1, 0, O_COUNT },
		{ "follow", 0, 0, O_FOLLOW }, { "version", 0, 0, O_VERSION }, { "help", 0, 0, O_HELP },
		{ "prometheus", 0, 0, O_PROM }, { "listen", 1, 0, O_LISTEN }, { "statsd", 1, 0, O_STATSD },
		{ "interval", 1, 0, O_INTERVAL }, { "prefix", 1, 0, O_PREFIX }, { "sensor", 1, 0, O_SENSOR },
		{ "rounds", 1, 0, O_ROUNDS }, { 0, 0, 0, 0 },
	};
	config_apply("ctl", lo, NULL, &argc, &argv);
	int ch;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
		switch (ch) {
		case O_RUNDIR: run_dir = optarg; break;
		case O_JSON: json = 1; break;
		case O_COUNT:
			if (opt_u64(optarg, 1, UINT64_MAX, &count) < 0)
				opt_fail("--count", optarg, "a positive number");
			break;
		case O_FOLLOW: follow = 1; break;
		case O_PROM: prometheus = 1; break;
		case O_LISTEN: listen_addr = optarg; break;
		case O_STATSD: statsd = optarg; break;
		case O_INTERVAL:
			if (opt_u64(optarg, 1, 86400, &interval) < 0)
				opt_fail("--interval", optarg, "seconds from 1 to 86400");
			break;
		case O_PREFIX: prefix = optarg; break;
		case O_SENSOR: sensor = optarg; break;
		case O_ROUNDS:
			if (opt_u64(optarg, 1, 1000000, &rounds) < 0)
				opt_fail("--rounds", optarg, "a number from 1 to 1000000");
			break;
		case O_VERSION: opt_version();
		case O_HELP: usage(stdout); return 0;
		case ':': die(EXIT_USAGE, "option %s needs a value (see --help)", argv[optind - 1]);
		default: die(EXIT_USAGE, "unknown option %s (see --help)", argv[optind - 1]);
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[optind++];
	if (!strcmp(cmd, "status")) {
		if (optind < argc)
			die(EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
		int n = rings_scan(run_dir, infos, CTL_MAX_RINGS);
		if (n < 0)
			die(1, "cannot read run directory %s: %s (is dnstrail running with this "
			       "--run-dir?)", run_dir, strerror(errno));
		if (json)
			print_json(run_dir, n);
		else if (n == 0)
			printf("no rings in %s: nothing has run there\n", run_dir);
		else
			print_human(run_dir, n);
		return 0;
	}
	if (!strcmp(cmd, "stats")) {
		if (optind < argc)
			die(EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
		if (listen_addr)
			return metrics_listen(run_dir, listen_addr);
		if (statsd) {
			char host[256];
			if (!sensor) {
				gethostname(host, sizeof host);
				host[sizeof host - 1] = 0;
				sensor = host;
			}
			return metrics_statsd(run_dir, statsd, prefix, sensor, (unsigned)interval,
					      (unsigned)rounds);
		}
		int rc = prometheus ? metrics_prometheus(run_dir, stdout)
			 : json	    ? metrics_json(run_dir, stdout)
				    : metrics_text(run_dir, stdout);
		if (rc < 0)
			die(1, "cannot read run directory %s: %s", run_dir, strerror(errno));
		return 0;
	}
	if (!strcmp(cmd, "dump")) {
		if (optind != argc - 1)
			die(EXIT_USAGE, "dump needs exactly one ring name (see --help)");
		char path[512];
		return dump_ring(opt_ring_path(run_dir, argv[optind], path, sizeof path), count, follow,
				 stdout);
	}
	die(EXIT_USAGE, "unknown command '%s' (see --help)", cmd);
}
