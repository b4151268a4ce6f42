/*
 * Machine counter semantics (design.md "Counters"): turns successive raw
 * readings of a counter register into part deltas.  A reading below the
 * last one is a wrap when the distance through the wrap is plausible for
 * the elapsed time and the ideal cycle time, otherwise a reset, after which
 * the delta is the new reading.  Pure and single-threaded.
 */
#ifndef AGENT_COUNTER_H
#define AGENT_COUNTER_H

#include <stdint.h>

enum counter_event {
    COUNTER_OK,       /* normal advance (or no change) */
    COUNTER_BASELINE, /* first reading: taken as the baseline, no parts */
    COUNTER_WRAP,     /* passed the top of its width */
    COUNTER_RESET,    /* went back to (near) zero: delta is the new reading */
    COUNTER_JUMP,     /* moved implausibly far: re-baselined, no parts */
};

struct counter {
    int have_base;
    unsigned bits; /* 16, 32 or 64 */
    uint64_t last; /* last raw reading */
};

/* Starts a counter of the given width with no baseline. */
void counter_init(struct counter *c, unsigned bits);

/* Starts a counter from a durable last reading (agent restart). */
void counter_restore(struct counter *c, unsigned bits, uint64_t last);

/*
 * Feeds one reading.  elapsed_ms is the time since the previous reading
 * (< 0 when unknown), ideal_cycle_ms the machine's ideal cycle time (0
 * when unknown).  OUT: *delta, parts since the previous reading.  Returns
 * what happened.  With an ideal cycle time, a wrap is plausible when its
 * distance is at most the parts the machine could make in elapsed_ms at
 * four times its ideal rate plus 16; without one, when the distance is
 * below a quarter of the counter's range.  The same bound flags as
 * COUNTER_JUMP a forward jump beyond it and a reading set back to a value
 * above it (a preset, not a reset to zero): neither can be counted.  Raw
 * bits above the width are masked off; a width outside 1..64 means 64.
 */
enum counter_event counter_update(struct counter *c, uint64_t raw, int64_t elapsed_ms,
                                  int64_t ideal_cycle_ms, uint64_t *delta);

const char *counter_event_name(enum counter_event e);

#endif
