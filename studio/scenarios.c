/* SPDX-License-Identifier: MIT */
/* Scenario files as the page sees them: the *.json files of the
 * --scenarios directory and of its subdirectories one level down (the
 * demos: demos/chatroom/chatroom.json is "chatroom/chatroom.json"), named
 * by those relative names only (the page never sends a path), each with
 * its name, description and roles, and which roles a person may play
 * (human ones). Scenario text is hostile input for the page: it goes out
 * as JSON strings only. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/json.h"
#include "agora/scenario.h"
#include "studio_int.h"

#define SCENARIOS_MAX 1000 /* files listed */

/* A plain name: not empty, no '/', not starting with '.' (so not ".."). */
static bool
plain_name(const char *s, size_t n)
{
	return n > 0 && s[0] != '.' && memchr(s, '/', n) == NULL;
}

bool
studio_file_ok(const char *name)
{
	size_t n = strlen(name);
	const char *slash = strchr(name, '/');

	if (n <= 5 || n >= 256 || strcmp(name + n - 5, ".json") != 0) {
		return false;
	}
	if (slash == NULL) {
		return plain_name(name, n);
	}
	return plain_name(name, (size_t)(slash - name)) &&
	       plain_name(slash + 1, strlen(slash + 1));
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
	size_t nroles = 0;

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
		(void)agora_buf_adds(out, nroles++ > 0 ? ",{" : "{");
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

static int
names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* readdir is safe on a DIR only this thread uses. */
static const struct dirent *
dir_next(DIR *d)
{
	return readdir(d); /* NOLINT(concurrency-mt-unsafe) */
}

/* The scenario names in dir/sub (sub "" for dir itself) into names. */
static void
scenarios_scan(const char *dir, const char *sub, agora_strv *names)
{
	char *path = agora_sprintf("%s%s%s", dir, sub[0] ? "/" : "", sub);
	DIR *d = opendir(path);
	const struct dirent *e;

	agora_free(path);
	if (d == NULL) {
		return;
	}
	while (names->n < SCENARIOS_MAX && (e = dir_next(d)) != NULL) {
		char *name =
		    agora_sprintf("%s%s%s", sub, sub[0] ? "/" : "", e->d_name);

		if (studio_file_ok(name)) {
			agora_strv_push(names, name);
		} else if (sub[0] == '\0' &&
		           plain_name(e->d_name, strlen(e->d_name))) {
			/* A directory (opendir fails on anything else). */
			scenarios_scan(dir, e->d_name, names);
		}
		agora_free(name);
	}
	closedir(d);
}

void
studio_scenarios(struct studio_ctx *ctx, agora_http_req *rq)
{
	agora_strv names = { 0 };
	agora_buf b;
	DIR *d = opendir(ctx->dir);
	size_t i;

	if (d == NULL) {
		agora_http_error(rq, 500, "the scenarios directory is gone");
		return;
	}
	closedir(d);
	scenarios_scan(ctx->dir, "", &names);
	if (names.n > 1) {
		qsort(names.v, names.n, sizeof(*names.v), names_cmp);
	}
	agora_buf_init(&b, 0);
	(void)agora_buf_adds(&b, "{\"scenarios\":[");
	for (i = 0; i < names.n; i++) {
		if (i > 0) {
			(void)agora_buf_adds(&b, ",");
		}
		studio_scenario_info(ctx->dir, names.v[i], NULL, &b, NULL);
	}
	(void)agora_buf_adds(&b, "]}");
	agora_http_reply_json(rq, 200, b.data);
	agora_buf_fini(&b);
	agora_strv_clear(&names);
}
