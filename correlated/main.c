/*
 * dnstrail-correlated - pairs queries with responses, times out the
 * unanswered, deduplicates, and writes one transaction record per verdict
 * to the log ring.
 *
 * A single process owns every table (match.c, dedup.c), so there is no lock
 * and no race.  It reads its decoder rings as one stream in packet-time
 * order (merge.c) and its clock is the time of the record it is processing:
 * a capture replays to the same output however the rings interleave.
 *
 * Restarts: before each publish it writes a checkpoint (input positions,
 * log head; common/checkpoint.h), and it releases each input only up to
 * the older checkpoint and the record of its oldest pending query (within
 * the newest half of the ring, so a long-pending query never holds a ring
 * full).  A correlated that died and is started again reads its inputs
 * from those tails and replays, writing nothing, every record the dead one
 * had already processed: the pending queries come back, and output resumes
 * exactly where the published log ends.  Only the dedup cache is not
 * rebuilt (its unwritten counts are lost, and counted).
 *
 * At the end of the input (every ring EOF), or on SIGTERM/SIGINT,
 * everything held is flushed: held responses as response-only, pending
 * queries as unanswered, dedup counts; then the log ring is marked EOF.
 */
#include "checkpoint.h"
#include "config.h"
#include "dedup.h"
#include "emit.h"
#include "log.h"
#include "match.h"
#include "merge.h"
#include "opt.h"
#include "priv.h"
#include "records.h"
#include "ring.h"
#include "statseg.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PUBLISH_EVERY 256
#define STALL_WARN_NS (5000000000ull)

struct correlated_stats {
	uint64_t messages;
	uint64_t bad_records;
	uint64_t opcode_skipped; /* NOTIFY, UPDATE, IQUERY, STATUS, DSO, ... */
	uint64_t opcode_logged;
	uint64_t queries_without_question;
	uint64_t restarts; /* started after a predecessor that died */
	uint64_t replayed; /* records replayed (silently) to rebuild its state */
	uint64_t restart_recovered; /* pending entries rebuilt by the replay */
	uint64_t restart_lost_pending; /* pending entries the replay could not rebuild */
	uint64_t restart_lost_dedup; /* dedup entries lost with the predecessor */
	uint64_t restart_repeated_bytes; /* log bytes it published past its last checkpoint */
};

static const struct stat_desc correlated_stat_desc[] = {
	STAT_DESC(struct correlated_stats, messages, "correlated.messages", "DNS message records read"),
	STAT_DESC(struct correlated_stats, bad_records, "correlated.bad_records",
		  "records that failed validation (skipped)"),
	STAT_DESC(struct correlated_stats, opcode_skipped, "correlated.opcode_skipped",
		  "messages with an opcode other than QUERY (kept out of the tables)"),
	STAT_DESC(struct correlated_stats, opcode_logged, "correlated.opcode_logged",
		  "of those, responses logged because of --log-opcodes"),
	STAT_DESC(struct correlated_stats, queries_without_question,
		  "correlated.queries_without_question", "queries with no question (not matchable)"),
	STAT_DESC(struct correlated_stats, restarts, "correlated.restarts",
		  "starts after a predecessor that died"),
	STAT_DESC(struct correlated_stats, replayed, "correlated.replayed",
		  "records replayed without output to rebuild the predecessor's state"),
	STAT_DESC(struct correlated_stats, restart_recovered, "correlated.restart_recovered",
		  "pending queries and held responses rebuilt after a restart"),
	STAT_DESC(struct correlated_stats, restart_lost_pending, "correlated.restart_lost_pending",
		  "pending queries and held responses lost with a predecessor that died"),
	STAT_DESC(struct correlated_stats, restart_lost_dedup, "correlated.restart_lost_dedup",
		  "dedup entries (and their unwritten counts) lost with a predecessor that died"),
	STAT_DESC(struct correlated_stats, restart_repeated_bytes, "correlated.restart_repeated_bytes",
		  "log bytes a correlated that died had published past its last checkpoint "
		  "(written again after the restart)"),
};

struct correlated {
	struct merge in;
	struct ring *out;
	struct emitter emit;
	struct match *match;
	struct dedup *dedup;
	int log_opcodes;
	uint64_t now_ns;
	struct correlated_stats st;
	struct statseg *stats;
	struct checkpoint *ckpt;
	int replaying; /* silently redoing what a dead predecessor did */
	uint64_t replay_until[MERGE_MAX_INPUTS]; /* its checkpoint: where output resumes */
	uint64_t predecessor_pending; /* its match.pending + match.held when it died */
	uint64_t boundary_out; /* log head when the last input record was finished */
};

static volatile sig_atomic_t stop, hard_stop, dump_stats;

static void on_stop(int sig)
{
	(void)sig;
	if (stop)
		hard_stop = 1; /* a second signal: do not wait for logd either */
	stop = 1;
}

static void on_usr1(int sig)
{
	(void)sig;
	dump_stats = 1;
}

static void on_match(void *ctx, const struct txn_event *ev)
{
	struct correlated *c = ctx;
	emit_txn(&c->emit, ev);
}

static void process(struct correlated *c, const struct ring_view *v, unsigned which)
{
	const struct rec_msg *m = v->data;
	const char *why;
	if (rec_msg_check(m, v->len, &why) < 0) {
		c->st.bad_records++;
		return;
	}
	c->st.messages++;
	if (DNS_OPCODE(m->hflags) != 0) {
		c->st.opcode_skipped++;
		if (c->log_opcodes && DNS_QR(m->hflags)) {
			struct txn_event ev = { .kind = TXN_RESPONSE_ONLY, .msg = m, .msg_len = v->len };
			emit_txn(&c->emit, &ev);
			c->st.opcode_logged++;
		}
		return;
	}
	if (!(m->flags & MSG_F_QUESTION)) {
		if (DNS_QR(m->hflags)) {
			/* Nothing to match on (FORMERR answers often drop the
			 * question), but it is a response: log it. */
			struct txn_event ev = { .kind = TXN_RESPONSE_ONLY, .msg = m, .msg_len = v->len };
			emit_txn(&c->emit, &ev);
		} else {
			c->st.queries_without_question++;
		}
		return;
	}
	match_message(c->match, m, v->len, which, v->pos);
}

/* merge_look_fn: a record a few ahead of the one being processed. */
static void look_ahead(void *ctx, const struct ring_view *v)
{
	struct correlated *c = ctx;
	if (v->type != REC_MSG)
		return;
	match_prefetch(c->match, v->data, v->len);
	emit_prefetch(&c->emit, v->data, v->len);
}

static void advance_clock(struct correlated *c, uint64_t ts)
{
	if (ts <= c->now_ns)
		return;
	c->now_ns = ts;
	match_expire(c->match, ts);
	if (c->dedup)
		dedup_expire(c->dedup, ts);
}

/* Checkpoint, publish, then release each input up to both the older
 * checkpoint and the oldest pending record it holds. */
static void publish(struct correlated *c)
{
	struct checkpoint_pos pos;
	if (!c->replaying) {
		for (unsigned i = 0; i < c->in.n; i++)
			pos.in[i] = ring_read_pos(c->in.in[i].ring);
		pos.out[0] = ring_pending_head(c->out);
		checkpoint_write(c->ckpt, &pos);
	}
	ring_publish(c->out);
	if (checkpoint_release_pos(c->ckpt, &pos)) {
		for (unsigned i = 0; i < c->in.n; i++) {
			struct ring *r = c->in.in[i].ring;
			uint64_t read = ring_read_pos(r), half = ring_header(r)->capacity / 2;
			uint64_t oldest = match_oldest_pos(c->match, i, read > half ? read - half : 0);
			ring_release_to(r, oldest < pos.in[i] ? oldest : pos.in[i]);
		}
	}
	match_stats(c->match); /* refreshes its gauges */
	if (c->dedup)
		dedup_stats(c->dedup);
	statseg_update(c->stats);
}


static void log_stats(struct correlated *c)
{
	stats_log("counters", &c->st, correlated_stat_desc,
		  sizeof correlated_stat_desc / sizeof correlated_stat_desc[0]);
	stats_log("counters", match_stats(c->match), match_stat_desc, match_stat_count);
	if (c->dedup)
		stats_log("counters", dedup_stats(c->dedup), dedup_stat_desc, dedup_stat_count);
	stats_log("counters", &c->emit.st, emit_stat_desc, emit_stat_count);
}

/* The log ring publishes on its own when it waits for space, possibly in
 * the middle of one record's output: checkpoint the last boundary first. */
static void on_forced_publish(void *ctx)
{
	struct correlated *c = ctx;
	if (c->replaying)
		return;
	struct checkpoint_pos pos;
	for (unsigned i = 0; i < c->in.n; i++)
		pos.in[i] = ring_read_pos(c->in.in[i].ring);
	pos.out[0] = c->boundary_out;
	checkpoint_write(c->ckpt, &pos);
}

static void end_replay(struct correlated *c)
{
	c->replaying = 0;
	c->emit.silent = 0;
	const struct match_stats *ms = match_stats(c->match);
	c->st.restart_recovered = ms->pending + ms->held;
	c->st.restart_lost_pending = c->predecessor_pending > c->st.restart_recovered
					     ? c->predecessor_pending - c->st.restart_recovered : 0;
	log_info("replayed %" PRIu64 " records: %" PRIu64 " pending queries and held responses "
		 "rebuilt, %" PRIu64 " lost; output resumes where the published log ends",
		 c->st.replayed, c->st.restart_recovered, c->st.restart_lost_pending);
}

/* After a crash: replay from the input tails, silently, up to the checkpoint
 * whose log head is the one published. */
static void resume(struct correlated *c, const char *run_dir)
{
	if (!statseg_predecessor_died(run_dir, "correlated"))
		return;
	c->st.restarts++;
	uint64_t v, held = 0;
	if (statseg_peek(run_dir, "correlated", "match.pending", &v) == 0)
		c->predecessor_pending = v;
	if (statseg_peek(run_dir, "correlated", "match.held", &held) == 0)
		c->predecessor_pending += held;
	if (statseg_peek(run_dir, "correlated", "dedup.entries", &v) == 0)
		c->st.restart_lost_dedup = v;
	uint64_t head = ring_published_head(c->out);
	struct checkpoint_pos pos;
	int found = checkpoint_recover(c->ckpt, &head, &pos);
	if (found == 2) {
		c->st.restart_repeated_bytes = head - pos.out[0];
		log_warn("the previous correlated died while waiting for room in %s, after publishing "
			 "%" PRIu64 " bytes past its last checkpoint: they will be written again",
			 ring_path(c->out), c->st.restart_repeated_bytes);
	}
	if (!found) {
		log_warn("the previous correlated died and left no usable checkpoint: its %" PRIu64
			 " pending queries are lost", c->predecessor_pending);
		c->st.restart_lost_pending = c->predecessor_pending;
		return;
	}
	for (unsigned i = 0; i < c->in.n; i++) {
		c->replay_until[i] = pos.in[i];
		if (pos.in[i] > ring_read_pos(c->in.in[i].ring))
			c->replaying = 1;
	}
	c->emit.silent = c->replaying;
	log_info("the previous correlated died holding %" PRIu64 " pending queries and responses "
		 "and %" PRIu64 " dedup entries; replaying its inputs to rebuild them",
		 c->predecessor_pending, c->st.restart_lost_dedup);
	if (!c->replaying)
		end_replay(c);
}

static int run(struct correlated *c)
{
	uint64_t since_publish = 0, stalled_since = 0;
	while (!stop) {
		struct ring_view v;
		uint64_t ts;
		unsigned which;
		switch (merge_next(&c->in, &v, &ts, &which)) {
		case MERGE_RECORD:
			stalled_since = 0;
			if (c->replaying && v.pos >= c->replay_until[which])
				end_replay(c);
			else if (c->replaying)
				c->st.replayed++;
			advance_clock(c, ts);
			if (v.type == REC_MSG)
				process(c, &v, which);
			merge_consumed(&c->in, which);
			c->boundary_out = ring_pending_head(c->out);
			if (++since_publish >= PUBLISH_EVERY) {
				publish(c);
				since_publish = 0;
			}
			break;
		case MERGE_WAIT: {
			publish(c);
			publish(c); /* both checkpoints equal: every input read can go */
			ring_flush(c->out);
			since_publish = 0;
			struct ring *r = c->in.in[c->in.blocking].ring;
			ring_wait_data(r, 100);
			ring_producer_heartbeat(c->out);
			uint64_t mono = ring_now_mono_ns();
			if (!stalled_since) {
				stalled_since = mono;
			} else if (mono - stalled_since > STALL_WARN_NS) {
				struct ring_hdr *h = ring_header(r);
				uint32_t pid = atomic_load(&h->producer_pid);
				if (!ring_pid_alive(pid))
					log_warn("waiting for %s: no producer is attached (is its decoder "
						 "running? every decoder ring must have one)", ring_path(r));
				stalled_since = mono;
			}
			break;
		}
		case MERGE_END:
			return 0;
		case MERGE_CORRUPT:
			log_warn("%s", ring_error(c->in.in[c->in.blocking].ring));
			return EXIT_CORRUPT;
		}
		if (dump_stats) {
			dump_stats = 0;
			log_stats(c);
		}
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: dnstrail-correlated [options]\n"
		"  --in NAME             an input ring (repeatable; default dec.0 .. dec.N-1)\n"
		"  --decoders N          read dec.0 .. dec.N-1 (default 1)\n"
		"  --out NAME            output ring (default log)\n"
		"  --run-dir DIR         where ring names live (default %s)\n"
		"  --ring-size BYTES     size of a ring this stage creates (default 16M)\n"
		"  --query-timeout SEC   a query with no response after this is unanswered (default 5)\n"
		"  --reorder-window SEC  hold a response this long for a late query (default 0.01)\n"
		"  --max-pending N       bound on queries waiting (default 1000000)\n"
		"  --no-unanswered       count unanswered queries, do not log them\n"
		"  --log-opcodes         log responses of opcodes other than QUERY (NOTIFY, UPDATE ...)\n"
		"  --dedup SEC|off       dedup window in seconds of packet time (default off)\n"
		"  --dedup-max N         bound on dedup entries, 128 bytes each and 32-64 of index\n"
		"                        (default 1000000; the index takes 32 MiB from the start);\n"
		"                        when full, a new key closes the oldest window early\n"
		"  --sections LIST       answer,authority,additional: which RRs to log (default answer)\n"
		"  --user USER           drop to USER when started as root\n"
		"  --check-options       check the options and configuration, then exit\n"
		"  --allow-root          run as root without --user\n"
		"  --config FILE         configuration file, section [correlated] (default %s)\n"
		"  --version, --help\n",
		DNSTRAIL_RUN_DIR, DNSTRAIL_CONFIG);
}

static unsigned parse_sections(const char *s)
{
	unsigned mask = 0;
	char buf[128];
	snprintf(buf, sizeof buf, "%s", s);
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strcmp(t, "answer"))
			mask |= 1u << SEC_ANSWER;
		else if (!strcmp(t, "authority"))
			mask |= 1u << SEC_AUTHORITY;
		else if (!strcmp(t, "additional"))
			mask |= 1u << SEC_ADDITIONAL;
		else
			return 0;
	}
	return mask;
}

int main(int argc, char **argv)
{
	log_init("dnstrail-correlated");
	const char *run_dir = DNSTRAIL_RUN_DIR, *out_name = "log", *user = NULL;
	const char *ins[MERGE_MAX_INPUTS];
	unsigned n_ins = 0;
	uint64_t decoders = 1, ring_size = 16u << 20;
	int allow_root = 0, dedup_on = 0;
	struct match_config mc = { .timeout_ns = 5000000000ull, .reorder_ns = 10000000ull,
				   .max_pending = 1000000, .log_unanswered = 1 };
	struct dedup_config dc = { .window_ns = 0, .max_entries = 1000000, .max_key_bytes = 1024 };
	static struct correlated c; /* large (the emitter's scratch); one per process */
	c.emit.sections = SECTIONS_DEFAULT;
	enum { O_IN = 256, O_DECODERS, O_OUT, O_RUNDIR, O_RINGSIZE, O_TIMEOUT, O_REORDER, O_MAXPEND,
	       O_NOUNANS, O_LOGOPS, O_DEDUP, O_DEDUPMAX, O_SECTIONS, O_USER, O_ALLOWROOT, O_VERSION,
	       O_HELP, O_CHECK };
	int check_only = 0;
	static const struct option lo[] = {
		{ "in", 1, 0, O_IN }, { "decoders", 1, 0, O_DECODERS }, { "out", 1, 0, O_OUT },
		{ "run-dir", 1, 0, O_RUNDIR }, { "ring-size", 1, 0, O_RINGSIZE },
		{ "query-timeout", 1, 0, O_TIMEOUT }, { "reorder-window", 1, 0, O_REORDER },
		{ "max-pending", 1, 0, O_MAXPEND }, { "no-unanswered", 0, 0, O_NOUNANS },
		{ "log-opcodes", 0, 0, O_LOGOPS }, { "dedup", 1, 0, O_DEDUP },
		{ "dedup-max", 1, 0, O_DEDUPMAX }, { "sections", 1, 0, O_SECTIONS },
		{ "user", 1, 0, O_USER }, { "allow-root", 0, 0, O_ALLOWROOT },
		{ "version", 0, 0, O_VERSION }, { "help", 0, 0, O_HELP },
		{ "check-options", 0, 0, O_CHECK }, { 0, 0, 0, 0 },
	};
	config_apply("correlated", lo, "in\0", &argc, &argv);
	int ch;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
		switch (ch) {
		case O_IN:
			if (n_ins == MERGE_MAX_INPUTS)
				die(EXIT_USAGE, "too many --in rings (at most %d)", MERGE_MAX_INPUTS);
			ins[n_ins++] = optarg;
			break;
		case O_DECODERS:
			if (opt_u64(optarg, 1, MERGE_MAX_INPUTS, &decoders) < 0)
				opt_fail("--decoders", optarg, "a number from 1 to 64");
			break;
		case O_OUT: out_name = optarg; break;
		case O_RUNDIR: run_dir = optarg; break;
		case O_RINGSIZE: opt_ring_size(optarg, &ring_size); break;
		case O_TIMEOUT:
			if (opt_seconds_ns(optarg, 1000000ull, 3600000000000ull, &mc.timeout_ns) < 0)
				opt_fail("--query-timeout", optarg, "seconds from 0.001 to 3600");
			break;
		case O_REORDER:
			if (opt_seconds_ns(optarg, 0, 10000000000ull, &mc.reorder_ns) < 0)
				opt_fail("--reorder-window", optarg, "seconds from 0 to 10");
			break;
		case O_MAXPEND:
			if (opt_u64(optarg, 1, 1000000000ull, &mc.max_pending) < 0)
				opt_fail("--max-pending", optarg, "a number from 1 to 1000000000");
			break;
		case O_NOUNANS: mc.log_unanswered = 0; break;
		case O_LOGOPS: c.log_opcodes = 1; break;
		case O_DEDUP:
			if (!strcmp(optarg, "off")) {
				dedup_on = 0;
			} else if (opt_seconds_ns(optarg, 1000000ull, 31536000000000000ull,
						  &dc.window_ns) < 0) {
				opt_fail("--dedup", optarg, "seconds (0.001 to one year) or 'off'");
			} else {
				dedup_on = 1;
			}
			break;
		case O_DEDUPMAX:
			if (opt_u64(optarg, 1, 1000000000ull, &dc.max_entries) < 0)
				opt_fail("--dedup-max", optarg, "a number from 1 to 1000000000");
			break;
		case O_SECTIONS:
			if (!(c.emit.sections = parse_sections(optarg)))
				opt_fail("--sections", optarg, "a list of answer, authority, additional");
			break;
		case O_USER: user = optarg; break;
		case O_ALLOWROOT: allow_root = 1; break;
		case O_VERSION: opt_version();
		case O_HELP: usage(stdout); return 0;
		case O_CHECK: check_only = 1; break;
		case ':': die(EXIT_USAGE, "option %s needs a value (see --help)", argv[optind - 1]);
		default: die(EXIT_USAGE, "unknown option %s (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		die(EXIT_USAGE, "unexpected argument '%s' (see --help)", argv[optind]);
	int empty_in = 0;
	for (unsigned i = 0; i < n_ins; i++)
		empty_in |= !*ins[i];
	if (!*run_dir || (user && !*user) || !*out_name || empty_in)
		die(EXIT_USAGE, "--%s needs a non-empty value", !*run_dir ? "run-dir" : empty_in ? "in"
							      : !*out_name ? "out" : "user");
	if (check_only)
		return 0;
	priv_settle(user, allow_root);

	char name[32], path[512], err[600];
	struct ring_create in_create = { .capacity = ring_size, .kind = RING_KIND_MESSAGES };
	merge_init(&c.in);
	unsigned n = n_ins ? n_ins : (unsigned)decoders;
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof name, "dec.%u", i);
		opt_ring_path(run_dir, n_ins ? ins[i] : name, path, sizeof path);
		struct ring *r = ring_attach(path, RING_CONSUMER, RING_KIND_MESSAGES, &in_create, err,
					     sizeof err);
		if (!r)
			die(errno == EINVAL ? EXIT_CORRUPT : 1, "%s", err);
		ring_set_stop_flag(r, &stop);
		ring_set_manual_release(r, 1);
		merge_add(&c.in, r);
	}
	struct ring_create out_create = { .capacity = ring_size, .kind = RING_KIND_TRANSACTIONS };
	c.out = ring_attach(opt_ring_path(run_dir, out_name, path, sizeof path), RING_PRODUCER,
			    RING_KIND_TRANSACTIONS, &out_create, err, sizeof err);
	if (!c.out)
		die(errno == EINVAL ? EXIT_CORRUPT : 1, "%s", err);
	ring_set_stop_flag(c.out, &hard_stop);
	c.emit.out = c.out;

	if (dedup_on && !(c.dedup = dedup_new(&dc, emit_record, &c.emit)))
		die(1, "out of memory for the dedup cache");
	c.emit.dedup = c.dedup;
	/* Only a cache of a million entries pushes the tables out of the CPU
	 * cache; without it, looking ahead costs more than it saves
	 * (measured: correlated alone on gen-1M with dedup off, 0.64 instead of
	 * 0.48 cpu-s, best of 6). */
	if (c.dedup)
		merge_set_lookahead(&c.in, look_ahead, &c);
	if (!(c.match = match_new(&mc, on_match, &c)))
		die(1, "out of memory for the match table");

	char ckpath[600], identity[1024];
	snprintf(ckpath, sizeof ckpath, "%s/correlated.ckpt", run_dir);
	size_t off = (size_t)snprintf(identity, sizeof identity, "correlated");
	for (unsigned i = 0; i < c.in.n && off < sizeof identity; i++)
		off += (size_t)snprintf(identity + off, sizeof identity - off, " %s",
					ring_path(c.in.in[i].ring));
	snprintf(identity + off, off < sizeof identity ? sizeof identity - off : 0, " -> %s",
		 ring_path(c.out));
	if (!(c.ckpt = checkpoint_open(ckpath, identity, c.in.n, 1, err, sizeof err)))
		die(1, "%s", err);
	resume(&c, run_dir);
	c.boundary_out = ring_pending_head(c.out);
	ring_set_publish_hook(c.out, on_forced_publish, &c);
	if (!(c.stats = statseg_open(run_dir, "correlated", err, sizeof err)))
		log_warn("%s: counters will not be visible to dnstrail-ctl", err);
	statseg_add(c.stats, &c.st, correlated_stat_desc,
		    sizeof correlated_stat_desc / sizeof correlated_stat_desc[0]);
	statseg_add(c.stats, match_stats(c.match), match_stat_desc, match_stat_count);
	if (c.dedup)
		statseg_add(c.stats, dedup_stats(c.dedup), dedup_stat_desc, dedup_stat_count);
	statseg_add(c.stats, &c.emit.st, emit_stat_desc, emit_stat_count);

	struct sigaction sa = { .sa_handler = on_stop };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);

	int code = run(&c);
	if (c.replaying)
		end_replay(&c);
	match_flush(c.match);
	if (c.dedup)
		dedup_flush(c.dedup);
	publish(&c);
	publish(&c);
	ring_set_eof(c.out);
	log_stats(&c);
	stats_log_rusage();
	statseg_close(c.stats);
	for (unsigned i = 0; i < c.in.n; i++)
		ring_detach(c.in.in[i].ring);
	ring_detach(c.out);
	dedup_free(c.dedup);
	match_free(c.match);
	checkpoint_close(c.ckpt);
	return code;
}
