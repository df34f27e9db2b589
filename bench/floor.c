/* The floor: read a capture and count packets and bytes, nothing else. By default through
 * libpcap, the reference every figure of bench/run is measured against (no analyser reading
 * the file through libpcap can beat it). With --mmap, walking the records of a classic pcap
 * file in a read-only memory map, as quaywatch analyze reads such files (src/capture/pcap_map.c):
 * the floor for that way of reading, reported beside the other so that the ratios can be read
 * right. */
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int mapped_floor(const char *path)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < 24) {
        fprintf(stderr, "pcap-floor: %s: cannot open or too short\n", path);
        return 3;
    }
    size_t size = (size_t)st.st_size;
    const uint8_t *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        fprintf(stderr, "pcap-floor: %s: cannot map\n", path);
        return 3;
    }
    madvise((void *)m, size, MADV_SEQUENTIAL);
    uint32_t magic;
    memcpy(&magic, m, 4);
    int swapped = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
    if (!swapped && magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) {
        fprintf(stderr, "pcap-floor: %s: not a classic pcap file\n", path);
        return 3;
    }
    unsigned long long pkts = 0, bytes = 0, sum = 0;
    size_t off = 24;
    while (size - off >= 16) {
        uint32_t caplen, len;
        memcpy(&caplen, m + off + 8, 4);
        memcpy(&len, m + off + 12, 4);
        if (swapped) caplen = __builtin_bswap32(caplen), len = __builtin_bswap32(len);
        if (size - off - 16 < caplen) break;
        pkts++;
        bytes += len;
        sum += caplen ? m[off + 16] : 0; /* touch the data, as the libpcap loop does */
        off += 16 + (size_t)caplen;
    }
    munmap((void *)m, size);
    printf("{\"packets\": %llu, \"bytes\": %llu, \"touch\": %llu}\n", pkts, bytes, sum);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--mmap") == 0) return mapped_floor(argv[2]);
    if (argc != 2) {
        fprintf(stderr, "usage: pcap-floor [--mmap] FILE.pcap\n");
        return 2;
    }
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline_with_tstamp_precision(argv[1], PCAP_TSTAMP_PRECISION_NANO, err);
    if (!p) {
        fprintf(stderr, "pcap-floor: %s\n", err);
        return 3;
    }
    struct pcap_pkthdr *h;
    const u_char *d;
    unsigned long long pkts = 0, bytes = 0, sum = 0;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
        pkts++;
        bytes += h->len;
        sum += h->caplen ? d[0] : 0; /* touch the data so the read is not optimised away */
    }
    pcap_close(p);
    printf("{\"packets\": %llu, \"bytes\": %llu, \"touch\": %llu}\n", pkts, bytes, sum);
    return rc == PCAP_ERROR ? 3 : 0;
}
