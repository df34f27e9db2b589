#include "capture/pcap_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* File header (pcap-savefile(5)): magic(4) major(2) minor(2) thiszone(4) sigfigs(4) snaplen(4)
 * linktype(4). Record header: seconds(4) fraction(4) captured length(4) original length(4). */
enum { FILE_HDR = 24, REC_HDR = 16 };

/* A read() at a time; the buffer also holds the longest record that may straddle two reads. */
#define READ_CHUNK (1u << 20)

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
    size_t cap = READ_CHUNK + QW_PCAP_MAX_CAPLEN + REC_HDR;
    uint8_t *buf = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || pread(fd, hdr, FILE_HDR, 0) != FILE_HDR ||
        !qw_pcap_reader_init(r, hdr, FILE_HDR) || lseek(fd, FILE_HDR, SEEK_SET) != FILE_HDR ||
        !(buf = malloc(cap))) {
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
 * what is left moves to the buffer's start, then reads fill it to a chunk at least. */
static void fill(struct qw_pcap_reader *r, size_t need)
{
    if (r->fd < 0 || r->size - r->off >= need) return;
    size_t rem = r->size - r->off;
    memmove(r->buf, r->buf + r->off, rem);
    r->window_at += r->off;
    r->off = 0;
    r->size = rem;
    while (r->size < need || r->size < READ_CHUNK) {
        ssize_t n = read(r->fd, r->buf + r->size, r->buf_cap - r->size);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) r->read_errno = errno;
        if (n <= 0) break; /* the end of the file (or of what it still has), or an error */
        r->size += (size_t)n;
    }
}

int qw_pcap_reader_next(struct qw_pcap_reader *r, const uint8_t **data, struct pcap_pkthdr *h,
                        char *err, size_t errlen)
{
    fill(r, REC_HDR);
    size_t left = r->size - r->off;
    if (left < REC_HDR && r->read_errno) {
        snprintf(err, errlen, "read error: %s", strerror(r->read_errno));
        return -1;
    }
    if (left == 0) return 0;
    if (left < REC_HDR) {
        snprintf(err, errlen, "truncated dump file; tried to read %d header bytes, only got %zu",
                 REC_HDR, left);
        return -1;
    }
    uint32_t caplen = rd32(r->base + r->off + 8, r->swapped);
    if (caplen > QW_PCAP_MAX_CAPLEN) {
        snprintf(err, errlen, "invalid packet capture length %u, bigger than maximum of %u",
                 caplen, QW_PCAP_MAX_CAPLEN);
        return -1;
    }
    fill(r, REC_HDR + (size_t)caplen);
    left = r->size - r->off;
    if (left - REC_HDR < caplen) {
        if (r->read_errno)
            snprintf(err, errlen, "read error: %s", strerror(r->read_errno));
        else
            snprintf(err, errlen,
                     "truncated dump file; tried to read %u captured bytes, only got %zu", caplen,
                     left - REC_HDR);
        return -1;
    }
    const uint8_t *rec = r->base + r->off;
    /* libpcap widens the time fields as signed 32-bit values in a file of the host's byte order
     * and as unsigned ones in a swapped file (its byte-swap yields an unsigned value); the two
     * differ only past 2038 or for a fraction over 2^31, but the same file must give the same
     * times either way. A microsecond fraction is scaled to the nanoseconds asked for. */
    uint32_t sec = rd32(rec, r->swapped), frac = rd32(rec + 4, r->swapped);
    h->ts.tv_sec = r->swapped ? (time_t)sec : (time_t)(int32_t)sec;
    h->ts.tv_usec = r->swapped ? (suseconds_t)frac : (suseconds_t)(int32_t)frac;
    if (!r->nano) h->ts.tv_usec *= 1000;
    /* a record longer than the file's snapshot length (written by a buggy capturer) is cut to
     * it, the rest skipped */
    h->caplen = caplen > r->snapshot ? r->snapshot : caplen;
    h->len = rd32(rec + 12, r->swapped);
    *data = rec + REC_HDR;
    r->off += REC_HDR + (size_t)caplen;
    return 1;
}

uint64_t qw_pcap_reader_offset(const struct qw_pcap_reader *r)
{
    return r->window_at + r->off;
}

void qw_pcap_reader_close(struct qw_pcap_reader *r)
{
    if (r->fd >= 0) close(r->fd);
    free(r->buf);
    memset(r, 0, sizeof *r);
    r->fd = -1;
}
