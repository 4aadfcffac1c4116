/*
 * textfmt.h - addresses and dates as text, fast (see textfmt.c).
 */
#ifndef DNSTRAIL_TEXTFMT_H
#define DNSTRAIL_TEXTFMT_H

#include <stdint.h>

#define FMT_IPV4_MAX 15
#define FMT_IPV6_MAX 45 /* INET6_ADDRSTRLEN - 1 */
#define FMT_U32_MAX 10

/* Dotted quad, as inet_ntop prints it. */
char *fmt_ipv4(char *p, const uint8_t a[4]);
/* RFC 5952 text, as inet_ntop prints it (including ::a.b.c.d forms). */
char *fmt_ipv6(char *p, const uint8_t a[16]);
/* Unsigned decimal, no leading zeros: fmt_u32_len(v) bytes. */
char *fmt_u32(char *p, uint32_t v);
unsigned fmt_u32_len(uint32_t v);
/* Days since 1970-01-01 to a proleptic Gregorian date, for any int64 day. */
void fmt_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

#endif
