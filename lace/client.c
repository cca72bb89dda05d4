/* SPDX-License-Identifier: MIT */
/* The lace client: the connection, the handshake, and the action and
 * inference calls. Every call has a deadline; a timeout is ETIMEDOUT with
 * a message that says so, never an empty answer. Calls may come from
 * several threads at once: each is its own request on the connection. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "agora/alloc.h"
#include "agora/clock.h"
#include "agora/random.h"
#include "client.h"
#include "payload.h"

#define DEFAULT_TIMEOUT 5000
#define DEFAULT_MAX_MSG ((size_t)64 << 20)

static agora_err
hello(agora_lace_client *c, char *err, size_t errlen)
{
	agora_buf mine;
	agora_lace_payload p = { 0 };
	agora_lace_msg *m = NULL;
	agora_err rv;

	agora_buf_init(&mine, 0);
	if (c->has_cfg) {
		lace_cfg_json(&c->cfg, &mine);
	} else {
		agora_buf_addf(&mine, "{\"protocol\":%d,\"any\":true}",
		               AGORA_LACE_PROTOCOL);
	}
	p.json = mine.data;
	p.json_len = mine.len;
	rv = lace_ask(c, "hello", "", &p, c->timeout_ms, &m, err, errlen);
	agora_buf_fini(&mine);
	if (rv == AGORA_OK) {
		const agora_lace_payload *got = agora_lace_msg_payload(m);
		int64_t max = 0;
		if (agora_json_int(agora_json_get(m->frame.head, "max_msg"), 1,
		                   INT64_MAX, &max)) {
			agora_link_set_max(c->link, (size_t)max);
		}
		c->server_config =
		    agora_strndup(got->json != NULL ? got->json : "null",
		                  got->json != NULL ? got->json_len : 4);
	}
	agora_lace_msg_free(m);
	return rv;
}

agora_err
agora_lace_client_open(agora_lace_client **cp, const agora_lace_config *cfg,
                       const agora_lace_client_opts *o, char *err,
                       size_t errlen)
{
	agora_lace_client *c;
	char name[32];
	agora_err rv;

	*cp = NULL;
	if (o == NULL || o->url == NULL) {
		snprintf(err, errlen, "a lace client needs a url");
		return AGORA_EINVAL;
	}
	c = agora_calloc(1, sizeof(*c));
	c->o = *o;
	c->url = agora_strdup(o->url);
	c->token = o->token != NULL ? agora_strdup(o->token) : NULL;
	if (o->name != NULL) {
		c->name = agora_strdup(o->name);
	} else {
		char hex[17];
		agora_random_hex(hex, sizeof(hex), 8);
		snprintf(name, sizeof(name), "client-%s", hex);
		c->name = agora_strdup(name);
	}
	c->o.url = c->url;
	c->o.token = c->token;
	c->o.name = c->name;
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT;
	c->max_msg = o->max_msg > 0 ? o->max_msg : DEFAULT_MAX_MSG;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->push_lock, NULL);
	agora_cond_init(&c->cv); /* timed waits: updates, poll retries */
	if (cfg != NULL) {
		rv = lace_cfg_copy(&c->cfg, cfg, err, errlen);
		if (rv != AGORA_OK) {
			agora_lace_client_close(c);
			return rv;
		}
		c->has_cfg = true;
	}
	rv = agora_link_open_now(&c->link, c->url, c->timeout_ms, err, errlen);
	if (rv == AGORA_OK) {
		agora_link_set_limits(c->link, c->max_msg, c->max_msg);
		rv = hello(c, err, errlen);
	}
	if (rv != AGORA_OK) {
		agora_lace_client_close(c);
		return rv;
	}
	*cp = c;
	return AGORA_OK;
}

void
agora_lace_client_close(agora_lace_client *c)
{
	if (c == NULL) {
		return;
	}
	pthread_mutex_lock(&c->lock);
	c->closing = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->lock);
	lace_updates_stop(c);
	lace_subscribe_stop(c);
	agora_link_close(c->link);
	lace_push_stores_free(c);
	if (c->has_cfg) {
		lace_cfg_free(&c->cfg);
	}
	if (c->token != NULL) {
		memset(c->token, 0, strlen(c->token));
	}
	agora_free(c->token);
	agora_free(c->url);
	agora_free(c->name);
	agora_free(c->server_config);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->push_lock);
	pthread_mutex_destroy(&c->lock);
	agora_free(c);
}

const char *
agora_lace_client_server_config(agora_lace_client *c)
{
	return c->server_config;
}

void
agora_lace_client_set_timeout(agora_lace_client *c, int64_t timeout_ms)
{
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT;
}

/* An action key or observation key this client's config does not have
 * is refused here, before anything is sent. */
static bool
key_known(agora_lace_client *c, const struct lace_strs *keys, const char *key,
          const char *what, char *err, size_t errlen)
{
	if (key == NULL || (c->has_cfg && !lace_strs_has(keys, key))) {
		snprintf(err, errlen, "unknown %s \"%.200s\"", what,
		         key != NULL ? key : "");
		return false;
	}
	return true;
}

agora_err
agora_lace_obs(agora_lace_client *c, const char *const *keys, size_t nkeys,
               agora_lace_msg **reply, char *err, size_t errlen)
{
	agora_buf members;
	agora_err rv;

	*reply = NULL;
	agora_buf_init(&members, 0);
	agora_buf_adds(&members, "\"keys\":[");
	for (size_t i = 0; i < nkeys; i++) {
		if (!key_known(c, &c->cfg.obs_keys, keys[i], "observation key",
		               err, errlen)) {
			agora_buf_fini(&members);
			return AGORA_ENOTFOUND;
		}
		agora_buf_adds(&members, i > 0 ? "," : "");
		agora_buf_json_str(&members, keys[i], strlen(keys[i]));
	}
	agora_buf_adds(&members, "]");
	rv = lace_ask(c, "obs", members.data, NULL, c->timeout_ms, reply, err,
	              errlen);
	agora_buf_fini(&members);
	return rv;
}

/* A call with one string member (key, name or type). */
static agora_err
ask_named(agora_lace_client *c, const char *op, const char *member,
          const char *value, const agora_lace_payload *p,
          agora_lace_msg **reply, char *err, size_t errlen)
{
	agora_buf members;
	agora_err rv;

	agora_buf_init(&members, 0);
	agora_buf_addf(&members, "\"%s\":", member);
	agora_buf_json_str(&members, value, strlen(value));
	rv =
	    lace_ask(c, op, members.data, p, c->timeout_ms, reply, err, errlen);
	agora_buf_fini(&members);
	return rv;
}

agora_err
agora_lace_act(agora_lace_client *c, const char *key,
               const agora_lace_payload *p, agora_lace_msg **reply, char *err,
               size_t errlen)
{
	*reply = NULL;
	if (!key_known(c, &c->cfg.act_keys, key, "action key", err, errlen)) {
		return AGORA_ENOTFOUND;
	}
	return ask_named(c, "act", "key", key, p, reply, err, errlen);
}

agora_err
agora_lace_interfaces(agora_lace_client *c, agora_buf *out, char *err,
                      size_t errlen)
{
	agora_lace_msg *m = NULL;
	agora_err rv;

	rv =
	    lace_ask(c, "interfaces", "", NULL, c->timeout_ms, &m, err, errlen);
	if (rv == AGORA_OK) {
		const agora_lace_payload *p = agora_lace_msg_payload(m);
		rv = agora_buf_add(out, p->json != NULL ? p->json : "[]",
		                   p->json != NULL ? p->json_len : 2);
	}
	agora_lace_msg_free(m);
	return rv;
}

agora_err
agora_lace_call(agora_lace_client *c, const char *name,
                const agora_lace_payload *p, agora_lace_msg **reply, char *err,
                size_t errlen)
{
	*reply = NULL;
	if (name == NULL || name[0] == '\0') {
		snprintf(err, errlen, "an interface needs a name");
		return AGORA_EINVAL;
	}
	return ask_named(c, "call", "name", name, p, reply, err, errlen);
}

agora_err
agora_lace_request(agora_lace_client *c, const char *type,
                   const agora_lace_payload *p, agora_lace_msg **reply,
                   char *err, size_t errlen)
{
	agora_err rv;

	*reply = NULL;
	if (!key_known(c, &c->cfg.request_types, type, "request type", err,
	               errlen)) {
		return AGORA_ENOTFOUND;
	}
	rv = lace_rate_take(c, err, errlen);
	if (rv != AGORA_OK) {
		return rv;
	}
	return ask_named(c, "request", "type", type, p, reply, err, errlen);
}
