/* Process image of a synthetic Modbus/TCP server (crane PLC, straddle-carrier controller, tank
 * PLC, tank gauge): which registers and coils exist, their slowly changing values, and the
 * setpoints the HMI writes. The values are a function of time (slow triangle waves with a little
 * noise), so polls a second apart look like a real process. */
#ifndef QW_SYNTH_PLC_H
#define QW_SYNTH_PLC_H

#include <stdint.h>

#define SY_PLC_MAX_REGS 16

/* Modbus exception codes (Modbus Application Protocol v1.1b3, section 7). */
#define SY_MB_EX_ILLEGAL_ADDRESS 2

struct sy_reg_def {
    uint16_t lo, hi;   /* value range */
    uint16_t period_s; /* full triangle period; 0 = heartbeat counter (seconds) */
    uint8_t setpoint;  /* holds written values instead of following the process */
};

struct sy_plc {
    uint16_t hr_base, nhr;     /* holding registers hr_base .. hr_base + nhr - 1 */
    uint16_t coil_base, ncoil; /* coils; ncoil 0 = none */
    uint16_t sp_first, sp_n;   /* the setpoint registers the HMI writes (absolute addresses) */
    const struct sy_reg_def *def;
    uint16_t val[SY_PLC_MAX_REGS]; /* current setpoint values */
    uint32_t phase[SY_PLC_MAX_REGS];
    uint64_t seed;
};

struct sy_plc *sy_plc_new(unsigned kind, uint64_t seed);

/* Reads qty holding registers from addr at time t_us into out. Returns 0 or a Modbus
 * exception code when any requested register does not exist. */
int sy_plc_read_regs(const struct sy_plc *p, uint64_t t_us, uint16_t addr, uint16_t qty,
                     uint16_t *out);

/* Reads qty coils into packed bytes (LSB first, as on the wire). */
int sy_plc_read_coils(const struct sy_plc *p, uint64_t t_us, uint16_t addr, uint16_t qty,
                      uint8_t *out);

/* Writes registers; only setpoints keep the value. Returns 0 or an exception code. */
int sy_plc_write_regs(struct sy_plc *p, uint16_t addr, uint16_t qty, const uint16_t *vals);

/* A plausible new value for setpoint register addr (for the HMI's writes). */
uint16_t sy_plc_setpoint_value(const struct sy_plc *p, uint16_t addr, uint64_t r);

#endif
