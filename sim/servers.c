/* SPDX-License-Identifier: MIT */
/* The agent servers agora sim's participants run on: given ones
 * (--connect) or the children of the first group's center, whose
 * addresses the other groups learn from the registry. Also their memory
 * and CPU, from each server's `info`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/json.h"
#include "agora/registry.h"
#include "sim_int.h"

agora_err
sim_servers_given(struct sim_servers *sv, const agora_sim_opts *o, char *err,
                  size_t errlen)
{
	const char *tf = o->cfg->server_token_file;

	sv->urls = agora_calloc(o->nconnect + 1, sizeof(char *));
	for (size_t i = 0; i < o->nconnect; i++) {
		sv->urls[sv->n++] = agora_strdup(o->connect[i]);
	}
	if (tf != NULL && tf[0] != '\0') {
		return agora_token_read(tf, sv->token, sizeof(sv->token), err,
		                        errlen);
	}
	return AGORA_OK;
}

agora_err
sim_servers_learn(struct sim_servers *sv, agora_center *c, size_t from,
                  size_t n, char *err, size_t errlen)
{
	agora_registry *reg = agora_center_registry(c);

	sv->urls = agora_calloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		agora_agent_info info;
		char role[32];

		snprintf(role, sizeof(role), "p%zu", from + i);
		if (agora_registry_get(reg, role, &info) != AGORA_OK) {
			snprintf(err, errlen,
			         "no registry record of %s, placed on a child "
			         "server",
			         role);
			return AGORA_EREDIS;
		}
		sv->urls[sv->n++] = agora_strdup(info.server);
		agora_agent_info_fini(&info);
	}
	return AGORA_OK;
}

void
sim_servers_usage(const struct sim_servers *sv, long *kib, double *cpu,
                  size_t max)
{
	for (size_t i = 0; i < sv->n && i < max; i++) {
		agora_json *doc = NULL;
		const agora_json *info;
		agora_buf reply;
		char err[256];

		kib[i] = -1;
		cpu[i] = -1;
		agora_buf_init(&reply, 0);
		if (agora_server_request(
		        sv->urls[i], sv->token[0] != '\0' ? sv->token : NULL,
		        "[{\"op\":\"info\"}]", 10000, &reply, err,
		        sizeof(err)) == AGORA_OK &&
		    agora_json_parse(&doc, reply.data, reply.len, 1 << 20, 16,
		                     err, sizeof(err)) == AGORA_OK) {
			int64_t v;
			info = agora_json_at(agora_json_get(doc, "results"), 0);
			if (agora_json_int(agora_json_get(info, "rss_kib"), 0,
			                   INT64_MAX, &v)) {
				kib[i] = (long)v;
			}
			if (agora_json_get(info, "cpu_s") != NULL) {
				cpu[i] = agora_json_num(
				    agora_json_get(info, "cpu_s"));
			}
		}
		agora_json_free(doc);
		agora_buf_fini(&reply);
	}
}

void
sim_servers_fini(struct sim_servers *sv)
{
	for (size_t i = 0; i < sv->n; i++) {
		agora_free(sv->urls[i]);
	}
	agora_free(sv->urls);
	memset(sv->token, 0, sizeof(sv->token));
	sv->urls = NULL;
	sv->n = 0;
}
