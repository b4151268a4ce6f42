/*
 * Key codes -> text for keyboard-wedge scanners.  A scanner in keyboard
 * mode types what it reads as key presses of the layout it was set up for;
 * we read the raw key codes (the console's keymap is bypassed by the grab),
 * so the layout has to be known here.  Only the keys a scanner types are
 * mapped: the main block, space, Tab, Enter and the keypad (Num Lock taken
 * as on, which is what scanners assume).  See scanner_priv.h.
 */
#include <linux/input-event-codes.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "scanner_priv.h"

#define DEAD     0x80000000u /* flag: a dead key, combined with the next */
#define NKEYS    128
#define ENTER_CP 0x0a

/* What a key types: plain, with Shift, with AltGr (0: nothing). */
struct keydef {
    uint32_t v[3];
};

/* Keys that are the same in both layouts. */
#define COMMON_KEYS                                                                      \
    [KEY_TAB] = {{'\t', '\t', 0}}, [KEY_SPACE] = {{' ', ' ', ' '}},                      \
    [KEY_KP0] = {{'0', '0', 0}}, [KEY_KP1] = {{'1', '1', 0}},                            \
    [KEY_KP2] = {{'2', '2', 0}}, [KEY_KP3] = {{'3', '3', 0}},                            \
    [KEY_KP4] = {{'4', '4', 0}}, [KEY_KP5] = {{'5', '5', 0}},                            \
    [KEY_KP6] = {{'6', '6', 0}}, [KEY_KP7] = {{'7', '7', 0}},                            \
    [KEY_KP8] = {{'8', '8', 0}}, [KEY_KP9] = {{'9', '9', 0}},                            \
    [KEY_KPMINUS] = {{'-', '-', 0}}, [KEY_KPPLUS] = {{'+', '+', 0}},                     \
    [KEY_KPASTERISK] = {{'*', '*', 0}}, [KEY_KPSLASH] = {{'/', '/', 0}},                 \
    [KEY_A] = {{'a', 'A', 0}}, [KEY_B] = {{'b', 'B', 0}}, [KEY_C] = {{'c', 'C', 0}},     \
    [KEY_D] = {{'d', 'D', 0}}, [KEY_F] = {{'f', 'F', 0}}, [KEY_G] = {{'g', 'G', 0}},     \
    [KEY_H] = {{'h', 'H', 0}}, [KEY_I] = {{'i', 'I', 0}}, [KEY_J] = {{'j', 'J', 0}},     \
    [KEY_K] = {{'k', 'K', 0}}, [KEY_L] = {{'l', 'L', 0}}, [KEY_N] = {{'n', 'N', 0}},     \
    [KEY_O] = {{'o', 'O', 0}}, [KEY_P] = {{'p', 'P', 0}}, [KEY_R] = {{'r', 'R', 0}},     \
    [KEY_S] = {{'s', 'S', 0}}, [KEY_T] = {{'t', 'T', 0}}, [KEY_U] = {{'u', 'U', 0}},     \
    [KEY_V] = {{'v', 'V', 0}}, [KEY_W] = {{'w', 'W', 0}}, [KEY_X] = {{'x', 'X', 0}}

static const struct keydef us[NKEYS] = {
    COMMON_KEYS,
    [KEY_1] = {{'1', '!', 0}},
    [KEY_2] = {{'2', '@', 0}},
    [KEY_3] = {{'3', '#', 0}},
    [KEY_4] = {{'4', '$', 0}},
    [KEY_5] = {{'5', '%', 0}},
    [KEY_6] = {{'6', '^', 0}},
    [KEY_7] = {{'7', '&', 0}},
    [KEY_8] = {{'8', '*', 0}},
    [KEY_9] = {{'9', '(', 0}},
    [KEY_0] = {{'0', ')', 0}},
    [KEY_MINUS] = {{'-', '_', 0}},
    [KEY_EQUAL] = {{'=', '+', 0}},
    [KEY_Q] = {{'q', 'Q', 0}},
    [KEY_E] = {{'e', 'E', 0}},
    [KEY_Y] = {{'y', 'Y', 0}},
    [KEY_Z] = {{'z', 'Z', 0}},
    [KEY_M] = {{'m', 'M', 0}},
    [KEY_LEFTBRACE] = {{'[', '{', 0}},
    [KEY_RIGHTBRACE] = {{']', '}', 0}},
    [KEY_SEMICOLON] = {{';', ':', 0}},
    [KEY_APOSTROPHE] = {{'\'', '"', 0}},
    [KEY_GRAVE] = {{'`', '~', 0}},
    [KEY_BACKSLASH] = {{'\\', '|', 0}},
    [KEY_102ND] = {{'\\', '|', 0}},
    [KEY_COMMA] = {{',', '<', 0}},
    [KEY_DOT] = {{'.', '>', 0}},
    [KEY_SLASH] = {{'/', '?', 0}},
    [KEY_KPDOT] = {{'.', '.', 0}},
};

/* German (de, T1 as in DIN 2137): Y and Z swapped, umlauts, AltGr for
 * @ € { [ ] } \ ~ | and dead ^ ´ `. */
static const struct keydef de[NKEYS] = {
    COMMON_KEYS,
    [KEY_1] = {{'1', '!', 0xb9}},
    [KEY_2] = {{'2', '"', 0xb2}},
    [KEY_3] = {{'3', 0xa7, 0xb3}},
    [KEY_4] = {{'4', '$', 0}},
    [KEY_5] = {{'5', '%', 0}},
    [KEY_6] = {{'6', '&', 0}},
    [KEY_7] = {{'7', '/', '{'}},
    [KEY_8] = {{'8', '(', '['}},
    [KEY_9] = {{'9', ')', ']'}},
    [KEY_0] = {{'0', '=', '}'}},
    [KEY_MINUS] = {{0xdf, '?', '\\'}},
    [KEY_EQUAL] = {{DEAD | 0xb4, DEAD | '`', 0}},
    [KEY_Q] = {{'q', 'Q', '@'}},
    [KEY_E] = {{'e', 'E', 0x20ac}},
    [KEY_Y] = {{'z', 'Z', 0}},
    [KEY_Z] = {{'y', 'Y', 0}},
    [KEY_M] = {{'m', 'M', 0xb5}},
    [KEY_LEFTBRACE] = {{0xfc, 0xdc, 0}},
    [KEY_RIGHTBRACE] = {{'+', '*', '~'}},
    [KEY_SEMICOLON] = {{0xf6, 0xd6, 0}},
    [KEY_APOSTROPHE] = {{0xe4, 0xc4, 0}},
    [KEY_GRAVE] = {{DEAD | '^', 0xb0, 0}},
    [KEY_BACKSLASH] = {{'#', '\'', 0}},
    [KEY_102ND] = {{'<', '>', '|'}},
    [KEY_COMMA] = {{',', ';', 0}},
    [KEY_DOT] = {{'.', ':', 0}},
    [KEY_SLASH] = {{'-', '_', 0}},
    [KEY_KPDOT] = {{',', ',', 0}},
};

static const struct keydef *const layouts[LB_LAYOUT_COUNT] = {
    [LB_LAYOUT_US] = us,
    [LB_LAYOUT_DE] = de,
};

static const char *const layout_names[LB_LAYOUT_COUNT] = {
    [LB_LAYOUT_US] = "us",
    [LB_LAYOUT_DE] = "de",
};

static size_t utf8_put(uint32_t cp, char *out);
static uint32_t compose(uint32_t accent, uint32_t c);
static int is_letter(uint32_t c);

const char *lb_layout_name(enum lb_layout l)
{
    return (unsigned)l < LB_LAYOUT_COUNT ? layout_names[l] : NULL;
}

int lb_layout_parse(const char *name)
{
    for (int i = 0; i < LB_LAYOUT_COUNT; i++)
        if (strcmp(name, layout_names[i]) == 0)
            return i;
    return -1;
}

void keymap_init(struct keymap *k, enum lb_layout layout)
{
    memset(k, 0, sizeof(*k));
    k->layout = (unsigned)layout < LB_LAYOUT_COUNT ? layout : LB_LAYOUT_US;
}

static size_t utf8_put(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    out[0] = (char)(0xe0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
}

/* Letters Caps Lock shifts: a-z and the umlauts of the tables. */
static int is_letter(uint32_t c)
{
    return (c >= 'a' && c <= 'z') || c == 0xe4 || c == 0xf6 || c == 0xfc;
}

/* The Latin-1 vowel with that accent, or 0. */
static uint32_t compose(uint32_t accent, uint32_t c)
{
    static const char vowels[] = "AEIOUY";
    /* Per accent, the composed capitals of A E I O U Y (0: none). */
    static const uint32_t grave[] = {0xc0, 0xc8, 0xcc, 0xd2, 0xd9, 0};
    static const uint32_t acute[] = {0xc1, 0xc9, 0xcd, 0xd3, 0xda, 0xdd};
    static const uint32_t circ[] = {0xc2, 0xca, 0xce, 0xd4, 0xdb, 0};
    const uint32_t *row;
    const char *v;
    int lower = c >= 'a' && c <= 'z';
    uint32_t up = lower ? c - 32 : c, r;

    if (accent == '`')
        row = grave;
    else if (accent == 0xb4)
        row = acute;
    else if (accent == '^')
        row = circ;
    else
        return 0;
    if (up > 0x7f || up == 0 || (v = strchr(vowels, (int)up)) == NULL)
        return 0;
    r = row[v - vowels];
    return r != 0 && lower ? r + 32 : r;
}

int keymap_feed(struct keymap *k, unsigned code, int value, char *out, size_t size,
                int *enter)
{
    const struct keydef *kd;
    unsigned bit = 0;
    uint32_t c;
    size_t n = 0;
    int shift, level;

    *enter = 0;
    if (size < KEYMAP_OUT_MAX)
        return 0;
    switch (code) {
    case KEY_LEFTSHIFT:
        bit = KM_LSHIFT;
        break;
    case KEY_RIGHTSHIFT:
        bit = KM_RSHIFT;
        break;
    case KEY_LEFTCTRL:
        bit = KM_LCTRL;
        break;
    case KEY_RIGHTCTRL:
        bit = KM_RCTRL;
        break;
    case KEY_RIGHTALT:
        bit = KM_ALTGR;
        break;
    default:
        break;
    }
    if (bit != 0) {
        if (value == 1)
            k->mods |= bit;
        else if (value == 0)
            k->mods &= ~bit;
        return 0;
    }
    if (value != 1)
        return 0;
    if (code == KEY_CAPSLOCK) {
        k->mods ^= KM_CAPS;
        return 0;
    }
    if (code == KEY_ENTER || code == KEY_KPENTER) {
        *enter = 1;
        c = ENTER_CP;
    } else {
        if (code >= NKEYS)
            return 0;
        kd = &layouts[k->layout][code];
        shift = (k->mods & (KM_LSHIFT | KM_RSHIFT)) != 0;
        if ((k->mods & KM_CAPS) && is_letter(kd->v[0]))
            shift = !shift;
        level = (k->mods & KM_ALTGR) ? 2 : shift;
        c = kd->v[level];
        if (c == 0)
            return 0;
    }
    if (k->mods & (KM_LCTRL | KM_RCTRL)) {
        uint32_t u = c >= 'a' && c <= 'z' ? c - 32 : c;

        /* Ctrl-@ (NUL) would end the text early; a scanner never sends it. */
        if (u > '@' && u <= '_')
            c = u & 0x1f;
    }
    if (k->dead != 0) {
        uint32_t composed = *enter ? 0 : compose(k->dead, c);

        if (composed != 0) {
            k->dead = 0;
            return (int)utf8_put(composed, out);
        }
        n += utf8_put(k->dead, out);
        k->dead = 0;
        if (c == ' ')
            return (int)n;
    }
    if (*enter)
        return (int)n;
    if (c & DEAD) {
        k->dead = c & ~DEAD;
        return (int)n;
    }
    n += utf8_put(c, out + n);
    return (int)n;
}
