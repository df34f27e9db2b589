/* Classic pcap files (version 2.4, either byte order, micro- or nanosecond) read by quaywatch
 * itself, for `analyze`.
 *
 * Why: libpcap reads a file with two fread() calls a packet through a 4 KiB stdio buffer; on the
 * 1 GB benchmark capture that was a quarter of a single-core run. This reader takes a megabyte
 * a read() and hands out records in place from its buffer, where the bytes arrive in the CPU's
 * cache as the kernel copies them (faster, measured, than mapping the file, whose page faults
 * cost more than the copy: bench/README.md). Anything else (pcapng, older versions, the modified
 * formats, pipes) is still read by libpcap (source.c decides).
 *
 * The reader gives exactly what libpcap gives for the same file: the same records, lengths and
 * times, and an error at the same record with libpcap's words (tests/unit/test_pcap_reader.c
 * checks it on every corpus capture, tests/fuzz/fuzz_pcap_reader.c on hostile files). Every
 * length is checked against the bytes at hand: the file is attacker-controlled. */
#ifndef QW_CAPTURE_PCAP_READER_H
#define QW_CAPTURE_PCAP_READER_H

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct qw_pcap_hold;

struct qw_pcap_reader {
    const uint8_t *base; /* the bytes at hand: a whole image, or the window of the file in buf */
    size_t size;
    size_t off;          /* where the next record starts in base */
    bool swapped;        /* written in the other byte order */
    bool nano;           /* nanosecond timestamps (magic a1b23c4d) */
    int linktype;        /* as stored (its low 16 bits name the link type) */
    uint32_t snapshot;   /* records longer than this are cut to it, as libpcap does */
    /* reading a file (qw_pcap_reader_open) */
    int fd;              /* -1 for an image in memory */
    uint8_t *buf;
    size_t buf_cap;
    uint64_t window_at;  /* file offset of buf[0] */
    int read_errno;      /* a read failed: the records end with this error */
    /* records held in place (qw_pcap_reader_hold), or NULL */
    struct qw_pcap_hold *hold;
    bool last_stable;    /* held: the last record handed out stays where it is until released
                          * (else it is valid until the next call only) */
    uint32_t last_span;  /* held: the bytes the last record took in the file (header included) */
};

/* The largest record libpcap accepts for the link types quaywatch decodes. */
#define QW_PCAP_MAX_CAPLEN 262144u
/* The bytes a read() asks for at a time; the reader's buffer also holds the longest record that
 * may straddle two reads. Also the window size that suits holding records (qw_pcap_reader_hold). */
#define QW_PCAP_READ_CHUNK (1u << 20)
/* The most bytes one record takes in a file: its header and the longest frame. */
#define QW_PCAP_MAX_SPAN (16u + QW_PCAP_MAX_CAPLEN)

/* Whether the first four bytes of a file are a classic pcap magic (either byte order, micro- or
 * nanosecond), whatever its version: its records are then a 16-byte header and the bytes. */
bool qw_pcap_classic_magic(const uint8_t magic[4]);

/* Read a file image already in memory (tests, fuzzing). False when it is not a classic pcap
 * 2.4 file; nothing is read past `size`. */
bool qw_pcap_reader_init(struct qw_pcap_reader *r, const uint8_t *base, size_t size);

/* Open the file at `path`. False (nothing to close) when it cannot be read from the start as a
 * regular file or is not a classic pcap 2.4 file: the caller reads it with libpcap instead. */
bool qw_pcap_reader_open(struct qw_pcap_reader *r, const char *path);

/* The next record: 1 with *data and *h filled (h->ts as libpcap fills it when asked for
 * nanosecond precision: tv_usec holds nanoseconds; *data valid until the next call), 0 at the
 * end of the file, -1 when the record is damaged or cannot be read (err says how, in libpcap's
 * words where libpcap has some). */
int qw_pcap_reader_next(struct qw_pcap_reader *r, const uint8_t **data, struct pcap_pkthdr *h,
                        char *err, size_t errlen);

/* Hold the records of an opened file (before its first record is read) in place until the caller
 * releases them, instead of until the next call.
 *
 * Why: with `analyze --workers N` the thread reading the file copied every frame into the
 * engines' batches; now the batches point into the reader's memory. The file is read a window
 * of `window` bytes at a time into a ring with room for `held` bytes of records (their spans,
 * headers included: the most the caller keeps at once) beside the reading. A record stays
 * where it is (last_stable) until qw_pcap_reader_release passes it, except one that wraps
 * around the ring's end, which is copied aside (last_stable false: valid until the next call).
 * Records are walked exactly as without holding: same records, same errors, same offsets. If
 * the caller held more than it said, reading would wait for a release. False (nothing changed)
 * for an image, a reader already started, or no memory. */
bool qw_pcap_reader_hold(struct qw_pcap_reader *r, size_t window, size_t held);

/* Held records: every record before file offset `upto` may now be overwritten. Any thread. */
void qw_pcap_reader_release(struct qw_pcap_reader *r, uint64_t upto);

/* The file offset of the next record (after the last one returned). */
uint64_t qw_pcap_reader_offset(const struct qw_pcap_reader *r);

void qw_pcap_reader_close(struct qw_pcap_reader *r);

#endif
