/* SPDX-License-Identifier: MIT */
/* Where each group's session lives. A session's keys share one hash tag
 * (the session name), so on a Redis Cluster the whole session sits in one
 * slot on one master; the sessions are named so that group g lands on
 * master g mod n and the groups' Redis work spreads over every master.
 * On a single Redis the names are simply <prefix>-g<g>. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agora/alloc.h"
#include "redis_cmd.h"
#include "sim_int.h"

#define RANGES_MAX   1024
#define SUFFIX_TRIES 100000

struct slot_range {
	unsigned from, to; /* inclusive */
	char node[64];     /* host:port */
};

/* CLUSTER SLOTS as ranges and the distinct masters, in order of first
 * appearance. */
static size_t
nodes_read(agora_redis *r, struct slot_range *v, char (*masters)[64],
           size_t *nmasters)
{
	agora_reply *rep = NULL;
	size_t n = 0;

	*nmasters = 0;
	if (agora__redis_cmdv(r, &rep, "CLUSTER", "SLOTS", NULL) != AGORA_OK ||
	    agora__reply_type(rep) != AGORA_REPLY_ARRAY) {
		agora__reply_free(rep);
		return 0;
	}
	for (size_t i = 0; i < agora__reply_len(rep) && n < RANGES_MAX; i++) {
		const agora_reply *e = agora__reply_at(rep, i);
		const agora_reply *who = agora__reply_at(e, 2);
		const char *host =
		    agora__reply_str(agora__reply_at(who, 0), NULL);
		size_t k;

		if (agora__reply_len(e) < 3 || host == NULL) {
			continue;
		}
		v[n].from = (unsigned)agora__reply_int(agora__reply_at(e, 0));
		v[n].to = (unsigned)agora__reply_int(agora__reply_at(e, 1));
		snprintf(v[n].node, sizeof(v[n].node), "%s:%lld", host,
		         agora__reply_int(agora__reply_at(who, 1)));
		for (k = 0; k < *nmasters; k++) {
			if (strcmp(masters[k], v[n].node) == 0) {
				break;
			}
		}
		if (k == *nmasters && *nmasters < RANGES_MAX) {
			snprintf(masters[(*nmasters)++], 64, "%s", v[n].node);
		}
		n++;
	}
	agora__reply_free(rep);
	return n;
}

static const char *
nodes_owner(const struct slot_range *v, size_t n, unsigned slot)
{
	for (size_t i = 0; i < n; i++) {
		if (slot >= v[i].from && slot <= v[i].to) {
			return v[i].node;
		}
	}
	return NULL;
}

agora_err
sim_nodes_plan(struct agora_sim *s, size_t m, char *err, size_t errlen)
{
	struct slot_range *ranges = NULL;
	char(*masters)[64] = NULL;
	size_t nranges = 0, nmasters = 0;
	agora_redis *r = NULL;
	agora_err rv;

	rv = agora_redis_open(&r, s->cfg.redis_url, s->cfg.redis_timeout_ms,
	                      err, errlen);
	if (rv != AGORA_OK) {
		return rv;
	}
	if (agora__redis_is_cluster(r)) {
		ranges = agora_calloc(RANGES_MAX, sizeof(*ranges));
		masters = agora_calloc(RANGES_MAX, sizeof(*masters));
		nranges = nodes_read(r, ranges, masters, &nmasters);
	}
	for (size_t g = 0; g < m; g++) {
		agora_sim_group *h = &s->groups[g].r.head;
		const char *want = nmasters > 0 ? masters[g % nmasters] : NULL;

		snprintf(h->session, sizeof(h->session), "%s-g%zu", s->prefix,
		         g);
		for (int k = 0; want != NULL && k < SUFFIX_TRIES; k++) {
			const char *at = nodes_owner(
			    ranges, nranges,
			    agora__redis_slot(h->session, strlen(h->session)));
			if (at != NULL && strcmp(at, want) == 0) {
				snprintf(h->node, sizeof(h->node), "%s", at);
				break;
			}
			snprintf(h->session, sizeof(h->session), "%s-g%zu.%d",
			         s->prefix, g, k + 1);
		}
	}
	agora_free(ranges);
	agora_free(masters);
	agora_redis_close(r);
	return AGORA_OK;
}
