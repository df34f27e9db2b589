/* `quaywatch synth [--minutes N] [--scale K] [--seed S] -o FILE.pcap`: argument parsing for the
 * synthetic capture generator (src/synth/). Exit codes per enum qw_exit. */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "synth/synth.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: quaywatch synth [--minutes N] [--scale K] [--seed S] [--truth FILE.json]\n"
            "                       -o FILE.pcap\n"
            "\n"
            "Write a synthetic capture of a container and liquid-bulk terminal as seen on a SPAN\n"
            "of its core switch trunk (802.1Q VLANs 10-60: corporate, TOS, cranes, tank farm,\n"
            "remote-access DMZ, CCTV), with Modbus/TCP polling, DHCP, DNS, ARP, NTP, HTTP,\n"
            "RTSP/RTP video and SSH, plus scripted incidents (docs/synth.md). The capture starts\n"
            "at 2026-11-20T21:30:00Z; examples/terminal.yaml is the matching site file.\n"
            "The same arguments always produce a byte-identical file.\n"
            "\n"
            "options:\n"
            "  --minutes N    length of the capture in minutes, 1..%u (default 10)\n"
            "  --scale K      multiply controllers, cameras and workstations by K, 1..%u\n"
            "                 (default 1); about 40 MB per 10 minutes at scale 1, growing\n"
            "                 roughly linearly with K\n"
            "  --seed S       seed for timing jitter, identifiers and payloads, 0..2^64-1\n"
            "                 (default 1); addresses and MACs do not depend on it\n"
            "  --truth FILE   also write the ground truth (every device, its addresses,\n"
            "                 vendor and fair roles) as JSON; alone, -o may be left out\n"
            "  -o, --output FILE\n"
            "                 where to write the pcap (required); written to a temporary file\n"
            "                 beside it and renamed when complete\n"
            "  -h, --help     show this help\n"
            "\n"
            "exit status: 0 success, 2 usage error, 1 failure (e.g. output not writable)\n",
            QW_SYNTH_MAX_MINUTES, QW_SYNTH_MAX_SCALE);
}

/* A plain decimal number in [min, max]: no sign, no spaces, no suffix, no overflow. */
static int parse_num(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s || !*s) return -1;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    if (v < min || v > max) return -1;
    *out = v;
    return 0;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

int qw_cmd_synth(int argc, char **argv)
{
    char err[512];
    enum { OPT_MINUTES = 256, OPT_SCALE, OPT_SEED, OPT_TRUTH };
    static const struct option longopts[] = {
        {"minutes", required_argument, NULL, OPT_MINUTES},
        {"scale", required_argument, NULL, OPT_SCALE},
        {"seed", required_argument, NULL, OPT_SEED},
        {"truth", required_argument, NULL, OPT_TRUTH},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct qw_synth_opts o = {.minutes = 10, .scale = 1, .seed = 1};
    const char *out = NULL, *truth = NULL;
    uint64_t v;
    int c;

    optind = 1; /* other subcommands may have used getopt in this process */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_MINUTES:
            if (parse_num(optarg, 1, QW_SYNTH_MAX_MINUTES, &v)) {
                fprintf(stderr,
                        "quaywatch synth: --minutes: '%s' is not a whole number from 1 to %u\n",
                        optarg, QW_SYNTH_MAX_MINUTES);
                return QW_EXIT_USAGE;
            }
            o.minutes = (unsigned)v;
            break;
        case OPT_SCALE:
            if (parse_num(optarg, 1, QW_SYNTH_MAX_SCALE, &v)) {
                fprintf(stderr,
                        "quaywatch synth: --scale: '%s' is not a whole number from 1 to %u\n",
                        optarg, QW_SYNTH_MAX_SCALE);
                return QW_EXIT_USAGE;
            }
            o.scale = (unsigned)v;
            break;
        case OPT_SEED:
            if (parse_num(optarg, 0, UINT64_MAX, &v)) {
                fprintf(stderr, "quaywatch synth: --seed: '%s' is not a whole number from 0 to "
                                "18446744073709551615\n", optarg);
                return QW_EXIT_USAGE;
            }
            o.seed = v;
            break;
        case OPT_TRUTH:
            truth = optarg;
            break;
        case 'o':
            if (!*optarg) {
                fprintf(stderr, "quaywatch synth: -o: empty file name\n");
                return QW_EXIT_USAGE;
            }
            out = optarg;
            break;
        case 'h':
            usage(stdout);
            return QW_EXIT_OK;
        case ':':
            fprintf(stderr,
                    "quaywatch synth: option '%s' needs a value; see 'quaywatch synth --help'\n",
                    argv[optind - 1]);
            return QW_EXIT_USAGE;
        default:
            fprintf(stderr, "quaywatch synth: unknown option '%s'; see 'quaywatch synth --help'\n",
                    argv[optind - 1]);
            return QW_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "quaywatch synth: unexpected argument '%s'; see 'quaywatch synth --help'\n",
                argv[optind]);
        return QW_EXIT_USAGE;
    }
    if (truth && qw_synth_truth(o.scale, truth, err, sizeof err) != 0) {
        fprintf(stderr, "quaywatch synth: %s\n", err);
        return QW_EXIT_FAILURE;
    }
    if (!out && truth) return QW_EXIT_OK;
    if (!out) {
        fprintf(stderr, "quaywatch synth: missing -o FILE (where to write the capture); see "
                        "'quaywatch synth --help'\n");
        return QW_EXIT_USAGE;
    }

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct qw_synth_stats st = {0};
    if (qw_synth_run(&o, out, &st, err, sizeof err) != 0) {
        fprintf(stderr, "quaywatch synth: %s\n", err);
        return QW_EXIT_FAILURE;
    }
    double secs = seconds_since(&t0);
    double mb = (double)st.bytes / 1e6;
    fprintf(stderr,
            "quaywatch synth: wrote %s: %llu packets, %.1f MB, %zu devices, %u min at scale %u "
            "(%.2f s, %.0f MB/s)\n",
            out, (unsigned long long)st.packets, mb, st.devices, o.minutes, o.scale, secs,
            secs > 0 ? mb / secs : 0.0);
    return QW_EXIT_OK;
}
