/* SPDX-License-Identifier: MIT */
/* The AgentRegistry on a real redis-server, and the records a center keeps
 * in it through a step. */
#include <string.h>
#include <unistd.h>

#include "test.h"

static void
put_get_list_in_order(void **state)
{
	agora_redis *r = t_redis_open();
	agora_registry *reg = NULL;
	agora_agent_info a = { 0 }, got = { 0 };
	agora_agent_info *all = NULL;
	size_t n = 0;
	char session[64];

	(void)state;
	snprintf(session, sizeof(session), "reg%d", (int)getpid());
	AGORA_PASS(agora_registry_open(&reg, r, session));
	a.kind = (char *)(uintptr_t) "echo";
	a.server = (char *)(uintptr_t) "local";
	a.role = (char *)(uintptr_t) "zed";
	AGORA_PASS(agora_registry_put(reg, &a));
	a.role = (char *)(uintptr_t) "alpha";
	a.human = true;
	AGORA_PASS(agora_registry_put(reg, &a));
	AGORA_PASS(agora_registry_get(reg, "alpha", &got));
	assert_string_equal(got.kind, "echo");
	assert_true(got.human);
	assert_false(got.watcher);
	assert_int_equal(got.status, AGORA_AGENT_IDLE);
	assert_true(got.last_seen_ms > 0);
	agora_agent_info_fini(&got);
	AGORA_FAIL(agora_registry_get(reg, "nobody", &got), AGORA_ENOTFOUND);
	AGORA_PASS(agora_registry_list(reg, &all, &n));
	assert_int_equal(n, 2);
	assert_string_equal(all[0].role, "zed"); /* registration order */
	assert_string_equal(all[1].role, "alpha");
	agora_agent_infos_free(all, n);
	/* Putting again keeps the first place. */
	a.role = (char *)(uintptr_t) "zed";
	AGORA_PASS(agora_registry_put(reg, &a));
	AGORA_PASS(agora_registry_list(reg, &all, &n));
	assert_string_equal(all[0].role, "zed");
	agora_agent_infos_free(all, n);
	AGORA_PASS(agora_registry_set_human(reg, "alpha", false));
	AGORA_PASS(agora_registry_get(reg, "alpha", &got));
	assert_false(got.human);
	agora_agent_info_fini(&got);
	AGORA_PASS(agora_registry_clear(reg));
	AGORA_PASS(agora_registry_list(reg, &all, &n));
	assert_int_equal(n, 0);
	agora_agent_infos_free(all, n);
	agora_registry_close(reg);
	agora_redis_close(r);
}

static void
mark_many_sets_status_and_counts_steps(void **state)
{
	agora_redis *r = t_redis_open();
	agora_registry *reg = NULL;
	agora_agent_info a = { 0 }, got = { 0 };
	const char *roles[] = { "a", "b" };
	char session[64];

	(void)state;
	snprintf(session, sizeof(session), "reg%d-mark", (int)getpid());
	AGORA_PASS(agora_registry_open(&reg, r, session));
	for (int i = 0; i < 2; i++) {
		a.role = (char *)(uintptr_t)roles[i];
		a.kind = (char *)(uintptr_t) "echo";
		AGORA_PASS(agora_registry_put(reg, &a));
	}
	AGORA_PASS(
	    agora_registry_mark_many(reg, roles, 2, AGORA_AGENT_BUSY, false));
	AGORA_PASS(agora_registry_get(reg, "b", &got));
	assert_int_equal(got.status, AGORA_AGENT_BUSY);
	assert_int_equal(got.steps, 0);
	agora_agent_info_fini(&got);
	AGORA_PASS(
	    agora_registry_mark_many(reg, roles, 2, AGORA_AGENT_IDLE, true));
	AGORA_PASS(
	    agora_registry_mark_many(reg, roles, 1, AGORA_AGENT_ERROR, true));
	AGORA_PASS(agora_registry_get(reg, "a", &got));
	assert_int_equal(got.status, AGORA_AGENT_ERROR);
	assert_int_equal(got.steps, 2);
	agora_agent_info_fini(&got);
	agora_registry_close(reg);
	agora_redis_close(r);
}

static void
center_keeps_the_registry_current(void **state)
{
	agora_center *c = t_center("regcenter");
	agora_registry *reg = agora_center_registry(c);
	agora_agent_info got = { 0 };
	t_frames f;

	(void)state;
	t_add(c, "talker", "echo", NULL);
	t_add_flags(c, "person", "user", NULL, true, false);
	t_add_flags(c, "judge", "echo", NULL, false, true);
	t_add(c, "broken", "fail", NULL);
	AGORA_PASS(agora_registry_get(reg, "person", &got));
	assert_true(got.human);
	assert_string_equal(got.kind, "user");
	assert_string_equal(got.server, "local");
	agora_agent_info_fini(&got);
	AGORA_PASS(agora_registry_get(reg, "judge", &got));
	assert_true(got.watcher);
	agora_agent_info_fini(&got);
	AGORA_PASS(agora_center_send_task_request(c, "go", NULL, 0, NULL));
	AGORA_PASS(t_step(c, NULL, &f));
	AGORA_PASS(f.err);
	AGORA_PASS(agora_registry_get(reg, "talker", &got));
	assert_int_equal(got.status, AGORA_AGENT_IDLE);
	assert_int_equal(got.steps, 1);
	agora_agent_info_fini(&got);
	AGORA_PASS(agora_registry_get(reg, "broken", &got));
	assert_int_equal(got.status, AGORA_AGENT_ERROR);
	agora_agent_info_fini(&got);
	/* The person had no response: not stepped. */
	AGORA_PASS(agora_registry_get(reg, "person", &got));
	assert_int_equal(got.steps, 0);
	agora_agent_info_fini(&got);
	t_frames_free(&f);
	agora_center_free(c);
}

static void
a_working_agent_is_busy_until_it_answers(void **state)
{
	agora_center *c = t_center("regbusy");
	agora_registry *reg = agora_center_registry(c);
	agora_agent_info got = { 0 };
	agora_step *st = NULL;
	const agora_frame *f;

	(void)state;
	t_add(c, "fast", "echo", NULL);
	t_add(c, "slow", "sleep", "{\"seconds\":0.2}");
	AGORA_PASS(agora_center_send_task_request(c, "go", NULL, 0, NULL));
	AGORA_PASS(agora_center_step(c, NULL, &st));
	AGORA_PASS(agora_step_next(st, &f)); /* fast's chunk */
	AGORA_PASS(agora_registry_get(reg, "slow", &got));
	assert_int_equal(got.status, AGORA_AGENT_BUSY);
	agora_agent_info_fini(&got);
	/* fast answered inside its act: it was never busy. */
	AGORA_PASS(agora_registry_get(reg, "fast", &got));
	assert_int_equal(got.status, AGORA_AGENT_IDLE);
	agora_agent_info_fini(&got);
	while (agora_step_next(st, &f) == AGORA_OK && f != NULL) {
	}
	agora_step_free(st);
	AGORA_PASS(agora_registry_get(reg, "slow", &got));
	assert_int_equal(got.status, AGORA_AGENT_IDLE);
	assert_int_equal(got.steps, 1);
	agora_agent_info_fini(&got);
	agora_center_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(put_get_list_in_order),
		cmocka_unit_test(mark_many_sets_status_and_counts_steps),
		cmocka_unit_test(center_keeps_the_registry_current),
		cmocka_unit_test(a_working_agent_is_busy_until_it_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
