/*
 * fuzz_quickfilter.c - libFuzzer harness for capd's quick answer to the
 * default filter (capd/quickfilter.c): a frame it accepts must be one
 * libpcap's BPF program for the same filter accepts.
 *
 * Input layout: byte 0 picks the port list (bit 0: 53, or 5353 and 53);
 * the rest is an Ethernet frame, its caplen the length of what is left.
 */
#include "capd/capture.h"
#include "capd/quickfilter.h"

#include <stdlib.h>

static const uint16_t ports_a[] = { 53, 0 }, ports_b[] = { 5353, 53, 0 };

static struct bpf_program *program(int which)
{
	static struct bpf_program prog[2];
	static int ready[2];
	if (!ready[which]) {
		char expr[8192];
		capture_default_filter(DLT_EN10MB, 0, which ? ports_b : ports_a, expr, sizeof expr);
		pcap_t *p = pcap_open_dead(DLT_EN10MB, 262144);
		if (pcap_compile(p, &prog[which], expr, 1, PCAP_NETMASK_UNKNOWN) < 0)
			abort();
		pcap_close(p);
		ready[which] = 1;
	}
	return &prog[which];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	int which = data[0] & 1;
	const uint8_t *f = data + 1;
	uint32_t caplen = (uint32_t)(size - 1);
	struct pcap_pkthdr h = { .caplen = caplen, .len = caplen };
	if (quick_accept(DLT_EN10MB, f, caplen, which ? ports_b : ports_a) &&
	    !pcap_offline_filter(program(which), &h, f))
		abort();
	return 0;
}
