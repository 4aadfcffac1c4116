/*
 * format.h - turns one REC_TXN record into output lines (DESIGN.md
 * "Output"): json (one object per logged RR), transaction (one object per
 * transaction with an answers array) or passivedns (the ||-delimited line of
 * the classic C passivedns).
 *
 * Invariants: a call either writes whole lines, each ending in '\n', and
 * returns their length, or returns 0 and the caller discards whatever it
 * wrote - so a line is never cut.  Output is bounded by the cap the caller
 * passes, checked against exact worst-case sizes before any byte is written
 * past it.  The record must have passed rec_txn_check().
 */
#ifndef DNSTRAIL_LOGD_FORMAT_H
#define DNSTRAIL_LOGD_FORMAT_H

#include "jsonw.h"
#include "records.h"

#include <stddef.h>
#include <stdint.h>

enum logd_format { LOGD_FMT_JSON, LOGD_FMT_TRANSACTION, LOGD_FMT_PASSIVEDNS };

#define FMT_SENSOR_MAX 255 /* bytes of --sensor */

struct fmt {
	enum logd_format kind;
	/* `,"sensor":"..."` rendered once, or empty without --sensor */
	char sensor_field[16 + 6 * FMT_SENSOR_MAX];
	size_t sensor_len;
	struct jw_tscache ts;
};

/* 0, or -1 when the sensor name is longer than FMT_SENSOR_MAX. */
int fmt_init(struct fmt *f, enum logd_format kind, const char *sensor);
/* "json", "transaction", "passivedns" -> 0 and *out; -1 otherwise. */
int fmt_parse(const char *name, enum logd_format *out);

/* Formats t into out[0..cap).  Returns the bytes written (every line
 * complete) and their number in *lines, or 0 when they do not fit in cap. */
size_t fmt_txn(struct fmt *f, const struct rec_txn *t, char *out, size_t cap, uint32_t *lines);

/* Type and class mnemonics as logd writes them ("A", "TYPE65534", "IN",
 * "CLASS7"); buf needs FMT_MNEMONIC_MAX bytes, no NUL is written. */
#define FMT_MNEMONIC_MAX 16
char *fmt_type(char *p, uint16_t type);
char *fmt_class(char *p, uint16_t rclass);

#endif
