/* SPDX-License-Identifier: MIT */
/* The acceptance scenarios 1-13 of ModelScope-Agent's multi-agent mode
 * (the Environment and the registry), each with our decision: Keep (we
 * reproduce it) or Fix (we deliberately differ, and say how).
 * docs/taskcenter.md lists the same decisions; 14-40 are in
 * scenarios_test.c. */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scenarios.h"

/* 1. Keep: a role registered later gets its own queue and view. */
static void
s01_register_roles(void **state)
{
	agora_center *c = t_center("s01");
	const char *more[] = { "agent3" };
	agora_strv roles = { 0 };

	(void)state;
	t_add(c, "agent1", "echo", NULL);
	t_add(c, "agent2", "echo", NULL);
	AGORA_PASS(agora_env_register_roles(agora_center_env(c), more, 1));
	AGORA_PASS(agora_env_roles(agora_center_env(c), &roles));
	assert_int_equal(roles.n, 3);
	assert_string_equal(roles.v[2], "agent3");
	task_to(c, "to agent3", "agent3", NULL);
	assert_int_equal(pending(c, "agent3"), 1);
	agora_strv_clear(&roles);
	agora_center_free(c);
}

/* 2. Keep: a stored message is in history and extracted exactly once. */
static void
s02_store_and_extract(void **state)
{
	agora_center *c = t_center("s02");
	agora_msgs ms, h = { 0 };

	(void)state;
	t_add(c, "agent1", "echo", NULL);
	t_add(c, "agent2", "echo", NULL);
	AGORA_PASS(agora_center_reset(c, true));
	task_to(c, "Hello, World!", "agent2", "agent1");
	AGORA_PASS(agora_env_history(agora_center_env(c), 0, &h));
	assert_int_equal(h.n, 1);
	ms = drain(c, "agent2");
	assert_int_equal(ms.n, 1);
	assert_string_equal(ms.v[0]->content, "Hello, World!");
	assert_string_equal(ms.v[0]->sent_from, "agent1");
	assert_int_equal(pending(c, "agent2"), 0);
	agora_msgs_clear(&ms);
	agora_msgs_clear(&h);
	agora_center_free(c);
}

/* 3 and 4. Keep: full history in order; limit 1 gives the last. Upstream
 * has a Ray and a local queue variant; we have one implementation, so 4
 * runs the same checks after the queue was drained. */
static void
history_checks(bool drain_first)
{
	agora_center *c = t_center("s03");
	agora_msgs h = { 0 };

	t_add(c, "agent1", "echo", NULL);
	t_add(c, "agent2", "echo", NULL);
	task_to(c, "First Message", "agent2", "agent1");
	task_to(c, "Second Message", "agent2", "agent1");
	if (drain_first) {
		agora_msgs ms = drain(c, "agent2");
		agora_msgs_clear(&ms);
	}
	AGORA_PASS(agora_env_history(agora_center_env(c), 0, &h));
	assert_int_equal(h.n, 2);
	assert_string_equal(h.v[0]->content, "First Message");
	agora_msgs_clear(&h);
	AGORA_PASS(agora_env_history(agora_center_env(c), 1, &h));
	assert_int_equal(h.n, 1);
	assert_string_equal(h.v[0]->content, "Second Message");
	agora_msgs_clear(&h);
	agora_center_free(c);
}

static void
s03_extract_all_history(void **state)
{
	(void)state;
	history_checks(false);
}

static void
s04_extract_all_history_local(void **state)
{
	(void)state;
	history_checks(true);
}

/* 5. Keep: notified roles exactly, in registration order. */
static void
s05_get_roles(void **state)
{
	agora_center *c = t_center("s05");
	agora_strv n = { 0 };

	(void)state;
	t_add(c, "agent1", "echo", NULL);
	t_add(c, "agent2", "echo", NULL);
	task_to(c, "First Message", "agent1", "agent2");
	task_to(c, "Second Message", "agent2", "agent1");
	AGORA_PASS(agora_env_notified_roles(agora_center_env(c), &n));
	assert_int_equal(n.n, 2);
	assert_string_equal(n.v[0], "agent1");
	assert_string_equal(n.v[1], "agent2");
	agora_strv_clear(&n);
	agora_center_free(c);
}

/* 6. Keep (as add_agents): an added agent works in the center's env. */
static void
s06_set_env_context(void **state)
{
	agora_center *c = t_center("s06");
	agora_strv roles = { 0 };

	(void)state;
	t_add(c, "test_agent1", "echo", NULL);
	assert_non_null(agora_center_agent(c, "test_agent1"));
	AGORA_PASS(agora_env_roles(agora_center_env(c), &roles));
	assert_true(agora_strv_has(&roles, "test_agent1"));
	agora_strv_clear(&roles);
	agora_center_free(c);
}

/* 7. Keep: an agent reports the role it was made with. */
static void
s07_role(void **state)
{
	agora_agent *a = NULL;
	agora_agent_spec spec = { "test_agent2", "echo", NULL,
		                  false,         false,  NULL };
	char err[256];

	(void)state;
	agora_kinds_builtin();
	AGORA_PASS(agora_agent_new(&a, &spec, err, sizeof(err)));
	assert_string_equal(agora_agent_role(a), "test_agent2");
	agora_agent_free(a);
}

/* 8 and 9. Keep: a published message is what the recipient pulls; the
 * default rendering is "sender: content". */
static void
publish_pull(const char *to)
{
	agora_center *c = t_center("s08");
	agora_step_opts o = { 0 };
	const char *who[] = { "test_agent3" };
	t_frames f;

	t_add(c, "test_agent3", "prompt", NULL);
	t_add(c, "test_agent2", "echo", NULL);
	t_add(c, "test_agent1", "echo", NULL);
	task_to(c, "Hello, World!", to, "test_agent2");
	o = allowed(who, 1);
	AGORA_PASS(t_step(c, &o, &f));
	char *text = t_text(&f, "test_agent3");
	assert_string_equal(text, "task=\ntest_agent2: Hello, World!");
	agora_free(text);
	t_frames_free(&f);
	agora_center_free(c);
}

static void
s08_publish_pull(void **state)
{
	(void)state;
	publish_pull("test_agent3");
}

static void
s09_publish_pull_all(void **state)
{
	(void)state;
	publish_pull(NULL);
}

/* 10. Keep, as a multi-process test: another process publishes through
 * the same Redis session, this one pulls. */
static void
s10_publish_pull_remote(void **state)
{
	agora_center *c = t_center("s10");
	agora_msgs ms;
	int status = 0;
	pid_t pid;

	(void)state;
	t_add(c, "getter", "echo", NULL);
	t_add(c, "sender", "echo", NULL);
	pid = fork();
	if (pid == 0) {
		/* The child opens its own connection: a separate process. */
		agora_redis *r = NULL;
		agora_env *env = NULL;
		agora_msg *m =
		    agora_msg_new("sender", "getter", "Hello, World!");
		char err[256];
		int ok = agora_redis_open(&r, t_redis_url(), 2000, err,
		                          sizeof(err)) == AGORA_OK &&
		         agora_env_open(&env, r, agora_center_session(c),
		                        NULL) == AGORA_OK &&
		         agora_env_store(env, m) == AGORA_OK;
		_exit(ok ? 0 : 1);
	}
	assert_true(pid > 0);
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ms = drain(c, "getter");
	assert_int_equal(ms.n, 1);
	assert_string_equal(ms.v[0]->content, "Hello, World!");
	agora_msgs_clear(&ms);
	agora_center_free(c);
}

/* 11, 12, 13. Keep: registered agents are in the registry and found by
 * role; registering a list works the same. */
static void
s11_13_registry(void **state)
{
	agora_center *c = t_center("s11");
	agora_agent *v[2] = { NULL, NULL };
	agora_agent_spec a = { "test_agent", "echo", NULL, false, false, NULL };
	agora_agent_spec b = {
		"other_agent", "echo", NULL, false, false, NULL
	};
	agora_agent_info info = { 0 };
	char err[256];

	(void)state;
	AGORA_PASS(agora_agent_new(&v[0], &a, err, sizeof(err)));
	AGORA_PASS(agora_agent_new(&v[1], &b, err, sizeof(err)));
	AGORA_PASS(agora_center_add_agents(c, v, 2));
	AGORA_PASS(
	    agora_registry_get(agora_center_registry(c), "test_agent", &info));
	assert_int_equal(info.status, AGORA_AGENT_IDLE);
	agora_agent_info_fini(&info);
	assert_ptr_equal(agora_center_agent(c, "test_agent"), v[0]);
	assert_ptr_equal(agora_center_agent(c, "other_agent"), v[1]);
	agora_center_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(s01_register_roles),
		cmocka_unit_test(s02_store_and_extract),
		cmocka_unit_test(s03_extract_all_history),
		cmocka_unit_test(s04_extract_all_history_local),
		cmocka_unit_test(s05_get_roles),
		cmocka_unit_test(s06_set_env_context),
		cmocka_unit_test(s07_role),
		cmocka_unit_test(s08_publish_pull),
		cmocka_unit_test(s09_publish_pull_all),
		cmocka_unit_test(s10_publish_pull_remote),
		cmocka_unit_test(s11_13_registry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
