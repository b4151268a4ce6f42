/*
 * Time zone reader: offsets against glibc's own reading of the same files
 * (checked hourly across years, including the POSIX footer far in the
 * future), the DST days of the plant zones as hand-computed instants, and
 * the civil-date helpers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "linebeat/error.h"
#include "tz.h"

/* 2025-03-30T00:00:00Z and friends, computed by hand:
 * days_from_civil(2025,3,30) = 20177. */
#define D_2025_03_30 20177
#define D_2025_10_26 20387

static void against_glibc(const char *zone, int64_t from, int64_t to, int64_t step)
{
    struct tz *tz = NULL;
    int64_t t;

    assert_int_equal(tz_load(NULL, zone, &tz), 0);
    setenv("TZ", zone, 1);
    tzset();
    for (t = from; t < to; t += step) {
        time_t tt = (time_t)t;
        struct tm tm;
        int dst;
        int32_t off = tz_offset(tz, t, &dst);

        localtime_r(&tt, &tm);
        if (off != tm.tm_gmtoff || dst != (tm.tm_isdst > 0))
            fail_msg("%s at %lld: offset %d dst %d, glibc %ld %d", zone, (long long)t,
                     off, dst, tm.tm_gmtoff, tm.tm_isdst);
    }
    tz_free(tz);
}

static void test_against_glibc(void **state)
{
    static const char *const zones[] = {
        "Europe/Berlin",    "America/New_York",  "Australia/Sydney", "Asia/Kolkata",
        "Asia/Kathmandu",   "America/Sao_Paulo", "Europe/London",    "Pacific/Chatham",
        "America/Santiago", "Africa/Casablanca", "Europe/Dublin",    "UTC",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
        /* 1995..2045 every 3 h 7 min (not aligned to anything), and
         * 2090..2100 from the footer rule. */
        against_glibc(zones[i], 788918400, 2366841600, 11220);
        against_glibc(zones[i], 3786825600LL, 4102444800LL, 11220);
    }
}

static void test_dst_days(void **state)
{
    struct tz *tz = NULL;
    int64_t d0, d1;

    (void)state;
    assert_int_equal(tz_load(NULL, "Europe/Berlin", &tz), 0);
    assert_int_equal(tz_days_from_civil(2025, 3, 30), D_2025_03_30);
    assert_int_equal(tz_days_from_civil(2025, 10, 26), D_2025_10_26);

    /* Spring: 06:00 on 03-29 is CET (+1), 05:00Z; 06:00 on 03-30 is
     * already CEST (+2), 04:00Z: that production day has 23 h. */
    d0 = tz_local_to_utc(tz, (int64_t)(D_2025_03_30 - 1) * 86400 + 6 * 3600);
    d1 = tz_local_to_utc(tz, (int64_t)D_2025_03_30 * 86400 + 6 * 3600);
    assert_int_equal(d0, (int64_t)(D_2025_03_30 - 1) * 86400 + 5 * 3600);
    assert_int_equal(d1, (int64_t)D_2025_03_30 * 86400 + 4 * 3600);
    assert_int_equal(d1 - d0, 23 * 3600);
    /* The skipped 02:30 is the jump itself, 03:00 CEST = 01:00Z. */
    assert_int_equal(tz_local_to_utc(tz, (int64_t)D_2025_03_30 * 86400 + 9000),
                     (int64_t)D_2025_03_30 * 86400 + 3600);

    /* Autumn: the production day from 06:00 on 10-25 to 06:00 on 10-26
     * holds the repeated hour: 25 h. */
    d0 = tz_local_to_utc(tz, (int64_t)(D_2025_10_26 - 1) * 86400 + 6 * 3600);
    d1 = tz_local_to_utc(tz, (int64_t)D_2025_10_26 * 86400 + 6 * 3600);
    assert_int_equal(d1 - d0, 25 * 3600);
    /* 02:30 happens twice: the first, in CEST, is 00:30Z. */
    assert_int_equal(tz_local_to_utc(tz, (int64_t)D_2025_10_26 * 86400 + 9000),
                     (int64_t)D_2025_10_26 * 86400 + 1800);
    tz_free(tz);

    /* New York: 2025-03-09 and 2025-11-02. */
    assert_int_equal(tz_load(NULL, "America/New_York", &tz), 0);
    d0 = tz_local_to_utc(tz, tz_days_from_civil(2025, 3, 9) * 86400);
    d1 = tz_local_to_utc(tz, tz_days_from_civil(2025, 3, 10) * 86400);
    assert_int_equal(d1 - d0, 23 * 3600);
    d0 = tz_local_to_utc(tz, tz_days_from_civil(2025, 11, 2) * 86400);
    d1 = tz_local_to_utc(tz, tz_days_from_civil(2025, 11, 3) * 86400);
    assert_int_equal(d1 - d0, 25 * 3600);
    tz_free(tz);
}

static void test_round_trip(void **state)
{
    static const char *const zones[] = {"Europe/Berlin", "Australia/Lord_Howe",
                                        "Asia/Kathmandu"};
    struct tz *tz = NULL;
    size_t i;
    int64_t t;

    (void)state;
    for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
        assert_int_equal(tz_load(NULL, zones[i], &tz), 0);
        /* Every UTC instant maps back to itself unless its local time is
         * the second of a repeated pair. */
        for (t = 1704067200; t < 1767225600; t += 977) {
            int64_t local = t + tz_offset(tz, t, NULL);
            int64_t back = tz_local_to_utc(tz, local);

            if (back != t) {
                /* Only legal for the later of two equal local times. */
                assert_true(back < t);
                assert_int_equal(back + tz_offset(tz, back, NULL), local);
            }
        }
        tz_free(tz);
    }
}

static void test_civil(void **state)
{
    int64_t y, day;
    unsigned m, d;
    int min;
    char buf[16];

    (void)state;
    assert_int_equal(tz_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(tz_weekday(0), 4);                                /* Thursday */
    assert_int_equal(tz_weekday(tz_days_from_civil(2025, 11, 24)), 1); /* Monday */
    assert_int_equal(tz_weekday(-1), 3);
    tz_civil_from_days(tz_days_from_civil(2024, 2, 29), &y, &m, &d);
    assert_int_equal(y, 2024);
    assert_int_equal(m, 2);
    assert_int_equal(d, 29);
    tz_format_day(D_2025_03_30, buf, sizeof(buf));
    assert_string_equal(buf, "2025-03-30");
    assert_int_equal(tz_parse_day("2025-03-30", &day), 0);
    assert_int_equal(day, D_2025_03_30);
    assert_int_equal(tz_parse_day("2025-02-30", &day), -1);
    assert_int_equal(tz_parse_day("2025-3-30", &day), -1);
    assert_int_equal(tz_parse_hhmm("06:00", &min), 0);
    assert_int_equal(min, 360);
    assert_int_equal(tz_parse_hhmm("24:00", &min), 0);
    assert_int_equal(tz_parse_hhmm("24:01", &min), -1);
    assert_int_equal(tz_parse_hhmm("6:00", &min), -1);
    assert_int_equal(tz_floordiv(-1, 60), -1);
    assert_int_equal(tz_floordiv(-60, 60), -1);
    assert_int_equal(tz_floordiv(59, 60), 0);
}

static void test_bad_names(void **state)
{
    struct tz *tz = NULL;

    (void)state;
    assert_int_equal(tz_load(NULL, "../etc/passwd", &tz), LB_E_RANGE);
    assert_int_equal(tz_load(NULL, "/etc/passwd", &tz), LB_E_RANGE);
    assert_int_equal(tz_load(NULL, "Mars/Olympus_Mons", &tz), -ENOENT);
    assert_int_equal(tz_load(NULL, "Europe", &tz), -ENOENT);
    assert_int_equal(tz_load("/etc", "hostname", &tz), LB_E_CORRUPT);
    assert_null(tz);
    assert_int_equal(tz_load(NULL, "UTC", &tz), 0);
    assert_int_equal(tz_offset(tz, 0, NULL), 0);
    tz_free(tz);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_glibc), cmocka_unit_test(test_dst_days),
        cmocka_unit_test(test_round_trip),    cmocka_unit_test(test_civil),
        cmocka_unit_test(test_bad_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
