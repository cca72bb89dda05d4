/* SPDX-License-Identifier: MIT */
/* The model config table. Entries are kept as their JSON text (checked when
 * loaded) and resolved into an agora_model when an agent is made: that is
 * when api_key_env is read, so a missing key fails agent creation, not the
 * first step, and so a config replaced later never changes a running
 * agent. Keys are never logged or put in errors; a key or organization
 * with a control character is refused, since it becomes a header line and
 * CR or LF there would add headers of its own. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/models.h"

#define MODELS_MAX_BYTES (1u << 20)

struct model_entry {
	char *name;
	char *json; /* the entry as given */
	bool sent;  /* came over the wire (set_models) */
};

static pthread_mutex_t models_lock = PTHREAD_MUTEX_INITIALIZER;
static struct model_entry *models;
static size_t nmodels;
/* May configs that came over the wire name environment variables? */
static _Atomic bool models_sent_env = true;

struct model_type {
	const char *name;
	const char *base_url;
	const char
	    *key_env; /* where the key is by default; NULL: none needed */
};

static const struct model_type model_types[] = {
	{ "openai_chat", "https://api.openai.com/v1", "OPENAI_API_KEY" },
	{ "dashscope_chat", "https://dashscope.aliyuncs.com/compatible-mode/v1",
	  "DASHSCOPE_API_KEY" },
	{ "ollama_chat", "http://localhost:11434/v1", NULL },
};

static const struct model_type *
model_type_find(const char *name)
{
	for (size_t i = 0; i < sizeof(model_types) / sizeof(model_types[0]);
	     i++) {
		if (name != NULL && strcmp(model_types[i].name, name) == 0) {
			return &model_types[i];
		}
	}
	return NULL;
}

/* ModelScope's model_server: a type's short name or a URL. */
static const struct model_type *
model_server_type(const char *server)
{
	if (server == NULL || strcmp(server, "openai") == 0) {
		return &model_types[0];
	}
	if (strcmp(server, "dashscope") == 0) {
		return &model_types[1];
	}
	if (strcmp(server, "ollama") == 0) {
		return &model_types[2];
	}
	return NULL;
}

static agora_err
model_check_keys(const agora_json *e, const char *where, char *err,
                 size_t errlen)
{
	static const char *const keys[] = {
		"config_name", "model_type",         "model_name",
		"api_key",     "api_key_env",        "organization",
		"client_args", "generate_args",      "max_concurrency",
		"timeout_ms",  "connect_timeout_ms", "max_retries",
		"model",       "model_server",       NULL
	};
	static const char *const strings[] = { "config_name", "model_type",
		                               "model_name",  "api_key",
		                               "api_key_env", "organization",
		                               "model",       "model_server",
		                               NULL };

	for (size_t i = 0; i < agora_json_size(e); i++) {
		const char *k = agora_json_key(agora_json_at(e, i));
		bool known = false;
		for (size_t j = 0; keys[j] != NULL; j++) {
			known = known || strcmp(keys[j], k) == 0;
		}
		if (!known) {
			snprintf(err, errlen, "%s: unknown key '%s'", where, k);
			return AGORA_EINVAL;
		}
	}
	for (size_t j = 0; strings[j] != NULL; j++) {
		const agora_json *v = agora_json_get(e, strings[j]);
		if (v != NULL && agora_json_typeof(v) != AGORA_JSON_STRING) {
			snprintf(err, errlen, "%s.%s: want a string", where,
			         strings[j]);
			return AGORA_EINVAL;
		}
	}
	return AGORA_OK;
}

/* Either ModelScope's {model, model_server} or AgentScope's model_type
 * and model_name. */
static agora_err
model_check_form(const agora_json *e, const char *where, char *err,
                 size_t errlen)
{
	const char *type = agora_json_str(agora_json_get(e, "model_type"));
	const char *server = agora_json_str(agora_json_get(e, "model_server"));

	if (agora_json_get(e, "model") != NULL) {
		if (server != NULL && model_server_type(server) == NULL &&
		    strncmp(server, "http", 4) != 0) {
			snprintf(
			    err, errlen,
			    "%s: model_server '%s' is not openai, dashscope, "
			    "ollama or a URL",
			    where, server);
			return AGORA_EINVAL;
		}
		return AGORA_OK;
	}
	if (model_type_find(type) == NULL) {
		snprintf(err, errlen,
		         "%s: model_type '%s' is not openai_chat, "
		         "dashscope_chat or ollama_chat",
		         where, type != NULL ? type : "(missing)");
		return AGORA_EINVAL;
	}
	if (agora_json_get(e, "model_name") == NULL) {
		snprintf(err, errlen, "%s: missing 'model_name'", where);
		return AGORA_EINVAL;
	}
	return AGORA_OK;
}

/* Whether v can be a header value: no control characters (CR and LF
 * would end the header line and start another). */
static bool
model_header_safe(const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p != '\0';
	     p++) {
		if (*p < 0x20 || *p == 0x7f) {
			return false;
		}
	}
	return true;
}

/* The error names the config and the field, never the value. */
static agora_err
model_refuse_value(const agora_json *e, const char *where, const char *what,
                   char *err, size_t errlen)
{
	const char *name = agora_json_str(agora_json_get(e, "config_name"));

	if (name == NULL) {
		name = agora_json_str(agora_json_get(e, "model"));
	}
	snprintf(err, errlen,
	         "%s: model config '%s': %s holds a control character (CR, "
	         "LF ...), which would break the request's headers",
	         where, name != NULL ? name : "?", what);
	return AGORA_EINVAL;
}

static agora_err
model_check_values(const agora_json *e, const char *where, char *err,
                   size_t errlen)
{
	static const char *const ints[] = { "max_concurrency", "timeout_ms",
		                            "connect_timeout_ms", "max_retries",
		                            NULL };
	/* Sent as headers (Authorization, OpenAI-Organization). */
	static const char *const headers[] = { "api_key", "organization",
		                               NULL };
	const agora_json *ca = agora_json_get(e, "client_args");
	const agora_json *ga = agora_json_get(e, "generate_args");
	int64_t v;

	if ((ca != NULL && agora_json_typeof(ca) != AGORA_JSON_OBJECT) ||
	    (ga != NULL && agora_json_typeof(ga) != AGORA_JSON_OBJECT)) {
		snprintf(err, errlen,
		         "%s: client_args and generate_args must be objects",
		         where);
		return AGORA_EINVAL;
	}
	if (agora_json_get(ca, "base_url") != NULL &&
	    agora_json_str(agora_json_get(ca, "base_url")) == NULL) {
		snprintf(err, errlen,
		         "%s: client_args.base_url must be a string", where);
		return AGORA_EINVAL;
	}
	for (size_t i = 0; ints[i] != NULL; i++) {
		const agora_json *n = agora_json_get(e, ints[i]);
		if (n != NULL && !agora_json_int(n, 0, 86400000, &v)) {
			snprintf(err, errlen, "%s.%s: want a whole number",
			         where, ints[i]);
			return AGORA_EINVAL;
		}
	}
	for (size_t i = 0; headers[i] != NULL; i++) {
		const char *h = agora_json_str(agora_json_get(e, headers[i]));
		if (h != NULL && !model_header_safe(h)) {
			return model_refuse_value(e, where, headers[i], err,
			                          errlen);
		}
	}
	return AGORA_OK;
}

/* Check one entry; errors name it. */
static agora_err
model_check(const agora_json *e, const char *where, char *err, size_t errlen)
{
	agora_err rv;

	if (agora_json_typeof(e) != AGORA_JSON_OBJECT) {
		snprintf(err, errlen, "%s: want an object", where);
		return AGORA_EINVAL;
	}
	rv = model_check_keys(e, where, err, errlen);
	if (rv == AGORA_OK) {
		rv = model_check_form(e, where, err, errlen);
	}
	if (rv == AGORA_OK) {
		rv = model_check_values(e, where, err, errlen);
	}
	return rv;
}

static const char *
model_entry_name(const agora_json *e)
{
	const char *n = agora_json_str(agora_json_get(e, "config_name"));

	return n != NULL ? n : agora_json_str(agora_json_get(e, "model"));
}

char *
agora_models_dump(void)
{
	agora_buf out;

	agora_buf_init(&out, 0);
	(void)agora_buf_adds(&out, "[");
	pthread_mutex_lock(&models_lock);
	for (size_t i = 0; i < nmodels; i++) {
		(void)agora_buf_addf(&out, "%s%s", i ? "," : "",
		                     models[i].json);
	}
	pthread_mutex_unlock(&models_lock);
	(void)agora_buf_adds(&out, "]");
	return agora_buf_steal(&out);
}

static agora_err
models_load(const agora_json *list, const char *where, bool sent, char *err,
            size_t errlen)
{
	char at[256];
	agora_err rv = AGORA_OK;

	if (agora_json_typeof(list) != AGORA_JSON_ARRAY) {
		snprintf(err, errlen, "%s: want a list of model configs",
		         where);
		return AGORA_EINVAL;
	}
	for (size_t i = 0; i < agora_json_size(list) && rv == AGORA_OK; i++) {
		const agora_json *e = agora_json_at(list, i);
		snprintf(at, sizeof(at), "%s[%zu]", where, i);
		rv = model_check(e, at, err, errlen);
		if (rv == AGORA_OK && model_entry_name(e) == NULL) {
			snprintf(err, errlen, "%s: missing 'config_name'", at);
			rv = AGORA_EINVAL;
		}
	}
	if (rv != AGORA_OK) {
		return rv;
	}
	pthread_mutex_lock(&models_lock);
	for (size_t i = 0; i < agora_json_size(list); i++) {
		const agora_json *e = agora_json_at(list, i);
		const char *name = model_entry_name(e);
		agora_buf b;
		size_t k;

		agora_buf_init(&b, MODELS_MAX_BYTES);
		(void)agora_json_print(e, &b);
		for (k = 0; k < nmodels; k++) {
			if (strcmp(models[k].name, name) == 0) {
				break;
			}
		}
		if (k == nmodels) {
			models = agora_realloc(models,
			                       (nmodels + 1) * sizeof(*models));
			models[nmodels].name = agora_strdup(name);
			models[nmodels].json = NULL;
			nmodels++;
		}
		agora_free(models[k].json);
		models[k].json = agora_buf_steal(&b);
		models[k].sent = sent;
		agora_buf_fini(&b);
	}
	pthread_mutex_unlock(&models_lock);
	return AGORA_OK;
}

agora_err
agora_models_load_json(const agora_json *list, const char *where, char *err,
                       size_t errlen)
{
	return models_load(list, where, false, err, errlen);
}

agora_err
agora_models_load_sent(const agora_json *list, const char *where, char *err,
                       size_t errlen)
{
	return models_load(list, where, true, err, errlen);
}

void
agora_models_sent_env(bool allow)
{
	models_sent_env = allow;
}

agora_err
agora_models_load_file(const char *path, char *err, size_t errlen)
{
	agora_json *doc = NULL;
	agora_err rv =
	    agora_json_parse_file(&doc, path, MODELS_MAX_BYTES, err, errlen);

	if (rv == AGORA_OK) {
		rv = agora_models_load_json(doc, path, err, errlen);
	}
	agora_json_free(doc);
	return rv;
}

void
agora_models_clear(void)
{
	pthread_mutex_lock(&models_lock);
	for (size_t i = 0; i < nmodels; i++) {
		agora_free(models[i].name);
		agora_free(models[i].json);
	}
	agora_free(models);
	models = NULL;
	nmodels = 0;
	pthread_mutex_unlock(&models_lock);
}

bool
agora_models_has(const char *name)
{
	bool found = false;

	pthread_mutex_lock(&models_lock);
	for (size_t i = 0; i < nmodels && name != NULL; i++) {
		found = found || strcmp(models[i].name, name) == 0;
	}
	pthread_mutex_unlock(&models_lock);
	return found;
}

void
agora_models_names(agora_strv *out)
{
	agora_strv_clear(out);
	pthread_mutex_lock(&models_lock);
	for (size_t i = 0; i < nmodels; i++) {
		agora_strv_push(out, models[i].name);
	}
	pthread_mutex_unlock(&models_lock);
}

/* The key: api_key, else api_key_env (or the type's default variable).
 * Needed for the public endpoints; optional for a base_url of your own. A
 * config sent by a peer reads no variable unless this process allows it:
 * else a peer names SECRET_X and a base_url of its own, and receives the
 * secret in an Authorization header. */
static agora_err
model_key(agora_model *m, const agora_json *e, const struct model_type *t,
          bool own_url, bool sent, const char *who, char *err, size_t errlen)
{
	const char *key = agora_json_str(agora_json_get(e, "api_key"));
	const char *var = agora_json_str(agora_json_get(e, "api_key_env"));

	if (key == NULL && var == NULL && !own_url && t->key_env != NULL) {
		var = t->key_env;
	}
	if (key == NULL && var != NULL && sent && !models_sent_env) {
		snprintf(
		    err, errlen,
		    "%s: model config '%s' wants its API key from the "
		    "environment variable %s, which this server reads only "
		    "for its own --model-config files, not for configs "
		    "sent to it: send api_key, or start the server with "
		    "the config",
		    who, m->config_name, var);
		return AGORA_EAUTH;
	}
	if (key == NULL && var != NULL) {
		key = getenv(var); /* NOLINT(concurrency-mt-unsafe) */
		if (key == NULL || key[0] == '\0') {
			snprintf(err, errlen,
			         "%s: model config '%s' needs an API key: the "
			         "environment variable %s is not set",
			         who, m->config_name, var);
			return AGORA_EINVAL;
		}
		if (!model_header_safe(key)) {
			snprintf(err, errlen,
			         "%s: model config '%s': the API key in %s "
			         "holds a control character (CR, LF ...), "
			         "which would break the request's headers",
			         who, m->config_name, var);
			return AGORA_EINVAL;
		}
	}
	m->api_key =
	    key != NULL && strcmp(key, "EMPTY") != 0 ? agora_strdup(key) : NULL;
	return AGORA_OK;
}

static agora_err
model_from_entry(agora_model **out, const agora_json *e, bool sent,
                 const char *who, char *err, size_t errlen)
{
	agora_model *m = agora_calloc(1, sizeof(*m));
	const agora_json *ca = agora_json_get(e, "client_args");
	const agora_json *ga = agora_json_get(e, "generate_args");
	const char *server = agora_json_str(agora_json_get(e, "model_server"));
	const struct model_type *t;
	const char *url = agora_json_str(agora_json_get(ca, "base_url"));
	int64_t v;
	agora_err rv;

	if (agora_json_get(e, "model") != NULL) {
		t = model_server_type(server);
		if (t == NULL) { /* a URL */
			t = &model_types[0];
			url = server;
		}
		m->model_name =
		    agora_strdup(agora_json_str(agora_json_get(e, "model")));
	} else {
		t = model_type_find(
		    agora_json_str(agora_json_get(e, "model_type")));
		m->model_name = agora_strdup(
		    agora_json_str(agora_json_get(e, "model_name")));
	}
	m->config_name = agora_strdup(
	    model_entry_name(e) != NULL ? model_entry_name(e) : m->model_name);
	m->model_type = agora_strdup(t->name);
	m->base_url = agora_strdup(url != NULL ? url : t->base_url);
	if (agora_json_str(agora_json_get(e, "organization")) != NULL) {
		m->organization = agora_strdup(
		    agora_json_str(agora_json_get(e, "organization")));
	}
	if (ga != NULL) {
		agora_buf b;
		agora_buf_init(&b, MODELS_MAX_BYTES);
		(void)agora_json_print(ga, &b);
		m->generate_args = agora_buf_steal(&b);
		agora_buf_fini(&b);
	}
	rv = model_key(m, e, t, url != NULL, sent, who, err, errlen);
	if (rv != AGORA_OK) {
		agora_model_free(m);
		return rv;
	}
	m->endpoint.base_url = m->base_url;
	m->endpoint.api_key = m->api_key;
	m->endpoint.organization = m->organization;
	m->endpoint.pool = m->config_name;
	m->endpoint.max_retries = -1;
	if (agora_json_int(agora_json_get(e, "max_concurrency"), 0, 1000000,
	                   &v)) {
		m->endpoint.max_concurrency = (int)v;
	}
	if (agora_json_int(agora_json_get(e, "timeout_ms"), 1, 86400000, &v)) {
		m->endpoint.timeout_ms = v;
	}
	if (agora_json_int(agora_json_get(e, "connect_timeout_ms"), 1, 86400000,
	                   &v)) {
		m->endpoint.connect_timeout_ms = v;
	}
	if (agora_json_int(agora_json_get(e, "max_retries"), 0, 100, &v)) {
		m->endpoint.max_retries = (int)v;
	}
	*out = m;
	return AGORA_OK;
}

agora_err
agora_model_resolve(agora_model **out, const agora_json *ref, const char *who,
                    char *err, size_t errlen)
{
	agora_json *doc = NULL;
	bool sent = false;
	agora_err rv;

	*out = NULL;
	if (agora_json_typeof(ref) == AGORA_JSON_OBJECT) {
		/* Inline: from this process's own files, or, in a server,
		 * from a peer's create: sent. */
		rv = model_check(ref, who, err, errlen);
		return rv == AGORA_OK
		           ? model_from_entry(out, ref, !models_sent_env, who,
		                              err, errlen)
		           : rv;
	}
	if (agora_json_typeof(ref) != AGORA_JSON_STRING) {
		snprintf(err, errlen,
		         "%s: 'model' must name a model config or be one", who);
		return AGORA_EINVAL;
	}
	pthread_mutex_lock(&models_lock);
	for (size_t i = 0; i < nmodels && doc == NULL; i++) {
		if (strcmp(models[i].name, agora_json_str(ref)) == 0) {
			sent = models[i].sent;
			(void)agora_json_parse(&doc, models[i].json,
			                       strlen(models[i].json),
			                       MODELS_MAX_BYTES, 64, NULL, 0);
		}
	}
	pthread_mutex_unlock(&models_lock);
	if (doc == NULL) {
		snprintf(err, errlen,
		         "%s: no model config named '%s' (give one with "
		         "--model-config FILE or \"models\" in the scenario)",
		         who, agora_json_str(ref));
		return AGORA_ENOTFOUND;
	}
	rv = model_from_entry(out, doc, sent, who, err, errlen);
	agora_json_free(doc);
	return rv;
}

void
agora_model_free(agora_model *m)
{
	if (m == NULL) {
		return;
	}
	agora_free(m->config_name);
	agora_free(m->model_type);
	agora_free(m->model_name);
	agora_free(m->api_key);
	agora_free(m->organization);
	agora_free(m->base_url);
	agora_free(m->generate_args);
	agora_free(m);
}
