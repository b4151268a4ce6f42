/* Command-line administration; see cli.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "auth.h"
#include "cli.h"
#include "db_auth.h"
#include "linebeat/clock.h"
#include "linebeat/error.h"

#define LINE_MAX_PW (AUTH_PASSWORD_MAX + 2)

static int read_line(FILE *in, const char *prompt, int tty, char *out, size_t size);
static int read_password(char *out, size_t size);

/* Reads one line without its newline; with tty, prompts on stderr with echo
 * off.  Returns 0, -EIO (end of input) or -E2BIG (too long). */
static int read_line(FILE *in, const char *prompt, int tty, char *out, size_t size)
{
    struct termios old, quiet;
    int restore = 0, rc = 0;
    size_t n;

    if (tty) {
        fputs(prompt, stderr);
        fflush(stderr);
        if (tcgetattr(fileno(in), &old) == 0) {
            quiet = old;
            quiet.c_lflag &= ~(tcflag_t)ECHO;
            quiet.c_lflag |= ECHONL;
            restore = tcsetattr(fileno(in), TCSAFLUSH, &quiet) == 0;
        }
    }
    if (fgets(out, (int)size, in) == NULL) {
        rc = -EIO;
    } else {
        n = strlen(out);
        if (n > 0 && out[n - 1] == '\n')
            out[--n] = '\0';
        else if (n == size - 1)
            rc = -E2BIG;
        if (n > 0 && out[n - 1] == '\r')
            out[--n] = '\0';
    }
    if (restore)
        tcsetattr(fileno(in), TCSAFLUSH, &old);
    return rc;
}

static int read_password(char *out, size_t size)
{
    char again[LINE_MAX_PW];
    int tty = isatty(STDIN_FILENO), rc;

    if ((rc = read_line(stdin, "Password: ", tty, out, size)) != 0) {
        fprintf(stderr, "linebeat-server: %s\n",
                rc == -E2BIG ? "password too long" : "no password on standard input");
        return -1;
    }
    if (tty) {
        rc = read_line(stdin, "Password again: ", tty, again, sizeof(again));
        if (rc != 0 || strcmp(out, again) != 0) {
            sodium_memzero(again, sizeof(again));
            fprintf(stderr, "linebeat-server: the passwords differ\n");
            return -1;
        }
        sodium_memzero(again, sizeof(again));
    }
    return 0;
}

int cli_user(const struct srv_conf *conf, const char *name, const char *role, int reset)
{
    char pw[LINE_MAX_PW], hash[AUTH_PWHASH_MAX];
    enum auth_role r = AUTH_NONE;
    struct db *db = NULL;
    struct db_user u;
    int rc, status = 1;

    if (auth_init() != 0) {
        fprintf(stderr, "linebeat-server: libsodium failed to initialise\n");
        return 1;
    }
    if (!auth_user_valid(name)) {
        fprintf(stderr, "linebeat-server: user name: 1 to 64 of A-Z a-z 0-9 . _ - @\n");
        return 1;
    }
    if (!reset && (r = auth_role_parse(role)) == AUTH_NONE) {
        fprintf(stderr,
                "linebeat-server: --role: viewer, supervisor, manager or admin\n");
        return 1;
    }
    if (read_password(pw, sizeof(pw)) != 0)
        goto out;
    if ((rc = auth_password_hash(pw, hash)) != 0) {
        fprintf(stderr, "linebeat-server: %s\n",
                rc == -EINVAL ? "the password needs 8 to 256 characters"
                              : lb_strerror(rc));
        goto out;
    }
    if ((rc = db_open(conf->server.db, 0, &db)) != 0) {
        fprintf(stderr, "linebeat-server: cannot open %s: %s\n", conf->server.db,
                lb_strerror(rc));
        goto out;
    }
    if (reset) {
        if ((rc = db_user_by_name(db, name, &u)) != 0) {
            fprintf(stderr, "linebeat-server: %s: %s\n", name,
                    rc == -ENOENT ? "no such user" : lb_strerror(rc));
            goto out;
        }
        if (db_user_set_password(db, u.id, hash, lb_wall_ms()) != 0 ||
            db_session_delete_user(db, u.id) != 0) {
            fprintf(stderr, "linebeat-server: database error\n");
            goto out;
        }
        printf("password of %s changed; their sessions ended\n", u.name);
    } else {
        rc = db_user_add(db, name, r, hash, lb_wall_ms(), NULL);
        if (rc != 0) {
            fprintf(stderr, "linebeat-server: %s: %s\n", name,
                    rc == -EEXIST
                        ? "that user exists (use --passwd to change the password)"
                        : lb_strerror(rc));
            goto out;
        }
        printf("user %s added with role %s\n", name, auth_role_name(r));
    }
    status = 0;
out:
    sodium_memzero(pw, sizeof(pw));
    db_close(db);
    return status;
}

int cli_board_link(const struct srv_conf *conf, const char *name)
{
    char token[AUTH_TOKEN_LEN + 1], hash[AUTH_HASH_LEN + 1], hint[8];
    struct db *db = NULL;
    int64_t id;
    size_t n = strlen(name);
    int rc;

    if (auth_init() != 0)
        return 1;
    if (n == 0 || n > DB_TOKEN_NAME_MAX) {
        fprintf(stderr, "linebeat-server: board link name: 1 to 64 characters\n");
        return 1;
    }
    if ((rc = db_open(conf->server.db, 0, &db)) != 0) {
        fprintf(stderr, "linebeat-server: cannot open %s: %s\n", conf->server.db,
                lb_strerror(rc));
        return 1;
    }
    auth_token_new(token);
    auth_token_hash(token, hash);
    snprintf(hint, sizeof(hint), "%.4s", token);
    rc = db_token_add(db, name, hash, hint, "command line", lb_wall_ms(), &id);
    db_close(db);
    if (rc != 0) {
        fprintf(stderr, "linebeat-server: database error\n");
        return 1;
    }
    printf("/tv?token=%s\n", token);
    return 0;
}
