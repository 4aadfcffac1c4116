/*
 * merge.c - time-ordered reading of the decoder rings (see merge.h).
 */
#include "merge.h"

#include <string.h>

void merge_init(struct merge *m)
{
	memset(m, 0, sizeof *m);
}

void merge_add(struct merge *m, struct ring *r)
{
	m->in[m->n++].ring = r;
}

void merge_set_lookahead(struct merge *m, merge_look_fn look, void *ctx)
{
	m->look = look;
	m->look_ctx = ctx;
}

static void look_ahead(struct merge *m, struct merge_input *in)
{
	uint64_t read = ring_read_pos(in->ring);
	struct ring_view v;
	if (in->ahead_pos < read)
		in->ahead_pos = read;
	while (in->ahead_pos - read < MERGE_LOOKAHEAD_BYTES &&
	       ring_peek_ahead(in->ring, &in->ahead_pos, &v))
		m->look(m->look_ctx, &v);
}

static uint64_t record_ts(const struct ring_view *v, int *ok)
{
	uint64_t ts = 0;
	*ok = 0;
	if (v->type == REC_MSG && v->len >= sizeof(struct rec_msg)) {
		ts = ((const struct rec_msg *)v->data)->ts_ns;
		*ok = 1;
	} else if (v->type == REC_TICK && v->len >= sizeof(struct rec_tick)) {
		ts = ((const struct rec_tick *)v->data)->ts_ns;
		*ok = 1;
	}
	return ts;
}

/* Make sure input i shows its head if it has one.  Returns -1 on corruption. */
static int fill_head(struct merge *m, struct merge_input *in)
{
	while (!in->has_head && !in->done) {
		if (!ring_peek(in->ring, &in->head)) {
			if (ring_error(in->ring))
				return -1;
			if (ring_drained(in->ring))
				in->done = 1;
			return 0;
		}
		int ok;
		uint64_t ts = record_ts(&in->head, &ok);
		if (!ok) {
			m->bad_records++;
			ring_next(in->ring);
			continue;
		}
		in->has_head = 1;
		in->head_ts = ts;
	}
	return 0;
}

enum merge_result merge_next(struct merge *m, struct ring_view *view, uint64_t *ts,
			     unsigned *which)
{
	if (m->n == 1) { /* one decoder: plain in-order reading, the common case */
		struct merge_input *in = &m->in[0];
		m->blocking = 0;
		if (fill_head(m, in) < 0)
			return MERGE_CORRUPT;
		if (in->done)
			return MERGE_END;
		if (!in->has_head)
			return MERGE_WAIT;
		*view = in->head;
		*ts = in->head_ts;
		*which = 0;
		return MERGE_RECORD;
	}
	int best = -1, all_done = 1;
	for (unsigned i = 0; i < m->n; i++) {
		struct merge_input *in = &m->in[i];
		if (fill_head(m, in) < 0) {
			m->blocking = i;
			return MERGE_CORRUPT;
		}
		if (in->done)
			continue;
		all_done = 0;
		if (in->has_head && (best < 0 || in->head_ts < m->in[best].head_ts))
			best = (int)i;
	}
	if (all_done)
		return MERGE_END;
	if (best < 0) {
		for (unsigned i = 0; i < m->n; i++)
			if (!m->in[i].done) {
				m->blocking = i;
				break;
			}
		return MERGE_WAIT;
	}
	uint64_t t = m->in[best].head_ts;
	for (unsigned i = 0; i < m->n; i++) {
		const struct merge_input *in = &m->in[i];
		if (in->done || in->has_head || (int)i == best)
			continue;
		if (in->last_ts < t) {
			/* This ring might still deliver something earlier. */
			m->blocking = i;
			return MERGE_WAIT;
		}
	}
	*view = m->in[best].head;
	*ts = t;
	*which = (unsigned)best;
	return MERGE_RECORD;
}

void merge_consumed(struct merge *m, unsigned which)
{
	struct merge_input *in = &m->in[which];
	if (in->head_ts > in->last_ts)
		in->last_ts = in->head_ts;
	in->has_head = 0;
	ring_next(in->ring);
	if (m->look)
		look_ahead(m, in);
}
