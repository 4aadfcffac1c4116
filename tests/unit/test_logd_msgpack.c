/*
 * test_logd_msgpack.c - logd's MessagePack encoder (msgpack_out.c) against
 * libmsgpack, an independent implementation: every value logd encodes
 * must come out byte for byte as libmsgpack's packer writes it (both use
 * the shortest encoding) and decode back to the same value; the JSON
 * transcoder, fed with lines logd's own formatter wrote (hostile names
 * included), must decode to what json-c makes of the same line; the
 * readers used for acks must agree with libmsgpack on where a value ends.
 */
#include "../../logd/format.h"
#include "../../logd/msgpack_out.h"
#include "test_logd_txn.h"

#include <check.h>
#include <json-c/json.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t buf[1 << 20];

/* libmsgpack's bytes for a value, to compare with ours. */
struct ref {
	msgpack_sbuffer sb;
	msgpack_packer pk;
};

static void ref_init(struct ref *r)
{
	msgpack_sbuffer_init(&r->sb);
	msgpack_packer_init(&r->pk, &r->sb, msgpack_sbuffer_write);
}

static void same_bytes(struct ref *r, const struct mpw *w)
{
	ck_assert_int_eq(w->err, 0);
	ck_assert_uint_eq(w->pos, r->sb.size);
	ck_assert_int_eq(memcmp(buf, r->sb.data, r->sb.size), 0);
	msgpack_sbuffer_destroy(&r->sb);
}

START_TEST(scalars_match_libmsgpack)
{
	static const uint64_t u[] = { 0, 1, 127, 128, 255, 256, 65535, 65536, 0xffffffffull,
				      0x100000000ull, UINT64_MAX };
	for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
		struct mpw w;
		struct ref r;
		mpw_linear(&w, buf, sizeof buf);
		ref_init(&r);
		mp_uint(&w, u[i]);
		msgpack_pack_uint64(&r.pk, u[i]);
		same_bytes(&r, &w);
	}
	static const int64_t v[] = { 0, -1, -32, -33, -128, -129, -32768, -32769, INT32_MIN,
				     (int64_t)INT32_MIN - 1, INT64_MIN, 5, INT64_MAX };
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		struct mpw w;
		struct ref r;
		mpw_linear(&w, buf, sizeof buf);
		ref_init(&r);
		mp_int(&w, v[i]);
		msgpack_pack_int64(&r.pk, v[i]);
		same_bytes(&r, &w);
	}
	struct mpw w;
	struct ref r;
	mpw_linear(&w, buf, sizeof buf);
	ref_init(&r);
	mp_nil(&w);
	mp_bool(&w, 1);
	mp_bool(&w, 0);
	msgpack_pack_nil(&r.pk);
	msgpack_pack_true(&r.pk);
	msgpack_pack_false(&r.pk);
	same_bytes(&r, &w);
}
END_TEST

START_TEST(strings_containers_ext_match_libmsgpack)
{
	static char text[70000];
	for (size_t i = 0; i < sizeof text; i++)
		text[i] = (char)('a' + i % 26);
	static const size_t lens[] = { 0, 1, 31, 32, 255, 256, 65535, 65536, 69999 };
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		struct mpw w;
		struct ref r;
		mpw_linear(&w, buf, sizeof buf);
		ref_init(&r);
		mp_str(&w, text, lens[i]);
		mp_bin(&w, text, lens[i]);
		msgpack_pack_str(&r.pk, lens[i]);
		msgpack_pack_str_body(&r.pk, text, lens[i]);
		msgpack_pack_bin(&r.pk, lens[i]);
		msgpack_pack_bin_body(&r.pk, text, lens[i]);
		same_bytes(&r, &w);
	}
	static const size_t counts[] = { 0, 15, 16, 65535, 65536 };
	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		struct mpw w;
		struct ref r;
		mpw_linear(&w, buf, sizeof buf);
		ref_init(&r);
		mp_array(&w, counts[i]);
		mp_map(&w, counts[i]);
		msgpack_pack_array(&r.pk, counts[i]);
		msgpack_pack_map(&r.pk, counts[i]);
		same_bytes(&r, &w);
	}
	static const size_t ext[] = { 1, 2, 3, 4, 8, 16, 17, 255, 256, 65536 };
	for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
		struct mpw w;
		struct ref r;
		mpw_linear(&w, buf, sizeof buf);
		ref_init(&r);
		mp_ext(&w, 5, text, ext[i]);
		msgpack_pack_ext(&r.pk, ext[i], 5);
		msgpack_pack_ext_body(&r.pk, text, ext[i]);
		same_bytes(&r, &w);
	}
}
END_TEST

START_TEST(event_time_and_patching)
{
	struct mpw w;
	mpw_linear(&w, buf, sizeof buf);
	uint64_t at = mp_array32(&w, 0);
	mp_event_time(&w, 1600000000u, 123456789u);
	mp_event_time(&w, 0xfedcba98u, 999999999u);
	mp_patch_u32(&w, at + 1, 2);
	ck_assert_int_eq(w.err, 0);
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	size_t off = 0;
	ck_assert_int_eq(msgpack_unpack_next(&u, (const char *)buf, w.pos, &off), MSGPACK_UNPACK_SUCCESS);
	ck_assert_uint_eq(off, w.pos);
	ck_assert_int_eq(u.data.type, MSGPACK_OBJECT_ARRAY);
	ck_assert_uint_eq(u.data.via.array.size, 2);
	const uint32_t want[2][2] = { { 1600000000u, 123456789u }, { 0xfedcba98u, 999999999u } };
	for (int i = 0; i < 2; i++) {
		msgpack_object *e = &u.data.via.array.ptr[i];
		ck_assert_int_eq(e->type, MSGPACK_OBJECT_EXT);
		ck_assert_int_eq(e->via.ext.type, 0);
		ck_assert_uint_eq(e->via.ext.size, 8);
		const uint8_t *b = (const uint8_t *)e->via.ext.ptr;
		uint32_t s = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
		uint32_t ns = (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
		ck_assert_uint_eq(s, want[i][0]);
		ck_assert_uint_eq(ns, want[i][1]);
	}
	msgpack_unpacked_destroy(&u);
	/* fixext 8 is 0xd7, type 0 */
	ck_assert_uint_eq(buf[5], 0xd7);
	ck_assert_uint_eq(buf[6], 0);
}
END_TEST

START_TEST(circular_and_bounded)
{
	/* A 64-byte ring, writing from position 50: the value wraps. */
	uint8_t ring[64];
	memset(ring, 0xee, sizeof ring);
	struct mpw w = { .buf = ring, .cap = sizeof ring, .pos = 50, .limit = 50 + 40 };
	mp_str(&w, "0123456789abcdefghij", 20); /* 21 bytes: 50..70 */
	ck_assert_int_eq(w.err, 0);
	ck_assert_uint_eq(w.pos, 71);
	uint8_t lin[21];
	for (int i = 0; i < 21; i++)
		lin[i] = ring[(50 + i) % 64];
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	size_t off = 0;
	ck_assert_int_eq(msgpack_unpack_next(&u, (const char *)lin, sizeof lin, &off), MSGPACK_UNPACK_SUCCESS);
	ck_assert_int_eq(u.data.type, MSGPACK_OBJECT_STR);
	ck_assert_int_eq(memcmp(u.data.via.str.ptr, "0123456789abcdefghij", 20), 0);
	msgpack_unpacked_destroy(&u);
	/* 19 bytes left before the limit: of a 20-byte value the header fits
	 * and the body is refused, and so is everything after it; nothing is
	 * written past the limit (the caller rolls back to its own mark) */
	uint8_t before[64];
	memcpy(before, ring, sizeof ring);
	mp_str(&w, "0123456789abcdefghi", 19); /* 20 bytes */
	ck_assert_int_eq(w.err, 1);
	ck_assert_uint_eq(w.pos, 72);
	mp_nil(&w);
	ck_assert_uint_eq(w.pos, 72);
	for (uint64_t p = 72; p < 50 + 64; p++) /* all but the one header byte untouched */
		ck_assert_uint_eq(ring[p % 64], before[p % 64]);
}
END_TEST

/* ---- JSON transcoding, checked through json-c ---- */

static struct json_object *mp_to_json(const msgpack_object *o)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL: return NULL;
	case MSGPACK_OBJECT_BOOLEAN: return json_object_new_boolean(o->via.boolean);
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		return o->via.u64 <= INT64_MAX ? json_object_new_int64((int64_t)o->via.u64)
					       : json_object_new_uint64(o->via.u64);
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
			ck_assert_int_eq(o->via.map.ptr[i].key.type, MSGPACK_OBJECT_STR);
			char *k = strndup(o->via.map.ptr[i].key.via.str.ptr, o->via.map.ptr[i].key.via.str.size);
			json_object_object_add(m, k, mp_to_json(&o->via.map.ptr[i].val));
			free(k);
		}
		return m;
	}
	default: ck_abort_msg("unexpected msgpack type %d", o->type); return NULL;
	}
}

/* Transcodes json, decodes it with libmsgpack, compares with json-c's
 * reading of the same text (members in order, strings as bytes). */
static void check_json(const char *json, size_t n)
{
	struct mpw w;
	mpw_linear(&w, buf, sizeof buf);
	ck_assert_msg(mp_from_json(&w, json, n) == 0, "refused: %.*s", (int)n, json);
	ck_assert_int_eq(w.err, 0);
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	size_t off = 0;
	ck_assert_int_eq(msgpack_unpack_next(&u, (const char *)buf, w.pos, &off), MSGPACK_UNPACK_SUCCESS);
	ck_assert_uint_eq(off, w.pos); /* one value, nothing after it */
	struct json_object *got = mp_to_json(&u.data);
	struct json_tokener *tok = json_tokener_new();
	char *z = strndup(json, n); /* the NUL ends a number at the end */
	struct json_object *want = json_tokener_parse_ex(tok, z, (int)n + 1);
	ck_assert_int_eq(json_tokener_get_error(tok), json_tokener_success);
	free(z);
	const int fl = JSON_C_TO_STRING_PLAIN;
	char *g = strdup(json_object_to_json_string_ext(got, fl));
	const char *x = json_object_to_json_string_ext(want, fl);
	ck_assert_msg(!strcmp(g, x), "json %.*s\n got  %s\n want %s", (int)n, json, g, x);
	free(g);
	json_object_put(got);
	json_object_put(want);
	json_tokener_free(tok);
	msgpack_unpacked_destroy(&u);
}

START_TEST(json_samples)
{
	static const char *const ok[] = {
		"{}", "[]", "0", "-1", "18446744073709551615", "-9223372036854775808", "true", "false",
		"null", "\"\"", "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", "\"\\u0000\\u001f\\u00ff\\u00e9\"",
		"\"\\ud83d\\ude00 and \\u20ac\"", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
		"{\"a\":[1,[2,[3,{}]],{\"b\":null}],\"c\":\"d\"}", " { \"k\" : [ 1 , 2 ] } ",
		"[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]",
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		check_json(ok[i], strlen(ok[i]));
	/* 20 members: more than a fixmap holds */
	char big[1024];
	size_t n = 0;
	big[n++] = '{';
	for (int i = 0; i < 20; i++)
		n += (size_t)sprintf(big + n, "%s\"k%d\":%d", i ? "," : "", i, i * 1000);
	big[n++] = '}';
	check_json(big, n);
	/* a 70000-byte string: str32 */
	static char huge[70010];
	huge[0] = '"';
	memset(huge + 1, 'x', 70000);
	huge[70001] = '"';
	check_json(huge, 70002);
}
END_TEST

START_TEST(json_refused)
{
	static const char *const bad[] = {
		"", "{", "[1,]", "{\"a\"}", "{\"a\":1,}", "1.5", "1e3", "01", "-", "\"abc", "\"\\x\"",
		"\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"a\x01\"", "tru",
		"nul", "{} x", "[1 2]", "18446744073709551616", "-9223372036854775809", "{1:2}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct mpw w;
		mpw_linear(&w, buf, sizeof buf);
		ck_assert_msg(mp_from_json(&w, bad[i], strlen(bad[i])) < 0, "accepted: %s", bad[i]);
	}
	/* nesting: MP_JSON_DEPTH levels are fine, one more is refused */
	char deep[64];
	int d = MP_JSON_DEPTH;
	memset(deep, '[', (size_t)d);
	memset(deep + d, ']', (size_t)d);
	struct mpw w;
	mpw_linear(&w, buf, sizeof buf);
	ck_assert_int_eq(mp_from_json(&w, deep, (size_t)(2 * d)), 0);
	memset(deep, '[', (size_t)d + 1);
	memset(deep + d + 1, ']', (size_t)d + 1);
	mpw_linear(&w, buf, sizeof buf);
	ck_assert_int_lt(mp_from_json(&w, deep, (size_t)(2 * d + 2)), 0);
	/* no room: err set, refused */
	mpw_linear(&w, buf, 10);
	ck_assert_int_eq(mp_from_json(&w, "\"0123456789abcdef\"", 18), 0);
	ck_assert_int_eq(w.err, 1);
}
END_TEST

/* Lines as logd's formatter writes them, for records with every kind of
 * field, hostile names and invalid UTF-8 included. */
static size_t make_txn(struct tb *tb, int i)
{
	static const char *const names[] = {
		"www.example.com", "quote\"d.example", "back\\slash.example", "ctl\x01\x1f\x7f.example",
		"utf8-\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80.example", "bad-\xff\xfe\xc0\x80\xed\xa0\x80.x",
		"trunc\xe2\x82", ".",
	};
	const char *q = names[i % 8];
	struct rec_txn *t = tb_begin(tb, (uint8_t)(1 + i % 3));
	t->msg.ts_ns = 1600000000123456789ull + (uint64_t)i * 1000000007ull;
	t->msg.id = (uint16_t)(i * 77);
	t->msg.ip_version = i % 2 ? 6 : 4;
	t->msg.transport = i % 4 ? 17 : 6;
	t->msg.src[0] = 192;
	t->msg.dst[3] = (uint8_t)i;
	t->msg.sport = (uint16_t)(1000 + i);
	t->msg.dport = 53;
	t->msg.hflags = 0x8180;
	t->msg.msg_len = 100;
	t->count = 1 + (uint32_t)i % 3;
	if (i % 5 == 1) {
		t->msg.flags |= MSG_F_VLAN;
		t->msg.vlan = 42;
	}
	if (t->kind == TXN_ANSWERED)
		t->elapsed_ns = 12345;
	tb_question(tb, q, strlen(q), (uint16_t)(i % 2 ? 1 : 16), 1);
	for (int r = 0; r < i % 4; r++)
		tb_rr(tb, q, strlen(q), r % 2 ? "\"txt \\\"x\\\" \xff\"" : "192.0.2.1", r % 2 ? 14 : 9,
		      (uint16_t)(r % 2 ? 16 : 1), 300, 1, (uint8_t)(r == 3 ? SEC_AUTHORITY : SEC_ANSWER));
	return tb_end(tb);
}

START_TEST(json_from_logd_lines)
{
	static struct tb tb;
	static char out[1 << 16];
	enum logd_format kinds[] = { LOGD_FMT_JSON, LOGD_FMT_TRANSACTION };
	for (int k = 0; k < 2; k++) {
		struct fmt f;
		ck_assert_int_eq(fmt_init(&f, kinds[k], k ? "sensor \"7\"" : NULL), 0);
		for (int i = 0; i < 64; i++) {
			make_txn(&tb, i);
			uint32_t lines;
			size_t n = fmt_txn(&f, &tb.u.txn, out, sizeof out, &lines);
			ck_assert_uint_gt(n, 0);
			for (char *p = out, *end = out + n; p < end;) {
				char *nl = memchr(p, '\n', (size_t)(end - p));
				check_json(p, (size_t)(nl - p));
				p = nl + 1;
			}
		}
	}
}
END_TEST

/* ---- reading, for acks ---- */

START_TEST(readers_agree_with_libmsgpack)
{
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	/* a map with every kind of value, then an ack */
	msgpack_pack_map(&pk, 12);
	const char *keys[] = { "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l" };
	for (int i = 0; i < 12; i++) {
		msgpack_pack_str(&pk, 1);
		msgpack_pack_str_body(&pk, keys[i], 1);
		switch (i) {
		case 0: msgpack_pack_int64(&pk, -100000); break;
		case 1: msgpack_pack_double(&pk, 1.5); break;
		case 2: msgpack_pack_float(&pk, 2.5f); break;
		case 3: msgpack_pack_bin(&pk, 300); msgpack_pack_bin_body(&pk, buf, 300); break;
		case 4: msgpack_pack_ext(&pk, 3, 7); msgpack_pack_ext_body(&pk, buf, 3); break;
		case 5: msgpack_pack_ext(&pk, 16, 7); msgpack_pack_ext_body(&pk, buf, 16); break;
		case 6: msgpack_pack_array(&pk, 20); for (int j = 0; j < 20; j++) msgpack_pack_nil(&pk); break;
		case 7: msgpack_pack_uint64(&pk, UINT64_MAX); break;
		case 8: msgpack_pack_str(&pk, 70000); msgpack_pack_str_body(&pk, buf, 70000); break;
		case 9: msgpack_pack_map(&pk, 1); msgpack_pack_true(&pk); msgpack_pack_false(&pk); break;
		case 10: msgpack_pack_ext(&pk, 70000, 1); msgpack_pack_ext_body(&pk, buf, 70000); break;
		default: msgpack_pack_int8(&pk, -5); break;
		}
	}
	size_t first = sb.size;
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str(&pk, 3);
	msgpack_pack_str_body(&pk, "ack", 3);
	msgpack_pack_str(&pk, 24);
	msgpack_pack_str_body(&pk, "QiSe6cLEPC3ULIzu6gfr3Q==", 24);
	const uint8_t *p = (const uint8_t *)sb.data;
	ck_assert_int_eq(mp_skip(p, sb.size), (long)first);
	for (size_t cut = 0; cut < first; cut += cut < 64 ? 1 : 997)
		ck_assert_int_eq(mp_skip(p, cut), 0); /* every prefix: incomplete */
	ck_assert_int_eq(mp_skip(p + first, sb.size - first), (long)(sb.size - first));
	uint32_t count;
	ck_assert_int_eq(mp_map_at(p + first, sb.size - first, &count), 1);
	ck_assert_uint_eq(count, 1);
	const uint8_t *s;
	size_t slen;
	ck_assert_int_eq(mp_str_at(p + first + 1, sb.size - first - 1, &s, &slen), 4);
	ck_assert_uint_eq(slen, 3);
	ck_assert_int_eq(memcmp(s, "ack", 3), 0);
	ck_assert_int_eq(mp_str_at(p + first + 5, sb.size - first - 5, &s, &slen), 25); /* fixstr */
	ck_assert_int_eq(memcmp(s, "QiSe6cLEPC3ULIzu6gfr3Q==", 24), 0);
	ck_assert_int_eq(mp_str_at(p + first + 5, 10, &s, &slen), 0);
	ck_assert_int_lt(mp_map_at(p + first + 1, 4, &count), 0); /* a string is not a map */
	static const uint8_t never_used[] = { 0xc1 };
	ck_assert_int_lt(mp_skip(never_used, 1), 0);
	/* a count far beyond the bytes: incomplete, and quickly so */
	static const uint8_t huge[] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0 };
	ck_assert_int_eq(mp_skip(huge, sizeof huge), 0);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("logd_msgpack");
	TCase *tc = tcase_create("msgpack");
	tcase_add_test(tc, scalars_match_libmsgpack);
	tcase_add_test(tc, strings_containers_ext_match_libmsgpack);
	tcase_add_test(tc, event_time_and_patching);
	tcase_add_test(tc, circular_and_bounded);
	tcase_add_test(tc, json_samples);
	tcase_add_test(tc, json_refused);
	tcase_add_test(tc, json_from_logd_lines);
	tcase_add_test(tc, readers_agree_with_libmsgpack);
	suite_add_tcase(su, tc);
	SRunner *sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
