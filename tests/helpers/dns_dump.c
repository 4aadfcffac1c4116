/*
 * dns_dump.c - test tool: run dns_parse() on every UDP DNS message of a
 * capture and print one JSON object per message (json-c), for the tshark
 * oracle (tests/oracle/) and for looking at the parser's output by hand.
 *
 *   dns_dump [-p PORTS] [-c RECORD_BYTES] [-s DIR] FILE.pcap
 *     -p  comma-separated UDP ports taken as DNS (default 53)
 *     -c  size limit of the rec_msg record given to the parser (default 1 MiB)
 *     -s  also save each DNS payload as DIR/<FNV-1a hash of its bytes>
 *         (fuzz seeds: identical payloads land in one file)
 *
 * Deliberately simple, and not the decoder of the pipeline: UDP over IPv4 or
 * IPv6 only, no IP fragments (non-first and first fragments are skipped), no
 * IPv6 extension headers, no TCP.  The DNS payload is what the IP and UDP
 * lengths say, cut to the captured bytes.  Output line fields: frame, id, qr,
 * opcode, rcode (with EDNS extension), hflags, counts, result
 * (ok/partial/reject), parse_error, flags (text_cut, edns, do), qname, qtype,
 * qclass, edns, answers/authority/additional as [name, type, class, ttl, data].
 */
#include "../../decoded/dns_parse.h"
#include "netwalk.h"
#include "records.h"

#include <json-c/json.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PORTS 16
#define DEFAULT_RECORD_BYTES (1u << 20)

struct dump {
	uint16_t ports[MAX_PORTS];
	int n_ports;
	size_t record_bytes;
	const char *save_dir;
	void *out;
	struct rec_rr *rr_stage;
	char *text_stage;
	struct dns_parse_stats st;
};

static int dns_port(const struct dump *d, uint16_t sport, uint16_t dport)
{
	for (int i = 0; i < d->n_ports; i++)
		if (d->ports[i] == sport || d->ports[i] == dport)
			return 1;
	return 0;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The UDP datagram inside an IP packet, or NULL (*fragment set when it is
 * because the packet is an IP fragment). */
static const uint8_t *udp_of(const struct net_l3 *l3, size_t *len, int *fragment)
{
	const uint8_t *ip = l3->ip;
	size_t n = l3->len;
	if (l3->version == 4) {
		if (n < 20 || ip[0] >> 4 != 4)
			return NULL;
		size_t ihl = (size_t)(ip[0] & 15) * 4, total = be16(ip + 2);
		if (ihl < 20 || total < ihl || n < ihl || ip[9] != 17)
			return NULL;
		if ((be16(ip + 6) & 0x3fff) != 0) { /* MF or an offset: a fragment */
			*fragment = 1;
			return NULL;
		}
		if (total < n)
			n = total;
		*len = n - ihl;
		return ip + ihl;
	}
	if (n >= 40 && ip[6] == 44)
		*fragment = 1;
	if (n < 40 || ip[0] >> 4 != 6 || ip[6] != 17)
		return NULL;
	size_t payload = be16(ip + 4);
	if (payload + 40 < n)
		n = payload + 40;
	*len = n - 40;
	return ip + 40;
}

static json_object *rr_array(const struct rec_msg *m, uint8_t section)
{
	json_object *a = json_object_new_array();
	const struct rec_rr *rr = rec_msg_rrs(m);
	const char *text = rec_msg_text(m);
	for (unsigned i = 0; i < m->n_rr; i++) {
		if (rr[i].section != section)
			continue;
		json_object *e = json_object_new_array();
		json_object_array_add(e, json_object_new_string_len(text + rr[i].name_off,
								   rr[i].name_len));
		json_object_array_add(e, json_object_new_int(rr[i].type));
		json_object_array_add(e, json_object_new_int(rr[i].rclass));
		json_object_array_add(e, json_object_new_int64(rr[i].ttl));
		json_object_array_add(e, json_object_new_string_len(text + rr[i].data_off,
								   (int)rr[i].data_len));
		json_object_array_add(a, e);
	}
	return a;
}

static void print_message(struct dump *d, unsigned long frame, const uint8_t *dns, size_t len)
{
	struct msg_builder b;
	msgb_init(&b, d->out, d->record_bytes, d->rr_stage, UINT16_MAX, d->text_stage,
		  (uint32_t)d->record_bytes);
	enum dns_parse_result r = dns_parse(dns, len, &b, &d->st);
	struct rec_msg *m = b.m;
	m->ip_version = 4; /* not this tool's business, but rec_msg_check wants one */
	size_t size = msgb_finish(&b);
	const char *why = NULL;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "frame", json_object_new_int64((int64_t)frame));
	json_object_object_add(o, "result", json_object_new_string(
		r == DNS_PARSE_OK ? "ok" : r == DNS_PARSE_PARTIAL ? "partial" : "reject"));
	if (r != DNS_PARSE_REJECT) {
		if (rec_msg_check(m, size, &why) < 0)
			json_object_object_add(o, "check_failed", json_object_new_string(why));
		json_object_object_add(o, "id", json_object_new_int(m->id));
		json_object_object_add(o, "qr", json_object_new_boolean(DNS_QR(m->hflags)));
		json_object_object_add(o, "opcode", json_object_new_int(DNS_OPCODE(m->hflags)));
		json_object_object_add(o, "rcode", json_object_new_int(m->rcode));
		json_object_object_add(o, "hflags", json_object_new_int(m->hflags));
		json_object *c = json_object_new_array();
		for (int i = 0; i < 4; i++)
			json_object_array_add(c, json_object_new_int(m->counts[i]));
		json_object_object_add(o, "counts", c);
		json_object_object_add(o, "parse_error", json_object_new_int(m->parse_error));
		json_object_object_add(o, "text_cut",
				       json_object_new_boolean(m->flags & MSG_F_TEXT_CUT));
		const char *text = rec_msg_text(m);
		if (m->flags & MSG_F_QUESTION) {
			json_object_object_add(o, "qname", json_object_new_string_len(
							   text + m->qname_off, m->qname_len));
			json_object_object_add(o, "qtype", json_object_new_int(m->qtype));
			json_object_object_add(o, "qclass", json_object_new_int(m->qclass));
		}
		if (m->flags & MSG_F_EDNS) {
			json_object_object_add(o, "edns", json_object_new_string_len(
							  text + m->edns_off, m->edns_len));
			json_object_object_add(o, "edns_do",
					       json_object_new_boolean(m->flags & MSG_F_EDNS_DO));
		}
		json_object_object_add(o, "answers", rr_array(m, SEC_ANSWER));
		json_object_object_add(o, "authority", rr_array(m, SEC_AUTHORITY));
		json_object_object_add(o, "additional", rr_array(m, SEC_ADDITIONAL));
	}
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static void save_payload(const char *dir, const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	char path[4096];
	snprintf(path, sizeof path, "%s/%016llx", dir, (unsigned long long)h);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n)
		fprintf(stderr, "dns_dump: cannot write %s\n", path);
	if (f)
		fclose(f);
}

static int parse_ports(struct dump *d, const char *s)
{
	d->n_ports = 0;
	while (*s) {
		char *end;
		unsigned long v = strtoul(s, &end, 10);
		if (end == s || v == 0 || v > 65535 || d->n_ports == MAX_PORTS)
			return -1;
		d->ports[d->n_ports++] = (uint16_t)v;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -1;
	}
	return d->n_ports ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct dump d = { .ports = { 53 }, .n_ports = 1, .record_bytes = DEFAULT_RECORD_BYTES };
	int i = 1;
	for (; i < argc - 1 && argv[i][0] == '-'; i += 2) {
		if (!strcmp(argv[i], "-p") && parse_ports(&d, argv[i + 1]) == 0)
			continue;
		if (!strcmp(argv[i], "-s")) {
			d.save_dir = argv[i + 1];
			continue;
		}
		if (!strcmp(argv[i], "-c") && (d.record_bytes = strtoul(argv[i + 1], NULL, 10)) >=
						      sizeof(struct rec_msg))
			continue;
		break;
	}
	if (i != argc - 1) {
		fprintf(stderr, "usage: dns_dump [-p PORTS] [-c RECORD_BYTES] [-s DIR] FILE.pcap\n");
		return 2;
	}
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(argv[i], errbuf);
	if (!pc) {
		fprintf(stderr, "dns_dump: %s\n", errbuf);
		return 1;
	}
	int dlt = pcap_datalink(pc);
	d.out = malloc(d.record_bytes);
	d.rr_stage = malloc(UINT16_MAX * sizeof *d.rr_stage);
	d.text_stage = malloc(d.record_bytes);
	if (!d.out || !d.rr_stage || !d.text_stage)
		return 1;
	struct pcap_pkthdr *h;
	const u_char *frame;
	unsigned long n = 0;
	int rc;
	while ((rc = pcap_next_ex(pc, &h, &frame)) == 1) {
		n++;
		struct net_l3 l3;
		size_t udp_len;
		const uint8_t *udp;
		int fragment = 0;
		if (netwalk_frame(dlt, frame, h->caplen, &l3) != NW_OK)
			continue;
		if (!(udp = udp_of(&l3, &udp_len, &fragment))) {
			if (fragment)
				printf("{\"frame\":%lu,\"skipped\":\"fragment\"}\n", n);
			continue;
		}
		if (udp_len < 8 || !dns_port(&d, be16(udp), be16(udp + 2)))
			continue;
		size_t dns_len = be16(udp + 4) >= 8 ? be16(udp + 4) - 8u : 0;
		if (dns_len > udp_len - 8)
			dns_len = udp_len - 8;
		if (d.save_dir)
			save_payload(d.save_dir, udp + 8, dns_len);
		print_message(&d, n, udp + 8, dns_len);
	}
	if (rc == PCAP_ERROR)
		fprintf(stderr, "dns_dump: %s (after frame %lu)\n", pcap_geterr(pc), n);
	for (size_t k = 0; k < dns_parse_stat_count; k++)
		fprintf(stderr, "%s %llu\n", dns_parse_stat_desc[k].name,
			(unsigned long long)stat_value(&d.st, &dns_parse_stat_desc[k]));
	pcap_close(pc);
	free(d.out);
	free(d.rr_stage);
	free(d.text_stage);
	return 0; /* a capture cut inside a record still had its messages printed */
}
