/* Fuzz harness for the pcap reader (src/capture/pcap_reader.c), differential against
 * libpcap (pcap_diff.h): any difference in records, lengths, times or where reading stops is a
 * crash. Each input is read twice: as a whole file image, and as the record stream after a
 * valid file header whose magic (either byte order, micro or nano) and snapshot length the
 * first byte picks, so that most inputs get past the header into the records. The replay driver
 * feeds corpus frames and their mutations: real bytes make plausible and implausible lengths. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "pcap_diff.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_FRAME;
const char *const qw_fuzz_subdir = "modbus";

static void check(const uint8_t *img, size_t size)
{
    size_t n;
    char why[512];
    if (qw_pcap_diff(img, size, &n, why, sizeof why)) {
        fprintf(stderr, "pcap reader differs from libpcap: %s\n", why);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check(data, size);
    if (size == 0 || size > 1 << 20) return 0;
    static const uint32_t magics[] = {0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1};
    static const uint32_t snaplens[] = {65535, 0, 64, 262144, 262145, 0xffffffff, 1, 1514};
    uint32_t magic = magics[data[0] & 3], snap = snaplens[(data[0] >> 2) & 7];
    bool swap = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
    uint8_t *img = malloc(24 + size - 1);
    if (!img) return 0;
    uint32_t hdr32[6] = {magic, 0, 0, 0, snap, 1};
    uint16_t ver[2] = {2, 4};
    if (swap) {
        hdr32[4] = __builtin_bswap32(snap);
        hdr32[5] = __builtin_bswap32(1);
        ver[0] = __builtin_bswap16(2);
        ver[1] = __builtin_bswap16(4);
    }
    memcpy(img, &hdr32[0], 4);
    memcpy(img + 4, ver, 4);
    memset(img + 8, 0, 8);
    memcpy(img + 16, &hdr32[4], 8);
    memcpy(img + 24, data + 1, size - 1);
    check(img, 24 + size - 1);
    free(img);
    return 0;
}
