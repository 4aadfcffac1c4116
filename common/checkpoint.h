/*
 * checkpoint.h - what lets a stage that died restart without losing or
 * repeating a record.
 *
 * A stage reads inputs (ring positions, or capd's file offset) and writes
 * output rings.  Before each publish of its outputs it records, in a small
 * file in the run directory, a checkpoint: the input positions up to which
 * everything is processed, and the output heads that hold everything
 * derived from it (published by the publish that follows).  Two slots are
 * written in turn, each with a sequence number and a checksum, so a crash
 * in the middle of a write leaves the other slot whole.
 *
 * On restart the stage looks for the slot whose output heads equal the
 * heads actually published in its output rings: the crash came after that
 * slot's publish and before the next one, so resuming its inputs at the
 * slot's positions repeats nothing and loses nothing.  For the rollback to
 * the older slot to be possible, a stage releases its inputs only up to
 * the older slot's positions (checkpoint_release_pos).
 */
#ifndef DNSTRAIL_CHECKPOINT_H
#define DNSTRAIL_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#define CHECKPOINT_MAX 64

struct checkpoint_pos {
	uint64_t in[CHECKPOINT_MAX]; /* input positions */
	uint64_t out[CHECKPOINT_MAX]; /* output heads */
};

struct checkpoint;

/* Open (or create) the checkpoint file of a stage.  identity names what
 * the inputs are (a capture file's path, size and inode for capd; the ring
 * names otherwise): a checkpoint for another identity is ignored.  NULL
 * with a reason in err. */
struct checkpoint *checkpoint_open(const char *path, const char *identity, unsigned n_in,
				   unsigned n_out, char *err, size_t errlen);
void checkpoint_close(struct checkpoint *c);

/* The positions to resume from.  Returns 1 when a slot's output heads equal
 * out_heads (the heads published now): resuming there is exact.  Returns 2
 * when the best there is, is the newest slot whose heads are all at or
 * before the published ones (the stage published on its own after it, while
 * waiting for space): resuming there repeats the records published after
 * it.  0: no usable checkpoint (start from the rings' tails). */
int checkpoint_recover(struct checkpoint *c, const uint64_t *out_heads, struct checkpoint_pos *pos);
/* Slot `which` (0 the newest, 1 the older): 1 when it holds a checkpoint. */
int checkpoint_slot(struct checkpoint *c, int which, struct checkpoint_pos *pos);
/* Record a checkpoint (call right before publishing the outputs). */
void checkpoint_write(struct checkpoint *c, const struct checkpoint_pos *pos);
/* The older of the two slots: inputs may be released up to its positions.
 * 0 when there is none yet. */
int checkpoint_release_pos(struct checkpoint *c, struct checkpoint_pos *pos);

#endif
