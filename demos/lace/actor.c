/* SPDX-License-Identifier: MIT */
/* Seed 004's async actor: runs CartPole episodes with the newest weights
 * the learner published, pushes its transitions to the learner's replay
 * store (a queued store here, pushed every chunk of steps, exactly once),
 * and prints its mean episode return as it rises. It keeps no further
 * ahead of the learner than LEARN_RATIO allows, as SERL's actors do. Ends
 * when the mean of the last 20 episodes reaches the goal (195) or time
 * runs out, and prints the transitions it sent and the learner received.
 *
 *   ./demos/lace/actor [--url tcp://127.0.0.1:5555] [--token-file F]
 *                      [--seed N] [--seconds 60] [--goal 195] */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/json.h"
#include "agora/server.h"
#include "cartpole.h"
#include "policy.h"
#include "transition.h"

#define CHUNK  64
#define WINDOW 20

/* The newest weights, as the subscription hands them over. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	float w[POLICY_NWEIGHTS];
	int64_t updates;
	uint64_t seq, taken;
} net = { .lock = PTHREAD_MUTEX_INITIALIZER, .updates = -1 };

static void
on_network(void *arg, uint64_t seq, const agora_lace_payload *p)
{
	agora_json *doc = NULL;
	int64_t updates = 0;

	(void)arg;
	if (p->narrays != 1 || p->arrays[0].dtype != AGORA_LACE_F32 ||
	    agora_lace_array_count(&p->arrays[0]) != POLICY_NWEIGHTS) {
		fprintf(stderr,
		        "actor: a network of the wrong shape: ignored\n");
		return;
	}
	if (agora_json_parse(&doc, p->json, p->json_len, 4096, 8, NULL, 0) ==
	    AGORA_OK) {
		(void)agora_json_int(agora_json_get(doc, "updates"), 0,
		                     INT64_MAX, &updates);
	}
	agora_json_free(doc);
	pthread_mutex_lock(&net.lock);
	memcpy(net.w, p->arrays[0].data, sizeof(net.w));
	net.updates = updates;
	net.seq = seq;
	pthread_cond_broadcast(&net.cv);
	pthread_mutex_unlock(&net.lock);
}

/* Take newer weights, first waiting while we are further ahead of the
 * learner than its ratio allows (or have none yet). */
static void
sync_weights(struct actor *a, int64_t sent)
{
	pthread_mutex_lock(&net.lock);
	for (;;) {
		int64_t allowed =
		    net.updates < 0
		        ? -1
		        : LEARN_START + 4 * CHUNK +
		              (int64_t)((double)net.updates / LEARN_RATIO);
		if (sent <= allowed) {
			break;
		}
		(void)agora_cond_wait_until(&net.cv, &net.lock,
		                            agora_now_ms() + 100);
	}
	if (net.seq != net.taken) {
		actor_set_weights(a, net.w);
		net.taken = net.seq;
	}
	pthread_mutex_unlock(&net.lock);
}

struct options {
	const char *url, *token_file;
	uint64_t seed;
	double seconds, goal;
};

static int
parse(struct options *o, int argc, char **argv)
{
	o->url = "tcp://127.0.0.1:5555";
	o->seed = 1;
	o->seconds = 60;
	o->goal = 195;
	for (int i = 1; i < argc; i += 2) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(argv[i], "--url") == 0 && v != NULL) {
			o->url = v;
		} else if (strcmp(argv[i], "--token-file") == 0 && v != NULL) {
			o->token_file = v;
		} else if (strcmp(argv[i], "--seed") == 0 && v != NULL) {
			o->seed = strtoull(v, NULL, 10);
		} else if (strcmp(argv[i], "--seconds") == 0 && v != NULL &&
		           strtod(v, NULL) > 0) {
			o->seconds = strtod(v, NULL);
		} else if (strcmp(argv[i], "--goal") == 0 && v != NULL) {
			o->goal = strtod(v, NULL);
		} else {
			fprintf(stderr,
			        "usage: actor [--url URL] [--token-file F] "
			        "[--seed N] [--seconds S] [--goal R]\n");
			return 2;
		}
	}
	return 0;
}

/* What the learner's store says it received from us. */
static int64_t
received(agora_lace_client *c, const char *name)
{
	agora_buf b;
	agora_json *doc = NULL;
	int64_t n = -1;
	char err[256];

	agora_buf_init(&b, 0);
	if (agora_lace_stores(c, &b, err, sizeof(err)) == AGORA_OK &&
	    agora_json_parse(&doc, b.data, b.len, b.len, 16, NULL, 0) ==
	        AGORA_OK) {
		const agora_json *st =
		    agora_json_first(agora_json_get(doc, "stores"));
		for (const agora_json *cl =
		         agora_json_first(agora_json_get(st, "clients"));
		     cl != NULL; cl = agora_json_next(cl)) {
			const char *who =
			    agora_json_str(agora_json_get(cl, "client"));
			if (who != NULL && strcmp(who, name) == 0) {
				(void)agora_json_int(
				    agora_json_get(cl, "received"), 0,
				    INT64_MAX, &n);
			}
		}
	}
	agora_json_free(doc);
	agora_buf_fini(&b);
	return n;
}

struct run {
	struct cartpole cp;
	struct actor *a;
	agora_lace_store *st;
	float obs[4];
	double returns[WINDOW], ret;
	long episodes;
};

static double
mean_return(const struct run *r)
{
	long n = r->episodes < WINDOW ? r->episodes : WINDOW;
	double sum = 0;

	for (long i = 0; i < n; i++) {
		sum += r->returns[i];
	}
	return n > 0 ? sum / (double)n : 0;
}

/* CHUNK steps into the store; the episodes that ended are counted. */
static void
act_chunk(struct run *r)
{
	float obs[CHUNK][4], next[CHUNK][4], reward[CHUNK];
	int32_t action[CHUNK];
	uint8_t terminal[CHUNK];
	const void *cols[TRANSITION_NFIELDS] = { obs, action, reward, next,
		                                 terminal };

	for (int i = 0; i < CHUNK; i++) {
		bool done;
		memcpy(obs[i], r->obs, sizeof(r->obs));
		action[i] = actor_act(r->a, r->obs);
		cartpole_step(&r->cp, action[i], next[i], &reward[i], &done);
		terminal[i] = cartpole_terminated(&r->cp);
		memcpy(r->obs, next[i], sizeof(r->obs));
		r->ret += (double)reward[i];
		if (done) {
			r->returns[r->episodes % WINDOW] = r->ret;
			r->episodes++;
			r->ret = 0;
			cartpole_reset(&r->cp, r->obs);
		}
	}
	(void)agora_lace_store_insert(r->st, CHUNK, cols);
}

int
main(int argc, char **argv)
{
	struct options o = { 0 };
	agora_lace_store_opts so = { .kind = AGORA_LACE_QUEUED,
		                     .capacity = 20000,
		                     .fields = transition_fields,
		                     .nfields = TRANSITION_NFIELDS };
	agora_lace_client_opts co = { .timeout_ms = 5000 };
	struct actor_config ac;
	struct run r = { 0 };
	agora_lace_client *c = NULL;
	char err[256], token[512], name[64];
	int64_t start, sent = 0, got;
	uint64_t gaps = 0, lost = 0;
	long printed = 0;
	bool reached = false;
	int rv = parse(&o, argc, argv);

	agora_cond_init(&net.cv); /* monotonic waits */
	if (rv != 0) {
		return rv;
	}
	if (o.token_file != NULL &&
	    agora_token_read(o.token_file, token, sizeof(token), err,
	                     sizeof(err)) != AGORA_OK) {
		fprintf(stderr, "actor: %s\n", err);
		return 2;
	}
	snprintf(name, sizeof(name), "actor-%" PRIu64, o.seed);
	co.url = o.url;
	co.name = name;
	co.token = o.token_file != NULL ? token : NULL;
	if (agora_lace_store_new(&r.st, &so, err, sizeof(err)) != AGORA_OK ||
	    agora_lace_client_open(&c, &transition_config, &co, err,
	                           sizeof(err)) != AGORA_OK ||
	    agora_lace_client_add_store(c, TRANSITION_STORE, r.st) !=
	        AGORA_OK ||
	    agora_lace_subscribe(c, on_network, NULL) != AGORA_OK) {
		fprintf(stderr, "actor: %s\n", err);
		return 1;
	}
	actor_config_default(&ac, o.seed);
	r.a = actor_new(&ac);
	cartpole_init(&r.cp, o.seed, r.obs);
	start = agora_now_ms();
	while (agora_now_ms() - start < (int64_t)(o.seconds * 1000)) {
		sync_weights(r.a, sent);
		act_chunk(&r);
		sent += CHUNK;
		if (agora_lace_update(c, &gaps, err, sizeof(err)) != AGORA_OK) {
			fprintf(stderr,
			        "actor: update: %s (sent again later)\n", err);
		}
		lost += gaps;
		if (r.episodes >= printed + 10) {
			printed = r.episodes;
			printf("actor: %5.1f s  episode %4ld  mean return %6.1f"
			       "  epsilon %.2f\n",
			       (double)(agora_now_ms() - start) / 1000.0,
			       r.episodes, mean_return(&r),
			       (double)actor_epsilon(r.a));
			fflush(stdout);
		}
		if (r.episodes >= WINDOW && mean_return(&r) >= o.goal) {
			reached = true;
			break;
		}
	}
	/* Whatever is left, then what the learner says it has. */
	while (agora_lace_update(c, &gaps, err, sizeof(err)) != AGORA_OK &&
	       agora_now_ms() - start < (int64_t)(o.seconds * 1000) + 10000) {
		fprintf(stderr, "actor: final update: %s\n", err);
	}
	got = received(c, name);
	if (reached) {
		printf("actor: mean return %.1f over the last %d episodes "
		       "after %.1f s and %ld episodes\n",
		       mean_return(&r), WINDOW,
		       (double)(agora_now_ms() - start) / 1000.0, r.episodes);
	} else {
		printf("actor: did not reach %.0f in %.0f s (mean %.1f)\n",
		       o.goal, o.seconds, mean_return(&r));
	}
	printf("actor: transitions sent %" PRId64 ", received by the learner "
	       "%" PRId64 "%s\n",
	       sent, got, lost > 0 ? " (some dropped unsent: see above)" : "");
	agora_lace_client_close(c);
	actor_free(r.a);
	agora_lace_store_free(r.st);
	memset(token, 0, sizeof(token));
	return reached && got == sent ? 0 : 1;
}
