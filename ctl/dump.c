/*
 * dump.c - `dnstrail-ctl dump RING`: print a ring's records readably as an
 * observer.  The observer never moves the tail, so the real consumer loses
 * nothing; if it falls behind the producer, it says how far it skipped.
 */
#include "dump.h"

#include "dns_names.h"
#include "records.h"
#include "ring.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void addr_str(const uint8_t *a, int v, char *buf, size_t len)
{
	inet_ntop(v == 4 ? AF_INET : AF_INET6, a, buf, (socklen_t)len);
}

static void ts_str(uint64_t ns, char *buf, size_t len)
{
	time_t s = (time_t)(ns / 1000000000u);
	struct tm tm;
	gmtime_r(&s, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%09" PRIu64 "Z", ns % 1000000000u);
}

static void print_msg(const struct rec_msg *m, FILE *f)
{
	char src[64], dst[64], ts[48], type[16];
	addr_str(m->src, m->ip_version, src, sizeof src);
	addr_str(m->dst, m->ip_version, dst, sizeof dst);
	ts_str(m->ts_ns, ts, sizeof ts);
	const char *text = rec_msg_text(m);
	dns_type_str(m->qtype, type, sizeof type);
	fprintf(f, "%s %s %s:%u > %s:%u id=%u %s opcode=%u rcode=%u q=%.*s %s len=%u%s%s\n", ts,
		m->transport == 6 ? "tcp" : "udp", src, m->sport, dst, m->dport, m->id,
		DNS_QR(m->hflags) ? "response" : "query", DNS_OPCODE(m->hflags), m->rcode,
		(int)m->qname_len, text + m->qname_off, type, m->msg_len,
		m->flags & MSG_F_PARTIAL ? " partial" : "", m->flags & MSG_F_VLAN ? " vlan" : "");
	if (m->edns_len)
		fprintf(f, "    edns %.*s\n", (int)m->edns_len, text + m->edns_off);
	const struct rec_rr *rr = rec_msg_rrs(m);
	static const char *const sec[] = { "?", "an", "ns", "ar" };
	for (uint16_t i = 0; i < m->n_rr; i++) {
		dns_type_str(rr[i].type, type, sizeof type);
		fprintf(f, "    %s %.*s %u %s %.*s", sec[rr[i].section & 3], (int)rr[i].name_len,
			text + rr[i].name_off, rr[i].ttl, type, (int)rr[i].data_len, text + rr[i].data_off);
		if (rr[i].count != 1)
			fprintf(f, " (count %u)", rr[i].count);
		fputc('\n', f);
	}
}

static void print_record(uint16_t type, const void *p, uint32_t len, FILE *f)
{
	const char *why = NULL;
	char ts[48];
	switch (type) {
	case REC_FRAME: {
		const struct rec_frame *fr = p;
		if (rec_frame_check(fr, len, &why) < 0)
			break;
		ts_str(fr->ts_ns, ts, sizeof ts);
		uint32_t cap = len - (uint32_t)sizeof *fr;
		fprintf(f, "%s frame dlt=%u caplen=%u wirelen=%u ", ts, fr->dlt, cap, fr->wire_len);
		const uint8_t *b = (const uint8_t *)(fr + 1);
		for (uint32_t i = 0; i < cap && i < 48; i++)
			fprintf(f, "%02x", b[i]);
		fputs(cap > 48 ? "...\n" : "\n", f);
		return;
	}
	case REC_MSG:
		if (rec_msg_check(p, len, &why) < 0)
			break;
		print_msg(p, f);
		return;
	case REC_TXN: {
		const struct rec_txn *t = p;
		if (rec_txn_check(t, len, &why) < 0)
			break;
		static const char *const kinds[] = { "?", "answered", "response-only", "unanswered" };
		fprintf(f, "[%s", kinds[t->kind]);
		if (t->kind == TXN_ANSWERED)
			fprintf(f, " elapsed=%" PRIu64 "ns", t->elapsed_ns);
		if (t->flags & TXN_F_DEDUP_FLUSH)
			fprintf(f, " dedup-flush");
		if (t->flags & TXN_F_EVICTED)
			fprintf(f, " evicted");
		if (!t->msg.n_rr && t->count != 1)
			fprintf(f, " count=%u", t->count);
		fprintf(f, "] ");
		print_msg(&t->msg, f);
		return;
	}
	case REC_TICK:
		if (len < sizeof(struct rec_tick))
			break;
		ts_str(((const struct rec_tick *)p)->ts_ns, ts, sizeof ts);
		fprintf(f, "%s tick\n", ts);
		return;
	default:
		fprintf(f, "record type %u, %u bytes\n", type, len);
		return;
	}
	fprintf(f, "record type %u, %u bytes: invalid (%s)\n", type, len, why ? why : "?");
}

int dump_ring(const char *path, uint64_t max_records, int follow, FILE *f)
{
	char err[600];
	struct ring *r = ring_attach(path, RING_OBSERVER, RING_KIND_ANY, NULL, err, sizeof err);
	if (!r) {
		fprintf(stderr, "dnstrail-ctl: %s\n", err);
		return 1;
	}
	uint32_t cap = ring_max_record(r);
	void *buf = malloc(cap);
	uint64_t pos = atomic_load(&ring_header(r)->tail), n = 0;
	int rc = 0;
	while (n < max_records) {
		uint16_t type = 0;
		uint64_t before = pos;
		int64_t len = ring_observe(r, &pos, &type, buf, cap);
		if (len > 0) {
			print_record(type, buf, (uint32_t)len, f);
			n++;
			continue;
		}
		if (len == -1) {
			fprintf(f, "(skipped %" PRIu64 " bytes: the consumer released them while "
				   "we read)\n", pos - before);
			continue;
		}
		if (len == -2) {
			fprintf(stderr, "dnstrail-ctl: %s: corrupt record at position %" PRIu64 "\n",
				path, pos);
			rc = 3;
			break;
		}
		if (!follow)
			break;
		fflush(f);
		usleep(50000);
	}
	free(buf);
	ring_detach(r);
	return rc;
}
