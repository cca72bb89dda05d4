/* SPDX-License-Identifier: MIT */
/* Unit tests of env/env_decode.c: the Environment's replies, well-formed
 * and as a broken Redis or a proxy could send them, made from RESP bytes
 * with no server. Cases found by tests/fuzz/fuzz_redis.c end up here. */
#include <string.h>

#include "../../env/env_decode.h"
#include "test.h"

/* RESP writers. */
static void
resp_array(agora_buf *b, size_t n)
{
	(void)agora_buf_addf(b, "*%zu\r\n", n);
}

static void
resp_bulk(agora_buf *b, const char *s)
{
	(void)agora_buf_addf(b, "$%zu\r\n", strlen(s));
	(void)agora_buf_adds(b, s);
	(void)agora_buf_adds(b, "\r\n");
}

/* A message as store.lua keeps it, id and all, as a bulk string. */
static void
resp_msg(agora_buf *b, uint64_t id, const char *from, const char *text)
{
	agora_msg *m = agora_msg_new(from, NULL, text);
	agora_buf body;

	m->id = id;
	agora_buf_init(&body, 0);
	AGORA_PASS(agora_msg_encode(m, true, &body));
	resp_bulk(b, body.data);
	agora_buf_fini(&body);
	agora_msg_free(m);
}

static agora_reply *
reply_of(agora_buf *b)
{
	agora_reply *rep = t_reply(b->data, b->len);

	agora_buf_fini(b);
	return rep;
}

static void
drain_shares_bodies_and_flags_redelivered(void **state)
{
	agora_msgs outs[2] = { { 0 } };
	agora_reply *rep;
	agora_buf b;
	size_t done = 9;
	char err[128];

	(void)state;
	agora_buf_init(&b, 0);
	resp_array(&b, 3);
	resp_array(&b, 4); /* alice: 1 new, 2 redelivered */
	resp_bulk(&b, "n");
	resp_bulk(&b, "1");
	resp_bulk(&b, "r");
	resp_bulk(&b, "2");
	resp_array(&b, 4); /* bob: 1 new, 9 whose body is gone */
	resp_bulk(&b, "n");
	resp_bulk(&b, "1");
	resp_bulk(&b, "n");
	resp_bulk(&b, "9");
	resp_array(&b, 6); /* the bodies, one not a message */
	resp_bulk(&b, "2");
	resp_msg(&b, 2, "carol", "second");
	resp_bulk(&b, "1");
	resp_msg(&b, 1, "dave", "first");
	resp_bulk(&b, "3");
	resp_bulk(&b, "{not json");
	rep = reply_of(&b);

	AGORA_PASS(
	    env_decode_drain(rep, 2, outs, &done, "s", err, sizeof(err)));
	assert_int_equal(done, 2);
	assert_int_equal(outs[0].n, 2);
	assert_string_equal(outs[0].v[0]->content, "first");
	assert_false(outs[0].v[0]->redelivered);
	assert_string_equal(outs[0].v[1]->content, "second");
	assert_true(outs[0].v[1]->redelivered);
	assert_int_equal(outs[1].n, 1);
	/* One body, decoded once, shared by the roles it went to. */
	assert_ptr_equal(outs[1].v[0], outs[0].v[0]);
	agora_msgs_clear(&outs[0]);
	agora_msgs_clear(&outs[1]);
	agora__reply_free(rep);
}

static void
drain_refuses_a_reply_of_the_wrong_shape(void **state)
{
	static const char *const bad[] = {
		"*1\r\n*0\r\n",                   /* no role list */
		"*4\r\n*0\r\n*0\r\n*0\r\n*0\r\n", /* more lists than roles */
		":3\r\n",                         /* not a list */
		"$-1\r\n",                        /* nil */
	};
	agora_msgs outs[2] = { { 0 } };
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		agora_reply *rep = t_reply(bad[i], strlen(bad[i]));
		size_t done = 9;
		AGORA_FAIL(env_decode_drain(rep, 2, outs, &done, "s", err,
		                            sizeof(err)),
		           AGORA_EREDIS);
		assert_int_equal(done, 0);
		assert_non_null(strstr(err, "drain: a reply of"));
		assert_int_equal(outs[0].n + outs[1].n, 0);
		agora__reply_free(rep);
	}
}

static void
drain_takes_what_it_can_from_odd_items(void **state)
{
	agora_msgs outs[1] = { { 0 } };
	agora_reply *rep;
	agora_buf b;
	size_t done = 0;
	char err[128];

	(void)state;
	agora_buf_init(&b, 0);
	resp_array(&b, 2);
	resp_array(&b, 7); /* odd length; items of every type */
	(void)agora_buf_adds(&b, "*1\r\n$1\r\nn\r\n"); /* a list for a flag */
	resp_bulk(&b, "1");
	(void)agora_buf_adds(&b, "$-1\r\n"); /* a nil flag */
	resp_bulk(&b, "1");
	resp_bulk(&b, "n");
	(void)agora_buf_adds(&b, ":1\r\n"); /* an id that is a number */
	resp_bulk(&b, "r");
	resp_array(&b, 5); /* bodies: odd length, a nil body, a list id */
	resp_bulk(&b, "1");
	resp_msg(&b, 1, "dave", "first");
	(void)agora_buf_adds(&b, "*0\r\n");
	(void)agora_buf_adds(&b, "$-1\r\n");
	resp_bulk(&b, "1");
	rep = reply_of(&b);

	AGORA_PASS(
	    env_decode_drain(rep, 1, outs, &done, "s", err, sizeof(err)));
	assert_int_equal(done, 1);
	assert_int_equal(outs[0].n, 2); /* the two string ids "1" */
	agora_msgs_clear(&outs[0]);
	agora__reply_free(rep);
}

static void
bodies_skip_what_is_not_a_message(void **state)
{
	agora_msgs outs[3] = { { 0 } };
	agora_reply *rep;
	agora_buf b;

	(void)state;
	agora_buf_init(&b, 0);
	resp_array(&b, 2); /* three lists asked for, two sent */
	resp_array(&b, 6);
	resp_msg(&b, 4, "alice", "kept");
	(void)agora_buf_adds(&b, ":4\r\n");
	(void)agora_buf_adds(&b, "$-1\r\n");
	resp_bulk(&b, "[\"not\",\"an\",\"object\"]");
	(void)agora_buf_adds(&b, "*1\r\n*0\r\n");
	(void)agora_buf_adds(
	    &b,
	    "+{\"sent_from\":\"x\",\"send_to\":\"all\",\"content\":\"y\"}\r\n");
	(void)agora_buf_adds(&b, ":7\r\n"); /* a number for a list */
	rep = reply_of(&b);

	env_decode_bodies(rep, 3, outs, "s");
	assert_int_equal(outs[0].n, 2); /* the bulk, and the status line */
	assert_string_equal(outs[0].v[0]->content, "kept");
	assert_string_equal(outs[0].v[1]->content, "y");
	assert_int_equal(outs[1].n + outs[2].n, 0);
	for (size_t i = 0; i < 3; i++) {
		agora_msgs_clear(&outs[i]);
	}
	agora__reply_free(rep);
}

static void
strings_and_ids_take_only_their_shape(void **state)
{
	static const char roles[] =
	    "*4\r\n$5\r\nalice\r\n:1\r\n*0\r\n$3\r\nb\0b\r\n";
	static const char ids[] = "*2\r\n:17\r\n$2\r\n18\r\n";
	agora_msg *msgs[2] = { agora_msg_new("a", "b", "x"),
		               agora_msg_new("a", "b", "y") };
	agora_strv sv = { 0 };
	agora_reply *rep = t_reply(roles, sizeof(roles) - 1);

	(void)state;
	env_decode_strings(rep, &sv);
	assert_int_equal(sv.n, 2);
	assert_string_equal(sv.v[0], "alice");
	assert_string_equal(sv.v[1], "b"); /* cut at the NUL */
	agora_strv_clear(&sv);
	/* Ids: set when the count matches, left alone when it does not. */
	env_decode_ids(rep, msgs, 2);
	assert_int_equal(msgs[0]->id, 0);
	agora__reply_free(rep);
	rep = t_reply(ids, sizeof(ids) - 1);
	env_decode_ids(rep, msgs, 2);
	assert_int_equal(msgs[0]->id, 17);
	assert_int_equal(msgs[1]->id, 18);
	agora__reply_free(rep);
	agora_msg_free(msgs[0]);
	agora_msg_free(msgs[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(drain_shares_bodies_and_flags_redelivered),
		cmocka_unit_test(drain_refuses_a_reply_of_the_wrong_shape),
		cmocka_unit_test(drain_takes_what_it_can_from_odd_items),
		cmocka_unit_test(bodies_skip_what_is_not_a_message),
		cmocka_unit_test(strings_and_ids_take_only_their_shape),
	};

	agora_log_set_level(AGORA_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
