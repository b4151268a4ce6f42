/* In-process API reads for the report pages; see page_api.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "page_api.h"

static const char *args_get(void *ctx, const char *name);

static const char *args_get(void *ctx, const char *name)
{
    const struct page_api_args *a = ctx;
    size_t i;

    for (i = 0; a != NULL && i < PAGE_API_ARGS_MAX && a->name[i] != NULL; i++)
        if (strcmp(a->name[i], name) == 0)
            return a->value[i];
    return NULL;
}

json_t *page_api_get(const struct pages_env *env, struct db *db, int64_t now_ms,
                     const char *path, const struct page_api_args *args, int *status,
                     char *why, size_t size)
{
    struct pages_env sub = *env;
    struct reply rep;
    json_t *j = NULL;
    json_error_t err;

    memset(&rep, 0, sizeof(rep));
    buf_init(&rep.body);
    sub.method = "GET";
    sub.path = path;
    sub.body = NULL;
    sub.body_len = 0;
    sub.arg = args_get;
    sub.ctx = (void *)(uintptr_t)args; /* read only: args_get never writes */
    sub.rw = NULL;
    api_handle(&sub, db, now_ms, &rep);
    if (status != NULL)
        *status = rep.status;
    if (rep.body.err == 0 && rep.body.len > 0)
        j = json_loadb(rep.body.p, rep.body.len, 0, &err);
    if (rep.status != 200) {
        if (why != NULL && size > 0) {
            const json_t *e = json_object_get(j, "error");

            snprintf(why, size, "%s", json_is_string(e) ? json_string_value(e) : "error");
        }
        json_decref(j);
        j = NULL;
    }
    buf_free(&rep.body);
    return j;
}

int page_api_write(const struct pages_env *env, struct db *db, int64_t now_ms,
                   const char *method, const char *path, const json_t *body, char *why,
                   size_t size)
{
    struct pages_env sub = *env;
    struct reply rep;
    json_t *j = NULL;
    json_error_t err;
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    int status;

    memset(&rep, 0, sizeof(rep));
    buf_init(&rep.body);
    sub.method = method;
    sub.path = path;
    sub.body = text;
    sub.body_len = text != NULL ? strlen(text) : 0;
    sub.arg = NULL; /* no query: writes take the body */
    sub.rw = env->rw;
    sub.ctx = env->ctx; /* for rw */
    api_handle(&sub, db, now_ms, &rep);
    status = rep.status;
    if (status >= 400 && why != NULL && size > 0) {
        const json_t *e;

        if (rep.body.err == 0 && rep.body.len > 0)
            j = json_loadb(rep.body.p, rep.body.len, 0, &err);
        e = json_object_get(j, "error");
        snprintf(why, size, "%s", json_is_string(e) ? json_string_value(e) : "error");
        json_decref(j);
    }
    free(text);
    buf_free(&rep.body);
    return status;
}

void page_url(struct buf *b, const char *s)
{
    const unsigned char *c;

    for (c = (const unsigned char *)s; *c; c++)
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
            (*c >= '0' && *c <= '9') || *c == '-' || *c == '.' || *c == '_' || *c == '~')
            buf_add(b, (const char *)c, 1);
        else
            buf_printf(b, "%%%02X", *c);
}

int64_t pj_int(const json_t *o, const char *key, int64_t dflt)
{
    const json_t *v = json_object_get(o, key);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

double pj_num(const json_t *o, const char *key, double dflt)
{
    const json_t *v = json_object_get(o, key);

    return json_is_number(v) ? json_number_value(v) : dflt;
}

const char *pj_str(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    return json_is_string(v) ? json_string_value(v) : NULL;
}
