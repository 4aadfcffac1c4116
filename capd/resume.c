/*
 * resume.c - capd's restart point in a capture file (see resume.h).
 *
 * Positions: in[0] is the file offset after the last frame read, in[1] the
 * number of frames read; out[k] the head of ring cap.k.
 */
#include "resume.h"

#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A ring reserve that must wait publishes that ring on its own: record the
 * boundary before the frame being sent (when its offset is known). */
static void on_forced_publish(void *ctx)
{
	struct capd_resume *rs = ctx;
	if (!rs->exact)
		return; /* unknown offset: a restart falls back to the older checkpoint */
	struct checkpoint_pos pos;
	pos.in[0] = rs->offset;
	pos.in[1] = rs->index;
	for (unsigned k = 0; k < rs->n_out; k++)
		pos.out[k] = ring_pending_head(rs->out[k]);
	checkpoint_write(rs->ckpt, &pos);
}

static int seek_to(struct capd_resume *rs, const struct checkpoint_pos *pos, const char *file)
{
	if (fseeko(rs->file, (off_t)pos->in[0], SEEK_SET) != 0) {
		log_warn("%s: cannot seek to byte %" PRIu64 " to resume; starting from the beginning "
			 "(records before the restart will be logged twice)", file, pos->in[0]);
		return -1;
	}
	rs->offset = pos->in[0];
	rs->index = pos->in[1];
	return 0;
}

void resume_open(struct capd_resume *rs, const char *file, pcap_t *p, struct ring **out,
		 unsigned n_out, const char *run_dir)
{
	memset(rs, 0, sizeof *rs);
	rs->out = out;
	rs->n_out = n_out;
	struct stat st;
	if (!file || !strcmp(file, "-") || stat(file, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	rs->file = pcap_file(p);
	if (!rs->file)
		return;
	rs->offset = (uint64_t)ftello(rs->file);

	char path[600], identity[256], err[700];
	snprintf(path, sizeof path, "%s/capd.ckpt", run_dir);
	/* Device and inode name the file whatever path reached it. */
	snprintf(identity, sizeof identity, "capd dev=%llu ino=%llu size=%lld mtime=%lld rings=%u",
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino, (long long)st.st_size,
		 (long long)st.st_mtime, n_out);
	if (!(rs->ckpt = checkpoint_open(path, identity, 2, n_out, err, sizeof err))) {
		log_warn("%s: restarts will begin again at the start of the file", err);
		return;
	}
	for (unsigned k = 0; k < n_out; k++)
		ring_set_publish_hook(out[k], on_forced_publish, rs);

	uint64_t heads[CHECKPOINT_MAX];
	for (unsigned k = 0; k < n_out; k++)
		heads[k] = ring_published_head(out[k]);
	struct checkpoint_pos newer, older, pos;
	int have_newer = checkpoint_slot(rs->ckpt, 0, &newer);
	int have_older = checkpoint_slot(rs->ckpt, 1, &older);
	int found = checkpoint_recover(rs->ckpt, heads, &pos);
	if (!have_newer)
		return; /* a first start */
	if (found == 1) {
		if (pos.in[1] && seek_to(rs, &pos, file) == 0)
			log_info("%s: resuming after frame %" PRIu64 " (byte %" PRIu64 "), where the "
				 "previous capd stopped", file, pos.in[1], pos.in[0]);
		return;
	}
	/* Died between publishing one ring and the next: each head is either
	 * the older checkpoint's or the newer one's. */
	int partial = have_older;
	for (unsigned k = 0; partial && k < n_out; k++)
		partial = heads[k] == older.out[k] || heads[k] == newer.out[k];
	if (partial && seek_to(rs, &older, file) == 0) {
		rs->skip_until = newer.in[1];
		for (unsigned k = 0; k < n_out; k++)
			rs->skip_ring[k] = heads[k] == newer.out[k] && newer.out[k] != older.out[k];
		log_info("%s: resuming after frame %" PRIu64 "; up to frame %" PRIu64 " only the rings "
			 "the previous capd had not published get them", file, older.in[1], newer.in[1]);
		return;
	}
	if (found == 2 && seek_to(rs, &pos, file) == 0) {
		log_warn("%s: resuming after frame %" PRIu64 "; the previous capd had published some "
			 "frames after it, which will be sent again", file, pos.in[1]);
		return;
	}
	log_warn("%s: the rings do not match any checkpoint of this file: reading it from the "
		 "beginning (records may be logged twice)", file);
}

void resume_checkpoint(struct capd_resume *rs)
{
	if (!rs->ckpt)
		return;
	struct checkpoint_pos pos;
	pos.in[0] = rs->exact ? rs->offset : (uint64_t)ftello(rs->file);
	pos.in[1] = rs->index;
	for (unsigned k = 0; k < rs->n_out; k++)
		pos.out[k] = ring_pending_head(rs->out[k]);
	checkpoint_write(rs->ckpt, &pos);
}

void resume_close(struct capd_resume *rs)
{
	checkpoint_close(rs->ckpt);
	rs->ckpt = NULL;
}
