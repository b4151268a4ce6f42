/*
 * Logging after OpenBSD's log.c: one formatted line per call, written with a
 * single write() so lines from several threads never interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "linebeat/log.h"

static void vlog(int level, int with_errno, const char *fmt, va_list ap);

static const char *log_name = "linebeat";
static int log_stderr = 1;
static int log_level = LB_LOG_INFO;

void log_init(const char *progname, int to_stderr, int level)
{
    log_name = progname;
    log_stderr = to_stderr;
    log_level = level;
    if (!to_stderr)
        openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_setlevel(int level)
{
    log_level = level;
}

int log_getlevel(void)
{
    return log_level;
}

int log_parselevel(const char *name)
{
    static const char *const names[] = {"err", "warn", "info", "debug"};

    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

static void vlog(int level, int with_errno, const char *fmt, va_list ap)
{
    static const char *const tags[] = {"error", "warning", "info", "debug"};
    static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    int saved = errno;
    char msg[1024];
    int n;

    if (level > log_level)
        return;
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(msg))
        n = sizeof(msg) - 1;
    if (with_errno)
        snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(saved));

    if (log_stderr) {
        char line[1200];
        struct timespec ts;
        struct tm tm;
        int len;

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        len = snprintf(line, sizeof(line), "%02d:%02d:%02d.%03ld %s: %s: %s\n",
                       tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_name,
                       tags[level], msg);
        if (len < 0)
            return;
        if ((size_t)len >= sizeof(line)) {
            len = sizeof(line) - 1;
            line[len - 1] = '\n';
        }
        /* A lost log line is not worth failing for; nothing to do on error. */
        if (write(STDERR_FILENO, line, (size_t)len) < 0)
            errno = saved;
    } else {
        syslog(prio[level], "%s", msg);
    }
    errno = saved;
}

void log_warn(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(LB_LOG_WARN, 1, fmt, ap);
    va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(LB_LOG_WARN, 0, fmt, ap);
    va_end(ap);
}

void log_info(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(LB_LOG_INFO, 0, fmt, ap);
    va_end(ap);
}

void log_debug(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(LB_LOG_DEBUG, 0, fmt, ap);
    va_end(ap);
}

void fatal(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(LB_LOG_ERR, 1, fmt, ap);
    va_end(ap);
    exit(1);
}

void fatalx(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(LB_LOG_ERR, 0, fmt, ap);
    va_end(ap);
    exit(1);
}
