/* Multicast DNS (UDP 5353) and Link-Local Multicast Name Resolution (UDP 5355) parsers.
 *
 * Specifications:
 *   [6762] RFC 6762 Multicast DNS: s.5 queries (s.5.4 the QU bit in the question class),
 *          s.6 responses (a responder answers for the records it is authoritative for, i.e.
 *          its own), s.7.1 known answers in queries, s.8 probing and announcing, s.10.2 the
 *          cache-flush bit in the record class, s.18 header fields (ID 0 in multicast
 *          messages; opcode and rcode zero).
 *   [6763] RFC 6763 DNS-based service discovery: s.4 service instance names
 *          <Instance>.<_service>.<_tcp|_udp>.<Domain>, PTR from the service type to instances,
 *          s.5 SRV and TXT records of an instance, s.9 "_services._dns-sd._udp" enumeration.
 *   [4795] RFC 4795 LLMNR: s.2.1.1 header (QR, opcode 0, C, TC, T flags; QDCOUNT 1), s.2.4
 *          queries go to 224.0.0.252 / ff02::1:3, responses are unicast from the responder.
 * Both use the DNS message format, read by dns_wire.c and handled by the code shared with the
 * dns parser (dns.c): one transaction per message, queries and responses paired only when they
 * share a flow (a unicast query and its answer); multicast queries are written at once, and a
 * response sent to the group is written on its own.
 *
 * Identity: hosts announce their own names. In a response (announcements are responses), an
 * A/AAAA record whose address is the sender's own address names the sender: `hostname` = the
 * record's name. A reverse-mapping PTR for the sender's address gives `hostname` = its target.
 * Once a message proves that the sender speaks for itself that way, its service instances are
 * the sender's too: `mdns_service` = the instance name (e.g. "Front Door._rtsp._tcp.local")
 * from SRV records whose target is one of the sender's names and from PTR records of a service
 * type. An A record whose name is a service instance (open62541 announces those) is taken as a
 * service, not a hostname. Addresses other than the sender's (other interfaces of the same
 * host, or records a proxy answers for) are facts about third parties and are not emitted.
 * LLMNR responders answer only for their own names ([4795] s.2.3): an A/AAAA answer with the
 * sender's address gives `hostname`.
 *
 * Anomalies: `<mdns|llmnr>.malformed`, `.compression_loop`, `.request_queue_full`. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/dns_wire.h"
#include "proto/proto.h"

#define MDNS_PORT 5353  /* [6762] s.3 */
#define LLMNR_PORT 5355 /* [4795] s.2.4 */
/* Sender names remembered per message, to recognise its SRV targets. A host has one name per
 * protocol family, rarely more. */
#define MDNS_OWNED_MAX 8

/* Is one of the labels a service label ("_tcp", "_udp", "_ipp"...: [6763] s.7)? */
static bool mdns_is_service_name(const char *n, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (n[i] == '_' && (i == 0 || n[i - 1] == '.')) return true;
    return false;
}

/* A service type name "_service._tcp.<domain>" or "_service._udp.<domain>" whose PTR records
 * list instances ([6763] s.4.1); the enumeration name "_services._dns-sd._udp" is not one. */
static bool mdns_is_service_type(const char *n, size_t len)
{
    if (len < 1 || n[0] != '_') return false;
    const char *dot = memchr(n, '.', len);
    if (!dot) return false;
    size_t rest = len - (size_t)(dot - n) - 1;
    const char *r = dot + 1;
    if (rest < 5 || (memcmp(r, "_tcp.", 5) != 0 && memcmp(r, "_udp.", 5) != 0)) return false;
    static const char enumeration[] = "_services._dns-sd._udp.";
    return !(len >= sizeof enumeration - 1 && memcmp(n, enumeration, sizeof enumeration - 1) == 0);
}

struct mdns_owned {
    unsigned n;
    size_t len[MDNS_OWNED_MAX];
    char name[MDNS_OWNED_MAX][DNSW_NAME_TEXT_MAX];
};

static bool mdns_owned_has(const struct mdns_owned *o, const char *n, size_t len)
{
    for (unsigned i = 0; i < o->n; i++) {
        if (o->len[i] != len) continue;
        size_t k = 0;
        for (; k < len; k++) {
            char a = o->name[i][k], b = n[k];
            if (a >= 'A' && a <= 'Z') a = (char)(a + 32);
            if (b >= 'A' && b <= 'Z') b = (char)(b + 32);
            if (a != b) break;
        }
        if (k == len) return true;
    }
    return false;
}

static void mdns_identity_common(struct qw_pctx *ctx, struct dnsf_state *st, enum qw_dir dir,
                                 const struct dnsw_msg *m, bool services)
{
    const struct qw_addr *src = dnsw_pkt_src(ctx);
    if (!src || dnsw_addr_is_unspecified(src)) return;
    bool server = dir == QW_DIR_TO_CLIENT; /* the sender's end of the flow */
    struct mdns_owned owned;
    owned.n = 0;
    bool proven = false;
    char name[DNSW_NAME_TEXT_MAX];
    size_t nl;

    /* Names the message binds to the sender's own address. */
    for (unsigned i = 0; i < m->nrr; i++) {
        const struct dnsw_rr *rr = &m->rr[i];
        struct qw_addr a;
        size_t off = rr->name_off;
        if (rr->section == DNSW_SEC_AUTHORITY) continue;
        if (rr->type == DNSW_T_A || rr->type == DNSW_T_AAAA) {
            if (!dnsw_rr_addr(m, rr, &a) || !dnsw_addr_equal(&a, src)) continue;
            if (dnsw_name(m->b, m->len, &off, 0, name, &nl) != DNSW_OK || nl == 0) continue;
            proven = true;
            if (services && mdns_is_service_name(name, nl)) {
                dnsw_emit_identity_once(ctx, &st->memo, server, "mdns_service", name, nl);
                continue;
            }
            dnsw_emit_identity_once(ctx, &st->memo, server, "hostname", name, nl);
            if (owned.n < MDNS_OWNED_MAX && !mdns_owned_has(&owned, name, nl)) {
                memcpy(owned.name[owned.n], name, nl + 1);
                owned.len[owned.n++] = nl;
            }
        } else if (rr->type == DNSW_T_PTR && !rr->rdata_bad && services) {
            if (dnsw_name(m->b, m->len, &off, 0, name, &nl) != DNSW_OK) continue;
            if (!dnsw_reverse_addr(name, nl, &a) || !dnsw_addr_equal(&a, src)) continue;
            size_t t = rr->rdata_off;
            if (dnsw_name(m->b, m->len, &t, 0, name, &nl) != DNSW_OK || nl == 0) continue;
            proven = true;
            dnsw_emit_identity_once(ctx, &st->memo, server, "hostname", name, nl);
            if (owned.n < MDNS_OWNED_MAX && !mdns_owned_has(&owned, name, nl)) {
                memcpy(owned.name[owned.n], name, nl + 1);
                owned.len[owned.n++] = nl;
            }
        }
    }
    if (!services || !proven) return;

    /* The sender's service instances. */
    for (unsigned i = 0; i < m->nrr; i++) {
        const struct dnsw_rr *rr = &m->rr[i];
        if (rr->section == DNSW_SEC_AUTHORITY || rr->rdata_bad) continue;
        size_t off = rr->name_off;
        if (rr->type == DNSW_T_SRV) {
            char target[DNSW_NAME_TEXT_MAX];
            size_t tl = 0, t = (size_t)rr->rdata_off + 6;
            if (dnsw_name(m->b, m->len, &t, 0, target, &tl) != DNSW_OK) continue;
            if (!mdns_owned_has(&owned, target, tl)) continue;
            if (dnsw_name(m->b, m->len, &off, 0, name, &nl) != DNSW_OK) continue;
            dnsw_emit_identity_once(ctx, &st->memo, server, "mdns_service", name, nl);
        } else if (rr->type == DNSW_T_PTR) {
            if (dnsw_name(m->b, m->len, &off, 0, name, &nl) != DNSW_OK) continue;
            if (!mdns_is_service_type(name, nl)) continue;
            size_t t = rr->rdata_off;
            if (dnsw_name(m->b, m->len, &t, 0, name, &nl) != DNSW_OK || nl == 0) continue;
            dnsw_emit_identity_once(ctx, &st->memo, server, "mdns_service", name, nl);
        }
    }
}

static void mdns_identity(struct qw_pctx *ctx, struct dnsf_state *st, enum qw_dir dir,
                          const struct dnsw_msg *m)
{
    mdns_identity_common(ctx, st, dir, m, true);
}

static void llmnr_identity(struct qw_pctx *ctx, struct dnsf_state *st, enum qw_dir dir,
                           const struct dnsw_msg *m)
{
    if (DNSW_RCODE(m->h.flags) != 0) return;
    mdns_identity_common(ctx, st, dir, m, false);
}

/* ---- mDNS ---------------------------------------------------------------------------------- */

static const struct dnsf_proto mdns_family = {
    .kind = DNSF_MDNS,
    .style = DNSW_STYLE_MDNS,
    .anomaly_malformed = "mdns.malformed",
    .anomaly_loop = "mdns.compression_loop",
    .anomaly_queue_full = "mdns.request_queue_full",
    .identity = mdns_identity,
};

static enum qw_probe_result mdns_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir;
    return dnsf_probe_message(data, len, DNSF_MDNS);
}

static void mdns_datagram(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                          size_t len)
{
    dnsf_message(ctx, state, &mdns_family, dir, data, len);
}

static void mdns_flow_end(struct qw_pctx *ctx, void *state)
{
    dnsf_flush(ctx, state, &mdns_family);
}

const struct qw_proto qw_proto_mdns = {
    .name = "mdns",
    .transports = QW_TRANSPORT_UDP,
    .ports = {MDNS_PORT, 0},
    .probe = mdns_probe,
    .state_size = sizeof(struct dnsf_state),
    .datagram = mdns_datagram,
    .flow_end = mdns_flow_end,
};

/* ---- LLMNR --------------------------------------------------------------------------------- */

static const struct dnsf_proto llmnr_family = {
    .kind = DNSF_LLMNR,
    .style = DNSW_STYLE_LLMNR,
    .anomaly_malformed = "llmnr.malformed",
    .anomaly_loop = "llmnr.compression_loop",
    .anomaly_queue_full = "llmnr.request_queue_full",
    .identity = llmnr_identity,
};

static enum qw_probe_result llmnr_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir;
    return dnsf_probe_message(data, len, DNSF_LLMNR);
}

static void llmnr_datagram(struct qw_pctx *ctx, void *state, enum qw_dir dir,
                           const uint8_t *data, size_t len)
{
    dnsf_message(ctx, state, &llmnr_family, dir, data, len);
}

static void llmnr_flow_end(struct qw_pctx *ctx, void *state)
{
    dnsf_flush(ctx, state, &llmnr_family);
}

const struct qw_proto qw_proto_llmnr = {
    .name = "llmnr",
    .transports = QW_TRANSPORT_UDP,
    .ports = {LLMNR_PORT, 0},
    .probe = llmnr_probe,
    .state_size = sizeof(struct dnsf_state),
    .datagram = llmnr_datagram,
    .flow_end = llmnr_flow_end,
};
