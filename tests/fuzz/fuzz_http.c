/*
 * libFuzzer target for the web server's request parsing: the router, the
 * time parameters of the counts route, and the HTML and JSON escaping every
 * value goes through.  The input is split at newlines into method, path,
 * "from" and "to" (a missing part is NULL).  Broken promises abort: a
 * counts route with an invalid machine id, an accepted interval with
 * to < from, a rejection without a reason, markup surviving HTML escaping,
 * or a control character surviving JSON escaping.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "linebeat/wire.h"
#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what) __attribute__((noreturn));
static void check_route(const char *method, const char *path);
static void check_interval(const char *from, const char *to);
static void check_escaping(const char *s);

static void die(const char *what)
{
    fprintf(stderr, "fuzz_http: %s\n", what);
    abort();
}

static void check_route(const char *method, const char *path)
{
    struct route r;

    route_parse(method, path, &r);
    if (r.kind == ROUTE_NONE) {
        if (r.status != 404 && r.status != 405 && r.status != 414)
            die("no route without an error status");
        return;
    }
    /* The rest of /api/v1/ takes any method: api.c answers 405 itself.
     * POST only to the form pages: a stop's reason, master data and the
     * calendar, one order (completing it), never the order list. */
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
        r.kind != ROUTE_API &&
        !((r.kind == ROUTE_DOWNTIME || r.kind == ROUTE_ADMIN_MASTER ||
           (r.kind == ROUTE_ORDERS && strncmp(path, "/orders/", 8) == 0)) &&
          strcmp(method, "POST") == 0))
        die("a route for a method other than GET and HEAD");
    if ((r.kind == ROUTE_MACHINE_COUNTS || r.kind == ROUTE_MACHINE_PAGE) &&
        !lb_id_valid(r.dev))
        die("machine route with an invalid machine id");
    if (r.kind != ROUTE_MACHINE_COUNTS && r.kind != ROUTE_MACHINE_PAGE &&
        r.dev[0] != '\0')
        die("machine id outside the counts route");
}

static void check_interval(const char *from, const char *to)
{
    char why[128] = "";
    int64_t f, t;

    if (route_interval(from, to, &f, &t, why, sizeof(why)) == 0) {
        if (t < f)
            die("accepted an interval ending before it starts");
        return;
    }
    if (strncmp(why, "from: ", 6) != 0 && strncmp(why, "to: ", 4) != 0)
        die("rejection without a reason naming the parameter");
}

static void check_escaping(const char *s)
{
    struct buf b;
    size_t i;

    buf_init(&b);
    buf_html(&b, s);
    for (i = 0; i < b.len; i++)
        if (strchr("<>\"'", b.p[i]) != NULL)
            die("markup survived HTML escaping");
    buf_free(&b);

    buf_json_str(&b, s);
    if (b.err == 0) {
        if (b.len < 2 || b.p[0] != '"' || b.p[b.len - 1] != '"')
            die("JSON string not quoted");
        for (i = 0; i < b.len; i++)
            if ((unsigned char)b.p[i] < 0x20)
                die("control character survived JSON escaping");
        /* Every quote inside is escaped: count backslashes before it. */
        for (i = 1; i + 1 < b.len; i++) {
            size_t k = 0;

            if (b.p[i] != '"')
                continue;
            while (k < i && b.p[i - 1 - k] == '\\')
                k++;
            if (k % 2 == 0)
                die("unescaped quote inside a JSON string");
        }
    }
    buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy, *part[4] = {NULL, NULL, NULL, NULL}, *p;
    size_t n = 0;

    if (size > 8192)
        return 0;
    if ((copy = malloc(size + 1)) == NULL)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    /* Parts are C strings, as MHD hands them over: a NUL ends the input. */
    for (p = copy; n < 4; n++) {
        char *nl = strchr(p, '\n');

        part[n] = p;
        if (nl == NULL) {
            n++;
            break;
        }
        *nl = '\0';
        p = nl + 1;
    }
    check_route(part[0], part[1] ? part[1] : "/");
    check_interval(part[2], part[3]);
    check_escaping(copy);
    if (part[1])
        check_escaping(part[1]);
    free(copy);
    return 0;
}
