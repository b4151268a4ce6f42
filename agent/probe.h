/*
 * `linebeat-agent probe`: reads one block of registers or bits from a
 * Modbus TCP or RTU device and prints every interpretation of it side by
 * side (16-bit, 32-bit and float in the four byte/word orders, 64-bit,
 * ASCII), so that a technician finds a machine's profile settings without
 * guessing.  Runs in the foreground, once; needs no configuration file.
 */
#ifndef AGENT_PROBE_H
#define AGENT_PROBE_H

#include <stdint.h>
#include <stdio.h>

#include "linebeat/profile.h"

/* Runs the probe command; argv[0] is "probe".  Returns the exit status:
 * 0, 1 when the device cannot be read, 2 on a usage error. */
int probe_main(int argc, char **argv);

/*
 * Prints the table for count registers (or bits, one per element) of area
 * read from address to f.  Separate from the I/O for the unit test.
 */
void probe_print(FILE *f, enum lb_area area, int address, const uint16_t *regs,
                 int count);

#endif
