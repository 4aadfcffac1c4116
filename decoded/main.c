/*
 * dnstrail-decoded - frames in (cap.K), DNS messages out (dec.K).
 *
 * netdecode.c takes a frame down to complete DNS messages (link layer, IP,
 * defragmentation, UDP, TCP reassembly); dns_parse.c turns each message
 * into a record with every RR rendered as text, so the rendering cost is
 * paid here, where it scales with the number of decoders.
 *
 * Ticks from capd are forwarded after everything derived from the frames
 * before them, and expire fragment and TCP state on packet time.
 *
 * Restarts: before each publish the decoder writes a checkpoint (input
 * position, output head; common/checkpoint.h) and it releases its input
 * only up to the previous checkpoint.  A decoder that was killed and
 * started again resumes right after the last frame whose messages were
 * published: no message is lost or repeated.  What it cannot recover is
 * the state it held - TCP streams and IP fragments in progress - and it
 * says so and counts it (decoded.restart_lost_*).  At the end of the
 * input, or on SIGTERM/SIGINT, it finishes what it holds, marks dec.K EOF
 * and exits 0.
 */
#include "checkpoint.h"
#include "config.h"
#include "dns_parse.h"
#include "log.h"
#include "netdecode.h"
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

#define PUBLISH_EVERY 256
#define MDNS_PORT 5353
#define MAX_RRS 65535u /* a message cannot hold more */
#define TEXT_STAGE (4u << 20) /* rendered text of one message: 64 KiB of wire at most x ~20 */

struct decoded_stats {
	uint64_t records_in;
	uint64_t bad_records; /* not frames or ticks, or failed validation */
	uint64_t messages_out;
	uint64_t messages_rejected; /* dns_parse found nothing usable */
	uint64_t messages_oversize; /* larger than the output ring's record limit */
	uint64_t restarts; /* started after a predecessor that did not finish */
	uint64_t restart_lost_tcp_flows; /* connections it was tracking when it died */
	uint64_t restart_lost_datagrams; /* incomplete IP datagrams when it died */
	uint64_t restart_repeated_bytes; /* output published past its last checkpoint */
};

static const struct stat_desc decoded_stat_desc[] = {
	STAT_DESC(struct decoded_stats, records_in, "decoded.records_in", "records read from the capture ring"),
	STAT_DESC(struct decoded_stats, bad_records, "decoded.bad_records", "records that failed validation"),
	STAT_DESC(struct decoded_stats, messages_out, "decoded.messages_out", "DNS message records written"),
	STAT_DESC(struct decoded_stats, messages_rejected, "decoded.messages_rejected",
		  "payloads on DNS ports that were not usable DNS messages"),
	STAT_DESC(struct decoded_stats, messages_oversize, "decoded.messages_oversize",
		  "messages too large for the output ring's record limit (enlarge --ring-size)"),
	STAT_DESC(struct decoded_stats, restarts, "decoded.restarts",
		  "starts that resumed from a checkpoint after the previous decoder died"),
	STAT_DESC(struct decoded_stats, restart_lost_tcp_flows, "decoded.restart_lost_tcp_flows",
		  "TCP connections a decoder that died was tracking (partial messages lost)"),
	STAT_DESC(struct decoded_stats, restart_lost_datagrams, "decoded.restart_lost_datagrams",
		  "incomplete IP datagrams lost with a decoder that died"),
	STAT_DESC(struct decoded_stats, restart_repeated_bytes, "decoded.restart_repeated_bytes",
		  "message bytes a decoder that died had published past its last checkpoint "
		  "(written again after the restart)"),
};

struct decoded {
	struct ring *in, *out;
	struct netdecode *nd;
	struct dns_parse_stats parse;
	struct decoded_stats st;
	struct statseg *stats;
	struct checkpoint *ckpt;
	uint64_t boundary_out; /* output head when the last input record was finished */
	/* Scratch for building one message record. */
	struct rec_msg hdr;
	struct rec_rr *rr_stage;
	char *text_stage;
};

static volatile sig_atomic_t stop, dump_stats;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void on_usr1(int sig)
{
	(void)sig;
	dump_stats = 1;
}

static void on_message(void *ctx, const struct pkt_meta *pm, const uint8_t *dns, size_t len)
{
	struct decoded *d = ctx;
	struct msg_builder b;
	msgb_init(&b, &d->hdr, ring_max_record(d->out), d->rr_stage, MAX_RRS, d->text_stage,
		  TEXT_STAGE);
	if (dns_parse(dns, len, &b, &d->parse) == DNS_PARSE_REJECT) {
		d->st.messages_rejected++;
		return;
	}
	struct rec_msg *m = b.m;
	m->ts_ns = pm->ts_ns;
	memcpy(m->src, pm->src, sizeof m->src);
	memcpy(m->dst, pm->dst, sizeof m->dst);
	m->sport = pm->sport;
	m->dport = pm->dport;
	m->ip_version = pm->ip_version;
	m->transport = pm->transport;
	if (pm->has_vlan) {
		m->flags |= MSG_F_VLAN;
		m->vlan = pm->vlan;
	}
	if (pm->sport == MDNS_PORT || pm->dport == MDNS_PORT) {
		/* mDNS reuses the top class bit: unicast-response wanted (in a
		 * question) and cache-flush (in an RR), RFC 6762 5.4 and 10.2.
		 * The class is the other 15 bits. */
		m->qclass &= 0x7fff;
		for (uint16_t i = 0; i < m->n_rr; i++)
			b.rr[i].rclass &= 0x7fff;
	}
	size_t size = msgb_size(&b);
	void *p = ring_reserve(d->out, (uint32_t)size);
	if (!p) {
		d->st.messages_oversize += size > ring_max_record(d->out);
		return;
	}
	msgb_write(&b, p);
	ring_commit(d->out, REC_MSG, (uint32_t)size);
	d->st.messages_out++;
}

static void forward_tick(struct decoded *d, uint64_t ts)
{
	netdecode_expire(d->nd, ts);
	struct rec_tick *t = ring_reserve(d->out, sizeof *t);
	if (t) {
		t->ts_ns = ts;
		ring_commit(d->out, REC_TICK, sizeof *t);
	}
}

/* Checkpoint, publish, release up to the previous checkpoint (so a crash
 * before the next publish can roll back to it). */
static void publish(struct decoded *d)
{
	struct checkpoint_pos pos;
	pos.in[0] = ring_read_pos(d->in);
	pos.out[0] = ring_pending_head(d->out);
	checkpoint_write(d->ckpt, &pos);
	ring_publish(d->out);
	if (checkpoint_release_pos(d->ckpt, &pos))
		ring_release_to(d->in, pos.in[0]);
	statseg_update(d->stats);
}

/* The ring publishes on its own when it waits for space, possibly in the
 * middle of a frame's messages: checkpoint the last frame boundary first. */
static void on_forced_publish(void *ctx)
{
	struct decoded *d = ctx;
	struct checkpoint_pos pos;
	pos.in[0] = ring_read_pos(d->in);
	pos.out[0] = d->boundary_out;
	checkpoint_write(d->ckpt, &pos);
}

/* Before sleeping, and at the end: a second checkpoint at the same place
 * makes both slots equal, so everything read can be released. */
static void publish_all(struct decoded *d)
{
	publish(d);
	publish(d);
}

/* A checkpoint whose output head is the one published says how far the
 * previous decoder got; what it held in memory is gone. */
static void resume(struct decoded *d, const char *run_dir, const char *stage)
{
	uint64_t head = ring_published_head(d->out), v;
	struct checkpoint_pos pos;
	int found = checkpoint_recover(d->ckpt, &head, &pos);
	if (found && pos.in[0] != ring_read_pos(d->in) && ring_seek(d->in, pos.in[0]) < 0)
		log_warn("%s: checkpoint position %" PRIu64 " is not in the ring; reading from its "
			 "tail (messages may be repeated)", ring_path(d->in), pos.in[0]);
	if (found == 2) {
		d->st.restart_repeated_bytes = head - pos.out[0];
		log_warn("%s: the previous decoder died while waiting for room in %s, after "
			 "publishing %" PRIu64 " bytes of messages past its last checkpoint: they "
			 "will be written again", ring_path(d->in), ring_path(d->out),
			 d->st.restart_repeated_bytes);
	}
	if (!statseg_predecessor_died(run_dir, stage))
		return;
	d->st.restarts++;
	if (statseg_peek(run_dir, stage, "tcp.flows", &v) == 0)
		d->st.restart_lost_tcp_flows = v;
	if (statseg_peek(run_dir, stage, "frag.pending", &v) == 0)
		d->st.restart_lost_datagrams = v;
	log_info("%s: the previous decoder died; resuming after its last published message. It "
		 "was tracking %" PRIu64 " TCP connections and %" PRIu64 " incomplete IP datagrams: "
		 "any message they held in part is lost", ring_path(d->in),
		 d->st.restart_lost_tcp_flows, d->st.restart_lost_datagrams);
}


static void log_stats(struct decoded *d)
{
	stats_log(ring_path(d->in), &d->st, decoded_stat_desc,
		  sizeof decoded_stat_desc / sizeof decoded_stat_desc[0]);
	stats_log(ring_path(d->in), netdecode_stats(d->nd), netdecode_stat_desc, netdecode_stat_count);
	stats_log(ring_path(d->in), &d->parse, dns_parse_stat_desc, dns_parse_stat_count);
}

static int run(struct decoded *d)
{
	uint64_t since_publish = 0;
	while (!stop) {
		struct ring_view v;
		if (!ring_peek(d->in, &v)) {
			if (ring_error(d->in)) {
				log_warn("%s", ring_error(d->in));
				return EXIT_CORRUPT;
			}
			publish_all(d);
			ring_flush(d->out);
			since_publish = 0;
			if (ring_drained(d->in))
				return 0;
			ring_wait_data(d->in, 100);
			ring_producer_heartbeat(d->out);
			if (dump_stats) {
				dump_stats = 0;
				log_stats(d);
			}
			continue;
		}
		d->st.records_in++;
		const char *why;
		if (v.type == REC_FRAME && rec_frame_check(v.data, v.len, &why) == 0) {
			const struct rec_frame *f = v.data;
			netdecode_frame(d->nd, f->dlt, f->ts_ns, (const uint8_t *)(f + 1),
					v.len - sizeof *f, f->wire_len);
		} else if (v.type == REC_TICK && v.len >= sizeof(struct rec_tick)) {
			forward_tick(d, ((const struct rec_tick *)v.data)->ts_ns);
		} else {
			d->st.bad_records++;
		}
		ring_next(d->in);
		d->boundary_out = ring_pending_head(d->out);
		if (++since_publish >= PUBLISH_EVERY) {
			publish(d);
			since_publish = 0;
		}
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: dnstrail-decoded [options]\n"
		"  --in NAME              input ring of frames (default cap.0)\n"
		"  --out NAME             output ring of messages (default dec.0)\n"
		"  --run-dir DIR          where ring names live (default %s)\n"
		"  --ring-size BYTES      size of a ring this stage creates (default 16M)\n"
		"  --ports LIST           DNS ports, UDP and TCP (default 53)\n"
		"  --frag-mem BYTES       bytes held in incomplete IP datagrams (default 64M)\n"
		"  --frag-timeout SEC     give up an incomplete datagram after (default 30)\n"
		"  --tcp-mem BYTES        bytes buffered in TCP streams (default 256M)\n"
		"  --tcp-flows N          TCP connections tracked (default 100000)\n"
		"  --tcp-flow-bytes BYTES bytes buffered per direction of a connection (default 256K)\n"
		"  --tcp-idle SEC         forget a connection idle this long (default 60)\n"
		"  --user USER            drop to USER when started as root\n"
		"  --check-options        check the options and configuration, then exit\n"
		"  --allow-root           run as root without --user\n"
		"  --config FILE          configuration file, section [decoded] (default %s)\n"
		"  --version, --help\n",
		DNSTRAIL_RUN_DIR, DNSTRAIL_CONFIG);
}

int main(int argc, char **argv)
{
	log_init("dnstrail-decoded");
	const char *run_dir = DNSTRAIL_RUN_DIR, *in_name = "cap.0", *out_name = "dec.0", *user = NULL;
	uint64_t ring_size = 16u << 20;
	int allow_root = 0;
	struct netdecode_limits lim;
	netdecode_default_limits(&lim);
	enum { O_IN = 256, O_OUT, O_RUNDIR, O_RINGSIZE, O_PORTS, O_FRAGMEM, O_FRAGTIME, O_TCPMEM,
	       O_TCPFLOWS, O_TCPFLOWBYTES, O_TCPIDLE, O_USER, O_ALLOWROOT, O_VERSION, O_HELP, O_CHECK };
	int check_only = 0;
	static const struct option lo[] = {
		{ "in", 1, 0, O_IN }, { "out", 1, 0, O_OUT }, { "run-dir", 1, 0, O_RUNDIR },
		{ "ring-size", 1, 0, O_RINGSIZE }, { "ports", 1, 0, O_PORTS },
		{ "frag-mem", 1, 0, O_FRAGMEM }, { "frag-timeout", 1, 0, O_FRAGTIME },
		{ "tcp-mem", 1, 0, O_TCPMEM }, { "tcp-flows", 1, 0, O_TCPFLOWS },
		{ "tcp-flow-bytes", 1, 0, O_TCPFLOWBYTES }, { "tcp-idle", 1, 0, O_TCPIDLE },
		{ "user", 1, 0, O_USER }, { "allow-root", 0, 0, O_ALLOWROOT },
		{ "version", 0, 0, O_VERSION }, { "help", 0, 0, O_HELP },
		{ "check-options", 0, 0, O_CHECK }, { 0, 0, 0, 0 },
	};
	config_apply("decoded", lo, NULL, &argc, &argv);
	int ch;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
		switch (ch) {
		case O_IN: in_name = optarg; break;
		case O_OUT: out_name = optarg; break;
		case O_RUNDIR: run_dir = optarg; break;
		case O_RINGSIZE: opt_ring_size(optarg, &ring_size); break;
		case O_PORTS:
			if (opt_ports(optarg, lim.ports, 16) < 0)
				opt_fail("--ports", optarg, "a comma-separated list of at most 15 ports 1-65535");
			break;
		case O_FRAGMEM:
			if (opt_size(optarg, 65536, 1ull << 36, &lim.frag_mem_max) < 0)
				opt_fail("--frag-mem", optarg, "a size from 64K to 64G");
			break;
		case O_FRAGTIME:
			if (opt_seconds_ns(optarg, 1000000ull, 3600000000000ull, &lim.frag_timeout_ns) < 0)
				opt_fail("--frag-timeout", optarg, "seconds from 0.001 to 3600");
			break;
		case O_TCPMEM:
			if (opt_size(optarg, 65536, 1ull << 36, &lim.tcp_mem_max) < 0)
				opt_fail("--tcp-mem", optarg, "a size from 64K to 64G");
			break;
		case O_TCPFLOWS:
			if (opt_u64(optarg, 1, 100000000ull, &lim.tcp_flow_max) < 0)
				opt_fail("--tcp-flows", optarg, "a number from 1 to 100000000");
			break;
		case O_TCPFLOWBYTES:
			if (opt_size(optarg, 65538, 1ull << 30, &lim.tcp_flow_bytes_max) < 0)
				opt_fail("--tcp-flow-bytes", optarg, "a size from 65538 (one message) to 1G");
			break;
		case O_TCPIDLE:
			if (opt_seconds_ns(optarg, 1000000ull, 86400000000000ull, &lim.tcp_idle_ns) < 0)
				opt_fail("--tcp-idle", optarg, "seconds from 0.001 to 86400");
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
	if (!*run_dir || (user && !*user) || !*in_name || !*out_name)
		die(EXIT_USAGE, "--%s needs a non-empty value", !*run_dir ? "run-dir" : !*in_name ? "in"
							      : !*out_name ? "out" : "user");
	if (check_only)
		return 0;
	priv_settle(user, allow_root);

	static struct decoded d; /* one per process */
	char path[512], err[600];
	struct ring_create ic = { .capacity = ring_size, .kind = RING_KIND_FRAMES };
	d.in = ring_attach(opt_ring_path(run_dir, in_name, path, sizeof path), RING_CONSUMER,
			   RING_KIND_FRAMES, &ic, err, sizeof err);
	if (!d.in)
		die(errno == EINVAL ? EXIT_CORRUPT : 1, "%s", err);
	struct ring_create oc = { .capacity = ring_size, .kind = RING_KIND_MESSAGES };
	d.out = ring_attach(opt_ring_path(run_dir, out_name, path, sizeof path), RING_PRODUCER,
			    RING_KIND_MESSAGES, &oc, err, sizeof err);
	if (!d.out)
		die(errno == EINVAL ? EXIT_CORRUPT : 1, "%s", err);
	ring_set_stop_flag(d.in, &stop);
	ring_set_manual_release(d.in, 1);
	d.rr_stage = malloc(MAX_RRS * sizeof *d.rr_stage);
	d.text_stage = malloc(TEXT_STAGE);
	d.nd = netdecode_new(&lim, on_message, &d);
	if (!d.rr_stage || !d.text_stage || !d.nd)
		die(1, "out of memory at start-up");

	char stage[64], ckpath[600], identity[1200];
	const char *base = strrchr(in_name, '/') ? strrchr(in_name, '/') + 1 : in_name;
	snprintf(stage, sizeof stage, "decoded.%s", strncmp(base, "cap.", 4) ? base : base + 4);
	snprintf(ckpath, sizeof ckpath, "%s/%s.ckpt", run_dir, stage);
	snprintf(identity, sizeof identity, "decoded %s -> %s", ring_path(d.in), ring_path(d.out));
	if (!(d.ckpt = checkpoint_open(ckpath, identity, 1, 1, err, sizeof err)))
		die(1, "%s", err);
	resume(&d, run_dir, stage);
	d.boundary_out = ring_pending_head(d.out);
	ring_set_publish_hook(d.out, on_forced_publish, &d);
	if (!(d.stats = statseg_open(run_dir, stage, err, sizeof err)))
		log_warn("%s: counters will not be visible to dnstrail-ctl", err);
	statseg_add(d.stats, &d.st, decoded_stat_desc, sizeof decoded_stat_desc / sizeof decoded_stat_desc[0]);
	statseg_add(d.stats, netdecode_stats(d.nd), netdecode_stat_desc, netdecode_stat_count);
	statseg_add(d.stats, &d.parse, dns_parse_stat_desc, dns_parse_stat_count);

	struct sigaction sa = { .sa_handler = on_stop };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);

	int code = run(&d);
	netdecode_finish(d.nd);
	publish_all(&d);
	ring_set_eof(d.out);
	log_stats(&d);
	stats_log_rusage();
	statseg_close(d.stats);
	ring_detach(d.in);
	ring_detach(d.out);
	netdecode_free(d.nd);
	checkpoint_close(d.ckpt);
	free(d.rr_stage);
	free(d.text_stage);
	return code;
}
