/*
 * archive.h - the digest archive: one file per digest per format
 * (2024-W10.md, 2024-W10.html, 2024-W10.json) in an output directory,
 * written atomically, and an index.html listing every digest there.
 */
#ifndef KV_ARCHIVE_H
#define KV_ARCHIVE_H

#include <stddef.h>
#include "kv.h"

/* Write data to DIR/NAME.EXT through a temporary file and rename, creating
 * DIR (and parents) when missing. The path written goes to *path when not
 * NULL (caller frees). 0 / -1 with err naming the file. */
int archive_write(const char *dir, const char *name, const char *ext, const char *data, size_t len,
		  char **path, struct kv_err *err);

/* Rewrite DIR/index.html: every NAME.html digest in DIR, newest name first,
 * with links to its .md and .json siblings when present. lang: "zh"/"en". */
int archive_index(const char *dir, const char *lang, struct kv_err *err);

#endif
