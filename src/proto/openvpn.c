/* OpenVPN parser, UDP and TCP (1194 is only a hint: OpenVPN on TCP 443 is a classic way
 * through a firewall).
 *
 * Specifications:
 *   [RFC]  "The OpenVPN Protocol", draft-openvpn-protocol (github.com/OpenVPN/openvpn-rfc):
 *          packet format, opcodes, the reliability layer (ack arrays), key ids, tls-auth and
 *          tls-crypt wrapping, tls-crypt-v2 (P_CONTROL_HARD_RESET_CLIENT_V3, P_CONTROL_WKC_V1).
 *   [SSL]  OpenVPN's src/openvpn/ssl_pkt.h and ssl.h (the comments on the wire format): opcode
 *          numbers, P_KEY_ID_MASK (low 3 bits), the 2-byte length prefix over TCP, packet ids.
 *   [REL]  OpenVPN's reliable.h: RELIABLE_ACK_SIZE, at most 8 ack ids in one packet.
 *
 * Every packet (over TCP after a 2-byte big-endian length) starts with one byte:
 * opcode (high 5 bits) | key id (low 3 bits). Then, by opcode:
 *
 *   data (6)        payload, encrypted
 *   data v2 (9)     peer id (3), payload
 *   control (1-5, 7, 8, 10, 11), by the wrapping mode of the control channel:
 *     plain         session id (8) | acks | [message packet id (4) | payload]
 *     tls-auth      session id (8) | HMAC (16/20/32/64, by digest) | replay packet id (4) |
 *                   net time (4) | acks | [message packet id (4) | payload]
 *     tls-crypt     session id (8) | replay packet id (4) | net time (4) | tag (32) |
 *                   encrypted (acks, message packet id, payload); opcode 10 and 11 end with a
 *                   wrapped client key whose length is the packet's last 2 bytes
 *   acks = count (1, at most 8 [REL]) | count x packet id (4) | remote session id (8) if count
 *   The message packet id and payload are absent from P_ACK_V1 (5). The payload of
 *   P_CONTROL_V1 (4) is TLS records.
 *
 * Mode. Nothing on the wire names it: it is worked out from each hard reset, whose structure is
 * known (a client's first reset acks nothing and has message packet id 0; a server's answers
 * it): the reset is read as plain, then as tls-auth with each HMAC size, then as tls-crypt, and
 * the first reading whose fields all add up to the packet's length is the flow's mode (the
 * zero ack count and packet id at their exact offset, a non-zero replay packet id and a net time
 * after 2001 for the wrapped modes). Later control packets are read in that mode. (tshark 4.0
 * decides per packet instead: if the byte after the session id is non-zero and at most one of
 * the 4 bytes from there is zero, it assumes an HMAC of the size set in its preferences, 20 by
 * default; tls-crypt only for opcodes 10 and 11. tests/e2e/test_openvpn_tshark.sh.)
 *
 * Records: the hard reset exchange (client reset + the server reset that answers it), soft
 * resets (key renegotiation, paired with the peer's soft reset of the same key id), the TLS
 * handshake of each key (below), and one summary at flow end with packets per opcode and
 * direction. docs/events/openvpn.md.
 *
 * TLS. In plain and tls-auth mode the payloads of P_CONTROL_V1 are the bytes of a TLS session,
 * cut into pieces and numbered by the message packet id of the reliability layer ([RFC]); each
 * key id has its own TLS session and its own numbering, which starts with its reset (hard reset:
 * key 0; soft reset: the new key), message packet id 0 in practice, so its TLS bytes start at the
 * reset's id + 1. One session is read at a time, the last key whose reset was seen; each
 * direction's bytes are put back in message packet id order (a retransmitted id already read is
 * dropped, one a little ahead of the next expected is held until the hole fills) and fed to the
 * TLS decoder of tls.c (tls_embed.h), which reports certificates, versions and cipher suites
 * through this parser's records, identity facts and anomalies. tls-crypt encrypts the control
 * channel: nothing to read there. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/proto.h"
#include "proto/tls_embed.h"
#include "util/cursor.h"
#include "util/json.h"
#include "util/timefmt.h"

/* ---- Limits, each with its source ---------------------------------------------------------- */

#define OVPN_PORT 1194        /* IANA "openvpn" */
#define OVPN_SID_LEN 8        /* [RFC] session id */
#define OVPN_ACK_MAX 8        /* [REL] RELIABLE_ACK_SIZE */
#define OVPN_TAG_LEN 32       /* [RFC] tls-crypt: HMAC-SHA256 tag */
#define OVPN_REPLAY_LEN 8     /* replay packet id (4) + net time (4) */
#define OVPN_TCP_PREFIX 2
#define OVPN_PEER_ID_LEN 3
/* A hard reset carries nothing, or a few early-negotiation TLVs (OpenVPN 2.6): more than this
 * after its header is not a reset. */
#define OVPN_RESET_PAYLOAD_MAX 256u
/* A reset's message packet id is 0 (its sender's first reliable message); a little room for
 * implementations that count from elsewhere. */
#define OVPN_RESET_MPID_MAX 16u
/* tls-crypt-v2 wrapped client key: tag (32) + length (2) + an encrypted key of at least 256
 * bytes ([RFC] tls-crypt-v2); at most 1024 bytes in OpenVPN (TLS_CRYPT_V2_MAX_WKC_LEN). */
#define OVPN_WKC_MIN 34u
#define OVPN_WKC_MAX 1024u
/* Net time (seconds since 1970) of the wrapped modes: a real clock, so after 2001-09-09. */
#define OVPN_NET_TIME_MIN 1000000000u
#define OVPN_ANOMALY_MAX 4 /* anomalies per flow; the summary counts them all */
#define OVPN_OPCODES 12
/* The control channel's TLS stream, per direction. The sender keeps only a few control packets
 * unacknowledged (OpenVPN's reliable.h: a handful of send buffers), so a packet that overtook a
 * lost one is at most a few ids ahead: hold up to 4 of them, when at most 16 ids ahead, each of
 * up to 1472 payload bytes (a UDP payload on a 1500-byte IPv4 MTU). A packet that cannot be
 * held ends the wait: the ids still missing are skipped (a gap in the TLS stream). */
#define OVPN_HOLD_SLOTS 4u
#define OVPN_HOLD_AHEAD 16u
#define OVPN_HOLD_BYTES 1472u
#define OVPN_OP_CONTROL 4u /* P_CONTROL_V1 */

enum ovpn_mode { OVPN_MODE_UNKNOWN = 0, OVPN_MODE_PLAIN, OVPN_MODE_TLS_AUTH, OVPN_MODE_TLS_CRYPT };

static const char *const ovpn_mode_names[] = {"unknown", "plain", "tls_auth", "tls_crypt"};

/* HMAC sizes of --tls-auth by digest, in the order tried: SHA1 (the default), SHA256, SHA512,
 * MD5. */
static const uint8_t ovpn_hmac_sizes[] = {20, 32, 64, 16};

enum ovpn_kind {
    K_NONE = 0,
    K_RESET_CLIENT, /* opens a session */
    K_RESET_SERVER, /* answers it */
    K_SOFT_RESET,   /* renegotiates the data channel key */
    K_CONTROL,      /* TLS records */
    K_ACK,
    K_DATA,
    K_DATA_V2,      /* peer id first */
    K_WKC,          /* control message with a tls-crypt-v2 wrapped client key */
};

struct ovpn_op {
    const char *name;
    uint8_t kind;
};

/* [SSL] opcodes. */
static const struct ovpn_op ovpn_ops[OVPN_OPCODES] = {
    [1] = {"hard_reset_client_v1", K_RESET_CLIENT},
    [2] = {"hard_reset_server_v1", K_RESET_SERVER},
    [3] = {"soft_reset_v1", K_SOFT_RESET},
    [4] = {"control_v1", K_CONTROL},
    [5] = {"ack_v1", K_ACK},
    [6] = {"data_v1", K_DATA},
    [7] = {"hard_reset_client_v2", K_RESET_CLIENT},
    [8] = {"hard_reset_server_v2", K_RESET_SERVER},
    [9] = {"data_v2", K_DATA_V2},
    [10] = {"hard_reset_client_v3", K_RESET_CLIENT},
    [11] = {"control_wkc_v1", K_WKC},
};

static unsigned ovpn_kind(unsigned opcode)
{
    return opcode < OVPN_OPCODES ? ovpn_ops[opcode].kind : K_NONE;
}

static const char *ovpn_op_name(unsigned opcode)
{
    return opcode < OVPN_OPCODES && ovpn_ops[opcode].name ? ovpn_ops[opcode].name : "unknown";
}

/* Opcodes only a tls-crypt-v2 client sends: always wrapped with tls-crypt. */
static bool ovpn_crypt_only(unsigned opcode)
{
    return opcode == 10 || opcode == 11;
}

/* ---- Control packets ----------------------------------------------------------------------- */

struct ovpn_ctl {
    uint8_t opcode, key_id;
    uint8_t mode, hmac_len;
    uint64_t sid;
    bool wrapped; /* tls-auth or tls-crypt: replay packet id and net time present */
    uint32_t replay_id, net_time;
    /* plain and tls-auth only (tls-crypt encrypts them) */
    uint8_t nacks;
    bool has_rsid, has_mpid;
    uint64_t rsid;
    uint32_t mpid;
    size_t payload_len; /* after the message packet id; tls-crypt: the encrypted bytes */
    size_t wkc_len;     /* opcodes 10, 11 */
};

/* Read the ack array: count, ids, remote session id. */
static bool ovpn_read_acks(struct qw_cursor *c, struct ovpn_ctl *m)
{
    m->nacks = qw_cur_u8(c);
    if (c->err || m->nacks > OVPN_ACK_MAX) return false;
    qw_cur_skip(c, (size_t)m->nacks * 4);
    if (m->nacks) {
        m->rsid = qw_cur_be64(c);
        m->has_rsid = true;
    }
    return !c->err;
}

/* The tls-crypt tail: wrapped client key (opcodes 10, 11) and what is encrypted. */
static bool ovpn_read_crypt(struct qw_cursor *c, const uint8_t *p, size_t n, struct ovpn_ctl *m)
{
    size_t left = qw_cur_left(c);
    if (ovpn_crypt_only(m->opcode)) {
        if (n < 2) return false;
        m->wkc_len = (size_t)p[n - 2] << 8 | p[n - 1];
        if (m->opcode == 10 && (m->wkc_len < OVPN_WKC_MIN || m->wkc_len > OVPN_WKC_MAX))
            return false;
        if (m->wkc_len > left) return false;
        left -= m->wkc_len;
    }
    m->payload_len = left;
    /* the encrypted part holds at least the ack count and, but for ACKs, the message id */
    return left >= (m->opcode == 5 ? 1u : 5u);
}

/* Read control packet p[0..n) (opcode byte first) in `mode`; false when its fields do not fit
 * the packet. */
static bool ovpn_decode_ctl(const uint8_t *p, size_t n, uint8_t mode, uint8_t hmac_len,
                            struct ovpn_ctl *m)
{
    memset(m, 0, sizeof *m);
    struct qw_cursor c = qw_cursor_make(p, n);
    uint8_t b0 = qw_cur_u8(&c);
    m->opcode = b0 >> 3;
    m->key_id = b0 & 7;
    m->mode = mode;
    m->sid = qw_cur_be64(&c);
    if (c.err) return false;
    if (mode == OVPN_MODE_TLS_AUTH) {
        m->hmac_len = hmac_len;
        qw_cur_skip(&c, hmac_len);
    }
    if (mode != OVPN_MODE_PLAIN) {
        m->wrapped = true;
        m->replay_id = qw_cur_be32(&c);
        m->net_time = qw_cur_be32(&c);
        if (c.err) return false;
    }
    if (mode == OVPN_MODE_TLS_CRYPT) {
        if (!qw_cur_skip(&c, OVPN_TAG_LEN)) return false;
        return ovpn_read_crypt(&c, p, n, m);
    }
    if (ovpn_crypt_only(m->opcode) || !ovpn_read_acks(&c, m)) return false;
    if (m->opcode != 5) {
        m->mpid = qw_cur_be32(&c);
        m->has_mpid = true;
    } else if (qw_cur_left(&c)) {
        return false; /* an ACK ends with its ack array */
    }
    m->payload_len = qw_cur_left(&c);
    return !c.err;
}

/* Whether a decoded hard reset looks like one: wrapped modes with a replay packet id and a real
 * clock; a client's first reset acks nothing; a small message packet id; little payload. */
static bool ovpn_reset_plausible(const struct ovpn_ctl *m)
{
    bool client = ovpn_kind(m->opcode) == K_RESET_CLIENT;
    if (m->wrapped && (m->replay_id == 0 || m->net_time < OVPN_NET_TIME_MIN)) return false;
    if (m->mode == OVPN_MODE_TLS_CRYPT)
        return m->payload_len <= OVPN_RESET_PAYLOAD_MAX + 5 + OVPN_ACK_MAX * 4 + OVPN_SID_LEN;
    if (client && m->nacks != 0) return false;
    return m->mpid < OVPN_RESET_MPID_MAX && m->payload_len <= OVPN_RESET_PAYLOAD_MAX;
}

/* Work out the mode from a hard reset (see the banner); false when no reading fits. */
static bool ovpn_detect(const uint8_t *p, size_t n, struct ovpn_ctl *m)
{
    unsigned opcode = n ? p[0] >> 3 : 0;
    if (!ovpn_crypt_only(opcode)) {
        if (ovpn_decode_ctl(p, n, OVPN_MODE_PLAIN, 0, m) && ovpn_reset_plausible(m)) return true;
        for (size_t i = 0; i < sizeof ovpn_hmac_sizes; i++)
            if (ovpn_decode_ctl(p, n, OVPN_MODE_TLS_AUTH, ovpn_hmac_sizes[i], m) &&
                ovpn_reset_plausible(m))
                return true;
    }
    return ovpn_decode_ctl(p, n, OVPN_MODE_TLS_CRYPT, 0, m) && ovpn_reset_plausible(m);
}

/* ---- Probe --------------------------------------------------------------------------------- */

/* One whole packet (opcode byte first): a client hard reset with key id 0 from the client, or
 * a server hard reset from the server, whose structure fits one of the modes. */
static bool ovpn_probe_packet(const uint8_t *p, size_t n, enum qw_dir dir)
{
    if (n == 0 || (p[0] & 7) != 0) return false;
    unsigned kind = ovpn_kind(p[0] >> 3);
    if (kind != (dir == QW_DIR_TO_SERVER ? K_RESET_CLIENT : K_RESET_SERVER)) return false;
    struct ovpn_ctl m;
    return ovpn_detect(p, n, &m);
}

/* TCP reading: the 2-byte length must be the packet's. */
static enum qw_probe_result ovpn_probe_tcp(const uint8_t *p, size_t n, enum qw_dir dir)
{
    if (n < OVPN_TCP_PREFIX) return QW_PROBE_NEED_MORE;
    size_t plen = (size_t)p[0] << 8 | p[1];
    /* the largest reset: tls-auth with HMAC-SHA512 and a full payload, or a wrapped key */
    if (plen < 1 + OVPN_SID_LEN + 5 || plen > 1 + OVPN_SID_LEN + OVPN_REPLAY_LEN + OVPN_TAG_LEN +
                                                  64 + OVPN_RESET_PAYLOAD_MAX + OVPN_WKC_MAX)
        return QW_PROBE_NO;
    if (n == OVPN_TCP_PREFIX) return QW_PROBE_NEED_MORE;
    unsigned kind = ovpn_kind(p[2] >> 3);
    if ((p[2] & 7) != 0 || kind != (dir == QW_DIR_TO_SERVER ? K_RESET_CLIENT : K_RESET_SERVER))
        return QW_PROBE_NO;
    if (n - OVPN_TCP_PREFIX < plen) return QW_PROBE_NEED_MORE;
    return ovpn_probe_packet(p + OVPN_TCP_PREFIX, plen, dir) ? QW_PROBE_MATCH : QW_PROBE_NO;
}

/* The probe sees the first bytes of either transport: a UDP payload is one packet, a TCP stream
 * starts with the length. Data packets alone never match: they are random bytes after one. */
static enum qw_probe_result ovpn_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    if (ovpn_probe_packet(data, len, dir)) return QW_PROBE_MATCH;
    return ovpn_probe_tcp(data, len, dir);
}

/* ---- Per-flow state ------------------------------------------------------------------------ */

/* One side of a reset exchange, as recorded. */
struct ovpn_side {
    struct ovpn_ctl m;
    uint64_t ts_ns;
};

/* A control packet's payload that arrived ahead of its turn (its bytes in the direction's
 * borrowed buffer, slot by slot). */
struct ovpn_held {
    bool used;
    uint16_t len;
    uint32_t mpid;
};

/* One direction of the TLS session's byte stream. */
struct ovpn_rx {
    bool synced;   /* `next` is known (from this side's reset, or its first control packet) */
    uint32_t next; /* the message packet id whose payload the stream wants next */
    /* OVPN_HOLD_SLOTS payloads of OVPN_HOLD_BYTES, lent by the engine (qw_loan_take) only while
     * one waits its turn: reordering is rare, so a flow does not carry them for its life */
    uint8_t *hold;
    struct ovpn_held held[OVPN_HOLD_SLOTS];
};

_Static_assert(OVPN_HOLD_SLOTS * OVPN_HOLD_BYTES <= QW_LOAN_BYTES, "held payloads are a loan");

static uint8_t *held_data(const struct ovpn_rx *rx, const struct ovpn_held *h)
{
    return rx->hold + (size_t)(h - rx->held) * OVPN_HOLD_BYTES;
}

/* Give the direction's buffer back once nothing waits in it. */
static void ovpn_rx_give_back(struct qw_pctx *ctx, struct ovpn_rx *rx)
{
    if (!rx->hold) return;
    for (unsigned i = 0; i < OVPN_HOLD_SLOTS; i++)
        if (rx->held[i].used) return;
    qw_loan_return(ctx, rx->hold);
    rx->hold = NULL;
}

/* Per direction, for the summary. */
struct ovpn_tls_counts {
    uint64_t bytes;      /* control channel bytes fed to the TLS decoder, in order */
    uint64_t records, encrypted_records; /* what the decoder made of them */
    uint64_t retransmits; /* control packets whose message packet id was already read */
    uint64_t reordered;   /* held until an earlier one arrived */
    uint64_t lost;        /* message packet ids never seen, skipped */
};

struct ovpn_state {
    uint8_t mode, hmac_len;
    /* hard reset exchange: the client reset waiting for its answer */
    bool reset_pending, reset_paired;
    struct ovpn_side reset_req;
    uint64_t paired_cli_sid, paired_srv_sid;
    /* soft reset: the one waiting for the peer's, and the last key id each side sent */
    bool soft_pending;
    uint8_t soft_pending_dir;
    struct ovpn_side soft_req;
    bool soft_seen[2];
    uint8_t soft_key[2];
    /* summary */
    uint64_t count[2][OVPN_OPCODES];
    uint64_t data_bytes[2];
    uint64_t sid[2];
    bool has_sid[2];
    uint32_t peer_id;
    bool has_peer_id;
    uint8_t key_ids; /* bit per key id seen */
    uint32_t sessions, retransmits, invalid;
    uint64_t first_ns[2];
    unsigned anomalies;
    bool resync[2]; /* TCP: after a gap, look for the next packet boundary */
    bool tcp;       /* packets come over TCP: in order, so nothing is held */
    /* the record being written */
    const struct ovpn_side *view_req, *view_rsp;
    const struct qw_txn *view_tls;
    /* the TLS session read from the control channel (plain and tls-auth modes) */
    bool tls_on;
    uint8_t tls_key;
    uint32_t tls_handshakes;
    struct ovpn_tls_counts tls_count[2];
    struct ovpn_rx rx[2];
    struct tls_embed tls;
};

static void ovpn_anomaly(struct qw_pctx *ctx, struct ovpn_state *st, const char *name,
                         const char *detail)
{
    st->invalid++;
    if (st->anomalies >= OVPN_ANOMALY_MAX) return;
    st->anomalies++;
    qw_emit_anomaly(ctx, name, detail);
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void ovpn_json_sid(struct qw_json *j, const char *key, uint64_t sid)
{
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)sid);
    qw_json_strn(j, key, hex, 16);
}

static void ovpn_json_mode(struct qw_json *j, uint8_t mode, uint8_t hmac_len)
{
    qw_json_str(j, "mode", ovpn_mode_names[mode]);
    if (mode == OVPN_MODE_TLS_AUTH) qw_json_u64(j, "hmac_length", hmac_len);
}

static void ovpn_json_ctl(struct qw_json *j, const char *key, const struct ovpn_ctl *m)
{
    qw_json_obj_begin(j, key);
    qw_json_u64(j, "opcode", m->opcode);
    qw_json_str(j, "opcode_name", ovpn_op_name(m->opcode));
    qw_json_u64(j, "key_id", m->key_id);
    ovpn_json_sid(j, "session_id", m->sid);
    if (m->wrapped) {
        char t[QW_TIME_STR_MAX];
        size_t n = qw_time_rfc3339((uint64_t)m->net_time * 1000000000ull, t);
        qw_json_u64(j, "packet_id", m->replay_id);
        qw_json_strn(j, "net_time", t, n);
    }
    if (m->mode != OVPN_MODE_TLS_CRYPT) {
        qw_json_u64(j, "acks", m->nacks);
        if (m->has_rsid) ovpn_json_sid(j, "remote_session_id", m->rsid);
        if (m->has_mpid) qw_json_u64(j, "message_packet_id", m->mpid);
    }
    if (m->payload_len) qw_json_u64(j, m->mode == OVPN_MODE_TLS_CRYPT ? "encrypted_length"
                                                                       : "payload_length",
                                    m->payload_len);
    if (m->wkc_len) qw_json_u64(j, "wrapped_key_length", m->wkc_len);
    qw_json_obj_end(j);
}

static void ovpn_write_exchange(struct qw_json *j, const void *arg)
{
    const struct ovpn_state *st = arg;
    const struct ovpn_ctl *key = st->view_req ? &st->view_req->m : &st->view_rsp->m;
    ovpn_json_mode(j, key->mode, key->hmac_len);
    if (st->view_req) ovpn_json_ctl(j, "request", &st->view_req->m);
    if (st->view_rsp) ovpn_json_ctl(j, "response", &st->view_rsp->m);
}

/* A TLS transaction of the control channel: the flow's mode, the key id, and tls.c's object. */
static void ovpn_write_tls(struct qw_json *j, const void *arg)
{
    const struct ovpn_state *st = arg;
    ovpn_json_mode(j, st->mode, st->hmac_len);
    qw_json_u64(j, "key_id", st->tls_key);
    qw_json_obj_begin(j, "tls");
    st->view_tls->write_json(j, st->view_tls->arg);
    qw_json_obj_end(j);
}

static void ovpn_json_counts(struct qw_json *j, const char *key, const struct ovpn_state *st,
                             unsigned d)
{
    const struct ovpn_tls_counts *c = &st->tls_count[d];
    qw_json_obj_begin(j, key);
    for (unsigned op = 1; op < OVPN_OPCODES; op++)
        if (st->count[d][op]) qw_json_u64_k(j, qw_json_key_of(ovpn_ops[op].name, 0), st->count[d][op]);
    if (st->data_bytes[d]) qw_json_u64(j, "data_bytes", st->data_bytes[d]);
    if (st->has_sid[d]) ovpn_json_sid(j, "session_id", st->sid[d]);
    if (c->bytes) qw_json_u64(j, "tls_bytes", c->bytes);
    if (c->records) qw_json_u64(j, "tls_records", c->records);
    if (c->encrypted_records) qw_json_u64(j, "tls_encrypted_records", c->encrypted_records);
    if (c->retransmits) qw_json_u64(j, "control_retransmits", c->retransmits);
    if (c->reordered) qw_json_u64(j, "control_reordered", c->reordered);
    if (c->lost) qw_json_u64(j, "control_lost", c->lost);
    qw_json_obj_end(j);
}

static void ovpn_write_summary(struct qw_json *j, const void *arg)
{
    const struct ovpn_state *st = arg;
    ovpn_json_mode(j, st->mode, st->hmac_len);
    qw_json_u64(j, "sessions", st->sessions);
    qw_json_arr_begin(j, "key_ids");
    for (unsigned k = 0; k < 8; k++)
        if (st->key_ids >> k & 1) qw_json_u64(j, NULL, k);
    qw_json_arr_end(j);
    if (st->has_peer_id) qw_json_u64(j, "peer_id", st->peer_id);
    if (st->retransmits) qw_json_u64(j, "reset_retransmits", st->retransmits);
    if (st->tls_handshakes) qw_json_u64(j, "tls_handshakes", st->tls_handshakes);
    if (st->invalid) qw_json_u64(j, "invalid", st->invalid);
    ovpn_json_counts(j, "client", st, QW_DIR_TO_SERVER);
    ovpn_json_counts(j, "server", st, QW_DIR_TO_CLIENT);
}

/* ---- Records ------------------------------------------------------------------------------- */

static void ovpn_emit(struct qw_pctx *ctx, struct ovpn_state *st, const struct ovpn_side *req,
                      const struct ovpn_side *rsp)
{
    const struct ovpn_ctl *key = req ? &req->m : &rsp->m;
    st->view_req = req;
    st->view_rsp = rsp;
    struct qw_txn t = {0};
    t.has_request = req != NULL;
    t.has_response = rsp != NULL;
    t.function = key->opcode;
    t.function_name = ovpn_op_name(key->opcode);
    t.ops = QW_OP_SESSION | QW_OP_AUTH;
    t.request_ns = req ? req->ts_ns : 0;
    t.response_ns = rsp ? rsp->ts_ns : 0;
    t.write_json = ovpn_write_exchange;
    t.arg = st;
    qw_emit_txn(ctx, &t);
    st->view_req = st->view_rsp = NULL;
}

static void ovpn_flush_reset(struct qw_pctx *ctx, struct ovpn_state *st)
{
    if (!st->reset_pending) return;
    st->reset_pending = false;
    ovpn_emit(ctx, st, &st->reset_req, NULL);
}

static void ovpn_flush_soft(struct qw_pctx *ctx, struct ovpn_state *st)
{
    if (!st->soft_pending) return;
    st->soft_pending = false;
    ovpn_emit(ctx, st, &st->soft_req, NULL);
}

/* ---- TLS in the control channel ------------------------------------------------------------ */

static enum qw_dir ovpn_dir(unsigned d)
{
    return d ? QW_DIR_TO_CLIENT : QW_DIR_TO_SERVER;
}

/* What the TLS decoder would have written as a `tls` record becomes an OpenVPN record (the
 * flow is OpenVPN's: one record per handshake, docs/events/openvpn.md). */
static void ovpn_tls_txn(struct qw_pctx *ctx, void *arg, const struct qw_txn *tt)
{
    struct ovpn_state *st = arg;
    bool alert = tt->function_name && strcmp(tt->function_name, "alert") == 0;
    struct qw_txn t = *tt;
    t.function = OVPN_OP_CONTROL;
    t.function_name = alert ? "tls_alert" : "tls_handshake";
    t.ops = QW_OP_SESSION | QW_OP_AUTH;
    t.write_json = ovpn_write_tls;
    t.arg = st;
    if (!alert) st->tls_handshakes++;
    st->view_tls = tt;
    qw_emit_txn(ctx, &t);
    st->view_tls = NULL;
}

/* Feed one payload, the next in direction d's order. */
static void ovpn_rx_read(struct qw_pctx *ctx, struct ovpn_state *st, unsigned d,
                         const uint8_t *p, size_t n)
{
    st->rx[d].next++;
    st->tls_count[d].bytes += n;
    tls_embed_feed(ctx, &st->tls, ovpn_dir(d), p, n);
}

/* The held payloads that are next in turn, one after the other. */
static void ovpn_rx_drain(struct qw_pctx *ctx, struct ovpn_state *st, unsigned d)
{
    struct ovpn_rx *rx = &st->rx[d];
    for (bool more = true; more;) {
        more = false;
        for (unsigned i = 0; i < OVPN_HOLD_SLOTS; i++) {
            struct ovpn_held *h = &rx->held[i];
            if (!h->used || h->mpid != rx->next) continue;
            h->used = false;
            ovpn_rx_read(ctx, st, d, held_data(rx, h), h->len);
            more = true;
        }
    }
}

/* Skip the missing ids up to `upto` (excluded): the held payloads before it are read in order,
 * with a gap in the TLS stream for each run of missing ids. */
static void ovpn_rx_skip_to(struct qw_pctx *ctx, struct ovpn_state *st, unsigned d, uint32_t upto)
{
    struct ovpn_rx *rx = &st->rx[d];
    for (;;) {
        struct ovpn_held *first = NULL;
        for (unsigned i = 0; i < OVPN_HOLD_SLOTS; i++) {
            struct ovpn_held *h = &rx->held[i];
            if (h->used && h->mpid - rx->next < upto - rx->next &&
                (!first || h->mpid - rx->next < first->mpid - rx->next))
                first = h;
        }
        if (!first) break;
        if (first->mpid != rx->next) {
            st->tls_count[d].lost += first->mpid - rx->next;
            tls_embed_gap(&st->tls, ovpn_dir(d));
            rx->next = first->mpid;
        }
        first->used = false;
        ovpn_rx_read(ctx, st, d, held_data(rx, first), first->len);
    }
    if (upto != rx->next) {
        st->tls_count[d].lost += upto - rx->next;
        tls_embed_gap(&st->tls, ovpn_dir(d));
        rx->next = upto;
    }
}

/* Read whatever is still held (the session or the flow ends). */
static void ovpn_rx_flush(struct qw_pctx *ctx, struct ovpn_state *st, unsigned d)
{
    struct ovpn_rx *rx = &st->rx[d];
    bool any = false;
    uint32_t last = 0;
    for (unsigned i = 0; i < OVPN_HOLD_SLOTS; i++) {
        const struct ovpn_held *h = &rx->held[i];
        if (h->used && (!any || h->mpid - rx->next > last - rx->next)) last = h->mpid;
        any = any || h->used;
    }
    if (any) ovpn_rx_skip_to(ctx, st, d, last + 1);
    ovpn_rx_give_back(ctx, rx);
}

/* The payload of a P_CONTROL_V1 from direction d of the session being read. */
static void ovpn_rx_packet(struct qw_pctx *ctx, struct ovpn_state *st, unsigned d, uint32_t mpid,
                           const uint8_t *p, size_t n)
{
    struct ovpn_rx *rx = &st->rx[d];
    if (!rx->synced) { /* this side's reset was not seen: its stream starts here */
        rx->synced = true;
        rx->next = mpid;
        if (mpid != 1) tls_embed_gap(&st->tls, ovpn_dir(d)); /* 1 follows a reset's 0 */
    }
    uint32_t ahead = mpid - rx->next;
    if (ahead >= 0x80000000u) { /* before the next: read already */
        st->tls_count[d].retransmits++;
        return;
    }
    if (ahead == 0) {
        ovpn_rx_read(ctx, st, d, p, n);
        ovpn_rx_drain(ctx, st, d);
        ovpn_rx_give_back(ctx, rx);
        return;
    }
    struct ovpn_held *room = NULL;
    for (unsigned i = 0; i < OVPN_HOLD_SLOTS; i++) {
        struct ovpn_held *h = &rx->held[i];
        if (h->used && h->mpid == mpid) { /* held already */
            st->tls_count[d].retransmits++;
            return;
        }
        if (!h->used && !room) room = h;
    }
    /* Over TCP nothing overtakes: an id ahead means the ones before were lost with a gap. */
    if (!st->tcp && room && ahead < OVPN_HOLD_AHEAD && n <= OVPN_HOLD_BYTES) {
        if (!rx->hold) rx->hold = qw_loan_take(ctx); /* past the memory cap: none, a gap */
        if (rx->hold) {
            room->used = true;
            room->mpid = mpid;
            room->len = (uint16_t)n;
            memcpy(held_data(rx, room), p, n);
            st->tls_count[d].reordered++;
            return;
        }
    }
    ovpn_rx_skip_to(ctx, st, d, mpid);
    ovpn_rx_read(ctx, st, d, p, n);
    ovpn_rx_drain(ctx, st, d);
    ovpn_rx_give_back(ctx, rx);
}

/* The TLS session being read ends: what is held is read, the outstanding handshake written. */
static void ovpn_tls_end(struct qw_pctx *ctx, struct ovpn_state *st)
{
    if (!st->tls_on) return;
    for (unsigned d = 0; d < 2; d++) ovpn_rx_flush(ctx, st, d);
    tls_embed_finish(ctx, &st->tls);
    for (unsigned d = 0; d < 2; d++) {
        struct tls_embed_counts c;
        tls_embed_counts(&st->tls, ovpn_dir(d), &c);
        st->tls_count[d].records += c.records;
        st->tls_count[d].encrypted_records += c.encrypted_records;
    }
    st->tls_on = false;
}

/* A reset (hard or soft) from direction d opens the TLS session of key `key`, or is the peer's
 * reset of the session already open: d's stream starts after the reset's message packet id.
 * tls-crypt hides both: no session is read. */
static void ovpn_tls_reset(struct qw_pctx *ctx, struct ovpn_state *st, unsigned d,
                           const struct ovpn_ctl *m, bool new_session)
{
    if (m->mode == OVPN_MODE_TLS_CRYPT || !m->has_mpid) {
        ovpn_tls_end(ctx, st);
        return;
    }
    if (new_session || !st->tls_on || st->tls_key != m->key_id) {
        ovpn_tls_end(ctx, st);
        tls_embed_init(&st->tls, ovpn_tls_txn, st);
        memset(st->rx, 0, sizeof st->rx);
        st->tls_on = true;
        st->tls_key = m->key_id;
    }
    struct ovpn_rx *rx = &st->rx[d];
    if (rx->synced) return;
    rx->synced = true;
    rx->next = m->mpid + 1;
}

/* A client reset waits for the server reset that acks its session id (tls-crypt hides the
 * acks: the next server reset answers it). Retransmissions (same session id) are counted. */
static void ovpn_on_client_reset(struct qw_pctx *ctx, struct ovpn_state *st,
                                 const struct ovpn_ctl *m)
{
    if ((st->reset_pending && st->reset_req.m.sid == m->sid) ||
        (st->reset_paired && st->paired_cli_sid == m->sid)) {
        st->retransmits++;
        return;
    }
    ovpn_flush_reset(ctx, st);
    st->reset_pending = true;
    st->reset_paired = false;
    st->reset_req.m = *m;
    st->reset_req.ts_ns = qw_pctx_time(ctx);
    st->soft_seen[0] = st->soft_seen[1] = false; /* a new session numbers its keys anew */
    ovpn_tls_reset(ctx, st, QW_DIR_TO_SERVER, m, true);
}

static void ovpn_on_server_reset(struct qw_pctx *ctx, struct ovpn_state *st,
                                 const struct ovpn_ctl *m)
{
    if (st->reset_paired && st->paired_srv_sid == m->sid) {
        st->retransmits++;
        return;
    }
    struct ovpn_side rsp = {*m, qw_pctx_time(ctx)};
    bool answers = st->reset_pending && (!m->has_rsid || m->rsid == st->reset_req.m.sid);
    if (!answers) ovpn_flush_reset(ctx, st);
    ovpn_tls_reset(ctx, st, QW_DIR_TO_CLIENT, m, !answers);
    ovpn_emit(ctx, st, answers ? &st->reset_req : NULL, &rsp);
    st->sessions++;
    st->reset_pending = false;
    st->reset_paired = true;
    st->paired_cli_sid = answers ? st->reset_req.m.sid : 0;
    st->paired_srv_sid = m->sid;
}

/* A soft reset from side d with key id k waits for the other side's soft reset with key id k;
 * the same key id again from the same side is a retransmission. */
static void ovpn_on_soft_reset(struct qw_pctx *ctx, struct ovpn_state *st, unsigned d,
                               const struct ovpn_ctl *m)
{
    if (st->soft_seen[d] && st->soft_key[d] == m->key_id) return;
    st->soft_seen[d] = true;
    st->soft_key[d] = m->key_id;
    ovpn_tls_reset(ctx, st, d, m, false);
    struct ovpn_side side = {*m, qw_pctx_time(ctx)};
    if (st->soft_pending && st->soft_pending_dir != d && st->soft_req.m.key_id == m->key_id) {
        st->soft_pending = false;
        ovpn_emit(ctx, st, &st->soft_req, &side);
        return;
    }
    ovpn_flush_soft(ctx, st);
    st->soft_pending = true;
    st->soft_pending_dir = (uint8_t)d;
    st->soft_req = side;
}

/* ---- Packets ------------------------------------------------------------------------------- */

static void ovpn_control(struct qw_pctx *ctx, struct ovpn_state *st, unsigned d,
                         const uint8_t *p, size_t n)
{
    unsigned opcode = p[0] >> 3, kind = ovpn_kind(opcode);
    struct ovpn_ctl m;
    bool reset = kind == K_RESET_CLIENT || kind == K_RESET_SERVER;
    if (reset && ovpn_detect(p, n, &m)) {
        st->mode = m.mode;
        st->hmac_len = m.hmac_len;
    } else if (!ovpn_decode_ctl(p, n, st->mode ? st->mode : OVPN_MODE_PLAIN, st->hmac_len, &m)) {
        ovpn_anomaly(ctx, st, n < 1 + OVPN_SID_LEN ? "openvpn.invalid_length"
                              : "openvpn.invalid_control", ovpn_op_name(opcode));
        return;
    }
    st->sid[d] = m.sid;
    st->has_sid[d] = true;
    if (reset && m.key_id != 0) ovpn_anomaly(ctx, st, "openvpn.invalid_key_id", ovpn_op_name(opcode));
    if (kind == K_RESET_CLIENT) ovpn_on_client_reset(ctx, st, &m);
    else if (kind == K_RESET_SERVER) ovpn_on_server_reset(ctx, st, &m);
    else if (kind == K_SOFT_RESET) ovpn_on_soft_reset(ctx, st, d, &m);
    else if (opcode == OVPN_OP_CONTROL && st->tls_on && m.key_id == st->tls_key && m.has_mpid &&
             m.mode != OVPN_MODE_TLS_CRYPT)
        ovpn_rx_packet(ctx, st, d, m.mpid, p + (n - m.payload_len), m.payload_len);
}

/* One packet, opcode byte first (a UDP payload, or a TCP packet after its length). */
static void ovpn_packet(struct qw_pctx *ctx, struct ovpn_state *st, enum qw_dir dir,
                        const uint8_t *p, size_t n)
{
    unsigned d = dir == QW_DIR_TO_CLIENT ? 1 : 0;
    if (n == 0) {
        ovpn_anomaly(ctx, st, "openvpn.invalid_length", "empty packet");
        return;
    }
    unsigned opcode = p[0] >> 3, kind = ovpn_kind(opcode);
    if (kind == K_NONE) {
        char detail[16];
        snprintf(detail, sizeof detail, "opcode %u", opcode);
        ovpn_anomaly(ctx, st, "openvpn.invalid_opcode", detail);
        return;
    }
    if (!st->first_ns[d]) st->first_ns[d] = qw_pctx_time(ctx);
    st->count[d][opcode]++;
    st->key_ids |= (uint8_t)(1u << (p[0] & 7));
    if (kind == K_DATA) {
        st->data_bytes[d] += n - 1;
    } else if (kind == K_DATA_V2) {
        if (n < 1 + OVPN_PEER_ID_LEN) {
            ovpn_anomaly(ctx, st, "openvpn.invalid_length", "data_v2");
            return;
        }
        st->peer_id = (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        st->has_peer_id = true;
        st->data_bytes[d] += n - 1 - OVPN_PEER_ID_LEN;
    } else {
        ovpn_control(ctx, st, d, p, n);
    }
}

/* ---- Entry points -------------------------------------------------------------------------- */

static void ovpn_datagram(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                          size_t len)
{
    ovpn_packet(ctx, state, dir, data, len);
}

/* Whether a TCP packet could start at p (after a gap): a known opcode, and for control packets
 * the session id this side already uses, for data packets a key id already seen. */
static bool ovpn_boundary(const struct ovpn_state *st, unsigned d, const uint8_t *p, size_t n)
{
    if (n < OVPN_TCP_PREFIX + 1) return false;
    size_t plen = (size_t)p[0] << 8 | p[1];
    unsigned kind = ovpn_kind(p[2] >> 3);
    if (plen == 0 || kind == K_NONE) return false;
    if (kind == K_DATA || kind == K_DATA_V2) return st->key_ids >> (p[2] & 7) & 1;
    if (n < OVPN_TCP_PREFIX + 1 + OVPN_SID_LEN || plen < 1 + OVPN_SID_LEN || !st->has_sid[d])
        return false;
    uint64_t sid = 0;
    for (size_t i = 0; i < OVPN_SID_LEN; i++) sid = sid << 8 | p[3 + i];
    return sid == st->sid[d];
}

/* Skip to the next packet boundary after a gap: a plausible header followed by another one
 * (when it is there to see). Returns the bytes skipped; *found whether a boundary was found. */
static size_t ovpn_resync(const struct ovpn_state *st, unsigned d, const uint8_t *b, size_t n,
                          bool *found)
{
    *found = false;
    for (size_t off = 0; off + OVPN_TCP_PREFIX + 1 + OVPN_SID_LEN <= n; off++) {
        if (!ovpn_boundary(st, d, b + off, n - off)) continue;
        size_t next = off + OVPN_TCP_PREFIX + ((size_t)b[off] << 8 | b[off + 1]);
        if (next + OVPN_TCP_PREFIX + 1 + OVPN_SID_LEN > n) return off; /* wait to see the next */
        if (ovpn_boundary(st, d, b + next, n - next)) {
            *found = true;
            return off;
        }
    }
    return n > OVPN_TCP_PREFIX + OVPN_SID_LEN ? n - OVPN_TCP_PREFIX - OVPN_SID_LEN : 0;
}

static size_t ovpn_parse(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                         size_t len)
{
    struct ovpn_state *st = state;
    unsigned d = dir == QW_DIR_TO_CLIENT ? 1 : 0;
    size_t off = 0;
    st->tcp = true;
    while (len - off >= OVPN_TCP_PREFIX) {
        if (st->resync[d]) {
            bool found;
            off += ovpn_resync(st, d, data + off, len - off, &found);
            if (!found) return off;
            st->resync[d] = false;
        }
        size_t plen = (size_t)data[off] << 8 | data[off + 1];
        if (plen == 0) {
            ovpn_anomaly(ctx, st, "openvpn.invalid_length", "TCP length 0");
            st->resync[d] = true;
            off += OVPN_TCP_PREFIX;
            continue;
        }
        if (len - off - OVPN_TCP_PREFIX < plen) break; /* the rest is still to come */
        ovpn_packet(ctx, st, dir, data + off + OVPN_TCP_PREFIX, plen);
        off += OVPN_TCP_PREFIX + plen;
    }
    return off;
}

static void ovpn_gap(struct qw_pctx *ctx, void *state, enum qw_dir dir)
{
    (void)ctx;
    struct ovpn_state *st = state;
    st->resync[dir == QW_DIR_TO_CLIENT ? 1 : 0] = true;
}

/* Outstanding resets as records without their answer, then the summary. */
static void ovpn_flow_end(struct qw_pctx *ctx, void *state)
{
    struct ovpn_state *st = state;
    ovpn_flush_reset(ctx, st);
    ovpn_flush_soft(ctx, st);
    ovpn_tls_end(ctx, st);
    if (!st->first_ns[0] && !st->first_ns[1]) return;
    struct qw_txn t = {0};
    t.has_request = st->first_ns[0] != 0;
    t.has_response = st->first_ns[1] != 0;
    t.function = 0;
    t.function_name = "summary";
    t.ops = QW_OP_SESSION;
    t.request_ns = st->first_ns[0];
    t.response_ns = st->first_ns[1];
    t.write_json = ovpn_write_summary;
    t.arg = st;
    qw_emit_txn(ctx, &t);
}

const struct qw_proto qw_proto_openvpn = {
    .name = "openvpn",
    .transports = QW_TRANSPORT_TCP | QW_TRANSPORT_UDP,
    .ports = {OVPN_PORT, 0},
    .probe = ovpn_probe,
    .state_size = sizeof(struct ovpn_state),
    .parse = ovpn_parse,
    .datagram = ovpn_datagram,
    .gap = ovpn_gap,
    .flow_end = ovpn_flow_end,
};
