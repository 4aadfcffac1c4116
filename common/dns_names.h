/*
 * dns_names.h - mnemonics for DNS numeric codes, as dig and the IANA
 * registries spell them.  Used by decoded (RRSIG type covered, NSEC type
 * bitmaps) and logd (qtype/atype/qclass fields).
 */
#ifndef DNSTRAIL_DNS_NAMES_H
#define DNSTRAIL_DNS_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* Mnemonic of an RR type ("A", "HTTPS"), or NULL when it has none. */
const char *dns_type_name(uint16_t type);
/* Writes the mnemonic, or "TYPE<n>" (RFC 3597) when there is none, into
 * buf (>= 12 bytes); returns the length. */
size_t dns_type_str(uint16_t type, char *buf, size_t len);
/* "IN", "CH", "HS", "NONE", "ANY", or "CLASS<n>". */
size_t dns_class_str(uint16_t rclass, char *buf, size_t len);
/* "NOERROR", "NXDOMAIN", ... or NULL. */
const char *dns_rcode_name(uint16_t rcode);
/* "QUERY", "IQUERY", "STATUS", "NOTIFY", "UPDATE", "DSO", or NULL. */
const char *dns_opcode_name(uint8_t opcode);

#endif
