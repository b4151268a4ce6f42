/*
 * Report pages read the JSON API itself: a GET of an API path answered in
 * process (api_handle, same user, same snapshot rules) and parsed back, so
 * a page shows exactly the numbers its "JSON" link gives.
 */
#ifndef LB_SERVER_PAGE_API_H
#define LB_SERVER_PAGE_API_H

#include <jansson.h>
#include <stdint.h>

#include "db.h"
#include "pages.h"

#define PAGE_API_ARGS_MAX 8

/* Query arguments of an in-process API call: NULL-terminated name/value
 * pairs. */
struct page_api_args {
    const char *name[PAGE_API_ARGS_MAX + 1];
    const char *value[PAGE_API_ARGS_MAX + 1];
};

/*
 * GETs path (an /api/v1 path, no query) with args (may be NULL) as env's
 * user at now_ms.  Returns the parsed answer (json_decref it) when the
 * status is 200, else NULL with the status in *status (may be NULL) and
 * the API's error message in why (may be NULL).
 */
json_t *page_api_get(const struct pages_env *env, struct db *db, int64_t now_ms,
                     const char *path, const struct page_api_args *args, int *status,
                     char *why, size_t size);

/*
 * A write through the API as env's user: method (POST, PUT, DELETE) on
 * path with body (a JSON object; may be NULL).  Returns the status; the
 * API's error message goes to why.
 */
int page_api_write(const struct pages_env *env, struct db *db, int64_t now_ms,
                   const char *method, const char *path, const json_t *body, char *why,
                   size_t size);

/* Appends s percent-encoded for a URL path segment or query value: only
 * A-Z a-z 0-9 - . _ ~ stay, so the result is also safe in an HTML
 * attribute. */
void page_url(struct buf *b, const char *s);

/* Small accessors that accept NULL and wrong types. */
int64_t pj_int(const json_t *o, const char *key, int64_t dflt);
double pj_num(const json_t *o, const char *key, double dflt);
const char *pj_str(const json_t *o, const char *key);

#endif
