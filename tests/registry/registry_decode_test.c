/* SPDX-License-Identifier: MIT */
/* Unit tests of registry/registry_decode.c: an agent's hash and the
 * server registry read back from replies made from RESP bytes, with no
 * server, well-formed and as a broken Redis or a proxy could send them.
 * Cases found by tests/fuzz/fuzz_redis.c end up here. */
#include <string.h>

#include "../../registry/registry_decode.h"
#include "test.h"

#define REPLY(s) t_reply(s, sizeof(s) - 1)

static void
agent_hash_reads_every_field(void **state)
{
	static const char hash[] =
	    "*22\r\n"
	    "$4\r\nrole\r\n$5\r\nalice\r\n$4\r\nkind\r\n$3\r\nllm\r\n"
	    "$6\r\nserver\r\n$5\r\nlocal\r\n$6\r\nstatus\r\n$4\r\nbusy\r\n"
	    "$5\r\nhuman\r\n$1\r\n1\r\n$7\r\nwatcher\r\n$1\r\n0\r\n"
	    "$5\r\nsteps\r\n$1\r\n7\r\n$9\r\nlast_seen\r\n$3\r\n123\r\n"
	    "$13\r\nprompt_tokens\r\n$2\r\n12\r\n"
	    "$12\r\ntotal_tokens\r\n$2\r\n15\r\n"
	    "$11\r\nlast_finish\r\n$4\r\nstop\r\n";
	agora_reply *rep = REPLY(hash);
	agora_agent_info info;

	(void)state;
	reg_agent_from_hash(&info, rep);
	assert_string_equal(info.role, "alice");
	assert_string_equal(info.kind, "llm");
	assert_string_equal(info.server, "local");
	assert_int_equal(info.status, AGORA_AGENT_BUSY);
	assert_true(info.human);
	assert_false(info.watcher);
	assert_int_equal(info.steps, 7);
	assert_int_equal(info.last_seen_ms, 123);
	assert_int_equal(info.prompt_tokens, 12);
	assert_int_equal(info.total_tokens, 15);
	assert_string_equal(info.last_finish, "stop");
	agora_agent_info_fini(&info);
	agora__reply_free(rep);
}

/* Regression: a field given twice (Redis never sends that, a broken
 * proxy may) leaked the first value of role, kind and server. Under
 * LeakSanitizer or valgrind this test failed. */
static void
agent_hash_field_twice_keeps_the_last(void **state)
{
	static const char hash[] =
	    "*12\r\n"
	    "$4\r\nrole\r\n$5\r\nalice\r\n$4\r\nrole\r\n$3\r\nbob\r\n"
	    "$4\r\nkind\r\n$3\r\nllm\r\n$4\r\nkind\r\n$4\r\necho\r\n"
	    "$6\r\nserver\r\n$1\r\na\r\n$6\r\nserver\r\n$1\r\nb\r\n";
	agora_reply *rep = REPLY(hash);
	agora_agent_info info;

	(void)state;
	reg_agent_from_hash(&info, rep);
	assert_string_equal(info.role, "bob");
	assert_string_equal(info.kind, "echo");
	assert_string_equal(info.server, "b");
	agora_agent_info_fini(&info);
	agora__reply_free(rep);
}

static void
agent_hash_takes_only_what_it_can_read(void **state)
{
	/* A name with a NUL in it is not "role"; items that are not strings
	 * are skipped with their pair; an odd last item is ignored; an
	 * unknown status reads as offline. */
	static const char hash[] = "*9\r\n"
	                           "$6\r\nrole\0x\r\n$5\r\nalice\r\n"
	                           ":1\r\n$3\r\nbob\r\n"
	                           "$4\r\nkind\r\n*0\r\n"
	                           "$6\r\nstatus\r\n$5\r\nweird\r\n"
	                           "$4\r\nrole\r\n";
	agora_reply *rep = REPLY(hash);
	agora_agent_info info;

	(void)state;
	reg_agent_from_hash(&info, rep);
	assert_null(info.role);
	assert_null(info.kind);
	assert_int_equal(info.status, AGORA_AGENT_OFFLINE);
	agora_agent_info_fini(&info);
	agora__reply_free(rep);
	/* Not a hash at all. */
	rep = REPLY(":5\r\n");
	reg_agent_from_hash(&info, rep);
	assert_null(info.role);
	agora_agent_info_fini(&info);
	agora__reply_free(rep);
}

static void
servers_hash_reads_lines_and_skips_odd_items(void **state)
{
	static const char hash[] =
	    "*7\r\n"
	    "$14\r\ntcp://h:7311/x\r\n"
	    "$40\r\n{\"pid\":41,\"agents\":3,\"busy\":1,\"ts_ms\":9}\r\n"
	    "$6\r\nipc://\r\n$8\r\nnot json\r\n"
	    ":1\r\n$2\r\n{}\r\n"
	    "$1\r\nz\r\n";
	agora_server_info *v = NULL;
	agora_reply *rep = REPLY(hash);
	size_t n = 9;

	(void)state;
	reg_servers_from_hash(rep, &v, &n);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].url, "tcp://h:7311/x");
	assert_int_equal(v[0].pid, 41);
	assert_int_equal(v[0].agents, 3);
	assert_int_equal(v[0].busy, 1);
	assert_false(v[0].live); /* its last beat was long ago */
	assert_string_equal(v[1].url, "ipc://");
	assert_int_equal(v[1].pid, 0);
	assert_false(v[1].live);
	agora_server_infos_free(v, n);
	agora__reply_free(rep);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(agent_hash_reads_every_field),
		cmocka_unit_test(agent_hash_field_twice_keeps_the_last),
		cmocka_unit_test(agent_hash_takes_only_what_it_can_read),
		cmocka_unit_test(servers_hash_reads_lines_and_skips_odd_items),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
