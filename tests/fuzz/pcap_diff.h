/* quaywatch's pcap reader (src/capture/pcap_reader.c) against libpcap: both must give the same
 * records (times, lengths, bytes) and stop at the same record, at the end or with an error;
 * times past 2038 are read unsigned by quaywatch, where libpcap may sign-extend them.
 * On a file image in memory, or on a file read through the reader's buffer or with its records
 * held in a ring of small windows, released one by one. Shared by
 * tests/unit/test_pcap_reader.c (corpus and made-up files) and tests/fuzz/fuzz_pcap_reader.c
 * (hostile files). */
#ifndef QW_TESTS_PCAP_DIFF_H
#define QW_TESTS_PCAP_DIFF_H

#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

#include "capture/pcap_reader.h"

/* Compare until either side stops; NULL when they agree, else what differs in `why`. */
static inline const char *qw_pcap_diff_run(struct qw_pcap_reader *r, pcap_t *p, size_t *records,
                                           char *why, size_t whylen)
{
    *records = 0;
    for (;;) {
        struct pcap_pkthdr *lh, mh;
        const u_char *ld;
        const uint8_t *md;
        char merr[256];
        int lrc = pcap_next_ex(p, &lh, &ld);
        int mrc = qw_pcap_reader_next(r, &md, &mh, merr, sizeof merr);
        int lkind = lrc == 1 ? 1 : lrc == PCAP_ERROR_BREAK ? 0 : -1;
        if (lkind != mrc) {
            snprintf(why, whylen, "record %zu: libpcap %d (%s), quaywatch %d (%s)", *records, lrc,
                     lrc == PCAP_ERROR ? pcap_geterr(p) : "", mrc, mrc < 0 ? merr : "");
            return why;
        }
        if (mrc != 1) return NULL;
        /* the times as the file holds them, 32 bits each: libpcap sign-extends them in a file
         * of the host's byte order (a capture after 2038 comes back from 1901), quaywatch reads
         * them unsigned as the format says (pcap_reader.c) */
        if (lh->caplen != mh.caplen || lh->len != mh.len ||
            (uint32_t)lh->ts.tv_sec != (uint32_t)mh.ts.tv_sec ||
            (uint32_t)lh->ts.tv_usec != (uint32_t)mh.ts.tv_usec || mh.ts.tv_sec < 0 ||
            mh.ts.tv_usec < 0 || memcmp(ld, md, mh.caplen) != 0) {
            snprintf(why, whylen,
                     "record %zu: libpcap caplen %u len %u ts %lld.%lld, quaywatch caplen %u "
                     "len %u ts %lld.%lld", *records, lh->caplen, lh->len,
                     (long long)lh->ts.tv_sec, (long long)lh->ts.tv_usec, mh.caplen, mh.len,
                     (long long)mh.ts.tv_sec, (long long)mh.ts.tv_usec);
            return why;
        }
        (*records)++;
        if (r->hold) qw_pcap_reader_release(r, qw_pcap_reader_offset(r));
    }
}

/* A file image in memory. NULL as well when the reader declines it (libpcap then reads it
 * alone) or libpcap refuses its header (source.c never reads such a file itself). */
static inline const char *qw_pcap_diff(const uint8_t *img, size_t size, size_t *records,
                                       char *why, size_t whylen)
{
    *records = 0;
    struct qw_pcap_reader r;
    if (!qw_pcap_reader_init(&r, img, size)) return NULL;
    FILE *fp = fmemopen((void *)(uintptr_t)img, size, "rb");
    if (!fp) return NULL;
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, err);
    if (!p) {
        fclose(fp);
        return NULL;
    }
    const char *verdict = qw_pcap_diff_run(&r, p, records, why, whylen);
    pcap_close(p);
    return verdict;
}

/* A file on disk, through the reader's own buffer, or with its records held in windows of
 * `hold_window` bytes (not 0). `*opened` false when the reader declines it. */
static inline const char *qw_pcap_diff_file(const char *path, size_t hold_window, bool *opened,
                                            size_t *records, char *why, size_t whylen)
{
    *records = 0;
    struct qw_pcap_reader r;
    *opened = qw_pcap_reader_open(&r, path);
    if (!*opened) return NULL;
    if (hold_window && !qw_pcap_reader_hold(&r, hold_window, 0)) {
        qw_pcap_reader_close(&r);
        snprintf(why, whylen, "the reader would not hold its records");
        return why;
    }
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
    if (!p) {
        qw_pcap_reader_close(&r);
        *opened = false;
        return NULL;
    }
    const char *verdict = qw_pcap_diff_run(&r, p, records, why, whylen);
    pcap_close(p);
    qw_pcap_reader_close(&r);
    return verdict;
}

#endif
