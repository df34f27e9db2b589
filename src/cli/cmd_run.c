/* quaywatch run: live capture. Passive: the interface is opened for capture only (libpcap never
 * transmits unless asked to inject, and we never ask). Root is dropped after the interface and
 * the outputs are open. The store gets one batch every --flush seconds and one at the end. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/session.h"
#include "util/timefmt.h"

static volatile sig_atomic_t stop_requested;
static pcap_t *live_handle;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
    if (live_handle) pcap_breakloop(live_handle);
}

static void help(FILE *out)
{
    fprintf(out,
            "usage: quaywatch run -i IFACE [-f BPF] [OPTIONS]\n\n"
            "Capture live from IFACE until SIGINT or SIGTERM, then flush and print the capture\n"
            "counts on stderr, also as one line 'live: received=N dropped=N ifdropped=N\n"
            "analysed=N'. Never transmits on the interface.\n\n"
            "options:\n"
            "  -i, --interface IFACE  interface to listen on (required)\n"
            "  -f, --filter BPF       capture filter (tcpdump syntax)\n"
            "  --user USER            drop root to USER after opening (default nobody)\n"
            "  --flush SECONDS        store a batch this often (default 30)\n"
            "  --buffer-mb MB         kernel capture ring size in MiB (default 64)\n"
            "%s  -h, --help             this text\n",
            qw_session_options_help);
}

/* Hand the files we keep writing to `pw`, so batches after the drop can still be stored. */
static bool give_files(const struct qw_session *s, const struct passwd *pw)
{
    static const char *const suffix[] = {"", "-wal", "-shm"};
    char path[4096];
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        snprintf(path, sizeof path, "%s%s", s->opt.db, suffix[i]);
        if (chown(path, pw->pw_uid, pw->pw_gid) != 0 && errno != ENOENT) {
            fprintf(stderr, "quaywatch run: cannot give %s to %s: %s\n", path, pw->pw_name,
                    strerror(errno));
            return false;
        }
    }
    if (s->opt.events && strcmp(s->opt.events, "-") != 0 &&
        chown(s->opt.events, pw->pw_uid, pw->pw_gid) != 0) {
        fprintf(stderr, "quaywatch run: cannot give %s to %s: %s\n", s->opt.events, pw->pw_name,
                strerror(errno));
        return false;
    }
    return true;
}

static bool drop_privileges(const struct qw_session *s, const char *user)
{
    if (geteuid() != 0) return true;
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        fprintf(stderr, "quaywatch run: --user %s: no such user\n", user);
        return false;
    }
    if (!give_files(s, pw)) return false;
    if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
        fprintf(stderr, "quaywatch run: cannot drop privileges to %s: %s\n", user,
                strerror(errno));
        return false;
    }
    if (setuid(0) == 0) { /* must be impossible now */
        fprintf(stderr, "quaywatch run: privileges were not dropped\n");
        return false;
    }
    return true;
}

int qw_cmd_run(int argc, char **argv)
{
    struct qw_session s;
    memset(&s, 0, sizeof s);
    struct qw_live_opts lo = {0};
    const char *user = "nobody";
    uint32_t flush_s = 30, buffer_mb = 64;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            help(stdout);
            return QW_EXIT_OK;
        }
        int r = qw_session_option(&s.opt, argc, argv, &i, "run");
        if (r < 0) return QW_EXIT_USAGE;
        if (r > 0) continue;
        const char **slot = (strcmp(a, "-i") == 0 || strcmp(a, "--interface") == 0) ? &lo.iface
                            : (strcmp(a, "-f") == 0 || strcmp(a, "--filter") == 0) ? &lo.bpf
                            : strcmp(a, "--user") == 0                              ? &user
                                                                                    : NULL;
        bool flush = strcmp(a, "--flush") == 0, buffer = strcmp(a, "--buffer-mb") == 0;
        if (slot || flush || buffer) {
            if (i + 1 >= argc) {
                fprintf(stderr, "quaywatch run: option %s needs a value\n", a);
                return QW_EXIT_USAGE;
            }
            if (slot) {
                *slot = argv[++i];
            } else if (flush && !qw_parse_u32(argv[++i], 1, 86400, &flush_s)) {
                fprintf(stderr, "quaywatch run: --flush: '%s' is not a number in 1..86400\n",
                        argv[i]);
                return QW_EXIT_USAGE;
            } else if (buffer && !qw_parse_u32(argv[++i], 1, 2047, &buffer_mb)) {
                fprintf(stderr, "quaywatch run: --buffer-mb: '%s' is not a number in 1..2047\n",
                        argv[i]);
                return QW_EXIT_USAGE;
            }
            continue;
        }
        fprintf(stderr, "quaywatch run: unexpected argument '%s' (see --help)\n", a);
        return QW_EXIT_USAGE;
    }
    if (!lo.iface) {
        fprintf(stderr, "quaywatch run: -i IFACE is required (see --help)\n");
        return QW_EXIT_USAGE;
    }
    if (!qw_session_load_site(&s)) return QW_EXIT_USAGE;
    lo.buffer_mb = (int)buffer_mb;

    struct qw_source src;
    if (!qw_source_open_live(&src, &lo)) {
        fprintf(stderr, "quaywatch run: %s\n", src.error);
        return QW_EXIT_INPUT;
    }
    snprintf(s.sources, sizeof s.sources, "live:%s", lo.iface);
    int linktype = src.linktype;
    int rc = qw_session_start(&s, "run", &linktype, 1, QW_FEED_PUSH);
    if (rc != QW_EXIT_OK) {
        qw_source_close(&src);
        return rc;
    }
    /* The store's first batch creates its WAL files while we may still write the directory. */
    if (!qw_session_commit(&s, "running") || !drop_privileges(&s, user)) {
        qw_source_close(&src);
        qw_session_free(&s);
        return QW_EXIT_FAILURE;
    }
    live_handle = src.pcap;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    char ring[64] = "";
    if (src.ring_version)
        snprintf(ring, sizeof ring, " (TPACKET_V%d ring, %u MiB)", src.ring_version, buffer_mb);
    fprintf(stderr, "quaywatch run: listening on %s%s%s%s\n", lo.iface, ring,
            lo.bpf ? " filter " : "", lo.bpf ? lo.bpf : "");

    double last_flush = qw_monotonic_seconds();
    const char *status = "interrupted";
    while (!stop_requested) {
        int r = qw_source_advance(&src);
        if (r > 0) {
            qw_session_packet(&s, 0, src.data, src.hdr->caplen, src.hdr->len, src.ts_ns);
        } else if (r < 0) {
            fprintf(stderr, "quaywatch run: %s\n", src.error);
            rc = QW_EXIT_INPUT;
            status = "input_error";
            break;
        } else if (src.done) {
            break;
        } else {
            qw_shards_flush(&s.shards); /* quiet link: let the workers have what is batched */
        }
        if (qw_monotonic_seconds() - last_flush >= flush_s) {
            last_flush = qw_monotonic_seconds();
            if (!qw_session_commit(&s, "running")) rc = QW_EXIT_FAILURE;
        }
    }
    /* received counts what passed the filter, those the ring had no room for included
     * (dropped); packets still in the ring when the stop came are received, not analysed.
     * The kernel's counts are read at the stop; "analysed" after the workers have finished
     * what was handed to them. */
    struct pcap_stat ps;
    bool have_counts = pcap_stats(src.pcap, &ps) == 0;
    char counts_err[PCAP_ERRBUF_SIZE + 8] = "";
    if (!have_counts) snprintf(counts_err, sizeof counts_err, "%s", pcap_geterr(src.pcap));
    live_handle = NULL;
    if (have_counts) { /* the last batch's run row keeps them (store schema 6) */
        s.run.have_capture_counts = true;
        s.run.received = ps.ps_recv;
        s.run.dropped = ps.ps_drop;
        s.run.ifdropped = ps.ps_ifdrop;
    }
    if (!qw_session_finish(&s, status, &src, 1) && rc == QW_EXIT_OK) rc = QW_EXIT_FAILURE;
    struct qw_engine_stats st;
    qw_shards_stats(&s.shards, &st);
    unsigned long long analysed = st.packets;
    if (have_counts) {
        fprintf(stderr,
                "quaywatch run: %s: %u packets received by the filter, %u dropped by the "
                "kernel, %u dropped by the interface; %llu analysed\n",
                lo.iface, ps.ps_recv, ps.ps_drop, ps.ps_ifdrop, analysed);
        fprintf(stderr, "quaywatch run: live: received=%u dropped=%u ifdropped=%u analysed=%llu\n",
                ps.ps_recv, ps.ps_drop, ps.ps_ifdrop, analysed);
    } else {
        fprintf(stderr, "quaywatch run: %s: no capture counts (%s); %llu analysed\n", lo.iface,
                counts_err, analysed);
    }
    qw_source_close(&src);
    qw_session_free(&s);
    return rc;
}
