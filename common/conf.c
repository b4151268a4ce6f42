/*
 * Table-driven INI reading.  inih splits "key = value" and strips comments;
 * our line reader in front of it sees every raw line first, so it can count
 * lines (inih's handler does not get them in Debian's build), recognise
 * section headers (including empty sections, which inih never reports) and
 * reject lines inih would silently truncate or fold.  Lines it rejects reach
 * inih as blank lines.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "linebeat/conf.h"
#include "linebeat/error.h"
#include "linebeat/wire.h"

#define MAX_INSTANCES 512
#define LINE_MAX_LEN  1024

struct instance {
    const struct lb_conf_section *def;
    void *obj;
    int line;
    uint64_t seen; /* bit per key index; tables hold at most 64 keys */
    char id[LB_ID_MAX + 1];
};

struct parse {
    const char *path;
    FILE *f;
    const struct lb_conf_section *sections;
    size_t nsections;
    void *ctx;
    struct lb_conf_errors *err;
    int line;
    int skip_line;      /* the reader rejected this line: ignore handler calls */
    int in_bad_section; /* keys of an unknown or refused section are not reported */
    struct instance *cur;
    size_t ninst;
    struct instance inst[MAX_INSTANCES];
};

static char *reader(char *str, int num, void *stream);
static int handler(void *user, const char *section, const char *name, const char *value);
static void start_section(struct parse *ps, char *text);
static int set_value(const struct lb_conf_key *k, void *obj, const char *value, char *why,
                     size_t whylen);
static const struct lb_conf_key *find_key(const struct lb_conf_section *s,
                                          const char *name, size_t *idx);
static char *trim(char *s);

void lb_conf_error(struct lb_conf_errors *err, const char *path, int line,
                   const char *key, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    err->count++;
    if (err->len >= sizeof(err->text) - 1)
        return;
    if (line > 0)
        n = snprintf(err->text + err->len, sizeof(err->text) - err->len,
                     "%s:%d: %s: %s\n", path, line, key, msg);
    else
        n = snprintf(err->text + err->len, sizeof(err->text) - err->len, "%s: %s: %s\n",
                     path, key, msg);
    if (n > 0)
        err->len += (size_t)n;
    if (err->len >= sizeof(err->text))
        err->len = sizeof(err->text) - 1;
}

static char *trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static const struct lb_conf_key *find_key(const struct lb_conf_section *s,
                                          const char *name, size_t *idx)
{
    for (size_t i = 0; i < s->nkeys; i++) {
        if (strcmp(s->keys[i].name, name) == 0) {
            *idx = i;
            return &s->keys[i];
        }
    }
    return NULL;
}

static int set_value(const struct lb_conf_key *k, void *obj, const char *value, char *why,
                     size_t whylen)
{
    char *field = (char *)obj + k->offset;

    switch (k->type) {
    case LB_CONF_STR:
    case LB_CONF_ID: {
        size_t max = k->max > 0 ? (size_t)k->max : 255;

        if (strlen(value) > max) {
            snprintf(why, whylen, "longer than %zu characters", max);
            return -1;
        }
        if (k->type == LB_CONF_ID && !lb_id_valid(value)) {
            snprintf(why, whylen, "'%s' is not a valid id (letters, digits, _ . -)",
                     value);
            return -1;
        }
        memcpy(field, value, strlen(value) + 1);
        return 0;
    }
    case LB_CONF_INT: {
        char *end;
        long long v;

        errno = 0;
        v = strtoll(value, &end, 10);
        if (*value == '\0' || *end != '\0' || errno == ERANGE) {
            snprintf(why, whylen, "'%s' is not a whole number", value);
            return -1;
        }
        if (v < k->min || v > k->max) {
            snprintf(why, whylen, "%lld is out of range (%" PRId64 " to %" PRId64 ")", v,
                     k->min, k->max);
            return -1;
        }
        memcpy(field, &(int64_t){v}, sizeof(int64_t));
        return 0;
    }
    case LB_CONF_BOOL: {
        static const char *const yes[] = {"yes", "true", "on", "1"};
        static const char *const no[] = {"no", "false", "off", "0"};

        for (int i = 0; i < 4; i++) {
            if (strcasecmp(value, yes[i]) == 0 || strcasecmp(value, no[i]) == 0) {
                memcpy(field, &(int){strcasecmp(value, yes[i]) == 0}, sizeof(int));
                return 0;
            }
        }
        snprintf(why, whylen, "'%s' is not yes or no", value);
        return -1;
    }
    case LB_CONF_ENUM: {
        size_t len = 0;

        for (int i = 0; k->choices[i] != NULL; i++) {
            if (strcmp(value, k->choices[i]) == 0) {
                memcpy(field, &i, sizeof(int));
                return 0;
            }
        }
        len = (size_t)snprintf(why, whylen, "'%s' is not one of", value);
        for (int i = 0; k->choices[i] != NULL && len < whylen; i++)
            len += (size_t)snprintf(why + len, whylen - len, "%s %s", i ? "," : "",
                                    k->choices[i]);
        return -1;
    }
    }
    snprintf(why, whylen, "unsupported key type");
    return -1;
}

void lb_conf_defaults(const struct lb_conf_key *keys, size_t nkeys, void *obj)
{
    char why[256];

    for (size_t i = 0; i < nkeys; i++) {
        char *field = (char *)obj + keys[i].offset;

        if (keys[i].def == NULL ||
            set_value(&keys[i], obj, keys[i].def, why, sizeof(why))) {
            switch (keys[i].type) {
            case LB_CONF_STR:
            case LB_CONF_ID:
                field[0] = '\0';
                break;
            case LB_CONF_INT:
                memset(field, 0, sizeof(int64_t));
                break;
            default:
                memset(field, 0, sizeof(int));
            }
        }
    }
}

static void start_section(struct parse *ps, char *text)
{
    char err[256] = "";
    char *name = text, *id = NULL, *sp;
    const struct lb_conf_section *def = NULL;
    struct instance *in;
    void *obj;

    ps->cur = NULL;
    ps->in_bad_section = 1;
    sp = strpbrk(name, " \t");
    if (sp != NULL) {
        *sp = '\0';
        id = trim(sp + 1);
    }
    for (size_t i = 0; i < ps->nsections; i++)
        if (strcmp(ps->sections[i].name, name) == 0)
            def = &ps->sections[i];
    if (def == NULL) {
        lb_conf_error(ps->err, ps->path, ps->line, name, "unknown section");
        return;
    }
    if (def->multi && (id == NULL || !lb_id_valid(id))) {
        lb_conf_error(ps->err, ps->path, ps->line, name,
                      "needs a valid id: [%s NAME] with letters, digits, _ . -", name);
        return;
    }
    if (!def->multi && id != NULL) {
        lb_conf_error(ps->err, ps->path, ps->line, name, "takes no id: write [%s]", name);
        return;
    }
    for (size_t i = 0; i < ps->ninst; i++) {
        in = &ps->inst[i];
        if (in->def == def && (!def->multi || strcmp(in->id, id) == 0)) {
            lb_conf_error(ps->err, ps->path, ps->line, name,
                          "section repeated (first at line %d)", in->line);
            return;
        }
    }
    if (ps->ninst == MAX_INSTANCES) {
        lb_conf_error(ps->err, ps->path, ps->line, name, "too many sections");
        return;
    }
    obj = def->instance(ps->ctx, id, err, sizeof(err));
    if (obj == NULL) {
        lb_conf_error(ps->err, ps->path, ps->line, name, "%s", err[0] ? err : "refused");
        return;
    }
    lb_conf_defaults(def->keys, def->nkeys, obj);
    in = &ps->inst[ps->ninst++];
    memset(in, 0, sizeof(*in));
    in->def = def;
    in->obj = obj;
    in->line = ps->line;
    if (id != NULL)
        snprintf(in->id, sizeof(in->id), "%s", id);
    ps->cur = in;
    ps->in_bad_section = 0;
}

/* Reads one raw line for inih and vets it; see the comment at the top. */
static char *reader(char *str, int num, void *stream)
{
    struct parse *ps = stream;
    char buf[LINE_MAX_LEN + 2];
    char *s;
    size_t len;

    if (fgets(buf, sizeof(buf), ps->f) == NULL)
        return NULL;
    ps->line++;
    ps->skip_line = 0;
    len = strlen(buf);
    if (len > 0 && buf[len - 1] != '\n' && !feof(ps->f)) {
        int c;

        while ((c = fgetc(ps->f)) != EOF && c != '\n')
            ;
        lb_conf_error(ps->err, ps->path, ps->line, "line", "longer than %d characters",
                      LINE_MAX_LEN);
        goto skip;
    }
    s = trim(buf);
    if (*s == '\0' || *s == ';' || *s == '#')
        goto skip;
    if (*s == '[') {
        char *close = strchr(s, ']');

        if (close == NULL || *trim(close + 1) != '\0') {
            lb_conf_error(ps->err, ps->path, ps->line, "section", "malformed header '%s'",
                          s);
            ps->cur = NULL;
            ps->in_bad_section = 1;
            goto skip;
        }
        *close = '\0';
        start_section(ps, trim(s + 1));
        goto skip; /* inih need not see it: keys are routed through ps->cur */
    }
    if (strchr(s, '=') == NULL) {
        lb_conf_error(ps->err, ps->path, ps->line, "line", "expected 'key = value'");
        goto skip;
    }
    if (strlen(s) + 2 > (size_t)num) {
        /* inih's own line buffer is smaller than ours. */
        lb_conf_error(ps->err, ps->path, ps->line, "line", "longer than %d characters",
                      num - 2);
        goto skip;
    }
    snprintf(str, (size_t)num, "%s\n", s);
    return str;
skip:
    ps->skip_line = 1;
    snprintf(str, (size_t)num, "\n");
    return str;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct parse *ps = user;
    struct instance *in = ps->cur;
    const struct lb_conf_key *k;
    char why[512] = "";
    size_t idx;

    (void)section;
    if (ps->skip_line)
        return 1;
    if (in == NULL) {
        if (!ps->in_bad_section)
            lb_conf_error(ps->err, ps->path, ps->line, name, "key outside any section");
        return 1;
    }
    if (*name == '\0') {
        lb_conf_error(ps->err, ps->path, ps->line, "line", "empty key name");
        return 1;
    }
    k = find_key(in->def, name, &idx);
    if (k == NULL) {
        if (in->def->other == NULL) {
            lb_conf_error(ps->err, ps->path, ps->line, name, "unknown key in [%s]",
                          in->def->name);
        } else if (in->def->other(ps->ctx, in->obj, name, value, why, sizeof(why)) != 0) {
            lb_conf_error(ps->err, ps->path, ps->line, name, "%s", why);
        }
        return 1;
    }
    if (in->seen & (UINT64_C(1) << idx)) {
        lb_conf_error(ps->err, ps->path, ps->line, name, "set twice in [%s]",
                      in->def->name);
        return 1;
    }
    in->seen |= UINT64_C(1) << idx;
    if (set_value(k, in->obj, value, why, sizeof(why)) != 0)
        lb_conf_error(ps->err, ps->path, ps->line, name, "%s", why);
    return 1;
}

int lb_conf_read(const char *path, const struct lb_conf_section *sections, size_t n,
                 void *ctx, struct lb_conf_errors *err)
{
    struct parse *ps;
    int rc = 0;

    ps = calloc(1, sizeof(*ps));
    if (ps == NULL)
        return -ENOMEM;
    ps->path = path;
    ps->sections = sections;
    ps->nsections = n;
    ps->ctx = ctx;
    ps->err = err;
    ps->f = fopen(path, "r");
    if (ps->f == NULL) {
        rc = -errno;
        lb_conf_error(err, path, 0, "file", "cannot open: %s", strerror(errno));
        goto out;
    }
    ini_parse_stream(reader, ps, handler, ps);
    if (ferror(ps->f)) {
        rc = -EIO;
        lb_conf_error(err, path, 0, "file", "read error");
        goto out;
    }

    /* Single sections that never appeared still get their defaults. */
    for (size_t i = 0; i < n; i++) {
        int found = 0;

        if (sections[i].multi)
            continue;
        for (size_t j = 0; j < ps->ninst; j++)
            found |= ps->inst[j].def == &sections[i];
        if (!found && ps->ninst < MAX_INSTANCES) {
            char why[256] = "";
            void *obj = sections[i].instance(ctx, NULL, why, sizeof(why));

            if (obj == NULL) {
                lb_conf_error(err, path, 0, sections[i].name, "%s",
                              why[0] ? why : "section missing");
                continue;
            }
            lb_conf_defaults(sections[i].keys, sections[i].nkeys, obj);
            ps->inst[ps->ninst++] = (struct instance){.def = &sections[i], .obj = obj};
        }
    }
    for (size_t j = 0; j < ps->ninst; j++) {
        const struct instance *in = &ps->inst[j];

        for (size_t k = 0; k < in->def->nkeys; k++) {
            if (in->def->keys[k].def == NULL && !(in->seen & (UINT64_C(1) << k))) {
                if (in->line > 0)
                    lb_conf_error(err, path, in->line, in->def->keys[k].name,
                                  "required in [%s%s%s]", in->def->name,
                                  in->id[0] ? " " : "", in->id);
                else
                    lb_conf_error(err, path, 0, in->def->keys[k].name,
                                  "required: add it to a [%s] section", in->def->name);
            }
        }
    }
out:
    if (ps->f != NULL)
        fclose(ps->f);
    free(ps);
    if (rc == 0 && err->count > 0)
        rc = LB_E_CONFIG;
    return rc;
}

void lb_conf_print(const struct lb_conf_key *keys, size_t nkeys, const void *obj,
                   void *stream)
{
    FILE *f = stream;

    for (size_t i = 0; i < nkeys; i++) {
        const char *field = (const char *)obj + keys[i].offset;
        int iv;
        int64_t lv;

        switch (keys[i].type) {
        case LB_CONF_STR:
        case LB_CONF_ID:
            fprintf(f, "%s = %s\n", keys[i].name, field);
            break;
        case LB_CONF_INT:
            memcpy(&lv, field, sizeof(lv));
            fprintf(f, "%s = %" PRId64 "\n", keys[i].name, lv);
            break;
        case LB_CONF_BOOL:
            memcpy(&iv, field, sizeof(iv));
            fprintf(f, "%s = %s\n", keys[i].name, iv ? "yes" : "no");
            break;
        case LB_CONF_ENUM:
            memcpy(&iv, field, sizeof(iv));
            fprintf(f, "%s = %s\n", keys[i].name, keys[i].choices[iv]);
            break;
        }
    }
}
