/*
 * txn_feed - writes synthetic REC_TXN records into a ring, for logd's
 * end-to-end tests and benchmarks, and (optionally) the lines logd must
 * write for them.
 *
 *   txn_feed --ring PATH [--ring-size BYTES] [-n N] [--start I] [--rate R]
 *            [--eof] [--expect FILE] [--format json|transaction|passivedns]
 *            [--sensor NAME] [--pool]
 *
 * Record i is a pure function of i (varied names, including bytes that
 * need escaping and invalid UTF-8; IPv4 and IPv6; 0-4 RRs, sometimes 20;
 * every kind, rcode, section, VLAN or not), so several runs with --start
 * produce one consistent stream.  --expect writes what logd must print for
 * those records, built independently of logd: JSON through json-c, times
 * through gmtime_r, addresses through inet_ntop.  --pool cycles 4096
 * prebuilt records (for benchmarks: generation then costs nothing).
 * --rate paces to R records/s.  --eof marks the end of the stream.
 * Prints "records=N lines=L" (L: json lines) on stdout when done.
 *
 *   txn_feed --verify ACTUAL --expect EXPECTED [--format F] [--subsequence]
 *
 * checks logd's output against an --expect file: every line of ACTUAL must
 * parse with json-c (strict, UTF-8 validated) and equal the expected line
 * field by field and in field order (passivedns: byte for byte).  Lines must
 * correspond one to one, or with --subsequence appear in the expected order
 * with gaps (records dropped and counted by logd).  Prints "verified N
 * lines" or the first difference, and exits 1 on one.
 */
#include "dns_names.h"
#include "records.h"
#include "ring.h"
#include "unit/test_logd_txn.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static const char *const hostile[] = {
	"quote\"d.example",
	"back\\slash.example",
	"ctl\x01\x1f\x7f.example",
	"tab\tnl\ncr\r.example",
	"utf8-\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80.example",
	"bad-\xff\xfe\xc0\x80\xed\xa0\x80.example",
	"pipe|bar||x.example",
	"\\\"\\\\\\\"",
	"trunc\xe2\x82",
	".",
};

/* Builds record i into tb; returns its size. */
static size_t gen(struct tb *tb, uint64_t i)
{
	uint64_t h = mix(i), h2 = mix(h);
	uint8_t kind = (uint8_t)(1 + h % 3);
	struct rec_txn *t = tb_begin(tb, kind);
	struct rec_msg *m = &t->msg;
	m->ts_ns = 1600000000000000000ull + i * 1000003ull + (h2 & 0x3ff);
	m->id = (uint16_t)(h >> 16);
	m->ip_version = (h >> 2) % 3 == 0 ? 6 : 4;
	m->transport = (h >> 5) % 4 == 0 ? 6 : 17;
	for (int k = 0; k < 16; k++) {
		m->src[k] = (uint8_t)(m->ip_version == 6 && k < 8 && k % 3 ? 0 : mix(h + (uint64_t)k));
		m->dst[k] = (uint8_t)(m->ip_version == 6 && k > 4 && k < 14 ? 0 : mix(h2 + (uint64_t)k));
	}
	m->sport = (uint16_t)(1024 + h2 % 60000);
	m->dport = (h2 >> 20) % 10 ? 53 : 5353;
	unsigned opcode = (h >> 8) % 20 == 0 ? 5 : 0;
	unsigned rcode = (h >> 24) % 6 == 0 ? 3 : (h >> 24) % 6 == 1 ? (unsigned)((h >> 40) % 24) : 0;
	if (kind == TXN_UNANSWERED)
		rcode = 0;
	m->hflags = (uint16_t)((kind == TXN_UNANSWERED ? 0 : 0x8000) | opcode << 11 |
			       (unsigned)(h2 & 0x0780) | (rcode & 15));
	m->rcode = (uint16_t)rcode;
	if ((h >> 30) % 5 == 0) {
		m->flags |= MSG_F_VLAN;
		m->vlan = (uint16_t)(h2 % 4096);
	}
	m->msg_len = (uint32_t)(30 + h2 % 1400);
	t->count = (uint32_t)(1 + (h2 >> 33) % 5);
	if (kind == TXN_ANSWERED) {
		t->elapsed_ns = h2 % 2000000000ull;
		t->query_ts_ns = m->ts_ns - t->elapsed_ns;
	}
	static const uint16_t qtypes[] = { 1, 28, 5, 15, 16, 65, 33, 12, 65534, 255, 2, 6 };
	char qname[300];
	size_t qlen;
	if (i % 17 == 5)
		qlen = (size_t)snprintf(qname, sizeof qname, "%s", hostile[(i / 17) % 10]);
	else
		qlen = (size_t)snprintf(qname, sizeof qname, "h%" PRIu64 ".zone%u.example.com", i,
					(unsigned)(h % 97));
	int question = !(kind == TXN_UNANSWERED && h % 7 == 0);
	if (question)
		tb_question(tb, qname, qlen, qtypes[(h >> 36) % 12], (h >> 44) % 50 ? 1 : 3);
	unsigned nrr = 0;
	if (kind != TXN_UNANSWERED && rcode == 0)
		nrr = (h >> 48) % 23 == 0 ? 20 : (unsigned)((h >> 48) % 5);
	char owner[300], data[400];
	memcpy(owner, qname, qlen);
	size_t olen = qlen;
	for (unsigned r = 0; r < nrr; r++) {
		uint64_t g = mix(h + r + 1);
		uint16_t type;
		size_t dlen;
		switch (g % 6) {
		case 0:
			type = 1;
			dlen = (size_t)snprintf(data, sizeof data, "%u.%u.%u.%u", (unsigned)(g >> 8 & 255),
						(unsigned)(g >> 16 & 255), (unsigned)(g >> 24 & 255),
						(unsigned)(g >> 32 & 255));
			break;
		case 1:
			type = 28;
			dlen = (size_t)snprintf(data, sizeof data, "2001:db8::%x", (unsigned)(g >> 8 & 0xffff));
			break;
		case 2:
			type = 5;
			dlen = (size_t)snprintf(data, sizeof data, "cname%u.example.net", (unsigned)(g >> 8 & 0xfff));
			break;
		case 3:
			type = 16;
			dlen = (size_t)snprintf(data, sizeof data, "\"txt \\\"%s\\\" %" PRIu64 "\"",
						hostile[g % 10], i);
			break;
		case 4:
			type = 15;
			dlen = (size_t)snprintf(data, sizeof data, "10 mx%u.example.org", (unsigned)(g >> 8 & 0xff));
			break;
		default:
			type = 65280; /* unknown: RFC 3597 rdata */
			dlen = (size_t)snprintf(data, sizeof data, "\\# 4 %08x", (unsigned)(g >> 8));
			break;
		}
		uint8_t section = g >> 40 & 7 ? SEC_ANSWER : (g >> 43 & 1) ? SEC_AUTHORITY : SEC_ADDITIONAL;
		tb_rr(tb, owner, olen, data, dlen, type, (uint32_t)(g % 86401), (uint32_t)(1 + (g >> 50) % 3),
		      section);
		if (type == 5) { /* a CNAME chain: the next RR is the target's */
			memcpy(owner, data, dlen);
			olen = dlen;
		}
	}
	return tb_end(tb);
}

/* ---- what logd must write, built without logd's code ---- */

static struct json_object *jstr(const char *s, size_t n)
{
	uint8_t *d = malloc(2 * n + 1);
	size_t dn = ref_json_decode((const uint8_t *)s, n, d);
	struct json_object *o = json_object_new_string_len((const char *)d, (int)dn);
	free(d);
	return o;
}

static void type_name(uint16_t t, char *buf, size_t len)
{
	const char *n = dns_type_name(t);
	if (n)
		snprintf(buf, len, "%s", n);
	else
		snprintf(buf, len, "TYPE%u", t);
}

static void class_name(uint16_t c, char *buf, size_t len)
{
	dns_class_str(c, buf, len);
}

static void addr_text(const struct rec_msg *m, const uint8_t *a, char *buf)
{
	inet_ntop(m->ip_version == 4 ? AF_INET : AF_INET6, a, buf, INET6_ADDRSTRLEN);
}

static void add(struct json_object *o, const char *k, struct json_object *v)
{
	json_object_object_add(o, k, v);
}

static struct json_object *head_object(const struct rec_txn *t, const char *sensor, int with_rr,
				       const struct rec_rr *rr)
{
	const struct rec_msg *m = &t->msg;
	const char *text = rec_msg_text(m);
	struct json_object *o = json_object_new_object();
	char buf[64];
	time_t sec = (time_t)(m->ts_ns / 1000000000ull);
	struct tm tm;
	gmtime_r(&sec, &tm);
	snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(m->ts_ns % 1000000000ull));
	add(o, "tstamp", json_object_new_string(buf));
	add(o, "query_id", json_object_new_int(m->id));
	add(o, "rcode", json_object_new_int(m->rcode));
	int q = m->flags & MSG_F_QUESTION;
	add(o, "q", q ? jstr(text + m->qname_off, m->qname_len) : json_object_new_string(""));
	type_name(m->qtype, buf, sizeof buf);
	add(o, "qtype", json_object_new_string(q ? buf : ""));
	class_name(m->qclass, buf, sizeof buf);
	add(o, "qclass", json_object_new_string(q ? buf : ""));
	if (with_rr) {
		add(o, "rrname", rr ? jstr(text + rr->name_off, rr->name_len) : json_object_new_string(""));
		add(o, "a", rr ? jstr(text + rr->data_off, rr->data_len) : json_object_new_string(""));
		type_name(rr ? rr->type : 0, buf, sizeof buf);
		add(o, "atype", json_object_new_string(rr ? buf : ""));
		add(o, "ttl", json_object_new_int64(rr ? rr->ttl : 0));
	}
	addr_text(m, m->src, buf);
	add(o, "src", json_object_new_string(buf));
	add(o, "sport", json_object_new_int(m->sport));
	addr_text(m, m->dst, buf);
	add(o, "dst", json_object_new_string(buf));
	add(o, "dport", json_object_new_int(m->dport));
	add(o, "protocol", json_object_new_string(m->transport == 17 ? "udp" : m->transport == 6 ? "tcp" : "unknown"));
	add(o, "bytes", json_object_new_int64(m->msg_len));
	if (t->kind == TXN_ANSWERED)
		add(o, "elapsed", json_object_new_int64((int64_t)t->elapsed_ns));
	add(o, "truncated", json_object_new_boolean(DNS_TC(m->hflags)));
	add(o, "aa", json_object_new_boolean(DNS_AA(m->hflags)));
	add(o, "rd", json_object_new_boolean(DNS_RD(m->hflags)));
	add(o, "ra", json_object_new_boolean(DNS_RA(m->hflags)));
	add(o, "opcode", json_object_new_int(DNS_OPCODE(m->hflags)));
	if (m->flags & MSG_F_VLAN)
		add(o, "vlan", json_object_new_int(m->vlan));
	if (sensor)
		add(o, "sensor", json_object_new_string(sensor));
	return o;
}

static const char *kind_name(uint8_t k)
{
	return k == TXN_ANSWERED ? "answered" : k == TXN_RESPONSE_ONLY ? "response-only" : "unanswered";
}

static const char *section_name(uint8_t s)
{
	return s == SEC_AUTHORITY ? "authority" : "additional";
}

static void put_json(FILE *f, struct json_object *o)
{
	fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static void pdns_text(FILE *f, const char *s, size_t n, int dot)
{
	for (size_t i = 0; i < n; i++) {
		unsigned c = (uint8_t)s[i];
		if (c < 0x20 || c >= 0x7f || c == '|')
			fprintf(f, "\\%03u", c);
		else
			fputc((int)c, f);
	}
	if (dot && n && s[n - 1] != '.')
		fputc('.', f);
}

static void expect_txn(FILE *f, const struct rec_txn *t, const char *format, const char *sensor)
{
	const struct rec_msg *m = &t->msg;
	const struct rec_rr *rr = rec_msg_rrs(m);
	const char *text = rec_msg_text(m);
	if (!strcmp(format, "json")) {
		for (uint32_t i = 0; i < (m->n_rr ? m->n_rr : 1u); i++) {
			const struct rec_rr *r = m->n_rr ? &rr[i] : NULL;
			struct json_object *o = head_object(t, sensor, 1, r);
			add(o, "count", json_object_new_int64(r ? r->count : t->count));
			add(o, "kind", json_object_new_string(kind_name(t->kind)));
			if (r && r->section != SEC_ANSWER)
				add(o, "section", json_object_new_string(section_name(r->section)));
			put_json(f, o);
		}
	} else if (!strcmp(format, "transaction")) {
		struct json_object *o = head_object(t, sensor, 0, NULL);
		add(o, "kind", json_object_new_string(kind_name(t->kind)));
		struct json_object *a = json_object_new_array();
		char buf[32];
		for (uint32_t i = 0; i < m->n_rr; i++) {
			struct json_object *e = json_object_new_object();
			add(e, "name", jstr(text + rr[i].name_off, rr[i].name_len));
			type_name(rr[i].type, buf, sizeof buf);
			add(e, "type", json_object_new_string(buf));
			add(e, "ttl", json_object_new_int64(rr[i].ttl));
			add(e, "data", jstr(text + rr[i].data_off, rr[i].data_len));
			if (rr[i].section != SEC_ANSWER)
				add(e, "section", json_object_new_string(section_name(rr[i].section)));
			add(e, "count", json_object_new_int64(rr[i].count));
			json_object_array_add(a, e);
		}
		add(o, "answers", a);
		put_json(f, o);
	} else {
		char src[64], dst[64], cls[32], typ[32];
		addr_text(m, m->src, src);
		addr_text(m, m->dst, dst);
		int q = m->flags & MSG_F_QUESTION;
		for (uint32_t i = 0; i < (m->n_rr ? m->n_rr : 1u); i++) {
			fprintf(f, "%" PRIu64 ".%06u||%s||%s||", (uint64_t)(m->ts_ns / 1000000000ull),
				(unsigned)(m->ts_ns % 1000000000ull / 1000), src, dst);
			if (m->n_rr) {
				class_name(rr[i].rclass, cls, sizeof cls);
				type_name(rr[i].type, typ, sizeof typ);
				fprintf(f, "%s||", cls);
				pdns_text(f, text + rr[i].name_off, rr[i].name_len, 1);
				fprintf(f, "||%s||", typ);
				pdns_text(f, text + rr[i].data_off, rr[i].data_len, 0);
				fprintf(f, "||%u||%u\n", rr[i].ttl, rr[i].count);
			} else {
				static const char *const rc[] = { "", "FORMERR", "SERVFAIL", "NXDOMAIN",
								  "NOTIMPL", "REFUSED", "YXDOMAIN", "YXRRSET",
								  "NXRRSET", "NOTAUTH", "NOTZONE" };
				class_name(m->qclass, cls, sizeof cls);
				type_name(m->qtype, typ, sizeof typ);
				fprintf(f, "%s||", q ? cls : "");
				if (q)
					pdns_text(f, text + m->qname_off, m->qname_len, 1);
				fprintf(f, "||%s||", q ? typ : "");
				if (m->rcode < 11)
					fprintf(f, "%s", rc[m->rcode]);
				else
					fprintf(f, "UNKNOWN-ERROR-%u", m->rcode);
				fprintf(f, "||0||%u\n", t->count);
			}
		}
	}
}

/* Canonical form of a JSON line: json-c's own rendering of what it parsed,
 * which keeps field order.  NULL when the line is not valid JSON. */
static char *canon(const char *line, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	struct json_object *o = json_tokener_parse_ex(tok, line, (int)len);
	char *out = NULL;
	if (o && json_tokener_get_error(tok) == json_tokener_success &&
	    (size_t)json_tokener_get_parse_end(tok) == len && json_object_is_type(o, json_type_object))
		out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	json_tokener_free(tok);
	return out;
}

static int verify(const char *actual, const char *expected, const char *format, int subsequence)
{
	FILE *a = fopen(actual, "r"), *e = fopen(expected, "r");
	if (!a || !e) {
		perror(!a ? actual : expected);
		return 1;
	}
	int json = strcmp(format, "passivedns") != 0;
	char *al = NULL, *el = NULL;
	size_t acap = 0, ecap = 0;
	ssize_t an, en;
	uint64_t lineno = 0, eline = 0;
	while ((an = getline(&al, &acap, a)) >= 0) {
		lineno++;
		if (an == 0 || al[an - 1] != '\n') {
			fprintf(stderr, "%s: line %" PRIu64 " is not terminated by a newline (partial line)\n",
				actual, lineno);
			return 1;
		}
		char *ac = json ? canon(al, (size_t)an - 1) : strndup(al, (size_t)an);
		if (!ac) {
			fprintf(stderr, "%s: line %" PRIu64 " is not valid JSON: %.300s\n", actual, lineno, al);
			return 1;
		}
		for (;;) {
			if ((en = getline(&el, &ecap, e)) < 0) {
				fprintf(stderr, "%s: line %" PRIu64 " %s:\n  got:  %.400s\n", actual, lineno,
					subsequence ? "matches no remaining expected line"
						    : "is beyond the expected lines", al);
				return 1;
			}
			eline++;
			char *ec = json ? canon(el, (size_t)en - 1) : strndup(el, (size_t)en);
			int same = ec && !strcmp(ac, ec);
			free(ec);
			if (same)
				break;
			if (!subsequence) {
				fprintf(stderr, "%s: line %" PRIu64 " differs from the expected one:\n  got:  "
					"%.400s  want: %.400s", actual, lineno, al, el);
				return 1;
			}
		}
		free(ac);
	}
	if (!subsequence && getline(&el, &ecap, e) >= 0) {
		fprintf(stderr, "%s: %" PRIu64 " lines, fewer than expected; first missing: %.400s",
			actual, lineno, el);
		return 1;
	}
	printf("verified %" PRIu64 " lines\n", lineno);
	free(al);
	free(el);
	fclose(a);
	fclose(e);
	return 0;
}

static volatile sig_atomic_t stop;
static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	const char *ring_path = NULL, *expect = NULL, *format = "json", *sensor = NULL;
	const char *check = NULL;
	uint64_t n = 1000, start = 0, rate = 0, ring_size = 64 << 20;
	int eof = 0, pool = 0, subsequence = 0;
	static const struct option opts[] = {
		{ "ring", required_argument, NULL, 'r' }, { "ring-size", required_argument, NULL, 'S' },
		{ "count", required_argument, NULL, 'n' }, { "start", required_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'R' }, { "eof", no_argument, NULL, 'e' },
		{ "expect", required_argument, NULL, 'x' }, { "format", required_argument, NULL, 'f' },
		{ "sensor", required_argument, NULL, 'N' }, { "pool", no_argument, NULL, 'p' },
		{ "verify", required_argument, NULL, 'V' }, { "subsequence", no_argument, NULL, 'Q' },
		{ NULL, 0, NULL, 0 },
	};
	int o;
	while ((o = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		switch (o) {
		case 'r': ring_path = optarg; break;
		case 'S': ring_size = strtoull(optarg, NULL, 0); break;
		case 'n': n = strtoull(optarg, NULL, 0); break;
		case 's': start = strtoull(optarg, NULL, 0); break;
		case 'R': rate = strtoull(optarg, NULL, 0); break;
		case 'e': eof = 1; break;
		case 'x': expect = optarg; break;
		case 'f': format = optarg; break;
		case 'N': sensor = optarg; break;
		case 'p': pool = 1; break;
		case 'V': check = optarg; break;
		case 'Q': subsequence = 1; break;
		default: fprintf(stderr, "txn_feed: bad option (see the comment at the top)\n"); return 2;
		}
	}
	if (check) {
		if (!expect) {
			fprintf(stderr, "txn_feed: --verify needs --expect\n");
			return 2;
		}
		return verify(check, expect, format, subsequence);
	}
	if (!ring_path) {
		fprintf(stderr, "txn_feed: --ring PATH is required\n");
		return 2;
	}
	signal(SIGTERM, on_stop);
	signal(SIGINT, on_stop);
	char err[600];
	struct ring_create create = { .capacity = ring_size, .kind = RING_KIND_TRANSACTIONS };
	struct ring *r = ring_attach(ring_path, RING_PRODUCER, RING_KIND_TRANSACTIONS, &create, err,
				     sizeof err);
	if (!r) {
		fprintf(stderr, "txn_feed: %s\n", err);
		return 1;
	}
	ring_set_stop_flag(r, &stop);
	FILE *ex = NULL;
	if (expect && !(ex = fopen(expect, "w"))) {
		perror(expect);
		return 1;
	}
	static struct tb tb;
	enum { POOL = 4096 };
	uint8_t **pool_rec = NULL;
	size_t *pool_len = NULL;
	if (pool) {
		pool_rec = calloc(POOL, sizeof *pool_rec);
		pool_len = calloc(POOL, sizeof *pool_len);
		for (size_t k = 0; k < POOL; k++) {
			pool_len[k] = gen(&tb, start + k);
			pool_rec[k] = malloc(pool_len[k]);
			memcpy(pool_rec[k], tb.u.raw, pool_len[k]);
		}
	}
	uint64_t lines = 0, t0 = mono(), i;
	for (i = start; i < start + n && !stop; i++) {
		const void *rec;
		size_t len;
		if (pool) {
			rec = pool_rec[(i - start) % POOL];
			len = pool_len[(i - start) % POOL];
		} else {
			len = gen(&tb, i);
			rec = tb.u.raw;
		}
		const struct rec_txn *t = rec;
		lines += t->msg.n_rr ? t->msg.n_rr : 1;
		if (ring_push(r, REC_TXN, rec, (uint32_t)len) < 0) {
			if (stop)
				break;
			fprintf(stderr, "txn_feed: ring_push failed: %s\n", ring_error(r) ? ring_error(r) : "?");
			return 1;
		}
		if (ex)
			expect_txn(ex, t, format, sensor);
		if ((i - start) % 256 == 255)
			ring_publish(r);
		if (rate && (i - start) % 16 == 15) {
			ring_publish(r);
			uint64_t due = t0 + (i - start + 1) * 1000000000ull / rate, now = mono();
			if (due > now) {
				struct timespec ts = { (time_t)((due - now) / 1000000000ull),
						       (long)((due - now) % 1000000000ull) };
				nanosleep(&ts, NULL);
			}
		}
	}
	ring_publish(r);
	if (eof)
		ring_set_eof(r);
	double secs = (double)(mono() - t0) / 1e9;
	printf("records=%" PRIu64 " lines=%" PRIu64 " seconds=%.3f\n", i - start, lines, secs);
	if (ex && fclose(ex)) {
		perror(expect);
		return 1;
	}
	ring_detach(r);
	return stop ? 1 : 0;
}
