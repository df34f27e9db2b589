/* Fuzz harness for the SNMP parser (src/proto/snmp.c); see tests/fuzz/fuzz.h.
 *
 * The input goes through fz_datagram_cuts (tests/fuzz/fuzz_parser.h): probed, parsed whole as
 * one datagram each way (a corpus payload is the real message it is), then cut into datagrams
 * as its first byte says, then flow_end; invariants on every emitted record are checked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/proto.h"

extern const struct qw_proto qw_proto_snmp;
#define FZ_PROTO qw_proto_snmp

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "snmp";

static const char *const snmp_attrs[] = {"description", "sys_object_id", "vendor", "hostname",
                                         "location", "contact", NULL};

static void check(void)
{
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!fz_txn_ok(t)) abort();
        if (t->function > 8 && t->function != 256) abort();
        if ((t->ops & ~(uint32_t)(QW_OP_READ | QW_OP_WRITE | QW_OP_CONFIG)) != 0) abort();
    }
    if (!fz_identities_in(snmp_attrs) || !fz_anomalies_prefixed("snmp.")) abort();
    /* The cleartext-credentials detail names a community only when it is a default. */
    for (size_t i = 0; i < rec.nanomalies; i++)
        if (strcmp(rec.anomalies[i].name, "snmp.cleartext_credentials") == 0 &&
            strchr(rec.anomalies[i].detail, '"') &&
            !strstr(rec.anomalies[i].detail, "default community \""))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_begin(1);
    fz_datagram_cuts(data, size);
    check();
    return 0;
}
