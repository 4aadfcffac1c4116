/*
 * fluentd_recv - a Fluentd Forward-protocol receiver for logd's tests,
 * written against libmsgpack (independent of logd's own encoder) and
 * json-c.
 *
 *   fluentd_recv (--unix PATH | --tcp PORT) --out FILE [--tag TAG]
 *                [--stall-after N] [--ack-delay MS] [--ready FILE]
 *
 * Accepts any number of connections on a unix stream socket or
 * 127.0.0.1:PORT.  Every message must be a Forward-mode chunk
 * [tag, [[time, record], ...], option?] with time an EventTime (ext 0, 8
 * bytes) or an integer, record a map, option a map whose "size" (if any)
 * equals the number of entries; anything else is a protocol error: a line
 * on stderr and exit 3, so a test cannot miss it.  For each chunk it
 * appends, with a single write(2), one line per entry
 *     SECONDS.NANOSECONDS <record as JSON>
 * then a trailer line "#chunk ID N" (ID "-" without a chunk option), and
 * only then, when the option has a chunk, answers {"ack": ID}.  So a chunk
 * with a trailer in FILE was written whole before its ack was sent, and
 * entries without a trailer (the receiver was killed) were never acked.
 *
 * --ack-delay MS holds each ack that long after the chunk is written (so a
 * receiver killed meanwhile leaves chunks written but not acked).
 * --stall-after N stops reading every connection once N entries have been
 * written (after the chunk that reaches N); SIGUSR1 toggles reading.  The
 * listening socket keeps accepting.  SIGTERM/SIGINT: exit 0.  --ready FILE
 * is created once the socket listens.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <msgpack.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 32

static volatile sig_atomic_t stop, toggle;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		toggle = 1;
	else
		stop = 1;
}

static _Noreturn void protocol_error(const char *what)
{
	fprintf(stderr, "fluentd_recv: protocol error: %s\n", what);
	exit(3);
}

struct out {
	char *p;
	size_t len, cap;
};

static void out_add(struct out *o, const char *s, size_t n)
{
	if (o->len + n > o->cap) {
		o->cap = (o->len + n) * 2;
		o->p = realloc(o->p, o->cap);
		if (!o->p) {
			perror("fluentd_recv: realloc");
			exit(1);
		}
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static struct json_object *to_json(const msgpack_object *o)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL: return NULL;
	case MSGPACK_OBJECT_BOOLEAN: return json_object_new_boolean(o->via.boolean);
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		return o->via.u64 <= INT64_MAX ? json_object_new_int64((int64_t)o->via.u64)
					       : json_object_new_uint64(o->via.u64);
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: return json_object_new_int64(o->via.i64);
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: return json_object_new_double(o->via.f64);
	case MSGPACK_OBJECT_STR: return json_object_new_string_len(o->via.str.ptr, (int)o->via.str.size);
	case MSGPACK_OBJECT_ARRAY: {
		struct json_object *a = json_object_new_array();
		for (uint32_t i = 0; i < o->via.array.size; i++)
			json_object_array_add(a, to_json(&o->via.array.ptr[i]));
		return a;
	}
	case MSGPACK_OBJECT_MAP: {
		struct json_object *m = json_object_new_object();
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			const msgpack_object_kv *kv = &o->via.map.ptr[i];
			if (kv->key.type != MSGPACK_OBJECT_STR)
				protocol_error("a map key is not a string");
			char *k = strndup(kv->key.via.str.ptr, kv->key.via.str.size);
			if (json_object_object_get_ex(m, k, NULL))
				protocol_error("a map has a key twice");
			json_object_object_add(m, k, to_json(&kv->val));
			free(k);
		}
		return m;
	}
	default: protocol_error("bin or ext where JSON values are expected");
	}
}

static const msgpack_object *map_get(const msgpack_object *m, const char *key)
{
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *k = &m->via.map.ptr[i].key;
		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key) &&
		    !memcmp(k->via.str.ptr, key, k->via.str.size))
			return &m->via.map.ptr[i].val;
	}
	return NULL;
}

#define MAX_ACKS 4096

struct ctx {
	int outfd;
	const char *tag;
	uint64_t entries, chunks, stall_after;
	int reading;
	uint64_t ack_delay_ms;
	struct held_ack {
		int fd;
		uint64_t due;
		msgpack_sbuffer sb;
	} acks[MAX_ACKS];
	unsigned nacks;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void send_ack(int fd, msgpack_sbuffer *sb)
{
	/* A peer that went away: its chunk stays unacked, as it should. */
	if (send(fd, sb->data, sb->size, MSG_NOSIGNAL) < 0 && errno != EPIPE && errno != ECONNRESET)
		perror("fluentd_recv: send ack");
	msgpack_sbuffer_destroy(sb);
}

/* Sends the held acks that are due (all of fd's with fd >= 0 and force). */
static void release_acks(struct ctx *c, int fd, int drop)
{
	uint64_t now = now_ms();
	unsigned k = 0;
	for (unsigned i = 0; i < c->nacks; i++) {
		struct held_ack *a = &c->acks[i];
		if (fd >= 0 ? a->fd == fd : a->due <= now) {
			if (drop)
				msgpack_sbuffer_destroy(&a->sb);
			else
				send_ack(a->fd, &a->sb);
		} else {
			c->acks[k++] = *a;
		}
	}
	c->nacks = k;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			perror("fluentd_recv: write");
			exit(1);
		}
		p += w;
		n -= (size_t)w;
	}
}

/* One Forward-mode message from client fd. */
static void handle(struct ctx *c, int fd, const msgpack_object *msg)
{
	if (msg->type != MSGPACK_OBJECT_ARRAY || msg->via.array.size < 2 || msg->via.array.size > 3)
		protocol_error("a message is not [tag, entries, option]");
	const msgpack_object *tag = &msg->via.array.ptr[0], *ents = &msg->via.array.ptr[1];
	if (tag->type != MSGPACK_OBJECT_STR)
		protocol_error("the tag is not a string");
	if (c->tag && (tag->via.str.size != strlen(c->tag) ||
		       memcmp(tag->via.str.ptr, c->tag, tag->via.str.size)))
		protocol_error("unexpected tag");
	if (ents->type != MSGPACK_OBJECT_ARRAY)
		protocol_error("entries is not an array (only Forward mode is expected)");
	const msgpack_object *opt = msg->via.array.size == 3 ? &msg->via.array.ptr[2] : NULL;
	if (opt && opt->type != MSGPACK_OBJECT_MAP)
		protocol_error("the option is not a map");
	const msgpack_object *size = opt ? map_get(opt, "size") : NULL;
	const msgpack_object *chunk = opt ? map_get(opt, "chunk") : NULL;
	if (size && (size->type != MSGPACK_OBJECT_POSITIVE_INTEGER || size->via.u64 != ents->via.array.size))
		protocol_error("option size differs from the number of entries");
	if (chunk && chunk->type != MSGPACK_OBJECT_STR)
		protocol_error("the chunk option is not a string");
	struct out o = { 0 };
	for (uint32_t i = 0; i < ents->via.array.size; i++) {
		const msgpack_object *e = &ents->via.array.ptr[i];
		if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 2)
			protocol_error("an entry is not [time, record]");
		const msgpack_object *t = &e->via.array.ptr[0], *rec = &e->via.array.ptr[1];
		uint32_t sec, nsec = 0;
		if (t->type == MSGPACK_OBJECT_EXT && t->via.ext.type == 0 && t->via.ext.size == 8) {
			const unsigned char *b = (const unsigned char *)t->via.ext.ptr;
			sec = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
			nsec = (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
		} else if (t->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
			sec = (uint32_t)t->via.u64;
		} else {
			protocol_error("an entry's time is neither EventTime nor an integer");
		}
		if (rec->type != MSGPACK_OBJECT_MAP)
			protocol_error("a record is not a map");
		char head[32];
		out_add(&o, head, (size_t)snprintf(head, sizeof head, "%u.%09u ", sec, nsec));
		struct json_object *j = to_json(rec);
		const char *js = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
								      JSON_C_TO_STRING_NOSLASHESCAPE);
		out_add(&o, js, strlen(js));
		out_add(&o, "\n", 1);
		json_object_put(j);
	}
	char trailer[160];
	int tn = snprintf(trailer, sizeof trailer, "#chunk %.*s %u\n", chunk ? (int)chunk->via.str.size : 1,
			  chunk ? chunk->via.str.ptr : "-", ents->via.array.size);
	out_add(&o, trailer, (size_t)tn);
	write_all(c->outfd, o.p, o.len);
	free(o.p);
	c->entries += ents->via.array.size;
	c->chunks++;
	if (chunk) {
		msgpack_sbuffer sb;
		msgpack_sbuffer_init(&sb);
		msgpack_packer pk;
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_map(&pk, 1);
		msgpack_pack_str(&pk, 3);
		msgpack_pack_str_body(&pk, "ack", 3);
		msgpack_pack_str(&pk, chunk->via.str.size);
		msgpack_pack_str_body(&pk, chunk->via.str.ptr, chunk->via.str.size);
		if (c->ack_delay_ms && c->nacks < MAX_ACKS)
			c->acks[c->nacks++] = (struct held_ack){ fd, now_ms() + c->ack_delay_ms, sb };
		else
			send_ack(fd, &sb);
	}
	if (c->stall_after && c->entries >= c->stall_after && c->reading) {
		c->stall_after = 0; /* once: SIGUSR1 resumes for good */
		c->reading = 0;
		fprintf(stderr, "fluentd_recv: stopped reading after %llu entries\n",
			(unsigned long long)c->entries);
	}
}

/* Handles the complete messages client i has buffered, while reading. */
static void drain(struct ctx *c, int fd, msgpack_unpacker *u)
{
	msgpack_unpacked res;
	msgpack_unpacked_init(&res);
	int rc = MSGPACK_UNPACK_CONTINUE;
	while (c->reading && (rc = msgpack_unpacker_next(u, &res)) == MSGPACK_UNPACK_SUCCESS)
		handle(c, fd, &res.data);
	if (rc == MSGPACK_UNPACK_PARSE_ERROR)
		protocol_error("not MessagePack");
	msgpack_unpacked_destroy(&res);
}

static int listen_on(const char *path, int port)
{
	int fd;
	if (path) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		if (strlen(path) >= sizeof a.sun_path) {
			fprintf(stderr, "fluentd_recv: socket path too long\n");
			exit(2);
		}
		strcpy(a.sun_path, path);
		unlink(path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
			perror("fluentd_recv: bind");
			exit(1);
		}
	} else {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
			perror("fluentd_recv: bind");
			exit(1);
		}
	}
	if (listen(fd, 16) < 0) {
		perror("fluentd_recv: listen");
		exit(1);
	}
	return fd;
}

int main(int argc, char **argv)
{
	const char *path = NULL, *out = NULL, *ready = NULL;
	int port = 0;
	static struct ctx c = { .reading = 1 };
	static const struct option lo[] = {
		{ "unix", required_argument, NULL, 'u' }, { "tcp", required_argument, NULL, 't' },
		{ "out", required_argument, NULL, 'o' },  { "tag", required_argument, NULL, 'g' },
		{ "stall-after", required_argument, NULL, 's' },
		{ "ack-delay", required_argument, NULL, 'a' },
		{ "ready", required_argument, NULL, 'r' }, { NULL, 0, NULL, 0 },
	};
	int o;
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case 'u': path = optarg; break;
		case 't': port = atoi(optarg); break;
		case 'o': out = optarg; break;
		case 'g': c.tag = optarg; break;
		case 's': c.stall_after = strtoull(optarg, NULL, 10); break;
		case 'a': c.ack_delay_ms = strtoull(optarg, NULL, 10); break;
		case 'r': ready = optarg; break;
		default: return 2;
		}
	}
	if ((!path == !port) || !out) {
		fprintf(stderr, "usage: fluentd_recv (--unix PATH | --tcp PORT) --out FILE [--tag TAG] "
				"[--stall-after N] [--ready FILE]\n");
		return 2;
	}
	c.outfd = open(out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (c.outfd < 0) {
		perror(out);
		return 1;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	int lfd = listen_on(path, port);
	if (ready) {
		FILE *f = fopen(ready, "w");
		if (f)
			fclose(f);
	}
	struct pollfd pf[MAX_CLIENTS + 1];
	msgpack_unpacker *up[MAX_CLIENTS + 1] = { 0 };
	int n = 1;
	pf[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
	while (!stop) {
		if (toggle) {
			toggle = 0;
			c.reading = !c.reading;
			fprintf(stderr, "fluentd_recv: reading %s\n", c.reading ? "on" : "off");
			for (int i = 1; i < n; i++) /* what was read before it stopped */
				drain(&c, pf[i].fd, up[i]);
		}
		for (int i = 1; i < n; i++)
			pf[i].events = c.reading ? POLLIN : 0;
		release_acks(&c, -1, 0);
		if (poll(pf, (nfds_t)n, c.nacks ? 5 : 200) < 0) {
			if (errno == EINTR)
				continue;
			perror("fluentd_recv: poll");
			return 1;
		}
		if (pf[0].revents & POLLIN) {
			int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (cfd >= 0 && n <= MAX_CLIENTS) {
				pf[n] = (struct pollfd){ .fd = cfd, .events = POLLIN };
				up[n] = msgpack_unpacker_new(1 << 16);
				n++;
			} else if (cfd >= 0) {
				close(cfd);
			}
		}
		for (int i = 1; i < n; i++) {
			if (!c.reading || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (!msgpack_unpacker_reserve_buffer(up[i], 1 << 16)) {
				fprintf(stderr, "fluentd_recv: out of memory\n");
				return 1;
			}
			ssize_t r = recv(pf[i].fd, msgpack_unpacker_buffer(up[i]), 1 << 16, 0);
			if (r > 0) {
				msgpack_unpacker_buffer_consumed(up[i], (size_t)r);
				drain(&c, pf[i].fd, up[i]); /* stops mid-buffer when reading stops */
				continue;
			}
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			/* closed: a partial message left behind is the peer's loss */
			release_acks(&c, pf[i].fd, 1);
			close(pf[i].fd);
			msgpack_unpacker_free(up[i]);
			pf[i] = pf[n - 1];
			up[i] = up[n - 1];
			n--;
			i--;
		}
	}
	fprintf(stderr, "fluentd_recv: %llu chunks, %llu entries\n", (unsigned long long)c.chunks,
		(unsigned long long)c.entries);
	for (unsigned i = 0; i < c.nacks; i++)
		msgpack_sbuffer_destroy(&c.acks[i].sb);
	for (int i = 1; i < n; i++) {
		close(pf[i].fd);
		msgpack_unpacker_free(up[i]);
	}
	return 0;
}
