/* SPDX-License-Identifier: MIT */
/* Work bigger than one request to an agent server: a server that takes at
 * most 64 KiB per request gets its agents' creation, a step of 2000 roles
 * and 400 queued calls in several requests, each under its limit, and all
 * of it is done; one call that alone is over the limit is refused at once
 * with the numbers, not sent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

#define NAGENTS   2000
#define NCALLS    400
#define PAD_BYTES 3000

static char roles[NAGENTS][AGORA_ROLE_MAX + 1];

static void
work_over_one_request_goes_in_several(void **state)
{
	agora_center *c = t_center_servers("split", "0");
	const char *allowed[NAGENTS], *sink[] = { "sink" };
	agora_step_opts o = { .task = "hi",
		              .allowed_roles = allowed,
		              .n_allowed = NAGENTS,
		              .send_to = sink,
		              .n_send_to = 1 };
	agora_future *f[NCALLS], *big;
	char url[256], *pad, *opts, text[1100];
	agora_proc *srv =
	    t_spawn_server("split", "--max-request", "65536", url, sizeof(url));
	t_frames fr;

	(void)state;
	/* 20 agents of 3 KB options each: 60 KB of create ops, with the
	 * others, far over 16 KiB (a quarter of the server's limit). */
	pad = agora_calloc(PAD_BYTES + 1, 1);
	memset(pad, 'p', PAD_BYTES);
	opts = agora_sprintf("{\"prefix\":\"%s\"}", pad);
	for (int i = 0; i < NAGENTS; i++) {
		snprintf(roles[i], sizeof(roles[i]),
		         "an-agent-with-a-long-name-to-fill-requests-%04d", i);
		allowed[i] = roles[i];
		t_add_placed(c, roles[i], "echo", i < 20 ? opts : NULL, url);
	}
	t_add_placed(c, "sink", "echo", NULL, url);
	AGORA_PASS(t_step(c, &o, &fr));
	AGORA_PASS(fr.err);
	for (int i = 0; i < NAGENTS; i++) {
		char *v = t_text(&fr, roles[i]);
		if (t_count(&fr, roles[i], AGORA_FRAME_END) != 1 ||
		    strcmp(v + (i < 20 ? PAD_BYTES : 0), "hi") != 0) {
			fail_msg("%s: %zu ends, said '%.40s'", roles[i],
			         t_count(&fr, roles[i], AGORA_FRAME_END), v);
		}
		agora_free(v);
	}
	t_frames_free(&fr);

	/* 400 calls of 1 KB made without waiting: queued, sent in batches
	 * under the limit, answered in order. */
	memset(text, 'c', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	for (int k = 0; k < NCALLS; k++) {
		snprintf(text, 8, "%05d:", k);
		text[6] = 'c';
		AGORA_PASS(agora_center_call(c, "sink", text, &f[k]));
	}
	for (int k = 0; k < NCALLS; k++) {
		const char *v = NULL;
		AGORA_PASS(agora_future_wait(f[k], 20000, &v));
		snprintf(text, 8, "%05d:", k);
		text[6] = 'c';
		assert_string_equal(v, text);
		agora_future_free(f[k]);
	}

	/* One call over the server's whole limit: refused here, at once. */
	{
		char *huge = agora_calloc(70000, 1);
		memset(huge, 'h', 69999);
		AGORA_FAIL(agora_center_call(c, "sink", huge, &big),
		           AGORA_ETOOBIG);
		assert_null(big);
		assert_non_null(
		    strstr(agora_center_errstr(c), "over the request limit"));
		assert_non_null(strstr(agora_center_errstr(c), "65536"));
		agora_free(huge);
	}
	agora_center_free(c);
	agora_proc_stop(srv, 5000);
	agora_proc_free(srv);
	agora_free(opts);
	agora_free(pad);
}

int
main(void)
{
	int rc;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(work_over_one_request_goes_in_several),
	};

	if (!t_servers_init("split_test")) {
		return 0;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	return rc != 0 || !t_servers_clean("split_test");
}
