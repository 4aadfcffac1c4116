/*
 * savefile.c - classic pcap records read in place (see savefile.h).
 *
 * Invariant: every record handed out lies whole inside buf[start, end),
 * and buf_offset + start is always sf->offset, the next record's place in
 * the file.  A record that does not fit what is buffered moves the
 * unread tail to the front and reads more behind it; one that cannot fit
 * the buffer at all is not one this reader takes (caplen is bounded well
 * below SAVEFILE_BUFFER).
 */
#include "savefile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_HEADER 24
#define RECORD_HEADER 16

_Static_assert(RECORD_HEADER + SAVEFILE_MAX_CAPLEN <= SAVEFILE_BUFFER,
	       "a whole record must fit the read buffer");

static ssize_t read_at(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n;
	do
		n = pread(fd, buf, len, (off_t)off);
	while (n < 0 && errno == EINTR);
	return n;
}

int savefile_open(struct savefile *sf, pcap_t *p, uint64_t offset)
{
	sf->fd = -1;
	FILE *f = pcap_file(p);
	struct stat st;
	if (!f || fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) || offset < FILE_HEADER)
		return 0;
	uint8_t h[FILE_HEADER];
	if (read_at(fileno(f), h, sizeof h, 0) != (ssize_t)sizeof h)
		return 0;
	uint32_t magic;
	uint16_t major, minor;
	memcpy(&magic, h, 4);
	memcpy(&major, h + 4, 2);
	memcpy(&minor, h + 6, 2);
	/* In host byte order (swapped files are left to libpcap), and 2.4:
	 * older versions may have caplen and len the other way round. */
	if ((magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) || major != 2 || minor != 4 ||
	    pcap_snapshot(p) <= 0)
		return 0;
	uint8_t *buf = malloc(SAVEFILE_BUFFER);
	if (!buf)
		return 0; /* libpcap needs far less */
	*sf = (struct savefile){ .fd = fileno(f), .buf = buf, .buf_offset = offset, .offset = offset,
				 .snaplen = (uint32_t)pcap_snapshot(p), .nsec = magic == 0xa1b23c4d };
	return 1;
}

/* Makes at least 'need' bytes from sf->offset available, if the file has
 * them: 1, or 0 at end of file or on a read error. */
static int refill(struct savefile *sf, size_t need)
{
	size_t have = sf->end - sf->start;
	memmove(sf->buf, sf->buf + sf->start, have);
	sf->buf_offset += sf->start;
	sf->start = 0;
	sf->end = have;
	while (sf->end < need) {
		ssize_t n = read_at(sf->fd, sf->buf + sf->end, SAVEFILE_BUFFER - sf->end,
				    sf->buf_offset + sf->end);
		if (n <= 0)
			return 0;
		sf->end += (size_t)n;
	}
	return 1;
}

static inline int fill(struct savefile *sf, size_t need)
{
	return sf->end - sf->start >= need || refill(sf, need);
}

enum savefile_next savefile_next(struct savefile *sf, struct pcap_pkthdr *h, const uint8_t **data)
{
	if (!fill(sf, RECORD_HEADER))
		/* Nothing left is the end; part of a header is libpcap's
		 * "truncated dump file", and so is a read error. */
		return sf->end == sf->start ? SAVEFILE_END : SAVEFILE_LIBPCAP;
	const uint8_t *r = sf->buf + sf->start;
	uint32_t sec, frac, caplen, len;
	memcpy(&sec, r, 4);
	memcpy(&frac, r + 4, 4);
	memcpy(&caplen, r + 8, 4);
	memcpy(&len, r + 12, 4);
	if (caplen > sf->snaplen || caplen > SAVEFILE_MAX_CAPLEN ||
	    !fill(sf, RECORD_HEADER + (size_t)caplen))
		return SAVEFILE_LIBPCAP;
	r = sf->buf + sf->start; /* fill may have moved it */
	h->ts.tv_sec = (time_t)sec;
	h->ts.tv_usec = sf->nsec ? (suseconds_t)frac : (suseconds_t)frac * 1000;
	h->caplen = caplen;
	h->len = len;
	*data = r + RECORD_HEADER;
	sf->start += RECORD_HEADER + (size_t)caplen;
	sf->offset += RECORD_HEADER + (uint64_t)caplen;
	return SAVEFILE_RECORD;
}

int savefile_hand_over(struct savefile *sf, pcap_t *p)
{
	return fseeko(pcap_file(p), (off_t)sf->offset, SEEK_SET);
}

void savefile_close(struct savefile *sf)
{
	free(sf->buf);
	sf->buf = NULL;
	sf->fd = -1;
}
