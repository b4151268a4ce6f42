/*
 * Orders, /orders: every order with its status, progress, due date,
 * expected completion (the API's ETA), late and unplanned ones marked;
 * /orders/<number>: its runs on machines, good and scrap, time used against
 * the time its quantity takes at the ideal cycle, OEE and losses, and for a
 * supervisor a form (POST /orders/<number>) completing or changing it
 * through the API.  ?csv=1 gives each page's table; the JSON is the API's
 * (linked).
 */
#ifndef LB_SERVER_PAGE_ORDERS_H
#define LB_SERVER_PAGE_ORDERS_H

#include <stdint.h>

#include "db.h"
#include "pages.h"

/* Renders env->path (/orders or /orders/<number>), or handles the order
 * form posted to /orders/<number>, at now_ms into OUT: rep. */
void page_orders(const struct pages_env *env, struct db *db, int64_t now_ms,
                 struct reply *rep);

#endif
