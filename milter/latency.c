/*
 * latency.c - latency samples and their percentiles (see latency.h).
 */
#include <stdlib.h>

#include "kv.h"
#include "latency.h"
#include "banned.h"

void latency_add(struct latency *l, uint32_t us)
{
	if (l->n == l->cap) {
		if (l->cap >= LATENCY_MAX_SAMPLES)
			return;
		l->cap = l->cap ? l->cap * 2 : 1024;
		l->v = kv_xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = us;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

void latency_pctl(struct latency *l, uint32_t *p50, uint32_t *p99, uint32_t *max)
{
	if (l->n == 0)
		kv_panic("latency_pctl: no samples");
	qsort(l->v, l->n, sizeof *l->v, cmp_u32);
	*p50 = l->v[l->n / 2];
	*p99 = l->v[(l->n * 99) / 100];
	*max = l->v[l->n - 1];
}

void latency_release(struct latency *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}
