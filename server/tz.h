/*
 * The plant's time zone as a value: a reader of the system's compiled zone
 * files (TZif, RFC 8536, /usr/share/zoneinfo) with their POSIX TZ footer
 * for times past the last transition.  No setenv("TZ")/tzset(), so any
 * number of threads (and tests) use any number of zones at once.  Also the
 * civil-date arithmetic the calendar needs.  Leap seconds are ignored (as
 * POSIX time does).
 */
#ifndef LB_SERVER_TZ_H
#define LB_SERVER_TZ_H

#include <stddef.h>
#include <stdint.h>

#define TZ_NAME_MAX 63

struct tz;

/*
 * Loads zone name ("Europe/Berlin", "UTC") from dir (NULL: the system's
 * /usr/share/zoneinfo).  A name must be a relative path without "..".
 * OUT: *out, freed with tz_free.  Returns 0, -ENOENT (no such zone),
 * LB_E_CORRUPT (not a zone file), LB_E_RANGE (a bad name) or -ENOMEM.
 */
int tz_load(const char *dir, const char *name, struct tz **out);
/* A zone of a fixed offset east of UTC in seconds, named name.  OUT: *out. */
int tz_fixed(const char *name, int32_t utoff, struct tz **out);
void tz_free(struct tz *tz);
/* The name it was loaded under. */
const char *tz_name(const struct tz *tz);

/* Seconds east of UTC in force at utc (seconds since the epoch); OUT:
 * *isdst when not NULL. */
int32_t tz_offset(const struct tz *tz, int64_t utc, int *isdst);

/*
 * The UTC second of local wall-clock time local (seconds since the epoch
 * as if the local clock were UTC).  An ambiguous time (the repeated hour in
 * autumn) gives its first occurrence; a time that does not exist (skipped
 * in spring) gives the instant the clock jumped, so 02:30 on such a day is
 * 03:00 of the new offset.
 */
int64_t tz_local_to_utc(const struct tz *tz, int64_t local);

/* Civil calendar (proleptic Gregorian).  Days are counted from
 * 1970-01-01 (day 0). */
int64_t tz_days_from_civil(int64_t y, unsigned m, unsigned d);
void tz_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);
/* ISO weekday of a day: 1 Monday .. 7 Sunday. */
int tz_weekday(int64_t days);
/* Floor division, for negative times. */
int64_t tz_floordiv(int64_t a, int64_t b);

/* Formats day as "YYYY-MM-DD" into buf (11 bytes). */
void tz_format_day(int64_t day, char *buf, size_t size);
/* Parses "YYYY-MM-DD"; OUT: *day.  Returns 0 or -1. */
int tz_parse_day(const char *s, int64_t *day);
/* Parses "HH:MM" (00:00 .. 24:00); OUT: *min, minutes after midnight.
 * Returns 0 or -1. */
int tz_parse_hhmm(const char *s, int *min);

#endif
