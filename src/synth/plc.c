/* Process images of the synthetic controllers; see plc.h. */
#include "synth/plc.h"

#include <stdlib.h>

#include "synth/model.h"
#include "synth/rng.h"

/* Ship-to-shore crane: positions in cm, load in 10 kg, wind in dm/s, temperature in 0.1 C,
 * speed limits in percent, operating mode. */
static const struct sy_reg_def crane_regs[] = {
    {0, 4500, 95, 0},      /* 0 hoist height */
    {0, 6200, 130, 0},     /* 1 trolley position */
    {0, 30000, 900, 0},    /* 2 gantry position */
    {0, 6500, 190, 0},     /* 3 load */
    {20, 160, 600, 0},     /* 4 wind speed */
    {0, 3, 60, 0},         /* 5 spreader state */
    {420, 780, 1200, 0},   /* 6 hoist motor temperature */
    {0, 0, 1, 0},          /* 7 active fault code */
    {60, 100, 1, 1},       /* 8 hoist speed limit (setpoint) */
    {60, 100, 1, 1},       /* 9 trolley speed limit (setpoint) */
    {1, 3, 1, 1},          /* 10 operating mode (setpoint) */
    {0, 0, 0, 0},          /* 11 heartbeat */
};

/* Straddle carrier: speed in 0.1 km/h, yard position in dm, load, fuel percent. */
static const struct sy_reg_def straddle_regs[] = {
    {0, 250, 40, 0},     /* 0 speed */
    {0, 12000, 300, 0},  /* 1 yard x */
    {0, 8000, 420, 0},   /* 2 yard y */
    {0, 4000, 200, 0},   /* 3 load */
    {20, 95, 3600, 0},   /* 4 fuel */
    {700, 950, 600, 0},  /* 5 engine temperature */
    {0, 0, 0, 0},        /* 6 heartbeat */
    {100, 250, 1, 1},    /* 7 speed limit (setpoint) */
};

/* Tank PLC: levels in mm, temperatures in 0.1 C, pressure in mbar, flow in m3/h, valve
 * positions in percent. Registers start at 100 as on many tank-farm programs. */
static const struct sy_reg_def tank_regs[] = {
    {500, 14000, 3600, 0}, /* 100 tank A level */
    {800, 13500, 4200, 0}, /* 101 tank B level */
    {600, 12000, 5000, 0}, /* 102 tank C level */
    {900, 14500, 2900, 0}, /* 103 tank D level */
    {150, 320, 1800, 0},   /* 104 product temperature A */
    {150, 320, 2100, 0},   /* 105 product temperature B */
    {980, 1090, 700, 0},   /* 106 header pressure */
    {0, 800, 500, 0},      /* 107 transfer flow */
    {0, 100, 1, 1},        /* 108 valve A position (setpoint) */
    {0, 100, 1, 1},        /* 109 valve B position (setpoint) */
    {0, 100, 1, 1},        /* 110 valve C position (setpoint) */
    {0, 0, 0, 0},          /* 111 heartbeat */
};

/* Tank gauge (servo/radar level hub): level, temperature, free water, density. */
static const struct sy_reg_def gauge_regs[] = {
    {0, 20000, 2400, 0},   /* 0 level mm */
    {100, 350, 1500, 0},   /* 1 temperature */
    {0, 120, 3000, 0},     /* 2 free water mm */
    {7000, 9900, 9000, 0}, /* 3 density 0.1 kg/m3 */
    {0, 0, 1, 0},          /* 4 status */
    {0, 0, 0, 0},          /* 5 heartbeat */
};

#define N(a) (uint16_t)(sizeof(a) / sizeof((a)[0]))

struct sy_plc *sy_plc_new(unsigned kind, uint64_t seed)
{
    struct sy_plc *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->seed = seed;
    switch (kind) {
    case SY_K_CRANE_PLC:
        p->def = crane_regs, p->nhr = N(crane_regs), p->hr_base = 0;
        p->ncoil = 16, p->sp_first = 8, p->sp_n = 3;
        break;
    case SY_K_STRADDLE:
        p->def = straddle_regs, p->nhr = N(straddle_regs), p->hr_base = 0;
        p->ncoil = 8, p->sp_first = 7, p->sp_n = 1;
        break;
    case SY_K_TANK_PLC:
        p->def = tank_regs, p->nhr = N(tank_regs), p->hr_base = 100;
        p->ncoil = 16, p->sp_first = 108, p->sp_n = 3;
        break;
    default:
        p->def = gauge_regs, p->nhr = N(gauge_regs), p->hr_base = 0;
        p->ncoil = 0, p->sp_first = 0, p->sp_n = 0;
        break;
    }
    uint64_t x = seed;
    for (unsigned i = 0; i < p->nhr; i++) {
        const struct sy_reg_def *d = &p->def[i];
        uint64_t h = sy_splitmix64(&x);
        p->phase[i] = (uint32_t)(h % 3600000u); /* ms: devices are not in step */
        p->val[i] = d->setpoint ? (uint16_t)(d->hi - (h >> 32) % (uint32_t)(d->hi - d->lo + 1) / 4)
                                : 0;
    }
    return p;
}

/* Triangle wave over [lo, hi] with a small deterministic noise: smooth, bounded, slow. */
static uint16_t process_value(const struct sy_plc *p, unsigned i, uint64_t t_us)
{
    const struct sy_reg_def *d = &p->def[i];
    uint64_t t_ms = t_us / 1000 + p->phase[i];
    if (d->setpoint) return p->val[i];
    if (d->period_s == 0) return (uint16_t)(t_ms / 1000); /* heartbeat: wraps at 65536 s */
    uint32_t span = (uint32_t)(d->hi - d->lo);
    if (span == 0) return d->lo;
    uint64_t per = (uint64_t)d->period_s * 1000, half = per / 2;
    uint64_t pos = t_ms % per;
    uint64_t tri = pos < half ? pos : per - pos;
    uint32_t v = d->lo + (uint32_t)(tri * span / half);
    uint32_t noise = span / 2000; /* sensor noise: a few counts */
    if (noise) {
        uint64_t n = sy_mix(p->seed ^ (t_us / 1000000) << 8 ^ i) % (2 * noise + 1);
        v = v + (uint32_t)n < noise ? d->lo : v + (uint32_t)n - noise;
        if (v > d->hi) v = d->hi;
    }
    return (uint16_t)v;
}

int sy_plc_read_regs(const struct sy_plc *p, uint64_t t_us, uint16_t addr, uint16_t qty,
                     uint16_t *out)
{
    if (addr < p->hr_base || (uint32_t)addr + qty > (uint32_t)p->hr_base + p->nhr)
        return SY_MB_EX_ILLEGAL_ADDRESS;
    for (unsigned i = 0; i < qty; i++) out[i] = process_value(p, addr - p->hr_base + i, t_us);
    return 0;
}

int sy_plc_read_coils(const struct sy_plc *p, uint64_t t_us, uint16_t addr, uint16_t qty,
                      uint8_t *out)
{
    if (addr < p->coil_base || (uint32_t)addr + qty > (uint32_t)p->coil_base + p->ncoil)
        return SY_MB_EX_ILLEGAL_ADDRESS;
    uint64_t t_s = t_us / 1000000;
    for (unsigned i = 0; i < (qty + 7u) / 8u; i++) out[i] = 0;
    for (unsigned i = 0; i < qty; i++) {
        unsigned c = addr - p->coil_base + i;
        uint64_t h = sy_mix(p->seed + c);
        /* Some coils are fixed (healthy, in remote), the others toggle every few minutes. */
        uint64_t period = 60 + (h >> 32) % 300, phase = (h >> 16) % 600;
        unsigned on = (h & 3) == 0 ? (unsigned)(h >> 8) & 1
                                   : (unsigned)(((t_s + phase) / period) & 1);
        out[i / 8] |= (uint8_t)(on << (i % 8));
    }
    return 0;
}

int sy_plc_write_regs(struct sy_plc *p, uint16_t addr, uint16_t qty, const uint16_t *vals)
{
    if (addr < p->hr_base || (uint32_t)addr + qty > (uint32_t)p->hr_base + p->nhr)
        return SY_MB_EX_ILLEGAL_ADDRESS;
    for (unsigned i = 0; i < qty; i++) {
        unsigned r = addr - p->hr_base + i;
        if (p->def[r].setpoint) p->val[r] = vals[i];
    }
    return 0;
}

uint16_t sy_plc_setpoint_value(const struct sy_plc *p, uint16_t addr, uint64_t r)
{
    if (addr < p->hr_base || addr >= p->hr_base + p->nhr) return 0;
    const struct sy_reg_def *d = &p->def[addr - p->hr_base];
    return (uint16_t)(d->lo + r % (uint32_t)(d->hi - d->lo + 1));
}
