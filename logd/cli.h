/*
 * cli.h - dnstrail-logd's command line.  cli_parse() either fills a
 * complete, validated configuration or exits: 0 for --help/--version, 2
 * with one line on stderr for anything it cannot accept.
 */
#ifndef DNSTRAIL_LOGD_CLI_H
#define DNSTRAIL_LOGD_CLI_H

#include "opt.h"
#include "format.h"
#include "sinks.h"

#include <stdint.h>

#define LOGD_MAX_SINKS 16
#define LOGD_RUN_DIR DNSTRAIL_RUN_DIR

struct logd_config {
	const char *in; /* as given */
	char ring_path[256]; /* resolved: --in, or --run-dir/--in for a bare name */
	const char *run_dir;
	uint64_t ring_size;
	enum logd_format format;
	const char *sensor;
	const char *user;
	int allow_root;
	int check_only; /* --check-options: validate and exit */
	uint64_t max_output;
	struct sink_spec sinks[LOGD_MAX_SINKS];
	unsigned nsinks;
};

void cli_parse(struct logd_config *c, int argc, char **argv);

#endif
