/*
 * CSV downloads of report tables (RFC 4180: comma, CRLF, quotes doubled).
 * Every table of the web pages offers its rows this way.  A text cell
 * that a spreadsheet would run as a formula (it starts with =, +, -, @,
 * tab or CR) is prefixed with an apostrophe; numbers are written as
 * numbers, times as ISO 8601 in the plant's time zone with its offset.
 */
#ifndef LB_SERVER_CSV_H
#define LB_SERVER_CSV_H

#include <stdint.h>

#include "buf.h"
#include "pages.h"

struct csv {
    struct buf *b;
    int col; /* cells written in the current row */
};

/* Starts writing into b. */
void csv_begin(struct csv *c, struct buf *b);
/* A text cell; NULL is an empty cell. */
void csv_str(struct csv *c, const char *s);
void csv_int(struct csv *c, int64_t v);
/* A number with decimals digits after the point (always "."). */
void csv_num(struct csv *c, double v, int decimals);
/* A time (ms since the epoch) as local ISO 8601 with offset; < 0 is empty. */
void csv_time(struct csv *c, int64_t ms);
/* Ends the row. */
void csv_end_row(struct csv *c);

/* Makes rep a CSV download called filename (ASCII [A-Za-z0-9_.-] only):
 * status 200, text/csv, Content-Disposition: attachment. */
void csv_reply(struct reply *rep, const char *filename);

#endif
