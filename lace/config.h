/* SPDX-License-Identifier: MIT */
/* A server's config (kind, version, keys, request types) as both ends
 * hold it, its JSON for the handshake, and the comparison that names the
 * first difference. Private to lace/. */
#ifndef AGORA_LACE_CONFIG_H
#define AGORA_LACE_CONFIG_H

#include "agora/buf.h"
#include "agora/json.h"
#include "agora/lace.h"

struct lace_strs {
	char **v;
	size_t n;
};

struct lace_cfg {
	agora_lace_kind kind;
	char *version;
	struct lace_strs obs_keys, act_keys, request_types;
};

const char *lace_kind_name(agora_lace_kind k);
/* A deep copy; a NULL or duplicate name is AGORA_EINVAL naming it. */
agora_err lace_cfg_copy(struct lace_cfg *dst, const agora_lace_config *src,
                        char *err, size_t errlen);
void lace_cfg_free(struct lace_cfg *c);
/* {"protocol":1,"kind":..,"version":..,"obs_keys":[..],...} */
agora_err lace_cfg_json(const struct lace_cfg *c, agora_buf *out);
/* Whether the peer's config (as lace_cfg_json wrote it) is ours; if not,
 * err names the first difference. */
bool lace_cfg_same(const struct lace_cfg *ours, const agora_json *theirs,
                   char *err, size_t errlen);
bool lace_strs_has(const struct lace_strs *s, const char *name);

#endif
