/*
 * systemd's service notification protocol, without libsystemd: a datagram
 * to the socket named by $NOTIFY_SOCKET ("READY=1", "WATCHDOG=1",
 * "STOPPING=1", "STATUS=...").  Without that variable (a start by hand, a
 * system without systemd) every call does nothing and succeeds.
 */
#ifndef LINEBEAT_SDNOTIFY_H
#define LINEBEAT_SDNOTIFY_H

#include <stdint.h>

/* Sends state (newline-separated VAR=value assignments) to the service
 * manager.  Returns 0 (also when there is none to tell) or -errno. */
int lb_sd_notify(const char *state);

/* The interval at which the service manager expects WATCHDOG=1, in ms,
 * from $WATCHDOG_USEC (and $WATCHDOG_PID, when set, naming this process);
 * 0 when it expects none.  Callers ping at half of it. */
int64_t lb_sd_watchdog_ms(void);

#endif
