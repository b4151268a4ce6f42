/*
 * What an operator made: the time and parts of the machines an operator was
 * scanned at (docs/scanners.md, "Operators").  An operator scan on a
 * machine holds until the next operator scan there or the end of the shift
 * it was made in (for a scan outside every shift: until the next shift
 * starts), whichever comes first; the stored runs end only at the next
 * scan, the shift's end is applied here, when reading, so that a calendar
 * edited later applies too.  Counts are cut exactly at the runs' ends by
 * the KPI engine.
 */
#ifndef LB_SERVER_OPERATORS_H
#define LB_SERVER_OPERATORS_H

#include <stdint.h>

#include "buf.h"
#include "db.h"

/*
 * Appends to out the JSON report of operator id over [from, to) as of now:
 * its badge and name, each run (machine, start, end, why it ended, good,
 * scrap) clipped to the period, and the sums with their KPIs
 * (explain: with formulas).  Returns 0, -ENOENT (no such operator, nothing
 * appended), -ENOMEM or LB_E_DB.
 */
int operators_report(struct db *db, int64_t id, int64_t from, int64_t to, int64_t now,
                     int explain, struct buf *out);

#endif
