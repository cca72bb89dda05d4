/* SPDX-License-Identifier: MIT */
/* Seed 004's "Gym env as action server": CartPole (cartpole.h) served by a
 * lace action server. Actions: reset, step ({"action": 0 or 1}); both
 * answer {"obs": {"$array": 0}, "reward": r, "done": b, "terminated": b}
 * with the observation as float32[4]. Observations: observation_space,
 * action_space, state. Runs until SIGINT or SIGTERM.
 *
 *   ./demos/lace/cartpole_server [--url tcp://127.0.0.1:5546]
 *                                [--token-file F] [--seed N] */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agora/json.h"
#include "agora/server.h"
#include "cartpole.h"
#include "cartpole_config.h"

static struct {
	pthread_mutex_t lock; /* callbacks run on several workers */
	struct cartpole cp;
	float obs[4];
	float reward;
	bool done;
} env = { .lock = PTHREAD_MUTEX_INITIALIZER };

static agora_err
answer(agora_lace_out *out, const float *obs, float reward, bool done,
       bool terminated)
{
	agora_lace_array a = {
		.dtype = AGORA_LACE_F32, .ndim = 1, .shape = { 4 }, .data = obs
	};
	char json[160];
	agora_err rv = agora_lace_out_array(out, &a, NULL);

	snprintf(json, sizeof(json),
	         "{\"obs\":{\"$array\":0},\"reward\":%g,\"done\":%s,"
	         "\"terminated\":%s}",
	         (double)reward, done ? "true" : "false",
	         terminated ? "true" : "false");
	return rv == AGORA_OK ? agora_lace_out_json(out, json, strlen(json))
	                      : rv;
}

static agora_err
on_act(void *arg, const char *key, const agora_lace_payload *in,
       agora_lace_out *out, char *err, size_t errlen)
{
	float obs[4];
	agora_err rv;

	(void)arg;
	pthread_mutex_lock(&env.lock);
	if (strcmp(key, "reset") == 0) {
		cartpole_reset(&env.cp, env.obs);
		env.done = false;
		env.reward = 0;
	} else {
		agora_json *doc = NULL;
		int64_t action = -1;
		if (agora_json_parse(&doc, in->json, in->json_len, 4096, 8, err,
		                     errlen) != AGORA_OK ||
		    !agora_json_int(agora_json_get(doc, "action"), 0, 1,
		                    &action)) {
			agora_json_free(doc);
			pthread_mutex_unlock(&env.lock);
			snprintf(
			    err, errlen,
			    "step: the payload must be {\"action\": 0 or 1}");
			return AGORA_EINVAL;
		}
		agora_json_free(doc);
		if (env.done) {
			pthread_mutex_unlock(&env.lock);
			snprintf(err, errlen,
			         "step: the episode is over: reset");
			return AGORA_EINVAL;
		}
		cartpole_step(&env.cp, (int)action, env.obs, &env.reward,
		              &env.done);
	}
	memcpy(obs, env.obs, sizeof(obs));
	rv = answer(out, obs, env.reward, env.done,
	            env.done && cartpole_terminated(&env.cp));
	pthread_mutex_unlock(&env.lock);
	return rv;
}

static agora_err
on_obs(void *arg, const char *name, const agora_lace_payload *in,
       agora_lace_out *out, char *err, size_t errlen)
{
	agora_buf b;
	agora_err rv;
	bool first = true;

	(void)arg;
	(void)name;
	(void)err;
	(void)errlen;
	agora_buf_init(&b, 0);
	agora_buf_adds(&b, "{");
	if (strstr(in->json, "\"observation_space\"") != NULL) {
		agora_buf_adds(&b, "\"observation_space\":{\"shape\":[4],"
		                   "\"dtype\":\"float32\",\"high\":[4.8,null,"
		                   "0.4189,null]}");
		first = false;
	}
	if (strstr(in->json, "\"action_space\"") != NULL) {
		agora_buf_addf(&b, "%s\"action_space\":{\"n\":2}",
		               first ? "" : ",");
		first = false;
	}
	if (strstr(in->json, "\"state\"") != NULL) {
		pthread_mutex_lock(&env.lock);
		agora_buf_addf(&b, "%s\"state\":[%g,%g,%g,%g]",
		               first ? "" : ",", (double)env.obs[0],
		               (double)env.obs[1], (double)env.obs[2],
		               (double)env.obs[3]);
		pthread_mutex_unlock(&env.lock);
	}
	agora_buf_adds(&b, "}");
	rv = agora_lace_out_json(out, b.data, b.len);
	agora_buf_fini(&b);
	return rv;
}

int
main(int argc, char **argv)
{
	agora_lace_server_opts o = { .url = "tcp://127.0.0.1:5546",
		                     .obs = on_obs,
		                     .act = on_act };
	agora_lace_server *s = NULL;
	char err[256], token[512];
	uint64_t seed = 1;
	sigset_t set;
	int sig;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--url") == 0) {
			o.url = argv[i + 1];
		} else if (strcmp(argv[i], "--seed") == 0) {
			seed = strtoull(argv[i + 1], NULL, 10);
		} else if (strcmp(argv[i], "--token-file") == 0) {
			if (agora_token_read(argv[i + 1], token, sizeof(token),
			                     err, sizeof(err)) != AGORA_OK) {
				fprintf(stderr, "cartpole_server: %s\n", err);
				return 2;
			}
			o.token = token;
		} else {
			fprintf(stderr, "usage: cartpole_server [--url URL] "
			                "[--token-file F] [--seed N]\n");
			return 2;
		}
	}
	cartpole_init(&env.cp, seed, env.obs);
	/* Signals are taken here, by this thread, not by the workers. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (agora_lace_server_new(&s, &cartpole_config, &o, err, sizeof(err)) !=
	        AGORA_OK ||
	    agora_lace_server_start(s, err, sizeof(err)) != AGORA_OK) {
		fprintf(stderr, "cartpole_server: %s\n", err);
		return 1;
	}
	printf("cartpole_server: on %s\n", agora_lace_server_url(s));
	fflush(stdout);
	sigwait(&set, &sig);
	agora_lace_server_free(s);
	return 0;
}
