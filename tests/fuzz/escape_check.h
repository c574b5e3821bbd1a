/*
 * escape_check.h - structural checks of the digest's escapers' output, for
 * fuzz_escape.c and fuzz_llm_answer.c: text that went through
 * render_md_escape / render_html_escape can open no link, image, tag,
 * emphasis, code span, table cell or line of its own, whatever it held.
 */
#ifndef KV_ESCAPE_CHECK_H
#define KV_ESCAPE_CHECK_H

#include <strings.h>
#include "fuzz.h"

/* Markdown: read as CommonMark does, a backslash and the character after
 * it are one escaped pair; no markup character may stand alone, no line
 * may end, no "://" or "www." (GFM's autolinks) may be left whole, and
 * no control character or Unicode line separator may stay. */
static inline void check_md_escaped(const char *in, const char *out)
{
	for (const unsigned char *p = (const unsigned char *)out; *p; p++) {
		if (*p == '\\') {
			FUZZ_ASSERT(p[1], "Markdown output ends in a lone backslash (input \"%s\")", in);
			p++;
			continue;
		}
		FUZZ_ASSERT(!strchr("`*_[]()<>#|!~&", *p), "unescaped '%c' in Markdown \"%s\" (input \"%s\")",
			    *p, out, in);
		FUZZ_ASSERT(*p >= 0x20 && *p != 0x7f, "control character 0x%02x in Markdown (input \"%s\")", *p, in);
		FUZZ_ASSERT(!(p[0] == 0xC2 && p[1] == 0x85) && !(p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9)),
			    "Unicode line break left in Markdown (input \"%s\")", in);
		FUZZ_ASSERT(!(p[0] == ':' && p[1] == '/' && p[2] == '/'), "\"://\" left whole in \"%s\" (input \"%s\")",
			    out, in);
		FUZZ_ASSERT(strncasecmp((const char *)p, "www.", 4) != 0, "\"www.\" left whole in \"%s\" (input \"%s\")",
			    out, in);
	}
}

/* HTML: no character that opens a tag or ends an attribute value, every
 * '&' starts one of the five entities the escaper writes, no control
 * character. */
static inline void check_html_escaped(const char *in, const char *out)
{
	static const char *const ents[] = { "&amp;", "&lt;", "&gt;", "&quot;", "&#39;" };
	for (const unsigned char *p = (const unsigned char *)out; *p; p++) {
		FUZZ_ASSERT(!strchr("<>\"'", *p), "'%c' in HTML \"%s\" (input \"%s\")", *p, out, in);
		FUZZ_ASSERT(*p >= 0x20 && *p != 0x7f, "control character 0x%02x in HTML (input \"%s\")", *p, in);
		if (*p == '&') {
			int ok = 0;
			for (size_t k = 0; k < sizeof(ents) / sizeof(ents[0]); k++)
				ok |= !strncmp((const char *)p, ents[k], strlen(ents[k]));
			FUZZ_ASSERT(ok, "'&' that starts no entity of ours in \"%s\" (input \"%s\")", out, in);
		}
	}
}

#endif
