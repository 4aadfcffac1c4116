/*
 * test_logd_fluentd.c - the fluentd sink: EventTime from the lines, chunks
 * as they sit in the queue decoded with libmsgpack (tag, entries equal to
 * json-c's reading of each line, size and chunk options, merging of
 * unsent batches, splitting at the chunk limit), ack parsing, and
 * require-ack over a real unix stream socket: a chunk counts as written
 * only once acked, and after the peer drops the connection the chunks it
 * had not acked come again, same ids, same entries.
 */
#include "../../logd/format.h"
#include "../../logd/netconn.h"
#include "../../logd/sinks.h"
#include "test_logd_txn.h"
#include "uringfix.h"

#include <check.h>
#include <json-c/json.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000ull
#define SEC 1000000000ull

static void setup(void)
{
	uringfix_setup(64, "logd-fluentd-test");
}

static void teardown(void)
{
	uringfix_teardown();
}

START_TEST(event_time_from_lines)
{
	uint32_t s, ns;
	static const char json[] = "{\"tstamp\":\"2020-09-13T12:26:40.123456789Z\",\"x\":1}";
	ck_assert_int_eq(fluentd_line_time(json, sizeof json - 1, &s, &ns), 0);
	ck_assert_uint_eq(s, 1600000000u);
	ck_assert_uint_eq(ns, 123456789u);
	ck_assert_int_eq(fluentd_line_time("1600000000.000042||x||y", 23, &s, &ns), 0);
	ck_assert_uint_eq(s, 1600000000u);
	ck_assert_uint_eq(ns, 42000u);
	/* against timegm over two centuries, leap days included */
	for (int64_t sec = 0; sec < 4102444800ll; sec += 86399ll * 89 + 7) {
		time_t t = (time_t)sec;
		struct tm tm;
		gmtime_r(&t, &tm);
		char line[80];
		int n = snprintf(line, sizeof line, "{\"tstamp\":\"%04d-%02d-%02dT%02d:%02d:%02d.%09uZ\"}",
				 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
				 tm.tm_sec, (unsigned)(sec % 999999937));
		ck_assert_int_eq(fluentd_line_time(line, (size_t)n, &s, &ns), 0);
		ck_assert_uint_eq(s, (uint64_t)sec);
		ck_assert_uint_eq(ns, (unsigned)(sec % 999999937));
	}
	static const char *const bad[] = { "", "{\"a\":1}", "{\"tstamp\":\"2020-13-13T12:26:40.123456789Z\"}",
					  "{\"tstamp\":\"2020-09-13T12:26:40.12345678xZ\"}", "16.1234||",
					  "99999999999.000000||", "x" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(fluentd_line_time(bad[i], strlen(bad[i]), &s, &ns) < 0, "%s", bad[i]);
}
END_TEST

/* ---- batches of lines logd's formatter wrote ---- */

static char bbuf[1 << 22];
static struct batch_rec brec[1024];
static struct tb tbb;

static size_t make_txn(struct tb *tb, uint32_t i)
{
	static const char *const names[] = { "www.example.com", "quote\"d.example",
					      "utf8-\xc3\xa9\xe2\x82\xac.example", "bad-\xff\xfe.example" };
	const char *q = names[i % 4];
	struct rec_txn *t = tb_begin(tb, (uint8_t)(1 + i % 3));
	t->msg.ts_ns = 1600000000000000000ull + i * 1000000007ull;
	t->msg.id = (uint16_t)i;
	t->msg.src[0] = 10;
	t->msg.dst[3] = (uint8_t)i;
	t->msg.sport = (uint16_t)(1024 + i);
	t->msg.dport = 53;
	t->msg.hflags = 0x8180;
	t->msg.msg_len = 80;
	tb_question(tb, q, strlen(q), 1, 1);
	for (uint32_t r = 0; r < i % 4; r++)
		tb_rr(tb, q, strlen(q), "192.0.2.1", 9, 1, 300 + r, 1, SEC_ANSWER);
	return tb_end(tb);
}

/* Records first..first+n at ring positions base + 100 k. */
static struct batch make_batch(struct fmt *f, uint64_t base, uint32_t first, uint32_t n)
{
	struct batch b = { .buf = bbuf, .cap = sizeof bbuf, .rec = brec, .max = 1024 };
	uint32_t lines = 0;
	for (uint32_t k = 0; k < n; k++) {
		make_txn(&tbb, first + k);
		uint32_t nl;
		size_t w = fmt_txn(f, &tbb.u.txn, bbuf + b.len, sizeof bbuf - b.len, &nl);
		ck_assert_uint_gt(w, 0);
		b.len += w;
		lines += nl;
		brec[k] = (struct batch_rec){ .pos = base + 100ull * k, .end = (uint32_t)b.len, .lines = lines };
	}
	b.n = n;
	b.pos_end = base + 100ull * n;
	return b;
}

static void make_sink(struct sink *s, const char *addr, size_t qbytes, int require_ack, const char *tag)
{
	struct sink_spec sp;
	memset(&sp, 0, sizeof sp);
	char why[300], err[700];
	int unknown;
	sp.kind = SINK_FLUENTD;
	snprintf(sp.text, sizeof sp.text, "fluentd:%s", addr);
	sp.queue_bytes = qbytes;
	sp.wait_ns = SEC;
	sp.stall_ns = 30 * SEC;
	ck_assert_msg(sink_fluentd_address(&sp, addr, why, sizeof why) == 0, "%s", why);
	ck_assert_str_eq(sp.net.tag, "dnstrail");
	if (require_ack)
		ck_assert_int_eq(sink_fluentd_option(&sp, "require-ack", NULL, &unknown, why, sizeof why), 0);
	if (tag)
		ck_assert_int_eq(sink_fluentd_option(&sp, "tag", tag, &unknown, why, sizeof why), 0);
	ck_assert_int_eq(sink_fluentd_create(s, &sp, 0), 0);
	s->index = 0;
	ck_assert_msg(s->ops->open(s, err, sizeof err) == 0, "%s", err);
}

static struct json_object *mp_to_json(const msgpack_object *o)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL: return NULL;
	case MSGPACK_OBJECT_BOOLEAN: return json_object_new_boolean(o->via.boolean);
	case MSGPACK_OBJECT_POSITIVE_INTEGER: return json_object_new_int64((int64_t)o->via.u64);
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: return json_object_new_int64(o->via.i64);
	case MSGPACK_OBJECT_STR: return json_object_new_string_len(o->via.str.ptr, (int)o->via.str.size);
	case MSGPACK_OBJECT_ARRAY: {
		struct json_object *a = json_object_new_array();
		for (uint32_t i = 0; i < o->via.array.size; i++)
			json_object_array_add(a, mp_to_json(&o->via.array.ptr[i]));
		return a;
	}
	case MSGPACK_OBJECT_MAP: {
		struct json_object *m = json_object_new_object();
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			char *k = strndup(o->via.map.ptr[i].key.via.str.ptr, o->via.map.ptr[i].key.via.str.size);
			json_object_object_add(m, k, mp_to_json(&o->via.map.ptr[i].val));
			free(k);
		}
		return m;
	}
	default: ck_abort_msg("unexpected type %d", o->type); return NULL;
	}
}

static const msgpack_object *get(const msgpack_object *m, const char *key)
{
	for (uint32_t i = 0; i < m->via.map.size; i++)
		if (m->via.map.ptr[i].key.via.str.size == strlen(key) &&
		    !memcmp(m->via.map.ptr[i].key.via.str.ptr, key, strlen(key)))
			return &m->via.map.ptr[i].val;
	return NULL;
}

/* The lines the chunks must carry, in order, and a cursor over them. */
struct want {
	const char *p, *end;
	uint32_t entries, chunks;
	char ids[64][NC_ID_LEN + 1];
	uint32_t sizes[64];
};

/* Checks one decoded chunk against the next expected lines. */
static void check_chunk(const msgpack_object *c, struct want *w, const char *tag, int acked, int pdns)
{
	ck_assert_int_eq(c->type, MSGPACK_OBJECT_ARRAY);
	ck_assert_uint_eq(c->via.array.size, 3);
	const msgpack_object *t = &c->via.array.ptr[0], *e = &c->via.array.ptr[1], *o = &c->via.array.ptr[2];
	ck_assert_int_eq(t->type, MSGPACK_OBJECT_STR);
	ck_assert_int_eq((int)t->via.str.size, (int)strlen(tag));
	ck_assert_int_eq(memcmp(t->via.str.ptr, tag, t->via.str.size), 0);
	ck_assert_int_eq(e->type, MSGPACK_OBJECT_ARRAY);
	ck_assert_int_eq(o->type, MSGPACK_OBJECT_MAP);
	ck_assert_uint_eq(o->via.map.size, acked ? 2 : 1);
	const msgpack_object *size = get(o, "size"), *chunk = get(o, "chunk");
	ck_assert_ptr_nonnull(size);
	ck_assert_uint_eq(size->via.u64, e->via.array.size);
	if (acked) {
		ck_assert_ptr_nonnull(chunk);
		ck_assert_uint_eq(chunk->via.str.size, NC_ID_LEN);
		ck_assert_uint_lt(w->chunks, 64);
		memcpy(w->ids[w->chunks], chunk->via.str.ptr, NC_ID_LEN);
		w->ids[w->chunks][NC_ID_LEN] = 0;
		ck_assert_int_eq(w->ids[w->chunks][22], '=');
	}
	w->sizes[w->chunks < 64 ? w->chunks : 63] = e->via.array.size;
	w->chunks++;
	for (uint32_t i = 0; i < e->via.array.size; i++) {
		const msgpack_object *en = &e->via.array.ptr[i];
		ck_assert_int_eq(en->type, MSGPACK_OBJECT_ARRAY);
		ck_assert_uint_eq(en->via.array.size, 2);
		ck_assert_msg(w->p < w->end, "more entries than lines");
		const char *nl = memchr(w->p, '\n', (size_t)(w->end - w->p));
		size_t len = (size_t)(nl - w->p);
		/* time */
		uint32_t sec, nsec;
		ck_assert_int_eq(fluentd_line_time(w->p, len, &sec, &nsec), 0);
		const msgpack_object *tm = &en->via.array.ptr[0];
		ck_assert_int_eq(tm->type, MSGPACK_OBJECT_EXT);
		ck_assert_int_eq(tm->via.ext.type, 0);
		ck_assert_uint_eq(tm->via.ext.size, 8);
		const uint8_t *b = (const uint8_t *)tm->via.ext.ptr;
		ck_assert_uint_eq((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3], sec);
		ck_assert_uint_eq((uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7], nsec);
		/* record */
		const msgpack_object *rec = &en->via.array.ptr[1];
		ck_assert_int_eq(rec->type, MSGPACK_OBJECT_MAP);
		if (pdns) {
			const msgpack_object *m = get(rec, "message");
			ck_assert_uint_eq(rec->via.map.size, 1);
			ck_assert_uint_eq(m->via.str.size, len);
			ck_assert_int_eq(memcmp(m->via.str.ptr, w->p, len), 0);
		} else {
			struct json_object *got = mp_to_json(rec);
			char *line = strndup(w->p, len);
			struct json_object *exp = json_tokener_parse(line);
			ck_assert_ptr_nonnull(exp);
			char *g = strdup(json_object_to_json_string_ext(got, JSON_C_TO_STRING_PLAIN));
			ck_assert_str_eq(g, json_object_to_json_string_ext(exp, JSON_C_TO_STRING_PLAIN));
			free(g);
			free(line);
			json_object_put(got);
			json_object_put(exp);
		}
		w->p = nl + 1;
		w->entries++;
	}
}

/* Decodes the queue's bytes [q_tail, q_head) as chunks. */
static void check_queue(struct sink *s, struct want *w, const char *tag, int acked, int pdns)
{
	size_t n = (size_t)(s->q_head - s->q_tail);
	char *lin = malloc(n);
	nc_read_at(s, s->q_tail, lin, n);
	size_t off = 0;
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	while (off < n) {
		ck_assert_int_eq(msgpack_unpack_next(&u, lin, n, &off), MSGPACK_UNPACK_SUCCESS);
		check_chunk(&u.data, w, tag, acked, pdns);
	}
	msgpack_unpacked_destroy(&u);
	free(lin);
}

START_TEST(chunks_in_the_queue)
{
	enum logd_format kinds[] = { LOGD_FMT_JSON, LOGD_FMT_TRANSACTION, LOGD_FMT_PASSIVEDNS };
	for (int k = 0; k < 3; k++) {
		struct fmt f;
		ck_assert_int_eq(fmt_init(&f, kinds[k], k == 1 ? "probe \"7\"" : NULL), 0);
		struct sink s;
		char addr[128];
		snprintf(addr, sizeof addr, "unix:%s/none.sock", dir);
		make_sink(&s, addr, 4 << 20, k != 2, k == 1 ? "dns.passive" : NULL);
		/* two batches before anything is sent: one chunk */
		static char lines[1 << 23];
		size_t nlines = 0;
		struct batch b = make_batch(&f, 1000, 0, 300);
		memcpy(lines, b.buf, b.len);
		nlines = b.len;
		sink_offer(&s, &b);
		uint64_t want_lines = b.rec[b.n - 1].lines;
		b = make_batch(&f, 31000, 300, 200);
		memcpy(lines + nlines, b.buf, b.len);
		nlines += b.len;
		sink_offer(&s, &b);
		want_lines += b.rec[b.n - 1].lines;
		ck_assert_uint_eq(NC(&s)->u_n, 1);
		ck_assert_uint_eq(s.lines_head, want_lines);
		ck_assert_uint_eq(s.st.lines_dropped, 0);
		/* once it has gone out, a chunk takes nothing more */
		NC(&s)->units[NC(&s)->u_first].sent = 1;
		b = make_batch(&f, 51000, 500, 10);
		memcpy(lines + nlines, b.buf, b.len);
		nlines += b.len;
		sink_offer(&s, &b);
		want_lines += b.rec[b.n - 1].lines;
		ck_assert_uint_eq(NC(&s)->u_n, 2);
		struct want w = { .p = lines, .end = lines + nlines };
		check_queue(&s, &w, k == 1 ? "dns.passive" : "dnstrail", k != 2, k == 2);
		ck_assert_uint_eq(w.entries, want_lines);
		ck_assert_uint_eq(w.chunks, 2);
		ck_assert_ptr_eq(w.p, w.end);
		if (k != 2)
			ck_assert_str_ne(w.ids[0], w.ids[1]);
		ck_assert_uint_eq(s.done_pos, 0); /* nothing delivered yet */
		s.ops->close(&s);
		sink_free(&s);
	}
}
END_TEST

START_TEST(chunk_limit_and_full_queue)
{
	struct fmt f;
	fmt_init(&f, LOGD_FMT_JSON, NULL);
	struct sink s;
	char addr[128];
	snprintf(addr, sizeof addr, "unix:%s/none.sock", dir);
	make_sink(&s, addr, 256 << 10, 1, NULL); /* chunks of at most 64K */
	static char lines[1 << 22];
	size_t nl = 0;
	uint32_t first = 0;
	uint64_t offered = 0;
	for (int i = 0; i < 40; i++) {
		struct batch b = make_batch(&f, 1000 + 100ull * first, first, 50);
		size_t before = (size_t)s.lines_head;
		sink_offer(&s, &b);
		offered += b.rec[b.n - 1].lines;
		/* keep the text of what went in: whole records only */
		uint32_t k = 0;
		while (k < b.n && b.rec[k].lines <= s.lines_head - before)
			k++;
		ck_assert_uint_eq(k ? b.rec[k - 1].lines : 0, s.lines_head - before);
		size_t end = k ? b.rec[k - 1].end : 0;
		memcpy(lines + nl, b.buf, end);
		nl += end;
		first += 50;
	}
	ck_assert_uint_gt(s.st.lines_dropped, 0); /* it filled up */
	ck_assert_uint_eq(s.st.lines_dropped, s.st.lines_dropped_failing); /* not connected */
	ck_assert_uint_eq(s.lines_head + s.st.lines_dropped, offered);
	ck_assert_uint_le(s.q_head - s.q_tail, 256 << 10);
	struct want w = { .p = lines, .end = lines + nl };
	check_queue(&s, &w, "dnstrail", 1, 0);
	ck_assert_uint_eq(w.entries, s.lines_head);
	ck_assert_uint_ge(w.chunks, 4);
	ck_assert_uint_eq(w.chunks, NC(&s)->u_n);
	for (unsigned i = 0; i < NC(&s)->u_n; i++) {
		struct nc_unit *u = &NC(&s)->units[(NC(&s)->u_first + i) % NC(&s)->u_cap];
		ck_assert_uint_le(u->opt_at - u->start, (64 << 10) + 8192); /* one record past the limit */
	}
	s.ops->close(&s);
	sink_free(&s);
}
END_TEST

START_TEST(ack_parsing)
{
	struct fmt f;
	fmt_init(&f, LOGD_FMT_JSON, NULL);
	struct sink s;
	char addr[128];
	snprintf(addr, sizeof addr, "unix:%s/none.sock", dir);
	make_sink(&s, addr, 1 << 20, 1, NULL);
	struct batch b = make_batch(&f, 1000, 0, 10);
	sink_offer(&s, &b);
	NC(&s)->units[NC(&s)->u_first].sent = 1;
	uint64_t lines1 = s.lines_head;
	b = make_batch(&f, 2000, 10, 10);
	sink_offer(&s, &b);
	NC(&s)->units[(NC(&s)->u_first + 1) % NC(&s)->u_cap].sent = 1;
	char id1[NC_ID_LEN + 1], id2[NC_ID_LEN + 1];
	memcpy(id1, NC(&s)->units[NC(&s)->u_first].id, sizeof id1);
	memcpy(id2, NC(&s)->units[(NC(&s)->u_first + 1) % NC(&s)->u_cap].id, sizeof id2);
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	/* the second chunk's ack first, with an extra key; then the first's */
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str(&pk, 5);
	msgpack_pack_str_body(&pk, "other", 5);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_nil(&pk);
	msgpack_pack_str(&pk, 3);
	msgpack_pack_str_body(&pk, "ack", 3);
	msgpack_pack_str(&pk, NC_ID_LEN);
	msgpack_pack_str_body(&pk, id2, NC_ID_LEN);
	size_t one = sb.size;
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str(&pk, 3);
	msgpack_pack_str_body(&pk, "ack", 3);
	msgpack_pack_str(&pk, NC_ID_LEN);
	msgpack_pack_str_body(&pk, id1, NC_ID_LEN);
	const uint8_t *p = (const uint8_t *)sb.data;
	ck_assert_int_eq(fluentd_parse_acks(&s, p, one - 1), 0); /* incomplete: nothing */
	ck_assert_int_eq(fluentd_parse_acks(&s, p, one + 3), (long)one); /* one whole answer */
	ck_assert_uint_eq(s.st.acks, 1);
	ck_assert_uint_eq(s.st.lines_written, 0); /* the first chunk still waits */
	ck_assert_int_eq(fluentd_parse_acks(&s, p + one, sb.size - one), (long)(sb.size - one));
	ck_assert_uint_eq(s.st.acks, 2);
	ck_assert_uint_eq(s.st.lines_written, s.lines_head);
	ck_assert_uint_gt(s.lines_head, lines1);
	ck_assert_uint_eq(s.done_pos, 3000);
	ck_assert_uint_eq(s.q_tail, s.q_head);
	static const uint8_t not_map[] = { 0x93, 1, 2, 3 }, garbage[] = { 0xc1 };
	ck_assert_int_lt(fluentd_parse_acks(&s, not_map, sizeof not_map), 0);
	ck_assert_int_lt(fluentd_parse_acks(&s, garbage, sizeof garbage), 0);
	msgpack_sbuffer_destroy(&sb);
	s.ops->close(&s);
	sink_free(&s);
}
END_TEST

/* ---- require-ack over a real socket ---- */

static int turn(struct sink *s, uint64_t now, int wait_ms)
{
	sink_tick(s, now);
	ck_assert_int_ge(sink_submit(s, &ring, now), 0);
	io_uring_submit(&ring);
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = { 0, wait_ms * 1000000L };
	int n = 0;
	if (NC(s)->pending && io_uring_wait_cqe_timeout(&ring, &cqe, &ts) == 0) {
		unsigned head;
		io_uring_for_each_cqe(&ring, head, cqe)
		{
			sink_complete(s, SINK_UD_TAG(cqe->user_data), cqe->res, now);
			n++;
		}
		io_uring_cq_advance(&ring, (unsigned)n);
	}
	return n;
}

/* Reads the chunks the peer has sent into w; returns how many are new. */
static int read_chunks(int fd, msgpack_unpacker *up, struct want *w)
{
	int got = 0;
	for (;;) {
		msgpack_unpacker_reserve_buffer(up, 1 << 16);
		ssize_t r = recv(fd, msgpack_unpacker_buffer(up), 1 << 16, MSG_DONTWAIT);
		if (r <= 0)
			break;
		msgpack_unpacker_buffer_consumed(up, (size_t)r);
	}
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	while (msgpack_unpacker_next(up, &u) == MSGPACK_UNPACK_SUCCESS) {
		check_chunk(&u.data, w, "dnstrail", 1, 0);
		got++;
	}
	msgpack_unpacked_destroy(&u);
	return got;
}

static void send_ack(int fd, const char *id)
{
	uint8_t b[64];
	size_t n = 0;
	b[n++] = 0x81;
	b[n++] = 0xa3;
	memcpy(b + n, "ack", 3);
	n += 3;
	b[n++] = 0xa0 | NC_ID_LEN;
	memcpy(b + n, id, NC_ID_LEN);
	n += NC_ID_LEN;
	ck_assert_int_eq(send(fd, b, n, 0), (ssize_t)n);
}

START_TEST(require_ack_and_resend)
{
	char path[128], addr[140];
	snprintf(path, sizeof path, "%s/fl.sock", dir);
	snprintf(addr, sizeof addr, "unix:%s", path);
	int srv = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	memcpy(a.sun_path, path, strlen(path) + 1);
	ck_assert_int_eq(bind(srv, (struct sockaddr *)&a, sizeof a), 0);
	listen(srv, 4);
	struct fmt f;
	fmt_init(&f, LOGD_FMT_JSON, NULL);
	struct sink s;
	make_sink(&s, addr, 4 << 20, 1, NULL);
	uint64_t t = 0;
	turn(&s, t, 50);
	ck_assert_int_eq(NC(&s)->state, NC_UP);
	int c = accept(srv, NULL, NULL);
	static char lines[1 << 22];
	size_t nl = 0;
	uint64_t pos_end[3], total = 0, per[3];
	for (int i = 0; i < 3; i++) { /* three chunks, each sent alone */
		struct batch b = make_batch(&f, 1000 + 100000ull * (uint64_t)i, 100u * (uint32_t)i, 100);
		memcpy(lines + nl, b.buf, b.len);
		nl += b.len;
		sink_offer(&s, &b);
		per[i] = b.rec[b.n - 1].lines;
		total += per[i];
		pos_end[i] = b.pos_end;
		for (int k = 0; k < 5; k++)
			turn(&s, t += MS, 5);
	}
	ck_assert_uint_eq(s.st.chunks_sent, 3);
	msgpack_unpacker *up = msgpack_unpacker_new(1 << 16);
	struct want w = { .p = lines, .end = lines + nl };
	ck_assert_int_eq(read_chunks(c, up, &w), 3);
	ck_assert_uint_eq(w.entries, total);
	/* sent is not written: nothing is done before an ack */
	ck_assert_uint_eq(s.st.lines_written, 0);
	ck_assert_uint_eq(s.done_pos, 0);
	send_ack(c, w.ids[0]);
	for (int k = 0; k < 5; k++)
		turn(&s, t += MS, 5);
	ck_assert_uint_eq(s.st.acks, 1);
	ck_assert_uint_eq(s.st.lines_written, per[0]);
	ck_assert_uint_eq(s.done_pos, pos_end[0]);
	/* the peer goes away without acking the other two */
	close(c);
	msgpack_unpacker_free(up);
	for (int k = 0; k < 20 && !s.st.disconnects; k++)
		turn(&s, t += MS, 5);
	ck_assert_uint_eq(s.st.disconnects, 1);
	ck_assert_uint_eq(s.st.lines_requeued, per[1] + per[2]);
	/* after the backoff: the same two chunks, same ids, same entries */
	int c2 = -1;
	for (int k = 0; k < 400 && c2 < 0; k++) {
		turn(&s, t += MS, 5);
		if (NC(&s)->state == NC_UP)
			c2 = accept(srv, NULL, NULL);
	}
	ck_assert_int_ge(c2, 0);
	up = msgpack_unpacker_new(1 << 16);
	const char *again = lines;
	for (uint64_t k = 0; k < per[0]; k++)
		again = strchr(again, '\n') + 1;
	struct want w2 = { .p = again, .end = lines + nl };
	int got = 0;
	for (int k = 0; k < 100 && got < 2; k++) {
		turn(&s, t += MS, 5);
		got += read_chunks(c2, up, &w2);
	}
	ck_assert_int_eq(got, 2);
	ck_assert_str_eq(w2.ids[0], w.ids[1]);
	ck_assert_str_eq(w2.ids[1], w.ids[2]);
	ck_assert_uint_eq(s.st.chunks_resent, 2);
	/* an ack for a chunk nobody waits for is ignored */
	send_ack(c2, w.ids[0]);
	send_ack(c2, w2.ids[1]); /* out of order: the first still holds the tail */
	for (int k = 0; k < 5; k++)
		turn(&s, t += MS, 5);
	ck_assert_uint_eq(s.st.lines_written, per[0]);
	send_ack(c2, w2.ids[0]);
	for (int k = 0; k < 5; k++)
		turn(&s, t += MS, 5);
	ck_assert_uint_eq(s.st.acks, 3);
	ck_assert_uint_eq(s.st.lines_written, total);
	ck_assert_uint_eq(s.done_pos, pos_end[2]);
	ck_assert_uint_eq(s.q_tail, s.q_head);
	/* garbage from the peer: the connection is dropped */
	static const uint8_t junk[] = { 0x93, 1, 2, 3 };
	send(c2, junk, sizeof junk, 0);
	struct batch b = make_batch(&f, 400000, 300, 1);
	sink_offer(&s, &b); /* something to wait for: a recv is posted */
	for (int k = 0; k < 20 && s.st.disconnects < 2; k++)
		turn(&s, t += MS, 5);
	ck_assert_uint_eq(s.st.disconnects, 2);
	msgpack_unpacker_free(up);
	close(c2);
	s.ops->close(&s);
	sink_free(&s);
	close(srv);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("logd_fluentd");
	TCase *tc = tcase_create("fluentd");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, event_time_from_lines);
	tcase_add_test(tc, chunks_in_the_queue);
	tcase_add_test(tc, chunk_limit_and_full_queue);
	tcase_add_test(tc, ack_parsing);
	tcase_add_test(tc, require_ack_and_resend);
	suite_add_tcase(su, tc);
	SRunner *sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
