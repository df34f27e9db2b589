/* `quaywatch synth`: writes a synthetic, deterministic capture of a container and liquid-bulk
 * terminal as seen on a SPAN of the core switch trunk. docs/synth.md describes the terminal,
 * its traffic and the scripted events; examples/terminal.yaml is its site file. */
#ifndef QW_SYNTH_SYNTH_H
#define QW_SYNTH_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#define QW_SYNTH_MAX_MINUTES 10080u /* one week */
#define QW_SYNTH_MAX_SCALE 1024u    /* the address plan holds 6144 workstations per zone band */
#define QW_SYNTH_START_UNIX 1795210200u /* 2026-11-20T21:30:00Z */

struct qw_synth_opts {
    unsigned minutes; /* capture length */
    unsigned scale;   /* multiplies controllers, cameras and workstations */
    uint64_t seed;    /* drives every jitter and random payload; same seed, same bytes */
};

struct qw_synth_stats {
    uint64_t packets, bytes; /* records and file size */
    size_t devices;
};

/* Generates the capture into `path` (atomically: a temporary file beside it is renamed at the
 * end). Returns 0, or -1 with a one-line reason in err (nothing is left at `path`). */
int qw_synth_run(const struct qw_synth_opts *o, const char *path, struct qw_synth_stats *st,
                 char *err, size_t errlen);

/* Writes the terminal's ground truth at `scale` as JSON (truth.c): each device's name, kind,
 * IP, VLAN, MAC, expected vendor and the roles an inventory may fairly derive. 0 or -1. */
int qw_synth_truth(unsigned scale, const char *path, char *err, size_t errlen);

#endif
