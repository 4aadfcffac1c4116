/*
 * dump.h - printing a ring's records as an observer (dnstrail-ctl dump).
 */
#ifndef DNSTRAIL_CTL_DUMP_H
#define DNSTRAIL_CTL_DUMP_H

#include <stdint.h>
#include <stdio.h>

/* Print up to max_records from the consumer's tail on; with follow, keep
 * printing new records as they are published.  Returns an exit code. */
int dump_ring(const char *path, uint64_t max_records, int follow, FILE *f);

#endif
