#include "capture/pcap_map.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* File header (pcap-savefile(5)): magic(4) major(2) minor(2) thiszone(4) sigfigs(4) snaplen(4)
 * linktype(4). Record header: seconds(4) fraction(4) captured length(4) original length(4). */
enum { FILE_HDR = 24, REC_HDR = 16 };

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

bool qw_pcap_map_init(struct qw_pcap_map *m, const uint8_t *base, size_t size)
{
    memset(m, 0, sizeof *m);
    if (size < FILE_HDR) return false;
    uint32_t magic;
    memcpy(&magic, base, 4);
    switch (magic) {
    case 0xa1b2c3d4: break;
    case 0xd4c3b2a1: m->swapped = true; break;
    case 0xa1b23c4d: m->nano = true; break;
    case 0x4d3cb2a1: m->swapped = m->nano = true; break;
    default: return false;
    }
    /* Before 2.4 libpcap may swap the two lengths of a record; leave those files to it. */
    if (rd16(base + 4, m->swapped) != 2 || rd16(base + 6, m->swapped) != 4) return false;
    m->linktype = (int)rd32(base + 20, m->swapped);
    /* libpcap takes a snapshot length of 0 or past its maximum as the maximum */
    m->snapshot = rd32(base + 16, m->swapped);
    if (m->snapshot == 0 || m->snapshot > QW_PCAP_MAX_CAPLEN) m->snapshot = QW_PCAP_MAX_CAPLEN;
    m->base = base;
    m->size = size;
    m->off = FILE_HDR;
    return true;
}

bool qw_pcap_map_open(struct qw_pcap_map *m, const char *path)
{
    memset(m, 0, sizeof *m);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st;
    void *map = MAP_FAILED;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= FILE_HDR)
        map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd); /* the mapping keeps the file */
    if (map == MAP_FAILED) return false;
    /* read once, front to back: let the kernel read ahead and drop what is behind */
    madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
    if (!qw_pcap_map_init(m, map, (size_t)st.st_size)) {
        munmap(map, (size_t)st.st_size);
        return false;
    }
    m->map = map;
    m->map_len = (size_t)st.st_size;
    m->keep = QW_PCAP_MAP_KEEP;
    m->page = (size_t)sysconf(_SC_PAGESIZE);
    return true;
}

int qw_pcap_map_next(struct qw_pcap_map *m, const uint8_t **data, struct pcap_pkthdr *h,
                     char *err, size_t errlen)
{
    size_t left = m->size - m->off;
    if (left == 0) return 0;
    if (left < REC_HDR) {
        snprintf(err, errlen, "truncated dump file; tried to read %d header bytes, only got %zu",
                 REC_HDR, left);
        return -1;
    }
    const uint8_t *r = m->base + m->off;
    uint32_t caplen = rd32(r + 8, m->swapped);
    if (caplen > QW_PCAP_MAX_CAPLEN) {
        snprintf(err, errlen, "invalid packet capture length %u, bigger than maximum of %u",
                 caplen, QW_PCAP_MAX_CAPLEN);
        return -1;
    }
    if (left - REC_HDR < caplen) {
        snprintf(err, errlen, "truncated dump file; tried to read %u captured bytes, only got %zu",
                 caplen, left - REC_HDR);
        return -1;
    }
    /* libpcap widens the time fields as signed 32-bit values in a file of the host's byte order
     * and as unsigned ones in a swapped file (its byte-swap yields an unsigned value); the two
     * differ only past 2038 or for a fraction over 2^31, but the same file must give the same
     * times either way. A microsecond fraction is scaled to the nanoseconds asked for. */
    uint32_t sec = rd32(r, m->swapped), frac = rd32(r + 4, m->swapped);
    h->ts.tv_sec = m->swapped ? (time_t)sec : (time_t)(int32_t)sec;
    h->ts.tv_usec = m->swapped ? (suseconds_t)frac : (suseconds_t)(int32_t)frac;
    if (!m->nano) h->ts.tv_usec *= 1000;
    /* a record longer than the file's snapshot length (written by a buggy capturer) is cut to
     * it, the rest skipped */
    h->caplen = caplen > m->snapshot ? m->snapshot : caplen;
    h->len = rd32(r + 12, m->swapped);
    *data = r + REC_HDR;
    m->off += REC_HDR + (size_t)caplen;
    return 1;
}

void qw_pcap_map_window(struct qw_pcap_map *m)
{
    if (!m->map) return;
    if (m->off < m->released + 2 * m->keep) return;
    size_t upto = (m->off - m->keep) / m->page * m->page;
    if (upto <= m->released) return;
    madvise((uint8_t *)m->map + m->released, upto - m->released, MADV_DONTNEED);
    m->released = upto;
}

void qw_pcap_map_close(struct qw_pcap_map *m)
{
    if (m->map) munmap(m->map, m->map_len);
    memset(m, 0, sizeof *m);
}
