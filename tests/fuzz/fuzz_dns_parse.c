/*
 * fuzz_dns_parse.c - libFuzzer harness for dns_parse() (and, with
 * replay_main.c, the replay of tests/data/fuzz/fuzz_dns_parse/ by make check).
 *
 * Each input is parsed twice: into a roomy record and into a small one that
 * forces MSG_F_TEXT_CUT.  Besides the sanitizers' checks it asserts, and
 * aborts when one fails:
 *   - every emitted record passes rec_msg_check;
 *   - its whole text area is printable ASCII;
 *   - the result, MSG_F_PARTIAL, parse_error and the counters agree;
 *   - the small record's RRs are a prefix of the roomy one's, text for text
 *     (a cut only ever drops trailing RRs).
 */
#include "../../decoded/dns_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROOMY_BYTES (1u << 20)
#define SMALL_BYTES 512u
#define RR_STAGE 4096u

struct run {
	enum dns_parse_result r;
	struct rec_msg *m;
	size_t size;
};

static void fail(const char *why)
{
	fprintf(stderr, "fuzz_dns_parse: %s\n", why);
	abort();
}

static struct run parse(const uint8_t *data, size_t size, void *out, size_t cap,
			struct rec_rr *rr, char *text)
{
	struct msg_builder b;
	struct dns_parse_stats st = { 0 };
	msgb_init(&b, out, cap, rr, RR_STAGE, text, (uint32_t)cap);
	struct run run = { dns_parse(data, size, &b, &st), b.m, 0 };
	uint64_t results = st.messages_ok + st.messages_partial + st.rejected_short +
			   st.rejected_question;
	if (results != 1)
		fail("not exactly one result counter bumped");
	if (run.r == DNS_PARSE_REJECT)
		return run;
	b.m->ip_version = 4;
	run.size = msgb_finish(&b);
	const char *why;
	if (rec_msg_check(b.m, run.size, &why) < 0)
		fail(why);
	const char *t = rec_msg_text(b.m);
	for (uint32_t i = 0; i < b.m->text_len; i++)
		if (t[i] < 0x20 || t[i] > 0x7e)
			fail("text not printable ASCII");
	int partial = (b.m->flags & MSG_F_PARTIAL) != 0;
	if (partial != (run.r == DNS_PARSE_PARTIAL) || (partial && !b.m->parse_error))
		fail("partial flag, result and parse_error disagree");
	if (((b.m->flags & MSG_F_TEXT_CUT) != 0) != (st.text_cut == 1))
		fail("text_cut counter and flag disagree");
	return run;
}

static int same_rr(const struct rec_msg *a, const struct rec_rr *x, const struct rec_msg *b,
		   const struct rec_rr *y)
{
	const char *ta = rec_msg_text(a), *tb = rec_msg_text(b);
	return x->type == y->type && x->ttl == y->ttl && x->rclass == y->rclass &&
	       x->section == y->section && x->name_len == y->name_len &&
	       x->data_len == y->data_len &&
	       !memcmp(ta + x->name_off, tb + y->name_off, x->name_len) &&
	       !memcmp(ta + x->data_off, tb + y->data_off, x->data_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *roomy_out, *small_out;
	static char *roomy_text, *small_text;
	static struct rec_rr *rr;
	if (!roomy_out) { /* allocated once: the harness, not the parser, holds them */
		roomy_out = malloc(ROOMY_BYTES);
		roomy_text = malloc(ROOMY_BYTES);
		small_out = malloc(SMALL_BYTES);
		small_text = malloc(SMALL_BYTES);
		rr = malloc(RR_STAGE * sizeof *rr);
		if (!roomy_out || !roomy_text || !small_out || !small_text || !rr)
			abort();
	}
	struct run big = parse(data, size, roomy_out, ROOMY_BYTES, rr, roomy_text);
	if (big.r == DNS_PARSE_REJECT)
		return 0;
	/* big.m is the finished record in roomy_out: the small parse, which
	 * reuses the staging areas, does not touch it */
	struct run small = parse(data, size, small_out, SMALL_BYTES, rr, small_text);
	if (small.r != big.r || small.m->parse_error != big.m->parse_error)
		fail("result depends on the record size");
	if (small.m->n_rr > big.m->n_rr)
		fail("small record has more RRs");
	for (unsigned i = 0; i < small.m->n_rr; i++)
		if (!same_rr(small.m, &rec_msg_rrs(small.m)[i], big.m, &rec_msg_rrs(big.m)[i]))
			fail("small record's RRs are not a prefix of the roomy one's");
	return 0;
}
