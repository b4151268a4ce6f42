/*
 * agent/config.c against golden files: every tests/config/NN-name.ini is
 * loaded from that directory, and its messages (NN-name.err) or, when it
 * is valid, its normalised print (NN-name.ok) must match byte for byte.
 * The directory's absolute path, which the loader puts into resolved
 * directories, is written $DIR in the golden files.
 *
 * LB_UPDATE_GOLDEN=1 rewrites the golden files and docs/agent-config.md
 * from the current output instead of comparing: review the diff.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "linebeat/error.h"

static char *slurp(const char *path);
static int spit(const char *path, const char *text);
static char *replace_all(const char *text, const char *from, const char *to);
static char *conf_output(const char *path, int *rc);
static int cmp_names(const void *a, const void *b);
static int golden_one(const char *ini);
static int write_tmp(char *tmpl, const char *text);
static int setup(void **state);
static int teardown(void **state);
static void test_golden(void **state);
static void test_print_reloads(void **state);
static void test_resolved_values(void **state);
static void test_relative_to_file(void **state);
static void test_missing_file(void **state);
static void test_too_many_machines(void **state);
static void test_errors_accumulate(void **state);
static void test_help_is_docs(void **state);

static char g_dir[PATH_MAX]; /* absolute tests/config */
static char g_src[PATH_MAX]; /* LB_SOURCE_DIR */
static int g_update;
static struct agent_conf *g_conf;

/* agent_conf_load wants zeroed memory, as from calloc. */
static int load(const char *path, struct agent_conf *c, struct lb_conf_errors *err)
{
    memset(c, 0, sizeof(*c));
    return agent_conf_load(path, c, err);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t len = 0;
    FILE *mem;
    int ch;

    if (f == NULL)
        return NULL;
    mem = open_memstream(&buf, &len);
    assert_non_null(mem);
    while ((ch = fgetc(f)) != EOF)
        fputc(ch, mem);
    fclose(mem);
    fclose(f);
    return buf;
}

static int spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (f == NULL)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static char *replace_all(const char *text, const char *from, const char *to)
{
    size_t flen = strlen(from);
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    const char *p;

    assert_non_null(mem);
    while ((p = strstr(text, from)) != NULL) {
        fwrite(text, 1, (size_t)(p - text), mem);
        fputs(to, mem);
        text = p + flen;
    }
    fputs(text, mem);
    fclose(mem);
    return buf;
}

/* The messages when path is invalid, else its normalised print; with the
 * test directory written as $DIR. */
static char *conf_output(const char *path, int *rc)
{
    struct lb_conf_errors err;
    char *buf = NULL, *out;
    size_t len = 0;
    FILE *mem;

    memset(&err, 0, sizeof(err));
    *rc = load(path, g_conf, &err);
    if (*rc == 0) {
        assert_int_equal(err.count, 0);
        mem = open_memstream(&buf, &len);
        assert_non_null(mem);
        agent_conf_print(g_conf, mem);
        fclose(mem);
    } else {
        assert_true(err.count > 0);
        buf = strdup(err.text);
        assert_non_null(buf);
    }
    out = replace_all(buf, g_dir, "$DIR");
    free(buf);
    /* "client_id = " ends in a space that editors (.editorconfig) trim. */
    buf = replace_all(out, " \n", "\n");
    free(out);
    return buf;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Returns 0 when ini's output matches its golden file. */
static int golden_one(const char *ini)
{
    char ok[PATH_MAX], errf[PATH_MAX];
    char *got, *want;
    const char *golden;
    size_t base = strlen(ini) - strlen(".ini");
    int rc, bad = 0;

    snprintf(ok, sizeof(ok), "%.*s.ok", (int)base, ini);
    snprintf(errf, sizeof(errf), "%.*s.err", (int)base, ini);
    got = conf_output(ini, &rc);
    golden = rc == 0 ? ok : errf;
    if (g_update) {
        unlink(rc == 0 ? errf : ok);
        assert_int_equal(spit(golden, got), 0);
        free(got);
        return 0;
    }
    if (access(rc == 0 ? errf : ok, F_OK) == 0) {
        print_error("%s: %s, but %s exists\n", ini,
                    rc == 0 ? "loads cleanly" : "has errors", rc == 0 ? errf : ok);
        bad = 1;
    }
    want = slurp(golden);
    if (want == NULL) {
        print_error("%s: no %s; got:\n%s", ini, golden, got);
        bad = 1;
    } else if (strcmp(want, got) != 0) {
        print_error("%s: output differs from %s\n--- expected\n%s--- got\n%s---\n", ini,
                    golden, want, got);
        bad = 1;
    }
    free(want);
    free(got);
    return bad;
}

static int write_tmp(char *tmpl, const char *text)
{
    int fd = mkstemps(tmpl, 4);

    if (fd < 0)
        return -1;
    close(fd);
    return spit(tmpl, text);
}

static int setup(void **state)
{
    const char *src = getenv("LB_SOURCE_DIR");
    const char *upd = getenv("LB_UPDATE_GOLDEN");
    char dir[PATH_MAX];

    (void)state;
    if (src == NULL) {
        fprintf(stderr, "LB_SOURCE_DIR is not set (run through ctest)\n");
        return -1;
    }
    snprintf(g_src, sizeof(g_src), "%s", src);
    snprintf(dir, sizeof(dir), "%s/tests/config", src);
    if (chdir(dir) != 0 || getcwd(g_dir, sizeof(g_dir)) == NULL) {
        fprintf(stderr, "%s: %s\n", dir, strerror(errno));
        return -1;
    }
    g_update = upd != NULL && strcmp(upd, "1") == 0;
    g_conf = calloc(1, sizeof(*g_conf));
    return g_conf == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    free(g_conf);
    g_conf = NULL;
    return 0;
}

static void test_golden(void **state)
{
    DIR *d;
    struct dirent *de;
    char *names[256];
    size_t n = 0;
    int bad = 0;

    (void)state;
    d = opendir(".");
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);

        if (len > 4 && strcmp(de->d_name + len - 4, ".ini") == 0) {
            assert_true(n < sizeof(names) / sizeof(names[0]));
            names[n] = strdup(de->d_name);
            assert_non_null(names[n]);
            n++;
        }
    }
    closedir(d);
    /* The brief's list of cases; a lost file must not pass silently. */
    assert_true(n >= 25);
    qsort(names, n, sizeof(names[0]), cmp_names);
    for (size_t i = 0; i < n; i++) {
        bad += golden_one(names[i]);
        free(names[i]);
    }
    assert_int_equal(bad, 0);
}

/* The normalised print is itself a valid config that loads to the same. */
static void test_print_reloads(void **state)
{
    struct lb_conf_errors err;
    char tmpl[] = "/tmp/lb-conf-XXXXXX.ini";
    char *first, *second;
    char *buf = NULL;
    size_t len = 0;
    FILE *mem;
    int rc;

    (void)state;
    memset(&err, 0, sizeof(err));
    assert_int_equal(load("01-valid.ini", g_conf, &err), 0);
    mem = open_memstream(&buf, &len);
    assert_non_null(mem);
    agent_conf_print(g_conf, mem);
    fclose(mem);
    first = buf;
    assert_int_equal(write_tmp(tmpl, first), 0);
    memset(&err, 0, sizeof(err));
    rc = load(tmpl, g_conf, &err);
    if (rc != 0)
        print_error("%s", err.text);
    assert_int_equal(rc, 0);
    buf = NULL;
    mem = open_memstream(&buf, &len);
    assert_non_null(mem);
    agent_conf_print(g_conf, mem);
    fclose(mem);
    second = buf;
    assert_string_equal(first, second);
    unlink(tmpl);
    free(first);
    free(second);
}

static void test_resolved_values(void **state)
{
    struct lb_conf_errors err;
    char want[PATH_MAX + 16];
    const struct machine_conf *m;

    (void)state;
    memset(&err, 0, sizeof(err));
    assert_int_equal(load("01-valid.ini", g_conf, &err), 0);
    assert_string_equal(g_conf->path, "01-valid.ini");
    assert_string_equal(g_conf->id, "cell-3");
    assert_int_equal(g_conf->log_level, 3);
    snprintf(want, sizeof(want), "%s/state", g_dir);
    assert_string_equal(g_conf->state_dir, want);
    snprintf(want, sizeof(want), "%s/profiles", g_dir);
    assert_string_equal(g_conf->profiles_dir, want);
    assert_int_equal(g_conf->nmachines, 3);

    m = &g_conf->machines[0];
    assert_string_equal(m->id, "press-3");
    assert_int_equal(m->line, 27);
    assert_int_equal(m->idle_after_ms, 5 * 2400);
    assert_int_equal(m->down_after_ms, 300000);
    assert_int_equal(m->close_after_poll, 1);
    assert_string_equal(m->prof.name, "test");
    assert_true(m->prof.values[LB_ROLE_GOOD].present);
    assert_int_equal(m->prof.values[LB_ROLE_GOOD].type, LB_T_U32);

    m = &g_conf->machines[1];
    assert_string_equal(m->id, "lathe.7");
    assert_int_equal(m->idle_after_ms, 60000);
    assert_int_equal(m->down_after_ms, 300000);
    assert_int_equal(m->port, 502);
    assert_int_equal(m->unit, 1);
    assert_string_equal(m->prof.name, "test"); /* shared load, copied */

    m = &g_conf->machines[2];
    assert_int_equal(m->idle_after_ms, 90000);
    assert_int_equal(m->down_after_ms, 600000);
    assert_int_equal(m->close_after_poll, 0);
}

/* Relative directories follow the file, not the working directory. */
static void test_relative_to_file(void **state)
{
    struct lb_conf_errors err;
    char want[PATH_MAX + 16], abs[PATH_MAX + 16];

    (void)state;
    snprintf(want, sizeof(want), "%s/profiles", g_dir);
    assert_int_equal(chdir(".."), 0);
    memset(&err, 0, sizeof(err));
    assert_int_equal(load("config/01-valid.ini", g_conf, &err), 0);
    assert_int_equal(chdir(g_dir), 0);
    /* From tests/: "<tests>/" + "config" + "/profiles", the same directory. */
    assert_string_equal(g_conf->profiles_dir, want);

    snprintf(abs, sizeof(abs), "%s/01-valid.ini", g_dir);
    assert_int_equal(chdir("/"), 0);
    memset(&err, 0, sizeof(err));
    assert_int_equal(load(abs, g_conf, &err), 0);
    assert_int_equal(chdir(g_dir), 0);
    assert_string_equal(g_conf->profiles_dir, want);
    assert_string_equal(g_conf->path, abs);
}

static void test_missing_file(void **state)
{
    struct lb_conf_errors err;

    (void)state;
    memset(&err, 0, sizeof(err));
    assert_int_equal(load("no-such.ini", g_conf, &err), -ENOENT);
    assert_int_equal(err.count, 1);
    assert_string_equal(err.text,
                        "no-such.ini: file: cannot open: No such file or directory\n");
}

static void test_too_many_machines(void **state)
{
    struct lb_conf_errors err;
    char tmpl[] = "/tmp/lb-conf-XXXXXX.ini";
    char want[PATH_MAX + 128];
    char *text = NULL;
    size_t len = 0;
    FILE *mem;
    int line = 4;

    (void)state;
    mem = open_memstream(&text, &len);
    assert_non_null(mem);
    fprintf(mem, "[agent]\nid = a1\nstate_dir = /tmp\nprofiles_dir = %s/profiles\n",
            g_dir);
    for (int i = 0; i <= AGENT_MAX_MACHINES; i++) {
        fprintf(mem, "[machine m%d]\nprofile = test\nhost = 10.0.%d.%d\n", i, i / 250,
                i % 250);
        line += 3;
    }
    fclose(mem);
    assert_int_equal(write_tmp(tmpl, text), 0);
    memset(&err, 0, sizeof(err));
    assert_int_equal(load(tmpl, g_conf, &err), LB_E_CONFIG);
    assert_int_equal(err.count, 1);
    snprintf(want, sizeof(want), "%s:%d: machine: too many machines (at most %d)\n", tmpl,
             line - 2, AGENT_MAX_MACHINES);
    assert_string_equal(err.text, want);
    assert_int_equal(g_conf->nmachines, AGENT_MAX_MACHINES);
    assert_int_equal(g_conf->machines[AGENT_MAX_MACHINES - 1].line, line - 5);

    /* Exactly the maximum is fine. */
    text[strlen(text) - strlen("[machine m256]\nprofile = test\nhost = 10.0.1.6\n")] =
        '\0';
    assert_int_equal(spit(tmpl, text), 0);
    memset(&err, 0, sizeof(err));
    assert_int_equal(load(tmpl, g_conf, &err), 0);
    assert_int_equal(g_conf->nmachines, AGENT_MAX_MACHINES);
    unlink(tmpl);
    free(text);
}

/* err belongs to the caller: earlier problems stay, and the return value
 * speaks only of this file. */
static void test_errors_accumulate(void **state)
{
    struct lb_conf_errors err;

    (void)state;
    memset(&err, 0, sizeof(err));
    assert_int_equal(load("09-bad-enum.ini", g_conf, &err), LB_E_CONFIG);
    assert_int_equal(err.count, 1);
    assert_int_equal(load("02-minimal.ini", g_conf, &err), 0);
    assert_int_equal(err.count, 1);
    assert_string_equal(g_conf->site, "default");
    assert_int_equal(g_conf->nmachines, 0);
}

/* docs/agent-config.md is generated: it must be what the tables say. */
static void test_help_is_docs(void **state)
{
    static const char *const keys[] = {
        "`id`",
        "`site`",
        "`state_dir`",
        "`profiles_dir`",
        "`log_level`",
        "`url`",
        "`prefix`",
        "`client_id`",
        "`keepalive_s`",
        "`inflight`",
        "`batch_events`",
        "`ack_timeout_ms`",
        "`commit_ms`",
        "`max_mb`",
        "`commit_events`",
        "`reconnect_min_ms`",
        "`profile`",
        "`host`",
        "`port`",
        "`reconnect_max_ms`",
        "`unit`",
        "`interval_ms`",
        "`timeout_ms`",
        "`ideal_cycle_ms`",
        "`offline_after`",
        "`idle_after_ms`",
        "`down_after_ms`",
        "`close_after_poll`",
    };
    char path[PATH_MAX + 32];
    char *buf = NULL, *want;
    size_t len = 0;
    FILE *mem;

    (void)state;
    mem = open_memstream(&buf, &len);
    assert_non_null(mem);
    agent_conf_help(mem);
    fclose(mem);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        assert_non_null(strstr(buf, keys[i]));
    snprintf(path, sizeof(path), "%s/docs/agent-config.md", g_src);
    if (g_update) {
        assert_int_equal(spit(path, buf), 0);
    } else {
        want = slurp(path);
        if (want == NULL || strcmp(want, buf) != 0)
            print_error("%s is stale: regenerate it with LB_UPDATE_GOLDEN=1\n", path);
        assert_non_null(want);
        assert_string_equal(want, buf);
        free(want);
    }
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_print_reloads),
        cmocka_unit_test(test_resolved_values),
        cmocka_unit_test(test_relative_to_file),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_too_many_machines),
        cmocka_unit_test(test_errors_accumulate),
        cmocka_unit_test(test_help_is_docs),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
