/* SPDX-License-Identifier: MIT */
/* A step's timers: a binary min-heap of turns by due time, each turn in it
 * at most once (its one pending agora_turn_after callback) and knowing its
 * own index, so removing a turn that ends early is O(log n). 10,000 agents
 * that each wait cost one heap, not 10,000 threads. */
#include "agora/alloc.h"
#include "tc.h"

static void
heap_swap(agora_step *st, size_t a, size_t b)
{
	agora_turn *t = st->heap[a];

	st->heap[a] = st->heap[b];
	st->heap[b] = t;
	st->heap[a]->heap_index = a;
	st->heap[b]->heap_index = b;
}

static void
heap_up(agora_step *st, size_t i)
{
	while (i > 0 && st->heap[(i - 1) / 2]->due > st->heap[i]->due) {
		heap_swap(st, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
heap_down(agora_step *st, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < st->nheap && st->heap[l]->due < st->heap[m]->due) {
			m = l;
		}
		if (r < st->nheap && st->heap[r]->due < st->heap[m]->due) {
			m = r;
		}
		if (m == i) {
			return;
		}
		heap_swap(st, i, m);
		i = m;
	}
}

void
agora__timer_remove(agora_step *st, agora_turn *t)
{
	size_t i = t->heap_index;

	if (i == SIZE_MAX) {
		return;
	}
	st->nheap--;
	if (i != st->nheap) {
		st->heap[i] = st->heap[st->nheap];
		st->heap[i]->heap_index = i;
		heap_down(st, i);
		heap_up(st, i);
	}
	t->heap_index = SIZE_MAX;
	t->fn = NULL;
}

void
agora__timer_add(agora_step *st, agora_turn *t)
{
	if (st->nheap == st->capheap) {
		st->capheap = st->capheap == 0 ? 64 : st->capheap * 2;
		st->heap =
		    agora_realloc(st->heap, st->capheap * sizeof(agora_turn *));
	}
	st->heap[st->nheap] = t;
	t->heap_index = st->nheap++;
	heap_up(st, t->heap_index);
}

agora_turn *
agora__timer_first(const agora_step *st)
{
	return st->nheap > 0 ? st->heap[0] : NULL;
}
