/* SPDX-License-Identifier: MIT */
/* agora: a C runtime for multi-agent LLM applications. The umbrella
 * header: include this one, or the module headers you need. */
#ifndef AGORA_AGORA_H
#define AGORA_AGORA_H

#define AGORA_VERSION "0.1.0"

#include "agora/agent.h"
#include "agora/alloc.h"
#include "agora/buf.h"
#include "agora/clock.h"
#include "agora/config.h"
#include "agora/env.h"
#include "agora/err.h"
#include "agora/future.h"
#include "agora/http.h"
#include "agora/json.h"
#include "agora/kinds.h"
#include "agora/llm.h"
#include "agora/log.h"
#include "agora/models.h"
#include "agora/msg.h"
#include "agora/proc.h"
#include "agora/redis.h"
#include "agora/registry.h"
#include "agora/scenario.h"
#include "agora/server.h"
#include "agora/sim.h"
#include "agora/taskcenter.h"
#include "agora/transport.h"
#include "agora/url.h"

#endif
