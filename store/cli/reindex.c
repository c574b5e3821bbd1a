/*
 * reindex.c - `kvmarm-store reindex`: build the word index of a store made
 * before it (schema 1) and the phrase pairs, in place, with progress on
 * stderr.
 */
#include <stdio.h>
#include <time.h>

#include "cli.h"
#include "banned.h"

static const char reindex_usage[] =
	"usage: kvmarm-store reindex [--phrases] [--quiet]\n"
	"\n"
	"Build what `search` needs, in place: a batch of messages per write\n"
	"transaction, so it may be stopped at any time and run again to go on\n"
	"where it stopped. The milter may keep recording meanwhile; its new mail\n"
	"is indexed too.\n"
	"  1. The word index of a store made before it (schema 1) or with its old\n"
	"     layout (schema 2); the last batch makes the store schema 3.\n"
	"  2. The phrase pairs, when the store has none yet: the 1000 words found\n"
	"     in the most messages become its pair word list, and every two of\n"
	"     them next to each other in a message are indexed as a pair, so a\n"
	"     phrase of such words is found without reading the mail. Until then\n"
	"     (and for phrases of other words) search reads the mail to check\n"
	"     the order: the same results, slower on a large store. Run it once\n"
	"     after the first import of an archive.\n"
	"  --phrases  drop the pairs and build them again with a list of\n"
	"             today's most frequent words\n"
	"Search's message and thread columns are rebuilt either way. Progress\n"
	"goes to stderr (--quiet: none).\n"
	"\n"
	"Exit status: 0 the index is complete, 2 usage, 3 store failure.\n";

static const struct cli_opt reindex_opts[] = {
	{ "phrases", 0, OPT_PHRASES },
	{ "quiet", 0, OPT_QUIET },
	CLI_OPTS_END,
};

static void progress(void *ctx, int pass, uint64_t done, uint64_t total)
{
	const int *quiet = ctx;
	if (!*quiet)
		fprintf(stderr, "reindex: %s: %llu of %llu messages\n",
			pass == STORE_PROGRESS_PAIRS ? "phrase pairs" : "words", (unsigned long long)done,
			(unsigned long long)total);
}

static int cmd_reindex(struct cli *c, const struct cli_args *a)
{
	const char *cmd = a->name;
	struct store *s;
	struct kv_err err;
	uint64_t upto;
	int quiet = cli_args_has(a, OPT_QUIET), rc, words, pairs;

	if (a->npos)
		return cli_args_error(a, "unexpected argument '%s'", a->pos[0]);
	if ((rc = cli_open_store(c, 0, &s)) != CLI_OK)
		return rc;
	if ((words = store_index_ready(s, &err)) < 0 || (pairs = store_pairs_state(s, &upto, &err)) < 0) {
		rc = cli_error(CLI_FAIL, cmd, "%s: %s", store_path(s), err.msg);
	} else if (words == 1 && pairs == STORE_PAIRS_COMPLETE && !cli_args_has(a, OPT_PHRASES)) {
		printf("%s: the word index and its phrase pairs are complete already\n", store_path(s));
		rc = CLI_OK;
	} else if ((cli_args_has(a, OPT_PHRASES) ? store_reindex_pairs(s, progress, &quiet, &err)
						: store_reindex(s, progress, &quiet, &err)) < 0) {
		rc = cli_error(CLI_FAIL, cmd, "%s: %s", store_path(s), err.msg);
	} else {
		if (words != 1)
			printf("%s: word index built\n", store_path(s));
		if ((pairs = store_pairs_state(s, &upto, &err)) < 0)
			rc = cli_error(CLI_FAIL, cmd, "%s: %s", store_path(s), err.msg);
		else if (pairs == STORE_PAIRS_COMPLETE)
			printf("%s: phrase pairs built\n", store_path(s));
		else
			printf("%s: no phrase pairs: no word is in two messages yet\n", store_path(s));
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
