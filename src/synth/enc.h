/* Application-protocol encoders for the synthetic capture. Each writes one message into a
 * caller buffer (a frame's payload area, SY_MTU - 40 bytes at least) and returns its length.
 * One file per protocol: enc_modbus.c, enc_dhcp.c, enc_dns.c, enc_ntp.c, enc_ssh.c. */
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

#endif
