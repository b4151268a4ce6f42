/* Master data and calendar; see db_master.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_master.h"
#include "db_priv.h"
#include "linebeat/error.h"
#include "linebeat/grow.h"

/* ms -> ISO 8601 UTC, day number -> YYYY-MM-DD, minutes -> HH:MM. */
#define ISO(x)                                                                           \
    "CASE WHEN " x " IS NULL THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%fZ', " x           \
    " / 1000.0, 'unixepoch') END"
#define DAY(x)                                                                           \
    "CASE WHEN " x " IS NULL OR " x " < -700000 OR " x                                   \
    " > 2900000 THEN NULL ELSE date(" x " * 86400, 'unixepoch') END"
#define HM(x)                                                                            \
    "CASE WHEN " x " IS NULL THEN NULL ELSE printf('%02d:%02d', " x " / 60, " x          \
    " % 60) END"
#define BOOL(x)      "json(CASE WHEN " x " THEN 'true' ELSE 'false' END)"
#define ARRAY(inner) "SELECT coalesce(json_group_array(json(j)), '[]') FROM (" inner ")"

static const char SQL_LINES[] = ARRAY(
    "SELECT json_object('id', l.id, 'name', l.name, 'site', l.site, 'machines', "
    "json((SELECT coalesce(json_group_array(dev), '[]') FROM (SELECT dev FROM machines "
    "WHERE line_id = l.id ORDER BY dev)))) AS j FROM lines l ORDER BY l.name");
static const char SQL_LINE[] =
    "SELECT json_object('id', l.id, 'name', l.name, 'site', l.site, 'machines', "
    "json((SELECT coalesce(json_group_array(dev), '[]') FROM (SELECT dev FROM machines "
    "WHERE line_id = l.id ORDER BY dev)))) FROM lines l WHERE l.id = ?1";
static const char SQL_MACHINE[] =
    "SELECT json_object('id', m.dev, 'name', m.name, 'agent', m.agent, 'profile', "
    "m.profile, 'line_id', m.line_id, 'ideal_cycle_ms', coalesce(m.ideal_set_ms, "
    "m.ideal_cycle_ms), 'ideal_cycle_ms_agent', m.ideal_cycle_ms, 'ideal_cycle_ms_set', "
    "m.ideal_set_ms, 'state', m.state, 'reason', m.reason, 'state_since', " ISO(
        "m.state_since") ", 'last_seen', " ISO("m.last_seen") ") FROM machines m "
                                                              "WHERE m.dev = ?1";
#define PRODUCT_OBJ                                                                      \
    "json_object('id', p.id, 'code', p.code, 'name', p.name, 'ideal_cycle_ms', "         \
    "p.ideal_cycle_ms, 'machines', json((SELECT coalesce(json_group_object(dev, "        \
    "ideal_cycle_ms), '{}') FROM product_machines WHERE product_id = p.id)))"
static const char SQL_PRODUCTS[] =
    ARRAY("SELECT " PRODUCT_OBJ " AS j FROM products p ORDER BY p.code");
static const char SQL_PRODUCT[] =
    "SELECT " PRODUCT_OBJ " FROM products p WHERE p.id = ?1";
#define ORDER_OBJ                                                                        \
    "json_object('id', o.id, 'number', o.number, 'product_id', o.product_id, "           \
    "'product', (SELECT code FROM products WHERE id = o.product_id), 'quantity', "       \
    "o.quantity, 'due', " ISO("o.due") ", 'status', o.status, 'unplanned', " BOOL(       \
        "o.unplanned") ", 'created', " ISO("o.created") ", 'updated', " ISO("o.updated") ")"
static const char SQL_ORDERS[] = ARRAY("SELECT " ORDER_OBJ " AS j FROM orders o "
                                       "WHERE ?2 = '' OR o.status = ?2 ORDER BY o.id");
static const char SQL_ORDER[] = "SELECT " ORDER_OBJ " FROM orders o WHERE o.id = ?1";
static const char SQL_ORDER_RUNS_JSON[] =
    ARRAY("SELECT json_object('id', r.id, 'machine', r.dev, 'start', " ISO(
        "r.start") ", 'end', " ISO("r.end") ", 'source', r.source) AS j FROM order_runs "
                                            "r "
                                            "WHERE r.order_id = ?1 ORDER BY r.start");
static const char SQL_OPERATORS[] = ARRAY(
    "SELECT json_object('id', id, 'badge', badge, 'name', name) AS j FROM operators "
    "ORDER BY badge");
static const char SQL_SHIFTS[] = ARRAY(
    "SELECT json_object('id', id, 'line_id', line_id, 'name', name, 'weekday', weekday, "
    "'start', " HM("start_min") ", 'end', " HM("end_min") ", 'valid_from', " DAY(
        "valid_from") ", 'valid_to', " DAY("valid_to") ") AS j FROM shifts "
                                                       "ORDER BY line_id, weekday, "
                                                       "start_min");
static const char
    SQL_PSTOPS[] =
        ARRAY("SELECT json_object('id', id, 'line_id', line_id, 'name', name, 'kind', "
              "kind, "
              "'weekday', weekday, 'start', " HM("start_min") ", 'end', " HM("end_min") ", 'start_at', " ISO(
                  "start") ", 'end_at', " ISO("end") ", 'valid_from', " DAY("valid_"
                                                                            "from") ", "
                                                                                    "'v"
                                                                                    "al"
                                                                                    "id"
                                                                                    "_t"
                                                                                    "o'"
                                                                                    ","
                                                                                    " " DAY(
                                                                                        "valid_to") ") AS j FROM "
                                                                                                    "planned_stops "
                                                                                                    "ORDER BY "
                                                                                                    "line_id, id");
static const char SQL_CAL_DAYS[] = ARRAY(
    "SELECT json_object('id', id, 'line_id', "
    "line_id, 'day', " DAY("day") ", 'kind', kind, "
                                  "'name', name, "
                                  "'start', " HM("st"
                                                 "ar"
                                                 "t_"
                                                 "mi"
                                                 "n") ", 'end', " HM("end_min") ") "
                                                                                "AS"
                                                                                " j"
                                                                                " F"
                                                                                "RO"
                                                                                "M "
                                                                                "ca"
                                                                                "le"
                                                                                "nd"
                                                                                "ar"
                                                                                "_d"
                                                                                "ay"
                                                                                "s "
                                                                                "OR"
                                                                                "DE"
                                                                                "R "
                                                                                "BY"
                                                                                " d"
                                                                                "ay"
                                                                                ", "
                                                                                "i"
                                                                                "d");
static const char SQL_REASONS[] =
    ARRAY("SELECT json_object('code', code, 'name', name, 'kind', kind, 'planned', " BOOL(
        "planned") ", 'category', category) AS j FROM reasons ORDER BY code");
static const char SQL_AUDIT[] = ARRAY("SELECT json_object('machine', dev, 'start', " ISO(
    "start") ", 'before', before, "
             "'after', after, 'who', who, "
             "'at', " ISO("at") ") AS j FROM "
                                "reason_audit WHERE "
                                "dev = ?2 ORDER BY "
                                "id DESC LIMIT 1000");
/* A machine's scans in [?2, ?3) as the agent understood them, newest
 * first (the partial index events_scans serves the range). */
static const char SQL_SCANS[] = ARRAY("SELECT json_object('t', " ISO(
    "t_eff") ", 't_ms', t_eff, 'agent', agent, 'seq', "
             "seq, 'kind', kind, 'code', code, 'value', value, 'qty', qty) AS j FROM "
             "events "
             "WHERE dev = ?1 AND type = 'scan' AND t_eff >= ?2 AND t_eff < ?3 "
             "ORDER BY t_eff DESC, seq DESC LIMIT ?4");
#define UNEXPLAINED                                                                      \
    "(i.cat = 5 OR (i.cat IS NULL AND i.state IN ('idle', 'down') AND "                  \
    "coalesce(i.set_reason, i.reason) IS NULL))"
static const char SQL_INTERVALS[] = ARRAY(
    "SELECT json_object('start', " ISO("i.start") ", 'start_ms', i.start, 'end', " ISO(
        "i.end") ", 'duration_ms', coalesce(i.end, ?5) - i.start, 'state', i.state, "
                 "'reason', coalesce(i.set_reason, i.reason), 'machine_reason', "
                 "i.reason, "
                 "'set_reason', i.set_reason, 'category', CASE i.cat WHEN 0 THEN "
                 "'unknown' WHEN 1 THEN 'run' WHEN 2 THEN 'micro_stop' WHEN 3 THEN "
                 "'setup' "
                 "WHEN 4 THEN 'down' WHEN 5 THEN 'unexplained' WHEN 6 THEN "
                 "'planned_stop' "
                 "END, 'unexplained', " BOOL(
                     UNEXPLAINED) ") AS j FROM intervals i "
                                  "WHERE i.dev = ?1 AND i.start < ?3 "
                                  "AND i.start >= ?2 - coalesce(("
                                  "SELECT maxlen FROM tracks WHERE "
                                  "dev = ?1), 0) AND (i.end IS NULL "
                                  "OR i.end > ?2) AND (?4 = 0 OR " UNEXPLAINED
                                  ") ORDER BY i.start LIMIT 5000");

static const char SQL_LINE_INSERT[] =
    "INSERT INTO lines(name, site, created) VALUES(?1, ?2, ?3)";
static const char SQL_LINE_UPDATE[] =
    "UPDATE lines SET name = ?2, site = ?3 WHERE id = ?1";
static const char SQL_LINE_DELETE[] = "DELETE FROM lines WHERE id = ?1";
static const char SQL_LINE_EXISTS[] = "SELECT 1 FROM lines WHERE id = ?1";
static const char SQL_REASON_EXISTS[] = "SELECT 1 FROM reasons WHERE code = ?1";
static const char SQL_MACHINE_NAME[] = "UPDATE machines SET name = ?2 WHERE dev = ?1";
static const char SQL_MACHINE_LINE[] = "UPDATE machines SET line_id = ?2 WHERE dev = ?1";
static const char SQL_MACHINE_ICT[] =
    "UPDATE machines SET ideal_set_ms = ?2 WHERE dev = ?1";
static const char SQL_MACHINE_EXISTS[] = "SELECT 1 FROM machines WHERE dev = ?1";
static const char SQL_PRODUCT_INSERT[] =
    "INSERT INTO products(code, name, ideal_cycle_ms) VALUES(?1, ?2, ?3)";
static const char SQL_PRODUCT_UPDATE[] =
    "UPDATE products SET code = ?2, name = ?3, ideal_cycle_ms = ?4 WHERE id = ?1";
static const char SQL_PRODUCT_DELETE[] = "DELETE FROM products WHERE id = ?1";
static const char SQL_PRODUCT_BY_CODE[] = "SELECT id FROM products WHERE code = ?1";
static const char SQL_PM_SET[] =
    "INSERT INTO product_machines(product_id, dev, ideal_cycle_ms) VALUES(?1, ?2, ?3) "
    "ON CONFLICT(product_id, dev) DO UPDATE SET ideal_cycle_ms = excluded.ideal_cycle_ms";
static const char SQL_PM_DELETE[] =
    "DELETE FROM product_machines WHERE product_id = ?1 AND dev = ?2";
static const char SQL_ORDER_BY_NUMBER[] = "SELECT id FROM orders WHERE number = ?1";
static const char SQL_ORDER_INSERT[] =
    "INSERT INTO orders(number, product_id, quantity, due, status, created, updated) "
    "VALUES(?1, ?2, coalesce(?3, 0), ?4, coalesce(?5, 'planned'), ?6, ?6)";
/* ?7..?10: which of product, quantity, due and status to set.  An order a
 * scan created (unplanned) counts as completed once it has a quantity:
 * progress, ETA and lateness need one, product and due may stay open
 * (docs/web.md).  SET sees the row before the update, hence the CASE. */
static const char SQL_ORDER_UPDATE[] =
    "UPDATE orders SET number = coalesce(?2, number), "
    "product_id = CASE WHEN ?7 THEN ?3 ELSE product_id END, "
    "quantity = CASE WHEN ?8 THEN ?4 ELSE quantity END, "
    "due = CASE WHEN ?9 THEN ?5 ELSE due END, "
    "status = CASE WHEN ?10 THEN ?6 ELSE status END, "
    "unplanned = unplanned AND (CASE WHEN ?8 THEN ?4 ELSE quantity END) <= 0, "
    "updated = ?11 WHERE id = ?1";
static const char SQL_ORDER_DELETE[] = "DELETE FROM orders WHERE id = ?1";
static const char SQL_ORDER_HEAD[] =
    "SELECT quantity, coalesce(due, -1), status FROM orders WHERE id = ?1";
static const char SQL_ORDER_RUNS[] =
    "SELECT dev, start, end FROM order_runs WHERE order_id = ?1 ORDER BY start";
static const char SQL_RUN_CLOSE_DEV[] =
    "UPDATE order_runs SET end = ?2 WHERE dev = ?1 AND end IS NULL AND start <= ?2";
static const char SQL_RUN_INSERT[] =
    "INSERT INTO order_runs(order_id, dev, start, end, source) VALUES(?1, ?2, ?3, NULL, "
    "'api')";
static const char SQL_RUN_OPEN[] =
    "SELECT id, start FROM order_runs WHERE order_id = ?1 AND dev = ?2 AND end IS NULL";
static const char SQL_RUN_END[] = "UPDATE order_runs SET end = ?2 WHERE id = ?1";
static const char SQL_ORDER_RUNNING[] =
    "UPDATE orders SET status = 'running', updated = ?2 WHERE id = ?1 "
    "AND status NOT IN ('done', 'cancelled')";
static const char SQL_OPERATOR_PUT[] =
    "INSERT INTO operators(badge, name) VALUES(?1, ?2) ON CONFLICT(badge) DO UPDATE SET "
    "name = excluded.name RETURNING id";
static const char SQL_SHIFT_INSERT[] = "INSERT INTO shifts(line_id, name, weekday, "
                                       "start_min, end_min, valid_from, valid_to) "
                                       "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char SQL_PSTOP_INSERT[] =
    "INSERT INTO planned_stops(line_id, name, kind, weekday, start_min, end_min, start, "
    "end, valid_from) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char SQL_DAY_INSERT[] =
    "INSERT INTO calendar_days(line_id, day, kind, name, start_min, end_min) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6)";
static const char SQL_SHIFT_GET[] =
    "SELECT coalesce(line_id, 0), valid_from, NULL FROM shifts WHERE id = ?1";
static const char SQL_SHIFT_END[] = "UPDATE shifts SET valid_to = ?2 WHERE id = ?1";
static const char SQL_SHIFT_DEL[] = "DELETE FROM shifts WHERE id = ?1";
static const char SQL_PSTOP_GET[] = "SELECT coalesce(line_id, 0), CASE WHEN weekday IS "
                                    "NULL THEN NULL ELSE valid_from END, "
                                    "start FROM planned_stops WHERE id = ?1";
static const char SQL_PSTOP_END[] =
    "UPDATE planned_stops SET valid_to = ?2 WHERE id = ?1";
static const char SQL_PSTOP_DEL[] = "DELETE FROM planned_stops WHERE id = ?1";
static const char SQL_DAY_GET[] =
    "SELECT coalesce(line_id, 0), day, NULL FROM calendar_days WHERE id = ?1";
static const char SQL_DAY_DEL[] = "DELETE FROM calendar_days WHERE id = ?1";
static const char SQL_REASON_PUT[] =
    "INSERT INTO reasons(code, name, kind, planned, category) VALUES(?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT(code) DO UPDATE SET name = excluded.name, kind = excluded.kind, "
    "planned = excluded.planned, category = excluded.category";
static const char SQL_REASON_DELETE[] = "DELETE FROM reasons WHERE code = ?1";
static const char SQL_LINE_IDS[] = "SELECT 0 UNION ALL SELECT id FROM lines ORDER BY 1";
static const char SQL_SITE_SEEN[] = "INSERT OR IGNORE INTO sites(site) VALUES(?1)";
static const char SQL_SITE_NAME[] = "UPDATE sites SET name = ?2 WHERE site = ?1";
static const char SQL_SITES[] =
    ARRAY("SELECT json_object('site', s.site, 'name', s.name, 'agents', (SELECT count(*) "
          "FROM agents a WHERE a.site = s.site)) AS j FROM sites s ORDER BY s.site");
static const char SQL_DEVS[] =
    "SELECT dev FROM machines WHERE ?1 < 0 OR coalesce(line_id, 0) = ?1 ORDER BY dev";

static int run(struct db *db, sqlite3_stmt *st, const char *what);
static void bind_opt_text(sqlite3_stmt *st, int i, const char *s);

/* Steps st to its end; maps constraint failures to errno codes. */
static int run(struct db *db, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st), ext;

    while (rc == SQLITE_ROW)
        rc = sqlite3_step(st);
    ext = sqlite3_extended_errcode(sqlite3_db_handle(st));
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return 0;
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
        if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
            return -EEXIST;
        return -EINVAL;
    }
    return db_error(db, what);
}

static void bind_opt_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s == NULL || s[0] == '\0')
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

int dbm_json(struct db *db, enum dbm_view view, int64_t ikey, const char *skey,
             struct buf *out)
{
    static const char *const sql[] = {
        [DBM_LINES] = SQL_LINES,          [DBM_LINE] = SQL_LINE,
        [DBM_MACHINE] = SQL_MACHINE,      [DBM_PRODUCTS] = SQL_PRODUCTS,
        [DBM_PRODUCT] = SQL_PRODUCT,      [DBM_ORDERS] = SQL_ORDERS,
        [DBM_ORDER] = SQL_ORDER,          [DBM_ORDER_RUNS] = SQL_ORDER_RUNS_JSON,
        [DBM_OPERATORS] = SQL_OPERATORS,  [DBM_SHIFTS] = SQL_SHIFTS,
        [DBM_STOPS_PLANNED] = SQL_PSTOPS, [DBM_CAL_DAYS] = SQL_CAL_DAYS,
        [DBM_REASONS] = SQL_REASONS,      [DBM_REASON_AUDIT] = SQL_AUDIT,
        [DBM_SITES] = SQL_SITES,
    };
    sqlite3_stmt *st = db_cached(db, sql[view]);
    const unsigned char *s;
    int rc, n;

    if (st == NULL)
        return LB_E_DB;
    n = sqlite3_bind_parameter_count(st);
    if (n >= 1)
        sqlite3_bind_int64(st, 1, ikey);
    if (n >= 2)
        sqlite3_bind_text(st, 2, skey ? skey : "", -1, SQLITE_TRANSIENT);
    if (view == DBM_MACHINE)
        sqlite3_bind_text(st, 1, skey ? skey : "", -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && (s = sqlite3_column_text(st, 0)) != NULL)
        buf_puts(out, (const char *)s);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return -ENOENT;
    return rc == SQLITE_ROW ? 0 : db_error(db, "json view");
}

/* A statement whose one row is a JSON document: appended to out. */
static int step_json(struct db *db, sqlite3_stmt *st, struct buf *out, const char *what)
{
    const unsigned char *s;
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW && (s = sqlite3_column_text(st, 0)) != NULL)
        buf_puts(out, (const char *)s);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : db_error(db, what);
}

int dbm_intervals_json(struct db *db, const char *dev, int64_t from, int64_t to,
                       int only_unexplained, struct buf *out)
{
    sqlite3_stmt *st = db_cached(db, SQL_INTERVALS);

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, from);
    sqlite3_bind_int64(st, 3, to);
    sqlite3_bind_int(st, 4, only_unexplained);
    sqlite3_bind_int64(st, 5, to);
    return step_json(db, st, out, "intervals json");
}

int dbm_scans_json(struct db *db, const char *dev, int64_t from, int64_t to,
                   int64_t limit, struct buf *out)
{
    sqlite3_stmt *st = db_cached(db, SQL_SCANS);

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, from);
    sqlite3_bind_int64(st, 3, to);
    sqlite3_bind_int64(st, 4, limit);
    return step_json(db, st, out, "scans json");
}

int dbm_line_put(struct db *db, int64_t id, const char *name, const char *site,
                 int64_t now, int64_t *out_id)
{
    sqlite3_stmt *st = db_cached(db, id > 0 ? SQL_LINE_UPDATE : SQL_LINE_INSERT);
    int rc;

    if (st == NULL)
        return LB_E_DB;
    if (id > 0) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
        bind_opt_text(st, 3, site);
    } else {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
        bind_opt_text(st, 2, site);
        sqlite3_bind_int64(st, 3, now);
    }
    if ((rc = run(db, st, "line")) != 0)
        return rc;
    if (id > 0 && db_changes(db) == 0)
        return -ENOENT;
    *out_id = id > 0 ? id : db_last_rowid(db);
    return 0;
}

static int delete_by_id(struct db *db, const char *sql, int64_t id)
{
    sqlite3_stmt *st = db_cached(db, sql);
    int rc;

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_int64(st, 1, id);
    if ((rc = run(db, st, "delete")) != 0)
        return rc;
    return db_changes(db) == 0 ? -ENOENT : 0;
}

static int exists(struct db *db, const char *sql, int64_t id, const char *text)
{
    sqlite3_stmt *st = db_cached(db, sql);
    int rc;

    if (st == NULL)
        return LB_E_DB;
    if (text != NULL)
        sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? -ENOENT : db_error(db, "exists");
}

int dbm_line_delete(struct db *db, int64_t id)
{
    return delete_by_id(db, SQL_LINE_DELETE, id);
}

int dbm_line_exists(struct db *db, int64_t id)
{
    return exists(db, SQL_LINE_EXISTS, id, NULL);
}

int dbm_reason_exists(struct db *db, const char *code)
{
    return exists(db, SQL_REASON_EXISTS, 0, code);
}

int dbm_machine_exists(struct db *db, const char *dev)
{
    return exists(db, SQL_MACHINE_EXISTS, 0, dev);
}

int dbm_machine_put(struct db *db, const char *dev, struct dbm_opt name,
                    struct dbm_opt line_id, struct dbm_opt ideal_ms)
{
    sqlite3_stmt *st;
    int rc;

    if ((rc = dbm_machine_exists(db, dev)) != 0)
        return rc;
    if (name.has) {
        if ((st = db_cached(db, SQL_MACHINE_NAME)) == NULL)
            return LB_E_DB;
        sqlite3_bind_text(st, 1, dev, -1, SQLITE_TRANSIENT);
        bind_opt_text(st, 2, name.s);
        if ((rc = run(db, st, "machine name")) != 0)
            return rc;
    }
    if (line_id.has) {
        if ((st = db_cached(db, SQL_MACHINE_LINE)) == NULL)
            return LB_E_DB;
        sqlite3_bind_text(st, 1, dev, -1, SQLITE_TRANSIENT);
        if (line_id.i > 0)
            sqlite3_bind_int64(st, 2, line_id.i);
        if ((rc = run(db, st, "machine line")) != 0)
            return rc;
    }
    if (ideal_ms.has) {
        if ((st = db_cached(db, SQL_MACHINE_ICT)) == NULL)
            return LB_E_DB;
        sqlite3_bind_text(st, 1, dev, -1, SQLITE_TRANSIENT);
        if (ideal_ms.i > 0)
            sqlite3_bind_int64(st, 2, ideal_ms.i);
        if ((rc = run(db, st, "machine ideal")) != 0)
            return rc;
    }
    return 0;
}

int dbm_product_put(struct db *db, int64_t id, const char *code, const char *name,
                    int64_t ideal_ms, int64_t *out_id)
{
    sqlite3_stmt *st = db_cached(db, id > 0 ? SQL_PRODUCT_UPDATE : SQL_PRODUCT_INSERT);
    int k = id > 0 ? 2 : 1, rc;

    if (st == NULL)
        return LB_E_DB;
    if (id > 0)
        sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, k, code, -1, SQLITE_TRANSIENT);
    bind_opt_text(st, k + 1, name);
    if (ideal_ms > 0)
        sqlite3_bind_int64(st, k + 2, ideal_ms);
    if ((rc = run(db, st, "product")) != 0)
        return rc;
    if (id > 0 && db_changes(db) == 0)
        return -ENOENT;
    *out_id = id > 0 ? id : db_last_rowid(db);
    return 0;
}

int dbm_product_machine(struct db *db, int64_t product_id, const char *dev,
                        int64_t ideal_ms)
{
    sqlite3_stmt *st = db_cached(db, ideal_ms > 0 ? SQL_PM_SET : SQL_PM_DELETE);

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_int64(st, 1, product_id);
    sqlite3_bind_text(st, 2, dev, -1, SQLITE_TRANSIENT);
    if (ideal_ms > 0)
        sqlite3_bind_int64(st, 3, ideal_ms);
    return run(db, st, "product machine");
}

int dbm_product_delete(struct db *db, int64_t id)
{
    return delete_by_id(db, SQL_PRODUCT_DELETE, id);
}

int dbm_product_by_code(struct db *db, const char *code, int64_t *id)
{
    sqlite3_stmt *st = db_cached(db, SQL_PRODUCT_BY_CODE);
    int rc;

    *id = 0;
    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, code, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? -ENOENT : db_error(db, "product by code");
}

int dbm_order_put(struct db *db, int64_t id, const char *number, struct dbm_opt product,
                  struct dbm_opt quantity, struct dbm_opt due, struct dbm_opt status,
                  int upsert, int64_t now, int64_t *out_id, int *created)
{
    sqlite3_stmt *st;
    int rc;

    *created = 0;
    if (id == 0 && upsert && number != NULL) {
        if ((st = db_cached(db, SQL_ORDER_BY_NUMBER)) == NULL)
            return LB_E_DB;
        sqlite3_bind_text(st, 1, number, -1, SQLITE_TRANSIENT);
        if ((rc = sqlite3_step(st)) == SQLITE_ROW)
            id = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return db_error(db, "order by number");
    }
    if (id == 0) {
        if ((st = db_cached(db, SQL_ORDER_INSERT)) == NULL)
            return LB_E_DB;
        sqlite3_bind_text(st, 1, number, -1, SQLITE_TRANSIENT);
        if (product.has && product.i > 0)
            sqlite3_bind_int64(st, 2, product.i);
        if (quantity.has)
            sqlite3_bind_int64(st, 3, quantity.i);
        if (due.has && due.i >= 0)
            sqlite3_bind_int64(st, 4, due.i);
        if (status.has)
            bind_opt_text(st, 5, status.s);
        sqlite3_bind_int64(st, 6, now);
        if ((rc = run(db, st, "order insert")) != 0)
            return rc;
        *out_id = db_last_rowid(db);
        *created = 1;
        return 0;
    }
    if ((st = db_cached(db, SQL_ORDER_UPDATE)) == NULL)
        return LB_E_DB;
    sqlite3_bind_int64(st, 1, id);
    bind_opt_text(st, 2, number);
    if (product.has && product.i > 0)
        sqlite3_bind_int64(st, 3, product.i);
    sqlite3_bind_int64(st, 4, quantity.i);
    if (due.has && due.i >= 0)
        sqlite3_bind_int64(st, 5, due.i);
    bind_opt_text(st, 6, status.s);
    sqlite3_bind_int(st, 7, product.has);
    sqlite3_bind_int(st, 8, quantity.has);
    sqlite3_bind_int(st, 9, due.has);
    sqlite3_bind_int(st, 10, status.has);
    sqlite3_bind_int64(st, 11, now);
    if ((rc = run(db, st, "order update")) != 0)
        return rc;
    if (db_changes(db) == 0)
        return -ENOENT;
    *out_id = id;
    return 0;
}

int dbm_order_delete(struct db *db, int64_t id)
{
    return delete_by_id(db, SQL_ORDER_DELETE, id);
}

int dbm_order_head(struct db *db, int64_t id, int64_t *quantity, int64_t *due,
                   char *status, size_t size)
{
    sqlite3_stmt *st = db_cached(db, SQL_ORDER_HEAD);
    const unsigned char *s;
    int rc;

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *quantity = sqlite3_column_int64(st, 0);
        *due = sqlite3_column_int64(st, 1);
        s = sqlite3_column_text(st, 2);
        snprintf(status, size, "%s", s ? (const char *)s : "");
    }
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? -ENOENT : db_error(db, "order head");
}

int dbm_order_runs(struct db *db, int64_t order_id, struct dbm_run **runs, size_t *n)
{
    sqlite3_stmt *st = db_cached(db, SQL_ORDER_RUNS);
    struct dbm_run *v = NULL;
    size_t cap = 0;
    int rc;

    *runs = NULL;
    *n = 0;
    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_int64(st, 1, order_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (LB_GROW(v, &cap, *n, 8) != 0) {
            sqlite3_reset(st);
            free(v);
            return -ENOMEM;
        }
        snprintf(v[*n].dev, sizeof(v[*n].dev), "%s",
                 (const char *)sqlite3_column_text(st, 0));
        v[*n].start = sqlite3_column_int64(st, 1);
        v[*n].end = sqlite3_column_type(st, 2) == SQLITE_NULL
                        ? INT64_MAX
                        : sqlite3_column_int64(st, 2);
        (*n)++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        free(v);
        *n = 0;
        return db_error(db, "order runs");
    }
    *runs = v;
    return 0;
}

int dbm_run_start(struct db *db, int64_t order_id, const char *dev, int64_t t)
{
    sqlite3_stmt *st;
    int rc;

    if ((st = db_cached(db, SQL_RUN_CLOSE_DEV)) == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, dev, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, t);
    if ((rc = run(db, st, "run close")) != 0)
        return rc;
    if ((st = db_cached(db, SQL_RUN_INSERT)) == NULL)
        return LB_E_DB;
    sqlite3_bind_int64(st, 1, order_id);
    sqlite3_bind_text(st, 2, dev, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, t);
    if ((rc = run(db, st, "run start")) != 0)
        return rc == -EINVAL ? -ENOENT : rc;
    if ((st = db_cached(db, SQL_ORDER_RUNNING)) == NULL)
        return LB_E_DB;
    sqlite3_bind_int64(st, 1, order_id);
    sqlite3_bind_int64(st, 2, t);
    return run(db, st, "order running");
}

int dbm_run_stop(struct db *db, int64_t order_id, const char *dev, int64_t t,
                 int64_t *from)
{
    sqlite3_stmt *st = db_cached(db, SQL_RUN_OPEN);
    int64_t run_id = 0;
    int rc;

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_int64(st, 1, order_id);
    sqlite3_bind_text(st, 2, dev, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        run_id = sqlite3_column_int64(st, 0);
        *from = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return -ENOENT;
    if (rc != SQLITE_ROW)
        return db_error(db, "open run");
    if (t < *from)
        return -EINVAL;
    if ((st = db_cached(db, SQL_RUN_END)) == NULL)
        return LB_E_DB;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, t);
    return run(db, st, "run stop");
}

int dbm_operator_put(struct db *db, const char *badge, const char *name, int64_t *out_id)
{
    sqlite3_stmt *st = db_cached(db, SQL_OPERATOR_PUT);
    int rc;

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, badge, -1, SQLITE_TRANSIENT);
    bind_opt_text(st, 2, name);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out_id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : db_error(db, "operator");
}

int dbm_shift_add(struct db *db, int64_t line_id, const char *name, int weekday,
                  int start_min, int end_min, int64_t valid_from, int64_t valid_to,
                  int64_t *out_id)
{
    sqlite3_stmt *st = db_cached(db, SQL_SHIFT_INSERT);
    int rc;

    if (st == NULL)
        return LB_E_DB;
    if (line_id > 0)
        sqlite3_bind_int64(st, 1, line_id);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, weekday);
    sqlite3_bind_int(st, 4, start_min);
    sqlite3_bind_int(st, 5, end_min);
    sqlite3_bind_int64(st, 6, valid_from);
    if (valid_to != INT64_MAX)
        sqlite3_bind_int64(st, 7, valid_to);
    if ((rc = run(db, st, "shift")) != 0)
        return rc;
    *out_id = db_last_rowid(db);
    return 0;
}

int dbm_stop_add(struct db *db, int64_t line_id, const char *name, const char *kind,
                 int weekday, int start_min, int end_min, int64_t start_ms,
                 int64_t end_ms, int64_t valid_from, int64_t *out_id)
{
    sqlite3_stmt *st = db_cached(db, SQL_PSTOP_INSERT);
    int rc;

    if (st == NULL)
        return LB_E_DB;
    if (line_id > 0)
        sqlite3_bind_int64(st, 1, line_id);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, kind, -1, SQLITE_TRANSIENT);
    if (weekday >= 0) {
        sqlite3_bind_int(st, 4, weekday);
        sqlite3_bind_int(st, 5, start_min);
        sqlite3_bind_int(st, 6, end_min);
    } else {
        sqlite3_bind_int64(st, 7, start_ms);
        sqlite3_bind_int64(st, 8, end_ms);
    }
    sqlite3_bind_int64(st, 9, valid_from);
    if ((rc = run(db, st, "planned stop")) != 0)
        return rc;
    *out_id = db_last_rowid(db);
    return 0;
}

int dbm_day_add(struct db *db, int64_t line_id, int64_t day, int holiday,
                const char *name, int start_min, int end_min, int64_t *out_id)
{
    sqlite3_stmt *st = db_cached(db, SQL_DAY_INSERT);
    int rc;

    if (st == NULL)
        return LB_E_DB;
    if (line_id > 0)
        sqlite3_bind_int64(st, 1, line_id);
    sqlite3_bind_int64(st, 2, day);
    sqlite3_bind_text(st, 3, holiday ? "holiday" : "shift", -1, SQLITE_STATIC);
    bind_opt_text(st, 4, name);
    if (!holiday) {
        sqlite3_bind_int(st, 5, start_min);
        sqlite3_bind_int(st, 6, end_min);
    }
    if ((rc = run(db, st, "calendar day")) != 0)
        return rc;
    *out_id = db_last_rowid(db);
    return 0;
}

int dbm_calendar_end(struct db *db, const char *table, int64_t id, int64_t day,
                     int64_t *line_id, int64_t *affected_day, int64_t *affected_ms)
{
    const char *get, *end, *del;
    sqlite3_stmt *st;
    int64_t from = 0, start_ms = 0;
    int rc, has_from = 0, has_start = 0;

    *affected_day = *affected_ms = INT64_MIN;
    if (strcmp(table, "shifts") == 0) {
        get = SQL_SHIFT_GET;
        end = SQL_SHIFT_END;
        del = SQL_SHIFT_DEL;
    } else if (strcmp(table, "planned_stops") == 0) {
        get = SQL_PSTOP_GET;
        end = SQL_PSTOP_END;
        del = SQL_PSTOP_DEL;
    } else {
        get = SQL_DAY_GET;
        end = NULL;
        del = SQL_DAY_DEL;
    }
    if ((st = db_cached(db, get)) == NULL)
        return LB_E_DB;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *line_id = sqlite3_column_int64(st, 0);
        has_from = sqlite3_column_type(st, 1) != SQLITE_NULL;
        from = sqlite3_column_int64(st, 1);
        has_start = sqlite3_column_type(st, 2) != SQLITE_NULL;
        start_ms = sqlite3_column_int64(st, 2);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return -ENOENT;
    if (rc != SQLITE_ROW)
        return db_error(db, "calendar row");
    if (end == NULL || !has_from || from >= day) {
        /* A dated day, a one-off stop, or a row not yet in force by then:
         * it goes. */
        if (has_from)
            *affected_day = from;
        else if (has_start)
            *affected_ms = start_ms;
        return delete_by_id(db, del, id);
    }
    if ((st = db_cached(db, end)) == NULL)
        return LB_E_DB;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, day);
    *affected_day = day;
    return run(db, st, "calendar end");
}

int dbm_reason_put(struct db *db, const char *code, const char *name, const char *kind,
                   int planned, const char *category)
{
    sqlite3_stmt *st = db_cached(db, SQL_REASON_PUT);

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, code, -1, SQLITE_TRANSIENT);
    bind_opt_text(st, 2, name);
    sqlite3_bind_text(st, 3, kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 4, planned);
    sqlite3_bind_text(st, 5, category, -1, SQLITE_TRANSIENT);
    return run(db, st, "reason");
}

int dbm_reason_delete(struct db *db, const char *code)
{
    sqlite3_stmt *st = db_cached(db, SQL_REASON_DELETE);
    int rc;

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, code, -1, SQLITE_TRANSIENT);
    if ((rc = run(db, st, "reason delete")) != 0)
        return rc;
    return db_changes(db) == 0 ? -ENOENT : 0;
}

int dbm_line_ids(struct db *db, int64_t **ids, size_t *n)
{
    sqlite3_stmt *st = db_cached(db, SQL_LINE_IDS);
    int64_t *v = NULL;
    size_t cap = 0;
    int rc;

    *ids = NULL;
    *n = 0;
    if (st == NULL)
        return LB_E_DB;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (LB_GROW(v, &cap, *n, 16) != 0) {
            rc = -ENOMEM;
            break;
        }
        v[(*n)++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        free(v);
        *n = 0;
        return rc == -ENOMEM ? rc : db_error(db, "line ids");
    }
    *ids = v;
    return 0;
}

int dbm_site_seen(struct db *db, const char *site)
{
    sqlite3_stmt *st = db_cached(db, SQL_SITE_SEEN);

    if (st == NULL)
        return LB_E_DB;
    if (site == NULL || site[0] == '\0')
        return 0;
    sqlite3_bind_text(st, 1, site, -1, SQLITE_TRANSIENT);
    return run(db, st, "site");
}

int dbm_site_name(struct db *db, const char *site, const char *name)
{
    sqlite3_stmt *st = db_cached(db, SQL_SITE_NAME);
    int rc;

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_text(st, 1, site, -1, SQLITE_TRANSIENT);
    bind_opt_text(st, 2, name);
    if ((rc = run(db, st, "site name")) != 0)
        return rc;
    return db_changes(db) == 0 ? -ENOENT : 0;
}

int dbm_machines_of(struct db *db, int64_t line_id, char ***devs, size_t *n)
{
    sqlite3_stmt *st = db_cached(db, SQL_DEVS);
    char **v = NULL;
    size_t cap = 0;
    int rc;

    *devs = NULL;
    *n = 0;
    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_int64(st, 1, line_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (LB_GROW(v, &cap, *n, 16) != 0) {
            rc = -ENOMEM;
            break;
        }
        if ((v[*n] = strdup((const char *)sqlite3_column_text(st, 0))) == NULL) {
            rc = -ENOMEM;
            break;
        }
        (*n)++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        size_t i;

        for (i = 0; i < *n; i++)
            free(v[i]);
        free(v);
        *n = 0;
        return rc == -ENOMEM ? rc : db_error(db, "machines of scope");
    }
    *devs = v;
    return 0;
}

/* ---- operators (operators.c) ---------------------------------------------- */

static const char SQL_OPERATOR_HEAD[] =
    "SELECT badge, coalesce(name, '') FROM operators WHERE id = ?1";
/* Every open run: its shift decides where it ends (an operator has few). */
static const char SQL_OPERATOR_RUNS[] =
    "SELECT dev, start, end FROM operator_runs WHERE operator_id = ?1 AND start < ?3 "
    "AND (end IS NULL OR end > ?2) ORDER BY start, id";

int dbm_operator_head(struct db *db, int64_t id, char *badge, size_t bsize, char *name,
                      size_t nsize)
{
    sqlite3_stmt *st = db_cached(db, SQL_OPERATOR_HEAD);
    int rc;

    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(badge, bsize, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(name, nsize, "%s", (const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? -ENOENT : db_error(db, "operator");
}

int dbm_operator_runs(struct db *db, int64_t id, int64_t from, int64_t to,
                      struct dbm_run **runs, size_t *n)
{
    sqlite3_stmt *st = db_cached(db, SQL_OPERATOR_RUNS);
    struct dbm_run *v = NULL;
    size_t cap = 0;
    int rc;

    *runs = NULL;
    *n = 0;
    if (st == NULL)
        return LB_E_DB;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, from);
    sqlite3_bind_int64(st, 3, to);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (LB_GROW(v, &cap, *n, 8) != 0) {
            sqlite3_reset(st);
            free(v);
            *n = 0;
            return -ENOMEM;
        }
        snprintf(v[*n].dev, sizeof(v[*n].dev), "%s",
                 (const char *)sqlite3_column_text(st, 0));
        v[*n].start = sqlite3_column_int64(st, 1);
        v[*n].end = sqlite3_column_type(st, 2) == SQLITE_NULL
                        ? INT64_MAX
                        : sqlite3_column_int64(st, 2);
        (*n)++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        free(v);
        *n = 0;
        return db_error(db, "operator runs");
    }
    *runs = v;
    return 0;
}
