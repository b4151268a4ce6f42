/* lb_strerror: one table for linebeat's own codes, strerror for errno. */
#include <string.h>

#include "linebeat/error.h"

const char *lb_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
    case LB_E_PARSE:
        return "malformed input";
    case LB_E_RANGE:
        return "value out of range";
    case LB_E_TOOBIG:
        return "input too large";
    case LB_E_DB:
        return "database error";
    case LB_E_CORRUPT:
        return "file damaged or of unknown schema";
    case LB_E_MODBUS:
        return "Modbus exception";
    case LB_E_MQTT:
        return "MQTT error";
    case LB_E_FULL:
        return "store full";
    case LB_E_CONFIG:
        return "configuration error";
    case LB_E_BUSY:
        return "in use by another process";
    }
    if (code < 0 && code > -LB_E_BASE)
        return strerror(-code);
    return "unknown error";
}
