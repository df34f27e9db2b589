/* `quaywatch synth [--minutes N] [--scale K] [--seed S] [--incidents] [--start TIME]
 * [--truth FILE] -o FILE.pcap`: argument parsing for the synthetic capture generator
 * (src/synth/). Exit codes per enum qw_exit. */
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
            "usage: quaywatch synth [--minutes N] [--scale K] [--seed S] [--incidents]\n"
            "                       [--start TIME] [--truth FILE.json] -o FILE.pcap\n"
            "\n"
            "Write a synthetic capture of a container and liquid-bulk terminal as seen on a SPAN\n"
            "of its core switch trunk (802.1Q VLANs 10-60: corporate, TOS, cranes, tank farm,\n"
            "remote-access DMZ, CCTV): Modbus/TCP, S7comm and DNP3 polling, DHCP, DNS, ARP, NTP,\n"
            "HTTP, RTSP/RTP video. With --incidents, also the scripted events of docs/synth.md\n"
            "(vendor remote access, firmware updates, a router swap, an unknown laptop scanning\n"
            "and stopping a PLC, Telnet, a DNP3 cold restart...). examples/terminal.yaml is the\n"
            "matching site file. The same arguments always produce a byte-identical file.\n"
            "\n"
            "options:\n"
            "  --minutes N    length of the capture in minutes, 1..%u (default 10)\n"
            "  --scale K      multiply controllers, cameras and workstations by K, 1..%u\n"
            "                 (default 1); about 40 MB per 10 minutes at scale 1, growing\n"
            "                 roughly linearly with K\n"
            "  --seed S       seed for timing jitter, identifiers and payloads, 0..2^64-1\n"
            "                 (default 1); addresses and MACs do not depend on it\n"
            "  --incidents    add the scripted events; without it the capture is the clean\n"
            "                 terminal (routine traffic only)\n"
            "  --start TIME   when the capture starts, RFC 3339 with whole seconds and a UTC\n"
            "                 offset (default 2026-11-20T21:30:00Z, a Friday 13:30 in Vancouver,\n"
            "                 inside the vendor's remote-access window); e.g.\n"
            "                 2026-11-21T07:30:00Z is 23:30 in Vancouver, outside it\n"
            "  --truth FILE   also write the ground truth as JSON: the devices in the capture\n"
            "                 (addresses, vendor, fair roles) and every scripted event with its\n"
            "                 time and the findings a detector should raise; without -o the\n"
            "                 capture is generated but not written\n"
            "  -o, --output FILE\n"
            "                 where to write the pcap (required unless --truth is given);\n"
            "                 written to a temporary file beside it and renamed when complete\n"
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
    enum { OPT_MINUTES = 256, OPT_SCALE, OPT_SEED, OPT_TRUTH, OPT_INCIDENTS, OPT_START };
    static const struct option longopts[] = {
        {"minutes", required_argument, NULL, OPT_MINUTES},
        {"scale", required_argument, NULL, OPT_SCALE},
        {"seed", required_argument, NULL, OPT_SEED},
        {"truth", required_argument, NULL, OPT_TRUTH},
        {"incidents", no_argument, NULL, OPT_INCIDENTS},
        {"start", required_argument, NULL, OPT_START},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct qw_synth_opts o = {.minutes = 10, .scale = 1, .seed = 1,
                              .start_unix = QW_SYNTH_START_UNIX};
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
            if (!*optarg) {
                fprintf(stderr, "quaywatch synth: --truth: empty file name\n");
                return QW_EXIT_USAGE;
            }
            truth = optarg;
            break;
        case OPT_INCIDENTS:
            o.incidents = true;
            break;
        case OPT_START:
            if (qw_synth_parse_time(optarg, &v)) {
                fprintf(stderr,
                        "quaywatch synth: --start: '%s' is not an RFC 3339 time with whole "
                        "seconds and a UTC offset from 1970 to 2099, such as "
                        "2026-11-20T21:30:00Z\n",
                        optarg);
                return QW_EXIT_USAGE;
            }
            o.start_unix = v;
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
    if (!out && !truth) {
        fprintf(stderr, "quaywatch synth: missing -o FILE (where to write the capture); see "
                        "'quaywatch synth --help'\n");
        return QW_EXIT_USAGE;
    }

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct qw_synth_stats st = {0};
    if (qw_synth_run(&o, out, truth, &st, err, sizeof err) != 0) {
        fprintf(stderr, "quaywatch synth: %s\n", err);
        return QW_EXIT_FAILURE;
    }
    if (!out) return QW_EXIT_OK;
    double secs = seconds_since(&t0);
    double mb = (double)st.bytes / 1e6;
    fprintf(stderr,
            "quaywatch synth: wrote %s: %llu packets, %.1f MB, %zu devices, %u min at scale %u%s "
            "(%.2f s, %.0f MB/s)\n",
            out, (unsigned long long)st.packets, mb, st.devices, o.minutes, o.scale,
            o.incidents ? " with incidents" : "", secs, secs > 0 ? mb / secs : 0.0);
    return QW_EXIT_OK;
}
