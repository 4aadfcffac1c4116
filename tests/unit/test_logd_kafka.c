/*
 * test_logd_kafka.c - the Kafka sink: its spec (what is accepted, and that
 * every refusal says what is wrong and exits 2 through the command line),
 * message keys (hand-written lines and lines from logd's own formatter),
 * and the release rule against librdkafka's mock cluster in this process:
 * the sink's done_pos - what lets the ring tail move - passes a record only
 * once every line before it has its delivery report, reports that fail are
 * counted, messages= bounds what librdkafka holds, and stall= trips when no
 * report comes.
 */
#include "../../logd/cli.h"
#include "../../logd/format.h"
#include "../../logd/sink.h"
#include "../../logd/sink_kafka.h"
#include "../../logd/sinks.h"
#include "test_logd_txn.h"

#include <check.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define NS 1000000000ull
#define MS 1000000ull

/* ------------------------------------------------------------ spec */

static int parse(const char *spec, struct kafka_opts *o, struct sink_spec *sp, char *err,
		 size_t len)
{
	memset(sp, 0, sizeof *sp);
	sp->queue_bytes = 4 << 20;
	sp->wait_ns = NS;
	return kafka_spec_parse(spec, o, sp, err, len);
}

START_TEST(spec_defaults)
{
	struct kafka_opts o;
	struct sink_spec sp;
	char err[512] = "";
	ck_assert_msg(parse("kafka:broker/dns", &o, &sp, err, sizeof err) == 0, "%s", err);
	ck_assert_str_eq(o.brokers, "broker");
	ck_assert_str_eq(o.topic, "dns");
	ck_assert_str_eq(sp.path, "broker/dns");
	ck_assert_str_eq(o.acks, "all");
	ck_assert_str_eq(o.compression, "lz4");
	ck_assert_uint_eq(o.linger_ns, 5 * MS);
	ck_assert_uint_eq(o.timeout_ns, 30 * NS);
	ck_assert_uint_eq(o.messages, 100000);
	ck_assert_uint_eq(o.max_message, 1000000);
	ck_assert_int_eq(o.idempotence, 0);
	ck_assert_uint_eq(sp.stall_ns, 60 * NS); /* timeout + 30 s */
	ck_assert_uint_eq(sp.queue_bytes, 4 << 20);
}
END_TEST

START_TEST(spec_options)
{
	struct kafka_opts o;
	struct sink_spec sp;
	char err[512] = "";
	const char *spec = "kafka:127.0.0.1:9092,[::1]:9093,kafka-3.example.net/dns.v1_x-y,acks=1,"
			   "linger=0.05,compression=zstd,batch=64K,timeout=5,max-message=2M,"
			   "messages=1000,size=8M,wait=2.5,stall=9";
	ck_assert_msg(parse(spec, &o, &sp, err, sizeof err) == 0, "%s", err);
	ck_assert_str_eq(o.brokers, "127.0.0.1:9092,[::1]:9093,kafka-3.example.net");
	ck_assert_str_eq(o.topic, "dns.v1_x-y");
	ck_assert_str_eq(sp.path, "127.0.0.1:9092,[::1]:9093,kafka-3.example.net/dns.v1_x-y");
	ck_assert_str_eq(o.acks, "1");
	ck_assert_str_eq(o.compression, "zstd");
	ck_assert_uint_eq(o.linger_ns, 50 * MS);
	ck_assert_uint_eq(o.batch_bytes, 64 << 10);
	ck_assert_uint_eq(o.timeout_ns, 5 * NS);
	ck_assert_uint_eq(o.max_message, 2 << 20);
	ck_assert_uint_eq(o.messages, 1000);
	ck_assert_uint_eq(sp.queue_bytes, 8 << 20);
	ck_assert_uint_eq(sp.wait_ns, 2500 * MS);
	ck_assert_uint_eq(sp.stall_ns, 9 * NS);
	ck_assert_msg(parse("kafka:h/t,acks=-1,idempotence,timeout=10", &o, &sp, err, sizeof err) == 0,
		      "%s", err);
	ck_assert_str_eq(o.acks, "all");
	ck_assert_int_eq(o.idempotence, 1);
	ck_assert_uint_eq(sp.stall_ns, 40 * NS);
}
END_TEST

static const struct {
	const char *spec, *says;
} refused[] = {
	{ "kafka:", "no brokers and no topic" },
	{ "kafka:/dns", "no brokers before '/dns'" },
	{ "kafka:/", "no brokers" },
	{ "kafka:h:9092", "no topic: write kafka:BROKERS/TOPIC, e.g. kafka:h:9092/dns" },
	{ "kafka:h:9092,g:9092", "no topic" },
	{ "kafka:h:9092/", "no topic after '/'" },
	{ "kafka:h:9092/,linger=1", "no topic after '/'" },
	{ "kafka:h:9092,linger=0.5", "no topic" },
	{ "kafka:h,linger=0.5/x", "no topic: write kafka:BROKERS/TOPIC before the options" },
	{ "kafka:h,,g/t", "empty broker" },
	{ "kafka:,h/t", "empty broker" },
	{ "kafka:h:0/t", "port must be a number between 1 and 65535" },
	{ "kafka:h:65536/t", "port" },
	{ "kafka:h:x/t", "port" },
	{ "kafka:h:/t", "port" },
	{ "kafka::9092/t", "expected HOST[:PORT]" },
	{ "kafka:::1/t", "IPv6 address in brackets" },
	{ "kafka:[::1/t", "[IPV6]:PORT" },
	{ "kafka:[]:1/t", "[IPV6]:PORT" },
	{ "kafka:h/a b", "topic 'a b'" },
	{ "kafka:h/..", "topic '..'" },
	{ "kafka:h/a/b", "topic 'a/b'" },
	{ "kafka:h/t,acks=2", "invalid value '2' for acks: expected all, 1 or 0" },
	{ "kafka:h/t,acks", "unknown option 'acks'" },
	{ "kafka:h/t,linger=-1", "for linger" },
	{ "kafka:h/t,linger=901", "for linger" },
	{ "kafka:h/t,compression=brotli", "for compression: expected none, gzip, snappy, lz4 or zstd" },
	{ "kafka:h/t,batch=0", "for batch" },
	{ "kafka:h/t,timeout=0", "for timeout" },
	{ "kafka:h/t,max-message=10", "for max-message" },
	{ "kafka:h/t,messages=0", "for messages" },
	{ "kafka:h/t,size=1K", "for size" },
	{ "kafka:h/t,wait=x", "for wait" },
	{ "kafka:h/t,stall=0", "for stall" },
	{ "kafka:h/t,nope", "unknown option 'nope' (kafka sinks take" },
	{ "kafka:h/t,idempotence=1", "unknown option 'idempotence'=..." },
	{ "kafka:h/t,acks=1,idempotence", "idempotence needs acks=all" },
	{ "kafka:h/t,", "empty option" },
	{ "kafka:h/t,,acks=1", "empty option" },
	{ "kafka:h/t,properties=/nonexistent/x", "cannot read properties file /nonexistent/x" },
	{ "file:x", "expected kafka:" },
};

START_TEST(spec_refused)
{
	struct kafka_opts o;
	struct sink_spec sp;
	char err[512];
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		err[0] = 0;
		ck_assert_msg(parse(refused[i].spec, &o, &sp, err, sizeof err) == -1, "'%s' accepted",
			      refused[i].spec);
		ck_assert_msg(strstr(err, refused[i].says), "'%s': '%s' lacks '%s'", refused[i].spec, err,
			      refused[i].says);
	}
	/* a topic of 249 bytes is Kafka's limit */
	char spec[300] = "kafka:h/";
	memset(spec + 8, 't', 249);
	ck_assert_msg(parse(spec, &o, &sp, err, sizeof err) == 0, "%s", err);
	strcat(spec, "t");
	ck_assert_int_eq(parse(spec, &o, &sp, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "1 to 249"));
}
END_TEST

static char props[64];

static void write_props(const char *text)
{
	snprintf(props, sizeof props, "/tmp/logd-kafka-props.%d", (int)getpid());
	FILE *f = fopen(props, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(spec_properties)
{
	struct kafka_opts o;
	struct sink_spec sp;
	char err[512] = "", spec[200];
	/* the file wins over defaults, the spec over the file */
	write_props("# comment\n\n  message.timeout.ms = 7000 \ncompression.type=gzip\n");
	snprintf(spec, sizeof spec, "kafka:h/t,properties=%s", props);
	ck_assert_msg(parse(spec, &o, &sp, err, sizeof err) == 0, "%s", err);
	ck_assert_uint_eq(o.timeout_ns, 7 * NS);
	ck_assert_uint_eq(sp.stall_ns, 37 * NS);
	snprintf(spec, sizeof spec, "kafka:h/t,timeout=3,properties=%s", props);
	ck_assert_msg(parse(spec, &o, &sp, err, sizeof err) == 0, "%s", err);
	ck_assert_uint_eq(o.timeout_ns, 3 * NS);
	/* refusals name the file and line */
	write_props("acks=all\nno.such.property=1\n");
	snprintf(spec, sizeof spec, "kafka:h/t,properties=%s", props);
	ck_assert_int_eq(parse(spec, &o, &sp, err, sizeof err), -1);
	ck_assert_msg(strstr(err, ":2: no.such.property=1 refused by librdkafka"), "%s", err);
	write_props("acks\n");
	ck_assert_int_eq(parse(spec, &o, &sp, err, sizeof err), -1);
	ck_assert_msg(strstr(err, ":1: expected name=value"), "%s", err);
	write_props("enable.idempotence=true\nacks=1\n");
	ck_assert_int_eq(parse(spec, &o, &sp, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "idempotence needs acks=all"), "%s", err);
	unlink(props);
}
END_TEST

/* Through the command line: exit 2 with the message (checked by the e2e
 * cli tests' convention: one line on stderr). */
static void cli(const char *spec)
{
	static struct logd_config c;
	char *argv[] = { "dnstrail-logd", "--in", "log", "--sink", (char *)spec, NULL };
	cli_parse(&c, 5, argv);
}

START_TEST(cli_no_brokers) { cli("kafka:/dns"); }
END_TEST
START_TEST(cli_no_topic) { cli("kafka:127.0.0.1:9092"); }
END_TEST
START_TEST(cli_empty_topic) { cli("kafka:127.0.0.1:9092/,acks=1"); }
END_TEST
START_TEST(cli_bad_option) { cli("kafka:127.0.0.1:9092/dns,linger=soon"); }
END_TEST
START_TEST(cli_unknown_option) { cli("kafka:127.0.0.1:9092/dns,max-size=1M"); }
END_TEST

START_TEST(cli_accepts)
{
	static struct logd_config c;
	char *argv[] = { "dnstrail-logd", "--in", "log", "--sink", "kafka:h1:9092,h2/dns,wait=3",
			 "--sink", "kafka:h1:9092,h2/other", NULL };
	cli_parse(&c, 7, argv);
	ck_assert_uint_eq(c.nsinks, 2);
	ck_assert_int_eq(c.sinks[0].kind, SINK_KAFKA);
	ck_assert_str_eq(c.sinks[0].path, "h1:9092,h2/dns");
	ck_assert_uint_eq(c.sinks[0].wait_ns, 3 * NS);
	ck_assert_uint_eq(c.sinks[0].queue_bytes, 4 << 20);
	ck_assert_uint_eq(c.sinks[0].stall_ns, 60 * NS);
	ck_assert_str_eq(c.sinks[1].path, "h1:9092,h2/other");
}
END_TEST

START_TEST(cli_same_output)
{
	static struct logd_config c;
	char *argv[] = { "dnstrail-logd", "--in", "log", "--sink", "kafka:h/dns",
			 "--sink", "kafka:h/dns,acks=1", NULL };
	cli_parse(&c, 7, argv);
}
END_TEST

/* ------------------------------------------------------------ keys */

static void key_is(const char *line, const char *want, size_t want_len)
{
	char key[KAFKA_KEY_MAX];
	size_t n = kafka_line_key(line, strlen(line), key);
	ck_assert_msg(n == want_len && !memcmp(key, want, n), "key of '%s': got %zu bytes '%.*s'",
		      line, n, (int)n, key);
}

START_TEST(keys_by_hand)
{
	const char *head = "{\"tstamp\":\"2020-01-01T00:00:00.000000000Z\",\"query_id\":1,\"rcode\":0,";
	char line[600];
#define JSON(q) (snprintf(line, sizeof line, "%s\"q\":%s,\"qtype\":\"A\"}", head, q), line)
	key_is(JSON("\"www.example.com\""), "www.example.com", 15);
	key_is(JSON("\"\""), "", 0); /* no question: no key */
	key_is(JSON("\"a\\\"b\\\\c\""), "a\"b\\c", 5);
	key_is(JSON("\"t\\tn\\nr\\r\\b\\f\\/\""), "t\tn\nr\r\b\f/", 9);
	key_is(JSON("\"\\u0001x\""), "\x01x", 2);
	key_is(JSON("\"\\u00ff\""), "\xc3\xbf", 2); /* what a JSON reader decodes, in UTF-8 */
	key_is(JSON("\"\\u20ac\""), "\xe2\x82\xac", 3);
	key_is(JSON("\"\\ud83d\\ude00\""), "\xf0\x9f\x98\x80", 4);
	key_is(JSON("\"\\ud83dx\""), "\xef\xbf\xbdx", 4); /* lone surrogate */
	key_is(JSON("\"caf\xc3\xa9\""), "caf\xc3\xa9", 5);
	key_is(JSON("\"\\u00zz\""), "", 0); /* broken escape */
	/* rrname etc. come after q: only the first ,"q": counts */
	key_is(JSON("\"x.example\",\"rrname\":\"y\",\"z\":{\"q\":\"no\"}"), "x.example", 9);
	/* not closed: no key rather than a cut one */
	snprintf(line, sizeof line, "%s\"q\":\"unterminated", head);
	key_is(line, "", 0);
	key_is("{\"tstamp\":\"x\"}", "", 0);
	/* longer than any name */
	char big[KAFKA_KEY_MAX + 200];
	int o = snprintf(big, sizeof big, "%s\"q\":\"", head);
	memset(big + o, 'a', KAFKA_KEY_MAX + 10);
	strcpy(big + o + KAFKA_KEY_MAX + 10, "\"}");
	key_is(big, "", 0);
	/* passivedns: the query field without its trailing dot */
	key_is("1600000000.000001||10.0.0.1||10.0.0.2||IN||www.example.com.||A||1.2.3.4||60||1",
	       "www.example.com", 15);
	key_is("1600000000.000001||10.0.0.1||10.0.0.2||IN||.||NS||a.root.||60||1", ".", 1);
	key_is("1600000000.000001||10.0.0.1||10.0.0.2||||||||||0||1", "", 0);
	key_is("1600000000.000001||::1||::2||IN||p\\124q\\124\\124r.||A||x||0||1", "p\\124q\\124\\124r",
	       15);
	key_is("garbage", "", 0);
	key_is("", "", 0);
#undef JSON
}
END_TEST

/* Keys of what logd's formatter writes, against the names put in. */
START_TEST(keys_from_formatter)
{
	static const char *const names[] = {
		"www.example.com", "quote\"d.example", "back\\slash.example", "tab\tnl\n.example",
		"utf8-\xc3\xa9\xe2\x82\xac.example", "bad-\xff\xfe.example", "pipe|bar||x.example", ".",
	};
	static struct tb tb;
	static char out[1 << 16];
	for (int kind = 0; kind < 3; kind++) {
		struct fmt f;
		ck_assert_int_eq(fmt_init(&f, (enum logd_format)kind, kind ? NULL : "probe"), 0);
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
			const char *nm = names[i];
			struct rec_txn *t = tb_begin(&tb, TXN_ANSWERED);
			t->msg.ts_ns = 1600000000123456789ull;
			tb_question(&tb, nm, strlen(nm), 1, 1);
			ck_assert_int_eq(tb_rr(&tb, nm, strlen(nm), "192.0.2.1", 9, 1, 60, 1, SEC_ANSWER), 0);
			ck_assert_int_eq(tb_rr(&tb, nm, strlen(nm), "192.0.2.2", 9, 1, 60, 1, SEC_ANSWER), 0);
			tb_end(&tb);
			uint32_t lines;
			size_t len = fmt_txn(&f, t, out, sizeof out, &lines);
			ck_assert_uint_gt(len, 0);
			char want[512];
			size_t wn;
			if (kind == LOGD_FMT_PASSIVEDNS) { /* as written: \DDD for '|' and controls */
				wn = 0;
				for (const char *p = nm; *p; p++) {
					uint8_t c = (uint8_t)*p;
					if (c >= 0x20 && c < 0x7f && c != '|')
						want[wn++] = (char)c;
					else
						wn += (size_t)sprintf(want + wn, "\\%03u", c);
				}
			} else {
				wn = ref_json_decode((const uint8_t *)nm, strlen(nm), (uint8_t *)want);
			}
			const char *p = out;
			for (uint32_t l = 0; l < lines; l++) {
				const char *nl = memchr(p, '\n', (size_t)(out + len - p));
				ck_assert_ptr_nonnull(nl);
				char key[KAFKA_KEY_MAX];
				size_t kn = kafka_line_key(p, (size_t)(nl - p), key);
				ck_assert_msg(kn == wn && !memcmp(key, want, wn),
					      "format %d, name %zu, line %u: key '%.*s'", kind, i, l, (int)kn,
					      key);
				p = nl + 1;
			}
		}
	}
}
END_TEST

/* ------------------------------------------------------------ release rule */

/* A mock cluster of 2 brokers, topic "t" of 2 partitions: 0 led by broker
 * 1, 1 by broker 2.  Keys go to partition crc32(key) % 2 (librdkafka's
 * default partitioner). */
static rd_kafka_t *host;
static rd_kafka_mock_cluster_t *mc;
static struct io_uring ring;

static void mock_setup(void)
{
	char err[256];
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	rd_kafka_conf_set(c, "log_level", "0", err, sizeof err);
	host = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
	ck_assert_ptr_nonnull(host);
	mc = rd_kafka_mock_cluster_new(host, 2);
	ck_assert_ptr_nonnull(mc);
	ck_assert_int_eq(rd_kafka_mock_topic_create(mc, "t", 2, 1), 0);
	ck_assert_int_eq(rd_kafka_mock_partition_set_leader(mc, "t", 0, 1), 0);
	ck_assert_int_eq(rd_kafka_mock_partition_set_leader(mc, "t", 1, 2), 0);
	ck_assert_int_eq(io_uring_queue_init(8, &ring, 0), 0);
	write_props("reconnect.backoff.max.ms=200\nlog_level=0\n");
}

static void mock_teardown(void)
{
	io_uring_queue_exit(&ring);
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(host);
	unlink(props);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static void open_sink(struct sink *s, const char *opts)
{
	struct sink_spec sp;
	struct kafka_opts o;
	char spec[sizeof sp.text], err[512] = "";
	snprintf(spec, sizeof spec, "kafka:%s/t,linger=0,properties=%s%s",
		 rd_kafka_mock_cluster_bootstraps(mc), props, opts);
	ck_assert_msg(parse(spec, &o, &sp, err, sizeof err) == 0, "%s", err);
	memcpy(sp.text, spec, sizeof sp.text);
	ck_assert_int_eq(sink_kafka_create(s, &sp, 0), 0);
	ck_assert_msg(s->ops->open(s, err, sizeof err) == 0, "%s", err);
}

/* One loop turn as loop.c does it: reap, tick, submit. */
static void turn(struct sink *s)
{
	uint64_t now = now_ns();
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = { 0, 2 * (long)MS };
	io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
	unsigned head, n = 0;
	io_uring_for_each_cqe(&ring, head, cqe)
	{
		uint64_t ud = io_uring_cqe_get_data64(cqe);
		ck_assert_uint_eq(SINK_UD_INDEX(ud), 0);
		sink_complete(s, SINK_UD_TAG(ud), cqe->res, now);
		n++;
	}
	io_uring_cq_advance(&ring, n);
	sink_tick(s, now);
	ck_assert_int_ge(sink_submit(s, &ring, now), 0);
	io_uring_submit(&ring);
}

/* Turns until cond(s) holds or ms pass; returns cond(s). */
static int run_until(struct sink *s, unsigned ms, int (*cond)(const struct sink *))
{
	uint64_t until = now_ns() + ms * MS;
	while (!cond(s) && now_ns() < until)
		turn(s);
	return cond(s);
}
static int never(const struct sink *s)
{
	(void)s;
	return 0;
}
static int wrote3(const struct sink *s)
{
	return s->st.lines_written == 3;
}
static int idle(const struct sink *s)
{
	return sink_idle(s);
}
static int stalled(const struct sink *s)
{
	return s->stalled;
}
static int resumed(const struct sink *s)
{
	return !s->stalled && sink_idle(s);
}

/* A name whose key lands on partition p. */
static void name_on(int p, int i, char *out, size_t len)
{
	for (int j = 0;; j++) {
		snprintf(out, len, "n%d-%d.example", i, j);
		if ((int)(crc32(0, (const Bytef *)out, (uInt)strlen(out)) % 2) == p)
			return;
	}
}

/* Offers record i (ring position 100 * (i + 1), one line) as its own batch
 * and hands it over, so each record has its own mark. */
static void offer_one(struct sink *s, int i, int partition)
{
	static char buf[256];
	static struct batch_rec rec;
	char name[64];
	name_on(partition, i, name, sizeof name);
	struct batch b = { .buf = buf, .cap = sizeof buf, .rec = &rec, .max = 1, .n = 1 };
	b.len = (size_t)snprintf(buf, sizeof buf, "{\"tstamp\":\"x\",\"query_id\":%d,\"rcode\":0,"
				 "\"q\":\"%s\"}\n", i, name);
	rec = (struct batch_rec){ .pos = 100ull * (uint64_t)(i + 1), .end = (uint32_t)b.len, .lines = 1 };
	b.pos_end = 100ull * (uint64_t)(i + 2);
	sink_offer(s, &b);
	turn(s);
}

static void close_sink(struct sink *s)
{
	s->ops->close(s);
	sink_free(s);
}

START_TEST(release_waits_for_reports)
{
	static struct sink s;
	open_sink(&s, "");
	ck_assert_int_eq(rd_kafka_mock_broker_set_down(mc, 2), 0);
	/* records 0-2 and 4-9 on the live partition, record 3 on the dead one */
	for (int i = 0; i < 10; i++)
		offer_one(&s, i, i == 3);
	/* the reports of 4-9 come back, but the tail stops before record 3 */
	ck_assert_msg(run_until(&s, 3000, wrote3), "written %" PRIu64,
		      s.st.lines_written);
	run_until(&s, 1000, never);
	ck_assert_uint_eq(s.st.lines_written, 3);
	ck_assert_uint_eq(s.done_pos, 400); /* records before position 400: 0, 1, 2 */
	ck_assert_int_eq(s.inflight, 1);
	ck_assert(!sink_idle(&s));
	ck_assert_int_eq(rd_kafka_mock_broker_set_up(mc, 2), 0);
	ck_assert_msg(run_until(&s, 15000, idle), "still %" PRIu64 " lines out",
		      s.lines_head - s.lines_tail);
	ck_assert_uint_eq(s.st.lines_written, 10);
	ck_assert_uint_eq(s.st.lines_dropped, 0);
	/* bytes_written: the messages' values, which carry no newline */
	uint64_t want_bytes = 0;
	for (int i = 0; i < 10; i++) {
		char name[64], line[256];
		name_on(i == 3, i, name, sizeof name);
		want_bytes += (uint64_t)snprintf(line, sizeof line, "{\"tstamp\":\"x\",\"query_id\":%d,"
						 "\"rcode\":0,\"q\":\"%s\"}", i, name);
	}
	ck_assert_uint_eq(s.st.bytes_written, want_bytes);
	ck_assert_uint_eq(s.done_pos, 1100);
	ck_assert_int_eq(s.inflight, 0);
	close_sink(&s);
}
END_TEST

START_TEST(failed_reports_counted)
{
	static struct sink s;
	/* 3 s: the live partition's messages must be acknowledged before it
	 * even on a loaded machine (1 s failed them too under a parallel load). */
	open_sink(&s, ",timeout=3");
	ck_assert_int_eq(rd_kafka_mock_broker_set_down(mc, 2), 0);
	for (int i = 0; i < 10; i++)
		offer_one(&s, i, i == 3 || i == 7);
	ck_assert_msg(run_until(&s, 20000, idle), "still %" PRIu64 " lines out",
		      s.lines_head - s.lines_tail);
	ck_assert_uint_eq(s.st.lines_written, 8);
	ck_assert_uint_eq(s.st.delivery_failed, 2);
	ck_assert_uint_eq(s.st.lines_dropped, 2);
	ck_assert_uint_eq(s.st.lines_dropped_failing, 2);
	ck_assert_uint_eq(s.done_pos, 1100); /* failed and counted: done with */
	close_sink(&s);
}
END_TEST

START_TEST(messages_bound)
{
	static struct sink s;
	open_sink(&s, ",messages=2");
	for (int i = 0; i < 50; i++) {
		char name[64];
		static char buf[256];
		static struct batch_rec rec;
		name_on(i % 2, i, name, sizeof name);
		struct batch b = { .buf = buf, .cap = sizeof buf, .rec = &rec, .max = 1, .n = 1 };
		b.len = (size_t)snprintf(buf, sizeof buf, "{\"q\":\"%s\"}\n", name);
		rec = (struct batch_rec){ .pos = 100ull * (uint64_t)(i + 1), .end = (uint32_t)b.len,
					  .lines = 1 };
		b.pos_end = 100ull * (uint64_t)(i + 2);
		sink_offer(&s, &b); /* no turn: the records pile up in the queue */
	}
	ck_assert_msg(run_until(&s, 10000, idle), "still %" PRIu64 " lines out",
		      s.lines_head - s.lines_tail);
	ck_assert_uint_eq(s.st.lines_written, 50);
	ck_assert_uint_ge(s.st.queue_full_waits, 1);
	ck_assert_uint_eq(s.done_pos, 5100);
	close_sink(&s);
}
END_TEST

START_TEST(stall_without_reports)
{
	static struct sink s;
	open_sink(&s, ",stall=1");
	ck_assert_int_eq(rd_kafka_mock_broker_set_down(mc, 2), 0);
	offer_one(&s, 0, 1);
	ck_assert(sink_holds_ring(&s));
	ck_assert(run_until(&s, 3000, stalled));
	ck_assert_uint_eq(s.st.stalls, 1);
	ck_assert(!sink_holds_ring(&s));
	offer_one(&s, 1, 0); /* dropped while stalled */
	ck_assert_uint_eq(s.st.lines_dropped_failing, 1);
	ck_assert_int_eq(rd_kafka_mock_broker_set_up(mc, 2), 0);
	ck_assert(run_until(&s, 15000, resumed));
	ck_assert_uint_eq(s.st.lines_written, 1);
	ck_assert(sink_holds_ring(&s));
	close_sink(&s);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("logd_kafka");
	TCase *tc = tcase_create("spec");
	tcase_add_test(tc, spec_defaults);
	tcase_add_test(tc, spec_options);
	tcase_add_test(tc, spec_refused);
	tcase_add_test(tc, spec_properties);
	tcase_add_exit_test(tc, cli_no_brokers, 2);
	tcase_add_exit_test(tc, cli_no_topic, 2);
	tcase_add_exit_test(tc, cli_empty_topic, 2);
	tcase_add_exit_test(tc, cli_bad_option, 2);
	tcase_add_exit_test(tc, cli_unknown_option, 2);
	tcase_add_exit_test(tc, cli_same_output, 2);
	tcase_add_test(tc, cli_accepts);
	suite_add_tcase(su, tc);
	tc = tcase_create("keys");
	tcase_add_test(tc, keys_by_hand);
	tcase_add_test(tc, keys_from_formatter);
	suite_add_tcase(su, tc);
	tc = tcase_create("release");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, mock_setup, mock_teardown);
	tcase_add_test(tc, release_waits_for_reports);
	tcase_add_test(tc, failed_reports_counted);
	tcase_add_test(tc, messages_bound);
	tcase_add_test(tc, stall_without_reports);
	suite_add_tcase(su, tc);
	SRunner *sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
