/*
 * capture.h - opening the packet source for capd: a capture file (pcap or
 * pcapng, "-" for stdin) or a live interface, with its BPF filter.
 *
 * Everything here runs before capd drops root; nothing here reads a packet.
 */
#ifndef DNSTRAIL_CAPD_CAPTURE_H
#define DNSTRAIL_CAPD_CAPTURE_H

#include <pcap/pcap.h>
#include <stddef.h>
#include <stdint.h>

struct capture_opts {
	const char *file; /* -r */
	const char *iface; /* -i */
	const char *filter; /* -f; NULL = the default DNS filter, "" = none */
	const uint16_t *ports; /* DNS ports for the default filter, 0-terminated */
	int snaplen;
	uint64_t buffer_size; /* live: kernel ring buffer bytes */
	int promisc;
};

/* The filter capture_open set, kept for capd's own file reader
 * (savefile.h), which filters with pcap_offline_filter. */
struct capture_filter {
	struct bpf_program prog; /* bf_len 0: no filter (-f '') */
	int is_default; /* the default DNS filter: quickfilter.h applies */
};

/* Opens, activates and filters the source; dies with a clear message (exit 1
 * for an unusable source, 2 for a bad filter) when it cannot.  The filter
 * goes to *cf (capture_filter_free when done). */
pcap_t *capture_open(const struct capture_opts *o, struct capture_filter *cf);
void capture_filter_free(struct capture_filter *cf);

/* Dies (exit 2) when expr is not a valid filter. */
void capture_check_filter(const char *expr);
/* The default filter for a link type: DNS ports, IP fragments (which carry no
 * ports) and IPv6 extension headers, also inside 802.1Q/802.1ad/QinQ tags and
 * (from a file) PPPoE inside tags.  Written to buf; returns buf. */
const char *capture_default_filter(int dlt, int live, const uint16_t *ports, char *buf, size_t len);

#endif
