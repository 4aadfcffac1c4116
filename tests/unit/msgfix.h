/*
 * msgfix.h - building message records by hand for unit tests.
 *
 *   struct msgfix f;
 *   const struct rec_msg *m = msgfix_build(&f, &(struct msgfix_spec){
 *           .qr = 1, .id = 7, .cli = "10.0.0.1", .cport = 1000, .srv = "10.0.0.53",
 *           .qname = "example.com", .qtype = 1, .ts = 1000,
 *           .rrs = { { "example.com", 1, 300, "192.0.2.1" } } });
 *
 * Addresses are text (IPv4 or IPv6); for a response the packet goes
 * server -> client, as on the wire.
 */
#ifndef DNSTRAIL_TESTS_MSGFIX_H
#define DNSTRAIL_TESTS_MSGFIX_H

#include "records.h"

#include <arpa/inet.h>
#include <string.h>

struct msgfix_rr {
	const char *name;
	uint16_t type;
	uint32_t ttl;
	const char *data;
	uint8_t section; /* 0 = answer */
};

struct msgfix_spec {
	int qr;
	uint16_t id;
	const char *cli, *srv;
	uint16_t cport, sport; /* sport defaults to 53 */
	uint8_t transport; /* default UDP */
	const char *qname;
	uint16_t qtype, qclass; /* qclass defaults to IN */
	uint16_t rcode;
	uint8_t opcode;
	uint64_t ts;
	struct msgfix_rr rrs[8];
};

struct msgfix {
	_Alignas(8) unsigned char buf[8192];
	struct rec_rr rr[16];
	char text[4096];
	size_t len;
};

static inline int msgfix_addr(const char *s, uint8_t *out)
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1)
		return 4;
	inet_pton(AF_INET6, s, out);
	return 6;
}

static inline const struct rec_msg *msgfix_build(struct msgfix *f, const struct msgfix_spec *s)
{
	struct msg_builder b;
	msgb_init(&b, f->buf, sizeof f->buf, f->rr, 16, f->text, sizeof f->text);
	struct rec_msg *m = b.m;
	uint8_t cli[16], srv[16];
	m->ip_version = (uint8_t)msgfix_addr(s->cli, cli);
	msgfix_addr(s->srv, srv);
	uint16_t sport = s->sport ? s->sport : 53;
	memcpy(m->src, s->qr ? srv : cli, 16);
	memcpy(m->dst, s->qr ? cli : srv, 16);
	m->sport = s->qr ? sport : s->cport;
	m->dport = s->qr ? s->cport : sport;
	m->transport = s->transport ? s->transport : 17;
	m->id = s->id;
	m->hflags = (uint16_t)((s->qr ? 0x8000 : 0) | (s->opcode & 0xf) << 11 | 0x0100 | (s->rcode & 0xf));
	m->rcode = s->rcode;
	m->ts_ns = s->ts;
	m->msg_len = 100;
	if (s->qname) {
		m->flags |= MSG_F_QUESTION;
		m->qname_off = msgb_text(&b, s->qname, strlen(s->qname));
		m->qname_len = (uint16_t)strlen(s->qname);
		m->qtype = s->qtype ? s->qtype : 1;
		m->qclass = s->qclass ? s->qclass : 1;
		m->counts[0] = 1;
	}
	for (int i = 0; i < 8 && s->rrs[i].name; i++) {
		struct rec_rr rr = { .ttl = s->rrs[i].ttl, .count = 1, .type = s->rrs[i].type,
				     .rclass = 1, .section = s->rrs[i].section ? s->rrs[i].section : SEC_ANSWER };
		rr.name_len = (uint16_t)strlen(s->rrs[i].name);
		rr.name_off = msgb_text(&b, s->rrs[i].name, rr.name_len);
		rr.data_len = (uint32_t)strlen(s->rrs[i].data);
		rr.data_off = msgb_text(&b, s->rrs[i].data, rr.data_len);
		msgb_add_rr(&b, &rr);
		m->counts[rr.section]++;
	}
	f->len = msgb_finish(&b);
	return (const struct rec_msg *)f->buf;
}

#endif
