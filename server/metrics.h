/*
 * Process-wide counters for /metrics that no single module owns: the HTTP
 * request latency histogram (Prometheus buckets) by status class.  Lock-free
 * (C11 atomics), callable from any thread.
 */
#ifndef LB_SERVER_METRICS_H
#define LB_SERVER_METRICS_H

#include <stdint.h>

#include "buf.h"

/* Microseconds on CLOCK_MONOTONIC. */
uint64_t metrics_now_us(void);

/* Records one HTTP request that took us microseconds and got status. */
void metrics_http_observe(uint64_t us, int status);

/* Appends the histogram and counters in Prometheus text format. */
void metrics_render(struct buf *b);

#endif
