/* SPDX-License-Identifier: MIT */
/* An agent's memory in a file (the seeds' Memory(path=...)): saved as a
 * JSON list of messages, loaded into an empty memory at start. Redis stays
 * the live copy; the file carries memory from one session to another. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agora/alloc.h"
#include "agora/env.h"
#include "agora/json.h"

#define MEMFILE_MAX (64u << 20)

agora_err
agora_env_memory_save(agora_env *env, const char *role, const char *path,
                      char *err, size_t errlen)
{
	agora_msgs mem = { 0 };
	agora_buf b;
	char *tmp = agora_sprintf("%s.tmp", path);
	agora_err rv;
	FILE *f;

	rv = agora_env_memory(env, role, 0, &mem);
	if (rv != AGORA_OK) {
		snprintf(err, errlen, "%s: %s", role, agora_env_errstr(env));
		agora_free(tmp);
		return rv;
	}
	agora_buf_init(&b, MEMFILE_MAX);
	rv = agora_buf_adds(&b, "[\n");
	for (size_t i = 0; i < mem.n && rv == AGORA_OK; i++) {
		mem.v[i]->role = AGORA_ROLE_USER; /* recomputed on load */
		rv = agora_msg_encode(mem.v[i], false, &b);
		if (rv == AGORA_OK) {
			rv = agora_buf_adds(&b, i + 1 < mem.n ? ",\n" : "\n");
		}
	}
	if (rv == AGORA_OK) {
		rv = agora_buf_adds(&b, "]\n");
	}
	f = rv == AGORA_OK ? fopen(tmp, "w") : NULL;
	if (f == NULL || fwrite(b.data, 1, b.len, f) != b.len ||
	    fclose(f) != 0 || rename(tmp, path) != 0) {
		char why[128] = "too big";
		if (rv == AGORA_OK) {
			(void)strerror_r(errno, why, sizeof(why));
		}
		snprintf(err, errlen, "%s: cannot save memory of %s: %s", path,
		         role, why);
		rv = rv != AGORA_OK ? rv : AGORA_ESYS;
		unlink(tmp);
	}
	agora_buf_fini(&b);
	agora_msgs_clear(&mem);
	agora_free(tmp);
	return rv;
}

agora_err
agora_env_memory_load(agora_env *env, const char *role, const char *path,
                      char *err, size_t errlen)
{
	agora_json *doc = NULL;
	agora_msgs mem = { 0 };
	agora_msgs have = { 0 };
	char why[256];
	size_t i;
	agora_err rv;

	if (access(path, F_OK) != 0) {
		return AGORA_OK; /* nothing saved yet */
	}
	rv = agora_env_memory(env, role, 1, &have);
	if (rv == AGORA_OK && have.n > 0) {
		agora_msgs_clear(&have);
		return AGORA_OK; /* Redis already has it (a restart) */
	}
	rv = agora_json_parse_file(&doc, path, MEMFILE_MAX, err, errlen);
	if (rv == AGORA_OK && agora_json_typeof(doc) != AGORA_JSON_ARRAY) {
		snprintf(err, errlen, "%s: want a list of messages", path);
		rv = AGORA_EINVAL;
	}
	i = 0;
	for (const agora_json *e = rv == AGORA_OK ? agora_json_first(doc)
	                                          : NULL;
	     e != NULL && rv == AGORA_OK; e = agora_json_next(e), i++) {
		agora_buf b;
		agora_msg *m = NULL;
		agora_buf_init(&b, MEMFILE_MAX);
		(void)agora_json_print(e, &b);
		rv = agora_msg_decode(&m, b.data != NULL ? b.data : "", b.len,
		                      why, sizeof(why));
		agora_buf_fini(&b);
		if (rv != AGORA_OK) {
			snprintf(err, errlen, "%s: [%zu]: %s", path, i, why);
		} else {
			agora_msgs_push(&mem, m);
		}
	}
	if (rv == AGORA_OK && mem.n > 0) {
		rv = agora_env_memory_append(env, role, mem.v, mem.n);
		if (rv != AGORA_OK) {
			snprintf(err, errlen, "%s: %s", path,
			         agora_env_errstr(env));
		}
	}
	agora_msgs_clear(&mem);
	agora_json_free(doc);
	return rv;
}
