/* SPDX-License-Identifier: MIT */
/* agora sim on a Redis Cluster of three masters started here: the
 * moderators' sessions spread over every master, and a session's slot
 * moved to another node between two rounds by redis-cli --cluster reshard
 * loses nothing: the next round counts everyone and
 * the session's history holds both rounds' answers. Skipped (77) only when
 * redis-server has no cluster mode. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

/* A sessions' prefix whose first group's session sits in one of the
 * first 40 slots (node 0's lowest), so that redis-cli --cluster reshard,
 * which moves a node's slots from its lowest up, moves it within 40. */
static void
prefix_low(char *out, size_t len, unsigned *slot)
{
	for (int k = 0;; k++) {
		char session[96];
		snprintf(out, len, "rs%d-%d", (int)getpid(), k);
		snprintf(session, sizeof(session), "%s-g0", out);
		*slot = t_cluster_session_slot(session);
		if (*slot < 40 && t_cluster_owner(*slot) == 0) {
			return;
		}
	}
}

/* How many answers of participants a session's history holds. */
static size_t
answers_in(const char *session)
{
	const char *kv[] = { "redis.url", t_cluster[0].url, NULL };
	agora_msgs ms = { 0 };
	agora_center *c;
	char name[128];
	size_t n = 0;

	snprintf(name, sizeof(name), "=%s", session);
	c = t_center_with(name, kv);
	AGORA_PASS(agora_env_history(agora_center_env(c), 10000000, &ms));
	for (size_t i = 0; i < ms.n; i++) {
		n += ms.v[i]->sent_from[0] == 'p';
	}
	agora_msgs_clear(&ms);
	agora_center_free(c);
	return n;
}

static void
groups_spread_and_a_moved_session_loses_nothing(void **state)
{
	agora_sim_opts o = {
		.participants = 3000, .moderators = 3, .servers = 2, .seed = 11
	};
	agora_config cfg;
	agora_sim_round r;
	agora_sim *s = NULL;
	char err[512], prefix[64], cmd[1024];
	unsigned slot;
	int from, to;
	long long keys;

	(void)state;
	prefix_low(prefix, sizeof(prefix), &slot);
	agora_config_init(&cfg);
	agora_config_set(&cfg, "session", prefix, err, 512);
	agora_config_set(&cfg, "redis.url", t_cluster[0].url, err, 512);
	agora_config_set(&cfg, "server.program", getenv("AGORA_BIN"), err, 512);
	o.cfg = &cfg;
	if (agora_sim_new(&s, &o, err, sizeof(err)) != AGORA_OK) {
		fail_msg("agora_sim_new: %s", err);
	}
	AGORA_PASS(agora_sim_play(s, &r, err, sizeof(err)));
	assert_int_equal(r.answered, 3000);
	assert_int_equal(r.no_answer, 0);
	/* One moderator's session on each master. */
	for (size_t g = 0; g < 3; g++) {
		int owner = t_cluster_owner(
		    t_cluster_session_slot(r.groups[g].session));
		assert_int_equal(owner, (int)g);
		assert_non_null(strstr(r.groups[g].node, "127.0.0.1:"));
		for (size_t h = 0; h < g; h++) {
			assert_string_not_equal(r.groups[g].node,
			                        r.groups[h].node);
		}
	}
	agora_sim_round_fini(&r);

	/* Between rounds, redis-cli --cluster reshard moves node 0's
	 * lowest slots, the first session's among them, to node 1. */
	assert_int_equal(t_cluster_session_slot(agora_sim_session(s, 0)), slot);
	from = 0;
	to = 1;
	keys = t_cluster_keys_in_slot(from, slot);
	assert_true(keys > 1000);
	snprintf(cmd, sizeof(cmd),
	         "redis-cli --cluster reshard 127.0.0.1:%d --cluster-from %s "
	         "--cluster-to %s --cluster-slots %u --cluster-yes "
	         ">/dev/null 2>&1",
	         t_cluster[0].port, t_cluster[from].id, t_cluster[to].id,
	         slot + 1);
	assert_int_equal(system(cmd), 0); /* NOLINT(cert-env33-c) */
	for (int i = 0; i < T_CLUSTER_NODES; i++) {
		assert_int_equal(t_cluster_owner_seen_by(i, slot), to);
	}
	assert_int_equal(t_cluster_keys_in_slot(from, slot), 0);
	assert_int_equal(t_cluster_keys_in_slot(to, slot), keys);

	AGORA_PASS(agora_sim_play(s, &r, err, sizeof(err)));
	assert_int_equal(r.answered, 3000);
	assert_int_equal(r.no_answer, 0);
	assert_int_equal(r.extra + r.stray, 0);
	assert_int_equal(answers_in(agora_sim_session(s, 0)), 2 * 1000);
	agora_sim_round_fini(&r);
	agora_sim_free(s);
	agora_config_fini(&cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    groups_spread_and_a_moved_session_loses_nothing),
	};
	int rv;

	if (getenv("AGORA_BIN") == NULL) {
		printf("SKIP: AGORA_BIN must name the agora program (run with "
		       "ctest)\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	agora_kinds_builtin();
	rv = t_cluster_start();
	if (rv != 0) {
		t_cluster_stop();
		return rv;
	}
	rv = cmocka_run_group_tests(tests, NULL, NULL);
	t_cluster_stop();
	return rv;
}
