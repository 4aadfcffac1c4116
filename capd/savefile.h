/*
 * savefile.h - capd's own reader of classic pcap files.
 *
 * libpcap reads a savefile with two fread calls per record, each copying
 * into its buffer; with its BPF interpreter that was over 60% of capd's
 * instructions on a DNS capture (callgrind).  This reader pulls the file in
 * SAVEFILE_BUFFER-sized read() calls and hands out records in place.
 *
 * It takes only the form tcpdump, tshark and dumpcap write: a regular file,
 * host byte order, version 2.4, microsecond or nanosecond magic.  And only
 * records libpcap would hand over as they are: caplen at most the file's
 * snapshot length (as libpcap adjusted it) and at most SAVEFILE_MAX_CAPLEN,
 * and the whole record in the file.  From the first record that is not so
 * (damaged, cut short, or merely odd) the rest of the file is libpcap's:
 * savefile_next says so, and savefile_hand_over positions the libpcap
 * handle's stream at that record, so libpcap's own checks and messages
 * apply from there exactly as before.
 *
 * It knows the file offset of every record, whether the filter passes it
 * or not, which is what capd's restart checkpoints need (resume.h).
 */
#ifndef DNSTRAIL_CAPD_SAVEFILE_H
#define DNSTRAIL_CAPD_SAVEFILE_H

#include <pcap/pcap.h>
#include <stddef.h>
#include <stdint.h>

/* Read size, and the only memory the reader allocates; larger than the
 * largest record it takes. */
#define SAVEFILE_BUFFER (1u << 20)
/* libpcap's largest sane caplen for the link types capd decodes
 * (MAXIMUM_SNAPLEN in pcap-int.h). */
#define SAVEFILE_MAX_CAPLEN 262144u

struct savefile {
	int fd; /* the libpcap handle's descriptor (not ours to close) */
	uint8_t *buf;
	size_t start, end; /* buf[start, end) holds file bytes ... */
	uint64_t buf_offset; /* ... buf[0] being this file offset */
	uint64_t offset; /* file offset of the next record */
	uint32_t snaplen; /* libpcap's pcap_snapshot() */
	int nsec; /* time stamps in nanoseconds (else microseconds) */
};

enum savefile_next {
	SAVEFILE_RECORD = 1, /* *h and *data set; sf->offset is past it */
	SAVEFILE_END = 0, /* the file ended after a whole record */
	SAVEFILE_LIBPCAP = -1, /* the record at sf->offset, or a read error, is
				* for libpcap (which reports it its own way) */
};

/* Whether p, a classic pcap file that libpcap opened, is one this reader
 * takes; if so sets sf up to read from file offset 'offset' (24, or where a
 * restart resumes) and returns 1.  Returns 0 (sf untouched but for fd = -1)
 * when libpcap should read it all. */
int savefile_open(struct savefile *sf, pcap_t *p, uint64_t offset);
/* The next record, with its time stamp in nanoseconds in h->ts.tv_usec as
 * libpcap gives it at PCAP_TSTAMP_PRECISION_NANO.  *data stays valid until
 * the next call. */
enum savefile_next savefile_next(struct savefile *sf, struct pcap_pkthdr *h, const uint8_t **data);
/* Seeks p's stream to sf->offset for libpcap to go on; 0, or -1 (errno). */
int savefile_hand_over(struct savefile *sf, pcap_t *p);
void savefile_close(struct savefile *sf);

#endif
