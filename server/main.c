/*
 * linebeat-server: ingest (MQTT -> SQLite) and the web server in one
 * process.  The main thread only starts the parts and waits for signals:
 * SIGTERM/SIGINT stop cleanly, SIGHUP re-reads the configuration (only
 * log_level applies without a restart).  Signals are blocked before any
 * thread starts, so only sigwait() here ever sees them.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "board.h"
#include "cli.h"
#include "config.h"
#include "db.h"
#include "db_backup.h"
#include "http.h"
#include "ingest.h"
#include "linebeat/error.h"
#include "linebeat/log.h"
#include "linebeat/sdnotify.h"
#include "plant.h"

static void usage(FILE *out);
static void print_errors(const struct lb_conf_errors *err);
static int check(const char *path, int verbose);
static void reload(const char *path, struct srv_conf *conf);

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: linebeat-server [-f] -c FILE\n"
        "       linebeat-server [-v] --check FILE\n"
        "       linebeat-server -c FILE --add-user NAME --role ROLE < password\n"
        "       linebeat-server -c FILE --passwd NAME < password\n"
        "       linebeat-server -c FILE --add-board-link NAME\n"
        "       linebeat-server -c FILE --backup COPY\n"
        "  -c, --config FILE  run with this configuration\n"
        "  --check FILE       validate FILE, print each problem as file:line: key: "
        "problem;\n"
        "                     exit 0 when valid, 1 otherwise (-v prints the result)\n"
        "  -f, --foreground   log to stderr instead of syslog\n"
        "  --add-user NAME    add a web user with --role viewer, supervisor, manager\n"
        "                     or admin; the password is read from standard input\n"
        "                     (asked twice, without echo, on a terminal)\n"
        "  --passwd NAME      set a web user's password the same way\n"
        "  --add-board-link NAME  make a read-only TV board link; prints its path\n"
        "  --backup COPY      copy the database, live, consistently, into COPY\n"
        "  -v, --verbose      with --check: print the effective configuration\n"
        "  -V, --version      print the version\n"
        "  -h, --help         this text\n"
        "configuration keys:\n");
    config_help(out);
}

static void print_errors(const struct lb_conf_errors *err)
{
    fputs(err->text, stderr);
    if (err->len > 0 && err->text[err->len - 1] != '\n')
        fputc('\n', stderr);
}

static int check(const char *path, int verbose)
{
    struct lb_conf_errors err;
    struct srv_conf conf;
    int rc;

    rc = config_load(path, &conf, &err);
    if (rc != 0) {
        print_errors(&err);
        return 1;
    }
    if (verbose)
        config_print(&conf, stdout);
    return 0;
}

/* SIGHUP: a new valid file replaces the log level; an invalid one changes
 * nothing (style.md 25). */
static void reload(const char *path, struct srv_conf *conf)
{
    struct lb_conf_errors err;
    struct srv_conf next;

    if (config_load(path, &next, &err) != 0) {
        log_warnx("reload: %s is invalid, keeping the running configuration:\n%s", path,
                  err.text);
        return;
    }
    if (next.server.log_level != conf->server.log_level) {
        log_setlevel(next.server.log_level);
        log_info("reload: log level now %d", next.server.log_level);
    }
    if (memcmp(&next.mqtt, &conf->mqtt, sizeof(next.mqtt)) != 0 ||
        strcmp(next.server.db, conf->server.db) != 0 ||
        strcmp(next.server.http_bind, conf->server.http_bind) != 0 ||
        next.server.http_port != conf->server.http_port ||
        next.server.http_threads != conf->server.http_threads ||
        strcmp(next.server.tls_cert, conf->server.tls_cert) != 0 ||
        strcmp(next.server.tls_key, conf->server.tls_key) != 0 ||
        next.server.trust_proxy != conf->server.trust_proxy ||
        next.server.session_idle_min != conf->server.session_idle_min ||
        next.server.session_max_h != conf->server.session_max_h ||
        strcmp(next.server.metrics_token, conf->server.metrics_token) != 0)
        log_warnx("reload: database, web and MQTT settings apply after a restart");
    conf->server.log_level = next.server.log_level;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", required_argument, NULL, 'n'},
        {"foreground", no_argument, NULL, 'f'},
        {"verbose", no_argument, NULL, 'v'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {"add-user", required_argument, NULL, 'U'},
        {"role", required_argument, NULL, 'R'},
        {"passwd", required_argument, NULL, 'P'},
        {"add-board-link", required_argument, NULL, 'B'},
        {"backup", required_argument, NULL, 'K'},
        {NULL, 0, NULL, 0}};
    const char *path = NULL, *check_path = NULL;
    const char *add_user = NULL, *role = NULL, *passwd = NULL, *board_link = NULL;
    const char *backup = NULL;
    struct lb_conf_errors err;
    struct srv_conf conf;
    struct db *db = NULL;
    struct ingest *ing = NULL;
    struct http *http = NULL;
    sigset_t sigs;
    int64_t wd_ms;
    int foreground = 0, verbose = 0, opt, sig, rc, status = EXIT_FAILURE;

    while ((opt = getopt_long(argc, argv, "c:fvVhn:", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 'n':
            check_path = optarg;
            break;
        case 'f':
            foreground = 1;
            break;
        case 'v':
            verbose = 1;
            break;
        case 'V':
            printf("linebeat-server %s\n", LB_VERSION);
            return EXIT_SUCCESS;
        case 'h':
            usage(stdout);
            return EXIT_SUCCESS;
        case 'U':
            add_user = optarg;
            break;
        case 'R':
            role = optarg;
            break;
        case 'P':
            passwd = optarg;
            break;
        case 'B':
            board_link = optarg;
            break;
        case 'K':
            backup = optarg;
            break;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (check_path != NULL)
        return check(check_path, verbose);
    if (path == NULL) {
        usage(stderr);
        return 2;
    }
    if ((rc = config_load(path, &conf, &err)) != 0) {
        print_errors(&err);
        return EXIT_FAILURE;
    }
    if ((add_user != NULL) + (passwd != NULL) + (board_link != NULL) > 1 ||
        (role != NULL && add_user == NULL)) {
        usage(stderr);
        return 2;
    }
    if (add_user != NULL || passwd != NULL || board_link != NULL) {
        log_init("linebeat-server", 1, LB_LOG_WARN);
        if (board_link != NULL)
            return cli_board_link(&conf, board_link);
        if (add_user != NULL && role == NULL) {
            fprintf(stderr, "linebeat-server: --add-user needs --role\n");
            return 2;
        }
        return cli_user(&conf, add_user ? add_user : passwd, role, passwd != NULL);
    }
    if (backup != NULL) {
        /* A process of its own, beside the running server (db_backup.h). */
        log_init("linebeat-server", 1, LB_LOG_WARN);
        return db_backup(conf.server.db, backup) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    if (auth_init() != 0) {
        fprintf(stderr, "linebeat-server: libsodium failed to initialise\n");
        return EXIT_FAILURE;
    }

    log_init("linebeat-server", foreground, conf.server.log_level);
    /* Before any thread: the plant's zone and thresholds are read-only
     * from here on (plant.h). */
    if ((rc = plant_set(conf.plant.timezone, conf.plant.day_start_min,
                        conf.plant.micro_stop_s, conf.plant.data_timeout_s)) != 0) {
        log_warnx("timezone %s: %s", conf.plant.timezone, lb_strerror(rc));
        return EXIT_FAILURE;
    }
    tzset(); /* "today" on the board is the local day of TZ */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    if ((rc = pthread_sigmask(SIG_BLOCK, &sigs, NULL)) != 0)
        fatalx("pthread_sigmask: %s", strerror(rc));

    /* The writer opens first: it creates the file and migrates the schema
     * before any reader looks at it. */
    if ((rc = db_open(conf.server.db, 0, &db)) != 0) {
        log_warnx("cannot open database %s: %s", conf.server.db, lb_strerror(rc));
        goto out;
    }
    if ((rc = ingest_start(&conf, &db, &ing)) != 0) {
        log_warnx("cannot start ingest: %s", lb_strerror(rc));
        goto out;
    }
    if ((rc = http_start(&conf, ing, &http)) != 0) {
        log_warnx("cannot start the web server: %s", lb_strerror(rc));
        goto out;
    }
    log_info("linebeat-server %s running", LB_VERSION);

    /* systemd (Type=notify): ready now; with WatchdogSec=, this thread
     * pings at half the interval between signals. */
    lb_sd_notify("READY=1");
    wd_ms = lb_sd_watchdog_ms() / 2;
    for (;;) {
        if (wd_ms > 0) {
            struct timespec ts = {.tv_sec = (time_t)(wd_ms / 1000),
                                  .tv_nsec = (long)(wd_ms % 1000) * 1000000L};

            lb_sd_notify("WATCHDOG=1");
            if ((sig = sigtimedwait(&sigs, NULL, &ts)) < 0) {
                if (errno == EAGAIN || errno == EINTR)
                    continue;
                log_warn("sigtimedwait");
                break;
            }
        } else if ((rc = sigwait(&sigs, &sig)) != 0) {
            log_warnx("sigwait: %s", strerror(rc));
            break;
        }
        if (sig == SIGHUP) {
            reload(path, &conf);
            continue;
        }
        log_info("signal %d: stopping", sig);
        break;
    }
    lb_sd_notify("STOPPING=1");
    status = EXIT_SUCCESS;
out:
    /* Web first (it reads), then ingest, which stores what is queued and
     * closes the writer last. */
    http_stop(http);
    board_stop();
    ingest_stop(ing);
    db_close(db);
    log_info("stopped");
    return status;
}
