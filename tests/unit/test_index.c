/*
 * test_index.c - correlated's open-addressing index (correlated/index.c)
 * against a plain array of what was inserted: every entry is found under
 * its hash, removed entries are not, and runs of equal and neighbouring
 * hashes survive backward-shift deletion, through growth from 1024 slots
 * to 2^20 and back down to no entry.
 */
#include "../../correlated/index.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#define N 300000 /* grows the array to 2^20 slots */

/* Whether entry e is among the candidates for hash h. */
static int found(const struct index *ix, uint64_t h, const void *e)
{
	uint64_t pos = UINT64_MAX;
	void *c;
	while ((c = index_next(ix, h, &pos)))
		if (c == e)
			return 1;
	return 0;
}

START_TEST(insert_find_remove_through_growth)
{
	static uint64_t hash[N];
	static char entry[N];
	static int present[N];
	struct index ix;
	ck_assert_int_eq(index_init(&ix, 16), 0);
	uint64_t x = 0x853c49e6748fea9bull;
	for (int i = 0; i < N; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		/* every 8th shares its hash with the one before, every 5th sits
		 * in the next slot: long runs for the deletion to shift */
		hash[i] = i % 8 == 7 ? hash[i - 1] : i % 5 == 4 ? hash[i - 1] + 1 : x;
		ck_assert_int_eq(index_insert(&ix, hash[i], &entry[i]), 0);
		present[i] = 1;
	}
	ck_assert_uint_eq(ix.count, N);
	ck_assert_uint_ge(index_bytes(&ix), (size_t)2 * N * sizeof(struct index_slot));
	for (int i = 0; i < N; i++)
		if (!found(&ix, hash[i], &entry[i]))
			ck_abort_msg("entry %d not found after inserting all", i);
	/* remove two thirds, in an order unrelated to insertion */
	for (int k = 0; k < N; k++) {
		int i = (int)(((uint64_t)k * 7919) % N);
		if (i % 3)
			continue;
		index_remove(&ix, hash[i], &entry[i]);
		present[i] = 0;
	}
	for (int i = 0; i < N; i++)
		if (found(&ix, hash[i], &entry[i]) != present[i])
			ck_abort_msg("entry %d: found %d, should be %d", i, !present[i], present[i]);
	for (int i = 0; i < N; i++)
		if (present[i])
			index_remove(&ix, hash[i], &entry[i]);
	ck_assert_uint_eq(ix.count, 0);
	for (uint64_t s = 0; s <= ix.mask; s++)
		ck_assert_ptr_null(ix.slots[s].entry);
	/* index_clear empties it at once, and it works on afterwards */
	for (int i = 0; i < N; i += 2)
		ck_assert_int_eq(index_insert(&ix, hash[i], &entry[i]), 0);
	index_clear(&ix);
	ck_assert_uint_eq(ix.count, 0);
	for (int i = 0; i < N; i += 2)
		if (found(&ix, hash[i], &entry[i]))
			ck_abort_msg("entry %d found after index_clear", i);
	ck_assert_int_eq(index_insert(&ix, hash[1], &entry[1]), 0);
	ck_assert(found(&ix, hash[1], &entry[1]));
	index_free(&ix);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("index");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, insert_find_remove_through_growth);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
