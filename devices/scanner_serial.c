/*
 * Serial and USB-CDC scanners: a tty in raw mode, 8N1 at the configured
 * speed, one scan per line.  The terminator is configurable because
 * scanners differ (CR is the common factory default, some send LF or CR
 * LF); "any" takes either and lets the empty scan between CR and LF vanish.
 * A USB scanner that is unplugged makes read() fail with EIO or return 0
 * (hang-up); both close the scanner so that it is opened again by path.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "linebeat/log.h"
#include "scanner_priv.h"

#define CHUNK 256

static int serial_open(struct lb_scanner *s);
static int serial_read(struct lb_scanner *s, int64_t now, lb_scan_fn fn, void *arg);
static void serial_close(struct lb_scanner *s);
static speed_t speed_of(int baud);

const struct scanner_ops scanner_serial_ops = {
    .open = serial_open,
    .read = serial_read,
    .close = serial_close,
};

static speed_t speed_of(int baud)
{
    switch (baud) {
    case 1200:
        return B1200;
    case 2400:
        return B2400;
    case 4800:
        return B4800;
    case 9600:
        return B9600;
    case 19200:
        return B19200;
    case 38400:
        return B38400;
    case 57600:
        return B57600;
    case 115200:
        return B115200;
    case 230400:
        return B230400;
    case 460800:
        return B460800;
    default:
        return B0;
    }
}

static int serial_open(struct lb_scanner *s)
{
    struct termios tio;
    speed_t sp = speed_of(s->link.baud);
    int fd, rc;

    if (sp == B0)
        return -EINVAL;
    fd = open(s->link.device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (tcgetattr(fd, &tio) != 0) {
        rc = -errno;
        goto fail;
    }
    /* Raw: no echo (a scanner does not want its own data back), no line
     * editing, no CR/LF translation (the terminator is ours to see).
     * VMIN 1 makes a non-blocking read with no data fail with EAGAIN, so a
     * read of 0 bytes means hang-up, not "nothing yet". */
    cfmakeraw(&tio);
    tio.c_cflag |= CLOCAL | CREAD;
    tio.c_cflag &= ~(CSTOPB | PARENB | CRTSCTS);
    tio.c_cc[VMIN] = 1;
    tio.c_cc[VTIME] = 0;
    if (cfsetispeed(&tio, sp) != 0 || cfsetospeed(&tio, sp) != 0 ||
        tcsetattr(fd, TCSANOW, &tio) != 0) {
        rc = -errno;
        goto fail;
    }
    /* Nobody else may open it while we read it (a second agent, a getty). */
    if (ioctl(fd, TIOCEXCL) != 0)
        log_debug("scanner %s: TIOCEXCL: %s", s->link.device, strerror(errno));
    /* Whatever waited in the buffer was not meant for us. */
    tcflush(fd, TCIFLUSH);
    s->fd = fd;
    s->after_cr = 0;
    return 0;
fail:
    close(fd);
    return rc;
}

static int serial_read(struct lb_scanner *s, int64_t now, lb_scan_fn fn, void *arg)
{
    char buf[CHUNK];
    /* Bounded: a line that never pauses cannot keep us here forever. */
    for (int rounds = 0; rounds < 16; rounds++) {
        ssize_t n = read(s->fd, buf, sizeof(buf));
        size_t from = 0;

        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return 0;
            return errno == EIO || errno == ENXIO ? -ENODEV : -errno;
        }
        if (n == 0)
            return -ENODEV; /* hang-up: the USB device went away */
        for (size_t i = 0; i < (size_t)n; i++) {
            char c = buf[i];
            int end = 0, skip = 0;

            switch (s->link.term) {
            case LB_TERM_ANY:
                end = c == '\r' || c == '\n';
                break;
            case LB_TERM_CR:
                end = c == '\r';
                break;
            case LB_TERM_LF:
                end = c == '\n';
                break;
            case LB_TERM_CRLF:
                /* The CR is held back until we know whether LF follows. */
                if (s->after_cr) {
                    s->after_cr = 0;
                    if (c == '\n') {
                        end = 1;
                        break;
                    }
                    scanner_put(s, "\r", 1, now);
                }
                if (c == '\r') {
                    s->after_cr = 1;
                    skip = 1;
                }
                break;
            case LB_TERM_NONE:
                break;
            }
            if (end || skip) {
                scanner_put(s, buf + from, i - from, now);
                from = i + 1;
                if (end)
                    scanner_end(s, fn, arg);
            }
        }
        scanner_put(s, buf + from, (size_t)n - from, now);
        if ((size_t)n < sizeof(buf))
            return 0;
    }
    return 0;
}

static void serial_close(struct lb_scanner *s)
{
    close(s->fd);
    s->fd = -1;
    s->after_cr = 0;
}
