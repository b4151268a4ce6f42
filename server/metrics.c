/* Process-wide metrics; see metrics.h. */
#include <inttypes.h>
#include <stdatomic.h>
#include <time.h>

#include "metrics.h"

/* Upper bounds in seconds; the last bucket is +Inf. */
static const double bounds_s[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                  0.1,   0.25,   0.5,   1.0,  2.5};
#define NB (sizeof(bounds_s) / sizeof(bounds_s[0]))

/* By status class: 2xx, 3xx, 4xx, 5xx. */
static atomic_uint_fast64_t bucket[4][NB + 1];
static atomic_uint_fast64_t sum_us[4];
static atomic_uint_fast64_t count[4];

uint64_t metrics_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void metrics_http_observe(uint64_t us, int status)
{
    int c = status >= 500 ? 3 : status >= 400 ? 2 : status >= 300 ? 1 : 0;
    size_t i;

    for (i = 0; i < NB && (double)us / 1e6 > bounds_s[i]; i++)
        ;
    atomic_fetch_add(&bucket[c][i], 1);
    atomic_fetch_add(&sum_us[c], us);
    atomic_fetch_add(&count[c], 1);
}

void metrics_render(struct buf *b)
{
    static const char *const cls[4] = {"2xx", "3xx", "4xx", "5xx"};
    uint64_t cum;
    size_t c, i;

    buf_puts(b, "# HELP linebeat_http_request_duration_seconds Time to answer an HTTP "
                "request, by status class.\n"
                "# TYPE linebeat_http_request_duration_seconds histogram\n");
    for (c = 0; c < 4; c++) {
        cum = 0;
        for (i = 0; i <= NB; i++) {
            cum += atomic_load(&bucket[c][i]);
            if (i < NB)
                buf_printf(b,
                           "linebeat_http_request_duration_seconds_bucket{code=\"%s\","
                           "le=\"%g\"} %" PRIu64 "\n",
                           cls[c], bounds_s[i], cum);
            else
                buf_printf(b,
                           "linebeat_http_request_duration_seconds_bucket{code=\"%s\","
                           "le=\"+Inf\"} %" PRIu64 "\n",
                           cls[c], cum);
        }
        buf_printf(b,
                   "linebeat_http_request_duration_seconds_sum{code=\"%s\"} %.6f\n"
                   "linebeat_http_request_duration_seconds_count{code=\"%s\"} %" PRIu64
                   "\n",
                   cls[c], (double)atomic_load(&sum_us[c]) / 1e6, cls[c],
                   (uint64_t)atomic_load(&count[c]));
    }
}
