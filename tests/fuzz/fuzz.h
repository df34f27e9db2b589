/* Fuzz-harness convention.
 *
 * Each tests/fuzz/fuzz_*.c defines LLVMFuzzerTestOneInput and the two constants below. Built with
 * -fsanitize=fuzzer (QW_FUZZ=ON) it is a libFuzzer target. In every build it is also linked with
 * replay_main.c, which replays real inputs from the corpus (and deterministic mutations of them)
 * through the harness as a regression test under the sanitizers. A parser's harness includes
 * fuzz_parser.h, the driver they share (state, recording sink, stream/datagram/frame delivery,
 * common invariants), and keeps only what is particular to its protocol. */
#ifndef QW_TESTS_FUZZ_H
#define QW_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

enum qw_fuzz_feed {
    QW_FUZZ_FEED_FRAME,   /* whole link-layer frames (Ethernet) */
    QW_FUZZ_FEED_PAYLOAD, /* TCP/UDP payloads of the corpus packets */
};

/* How replay_main feeds this harness. */
extern const enum qw_fuzz_feed qw_fuzz_feed;
/* Corpus subdirectory of pcaps/ to replay (e.g. "modbus"), or NULL for all of it. */
extern const char *const qw_fuzz_subdir;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
