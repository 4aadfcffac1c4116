/*
 * sink_kafka.h - the Kafka sink's command-line form, and the two pure
 * functions of it the tests reach: spec parsing and message keys.
 *
 *   kafka:BROKERS/TOPIC[,OPTION...]
 *
 * BROKERS is a comma-separated bootstrap list of HOST[:PORT] (IPv6 in
 * brackets, port 9092 when left out); the first '/' ends it, TOPIC runs to
 * the next ',' and options follow, as for the other sinks.  A spec without
 * brokers or without a topic is refused (exit 2): no half-configured sink
 * that silently sends nowhere.
 *
 * One message per output line: the value is the line without its newline,
 * the key the question name (kafka_line_key), so one domain stays on one
 * partition.
 */
#ifndef DNSTRAIL_LOGD_SINK_KAFKA_H
#define DNSTRAIL_LOGD_SINK_KAFKA_H

#include "sinks.h"

#include <stddef.h>
#include <stdint.h>

#define KAFKA_TOPIC_MAX 249 /* Kafka's own limit */
#define KAFKA_KEY_MAX 1024 /* a presentation-format DNS name fits easily */

/* Options given explicitly: they win over a properties= file, which wins
 * over the defaults. */
enum {
	KO_ACKS = 1 << 0,
	KO_LINGER = 1 << 1,
	KO_COMPRESSION = 1 << 2,
	KO_BATCH = 1 << 3,
	KO_TIMEOUT = 1 << 4,
	KO_MAX_MESSAGE = 1 << 5,
	KO_IDEMPOTENCE = 1 << 6,
	KO_STALL = 1 << 7,
};

struct kafka_opts {
	char brokers[STATE_PATH_MAX];
	char topic[KAFKA_TOPIC_MAX + 1];
	char acks[4]; /* all, 1, 0 */
	char compression[8]; /* none, gzip, snappy, lz4, zstd */
	uint64_t linger_ns; /* linger.ms */
	uint64_t timeout_ns; /* message.timeout.ms */
	uint64_t batch_bytes; /* batch.size */
	uint64_t max_message; /* message.max.bytes */
	uint64_t messages; /* messages handed to librdkafka, not yet reported */
	int idempotence;
	char properties[STATE_PATH_MAX]; /* librdkafka properties file, or "" */
	unsigned given; /* KO_* */
};

/* Parses spec ("kafka:..."), fills o, and in sp: path ("BROKERS/TOPIC",
 * what tells two Kafka sinks apart), queue_bytes, wait_ns and stall_ns when
 * given (stall defaults to the message timeout + 30 s).  Reads the
 * properties file and has librdkafka check the whole configuration.  0, or
 * -1 with one line in err saying what is wrong and what to write. */
int kafka_spec_parse(const char *spec, struct kafka_opts *o, struct sink_spec *sp, char *err,
		     size_t errlen);

/* The key of one formatted line (len bytes, no newline), into key[0..
 * KAFKA_KEY_MAX): for json and transaction lines the "q" field as a JSON
 * reader decodes it, in UTF-8; for passivedns lines the query field (the
 * RR's owner name, the question name is not in the line) as written,
 * without its trailing dot.  Returns its length, or 0 for no key (no
 * question, or a line that is not ours): librdkafka then spreads such
 * messages over the partitions. */
size_t kafka_line_key(const char *line, size_t len, char *key);

#endif
