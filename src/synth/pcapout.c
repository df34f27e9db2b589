/* Buffered pcap writer with atomic publication; see pcapout.h. File format: the libpcap
 * "savefile" layout documented in pcap-savefile(5): a 24-byte file header, then per packet a
 * 16-byte record header (seconds, microseconds, captured length, original length) and the bytes. */
#include "synth/pcapout.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* "dir/name" -> "dir/.name.XXXXXX": same directory (so rename() is atomic and never crosses a
 * file system), hidden so a directory listing during a long run does not show a half file. */
static char *temp_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path) + 1 : 0;
    size_t n = strlen(path) + sizeof "/..XXXXXX";
    char *t = malloc(n);
    if (t) snprintf(t, n, "%.*s.%s.XXXXXX", dirlen, path, path + dirlen);
    return t;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int sy_out_open(struct sy_out *o, const char *path, uint64_t epoch_s, size_t bufsize)
{
    memset(o, 0, sizeof *o);
    o->fd = -1;
    o->epoch_s = epoch_s;
    if (bufsize < (size_t)2 * (SY_PCAP_REC_HDR + SY_FRAME_MAX))
        bufsize = (size_t)2 * (SY_PCAP_REC_HDR + SY_FRAME_MAX);
    o->buf = malloc(bufsize);
    if (!path) {
        if (!o->buf) return ENOMEM;
        o->cap = bufsize;
        o->discard = 1;
        o->len = 24; /* the file header, counted like the rest */
        return 0;
    }
    o->path = strdup(path);
    o->tmp_path = temp_name(path);
    if (!o->path || !o->tmp_path || !o->buf) {
        sy_out_abort(o);
        return ENOMEM;
    }
    o->cap = bufsize;
    o->fd = mkstemp(o->tmp_path);
    if (o->fd < 0) {
        int e = errno;
        free(o->tmp_path); /* nothing was created */
        o->tmp_path = NULL;
        sy_out_abort(o);
        return e;
    }
    /* mkstemp creates 0600; give the capture the mode a plain open() would have. */
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(o->fd, 0666 & ~mask);

    uint8_t *h = o->buf;
    le32(h, 0xa1b2c3d4); /* microsecond-resolution magic */
    le16(h + 4, 2);      /* version 2.4 */
    le16(h + 6, 4);
    le32(h + 8, 0);      /* thiszone: timestamps are UTC */
    le32(h + 12, 0);     /* sigfigs */
    le32(h + 16, SY_PCAP_SNAPLEN);
    le32(h + 20, 1);     /* LINKTYPE_ETHERNET */
    o->len = 24;
    return 0;
}

void sy_out_flush(struct sy_out *o)
{
    if (!o->err && o->fd >= 0) {
        int e = write_all(o->fd, o->buf, o->len);
        if (e) o->err = e;
    }
    o->bytes += o->len;
    o->len = 0;
}

void sy_out_commit(struct sy_out *o, uint64_t t_us, size_t frame_len)
{
    uint8_t *r = o->buf + o->len;
    le32(r, (uint32_t)(o->epoch_s + t_us / 1000000));
    le32(r + 4, (uint32_t)(t_us % 1000000));
    le32(r + 8, (uint32_t)frame_len);
    le32(r + 12, (uint32_t)frame_len);
    o->len += SY_PCAP_REC_HDR + frame_len;
    o->packets++;
}

int sy_out_close(struct sy_out *o)
{
    if (o->discard) {
        sy_out_flush(o);
        sy_out_abort(o);
        return 0;
    }
    if (o->fd < 0) return o->err ? o->err : EBADF;
    sy_out_flush(o);
    int e = o->err;
    if (close(o->fd) != 0 && !e) e = errno;
    o->fd = -1;
    if (!e && rename(o->tmp_path, o->path) != 0) e = errno;
    if (e) {
        sy_out_abort(o);
        return e;
    }
    free(o->tmp_path);
    o->tmp_path = NULL;
    sy_out_abort(o); /* frees the rest */
    return 0;
}

void sy_out_abort(struct sy_out *o)
{
    if (o->fd >= 0) {
        close(o->fd);
        o->fd = -1;
    }
    if (o->tmp_path) {
        unlink(o->tmp_path);
        free(o->tmp_path);
        o->tmp_path = NULL;
    }
    free(o->path);
    free(o->buf);
    o->path = NULL;
    o->buf = NULL;
}
