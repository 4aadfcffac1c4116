/*
 * sink_kafka.c - the Kafka sink: one librdkafka producer per sink, fed from
 * logd's loop without ever blocking it (sink_kafka.h for the spec).
 *
 * Lines enter the shared sink queue as for every sink (sink.c: marks, flow
 * control, lagging).  submit() hands the queued lines to librdkafka one
 * message per line with rd_kafka_producev (non-blocking, payload copied);
 * on QUEUE_FULL, or when `messages` are already waiting for their reports,
 * the lines simply stay in our queue and the next turn tries again.
 *
 * Delivery reports reach the loop through an eventfd: librdkafka writes it
 * when its main queue (delivery reports, errors, logs - log.queue=true)
 * goes from empty to non-empty, and while messages are outstanding the
 * sink keeps one io_uring poll of it in flight (a poll, not a read: no
 * buffer of ours is left for the kernel to write into at exit), so a
 * report wakes the loop's completion wait at once.  The reports are then
 * served on the loop's thread by rd_kafka_poll(rk, 0), also once per loop
 * turn (tick), so errors are seen when nothing is outstanding.  When the
 * last report is in, the sink writes the eventfd itself to end its poll:
 * an idle sink leaves nothing in flight to keep the loop awake.
 *
 * What is released when.  Every message handed over gets a slot (its
 * sequence number is the message's opaque) recording where its line ends in
 * the queue.  Reports come back out of order (one partition is slower than
 * another); the queue's tail moves over the oldest slots once each has its
 * report, delivered or failed, and only then do their marks settle, so
 * done_pos - and with it the ring tail - never passes a record with a line
 * still unreported.  Hence, across a crash of logd, at least once: a record
 * the brokers acknowledged may be sent again (its report was not back, or
 * an older line's was not), a record not acknowledged is still in the ring.
 * Without idempotence a retry inside librdkafka can also duplicate a
 * message.  Lost, and counted: lines whose report is an error (the brokers
 * refused, or message.timeout.ms passed), and what the sink drops while it
 * lags or stalls (sink.h), as for every sink.
 *
 * Invariants: q_tail <= q_sub; [q_tail, q_sub) is exactly the lines of
 * slots [seq_tail, seq_head), in order; pending counts the slots still
 * waiting for a report, and the sink is "in flight" (s->inflight, for
 * stall detection and draining) while it is not zero.  librdkafka holds a
 * copy of each payload, never a pointer into our queue.
 */
#include "sink_kafka.h"

#include "log.h"
#include "opt.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define NS 1000000000ull
#define PRODUCE_MAX 8192 /* messages handed over per loop turn: keeps turns short */
#define ERR_RELOG_NS (60 * NS) /* an error kind already logged is logged again after this */
#define ERR_KINDS 16
#define PROPS_LINE_MAX 4096
#define PROPS_MAX 256

enum { SLOT_PENDING, SLOT_DELIVERED, SLOT_FAILED };

struct kafka_sink {
	char spec[sizeof ((struct sink_spec *)0)->text];
	struct kafka_opts o;
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;
	rd_kafka_queue_t *mainq;
	int efd; /* librdkafka's wake-up */
	int armed; /* a poll of efd is in io_uring */
	int poked; /* we wrote efd ourselves to end that poll */
	int efd_broken; /* polls failed: rely on the per-turn rd_kafka_poll */
	uint64_t *slot_end; /* queue position after the slot's line */
	uint8_t *slot_state;
	size_t nslots;
	uint64_t seq_tail, seq_head, pending;
	int reported; /* a report came since the last settle */
	int queue_full; /* lines wait for room in librdkafka (counted once per wait) */
	char *scratch; /* a line that wraps around the queue's end, made whole */
	size_t scratch_cap;
	char key[KAFKA_KEY_MAX];
	int failing; /* reports are failing: logged once until one succeeds */
	uint64_t failed_before;
	int forward_debug; /* the properties file asked for librdkafka debug logs */
	struct errkind {
		uint32_t key;
		uint64_t logged_at, suppressed;
	} kinds[ERR_KINDS];
	unsigned nkinds;
	int closing;
};

static struct kafka_sink *K(struct sink *s)
{
	return s->impl;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ spec */

static int fail_with(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail_with(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* HOST[:PORT], HOST a name, an IPv4 address or [IPv6]. */
static int check_broker(const char *b, char *err, size_t errlen)
{
	if (!*b)
		return fail_with(err, errlen, "empty broker in the list: write "
				 "kafka:HOST:PORT[,HOST:PORT...]/TOPIC");
	if (strchr(b, '='))
		return fail_with(err, errlen, "no topic: write kafka:BROKERS/TOPIC before the "
				 "options (e.g. kafka:127.0.0.1:9092/dns,linger=0.05)");
	const char *port = NULL;
	if (*b == '[') {
		const char *close = strchr(b, ']');
		if (!close || close == b + 1 || strspn(b + 1, "0123456789abcdefABCDEF:.") !=
							(size_t)(close - b - 1))
			return fail_with(err, errlen, "broker '%s': expected [IPV6]:PORT", b);
		if (close[1] == ':')
			port = close + 2;
		else if (close[1])
			return fail_with(err, errlen, "broker '%s': expected [IPV6]:PORT", b);
	} else {
		const char *colon = strchr(b, ':');
		if (colon && strchr(colon + 1, ':'))
			return fail_with(err, errlen, "broker '%s': write an IPv6 address in brackets, "
					 "e.g. [::1]:9092", b);
		size_t hlen = colon ? (size_t)(colon - b) : strlen(b);
		if (!hlen || strspn(b, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")
				     != hlen)
			return fail_with(err, errlen, "broker '%s': expected HOST[:PORT] (a name or an "
					 "address)", b);
		if (colon)
			port = colon + 1;
	}
	uint64_t p;
	if (port && opt_u64(port, 1, 65535, &p))
		return fail_with(err, errlen, "broker '%s': the port must be a number between 1 and "
				 "65535", b);
	return 0;
}

static int check_topic(const char *t, char *err, size_t errlen)
{
	size_t n = strlen(t);
	if (!n)
		return fail_with(err, errlen, "no topic after '/': write kafka:BROKERS/TOPIC");
	if (n > KAFKA_TOPIC_MAX || strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					  "0123456789._-") != n || !strcmp(t, ".") || !strcmp(t, ".."))
		return fail_with(err, errlen, "topic '%s': Kafka topics are 1 to %d letters, digits, "
				 "'.', '_' or '-' (and not '.' or '..')", t, KAFKA_TOPIC_MAX);
	return 0;
}

/* One option of the spec, "key" or "key=value". */
static int kafka_option(struct kafka_opts *o, struct sink_spec *sp, char *opt, char *err,
			size_t errlen)
{
	char *val = strchr(opt, '=');
	if (val)
		*val++ = 0;
	const char *expect = NULL;
	int bad = 0;
	if (!strcmp(opt, "acks") && val) {
		expect = "all, 1 or 0";
		if (!strcmp(val, "all") || !strcmp(val, "-1"))
			snprintf(o->acks, sizeof o->acks, "all");
		else if (!strcmp(val, "1") || !strcmp(val, "0"))
			snprintf(o->acks, sizeof o->acks, "%s", val);
		else
			bad = 1;
		o->given |= KO_ACKS;
	} else if (!strcmp(opt, "linger") && val) {
		expect = "seconds between 0 and 900, e.g. 0.05";
		bad = opt_seconds_ns(val, 0, 900 * NS, &o->linger_ns);
		o->given |= KO_LINGER;
	} else if (!strcmp(opt, "compression") && val) {
		static const char *const codecs[] = { "none", "gzip", "snappy", "lz4", "zstd" };
		expect = "none, gzip, snappy, lz4 or zstd";
		bad = 1;
		for (size_t i = 0; i < sizeof codecs / sizeof codecs[0]; i++)
			if (!strcmp(val, codecs[i])) {
				snprintf(o->compression, sizeof o->compression, "%s", val);
				bad = 0;
			}
		o->given |= KO_COMPRESSION;
	} else if (!strcmp(opt, "batch") && val) {
		expect = "a size between 1K and 1G, e.g. 1M";
		bad = opt_size(val, 1 << 10, 1 << 30, &o->batch_bytes);
		o->given |= KO_BATCH;
	} else if (!strcmp(opt, "timeout") && val) {
		expect = "seconds between 1 and 86400";
		bad = opt_seconds_ns(val, NS, 86400 * NS, &o->timeout_ns);
		o->given |= KO_TIMEOUT;
	} else if (!strcmp(opt, "max-message") && val) {
		expect = "a size between 1K and 1000000000, e.g. 1M";
		bad = opt_size(val, 1 << 10, 1000000000, &o->max_message);
		o->given |= KO_MAX_MESSAGE;
	} else if (!strcmp(opt, "messages") && val) {
		expect = "a number between 1 and 10000000";
		bad = opt_u64(val, 1, 10000000, &o->messages);
	} else if (!strcmp(opt, "idempotence") && !val) {
		o->idempotence = 1;
		o->given |= KO_IDEMPOTENCE;
	} else if (!strcmp(opt, "properties") && val) {
		expect = "a file path shorter than 256 bytes";
		bad = !*val || strlen(val) >= sizeof o->properties;
		if (!bad)
			snprintf(o->properties, sizeof o->properties, "%s", val);
	} else if (!strcmp(opt, "size") && val) {
		expect = "a queue size between 64K and 1G, e.g. 16M";
		bad = opt_size(val, 64 << 10, 1 << 30, &sp->queue_bytes);
	} else if (!strcmp(opt, "wait") && val) {
		expect = "seconds between 0 and 3600";
		bad = opt_seconds_ns(val, 0, 3600 * NS, &sp->wait_ns);
	} else if (!strcmp(opt, "stall") && val) {
		expect = "seconds between 1 and 86400";
		bad = opt_seconds_ns(val, NS, 86400 * NS, &sp->stall_ns);
		o->given |= KO_STALL;
	} else {
		return fail_with(err, errlen, "unknown option '%s'%s (kafka sinks take acks=, linger=, "
				 "compression=, batch=, timeout=, max-message=, messages=, idempotence, "
				 "properties=, size=, wait=, stall=)", opt, val ? "=..." : "");
	}
	if (bad)
		return fail_with(err, errlen, "invalid value '%s' for %s: expected %s", val, opt, expect);
	return 0;
}

static int conf_set(rd_kafka_conf_t *c, const char *name, const char *val, const char *where,
		    char *err, size_t errlen)
{
	char why[512];
	if (rd_kafka_conf_set(c, name, val, why, sizeof why) == RD_KAFKA_CONF_OK)
		return 0;
	return fail_with(err, errlen, "%s%s%s=%s refused by librdkafka: %s", where ? where : "",
			 where ? ": " : "", name, val, why);
}

static char *trim(char *p)
{
	while (isspace((unsigned char)*p))
		p++;
	size_t n = strlen(p);
	while (n && isspace((unsigned char)p[n - 1]))
		p[--n] = 0;
	return p;
}

/* A librdkafka properties file: "name=value" lines, '#' comments. */
static int apply_properties(rd_kafka_conf_t *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return fail_with(err, errlen, "cannot read properties file %s: %s (it holds librdkafka "
				 "settings, one name=value per line)", path, strerror(errno));
	char line[PROPS_LINE_MAX + 2];
	unsigned lineno = 0, n = 0;
	int rc = 0;
	while (!rc && fgets(line, sizeof line, f)) {
		lineno++;
		char where[STATE_PATH_MAX + 16];
		snprintf(where, sizeof where, "%s:%u", path, lineno);
		if (!strchr(line, '\n') && !feof(f)) {
			rc = fail_with(err, errlen, "%s: line longer than %d bytes", where, PROPS_LINE_MAX);
			break;
		}
		char *p = trim(line);
		if (!*p || *p == '#')
			continue;
		char *eq = strchr(p, '=');
		if (!eq) {
			rc = fail_with(err, errlen, "%s: expected name=value", where);
			break;
		}
		*eq = 0;
		if (++n > PROPS_MAX) {
			rc = fail_with(err, errlen, "%s: more than %d properties", where, PROPS_MAX);
			break;
		}
		rc = conf_set(c, trim(p), trim(eq + 1), where, err, errlen);
	}
	if (!rc && ferror(f))
		rc = fail_with(err, errlen, "cannot read properties file %s: %s", path, strerror(errno));
	fclose(f);
	return rc;
}

static int set_u64(rd_kafka_conf_t *c, const char *name, uint64_t v, char *err, size_t errlen)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%" PRIu64, v);
	return conf_set(c, name, buf, NULL, err, errlen);
}

/* The options in `mask`, given or defaults. */
static int apply_opts(rd_kafka_conf_t *c, const struct kafka_opts *o, unsigned mask, char *err,
		      size_t errlen)
{
	char buf[32];
	if (mask & KO_ACKS && conf_set(c, "acks", o->acks, NULL, err, errlen))
		return -1;
	snprintf(buf, sizeof buf, "%.3f", (double)o->linger_ns / 1e6);
	if (mask & KO_LINGER && conf_set(c, "linger.ms", buf, NULL, err, errlen))
		return -1;
	if (mask & KO_COMPRESSION && conf_set(c, "compression.type", o->compression, NULL, err, errlen))
		return -1;
	if (mask & KO_BATCH && set_u64(c, "batch.size", o->batch_bytes, err, errlen))
		return -1;
	if (mask & KO_TIMEOUT && set_u64(c, "message.timeout.ms", o->timeout_ns / 1000000, err, errlen))
		return -1;
	if (mask & KO_MAX_MESSAGE && set_u64(c, "message.max.bytes", o->max_message, err, errlen))
		return -1;
	if (mask & KO_IDEMPOTENCE &&
	    conf_set(c, "enable.idempotence", o->idempotence ? "true" : "false", NULL, err, errlen))
		return -1;
	return 0;
}

static uint64_t conf_u64(rd_kafka_conf_t *c, const char *name)
{
	char buf[64];
	size_t n = sizeof buf;
	if (rd_kafka_conf_get(c, name, buf, &n) != RD_KAFKA_CONF_OK)
		return 0;
	return strtoull(buf, NULL, 10);
}

/* Defaults, then the properties file, then what the spec says; then what
 * logd's accounting needs whatever the file says.  qcap: the sink queue. */
static rd_kafka_conf_t *build_conf(struct kafka_opts *o, uint64_t qcap, char *err, size_t errlen)
{
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	if (conf_set(c, "client.id", "dnstrail-logd", NULL, err, errlen) ||
	    /* librdkafka waits up to 10 s between reconnections, and the sink
	     * lags until a broker that came back is reached: 1 s, as the Java
	     * client, loses fewer records. */
	    conf_set(c, "reconnect.backoff.max.ms", "1000", NULL, err, errlen) ||
	    apply_opts(c, o, ~o->given & ~KO_IDEMPOTENCE, err, errlen) ||
	    (o->properties[0] && apply_properties(c, o->properties, err, errlen)) ||
	    apply_opts(c, o, o->given, err, errlen) ||
	    conf_set(c, "bootstrap.servers", o->brokers, NULL, err, errlen) ||
	    set_u64(c, "queue.buffering.max.messages", o->messages, err, errlen) ||
	    /* librdkafka copies what we give it, and we give it no more than
	     * our queue holds (plus keys): this bounds its memory by size=. */
	    set_u64(c, "queue.buffering.max.kbytes",
		    (qcap + o->messages * KAFKA_KEY_MAX) / 1024 + 1 < 2147483647u
			    ? (qcap + o->messages * KAFKA_KEY_MAX) / 1024 + 1 : 2147483647u,
		    err, errlen) ||
	    conf_set(c, "log.queue", "true", NULL, err, errlen)) {
		rd_kafka_conf_destroy(c);
		return NULL;
	}
	/* The file may have set these: logd's own checks use the values in force. */
	o->timeout_ns = conf_u64(c, "message.timeout.ms") * 1000000;
	o->max_message = conf_u64(c, "message.max.bytes");
	char acks[8];
	size_t n = sizeof acks;
	if (rd_kafka_conf_get(c, "enable.idempotence", acks, &n) == RD_KAFKA_CONF_OK)
		o->idempotence = !strcmp(acks, "true");
	n = sizeof acks;
	if (o->idempotence && rd_kafka_conf_get(c, "acks", acks, &n) == RD_KAFKA_CONF_OK &&
	    strcmp(acks, "-1") && strcmp(acks, "all")) {
		rd_kafka_conf_destroy(c);
		fail_with(err, errlen, "idempotence needs acks=all");
		return NULL;
	}
	return c;
}

int kafka_spec_parse(const char *spec, struct kafka_opts *o, struct sink_spec *sp, char *err,
		     size_t errlen)
{
	memset(o, 0, sizeof *o);
	snprintf(o->acks, sizeof o->acks, "all");
	snprintf(o->compression, sizeof o->compression, "lz4");
	o->linger_ns = 5000000; /* librdkafka's own default, 5 ms */
	o->timeout_ns = 30 * NS;
	o->batch_bytes = 1000000;
	o->max_message = 1000000;
	o->messages = 100000;
	if (strncmp(spec, "kafka:", 6))
		return fail_with(err, errlen, "expected kafka:BROKERS/TOPIC[,OPTION...]");
	char buf[sizeof sp->text];
	if (strlen(spec) >= sizeof buf)
		return fail_with(err, errlen, "longer than %zu bytes (put librdkafka settings in a "
				 "properties= file)", sizeof buf - 1);
	snprintf(buf, sizeof buf, "%s", spec + 6);
	char *slash = strchr(buf, '/');
	char *comma = strchr(buf, ',');
	if (!slash) {
		if (!*buf || *buf == ',')
			return fail_with(err, errlen, "no brokers and no topic: write "
					 "kafka:HOST:PORT[,HOST:PORT...]/TOPIC, e.g. "
					 "kafka:127.0.0.1:9092/dns");
		return fail_with(err, errlen, "no topic: write kafka:BROKERS/TOPIC, e.g. "
				 "kafka:%.*s/dns", comma ? (int)(comma - buf) : (int)strlen(buf), buf);
	}
	*slash = 0;
	char *brokers = buf, *topic = slash + 1;
	char *rest = strchr(topic, ',');
	if (rest)
		*rest++ = 0;
	if (!*brokers)
		return fail_with(err, errlen, "no brokers before '/%s': write "
				 "kafka:HOST:PORT[,HOST:PORT...]/TOPIC", topic);
	char list[sizeof buf];
	snprintf(list, sizeof list, "%s", brokers);
	for (char *b = list, *next; b; b = next) {
		next = strchr(b, ',');
		if (next)
			*next++ = 0;
		if (check_broker(b, err, errlen))
			return -1;
	}
	if (check_topic(topic, err, errlen))
		return -1;
	size_t blen = strlen(brokers), tlen = strlen(topic); /* tlen <= KAFKA_TOPIC_MAX */
	if (blen + 1 + tlen >= sizeof sp->path)
		return fail_with(err, errlen, "BROKERS/TOPIC is longer than %zu bytes: list fewer "
				 "bootstrap brokers (one reachable broker is enough to find the others)",
				 sizeof sp->path - 1);
	memcpy(o->brokers, brokers, blen + 1);
	memcpy(o->topic, topic, tlen + 1);
	memcpy(sp->path, brokers, blen);
	sp->path[blen] = '/';
	memcpy(sp->path + blen + 1, topic, tlen + 1);
	while (rest && *rest) {
		char *next = strchr(rest, ',');
		if (next)
			*next++ = 0;
		if (!*rest)
			return fail_with(err, errlen, "empty option");
		if (kafka_option(o, sp, rest, err, errlen))
			return -1;
		rest = next;
	}
	if (rest && !*rest)
		return fail_with(err, errlen, "empty option");
	if (o->idempotence && strcmp(o->acks, "all"))
		return fail_with(err, errlen, "idempotence needs acks=all");
	rd_kafka_conf_t *c = build_conf(o, sp->queue_bytes, err, errlen);
	if (!c)
		return -1;
	rd_kafka_conf_destroy(c);
	/* A report, failed or not, always comes within the message timeout: a
	 * stall beyond it means librdkafka itself stopped answering. */
	if (!(o->given & KO_STALL))
		sp->stall_ns = o->timeout_ns + 30 * NS;
	return 0;
}

/* ------------------------------------------------------------ keys */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int hex4(const char *p, const char *end, unsigned *out)
{
	if (end - p < 4)
		return -1;
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval((unsigned char)p[i]);
		if (h < 0)
			return -1;
		v = v << 4 | (unsigned)h;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *k, size_t n, unsigned cp)
{
	if (cp < 0x80) {
		k[n++] = (char)cp;
	} else if (cp < 0x800) {
		k[n++] = (char)(0xc0 | cp >> 6);
		k[n++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		k[n++] = (char)(0xe0 | cp >> 12);
		k[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
		k[n++] = (char)(0x80 | (cp & 0x3f));
	} else {
		k[n++] = (char)(0xf0 | cp >> 18);
		k[n++] = (char)(0x80 | (cp >> 12 & 0x3f));
		k[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
		k[n++] = (char)(0x80 | (cp & 0x3f));
	}
	return n;
}

/* The JSON string starting just after its opening quote, decoded. */
static size_t json_key(const char *p, const char *end, char *key)
{
	size_t n = 0;
	while (p < end && *p != '"') {
		if (n + 4 > KAFKA_KEY_MAX)
			return 0; /* longer than any name: no key rather than a cut one */
		if (*p != '\\') {
			key[n++] = *p++;
			continue;
		}
		if (++p == end)
			return 0;
		char c = *p++;
		switch (c) {
		case 'b': key[n++] = '\b'; break;
		case 'f': key[n++] = '\f'; break;
		case 'n': key[n++] = '\n'; break;
		case 'r': key[n++] = '\r'; break;
		case 't': key[n++] = '\t'; break;
		case 'u': {
			unsigned cp, lo;
			if (hex4(p, end, &cp))
				return 0;
			p += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u' &&
			    !hex4(p + 2, end, &lo) && lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			} else if (cp >= 0xd800 && cp < 0xe000) {
				cp = 0xfffd; /* a lone surrogate has no UTF-8 form */
			}
			n = put_utf8(key, n, cp);
			break;
		}
		default: key[n++] = c; break; /* \" \\ \/ */
		}
	}
	return p < end ? n : 0;
}

size_t kafka_line_key(const char *line, size_t len, char *key)
{
	const char *end = line + len;
	if (len && line[0] == '{') {
		/* json and transaction lines begin {"tstamp":"...","query_id":N,
		 * "rcode":N,"q":"...": the first ,"q":" is the question. */
		static const char tag[] = ",\"q\":\"";
		const char *p = memmem(line, len, tag, sizeof tag - 1);
		return p ? json_key(p + sizeof tag - 1, end, key) : 0;
	}
	/* ts||client||server||class||query||type||answer||ttl||count; '|'
	 * inside a field is written \124, so "||" always separates. */
	const char *p = line;
	for (int i = 0; i < 4; i++) {
		p = memmem(p, (size_t)(end - p), "||", 2);
		if (!p)
			return 0;
		p += 2;
	}
	const char *q = memmem(p, (size_t)(end - p), "||", 2);
	size_t n = (size_t)((q ? q : end) - p);
	if (n > 1 && p[n - 1] == '.')
		n--;
	if (n > KAFKA_KEY_MAX)
		return 0;
	memcpy(key, p, n);
	return n;
}

/* ------------------------------------------------------------ errors */

/* Whether to log an error of this kind now: the first time, then once per
 * ERR_RELOG_NS; *suppressed tells how many were not logged meanwhile. */
static int should_log(struct kafka_sink *k, uint32_t key, uint64_t *suppressed)
{
	uint64_t now = mono_ns();
	struct errkind *e = NULL;
	for (unsigned i = 0; i < k->nkinds; i++)
		if (k->kinds[i].key == key)
			e = &k->kinds[i];
	if (!e) {
		if (k->nkinds < ERR_KINDS) {
			e = &k->kinds[k->nkinds++];
		} else { /* forget the kind logged longest ago */
			e = &k->kinds[0];
			for (unsigned i = 1; i < ERR_KINDS; i++)
				if (k->kinds[i].logged_at < e->logged_at)
					e = &k->kinds[i];
		}
		*e = (struct errkind){ .key = key, .logged_at = now };
		*suppressed = 0;
		return 1;
	}
	if (now - e->logged_at < ERR_RELOG_NS) {
		e->suppressed++;
		return 0;
	}
	*suppressed = e->suppressed;
	e->suppressed = 0;
	e->logged_at = now;
	return 1;
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct sink *s = opaque;
	struct kafka_sink *k = K(s);
	s->st.client_errors++;
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		char why[512];
		rd_kafka_fatal_error(rk, why, sizeof why);
		log_warn("sink %s: the Kafka producer hit a fatal error: %s; every record from now on "
			 "fails (counted in delivery_failed): restart logd to recover", s->name, why);
		return;
	}
	uint64_t more;
	if (!should_log(k, (uint32_t)err, &more))
		return;
	char also[80] = "";
	if (more)
		snprintf(also, sizeof also, " [%" PRIu64 " more of this kind in the last minute]", more);
	log_warn("sink %s: Kafka: %s (%s); librdkafka retries on its own%s%s", s->name, reason,
		 rd_kafka_err2name(err),
		 err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || err == RD_KAFKA_RESP_ERR__TRANSPORT ||
				 err == RD_KAFKA_RESP_ERR__RESOLVE
			 ? ": check that the brokers are up and reachable from here" : "",
		 also);
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	struct sink *s = rd_kafka_opaque(rk);
	struct kafka_sink *k = K(s);
	if (level > LOG_WARNING && !k->forward_debug)
		return;
	/* A broker's connection failure is logged as FAIL and also reported
	 * to on_error, which logs it with its error code: once is enough. */
	if (!strcmp(fac, "FAIL") && !k->forward_debug)
		return;
	uint32_t h = 2166136261u; /* FNV-1a of the facility: one kind per facility */
	for (const char *p = fac; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	uint64_t more = 0;
	if (level <= LOG_WARNING && !should_log(k, h | 0x80000000u, &more))
		return;
	log_info("sink %s: librdkafka %s: %s%s", s->name, fac, buf,
		 more ? " (and similar messages in the last minute)" : "");
}

static void note_failure(struct sink *s, rd_kafka_resp_err_t err)
{
	struct kafka_sink *k = K(s);
	s->st.delivery_failed++;
	if (k->failing)
		return;
	k->failing = 1;
	k->failed_before = s->st.delivery_failed - 1;
	log_warn("sink %s: Kafka did not take a record: %s%s; counting such records (delivery_failed) "
		 "until deliveries succeed again", s->name, rd_kafka_err2str(err),
		 err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT ? " (not acknowledged within timeout=)" : "");
}

/* ------------------------------------------------------------ delivery */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	struct sink *s = opaque;
	struct kafka_sink *k = K(s);
	if (k->closing)
		return;
	/* The opaque is the sequence number, possibly cut to pointer width:
	 * rebuild it from the oldest outstanding one. */
	uint64_t seq = k->seq_tail + (uint64_t)((uintptr_t)m->_private - (uintptr_t)k->seq_tail);
	if (seq >= k->seq_head || k->slot_state[seq % k->nslots] != SLOT_PENDING) {
		log_warn("sink %s: a delivery report for an unknown message (ignored)", s->name);
		return;
	}
	k->pending--;
	k->reported = 1;
	if (m->err) {
		k->slot_state[seq % k->nslots] = SLOT_FAILED;
		note_failure(s, m->err);
		return;
	}
	k->slot_state[seq % k->nslots] = SLOT_DELIVERED;
	if (k->failing) {
		k->failing = 0;
		log_info("sink %s: Kafka deliveries succeed again; %" PRIu64 " records failed meanwhile",
			 s->name, s->st.delivery_failed - k->failed_before);
	}
}

/* Moves the queue's tail over the oldest slots that have their report. */
static void settle(struct sink *s, uint64_t now)
{
	struct kafka_sink *k = K(s);
	uint64_t start = s->q_tail, end = start, failed = 0, failed_bytes = 0;
	while (k->seq_tail < k->seq_head && k->slot_state[k->seq_tail % k->nslots] != SLOT_PENDING) {
		uint64_t e = k->slot_end[k->seq_tail % k->nslots];
		if (k->slot_state[k->seq_tail % k->nslots] == SLOT_FAILED) {
			failed++;
			failed_bytes += e - end;
		}
		end = e;
		k->seq_tail++;
	}
	if (end > start) {
		uint64_t lines_before = s->st.lines_written;
		sink_settle(s, (size_t)(end - start), failed, failed_bytes);
		/* A message is its line without the newline: count what was sent. */
		s->st.bytes_written -= s->st.lines_written - lines_before;
	}
	if (k->reported) {
		k->reported = 0;
		s->inflight_since = now; /* stall= measures time without any report */
		if (s->stalled) {
			s->stalled = 0;
			log_info("sink %s: delivery reports are coming back; accepting records again",
				 s->name);
		}
	}
	s->inflight = k->pending > 0;
}

static void serve(struct sink *s, uint64_t now)
{
	struct kafka_sink *k = K(s);
	rd_kafka_poll(k->rk, 0);
	settle(s, now);
}

/* Where the line starting at queue position from ends (its '\n'). */
static uint64_t line_end(const struct sink *s, uint64_t from)
{
	uint64_t pos = from;
	while (pos < s->q_head) {
		size_t off = (size_t)(pos % s->qcap);
		size_t n = s->qcap - off;
		if (n > s->q_head - pos)
			n = (size_t)(s->q_head - pos);
		const char *nl = memchr(s->q + off, '\n', n);
		if (nl)
			return pos + (uint64_t)(nl - (s->q + off));
		pos += n;
	}
	return s->q_head; /* cannot happen: only whole lines are queued */
}

static void produce(struct sink *s, uint64_t now)
{
	struct kafka_sink *k = K(s);
	int immediate = 0;
	unsigned n;
	for (n = 0; n < PRODUCE_MAX && s->q_sub < s->q_head && k->seq_head - k->seq_tail < k->nslots;
	     n++) {
		uint64_t end = line_end(s, s->q_sub);
		if (end == s->q_head)
			break; /* no whole line: cannot happen, and must not be sent cut */
		size_t len = (size_t)(end - s->q_sub), off = (size_t)(s->q_sub % s->qcap);
		const char *val = s->q + off;
		rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
		if (off + len > s->qcap) { /* wraps around the end of the queue */
			if (len > k->scratch_cap) {
				err = RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE;
			} else {
				memcpy(k->scratch, val, s->qcap - off);
				memcpy(k->scratch + (s->qcap - off), s->q, len - (s->qcap - off));
				val = k->scratch;
			}
		}
		uint64_t seq = k->seq_head;
		if (!err) {
			size_t klen = kafka_line_key(val, len, k->key);
			err = rd_kafka_producev(k->rk, RD_KAFKA_V_RKT(k->rkt),
						RD_KAFKA_V_VALUE((void *)val, len),
						RD_KAFKA_V_KEY(klen ? k->key : NULL, klen),
						RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
						RD_KAFKA_V_OPAQUE((void *)(uintptr_t)seq), RD_KAFKA_V_END);
		}
		if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break; /* reports will make room; the lines wait in our queue */
		k->slot_end[seq % k->nslots] = end + 1;
		if (err) { /* refused outright (too large...): no report will come */
			k->slot_state[seq % k->nslots] = SLOT_FAILED;
			note_failure(s, err);
			immediate = 1;
		} else {
			k->slot_state[seq % k->nslots] = SLOT_PENDING;
			if (!k->pending++)
				s->inflight_since = now;
		}
		k->seq_head++;
		s->q_sub = end + 1;
	}
	/* Lines left while librdkafka holds all it may (messages=, or its own
	 * QUEUE_FULL): one wait, counted once until it is over. */
	int full = s->q_sub < s->q_head && (n < PRODUCE_MAX);
	if (full && !k->queue_full)
		s->st.queue_full_waits++;
	k->queue_full = full;
	if (immediate)
		settle(s, now);
	s->inflight = k->pending > 0;
}

/* ------------------------------------------------------------ sink_ops */

static int kafka_submit(struct sink *s, struct io_uring *ring, uint64_t now)
{
	struct kafka_sink *k = K(s);
	produce(s, now);
	if (!k->pending || k->armed || k->efd_broken)
		return 0;
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	if (!sqe)
		return -1;
	io_uring_prep_poll_add(sqe, k->efd, POLLIN);
	io_uring_sqe_set_data64(sqe, SINK_UD(s->index, 0));
	k->armed = 1;
	return 1;
}

static void kafka_complete(struct sink *s, uint32_t tag, int res, uint64_t now)
{
	struct kafka_sink *k = K(s);
	(void)tag;
	k->armed = 0;
	k->poked = 0;
	uint64_t count; /* reset the eventfd, so the next poll waits for new events */
	if (read(k->efd, &count, sizeof count) < 0 && errno != EAGAIN && !k->efd_broken)
		res = -errno;
	if (res < 0 && res != -EINTR && res != -EAGAIN && res != -ECANCELED && !k->efd_broken) {
		k->efd_broken = 1;
		log_warn("sink %s: cannot wait for Kafka's events through io_uring (%s): polling for "
			 "delivery reports every loop turn instead (they may come up to 50 ms late)",
			 s->name, strerror(-res));
	}
	serve(s, now);
}

static void kafka_tick(struct sink *s, uint64_t now, int idle)
{
	struct kafka_sink *k = K(s);
	(void)idle;
	serve(s, now);
	/* Nothing outstanding but our poll still waits: end it, or the loop
	 * would believe an operation is in flight and keep waking up. */
	if (k->armed && !k->pending && !k->poked) {
		uint64_t one = 1;
		if (write(k->efd, &one, sizeof one) == sizeof one)
			k->poked = 1;
	}
}

static int kafka_open(struct sink *s, char *err, size_t errlen)
{
	struct kafka_sink *k = K(s);
	char why[512];
	struct sink_spec sp = { .queue_bytes = s->qcap };
	if (kafka_spec_parse(k->spec, &k->o, &sp, why, sizeof why) < 0)
		return fail_with(err, errlen, "sink %s: %s", s->name, why);
	rd_kafka_conf_t *c = build_conf(&k->o, s->qcap, why, sizeof why);
	if (!c)
		return fail_with(err, errlen, "sink %s: %s", s->name, why);
	char dbg[8];
	size_t dn = sizeof dbg;
	k->forward_debug = rd_kafka_conf_get(c, "debug", dbg, &dn) == RD_KAFKA_CONF_OK && dn > 1;
	k->nslots = (size_t)k->o.messages;
	k->slot_end = calloc(k->nslots, sizeof *k->slot_end);
	k->slot_state = calloc(k->nslots, 1);
	k->scratch_cap = k->o.max_message < s->qcap ? (size_t)k->o.max_message : s->qcap;
	k->scratch = malloc(k->scratch_cap);
	if (!k->slot_end || !k->slot_state || !k->scratch) {
		rd_kafka_conf_destroy(c);
		return fail_with(err, errlen, "sink %s: out of memory for %zu message slots (see "
				 "messages=) or a %zu-byte message (see max-message=)", s->name,
				 k->nslots, k->scratch_cap);
	}
	rd_kafka_conf_set_opaque(c, s);
	rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
	rd_kafka_conf_set_error_cb(c, on_error);
	rd_kafka_conf_set_log_cb(c, on_log);
	k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, why, sizeof why);
	if (!k->rk) {
		rd_kafka_conf_destroy(c);
		return fail_with(err, errlen, "sink %s: cannot create the Kafka producer: %s", s->name,
				 why);
	}
	rd_kafka_set_log_queue(k->rk, NULL); /* logs are served by our poll, on our thread */
	k->rkt = rd_kafka_topic_new(k->rk, k->o.topic, NULL);
	if (!k->rkt)
		return fail_with(err, errlen, "sink %s: cannot use topic %s: %s", s->name, k->o.topic,
				 rd_kafka_err2str(rd_kafka_last_error()));
	k->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (k->efd < 0)
		return fail_with(err, errlen, "sink %s: cannot create an eventfd: %s", s->name,
				 strerror(errno));
	k->mainq = rd_kafka_queue_get_main(k->rk);
	uint64_t one = 1; /* an eventfd takes exactly 8 bytes */
	rd_kafka_queue_io_event_enable(k->mainq, k->efd, &one, sizeof one);
	return 0;
}

static void kafka_close(struct sink *s)
{
	struct kafka_sink *k = K(s);
	if (!k)
		return;
	k->closing = 1;
	if (k->rk) {
		/* Still outstanding only when logd gives up draining: those lines
		 * were counted dropped and the ring keeps their records for the
		 * next logd, so sending them now would only duplicate them. */
		if (k->pending)
			log_warn("sink %s: %" PRIu64 " messages were still waiting for a delivery report; "
				 "a restarted logd sends their records again", s->name, k->pending);
		rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		if (k->mainq) {
			rd_kafka_queue_io_event_enable(k->mainq, -1, NULL, 0);
			rd_kafka_poll(k->rk, 0);
			rd_kafka_queue_destroy(k->mainq);
		}
		if (k->rkt)
			rd_kafka_topic_destroy(k->rkt);
		rd_kafka_destroy(k->rk);
	}
	if (k->efd >= 0)
		close(k->efd);
	free(k->slot_end);
	free(k->slot_state);
	free(k->scratch);
	free(k);
	s->impl = NULL;
}

static const struct sink_ops kafka_ops = {
	.kind = "kafka",
	.open = kafka_open,
	.tick = kafka_tick,
	.close = kafka_close,
	.submit = kafka_submit,
	.complete = kafka_complete,
};

int sink_kafka_create(struct sink *s, const struct sink_spec *sp, uint64_t start_pos)
{
	if (sink_init(s, &kafka_ops, sp->text, sp->queue_bytes, SINK_MAX_WRITE, sp->stall_ns,
		      sp->wait_ns, start_pos) < 0)
		return -1;
	struct kafka_sink *k = calloc(1, sizeof *k);
	if (!k) {
		sink_free(s);
		return -1;
	}
	snprintf(k->spec, sizeof k->spec, "%s", sp->text);
	k->efd = -1;
	s->impl = k;
	return 0;
}
