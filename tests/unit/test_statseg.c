/*
 * test_statseg.c - the counters segment (common/statseg.c): the largest
 * stage (logd with every sink it allows) fits whole, values read back
 * through the reader's mapping, and a table that does not fit is refused
 * as a whole instead of leaving a silent gap.
 */
#include "common/statseg.h"
#include "logd/cli.h"
#include "logd/loop.h"
#include "logd/sink.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/dnstrail-statseg.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char p[128];
	snprintf(p, sizeof p, "%s/logd.stats", dir);
	unlink(p);
	rmdir(dir);
}

START_TEST(logd_with_every_sink_fits)
{
	char err[256], path[128];
	struct statseg *s = statseg_open(dir, "logd", err, sizeof err);
	ck_assert_msg(s != NULL, "%s", err);
	static struct logd_stats lst;
	static struct sink_stats sst[LOGD_MAX_SINKS];
	lst.records_read = 7;
	ck_assert_int_eq(statseg_add(s, &lst, logd_stat_desc, logd_stat_count), 0);
	for (unsigned i = 0; i < LOGD_MAX_SINKS; i++) {
		sst[i].acks = 1000 + i; /* the last counter of the table */
		ck_assert_int_eq(statseg_add(s, &sst[i], sink_stat_desc, sink_stat_count), 0);
	}
	statseg_update(s);

	snprintf(path, sizeof path, "%s/logd.stats", dir);
	const struct statseg_hdr *h = statseg_map(path, err, sizeof err);
	ck_assert_msg(h != NULL, "%s", err);
	ck_assert_uint_eq(h->count, logd_stat_count + LOGD_MAX_SINKS * sink_stat_count);
	ck_assert_str_eq(h->e[0].name, logd_stat_desc[0].name);
	ck_assert_uint_eq(h->e[0].value, 7);
	size_t acks = 0;
	while (strcmp(sink_stat_desc[acks].name, "acks"))
		acks++;
	for (unsigned i = 0; i < LOGD_MAX_SINKS; i++)
		ck_assert_uint_eq(h->e[logd_stat_count + i * sink_stat_count + acks].value, 1000 + i);

	/* One more table of the same size no longer fits: refused whole. */
	uint32_t before = h->count;
	static uint64_t big[STATSEG_MAX];
	static struct stat_desc bigd[STATSEG_MAX];
	size_t room = STATSEG_MAX - before;
	for (size_t i = 0; i <= room; i++)
		bigd[i] = (struct stat_desc){ "filler", i * sizeof big[0], "filler", 0 };
	ck_assert_int_eq(statseg_add(s, big, bigd, room + 1), -1);
	ck_assert_uint_eq(h->count, before);
	/* Exactly the room left still fits. */
	ck_assert_int_eq(statseg_add(s, big, bigd, room), 0);
	ck_assert_uint_eq(h->count, STATSEG_MAX);
	statseg_unmap(h);
	statseg_close(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("statseg");
	TCase *tc = tcase_create("statseg");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, logd_with_every_sink_fits);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
