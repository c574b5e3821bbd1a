/*
 * render_md.c - the digest as Markdown, in the shape readers know from the
 * old digests (emoji headings, per-category thread blocks, numbered mail
 * lists): the Markdown table of output operations for render_walk.c.
 * Every string from mail or an LLM goes through render_md_escape; the only
 * links are the lore links the walk builds. Markdown has no classes, so
 * most spans leave their text bare.
 */
#include "render_ops.h"
#include "banned.h"

static void md_nothing(struct render_out *o)
{
}

static void md_doc_begin(struct render_out *o, const char *title)
{
}

static void md_heading_begin(struct render_out *o, int level)
{
	static const char hashes[] = "#####";
	if (level < 1 || level > 4)
		kv_panic("render_md: heading level %d", level);
	sbuf_add(o->sb, hashes, (size_t)level);
	sbuf_addc(o->sb, ' ');
}

static void md_heading_end(struct render_out *o, int level)
{
	sbuf_adds(o->sb, "\n\n");
}

static void md_para_begin(struct render_out *o, enum render_para kind)
{
	if (kind == RP_BULLET)
		sbuf_adds(o->sb, "- ");
}

static void md_para_end(struct render_out *o, enum render_para kind)
{
	sbuf_adds(o->sb, "\n\n");
}

static void md_list_begin(struct render_out *o, enum render_list kind)
{
	/* a list inside an item starts on the line after the item's text */
	if (o->depth > 0 && o->line_open) {
		sbuf_addc(o->sb, '\n');
		o->line_open = 0;
	}
}

static void md_list_end(struct render_out *o, enum render_list kind)
{
	/* a blank line ends a top-level list; an empty list leaves no trace */
	if (o->depth == 1 && o->items[1])
		sbuf_addc(o->sb, '\n');
}

static void md_item_begin(struct render_out *o, int number)
{
	for (int i = 1; i < o->depth; i++)
		sbuf_adds(o->sb, "  ");
	if (number > 0)
		sbuf_addf(o->sb, "%d. ", number);
	else
		sbuf_adds(o->sb, "- ");
	o->line_open = 1;
}

static void md_item_end(struct render_out *o)
{
	if (o->line_open)
		sbuf_addc(o->sb, '\n');
	o->line_open = 0;
}

static const char *const md_span_open[] = {
	[RS_STRONG] = "**", [RS_ICON] = "**", [RS_EMPH] = "*", [RS_NOTE] = "", [RS_MARK] = "",
	[RS_TAG] = "", [RS_STATUS] = "", [RS_CODE] = "", [RS_FROM] = "\n   - ", [RS_NO_TAGS] = "*",
};
static const char *const md_span_close[] = {
	[RS_STRONG] = "**", [RS_ICON] = "**", [RS_EMPH] = "*", [RS_NOTE] = "", [RS_MARK] = "",
	[RS_TAG] = "", [RS_STATUS] = "", [RS_CODE] = "", [RS_FROM] = "", [RS_NO_TAGS] = "*",
};

static void md_span_begin(struct render_out *o, enum render_span kind, const char *arg)
{
	sbuf_adds(o->sb, md_span_open[kind]);
}

static void md_span_end(struct render_out *o, enum render_span kind)
{
	sbuf_adds(o->sb, md_span_close[kind]);
}

static void md_rule(struct render_out *o, enum render_rule kind)
{
	sbuf_adds(o->sb, "---\n\n");
}

static void md_text(struct render_out *o, const char *s)
{
	render_md_escape(o->sb, s);
}

static void md_plain(struct render_out *o, const char *s)
{
	sbuf_adds(o->sb, s);
}

static void md_link(struct render_out *o, const char *text, const char *url)
{
	sbuf_addc(o->sb, '[');
	render_md_escape(o->sb, text);
	sbuf_adds(o->sb, "](");
	sbuf_adds(o->sb, url);
	sbuf_addc(o->sb, ')');
}

static const struct render_ops md_ops = {
	.doc_begin = md_doc_begin,
	.doc_end = md_nothing,
	.heading_begin = md_heading_begin,
	.heading_end = md_heading_end,
	.para_begin = md_para_begin,
	.para_end = md_para_end,
	.list_begin = md_list_begin,
	.list_end = md_list_end,
	.item_begin = md_item_begin,
	.item_end = md_item_end,
	.span_begin = md_span_begin,
	.span_end = md_span_end,
	.thread_begin = md_nothing,
	.thread_end = md_nothing,
	.rule = md_rule,
	.text = md_text,
	.plain = md_plain,
	.link = md_link,
};

void render_md(const struct digest *d, struct sbuf *out)
{
	render_walk(d, &md_ops, out);
}
