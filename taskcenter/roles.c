/* SPDX-License-Identifier: MIT */
/* The center's role -> agent table: open addressing on FNV-1a, grown at
 * half full, never shrunk (removal rebuilds it). A center may hold a
 * million agents, and every step and call looks roles up here. */
#include <string.h>

#include "agora/alloc.h"
#include "tc.h"

static uint64_t
role_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ull;
	}
	return h;
}

void
agora__roles_insert(struct role_map *m, agora_agent *a)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct role_map bigger = { 0 };
		bigger.cap = m->cap == 0 ? 64 : m->cap * 2;
		bigger.slots = agora_calloc(bigger.cap, sizeof(agora_agent *));
		for (size_t i = 0; i < m->cap; i++) {
			if (m->slots[i] != NULL) {
				agora__roles_insert(&bigger, m->slots[i]);
			}
		}
		agora_free(m->slots);
		*m = bigger;
	}
	for (size_t i = role_hash(a->role) & (m->cap - 1);;
	     i = (i + 1) & (m->cap - 1)) {
		if (m->slots[i] == NULL) {
			m->slots[i] = a;
			m->n++;
			return;
		}
	}
}

agora_agent *
agora__roles_find(const struct role_map *m, const char *role)
{
	if (m->cap == 0 || role == NULL) {
		return NULL;
	}
	for (size_t i = role_hash(role) & (m->cap - 1);;
	     i = (i + 1) & (m->cap - 1)) {
		if (m->slots[i] == NULL) {
			return NULL;
		}
		if (strcmp(m->slots[i]->role, role) == 0) {
			return m->slots[i];
		}
	}
}

void
agora__roles_fini(struct role_map *m)
{
	agora_free(m->slots);
	memset(m, 0, sizeof(*m));
}
