/*
 * check.c - `kvmarm-store check`: run the store's invariant check
 * (store_check) on the store and print its totals when it is whole.
 */
#include <stdio.h>

#include "cli.h"
#include "banned.h"

static const char check_usage[] =
	"usage: kvmarm-store check\n"
	"\n"
	"Verify every invariant of the store: each message in exactly one\n"
	"thread, thread counts and dates matching their members, every index\n"
	"entry pointing at a record and every record indexed, a known schema\n"
	"version; the word index holding every term of every message and\n"
	"nothing else. Prints the totals when the store is whole.\n"
	"\n"
	"Exit status: 0 whole, 2 usage, 3 an invariant is broken (the first one\n"
	"is named on stderr) or the check could not run.\n";

static const struct cli_opt check_opts[] = {
	CLI_OPTS_END,
};

static int cmd_check(struct cli *c, const struct cli_args *a)
{
	const char *cmd = a->name;
	struct store *s;
	struct kv_err err;
	int rc;

	if (a->npos)
		return cli_args_error(a, "unexpected argument '%s'", a->pos[0]);
	if ((rc = cli_open_store(c, STORE_RDONLY, &s)) != CLI_OK)
		return rc;
	rc = store_check(s, &err);
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
			if (store_index_ready(s, &err) == 0)
				printf("note: no word index yet (a schema 1 store): run `kvmarm-store reindex`\n");
		} else {
			printf("ok\n");
		}
	}
	store_close(s);
	return rc;
}

const struct cli_cmd cli_cmd_check = { "check", cmd_check, check_opts, 0, check_usage };
