/*
 * Register decoding (devices/decode.c): every type in every byte/word order
 * against byte patterns written out by hand from the definitions in
 * profile.h, round trips, sign extension, float32 and scale.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "linebeat/profile.h"

struct pattern {
    enum lb_vtype type;
    enum lb_order order;
    uint64_t raw;
    uint16_t regs[4];
};

/* Bytes A..D of 0x11223344 (A..H of 0x1122334455667788) as they travel,
 * two to a register, high byte first. */
static const struct pattern patterns[] = {
    /* 16-bit: one register; ABCD and CDAB read it as is, the others swap. */
    {LB_T_U16, LB_ORDER_ABCD, 0x1122, {0x1122}},
    {LB_T_U16, LB_ORDER_CDAB, 0x1122, {0x1122}},
    {LB_T_U16, LB_ORDER_DCBA, 0x1122, {0x2211}},
    {LB_T_U16, LB_ORDER_BADC, 0x1122, {0x2211}},
    {LB_T_I16, LB_ORDER_ABCD, 0xfffe, {0xfffe}},
    {LB_T_I16, LB_ORDER_CDAB, 0x8001, {0x8001}},
    {LB_T_I16, LB_ORDER_DCBA, 0xfffe, {0xfeff}},
    {LB_T_I16, LB_ORDER_BADC, 0x8001, {0x0180}},
    /* 32-bit: wire bytes ABCD, DCBA, BADC, CDAB. */
    {LB_T_U32, LB_ORDER_ABCD, 0x11223344, {0x1122, 0x3344}},
    {LB_T_U32, LB_ORDER_DCBA, 0x11223344, {0x4433, 0x2211}},
    {LB_T_U32, LB_ORDER_BADC, 0x11223344, {0x2211, 0x4433}},
    {LB_T_U32, LB_ORDER_CDAB, 0x11223344, {0x3344, 0x1122}},
    {LB_T_I32, LB_ORDER_ABCD, 0xfffffffe, {0xffff, 0xfffe}},
    {LB_T_I32, LB_ORDER_DCBA, 0xfffffffe, {0xfeff, 0xffff}},
    {LB_T_I32, LB_ORDER_BADC, 0xfffffffe, {0xffff, 0xfeff}},
    {LB_T_I32, LB_ORDER_CDAB, 0xfffffffe, {0xfffe, 0xffff}},
    /* 1.5f is 0x3fc00000. */
    {LB_T_F32, LB_ORDER_ABCD, 0x3fc00000, {0x3fc0, 0x0000}},
    {LB_T_F32, LB_ORDER_DCBA, 0x3fc00000, {0x0000, 0xc03f}},
    {LB_T_F32, LB_ORDER_BADC, 0x3fc00000, {0xc03f, 0x0000}},
    {LB_T_F32, LB_ORDER_CDAB, 0x3fc00000, {0x0000, 0x3fc0}},
    /* 64-bit: ABCD big-endian; CDAB least significant word first with
     * big-endian bytes; DCBA fully little-endian; BADC big-endian word
     * order with the bytes of each word swapped. */
    {LB_T_U64, LB_ORDER_ABCD, 0x1122334455667788, {0x1122, 0x3344, 0x5566, 0x7788}},
    {LB_T_U64, LB_ORDER_CDAB, 0x1122334455667788, {0x7788, 0x5566, 0x3344, 0x1122}},
    {LB_T_U64, LB_ORDER_DCBA, 0x1122334455667788, {0x8877, 0x6655, 0x4433, 0x2211}},
    {LB_T_U64, LB_ORDER_BADC, 0x1122334455667788, {0x2211, 0x4433, 0x6655, 0x8877}},
    /* bool: one bit widened to one element. */
    {LB_T_BOOL, LB_ORDER_ABCD, 1, {1}},
    {LB_T_BOOL, LB_ORDER_DCBA, 0, {0}},
};

static struct lb_value value(enum lb_vtype t, enum lb_order o)
{
    struct lb_value v;

    memset(&v, 0, sizeof(v));
    v.present = 1;
    v.area = t == LB_T_BOOL ? LB_AREA_COIL : LB_AREA_HOLDING;
    v.type = t;
    v.order = o;
    v.scale = 1.0;
    return v;
}

static void test_patterns(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
        const struct pattern *p = &patterns[i];
        struct lb_value v = value(p->type, p->order);
        uint16_t regs[4] = {0xdead, 0xdead, 0xdead, 0xdead};
        unsigned n = lb_vtype_words(p->type);
        uint64_t raw = 0;

        print_message("%s %s\n", lb_vtype_name(p->type), lb_order_name(p->order));
        assert_int_equal(lb_value_decode(&v, p->regs, &raw), 0);
        assert_int_equal(raw, p->raw);
        lb_value_encode(&v, p->raw, regs);
        for (unsigned k = 0; k < n; k++)
            assert_int_equal(regs[k], p->regs[k]);
        /* encode writes exactly lb_vtype_words registers */
        for (unsigned k = n; k < 4; k++)
            assert_int_equal(regs[k], 0xdead);
    }
}

static uint64_t next(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void test_round_trip(void **state)
{
    uint64_t seed = 1;

    (void)state;
    for (int t = LB_T_BOOL; t <= LB_T_F32; t++) {
        for (int o = LB_ORDER_ABCD; o <= LB_ORDER_CDAB; o++) {
            struct lb_value v = value((enum lb_vtype)t, (enum lb_order)o);
            unsigned bits = lb_vtype_bits((enum lb_vtype)t);
            uint64_t mask = bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;

            for (int i = 0; i < 1000; i++) {
                uint64_t in = next(&seed), out = 0;
                uint16_t regs[4];

                lb_value_encode(&v, in, regs);
                lb_value_decode(&v, regs, &out);
                /* Bits above the type's width are dropped, never kept. */
                if (t == LB_T_BOOL)
                    assert_int_equal(out, in != 0);
                else
                    assert_int_equal(out, in & mask);
            }
        }
    }
}

static void test_sign_extension(void **state)
{
    struct lb_value i16 = value(LB_T_I16, LB_ORDER_ABCD);
    struct lb_value i32 = value(LB_T_I32, LB_ORDER_CDAB);
    struct lb_value u16 = value(LB_T_U16, LB_ORDER_ABCD);
    struct lb_value u32 = value(LB_T_U32, LB_ORDER_ABCD);
    uint16_t regs[2] = {0x8000, 0x0000};
    uint64_t raw;

    (void)state;
    assert_int_equal(lb_value_to_int(&i16, 0xffff), -1);
    assert_int_equal(lb_value_to_int(&i16, 0x8000), -32768);
    assert_int_equal(lb_value_to_int(&i16, 0x7fff), 32767);
    assert_true(lb_value_to_double(&i16, 0xfffe) == -2.0);
    assert_true(lb_value_to_double(&u16, 0xfffe) == 65534.0);
    /* A sign-extended raw value (as a caller may pass) means the same. */
    assert_int_equal(lb_value_to_int(&i16, UINT64_MAX), -1);

    /* CDAB: the second register is the high word. */
    lb_value_decode(&i32, regs, &raw);
    assert_int_equal(raw, 0x00008000);
    assert_int_equal(lb_value_to_int(&i32, raw), 32768);
    regs[0] = 0x0000;
    regs[1] = 0x8000;
    lb_value_decode(&i32, regs, &raw);
    assert_int_equal(raw, 0x80000000);
    assert_int_equal(lb_value_to_int(&i32, raw), INT32_MIN);
    assert_true(lb_value_to_double(&i32, raw) == -2147483648.0);
    assert_true(lb_value_to_double(&u32, 0x80000000) == 2147483648.0);
}

static void test_float(void **state)
{
    struct lb_value f = value(LB_T_F32, LB_ORDER_ABCD);
    uint16_t regs[2];
    uint64_t raw;
    float x = -12.25f;
    uint32_t bits;

    (void)state;
    memcpy(&bits, &x, sizeof(bits));
    lb_value_encode(&f, bits, regs);
    assert_int_equal(regs[0], bits >> 16);
    assert_int_equal(regs[1], bits & 0xffff);
    lb_value_decode(&f, regs, &raw);
    assert_int_equal(raw, bits);
    assert_true(lb_value_to_double(&f, raw) == -12.25);
    assert_int_equal(lb_value_to_int(&f, raw), -12);
    f.scale = 2.0;
    assert_true(lb_value_to_double(&f, 0x3fc00000) == 3.0);
    /* NaN and huge values do not become undefined integer conversions. */
    assert_int_equal(lb_value_to_int(&f, 0x7fc00000), 0);
    assert_int_equal(lb_value_to_int(&f, 0x7f7fffff), INT64_MAX);
    assert_int_equal(lb_value_to_int(&f, 0xff7fffff), INT64_MIN);
}

static void test_scale_and_bool(void **state)
{
    struct lb_value u = value(LB_T_U16, LB_ORDER_ABCD);
    struct lb_value b = value(LB_T_BOOL, LB_ORDER_ABCD);
    struct lb_value w = value(LB_T_U64, LB_ORDER_ABCD);
    uint16_t regs[4] = {0xff00, 0, 0, 0};
    uint64_t raw;

    (void)state;
    u.scale = 0.1;
    assert_true(lb_value_to_double(&u, 1234) > 123.39 &&
                lb_value_to_double(&u, 1234) < 123.41);
    lb_value_decode(&b, regs, &raw);
    assert_int_equal(raw, 1);
    lb_value_encode(&b, 5, regs);
    assert_int_equal(regs[0], 1);
    assert_true(lb_value_to_double(&b, 1) == 1.0);
    lb_value_encode(&u, 0x12345, regs);
    assert_int_equal(regs[0], 0x2345);
    assert_int_equal(lb_value_to_int(&w, UINT64_MAX), -1);
    assert_true(lb_value_to_double(&w, UINT64_MAX) == 18446744073709551615.0);
}

static void test_names_and_sizes(void **state)
{
    static const char *const types[] = {"bool", "u16", "i16",    "u32",
                                        "i32",  "u64", "float32"};
    static const unsigned words[] = {1, 1, 1, 2, 2, 4, 2};
    static const unsigned bits[] = {1, 16, 16, 32, 32, 64, 32};

    (void)state;
    for (int t = 0; t < 7; t++) {
        assert_string_equal(lb_vtype_name((enum lb_vtype)t), types[t]);
        assert_int_equal(lb_vtype_words((enum lb_vtype)t), words[t]);
        assert_int_equal(lb_vtype_bits((enum lb_vtype)t), bits[t]);
    }
    assert_string_equal(lb_area_name(LB_AREA_COIL), "coil");
    assert_string_equal(lb_area_name(LB_AREA_DISCRETE), "discrete");
    assert_string_equal(lb_area_name(LB_AREA_HOLDING), "holding");
    assert_string_equal(lb_area_name(LB_AREA_INPUT), "input");
    assert_string_equal(lb_order_name(LB_ORDER_ABCD), "ABCD");
    assert_string_equal(lb_order_name(LB_ORDER_DCBA), "DCBA");
    assert_string_equal(lb_order_name(LB_ORDER_BADC), "BADC");
    assert_string_equal(lb_order_name(LB_ORDER_CDAB), "CDAB");
    assert_string_equal(lb_role_name(LB_ROLE_GOOD), "good");
    assert_string_equal(lb_role_name(LB_ROLE_TOTAL), "total");
    assert_string_equal(lb_role_name(LB_ROLE_SCRAP), "scrap");
    assert_string_equal(lb_role_name(LB_ROLE_STATE), "state");
    assert_string_equal(lb_role_name(LB_ROLE_REASON), "reason");
    assert_string_equal(lb_role_name(LB_ROLE_CYCLE), "cycle");
    assert_string_equal(lb_role_name(LB_ROLE_CONTROL), "control");
    assert_string_equal(lb_role_name(LB_ROLE_COUNT), "?");
    assert_string_equal(lb_area_name((enum lb_area)9), "?");
    assert_string_equal(lb_vtype_name((enum lb_vtype) - 1), "?");
    assert_string_equal(lb_order_name((enum lb_order)4), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patterns),       cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_sign_extension), cmocka_unit_test(test_float),
        cmocka_unit_test(test_scale_and_bool), cmocka_unit_test(test_names_and_sizes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
