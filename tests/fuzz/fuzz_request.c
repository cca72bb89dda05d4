/* SPDX-License-Identifier: MIT */
/* libFuzzer: requests to an agent server. A server runs in this process
 * on inproc://; every input must get a reply, and the server must go on
 * answering. The server has a token the inputs do not know, so what is
 * fuzzed is the decoding, the caps and the dispatch up to authorisation,
 * and no op reaches Redis or holds a reply (wait, fetch) or stops it. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/agora.h"

#define FUZZ_URL   "inproc://agora-fuzz"
#define FUZZ_TOKEN "fuzz-token-0123456789"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static agora_link *fuzz_link;

static void *
fuzz_server(void *arg)
{
	agora_server_opts o = { .url = FUZZ_URL,
		                .token = FUZZ_TOKEN,
		                .max_msg = 1u << 20,
		                .ready_fd = -1 };
	char err[256];

	(void)arg;
	if (agora_server_run(&o, err, sizeof(err)) != AGORA_OK) {
		fprintf(stderr, "fuzz_request: server: %s\n", err);
		abort();
	}
	return NULL;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	pthread_t th;
	agora_buf reply;
	char err[256];
	const char *alive = "{\"v\":1,\"ops\":[{\"op\":\"alive\"}]}";

	(void)argc;
	(void)argv;
	agora_kinds_builtin();
	pthread_create(&th, NULL, fuzz_server, NULL);
	pthread_detach(th);
	if (agora_link_open(&fuzz_link, FUZZ_URL, err, sizeof(err)) !=
	    AGORA_OK) {
		fprintf(stderr, "fuzz_request: link: %s\n", err);
		abort();
	}
	agora_buf_init(&reply, 0);
	/* The listener may not be up yet: ask until it answers. */
	for (int i = 0; i < 200; i++) {
		agora_buf_reset(&reply);
		if (agora_link_call(fuzz_link, alive, strlen(alive), 50,
		                    &reply) == AGORA_OK) {
			break;
		}
	}
	agora_buf_fini(&reply);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	agora_buf reply;
	agora_err rv;

	agora_buf_init(&reply, 0);
	rv = agora_link_call(fuzz_link, (const char *)data, size, 5000, &reply);
	if (rv != AGORA_OK || reply.len == 0 ||
	    strncmp(reply.data, "{\"v\":1,", 7) != 0) {
		fprintf(stderr, "fuzz_request: no proper reply (%s)\n",
		        agora_errname(rv));
		abort();
	}
	agora_buf_fini(&reply);
	return 0;
}
