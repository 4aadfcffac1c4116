/*
 * netconn.c - the connection, queue and delivery accounting of logd's
 * socket sinks (netconn.h).
 *
 * Every socket operation of the loop goes through io_uring (connect with a
 * linked timeout, sendmsg, recv, cancel); the only direct syscalls are
 * socket(), shutdown(), close() and ioctl(SIOCOUTQ), none of which blocks.
 * The socket itself stays in blocking mode: io_uring then waits for room
 * (or an answer) by itself, which is what makes a peer that stops reading
 * show up as a send pending, subject to stall=, rather than as a busy loop
 * of EAGAIN.
 *
 * Ordering.  One stream send at a time (the stream stays in order whatever
 * its short writes); datagrams go as one linked chain of at most NC_CHAIN
 * sends (IOSQE_IO_LINK: each starts after the previous one completed, and a
 * failure cancels the rest, which is sent again from the first not
 * accepted).  So a sink never has two sends racing each other.
 *
 * Datagrams are sent with MSG_DONTWAIT, and a full receiver (EAGAIN) is
 * waited for with an io_uring poll for POLLOUT before the chain is sent
 * again.  Letting io_uring wait by itself would be simpler, but on Linux
 * 6.18 a unix datagram send that io_uring retries after such a wait goes
 * out empty (0 bytes, reported as a success): rsyslog then sees empty
 * messages and the records are lost.  A completed datagram send that
 * reports fewer bytes than the message is resent all the same.
 */
#include "netconn.h"

#include "log.h"
#include "opt.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/un.h>
#include <unistd.h>

enum { OP_CONNECT = 1, OP_TIMEOUT, OP_SEND, OP_RECV, OP_CANCEL, OP_POLL };
#define GEN_MASK 0xffffffu
#define TAG(nc, op, slot) (((nc)->gen & GEN_MASK) << 8 | (uint32_t)(slot) << 4 | (uint32_t)(op))
#define LINE_MIN 40 /* shortest line any format writes (passivedns, empty fields) */
#define SQ_RESERVE 24 /* submission slots a datagram chain leaves to the other sinks */

/* ------------------------------------------------------------ address */

int nc_parse_address(struct net_spec *n, const char *addr, int stream_unix, int allow_udp,
		     char *why, size_t whylen)
{
	if (!strncmp(addr, "unix:", 5)) {
		const char *p = addr + 5;
		if (!*p) {
			snprintf(why, whylen, "empty socket path");
			return -1;
		}
		if (strlen(p) > NC_PATH_MAX) {
			snprintf(why, whylen, "socket path longer than %d bytes", NC_PATH_MAX);
			return -1;
		}
		n->transport = stream_unix ? NC_UNIX_STREAM : NC_UNIX_DGRAM;
		snprintf(n->path, sizeof n->path, "%s", p);
		return 0;
	}
	int udp = !strncmp(addr, "udp:", 4), tcp = !strncmp(addr, "tcp:", 4);
	if (!tcp && !(udp && allow_udp)) {
		snprintf(why, whylen, allow_udp ? "expected unix:PATH, udp:HOST:PORT or tcp:HOST:PORT"
						: "expected unix:PATH or tcp:HOST:PORT");
		return -1;
	}
	const char *h = addr + 4, *hend, *port;
	if (*h == '[') {
		hend = strchr(h, ']');
		if (!hend || hend[1] != ':') {
			snprintf(why, whylen, "expected [IPV6-ADDRESS]:PORT");
			return -1;
		}
		h++;
		port = hend + 2;
	} else {
		hend = strrchr(h, ':');
		if (!hend) {
			snprintf(why, whylen, "missing :PORT after the host");
			return -1;
		}
		if (memchr(h, ':', (size_t)(hend - h))) {
			snprintf(why, whylen, "write an IPv6 address in brackets, e.g. tcp:[::1]:514");
			return -1;
		}
		port = hend + 1;
	}
	size_t hlen = (size_t)(hend - h);
	if (!hlen || hlen > NC_HOST_MAX) {
		snprintf(why, whylen, hlen ? "host name longer than %d bytes" : "empty host name",
			 NC_HOST_MAX);
		return -1;
	}
	uint64_t pn;
	if (opt_u64(port, 1, 65535, &pn)) {
		snprintf(why, whylen, "port '%s' is not a number between 1 and 65535", port);
		return -1;
	}
	n->transport = tcp ? NC_TCP : NC_UDP;
	memcpy(n->host, h, hlen);
	n->host[hlen] = 0;
	snprintf(n->port, sizeof n->port, "%u", (unsigned)pn);
	return 0;
}

uint64_t nc_backoff_next(uint64_t cur)
{
	if (cur < NC_BACKOFF_MIN_NS)
		return NC_BACKOFF_MIN_NS;
	return cur >= NC_BACKOFF_MAX_NS / 2 ? NC_BACKOFF_MAX_NS : cur * 2;
}

/* ------------------------------------------------------------ set up */

int nc_init(struct sink *s, struct netconn *nc, const struct nc_kind *kind,
	    const struct net_spec *spec)
{
	nc->kind = kind;
	nc->spec = *spec;
	nc->fd = -1;
	nc->state = NC_DOWN;
	nc->backoff_ns = NC_BACKOFF_MIN_NS;
	nc->connect_timeout.tv_sec = NC_CONNECT_TIMEOUT_S;
	nc->socktype = spec->transport == NC_TCP || spec->transport == NC_UNIX_STREAM ? SOCK_STREAM
										: SOCK_DGRAM;
	/* One unit per batch at most; batches merge when units run out, so
	 * this only needs to cover the batches of one queue. */
	size_t cap = s->qcap / 1024;
	nc->u_cap = (unsigned)(cap < 256 ? 256 : cap > 65536 ? 65536 : cap);
	nc->units = calloc(nc->u_cap, sizeof *nc->units);
	return nc->units ? 0 : -1;
}

int nc_resolve(struct sink *s, char *err, size_t errlen)
{
	struct netconn *nc = NC(s);
	const struct net_spec *sp = &nc->spec;
	memset(&nc->addr, 0, sizeof nc->addr);
	if (sp->transport == NC_UNIX_DGRAM || sp->transport == NC_UNIX_STREAM) {
		struct sockaddr_un *un = (struct sockaddr_un *)&nc->addr;
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, sp->path, strlen(sp->path));
		nc->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(sp->path) + 1);
		nc->family = AF_UNIX;
		return 0;
	}
	struct addrinfo hints = { .ai_socktype = nc->socktype, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(sp->host, sp->port, &hints, &res);
	if (rc || !res) {
		snprintf(err, errlen, "sink %s: cannot resolve '%s': %s (check the host name, or give "
			 "an address)", s->name, sp->host, rc ? gai_strerror(rc) : "no address");
		if (res)
			freeaddrinfo(res);
		return -1;
	}
	/* Resolved once: reconnecting must not block the loop on DNS. */
	memcpy(&nc->addr, res->ai_addr, res->ai_addrlen);
	nc->addrlen = res->ai_addrlen;
	nc->family = res->ai_family;
	freeaddrinfo(res);
	return 0;
}

static int is_stream(const struct netconn *nc)
{
	return nc->socktype == SOCK_STREAM;
}

/* Closing a socket does not end the io_uring requests on it (they hold the
 * file); shutdown does: they complete at once, with errors. */
static void close_fd(struct sink *s, int shut)
{
	struct netconn *nc = NC(s);
	if (nc->fd >= 0) {
		if (shut)
			shutdown(nc->fd, SHUT_RDWR);
		close(nc->fd);
	}
	nc->fd = s->fd = -1;
	nc->gen++;
}

void nc_close(struct sink *s)
{
	struct netconn *nc = NC(s);
	close_fd(s, 1);
	free(nc->units);
	nc->units = NULL;
}

/* ------------------------------------------------------------ queue */

void nc_read_at(const struct sink *s, uint64_t at, void *out, size_t n)
{
	size_t off = (size_t)(at % s->qcap);
	size_t first = s->qcap - off < n ? s->qcap - off : n;
	memcpy(out, s->q + off, first);
	memcpy((char *)out + first, s->q, n - first);
}

static struct nc_unit *unit_at(struct netconn *nc, unsigned i)
{
	return &nc->units[(nc->u_first + i) % nc->u_cap];
}

struct nc_unit *nc_last_unit(struct sink *s)
{
	struct netconn *nc = NC(s);
	return nc->u_n ? unit_at(nc, nc->u_n - 1) : NULL;
}

struct nc_unit *nc_new_unit(struct sink *s, uint64_t start)
{
	struct netconn *nc = NC(s);
	if (nc->u_n == nc->u_cap)
		return NULL;
	struct nc_unit *u = unit_at(nc, nc->u_n++);
	memset(u, 0, sizeof *u);
	u->start = u->end = start;
	u->lines_end = s->lines_head;
	return u;
}

void nc_drop_last_unit(struct sink *s)
{
	NC(s)->u_n--;
}

static void set_done(struct sink *s, uint64_t pos)
{
	if (pos > s->done_pos)
		s->done_pos = pos;
}

/* Length of the message at queue position at (datagram: with its length
 * word; stream: its octet-counted frame).  0 when malformed, which only a
 * bug could cause. */
static uint64_t msg_len(const struct sink *s, uint64_t at)
{
	const struct netconn *nc = s->impl;
	if (!is_stream(nc)) {
		uint32_t len;
		nc_read_at(s, at, &len, sizeof len);
		return 4ull + len;
	}
	char d[12];
	size_t avail = s->q_head - at < sizeof d ? (size_t)(s->q_head - at) : sizeof d;
	nc_read_at(s, at, d, avail);
	uint64_t v = 0;
	for (size_t i = 0; i < avail; i++) {
		if (d[i] == ' ')
			return i ? i + 1 + v : 0;
		if (d[i] < '0' || d[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(d[i] - '0');
	}
	return 0;
}

/* The message at q_tail is finished: delivered (written) or refused as too
 * long for a datagram. */
static void settle(struct sink *s, uint64_t len, uint64_t lines, uint64_t wire, int written)
{
	struct netconn *nc = NC(s);
	s->q_tail += len;
	s->lines_tail += lines;
	if (written) {
		s->st.lines_written += lines;
		s->st.bytes_written += wire;
		nc->backoff_ns = NC_BACKOFF_MIN_NS; /* this connection works */
	} else {
		s->st.lines_dropped += lines;
		s->st.bytes_dropped += wire;
		s->st.lines_dropped_oversize += lines;
	}
	if (s->q_sub < s->q_tail)
		s->q_sub = s->q_tail;
	while (nc->u_n && unit_at(nc, 0)->end <= s->q_tail) {
		set_done(s, unit_at(nc, 0)->pos);
		nc->u_first = (nc->u_first + 1) % nc->u_cap;
		nc->u_n--;
	}
}

/* Whole messages up to queue position upto are acknowledged. */
static void deliver_upto(struct sink *s, uint64_t upto)
{
	struct netconn *nc = NC(s);
	if (!nc->kind->octet_frames) {
		while (nc->u_n && unit_at(nc, 0)->end <= upto) {
			struct nc_unit *u = unit_at(nc, 0);
			uint64_t len = u->end - s->q_tail;
			settle(s, len, u->lines_end - s->lines_tail, len, 1);
		}
		return;
	}
	while (s->q_tail < s->q_head) {
		uint64_t len = msg_len(s, s->q_tail);
		if (!len || s->q_tail + len > upto)
			break;
		settle(s, len, 1, len, 1);
	}
}

/* Lines of the messages that started going out on this connection and are
 * not acknowledged: what a new connection sends again. */
static uint64_t lines_unacked(struct sink *s)
{
	struct netconn *nc = NC(s);
	if (!is_stream(nc))
		return 0; /* a datagram is acknowledged as its send completes */
	if (!nc->kind->octet_frames) {
		uint64_t lines = s->lines_tail;
		for (unsigned i = 0; i < nc->u_n && unit_at(nc, i)->start < nc->sent_hi; i++)
			lines = unit_at(nc, i)->lines_end;
		return lines - s->lines_tail;
	}
	uint64_t n = 0;
	for (uint64_t at = s->q_tail, len; at < nc->sent_hi && at < s->q_head; at += len, n++)
		if (!(len = msg_len(s, at)))
			break;
	return n;
}

/* Stream without application acks: what the peer's kernel acknowledged
 * (TCP) or the peer read (unix) is what SIOCOUTQ no longer counts.  For a
 * unix socket it counts buffer overhead too: that only makes the estimate
 * conservative. */
static void poll_acks(struct sink *s)
{
	struct netconn *nc = NC(s);
	if (nc->state != NC_UP || !is_stream(nc) || nc->app_acks ||
	    nc->acked_pos >= nc->conn_base + nc->conn_sent)
		return;
	int outq;
	if (ioctl(nc->fd, SIOCOUTQ, &outq) < 0 || outq < 0)
		return;
	uint64_t unacked = (uint64_t)outq < nc->conn_sent ? (uint64_t)outq : nc->conn_sent;
	uint64_t acked = nc->conn_base + nc->conn_sent - unacked;
	if (acked > nc->acked_pos) {
		nc->acked_pos = acked;
		deliver_upto(s, acked);
	}
}

void nc_ack(struct sink *s, const char *id, size_t len)
{
	struct netconn *nc = NC(s);
	unsigned i;
	for (i = 0; i < nc->u_n; i++) {
		struct nc_unit *u = unit_at(nc, i);
		if (u->sent && !u->acked && len == NC_ID_LEN && !memcmp(u->id, id, len))
			break;
	}
	if (i == nc->u_n) {
		if (!nc->unknown_ack_logged)
			log_warn("sink %s: the peer acknowledged a chunk logd is not waiting for "
				 "(ignored; logged once)", s->name);
		nc->unknown_ack_logged = 1;
		return;
	}
	unit_at(nc, i)->acked = 1;
	s->st.acks++;
	while (nc->u_n && unit_at(nc, 0)->acked) {
		struct nc_unit *u = unit_at(nc, 0);
		uint64_t len2 = u->end - s->q_tail;
		settle(s, len2, u->lines_end - s->lines_tail, len2, 1);
	}
}

/* ------------------------------------------------------------ states */

static void update_stalled(struct sink *s)
{
	struct netconn *nc = NC(s);
	s->stalled = nc->stalled_send || nc->stalled_down;
}

static void schedule_retry(struct netconn *nc, uint64_t now)
{
	nc->retry_at = now + nc->backoff_ns;
	nc->backoff_ns = nc_backoff_next(nc->backoff_ns);
}

static void connect_failed(struct sink *s, uint64_t now, const char *why)
{
	struct netconn *nc = NC(s);
	close_fd(s, 0);
	nc->state = NC_DOWN;
	s->st.connect_failures++;
	nc->attempts++;
	if (!nc->episode) {
		nc->episode = 1;
		nc->down_since = now;
		log_warn("sink %s: cannot connect: %s; retrying with backoff (%.1f s doubling to %.0f s), "
			 "keeping records in its queue meanwhile (size=; after wait= new ones are dropped "
			 "and counted)", s->name, why, NC_BACKOFF_MIN_NS / 1e9, NC_BACKOFF_MAX_NS / 1e9);
	}
	schedule_retry(nc, now);
}

static void conn_lost(struct sink *s, uint64_t now, const char *why)
{
	struct netconn *nc = NC(s);
	poll_acks(s); /* the last word on what arrived */
	uint64_t again = lines_unacked(s);
	s->st.disconnects++;
	s->st.lines_requeued += again;
	char resend[96] = "";
	if (is_stream(nc))
		snprintf(resend, sizeof resend, "; %" PRIu64 " lines sent but not acknowledged will be sent "
			 "again", again);
	log_warn("sink %s: connection lost: %s; reconnecting with backoff (%.1f s doubling to %.0f s)%s; "
		 "new records are queued meanwhile", s->name, why, NC_BACKOFF_MIN_NS / 1e9,
		 NC_BACKOFF_MAX_NS / 1e9, resend);
	close_fd(s, 1);
	nc->state = NC_DOWN;
	nc->sending = nc->receiving = nc->cancelling = nc->polling = nc->want_poll = 0;
	nc->stall_from = 0;
	nc->chain_n = 0;
	nc->rlen = 0;
	s->q_sub = s->q_tail;
	nc->episode = 1;
	nc->down_since = now;
	nc->attempts = 0;
	if (nc->stalled_send) {
		nc->stalled_send = 0;
		update_stalled(s);
	}
	schedule_retry(nc, now);
}

static void on_connect(struct sink *s, int res, uint64_t now)
{
	struct netconn *nc = NC(s);
	if (res < 0) {
		char why[160];
		if (res == -ECANCELED)
			snprintf(why, sizeof why, "no answer within %d s", NC_CONNECT_TIMEOUT_S);
		else
			snprintf(why, sizeof why, "%s", strerror(-res));
		connect_failed(s, now, why);
		return;
	}
	nc->state = NC_UP;
	nc->conn_base = nc->acked_pos = nc->sent_hi = s->q_tail;
	nc->conn_sent = 0;
	nc->rlen = 0;
	nc->hold_until = 0;
	s->q_sub = s->q_tail;
	s->st.connects++;
	if (nc->episode)
		log_info("sink %s: %s after %u failed attempt%s and %.1f s without a connection; sending "
			 "the %" PRIu64 " lines it holds", s->name, nc->ever_connected ? "reconnected"
			 : "connected", nc->attempts, nc->attempts == 1 ? "" : "s",
			 (double)(now - nc->down_since) / 1e9, s->lines_head - s->lines_tail);
	else if (!nc->ever_connected)
		log_info("sink %s: connected", s->name);
	nc->ever_connected = 1;
	nc->episode = 0;
	nc->attempts = 0;
	if (nc->stalled_down) {
		nc->stalled_down = 0;
		update_stalled(s);
	}
}

static void end_send_stall(struct sink *s)
{
	struct netconn *nc = NC(s);
	nc->stall_from = 0;
	if (!nc->stalled_send)
		return;
	nc->stalled_send = 0;
	update_stalled(s);
	log_info("sink %s: the stalled send completed; accepting records again", s->name);
}

static void on_stream_sent(struct sink *s, int res, uint64_t now)
{
	struct netconn *nc = NC(s);
	nc->sending = 0;
	end_send_stall(s);
	if (res > 0) {
		s->st.writes++;
		if ((size_t)res < nc->send_len)
			s->st.short_writes++;
		nc->conn_sent += (uint64_t)res;
		s->q_sub = nc->send_from + (uint64_t)res;
		poll_acks(s);
		return;
	}
	if (res == -EINTR || res == -EAGAIN || res == -ENOBUFS) {
		nc->hold_until = res == -EINTR ? 0 : now + NC_PAUSE_NS;
		return;
	}
	s->st.write_errors++;
	conn_lost(s, now, res ? strerror(-res) : "a send wrote nothing");
}

static void on_dgram_sent(struct sink *s, unsigned slot, int res, uint64_t now)
{
	struct netconn *nc = NC(s);
	if (slot >= nc->chain_n)
		return;
	nc->chain_res[slot] = res;
	if (++nc->chain_done < nc->chain_n)
		return;
	nc->sending = 0;
	unsigned i;
	for (i = 0; i < nc->chain_n; i++) {
		int r = nc->chain_res[i];
		uint64_t len = 4ull + nc->chain_len[i];
		if (r >= 0 && (uint32_t)r == nc->chain_len[i]) {
			s->st.writes++;
			settle(s, len, 1, nc->chain_len[i], 1);
		} else if (r >= 0) {
			s->st.write_errors++;
			if (!nc->short_dgram_logged)
				log_warn("sink %s: the kernel sent %d bytes of a %u-byte datagram: sending it "
					 "again (logged once)", s->name, r, nc->chain_len[i]);
			nc->short_dgram_logged = 1;
			nc->chain_res[i] = -ENOBUFS; /* retried after a pause, below */
			break;
		} else if (r == -EMSGSIZE) {
			s->st.write_errors++;
			if (!nc->oversize_logged)
				log_warn("sink %s: a message of %u bytes is longer than a datagram may be: "
					 "dropped and counted (lines_dropped_oversize; logged once)", s->name,
					 nc->chain_len[i]);
			nc->oversize_logged = 1;
			settle(s, len, 1, nc->chain_len[i], 0);
		} else {
			break;
		}
	}
	unsigned n = nc->chain_n;
	nc->chain_n = 0;
	s->q_sub = s->q_tail;
	if (i) /* progress: a slow receiver is not a stuck one */
		end_send_stall(s);
	if (i == n)
		return;
	if (!nc->stall_from)
		nc->stall_from = now; /* waiting again: the stall clock starts now */
	int r = nc->chain_res[i];
	if (r == -EAGAIN) {
		nc->want_poll = 1; /* the receiver's queue is full: wait for room */
	} else if (r == -ENOBUFS) {
		nc->hold_until = now + NC_PAUSE_NS; /* no poll tells when buffers are back */
	} else if (r != -EINTR && r != -ECANCELED) {
		end_send_stall(s);
		s->st.write_errors++;
		conn_lost(s, now, strerror(-r));
	}
}

static void on_recv(struct sink *s, int res, uint64_t now)
{
	struct netconn *nc = NC(s);
	nc->receiving = 0;
	if (res > 0) {
		if (!nc->kind->on_data)
			return; /* syslog peers have nothing to say */
		nc->rlen += (size_t)res;
		long used = nc->kind->on_data(s, nc->rbuf, nc->rlen);
		if (nc->state != NC_UP)
			return;
		if (used < 0) {
			conn_lost(s, now, "the peer answered something that is not an ack");
			return;
		}
		memmove(nc->rbuf, nc->rbuf + used, nc->rlen - (size_t)used);
		nc->rlen -= (size_t)used;
		if (nc->rlen == sizeof nc->rbuf)
			conn_lost(s, now, "the peer answered more than 1 KiB that is not an ack");
		return;
	}
	if (res == -ECANCELED || res == -EINTR || res == -EAGAIN)
		return; /* ours, or to be posted again */
	conn_lost(s, now, res ? strerror(-res) : "the peer closed the connection");
}

void nc_complete(struct sink *s, uint32_t tag, int res, uint64_t now)
{
	struct netconn *nc = NC(s);
	nc->pending--;
	if ((tag >> 8) != (nc->gen & GEN_MASK))
		return; /* from a connection given up */
	switch (tag & 15) {
	case OP_CONNECT: on_connect(s, res, now); break;
	case OP_SEND:
		if (is_stream(nc))
			on_stream_sent(s, res, now);
		else
			on_dgram_sent(s, tag >> 4 & 15, res, now);
		break;
	case OP_RECV: on_recv(s, res, now); break;
	case OP_CANCEL: nc->cancelling = 0; break;
	case OP_POLL: nc->polling = 0; break; /* room, or an error the send will report */
	default: break; /* the connect timeout */
	}
}

/* ------------------------------------------------------------ submit */

static int start_connect(struct sink *s, struct io_uring *ring, uint64_t now)
{
	struct netconn *nc = NC(s);
	if (io_uring_sq_space_left(ring) < 2)
		return -1;
	int fd = socket(nc->family, nc->socktype | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		char why[160];
		snprintf(why, sizeof why, "cannot create a socket: %s", strerror(errno));
		connect_failed(s, now, why);
		return 0;
	}
	nc->fd = s->fd = fd;
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	io_uring_prep_connect(sqe, fd, (struct sockaddr *)&nc->addr, nc->addrlen);
	sqe->flags |= IOSQE_IO_LINK;
	io_uring_sqe_set_data64(sqe, SINK_UD(s->index, TAG(nc, OP_CONNECT, 0)));
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_link_timeout(sqe, &nc->connect_timeout, 0);
	io_uring_sqe_set_data64(sqe, SINK_UD(s->index, TAG(nc, OP_TIMEOUT, 0)));
	nc->state = NC_CONNECTING;
	nc->pending += 2;
	return 2;
}

/* iov for n queue bytes from at: two pieces when they wrap. */
static size_t fill_iov(const struct sink *s, struct iovec *iov, uint64_t at, size_t n)
{
	size_t off = (size_t)(at % s->qcap);
	iov[0].iov_base = s->q + off;
	if (off + n <= s->qcap) {
		iov[0].iov_len = n;
		return 1;
	}
	iov[0].iov_len = s->qcap - off;
	iov[1].iov_base = s->q;
	iov[1].iov_len = n - iov[0].iov_len;
	return 2;
}

/* Units with bytes before upto are going out on this connection. */
static void mark_sent(struct sink *s, uint64_t upto)
{
	struct netconn *nc = NC(s);
	uint32_t gen = nc->gen & GEN_MASK;
	unsigned i = nc->u_n;
	while (i && unit_at(nc, i - 1)->start >= upto)
		i--;
	for (; i; i--) {
		struct nc_unit *u = unit_at(nc, i - 1);
		if (u->sent && u->sent_gen == gen)
			break;
		if (!nc->kind->octet_frames && is_stream(nc)) {
			if (u->sent)
				s->st.chunks_resent++;
			else
				s->st.chunks_sent++;
		}
		u->sent = 1;
		u->sent_gen = gen;
	}
}

static int send_stream(struct sink *s, struct io_uring *ring, uint64_t now)
{
	struct netconn *nc = NC(s);
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	if (!sqe)
		return -1;
	uint64_t from = s->q_sub;
	size_t len = s->q_head - from < s->max_write ? (size_t)(s->q_head - from) : s->max_write;
	memset(&nc->msg[0], 0, sizeof nc->msg[0]);
	nc->msg[0].msg_iov = nc->iov[0];
	nc->msg[0].msg_iovlen = fill_iov(s, nc->iov[0], from, len);
	io_uring_prep_sendmsg(sqe, nc->fd, &nc->msg[0], MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, SINK_UD(s->index, TAG(nc, OP_SEND, 0)));
	nc->sending = 1;
	nc->send_since = now;
	nc->send_from = from;
	nc->send_len = len;
	nc->pending++;
	if (from + len > nc->sent_hi)
		nc->sent_hi = from + len;
	mark_sent(s, from + len);
	return 1;
}

static int send_chain(struct sink *s, struct io_uring *ring, uint64_t now)
{
	struct netconn *nc = NC(s);
	unsigned space = io_uring_sq_space_left(ring);
	if (!space)
		return -1;
	unsigned max = space > SQ_RESERVE + NC_CHAIN ? NC_CHAIN : 1;
	uint64_t at = s->q_sub;
	unsigned k = 0;
	while (k < max && at < s->q_head) {
		uint32_t len;
		nc_read_at(s, at, &len, sizeof len);
		nc->chain_at[k] = at;
		nc->chain_len[k] = len;
		memset(&nc->msg[k], 0, sizeof nc->msg[k]);
		nc->msg[k].msg_iov = nc->iov[k];
		nc->msg[k].msg_iovlen = fill_iov(s, nc->iov[k], at + 4, len);
		at += 4ull + len;
		k++;
	}
	for (unsigned j = 0; j < k; j++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
		io_uring_prep_sendmsg(sqe, nc->fd, &nc->msg[j], MSG_NOSIGNAL | MSG_DONTWAIT);
		if (j + 1 < k)
			sqe->flags |= IOSQE_IO_LINK;
		io_uring_sqe_set_data64(sqe, SINK_UD(s->index, TAG(nc, OP_SEND, j)));
	}
	nc->chain_n = k;
	nc->chain_done = 0;
	nc->sending = 1;
	if (!nc->stall_from)
		nc->stall_from = now; /* kept while it waits for room */
	nc->pending += k;
	s->q_sub = at;
	mark_sent(s, at);
	return (int)k;
}

int nc_submit(struct sink *s, struct io_uring *ring, uint64_t now)
{
	struct netconn *nc = NC(s);
	if (nc->state == NC_DOWN)
		return nc->pending || now < nc->retry_at ? 0 : start_connect(s, ring, now);
	if (nc->state != NC_UP)
		return 0;
	int n = 0;
	if (nc->want_poll && !nc->polling) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
		if (!sqe)
			return -1;
		io_uring_prep_poll_add(sqe, nc->fd, POLLOUT);
		io_uring_sqe_set_data64(sqe, SINK_UD(s->index, TAG(nc, OP_POLL, 0)));
		nc->want_poll = 0;
		nc->polling = 1;
		nc->pending++;
		return 1;
	}
	if (!nc->sending && !nc->polling && s->q_sub < s->q_head && now >= nc->hold_until) {
		int r = is_stream(nc) ? send_stream(s, ring, now) : send_chain(s, ring, now);
		if (r < 0)
			return -1;
		n += r;
	}
	if (!is_stream(nc))
		return n;
	/* A recv waits while anything is unacknowledged: it brings the acks,
	 * or tells at once that the peer went away.  With nothing to wait for
	 * it is cancelled, so that an idle sink lets the loop sleep. */
	int want = s->q_tail != s->q_head;
	struct io_uring_sqe *sqe;
	if (want && !nc->receiving) {
		if (!(sqe = io_uring_get_sqe(ring)))
			return n ? n : -1;
		io_uring_prep_recv(sqe, nc->fd, nc->rbuf + nc->rlen, sizeof nc->rbuf - nc->rlen, 0);
		io_uring_sqe_set_data64(sqe, SINK_UD(s->index, TAG(nc, OP_RECV, 0)));
		nc->receiving = 1;
		nc->pending++;
		n++;
	} else if (!want && nc->receiving && !nc->cancelling) {
		if (!(sqe = io_uring_get_sqe(ring)))
			return n ? n : -1;
		io_uring_prep_cancel64(sqe, SINK_UD(s->index, TAG(nc, OP_RECV, 0)), 0);
		io_uring_sqe_set_data64(sqe, SINK_UD(s->index, TAG(nc, OP_CANCEL, 0)));
		nc->cancelling = 1;
		nc->pending++;
		n++;
	}
	return n;
}

/* ------------------------------------------------------------ offer, tick */

void nc_offer(struct sink *s, const struct batch *b)
{
	struct netconn *nc = NC(s);
	uint64_t *cause = NULL;
	if (s->lagging)
		cause = nc->lag_down ? &s->st.lines_dropped_failing : &s->st.lines_dropped_full;
	else if (s->stalled)
		cause = &s->st.lines_dropped_failing;
	uint32_t i = 0;
	if (!cause && b->n) {
		struct mpw w = { .buf = (uint8_t *)s->q, .cap = s->qcap, .pos = s->q_head,
				 .limit = s->q_tail + s->qcap };
		if (nc->kind->begin(s, &w) == 0) {
			for (; i < b->n; i++) {
				uint32_t start = i ? b->rec[i - 1].end : 0;
				uint32_t nl = b->rec[i].lines - (i ? b->rec[i - 1].lines : 0);
				if (nc->kind->put_record(s, &w, b->buf + start, b->rec[i].end - start, nl,
							 b->rec[i].pos) < 0)
					break;
				s->lines_head += nl;
			}
			nc->kind->end(s, &w);
			s->q_head = w.pos;
		}
		nc->cur = NULL;
		if (i < b->n)
			cause = nc->state == NC_UP ? &s->st.lines_dropped_full : &s->st.lines_dropped_failing;
	}
	if (i < b->n) {
		uint64_t before = i ? b->rec[i - 1].lines : 0;
		uint64_t lines = b->rec[b->n - 1].lines - before;
		s->st.lines_dropped += lines;
		s->st.bytes_dropped += b->len - (i ? b->rec[i - 1].end : 0);
		*cause += lines;
	}
	struct nc_unit *last = nc_last_unit(s);
	if (last)
		last->pos = b->pos_end; /* the dropped records are done with it */
	else
		set_done(s, b->pos_end);
}

void nc_tick(struct sink *s, uint64_t now, int idle)
{
	struct netconn *nc = NC(s);
	(void)idle;
	poll_acks(s);
	uint64_t since = is_stream(nc) ? nc->send_since : nc->stall_from;
	int waiting = nc->sending || nc->polling || nc->want_poll;
	if (waiting && !nc->stalled_send && s->stall_ns && now - since > s->stall_ns) {
		nc->stalled_send = 1;
		s->st.stalls++;
		update_stalled(s);
		log_warn("sink %s: a send has been pending for more than %.0f s (the peer does not read): "
			 "dropping (and counting) new records until it completes; the ring no longer waits "
			 "for this sink", s->name, (double)s->stall_ns / 1e9);
	}
	if (nc->state != NC_UP && nc->episode) {
		if (s->lagging) {
			nc->lag_down = 1;
		} else if (now - nc->down_since >= s->wait_ns) {
			s->lagging = 1;
			nc->lag_down = 1;
			s->st.lags++;
			s->dropped_before_lag = s->st.lines_dropped;
			log_warn("sink %s: no connection for %.1f s (wait=): dropping (and counting) new "
				 "records until it is back and has delivered the %" PRIu64 " lines it holds; "
				 "the ring no longer waits for this sink", s->name,
				 (double)(now - nc->down_since) / 1e9, s->lines_head - s->lines_tail);
		}
		if (!nc->stalled_down && s->stall_ns && now - nc->down_since >= s->stall_ns) {
			nc->stalled_down = 1;
			update_stalled(s);
			log_warn("sink %s: no connection for %.0f s (stall=): logd will not wait for it to "
				 "exit", s->name, (double)s->stall_ns / 1e9);
		}
	}
	if (s->lagging && nc->state == NC_UP && s->q_head == s->q_tail) {
		s->lagging = 0;
		nc->lag_down = 0;
		log_info("sink %s: caught up; %" PRIu64 " lines dropped while it lagged", s->name,
			 s->st.lines_dropped - s->dropped_before_lag);
	}
}

size_t nc_batch_budget(const struct sink *s, size_t room)
{
	const struct netconn *nc = s->impl;
	/* A line of L bytes takes at most L + L/64 + line_overhead (the 1/64
	 * covers msgpack's longer string headers), and a batch of B bytes has
	 * at most B / LINE_MIN lines. */
	size_t fixed = nc->batch_overhead + room / 64;
	if (room <= fixed + LINE_MIN)
		return 1; /* one record may still fit; the next turn finds the queue full */
	return (room - fixed) / (LINE_MIN + nc->line_overhead) * LINE_MIN;
}
