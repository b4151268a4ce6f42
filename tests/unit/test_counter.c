/*
 * agent/counter.c: hand-picked edge cases, then long simulated runs.  The
 * simulation is a machine making parts at changing rates, read at jittered
 * intervals with missed polls, at 16, 32 and 64 bits, wrapping many times
 * and reset to zero now and then.  Every reading is checked against what
 * the machine really did: event and delta, step by step, and the sum of
 * deltas against the parts made, exactly.
 *
 * The rules cannot tell every history apart (a reset just after a wrap
 * looks like a wrap), so the simulation only resets where the documented
 * bound makes it recognisable: the counter far from zero and from the top.
 * spec_bound() restates that bound from counter.h in 128-bit arithmetic, so
 * the test does not share the implementation's overflow reasoning.  The
 * 128-bit numbers are a pair of 64-bit words (struct u128): 32-bit ARM, where
 * the agent runs, has no unsigned __int128, and this test must run there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "counter.h"

struct scenario {
    const char *name;
    unsigned bits;
    int64_t ideal_ms;    /* passed to counter_update; 0: unknown */
    int elapsed_known;   /* 0: pass elapsed_ms = -1 */
    int64_t interval_ms; /* nominal poll period */
    int resets;          /* simulate resets to zero */
    uint64_t start;      /* the counter's value when the agent starts */
    unsigned min_wraps;  /* the run must really exercise wraps */
};

struct rng {
    uint64_t s;
};

struct u128 {
    uint64_t hi, lo;
};

static struct u128 u128_of(uint64_t v);
static struct u128 u128_add(struct u128 a, struct u128 b);
static struct u128 u128_sub(struct u128 a, struct u128 b);
static int u128_cmp(struct u128 a, struct u128 b);
static struct u128 u128_shl(struct u128 a, unsigned n);
static struct u128 u128_shr(struct u128 a, unsigned n);
static struct u128 u128_div(struct u128 a, uint64_t d);

static uint64_t next(struct rng *r);
static uint64_t below(struct rng *r, uint64_t n);
static struct u128 range_of(unsigned bits);
static struct u128 spec_bound(unsigned bits, int64_t elapsed_ms, int64_t ideal_ms);
static uint64_t max_parts(const struct scenario *sc, int64_t gap);
static void run(const struct scenario *sc, uint64_t seed, size_t steps);
static enum counter_event feed(struct counter *c, uint64_t raw, int64_t el, int64_t ic,
                               uint64_t *delta);
static void test_baseline(void **state);
static void test_restore(void **state);
static void test_masked_input(void **state);
static void test_no_change(void **state);
static void test_jump_with_ideal(void **state);
static void test_jump_without_ideal(void **state);
static void test_wrap_or_reset_without_ideal(void **state);
static void test_wrap_or_reset_with_ideal(void **state);
static void test_preset_is_jump(void **state);
static void test_64bit_extremes(void **state);
static void test_huge_elapsed(void **state);
static void test_unknown_elapsed_or_ideal(void **state);
static void test_reset_mid_gap_loses_earlier_parts(void **state);
static void test_bad_width(void **state);
static void test_names(void **state);
static void test_bound_matches_spec(void **state);
static void test_simulated(void **state);

/* splitmix64: small, fast, and the same on every platform. */
static uint64_t next(struct rng *r)
{
    uint64_t z = (r->s += UINT64_C(0x9E3779B97F4A7C15));

    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform enough in [0, n); n == 0 gives any value. */
static uint64_t below(struct rng *r, uint64_t n)
{
    return n == 0 ? next(r) : next(r) % n;
}

static struct u128 u128_of(uint64_t v)
{
    struct u128 r = {0, v};

    return r;
}

static struct u128 u128_add(struct u128 a, struct u128 b)
{
    struct u128 r = {a.hi + b.hi, a.lo + b.lo};

    r.hi += r.lo < a.lo; /* carry */
    return r;
}

static struct u128 u128_sub(struct u128 a, struct u128 b)
{
    struct u128 r = {a.hi - b.hi - (a.lo < b.lo), a.lo - b.lo};

    return r;
}

static int u128_cmp(struct u128 a, struct u128 b)
{
    if (a.hi != b.hi)
        return a.hi < b.hi ? -1 : 1;
    return a.lo < b.lo ? -1 : a.lo > b.lo;
}

/* Shifts by 0..127 bits. */
static struct u128 u128_shl(struct u128 a, unsigned n)
{
    struct u128 r;

    if (n == 0)
        return a;
    if (n >= 64) {
        r.hi = a.lo << (n - 64);
        r.lo = 0;
    } else {
        r.hi = a.hi << n | a.lo >> (64 - n);
        r.lo = a.lo << n;
    }
    return r;
}

static struct u128 u128_shr(struct u128 a, unsigned n)
{
    struct u128 r;

    if (n == 0)
        return a;
    if (n >= 64) {
        r.lo = a.hi >> (n - 64);
        r.hi = 0;
    } else {
        r.lo = a.lo >> n | a.hi << (64 - n);
        r.hi = a.hi >> n;
    }
    return r;
}

/* floor(a / d), d > 0: schoolbook binary long division. */
static struct u128 u128_div(struct u128 a, uint64_t d)
{
    struct u128 q = {0, 0}, rem = {0, 0}, dd = u128_of(d);

    for (int i = 127; i >= 0; i--) {
        uint64_t bit = i >= 64 ? (a.hi >> (i - 64)) & 1 : (a.lo >> i) & 1;

        rem = u128_shl(rem, 1);
        rem.lo |= bit;
        q = u128_shl(q, 1);
        if (u128_cmp(rem, dd) >= 0) {
            rem = u128_sub(rem, dd);
            q.lo |= 1;
        }
    }
    return q;
}

static struct u128 range_of(unsigned bits)
{
    return u128_shl(u128_of(1), bits);
}

/* counter.h: "at most the parts the machine could make in elapsed_ms at
 * four times its ideal rate plus 16"; otherwise "below a quarter of the
 * counter's range".  Both as the largest plausible distance. */
static struct u128 spec_bound(unsigned bits, int64_t elapsed_ms, int64_t ideal_ms)
{
    if (ideal_ms > 0 && elapsed_ms >= 0)
        return u128_add(
            u128_div(u128_shl(u128_of((uint64_t)elapsed_ms), 2), (uint64_t)ideal_ms),
            u128_of(16));
    return u128_sub(u128_shr(range_of(bits), 2), u128_of(1));
}

/* The most parts the simulated machine may make in gap ms: no faster than
 * its ideal cycle when one is declared, else an eighth of the range. */
static uint64_t max_parts(const struct scenario *sc, int64_t gap)
{
    if (sc->ideal_ms > 0)
        return (uint64_t)(gap / sc->ideal_ms);
    return u128_shr(range_of(sc->bits), 3).lo;
}

static enum counter_event feed(struct counter *c, uint64_t raw, int64_t el, int64_t ic,
                               uint64_t *delta)
{
    *delta = UINT64_C(0xDEADBEEF);
    return counter_update(c, raw, el, ic, delta);
}

static void run(const struct scenario *sc, uint64_t seed, size_t steps)
{
    struct rng r = {seed};
    struct counter c;
    struct u128 range = range_of(sc->bits);
    uint64_t mask = sc->bits == 64 ? UINT64_MAX : (UINT64_C(1) << sc->bits) - 1;
    uint64_t hw = sc->start & mask; /* the register, as the machine holds it */
    struct u128 made = {0, 0}, counted = {0, 0};
    unsigned wraps = 0, resets = 0, restores = 0, still = 0;
    int mode = 2;          /* 0 stopped, 1 slow, 2 flat out */
    uint64_t slowdown = 1; /* mode 1: cycle = ideal x slowdown */
    uint64_t delta;
    enum counter_event ev;

    counter_init(&c, sc->bits);
    ev = feed(&c, hw, -1, sc->ideal_ms, &delta);
    assert_int_equal(ev, COUNTER_BASELINE);
    assert_int_equal(delta, 0);

    for (size_t i = 0; i < steps; i++) {
        int64_t gap = sc->interval_ms;
        uint64_t cap, parts, raw;
        enum counter_event want = COUNTER_OK;
        int reset = 0;

        /* Jitter of +-10 %, and one poll in eight misses up to 20 more. */
        gap +=
            (int64_t)below(&r, (uint64_t)sc->interval_ms / 5 + 1) - sc->interval_ms / 10;
        if (below(&r, 8) == 0)
            gap += sc->interval_ms * (int64_t)below(&r, 21);
        if (gap < 0)
            gap = 0;

        if (below(&r, 500) == 0) {
            mode = (int)below(&r, 3);
            slowdown = 1 + below(&r, 4);
        }
        cap = max_parts(sc, gap);
        switch (mode) {
        case 0:
            parts = 0;
            break;
        case 1:
            parts = below(&r, cap / slowdown + 1);
            break;
        default:
            /* Often exactly the ideal rate: the bound's edge. */
            parts = below(&r, 4) == 0 ? cap : cap - below(&r, cap / 10 + 1);
            break;
        }
        if (parts == 0)
            still++;

        /* A reset to zero at the start of this gap, when the counter is
         * far enough from zero and from the top for the rules to see it:
         * the new reading is below the last one and the way round through
         * the wrap is longer than any plausible production. */
        if (sc->resets && below(&r, 2000) == 0) {
            struct u128 b =
                spec_bound(sc->bits, sc->elapsed_known ? gap : -1, sc->ideal_ms);

            if (hw > parts && u128_cmp(u128_sub(range, u128_of(hw)), b) > 0) {
                reset = 1;
                hw = 0;
            }
        }
        if (reset) {
            want = COUNTER_RESET;
        } else if (u128_cmp(u128_add(u128_of(hw), u128_of(parts)), range) >= 0) {
            want = COUNTER_WRAP;
        }
        /* The range is a power of two: the remainder is the low bits. */
        hw = u128_add(u128_of(hw), u128_of(parts)).lo & u128_sub(range, u128_of(1)).lo;
        made = u128_add(made, u128_of(parts));

        /* Some registers come back with junk above the width. */
        raw = hw;
        if (sc->bits < 64 && below(&r, 3) == 0)
            raw |= next(&r) << sc->bits;

        /* Now and then the agent restarts from its durable last reading. */
        if (below(&r, 5000) == 0) {
            counter_restore(&c, sc->bits,
                            c.last | (sc->bits < 64 ? next(&r) << sc->bits : 0));
            restores++;
        }

        ev = feed(&c, raw, sc->elapsed_known ? gap : -1, sc->ideal_ms, &delta);
        if (ev != want || delta != parts) {
            print_error("%s seed %llu step %zu: got %s %llu, want %s %llu (hw %llu)\n",
                        sc->name, (unsigned long long)seed, i, counter_event_name(ev),
                        (unsigned long long)delta, counter_event_name(want),
                        (unsigned long long)parts, (unsigned long long)hw);
            fail();
        }
        assert_int_equal(c.last, hw);
        wraps += ev == COUNTER_WRAP;
        resets += ev == COUNTER_RESET;
        counted = u128_add(counted, u128_of(delta));
    }
    assert_true(u128_cmp(counted, made) == 0);
    if (wraps < sc->min_wraps || (sc->resets && resets < 20) || still < 100) {
        print_error("%s seed %llu: only %u wraps, %u resets, %u still polls\n", sc->name,
                    (unsigned long long)seed, wraps, resets, still);
        fail();
    }
    assert_true(restores > 0);
    if (getenv("LB_TEST_VERBOSE") != NULL)
        printf("%s seed %llu: %u wraps, %u resets, %u restores, %u still\n", sc->name,
               (unsigned long long)seed, wraps, resets, restores, still);
}

static void test_baseline(void **state)
{
    struct counter c;
    uint64_t d;

    (void)state;
    counter_init(&c, 16);
    assert_false(c.have_base);
    assert_int_equal(feed(&c, 12345, 1000, 1000, &d), COUNTER_BASELINE);
    assert_int_equal(d, 0);
    assert_int_equal(c.last, 12345);
    assert_int_equal(feed(&c, 12350, 1000, 1000, &d), COUNTER_OK);
    assert_int_equal(d, 5);

    /* Any first value is a baseline, however large, and is masked. */
    counter_init(&c, 16);
    assert_int_equal(feed(&c, 0x1FFFF, -1, 0, &d), COUNTER_BASELINE);
    assert_int_equal(d, 0);
    assert_int_equal(c.last, 0xFFFF);
    assert_int_equal(feed(&c, 2, 1000, 0, &d), COUNTER_WRAP);
    assert_int_equal(d, 3);
}

static void test_restore(void **state)
{
    struct counter c;
    uint64_t d;

    (void)state;
    counter_restore(&c, 16, 65530);
    assert_true(c.have_base);
    /* ideal 100 ms, 1 s: bound 4 * 10 + 16 = 56; 65530 -> 4 is 10 parts. */
    assert_int_equal(feed(&c, 4, 1000, 100, &d), COUNTER_WRAP);
    assert_int_equal(d, 10);

    counter_restore(&c, 16, 0x10005);
    assert_int_equal(c.last, 5);
    assert_int_equal(feed(&c, 9, 1000, 100, &d), COUNTER_OK);
    assert_int_equal(d, 4);

    counter_restore(&c, 32, UINT64_C(0xABCD00000007));
    assert_int_equal(c.last, 7);
}

static void test_masked_input(void **state)
{
    struct counter c;
    uint64_t d;

    (void)state;
    counter_restore(&c, 16, 100);
    assert_int_equal(feed(&c, UINT64_C(0xFFFFFFFFFFFF0000) | 150, 1000, 0, &d),
                     COUNTER_OK);
    assert_int_equal(d, 50);
    assert_int_equal(c.last, 150);

    /* A sign-extended i16 of -1 reads as 0xFFFF: 150 -> 65535 is no jump
     * backwards but a forward one. */
    assert_int_equal(feed(&c, UINT64_MAX, 1000, 1000, &d), COUNTER_JUMP);
    assert_int_equal(d, 0);
    assert_int_equal(c.last, 0xFFFF);

    counter_restore(&c, 32, 0xFFFFFFF0);
    assert_int_equal(feed(&c, UINT64_C(0x1234567800000010), 1000, 0, &d), COUNTER_WRAP);
    assert_int_equal(d, 0x20);
    assert_int_equal(c.last, 0x10);
}

static void test_no_change(void **state)
{
    struct counter c;
    uint64_t d;

    (void)state;
    for (unsigned bits = 16; bits <= 64; bits *= 2) {
        counter_restore(&c, bits, 77);
        for (int i = 0; i < 10; i++) {
            assert_int_equal(feed(&c, 77, i * 100000, i % 2 ? 1000 : 0, &d), COUNTER_OK);
            assert_int_equal(d, 0);
        }
    }
}

static void test_jump_with_ideal(void **state)
{
    struct counter c;
    uint64_t d;

    (void)state;
    /* ideal 1000 ms over 1000 ms: bound 4 + 16 = 20. */
    counter_restore(&c, 32, 1000);
    assert_int_equal(feed(&c, 1020, 1000, 1000, &d), COUNTER_OK);
    assert_int_equal(d, 20);
    assert_int_equal(feed(&c, 1041, 1000, 1000, &d), COUNTER_JUMP);
    assert_int_equal(d, 0);
    assert_int_equal(c.last, 1041);
    /* Re-baselined: production continues from the new value. */
    assert_int_equal(feed(&c, 1044, 1000, 1000, &d), COUNTER_OK);
    assert_int_equal(d, 3);
    /* The bound grows with the elapsed time: 4 * 1999 / 1000 = 7, + 16. */
    assert_int_equal(feed(&c, 1044 + 23, 1999, 1000, &d), COUNTER_OK);
    assert_int_equal(d, 23);
    assert_int_equal(feed(&c, 1067 + 24, 1999, 1000, &d), COUNTER_JUMP);
    /* No time passed: only the slack of 16. */
    assert_int_equal(feed(&c, 1091 + 16, 0, 1000, &d), COUNTER_OK);
    assert_int_equal(feed(&c, 1107 + 17, 0, 1000, &d), COUNTER_JUMP);
}

static void test_jump_without_ideal(void **state)
{
    struct counter c;
    uint64_t d;

    (void)state;
    counter_restore(&c, 16, 0);
    assert_int_equal(feed(&c, 16383, 1000, 0, &d), COUNTER_OK);
    assert_int_equal(d, 16383);
    assert_int_equal(feed(&c, 16383 + 16384, 1000, 0, &d), COUNTER_JUMP);
    assert_int_equal(d, 0);

    counter_restore(&c, 32, 5);
    assert_int_equal(feed(&c, 5 + 0x3FFFFFFF, 1000, 0, &d), COUNTER_OK);
    assert_int_equal(d, 0x3FFFFFFF);
    counter_restore(&c, 32, 5);
    assert_int_equal(feed(&c, 5 + 0x40000000, 1000, 0, &d), COUNTER_JUMP);
}

static void test_wrap_or_reset_without_ideal(void **state)
{
    struct counter c;
    uint64_t d;

    (void)state;
    counter_restore(&c, 16, 60000);
    assert_int_equal(feed(&c, 10000, 1000, 0, &d), COUNTER_WRAP);
    assert_int_equal(d, 15536);

    counter_restore(&c, 16, 50000);
    assert_int_equal(feed(&c, 1000, 1000, 0, &d), COUNTER_RESET);
    assert_int_equal(d, 1000);
    assert_int_equal(c.last, 1000);

    /* The edge: a distance of 16383 is a wrap, 16384 is not. */
    counter_restore(&c, 16, 49153);
    assert_int_equal(feed(&c, 0, 1000, 0, &d), COUNTER_WRAP);
    assert_int_equal(d, 16383);
    counter_restore(&c, 16, 49152);
    assert_int_equal(feed(&c, 0, 1000, 0, &d), COUNTER_RESET);
    assert_int_equal(d, 0);

    counter_restore(&c, 32, 0xFFFFFFFF);
    assert_int_equal(feed(&c, 0, 1000, 0, &d), COUNTER_WRAP);
    assert_int_equal(d, 1);
}

static void test_wrap_or_reset_with_ideal(void **state)
{
    struct counter c;
    uint64_t d;

    (void)state;
    /* ideal 100 ms over 1000 ms: bound 56. */
    counter_restore(&c, 16, 65500);
    assert_int_equal(feed(&c, 20, 1000, 100, &d), COUNTER_WRAP);
    assert_int_equal(d, 56);
    counter_restore(&c, 16, 65500);
    assert_int_equal(feed(&c, 21, 1000, 100, &d), COUNTER_RESET);
    assert_int_equal(d, 21);

    /* With an ideal cycle time a reset is seen even near the top of a
     * 16-bit counter, where the quarter-range rule would call it a wrap. */
    counter_restore(&c, 16, 60000);
    assert_int_equal(feed(&c, 3, 1000, 1000, &d), COUNTER_RESET);
    assert_int_equal(d, 3);
    counter_restore(&c, 16, 60000);
    assert_int_equal(feed(&c, 3, 1000, 0, &d), COUNTER_WRAP);
    assert_int_equal(d, 5539);
}

/* Set back to a value no reset could read: re-baseline, count nothing. */
static void test_preset_is_jump(void **state)
{
    struct counter c;
    uint64_t d;

    (void)state;
    counter_restore(&c, 16, 50000);
    assert_int_equal(feed(&c, 30000, 1000, 0, &d), COUNTER_JUMP);
    assert_int_equal(d, 0);
    assert_int_equal(c.last, 30000);
    assert_int_equal(feed(&c, 30004, 1000, 0, &d), COUNTER_OK);
    assert_int_equal(d, 4);

    counter_restore(&c, 32, 5000);
    assert_int_equal(feed(&c, 4000, 1000, 1000, &d), COUNTER_JUMP);
    assert_int_equal(d, 0);
    /* ... but at most the bound is a reset: 20 parts since it. */
    counter_restore(&c, 32, 5000);
    assert_int_equal(feed(&c, 20, 1000, 1000, &d), COUNTER_RESET);
    assert_int_equal(d, 20);
}

static void test_64bit_extremes(void **state)
{
    const uint64_t q = UINT64_C(1) << 62;
    struct counter c;
    uint64_t d;

    (void)state;
    counter_restore(&c, 64, UINT64_MAX);
    assert_int_equal(feed(&c, 0, 1000, 0, &d), COUNTER_WRAP);
    assert_int_equal(d, 1);

    counter_restore(&c, 64, UINT64_MAX - 5);
    assert_int_equal(feed(&c, 10, 1000, 1000, &d), COUNTER_WRAP);
    assert_int_equal(d, 16);

    counter_restore(&c, 64, UINT64_C(1) << 63);
    assert_int_equal(feed(&c, 7, 1000, 0, &d), COUNTER_RESET);
    assert_int_equal(d, 7);

    counter_restore(&c, 64, 0);
    assert_int_equal(feed(&c, q - 1, 1000, 0, &d), COUNTER_OK);
    assert_true(d == q - 1);
    counter_restore(&c, 64, 0);
    assert_int_equal(feed(&c, q, 1000, 0, &d), COUNTER_JUMP);

    /* Through the wrap: just below a quarter of 2^64 is a wrap. */
    counter_restore(&c, 64, UINT64_MAX - (q - 2));
    assert_int_equal(feed(&c, 0, 1000, 0, &d), COUNTER_WRAP);
    assert_true(d == q - 1);
    counter_restore(&c, 64, UINT64_MAX - (q - 1));
    assert_int_equal(feed(&c, 0, 1000, 0, &d), COUNTER_RESET);
    assert_int_equal(d, 0);
}

/* Elapsed times of centuries must saturate the bound, not overflow it. */
static void test_huge_elapsed(void **state)
{
    struct counter c;
    uint64_t d;

    (void)state;
    counter_restore(&c, 64, 0);
    assert_int_equal(feed(&c, UINT64_MAX, INT64_MAX, 1, &d), COUNTER_OK);
    assert_true(d == UINT64_MAX);

    counter_restore(&c, 64, 1);
    assert_int_equal(feed(&c, 0, INT64_MAX, 1, &d), COUNTER_WRAP);
    assert_true(d == UINT64_MAX);

    /* 4 * (2^63 - 2) / (2^63 - 1) = 3, + 16. */
    counter_restore(&c, 64, 0);
    assert_int_equal(feed(&c, 19, INT64_MAX - 1, INT64_MAX, &d), COUNTER_OK);
    assert_int_equal(d, 19);
    assert_int_equal(feed(&c, 19 + 20, INT64_MAX - 1, INT64_MAX, &d), COUNTER_JUMP);

    /* Ideal 1 ms: 4 * e + 16 reaches 2^64 at e = 2^62 - 4 and saturates
     * there; one ms less, the bound is UINT64_MAX - 3, exactly. */
    counter_restore(&c, 64, 0);
    assert_int_equal(feed(&c, UINT64_MAX, (int64_t)(UINT64_C(1) << 62), 1, &d),
                     COUNTER_OK);
    counter_restore(&c, 64, 0);
    assert_int_equal(feed(&c, UINT64_MAX, (int64_t)(UINT64_C(1) << 62) - 4, 1, &d),
                     COUNTER_OK);
    counter_restore(&c, 64, 0);
    assert_int_equal(feed(&c, UINT64_MAX - 3, (int64_t)(UINT64_C(1) << 62) - 5, 1, &d),
                     COUNTER_OK);
    counter_restore(&c, 64, 0);
    assert_int_equal(feed(&c, UINT64_MAX - 2, (int64_t)(UINT64_C(1) << 62) - 5, 1, &d),
                     COUNTER_JUMP);
}

/* The bound, probed at its edge for elapsed and ideal times of every
 * magnitude, against the 128-bit restatement of the header's formula. */
static void test_bound_matches_spec(void **state)
{
    struct rng r = {42};
    struct counter c;
    uint64_t d;

    (void)state;
    for (int i = 0; i < 200000; i++) {
        int64_t e = (int64_t)(next(&r) >> (1 + below(&r, 63)));
        int64_t ic = (int64_t)(next(&r) >> (1 + below(&r, 63)));
        struct u128 b;
        uint64_t edge;

        if (ic == 0)
            ic = 1;
        b = spec_bound(64, e, ic);
        edge = b.hi != 0 ? UINT64_MAX : b.lo;
        counter_restore(&c, 64, 0);
        assert_int_equal(feed(&c, edge, e, ic, &d), COUNTER_OK);
        assert_true(d == edge);
        if (b.hi == 0 && b.lo < UINT64_MAX) {
            counter_restore(&c, 64, 0);
            if (feed(&c, edge + 1, e, ic, &d) != COUNTER_JUMP) {
                print_error("e %lld ic %lld: %llu accepted\n", (long long)e,
                            (long long)ic, (unsigned long long)(edge + 1));
                fail();
            }
        }
    }
}

static void test_unknown_elapsed_or_ideal(void **state)
{
    struct counter c;
    uint64_t d;

    (void)state;
    /* Unknown elapsed time: the quarter-range rule, whatever the ideal. */
    counter_restore(&c, 16, 0);
    assert_int_equal(feed(&c, 16383, -1, 1000, &d), COUNTER_OK);
    assert_int_equal(d, 16383);
    assert_int_equal(feed(&c, 16383 + 16384, -1, 1000, &d), COUNTER_JUMP);

    /* A negative ideal cycle time means unknown too. */
    counter_restore(&c, 16, 0);
    assert_int_equal(feed(&c, 16383, 1000, -5, &d), COUNTER_OK);
    assert_int_equal(d, 16383);
}

/* Documented limit: parts made between the last reading and a reset are
 * not in the register any more; the delta is what it reads after it. */
static void test_reset_mid_gap_loses_earlier_parts(void **state)
{
    struct counter c;
    uint64_t d;

    (void)state;
    counter_restore(&c, 32, 5000);
    /* 7 parts, reset, 3 parts. */
    assert_int_equal(feed(&c, 3, 1000, 100, &d), COUNTER_RESET);
    assert_int_equal(d, 3);
}

static void test_bad_width(void **state)
{
    struct counter c;
    uint64_t d;

    (void)state;
    /* Widths outside 1..64 mean 64: never mask away a reading. */
    counter_init(&c, 0);
    assert_int_equal(feed(&c, UINT64_MAX, -1, 0, &d), COUNTER_BASELINE);
    assert_true(c.last == UINT64_MAX);
    assert_int_equal(feed(&c, 0, 1000, 0, &d), COUNTER_WRAP);
    assert_int_equal(d, 1);
    counter_init(&c, 65);
    assert_int_equal(feed(&c, UINT64_MAX, -1, 0, &d), COUNTER_BASELINE);
    assert_true(c.last == UINT64_MAX);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(counter_event_name(COUNTER_OK), "ok");
    assert_string_equal(counter_event_name(COUNTER_BASELINE), "baseline");
    assert_string_equal(counter_event_name(COUNTER_WRAP), "wrap");
    assert_string_equal(counter_event_name(COUNTER_RESET), "reset");
    assert_string_equal(counter_event_name(COUNTER_JUMP), "jump");
    assert_string_equal(counter_event_name((enum counter_event)42), "?");
}

static void test_simulated(void **state)
{
    static const struct scenario scenarios[] = {
        /* Realistic: 10 ms parts read every second wrap a 16-bit register
         * every ~11 minutes. */
        {"u16 ideal", 16, 10, 1, 1000, 1, 0, 50},
        {"u16 ideal no resets", 16, 10, 1, 1000, 0, 65000, 50},
        {"u16 no ideal", 16, 0, 1, 1000, 1, 0, 1000},
        {"u16 ideal, elapsed unknown", 16, 10, 0, 1000, 1, 0, 50},
        /* 32 and 64 bits only wrap with absurd rates or gaps; the
         * arithmetic must hold all the same. */
        {"u32 ideal", 32, 1, 1, 100000000, 1, 0xFFFF0000, 500},
        {"u32 no ideal", 32, 0, 1, 1000, 1, 0, 1000},
        {"u32 no ideal, elapsed unknown", 32, 0, 0, 1000, 1, 0, 1000},
        {"u64 ideal", 64, 1, 1, INT64_C(1) << 57, 1, UINT64_MAX - 1000, 500},
        {"u64 ideal slow", 64, 2400, 1, 1000, 1, UINT64_MAX - 100, 1},
        {"u64 no ideal", 64, 0, 1, 1000, 1, 0, 1000},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
        for (uint64_t seed = 1; seed <= 4; seed++)
            run(&scenarios[i], seed * UINT64_C(0x1234567), 200000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_baseline),
        cmocka_unit_test(test_restore),
        cmocka_unit_test(test_masked_input),
        cmocka_unit_test(test_no_change),
        cmocka_unit_test(test_jump_with_ideal),
        cmocka_unit_test(test_jump_without_ideal),
        cmocka_unit_test(test_wrap_or_reset_without_ideal),
        cmocka_unit_test(test_wrap_or_reset_with_ideal),
        cmocka_unit_test(test_preset_is_jump),
        cmocka_unit_test(test_64bit_extremes),
        cmocka_unit_test(test_huge_elapsed),
        cmocka_unit_test(test_unknown_elapsed_or_ideal),
        cmocka_unit_test(test_reset_mid_gap_loses_earlier_parts),
        cmocka_unit_test(test_bad_width),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_bound_matches_spec),
        cmocka_unit_test(test_simulated),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
