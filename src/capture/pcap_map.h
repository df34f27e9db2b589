/* Classic pcap files (version 2.4, either byte order, micro- or nanosecond) read in place from a
 * read-only memory map, for `analyze`.
 *
 * Why: libpcap reads a file with fread(), so every byte is copied from the page cache into its
 * buffer, and with workers copied again into a worker's ring; on the 1 GB benchmark that copy
 * and its system calls were a fifth of a single-core run and most of the capture thread's time.
 * Mapped, a packet is a pointer into the page cache until the file is closed, as it is in the
 * kernel's TPACKET_V3 ring for live capture. Anything else (pcapng, older versions, the
 * modified formats, a pipe) is still read by libpcap (source.c decides).
 *
 * The reader gives exactly what libpcap gives for the same file: the same records, lengths and
 * times, and an error at the same record (tests/unit/test_pcap_map.c checks it on every corpus
 * capture, tests/fuzz/fuzz_pcap_map.c on hostile files). Every length is checked against the
 * bytes left in the map: the file is attacker-controlled. */
#ifndef QW_CAPTURE_PCAP_MAP_H
#define QW_CAPTURE_PCAP_MAP_H

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct qw_pcap_map {
    const uint8_t *base; /* the whole file */
    size_t size;
    size_t off;          /* where the next record starts */
    bool swapped;        /* written in the other byte order */
    bool nano;           /* nanosecond timestamps (magic a1b23c4d) */
    int linktype;        /* as stored (its low 16 bits name the link type) */
    uint32_t snapshot;   /* records longer than this are cut to it, as libpcap does */
    void *map;           /* from mmap (qw_pcap_map_open), unmapped at close; NULL for a buffer */
    size_t map_len;
    size_t released;     /* pages before this offset were handed back (qw_pcap_map_window) */
    size_t keep;         /* bytes behind the next record kept mapped (QW_PCAP_MAP_KEEP) */
    size_t page;
};

/* The largest record libpcap accepts for the link types quaywatch decodes. */
#define QW_PCAP_MAX_CAPLEN 262144u

/* Use a file image already in memory (tests, fuzzing). False when it is not a classic pcap 2.4
 * file; nothing is read past `size`. */
bool qw_pcap_map_init(struct qw_pcap_map *m, const uint8_t *base, size_t size);

/* Map the file at `path` read-only. False (nothing to close) when it cannot be mapped or is not
 * a classic pcap 2.4 file: the caller reads it with libpcap instead. */
bool qw_pcap_map_open(struct qw_pcap_map *m, const char *path);

/* The next record: 1 with *data and *h filled (h->ts as libpcap fills it when asked for
 * nanosecond precision: tv_usec holds nanoseconds), 0 at the end of the file, -1 when the record
 * is damaged (err says how, as libpcap would; m->off stays at the record's start). */
int qw_pcap_map_next(struct qw_pcap_map *m, const uint8_t **data, struct pcap_pkthdr *h,
                     char *err, size_t errlen);

/* Keep the mapped window behind the next record, after each record (a compare unless there is
 * work): hand back the pages more than m->keep bytes behind (QW_PCAP_MAP_KEEP unless the caller
 * sets more: workers that still read frames by address), so that reading a large file does not
 * hold it all as the process's memory. Safe at any time: the mapping is read-only and private,
 * so a page touched again is read from the file once more, never lost; only slower, and kept to
 * the end. (Mapping the pages ahead in one call, MADV_POPULATE_READ, was tried: slower.) */
#define QW_PCAP_MAP_KEEP (8u << 20)
void qw_pcap_map_window(struct qw_pcap_map *m);

void qw_pcap_map_close(struct qw_pcap_map *m);

#endif
