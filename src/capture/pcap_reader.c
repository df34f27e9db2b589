#include "capture/pcap_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* File header (pcap-savefile(5)): magic(4) major(2) minor(2) thiszone(4) sigfigs(4) snaplen(4)
 * linktype(4). Record header: seconds(4) fraction(4) captured length(4) original length(4). */
enum { FILE_HDR = 24, REC_HDR = 16 };

/* Bytes land at the same offset within a page in memory as in the file: the kernel copies into
 * a destination a few bytes past its source's offset within a page three times slower (4K
 * aliasing; measured on the benchmark machine: 0.48 s against 0.14 s a gigabyte). */
#define PAGE 4096u

static uint32_t rd32(const uint8_t *p, bool swapped)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return swapped ? __builtin_bswap32(v) : v;
}

static uint16_t rd16(const uint8_t *p, bool swapped)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return swapped ? __builtin_bswap16(v) : v;
}

/* The magic as read in host order: micro or nano, and whether the writer's order was the other. */
static bool magic_kind(const uint8_t m[4], bool *swapped, bool *nano)
{
    uint32_t magic;
    memcpy(&magic, m, 4);
    *swapped = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
    *nano = magic == 0xa1b23c4d || magic == 0x4d3cb2a1;
    return *swapped || *nano || magic == 0xa1b2c3d4;
}

bool qw_pcap_classic_magic(const uint8_t magic[4])
{
    bool swapped, nano;
    return magic_kind(magic, &swapped, &nano);
}

bool qw_pcap_reader_init(struct qw_pcap_reader *r, const uint8_t *base, size_t size)
{
    memset(r, 0, sizeof *r);
    r->fd = -1;
    if (size < FILE_HDR || !magic_kind(base, &r->swapped, &r->nano)) return false;
    /* Before 2.4 libpcap may swap the two lengths of a record; leave those files to it. */
    if (rd16(base + 4, r->swapped) != 2 || rd16(base + 6, r->swapped) != 4) return false;
    r->linktype = (int)rd32(base + 20, r->swapped);
    /* libpcap takes a snapshot length of 0 or past its maximum as the maximum */
    r->snapshot = rd32(base + 16, r->swapped);
    if (r->snapshot == 0 || r->snapshot > QW_PCAP_MAX_CAPLEN) r->snapshot = QW_PCAP_MAX_CAPLEN;
    r->base = base;
    r->size = size;
    r->off = FILE_HDR;
    return true;
}

bool qw_pcap_reader_open(struct qw_pcap_reader *r, const char *path)
{
    memset(r, 0, sizeof *r);
    r->fd = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st;
    uint8_t hdr[FILE_HDR];
    size_t cap = QW_PCAP_READ_CHUNK + QW_PCAP_MAX_CAPLEN + REC_HDR + PAGE;
    cap = (cap + PAGE - 1) / PAGE * PAGE;
    uint8_t *buf = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || pread(fd, hdr, FILE_HDR, 0) != FILE_HDR ||
        !qw_pcap_reader_init(r, hdr, FILE_HDR) || lseek(fd, FILE_HDR, SEEK_SET) != FILE_HDR ||
        !(buf = aligned_alloc(PAGE, cap))) {
        close(fd);
        memset(r, 0, sizeof *r);
        r->fd = -1;
        return false;
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL); /* read once, front to back */
    r->fd = fd;
    r->buf = buf;
    r->buf_cap = cap;
    r->base = buf;
    r->size = r->off = 0;
    r->window_at = FILE_HDR;
    return true;
}

/* Slide the window so that `need` bytes from the next record are in it, if the file has them:
 * what is left moves to the buffer's first page (at its offset within a page in the file: see
 * PAGE), then reads fill it to a chunk at least. */
static void fill(struct qw_pcap_reader *r, size_t need)
{
    if (r->fd < 0 || r->size - r->off >= need) return;
    size_t rem = r->size - r->off;
    uint64_t at = r->window_at + r->off; /* the file offset of the first byte kept */
    size_t lead = (size_t)(at % PAGE);
    memmove(r->buf + lead, r->buf + r->off, rem);
    r->window_at = at - lead; /* buf[0] stands for this file offset */
    r->off = lead;
    r->size = lead + rem;
    while (r->size - r->off < need || r->size - r->off < QW_PCAP_READ_CHUNK) {
        ssize_t n = read(r->fd, r->buf + r->size, r->buf_cap - r->size);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) r->read_errno = errno;
        if (n <= 0) break; /* the end of the file (or of what it still has), or an error */
        r->size += (size_t)n;
    }
}

/* Why the next record cannot be had when fewer than its header's bytes are left: 0 at the
 * clean end of the file, -1 with libpcap's words otherwise. */
static int header_short(size_t left, int read_errno, char *err, size_t errlen)
{
    if (read_errno) {
        snprintf(err, errlen, "read error: %s", strerror(read_errno));
        return -1;
    }
    if (left == 0) return 0;
    snprintf(err, errlen, "truncated dump file; tried to read %d header bytes, only got %zu",
             REC_HDR, left);
    return -1;
}

static bool caplen_ok(uint32_t caplen, char *err, size_t errlen)
{
    if (caplen <= QW_PCAP_MAX_CAPLEN) return true;
    snprintf(err, errlen, "invalid packet capture length %u, bigger than maximum of %u", caplen,
             QW_PCAP_MAX_CAPLEN);
    return false;
}

static int data_short(uint32_t caplen, size_t got, int read_errno, char *err, size_t errlen)
{
    if (read_errno)
        snprintf(err, errlen, "read error: %s", strerror(read_errno));
    else
        snprintf(err, errlen, "truncated dump file; tried to read %u captured bytes, only got %zu",
                 caplen, got);
    return -1;
}

/* The record header `rec` (its caplen already checked) into *h, as libpcap fills it. */
static void header_fields(const struct qw_pcap_reader *r, const uint8_t *rec, uint32_t caplen,
                          struct pcap_pkthdr *h)
{
    /* The seconds are an unsigned 32-bit count since 1970 (the pcap file format, IETF
     * draft-ietf-opsawg-pcap s.5), good until 2106. libpcap widens them as signed in a file of
     * the host's byte order (and unsigned in a swapped one), which turns a capture made after
     * 2038-01-19 into one from 1901: read unsigned both ways, so the same file gives the same,
     * right, times. A microsecond fraction is scaled to the nanoseconds asked for. */
    uint32_t sec = rd32(rec, r->swapped), frac = rd32(rec + 4, r->swapped);
    h->ts.tv_sec = (time_t)sec;
    h->ts.tv_usec = (suseconds_t)frac;
    if (!r->nano) h->ts.tv_usec *= 1000;
    /* a record longer than the file's snapshot length (written by a buggy capturer) is cut to
     * it, the rest skipped */
    h->caplen = caplen > r->snapshot ? r->snapshot : caplen;
    h->len = rd32(rec + 12, r->swapped);
}

static int next_held(struct qw_pcap_reader *r, const uint8_t **data, struct pcap_pkthdr *h,
                     char *err, size_t errlen);

int qw_pcap_reader_next(struct qw_pcap_reader *r, const uint8_t **data, struct pcap_pkthdr *h,
                        char *err, size_t errlen)
{
    if (r->hold) return next_held(r, data, h, err, errlen);
    fill(r, REC_HDR);
    size_t left = r->size - r->off;
    if (left < REC_HDR) return header_short(left, r->read_errno, err, errlen);
    uint32_t caplen = rd32(r->base + r->off + 8, r->swapped);
    if (!caplen_ok(caplen, err, errlen)) return -1;
    fill(r, REC_HDR + (size_t)caplen);
    left = r->size - r->off;
    if (left - REC_HDR < caplen)
        return data_short(caplen, left - REC_HDR, r->read_errno, err, errlen);
    const uint8_t *rec = r->base + r->off;
    header_fields(r, rec, caplen, h);
    *data = rec + REC_HDR;
    r->off += REC_HDR + (size_t)caplen;
    return 1;
}

/* ---- records held in place -------------------------------------------------------------------
 *
 * The file is read in windows: window w holds the file's bytes [w W, (w + 1) W) at ring slot
 * w mod nwin, so a byte's place in the ring is its file offset modulo the ring's size. A window
 * is read into its slot only once the window that used the slot before lies wholly before
 * `released`, the caller's word (the only field another thread touches). */

struct qw_pcap_hold {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    _Atomic uint64_t released; /* the records before this file offset are no longer needed */
    uint8_t *ring;
    size_t window, ring_bytes;
    uint64_t nwin;
    /* the walking thread's own */
    uint64_t pos;     /* file offset of the next record */
    uint64_t known;   /* bytes [.., known) are in the ring */
    bool known_final; /* and there are no more: the end of the file or a read error */
    int final_errno;
    uint8_t *spill;   /* a record that wraps around the ring's end, copied */
};

/* Read window w into its slot, once the slot is free. */
static void read_window(struct qw_pcap_reader *r, uint64_t w)
{
    struct qw_pcap_hold *hd = r->hold;
    if (w >= hd->nwin) {
        uint64_t need = (w - hd->nwin + 1) * hd->window; /* the slot's last user ends there */
        if (atomic_load(&hd->released) < need) {
            pthread_mutex_lock(&hd->mu);
            while (atomic_load(&hd->released) < need) pthread_cond_wait(&hd->cv, &hd->mu);
            pthread_mutex_unlock(&hd->mu);
        }
    }
    uint8_t *dst = hd->ring + (w % hd->nwin) * hd->window;
    size_t got = 0;
    while (got < hd->window) {
        ssize_t n = pread(r->fd, dst + got, hd->window - got, (off_t)(w * hd->window + got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) hd->final_errno = errno;
        if (n <= 0) break;
        got += (size_t)n;
    }
    hd->known = w * hd->window + got;
    hd->known_final = got < hd->window;
}

/* Make the bytes [from, from + need) readable in the ring, as far as the file has them; returns
 * how many of them it has. */
static size_t have(struct qw_pcap_reader *r, uint64_t from, size_t need)
{
    struct qw_pcap_hold *hd = r->hold;
    while (hd->known < from + need && !hd->known_final) read_window(r, hd->known / hd->window);
    return hd->known >= from + need ? need : (size_t)(hd->known - from);
}

/* Copy file bytes [at, at + len) out of the ring, across its end if they wrap. */
static void ring_copy(const struct qw_pcap_hold *hd, uint8_t *dst, uint64_t at, size_t len)
{
    size_t o = (size_t)(at % hd->ring_bytes), first = hd->ring_bytes - o;
    if (first > len) first = len;
    memcpy(dst, hd->ring + o, first);
    memcpy(dst + first, hd->ring, len - first);
}

static int next_held(struct qw_pcap_reader *r, const uint8_t **data, struct pcap_pkthdr *h,
                     char *err, size_t errlen)
{
    struct qw_pcap_hold *hd = r->hold;
    size_t left = have(r, hd->pos, REC_HDR);
    if (left < REC_HDR) return header_short(left, hd->final_errno, err, errlen);
    uint8_t rec[REC_HDR];
    ring_copy(hd, rec, hd->pos, REC_HDR);
    uint32_t caplen = rd32(rec + 8, r->swapped);
    if (!caplen_ok(caplen, err, errlen)) return -1;
    left = have(r, hd->pos, REC_HDR + (size_t)caplen);
    if (left - REC_HDR < caplen)
        return data_short(caplen, left - REC_HDR, hd->final_errno, err, errlen);
    header_fields(r, rec, caplen, h);
    uint64_t at = hd->pos + REC_HDR;
    size_t o = (size_t)(at % hd->ring_bytes);
    r->last_stable = o + caplen <= hd->ring_bytes;
    if (r->last_stable) {
        *data = hd->ring + o;
    } else {
        ring_copy(hd, hd->spill, at, caplen);
        *data = hd->spill;
    }
    hd->pos = at + caplen;
    r->last_span = REC_HDR + caplen;
    return 1;
}

static void hold_free(struct qw_pcap_hold *hd)
{
    if (!hd) return;
    pthread_mutex_destroy(&hd->mu);
    pthread_cond_destroy(&hd->cv);
    free(hd->ring);
    free(hd->spill);
    free(hd);
}

bool qw_pcap_reader_hold(struct qw_pcap_reader *r, size_t window, size_t held)
{
    if (r->fd < 0 || r->hold || r->window_at + r->size != FILE_HDR || window == 0) return false;
    /* beside what is held: the record being read (the longest there is) and the windows it
     * spans */
    uint64_t nwin = (held + QW_PCAP_MAX_CAPLEN + REC_HDR + 2 * (uint64_t)window + window - 1) /
                    window;
    size_t alloc = (size_t)((nwin * window + PAGE - 1) / PAGE * PAGE);
    struct qw_pcap_hold *hd = calloc(1, sizeof *hd);
    if (!hd) return false;
    pthread_mutex_init(&hd->mu, NULL);
    pthread_cond_init(&hd->cv, NULL);
    atomic_init(&hd->released, 0);
    hd->window = window;
    hd->nwin = nwin;
    hd->ring_bytes = (size_t)(nwin * window);
    hd->pos = FILE_HDR;
    /* page-aligned, so that each window lands at its offset within a page in the file (PAGE) */
    hd->ring = aligned_alloc(PAGE, alloc);
    hd->spill = malloc(QW_PCAP_MAX_CAPLEN);
    if (!hd->ring || !hd->spill) {
        hold_free(hd);
        return false;
    }
    r->hold = hd;
    free(r->buf); /* the ring takes its place */
    r->buf = NULL;
    r->base = NULL;
    r->buf_cap = 0;
    return true;
}

void qw_pcap_reader_release(struct qw_pcap_reader *r, uint64_t upto)
{
    struct qw_pcap_hold *hd = r->hold;
    if (!hd) return;
    pthread_mutex_lock(&hd->mu);
    if (upto > atomic_load(&hd->released)) {
        atomic_store(&hd->released, upto);
        pthread_cond_broadcast(&hd->cv);
    }
    pthread_mutex_unlock(&hd->mu);
}

uint64_t qw_pcap_reader_offset(const struct qw_pcap_reader *r)
{
    if (r->hold) return r->hold->pos;
    return r->window_at + r->off;
}

void qw_pcap_reader_close(struct qw_pcap_reader *r)
{
    hold_free(r->hold);
    if (r->fd >= 0) close(r->fd);
    free(r->buf);
    memset(r, 0, sizeof *r);
    r->fd = -1;
}
