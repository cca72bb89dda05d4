/* SPDX-License-Identifier: MIT */
/* DQN for small discrete-action problems (CartPole), in plain C with no
 * BLAS: the network is small enough (4610 weights) that a per-sample loop
 * whose inner loops run over contiguous outputs, which the compiler
 * vectorises, costs well under a millisecond per batch of 64.
 *
 * The method is Mnih et al.'s DQN with van Hasselt's Double DQN target
 * (the online network picks the next action, the target network values
 * it), a Huber loss, Adam and a uniform replay buffer. It was chosen over
 * on-policy policy gradients because the actor acts on weights that are a
 * few updates old and its transitions reach the learner in batches: an
 * off-policy learner can use them all as they are. */
#include "policy.h"

#include <math.h>
#include <string.h>

#include "agora/alloc.h"
#include "rng.h"

#define H POLICY_HIDDEN
#define A POLICY_ACTIONS
#define O POLICY_OBS

/* Offsets of each layer in the flat array (see policy.h). */
#define OFF_W1 0
#define OFF_B1 (OFF_W1 + O * H)
#define OFF_W2 (OFF_B1 + H)
#define OFF_B2 (OFF_W2 + H * H)
#define OFF_W3 (OFF_B2 + H)
#define OFF_B3 (OFF_W3 + H * A)
#define NW     (OFF_B3 + A)

_Static_assert(NW == POLICY_NWEIGHTS, "layer offsets disagree with policy.h");

#define ADAM_BETA1  0.9f
#define ADAM_BETA2  0.999f
#define ADAM_EPS    1e-8f
#define HUBER_DELTA 1.0f

/* One sample's activations, kept from the forward pass for backprop. */
struct act {
	float h1[H];
	float h2[H];
	float q[A];
};

struct learner {
	struct policy_config cfg;
	float w[NW];      /* online network */
	float target[NW]; /* target network */
	float grad[NW];
	float m[NW];             /* Adam's first moment */
	float v[NW];             /* Adam's second moment */
	float w2t[H * H];        /* W2 transposed, for the backward pass */
	double beta1_t, beta2_t; /* beta^t for Adam's bias correction */
	int64_t updates;
	float loss;
	struct policy_transition *replay; /* ring of cfg.replay_cap */
	size_t stored, head;
	struct policy_transition *batch; /* cfg.batch, drawn per step */
	struct lace_rng rng;
};

struct actor {
	struct actor_config cfg;
	float w[NW];
	bool has_weights;
	int64_t steps;
	struct lace_rng rng;
};

/* Tuned with lace_learn_check over 60 seeds (README.md). A hard target
 * copy every 250 updates and a final epsilon of 0.05 are what keep DQN
 * from the collapse it is known for on CartPole once the buffer fills with
 * good episodes: the target holds still long enough to fit, and the actor
 * keeps visiting the states a good policy would otherwise forget. */
void
policy_config_default(struct policy_config *cfg, uint64_t seed)
{
	cfg->lr = 5e-4f;
	cfg->gamma = 0.99f;
	cfg->batch = 64;
	cfg->replay_cap = 50000;
	cfg->learn_start = 1000;
	cfg->target_every = 250;
	cfg->target_tau = 1.0f;
	cfg->grad_clip = 10.0f;
	cfg->seed = seed;
}

void
actor_config_default(struct actor_config *cfg, uint64_t seed)
{
	cfg->eps_start = 1.0f;
	cfg->eps_end = 0.05f;
	cfg->eps_steps = 10000;
	cfg->seed = seed;
}

/* ---- the network ------------------------------------------------------ */

/* out[0..n) = b + sum over i of in[i] * W[i][..], then ReLU if asked. The
 * inner loop runs over contiguous outputs, so it vectorises without
 * reassociating sums; zero inputs (half of a ReLU layer) are skipped. */
static void
net_layer(const float *restrict wt, const float *restrict b,
          const float *restrict in, int nin, float *restrict out, int nout,
          bool relu)
{
	memcpy(out, b, (size_t)nout * sizeof(*out));
	for (int i = 0; i < nin; i++) {
		float x = in[i];
		const float *row = wt + (size_t)i * (size_t)nout;

		if (x == 0.0f) {
			continue;
		}
		for (int j = 0; j < nout; j++) {
			out[j] += x * row[j];
		}
	}
	if (relu) {
		for (int j = 0; j < nout; j++) {
			out[j] = out[j] > 0.0f ? out[j] : 0.0f;
		}
	}
}

static void
net_forward(const float *w, const float obs[O], struct act *s)
{
	net_layer(w + OFF_W1, w + OFF_B1, obs, O, s->h1, H, true);
	net_layer(w + OFF_W2, w + OFF_B2, s->h1, H, s->h2, H, true);
	net_layer(w + OFF_W3, w + OFF_B3, s->h2, H, s->q, A, false);
}

static int
argmax(const float q[A])
{
	int best = 0;

	for (int i = 1; i < A; i++) {
		if (q[i] > q[best]) {
			best = i;
		}
	}
	return best;
}

int
policy_greedy(const float *w, const float obs[O], float q_out[A])
{
	struct act s;

	net_forward(w, obs, &s);
	if (q_out != NULL) {
		memcpy(q_out, s.q, sizeof(s.q));
	}
	return argmax(s.q);
}

/* grad[row i] += x[i] * d for each i, d of length n: a layer's weight
 * gradient as an outer product, skipping zero inputs. */
static void
net_outer(float *restrict g, const float *restrict x, int nin,
          const float *restrict d, int n)
{
	for (int i = 0; i < nin; i++) {
		float xi = x[i];
		float *row = g + (size_t)i * (size_t)n;

		if (xi == 0.0f) {
			continue;
		}
		for (int j = 0; j < n; j++) {
			row[j] += xi * d[j];
		}
	}
}

/* Adds to g the gradient of dq * Q(obs, a) through the activations s. The
 * loss touches one action's value, so the output gradient is one number.
 * w2t is W2 transposed, so the step back through W2 also runs over
 * contiguous memory. */
static void
net_backward(const float *w, const float *w2t, const float obs[O],
             const struct act *s, int a, float dq, float *g)
{
	float dh2[H], dh1[H];

	g[OFF_B3 + a] += dq;
	for (int j = 0; j < H; j++) {
		g[OFF_W3 + j * A + a] += s->h2[j] * dq;
		dh2[j] = s->h2[j] > 0.0f ? w[OFF_W3 + j * A + a] * dq : 0.0f;
	}
	net_outer(g + OFF_W2, s->h1, H, dh2, H);
	for (int j = 0; j < H; j++) {
		g[OFF_B2 + j] += dh2[j];
	}
	/* dh1 = W2 dh2, masked by h1's ReLU: rows of W2^T scaled by dh2. */
	memset(dh1, 0, sizeof(dh1));
	for (int j = 0; j < H; j++) {
		const float *row = w2t + (size_t)j * H;
		float d = dh2[j];

		if (d == 0.0f) {
			continue;
		}
		for (int k = 0; k < H; k++) {
			dh1[k] += d * row[k];
		}
	}
	for (int k = 0; k < H; k++) {
		dh1[k] = s->h1[k] > 0.0f ? dh1[k] : 0.0f;
		g[OFF_B1 + k] += dh1[k];
	}
	net_outer(g + OFF_W1, obs, O, dh1, H);
}

/* PyTorch's default for a Linear layer: weights and biases uniform in
 * +-1/sqrt(fan_in). */
static void
net_init(float *w, struct lace_rng *rng)
{
	static const struct {
		int off, n, fan_in;
	} layer[] = {
		{ OFF_W1, O * H + H, O },
		{ OFF_W2, H * H + H, H },
		{ OFF_W3, H * A + A, H },
	};

	for (size_t l = 0; l < sizeof(layer) / sizeof(layer[0]); l++) {
		double bound = 1.0 / sqrt((double)layer[l].fan_in);

		for (int i = 0; i < layer[l].n; i++) {
			double u = 2.0 * lace_rng_uniform(rng) - 1.0;

			w[layer[l].off + i] = (float)(bound * u);
		}
	}
}

/* ---- learner ---------------------------------------------------------- */

struct learner *
learner_new(const struct policy_config *cfg)
{
	struct learner *l = agora_calloc(1, sizeof(*l));

	l->cfg = *cfg;
	if (l->cfg.batch < 1) {
		l->cfg.batch = 1;
	}
	if (l->cfg.replay_cap < l->cfg.batch) {
		l->cfg.replay_cap = l->cfg.batch;
	}
	if (l->cfg.target_every < 1) {
		l->cfg.target_every = 1;
	}
	lace_rng_seed(&l->rng, cfg->seed);
	net_init(l->w, &l->rng);
	memcpy(l->target, l->w, sizeof(l->w));
	l->beta1_t = 1.0;
	l->beta2_t = 1.0;
	l->replay = agora_calloc((size_t)l->cfg.replay_cap, sizeof(*l->replay));
	l->batch = agora_calloc((size_t)l->cfg.batch, sizeof(*l->batch));
	return l;
}

void
learner_free(struct learner *l)
{
	if (l == NULL) {
		return;
	}
	agora_free(l->replay);
	agora_free(l->batch);
	agora_free(l);
}

void
learner_add(struct learner *l, const struct policy_transition *t, size_t n)
{
	size_t cap = (size_t)l->cfg.replay_cap;

	for (size_t i = 0; i < n; i++) {
		l->replay[l->head] = t[i];
		l->head = (l->head + 1) % cap;
		if (l->stored < cap) {
			l->stored++;
		}
	}
}

/* The Double DQN target: r, plus gamma times the target network's value of
 * the action the online network prefers in the next state, unless that
 * state is terminal. */
static float
learner_target_value(const struct learner *l, const struct policy_transition *t)
{
	struct act online, target;

	if (t->terminal) {
		return t->reward;
	}
	net_forward(l->w, t->next_obs, &online);
	net_forward(l->target, t->next_obs, &target);
	return t->reward + l->cfg.gamma * target.q[argmax(online.q)];
}

/* Scales the gradient down to norm grad_clip if it is longer. */
static void
learner_clip(struct learner *l)
{
	double sq = 0.0;

	if (l->cfg.grad_clip <= 0.0f) {
		return;
	}
	for (int i = 0; i < NW; i++) {
		sq += (double)l->grad[i] * (double)l->grad[i];
	}
	if (sq > (double)l->cfg.grad_clip * (double)l->cfg.grad_clip) {
		float scale = (float)((double)l->cfg.grad_clip / sqrt(sq));

		for (int i = 0; i < NW; i++) {
			l->grad[i] *= scale;
		}
	}
}

static void
learner_adam(struct learner *l)
{
	float c1, c2, lr;

	l->beta1_t *= (double)ADAM_BETA1;
	l->beta2_t *= (double)ADAM_BETA2;
	c1 = (float)(1.0 - l->beta1_t);
	c2 = (float)(1.0 - l->beta2_t);
	/* Fold both bias corrections into the step size, as PyTorch does. */
	lr = l->cfg.lr * sqrtf(c2) / c1;
	for (int i = 0; i < NW; i++) {
		float g = l->grad[i];

		l->m[i] = ADAM_BETA1 * l->m[i] + (1.0f - ADAM_BETA1) * g;
		l->v[i] = ADAM_BETA2 * l->v[i] + (1.0f - ADAM_BETA2) * g * g;
		l->w[i] -=
		    lr * l->m[i] / (sqrtf(l->v[i]) + ADAM_EPS * sqrtf(c2));
	}
}

static void
learner_update_target(struct learner *l)
{
	float tau = l->cfg.target_tau;

	if (l->updates % l->cfg.target_every != 0) {
		return;
	}
	for (int i = 0; i < NW; i++) {
		l->target[i] = tau * l->w[i] + (1.0f - tau) * l->target[i];
	}
}

float
learner_train_batch(struct learner *l, const struct policy_transition *batch,
                    int n)
{
	float inv_n = 1.0f / (float)n;
	double loss = 0.0;

	memset(l->grad, 0, sizeof(l->grad));
	for (int j = 0; j < H; j++) {
		for (int k = 0; k < H; k++) {
			l->w2t[j * H + k] = l->w[OFF_W2 + k * H + j];
		}
	}
	for (int i = 0; i < n; i++) {
		const struct policy_transition *t = &batch[i];
		int a = t->action != 0 ? 1 : 0;
		struct act s;
		float y = learner_target_value(l, t);
		float diff;

		net_forward(l->w, t->obs, &s);
		diff = s.q[a] - y;
		/* Huber: quadratic near zero, linear beyond delta, so one
		 * surprising transition cannot blow the step up. */
		if (fabsf(diff) <= HUBER_DELTA) {
			loss += 0.5 * (double)(diff * diff);
		} else {
			loss += (double)(HUBER_DELTA *
			                 (fabsf(diff) - 0.5f * HUBER_DELTA));
			diff = diff > 0.0f ? HUBER_DELTA : -HUBER_DELTA;
		}
		net_backward(l->w, l->w2t, t->obs, &s, a, diff * inv_n,
		             l->grad);
	}
	learner_clip(l);
	learner_adam(l);
	l->updates++;
	learner_update_target(l);
	l->loss = (float)(loss / n);
	return l->loss;
}

int
learner_train(struct learner *l, int steps)
{
	int done = 0;

	if (l->stored < (size_t)l->cfg.learn_start || l->stored == 0) {
		return 0;
	}
	for (; done < steps; done++) {
		for (int i = 0; i < l->cfg.batch; i++) {
			uint32_t k =
			    lace_rng_below(&l->rng, (uint32_t)l->stored);

			l->batch[i] = l->replay[k];
		}
		learner_train_batch(l, l->batch, l->cfg.batch);
	}
	return done;
}

void
learner_weights(const struct learner *l, float *out)
{
	memcpy(out, l->w, sizeof(l->w));
}

size_t
learner_stored(const struct learner *l)
{
	return l->stored;
}

int64_t
learner_updates(const struct learner *l)
{
	return l->updates;
}

float
learner_loss(const struct learner *l)
{
	return l->loss;
}

/* ---- actor ------------------------------------------------------------ */

struct actor *
actor_new(const struct actor_config *cfg)
{
	struct actor *a = agora_calloc(1, sizeof(*a));

	a->cfg = *cfg;
	lace_rng_seed(&a->rng, cfg->seed);
	return a;
}

void
actor_free(struct actor *a)
{
	agora_free(a);
}

void
actor_set_weights(struct actor *a, const float *w)
{
	memcpy(a->w, w, sizeof(a->w));
	a->has_weights = true;
}

float
actor_epsilon(const struct actor *a)
{
	const struct actor_config *c = &a->cfg;
	float frac;

	if (c->eps_steps <= 0 || a->steps >= c->eps_steps) {
		return c->eps_end;
	}
	frac = (float)a->steps / (float)c->eps_steps;
	return c->eps_start + frac * (c->eps_end - c->eps_start);
}

int
actor_act(struct actor *a, const float obs[O])
{
	float eps = actor_epsilon(a);

	a->steps++;
	if (!a->has_weights || lace_rng_uniform(&a->rng) < (double)eps) {
		return (int)lace_rng_below(&a->rng, A);
	}
	return policy_greedy(a->w, obs, NULL);
}
