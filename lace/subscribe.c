/* SPDX-License-Identifier: MIT */
/* A client's subscription: a thread that long-polls the server for the
 * publication after the newest it has (publish.c), hands each to the
 * callback, and after an error waits a moment and asks again, until the
 * client closes. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "agora/clock.h"
#include "agora/log.h"
#include "client.h"
#include "payload.h"

#define POLL_WAIT_MS 250 /* also how long a close may wait for a poll */
#define RETRY_MS     100

/* Wait ms unless the client closes first; false if it did. */
static bool
pause_ms(agora_lace_client *c, int64_t ms)
{
	int64_t until = agora_now_ms() + ms;
	bool open;

	pthread_mutex_lock(&c->lock);
	while (!c->closing && agora_cond_wait_until(&c->cv, &c->lock, until)) {
	}
	open = !c->closing;
	pthread_mutex_unlock(&c->lock);
	return open;
}

static bool
closing(agora_lace_client *c)
{
	bool v;

	pthread_mutex_lock(&c->lock);
	v = c->closing;
	pthread_mutex_unlock(&c->lock);
	return v;
}

static void *
subscriber_main(void *arg)
{
	agora_lace_client *c = arg;
	uint64_t seen = 0;
	char members[96], err[256];

	while (!closing(c)) {
		agora_lace_msg *m = NULL;
		int64_t seq = 0;
		agora_err rv;

		snprintf(members, sizeof(members),
		         "\"after\":%" PRIu64 ",\"wait_ms\":%d", seen,
		         POLL_WAIT_MS);
		rv = lace_ask(c, "poll", members, NULL,
		              POLL_WAIT_MS + c->timeout_ms, &m, err,
		              sizeof(err));
		if (rv == AGORA_ECLOSED || rv == AGORA_ECANCELED) {
			break;
		}
		if (rv != AGORA_OK) {
			agora_log(AGORA_LOG_DEBUG, "lace", "poll: %s", err);
			if (!pause_ms(c, RETRY_MS)) {
				break;
			}
			continue;
		}
		if (agora_json_int(agora_json_get(m->frame.head, "seq"), 0,
		                   INT64_MAX, &seq) &&
		    (uint64_t)seq > seen) {
			seen = (uint64_t)seq;
			c->sub_fn(c->sub_arg, seen, agora_lace_msg_payload(m));
		}
		agora_lace_msg_free(m);
	}
	return NULL;
}

agora_err
agora_lace_subscribe(agora_lace_client *c, agora_lace_sub_fn fn, void *arg)
{
	if (fn == NULL) {
		return AGORA_EINVAL;
	}
	pthread_mutex_lock(&c->lock);
	if (c->subscribed) {
		pthread_mutex_unlock(&c->lock);
		return AGORA_EEXIST;
	}
	c->subscribed = true;
	c->sub_fn = fn;
	c->sub_arg = arg;
	pthread_mutex_unlock(&c->lock);
	pthread_create(&c->subscriber, NULL, subscriber_main, c);
	return AGORA_OK;
}

void
lace_subscribe_stop(agora_lace_client *c)
{
	if (c->subscribed) {
		/* The link's close cancels a poll in flight; close waits. */
		pthread_join(c->subscriber, NULL);
		c->subscribed = false;
	}
}
