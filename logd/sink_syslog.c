/*
 * sink_syslog.c - the syslog sink: RFC 5424 messages over a unix datagram
 * socket (/dev/log, rsyslog's imuxsock), UDP (RFC 5426: one message per
 * datagram) or TCP (RFC 6587 octet counting: "LEN SP MSG"), through the
 * connection and queue of netconn.c.
 *
 * Each formatted line becomes one message
 *     <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID - - MSG
 *   - MSG: the line without its newline, no BOM (json and transaction lines
 *     are valid UTF-8, passivedns is ASCII).  json: one message per RR,
 *     transaction: one per transaction, passivedns: one per line;
 *   - TIMESTAMP: the record's packet time, read back from the line (the
 *     sink sees formatted lines only), in UTC with microseconds, the most
 *     RFC 5424 allows (the line's own tstamp keeps the nanoseconds);
 *   - HOSTNAME: gethostname() at start; APP-NAME: app-name= (dnstrail);
 *     PROCID: logd's pid; MSGID and STRUCTURED-DATA: nil;
 *   - PRI: facility= (local0) * 8 + severity= (info).
 * A message longer than a datagram may be (UDP: 65507 bytes over IPv4,
 * 65527 over IPv6; unix: the socket's send buffer) is refused by the kernel
 * with EMSGSIZE: it is dropped and counted (lines_dropped_oversize), never
 * truncated, since a cut record is worse than a missing one.  TCP has no
 * such limit.
 *
 * Queue layout: datagrams as [uint32 length][message], a TCP stream as its
 * frames, exactly the bytes that go on the wire.
 */
#include "sinks.h"

#include "jsonw.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TS_LEN 27 /* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" */
#define FRAME_MAX 12 /* "LEN " or the datagram length word */

struct syslog_sink {
	struct netconn nc; /* first: netconn.c's view of impl */
	char prefix[8];
	size_t prefix_len;
	char suffix[SYSLOG_SUFFIX_MAX];
	size_t suffix_len;
	struct jw_tscache ts;
};

static struct syslog_sink *Y(struct sink *s)
{
	return s->impl;
}

/* ------------------------------------------------------------ header */

static const char *const facilities[24] = {
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
};
static const char *const severities[8] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

static int by_name_or_number(const char *s, const char *const *names, unsigned n, unsigned *out)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(s, names[i])) {
			*out = i;
			return 0;
		}
	size_t len = strlen(s);
	if (!len || len > 2 || s[0] < '0' || s[0] > '9' || (len == 2 && (s[1] < '0' || s[1] > '9')))
		return -1;
	unsigned v = (unsigned)atoi(s);
	if (v >= n || (s[0] == '0' && s[1]))
		return -1;
	*out = v;
	return 0;
}

int syslog_facility(const char *s, unsigned *out)
{
	if (!strcmp(s, "audit")) /* another name of 13 */
		s = "security";
	return by_name_or_number(s, facilities, 24, out);
}

int syslog_severity(const char *s, unsigned *out)
{
	if (!strcmp(s, "error"))
		s = "err";
	else if (!strcmp(s, "warn"))
		s = "warning";
	return by_name_or_number(s, severities, 8, out);
}

size_t syslog_prefix(char *out, unsigned facility, unsigned severity)
{
	return (size_t)sprintf(out, "<%u>1 ", facility * 8 + severity);
}

/* RFC 5424 PRINTUSASCII (33-126), at most max bytes, "-" when empty. */
static size_t printusascii(char *out, const char *s, size_t max)
{
	size_t n = 0;
	for (; s[n] && n < max; n++)
		out[n] = (uint8_t)s[n] > 32 && (uint8_t)s[n] < 127 ? s[n] : '_';
	if (!n)
		out[n++] = '-';
	return n;
}

size_t syslog_suffix(char *out, const char *host, const char *app_name, long pid)
{
	char *p = out;
	*p++ = ' ';
	p += printusascii(p, host, NC_HOST_MAX);
	*p++ = ' ';
	p += printusascii(p, app_name, NC_APP_NAME_MAX);
	p += sprintf(p, " %ld - - ", pid);
	return (size_t)(p - out);
}

static int digits(const char *p, int n)
{
	for (int i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return 1;
}

/* "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" as logd's jsonw writes it. */
static int rfc3339_ns(const char *t)
{
	return digits(t, 4) && t[4] == '-' && digits(t + 5, 2) && t[7] == '-' && digits(t + 8, 2) &&
	       t[10] == 'T' && digits(t + 11, 2) && t[13] == ':' && digits(t + 14, 2) && t[16] == ':' &&
	       digits(t + 17, 2) && t[19] == '.' && digits(t + 20, 9) && t[29] == 'Z';
}

static const char json_ts[] = "{\"tstamp\":\"";
#define JSON_TS_AT (sizeof json_ts - 1)

/* passivedns "SECONDS.UUUUUU||": seconds and microseconds, or -1. */
static int pdns_time(const char *line, size_t len, uint64_t *sec, uint32_t *usec)
{
	size_t i = 0;
	uint64_t v = 0;
	while (i < len && i < 11 && line[i] >= '0' && line[i] <= '9')
		v = v * 10 + (uint64_t)(line[i++] - '0');
	if (!i || i == 11 || len < i + 9 || line[i] != '.' || !digits(line + i + 1, 6) ||
	    line[i + 7] != '|' || line[i + 8] != '|')
		return -1;
	*sec = v;
	*usec = (uint32_t)atoi(line + i + 1); /* six digits: no overflow, stops at '|' */
	return 0;
}

size_t syslog_timestamp(char *out, const char *line, size_t len, struct jw_tscache *c)
{
	if (len >= JSON_TS_AT + 30 && !memcmp(line, json_ts, JSON_TS_AT) && rfc3339_ns(line + JSON_TS_AT)) {
		memcpy(out, line + JSON_TS_AT, 26);
		out[26] = 'Z';
		return TS_LEN;
	}
	uint64_t sec;
	uint32_t usec;
	if (pdns_time(line, len, &sec, &usec) == 0) {
		char t[JW_RFC3339_LEN];
		jw_rfc3339(t, c, sec * 1000000000ull + usec * 1000ull);
		memcpy(out, t, 26);
		out[26] = 'Z';
		return TS_LEN;
	}
	out[0] = '-';
	return 1;
}

/* ------------------------------------------------------------ framing */

static int syslog_begin(struct sink *s, struct mpw *w)
{
	struct netconn *nc = NC(s);
	struct nc_unit *u = nc_last_unit(s);
	if (!u || u->sent)
		u = nc_new_unit(s, w->pos);
	if (!u)
		return -1;
	nc->cur = u;
	return 0;
}

static int syslog_put_record(struct sink *s, struct mpw *w, const char *lines, size_t len,
			     uint32_t nlines, uint64_t pos)
{
	struct syslog_sink *y = Y(s);
	(void)nlines, (void)pos;
	int dgram = y->nc.spec.transport == NC_UNIX_DGRAM || y->nc.spec.transport == NC_UDP;
	uint64_t save = w->pos;
	char ts[SYSLOG_TS_MAX];
	size_t tsl = syslog_timestamp(ts, lines, len, &y->ts); /* every line of a record has it */
	for (const char *p = lines, *end = lines + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t llen = (size_t)((nl ? nl : end) - p);
		size_t mlen = y->prefix_len + tsl + y->suffix_len + llen;
		if (dgram) {
			uint32_t l = (uint32_t)mlen;
			mp_raw(w, &l, sizeof l);
		} else {
			char frame[FRAME_MAX];
			mp_raw(w, frame, (size_t)snprintf(frame, sizeof frame, "%zu ", mlen));
		}
		mp_raw(w, y->prefix, y->prefix_len);
		mp_raw(w, ts, tsl);
		mp_raw(w, y->suffix, y->suffix_len);
		mp_raw(w, p, llen);
		p += llen + 1;
	}
	if (w->err) {
		w->err = 0;
		w->pos = save;
		return -1;
	}
	return 0;
}

static void syslog_end(struct sink *s, struct mpw *w)
{
	struct nc_unit *u = NC(s)->cur;
	if (!u)
		return;
	if (u->start == w->pos) { /* a new unit that got nothing */
		nc_drop_last_unit(s);
		return;
	}
	u->end = w->pos;
	u->lines_end = s->lines_head;
}

static const struct nc_kind syslog_kind = {
	.begin = syslog_begin,
	.put_record = syslog_put_record,
	.end = syslog_end,
	.octet_frames = 1,
};

/* ------------------------------------------------------------ sink */

static int syslog_open(struct sink *s, char *err, size_t errlen)
{
	struct syslog_sink *y = Y(s);
	const struct net_spec *sp = &y->nc.spec;
	char host[NC_HOST_MAX + 2] = "";
	if (gethostname(host, sizeof host - 1) < 0)
		host[0] = 0; /* the suffix then says "-" */
	y->prefix_len = syslog_prefix(y->prefix, sp->facility, sp->severity);
	y->suffix_len = syslog_suffix(y->suffix, host, sp->app_name, (long)getpid());
	y->nc.line_overhead = y->prefix_len + TS_LEN + y->suffix_len + FRAME_MAX;
	y->nc.batch_overhead = 0;
	return nc_resolve(s, err, errlen);
}

static void syslog_close(struct sink *s)
{
	nc_close(s);
	free(s->impl);
	s->impl = NULL;
}

static const struct sink_ops syslog_ops = {
	.kind = "syslog",
	.open = syslog_open,
	.tick = nc_tick,
	.close = syslog_close,
	.offer = nc_offer,
	.submit = nc_submit,
	.complete = nc_complete,
	.batch_budget = nc_batch_budget,
};

int sink_syslog_create(struct sink *s, const struct sink_spec *sp, uint64_t start_pos)
{
	if (sink_init(s, &syslog_ops, sp->text, sp->queue_bytes, SINK_MAX_WRITE, sp->stall_ns,
		      sp->wait_ns, start_pos) < 0)
		return -1;
	struct syslog_sink *y = calloc(1, sizeof *y);
	s->impl = y;
	if (!y || nc_init(s, &y->nc, &syslog_kind, &sp->net) < 0) {
		free(y);
		s->impl = NULL;
		sink_free(s);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ spec */

int sink_syslog_address(struct sink_spec *sp, const char *addr, char *why, size_t whylen)
{
	sp->net.facility = 16; /* local0: what a site's own applications log under */
	sp->net.severity = 6; /* info */
	snprintf(sp->net.app_name, sizeof sp->net.app_name, "dnstrail");
	return nc_parse_address(&sp->net, addr, 0, 1, why, whylen);
}

int sink_syslog_option(struct sink_spec *sp, const char *key, const char *val, int *unknown,
		       char *why, size_t whylen)
{
	*unknown = 0;
	if (!strcmp(key, "facility") && val) {
		if (syslog_facility(val, &sp->net.facility) == 0)
			return 0;
		snprintf(why, whylen, "a facility name (kern, user, mail, daemon, auth, syslog, lpr, "
			 "news, uucp, cron, authpriv, ftp, ntp, security, console, solaris-cron, "
			 "local0..local7) or number 0-23");
		return -1;
	}
	if (!strcmp(key, "severity") && val) {
		if (syslog_severity(val, &sp->net.severity) == 0)
			return 0;
		snprintf(why, whylen, "a severity name (emerg, alert, crit, err, warning, notice, info, "
			 "debug) or number 0-7");
		return -1;
	}
	if (!strcmp(key, "app-name") && val) {
		size_t n = strlen(val);
		int ok = n && n <= NC_APP_NAME_MAX;
		for (size_t i = 0; ok && i < n; i++)
			ok = (uint8_t)val[i] > 32 && (uint8_t)val[i] < 127;
		if (ok) {
			memcpy(sp->net.app_name, val, n + 1);
			return 0;
		}
		snprintf(why, whylen, "1 to %d printable ASCII characters, no spaces", NC_APP_NAME_MAX);
		return -1;
	}
	*unknown = 1;
	snprintf(why, whylen, "syslog sinks take facility=, severity=, app-name=, size=, wait=, stall=");
	return -1;
}
