/*
 * Secret files (linebeat/secret.h): the MQTT password of an agent or the
 * server.  Read from a private file only; every refusal names the file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "linebeat/error.h"
#include "linebeat/secret.h"

static char dir[256], path[300];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/lb-secret-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/pw", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    rmdir(dir);
    return 0;
}

static void put(const void *data, size_t len, mode_t mode)
{
    FILE *f;

    unlink(path); /* a 0400 file is not writable by a non-root tester */
    f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static int rd(char *buf, size_t size, char *why, size_t whylen)
{
    return lb_secret_read(path, buf, size, why, whylen);
}

static void test_reads_first_line(void **state)
{
    char buf[LB_SECRET_MAX + 1], why[400];

    (void)state;
    put("s3cret\n", 7, 0600);
    assert_int_equal(rd(buf, sizeof(buf), why, sizeof(why)), 0);
    assert_string_equal(buf, "s3cret");
    put("s3cret\r\n", 8, 0400);
    assert_int_equal(rd(buf, sizeof(buf), why, sizeof(why)), 0);
    assert_string_equal(buf, "s3cret");
    put("no newline", 10, 0600);
    assert_int_equal(rd(buf, sizeof(buf), why, sizeof(why)), 0);
    assert_string_equal(buf, "no newline");
    assert_int_equal(lb_secret_check(path, why, sizeof(why)), 0);
}

static void test_refuses_open_modes(void **state)
{
    static const mode_t modes[] = {0644, 0640, 0604, 0620, 0602, 0610};
    char buf[LB_SECRET_MAX + 1], why[400];

    (void)state;
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        put("s3cret\n", 7, modes[i]);
        memset(buf, 'x', sizeof(buf));
        assert_int_equal(rd(buf, sizeof(buf), why, sizeof(why)), -EPERM);
        assert_non_null(strstr(why, path)); /* names the file */
        assert_non_null(strstr(why, "chmod 600"));
        assert_int_equal(buf[0], '\0'); /* wiped */
        assert_int_equal(buf[5], '\0');
        assert_int_equal(lb_secret_check(path, why, sizeof(why)), -EPERM);
    }
}

static void test_refuses_bad_content(void **state)
{
    char buf[16], why[400];

    (void)state;
    put("", 0, 0600);
    assert_int_equal(rd(buf, sizeof(buf), why, sizeof(why)), LB_E_PARSE);
    assert_non_null(strstr(why, "empty"));
    put("\n", 1, 0600);
    assert_int_equal(rd(buf, sizeof(buf), why, sizeof(why)), LB_E_PARSE);
    put("one\ntwo\n", 8, 0600);
    assert_int_equal(rd(buf, sizeof(buf), why, sizeof(why)), LB_E_PARSE);
    assert_non_null(strstr(why, "more than one line"));
    put("a\0b\n", 4, 0600);
    assert_int_equal(rd(buf, sizeof(buf), why, sizeof(why)), LB_E_PARSE);
    put("0123456789abcdef\n", 17, 0600); /* longer than buf */
    assert_int_equal(rd(buf, sizeof(buf), why, sizeof(why)), LB_E_TOOBIG);
    assert_int_equal(buf[0], '\0');
}

static void test_refuses_missing_and_dirs(void **state)
{
    char buf[16], why[400];

    (void)state;
    assert_int_equal(rd(buf, sizeof(buf), why, sizeof(why)), -ENOENT);
    assert_non_null(strstr(why, path));
    assert_int_equal(lb_secret_read(dir, buf, sizeof(buf), why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "not a regular file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reads_first_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_open_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_bad_content, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_missing_and_dirs, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
