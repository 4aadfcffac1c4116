/*
 * dnstrail-capd - the capture stage, and the only one that ever holds root.
 *
 * It opens the capture (interface or file) and its output rings, drops to
 * --user, and only then reads packets.  Each frame goes whole, with its
 * capture timestamp, to ring cap.K where K is a symmetric hash of the IP
 * addresses modulo the number of rings: both directions of a flow and all
 * fragments of a datagram meet in the same decoder.
 *
 * Full rings: live, a frame that does not fit is dropped and counted in the
 * ring header (the only place dnstrail drops live traffic); from a file,
 * capd waits, so offline runs are lossless.  At the end of the file, or on
 * SIGTERM/SIGINT, capd publishes what it holds, marks every ring EOF so the
 * stages behind it drain and stop, and exits.  Reading a file, it keeps
 * checkpoints, so a capd killed part way and started again continues after
 * the last frame it published (resume.c).
 *
 * libpcap opens every source and checks it; a classic pcap file is then
 * read by capd's own reader (savefile.c) and the default filter answered
 * without BPF for the common DNS frame (quickfilter.c), libpcap doing the
 * rest: the same frames pass, at a third of the instructions.
 */
#include "capture.h"
#include "quickfilter.h"
#include "resume.h"
#include "savefile.h"
#include "config.h"
#include "log.h"
#include "netwalk.h"
#include "opt.h"
#include "priv.h"
#include "records.h"
#include "ring.h"
#include "statseg.h"
#include "stats.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_RINGS 64
#define DISPATCH_BATCH 256

struct capd_stats {
	uint64_t frames; /* read from the capture */
	uint64_t bytes;
	uint64_t ring_drops; /* frames dropped on full rings (live only) */
	uint64_t kernel_drops; /* live: dropped by the kernel (libpcap ps_drop) */
	uint64_t if_drops; /* live: dropped by the interface (ps_ifdrop) */
	uint64_t ticks;
};

static const struct stat_desc capd_stat_desc[] = {
	STAT_DESC(struct capd_stats, frames, "capd.frames", "frames read from the capture"),
	STAT_DESC(struct capd_stats, bytes, "capd.bytes", "bytes of those frames"),
	STAT_DESC(struct capd_stats, ring_drops, "capd.ring_drops",
		  "frames dropped because a decoder ring was full (live capture only)"),
	STAT_DESC(struct capd_stats, kernel_drops, "capd.kernel_drops",
		  "frames the kernel dropped before capd read them (enlarge --buffer-size)"),
	STAT_DESC(struct capd_stats, if_drops, "capd.if_drops", "frames the interface dropped"),
	STAT_DESC(struct capd_stats, ticks, "capd.ticks", "clock ticks sent to the decoders"),
};

struct capd {
	pcap_t *pcap;
	int dlt;
	int live;
	struct capture_filter filter;
	const uint16_t *ports; /* of the default filter */
	struct savefile file; /* capd's own reader, while 'own_reader' */
	int own_reader;
	int break_loop; /* on_frame: stop the batch (like pcap_breakloop) */
	struct ring *out[MAX_RINGS];
	unsigned n_out;
	uint64_t pace_pps; /* file mode: frames per second, 0 = as fast as possible */
	uint64_t per_ring[MAX_RINGS];
	struct capd_stats st;
	struct statseg *stats;
	uint64_t stats_mono_ns;
	uint64_t last_ts_ns; /* newest frame time seen */
	uint64_t frames_since_tick;
	uint64_t last_tick_mono_ns;
	struct capd_resume rs;
};

static volatile sig_atomic_t stop, dump_stats;
static pcap_t *signal_pcap; /* per process: lets the handler break pcap's loop */

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
	if (signal_pcap)
		pcap_breakloop(signal_pcap);
}

/* Tell every decoder that packet time has reached ts (records.h, REC_TICK).
 * Live, a full ring just misses a tick: the next one carries the news. */
static void send_ticks(struct capd *c, uint64_t ts)
{
	for (unsigned i = 0; i < c->n_out; i++) {
		struct rec_tick *t = c->live ? ring_try_reserve(c->out[i], sizeof *t)
					     : ring_reserve(c->out[i], sizeof *t);
		if (!t)
			continue;
		t->ts_ns = ts;
		ring_commit(c->out[i], REC_TICK, sizeof *t);
	}
	c->frames_since_tick = 0;
	c->st.ticks++;
	c->last_tick_mono_ns = ring_now_mono_ns();
}

/* Live only: a quiet link still moves time forward (so pending queries time
 * out), a little behind the wall clock since frames reach us in blocks. */
static void tick_if_quiet(struct capd *c)
{
	uint64_t mono = ring_now_mono_ns();
	if (mono - c->last_tick_mono_ns < TICK_INTERVAL_MS * 1000000ull)
		return;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	uint64_t wall = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	uint64_t lag = 2 * TICK_INTERVAL_MS * 1000000ull;
	uint64_t ts = wall > lag && wall - lag > c->last_ts_ns ? wall - lag : c->last_ts_ns;
	send_ticks(c, ts);
}

static void on_usr1(int sig)
{
	(void)sig;
	dump_stats = 1;
}

static void on_frame(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct capd *c = (struct capd *)user;
	unsigned k = 0;
	if (c->n_out > 1) {
		struct net_l3 l3;
		if (netwalk_frame(c->dlt, bytes, h->caplen, &l3) == NW_OK)
			k = netwalk_flow_hash(&l3) % c->n_out;
	}
	c->st.frames++;
	c->st.bytes += h->caplen;
	if (resume_skip(&c->rs, k)) {
		resume_frame_done(&c->rs, h->caplen);
		return; /* that ring got it before a restart */
	}
	struct rec_frame *f = ring_reserve(c->out[k], (uint32_t)(sizeof *f + h->caplen));
	if (!f) {
		/* Live: dropped and counted by the ring.  File: we are stopping,
		 * and this frame is not done. */
		if (!c->live) {
			pcap_breakloop(c->pcap);
			c->break_loop = 1;
		}
		return;
	}
	int64_t ns = (int64_t)h->ts.tv_sec * 1000000000LL + (int64_t)h->ts.tv_usec;
	f->ts_ns = ns > 0 ? (uint64_t)ns : 0;
	if (f->ts_ns > c->last_ts_ns)
		c->last_ts_ns = f->ts_ns;
	f->wire_len = h->len;
	f->dlt = (uint16_t)c->dlt;
	f->flags = 0;
	memcpy(f + 1, bytes, h->caplen);
	ring_commit(c->out[k], REC_FRAME, (uint32_t)(sizeof *f + h->caplen));
	resume_frame_done(&c->rs, h->caplen);
	c->per_ring[k]++;
	if (++c->frames_since_tick >= TICK_FRAMES)
		send_ticks(c, c->last_ts_ns);
}

static void refresh_stats(struct capd *c)
{
	uint64_t drops = 0;
	for (unsigned i = 0; i < c->n_out; i++)
		drops += atomic_load_explicit(&ring_header(c->out[i])->dropped, memory_order_relaxed);
	c->st.ring_drops = drops;
	struct pcap_stat ps;
	if (c->live && pcap_stats(c->pcap, &ps) == 0) {
		c->st.kernel_drops = ps.ps_drop;
		c->st.if_drops = ps.ps_ifdrop;
	}
	statseg_update(c->stats);
}

static void publish_all(struct capd *c)
{
	resume_checkpoint(&c->rs);
	for (unsigned i = 0; i < c->n_out; i++) {
		/* Live traffic is handed on at once; a file in big batches. */
		if (c->live)
			ring_flush(c->out[i]);
		else
			ring_publish(c->out[i]);
		ring_producer_heartbeat(c->out[i]);
	}
	uint64_t mono = ring_now_mono_ns();
	if (mono - c->stats_mono_ns >= 100000000ull) {
		refresh_stats(c);
		c->stats_mono_ns = mono;
	}
}

/* File mode with --pace: sleep until frames/pps seconds have passed. */
static void pace(struct capd *c, const struct timespec *t0)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double due = (double)c->st.frames / (double)c->pace_pps;
	double spent = (double)(now.tv_sec - t0->tv_sec) + (now.tv_nsec - t0->tv_nsec) / 1e9;
	if (due > spent) {
		double d = due - spent;
		struct timespec ts = { (time_t)d, (long)((d - (double)(time_t)d) * 1e9) };
		nanosleep(&ts, NULL);
	}
}

/* What the filter says of a record from capd's own reader: what libpcap's
 * would, the common DNS frame answered without BPF. */
static int passes_filter(const struct capd *c, const struct pcap_pkthdr *h, const uint8_t *data)
{
	if (!c->filter.prog.bf_len)
		return 1;
	if (c->filter.is_default && quick_accept(c->dlt, data, h->caplen, c->ports))
		return 1;
	return pcap_offline_filter(&c->filter.prog, h, data) != 0;
}

/* From the first record capd's reader does not take, libpcap reads on. */
static void hand_over(struct capd *c, const char *source)
{
	if (savefile_hand_over(&c->file, c->pcap) < 0)
		die(1, "%s: cannot seek to byte %" PRIu64 " to go on reading: %s", source,
		    c->file.offset, strerror(errno));
	savefile_close(&c->file);
	c->own_reader = 0;
	c->rs.exact = 0;
}

/* Up to batch frames through on_frame; returns what pcap_dispatch would
 * (the count, 0 at the end of the file, PCAP_ERROR_BREAK or PCAP_ERROR). */
static int read_batch(struct capd *c, int batch, const char *source)
{
	if (!c->own_reader)
		return pcap_dispatch(c->pcap, batch, on_frame, (u_char *)c);
	int n = 0;
	while (n < batch) {
		if (stop || c->break_loop) {
			c->break_loop = 0;
			return n ? n : PCAP_ERROR_BREAK;
		}
		struct pcap_pkthdr h;
		const uint8_t *data;
		enum savefile_next r = savefile_next(&c->file, &h, &data);
		if (r == SAVEFILE_END)
			return n;
		if (r == SAVEFILE_LIBPCAP) {
			hand_over(c, source);
			return n ? n : pcap_dispatch(c->pcap, batch, on_frame, (u_char *)c);
		}
		if (!passes_filter(c, &h, data)) {
			resume_frame_filtered(&c->rs, h.caplen);
			continue;
		}
		on_frame((u_char *)c, &h, data);
		n++;
	}
	return n;
}

/* Returns the exit code: 0, or EXIT_CORRUPT when a file was cut short. */
static int capture_loop(struct capd *c, const char *source)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int batch = DISPATCH_BATCH;
	if (c->pace_pps && c->pace_pps / 100 < (uint64_t)batch)
		batch = c->pace_pps / 100 > 0 ? (int)(c->pace_pps / 100) : 1;
	while (!stop) {
		int n = read_batch(c, batch, source);
		publish_all(c);
		if (n == PCAP_ERROR_BREAK)
			break;
		if (n == PCAP_ERROR) {
			if (c->live)
				die(1, "capture on %s failed: %s", source, pcap_geterr(c->pcap));
			const char *why = pcap_geterr(c->pcap);
			/* libpcap 1.10 reads a pcapng only while every interface
			 * has the first one's link type and snapshot length. */
			if (strstr(why, "different from"))
				log_warn("capture %s: libpcap cannot read a pcapng whose interfaces differ "
					 "(%s); %" PRIu64 " frames before that point passed the filter and "
					 "are processed; convert it first (editcap -F pcap, or one file per "
					 "interface)",
					 source, why, c->st.frames);
			else
				log_warn("capture %s is damaged or cut short after %" PRIu64 " frames "
					 "passed the filter (%s); everything before that point is processed",
					 source, c->st.frames, why);
			return EXIT_CORRUPT;
		}
		if (n == 0 && !c->live)
			break; /* end of file */
		if (c->live)
			tick_if_quiet(c);
		if (c->pace_pps)
			pace(c, &t0);
		if (dump_stats) {
			dump_stats = 0;
			refresh_stats(c);
			statseg_log(c->stats);
		}
	}
	return 0;
}

static void chown_rings(struct capd *c, const char *user)
{
	struct passwd *pw = getpwnam(user);
	if (!pw)
		return; /* priv_drop reports it */
	for (unsigned i = 0; i < c->n_out; i++)
		if (chown(ring_path(c->out[i]), pw->pw_uid, pw->pw_gid) < 0)
			log_warn("cannot hand %s to %s: the decoders may not open it", ring_path(c->out[i]),
				 user);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: dnstrail-capd (-r FILE | -i IFACE) [options]\n"
		"  -r, --read FILE    read a pcap or pcapng file ('-' for stdin)\n"
		"  -i, --interface IF capture live on an interface\n"
		"  -f, --filter BPF   capture filter (default: the DNS ports, IP fragments and IPv6\n"
		"                     extension headers, also inside VLAN/QinQ tags; '' for none)\n"
		"  --ports LIST       DNS ports for the default filter (default 53)\n"
		"  --decoders N       write to rings cap.0 .. cap.N-1 (default 1)\n"
		"  --out NAME         an output ring by name (repeatable; instead of --decoders)\n"
		"  --run-dir DIR      where ring names live (default %s)\n"
		"  --ring-size BYTES  size of a ring this stage creates (default 16M)\n"
		"  --snaplen N        live: bytes kept per frame (default 65535)\n"
		"  --buffer-size B    live: kernel capture buffer (default 64M)\n"
		"  --no-promisc       live: do not put the interface in promiscuous mode\n"
		"  --pace PPS         file: replay at this many frames per second\n"
		"  --user USER        drop root to USER once the capture is open (default dnstrail)\n"
		"  --allow-root       keep root (not recommended)\n"
		"  --check-options    check the options and configuration, then exit\n"
		"  --config FILE      configuration file, section [capd] (default %s)\n"
		"  --version, --help\n",
		DNSTRAIL_RUN_DIR, DNSTRAIL_CONFIG);
}

int main(int argc, char **argv)
{
	log_init("dnstrail-capd");
	struct capture_opts co = { .snaplen = 65535, .buffer_size = 64u << 20, .promisc = 1 };
	uint16_t ports[64] = { 53, 0 };
	co.ports = ports;
	const char *run_dir = DNSTRAIL_RUN_DIR, *user = "dnstrail";
	const char *outs[MAX_RINGS];
	unsigned n_outs = 0;
	uint64_t decoders = 1, ring_size = 16u << 20, v;
	int allow_root = 0;
	struct capd c = { 0 };
	enum { O_PORTS = 256, O_DECODERS, O_OUT, O_RUNDIR, O_RINGSIZE, O_SNAPLEN, O_BUFSIZE,
	       O_NOPROMISC, O_PACE, O_USER, O_ALLOWROOT, O_VERSION, O_HELP, O_CHECK };
	int check_only = 0;
	static const struct option lo[] = {
		{ "ports", 1, 0, O_PORTS }, { "decoders", 1, 0, O_DECODERS }, { "out", 1, 0, O_OUT },
		{ "run-dir", 1, 0, O_RUNDIR }, { "ring-size", 1, 0, O_RINGSIZE },
		{ "snaplen", 1, 0, O_SNAPLEN }, { "buffer-size", 1, 0, O_BUFSIZE },
		{ "no-promisc", 0, 0, O_NOPROMISC }, { "pace", 1, 0, O_PACE }, { "user", 1, 0, O_USER },
		{ "allow-root", 0, 0, O_ALLOWROOT }, { "version", 0, 0, O_VERSION },
		{ "help", 0, 0, O_HELP }, { "read", 1, 0, 'r' }, { "interface", 1, 0, 'i' },
		{ "filter", 1, 0, 'f' }, { "check-options", 0, 0, O_CHECK }, { 0, 0, 0, 0 },
	};
	config_apply("capd", lo, "out\0", &argc, &argv);
	int ch;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":r:i:f:", lo, NULL)) != -1) {
		switch (ch) {
		case 'r': co.file = optarg; break;
		case 'i': co.iface = optarg; break;
		case 'f': co.filter = optarg; break;
		case O_PORTS:
			if (opt_ports(optarg, ports, 64) < 0)
				opt_fail("--ports", optarg, "a comma-separated list of ports 1-65535");
			break;
		case O_DECODERS:
			if (opt_u64(optarg, 1, MAX_RINGS, &decoders) < 0)
				opt_fail("--decoders", optarg, "a number from 1 to 64");
			break;
		case O_OUT:
			if (n_outs == MAX_RINGS)
				die(EXIT_USAGE, "too many --out rings (at most %d)", MAX_RINGS);
			outs[n_outs++] = optarg;
			break;
		case O_RUNDIR: run_dir = optarg; break;
		case O_RINGSIZE: opt_ring_size(optarg, &ring_size); break;
		case O_SNAPLEN:
			if (opt_u64(optarg, 64, 262144, &v) < 0)
				opt_fail("--snaplen", optarg, "a number from 64 to 262144");
			co.snaplen = (int)v;
			break;
		case O_BUFSIZE:
			if (opt_size(optarg, 1u << 20, 1u << 31, &co.buffer_size) < 0)
				opt_fail("--buffer-size", optarg, "a size from 1M to 2G");
			break;
		case O_NOPROMISC: co.promisc = 0; break;
		case O_PACE:
			if (opt_u64(optarg, 1, 100000000, &c.pace_pps) < 0)
				opt_fail("--pace", optarg, "frames per second, 1 to 100000000");
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
	if (!co.file == !co.iface)
		die(EXIT_USAGE, "give exactly one of -r FILE or -i IFACE (see --help)");
	if (c.pace_pps && !co.file)
		die(EXIT_USAGE, "--pace applies to -r only");
	if ((co.file && !*co.file) || (co.iface && !*co.iface))
		die(EXIT_USAGE, "%s needs a non-empty value", co.file ? "-r/--read" : "-i/--interface");
	if (co.filter && *co.filter)
		capture_check_filter(co.filter);
	for (unsigned i = 0; i < n_outs; i++)
		if (!*outs[i])
			die(EXIT_USAGE, "--out needs a non-empty value");
	if (!*run_dir || !*user)
		die(EXIT_USAGE, "--%s needs a non-empty value", !*run_dir ? "run-dir" : "user");
	if (check_only)
		return 0;

	c.live = co.iface != NULL;
	c.pcap = capture_open(&co, &c.filter);
	c.dlt = pcap_datalink(c.pcap);
	c.ports = ports;

	char name[32], path[512], err[600];
	c.n_out = n_outs ? n_outs : (unsigned)decoders;
	struct ring_create rc = { .capacity = ring_size, .kind = RING_KIND_FRAMES };
	struct passwd *pw = geteuid() == 0 && !allow_root ? getpwnam(user) : NULL;
	if (pw) {
		rc.set_owner = 1;
		rc.uid = pw->pw_uid;
		rc.gid = pw->pw_gid;
	}
	for (unsigned i = 0; i < c.n_out; i++) {
		snprintf(name, sizeof name, "cap.%u", i);
		opt_ring_path(run_dir, n_outs ? outs[i] : name, path, sizeof path);
		c.out[i] = ring_attach(path, RING_PRODUCER, RING_KIND_FRAMES, &rc, err, sizeof err);
		if (!c.out[i])
			die(errno == EINVAL ? EXIT_CORRUPT : 1, "%s", err);
		ring_set_full_policy(c.out[i], c.live ? RING_FULL_DROP : RING_FULL_WAIT);
		ring_set_stop_flag(c.out[i], &stop);
	}

	if (!c.live) {
		resume_open(&c.rs, co.file, c.pcap, c.out, c.n_out, run_dir);
		/* From where resume_open put libpcap's stream (the start, or a
		 * restart's resume point). */
		uint64_t at = (uint64_t)ftello(pcap_file(c.pcap));
		c.own_reader = strcmp(co.file, "-") && savefile_open(&c.file, c.pcap, at);
		c.rs.exact = c.own_reader;
	}

	/* Everything privileged is open: give up root before the first packet. */
	if (geteuid() == 0 && !allow_root) {
		chown_rings(&c, user);
		priv_drop(user);
	} else {
		/* Not root, maybe with CAP_NET_RAW: no longer needed either. */
		priv_drop_caps();
		priv_no_new_privs();
	}

	if (!(c.stats = statseg_open(run_dir, "capd", err, sizeof err)))
		log_warn("%s: counters will not be visible to dnstrail-ctl", err);
	statseg_add(c.stats, &c.st, capd_stat_desc, sizeof capd_stat_desc / sizeof capd_stat_desc[0]);

	struct sigaction sa = { .sa_handler = on_stop };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal_pcap = c.pcap;

	const char *source = co.file ? (strcmp(co.file, "-") ? co.file : "(stdin)") : co.iface;
	int code = capture_loop(&c, source);
	publish_all(&c);
	for (unsigned i = 0; i < c.n_out; i++)
		ring_set_eof(c.out[i]);

	refresh_stats(&c);
	if (c.live)
		log_info("%s: %" PRIu64 " frames captured, %" PRIu64 " dropped by the kernel, %" PRIu64
			 " by the interface, %" PRIu64 " dropped on full rings",
			 source, c.st.frames, c.st.kernel_drops, c.st.if_drops, c.st.ring_drops);
	else
		log_info("%s: %" PRIu64 " frames read", source, c.st.frames);
	statseg_close(c.stats);
	resume_close(&c.rs);
	if (c.own_reader)
		savefile_close(&c.file);
	capture_filter_free(&c.filter);
	stats_log_rusage();
	for (unsigned i = 0; i < c.n_out; i++)
		ring_detach(c.out[i]);
	pcap_close(c.pcap);
	return code;
}
