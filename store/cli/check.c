/*
 * check.c - `kvmarm-store check`: run the store's invariant check
 * (store_check) on the store and print its totals when it is whole.
 */
#include <stdio.h>

#include "cli.h"
#include "banned.h"

static const char check_usage[] =
	"usage: kvmarm-store check [--quick]\n"
	"\n"
	"Verify every invariant of the store: each message in exactly one\n"
	"thread, thread counts and dates matching their members, every index\n"
	"entry pointing at a record and every record indexed, a known schema\n"
	"version, the word index (every term of every message and nothing\n"
	"else), and each message's checksums (its raw bytes, its body text\n"
	"and its record: a changed byte in raw.dat or rec.dat is found).\n"
	"Prints the totals when the store is whole, then a line\n"
	"\"checksums: N verified, M stored without\": messages recorded before\n"
	"checksums existed have none (no error).\n"
	"\n"
	"  --quick    leave out raw.dat (raw bytes, body text and their\n"
	"             checksums) and the word index (it needs the body text);\n"
	"             records and the other indexes are still verified\n"
	"\n"
	"Exit status: 0 whole, 2 usage, 3 an invariant is broken (the first one\n"
	"is named on stderr) or the check could not run.\n";

static const struct cli_opt check_opts[] = {
	{ "quick", 0, OPT_QUICK },
	CLI_OPTS_END,
};

static int cmd_check(struct cli *c, const struct cli_args *a)
{
	const char *cmd = a->name;
	struct store *s;
	struct kv_err err;
	struct store_check_stats st;
	int rc;

	if (a->npos)
		return cli_args_error(a, "unexpected argument '%s'", a->pos[0]);
	if ((rc = cli_open_store(c, STORE_RDONLY, &s)) != CLI_OK)
		return rc;
	rc = store_check_opts(s, cli_args_has(a, OPT_QUICK) ? STORE_CHECK_QUICK : 0, &st, &err);
	if (rc == 1) {
		rc = cli_error(CLI_FAIL, cmd, "%s: broken: %s", store_path(s), err.msg);
	} else if (rc < 0) {
		rc = cli_error(CLI_FAIL, cmd, "%s: check failed: %s", store_path(s), err.msg);
	} else {
		struct store_reader *r;
		struct store_counts sc;
		rc = CLI_OK;
		if (store_reader_begin(s, &r, &err) == 0) {
			if (store_counts(r, &sc, &err) == 0)
				printf("ok: %llu messages, %llu threads, %llu ghosts, %llu series, %llu raw bytes\n",
				       (unsigned long long)sc.messages, (unsigned long long)sc.threads,
				       (unsigned long long)sc.ghosts, (unsigned long long)sc.series,
				       (unsigned long long)sc.raw_bytes);
			store_reader_end(r);
			uint64_t upto;
			int pairs;
			if (store_index_ready(s, &err) == 0)
				printf("note: no word index yet (a schema 1 or 2 store): run `kvmarm-store reindex`\n");
			else if ((pairs = store_pairs_state(s, &upto, &err)) == STORE_PAIRS_NONE)
				printf("note: no phrase pairs yet: phrase search reads the mail; "
				       "`kvmarm-store reindex` builds them\n");
			else if (pairs == STORE_PAIRS_BUILDING)
				printf("note: phrase pairs built for %llu messages so far: "
				       "`kvmarm-store reindex` goes on\n", (unsigned long long)upto);
		} else {
			printf("ok\n");
		}
		printf("checksums: %llu verified%s, %llu stored without\n", (unsigned long long)st.summed,
		       cli_args_has(a, OPT_QUICK) ? " (records only: --quick)" : "",
		       (unsigned long long)st.unsummed);
	}
	store_close(s);
	return rc;
}

const struct cli_cmd cli_cmd_check = { "check", cmd_check, check_opts, 0, check_usage };
