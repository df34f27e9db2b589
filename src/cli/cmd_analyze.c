/* quaywatch analyze: capture files -> store and event log. Several files are merged in packet
 * time order, as if they were one capture. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/session.h"
#include "util/timefmt.h"

static void help(FILE *out)
{
    fprintf(out,
            "usage: quaywatch analyze [OPTIONS] PCAP...\n\n"
            "Analyse pcap or pcapng files (several are merged in time order) and add what they\n"
            "show to the store. Exit codes: 0 ok, 1 failure, 2 usage or site-file error,\n"
            "3 a file is unreadable or damaged (packets before the damage are still stored).\n\n"
            "options:\n%s  -h, --help       this text\n",
            qw_session_options_help);
}

/* One progress line on a terminal: where we are in the input and how fast. */
static void progress(struct qw_source *srcs, size_t n, long total, uint64_t pkts, double t0)
{
    long done = 0;
    for (size_t i = 0; i < n; i++) done += srcs[i].done ? srcs[i].size : srcs[i].good_offset;
    double dt = qw_monotonic_seconds() - t0;
    fprintf(stderr, "\ranalyze: %5.1f%%  %.1f MB  %llu packets  %.2f Mpkt/s   ",
            total ? 100.0 * (double)done / (double)total : 100.0, (double)done / 1e6,
            (unsigned long long)pkts, dt > 0 ? (double)pkts / dt / 1e6 : 0.0);
}

/* The files as one pulled source (engine/shards.h), read by whichever engine thread needs more. */
struct feed {
    struct qw_session *s;
    struct qw_source *srcs;
    size_t n;
    struct qw_source *offered; /* its packet was handed out: read its next one first */
    long total;
    bool tty;
    double t0, last;
    int rc;
};

/* The earliest next packet of all the files (ties go to the earlier file). */
static int next_packet(void *arg, struct qw_offer *p)
{
    struct feed *f = arg;
    if (f->offered) {
        struct qw_source *o = f->offered;
        f->offered = NULL;
        if (qw_source_advance(o) < 0) {
            fprintf(stderr, "%squaywatch analyze: %s\n", f->tty ? "\n" : "", o->error);
            f->rc = QW_EXIT_INPUT;
        }
    }
    uint64_t done = qw_session_packets(f->s);
    if (f->tty && done && (done & 0xffff) == 0 && qw_monotonic_seconds() - f->last > 0.5) {
        f->last = qw_monotonic_seconds();
        progress(f->srcs, f->n, f->total, done, f->t0);
    }
    struct qw_source *next = NULL;
    for (size_t i = 0; i < f->n; i++)
        if (f->srcs[i].have_packet && (!next || f->srcs[i].ts_ns < next->ts_ns))
            next = &f->srcs[i];
    if (!next) return 0;
    *p = (struct qw_offer){.src = (size_t)(next - f->srcs),
                           .frame = next->data,
                           .caplen = next->hdr->caplen,
                           .wirelen = next->hdr->len,
                           .ts_ns = next->ts_ns};
    if (next->reader.last_stable) { /* held in place (qw_source_hold) */
        p->stable = true;
        p->span = next->reader.last_span;
        p->mark = qw_pcap_reader_offset(&next->reader); /* read no further than this record */
    }
    f->offered = next;
    return 1;
}

static void release_records(void *arg, uint64_t mark)
{
    struct feed *f = arg;
    qw_pcap_reader_release(&f->srcs[0].reader, mark);
}

int qw_cmd_analyze(int argc, char **argv)
{
    struct qw_session s;
    memset(&s, 0, sizeof s);
    char **files = calloc((size_t)argc, sizeof *files);
    size_t nfiles = 0;
    if (!files) return QW_EXIT_FAILURE;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            help(stdout);
            free(files);
            return QW_EXIT_OK;
        }
        int r = qw_session_option(&s.opt, argc, argv, &i, "analyze");
        if (r < 0) {
            free(files);
            return QW_EXIT_USAGE;
        }
        if (r > 0) continue;
        if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "quaywatch analyze: unknown option '%s' (see --help)\n", argv[i]);
            free(files);
            return QW_EXIT_USAGE;
        }
        files[nfiles++] = argv[i];
    }
    if (nfiles == 0) {
        fprintf(stderr, "quaywatch analyze: no capture file given (see --help)\n");
        free(files);
        return QW_EXIT_USAGE;
    }

    /* Open every file before writing anything: an unreadable input changes nothing. */
    struct qw_source *srcs = calloc(nfiles, sizeof *srcs);
    if (!srcs) {
        free(files);
        return QW_EXIT_FAILURE;
    }
    int rc = QW_EXIT_OK;
    long total = 0;
    for (size_t i = 0; i < nfiles; i++) {
        if (!qw_source_open_file(&srcs[i], files[i])) {
            fprintf(stderr, "quaywatch analyze: %s\n", srcs[i].error);
            rc = QW_EXIT_INPUT;
        }
        total += srcs[i].size;
    }
    if (!qw_session_load_site(&s)) rc = QW_EXIT_USAGE;
    if (rc == QW_EXIT_OK) {
        size_t used = 0;
        for (size_t i = 0; i < nfiles && used + 2 < sizeof s.sources; i++)
            used += (size_t)snprintf(s.sources + used, sizeof s.sources - used, "%s%s",
                                     i ? "," : "", files[i]);
        int *linktypes = malloc(nfiles * sizeof *linktypes);
        if (!linktypes) {
            rc = QW_EXIT_FAILURE;
        } else {
            for (size_t i = 0; i < nfiles; i++) linktypes[i] = srcs[i].linktype;
            rc = qw_session_start(&s, "analyze", linktypes, nfiles, QW_FEED_PULL);
            free(linktypes);
        }
    }
    if (rc != QW_EXIT_OK) {
        for (size_t i = 0; i < nfiles; i++) qw_source_close(&srcs[i]);
        free(srcs);
        free(files);
        return rc;
    }

    struct feed f = {.s = &s, .srcs = srcs, .n = nfiles, .total = total,
                     .tty = isatty(2) && !s.opt.quiet, .rc = QW_EXIT_OK};
    /* One file and several engine threads: their batches point at its records where they were
     * read instead of copying them (pcap_reader.h). */
    bool held = nfiles == 1 && s.shards.n > 1 &&
                qw_source_hold(&srcs[0], QW_PCAP_READ_CHUNK,
                               qw_shards_held_max(&s.shards, QW_PCAP_MAX_SPAN));
    struct qw_pull pull = {.next = next_packet,
                           .ctx = &f,
                           .release = held ? release_records : NULL};
    for (size_t i = 0; i < nfiles; i++)
        if (qw_source_advance(&srcs[i]) < 0) {
            fprintf(stderr, "quaywatch analyze: %s\n", srcs[i].error);
            f.rc = QW_EXIT_INPUT;
        }
    f.t0 = f.last = qw_monotonic_seconds();
    if (!qw_session_run(&s, &pull)) f.rc = QW_EXIT_FAILURE;
    rc = f.rc;
    if (f.tty && qw_monotonic_seconds() - f.t0 > 0.5) {
        progress(srcs, nfiles, total, qw_session_packets(&s), f.t0);
        fputc('\n', stderr);
    }
    if (!qw_session_finish(&s, rc == QW_EXIT_INPUT ? "input_error" : "ok", srcs, nfiles) &&
        rc == QW_EXIT_OK)
        rc = QW_EXIT_FAILURE;
    for (size_t i = 0; i < nfiles; i++) qw_source_close(&srcs[i]);
    qw_session_free(&s);
    free(srcs);
    free(files);
    return rc;
}
