#ifndef CRDKAFKA_SHIM_H
#define CRDKAFKA_SHIM_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

/* Macros Swift cannot import, as constants. */
static const int32_t CRdKafka_PARTITION_UA = RD_KAFKA_PARTITION_UA;
static const int64_t CRdKafka_OFFSET_BEGINNING = RD_KAFKA_OFFSET_BEGINNING;
static const int64_t CRdKafka_OFFSET_END = RD_KAFKA_OFFSET_END;
static const int64_t CRdKafka_OFFSET_STORED = RD_KAFKA_OFFSET_STORED;
static const int64_t CRdKafka_OFFSET_INVALID = RD_KAFKA_OFFSET_INVALID;
static const int CRdKafka_MSG_F_COPY = RD_KAFKA_MSG_F_COPY;
static const int CRdKafka_MSG_F_BLOCK = RD_KAFKA_MSG_F_BLOCK;

/* The most headers one produced message may carry through CRdKafka_produce. */
#define CRDKAFKA_MAX_HEADERS 8
static const size_t CRdKafka_MAX_HEADERS = CRDKAFKA_MAX_HEADERS;

/*
 * Produces one message with rd_kafka_produceva (the variadic rd_kafka_producev cannot be called from Swift, and the
 * vu_t union is awkward there). Payload, key and headers are copied (RD_KAFKA_MSG_F_COPY), so the caller's buffers
 * may be reused as soon as this returns; individual headers are copied by librdkafka, so there is no header list
 * whose ownership could be lost on failure. Returns NULL on success, else an error the caller must destroy.
 */
static inline rd_kafka_error_t *CRdKafka_produce(rd_kafka_t *rk, const char *topic, int32_t partition,
                                                 const void *key, size_t key_len,
                                                 const void *value, size_t value_len,
                                                 const char *const *header_names,
                                                 const void *const *header_values,
                                                 const size_t *header_sizes, size_t header_count,
                                                 void *opaque) {
    rd_kafka_vu_t vus[6 + CRDKAFKA_MAX_HEADERS];
    size_t n = 0;
    if (header_count > CRDKAFKA_MAX_HEADERS)
        return rd_kafka_error_new(RD_KAFKA_RESP_ERR__INVALID_ARG, "too many headers (%zu)", header_count);
    vus[n].vtype = RD_KAFKA_VTYPE_TOPIC; vus[n].u.cstr = topic; n++;
    vus[n].vtype = RD_KAFKA_VTYPE_PARTITION; vus[n].u.i32 = partition; n++;
    vus[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS; vus[n].u.i = RD_KAFKA_MSG_F_COPY; n++;
    if (key) { vus[n].vtype = RD_KAFKA_VTYPE_KEY; vus[n].u.mem.ptr = (void *)key; vus[n].u.mem.size = key_len; n++; }
    vus[n].vtype = RD_KAFKA_VTYPE_VALUE; vus[n].u.mem.ptr = (void *)value; vus[n].u.mem.size = value_len; n++;
    vus[n].vtype = RD_KAFKA_VTYPE_OPAQUE; vus[n].u.ptr = opaque; n++;
    for (size_t i = 0; i < header_count; i++) {
        vus[n].vtype = RD_KAFKA_VTYPE_HEADER;
        vus[n].u.header.name = header_names[i];
        vus[n].u.header.val = header_values[i];
        vus[n].u.header.size = (ssize_t)header_sizes[i];
        n++;
    }
    return rd_kafka_produceva(rk, vus, n);
}

#endif
