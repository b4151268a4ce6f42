/*
 * linebeat-agent probe: one read, every interpretation (see probe.h).
 *
 * The table has one row per register: its hex word, u16 and i16, and the
 * two characters it holds; then, for the 32-bit value that starts there,
 * one row per byte/word order with u32, i32 and float32, and u64 where
 * four registers start there.  The orders are those of profile files
 * (docs/profiles.md): a technician who sees the expected count in the
 * "CDAB u32" cell of address 100 writes address = 100, type = u32,
 * order = CDAB.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linebeat/device.h"
#include "linebeat/error.h"
#include "linebeat/log.h"
#include "linebeat/profile.h"
#include "probe.h"

static const enum lb_order orders[] = {LB_ORDER_ABCD, LB_ORDER_CDAB, LB_ORDER_BADC,
                                       LB_ORDER_DCBA};

static void usage(FILE *f);
static int parse_int(const char *opt, const char *s, long min, long max, long *out);
static char printable(unsigned c);
static void print_pair(FILE *f, const uint16_t *regs, int i, int count, enum lb_order o);

static void usage(FILE *f)
{
    fprintf(f,
            "usage: linebeat-agent probe --host HOST [--port N] [options]\n"
            "       linebeat-agent probe --device PATH [--baud N] [--parity N|E|O]\n"
            "                            [--data-bits 7|8] [--stop-bits 1|2] [--rs485] "
            "[options]\n"
            "Reads one block from a Modbus device and prints every way to read it.\n"
            "  --area AREA        holding (default), input, coil or discrete\n"
            "  --address A        first address, 0-based as in profiles (default 0;\n"
            "                     decimal or 0x hex)\n"
            "  --count N          registers (1-125) or bits (1-2000) (default 10)\n"
            "  --unit N           unit (slave) id (default 1)\n"
            "  --timeout-ms N     response timeout (default: as the agent's)\n"
            "  -d, --debug        log the Modbus exchange's failures\n");
}

static int parse_int(const char *opt, const char *s, long min, long max, long *out)
{
    int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    char *end;
    long v;

    errno = 0;
    v = strtol(hex ? s + 2 : s, &end, hex ? 16 : 10);
    if (s[0] == '\0' || *end != '\0' || errno != 0 || v < min || v > max) {
        fprintf(stderr,
                "linebeat-agent probe: --%s: '%s' is not a number from %ld to %ld\n", opt,
                s, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

static char printable(unsigned c)
{
    return c >= 0x20 && c < 0x7f ? (char)c : '.';
}

/* One order's row for the 32-bit (and 64-bit) value starting at regs[i]. */
static void print_pair(FILE *f, const uint16_t *regs, int i, int count, enum lb_order o)
{
    struct lb_value v = {.present = 1, .order = o, .scale = 1.0};
    uint64_t raw;
    char u64[24] = "";
    float fl;
    uint32_t bits;

    v.type = LB_T_U32;
    lb_value_decode(&v, &regs[i], &raw);
    bits = (uint32_t)raw;
    memcpy(&fl, &bits, sizeof(fl));
    if (i + 4 <= count) {
        uint64_t r64;

        v.type = LB_T_U64;
        lb_value_decode(&v, &regs[i], &r64);
        snprintf(u64, sizeof(u64), "%" PRIu64, r64);
    }
    fprintf(f, "%-4s %11" PRIu32 " %12" PRId32 " %15.7g", lb_order_name(o), bits,
            (int32_t)bits, (double)fl);
    if (u64[0] != '\0')
        fprintf(f, " %21s", u64);
}

void probe_print(FILE *f, enum lb_area area, int address, const uint16_t *regs, int count)
{
    if (area == LB_AREA_COIL || area == LB_AREA_DISCRETE) {
        fprintf(f, "%6s  %s\n", "addr", "value");
        for (int i = 0; i < count; i++)
            fprintf(f, "%6d  %u\n", address + i, regs[i] != 0);
        return;
    }
    fprintf(f, "%6s  %6s  %6s  %7s  %-4s  %-4s %11s %12s %15s %21s\n", "addr", "hex",
            "u16", "i16", "text", "32:", "u32", "i32", "float32", "u64 (4 registers)");
    for (int i = 0; i < count; i++) {
        uint16_t w = regs[i];

        fprintf(f, "%6d  0x%04X  %6u  %7d  \"%c%c\"", address + i, w, w, (int16_t)w,
                printable(w >> 8), printable(w & 0xff));
        if (i + 1 >= count) {
            fputc('\n', f);
            continue;
        }
        fputs("  ", f);
        for (size_t k = 0; k < sizeof(orders) / sizeof(orders[0]); k++) {
            if (k > 0)
                fprintf(f, "%6s  %6s  %6s  %7s  %4s  ", "", "", "", "", "");
            print_pair(f, regs, i, count, orders[k]);
            fputc('\n', f);
        }
    }
    /* Strings (serial numbers, recipe names) span registers. */
    fprintf(f, "\ntext, high byte first: \"");
    for (int i = 0; i < count; i++)
        fprintf(f, "%c%c", printable(regs[i] >> 8), printable(regs[i] & 0xff));
    fprintf(f, "\"\ntext, low byte first:  \"");
    for (int i = 0; i < count; i++)
        fprintf(f, "%c%c", printable(regs[i] & 0xff), printable(regs[i] >> 8));
    fprintf(f, "\"\n");
}

int probe_main(int argc, char **argv)
{
    enum {
        O_HOST = 256,
        O_PORT,
        O_DEVICE,
        O_BAUD,
        O_PARITY,
        O_DATA,
        O_STOP,
        O_RS485,
        O_UNIT,
        O_AREA,
        O_ADDRESS,
        O_COUNT,
        O_TIMEOUT,
        O_HELP
    };
    static const struct option opts[] = {
        {"host", required_argument, NULL, O_HOST},
        {"port", required_argument, NULL, O_PORT},
        {"device", required_argument, NULL, O_DEVICE},
        {"baud", required_argument, NULL, O_BAUD},
        {"parity", required_argument, NULL, O_PARITY},
        {"data-bits", required_argument, NULL, O_DATA},
        {"stop-bits", required_argument, NULL, O_STOP},
        {"rs485", no_argument, NULL, O_RS485},
        {"unit", required_argument, NULL, O_UNIT},
        {"area", required_argument, NULL, O_AREA},
        {"address", required_argument, NULL, O_ADDRESS},
        {"count", required_argument, NULL, O_COUNT},
        {"timeout-ms", required_argument, NULL, O_TIMEOUT},
        {"debug", no_argument, NULL, 'd'},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    struct lb_modbus_link link;
    struct lb_profile *prof = NULL;
    struct lb_device *dev = NULL;
    uint16_t regs[2000];
    enum lb_area area = LB_AREA_HOLDING;
    long address = 0, count = 10, v;
    int rtu = 0, debug = 0, c, rc, status = 2;

    memset(&link, 0, sizeof(link));
    link.port = 502;
    link.unit = 1;
    link.baud = 19200;
    link.parity = 'E';
    link.data_bits = 8;
    link.stop_bits = 1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d", opts, NULL)) != -1) {
        switch (c) {
        case O_HOST:
            snprintf(link.host, sizeof(link.host), "%s", optarg);
            break;
        case O_PORT:
            if (parse_int("port", optarg, 1, 65535, &v) != 0)
                goto out;
            link.port = (int)v;
            break;
        case O_DEVICE:
            snprintf(link.device, sizeof(link.device), "%s", optarg);
            rtu = 1;
            break;
        case O_BAUD:
            if (parse_int("baud", optarg, 1, 4000000, &v) != 0)
                goto out;
            if (!lb_modbus_baud_valid((int)v)) {
                fprintf(stderr,
                        "linebeat-agent probe: --baud: %ld is not a standard "
                        "rate\n",
                        v);
                goto out;
            }
            link.baud = (int)v;
            break;
        case O_PARITY:
            if (strlen(optarg) != 1 ||
                strchr("NEO", toupper((unsigned char)optarg[0])) == NULL) {
                fprintf(stderr, "linebeat-agent probe: --parity: N, E or O\n");
                goto out;
            }
            link.parity = (char)toupper((unsigned char)optarg[0]);
            break;
        case O_DATA:
            if (parse_int("data-bits", optarg, 7, 8, &v) != 0)
                goto out;
            link.data_bits = (int)v;
            break;
        case O_STOP:
            if (parse_int("stop-bits", optarg, 1, 2, &v) != 0)
                goto out;
            link.stop_bits = (int)v;
            break;
        case O_RS485:
            link.rs485 = 1;
            break;
        case O_UNIT:
            if (parse_int("unit", optarg, 0, 255, &v) != 0)
                goto out;
            link.unit = (int)v;
            break;
        case O_AREA: {
            int i;

            for (i = 0; i < 4; i++)
                if (strcmp(optarg, lb_area_name((enum lb_area)i)) == 0)
                    break;
            if (i == 4) {
                fprintf(stderr, "linebeat-agent probe: --area: holding, input, coil or "
                                "discrete\n");
                goto out;
            }
            area = (enum lb_area)i;
            break;
        }
        case O_ADDRESS:
            if (parse_int("address", optarg, 0, 65535, &address) != 0)
                goto out;
            break;
        case O_COUNT:
            if (parse_int("count", optarg, 1, 2000, &count) != 0)
                goto out;
            break;
        case O_TIMEOUT:
            if (parse_int("timeout-ms", optarg, 1, 60000, &v) != 0)
                goto out;
            link.timeout_ms = (int)v;
            break;
        case 'd':
            debug = 1;
            break;
        case O_HELP:
            usage(stdout);
            status = 0;
            goto out;
        default:
            usage(stderr);
            goto out;
        }
    }
    if (optind != argc || (link.host[0] == '\0') == !rtu) {
        fprintf(stderr, "linebeat-agent probe: give --host or --device (one of them)\n");
        usage(stderr);
        goto out;
    }
    if ((area == LB_AREA_HOLDING || area == LB_AREA_INPUT) && count > 125) {
        fprintf(stderr, "linebeat-agent probe: --count: at most 125 registers\n");
        goto out;
    }
    if (address + count > 65536) {
        fprintf(stderr, "linebeat-agent probe: the block runs past address 65535\n");
        goto out;
    }
    if (rtu && (link.unit < 1 || link.unit > 247)) {
        fprintf(stderr, "linebeat-agent probe: --unit: 1 to 247 on a serial line\n");
        goto out;
    }

    status = 1;
    log_init("linebeat-agent", 1, debug ? LB_LOG_DEBUG : LB_LOG_WARN);
    prof = calloc(1, sizeof(*prof)); /* no values: only blocks are read */
    if (prof == NULL) {
        fprintf(stderr, "linebeat-agent probe: out of memory\n");
        goto out;
    }
    dev = rtu ? lb_modbus_rtu_new(&link, prof, NULL) : lb_modbus_tcp_new(&link, prof);
    if (dev == NULL) {
        fprintf(stderr, "linebeat-agent probe: %s\n", strerror(errno));
        goto out;
    }
    rc = lb_device_read_block(dev, area, (int)address, (int)count, regs);
    if (rc != 0) {
        fprintf(stderr, "linebeat-agent probe: reading %s %ld+%ld from %s unit %d: %s\n",
                lb_area_name(area), address, count, rtu ? link.device : link.host,
                link.unit,
                lb_device_strerror(dev)[0] ? lb_device_strerror(dev) : lb_strerror(rc));
        goto out;
    }
    if (rtu)
        printf("%s %d %d%c%d unit %d, %s %ld to %ld\n\n", link.device, link.baud,
               link.data_bits, link.parity, link.stop_bits, link.unit, lb_area_name(area),
               address, address + count - 1);
    else
        printf("%s:%d unit %d, %s %ld to %ld\n\n", link.host, link.port, link.unit,
               lb_area_name(area), address, address + count - 1);
    probe_print(stdout, area, (int)address, regs, (int)count);
    status = fflush(stdout) == 0 ? 0 : 1;
out:
    lb_device_free(dev);
    free(prof);
    return status;
}
