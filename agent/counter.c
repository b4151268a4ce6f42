/*
 * Counter readings to part deltas (design.md "Counters").  All arithmetic
 * is unsigned and modulo the counter's width; bounds saturate instead of
 * overflowing, so no input (a 64-bit reading, an elapsed time of years, a
 * garbage ideal cycle time) can trigger undefined behaviour.
 *
 * Why a plausibility bound decides between wrap and reset: a counter that
 * reads lower than before either passed the top of its width or was reset
 * (power-up, new batch).  The distance through the wrap is the number of
 * parts the machine must have made; if it could not have made that many
 * in the time since the last reading, the register was reset.  The same
 * bound catches forward jumps (a PLC program preset, a register glitch),
 * which would otherwise be reported as a burst of phantom production.
 */
#include "counter.h"

static uint64_t width_mask(unsigned bits);
static uint64_t plausible_max(const struct counter *c, int64_t elapsed_ms,
                              int64_t ideal_cycle_ms);

/* Bits outside 1..64 make no sense for a register; 64 is the width that
 * never masks away a reading, so it is the safe interpretation. */
static uint64_t width_mask(unsigned bits)
{
    if (bits == 0 || bits >= 64)
        return UINT64_MAX;
    return (UINT64_C(1) << bits) - 1;
}

/*
 * The largest distance (forward, or through the wrap) taken as real
 * production.  With an ideal cycle time and a known elapsed time: the parts
 * the machine could make at four times its ideal rate, plus 16 for the
 * poll jitter and the slack of a machine that counts a few parts at once.
 * Otherwise: just below a quarter of the range, a bound wide enough for any
 * machine polled at a sane rate and narrow enough to tell a reset of a
 * counter that is not already close to the top.
 */
static uint64_t plausible_max(const struct counter *c, int64_t elapsed_ms,
                              int64_t ideal_cycle_ms)
{
    uint64_t e, ic, q, r, m, rest;

    if (ideal_cycle_ms <= 0 || elapsed_ms < 0)
        return width_mask(c->bits) >> 2; /* range / 4 - 1 */
    e = (uint64_t)elapsed_ms;
    ic = (uint64_t)ideal_cycle_ms;
    /*
     * floor(4e / ic) + 16 without forming 4e, which overflows: with
     * e = q ic + r, it is 4q + floor(4r / ic) + 16.  Even 4r may not fit
     * (r < ic < 2^63), but 2r does: with 2r = a ic + m (a is 0 or 1),
     * floor(4r / ic) = 2a + floor(2m / ic), and 2m < 2ic fits too.
     * Saturate exactly where the sum would pass UINT64_MAX.
     */
    q = e / ic;
    r = e % ic;
    m = (2 * r) % ic;
    rest = 2 * ((2 * r) / ic) + (2 * m) / ic + 16;
    if (q > UINT64_MAX / 4 || 4 * q > UINT64_MAX - rest)
        return UINT64_MAX;
    return 4 * q + rest;
}

void counter_init(struct counter *c, unsigned bits)
{
    c->have_base = 0;
    c->bits = bits;
    c->last = 0;
}

void counter_restore(struct counter *c, unsigned bits, uint64_t last)
{
    c->have_base = 1;
    c->bits = bits;
    c->last = last & width_mask(bits);
}

enum counter_event counter_update(struct counter *c, uint64_t raw, int64_t elapsed_ms,
                                  int64_t ideal_cycle_ms, uint64_t *delta)
{
    uint64_t mask = width_mask(c->bits);
    uint64_t bound, dist;

    /* A register wider than the declared width (or a signed value that the
     * decoder sign-extended) must not leak high bits into the distance. */
    raw &= mask;
    *delta = 0;
    if (!c->have_base) {
        c->have_base = 1;
        c->last = raw;
        return COUNTER_BASELINE;
    }
    bound = plausible_max(c, elapsed_ms, ideal_cycle_ms);
    if (raw >= c->last) {
        dist = raw - c->last;
        c->last = raw;
        if (dist > bound)
            return COUNTER_JUMP;
        *delta = dist;
        return COUNTER_OK;
    }
    /* raw < last, so (mask - last) + raw + 1 <= mask: no overflow even when
     * mask is UINT64_MAX and the range 2^64 itself is not representable. */
    dist = (mask - c->last) + raw + 1;
    c->last = raw;
    if (dist <= bound) {
        *delta = dist;
        return COUNTER_WRAP;
    }
    /* Not a wrap, so the counter was set back.  A genuine reset to zero
     * reads at most what the machine made since the last reading, which is
     * within the bound; a reading beyond it means the register was preset
     * to some other value, and the parts made cannot be known: re-baseline
     * without counting, as for a forward jump. */
    if (raw > bound)
        return COUNTER_JUMP;
    *delta = raw;
    return COUNTER_RESET;
}

const char *counter_event_name(enum counter_event e)
{
    switch (e) {
    case COUNTER_OK:
        return "ok";
    case COUNTER_BASELINE:
        return "baseline";
    case COUNTER_WRAP:
        return "wrap";
    case COUNTER_RESET:
        return "reset";
    case COUNTER_JUMP:
        return "jump";
    }
    return "?";
}
