/* Online backup; see db_backup.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db_backup.h"
#include "linebeat/error.h"
#include "linebeat/log.h"

#define BUSY_TIMEOUT_MS 10000

int db_backup(const char *src, const char *dest)
{
    char tmp[4200];
    sqlite3 *s = NULL, *d = NULL;
    sqlite3_backup *b = NULL;
    sqlite3_stmt *st = NULL;
    const unsigned char *ok;
    int rc = LB_E_DB, src_rc;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", dest) >= sizeof(tmp))
        return -ENAMETOOLONG;
    if (access(src, R_OK) != 0) {
        rc = -errno;
        log_warnx("backup: %s: %s", src, strerror(errno));
        return rc;
    }
    (void)unlink(tmp);
    if (sqlite3_open_v2(src, &s, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        log_warnx("backup: open %s: %s", src, s ? sqlite3_errmsg(s) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(s, BUSY_TIMEOUT_MS);
    if (sqlite3_open_v2(tmp, &d, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        log_warnx("backup: create %s: %s", tmp, d ? sqlite3_errmsg(d) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(d, BUSY_TIMEOUT_MS);
    if ((b = sqlite3_backup_init(d, "main", s, "main")) == NULL) {
        log_warnx("backup: %s", sqlite3_errmsg(d));
        goto out;
    }
    /* All pages in one step: one read transaction, so the copy is one
     * consistent snapshot however busy the writer is (copying in slices
     * would restart at every commit of the running server). */
    do {
        src_rc = sqlite3_backup_step(b, -1);
        if (src_rc == SQLITE_BUSY || src_rc == SQLITE_LOCKED)
            sqlite3_sleep(100);
    } while (src_rc == SQLITE_BUSY || src_rc == SQLITE_LOCKED || src_rc == SQLITE_OK);
    if (sqlite3_backup_finish(b) != SQLITE_OK || src_rc != SQLITE_DONE) {
        b = NULL;
        log_warnx("backup: copy failed: %s", sqlite3_errmsg(d));
        goto out;
    }
    b = NULL;
    if (sqlite3_prepare_v2(d, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        log_warnx("backup: check: %s", sqlite3_errmsg(d));
        goto out;
    }
    ok = sqlite3_column_text(st, 0);
    if (ok == NULL || strcmp((const char *)ok, "ok") != 0) {
        log_warnx("backup: the copy fails its check: %s", ok ? (const char *)ok : "?");
        rc = LB_E_CORRUPT;
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    /* Leave a single file behind: no WAL next to the copy. */
    if (sqlite3_exec(d, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL) != SQLITE_OK) {
        log_warnx("backup: %s", sqlite3_errmsg(d));
        goto out;
    }
    if (sqlite3_close(d) != SQLITE_OK) {
        log_warnx("backup: close %s: %s", tmp, sqlite3_errmsg(d));
        goto out;
    }
    d = NULL;
    if (rename(tmp, dest) != 0) {
        rc = -errno;
        log_warnx("backup: rename %s to %s: %s", tmp, dest, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    if (b != NULL)
        sqlite3_backup_finish(b);
    if (d != NULL)
        sqlite3_close(d);
    if (s != NULL)
        sqlite3_close(s);
    if (rc != 0)
        (void)unlink(tmp);
    return rc;
}
