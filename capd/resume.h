/*
 * resume.h - capd reading a capture file again after it died part way.
 *
 * While reading a regular file, capd keeps checkpoints (common/checkpoint.h)
 * of (file offset, frame index) against the heads of its rings.  A capd
 * started again on the same file (same path, device, inode and size) and
 * the same rings continues after the last frame it had published instead of
 * starting over.  If it died in the middle of publishing its rings (some
 * got a batch, some did not), it resumes at the older checkpoint and, up
 * to the newer one, sends frames only to the rings that had not got them.
 * stdin and live captures have nothing to resume.
 */
#ifndef DNSTRAIL_CAPD_RESUME_H
#define DNSTRAIL_CAPD_RESUME_H

#include "checkpoint.h"
#include "ring.h"

#include <pcap/pcap.h>
#include <stdint.h>

struct capd_resume {
	struct checkpoint *ckpt; /* NULL: not resumable (stdin, live) */
	FILE *file;
	int exact; /* capd's own reader (savefile.h) knows every record's offset */
	uint64_t offset; /* file offset after the last frame done (exact only) */
	uint64_t index; /* frames read from the file so far */
	uint64_t skip_until; /* frames before this index ... */
	uint8_t skip_ring[CHECKPOINT_MAX]; /* ... are not sent again to these rings */
	struct ring **out;
	unsigned n_out;
};

/* Set up checkpoints for file (NULL or "-" for none), and when a previous
 * capd died reading it, seek to where it stopped (rs->offset then says
 * where).  Logs what it does.  Offsets are not exact until capd sets
 * rs->exact: read by libpcap, only a batch boundary has a known offset. */
void resume_open(struct capd_resume *rs, const char *file, pcap_t *p, struct ring **out,
		 unsigned n_out, const char *run_dir);
/* The frame just read goes to ring k: 0 to send it, 1 when that ring has it. */
static inline int resume_skip(const struct capd_resume *rs, unsigned k)
{
	return rs->index < rs->skip_until && rs->skip_ring[k];
}
/* The frame just read is done (sent, skipped or dropped). */
static inline void resume_frame_done(struct capd_resume *rs, uint32_t caplen)
{
	rs->index++;
	rs->offset += 16 + (uint64_t)caplen;
}
/* The record just read did not pass the filter (frames are counted only
 * when they pass, as libpcap hands over only those). */
static inline void resume_frame_filtered(struct capd_resume *rs, uint32_t caplen)
{
	rs->offset += 16 + (uint64_t)caplen;
}
/* Call right before publishing every ring (all frames read are committed). */
void resume_checkpoint(struct capd_resume *rs);
void resume_close(struct capd_resume *rs);

#endif
