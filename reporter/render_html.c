/*
 * render_html.c - the digest as one self-contained HTML page, readable in
 * mail clients and browsers: the HTML table of output operations for
 * render_walk.c, so the content is the Markdown's. Every string, from mail
 * or our own, is entity-escaped (render_html_escape); the only links are
 * the lore links the walk builds from percent-encoded Message-IDs; a strict
 * Content-Security-Policy forbids scripts, images and remote loads even if
 * something slipped through.
 */
#include "render_ops.h"
#include "banned.h"

/* Shared by the digest page and the archive index. */
void render_html_head(struct sbuf *out, const char *lang, const char *title)
{
	sbuf_adds(out, "<!DOCTYPE html>\n<html lang=\"");
	render_html_escape(out, lang);
	sbuf_adds(out, "\">\n<head>\n<meta charset=\"utf-8\">\n"
		  "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
		  "style-src 'unsafe-inline'; img-src 'none'; script-src 'none'; object-src 'none'; "
		  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'\">\n"
		  "<meta name=\"referrer\" content=\"no-referrer\">\n"
		  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
	render_html_escape(out, title);
	sbuf_adds(out, "</title>\n<style>\n"
		  "body{font-family:sans-serif;max-width:60em;margin:1em auto;padding:0 1em;line-height:1.45;color:#222}\n"
		  "h3{margin-bottom:.3em}.meta{color:#444}.mark{font-size:80%;color:#777;font-weight:normal}\n"
		  ".st{font-weight:bold}.st-applied,.st-queued{color:#1a7f37}.st-nak,.st-build_failure{color:#b3261e}\n"
		  ".from{color:#555;font-size:90%}ol.mails li{margin-bottom:.3em}\n"
		  "</style>\n</head>\n<body>\n");
}

static void h_doc_begin(struct render_out *o, const char *title)
{
	render_html_head(o->sb, o->d->lang, title);
}

static void h_doc_end(struct render_out *o)
{
	sbuf_adds(o->sb, "</body>\n</html>\n");
}

static void h_heading_begin(struct render_out *o, int level)
{
	sbuf_addf(o->sb, "<h%d>", level);
}

static void h_heading_end(struct render_out *o, int level)
{
	sbuf_addf(o->sb, "</h%d>\n", level);
}

static void h_para_begin(struct render_out *o, enum render_para kind)
{
	sbuf_adds(o->sb, kind == RP_META ? "<p class=\"meta\">" : "<p>");
}

static void h_para_end(struct render_out *o, enum render_para kind)
{
	sbuf_adds(o->sb, "</p>\n");
}

static const char *const h_list_open[] = {
	[RL_PLAIN] = "<ul>\n", [RL_FACTS] = "<ul class=\"facts\">\n", [RL_NESTED] = "<ul>\n",
	[RL_MAILS] = "<ol class=\"mails\">\n",
};

static void h_list_begin(struct render_out *o, enum render_list kind)
{
	sbuf_adds(o->sb, h_list_open[kind]);
}

static void h_list_end(struct render_out *o, enum render_list kind)
{
	sbuf_adds(o->sb, kind == RL_MAILS ? "</ol>" : "</ul>");
	/* a nested list ends inside its item: "</ul></li>" */
	if (o->depth == 1)
		sbuf_addc(o->sb, '\n');
}

static void h_item_begin(struct render_out *o, int number)
{
	sbuf_adds(o->sb, "<li>");
}

static void h_item_end(struct render_out *o)
{
	sbuf_adds(o->sb, "</li>\n");
}

static const char *const h_span_open[] = {
	[RS_STRONG] = "<b>", [RS_ICON] = "", [RS_EMPH] = "<i>", [RS_NOTE] = "<i>",
	[RS_MARK] = "<span class=\"mark\">", [RS_TAG] = "<span class=\"tag\">",
	[RS_STATUS] = NULL, [RS_CODE] = "<code>", [RS_FROM] = "<br><span class=\"from\">",
	[RS_NO_TAGS] = "<i>",
};
static const char *const h_span_close[] = {
	[RS_STRONG] = "</b>", [RS_ICON] = "", [RS_EMPH] = "</i>", [RS_NOTE] = "</i>",
	[RS_MARK] = "</span>", [RS_TAG] = "</span>", [RS_STATUS] = "</span>", [RS_CODE] = "</code>",
	[RS_FROM] = "</span>", [RS_NO_TAGS] = "</i>",
};

static void h_span_begin(struct render_out *o, enum render_span kind, const char *arg)
{
	if (kind == RS_STATUS) {
		/* the status name is ours; escaped all the same, it is an attribute */
		sbuf_adds(o->sb, "<span class=\"st st-");
		render_html_escape(o->sb, arg);
		sbuf_adds(o->sb, "\">");
		return;
	}
	sbuf_adds(o->sb, h_span_open[kind]);
}

static void h_span_end(struct render_out *o, enum render_span kind)
{
	sbuf_adds(o->sb, h_span_close[kind]);
}

static void h_thread_begin(struct render_out *o)
{
	sbuf_adds(o->sb, "<section class=\"thread\">\n");
}

static void h_thread_end(struct render_out *o)
{
	sbuf_adds(o->sb, "</section>\n");
}

static void h_rule(struct render_out *o, enum render_rule kind)
{
	/* a category's <h2> separates enough on a page */
	if (kind == RR_SECTION)
		sbuf_adds(o->sb, "<hr>\n");
}

static void h_text(struct render_out *o, const char *s)
{
	render_html_escape(o->sb, s);
}

static void h_link(struct render_out *o, const char *text, const char *url)
{
	sbuf_adds(o->sb, "<a href=\"");
	render_html_escape(o->sb, url);
	sbuf_adds(o->sb, "\" rel=\"noopener noreferrer\">");
	render_html_escape(o->sb, text);
	sbuf_adds(o->sb, "</a>");
}

static const struct render_ops html_ops = {
	.doc_begin = h_doc_begin,
	.doc_end = h_doc_end,
	.heading_begin = h_heading_begin,
	.heading_end = h_heading_end,
	.para_begin = h_para_begin,
	.para_end = h_para_end,
	.list_begin = h_list_begin,
	.list_end = h_list_end,
	.item_begin = h_item_begin,
	.item_end = h_item_end,
	.span_begin = h_span_begin,
	.span_end = h_span_end,
	.thread_begin = h_thread_begin,
	.thread_end = h_thread_end,
	.rule = h_rule,
	.text = h_text,
	.plain = h_text,   /* our own text is escaped too: labels may hold "<", ">" */
	.link = h_link,
};

void render_html(const struct digest *d, struct sbuf *out)
{
	render_walk(d, &html_ops, out);
}
