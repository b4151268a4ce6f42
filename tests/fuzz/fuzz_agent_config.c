/*
 * libFuzzer target for the agent's config loader (agent/config.c on the
 * conf engine and the profile reader).  Each input becomes agent.ini in a
 * private temporary directory that also holds profiles/test.ini, so inputs
 * with "profiles_dir = profiles" reach the profile loading too.
 *
 * Promises checked: the loader returns 0 or LB_E_CONFIG; a rejected file
 * says why, every line naming a file of ours; an accepted one obeys every
 * documented rule (absolute directories, resolved idle and down times,
 * reconnect bounds, url scheme, topic prefix, a counter in every profile);
 * and its normalised print loads again to the same print.  A broken
 * promise aborts, which libFuzzer reports.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "linebeat/error.h"
#include "linebeat/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *detail) __attribute__((noreturn));
static void setup(void);
static void cleanup(void);
static void put(const char *file, const void *data, size_t size);
static char *print(const struct agent_conf *c);
static void check_accepted(const struct agent_conf *c);
static void check_rejected(const struct lb_conf_errors *err);
static void check_reload(const struct agent_conf *c);

static const char profile[] = "[profile]\nname = test\nkind = generic\n"
                              "[good]\narea = holding\naddress = 0\ntype = u32\n"
                              "[scrap]\narea = holding\naddress = 2\ntype = u16\n";

static char dir[64] = "";
static char conf_path[128], again_path[128], prof_dir[128], prof_path[160];
static struct agent_conf *conf, *conf2;
static struct lb_conf_errors *errs;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_agent_config: %s: %s\n", what, detail ? detail : "");
    abort();
}

static void cleanup(void)
{
    unlink(conf_path);
    unlink(again_path);
    unlink(prof_path);
    rmdir(prof_dir);
    rmdir(dir);
}

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/lb-fuzz-conf-XXXXXX");
    if (mkdtemp(dir) == NULL)
        die("mkdtemp", dir);
    snprintf(conf_path, sizeof(conf_path), "%s/agent.ini", dir);
    snprintf(again_path, sizeof(again_path), "%s/again.ini", dir);
    snprintf(prof_dir, sizeof(prof_dir), "%s/profiles", dir);
    snprintf(prof_path, sizeof(prof_path), "%s/test.ini", prof_dir);
    if (mkdir(prof_dir, 0700) != 0)
        die("mkdir", prof_dir);
    put(prof_path, profile, sizeof(profile) - 1);
    atexit(cleanup);
    conf = calloc(1, sizeof(*conf));
    conf2 = calloc(1, sizeof(*conf2));
    errs = calloc(1, sizeof(*errs));
    if (conf == NULL || conf2 == NULL || errs == NULL)
        die("out of memory", NULL);
}

static void put(const char *file, const void *data, size_t size)
{
    FILE *f = fopen(file, "w");

    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        die("writing", file);
}

static char *print(const struct agent_conf *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (f == NULL)
        die("open_memstream", NULL);
    agent_conf_print(c, f);
    if (fclose(f) != 0)
        die("open_memstream", NULL);
    return buf;
}

static void check_accepted(const struct agent_conf *c)
{
    const char *p = c->prefix;
    size_t plen = strlen(p);

    if (!lb_id_valid(c->id) || !lb_id_valid(c->site))
        die("accepted an invalid id", c->id);
    if (c->state_dir[0] != '/' || c->profiles_dir[0] != '/')
        die("a directory is not absolute", c->state_dir);
    if (c->log_level < 0 || c->log_level > 3)
        die("bad log level", NULL);
    if (c->reconnect_max_ms < c->reconnect_min_ms)
        die("reconnect_max_ms < reconnect_min_ms", NULL);
    if (strncmp(c->url, "tcp://", 6) != 0 && strncmp(c->url, "ssl://", 6) != 0 &&
        strncmp(c->url, "mqtt://", 7) != 0 && strncmp(c->url, "mqtts://", 8) != 0)
        die("accepted a bad url", c->url);
    if (plen == 0 || strpbrk(p, "+#") != NULL || p[0] == '/' || p[plen - 1] == '/' ||
        strstr(p, "//") != NULL)
        die("accepted a bad prefix", p);
    if (c->nmachines > AGENT_MAX_MACHINES)
        die("too many machines", NULL);
    for (size_t i = 0; i < c->nmachines; i++) {
        const struct machine_conf *m = &c->machines[i];

        if (!lb_id_valid(m->id) || !lb_id_valid(m->profile) ||
            (m->link == LINK_RTU ? m->device[0] : m->host[0]) == '\0')
            die("accepted a bad machine", m->id);
        if (m->timeout_ms <= 0 || (m->link == LINK_RTU && (m->unit < 1 || m->unit > 247)))
            die("accepted a bad link", m->id);
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->machines[j].id, m->id) == 0)
                die("accepted a repeated machine", m->id);
        if (m->line <= 0)
            die("machine without a line", m->id);
        if (m->idle_after_ms <= 0 || m->down_after_ms <= m->idle_after_ms)
            die("idle/down not resolved", m->id);
        if (!m->prof.values[LB_ROLE_GOOD].present &&
            !m->prof.values[LB_ROLE_TOTAL].present)
            die("accepted a profile without a counter", m->profile);
    }
}

static void check_rejected(const struct lb_conf_errors *err)
{
    size_t n = strlen(dir);

    if (err->count <= 0 || err->text[0] == '\0')
        die("rejected without a reason", NULL);
    if (err->len != strlen(err->text))
        die("error length out of step", NULL);
    /* Every line names the config or a profile, both inside dir (the
     * buffer may cut the last line anywhere). */
    for (const char *l = err->text; *l != '\0';) {
        const char *nl = strchr(l, '\n');
        size_t k = n;

        if (nl == NULL && strlen(l) < n)
            k = strlen(l);
        if (strncmp(l, dir, k) != 0)
            die("message without a file name", l);
        if (nl == NULL)
            break;
        l = nl + 1;
    }
}

/* The normalised print is a config that loads to itself.  Only when every
 * line fits the reader: a resolved directory can be longer than what the
 * user wrote, past the INI reader's line limit. */
static void check_reload(const struct agent_conf *c)
{
    char *first = print(c), *second;
    const char *l = first;
    int rc;

    while (*l != '\0') {
        const char *nl = strchr(l, '\n');

        if ((nl ? (size_t)(nl - l) : strlen(l)) > 190)
            goto out;
        if (nl == NULL)
            break;
        l = nl + 1;
    }
    put(again_path, first, strlen(first));
    memset(errs, 0, sizeof(*errs));
    memset(conf2, 0, sizeof(*conf2));
    rc = agent_conf_load(again_path, conf2, errs);
    if (rc != 0) {
        fprintf(stderr, "%s---\n%s", first, errs->text);
        die("the normalised print does not load", NULL);
    }
    second = print(conf2);
    if (strcmp(first, second) != 0) {
        fprintf(stderr, "%s---\n%s", first, second);
        die("the normalised print is not stable", NULL);
    }
    free(second);
out:
    free(first);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int rc;

    if (dir[0] == '\0')
        setup();
    put(conf_path, data, size);
    memset(errs, 0, sizeof(*errs));
    memset(conf, 0, sizeof(*conf));
    rc = agent_conf_load(conf_path, conf, errs);
    if (rc == 0) {
        if (errs->count != 0)
            die("accepted with errors", errs->text);
        check_accepted(conf);
        check_reload(conf);
    } else if (rc == LB_E_CONFIG) {
        check_rejected(errs);
    } else {
        die("unexpected return code", lb_strerror(rc));
    }
    return 0;
}
