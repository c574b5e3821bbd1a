/*
 * export.c - `kvmarm-store export` (a window as mboxrd on stdout, the raw
 * bytes exactly as they arrived) and `kvmarm-store check` (every invariant
 * of the store).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mbox.h"

static const char export_usage[] =
	"usage: kvmarm-store export [--since D] [--until D]\n"
	"\n"
	"Write the messages dated in [since, until) (UTC; D is YYYY-MM-DD or\n"
	"ISO 8601), in date order, to stdout as an mboxrd: each message's raw\n"
	"bytes exactly as they arrived, after a From_ line (sender address and\n"
	"date in UTC), with one more '>' before every line matching /^>*From /,\n"
	"a newline added when the message lacks a final one, and an empty line\n"
	"after it. `import` of the output gives back the same bytes. Without\n"
	"--since and --until every message is written, in number order; with\n"
	"only one of them the window is open on the other side.\n"
	"\n"
	"Exit status: 0 messages written, 1 none in the window, 2 usage,\n"
	"3 store or output failure.\n";

static const char check_usage[] =
	"usage: kvmarm-store check\n"
	"\n"
	"Verify every invariant of the store: each message in exactly one\n"
	"thread, thread counts and dates matching their members, every index\n"
	"entry pointing at a record and every record indexed, a known schema\n"
	"version. Prints the totals when the store is whole.\n"
	"\n"
	"Exit status: 0 whole, 2 usage, 3 an invariant is broken (the first one\n"
	"is named on stderr) or the check could not run.\n";

struct exp {
	struct store_reader *r;
	struct sbuf out;
	uint64_t n;
	struct kv_err err;
	int failed;     /* 1 store, 2 output */
};

static int flush(struct exp *e)
{
	if (cli_out(e->out.buf, e->out.len) < 0) {
		e->failed = 2;
		return -1;
	}
	sbuf_reset(&e->out);
	return 0;
}

static int export_cb(void *ctx, const struct msg_rec *m)
{
	struct exp *e = ctx;
	const char *raw;
	size_t len;
	if (store_msg_raw(e->r, m->num, &raw, &len, &e->err) != 0) {
		kv_err_set(&e->err, "message %llu <%s>: raw bytes missing", (unsigned long long)m->num, m->message_id);
		e->failed = 1;
		return 1;
	}
	mbox_write_mboxrd(&e->out, raw, len, m->from_addr, m->date);
	e->n++;
	if (e->out.len >= (1u << 20) && flush(e) < 0)
		return 1;
	return 0;
}

int cmd_export(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = argv[0], *since_s = NULL, *until_s = NULL;
	int o, rc;
	int64_t since = INT64_MIN, until = INT64_MAX;

	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (o) {
		case 's': since_s = optarg; break;
		case 'u': until_s = optarg; break;
		case 'h': return cli_usage(export_usage, 0);
		default:
			cli_error(CLI_USAGE, cmd, "unknown option '%s'", argv[optind - 1]);
			return cli_usage(export_usage, CLI_USAGE);
		}
	}
	if (optind < argc) {
		cli_error(CLI_USAGE, cmd, "unexpected argument '%s'", argv[optind]);
		return cli_usage(export_usage, CLI_USAGE);
	}
	if (since_s && cli_date_arg(cmd, "--since", since_s, &since) < 0)
		return CLI_USAGE;
	if (until_s && cli_date_arg(cmd, "--until", until_s, &until) < 0)
		return CLI_USAGE;

	struct store *s;
	struct exp e;
	memset(&e, 0, sizeof(e));
	if ((rc = cli_open_store(c, STORE_RDONLY, &s)) != CLI_OK)
		return rc;
	if (store_reader_begin(s, &e.r, &e.err) < 0) {
		store_close(s);
		return cli_error(CLI_FAIL, cmd, "%s", e.err.msg);
	}
	int irc = since_s || until_s ? store_iter_window(e.r, since, until, export_cb, &e, &e.err)
				     : store_iter_all(e.r, export_cb, &e, &e.err);
	if (!e.failed && irc < 0)
		e.failed = 1;
	if (!e.failed)
		flush(&e);
	if (e.failed == 1)
		rc = cli_error(CLI_FAIL, cmd, "%s", e.err.msg);
	else if (e.failed == 2)
		rc = cli_error(CLI_FAIL, cmd, "writing to stdout failed");
	else
		rc = e.n ? CLI_OK : CLI_NOT_FOUND;
	sbuf_release(&e.out);
	store_reader_end(e.r);
	store_close(s);
	return rc;
}

int cmd_check(struct cli *c, int argc, char **argv)
{
	const char *cmd = argv[0];
	struct store *s;
	struct kv_err err;
	int rc;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return cli_usage(check_usage, 0);
	if (argc != 1) {
		cli_error(CLI_USAGE, cmd, "unexpected argument '%s'", argv[1]);
		return cli_usage(check_usage, CLI_USAGE);
	}
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
		} else {
			printf("ok\n");
		}
	}
	store_close(s);
	return rc;
}
