/* SPDX-License-Identifier: MIT */
/* API keys on agent servers (DESIGN.md section 11). A config sent to a TCP
 * server (set_models, or inline in a create) never makes it read its own
 * environment: else a peer names SECRET_X and a base_url of its own and
 * receives the secret in an Authorization header. Its own --model-config
 * files, and an ipc:// server (which admits only its own user), may. And
 * a key used by agents on child servers appears in no output: frames, the
 * registry, memories, saved memory files, the Redis dump file, nor the
 * servers' log at debug level. */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "redis_cmd.h" /* agora__redis_cmdv, for SAVE */
#include "test.h"

#define SECRET "sk-should-stay-home"

/* One op to url; the reply's first result. */
static char *
ask(const char *url, const char *op)
{
	agora_buf ops, reply;
	char err[512];

	agora_buf_init(&ops, 0);
	agora_buf_init(&reply, 0);
	agora_buf_addf(&ops, "[%s]", op);
	AGORA_PASS(agora_server_request(url, NULL, ops.data, 5000, &reply, err,
	                                sizeof(err)));
	agora_buf_fini(&ops);
	return agora_buf_steal(&reply);
}

static void
send_models(const char *url, const char *key_field)
{
	char op[1024], *reply;

	snprintf(op, sizeof(op),
	         "{\"op\":\"set_models\",\"models\":[{\"config_name\":\"m\","
	         "\"model_type\":\"openai_chat\",\"model_name\":\"auth\","
	         "\"client_args\":{\"base_url\":\"%s\"}%s}]}",
	         t_fake_llm(), key_field);
	reply = ask(url, op);
	assert_non_null(strstr(reply, "\"ok\":true"));
	agora_free(reply);
}

/* Create a roleplay agent with model (a name or an inline object) on url;
 * the reply. */
static char *
create(const char *url, const char *role, const char *model)
{
	char op[1024];

	snprintf(op, sizeof(op),
	         "{\"op\":\"create\",\"session\":\"keys%d\",\"redis\":\"%s\","
	         "\"role\":\"%s\",\"kind\":\"roleplay\",\"options\":"
	         "{\"model\":%s}}",
	         (int)getpid(), t_redis_url(), role, model);
	return ask(url, op);
}

static void
refused_naming(char *reply, const char *var)
{
	if (strstr(reply, "\"code\":\"EAUTH\"") == NULL ||
	    strstr(reply, var) == NULL || strstr(reply, SECRET) != NULL) {
		fail_msg("want EAUTH naming %s, got %s", var, reply);
	}
	agora_free(reply);
}

static void
created(char *reply)
{
	if (strstr(reply, "\"ok\":true") == NULL) {
		fail_msg("want the agent created, got %s", reply);
	}
	agora_free(reply);
}

static void
a_sent_config_reads_no_environment_on_tcp(void **state)
{
	char url[128], inline_env[512], inline_default[512], path[64];
	agora_proc *srv;
	FILE *f;

	(void)state;
	setenv("AGORA_TEST_SECRET_X", SECRET, 1);
	setenv("OPENAI_API_KEY", SECRET, 1);
	srv = t_spawn_tcp_server(NULL, NULL, url, sizeof(url));

	/* Named by set_models: refused when the agent is made. */
	send_models(url, ",\"api_key_env\":\"AGORA_TEST_SECRET_X\"");
	refused_naming(create(url, "a", "\"m\""), "AGORA_TEST_SECRET_X");
	/* Inline in the create, explicit or the type's default variable. */
	snprintf(inline_env, sizeof(inline_env),
	         "{\"model_type\":\"openai_chat\",\"model_name\":\"x\","
	         "\"api_key_env\":\"AGORA_TEST_SECRET_X\",\"client_args\":"
	         "{\"base_url\":\"%s\"}}",
	         t_fake_llm());
	refused_naming(create(url, "b", inline_env), "AGORA_TEST_SECRET_X");
	snprintf(inline_default, sizeof(inline_default),
	         "{\"model_type\":\"openai_chat\",\"model_name\":\"x\"}");
	refused_naming(create(url, "c", inline_default), "OPENAI_API_KEY");
	/* A key sent with the config is the sender's own: fine. */
	send_models(url, ",\"api_key\":\"sk-sent\"");
	created(create(url, "d", "\"m\""));
	agora_proc_stop(srv, 5000);
	agora_proc_free(srv);

	/* The server's own file may name variables. */
	snprintf(path, sizeof(path), "/tmp/agora-keys-%d.json", (int)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f,
	        "[{\"config_name\":\"own\",\"model_type\":\"openai_chat\","
	        "\"model_name\":\"auth\",\"api_key_env\":"
	        "\"AGORA_TEST_SECRET_X\",\"client_args\":{\"base_url\":"
	        "\"%s\"}}]",
	        t_fake_llm());
	fclose(f);
	srv = t_spawn_tcp_server("--model-config", path, url, sizeof(url));
	created(create(url, "e", "\"own\""));
	agora_proc_stop(srv, 5000);
	agora_proc_free(srv);
	unlink(path);

	/* An ipc:// server admits only its own user: it may too. */
	srv = t_spawn_server("keys", NULL, NULL, url, sizeof(url));
	send_models(url, ",\"api_key_env\":\"AGORA_TEST_SECRET_X\"");
	created(create(url, "f", "\"m\""));
	agora_proc_stop(srv, 5000);
	agora_proc_free(srv);
	unsetenv("OPENAI_API_KEY");
}

static char *
slurp(const char *path)
{
	agora_buf b;
	char err[256];

	agora_buf_init(&b, 0);
	AGORA_PASS(agora_buf_read_file(&b, path, err, sizeof(err)));
	(void)agora_buf_adds(&b, "");
	return agora_buf_steal(&b);
}

/* Everything a run leaves behind, as one text. */
static void
gather(agora_center *c, const t_frames *f, agora_buf *all)
{
	agora_agent_info *infos = NULL;
	agora_msgs ms = { 0 };
	agora_redis *r = t_redis_open();
	char path[512], *text;
	size_t n = 0;

	for (size_t i = 0; i < f->n; i++) {
		agora_frame_json(&f->v[i], all);
	}
	AGORA_PASS(agora_registry_list(agora_center_registry(c), &infos, &n));
	for (size_t i = 0; i < n; i++) {
		agora_buf_addf(all, "%s %s %s", infos[i].role, infos[i].kind,
		               infos[i].server);
	}
	agora_agent_infos_free(infos, n);
	AGORA_PASS(agora_env_history(agora_center_env(c), 0, &ms));
	AGORA_PASS(agora_env_memory(agora_center_env(c), "ok", 0, &ms));
	AGORA_PASS(agora_env_memory(agora_center_env(c), "direct", 0, &ms));
	for (size_t i = 0; i < ms.n; i++) {
		agora_msg_encode(ms.v[i], true, all);
	}
	agora_msgs_clear(&ms);
	/* Memory files (the seeds' Memory(path=...)), saved and read. */
	for (int k = 0; k < 2; k++) {
		const char *role = k == 0 ? "ok" : "direct";
		char err[256], *saved, *reply = t_text(f, role);
		snprintf(path, sizeof(path), "/tmp/agora-keys-mem-%d.json",
		         (int)getpid());
		AGORA_PASS(agora_env_memory_save(agora_center_env(c), role,
		                                 path, err, sizeof(err)));
		saved = slurp(path);
		assert_non_null(strstr(saved, reply)); /* a real witness */
		agora_buf_adds(all, saved);
		agora_free(saved);
		agora_free(reply);
		unlink(path);
	}
	/* Everything Redis holds, as written to disk. */
	AGORA_PASS(agora__redis_cmdv(r, NULL, "SAVE", NULL));
	agora_redis_close(r);
	snprintf(path, sizeof(path), "%s/dump.rdb", t_redis_dir());
	{
		agora_buf rdb;
		char err[256], *reply = t_text(f, "ok");
		agora_buf_init(&rdb, 0);
		AGORA_PASS(agora_buf_read_file(&rdb, path, err, sizeof(err)));
		/* The dump holds the reply: it is the store searched. */
		assert_true(strlen(reply) > 0);
		assert_non_null(
		    memmem(rdb.data, rdb.len, reply, strlen(reply)));
		assert_null(memmem(rdb.data, rdb.len, "sk-test-secret", 14));
		agora_free(reply);
		agora_buf_fini(&rdb);
		unlink(path);
	}
	text = slurp(t_server_log());
	/* The children logged at debug: the log is a real witness. */
	assert_non_null(strstr(text, "DEBUG"));
	agora_buf_adds(all, text);
	agora_free(text);
}

static void
a_key_used_on_child_servers_appears_in_no_output(void **state)
{
	agora_center *c = t_center_servers("keys", "1");
	char text[1024], err[512];
	agora_json *doc = NULL;
	agora_buf all;
	t_frames f;

	(void)state;
	setenv("AGORA_TEST_KEY", "sk-test-secret", 1);
	agora_log_set_level(AGORA_LOG_DEBUG); /* the children's too */
	snprintf(text, sizeof(text),
	         "[{\"config_name\":\"good\",\"model_type\":\"openai_chat\","
	         "\"model_name\":\"auth\",\"api_key_env\":\"AGORA_TEST_KEY\","
	         "\"client_args\":{\"base_url\":\"%s\"}},"
	         "{\"config_name\":\"direct\",\"model_type\":\"openai_chat\","
	         "\"model_name\":\"auth\",\"api_key\":\"sk-test-secret\","
	         "\"client_args\":{\"base_url\":\"%s\"}}]",
	         t_fake_llm(), t_fake_llm());
	AGORA_PASS(agora_json_parse(&doc, text, strlen(text), 1u << 16, 16, err,
	                            sizeof(err)));
	AGORA_PASS(agora_models_load_json(doc, "test", err, sizeof(err)));
	agora_json_free(doc);
	t_add_placed(c, "ok", "roleplay",
	             "{\"model\":\"good\",\"instruction\":\"You are ok.\"}",
	             "child");
	t_add_placed(c, "direct", "roleplay",
	             "{\"model\":\"direct\",\"instruction\":\"You are "
	             "direct.\"}",
	             "child");
	AGORA_PASS(agora_center_send_task_request(c, "hi", NULL, 0, NULL));
	AGORA_PASS(t_step(c, NULL, &f));
	/* The key was sent: the fake server answers only with it. */
	assert_int_equal(t_count(&f, "ok", AGORA_FRAME_END), 1);
	assert_int_equal(t_count(&f, "direct", AGORA_FRAME_END), 1);
	agora_buf_init(&all, 0);
	gather(c, &f, &all);
	assert_null(strstr(all.data, "sk-test-secret"));
	agora_log_set_level(AGORA_LOG_WARN);
	agora_buf_fini(&all);
	t_frames_free(&f);
	agora_center_free(c);
}

int
main(void)
{
	int rc;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_sent_config_reads_no_environment_on_tcp),
		cmocka_unit_test(
		    a_key_used_on_child_servers_appears_in_no_output),
	};

	if (!t_servers_init("keys_test")) {
		return 0;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	return t_servers_clean("keys_test") ? rc : 1;
}
