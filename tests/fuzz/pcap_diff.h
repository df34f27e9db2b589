/* The map reader (src/capture/pcap_map.c) against libpcap on one file image in memory: both
 * must give the same records (times, lengths, bytes) and stop at the same record, at the end or
 * with an error. Shared by tests/unit/test_pcap_map.c (corpus and hand-made files) and
 * tests/fuzz/fuzz_pcap_map.c (hostile files). */
#ifndef QW_TESTS_PCAP_DIFF_H
#define QW_TESTS_PCAP_DIFF_H

#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

#include "capture/pcap_map.h"

/* NULL when the readers agree (or the map reader declines the file, which libpcap then reads
 * alone); otherwise what differs, in `why`. `*records` counts the records both gave. */
static inline const char *qw_pcap_diff(const uint8_t *img, size_t size, size_t *records,
                                       char *why, size_t whylen)
{
    *records = 0;
    struct qw_pcap_map m;
    if (!qw_pcap_map_init(&m, img, size)) return NULL;
    FILE *fp = fmemopen((void *)(uintptr_t)img, size, "rb");
    if (!fp) return NULL;
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, err);
    if (!p) { /* a header libpcap refuses: source.c never maps such a file */
        fclose(fp);
        return NULL;
    }
    const char *verdict = NULL;
    for (;;) {
        struct pcap_pkthdr *lh, mh;
        const u_char *ld;
        const uint8_t *md;
        char merr[256];
        int lrc = pcap_next_ex(p, &lh, &ld);
        int mrc = qw_pcap_map_next(&m, &md, &mh, merr, sizeof merr);
        int lkind = lrc == 1 ? 1 : lrc == PCAP_ERROR_BREAK ? 0 : -1;
        if (lkind != mrc) {
            snprintf(why, whylen, "record %zu: libpcap %d (%s), map %d (%s)", *records, lrc,
                     lrc == PCAP_ERROR ? pcap_geterr(p) : "", mrc, mrc < 0 ? merr : "");
            verdict = why;
            break;
        }
        if (mrc != 1) break;
        if (lh->caplen != mh.caplen || lh->len != mh.len || lh->ts.tv_sec != mh.ts.tv_sec ||
            lh->ts.tv_usec != mh.ts.tv_usec || memcmp(ld, md, mh.caplen) != 0) {
            snprintf(why, whylen,
                     "record %zu: libpcap caplen %u len %u ts %lld.%lld, map caplen %u len %u "
                     "ts %lld.%lld", *records, lh->caplen, lh->len, (long long)lh->ts.tv_sec,
                     (long long)lh->ts.tv_usec, mh.caplen, mh.len, (long long)mh.ts.tv_sec,
                     (long long)mh.ts.tv_usec);
            verdict = why;
            break;
        }
        (*records)++;
    }
    pcap_close(p);
    return verdict;
}

#endif
