/*
 * pcap_floor - the floor for `make bench`: how fast libpcap alone reads a
 * capture (every frame handed to a callback that only counts it).
 *
 *   pcap_floor FILE [RUNS]   prints "frames N seconds S rate R" per run
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void count(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	(void)h;
	(void)bytes;
	++*(unsigned long long *)user;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: pcap_floor FILE [RUNS]\n");
		return 1;
	}
	int runs = argc > 2 ? atoi(argv[2]) : 1;
	for (int r = 0; r < runs; r++) {
		char err[PCAP_ERRBUF_SIZE];
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		pcap_t *p = pcap_open_offline_with_tstamp_precision(argv[1], PCAP_TSTAMP_PRECISION_NANO, err);
		if (!p) {
			fprintf(stderr, "pcap_floor: %s\n", err);
			return 1;
		}
		unsigned long long n = 0;
		while (pcap_dispatch(p, 4096, count, (u_char *)&n) > 0)
			;
		pcap_close(p);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		printf("frames %llu seconds %.3f rate %.0f\n", n, s, (double)n / s);
	}
	return 0;
}
