/* Fuzz harness for the HTTP/1.x parser (src/proto/http.c); see tests/fuzz/fuzz.h.
 *
 * The input goes through fz_stream (tests/fuzz/fuzz_parser.h): the whole input is the byte
 * stream (so a corpus payload is parsed as the real traffic it is), cut and sent each way as its
 * first byte says, then flow_end; the probe runs on it too. Every transaction's JSON is checked
 * to be one well-formed object. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_http;
#define FZ_PROTO qw_proto_http

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "http";

static const char *const http_attrs[] = {"http_server", "user_agent", "http_title", "hostname",
                                         NULL};

/* Invariants every emitted record keeps. */
static void check(void)
{
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!fz_txn_ok(t) || t->function > 16) abort(); /* the method table */
        if (!t->has_request && t->function != 0) abort();
        if (t->ops & ~(uint32_t)QW_OP_AUTH) abort(); /* plain web: credentials at most */
        if (!fz_json_whole(&rec.txns[i])) abort();
        if (t->has_response && !strstr(rec.txns[i].json, "\"response\":{\"function\":")) abort();
    }
    /* Identity values are bytes, NULs included: only the names are checked. */
    if (!fz_anomalies_prefixed("http.") || !fz_identities_in(http_attrs)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1);
    fz_stream(data, size);
    check();
    return 0;
}
