/* Fuzz harness for the TLS parser (src/proto/tls.c) and its certificate reader
 * (src/proto/tls_x509.c); see tests/fuzz/fuzz.h.
 *
 * The input is handed to the X.509 reader as one DER certificate. Then it goes through
 * fz_stream (tests/fuzz/fuzz_parser.h): the whole input is the byte stream (so a corpus payload
 * is parsed as the real traffic it is), cut and sent each way as its first byte says, then
 * flow_end; the probe runs on it too. Every transaction's JSON is checked to be one well-formed
 * object. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/emit.h"
#include "proto/proto.h"
#include "proto/tls_x509.h"

extern const struct qw_proto qw_proto_tls;
#define FZ_PROTO qw_proto_tls

#include "fuzz_parser.h"

const enum qw_fuzz_feed qw_fuzz_feed = QW_FUZZ_FEED_PAYLOAD;
const char *const qw_fuzz_subdir = "tls";

static const char *const tls_attrs[] = {
    "tls_sni", "ja3", "ja4", "ja3s", "tls_cert_subject", "tls_cert_issuer", "tls_cert_not_after",
    "tls_self_signed", NULL};

static void check_str(const struct tls_x509_str *s)
{
    if (s->len >= sizeof s->s || s->s[s->len] != '\0') abort();
}

/* Invariants every emitted record keeps. */
static void check(void)
{
    for (size_t i = 0; i < rec.ntxns; i++) {
        const struct qw_txn *t = &rec.txns[i].txn;
        if (!fz_txn_ok(t)) abort();
        if (t->function != 21 && t->function != 22) abort(); /* alert, handshake */
        if (t->ops & ~(uint32_t)QW_OP_AUTH) abort();         /* a client certificate at most */
        if (!fz_json_whole(&rec.txns[i])) abort();
    }
    /* Identity values are bytes, NULs included: only the names are checked. */
    if (!fz_anomalies_prefixed("tls.") || !fz_identities_in(tls_attrs)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tls_x509 x;
    enum tls_x509_status xs = tls_x509_parse(data, size, &x);
    if (xs != TLS_X509_OK && xs != TLS_X509_TRUNCATED && xs != TLS_X509_MALFORMED) abort();
    check_str(&x.subject_cn);
    check_str(&x.subject_o);
    check_str(&x.issuer_cn);
    check_str(&x.issuer_o);
    if (x.serial_len > sizeof x.serial) abort();
    if (x.has_validity && (strlen(x.not_after_str) != 20 || strlen(x.not_before_str) != 20))
        abort();

    fz_begin(1700000000000000000ull);
    fz_stream(data, size);
    check();
    return 0;
}
