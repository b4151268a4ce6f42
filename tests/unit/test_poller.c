/*
 * agent/poller.c's schedule (poller_next): the cadence of a device that
 * answers, and the capped, jittered back-off of one that does not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "poller.h"

static void test_cadence(void **state)
{
    int64_t backoff = 0;

    (void)state;
    /* A read that took 30 ms does not shift the schedule. */
    assert_int_equal(poller_next(1000, 1030, 200, 1, &backoff, 0), 1200);
    /* Behind schedule: the next poll is now, not a burst to catch up. */
    assert_int_equal(poller_next(1000, 1700, 200, 1, &backoff, 0), 1700);
    /* A success ends a back-off. */
    backoff = 8000;
    assert_int_equal(poller_next(1000, 1010, 200, 1, &backoff, 0), 1200);
    assert_int_equal(backoff, 0);
}

static void test_backoff(void **state)
{
    int64_t backoff = 0, now = 0, want = 200;

    (void)state;
    /* No jitter (rnd 0): 200, 400, 800, ... capped at 30 s. */
    for (int i = 0; i < 12; i++) {
        int64_t next = poller_next(now, now, 200, 0, &backoff, 0);

        assert_int_equal(next - now, want);
        now = next;
        want = want * 2 > POLLER_BACKOFF_MAX_MS ? POLLER_BACKOFF_MAX_MS : want * 2;
    }
    assert_int_equal(backoff, POLLER_BACKOFF_MAX_MS);
    /* Jitter adds at most a quarter. */
    for (uint64_t r = 0; r < 100000; r += 997) {
        int64_t b = 4000, next = poller_next(0, 0, 200, 0, &b, r);

        assert_int_equal(b, 8000);
        assert_true(next >= 8000 && next <= 10000);
    }
    /* A poll interval longer than the cap is never shortened. */
    backoff = 0;
    assert_int_equal(poller_next(0, 0, 60000, 0, &backoff, 0), 60000);
    assert_int_equal(poller_next(0, 0, 60000, 0, &backoff, 0), 60000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cadence),
        cmocka_unit_test(test_backoff),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
