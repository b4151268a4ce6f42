/*
 * Register decoding: turns the 16-bit registers of a Modbus read into the
 * raw value of a profile entry and back, for every type and byte/word
 * order, and names the enums of profile.h.
 *
 * Byte naming: A is the most significant byte of a 32-bit value, D the
 * least.  A register travels high byte first, so the ABCD order puts AB in
 * the first register and CD in the second.  The four orders reduce to two
 * independent choices, applied to any width:
 *   - reverse the order of the registers (CDAB, DCBA), and
 *   - swap the two bytes inside each register (BADC, DCBA).
 * For 64-bit values this gives the usual device conventions: CDAB is the
 * least significant word first with big-endian bytes, DCBA is fully
 * little-endian, BADC keeps big-endian word order with swapped bytes.  A
 * 16-bit value has only one register, so ABCD and CDAB read it as is and
 * DCBA and BADC byte-swap it.
 */
#include <math.h>
#include <string.h>

#include "linebeat/profile.h"

static int order_reverses_words(enum lb_order o);
static int order_swaps_bytes(enum lb_order o);
static uint16_t swap16(uint16_t w);
static uint64_t type_mask(enum lb_vtype t);

static const char *const role_names[LB_ROLE_COUNT] = {
    "good", "total", "scrap", "state", "reason", "cycle", "control",
};

static const char *const area_names[] = {"coil", "discrete", "holding", "input"};

static const char *const vtype_names[] = {"bool", "u16", "i16",    "u32",
                                          "i32",  "u64", "float32"};

static const char *const order_names[] = {"ABCD", "DCBA", "BADC", "CDAB"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *lb_role_name(enum lb_role r)
{
    if ((unsigned)r >= NELEM(role_names))
        return "?";
    return role_names[r];
}

const char *lb_area_name(enum lb_area a)
{
    if ((unsigned)a >= NELEM(area_names))
        return "?";
    return area_names[a];
}

const char *lb_vtype_name(enum lb_vtype t)
{
    if ((unsigned)t >= NELEM(vtype_names))
        return "?";
    return vtype_names[t];
}

const char *lb_order_name(enum lb_order o)
{
    if ((unsigned)o >= NELEM(order_names))
        return "?";
    return order_names[o];
}

unsigned lb_vtype_words(enum lb_vtype t)
{
    switch (t) {
    case LB_T_U32:
    case LB_T_I32:
    case LB_T_F32:
        return 2;
    case LB_T_U64:
        return 4;
    case LB_T_BOOL:
    case LB_T_U16:
    case LB_T_I16:
    default:
        return 1;
    }
}

unsigned lb_vtype_bits(enum lb_vtype t)
{
    if (t == LB_T_BOOL)
        return 1;
    return 16 * lb_vtype_words(t);
}

static int order_reverses_words(enum lb_order o)
{
    return o == LB_ORDER_CDAB || o == LB_ORDER_DCBA;
}

static int order_swaps_bytes(enum lb_order o)
{
    return o == LB_ORDER_BADC || o == LB_ORDER_DCBA;
}

static uint16_t swap16(uint16_t w)
{
    return (uint16_t)((w << 8) | (w >> 8));
}

/* The bits a raw value of type t may use. */
static uint64_t type_mask(enum lb_vtype t)
{
    unsigned bits = lb_vtype_bits(t);

    return bits >= 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
}

int lb_value_decode(const struct lb_value *v, const uint16_t *regs, uint64_t *raw)
{
    unsigned n = lb_vtype_words(v->type);
    uint64_t r = 0;

    if (v->type == LB_T_BOOL) {
        *raw = regs[0] != 0;
        return 0;
    }
    /* Assemble the words most significant first, whatever their order on
     * the wire. */
    for (unsigned i = 0; i < n; i++) {
        uint16_t w = regs[order_reverses_words(v->order) ? n - 1 - i : i];

        if (order_swaps_bytes(v->order))
            w = swap16(w);
        r = (r << 16) | w;
    }
    *raw = r;
    return 0;
}

void lb_value_encode(const struct lb_value *v, uint64_t raw, uint16_t *regs)
{
    unsigned n = lb_vtype_words(v->type);

    if (v->type == LB_T_BOOL) {
        regs[0] = raw != 0;
        return;
    }
    /* Word i (0 = most significant) goes where decode takes it from. */
    for (unsigned i = 0; i < n; i++) {
        uint16_t w = (uint16_t)(raw >> (16 * (n - 1 - i)));

        if (order_swaps_bytes(v->order))
            w = swap16(w);
        regs[order_reverses_words(v->order) ? n - 1 - i : i] = w;
    }
}

int64_t lb_value_to_int(const struct lb_value *v, uint64_t raw)
{
    uint64_t m = type_mask(v->type);

    raw &= m;
    switch (v->type) {
    case LB_T_I16:
    case LB_T_I32:
        /* Sign-extend from the type's width: the raw value keeps only the
         * register bits, as the wire's "raw" audit field carries them. */
        if (raw & ((m >> 1) + 1))
            raw |= ~m;
        return (int64_t)raw;
    case LB_T_F32: {
        uint32_t bits = (uint32_t)raw;
        float f;

        memcpy(&f, &bits, sizeof(f));
        if (!isfinite(f))
            return 0;
        if (f >= 9.2e18f)
            return INT64_MAX;
        if (f <= -9.2e18f)
            return INT64_MIN;
        return (int64_t)f;
    }
    case LB_T_BOOL:
    case LB_T_U16:
    case LB_T_U32:
    case LB_T_U64:
    default:
        return (int64_t)raw;
    }
}

double lb_value_to_double(const struct lb_value *v, uint64_t raw)
{
    double d;

    switch (v->type) {
    case LB_T_F32: {
        uint32_t bits = (uint32_t)raw;
        float f;

        memcpy(&f, &bits, sizeof(f));
        d = f;
        break;
    }
    case LB_T_I16:
    case LB_T_I32:
        d = (double)lb_value_to_int(v, raw);
        break;
    case LB_T_BOOL:
    case LB_T_U16:
    case LB_T_U32:
    case LB_T_U64:
    default:
        d = (double)(raw & type_mask(v->type));
        break;
    }
    return d * v->scale;
}
