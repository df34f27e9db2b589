/* The floor: read a capture with libpcap and count packets and bytes, nothing else. No analyser
 * reading the same file through libpcap can beat it; bench/run reports every figure against it. */
#include <pcap/pcap.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: pcap-floor FILE.pcap\n");
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
