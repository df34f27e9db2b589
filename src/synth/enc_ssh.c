/* SSH transport-layer encoder (RFC 4253). Binary packet (section 6):
 *   uint32 packet_length, byte padding_length, payload, random padding (>= 4 bytes)
 * with 4 + packet_length a multiple of the cipher block size (8 before keys are in use).
 *
 * Negotiated: curve25519-sha256 key exchange (RFC 8731), an "ssh-rsa" host key and signature
 * (RFC 4253 6.6; a legacy jump host), aes256-ctr (RFC 4344) with hmac-sha2-256-etm@openssh.com,
 * whose packet length stays in clear, so random ciphertext is still well framed:
 *   uint32 length (clear), 16 * k bytes of ciphertext, 32-byte MAC.
 * Why these: Wireshark tries to decrypt chacha20-poly1305 and AES-GCM sessions even without
 * keys and reports every packet as a bad MAC, and it decodes only RSA and DSA signature blobs
 * completely (others draw a "decoded N bytes" warning). */
#include <string.h>

#include "synth/enc.h"
#include "synth/frame.h"

#define MSG_KEXINIT 20
#define MSG_NEWKEYS 21
#define MSG_KEX_ECDH_INIT 30
#define MSG_KEX_ECDH_REPLY 31

static size_t put_string(uint8_t *p, const void *s, size_t len)
{
    sy_put32(p, (uint32_t)len);
    memcpy(p + 4, s, len);
    return 4 + len;
}

static size_t put_cstr(uint8_t *p, const char *s)
{
    return put_string(p, s, strlen(s));
}

/* Wraps the payload already at b + 5 (len bytes) into a binary packet with block size 8. */
static size_t finish(uint8_t *b, size_t len, struct sy_rng *r)
{
    size_t pad = 8 - (5 + len) % 8;
    if (pad < 4) pad += 8;
    sy_rand_bytes(r, b + 5 + len, pad);
    sy_put32(b, (uint32_t)(1 + len + pad));
    b[4] = (uint8_t)pad;
    return 5 + len + pad;
}

size_t sy_ssh_kexinit(uint8_t *b, struct sy_rng *r, bool server)
{
    static const char *const client_lists[10] = {
        ("curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,"
         "diffie-hellman-group14-sha256,ext-info-c"),
        "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256,ssh-rsa",
        "aes256-ctr,aes128-ctr",
        "aes256-ctr,aes128-ctr",
        "hmac-sha2-256-etm@openssh.com,hmac-sha2-256",
        "hmac-sha2-256-etm@openssh.com,hmac-sha2-256",
        "none",
        "none",
        "",
        "",
    };
    static const char *const server_lists[10] = {
        "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256",
        "ssh-rsa",
        "aes256-ctr,aes128-ctr",
        "aes256-ctr,aes128-ctr",
        "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com",
        "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com",
        "none,zlib@openssh.com",
        "none,zlib@openssh.com",
        "",
        "",
    };
    const char *const *lists = server ? server_lists : client_lists;
    uint8_t *p = b + 5;
    size_t n = 0;
    p[n++] = MSG_KEXINIT;
    sy_rand_bytes(r, p + n, 16); /* cookie */
    n += 16;
    for (int i = 0; i < 10; i++) n += put_cstr(p + n, lists[i]);
    p[n++] = 0; /* first_kex_packet_follows */
    sy_put32(p + n, 0); /* reserved */
    n += 4;
    return finish(b, n, r);
}

size_t sy_ssh_ecdh_init(uint8_t *b, struct sy_rng *r)
{
    uint8_t *p = b + 5;
    uint8_t q[32];
    sy_rand_bytes(r, q, sizeof q);
    p[0] = MSG_KEX_ECDH_INIT;
    size_t n = 1 + put_string(p + 1, q, sizeof q);
    return finish(b, n, r);
}

size_t sy_ssh_ecdh_reply(uint8_t *b, struct sy_rng *r)
{
    uint8_t *p = b + 5;
    uint8_t n_mod[257], q[32], sig[256];
    /* 2048-bit modulus as an mpint: a zero byte keeps the number positive (RFC 4251 5). */
    n_mod[0] = 0;
    sy_rand_bytes(r, n_mod + 1, 256);
    n_mod[1] |= 0x80;
    n_mod[256] |= 1; /* odd, like every RSA modulus */
    sy_rand_bytes(r, q, sizeof q);
    sy_rand_bytes(r, sig, sizeof sig);
    static const uint8_t e[3] = {0x01, 0x00, 0x01}; /* 65537 */
    size_t n = 0;
    p[n++] = MSG_KEX_ECDH_REPLY;
    /* K_S: string containing the host key blob: "ssh-rsa", mpint e, mpint n */
    sy_put32(p + n, (uint32_t)(4 + 7 + 4 + sizeof e + 4 + sizeof n_mod));
    n += 4;
    n += put_cstr(p + n, "ssh-rsa");
    n += put_string(p + n, e, sizeof e);
    n += put_string(p + n, n_mod, sizeof n_mod);
    n += put_string(p + n, q, sizeof q); /* Q_S */
    /* signature blob: "ssh-rsa", string signature (as long as the modulus) */
    sy_put32(p + n, (uint32_t)(4 + 7 + 4 + sizeof sig));
    n += 4;
    n += put_cstr(p + n, "ssh-rsa");
    n += put_string(p + n, sig, sizeof sig);
    return finish(b, n, r);
}

size_t sy_ssh_newkeys(uint8_t *b, struct sy_rng *r)
{
    b[5] = MSG_NEWKEYS;
    return finish(b, 1, r);
}

size_t sy_ssh_etm_len(uint8_t *b, unsigned blocks)
{
    sy_put32(b, 16u * blocks);
    return 4;
}
