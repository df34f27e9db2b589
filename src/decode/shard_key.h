/* Which worker a captured frame belongs to (`--workers N`), read from the raw frame before any
 * decoding: a hash of the IP address pair the decoder gives the packet (the innermost one when it
 * descends into an IP-in-IP, IPv6-in-IPv4 or GRE tunnel), the same in both directions.
 *
 * The pair, not the 5-tuple, because every packet that one engine must see together shares it:
 * both directions of a flow, the fragments of one datagram (only the first carries ports), the
 * reply a router mirrors on another VLAN (VLAN tags are left out), and every flow between two
 * hosts, so the findings of one (asset, peer) pair are raised by one engine only. Frames that
 * carry no IP (ARP, LLDP, CDP, PROFINET, GOOSE...) go to worker 0, whose link-layer parsers keep
 * engine-wide state. A tunnel counts by its inner pair, because one inner flow may be mirrored
 * on several legs with different outer headers (a 6in4 tunnel seen at both ends); a fragmented
 * outer datagram counts by the outer pair, which all its fragments share. Every read is
 * bounds-checked: the frame is attacker-controlled. */
#ifndef QW_DECODE_SHARD_KEY_H
#define QW_DECODE_SHARD_KEY_H

#include <stdbool.h>
#include <stdint.h>

/* A 64-bit symmetric hash of the frame's flow address pair (above): *has_ip false (and 0
 * returned) when the frame carries no IPv4 or IPv6 header the decoder would reach. */
uint64_t qw_shard_hash(int linktype, const uint8_t *frame, uint32_t caplen, bool *has_ip);

/* The worker in [0, nworkers) for a frame: worker 0 takes frames without IP and the slice
 * [0, share0) of the 32-bit hash space, the others equal slices of the rest (shards.c gives
 * worker 0 a smaller slice when the capture thread, which runs it, also hands out every packet
 * of a live capture, and an equal one when the engine threads share the reading of a file). */
unsigned qw_shard_of(int linktype, const uint8_t *frame, uint32_t caplen, unsigned nworkers,
                     uint32_t share0);

#endif
