/*
 * Scanner worker and the loop's side of scans; see scanners.h.  One thread
 * for all scanners: they are idle almost always, and poll() on a few file
 * descriptors costs nothing, where a thread each would cost a stack each
 * on a 1 GB board.  The thread's timeout is the nearest deadline: an idle
 * gap that ends a scan, or a reopen attempt.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "linebeat/clock.h"
#include "linebeat/error.h"
#include "linebeat/log.h"
#include "linebeat/scanner.h"
#include "scan.h"
#include "scanners.h"

struct slot {
    struct scanners *owner;
    int idx;
    const struct scanner_conf *sc;
    struct lb_scanner *dev;
    int64_t retry_at; /* while closed: the next open attempt */
    int last_err;     /* of the last failed open, to log changes only */
    int machine;      /* loop thread: index of the machine it serves, -1 */
};

struct scanners {
    const struct agent_conf *c;
    struct inbox *ib;
    struct scan_grammar *g;
    pthread_t thread;
    int started;
    int efd; /* written to stop the worker */
    size_t n;
    struct slot *slots;
};

static void *run(void *arg);
static void try_open(struct slot *sl, int64_t now);
static void on_input(void *arg, const struct lb_scan_input *in);
static int machine_index(const struct agent_conf *c, const char *id);

static int machine_index(const struct agent_conf *c, const char *id)
{
    for (size_t i = 0; i < c->nmachines; i++)
        if (strcmp(c->machines[i].id, id) == 0)
            return (int)i;
    return -1;
}

int scanners_new(const struct agent_conf *c, struct inbox *ib,
                 const struct scanners *prev, struct scanners **out)
{
    struct scanners *s = NULL;
    char why[256];
    int rc = -ENOMEM;

    *out = NULL;
    if (c->nscanners == 0)
        return 0;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->c = c;
    s->ib = ib;
    s->efd = -1;
    s->slots = calloc(c->nscanners, sizeof(*s->slots));
    if (s->slots == NULL)
        goto fail;
    if ((rc = scan_grammar_new(&c->scan, &s->g, why, sizeof(why), NULL)) != 0) {
        if (rc != -ENOMEM)
            log_warnx("[scan]: %s", why);
        goto fail;
    }
    s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->efd < 0) {
        rc = -errno;
        goto fail;
    }
    for (size_t i = 0; i < c->nscanners; i++) {
        const struct scanner_conf *sc = &c->scanners[i];
        struct slot *sl = &s->slots[s->n];
        struct lb_scanner_link l;

        memset(&l, 0, sizeof(l));
        l.type = (enum lb_scanner_type)sc->type;
        snprintf(l.device, sizeof(l.device), "%s", sc->device);
        l.layout = (enum lb_layout)sc->layout;
        l.grab = sc->grab;
        l.baud = (int)sc->baud;
        l.term = (enum lb_term)sc->terminator;
        l.idle_ms = (int)sc->idle_ms;
        sl->dev = lb_scanner_new(&l);
        if (sl->dev == NULL) {
            rc = errno == EINVAL ? LB_E_CONFIG : -ENOMEM;
            goto fail;
        }
        sl->owner = s;
        sl->idx = (int)i;
        sl->sc = sc;
        sl->machine = sc->machine[0] ? machine_index(c, sc->machine) : -1;
        for (size_t j = 0; prev != NULL && j < prev->n; j++) {
            const struct slot *old = &prev->slots[j];
            int m;

            if (strcmp(old->sc->id, sc->id) != 0 || old->machine < 0)
                continue;
            m = machine_index(c, prev->c->machines[old->machine].id);
            if (m >= 0)
                sl->machine = m;
        }
        s->n++;
    }
    *out = s;
    return 0;
fail:
    scanners_free(s);
    return rc;
}

int scanners_start(struct scanners *s)
{
    int rc;

    if (s == NULL)
        return 0;
    rc = pthread_create(&s->thread, NULL, run, s);
    if (rc != 0)
        return -rc;
    s->started = 1;
    return 0;
}

void scanners_stop(struct scanners *s)
{
    uint64_t one = 1;

    if (s == NULL)
        return;
    if (s->started) {
        /* Cannot fail but for a saturated counter, which also wakes it. */
        if (write(s->efd, &one, sizeof(one)) < 0)
            log_debug("scanners: wake: %s", strerror(errno));
        pthread_join(s->thread, NULL);
        s->started = 0;
    }
    for (size_t i = 0; i < s->n; i++)
        lb_scanner_close(s->slots[i].dev);
}

void scanners_free(struct scanners *s)
{
    if (s == NULL)
        return;
    scanners_stop(s);
    for (size_t i = 0; i < s->n; i++)
        lb_scanner_free(s->slots[i].dev);
    free(s->slots);
    scan_grammar_free(s->g);
    if (s->efd >= 0)
        close(s->efd);
    free(s);
}

static void try_open(struct slot *sl, int64_t now)
{
    int rc = lb_scanner_open(sl->dev);

    if (rc == 0) {
        log_info("scanner %s: reading %s", sl->sc->id, sl->sc->device);
        sl->last_err = 0;
        return;
    }
    /* Say it once per kind of failure: a scanner left unplugged for a
     * weekend must not fill the log. */
    if (rc != sl->last_err)
        log_warnx("scanner %s: cannot open %s: %s; trying again every %d s", sl->sc->id,
                  sl->sc->device,
                  rc == -ENOTTY
                      ? (sl->sc->type == LB_SCANNER_EVDEV ? "not a keyboard input device"
                                                          : "not a serial device")
                  : rc == -EBUSY ? "another program has grabbed it"
                                 : lb_strerror(rc),
                  SCANNERS_REOPEN_MS / 1000);
    sl->last_err = rc;
    sl->retry_at = now + SCANNERS_REOPEN_MS;
}

/* Worker thread: a scan finished.  Understood here, off the loop thread;
 * the grammar is read-only after scanners_new. */
static void on_input(void *arg, const struct lb_scan_input *in)
{
    struct slot *sl = arg;
    struct scan_result r;
    struct inbox_msg m;

    scan_parse(sl->owner->g, in->text, in->len, in->overlong, in->lost, &r);
    if (r.empty) {
        log_debug("scanner %s: empty scan ignored", sl->sc->id);
        return;
    }
    memset(&m, 0, sizeof(m));
    m.type = IN_SCAN;
    m.scan.scanner = sl->idx;
    m.scan.accepted = r.accepted;
    m.scan.machine = r.machine;
    m.scan.mono_ms = in->mono_ms;
    m.scan.wall_ms = lb_wall_ms() - (lb_mono_ms() - in->mono_ms);
    m.scan.scan = r.scan;
    memcpy(m.scan.why, r.why, sizeof(m.scan.why));
    if (inbox_post(sl->owner->ib, &m) != 0)
        log_warnx("scanner %s: scan %s lost: out of memory", sl->sc->id, r.scan.code);
}

static void *run(void *arg)
{
    struct scanners *s = arg;
    struct pollfd *pfd = calloc(s->n + 1, sizeof(*pfd));
    int *map = calloc(s->n + 1, sizeof(*map));

    if (pfd == NULL || map == NULL) {
        log_warnx("scanners: out of memory: not reading any scanner");
        goto out;
    }
    for (size_t i = 0; i < s->n; i++)
        try_open(&s->slots[i], lb_mono_ms());
    for (;;) {
        int64_t now = lb_mono_ms(), next = INT64_MAX;
        size_t np = 1;
        int timeout;

        pfd[0] = (struct pollfd){.fd = s->efd, .events = POLLIN};
        for (size_t i = 0; i < s->n; i++) {
            struct slot *sl = &s->slots[i];
            int fd = lb_scanner_fd(sl->dev);
            int64_t d;

            if (fd < 0) {
                if (sl->retry_at < next)
                    next = sl->retry_at;
                continue;
            }
            if ((d = lb_scanner_deadline(sl->dev)) < next)
                next = d;
            map[np] = (int)i;
            pfd[np++] = (struct pollfd){.fd = fd, .events = POLLIN};
        }
        if (next == INT64_MAX)
            timeout = -1;
        else if (next <= now)
            timeout = 0;
        else
            timeout = next - now > 60000 ? 60000 : (int)(next - now);
        if (poll(pfd, np, timeout) < 0 && errno != EINTR) {
            log_warn("scanners: poll");
            break;
        }
        if (pfd[0].revents != 0)
            break; /* scanners_stop */
        now = lb_mono_ms();
        for (size_t k = 1; k < np; k++) {
            struct slot *sl = &s->slots[map[k]];
            int rc;

            if (pfd[k].revents == 0)
                continue;
            rc = lb_scanner_read(sl->dev, now, on_input, sl);
            if (rc != 0) {
                log_warnx("scanner %s: %s %s (%s); opening it again every %d s",
                          sl->sc->id, sl->sc->device,
                          rc == -ENODEV ? "went away" : "failed", lb_strerror(rc),
                          SCANNERS_REOPEN_MS / 1000);
                sl->last_err = rc;
                sl->retry_at = now + SCANNERS_REOPEN_MS;
            }
        }
        for (size_t i = 0; i < s->n; i++) {
            struct slot *sl = &s->slots[i];

            if (lb_scanner_fd(sl->dev) >= 0)
                lb_scanner_expire(sl->dev, now, on_input, sl);
            else if (now >= sl->retry_at)
                try_open(sl, now);
        }
    }
out:
    free(pfd);
    free(map);
    return NULL;
}

int scanners_take(struct scanners *s, const struct inbox_msg *msg, struct lb_event *ev,
                  struct scan_outcome *out)
{
    const struct inbox_scan *in = &msg->scan;
    const struct agent_conf *c;
    struct slot *sl;
    int ok;

    memset(out, 0, sizeof(*out));
    out->machine = -1;
    if (s == NULL || in->scanner < 0 || (size_t)in->scanner >= s->n)
        return -EINVAL;
    c = s->c;
    sl = &s->slots[in->scanner];
    ok = in->accepted;

    if (ok && in->machine) {
        int m = machine_index(c, in->scan.value);

        if (m >= 0) {
            log_info("scanner %s: now at machine %s", sl->sc->id, in->scan.value);
            sl->machine = m;
            out->machine = m;
            out->fb = sl->sc->fb_ok.set ? &sl->sc->fb_ok : NULL;
            out->fb_ms = sl->sc->feedback_ms;
            return 0;
        }
        /* Published as unknown: a label of another agent's machine (or a
         * typo) is worth a supervisor's look. */
        log_warnx("scanner %s: %s names no machine of this agent", sl->sc->id,
                  in->scan.code);
        ok = 0;
    }
    memset(ev, 0, sizeof(*ev));
    ev->type = LB_EV_SCAN;
    ev->t = in->wall_ms;
    ev->u.scan = in->scan;
    if (sl->machine >= 0) {
        snprintf(ev->dev, sizeof(ev->dev), "%s", c->machines[sl->machine].id);
    } else {
        /* No machine to give it to: the agent's own id, as for its notes,
         * and unknown, since it cannot act on any machine. */
        snprintf(ev->dev, sizeof(ev->dev), "%s", c->id);
        if (ok)
            log_warnx("scanner %s: %s scanned before any machine label: published as "
                      "unknown",
                      sl->sc->id, in->scan.code);
        ok = 0;
    }
    if (!ok) {
        ev->u.scan.kind = LB_SCAN_UNKNOWN;
        ev->u.scan.value[0] = '\0';
        ev->u.scan.has_qty = 0;
        if (in->why[0] != '\0')
            log_info("scanner %s: unknown scan %s: %s", sl->sc->id, in->scan.code,
                     in->why);
    } else {
        log_info("scanner %s: %s %s at %s", sl->sc->id, lb_scan_kind_name(in->scan.kind),
                 in->scan.code, ev->dev);
    }
    out->publish = 1;
    out->machine = sl->machine;
    out->fb = ok ? (sl->sc->fb_ok.set ? &sl->sc->fb_ok : NULL)
                 : (sl->sc->fb_error.set ? &sl->sc->fb_error : NULL);
    out->fb_ms = sl->sc->feedback_ms;
    return 0;
}
