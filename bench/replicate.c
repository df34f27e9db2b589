/* Replicate captures into one large benchmark capture without collapsing flows.
 *
 * usage: bench-replicate -o OUT.pcap -n COPIES IN.pcap...
 *
 * Writes COPIES passes over the inputs (Ethernet link type only; others are skipped and
 * counted). In pass k every IPv4 address a.b.c.d becomes a.(b+k).c.d (mod 256), with the IPv4
 * header checksum and the TCP/UDP checksums updated incrementally (RFC 1624), so each pass is a
 * distinct set of hosts and flows that a flow table must track separately; a checksum that was
 * wrong stays wrong by the same amount. Timestamps are shifted so that the passes follow each
 * other in time, as one long capture. IPv6 and non-IP frames are copied unchanged. */
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint16_t csum_update(uint16_t sum, uint16_t old_word, uint16_t new_word)
{
    /* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') */
    uint32_t s = (uint16_t)~sum + (uint32_t)(uint16_t)~old_word + new_word;
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* Rewrite the second octet of both IPv4 addresses of the packet at `ip`, fixing checksums. */
static void shift_ipv4(uint8_t *ip, size_t len, uint8_t k)
{
    if (len < 20 || (ip[0] >> 4) != 4) return;
    size_t ihl = (size_t)(ip[0] & 15) * 4;
    if (ihl < 20 || ihl > len) return;
    uint16_t ip_sum = rd16(ip + 10);
    bool first_frag = (rd16(ip + 6) & 0x1fff) == 0;
    uint8_t proto = ip[9];
    uint8_t *l4 = ip + ihl;
    size_t l4len = len - ihl;
    int sum_at = -1;
    if (first_frag && proto == 6 && l4len >= 18) sum_at = 16;
    if (first_frag && proto == 17 && l4len >= 8 && rd16(l4 + 6) != 0) sum_at = 6;
    for (int a = 12; a <= 16; a += 4) { /* source, destination */
        uint16_t old = rd16(ip + a);
        uint16_t neu = (uint16_t)((old & 0xff00) | (uint8_t)((old & 0xff) + k));
        wr16(ip + a, neu);
        ip_sum = csum_update(ip_sum, old, neu);
        if (sum_at >= 0) {
            uint16_t s = csum_update(rd16(l4 + sum_at), old, neu);
            if (proto == 17 && s == 0) s = 0xffff; /* RFC 768: 0 means no checksum */
            wr16(l4 + sum_at, s);
        }
    }
    wr16(ip + 10, ip_sum);
}

static void rewrite(uint8_t *f, size_t len, uint8_t k)
{
    if (len < 14) return;
    size_t off = 12;
    uint16_t type = rd16(f + off);
    for (int tags = 0; tags < 2 && (type == 0x8100 || type == 0x88a8) && off + 6 <= len; tags++) {
        off += 4;
        type = rd16(f + off);
    }
    if (type == 0x0800) shift_ipv4(f + off + 2, len - off - 2, k);
}

int main(int argc, char **argv)
{
    const char *out = NULL;
    unsigned copies = 1;
    int c;
    while ((c = getopt(argc, argv, "o:n:")) != -1) {
        if (c == 'o') out = optarg;
        else if (c == 'n') copies = (unsigned)strtoul(optarg, NULL, 10);
        else return 2;
    }
    if (!out || copies < 1 || copies > 255 || optind >= argc) {
        fprintf(stderr, "usage: bench-replicate -o OUT.pcap -n COPIES(1..255) IN.pcap...\n");
        return 2;
    }
    pcap_t *dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535,
                                                        PCAP_TSTAMP_PRECISION_NANO);
    pcap_dumper_t *dump = pcap_dump_open(dead, out);
    if (!dump) {
        fprintf(stderr, "bench-replicate: %s: %s\n", out, pcap_geterr(dead));
        return 1;
    }
    static uint8_t buf[262144];
    unsigned long long pkts = 0, skipped = 0;
    /* start at the synthetic terminal's epoch, 2026-11-20T21:30:00Z: never at time 0 */
    uint64_t base_ns = 1795210200ull * 1000000000ull, last_ns = base_ns;
    for (unsigned k = 0; k < copies; k++) {
        for (int i = optind; i < argc; i++) {
            char err[PCAP_ERRBUF_SIZE];
            pcap_t *p = pcap_open_offline_with_tstamp_precision(argv[i],
                                                                PCAP_TSTAMP_PRECISION_NANO, err);
            if (!p) {
                fprintf(stderr, "bench-replicate: %s\n", err);
                return 1;
            }
            if (pcap_datalink(p) != DLT_EN10MB) {
                skipped++;
                pcap_close(p);
                continue;
            }
            struct pcap_pkthdr *h;
            const u_char *d;
            uint64_t prev_ns = 0, nt = base_ns;
            bool have_prev = false;
            while (pcap_next_ex(p, &h, &d) == 1) {
                uint64_t t = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
                /* Each input starts 1 ms after the previous one ended, in every pass, and time
                 * only moves forward: many corpus captures are several recordings joined end to
                 * end, years apart or out of order. A gap over a minute becomes one second and a
                 * step back becomes none, so the whole file spans hours, not centuries (which
                 * overflowed pcap's 32-bit seconds and kept every flow from timing out). */
                if (have_prev) {
                    uint64_t gap = t >= prev_ns ? t - prev_ns : 0;
                    nt += gap > 60000000000ull ? 1000000000ull : gap;
                }
                prev_ns = t;
                have_prev = true;
                if (nt > last_ns) last_ns = nt;
                size_t n = h->caplen < sizeof buf ? h->caplen : sizeof buf;
                memcpy(buf, d, n);
                rewrite(buf, n, (uint8_t)k);
                struct pcap_pkthdr oh = *h;
                oh.caplen = (bpf_u_int32)n;
                oh.ts.tv_sec = (time_t)(nt / 1000000000ull);
                oh.ts.tv_usec = (suseconds_t)(nt % 1000000000ull); /* ns precision dumper */
                pcap_dump((u_char *)dump, &oh, buf);
                pkts++;
            }
            pcap_close(p);
            base_ns = last_ns + 1000000ull;
        }
    }
    pcap_dump_close(dump);
    pcap_close(dead);
    fprintf(stderr, "bench-replicate: %llu packets written (%llu non-Ethernet inputs skipped)\n",
            pkts, skipped);
    return 0;
}
