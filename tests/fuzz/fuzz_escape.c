/*
 * fuzz_escape.c - the digest's Markdown and HTML escapers
 * (reporter/render.c: render_md_escape, render_html_escape), which every
 * mail- and model-derived string goes through, on any string. The property
 * (escape_check.h) is judged on the output, not the input: whatever bytes
 * came in, what comes out opens no link, image, tag, emphasis or line.
 * Escaping is also a function: the same input twice gives the same bytes.
 */
#include "fuzz.h"
#include "escape_check.h"
#include "kv.h"
#include "render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_cstr(data, size);
	struct sbuf md, md2, html;
	sbuf_init(&md);
	sbuf_init(&md2);
	sbuf_init(&html);
	render_md_escape(&md, in);
	render_md_escape(&md2, in);
	sbuf_adds(&md, "");
	sbuf_adds(&md2, "");
	FUZZ_ASSERT(md.len == md2.len && !memcmp(md.buf, md2.buf, md.len), "Markdown escaping not repeatable");
	check_md_escaped(in, md.buf);
	render_html_escape(&html, in);
	sbuf_adds(&html, "");
	check_html_escaped(in, html.buf);
	/* what reaches the escapers has been through the UTF-8 cleaner first */
	char *clean = kv_utf8_sanitize((const char *)data, size);
	sbuf_reset(&md);
	render_md_escape(&md, clean);
	sbuf_adds(&md, "");
	check_md_escaped(clean, md.buf);
	free(clean);
	sbuf_release(&md);
	sbuf_release(&md2);
	sbuf_release(&html);
	free(in);
	return 0;
}
