/*
 * dns_name.h - domain names in DNS messages: decompression with loop
 * protection and rendering in presentation format as dig prints it, without
 * the trailing dot ("." for the root).
 *
 * Limits (RFC 1035 3.1, 4.1.4): labels of at most 63 bytes, names of at most
 * 255 bytes in wire form (length bytes and the root included), at most
 * DNS_POINTER_HOPS_MAX compression pointers followed per name.  Label types
 * 0x40 (extended, RFC 6891 deprecated it) and 0x80 (reserved) are refused.
 */
#ifndef DNSTRAIL_DNS_NAME_H
#define DNSTRAIL_DNS_NAME_H

#include "dns_out.h"
#include "wire.h"

#include <stdint.h>

#define DNS_LABEL_MAX 63
#define DNS_NAME_WIRE_MAX 255
#define DNS_POINTER_HOPS_MAX 128
/* Longest presentation text of a name: at most 253 label bytes (a 255-byte
 * name has at least one length byte and the root), each at most 4 characters
 * (\DDD), plus the dots. */
#define DNS_NAME_TEXT_MAX 1024

enum dns_name_status {
	DNS_NAME_OK = 0,
	DNS_NAME_TRUNCATED, /* the name runs past the end of its field or the message */
	DNS_NAME_BAD, /* label type 0x40/0x80, name > 255 bytes, pointer outside the message */
	DNS_NAME_LOOP, /* a compression pointer loop, or more than DNS_POINTER_HOPS_MAX hops */
};

/*
 * Reads the name at cur's position.  Its in-place bytes (up to the root or
 * the first compression pointer) must lie inside cur; pointers may reach
 * anywhere in msg, the whole message.  cur advances past the in-place bytes.
 * The text goes to o (may be NULL to only skip the name).  ref, when not
 * NULL, receives the message offset of the first label actually read (two
 * names with the same key have the same text) and the pointers followed.
 * On failure cur is put in error and the status says why.
 */
struct dns_name_ref {
	uint32_t key; /* offset of the first label byte read (or of the root) */
	unsigned hops; /* compression pointers followed */
};
enum dns_name_status dns_name_read(const struct wire *msg, struct wire *cur, struct out *o,
				   struct dns_name_ref *ref);

/* Writes n label bytes escaped as dig does: . \ " ; ( ) @ $ as \c, bytes
 * outside 0x21-0x7e as \DDD. */
void dns_label_text(struct out *o, const uint8_t *s, size_t n);

#endif
