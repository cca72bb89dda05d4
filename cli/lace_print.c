/* SPDX-License-Identifier: MIT */
/* agora lace: printing a lace server's answers. A reply is its JSON and a
 * line per array (dtype, shape, bytes), never the arrays' bytes; --json
 * makes each answer one JSON object (or array) on stdout. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "agora/agora.h"
#include "agora/lace.h"
#include "cli.h"

#define PRINT_JSON_MAX ((size_t)64 << 20)

/* "[256, 256, 3]" (json: no spaces) into b. */
static void
print_shape(agora_buf *b, const agora_lace_array *a, bool json)
{
	(void)agora_buf_adds(b, "[");
	for (uint32_t d = 0; d < a->ndim; d++) {
		(void)agora_buf_addf(b, "%s%" PRIu64,
		                     d == 0 ? ""
		                     : json ? ","
		                            : ", ",
		                     a->shape[d]);
	}
	(void)agora_buf_adds(b, "]");
}

static const char *
print_dtype(const agora_lace_array *a)
{
	const char *name = agora_lace_dtype_name(a->dtype);

	return name != NULL ? name : "unknown";
}

void
cli_lace_print_msg(const agora_lace_msg *m, bool json)
{
	const agora_lace_payload *p = agora_lace_msg_payload(m);
	bool none = p->json == NULL || p->json_len == 0;
	agora_buf line;

	agora_buf_init(&line, 0);
	if (json) {
		(void)agora_buf_adds(&line, "{\"reply\":");
		(void)agora_buf_add(&line, none ? "null" : p->json,
		                    none ? 4 : p->json_len);
		(void)agora_buf_adds(&line, ",\"arrays\":[");
	} else {
		printf("%.*s\n", none ? 4 : (int)p->json_len,
		       none ? "null" : p->json);
	}
	for (size_t i = 0; i < p->narrays; i++) {
		const agora_lace_array *a = agora_lace_msg_array(m, i);
		if (json) {
			(void)agora_buf_addf(&line,
			                     "%s{\"dtype\":\"%s\",\"shape\":",
			                     i > 0 ? "," : "", print_dtype(a));
			print_shape(&line, a, true);
			(void)agora_buf_addf(&line, ",\"bytes\":%zu}",
			                     agora_lace_array_bytes(a));
			continue;
		}
		agora_buf_reset(&line);
		print_shape(&line, a, false);
		printf("array %zu: %s %s (%zu bytes)\n", i, print_dtype(a),
		       line.data, agora_lace_array_bytes(a));
	}
	if (json) {
		(void)agora_buf_adds(&line, "]}");
		printf("%s\n", line.data);
	}
	agora_buf_fini(&line);
}

/* Parse an answer's JSON; a bad one is the server's fault (EPROTO). */
static agora_err
print_parse(agora_json **doc, const agora_buf *b, const char *what, char *err,
            size_t errlen)
{
	char why[256];

	if (agora_json_parse(doc, b->data != NULL ? b->data : "", b->len,
	                     PRINT_JSON_MAX, AGORA_JSON_MAX_DEPTH, why,
	                     sizeof(why)) != AGORA_OK) {
		snprintf(err, errlen, "%s: the server's answer is not JSON: %s",
		         what, why);
		return AGORA_EPROTO;
	}
	return AGORA_OK;
}

agora_err
cli_lace_print_names(const agora_buf *names, bool json, char *err,
                     size_t errlen)
{
	agora_json *doc = NULL;
	agora_err rv = print_parse(&doc, names, "interfaces", err, errlen);

	if (rv != AGORA_OK) {
		return rv;
	}
	if (json) {
		printf("%.*s\n", (int)names->len, names->data);
	}
	for (const agora_json *n = agora_json_first(doc); !json && n != NULL;
	     n = agora_json_next(n)) {
		printf("%s\n", agora_json_str(n) != NULL ? agora_json_str(n)
		                                         : "(not a name)");
	}
	agora_json_free(doc);
	return AGORA_OK;
}

/* An id or cursor: "-" for none yet (-1). */
static void
print_id(char *out, size_t n, const agora_json *v)
{
	int64_t id = -1;

	if (agora_json_int(v, INT64_MIN, INT64_MAX, &id) && id >= 0) {
		snprintf(out, n, "%" PRId64, id);
	} else {
		snprintf(out, n, "-");
	}
}

/* The widest of one member (a string) over items, at least min. */
static int
print_width(const agora_json *items, const char *member, int min)
{
	int w = min;

	for (const agora_json *it = agora_json_first(items); it != NULL;
	     it = agora_json_next(it)) {
		const char *s = agora_json_str(agora_json_get(it, member));
		size_t n = s != NULL ? strlen(s) : 0;
		if (n > (size_t)w && n < 200) {
			w = (int)n;
		}
	}
	return w;
}

static void
print_clients(const agora_json *clients)
{
	int w = print_width(clients, "client", 6);

	if (agora_json_first(clients) == NULL) {
		printf("  (no client has pushed yet)\n");
		return;
	}
	printf("  %-*s  %-8s  %-8s  %s\n", w, "client", "cursor", "received",
	       "gaps");
	for (const agora_json *c = agora_json_first(clients); c != NULL;
	     c = agora_json_next(c)) {
		const char *name = agora_json_str(agora_json_get(c, "client"));
		char cursor[32];
		print_id(cursor, sizeof(cursor), agora_json_get(c, "cursor"));
		printf("  %-*s  %-8s  %-8.0f  %.0f\n", w,
		       name != NULL ? name : "?", cursor,
		       agora_json_num(agora_json_get(c, "received")),
		       agora_json_num(agora_json_get(c, "gaps")));
	}
}

agora_err
cli_lace_print_stores(const agora_buf *stores, bool json, char *err,
                      size_t errlen)
{
	agora_json *doc = NULL;
	const agora_json *list;
	agora_err rv = print_parse(&doc, stores, "stores", err, errlen);
	int w;

	if (rv != AGORA_OK) {
		return rv;
	}
	if (json) {
		printf("%.*s\n", (int)stores->len, stores->data);
		agora_json_free(doc);
		return AGORA_OK;
	}
	list = agora_json_get(doc, "stores");
	w = print_width(list, "name", 5);
	if (agora_json_first(list) == NULL) {
		printf("(no stores)\n");
	}
	for (const agora_json *s = agora_json_first(list); s != NULL;
	     s = agora_json_next(s)) {
		const char *name = agora_json_str(agora_json_get(s, "name"));
		char size[64], latest[32];
		snprintf(size, sizeof(size), "%.0f/%.0f",
		         agora_json_num(agora_json_get(s, "size")),
		         agora_json_num(agora_json_get(s, "capacity")));
		print_id(latest, sizeof(latest), agora_json_get(s, "latest"));
		printf("%-*s  %-13s  %s\n", w, "store", "size/capacity",
		       "latest");
		printf("%-*s  %-13s  %s\n", w, name != NULL ? name : "?", size,
		       latest);
		print_clients(agora_json_get(s, "clients"));
	}
	agora_json_free(doc);
	return AGORA_OK;
}
