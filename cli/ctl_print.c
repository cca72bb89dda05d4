/* SPDX-License-Identifier: MIT */
/* agora ctl: printing a server's answer to one command. */
#include <stdio.h>
#include <string.h>

#include "agora/agora.h"
#include "cli.h"

static void
print_scalar(const agora_json *v)
{
	switch (agora_json_typeof(v)) {
	case AGORA_JSON_STRING:
		printf("%s", agora_json_str(v));
		break;
	case AGORA_JSON_NUMBER:
		printf("%.15g", agora_json_num(v));
		break;
	case AGORA_JSON_BOOL:
		printf("%s", agora_json_bool(v) ? "true" : "false");
		break;
	default: {
		agora_buf b;
		agora_buf_init(&b, 0);
		(void)agora_json_print(v, &b);
		printf("%s", b.data != NULL ? b.data : "");
		agora_buf_fini(&b);
	}
	}
}

static void
print_fields(const agora_json *r)
{
	for (const agora_json *v = agora_json_first(r); v != NULL;
	     v = agora_json_next(v)) {
		if (strcmp(agora_json_key(v), "ok") == 0) {
			continue;
		}
		printf("%s: ", agora_json_key(v));
		print_scalar(v);
		printf("\n");
	}
}

static void
print_list(const agora_json *r)
{
	const agora_json *agents = agora_json_get(r, "agents");

	/* A server may list 100,000 agents: iterate, never index. */
	for (const agora_json *a = agora_json_first(agents); a != NULL;
	     a = agora_json_next(a)) {
		printf("%s\t%s\t%s\n",
		       agora_json_str(agora_json_get(a, "session")),
		       agora_json_str(agora_json_get(a, "role")),
		       agora_json_str(agora_json_get(a, "kind")));
	}
}

static void
print_memory(const agora_json *r)
{
	const agora_json *mem = agora_json_get(r, "memory");

	for (const agora_json *m = agora_json_first(mem); m != NULL;
	     m = agora_json_next(m)) {
		printf("%s: %s\n",
		       agora_json_str(agora_json_get(m, "sent_from")),
		       agora_json_str(agora_json_get(m, "content")));
	}
}

int
cli_ctl_print(const char *cmd, const agora_json *r, bool json)
{
	if (!agora_json_bool(agora_json_get(r, "ok"))) {
		const char *code = agora_json_str(agora_json_get(r, "code"));
		const char *why = agora_json_str(agora_json_get(r, "error"));
		cli_error("%s: %s: %s", cmd, code ? code : "ERROR",
		          why ? why : "failed");
		return EXIT_FAIL;
	}
	if (json) {
		print_scalar(r);
		printf("\n");
	} else if (strcmp(cmd, "list") == 0) {
		print_list(r);
	} else if (strcmp(cmd, "memory") == 0) {
		print_memory(r);
	} else if (strcmp(cmd, "is-alive") == 0 || strcmp(cmd, "info") == 0 ||
	           strcmp(cmd, "delete-all") == 0) {
		print_fields(r);
	} else if (strcmp(cmd, "create") == 0) {
		printf("%s\n",
		       agora_json_bool(agora_json_get(r, "existed"))
		           ? "existed: true (created before; kept as it "
		             "was)"
		           : "created");
	} else {
		printf("ok\n");
	}
	return EXIT_OK;
}
