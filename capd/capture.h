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

/* Opens, activates and filters the source; dies with a clear message (exit 1
 * for an unusable source, 2 for a bad filter) when it cannot. */
pcap_t *capture_open(const struct capture_opts *o);

/* Dies (exit 2) when expr is not a valid filter. */
void capture_check_filter(const char *expr);
/* The default filter for a link type: DNS ports, IP fragments (which carry no
 * ports) and IPv6 extension headers, also inside 802.1Q/802.1ad/QinQ tags and
 * (from a file) PPPoE inside tags.  Written to buf; returns buf. */
const char *capture_default_filter(int dlt, int live, const uint16_t *ports, char *buf, size_t len);

#endif
