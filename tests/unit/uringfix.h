/*
 * uringfix.h - the fixture the logd sink tests share: a fresh io_uring
 * and an empty scratch directory per test, both gone after it.
 * Included by one test program each, so its statics are that program's.
 */
#ifndef DNSTRAIL_TESTS_URINGFIX_H
#define DNSTRAIL_TESTS_URINGFIX_H

#include <check.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>

static struct io_uring ring;
static char dir[64];

/* entries: the ring's queue depth; name: the scratch directory's prefix */
static void uringfix_setup(unsigned entries, const char *name)
{
	ck_assert_int_eq(io_uring_queue_init(entries, &ring, 0), 0);
	snprintf(dir, sizeof dir, "/tmp/%s.XXXXXX", name);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void uringfix_teardown(void)
{
	io_uring_queue_exit(&ring);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

#endif
