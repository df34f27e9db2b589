/* Ground truth of a synthetic capture (truth.c): written by `quaywatch synth --truth FILE`
 * after the run, from the model and the scripted events the run recorded. */
#ifndef QW_SYNTH_TRUTH_H
#define QW_SYNTH_TRUTH_H

#include <stddef.h>

#include "synth/emit.h"
#include "synth/synth.h"

/* Writes the truth of the finished run `sy` generated with `o` to `path`. 0, or -1 with a
 * one-line reason in err (no file is left). */
int sy_truth_write(const struct sy *sy, const struct qw_synth_opts *o, const char *path,
                   char *err, size_t errlen);

#endif
