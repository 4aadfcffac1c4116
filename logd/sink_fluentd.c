/*
 * sink_fluentd.c - the fluentd sink: Fluentd Forward protocol v1, Forward
 * mode, over TCP or a unix stream socket, through netconn.c.
 *
 * A chunk is one message [tag, [[time, record], ...], option] and one
 * netconn unit:
 *   - time: EventTime (ext type 0: seconds, nanoseconds), the record's
 *     packet time read back from its line;
 *   - record: a map with the fields of the line, in its order - json: one
 *     entry per RR, transaction: one entry per transaction (with its
 *     answers array), both transcoded from the line by mp_from_json so the
 *     two outputs cannot drift apart; passivedns: {"message": LINE};
 *   - option: {"size": entries} and, with require-ack, "chunk": base64 of
 *     16 random bytes.  The peer answers {"ack": chunk} once it has the
 *     chunk; only then are its records written (lines_written, done_pos).
 * Without require-ack a chunk is delivered once the peer's kernel has
 * acknowledged it (TCP) or the peer has read it (unix), as for syslog.
 *
 * A chunk takes the records of consecutive batches while none of it has
 * been sent (so a busy sink sends fewer, larger chunks), up to CHUNK_MAX
 * bytes.  Once sent it never changes: a chunk sent again after a reconnect
 * is the same bytes with the same id, so a receiver can tell a resend.
 * Each record rewrites the chunk's count and option, so the queue always
 * holds complete chunks.
 */
#include "sinks.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define CHUNK_MAX (1u << 20)
#define ENTRY_OVERHEAD 48 /* fixarray, EventTime, map headers, {"message": } */
#define CHUNK_OVERHEAD (16 + NC_TAG_MAX + 48) /* header and option of a chunk */

struct fluentd_sink {
	struct netconn nc; /* first: netconn.c's view of impl */
	uint64_t rng; /* splitmix64, for chunk ids */
	size_t chunk_max;
	int fallback_logged;
};

static struct fluentd_sink *FL(struct sink *s)
{
	return s->impl;
}

/* ------------------------------------------------------------ time */

/* Days from 1970-01-01 to a proleptic Gregorian date (the inverse of
 * jw_civil_from_days, written from the calendar's 400-year cycle). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static unsigned num(const char *p, int n)
{
	unsigned v = 0;
	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return ~0u;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	return v;
}

int fluentd_line_time(const char *line, size_t len, uint32_t *sec, uint32_t *nsec)
{
	static const char json_ts[] = "{\"tstamp\":\"";
	const size_t at = sizeof json_ts - 1;
	if (len >= at + 30 && !memcmp(line, json_ts, at)) {
		const char *t = line + at;
		unsigned y = num(t, 4), mo = num(t + 5, 2), d = num(t + 8, 2), h = num(t + 11, 2),
			 mi = num(t + 14, 2), s = num(t + 17, 2), ns = num(t + 20, 9);
		if (y == ~0u || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 ||
		    ns == ~0u || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' ||
		    t[16] != ':' || t[19] != '.' || t[29] != 'Z')
			return -1;
		int64_t v = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
		if (v < 0 || v > UINT32_MAX)
			return -1;
		*sec = (uint32_t)v;
		*nsec = ns;
		return 0;
	}
	/* passivedns: "SECONDS.UUUUUU||" */
	size_t i = 0;
	uint64_t v = 0;
	while (i < len && i < 11 && line[i] >= '0' && line[i] <= '9')
		v = v * 10 + (uint64_t)(line[i++] - '0');
	if (!i || i == 11 || v > UINT32_MAX || len < i + 9 || line[i] != '.' ||
	    num(line + i + 1, 6) == ~0u || line[i + 7] != '|' || line[i + 8] != '|')
		return -1;
	*sec = (uint32_t)v;
	*nsec = num(line + i + 1, 6) * 1000;
	return 0;
}

/* ------------------------------------------------------------ chunks */

static uint64_t next_random(struct fluentd_sink *f)
{
	uint64_t z = (f->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void chunk_id(struct fluentd_sink *f, char out[NC_ID_LEN + 1])
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t raw[18] = { 0 };
	uint64_t a = next_random(f), b = next_random(f);
	for (int i = 0; i < 8; i++) {
		raw[i] = (uint8_t)(a >> (8 * i));
		raw[8 + i] = (uint8_t)(b >> (8 * i));
	}
	for (int i = 0; i < 6; i++) { /* 16 bytes + 2 of padding: 6 groups of 3 */
		uint32_t g = (uint32_t)raw[3 * i] << 16 | (uint32_t)raw[3 * i + 1] << 8 | raw[3 * i + 2];
		for (int k = 0; k < 4; k++)
			out[4 * i + k] = b64[g >> (18 - 6 * k) & 63];
	}
	out[22] = out[23] = '=';
	out[NC_ID_LEN] = 0;
}

static void put_option(struct sink *s, struct mpw *w, struct nc_unit *u)
{
	u->opt_at = w->pos;
	mp_map(w, NC(s)->spec.require_ack ? 2 : 1);
	mp_str(w, "size", 4);
	mp_uint32(w, u->entries);
	if (NC(s)->spec.require_ack) {
		mp_str(w, "chunk", 5);
		mp_str(w, u->id, NC_ID_LEN);
	}
}

/* Starts a chunk at w->pos: header and an empty option.  NULL when no unit
 * or no room is left (w unchanged). */
static struct nc_unit *new_chunk(struct sink *s, struct mpw *w)
{
	struct fluentd_sink *f = FL(s);
	const struct net_spec *sp = &f->nc.spec;
	struct nc_unit *u = nc_new_unit(s, w->pos);
	if (!u)
		return NULL;
	mp_array(w, 3);
	mp_str(w, sp->tag, strlen(sp->tag));
	u->count_at = mp_array32(w, 0) + 1;
	if (sp->require_ack)
		chunk_id(f, u->id);
	put_option(s, w, u);
	if (w->err) {
		w->err = 0;
		w->pos = u->start;
		nc_drop_last_unit(s);
		return NULL;
	}
	u->end = w->pos;
	return u;
}

static int fluentd_begin(struct sink *s, struct mpw *w)
{
	struct netconn *nc = NC(s);
	struct nc_unit *u = nc_last_unit(s);
	(void)w;
	nc->cur = u && !u->sent && u->opt_at - u->start < FL(s)->chunk_max ? u : NULL;
	return 0;
}

static void put_entry(struct sink *s, struct mpw *w, const char *line, size_t len)
{
	struct fluentd_sink *f = FL(s);
	uint32_t sec, nsec;
	if (fluentd_line_time(line, len, &sec, &nsec) < 0) {
		/* not a line logd writes; keep it, stamped now */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		sec = (uint32_t)ts.tv_sec;
		nsec = (uint32_t)ts.tv_nsec;
	}
	mp_array(w, 2);
	mp_event_time(w, sec, nsec);
	if (len && line[0] == '{') {
		uint64_t at = w->pos;
		if (mp_from_json(w, line, len) == 0 || w->err)
			return;
		w->pos = at;
		if (!f->fallback_logged)
			log_warn("sink %s: a line is not the JSON logd writes; sent as {\"message\": LINE} "
				 "(logged once): %.120s", s->name, line);
		f->fallback_logged = 1;
	}
	mp_map(w, 1);
	mp_str(w, "message", 7);
	mp_str(w, line, len);
}

static int fluentd_put_record(struct sink *s, struct mpw *w, const char *lines, size_t len,
			      uint32_t nlines, uint64_t pos)
{
	struct fluentd_sink *f = FL(s);
	struct netconn *nc = &f->nc;
	struct nc_unit *prev = nc->cur, *u = prev;
	if (u && u->entries && u->opt_at - u->start >= f->chunk_max)
		u = NULL; /* full: this record starts the next chunk */
	if (!u) {
		w->pos = prev ? prev->end : w->pos;
		if (!(u = new_chunk(s, w)))
			return -1;
		if (prev)
			prev->pos = pos; /* the records before this one are all in it */
	}
	uint32_t entries = u->entries;
	uint64_t opt_at = u->opt_at;
	w->pos = opt_at; /* entries go where the option was */
	for (const char *p = lines, *end = lines + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t llen = (size_t)((nl ? nl : end) - p);
		put_entry(s, w, p, llen);
		u->entries++;
		p += llen + 1;
	}
	put_option(s, w, u);
	if (w->err) {
		w->err = 0;
		u->entries = entries;
		if (u != prev && !entries) { /* the chunk made for it: gone */
			w->pos = u->start;
			nc_drop_last_unit(s);
			nc->cur = prev;
			return -1;
		}
		w->pos = opt_at; /* the entries may have overwritten the option */
		put_option(s, w, u); /* fits: it was there */
		nc->cur = u;
		return -1;
	}
	u->end = w->pos;
	u->lines_end = s->lines_head + nlines;
	mp_patch_u32(w, u->count_at, u->entries);
	nc->cur = u;
	return 0;
}

static void fluentd_end(struct sink *s, struct mpw *w)
{
	struct nc_unit *u = NC(s)->cur;
	if (u)
		w->pos = u->end;
}

/* ------------------------------------------------------------ acks */

long fluentd_parse_acks(struct sink *s, const uint8_t *p, size_t n)
{
	size_t used = 0;
	while (used < n) {
		long len = mp_skip(p + used, n - used);
		if (len <= 0)
			return len < 0 ? -1 : (long)used;
		const uint8_t *q = p + used, *end = q + len;
		uint32_t count;
		long h = mp_map_at(q, (size_t)len, &count);
		if (h <= 0)
			return -1;
		q += h;
		for (uint32_t i = 0; i < count; i++) {
			const uint8_t *k, *v;
			size_t klen, vlen;
			long kl = mp_str_at(q, (size_t)(end - q), &k, &klen);
			if (kl <= 0)
				return -1;
			q += kl;
			if (klen == 3 && !memcmp(k, "ack", 3)) {
				long vl = mp_str_at(q, (size_t)(end - q), &v, &vlen);
				if (vl <= 0)
					return -1;
				nc_ack(s, (const char *)v, vlen);
				q += vl;
			} else {
				long sl = mp_skip(q, (size_t)(end - q));
				if (sl <= 0)
					return -1;
				q += sl;
			}
		}
		used += (size_t)len;
	}
	return (long)used;
}

static const struct nc_kind fluentd_kind = {
	.begin = fluentd_begin,
	.put_record = fluentd_put_record,
	.end = fluentd_end,
	.on_data = fluentd_parse_acks,
	.octet_frames = 0,
};

/* ------------------------------------------------------------ sink */

static int fluentd_open(struct sink *s, char *err, size_t errlen)
{
	struct fluentd_sink *f = FL(s);
	uint64_t seed[2] = { 0, 0 };
	if (getrandom(seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
		/* early boot: ids need only be unique, not secret */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		seed[0] = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^ (uint64_t)getpid() << 48;
	}
	f->rng = seed[0] ^ seed[1];
	f->nc.line_overhead = ENTRY_OVERHEAD;
	f->nc.batch_overhead = 2 * CHUNK_OVERHEAD;
	return nc_resolve(s, err, errlen);
}

static void fluentd_close(struct sink *s)
{
	nc_close(s);
	free(s->impl);
	s->impl = NULL;
}

static const struct sink_ops fluentd_ops = {
	.kind = "fluentd",
	.open = fluentd_open,
	.tick = nc_tick,
	.close = fluentd_close,
	.offer = nc_offer,
	.submit = nc_submit,
	.complete = nc_complete,
	.batch_budget = nc_batch_budget,
};

int sink_fluentd_create(struct sink *s, const struct sink_spec *sp, uint64_t start_pos)
{
	if (sink_init(s, &fluentd_ops, sp->text, sp->queue_bytes, SINK_MAX_WRITE, sp->stall_ns,
		      sp->wait_ns, start_pos) < 0)
		return -1;
	struct fluentd_sink *f = calloc(1, sizeof *f);
	s->impl = f;
	if (!f || nc_init(s, &f->nc, &fluentd_kind, &sp->net) < 0) {
		free(f);
		s->impl = NULL;
		sink_free(s);
		return -1;
	}
	f->nc.app_acks = sp->net.require_ack;
	/* A few chunks fit the queue even when it is small. */
	f->chunk_max = sp->queue_bytes / 4 < CHUNK_MAX ? (size_t)sp->queue_bytes / 4 : CHUNK_MAX;
	return 0;
}

/* ------------------------------------------------------------ spec */

int sink_fluentd_address(struct sink_spec *sp, const char *addr, char *why, size_t whylen)
{
	snprintf(sp->net.tag, sizeof sp->net.tag, "dnstrail");
	return nc_parse_address(&sp->net, addr, 1, 0, why, whylen);
}

int sink_fluentd_option(struct sink_spec *sp, const char *key, const char *val, int *unknown,
			char *why, size_t whylen)
{
	*unknown = 0;
	if (!strcmp(key, "tag") && val) {
		size_t n = strlen(val);
		int ok = n && n <= NC_TAG_MAX;
		for (size_t i = 0; ok && i < n; i++)
			ok = (uint8_t)val[i] > 32 && (uint8_t)val[i] < 127;
		if (ok) {
			memcpy(sp->net.tag, val, n + 1);
			return 0;
		}
		snprintf(why, whylen, "1 to %d printable ASCII characters, no spaces (e.g. dns.passive)",
			 NC_TAG_MAX);
		return -1;
	}
	if (!strcmp(key, "require-ack") && !val) {
		sp->net.require_ack = 1;
		return 0;
	}
	*unknown = 1;
	snprintf(why, whylen, "fluentd sinks take tag=, require-ack, size=, wait=, stall=");
	return -1;
}
