/*
 * Master data for admins, /admin/master: lines, machines (name, line,
 * ideal cycle time), products (code, name, ideal cycle time), the shift
 * calendar and the reason catalogue, each listed with a form; and
 * /admin/calendar: planned stops and calendar days, listed with add and
 * remove forms.  Forms post to their page (CSRF-checked by web.c, admin
 * role checked here) and become the API's own writes (page_api_write), so
 * validation, audit and recomputation are the API's.  Every list has a CSV
 * twin (?csv=NAME).
 */
#ifndef LB_SERVER_PAGE_ADMIN_H
#define LB_SERVER_PAGE_ADMIN_H

#include <stdint.h>

#include "db.h"
#include "pages.h"

/* Renders or handles a form of env->path (/admin/master or
 * /admin/calendar) into OUT: rep; 403 below the admin role. */
void page_admin(const struct pages_env *env, struct db *db, int64_t now_ms,
                struct reply *rep);

#endif
