/* SPDX-License-Identifier: MIT */
/* A server with a token refuses every op but `alive` without it, or with a
 * wrong one: each op is sent well formed (the same request with the token
 * succeeds, so it is the token that was missing, not the op that was
 * wrong), and nothing it asked for happened. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

#define TOKEN "abcdefghijklmnop0123"

static char session[64];

/* The first result of [op] sent with token (NULL: none). */
static char *
ask(const char *url, const char *token, const char *op)
{
	agora_buf ops, reply;
	char err[512];

	agora_buf_init(&ops, 0);
	agora_buf_init(&reply, 0);
	agora_buf_addf(&ops, "[%s]", op);
	AGORA_PASS(agora_server_request(url, token, ops.data, 5000, &reply, err,
	                                sizeof(err)));
	agora_buf_fini(&ops);
	return agora_buf_steal(&reply);
}

static void
refused(const char *url, const char *token, const char *op)
{
	char *reply = ask(url, token, op);

	if (strstr(reply, "\"code\":\"EAUTH\"") == NULL) {
		fail_msg("%s with token '%s' was not refused: %s", op,
		         token != NULL ? token : "(none)", reply);
	}
	agora_free(reply);
}

static void
accepted(const char *url, const char *op)
{
	char *reply = ask(url, TOKEN, op);

	if (strstr(reply, "\"ok\":true") == NULL) {
		fail_msg("%s with the token failed: %s", op, reply);
	}
	agora_free(reply);
}

static void
every_op_but_alive_needs_the_token(void **state)
{
	char path[64], url[256], op[1024], *reply;
	const char *ops[16];
	size_t n = 0;
	agora_proc *srv;
	FILE *f;

	(void)state;
	snprintf(session, sizeof(session), "tok%d", (int)getpid());
	snprintf(path, sizeof(path), "/tmp/agora-token-%d", (int)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", TOKEN);
	fclose(f);
	srv = t_spawn_server("token", "--token-file", path, url, sizeof(url));
	unlink(path);

	/* Every op of docs/protocol.md, well formed. */
#define OP(...)                                        \
	do {                                           \
		snprintf(op, sizeof(op), __VA_ARGS__); \
		ops[n++] = agora_strdup(op);           \
	} while (0)
	OP("{\"op\":\"create\",\"session\":\"%s\",\"redis\":\"%s\","
	   "\"role\":\"a\",\"kind\":\"echo\"}",
	   session, t_redis_url());
	OP("{\"op\":\"info\"}");
	OP("{\"op\":\"list\"}");
	OP("{\"op\":\"memory\",\"session\":\"%s\",\"redis\":\"%s\","
	   "\"role\":\"a\"}",
	   session, t_redis_url());
	OP("{\"op\":\"set_models\",\"models\":[]}");
	OP("{\"op\":\"step\",\"session\":\"%s\",\"redis\":\"%s\","
	   "\"sid\":\"tok-s1\",\"roles\":[\"a\"],\"send_to\":[],"
	   "\"llm_args\":\"{}\",\"deadline_ms\":5000}",
	   session, t_redis_url());
	OP("{\"op\":\"call\",\"session\":\"%s\",\"redis\":\"%s\","
	   "\"task\":\"tok.1\",\"role\":\"a\",\"content\":\"hi\"}",
	   session, t_redis_url());
	OP("{\"op\":\"fetch\",\"task\":\"tok.1\",\"wait_ms\":0}");
	OP("{\"op\":\"wait\",\"epoch\":\"x\",\"ack\":0,\"wait_ms\":0}");
	OP("{\"op\":\"delete\",\"session\":\"%s\",\"redis\":\"%s\","
	   "\"role\":\"a\"}",
	   session, t_redis_url());
	OP("{\"op\":\"delete_all\"}");
	OP("{\"op\":\"stop\"}");
#undef OP

	/* Without the token, and with a wrong one: all refused. */
	for (size_t i = 0; i < n; i++) {
		refused(url, NULL, ops[i]);
		refused(url, "wrong-token-0123456789", ops[i]);
	}
	/* alive is for anyone; the server is up and nothing happened. */
	reply = ask(url, NULL, "{\"op\":\"alive\"}");
	assert_non_null(strstr(reply, "\"ok\":true"));
	agora_free(reply);
	reply = ask(url, TOKEN, "{\"op\":\"list\"}");
	assert_non_null(strstr(reply, "\"agents\":[]"));
	agora_free(reply);
	assert_true(agora_proc_alive(srv));

	/* With the token, the same ops go through (stop last); wait and step
	 * need a client id, which this plain request has not (their
	 * refusal above was EAUTH: the token is checked first). */
	for (size_t i = 0; i < n; i++) {
		if (strstr(ops[i], "\"wait\"") == NULL &&
		    strstr(ops[i], "\"step\"") == NULL) {
			accepted(url, ops[i]);
		}
		agora_free((char *)(uintptr_t)ops[i]);
	}
	agora_proc_stop(srv, 5000);
	agora_proc_free(srv);
}

int
main(void)
{
	int rc;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_op_but_alive_needs_the_token),
	};

	if (!t_servers_init("token_test")) {
		return 0;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	return t_servers_clean("token_test") ? rc : 1;
}
