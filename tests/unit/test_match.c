/*
 * test_match.c - the pending-query table on its own (correlated/match.c):
 * pairing rules, time boundaries, reordering, retransmissions, eviction.
 */
#include "correlated/match.h"
#include "msgfix.h"

#include <check.h>
#include <stdlib.h>

#define MS 1000000ull
#define SEC 1000000000ull

struct seen {
	uint8_t kind, flags;
	uint64_t query_ts, msg_ts;
	uint16_t id, cport;
	int qr;
};

static struct seen got[64];
static int n_got;

static void collect(void *ctx, const struct txn_event *ev)
{
	(void)ctx;
	ck_assert_int_lt(n_got, 64);
	const char *why;
	ck_assert_int_eq(rec_msg_check(ev->msg, ev->msg_len, &why), 0);
	got[n_got++] = (struct seen){ ev->kind, ev->flags, ev->query_ts_ns, ev->msg->ts_ns,
				      ev->msg->id,
				      DNS_QR(ev->msg->hflags) ? ev->msg->dport : ev->msg->sport,
				      DNS_QR(ev->msg->hflags) };
}

static struct match *mt;
static struct match_config cfg;

static void setup(void)
{
	n_got = 0;
	cfg = (struct match_config){ .timeout_ns = 5 * SEC, .reorder_ns = 10 * MS,
				     .max_pending = 1000, .log_unanswered = 1 };
	mt = match_new(&cfg, collect, NULL);
}

static void teardown(void)
{
	match_free(mt);
}

static void feed(int qr, uint16_t id, uint16_t cport, const char *qname, uint64_t ts)
{
	struct msgfix f;
	const struct rec_msg *m = msgfix_build(&f, &(struct msgfix_spec){
		.qr = qr, .id = id, .cli = "10.0.0.1", .cport = cport, .srv = "10.0.0.53",
		.qname = qname, .qtype = 1, .ts = ts });
	match_message(mt, m, f.len, 0, 0);
}

START_TEST(query_then_response_is_answered)
{
	feed(0, 7, 1000, "example.com", 1 * SEC);
	feed(1, 7, 1000, "example.com", 1 * SEC + 3 * MS);
	ck_assert_int_eq(n_got, 1);
	ck_assert_int_eq(got[0].kind, TXN_ANSWERED);
	ck_assert_uint_eq(got[0].query_ts, 1 * SEC);
	ck_assert_uint_eq(got[0].msg_ts, 1 * SEC + 3 * MS);
	ck_assert_int_eq(got[0].qr, 1);
	ck_assert_uint_eq(match_stats(mt)->pending, 0);
}
END_TEST

START_TEST(id_reuse_on_another_port)
{
	feed(0, 5, 1000, "a.example", 1 * SEC);
	feed(0, 5, 1001, "a.example", 1 * SEC + 1);
	feed(1, 5, 1001, "a.example", 1 * SEC + 2 * MS);
	ck_assert_int_eq(n_got, 1);
	ck_assert_int_eq(got[0].kind, TXN_ANSWERED);
	ck_assert_uint_eq(got[0].cport, 1001);
	ck_assert_uint_eq(got[0].query_ts, 1 * SEC + 1);
	match_expire(mt, 6 * SEC + 1);
	ck_assert_int_eq(n_got, 2);
	ck_assert_int_eq(got[1].kind, TXN_UNANSWERED);
	ck_assert_uint_eq(got[1].cport, 1000);
}
END_TEST

START_TEST(same_id_different_question)
{
	feed(0, 9, 1000, "a.example", 1 * SEC);
	feed(1, 9, 1000, "b.example", 1 * SEC + 1 * MS);
	ck_assert_int_eq(n_got, 0); /* held for the reorder window */
	match_expire(mt, 1 * SEC + 12 * MS);
	ck_assert_int_eq(n_got, 1);
	ck_assert_int_eq(got[0].kind, TXN_RESPONSE_ONLY);
	match_flush(mt);
	ck_assert_int_eq(n_got, 2);
	ck_assert_int_eq(got[1].kind, TXN_UNANSWERED);
	ck_assert_uint_eq(match_stats(mt)->answered, 0);
}
END_TEST

START_TEST(name_matches_case_insensitively)
{
	feed(0, 1, 1000, "Example.COM", 1 * SEC);
	feed(1, 1, 1000, "example.com", 1 * SEC + 1 * MS);
	ck_assert_int_eq(n_got, 1);
	ck_assert_int_eq(got[0].kind, TXN_ANSWERED);
}
END_TEST

START_TEST(transport_is_part_of_the_key)
{
	struct msgfix f;
	const struct rec_msg *q = msgfix_build(&f, &(struct msgfix_spec){
		.qr = 0, .id = 3, .cli = "2001:db8::1", .cport = 5000, .srv = "2001:db8::53",
		.qname = "x.example", .ts = 1 * SEC, .transport = 6 });
	match_message(mt, q, f.len, 0, 0);
	const struct rec_msg *r = msgfix_build(&f, &(struct msgfix_spec){
		.qr = 1, .id = 3, .cli = "2001:db8::1", .cport = 5000, .srv = "2001:db8::53",
		.qname = "x.example", .ts = 1 * SEC + MS, .transport = 17 });
	match_message(mt, r, f.len, 0, 0);
	match_flush(mt);
	ck_assert_int_eq(n_got, 2);
	ck_assert_int_eq(got[0].kind, TXN_RESPONSE_ONLY);
	ck_assert_int_eq(got[1].kind, TXN_UNANSWERED);
}
END_TEST

START_TEST(response_before_query_within_window)
{
	feed(1, 4, 1000, "r.example", 2 * SEC);
	feed(0, 4, 1000, "r.example", 2 * SEC + 2 * MS);
	ck_assert_int_eq(n_got, 1);
	ck_assert_int_eq(got[0].kind, TXN_ANSWERED);
	ck_assert_uint_eq(got[0].query_ts, 2 * SEC + 2 * MS);
	ck_assert_uint_eq(got[0].msg_ts, 2 * SEC); /* the emitter clamps elapsed to 0 */
	ck_assert_uint_eq(match_stats(mt)->reordered, 1);
	ck_assert_uint_eq(match_stats(mt)->held, 0);
	ck_assert_uint_eq(match_stats(mt)->pending, 0);
}
END_TEST

START_TEST(response_before_query_beyond_window)
{
	feed(1, 4, 1000, "r.example", 2 * SEC);
	match_expire(mt, 2 * SEC + 10 * MS); /* exactly the window: still held */
	ck_assert_int_eq(n_got, 0);
	match_expire(mt, 2 * SEC + 10 * MS + 1);
	ck_assert_int_eq(n_got, 1);
	ck_assert_int_eq(got[0].kind, TXN_RESPONSE_ONLY);
	feed(0, 4, 1000, "r.example", 2 * SEC + 11 * MS);
	ck_assert_uint_eq(match_stats(mt)->pending, 1);
}
END_TEST

START_TEST(response_at_exactly_the_timeout_is_answered)
{
	feed(0, 2, 1000, "t.example", 10 * SEC);
	match_expire(mt, 15 * SEC); /* now - ts == timeout: not yet given up */
	ck_assert_int_eq(n_got, 0);
	feed(1, 2, 1000, "t.example", 15 * SEC);
	ck_assert_int_eq(n_got, 1);
	ck_assert_int_eq(got[0].kind, TXN_ANSWERED);
}
END_TEST

START_TEST(response_after_the_timeout_is_late)
{
	feed(0, 2, 1000, "t.example", 10 * SEC);
	feed(1, 2, 1000, "t.example", 15 * SEC + 1);
	ck_assert_int_eq(n_got, 2);
	ck_assert_int_eq(got[0].kind, TXN_UNANSWERED);
	ck_assert_int_eq(got[1].kind, TXN_RESPONSE_ONLY);
	ck_assert_uint_eq(match_stats(mt)->late_responses, 1);
}
END_TEST

START_TEST(expiry_just_past_the_timeout)
{
	feed(0, 2, 1000, "t.example", 10 * SEC);
	match_expire(mt, 15 * SEC + 1);
	ck_assert_int_eq(n_got, 1);
	ck_assert_int_eq(got[0].kind, TXN_UNANSWERED);
	ck_assert_int_eq(got[0].flags, 0);
	feed(1, 2, 1000, "t.example", 15 * SEC + 2);
	match_expire(mt, 16 * SEC);
	ck_assert_int_eq(n_got, 2);
	ck_assert_int_eq(got[1].kind, TXN_RESPONSE_ONLY);
}
END_TEST

START_TEST(retransmission_keeps_one_entry)
{
	feed(0, 6, 1000, "rt.example", 1 * SEC);
	feed(0, 6, 1000, "rt.example", 2 * SEC);
	ck_assert_uint_eq(match_stats(mt)->pending, 1);
	ck_assert_uint_eq(match_stats(mt)->retransmissions, 1);
	feed(1, 6, 1000, "rt.example", 2 * SEC + 5 * MS);
	ck_assert_int_eq(n_got, 1);
	ck_assert_int_eq(got[0].kind, TXN_ANSWERED);
	ck_assert_uint_eq(got[0].query_ts, 1 * SEC);
}
END_TEST

START_TEST(duplicate_response_logged_once_each)
{
	feed(0, 8, 1000, "d.example", 1 * SEC);
	feed(1, 8, 1000, "d.example", 1 * SEC + MS);
	feed(1, 8, 1000, "d.example", 1 * SEC + 2 * MS);
	match_flush(mt);
	ck_assert_int_eq(n_got, 2);
	ck_assert_int_eq(got[0].kind, TXN_ANSWERED);
	ck_assert_int_eq(got[1].kind, TXN_RESPONSE_ONLY);
	ck_assert_uint_eq(got[1].msg_ts, 1 * SEC + 2 * MS);
}
END_TEST

START_TEST(eviction_oldest_first_and_counted)
{
	match_free(mt);
	cfg.max_pending = 3;
	mt = match_new(&cfg, collect, NULL);
	for (int i = 0; i < 5; i++)
		feed(0, (uint16_t)i, 1000, "e.example", (uint64_t)(i + 1) * SEC);
	ck_assert_int_eq(n_got, 2);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(got[i].kind, TXN_UNANSWERED);
		ck_assert_int_eq(got[i].flags, TXN_F_EVICTED);
		ck_assert_uint_eq(got[i].id, i);
	}
	ck_assert_uint_eq(match_stats(mt)->evicted, 2);
	ck_assert_uint_eq(match_stats(mt)->pending, 3);
	feed(1, 4, 1000, "e.example", 5 * SEC + MS);
	ck_assert_int_eq(got[2].kind, TXN_ANSWERED);
}
END_TEST

START_TEST(no_unanswered_counts_without_logging)
{
	match_free(mt);
	cfg.log_unanswered = 0;
	mt = match_new(&cfg, collect, NULL);
	feed(0, 1, 1000, "n.example", 1 * SEC);
	match_expire(mt, 10 * SEC);
	ck_assert_int_eq(n_got, 0);
	ck_assert_uint_eq(match_stats(mt)->unanswered, 1);
}
END_TEST

START_TEST(flush_releases_everything)
{
	feed(0, 1, 1000, "f.example", 1 * SEC);
	feed(0, 2, 1000, "f.example", 1 * SEC);
	feed(1, 3, 1000, "f.example", 1 * SEC);
	match_flush(mt);
	ck_assert_int_eq(n_got, 3);
	ck_assert_int_eq(got[0].kind, TXN_RESPONSE_ONLY);
	ck_assert_int_eq(got[1].kind, TXN_UNANSWERED);
	ck_assert_int_eq(got[2].kind, TXN_UNANSWERED);
	ck_assert_uint_eq(match_stats(mt)->pending + match_stats(mt)->held, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("match");
	TCase *tc = tcase_create("rules");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, query_then_response_is_answered);
	tcase_add_test(tc, id_reuse_on_another_port);
	tcase_add_test(tc, same_id_different_question);
	tcase_add_test(tc, name_matches_case_insensitively);
	tcase_add_test(tc, transport_is_part_of_the_key);
	tcase_add_test(tc, response_before_query_within_window);
	tcase_add_test(tc, response_before_query_beyond_window);
	tcase_add_test(tc, response_at_exactly_the_timeout_is_answered);
	tcase_add_test(tc, response_after_the_timeout_is_late);
	tcase_add_test(tc, expiry_just_past_the_timeout);
	tcase_add_test(tc, retransmission_keeps_one_entry);
	tcase_add_test(tc, duplicate_response_logged_once_each);
	tcase_add_test(tc, eviction_oldest_first_and_counted);
	tcase_add_test(tc, no_unanswered_counts_without_logging);
	tcase_add_test(tc, flush_releases_everything);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
