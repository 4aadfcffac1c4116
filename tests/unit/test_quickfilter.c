/*
 * test_quickfilter.c - capd's quick answer for the default filter
 * (capd/quickfilter.c) never accepts a frame libpcap's BPF program for the
 * same filter refuses: on every frame of the bundled captures, on frames
 * built here for each rule it mirrors, and on a million frames mutated at
 * random from real ones.  Also checks that it does answer for the common
 * DNS frame, or it would save nothing.
 */
#include "capd/capture.h"
#include "capd/quickfilter.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint16_t dns_ports[] = { 53, 0 };
static const uint16_t two_ports[] = { 5353, 53, 0 };

/* The default filter, as capd compiles it for a file of this link type. */
static struct bpf_program default_program(int dlt, const uint16_t *ports)
{
	char expr[8192];
	capture_default_filter(dlt, 0, ports, expr, sizeof expr);
	pcap_t *p = pcap_open_dead(dlt, 262144);
	struct bpf_program prog;
	ck_assert_int_eq(pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN), 0);
	pcap_close(p);
	return prog;
}

static int bpf_says(const struct bpf_program *prog, const uint8_t *f, uint32_t caplen)
{
	struct pcap_pkthdr h = { .caplen = caplen, .len = caplen };
	return pcap_offline_filter(prog, &h, f) != 0;
}

/* quick_accept of the frame, checked against BPF. */
static int quick_checked(const struct bpf_program *prog, const uint16_t *ports, const uint8_t *f,
			 uint32_t caplen)
{
	int q = quick_accept(DLT_EN10MB, f, caplen, ports);
	if (q)
		ck_assert_msg(bpf_says(prog, f, caplen),
			      "quick_accept took a frame of %u bytes that BPF refuses", caplen);
	return q;
}

/* A UDP or TCP DNS frame: Ethernet, IPv4 (ihl words) or IPv6, 20 payload bytes. */
static uint32_t build(uint8_t *f, int v6, unsigned ihl, uint8_t proto, unsigned sport, unsigned dport)
{
	memset(f, 0, 128);
	unsigned l3 = 14, l4;
	if (v6) {
		f[12] = 0x86, f[13] = 0xdd;
		f[l3] = 0x60;
		f[l3 + 6] = proto;
		l4 = l3 + 40;
	} else {
		f[12] = 0x08, f[13] = 0x00;
		f[l3] = (uint8_t)(0x40 | ihl);
		f[l3 + 9] = proto;
		l4 = l3 + 4 * ihl;
	}
	f[l4] = (uint8_t)(sport >> 8), f[l4 + 1] = (uint8_t)sport;
	f[l4 + 2] = (uint8_t)(dport >> 8), f[l4 + 3] = (uint8_t)dport;
	return l4 + 8 + 20;
}

START_TEST(each_rule)
{
	struct bpf_program prog = default_program(DLT_EN10MB, dns_ports);
	uint8_t f[128];
	uint32_t n;
	/* Frames as built: what quick_accept says, and what BPF says (-1: not
	 * asserted; quick_checked holds every accepted one to BPF anyway). */
	static const struct {
		int v6;
		unsigned ihl;
		uint8_t proto;
		unsigned sport, dport;
		int quick, bpf;
	} cases[] = {
		/* taken: both directions, UDP, TCP, SCTP, IPv4 with options, IPv6 */
		{ 0, 5, 17, 40000, 53, 1, 1 },
		{ 0, 5, 17, 53, 40000, 1, 1 },
		{ 0, 5, 6, 40000, 53, 1, 1 },
		{ 0, 5, 132, 40000, 53, 1, 1 },
		{ 0, 6, 17, 40000, 53, 1, 1 },
		{ 1, 0, 17, 40000, 53, 1, 1 },
		/* left to BPF: another port, ihl < 5, ICMP, an IPv6 extension
		 * header (which BPF takes by its own clause) */
		{ 0, 5, 17, 40000, 123, 0, 0 },
		{ 0, 4, 17, 40000, 53, 0, -1 },
		{ 0, 5, 1, 40000, 53, 0, -1 },
		{ 1, 0, 0, 40000, 53, 0, 1 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		n = build(f, cases[i].v6, cases[i].ihl, cases[i].proto, cases[i].sport, cases[i].dport);
		ck_assert_msg(quick_checked(&prog, dns_ports, f, n) == cases[i].quick, "case %zu", i);
		if (cases[i].bpf >= 0)
			ck_assert_msg(bpf_says(&prog, f, n) == cases[i].bpf, "case %zu: BPF", i);
	}
	/* a first fragment still has its ports: BPF takes it by port too */
	n = build(f, 0, 5, 17, 40000, 53);
	f[20] = 0x20; /* MF */
	ck_assert_int_eq(quick_checked(&prog, dns_ports, f, n), 1);
	/* left to BPF: a later fragment, a VLAN tag, ARP, too short, another
	 * link type */
	n = build(f, 0, 5, 17, 40000, 53);
	f[21] = 0x10; /* fragment offset 16 */
	ck_assert_int_eq(quick_checked(&prog, dns_ports, f, n), 0);
	ck_assert(bpf_says(&prog, f, n)); /* (by the fragment clause) */
	n = build(f, 0, 5, 17, 40000, 53);
	memmove(f + 16, f + 12, n - 12);
	f[12] = 0x81, f[13] = 0x00, f[14] = 0, f[15] = 7;
	ck_assert_int_eq(quick_checked(&prog, dns_ports, f, n + 4), 0);
	ck_assert(bpf_says(&prog, f, n + 4));
	n = build(f, 0, 5, 17, 40000, 53);
	f[12] = 0x08, f[13] = 0x06;
	ck_assert_int_eq(quick_checked(&prog, dns_ports, f, n), 0);
	n = build(f, 0, 5, 17, 40000, 53);
	ck_assert_int_eq(quick_checked(&prog, dns_ports, f, 14 + 20 + 3), 0);
	ck_assert_int_eq(quick_accept(DLT_RAW, f + 14, n - 14, dns_ports), 0);
	/* every port of the list */
	pcap_freecode(&prog);
	prog = default_program(DLT_EN10MB, two_ports);
	n = build(f, 0, 5, 17, 5353, 5353);
	ck_assert_int_eq(quick_checked(&prog, two_ports, f, n), 1);
	n = build(f, 1, 0, 17, 40000, 53);
	ck_assert_int_eq(quick_checked(&prog, two_ports, f, n), 1);
	pcap_freecode(&prog);
}
END_TEST

struct tally {
	unsigned long frames, quick, bpf;
};

/* Every frame of one capture; Ethernet captures only (quick_accept
 * answers nothing for the others, checked in each_rule). */
static void check_capture(const char *path, const uint16_t *ports, struct tally *t)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, err);
	if (!p || pcap_datalink(p) != DLT_EN10MB) {
		if (p)
			pcap_close(p);
		return;
	}
	struct bpf_program prog = default_program(DLT_EN10MB, ports);
	struct pcap_pkthdr *h;
	const u_char *data;
	while (pcap_next_ex(p, &h, &data) == 1) {
		int b = pcap_offline_filter(&prog, h, data) != 0;
		int q = quick_accept(DLT_EN10MB, data, h->caplen, ports);
		ck_assert_msg(!q || b, "%s: frame %lu: quick_accept took a frame BPF refuses", path,
			      t->frames + 1);
		t->frames++;
		t->quick += (unsigned long)q;
		t->bpf += (unsigned long)b;
	}
	pcap_freecode(&prog);
	pcap_close(p);
}

START_TEST(every_bundled_frame)
{
	struct tally t = { 0 }, t2 = { 0 };
	const char *dir = "tests/data/corpus";
	DIR *d = opendir(dir);
	ck_assert_msg(d != NULL, "run from the top of the tree (cannot open %s)", dir);
	struct dirent *e;
	char path[1024];
	while ((e = readdir(d))) {
		if (!strstr(e->d_name, ".pcap"))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		check_capture(path, dns_ports, &t);
		check_capture(path, two_ports, &t2);
	}
	closedir(d);
	check_capture("tests/data/demo.pcap", dns_ports, &t);
	printf("every_bundled_frame: %lu frames, BPF takes %lu, quick_accept answers %lu\n", t.frames,
	       t.bpf, t.quick);
	/* most DNS frames are the common kind, or there is nothing to gain */
	ck_assert_uint_gt(t.frames, 10000);
	ck_assert_uint_gt(t.quick, t.bpf / 2);
	ck_assert_uint_gt(t2.quick, 0);
}
END_TEST

/* Real frames with bytes changed at random (a fixed seed): whatever the
 * headers become, a frame quick_accept takes is one BPF takes. */
START_TEST(mutated_frames)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline("tests/data/demo.pcap", err);
	ck_assert_msg(p != NULL, "%s", err);
	static uint8_t frames[64][256];
	static uint32_t lens[64];
	unsigned n = 0;
	struct pcap_pkthdr *h;
	const u_char *data;
	while (n < 64 && pcap_next_ex(p, &h, &data) == 1) {
		lens[n] = h->caplen < 256 ? h->caplen : 256;
		memcpy(frames[n], data, lens[n]);
		n++;
	}
	pcap_close(p);
	ck_assert_uint_gt(n, 8);
	struct bpf_program prog = default_program(DLT_EN10MB, dns_ports);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	unsigned long quick = 0;
	uint8_t f[256];
	for (unsigned long i = 0; i < 1000000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		unsigned k = (unsigned)(x % n);
		uint32_t len = lens[k];
		memcpy(f, frames[k], len);
		/* up to 3 bytes of the first 64 (the headers), and the length */
		for (unsigned m = (unsigned)(x >> 8) % 4; m > 0; m--) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			f[(x >> 16) % 64] = (uint8_t)(x >> 40);
		}
		if ((x >> 50) % 4 == 0)
			len = (uint32_t)((x >> 20) % (len + 1));
		quick += (unsigned long)quick_checked(&prog, dns_ports, f, len);
	}
	ck_assert_uint_gt(quick, 1000);
	pcap_freecode(&prog);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("quickfilter");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, each_rule);
	tcase_add_test(tc, every_bundled_frame);
	tcase_add_test(tc, mutated_frames);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
