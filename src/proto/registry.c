/* The table of every application parser. The build generates proto_list.h, one QW_PROTO(name)
 * line per descriptor found in the src/proto/ files, sorted by name (see CMakeLists.txt and proto.h).
 * Order matters only as a tie-break after port hints, and probes must not rely on it. */
#include <string.h>

#include "proto/proto.h"

#define QW_PROTO(n) extern const struct qw_proto qw_proto_##n;
#include "proto_list.h"
#undef QW_PROTO

#define QW_PROTO(n) &qw_proto_##n,
const struct qw_proto *const qw_protocols[] = {
#include "proto_list.h"
};
#undef QW_PROTO
const size_t qw_protocol_count = sizeof qw_protocols / sizeof qw_protocols[0];
_Static_assert(sizeof qw_protocols / sizeof qw_protocols[0] <= QW_PROTOCOLS_MAX,
               "more parsers than the engine's probe index holds (QW_PROTOCOLS_MAX)");

const struct qw_proto *qw_proto_by_name(const char *name)
{
    for (size_t i = 0; i < qw_protocol_count; i++)
        if (strcmp(qw_protocols[i]->name, name) == 0) return qw_protocols[i];
    return NULL;
}
