/* SPDX-License-Identifier: MIT */
/* Scenario files as the page sees them: the files of the --scenarios
 * directory, named by plain file names only (the page never sends a
 * path), each with its name, description and roles, and which roles a
 * person may play (human ones). Scenario text is hostile input for the
 * page: it goes out as JSON strings only. */
#include <string.h>

#include "agora/json.h"
#include "agora/scenario.h"
#include "studio_int.h"

bool
studio_file_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 5 && n < 256 && name[0] != '.' &&
	       strchr(name, '/') == NULL && strcmp(name + n - 5, ".json") == 0;
}

/* Append {"file","name","description","roles":[{"role","kind","human"}]}
 * for dir/file (or "error" when it does not parse); *human (may be NULL)
 * says whether want (may be NULL) is one of its human roles. */
void
studio_scenario_info(const char *dir, const char *file, const char *want,
                     agora_buf *out, bool *human)
{
	agora_json *doc = NULL;
	const agora_json *a;
	agora_buf p;
	char err[512];
	const char *v;

	if (human != NULL) {
		*human = false;
	}
	agora_buf_init(&p, 0);
	(void)agora_buf_addf(&p, "%s/%s", dir, file);
	(void)agora_buf_adds(out, "{");
	(void)agora_buf_json_key(out, "file");
	(void)agora_buf_json_str(out, file, strlen(file));
	if (agora_json_parse_file(&doc, p.data, AGORA_SCENARIO_MAX_BYTES, err,
	                          sizeof(err)) != AGORA_OK) {
		(void)agora_buf_json_key(out, "error");
		/* The path names our directory: say only why. */
		v = strstr(err, ": ");
		v = v != NULL ? v + 2 : err;
		(void)agora_buf_json_str(out, v, strlen(v));
		goto out;
	}
	v = agora_json_str(agora_json_get(doc, "name"));
	(void)agora_buf_json_key(out, "name");
	(void)agora_buf_json_str(out, v != NULL ? v : file,
	                         strlen(v != NULL ? v : file));
	v = agora_json_str(agora_json_get(doc, "description"));
	(void)agora_buf_json_key(out, "description");
	(void)agora_buf_json_str(out, v != NULL ? v : "",
	                         v != NULL ? strlen(v) : 0);
	(void)agora_buf_json_key(out, "roles");
	(void)agora_buf_adds(out, "[");
	for (a = agora_json_first(agora_json_get(doc, "agents")); a != NULL;
	     a = agora_json_next(a)) {
		const char *role = agora_json_str(agora_json_get(a, "role"));
		const char *kind = agora_json_str(agora_json_get(a, "kind"));
		const agora_json *h = agora_json_get(a, "human");
		bool is_human = h != NULL
		                    ? agora_json_bool(h)
		                    : kind != NULL && strcmp(kind, "user") == 0;

		if (role == NULL || kind == NULL) {
			continue;
		}
		if (human != NULL && want != NULL && is_human &&
		    strcmp(role, want) == 0) {
			*human = true;
		}
		(void)agora_buf_adds(out, "{");
		(void)agora_buf_json_key(out, "role");
		(void)agora_buf_json_str(out, role, strlen(role));
		(void)agora_buf_json_key(out, "kind");
		(void)agora_buf_json_str(out, kind, strlen(kind));
		(void)agora_buf_addf(out, ",\"human\":%s}",
		                     is_human ? "true" : "false");
	}
	(void)agora_buf_adds(out, "]");
out:
	(void)agora_buf_adds(out, "}");
	agora_json_free(doc);
	agora_buf_fini(&p);
}
