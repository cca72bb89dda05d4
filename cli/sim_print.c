/* SPDX-License-Identifier: MIT */
/* agora sim's output (sim_print.h). Text: one result line per round, the
 * causes of missing answers, a 10-bin histogram; JSON: one object per
 * round, then {"summary":...}; CSV: one row per round. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "agora/buf.h"
#include "cli.h"
#include "sim_print.h"

#define HIST_WIDTH     40
#define FAILURES_SHOWN 5

bool
sim_print_open(struct sim_printer *p, const char *csv_path)
{
	if (csv_path == NULL) {
		return true;
	}
	p->csv = fopen(csv_path, "we");
	if (p->csv == NULL) {
		cli_error("sim: --csv %s: cannot write it", csv_path);
		return false;
	}
	p->csv_path = csv_path;
	fprintf(p->csv, "round,asked,answered,no_answer,timeout,lost,error,"
	                "no_number,missing,extra,average,winner,winner_value,"
	                "seconds,ask_s,answer_s,tally_s\n");
	return true;
}

void
sim_print_created(struct sim_printer *p, const agora_sim_opts *o,
                  double seconds)
{
	size_t where = o->nconnect > 0 ? o->nconnect : o->servers;

	if (p->json) {
		return;
	}
	fprintf(stderr, "agora sim: created %zu %s participants",
	        o->participants, o->kind == AGORA_SIM_LLM ? "LLM" : "random");
	if (where > 0) {
		fprintf(stderr, " on %zu agent server%s", where,
		        where == 1 ? "" : "s");
	}
	fprintf(stderr, " in %.2f s\n", seconds);
}

static void
print_text(const struct sim_printer *p, const agora_sim_round *r)
{
	size_t top = 0;

	printf("round %u: ", r->round);
	if (r->answered > 0) {
		printf("average %.3f over %zu of %zu; winner %s (%lld); ",
		       r->average, r->answered, r->asked, r->winner,
		       (long long)r->winner_value);
	} else {
		printf("no answers of %zu; ", r->asked);
	}
	if (r->no_answer == 0) {
		printf("all answered");
	} else {
		const char *sep = "";
		printf("%zu did not answer (", r->no_answer);
		for (int w = 0; w < AGORA_SIM_NWHY; w++) {
			if (r->failed[w] > 0) {
				printf("%s%s %zu", sep,
				       agora_sim_why_name((agora_sim_why)w),
				       r->failed[w]);
				sep = ", ";
			}
		}
		printf(")");
	}
	printf("; %.2f s\n", r->seconds);
	for (size_t i = 0; i < r->nfailures && i < FAILURES_SHOWN; i++) {
		fprintf(stderr, "agora sim: %s\n", r->failures[i]);
	}
	if (r->nfailures > FAILURES_SHOWN) {
		fprintf(stderr,
		        "agora sim: ... and more (--json lists up to %d per "
		        "cause)\n",
		        AGORA_SIM_FAILURES_KEPT);
	}
	if (!p->hist || r->answered == 0) {
		return;
	}
	for (int b = 0; b < AGORA_SIM_HIST_BINS; b++) {
		top = r->hist[b] > top ? r->hist[b] : top;
	}
	for (int b = 0; b < AGORA_SIM_HIST_BINS; b++) {
		/* Bin b holds the values v with v * 10 / (max + 1) == b. */
		size_t bar = top > 0 ? r->hist[b] * HIST_WIDTH / top : 0;
		char bars[HIST_WIDTH + 1];
		memset(bars, '#', bar);
		bars[bar] = '\0';
		printf("  bin %d  %-*s %zu\n", b, HIST_WIDTH, bars, r->hist[b]);
	}
}

static void
print_json(const agora_sim_round *r)
{
	agora_buf b;

	agora_buf_init(&b, 0); /* grows: failures add up to 100 lines a cause */
	(void)agora_buf_addf(&b,
	                     "{\"round\":%u,\"asked\":%zu,\"answered\":%zu,"
	                     "\"no_answer\":%zu,\"failed\":{",
	                     r->round, r->asked, r->answered, r->no_answer);
	for (int w = 0; w < AGORA_SIM_NWHY; w++) {
		(void)agora_buf_addf(&b, "%s\"%s\":%zu", w > 0 ? "," : "",
		                     agora_sim_why_name((agora_sim_why)w),
		                     r->failed[w]);
	}
	(void)agora_buf_addf(&b,
	                     "},\"extra\":%zu,\"stray\":%zu,\"recovered\":%zu,",
	                     r->extra, r->stray, r->recovered);
	if (r->answered > 0) {
		(void)agora_buf_addf(&b,
		                     "\"average\":%.17g,\"sum\":%.17g,"
		                     "\"winner\":\"%s\",\"winner_value\":%lld,",
		                     r->average, r->sum, r->winner,
		                     (long long)r->winner_value);
	} else {
		(void)agora_buf_adds(&b,
		                     "\"average\":null,\"sum\":0,"
		                     "\"winner\":null,\"winner_value\":null,");
	}
	(void)agora_buf_addf(&b,
	                     "\"seconds\":%.6f,\"phases\":{\"ask\":%.6f,"
	                     "\"answer\":%.6f,\"tally\":%.6f},\"hist\":[",
	                     r->seconds, r->ask_s, r->answer_s, r->tally_s);
	for (int k = 0; k < AGORA_SIM_HIST_BINS; k++) {
		(void)agora_buf_addf(&b, "%s%zu", k > 0 ? "," : "", r->hist[k]);
	}
	(void)agora_buf_adds(&b, "],\"moderators\":[");
	for (size_t i = 0; i < r->ngroups; i++) {
		const agora_sim_group *g = &r->groups[i];
		(void)agora_buf_adds(&b, i > 0 ? ",{\"session\":"
		                               : "{\"session\":");
		(void)agora_buf_json_str(&b, g->session, strlen(g->session));
		if (g->node[0] != '\0') {
			(void)agora_buf_adds(&b, ",\"node\":");
			(void)agora_buf_json_str(&b, g->node, strlen(g->node));
		}
		(void)agora_buf_addf(&b,
		                     ",\"asked\":%zu,\"answered\":%zu,"
		                     "\"sum\":%.17g}",
		                     g->asked, g->answered, g->sum);
	}
	(void)agora_buf_adds(&b, "],\"failures\":[");
	for (size_t i = 0; i < r->nfailures; i++) {
		if (i > 0) {
			(void)agora_buf_adds(&b, ",");
		}
		(void)agora_buf_json_str(&b, r->failures[i],
		                         strlen(r->failures[i]));
	}
	(void)agora_buf_adds(&b, "]}\n");
	fwrite(b.data, 1, b.len, stdout);
	fflush(stdout);
	agora_buf_fini(&b);
}

void
sim_print_round(struct sim_printer *p, const agora_sim_round *r)
{
	p->rounds++;
	p->rounds_short += r->no_answer > 0;
	p->seconds_sum += r->seconds;
	if (p->json) {
		print_json(r);
	} else {
		print_text(p, r);
		fflush(stdout);
	}
	if (p->csv != NULL) {
		fprintf(p->csv, "%u,%zu,%zu,%zu,%zu,%zu,%zu,%zu,%zu,%zu,",
		        r->round, r->asked, r->answered, r->no_answer,
		        r->failed[AGORA_SIM_TIMEOUT], r->failed[AGORA_SIM_LOST],
		        r->failed[AGORA_SIM_ERROR],
		        r->failed[AGORA_SIM_NO_NUMBER],
		        r->failed[AGORA_SIM_MISSING], r->extra);
		if (r->answered > 0) {
			fprintf(p->csv, "%.6f,%s,%lld,", r->average, r->winner,
			        (long long)r->winner_value);
		} else {
			fprintf(p->csv, ",,,");
		}
		fprintf(p->csv, "%.6f,%.6f,%.6f,%.6f\n", r->seconds, r->ask_s,
		        r->answer_s, r->tally_s);
		fflush(p->csv);
	}
}

void
sim_print_summary(struct sim_printer *p, const agora_sim_opts *o,
                  double create_s, const agora_sim_memory *m)
{
	long servers = 0;

	for (size_t i = 0; i < m->nservers; i++) {
		servers += m->servers_kib[i] > 0 ? m->servers_kib[i] : 0;
	}
	if (p->json) {
		printf("{\"summary\":{\"participants\":%zu,\"rounds\":%u,"
		       "\"rounds_short\":%u,\"create_s\":%.3f,"
		       "\"round_s_mean\":%.6f,\"memory_kib\":{\"servers\":[",
		       o->participants, p->rounds, p->rounds_short, create_s,
		       p->rounds > 0 ? p->seconds_sum / p->rounds : 0.0);
		for (size_t i = 0; i < m->nservers; i++) {
			printf("%s%ld", i > 0 ? "," : "", m->servers_kib[i]);
		}
		printf("],\"redis\":%ld,\"sim\":%ld},\"cpu_s\":{"
		       "\"servers\":[",
		       m->redis_kib, m->self_kib);
		for (size_t i = 0; i < m->nservers; i++) {
			printf("%s%.3f", i > 0 ? "," : "", m->servers_cpu_s[i]);
		}
		printf("],\"redis\":%.3f,\"sim\":%.3f}}}\n", m->redis_cpu_s,
		       m->self_cpu_s);
		return;
	}
	printf("%u round%s, %u with missing answers; created in %.2f s; "
	       "memory: ",
	       p->rounds, p->rounds == 1 ? "" : "s", p->rounds_short, create_s);
	if (m->nservers > 0) {
		printf("servers %.1f MiB (%zu), ", (double)servers / 1024,
		       m->nservers);
	}
	printf("redis %.1f MiB, sim %.1f MiB\n", (double)m->redis_kib / 1024,
	       (double)m->self_kib / 1024);
}

bool
sim_print_close(struct sim_printer *p)
{
	bool ok = true;

	if (p->csv != NULL) {
		ok = !ferror(p->csv);
		ok = fclose(p->csv) == 0 && ok;
	}
	if (!ok) {
		cli_error("sim: --csv %s: write failed", p->csv_path);
	}
	p->csv = NULL;
	return ok;
}
