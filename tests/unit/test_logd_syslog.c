/*
 * test_logd_syslog.c - the syslog sink and the connection logic it shares
 * with fluentd (netconn.c): RFC 5424 header parts, timestamps read from
 * the lines, facility and severity names; then the sink driven through a
 * real io_uring against real sockets the test reads: exact datagrams on a
 * unix socket (including a receiver whose queue is full, where the kernel
 * makes io_uring send empty datagrams unless the sink waits itself),
 * octet-counted frames on TCP, a UDP datagram too long to send, a TCP peer
 * that dies with data unacknowledged (the next connection must start at
 * the first unacknowledged message, whole), and the reconnect backoff on a
 * simulated clock, logged once.
 */
#include "../../logd/jsonw.h"
#include "../../logd/netconn.h"
#include "../../logd/sinks.h"
#include "uringfix.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000ull
#define SEC 1000000000ull

static void setup(void)
{
	uringfix_setup(64, "logd-syslog-test");
}

static void teardown(void)
{
	uringfix_teardown();
}

/* ---- header parts ---- */

START_TEST(header_parts)
{
	char b[SYSLOG_SUFFIX_MAX + 8], want[32];
	for (unsigned f = 0; f < 24; f++)
		for (unsigned sv = 0; sv < 8; sv++) {
			size_t n = syslog_prefix(b, f, sv);
			snprintf(want, sizeof want, "<%u>1 ", f * 8 + sv);
			ck_assert_uint_eq(n, strlen(want));
			ck_assert_int_eq(memcmp(b, want, n), 0);
		}
	ck_assert_int_eq((int)syslog_prefix(b, 16, 6), 7);
	ck_assert_int_eq(memcmp(b, "<134>1 ", 7), 0);

	size_t n = syslog_suffix(b, "vm", "dnstrail", 4242);
	ck_assert_int_eq(memcmp(b, " vm dnstrail 4242 - - ", n), 0);
	ck_assert_uint_eq(n, 22);
	n = syslog_suffix(b, "", "a p\xffp", 1); /* nothing to use / not PRINTUSASCII */
	b[n] = 0;
	ck_assert_str_eq(b, " - a_p_p 1 - - ");
	char host[400];
	memset(host, 'h', sizeof host - 1);
	host[sizeof host - 1] = 0;
	n = syslog_suffix(b, host, "x", 7);
	ck_assert_uint_eq(n, 1 + 255 + 1 + 1 + 7); /* " 7 - - " */
}
END_TEST

START_TEST(names)
{
	unsigned v;
	static const struct { const char *s; int ok; unsigned v; } fac[] = {
		{ "kern", 1, 0 }, { "user", 1, 1 }, { "daemon", 1, 3 }, { "authpriv", 1, 10 },
		{ "security", 1, 13 }, { "audit", 1, 13 }, { "local0", 1, 16 }, { "local7", 1, 23 },
		{ "0", 1, 0 }, { "23", 1, 23 }, { "24", 0, 0 }, { "local8", 0, 0 }, { "", 0, 0 },
		{ "01", 0, 0 }, { "-1", 0, 0 }, { "1x", 0, 0 }, { "LOCAL0", 0, 0 },
	};
	for (size_t i = 0; i < sizeof fac / sizeof fac[0]; i++) {
		int r = syslog_facility(fac[i].s, &v);
		ck_assert_msg((r == 0) == fac[i].ok, "facility '%s'", fac[i].s);
		if (fac[i].ok)
			ck_assert_uint_eq(v, fac[i].v);
	}
	static const struct { const char *s; int ok; unsigned v; } sev[] = {
		{ "emerg", 1, 0 }, { "err", 1, 3 }, { "error", 1, 3 }, { "warning", 1, 4 },
		{ "warn", 1, 4 }, { "info", 1, 6 }, { "debug", 1, 7 }, { "7", 1, 7 }, { "8", 0, 0 },
		{ "informational", 0, 0 },
	};
	for (size_t i = 0; i < sizeof sev / sizeof sev[0]; i++) {
		int r = syslog_severity(sev[i].s, &v);
		ck_assert_msg((r == 0) == sev[i].ok, "severity '%s'", sev[i].s);
		if (sev[i].ok)
			ck_assert_uint_eq(v, sev[i].v);
	}
	/* the spec: defaults, options, refusals */
	struct sink_spec sp;
	memset(&sp, 0, sizeof sp);
	char why[300];
	int unknown;
	ck_assert_int_eq(sink_syslog_address(&sp, "tcp:[::1]:514", why, sizeof why), 0);
	ck_assert_int_eq(sp.net.transport, NC_TCP);
	ck_assert_str_eq(sp.net.host, "::1");
	ck_assert_str_eq(sp.net.port, "514");
	ck_assert_uint_eq(sp.net.facility, 16);
	ck_assert_uint_eq(sp.net.severity, 6);
	ck_assert_str_eq(sp.net.app_name, "dnstrail");
	ck_assert_int_eq(sink_syslog_option(&sp, "facility", "daemon", &unknown, why, sizeof why), 0);
	ck_assert_int_eq(sink_syslog_option(&sp, "app-name", "dns", &unknown, why, sizeof why), 0);
	ck_assert_str_eq(sp.net.app_name, "dns");
	ck_assert_int_lt(sink_syslog_option(&sp, "app-name", "a b", &unknown, why, sizeof why), 0);
	ck_assert_int_eq(unknown, 0);
	ck_assert_int_lt(sink_syslog_option(&sp, "tag", "x", &unknown, why, sizeof why), 0);
	ck_assert_int_eq(unknown, 1);
	static const char *const bad[] = { "tcp:host", "tcp::514", "tcp:h:0", "tcp:h:65536", "tcp:::1:5",
					   "unix:", "tls:h:1", "tcp:[::1]514", "udp:h:x" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(sink_syslog_address(&sp, bad[i], why, sizeof why) < 0, "%s", bad[i]);
	ck_assert_int_eq(sink_syslog_address(&sp, "udp:127.0.0.1:5514", why, sizeof why), 0);
	ck_assert_int_eq(sp.net.transport, NC_UDP);
	ck_assert_int_eq(sink_syslog_address(&sp, "unix:/dev/log", why, sizeof why), 0);
	ck_assert_int_eq(sp.net.transport, NC_UNIX_DGRAM);
}
END_TEST

START_TEST(timestamps)
{
	char ts[SYSLOG_TS_MAX];
	struct jw_tscache c = { 0 };
	static const char json[] = "{\"tstamp\":\"2020-09-13T12:26:40.123456789Z\",\"x\":1}";
	size_t n = syslog_timestamp(ts, json, sizeof json - 1, &c);
	ck_assert_uint_eq(n, 27);
	ck_assert_int_eq(memcmp(ts, "2020-09-13T12:26:40.123456Z", 27), 0); /* cut, not rounded */
	static const char pdns[] = "1600000000.000001||192.0.2.1||192.0.2.2||IN||a.||A||1.2.3.4||60||1";
	n = syslog_timestamp(ts, pdns, sizeof pdns - 1, &c);
	ck_assert_int_eq(memcmp(ts, "2020-09-13T12:26:40.000001Z", n), 0);
	n = syslog_timestamp(ts, "0.999999||a", 11, &c);
	ck_assert_int_eq(memcmp(ts, "1970-01-01T00:00:00.999999Z", n), 0);
	/* against gmtime, over centuries */
	for (uint64_t sec = 0; sec < 4102444800ull; sec += 86399ull * 97 + 13) {
		char line[64], want[64];
		int l = snprintf(line, sizeof line, "%llu.%06u||x", (unsigned long long)sec,
				 (unsigned)(sec % 1000000));
		time_t t = (time_t)sec;
		struct tm tm;
		gmtime_r(&t, &tm);
		snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (unsigned)(sec % 1000000));
		n = syslog_timestamp(ts, line, (size_t)l, &c);
		ck_assert_uint_eq(n, 27);
		ck_assert_int_eq(memcmp(ts, want, 27), 0);
	}
	static const char *const none[] = { "", "{\"tstamp\":\"2020-09-13 12:26:40.123456789Z\"}",
					   "{\"a\":1}", "12345||", "1.12345||x", "x.123456||" };
	for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
		n = syslog_timestamp(ts, none[i], strlen(none[i]), &c);
		ck_assert_uint_eq(n, 1);
		ck_assert_int_eq(ts[0], '-');
	}
}
END_TEST

/* ---- the sink on real sockets ---- */

/* Lines "{"tstamp":"...","n":I,"pad":"xxx"}\n", one per record, record i
 * at ring position base + 100 i. */
static char bbuf[1 << 20];
static struct batch_rec brec[1024];
static struct batch make_batch(uint64_t base, uint32_t first, uint32_t n, size_t pad)
{
	struct batch b = { .buf = bbuf, .cap = sizeof bbuf, .rec = brec, .max = 1024 };
	ck_assert_uint_le(n, 1024);
	ck_assert_uint_le(n * (pad + 100), sizeof bbuf);
	for (uint32_t i = 0; i < n; i++) {
		int w = snprintf(bbuf + b.len, 128, "{\"tstamp\":\"2020-09-13T12:26:%02u.%09uZ\",\"n\":%u,\"pad\":\"",
				 (first + i) % 60, (first + i) * 7, first + i);
		b.len += (size_t)w;
		memset(bbuf + b.len, 'a' + (first + i) % 26, pad);
		b.len += pad;
		memcpy(bbuf + b.len, "\"}\n", 3);
		b.len += 3;
		brec[i] = (struct batch_rec){ .pos = base + 100ull * i, .end = (uint32_t)b.len, .lines = i + 1 };
	}
	b.n = n;
	b.pos_end = base + 100ull * n;
	return b;
}

/* The message syslog must carry for line i of make_batch. */
static size_t expected_msg(char *out, uint32_t i, size_t pad, unsigned pri, const char *app)
{
	char host[300] = "", suffix[SYSLOG_SUFFIX_MAX];
	gethostname(host, sizeof host - 1);
	size_t sl = syslog_suffix(suffix, host, app, (long)getpid());
	int n = sprintf(out, "<%u>1 2020-09-13T12:26:%02u.%06uZ%.*s{\"tstamp\":\"2020-09-13T12:26:%02u.%09uZ\","
			"\"n\":%u,\"pad\":\"", pri, i % 60, i * 7 / 1000, (int)sl, suffix, i % 60, i * 7, i);
	memset(out + n, 'a' + i % 26, pad);
	memcpy(out + n + pad, "\"}", 2);
	return (size_t)n + pad + 2;
}

static void make_sink(struct sink *s, const char *addr, size_t qbytes, const char *opts)
{
	struct sink_spec sp;
	memset(&sp, 0, sizeof sp);
	char why[300], err[700];
	sp.kind = SINK_SYSLOG;
	snprintf(sp.text, sizeof sp.text, "syslog:%s", addr);
	sp.queue_bytes = qbytes;
	sp.wait_ns = 1 * SEC;
	sp.stall_ns = 30 * SEC;
	ck_assert_msg(sink_syslog_address(&sp, addr, why, sizeof why) == 0, "%s", why);
	if (opts) {
		char o[100], *v;
		snprintf(o, sizeof o, "%s", opts);
		int unknown;
		if ((v = strchr(o, '=')))
			*v++ = 0;
		ck_assert_int_eq(sink_syslog_option(&sp, o, v, &unknown, why, sizeof why), 0);
	}
	ck_assert_int_eq(sink_syslog_create(s, &sp, 0), 0);
	s->index = 0;
	ck_assert_msg(s->ops->open(s, err, sizeof err) == 0, "%s", err);
}

/* One loop turn at time now: tick, submit, then, if anything is in
 * flight, the completions that come within wait_ms. */
static int turn(struct sink *s, uint64_t now, int wait_ms)
{
	sink_tick(s, now);
	ck_assert_int_ge(sink_submit(s, &ring, now), 0);
	io_uring_submit(&ring);
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = { 0, wait_ms * 1000000L };
	int n = 0;
	if (NC(s)->pending && io_uring_wait_cqe_timeout(&ring, &cqe, &ts) == 0) {
		unsigned head;
		io_uring_for_each_cqe(&ring, head, cqe)
		{
			sink_complete(s, SINK_UD_TAG(cqe->user_data), cqe->res, now);
			n++;
		}
		io_uring_cq_advance(&ring, (unsigned)n);
	}
	return n;
}

static void close_sink(struct sink *s)
{
	s->ops->close(s);
	sink_free(s);
	/* reap what the closed socket's requests complete with */
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = { 0, 20 * 1000000L };
	while (io_uring_wait_cqe_timeout(&ring, &cqe, &ts) == 0)
		io_uring_cqe_seen(&ring, cqe);
}

static int unix_dgram_server(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	ck_assert_uint_lt(strlen(path), sizeof a.sun_path);
	memcpy(a.sun_path, path, strlen(path) + 1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

START_TEST(unix_datagrams_exact)
{
	char path[128];
	snprintf(path, sizeof path, "%s/log.sock", dir);
	int srv = unix_dgram_server(path);
	char addr[140];
	snprintf(addr, sizeof addr, "unix:%s", path);
	struct sink s;
	make_sink(&s, addr, 1 << 20, "facility=daemon");
	/* connect */
	for (int i = 0; i < 10 && NC(&s)->state != NC_UP; i++)
		turn(&s, 0, 50);
	ck_assert_int_eq(NC(&s)->state, NC_UP);
	/* The receiver does not read until the sink has met a full queue:
	 * the rest must wait for room, and no datagram may go out empty. */
	enum { N = 3000, PAD = 200 };
	uint32_t sent = 0, got = 0, saw_poll = 0;
	static char msg[70000], want[70000];
	/* The clock starts far from 0, where a stall timer left unset would
	 * fire at once. */
	for (uint64_t t = 1000000; t < 1100000 && got < N; t++) {
		if (sent < N && s.q_head - s.q_tail < (1 << 19)) {
			struct batch b = make_batch(1000 + 100ull * sent, sent, 100, PAD);
			sink_offer(&s, &b);
			sent += 100;
		}
		turn(&s, t * MS, 1);
		if (NC(&s)->polling)
			saw_poll = 1;
		if (!saw_poll && sent < N)
			continue;
		ssize_t r;
		while ((r = recv(srv, msg, sizeof msg, MSG_DONTWAIT)) >= 0) {
			size_t wn = expected_msg(want, got, PAD, 3 * 8 + 6, "dnstrail");
			ck_assert_msg((size_t)r == wn && !memcmp(msg, want, wn), "datagram %u: got %zd bytes: %.*s",
				      got, r, (int)(r < 200 ? r : 200), msg);
			got++;
		}
	}
	ck_assert_msg(saw_poll, "the receiver's queue never filled up");
	ck_assert_uint_eq(s.st.stalls, 0); /* waiting for room is not a stall */
	ck_assert_uint_eq(got, N);
	ck_assert_uint_eq(s.st.lines_written, N);
	ck_assert_uint_eq(s.st.lines_dropped, 0);
	ck_assert_uint_eq(s.done_pos, 1000 + 100ull * N);
	ck_assert_uint_eq(s.q_tail, s.q_head);
	close_sink(&s);
	close(srv);
}
END_TEST

START_TEST(unix_receiver_stuck_then_back)
{
	char path[128];
	snprintf(path, sizeof path, "%s/stuck.sock", dir);
	int srv = unix_dgram_server(path);
	char addr[140];
	snprintf(addr, sizeof addr, "unix:%s", path);
	struct sink s;
	make_sink(&s, addr, 4 << 20, NULL);
	uint64_t t = 1000 * SEC;
	for (int i = 0; i < 10 && NC(&s)->state != NC_UP; i++)
		turn(&s, t, 50);
	/* more than the receiver's queue and the socket buffer hold */
	enum { N = 2000, PAD = 400 };
	struct batch b = make_batch(1000, 0, N / 2, PAD);
	sink_offer(&s, &b);
	b = make_batch(1000 + 100ull * N / 2, N / 2, N / 2, PAD);
	sink_offer(&s, &b);
	for (int i = 0; i < 2000 && !NC(&s)->polling; i++)
		turn(&s, t += MS, 1);
	ck_assert_int_eq(NC(&s)->polling, 1);
	uint64_t accepted = s.st.lines_written;
	ck_assert_uint_lt(accepted, N);
	/* still waiting after stall= (30 s): stalled, new records dropped */
	turn(&s, t += 29 * SEC, 1);
	ck_assert_int_eq(s.stalled, 0);
	turn(&s, t += 2 * SEC, 1);
	ck_assert_int_eq(s.stalled, 1);
	ck_assert_uint_eq(s.st.stalls, 1);
	b = make_batch(1000 + 100ull * N, N, 10, PAD);
	sink_offer(&s, &b);
	ck_assert_uint_eq(s.st.lines_dropped_failing, 10);
	/* the receiver reads again: the queue goes out, the stall ends */
	static char msg[70000], want[70000];
	uint32_t got = 0;
	for (int i = 0; i < 100000 && got < N; i++) {
		turn(&s, t += MS, 1);
		ssize_t r;
		while ((r = recv(srv, msg, sizeof msg, MSG_DONTWAIT)) >= 0) {
			size_t wn = expected_msg(want, got, PAD, 134, "dnstrail");
			ck_assert_msg((size_t)r == wn && !memcmp(msg, want, wn), "datagram %u", got);
			got++;
		}
	}
	ck_assert_uint_eq(got, N);
	ck_assert_int_eq(s.stalled, 0);
	ck_assert_uint_eq(s.st.stalls, 1);
	ck_assert_uint_eq(s.st.lines_written, N);
	ck_assert_uint_eq(s.st.lines_written + s.st.lines_dropped, N + 10);
	ck_assert_uint_eq(s.done_pos, 1000 + 100ull * (N + 10));
	close_sink(&s);
	close(srv);
}
END_TEST

static int tcp_server(int *port, int rcvbuf)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	socklen_t l = sizeof a;
	getsockname(fd, (struct sockaddr *)&a, &l);
	*port = ntohs(a.sin_port);
	ck_assert_int_eq(listen(fd, 4), 0);
	return fd;
}

/* Reads what is there from fd into a growing stream buffer. */
struct stream {
	char *p;
	size_t len, cap, parsed;
	uint32_t msgs;
};

static void slurp_max(int fd, struct stream *st, size_t max)
{
	while (st->len < max) {
		if (st->cap - st->len < 65536) {
			st->cap = st->cap * 2 + 65536;
			st->p = realloc(st->p, st->cap);
		}
		size_t room = st->cap - st->len < max - st->len ? st->cap - st->len : max - st->len;
		ssize_t r = recv(fd, st->p + st->len, room, MSG_DONTWAIT);
		if (r <= 0)
			return;
		st->len += (size_t)r;
	}
}

static void slurp(int fd, struct stream *st)
{
	slurp_max(fd, st, SIZE_MAX);
}

/* Checks the octet-counted frames received so far, message first, first+1
 * ...; returns how many whole ones there are now. */
static uint32_t check_frames(struct stream *st, uint32_t first, size_t pad)
{
	static char want[70000];
	while (st->parsed < st->len) {
		char *p = st->p + st->parsed, *end = st->p + st->len, *sp = memchr(p, ' ', (size_t)(end - p));
		if (!sp)
			break;
		char *e;
		unsigned long len = strtoul(p, &e, 10);
		ck_assert_msg(e == sp && e > p && *p != '0', "not an octet count at offset %zu", st->parsed);
		if ((size_t)(end - sp - 1) < len)
			break;
		size_t wn = expected_msg(want, first + st->msgs, pad, 16 * 8 + 6, "dnstrail");
		ck_assert_msg(len == wn && !memcmp(sp + 1, want, wn), "frame %u differs", first + st->msgs);
		st->parsed = (size_t)(sp + 1 - st->p) + len;
		st->msgs++;
	}
	return st->msgs;
}

START_TEST(tcp_octet_counting)
{
	int port;
	int srv = tcp_server(&port, 0);
	char addr[64];
	snprintf(addr, sizeof addr, "tcp:127.0.0.1:%d", port);
	struct sink s;
	make_sink(&s, addr, 1 << 20, NULL);
	turn(&s, 0, 50);
	int c = accept(srv, NULL, NULL);
	ck_assert_int_ge(c, 0);
	enum { N = 5000, PAD = 300 };
	struct stream st = { 0 };
	uint32_t sent = 0;
	for (int t = 0; t < 200000 && (st.msgs < N || s.q_tail != s.q_head); t++) {
		if (sent < N && s.q_head - s.q_tail < (1 << 19)) {
			struct batch b = make_batch(1000 + 100ull * sent, sent, 250, PAD);
			sink_offer(&s, &b);
			sent += 250;
		}
		turn(&s, (uint64_t)t * MS, 1);
		slurp(c, &st);
		check_frames(&st, 0, PAD);
	}
	ck_assert_uint_eq(st.msgs, N);
	ck_assert_uint_eq(st.parsed, st.len);
	ck_assert_uint_eq(s.st.lines_written, N);
	ck_assert_uint_eq(s.done_pos, 1000 + 100ull * N);
	/* idle: nothing unacknowledged, so no recv stays pending */
	turn(&s, 300 * SEC, 20);
	turn(&s, 300 * SEC, 20);
	ck_assert_uint_eq(NC(&s)->pending, 0);
	close_sink(&s);
	close(c);
	close(srv);
	free(st.p);
}
END_TEST

START_TEST(tcp_peer_dies_resend_from_first_unacked)
{
	int port;
	int srv = tcp_server(&port, 4096); /* a small window: data stays unacknowledged */
	char addr[64];
	snprintf(addr, sizeof addr, "tcp:127.0.0.1:%d", port);
	struct sink s;
	make_sink(&s, addr, 8 << 20, NULL);
	turn(&s, 0, 50);
	int c = accept(srv, NULL, NULL);
	enum { N = 8000, PAD = 400 };
	for (uint32_t k = 0; k < N; k += 500) {
		struct batch b = make_batch(1000 + 100ull * k, k, 500, PAD);
		sink_offer(&s, &b);
	}
	ck_assert_uint_eq(s.st.lines_dropped, 0);
	/* The peer reads a little, then dies with data unread: RST. */
	struct stream st1 = { 0 };
	uint64_t t = 0;
	for (int i = 0; i < 50; i++, t += MS) {
		turn(&s, t, 2);
		slurp_max(c, &st1, 100000);
	}
	uint32_t read1 = check_frames(&st1, 0, PAD);
	ck_assert_uint_gt(read1, 0);
	ck_assert_uint_lt(s.st.lines_written, N); /* some of it is not acknowledged */
	close(c);
	for (int i = 0; i < 100 && !s.st.disconnects; i++, t += MS)
		turn(&s, t, 5);
	ck_assert_uint_eq(s.st.disconnects, 1);
	uint64_t written = s.st.lines_written;
	ck_assert_uint_ge(written, read1); /* what the peer read was acknowledged */
	/* sent but not acknowledged: more than nothing, at most what is left */
	ck_assert_uint_gt(s.st.lines_requeued, 0);
	ck_assert_uint_le(s.st.lines_requeued, N - written);
	/* The next connection starts with message number `written`, whole. */
	struct stream st2 = { 0 };
	int c2 = -1;
	for (int i = 0; i < 20000 && (st2.msgs < N - written || s.q_tail != s.q_head); i++, t += MS) {
		turn(&s, t, 1);
		if (c2 < 0 && NC(&s)->state == NC_UP)
			c2 = accept(srv, NULL, NULL);
		if (c2 >= 0) {
			slurp(c2, &st2);
			check_frames(&st2, (uint32_t)written, PAD);
		}
	}
	ck_assert_int_ge(c2, 0);
	ck_assert_uint_eq(st2.msgs, N - written);
	ck_assert_uint_eq(s.st.lines_written, N);
	ck_assert_uint_eq(s.st.lines_dropped, 0);
	ck_assert_uint_eq(s.st.connects, 2);
	ck_assert_uint_eq(s.done_pos, 1000 + 100ull * N);
	close_sink(&s);
	close(c2);
	close(srv);
	free(st1.p);
	free(st2.p);
}
END_TEST

START_TEST(udp_too_long_dropped_and_counted)
{
	int srv = socket(AF_INET, SOCK_DGRAM, 0);
	int big = 1 << 20;
	setsockopt(srv, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	bind(srv, (struct sockaddr *)&a, sizeof a);
	socklen_t l = sizeof a;
	getsockname(srv, (struct sockaddr *)&a, &l);
	char addr[64];
	snprintf(addr, sizeof addr, "udp:127.0.0.1:%d", ntohs(a.sin_port));
	struct sink s;
	make_sink(&s, addr, 1 << 20, NULL);
	for (int i = 0; i < 10 && NC(&s)->state != NC_UP; i++)
		turn(&s, 0, 50);
	/* records 0, 1 fit a datagram, 2 does not (65507 bytes is the most
	 * over IPv4), 3 and 4 fit again */
	struct batch b = make_batch(1000, 0, 2, 100);
	sink_offer(&s, &b);
	b = make_batch(1200, 2, 1, 65500);
	sink_offer(&s, &b);
	b = make_batch(1300, 3, 2, 100);
	sink_offer(&s, &b);
	for (int i = 0; i < 20; i++)
		turn(&s, (uint64_t)i * MS, 5);
	static char msg[70000], want[70000];
	uint32_t idx[] = { 0, 1, 3, 4 };
	for (int i = 0; i < 4; i++) {
		ssize_t r = recv(srv, msg, sizeof msg, MSG_DONTWAIT);
		size_t wn = expected_msg(want, idx[i], 100, 134, "dnstrail");
		ck_assert_msg(r == (ssize_t)wn && !memcmp(msg, want, wn), "datagram %d", i);
	}
	ck_assert_int_lt(recv(srv, msg, sizeof msg, MSG_DONTWAIT), 0);
	ck_assert_uint_eq(s.st.lines_written, 4);
	ck_assert_uint_eq(s.st.lines_dropped, 1);
	ck_assert_uint_eq(s.st.lines_dropped_oversize, 1);
	ck_assert_uint_eq(s.done_pos, 1500);
	close_sink(&s);
	close(srv);
}
END_TEST

/* Lines of the file f containing what. */
static int count_in_file(FILE *f, const char *what)
{
	char line[2048];
	int n = 0;
	rewind(f);
	while (fgets(line, sizeof line, f))
		n += strstr(line, what) != NULL;
	return n;
}

START_TEST(backoff_on_a_simulated_clock)
{
	/* the sequence itself */
	uint64_t b = NC_BACKOFF_MIN_NS;
	static const double want[] = { 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30, 30, 30 };
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		ck_assert_msg(b == (uint64_t)(want[i] * 1e9 + 0.5), "step %zu: %llu", i, (unsigned long long)b);
		b = nc_backoff_next(b);
	}
	ck_assert_uint_eq(nc_backoff_next(0), NC_BACKOFF_MIN_NS);

	/* A port nobody listens on: each attempt is refused at once; they
	 * must come at 0, 0.1, 0.3, 0.7, ... s, then every 30 s, and be
	 * logged once.  stderr goes to a file meanwhile. */
	int port;
	int srv = tcp_server(&port, 0);
	close(srv);
	char addr[64], logp[128];
	snprintf(addr, sizeof addr, "tcp:127.0.0.1:%d", port);
	snprintf(logp, sizeof logp, "%s/stderr", dir);
	fflush(stderr);
	int saved = dup(2);
	FILE *logf = fopen(logp, "w+");
	dup2(fileno(logf), 2);
	struct sink s;
	make_sink(&s, addr, 1 << 20, NULL);
	uint64_t attempts[16];
	unsigned na = 0;
	const uint64_t step = 5 * MS;
	for (uint64_t t = 0; t < 130 * SEC && na < 16; t += step) {
		uint64_t before = s.st.connect_failures;
		if (NC(&s)->state == NC_DOWN && !NC(&s)->pending && t >= NC(&s)->retry_at)
			attempts[na] = t;
		turn(&s, t, 20);
		if (s.st.connect_failures > before)
			na++;
	}
	/* records offered while down are kept, then dropped once wait= passed */
	ck_assert_int_eq(s.lagging, 1);
	static const double at[] = { 0, 0.1, 0.3, 0.7, 1.5, 3.1, 6.3, 12.7, 25.5, 51.1, 81.1, 111.1 };
	ck_assert_uint_ge(na, 12);
	for (unsigned i = 0; i < 12; i++) {
		uint64_t w = (uint64_t)(at[i] * 1e9 + 0.5);
		ck_assert_msg(attempts[i] >= w && attempts[i] < w + 2 * step, "attempt %u at %.3f s, want %.1f",
			      i, attempts[i] / 1e9, at[i]);
	}
	/* now a server: the next attempt connects */
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
	listen(lfd, 1);
	for (uint64_t t = 200 * SEC; t < 240 * SEC && NC(&s)->state != NC_UP; t += step)
		turn(&s, t, 20);
	ck_assert_int_eq(NC(&s)->state, NC_UP);
	ck_assert_uint_eq(s.st.connects, 1);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	ck_assert_int_eq(count_in_file(logf, "cannot connect"), 1);
	ck_assert_int_eq(count_in_file(logf, "no connection for"), 2); /* wait=, then stall= */
	ck_assert_int_eq(count_in_file(logf, "connected after"), 1);
	fclose(logf);
	close_sink(&s);
	close(lfd);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("logd_syslog");
	TCase *tc = tcase_create("syslog");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, header_parts);
	tcase_add_test(tc, names);
	tcase_add_test(tc, timestamps);
	tcase_add_test(tc, unix_datagrams_exact);
	tcase_add_test(tc, unix_receiver_stuck_then_back);
	tcase_add_test(tc, tcp_octet_counting);
	tcase_add_test(tc, tcp_peer_dies_resend_from_first_unacked);
	tcase_add_test(tc, udp_too_long_dropped_and_counted);
	tcase_add_test(tc, backoff_on_a_simulated_clock);
	suite_add_tcase(su, tc);
	SRunner *sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
