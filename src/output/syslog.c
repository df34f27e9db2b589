#include "output/syslog.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "util/timefmt.h"

static bool connect_to(struct qw_syslog *s, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = s->tcp ? SOCK_STREAM : SOCK_DGRAM;
    int rc = getaddrinfo(s->host, s->port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "syslog %s:%s: %s", s->host, s->port, gai_strerror(rc));
        return false;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        /* a stuck SIEM must not stall analysis: sends give up after 200 ms */
        struct timeval tv = {0, 200000};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "syslog %s:%s: cannot connect (%s)", s->host, s->port,
                 strerror(errno));
        return false;
    }
    s->fd = fd;
    return true;
}

bool qw_syslog_open(struct qw_syslog *s, const char *target, bool tcp,
                    enum qw_syslog_format format, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    pthread_mutex_init(&s->lock, NULL);
    s->tcp = tcp;
    s->format = format;
    const char *colon = strrchr(target, ':');
    const char *host = target;
    size_t hlen = colon ? (size_t)(colon - target) : 0;
    if (target[0] == '[') { /* [v6]:port */
        const char *close_br = strchr(target, ']');
        if (!close_br || close_br[1] != ':') colon = NULL;
        host = target + 1;
        hlen = close_br ? (size_t)(close_br - host) : 0;
    }
    if (!colon || hlen == 0 || hlen >= sizeof s->host || !colon[1] ||
        strlen(colon + 1) >= sizeof s->port) {
        snprintf(err, errlen, "--syslog: '%s' is not HOST:PORT", target);
        return false;
    }
    memcpy(s->host, host, hlen);
    snprintf(s->port, sizeof s->port, "%s", colon + 1);
    if (gethostname(s->hostname, sizeof s->hostname) != 0 || !s->hostname[0])
        snprintf(s->hostname, sizeof s->hostname, "-");
    s->hostname[sizeof s->hostname - 1] = '\0';
    return connect_to(s, err, errlen);
}

void qw_syslog_close(struct qw_syslog *s)
{
    if (s->fd >= 0) close(s->fd);
    s->fd = -1;
}

/* enum qw_severity -> syslog severity (RFC 5424 s.6.2.1): critical 2, high 3 (error),
 * medium 4 (warning), low 5 (notice), info 6. Facility local0 (16). */
static int pri_of(int severity)
{
    static const int sev[5] = {6, 5, 4, 3, 2};
    int s = severity >= 0 && severity < 5 ? sev[severity] : 6;
    return 16 * 8 + s;
}

static void send_locked(struct qw_syslog *s, uint64_t ts_ns, int severity, const char *msgid,
                        const char *json, size_t json_len, const char *cef, size_t cef_len);

void qw_syslog_send(struct qw_syslog *s, uint64_t ts_ns, int severity, const char *msgid,
                    const char *json, size_t json_len, const char *cef, size_t cef_len)
{
    pthread_mutex_lock(&s->lock);
    send_locked(s, ts_ns, severity, msgid, json, json_len, cef, cef_len);
    pthread_mutex_unlock(&s->lock);
}

static void send_locked(struct qw_syslog *s, uint64_t ts_ns, int severity, const char *msgid,
                        const char *json, size_t json_len, const char *cef, size_t cef_len)
{
    if (s->fd < 0) {
        char err[256];
        if (!s->tcp || !connect_to(s, err, sizeof err)) {
            s->failed++;
            return;
        }
    }
    char t[QW_TIME_STR_MAX];
    qw_time_rfc3339(ts_ns, t);
    const char *body = s->format == QW_SYSLOG_CEF ? cef : json;
    size_t blen = s->format == QW_SYSLOG_CEF ? cef_len : json_len;
    char head[512];
    /* HEADER: PRI VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID, then no structured data */
    int hn = snprintf(head, sizeof head, "<%d>1 %s %s quaywatch %d %.32s - ", pri_of(severity), t,
                      s->hostname, (int)getpid(), msgid);
    if (hn < 0 || (size_t)hn >= sizeof head) return;
    char frame[24] = "";
    int fn = 0;
    if (s->tcp) fn = snprintf(frame, sizeof frame, "%zu ", (size_t)hn + blen);
    char msg[8192];
    size_t total = (size_t)fn + (size_t)hn + blen;
    if (total > sizeof msg) { /* keep the header, cut the body: one datagram per alert */
        blen = sizeof msg - (size_t)fn - (size_t)hn;
        if (s->tcp) {
            fn = snprintf(frame, sizeof frame, "%zu ", (size_t)hn + blen);
            blen = sizeof msg - (size_t)fn - (size_t)hn;
        }
        total = (size_t)fn + (size_t)hn + blen;
    }
    memcpy(msg, frame, (size_t)fn);
    memcpy(msg + fn, head, (size_t)hn);
    memcpy(msg + fn + hn, body, blen);
    ssize_t w = send(s->fd, msg, total, MSG_NOSIGNAL);
    if (w == (ssize_t)total) {
        s->sent++;
        return;
    }
    s->failed++;
    if (s->tcp) qw_syslog_close(s); /* reconnect on the next alert */
}
