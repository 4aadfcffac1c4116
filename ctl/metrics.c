/*
 * metrics.c - every counter of an instance, for monitoring systems (see
 * metrics.h).  Nothing here writes to the run directory: segments and ring
 * headers are read, never locked, so a scrape cannot slow a stage down.
 */
#include "metrics.h"

#include "log.h"
#include "rings.h"
#include "statseg.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES 8192

struct sample {
	char name[64]; /* as the stage names it: "match.answered" */
	char metric[96]; /* dnstrail_... (Prometheus name) */
	char dotted[128]; /* stage.name (statsd name) */
	char label_key[8]; /* "stage" or "ring" */
	char label[64];
	const char *help;
	int gauge;
	uint64_t value;
};

struct samples {
	struct sample *s;
	size_t n;
	struct ring_info *rings;
	int n_rings;
	const struct statseg_hdr *segs[64];
	int n_segs;
};

static void to_metric(const char *dotted, char *out, size_t len)
{
	size_t o = (size_t)snprintf(out, len, "dnstrail_");
	for (const char *p = dotted; *p && o + 1 < len; p++)
		out[o++] = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ? *p : '_';
	out[o] = 0;
}

static struct sample *add(struct samples *ss, const char *name, const char *label_key,
			  const char *label, const char *help, int gauge, uint64_t value)
{
	if (ss->n == MAX_SAMPLES)
		return NULL;
	struct sample *s = &ss->s[ss->n++];
	memset(s, 0, sizeof *s);
	snprintf(s->name, sizeof s->name, "%s", name);
	to_metric(name, s->metric, sizeof s->metric);
	snprintf(s->label_key, sizeof s->label_key, "%s", label_key);
	snprintf(s->label, sizeof s->label, "%s", label);
	s->help = help;
	s->gauge = gauge;
	s->value = value;
	/* statsd: stage + name, without repeating the stage's own prefix */
	const char *base_end = strchr(label, '.');
	size_t bl = base_end ? (size_t)(base_end - label) : strlen(label);
	const char *n = name;
	if (!strncmp(name, label, bl) && name[bl] == '.')
		n = name + bl + 1;
	snprintf(s->dotted, sizeof s->dotted, "%s.%s", label, n);
	return s;
}

static int collect(const char *dir, struct samples *ss)
{
	memset(ss, 0, sizeof *ss);
	ss->s = calloc(MAX_SAMPLES, sizeof *ss->s);
	ss->rings = calloc(CTL_MAX_RINGS, sizeof *ss->rings);
	if (!ss->s || !ss->rings)
		return -1;
	ss->n_rings = rings_scan(dir, ss->rings, CTL_MAX_RINGS);
	if (ss->n_rings < 0)
		return -1;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)) && ss->n_segs < 64) {
		size_t l = strlen(e->d_name);
		if (l < 7 || strcmp(e->d_name + l - 6, ".stats"))
			continue;
		char path[600], err[700];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		const struct statseg_hdr *h = statseg_map(path, err, sizeof err);
		if (!h)
			continue;
		ss->segs[ss->n_segs++] = h;
		uint64_t now = ring_now_mono_ns(), upd = atomic_load(&h->updated_ns);
		add(ss, "stage.up", "stage", h->stage, "1 while the stage's process is alive", 1,
		    (uint64_t)ring_pid_alive(h->pid));
		add(ss, "stage.update_age_ms", "stage", h->stage,
		    "milliseconds since the stage last refreshed its counters", 1,
		    now > upd ? (now - upd) / 1000000u : 0);
		for (uint32_t i = 0; i < h->count; i++)
			add(ss, h->e[i].name, "stage", h->stage, h->e[i].help, (int)h->e[i].gauge,
			    atomic_load_explicit(&h->e[i].value, memory_order_relaxed));
	}
	if (d)
		closedir(d);
	for (int i = 0; i < ss->n_rings; i++) {
		const struct ring_info *ri = &ss->rings[i];
		if (ri->error[0])
			continue;
		const struct ring_hdr *h = &ri->hdr;
#define R(n, help, g, v) add(ss, "ring." n, "ring", ri->name, help, g, v)
		R("records_in", "records the producer published", 0, h->records_in);
		R("records_out", "records the consumer released", 0, h->records_out);
		R("bytes_in", "payload bytes published", 0, h->bytes_in);
		R("bytes_out", "payload bytes released", 0, h->bytes_out);
		R("dropped", "records refused because the ring was full", 0, h->dropped);
		R("full_waits", "times the producer waited for space", 0, h->full_waits);
		R("empty_waits", "times the consumer slept on an empty ring", 0, h->empty_waits);
		R("used_bytes", "bytes published and not yet released", 1, h->head - h->tail);
		R("capacity_bytes", "size of the ring's data area", 1, h->capacity);
#undef R
	}
	return 0;
}

/* Counter names per stage for metrics_headline(); logd adds its sinks'. */
static const char *const headline_capd[] = { "capd.frames", "capd.ring_drops", "capd.kernel_drops",
					     "capd.if_drops", NULL };
static const char *const headline_decoded[] = { "frames", "decoded.messages_out", "dns.messages_partial",
						"dns.rejected_short", "ip.bad", "udp.bad", "tcp.flows",
						"tcp.flows_evicted", "tcp.gap_dropped", "frag.pending",
						"frag.timeout", "frag.mem_evicted", NULL };
static const char *const headline_correlated[] = { "match.pending", "match.answered", "match.response_only",
						   "match.unanswered", "match.evicted",
						   "correlated.opcode_skipped", "dedup.hits", "dedup.entries",
						   "dedup.evicted", NULL };
static const char *const headline_logd[] = { "lines", NULL };

static int headline_wanted(const char *const *names, const char *name)
{
	for (; *names; names++)
		if (!strcmp(*names, name))
			return 1;
	return 0;
}

/* logd's per-sink counters: sink.N.lines_written and sink.N.lines_dropped */
static int sink_headline(const char *name)
{
	if (strncmp(name, "sink.", 5))
		return 0;
	const char *dot = strchr(name + 5, '.');
	return dot && (!strcmp(dot, ".lines_written") || !strcmp(dot, ".lines_dropped"));
}

int metrics_headline(const char *dir, const char *stage, struct metric_kv *kv, int max)
{
	const char *const *names = !strcmp(stage, "capd")	       ? headline_capd
				   : !strncmp(stage, "decoded", 7)     ? headline_decoded
				   : !strcmp(stage, "correlated")      ? headline_correlated
				   : !strcmp(stage, "logd")	       ? headline_logd
								       : NULL;
	if (!names)
		return 0;
	char path[600], err[700];
	snprintf(path, sizeof path, "%s/%s.stats", dir, stage);
	const struct statseg_hdr *h = statseg_map(path, err, sizeof err);
	if (!h)
		return 0;
	int n = 0;
	for (uint32_t i = 0; i < h->count && n < max; i++) {
		if (!headline_wanted(names, h->e[i].name) && !(names == headline_logd && sink_headline(h->e[i].name)))
			continue;
		snprintf(kv[n].name, sizeof kv[n].name, "%s", h->e[i].name);
		kv[n++].value = atomic_load_explicit(&h->e[i].value, memory_order_relaxed);
	}
	statseg_unmap(h);
	return n;
}

static void release(struct samples *ss)
{
	for (int i = 0; i < ss->n_segs; i++)
		statseg_unmap(ss->segs[i]);
	free(ss->s);
	free(ss->rings);
}

static int by_metric(const void *a, const void *b)
{
	const struct sample *x = a, *y = b;
	int c = strcmp(x->metric, y->metric);
	return c ? c : strcmp(x->label, y->label);
}

int metrics_prometheus(const char *dir, FILE *out)
{
	struct samples ss;
	if (collect(dir, &ss) < 0) {
		release(&ss);
		return -1;
	}
	qsort(ss.s, ss.n, sizeof *ss.s, by_metric);
	for (size_t i = 0; i < ss.n; i++) {
		const struct sample *s = &ss.s[i];
		if (!i || strcmp(s->metric, ss.s[i - 1].metric)) {
			fprintf(out, "# HELP %s %s\n", s->metric, s->help ? s->help : "");
			fprintf(out, "# TYPE %s %s\n", s->metric, s->gauge ? "gauge" : "counter");
		}
		fprintf(out, "%s{%s=\"%s\"} %" PRIu64 "\n", s->metric, s->label_key, s->label, s->value);
	}
	release(&ss);
	return 0;
}

int metrics_text(const char *dir, FILE *out)
{
	struct samples ss;
	if (collect(dir, &ss) < 0) {
		release(&ss);
		return -1;
	}
	for (size_t i = 0; i < ss.n; i++)
		if (!strcmp(ss.s[i].label_key, "stage"))
			fprintf(out, "%-14s %-34s %16" PRIu64 "\n", ss.s[i].label, ss.s[i].name, ss.s[i].value);
	release(&ss);
	return 0;
}

int metrics_json(const char *dir, FILE *out)
{
	struct samples ss;
	if (collect(dir, &ss) < 0) {
		release(&ss);
		return -1;
	}
	fputs("{\"stages\":{", out);
	const char *open = NULL;
	int first_group = 1;
	for (int pass = 0; pass < 2; pass++) {
		const char *key = pass ? "ring" : "stage";
		if (pass)
			fputs("},\"rings\":{", out);
		open = NULL;
		first_group = 1;
		for (size_t i = 0; i < ss.n; i++) {
			const struct sample *s = &ss.s[i];
			if (strcmp(s->label_key, key))
				continue;
			const char *name = s->name;
			if (!open || strcmp(open, s->label)) {
				fprintf(out, "%s\"%s\":{", open ? "}," : "", s->label);
				open = s->label;
				first_group = 1;
			}
			fprintf(out, "%s\"%s\":%" PRIu64, first_group ? "" : ",", name, s->value);
			first_group = 0;
		}
		if (open)
			fputc('}', out);
	}
	fputs("}}\n", out);
	release(&ss);
	return 0;
}

static int resolve(const char *addr, int socktype, struct sockaddr_storage *sa, socklen_t *len)
{
	char host[256], port[16];
	const char *colon = strrchr(addr, ':');
	if (!colon || colon == addr || strlen(colon + 1) >= sizeof port)
		return -1;
	size_t hl = (size_t)(colon - addr);
	if (addr[0] == '[' && hl >= 2 && addr[hl - 1] == ']') {
		addr++;
		hl -= 2;
	}
	if (hl >= sizeof host)
		return -1;
	memcpy(host, addr, hl);
	host[hl] = 0;
	snprintf(port, sizeof port, "%s", colon + 1);
	struct addrinfo hints = { .ai_socktype = socktype, .ai_flags = AI_NUMERICSERV }, *res;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	memcpy(sa, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int metrics_listen(const char *dir, const char *addr)
{
	struct sockaddr_storage sa;
	socklen_t sl;
	if (resolve(addr, SOCK_STREAM, &sa, &sl) < 0)
		die(EXIT_USAGE, "invalid value '%s' for --listen: expected HOST:PORT", addr);
	int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sl) < 0 || listen(fd, 16) < 0)
		die(1, "cannot listen on %s: %s", addr, strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		struct timeval tv = { 2, 0 };
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		char req[2048];
		ssize_t n = recv(c, req, sizeof req - 1, 0);
		req[n > 0 ? n : 0] = 0;
		char *body = NULL;
		size_t blen = 0;
		FILE *m = open_memstream(&body, &blen);
		int ok = !strncmp(req, "GET / ", 6) || !strncmp(req, "GET /metrics ", 13);
		if (ok)
			metrics_prometheus(dir, m);
		else
			fputs("not found: try /metrics\n", m);
		fclose(m);
		dprintf(c, "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
			   "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			ok ? "200 OK" : "404 Not Found", blen);
		for (size_t off = 0; off < blen;) {
			ssize_t w = send(c, body + off, blen - off, 0);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		free(body);
		close(c);
	}
}

/* gopassivedns's statsd names for the same quantities, summed over stages. */
static const struct {
	const char *ours, *theirs;
} aliases[] = {
	{ "capd.frames", "packets" },
	{ "capd.kernel_drops", "packets_dropped" },
	{ "capd.if_drops", "packets_ifdropped" },
	{ "tcp.messages", "reassembed_tcp" },
	{ "udp.messages", "dns_lookups" },
	{ "match.unanswered", "cache_entries_dropped" },
};

struct last {
	char name[160];
	uint64_t value;
};

int metrics_statsd(const char *dir, const char *addr, const char *prefix, const char *sensor,
		   unsigned interval_s, unsigned rounds)
{
	struct sockaddr_storage sa;
	socklen_t sl;
	if (resolve(addr, SOCK_DGRAM, &sa, &sl) < 0)
		die(EXIT_USAGE, "invalid value '%s' for --statsd: expected HOST:PORT", addr);
	int fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sl) < 0)
		die(1, "cannot send to %s: %s", addr, strerror(errno));
	struct last *last = calloc(MAX_SAMPLES + 16, sizeof *last);
	size_t n_last = 0;
	for (unsigned round = 0; !rounds || round < rounds; round++) {
		if (round)
			sleep(interval_s);
		struct samples ss;
		if (collect(dir, &ss) < 0) {
			release(&ss);
			continue;
		}
		/* Aliases are extra samples: sums over every stage. */
		uint64_t alias_sum[sizeof aliases / sizeof aliases[0]] = { 0 };
		for (size_t i = 0; i < ss.n; i++)
			for (size_t a = 0; a < sizeof aliases / sizeof aliases[0]; a++)
				if (!strcmp(ss.s[i].label_key, "stage") && !strcmp(ss.s[i].name, aliases[a].ours))
					alias_sum[a] += ss.s[i].value;
		char dgram[1432];
		size_t dl = 0;
		for (size_t i = 0; i < ss.n + sizeof aliases / sizeof aliases[0]; i++) {
			char name[160], line[256];
			uint64_t v;
			int gauge;
			if (i < ss.n) {
				snprintf(name, sizeof name, "%s", ss.s[i].dotted);
				v = ss.s[i].value;
				gauge = ss.s[i].gauge;
			} else {
				size_t a = i - ss.n;
				snprintf(name, sizeof name, "%s", aliases[a].theirs);
				v = alias_sum[a];
				gauge = 0;
			}
			int len;
			if (gauge) {
				len = snprintf(line, sizeof line, "%s.%s.%s:%" PRIu64 "|g", prefix, sensor, name, v);
			} else {
				/* statsd counters carry increases since the last push. */
				size_t k;
				for (k = 0; k < n_last && strcmp(last[k].name, name); k++)
					;
				if (k == n_last && n_last < MAX_SAMPLES + 16) {
					snprintf(last[n_last].name, sizeof last[n_last].name, "%s", name);
					last[n_last++].value = 0;
				}
				uint64_t delta = k < n_last && v >= last[k].value ? v - last[k].value : v;
				if (k < n_last)
					last[k].value = v;
				if (!delta)
					continue;
				len = snprintf(line, sizeof line, "%s.%s.%s:%" PRIu64 "|c", prefix, sensor, name,
					       delta);
			}
			if (len <= 0 || (size_t)len >= sizeof line)
				continue;
			if (dl + (size_t)len + 1 > sizeof dgram) {
				send(fd, dgram, dl, 0);
				dl = 0;
			}
			if (dl)
				dgram[dl++] = '\n';
			memcpy(dgram + dl, line, (size_t)len);
			dl += (size_t)len;
		}
		if (dl)
			send(fd, dgram, dl, 0);
		release(&ss);
	}
	free(last);
	close(fd);
	return 0;
}
