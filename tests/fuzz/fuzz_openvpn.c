/* Fuzz harness for the OpenVPN parser (src/proto/openvpn.c); see tests/fuzz/fuzz.h.
 *
 * OpenVPN runs over both transports, so the input is used three times, each time on a fresh flow:
 *   UDP  fz_datagram_cuts (tests/fuzz/fuzz_parser.h): probed, given whole as one datagram each
 *        way (a corpus payload is the real packet it is), then cut into datagrams as its first
 *        byte says;
 *   TCP  fz_stream: the input as the byte stream (a corpus TCP payload starts with its 2-byte
 *        length), cut and sent each way as its first byte says, with gaps in one cut mode;
 *   TLS  the control channel: after a plain hard reset exchange, the input is cut into
 *        P_CONTROL_V1 payloads (the TLS bytes the embedded decoder of tls.c reads). First byte
 *        below 0x80: the rest is one side's TLS stream (bit 0), in order, in packets of 1-64
 *        bytes (bits 1-6), so a TLS stream or an OpenVPN packet that holds one is read whole;
 *        from 0x80: each chunk is sent from the side, with the message packet id (in turn,
 *        repeated, ahead, behind), or as a soft reset of the key, that its first byte picks:
 *        the reassembly (hold, drain, skip, duplicates, new sessions) and the TLS decoder over
 *        whatever bytes come.
 * Invariants: records are the hard reset exchange and soft resets (opcodes 1-3, 7, 8, 10), TLS
 * handshakes and alerts (4) or the summary (0), with both operation classes the OpenVPN ones
 * must carry, whole JSON objects, at most 4 anomalies under "openvpn." and any others under
 * "tls.", identity facts only from the TLS decoder's list, at most one summary per flow. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

extern const struct qw_proto qw_proto_openvpn;
#define FZ_PROTO qw_proto_openvpn

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "openvpn";

static const char *const tls_attrs[] = {"tls_sni", "ja3", "ja4", "ja3s", "tls_cert_subject",
                                        "tls_cert_issuer", "tls_cert_not_after",
                                        "tls_self_signed", NULL};

static void check(void)
{
    size_t summaries = 0, ovpn_anomalies = 0;
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!fz_txn_ok(t) || !fz_json_whole(&rec.txns[i])) abort();
        switch (t->function) {
        case 0:
            summaries++;
            if (t->ops != QW_OP_SESSION || strcmp(t->function_name, "summary") != 0) abort();
            break;
        case 1: case 2: case 3: case 7: case 8: case 10:
            if (t->ops != (QW_OP_SESSION | QW_OP_AUTH)) abort();
            break;
        case 4:
            if (t->ops != (QW_OP_SESSION | QW_OP_AUTH)) abort();
            if (strcmp(t->function_name, "tls_handshake") != 0 &&
                strcmp(t->function_name, "tls_alert") != 0)
                abort();
            break;
        default:
            abort();
        }
    }
    for (size_t i = 0; i < rec.nanomalies; i++) {
        const char *n = rec.anomalies[i].name;
        if (strncmp(n, "openvpn.", 8) == 0) ovpn_anomalies++;
        else if (strncmp(n, "tls.", 4) != 0) abort();
    }
    if (summaries > 1 || ovpn_anomalies > 4) abort();
    if (!fz_identities_in(tls_attrs)) abort();
}

#define SID_C 0x0102030405060708ull
#define SID_S 0x1112131415161718ull

/* A plain control packet of `opcode` and key id `key` from side `d` into out (room for 1 + 8 +
 * 1 + 4 + 8 + 4 + n bytes): session id, one ack of the peer's (or none), message packet id,
 * payload. */
static size_t ctl_packet(uint8_t *out, uint8_t opcode, uint8_t key, unsigned d, bool ack,
                         uint32_t mpid, const uint8_t *p, size_t n)
{
    size_t o = 0;
    uint64_t sid = d ? SID_S : SID_C, peer = d ? SID_C : SID_S;
    out[o++] = (uint8_t)(opcode << 3 | key);
    for (int i = 7; i >= 0; i--) out[o++] = (uint8_t)(sid >> (8 * i));
    out[o++] = ack;
    if (ack) {
        for (int i = 0; i < 4; i++) out[o++] = 0;
        for (int i = 7; i >= 0; i--) out[o++] = (uint8_t)(peer >> (8 * i));
    }
    for (int i = 3; i >= 0; i--) out[o++] = (uint8_t)(mpid >> (8 * i));
    if (n) memcpy(out + o, p, n);
    return o + n;
}

/* The TLS pass (see the banner). Scrambled, each chunk's first byte: bit 0 the side; bits 1-3
 * the message packet id relative to that side's next one (0-3: in turn, +1, +2, +5; 4: a
 * retransmission of the one before; 5: far ahead; 6-7: in turn); bit 4 with bits 5-6: a soft
 * reset of key 1-3 instead (its packet id 0 starts the key's numbering). */
static void control_channel(const uint8_t *data, size_t size)
{
    static uint8_t pkt_buf[1 + 8 + 1 + 4 + 8 + 4 + 256];
    fz_begin(1700000000000000000ull);
    size_t n = ctl_packet(pkt_buf, 7, 0, 0, false, 0, NULL, 0);
    fz_datagram_later(QW_DIR_TO_SERVER, pkt_buf, n);
    n = ctl_packet(pkt_buf, 8, 0, 1, true, 0, NULL, 0);
    fz_datagram_later(QW_DIR_TO_CLIENT, pkt_buf, n);
    uint32_t next[2] = {1, 1};
    uint8_t key = 0;
    if (size && data[0] < 0x80) { /* in order, one side */
        unsigned d = data[0] & 1u;
        size_t step = (size_t)(data[0] >> 1) + 1;
        for (size_t off = 1; off < size; off += step) {
            size_t k = size - off < step ? size - off : step;
            n = ctl_packet(pkt_buf, 4, 0, d, true, next[d]++, data + off, k);
            fz_datagram_later(d ? QW_DIR_TO_CLIENT : QW_DIR_TO_SERVER, pkt_buf, n);
        }
        fz_end();
        return;
    }
    struct fz_cut c = {size ? (size_t)(data[0] & 0x7Fu) + 1 : 1, 0x7F4A7C15u ^ (uint32_t)size};
    for (size_t off = 0; off < size;) {
        size_t k = fz_next(&c, size - off);
        if (k > 256) k = 256;
        uint8_t sel = data[off];
        unsigned d = sel & 1u;
        enum qw_dir dir = d ? QW_DIR_TO_CLIENT : QW_DIR_TO_SERVER;
        if (sel & 0x10u) {
            key = (uint8_t)(((sel >> 5) & 3u) % 3u + 1u);
            n = ctl_packet(pkt_buf, 3, key, d, true, 0, NULL, 0);
            next[d] = 1;
        } else {
            static const int32_t rel[8] = {0, 1, 2, 5, -1, 40, 0, 0};
            uint32_t mpid = next[d] + (uint32_t)rel[(sel >> 1) & 7u];
            if (mpid == next[d]) next[d]++;
            n = ctl_packet(pkt_buf, 4, key, d, true, mpid, data + off + 1, k - 1);
        }
        fz_datagram_later(dir, pkt_buf, n);
        off += k;
    }
    fz_end();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1);
    fz_datagram_cuts(data, size);
    check();
    fz_reset();
    fz_stream(data, size);
    check();
    control_channel(data, size);
    check();
    return 0;
}
