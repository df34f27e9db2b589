/* `quaywatch site draft`: a starting site file from what the store has seen. */
#ifndef QW_SITE_DRAFT_H
#define QW_SITE_DRAFT_H

#include <stddef.h>
#include <stdio.h>

enum qw_draft_status {
    QW_DRAFT_OK = 0,
    QW_DRAFT_FAILED = 1,    /* out of memory, write error */
    QW_DRAFT_BAD_STORE = 3, /* the store cannot be opened or is not a quaywatch store */
};

/* Write a draft site file for the store at db_path to out. Zones come from VLANs and the /24
 * (IPv6: /64) subnets of the hosts seen; conduits from the edges seen between those zones, with
 * their protocols, ports and operation classes; one placeholder party. Every decision left to
 * a person is the placeholder TODO, which `site check` rejects until it is replaced. On
 * failure, a message in err. */
enum qw_draft_status qw_site_draft(const char *db_path, FILE *out, char *err, size_t errlen);

#endif
