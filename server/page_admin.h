/*
 * Master data for admins, /admin/master: lines, machines (name, line,
 * ideal cycle time), products (code, name, ideal cycle time), the shift
 * calendar and the reason catalogue, each listed with a form.  Forms post
 * to /admin/master (CSRF-checked by web.c, admin role checked here) and
 * become the API's own writes (page_api_write), so validation, audit and
 * recomputation are the API's.
 */
#ifndef LB_SERVER_PAGE_ADMIN_H
#define LB_SERVER_PAGE_ADMIN_H

#include <stdint.h>

#include "db.h"
#include "pages.h"

void page_admin(const struct pages_env *env, struct db *db, int64_t now_ms,
                struct reply *rep);

#endif
