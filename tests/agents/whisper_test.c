/* SPDX-License-Identifier: MIT */
/* A whisper (a step's send_to) reaches only the roles named, whether the
 * agents run in this process or on an agent server: a speaks to b alone,
 * and c, who heard the task too, reads only the task. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

/* Three tally agents (they answer "n=<messages read> <last> m=<memory>"),
 * placed as given; a whispers to b. */
static void
whisper(const char *placement)
{
	agora_center *c = t_center_servers("whisper", "1");
	const char *speaker[] = { "a" }, *to_b[] = { "b" };
	const char *listeners[] = { "b", "c" };
	agora_step_opts o1 = { .allowed_roles = speaker,
		               .n_allowed = 1,
		               .send_to = to_b,
		               .n_send_to = 1 };
	agora_step_opts o2 = { .allowed_roles = listeners, .n_allowed = 2 };
	t_frames f;
	char *b, *cc;

	t_add_placed(c, "a", "tally", NULL, placement);
	t_add_placed(c, "b", "tally", NULL, placement);
	t_add_placed(c, "c", "tally", NULL, placement);
	AGORA_PASS(agora_center_send_task_request(c, "task", NULL, 0, NULL));
	AGORA_PASS(t_step(c, &o1, &f));
	AGORA_PASS(f.err);
	assert_int_equal(t_count(&f, "a", AGORA_FRAME_END), 1);
	t_frames_free(&f);
	AGORA_PASS(t_step(c, &o2, &f));
	AGORA_PASS(f.err);
	b = t_text(&f, "b");
	cc = t_text(&f, "c");
	/* b read the task and a's reply; c the task alone. */
	if (strncmp(b, "n=2 ", 4) != 0 || strncmp(cc, "n=1 task", 8) != 0) {
		fail_msg("%s: b said '%s', c said '%s'", placement, b, cc);
	}
	agora_free(b);
	agora_free(cc);
	t_frames_free(&f);
	agora_center_free(c);
}

static void
a_whisper_stays_private_in_process(void **state)
{
	(void)state;
	whisper("local");
}

static void
a_whisper_stays_private_on_a_server(void **state)
{
	(void)state;
	whisper("child");
}

int
main(void)
{
	int rc;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_whisper_stays_private_in_process),
		cmocka_unit_test(a_whisper_stays_private_on_a_server),
	};

	if (!t_servers_init("whisper_test")) {
		return 0;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	return t_servers_clean("whisper_test") ? rc : 1;
}
