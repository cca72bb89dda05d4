/* SPDX-License-Identifier: MIT */
/* The smallest agora program, the README's C example in full: two agents,
 * a task for one of them, a step whose replies are whispered to the other,
 * the frames printed as they stream. No Redis URL is given, so agora
 * starts a private redis-server for the program's lifetime.
 * Build: cc hello.c $(pkg-config --cflags --libs agora) */
#include <stdio.h>

#include <agora/agora.h>
#include <agora/kinds.h>

int
main(void)
{
	const char *to[] = { "joe" };
	const char *whisper[] = { "trump" };
	agora_agent_spec specs[] = {
		{ .role = "joe", .kind = "echo" },
		{ .role = "trump", .kind = "echo" },
	};
	agora_agent *agents[2] = { NULL, NULL };
	const agora_frame *frame;
	agora_center *c = NULL;
	agora_step *st = NULL;
	agora_config cfg;
	char err[512];
	int code = 1;

	agora_kinds_builtin(); /* echo, scripted, user, random ... */
	agora_config_init(&cfg);
	if (agora_center_new(&c, &cfg, err, sizeof(err)) != AGORA_OK) {
		fprintf(stderr, "hello: %s\n", err);
		goto out;
	}
	for (size_t i = 0; i < 2; i++) {
		if (agora_agent_new(&agents[i], &specs[i], err, sizeof(err)) !=
		    AGORA_OK) {
			fprintf(stderr, "hello: %s\n", err);
			goto out;
		}
	}
	if (agora_center_add_agents(c, agents, 2) != AGORA_OK) {
		fprintf(stderr, "hello: %s\n", agora_center_errstr(c));
		goto out;
	}
	agents[0] = agents[1] = NULL; /* the center owns them now */
	if (agora_center_send_task_request(c, "How do we land on the moon?", to,
	                                   1, NULL) != AGORA_OK ||
	    agora_center_step(
	        c, &(agora_step_opts){ .send_to = whisper, .n_send_to = 1 },
	        &st) != AGORA_OK) {
		fprintf(stderr, "hello: %s\n", agora_center_errstr(c));
		goto out;
	}
	while (agora_step_next(st, &frame) == AGORA_OK && frame != NULL) {
		if (frame->type == AGORA_FRAME_CHUNK) {
			printf("<%s>: %.*s\n", frame->role, (int)frame->len,
			       frame->content);
		}
	}
	code = agora_step_errstr(st)[0] == '\0' ? 0 : 1;
out:
	agora_step_free(st);
	agora_agent_free(agents[0]);
	agora_agent_free(agents[1]);
	agora_center_free(c);
	agora_config_fini(&cfg);
	return code;
}
