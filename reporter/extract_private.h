/*
 * extract_private.h - what extract.c (reply sentences, the thread budget)
 * and extract_cover.c (changelog, result lines, a reply's quoted original)
 * share: the word matcher, line tests and the prose units both read.
 * Nothing else includes it (extract.h is the interface).
 */
#ifndef KV_EXTRACT_PRIVATE_H
#define KV_EXTRACT_PRIVATE_H

#include <stddef.h>
#include "kv.h"
#include "body.h"

/* A piece of prose: lines joined into one line; flags say where it stood. */
struct unit {
	struct sbuf text;
	int after_quote;     /* the first unit of a prose segment that follows a quote */
	int first;           /* the mail's first unit */
	int table;           /* a table or code line, kept alone */
};

struct units {
	struct unit *v;
	size_t n, cap;
};

/* Word lists end in NULL; "word*" matches any word starting with "word". */
int ex_has_word(const char *s, size_t len, const char *const *words);
int ex_starts_with_word(const char *s, size_t len, const char *const *words);
size_t ex_count_words(const char *s, size_t len);
extern const char *const ex_w_greeting[];

/* Line tests: code / log / table, link-only, list item; the offset of a
 * list item's text. */
int ex_is_code_line(const char *s, size_t len);
int ex_is_url_line(const char *s, size_t len);
int ex_is_list_item(const char *s, size_t len);
size_t ex_skip_item_mark(const char *s, size_t len);

/* The prose units of the segments of kinds (a bitmask of 1u << seg_kind)
 * into u (release with ex_units_release); table and code lines are kept
 * as units of their own when want_tables. */
void ex_collect_units(const char *text, const struct body_info *bi, unsigned kinds, int want_tables,
		      struct units *u);
void ex_units_release(struct units *u);

/* fn(ctx, sentence, length, index in s) for each sentence of s[0..len). */
void ex_each_sentence(const char *s, size_t len, void (*fn)(void *, const char *, size_t, int), void *ctx);

#endif
