/*
 * export.c - `kvmarm-store export`: a window as mboxrd on stdout, the raw
 * bytes exactly as they arrived.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mbox.h"
#include "banned.h"

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

static const struct cli_opt export_opts[] = {
	CLI_OPTS_WINDOW,
	CLI_OPTS_END,
};

static int cmd_export(struct cli *c, const struct cli_args *a)
{
	const char *cmd = a->name;
	struct cli_window win = CLI_WINDOW_ALL;
	int rc;

	if (a->npos)
		return cli_args_error(a, "unexpected argument '%s'", a->pos[0]);
	if (cli_window_args(a, &win) < 0)
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
	/* the whole store goes out in number order (arrival order), which a
	 * re-import keeps; a window in date order */
	int irc = win.bounded ? store_iter_window(e.r, win.since, win.until, export_cb, &e, &e.err)
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

const struct cli_cmd cli_cmd_export = { "export", cmd_export, export_opts, 0, export_usage };
