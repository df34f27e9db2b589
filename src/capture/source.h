/* Packet sources through libpcap: capture files (pcap and pcapng, micro- or nanosecond) and live
 * interfaces. Files are read with nanosecond precision whatever they store. */
#ifndef QW_CAPTURE_SOURCE_H
#define QW_CAPTURE_SOURCE_H

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>

#include "capture/pcap_reader.h"

struct qw_source {
    pcap_t *pcap;
    const char *name;       /* file path or interface name */
    bool live;
    int linktype;           /* the DLT_ value: each engine decodes with its own decoder */
    /* the next packet, read ahead so several files can be merged in time order */
    struct pcap_pkthdr *hdr;
    const u_char *data;
    uint64_t ts_ns;
    bool have_packet, done;
    long good_offset;       /* file offset after the last good record (for error messages) */
    bool count_offset;      /* classic pcap: good_offset is counted, not asked of the file */
    bool own_reader;        /* classic pcap 2.4 read by quaywatch itself (pcap_reader.h) */
    struct qw_pcap_reader reader;
    struct pcap_pkthdr own_hdr; /* what hdr points at then */
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
/* Hold the records of a classic pcap file quaywatch reads itself in place until released, before
 * its first packet (qw_pcap_reader_hold). False, and nothing changed, for any other source. */
bool qw_source_hold(struct qw_source *s, size_t window, size_t held);
void qw_source_close(struct qw_source *s);

#endif
