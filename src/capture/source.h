/* Packet sources through libpcap: capture files (pcap and pcapng, micro- or nanosecond) and live
 * interfaces. Files are read with nanosecond precision whatever they store. */
#ifndef QW_CAPTURE_SOURCE_H
#define QW_CAPTURE_SOURCE_H

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>

#include "capture/pcap_map.h"
#include "decode/decode.h"

struct qw_source {
    pcap_t *pcap;
    const char *name;       /* file path or interface name */
    bool live;
    struct qw_decoder dec;  /* per source: each has its own link type and fragments */
    /* the next packet, read ahead so several files can be merged in time order */
    struct pcap_pkthdr *hdr;
    const u_char *data;
    uint64_t ts_ns;
    bool have_packet, done;
    long good_offset;       /* file offset after the last good record (for error messages) */
    bool count_offset;      /* classic pcap: good_offset is counted, not asked of the file */
    bool mapped;            /* classic pcap 2.4 read in place from a memory map (pcap_map.h) */
    struct qw_pcap_map map;
    struct pcap_pkthdr map_hdr; /* what hdr points at when mapped */
    long size;              /* file size, for progress */
    int ring_version;       /* live on Linux: the packet socket's TPACKET_V<n>; 0: unknown */
    char error[PCAP_ERRBUF_SIZE + 256]; /* set when the source failed */
};

/* Open a capture file. Returns false with a one-line message in s->error
 * ("FILE: is a directory", "FILE: empty file", "FILE: offset 0: not a pcap or pcapng file"). */
bool qw_source_open_file(struct qw_source *s, const char *path);

struct qw_live_opts {
    const char *iface;
    const char *bpf;       /* NULL: everything */
    int snaplen;           /* 0: 65535 */
    int buffer_mb;         /* kernel ring size in MiB, 1..2047; 0: 64 */
};
bool qw_source_open_live(struct qw_source *s, const struct qw_live_opts *o);

/* Read ahead the next packet. Returns 1 when one is ready, 0 at the end (or a live timeout: check
 * s->done), -1 on damage (message in s->error, s->done set). */
int qw_source_advance(struct qw_source *s);
void qw_source_close(struct qw_source *s);

/* A mapped file cut short by another program while it is read makes the next touch of a lost
 * page a SIGBUS. Install a handler that names the file on stderr ("FILE: the file shrank while
 * it was being read") and exits with status 3, before any batch of the run is committed, as
 * for any damaged input: the store keeps only whole batches. For the sources given (up to 64);
 * nothing is installed when none is mapped. */
void qw_source_guard_mapped(const struct qw_source *srcs, size_t n);

#endif
