/* SPDX-License-Identifier: MIT */
/* A step's frames ready to read: a ring that doubles when full. A frame's
 * role is its agent's (which outlives the step); its content is a copy,
 * owned by the queue and then by st->cur, the frame lent to the reader
 * until its next call. */
#include <string.h>

#include "agora/alloc.h"
#include "tc.h"

void
agora__frameq_push(agora_step *st, agora_turn *t, agora_frame_type type,
                   const char *content, size_t len)
{
	agora_frame *f;

	if (st->qlen == st->qcap) {
		size_t cap = st->qcap == 0 ? 64 : st->qcap * 2;
		agora_frame *q = agora_malloc(cap * sizeof(*q));
		for (size_t i = 0; i < st->qlen; i++) {
			q[i] = st->q[(st->qhead + i) % st->qcap];
		}
		agora_free(st->q);
		st->q = q;
		st->qcap = cap;
		st->qhead = 0;
	}
	f = &st->q[(st->qhead + st->qlen) % st->qcap];
	st->qlen++;
	f->role = t->agent->role;
	f->type = type;
	f->seq = t->seq++;
	f->round = st->round;
	f->content = agora_strndup(content != NULL ? content : "", len);
	f->len = len;
	f->finish[0] = '\0';
	f->prompt_tokens = f->completion_tokens = f->total_tokens = -1;
	if (type == AGORA_FRAME_END) {
		memcpy(f->finish, t->finish, sizeof(f->finish));
		f->prompt_tokens = t->tokens[0];
		f->completion_tokens = t->tokens[1];
		f->total_tokens = t->tokens[2];
	}
}

const agora_frame *
agora__frameq_pop(agora_step *st)
{
	agora_free(st->cur.content);
	st->cur.content = NULL;
	if (st->qlen == 0) {
		return NULL;
	}
	st->cur = st->q[st->qhead];
	st->qhead = (st->qhead + 1) % st->qcap;
	st->qlen--;
	return &st->cur;
}

void
agora__frameq_fini(agora_step *st)
{
	for (size_t i = 0; i < st->qlen; i++) {
		agora_free(st->q[(st->qhead + i) % st->qcap].content);
	}
	agora_free(st->cur.content);
	agora_free(st->q);
	st->cur.content = NULL;
	st->q = NULL;
	st->qlen = st->qcap = st->qhead = 0;
}
