/*
 * kafka_mock - a Kafka cluster for logd's tests: librdkafka's mock cluster
 * speaks the real protocol (metadata, produce, fetch) on loopback ports.
 *
 *   kafka_mock [--brokers N] [--topic NAME --partitions P]...
 *
 * Creates the cluster (hosted by a throwaway producer handle, as the API
 * requires) and each topic, prints the bootstrap servers on one stdout line,
 * then reads commands on stdin, one per line, answering "ok" or "error ...":
 *   down ID | up ID      refuse / accept connections on broker ID (-1: all)
 *   rtt ID MS            delay broker ID's responses
 *   topic NAME P         create another topic
 *   quit                 exit (so does the end of stdin)
 * Exits 1 with a message when the cluster cannot start (tests then skip).
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOPICS 16

static int create_topic(rd_kafka_mock_cluster_t *mc, const char *name, int parts, int brokers)
{
	rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, name, parts, brokers < 3 ? brokers : 3);
	/* Leaders round robin, so every broker leads partitions: taking one
	 * down always stalls some (the mock may otherwise leave one idle). */
	for (int p = 0; !err && p < parts; p++)
		err = rd_kafka_mock_partition_set_leader(mc, name, p, p % brokers + 1);
	if (err) {
		fprintf(stderr, "kafka_mock: cannot create topic %s: %s\n", name, rd_kafka_err2str(err));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int brokers = 3, ntopics = 0;
	const char *topics[MAX_TOPICS];
	int parts[MAX_TOPICS];
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--brokers") && i + 1 < argc) {
			brokers = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--topic") && i + 1 < argc && ntopics < MAX_TOPICS) {
			topics[ntopics] = argv[++i];
			parts[ntopics++] = 4;
		} else if (!strcmp(argv[i], "--partitions") && i + 1 < argc && ntopics) {
			parts[ntopics - 1] = atoi(argv[++i]);
		} else {
			fprintf(stderr, "usage: kafka_mock [--brokers N] [--topic NAME --partitions P]...\n");
			return 2;
		}
	}
	if (brokers < 1 || brokers > 16) {
		fprintf(stderr, "kafka_mock: --brokers must be 1 to 16\n");
		return 2;
	}
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	/* The host handle never connects anywhere: keep it quiet. */
	rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
	if (!rk) {
		fprintf(stderr, "kafka_mock: cannot create the host handle: %s\n", err);
		rd_kafka_conf_destroy(conf);
		return 1;
	}
	rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
	if (!mc) {
		fprintf(stderr, "kafka_mock: cannot start the mock cluster\n");
		rd_kafka_destroy(rk);
		return 1;
	}
	for (int i = 0; i < ntopics; i++)
		if (create_topic(mc, topics[i], parts[i], brokers) < 0)
			return 1;
	printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);

	char line[256];
	while (fgets(line, sizeof line, stdin)) {
		char cmd[32], name[200];
		int a = 0, b = 0;
		int n = sscanf(line, "%31s %d %d", cmd, &a, &b);
		rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
		if (n < 1)
			continue;
		if (!strcmp(cmd, "quit"))
			break;
		if (!strcmp(cmd, "down") && n == 2) {
			e = rd_kafka_mock_broker_set_down(mc, a);
		} else if (!strcmp(cmd, "up") && n == 2) {
			e = rd_kafka_mock_broker_set_up(mc, a);
		} else if (!strcmp(cmd, "rtt") && n == 3) {
			e = rd_kafka_mock_broker_set_rtt(mc, a, b);
		} else if (!strcmp(cmd, "topic") && sscanf(line, "%*s %199s %d", name, &a) == 2) {
			e = create_topic(mc, name, a, brokers) ? RD_KAFKA_RESP_ERR__FAIL : 0;
		} else {
			printf("error unknown command: %s", line);
			fflush(stdout);
			continue;
		}
		if (e)
			printf("error %s\n", rd_kafka_err2str(e));
		else
			printf("ok\n");
		fflush(stdout);
	}
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
