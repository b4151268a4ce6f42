/*
 * Form bodies and CSV cells (server/form.c, server/csv.c): decoding,
 * bounds, rejected encodings, and CSV quoting with formula neutralising.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "csv.h"
#include "form.h"
#include "linebeat/error.h"

static void test_parse(void **state)
{
    static const char body[] =
        "user=anna+berg&password=p%40ss%26word%3D&empty=&flag&&csrf=x";
    struct form f;

    (void)state;
    assert_int_equal(form_parse(body, strlen(body), &f), 0);
    assert_string_equal(form_get(&f, "user"), "anna berg");
    assert_string_equal(form_get(&f, "password"), "p@ss&word=");
    assert_string_equal(form_get(&f, "empty"), "");
    assert_string_equal(form_get(&f, "flag"), "");
    assert_string_equal(form_get(&f, "csrf"), "x");
    assert_null(form_get(&f, "missing"));
    form_free(&f);

    /* UTF-8 passes; first of two equal names wins. */
    assert_int_equal(form_parse("n=%C3%A9t%C3%A9&n=2", 19, &f), 0);
    assert_string_equal(form_get(&f, "n"), "\xc3\xa9t\xc3\xa9");
    form_free(&f);
    assert_int_equal(form_parse("", 0, &f), 0);
    assert_int_equal(f.n, 0);
    form_free(&f);
}

static void test_reject(void **state)
{
    char many[FORM_FIELDS_MAX * 4 + 8];
    struct form f;
    size_t i, n = 0;

    (void)state;
    assert_int_equal(form_parse("a=%4", 4, &f), LB_E_PARSE);
    form_free(&f);
    assert_int_equal(form_parse("a=%zz", 5, &f), LB_E_PARSE);
    form_free(&f);
    assert_int_equal(form_parse("a=%00", 5, &f), LB_E_PARSE); /* NUL */
    form_free(&f);
    assert_int_equal(form_parse("a=b\0c", 5, &f), LB_E_PARSE);
    form_free(&f);
    assert_int_equal(form_parse("a=%C3%28", 8, &f), LB_E_PARSE); /* bad UTF-8 */
    form_free(&f);
    assert_int_equal(form_parse("a=%ED%A0%80", 11, &f), LB_E_PARSE); /* surrogate */
    form_free(&f);
    assert_int_equal(form_parse("a=%1B", 5, &f), LB_E_PARSE); /* control */
    form_free(&f);
    for (i = 0; i <= FORM_FIELDS_MAX; i++)
        n += (size_t)snprintf(many + n, sizeof(many) - n, "a=%zu&", i % 10);
    assert_int_equal(form_parse(many, n, &f), LB_E_TOOBIG);
    form_free(&f);
    assert_int_equal(form_parse("x", FORM_BODY_MAX + 1, &f), LB_E_TOOBIG);
    form_free(&f);
    assert_true(form_text_ok("tab\tand\r\nnewline", 16));
    assert_false(form_text_ok("\x7f", 1));
}

static void test_csv(void **state)
{
    struct buf b;
    struct csv c;

    (void)state;
    buf_init(&b);
    csv_begin(&c, &b);
    csv_str(&c, "plain");
    csv_str(&c, "a,b");
    csv_str(&c, "say \"hi\"");
    csv_str(&c, NULL);
    csv_str(&c, "=HYPERLINK(\"x\")");
    csv_str(&c, "-1+2");
    csv_int(&c, -42);
    csv_num(&c, 0.8512, 3);
    csv_time(&c, -1);
    csv_end_row(&c);
    csv_str(&c, "line\nbreak");
    csv_end_row(&c);
    assert_int_equal(b.err, 0);
    assert_string_equal(b.p,
                        "plain,\"a,b\",\"say \"\"hi\"\"\",,\"'=HYPERLINK(\"\"x\"\")\","
                        "\"'-1+2\",-42,0.851,\r\n\"line\nbreak\"\r\n");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_reject),
        cmocka_unit_test(test_csv),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
