/*
 * Profile files: the register map of one kind of machine (docs/profiles.md).
 *
 * The conf engine (common/conf.c) reads the file.  [profile] is an ordinary
 * key table.  The value sections ([good], [total], ...) are optional, and
 * the engine reports a required key of an absent single section as missing,
 * so their keys go through the engine's `other` callback instead: we parse
 * and check each key as it arrives, and the engine prefixes every problem we
 * return with the file, line and key.  Checks that need two keys (a bool in
 * a register area, an address running past 65535) fire on whichever of the
 * two comes second, so the message points at a line the user can fix.
 * Missing keys are reported at the section header; the engine does not hand
 * out line numbers, so a small pre-scan finds the headers.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linebeat/conf.h"
#include "linebeat/error.h"
#include "linebeat/profile.h"
#include "linebeat/wire.h"

/* Section indexes: the roles first, in enum lb_role order. */
enum { SEC_PROFILE = LB_ROLE_COUNT, SEC_STATES, SEC_REASONS, SEC_COUNT };

/* The keys of a value section, as enum lb_vkey numbers them. */
enum {
    K_AREA = LB_VKEY_AREA,
    K_ADDRESS = LB_VKEY_ADDRESS,
    K_TYPE = LB_VKEY_TYPE,
    K_ORDER = LB_VKEY_ORDER,
    K_SCALE = LB_VKEY_SCALE,
    K_COUNT = LB_VKEY_COUNT
};

struct prof_sec {
    char name[LB_PROFILE_MAX + 1];
    char description[256];
    char source[256];
    int kind;
};

enum { KIND_DEVICE, KIND_GENERIC, KIND_SIM };

struct role_sec {
    unsigned seen; /* bit per K_*: the key appeared */
    unsigned ok;   /* bit per K_*: ... and its value is valid */
    int area, type, order;
    long address;
    double scale;
};

struct load {
    const char *path;
    struct lb_profile *p;
    struct prof_sec prof;
    struct role_sec roles[LB_ROLE_COUNT];
    int hdr_line[SEC_COUNT]; /* first header line of each section; 0 if absent */
    int map_errors;          /* bad lines in [states] or [reasons] */
};

static void *inst_profile(void *ctx, const char *id, char *err, size_t errlen);
static void *inst_good(void *ctx, const char *id, char *err, size_t errlen);
static void *inst_total(void *ctx, const char *id, char *err, size_t errlen);
static void *inst_scrap(void *ctx, const char *id, char *err, size_t errlen);
static void *inst_state(void *ctx, const char *id, char *err, size_t errlen);
static void *inst_reason(void *ctx, const char *id, char *err, size_t errlen);
static void *inst_cycle(void *ctx, const char *id, char *err, size_t errlen);
static void *inst_control(void *ctx, const char *id, char *err, size_t errlen);
static void *inst_map(void *ctx, const char *id, char *err, size_t errlen);
static int role_other(void *ctx, void *obj, const char *key, const char *value, char *err,
                      size_t errlen);
static int parse_key(int k, const char *value, struct role_sec *rs, char *err,
                     size_t errlen);
static int role_cross(const struct role_sec *rs, enum lb_role r, int key, char *err,
                      size_t errlen);
static int states_other(void *ctx, void *obj, const char *key, const char *value,
                        char *err, size_t errlen);
static int reasons_other(void *ctx, void *obj, const char *key, const char *value,
                         char *err, size_t errlen);
static int parse_choice(const char *value, const char *(*name)(int), int n, int *out,
                        char *err, size_t errlen);
static const char *area_name(int i);
static const char *vtype_name(int i);
static const char *order_name(int i);
static int parse_code(const char *s, int64_t *code);
static int parse_reason(const char *s, char *out, char *err, size_t errlen);
static int prescan(struct load *ld);
static void finish(struct load *ld, const char *expect, struct lb_conf_errors *err);
static int load(const char *path, const char *expect, struct lb_profile *p,
                struct lb_conf_errors *err);

static const char *const key_names[K_COUNT] = {"area", "address", "type", "order",
                                               "scale"};

static const char *const kind_choices[] = {"device", "generic", "sim", NULL};

static const struct lb_conf_key profile_keys[] = {
    {"name", LB_CONF_ID, NULL, 0, LB_PROFILE_MAX, offsetof(struct prof_sec, name), NULL,
     "profile name: the file name without .ini"},
    {"description", LB_CONF_STR, "", 0, 255, offsetof(struct prof_sec, description), NULL,
     "what machine or controller this map is for"},
    {"source", LB_CONF_STR, "", 0, 255, offsetof(struct prof_sec, source), NULL,
     "the manual (title, version, section) the map was taken from"},
    {"kind", LB_CONF_ENUM, "device", 0, 0, offsetof(struct prof_sec, kind), kind_choices,
     "device (a real product: source required), generic or sim"},
};

static const struct lb_conf_section sections[SEC_COUNT] = {
    [LB_ROLE_GOOD] = {"good", 0, NULL, 0, inst_good, role_other},
    [LB_ROLE_TOTAL] = {"total", 0, NULL, 0, inst_total, role_other},
    [LB_ROLE_SCRAP] = {"scrap", 0, NULL, 0, inst_scrap, role_other},
    [LB_ROLE_STATE] = {"state", 0, NULL, 0, inst_state, role_other},
    [LB_ROLE_REASON] = {"reason", 0, NULL, 0, inst_reason, role_other},
    [LB_ROLE_CYCLE] = {"cycle", 0, NULL, 0, inst_cycle, role_other},
    [LB_ROLE_CONTROL] = {"control", 0, NULL, 0, inst_control, role_other},
    [SEC_PROFILE] = {"profile", 0, profile_keys,
                     sizeof(profile_keys) / sizeof(profile_keys[0]), inst_profile, NULL},
    [SEC_STATES] = {"states", 0, NULL, 0, inst_map, states_other},
    [SEC_REASONS] = {"reasons", 0, NULL, 0, inst_map, reasons_other},
};

static void *inst_profile(void *ctx, const char *id, char *err, size_t errlen)
{
    (void)id, (void)err, (void)errlen;
    return &((struct load *)ctx)->prof;
}

/* One instance callback per role: the engine tells neither instance() nor
 * other() which section it is in, so the object's address says it. */
static void *inst_good(void *ctx, const char *id, char *err, size_t errlen)
{
    (void)id, (void)err, (void)errlen;
    return &((struct load *)ctx)->roles[LB_ROLE_GOOD];
}

static void *inst_total(void *ctx, const char *id, char *err, size_t errlen)
{
    (void)id, (void)err, (void)errlen;
    return &((struct load *)ctx)->roles[LB_ROLE_TOTAL];
}

static void *inst_scrap(void *ctx, const char *id, char *err, size_t errlen)
{
    (void)id, (void)err, (void)errlen;
    return &((struct load *)ctx)->roles[LB_ROLE_SCRAP];
}

static void *inst_state(void *ctx, const char *id, char *err, size_t errlen)
{
    (void)id, (void)err, (void)errlen;
    return &((struct load *)ctx)->roles[LB_ROLE_STATE];
}

static void *inst_reason(void *ctx, const char *id, char *err, size_t errlen)
{
    (void)id, (void)err, (void)errlen;
    return &((struct load *)ctx)->roles[LB_ROLE_REASON];
}

static void *inst_cycle(void *ctx, const char *id, char *err, size_t errlen)
{
    (void)id, (void)err, (void)errlen;
    return &((struct load *)ctx)->roles[LB_ROLE_CYCLE];
}

static void *inst_control(void *ctx, const char *id, char *err, size_t errlen)
{
    (void)id, (void)err, (void)errlen;
    return &((struct load *)ctx)->roles[LB_ROLE_CONTROL];
}

/* [states] and [reasons] fill the profile through the load context. */
static void *inst_map(void *ctx, const char *id, char *err, size_t errlen)
{
    (void)id, (void)err, (void)errlen;
    return ctx;
}

static const char *area_name(int i)
{
    return lb_area_name((enum lb_area)i);
}

static const char *vtype_name(int i)
{
    return lb_vtype_name((enum lb_vtype)i);
}

static const char *order_name(int i)
{
    return lb_order_name((enum lb_order)i);
}

/* Matches value against name(0..n-1); the message lists the choices the
 * same way the conf engine does for its ENUM keys. */
static int parse_choice(const char *value, const char *(*name)(int), int n, int *out,
                        char *err, size_t errlen)
{
    size_t len;
    int w;

    for (int i = 0; i < n; i++) {
        if (strcmp(value, name(i)) == 0) {
            *out = i;
            return 0;
        }
    }
    w = snprintf(err, errlen, "'%s' is not one of", value);
    len = w > 0 ? (size_t)w : 0;
    for (int i = 0; i < n && len < errlen; i++) {
        w = snprintf(err + len, errlen - len, "%s %s", i ? "," : "", name(i));
        if (w < 0)
            break;
        len += (size_t)w;
    }
    return -1;
}

static int role_other(void *ctx, void *obj, const char *key, const char *value, char *err,
                      size_t errlen)
{
    struct load *ld = ctx;
    struct role_sec *rs = obj;
    enum lb_role r = (enum lb_role)(rs - ld->roles);
    int k;

    for (k = 0; k < K_COUNT; k++)
        if (strcmp(key, key_names[k]) == 0)
            break;
    if (k == K_COUNT) {
        snprintf(err, errlen, "unknown key in [%s]", lb_role_name(r));
        return -1;
    }
    if (rs->seen & (1u << k)) {
        snprintf(err, errlen, "set twice in [%s]", lb_role_name(r));
        return -1;
    }
    rs->seen |= 1u << k;
    if (parse_key(k, value, rs, err, errlen) != 0)
        return -1;
    if (role_cross(rs, r, k, err, errlen) != 0)
        return -1;
    rs->ok |= 1u << k;
    return 0;
}

/* Parses the value of key k of a value section into rs. */
static int parse_key(int k, const char *value, struct role_sec *rs, char *err,
                     size_t errlen)
{
    switch (k) {
    case K_AREA:
        return parse_choice(value, area_name, 4, &rs->area, err, errlen);
    case K_TYPE:
        return parse_choice(value, vtype_name, 7, &rs->type, err, errlen);
    case K_ORDER:
        return parse_choice(value, order_name, 4, &rs->order, err, errlen);
    case K_ADDRESS: {
        int hex = value[0] == '0' && (value[1] == 'x' || value[1] == 'X');
        const char *digits = hex ? value + 2 : value;
        char *end;
        long v;

        /* Decimal, or hex with 0x as manuals often print them; never the
         * octal that a leading zero would mean to strtol base 0. */
        errno = 0;
        v = strtol(digits, &end, hex ? 16 : 10);
        if (!(hex ? isxdigit((unsigned char)digits[0])
                  : isdigit((unsigned char)digits[0])) ||
            *end != '\0' || errno == ERANGE) {
            snprintf(err, errlen, "'%s' is not a whole number", value);
            return -1;
        }
        if (v > 65535) {
            snprintf(err, errlen, "%ld is out of range (0 to 65535)", v);
            return -1;
        }
        rs->address = v;
        return 0;
    }
    case K_SCALE:
    default: {
        char *end;
        double d;

        errno = 0;
        d = strtod(value, &end);
        if (value[0] == '\0' || *end != '\0') {
            snprintf(err, errlen, "'%s' is not a number", value);
            return -1;
        }
        if (!isfinite(d) || d == 0.0 || errno == ERANGE) {
            snprintf(err, errlen, "'%s' must be a finite number other than 0", value);
            return -1;
        }
        rs->scale = d;
        return 0;
    }
    }
}

/* Checks that combine key k, just parsed, with the keys already valid. */
static int role_cross(const struct role_sec *rs, enum lb_role r, int k, char *err,
                      size_t errlen)
{
    unsigned have = rs->ok | (1u << k);

    if (k == K_TYPE && r <= LB_ROLE_SCRAP && rs->type != LB_T_U16 &&
        rs->type != LB_T_U32 && rs->type != LB_T_U64) {
        /* Counters wrap and the agent computes deltas modulo their width;
         * that only makes sense for unsigned integers. */
        snprintf(err, errlen, "%s is a counter: type must be u16, u32 or u64",
                 lb_role_name(r));
        return -1;
    }
    if (k == K_TYPE && (r == LB_ROLE_STATE || r == LB_ROLE_REASON) &&
        rs->type == LB_T_F32) {
        snprintf(err, errlen, "%s holds codes: type must be an integer or bool",
                 lb_role_name(r));
        return -1;
    }
    if (k == K_AREA && r == LB_ROLE_CONTROL && rs->area != LB_AREA_COIL &&
        rs->area != LB_AREA_HOLDING) {
        snprintf(err, errlen, "control is written: area must be coil or holding");
        return -1;
    }
    if ((k == K_AREA || k == K_TYPE) && (have & (1u << K_AREA)) &&
        (have & (1u << K_TYPE))) {
        int bit_area = rs->area == LB_AREA_COIL || rs->area == LB_AREA_DISCRETE;

        if (bit_area != (rs->type == LB_T_BOOL)) {
            snprintf(err, errlen,
                     "type %s does not fit area %s (bool lives in coil or discrete, "
                     "numbers in holding or input)",
                     lb_vtype_name((enum lb_vtype)rs->type),
                     lb_area_name((enum lb_area)rs->area));
            return -1;
        }
    }
    if ((k == K_ADDRESS || k == K_TYPE) && (have & (1u << K_ADDRESS)) &&
        (have & (1u << K_TYPE))) {
        unsigned words = lb_vtype_words((enum lb_vtype)rs->type);

        if (rs->address + (long)words - 1 > 65535) {
            snprintf(err, errlen, "%s at %ld needs %u registers and runs past 65535",
                     lb_vtype_name((enum lb_vtype)rs->type), rs->address, words);
            return -1;
        }
    }
    return 0;
}

/* A state or reason code: a decimal integer, possibly negative (an i16
 * register), or hex with 0x. */
static int parse_code(const char *s, int64_t *code)
{
    const char *p = s[0] == '-' ? s + 1 : s;
    int hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
    char *end;

    errno = 0;
    if (hex) {
        unsigned long long u;

        if (!isxdigit((unsigned char)p[2]))
            return -1;
        u = strtoull(p + 2, &end, 16);
        if (*end != '\0' || errno == ERANGE || u > (unsigned long long)INT64_MAX)
            return -1;
        *code = s[0] == '-' ? -(int64_t)u : (int64_t)u;
        return 0;
    } else {
        long long v;

        if (!isdigit((unsigned char)p[0]))
            return -1;
        v = strtoll(s, &end, 10);
        if (*end != '\0' || errno == ERANGE)
            return -1;
        *code = v;
        return 0;
    }
}

static int parse_reason(const char *s, char *out, char *err, size_t errlen)
{
    if (!lb_id_valid(s) || strlen(s) > LB_CODE_MAX) {
        snprintf(err, errlen, "'%s' is not a valid reason id (letters, digits, _ . -)",
                 s);
        return -1;
    }
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

static int states_other(void *ctx, void *obj, const char *key, const char *value,
                        char *err, size_t errlen)
{
    struct load *ld = obj;
    struct lb_profile *p = ld->p;
    struct lb_state_map m;
    char buf[256];
    char *colon, *st, *e;
    int64_t code;
    int s;

    (void)ctx;
    memset(&m, 0, sizeof(m));
    if (parse_code(key, &code) != 0) {
        snprintf(err, errlen, "a state code must be a whole number");
        goto fail;
    }
    if (lb_profile_state(p, code) != NULL) {
        snprintf(err, errlen, "code %lld mapped twice", (long long)code);
        goto fail;
    }
    if (p->nstates == LB_PROFILE_MAX_STATES) {
        snprintf(err, errlen, "more than %d state codes", LB_PROFILE_MAX_STATES);
        goto fail;
    }
    if (strlen(value) >= sizeof(buf)) {
        snprintf(err, errlen, "value too long");
        goto fail;
    }
    memcpy(buf, value, strlen(value) + 1);
    colon = strchr(buf, ':');
    if (colon != NULL)
        *colon = '\0';
    /* Allow "down : jam" as well as "down:jam". */
    st = buf;
    e = st + strlen(st);
    while (e > st && (e[-1] == ' ' || e[-1] == '\t'))
        *--e = '\0';
    s = lb_state_parse(st);
    if (s < 0) {
        snprintf(
            err, errlen,
            "'%s' is not a state (running, idle, setup, down, planned_stop, offline)",
            st);
        goto fail;
    }
    m.code = code;
    m.state = (enum lb_state)s;
    if (colon != NULL) {
        char *r = colon + 1;

        while (*r == ' ' || *r == '\t')
            r++;
        if (parse_reason(r, m.reason, err, errlen) != 0)
            goto fail;
    }
    p->states[p->nstates++] = m;
    return 0;
fail:
    ld->map_errors++;
    return -1;
}

static int reasons_other(void *ctx, void *obj, const char *key, const char *value,
                         char *err, size_t errlen)
{
    struct load *ld = obj;
    struct lb_profile *p = ld->p;
    struct lb_reason_map m;
    int64_t code;

    (void)ctx;
    memset(&m, 0, sizeof(m));
    if (parse_code(key, &code) != 0) {
        snprintf(err, errlen, "a reason code must be a whole number");
        goto fail;
    }
    if (lb_profile_reason(p, code) != NULL) {
        snprintf(err, errlen, "code %lld mapped twice", (long long)code);
        goto fail;
    }
    if (p->nreasons == LB_PROFILE_MAX_REASONS) {
        snprintf(err, errlen, "more than %d reason codes", LB_PROFILE_MAX_REASONS);
        goto fail;
    }
    if (parse_reason(value, m.reason, err, errlen) != 0)
        goto fail;
    m.code = code;
    p->reasons[p->nreasons++] = m;
    return 0;
fail:
    ld->map_errors++;
    return -1;
}

/*
 * Finds the line of each section header, recognising them as conf.c does: a
 * trimmed line "[name]" with nothing after the bracket.  Only used to place
 * messages; a header it misses gives a message without a line number.
 */
static int prescan(struct load *ld)
{
    FILE *f;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0;
    int rc = 0;

    f = fopen(ld->path, "r");
    if (f == NULL)
        return -errno;
    while ((n = getline(&line, &cap, f)) != -1) {
        char *s = line, *e, *close;

        lineno++;
        if (n > 1025) /* conf.c rejects lines over 1024 characters */
            continue;
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s != '[')
            continue;
        close = strchr(s, ']');
        if (close == NULL)
            continue;
        for (e = close + 1; *e == ' ' || *e == '\t' || *e == '\r' || *e == '\n'; e++)
            ;
        if (*e != '\0')
            continue;
        *close = '\0';
        s++;
        while (*s == ' ' || *s == '\t')
            s++;
        e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            *--e = '\0';
        for (int i = 0; i < SEC_COUNT; i++)
            if (strcmp(s, sections[i].name) == 0 && ld->hdr_line[i] == 0)
                ld->hdr_line[i] = lineno;
    }
    if (ferror(f))
        rc = -EIO;
    free(line);
    fclose(f);
    return rc;
}

/* Whole-profile checks, and the copy into the caller's struct. */
static void finish(struct load *ld, const char *expect, struct lb_conf_errors *err)
{
    struct lb_profile *p = ld->p;
    const int *hl = ld->hdr_line;
    static const int required[] = {K_AREA, K_ADDRESS, K_TYPE};

    for (int r = 0; r < LB_ROLE_COUNT; r++) {
        struct role_sec *rs = &ld->roles[r];
        int complete = 1;

        if (hl[r] == 0 && rs->seen == 0)
            continue;
        for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
            if (!(rs->seen & (1u << required[i]))) {
                lb_conf_error(err, ld->path, hl[r], key_names[required[i]],
                              "required in [%s]", lb_role_name((enum lb_role)r));
                complete = 0;
            }
        }
        if (rs->seen != rs->ok || !complete)
            continue;
        p->values[r].present = 1;
        p->values[r].area = (enum lb_area)rs->area;
        p->values[r].address = (uint16_t)rs->address;
        p->values[r].type = (enum lb_vtype)rs->type;
        p->values[r].order = (enum lb_order)rs->order;
        p->values[r].scale = rs->scale;
    }

    if (hl[LB_ROLE_GOOD] == 0 && ld->roles[LB_ROLE_GOOD].seen == 0 &&
        hl[LB_ROLE_TOTAL] == 0 && ld->roles[LB_ROLE_TOTAL].seen == 0)
        lb_conf_error(err, ld->path, hl[SEC_PROFILE], "good",
                      "a profile needs a [good] or a [total] counter");
    if (ld->prof.kind == KIND_DEVICE && ld->prof.source[0] == '\0')
        lb_conf_error(err, ld->path, hl[SEC_PROFILE], "source",
                      "required for kind = device: cite the manual the map comes from");
    if (expect != NULL && ld->prof.name[0] != '\0' && strcmp(ld->prof.name, expect) != 0)
        lb_conf_error(err, ld->path, hl[SEC_PROFILE], "name",
                      "'%s' does not match the file name %s.ini", ld->prof.name, expect);
    if ((hl[SEC_STATES] || p->nstates) && hl[LB_ROLE_STATE] == 0 &&
        ld->roles[LB_ROLE_STATE].seen == 0)
        lb_conf_error(err, ld->path, hl[SEC_STATES], "states",
                      "a [states] map needs a [state] section to read codes from");
    if ((hl[LB_ROLE_STATE] || ld->roles[LB_ROLE_STATE].seen) && p->nstates == 0 &&
        ld->map_errors == 0)
        lb_conf_error(err, ld->path, hl[LB_ROLE_STATE], "states",
                      "a [state] register needs a [states] map of its codes");
    if ((hl[SEC_REASONS] || p->nreasons) && hl[LB_ROLE_REASON] == 0 &&
        ld->roles[LB_ROLE_REASON].seen == 0)
        lb_conf_error(err, ld->path, hl[SEC_REASONS], "reasons",
                      "a [reasons] map needs a [reason] section to read codes from");

    memcpy(p->name, ld->prof.name, sizeof(p->name));
    memcpy(p->description, ld->prof.description, sizeof(p->description));
    memcpy(p->source, ld->prof.source, sizeof(p->source));
}

static int load(const char *path, const char *expect, struct lb_profile *p,
                struct lb_conf_errors *err)
{
    struct lb_conf_errors scratch;
    struct load *ld = NULL;
    int before, rc;

    if (err == NULL) {
        memset(&scratch, 0, sizeof(scratch));
        err = &scratch;
    }
    before = err->count;
    memset(p, 0, sizeof(*p));
    ld = calloc(1, sizeof(*ld));
    if (ld == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    ld->path = path;
    ld->p = p;
    for (int r = 0; r < LB_ROLE_COUNT; r++)
        ld->roles[r].scale = 1.0;

    rc = lb_conf_read(path, sections, SEC_COUNT, ld, err);
    if (rc != 0 && rc != LB_E_CONFIG)
        goto out; /* cannot read the file: the engine said why */
    rc = prescan(ld);
    if (rc != 0) {
        lb_conf_error(err, path, 0, "file", "read error: %s", strerror(-rc));
        goto out;
    }
    finish(ld, expect, err);
    rc = err->count > before ? LB_E_CONFIG : 0;
out:
    free(ld);
    return rc;
}

int lb_profile_load(const char *path, struct lb_profile *p, struct lb_conf_errors *err)
{
    return load(path, NULL, p, err);
}

int lb_profile_find(const char *dir, const char *name, struct lb_profile *p,
                    struct lb_conf_errors *err)
{
    char path[PATH_MAX];
    int n;

    memset(p, 0, sizeof(*p));
    if (!lb_id_valid(name) || strlen(name) > LB_PROFILE_MAX) {
        /* Also keeps "../x" and "/etc/x" out of the path. */
        if (err != NULL)
            lb_conf_error(err, dir, 0, "profile",
                          "'%s' is not a valid profile name (letters, digits, _ . -)",
                          name);
        return LB_E_CONFIG;
    }
    n = snprintf(path, sizeof(path), "%s/%s.ini", dir, name);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        if (err != NULL)
            lb_conf_error(err, dir, 0, "profile", "path too long");
        return -ENAMETOOLONG;
    }
    return load(path, name, p, err);
}

const struct lb_state_map *lb_profile_state(const struct lb_profile *p, int64_t code)
{
    for (size_t i = 0; i < p->nstates; i++)
        if (p->states[i].code == code)
            return &p->states[i];
    return NULL;
}

const struct lb_reason_map *lb_profile_reason(const struct lb_profile *p, int64_t code)
{
    for (size_t i = 0; i < p->nreasons; i++)
        if (p->reasons[i].code == code)
            return &p->reasons[i];
    return NULL;
}

int lb_override_parse(const char *name, const char *value, struct lb_override *o,
                      char *err, size_t errlen)
{
    const char *dot = strchr(name, '.');
    struct role_sec rs;
    size_t rlen;
    int r, k;

    memset(o, 0, sizeof(*o));
    memset(&rs, 0, sizeof(rs));
    if (dot == NULL) {
        snprintf(err, errlen, "not a key of this section, nor ROLE.KEY");
        return -1;
    }
    rlen = (size_t)(dot - name);
    for (r = 0; r < LB_ROLE_COUNT; r++)
        if (strlen(lb_role_name((enum lb_role)r)) == rlen &&
            strncmp(name, lb_role_name((enum lb_role)r), rlen) == 0)
            break;
    if (r == LB_ROLE_COUNT) {
        snprintf(err, errlen,
                 "'%.*s' is not a profile value (good, total, scrap, state, reason, "
                 "cycle, control)",
                 (int)rlen, name);
        return -1;
    }
    for (k = 0; k < K_COUNT; k++)
        if (strcmp(dot + 1, key_names[k]) == 0)
            break;
    if (k == K_COUNT) {
        snprintf(err, errlen,
                 "'%s' is not a key of a profile value (area, address, type, order, "
                 "scale)",
                 dot + 1);
        return -1;
    }
    if (parse_key(k, value, &rs, err, errlen) != 0)
        return -1;
    o->role = (enum lb_role)r;
    o->key = (enum lb_vkey)k;
    o->choice = k == K_AREA ? rs.area : k == K_TYPE ? rs.type : rs.order;
    o->address = rs.address;
    o->scale = rs.scale;
    return 0;
}

int lb_profile_apply(struct lb_profile *p, const struct lb_override *o, size_t n,
                     size_t *bad, char *err, size_t errlen)
{
    *bad = 0;
    for (int r = 0; r < LB_ROLE_COUNT; r++) {
        struct lb_value *v = &p->values[r];
        struct role_sec rs;
        size_t first = n;

        memset(&rs, 0, sizeof(rs));
        rs.scale = 1.0;
        if (v->present) {
            rs.seen = rs.ok = (1u << K_COUNT) - 1;
            rs.area = (int)v->area;
            rs.address = v->address;
            rs.type = (int)v->type;
            rs.order = (int)v->order;
            rs.scale = v->scale;
        }
        for (size_t i = 0; i < n; i++) {
            if (o[i].role != (enum lb_role)r)
                continue;
            if (first == n)
                first = i;
            switch (o[i].key) {
            case LB_VKEY_AREA:
                rs.area = o[i].choice;
                break;
            case LB_VKEY_ADDRESS:
                rs.address = o[i].address;
                break;
            case LB_VKEY_TYPE:
                rs.type = o[i].choice;
                break;
            case LB_VKEY_ORDER:
                rs.order = o[i].choice;
                break;
            case LB_VKEY_SCALE:
            case LB_VKEY_COUNT:
            default:
                rs.scale = o[i].scale;
                break;
            }
            rs.seen |= 1u << o[i].key;
        }
        if (first == n)
            continue;
        if ((rs.seen & 7u) != 7u) {
            const char *role = lb_role_name((enum lb_role)r);

            *bad = first;
            snprintf(err, errlen,
                     "the profile has no [%s]; adding one needs %s.area, %s.address "
                     "and %s.type",
                     role, role, role, role);
            return -1;
        }
        rs.ok = rs.seen;
        /* The checks see the final value, each triggered by one changed
         * key, so the message points at a line the user wrote. */
        for (size_t i = first; i < n; i++) {
            if (o[i].role != (enum lb_role)r)
                continue;
            if (role_cross(&rs, (enum lb_role)r, (int)o[i].key, err, errlen) != 0) {
                *bad = i;
                return -1;
            }
        }
        v->present = 1;
        v->area = (enum lb_area)rs.area;
        v->address = (uint16_t)rs.address;
        v->type = (enum lb_vtype)rs.type;
        v->order = (enum lb_order)rs.order;
        v->scale = rs.scale;
    }
    return 0;
}
