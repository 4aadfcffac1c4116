/*
 * config.h - the configuration file, read by the launcher and every stage.
 *
 * Format (documented in dnstrail.conf.example):
 *
 *   # comment
 *   [dnstrail]              <- the launcher; [capd] [decoded] [correlated] [logd] [ctl]
 *   decoders = 2            <- every command-line option of that program, without "--"
 *   sink = file:/var/log/dnstrail/dns.jsonl
 *   sink = stdout           <- repeatable options may repeat
 *   allow-root = yes        <- flags take yes/no (or true/false, 1/0)
 *
 * [dnstrail] holds the settings of the whole instance: the launcher's own,
 * and any option of a stage by the same name (run-dir, ports, dedup, sink
 * ...), which that stage takes from there.  A stage's own section comes
 * after [dnstrail] and overrides it.  The file's settings are applied as if
 * given first on the command line, so the command line overrides them; for
 * a repeatable option, any occurrence on the command line replaces all of
 * the file's (sink lines of [dnstrail] and [logd] add up).  The file is strict: an unknown section or key, a flag
 * with a value other than yes/no, a missing value, or a value the option
 * refuses stops start-up with "FILE:LINE: message" and exit code 2.
 */
#ifndef DNSTRAIL_CONFIG_H
#define DNSTRAIL_CONFIG_H

#include <getopt.h>

#define DNSTRAIL_CONFIG "/etc/dnstrail/dnstrail.conf"

/*
 * Find --config in argv (default DNSTRAIL_CONFIG when it exists), read
 * [dnstrail] and the section of that name, and replace argc and argv with the file's options
 * followed by the original ones (without --config).  Options with has_arg ==
 * no_argument are flags; `repeatable` names the options that may appear more
 * than once ("sink\0in\0" style: NUL-separated, empty-terminated; NULL for
 * none).  Dies (exit 2) on any error.
 */
void config_apply(const char *section, const struct option *longopts, const char *repeatable,
		  int *argc, char ***argv);

/* When the option at argv index idx came from the file, "FILE:LINE"; else
 * NULL.  opt_fail() and the unknown-option message use it. */
const char *config_origin(int idx);

#endif
