/* SPDX-License-Identifier: MIT */
/* Drives the CartPole action server (cartpole_server.c) with a simple
 * policy (push towards where the pole is falling), as a Gym client would:
 * reset, then step until done, for a few episodes; prints each return.
 * Exits 0 when every call was answered.
 *
 *   ./demos/lace/cartpole_client [--url tcp://127.0.0.1:5546]
 *                                [--token-file F] [--episodes 5]
 *                                [--timeout-ms 5000] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/json.h"
#include "agora/server.h"
#include "cartpole_config.h"

/* One reset or step: the observation and whether the episode is over. */
static agora_err
act(agora_lace_client *c, const char *key, int action, float obs[4], bool *done,
    char *err, size_t errlen)
{
	char json[32];
	agora_lace_payload p = { .json = json };
	agora_lace_msg *m = NULL;
	const agora_lace_array *a;
	agora_json *doc = NULL;
	agora_err rv;

	snprintf(json, sizeof(json), "{\"action\":%d}", action);
	p.json_len = strlen(json);
	rv = agora_lace_act(c, key, &p, &m, err, errlen);
	if (rv != AGORA_OK) {
		return rv;
	}
	a = agora_lace_msg_array(m, 0);
	if (a == NULL || a->dtype != AGORA_LACE_F32 ||
	    agora_lace_array_count(a) != 4 ||
	    agora_json_parse(&doc, agora_lace_msg_payload(m)->json,
	                     agora_lace_msg_payload(m)->json_len, 4096, 8, err,
	                     errlen) != AGORA_OK) {
		snprintf(err, errlen, "%s: not an observation", key);
		agora_lace_msg_free(m);
		return AGORA_EPROTO;
	}
	memcpy(obs, a->data, 4 * sizeof(float));
	*done = agora_json_bool(agora_json_get(doc, "done"));
	agora_json_free(doc);
	agora_lace_msg_free(m);
	return AGORA_OK;
}

int
main(int argc, char **argv)
{
	agora_lace_client_opts o = { .url = "tcp://127.0.0.1:5546",
		                     .timeout_ms = 5000 };
	agora_lace_client *c = NULL;
	agora_lace_msg *m = NULL;
	const char *space[] = { "action_space" };
	char err[256], token[512];
	long episodes = 5;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--url") == 0) {
			o.url = argv[i + 1];
		} else if (strcmp(argv[i], "--episodes") == 0) {
			episodes = strtol(argv[i + 1], NULL, 10);
		} else if (strcmp(argv[i], "--timeout-ms") == 0 &&
		           strtol(argv[i + 1], NULL, 10) > 0) {
			o.timeout_ms = strtol(argv[i + 1], NULL, 10);
		} else if (strcmp(argv[i], "--token-file") == 0) {
			if (agora_token_read(argv[i + 1], token, sizeof(token),
			                     err, sizeof(err)) != AGORA_OK) {
				fprintf(stderr, "cartpole_client: %s\n", err);
				return 2;
			}
			o.token = token;
		} else {
			fprintf(stderr, "usage: cartpole_client [--url URL] "
			                "[--token-file F] [--episodes N] "
			                "[--timeout-ms N]\n");
			return 2;
		}
	}
	if (agora_lace_client_open(&c, &cartpole_config, &o, err,
	                           sizeof(err)) != AGORA_OK ||
	    agora_lace_obs(c, space, 1, &m, err, sizeof(err)) != AGORA_OK) {
		fprintf(stderr, "cartpole_client: %s\n", err);
		agora_lace_client_close(c);
		return 1;
	}
	printf("cartpole_client: %s\n", agora_lace_msg_payload(m)->json);
	agora_lace_msg_free(m);
	for (long e = 0; e < episodes; e++) {
		float obs[4];
		bool done = false;
		int steps = 0;
		if (act(c, "reset", 0, obs, &done, err, sizeof(err)) !=
		    AGORA_OK) {
			fprintf(stderr, "cartpole_client: %s\n", err);
			agora_lace_client_close(c);
			return 1;
		}
		while (!done) {
			/* Push towards where the pole falls. */
			int a = obs[2] + 0.5f * obs[3] > 0 ? 1 : 0;
			if (act(c, "step", a, obs, &done, err, sizeof(err)) !=
			    AGORA_OK) {
				fprintf(stderr, "cartpole_client: %s\n", err);
				agora_lace_client_close(c);
				return 1;
			}
			steps++;
		}
		printf("cartpole_client: episode %ld: return %d\n", e + 1,
		       steps);
	}
	agora_lace_client_close(c);
	return 0;
}
