/* The floor: read a capture and count packets and bytes, nothing else. By default through
 * libpcap, the reference every figure of bench/run is measured against (no analyser reading
 * the file through libpcap can beat it). With --read, walking the records of a classic pcap
 * file in a buffer filled a megabyte per read(), as quaywatch analyze reads such files: the
 * floor for that way of reading, reported beside the other so that the ratios can be read
 * right. */
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Records walked in a buffer filled a megabyte per read(), as analyze reads classic files
 * (src/capture/pcap_reader.c); the first byte of each packet touched. */
static int read_floor(const char *path)
{
    int fd = open(path, O_RDONLY);
    enum { CHUNK = 1 << 20, CAP = CHUNK + 262144 + 16 };
    static uint8_t buf[CAP];
    uint8_t hdr[24];
    if (fd < 0 || read(fd, hdr, 24) != 24) {
        fprintf(stderr, "pcap-floor: %s: cannot open or too short\n", path);
        return 3;
    }
    uint32_t magic;
    memcpy(&magic, hdr, 4);
    int swapped = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
    if (!swapped && magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) {
        fprintf(stderr, "pcap-floor: %s: not a classic pcap file\n", path);
        return 3;
    }
    unsigned long long pkts = 0, bytes = 0, sum = 0;
    size_t have = 0, off = 0;
    for (;;) {
        uint32_t caplen = 0, len = 0;
        if (have - off >= 16) {
            memcpy(&caplen, buf + off + 8, 4);
            memcpy(&len, buf + off + 12, 4);
            if (swapped) caplen = __builtin_bswap32(caplen), len = __builtin_bswap32(len);
        }
        if (have - off < 16 || have - off - 16 < caplen) { /* refill */
            memmove(buf, buf + off, have - off);
            have -= off;
            off = 0;
            ssize_t n = read(fd, buf + have, (have < CHUNK ? CHUNK : CAP) - have);
            if (n <= 0 || caplen > 262144) break;
            have += (size_t)n;
            continue;
        }
        pkts++;
        bytes += len;
        sum += caplen ? buf[off + 16] : 0; /* touch the data, as the libpcap loop does */
        off += 16 + (size_t)caplen;
    }
    close(fd);
    printf("{\"packets\": %llu, \"bytes\": %llu, \"touch\": %llu}\n", pkts, bytes, sum);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--read") == 0) return read_floor(argv[2]);
    if (argc != 2) {
        fprintf(stderr, "usage: pcap-floor [--read] FILE.pcap\n");
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
