/*
 * netwalk.h - find the IP packet inside a captured frame.
 *
 * Shared by capd (to hash a frame to a decoder) and decoded (to decode it),
 * so both agree on which frames are IP and what their addresses are.
 * Handles the link types dnstrail supports, 802.1Q/802.1ad/QinQ tags and
 * PPPoE sessions.  Pure function of its input; never reads past len.
 */
#ifndef DNSTRAIL_NETWALK_H
#define DNSTRAIL_NETWALK_H

#include <stddef.h>
#include <stdint.h>

enum netwalk_result {
	NW_OK = 0,
	NW_NOT_IP, /* ARP, LLC, other ethertypes: not ours */
	NW_TRUNCATED, /* frame ends inside a link-layer header */
	NW_BAD_LINKTYPE, /* the capture's link type is not supported */
	NW_TOO_MANY_TAGS, /* more VLAN tags than NW_MAX_TAGS */
};
#define NW_MAX_TAGS 4

struct net_l3 {
	const uint8_t *ip; /* first byte of the IP header */
	size_t len; /* captured bytes from ip to the end of the frame */
	uint8_t version; /* 4 or 6, from the link layer's protocol field or the IP nibble */
	uint8_t has_vlan;
	uint16_t vlan; /* outermost VLAN id */
};

/* 1 if frames of this DLT can be decoded, else 0. */
int netwalk_dlt_supported(int dlt);
const char *netwalk_dlt_name(int dlt);
enum netwalk_result netwalk_frame(int dlt, const uint8_t *frame, size_t len, struct net_l3 *out);

/* A hash that is the same for both directions of a conversation and for all
 * fragments of a datagram: it covers only the IP addresses, in a canonical
 * order.  Frames that are not IP hash to 0. */
uint32_t netwalk_flow_hash(const struct net_l3 *l3);

#endif
