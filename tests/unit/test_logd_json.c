/*
 * test_logd_json.c - logd's JSON writer (logd/jsonw.c) against json-c and
 * libc: every string written must parse with json-c (UTF-8 validation on)
 * and decode to what ref_json_decode says; integers, addresses and
 * timestamps must match snprintf, inet_ntop and gmtime_r.
 */
#include "../../logd/jsonw.h"
#include "unit/test_logd_txn.h"

#include <arpa/inet.h>
#include "textfmt.h"

#include <check.h>
#include <inttypes.h>
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
#include <time.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	/* xorshift64*: deterministic, so a failure reproduces */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/* Writes s with jw_str, parses it with json-c, and checks the decoded
 * string against the reference. */
static void roundtrip(const uint8_t *s, size_t n)
{
	char *out = malloc(jw_str_bound(n) + 1);
	char *end = jw_str(out, (const char *)s, n);
	size_t len = (size_t)(end - out);
	REQUIRE(len <= jw_str_bound(n), "output beyond the bound");

	struct json_tokener *tok = json_tokener_new();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	struct json_object *o = json_tokener_parse_ex(tok, out, (int)len);
	enum json_tokener_error err = json_tokener_get_error(tok);
	REQUIRE(o && err == json_tokener_success, "json-c refused %.*s: %s", (int)len, out,
		json_tokener_error_desc(err));
	REQUIRE((size_t)json_tokener_get_parse_end(tok) == len, "bytes after the string");
	REQUIRE(json_object_is_type(o, json_type_string), "not a string");

	uint8_t *want = malloc(2 * n + 1);
	size_t wn = ref_json_decode(s, n, want);
	REQUIRE((size_t)json_object_get_string_len(o) == wn &&
			memcmp(json_object_get_string(o), want, wn) == 0,
		"decoded string differs for %.*s", (int)(len > 200 ? 200 : len), out);
	/* No raw control byte may survive, whatever json-c tolerates. */
	for (size_t i = 0; i < len; i++)
		REQUIRE((uint8_t)out[i] >= 0x20, "raw control byte at %zu", i);
	json_object_put(o);
	json_tokener_free(tok);
	free(want);
	free(out);
}

START_TEST(every_byte_alone)
{
	for (unsigned b = 0; b < 256; b++) {
		uint8_t s[3] = { 'a', (uint8_t)b, 'z' };
		roundtrip(s, 3);
		roundtrip(s + 1, 1);
	}
}
END_TEST

START_TEST(every_byte_together)
{
	uint8_t s[512];
	for (unsigned b = 0; b < 256; b++)
		s[b] = (uint8_t)b;
	roundtrip(s, 256);
	for (unsigned b = 0; b < 256; b++)
		s[255 - b] = (uint8_t)b;
	roundtrip(s, 256);
	/* every two-byte pair starting with each lead byte */
	for (unsigned a = 0x80; a < 256; a++) {
		for (unsigned b = 0; b < 256; b++) {
			s[2 * b] = (uint8_t)a;
			s[2 * b + 1] = (uint8_t)b;
		}
		roundtrip(s, 512);
	}
}
END_TEST

START_TEST(exact_escapes)
{
	const char in[] = "\"\\\b\f\n\r\t\x01\x1f\x7f/\xc3\xa9\xff\xc0\x80\xed\xa0\x80\xf4\x90\x80\x80";
	char out[256];
	char *e = jw_str(out, in, sizeof in - 1);
	*e = 0;
	ck_assert_str_eq(out, "\"\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\x7f/\xc3\xa9\\u00ff\\u00c0"
			      "\\u0080\\u00ed\\u00a0\\u0080\\u00f4\\u0090\\u0080\\u0080\"");
	e = jw_str(out, "", 0);
	*e = 0;
	ck_assert_str_eq(out, "\"\"");
}
END_TEST

START_TEST(utf8_edges)
{
	static const struct {
		const char *s;
		size_t len;
	} cases[] = {
		{ "\xc2\x80", 2 }, { "\xdf\xbf", 2 }, { "\xc1\xbf", 0 }, { "\xe0\xa0\x80", 3 },
		{ "\xe0\x9f\xbf", 0 }, { "\xed\x9f\xbf", 3 }, { "\xed\xa0\x80", 0 },
		{ "\xef\xbf\xbf", 3 }, { "\xf0\x90\x80\x80", 4 }, { "\xf0\x8f\xbf\xbf", 0 },
		{ "\xf4\x8f\xbf\xbf", 4 }, { "\xf4\x90\x80\x80", 0 }, { "\xf5\x80\x80\x80", 0 },
		{ "\xe2\x82", 0 }, { "\xf0\x9f\x98", 0 }, { "\x80", 0 }, { "\xfe", 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const uint8_t *s = (const uint8_t *)cases[i].s;
		size_t n = strlen(cases[i].s);
		ck_assert_msg(jw_utf8_len(s, s + n) == cases[i].len, "case %zu", i);
		roundtrip(s, n);
	}
}
END_TEST

START_TEST(random_hostile_strings)
{
	uint8_t buf[4096];
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = rnd() % 64;
		int mode = (int)(rnd() % 4);
		for (size_t i = 0; i < n; i++) {
			uint64_t r = rnd();
			switch (mode) {
			case 0: buf[i] = (uint8_t)r; break; /* anything */
			case 1: buf[i] = (uint8_t)(0x80 | (r & 0x7f)); break; /* high bytes only */
			case 2: buf[i] = (uint8_t)(r % 3 ? 0x20 + r % 95 : (r >> 8) & 0xff); break;
			default: buf[i] = "\"\\\n\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"[r % 13]; break;
			}
		}
		roundtrip(buf, n);
	}
}
END_TEST

START_TEST(long_strings)
{
	size_t n = 200000;
	uint8_t *s = malloc(n);
	for (size_t i = 0; i < n; i++)
		s[i] = (uint8_t)('a' + i % 26);
	roundtrip(s, n);
	for (size_t i = 0; i < n; i++)
		s[i] = (uint8_t)rnd();
	roundtrip(s, n);
	memset(s, 0, n); /* worst case: every byte \u0000 */
	roundtrip(s, n);
	free(s);
}
END_TEST

START_TEST(integers)
{
	uint64_t v[] = { 0, 1, 9, 10, 99, 100, 999, 1000, 65535, 4294967295ull,
			 4294967296ull, 9999999999999999999ull, UINT64_MAX };
	char a[32], b[32];
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		*jw_u64(a, v[i]) = 0;
		snprintf(b, sizeof b, "%" PRIu64, v[i]);
		ck_assert_str_eq(a, b);
	}
	/* Either side of every power of ten: where the digit count changes. */
	for (uint64_t p = 1, k = 0; k < 20; k++, p *= 10)
		for (uint64_t x = p - 1; x <= p + 1; x++) {
			*jw_u64(a, x) = 0;
			snprintf(b, sizeof b, "%" PRIu64, x);
			REQUIRE(!strcmp(a, b), "%s != %s", a, b);
		}
	for (int i = 0; i < 100000; i++) {
		uint64_t x = rnd() >> (rnd() % 64);
		*jw_u64(a, x) = 0;
		snprintf(b, sizeof b, "%" PRIu64, x);
		REQUIRE(!strcmp(a, b), "%s != %s", a, b);
	}
	/* fmt_u64 (what jw_u64 and decoded's rdata and EDNS numbers use) on
	 * 32-bit values likewise */
	for (uint64_t p = 1, k = 0; k < 10; k++, p *= 10)
		for (uint64_t x = p - 1; x <= p + 1; x++) {
			*fmt_u64(a, (uint32_t)x) = 0;
			snprintf(b, sizeof b, "%" PRIu32, (uint32_t)x);
			REQUIRE(!strcmp(a, b), "%s != %s", a, b);
		}
	*fmt_u64(a, UINT32_MAX) = 0;
	ck_assert_str_eq(a, "4294967295");
	for (int i = 0; i < 100000; i++) {
		uint32_t x = (uint32_t)(rnd() >> (rnd() % 64));
		*fmt_u64(a, x) = 0;
		snprintf(b, sizeof b, "%" PRIu32, x);
		REQUIRE(!strcmp(a, b), "%s != %s", a, b);
	}
}
END_TEST

static void check_v6(const uint8_t a[16])
{
	char mine[64], ref[64];
	*fmt_ipv6(mine, a) = 0;
	REQUIRE(inet_ntop(AF_INET6, a, ref, sizeof ref), "inet_ntop");
	REQUIRE(!strcmp(mine, ref), "%s != %s", mine, ref);
}

START_TEST(addresses)
{
	char mine[64], ref[64];
	for (int i = 0; i < 100000; i++) {
		uint8_t a[4];
		uint32_t r = (uint32_t)rnd();
		if (i < 256) /* every octet value, each position */
			r = (uint32_t)i * 0x01010101u;
		memcpy(a, &r, 4);
		*fmt_ipv4(mine, a) = 0;
		REQUIRE(inet_ntop(AF_INET, a, ref, sizeof ref), "inet_ntop");
		REQUIRE(!strcmp(mine, ref), "%s != %s", mine, ref);
	}
	uint8_t z[16] = { 0 };
	check_v6(z);
	z[15] = 1;
	check_v6(z); /* ::1 */
	static const uint8_t mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1 };
	check_v6(mapped);
	static const uint8_t compat[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 1 };
	check_v6(compat);
	/* every pattern of zero and non-zero groups, with varied values */
	for (unsigned mask = 0; mask < 256; mask++) {
		for (int k = 0; k < 8; k++) {
			uint8_t a[16];
			for (int g = 0; g < 8; g++) {
				uint16_t w = (mask >> g) & 1 ? (uint16_t)(rnd() >> (rnd() % 16)) | 1 : 0;
				if (k == 0 && (mask >> g & 1))
					w = 0xffff;
				a[2 * g] = (uint8_t)(w >> 8);
				a[2 * g + 1] = (uint8_t)w;
			}
			check_v6(a);
		}
	}
	for (int i = 0; i < 100000; i++) {
		uint8_t a[16];
		for (int k = 0; k < 16; k++)
			a[k] = (uint8_t)(rnd() % 4 ? 0 : rnd());
		check_v6(a);
	}
}
END_TEST

static void ts_is(uint64_t ns, const char *want)
{
	struct jw_tscache c;
	memset(&c, 0, sizeof c);
	char out[40];
	*jw_rfc3339(out, &c, ns) = 0;
	ck_assert_str_eq(out, want);
}

START_TEST(timestamps)
{
	ts_is(0, "1970-01-01T00:00:00.000000000Z");
	ts_is(1, "1970-01-01T00:00:00.000000001Z");
	ts_is(999999999, "1970-01-01T00:00:00.999999999Z");
	ts_is(1476976981075993000ull, "2016-10-20T15:23:01.075993000Z");
	ts_is(951782400ull * 1000000000ull, "2000-02-29T00:00:00.000000000Z");
	ts_is(951868799ull * 1000000000ull + 5, "2000-02-29T23:59:59.000000005Z");
	ts_is(4107542400ull * 1000000000ull, "2100-03-01T00:00:00.000000000Z");
	ts_is(4102444799ull * 1000000000ull + 999999999, "2099-12-31T23:59:59.999999999Z");
	ts_is(UINT64_MAX, "2554-07-21T23:34:33.709551615Z");

	/* one cache through random, repeated and backwards times vs gmtime_r */
	struct jw_tscache c;
	memset(&c, 0, sizeof c);
	uint64_t t = 1700000000ull * 1000000000ull;
	for (int i = 0; i < 200000; i++) {
		switch (rnd() % 4) {
		case 0: t = rnd() % (16725225600ull * 1000000000ull); break; /* to 2500 */
		case 1: t += rnd() % 1000000000ull; break;
		case 2: t -= t > 2000000000ull ? rnd() % 2000000000ull : 0; break;
		default: break;
		}
		char mine[40], ref[64];
		*jw_rfc3339(mine, &c, t) = 0;
		time_t s = (time_t)(t / 1000000000ull);
		struct tm tm;
		gmtime_r(&s, &tm);
		snprintf(ref, sizeof ref, "%04d-%02d-%02dT%02d:%02d:%02d.%09uZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (unsigned)(t % 1000000000ull));
		REQUIRE(!strcmp(mine, ref), "%s != %s", mine, ref);
	}
}
END_TEST

START_TEST(civil_days)
{
	for (int64_t d = 0; d < 200000; d += 1) { /* 1970 .. 2517, every day */
		int64_t y;
		unsigned m, dd;
		fmt_civil_from_days(d, &y, &m, &dd);
		time_t s = (time_t)(d * 86400);
		struct tm tm;
		gmtime_r(&s, &tm);
		REQUIRE(y == tm.tm_year + 1900 && m == (unsigned)tm.tm_mon + 1 &&
				dd == (unsigned)tm.tm_mday,
			"day %lld", (long long)d);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("logd_json");
	TCase *tc = tcase_create("writer");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, every_byte_alone);
	tcase_add_test(tc, every_byte_together);
	tcase_add_test(tc, exact_escapes);
	tcase_add_test(tc, utf8_edges);
	tcase_add_test(tc, random_hostile_strings);
	tcase_add_test(tc, long_strings);
	tcase_add_test(tc, integers);
	tcase_add_test(tc, addresses);
	tcase_add_test(tc, timestamps);
	tcase_add_test(tc, civil_days);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
