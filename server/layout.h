/*
 * The common shell of every HTML page: head with the stylesheet (screen,
 * phone, TV and print), the navigation for the user's role, the footer,
 * and the small helpers pages share for times, durations, numbers, CSRF
 * fields and CSV links.  Pages work without JavaScript; /static/app.js
 * only makes tables sortable.  Everything written goes through buf_html.
 */
#ifndef LB_SERVER_LAYOUT_H
#define LB_SERVER_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "pages.h"
#include "session.h"

struct layout {
    const char *title;          /* the <title> and the page heading */
    const char *active;         /* key of the navigation entry to mark */
    const struct session *sess; /* the user; NULL: no navigation (login, TV) */
    int refresh_s;              /* > 0: reload the page this often */
    int tv;                     /* large type on a dark background, no links */
};

/* Opens the page: doctype, head, header with navigation, <main>. */
void layout_begin(struct buf *b, const struct layout *l);
/* Closes <main> and the page, with the local time and zone of now_ms. */
void layout_end(struct buf *b, const struct layout *l, int64_t now_ms);
/* Marks rep a finished page with status: HTML, no-store, the page CSP. */
void layout_done(struct reply *rep, int status);

/* Local date and time "2025-11-29 14:05" (plant time zone), or "-" when
 * ms < 0. */
void layout_time(char *out, size_t size, int64_t ms);
/* A browser's datetime-local value "YYYY-MM-DDTHH:MM" (it has no zone),
 * read as the plant's local time.  Returns 0 and OUT: *ms, or -1 when v is
 * not such a value. */
int layout_parse_local(const char *v, int64_t *ms);
/* ms as a datetime-local value in the plant's zone, or "" when ms < 0. */
void layout_local_input(char *out, size_t size, int64_t ms);
/* A duration as people read it: "45 s", "12 min", "3 h 05 min", "2 d 4 h". */
void layout_duration(char *out, size_t size, int64_t ms);
/* An integer with thin spaces between groups of three digits (ISO 80000:
 * unambiguous in every locale). */
void layout_int(struct buf *b, int64_t v);
/* The hidden CSRF field of a form posted by the user of s. */
void layout_csrf(struct buf *b, const struct session *s);
/* A "Download CSV" link to href (escaped). */
void layout_csv_link(struct buf *b, const char *href);

/* /static/app.js: sortable tables (ES5, for old TV and office browsers). */
extern const char layout_js[];

#endif
