/*
 * config.c - reading the configuration file into command-line options (see
 * config.h for the format and the rules).
 *
 * Turning the file into options keeps one path for validation: every value
 * is checked by the same code whether it came from the file or the command
 * line, and only the error message differs (it names FILE:LINE).
 */
#include "config.h"

#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FILE_ARGS 512
#define MAX_LINE 4096

static const char *const sections[] = { "dnstrail", "capd", "decoded", "correlated", "logd", "ctl" };

/* Per process: where each option taken from the file came from. */
static char *origin_of[MAX_FILE_ARGS + 1];
static int file_args;
/* The argument vector with the file's settings: it lives as long as the
 * process, and stays reachable from here (for the leak checker). */
static char **volatile config_argv; /* volatile: a store never read must stay */

const char *config_origin(int idx)
{
	return idx >= 1 && idx <= file_args ? origin_of[idx] : NULL;
}

static int in_list(const char *list, const char *name)
{
	for (const char *p = list; p && *p; p += strlen(p) + 1)
		if (!strcmp(p, name))
			return 1;
	return 0;
}

static int on_command_line(int argc, char **argv, const char *name)
{
	size_t n = strlen(name);
	for (int i = 1; i < argc; i++)
		if (!strncmp(argv[i], "--", 2) && !strncmp(argv[i] + 2, name, n) &&
		    (argv[i][2 + n] == 0 || argv[i][2 + n] == '='))
			return 1;
	return 0;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	char *e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = 0;
	return s;
}

/* A value in double quotes may hold any text; \" and \\ are its escapes. */
static int unquote(char *v)
{
	size_t n = strlen(v);
	if (n == 0 || v[0] != '"')
		return 0;
	if (n < 2 || v[n - 1] != '"')
		return -1;
	char *o = v;
	for (char *p = v + 1; p < v + n - 1; p++) {
		if (*p == '\\' && p + 1 < v + n - 1 && (p[1] == '"' || p[1] == '\\'))
			p++;
		*o++ = *p;
	}
	*o = 0;
	return 0;
}

static int parse_bool(const char *v, int *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
		*out = 1;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
		*out = 0;
	else
		return -1;
	return 0;
}

/* Remove --config PATH / --config=PATH from argv; returns PATH or NULL. */
static const char *take_config_arg(int *argc, char **argv)
{
	const char *path = NULL;
	int o = 1;
	for (int i = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "--")) {
			while (i < *argc)
				argv[o++] = argv[i++];
			break;
		}
		if (!strcmp(argv[i], "--config")) {
			if (i + 1 >= *argc)
				die(EXIT_USAGE, "option --config needs a value (see --help)");
			path = argv[++i];
		} else if (!strncmp(argv[i], "--config=", 9)) {
			path = argv[i] + 9;
		} else {
			argv[o++] = argv[i];
		}
	}
	*argc = o;
	argv[o] = NULL;
	return path;
}

void config_apply(const char *section, const struct option *longopts, const char *repeatable,
		  int *argc, char ***argvp)
{
	char **argv = *argvp;
	const char *path = take_config_arg(argc, argv);
	if (!path) {
		if (access(DNSTRAIL_CONFIG, F_OK) != 0)
			return;
		path = DNSTRAIL_CONFIG;
	}
	FILE *f = fopen(path, "r");
	if (!f)
		die(EXIT_USAGE, "cannot read configuration %s: %s", path, strerror(errno));

	char **extra = calloc(MAX_FILE_ARGS + 1, sizeof *extra);
	int n = 0;
	/* Per option index: line of its first occurrence, in [dnstrail] and in
	 * the program's own section. */
	int first_line[64] = { 0 }, own_line[64] = { 0 };
	char line[MAX_LINE + 2];
	char cur[32] = "";
	int lineno = 0, seen_section = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		if (strlen(line) > MAX_LINE)
			die(EXIT_USAGE, "%s:%d: line longer than %d bytes", path, lineno, MAX_LINE);
		char *s = trim(line);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *e = strchr(s, ']');
			if (!e || *trim(e + 1))
				die(EXIT_USAGE, "%s:%d: bad section header (expected [name])", path, lineno);
			*e = 0;
			char *name = trim(s + 1);
			size_t k;
			for (k = 0; k < sizeof sections / sizeof sections[0]; k++)
				if (!strcmp(name, sections[k]))
					break;
			if (k == sizeof sections / sizeof sections[0])
				die(EXIT_USAGE, "%s:%d: unknown section [%s] (sections: dnstrail, capd, "
						"decoded, correlated, logd, ctl)", path, lineno, name);
			snprintf(cur, sizeof cur, "%s", name);
			seen_section = 1;
			continue;
		}
		char *eq = strchr(s, '=');
		if (!eq)
			die(EXIT_USAGE, "%s:%d: expected 'key = value' or [section]", path, lineno);
		if (!seen_section)
			die(EXIT_USAGE, "%s:%d: setting outside any [section]", path, lineno);
		*eq = 0;
		char *key = trim(s), *val = trim(eq + 1);
		/* [dnstrail] is shared: a stage takes the keys it has an option
		 * for (the launcher checks that every key there means something). */
		int shared = !strcmp(cur, "dnstrail") && strcmp(section, "dnstrail");
		if (!shared && strcmp(cur, section) != 0)
			continue; /* another program's section: it checks its own */
		if (unquote(val) < 0)
			die(EXIT_USAGE, "%s:%d: unterminated quoted value", path, lineno);
		int oi = -1;
		for (int i = 0; longopts[i].name; i++)
			if (!strcmp(longopts[i].name, key)) {
				oi = i;
				break;
			}
		if (!strcmp(key, "config") || !strcmp(key, "help") || !strcmp(key, "version"))
			oi = -1;
		if (oi < 0 && shared)
			continue;
		if (oi < 0)
			die(EXIT_USAGE, "%s:%d: unknown key '%s' in [%s] (see %s --help)", path, lineno,
			    key, section, log_prog());
		if (in_list(repeatable, key)) {
			if (on_command_line(*argc, argv, key))
				continue; /* the command line's occurrences replace the file's */
		} else if (oi < 64) {
			/* Twice in one section is a mistake; a stage's own section
			 * may override [dnstrail] (it comes later: the last wins). */
			int *seen = shared ? &first_line[oi] : &own_line[oi];
			if (*seen)
				die(EXIT_USAGE, "%s:%d: '%s' is already set at line %d", path, lineno, key,
				    *seen);
			*seen = lineno;
		}
		if (n + 2 > MAX_FILE_ARGS)
			die(EXIT_USAGE, "%s:%d: too many settings (at most %d)", path, lineno,
			    MAX_FILE_ARGS / 2);
		char where[300];
		snprintf(where, sizeof where, "%s:%d", path, lineno);
		char opt[128];
		snprintf(opt, sizeof opt, "--%s", key);
		if (longopts[oi].has_arg == no_argument) {
			int on;
			if (parse_bool(val, &on) < 0)
				die(EXIT_USAGE, "%s: '%s' is a yes/no setting, not '%s'", where, key, val);
			if (!on)
				continue;
			extra[n] = strdup(opt);
			origin_of[n + 1] = strdup(where);
			n++;
		} else {
			if (!*val)
				die(EXIT_USAGE, "%s: '%s' needs a value", where, key);
			extra[n] = strdup(opt);
			extra[n + 1] = strdup(val);
			origin_of[n + 1] = strdup(where);
			origin_of[n + 2] = strdup(where);
			n += 2;
		}
	}
	if (ferror(f))
		die(EXIT_USAGE, "cannot read configuration %s: %s", path, strerror(errno));
	fclose(f);

	char **nargv = calloc((size_t)(*argc + n + 1), sizeof *nargv);
	if (!nargv)
		die(1, "out of memory reading configuration %s", path);
	config_argv = nargv;
	nargv[0] = argv[0];
	for (int i = 0; i < n; i++)
		nargv[1 + i] = extra[i];
	for (int i = 1; i < *argc; i++)
		nargv[n + i] = argv[i];
	*argc += n;
	nargv[*argc] = NULL;
	*argvp = nargv;
	file_args = n;
	free(extra);
}
