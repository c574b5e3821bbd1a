/*
 * cli.h - what the `kvmarm-store` commands share: the table entry of a
 * command, the parsed command line, the exit codes, store opening, date
 * windows, error helpers and the JSON shapes of threads and messages (the
 * stable interface other tools and tests rely on).
 *
 * main.c finds the command and args.c parses the whole command line once
 * (options anywhere, permuted as getopt_long does; `--` ends them), so a
 * command function only reads its options' values from struct cli_args
 * and returns the process exit code (git style).
 */
#ifndef KV_CLI_H
#define KV_CLI_H

#include <stdint.h>
#include <stdio.h>
#include "kv.h"
#include "json.h"
#include "store.h"

enum cli_exit {
	CLI_OK = 0,
	CLI_NOT_FOUND = 1,  /* nothing found, no match */
	CLI_USAGE = 2,      /* bad arguments */
	CLI_FAIL = 3,       /* the store, an input or output failed */
};

/* Every command option, one id each (a command lists the ones it takes). */
enum cli_opt_id {
	OPT_JSON = 1,
	OPT_SINCE,
	OPT_UNTIL,
	OPT_TZ,
	OPT_LIMIT,
	OPT_TOP,
	OPT_RAW,
	OPT_MBOX_FORMAT,
	OPT_JOBS,
	OPT_OFFSET,
	OPT_OUTPUT,
	OPT_QUIET,
	OPT_QUICK,
	OPT_PHRASES,
};

struct cli_opt {
	const char *name;        /* "json" for --json */
	int has_arg;             /* takes a value: --name V or --name=V */
	enum cli_opt_id id;
};

/* Options several commands take, spelled once. */
#define CLI_OPT_JSON { "json", 0, OPT_JSON }
#define CLI_OPTS_WINDOW { "since", 1, OPT_SINCE }, { "until", 1, OPT_UNTIL }
#define CLI_OPTS_END { NULL, 0, 0 }

struct cli;
struct cli_args;

struct cli_cmd {
	const char *name;
	int (*fn)(struct cli *c, const struct cli_args *a);
	const struct cli_opt *opts;   /* ended by { NULL } */
	int positional;               /* takes arguments (for the '--' hint) */
	const char *usage;            /* the --help text */
};

/* One option as given: its id, its value (NULL without), the token. */
struct cli_optval {
	enum cli_opt_id id;
	const char *val;
	const char *tok;
};

/* A parsed command line: options in the order given, then the arguments
 * (every non-option, and everything after `--`), in order. Views into argv. */
struct cli_args {
	const struct cli_cmd *cmd;
	const char *name;             /* cmd->name */
	struct cli_optval *o;
	size_t no;
	char **pos;
	size_t npos;
};

struct kv_config;

struct cli {
	const char *prog;        /* "kvmarm-store" */
	int argc;                /* the command line as main got it */
	char **argv;
	const char *db;          /* --db DIR, or NULL */
	const char *config;      /* --config FILE, or NULL */
	struct kv_config *cfg;   /* loaded lazily by cli_open_store */
};

/* The commands, in the order --help lists them (main.c). */
extern const struct cli_cmd cli_cmd_import, cli_cmd_parse_only, cli_cmd_threads, cli_cmd_show,
	cli_cmd_msg, cli_cmd_search, cli_cmd_stats, cli_cmd_export, cli_cmd_check, cli_cmd_reindex,
	cli_cmd_compact;

/*
 * Run `import` (store_it 1) or `parse-only` (0), a parsed command line.
 * Two definitions, one per program: import.c's (the parser, gmime) in
 * kvmarm-store-import; import_exec.c's in kvmarm-store, which executes
 * kvmarm-store-import with the same command line (c->argv) so that
 * kvmarm-store itself loads no gmime. Returns the exit code (import's, or
 * CLI_FAIL naming the helper's paths when it cannot be run).
 */
int cli_import_run(struct cli *c, const struct cli_args *a, int store_it);

/*
 * Parse argv (args.c): the global options --db, --config and --help, and
 * the command's options, before or after the command and its arguments.
 * The command is the first argument that is not an option or an option's
 * value. When a->cmd is set the command is to run (release a with
 * cli_args_release afterwards); when it is NULL the help or an error
 * (naming the wrong token) has been printed and the return value is the
 * exit code: CLI_OK after --help, CLI_USAGE after a usage error.
 */
int cli_args_parse(struct cli *c, const struct cli_cmd *const *cmds, size_t ncmds,
		   const char *main_usage, int argc, char **argv, struct cli_args *a);
void cli_args_release(struct cli_args *a);
/* The value of the last option id given, or NULL when not given. */
const char *cli_args_get(const struct cli_args *a, enum cli_opt_id id);
int cli_args_has(const struct cli_args *a, enum cli_opt_id id);
/* A usage error about a: the message, then the command's usage; CLI_USAGE. */
int cli_args_error(const struct cli_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A positive integer option value into *out; usage error naming it. 0 / -1. */
int cli_args_count(const struct cli_args *a, enum cli_opt_id id, long min, long max, long *out);

/*
 * A date window [since, until): --since/--until (and search's since:/until:
 * terms). A bound left out is open, so no bound at all means the whole
 * store: one rule for every command. Dates are YYYY-MM-DD (midnight UTC)
 * or ISO 8601.
 */
struct cli_window {
	int64_t since, until;    /* INT64_MIN / INT64_MAX when open */
	int bounded;             /* at least one bound given */
};
#define CLI_WINDOW_ALL { INT64_MIN, INT64_MAX, 0 }
/* Set one bound from text; what names it in the error ("--since", "since:"). */
int cli_window_set(struct cli_window *w, const char *cmd, const char *what, const char *val, int is_until);
/* The --since/--until options of a into w (cli_window_opts), then the
 * check that since < until (cli_window_args). 0, or -1 after a usage
 * message. */
int cli_window_opts(const struct cli_args *a, struct cli_window *w);
int cli_window_args(const struct cli_args *a, struct cli_window *w);
int cli_window_check(const struct cli_window *w, const char *cmd);
/* A bound as ISO 8601 UTC, or NULL when open (buf >= 32 bytes). */
const char *cli_window_iso(int64_t t, char *buf, size_t n);

/*
 * Open the store: --db DIR, else [store] path of --config FILE (or of the
 * built-in defaults), through store_open_config. Prints an error naming
 * the directory or file on failure and returns CLI_FAIL; CLI_OK when *s
 * is open.
 */
int cli_open_store(struct cli *c, unsigned flags, struct store **s);

/* "kvmarm-store CMD: message" on stderr; returns code. */
int cli_error(int code, const char *cmd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Print "usage: ..." of a command to stderr (code 2) or stdout (--help, 0). */
int cli_usage(const char *usage, int code);

/* Write all of buf to stdout; -1 on a write error (e.g. closed pipe). */
int cli_out(const void *buf, size_t len);

/* ISO 8601 UTC of t into buf (>= 21 bytes). */
void cli_iso(int64_t t, char *buf, size_t n);

/* Message-ID argument without surrounding <> and spaces (malloc'd). */
char *cli_clean_id(const char *arg);

/*
 * Find a message by argument: a Message-ID (with or without <>), or a
 * message number (all digits). 0 found (*num set), 1 not found, -1 error.
 * *nmatch gets how many messages carry that Message-ID.
 */
int cli_find_msg(struct store_reader *r, const char *arg, uint64_t *num, size_t *nmatch, struct kv_err *err);

/* A sender seen in a set of messages. */
struct cli_person {
	char *name;
	char *addr;
	uint32_t count;
};

/* Distinct senders (by address, else by name), in order of first appearance. */
struct cli_people {
	struct cli_person *v;
	size_t n, cap;
};
void cli_people_add(struct cli_people *p, const char *name, const char *addr);
void cli_people_release(struct cli_people *p);

/*
 * Write the thread object of issue 2 (thread_id, subject, category,
 * root_message_id, messages, message_ids, participants, participant_list,
 * first_date, last_date, series, plus total_messages) to w. The window's
 * message ids and senders are given by the caller; when ids is NULL the
 * "messages" and "message_ids" keys are left out (show writes its own).
 */
int cli_json_thread(struct json_w *w, struct store_reader *r, const struct thread_rec *t,
		    const struct strv *ids, const struct cli_people *people, struct kv_err *err);

/* A message's flags as a JSON array of names. */
void cli_json_flags(struct json_w *w, uint32_t flags);
/* The flag names space-joined into sb ("" when none). */
void cli_flags_text(struct sbuf *sb, uint32_t flags);

#endif
