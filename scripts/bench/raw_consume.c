/*
 * The baseline of `make bench`: the fastest plain librdkafka consumer loop, no decode, no processing.
 * Consumes every TOPIC (all partitions, group-less assignment) from the beginning until COUNT messages arrived, and
 * prints the rate from the first message to the last, measured like backstop's own run.
 * Usage: raw_consume BROKERS PARTITIONS COUNT TOPIC...
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: raw_consume BROKERS PARTITIONS COUNT TOPIC...\n"); return 2; }
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *settings[][2] = {
        {"bootstrap.servers", argv[1]}, {"group.id", "raw-consume-baseline"}, {"enable.auto.commit", "false"},
        {"fetch.queue.backoff.ms", "10"}, {"auto.offset.reset", "earliest"},
    };
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        if (rd_kafka_conf_set(conf, settings[i][0], settings[i][1], err, sizeof err) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "%s\n", err); return 1;
        }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) { fprintf(stderr, "%s\n", err); return 1; }
    int partitions = atoi(argv[2]);
    long target = atol(argv[3]);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(partitions * (argc - 4));
    for (int t = 4; t < argc; t++)
        for (int p = 0; p < partitions; p++)
            rd_kafka_topic_partition_list_add(list, argv[t], p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    rd_kafka_queue_t *queue = rd_kafka_queue_get_consumer(rk);
    rd_kafka_message_t *batch[4096];
    long received = 0, bytes = 0;
    double first = 0, last = 0, deadline = now() + 120;
    while (received < target && now() < deadline) {
        ssize_t n = rd_kafka_consume_batch_queue(queue, 100, batch, 4096);
        for (ssize_t i = 0; i < n; i++) {
            if (!batch[i]->err) { received++; bytes += batch[i]->len; }
            rd_kafka_message_destroy(batch[i]);
        }
        if (n > 0) { if (first == 0) first = now(); last = now(); }
    }
    printf("raw_consume_messages: %ld\n", received);
    printf("raw_consume_seconds: %.3f\n", last - first);
    printf("raw_consume_msgs_per_s: %.0f\n", received / (last - first));
    rd_kafka_queue_destroy(queue);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return received == target ? 0 : 1;
}
