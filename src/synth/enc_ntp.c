/* NTPv4 encoder (RFC 5905 section 7.3): 48-byte header, no extension fields or MAC.
 *   0 LI(2) VN(3) Mode(3)  1 stratum  2 poll  3 precision  4 root delay  8 root dispersion
 *  12 reference id  16 reference ts  24 origin ts  32 receive ts  40 transmit ts
 * Timestamps are 32.32 fixed point seconds since 1900. */
#include <string.h>

#include "synth/enc.h"
#include "synth/frame.h"

#define NTP_UNIX_OFFSET 2208988800ull /* seconds from 1900 to 1970 */

static void put_ts(uint8_t *p, uint64_t unix_us)
{
    uint64_t sec = unix_us / 1000000 + NTP_UNIX_OFFSET;
    uint64_t frac = ((unix_us % 1000000) << 32) / 1000000;
    sy_put32(p, (uint32_t)sec);
    sy_put32(p + 4, (uint32_t)frac);
}

size_t sy_ntp_request(uint8_t *b, uint64_t tx_us)
{
    memset(b, 0, 48);
    b[0] = 0x23; /* LI 0, version 4, mode 3 (client) */
    b[2] = 6;    /* poll 2^6 s */
    b[3] = 0xe9; /* precision -23 */
    put_ts(b + 40, tx_us);
    return 48;
}

size_t sy_ntp_reply(uint8_t *b, uint64_t orig_us, uint64_t rx_us, uint64_t tx_us,
                    uint32_t refid)
{
    memset(b, 0, 48);
    b[0] = 0x24; /* LI 0, version 4, mode 4 (server) */
    b[1] = 3;    /* stratum 3: a domain controller synced to an upstream server */
    b[2] = 6;
    b[3] = 0xe8;
    sy_put32(b + 4, 0x00000a00);  /* root delay ~39 ms */
    sy_put32(b + 8, 0x00001200);  /* root dispersion ~70 ms */
    sy_put32(b + 12, refid);
    put_ts(b + 16, rx_us - 17 * 1000000ull); /* last synced 17 s ago */
    put_ts(b + 24, orig_us);
    put_ts(b + 32, rx_us);
    put_ts(b + 40, tx_us);
    return 48;
}
