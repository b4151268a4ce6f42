/*
 * Growing arrays (linebeat/grow.h): doubling from a first capacity, and
 * refusing a size that would overflow rather than allocating a short array.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <errno.h>

#include <cmocka.h>

#include "linebeat/grow.h"

struct item {
    int64_t a, b;
};

/* The first call allocates exactly first elements, later calls double. */
static void test_first_then_doubles(void **state)
{
    struct item *v = NULL;
    size_t cap = 0, n;

    (void)state;
    assert_int_equal(LB_GROW(v, &cap, 0, 5), 0);
    assert_non_null(v);
    assert_int_equal(cap, 5);
    for (n = 0; n < 100; n++) {
        assert_int_equal(LB_GROW(v, &cap, n, 5), 0);
        assert_true(n < cap);
        v[n].a = (int64_t)n;
        v[n].b = -(int64_t)n;
    }
    assert_int_equal(cap, 160); /* 5, 10, 20, 40, 80, 160 */
    for (n = 0; n < 100; n++) {
        assert_int_equal(v[n].a, (int64_t)n);
        assert_int_equal(v[n].b, -(int64_t)n);
    }
    free(v);
}

/* While there is room nothing moves. */
static void test_room_left(void **state)
{
    int *v = NULL, *old;
    size_t cap = 0;

    (void)state;
    assert_int_equal(LB_GROW(v, &cap, 0, 16), 0);
    old = v;
    assert_int_equal(LB_GROW(v, &cap, 15, 16), 0);
    assert_ptr_equal(v, old);
    assert_int_equal(cap, 16);
    free(v);
}

/* A size past SIZE_MAX is refused, leaving the array and its capacity as
 * they were, so the caller can still use and free it. */
static void test_overflow(void **state)
{
    struct item *v = NULL;
    size_t cap = 0, big;

    (void)state;
    assert_int_equal(LB_GROW(v, &cap, 0, SIZE_MAX / sizeof(*v) + 1), -ENOMEM);
    assert_null(v);
    assert_int_equal(cap, 0);

    assert_int_equal(LB_GROW(v, &cap, 0, 4), 0);
    v[3].a = 7;
    /* Pretend the array is already so large that doubling would overflow:
     * lb_grow must refuse before calling realloc. */
    big = SIZE_MAX / sizeof(*v) / 2 + 1;
    cap = big;
    assert_int_equal(LB_GROW(v, &cap, big, 4), -ENOMEM);
    assert_int_equal(cap, big);
    assert_int_equal(v[3].a, 7);

    big = SIZE_MAX / 2 + 1;
    cap = big;
    assert_int_equal(lb_grow(&v, &cap, big, 1, 4), -ENOMEM);
    assert_int_equal(cap, big);
    assert_int_equal(v[3].a, 7);
    free(v);
}

/* A first capacity of 0 is refused: realloc to 0 bytes would free. */
static void test_zero_first(void **state)
{
    int *v = NULL;
    size_t cap = 0;

    (void)state;
    assert_int_equal(LB_GROW(v, &cap, 0, 0), -ENOMEM);
    assert_null(v);
    assert_int_equal(cap, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_then_doubles),
        cmocka_unit_test(test_room_left),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_zero_first),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
