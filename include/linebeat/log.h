/*
 * Logging for the daemons: stderr when in the foreground, syslog otherwise.
 * log_warn appends strerror(errno); the x variants do not.  fatal and fatalx
 * exit the process and are only for main.c, start-up and out-of-memory.
 * Thread-safe: each call writes one line with a single write().
 */
#ifndef LINEBEAT_LOG_H
#define LINEBEAT_LOG_H

#include <stdarg.h>

enum { LB_LOG_ERR = 0, LB_LOG_WARN = 1, LB_LOG_INFO = 2, LB_LOG_DEBUG = 3 };

/* Sets the program name, destination (1: stderr, 0: syslog) and the most
 * verbose level written (LB_LOG_*). May be called again on SIGHUP. */
void log_init(const char *progname, int to_stderr, int level);
void log_setlevel(int level);
int log_getlevel(void);
/* Parses "err", "warn", "info" or "debug"; returns the level or -1. */
int log_parselevel(const char *name);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
