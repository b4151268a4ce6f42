/*
 * Secrets kept in files, such as the MQTT password of an agent or of the
 * server.  A secret file must be a regular file that neither its group nor
 * others may access (mode 0600 or stricter): a daemon refuses to start
 * rather than use a password any local user can read.  The secret is the
 * file's first line; one trailing newline (LF or CRLF) is ignored.
 */
#ifndef LINEBEAT_SECRET_H
#define LINEBEAT_SECRET_H

#include <stddef.h>

/* Longest secret accepted, in bytes. */
#define LB_SECRET_MAX 256

/*
 * Reads the secret in path into buf (size bytes, NUL-terminated).  On
 * failure OUT: why (whylen bytes) names the file and the problem, e.g.
 * "/etc/linebeat/mqtt.pw: mode 0644 gives group or others access; refusing
 * to use it (chmod 600 it)"; buf is then wiped.  Returns 0, -errno (cannot
 * open or read it, -EPERM for bad permissions, -EINVAL for not a regular
 * file), LB_E_PARSE (empty, more than one line, or a NUL byte) or
 * LB_E_TOOBIG.  The caller wipes buf (explicit_bzero) when done with it.
 */
int lb_secret_read(const char *path, char *buf, size_t size, char *why, size_t whylen);

/* lb_secret_read into a scratch buffer, wiped before returning: checks a
 * configured file without keeping the secret.  Same returns and OUT: why. */
int lb_secret_check(const char *path, char *why, size_t whylen);

#endif
