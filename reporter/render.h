/*
 * render.h - turning a struct digest into Markdown (the shape readers know
 * from the old digests), HTML (same content, every mail-derived string
 * entity-escaped, only links we build) and JSON (the same data for
 * machines). Labels come in Chinese and English (d->lang "zh" or "en").
 * Markdown, HTML and plain text are one walk over the digest
 * (render_walk.c) with a table of output operations per format
 * (render_ops.h).
 *
 * Escaping is the renderer's job: everything taken from mail or from an
 * LLM is text, never markup.
 */
#ifndef KV_RENDER_H
#define KV_RENDER_H

#include "kv.h"
#include "digest.h"

enum render_label {
	L_TITLE, L_GENERATED, L_WINDOW, L_STATS, L_TOTAL_MAILS, L_TOTAL_THREADS, L_LARGE,
	L_LARGE_UNIT, L_CATEGORIES, L_THREADS_UNIT, L_MAILS_UNIT, L_CAT_COUNT, L_THREAD,
	L_MAILS, L_PARTICIPANTS, L_STARTED, L_SUMMARY, L_SUMMARY_EXTRACTIVE, L_SUMMARY_LLM_FAILED,
	L_ABOUT, L_BEFORE, L_WEEK, L_MAIL_LIST, L_SENDER, L_THREAD_LINK, L_SERIES, L_SUPERSEDES,
	L_STATUS, L_REVIEW, L_NO_TAGS, L_ATTENTION, L_ATT_NO_REPLY, L_ATT_UNANSWERED,
	L_ATT_NONE, L_HEALTH, L_HEALTH_LINE, L_ROOT_BEFORE, L_NO_THREADS, L_COMMITS,
	L_ST_APPLIED, L_ST_QUEUED, L_ST_NAK, L_ST_CHANGES, L_ST_NEW_VERSION, L_ST_BUILD,
	L_ST_SYZBOT, L_BY, L_INDEX_TITLE, L_PATCH, L_ATT_READY, L_ATT_AUTHOR, L_CARRIED,
	L_OTHER_ADDR, L_DEPENDS, L_UNTAGGED, L_LINKS, L_OTHER_LINKS,
	L_COUNT
};

/* The label in d->lang (English unless "zh"). */
const char *render_label(const struct digest *d, enum render_label l);
/* Label of status bit number b (0 .. DST_COUNT-1). */
const char *render_status_label(const struct digest *d, unsigned b);

/* Both escapers clean s first (line breaks, tabs and runs of spaces become
 * one space; other control characters, bidi controls and NUL go) and then
 * escape the cleaned text, so what they decided on is what they write.
 * Markdown inline text: every character that could start a link, image,
 * HTML tag, emphasis, code span or table cell is backslash-escaped, so is
 * a list or underline marker at the start; "scheme://" and "www." are
 * broken and a U+2060 WORD JOINER goes before each '@', so GFM autolinks
 * nothing (tests/t/36-escape-property.t checks it with cmark-gfm). */
void render_md_escape(struct sbuf *out, const char *s);
/* HTML text or attribute value: & < > " ' as entities. */
void render_html_escape(struct sbuf *out, const char *s);

void render_md(const struct digest *d, struct sbuf *out);
void render_html(const struct digest *d, struct sbuf *out);
/* Plain text for mail readers (the digest mail's text/plain part): no
 * markup and no escapes, lines of at most RENDER_TEXT_WIDTH display
 * columns (a URL alone on its line may be longer, it is never broken),
 * links as numbered references "[n] URL" at the end of each block, the
 * review list's untagged patches on one line, terminal control and bidi
 * override characters removed. */
void render_text(const struct digest *d, struct sbuf *out);
#define RENDER_TEXT_WIDTH 72
/* Display columns of the UTF-8 string s[0..n) as render_text counts them
 * (the rule is written at render_text_cp_width in render_text.c). */
size_t render_text_width(const char *s, size_t n);
void render_json(const struct digest *d, struct sbuf *out);
/* <!DOCTYPE> through <body>: charset, the strict CSP, the style sheet. */
void render_html_head(struct sbuf *out, const char *lang, const char *title);

/* The digest mail's subject, e.g. "KVMARM mailing list weekly digest
 * 2024-W10" (the window's dates when it is not a week). Caller frees. */
char *render_mail_subject(const struct digest *d);

#endif
