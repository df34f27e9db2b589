/* The application-parser contract.
 *
 * Every protocol lives in one file under src/proto/ and exports one descriptor, defined at the
 * start of a line as `const struct qw_proto qw_proto_<name> = {`. The build finds these lines and
 * generates the registry (registry.c includes the generated list), so adding a protocol is adding
 * its file; nothing else is edited. A parser describes what was said on the wire
 * and nothing more: it knows no zones, owners or policy (DESIGN.md, "Parse, then decide").
 *
 * Data flow for one flow:
 *   - The engine picks candidate parsers (port hints first, then every other parser for the
 *     transport) and calls `probe` on the first bytes of the flow, per direction, until one
 *     answers QW_PROBE_MATCH (or QW_PROBE_MATCH_FROM_SERVER, below). Ports only order the
 *     candidates.
 *   - After a match, TCP: `parse` is called with the ordered byte stream of each direction and
 *     returns how many bytes it consumed; the engine keeps the unconsumed tail (bounded by
 *     QW_STREAM_PENDING_MAX) and hands it back, followed by the next bytes, on the next call. A
 *     PDU split across segments is therefore seen whole, and several PDUs in one segment are
 *     parsed in one call. UDP: `datagram` is called with each datagram's payload, whole.
 *   - Other IP protocols (QW_TRANSPORT_IP: VRRP...) are handled like UDP: a flow per address
 *     pair and protocol number, each packet's IP payload to `datagram`. Only the parsers that
 *     list the packet's protocol number in `ipprotos` probe it.
 *   - Link-layer protocols (QW_TRANSPORT_ETHER: PROFINET DCP, GOOSE, LLDP...) have no flow and
 *     no probe: the engine calls `frame` for every frame whose ethertype (after VLAN tags, or the
 *     SNAP protocol id after LLC/SNAP) is in `ethertypes`, with the bytes after the ethertype.
 *     Their `state_size` bytes are one state for the whole engine, not one per flow. The frame's
 *     addresses are available through qw_pctx_packet() (emit.h).
 *   - `gap` tells the parser that bytes of direction `dir` were lost (a missing TCP segment):
 *     it drops partial state for that direction and resynchronises on the next PDU boundary.
 *   - `flow_end` flushes what is outstanding (unanswered requests) before the state is freed.
 *
 * Parsers emit observations through src/engine/emit.h. They must not allocate per packet: their
 * per-flow state is `state_size` bytes, zeroed by the engine, and queues inside it are bounded. */
#ifndef QW_PROTO_PROTO_H
#define QW_PROTO_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct qw_packet;
struct qw_pctx; /* opaque parse context: the flow, the packet time, the emitter (emit.h) */

enum qw_dir {
    QW_DIR_TO_SERVER = 0, /* from the client (the side that opened the flow) */
    QW_DIR_TO_CLIENT = 1,
};

enum qw_probe_result {
    QW_PROBE_NO = 0,        /* these bytes are not this protocol */
    QW_PROBE_NEED_MORE = 1, /* too few bytes to tell */
    QW_PROBE_MATCH = 2,
    /* These bytes are this protocol, and their sender is the flow's server: on a UDP flow whose
     * first datagram is an answer from a port both ends chose freely (a TFTP transfer starts
     * with the server's first block or acknowledgement, from its new port), the engine turns
     * the flow round so that the edge and the service are the server's. */
    QW_PROBE_MATCH_FROM_SERVER = 3,
};

enum qw_transport {
    QW_TRANSPORT_TCP = 1u << 0,
    QW_TRANSPORT_UDP = 1u << 1,
    QW_TRANSPORT_ETHER = 1u << 2, /* raw link-layer frames, dispatched by ethertype */
    QW_TRANSPORT_IP = 1u << 3,    /* IP payloads of another protocol number (not TCP or UDP) */
};

#define QW_PROTO_MAX_PORTS 8
/* Parsers the registry may hold: the engine's probe index keeps a set of them in 64 bits. */
#define QW_PROTOCOLS_MAX 64
/* A parser's name is 1..QW_PROTO_NAME_MAX of [a-z0-9_]: the event log copies it into JSON as
 * it is (test_engine.c checks every registered name). */
#define QW_PROTO_NAME_MAX 48
#define QW_PROTO_MAX_ETHERTYPES 4
#define QW_PROTO_MAX_IPPROTOS 4

struct qw_proto {
    const char *name;      /* app_proto value and the event-log object name, e.g. "modbus";
                            * [a-z0-9_], at most QW_PROTO_NAME_MAX */
    unsigned transports;   /* qw_transport bits */
    uint16_t ports[QW_PROTO_MAX_PORTS]; /* server-port hints, 0-terminated */
    uint16_t ethertypes[QW_PROTO_MAX_ETHERTYPES]; /* QW_TRANSPORT_ETHER only, 0-terminated */
    uint8_t ipprotos[QW_PROTO_MAX_IPPROTOS];      /* QW_TRANSPORT_IP only, 0-terminated */
    /* Look at the first bytes seen in direction `dir` (TCP, UDP). Must be cheap and side-effect
     * free. It decides alone: ports only order the candidates, so it must check enough of the
     * header (versions, lengths, known codes) not to claim another protocol's bytes. */
    enum qw_probe_result (*probe)(const uint8_t *data, size_t len, enum qw_dir dir);
    size_t state_size; /* per-flow state (per engine for ETHER), zeroed before first use */
    /* TCP: parse bytes of one direction; return bytes consumed (0..len). */
    size_t (*parse)(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                    size_t len);
    /* UDP: one datagram's payload; other IP protocols: the IP payload. */
    void (*datagram)(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                     size_t len);
    /* ETHER: one frame's bytes after the ethertype (or SNAP protocol id). */
    void (*frame)(struct qw_pctx *ctx, void *state, uint16_t ethertype, const uint8_t *data,
                  size_t len);
    void (*gap)(struct qw_pctx *ctx, void *state, enum qw_dir dir); /* optional */
    void (*flow_end)(struct qw_pctx *ctx, void *state);             /* optional */
};

/* The registry (registry.c): every parser, sorted by descriptor name. */
extern const struct qw_proto *const qw_protocols[];
extern const size_t qw_protocol_count;
const struct qw_proto *qw_proto_by_name(const char *name);

#endif
