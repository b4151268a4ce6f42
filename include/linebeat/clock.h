/*
 * Time helpers.  Intervals and deadlines use CLOCK_MONOTONIC, which never
 * jumps; wall-clock time (ms since the Unix epoch, UTC) is only written into
 * events.  lb_clock_synced asks the kernel (adjtimex) whether NTP has set it.
 */
#ifndef LINEBEAT_CLOCK_H
#define LINEBEAT_CLOCK_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t lb_mono_ms(void);
/* Milliseconds since the Unix epoch on CLOCK_REALTIME. */
int64_t lb_wall_ms(void);
/* 1 when the kernel says the system clock is synchronised, else 0. */
int lb_clock_synced(void);
/* Formats ms since the epoch as ISO 8601 UTC with milliseconds
 * ("2026-11-29T06:00:00.000Z") into buf; returns buf. */
char *lb_iso8601(int64_t ms, char *buf, unsigned size);
/* Parses ISO 8601 ("2026-11-29", "2026-11-29T06:00:00Z", "...T06:00:00.5+01:00",
 * or plain digits as ms since the epoch) into OUT: ms; returns 0 or LB_E_PARSE. */
int lb_parse_iso8601(const char *s, int64_t *ms);

#endif
