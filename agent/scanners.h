/*
 * The barcode scanners of an agent: one worker thread reads every
 * [scanner] with poll(), runs each scan through the grammar (scan.h) and
 * posts it to the loop's inbox as IN_SCAN.  A scanner that is missing or
 * unplugged is opened again by its path every SCANNERS_REOPEN_MS, so one
 * plugged back in works again without a restart.  The loop turns IN_SCAN
 * messages into scan events and feedback writes with scanners_take, and
 * keeps which machine each scanner serves (a machine label changes it;
 * a reload or restart goes back to the configured one).
 */
#ifndef AGENT_SCANNERS_H
#define AGENT_SCANNERS_H

#include "config.h"
#include "inbox.h"
#include "linebeat/wire.h"

#define SCANNERS_REOPEN_MS 2000

struct scanners;

/*
 * Sets up the scanners of c (which must outlive them), posting to ib.
 * No thread runs until scanners_start.  prev (may be NULL) is the set of a
 * configuration being replaced: a scanner of the same name keeps the
 * machine a label gave it, if c still has that machine.  OUT: *out, NULL
 * when c has no scanners.  Returns 0, -ENOMEM, or LB_E_CONFIG when the
 * grammar does not compile (agent_conf_load has checked it, so only for a
 * c it did not load).
 */
int scanners_new(const struct agent_conf *c, struct inbox *ib,
                 const struct scanners *prev, struct scanners **out);

/* Starts the worker; accepts NULL (nothing to do).  Returns 0 or -errno. */
int scanners_start(struct scanners *s);

/* Stops the worker and closes (and ungrabs) every scanner; accepts NULL.
 * s stays usable for scanners_take, so that scans already posted are
 * still understood (a reload drains the inbox after stopping workers). */
void scanners_stop(struct scanners *s);

/* Stops s if needed and frees it; accepts NULL. */
void scanners_free(struct scanners *s);

/* What the loop does with one IN_SCAN message (scanners_take). */
struct scan_outcome {
    int publish;                    /* ev is a scan event to spool */
    int machine;                    /* index into c->machines, -1: none */
    const struct feedback_conf *fb; /* feedback to write on machine, or NULL */
    int64_t fb_ms;                  /* then reset it after this long (0: never) */
};

/*
 * Loop thread only.  Decides what msg (IN_SCAN) means for the scanner it
 * came from: a machine label changes the scanner's machine; anything else
 * becomes OUT: ev, a scan event of the scanner's machine (of the agent id
 * when it has none, then always unknown), and OUT: out says whether to
 * publish it and what to write on the machine as feedback.  Logs what it
 * refuses.  Returns 0, or -EINVAL for a message of no scanner of s.
 */
int scanners_take(struct scanners *s, const struct inbox_msg *msg, struct lb_event *ev,
                  struct scan_outcome *out);

#endif
