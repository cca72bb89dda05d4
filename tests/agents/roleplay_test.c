/* SPDX-License-Identifier: MIT */
/* The roleplay kind through real steps against the fake OpenAI server:
 * who sees what in a debate with a whisper, budget trimming, memory that
 * outlives its center, request parameters, errors as frames, deadlines,
 * model configs, and API keys absent from every output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../agents/prompt.h"
#include "test.h"

/* Load one model config named name for the fake server's mode. */
static void
model(const char *name, const char *mode, const char *extra)
{
	char text[1024], err[512];
	agora_json *doc = NULL;

	snprintf(
	    text, sizeof(text),
	    "[{\"config_name\":\"%s\",\"model_type\":\"openai_chat\","
	    "\"model_name\":\"%s\",\"client_args\":{\"base_url\":\"%s\"}%s}]",
	    name, mode, t_fake_llm(), extra != NULL ? extra : "");
	AGORA_PASS(agora_json_parse(&doc, text, strlen(text), 1u << 16, 16, err,
	                            sizeof(err)));
	AGORA_PASS(agora_models_load_json(doc, "test", err, sizeof(err)));
	agora_json_free(doc);
}

static agora_agent *
roleplay(agora_center *c, const char *role, const char *model_name,
         const char *more)
{
	char opts[512];

	snprintf(opts, sizeof(opts),
	         "{\"model\":\"%s\",\"instruction\":"
	         "\"You are %s.\"%s}",
	         model_name, role, more != NULL ? more : "");
	return t_add(c, role, "roleplay", opts);
}

static char *
step_text(agora_center *c, const char *role, const agora_step_opts *o,
          t_frames *f)
{
	AGORA_PASS(t_step(c, o, f));
	AGORA_PASS(f->err);
	return t_text(f, role);
}

static void
a_debate_with_a_whisper_prompts_each_with_what_it_saw(void **state)
{
	agora_center *c = t_center("rp-debate");
	agora_step_opts o = { 0 };
	const char *to_hillary[] = { "hillary" };
	const char *trump[] = { "trump" };
	const char *hillary[] = { "hillary" };
	t_frames f;
	char *text;

	(void)state;
	model("echo", "echo", NULL);
	model("request", "request", NULL);
	roleplay(c, "joe", "echo", NULL);
	roleplay(c, "trump", "request", NULL);
	roleplay(c, "hillary", "request", NULL);
	AGORA_PASS(agora_center_send_task_request(
	    c, "land on the moon", (const char *const[]){ "joe" }, 1, NULL));
	o.send_to = to_hillary;
	o.n_send_to = 1;
	text = step_text(c, "joe", &o, &f); /* joe whispers to hillary */
	assert_string_equal(text, "land on the moon");
	agora_free(text);
	t_frames_free(&f);

	memset(&o, 0, sizeof(o));
	o.allowed_roles = trump;
	o.n_allowed = 1;
	text = step_text(c, "trump", &o, &f);
	/* Trump's prompt: his instruction only; no whisper. */
	assert_non_null(strstr(text, "{\"role\":\"system\",\"content\":\"You "
	                             "are trump.\"}]"));
	assert_null(strstr(text, "moon"));
	agora_free(text);
	t_frames_free(&f);

	o.allowed_roles = hillary;
	text = step_text(c, "hillary", &o, &f);
	/* Hillary's: the whisper from joe, then trump's public reply. */
	assert_non_null(strstr(text, "{\"role\":\"user\",\"content\":\"joe: "
	                             "land on the moon\"}"));
	assert_non_null(strstr(text, "\"content\":\"trump: {"));
	agora_free(text);
	t_frames_free(&f);
	agora_center_free(c);
}

static void
the_prompt_is_trimmed_oldest_first_to_the_budget(void **state)
{
	agora_msg *mem[6];
	agora_msg *in = agora_msg_new("bob", "me", "newest question");
	const agora_msg *memv[6], *inv[1] = { in };
	struct prompt_input pi = { 0 };
	struct prompt_budget b = { 0, 0 };
	agora_buf out;
	size_t trimmed;

	(void)state;
	for (int i = 0; i < 6; i++) {
		char text[32];
		snprintf(text, sizeof(text), "turn %d with some words", i);
		mem[i] = agora_msg_new(i % 2 ? "me" : "bob", "all", text);
		memv[i] = mem[i];
	}
	pi.role = "me";
	pi.instruction = "Be brief.";
	pi.memory = memv;
	pi.nmemory = 6;
	pi.inputs = inv;
	pi.ninputs = 1;
	pi.task = "the task";
	agora_buf_init(&out, 0);
	AGORA_PASS(prompt_build(&out, &pi, &b, &trimmed));
	assert_int_equal(trimmed, 0);
	assert_non_null(strstr(out.data, "\"content\":\"bob: turn 0"));
	assert_non_null(strstr(out.data, "{\"role\":\"assistant\",\"content\":"
	                                 "\"turn 1 with some words\"}"));
	agora_buf_reset(&out);
	b.chars = 80; /* room for a few turns only */
	AGORA_PASS(prompt_build(&out, &pi, &b, &trimmed));
	assert_true(trimmed >= 3);
	assert_null(strstr(out.data, "turn 0"));
	assert_non_null(strstr(out.data, "Be brief."));
	assert_non_null(strstr(out.data, "bob: newest question"));
	assert_non_null(strstr(out.data, "the task"));
	agora_buf_reset(&out);
	b.chars = 1; /* the newest turn stays whatever it costs */
	AGORA_PASS(prompt_build(&out, &pi, &b, &trimmed));
	assert_int_equal(trimmed, 6);
	assert_non_null(strstr(out.data, "newest question"));
	agora_buf_fini(&out);
	for (int i = 0; i < 6; i++) {
		agora_msg_free(mem[i]);
	}
	agora_msg_free(in);
	assert_true(prompt_tokens("abcdefgh") == 2);
	assert_true(prompt_tokens("月亮") == 2);
}

static void
memory_outlives_its_center(void **state)
{
	agora_center *c = t_center("rp-memory");
	agora_config cfg;
	agora_center *again = NULL;
	char err[256], *text;
	t_frames f;

	(void)state;
	model("request", "request", NULL);
	roleplay(c, "bot", "request", NULL);
	AGORA_PASS(agora_center_send_task_request(c, "remember the number 42",
	                                          NULL, 0, NULL));
	text = step_text(c, "bot", NULL, &f);
	agora_free(text);
	t_frames_free(&f);
	/* A new center (a restarted process) on the same session. */
	agora_config_init(&cfg);
	agora_config_set(&cfg, "redis.url", t_redis_url(), err, sizeof(err));
	agora_config_set(&cfg, "session", agora_center_session(c), err,
	                 sizeof(err));
	agora_center_free(c);
	AGORA_PASS(agora_center_new(&again, &cfg, err, sizeof(err)));
	roleplay(again, "bot", "request", NULL);
	AGORA_PASS(agora_center_send_task_request(again, "what was it?", NULL,
	                                          0, NULL));
	text = step_text(again, "bot", NULL, &f);
	assert_non_null(strstr(text, "\"content\":\"remember the number 42\""));
	assert_non_null(strstr(text, "{\"role\":\"assistant\",\"content\":"));
	agora_free(text);
	t_frames_free(&f);
	agora_center_free(again);
	agora_config_fini(&cfg);
}

static void
memory_saves_to_a_file_and_loads_back(void **state)
{
	char path[] = "/tmp/agora-mem-XXXXXX";
	agora_center *c = t_center("rp-memfile");
	agora_center *d = t_center("rp-memfile2");
	agora_msgs mem = { 0 };
	char err[256];
	int fd = mkstemp(path);

	(void)state;
	close(fd);
	unlink(path);
	t_add(c, "a", "echo", NULL);
	t_add(d, "a", "echo", NULL);
	AGORA_PASS(agora_center_send_task_request(c, "kept", NULL, 0, "a"));
	AGORA_PASS(agora_env_memory_save(agora_center_env(c), "a", path, err,
	                                 sizeof(err)));
	AGORA_PASS(agora_env_memory_load(agora_center_env(d), "a", path, err,
	                                 sizeof(err)));
	AGORA_PASS(agora_env_memory(agora_center_env(d), "a", 0, &mem));
	assert_int_equal(mem.n, 1);
	assert_string_equal(mem.v[0]->content, "kept");
	assert_int_equal(mem.v[0]->role, AGORA_ROLE_ASSISTANT);
	agora_msgs_clear(&mem);
	unlink(path);
	agora_center_free(c);
	agora_center_free(d);
}

static void
request_parameters_merge_config_agent_then_step(void **state)
{
	agora_center *c = t_center("rp-args");
	agora_step_opts o = { 0 };
	t_frames f;
	char *text;

	(void)state;
	model("args", "request",
	      ",\"generate_args\":{\"temperature\":0.7,\"top_p\":0.5,"
	      "\"seed\":1}");
	roleplay(c, "m", "args", ",\"generate_args\":{\"top_p\":0.9}");
	AGORA_PASS(agora_center_send_task_request(c, "go", NULL, 0, NULL));
	o.llm_args = "{\"temperature\":0.1,\"stream\":false}";
	text = step_text(c, "m", &o, &f);
	assert_non_null(strstr(text, "\"stream\":true"));
	assert_non_null(strstr(text, "\"temperature\":0.1"));
	assert_non_null(strstr(text, "\"top_p\":0.9"));
	assert_non_null(strstr(text, "\"seed\":1"));
	assert_null(strstr(text, "0.7"));
	agora_free(text);
	t_frames_free(&f);
	agora_center_free(c);
}

static void
a_server_error_is_an_error_frame_naming_it(void **state)
{
	agora_center *c = t_center("rp-500");
	char *want;
	t_frames f;

	(void)state;
	model("broken", "500", ",\"max_retries\":0");
	roleplay(c, "m", "broken", NULL);
	t_add(c, "fine", "echo", NULL);
	AGORA_PASS(agora_center_send_task_request(c, "go", NULL, 0, NULL));
	AGORA_PASS(t_step(c, NULL, &f));
	AGORA_PASS(f.err);
	want = agora_sprintf("HTTP 500 from %s/chat/completions: internal boom",
	                     t_fake_llm());
	assert_int_equal(t_count(&f, "m", AGORA_FRAME_ERROR), 1);
	assert_string_equal(f.v[t_first(&f, "m", AGORA_FRAME_ERROR)].content,
	                    want);
	assert_int_equal(t_count(&f, "fine", AGORA_FRAME_END), 1);
	agora_free(want);
	t_frames_free(&f);
	agora_center_free(c);
}

static void
an_endless_stream_is_cut_by_the_step_deadline(void **state)
{
	agora_center *c = t_center("rp-endless");
	agora_step_opts o = { 0 };
	t_frames f;

	(void)state;
	model("endless", "endless", NULL);
	roleplay(c, "m", "endless", NULL);
	AGORA_PASS(agora_center_send_task_request(c, "go", NULL, 0, NULL));
	o.deadline_ms = 300;
	AGORA_PASS(t_step(c, &o, &f));
	AGORA_PASS(f.err);
	assert_true(t_count(&f, "m", AGORA_FRAME_CHUNK) >= 1);
	assert_int_equal(t_count(&f, "m", AGORA_FRAME_ERROR), 1);
	assert_non_null(strstr(f.v[t_first(&f, "m", AGORA_FRAME_ERROR)].content,
	                       "timed out"));
	t_frames_free(&f);
	agora_center_free(c);
}

static void
model_config_errors_come_at_agent_creation(void **state)
{
	agora_agent *a = NULL;
	agora_json *doc = NULL;
	agora_agent_spec spec = { "m", "roleplay", NULL, false, false, NULL };
	char err[512];
	const char *opts;

	(void)state;
	agora_kinds_builtin();
	opts = "{\"model\":\"nope\"}";
	AGORA_PASS(agora_json_parse(&doc, opts, strlen(opts), 4096, 8, err,
	                            sizeof(err)));
	spec.options = doc;
	AGORA_FAIL(agora_agent_new(&a, &spec, err, sizeof(err)),
	           AGORA_ENOTFOUND);
	assert_non_null(strstr(err, "no model config named 'nope'"));
	agora_json_free(doc);
	unsetenv("AGORA_TEST_NO_KEY");
	opts = "{\"model\":{\"config_name\":\"k\",\"model_type\":"
	       "\"openai_chat\",\"model_name\":\"gpt\",\"api_key_env\":"
	       "\"AGORA_TEST_NO_KEY\"}}";
	AGORA_PASS(agora_json_parse(&doc, opts, strlen(opts), 4096, 8, err,
	                            sizeof(err)));
	spec.options = doc;
	AGORA_FAIL(agora_agent_new(&a, &spec, err, sizeof(err)), AGORA_EINVAL);
	assert_string_equal(err, "m: model config 'k' needs an API key: the "
	                         "environment variable AGORA_TEST_NO_KEY is "
	                         "not set");
	agora_json_free(doc);
	opts = "{\"model\":{\"config_name\":\"t\",\"model_type\":\"gpt_chat\","
	       "\"model_name\":\"x\"}}";
	AGORA_PASS(agora_json_parse(&doc, opts, strlen(opts), 4096, 8, err,
	                            sizeof(err)));
	spec.options = doc;
	AGORA_FAIL(agora_agent_new(&a, &spec, err, sizeof(err)), AGORA_EINVAL);
	assert_non_null(
	    strstr(err, "model_type 'gpt_chat' is not openai_chat"));
	agora_json_free(doc);
	/* ModelScope's inline form, a URL as model_server. */
	opts = "{\"model\":{\"model\":\"qwen\",\"model_server\":"
	       "\"http://127.0.0.1:9/v1\",\"api_key\":\"EMPTY\"}}";
	AGORA_PASS(agora_json_parse(&doc, opts, strlen(opts), 4096, 8, err,
	                            sizeof(err)));
	spec.options = doc;
	AGORA_PASS(agora_agent_new(&a, &spec, err, sizeof(err)));
	agora_agent_free(a);
	agora_json_free(doc);
}

static void
model_files_are_checked_entry_by_entry(void **state)
{
	char path[] = "/tmp/agora-models-XXXXXX";
	char err[512];
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	(void)state;
	fputs("[{\"config_name\":\"a\",\"model_type\":\"ollama_chat\","
	      "\"model_name\":\"llama3\"},\n {\"config_name\":\"b\","
	      "\"model_type\":\"openai_chat\"}]",
	      f);
	fclose(f);
	AGORA_FAIL(agora_models_load_file(path, err, sizeof(err)),
	           AGORA_EINVAL);
	assert_non_null(strstr(err, "[1]: missing 'model_name'"));
	assert_false(agora_models_has("a")); /* all or nothing */
	f = fopen(path, "w");
	fputs("[{\"config_name\":\"a\",\"model_type\":\"ollama_chat\","
	      "\"model_name\":\"llama3\",\"colour\":1}]",
	      f);
	fclose(f);
	AGORA_FAIL(agora_models_load_file(path, err, sizeof(err)),
	           AGORA_EINVAL);
	assert_non_null(strstr(err, "unknown key 'colour'"));
	unlink(path);
}

static char *
read_file(const char *path)
{
	agora_buf b;
	char err[256];

	agora_buf_init(&b, 0);
	(void)agora_buf_read_file(&b, path, err, sizeof(err));
	agora_buf_adds(&b, "");
	return agora_buf_steal(&b);
}

static void
the_api_key_appears_in_no_output(void **state)
{
	agora_center *c = t_center("rp-keys");
	char logpath[] = "/tmp/agora-log-XXXXXX";
	int fd = mkstemp(logpath);
	FILE *log = fdopen(fd, "w");
	agora_agent_info *infos = NULL;
	agora_msgs ms = { 0 };
	agora_buf all;
	size_t n = 0;
	t_frames f;

	(void)state;
	setenv("AGORA_TEST_KEY", "sk-test-secret", 1);
	agora_log_set_stream(log);
	agora_log_set_level(AGORA_LOG_DEBUG);
	model("good", "auth", ",\"api_key_env\":\"AGORA_TEST_KEY\"");
	model("bad", "500",
	      ",\"api_key\":\"sk-test-secret\","
	      "\"max_retries\":0");
	roleplay(c, "ok", "good", NULL);
	roleplay(c, "err", "bad", NULL);
	AGORA_PASS(agora_center_send_task_request(c, "hi", NULL, 0, NULL));
	AGORA_PASS(t_step(c, NULL, &f));
	/* The key was sent: the server answered "ok" (it checks it). */
	assert_int_equal(t_count(&f, "ok", AGORA_FRAME_END), 1);
	assert_int_equal(t_count(&f, "err", AGORA_FRAME_ERROR), 1);
	agora_buf_init(&all, 0);
	for (size_t i = 0; i < f.n; i++) {
		agora_frame_json(&f.v[i], &all);
	}
	AGORA_PASS(agora_registry_list(agora_center_registry(c), &infos, &n));
	for (size_t i = 0; i < n; i++) {
		agora_buf_addf(&all, "%s %s %s", infos[i].role, infos[i].kind,
		               infos[i].server);
	}
	agora_agent_infos_free(infos, n);
	AGORA_PASS(agora_env_history(agora_center_env(c), 0, &ms));
	AGORA_PASS(agora_env_memory(agora_center_env(c), "ok", 0, &ms));
	AGORA_PASS(agora_env_memory(agora_center_env(c), "err", 0, &ms));
	for (size_t i = 0; i < ms.n; i++) {
		agora_msg_encode(ms.v[i], true, &all);
	}
	fflush(log);
	{
		char *text = read_file(logpath);
		agora_buf_adds(&all, text);
		assert_non_null(strstr(text, "HTTP 500")); /* logs were kept */
		agora_free(text);
	}
	assert_null(strstr(all.data, "sk-test-secret"));
	agora_log_set_stream(NULL);
	agora_log_set_level(AGORA_LOG_WARN);
	fclose(log);
	unlink(logpath);
	agora_msgs_clear(&ms);
	agora_buf_fini(&all);
	t_frames_free(&f);
	agora_center_free(c);
}

static agora_answer
ask_empty(void *arg, const char *role, char **words)
{
	(void)arg;
	(void)role;
	(void)words;
	return AGORA_ANSWER_SKIP;
}

static void
a_human_with_a_model_answers_itself_on_an_empty_line(void **state)
{
	char text[1024];
	agora_scenario *s = NULL;
	agora_center *c = t_center("rp-auto");
	agora_run_hooks hooks = { .ask = ask_empty };
	agora_msgs h = { 0 };
	char err[512];

	(void)state;
	snprintf(text, sizeof(text),
	         "{\"models\":[{\"config_name\":\"e\",\"model_type\":"
	         "\"openai_chat\",\"model_name\":\"echo\",\"client_args\":"
	         "{\"base_url\":\"%s\"}}],"
	         "\"agents\":[{\"role\":\"me\",\"kind\":\"roleplay\","
	         "\"model\":\"e\",\"human\":true}],"
	         "\"script\":[{\"send_task_request\":{\"task\":\"say hi\"}},"
	         "{\"step\":{}}]}",
	         t_fake_llm());
	AGORA_PASS(agora_scenario_parse(&s, "auto.json", text, strlen(text),
	                                err, sizeof(err)));
	AGORA_PASS(agora_scenario_add_agents(s, c, err, sizeof(err)));
	AGORA_PASS(agora_scenario_run(s, c, &hooks, NULL, err, sizeof(err)));
	AGORA_PASS(agora_env_history(agora_center_env(c), 0, &h));
	assert_int_equal(h.n, 2);
	assert_string_equal(h.v[1]->sent_from, "me");
	assert_string_equal(h.v[1]->content, "say hi");
	agora_msgs_clear(&h);
	agora_scenario_free(s);
	agora_center_free(c);
}

static void
a_roleplay_without_its_model_falls_back_to_its_lines(void **state)
{
	const char *text =
	    "{\"agents\":[{\"role\":\"joe\",\"kind\":\"roleplay\",\"model\":"
	    "\"not-loaded\",\"lines\":[\"scripted answer\"]}],"
	    "\"script\":[{\"send_task_request\":{\"task\":\"x\"}},"
	    "{\"step\":{}}]}";
	agora_scenario *s = NULL;
	agora_center *c = t_center("rp-fallback");
	agora_msgs h = { 0 };
	char err[512];

	(void)state;
	AGORA_PASS(agora_scenario_parse(&s, "fb.json", text, strlen(text), err,
	                                sizeof(err)));
	AGORA_PASS(agora_scenario_add_agents(s, c, err, sizeof(err)));
	AGORA_PASS(agora_scenario_run(s, c, NULL, NULL, err, sizeof(err)));
	AGORA_PASS(agora_env_history(agora_center_env(c), 0, &h));
	assert_string_equal(h.v[1]->content, "scripted answer");
	agora_msgs_clear(&h);
	agora_scenario_free(s);
	agora_center_free(c);
}

static void
many_streams_run_at_once(void **state)
{
	agora_center *c = t_center("rp-many");
	char role[16];
	t_frames f;

	(void)state;
	model("count", "count:20", NULL);
	for (int i = 0; i < 50; i++) {
		snprintf(role, sizeof(role), "m%d", i);
		roleplay(c, role, "count", NULL);
	}
	AGORA_PASS(agora_center_send_task_request(c, "go", NULL, 0, NULL));
	AGORA_PASS(t_step(c, NULL, &f));
	AGORA_PASS(f.err);
	assert_int_equal(t_count(&f, NULL, AGORA_FRAME_END), 50);
	assert_int_equal(t_count(&f, NULL, AGORA_FRAME_CHUNK), 50 * 20);
	t_frames_free(&f);
	agora_center_free(c);
}

static const agora_frame *
end_of(const t_frames *f, const char *role)
{
	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(f->v[i].role, role) == 0 &&
		    f->v[i].type == AGORA_FRAME_END) {
			return &f->v[i];
		}
	}
	fail_msg("no end frame of %s", role);
	return NULL;
}

/* The end frame says why the model stopped and what it cost, so a reply
 * cut by max_tokens ("length") is told from a finished one; the agent's
 * registry record keeps running token counts. */
static void
a_model_turn_reports_why_it_stopped_and_its_tokens(void **state)
{
	agora_center *c = t_center("rp-usage");
	const agora_frame *e;
	agora_agent_info info;
	agora_buf json;
	t_frames f;

	(void)state;
	model("echo", "echo", NULL);
	model("length", "length", NULL);
	roleplay(c, "done", "echo", NULL);
	roleplay(c, "cut", "length", NULL);
	for (int round = 1; round <= 2; round++) {
		AGORA_PASS(
		    agora_center_send_task_request(c, "go on", NULL, 0, NULL));
		AGORA_PASS(t_step(c, NULL, &f));
		AGORA_PASS(f.err);
		e = end_of(&f, "done");
		assert_string_equal(e->finish, "stop");
		assert_int_equal(e->prompt_tokens, 7);
		assert_int_equal(e->completion_tokens, 3);
		assert_int_equal(e->total_tokens, 10);
		e = end_of(&f, "cut");
		assert_string_equal(e->finish, "length");
		assert_int_equal(e->total_tokens, 13);
		agora_buf_init(&json, 0);
		AGORA_PASS(agora_frame_json(e, &json));
		assert_non_null(
		    strstr(json.data, "\"finish_reason\":\"length\""));
		assert_non_null(strstr(
		    json.data, "\"usage\":{\"prompt_tokens\":11,"
		               "\"completion_tokens\":2,\"total_tokens\":13}"));
		agora_buf_fini(&json);
		t_frames_free(&f);
	}
	AGORA_PASS(agora_registry_get(agora_center_registry(c), "cut", &info));
	assert_int_equal(info.prompt_tokens, 22); /* two turns */
	assert_int_equal(info.completion_tokens, 4);
	assert_int_equal(info.total_tokens, 26);
	assert_string_equal(info.last_finish, "length");
	agora_agent_info_fini(&info);
	agora_center_free(c);
}

/* A reply over the cap ends the turn and its HTTP request at once: the
 * client's thread posts nothing into this step or the next (ASan would
 * see it), and the next turn of the agent runs clean. */
static void
a_reply_over_the_cap_stops_its_request(void **state)
{
	agora_center *c = t_center("rp-overcap");
	t_frames f;
	char *err;

	(void)state;
	model("flood", "flood", NULL);
	model("echo", "echo", NULL);
	roleplay(c, "big", "flood", NULL);
	roleplay(c, "small", "echo", NULL);
	AGORA_PASS(agora_center_send_task_request(c, "go", NULL, 0, NULL));
	AGORA_PASS(t_step(c, NULL, &f));
	assert_int_equal(t_count(&f, "big", AGORA_FRAME_ERROR), 1);
	err = t_text_of(&f, "big", AGORA_FRAME_ERROR);
	assert_non_null(strstr(err, "reply over 524288 bytes"));
	agora_free(err);
	assert_int_equal(t_count(&f, "small", AGORA_FRAME_END), 1);
	t_frames_free(&f);
	/* The request is gone, not still streaming into the client. */
	assert_int_equal(agora_llm_active(agora_llm_shared()), 0);
	AGORA_PASS(agora_center_send_task_request(c, "short", NULL, 0, NULL));
	AGORA_PASS(t_step(c, NULL, &f));
	err = t_text(&f, "small");
	assert_string_equal(err, "short");
	agora_free(err);
	assert_int_equal(t_count(&f, "small", AGORA_FRAME_ERROR), 0);
	t_frames_free(&f);
	agora_center_free(c);
}

int
main(void)
{
#define T(name) cmocka_unit_test(name)
	const struct CMUnitTest tests[] = {
		T(a_reply_over_the_cap_stops_its_request),
		T(a_model_turn_reports_why_it_stopped_and_its_tokens),
		T(a_debate_with_a_whisper_prompts_each_with_what_it_saw),
		T(the_prompt_is_trimmed_oldest_first_to_the_budget),
		T(memory_outlives_its_center),
		T(memory_saves_to_a_file_and_loads_back),
		T(request_parameters_merge_config_agent_then_step),
		T(a_server_error_is_an_error_frame_naming_it),
		T(an_endless_stream_is_cut_by_the_step_deadline),
		T(model_config_errors_come_at_agent_creation),
		T(model_files_are_checked_entry_by_entry),
		T(the_api_key_appears_in_no_output),
		T(a_human_with_a_model_answers_itself_on_an_empty_line),
		T(a_roleplay_without_its_model_falls_back_to_its_lines),
		T(many_streams_run_at_once),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
