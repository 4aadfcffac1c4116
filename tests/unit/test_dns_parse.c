/*
 * test_dns_parse.c - unit tests of decoded/dns_parse.c and its renderers:
 * hand-built DNS messages in, exact rec_msg contents out.
 *
 * Expected rdata strings come from dig 9.18 (BIND) itself: each rdata below
 * was served to `dig +nosplit` by tests/oracle/dig_render.py and its output
 * copied with the trailing dots of names removed (dnstrail writes names
 * without them).  Where dig refuses an rdata, the test expects RFC 3597.
 */
#include "../../decoded/dns_name.h"
#include "../../decoded/dns_parse.h"

#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- building messages ------------------------------------------------- */

struct msg {
	uint8_t b[65536];
	size_t n;
};

static void put(struct msg *m, const void *p, size_t n)
{
	ck_assert_uint_le(m->n + n, sizeof m->b);
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void put_u8(struct msg *m, unsigned v)
{
	uint8_t b = (uint8_t)v;
	put(m, &b, 1);
}

static void put_u16(struct msg *m, unsigned v)
{
	put_u8(m, v >> 8);
	put_u8(m, v & 0xff);
}

static void put_u32(struct msg *m, uint32_t v)
{
	put_u16(m, v >> 16);
	put_u16(m, v & 0xffff);
}

/* Hex digits, spaces ignored. */
static void put_hex(struct msg *m, const char *hex)
{
	unsigned hi = 0;
	int half = 0;
	for (const char *p = hex; *p; p++) {
		if (*p == ' ')
			continue;
		unsigned v = (unsigned)(*p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10);
		ck_assert_uint_lt(v, 16);
		if (half)
			put_u8(m, hi << 4 | v);
		else
			hi = v;
		half = !half;
	}
	ck_assert_int_eq(half, 0);
}

/* A dotted name, uncompressed ("." is the root); no escapes. */
static void put_name(struct msg *m, const char *name)
{
	if (strcmp(name, ".") != 0) {
		const char *p = name;
		while (*p) {
			const char *dot = strchr(p, '.');
			size_t len = dot ? (size_t)(dot - p) : strlen(p);
			put_u8(m, (unsigned)len);
			put(m, p, len);
			p += len + (dot ? 1 : 0);
		}
	}
	put_u8(m, 0);
}

static void header(struct msg *m, unsigned flags, unsigned qd, unsigned an, unsigned ns,
		   unsigned ar)
{
	m->n = 0;
	put_u16(m, 0x1234);
	put_u16(m, flags);
	put_u16(m, qd);
	put_u16(m, an);
	put_u16(m, ns);
	put_u16(m, ar);
}

/* example.com A IN at offset 12, so c00c points to it. */
static void question(struct msg *m)
{
	put_name(m, "example.com");
	put_u16(m, 1);
	put_u16(m, 1);
}

/* An RR owned by the question name, rdata in hex. */
static void rr_hex(struct msg *m, unsigned type, unsigned rclass, uint32_t ttl, const char *hex)
{
	put_hex(m, "c00c");
	put_u16(m, type);
	put_u16(m, rclass);
	put_u32(m, ttl);
	size_t len_at = m->n;
	put_u16(m, 0);
	size_t start = m->n;
	put_hex(m, hex);
	m->b[len_at] = (uint8_t)((m->n - start) >> 8);
	m->b[len_at + 1] = (uint8_t)(m->n - start);
}

/* ---- parsing ----------------------------------------------------------- */

#define BIG (1u << 20)

struct parsed {
	enum dns_parse_result r;
	struct rec_msg *m;
	struct dns_parse_stats st;
	size_t size;
};

static uint8_t *out_buf;
static char *text_stage;
static struct rec_rr rr_stage[4096];
static struct parsed P;

static void setup(void)
{
	out_buf = malloc(BIG);
	text_stage = malloc(BIG);
	ck_assert_ptr_nonnull(out_buf);
	ck_assert_ptr_nonnull(text_stage);
}

static void teardown(void)
{
	free(out_buf);
	free(text_stage);
}

/* Parses m with a record of cap bytes; checks the record when one is made. */
static struct parsed *parse_cap(const struct msg *m, size_t cap)
{
	struct msg_builder b;
	memset(&P, 0, sizeof P);
	msgb_init(&b, out_buf, cap, rr_stage, 4096, text_stage, (uint32_t)cap);
	P.r = dns_parse(m->b, m->n, &b, &P.st);
	P.m = b.m;
	if (P.r != DNS_PARSE_REJECT) {
		const char *why = NULL;
		b.m->ip_version = 4;
		P.size = msgb_finish(&b);
		ck_assert_msg(rec_msg_check(b.m, P.size, &why) == 0, "record check: %s", why);
		ck_assert_uint_eq(P.m->msg_len, m->n);
	}
	return &P;
}

static struct parsed *parse(const struct msg *m)
{
	return parse_cap(m, BIG);
}

static const char *text_of(uint32_t off, uint32_t len)
{
	static char s[8][70000];
	static int k;
	char *t = s[k++ % 8];
	ck_assert_uint_lt(len, sizeof s[0]);
	memcpy(t, rec_msg_text(P.m) + off, len);
	t[len] = 0;
	return t;
}

static const char *rr_name(unsigned i)
{
	ck_assert_uint_lt(i, P.m->n_rr);
	return text_of(rec_msg_rrs(P.m)[i].name_off, rec_msg_rrs(P.m)[i].name_len);
}

static const char *rr_data(unsigned i)
{
	ck_assert_uint_lt(i, P.m->n_rr);
	return text_of(rec_msg_rrs(P.m)[i].data_off, rec_msg_rrs(P.m)[i].data_len);
}

static const char *qname(void)
{
	ck_assert(P.m->flags & MSG_F_QUESTION);
	return text_of(P.m->qname_off, P.m->qname_len);
}

static const char *edns(void)
{
	ck_assert(P.m->flags & MSG_F_EDNS);
	return text_of(P.m->edns_off, P.m->edns_len);
}

/* One answer of the given type and rdata; returns its presentation. */
static const char *render(unsigned type, const char *hex)
{
	static struct msg m;
	header(&m, 0x8180, 1, 1, 0, 0);
	question(&m);
	rr_hex(&m, type, 1, 3600, hex);
	parse(&m);
	ck_assert_int_eq(P.r, DNS_PARSE_OK);
	ck_assert_uint_eq(P.m->n_rr, 1);
	ck_assert_uint_eq(rec_msg_rrs(P.m)[0].type, type);
	ck_assert_uint_eq(rec_msg_rrs(P.m)[0].ttl, 3600);
	return rr_data(0);
}

/* ---- RR types ------------------------------------------------------------ */

static const struct {
	uint16_t type;
	const char *hex;
	const char *text;
} rdata_cases[] = {
	{ 1, "c0000201", "192.0.2.1" },
	{ 1, "00000000", "0.0.0.0" },
	{ 1, "ffffffff", "255.255.255.255" },
	{ 28, "20010db8000000000000000000000001", "2001:db8::1" },
	{ 2, "036e7331076578616d706c6503636f6d00", "ns1.example.com" },
	{ 2, "00", "." },
	{ 5, "03777777c00c", "www.example.com" }, /* compressed, pointing at the qname */
	{ 12, "03777777c00c", "www.example.com" },
	{ 15, "000a046d61696cc00c", "10 mail.example.com" },
	{ 16, "00", "\"\"" },
	{ 34463, "", "\\# 0" }, /* no format of its own, empty */
	{ 65280, "0001ff", "\\# 3 0001FF" },
	/* dig 9.18 output, via tests/oracle/dig_render.py: */
	{ 6, "036e7331076578616d706c6503636f6d0004686f7374066d6173746572076578616d706c6503636f6d0078a3f17500001c2000000e10001275000000012c",
	  "ns1.example.com host.master.example.com 2024010101 7200 3600 1209600 300" }, /* SOA */
	{ 29, "000016138b3cf018810cbce0009895b8",
	  "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m" }, /* LOC */
	{ 29, "001215138805025065d2d40000989680",
	  "37 22 26.000 N 121 59 28.000 W 0.00m 1m 1000m 10m" }, /* LOC2 */
	{ 13, "0449363836054c494e5558",
	  "\"I686\" \"LINUX\"" }, /* HINFO */
	{ 17, "046d626f78076578616d706c6503636f6d0003747874076578616d706c6503636f6d00",
	  "mbox.example.com txt.example.com" }, /* RP */
	{ 18, "000103616673076578616d706c6503636f6d00",
	  "1 afs.example.com" }, /* AFSDB */
	{ 33, "000a001401bb03737276076578616d706c6503636f6d00",
	  "10 20 443 srv.example.com" }, /* SRV */
	{ 35, "0064000a0153075349502b4432550e215e2e2a24217369703a78407921045f736970045f756470076578616d706c6503636f6d00",
	  "100 10 \"S\" \"SIP+D2U\" \"!^.*$!sip:x@y!\" _sip._udp.example.com" }, /* NAPTR */
	{ 35, "0064000a00000000",
	  "100 10 \"\" \"\" \"\" ." }, /* NAPTR0 */
	{ 37, "00013039080102030405",
	  "PKIX 12345 RSASHA256 AQIDBAU=" }, /* CERT */
	{ 37, "00fe0001fa0102030405",
	  "OID 1 250 AQIDBAU=" }, /* CERT2 */
	{ 43, "d4310d02000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	  "54321 13 2 000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F" }, /* DS */
	{ 44, "0101000102030405060708090a0b0c0d0e0f10111213",
	  "1 1 000102030405060708090A0B0C0D0E0F10111213" }, /* SSHFP */
	{ 46, "00010d0200000e1067957b00676dee003039076578616d706c6503636f6d00deadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeef",
	  "A 13 2 3600 20250126000000 20241227000000 12345 example.com 3q2+796tvu/erb7v3q2+796tvu/erb7v3q2+796tvu8=" }, /* RRSIG */
	{ 47, "046e657874076578616d706c6503636f6d000006400100000003010140",
	  "next.example.com A MX RRSIG NSEC CAA" }, /* NSEC */
	{ 48, "0101030d000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
	  "257 3 13 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==" }, /* DNSKEY */
	{ 51, "0100000a02abcd",
	  "1 0 10 ABCD" }, /* NSEC3PARAM */
	{ 51, "0100000000",
	  "1 0 0 -" }, /* NSEC3PARAM0 */
	{ 52, "030101000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	  "3 1 1 000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F" }, /* TLSA */
	{ 53, "0301010001020304050607",
	  "3 1 1 0001020304050607" }, /* SMIMEA */
	{ 59, "d4310d02000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	  "54321 13 2 000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F" }, /* CDS */
	{ 60, "0101030d00010203040506070809",
	  "257 3 13 AAECAwQFBgcICQ==" }, /* CDNSKEY */
	{ 61, "00010203040506070809",
	  "AAECAwQFBgcICQ==" }, /* OPENPGPKEY */
	{ 62, "000000420003000460000008",
	  "66 3 A NS AAAA" }, /* CSYNC */
	{ 63, "7848b91c0101000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f",
	  "2018031900 1 1 000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F202122232425262728292A2B2C2D2E2F" }, /* ZONEMD */
	{ 256, "000a00016674703a2f2f667470312e6578616d706c652e636f6d2f7075626c6963",
	  "10 1 \"ftp://ftp1.example.com/public\"" }, /* URI */
	{ 257, "0005697373756563612e6578616d706c652e6e65743b20227822",
	  "0 issue \"ca.example.net; \\\"x\\\"\"" }, /* CAA */
	{ 257, "8003746273556e6b6e6f776e",
	  "128 tbs \"Unknown\"" }, /* CAA2 */
	{ 8, "026d67076578616d706c6503636f6d00",
	  "mg.example.com" }, /* MG */
	{ 14, "0172076578616d706c6503636f6d000165076578616d706c6503636f6d00",
	  "r.example.com e.example.com" }, /* MINFO */
	{ 11, "c0a8000106e005",
	  "192.168.0.1 6 0 1 2 13 15" }, /* WKS */
	{ 10, "564143",
	  "\\# 3 564143" }, /* NULL */
	{ 38, "00000102030405060708090a0b0c0d0e0f",
	  "0 1:203:405:607:809:a0b:c0d:e0f" }, /* A6 */
	{ 38, "40000102030405060703706678076578616d706c6503636f6d00",
	  "64 ::1:203:405:607 pfx.example.com" }, /* A6b */
	{ 30, "046e657874076578616d706c6503636f6d00400100000003",
	  "next.example.com A MX RRSIG NSEC" }, /* NXT */
	{ 25, "0100030500010203040506070809",
	  "256 3 5 AAECAwQFBgcICQ==" }, /* KEY */
	{ 24, "0001050200000e1067957b00676dee003039076578616d706c6503636f6d00deadbeef",
	  "A 5 2 3600 20250126000000 20241227000000 12345 example.com 3q2+7w==" }, /* SIG */
	{ 64, "000003666f6f076578616d706c6503636f6d00",
	  "0 foo.example.com" }, /* SVCB */
	{ 65, "000100000100180268330568332d32390568332d32380568332d323702683200040008681084e5681085e5",
	  "1 . alpn=\"h3,h3-29,h3-28,h3-27,h2\" ipv4hint=104.16.132.229,104.16.133.229" }, /* HTTPS */
	{ 16, "0f763d7370663120707472203f616c6c000d613b62286329644024650900ff",
	  "\"v=spf1 ptr ?all\" \"\" \"a;b(c)d@$e\\009\\000\\255\"" }, /* TXT */
	{ 99, "0e763d73706631206d78202d616c6c",
	  "\"v=spf1 mx -all\"" }, /* SPF */
	{ 108, "0001020304ab",
	  "00-01-02-03-04-ab" }, /* EUI48 */
	{ 49, "00010203040506070809",
	  "AAECAwQFBgcICQ==" }, /* DHCID */
	{ 45, "0a0102c00002260001020304",
	  "10 1 2 192.0.2.38 AAECAwQ=" }, /* IPSECKEY */
	{ 42, "00011803c0a801",
	  "1:192.168.1.0/24" }, /* APL */
	{ 65534, "077d120001",
	  "\\# 5 077D120001" }, /* T65534 */
	{ 19, "0c333131303631373030393536",
	  "\"311061700956\"" }, /* X25 */
	{ 20, "0f31353038363230323830303332313703303034",
	  "\"150862028003217\" \"004\"" }, /* ISDN */
	{ 21, "000a027274076578616d706c6503636f6d00",
	  "10 rt.example.com" }, /* RT */
	{ 26, "000a0161076578616d706c6503636f6d000162076578616d706c6503636f6d00",
	  "10 a.example.com b.example.com" }, /* PX */
	{ 36, "000a026b78076578616d706c6503636f6d00",
	  "10 kx.example.com" }, /* KX */
	{ 39, "06746172676574076578616d706c65036e657400",
	  "target.example.net" }, /* DNAME */
	{ 27, "082d33322e36383832083131362e383635320431302e30",
	  "\"-32.6882\" \"116.8652\" \"10.0\"" }, /* GPOS */
	{ 22, "47000580005a0000000001e133ffffff00016100",
	  "0x47000580005a0000000001e133ffffff00016100" }, /* NSAP */
	{ 109, "0001020304050607",
	  "00-01-02-03-04-05-06-07" }, /* EUI64 */
	{ 105, "000a0a010203",
	  "10 10.1.2.3" }, /* L32 */
	{ 104, "000a0001020304050607",
	  "10 1:203:405:607" }, /* NID */
	{ 107, "000a0a6c36342d7375626e6574076578616d706c6503636f6d00",
	  "10 l64-subnet.example.com" }, /* LP */
	{ 106, "000a0001020304050607",
	  "10 1:203:405:607" }, /* L64 */
	{ 55, "040200030102030405060703727673076578616d706c6503636f6d00",
	  "2 01020304 BQYH rvs.example.com" }, /* HIP */
	{ 57, "000001010001020304050607",
	  "0 1 1 AAECAwQFBgc=" }, /* RKEY */
	{ 58, "0161076578616d706c6503636f6d000162076578616d706c6503636f6d00",
	  "a.example.com b.example.com" }, /* TALINK */
	{ 260, "0a81cb00710f",
	  "10 1 1 203.0.113.15" }, /* AMTRELAY */
	{ 66, "003b011451026e73076578616d706c6503636f6d00",
	  "CDS NOTIFY 5201 ns.example.com" }, /* DSYNC */
	{ 261, "08716e616d656d696e0c6578746572723d31352d3137",
	  "\"qnamemin\" \"exterr=15-17\"" }, /* RESINFO */
	{ 262, "034254430378797a",
	  "\"BTC\" \"xyz\"" }, /* WALLET */
	{ 64, "0001000000000200040001000a0268320668332c785c79000200000003000220fb00040008010203040506070800050004010203040006001000000000000000000000000000000001fde9000461206222fdea0000",
	  "1 . mandatory=ipv4hint alpn=\"h2,h3\\\\,x\\\\\\\\y\" no-default-alpn port=8443 ipv4hint=1.2.3.4,5.6.7.8 ech=AQIDBA== ipv6hint=::1 key65001=\"a b\\\"\" key65002" }, /* SVCBALL */
	{ 250, "0b686d61632d73686132353600000067c61a92012c0004010203044fd200000000",
	  "hmac-sha256 1741036178 300 4 AQIDBA== 20434 NOERROR 0" }, /* TSIG */
	{ 250, "0b686d61632d73686132353600000067c61a92012c0004010203044fd200120006000067c61a92",
	  "hmac-sha256 1741036178 300 4 AQIDBA== 20434 BADTIME 6 AABnxhqS" }, /* TSIG2 */
	{ 249, "086773732d747369670063f40bac63f55d2c000300000004010203040000",
	  "gss-tsig 1676938156 1677024556 3 NOERROR 4 AQIDBA== 0" }, /* TKEY */
	{ 50, "0101000a027f6f14000102030405060708090a0b0c0d0e0f101112130006400100000003",
	  "1 1 10 7F6F 000G40O40K30E209185GO38E1S8124GJ A MX RRSIG NSEC" }, /* NSEC3 */
	{ 50, "010000000014000102030405060708090a0b0c0d0e0f10111213",
	  "1 0 0 - 000G40O40K30E209185GO38E1S8124GJ" }, /* NSEC3, no salt, no types */
};

START_TEST(rdata_presentation)
{
	ck_assert_str_eq(render(rdata_cases[_i].type, rdata_cases[_i].hex), rdata_cases[_i].text);
	ck_assert_uint_eq(P.st.err_rdata, 0);
	ck_assert_uint_eq(P.m->parse_error, MSG_OK);
}
END_TEST

/* RFC 1876 2: the example of its appendix, and the southern/western,
 * below-sea-level forms. */
START_TEST(loc_text)
{
	ck_assert_str_eq(render(29, "00 33 00 00 7bd1 5cd0 7bc3 7c28 00 98 91 20"),
			 "19 29 25.296 S 19 44 34.776 W -13.76m 30m 0.00m 0.00m");
	ck_assert_str_eq(render(29, "00 12 16 13 80 00 00 00 80 00 00 00 00 98 96 80"),
			 "0 0 0.000 N 0 0 0.000 E 0.00m 1m 10000m 10m");
	/* mantissa 10 in SIZE: dig refuses it; RFC 3597 and counted */
	ck_assert_str_eq(render(29, "00 a0 16 13 80 00 00 00 80 00 00 00 00 98 96 80"),
			 "\\# 16 00A01613800000008000000000989680");
}
END_TEST

START_TEST(rrsig_time_edges)
{
	/* inception 0 and expiration 2^32-1.  dig reads the times in serial
	 * arithmetic around today's date (it prints 19691231235959 here, and
	 * would print something else in 2039); dnstrail reads them as plain
	 * unsigned seconds since 1970 so that a capture always logs the same */
	ck_assert_str_eq(render(46, "0001 08 02 00000e10 ffffffff 00000000 0001 00 01"),
			 "A 8 2 3600 21060207062815 19700101000000 1 . AQ==");
	/* 0x65e07af0 = 2024-02-29 (a leap day) 12:39:12, as dig prints it */
	ck_assert_str_eq(render(46, "0030 0d 00 00000000 65e07af0 65e07af0 ffff 00 ff"),
			 "DNSKEY 13 0 0 20240229123912 20240229123912 65535 . /w==");
}
END_TEST

START_TEST(ipv6_like_inet_ntop)
{
	/* every zero-run shape against glibc's inet_ntop, which dig and tshark follow */
	static const char *const cases[] = {
		"::", "::1", "1::", "2001:db8::1", "2001:0:0:1::1", "1:0:0:2:0:0:0:3",
		"2001:db8:0:1:1:1:1:1", "::ffff:192.0.2.1", "::1.2.3.4", "1:2:3:4:5:6:7:8",
		"fe80::1:0:0:0", "0:1::", "::ffff:0:1",
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint8_t a[16];
		char hex[33], want[64];
		ck_assert_int_eq(inet_pton(AF_INET6, cases[i], a), 1);
		inet_ntop(AF_INET6, a, want, sizeof want);
		for (int k = 0; k < 16; k++)
			snprintf(hex + 2 * k, 3, "%02x", a[k]);
		ck_assert_str_eq(render(28, hex), want);
	}
	/* and a pseudo-random sweep with many zero groups */
	uint32_t x = 12345;
	for (int n = 0; n < 2000; n++) {
		uint8_t a[16];
		char hex[33], want[64];
		for (int k = 0; k < 8; k++) {
			x = x * 1103515245 + 12345;
			unsigned v = (x >> 16) % 4 ? 0 : (x >> 8) & 0xffff;
			a[2 * k] = (uint8_t)(v >> 8);
			a[2 * k + 1] = (uint8_t)v;
		}
		inet_ntop(AF_INET6, a, want, sizeof want);
		for (int k = 0; k < 16; k++)
			snprintf(hex + 2 * k, 3, "%02x", a[k]);
		ck_assert_str_eq(render(28, hex), want);
	}
}
END_TEST

START_TEST(rdata_inconsistent_is_generic)
{
	/* too long, too short, a name overrunning RDLENGTH, trailing bytes */
	ck_assert_str_eq(render(1, "c000020101"), "\\# 5 C000020101");
	ck_assert_uint_eq(P.st.err_rdata, 1);
	ck_assert_uint_eq(P.m->parse_error, MSG_ERR_RDATA);
	ck_assert_uint_eq(P.m->flags & MSG_F_PARTIAL, 0);
	ck_assert_uint_eq(P.st.messages_ok, 1);
	ck_assert_str_eq(render(28, "20010db8"), "\\# 4 20010DB8");
	ck_assert_str_eq(render(15, "000a 046d61696c 07"), "\\# 8 000A046D61696C07");
	ck_assert_str_eq(render(2, "00 00"), "\\# 2 0000");
	ck_assert_str_eq(render(13, "0449363836"), "\\# 5 0449363836"); /* HINFO, one string */
	ck_assert_str_eq(render(43, "d4310d02 0001"), "\\# 6 D4310D020001"); /* SHA-256, 2 bytes */
	ck_assert_str_eq(render(44, "0101"), "\\# 2 0101"); /* SSHFP without fingerprint */
	ck_assert_str_eq(render(48, "0101030d"), "\\# 4 0101030D"); /* DNSKEY without key */
	ck_assert_str_eq(render(47, "00 0020 6000"), "\\# 5 0000206000"); /* bitmap overrun */
	ck_assert_str_eq(render(47, "00 0100 00 0001 40"), "\\# 7 00010000000140"); /* windows out of order */
	ck_assert_str_eq(render(65, "0001 00 0001 0003 0268"), "\\# 9 000100000100030268");
	ck_assert_str_eq(render(65, "0001 00 0003 0002 01bb 0003 0002 01bb"),
			 "\\# 15 0001000003000201BB0003000201BB"); /* keys not increasing */
	ck_assert_uint_eq(P.st.err_rdata, 1);
	ck_assert_str_eq(render(257, "00 00"), "\\# 2 0000"); /* CAA without tag */
	ck_assert_str_eq(render(38, "81"), "\\# 1 81"); /* A6 prefix length 129 */
}
END_TEST

START_TEST(update_deletes_have_no_rdata)
{
	/* RFC 2136 2.5.2: class ANY, RDLENGTH 0 deletes an RRset: not a fault */
	static struct msg m;
	header(&m, 0x2800, 1, 0, 2, 0);
	put_name(&m, "example.com");
	put_u16(&m, 6);
	put_u16(&m, 1);
	rr_hex(&m, 1, 255, 0, "");
	rr_hex(&m, 28, 254, 0, "");
	parse(&m);
	ck_assert_int_eq(P.r, DNS_PARSE_OK);
	ck_assert_uint_eq(P.m->n_rr, 2);
	ck_assert_str_eq(rr_data(0), "\\# 0");
	ck_assert_str_eq(rr_data(1), "\\# 0");
	ck_assert_uint_eq(rec_msg_rrs(P.m)[0].section, SEC_AUTHORITY);
	ck_assert_uint_eq(rec_msg_rrs(P.m)[0].rclass, 255);
	ck_assert_uint_eq(P.st.err_rdata, 0);
	ck_assert_uint_eq(P.m->parse_error, MSG_OK);
}
END_TEST

/* ---- names ----------------------------------------------------------------- */

START_TEST(name_escapes_like_dig)
{
	/* the owner name dig printed as below (tests/oracle/dig_render.py) */
	static struct msg m;
	static const char label[] = "a.b\\c\"d;e(f)g@h$i j\0k\177l\377m*n-_/:<>[]{}~!#%&+=?^`|'";
	header(&m, 0x8180, 1, 1, 0, 0);
	put_u8(&m, sizeof label - 1);
	put(&m, label, sizeof label - 1);
	put_name(&m, "example.com");
	put_u16(&m, 1);
	put_u16(&m, 1);
	rr_hex(&m, 12, 1, 60, "c00c");
	parse(&m);
	ck_assert_int_eq(P.r, DNS_PARSE_OK);
	const char *want = "a\\.b\\\\c\\\"d\\;e\\(f\\)g\\@h\\$i\\032j\\000k\\127l\\255m"
			   "*n-_/:<>[]{}~!#%&+=?^`|'.example.com";
	ck_assert_str_eq(qname(), want);
	ck_assert_str_eq(rr_name(0), want);
	ck_assert_str_eq(rr_data(0), want);
}
END_TEST

/* The presentation of one name, written here from the rules alone (dig's
 * escapes; a label is written whole or, without room for 4 bytes per label
 * byte, not at all and the output is full), to hold dns_name_read's
 * 16-bytes-at-a-time label copy to the byte-by-byte rules. */
static void ref_name(const uint8_t *labels[], const size_t lens[], int n, size_t cap, char *out,
		     size_t *len, int *full)
{
	size_t k = 0;
	*full = 0;
	for (int i = 0; i < n && !*full; i++) {
		if (i) {
			if (k + 1 > cap) {
				*full = 1;
				break;
			}
			out[k++] = '.';
		}
		if (cap - k < 4 * lens[i]) {
			*full = 1;
			break;
		}
		for (size_t j = 0; j < lens[i]; j++) {
			uint8_t c = labels[i][j];
			if (c < 0x21 || c > 0x7e)
				k += (size_t)sprintf(out + k, "\\%03u", c);
			else if (strchr(".\\\";()@$", c))
				k += (size_t)sprintf(out + k, "\\%c", c);
			else
				out[k++] = (char)c;
		}
	}
	*len = k;
}

START_TEST(label_copy_matches_byte_rules)
{
	static const char plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
	uint64_t x = 0x2545f4914f6cdd1dull;
#define NEXT() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, x)
	for (int iter = 0; iter < 200000; iter++) {
		uint8_t wire[600];
		size_t w = 0;
		const uint8_t *labels[8];
		size_t lens[8];
		int n = 1 + (int)(NEXT() % 5);
		for (int i = 0; i < n; i++) {
			size_t longest = NEXT() % 4 ? 20 : 63;
			size_t len = 1 + NEXT() % longest;
			wire[w++] = (uint8_t)len;
			labels[i] = wire + w;
			lens[i] = len;
			for (size_t j = 0; j < len; j++) {
				uint64_t r = NEXT();
				/* mostly host-name bytes, some of every other kind */
				wire[w++] = r % 16 ? (uint8_t)plain[(r >> 8) % (sizeof plain - 1)]
						   : (uint8_t)(r >> 8);
			}
		}
		wire[w++] = 0;
		size_t after = NEXT() % 24; /* the message may end right after the name */
		for (size_t j = 0; j < after; j++)
			wire[w++] = (uint8_t)NEXT();
		size_t cap = NEXT() % 3 ? 1024 : NEXT() % 300;
		char got[1100], want[1100];
		size_t want_len;
		int want_full;
		ref_name(labels, lens, n, cap, want, &want_len, &want_full);
		struct wire msg = wire_init(wire, w), cur = msg;
		struct out o = out_init(got, cap);
		ck_assert_int_eq(dns_name_read(&msg, &cur, &o, NULL), DNS_NAME_OK);
		if (o.full != want_full || out_len(&o) != want_len || memcmp(got, want, want_len))
			ck_abort_msg("iteration %d (cap %zu): got %.*s (full %d), want %.*s (full %d)", iter,
				     cap, (int)out_len(&o), got, o.full, (int)want_len, want, want_full);
	}
#undef NEXT
}
END_TEST

START_TEST(name_case_kept_and_root)
{
	static struct msg m;
	header(&m, 0x8180, 1, 2, 0, 0);
	put_name(&m, "ExAmPlE.CoM");
	put_u16(&m, 2);
	put_u16(&m, 1);
	put_name(&m, ".");
	put_u16(&m, 2);
	put_u16(&m, 1);
	put_u32(&m, 518400);
	put_u16(&m, 20);
	put_name(&m, "a.ROOT-servers.net");
	rr_hex(&m, 1, 1, 1, "7f000001");
	parse(&m);
	ck_assert_int_eq(P.r, DNS_PARSE_OK);
	ck_assert_str_eq(qname(), "ExAmPlE.CoM");
	ck_assert_str_eq(rr_name(0), ".");
	ck_assert_str_eq(rr_data(0), "a.ROOT-servers.net");
	ck_assert_str_eq(rr_name(1), "ExAmPlE.CoM");
	ck_assert_uint_eq(P.m->qtype, 2);
	ck_assert_uint_eq(P.m->qclass, 1);
}
END_TEST

START_TEST(name_limits)
{
	static struct msg m;
	/* 255 bytes exactly: 3 labels of 63, one of 61, the root */
	header(&m, 0x0100, 1, 0, 0, 0);
	for (int i = 0; i < 3; i++) {
		put_u8(&m, 63);
		for (int k = 0; k < 63; k++)
			put_u8(&m, 'a');
	}
	put_u8(&m, 61);
	for (int k = 0; k < 61; k++)
		put_u8(&m, 'b');
	put_u8(&m, 0);
	put_u16(&m, 1);
	put_u16(&m, 1);
	parse(&m);
	ck_assert_int_eq(P.r, DNS_PARSE_OK);
	ck_assert_uint_eq(P.m->qname_len, 3 * 64 + 61);

	/* 256 bytes: refused */
	header(&m, 0x0100, 1, 0, 0, 0);
	for (int i = 0; i < 3; i++) {
		put_u8(&m, 63);
		for (int k = 0; k < 63; k++)
			put_u8(&m, 'a');
	}
	put_u8(&m, 62);
	for (int k = 0; k < 62; k++)
		put_u8(&m, 'b');
	put_u8(&m, 0);
	put_u16(&m, 1);
	put_u16(&m, 1);
	parse(&m);
	ck_assert_int_eq(P.r, DNS_PARSE_REJECT);
	ck_assert_uint_eq(P.st.rejected_question, 1);
	ck_assert_uint_eq(P.st.err_bad_name, 1);

	/* label types 0x40 (a 64-byte "label") and 0x80 */
	header(&m, 0x0100, 1, 0, 0, 0);
	put_hex(&m, "40 61 00 0001 0001");
	ck_assert_int_eq(parse(&m)->r, DNS_PARSE_REJECT);
	ck_assert_uint_eq(P.st.err_bad_name, 1);
	header(&m, 0x0100, 1, 0, 0, 0);
	put_hex(&m, "80 61 00 0001 0001");
	ck_assert_int_eq(parse(&m)->r, DNS_PARSE_REJECT);
	ck_assert_uint_eq(P.st.err_bad_name, 1);

	/* a pointer past the end of the message */
	header(&m, 0x0100, 1, 0, 0, 0);
	put_hex(&m, "c0ff 0001 0001");
	ck_assert_int_eq(parse(&m)->r, DNS_PARSE_REJECT);
	ck_assert_uint_eq(P.st.err_bad_name, 1);

	/* a name cut by the end of the message */
	header(&m, 0x0100, 1, 0, 0, 0);
	put_hex(&m, "07 6578616d");
	ck_assert_int_eq(parse(&m)->r, DNS_PARSE_REJECT);
	ck_assert_uint_eq(P.st.err_truncated, 1);
}
END_TEST

static struct msg *pointer_chain(struct msg *m, unsigned n)
{
	header(m, 0x0100, 1, 0, 0, 0);
	put_u16(m, 0xc000 | (19 + 2 * (n - 1))); /* offset 12: the last pointer */
	put_hex(m, "0001 0001 00");		 /* offset 18: a root */
	for (unsigned i = 0; i < n; i++)	 /* offsets 19, 21, ... */
		put_u16(m, 0xc000 | (i ? 19 + 2 * (i - 1) : 18));
	return m;
}

START_TEST(pointer_loops)
{
	static struct msg m;
	/* a pointer to itself */
	header(&m, 0x0100, 1, 0, 0, 0);
	put_hex(&m, "c00c 0001 0001");
	ck_assert_int_eq(parse(&m)->r, DNS_PARSE_REJECT);
	ck_assert_uint_eq(P.st.rejected_question, 1);
	ck_assert_uint_eq(P.st.err_pointer_loop, 1);

	/* a label then a pointer back to it: "a.a.a..." */
	header(&m, 0x0100, 1, 0, 0, 0);
	put_hex(&m, "0161 c00c 0001 0001");
	ck_assert_int_eq(parse(&m)->r, DNS_PARSE_REJECT);
	ck_assert_uint_eq(P.st.err_pointer_loop, 1);

	/* two names pointing at each other, in an answer: PARTIAL, the RR
	 * before is kept */
	header(&m, 0x8180, 1, 2, 0, 0);
	question(&m);
	rr_hex(&m, 1, 1, 60, "c0000201");
	size_t at = m.n; /* owner: b -> (at + 4) */
	put_hex(&m, "0162");
	put_u16(&m, 0xc000 | (unsigned)(at + 4));
	put_hex(&m, "0163");
	put_u16(&m, 0xc000 | (unsigned)at);
	put_hex(&m, "0001 0001 0000003c 0004 c0000202");
	parse(&m);
	ck_assert_int_eq(P.r, DNS_PARSE_PARTIAL);
	ck_assert_uint_eq(P.m->flags & MSG_F_PARTIAL, MSG_F_PARTIAL);
	ck_assert_uint_eq(P.m->parse_error, MSG_ERR_POINTER_LOOP);
	ck_assert_uint_eq(P.st.messages_partial, 1);
	ck_assert_uint_eq(P.st.err_pointer_loop, 1);
	ck_assert_uint_eq(P.m->n_rr, 1);
	ck_assert_str_eq(rr_data(0), "192.0.2.1");

	/* a question that is a forward pointer to the end of a chain of n
	 * backward pointers ending at a root: n + 1 hops */
	ck_assert_int_eq(parse(pointer_chain(&m, 127))->r, DNS_PARSE_OK);
	ck_assert_str_eq(qname(), ".");
	ck_assert_int_eq(parse(pointer_chain(&m, 128))->r, DNS_PARSE_REJECT);
	ck_assert_uint_eq(P.st.err_pointer_loop, 1);
}
END_TEST

START_TEST(forward_pointer_followed)
{
	/* suricata_dns-forward-pointer: the first question points forward to the
	 * second; tshark reads both as codemonkey.net, so does dnstrail */
	static struct msg m;
	header(&m, 0x0100, 2, 0, 0, 0);
	put_hex(&m, "c012 0001 0001");
	put_name(&m, "codemonkey.net");
	put_hex(&m, "0001 0001");
	parse(&m);
	ck_assert_int_eq(P.r, DNS_PARSE_OK);
	ck_assert_str_eq(qname(), "codemonkey.net");
	ck_assert_uint_eq(P.m->counts[0], 2);
}
END_TEST

START_TEST(owner_names_share_text)
{
	/* RRs whose owner is a pointer to the question share its text */
	static struct msg m;
	header(&m, 0x8180, 1, 3, 0, 0);
	question(&m);
	rr_hex(&m, 1, 1, 60, "c0000201");
	rr_hex(&m, 1, 1, 60, "c0000202");
	put_hex(&m, "03777777 c00c 0001 0001 0000003c 0004 c0000203");
	parse(&m);
	ck_assert_int_eq(P.r, DNS_PARSE_OK);
	const struct rec_rr *rr = rec_msg_rrs(P.m);
	ck_assert_uint_eq(rr[0].name_off, P.m->qname_off);
	ck_assert_uint_eq(rr[1].name_off, P.m->qname_off);
	ck_assert_str_eq(rr_name(1), "example.com");
	ck_assert_str_eq(rr_name(2), "www.example.com");
	ck_assert_str_eq(rr_data(2), "192.0.2.3");

	/* The builder hashes each name and rdata once, for correlated's keys
	 * (records.h), the shared span and the own owner name alike; names
	 * fold case, rdata does not.  An RR's hash is that of its whole dedup
	 * key: question name and type, owner, rdata, type, section. */
	uint32_t qh = rec_qname_hash("EXAMPLE.com", 11);
	ck_assert_uint_eq(P.m->qname_hash, qh);
	ck_assert_uint_ne(P.m->qname_hash, rec_qname_hash("example.org", 11));
	ck_assert_uint_eq(rr[0].hash, rec_rr_hash(qh, 1, "example.com", 11, "192.0.2.1", 9, 1, SEC_ANSWER));
	ck_assert_uint_eq(rr[1].hash, rec_rr_hash(qh, 1, "Example.com", 11, "192.0.2.2", 9, 1, SEC_ANSWER));
	ck_assert_uint_eq(rr[2].hash,
			  rec_rr_hash(qh, 1, "WWW.example.com", 15, "192.0.2.3", 9, 1, SEC_ANSWER));
	ck_assert_uint_ne(rr[0].hash, rr[1].hash);
	ck_assert_uint_ne(rec_rr_hash(qh, 16, "x", 1, "\"A\"", 3, 16, SEC_ANSWER),
			  rec_rr_hash(qh, 16, "x", 1, "\"a\"", 3, 16, SEC_ANSWER));
	/* Each other part of the key changes the hash too. */
	uint32_t base = rr[0].hash;
	ck_assert_uint_ne(base, rec_rr_hash(rec_qname_hash("example.org", 11), 1, "example.com", 11,
					    "192.0.2.1", 9, 1, SEC_ANSWER));
	ck_assert_uint_ne(base, rec_rr_hash(qh, 28, "example.com", 11, "192.0.2.1", 9, 1, SEC_ANSWER));
	ck_assert_uint_ne(base, rec_rr_hash(qh, 1, "example.com", 11, "192.0.2.1", 9, 5, SEC_ANSWER));
	ck_assert_uint_ne(base, rec_rr_hash(qh, 1, "example.com", 11, "192.0.2.1", 9, 1, SEC_ADDITIONAL));
}
END_TEST

/* ---- message structure ------------------------------------------------------ */

START_TEST(short_and_empty)
{
	static struct msg m;
	m.n = 11;
	memset(m.b, 0, 11);
	ck_assert_int_eq(parse(&m)->r, DNS_PARSE_REJECT);
	ck_assert_uint_eq(P.st.rejected_short, 1);

	/* QDCOUNT 0 (a NOTIFY answer, say): OK, no question */
	header(&m, 0xa400, 0, 0, 0, 0);
	ck_assert_int_eq(parse(&m)->r, DNS_PARSE_OK);
	ck_assert_uint_eq(P.m->flags & MSG_F_QUESTION, 0);
	ck_assert_uint_eq(P.m->id, 0x1234);
	ck_assert_uint_eq(P.m->hflags, 0xa400);
	ck_assert_uint_eq(DNS_OPCODE(P.m->hflags), 4);
	ck_assert_uint_eq(P.st.messages_ok, 1);
}
END_TEST

START_TEST(truncated_sections)
{
	static struct msg m;
	/* ANCOUNT 3, two RRs present */
	header(&m, 0x8180, 1, 3, 0, 0);
	question(&m);
	rr_hex(&m, 1, 1, 60, "c0000201");
	rr_hex(&m, 1, 1, 60, "c0000202");
	parse(&m);
	ck_assert_int_eq(P.r, DNS_PARSE_PARTIAL);
	ck_assert_uint_eq(P.m->parse_error, MSG_ERR_TRUNCATED);
	ck_assert_uint_eq(P.st.err_truncated, 1);
	ck_assert_uint_eq(P.m->n_rr, 2);
	ck_assert_str_eq(rr_data(1), "192.0.2.2");
	ck_assert_uint_eq(P.m->counts[1], 3);

	/* RDLENGTH past the end */
	header(&m, 0x8180, 1, 2, 0, 0);
	question(&m);
	rr_hex(&m, 1, 1, 60, "c0000201");
	put_hex(&m, "c00c 0001 0001 0000003c 0010 c000");
	parse(&m);
	ck_assert_int_eq(P.r, DNS_PARSE_PARTIAL);
	ck_assert_uint_eq(P.m->parse_error, MSG_ERR_TRUNCATED);
	ck_assert_uint_eq(P.m->n_rr, 1);

	/* fixed fields cut */
	header(&m, 0x8180, 1, 1, 0, 0);
	question(&m);
	put_hex(&m, "c00c 0001 00");
	ck_assert_int_eq(parse(&m)->r, DNS_PARSE_PARTIAL);
	ck_assert_uint_eq(P.m->n_rr, 0);
	ck_assert_str_eq(qname(), "example.com");

	/* question cut after its name */
	header(&m, 0x0100, 1, 0, 0, 0);
	put_name(&m, "example.com");
	put_hex(&m, "00");
	ck_assert_int_eq(parse(&m)->r, DNS_PARSE_REJECT);
	ck_assert_uint_eq(P.st.rejected_question, 1);
	ck_assert_uint_eq(P.st.err_truncated, 1);

	/* a bad second question: PARTIAL, the first one kept */
	header(&m, 0x0100, 2, 0, 0, 0);
	question(&m);
	put_hex(&m, "c00c 0001");
	ck_assert_int_eq(parse(&m)->r, DNS_PARSE_PARTIAL);
	ck_assert_str_eq(qname(), "example.com");
	ck_assert_uint_eq(P.m->parse_error, MSG_ERR_TRUNCATED);
}
END_TEST

START_TEST(more_questions_and_trailing)
{
	static struct msg m;
	header(&m, 0x8180, 2, 1, 0, 0);
	question(&m);
	put_name(&m, "other.example");
	put_hex(&m, "001c 0001");
	rr_hex(&m, 1, 1, 60, "c0000201");
	put_hex(&m, "deadbeef");
	parse(&m);
	ck_assert_int_eq(P.r, DNS_PARSE_OK);
	ck_assert_str_eq(qname(), "example.com");
	ck_assert_uint_eq(P.m->qtype, 1);
	ck_assert_uint_eq(P.m->n_rr, 1);
	ck_assert_uint_eq(P.m->parse_error, MSG_ERR_TRAILING);
	ck_assert_uint_eq(P.m->flags & MSG_F_PARTIAL, 0);
	ck_assert_uint_eq(P.st.trailing_bytes, 1);
	ck_assert_uint_eq(P.st.messages_ok, 1);
}
END_TEST

START_TEST(sections_and_classes)
{
	static struct msg m;
	header(&m, 0x8400, 1, 1, 1, 1);
	question(&m);
	rr_hex(&m, 1, 1, 0xffffffff, "c0000201");
	rr_hex(&m, 2, 3, 7, "00");
	rr_hex(&m, 1, 0x8001, 120, "0a000001"); /* mDNS cache-flush bit kept */
	parse(&m);
	ck_assert_int_eq(P.r, DNS_PARSE_OK);
	const struct rec_rr *rr = rec_msg_rrs(P.m);
	ck_assert_uint_eq(P.m->n_rr, 3);
	ck_assert_uint_eq(rr[0].section, SEC_ANSWER);
	ck_assert_uint_eq(rr[0].ttl, 0xffffffffu);
	ck_assert_uint_eq(rr[0].count, 1);
	ck_assert_uint_eq(rr[1].section, SEC_AUTHORITY);
	ck_assert_uint_eq(rr[1].rclass, 3);
	ck_assert_uint_eq(rr[2].section, SEC_ADDITIONAL);
	ck_assert_uint_eq(rr[2].rclass, 0x8001);
	ck_assert_uint_eq(P.m->counts[3], 1);
}
END_TEST

/* ---- EDNS ------------------------------------------------------------------- */

static void opt(struct msg *m, unsigned udp, uint32_t ttl, const char *hex)
{
	put_hex(m, "00 0029");
	put_u16(m, udp);
	put_u32(m, ttl);
	size_t len_at = m->n;
	put_u16(m, 0);
	size_t start = m->n;
	put_hex(m, hex);
	m->b[len_at] = (uint8_t)((m->n - start) >> 8);
	m->b[len_at + 1] = (uint8_t)(m->n - start);
}

START_TEST(edns_summary)
{
	static struct msg m;
	header(&m, 0x0100, 1, 0, 0, 1);
	question(&m);
	opt(&m, 1232, 0x00008000,
	    "0008 0007 0001 18 00 c00002"	/* ECS 192.0.2.0/24/0 */
	    "000a 0008 0001020304050607"	/* COOKIE, client part only */
	    "0003 0003 6e7331"			/* NSID "ns1" */
	    "000c 0003 000000"			/* padding */
	    "000b 0002 0064"			/* keepalive 10 s */
	    "0009 0000"				/* EXPIRE, asked */
	    "000f 0009 0012 626c6f636b6564"	/* EDE 18 "blocked" */
	    "fde9 0002 abcd"			/* opt65001 */
	    "0003 0000");			/* NSID request */
	parse(&m);
	ck_assert_int_eq(P.r, DNS_PARSE_OK);
	ck_assert_uint_eq(P.m->n_rr, 0); /* OPT is not an RR of the record */
	ck_assert_uint_eq(P.m->flags & (MSG_F_EDNS | MSG_F_EDNS_DO), MSG_F_EDNS | MSG_F_EDNS_DO);
	ck_assert_uint_eq(P.m->edns_udp_size, 1232);
	ck_assert_uint_eq(P.m->edns_version, 0);
	ck_assert_str_eq(edns(), "udp=1232 v=0 do ecs=192.0.2.0/24/0 cookie=0001020304050607 "
				 "nsid=6e7331 padding=3 keepalive=100 expire ede=18:blocked "
				 "opt65001=abcd nsid");

	/* IPv6 ECS, version 1, reserved Z bits, an option cut short */
	header(&m, 0x0100, 1, 0, 0, 1);
	question(&m);
	opt(&m, 512, 0x00010001, "0008 000b 0002 38 00 20010db8000000 000f 0002 0005 0003 0001");
	parse(&m);
	ck_assert_int_eq(P.r, DNS_PARSE_OK);
	ck_assert_str_eq(edns(), "udp=512 v=1 z=0x0001 ecs=2001:db8::/56/0 ede=5 malformed");
	ck_assert_uint_eq(P.m->flags & MSG_F_EDNS_DO, 0);
	ck_assert_uint_eq(P.m->edns_version, 1);
	ck_assert_uint_eq(P.st.err_rdata, 1);
	ck_assert_uint_eq(P.m->parse_error, MSG_ERR_RDATA);
}
END_TEST

START_TEST(edns_extended_rcode)
{
	/* tcpdump_dns-badcookie: header RCODE 7, OPT extended RCODE 1 = 23 */
	static struct msg m;
	header(&m, 0x8187, 1, 0, 0, 1);
	question(&m);
	opt(&m, 4096, 0x01000000, "");
	parse(&m);
	ck_assert_uint_eq(P.m->rcode, 23);
	ck_assert_str_eq(edns(), "udp=4096 v=0");

	/* a second OPT, and an OPT outside the additional section, are plain RRs */
	header(&m, 0x8180, 1, 1, 0, 2);
	question(&m);
	opt(&m, 1, 0, "");
	opt(&m, 4096, 0xff000000, "");
	opt(&m, 1232, 0x02000000, "0001 0000");
	parse(&m);
	ck_assert_int_eq(P.r, DNS_PARSE_OK);
	ck_assert_uint_eq(P.m->rcode, 0xff0);
	ck_assert_uint_eq(P.m->n_rr, 2);
	ck_assert_uint_eq(rec_msg_rrs(P.m)[0].section, SEC_ANSWER);
	ck_assert_str_eq(rr_data(0), "\\# 0");
	ck_assert_str_eq(rr_name(1), ".");
	ck_assert_str_eq(rr_data(1), "\\# 4 00010000");
}
END_TEST

START_TEST(edns_summary_bounded)
{
	/* 200 NSID options of 64 bytes: the summary stops at 512 bytes with " ..." */
	static struct msg m;
	char hex[200 * (8 + 128) + 1], *p = hex;
	for (int i = 0; i < 200; i++) {
		p += sprintf(p, "00030040");
		for (int k = 0; k < 64; k++)
			p += sprintf(p, "%02x", k);
	}
	header(&m, 0x0100, 1, 0, 0, 1);
	question(&m);
	opt(&m, 4096, 0, hex);
	parse(&m);
	const char *s = edns();
	ck_assert_uint_le(strlen(s), 512);
	ck_assert_str_eq(s + strlen(s) - 4, " ...");
	ck_assert_int_eq(strncmp(s, "udp=4096 v=0 nsid=000102", 24), 0);
	/* hex values longer than 64 bytes are cut with "..." */
	header(&m, 0x0100, 1, 0, 0, 1);
	question(&m);
	opt(&m, 4096, 0, "fde9 0041 00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000 ff");
	parse(&m);
	ck_assert_str_eq(edns(), "udp=4096 v=0 opt65001=00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000...");
}
END_TEST

/* ---- record size limit ------------------------------------------------------ */

START_TEST(text_cut)
{
	static struct msg m;
	header(&m, 0x8180, 1, 20, 0, 1);
	question(&m);
	for (int i = 0; i < 20; i++)
		rr_hex(&m, 16, 1, 60, "40 61616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161");
	opt(&m, 1232, 0x8000, "");
	/* roomy: all 20 */
	parse(&m);
	ck_assert_uint_eq(P.m->n_rr, 20);
	ck_assert_uint_eq(P.m->flags & MSG_F_TEXT_CUT, 0);
	/* 1 KiB: header + a few RRs; the rest left out, flagged and counted */
	parse_cap(&m, 1024);
	ck_assert_int_eq(P.r, DNS_PARSE_OK);
	ck_assert_uint_eq(P.m->flags & MSG_F_TEXT_CUT, MSG_F_TEXT_CUT);
	ck_assert_uint_eq(P.st.text_cut, 1);
	ck_assert_uint_gt(P.m->n_rr, 0);
	ck_assert_uint_lt(P.m->n_rr, 20);
	ck_assert_uint_le(P.size, 1024);
	ck_assert_str_eq(qname(), "example.com");
	ck_assert_str_eq(rr_data(P.m->n_rr - 1),
			 "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"");
	/* the EDNS facts survive the cut even if its text does not fit */
	ck_assert_uint_eq(P.m->edns_udp_size, 1232);
	ck_assert_uint_eq(P.m->flags & MSG_F_EDNS_DO, MSG_F_EDNS_DO);
	/* a record too small for even the question name */
	parse_cap(&m, sizeof(struct rec_msg) + 4);
	ck_assert_int_eq(P.r, DNS_PARSE_OK);
	ck_assert_uint_eq(P.m->flags & MSG_F_QUESTION, 0);
	ck_assert_uint_eq(P.m->n_rr, 0);
	ck_assert_uint_eq(P.m->qtype, 1);
	ck_assert_uint_eq(P.st.text_cut, 1);
}
END_TEST

START_TEST(rr_text_limit)
{
	/* a 40000-byte NULL rdata is 80000 hex digits: more than one RR's text
	 * may be (64 KiB), so it is left out like an RR that does not fit */
	static struct msg m;
	header(&m, 0x8180, 1, 3, 0, 0);
	question(&m);
	rr_hex(&m, 1, 1, 60, "c0000201");
	put_hex(&m, "c00c 000a 0001 0000003c 9c40");
	for (int i = 0; i < 40000; i++)
		put_u8(&m, i);
	rr_hex(&m, 1, 1, 60, "c0000202");
	parse(&m);
	ck_assert_int_eq(P.r, DNS_PARSE_OK);
	ck_assert_uint_eq(P.m->n_rr, 1);
	ck_assert_str_eq(rr_data(0), "192.0.2.1");
	ck_assert_uint_eq(P.m->flags & MSG_F_TEXT_CUT, MSG_F_TEXT_CUT);
	ck_assert_uint_eq(P.st.text_cut, 1);
	ck_assert_uint_eq(P.st.err_rdata, 0);
}
END_TEST

START_TEST(stat_table)
{
	ck_assert_uint_eq(dns_parse_stat_count, 10);
	for (size_t i = 0; i < dns_parse_stat_count; i++) {
		ck_assert_uint_lt(dns_parse_stat_desc[i].offset, sizeof(struct dns_parse_stats));
		ck_assert_uint_eq(dns_parse_stat_desc[i].offset % 8, 0);
		ck_assert_int_eq(strncmp(dns_parse_stat_desc[i].name, "dns.", 4), 0);
		for (size_t k = 0; k < i; k++) {
			ck_assert_uint_ne(dns_parse_stat_desc[i].offset, dns_parse_stat_desc[k].offset);
			ck_assert_str_ne(dns_parse_stat_desc[i].name, dns_parse_stat_desc[k].name);
		}
	}
	struct dns_parse_stats st = { 0 };
	st.err_rdata = 7;
	const struct stat_desc *d = NULL;
	for (size_t i = 0; i < dns_parse_stat_count; i++)
		if (!strcmp(dns_parse_stat_desc[i].name, "dns.err_rdata"))
			d = &dns_parse_stat_desc[i];
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(stat_value(&st, d), 7);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dns_parse");
	TCase *tc = tcase_create("rdata");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, rdata_presentation, 0,
			    (int)(sizeof rdata_cases / sizeof rdata_cases[0]));
	tcase_add_test(tc, loc_text);
	tcase_add_test(tc, rrsig_time_edges);
	tcase_add_test(tc, ipv6_like_inet_ntop);
	tcase_add_test(tc, rdata_inconsistent_is_generic);
	tcase_add_test(tc, update_deletes_have_no_rdata);
	suite_add_tcase(s, tc);
	tc = tcase_create("names");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, name_escapes_like_dig);
	tcase_add_test(tc, label_copy_matches_byte_rules);
	tcase_add_test(tc, name_case_kept_and_root);
	tcase_add_test(tc, name_limits);
	tcase_add_test(tc, pointer_loops);
	tcase_add_test(tc, forward_pointer_followed);
	tcase_add_test(tc, owner_names_share_text);
	suite_add_tcase(s, tc);
	tc = tcase_create("message");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, short_and_empty);
	tcase_add_test(tc, truncated_sections);
	tcase_add_test(tc, more_questions_and_trailing);
	tcase_add_test(tc, sections_and_classes);
	tcase_add_test(tc, edns_summary);
	tcase_add_test(tc, edns_extended_rcode);
	tcase_add_test(tc, edns_summary_bounded);
	tcase_add_test(tc, text_cut);
	tcase_add_test(tc, rr_text_limit);
	tcase_add_test(tc, stat_table);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
