/*
 * netconn.h - what logd's socket sinks (syslog, fluentd) share: the address
 * the operator gave, one connection with an asynchronous connect and
 * exponential reconnect backoff, sends through the io_uring loop, and a
 * queue that keeps every message until the peer has acknowledged it, so
 * that after a broken connection the sink resends, whole and in order,
 * everything that may not have arrived.
 *
 * The queue is struct sink's (q, qcap, q_tail, q_sub, q_head), with a
 * meaning of its own (sink.h's marks are not used):
 *   - [q_tail, q_head) holds framed messages, never a cut one; q_tail is
 *     always at the start of a message;
 *   - [q_tail, q_sub) went out on the current connection (or is being
 *     sent) but is not acknowledged yet; [q_sub, q_head) waits;
 *   - "acknowledged", hence lines_written and done_pos, depends on the
 *     transport: a datagram when the kernel accepted it (the send
 *     completed); on a stream, the bytes the peer's kernel acknowledged
 *     (SIOCOUTQ: for TCP the peer's TCP ACKs, for a unix stream the bytes
 *     the peer has read), or, with application acks (fluentd
 *     require-ack), a unit once the peer acked it;
 *   - a broken connection sets q_sub back to q_tail: the next connection
 *     starts with the first message not acknowledged, from its first byte.
 * Units group the messages of consecutive batches (struct nc_unit, a ring
 * of u_cap): each unit knows the ring position its completion makes done,
 * so done_pos only moves when everything before it is acknowledged (or
 * dropped and counted).  A fluentd chunk is one unit.
 *
 * States.  Down (waiting for the backoff), connecting (one connect in
 * flight, with a timeout), up.  While down the queue keeps what it has
 * and takes new records while it has room (flow control as for any sink);
 * once the connection has been down for wait= seconds the sink lags: it
 * stops holding the ring and the reading, and drops (counting) new
 * records until it is up again and has delivered what it held.  Down for
 * stall= seconds, or with a send waiting that long for the peer to make
 * room, it is stalled: new records are dropped (counted) and logd no
 * longer waits for it to exit; what it holds is kept, and goes out if the
 * peer comes back.  Every SQE's tag carries the connection's generation,
 * so completions from a connection given up are recognised and ignored; a
 * new connection starts only when none is left in flight.
 *
 * What a broken connection costs, per transport:
 *   - unix datagram, UDP: a datagram the kernel accepted counts as
 *     delivered; one it refused (peer gone) is sent again, whole, on the
 *     next connection.  Datagrams accepted but not read when the receiver
 *     died are lost (nothing tells), and UDP itself may lose any datagram.
 *   - TCP, unix stream (syslog; fluentd without require-ack): messages not
 *     wholly acknowledged (see above) are sent again from their first
 *     byte: the peer may get twice the ones it had received but not yet
 *     acknowledged, and may lose the ones it had acknowledged but not
 *     processed when it died (e.g. in its socket buffer).
 *   - fluentd with require-ack: a chunk not acked is sent again, same id
 *     and entries: at least once; duplicates only from such chunks.
 *   - records dropped while lagging or stalled are counted, never resent.
 */
#ifndef DNSTRAIL_LOGD_NETCONN_H
#define DNSTRAIL_LOGD_NETCONN_H

#include "msgpack_out.h"
#include "sink.h"

#include <liburing.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

enum nc_transport { NC_UNIX_DGRAM, NC_UNIX_STREAM, NC_UDP, NC_TCP };

#define NC_HOST_MAX 255
#define NC_PATH_MAX 107 /* sockaddr_un.sun_path, without its NUL */
#define NC_APP_NAME_MAX 48 /* RFC 5424 APP-NAME */
#define NC_TAG_MAX 127

/* The address and options of a syslog or fluentd sink, as cli.c parsed
 * them (part of struct sink_spec). */
struct net_spec {
	enum nc_transport transport;
	char host[NC_HOST_MAX + 1], port[6];
	char path[NC_PATH_MAX + 1];
	unsigned facility, severity; /* syslog */
	char app_name[NC_APP_NAME_MAX + 1];
	char tag[NC_TAG_MAX + 1]; /* fluentd */
	int require_ack;
};

/* "unix:PATH", "udp:HOST:PORT" or "tcp:HOST:PORT" (HOST may be [v6]);
 * stream_unix picks SOCK_STREAM for unix: (fluentd) rather than datagrams
 * (syslog, as /dev/log).  0, or -1 with the reason in why. */
int nc_parse_address(struct net_spec *n, const char *addr, int stream_unix, int allow_udp,
		     char *why, size_t whylen);

#define NC_BACKOFF_MIN_NS 100000000ull /* 0.1 s */
#define NC_BACKOFF_MAX_NS 30000000000ull /* 30 s */
#define NC_CONNECT_TIMEOUT_S 5
#define NC_PAUSE_NS 10000000ull /* after ENOBUFS on a datagram */
/* The delay after the one just used: doubling, at most the maximum. */
uint64_t nc_backoff_next(uint64_t cur);

#define NC_CHAIN 8 /* datagrams sent per linked chain */
#define NC_RBUF 1024 /* bytes of a peer's answer (fluentd acks) not yet parsed */
#define NC_ID_LEN 24 /* base64 of 16 bytes */

struct nc_unit {
	uint64_t start, end; /* its bytes in the queue */
	uint64_t lines_end; /* lines_head after its last line */
	uint64_t pos; /* ring position its completion makes done */
	uint64_t count_at; /* fluentd: the entries count (4 bytes) */
	uint64_t opt_at; /* fluentd: where its option map starts */
	uint32_t entries;
	uint32_t sent_gen; /* connection it last went out on (with sent) */
	uint8_t sent, acked;
	char id[NC_ID_LEN + 1];
};

struct netconn;

/* What a kind does with the queue: frame lines (offer), and for fluentd
 * read what the peer answers. */
struct nc_kind {
	/* Opens the unit this batch appends to (nc->cur): the last one if the
	 * kind may still extend it, else a new one.  -1: none can be had. */
	int (*begin)(struct sink *s, struct mpw *w);
	/* Appends the messages of one record, lines[0..len) (nlines lines,
	 * each ending in '\n'), whose ring position is pos.  -1 when they do
	 * not fit; the kind then leaves w->pos and the unit as they were. */
	int (*put_record)(struct sink *s, struct mpw *w, const char *lines, size_t len,
			  uint32_t nlines, uint64_t pos);
	/* Closes the batch's part of the unit (writes a trailer). */
	void (*end)(struct sink *s, struct mpw *w);
	/* Bytes the peer sent: returns how many it consumed, -1 when they make
	 * no sense (the connection is then dropped).  NULL: ignored. */
	long (*on_data)(struct sink *s, const uint8_t *p, size_t n);
	/* Stream messages are octet-counted frames "LEN SP MSG" (syslog);
	 * otherwise a whole unit is one message (fluentd).  Datagrams are
	 * always [uint32 length][message]. */
	int octet_frames;
};

struct netconn {
	const struct nc_kind *kind;
	struct net_spec spec;
	int app_acks; /* delivered on application acks (fluentd require-ack) */
	/* Most bytes framing adds to a line, and to a batch (the kind sets
	 * them; nc_batch_budget). */
	size_t line_overhead, batch_overhead;

	struct sockaddr_storage addr;
	socklen_t addrlen;
	int family, socktype;
	int fd;
	enum { NC_DOWN, NC_CONNECTING, NC_UP } state;
	uint32_t gen; /* connection generation (24 bits in the tags) */
	unsigned pending; /* SQEs of this sink not completed, all generations */
	struct __kernel_timespec connect_timeout;

	/* sends: one stream send, or one chain of datagrams, at a time */
	int sending;
	uint64_t send_since, send_from;
	size_t send_len;
	unsigned chain_n, chain_done;
	uint64_t chain_at[NC_CHAIN];
	uint32_t chain_len[NC_CHAIN];
	int chain_res[NC_CHAIN];
	struct msghdr msg[NC_CHAIN];
	struct iovec iov[NC_CHAIN][2];
	uint64_t hold_until; /* pause after ENOBUFS */
	int want_poll, polling; /* a datagram receiver was full: wait for POLLOUT */
	uint64_t stall_from; /* datagrams: first send not yet accepted */
	int stalled_send; /* s->stalled because of a pending send */

	/* a stream's acknowledgements */
	uint64_t conn_base; /* queue position where this connection began */
	uint64_t conn_sent; /* bytes sent on it */
	uint64_t acked_pos; /* queue position acknowledged on it */
	uint64_t sent_hi; /* highest position handed to a send on it */

	/* receiving (acks, and a peer closing) */
	int receiving, cancelling;
	uint8_t rbuf[NC_RBUF];
	size_t rlen;

	/* reconnecting */
	uint64_t backoff_ns, retry_at, down_since;
	unsigned attempts; /* failed since the last connection */
	int episode; /* in a failure episode (logged once) */
	int ever_connected, lag_down, stalled_down;
	int oversize_logged, unknown_ack_logged, short_dgram_logged;

	struct nc_unit *units;
	unsigned u_cap, u_first, u_n;
	struct nc_unit *cur; /* the unit the batch being offered goes to */
};

/* The kinds' impl structs start with a struct netconn. */
static inline struct netconn *NC(struct sink *s)
{
	return (struct netconn *)s->impl;
}

/* Sets up nc in s (already sink_init'ed, impl pointing at nc): no I/O.
 * -1 when out of memory. */
int nc_init(struct sink *s, struct netconn *nc, const struct nc_kind *kind,
	    const struct net_spec *spec);
/* Resolves the address (may block: before the loop).  0, or -1 and why. */
int nc_resolve(struct sink *s, char *err, size_t errlen);
void nc_close(struct sink *s);

/* sink_ops entries shared by the socket sinks. */
void nc_offer(struct sink *s, const struct batch *b);
int nc_submit(struct sink *s, struct io_uring *ring, uint64_t now);
void nc_complete(struct sink *s, uint32_t tag, int res, uint64_t now);
void nc_tick(struct sink *s, uint64_t now, int idle);
size_t nc_batch_budget(const struct sink *s, size_t room);

/* Units, for the kinds' begin/end. */
struct nc_unit *nc_last_unit(struct sink *s);
struct nc_unit *nc_new_unit(struct sink *s, uint64_t start);
void nc_drop_last_unit(struct sink *s);
/* The peer acknowledged the unit with this id (fluentd). */
void nc_ack(struct sink *s, const char *id, size_t len);

/* Queue access across the wrap. */
void nc_read_at(const struct sink *s, uint64_t at, void *out, size_t n);

/* The kinds' pure helpers, exposed for the unit tests. */
struct jw_tscache;
#define SYSLOG_TS_MAX 32
/* RFC 5424 TIMESTAMP of a formatted line: its packet time in UTC with
 * microseconds, "YYYY-MM-DDTHH:MM:SS.uuuuuuZ", read from the line (json and
 * transaction: tstamp; passivedns: the leading seconds.microseconds), or
 * "-" when the line has neither.  Returns its length. */
size_t syslog_timestamp(char *out, const char *line, size_t len, struct jw_tscache *c);
/* "<PRI>1 " */
size_t syslog_prefix(char *out, unsigned facility, unsigned severity);
/* " HOSTNAME APP-NAME PROCID - - " (MSGID and STRUCTURED-DATA nil); host
 * is cleaned to what RFC 5424 allows.  out needs SYSLOG_SUFFIX_MAX. */
#define SYSLOG_SUFFIX_MAX (NC_HOST_MAX + NC_APP_NAME_MAX + 32)
size_t syslog_suffix(char *out, const char *host, const char *app_name, long pid);
/* Facility and severity by name or number: 0, or -1. */
int syslog_facility(const char *s, unsigned *out);
int syslog_severity(const char *s, unsigned *out);
/* Fluentd EventTime of a line, as syslog_timestamp finds it: 0, or -1. */
int fluentd_line_time(const char *line, size_t len, uint32_t *sec, uint32_t *nsec);
/* Answers of a fluentd peer: consumes whole {"ack": ID} maps (acking units
 * of s with nc_ack); returns the bytes used, -1 when p is not such maps. */
long fluentd_parse_acks(struct sink *s, const uint8_t *p, size_t n);

#endif
