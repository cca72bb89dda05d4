/* SPDX-License-Identifier: MIT */
/* The Environment's contracts (DESIGN.md section 3), one test each, on a
 * real redis-server. */
#include <string.h>
#include <unistd.h>

#include "../../core/redis_cmd.h"
#include "test.h"

struct fixture {
	agora_redis *r;
	agora_env *env;
};

static int
setup(void **state)
{
	static int serial;
	struct fixture *fx = agora_calloc(1, sizeof(*fx));
	char session[64];

	snprintf(session, sizeof(session), "env%d-%d", (int)getpid(), serial++);
	fx->r = t_redis_open();
	AGORA_PASS(agora_env_open(&fx->env, fx->r, session, NULL));
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	agora_env_close(fx->env);
	agora_redis_close(fx->r);
	agora_free(fx);
	return 0;
}

static void
reg(agora_env *env, const char *csv)
{
	agora_strv sv = { 0 };

	agora_strv_split(&sv, csv);
	AGORA_PASS(
	    agora_env_register_roles(env, (const char *const *)sv.v, sv.n));
	agora_strv_clear(&sv);
}

static uint64_t
store(agora_env *env, const char *from, const char *to, const char *text)
{
	agora_msg *m = agora_msg_new(from, to, text);
	uint64_t id;

	AGORA_PASS(agora_env_store(env, m));
	id = m->id;
	agora_msg_free(m);
	return id;
}

static char *
drain(agora_env *env, const char *role)
{
	agora_msgs ms = { 0 };
	char *s;

	AGORA_PASS(agora_env_drain(env, role, &ms));
	s = t_msgs(&ms);
	agora_msgs_clear(&ms);
	return s;
}

static void
roles_keep_order_and_no_duplicates(void **state)
{
	struct fixture *fx = *state;
	agora_strv roles = { 0 };
	const char *bad[] = { "ok", "not ok" };

	reg(fx->env, "agent1,agent2");
	reg(fx->env, "agent3,agent1,agent3");
	AGORA_PASS(agora_env_roles(fx->env, &roles));
	assert_int_equal(roles.n, 3);
	assert_string_equal(roles.v[0], "agent1");
	assert_string_equal(roles.v[2], "agent3");
	/* An invalid name fails the whole call: "ok" is not added either. */
	AGORA_FAIL(agora_env_register_roles(fx->env, bad, 2), AGORA_EINVAL);
	assert_non_null(strstr(agora_env_errstr(fx->env), "not ok"));
	AGORA_PASS(agora_env_roles(fx->env, &roles));
	assert_int_equal(roles.n, 3);
	agora_strv_clear(&roles);
}

static void
store_to_unknown_recipient_writes_nothing(void **state)
{
	struct fixture *fx = *state;
	agora_msg *m = agora_msg_new("a", "b,ghost", "lost?");
	agora_msgs hist = { 0 };
	size_t pending;
	uint64_t id;

	reg(fx->env, "a,b");
	store(fx->env, "a", "b", "first");
	AGORA_FAIL(agora_env_store(fx->env, m), AGORA_ENOTFOUND);
	assert_non_null(strstr(agora_env_errstr(fx->env), "ghost"));
	agora_msg_free(m);
	AGORA_PASS(agora_env_history(fx->env, 0, &hist));
	assert_int_equal(hist.n, 1);
	AGORA_PASS(agora_env_pending(fx->env, "b", &pending));
	assert_int_equal(pending, 1);
	/* The id counter did not move either. */
	id = store(fx->env, "a", "b", "second");
	assert_int_equal(id, 2);
	agora_msgs_clear(&hist);
}

static void
store_from_unknown_sender_is_an_error(void **state)
{
	struct fixture *fx = *state;
	agora_msg *m = agora_msg_new("mallory", "a", "hi");

	reg(fx->env, "a");
	AGORA_FAIL(agora_env_store(fx->env, m), AGORA_ENOTFOUND);
	assert_non_null(strstr(agora_env_errstr(fx->env), "mallory"));
	agora_msg_free(m);
}

static void
store_batch_is_all_or_nothing(void **state)
{
	struct fixture *fx = *state;
	agora_msg *v[2] = { agora_msg_new("a", "b", "fine"),
		            agora_msg_new("a", "nobody", "bad") };
	agora_msgs hist = { 0 };

	reg(fx->env, "a,b");
	AGORA_FAIL(agora_env_store_many(fx->env, v, NULL, 2), AGORA_ENOTFOUND);
	AGORA_PASS(agora_env_history(fx->env, 0, &hist));
	assert_int_equal(hist.n, 0);
	agora_msg_free(v[0]);
	agora_msg_free(v[1]);
}

static void
all_means_every_role_but_the_sender(void **state)
{
	struct fixture *fx = *state;
	size_t n;
	char *s;

	reg(fx->env, "a,b,c");
	store(fx->env, "a", NULL, "hello all");
	AGORA_PASS(agora_env_pending(fx->env, "a", &n));
	assert_int_equal(n, 0);
	s = drain(fx->env, "b");
	assert_string_equal(s, "a>hello all");
	agora_free(s);
	s = drain(fx->env, "c");
	assert_string_equal(s, "a>hello all");
	agora_free(s);
	/* user_requirement to all reaches every role. */
	store(fx->env, AGORA_USER_REQUIREMENT, "all", "task");
	AGORA_PASS(agora_env_pending(fx->env, "a", &n));
	assert_int_equal(n, 1);
}

static void
duplicate_recipients_get_one_copy(void **state)
{
	struct fixture *fx = *state;
	char *s;

	reg(fx->env, "a,b");
	store(fx->env, "a", "b,b,all", "once");
	s = drain(fx->env, "b");
	assert_string_equal(s, "a>once");
	agora_free(s);
}

static void
drain_never_returns_a_message_twice(void **state)
{
	struct fixture *fx = *state;
	char *s;

	reg(fx->env, "a,b");
	store(fx->env, "a", "b", "one");
	store(fx->env, "a", "b", "two");
	s = drain(fx->env, "b");
	assert_string_equal(s, "a>one|a>two");
	agora_free(s);
	s = drain(fx->env, "b");
	assert_string_equal(s, "");
	agora_free(s);
	/* Two identical messages are two messages (ids, not values). */
	store(fx->env, "a", "b", "same");
	store(fx->env, "a", "b", "same");
	s = drain(fx->env, "b");
	assert_string_equal(s, "a>same|a>same");
	agora_free(s);
}

static void
requeued_messages_come_back_marked(void **state)
{
	struct fixture *fx = *state;
	agora_msgs ms = { 0 };
	agora_strv view_before = { 0 };
	agora_msgs view = { 0 };
	const char *b = "b";
	size_t moved;

	reg(fx->env, "a,b");
	store(fx->env, "a", "b", "one");
	store(fx->env, "a", "b", "two");
	AGORA_PASS(agora_env_drain(fx->env, "b", &ms));
	assert_int_equal(ms.n, 2);
	assert_false(ms.v[0]->redelivered);
	agora_msgs_clear(&ms);
	store(fx->env, "a", "b", "three");
	AGORA_PASS(agora_env_requeue_many(fx->env, &b, 1, &moved));
	assert_int_equal(moved, 2);
	AGORA_PASS(agora_env_drain(fx->env, "b", &ms));
	assert_int_equal(ms.n, 3);
	assert_string_equal(ms.v[0]->content, "one");
	assert_true(ms.v[0]->redelivered);
	assert_true(ms.v[1]->redelivered);
	assert_string_equal(ms.v[2]->content, "three");
	assert_false(ms.v[2]->redelivered);
	/* The view does not count a redelivered message twice. */
	AGORA_PASS(agora_env_view(fx->env, "b", 0, &view));
	assert_int_equal(view.n, 3);
	agora_msgs_clear(&view);
	agora_msgs_clear(&ms);
	agora_strv_clear(&view_before);
}

static void
ack_moves_drained_messages_to_memory(void **state)
{
	struct fixture *fx = *state;
	agora_msgs ms = { 0 }, mem = { 0 };
	agora_msg *reply = agora_msg_new("b", "a", "thanks");
	bool ack = true;

	reg(fx->env, "a,b");
	store(fx->env, "a", "b", "question");
	AGORA_PASS(agora_env_drain(fx->env, "b", &ms));
	AGORA_PASS(agora_env_store_many(fx->env, &reply, &ack, 1));
	AGORA_PASS(agora_env_memory(fx->env, "b", 0, &mem));
	assert_int_equal(mem.n, 2);
	assert_string_equal(mem.v[0]->content, "question");
	assert_int_equal(mem.v[0]->role, AGORA_ROLE_USER);
	assert_string_equal(mem.v[1]->content, "thanks");
	assert_int_equal(mem.v[1]->role, AGORA_ROLE_ASSISTANT);
	agora_msgs_clear(&ms);
	agora_msgs_clear(&mem);
	agora_msg_free(reply);
}

/* The integer reply of a raw command on key "agora:{S}:<suffix>" (with
 * field, if not NULL). */
static long long
key_int(struct fixture *fx, const char *cmd, const char *suffix,
        const char *field)
{
	char *key =
	    agora_sprintf("agora:{%s}:%s", agora_env_session(fx->env), suffix);
	agora_reply *rep = NULL;
	long long v;

	AGORA_PASS(agora__redis_cmdv(fx->r, &rep, cmd, key, field, NULL));
	v = agora__reply_int(rep);
	agora__reply_free(rep);
	agora_free(key);
	return v;
}

static void
a_light_drain_writes_no_view_but_leases(void **state)
{
	struct fixture *fx = *state;
	const char *roles[] = { "b", "c" };
	const bool light[] = { true, false };
	agora_msgs outs[2] = { { 0 }, { 0 } };
	size_t moved;

	reg(fx->env, "a,b,c");
	store(fx->env, "a", NULL, "guess");
	AGORA_PASS(agora_env_drain_flagged(fx->env, roles, light, 2, outs));
	assert_int_equal(outs[0].n, 1);
	assert_int_equal(outs[1].n, 1);
	/* No view for the light role; the other's as always. */
	assert_int_equal(key_int(fx, "EXISTS", "view:b", NULL), 0);
	assert_int_equal(key_int(fx, "LLEN", "view:c", NULL), 1);
	/* In flight and leased all the same: a failed turn gets it back.
	 * The light role's entry is kept in its lease, not in a list. */
	assert_int_equal(key_int(fx, "EXISTS", "inflight:b", NULL), 0);
	assert_int_equal(key_int(fx, "LLEN", "inflight:c", NULL), 1);
	assert_int_equal(key_int(fx, "HEXISTS", "lease", "b"), 1);
	assert_int_equal(key_int(fx, "HEXISTS", "lease", "c"), 1);
	AGORA_PASS(agora_env_requeue_many(fx->env, roles, 1, &moved));
	assert_int_equal(moved, 1);
	agora_msgs_clear(&outs[0]);
	AGORA_PASS(agora_env_drain_flagged(fx->env, roles, light, 1, outs));
	assert_int_equal(outs[0].n, 1);
	assert_true(outs[0].v[0]->redelivered);
	agora_msgs_clear(&outs[0]);
	agora_msgs_clear(&outs[1]);
}

/* Drain role light with env: n messages, all redelivered or none. */
static void
light_drain_of(agora_env *env, const char *role, size_t n, bool again)
{
	const bool light = true;
	agora_msgs ms = { 0 };

	AGORA_PASS(agora_env_drain_flagged(env, &role, &light, 1, &ms));
	assert_int_equal(ms.n, n);
	for (size_t i = 0; i < ms.n; i++) {
		assert_int_equal(ms.v[i]->redelivered, again);
	}
	agora_msgs_clear(&ms);
}

/* A light drainer that dies: a reclaim gives back what it held, and so
 * does a drain by another owner. A silent turn's ack puts a light lease's
 * entries into memory as anyone's. */
static void
a_light_lease_comes_back_when_its_owner_is_gone(void **state)
{
	struct fixture *fx = *state;
	const char *session = agora_env_session(fx->env);
	agora_env *gone = NULL;
	const char *b = "b";
	size_t moved;

	reg(fx->env, "a,b");
	store(fx->env, "a", "b", "one");
	store(fx->env, "a", "b", "two");
	AGORA_PASS(agora_env_open(&gone, fx->r, session, NULL));
	light_drain_of(gone, "b", 2, false);
	agora_env_close(gone); /* its owner key goes with it */
	AGORA_PASS(agora_env_reclaim(fx->env, &moved));
	assert_int_equal(moved, 2);
	assert_int_equal(key_int(fx, "HEXISTS", "lease", "b"), 0);
	light_drain_of(fx->env, "b", 2, true);
	AGORA_PASS(agora_env_ack_many(fx->env, &b, 1));
	assert_int_equal(key_int(fx, "LLEN", "mem:b", NULL), 2);
	assert_int_equal(key_int(fx, "HEXISTS", "lease", "b"), 0);
	/* The next drain by another owner takes back a dead one's lease. */
	store(fx->env, "a", "b", "three");
	AGORA_PASS(agora_env_open(&gone, fx->r, session, NULL));
	light_drain_of(gone, "b", 1, false);
	agora_env_close(gone);
	light_drain_of(fx->env, "b", 1, true);
}

static void
a_light_ack_remembers_nothing(void **state)
{
	struct fixture *fx = *state;
	agora_msgs ms = { 0 };
	agora_msg *reply = agora_msg_new("b", "a", "42");
	const uint8_t flags = AGORA_ENV_ACK | AGORA_ENV_LIGHT;
	const char *b = "b";
	const bool light = true;
	char *s;

	reg(fx->env, "a,b");
	store(fx->env, "a", "b", "guess");
	AGORA_PASS(agora_env_drain_flagged(fx->env, &b, &light, 1, &ms));
	assert_int_equal(ms.n, 1);
	AGORA_PASS(agora_env_store_flagged(fx->env, &reply, &flags, 1));
	/* Nothing of the turn is kept for b ... */
	assert_int_equal(key_int(fx, "EXISTS", "mem:b", NULL), 0);
	assert_int_equal(key_int(fx, "EXISTS", "view:b", NULL), 0);
	assert_int_equal(key_int(fx, "EXISTS", "inflight:b", NULL), 0);
	assert_int_equal(key_int(fx, "HEXISTS", "lease", "b"), 0);
	/* ... but the reply is stored and delivered as any other. */
	assert_int_equal(key_int(fx, "LLEN", "history", NULL), 2);
	s = drain(fx->env, "a");
	assert_string_equal(s, "b>42");
	agora_free(s);
	agora_msgs_clear(&ms);
	agora_msg_free(reply);
}

static void
two_acked_replies_of_a_role_remember_its_drain_once(void **state)
{
	struct fixture *fx = *state;
	agora_msgs ms = { 0 }, mem = { 0 };
	agora_msg *v[2] = { agora_msg_new("b", "a", "one"),
		            agora_msg_new("b", "a", "two") };
	const bool acks[2] = { true, true };
	char *s;

	reg(fx->env, "a,b");
	store(fx->env, "a", "b", "question");
	AGORA_PASS(agora_env_drain(fx->env, "b", &ms));
	AGORA_PASS(agora_env_store_many(fx->env, v, acks, 2));
	AGORA_PASS(agora_env_memory(fx->env, "b", 0, &mem));
	s = t_msgs(&mem);
	assert_string_equal(s, "a>question|b>one|b>two");
	assert_int_equal(key_int(fx, "EXISTS", "inflight:b", NULL), 0);
	assert_int_equal(key_int(fx, "HEXISTS", "lease", "b"), 0);
	agora_free(s);
	agora_msgs_clear(&ms);
	agora_msgs_clear(&mem);
	agora_msg_free(v[0]);
	agora_msg_free(v[1]);
}

static void
a_batch_over_call_work_is_checked_whole_first(void **state)
{
	struct fixture *fx = *state;
	agora_env *small = NULL;
	agora_env_opts o = { .call_work = 2 };
	agora_msg *v[4] = { agora_msg_new("a", "b", "m0"),
		            agora_msg_new("a", "b", "m1"),
		            agora_msg_new("a", "b", "m2"),
		            agora_msg_new("a", "ghost", "m3") };
	agora_msgs hist = { 0 };
	char session[80];

	snprintf(session, sizeof(session), "%s-work",
	         agora_env_session(fx->env));
	AGORA_PASS(agora_env_open(&small, fx->r, session, &o));
	reg(small, "a,b");
	AGORA_FAIL(agora_env_store_many(small, v, NULL, 4), AGORA_ENOTFOUND);
	assert_non_null(
	    strstr(agora_env_errstr(small), "recipient role ghost"));
	/* An unknown sender, too, wherever it is in the batch. */
	agora_free(v[2]->sent_from);
	v[2]->sent_from = agora_strdup("mallory");
	AGORA_FAIL(agora_env_store_many(small, v, NULL, 4), AGORA_ENOTFOUND);
	assert_non_null(strstr(agora_env_errstr(small), "sender role mallory"));
	agora_free(v[2]->sent_from);
	v[2]->sent_from = agora_strdup("a");
	AGORA_PASS(agora_env_history(small, 0, &hist));
	assert_int_equal(hist.n, 0);
	/* Without the unknown role it is stored in several calls, whole. */
	agora_strv_clear(&v[3]->send_to);
	agora_strv_push(&v[3]->send_to, "b");
	AGORA_PASS(agora_env_store_many(small, v, NULL, 4));
	AGORA_PASS(agora_env_history(small, 0, &hist));
	assert_int_equal(hist.n, 4);
	assert_string_equal(hist.v[3]->content, "m3");
	agora_msgs_clear(&hist);
	for (int i = 0; i < 4; i++) {
		agora_msg_free(v[i]);
	}
	agora_env_close(small);
}

static void
memories_are_capped_oldest_first(void **state)
{
	struct fixture *fx = *state;
	agora_env *small = NULL;
	agora_env_opts o = { .memory_max = 3 };
	agora_msgs ms = { 0 }, mem = { 0 };
	char session[80];
	char *s;

	snprintf(session, sizeof(session), "%s-cap",
	         agora_env_session(fx->env));
	AGORA_PASS(agora_env_open(&small, fx->r, session, &o));
	reg(small, "a,b");
	for (int i = 0; i < 5; i++) {
		char text[8];
		snprintf(text, sizeof(text), "m%d", i);
		store(small, "a", "b", text);
	}
	AGORA_PASS(agora_env_memory(small, "a", 0, &mem));
	s = t_msgs(&mem);
	assert_string_equal(s, "a>m2|a>m3|a>m4");
	agora_free(s);
	agora_msgs_clear(&mem);
	/* Acked drains are capped the same way. */
	AGORA_PASS(agora_env_drain(small, "b", &ms));
	assert_int_equal(ms.n, 5);
	AGORA_PASS(agora_env_ack_many(small, (const char *const[]){ "b" }, 1));
	AGORA_PASS(agora_env_memory(small, "b", 0, &mem));
	s = t_msgs(&mem);
	assert_string_equal(s, "a>m2|a>m3|a>m4");
	agora_free(s);
	agora_msgs_clear(&mem);
	agora_msgs_clear(&ms);
	agora_env_close(small);
}

static void
notified_roles_in_registration_order(void **state)
{
	struct fixture *fx = *state;
	agora_strv n = { 0 };
	char *s;

	reg(fx->env, "agent1,agent2,agent3");
	store(fx->env, "agent2", "agent1", "First Message");
	store(fx->env, "agent1", "agent2", "Second Message");
	AGORA_PASS(agora_env_notified_roles(fx->env, &n));
	assert_int_equal(n.n, 2);
	assert_string_equal(n.v[0], "agent1");
	assert_string_equal(n.v[1], "agent2");
	s = drain(fx->env, "agent1");
	agora_free(s);
	AGORA_PASS(agora_env_notified_roles(fx->env, &n));
	assert_int_equal(n.n, 1);
	assert_string_equal(n.v[0], "agent2");
	agora_strv_clear(&n);
}

static void
history_limit_returns_the_latest_in_order(void **state)
{
	struct fixture *fx = *state;
	agora_msgs h = { 0 };
	char *s;

	reg(fx->env, "agent1,agent2");
	store(fx->env, "agent1", "agent2", "First Message");
	store(fx->env, "agent1", "agent2", "Second Message");
	store(fx->env, "agent1", "agent2", "Third Message");
	AGORA_PASS(agora_env_history(fx->env, 2, &h));
	s = t_msgs(&h);
	assert_string_equal(s, "agent1>Second Message|agent1>Third Message");
	agora_free(s);
	agora_msgs_clear(&h);
	AGORA_PASS(agora_env_history(fx->env, 0, &h));
	assert_int_equal(h.n, 3);
	assert_true(h.v[0]->id < h.v[1]->id && h.v[1]->id < h.v[2]->id);
	agora_msgs_clear(&h);
}

static void
views_keep_whispers_private(void **state)
{
	struct fixture *fx = *state;
	agora_msgs v = { 0 };
	char *s;

	reg(fx->env, "joe,trump,hillary");
	store(fx->env, "joe", "hillary", "psst");
	store(fx->env, "trump", "all", "loud");
	agora_free(drain(fx->env, "hillary"));
	agora_free(drain(fx->env, "trump"));
	AGORA_PASS(agora_env_view(fx->env, "trump", 0, &v));
	s = t_msgs(&v);
	assert_string_equal(s, "trump>loud");
	agora_free(s);
	agora_msgs_clear(&v);
	AGORA_PASS(agora_env_view(fx->env, "hillary", 0, &v));
	s = t_msgs(&v);
	assert_string_equal(s, "joe>psst|trump>loud");
	agora_free(s);
	agora_msgs_clear(&v);
	AGORA_PASS(agora_env_view(fx->env, "joe", 0, &v));
	s = t_msgs(&v);
	assert_string_equal(s, "joe>psst");
	agora_free(s);
	agora_msgs_clear(&v);
}

static void
requirements_are_kept_apart(void **state)
{
	struct fixture *fx = *state;
	agora_msgs req = { 0 };

	reg(fx->env, "a,b");
	store(fx->env, AGORA_USER_REQUIREMENT, "a", "task one");
	store(fx->env, "a", "b", "chatter");
	store(fx->env, AGORA_USER_REQUIREMENT, "b", "task two");
	AGORA_PASS(agora_env_requirements(fx->env, &req));
	assert_int_equal(req.n, 2);
	assert_string_equal(req.v[1]->content, "task two");
	agora_msgs_clear(&req);
}

static void
reset_empties_everything_but_roles(void **state)
{
	struct fixture *fx = *state;
	agora_msgs ms = { 0 };
	agora_strv roles = { 0 };
	size_t n;
	uint64_t id;

	reg(fx->env, "a,b");
	store(fx->env, AGORA_USER_REQUIREMENT, "a", "task");
	store(fx->env, "a", "b", "x");
	AGORA_PASS(agora_env_reset(fx->env, true));
	AGORA_PASS(agora_env_history(fx->env, 0, &ms));
	assert_int_equal(ms.n, 0);
	AGORA_PASS(agora_env_requirements(fx->env, &ms));
	assert_int_equal(ms.n, 0);
	AGORA_PASS(agora_env_memory(fx->env, "a", 0, &ms));
	assert_int_equal(ms.n, 0);
	AGORA_PASS(agora_env_pending(fx->env, "b", &n));
	assert_int_equal(n, 0);
	AGORA_PASS(agora_env_roles(fx->env, &roles));
	assert_int_equal(roles.n, 2);
	/* Ids keep counting, so they stay unique in the session. */
	id = store(fx->env, "a", "b", "after");
	assert_int_equal(id, 3);
	AGORA_PASS(agora_env_reset(fx->env, false));
	AGORA_PASS(agora_env_roles(fx->env, &roles));
	assert_int_equal(roles.n, 0);
	agora_strv_clear(&roles);
}

static void
sessions_do_not_see_each_other(void **state)
{
	struct fixture *fx = *state;
	agora_env *other = NULL;
	agora_strv roles = { 0 };
	agora_msgs h = { 0 };
	char session[64];

	snprintf(session, sizeof(session), "%s-other",
	         agora_env_session(fx->env));
	AGORA_PASS(agora_env_open(&other, fx->r, session, NULL));
	reg(fx->env, "a,b");
	store(fx->env, "a", "b", "mine");
	AGORA_PASS(agora_env_roles(other, &roles));
	assert_int_equal(roles.n, 0);
	AGORA_PASS(agora_env_history(other, 0, &h));
	assert_int_equal(h.n, 0);
	agora_env_close(other);
}

static void
a_stored_message_publishes_an_event(void **state)
{
	struct fixture *fx = *state;
	agora_redis *sub = t_redis_open();
	agora_reply *rep = NULL;
	char *channel =
	    agora_sprintf("agora:{%s}:events", agora_env_session(fx->env));
	const char *body;
	size_t len;

	reg(fx->env, "a,b");
	AGORA_PASS(agora__redis_cmdv(sub, NULL, "SUBSCRIBE", channel, NULL));
	store(fx->env, "a", "b", "news");
	AGORA_PASS(agora__redis_read(sub, &rep));
	assert_int_equal(agora__reply_len(rep), 3);
	body = agora__reply_str(agora__reply_at(rep, 2), &len);
	assert_non_null(strstr(body, "\"content\":\"news\""));
	assert_non_null(strstr(body, "\"id\":1"));
	agora__reply_free(rep);
	agora_free(channel);
	agora_redis_close(sub);
}

/* Every session with an id counter is listed, sorted, once; a session
 * that stored nothing yet is not. */
static void
sessions_are_listed(void **state)
{
	struct fixture *fx = *state;
	agora_env *other = NULL;
	agora_strv ss = { 0 };
	agora_msg *m = agora_msg_new("a", "b", "hi");

	reg(fx->env, "a,b");
	AGORA_PASS(agora_env_store(fx->env, m));
	AGORA_PASS(agora_env_open(&other, fx->r, "zz-empty-session", NULL));
	AGORA_PASS(agora_env_sessions(fx->r, &ss));
	assert_true(agora_strv_has(&ss, agora_env_session(fx->env)));
	assert_false(agora_strv_has(&ss, "zz-empty-session"));
	for (size_t i = 1; i < ss.n; i++) {
		assert_true(strcmp(ss.v[i - 1], ss.v[i]) < 0);
	}
	agora_strv_clear(&ss);
	agora_env_close(other);
	agora_msg_free(m);
}

/* A batch store (a step's replies) publishes one event per message while
 * anyone listens; it skips the PUBLISH only while nobody does. */
static void
a_batch_store_publishes_each_message(void **state)
{
	struct fixture *fx = *state;
	agora_redis *sub = t_redis_open();
	agora_msg *m[3];
	char *channel =
	    agora_sprintf("agora:{%s}:events", agora_env_session(fx->env));

	reg(fx->env, "a,b,c");
	AGORA_PASS(agora__redis_cmdv(sub, NULL, "SUBSCRIBE", channel, NULL));
	m[0] = agora_msg_new("a", "b", "one");
	m[1] = agora_msg_new("b", "c", "two");
	m[2] = agora_msg_new("c", "a", "three");
	AGORA_PASS(agora_env_store_many(fx->env, m, NULL, 3));
	for (size_t i = 0; i < 3; i++) {
		agora_reply *rep = NULL;
		const char *body;
		size_t len;
		char want[64];

		AGORA_PASS(agora__redis_read(sub, &rep));
		assert_int_equal(agora__reply_len(rep), 3);
		body = agora__reply_str(agora__reply_at(rep, 2), &len);
		snprintf(want, sizeof(want), "\"content\":\"%s\"",
		         m[i]->content);
		assert_non_null(strstr(body, want));
		agora__reply_free(rep);
		agora_msg_free(m[i]);
	}
	agora_free(channel);
	agora_redis_close(sub);
}

static void
a_pattern_subscriber_gets_events_too(void **state)
{
	struct fixture *fx = *state;
	agora_redis *sub = t_redis_open();
	agora_reply *rep = NULL;
	const char *body;
	size_t len;

	reg(fx->env, "a,b");
	/* Nobody listens: nothing to publish (and nothing breaks). */
	store(fx->env, "a", "b", "unheard");
	AGORA_PASS(
	    agora__redis_cmdv(sub, NULL, "PSUBSCRIBE", "agora:*:events", NULL));
	store(fx->env, "a", "b", "heard");
	AGORA_PASS(agora__redis_read(sub, &rep));
	assert_int_equal(agora__reply_len(rep), 4); /* pmessage, pattern, .. */
	body = agora__reply_str(agora__reply_at(rep, 3), &len);
	assert_non_null(strstr(body, "\"content\":\"heard\""));
	agora__reply_free(rep);
	agora_redis_close(sub);
}

static void
oversized_and_invalid_messages_are_refused(void **state)
{
	struct fixture *fx = *state;
	size_t big = AGORA_MSG_MAX_BYTES;
	char *text = agora_malloc(big + 1);
	agora_msg *m;
	agora_msgs h = { 0 };

	reg(fx->env, "a,b");
	memset(text, 'x', big);
	text[big] = '\0';
	m = agora_msg_new("a", "b", text);
	AGORA_FAIL(agora_env_store(fx->env, m), AGORA_ETOOBIG);
	agora_msg_free(m);
	m = agora_msg_new("a", "b", "bad \xc3");
	AGORA_FAIL(agora_env_store(fx->env, m), AGORA_EINVAL);
	agora_msg_free(m);
	AGORA_PASS(agora_env_history(fx->env, 0, &h));
	assert_int_equal(h.n, 0);
	agora_free(text);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(roles_keep_order_and_no_duplicates),
		T(store_to_unknown_recipient_writes_nothing),
		T(store_from_unknown_sender_is_an_error),
		T(store_batch_is_all_or_nothing),
		T(all_means_every_role_but_the_sender),
		T(duplicate_recipients_get_one_copy),
		T(drain_never_returns_a_message_twice),
		T(requeued_messages_come_back_marked),
		T(ack_moves_drained_messages_to_memory),
		T(a_light_drain_writes_no_view_but_leases),
		T(a_light_lease_comes_back_when_its_owner_is_gone),
		T(a_light_ack_remembers_nothing),
		T(two_acked_replies_of_a_role_remember_its_drain_once),
		T(a_batch_over_call_work_is_checked_whole_first),
		T(memories_are_capped_oldest_first),
		T(notified_roles_in_registration_order),
		T(history_limit_returns_the_latest_in_order),
		T(views_keep_whispers_private),
		T(requirements_are_kept_apart),
		T(reset_empties_everything_but_roles),
		T(sessions_do_not_see_each_other),
		T(a_stored_message_publishes_an_event),
		T(a_batch_store_publishes_each_message),
		T(sessions_are_listed),
		T(a_pattern_subscriber_gets_events_too),
		T(oversized_and_invalid_messages_are_refused),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
