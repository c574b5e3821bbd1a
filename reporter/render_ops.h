/*
 * render_ops.h - private to the renderers of markup (render_walk.c,
 * render_md.c, render_html.c): the output operations a format provides,
 * and the one walk over a digest that calls them.
 *
 * The walk (render_walk.c) decides what the digest says and in which
 * order: headings, paragraphs, lists, links, escaped mail text. A format
 * decides only how each of those looks: a table of functions (struct
 * render_ops), in Markdown, HTML or plain text (render_text.c, the
 * digest mail's text/plain part).
 *
 * Text comes in two kinds: render_ops.text is from mail or an LLM (the
 * format must make it inert), render_ops.plain is our own (labels,
 * numbers, times, punctuation; a format may still need to escape it, as
 * HTML does).
 */
#ifndef KV_RENDER_OPS_H
#define KV_RENDER_OPS_H

#include "render.h"

/* Kinds of paragraph. */
enum render_para {
	RP_PLAIN,        /* an ordinary paragraph */
	RP_META,         /* a thread's counts line under its heading */
	RP_BULLET,       /* a lone line that Markdown shows as a one-item list (health) */
};

/* Kinds of list. */
enum render_list {
	RL_PLAIN,        /* bullets */
	RL_FACTS,        /* a thread's facts (participants, series, status, review) */
	RL_NESTED,       /* a list inside a list item (patches under "Review") */
	RL_MAILS,        /* a thread's numbered mail list (items carry their number) */
};

/* Inline spans around plain or escaped text. Formats without a way to
 * show one (Markdown has no class attribute) leave the text as it is. */
enum render_span {
	RS_STRONG,       /* a label: "Participants" */
	RS_ICON,         /* the link icon before the archive link */
	RS_EMPH,         /* "no tags yet" */
	RS_NOTE,         /* "(started before this window)" */
	RS_MARK,         /* how a summary was made: "(extracted from the mails)" */
	RS_TAG,          /* a trailer key: "Reviewed-by" */
	RS_STATUS,       /* a status word; arg is its name (digest_status_name) */
	RS_CODE,         /* commit ids */
	RS_FROM,         /* the sender line under a mail of the mail list */
	RS_NO_TAGS,      /* "no tags yet" on a patch of the review list (plain text
			  * folds those patches into one line) */
};

/* Horizontal rules. */
enum render_rule {
	RR_SECTION,      /* after the overview and after each thread */
	RR_CATEGORY,     /* after a category's heading and count */
};

#define RENDER_MAX_DEPTH 4

/* One rendering in progress: where output goes, and the little state a
 * format keeps between operations. */
struct render_out {
	struct sbuf *sb;
	const struct digest *d;
	const struct render_ops *ops;
	/* the thread between thread_begin and thread_end, else NULL; the
	 * review list's item k is thread->patches[k - 1] */
	const struct digest_thread *thread;
	void *state;                        /* the format's own, if it needs more */
	int depth;                          /* open lists */
	size_t items[RENDER_MAX_DEPTH + 1]; /* items so far in each open list */
	int line_open;                      /* Markdown: an item's line not yet ended */
	struct sbuf url;                    /* scratch for link targets */
	struct sbuf fmt;                    /* scratch for render_plainf */
};

struct render_ops {
	/* the whole document; title is plain text */
	void (*doc_begin)(struct render_out *o, const char *title);
	void (*doc_end)(struct render_out *o);
	/* level 1 (title) .. 4 (parts of a thread) */
	void (*heading_begin)(struct render_out *o, int level);
	void (*heading_end)(struct render_out *o, int level);
	void (*para_begin)(struct render_out *o, enum render_para kind);
	void (*para_end)(struct render_out *o, enum render_para kind);
	/* o->depth and o->items are kept by the walk: list_begin sees the
	 * depth before the list opens, list_end the depth while it is open */
	void (*list_begin)(struct render_out *o, enum render_list kind);
	void (*list_end)(struct render_out *o, enum render_list kind);
	/* number: the mail number in an RL_MAILS list, else 0 */
	void (*item_begin)(struct render_out *o, int number);
	void (*item_end)(struct render_out *o);
	void (*span_begin)(struct render_out *o, enum render_span kind, const char *arg);
	void (*span_end)(struct render_out *o, enum render_span kind);
	/* one thread, from its heading to the end of its mail list */
	void (*thread_begin)(struct render_out *o);
	void (*thread_end)(struct render_out *o);
	void (*rule)(struct render_out *o, enum render_rule kind);
	void (*text)(struct render_out *o, const char *s);
	void (*plain)(struct render_out *o, const char *s);
	/* a link to url (built by us: a lore link) showing text (from mail) */
	void (*link)(struct render_out *o, const char *text, const char *url);
};

/* Render d with the operations of one format, appending to out. */
void render_walk(const struct digest *d, const struct render_ops *ops, struct sbuf *out);

#endif
