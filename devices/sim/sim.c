/*
 * linebeat-sim: a simulated counting machine that speaks real Modbus TCP
 * through libmodbus's server API.  It makes one part per ideal cycle time
 * while running, some of them scrap, stops now and then for a random reason,
 * and publishes counters, state and reason codes at the addresses of a
 * profile (devices/profiles/sim.ini).  Tests pause it by writing the
 * profile's CONTROL value, or with SIGUSR1/SIGUSR2.
 *
 * One thread: pselect() over the listening socket and every client, with a
 * timeout that ends at the next production event on CLOCK_MONOTONIC.
 * Requests are cut into frames here, without blocking, and answered by
 * modbus_reply() from one modbus_mapping_t.
 * Signals are blocked except inside pselect(), so a handler (which only
 * sets a flag) can neither be missed nor interrupt libmodbus mid-frame.
 */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <modbus.h>

#include "linebeat/clock.h"
#include "linebeat/error.h"
#include "linebeat/log.h"
#include "linebeat/profile.h"

#define MAX_CLIENTS   128
#define MAP_MIN       1000 /* registers and bits per area, at least */
#define MAX_REASONS   16
#define SEND_TIMEOUT  1 /* s: a client that does not read its replies is dropped */
#define CATCHUP_LIMIT 100000000 /* parts made in one step; guards against a huge jump */

enum prod_state { PROD_RUNNING, PROD_DOWN, PROD_PAUSED };

struct opts {
    const char *bind;
    int port;
    const char *profile;
    int unit;
    int64_t cycle_ms;
    int64_t cavities; /* parts per cycle */
    double scrap_ratio;
    double mtbs, mtts;
    int width;      /* 0: as the profile says */
    int word_order; /* -1: as the profile says */
    uint64_t start;
    uint64_t seed;
    int seeded;
    int paused;
    int verbose;
    const char *pidfile;
    const char *rtu; /* serial device for Modbus RTU, or NULL */
    int pty;         /* RTU on a pseudo-terminal of our own */
    int baud;
};

/* A connection and the request frame it is sending, perhaps in pieces. */
struct client {
    int fd;
    size_t len; /* bytes of the current frame received so far */
    uint8_t buf[MODBUS_TCP_MAX_ADU_LENGTH];
};

struct sim {
    struct opts o;
    struct lb_profile prof;
    modbus_t *ctx; /* TCP */
    modbus_mapping_t *map;
    int listen_fd;
    modbus_t *rtu;      /* serves RTU requests */
    modbus_t *rtu_line; /* opened the serial line (--rtu): restores it on exit */
    int rtu_fd;         /* the serial line, or the pty's master side */
    int pty_slave;      /* held open so the master never sees a hang-up */
    char rtu_path[128];
    struct client clients[MAX_CLIENTS];
    size_t nclients;

    uint64_t rng_parts; /* scrap decisions: one draw per part, whatever the timing */
    uint64_t rng_stops; /* stop times, lengths and reasons */

    uint64_t good, scrap, total;     /* counters, masked to their width when written */
    uint64_t written[LB_ROLE_COUNT]; /* raw values last put into the map */
    int switch_on;                   /* run switch when the profile has no CONTROL */

    enum prod_state state;
    int64_t last_part;  /* monotonic ms the current cycle started */
    int64_t stop_at;    /* next random stop, 0 when none is due */
    int64_t stop_end;   /* end of the current stop */
    const char *reason; /* current stop reason, "" for none */
    size_t nreasons;
    const char *reasons[MAX_REASONS];
};

static volatile sig_atomic_t sig_quit, sig_pause, sig_resume, sig_reset;

static void usage(FILE *f);
static int parse_opts(int argc, char **argv, struct opts *o);
static int parse_u64(const char *s, uint64_t *out);
static int parse_num(const char *opt, const char *s, double min, double max, double *out);
static int parse_int(const char *opt, const char *s, int64_t min, int64_t max,
                     int64_t *out);
static void on_signal(int sig);
static int setup_signals(sigset_t *wait_mask);
static int setup_profile(struct sim *s);
static int state_code(const struct sim *s, enum lb_state st, const char *reason,
                      int64_t *code);
static int setup_map(struct sim *s);
static int setup_tcp(struct sim *s);
static int setup_rtu(struct sim *s);
static modbus_t *rtu_context(struct sim *s);
static int serve_rtu(struct sim *s);
static int write_pidfile(const char *path);
static uint64_t splitmix64(uint64_t *x);
static double rand_unit(uint64_t *x);
static int64_t rand_exp_ms(uint64_t *x, double mean_s);
static void map_regs(const struct sim *s, const struct lb_value *v, uint16_t **regs,
                     uint8_t **bits);
static void put_value(struct sim *s, enum lb_role r, uint64_t raw);
static uint64_t get_value(const struct sim *s, enum lb_role r);
static int run_switch(const struct sim *s);
static void set_switch(struct sim *s, int on);
static void adopt_writes(struct sim *s);
static void schedule_stop(struct sim *s, int64_t from);
static void make_parts(struct sim *s, int64_t until);
static void step(struct sim *s, int64_t now);
static void publish(struct sim *s);
static int64_t next_deadline(const struct sim *s);
static void accept_client(struct sim *s);
static int serve_client(struct sim *s, struct client *c);
static int answer(struct sim *s, struct client *c);
static void drop_client(struct sim *s, size_t i);
static const char *state_label(enum prod_state st);

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: linebeat-sim --port N --profile FILE [options]\n"
        "       linebeat-sim --pty|--rtu DEVICE --profile FILE [options]\n"
        "\n"
        "A simulated counting machine serving Modbus TCP (and RTU).\n"
        "\n"
        "  --port N           TCP port to listen on (required unless RTU is served;\n"
        "                     0 picks a free one, printed on the first line)\n"
        "  --bind ADDR        IPv4 address to listen on (default 127.0.0.1)\n"
        "  --profile FILE     register map, e.g. devices/profiles/sim.ini (required)\n"
        "  --unit N           unit id answered, 1-247 (default 1); 255 is answered\n"
        "                     too, other ids get exception 0x0B (gateway target)\n"
        "  --cycle-ms N       ideal cycle time in ms: one part per cycle (default 1000)\n"
        "  --cavities N       parts per cycle, as of a multi-cavity mould (default 1);\n"
        "                     with a short cycle, 16-bit counters wrap in seconds\n"
        "  --scrap-ratio R    share of parts that are scrap, 0..1 (default 0.02)\n"
        "  --mtbs S           mean seconds running between random stops; 0 never\n"
        "                     stops (default 0)\n"
        "  --mtts S           mean length of a stop in seconds (default 10)\n"
        "  --width 16|32      counters as u16 or u32, whatever the profile says\n"
        "  --word-order ORDER counters' byte/word order: ABCD, DCBA, BADC or CDAB\n"
        "  --start N          initial good and total counter (scrap starts at 0), to\n"
        "                     reach a wrap quickly\n"
        "  --seed N           seed of the random numbers (default: time and pid);\n"
        "                     the same seed gives the same scrap sequence\n"
        "  --paused           start with production paused (idle)\n"
        "  --pidfile FILE     write the pid there once listening; removed on exit\n"
        "  --rtu DEVICE       also serve Modbus RTU (8N1) on a serial device\n"
        "  --pty              serve Modbus RTU on a new pseudo-terminal; its path is\n"
        "                     printed: \"linebeat-sim: rtu on PATH unit N\"\n"
        "  --baud N           RTU speed (default 19200)\n"
        "  --verbose          log connections and state changes to stderr\n"
        "  --help             this text\n"
        "\n"
        "The profile's control value (sim.ini: holding register 10) is the run\n"
        "switch: write 1 to run, 0 to pause.  Writing a counter register sets that\n"
        "counter.  Signals: SIGUSR1 pauses, SIGUSR2 resumes, SIGHUP resets the\n"
        "counters to 0 (a power cycle), SIGTERM and SIGINT exit.\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (*end != '\0' || errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

static int parse_int(const char *opt, const char *s, int64_t min, int64_t max,
                     int64_t *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno == ERANGE || v < min || v > max) {
        fprintf(stderr,
                "linebeat-sim: --%s: '%s' is not a whole number from %" PRId64
                " to %" PRId64 "\n",
                opt, s, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_num(const char *opt, const char *s, double min, double max, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || errno == ERANGE || !isfinite(v) || v < min ||
        v > max) {
        fprintf(stderr, "linebeat-sim: --%s: '%s' is not a number from %g to %g\n", opt,
                s, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

/* Returns 0 to run, 1 after --help, -1 on a usage error (already printed). */
static int parse_opts(int argc, char **argv, struct opts *o)
{
    enum {
        O_PORT = 256,
        O_BIND,
        O_PROFILE,
        O_UNIT,
        O_CYCLE,
        O_CAVITIES,
        O_SCRAP,
        O_MTBS,
        O_MTTS,
        O_WIDTH,
        O_ORDER,
        O_START,
        O_SEED,
        O_PAUSED,
        O_PIDFILE,
        O_VERBOSE,
        O_RTU,
        O_PTY,
        O_BAUD,
        O_HELP
    };
    static const struct option longopts[] = {
        {"port", required_argument, NULL, O_PORT},
        {"bind", required_argument, NULL, O_BIND},
        {"profile", required_argument, NULL, O_PROFILE},
        {"unit", required_argument, NULL, O_UNIT},
        {"cycle-ms", required_argument, NULL, O_CYCLE},
        {"cavities", required_argument, NULL, O_CAVITIES},
        {"scrap-ratio", required_argument, NULL, O_SCRAP},
        {"mtbs", required_argument, NULL, O_MTBS},
        {"mtts", required_argument, NULL, O_MTTS},
        {"width", required_argument, NULL, O_WIDTH},
        {"word-order", required_argument, NULL, O_ORDER},
        {"start", required_argument, NULL, O_START},
        {"seed", required_argument, NULL, O_SEED},
        {"paused", no_argument, NULL, O_PAUSED},
        {"pidfile", required_argument, NULL, O_PIDFILE},
        {"verbose", no_argument, NULL, O_VERBOSE},
        {"rtu", required_argument, NULL, O_RTU},
        {"pty", no_argument, NULL, O_PTY},
        {"baud", required_argument, NULL, O_BAUD},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    struct in_addr addr;
    int64_t v;
    int c;

    memset(o, 0, sizeof(*o));
    o->bind = "127.0.0.1";
    o->unit = 1;
    o->cycle_ms = 1000;
    o->cavities = 1;
    o->scrap_ratio = 0.02;
    o->mtbs = 0;
    o->mtts = 10;
    o->word_order = -1;
    o->port = -1;
    o->baud = 19200;

    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case O_PORT:
            if (parse_int("port", optarg, 0, 65535, &v) != 0)
                return -1;
            o->port = (int)v;
            break;
        case O_BIND:
            /* modbus_tcp_listen takes IPv4 only, and inet_addr() would
             * silently turn a typo into 255.255.255.255. */
            if (inet_pton(AF_INET, optarg, &addr) != 1) {
                fprintf(stderr, "linebeat-sim: --bind: '%s' is not an IPv4 address\n",
                        optarg);
                return -1;
            }
            o->bind = optarg;
            break;
        case O_PROFILE:
            o->profile = optarg;
            break;
        case O_UNIT:
            if (parse_int("unit", optarg, 1, 247, &v) != 0)
                return -1;
            o->unit = (int)v;
            break;
        case O_CYCLE:
            if (parse_int("cycle-ms", optarg, 1, 86400000, &o->cycle_ms) != 0)
                return -1;
            break;
        case O_CAVITIES:
            if (parse_int("cavities", optarg, 1, 10000, &o->cavities) != 0)
                return -1;
            break;
        case O_SCRAP:
            if (parse_num("scrap-ratio", optarg, 0, 1, &o->scrap_ratio) != 0)
                return -1;
            break;
        case O_MTBS:
            if (parse_num("mtbs", optarg, 0, 1e7, &o->mtbs) != 0)
                return -1;
            break;
        case O_MTTS:
            if (parse_num("mtts", optarg, 0.001, 1e7, &o->mtts) != 0)
                return -1;
            break;
        case O_WIDTH:
            if (strcmp(optarg, "16") != 0 && strcmp(optarg, "32") != 0) {
                fprintf(stderr, "linebeat-sim: --width: '%s' is not 16 or 32\n", optarg);
                return -1;
            }
            o->width = atoi(optarg);
            break;
        case O_ORDER:
            for (int i = 0; i < 4; i++)
                if (strcmp(optarg, lb_order_name((enum lb_order)i)) == 0)
                    o->word_order = i;
            if (o->word_order < 0) {
                fprintf(stderr,
                        "linebeat-sim: --word-order: '%s' is not ABCD, DCBA, BADC or "
                        "CDAB\n",
                        optarg);
                return -1;
            }
            break;
        case O_START:
            if (parse_u64(optarg, &o->start) != 0) {
                fprintf(stderr, "linebeat-sim: --start: '%s' is not a whole number\n",
                        optarg);
                return -1;
            }
            break;
        case O_SEED:
            if (parse_u64(optarg, &o->seed) != 0) {
                fprintf(stderr, "linebeat-sim: --seed: '%s' is not a whole number\n",
                        optarg);
                return -1;
            }
            o->seeded = 1;
            break;
        case O_PAUSED:
            o->paused = 1;
            break;
        case O_PIDFILE:
            o->pidfile = optarg;
            break;
        case O_VERBOSE:
            o->verbose = 1;
            break;
        case O_RTU:
            o->rtu = optarg;
            break;
        case O_PTY:
            o->pty = 1;
            break;
        case O_BAUD:
            if (parse_int("baud", optarg, 300, 4000000, &v) != 0)
                return -1;
            o->baud = (int)v;
            break;
        case O_HELP:
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "linebeat-sim: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (o->rtu != NULL && o->pty) {
        fprintf(stderr, "linebeat-sim: --rtu and --pty exclude each other\n");
        return -1;
    }
    if ((o->port < 0 && o->rtu == NULL && !o->pty) || o->profile == NULL) {
        fprintf(stderr, "linebeat-sim: --port (or --rtu or --pty) and --profile are "
                        "required (see --help)\n");
        return -1;
    }
    return 0;
}

static void on_signal(int sig)
{
    switch (sig) {
    case SIGUSR1:
        sig_pause = 1;
        break;
    case SIGUSR2:
        sig_resume = 1;
        break;
    case SIGHUP:
        sig_reset = 1;
        break;
    default:
        sig_quit = 1;
        break;
    }
}

/* Blocks our signals and installs their handlers; OUT: wait_mask, the mask
 * pselect() opens while waiting. */
static int setup_signals(sigset_t *wait_mask)
{
    static const int sigs[] = {SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGHUP};
    struct sigaction sa;
    sigset_t block;

    sigemptyset(&block);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaddset(&block, sigs[i]);
    if (sigprocmask(SIG_BLOCK, &block, wait_mask) != 0)
        return -errno;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigdelset(wait_mask, sigs[i]);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (sigaction(sigs[i], &sa, NULL) != 0)
            return -errno;
    /* A client that hangs up while we reply must not kill the machine. */
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) != 0)
        return -errno;
    return 0;
}

/* The code the profile gives state st (with reason, when mapped). */
static int state_code(const struct sim *s, enum lb_state st, const char *reason,
                      int64_t *code)
{
    const struct lb_state_map *plain = NULL, *any = NULL;

    for (size_t i = 0; i < s->prof.nstates; i++) {
        const struct lb_state_map *m = &s->prof.states[i];

        if (m->state != st)
            continue;
        if (reason != NULL && reason[0] != '\0' && strcmp(m->reason, reason) == 0) {
            *code = m->code;
            return 0;
        }
        if (m->reason[0] == '\0' && plain == NULL)
            plain = m;
        if (any == NULL)
            any = m;
    }
    if (plain == NULL)
        plain = any;
    if (plain == NULL)
        return -1;
    *code = plain->code;
    return 0;
}

/* Loads the profile, applies --width and --word-order, and checks that it
 * gives the simulator what it needs. */
static int setup_profile(struct sim *s)
{
    struct lb_conf_errors err;
    struct lb_value *v = s->prof.values;
    int64_t code;
    int rc;

    memset(&err, 0, sizeof(err));
    rc = lb_profile_load(s->o.profile, &s->prof, &err);
    if (rc != 0) {
        fprintf(stderr, "%s", err.text);
        return -1;
    }
    for (int r = LB_ROLE_GOOD; r <= LB_ROLE_SCRAP; r++) {
        if (!v[r].present)
            continue;
        if (s->o.width != 0)
            v[r].type = s->o.width == 16 ? LB_T_U16 : LB_T_U32;
        if (s->o.word_order >= 0)
            v[r].order = (enum lb_order)s->o.word_order;
        if ((unsigned)v[r].address + lb_vtype_words(v[r].type) - 1 > 65535) {
            fprintf(stderr, "linebeat-sim: %s: %s at %u runs past address 65535\n",
                    lb_role_name((enum lb_role)r), lb_vtype_name(v[r].type),
                    v[r].address);
            return -1;
        }
    }
    if (v[LB_ROLE_STATE].present) {
        static const enum lb_state need[] = {LB_ST_RUNNING, LB_ST_IDLE, LB_ST_DOWN};

        for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
            if (need[i] == LB_ST_DOWN && s->o.mtbs == 0)
                continue;
            if (state_code(s, need[i], NULL, &code) != 0) {
                fprintf(stderr, "linebeat-sim: %s: [states] has no code for %s\n",
                        s->o.profile, lb_state_name(need[i]));
                return -1;
            }
        }
    }
    /* Stop reasons: those the state map or the reason map can express. */
    for (size_t i = 0; i < s->prof.nstates && s->nreasons < MAX_REASONS; i++)
        if (s->prof.states[i].state == LB_ST_DOWN && s->prof.states[i].reason[0] != '\0')
            s->reasons[s->nreasons++] = s->prof.states[i].reason;
    for (size_t i = 0; i < s->prof.nreasons && s->nreasons < MAX_REASONS; i++) {
        int dup = 0;

        for (size_t j = 0; j < s->nreasons; j++)
            dup |= strcmp(s->reasons[j], s->prof.reasons[i].reason) == 0;
        if (!dup)
            s->reasons[s->nreasons++] = s->prof.reasons[i].reason;
    }
    return 0;
}

/* One register map for every client and both protocols, large enough for
 * the profile's values. */
static int setup_map(struct sim *s)
{
    int n[4] = {MAP_MIN, MAP_MIN, MAP_MIN, MAP_MIN};

    for (int r = 0; r < LB_ROLE_COUNT; r++) {
        const struct lb_value *v = &s->prof.values[r];
        int end = v->address + (int)lb_vtype_words(v->type);

        if (v->present && end > n[v->area])
            n[v->area] = end;
    }
    s->map = modbus_mapping_new(n[LB_AREA_COIL], n[LB_AREA_DISCRETE], n[LB_AREA_HOLDING],
                                n[LB_AREA_INPUT]);
    if (s->map == NULL) {
        log_warnx("cannot allocate the register map: %s", modbus_strerror(errno));
        return -1;
    }
    return 0;
}

static int setup_tcp(struct sim *s)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int flags;

    s->ctx = modbus_new_tcp(s->o.bind, s->o.port);
    if (s->ctx == NULL) {
        log_warnx("modbus_new_tcp: %s", modbus_strerror(errno));
        return -1;
    }
    modbus_set_debug(s->ctx, 0);
    s->listen_fd = modbus_tcp_listen(s->ctx, 16);
    if (s->listen_fd < 0) {
        log_warnx("cannot listen on %s:%d: %s", s->o.bind, s->o.port,
                  modbus_strerror(errno));
        return -1;
    }
    /* Non-blocking, so that a connection reset between select() and
     * accept() cannot stall the machine. */
    flags = fcntl(s->listen_fd, F_GETFL);
    if (flags < 0 || fcntl(s->listen_fd, F_SETFL, flags | O_NONBLOCK) != 0 ||
        fcntl(s->listen_fd, F_SETFD, FD_CLOEXEC) != 0) {
        log_warn("fcntl");
        return -1;
    }
    if (s->listen_fd >= FD_SETSIZE) {
        log_warnx("listening socket %d beyond FD_SETSIZE", s->listen_fd);
        return -1;
    }
    /* With --port 0 the kernel chose; tell the caller which. */
    if (getsockname(s->listen_fd, (struct sockaddr *)&sin, &len) != 0) {
        log_warn("getsockname");
        return -1;
    }
    s->o.port = ntohs(sin.sin_port);
    return 0;
}

/*
 * Modbus RTU on a serial device (--rtu) or on a pseudo-terminal we create
 * (--pty).  A serial line has one master, so libmodbus's blocking receive
 * (which waits for the rest of a frame) stalls nobody else there; TCP
 * clients wait at most the byte timeout.  For a pty, libmodbus gets the
 * master side as its descriptor and never opens a device: the client opens
 * the printed slave path, and its raw termios settings apply to the pair.
 */
static int setup_rtu(struct sim *s)
{
    struct termios t;
    int master = -1;

    if (s->o.pty) {
        if (openpty(&master, &s->pty_slave, s->rtu_path, NULL, NULL) != 0) {
            log_warn("openpty");
            return -1;
        }
        s->rtu_fd = master;
        /* Raw until the client sets its own mode: no echo of our replies,
         * no newline translation of binary frames. */
        if (tcgetattr(s->pty_slave, &t) != 0) {
            log_warn("tcgetattr");
            return -1;
        }
        cfmakeraw(&t);
        if (tcsetattr(s->pty_slave, TCSANOW, &t) != 0 ||
            fcntl(master, F_SETFD, FD_CLOEXEC) != 0 ||
            fcntl(s->pty_slave, F_SETFD, FD_CLOEXEC) != 0) {
            log_warn("pty setup");
            return -1;
        }
    } else {
        snprintf(s->rtu_path, sizeof(s->rtu_path), "%s", s->o.rtu);
    }
    s->rtu = rtu_context(s);
    if (s->rtu == NULL)
        return -1;
    if (s->o.pty) {
        modbus_set_socket(s->rtu, master);
    } else {
        if (modbus_connect(s->rtu) != 0) {
            log_warnx("cannot open %s: %s", s->rtu_path, modbus_strerror(errno));
            return -1;
        }
        s->rtu_fd = modbus_get_socket(s->rtu);
        s->rtu_line = s->rtu;
    }
    if (s->rtu_fd >= FD_SETSIZE) {
        log_warnx("serial descriptor %d beyond FD_SETSIZE", s->rtu_fd);
        return -1;
    }
    return 0;
}

/* A libmodbus RTU server context for our unit; NULL after logging why. */
static modbus_t *rtu_context(struct sim *s)
{
    modbus_t *ctx = modbus_new_rtu(s->rtu_path, s->o.baud, 'N', 8, 1);

    if (ctx == NULL || modbus_set_slave(ctx, s->o.unit) != 0) {
        log_warnx("RTU on %s: %s", s->rtu_path, modbus_strerror(errno));
        if (ctx != NULL)
            modbus_free(ctx);
        return NULL;
    }
    modbus_set_debug(ctx, 0);
    /* Bounds libmodbus's wait for another unit's reply (see serve_rtu). */
    if (modbus_set_response_timeout(ctx, 0, 100000) != 0) {
        log_warnx("RTU timeout: %s", modbus_strerror(errno));
        modbus_free(ctx);
        return NULL;
    }
    return ctx;
}

/* Answers one RTU request.  A bad frame (CRC, timeout) is dropped and the
 * line flushed; returns -1 only when the line itself failed. */
static int serve_rtu(struct sim *s)
{
    uint8_t query[MODBUS_RTU_MAX_ADU_LENGTH];
    int rc;

    rc = modbus_receive(s->rtu, query);
    if (rc == 0) {
        modbus_t *fresh;

        /* A request for another unit on the bus.  libmodbus (3.1.6) now
         * takes the next frame for that unit's reply and drops it, whatever
         * it is; when that unit is silent, the next frame is a request for
         * us, which a real device would answer.  A fresh context on the
         * same line forgets the expectation. */
        fresh = rtu_context(s);
        if (fresh == NULL)
            return -1;
        modbus_set_socket(fresh, s->rtu_fd);
        if (s->rtu != s->rtu_line) {
            modbus_set_socket(s->rtu, -1);
            modbus_free(s->rtu);
        }
        s->rtu = fresh;
        return 0;
    }
    if (rc < 0) {
        if (errno == EIO || errno == EBADF || errno == ENXIO) {
            log_warnx("RTU on %s: %s", s->rtu_path, modbus_strerror(errno));
            return -1;
        }
        if (s->o.verbose)
            log_info("RTU: %s", modbus_strerror(errno));
        modbus_flush(s->rtu);
        return 0;
    }
    if (modbus_reply(s->rtu, query, rc, s->map) < 0) {
        if (s->o.verbose)
            log_info("RTU reply: %s", modbus_strerror(errno));
        return 0;
    }
    switch (query[1]) {
    case MODBUS_FC_WRITE_SINGLE_COIL:
    case MODBUS_FC_WRITE_SINGLE_REGISTER:
    case MODBUS_FC_WRITE_MULTIPLE_COILS:
    case MODBUS_FC_WRITE_MULTIPLE_REGISTERS:
    case MODBUS_FC_MASK_WRITE_REGISTER:
    case MODBUS_FC_WRITE_AND_READ_REGISTERS:
        adopt_writes(s);
        break;
    default:
        break;
    }
    return 0;
}

static int write_pidfile(const char *path)
{
    FILE *f = fopen(path, "w");
    int rc = 0;

    if (f == NULL)
        return -errno;
    if (fprintf(f, "%ld\n", (long)getpid()) < 0)
        rc = -EIO;
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    return rc;
}

/* splitmix64 (Steele, Lea, Flood 2014): small, fast and well mixed; enough
 * for a simulator and the same on every platform, unlike rand(). */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rand_unit(uint64_t *x)
{
    return (double)(splitmix64(x) >> 11) * (1.0 / 9007199254740992.0);
}

/* An exponentially distributed duration with the given mean, at least 1 ms. */
static int64_t rand_exp_ms(uint64_t *x, double mean_s)
{
    double ms = -mean_s * 1000.0 * log(1.0 - rand_unit(x));

    if (ms < 1)
        return 1;
    if (ms > 1e12)
        return (int64_t)1e12;
    return (int64_t)ms;
}

/* Where value v lives in the map: OUT: regs or bits (the other NULL). */
static void map_regs(const struct sim *s, const struct lb_value *v, uint16_t **regs,
                     uint8_t **bits)
{
    *regs = NULL;
    *bits = NULL;
    switch (v->area) {
    case LB_AREA_COIL:
        *bits = s->map->tab_bits + v->address;
        break;
    case LB_AREA_DISCRETE:
        *bits = s->map->tab_input_bits + v->address;
        break;
    case LB_AREA_INPUT:
        *regs = s->map->tab_input_registers + v->address;
        break;
    case LB_AREA_HOLDING:
    default:
        *regs = s->map->tab_registers + v->address;
        break;
    }
}

static void put_value(struct sim *s, enum lb_role r, uint64_t raw)
{
    const struct lb_value *v = &s->prof.values[r];
    uint16_t w[4], *regs;
    uint8_t *bits;

    if (!v->present)
        return;
    lb_value_encode(v, raw, w);
    lb_value_decode(v, w, &s->written[r]); /* raw as a reader will see it */
    map_regs(s, v, &regs, &bits);
    if (bits != NULL)
        bits[0] = w[0] != 0;
    else
        memcpy(regs, w, lb_vtype_words(v->type) * sizeof(uint16_t));
}

static uint64_t get_value(const struct sim *s, enum lb_role r)
{
    const struct lb_value *v = &s->prof.values[r];
    uint16_t w[4] = {0, 0, 0, 0}, *regs;
    uint8_t *bits;
    uint64_t raw = 0;

    map_regs(s, v, &regs, &bits);
    if (bits != NULL)
        w[0] = bits[0];
    else
        memcpy(w, regs, lb_vtype_words(v->type) * sizeof(uint16_t));
    lb_value_decode(v, w, &raw);
    return raw;
}

/* The run switch lives in the map when the profile has a CONTROL value, so
 * that clients read back what they (or a signal) last set. */
static int run_switch(const struct sim *s)
{
    if (s->prof.values[LB_ROLE_CONTROL].present)
        return get_value(s, LB_ROLE_CONTROL) != 0;
    return s->switch_on;
}

static void set_switch(struct sim *s, int on)
{
    s->switch_on = on;
    put_value(s, LB_ROLE_CONTROL, (uint64_t)on);
}

/* A client wrote a counter register: the machine takes it, as a counter
 * preset from an HMI would.  Tests use it to make resets. */
static void adopt_writes(struct sim *s)
{
    uint64_t *c[3] = {&s->good, &s->total, &s->scrap};
    enum lb_role roles[3] = {LB_ROLE_GOOD, LB_ROLE_TOTAL, LB_ROLE_SCRAP};

    for (int i = 0; i < 3; i++) {
        uint64_t now;

        if (!s->prof.values[roles[i]].present)
            continue;
        now = get_value(s, roles[i]);
        if (now != s->written[roles[i]]) {
            if (s->o.verbose)
                log_info("%s set to %" PRIu64 " by a client", lb_role_name(roles[i]),
                         now);
            *c[i] = now;
            s->written[roles[i]] = now;
        }
    }
}

static void schedule_stop(struct sim *s, int64_t from)
{
    s->stop_at = s->o.mtbs > 0 ? from + rand_exp_ms(&s->rng_stops, s->o.mtbs) : 0;
}

/* Makes every part whose cycle ended by `until`; the remainder of the
 * current cycle carries over, so parts never drift from the ideal rate. */
static void make_parts(struct sim *s, int64_t until)
{
    int64_t n = (until - s->last_part) / s->o.cycle_ms;

    if (n <= 0)
        return;
    s->last_part += n * s->o.cycle_ms;
    n *= s->o.cavities;
    if (n > CATCHUP_LIMIT)
        n = CATCHUP_LIMIT;
    for (int64_t i = 0; i < n; i++) {
        if (rand_unit(&s->rng_parts) < s->o.scrap_ratio)
            s->scrap++;
        else
            s->good++;
        s->total++;
    }
}

static const char *state_label(enum prod_state st)
{
    switch (st) {
    case PROD_RUNNING:
        return "running";
    case PROD_DOWN:
        return "down";
    case PROD_PAUSED:
    default:
        return "idle";
    }
}

/* Advances production to `now`, passing through every stop that began or
 * ended on the way, then publishes. */
static void step(struct sim *s, int64_t now)
{
    enum prod_state before = s->state;

    if (!run_switch(s)) {
        s->state = PROD_PAUSED;
        s->stop_at = 0;
        s->reason = "";
    } else {
        if (s->state == PROD_PAUSED) {
            /* A restarted machine begins a fresh cycle. */
            s->state = PROD_RUNNING;
            s->last_part = now;
            schedule_stop(s, now);
        }
        for (;;) {
            if (s->state == PROD_RUNNING) {
                if (s->stop_at == 0 || s->stop_at > now) {
                    make_parts(s, now);
                    break;
                }
                make_parts(s, s->stop_at);
                s->state = PROD_DOWN;
                s->stop_end = s->stop_at + rand_exp_ms(&s->rng_stops, s->o.mtts);
                s->reason = s->nreasons > 0
                                ? s->reasons[splitmix64(&s->rng_stops) % s->nreasons]
                                : "";
                s->stop_at = 0;
            } else {
                if (s->stop_end > now)
                    break;
                s->state = PROD_RUNNING;
                s->last_part = s->stop_end;
                s->reason = "";
                schedule_stop(s, s->stop_end);
            }
        }
    }
    if (s->o.verbose && s->state != before)
        log_info("%s%s%s (good %" PRIu64 ", scrap %" PRIu64 ")", state_label(s->state),
                 s->reason[0] ? ": " : "", s->reason, s->good, s->scrap);
    publish(s);
}

/* Writes counters, state, reason and cycle into the map. */
static void publish(struct sim *s)
{
    static const enum lb_state wire_state[] = {[PROD_RUNNING] = LB_ST_RUNNING,
                                               [PROD_DOWN] = LB_ST_DOWN,
                                               [PROD_PAUSED] = LB_ST_IDLE};
    const struct lb_value *cyc = &s->prof.values[LB_ROLE_CYCLE];
    int64_t code = 0;

    put_value(s, LB_ROLE_GOOD, s->good);
    put_value(s, LB_ROLE_TOTAL, s->total);
    put_value(s, LB_ROLE_SCRAP, s->scrap);
    if (state_code(s, wire_state[s->state], s->reason, &code) == 0)
        put_value(s, LB_ROLE_STATE, (uint64_t)code);
    code = 0;
    for (size_t i = 0; i < s->prof.nreasons; i++)
        if (s->state == PROD_DOWN && strcmp(s->prof.reasons[i].reason, s->reason) == 0)
            code = s->prof.reasons[i].code;
    put_value(s, LB_ROLE_REASON, (uint64_t)code);
    if (cyc->present) {
        /* The register holds the ideal cycle time in ms divided by scale. */
        double x = (double)s->o.cycle_ms / cyc->scale;
        uint64_t raw;

        if (cyc->type == LB_T_F32) {
            float f = (float)x;
            uint32_t bits;

            memcpy(&bits, &f, sizeof(bits));
            raw = bits;
        } else {
            raw = (uint64_t)(int64_t)llround(x);
        }
        put_value(s, LB_ROLE_CYCLE, raw);
    }
}

/* The next moment production changes, or -1 when nothing is due. */
static int64_t next_deadline(const struct sim *s)
{
    int64_t d = -1;

    if (s->state == PROD_RUNNING) {
        d = s->last_part + s->o.cycle_ms;
        if (s->stop_at != 0 && s->stop_at < d)
            d = s->stop_at;
    } else if (s->state == PROD_DOWN) {
        d = s->stop_end;
    }
    return d;
}

static void accept_client(struct sim *s)
{
    struct timeval tv = {SEND_TIMEOUT, 0};
    struct client *c;
    int fd;

    fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
        /* EAGAIN (the peer gave up), ECONNABORTED, EMFILE: keep serving the
         * others.  modbus_tcp_accept would close the listener here. */
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            log_warn("accept");
        return;
    }
    if (s->nclients == MAX_CLIENTS || fd >= FD_SETSIZE) {
        log_warnx("too many clients, refusing one");
        close(fd);
        return;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
        log_warn("setsockopt SO_SNDTIMEO");
    c = &s->clients[s->nclients++];
    c->fd = fd;
    c->len = 0;
    if (s->o.verbose)
        log_info("client %d connected (%zu now)", fd, s->nclients);
}

static void drop_client(struct sim *s, size_t i)
{
    if (s->o.verbose)
        log_info("client %d gone", s->clients[i].fd);
    close(s->clients[i].fd);
    s->clients[i] = s->clients[--s->nclients];
}

/*
 * Reads what the client sent, and answers each complete request.  The
 * frames are cut here by the MBAP header's length field, without
 * blocking: modbus_receive() would wait up to the byte timeout for the
 * rest of a partial frame, and in a single-threaded server one slow or
 * broken client would stall every other.  Returns -1 when the client must
 * be dropped (closed, error, or not speaking Modbus TCP).
 */
static int serve_client(struct sim *s, struct client *c)
{
    /* A few frames per wake-up, so a client that streams requests cannot
     * starve the others. */
    for (int frames = 0; frames < 16;) {
        size_t need = 7; /* MBAP header: transaction, protocol, length, unit */
        ssize_t n;

        if (c->len >= 7) {
            unsigned proto = (unsigned)c->buf[2] << 8 | c->buf[3];
            unsigned len = (unsigned)c->buf[4] << 8 | c->buf[5];

            /* len counts the unit id and the PDU: at least a function code. */
            if (proto != 0 || len < 2 || len > MODBUS_TCP_MAX_ADU_LENGTH - 6) {
                if (s->o.verbose)
                    log_info("client %d: not a Modbus TCP frame", c->fd);
                return -1;
            }
            need = 6 + len;
        }
        if (c->len == need) {
            if (answer(s, c) != 0)
                return -1;
            c->len = 0;
            frames++;
            continue;
        }
        n = recv(c->fd, c->buf + c->len, need - c->len, MSG_DONTWAIT);
        if (n == 0)
            return -1;
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return 0;
            if (s->o.verbose && errno != ECONNRESET)
                log_info("client %d: %s", c->fd, strerror(errno));
            return -1;
        }
        c->len += (size_t)n;
    }
    return 0;
}

/* Answers the complete frame in c->buf through libmodbus. */
static int answer(struct sim *s, struct client *c)
{
    int unit = c->buf[6], fn = c->buf[7];
    int rc;

    /* modbus_reply reads a request's fields where its function code says
     * they are; bytes past a short frame must be zeros, not a previous
     * request's. */
    memset(c->buf + c->len, 0, sizeof(c->buf) - c->len);
    modbus_set_socket(s->ctx, c->fd);
    /* 255 is what the Modbus TCP spec asks clients of a directly attached
     * device to send; any other id is another device behind a gateway. */
    if (unit != s->o.unit && unit != 255) {
        rc = modbus_reply_exception(s->ctx, c->buf, MODBUS_EXCEPTION_GATEWAY_TARGET);
        return rc < 0 ? -1 : 0;
    }
    rc = modbus_reply(s->ctx, c->buf, (int)c->len, s->map);
    if (rc < 0) {
        if (s->o.verbose)
            log_info("client %d: reply: %s", c->fd, modbus_strerror(errno));
        return -1;
    }
    switch (fn) {
    case MODBUS_FC_WRITE_SINGLE_COIL:
    case MODBUS_FC_WRITE_SINGLE_REGISTER:
    case MODBUS_FC_WRITE_MULTIPLE_COILS:
    case MODBUS_FC_WRITE_MULTIPLE_REGISTERS:
    case MODBUS_FC_MASK_WRITE_REGISTER:
    case MODBUS_FC_WRITE_AND_READ_REGISTERS:
        adopt_writes(s);
        break;
    default:
        break;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct sim *s = NULL;
    sigset_t wait_mask;
    int exit_code = 1, pid_written = 0, rc;

    log_init("linebeat-sim", 1, LB_LOG_INFO);
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        fprintf(stderr, "linebeat-sim: out of memory\n");
        return 1;
    }
    s->listen_fd = -1;
    s->rtu_fd = -1;
    s->pty_slave = -1;
    rc = parse_opts(argc, argv, &s->o);
    if (rc != 0) {
        exit_code = rc > 0 ? 0 : 2;
        goto out;
    }
    if (setup_profile(s) != 0)
        goto out;
    if (!s->o.seeded)
        s->o.seed = (uint64_t)lb_wall_ms() ^ ((uint64_t)getpid() << 32);
    s->rng_parts = s->o.seed;
    s->rng_stops = s->o.seed ^ UINT64_C(0x5bd1e9955bd1e995);
    if (setup_signals(&wait_mask) != 0) {
        log_warn("signals");
        goto out;
    }
    if (setup_map(s) != 0)
        goto out;
    if (s->o.port >= 0 && setup_tcp(s) != 0)
        goto out;
    if ((s->o.rtu != NULL || s->o.pty) && setup_rtu(s) != 0)
        goto out;

    s->good = s->total = s->o.start;
    s->scrap = 0;
    s->state = PROD_PAUSED;
    s->reason = "";
    set_switch(s, !s->o.paused);
    step(s, lb_mono_ms());

    if (s->o.pidfile != NULL) {
        rc = write_pidfile(s->o.pidfile);
        if (rc != 0) {
            log_warnx("pidfile %s: %s", s->o.pidfile, strerror(-rc));
            goto out;
        }
        pid_written = 1;
    }
    if ((s->listen_fd >= 0 && printf("linebeat-sim: listening on %s:%d unit %d\n",
                                     s->o.bind, s->o.port, s->o.unit) < 0) ||
        (s->rtu != NULL &&
         printf("linebeat-sim: rtu on %s unit %d\n", s->rtu_path, s->o.unit) < 0) ||
        fflush(stdout) != 0) {
        log_warn("stdout");
        goto out;
    }
    if (s->o.verbose)
        log_info("seed %" PRIu64 ", cycle %" PRId64 " ms", s->o.seed, s->o.cycle_ms);

    while (!sig_quit) {
        struct timespec ts, *tsp = NULL;
        fd_set rd;
        int64_t now, deadline;
        int maxfd = s->listen_fd > s->rtu_fd ? s->listen_fd : s->rtu_fd, n;

        if (sig_pause) {
            sig_pause = 0;
            set_switch(s, 0);
        }
        if (sig_resume) {
            sig_resume = 0;
            set_switch(s, 1);
        }
        if (sig_reset) {
            sig_reset = 0;
            s->good = s->total = s->scrap = 0;
            if (s->o.verbose)
                log_info("counters reset");
        }
        now = lb_mono_ms();
        step(s, now);
        deadline = next_deadline(s);
        if (deadline >= 0) {
            int64_t wait = deadline > now ? deadline - now : 0;

            ts.tv_sec = (time_t)(wait / 1000);
            ts.tv_nsec = (long)(wait % 1000) * 1000000L;
            tsp = &ts;
        }

        FD_ZERO(&rd);
        if (s->listen_fd >= 0)
            FD_SET(s->listen_fd, &rd);
        if (s->rtu_fd >= 0)
            FD_SET(s->rtu_fd, &rd);
        for (size_t i = 0; i < s->nclients; i++) {
            FD_SET(s->clients[i].fd, &rd);
            if (s->clients[i].fd > maxfd)
                maxfd = s->clients[i].fd;
        }
        n = pselect(maxfd + 1, &rd, NULL, NULL, tsp, &wait_mask);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_warn("pselect");
            goto out;
        }
        if (n == 0)
            continue;
        /* Bring the counters up to the moment of the request. */
        step(s, lb_mono_ms());
        for (size_t i = 0; i < s->nclients;) {
            if (FD_ISSET(s->clients[i].fd, &rd) && serve_client(s, &s->clients[i]) != 0) {
                drop_client(s, i); /* moves the last client into slot i */
                continue;
            }
            i++;
        }
        if (s->listen_fd >= 0 && FD_ISSET(s->listen_fd, &rd))
            accept_client(s);
        if (s->rtu_fd >= 0 && FD_ISSET(s->rtu_fd, &rd) && serve_rtu(s) != 0)
            goto out;
    }
    exit_code = 0;
out:
    if (s->o.verbose && exit_code == 0)
        log_info("exiting");
    while (s->nclients > 0)
        drop_client(s, s->nclients - 1);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    if (s->ctx != NULL) {
        /* The listening socket is ours to close; libmodbus only holds the
         * last client's descriptor, closed above. */
        modbus_set_socket(s->ctx, -1);
        modbus_free(s->ctx);
    }
    if (s->rtu != NULL && s->rtu != s->rtu_line) {
        modbus_set_socket(s->rtu, -1); /* the line is closed below */
        modbus_free(s->rtu);
    }
    if (s->rtu_line != NULL) {
        modbus_close(s->rtu_line); /* restores the line's settings */
        modbus_free(s->rtu_line);
    }
    if (s->o.pty && s->rtu_fd >= 0)
        close(s->rtu_fd);
    if (s->pty_slave >= 0)
        close(s->pty_slave);
    if (s->map != NULL)
        modbus_mapping_free(s->map);
    if (pid_written && unlink(s->o.pidfile) != 0)
        log_warn("unlink %s", s->o.pidfile);
    free(s);
    return exit_code;
}
