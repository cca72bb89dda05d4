/* SPDX-License-Identifier: MIT */
/* libFuzzer: Redis replies as a broken Redis or a proxy could send them.
 * The input is RESP bytes, fed to a reader with no connection (hiredis'
 * parser, as core/redis.c reads a connection) in pieces whose sizes come
 * from the first byte, as a socket may cut them. Each whole reply, up to
 * FUZZ_REPLIES of them, is handled as agora__redis_get handles one (an
 * error reply becomes a code) and then given to every decoder env/ and
 * registry/ apply to replies: role lists, store ids, drains, bodies,
 * counts, agent hashes and the server registry. Nothing may crash, leak
 * or read out of bounds whatever the shape. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../env/env_decode.h"
#include "../../registry/registry_decode.h"
#include "agora/agora.h"
#include "redis_cmd.h"

/* Replies taken from one input, and items any one decoder is given
 * room for (a longer reply still goes through, with fewer outputs). */
#define FUZZ_REPLIES 16
#define FUZZ_ITEMS   64

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static agora_msg *fuzz_msgs[FUZZ_ITEMS]; /* store.lua's messages */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* A body that is not a message is logged: not at this level. */
	agora_log_set_level(AGORA_LOG_ERROR);
	for (size_t i = 0; i < FUZZ_ITEMS; i++) {
		fuzz_msgs[i] = agora_msg_new("a", "b", "x");
	}
	return 0;
}

static size_t
items(const agora_reply *rep)
{
	size_t n = agora__reply_len(rep);

	return n < FUZZ_ITEMS ? n : FUZZ_ITEMS;
}

/* What env.c does with a reply. */
static void
env_replies(const agora_reply *rep)
{
	agora_msgs outs[FUZZ_ITEMS];
	agora_strv sv = { 0 };
	size_t n = items(rep), done = 0;
	char err[128];

	env_decode_strings(rep, &sv);
	agora_strv_clear(&sv);
	env_decode_ids(rep, fuzz_msgs, n);
	(void)agora__reply_int(rep); /* LLEN, SISMEMBER, requeue, reclaim */

	/* A drain of as many roles as the reply has role lists, or as
	 * room allows: both the well-formed and the refused shapes. */
	memset(outs, 0, sizeof(outs));
	(void)env_decode_drain(rep, n > 0 ? n - 1 : 0, outs, &done, "fuzz", err,
	                       sizeof(err));
	for (size_t i = 0; i < FUZZ_ITEMS; i++) {
		agora_msgs_clear(&outs[i]);
	}
	env_decode_bodies(rep, n, outs, "fuzz");
	for (size_t i = 0; i < FUZZ_ITEMS; i++) {
		agora_msgs_clear(&outs[i]);
	}
}

/* What registry.c and servers.c do with a reply. */
static void
registry_replies(const agora_reply *rep)
{
	agora_agent_info info;
	agora_server_info *servers = NULL;
	size_t n = 0;

	reg_agent_from_hash(&info, rep);
	agora_agent_info_fini(&info);
	reg_servers_from_hash(rep, &servers, &n);
	agora_server_infos_free(servers, n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	agora_reply_reader *rd;
	size_t step, at = 0;
	int got = 0;

	if (size < 1) {
		return 0;
	}
	step = (size_t)data[0] * 16 + 1;
	data++;
	size--;
	rd = agora__reply_reader_new();
	if (rd == NULL) {
		abort();
	}
	while (got < FUZZ_REPLIES) {
		agora_reply *rep = NULL;
		agora_err rv = agora__reply_reader_get(rd, &rep);
		if (rv == AGORA_OK && rep == NULL) {
			size_t len = size - at < step ? size - at : step;
			if (len == 0 ||
			    agora__reply_reader_feed(
			        rd, (const char *)data + at, len) != AGORA_OK) {
				break;
			}
			at += len;
			continue;
		}
		/* An error reply, a reply, or bytes that are not RESP
		 * (then the reader says so again each time). */
		got++;
		if (rep != NULL) {
			env_replies(rep);
			registry_replies(rep);
			agora__reply_free(rep);
		}
	}
	agora__reply_reader_free(rd);
	return 0;
}
