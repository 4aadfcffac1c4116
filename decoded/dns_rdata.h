/*
 * dns_rdata.h - RR data in presentation format, as dig (BIND 9.18,
 * `dig +nosplit`) prints it in its rdata column, except that names have no
 * trailing dot ("." for the root), like every name dnstrail writes, that
 * RRSIG/SIG times are plain unsigned seconds (dig reads them around today's
 * date), and that dig's trailing space after a TSIG without other data is
 * not written.  SvcParamKeys are named as dig 9.18 names them (keys 7 and up
 * as keyNNNNN).
 *
 * Types without a renderer of their own, and rdata that does not match its
 * type's format (a field past the end, bytes left over, a bad embedded name,
 * a value dig itself refuses such as an LOC size mantissa above 9), are
 * written in the RFC 3597 generic form `\# LEN HEX` (`\# 0` when empty).
 */
#ifndef DNSTRAIL_DNS_RDATA_H
#define DNSTRAIL_DNS_RDATA_H

#include "dns_out.h"
#include "wire.h"

#include <stdint.h>

/*
 * Renders the rdata of one RR of the given type.  rdata covers exactly the
 * RR's rdata (its begin is the message's first byte, like msg's, so that
 * compression pointers resolve); msg covers the whole message.
 * Returns 0 when written per the type's format, -1 when the rdata does not
 * match it (o then holds an unspecified prefix: rewind it and call
 * dns_rdata_generic) or o became full.
 */
int dns_rdata_text(uint16_t type, const struct wire *msg, const struct wire *rdata,
		   struct out *o);

/* `\# LEN HEX` (RFC 3597 5), upper-case hex as dig prints it; `\# 0` when
 * the rdata is empty. */
void dns_rdata_generic(const struct wire *rdata, struct out *o);

/* A character-string in double quotes, with " and \ escaped and bytes outside
 * 0x20-0x7e as \DDD (dig's TXT escaping). */
void dns_qstring(struct out *o, const uint8_t *s, size_t n);

#endif
