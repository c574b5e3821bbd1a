/*
 * extract.h - what a mail says, in a sentence or two: the extractive
 * summary's content. For each human reply in the window, the sentences of
 * its own new prose (body.h's PROSE segments: never quotes, diffs,
 * trailers, signatures) are scored by the rules written in extract.c
 * (decision and request verbs, objections, agreement, test results,
 * questions, the place right after the quoted text a sentence answers, and
 * who speaks); the best of the thread are kept within a per-thread budget.
 * Also: a cover letter's changelog for this version, its key result lines
 * (a benchmark's headline), and for a thread whose first stored mail is a
 * reply, the quoted original inside that reply.
 *
 * Pure text processing on text the caller read: no store, no digest.
 * Every string returned is one line of plain text (the renderers escape).
 */
#ifndef KV_EXTRACT_H
#define KV_EXTRACT_H

#include <stddef.h>
#include "kv.h"
#include "body.h"

/* Who speaks, for the speaker rule (extract.c, rule S). */
enum extract_role {
	EXR_OTHER,        /* anyone else on the list */
	EXR_AUTHOR,       /* the sender of the thread's root (answering review) */
	EXR_REVIEWER,     /* gave a review tag in this thread */
	EXR_MAINTAINER,   /* took a decision in this thread (applied, queued, NAK) */
};

/* One scored sentence of a mail. */
struct extract_sent {
	char *text;       /* one line, cut to EXTRACT_SENT_MAX bytes */
	int score;        /* content rules only; the speaker rule is added by extract_select */
	int order;        /* position in the mail (0 first) */
};

/* The best scored sentences of one mail (at most EXTRACT_KEEP), best
 * first (ties: mail order). */
struct extract_mail {
	int number;       /* the mail's [n] */
	enum extract_role role;
	int decided;      /* status.c found a decision in it (rule E) */
	struct extract_sent *v;
	size_t n;
};

/* Budget per thread (documented in extract.c). */
#define EXTRACT_MAX_REPLIES   6     /* replies quoted per thread */
#define EXTRACT_MAX_BYTES     1200  /* their sentences together */
#define EXTRACT_MAX_PER_MAIL  2     /* sentences per reply */
#define EXTRACT_SENT_MAX      240   /* bytes of one sentence (cut on a UTF-8 boundary, "…") */
#define EXTRACT_MIN_SCORE     2     /* a sentence below it carries no point worth a line */
#define EXTRACT_KEEP          EXTRACT_MAX_PER_MAIL   /* sentences a scan keeps per mail */

/* Score the sentences of the new prose of one mail (text[0..len) analysed
 * into bi) into em->v (em->number and em->role are the caller's). Never
 * fails; release with extract_mail_release. */
void extract_mail_scan(const char *text, size_t len, const struct body_info *bi, struct extract_mail *em);
void extract_mail_release(struct extract_mail *em);

/* A chosen point: mail m's kept sentences, joined by a space. */
struct extract_point {
	int number;       /* the mail's [n] */
	char *text;
};

/* Choose the points of a thread from ms[0..n) (in mail order) within the
 * budget: the speaker rule added, best mails first, then given back in
 * mail order. *out (caller frees each text and the array) gets *nout
 * points; *left the number of mails with a sentence that did not fit. */
void extract_select(const struct extract_mail *ms, size_t n, struct extract_point **out, size_t *nout,
		    size_t *left);

/* "What changed in this version": the first changelog segment of a cover
 * letter (body.h SEG_CHANGES: "Changes since v3:", "v2 -> v3:", "Changes
 * in v4") as one line, its items joined by "; ", at most max bytes; ""
 * when none. Caller frees. */
char *extract_changelog(const char *text, const struct body_info *bi, size_t max);

/* Key result lines of a cover letter's prose (a benchmark's headline, a
 * table's summary row): at most max lines pushed to out, each one line. */
void extract_results(const char *text, const struct body_info *bi, size_t max, struct strv *out);

/* The quoted original inside a reply (its deepest quote level holding
 * prose, without "> " marks, attribution, quoted diffs and trailers): the
 * first paragraphs, at most max bytes, one line; "" when none. */
char *extract_quoted_about(const char *text, const struct body_info *bi, size_t max);

#endif
