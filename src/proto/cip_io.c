/* CIP class 0/1 implicit I/O over UDP (port 2222): cyclic produced/consumed data of the
 * connections a Forward Open set up (EtherNet/IP "implicit messaging").
 *
 * Specification: [CIP2] The CIP Networks Library, Volume 2: EtherNet/IP Adaptation of CIP
 * (ODVA, PUB00002), s.3-2.1 UDP port 2222 for class 0/1 data, s.2-6 Common Packet Format,
 * s.2-6.2.2 the sequenced address item, s.3-2.2 the connected data item and its sequence count.
 *
 * Each datagram is a bare Common Packet Format (no encapsulation header), little-endian:
 *
 *   offset size meaning
 *   ------ ---- --------------------------------------------------------------------------
 *        0    2 item count: 2
 *        2    2 item type 0x8002 (sequenced address)
 *        4    2 item length: 8
 *        6    4 connection id (the consumer's: O->T or T->O id from the Forward Open)
 *       10    4 encapsulation sequence number (increments per packet sent on the connection)
 *       14    2 item type 0x00B1 (connected data)
 *       16    2 item length n
 *       18    n data: class 1 starts with a 16-bit CIP sequence count, class 0 does not
 *
 * Cyclic data arrives every RPI (often every few milliseconds), so one event per packet would
 * flood the log: packets are aggregated per connection id, and one record per connection is
 * written when the flow ends, with packet and byte counts, the sequence range, sequence gaps
 * (packets the capture or the network lost), duplicates and reordering. No request/response
 * pairing exists on these connections; each record is written as a request-only transaction. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/proto.h"
#include "util/cursor.h"
#include "util/json.h"

#define IO_PORT 2222u             /* [CIP2] s.3-2.1 */
#define IO_ITEM_COUNT 2u
#define IO_ITEM_SEQ_ADDR 0x8002u
#define IO_SEQ_ADDR_LEN 8u
#define IO_ITEM_DATA 0x00B1u
#define IO_HDR_LEN 18u            /* everything before the data */
#define IO_FUNCTION IO_ITEM_DATA  /* the record's function code: the connected data item type */
/* Connections tracked per flow: a scanner and an adapter exchange one O->T and one T->O
 * connection per module, and a flow (one address/port pair) rarely carries more than a few.
 * Packets of further connection ids are counted in the flow's last record as untracked. */
#define IO_CONN_MAX 32
/* A jump forward larger than this is a restart of the connection (new Forward Open), not loss. */
#define IO_SEQ_JUMP_MAX 100000u

struct io_conn {
    bool used;
    uint8_t dir;            /* qw_dir of its packets */
    uint32_t conn_id;
    uint64_t packets, bytes;
    uint32_t first_seq, last_seq, max_seq;
    uint64_t missing;       /* packets skipped by forward sequence jumps */
    uint32_t gaps;          /* number of such jumps */
    uint32_t duplicates, reordered, restarts;
    uint16_t len_min, len_max;
    uint16_t cip_seq_last;
    uint64_t first_ns, last_ns;
};

struct io_state {
    struct io_conn conns[IO_CONN_MAX];
    uint64_t untracked;
    struct io_conn *emitting; /* the write_json argument */
};

/* Read a datagram's header; false when it is not a class 0/1 CPF. */
static bool io_header(const uint8_t *b, size_t n, uint32_t *conn, uint32_t *seq,
                      uint16_t *dlen)
{
    struct qw_cursor c = qw_cursor_make(b, n);
    uint16_t count = qw_cur_le16(&c);
    uint16_t t1 = qw_cur_le16(&c);
    uint16_t l1 = qw_cur_le16(&c);
    *conn = qw_cur_le32(&c);
    *seq = qw_cur_le32(&c);
    uint16_t t2 = qw_cur_le16(&c);
    *dlen = qw_cur_le16(&c);
    if (c.err) return false;
    return count == IO_ITEM_COUNT && t1 == IO_ITEM_SEQ_ADDR && l1 == IO_SEQ_ADDR_LEN &&
           t2 == IO_ITEM_DATA && (size_t)IO_HDR_LEN + *dlen == n;
}

/* Strict: the item count, both item types, the address item length and the data length must
 * all be exact, and the lengths must account for every byte of the datagram. */
static enum qw_probe_result io_probe(const uint8_t *data, size_t len, enum qw_dir dir)
{
    (void)dir;
    uint32_t conn, seq;
    uint16_t dlen;
    if (len < IO_HDR_LEN) return QW_PROBE_NO; /* a datagram is whole: nothing more will come */
    return io_header(data, len, &conn, &seq, &dlen) ? QW_PROBE_MATCH : QW_PROBE_NO;
}

static void io_write_json(struct qw_json *j, const void *arg)
{
    const struct io_conn *k = arg;
    char buf[16];
    qw_json_obj_begin(j, "request");
    qw_json_u64(j, "function", IO_FUNCTION);
    qw_json_str(j, "function_name", "connected_data");
    snprintf(buf, sizeof buf, "0x%08x", k->conn_id);
    qw_json_str(j, "connection_id", buf);
    qw_json_str(j, "direction", k->dir == QW_DIR_TO_SERVER ? "to_server" : "to_client");
    qw_json_u64(j, "packets", k->packets);
    qw_json_u64(j, "bytes", k->bytes);
    qw_json_u64(j, "first_sequence", k->first_seq);
    qw_json_u64(j, "last_sequence", k->last_seq);
    qw_json_u64(j, "sequence_gaps", k->gaps);
    qw_json_u64(j, "missing_packets", k->missing);
    qw_json_u64(j, "duplicates", k->duplicates);
    qw_json_u64(j, "reordered", k->reordered);
    if (k->restarts) qw_json_u64(j, "restarts", k->restarts);
    qw_json_u64(j, "data_length_min", k->len_min);
    qw_json_u64(j, "data_length_max", k->len_max);
    qw_json_u64(j, "duration_us", (k->last_ns - k->first_ns) / 1000u);
    if (k->packets > 1) {
        /* Mean interval between packets: the observed RPI. */
        qw_json_u64(j, "mean_interval_us", (k->last_ns - k->first_ns) / 1000u / (k->packets - 1));
    }
    qw_json_obj_end(j);
}

static struct io_conn *io_find(struct io_state *st, uint32_t conn, uint8_t dir)
{
    for (size_t i = 0; i < IO_CONN_MAX; i++)
        if (st->conns[i].used && st->conns[i].conn_id == conn && st->conns[i].dir == dir)
            return &st->conns[i];
    for (size_t i = 0; i < IO_CONN_MAX; i++)
        if (!st->conns[i].used) return &st->conns[i];
    return NULL;
}

static void io_datagram(struct qw_pctx *ctx, void *state, enum qw_dir dir, const uint8_t *data,
                        size_t len)
{
    struct io_state *st = state;
    uint32_t conn, seq;
    uint16_t dlen;
    if (!io_header(data, len, &conn, &seq, &dlen)) {
        qw_emit_anomaly(ctx, "cip_io.invalid_packet", NULL);
        return;
    }
    uint8_t d = (uint8_t)dir;
    struct io_conn *k = io_find(st, conn, d);
    if (!k) {
        st->untracked++;
        return;
    }
    uint64_t now = qw_pctx_time(ctx);
    if (!k->used) {
        memset(k, 0, sizeof *k);
        k->used = true;
        k->dir = d;
        k->conn_id = conn;
        k->first_seq = k->last_seq = k->max_seq = seq;
        k->len_min = k->len_max = dlen;
        k->first_ns = now;
    } else {
        /* Sequence numbers are 32-bit and wrap: compare by signed distance. */
        int64_t delta = (int32_t)(seq - k->max_seq);
        if (delta == 0) {
            k->duplicates++;
        } else if (delta < 0) {
            k->reordered++;
        } else if ((uint64_t)delta > IO_SEQ_JUMP_MAX) {
            k->restarts++;
            k->max_seq = seq;
        } else {
            if (delta > 1) {
                k->gaps++;
                k->missing += (uint64_t)delta - 1u;
            }
            k->max_seq = seq;
        }
        if (dlen < k->len_min) k->len_min = dlen;
        if (dlen > k->len_max) k->len_max = dlen;
    }
    k->last_seq = seq;
    k->packets++;
    k->bytes += dlen;
    k->last_ns = now;
}

static void io_flow_end(struct qw_pctx *ctx, void *state)
{
    struct io_state *st = state;
    if (st->untracked) qw_emit_anomaly(ctx, "cip_io.too_many_connections", NULL);
    for (size_t i = 0; i < IO_CONN_MAX; i++) {
        struct io_conn *k = &st->conns[i];
        if (!k->used) continue;
        struct qw_txn t = {0};
        t.has_request = true;
        t.function = IO_FUNCTION;
        t.function_name = "connected_data";
        t.request_ns = k->first_ns ? k->first_ns : 1;
        t.write_json = io_write_json;
        t.arg = k;
        qw_emit_txn(ctx, &t);
        k->used = false;
    }
}

const struct qw_proto qw_proto_cip_io = {
    .name = "cip_io",
    .transports = QW_TRANSPORT_UDP,
    .ports = {IO_PORT, 0},
    .probe = io_probe,
    .state_size = sizeof(struct io_state),
    .datagram = io_datagram,
    .flow_end = io_flow_end,
};
