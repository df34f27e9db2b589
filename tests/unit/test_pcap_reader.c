/* quaywatch's pcap reader (src/capture/pcap_reader.c): decoded record values on hand-made files
 * of every classic variant, the damaged records with libpcap's own words, the files it leaves to
 * libpcap, records straddling its buffer, a file cut while read, and record-for-record
 * agreement with libpcap on every classic capture of the corpus (tests/fuzz/pcap_diff.h). */
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>


#include "../fuzz/pcap_diff.h"
#include "capture/pcap_reader.h"

struct img {
    uint8_t b[4096];
    size_t n;
    bool swap;
};

static void put32(struct img *f, uint32_t v)
{
    if (f->swap) v = __builtin_bswap32(v);
    memcpy(f->b + f->n, &v, 4);
    f->n += 4;
}

static void put16(struct img *f, uint16_t v)
{
    if (f->swap) v = __builtin_bswap16(v);
    memcpy(f->b + f->n, &v, 2);
    f->n += 2;
}

/* A file header: the magic as the writer's host stores it, version, snapshot, Ethernet. */
static void file_header(struct img *f, bool swap, bool nano, uint16_t minor, uint32_t snap)
{
    f->n = 0;
    f->swap = swap;
    put32(f, nano ? 0xa1b23c4d : 0xa1b2c3d4);
    put16(f, 2);
    put16(f, minor);
    put32(f, 0);
    put32(f, 0);
    put32(f, snap);
    put32(f, 1);
}

static void record(struct img *f, uint32_t sec, uint32_t frac, uint32_t caplen, uint32_t len,
                   uint8_t fill)
{
    put32(f, sec);
    put32(f, frac);
    put32(f, caplen);
    put32(f, len);
    memset(f->b + f->n, fill, caplen);
    f->n += caplen;
}

static void assert_agrees_with_libpcap(const struct img *f, size_t want_records)
{
    size_t n;
    char why[512];
    const char *d = qw_pcap_diff(f->b, f->n, &n, why, sizeof why);
    if (d) fail_msg("%s", d);
    assert_int_equal(n, want_records);
}

static void every_variant_decoded(void **state)
{
    (void)state;
    for (int swap = 0; swap < 2; swap++)
        for (int nano = 0; nano < 2; nano++) {
            struct img f;
            file_header(&f, swap, nano, 4, 65535);
            record(&f, 1795300000, nano ? 123456789 : 123456, 60, 60, 0xab);
            record(&f, 1795300001, 7, 14, 1514, 0xcd); /* cut by the capturer: len > caplen */
            struct qw_pcap_reader m;
            assert_true(qw_pcap_reader_init(&m, f.b, f.n));
            assert_int_equal(m.linktype, 1);
            const uint8_t *d;
            struct pcap_pkthdr h;
            char err[128];
            assert_int_equal(qw_pcap_reader_next(&m, &d, &h, err, sizeof err), 1);
            assert_int_equal(h.ts.tv_sec, 1795300000);
            assert_int_equal(h.ts.tv_usec, nano ? 123456789 : 123456000); /* ns either way */
            assert_int_equal(h.caplen, 60);
            assert_int_equal(h.len, 60);
            assert_ptr_equal(d, f.b + 24 + 16); /* in place in an image: no copy */
            assert_int_equal(d[59], 0xab);
            assert_int_equal(qw_pcap_reader_next(&m, &d, &h, err, sizeof err), 1);
            assert_int_equal(h.ts.tv_usec, nano ? 7 : 7000);
            assert_int_equal(h.caplen, 14);
            assert_int_equal(h.len, 1514);
            assert_int_equal(d[0], 0xcd);
            assert_int_equal(qw_pcap_reader_next(&m, &d, &h, err, sizeof err), 0);
            assert_int_equal(qw_pcap_reader_next(&m, &d, &h, err, sizeof err), 0);
            assert_agrees_with_libpcap(&f, 2);
        }
}

/* A capture made after 2038-01-19 (seconds past 2^31): the seconds are unsigned in the file
 * format, in either byte order, so 2040 stays 2040 (libpcap's signed reading of a file in the
 * host's order would give 1904). */
static void times_past_2038(void **state)
{
    (void)state;
    for (int swap = 0; swap < 2; swap++) {
        struct img f;
        file_header(&f, swap, false, 4, 65535);
        record(&f, 2208988800u, 999999, 60, 60, 0x11); /* 2040-01-01T00:00:00Z */
        record(&f, 4294967295u, 0, 60, 60, 0x22);      /* the last second pcap can hold */
        struct qw_pcap_reader m;
        assert_true(qw_pcap_reader_init(&m, f.b, f.n));
        const uint8_t *d;
        struct pcap_pkthdr h;
        char err[128];
        assert_int_equal(qw_pcap_reader_next(&m, &d, &h, err, sizeof err), 1);
        assert_true(h.ts.tv_sec == (time_t)2208988800);
        assert_int_equal(h.ts.tv_usec, 999999000);
        assert_int_equal(qw_pcap_reader_next(&m, &d, &h, err, sizeof err), 1);
        assert_true(h.ts.tv_sec == (time_t)4294967295);
        assert_agrees_with_libpcap(&f, 2); /* lengths and bytes; times as 32-bit values */
    }
}

/* The file `f` gives one good record, then the error `want`, as libpcap does. */
static void one_record_then_error(const struct img *f, const char *want)
{
    struct qw_pcap_reader m;
    const uint8_t *d;
    struct pcap_pkthdr h;
    char err[128];
    assert_true(qw_pcap_reader_init(&m, f->b, f->n));
    assert_int_equal(qw_pcap_reader_next(&m, &d, &h, err, sizeof err), 1);
    assert_int_equal(qw_pcap_reader_next(&m, &d, &h, err, sizeof err), -1);
    assert_string_equal(err, want);
    assert_agrees_with_libpcap(f, 1);
}

static void damaged_records(void **state)
{
    (void)state;
    struct img f;
    const uint8_t *d;
    struct pcap_pkthdr h;
    char err[128];
    struct qw_pcap_reader m;
    /* a record header cut after 10 bytes */
    file_header(&f, false, false, 4, 65535);
    record(&f, 1, 2, 4, 4, 1);
    size_t good = f.n;
    memset(f.b + f.n, 0, 10);
    f.n += 10;
    one_record_then_error(&f, "truncated dump file; tried to read 16 header bytes, only got 10");
    assert_true(qw_pcap_reader_init(&m, f.b, f.n)); /* the offset stays at the good record's end */
    assert_int_equal(qw_pcap_reader_next(&m, &d, &h, err, sizeof err), 1);
    assert_int_equal(qw_pcap_reader_next(&m, &d, &h, err, sizeof err), -1);
    assert_int_equal(m.off, good);
    /* a record whose bytes end early */
    f.n = good;
    record(&f, 1, 2, 100, 100, 2);
    f.n -= 30;
    one_record_then_error(&f, "truncated dump file; tried to read 100 captured bytes, only got 70");
    /* a length no capture can have, with bytes enough behind it to be tempting */
    f.n = good;
    put32(&f, 1), put32(&f, 2), put32(&f, 262145), put32(&f, 262145);
    memset(f.b + f.n, 0, 200);
    f.n += 200;
    one_record_then_error(&f, "invalid packet capture length 262145, bigger than maximum of 262144");
    /* longer than the file's snapshot length: cut to it, the rest skipped */
    file_header(&f, true, false, 4, 32);
    record(&f, 1, 2, 100, 100, 3);
    record(&f, 1, 3, 10, 10, 4);
    assert_true(qw_pcap_reader_init(&m, f.b, f.n));
    assert_int_equal(qw_pcap_reader_next(&m, &d, &h, err, sizeof err), 1);
    assert_int_equal(h.caplen, 32);
    assert_int_equal(h.len, 100);
    assert_int_equal(qw_pcap_reader_next(&m, &d, &h, err, sizeof err), 1);
    assert_int_equal(h.caplen, 10);
    assert_int_equal(d[0], 4);
    assert_agrees_with_libpcap(&f, 2);
}

static void left_to_libpcap(void **state)
{
    (void)state;
    struct img f;
    struct qw_pcap_reader m;
    file_header(&f, false, false, 3, 65535); /* 2.3: libpcap may swap the lengths */
    assert_false(qw_pcap_reader_init(&m, f.b, f.n));
    file_header(&f, false, false, 4, 65535);
    assert_false(qw_pcap_reader_init(&m, f.b, 23)); /* a header cut short */
    memcpy(f.b, "\x0a\x0d\x0d\x0a", 4);          /* pcapng */
    assert_false(qw_pcap_reader_init(&m, f.b, f.n));
    memcpy(f.b, "\x34\xcd\xb2\xa1", 4); /* the modified format, 24-byte records */
    assert_false(qw_pcap_reader_init(&m, f.b, f.n));
    /* and what is no regular file */
    assert_false(qw_pcap_reader_open(&m, "/nonexistent/x.pcap"));
    assert_false(qw_pcap_reader_open(&m, "/"));
    assert_false(qw_pcap_reader_open(&m, "/dev/null"));
    assert_int_equal(m.fd, -1);
}

/* A temporary capture file of `n` records whose lengths vary up to 200,000 bytes, so that
 * records straddle the reader's 1 MiB reads; returns its path in `path`. */
static void write_big_file(char *path, int n)
{
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static struct img f;
    file_header(&f, false, true, 4, 0);
    assert_int_equal(write(fd, f.b, f.n), (ssize_t)f.n);
    static uint8_t rec[16 + 200000];
    uint32_t x = 2463534242u;
    for (int i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        uint32_t len = i % 50 == 7 ? 150000 + x % 50000 : 40 + x % 1500;
        uint32_t hdr[4] = {1795300000u + (uint32_t)i, x % 1000000000u, len, len + (x & 3)};
        memcpy(rec, hdr, 16);
        memset(rec + 16, (int)(i & 0xff), len);
        assert_int_equal(write(fd, rec, 16 + len), (ssize_t)(16 + len));
    }
    close(fd);
}

static void open_reads_a_file_across_buffers(void **state)
{
    (void)state;
    char path[] = "/tmp/qw-pcap-reader-XXXXXX";
    write_big_file(path, 600); /* about 3.6 MB */
    bool opened;
    size_t n;
    char why[512];
    const char *d = qw_pcap_diff_file(path, 0, &opened, &n, why, sizeof why);
    if (d) fail_msg("%s", d);
    assert_true(opened);
    assert_int_equal(n, 600);
    /* held in a ring of 4 KiB, 64 KiB or 1,000-byte windows (not a whole number of pages):
     * records span many windows and wrap the ring */
    static const size_t windows[] = {4096, 65536, 1000};
    for (size_t k = 0; k < sizeof windows / sizeof *windows; k++) {
        d = qw_pcap_diff_file(path, windows[k], &opened, &n, why, sizeof why);
        if (d) fail_msg("window %zu: %s", windows[k], d);
        assert_int_equal(n, 600);
    }
    /* the offsets: after the last record, the file's size */
    struct qw_pcap_reader r;
    assert_true(qw_pcap_reader_open(&r, path));
    const uint8_t *data;
    struct pcap_pkthdr h;
    char err[128];
    size_t count = 0;
    while (qw_pcap_reader_next(&r, &data, &h, err, sizeof err) == 1) {
        if (data[0] != (uint8_t)(count & 0xff) || data[h.caplen - 1] != data[0])
            fail_msg("record %zu: bytes moved", count);
        count++;
    }
    assert_int_equal(count, 600);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(qw_pcap_reader_offset(&r), (uint64_t)st.st_size);
    qw_pcap_reader_close(&r);
    unlink(path);
}

/* A file cut short by another program while it is read: the reader's reads come up short and
 * the record in progress is reported as truncated, with libpcap's words; no crash. Read plainly
 * and with its records held (released as they come). */
static void shrunk_file_is_an_input_error(void **state)
{
    (void)state;
    for (int hold = 0; hold < 2; hold++) {
        char path[] = "/tmp/qw-pcap-shrink-XXXXXX";
        write_big_file(path, 600);
        struct qw_pcap_reader r;
        assert_true(qw_pcap_reader_open(&r, path));
        if (hold) assert_true(qw_pcap_reader_hold(&r, 65536, 0));
        const uint8_t *data;
        struct pcap_pkthdr h;
        char err[160] = "";
        for (int i = 0; i < 10; i++)
            assert_int_equal(qw_pcap_reader_next(&r, &data, &h, err, sizeof err), 1);
        assert_int_equal(truncate(path, 2 << 20), 0); /* another program cuts it to 2 MiB */
        int rc;
        size_t more = 0;
        while ((rc = qw_pcap_reader_next(&r, &data, &h, err, sizeof err)) == 1) {
            more++;
            qw_pcap_reader_release(&r, qw_pcap_reader_offset(&r));
        }
        assert_int_equal(rc, -1);
        assert_non_null(strstr(err, "truncated dump file"));
        assert_true(qw_pcap_reader_offset(&r) <= (2u << 20));
        assert_true(more > 0);
        qw_pcap_reader_close(&r);
        unlink(path);
    }
}

/* Records held in place (qw_pcap_reader_hold) while the next ones are read, as the engines'
 * batches hold them: each stays intact until released, those that wrap around the ring come
 * as copies, and the records, their order and the offsets are those of the plain reader. */
static void held_records_stay_in_place(void **state)
{
    (void)state;
    char path[] = "/tmp/qw-pcap-held-XXXXXX";
    write_big_file(path, 600);
    struct qw_pcap_reader plain, r;
    assert_true(qw_pcap_reader_open(&plain, path));
    assert_true(qw_pcap_reader_open(&r, path));
    size_t held_max = 1u << 20;
    assert_true(qw_pcap_reader_hold(&r, 65536, held_max));
    assert_false(qw_pcap_reader_hold(&r, 65536, held_max)); /* once */
    struct held_rec {
        const uint8_t *data;
        uint32_t caplen, span;
        uint8_t fill;
        uint64_t end;
    } q[600];
    size_t head = 0, tail = 0, held = 0, copies = 0;
    const uint8_t *d, *pd;
    struct pcap_pkthdr h, ph;
    char err[128];
    for (size_t i = 0; i < 600; i++) {
        assert_int_equal(qw_pcap_reader_next(&plain, &pd, &ph, err, sizeof err), 1);
        assert_int_equal(qw_pcap_reader_next(&r, &d, &h, err, sizeof err), 1);
        assert_int_equal(h.caplen, ph.caplen);
        assert_int_equal(h.len, ph.len);
        assert_int_equal(h.ts.tv_sec, ph.ts.tv_sec);
        assert_int_equal(h.ts.tv_usec, ph.ts.tv_usec);
        assert_memory_equal(d, pd, h.caplen);
        assert_int_equal(r.last_span, 16 + h.caplen);
        assert_int_equal(qw_pcap_reader_offset(&r), qw_pcap_reader_offset(&plain));
        if (!r.last_stable) { /* a copy, valid until the next call: nothing to hold */
            copies++;
            continue;
        }
        q[tail++] = (struct held_rec){d, h.caplen, r.last_span, (uint8_t)(i & 0xff),
                                   qw_pcap_reader_offset(&r)};
        held += r.last_span;
        /* let go of the oldest once what is held passes half the promise */
        while (held > held_max / 2) {
            for (size_t k = head; k < tail; k++) /* every record held is still intact */
                if (q[k].data[0] != q[k].fill || q[k].data[q[k].caplen - 1] != q[k].fill)
                    fail_msg("a held record was overwritten");
            held -= q[head].span;
            qw_pcap_reader_release(&r, q[head++].end);
        }
    }
    assert_int_equal(qw_pcap_reader_next(&r, &d, &h, err, sizeof err), 0);
    assert_true(copies > 0); /* ~3.6 MB through a ring of ~1.4 MB: records wrapped */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(qw_pcap_reader_offset(&r), (uint64_t)st.st_size);
    qw_pcap_reader_close(&r);
    qw_pcap_reader_close(&plain);
    /* not for an image, nor once started */
    struct img f;
    file_header(&f, false, false, 4, 65535);
    assert_true(qw_pcap_reader_init(&r, f.b, f.n));
    assert_false(qw_pcap_reader_hold(&r, 65536, 0));
    assert_true(qw_pcap_reader_open(&r, path));
    assert_int_equal(qw_pcap_reader_next(&r, &d, &h, err, sizeof err), 1);
    assert_false(qw_pcap_reader_hold(&r, 65536, 0));
    qw_pcap_reader_close(&r);
    unlink(path);
}

/* Holding more than promised: the reader waits for a release from another thread rather than
 * overwrite what is held. */
#define SMALL_RECS 5000
struct waiter {
    struct qw_pcap_reader r;
    _Atomic size_t read, released;
    uint64_t end[SMALL_RECS];
    unsigned stalls;
};

static void *releaser(void *arg)
{
    struct waiter *w = arg;
    struct timespec nap = {0, 30 * 1000 * 1000};
    for (;;) {
        size_t before = atomic_load(&w->read);
        nanosleep(&nap, NULL);
        size_t now = atomic_load(&w->read);
        if (now == SMALL_RECS) return NULL;
        if (now != before || now == 0) continue;
        w->stalls++; /* the reader stopped: let go of everything read so far */
        atomic_store(&w->released, now);
        qw_pcap_reader_release(&w->r, w->end[now - 1]);
    }
}

static void reader_waits_for_release(void **state)
{
    (void)state;
    char path[] = "/tmp/qw-pcap-wait-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static struct img f;
    file_header(&f, false, false, 4, 65535);
    for (int i = 0; i < SMALL_RECS; i++) {
        record(&f, 1795300000u + (uint32_t)i, 0, 100, 100, (uint8_t)i);
        assert_int_equal(write(fd, f.b, f.n), (ssize_t)f.n);
        f.n = 0;
    }
    close(fd);
    static struct waiter w;
    memset(&w, 0, sizeof w);
    assert_true(qw_pcap_reader_open(&w.r, path));
    assert_true(qw_pcap_reader_hold(&w.r, 4096, 0)); /* a ring of ~270 KB; 580 KB held */
    static const uint8_t *data[SMALL_RECS];
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, releaser, &w), 0);
    struct pcap_pkthdr h;
    char err[128];
    for (size_t i = 0; i < SMALL_RECS; i++) {
        assert_int_equal(qw_pcap_reader_next(&w.r, &data[i], &h, err, sizeof err), 1);
        if (!w.r.last_stable) data[i] = NULL;
        w.end[i] = qw_pcap_reader_offset(&w.r);
        for (size_t k = atomic_load(&w.released); k <= i; k++)
            if (data[k] && (data[k][0] != (uint8_t)k || data[k][99] != (uint8_t)k))
                fail_msg("record %zu overwritten while held (at %zu)", k, i);
        atomic_store(&w.read, i + 1);
    }
    pthread_join(t, NULL);
    assert_true(w.stalls > 0);
    qw_pcap_reader_close(&w.r);
    unlink(path);
}

/* Every classic pcap file of the corpus, record for record against libpcap, read from disk
 * through the reader's buffer, and with its records held in a ring of 4 KiB windows. */
static void corpus_agrees_with_libpcap(void **state)
{
    (void)state;
    const char *corpus = getenv("QW_CORPUS");
    if (!corpus) skip();
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "find '%s/pcaps' -type f | sort", corpus);
    FILE *list = popen(cmd, "r");
    assert_non_null(list);
    char path[4096];
    size_t files = 0, records = 0;
    while (fgets(path, sizeof path, list)) {
        path[strcspn(path, "\n")] = 0;
        bool opened;
        size_t n;
        char why[512];
        const char *d = qw_pcap_diff_file(path, 0, &opened, &n, why, sizeof why);
        if (d) fail_msg("%s: %s", path, d);
        if (!opened) continue; /* pcapng and the rest: libpcap's */
        size_t held;
        d = qw_pcap_diff_file(path, 4096, &opened, &held, why, sizeof why);
        if (d) fail_msg("%s, held: %s", path, d);
        assert_int_equal(held, n);
        files++;
        records += n;
    }
    pclose(list);
    if (files == 0) skip();
    print_message("%zu classic pcap files, %zu records alike\n", files, records);
    assert_true(files >= 100);
    assert_true(records >= 100000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_variant_decoded),
        cmocka_unit_test(times_past_2038),
        cmocka_unit_test(damaged_records),
        cmocka_unit_test(left_to_libpcap),
        cmocka_unit_test(open_reads_a_file_across_buffers),
        cmocka_unit_test(shrunk_file_is_an_input_error),
        cmocka_unit_test(held_records_stay_in_place),
        cmocka_unit_test(reader_waits_for_release),
        cmocka_unit_test(corpus_agrees_with_libpcap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
