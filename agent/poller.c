/* Device workers; see poller.h. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "linebeat/clock.h"
#include "linebeat/error.h"
#include "linebeat/log.h"
#include "poller.h"

struct slot {
    struct lb_device *dev;
    int idx;
    int64_t interval_ms;
    int64_t next;    /* CLOCK_MONOTONIC ms of the next poll */
    int64_t backoff; /* 0 while the device answers */
};

/* A queued poller_write. */
struct pwrite {
    int idx;
    enum lb_area area;
    int address;
    uint16_t value;
    int64_t at;
};

struct poller {
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    int wake; /* poller_write queued a write: look at the deadline again */
    size_t nwrites;
    struct pwrite writes[POLLER_MAX_WRITES];
    struct inbox *ib;
    uint64_t rng;
    size_t n, cap;
    struct slot *slots;
};

static void *run(void *arg);
static int wait_until(struct poller *p, int64_t deadline_ms);
static int64_t writes_due(struct poller *p);
static int do_writes(struct poller *p);
static uint64_t next_rand(uint64_t *state);

static uint64_t next_rand(uint64_t *state)
{
    /* splitmix64: enough to spread reconnects of many devices. */
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int64_t poller_next(int64_t deadline, int64_t now, int64_t interval_ms, int ok,
                    int64_t *backoff, uint64_t rnd)
{
    int64_t next, cap;

    if (ok) {
        *backoff = 0;
        next = deadline + interval_ms;
        return next < now ? now : next;
    }
    cap = POLLER_BACKOFF_MAX_MS < interval_ms ? interval_ms : POLLER_BACKOFF_MAX_MS;
    *backoff = *backoff == 0 ? interval_ms : *backoff * 2;
    if (*backoff > cap)
        *backoff = cap;
    return now + *backoff + (int64_t)(rnd % (uint64_t)(*backoff / 4 + 1));
}

/* Sleeps until deadline (CLOCK_MONOTONIC ms) or stop; returns 1 on stop. */
static int wait_until(struct poller *p, int64_t deadline_ms)
{
    struct timespec ts = {.tv_sec = deadline_ms / 1000,
                          .tv_nsec = (long)(deadline_ms % 1000) * 1000000L};
    int stop;

    pthread_mutex_lock(&p->mu);
    while (!p->stop && !p->wake && lb_mono_ms() < deadline_ms)
        if (pthread_cond_timedwait(&p->cv, &p->mu, &ts) == ETIMEDOUT)
            break;
    p->wake = 0;
    stop = p->stop;
    pthread_mutex_unlock(&p->mu);
    return stop;
}

/* The time of the earliest queued write, INT64_MAX when none. */
static int64_t writes_due(struct poller *p)
{
    int64_t at = INT64_MAX;

    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->nwrites; i++)
        if (p->writes[i].at < at)
            at = p->writes[i].at;
    pthread_mutex_unlock(&p->mu);
    return at;
}

/* Makes the writes that are due, outside the lock (they block on the
 * device); returns how many. */
static int do_writes(struct poller *p)
{
    struct pwrite due[POLLER_MAX_WRITES];
    int64_t now = lb_mono_ms();
    size_t n = 0, i = 0;

    pthread_mutex_lock(&p->mu);
    while (i < p->nwrites) {
        if (p->writes[i].at <= now) {
            due[n++] = p->writes[i];
            p->writes[i] = p->writes[--p->nwrites];
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&p->mu);
    /* In time order: "on" before the "off" that follows it, even when
     * both fell due during one slow read. */
    for (i = 1; i < n; i++) {
        for (size_t j = i; j > 0 && due[j].at < due[j - 1].at; j--) {
            struct pwrite w = due[j];

            due[j] = due[j - 1];
            due[j - 1] = w;
        }
    }
    for (i = 0; i < n; i++) {
        for (size_t k = 0; k < p->n; k++) {
            int rc;

            if (p->slots[k].idx != due[i].idx)
                continue;
            rc = lb_device_write(p->slots[k].dev, due[i].area, due[i].address, 1,
                                 &due[i].value);
            if (rc != 0)
                log_warnx("device %d: feedback write to %s %d failed: %s", due[i].idx,
                          lb_area_name(due[i].area), due[i].address, lb_strerror(rc));
            break;
        }
    }
    return (int)n;
}

int poller_write(struct poller *p, int idx, enum lb_area area, int address,
                 uint16_t value, int64_t at)
{
    size_t i = 0, k;
    int rc = 0;

    for (k = 0; k < p->n; k++)
        if (p->slots[k].idx == idx)
            break;
    if (k == p->n)
        return -ENOENT;
    pthread_mutex_lock(&p->mu);
    while (i < p->nwrites) {
        struct pwrite *w = &p->writes[i];

        if (w->idx == idx && w->area == area && w->address == address && w->at >= at)
            *w = p->writes[--p->nwrites];
        else
            i++;
    }
    if (p->nwrites == POLLER_MAX_WRITES) {
        rc = -ENOSPC;
    } else {
        p->writes[p->nwrites++] = (struct pwrite){
            .idx = idx, .area = area, .address = address, .value = value, .at = at};
        p->wake = 1;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

static void *run(void *arg)
{
    struct poller *p = arg;

    for (;;) {
        struct inbox_msg m;
        struct slot *s = &p->slots[0];
        int64_t deadline, wdue;

        /* The device due first; on a bus the others wait their turn,
         * which a failing device makes at most one timeout long. */
        for (size_t i = 1; i < p->n; i++)
            if (p->slots[i].next < s->next)
                s = &p->slots[i];
        deadline = s->next;
        wdue = writes_due(p);
        if (wait_until(p, wdue < deadline ? wdue : deadline))
            break;
        /* Woken for a write (scanner feedback), or one is due. */
        if (do_writes(p) > 0 || lb_mono_ms() < deadline)
            continue;
        memset(&m, 0, sizeof(m));
        m.type = IN_READING;
        m.dev = s->idx;
        m.err = lb_device_read(s->dev, &m.reading);
        if (m.err != 0) {
            m.reading.mono_ms = lb_mono_ms();
            m.reading.wall_ms = lb_wall_ms();
        }
        if (inbox_post(p->ib, &m) != 0)
            log_warnx("device %d: reading lost: out of memory", s->idx);
        s->next = poller_next(deadline, lb_mono_ms(), s->interval_ms, m.err == 0,
                              &s->backoff, next_rand(&p->rng));
    }
    return NULL;
}

struct poller *poller_new(struct inbox *ib)
{
    struct poller *p = calloc(1, sizeof(*p));
    pthread_condattr_t ca;

    if (p == NULL)
        return NULL;
    p->ib = ib;
    p->rng = (uint64_t)lb_wall_ms() ^ ((uint64_t)(uintptr_t)p << 16);
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    return p;
}

int poller_add(struct poller *p, struct lb_device *dev, int idx, int64_t interval_ms)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 4;
        struct slot *ns = reallocarray(p->slots, cap, sizeof(*ns));

        if (ns == NULL) {
            lb_device_free(dev);
            return -ENOMEM;
        }
        p->slots = ns;
        p->cap = cap;
    }
    p->slots[p->n++] = (struct slot){
        .dev = dev, .idx = idx, .interval_ms = interval_ms, .next = lb_mono_ms()};
    return 0;
}

int poller_start(struct poller *p)
{
    int rc;

    if (p->n == 0)
        return -EINVAL;
    rc = pthread_create(&p->thread, NULL, run, p);
    if (rc != 0)
        return -rc;
    p->started = 1;
    return 0;
}

void poller_ask_stop(struct poller *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void poller_stop(struct poller *p)
{
    if (p == NULL)
        return;
    if (p->started) {
        poller_ask_stop(p);
        pthread_join(p->thread, NULL);
    }
    for (size_t i = 0; i < p->n; i++)
        lb_device_free(p->slots[i].dev);
    free(p->slots);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
