/*
 * Time zones from TZif files; see tz.h.
 *
 * Why not localtime_r/mktime: they read the zone from the process-wide TZ
 * variable, so a test or a report cannot use another zone without setenv,
 * which races with every thread calling them.  A zone file is small (a few
 * KB) and its format fixed (RFC 8536): the version 2+ block holds 64-bit
 * transition times and ends with a POSIX TZ string ("CET-1CEST,M3.5.0,
 * M10.5.0/3") that gives every later transition.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linebeat/error.h"
#include "tz.h"

#define TZ_FILE_MAX (1024 * 1024)
#define TZ_DIR      "/usr/share/zoneinfo"

enum rule_kind { RULE_J, RULE_N, RULE_M };

struct rule_date {
    enum rule_kind kind;
    int n;        /* J: 1..365, N: 0..365 */
    int m, w, d;  /* M: month, week 1..5 (5 = last), weekday 0 = Sunday */
    int32_t time; /* seconds after local midnight, may be negative or > 24 h */
};

struct tz {
    char name[TZ_NAME_MAX + 1];
    size_t ntrans;
    int64_t *trans; /* ascending UTC seconds */
    uint8_t *idx;   /* type in force from trans[i] */
    size_t ntypes;
    int32_t *off;
    uint8_t *isdst;
    int has_rule;
    int rule_dst;             /* the footer has a DST part */
    int32_t std_off, dst_off; /* seconds east */
    struct rule_date start, end;
};

static int64_t be(const unsigned char *p, int n);
static int parse_tzif(struct tz *tz, const unsigned char *b, size_t len);
static int parse_footer(struct tz *tz, const char *s);
static const char *parse_zname(const char *s);
static const char *parse_hms(const char *s, int32_t *secs, int allow_sign);
static const char *parse_rule(const char *s, struct rule_date *r);
static int64_t rule_local(const struct rule_date *r, int64_t year);
static int32_t rule_offset(const struct tz *tz, int64_t utc, int *isdst);

int64_t tz_floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;

    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* Howard Hinnant's algorithms (public domain), "chrono-Compatible
 * Low-Level Date Algorithms". */
int64_t tz_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = tz_floordiv(y, 400);
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void tz_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = tz_floordiv(z, 146097);
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

int tz_weekday(int64_t days)
{
    /* 1970-01-01 was a Thursday (ISO 4). */
    return (int)(((days % 7) + 7 + 3) % 7) + 1;
}

void tz_format_day(int64_t day, char *buf, size_t size)
{
    int64_t y;
    unsigned m, d;

    tz_civil_from_days(day, &y, &m, &d);
    snprintf(buf, size, "%04lld-%02u-%02u", (long long)y, m, d);
}

int tz_parse_day(const char *s, int64_t *day)
{
    unsigned y, m, d;
    int n = 0;

    if (strlen(s) != 10 || sscanf(s, "%4u-%2u-%2u%n", &y, &m, &d, &n) != 3 || n != 10 ||
        s[4] != '-' || s[7] != '-')
        return -1;
    if (m < 1 || m > 12 || d < 1 || d > 31 || y < 1970 || y > 9999)
        return -1;
    *day = tz_days_from_civil(y, m, d);
    {
        int64_t yy;
        unsigned mm, dd;

        /* Rejects 2025-02-30 and the like. */
        tz_civil_from_days(*day, &yy, &mm, &dd);
        if (mm != m || dd != d)
            return -1;
    }
    return 0;
}

int tz_parse_hhmm(const char *s, int *min)
{
    if (strlen(s) != 5 || s[2] != ':' || s[0] < '0' || s[0] > '9' || s[1] < '0' ||
        s[1] > '9' || s[3] < '0' || s[3] > '5' || s[4] < '0' || s[4] > '9')
        return -1;
    *min = ((s[0] - '0') * 10 + (s[1] - '0')) * 60 + (s[3] - '0') * 10 + (s[4] - '0');
    if (*min > 24 * 60)
        return -1;
    return 0;
}

static int64_t be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < n; i++)
        v = (v << 8) | p[i];
    /* Sign-extend 32-bit values. */
    if (n == 4)
        return (int64_t)(int32_t)(uint32_t)v;
    return (int64_t)v;
}

/* Reads the version 2+ block when present (64-bit times), else version 1. */
static int parse_tzif(struct tz *tz, const unsigned char *b, size_t len)
{
    size_t isut, isstd, leap, timecnt, typecnt, charcnt, v1, need, i, pos;
    int tsize = 4;

    if (len < 44 || memcmp(b, "TZif", 4) != 0)
        return LB_E_CORRUPT;
    pos = 0;
    for (;;) {
        isut = (size_t)be(b + pos + 20, 4);
        isstd = (size_t)be(b + pos + 24, 4);
        leap = (size_t)be(b + pos + 28, 4);
        timecnt = (size_t)be(b + pos + 32, 4);
        typecnt = (size_t)be(b + pos + 36, 4);
        charcnt = (size_t)be(b + pos + 40, 4);
        if (timecnt > 100000 || typecnt == 0 || typecnt > 256 || charcnt > 100000 ||
            leap > 100000 || isut > 256 || isstd > 256)
            return LB_E_CORRUPT;
        v1 = timecnt * (size_t)tsize + timecnt + typecnt * 6 + charcnt +
             leap * (size_t)(tsize + 4) + isstd + isut;
        if (pos + 44 + v1 > len)
            return LB_E_CORRUPT;
        if (tsize == 4 && b[4] >= '2') {
            /* Skip to the second header and read that instead. */
            pos += 44 + v1;
            if (pos + 44 > len || memcmp(b + pos, "TZif", 4) != 0)
                return LB_E_CORRUPT;
            tsize = 8;
            continue;
        }
        break;
    }
    need = pos + 44;
    tz->ntrans = timecnt;
    tz->ntypes = typecnt;
    tz->trans = calloc(timecnt ? timecnt : 1, sizeof(*tz->trans));
    tz->idx = calloc(timecnt ? timecnt : 1, 1);
    tz->off = calloc(typecnt, sizeof(*tz->off));
    tz->isdst = calloc(typecnt, 1);
    if (!tz->trans || !tz->idx || !tz->off || !tz->isdst)
        return -ENOMEM;
    for (i = 0; i < timecnt; i++) {
        tz->trans[i] = be(b + need + i * (size_t)tsize, tsize);
        if (i > 0 && tz->trans[i] <= tz->trans[i - 1])
            return LB_E_CORRUPT;
    }
    need += timecnt * (size_t)tsize;
    for (i = 0; i < timecnt; i++) {
        tz->idx[i] = b[need + i];
        if (tz->idx[i] >= typecnt)
            return LB_E_CORRUPT;
    }
    need += timecnt;
    for (i = 0; i < typecnt; i++) {
        tz->off[i] = (int32_t)be(b + need + i * 6, 4);
        tz->isdst[i] = b[need + i * 6 + 4];
        if (tz->off[i] < -26 * 3600 || tz->off[i] > 26 * 3600)
            return LB_E_CORRUPT;
    }
    need = pos + 44 + v1;
    /* Footer: "\n<POSIX TZ>\n" (version 2+ only). */
    if (tsize == 8 && need < len && b[need] == '\n') {
        char foot[128];
        size_t k = 0;

        for (i = need + 1; i < len && b[i] != '\n' && k < sizeof(foot) - 1; i++)
            foot[k++] = (char)b[i];
        foot[k] = '\0';
        if (k > 0 && parse_footer(tz, foot) != 0)
            return LB_E_CORRUPT;
    }
    return 0;
}

static const char *parse_zname(const char *s)
{
    const char *p = s;

    if (*p == '<') {
        while (*p && *p != '>')
            p++;
        return *p == '>' ? p + 1 : NULL;
    }
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
        p++;
    return p - s >= 1 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] into seconds (sign kept as written). */
static const char *parse_hms(const char *s, int32_t *secs, int allow_sign)
{
    int sign = 1, h = 0, m = 0, sec = 0, n = 0;

    if (allow_sign && (*s == '+' || *s == '-')) {
        sign = *s == '-' ? -1 : 1;
        s++;
    }
    if (*s < '0' || *s > '9')
        return NULL;
    while (*s >= '0' && *s <= '9' && n++ < 3)
        h = h * 10 + (*s++ - '0');
    if (*s == ':') {
        s++;
        if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
            return NULL;
        m = (s[0] - '0') * 10 + (s[1] - '0');
        s += 2;
        if (*s == ':') {
            s++;
            if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
                return NULL;
            sec = (s[0] - '0') * 10 + (s[1] - '0');
            s += 2;
        }
    }
    if (h > 167)
        return NULL;
    *secs = sign * (h * 3600 + m * 60 + sec);
    return s;
}

static const char *parse_rule(const char *s, struct rule_date *r)
{
    int v = 0;

    memset(r, 0, sizeof(*r));
    r->time = 2 * 3600;
    if (*s == 'M') {
        if (sscanf(s + 1, "%d.%d.%d", &r->m, &r->w, &r->d) != 3 || r->m < 1 ||
            r->m > 12 || r->w < 1 || r->w > 5 || r->d < 0 || r->d > 6)
            return NULL;
        r->kind = RULE_M;
        s++;
        while ((*s >= '0' && *s <= '9') || *s == '.')
            s++;
    } else {
        r->kind = RULE_N;
        if (*s == 'J') {
            r->kind = RULE_J;
            s++;
        }
        if (*s < '0' || *s > '9')
            return NULL;
        while (*s >= '0' && *s <= '9')
            v = v * 10 + (*s++ - '0');
        if (v > 365 || (r->kind == RULE_J && v < 1))
            return NULL;
        r->n = v;
    }
    if (*s == '/') {
        if ((s = parse_hms(s + 1, &r->time, 1)) == NULL)
            return NULL;
    }
    return s;
}

static int parse_footer(struct tz *tz, const char *s)
{
    int32_t off;

    if ((s = parse_zname(s)) == NULL || (s = parse_hms(s, &off, 1)) == NULL)
        return -1;
    tz->std_off = -off; /* POSIX offsets are west of Greenwich */
    tz->has_rule = 1;
    if (*s == '\0')
        return 0;
    if ((s = parse_zname(s)) == NULL)
        return -1;
    tz->rule_dst = 1;
    tz->dst_off = tz->std_off + 3600;
    if (*s != ',' && *s != '\0') {
        if ((s = parse_hms(s, &off, 1)) == NULL)
            return -1;
        tz->dst_off = -off;
    }
    if (*s == '\0') {
        /* No rule given: POSIX leaves it to the implementation; use the
         * US rule, as glibc does. */
        s = ",M3.2.0,M11.1.0";
    }
    if (*s++ != ',' || (s = parse_rule(s, &tz->start)) == NULL || *s++ != ',' ||
        (s = parse_rule(s, &tz->end)) == NULL || *s != '\0')
        return -1;
    return 0;
}

/* Local seconds (wall clock as if UTC) of the rule's moment in year. */
static int64_t rule_local(const struct rule_date *r, int64_t year)
{
    int64_t jan1 = tz_days_from_civil(year, 1, 1), day;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    switch (r->kind) {
    case RULE_J:
        day = jan1 + r->n - 1 + (leap && r->n >= 60 ? 1 : 0);
        break;
    case RULE_N:
        day = jan1 + r->n;
        break;
    case RULE_M:
    default: {
        int64_t first = tz_days_from_civil(year, (unsigned)r->m, 1);
        int64_t next = r->m == 12 ? tz_days_from_civil(year + 1, 1, 1)
                                  : tz_days_from_civil(year, (unsigned)r->m + 1, 1);
        int wd = tz_weekday(first) % 7; /* 0 Sunday */

        day = first + (r->d - wd + 7) % 7 + (int64_t)(r->w - 1) * 7;
        while (day >= next)
            day -= 7;
        break;
    }
    }
    return day * 86400 + r->time;
}

static int32_t rule_offset(const struct tz *tz, int64_t utc, int *isdst)
{
    int64_t y, s, e;
    unsigned m, d;
    int dst;

    if (!tz->rule_dst) {
        *isdst = 0;
        return tz->std_off;
    }
    tz_civil_from_days(tz_floordiv(utc + tz->std_off, 86400), &y, &m, &d);
    s = rule_local(&tz->start, y) - tz->std_off; /* said in standard time */
    e = rule_local(&tz->end, y) - tz->dst_off;   /* said in daylight time */
    if (s < e)
        dst = utc >= s && utc < e;
    else
        dst = !(utc >= e && utc < s); /* southern hemisphere */
    *isdst = dst;
    return dst ? tz->dst_off : tz->std_off;
}

int32_t tz_offset(const struct tz *tz, int64_t utc, int *isdst)
{
    size_t lo, hi, mid;
    int dummy;

    if (isdst == NULL)
        isdst = &dummy;
    if (tz->ntrans == 0 || utc >= tz->trans[tz->ntrans - 1]) {
        if (tz->has_rule)
            return rule_offset(tz, utc, isdst);
        if (tz->ntrans == 0) {
            *isdst = tz->isdst[0];
            return tz->off[0];
        }
        *isdst = tz->isdst[tz->idx[tz->ntrans - 1]];
        return tz->off[tz->idx[tz->ntrans - 1]];
    }
    if (utc < tz->trans[0]) {
        *isdst = tz->isdst[0];
        return tz->off[0];
    }
    lo = 0;
    hi = tz->ntrans - 1; /* trans[lo] <= utc < trans[hi] */
    while (hi - lo > 1) {
        mid = lo + (hi - lo) / 2;
        if (tz->trans[mid] <= utc)
            lo = mid;
        else
            hi = mid;
    }
    *isdst = tz->isdst[tz->idx[lo]];
    return tz->off[tz->idx[lo]];
}

int64_t tz_local_to_utc(const struct tz *tz, int64_t local)
{
    /* Offsets well before and after: transitions are weeks apart. */
    int32_t ob = tz_offset(tz, local - 2 * 86400, NULL);
    int32_t oa = tz_offset(tz, local + 2 * 86400, NULL);
    int64_t u1 = local - ob, u2 = local - oa, lo, hi, mid;
    int v1 = tz_offset(tz, u1, NULL) == ob, v2 = tz_offset(tz, u2, NULL) == oa;

    if (v1 && v2)
        return u1 < u2 ? u1 : u2; /* repeated hour: the first */
    if (v1)
        return u1;
    if (v2)
        return u2;
    /* Skipped: the first instant whose offset is no longer ob. */
    lo = u1 < u2 ? u1 : u2;
    hi = u1 < u2 ? u2 : u1;
    if (tz_offset(tz, lo, NULL) != ob)
        return lo;
    while (hi - lo > 1) {
        mid = lo + (hi - lo) / 2;
        if (tz_offset(tz, mid, NULL) == ob)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

int tz_fixed(const char *name, int32_t utoff, struct tz **out)
{
    struct tz *tz;

    *out = NULL;
    if ((tz = calloc(1, sizeof(*tz))) == NULL)
        return -ENOMEM;
    snprintf(tz->name, sizeof(tz->name), "%s", name);
    tz->ntypes = 1;
    tz->off = calloc(1, sizeof(*tz->off));
    tz->isdst = calloc(1, 1);
    if (tz->off == NULL || tz->isdst == NULL) {
        tz_free(tz);
        return -ENOMEM;
    }
    tz->off[0] = utoff;
    *out = tz;
    return 0;
}

int tz_load(const char *dir, const char *name, struct tz **out)
{
    char path[512];
    unsigned char *b = NULL;
    struct tz *tz = NULL;
    size_t len = 0, n;
    FILE *f = NULL;
    int rc;

    *out = NULL;
    if (name == NULL || name[0] == '\0' || name[0] == '/' || strstr(name, "..") != NULL ||
        strlen(name) > TZ_NAME_MAX)
        return LB_E_RANGE;
    if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0)
        return tz_fixed(name, 0, out);
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir ? dir : TZ_DIR, name) >=
        sizeof(path))
        return LB_E_RANGE;
    if ((f = fopen(path, "rb")) == NULL) {
        rc = errno == ENOENT || errno == ENOTDIR || errno == EISDIR ? -ENOENT : -errno;
        goto fail;
    }
    if ((b = malloc(TZ_FILE_MAX)) == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    while ((n = fread(b + len, 1, TZ_FILE_MAX - len, f)) > 0)
        len += n;
    if (ferror(f)) {
        rc = errno == EISDIR ? -ENOENT : LB_E_CORRUPT;
        goto fail;
    }
    if ((tz = calloc(1, sizeof(*tz))) == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    snprintf(tz->name, sizeof(tz->name), "%s", name);
    if ((rc = parse_tzif(tz, b, len)) != 0)
        goto fail;
    fclose(f);
    free(b);
    *out = tz;
    return 0;
fail:
    if (f != NULL)
        fclose(f);
    free(b);
    tz_free(tz);
    return rc;
}

void tz_free(struct tz *tz)
{
    if (tz == NULL)
        return;
    free(tz->trans);
    free(tz->idx);
    free(tz->off);
    free(tz->isdst);
    free(tz);
}

const char *tz_name(const struct tz *tz)
{
    return tz->name;
}
