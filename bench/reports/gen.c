/*
 * Report benchmark data: a year (or DAYS) of MACHINES machines on lines of
 * 20 with two or three shifts on weekdays, breaks, and realistic stops --
 * runs of about 35 minutes, then a micro-stop (half of them), a short stop
 * with or without a reason, or a long one -- counting two parts every 5 s
 * while running (ideal 2500 ms, so near 100 % performance, a few events of
 * one part), 2 % scrap.  Outside shifts the machines stand idle.
 *
 * It writes what ingest would have written for that history: the intervals
 * (judged as rollup.c judges them), the per-minute rows, and the hour and
 * day rows split by the same calendar code (calendar.c, roll_classify).
 * Raw events are not written: the reports read rollups, and the raw events
 * of a year (1.26 billion for 200 machines) add only disk.
 *
 * usage: lb-bench-gen DB [MACHINES [DAYS [MINUTE_DAYS]]]
 *   MINUTE_DAYS: per-minute rows for the last so many days (default: all)
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "calendar.h"
#include "db.h"
#include "linebeat/clock.h"
#include "plant.h"
#include "rollup.h"
#include "tz.h"

#define MIN_MS   60000LL
#define HOUR_MS  3600000LL
#define ICT_MS   2500
#define PER_LINE 20

static uint64_t rng = 88172645463325252ULL;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double frand(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

static int64_t expo(double mean)
{
    double u = frand();

    if (u < 1e-12)
        u = 1e-12;
    return (int64_t)(-mean * log(u));
}

static sqlite3 *h;

static void exec(const char *sql)
{
    char *err = NULL;

    if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, err);
        exit(1);
    }
}

static sqlite3_stmt *prep(const char *sql)
{
    sqlite3_stmt *st;

    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(h));
        exit(1);
    }
    return st;
}

static void step(sqlite3_stmt *st)
{
    if (sqlite3_step(st) != SQLITE_DONE) {
        fprintf(stderr, "step: %s\n", sqlite3_errmsg(h));
        exit(1);
    }
    sqlite3_reset(st);
}

static const char *const reasons[] = {"jam",     "material", "tool",
                                      "quality", "operator", "pm"};

struct piece {
    int64_t s, e;
    const char *state;
    const char *reason;
    int cat, nstop, nmicro;
};

int main(int argc, char **argv)
{
    const char *path;
    int machines = 200, days = 365, minute_days, m, i, k;
    struct calendar cal[2];
    struct cal_shift sh[2][15];
    struct cal_stop br[2];
    const struct cal_clock *ck;
    struct cal_seg *segs[2];
    size_t nsegs[2];
    int64_t end, start, nmin, *mv;
    sqlite3_stmt *st_ivl, *st_min, *st_hour, *st_day, *st_track, *st_machine;
    struct piece *pc = NULL;
    size_t npc, cappc = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s DB [MACHINES [DAYS [MINUTE_DAYS]]]\n", argv[0]);
        return 2;
    }
    path = argv[1];
    if (argc > 2)
        machines = atoi(argv[2]);
    if (argc > 3)
        days = atoi(argv[3]);
    minute_days = argc > 4 ? atoi(argv[4]) : days;
    if (plant_set("Europe/Berlin", 6 * 60, 120, 180) != 0)
        return 1;
    ck = &plant_get()->clock;

    /* The schema comes from the server itself: open it once as a writer. */
    if (access(path, F_OK) == 0) {
        fprintf(stderr, "%s exists; generate into a new file\n", path);
        return 1;
    }
    {
        struct db *db = NULL;

        if (db_open(path, 0, &db) != 0)
            return 1;
        db_close(db);
    }
    if (sqlite3_open(path, &h) != SQLITE_OK)
        return 1;
    exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA cache_size = "
         "-200000;");

    end = tz_floordiv(lb_wall_ms(), MIN_MS) * MIN_MS;
    start = cal_day_start(ck, cal_prod_day(ck, end) - days);
    nmin = (end - start) / MIN_MS;

    /* Two calendars: lines 1, 3, 5.. two shifts, the others three. */
    for (k = 0; k < 2; k++) {
        int n = 0, wd;

        for (wd = 1; wd <= 5; wd++) {
            int s;

            for (s = 0; s < 2 + k; s++) {
                memset(&sh[k][n], 0, sizeof(sh[k][n]));
                sh[k][n].id = 100 * k + n + 1;
                sh[k][n].weekday = wd;
                sh[k][n].start_min = 360 + s * 480;
                sh[k][n].end_min = (360 + (s + 1) * 480) % 1440;
                sh[k][n].valid_from = -1000000;
                sh[k][n].valid_to = CAL_OPEN;
                snprintf(sh[k][n].name, sizeof(sh[k][n].name), "%s",
                         s == 0   ? "Early"
                         : s == 1 ? "Late"
                                  : "Night");
                n++;
            }
        }
        memset(&br[k], 0, sizeof(br[k]));
        br[k].weekday = 0;
        br[k].start_min = 12 * 60;
        br[k].end_min = 12 * 60 + 30;
        br[k].valid_from = -1000000;
        br[k].valid_to = CAL_OPEN;
        snprintf(br[k].name, sizeof(br[k].name), "Lunch");
        memset(&cal[k], 0, sizeof(cal[k]));
        cal[k].shifts = sh[k];
        cal[k].nshifts = (size_t)n;
        cal[k].stops = &br[k];
        cal[k].nstops = 1;
        if (cal_expand(&cal[k], ck, start, end, &segs[k], &nsegs[k]) != 0)
            return 1;
    }

    exec("BEGIN");
    exec("INSERT INTO agents(agent, site) VALUES('gen', 'plant')");
    exec("INSERT INTO reasons(code, planned, category) VALUES('jam', 0, 'breakdown'),"
         "('material', 0, 'material'), ('tool', 0, 'breakdown'), ('quality', 0, "
         "'quality'),"
         "('operator', 0, 'organisation'), ('pm', 1, 'maintenance')");
    for (i = 0; i < (machines + PER_LINE - 1) / PER_LINE; i++) {
        char sql[512];
        int n, wd;

        k = i % 2;
        snprintf(sql, sizeof(sql), "INSERT INTO lines(id, name) VALUES(%d, 'Line %d')",
                 i + 1, i + 1);
        exec(sql);
        for (n = 0, wd = 1; wd <= 5; wd++) {
            int s;

            for (s = 0; s < 2 + k; s++, n++) {
                snprintf(sql, sizeof(sql),
                         "INSERT INTO shifts(line_id, name, weekday, start_min, end_min) "
                         "VALUES(%d, '%s', %d, %d, %d)",
                         i + 1, sh[k][n].name, wd, sh[k][n].start_min, sh[k][n].end_min);
                exec(sql);
            }
        }
        snprintf(sql, sizeof(sql),
                 "INSERT INTO planned_stops(line_id, name, weekday, start_min, end_min) "
                 "VALUES(%d, 'Lunch', 0, 720, 750)",
                 i + 1);
        exec(sql);
    }
    exec("COMMIT");

    st_machine =
        prep("INSERT INTO machines(dev, agent, profile, ideal_cycle_ms, first_seen, "
             "line_id, state, state_since, last_seen) VALUES(?1, 'gen', 'sim', 2500, "
             "?2, ?3, 'idle', ?4, ?4)");
    st_ivl =
        prep("INSERT INTO intervals(dev, start, end, state, reason, cat, nstop, nmicro) "
             "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    st_min =
        prep("INSERT INTO roll_minute(dev, t, good, scrap, ideal, noict, run, micro, "
             "setup, down, unexpl, mstop, stops, micros) VALUES(?1, ?2, ?3, ?4, ?5, ?6, "
             "?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
    st_hour =
        prep("INSERT INTO roll_hour(dev, t, good, scrap, ideal, noict, run, micro, "
             "setup, down, unexpl, mstop, stops, micros, brk, off, orun, ogood, oscrap) "
             "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
             "?16, ?17, ?18, ?19)");
    st_day =
        prep("INSERT INTO roll_day(dev, day, good, scrap, ideal, noict, run, micro, "
             "setup, down, unexpl, mstop, stops, micros, brk, off, orun, ogood, oscrap) "
             "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
             "?16, ?17, ?18, ?19)");
    st_track = prep("INSERT INTO tracks(dev, start, state, last, maxlen) "
                    "VALUES(?1, ?2, 'idle', ?2, ?3)");
    if ((mv = malloc((size_t)nmin * RC_NMIN * sizeof(*mv))) == NULL)
        return 1;

    for (m = 0; m < machines; m++) {
        char dev[16];
        int line = m / PER_LINE + 1, cl = (line - 1) % 2;
        const struct cal_seg *sg = segs[cl];
        size_t ns = nsegs[cl];
        int64_t t = start, maxlen = 0, hv[RC_N], dv[RC_N], hour_key, day_key, day_end;
        size_t p;

        snprintf(dev, sizeof(dev), "m%03d", m + 1);
        memset(mv, 0, (size_t)nmin * RC_NMIN * sizeof(*mv));
        npc = 0;
        /* The timeline: idle outside shifts, runs and stops inside. */
        while (t < end) {
            long si = cal_find(sg, ns, t);
            int in_shift = si >= 0 && sg[si].cls != CAL_O;
            struct piece x;

            memset(&x, 0, sizeof(x));
            x.s = t;
            if (!in_shift) {
                /* Idle until the next shift, which starts a few minutes late. */
                int64_t nx = end;
                size_t j;

                for (j = si >= 0 ? (size_t)si : 0; j < ns; j++)
                    if (sg[j].cls != CAL_O && sg[j].start > t) {
                        nx = sg[j].start + (int64_t)(rnd() % 10) * MIN_MS;
                        break;
                    }
                x.e = nx > t + MIN_MS ? nx : t + MIN_MS;
                x.state = "idle";
            } else if (npc > 0 && strcmp(pc[npc - 1].state, "running") == 0) {
                double u = frand();

                if (u < 0.5) {
                    x.e = t + 20000 + (int64_t)(rnd() % 80000); /* micro-stop */
                    x.state = "idle";
                } else if (u < 0.85) {
                    x.e = t + 3 * MIN_MS + (int64_t)(rnd() % (12 * MIN_MS));
                    x.state = "down";
                    x.reason = frand() < 0.7 ? reasons[rnd() % 5] : NULL;
                } else {
                    x.e = t + 20 * MIN_MS + (int64_t)(rnd() % (70 * MIN_MS));
                    x.state = "down";
                    x.reason = reasons[rnd() % 6];
                }
            } else {
                x.e = t + 60000 + expo(35.0 * 60000);
                x.state = "running";
            }
            if (x.e > end)
                x.e = end;
            /* Judge it as rollup.c does (each stop is one interval here). */
            if (strcmp(x.state, "running") == 0) {
                x.cat = CAT_RUN;
            } else if (x.e - x.s < 120000) {
                x.cat = CAT_MICRO;
                x.nmicro = 1;
            } else if (x.reason == NULL) {
                x.cat = CAT_UNEXPL;
                x.nstop = 1;
            } else if (strcmp(x.reason, "pm") == 0) {
                x.cat = CAT_MSTOP;
            } else {
                x.cat = CAT_DOWN;
                x.nstop = 1;
            }
            if (npc == cappc) {
                cappc = cappc ? cappc * 2 : 4096;
                if ((pc = realloc(pc, cappc * sizeof(*pc))) == NULL)
                    return 1;
            }
            pc[npc++] = x;
            if (x.e - x.s > maxlen)
                maxlen = x.e - x.s;
            t = x.e;
        }

        /* Minutes: time of each category, counts every 5 s while running. */
        for (p = 0; p < npc; p++) {
            const struct piece *x = &pc[p];
            static const int col[CAT_N] = {-1,      RC_RUN,    RC_MICRO, RC_SETUP,
                                           RC_DOWN, RC_UNEXPL, RC_MSTOP};
            int64_t a;

            for (a = x->s; a < x->e;) {
                int64_t mi = (a - start) / MIN_MS, b = start + (mi + 1) * MIN_MS;

                if (b > x->e)
                    b = x->e;
                mv[mi * RC_NMIN + col[x->cat]] += b - a;
                a = b;
            }
            mv[((x->s - start) / MIN_MS) * RC_NMIN + RC_STOPS] += x->nstop;
            mv[((x->s - start) / MIN_MS) * RC_NMIN + RC_MICROS] += x->nmicro;
            if (x->cat == CAT_RUN) {
                int64_t ev;

                for (ev = x->s + 5000; ev <= x->e; ev += 5000) {
                    int64_t mi = (ev - start) / MIN_MS, parts = frand() < 0.1 ? 1 : 2;
                    int64_t sc = frand() < 0.02 ? 1 : 0;

                    if (mi >= nmin)
                        continue;
                    mv[mi * RC_NMIN + RC_GOOD] += parts - sc;
                    mv[mi * RC_NMIN + RC_SCRAP] += sc;
                    mv[mi * RC_NMIN + RC_IDEAL] += parts * ICT_MS;
                }
            }
        }

        exec("BEGIN");
        sqlite3_bind_text(st_machine, 1, dev, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st_machine, 2, start);
        sqlite3_bind_int(st_machine, 3, line);
        sqlite3_bind_int64(st_machine, 4, end);
        step(st_machine);
        for (p = 0; p < npc; p++) {
            sqlite3_bind_text(st_ivl, 1, dev, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st_ivl, 2, pc[p].s);
            sqlite3_bind_int64(st_ivl, 3, pc[p].e);
            sqlite3_bind_text(st_ivl, 4, pc[p].state, -1, SQLITE_STATIC);
            if (pc[p].reason)
                sqlite3_bind_text(st_ivl, 5, pc[p].reason, -1, SQLITE_STATIC);
            else
                sqlite3_bind_null(st_ivl, 5);
            sqlite3_bind_int(st_ivl, 6, pc[p].cat);
            sqlite3_bind_int(st_ivl, 7, pc[p].nstop);
            sqlite3_bind_int(st_ivl, 8, pc[p].nmicro);
            step(st_ivl);
        }
        sqlite3_bind_text(st_track, 1, dev, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st_track, 2, end);
        sqlite3_bind_int64(st_track, 3, maxlen);
        step(st_track);
        /* The open interval the track points at. */
        sqlite3_bind_text(st_ivl, 1, dev, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st_ivl, 2, end);
        sqlite3_bind_null(st_ivl, 3);
        sqlite3_bind_text(st_ivl, 4, "idle", -1, SQLITE_STATIC);
        sqlite3_bind_null(st_ivl, 5);
        sqlite3_bind_null(st_ivl, 6);
        sqlite3_bind_int(st_ivl, 7, 0);
        sqlite3_bind_int(st_ivl, 8, 0);
        step(st_ivl);

        /* Minute rows, and the hour and day rows split by the calendar. */
        memset(hv, 0, sizeof(hv));
        memset(dv, 0, sizeof(dv));
        hour_key = tz_floordiv(start, HOUR_MS) * HOUR_MS;
        day_key = cal_prod_day(ck, start);
        day_end = cal_day_start(ck, day_key + 1);
        for (int64_t mi = 0; mi <= nmin; mi++) {
            int64_t t_m = start + mi * MIN_MS, *v = mv + mi * RC_NMIN;
            long si;
            int c;

            if (mi == nmin || tz_floordiv(t_m, HOUR_MS) * HOUR_MS != hour_key) {
                sqlite3_bind_text(st_hour, 1, dev, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st_hour, 2, hour_key);
                for (c = 0; c < RC_N; c++)
                    sqlite3_bind_int64(st_hour, 3 + c, hv[c]);
                step(st_hour);
                memset(hv, 0, sizeof(hv));
                hour_key = tz_floordiv(t_m, HOUR_MS) * HOUR_MS;
            }
            if (mi == nmin || t_m >= day_end) {
                sqlite3_bind_text(st_day, 1, dev, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st_day, 2, day_key);
                for (c = 0; c < RC_N; c++)
                    sqlite3_bind_int64(st_day, 3 + c, dv[c]);
                step(st_day);
                memset(dv, 0, sizeof(dv));
                day_key = cal_prod_day(ck, t_m);
                day_end = cal_day_start(ck, day_key + 1);
            }
            if (mi == nmin)
                break;
            if (t_m >= end - (int64_t)minute_days * 86400000LL) {
                sqlite3_bind_text(st_min, 1, dev, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st_min, 2, t_m);
                for (c = 0; c < RC_NMIN; c++)
                    sqlite3_bind_int64(st_min, 3 + c, v[c]);
                step(st_min);
            }
            si = cal_find(sg, ns, t_m);
            roll_classify(v, si < 0 ? CAL_O : sg[si].cls, hv);
            roll_classify(v, si < 0 ? CAL_O : sg[si].cls, dv);
        }
        exec("COMMIT");
        if ((m + 1) % 20 == 0) {
            fprintf(stderr, "%d machines\n", m + 1);
        }
    }
    sqlite3_finalize(st_machine);
    sqlite3_finalize(st_ivl);
    sqlite3_finalize(st_min);
    sqlite3_finalize(st_hour);
    sqlite3_finalize(st_day);
    sqlite3_finalize(st_track);
    /* The per-line day sums, as ingest keeps them. */
    exec("INSERT INTO roll_line_day SELECT coalesce(m.line_id, 0), d.day, sum(d.good), "
         "sum(d.scrap), sum(d.ideal), sum(d.noict), sum(d.run), sum(d.micro), "
         "sum(d.setup), "
         "sum(d.down), sum(d.unexpl), sum(d.mstop), sum(d.stops), sum(d.micros), "
         "sum(d.brk), "
         "sum(d.off), sum(d.orun), sum(d.ogood), sum(d.oscrap) FROM roll_day d "
         "JOIN machines m ON m.dev = d.dev GROUP BY 1, 2");
    exec("ANALYZE");
    exec("PRAGMA wal_checkpoint(TRUNCATE)");
    sqlite3_close(h);
    free(mv);
    free(pc);
    free(segs[0]);
    free(segs[1]);
    printf("{\"machines\":%d,\"days\":%d,\"from\":%" PRId64 ",\"to\":%" PRId64 "}\n",
           machines, days, start, end);
    return 0;
}
