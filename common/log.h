/*
 * log.h - one-line diagnostics on stderr, prefixed with the program name.
 *
 * Every message a user sees says what failed and, where there is one, what
 * to do about it.  Exit codes used across dnstrail: 0 done, 1 runtime
 * failure, 2 bad usage or configuration (options, config file), 3 a ring or
 * input that is corrupt or foreign.
 */
#ifndef DNSTRAIL_LOG_H
#define DNSTRAIL_LOG_H

#include <stdnoreturn.h>

enum { EXIT_USAGE = 2, EXIT_CORRUPT = 3 };

void log_init(const char *prog);
const char *log_prog(void);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
