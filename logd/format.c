/*
 * format.c - the three output formats (format.h).
 *
 * json lines of one transaction share everything but the RR fields, so the
 * parts before and after them are rendered once, into the first line, and
 * copied from there into the others.  Room is checked once per line against
 * an exact upper bound (jw_str_bound for every string), so the writers below
 * never check as they go.
 *
 * Choices a reader of the output should know:
 *   - no question in the message (MSG_F_QUESTION unset): q, qtype and qclass
 *     are "" in json/transaction, and query/type/class are "" in passivedns;
 *   - protocol is "udp" (17), "tcp" (6), or "unknown";
 *   - passivedns follows the classic tool: names get their trailing dot
 *     ("www.example.com."), ts is seconds.microseconds, and a transaction
 *     without RRs is one line with the question's class, name and type, ttl
 *     0, and as answer the classic spelling of a failing rcode (FORMERR,
 *     SERVFAIL, NXDOMAIN, NOTIMPL, REFUSED, YXDOMAIN, YXRRSET, NXRRSET,
 *     NOTAUTH, NOTZONE, else UNKNOWN-ERROR-<n>) - what passivedns writes to
 *     its NXDOMAIN log - or "" for NOERROR (no data, or an unanswered query),
 *     which the classic tool did not log at all.  Types and classes are
 *     mnemonics (TYPE<n>/CLASS<n> when unknown) where the classic tool fell
 *     back to numbers for all but a dozen types.  Bytes that would break the
 *     line (below 0x20, '|', 0x7f and above) are written as dig's \DDD.
 */
#include "format.h"

#include "textfmt.h"

#include "dns_names.h"

#include <string.h>

int fmt_parse(const char *name, enum logd_format *out)
{
	if (!strcmp(name, "json"))
		*out = LOGD_FMT_JSON;
	else if (!strcmp(name, "transaction"))
		*out = LOGD_FMT_TRANSACTION;
	else if (!strcmp(name, "passivedns"))
		*out = LOGD_FMT_PASSIVEDNS;
	else
		return -1;
	return 0;
}

int fmt_init(struct fmt *f, enum logd_format kind, const char *sensor)
{
	memset(f, 0, sizeof *f);
	f->kind = kind;
	if (sensor) {
		size_t n = strlen(sensor);
		if (n > FMT_SENSOR_MAX)
			return -1;
		char *p = JW_LIT(f->sensor_field, ",\"sensor\":");
		p = jw_str(p, sensor, n);
		f->sensor_len = (size_t)(p - f->sensor_field);
	}
	return 0;
}

char *fmt_type(char *p, uint16_t type)
{
	const char *n = dns_type_name(type);
	if (n)
		return jw_mem(p, n, strlen(n));
	p = JW_LIT(p, "TYPE");
	return jw_u64(p, type);
}

char *fmt_class(char *p, uint16_t c)
{
	switch (c) {
	case 1: return JW_LIT(p, "IN");
	case 3: return JW_LIT(p, "CH");
	case 4: return JW_LIT(p, "HS");
	case 254: return JW_LIT(p, "NONE");
	case 255: return JW_LIT(p, "ANY");
	default: p = JW_LIT(p, "CLASS"); return jw_u64(p, c);
	}
}

static char *addr(char *p, const struct rec_msg *m, const uint8_t *a)
{
	return m->ip_version == 4 ? fmt_ipv4(p, a) : fmt_ipv6(p, a);
}

static char *boolean(char *p, int v)
{
	return v ? JW_LIT(p, "true") : JW_LIT(p, "false");
}

static const char *kind_tail(uint8_t kind, size_t *len)
{
	static const char answered[] = ",\"kind\":\"answered\"";
	static const char response_only[] = ",\"kind\":\"response-only\"";
	static const char unanswered[] = ",\"kind\":\"unanswered\"";
	switch (kind) {
	case TXN_ANSWERED: *len = sizeof answered - 1; return answered;
	case TXN_RESPONSE_ONLY: *len = sizeof response_only - 1; return response_only;
	default: *len = sizeof unanswered - 1; return unanswered;
	}
}

/* Worst case of everything in a json/transaction object that is not a
 * name, rdata or the sensor: field names, numbers, addresses, mnemonics,
 * flags.  Counted generously (about 2x what the fields can take). */
#define FIXED_MAX 640
/* Worst case of one RR's fields other than its name and data. */
#define RR_FIXED_MAX 160

/* `{"tstamp":...,"qclass":"IN",` : the fields before the RR's. */
static char *json_head(struct fmt *f, const struct rec_txn *t, char *p)
{
	const struct rec_msg *m = &t->msg;
	p = JW_LIT(p, "{\"tstamp\":\"");
	p = jw_rfc3339(p, &f->ts, m->ts_ns);
	p = JW_LIT(p, "\",\"query_id\":");
	p = jw_u64(p, m->id);
	p = JW_LIT(p, ",\"rcode\":");
	p = jw_u64(p, m->rcode);
	p = JW_LIT(p, ",\"q\":");
	if (m->flags & MSG_F_QUESTION) {
		p = jw_str(p, rec_msg_text(m) + m->qname_off, m->qname_len);
		p = JW_LIT(p, ",\"qtype\":\"");
		p = fmt_type(p, m->qtype);
		p = JW_LIT(p, "\",\"qclass\":\"");
		p = fmt_class(p, m->qclass);
		p = JW_LIT(p, "\",");
	} else {
		p = JW_LIT(p, "\"\",\"qtype\":\"\",\"qclass\":\"\",");
	}
	return p;
}

/* `"src":...,"opcode":0[,"vlan":N][,"sensor":"..."]` : the fields after the
 * RR's, up to and without count. */
static char *json_middle(struct fmt *f, const struct rec_txn *t, char *p)
{
	const struct rec_msg *m = &t->msg;
	p = JW_LIT(p, "\"src\":\"");
	p = addr(p, m, m->src);
	p = JW_LIT(p, "\",\"sport\":");
	p = jw_u64(p, m->sport);
	p = JW_LIT(p, ",\"dst\":\"");
	p = addr(p, m, m->dst);
	p = JW_LIT(p, "\",\"dport\":");
	p = jw_u64(p, m->dport);
	if (m->transport == 17)
		p = JW_LIT(p, ",\"protocol\":\"udp\",\"bytes\":");
	else if (m->transport == 6)
		p = JW_LIT(p, ",\"protocol\":\"tcp\",\"bytes\":");
	else
		p = JW_LIT(p, ",\"protocol\":\"unknown\",\"bytes\":");
	p = jw_u64(p, m->msg_len);
	if (t->kind == TXN_ANSWERED) {
		p = JW_LIT(p, ",\"elapsed\":");
		p = jw_u64(p, t->elapsed_ns);
	}
	p = JW_LIT(p, ",\"truncated\":");
	p = boolean(p, DNS_TC(m->hflags));
	p = JW_LIT(p, ",\"aa\":");
	p = boolean(p, DNS_AA(m->hflags));
	p = JW_LIT(p, ",\"rd\":");
	p = boolean(p, DNS_RD(m->hflags));
	p = JW_LIT(p, ",\"ra\":");
	p = boolean(p, DNS_RA(m->hflags));
	p = JW_LIT(p, ",\"opcode\":");
	p = jw_u64(p, DNS_OPCODE(m->hflags));
	if (m->flags & MSG_F_VLAN) {
		p = JW_LIT(p, ",\"vlan\":");
		p = jw_u64(p, m->vlan);
	}
	return jw_mem(p, f->sensor_field, f->sensor_len);
}

static size_t fmt_json(struct fmt *f, const struct rec_txn *t, char *out, size_t cap,
		       uint32_t *lines)
{
	const struct rec_msg *m = &t->msg;
	const struct rec_rr *rr = rec_msg_rrs(m);
	const char *text = rec_msg_text(m);
	char *p = out, *end = out + cap;
	size_t tail_len;
	const char *tail = kind_tail(t->kind, &tail_len);
	/* The first line renders head and middle; their bound covers the
	 * question name and sensor, escaped. */
	size_t first_rr = m->n_rr ? jw_str_bound(rr[0].name_len) + jw_str_bound(rr[0].data_len) : 0;
	if ((size_t)(end - p) < FIXED_MAX + jw_str_bound(m->qname_len) + f->sensor_len + first_rr)
		return 0;

	const char *head = p;
	p = json_head(f, t, p);
	size_t head_len = (size_t)(p - head);
	if (!m->n_rr) {
		p = JW_LIT(p, "\"rrname\":\"\",\"a\":\"\",\"atype\":\"\",\"ttl\":0,");
		p = json_middle(f, t, p);
		p = JW_LIT(p, ",\"count\":");
		p = jw_u64(p, t->count);
		p = jw_mem(p, tail, tail_len);
		p = JW_LIT(p, "}\n");
		*lines = 1;
		return (size_t)(p - out);
	}
	const char *middle = NULL;
	size_t middle_len = 0;
	for (uint32_t i = 0; i < m->n_rr; i++) {
		if (i) {
			size_t need = head_len + middle_len + RR_FIXED_MAX + tail_len +
				      jw_str_bound(rr[i].name_len) + jw_str_bound(rr[i].data_len);
			if ((size_t)(end - p) < need)
				return 0;
			p = jw_mem(p, head, head_len);
		}
		p = JW_LIT(p, "\"rrname\":");
		p = jw_str(p, text + rr[i].name_off, rr[i].name_len);
		p = JW_LIT(p, ",\"a\":");
		p = jw_str(p, text + rr[i].data_off, rr[i].data_len);
		p = JW_LIT(p, ",\"atype\":\"");
		p = fmt_type(p, rr[i].type);
		p = JW_LIT(p, "\",\"ttl\":");
		p = jw_u64(p, rr[i].ttl);
		*p++ = ',';
		if (!middle) {
			middle = p;
			p = json_middle(f, t, p);
			middle_len = (size_t)(p - middle);
		} else {
			p = jw_mem(p, middle, middle_len);
		}
		p = JW_LIT(p, ",\"count\":");
		p = jw_u64(p, rr[i].count);
		p = jw_mem(p, tail, tail_len);
		if (rr[i].section == SEC_AUTHORITY)
			p = JW_LIT(p, ",\"section\":\"authority\"");
		else if (rr[i].section == SEC_ADDITIONAL)
			p = JW_LIT(p, ",\"section\":\"additional\"");
		p = JW_LIT(p, "}\n");
	}
	*lines = m->n_rr;
	return (size_t)(p - out);
}

static size_t fmt_transaction(struct fmt *f, const struct rec_txn *t, char *out, size_t cap,
			      uint32_t *lines)
{
	const struct rec_msg *m = &t->msg;
	const struct rec_rr *rr = rec_msg_rrs(m);
	const char *text = rec_msg_text(m);
	/* One line holds everything: bound it whole before writing. */
	size_t need = FIXED_MAX + jw_str_bound(m->qname_len) + f->sensor_len;
	for (uint32_t i = 0; i < m->n_rr; i++)
		need += RR_FIXED_MAX + jw_str_bound(rr[i].name_len) + jw_str_bound(rr[i].data_len);
	if (cap < need)
		return 0;
	char *p = json_head(f, t, out);
	p = json_middle(f, t, p);
	size_t tail_len;
	const char *tail = kind_tail(t->kind, &tail_len);
	p = jw_mem(p, tail, tail_len);
	p = JW_LIT(p, ",\"answers\":[");
	for (uint32_t i = 0; i < m->n_rr; i++) {
		if (i)
			*p++ = ',';
		p = JW_LIT(p, "{\"name\":");
		p = jw_str(p, text + rr[i].name_off, rr[i].name_len);
		p = JW_LIT(p, ",\"type\":\"");
		p = fmt_type(p, rr[i].type);
		p = JW_LIT(p, "\",\"ttl\":");
		p = jw_u64(p, rr[i].ttl);
		p = JW_LIT(p, ",\"data\":");
		p = jw_str(p, text + rr[i].data_off, rr[i].data_len);
		if (rr[i].section == SEC_AUTHORITY)
			p = JW_LIT(p, ",\"section\":\"authority\"");
		else if (rr[i].section == SEC_ADDITIONAL)
			p = JW_LIT(p, ",\"section\":\"additional\"");
		p = JW_LIT(p, ",\"count\":");
		p = jw_u64(p, rr[i].count);
		*p++ = '}';
	}
	p = JW_LIT(p, "]}\n");
	*lines = 1;
	return (size_t)(p - out);
}

/* ---- passivedns ---- */

/* Copies text, writing bytes that would break the line format as \DDD. */
static char *pdns_text(char *p, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)s[i];
		if (c >= 0x20 && c < 0x7f && c != '|') {
			*p++ = (char)c;
		} else {
			*p++ = '\\';
			*p++ = (char)('0' + c / 100);
			*p++ = (char)('0' + c / 10 % 10);
			*p++ = (char)('0' + c % 10);
		}
	}
	return p;
}

/* A name with the trailing dot the classic tool printed ("." stays ".",
 * "" stays ""). */
static char *pdns_name(char *p, const char *s, size_t n)
{
	p = pdns_text(p, s, n);
	if (n && s[n - 1] != '.')
		*p++ = '.';
	return p;
}

static char *pdns_rcode(char *p, uint16_t rcode)
{
	static const char *const names[] = {
		"", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMPL", "REFUSED",
		"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
	};
	if (rcode < sizeof names / sizeof names[0])
		return jw_mem(p, names[rcode], strlen(names[rcode]));
	p = JW_LIT(p, "UNKNOWN-ERROR-");
	return jw_u64(p, rcode);
}

#define PDNS_FIXED_MAX 256 /* ts, addresses, mnemonics, ttl, count, separators */

static size_t fmt_passivedns(const struct rec_txn *t, char *out, size_t cap, uint32_t *lines)
{
	const struct rec_msg *m = &t->msg;
	const struct rec_rr *rr = rec_msg_rrs(m);
	const char *text = rec_msg_text(m);
	char *p = out, *end = out + cap;
	/* "ts||client||server||" is the same on every line */
	char head[160];
	char *h = jw_u64(head, m->ts_ns / 1000000000ull);
	*h++ = '.';
	uint64_t us = m->ts_ns % 1000000000ull / 1000;
	for (int i = 5; i >= 0; i--, us /= 10)
		h[i] = (char)('0' + us % 10);
	h += 6;
	h = JW_LIT(h, "||");
	h = addr(h, m, m->src);
	h = JW_LIT(h, "||");
	h = addr(h, m, m->dst);
	h = JW_LIT(h, "||");
	size_t head_len = (size_t)(h - head);
	int question = (m->flags & MSG_F_QUESTION) != 0;

	if (!m->n_rr) {
		if ((size_t)(end - p) < PDNS_FIXED_MAX + 4 * (size_t)m->qname_len + 1)
			return 0;
		p = jw_mem(p, head, head_len);
		if (question)
			p = fmt_class(p, m->qclass);
		p = JW_LIT(p, "||");
		if (question)
			p = pdns_name(p, text + m->qname_off, m->qname_len);
		p = JW_LIT(p, "||");
		if (question)
			p = fmt_type(p, m->qtype);
		p = JW_LIT(p, "||");
		p = pdns_rcode(p, m->rcode);
		p = JW_LIT(p, "||0||");
		p = jw_u64(p, t->count);
		*p++ = '\n';
		*lines = 1;
		return (size_t)(p - out);
	}
	for (uint32_t i = 0; i < m->n_rr; i++) {
		size_t need = PDNS_FIXED_MAX + 4 * ((size_t)rr[i].name_len + 1 + rr[i].data_len);
		if ((size_t)(end - p) < need)
			return 0;
		p = jw_mem(p, head, head_len);
		p = fmt_class(p, rr[i].rclass);
		p = JW_LIT(p, "||");
		p = pdns_name(p, text + rr[i].name_off, rr[i].name_len);
		p = JW_LIT(p, "||");
		p = fmt_type(p, rr[i].type);
		p = JW_LIT(p, "||");
		p = pdns_text(p, text + rr[i].data_off, rr[i].data_len);
		p = JW_LIT(p, "||");
		p = jw_u64(p, rr[i].ttl);
		p = JW_LIT(p, "||");
		p = jw_u64(p, rr[i].count);
		*p++ = '\n';
	}
	*lines = m->n_rr;
	return (size_t)(p - out);
}

size_t fmt_txn(struct fmt *f, const struct rec_txn *t, char *out, size_t cap, uint32_t *lines)
{
	switch (f->kind) {
	case LOGD_FMT_TRANSACTION: return fmt_transaction(f, t, out, cap, lines);
	case LOGD_FMT_PASSIVEDNS: return fmt_passivedns(t, out, cap, lines);
	default: return fmt_json(f, t, out, cap, lines);
	}
}
