/*
 * phrase.h - phrase verification for the query evaluator (query.c): does
 * a field's text hold a phrase's words in order?
 */
#ifndef KV_PHRASE_H
#define KV_PHRASE_H

#include <stddef.h>
#include <stdint.h>
#include "store_int.h"

/* Keep those of nums[0..*n) (ascending; every one holds all the words in
 * field f, as the word index says) whose field f text holds toks (the
 * phrase's tokens, index_tokenize's non-part tokens, at least one) in
 * this order; *n becomes their count, order kept. A field that keeps no
 * text in order (p, h, r, m) keeps every number. A phrase of more than
 * 16 words is checked on its first 16. 0, or -1 with err set (a number
 * the store does not hold, a read error). */
/* A phrase's first PHRASE_MAX tokens are checked in order. */
#define PHRASE_MAX 16

int phrase_filter(struct store_reader *r, uint64_t *nums, size_t *n, char f, const struct strv *toks,
		  struct kv_err *err);

#endif
