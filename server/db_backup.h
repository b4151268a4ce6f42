/*
 * Online backup of the server's database through SQLite's backup API: a
 * separate process (linebeat-server --backup FILE -c CONF) reads the live
 * database in one read transaction -- in WAL mode that never blocks the
 * running server's writer -- and writes a consistent copy.
 */
#ifndef LB_SERVER_DB_BACKUP_H
#define LB_SERVER_DB_BACKUP_H

/*
 * Copies the database at src into dest (written to dest.tmp, checked with
 * PRAGMA quick_check, then renamed over dest, so dest is never a partial
 * copy).  Logs what fails.  Returns 0, LB_E_DB, LB_E_CORRUPT (the copy
 * failed its check) or -errno.
 */
int db_backup(const char *src, const char *dest);

#endif
