/*
 * pcap_pace - replay a capture onto an interface at a steady packet rate,
 * for the live benchmark (scripts/bench_live.sh).
 *
 *   pcap_pace IFACE RATE SECONDS FILE
 *
 * Sends FILE's frames in order, looped, at RATE packets/s for SECONDS (or
 * as fast as it can, when that is slower: it stops at SECONDS), then prints one line on stdout: "sent=N seconds=S rate=R failed=F" (R: what
 * was achieved; F: frames the kernel refused, which are not retried).
 *
 * Why not tcpreplay: here it tops out near 290k packets/s with nothing
 * capturing, one sendto() per packet.  This sends batches of up to BATCH
 * frames per sendmmsg() on an AF_PACKET socket that bypasses the qdisc, so
 * the sender's own cost is mostly the veth's, which the receiving side pays
 * too.  Pacing: at each wake-up it sends what the clock says is due (at
 * most BATCH at a time), then sleeps until the next frame is due; the rate
 * over any millisecond stays within one batch of RATE.
 *
 * The whole capture is read into memory first (its size bounds that), so
 * reading it never limits the rate.  Needs CAP_NET_RAW.
 */
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

struct frames {
	uint8_t *bytes;
	size_t *off; /* frame i is bytes[off[i] .. off[i + 1]) */
	size_t n, cap_frames, cap_bytes, len;
};

static int load(const char *path, struct frames *f)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, err);
	if (!p) {
		fprintf(stderr, "pcap_pace: %s\n", err);
		return -1;
	}
	if (pcap_datalink(p) != DLT_EN10MB) {
		fprintf(stderr, "pcap_pace: %s: not an Ethernet capture\n", path);
		pcap_close(p);
		return -1;
	}
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc;
	f->off = malloc(sizeof *f->off);
	if (!f->off)
		goto nomem;
	f->off[0] = 0;
	while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
		if (f->n + 2 > f->cap_frames) {
			f->cap_frames = f->cap_frames ? 2 * f->cap_frames : 4096;
			size_t *o = realloc(f->off, f->cap_frames * sizeof *o);
			if (!o)
				goto nomem;
			f->off = o;
		}
		if (f->len + h->caplen > f->cap_bytes) {
			f->cap_bytes = f->cap_bytes ? 2 * f->cap_bytes : 1 << 20;
			uint8_t *b = realloc(f->bytes, f->cap_bytes);
			if (!b)
				goto nomem;
			f->bytes = b;
		}
		memcpy(f->bytes + f->len, data, h->caplen);
		f->len += h->caplen;
		f->off[++f->n] = f->len;
	}
	if (rc == -1)
		fprintf(stderr, "pcap_pace: %s: %s (replaying the %zu frames before it)\n", path,
			pcap_geterr(p), f->n);
	pcap_close(p);
	if (!f->n) {
		fprintf(stderr, "pcap_pace: %s holds no frame\n", path);
		return -1;
	}
	return 0;
nomem:
	fprintf(stderr, "pcap_pace: out of memory reading %s\n", path);
	pcap_close(p);
	return -1;
}

static double since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: pcap_pace IFACE RATE SECONDS FILE\n");
		return 2;
	}
	double rate = atof(argv[2]), seconds = atof(argv[3]);
	unsigned ifindex = if_nametoindex(argv[1]);
	if (rate <= 0 || seconds <= 0 || !ifindex) {
		fprintf(stderr, "pcap_pace: need an interface, a rate > 0 and seconds > 0\n");
		return 2;
	}
	struct frames f = { 0 };
	if (load(argv[4], &f) < 0)
		return 1;
	int fd = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: this socket receives nothing */
	int one = 1;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = (int)ifindex };
	if (fd < 0 || bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
		fprintf(stderr, "pcap_pace: AF_PACKET socket on %s: %s (needs CAP_NET_RAW)\n", argv[1],
			strerror(errno));
		return 1;
	}
	if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0)
		fprintf(stderr, "pcap_pace: PACKET_QDISC_BYPASS: %s (sending through the qdisc)\n",
			strerror(errno));

	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	memset(msgs, 0, sizeof msgs);
	for (int i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	uint64_t total = (uint64_t)(rate * seconds), sent = 0, failed = 0;
	size_t next = 0;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (double now; sent + failed < total && (now = since(&t0)) < seconds;) {
		/* Behind the clock (the sender's ceiling), it sends flat out. */
		uint64_t due = (uint64_t)(now * rate);
		if (due > total)
			due = total;
		if (due <= sent + failed) {
			double wait = (double)(sent + failed + 1) / rate - since(&t0);
			if (wait > 0) {
				struct timespec ts = { 0, (long)(wait * 1e9) };
				nanosleep(&ts, NULL);
			}
			continue;
		}
		unsigned n = due - sent - failed > BATCH ? BATCH : (unsigned)(due - sent - failed);
		for (unsigned i = 0; i < n; i++) {
			iov[i].iov_base = f.bytes + f.off[next];
			iov[i].iov_len = f.off[next + 1] - f.off[next];
			if (++next == f.n)
				next = 0;
		}
		int r = sendmmsg(fd, msgs, n, 0);
		if (r < 0) {
			if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR && errno != EMSGSIZE) {
				fprintf(stderr, "pcap_pace: sendmmsg on %s: %s\n", argv[1], strerror(errno));
				return 1;
			}
			r = 0;
		}
		sent += (unsigned)r;
		/* A refused frame is not sent again: the next ones are due. */
		failed += n - (unsigned)r;
	}
	double s = since(&t0);
	printf("sent=%llu seconds=%.3f rate=%.0f failed=%llu\n", (unsigned long long)sent, s,
	       (double)sent / s, (unsigned long long)failed);
	close(fd);
	free(f.bytes);
	free(f.off);
	return 0;
}
