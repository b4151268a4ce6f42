/*
 * Device profiles: the register map of a counting machine or PLC, read from
 * devices/profiles/NAME.ini (format in docs/profiles.md).  Each value has an
 * area, address, type, byte/word order and scale, and a role.  The decode
 * and encode helpers turn registers into numbers and back, for every type
 * and order; the agent decodes, the simulator encodes.
 */
#ifndef LINEBEAT_PROFILE_H
#define LINEBEAT_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "linebeat/conf.h"
#include "linebeat/wire.h"

enum lb_area { LB_AREA_COIL, LB_AREA_DISCRETE, LB_AREA_HOLDING, LB_AREA_INPUT };

enum lb_vtype { LB_T_BOOL, LB_T_U16, LB_T_I16, LB_T_U32, LB_T_I32, LB_T_U64, LB_T_F32 };

/* Order of the bytes A (most significant) to D as they appear on the wire
 * across the registers; for 64-bit values the pattern extends word-wise
 * (CDAB: least significant word first). */
enum lb_order { LB_ORDER_ABCD, LB_ORDER_DCBA, LB_ORDER_BADC, LB_ORDER_CDAB };

/* What a value means to the agent.  CONTROL is written, not read: the
 * simulator's run/pause switch (1 runs, 0 pauses), used by tests. */
enum lb_role {
    LB_ROLE_GOOD,
    LB_ROLE_TOTAL,
    LB_ROLE_SCRAP,
    LB_ROLE_STATE,
    LB_ROLE_REASON,
    LB_ROLE_CYCLE,
    LB_ROLE_CONTROL,
    LB_ROLE_COUNT
};

struct lb_value {
    int present;
    enum lb_area area;
    uint16_t address;
    enum lb_vtype type;
    enum lb_order order;
    double scale; /* applied by lb_value_to_double only */
};

/* The keys of a value section ([good], [total], ...). */
enum lb_vkey {
    LB_VKEY_AREA,
    LB_VKEY_ADDRESS,
    LB_VKEY_TYPE,
    LB_VKEY_ORDER,
    LB_VKEY_SCALE,
    LB_VKEY_COUNT
};

/* One change a machine's configuration makes to the profile it names:
 * "good.address = 10" (docs/profiles.md, "Overrides"). */
struct lb_override {
    enum lb_role role;
    enum lb_vkey key;
    int choice; /* AREA, TYPE, ORDER: the enum lb_area, lb_vtype or lb_order */
    long address;
    double scale;
};

#define LB_PROFILE_MAX_STATES  64
#define LB_PROFILE_MAX_REASONS 64

struct lb_state_map {
    int64_t code;
    enum lb_state state;
    char reason[LB_CODE_MAX + 1]; /* "" when the code implies none */
};

/* A code of the REASON register (a fault or stop-cause number) and the
 * reason id it stands for, from the profile's [reasons] map. */
struct lb_reason_map {
    int64_t code;
    char reason[LB_CODE_MAX + 1];
};

struct lb_profile {
    char name[LB_PROFILE_MAX + 1];
    char description[256];
    char source[256]; /* the manual a real device's map was taken from */
    struct lb_value values[LB_ROLE_COUNT];
    size_t nstates;
    struct lb_state_map states[LB_PROFILE_MAX_STATES];
    size_t nreasons;
    struct lb_reason_map reasons[LB_PROFILE_MAX_REASONS];
};

const char *lb_role_name(enum lb_role r);
const char *lb_area_name(enum lb_area a);
const char *lb_vtype_name(enum lb_vtype t);
const char *lb_order_name(enum lb_order o);

/* Registers (or bits, for bool) a type occupies: 1, 2 or 4. */
unsigned lb_vtype_words(enum lb_vtype t);

/* Reads a profile file.  Problems are added to err as "file:line: key:
 * problem"; returns 0, LB_E_CONFIG or -errno. */
int lb_profile_load(const char *path, struct lb_profile *p, struct lb_conf_errors *err);

/* Finds NAME.ini in dir and loads it (same returns). */
int lb_profile_find(const char *dir, const char *name, struct lb_profile *p,
                    struct lb_conf_errors *err);

/*
 * Parses an override: name is "ROLE.KEY", ROLE a value section (good,
 * total, scrap, state, reason, cycle, control) and KEY one of area,
 * address, type, order, scale; value is checked as in a profile file.
 * Fills OUT: o.  Returns 0, or -1 with a message in err.
 */
int lb_override_parse(const char *name, const char *value, struct lb_override *o,
                      char *err, size_t errlen);

/*
 * Applies n overrides to p, in order, then checks each value they changed
 * as lb_profile_load checks a file (a bool only in a bit area, counters
 * unsigned, ...).  A value p lacks may be added when its area, address and
 * type are all given.  Returns 0, or -1 with a message in err and OUT: *bad
 * the index of the override to blame; p is then partly changed.
 */
int lb_profile_apply(struct lb_profile *p, const struct lb_override *o, size_t n,
                     size_t *bad, char *err, size_t errlen);

/* Looks up a state code; returns the entry or NULL when unmapped. */
const struct lb_state_map *lb_profile_state(const struct lb_profile *p, int64_t code);

/* Looks up a code of the REASON register in [reasons]; returns the entry or
 * NULL when unmapped (the agent then reports the number itself). */
const struct lb_reason_map *lb_profile_reason(const struct lb_profile *p, int64_t code);

/*
 * Decodes lb_vtype_words(v->type) registers (for bool: regs[0] != 0) into
 * the raw integer: unsigned types zero-extended, signed ones as two's
 * complement in OUT: *raw; f32 gives its bit pattern.  Returns 0.
 * The raw value holds exactly lb_vtype_bits(v->type) bits, the higher ones
 * zero: an i16 of -1 is 0xffff (lb_value_to_int sign-extends it).
 */
int lb_value_decode(const struct lb_value *v, const uint16_t *regs, uint64_t *raw);
/* The value as a number, signed types sign-extended, f32 converted, times scale. */
double lb_value_to_double(const struct lb_value *v, uint64_t raw);
/* The inverse of lb_value_decode: writes lb_vtype_words(v->type) registers. */
void lb_value_encode(const struct lb_value *v, uint64_t raw, uint16_t *regs);
/* Width in bits of a counter of this type (16, 32 or 64; 1 for bool). */
unsigned lb_vtype_bits(enum lb_vtype t);
/* The value as an integer without scale, for state and reason codes:
 * signed types sign-extended, f32 truncated toward zero (0 if not finite,
 * clamped to the int64 range), u64 above INT64_MAX wraps negative. */
int64_t lb_value_to_int(const struct lb_value *v, uint64_t raw);

#endif
