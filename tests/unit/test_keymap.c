/*
 * devices/keymap.c: key codes of a keyboard-wedge scanner to text, in the
 * us and de layouts, with Shift, AltGr, Caps Lock, Ctrl and dead keys, as
 * a scanner types them (press, release, one key at a time).
 */
#include <linux/input-event-codes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scanner_priv.h"

/* A key stroke: a code, with modifiers held around it. */
struct stroke {
    unsigned code;
    unsigned mods; /* KM_LSHIFT, KM_RSHIFT, KM_ALTGR, KM_LCTRL */
};

#define K(c)                                                                             \
    {                                                                                    \
        c, 0                                                                             \
    }
#define SHIFT(c)                                                                         \
    {                                                                                    \
        c, KM_LSHIFT                                                                     \
    }
#define RSHIFT(c)                                                                        \
    {                                                                                    \
        c, KM_RSHIFT                                                                     \
    }
#define ALTGR(c)                                                                         \
    {                                                                                    \
        c, KM_ALTGR                                                                      \
    }
#define CTRL(c)                                                                          \
    {                                                                                    \
        c, KM_LCTRL                                                                      \
    }
#define END_STROKE                                                                       \
    {                                                                                    \
        0, 0                                                                             \
    }

static const unsigned mod_keys[][2] = {{KM_LSHIFT, KEY_LEFTSHIFT},
                                       {KM_RSHIFT, KEY_RIGHTSHIFT},
                                       {KM_ALTGR, KEY_RIGHTALT},
                                       {KM_LCTRL, KEY_LEFTCTRL}};

/* Types strokes (ended by a 0 code) into out; returns 1 when Enter came. */
static int type(struct keymap *k, const struct stroke *s, char *out, size_t size)
{
    size_t n = 0;
    int entered = 0;

    memset(out, 0, size);
    for (; s->code != 0; s++) {
        char buf[KEYMAP_OUT_MAX];
        int enter, len;

        for (size_t m = 0; m < 4; m++)
            if (s->mods & mod_keys[m][0])
                assert_int_equal(
                    keymap_feed(k, mod_keys[m][1], 1, buf, sizeof(buf), &enter), 0);
        len = keymap_feed(k, s->code, 1, buf, sizeof(buf), &enter);
        assert_true(len >= 0 && len <= KEYMAP_OUT_MAX);
        assert_true(n + (size_t)len < size);
        memcpy(out + n, buf, (size_t)len);
        n += (size_t)len;
        entered |= enter;
        /* Releases type nothing. */
        assert_int_equal(keymap_feed(k, s->code, 0, buf, sizeof(buf), &enter), 0);
        for (size_t m = 0; m < 4; m++)
            if (s->mods & mod_keys[m][0])
                assert_int_equal(
                    keymap_feed(k, mod_keys[m][1], 0, buf, sizeof(buf), &enter), 0);
    }
    return entered;
}

static void test_us(void **state)
{
    static const struct stroke wo[] = {SHIFT(KEY_W), SHIFT(KEY_O), K(KEY_MINUS),
                                       K(KEY_1),     K(KEY_0),     K(KEY_0),
                                       K(KEY_2),     K(KEY_ENTER), END_STROKE};
    static const struct stroke symbols[] = {
        SHIFT(KEY_1),      SHIFT(KEY_2),          SHIFT(KEY_3), SHIFT(KEY_8),
        RSHIFT(KEY_MINUS), K(KEY_EQUAL),          K(KEY_SLASH), K(KEY_DOT),
        K(KEY_SEMICOLON),  SHIFT(KEY_SEMICOLON),  K(KEY_SPACE), K(KEY_Y),
        K(KEY_Z),          SHIFT(KEY_APOSTROPHE), K(KEY_GRAVE), END_STROKE};
    static const struct stroke keypad[] = {
        K(KEY_KP1),        K(KEY_KP0),     K(KEY_KPMINUS), K(KEY_KPDOT),
        K(KEY_KPASTERISK), K(KEY_KPENTER), END_STROKE};
    struct keymap k;
    char out[64];

    (void)state;
    keymap_init(&k, LB_LAYOUT_US);
    assert_int_equal(type(&k, wo, out, sizeof(out)), 1);
    assert_string_equal(out, "WO-1002");
    assert_int_equal(type(&k, symbols, out, sizeof(out)), 0);
    assert_string_equal(out, "!@#*_=/.;: yz\"`");
    assert_int_equal(type(&k, keypad, out, sizeof(out)), 1);
    assert_string_equal(out, "10-.*");
}

static void test_de(void **state)
{
    /* What a scanner set to German types for "WO-1002*3 yz@€{}[]\~|<>#'"
     * and the umlauts: Y and Z swapped, '-' on the slash key, '*' is
     * Shift +, AltGr for the rest. */
    static const struct stroke wo[] = {SHIFT(KEY_W), SHIFT(KEY_O), K(KEY_SLASH),
                                       K(KEY_1),     K(KEY_0),     K(KEY_0),
                                       K(KEY_2),     K(KEY_ENTER), END_STROKE};
    static const struct stroke symbols[] = {SHIFT(KEY_RIGHTBRACE),
                                            K(KEY_RIGHTBRACE),
                                            K(KEY_Z),
                                            K(KEY_Y),
                                            ALTGR(KEY_Q),
                                            ALTGR(KEY_E),
                                            ALTGR(KEY_7),
                                            ALTGR(KEY_0),
                                            ALTGR(KEY_8),
                                            ALTGR(KEY_9),
                                            ALTGR(KEY_MINUS),
                                            ALTGR(KEY_RIGHTBRACE),
                                            ALTGR(KEY_102ND),
                                            K(KEY_102ND),
                                            SHIFT(KEY_102ND),
                                            K(KEY_BACKSLASH),
                                            SHIFT(KEY_BACKSLASH),
                                            SHIFT(KEY_7),
                                            SHIFT(KEY_0),
                                            SHIFT(KEY_MINUS),
                                            SHIFT(KEY_2),
                                            SHIFT(KEY_SLASH),
                                            SHIFT(KEY_DOT),
                                            SHIFT(KEY_COMMA),
                                            END_STROKE};
    static const struct stroke umlauts[] = {
        K(KEY_APOSTROPHE), K(KEY_SEMICOLON), K(KEY_LEFTBRACE), SHIFT(KEY_LEFTBRACE),
        K(KEY_MINUS),      SHIFT(KEY_3),     K(KEY_KPDOT),     END_STROKE};
    struct keymap k;
    char out[96];

    (void)state;
    keymap_init(&k, LB_LAYOUT_DE);
    assert_int_equal(type(&k, wo, out, sizeof(out)), 1);
    assert_string_equal(out, "WO-1002");
    assert_int_equal(type(&k, symbols, out, sizeof(out)), 0);
    assert_string_equal(out, "*+yz@\xe2\x82\xac{}[]\\~|<>#'/=?\"_:;");
    type(&k, umlauts, out, sizeof(out));
    assert_string_equal(out, "\xc3\xa4\xc3\xb6\xc3\xbc\xc3\x9c\xc3\x9f\xc2\xa7,");
}

/* The same key codes give other text in the other layout: the reason the
 * layout is configured. */
static void test_layouts_differ(void **state)
{
    static const struct stroke s[] = {K(KEY_Y), K(KEY_MINUS), SHIFT(KEY_8), END_STROKE};
    struct keymap k;
    char out[32];

    (void)state;
    keymap_init(&k, LB_LAYOUT_US);
    type(&k, s, out, sizeof(out));
    assert_string_equal(out, "y-*");
    keymap_init(&k, LB_LAYOUT_DE);
    type(&k, s, out, sizeof(out));
    assert_string_equal(out, "z\xc3\x9f(");
}

static void test_dead_keys(void **state)
{
    /* ^ space, ´ e, ` a, ^ o, ^ x (no composed form: both), ´ Enter. */
    static const struct stroke s[] = {
        K(KEY_GRAVE), K(KEY_SPACE), K(KEY_EQUAL), K(KEY_E),     SHIFT(KEY_EQUAL),
        K(KEY_A),     K(KEY_GRAVE), SHIFT(KEY_O), K(KEY_GRAVE), K(KEY_X),
        K(KEY_EQUAL), K(KEY_ENTER), END_STROKE};
    struct keymap k;
    char out[32];

    (void)state;
    keymap_init(&k, LB_LAYOUT_DE);
    assert_int_equal(type(&k, s, out, sizeof(out)), 1);
    assert_string_equal(out, "^\xc3\xa9\xc3\xa0\xc3\x94^x\xc2\xb4");
}

static void test_caps_ctrl_repeat(void **state)
{
    struct keymap k;
    char buf[KEYMAP_OUT_MAX];
    int enter;

    (void)state;
    keymap_init(&k, LB_LAYOUT_US);
    /* Caps Lock shifts letters, not digits; Shift undoes it. */
    assert_int_equal(keymap_feed(&k, KEY_CAPSLOCK, 1, buf, sizeof(buf), &enter), 0);
    assert_int_equal(keymap_feed(&k, KEY_CAPSLOCK, 0, buf, sizeof(buf), &enter), 0);
    assert_int_equal(keymap_feed(&k, KEY_A, 1, buf, sizeof(buf), &enter), 1);
    assert_int_equal(buf[0], 'A');
    assert_int_equal(keymap_feed(&k, KEY_1, 1, buf, sizeof(buf), &enter), 1);
    assert_int_equal(buf[0], '1');
    keymap_feed(&k, KEY_LEFTSHIFT, 1, buf, sizeof(buf), &enter);
    assert_int_equal(keymap_feed(&k, KEY_A, 1, buf, sizeof(buf), &enter), 1);
    assert_int_equal(buf[0], 'a');
    keymap_feed(&k, KEY_LEFTSHIFT, 0, buf, sizeof(buf), &enter);
    keymap_feed(&k, KEY_CAPSLOCK, 1, buf, sizeof(buf), &enter);
    /* Ctrl-] is GS, the GS1 separator; Ctrl-A is SOH. */
    keymap_feed(&k, KEY_RIGHTCTRL, 1, buf, sizeof(buf), &enter);
    assert_int_equal(keymap_feed(&k, KEY_RIGHTBRACE, 1, buf, sizeof(buf), &enter), 1);
    assert_int_equal(buf[0], 0x1d);
    assert_int_equal(keymap_feed(&k, KEY_A, 1, buf, sizeof(buf), &enter), 1);
    assert_int_equal(buf[0], 0x01);
    keymap_feed(&k, KEY_RIGHTCTRL, 0, buf, sizeof(buf), &enter);
    /* Auto-repeat and unmapped keys type nothing; Enter says so. */
    assert_int_equal(keymap_feed(&k, KEY_A, 2, buf, sizeof(buf), &enter), 0);
    assert_int_equal(keymap_feed(&k, KEY_F1, 1, buf, sizeof(buf), &enter), 0);
    assert_int_equal(keymap_feed(&k, KEY_ESC, 1, buf, sizeof(buf), &enter), 0);
    assert_int_equal(keymap_feed(&k, 700, 1, buf, sizeof(buf), &enter), 0);
    assert_int_equal(enter, 0);
    assert_int_equal(keymap_feed(&k, KEY_ENTER, 1, buf, sizeof(buf), &enter), 0);
    assert_int_equal(enter, 1);
    /* Too small a buffer: nothing written. */
    assert_int_equal(keymap_feed(&k, KEY_A, 1, buf, 2, &enter), 0);
}

static void test_layout_names(void **state)
{
    (void)state;
    assert_string_equal(lb_layout_name(LB_LAYOUT_US), "us");
    assert_string_equal(lb_layout_name(LB_LAYOUT_DE), "de");
    assert_null(lb_layout_name(LB_LAYOUT_COUNT));
    assert_int_equal(lb_layout_parse("de"), LB_LAYOUT_DE);
    assert_int_equal(lb_layout_parse("fr"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_us),
        cmocka_unit_test(test_de),
        cmocka_unit_test(test_layouts_differ),
        cmocka_unit_test(test_dead_keys),
        cmocka_unit_test(test_caps_ctrl_repeat),
        cmocka_unit_test(test_layout_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
