/* SPDX-License-Identifier: MIT */
/* Seed 004's async learner: a trainer server whose replay store actors
 * push CartPole transitions into; it trains a DQN (policy.h) on batches
 * drawn from that store, LEARN_RATIO gradient steps per transition
 * received, and publishes the weights every few updates. Runs until
 * SIGINT or SIGTERM, then says how many transitions it received.
 *
 *   ./demos/lace/learner [--url tcp://127.0.0.1:5555] [--token-file F]
 *                        [--seed N] [--publish-every N] */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/server.h"
#include "policy.h"
#include "transition.h"

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Rows came in: wake the training loop. */
static pthread_mutex_t data_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t data_cv; /* agora_cond_init: monotonic waits */

static agora_err
on_data(void *arg, const char *name, const agora_lace_payload *in,
        agora_lace_out *out, char *err, size_t errlen)
{
	(void)arg;
	(void)name;
	(void)in;
	(void)out;
	(void)err;
	(void)errlen;
	pthread_mutex_lock(&data_lock);
	pthread_cond_signal(&data_cv);
	pthread_mutex_unlock(&data_lock);
	return AGORA_OK;
}

static void
wait_data(int ms)
{
	int64_t until = agora_now_ms() + ms;

	pthread_mutex_lock(&data_lock);
	(void)agora_cond_wait_until(&data_cv, &data_lock, until);
	pthread_mutex_unlock(&data_lock);
}

/* One gradient step on a batch drawn uniformly from the replay store. */
static void
train_step(struct learner *l, agora_lace_store *st, int batch)
{
	float obs[64][4], next[64][4], reward[64];
	int32_t action[64];
	uint8_t terminal[64];
	void *cols[TRANSITION_NFIELDS] = { obs, action, reward, next,
		                           terminal };
	struct policy_transition tr[64];

	if (batch > 64) {
		batch = 64;
	}
	if (agora_lace_store_sample(st, (size_t)batch, cols) != AGORA_OK) {
		return;
	}
	for (int i = 0; i < batch; i++) {
		memcpy(tr[i].obs, obs[i], sizeof(tr[i].obs));
		memcpy(tr[i].next_obs, next[i], sizeof(tr[i].next_obs));
		tr[i].action = action[i];
		tr[i].reward = reward[i];
		tr[i].terminal = terminal[i] != 0;
	}
	(void)learner_train_batch(l, tr, batch);
}

static void
publish(agora_lace_server *s, struct learner *l, float *w)
{
	char json[64];
	agora_lace_array a = { .dtype = AGORA_LACE_F32,
		               .ndim = 1,
		               .shape = { POLICY_NWEIGHTS },
		               .data = w };
	agora_lace_payload p = { .json = json, .arrays = &a, .narrays = 1 };

	learner_weights(l, w);
	snprintf(json, sizeof(json), "{\"updates\":%" PRId64 "}",
	         learner_updates(l));
	p.json_len = strlen(json);
	(void)agora_lace_server_publish(s, &p);
}

struct options {
	const char *url, *token_file;
	uint64_t seed;
	long publish_every;
};

static int
parse(struct options *o, int argc, char **argv)
{
	o->url = "tcp://127.0.0.1:5555";
	o->seed = 1;
	o->publish_every = 16;
	for (int i = 1; i < argc; i += 2) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(argv[i], "--url") == 0 && v != NULL) {
			o->url = v;
		} else if (strcmp(argv[i], "--token-file") == 0 && v != NULL) {
			o->token_file = v;
		} else if (strcmp(argv[i], "--seed") == 0 && v != NULL) {
			o->seed = strtoull(v, NULL, 10);
		} else if (strcmp(argv[i], "--publish-every") == 0 &&
		           v != NULL && strtol(v, NULL, 10) > 0) {
			o->publish_every = strtol(v, NULL, 10);
		} else {
			fprintf(stderr,
			        "usage: learner [--url URL] [--token-file F] "
			        "[--seed N] [--publish-every N]\n");
			return 2;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct options o = { 0 };
	agora_lace_store_opts so = { .kind = AGORA_LACE_REPLAY,
		                     .capacity = 50000,
		                     .fields = transition_fields,
		                     .nfields = TRANSITION_NFIELDS };
	agora_lace_server_opts sv = { .on_data = on_data };
	struct policy_config pc;
	agora_lace_store *st = NULL;
	agora_lace_server *s = NULL;
	struct learner *l;
	char err[256], token[512];
	float *w = agora_malloc(sizeof(float) * POLICY_NWEIGHTS);
	int64_t seen = -1, last_print = agora_now_ms();
	double credit = 0;
	int rv = parse(&o, argc, argv);

	agora_cond_init(&data_cv);
	if (rv != 0) {
		return rv;
	}
	if (o.token_file != NULL &&
	    agora_token_read(o.token_file, token, sizeof(token), err,
	                     sizeof(err)) != AGORA_OK) {
		fprintf(stderr, "learner: %s\n", err);
		return 2;
	}
	so.seed = o.seed;
	sv.url = o.url;
	sv.token = o.token_file != NULL ? token : NULL;
	if (agora_lace_store_new(&st, &so, err, sizeof(err)) != AGORA_OK ||
	    agora_lace_server_new(&s, &transition_config, &sv, err,
	                          sizeof(err)) != AGORA_OK ||
	    agora_lace_server_add_store(s, TRANSITION_STORE, st) != AGORA_OK ||
	    agora_lace_server_start(s, err, sizeof(err)) != AGORA_OK) {
		fprintf(stderr, "learner: %s\n", err);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	policy_config_default(&pc, o.seed);
	l = learner_new(&pc);
	printf("learner: on %s, waiting for actors\n",
	       agora_lace_server_url(s));
	fflush(stdout);
	publish(s, l, w); /* the initial weights: actors start from them */
	while (!stop) {
		int64_t latest = agora_lace_store_latest_id(st);
		long owed;
		if (latest == seen) {
			wait_data(100);
			continue;
		}
		credit += LEARN_RATIO * (double)(latest - seen);
		seen = latest;
		owed = (long)credit;
		credit -= (double)owed;
		if (agora_lace_store_len(st) < LEARN_START) {
			continue;
		}
		for (long i = 0; i < owed && !stop; i++) {
			train_step(l, st, pc.batch);
			if (learner_updates(l) % o.publish_every == 0) {
				publish(s, l, w);
			}
		}
		if (agora_now_ms() - last_print >= 2000) {
			last_print = agora_now_ms();
			printf("learner: %" PRId64 " transitions, %" PRId64
			       " updates\n",
			       latest + 1, learner_updates(l));
			fflush(stdout);
		}
	}
	printf("learner: received %zu transitions\n",
	       (size_t)(agora_lace_store_latest_id(st) + 1));
	agora_lace_server_free(s);
	agora_lace_store_free(st);
	learner_free(l);
	agora_free(w);
	memset(token, 0, sizeof(token));
	return 0;
}
