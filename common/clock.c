/* Clocks and ISO 8601 conversion; see linebeat/clock.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>

#include "linebeat/clock.h"
#include "linebeat/error.h"

static int digits(const char **p, int n, int *out);

int64_t lb_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t lb_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int lb_clock_synced(void)
{
    struct timex tx;

    /* Reading only (modes 0) needs no privilege.  The kernel sets
     * STA_UNSYNC until an NTP daemon disciplines the clock; TIME_ERROR
     * says the same. */
    memset(&tx, 0, sizeof(tx));
    int state = adjtimex(&tx);
    if (state < 0 || state == TIME_ERROR)
        return 0;
    return (tx.status & STA_UNSYNC) == 0;
}

char *lb_iso8601(int64_t ms, char *buf, unsigned size)
{
    time_t sec = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int frac = (int)(ms - (int64_t)sec * 1000);
    struct tm tm;

    if (gmtime_r(&sec, &tm) == NULL) {
        snprintf(buf, size, "invalid");
        return buf;
    }
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    return buf;
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int lb_parse_iso8601(const char *s, int64_t *ms)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, off = 0;
    struct tm tm;

    if (s == NULL || *s == '\0' || strlen(s) > 40)
        return LB_E_PARSE;

    /* Plain digits: ms since the epoch. */
    if (strspn(s, "0123456789") == strlen(s)) {
        if (strlen(s) > 15)
            return LB_E_PARSE;
        *ms = strtoll(s, NULL, 10);
        return 0;
    }

    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
        digits(&p, 2, &d))
        return LB_E_PARSE;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
        return LB_E_PARSE;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
            return LB_E_PARSE;
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &sec))
                return LB_E_PARSE;
            if (*p == '.' || *p == ',') {
                int scale = 100, n = 0;

                p++;
                while (isdigit((unsigned char)*p)) {
                    frac += (*p - '0') * scale;
                    scale /= 10;
                    p++;
                    if (++n > 9)
                        return LB_E_PARSE;
                }
                if (n == 0)
                    return LB_E_PARSE;
            }
        }
        if (h > 23 || mi > 59 || sec > 60)
            return LB_E_PARSE;
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh, om = 0;

            if (digits(&p, 2, &oh))
                return LB_E_PARSE;
            if (*p == ':')
                p++;
            if (*p != '\0' && digits(&p, 2, &om))
                return LB_E_PARSE;
            if (oh > 23 || om > 59)
                return LB_E_PARSE;
            off = sign * (oh * 60 + om) * 60;
        }
    }
    if (*p != '\0')
        return LB_E_PARSE;
    if (d == 29 && mo == 2 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return LB_E_PARSE;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    /* A time without zone is read as UTC; the API documents this. */
    *ms = ((int64_t)timegm(&tm) - off) * 1000 + frac;
    return 0;
}
