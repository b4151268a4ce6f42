/* Device worker threads; see poller.h. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "linebeat/clock.h"
#include "linebeat/log.h"
#include "poller.h"

#define BACKOFF_MAX_MS 30000

struct poller {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    struct lb_device *dev;
    int idx;
    int64_t interval_ms;
    struct inbox *ib;
    uint64_t rng;
};

static void *run(void *arg);
static int wait_until(struct poller *p, int64_t deadline_ms);
static uint64_t next_rand(uint64_t *state);

static uint64_t next_rand(uint64_t *state)
{
    /* splitmix64: enough to spread reconnects of many devices. */
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Sleeps until deadline (CLOCK_MONOTONIC ms) or stop; returns 1 on stop. */
static int wait_until(struct poller *p, int64_t deadline_ms)
{
    struct timespec ts = {.tv_sec = deadline_ms / 1000,
                          .tv_nsec = (long)(deadline_ms % 1000) * 1000000L};
    int stop;

    pthread_mutex_lock(&p->mu);
    while (!p->stop && lb_mono_ms() < deadline_ms)
        if (pthread_cond_timedwait(&p->cv, &p->mu, &ts) == ETIMEDOUT)
            break;
    stop = p->stop;
    pthread_mutex_unlock(&p->mu);
    return stop;
}

static void *run(void *arg)
{
    struct poller *p = arg;
    int64_t next = lb_mono_ms();
    int64_t backoff = 0;

    for (;;) {
        struct inbox_msg m;
        int64_t now;

        if (wait_until(p, next))
            break;
        memset(&m, 0, sizeof(m));
        m.type = IN_READING;
        m.dev = p->idx;
        m.err = lb_device_read(p->dev, &m.reading);
        if (m.err != 0) {
            m.reading.mono_ms = lb_mono_ms();
            m.reading.wall_ms = lb_wall_ms();
        }
        if (inbox_post(p->ib, &m) != 0)
            log_warnx("device %d: reading lost: out of memory", p->idx);

        now = lb_mono_ms();
        if (m.err == 0) {
            backoff = 0;
            /* Keep the cadence: the next poll is one interval after the
             * last deadline, not after the read, unless we fell behind. */
            next += p->interval_ms;
            if (next < now)
                next = now;
        } else {
            /* The first retry comes at the normal interval (a single lost
             * reply is common); then back off exponentially up to 30 s,
             * with up to 25 % jitter so many devices do not retry in step. */
            backoff = backoff == 0 ? p->interval_ms : backoff * 2;
            if (backoff > BACKOFF_MAX_MS)
                backoff =
                    BACKOFF_MAX_MS < p->interval_ms ? p->interval_ms : BACKOFF_MAX_MS;
            next = now + backoff +
                   (int64_t)(next_rand(&p->rng) % (uint64_t)(backoff / 4 + 1));
        }
    }
    return NULL;
}

int poller_start(struct lb_device *dev, int idx, int64_t interval_ms, struct inbox *ib,
                 struct poller **out)
{
    struct poller *p;
    pthread_condattr_t ca;
    int rc;

    *out = NULL;
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        lb_device_free(dev);
        return -ENOMEM;
    }
    p->dev = dev;
    p->idx = idx;
    p->interval_ms = interval_ms;
    p->ib = ib;
    p->rng = (uint64_t)lb_wall_ms() ^ ((uint64_t)idx << 32);
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    rc = pthread_create(&p->thread, NULL, run, p);
    if (rc != 0) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        lb_device_free(dev);
        free(p);
        return -rc;
    }
    *out = p;
    return 0;
}

void poller_stop(struct poller *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    lb_device_free(p->dev);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
