/*
 * cli.c - option parsing for dnstrail-logd (cli.h).  Every value goes
 * through common/opt.h's strict parsers; every refusal names the option,
 * the value and what was expected, and exits 2.
 */
#include "cli.h"

#include "config.h"
#include "log.h"
#include "opt.h"
#include "sink_kafka.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS 1000000000ull

static void usage(void)
{
	printf(
"Usage: dnstrail-logd --in RING --sink SPEC [--sink SPEC ...] [options]\n"
"\n"
"Reads DNS transactions from the log ring and writes them to every sink.\n"
"\n"
"  --in NAME|PATH       the ring to read; a NAME (no '/') lives in --run-dir.\n"
"                       logd starts first, so it creates the ring when missing\n"
"  --run-dir DIR        run directory (default " LOGD_RUN_DIR ")\n"
"  --ring-size BYTES    capacity of a ring logd creates: a power of two, with an\n"
"                       optional K, M or G suffix (default 16M)\n"
"  --sink SPEC          an output; repeat for several (at most %d):\n"
"      file:PATH[,OPTION...]  append to PATH (PATH without ',', < %d bytes)\n"
"          max-size=BYTES     rotate before a write would take the file past BYTES\n"
"                             (a file only exceeds it by a single batch if BYTES is\n"
"                             smaller than one)\n"
"          rotate-every=SECS  rotate when the file is SECS old (fractions allowed)\n"
"          max-files=N        rotated files kept, PATH.1 newest (default 10)\n"
"          gzip               compress rotated files to PATH.N.gz, in a child process\n"
"          size=BYTES         this sink's queue (default 4M)\n"
"          wait=SECS          while the queue is full logd stops reading the ring (the\n"
"                             producer waits); after SECS (default 1, fractions\n"
"                             allowed, 0: at once) the sink is declared lagging and\n"
"                             drops, counted, until its queue has drained, so it no\n"
"                             longer holds the other sinks or the ring back\n"
"          stall=SECS         a write pending this long makes the sink drop records\n"
"                             instead of holding the ring (default 30)\n"
"      stdout[,size=BYTES][,wait=SECS][,stall=SECS]   standard output (stall\n"
"                             default 10)\n"
"      kafka:BROKERS/TOPIC[,OPTION...]  one Kafka message per output line (json:\n"
"                             per RR; transaction: per transaction; passivedns: per\n"
"                             line), the line without its newline, keyed by the\n"
"                             question name (passivedns: by the line's query field)\n"
"                             so a domain stays on one partition.  BROKERS:\n"
"                             HOST[:PORT],...\n"
"                             (IPv6 in brackets); both BROKERS and TOPIC are required,\n"
"                             e.g. kafka:10.0.0.1:9092,10.0.0.2:9092/dns,linger=0.05\n"
"          acks=all|1|0       acknowledgement the brokers give (default all)\n"
"          linger=SECS        wait up to SECS to fill a batch (default 0.005)\n"
"          compression=C      none, gzip, snappy, lz4 (default) or zstd\n"
"          batch=BYTES        largest batch per partition request (default 1000000)\n"
"          timeout=SECS       a message not acknowledged within SECS (default 30) is\n"
"                             counted failed (delivery_failed) and dropped\n"
"          max-message=BYTES  largest message (default 1000000); a longer line fails\n"
"          messages=N         messages handed to librdkafka and not yet reported,\n"
"                             at most (default 100000); beyond, lines wait in the queue\n"
"          idempotence        no duplicates from librdkafka's own retries (needs\n"
"                             acks=all)\n"
"          properties=FILE    librdkafka settings, name=value per line (TLS, SASL,\n"
"                             debug...); the options above win over the file\n"
"          size=, wait=       as for files: the queue holds lines until their\n"
"                             delivery report; a full queue lags after wait=\n"
"          stall=SECS         no delivery report for SECS while messages are out:\n"
"                             drop instead of holding the ring (default timeout+30)\n"
"      syslog:unix:PATH | syslog:udp:HOST:PORT | syslog:tcp:HOST:PORT[,OPTION...]\n"
"                             RFC 5424, one message per line (no BOM; time: the\n"
"                             record's, to the microsecond): datagrams on a unix\n"
"                             socket (/dev/log), one UDP datagram each (a longer\n"
"                             one is dropped and counted), or TCP with octet\n"
"                             counting (RFC 6587)\n"
"          facility=NAME|N    default local0\n"
"          severity=NAME|N    default info\n"
"          app-name=NAME      default dnstrail\n"
"          size=, wait=, stall=   as for files\n"
"      fluentd:unix:PATH | fluentd:tcp:HOST:PORT[,OPTION...]\n"
"                             Fluentd Forward protocol, Forward mode: chunks of\n"
"                             [time, record], record = the json or transaction\n"
"                             object, or {\"message\": LINE} for passivedns\n"
"          tag=TAG            default dnstrail\n"
"          require-ack        a chunk counts as written once the peer acks it;\n"
"                             unacked chunks are sent again after a reconnect\n"
"          size=, wait=, stall=   as for files\n"
"      Socket sinks connect in the background, reconnect with backoff (0.1 s\n"
"      doubling to 30 s) and send again, whole, every message the peer had not\n"
"      acknowledged; down for wait= seconds they drop new records (counted).\n"
"  --format FORMAT      json (default; one object per RR), transaction (one object\n"
"                       per transaction), passivedns (ts||client||server||class||\n"
"                       query||type||answer||ttl||count)\n"
"  --sensor NAME        add \"sensor\" to json/transaction records (<= %d bytes)\n"
"  --max-output BYTES   largest output of one transaction (default 8M); a bigger one\n"
"                       is dropped and counted\n"
"  --user USER          when started as root, become USER before opening anything\n"
"  --allow-root         run as root without --user\n"
"  --check-options      check the options and configuration, then exit\n"
"  --config FILE        configuration file, sections [dnstrail] and [logd]\n"
"                       (default " DNSTRAIL_CONFIG " when it exists)\n"
"  --version            print the version\n"
"  --help               this text\n"
"\n"
"Signals: SIGTERM/SIGINT drain what the ring holds, flush every sink and exit 0;\n"
"SIGHUP reopens files (after logrotate moved them); SIGUSR1 logs the counters.\n"
"logd also exits 0 once the producer has ended the stream and all is written.\n"
"File sinks are exactly-once across crashes: RING.logd.state, next to the ring,\n"
"records how far each file got, so a restarted logd neither loses nor repeats a\n"
"line.  stdout is at-least-once, and so is Kafka: the ring keeps a record until\n"
"every line of it has its delivery report, so a restart may send again records\n"
"that were acknowledged, never loses one that was not.\n",
	       LOGD_MAX_SINKS, STATE_PATH_MAX, FMT_SENSOR_MAX);
	exit(0);
}

static _Noreturn void bad_sink(const char *spec, const char *fmt, const char *a, const char *b)
{
	char why[512];
	snprintf(why, sizeof why, fmt, a, b);
	die(EXIT_USAGE, "invalid --sink '%s': %s", spec, why);
}

/* One option of a sink spec: "key" or "key=value".  Returns 1 for
 * max-files, which needs rotation to mean anything. */
static int sink_option(struct sink_spec *sp, const char *spec, char *opt)
{
	char *val = strchr(opt, '=');
	if (val)
		*val++ = 0;
	int file = sp->kind == SINK_FILE;
	const char *expect = NULL;
	int bad = 0;
	char why[300];
	if (!strcmp(opt, "size") && val) {
		expect = "a queue size between 64K and 1G, e.g. 16M";
		bad = opt_size(val, 64 << 10, 1 << 30, &sp->queue_bytes);
	} else if (!strcmp(opt, "wait") && val) {
		expect = "seconds between 0 and 3600";
		bad = opt_seconds_ns(val, 0, 3600 * NS, &sp->wait_ns);
	} else if (!strcmp(opt, "stall") && val) {
		expect = "seconds between 1 and 86400";
		bad = opt_seconds_ns(val, NS, 86400 * NS, &sp->stall_ns);
	} else if (file && !strcmp(opt, "max-size") && val) {
		expect = "a size between 4K and 1T, e.g. 100M";
		bad = opt_size(val, 4 << 10, 1ull << 40, &sp->max_size);
	} else if (file && !strcmp(opt, "rotate-every") && val) {
		expect = "seconds between 1 and 31622400, e.g. 3600";
		bad = opt_seconds_ns(val, NS, 31622400 * NS, &sp->rotate_every_ns);
	} else if (file && !strcmp(opt, "max-files") && val) {
		uint64_t n;
		expect = "a number between 1 and 1000";
		bad = opt_u64(val, 1, 1000, &n);
		sp->max_files = (unsigned)n;
		if (!bad)
			return 1;
	} else if (file && !strcmp(opt, "gzip") && !val) {
		sp->gzip = 1;
	} else if (sp->kind == SINK_SYSLOG || sp->kind == SINK_FLUENTD) {
		int unknown;
		bad = (sp->kind == SINK_SYSLOG ? sink_syslog_option : sink_fluentd_option)(
			sp, opt, val, &unknown, why, sizeof why) < 0;
		if (unknown)
			bad_sink(spec, "unknown option '%s' (%s)", opt, why);
		expect = why;
	} else {
		bad_sink(spec, file ? "unknown option '%s'%s (file sinks take max-size=, rotate-every=, "
				      "max-files=, gzip, size=, wait=, stall=)"
				    : "unknown option '%s'%s (stdout takes size=, wait=, stall=)",
			 opt, val ? "=..." : "");
	}
	if (bad) {
		char what[700];
		snprintf(what, sizeof what, "%s in --sink '%s'", opt, spec);
		opt_fail(what, val, expect);
	}
	return 0;
}

static void parse_sink(struct logd_config *c, const char *spec)
{
	if (c->nsinks == LOGD_MAX_SINKS)
		die(EXIT_USAGE, "too many --sink options: at most %d", LOGD_MAX_SINKS);
	struct sink_spec *sp = &c->sinks[c->nsinks];
	memset(sp, 0, sizeof *sp);
	if (strlen(spec) >= sizeof sp->text)
		die(EXIT_USAGE, "--sink argument too long (%zu bytes)", strlen(spec));
	snprintf(sp->text, sizeof sp->text, "%s", spec);
	sp->queue_bytes = 4 << 20;
	sp->wait_ns = NS;
	sp->max_files = 10;
	char buf[sizeof sp->text];
	snprintf(buf, sizeof buf, "%s", spec);
	char *rest = NULL;
	if (!strncmp(buf, "file:", 5)) {
		sp->kind = SINK_FILE;
		sp->stall_ns = 30 * NS;
		char *path = buf + 5;
		rest = strchr(path, ',');
		if (rest)
			*rest++ = 0;
		if (!*path)
			bad_sink(spec, "empty path%s%s", "", "");
		size_t plen = strlen(path);
		if (plen >= sizeof sp->path)
			bad_sink(spec, "path longer than %s%s bytes", "255", "");
		memcpy(sp->path, path, plen + 1);
	} else if (!strncmp(buf, "stdout", 6) && (buf[6] == 0 || buf[6] == ',')) {
		sp->kind = SINK_STDOUT;
		sp->stall_ns = 10 * NS;
		rest = buf[6] ? buf + 7 : NULL;
	} else if (!strncmp(buf, "kafka:", 6)) {
		sp->kind = SINK_KAFKA;
		struct kafka_opts ko;
		char why[400];
		if (kafka_spec_parse(spec, &ko, sp, why, sizeof why) < 0)
			bad_sink(spec, "%s%s", why, "");
	} else if (!strncmp(buf, "syslog:", 7) || !strncmp(buf, "fluentd:", 8)) {
		int syslog = buf[0] == 's';
		sp->kind = syslog ? SINK_SYSLOG : SINK_FLUENTD;
		sp->stall_ns = 30 * NS;
		char *addr = buf + (syslog ? 7 : 8), why[300];
		rest = strchr(addr, ',');
		if (rest)
			*rest++ = 0;
		if ((syslog ? sink_syslog_address : sink_fluentd_address)(sp, addr, why, sizeof why) < 0)
			bad_sink(spec, "%s%s", why, "");
		size_t alen = strlen(addr);
		if (alen >= sizeof sp->path)
			bad_sink(spec, "address longer than %s%s bytes", "255", "");
		memcpy(sp->path, addr, alen + 1); /* names the peer: duplicates, messages */
	} else {
		bad_sink(spec, "expected file:PATH, stdout, syslog:unix:PATH, syslog:udp|tcp:HOST:PORT, "
			       "fluentd:unix:PATH, fluentd:tcp:HOST:PORT or kafka:BROKERS/TOPIC, "
			       "each with [,OPTION...]%s%s", "", "");
	}
	int max_files = 0;
	while (rest && *rest) {
		char *next = strchr(rest, ',');
		if (next)
			*next++ = 0;
		if (!*rest)
			bad_sink(spec, "empty option%s%s", "", "");
		max_files |= sink_option(sp, spec, rest);
		rest = next;
	}
	if (sp->kind == SINK_FILE && !sp->max_size && !sp->rotate_every_ns &&
	    (sp->gzip || max_files))
		bad_sink(spec, "max-files and gzip need max-size= or rotate-every=%s%s", "", "");
	for (unsigned i = 0; i < c->nsinks; i++) {
		const struct sink_spec *o = &c->sinks[i];
		if (o->kind == sp->kind && (sp->kind == SINK_STDOUT || !strcmp(o->path, sp->path)))
			die(EXIT_USAGE, "--sink '%s' names the same output as --sink '%s'", spec, o->text);
	}
	c->nsinks++;
}

void cli_parse(struct logd_config *c, int argc, char **argv)
{
	enum { O_IN = 256, O_RUN_DIR, O_RING_SIZE, O_SINK, O_FORMAT, O_SENSOR, O_USER, O_ALLOW_ROOT,
	       O_MAX_OUTPUT, O_VERSION, O_HELP, O_CHECK };
	static const struct option longopts[] = {
		{ "in", required_argument, NULL, O_IN },
		{ "run-dir", required_argument, NULL, O_RUN_DIR },
		{ "ring-size", required_argument, NULL, O_RING_SIZE },
		{ "sink", required_argument, NULL, O_SINK },
		{ "format", required_argument, NULL, O_FORMAT },
		{ "sensor", required_argument, NULL, O_SENSOR },
		{ "user", required_argument, NULL, O_USER },
		{ "allow-root", no_argument, NULL, O_ALLOW_ROOT },
		{ "max-output", required_argument, NULL, O_MAX_OUTPUT },
		{ "version", no_argument, NULL, O_VERSION },
		{ "help", no_argument, NULL, O_HELP },
		{ "check-options", no_argument, NULL, O_CHECK },
		{ NULL, 0, NULL, 0 },
	};
	config_apply("logd", longopts, "sink\0", &argc, &argv);
	memset(c, 0, sizeof *c);
	c->run_dir = LOGD_RUN_DIR;
	c->ring_size = 16 << 20;
	c->format = LOGD_FMT_JSON;
	c->max_output = 8 << 20;
	opterr = 0;
	int o;
	while ((o = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (o) {
		case O_IN: c->in = optarg; break;
		case O_RUN_DIR: c->run_dir = optarg; break;
		case O_RING_SIZE: opt_ring_size(optarg, &c->ring_size); break;
		case O_SINK: parse_sink(c, optarg); break;
		case O_FORMAT:
			if (fmt_parse(optarg, &c->format))
				opt_fail("--format", optarg, "json, transaction or passivedns");
			break;
		case O_SENSOR:
			if (strlen(optarg) > FMT_SENSOR_MAX)
				opt_fail("--sensor", optarg, "a name of at most 255 bytes");
			c->sensor = optarg;
			break;
		case O_USER: c->user = optarg; break;
		case O_ALLOW_ROOT: c->allow_root = 1; break;
		case O_MAX_OUTPUT:
			if (opt_size(optarg, 64 << 10, 1 << 30, &c->max_output))
				opt_fail("--max-output", optarg, "a size between 64K and 1G");
			break;
		case O_VERSION: opt_version();
		case O_HELP: usage(); break;
		case O_CHECK: c->check_only = 1; break;
		case ':': die(EXIT_USAGE, "option %s needs a value: see --help", argv[optind - 1]);
		default: die(EXIT_USAGE, "unknown option '%s': see --help", argv[optind - 1]);
		}
	}
	if (optind < argc)
		die(EXIT_USAGE, "unexpected argument '%s': see --help", argv[optind]);
	if (!*c->run_dir || (c->user && !*c->user) || (c->sensor && !*c->sensor))
		die(EXIT_USAGE, "--%s needs a non-empty value",
		    !*c->run_dir ? "run-dir" : c->sensor && !*c->sensor ? "sensor" : "user");
	if (!c->in || !*c->in)
		die(EXIT_USAGE, "missing --in: name the ring to read (e.g. --in log)");
	if (!c->nsinks)
		die(EXIT_USAGE, "missing --sink: give at least one, e.g. --sink file:/var/log/dns.jsonl "
				"or --sink stdout");
	opt_ring_path(c->run_dir, c->in, c->ring_path, sizeof c->ring_path);
	if (strlen(c->ring_path) >= sizeof c->ring_path - 16)
		die(EXIT_USAGE, "ring path '%s' is too long", c->in);
}
