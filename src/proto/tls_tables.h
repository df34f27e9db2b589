/* TLS protocol facts: names of versions, handshake messages, alerts and cipher suites.
 *
 * Sources: the IANA "Transport Layer Security (TLS) Parameters" registry (cipher suites,
 * handshake types, alerts), RFC 8446 s.4 and s.6 (TLS 1.3), RFC 5246 s.7 (TLS 1.2),
 * RFC 6101 (SSL 3.0), the SSL 2.0 draft (draft-hickman-netscape-ssl-00, Appendix A). */
#ifndef QW_PROTO_TLS_TABLES_H
#define QW_PROTO_TLS_TABLES_H

#include <stdint.h>

/* "SSLv2", "SSLv3", "TLS 1.0" .. "TLS 1.3", "TLS 1.3 draft", or NULL for an unknown value. */
const char *tls_version_name(uint16_t v);
/* Handshake message type (RFC 8446 s.4, IANA), e.g. "client_hello"; NULL when unassigned. */
const char *tls_handshake_name(uint8_t type);
/* SSL 2.0 message type, e.g. "sslv2_client_hello"; NULL when unassigned. */
const char *tls_sslv2_message_name(uint8_t type);
/* Alert description (RFC 8446 s.6, IANA), e.g. "handshake_failure"; NULL when unassigned. */
const char *tls_alert_name(uint8_t desc);
/* Cipher suite name as registered by IANA, e.g. "TLS_AES_128_GCM_SHA256"; NULL when not in the
 * table (which holds the suites seen in practice, not the whole registry). */
const char *tls_cipher_name(uint16_t suite);

#endif
