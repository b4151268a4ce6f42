/* Plant settings; see plant.h. */
#include <stdlib.h>

#include "plant.h"

static struct plant current;
static struct tz *utc;

int plant_set(const char *zone, int day_start_min, int64_t micro_stop_s,
              int64_t data_timeout_s)
{
    struct tz *tz = NULL;
    int rc;

    if ((rc = tz_load(NULL, zone, &tz)) != 0)
        return rc;
    tz_free(current.tz);
    current.tz = tz;
    current.clock.tz = tz;
    current.clock.day_start_min = day_start_min;
    current.micro_ms = micro_stop_s * 1000;
    current.timeout_ms = data_timeout_s * 1000;
    return 0;
}

const struct plant *plant_get(void)
{
    if (current.tz == NULL) {
        /* The defaults; tz_fixed only fails without memory, and then a
         * fixed static zone is not possible either. */
        if (utc == NULL && tz_fixed("UTC", 0, &utc) != 0)
            abort();
        current.tz = NULL;
        current.clock.tz = utc;
        current.clock.day_start_min = 6 * 60;
        current.micro_ms = 120000;
        current.timeout_ms = 180000;
        return &current;
    }
    return &current;
}

void plant_today(int64_t now_ms, int64_t *from, int64_t *to)
{
    const struct cal_clock *ck = &plant_get()->clock;
    int64_t d = cal_prod_day(ck, now_ms);

    *from = cal_day_start(ck, d);
    *to = cal_day_start(ck, d + 1);
}

void plant_free(void)
{
    tz_free(current.tz);
    current.tz = NULL;
    tz_free(utc);
    utc = NULL;
    current.clock.tz = NULL;
}
