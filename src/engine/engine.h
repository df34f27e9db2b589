/* The per-packet pipeline: decode -> flow table -> TCP reassembly -> application parsers ->
 * event log and analysis. One engine is single-threaded; all time is packet time. */
#ifndef QW_ENGINE_ENGINE_H
#define QW_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/counters.h"

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

/* Limits on what the engine holds, each with its unit; 0 takes the default. What a cap refuses
 * or pushes out is counted (struct qw_engine_limits). Worst-case memory is roughly
 *   flow_cap * sizeof(struct qw_flow) + app_memcap + reasm_memcap + frag_cap * QW_FRAG_SLOT_BYTES
 *   + the analysis tables (asset_cap, edge_cap: bench/README.md "Memory"). */
struct qw_engine_config {
    uint32_t flow_cap;                 /* flows at once; QW_FLOW_CAP_DEFAULT (1000000) */
    struct qw_flow_timeouts timeouts;  /* zeroed: defaults */
    size_t reasm_memcap;               /* bytes of TCP data held across flows (out-of-order
                                        * segments + unparsed PDU tails);
                                        * QW_REASM_MEMCAP_DEFAULT (128 MiB) */
    size_t reasm_flow_cap;             /* out-of-order bytes queued per flow, half per
                                        * direction; QW_REASM_FLOW_CAP_DEFAULT (512 KiB) */
    uint32_t frag_cap;                 /* IP datagrams in reassembly at once, per capture
                                        * source (qw_engine_setup_decoder); QW_FRAG_SLOTS (64) */
    size_t app_memcap;                 /* bytes of parser state across flows;
                                        * QW_APP_MEMCAP_DEFAULT (1 GiB) */
    uint32_t asset_cap;                /* hosts (IP per VLAN) per store batch;
                                        * QW_OBS_MAX_HOSTS (262144) */
    uint32_t edge_cap;                 /* communication edges per store batch;
                                        * QW_OBS_MAX_EDGES (1048576) */
    struct qw_eventlog *events;        /* NULL: no event log */
    const struct qw_site *site;        /* NULL: no site file (detections that need it are off) */
    struct qw_syslog *syslog;          /* NULL: findings are not sent to syslog */
    bool verify_checksums;             /* TCP/UDP checksums verified by the engine's decoders
                                        * (qw_engine_setup_decoder); off: not counted */
};

#define QW_APP_MEMCAP_DEFAULT ((size_t)1 << 30)
#define QW_APP_STATE_KEEP ((size_t)4 << 20) /* parser states and lent buffers kept for reuse */

struct qw_engine_stats {
    uint64_t packets, bytes;
    uint64_t first_ns, last_ns;
    uint64_t no_flow;        /* IP packets that make no flow (held fragments, cut headers) */
    uint64_t records;        /* transactions emitted by parsers */
    uint64_t anomalies;
    uint64_t frag_evicted;   /* IP datagrams dropped unfinished at frag_cap, all sources */
    uint64_t frag_refused;   /* IP fragments dropped for want of memory */
    uint64_t app_refused;    /* flows left without a parser at app_memcap */
    uint64_t loans_refused;  /* buffers not lent at app_memcap (qw_loan_take) */
    uint64_t stream_refused; /* unparsed tails dropped at reasm_memcap (set when finished: the
                                count lives in the engine's thread until then) */
    size_t app_mem, app_mem_peak; /* bytes of parser state held */
};

/* What each cap refused or pushed out since the engine started (qw_engine_limits). */
struct qw_engine_limits {
    uint64_t flows_evicted;      /* flow_cap: the least recently active flow ended early */
    uint64_t reasm_refused;      /* reasm_memcap: out-of-order segments not queued (a gap) */
    uint64_t reasm_flow_refused; /* reasm_flow_cap or QW_REASM_DIR_MAX_SEGS: the same, per flow */
    uint64_t stream_refused;     /* reasm_memcap: unparsed PDU tails dropped (a gap) */
    uint64_t frag_evicted;       /* frag_cap: unfinished datagrams dropped */
    uint64_t app_refused;        /* app_memcap: flows left without a parser */
    uint64_t loans_refused;      /* app_memcap: messages spanning packets not put together */
    uint64_t assets_refused;     /* asset_cap: host, identity and binding updates refused */
    uint64_t edges_refused;      /* edge_cap: edge and edge-operation updates refused */
    uint64_t detections_refused; /* the detector's fixed tables (detect.h QW_DETECT_MAX_*):
                                  * findings, sessions, address uses, users, probes refused */
};
QW_COUNTERS_ONLY(struct qw_engine_limits, 10); /* summed over engines (qw_counters_add) */

/* Parsers by transport and by hinted port, for probing (engine.c). */
struct qw_probe_index {
    uint8_t tcp[QW_PROTOCOLS_MAX], udp[QW_PROTOCOLS_MAX], ip[QW_PROTOCOLS_MAX]; /* registry
                                                                       indexes, in order */
    uint8_t ntcp, nudp, nip;
    uint64_t ipproto_served[4]; /* bit n: some parser (QW_TRANSPORT_IP) lists protocol n */
    uint16_t nslots;
    uint16_t port_slot[65536]; /* 0: no parser hints the port; else an index in slot_mask */
    uint64_t slot_mask[QW_PROTOCOLS_MAX * QW_PROTO_MAX_PORTS + 1]; /* parsers hinting a port */
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
    uint64_t next_settle_ns; /* packet time of the next qw_obs_settle */
    const struct qw_packet *cur_pkt; /* the packet being handled, for parse contexts */
    const struct qw_flow *cur_flow;  /* ...and the flow it belongs to */
    void **frame_state; /* per registry index: link-layer parsers' engine-wide state */
    struct qw_pending spare_pending; /* tail of a flow without out-of-line TCP state (engine.c) */
    struct qw_probe_index *probe_ix; /* which parsers to probe first (engine.c) */
    struct app_free **app_free;      /* per registry index, and one more for buffers lent to
                                        parsers: memory kept for reuse (engine.c) */
    size_t app_free_bytes;
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
/* Give a decoder the engine's settings (fragment cap, TCP/UDP checksum verification) before
 * it decodes the packets handed to this engine: one decoder per capture source. */
void qw_engine_setup_decoder(const struct qw_engine *e, struct qw_decoder *d);
/* The calling thread runs this engine from now on: its per-thread TCP memory accounting
 * (qw_stream_mem) takes the engine's cap. One engine per thread (shards.c). */
void qw_engine_attach_thread(struct qw_engine *e);
/* End every flow (end of capture or of a live run): those idle past their timeout at the
 * engine's clock as timed out, then the rest, oldest first. */
void qw_engine_finish(struct qw_engine *e);
/* The refusal and eviction counts of every cap. */
void qw_engine_limits(const struct qw_engine *e, struct qw_engine_limits *out);

#endif
