/*
 * reindex.c - `kvmarm-store reindex`: build the word index of a store made
 * before it (schema 1), in place, with progress on stderr.
 */
#include <stdio.h>
#include <time.h>

#include "cli.h"
#include "banned.h"

static const char reindex_usage[] =
	"usage: kvmarm-store reindex [--quiet]\n"
	"\n"
	"Build the word index that `search` uses in a store made before it\n"
	"(schema 1) or with its old layout (schema 2), in place: a batch of\n"
	"messages per transaction, so it may be stopped at any time and run\n"
	"again to go on where it stopped. The milter may keep recording\n"
	"meanwhile; its new mail is indexed too. The last batch makes the\n"
	"store schema 3. Progress goes to stderr (--quiet: none).\n"
	"A store that already has its index is left as it is. Search's message\n"
	"column (each message's date and thread) is rebuilt either way.\n"
	"\n"
	"Exit status: 0 the index is complete, 2 usage, 3 store failure.\n";

static const struct cli_opt reindex_opts[] = {
	{ "quiet", 0, OPT_QUIET },
	CLI_OPTS_END,
};

static void progress(void *ctx, uint64_t done, uint64_t total)
{
	const int *quiet = ctx;
	if (!*quiet)
		fprintf(stderr, "reindex: %llu of %llu messages\n", (unsigned long long)done,
			(unsigned long long)total);
}

static int cmd_reindex(struct cli *c, const struct cli_args *a)
{
	const char *cmd = a->name;
	struct store *s;
	struct kv_err err;
	int quiet = cli_args_has(a, OPT_QUIET), rc;

	if (a->npos)
		return cli_args_error(a, "unexpected argument '%s'", a->pos[0]);
	if ((rc = cli_open_store(c, 0, &s)) != CLI_OK)
		return rc;
	rc = store_index_ready(s, &err);
	if (rc == 1) {
		printf("%s: the word index is complete already\n", store_path(s));
		rc = CLI_OK;
	} else if (rc < 0 || store_reindex(s, progress, &quiet, &err) < 0) {
		rc = cli_error(CLI_FAIL, cmd, "%s: %s", store_path(s), err.msg);
	} else {
		printf("%s: word index built\n", store_path(s));
		rc = CLI_OK;
	}
	if (rc == CLI_OK) {
		if (store_rebuild_columns(s, &err) < 0)
			rc = cli_error(CLI_FAIL, cmd, "%s: %s", store_path(s), err.msg);
		else
			printf("%s: message and thread columns rebuilt\n", store_path(s));
	}
	store_close(s);
	return rc;
}

const struct cli_cmd cli_cmd_reindex = { "reindex", cmd_reindex, reindex_opts, 0, reindex_usage };
