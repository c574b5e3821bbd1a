/*
 * import_cmd.c - the table entries of `import` and `parse-only`: their
 * usage texts and options, the same in both programs, so kvmarm-store
 * parses and checks their command lines (--help, usage errors) itself.
 * What runs them is cli_import_run: the parser in kvmarm-store-import
 * (import.c), and in kvmarm-store the exec of that program (import_exec.c).
 */
#include "cli.h"
#include "banned.h"

static const char import_usage[] =
	"usage: kvmarm-store import [--mbox-format=mboxrd|mboxo] [--jobs N] INPUT...\n"
	"\n"
	"Record mail into the store. Each INPUT (several may be given; every one\n"
	"is opened before anything is stored) is recognised by its content: an\n"
	"mbox (first line \"From \"), gzip-compressed or not; a maildir (a\n"
	"directory with cur/ or new/: new/ then cur/, then every folder below\n"
	"it: Maildir++ .Name folders and nested maildirs, as Dovecot,\n"
	"offlineimap, mutt and notmuch lay them out; their state files such as\n"
	"dovecot-uidlist or .notmuch/ are passed over); any other directory,\n"
	"recursively (names starting with '.' left out); a single message file;\n"
	"'-' for stdin (mbox, gzip or one message; once). A message already\n"
	"stored (same Message-ID and body) is counted as already present, so\n"
	"importing twice is harmless.\n"
	"\n"
	"  --mbox-format=F  mboxrd (default): one '>' is removed from lines\n"
	"                   matching /^>+From /; mboxo: only from /^>From /\n"
	"  --jobs N         parser threads (default: the number of cores less\n"
	"                   one, at least 1: the store writes on its own thread)\n"
	"\n"
	"Arrival time (the last fallback for a missing Date): the date of the\n"
	"mbox From_ line when it has one, the file's mtime, else now.\n"
	"Messages that are not mail (empty, binary, no header) and messages over\n"
	"[store] import_max_message_size bytes (default: the milter's\n"
	"max_message_size, 64 MB) are skipped with a\n"
	"line on stderr naming the file, the message number and line in an mbox,\n"
	"and the Message-ID when there is one; the import goes on. A last message\n"
	"cut short by the end of the input is imported when its header is\n"
	"complete (with a note), skipped otherwise. Progress is shown on stderr\n"
	"when it is a terminal. At the end, stdout gets three lines counting\n"
	"over all inputs: \"imported N\", \"already present N\", \"skipped N\".\n"
	"A failing store (disk full, I/O error) stops the import at once with\n"
	"the store's reason and a fourth line, \"not stored N\": the messages\n"
	"read but not recorded (the rest of the input is not read).\n"
	"\n"
	"Exit status: 0 when the import ran (even with skipped messages), 1 when\n"
	"the inputs held no mail at all, 2 usage, 3 when an input cannot be\n"
	"opened (nothing is imported then) or the store fails.\n";

static const char parse_usage[] =
	"usage: kvmarm-store parse-only [--mbox-format=mboxrd|mboxo] [--jobs N] INPUT...\n"
	"\n"
	"Benchmark aid: read mail like import does and parse every message with\n"
	"the parser (gmime), storing nothing; prints the message count, bytes and\n"
	"rate. --jobs defaults to 1 here (the single-core parsing floor).\n";

static const struct cli_opt import_opts[] = {
	{ "mbox-format", 1, OPT_MBOX_FORMAT },
	{ "jobs", 1, OPT_JOBS },
	CLI_OPTS_END,
};

static int cmd_import(struct cli *c, const struct cli_args *a)
{
	return cli_import_run(c, a, 1);
}

static int cmd_parse_only(struct cli *c, const struct cli_args *a)
{
	return cli_import_run(c, a, 0);
}

const struct cli_cmd cli_cmd_import = { "import", cmd_import, import_opts, 1, import_usage };
const struct cli_cmd cli_cmd_parse_only = { "parse-only", cmd_parse_only, import_opts, 1, parse_usage };
