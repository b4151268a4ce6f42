/*
 * Profile files (devices/profile.c): every shipped profile loads, and bad
 * profiles give exactly the "file:line: key: problem" lines a user would
 * act on.  LB_SOURCE_DIR names the repository root.
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

#include "linebeat/error.h"
#include "linebeat/profile.h"

static char tmpdir[PATH_MAX];
static char profdir[PATH_MAX];

static int setup(void **state)
{
    const char *src = getenv("LB_SOURCE_DIR");
    const char *tmp = getenv("TMPDIR");

    (void)state;
    if (src == NULL)
        src = ".";
    if ((size_t)snprintf(profdir, sizeof(profdir), "%s/devices/profiles", src) >=
            sizeof(profdir) ||
        (size_t)snprintf(tmpdir, sizeof(tmpdir), "%s/test_profile.XXXXXX",
                         tmp ? tmp : "/tmp") >= sizeof(tmpdir))
        return -1;
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    char path[PATH_MAX * 2];
    struct dirent *e;
    DIR *d;

    (void)state;
    /* Only the flat files this test wrote are in there. */
    d = opendir(tmpdir);
    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
        unlink(path);
    }
    closedir(d);
    return rmdir(tmpdir);
}

/* Writes text to tmpdir/name; OUT: path. */
static void write_file(const char *name, const char *text, char *path, size_t size)
{
    FILE *f;
    int n;

    n = snprintf(path, size, "%s/%s", tmpdir, name);
    assert_true(n > 0 && (size_t)n < size);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Loads text as a profile and compares the problems with want, in which
 * every "@" stands for the file's path. */
static void expect_errors(const char *text, const char *want)
{
    static int n;
    char name[32], path[PATH_MAX], expect[8192];
    struct lb_conf_errors err;
    struct lb_profile p;
    size_t len = 0;
    int rc;

    snprintf(name, sizeof(name), "bad%d.ini", n++);
    write_file(name, text, path, sizeof(path));
    for (const char *w = want; *w != '\0' && len + PATH_MAX < sizeof(expect); w++) {
        if (*w == '@')
            len += (size_t)snprintf(expect + len, sizeof(expect) - len, "%s", path);
        else
            expect[len++] = *w;
    }
    expect[len] = '\0';
    memset(&err, 0, sizeof(err));
    rc = lb_profile_load(path, &p, &err);
    assert_string_equal(err.text, expect);
    assert_int_equal(rc, want[0] ? LB_E_CONFIG : 0);
}

#define HEAD "[profile]\nname = t\nkind = generic\n" /* lines 1-3 */

/* Every *.ini in devices/profiles loads without a problem; the four that
 * other tests and docs rely on are among them. */
static void test_shipped(void **state)
{
    static const char *const names[] = {"sim", "sim16", "generic-u16", "generic-u32"};
    struct lb_conf_errors err;
    struct lb_profile p;
    struct dirent *e;
    size_t nfiles = 0;
    int found[sizeof(names) / sizeof(names[0])] = {0};
    DIR *d;

    (void)state;
    d = opendir(profdir);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        char name[NAME_MAX + 1];
        size_t len = strlen(e->d_name);

        if (len <= 4 || strcmp(e->d_name + len - 4, ".ini") != 0)
            continue;
        memcpy(name, e->d_name, len - 4);
        name[len - 4] = '\0';
        nfiles++;
        memset(&err, 0, sizeof(err));
        print_message("%s\n", name);
        assert_int_equal(lb_profile_find(profdir, name, &p, &err), 0);
        assert_string_equal(err.text, "");
        assert_string_equal(p.name, name);
        assert_true(p.values[LB_ROLE_GOOD].present || p.values[LB_ROLE_TOTAL].present);
        assert_true(p.description[0] != '\0');
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (strcmp(name, names[i]) == 0)
                found[i] = 1;
    }
    closedir(d);
    assert_true(nfiles >= sizeof(names) / sizeof(names[0]));
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_true(found[i]);
}

static void test_sim_map(void **state)
{
    struct lb_conf_errors err;
    struct lb_profile p;
    const struct lb_value *v = p.values;
    const struct lb_state_map *m;

    (void)state;
    memset(&err, 0, sizeof(err));
    assert_int_equal(lb_profile_find(profdir, "sim", &p, &err), 0);
    assert_int_equal(v[LB_ROLE_GOOD].area, LB_AREA_HOLDING);
    assert_int_equal(v[LB_ROLE_GOOD].address, 0);
    assert_int_equal(v[LB_ROLE_GOOD].type, LB_T_U32);
    assert_int_equal(v[LB_ROLE_GOOD].order, LB_ORDER_ABCD);
    assert_true(v[LB_ROLE_GOOD].scale == 1.0);
    assert_int_equal(v[LB_ROLE_TOTAL].address, 2);
    assert_int_equal(v[LB_ROLE_SCRAP].address, 4);
    assert_int_equal(v[LB_ROLE_STATE].address, 6);
    assert_int_equal(v[LB_ROLE_STATE].type, LB_T_U16);
    assert_int_equal(v[LB_ROLE_REASON].address, 7);
    assert_int_equal(v[LB_ROLE_CYCLE].address, 8);
    assert_int_equal(v[LB_ROLE_CONTROL].address, 10);
    assert_int_equal(v[LB_ROLE_CONTROL].area, LB_AREA_HOLDING);
    assert_int_equal(p.nstates, 5);
    m = lb_profile_state(&p, 1);
    assert_non_null(m);
    assert_int_equal(m->state, LB_ST_RUNNING);
    assert_string_equal(m->reason, "");
    m = lb_profile_state(&p, 4);
    assert_non_null(m);
    assert_int_equal(m->state, LB_ST_DOWN);
    assert_string_equal(m->reason, "jam");
    assert_null(lb_profile_state(&p, 0));
    assert_non_null(lb_profile_reason(&p, 2));
    assert_string_equal(lb_profile_reason(&p, 2)->reason, "material");
    assert_null(lb_profile_reason(&p, 3));

    memset(&err, 0, sizeof(err));
    assert_int_equal(lb_profile_find(profdir, "sim16", &p, &err), 0);
    assert_int_equal(v[LB_ROLE_TOTAL].type, LB_T_U16);
    assert_int_equal(v[LB_ROLE_TOTAL].address, 1);
    assert_int_equal(v[LB_ROLE_SCRAP].address, 2);
}

static void test_good_values(void **state)
{
    char path[PATH_MAX];
    struct lb_conf_errors err;
    struct lb_profile p;

    (void)state;
    write_file("ok.ini",
               HEAD
               "[good]\narea = input\naddress = 0x10\ntype = u64\norder = CDAB\n"
               "scale = 2.5\n"
               "[state]\narea = discrete\naddress = 65535\ntype = bool\n"
               "[states]\n0 = idle\n1 = running\n-1 = down : jam\n0x10 = planned_stop\n"
               "[cycle]\narea = holding\naddress = 65534\ntype = float32\nscale=1e3\n",
               path, sizeof(path));
    memset(&err, 0, sizeof(err));
    assert_int_equal(lb_profile_load(path, &p, &err), 0);
    assert_string_equal(err.text, "");
    assert_int_equal(p.values[LB_ROLE_GOOD].area, LB_AREA_INPUT);
    assert_int_equal(p.values[LB_ROLE_GOOD].address, 16);
    assert_int_equal(p.values[LB_ROLE_GOOD].type, LB_T_U64);
    assert_int_equal(p.values[LB_ROLE_GOOD].order, LB_ORDER_CDAB);
    assert_true(p.values[LB_ROLE_GOOD].scale == 2.5);
    assert_int_equal(p.values[LB_ROLE_STATE].address, 65535);
    assert_true(p.values[LB_ROLE_CYCLE].scale == 1000.0);
    assert_false(p.values[LB_ROLE_TOTAL].present);
    assert_string_equal(lb_profile_state(&p, -1)->reason, "jam");
    assert_int_equal(lb_profile_state(&p, 16)->state, LB_ST_PLANNED_STOP);
    assert_string_equal(p.source, "");
}

static void test_unknown_key(void **state)
{
    (void)state;
    expect_errors(HEAD "[good]\narea = holding\naddress = 0\ntype = u16\ncolour = red\n",
                  "@:8: colour: unknown key in [good]\n");
    expect_errors(HEAD "colour = red\n[good]\narea = holding\naddress = 0\ntype = u16\n",
                  "@:4: colour: unknown key in [profile]\n");
    expect_errors(HEAD "[good]\narea = holding\naddress = 0\ntype = u16\n[colour]\n",
                  "@:8: colour: unknown section\n");
}

static void test_bad_area(void **state)
{
    (void)state;
    expect_errors(HEAD "[good]\narea = register\naddress = 0\ntype = u16\n",
                  "@:5: area: 'register' is not one of coil, discrete, holding, input\n");
    expect_errors(HEAD "[good]\narea = holding\naddress = 0\ntype = u16\n"
                       "[control]\narea = input\naddress = 1\ntype = u16\n",
                  "@:9: area: control is written: area must be coil or holding\n");
}

static void test_bool_area(void **state)
{
    (void)state;
    /* The message lands on whichever key completes the conflict. */
    expect_errors(HEAD "[good]\narea = holding\naddress = 0\ntype = u16\n"
                       "[cycle]\narea = holding\naddress = 6\ntype = bool\n",
                  "@:11: type: type bool does not fit area holding (bool lives in coil "
                  "or discrete, numbers in holding or input)\n");
    expect_errors(HEAD "[good]\narea = holding\naddress = 0\ntype = u16\n"
                       "[cycle]\ntype = u16\naddress = 6\narea = coil\n",
                  "@:11: area: type u16 does not fit area coil (bool lives in coil or "
                  "discrete, numbers in holding or input)\n");
}

static void test_counter_type(void **state)
{
    (void)state;
    expect_errors(HEAD "[good]\narea = holding\naddress = 0\ntype = i32\n",
                  "@:7: type: good is a counter: type must be u16, u32 or u64\n");
    expect_errors(HEAD "[total]\narea = holding\naddress = 0\ntype = float32\n",
                  "@:7: type: total is a counter: type must be u16, u32 or u64\n");
    expect_errors(
        HEAD "[good]\narea = holding\naddress = 0\ntype = u17\n",
        "@:7: type: 'u17' is not one of bool, u16, i16, u32, i32, u64, float32\n");
}

static void test_address(void **state)
{
    (void)state;
    expect_errors(HEAD "[good]\narea = holding\ntype = u32\naddress = 65535\n",
                  "@:7: address: u32 at 65535 needs 2 registers and runs past 65535\n");
    expect_errors(HEAD "[good]\narea = holding\naddress = 65533\ntype = u64\n",
                  "@:7: type: u64 at 65533 needs 4 registers and runs past 65535\n");
    expect_errors(HEAD "[good]\narea = holding\naddress = 65536\ntype = u16\n",
                  "@:6: address: 65536 is out of range (0 to 65535)\n");
    expect_errors(HEAD "[good]\narea = holding\naddress = -1\ntype = u16\n",
                  "@:6: address: '-1' is not a whole number\n");
    expect_errors(HEAD "[good]\narea = holding\naddress = 40001x\ntype = u16\n",
                  "@:6: address: '40001x' is not a whole number\n");
}

static void test_scale_order(void **state)
{
    (void)state;
    expect_errors(HEAD "[good]\narea = holding\naddress = 0\ntype = u16\nscale = 0\n",
                  "@:8: scale: '0' must be a finite number other than 0\n");
    expect_errors(HEAD "[good]\narea = holding\naddress = 0\ntype = u16\nscale = 1,5\n",
                  "@:8: scale: '1,5' is not a number\n");
    expect_errors(HEAD "[good]\narea = holding\naddress = 0\ntype = u16\nscale = inf\n",
                  "@:8: scale: 'inf' must be a finite number other than 0\n");
    expect_errors(HEAD "[good]\narea = holding\naddress = 0\ntype = u16\norder = abcd\n",
                  "@:8: order: 'abcd' is not one of ABCD, DCBA, BADC, CDAB\n");
    expect_errors(HEAD "[good]\narea = holding\naddress = 0\naddress = 1\ntype = u16\n",
                  "@:7: address: set twice in [good]\n");
}

static void test_states(void **state)
{
    (void)state;
#define STATE_SEC                                                                        \
    "[good]\narea = holding\naddress = 0\ntype = u16\n"                                  \
    "[state]\narea = holding\naddress = 1\ntype = u16\n" /* lines 4-11 */
    expect_errors(HEAD STATE_SEC "[states]\n1 = runing\n",
                  "@:13: 1: 'runing' is not a state (running, idle, setup, down, "
                  "planned_stop, offline)\n");
    expect_errors(
        HEAD STATE_SEC "[states]\n1 = running\n2 = down:paper jam\n3 = down:\n",
        "@:14: 2: 'paper jam' is not a valid reason id (letters, digits, _ . -)\n"
        "@:15: 3: '' is not a valid reason id (letters, digits, _ . -)\n");
    expect_errors(HEAD STATE_SEC "[states]\n1 = running\n01 = idle\nx = down\n",
                  "@:14: 01: code 1 mapped twice\n"
                  "@:15: x: a state code must be a whole number\n");
    expect_errors(HEAD STATE_SEC, "@:8: states: a [state] register needs a [states] map "
                                  "of its codes\n");
    expect_errors(HEAD "[good]\narea = holding\naddress = 0\ntype = u16\n[states]\n1 = "
                       "running\n",
                  "@:8: states: a [states] map needs a [state] section to read codes "
                  "from\n");
    expect_errors(HEAD STATE_SEC "[states]\n1 = running\n[reasons]\n1 = jam\n",
                  "@:14: reasons: a [reasons] map needs a [reason] section to read codes "
                  "from\n");
    expect_errors(HEAD STATE_SEC "[states]\n1 = running\n[reason]\narea = holding\n"
                                 "address = 2\ntype = float32\n",
                  "@:17: type: reason holds codes: type must be an integer or bool\n");
#undef STATE_SEC
}

static void test_missing(void **state)
{
    (void)state;
    expect_errors(HEAD "[good]\narea = holding\naddress = 0\ntype = u16\n[total]\n"
                       "area = holding\n",
                  "@:8: address: required in [total]\n@:8: type: required in [total]\n");
    expect_errors(HEAD "[scrap]\narea = holding\naddress = 0\ntype = u16\n",
                  "@:1: good: a profile needs a [good] or a [total] counter\n");
    expect_errors(
        "[profile]\nname = t\n[good]\narea = holding\naddress = 0\ntype = u16\n",
        "@:1: source: required for kind = device: cite the manual the map "
        "comes from\n");
    expect_errors("[good]\narea = holding\naddress = 0\ntype = u16\n",
                  "@: name: required: add it to a [profile] section\n"
                  "@: source: required for kind = device: cite the manual the map comes "
                  "from\n");
}

static void test_find(void **state)
{
    char path[PATH_MAX];
    struct lb_conf_errors err;
    struct lb_profile p;
    char want[PATH_MAX * 2];

    (void)state;
    memset(&err, 0, sizeof(err));
    assert_int_equal(lb_profile_find(profdir, "../profiles/sim", &p, &err), LB_E_CONFIG);
    memset(&err, 0, sizeof(err));
    assert_int_equal(lb_profile_find(tmpdir, "nosuch", &p, &err), -ENOENT);
    assert_int_equal(err.count, 1);

    write_file("other.ini", HEAD "[good]\narea = holding\naddress = 0\ntype = u16\n",
               path, sizeof(path));
    memset(&err, 0, sizeof(err));
    assert_int_equal(lb_profile_find(tmpdir, "other", &p, &err), LB_E_CONFIG);
    snprintf(want, sizeof(want),
             "%s:1: name: 't' does not match the file name other.ini\n", path);
    assert_string_equal(err.text, want);
    /* lb_profile_load does not care about the file name. */
    memset(&err, 0, sizeof(err));
    assert_int_equal(lb_profile_load(path, &p, &err), 0);
    assert_int_equal(lb_profile_load(path, &p, NULL), 0);
}

/* A machine's "ROLE.KEY = value" changes (lb_override_parse, lb_profile_apply). */
static void test_overrides(void **state)
{
    static const char *const ok[][2] = {
        {"good.address", "0x20"}, {"good.order", "CDAB"},  {"scrap.type", "u16"},
        {"cycle.scale", "0.5"},   {"state.area", "input"},
    };
    struct lb_override o[8];
    struct lb_conf_errors err;
    struct lb_profile p;
    char why[256];
    size_t bad;

    (void)state;
    memset(&err, 0, sizeof(err));
    assert_int_equal(lb_profile_find(profdir, "sim", &p, &err), 0);
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        assert_int_equal(lb_override_parse(ok[i][0], ok[i][1], &o[i], why, sizeof(why)),
                         0);
    assert_int_equal(lb_profile_apply(&p, o, 5, &bad, why, sizeof(why)), 0);
    assert_int_equal(p.values[LB_ROLE_GOOD].address, 32);
    assert_int_equal(p.values[LB_ROLE_GOOD].order, LB_ORDER_CDAB);
    assert_int_equal(p.values[LB_ROLE_GOOD].type, LB_T_U32); /* untouched */
    assert_int_equal(p.values[LB_ROLE_SCRAP].type, LB_T_U16);
    assert_true(p.values[LB_ROLE_CYCLE].scale == 0.5);
    assert_int_equal(p.values[LB_ROLE_STATE].area, LB_AREA_INPUT);

    /* Syntax, checked alone. */
    assert_int_equal(lb_override_parse("good", "1", &o[0], why, sizeof(why)), -1);
    assert_int_equal(lb_override_parse("goods.address", "1", &o[0], why, sizeof(why)),
                     -1);
    assert_int_equal(lb_override_parse("good.adress", "1", &o[0], why, sizeof(why)), -1);
    assert_int_equal(lb_override_parse("good.type", "int", &o[0], why, sizeof(why)), -1);
    assert_int_equal(lb_override_parse("good.address", "012x", &o[0], why, sizeof(why)),
                     -1);

    /* Rules, checked against the profile; the blamed change is named. */
    memset(&err, 0, sizeof(err));
    assert_int_equal(lb_profile_find(profdir, "generic-u16", &p, &err), 0);
    assert_int_equal(lb_override_parse("good.order", "DCBA", &o[0], why, sizeof(why)), 0);
    assert_int_equal(lb_override_parse("good.type", "float32", &o[1], why, sizeof(why)),
                     0);
    assert_int_equal(lb_profile_apply(&p, o, 2, &bad, why, sizeof(why)), -1);
    assert_int_equal(bad, 1);
    assert_non_null(strstr(why, "counter"));
    /* A counter cannot move to a bit area: it is never a bool. */
    assert_int_equal(lb_override_parse("good.area", "coil", &o[0], why, sizeof(why)), 0);
    assert_int_equal(lb_profile_apply(&p, o, 1, &bad, why, sizeof(why)), -1);
    /* Adding a value needs area, address and type. */
    memset(&err, 0, sizeof(err));
    assert_int_equal(lb_profile_find(profdir, "generic-u16", &p, &err), 0);
    assert_int_equal(lb_override_parse("scrap.address", "5", &o[0], why, sizeof(why)), 0);
    assert_int_equal(lb_profile_apply(&p, o, 1, &bad, why, sizeof(why)), -1);
    assert_int_equal(lb_override_parse("scrap.area", "holding", &o[1], why, sizeof(why)),
                     0);
    assert_int_equal(lb_override_parse("scrap.type", "u16", &o[2], why, sizeof(why)), 0);
    assert_int_equal(lb_profile_apply(&p, o, 3, &bad, why, sizeof(why)), 0);
    assert_true(p.values[LB_ROLE_SCRAP].present);
    assert_int_equal(p.values[LB_ROLE_SCRAP].address, 5);
    assert_true(p.values[LB_ROLE_SCRAP].scale == 1.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped),      cmocka_unit_test(test_sim_map),
        cmocka_unit_test(test_good_values),  cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_bad_area),     cmocka_unit_test(test_bool_area),
        cmocka_unit_test(test_counter_type), cmocka_unit_test(test_address),
        cmocka_unit_test(test_scale_order),  cmocka_unit_test(test_states),
        cmocka_unit_test(test_missing),      cmocka_unit_test(test_find),
        cmocka_unit_test(test_overrides),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
