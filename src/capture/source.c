#include "capture/source.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#ifdef __linux__
#include <linux/if_packet.h>
#include <sys/socket.h>
#endif

#include "decode/decode.h"

static bool fail(struct qw_source *s, const char *detail)
{
    snprintf(s->error, sizeof s->error, "%s: %s", s->name, detail);
    return false;
}

bool qw_source_open_file(struct qw_source *s, const char *path)
{
    memset(s, 0, sizeof *s);
    s->name = path;
    struct stat st;
    if (stat(path, &st) != 0) return fail(s, strerror(errno));
    if (S_ISDIR(st.st_mode)) return fail(s, "is a directory, not a capture file");
    if (st.st_size == 0) return fail(s, "empty file (no capture header)");
    s->size = (long)st.st_size;
    char errbuf[PCAP_ERRBUF_SIZE];
    s->pcap = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (!s->pcap) {
        char d[PCAP_ERRBUF_SIZE + 64];
        if (strstr(errbuf, "unknown file format"))
            return fail(s, "offset 0: not a pcap or pcapng file (unknown magic number)");
        snprintf(d, sizeof d, "offset 0: damaged capture header (%s)", errbuf);
        return fail(s, d);
    }
    int lt = pcap_datalink(s->pcap);
    if (!qw_linktype_supported(lt)) {
        char d[96];
        snprintf(d, sizeof d, "unsupported link type %d (%s)", lt,
                 pcap_datalink_val_to_name(lt) ? pcap_datalink_val_to_name(lt) : "unknown");
        pcap_close(s->pcap);
        s->pcap = NULL;
        return fail(s, d);
    }
    s->linktype = lt;
    FILE *fp = pcap_file(s->pcap);
    s->good_offset = fp ? ftell(fp) : 0;
    /* libpcap has checked the header; quaywatch reads the records of a classic 2.4 file itself */
    if (qw_pcap_reader_open(&s->reader, path)) {
        s->own_reader = true;
        return true;
    }
    /* libpcap reads the rest. Classic records (older versions) are a 16-byte header and the
     * captured bytes, so the offset can be counted instead of asked for: ftell() is an lseek()
     * system call, once per packet a tenth of the analysis time. pcapng blocks carry options and
     * padding: ask there. */
    uint8_t magic[4] = {0};
    FILE *raw = fopen(path, "rb");
    if (raw) {
        if (fread(magic, 1, sizeof magic, raw) != sizeof magic) memset(magic, 0, sizeof magic);
        fclose(raw);
    }
    s->count_offset = qw_pcap_classic_magic(magic);
    return true;
}

bool qw_source_open_live(struct qw_source *s, const struct qw_live_opts *o)
{
    memset(s, 0, sizeof *s);
    s->name = o->iface;
    s->live = true;
    char errbuf[PCAP_ERRBUF_SIZE];
    s->pcap = pcap_create(o->iface, errbuf);
    if (!s->pcap) return fail(s, errbuf);
    pcap_set_snaplen(s->pcap, o->snaplen > 0 ? o->snaplen : 65535);
    pcap_set_promisc(s->pcap, 1);
    pcap_set_timeout(s->pcap, 100); /* ms: wake up to notice signals and flush on time */
    pcap_set_buffer_size(s->pcap, (o->buffer_mb > 0 ? o->buffer_mb : 64) << 20);
    pcap_set_tstamp_precision(s->pcap, PCAP_TSTAMP_PRECISION_NANO); /* best effort */
    int rc = pcap_activate(s->pcap);
    if (rc < 0) {
        snprintf(s->error, sizeof s->error, "%s: cannot capture: %s", o->iface,
                 rc == PCAP_ERROR ? pcap_geterr(s->pcap) : pcap_statustostr(rc));
        pcap_close(s->pcap);
        s->pcap = NULL;
        return false;
    }
    if (o->bpf && *o->bpf) {
        struct bpf_program prog;
        if (pcap_compile(s->pcap, &prog, o->bpf, 1, PCAP_NETMASK_UNKNOWN) != 0 ||
            pcap_setfilter(s->pcap, &prog) != 0) {
            snprintf(s->error, sizeof s->error, "%s: bad filter '%s': %s", o->iface, o->bpf,
                     pcap_geterr(s->pcap));
            pcap_close(s->pcap);
            s->pcap = NULL;
            return false;
        }
        pcap_freecode(&prog);
    }
    int lt = pcap_datalink(s->pcap);
    if (!qw_linktype_supported(lt)) {
        snprintf(s->error, sizeof s->error, "%s: unsupported link type %d", o->iface, lt);
        pcap_close(s->pcap);
        s->pcap = NULL;
        return false;
    }
    s->linktype = lt;
#ifdef __linux__
    /* Which ring libpcap chose (it says nowhere else): TPACKET_V3 hands over whole blocks of
     * packets, V2 one frame at a time. The run reports it so a drop figure can be read right. */
    int version = -1;
    socklen_t len = sizeof version;
    if (getsockopt(pcap_fileno(s->pcap), SOL_PACKET, PACKET_VERSION, &version, &len) == 0 &&
        version >= TPACKET_V1 && version <= TPACKET_V3)
        s->ring_version = version - TPACKET_V1 + 1;
#endif
    return true;
}

/* A packet is in s->hdr/s->data: its time (with nanosecond precision asked for, or given by our
 * own reader, tv_usec carries nanoseconds). */
static int got_packet(struct qw_source *s)
{
    s->ts_ns = (uint64_t)s->hdr->ts.tv_sec * 1000000000ull + (uint64_t)s->hdr->ts.tv_usec;
    s->have_packet = true;
    return 1;
}

/* A file that cannot be read further: where, and why. */
static int damaged(struct qw_source *s, const char *why)
{
    snprintf(s->error, sizeof s->error,
             "%s: offset %ld: damaged or truncated capture after the last good packet (%s)",
             s->name, s->good_offset, why);
    return -1;
}

int qw_source_advance(struct qw_source *s)
{
    s->have_packet = false;
    if (s->done) return 0;
    if (s->own_reader) {
        char why[PCAP_ERRBUF_SIZE];
        int r = qw_pcap_reader_next(&s->reader, &s->data, &s->own_hdr, why, sizeof why);
        if (r == 1) {
            s->hdr = &s->own_hdr;
            s->good_offset = (long)qw_pcap_reader_offset(&s->reader);
            return got_packet(s);
        }
        s->done = true;
        return r == 0 ? 0 : damaged(s, why);
    }
    int rc = pcap_next_ex(s->pcap, &s->hdr, &s->data);
    if (rc == 1) {
        if (s->count_offset) {
            s->good_offset += 16 + (long)s->hdr->caplen;
        } else if (!s->live) {
            FILE *fp = pcap_file(s->pcap);
            if (fp) s->good_offset = ftell(fp);
        }
        return got_packet(s);
    }
    if (rc == 0) return 0; /* live: timeout with no packet */
    s->done = true;
    if (rc == PCAP_ERROR_BREAK) return 0;
    if (s->live) {
        snprintf(s->error, sizeof s->error, "%s: capture failed: %s", s->name,
                 pcap_geterr(s->pcap));
        return -1;
    }
    return damaged(s, pcap_geterr(s->pcap));
}

bool qw_source_hold(struct qw_source *s, size_t window, size_t held)
{
    return s->own_reader && !s->have_packet && !s->done &&
           qw_pcap_reader_hold(&s->reader, window, held);
}

void qw_source_close(struct qw_source *s)
{
    if (s->own_reader) qw_pcap_reader_close(&s->reader);
    s->own_reader = false;
    if (s->pcap) {
        pcap_close(s->pcap);
        s->pcap = NULL;
    }
}
