/*
 * fuzz_json_writer.c - logd's formatters on arbitrary names, rdata and
 * sensor: every json and transaction line must be accepted by json-c
 * (strict, UTF-8 validated), consume exactly the line, and decode every
 * string to what ref_json_decode says the input bytes must become (valid
 * UTF-8 as is, any other byte b as U+00b); every passivedns line must have
 * exactly nine fields and no control byte; and a buffer one byte too small
 * must give 0, never a cut line or a write out of bounds (ASan).
 *
 * (json-c accepts raw control bytes inside strings, so those are checked
 * separately.)
 *
 * Input: byte 0 flags (kind, IP version, VLAN, question, sensor), byte 1
 * RR count (0-15), then length-prefixed fields: qname, sensor, and per RR
 * name, data (2-byte length), type (2 bytes), section.  Missing bytes read
 * as zeros, so every input is valid.
 */
#include "../../logd/format.h"
#include "unit/test_logd_txn.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct in {
	const uint8_t *p;
	size_t n;
};

static unsigned take(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static size_t field(struct in *in, size_t len, const char **out)
{
	if (len > in->n)
		len = in->n;
	*out = (const char *)in->p;
	in->p += len;
	in->n -= len;
	return len;
}

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_json_writer: " __VA_ARGS__);                         \
			fprintf(stderr, "\n");                                                     \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* The JSON string o must be what logd makes of s[0..n). */
static void same_string(struct json_object *o, const char *s, size_t n, const char *what)
{
	CHECK(o && json_object_is_type(o, json_type_string), "%s: not a string", what);
	static uint8_t want[2 * 70000];
	size_t wn = ref_json_decode((const uint8_t *)s, n, want);
	CHECK((size_t)json_object_get_string_len(o) == wn &&
		      !memcmp(json_object_get_string(o), want, wn),
	      "%s decodes to something else", what);
}

static struct json_object *get(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;
	CHECK(json_object_object_get_ex(o, k, &v), "field %s missing", k);
	return v;
}

static struct json_object *parse_line(const char *line, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	struct json_object *o = json_tokener_parse_ex(tok, line, (int)len);
	CHECK(o && json_tokener_get_error(tok) == json_tokener_success,
	      "json-c refused a line: %s: %.*s", json_tokener_error_desc(json_tokener_get_error(tok)),
	      (int)(len > 400 ? 400 : len), line);
	CHECK((size_t)json_tokener_get_parse_end(tok) == len, "line has bytes after the object");
	json_tokener_free(tok);
	return o;
}

static struct tb tb;
static char out[8 << 20];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	unsigned flags = take(&in);
	unsigned nrr = take(&in) % 16;
	struct rec_txn *t = tb_begin(&tb, (uint8_t)(flags % 3 + 1));
	struct rec_msg *m = &t->msg;
	m->ip_version = flags & 4 ? 6 : 4;
	for (int k = 0; k < 16; k++) {
		m->src[k] = (uint8_t)(flags * 7 + (unsigned)k);
		m->dst[k] = (uint8_t)(k < 10 ? 0 : flags + (unsigned)k);
	}
	if (flags & 8) {
		m->flags |= MSG_F_VLAN;
		m->vlan = (uint16_t)(flags * 13);
	}
	m->ts_ns = (uint64_t)flags * 0x0123456789abcdull;
	m->rcode = (uint16_t)(flags >> 4);
	const char *q, *sensor;
	size_t qn = field(&in, take(&in), &q);
	int has_q = !(flags & 16);
	if (has_q)
		tb_question(&tb, q, qn, (uint16_t)(flags * 257), (uint16_t)(flags >> 2));
	size_t sn = field(&in, take(&in), &sensor);
	char sensor_z[256];
	memcpy(sensor_z, sensor, sn);
	sensor_z[sn] = 0;
	size_t sensor_len = strlen(sensor_z); /* a NUL ends it, as on a command line */
	int use_sensor = (flags & 32) != 0;
	const char *names[16], *datas[16];
	size_t nlen[16], dlen[16];
	for (unsigned i = 0; i < nrr; i++) {
		nlen[i] = field(&in, take(&in), &names[i]);
		unsigned dl = take(&in);
		dl = dl << 8 | take(&in);
		dlen[i] = field(&in, dl, &datas[i]);
		uint16_t type = (uint16_t)(take(&in) << 8 | take(&in));
		uint8_t section = (uint8_t)(take(&in) % 3 + 1);
		if (tb_rr(&tb, names[i], nlen[i], datas[i], dlen[i], type, 7, 1, section) < 0) {
			nrr = i;
			break;
		}
	}
	size_t len = tb_end(&tb);
	const char *why;
	CHECK(rec_txn_check(t, len, &why) == 0, "built an invalid record: %s", why);
	nrr = m->n_rr;

	for (int kind = 0; kind < 3; kind++) {
		struct fmt f;
		CHECK(fmt_init(&f, (enum logd_format)kind, use_sensor ? sensor_z : NULL) == 0, "fmt_init");
		uint32_t lines;
		size_t n = fmt_txn(&f, t, out, sizeof out, &lines);
		CHECK(n > 0, "no output");
		CHECK(out[n - 1] == '\n', "output does not end with a newline");
		/* one byte less: all or nothing, within bounds */
		char *tight = malloc(n - 1 ? n - 1 : 1);
		uint32_t l2;
		CHECK(fmt_txn(&f, t, tight, n - 1, &l2) == 0, "cut output accepted");
		free(tight);

		const char *line = out;
		for (uint32_t l = 0; l < lines; l++) {
			const char *nl = memchr(line, '\n', (size_t)(out + n - line));
			CHECK(nl, "fewer lines than announced");
			size_t ll = (size_t)(nl - line);
			if (kind == LOGD_FMT_PASSIVEDNS) {
				int seps = 0;
				for (size_t i = 0; i < ll; i++) {
					CHECK((uint8_t)line[i] >= 0x20 && (uint8_t)line[i] < 0x7f,
					      "raw byte 0x%02x in a passivedns line", (uint8_t)line[i]);
					if (line[i] == '|' && i + 1 < ll && line[i + 1] == '|') {
						seps++;
						i++;
					}
				}
				CHECK(seps == 8, "passivedns line with %d separators", seps);
			} else {
				/* json-c tolerates raw control bytes in strings; RFC 8259
				 * does not. */
				for (size_t i = 0; i < ll; i++)
					CHECK((uint8_t)line[i] >= 0x20, "raw control byte 0x%02x in JSON",
					      (uint8_t)line[i]);
				struct json_object *o = parse_line(line, ll);
				if (has_q)
					same_string(get(o, "q"), q, qn, "q");
				if (use_sensor)
					same_string(get(o, "sensor"), sensor_z, sensor_len, "sensor");
				if (kind == LOGD_FMT_JSON && nrr) {
					same_string(get(o, "rrname"), names[l], nlen[l], "rrname");
					same_string(get(o, "a"), datas[l], dlen[l], "a");
				}
				if (kind == LOGD_FMT_TRANSACTION) {
					struct json_object *a = get(o, "answers");
					CHECK(json_object_array_length(a) == nrr, "answers count");
					for (unsigned i = 0; i < nrr; i++) {
						struct json_object *e = json_object_array_get_idx(a, i);
						same_string(get(e, "name"), names[i], nlen[i], "name");
						same_string(get(e, "data"), datas[i], dlen[i], "data");
					}
				}
				json_object_put(o);
			}
			line = nl + 1;
		}
		CHECK(line == out + n, "more lines than announced");
	}
	return 0;
}
