/*
 * latency.h - samples of a time (microseconds) kept for percentiles in the
 * milter's exit statistics: end-of-message time (milter.c) and where a
 * journaled mail's time goes (writer.c). At most LATENCY_MAX_SAMPLES are
 * kept (4 MB), later ones are dropped: the first million mails tell enough.
 * Not thread-safe: the caller holds its own lock.
 */
#ifndef KV_MILTER_LATENCY_H
#define KV_MILTER_LATENCY_H

#include <stddef.h>
#include <stdint.h>

#define LATENCY_MAX_SAMPLES (1u << 20)

struct latency {
	uint32_t *v;
	size_t n, cap;
};
#define LATENCY_INIT { NULL, 0, 0 }

/* Keep one sample (dropped past LATENCY_MAX_SAMPLES). */
void latency_add(struct latency *l, uint32_t us);

/* Median, 99th percentile and maximum of the samples (sorts them); l must
 * hold at least one. */
void latency_pctl(struct latency *l, uint32_t *p50, uint32_t *p99, uint32_t *max);

/* Free the samples; l is empty afterwards. */
void latency_release(struct latency *l);

#endif
