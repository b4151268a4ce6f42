/*
 * Error codes shared by every linebeat module.  Functions return 0 on
 * success and a negative code on failure: either -errno or one of the
 * LB_E_* values below, which lie outside the errno range.
 */
#ifndef LINEBEAT_ERROR_H
#define LINEBEAT_ERROR_H

enum {
    LB_E_BASE = 10000,
    LB_E_PARSE = -(LB_E_BASE + 1),   /* malformed input (JSON, INI, scan) */
    LB_E_RANGE = -(LB_E_BASE + 2),   /* a value outside its bounds */
    LB_E_TOOBIG = -(LB_E_BASE + 3),  /* input larger than the contract allows */
    LB_E_DB = -(LB_E_BASE + 4),      /* SQLite failed; details were logged */
    LB_E_CORRUPT = -(LB_E_BASE + 5), /* a file is damaged or of an unknown schema */
    LB_E_MODBUS = -(LB_E_BASE + 6),  /* a Modbus exception reply */
    LB_E_MQTT = -(LB_E_BASE + 7),    /* paho refused an operation */
    LB_E_FULL = -(LB_E_BASE + 8),    /* a bounded store is full */
    LB_E_CONFIG = -(LB_E_BASE + 9),  /* a configuration error; details were printed */
    LB_E_BUSY = -(LB_E_BASE + 10),   /* another process holds it */
};

/* Returns a static description of code (negative errno or LB_E_*). */
const char *lb_strerror(int code);

#endif
