/*
 * test_logd_format.c - exact output of logd's three formats for constructed
 * transactions, the field presence rules, and the bound contract of
 * fmt_txn (whole lines or nothing, never a byte past cap).
 */
#include "../../logd/format.h"
#include "unit/test_logd_txn.h"

#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ck_assert reports every passing check to the Check runner (one write()
 * each); loops of millions of checks use this instead. */
#define REQUIRE(cond, ...)                                                                         \
	do {                                                                                       \
		if (!(cond))                                                                       \
			ck_abort_msg(__VA_ARGS__);                                                 \
	} while (0)

static struct tb tb;

/* Answered A lookup through a CNAME, IPv4, VLAN 42, one additional RR. */
static size_t txn_a(void)
{
	struct rec_txn *t = tb_begin(&tb, TXN_ANSWERED);
	struct rec_msg *m = &t->msg;
	m->ts_ns = 1476976981075993000ull;
	m->id = 4660;
	m->hflags = 0x8180;
	m->rcode = 0;
	memcpy(m->src, "\x0a\x00\x00\x01", 4);
	memcpy(m->dst, "\xc0\x00\x02\x35", 4);
	m->sport = 53000;
	m->dport = 53;
	m->msg_len = 123;
	m->vlan = 42;
	m->flags |= MSG_F_VLAN;
	t->elapsed_ns = 1500000;
	t->query_ts_ns = m->ts_ns - t->elapsed_ns;
	tb_question(&tb, "www.example.com", 15, 1, 1);
	tb_rr(&tb, "www.example.com", 15, "web.example.net", 15, 5, 300, 1, SEC_ANSWER);
	tb_rr(&tb, "web.example.net", 15, "192.0.2.7", 9, 1, 60, 3, SEC_ADDITIONAL);
	return tb_end(&tb);
}

/* NXDOMAIN seen without its query, IPv6 over TCP, unknown qtype. */
static size_t txn_nx(void)
{
	struct rec_txn *t = tb_begin(&tb, TXN_RESPONSE_ONLY);
	struct rec_msg *m = &t->msg;
	t->count = 7;
	m->ts_ns = 1000000000123456789ull;
	m->id = 1;
	m->hflags = 0x8603;
	m->rcode = 3;
	m->ip_version = 6;
	m->transport = 6;
	memcpy(m->src, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	memcpy(m->dst, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x53", 16);
	m->sport = 5353;
	m->dport = 53;
	m->msg_len = 45;
	tb_question(&tb, "nx.example", 10, 65534, 1);
	return tb_end(&tb);
}

/* Unanswered UPDATE without a question section, extreme header values. */
static size_t txn_unanswered(void)
{
	struct rec_txn *t = tb_begin(&tb, TXN_UNANSWERED);
	struct rec_msg *m = &t->msg;
	m->id = 65535;
	m->hflags = 5 << 11;
	m->transport = 6;
	memcpy(m->dst, "\xff\xff\xff\xff", 4);
	m->dport = 65535;
	return tb_end(&tb);
}

/* Names needing escapes in both JSON and passivedns. */
static size_t txn_hostile(void)
{
	struct rec_txn *t = tb_begin(&tb, TXN_RESPONSE_ONLY);
	struct rec_msg *m = &t->msg;
	m->ts_ns = 5;
	memcpy(m->src, "\x01\x02\x03\x04", 4);
	memcpy(m->dst, "\x05\x06\x07\x08", 4);
	tb_question(&tb, "a\"b\\c\x01|d", 8, 16, 3);
	tb_rr(&tb, "a\"b\\c\x01|d", 8, "\"x\xff\" \"\xc3\xa9\"", 9, 16, 1, 1, SEC_AUTHORITY);
	m->rcode = 0;
	return tb_end(&tb);
}

static void expect(enum logd_format kind, const char *sensor, size_t len, const char *want)
{
	struct fmt f;
	ck_assert_int_eq(fmt_init(&f, kind, sensor), 0);
	const struct rec_txn *t = &tb.u.txn;
	const char *why = "";
	ck_assert_msg(rec_txn_check(t, len, &why) == 0, "test record invalid: %s", why);
	size_t cap = 1 << 20;
	char *out = malloc(cap);
	uint32_t lines = 0;
	size_t n = fmt_txn(&f, t, out, cap, &lines);
	ck_assert_msg(n == strlen(want) && memcmp(out, want, n) == 0, "got:\n%.*s\nwant:\n%s",
		      (int)n, out, want);
	uint32_t nl = 0;
	for (size_t i = 0; i < n; i++)
		nl += out[i] == '\n';
	ck_assert_uint_eq(lines, nl);

	/* Bound contract: for every cap below the output, 0 and no byte past
	 * cap (checked by a guard, and by ASan in make check-asan); from the
	 * size the formatter asks for on, the same output. */
	char *buf = malloc(n + 64);
	for (size_t c = 0; c < n; c++) {
		memset(buf, 0x5a, n + 64);
		uint32_t l2;
		REQUIRE(fmt_txn(&f, t, buf, c, &l2) == 0, "output accepted with cap %zu < %zu", c, n);
		for (size_t i = c; i < n + 64; i++)
			REQUIRE((uint8_t)buf[i] == 0x5a, "wrote past cap %zu at %zu", c, i);
	}
	free(buf);
	free(out);
}

START_TEST(json_answered)
{
	size_t len = txn_a();
	expect(LOGD_FMT_JSON, "s1", len,
	       "{\"tstamp\":\"2016-10-20T15:23:01.075993000Z\",\"query_id\":4660,\"rcode\":0,"
	       "\"q\":\"www.example.com\",\"qtype\":\"A\",\"qclass\":\"IN\",\"rrname\":"
	       "\"www.example.com\",\"a\":\"web.example.net\",\"atype\":\"CNAME\",\"ttl\":300,"
	       "\"src\":\"10.0.0.1\",\"sport\":53000,\"dst\":\"192.0.2.53\",\"dport\":53,"
	       "\"protocol\":\"udp\",\"bytes\":123,\"elapsed\":1500000,\"truncated\":false,"
	       "\"aa\":false,\"rd\":true,\"ra\":true,\"opcode\":0,\"vlan\":42,\"sensor\":\"s1\","
	       "\"count\":1,\"kind\":\"answered\"}\n"
	       "{\"tstamp\":\"2016-10-20T15:23:01.075993000Z\",\"query_id\":4660,\"rcode\":0,"
	       "\"q\":\"www.example.com\",\"qtype\":\"A\",\"qclass\":\"IN\",\"rrname\":"
	       "\"web.example.net\",\"a\":\"192.0.2.7\",\"atype\":\"A\",\"ttl\":60,"
	       "\"src\":\"10.0.0.1\",\"sport\":53000,\"dst\":\"192.0.2.53\",\"dport\":53,"
	       "\"protocol\":\"udp\",\"bytes\":123,\"elapsed\":1500000,\"truncated\":false,"
	       "\"aa\":false,\"rd\":true,\"ra\":true,\"opcode\":0,\"vlan\":42,\"sensor\":\"s1\","
	       "\"count\":3,\"kind\":\"answered\",\"section\":\"additional\"}\n");
}
END_TEST

START_TEST(json_no_rr)
{
	size_t len = txn_nx();
	expect(LOGD_FMT_JSON, NULL, len,
	       "{\"tstamp\":\"2001-09-09T01:46:40.123456789Z\",\"query_id\":1,\"rcode\":3,"
	       "\"q\":\"nx.example\",\"qtype\":\"TYPE65534\",\"qclass\":\"IN\",\"rrname\":\"\","
	       "\"a\":\"\",\"atype\":\"\",\"ttl\":0,\"src\":\"2001:db8::1\",\"sport\":5353,"
	       "\"dst\":\"2001:db8::53\",\"dport\":53,\"protocol\":\"tcp\",\"bytes\":45,"
	       "\"truncated\":true,\"aa\":true,\"rd\":false,\"ra\":false,\"opcode\":0,"
	       "\"count\":7,\"kind\":\"response-only\"}\n");
	len = txn_unanswered();
	expect(LOGD_FMT_JSON, NULL, len,
	       "{\"tstamp\":\"1970-01-01T00:00:00.000000000Z\",\"query_id\":65535,\"rcode\":0,"
	       "\"q\":\"\",\"qtype\":\"\",\"qclass\":\"\",\"rrname\":\"\",\"a\":\"\",\"atype\":\"\","
	       "\"ttl\":0,\"src\":\"0.0.0.0\",\"sport\":0,\"dst\":\"255.255.255.255\","
	       "\"dport\":65535,\"protocol\":\"tcp\",\"bytes\":0,\"truncated\":false,"
	       "\"aa\":false,\"rd\":false,\"ra\":false,\"opcode\":5,\"count\":1,"
	       "\"kind\":\"unanswered\"}\n");
}
END_TEST

START_TEST(json_escaping)
{
	size_t len = txn_hostile();
	expect(LOGD_FMT_JSON, "x\"y", len,
	       "{\"tstamp\":\"1970-01-01T00:00:00.000000005Z\",\"query_id\":0,\"rcode\":0,"
	       "\"q\":\"a\\\"b\\\\c\\u0001|d\",\"qtype\":\"TXT\",\"qclass\":\"CH\","
	       "\"rrname\":\"a\\\"b\\\\c\\u0001|d\",\"a\":\"\\\"x\\u00ff\\\" \\\"\xc3\xa9\\\"\","
	       "\"atype\":\"TXT\",\"ttl\":1,\"src\":\"1.2.3.4\",\"sport\":0,\"dst\":\"5.6.7.8\","
	       "\"dport\":0,\"protocol\":\"udp\",\"bytes\":0,\"truncated\":false,\"aa\":false,"
	       "\"rd\":false,\"ra\":false,\"opcode\":0,\"sensor\":\"x\\\"y\",\"count\":1,"
	       "\"kind\":\"response-only\",\"section\":\"authority\"}\n");
}
END_TEST

START_TEST(transaction)
{
	size_t len = txn_a();
	expect(LOGD_FMT_TRANSACTION, "s1", len,
	       "{\"tstamp\":\"2016-10-20T15:23:01.075993000Z\",\"query_id\":4660,\"rcode\":0,"
	       "\"q\":\"www.example.com\",\"qtype\":\"A\",\"qclass\":\"IN\",\"src\":\"10.0.0.1\","
	       "\"sport\":53000,\"dst\":\"192.0.2.53\",\"dport\":53,\"protocol\":\"udp\","
	       "\"bytes\":123,\"elapsed\":1500000,\"truncated\":false,\"aa\":false,\"rd\":true,"
	       "\"ra\":true,\"opcode\":0,\"vlan\":42,\"sensor\":\"s1\",\"kind\":\"answered\","
	       "\"answers\":[{\"name\":\"www.example.com\",\"type\":\"CNAME\",\"ttl\":300,"
	       "\"data\":\"web.example.net\",\"count\":1},{\"name\":\"web.example.net\","
	       "\"type\":\"A\",\"ttl\":60,\"data\":\"192.0.2.7\",\"section\":\"additional\","
	       "\"count\":3}]}\n");
	len = txn_nx();
	expect(LOGD_FMT_TRANSACTION, NULL, len,
	       "{\"tstamp\":\"2001-09-09T01:46:40.123456789Z\",\"query_id\":1,\"rcode\":3,"
	       "\"q\":\"nx.example\",\"qtype\":\"TYPE65534\",\"qclass\":\"IN\","
	       "\"src\":\"2001:db8::1\",\"sport\":5353,\"dst\":\"2001:db8::53\",\"dport\":53,"
	       "\"protocol\":\"tcp\",\"bytes\":45,\"truncated\":true,\"aa\":true,\"rd\":false,"
	       "\"ra\":false,\"opcode\":0,\"kind\":\"response-only\",\"answers\":[]}\n");
}
END_TEST

START_TEST(passivedns)
{
	size_t len = txn_a();
	expect(LOGD_FMT_PASSIVEDNS, "ignored", len,
	       "1476976981.075993||10.0.0.1||192.0.2.53||IN||www.example.com.||CNAME||"
	       "web.example.net||300||1\n"
	       "1476976981.075993||10.0.0.1||192.0.2.53||IN||web.example.net.||A||192.0.2.7||60||3\n");
	len = txn_nx();
	expect(LOGD_FMT_PASSIVEDNS, NULL, len,
	       "1000000000.123456||2001:db8::1||2001:db8::53||IN||nx.example.||TYPE65534||"
	       "NXDOMAIN||0||7\n");
	len = txn_unanswered();
	expect(LOGD_FMT_PASSIVEDNS, NULL, len,
	       "0.000000||0.0.0.0||255.255.255.255||||||||||0||1\n");
	len = txn_hostile();
	expect(LOGD_FMT_PASSIVEDNS, NULL, len,
	       "0.000000||1.2.3.4||5.6.7.8||IN||a\"b\\c\\001\\124d.||TXT||\"x\\255\" \"\\195\\169\""
	       "||1||1\n");
	/* rcodes: classic spellings, then UNKNOWN-ERROR-n; the root keeps one dot */
	static const char *const want[] = { "", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMPL",
					     "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
					     "NOTZONE", "UNKNOWN-ERROR-11" };
	for (unsigned rc = 0; rc < 12; rc++) {
		struct rec_txn *t = tb_begin(&tb, TXN_ANSWERED);
		t->msg.rcode = (uint16_t)rc;
		tb_question(&tb, ".", 1, 2, 1);
		len = tb_end(&tb);
		char line[256];
		snprintf(line, sizeof line, "0.000000||0.0.0.0||0.0.0.0||IN||.||NS||%s||0||1\n",
			 want[rc]);
		expect(LOGD_FMT_PASSIVEDNS, NULL, len, line);
	}
}
END_TEST

/* Field presence: every json line parses, its keys come in the documented
 * order, and the optional keys appear exactly when their rule says. */
START_TEST(presence_rules)
{
	static const char *const order[] = {
		"tstamp", "query_id", "rcode", "q", "qtype", "qclass", "rrname", "a", "atype",
		"ttl", "src", "sport", "dst", "dport", "protocol", "bytes", "elapsed",
		"truncated", "aa", "rd", "ra", "opcode", "vlan", "sensor", "count", "kind",
		"section",
	};
	char *out = malloc(1 << 20);
	for (unsigned v = 0; v < 48; v++) {
		uint8_t kind = (uint8_t)(v % 3 + 1);
		int vlan = v / 3 % 2, sensor = v / 6 % 2, nrr = (int)(v / 12);
		struct rec_txn *t = tb_begin(&tb, kind);
		if (vlan) {
			t->msg.flags |= MSG_F_VLAN;
			t->msg.vlan = 4095;
		}
		tb_question(&tb, "q", 1, 1, 1);
		for (int i = 0; i < nrr; i++)
			tb_rr(&tb, "n", 1, "d", 1, 1, 1, 1, (uint8_t)(i % 3 + 1));
		size_t len = tb_end(&tb);
		const char *why;
		ck_assert_int_eq(rec_txn_check(t, len, &why), 0);
		struct fmt f;
		fmt_init(&f, LOGD_FMT_JSON, sensor ? "sensor-1" : NULL);
		uint32_t lines;
		size_t n = fmt_txn(&f, t, out, 1 << 20, &lines);
		ck_assert_uint_eq(lines, nrr ? (uint32_t)nrr : 1);
		char *line = out;
		for (uint32_t l = 0; l < lines; l++) {
			char *nl = memchr(line, '\n', n - (size_t)(line - out));
			ck_assert_ptr_nonnull(nl);
			struct json_object *o = json_tokener_parse(line); /* stops at '\n' */
			ck_assert_ptr_nonnull(o);
			size_t k = 0;
			json_object_object_foreach(o, key, val)
			{
				(void)val;
				while (k < sizeof order / sizeof order[0] && strcmp(order[k], key))
					k++;
				ck_assert_msg(k < sizeof order / sizeof order[0], "key %s out of order", key);
			}
			ck_assert_int_eq(json_object_object_get_ex(o, "elapsed", NULL), kind == TXN_ANSWERED);
			ck_assert_int_eq(json_object_object_get_ex(o, "vlan", NULL), vlan);
			ck_assert_int_eq(json_object_object_get_ex(o, "sensor", NULL), sensor);
			int sec = nrr ? (int)(l % 3 + 1) : SEC_ANSWER;
			ck_assert_int_eq(json_object_object_get_ex(o, "section", NULL), sec != SEC_ANSWER);
			ck_assert_int_eq(json_object_object_length(o),
					 23 + (kind == TXN_ANSWERED) + vlan + sensor + (sec != SEC_ANSWER));
			json_object_put(o);
			line = nl + 1;
		}
		ck_assert_ptr_eq(line, out + n);
	}
	free(out);
}
END_TEST

START_TEST(mnemonics)
{
	char b[FMT_MNEMONIC_MAX + 1];
	*fmt_type(b, 65) = 0;
	ck_assert_str_eq(b, "HTTPS");
	*fmt_type(b, 23) = 0;
	ck_assert_str_eq(b, "NSAP-PTR");
	*fmt_type(b, 0) = 0;
	ck_assert_str_eq(b, "TYPE0");
	*fmt_type(b, 65535) = 0;
	ck_assert_str_eq(b, "TYPE65535");
	*fmt_class(b, 255) = 0;
	ck_assert_str_eq(b, "ANY");
	*fmt_class(b, 65535) = 0;
	ck_assert_str_eq(b, "CLASS65535");
	enum logd_format k;
	ck_assert_int_eq(fmt_parse("passivedns", &k), 0);
	ck_assert_int_eq(k, LOGD_FMT_PASSIVEDNS);
	ck_assert_int_eq(fmt_parse("JSON", &k), -1);
	struct fmt f;
	char long_sensor[FMT_SENSOR_MAX + 2];
	memset(long_sensor, 'x', sizeof long_sensor - 1);
	long_sensor[sizeof long_sensor - 1] = 0;
	ck_assert_int_eq(fmt_init(&f, LOGD_FMT_JSON, long_sensor), -1);
	long_sensor[FMT_SENSOR_MAX] = 0;
	ck_assert_int_eq(fmt_init(&f, LOGD_FMT_JSON, long_sensor), 0);
}
END_TEST

/* A line whose worst case does not fit is refused even when the record
 * has room for earlier lines: the caller retries the record whole. */
START_TEST(big_record)
{
	struct rec_txn *t = tb_begin(&tb, TXN_ANSWERED);
	tb_question(&tb, "q", 1, 16, 1);
	static char data[60000];
	memset(data, '"', sizeof data);
	tb_rr(&tb, "n", 1, "small", 5, 16, 1, 1, SEC_ANSWER);
	tb_rr(&tb, "n", 1, data, sizeof data, 16, 1, 1, SEC_ANSWER);
	size_t len = tb_end(&tb);
	const char *why;
	ck_assert_int_eq(rec_txn_check(t, len, &why), 0);
	struct fmt f;
	fmt_init(&f, LOGD_FMT_JSON, NULL);
	static char out[1 << 20];
	uint32_t lines;
	ck_assert_uint_eq(fmt_txn(&f, t, out, 100000, &lines), 0);
	size_t n = fmt_txn(&f, t, out, sizeof out, &lines);
	ck_assert_uint_gt(n, 120000);
	ck_assert_uint_eq(lines, 2);
	struct json_object *o = json_tokener_parse(memchr(out, '\n', n) + 1);
	ck_assert_ptr_nonnull(o);
	struct json_object *a;
	ck_assert(json_object_object_get_ex(o, "a", &a));
	ck_assert_int_eq(json_object_get_string_len(a), sizeof data);
	json_object_put(o);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("logd_format");
	TCase *tc = tcase_create("formats");
	tcase_add_test(tc, json_answered);
	tcase_add_test(tc, json_no_rr);
	tcase_add_test(tc, json_escaping);
	tcase_add_test(tc, transaction);
	tcase_add_test(tc, passivedns);
	tcase_add_test(tc, presence_rules);
	tcase_add_test(tc, mnemonics);
	tcase_add_test(tc, big_record);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
