/* `quaywatch synth`: writes a synthetic, deterministic capture of a container and liquid-bulk
 * terminal as seen on a SPAN of the core switch trunk. docs/synth.md describes the terminal,
 * its traffic and the scripted events; examples/terminal.yaml is its site file. */
#ifndef QW_SYNTH_SYNTH_H
#define QW_SYNTH_SYNTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QW_SYNTH_MAX_MINUTES 10080u /* one week */
#define QW_SYNTH_MAX_SCALE 1024u    /* the address plan holds 6144 workstations per zone band */
#define QW_SYNTH_START_UNIX 1795210200u /* 2026-11-20T21:30:00Z, the default --start */
/* --start range: pcap records hold 32-bit seconds, so the run must end before 2106. */
#define QW_SYNTH_START_MAX 4102444799u /* 2099-12-31T23:59:59Z */

struct qw_synth_opts {
    unsigned minutes;    /* capture length */
    unsigned scale;      /* multiplies controllers, cameras and workstations */
    uint64_t seed;       /* drives every jitter and random payload; same seed, same bytes */
    bool incidents;      /* add the scripted events (docs/synth.md); false: the clean terminal */
    uint64_t start_unix; /* capture start, seconds since 1970 (QW_SYNTH_START_UNIX) */
};

struct qw_synth_stats {
    uint64_t packets, bytes; /* records and file size */
    size_t devices;
};

/* Generates the capture into `path` (atomically: a temporary file beside it is renamed at the
 * end); NULL generates it without writing it. When `truth` is not NULL, also writes the ground
 * truth there as JSON (truth.c): the devices present in this capture with their addresses,
 * vendor and fair roles, and every scripted event that happened, with its time, source,
 * target and the findings a detector should raise. Returns 0, or -1 with a one-line reason in
 * err (nothing is left at `path`). */
int qw_synth_run(const struct qw_synth_opts *o, const char *path, const char *truth,
                 struct qw_synth_stats *st, char *err, size_t errlen);

/* Parses an RFC 3339 date-time with whole seconds and a UTC offset ("2026-11-20T21:30:00Z",
 * "2026-11-20T13:30:00-08:00") into seconds since 1970. 0, or -1 when it is not one or is
 * outside 1970-01-01T00:00:00Z .. QW_SYNTH_START_MAX. */
int qw_synth_parse_time(const char *s, uint64_t *unix_s);

#endif
