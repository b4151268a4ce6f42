/*
 * The web server: libmicrohttpd with its own threads (epoll, a pool of
 * http_threads), each thread reading through its own read-only database
 * connection.  Routing is route.c's, rendering pages.c's.
 */
#ifndef LB_SERVER_HTTP_H
#define LB_SERVER_HTTP_H

#include "config.h"
#include "ingest.h"

struct http;

/*
 * Starts listening on conf's http_bind:http_port.  ing (may be NULL) feeds
 * /metrics and must outlive the server.  The caller must have blocked the
 * signals it waits for.  OUT: *out.  Returns 0, -ENOMEM, -EINVAL (bad
 * address) or -EADDRINUSE when MHD could not start (logged).
 */
int http_start(const struct srv_conf *conf, struct ingest *ing, struct http **out);

/* Stops accepting, finishes the threads (closing their connections) and
 * frees h.  Accepts NULL. */
void http_stop(struct http *h);

#endif
