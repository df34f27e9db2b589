/* MAC address vendor lookup from the IEEE registries that Debian's ieee-data package installs
 * (/usr/share/ieee-data): MA-L (24-bit prefixes, oui.csv), MA-M (28-bit, mam.csv), MA-S and IAB
 * (36-bit, oui36.csv and iab.csv). The longest registered prefix wins, so a device with an MA-S
 * block inside a large company's MA-L range gets its own vendor.
 *
 * Loaded once per process (about 46,000 entries, a few milliseconds); lookups are binary
 * searches and allocate nothing. Locally administered and group (multicast) addresses name no
 * vendor: a randomised MAC must not be attributed to a manufacturer. */
#ifndef QW_ANALYSIS_OUI_H
#define QW_ANALYSIS_OUI_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct qw_oui_entry {
    uint64_t prefix;   /* the prefix bits, left-aligned in the 48-bit address */
    uint32_t name_off; /* into the name arena */
};

struct qw_oui_db {
    struct qw_oui_entry *by_len[3]; /* 36-, 28- and 24-bit blocks, each sorted by prefix */
    size_t count[3];
    char *names;
    size_t names_len, names_cap;
};

/* Load the registries from `dir`. Missing files are skipped (the MA-L file is required); false
 * with a message in err when nothing usable was read. */
bool qw_oui_load(struct qw_oui_db *db, const char *dir, char *err, size_t errlen);
void qw_oui_free(struct qw_oui_db *db);

/* The registered organisation for `mac`, or NULL (unknown, locally administered, multicast). */
const char *qw_oui_lookup(const struct qw_oui_db *db, const uint8_t mac[6]);

/* Locally administered (U/L bit set, IEEE 802 s.8.2): randomised or software-assigned. */
static inline bool qw_mac_is_local(const uint8_t mac[6])
{
    return (mac[0] & 0x02) != 0;
}

/* The virtual MAC of a first-hop redundancy group, which moves from router to router as they
 * take over the gateway address: VRRP 00-00-5E-00-01-{VRID} (IPv4) and 00-00-5E-00-02-{VRID}
 * (IPv6) (RFC 5798 s.7.3), Cisco HSRP version 1 00-00-0C-07-AC-{group} and version 2
 * 00-00-0C-9F-F{group}. It names a role, never one device. */
static inline bool qw_mac_is_virtual_router(const uint8_t m[6])
{
    if (m[0] != 0 || m[1] != 0) return false;
    if (m[2] == 0x5e && m[3] == 0x00) return m[4] == 0x01 || m[4] == 0x02;
    if (m[2] == 0x0c && m[3] == 0x07) return m[4] == 0xac;
    return m[2] == 0x0c && m[3] == 0x9f && (m[4] & 0xf0) == 0xf0;
}

/* The process-wide registry from QW_OUI_DIR, loaded on first use (safe from any thread: a
 * caller waits for a load under way); NULL when unavailable. */
const struct qw_oui_db *qw_oui_default(void);

/* Load the process-wide registry on a thread of its own, so that it is ready by the time the
 * inventory is built: a run's last steps are on one thread, and this takes a few milliseconds
 * there. False when no thread could be started (the first qw_oui_default() then loads it).
 * The caller joins the thread. */
bool qw_oui_preload_start(pthread_t *thread);

#endif
