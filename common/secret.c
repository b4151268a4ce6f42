/* Secrets kept in files; see linebeat/secret.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linebeat/error.h"
#include "linebeat/secret.h"

int lb_secret_read(const char *path, char *buf, size_t size, char *why, size_t whylen)
{
    struct stat st;
    size_t len = 0;
    ssize_t n;
    int fd, rc = 0;

    why[0] = '\0';
    if (size == 0)
        return LB_E_TOOBIG;
    buf[0] = '\0';
    /* O_NOFOLLOW is not used: packagers link secrets into place.  The
     * checks below are on the opened file, so a swap between check and
     * read is not possible. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        rc = -errno;
        snprintf(why, whylen, "%s: %s", path, strerror(-rc));
        return rc;
    }
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        snprintf(why, whylen, "%s: %s", path, strerror(-rc));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = -EINVAL;
        snprintf(why, whylen, "%s: not a regular file", path);
        goto out;
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        rc = -EPERM;
        snprintf(why, whylen,
                 "%s: mode %04o gives group or others access; refusing to use it "
                 "(chmod 600 it)",
                 path, (unsigned)(st.st_mode & 07777));
        goto out;
    }
    while (len < size) {
        n = read(fd, buf + len, size - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            snprintf(why, whylen, "%s: %s", path, strerror(-rc));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len == size) {
        rc = LB_E_TOOBIG;
        snprintf(why, whylen, "%s: longer than %zu bytes", path, size - 1);
        goto out;
    }
    buf[len] = '\0';
    if (len > 0 && buf[len - 1] == '\n')
        buf[--len] = '\0';
    if (len > 0 && buf[len - 1] == '\r')
        buf[--len] = '\0';
    if (len == 0) {
        rc = LB_E_PARSE;
        snprintf(why, whylen, "%s: empty", path);
    } else if (memchr(buf, '\n', len) != NULL) {
        rc = LB_E_PARSE;
        snprintf(why, whylen, "%s: more than one line (the secret is the only line)",
                 path);
    } else if (strlen(buf) != len) {
        rc = LB_E_PARSE;
        snprintf(why, whylen, "%s: holds a NUL byte", path);
    }
out:
    close(fd);
    if (rc != 0)
        explicit_bzero(buf, size);
    return rc;
}

int lb_secret_check(const char *path, char *why, size_t whylen)
{
    char buf[LB_SECRET_MAX + 1];
    int rc = lb_secret_read(path, buf, sizeof(buf), why, whylen);

    explicit_bzero(buf, sizeof(buf));
    return rc;
}
