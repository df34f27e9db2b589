/* The table of every application parser. Adding a protocol = one file in src/proto/ exporting
 * its descriptor, plus one line here. Order matters only as a tie-break after port hints. */
#include <string.h>

#include "proto/proto.h"

extern const struct qw_proto qw_proto_modbus;

const struct qw_proto *const qw_protocols[] = {
    &qw_proto_modbus,
};
const size_t qw_protocol_count = sizeof qw_protocols / sizeof qw_protocols[0];

const struct qw_proto *qw_proto_by_name(const char *name)
{
    for (size_t i = 0; i < qw_protocol_count; i++)
        if (strcmp(qw_protocols[i]->name, name) == 0) return qw_protocols[i];
    return NULL;
}
