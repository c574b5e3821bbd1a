/*
 * import.c - `kvmarm-store import` and the benchmark aid `parse-only`
 * (cli_import_run): the parsing half, linked into kvmarm-store-import
 * only (import_exec.c says why); import_cmd.c has their usage and options.
 *
 * Messages come from mbox.c in batches (up to 250 messages or 64 MB: small
 * enough that parsing the next batch overlaps writing this one even on a
 * small mbox, large enough that fsyncs stay rare);
 * each batch is parsed on every core (mime_parse is thread-safe), then
 * recorded with one store_add_batch (one transaction, one fsync). A bad
 * message is skipped with a line naming it and the import goes on; only a
 * failing store stops it.
 *
 * Truncation policy: a message cut by the end of the input (no final
 * newline, or a gzip stream cut short) whose header block is complete is
 * imported as far as it goes, with a note naming it; one cut inside its
 * header is skipped.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "mbox.h"
#include "mime.h"
#include "banned.h"

#define BATCH_MSGS  250
#define BATCH_BYTES (64u << 20)
#define MAX_JOBS    8
/* an import of this many new messages into a store without phrase pairs
 * says how to build them */
#define IMPORT_PAIRS_NOTE 1000

struct job {
	struct mbox_msg src;
	struct mail mail;
	int parsed;                 /* mail is filled */
	long item;                  /* index in the batch's items, -1 for none */
	char why[256];              /* parse failure */
};

struct batch {
	struct job *jobs;
	size_t n;
	size_t bytes;
	atomic_size_t next;         /* next job to parse */
	/* for the store */
	struct store *store;
	struct store_item *items;
	size_t *map;                /* item -> job */
	size_t ni;
	int failed;
	struct kv_err err;
};

static void *parse_worker(void *arg)
{
	struct batch *b = arg;
	size_t i;
	while ((i = atomic_fetch_add(&b->next, 1)) < b->n) {
		struct job *j = &b->jobs[i];
		struct kv_err err;
		if (!j->src.data)
			continue;
		if (mime_parse(j->src.data, j->src.len, j->src.arrival, &j->mail, &err) == 0)
			j->parsed = 1;
		else
			snprintf(j->why, sizeof(j->why), "%.250s", err.msg);
	}
	return NULL;
}

static void parse_batch(struct batch *b, int njobs)
{
	pthread_t th[MAX_JOBS];
	int started = 0;
	atomic_store(&b->next, 0);
	if (njobs > 1 && b->n > 1)
		for (int k = 1; k < njobs && k < MAX_JOBS; k++)
			if (pthread_create(&th[started], NULL, parse_worker, b) == 0)
				started++;
	parse_worker(b);
	for (int k = 0; k < started; k++)
		pthread_join(th[k], NULL);
}

/* The Message-ID header of raw, for naming a message that did not parse:
 * a plain scan of the header block (malloc'd, or NULL). */
static char *scan_msgid(const char *raw, size_t len)
{
	const char *p = raw, *end = raw + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		const char *le = nl ? nl : end;
		if (le == p || (le - p == 1 && *p == '\r'))
			break;
		if (le - p > 11 && !strncasecmp(p, "Message-ID:", 11)) {
			const char *v = p + 11;
			while (v < le && (*v == ' ' || *v == '\t' || *v == '<'))
				v++;
			const char *ve = v;
			while (ve < le && *ve != '>' && *ve != ' ' && *ve != '\r')
				ve++;
			if (ve > v && ve - v < 200)
				return kv_xstrndup(v, ve - v);
			return NULL;
		}
		p = le + 1;
	}
	return NULL;
}

/* "FILE", "FILE: message N (line L)", plus " <id>" into sb. */
static void name_msg(struct sbuf *sb, const struct mbox_msg *m, const char *msgid)
{
	sbuf_reset(sb);
	sbuf_adds(sb, m->file ? m->file : "?");
	if (m->index)
		sbuf_addf(sb, ": message %llu (line %llu)", (unsigned long long)m->index,
			  (unsigned long long)m->line);
	if (msgid && *msgid)
		sbuf_addf(sb, " <%s>", msgid);
}

/* A progress line is on the terminal (stderr): clear it before a report
 * line. Only the main thread prints. */
static int progress_on;

static void clear_progress(void)
{
	if (progress_on) {
		fputs("\r\033[K", stderr);
		progress_on = 0;
	}
}

struct counts {
	uint64_t imported, present, skipped, bytes;
	uint64_t notstored;       /* read but not recorded: the store failed */
};

static void skip_line(const char *cmd, struct job *j, const char *msgid, const char *why, struct counts *c)
{
	struct sbuf sb = SBUF_INIT;
	char *own = NULL;
	if (!msgid && j->src.data)
		msgid = own = scan_msgid(j->src.data, j->src.len);
	name_msg(&sb, &j->src, msgid);
	clear_progress();
	cli_error(0, cmd, "skipped %s: %s", sb.buf, why);
	c->skipped++;
	sbuf_release(&sb);
	free(own);
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Pre-checks that need no parser: skip notes, cut headers, non-mail. */
static const char *precheck(struct job *j)
{
	if (j->src.skip)
		return j->src.skip;
	if (j->src.truncated && !j->src.header_complete)
		return "truncated: the input ends inside the header";
	if (!mbox_looks_like_mail(j->src.data, j->src.len))
		return "not a mail: it does not start with a header field";
	return NULL;
}

struct run {
	const char *cmd;
	struct store *store;      /* NULL for parse-only */
	int njobs;
	struct counts c;
	int failed;
	double last_progress;
	int tty;
};

static void progress(struct run *R, struct mbox_reader *rd, int final)
{
	uint64_t done, total;
	if (!R->tty)
		return;
	double t = mono();
	if (!final && t - R->last_progress < 0.3)
		return;
	R->last_progress = t;
	if (final) {
		clear_progress();
		return;
	}
	progress_on = 1;
	mbox_progress(rd, &done, &total);
	if (total)
		fprintf(stderr, "\r%s: %llu messages done, %.1f of %.1f MB read\033[K", R->cmd,
			(unsigned long long)(R->c.imported + R->c.present + R->c.skipped),
			done / 1048576.0, total / 1048576.0);
	else
		fprintf(stderr, "\r%s: %llu messages done, %.1f MB read\033[K", R->cmd,
			(unsigned long long)(R->c.imported + R->c.present + R->c.skipped), done / 1048576.0);
}

/* Parse b and build its store items (parse failures get no item). */
static void prepare_batch(struct run *R, struct batch *b)
{
	parse_batch(b, R->njobs);
	b->items = kv_xcalloc(b->n ? b->n : 1, sizeof(*b->items));
	b->map = kv_xcalloc(b->n ? b->n : 1, sizeof(*b->map));
	b->ni = 0;
	for (size_t i = 0; i < b->n; i++) {
		struct job *j = &b->jobs[i];
		j->item = -1;
		if (!j->parsed || !R->store)
			continue;
		struct store_item *it = &b->items[b->ni];
		it->raw = j->src.data;
		it->len = j->src.len;
		it->arrival = j->src.arrival;
		it->parsed = &j->mail;
		j->item = (long)b->ni;
		b->map[b->ni++] = i;
	}
}

static void *write_batch(void *arg)
{
	struct batch *b = arg;
	b->failed = b->ni && store_add_batch(b->store, b->items, b->ni, &b->err) < 0;
	return NULL;
}

/* Empty b: its messages and its store items. */
static void release_batch(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		if (b->jobs[i].parsed)
			mail_release(&b->jobs[i].mail);
		mbox_msg_release(&b->jobs[i].src);
		memset(&b->jobs[i], 0, sizeof(b->jobs[i]));
	}
	free(b->items);
	free(b->map);
	b->items = NULL;
	b->map = NULL;
	b->n = b->ni = 0;
	b->bytes = 0;
	b->failed = 0;
}

/*
 * The store failed on b (disk full, I/O error): nothing of b was
 * committed. The import stops here with the store's own reason, naming
 * the first message not stored; every message of b counts as not stored
 * (none of them is "skipped": nothing was wrong with the mail).
 */
static void store_failed(struct run *R, struct batch *b)
{
	struct sbuf sb = SBUF_INIT;
	struct job *j = &b->jobs[0];

	name_msg(&sb, &j->src, j->parsed ? j->mail.message_id : NULL);
	clear_progress();
	cli_error(0, R->cmd, "the store failed, import stopped at %s: %s", sb.buf, b->err.msg);
	R->failed = 1;
	R->c.notstored += b->n;
	sbuf_release(&sb);
	release_batch(b);
}

/* Report b in message order (counts, skip lines, notes) and empty it. */
static void finish_batch(struct run *R, struct batch *b)
{
	if (b->failed) {
		store_failed(R, b);
		return;
	}
	for (size_t i = 0; i < b->n; i++) {
		struct job *j = &b->jobs[i];
		if (!j->parsed) {
			skip_line(R->cmd, j, NULL, j->why[0] ? j->why : "not a mail", &R->c);
			continue;
		}
		if (j->src.truncated) {
			struct sbuf sb = SBUF_INIT;
			name_msg(&sb, &j->src, j->mail.message_id);
			clear_progress();
			cli_error(0, R->cmd, "note: %s: the input ends inside this message; %s as far as it goes",
				  sb.buf, R->store ? "imported" : "parsed");
			sbuf_release(&sb);
		}
		R->c.bytes += j->src.len;
		if (!R->store) {
			R->c.imported++;
			continue;
		}
		const struct store_item *it = &b->items[j->item];
		switch (it->status) {
		case STORE_ADDED:
			R->c.imported++;
			break;
		case STORE_DUPLICATE:
			R->c.present++;
			break;
		default:
			skip_line(R->cmd, j, j->mail.message_id, it->why[0] ? it->why : "not stored", &R->c);
			break;
		}
	}
	release_batch(b);
}

/*
 * The pipeline: while the store writes one batch (a thread of its own),
 * the next one is read and parsed. Reports come out in input order.
 */
struct pipe {
	struct batch b[2];
	struct batch *cur;          /* being filled */
	struct batch *inflight;     /* being written, or NULL */
	pthread_t writer;
	int threaded;               /* writer is a running thread */
};

static void pipe_wait(struct run *R, struct pipe *P)
{
	if (!P->inflight)
		return;
	if (P->threaded)
		pthread_join(P->writer, NULL);
	finish_batch(R, P->inflight);
	P->inflight = NULL;
	P->threaded = 0;
}

/* Hand the full current batch on; last = 1 writes it before returning. */
static void pipe_push(struct run *R, struct pipe *P, int last)
{
	struct batch *b = P->cur;
	prepare_batch(R, b);
	pipe_wait(R, P);
	if (R->failed) {
		/* read and parsed while the failing batch was written */
		R->c.notstored += b->n;
		release_batch(b);
		return;
	}
	b->store = R->store;
	P->inflight = b;
	P->cur = b == &P->b[0] ? &P->b[1] : &P->b[0];
	if (!last && R->store && pthread_create(&P->writer, NULL, write_batch, b) == 0) {
		P->threaded = 1;
		return;
	}
	if (R->store)
		write_batch(b);
	if (last)
		pipe_wait(R, P);
}

/* Every message of one input into the pipeline (batches pushed as they fill). */
static void read_input(struct run *R, struct pipe *P, struct mbox_reader *rd, int64_t now)
{
	struct mbox_msg m;
	while (!R->failed && mbox_next(rd, &m) == 1) {
		struct batch *b = P->cur;
		struct job *j = &b->jobs[b->n];
		const char *why;
		j->src = m;
		if (!j->src.arrival)
			j->src.arrival = now;
		if ((why = precheck(j))) {
			skip_line(R->cmd, j, NULL, why, &R->c);
			mbox_msg_release(&j->src);
			continue;
		}
		b->n++;
		b->bytes += j->src.len;
		if (b->n == BATCH_MSGS || b->bytes >= BATCH_BYTES) {
			pipe_push(R, P, 0);
			progress(R, rd, 0);
		}
	}
}


int cli_import_run(struct cli *cl, const struct cli_args *a, int store_it)
{
	const char *cmd = a->name, *f = cli_args_get(a, OPT_MBOX_FORMAT);
	enum mbox_format fmt = MBOX_MBOXRD;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	/* one core is left to the writer thread: the store, not the parser,
	 * is the slower stage, and parsers competing with it slow it down */
	long njobs = store_it && ncpu > 2 ? (ncpu - 1 > MAX_JOBS ? MAX_JOBS : ncpu - 1) : 1;
	struct run R = { .cmd = cmd };
	struct kv_err err;
	struct mbox_reader **rds;
	size_t nrd = 0, stdin_uses = 0;
	int rc;

	if (f && mbox_format_parse(f, &fmt) < 0)
		return cli_error(CLI_USAGE, cmd, "--mbox-format: unknown format '%s' (mboxrd or mboxo)", f);
	if (cli_args_count(a, OPT_JOBS, 1, MAX_JOBS, &njobs) < 0)
		return CLI_USAGE;
	if (!a->npos)
		return cli_args_error(a, "no input given");
	for (size_t i = 0; i < a->npos; i++)
		stdin_uses += !strcmp(a->pos[i], "-");
	if (stdin_uses > 1)
		return cli_args_error(a, "'-' (stdin) given %zu times", stdin_uses);
	/* every input is opened before anything is stored, so a mistyped
	 * name stops the command before it has half done its work */
	rds = kv_xcalloc(a->npos, sizeof(*rds));
	for (nrd = 0; nrd < a->npos; nrd++) {
		if (mbox_open(&rds[nrd], a->pos[nrd], fmt, &err) < 0) {
			while (nrd)
				mbox_close(rds[--nrd]);
			free(rds);
			return cli_error(CLI_FAIL, cmd, "%s", err.msg);
		}
	}
	if (store_it && (rc = cli_open_store(cl, STORE_CREATE, &R.store)) != CLI_OK) {
		while (nrd)
			mbox_close(rds[--nrd]);
		free(rds);
		return rc;
	}
	if (!cl->cfg && config_load(&cl->cfg, cl->config, &err) < 0) {
		while (nrd)
			mbox_close(rds[--nrd]);
		free(rds);
		return cli_error(CLI_FAIL, cmd, "%s", err.msg);
	}
	{
		long long max = config_int(cl->cfg, "store", "import_max_message_size");
		if (max == 0)
			max = config_int(cl->cfg, "milter", "max_message_size");
		for (size_t k = 0; k < nrd; k++)
			mbox_set_max_size(rds[k], (uint64_t)max);
	}
	mime_init();
	R.njobs = njobs;
	R.tty = isatty(2);

	struct pipe P;
	memset(&P, 0, sizeof(P));
	P.b[0].jobs = kv_xcalloc(BATCH_MSGS, sizeof(struct job));
	P.b[1].jobs = kv_xcalloc(BATCH_MSGS, sizeof(struct job));
	P.cur = &P.b[0];
	double t0 = mono();
	int64_t now = now_s();
	for (size_t k = 0; k < nrd && !R.failed; k++)
		read_input(&R, &P, rds[k], now);
	if (!R.failed && P.cur->n)
		pipe_push(&R, &P, 1);
	pipe_wait(&R, &P);
	progress(&R, NULL, 1);
	double dt = mono() - t0;
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < P.b[k].n; i++)
			mbox_msg_release(&P.b[k].jobs[i].src);
		free(P.b[k].jobs);
	}
	for (size_t k = 0; k < nrd; k++)
		mbox_close(rds[k]);
	free(rds);
	/* an archive's first import: phrase search needs reindex to be fast */
	char *no_pairs = NULL;
	if (R.store && store_it && !R.failed && R.c.imported >= IMPORT_PAIRS_NOTE) {
		struct kv_err e;
		uint64_t upto;
		if (store_index_ready(R.store, &e) == 1 && store_pairs_state(R.store, &upto, &e) == STORE_PAIRS_NONE)
			no_pairs = kv_xstrdup(store_path(R.store));
	}
	if (R.store)
		store_close(R.store);

	if (store_it) {
		printf("imported %llu\nalready present %llu\nskipped %llu\n",
		       (unsigned long long)R.c.imported, (unsigned long long)R.c.present,
		       (unsigned long long)R.c.skipped);
		if (R.failed) {
			printf("not stored %llu\n", (unsigned long long)R.c.notstored);
			cli_error(0, cmd, "stored %llu, not stored %llu (and the rest of the input, "
				  "not read); import the same input again once the store is fixed: "
				  "what is stored is recognised as already present",
				  (unsigned long long)(R.c.imported + R.c.present),
				  (unsigned long long)R.c.notstored);
		}
		if (no_pairs) {   /* after the counts, also when both go to one file */
			fflush(stdout);
			cli_error(0, cmd, "note: %s has no phrase pairs yet; run `kvmarm-store reindex` once, "
				  "so that phrase search need not read the mail", no_pairs);
		}
	} else {
		printf("parsed %llu messages, %.1f MB in %.3f s: %.0f msgs/s, %.1f MB/s (%d thread%s)\n",
		       (unsigned long long)R.c.imported, R.c.bytes / 1048576.0, dt,
		       dt > 0 ? R.c.imported / dt : 0.0, dt > 0 ? R.c.bytes / 1048576.0 / dt : 0.0,
		       (int)njobs, njobs == 1 ? "" : "s");
	}
	free(no_pairs);
	if (R.failed)
		return CLI_FAIL;
	if (R.c.imported + R.c.present == 0)
		return CLI_NOT_FOUND;
	return CLI_OK;
}
