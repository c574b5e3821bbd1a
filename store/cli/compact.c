/*
 * compact.c - `kvmarm-store compact`: store_compact() on the store.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "banned.h"

static const char compact_usage[] =
	"usage: kvmarm-store compact\n"
	"\n"
	"Offline compaction: LMDB never returns free pages to the file system,\n"
	"and a long import or reindex leaves many. Writes a compacted copy of\n"
	"the database and the committed part of the data files into DIR.compact,\n"
	"checks it like `check`, swaps it with the store directory in one atomic\n"
	"rename and removes the old files. Stop the milter and the reporter\n"
	"first: when anything commits meanwhile the store is left as it was.\n"
	"Needs free space for a second copy of the store.\n"
	"\n"
	"Exit status: 0 compacted, 2 usage, 3 failure (the store unchanged).\n";

static const struct cli_opt compact_opts[] = {
	CLI_OPTS_END,
};

static int cmd_compact(struct cli *c, const struct cli_args *a)
{
	struct store *s;
	struct kv_err err;
	uint64_t before, after;
	char *dir;
	int rc;

	if (a->npos)
		return cli_args_error(a, "unexpected argument '%s'", a->pos[0]);
	/* the store's directory as --db/--config name it */
	if ((rc = cli_open_store(c, STORE_RDONLY, &s)) != CLI_OK)
		return rc;
	dir = kv_xstrdup(store_path(s));
	store_close(s);
	if (store_compact(dir, &before, &after, &err) < 0) {
		rc = cli_error(CLI_FAIL, a->name, "%s", err.msg);
	} else {
		printf("%s: compacted, %llu bytes before, %llu after\n", dir, (unsigned long long)before,
		       (unsigned long long)after);
		rc = CLI_OK;
	}
	free(dir);
	return rc;
}

const struct cli_cmd cli_cmd_compact = { "compact", cmd_compact, compact_opts, 0, compact_usage };
