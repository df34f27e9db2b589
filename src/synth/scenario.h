/* The terminal's traffic plan: which actors exist and when they start, including the scripted
 * events (docs/synth.md, "Scripted events"). */
#ifndef QW_SYNTH_SCENARIO_H
#define QW_SYNTH_SCENARIO_H

#include "synth/emit.h"

/* Upper bound on the number of actors the scenario creates for a model. */
size_t sy_scenario_capacity(const struct sy_model *m);

/* Creates and schedules every actor. Returns 0, or -1 when memory runs out. */
int sy_scenario_build(struct sy *sy);

#endif
