/*
 * Page shell and helpers; see layout.h.
 *
 * The stylesheet is inline (one request per page, nothing to cache on a TV
 * that reloads every few seconds) and uses no grid and no custom
 * properties, so that the browsers of old TVs and office PCs render it.
 * State colours always come with the state's word (never colour alone).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "layout.h"
#include "plant.h"

/* The navigation: entries a role below min does not see.  Pages of the
 * reports add their line here. */
static const struct {
    const char *key, *href, *label;
    enum auth_role min;
} nav[] = {
    {"board", "/", "Board", AUTH_VIEWER},
    {"downtime", "/downtime", "Downtime", AUTH_VIEWER},
    {"orders", "/orders", "Orders", AUTH_VIEWER},
    {"reports", "/reports/shift", "Shift report", AUTH_VIEWER},
    {"trends", "/reports/trends", "Trends", AUTH_MANAGER},
    {"master", "/admin/master", "Master data", AUTH_ADMIN},
    {"admin", "/admin/tokens", "Admin", AUTH_ADMIN},
};

static const char css[] =
    "*{box-sizing:border-box}"
    "body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',Arial,sans-serif;"
    "background:#f4f5f7;color:#16181d;line-height:1.4}"
    "a{color:#0b57d0}"
    "header.top{background:#1f2430;color:#fff;padding:.5em 1em;overflow:hidden}"
    "header.top h1{margin:0;font-size:1.25em;float:left;margin-right:1.5em}"
    "header.top nav{float:left}header.top nav a{color:#cfd6e4;margin-right:1em;"
    "text-decoration:none;line-height:1.9}"
    "header.top nav a.on{color:#fff;font-weight:bold;border-bottom:2px solid #fff}"
    ".who{float:right;color:#cfd6e4}.who form{display:inline;margin-left:.6em}"
    ".who button{background:none;border:1px solid #8a93a6;color:#fff;border-radius:.3em;"
    "padding:.1em .6em;cursor:pointer}"
    ".clock{float:right;font-size:1.25em;margin-left:1em}"
    "main{padding:1em}"
    "footer{padding:0 1em 1em;color:#5b6170;font-size:.85em}"
    "h2{font-size:1.15em;margin:1.2em 0 .5em}"
    ".dim{color:#5b6170}.err{color:#a4161a;font-weight:bold}.ok{color:#1b6e33}"
    ".box{background:#fff;border:1px solid #d9dce3;border-radius:.4em;padding:1em;"
    "margin:0 0 1em;max-width:60em}"
    ".secret{font-family:monospace;word-break:break-all;background:#fff8d6;padding:.4em;"
    "border:1px dashed #c9a400}"
    "table.t{border-collapse:collapse;background:#fff;margin:0 0 .5em}"
    ".t th,.t td{border-bottom:1px solid #e3e5ea;padding:.35em .7em;text-align:left;"
    "vertical-align:top}"
    ".t th{background:#eceef2;white-space:nowrap}.t td.n,.t th.n{text-align:right}"
    "table.sortable th{cursor:pointer}"
    "th[aria-sort=ascending]:after{content:' \\25B2'}"
    "th[aria-sort=descending]:after{content:' \\25BC'}"
    ".wrap{overflow-x:auto}"
    "form.inline{display:inline}"
    "label{display:block;margin:.5em 0 .2em}"
    "input[type=text],input[type=password],select{font-size:1em;padding:.35em;width:100%;"
    "max-width:22em}"
    "button,input[type=submit]{font-size:1em;padding:.35em 1em;margin-top:.6em;"
    "cursor:pointer}"
    "a.csv{font-size:.9em}"
    /* The board: one tile per machine. */
    ".summary{margin:0 0 .6em}.summary span{margin-right:1em}"
    ".tiles{display:flex;flex-wrap:wrap;margin:-.3em}"
    ".tile{width:16em;margin:.3em;background:#fff;border:1px solid #d9dce3;"
    "border-left:.6em solid #8a8f9c;border-radius:.4em;padding:.6em .8em}"
    ".tile .dev{font-size:1.3em;font-weight:bold;word-wrap:break-word}"
    ".tile .dev a{color:inherit;text-decoration:none}"
    "body.tv .tile .dev a{pointer-events:none}"
    "tr.late td{background:#fff3e0}"
    /* Printed shift report: one A4 page per line; no break after the last
     * sheet, or the footer alone makes a page more. */
    "@media print{section.sheet{break-after:page;font-size:10pt}"
    "section.sheet:last-of-type{break-after:auto}"
    "section.sheet table{width:100%}}"
    "svg.chart{width:100%;height:auto;max-width:60em;display:block}"
    ".legend span{margin-right:1em;white-space:nowrap}"
    ".badge{display:inline-block;margin:.2em 0;padding:.1em .6em;border-radius:1em;"
    "background:#6b7080;color:#fff;font-weight:bold;text-transform:uppercase;"
    "font-size:.9em}"
    ".tile table{border-collapse:collapse;width:100%}.tile td{padding:.1em .4em .1em 0}"
    ".tile .num{font-size:1.3em;font-weight:bold}"
    ".bar{height:.5em;background:#e3e5ea;border-radius:.25em;overflow:hidden}"
    ".bar span{display:block;height:100%;background:#0b57d0}"
    /* Board tiles: order progress, shift OEE in three bands (the number
     * and "done" say it; the colour repeats it). */
    ".tile .progress .bar{margin:.15em 0 .2em}.bar.done span{background:#1b7f3b}"
    ".oee-hi{color:#1b7f3b}.oee-mid{color:#a86400}.oee-lo{color:#c0262d}"
    ".placeholder{color:#6b7080;font-style:italic}"
    ".empty{padding:2em;color:#5b6170}"
    ".st-running{border-left-color:#1b7f3b}.badge.st-running{background:#1b7f3b}"
    ".st-idle{border-left-color:#a86400}.badge.st-idle{background:#a86400}"
    ".st-setup{border-left-color:#2b6cb0}.badge.st-setup{background:#2b6cb0}"
    ".st-down{border-left-color:#c0262d}.badge.st-down{background:#c0262d}"
    ".st-planned{border-left-color:#6b46c1}.badge.st-planned{background:#6b46c1}"
    ".st-offline{border-left-color:#3d4350}.badge.st-offline{background:#3d4350}"
    ".st-unknown{border-left-color:#8a8f9c}"
    /* TV: big, dark, nothing to click. */
    "body.tv{background:#0e1014;color:#f1f3f7;font-size:1.6em}"
    "body.tv header.top{background:#1a1e27}body.tv .dim{color:#a9b0bf}"
    "body.tv "
    ".tile{background:#1b1f29;border-top-color:#2a2f3b;border-right-color:#2a2f3b;"
    "border-bottom-color:#2a2f3b;width:14em}"
    "body.tv .placeholder{color:#a9b0bf}body.tv footer{color:#a9b0bf}"
    "body.tv .bar{background:#2a2f3b}"
    "body.tv .oee-hi{color:#5fd184}body.tv .oee-mid{color:#f0b44c}"
    "body.tv .oee-lo{color:#ff8a8f}"
    /* Phones: one column, tables scroll sideways. */
    "@media (max-width:640px){header.top h1,header.top nav,.who{float:none}"
    ".who{display:block}.tile{width:100%}main{padding:.5em}"
    "body.tv{font-size:1.1em}}"
    /* Paper: black on white, no navigation, A4. */
    "@media print{@page{size:A4;margin:12mm}body,body.tv{background:#fff;color:#000;"
    "font-size:10pt}header.top{background:#fff;color:#000;border-bottom:1px solid #000;"
    "padding:0 0 .3em}header.top nav,.who,.noprint,a.csv{display:none}main{padding:.5em "
    "0}"
    ".tile,body.tv .tile{break-inside:avoid;background:#fff;border-top-color:#000;"
    "border-right-color:#000;border-bottom-color:#000}"
    ".t th{background:#fff}a{color:#000;text-decoration:none}}";

const char layout_js[] =
    "/* linebeat: sortable tables.  Pages work without this file. */\n"
    "(function () {\n"
    "  'use strict';\n"
    "  function cellKey(td) {\n"
    "    var v = td.getAttribute('data-v');\n"
    "    if (v === null) v = td.textContent.replace(/^\\s+|\\s+$/g, '');\n"
    "    var c = v.replace(/[\\s\\u202f]/g, '').replace(/%$/, '');\n"
    "    if (/^[-+]?\\d+(\\.\\d+)?$/.test(c)) return {n: parseFloat(c), s: v};\n"
    "    return {n: null, s: v.toLowerCase()};\n"
    "  }\n"
    "  function compare(a, b) {\n"
    "    if (a.n !== null && b.n !== null) return a.n - b.n;\n"
    "    if (a.n !== null) return -1;\n"
    "    if (b.n !== null) return 1;\n"
    "    return a.s < b.s ? -1 : a.s > b.s ? 1 : 0;\n"
    "  }\n"
    "  function sortBy(table, th, col) {\n"
    "    var body = table.tBodies[0], rows = [], i;\n"
    "    var asc = th.getAttribute('aria-sort') !== 'ascending';\n"
    "    var heads = table.tHead.rows[0].cells;\n"
    "    for (i = 0; i < heads.length; i++) heads[i].removeAttribute('aria-sort');\n"
    "    th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');\n"
    "    for (i = 0; i < body.rows.length; i++)\n"
    "      rows.push({r: body.rows[i], k: cellKey(body.rows[i].cells[col]), i: i});\n"
    "    rows.sort(function (x, y) {\n"
    "      var d = compare(x.k, y.k);\n"
    "      return (asc ? d : -d) || x.i - y.i;\n"
    "    });\n"
    "    for (i = 0; i < rows.length; i++) body.appendChild(rows[i].r);\n"
    "  }\n"
    "  var tables = document.querySelectorAll('table.sortable'), t, h;\n"
    "  for (t = 0; t < tables.length; t++) {\n"
    "    if (!tables[t].tHead || !tables[t].tBodies.length) continue;\n"
    "    var heads = tables[t].tHead.rows[0].cells;\n"
    "    for (h = 0; h < heads.length; h++) {\n"
    "      heads[h].tabIndex = 0;\n"
    "      heads[h].title = 'Sort';\n"
    "      (function (table, th, col) {\n"
    "        function go() { sortBy(table, th, col); }\n"
    "        th.addEventListener('click', go);\n"
    "        th.addEventListener('keydown', function (e) {\n"
    "          if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); go(); }\n"
    "        });\n"
    "      })(tables[t], heads[h], h);\n"
    "    }\n"
    "  }\n"
    "})();\n";

void layout_begin(struct buf *b, const struct layout *l)
{
    size_t i;

    buf_puts(b,
             "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">");
    if (l->refresh_s > 0)
        buf_printf(b, "<meta http-equiv=\"refresh\" content=\"%d\">", l->refresh_s);
    buf_puts(b, "<link rel=\"icon\" href=\"data:,\"><title>");
    buf_html(b, l->title);
    buf_puts(b, " &ndash; linebeat</title><style>");
    buf_puts(b, css);
    buf_puts(b, "</style>");
    if (!l->tv)
        buf_puts(b, "<script src=\"/static/app.js\" defer></script>");
    buf_printf(b, "</head><body%s><header class=\"top\"><h1>",
               l->tv ? " class=\"tv\"" : "");
    buf_html(b, l->title);
    buf_puts(b, "</h1>");
    if (l->sess != NULL && !l->tv) {
        buf_puts(b, "<nav>");
        for (i = 0; i < sizeof(nav) / sizeof(nav[0]); i++) {
            if (l->sess->role < nav[i].min)
                continue;
            buf_printf(b, "<a href=\"%s\"%s>%s</a>", nav[i].href,
                       l->active && strcmp(l->active, nav[i].key) == 0 ? " class=\"on\""
                                                                       : "",
                       nav[i].label);
        }
        buf_puts(b, "</nav><span class=\"who\">");
        buf_html(b, l->sess->user);
        buf_puts(b, " <span class=\"dim\">(");
        buf_puts(b, auth_role_name(l->sess->role));
        buf_puts(b, ")</span><form class=\"inline\" method=\"post\" action=\"/logout\">");
        layout_csrf(b, l->sess);
        buf_puts(b, "<button type=\"submit\">Log out</button></form></span>");
    }
    buf_puts(b, "</header>\n<main>\n");
}

void layout_end(struct buf *b, const struct layout *l, int64_t now_ms)
{
    time_t now = (time_t)(now_ms / 1000);
    struct tm tm;
    char when[40];

    localtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M %Z", &tm);
    buf_puts(b, "</main>\n<footer>");
    buf_html(b, when);
    if (l->refresh_s > 0)
        buf_printf(b, " &middot; refreshes every %d s", l->refresh_s);
    buf_puts(b, " &middot; linebeat " LB_VERSION "</footer></body></html>\n");
}

void layout_done(struct reply *rep, int status)
{
    rep->status = status;
    rep->type = CT_HTML;
    rep->html = 1;
    rep->no_store = 1;
}

void layout_time(char *out, size_t size, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (ms < 0 || localtime_r(&t, &tm) == NULL) {
        snprintf(out, size, "-");
        return;
    }
    strftime(out, size, "%Y-%m-%d %H:%M", &tm);
}

int layout_parse_local(const char *v, int64_t *ms)
{
    char day[11];
    int64_t d;
    int min;

    if (v == NULL || strlen(v) != 16 || v[10] != 'T')
        return -1;
    memcpy(day, v, 10);
    day[10] = '\0';
    if (tz_parse_day(day, &d) != 0 || tz_parse_hhmm(v + 11, &min) != 0 || min >= 1440)
        return -1;
    *ms = cal_local_ms(&plant_get()->clock, d, min);
    return 0;
}

void layout_local_input(char *out, size_t size, int64_t ms)
{
    const struct plant *pl = plant_get();
    int64_t local, mins;
    char day[16];

    if (ms < 0) {
        snprintf(out, size, "%s", "");
        return;
    }
    local = ms + (int64_t)tz_offset(pl->clock.tz, ms, NULL) * 1000;
    tz_format_day(tz_floordiv(local, 86400000), day, sizeof(day));
    mins = tz_floordiv(local, 60000) % 1440;
    if (mins < 0)
        mins += 1440;
    snprintf(out, size, "%sT%02d:%02d", day, (int)(mins / 60), (int)(mins % 60));
}

void layout_duration(char *out, size_t size, int64_t ms)
{
    int64_t s = ms < 0 ? 0 : ms / 1000;

    if (s < 60)
        snprintf(out, size, "%" PRId64 " s", s);
    else if (s < 3600)
        snprintf(out, size, "%" PRId64 " min", s / 60);
    else if (s < 86400)
        snprintf(out, size, "%" PRId64 " h %02" PRId64 " min", s / 3600, s % 3600 / 60);
    else
        snprintf(out, size, "%" PRId64 " d %" PRId64 " h", s / 86400, s % 86400 / 3600);
}

void layout_int(struct buf *b, int64_t v)
{
    char digits[24];
    int n, i;

    n = snprintf(digits, sizeof(digits), "%" PRId64, v);
    for (i = 0; i < n; i++) {
        int left = n - i; /* digits from here to the end */

        buf_add(b, &digits[i], 1);
        if (left > 1 && (left - 1) % 3 == 0 && digits[i] != '-')
            buf_puts(b, "&#8239;"); /* narrow no-break space */
    }
}

void layout_csrf(struct buf *b, const struct session *s)
{
    buf_puts(b, "<input type=\"hidden\" name=\"csrf\" value=\"");
    buf_html(b, s ? s->csrf : "");
    buf_puts(b, "\">");
}

void layout_csv_link(struct buf *b, const char *href)
{
    buf_puts(b, "<a class=\"csv\" href=\"");
    buf_html(b, href);
    buf_puts(b, "\" download>Download CSV</a>");
}
