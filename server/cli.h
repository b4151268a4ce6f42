/*
 * Command-line administration of the web's users and board links, run as
 * `linebeat-server -c CONF --add-user NAME --role ROLE` (the first admin),
 * `--passwd NAME` (a forgotten password) and `--add-board-link NAME`.  The
 * password comes from standard input: prompted twice without echo on a
 * terminal, otherwise the first line.  Works while the server runs.
 */
#ifndef LB_SERVER_CLI_H
#define LB_SERVER_CLI_H

#include "config.h"

/* Adds user name with role (a role name), or with reset set replaces the
 * password of an existing user (role NULL) and ends their sessions.
 * Prints what it did or why not.  Returns the exit status: 0, or 1. */
int cli_user(const struct srv_conf *conf, const char *name, const char *role, int reset);

/* Creates a board link called name and prints its path (/tv?token=...),
 * which is shown only now.  Returns the exit status. */
int cli_board_link(const struct srv_conf *conf, const char *name);

#endif
