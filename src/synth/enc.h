/* Application-protocol encoders for the synthetic capture. Each writes one message into a
 * caller buffer (a frame's payload area, SY_MTU - 40 bytes at least) and returns its length.
 * One file per protocol: enc_modbus.c, enc_dhcp.c, enc_dns.c, enc_ntp.c, enc_ssh.c, enc_s7.c,
 * enc_dnp3.c, enc_tls.c (Telnet is plain text and option bytes, written by act_telnet.c). */
#ifndef QW_SYNTH_ENC_H
#define QW_SYNTH_ENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synth/rng.h"

/* ---- Modbus/TCP (Modbus Application Protocol v1.1b3; Modbus Messaging on TCP/IP v1.0b) ---- */
#define SY_MB_PORT 502
#define SY_MB_FC_READ_COILS 1
#define SY_MB_FC_READ_HOLDING 3
#define SY_MB_FC_WRITE_SINGLE_REG 6
#define SY_MB_FC_WRITE_MULTI_REGS 16
#define SY_MB_FC_MEI 43
#define SY_MB_MEI_DEVID 14
#define SY_MB_MAX_OBJS 7

size_t sy_mb_read_req(uint8_t *b, uint16_t tid, uint8_t unit, uint8_t fc, uint16_t addr,
                      uint16_t qty);
size_t sy_mb_regs_rsp(uint8_t *b, uint16_t tid, uint8_t unit, uint8_t fc, const uint16_t *v,
                      uint16_t qty);
size_t sy_mb_bits_rsp(uint8_t *b, uint16_t tid, uint8_t unit, uint8_t fc, const uint8_t *bits,
                      uint16_t qty);
/* Write Single Register: the response echoes the request. */
size_t sy_mb_write1(uint8_t *b, uint16_t tid, uint8_t unit, uint16_t addr, uint16_t val);
size_t sy_mb_writen_req(uint8_t *b, uint16_t tid, uint8_t unit, uint16_t addr, const uint16_t *v,
                        uint16_t qty);
size_t sy_mb_writen_rsp(uint8_t *b, uint16_t tid, uint8_t unit, uint16_t addr, uint16_t qty);
/* Read Device Identification: code 1 basic, 2 regular; objs[i] is object id i. */
size_t sy_mb_devid_req(uint8_t *b, uint16_t tid, uint8_t unit, uint8_t code, uint8_t first_obj);
size_t sy_mb_devid_rsp(uint8_t *b, uint16_t tid, uint8_t unit, uint8_t code,
                       const char *const *objs, unsigned nobj);
size_t sy_mb_exception(uint8_t *b, uint16_t tid, uint8_t unit, uint8_t fc, uint8_t code);

/* ---- DHCPv4 (RFC 2131, options RFC 2132) ---- */
#define SY_DHCP_DISCOVER 1
#define SY_DHCP_OFFER 2
#define SY_DHCP_REQUEST 3
#define SY_DHCP_ACK 5

struct sy_dhcp_msg {
    uint8_t type; /* DHCP message type (option 53); decides op and which options go in */
    uint8_t hops;
    uint32_t xid;
    uint16_t secs;
    uint32_t ciaddr, yiaddr, giaddr;
    const uint8_t *chaddr;
    /* client side */
    uint32_t requested_ip; /* option 50, 0 = absent */
    const char *hostname;  /* option 12 */
    const char *vendor_class; /* option 60 */
    /* both */
    uint32_t server_id; /* option 54, 0 = absent */
    /* server side */
    uint32_t lease_s, mask, router, dns;
    const char *domain;
};

size_t sy_dhcp_encode(uint8_t *b, const struct sy_dhcp_msg *m);

/* ---- DNS (RFC 1035) ---- */
#define SY_DNS_A 1

size_t sy_dns_query(uint8_t *b, uint16_t id, const char *name, uint16_t qtype);
/* addr 0 answers NXDOMAIN. */
size_t sy_dns_response(uint8_t *b, uint16_t id, const char *name, uint16_t qtype, uint32_t addr,
                       uint32_t ttl);

/* ---- NTPv4 (RFC 5905) ---- */
#define SY_NTP_PORT 123
/* Client request (mode 3) with transmit time tx_us (Unix microseconds). */
size_t sy_ntp_request(uint8_t *b, uint64_t tx_us);
/* Server reply (mode 4): origin = client's transmit, receive and transmit times of the server. */
size_t sy_ntp_reply(uint8_t *b, uint64_t orig_us, uint64_t rx_us, uint64_t tx_us,
                    uint32_t refid);

/* ---- SSH transport (RFC 4253, RFC 8731 curve25519, RFC 4344 AES-CTR, encrypt-then-MAC) ---- */
size_t sy_ssh_kexinit(uint8_t *b, struct sy_rng *r, bool server);
size_t sy_ssh_ecdh_init(uint8_t *b, struct sy_rng *r);
size_t sy_ssh_ecdh_reply(uint8_t *b, struct sy_rng *r);
size_t sy_ssh_newkeys(uint8_t *b, struct sy_rng *r);
/* Header of an encrypt-then-MAC packet carrying `blocks` 16-byte cipher blocks: the 4-byte
 * clear length. The caller appends 16 * blocks ciphertext + SY_SSH_MAC_LEN random bytes. */
#define SY_SSH_MAC_LEN 32 /* hmac-sha2-256 */
size_t sy_ssh_etm_len(uint8_t *b, unsigned blocks);

/* ---- ISO-on-TCP (RFC 1006 TPKT, ISO 8073 COTP class 0) and S7comm ---- */
#define SY_S7_PORT 102
#define SY_S7_OFF 7 /* TPKT (4) + COTP DT (3) in front of every S7 PDU */
#define SY_S7_PDU_REQ 480 /* PDU size the client asks for in setup communication */
#define SY_S7_PDU_1200 240 /* ... and the S7-1200 grants */

/* COTP connection request / confirm with TPDU size 1024 and the two TSAPs. */
size_t sy_cotp_cr(uint8_t *b, uint16_t src_ref, uint16_t calling, uint16_t called);
size_t sy_cotp_cc(uint8_t *b, uint16_t dst_ref, uint16_t src_ref, uint16_t calling,
                  uint16_t called);
/* Each S7 builder returns the whole TPKT length. */
size_t sy_s7_setup(uint8_t *b, bool ack, uint16_t ref, uint16_t pdu_len);
size_t sy_s7_szl_req(uint8_t *b, uint16_t ref, uint16_t id, uint16_t index);
size_t sy_s7_szl11_rsp(uint8_t *b, uint16_t ref, uint8_t seq, const char *order, unsigned hw,
                       unsigned fw_major, unsigned fw_minor, unsigned fw_patch);
size_t sy_s7_szl1c_rsp(uint8_t *b, uint16_t ref, uint8_t seq, const uint16_t *idx,
                       const char *const *text, unsigned n);
size_t sy_s7_read_req(uint8_t *b, uint16_t ref, uint16_t db, uint32_t start, uint16_t nbytes);
size_t sy_s7_read_rsp(uint8_t *b, uint16_t ref, const uint8_t *data, uint16_t nbytes);
/* PLC STOP (function 0x29, PI service "P_PROGRAM") job or its ack-data. */
size_t sy_s7_plc_stop(uint8_t *b, bool ack, uint16_t ref);

/* ---- DNP3 over TCP (IEEE 1815-2012) ---- */
#define SY_DNP3_PORT 20000
#define SY_DNP3_APP_MAX 249 /* one link frame: 250 octets of user data with the transport octet */
#define SY_DNP3_FC_CONFIRM 0
#define SY_DNP3_FC_READ 1
#define SY_DNP3_FC_WRITE 2
#define SY_DNP3_FC_COLD_RESTART 13
#define SY_DNP3_FC_RESPONSE 0x81
#define SY_DNP3_IIN_DEVICE_RESTART 0x8000 /* IIN1.7, as (IIN1 << 8 | IIN2) */
#define SY_DNP3_IIN_CLASS2 0x0400         /* IIN1.2 */
#define SY_DNP3_FLAG_ONLINE 0x01
#define SY_DNP3_FLAG_STATE 0x80 /* binary inputs */

uint16_t sy_dnp3_crc(const uint8_t *p, size_t n);
/* Link frame (unconfirmed user data, PRM set, DIR set from the master) holding one transport
 * segment (FIR and FIN, sequence tseq) with application fragment app[0..n). Returns the frame
 * length (at most 292). */
size_t sy_dnp3_frame(uint8_t *b, bool from_master, uint16_t dst, uint16_t src, uint8_t tseq,
                     const uint8_t *app, size_t n);
/* Application fragments; each returns its length. */
size_t sy_dnp3_read_classes(uint8_t *a, uint8_t seq, bool class0); /* class 1/2/3 (+0) */
size_t sy_dnp3_cold_restart(uint8_t *a, uint8_t seq);
size_t sy_dnp3_confirm(uint8_t *a, uint8_t seq);
size_t sy_dnp3_clear_restart(uint8_t *a, uint8_t seq); /* write g80v1 index 7 = 0 */
size_t sy_dnp3_response(uint8_t *a, uint8_t seq, bool con, uint16_t iin);
size_t sy_dnp3_g1v2(uint8_t *p, const uint8_t *flags, unsigned n);  /* binary inputs, 0..n-1 */
size_t sy_dnp3_g30v2(uint8_t *p, const int16_t *v, unsigned n);     /* 16-bit analogs, flags */
size_t sy_dnp3_g32v2(uint8_t *p, const uint8_t *idx, const int16_t *v, unsigned n); /* events */
size_t sy_dnp3_g52v2(uint8_t *p, uint16_t ms); /* time delay fine */

/* ---- TLS 1.2 (RFC 5246) with ECDHE (RFC 8422, x25519) and X.509 v3 certificates (RFC 5280) ----
 * Unlike the encoders above these take the buffer's capacity: certificates and flights are
 * built into the caller's arrays, and each function returns 0, having written nothing beyond
 * `cap`, when they do not fit. Key material, signatures and ciphertext are random bytes from
 * the rng: the structure is real, the cryptography is not. */
#define SY_TLS_RECORD_HDR 5 /* type, version, 16-bit length */
#define SY_TLS_SUITE 0xc030 /* TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, what the server picks */
#define SY_TLS_SUITE_NAME "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
#define SY_X509_KEY_ID_LEN 20 /* subject/authority key identifiers: a SHA-1's size (RFC 5280) */

struct sy_x509_spec {
    const char *issuer_cn, *issuer_o, *subject_cn, *subject_o; /* UTF8String values */
    uint64_t not_before, not_after; /* seconds since 1970 (UTCTime before 2050, else
                                     * GeneralizedTime) */
    bool server; /* extended key usage serverAuth (and keyEncipherment), else clientAuth */
    const uint8_t *issuer_key_id; /* SY_X509_KEY_ID_LEN bytes: the authority key identifier */
};

/* An X.509 v3 certificate (DER): random 16-byte serial, sha256WithRSAEncryption, issuer and
 * subject Names (O, CN), validity, an RSA-2048 public key (random odd modulus with its top bit
 * set, exponent 65537), extensions basicConstraints (not a CA), keyUsage, extKeyUsage and the
 * key identifiers, and a random 256-byte signature. */
size_t sy_x509_cert(uint8_t *b, size_t cap, const struct sy_x509_spec *s, struct sy_rng *r);
/* A Name (DER) of O and CN, as a CertificateRequest lists its acceptable CAs. */
size_t sy_x509_name(uint8_t *b, size_t cap, const char *cn, const char *o);

/* The flights of a full TLS 1.2 handshake with client authentication, each one or more whole
 * records (one handshake message per record): */
/* ClientHello (no SNI, no session id; ECDHE and DHE suites with AES-GCM, ChaCha20 and AES-CBC;
 * renegotiation_info, ec_point_formats, supported_groups, encrypt_then_mac,
 * extended_master_secret, signature_algorithms) */
size_t sy_tls_client_hello(uint8_t *b, size_t cap, struct sy_rng *r);
/* ServerHello (SY_TLS_SUITE), Certificate (one certificate), ServerKeyExchange (x25519, an
 * RSA-PSS signature), CertificateRequest (naming the DER Name ca_name), ServerHelloDone */
size_t sy_tls_server_flight(uint8_t *b, size_t cap, const uint8_t *cert, size_t cert_len,
                            const uint8_t *ca_name, size_t ca_name_len, struct sy_rng *r);
/* Certificate, ClientKeyExchange, CertificateVerify, ChangeCipherSpec, Finished (encrypted) */
size_t sy_tls_client_flight(uint8_t *b, size_t cap, const uint8_t *cert, size_t cert_len,
                            struct sy_rng *r);
/* ChangeCipherSpec, Finished (encrypted) */
size_t sy_tls_server_finish(uint8_t *b, size_t cap, struct sy_rng *r);
/* One application-data record of `plain_len` bytes, AES-256-GCM protected: its explicit nonce
 * is the record's sequence number `seq` (the Finished is 0), then random ciphertext and tag. */
size_t sy_tls_app_data(uint8_t *b, size_t cap, uint64_t seq, size_t plain_len,
                       struct sy_rng *r);

#endif
