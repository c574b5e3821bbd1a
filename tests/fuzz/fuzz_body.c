/*
 * fuzz_body.c - body structure (store/body.c: body_analyze, body_extract)
 * on any text. The input is cleaned to UTF-8 first, as every body text the
 * store hands out is (mime.c). Properties: every segment is a range of
 * whole lines inside the text, segments come in order without overlap,
 * every trailer has a key and a value, the diffstat numbers are -1 or not
 * negative, and extracting every kind never gives more than the text plus
 * one newline per segment.
 */
#include "fuzz.h"
#include "body.h"
#include "kv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = kv_utf8_sanitize((const char *)data, size);
	size_t len = strlen(text);
	struct body_info bi;
	body_analyze(text, len, &bi);

	size_t end = 0;
	for (size_t i = 0; i < bi.nsegs; i++) {
		const struct seg *sg = &bi.segs[i];
		FUZZ_ASSERT(sg->off >= end, "segment %zu starts at %zu inside the previous one (ends %zu)",
			    i, sg->off, end);
		FUZZ_ASSERT(sg->off + sg->len <= len && sg->len > 0, "segment %zu [%zu,+%zu) outside text of %zu",
			    i, sg->off, sg->len, len);
		FUZZ_ASSERT(sg->off == 0 || text[sg->off - 1] == '\n', "segment %zu starts mid-line", i);
		FUZZ_ASSERT(sg->off + sg->len == len || text[sg->off + sg->len - 1] == '\n',
			    "segment %zu ends mid-line", i);
		FUZZ_ASSERT(seg_kind_name(sg->kind) != NULL, "segment %zu has kind %d", i, (int)sg->kind);
		end = sg->off + sg->len;
	}
	for (size_t i = 0; i < bi.ntrailers; i++) {
		const struct trailer *t = &bi.trailers[i];
		FUZZ_ASSERT(t->key && t->value, "trailer %zu without key or value", i);
		FUZZ_ASSERT(!t->addr || kv_utf8_valid(t->addr, strlen(t->addr)), "trailer address not UTF-8");
	}
	FUZZ_ASSERT(bi.stat_files >= -1 && bi.stat_ins >= -1 && bi.stat_del >= -1, "negative diffstat");

	struct sbuf out;
	sbuf_init(&out);
	body_extract(text, &bi, ~0u, &out);
	FUZZ_ASSERT(out.len <= len + bi.nsegs, "extract gave %zu bytes from %zu", out.len, len);
	sbuf_release(&out);

	body_info_release(&bi);
	free(text);
	return 0;
}
