/*
 * txn.h - what the matcher decides about a message, handed to the emitter
 * (possibly through the dedup cache).  It points at the message record; the
 * emitter turns it into a REC_TXN on the log ring.
 */
#ifndef DNSTRAIL_CORRELATED_TXN_H
#define DNSTRAIL_CORRELATED_TXN_H

#include "records.h"

#include <stddef.h>
#include <stdint.h>

struct txn_event {
	uint8_t kind; /* enum txn_kind */
	uint8_t flags; /* enum txn_flags */
	uint64_t query_ts_ns; /* 0 when the query was not seen */
	const struct rec_msg *msg; /* the response, or the query when unanswered */
	size_t msg_len;
};

/* The client is the query's sender: for a response, the packet's destination. */
static inline int txn_msg_is_response(const struct rec_msg *m)
{
	return DNS_QR(m->hflags);
}

#endif
