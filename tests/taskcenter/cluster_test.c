/* SPDX-License-Identifier: MIT */
/* The Environment on a Redis Cluster of three masters started here
 * (redis-server --cluster-enabled yes, redis-cli --cluster create): slots
 * as Redis computes them, sessions on every node run from one node's URL
 * and listed from it, and a session's slot moved to another node between
 * two rounds (CLUSTER SETSLOT IMPORTING / MIGRATING, MIGRATE, SETSLOT
 * NODE), the next round finding every message, memory and registry
 * record. Skipped (77) only when redis-server has no cluster mode. Every
 * redis-server dies with this program, whatever way it ends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "redis_cmd.h"
#include "test.h"

static agora_center *
center_on(const char *session)
{
	char name[256];
	const char *kv[] = { "redis.url", t_cluster[0].url, NULL };

	snprintf(name, sizeof(name), "=%s", session);
	return t_center_with(name, kv);
}

static void
task_all(agora_center *c, const char *text)
{
	AGORA_PASS(agora_center_send_task_request(c, text, NULL, 0, NULL));
}

/* One round: every one of roles answers. */
static void
round_all(agora_center *c, const char *const *roles, size_t n)
{
	t_frames f;

	if (t_step(c, NULL, &f) != AGORA_OK) {
		fail_msg("step: %s", agora_center_errstr(c));
	}
	if (f.err != AGORA_OK) {
		fail_msg("step: %s", f.errstr);
	}
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(t_count(&f, roles[i], AGORA_FRAME_END), 1);
	}
	t_frames_free(&f);
}

static void
slots_are_the_clusters(void **state)
{
	static const char *const odd[] = {
		"",     "{}",   "{}a",   "a{}b",  "{a}{b}",
		"foo{", "}{x}", "x{y}z", "{{y}}", "agora:servers"
	};
	char key[64];

	(void)state;
	for (size_t i = 0; i < sizeof(odd) / sizeof(*odd); i++) {
		assert_int_equal(
		    agora__redis_slot(odd[i], strlen(odd[i])),
		    t_cluster_int(1, "CLUSTER", "KEYSLOT", odd[i]));
	}
	for (int i = 0; i < 400; i++) {
		snprintf(key, sizeof(key),
		         i % 2 == 0 ? "agora:{s%d}:inbox:r%d" : "k%d-%d", i,
		         i * 7919);
		assert_int_equal(agora__redis_slot(key, strlen(key)),
		                 t_cluster_int(1, "CLUSTER", "KEYSLOT", key));
	}
}

static void
a_session_on_another_node_runs(void **state)
{
	const char *const roles[] = { "a", "b", "c" };
	char session[64];
	agora_msgs h = { 0 };
	agora_center *c;

	(void)state;
	t_cluster_session_on(1, "other", session, sizeof(session));
	c = center_on(session);
	for (size_t i = 0; i < 3; i++) {
		t_add(c, roles[i], "echo", NULL);
	}
	task_all(c, "hello");
	round_all(c, roles, 3);
	round_all(c, roles, 3);
	AGORA_PASS(agora_env_history(agora_center_env(c), 0, &h));
	assert_int_equal(h.n, 7);
	agora_msgs_clear(&h);
	/* On its own node, none on the node the URL named. */
	assert_true(t_cluster_keys_in_slot(1, t_cluster_session_slot(session)) >
	            0);
	assert_int_equal(
	    t_cluster_keys_in_slot(0, t_cluster_session_slot(session)), 0);
	agora_center_free(c);
}

static void
sessions_on_every_node_are_listed(void **state)
{
	char session[T_CLUSTER_NODES][64];
	agora_center *c[T_CLUSTER_NODES];
	agora_strv all = { 0 };

	(void)state;
	for (int i = 0; i < T_CLUSTER_NODES; i++) {
		t_cluster_session_on(i, "list", session[i], sizeof(session[i]));
		c[i] = center_on(session[i]);
		t_add(c[i], "a", "echo", NULL);
		task_all(c[i], "hi");
		assert_true(t_cluster_keys_in_slot(
		                i, t_cluster_session_slot(session[i])) > 0);
	}
	AGORA_PASS(agora_env_sessions(t_cluster[0].r, &all));
	for (int i = 0; i < T_CLUSTER_NODES; i++) {
		assert_true(agora_strv_has(&all, session[i]));
		agora_center_free(c[i]);
	}
	agora_strv_clear(&all);
}

/* Role's memory as ids, "1 2 3 ". */
static char *
memory_ids(agora_center *c, const char *role)
{
	agora_msgs m = { 0 };
	agora_buf b;

	agora_buf_init(&b, 0);
	AGORA_PASS(agora_env_memory(agora_center_env(c), role, 0, &m));
	for (size_t k = 0; k < m.n; k++) {
		char id[24];
		snprintf(id, sizeof(id), "%llu ",
		         (unsigned long long)m.v[k]->id);
		(void)agora_buf_adds(&b, id);
	}
	agora_msgs_clear(&m);
	return agora_buf_steal(&b);
}

/* Each role's memory, as "id id id|id id|...". */
static char *
memories(agora_center *c, const char *const *roles, size_t n)
{
	agora_buf b;

	agora_buf_init(&b, 0);
	for (size_t i = 0; i < n; i++) {
		char *ids = memory_ids(c, roles[i]);
		(void)agora_buf_adds(&b, ids);
		(void)agora_buf_adds(&b, "|");
		agora_free(ids);
	}
	return agora_buf_steal(&b);
}

/* A center on a session of node `on` with echo agents for roles, after
 * a task to all and one round. */
static agora_center *
session_after_a_round(int on, const char *tag, char *session, size_t len,
                      const char *const *roles, size_t n)
{
	agora_center *c;

	t_cluster_session_on(on, tag, session, len);
	c = center_on(session);
	for (size_t i = 0; i < n; i++) {
		t_add(c, roles[i], "echo", NULL);
	}
	task_all(c, "hi");
	round_all(c, roles, n);
	return c;
}

/* Role's steps in the registry. */
static uint64_t
steps_of(agora_registry *reg, const char *role)
{
	agora_agent_info ai;
	uint64_t steps;

	AGORA_PASS(agora_registry_get(reg, role, &ai));
	steps = ai.steps;
	agora_agent_info_fini(&ai);
	return steps;
}

/* After two rounds of three echoes: the history whole, in order, every
 * memory grown by the two replies read and its own, nothing in flight,
 * each agent's registry record at two steps. */
static void
two_rounds_whole(agora_center *c, const char *const *roles)
{
	agora_msgs h = { 0 };
	char *after;

	AGORA_PASS(agora_env_history(agora_center_env(c), 0, &h));
	assert_int_equal(h.n, 7);
	for (size_t i = 0; i < h.n; i++) {
		assert_int_equal(h.v[i]->id, i + 1);
	}
	agora_msgs_clear(&h);
	after = memories(c, roles, 3);
	assert_string_equal(after, "1 2 3 4 5 |1 3 2 4 6 |1 4 2 3 7 |");
	agora_free(after);
	for (size_t i = 0; i < 3; i++) {
		t_ids_are(c, "inflight", roles[i], "");
		assert_int_equal(steps_of(agora_center_registry(c), roles[i]),
		                 2);
	}
}

static void
a_moved_session_loses_nothing(void **state)
{
	const char *const roles[] = { "a", "b", "c" };
	agora_env_session_info info;
	char session[64], *before;
	long long keys;
	agora_center *c;
	unsigned slot;

	(void)state;
	c = session_after_a_round(2, "moved", session, sizeof(session), roles,
	                          3);
	slot = t_cluster_session_slot(session);
	before = memories(c, roles, 3);
	assert_string_equal(before, "1 2 |1 3 |1 4 |");
	agora_free(before);
	keys = t_cluster_keys_in_slot(2, slot);
	assert_true(keys > 0);

	/* Between rounds, to node 0 (the one the URL names). */
	t_cluster_move_slot(slot, 2, 0);
	assert_int_equal(t_cluster_keys_in_slot(2, slot), 0);
	assert_int_equal(t_cluster_keys_in_slot(0, slot), keys);

	/* The next round: every round-1 reply read and answered. */
	round_all(c, roles, 3);
	two_rounds_whole(c, roles);

	/* Moved again: a pipeline (the session's info) goes to the old node
	 * first and is sent again where the slot now is. */
	t_cluster_move_slot(slot, 0, 1);
	AGORA_PASS(agora_env_session_info_get(
	    agora_env_redis(agora_center_env(c)), session, &info));
	assert_int_equal(info.messages, 7);
	assert_int_equal(info.roles, 3);
	round_all(c, roles, 3);
	assert_int_equal(t_cluster_keys_in_slot(0, slot), 0);
	assert_true(t_cluster_keys_in_slot(1, slot) >= keys);
	agora_center_free(c);
}

/* Two keys of session's slot moved from node 1 to node 2, the rest not. */
static void
half_moved(const char *session, unsigned slot)
{
	char s[16], port[16];
	char *agent_a = agora_sprintf("agora:{%s}:agent:a", session);
	char *history = agora_sprintf("agora:{%s}:history", session);

	snprintf(s, sizeof(s), "%u", slot);
	snprintf(port, sizeof(port), "%d", t_cluster[2].port);
	t_cluster_begin_move(s, 1, 2);
	agora__reply_free(t_cluster_do(
	    1, (const char *[]){ "MIGRATE", "127.0.0.1", port, "", "0", "5000",
	                         "KEYS", agent_a, history, NULL }));
	agora_free(agent_a);
	agora_free(history);
}

/* Role's kind in the registry (NULL: not found). */
static char *
kind_of(agora_registry *reg, const char *role)
{
	agora_agent_info ai;
	char *kind;

	AGORA_PASS(agora_registry_get(reg, role, &ai));
	kind = agora_strdup(ai.kind);
	agora_agent_info_fini(&ai);
	return kind;
}

static size_t
history_len(agora_env *env)
{
	agora_msgs h = { 0 };
	size_t n;

	AGORA_PASS(agora_env_history(env, 0, &h));
	n = h.n;
	agora_msgs_clear(&h);
	return n;
}

/* Half a session migrated: a plain command follows ASK to the key that
 * moved, a script does not (it would find half the session) and waits
 * until its time limit; once the slot has moved, both run. */
static void
during_a_migration_scripts_wait_and_plain_commands_ask(void **state)
{
	const char *const roles[] = { "a", "b" };
	char session[64], err[256], *kind;
	agora_registry *reg = NULL;
	agora_msgs h = { 0 };
	agora_redis *r = NULL;
	agora_env *env = NULL;
	agora_center *c;

	(void)state;
	c = session_after_a_round(1, "ask", session, sizeof(session), roles, 2);
	half_moved(session, t_cluster_session_slot(session));

	/* A short time limit: the script waits that long. */
	AGORA_PASS(
	    agora_redis_open(&r, t_cluster[0].url, 300, err, sizeof(err)));
	AGORA_PASS(agora_registry_open(&reg, r, session));
	AGORA_PASS(agora_env_open(&env, r, session, NULL));
	kind = kind_of(reg, "a"); /* moved: ASK */
	assert_string_equal(kind, "echo");
	agora_free(kind);
	kind = kind_of(reg, "b"); /* still there */
	assert_string_equal(kind, "echo");
	agora_free(kind);
	AGORA_FAIL(agora_env_history(env, 0, &h), AGORA_EREDIS);
	assert_true(strncmp(agora_redis_errstr(r), "ASK ", 4) == 0);

	/* The rest moved: the script runs, on the whole session. */
	t_cluster_move_slot(t_cluster_session_slot(session), 1, 2);
	assert_int_equal(history_len(env), 3);
	round_all(c, roles, 2);
	agora_env_close(env);
	agora_registry_close(reg);
	agora_redis_close(r);
	agora_center_free(c);
}

/* The next pub/sub message on sub; whether its channel names session. */
static bool
event_of(agora_redis *sub, const char *session)
{
	agora_reply *rep = NULL;
	const char *ch;
	size_t len;
	bool ours;

	AGORA_PASS(agora__redis_read_wait(sub, &rep, 5000));
	ch = agora__reply_str(agora__reply_at(rep, 2), &len);
	assert_non_null(ch);
	ours = len > 0 && strstr(ch, session) != NULL;
	agora__reply_free(rep);
	return ours;
}

/* A UI subscribed on one node hears a step's replies stored on another:
 * PUBLISH reaches every node, but PUBSUB NUMPAT counts only its own, so
 * in a cluster a batch always publishes. */
static void
events_reach_a_subscriber_on_another_node(void **state)
{
	const char *const roles[] = { "a", "b" };
	char session[64], err[256];
	agora_redis *sub = NULL;
	agora_center *c;
	int events = 0;

	(void)state;
	AGORA_PASS(
	    agora_redis_open(&sub, t_cluster[2].url, 5000, err, sizeof(err)));
	AGORA_PASS(
	    agora__redis_cmdv(sub, NULL, "PSUBSCRIBE", "agora:*:events", NULL));
	/* The task, then one store of two replies. */
	c = session_after_a_round(1, "events", session, sizeof(session), roles,
	                          2);
	while (events < 3) {
		events += event_of(sub, session) ? 1 : 0;
	}
	agora_redis_close(sub);
	agora_center_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(slots_are_the_clusters),
		cmocka_unit_test(a_session_on_another_node_runs),
		cmocka_unit_test(sessions_on_every_node_are_listed),
		cmocka_unit_test(a_moved_session_loses_nothing),
		cmocka_unit_test(
		    during_a_migration_scripts_wait_and_plain_commands_ask),
		cmocka_unit_test(events_reach_a_subscriber_on_another_node),
	};
	int rv = t_cluster_start();

	if (rv != 0) {
		t_cluster_stop();
		return rv;
	}
	rv = cmocka_run_group_tests(tests, NULL, NULL);
	t_cluster_stop();
	return rv;
}
