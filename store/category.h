/*
 * category.h - the kind of a thread (PATCH, RFC, Bug Report, GIT PULL,
 * Question, Other) and its names: the digest groups threads by it, the
 * CLI prints it. Decided once per root in category.c.
 */
#ifndef KV_CATEGORY_H
#define KV_CATEGORY_H

#include <stddef.h>

struct subject_info;   /* subject.h */

enum category { CAT_PATCH, CAT_RFC, CAT_BUG, CAT_PULL, CAT_QUESTION, CAT_OTHER, CAT_COUNT };

/* "PATCH", "RFC", "Bug Report", "GIT PULL", "Question", "Other". */
const char *category_name(enum category c);
/* Inverse of category_name (case-insensitive); -1 when unknown. */
int category_from_name(const char *name);

/*
 * The category of a thread from its root (or earliest) message: its parsed
 * subject, its sender address and the start of its body text. The rules are
 * written down next to the code in category.c.
 */
enum category category_classify(const struct subject_info *si, const char *from_addr,
				 const char *text, size_t text_len);

#endif
