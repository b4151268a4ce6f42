/*
 * The floor board: every machine as a tile with its state (word and
 * colour), how long it has been in it, its output today, its order's
 * progress and the OEE of its line's current shift so far; the same in
 * large type for a TV (read-only, refreshing itself), as CSV, and as the
 * JSON of GET /api/v1/machines.  All four come from one snapshot of the
 * figures shared by the web threads and made again, in the background,
 * when a request finds it older than BOARD_CACHE_MS.
 */
#ifndef LB_SERVER_BOARD_H
#define LB_SERVER_BOARD_H

#include <stdint.h>

#include "db.h"
#include "pages.h"
#include "session.h"

#define BOARD_REFRESH_S    10
#define BOARD_TV_REFRESH_S 10
#define BOARD_CACHE_MS     1000 /* figures are reused this long (board.c) */

/* Renders the board page for sess (NULL with tv) at now_ms into OUT: rep.
 * tv selects the TV variant, titled with name (may be NULL). */
void board_render(struct db *db, const struct session *sess, int tv, const char *name,
                  int64_t now_ms, struct reply *rep);

/* The machine list of GET /api/v1/machines (docs/web.md, "The floor board"). */
void board_json(struct db *db, int64_t now_ms, struct reply *rep);

/* The board's table as CSV (board.csv). */
void board_csv(struct db *db, int64_t now_ms, struct reply *rep);
/* Ends the thread that makes the board's figures and frees the last ones;
 * after the web server has stopped, before the database closes. */
void board_stop(void);

#endif
