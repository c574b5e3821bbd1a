/*
 * cli.h - what the `kvmarm-store` commands share: the global options, the
 * exit codes, store opening, option helpers and the JSON shapes of threads
 * and messages (the stable interface other tools and tests rely on).
 *
 * Each command is a function cmd_NAME(struct cli *, argc, argv) with
 * argv[0] the command name, returning the process exit code (git style).
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

struct kv_config;

struct cli {
	const char *prog;        /* "kvmarm-store" */
	const char *db;          /* --db DIR, or NULL */
	const char *config;      /* --config FILE, or NULL */
	struct kv_config *cfg;   /* loaded lazily by cli_open_store */
};

/*
 * Open the store: --db DIR, else [store] path of --config FILE (or of the
 * built-in defaults). Prints an error naming the directory or file on
 * failure and returns CLI_FAIL; CLI_OK when *s is open.
 */
int cli_open_store(struct cli *c, unsigned flags, struct store **s);

/* "kvmarm-store CMD: message" on stderr; returns code. */
int cli_error(int code, const char *cmd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Print "usage: ..." of a command to stderr (code 2) or stdout (--help, 0). */
int cli_usage(const char *usage, int code);

/* A date option value (YYYY-MM-DD or ISO 8601) into *t; usage error on
 * failure, naming the option. 0 ok, -1 (message printed). */
int cli_date_arg(const char *cmd, const char *opt, const char *val, int64_t *t);

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

int cmd_import(struct cli *c, int argc, char **argv);
int cmd_threads(struct cli *c, int argc, char **argv);
int cmd_show(struct cli *c, int argc, char **argv);
int cmd_msg(struct cli *c, int argc, char **argv);
int cmd_search(struct cli *c, int argc, char **argv);
int cmd_stats(struct cli *c, int argc, char **argv);
int cmd_export(struct cli *c, int argc, char **argv);
int cmd_check(struct cli *c, int argc, char **argv);
int cmd_parse_only(struct cli *c, int argc, char **argv);

#endif
