/* Buffered pcap writer that builds frames in place and publishes the file atomically.
 *
 * Frames are built directly inside a large output buffer (after room for their record header),
 * so a packet is written once and never copied; the buffer goes to the kernel in big write()s.
 * The file is written under a temporary name in the target's directory and renamed over the
 * target only when complete, so a failure never leaves a half-written capture behind.
 *
 * Format: the classic libpcap file format (magic 0xa1b2c3d4, version 2.4, microsecond
 * timestamps, LINKTYPE_ETHERNET = 1), always little-endian so output is byte-identical on every
 * host. We write it ourselves rather than through pcap_dump(): see docs/synth.md for the
 * measurement. */
#ifndef QW_SYNTH_PCAPOUT_H
#define QW_SYNTH_PCAPOUT_H

#include <stddef.h>
#include <stdint.h>

#define SY_PCAP_SNAPLEN 65535
#define SY_PCAP_REC_HDR 16

struct sy_out {
    int fd;
    char *path;     /* final name */
    char *tmp_path; /* temporary name beside it, NULL once renamed or removed */
    uint8_t *buf;
    size_t cap, len;
    uint64_t epoch_s; /* capture start, seconds since 1970 */
    uint64_t packets, bytes; /* records and file bytes written so far */
    int err; /* errno of the first failure, 0 if none */
    int discard; /* no file: frames are built and counted, then dropped (--truth alone) */
};

/* Creates the temporary file beside `path` and writes the file header. Returns 0, or an errno
 * value (the temporary file is not left behind). A NULL path opens a writer that builds and
 * counts every frame but writes nothing. */
int sy_out_open(struct sy_out *o, const char *path, uint64_t epoch_s, size_t bufsize);

/* Where the next frame goes: SY_FRAME_MAX writable bytes. Repeated calls without a commit in
 * between return the same place. After a write error this keeps returning a valid scratch area
 * so callers need not check on every packet; sy_out_close() reports the error. */
static inline uint8_t *sy_out_frame(struct sy_out *o);

/* Appends the frame built at sy_out_frame() as a record stamped start + t_us. */
void sy_out_commit(struct sy_out *o, uint64_t t_us, size_t frame_len);

/* Flushes, closes and renames onto the target. Returns 0, or an errno value after which no file
 * is left (neither temporary nor target). */
int sy_out_close(struct sy_out *o);

/* Drops everything: closes and removes the temporary file. Safe after close. */
void sy_out_abort(struct sy_out *o);

/* Internal: writes out the buffer (called by sy_out_frame when it runs low). */
void sy_out_flush(struct sy_out *o);

#include "synth/frame.h"

static inline uint8_t *sy_out_frame(struct sy_out *o)
{
    if (o->cap - o->len < SY_PCAP_REC_HDR + SY_FRAME_MAX) sy_out_flush(o);
    return o->buf + o->len + SY_PCAP_REC_HDR;
}

#endif
