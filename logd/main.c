/*
 * dnstrail-logd - the last stage: reads transactions from the log ring and
 * writes them to its sinks (files, stdout) from one io_uring loop.
 *
 * main only wires things: options, privileges, signals, open, loop, exit.
 * The only global state is the signal flags.
 */
#include "cli.h"
#include "log.h"
#include "loop.h"
#include "priv.h"
#include "stats.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t sig_stop, sig_hup, sig_usr1;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		sig_hup = 1;
	else if (sig == SIGUSR1)
		sig_usr1 = 1;
	else
		sig_stop = 1;
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a signal must cut the loop's waits short. */
	int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
	/* A closed stdout pipe is a sink error (EPIPE), not a reason to die. */
	signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
	log_init("dnstrail-logd");
	static struct logd_config cfg;
	cli_parse(&cfg, argc, argv);
	if (cfg.check_only)
		return 0;
	/* Only capd ever holds root: the launcher has created the ring
	 * directory and the sink files for --user already. */
	priv_settle(cfg.user, cfg.allow_root);
	install_signals();

	static struct logd L;
	static const struct logd_signals sigs = { &sig_stop, &sig_hup, &sig_usr1 };
	logd_open(&L, &cfg, &sigs);
	int rc = logd_run(&L);
	logd_log_stats(&L);
	stats_log_rusage();
	logd_close(&L);
	return rc;
}
