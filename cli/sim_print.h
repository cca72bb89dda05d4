/* SPDX-License-Identifier: MIT */
/* agora sim's output: a result line and a histogram per round (text), or
 * one JSON object per round and a summary (--json); per-round figures in
 * a CSV file (--csv). */
#ifndef AGORA_CLI_SIM_PRINT_H
#define AGORA_CLI_SIM_PRINT_H

#include <stdbool.h>
#include <stdio.h>

#include "agora/sim.h"

struct sim_printer {
	bool json;
	bool hist;
	FILE *csv;
	const char *csv_path;
	unsigned rounds;
	unsigned rounds_short; /* rounds where someone did not answer */
	double seconds_sum;
};

/* Open the CSV file (if any) and write its header; false after saying
 * why. */
bool sim_print_open(struct sim_printer *p, const char *csv_path);
void sim_print_created(struct sim_printer *p, const agora_sim_opts *o,
                       double seconds);
void sim_print_round(struct sim_printer *p, const agora_sim_round *r);
void sim_print_summary(struct sim_printer *p, const agora_sim_opts *o,
                       double create_s, const agora_sim_memory *m);
/* Close the CSV file; false (said) if writing it failed. */
bool sim_print_close(struct sim_printer *p);

#endif
