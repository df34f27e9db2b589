/* The core router's log to the collector: BSD syslog over UDP (RFC 3164, RFC 5426) as Cisco IOS
 * sends it with `service sequence-numbers` and `service timestamps log datetime msec
 * show-timezone`:
 *
 *   <PRI>SEQ: Mmm dd hh:mm:ss.mmm UTC: %FACILITY-SEVERITY-MNEMONIC: text
 *
 * PRI is facility local7 (23, IOS's default for `logging facility`) times 8 plus the message's
 * own severity; SEQ counts every message the router logs, from wherever it has got to since
 * its last reload; the timestamp is the capture's clock (the router keeps NTP time, so no `*`
 * or `.` mark); no host name (no `logging origin-id`). One source port for the life of the
 * logging process, as IOS picks it.
 *
 * Routine messages every 60-120 s: the outside ACL's denials, an access port that comes and
 * goes, a secondary NTP peer that does the same. None of them is a change the router reports
 * about itself (src/proto/syslog_reports.c): the clean terminal raises nothing with them.
 * Scripted (docs/synth.md, `core_router_config`): a login on a vty and, some seconds later,
 * %SYS-5-CONFIG_I naming the user and the address the session came from; and
 * (`router_password_guessing`) %SEC_LOGIN-4-LOGIN_FAILED for each password the unknown laptop
 * tries, sent when the SSH actor that plays the attempts says so (sy_syslog_login_failed). */
#include <time.h>

#include "synth/actors.h"
#include "synth/text.h"

#define SYSLOG_PORT 514
#define LOCAL7 23
#define TEXT_CAP 480 /* IOS sends at most this much here; far below a frame */

/* What the router logs in routine operation: Cisco facility, severity and mnemonic (all
 * outside syslog_reports.c's table) and the kind of text that follows. */
enum msg_kind {
    M_ACL_DENY,
    M_LINK,
    M_LINEPROTO,
    M_NTP_UNREACH,
    M_NTP_REACH,
    M_LOGIN,
    M_CONFIG,
    M_LOGIN_FAILED,
};
static const struct {
    const char *facility;
    unsigned severity;
    const char *mnemonic;
} msg_id[] = {
    [M_ACL_DENY] = {"SEC", 6, "IPACCESSLOGP"},       /* an access list's logged denial */
    [M_LINK] = {"LINK", 3, "UPDOWN"},                /* an interface's physical state */
    [M_LINEPROTO] = {"LINEPROTO", 5, "UPDOWN"},      /* ... and its line protocol */
    [M_NTP_UNREACH] = {"NTP", 4, "PEERUNREACH"},     /* a configured NTP peer stops answering */
    [M_NTP_REACH] = {"NTP", 6, "PEERREACH"},         /* ... and answers again */
    [M_LOGIN] = {"SEC_LOGIN", 5, "LOGIN_SUCCESS"},   /* a vty login (login on-success log) */
    [M_CONFIG] = {"SYS", 5, "CONFIG_I"},             /* the running configuration changed */
    /* a vty login failed (`login on-failure log`) */
    [M_LOGIN_FAILED] = {"SEC_LOGIN", 4, "LOGIN_FAILED"},
};

/* Denials on the internet-facing interface, which is not on the SPAN'd trunk: what they deny
 * never reaches the capture. Sources are documentation addresses (RFC 5737 TEST-NET-3), the
 * destination the terminal's outside address (TEST-NET-1). */
static const struct {
    const char *proto;
    uint16_t port;
} denied[] = {
    {"tcp", 23}, {"tcp", 22}, {"tcp", 445}, {"tcp", 3389}, {"tcp", 502},
    {"tcp", 102}, {"udp", 161}, {"udp", 1900}, {"udp", 5060},
};
#define N_DENIED (sizeof denied / sizeof denied[0])
#define OUTSIDE_ADDR "192.0.2.2"
#define ACL_NAME "OUTSIDE-IN"
#define FLAP_PORT "GigabitEthernet1/0/37" /* a hot-desk access port in the offices */
#define NTP_PEER "192.0.2.123"            /* the secondary time source, across the WAN */

struct syslog_actor {
    struct sy_actor a;
    struct sy_dev *rtr, *collector;
    uint32_t seq;
    uint16_t sport;
    bool port_up, peer_up;
    uint64_t routine_at;   /* next routine message */
    uint64_t follow_at;    /* the line protocol's message after the link's (SY_NEVER: none) */
    uint64_t login_at, config_at; /* the scripted change (SY_NEVER: none, or done) */
    struct sy_syslog_change chg;
};

static const char *const month[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const weekday[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

/* The capture's clock now, broken down in UTC (the router's clock zone). */
static struct tm utc_now(const struct sy *sy)
{
    time_t s = (time_t)(sy->out.epoch_s + sy->now / SY_SEC);
    struct tm tm = {0};
    gmtime_r(&s, &tm);
    return tm;
}

/* Writes "<PRI>SEQ: Mmm dd hh:mm:ss.mmm UTC: %FAC-SEV-MNEMONIC: " for a message of `kind`
 * logged now, and returns the appender for the text to follow. */
static struct sy_text header(struct sy *sy, struct syslog_actor *x, enum msg_kind kind)
{
    struct tm tm = utc_now(sy);
    struct sy_text t = sy_text_make(sy_udp_pl(sy), TEXT_CAP);
    /* IOS pads the day to two columns with a space, as BSD syslog does */
    sy_text_add(&t, "<%u>%u: %s %2d %02d:%02d:%02d.%03u UTC: %%%s-%u-%s: ",
                LOCAL7 * 8 + msg_id[kind].severity, x->seq++, month[tm.tm_mon % 12], tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(sy->now / SY_MS % 1000),
                msg_id[kind].facility, msg_id[kind].severity, msg_id[kind].mnemonic);
    return t;
}

static void log_send(struct sy *sy, struct syslog_actor *x, const struct sy_text *t)
{
    sy_udp_dev(sy, x->rtr, x->collector, x->sport, SYSLOG_PORT, t->len);
}

static void ip_text(struct sy_text *t, uint32_t ip)
{
    sy_text_add(t, "%u.%u.%u.%u", ip >> 24, ip >> 16 & 255, ip >> 8 & 255, ip & 255);
}

/* " at hh:mm:ss UTC Www Mmm d yyyy": the router's own clock, as its login messages end */
static void login_clock(struct sy *sy, struct sy_text *t)
{
    struct tm tm = utc_now(sy);
    sy_text_add(t, " at %02d:%02d:%02d UTC %s %s %d %d", tm.tm_hour, tm.tm_min, tm.tm_sec,
                weekday[tm.tm_wday % 7], month[tm.tm_mon % 12], tm.tm_mday, tm.tm_year + 1900);
}

static void routine(struct sy *sy, struct syslog_actor *x)
{
    unsigned pick = (unsigned)sy_range(&sy->rng, 0, 3);
    if (pick <= 1) { /* the commonest: the internet knocking at the outside interface */
        unsigned d = (unsigned)sy_range(&sy->rng, 0, N_DENIED - 1);
        unsigned pkts = (unsigned)sy_range(&sy->rng, 1, 9);
        struct sy_text t = header(sy, x, M_ACL_DENY);
        sy_text_add(&t, "list " ACL_NAME " denied %s 203.0.113.%u(%u) -> " OUTSIDE_ADDR
                        "(%u), %u packet%s",
                    denied[d].proto, (unsigned)sy_range(&sy->rng, 1, 254),
                    (unsigned)sy_range(&sy->rng, 1024, 65535), denied[d].port, pkts,
                    pkts == 1 ? "" : "s");
        log_send(sy, x, &t);
    } else if (pick == 2) { /* the link changes state; its line protocol follows a second on */
        x->port_up = !x->port_up;
        struct sy_text t = header(sy, x, M_LINK);
        sy_text_add(&t, "Interface " FLAP_PORT ", changed state to %s", x->port_up ? "up" : "down");
        log_send(sy, x, &t);
        x->follow_at = sy->now + sy_jit(sy, 900 * SY_MS, 1100 * SY_MS);
    } else {
        x->peer_up = !x->peer_up;
        struct sy_text t = header(sy, x, x->peer_up ? M_NTP_REACH : M_NTP_UNREACH);
        sy_text_add(&t, "Peer " NTP_PEER " is %s", x->peer_up ? "reachable" : "unreachable");
        log_send(sy, x, &t);
    }
    x->routine_at = sy->now + sy_jit(sy, 60 * SY_SEC, 120 * SY_SEC);
}

static uint64_t min3(uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t m = a < b ? a : b;
    return m < c ? m : c;
}

static void fire(struct sy *sy, struct sy_actor *a)
{
    struct syslog_actor *x = (struct syslog_actor *)a;
    char from[16];
    struct sy_text ft = sy_text_make((uint8_t *)from, sizeof from - 1);
    if (x->chg.from) ip_text(&ft, x->chg.from->ip);
    if (sy->now == x->login_at) {
        struct sy_text t = header(sy, x, M_LOGIN);
        /* the time at the end is the router's own clock again (UTC here) */
        sy_text_add(&t, "Login Success [user: %s] [Source: %s] [localport: 22]", x->chg.user,
                    from);
        login_clock(sy, &t);
        log_send(sy, x, &t);
        sy_ev_touch(sy, x->chg.ev);
        x->login_at = SY_NEVER;
    } else if (sy->now == x->config_at) {
        /* leaving configuration mode: "Configured from console by USER on vty0 (ADDRESS)" */
        struct sy_text t = header(sy, x, M_CONFIG);
        sy_text_add(&t, "Configured from console by %s on vty0 (%s)", x->chg.user, from);
        log_send(sy, x, &t);
        sy_ev_key(sy, x->chg.ev);
        sy_ev_touch(sy, x->chg.ev);
        x->config_at = SY_NEVER;
    } else if (sy->now == x->follow_at) {
        struct sy_text t = header(sy, x, M_LINEPROTO);
        sy_text_add(&t, "Line protocol on Interface " FLAP_PORT ", changed state to %s",
                    x->port_up ? "up" : "down");
        log_send(sy, x, &t);
        x->follow_at = SY_NEVER;
    } else {
        routine(sy, x);
    }
    a->next = min3(x->routine_at, x->follow_at, x->login_at < x->config_at ? x->login_at
                                                                            : x->config_at);
}

struct sy_actor *sy_syslog_actor(struct sy *sy, struct sy_dev *rtr, struct sy_dev *collector,
                                 uint64_t start, const struct sy_syslog_change *chg)
{
    bool scripted = chg && chg->user && chg->from;
    uint64_t first = start;
    if (scripted) first = min3(start, chg->login_at, chg->config_at);
    struct syslog_actor *x = sy_actor_new(sy, sizeof *x, fire, first);
    if (!x) return NULL;
    x->a.rng = &sy->log_rng;
    x->rtr = rtr;
    x->collector = collector;
    x->seq = (uint32_t)sy_range(&sy->log_rng, 100, 9000); /* up for a while already */
    x->sport = (uint16_t)sy_range(&sy->log_rng, 49152, 65535);
    x->port_up = true;
    x->peer_up = true;
    x->routine_at = start;
    x->follow_at = x->login_at = x->config_at = SY_NEVER;
    if (scripted) {
        x->chg = *chg;
        x->login_at = chg->login_at;
        x->config_at = chg->config_at;
    }
    return &x->a;
}

void sy_syslog_login_failed(struct sy *sy, struct sy_actor *log, const char *user,
                            const struct sy_dev *from)
{
    struct syslog_actor *x = (struct syslog_actor *)log;
    char src[16];
    struct sy_text st = sy_text_make((uint8_t *)src, sizeof src - 1);
    ip_text(&st, from->ip);
    src[st.len] = '\0';
    /* the same sequence counter and source port as every other message of the router */
    struct sy_text t = header(sy, x, M_LOGIN_FAILED);
    sy_text_add(&t, "Login failed [user: %s] [Source: %s] [localport: 22] [Reason: Login "
                    "Authentication Failed]",
                user, src);
    login_clock(sy, &t);
    log_send(sy, x, &t);
}
