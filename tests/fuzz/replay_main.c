/* Replays real inputs through a fuzz harness in every build (see fuzz.h): each packet of every
 * capture under the corpus directory (or its payload), plus deterministic mutations of it (bit
 * flips, truncations, byte runs), so the sanitizers see hostile variants of real traffic. Exit 77
 * (skipped) when the corpus is absent. */
#include <dirent.h>
#include <stdbool.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "decode/decode.h"
#include "fuzz.h"

#define MUTATIONS 6

static unsigned long long inputs;

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    /* xorshift64*: fixed seed, so a failure replays identically */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

/* QW_FUZZ_SEED_DIR set: write each distinct real input there (up to QW_SEED_MAX files) as a
 * libFuzzer seed corpus instead of running the harness (`make fuzz` uses it). */
#define QW_SEED_MAX 4000
static const char *seed_dir;
static unsigned long seeds;

static bool write_seed(const uint8_t *data, size_t len)
{
    if (seeds >= QW_SEED_MAX || len == 0) return true;
    char path[4096];
    snprintf(path, sizeof path, "%s/seed-%05lu", seed_dir, seeds);
    FILE *fp = fopen(path, "wb");
    if (!fp) return false;
    bool ok = fwrite(data, 1, len, fp) == len;
    ok = fclose(fp) == 0 && ok;
    seeds++;
    return ok;
}

static void run_one(const uint8_t *data, size_t len)
{
    if (seed_dir) {
        if (!write_seed(data, len)) {
            fprintf(stderr, "cannot write seeds to %s\n", seed_dir);
            exit(1);
        }
        inputs++;
        return;
    }
    static uint8_t buf[70000];
    if (len > sizeof buf) len = sizeof buf;
    uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan catches reads past the end */
    if (!copy) return;
    memcpy(copy, data, len);
    LLVMFuzzerTestOneInput(copy, len);
    free(copy);
    inputs++;
    for (int m = 0; m < MUTATIONS && len > 0; m++) {
        memcpy(buf, data, len);
        size_t n = len;
        switch (m % 3) {
        case 0: /* flip a few bits */
            for (int k = 0; k < 4; k++) buf[rng() % n] ^= (uint8_t)(1u << (rng() % 8));
            break;
        case 1: /* truncate */
            n = rng() % n;
            break;
        case 2: /* overwrite a run with an extreme byte (lengths go to 0 or 0xff..) */
            {
                size_t at = rng() % n, run = 1 + rng() % 4;
                memset(buf + at, (rng() & 1) ? 0xff : 0x00, at + run <= n ? run : n - at);
            }
            break;
        }
        copy = malloc(n ? n : 1);
        if (!copy) return;
        memcpy(copy, buf, n);
        LLVMFuzzerTestOneInput(copy, n);
        free(copy);
        inputs++;
    }
}

static void replay_file(const char *path)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, err);
    if (!p) return;
    struct qw_decoder d;
    qw_decoder_init(&d, pcap_datalink(p));
    struct pcap_pkthdr *h;
    const u_char *data;
    while (pcap_next_ex(p, &h, &data) == 1) {
        if (qw_fuzz_feed == QW_FUZZ_FEED_FRAME) {
            run_one(data, h->caplen);
            continue;
        }
        struct qw_packet pkt;
        qw_decode(&d, data, h->caplen, h->len, 0, &pkt);
        /* TCP and UDP payloads, and those of other IP protocols (VRRP) */
        bool other_ip = (pkt.l3 == QW_L3_IPV4 || pkt.l3 == QW_L3_IPV6) && pkt.payload &&
                        pkt.l4_proto != 6 && pkt.l4_proto != 17;
        if ((pkt.l4_ok || other_ip) && pkt.payload_len) run_one(pkt.payload, pkt.payload_len);
    }
    qw_decoder_free(&d);
    pcap_close(p);
}

static void walk(const char *dir)
{
    DIR *dp = opendir(dir);
    if (!dp) return;
    struct dirent *de;
    /* sorted order for reproducibility */
    char **names = NULL;
    size_t n = 0;
    while ((de = readdir(dp))) {
        if (de->d_name[0] == '.') continue;
        char **nn = realloc(names, (n + 1) * sizeof *names);
        if (!nn) break;
        names = nn;
        names[n++] = strdup(de->d_name);
    }
    closedir(dp);
    for (size_t i = 0; i + 1 < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(names[i], names[j]) > 0) {
                char *t = names[i];
                names[i] = names[j];
                names[j] = t;
            }
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            walk(path);
        else if (strstr(names[i], ".pcap"))
            replay_file(path);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_PCAPS_DIR\n", argv[0]);
        return 2;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s%s%s", argv[1], qw_fuzz_subdir ? "/" : "",
             qw_fuzz_subdir ? qw_fuzz_subdir : "");
    struct stat st;
    if (stat(dir, &st) != 0) {
        printf("SKIP: corpus directory %s not found\n", dir);
        return 77;
    }
    seed_dir = getenv("QW_FUZZ_SEED_DIR");
    walk(dir);
    if (seed_dir) {
        printf("wrote %lu seeds to %s\n", seeds, seed_dir);
        return 0;
    }
    printf("replayed %llu inputs from %s\n", inputs, dir);
    return inputs ? 0 : 1;
}
