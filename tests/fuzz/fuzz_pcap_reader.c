/* Fuzz harness for the pcap reader (src/capture/pcap_reader.c), differential against
 * libpcap (pcap_diff.h): any difference in records, lengths, times or where reading stops is a
 * crash. Each input is read twice: as a whole file image, and as the record stream after a
 * valid file header whose magic (either byte order, micro or nano) and snapshot length the
 * first byte picks, so that most inputs get past the header into the records; that one is also
 * read, one input in 16, from a file with its records held (check_held). The replay driver
 * feeds corpus frames and their mutations: real bytes make plausible and implausible lengths. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

/* The same image as a file whose records are held in a ring of 1 KiB windows, released one by
 * one (the reading `analyze --workers N` does): windows, wraps and copies on hostile lengths. */
static void check_held(const uint8_t *img, size_t size)
{
    int fd = memfd_create("qw-fuzz-pcap", 0);
    if (fd < 0) return;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    if (write(fd, img, size) == (ssize_t)size) {
        bool opened;
        size_t n;
        char why[512];
        if (qw_pcap_diff_file(path, 1024, &opened, &n, why, sizeof why)) {
            fprintf(stderr, "held pcap reader differs from libpcap: %s\n", why);
            abort();
        }
    }
    close(fd);
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
    /* a file costs a few system calls: one input in 16 (the replay's 200,000 inputs stay
     * under a second) */
    static unsigned inputs;
    if (inputs++ % 16 == 0) check_held(img, 24 + size - 1);
    free(img);
    return 0;
}
