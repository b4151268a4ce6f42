/*
 * libFuzzer target for the profile reader (devices/profile.c on top of the
 * conf engine).  Each input is written to an in-memory file and loaded.
 * Whatever the input, the reader must return 0 or LB_E_CONFIG; an accepted
 * profile must satisfy every rule of docs/profiles.md, and a rejected one
 * must say why in "file:..." lines.  A broken promise aborts, which
 * libFuzzer reports.
 */
#define _GNU_SOURCE /* memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "linebeat/error.h"
#include "linebeat/profile.h"
#include "linebeat/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *detail) __attribute__((noreturn));
static void check_accepted(const struct lb_profile *p);
static void check_rejected(const struct lb_conf_errors *err, const char *path);

static int fd = -1;
static char path[64];

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_profile: %s: %s\n", what, detail ? detail : "");
    abort();
}

static void check_accepted(const struct lb_profile *p)
{
    if (!lb_id_valid(p->name))
        die("accepted an invalid name", p->name);
    for (int r = 0; r < LB_ROLE_COUNT; r++) {
        const struct lb_value *v = &p->values[r];
        int bit_area = v->area == LB_AREA_COIL || v->area == LB_AREA_DISCRETE;

        if (!v->present)
            continue;
        if ((unsigned)v->address + lb_vtype_words(v->type) - 1 > 65535)
            die("accepted a value past 65535", lb_role_name((enum lb_role)r));
        if (bit_area != (v->type == LB_T_BOOL))
            die("accepted a type in the wrong area", lb_role_name((enum lb_role)r));
        if (!(v->scale == v->scale) || v->scale == 0.0)
            die("accepted a bad scale", lb_role_name((enum lb_role)r));
        if (r <= LB_ROLE_SCRAP && v->type != LB_T_U16 && v->type != LB_T_U32 &&
            v->type != LB_T_U64)
            die("accepted a signed counter", lb_role_name((enum lb_role)r));
    }
    if (!p->values[LB_ROLE_GOOD].present && !p->values[LB_ROLE_TOTAL].present)
        die("accepted a profile without good or total", p->name);
    if (p->nstates > LB_PROFILE_MAX_STATES || p->nreasons > LB_PROFILE_MAX_REASONS)
        die("map overflow", p->name);
    for (size_t i = 0; i < p->nstates; i++) {
        const struct lb_state_map *m = &p->states[i];

        if (lb_profile_state(p, m->code) != m)
            die("duplicate state code accepted", p->name);
        if ((unsigned)m->state >= LB_ST_COUNT)
            die("bad state", p->name);
        if (m->reason[0] != '\0' && !lb_id_valid(m->reason))
            die("bad reason accepted", m->reason);
    }
    for (size_t i = 0; i < p->nreasons; i++)
        if (lb_profile_reason(p, p->reasons[i].code) != &p->reasons[i] ||
            !lb_id_valid(p->reasons[i].reason))
            die("bad reason map accepted", p->reasons[i].reason);
}

static void check_rejected(const struct lb_conf_errors *err, const char *file)
{
    size_t n = strlen(file);

    if (err->count <= 0 || err->text[0] == '\0')
        die("rejected without a reason", NULL);
    if (err->len != strlen(err->text))
        die("error length out of step", NULL);
    /* Every line names the file first (the buffer may cut the last one). */
    for (const char *l = err->text; *l != '\0';) {
        const char *nl = strchr(l, '\n');

        if (nl == NULL) {
            /* The last line may have been cut anywhere, even in the name. */
            size_t k = strlen(l) < n ? strlen(l) : n;

            if (strncmp(l, file, k) != 0)
                die("message without the file name", l);
            break;
        }
        if (strncmp(l, file, n) != 0 || l[n] != ':')
            die("message without the file name", l);
        l = nl + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lb_conf_errors err;
    struct lb_profile p;
    int rc;

    if (fd < 0) {
        fd = memfd_create("fuzz_profile", MFD_CLOEXEC);
        if (fd < 0)
            die("memfd_create", NULL);
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        die("writing the input", NULL);

    memset(&err, 0, sizeof(err));
    rc = lb_profile_load(path, &p, &err);
    if (rc == 0) {
        if (err.count != 0)
            die("accepted with errors", err.text);
        check_accepted(&p);
    } else if (rc == LB_E_CONFIG) {
        check_rejected(&err, path);
    } else {
        die("unexpected return code", lb_strerror(rc));
    }
    return 0;
}
