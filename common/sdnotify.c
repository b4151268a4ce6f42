/*
 * sd_notify(3) in a few lines (see sdnotify.h).  The protocol is stable and
 * documented (systemd's sd_notify(3), "NOTIFY_SOCKET"); linking libsystemd
 * for it would add a dependency to the smallest boards for two messages.
 * An address starting with '@' is in the abstract namespace.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "linebeat/sdnotify.h"

int lb_sd_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa;
    size_t len, n;
    int fd, rc = 0;

    if (path == NULL || path[0] == '\0')
        return 0;
    len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path))
        return -EINVAL;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, len);
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = '\0';
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    n = strlen(state);
    if (sendto(fd, state, n, MSG_NOSIGNAL, (struct sockaddr *)&sa,
               (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) != (ssize_t)n)
        rc = -errno;
    close(fd);
    return rc;
}

int64_t lb_sd_watchdog_ms(void)
{
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    char *end;
    long long v;

    if (usec == NULL)
        return 0;
    if (pid != NULL && pid[0] != '\0') {
        errno = 0;
        v = strtoll(pid, &end, 10);
        if (errno != 0 || *end != '\0' || v != (long long)getpid())
            return 0;
    }
    errno = 0;
    v = strtoll(usec, &end, 10);
    if (errno != 0 || *end != '\0' || v <= 0)
        return 0;
    return v / 1000 > 0 ? v / 1000 : 1;
}
