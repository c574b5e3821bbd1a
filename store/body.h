/*
 * body.h - reading the structure of a kernel-list mail body: which lines
 * are quoted, the signature, the diffstat, diff hunks (with file names),
 * trailers (Signed-off-by, Reviewed-by, ...), and "changes since vN" notes.
 * The reporter counts review tags from the trailers and sends only the
 * prose segments to an LLM. Pure text processing: no gmime, no lmdb.
 */
#ifndef KV_BODY_H
#define KV_BODY_H

#include <stddef.h>
#include "kv.h"

enum seg_kind {
	SEG_PROSE,       /* new text written by the sender */
	SEG_QUOTE,       /* lines starting with '>' and the "On ... wrote:" line before them */
	SEG_SIGNATURE,   /* from "-- " to the end (or to a diff) */
	SEG_DIFFSTAT,    /* " file | 12 +++--" lines and the "N files changed" line */
	SEG_DIFF,        /* "diff --git" / "---"/"+++"/"@@" hunks */
	SEG_TRAILER,     /* a block of Key: value trailers */
	SEG_CHANGES,     /* "Changes since v2:", "v3 -> v4:", "Changes in v2" notes */
};
const char *seg_kind_name(enum seg_kind k);

struct seg {
	enum seg_kind kind;
	size_t off, len;     /* byte range in the analysed text, whole lines */
};

enum trailer_kind {
	TR_SIGNED_OFF, TR_REVIEWED, TR_ACKED, TR_TESTED, TR_REPORTED,
	TR_SUGGESTED, TR_FIXES, TR_LINK, TR_CHANGE_ID, TR_CC, TR_OTHER
};

struct trailer {
	enum trailer_kind kind;
	char *key;       /* as written, e.g. "Reviewed-by" */
	char *value;     /* the rest of the line, trimmed */
	char *name;      /* for person trailers: the name, else NULL */
	char *addr;      /* for person trailers: lowercased address, else NULL */
	int quoted;      /* 1 when it stood in a quoted line ("> Reviewed-by:") */
};

struct body_info {
	struct seg *segs;
	size_t nsegs;
	struct trailer *trailers;
	size_t ntrailers;
	struct strv diff_files;   /* files touched by diff hunks, in order, unique */
	struct strv diff_funcs;   /* function names from "@@ ... @@ func" lines, unique */
	int stat_files, stat_ins, stat_del;  /* from the diffstat summary line, -1 if none */
	char *change_id;          /* "change-id: ..." value, or NULL */
	struct strv links;        /* message ids from lore links ("Link to v1: https://lore.kernel.org/r/<id>") */
	int has_diff;
};

/* Analyse text[0..len) (UTF-8). Never fails; caller calls body_info_release. */
void body_analyze(const char *text, size_t len, struct body_info *bi);
void body_info_release(struct body_info *bi);

/* Concatenate the segments of the given kinds (bitmask of 1u << seg_kind) into out. */
void body_extract(const char *text, const struct body_info *bi, unsigned kinds, struct sbuf *out);

#endif
