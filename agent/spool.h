/*
 * The agent's store-and-forward spool (design.md "Spool"): an SQLite file in
 * WAL mode in the state directory.  Events are buffered in memory and
 * committed in groups together with the counters' last raw readings, so an
 * event and the baseline it was computed from become durable in the same
 * transaction: after kill -9 or a power cut the agent re-reads the machine
 * counter against the last committed baseline and neither loses nor
 * double-counts a part.  Sequence numbers are assigned at commit, strictly
 * increasing across restarts.  Events leave only when the server's ack
 * covers them; deletions ride with the next commit.
 */
#ifndef AGENT_SPOOL_H
#define AGENT_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "linebeat/wire.h"

struct spool;

/* An event as kept in the spool.  mono is CLOCK_MONOTONIC ms of the event,
 * or -1 when it was written before the machine last booted (then age must
 * come from the wall clock). */
struct spool_item {
    struct lb_event ev;
    int64_t mono;
    int synced;
};

struct spool_stats {
    uint64_t events;  /* committed and not yet acknowledged */
    uint64_t pending; /* waiting for the next commit */
    uint64_t bytes;   /* size of the database file */
    uint64_t next_seq;
    uint64_t acked;
    uint64_t commits;
    uint64_t merged;  /* count events merged because the spool was full */
    uint64_t dropped; /* state events dropped when merging was not enough */
    int full;
};

/*
 * Opens (creating 0600) DIR/spool.db with at most max_bytes of data.  A file
 * that SQLite reports damaged, or whose schema is unknown, is renamed to
 * spool.db.damaged-<unix time> and a new one is started; then OUT: note
 * (notelen bytes) says so, to be published, else note is "".  Returns 0,
 * -errno, or LB_E_DB.
 */
int spool_open(const char *dir, uint64_t max_bytes, struct spool **out, char *note,
               size_t notelen);
/* Commits nothing; pending events are dropped (their baselines too, so the
 * counter re-reading recovers the parts).  Accepts NULL. */
void spool_close(struct spool *s);

/* 1 when the spool was created by this open and has no sequence base yet:
 * the agent must learn where the server stands before committing. */
int spool_needs_base(const struct spool *s);
/* Sets the first sequence number of a new spool. */
void spool_set_base(struct spool *s, uint64_t next_seq);

/* Buffers ev (its seq is ignored) for the next commit; a count event joins
 * its machine's pending count, if that is the machine's latest pending
 * event.  Returns 0 or -ENOMEM. */
int spool_add(struct spool *s, const struct lb_event *ev, int64_t mono, int synced);
/* Buffers a counter's last raw reading (role index) for the next commit. */
int spool_set_raw(struct spool *s, const char *dev, int role, uint64_t raw,
                  int64_t wall_ms);
/* The latest raw reading of a counter the spool holds: one set in this
 * run (committed or not: its events are pending too), else the newest of
 * its counters row and the count events at open.  Returns 0 or -ENOENT. */
int spool_get_raw(struct spool *s, const char *dev, int role, uint64_t *raw,
                  int64_t *wall_ms);

size_t spool_pending(const struct spool *s);
/* 1 when a pending event cannot be recovered after a crash (a scan, a
 * note): the loop commits at once instead of waiting for the period. */
int spool_urgent(const struct spool *s);

/*
 * Writes the pending events (assigning their seq) and the pending raw
 * readings in one transaction with synchronous=FULL.  Each machine's run
 * of consecutive pending count events was folded into one as it grew, by
 * spool_add (unless spool_set_fold turned that off).  Acknowledged events
 * are deleted every few minutes, or at once when the spool is over its
 * bound.  When the spool is full, count events are merged (see spool.c);
 * if that cannot make room the commit keeps the events pending and returns
 * LB_E_FULL.  Returns 0, LB_E_FULL or LB_E_DB.
 */
int spool_commit(struct spool *s);

/* Deletes the acknowledged events and writes the marks now, as a clean
 * stop should (a commit defers that).  Returns 0 or LB_E_DB. */
int spool_checkpoint(struct spool *s);

/* on 0: every pending count event is kept as it came (tests of the
 * on-disk merge); 1, the default: fold them (see spool_add). */
void spool_set_fold(struct spool *s, int on);

/* Records that the server has stored every event up to seq; returns 1 when
 * that advanced the acknowledged mark. */
int spool_ack(struct spool *s, uint64_t seq);

/*
 * Reads up to max committed events with seq > after, oldest first, into
 * out.  OUT: *n.  Returns 0 or LB_E_DB.
 */
int spool_fetch(struct spool *s, uint64_t after, size_t max, struct spool_item *out,
                size_t *n);

/* The highest committed seq (0 when none ever was). */
uint64_t spool_last_seq(const struct spool *s);
uint64_t spool_acked(const struct spool *s);
void spool_stats(struct spool *s, struct spool_stats *st);
/* Cheap counters for the loop: OUT: merged and dropped events so far. */
void spool_losses(const struct spool *s, uint64_t *merged, uint64_t *dropped);

#endif
