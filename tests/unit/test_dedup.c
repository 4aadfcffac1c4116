/*
 * test_dedup.c - the dedup cache on its own (correlated/dedup.c): windows,
 * eviction of the oldest when full, keys, and the invariant that counts add
 * up to the sightings.
 */
#include "correlated/dedup.h"
#include "msgfix.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC 1000000000ull

struct written {
	uint32_t count;
	uint64_t ts;
	uint32_t ttl;
	uint8_t flags;
	int has_rr;
	char q[64], name[64], data[160];
};

static struct written out[4096];
static int n_out;

static void collect(void *ctx, const struct rec_txn *t, size_t len)
{
	(void)ctx;
	const char *why;
	ck_assert_int_eq(rec_txn_check(t, len, &why), 0);
	ck_assert_int_lt(n_out, 4096);
	struct written *w = &out[n_out++];
	memset(w, 0, sizeof *w);
	const char *text = rec_msg_text(&t->msg);
	snprintf(w->q, sizeof w->q, "%.*s", t->msg.qname_len, text + t->msg.qname_off);
	w->ts = t->msg.ts_ns;
	w->flags = t->flags;
	w->has_rr = t->msg.n_rr;
	if (t->msg.n_rr) {
		const struct rec_rr *rr = rec_msg_rrs(&t->msg);
		w->count = rr->count;
		w->ttl = rr->ttl;
		snprintf(w->name, sizeof w->name, "%.*s", rr->name_len, text + rr->name_off);
		snprintf(w->data, sizeof w->data, "%.*s", (int)rr->data_len, text + rr->data_off);
	} else {
		w->count = t->count;
	}
}

static struct dedup *d;
static struct dedup_config cfg;

static void setup(void)
{
	n_out = 0;
	cfg = (struct dedup_config){ .window_ns = 60 * SEC, .max_entries = 1000, .max_key_bytes = 1024 };
	d = dedup_new(&cfg, collect, NULL);
}

static void teardown(void)
{
	dedup_free(d);
}

/* A sighting of (q, A, name, data) at ts; kind/rcode for the no-RR line. */
static int see(const char *q, const char *name, const char *data, uint32_t ttl, uint64_t ts,
	       uint16_t rcode, uint8_t kind)
{
	struct msgfix f;
	struct msgfix_spec s = { .qr = 1, .id = 1, .cli = "10.0.0.1", .cport = 999,
				 .srv = "10.0.0.53", .qname = q, .ts = ts, .rcode = rcode };
	if (name)
		s.rrs[0] = (struct msgfix_rr){ name, 1, ttl, data, 0 };
	const struct rec_msg *m = msgfix_build(&f, &s);
	_Alignas(8) unsigned char buf[sizeof(struct rec_txn) + 8192];
	struct rec_txn *t = (struct rec_txn *)buf;
	memset(t, 0, sizeof *t);
	t->kind = kind ? kind : TXN_ANSWERED;
	t->count = 1;
	memcpy(&t->msg, m, f.len);
	const struct rec_rr *rr = m->n_rr ? rec_msg_rrs(&t->msg) : NULL;
	return dedup_sighting(d, t, rec_msg_text(&t->msg), rr);
}

START_TEST(first_written_repeats_counted_window_flushes)
{
	ck_assert_int_eq(see("a.example", "a.example", "192.0.2.1", 300, 1 * SEC, 0, 0), 1);
	ck_assert_int_eq(see("a.example", "a.example", "192.0.2.1", 200, 2 * SEC, 0, 0), 0);
	ck_assert_int_eq(see("a.example", "a.example", "192.0.2.1", 100, 3 * SEC, 0, 0), 0);
	ck_assert_int_eq(n_out, 0);
	dedup_expire(d, 61 * SEC - 1);
	ck_assert_int_eq(n_out, 0);
	dedup_expire(d, 61 * SEC); /* the window is [1 s, 61 s) */
	ck_assert_int_eq(n_out, 1);
	ck_assert_uint_eq(out[0].count, 2);
	ck_assert_uint_eq(out[0].ts, 3 * SEC); /* the latest sighting */
	ck_assert_uint_eq(out[0].ttl, 100);
	ck_assert_int_eq(out[0].flags, TXN_F_DEDUP_FLUSH);
	ck_assert_str_eq(out[0].data, "192.0.2.1");
	ck_assert_uint_eq(dedup_stats(d)->entries, 0);
	ck_assert_int_eq(see("a.example", "a.example", "192.0.2.1", 300, 62 * SEC, 0, 0), 1);
}
END_TEST

START_TEST(window_without_repeats_writes_nothing_more)
{
	ck_assert_int_eq(see("a.example", "a.example", "192.0.2.1", 300, 1 * SEC, 0, 0), 1);
	dedup_expire(d, 100 * SEC);
	ck_assert_int_eq(n_out, 0);
	ck_assert_uint_eq(dedup_stats(d)->entries, 0);
}
END_TEST

START_TEST(sighting_at_window_end_opens_a_new_window)
{
	ck_assert_int_eq(see("b.example", "b.example", "192.0.2.2", 300, 0, 0, 0), 1);
	ck_assert_int_eq(see("b.example", "b.example", "192.0.2.2", 300, 1 * SEC, 0, 0), 0);
	/* Not expired by the clock yet, but this sighting is past the window. */
	ck_assert_int_eq(see("b.example", "b.example", "192.0.2.2", 300, 60 * SEC, 0, 0), 1);
	ck_assert_int_eq(n_out, 1);
	ck_assert_uint_eq(out[0].count, 1);
	ck_assert_uint_eq(out[0].ts, 1 * SEC);
}
END_TEST

START_TEST(names_fold_case_rdata_does_not)
{
	ck_assert_int_eq(see("C.Example", "C.EXAMPLE", "v=spf1", 300, 1 * SEC, 0, 0), 1);
	ck_assert_int_eq(see("c.example", "c.example", "v=spf1", 300, 2 * SEC, 0, 0), 0);
	ck_assert_int_eq(see("c.example", "c.example", "V=SPF1", 300, 3 * SEC, 0, 0), 1);
	dedup_flush(d);
	ck_assert_int_eq(n_out, 1);
	ck_assert_str_eq(out[0].q, "c.example"); /* written as last seen */
	ck_assert_uint_eq(out[0].count, 1);
}
END_TEST

START_TEST(no_answer_key_includes_rcode_and_unanswered)
{
	ck_assert_int_eq(see("n.example", NULL, NULL, 0, 1 * SEC, 3, 0), 1); /* NXDOMAIN */
	ck_assert_int_eq(see("n.example", NULL, NULL, 0, 2 * SEC, 3, 0), 0);
	ck_assert_int_eq(see("n.example", NULL, NULL, 0, 3 * SEC, 0, 0), 1); /* NODATA */
	ck_assert_int_eq(see("n.example", NULL, NULL, 0, 4 * SEC, 0, TXN_UNANSWERED), 1);
	ck_assert_int_eq(see("n.example", NULL, NULL, 0, 5 * SEC, 0, TXN_UNANSWERED), 0);
	dedup_flush(d);
	ck_assert_int_eq(n_out, 2);
	ck_assert_uint_eq(out[0].count, 1);
	ck_assert_int_eq(out[0].has_rr, 0);
	ck_assert_uint_eq(out[1].count, 1);
}
END_TEST

START_TEST(full_cache_closes_the_oldest_window)
{
	dedup_free(d);
	cfg.max_entries = 2;
	d = dedup_new(&cfg, collect, NULL);
	ck_assert_int_eq(see("a.example", "a.example", "1", 1, 1 * SEC, 0, 0), 1);
	ck_assert_int_eq(see("b.example", "b.example", "2", 1, 2 * SEC, 0, 0), 1);
	ck_assert_int_eq(see("b.example", "b.example", "2", 1, 3 * SEC, 0, 0), 0);
	ck_assert_int_eq(see("a.example", "a.example", "1", 7, 4 * SEC, 0, 0), 0);
	/* a's window opened first, so it closes first: written with its count
	 * and its latest sighting, however recently it was seen. */
	ck_assert_int_eq(see("c.example", "c.example", "3", 1, 5 * SEC, 0, 0), 1);
	ck_assert_int_eq(n_out, 1);
	ck_assert_str_eq(out[0].q, "a.example");
	ck_assert_uint_eq(out[0].count, 1);
	ck_assert_uint_eq(out[0].ttl, 7);
	ck_assert_uint_eq(out[0].ts, 4 * SEC);
	ck_assert_int_eq(out[0].flags, TXN_F_DEDUP_FLUSH);
	ck_assert_uint_eq(dedup_stats(d)->evicted, 1);
	ck_assert_uint_eq(dedup_stats(d)->entries, 2);
	ck_assert_int_eq(see("b.example", "b.example", "2", 1, 6 * SEC, 0, 0), 0);
	ck_assert_int_eq(see("a.example", "a.example", "1", 1, 7 * SEC, 0, 0), 1); /* new window */
	ck_assert_str_eq(out[1].q, "b.example");
	ck_assert_uint_eq(out[1].count, 2);
	ck_assert_int_eq(n_out, 2);
}
END_TEST

START_TEST(window_closed_out_of_order_slot_reused)
{
	/* A sighting older than the last (an unanswered query, written at its
	 * timeout) opens a window that closes before those of entries made
	 * earlier; when a later sighting finds it closed, that entry goes from
	 * the middle of the cache, and its slot is used again once the older
	 * entries before it have gone (until then the cache holds one less). */
	dedup_free(d);
	cfg.max_entries = 3;
	cfg.window_ns = 10 * SEC;
	d = dedup_new(&cfg, collect, NULL);
	ck_assert_int_eq(see("a.example", "a.example", "1", 1, 5 * SEC, 0, 0), 1);
	ck_assert_int_eq(see("b.example", "b.example", "2", 1, 1 * SEC, 0, 0), 1);
	ck_assert_int_eq(see("b.example", "b.example", "2", 1, 11 * SEC, 0, 0), 1);
	ck_assert_uint_eq(dedup_stats(d)->entries, 2);
	ck_assert_int_eq(see("c.example", "c.example", "3", 1, 12 * SEC, 0, 0), 1);
	ck_assert_uint_eq(dedup_stats(d)->evicted, 1); /* a, the oldest */
	ck_assert_uint_eq(dedup_stats(d)->entries, 2);
	ck_assert_int_eq(see("d.example", "d.example", "4", 1, 13 * SEC, 0, 0), 1);
	ck_assert_uint_eq(dedup_stats(d)->evicted, 1); /* into the first b's slot */
	ck_assert_int_eq(see("e.example", "e.example", "5", 1, 14 * SEC, 0, 0), 1);
	ck_assert_uint_eq(dedup_stats(d)->evicted, 2); /* b (11 s) */
	ck_assert_uint_eq(dedup_stats(d)->entries, 3);
	ck_assert_int_eq(see("c.example", "c.example", "3", 1, 15 * SEC, 0, 0), 0);
	ck_assert_int_eq(see("d.example", "d.example", "4", 1, 15 * SEC, 0, 0), 0);
	ck_assert_int_eq(see("e.example", "e.example", "5", 1, 15 * SEC, 0, 0), 0);
	ck_assert_int_eq(n_out, 0);
	dedup_flush(d);
	ck_assert_int_eq(n_out, 3);
	ck_assert_uint_eq(dedup_stats(d)->entries, 0);
}
END_TEST

START_TEST(keys_longer_than_a_slot_holds)
{
	/* A key over the slot's 90 bytes is kept in a block of its own: it
	 * must still match, in any case, and go when it is let go. */
	dedup_free(d);
	cfg.max_entries = 1;
	d = dedup_new(&cfg, collect, NULL);
	char q[64], name[64], data[200];
	memset(q, 'q', sizeof q - 1);
	q[sizeof q - 1] = 0;
	memcpy(q + sizeof q - 9, ".example", 9);
	memcpy(name, q, sizeof name);
	name[0] = 'Q';
	memset(data, 'd', sizeof data - 1);
	data[sizeof data - 1] = 0;
	ck_assert_int_eq(see(q, q, data, 1, 1 * SEC, 0, 0), 1);
	ck_assert_int_eq(see(q, name, data, 1, 2 * SEC, 0, 0), 0);
	data[0] = 'D'; /* rdata does not fold case */
	ck_assert_int_eq(see(q, q, data, 1, 3 * SEC, 0, 0), 1);
	ck_assert_int_eq(n_out, 1);
	ck_assert_uint_eq(out[0].count, 1);
	ck_assert_uint_eq(dedup_stats(d)->evicted, 1);
	ck_assert_uint_eq(dedup_stats(d)->entries, 1);
}
END_TEST

/* Keys of every length around what a slot holds (90 bytes), in the
 * slot or in a block: each matches its repeats, in any case, and is
 * flushed once with its count and its latest sighting's text. */
START_TEST(keys_on_both_sides_of_the_slot_size)
{
	enum { FIRST = 60, LAST = 130 };
	for (int len = FIRST; len <= LAST; len++) {
		char q[40], name[40], data[128];
		snprintf(q, sizeof q, "k%03d.example", len); /* 12 bytes */
		snprintf(name, sizeof name, "%s", q);
		memset(data, 'd', sizeof data);
		data[len - 24] = 0;
		ck_assert_uint_eq(strlen(q) + strlen(name) + strlen(data), (size_t)len);
		ck_assert_int_eq(see(q, name, data, 1, 1 * SEC, 0, 0), 1);
		name[0] = 'K';
		ck_assert_int_eq(see(q, name, data, 2, 2 * SEC, 0, 0), 0);
		ck_assert_int_eq(see(q, name, data, 3, 3 * SEC, 0, 0), 0);
	}
	ck_assert_int_eq(n_out, 0);
	ck_assert_uint_eq(dedup_stats(d)->entries, LAST - FIRST + 1);
	dedup_flush(d);
	ck_assert_int_eq(n_out, LAST - FIRST + 1);
	for (int i = 0; i < n_out; i++) {
		char q[40];
		snprintf(q, sizeof q, "k%03d.example", FIRST + i);
		ck_assert_str_eq(out[i].q, q);
		q[0] = 'K';
		ck_assert_str_eq(out[i].name, q);
		ck_assert_uint_eq(strlen(out[i].data), (size_t)(FIRST + i - 24));
		ck_assert_uint_eq(out[i].count, 2);
		ck_assert_uint_eq(out[i].ttl, 3);
	}
	ck_assert_uint_eq(dedup_stats(d)->entries, 0);
}
END_TEST

START_TEST(long_records_bypass_the_cache)
{
	char big[1100];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	ck_assert_int_eq(see("l.example", "l.example", big, 1, 1 * SEC, 0, 0), 1);
	ck_assert_int_eq(see("l.example", "l.example", big, 1, 2 * SEC, 0, 0), 1);
	ck_assert_uint_eq(dedup_stats(d)->bypassed, 2);
	ck_assert_uint_eq(dedup_stats(d)->entries, 0);
}
END_TEST

/* The invariant, on random traffic: every sighting is accounted for once. */
START_TEST(counts_add_up_to_sightings)
{
	dedup_free(d);
	cfg.max_entries = 7; /* small, so eviction happens a lot */
	cfg.window_ns = 5 * SEC;
	d = dedup_new(&cfg, collect, NULL);
	srand(12345 + (unsigned)_i);
	uint64_t ts = 0, written_now = 0, sightings = 2000;
	for (uint64_t i = 0; i < sightings; i++) {
		char q[32], data[16];
		int k = rand() % 20;
		snprintf(q, sizeof q, "k%d.example", k);
		snprintf(data, sizeof data, "%d", k % 3);
		ts += (uint64_t)(rand() % 1000) * 1000000ull;
		dedup_expire(d, ts);
		if (k < 15)
			written_now += (uint64_t)see(q, q, data, 60, ts, 0, 0);
		else
			written_now += (uint64_t)see(q, NULL, NULL, 0, ts, (uint16_t)(k % 2 ? 3 : 0), 0);
	}
	dedup_flush(d);
	uint64_t sum = written_now;
	for (int i = 0; i < n_out; i++) {
		ck_assert_int_eq(out[i].flags, TXN_F_DEDUP_FLUSH);
		sum += out[i].count;
	}
	ck_assert_uint_eq(sum, sightings);
	ck_assert_uint_gt(dedup_stats(d)->evicted, 0);
	ck_assert_uint_gt(dedup_stats(d)->hits, 0);
	ck_assert_uint_eq(dedup_stats(d)->entries, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dedup");
	TCase *tc = tcase_create("cache");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, first_written_repeats_counted_window_flushes);
	tcase_add_test(tc, window_without_repeats_writes_nothing_more);
	tcase_add_test(tc, sighting_at_window_end_opens_a_new_window);
	tcase_add_test(tc, names_fold_case_rdata_does_not);
	tcase_add_test(tc, no_answer_key_includes_rcode_and_unanswered);
	tcase_add_test(tc, full_cache_closes_the_oldest_window);
	tcase_add_test(tc, window_closed_out_of_order_slot_reused);
	tcase_add_test(tc, keys_longer_than_a_slot_holds);
	tcase_add_test(tc, keys_on_both_sides_of_the_slot_size);
	tcase_add_test(tc, long_records_bypass_the_cache);
	tcase_add_loop_test(tc, counts_add_up_to_sightings, 0, 5);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
