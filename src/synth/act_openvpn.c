/* A remote-service box's OpenVPN tunnel over TCP 443 to its vendor's relay, the way such boxes
 * get out through a firewall that only lets web traffic pass.
 *
 * On the wire (draft-openvpn-protocol, plain mode: no tls-auth; over TCP every packet follows a
 * 2-byte big-endian length): the client's P_CONTROL_HARD_RESET_CLIENT_V2 (opcode 7, key id 0:
 * its session id, no acks, message packet id 0), the server's P_CONTROL_HARD_RESET_SERVER_V2
 * (opcode 8: its own session id, acking the client's packet 0 for the client's session, message
 * packet id 0), the client's P_ACK_V1 (opcode 5) for it. Then the control channel carries a TLS
 * 1.2 handshake with client authentication (enc_tls.c) in P_CONTROL_V1 packets (opcode 4, key
 * id 0), each carrying whole TLS records, at most TLS_CHUNK bytes (chunk_of says why), with
 * each side's message packet ids counting on from its reset's 0 and every packet acking the
 * peer's packets not acked yet:
 *   client  ClientHello
 *   server  ServerHello, Certificate (the relay's), ServerKeyExchange (x25519),
 *           CertificateRequest (naming the vendor's CA), ServerHelloDone
 *   client  P_ACK_V1; Certificate (the box's), ClientKeyExchange, CertificateVerify,
 *           ChangeCipherSpec, Finished
 *   server  ChangeCipherSpec, Finished
 *   both    application data: OpenVPN's key method 2 exchange, the client's PUSH_REQUEST and
 *           the server's PUSH_REPLY (random ciphertext of plausible sizes); the client acks last.
 * Then P_DATA_V2 packets (opcode 9: peer id, encrypted bytes) both ways: keepalive pings every
 * 10 s and bursts while the vendor works through the tunnel. Ends with a FIN from the box.
 *
 * The certificates: the relay's (CN rsb-relay.crane-vendor.example) and the box's (CN its host
 * name, crane-rsb01), both O "Crane Vendor" and issued by "Crane Vendor Remote Service CA" a
 * year before the capture starts, valid five years (sy_openvpn_certs; docs/synth.md).
 *
 * The handshake draws on a random stream of its own, seeded from the session ids, and fits in
 * the pause the tunnel always had between the client's ack and its first data packet (200-900
 * ms of the main stream's jitter; the handshake's own delays shrink in proportion when they add
 * up to more). So the main stream is drawn exactly as before the handshake was added, and every
 * other frame of the capture is what it was. */
#include <string.h>

#include "synth/actors.h"
#include "synth/enc.h"
#include "synth/tcp.h"

#define OVPN_TCP_PORT 443
#define OP_CONTROL_V1 4
#define OP_RESET_CLIENT_V2 7
#define OP_RESET_SERVER_V2 8
#define OP_ACK_V1 5
#define OP_DATA_V2 9
#define SID_LEN 8
#define ACKS_MAX 8         /* acks one packet carries (OpenVPN's reliable layer) */
#define PING_BYTES 40      /* a keepalive: tag, packet id and the 16-byte ping magic, encrypted */
#define PEER_ID 0x000001u  /* the server's first client */

/* The certificates (docs/synth.md). */
#define VENDOR_O "Crane Vendor"
#define VENDOR_CA_CN "Crane Vendor Remote Service CA"
#define RELAY_CN "rsb-relay.crane-vendor.example"
#define CERT_ISSUED_BEFORE (365 * 86400ull) /* a year before the capture starts */
#define CERT_LIFETIME (1826 * 86400ull)     /* five years */

/* The control channel. */
#define TLS_CHUNK 1250       /* TLS bytes per P_CONTROL_V1: OpenVPN's default --tls-mtu */
#define TLS_STREAM_MAX 4096  /* each side's TLS bytes over the whole handshake (about 2 KB) */
#define CERT_DER_MAX 1536    /* one certificate (about 900 bytes) */
#define NAME_DER_MAX 256
#define SCRIPT_MAX 24        /* handshake packets (about 15) */
#define BUDGET_MARGIN (1 * SY_MS) /* the last handshake packet leaves this before the data */

/* Plaintext sizes of the encrypted control-channel messages: key method 2 (4 zero bytes, the
 * method, key material, the options string and the client's peer info), the push request
 * ("PUSH_REQUEST" and its NUL) and the pushed options. */
#define KM2_CLIENT_MIN 480
#define KM2_CLIENT_MAX 560
#define KM2_SERVER_MIN 280
#define KM2_SERVER_MAX 340
#define PUSH_REQUEST_LEN 13
#define PUSH_REPLY_MIN 180
#define PUSH_REPLY_MAX 280

enum {
    S_SYN,
    S_SYNACK,
    S_ACK,
    S_CRESET,
    S_SRESET,
    S_CACK,
    S_TLS, /* the handshake script, one packet per firing */
    S_DATA,
    S_CFIN,
    S_SFIN,
    S_CLAST,
};

/* One packet of the handshake script: a P_CONTROL_V1 carrying tls[dir][off..off+len), or a
 * P_ACK_V1 (len 0), `gap` after the packet before it. */
struct hs_packet {
    uint8_t dir;
    uint8_t opcode;
    uint16_t off, len;
    uint64_t gap;
};

struct ovpn_actor {
    struct sy_actor a;
    struct sy_tcp t;
    struct sy_dev *c, *s;
    int step;
    uint8_t sid[2][SID_LEN]; /* each side's session id */
    uint32_t next_pid[2];    /* each side's next message packet id */
    uint32_t acked[2];       /* each side has acked the peer's packets below this id */
    unsigned burst;          /* data packets still to send in this burst */
    uint64_t end;
    /* the handshake */
    struct sy_rng rng; /* its own stream: the main one stays as it was without it */
    uint64_t data_at;  /* when the data channel starts */
    struct hs_packet script[SCRIPT_MAX];
    unsigned script_len, script_next;
    uint8_t tls[2][TLS_STREAM_MAX]; /* each side's TLS bytes, in order */
    size_t tls_len[2];
};

void sy_openvpn_certs(const struct sy_dev *box, uint64_t start_unix, struct sy_ovpn_cert *server,
                      struct sy_ovpn_cert *client)
{
    /* a capture starting in 1970's first year gets certificates issued at the epoch */
    uint64_t issued = start_unix > CERT_ISSUED_BEFORE ? start_unix - CERT_ISSUED_BEFORE : 0;
    *server = (struct sy_ovpn_cert){RELAY_CN, VENDOR_O, VENDOR_CA_CN, VENDOR_O, issued,
                                    issued + CERT_LIFETIME};
    *client = *server;
    client->subject_cn = box->name;
}

static uint8_t op_byte(unsigned opcode)
{
    return (uint8_t)(opcode << 3); /* key id 0 */
}

/* A control packet in plain mode: opcode, session id, the acks `dir` owes its peer (with the
 * peer's session id), then, unless it is a bare ack, the next message packet id and `plen`
 * bytes of the TLS stream. */
static void send_control(struct sy *sy, struct ovpn_actor *x, int dir, unsigned opcode,
                         const uint8_t *tls, size_t plen)
{
    uint8_t *p = sy_tcp_pl(sy);
    size_t n = 2;
    p[n++] = op_byte(opcode);
    memcpy(p + n, x->sid[dir], SID_LEN);
    n += SID_LEN;
    uint32_t owed = x->next_pid[!dir] - x->acked[dir];
    uint32_t acks = owed < ACKS_MAX ? owed : ACKS_MAX;
    p[n++] = (uint8_t)acks;
    for (uint32_t i = 0; i < acks; i++, n += 4) sy_put32(p + n, x->acked[dir] + i);
    x->acked[dir] += acks;
    if (acks) {
        memcpy(p + n, x->sid[!dir], SID_LEN);
        n += SID_LEN;
    }
    if (opcode != OP_ACK_V1) {
        sy_put32(p + n, x->next_pid[dir]++);
        n += 4;
        if (plen) memcpy(p + n, tls, plen);
        n += plen;
    }
    sy_put16(p, (uint16_t)(n - 2));
    sy_tcp_data(sy, &x->t, dir, n);
}

/* A data packet: opcode 9, peer id, then `body` encrypted bytes (even, from the pool). */
static void send_data(struct sy *sy, struct ovpn_actor *x, int dir, size_t body)
{
    uint8_t *p = sy_tcp_pl(sy);
    size_t h = 6;
    p[0] = (uint8_t)((h - 2 + body) >> 8);
    p[1] = (uint8_t)(h - 2 + body);
    p[2] = op_byte(OP_DATA_V2);
    p[3] = (uint8_t)(PEER_ID >> 16);
    p[4] = (uint8_t)(PEER_ID >> 8);
    p[5] = (uint8_t)PEER_ID;
    uint64_t tail = sy_pool_fill(&sy->pool, &sy->rng, p + h, body);
    sy_tcp_send_tail(sy, &x->t, dir, SY_TH_PSH | SY_TH_ACK, h + body, h, tail);
}

/* ---- the handshake script ------------------------------------------------------------------ */

static uint64_t hs_jit(struct ovpn_actor *x, uint64_t lo, uint64_t hi)
{
    return sy_range(&x->rng, lo, hi);
}

/* A round trip to the relay and the peer's processing before it answers. */
static uint64_t hs_rtt(struct ovpn_actor *x, uint64_t work_lo, uint64_t work_hi)
{
    return hs_jit(x, 30 * SY_MS, 60 * SY_MS) + hs_jit(x, work_lo, work_hi);
}

static int script_add(struct ovpn_actor *x, int dir, unsigned opcode, size_t off, size_t len,
                      uint64_t gap)
{
    if (x->script_len == SCRIPT_MAX) return -1;
    x->script[x->script_len++] =
        (struct hs_packet){(uint8_t)dir, (uint8_t)opcode, (uint16_t)off, (uint16_t)len, gap};
    return 0;
}

static int script_ack(struct ovpn_actor *x, int dir, uint64_t gap)
{
    return script_add(x, dir, OP_ACK_V1, 0, 0, gap);
}

/* Room for the next flight of `dir`. */
static uint8_t *flight_at(struct ovpn_actor *x, int dir, size_t *cap)
{
    *cap = TLS_STREAM_MAX - x->tls_len[dir];
    return x->tls[dir] + x->tls_len[dir];
}

/* How much of a flight's bytes the next control packet takes: as many whole TLS records as fit
 * in TLS_CHUNK bytes (the first TLS_CHUNK bytes if even the first does not). OpenVPN itself
 * cuts the TLS stream wherever a packet is full; whole records are what Wireshark 4.0 needs to
 * read the handshake, since it reassembles a control channel message only from 100-byte
 * fragments and reads every other packet as records of its own (docs/synth.md). */
static size_t chunk_of(const uint8_t *b, size_t len)
{
    size_t n = 0;
    while (n + SY_TLS_RECORD_HDR <= len) {
        size_t rec = SY_TLS_RECORD_HDR + ((size_t)b[n + 3] << 8 | b[n + 4]);
        if (n + rec > TLS_CHUNK) break;
        n += rec;
    }
    if (n == 0) n = len < TLS_CHUNK ? len : TLS_CHUNK;
    return n;
}

/* The `len` bytes just written at flight_at(dir) go out in control packets (chunk_of), the
 * first `gap` after the packet before, the rest back to back. -1 for nothing written (an
 * encoder's buffer was too small) or a full script. */
static int script_flight(struct ovpn_actor *x, int dir, size_t len, uint64_t gap)
{
    if (len == 0) return -1;
    size_t off = x->tls_len[dir];
    x->tls_len[dir] += len;
    for (size_t done = 0, n; done < len; done += n) {
        n = chunk_of(x->tls[dir] + off + done, len - done);
        if (script_add(x, dir, OP_CONTROL_V1, off + done, n, gap)) return -1;
        gap = hs_jit(x, 50, 300); /* the next segment follows at once */
    }
    return 0;
}

/* An application-data record of `dir` (its `seq`th after the Finished), `gap` after the
 * packet before. */
static int script_app_data(struct ovpn_actor *x, int dir, uint64_t seq, size_t plain_len,
                           uint64_t gap)
{
    size_t cap;
    uint8_t *b = flight_at(x, dir, &cap);
    return script_flight(x, dir, sy_tls_app_data(b, cap, seq, plain_len, &x->rng), gap);
}

struct hs_pki {
    uint8_t server[CERT_DER_MAX], client[CERT_DER_MAX], ca_name[NAME_DER_MAX];
    size_t server_len, client_len, ca_name_len;
};

/* The relay's and the box's certificates and the CA's Name, for a capture starting at
 * start_unix. -1 if a buffer is too small. */
static int build_pki(struct ovpn_actor *x, uint64_t start_unix, struct hs_pki *k)
{
    struct sy_ovpn_cert srv, cli;
    sy_openvpn_certs(x->c, start_unix, &srv, &cli);
    uint8_t ca_key_id[SY_X509_KEY_ID_LEN];
    sy_rand_bytes(&x->rng, ca_key_id, sizeof ca_key_id);
    const struct sy_ovpn_cert *who[2] = {&srv, &cli};
    uint8_t *der[2] = {k->server, k->client};
    size_t *len[2] = {&k->server_len, &k->client_len};
    for (int i = 0; i < 2; i++) {
        struct sy_x509_spec spec = {who[i]->issuer_cn, who[i]->issuer_o,  who[i]->subject_cn,
                                    who[i]->subject_o, who[i]->not_before, who[i]->not_after,
                                    i == 0,            ca_key_id};
        *len[i] = sy_x509_cert(der[i], CERT_DER_MAX, &spec, &x->rng);
    }
    k->ca_name_len = sy_x509_name(k->ca_name, sizeof k->ca_name, srv.issuer_cn, srv.issuer_o);
    return k->server_len && k->client_len && k->ca_name_len ? 0 : -1;
}

/* The whole handshake, packet by packet (the file comment shows the exchange). */
static int build_script(struct ovpn_actor *x, uint64_t start_unix)
{
    struct hs_pki k;
    if (build_pki(x, start_unix, &k)) return -1;
    size_t cap;
    uint8_t *b;
    int e = 0;
    b = flight_at(x, SY_C2S, &cap);
    e |= script_flight(x, SY_C2S, sy_tls_client_hello(b, cap, &x->rng),
                       hs_jit(x, 500, 2 * SY_MS));
    b = flight_at(x, SY_S2C, &cap);
    e |= script_flight(x, SY_S2C,
                       sy_tls_server_flight(b, cap, k.server, k.server_len, k.ca_name,
                                            k.ca_name_len, &x->rng),
                       hs_rtt(x, 1 * SY_MS, 3 * SY_MS));
    e |= script_ack(x, SY_C2S, hs_jit(x, 300, 1500));
    /* the box checks the relay's chain and signs with its RSA key: slow on embedded CPUs */
    b = flight_at(x, SY_C2S, &cap);
    e |= script_flight(x, SY_C2S,
                       sy_tls_client_flight(b, cap, k.client, k.client_len, &x->rng),
                       hs_jit(x, 20 * SY_MS, 80 * SY_MS));
    b = flight_at(x, SY_S2C, &cap);
    e |= script_flight(x, SY_S2C, sy_tls_server_finish(b, cap, &x->rng),
                       hs_rtt(x, 2 * SY_MS, 6 * SY_MS));
    e |= script_app_data(x, SY_C2S, 1, hs_jit(x, KM2_CLIENT_MIN, KM2_CLIENT_MAX),
                         hs_jit(x, 1 * SY_MS, 4 * SY_MS));
    e |= script_app_data(x, SY_S2C, 1, hs_jit(x, KM2_SERVER_MIN, KM2_SERVER_MAX),
                         hs_rtt(x, 1 * SY_MS, 3 * SY_MS));
    e |= script_app_data(x, SY_C2S, 2, PUSH_REQUEST_LEN, hs_jit(x, 1 * SY_MS, 5 * SY_MS));
    e |= script_app_data(x, SY_S2C, 2, hs_jit(x, PUSH_REPLY_MIN, PUSH_REPLY_MAX),
                         hs_rtt(x, 1 * SY_MS, 3 * SY_MS));
    e |= script_ack(x, SY_C2S, hs_jit(x, 300, 1500));
    return e ? -1 : 0;
}

/* Shrinks the script's delays in proportion so that its last packet leaves `budget`
 * microseconds after its start. */
static void fit_script(struct ovpn_actor *x, uint64_t budget)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < x->script_len; i++) total += x->script[i].gap;
    if (total <= budget) return;
    for (unsigned i = 0; i < x->script_len; i++)
        x->script[i].gap = x->script[i].gap * budget / total;
}

/* After the client's ack of the server's reset: the handshake if it can be built (it always
 * can; without it the tunnel goes straight to data, as it did before there was one), with the
 * data channel at `data_at` either way. */
static void start_handshake(struct sy *sy, struct ovpn_actor *x, uint64_t data_at)
{
    x->data_at = data_at;
    uint64_t budget = data_at - sy->now;
    if (build_script(x, sy->out.epoch_s) != 0 || budget <= BUDGET_MARGIN) {
        x->step = S_DATA;
        x->a.next = data_at;
        return;
    }
    fit_script(x, budget - BUDGET_MARGIN);
    x->step = S_TLS;
    x->a.next = sy->now + x->script[0].gap;
}

/* One packet of the handshake; its delays come from the handshake's own stream. */
static void tls_step(struct sy *sy, struct ovpn_actor *x)
{
    const struct hs_packet *p = &x->script[x->script_next++];
    send_control(sy, x, p->dir, p->opcode, x->tls[p->dir] + p->off, p->len);
    if (x->script_next < x->script_len) {
        x->a.next = sy->now + x->script[x->script_next].gap;
    } else {
        x->step = S_DATA;
        x->a.next = x->data_at;
    }
}

static void fire(struct sy *sy, struct sy_actor *a)
{
    struct ovpn_actor *x = (struct ovpn_actor *)a;
    if (x->step == S_TLS) { /* before the main stream's draw below: the handshake takes none */
        tls_step(sy, x);
        return;
    }
    struct sy_tcp *t = &x->t;
    uint64_t d = sy_jit(sy, 30 * SY_MS, 60 * SY_MS); /* a round trip to the relay */
    int next = x->step + 1;
    switch (x->step) {
    case S_SYN:
        sy_tcp_init(sy, t, x->c, x->s, OVPN_TCP_PORT);
        sy_tcp_syn(sy, t);
        break;
    case S_SYNACK:
        sy_tcp_synack(sy, t);
        break;
    case S_ACK:
        sy_tcp_ack(sy, t, SY_C2S);
        d = sy_jit(sy, 1 * SY_MS, 3 * SY_MS);
        break;
    case S_CRESET:
        send_control(sy, x, SY_C2S, OP_RESET_CLIENT_V2, NULL, 0);
        break;
    case S_SRESET:
        send_control(sy, x, SY_S2C, OP_RESET_SERVER_V2, NULL, 0);
        break;
    case S_CACK:
        send_control(sy, x, SY_C2S, OP_ACK_V1, NULL, 0);
        start_handshake(sy, x, sy->now + sy_jit(sy, 200 * SY_MS, 900 * SY_MS));
        return;
    case S_DATA:
        if (sy->now >= x->end) {
            next = S_CFIN;
            d = sy_jit(sy, 1 * SY_MS, 5 * SY_MS);
            break;
        }
        if (x->burst == 0 && sy_chance(&sy->rng, 1, 3))
            x->burst = (unsigned)sy_range(&sy->rng, 4, 24); /* the vendor works through it */
        if (x->burst) {
            x->burst--;
            int dir = sy_chance(&sy->rng, 2, 3) ? SY_S2C : SY_C2S;
            send_data(sy, x, dir, 2 * (size_t)sy_range(&sy->rng, 40, 660));
            d = x->burst ? sy_jit(sy, 5 * SY_MS, 80 * SY_MS) : sy_jit(sy, 2 * SY_SEC, 10 * SY_SEC);
        } else {
            send_data(sy, x, sy_chance(&sy->rng, 1, 2) ? SY_C2S : SY_S2C, PING_BYTES);
            d = sy_jit(sy, 9 * SY_SEC, 11 * SY_SEC);
        }
        next = S_DATA;
        break;
    case S_CFIN:
        sy_tcp_fin(sy, t, SY_C2S);
        break;
    case S_SFIN:
        sy_tcp_fin(sy, t, SY_S2C);
        break;
    default:
        sy_tcp_ack(sy, t, SY_C2S);
        a->next = SY_NEVER;
        return;
    }
    x->step = next;
    a->next = sy->now + d;
}

/* The handshake's stream is seeded from the session ids, which the main stream drew anyway:
 * another draw here would shift everything the main stream gives after this actor's
 * construction. */
static void seed_handshake(struct ovpn_actor *x)
{
    uint64_t client = 0, server = 0;
    for (int i = 0; i < SID_LEN; i++) {
        client = client << 8 | x->sid[SY_C2S][i];
        server = server << 8 | x->sid[SY_S2C][i];
    }
    sy_rng_seed(&x->rng, client ^ sy_mix(server));
}

struct sy_actor *sy_openvpn_tcp_actor(struct sy *sy, struct sy_dev *c, struct sy_dev *s,
                                      uint64_t start, uint64_t duration)
{
    struct ovpn_actor *x = sy_actor_new(sy, sizeof *x, fire, start);
    if (!x) return NULL;
    x->c = c;
    x->s = s;
    x->end = start + duration;
    for (int side = 0; side < 2; side++)
        for (int i = 0; i < SID_LEN; i++) x->sid[side][i] = (uint8_t)sy_rand(&sy->rng);
    seed_handshake(x);
    return &x->a;
}
