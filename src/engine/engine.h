/* The per-packet pipeline: decode -> flow table -> TCP reassembly -> application parsers ->
 * event log and analysis. One engine is single-threaded; all time is packet time. */
#ifndef QW_ENGINE_ENGINE_H
#define QW_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "analysis/observe.h"
#include "detect/detect.h"
#include "decode/decode.h"
#include "flow/flow.h"
#include "flow/reasm.h"
#include "output/eventlog.h"

/* Bytes of a flow's first data kept while parsers answer "need more" (per direction). */
#define QW_PROBE_MAX_BYTES 2048u
/* Data chunks offered to probes before a flow is declared unknown. */
#define QW_PROBE_MAX_TRIES 8u
/* Flows expired per packet at most: expiry runs in bounded steps on the packet path. */
#define QW_EXPIRE_STEP 64u

struct qw_engine_config {
    uint32_t flow_cap;                 /* 0: QW_FLOW_CAP_DEFAULT */
    struct qw_flow_timeouts timeouts;  /* zeroed: defaults */
    size_t reasm_memcap;               /* 0: QW_REASM_MEMCAP_DEFAULT */
    struct qw_eventlog *events;        /* NULL: no event log */
    const struct qw_site *site;        /* NULL: no site file (detections that need it are off) */
    struct qw_syslog *syslog;          /* NULL: findings are not sent to syslog */
};

struct qw_engine_stats {
    uint64_t packets, bytes;
    uint64_t first_ns, last_ns;
    uint64_t no_flow;        /* IP packets that make no flow (held fragments, cut headers) */
    uint64_t records;        /* transactions emitted by parsers */
    uint64_t anomalies;
};

struct qw_engine {
    struct qw_engine_config cfg;
    struct qw_flow_table flows;
    struct qw_reasm reasm;
    struct qw_observer obs;
    struct qw_detector detect;
    struct qw_engine_stats stats;
    struct qw_sipkey flow_id_key; /* fixed: flow ids must be the same on every run */
    uint64_t now_ns;
    const struct qw_packet *cur_pkt; /* the packet being handled, for parse contexts */
    const struct qw_flow *cur_flow;  /* ...and the flow it belongs to */
    void **frame_state; /* per registry index: link-layer parsers' engine-wide state */
};

bool qw_engine_init(struct qw_engine *e, const struct qw_engine_config *cfg);
void qw_engine_free(struct qw_engine *e);
/* One captured frame, decoded with `d` (one decoder per capture source: link types differ). */
void qw_engine_packet(struct qw_engine *e, struct qw_decoder *d, const uint8_t *frame,
                      uint32_t caplen, uint32_t wirelen, uint64_t ts_ns);
/* Move the engine's clock to `now_ns` if that is later: a worker's engine sees only its share
 * of the packets, so the capture thread tells it how far the capture has got (the newest packet
 * time so far), and flows expire at the same packet as with one engine. */
void qw_engine_clock(struct qw_engine *e, uint64_t now_ns);
/* End every flow (end of capture or of a live run): those idle past their timeout at the
 * engine's clock as timed out, then the rest, oldest first. */
void qw_engine_finish(struct qw_engine *e);

#endif
