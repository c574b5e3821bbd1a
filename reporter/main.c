/*
 * main.c - kvmarm-reporter: build the weekly digest of the store, write it
 * to the archive, mail it. `--once` does one digest and exits; without it
 * the program is a daemon that sends each week's digest at the configured
 * time, remembers sent weeks in the store (so restarts never send twice)
 * and catches up once when it was down at send time.
 *
 * Exit codes (like kvmarm-store): 0 done, 1 nothing to do (empty window or
 * the week was already sent), 2 usage or configuration, 3 and up failures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include "kv.h"
#include "kvtime.h"
#include "config.h"
#include "log.h"
#include "store.h"
#include "mime.h"
#include "http.h"
#include "digest.h"
#include "summary.h"
#include "render.h"
#include "deliver.h"
#include "archive.h"
#include "backfill.h"
#include "banned.h"

enum { EX_DONE = 0, EX_NOTHING = 1, EX_USAGE = 2, EX_FAIL = 3 };

/* seconds before the daemon retries a digest that failed (delivery down) */
#define RETRY_AFTER 600

static const char usage_text[] =
"usage: kvmarm-reporter [--config FILE] [--db DIR] --once [--week YYYY-Www | --since D --until D]\n"
"                       [--no-send] [--resend] [--output DIR] [--format md,html,txt,json] [--lang zh|en]\n"
"       kvmarm-reporter [--config FILE] [--db DIR] [-f]     (daemon)\n"
"\n"
"Builds the weekly digest of the kvmarm list from the store: threads active in\n"
"the window with counts, series history, review tags, status, summaries\n"
"(extracted from the mail, or from an LLM when [llm] base_url is set).\n"
"With [reporter] backfill_url set, the missing roots of the window's threads\n"
"(and their ancestors) are first fetched from that public-inbox archive\n"
"(at most backfill_max_fetch per run) and stored flagged as backfilled:\n"
"they serve as roots and are never counted.\n"
"\n"
"  --config FILE     configuration file (default: built-in defaults)\n"
"  --db DIR          store directory (default: [store] path)\n"
"  --once            build one digest and exit (default window: the last\n"
"                    complete ISO week in [reporter] timezone)\n"
"  --week YYYY-Www   the ISO week: Monday 00:00 to the next Monday 00:00 in\n"
"                    [reporter] timezone\n"
"  --since D --until D  the window [since, until); YYYY-MM-DD is midnight in\n"
"                    [reporter] timezone, ISO 8601 with a time is taken as written\n"
"  --no-send         write the archive files only; do not mail or mark as sent\n"
"  --resend          mail it even if this week was sent before\n"
"  --output DIR      archive directory (default: [reporter] output_dir)\n"
"  --format LIST     formats to write: md, html, txt (plain text, the mail's\n"
"                    text part), json (default: [reporter] formats)\n"
"  --lang zh|en      language of labels and summaries (default: [reporter] language)\n"
"  -f, --foreground  daemon: log to stderr instead of syslog\n"
"  -v, --verbose     more log lines\n"
"  -h, --help        this text\n"
"\n"
"Daemon: sends the previous week's digest at [reporter] schedule (e.g.\n"
"\"Mon 08:00\", in [reporter] timezone). Sent weeks are recorded in the store\n"
"(table \"sent\"); at start it sends the last complete week once if it is due\n"
"and not yet sent, so a missed Monday is caught up once and a restart never\n"
"sends twice. A failed digest (e.g. the MTA is down) is retried every 10\n"
"minutes while its week is due. SIGTERM/SIGINT stop it.\n"
"\n"
"A digest being sent waits in STORE/outbox until the transport accepted it.\n"
"A run killed meanwhile is finished by the next one: a mail already handed\n"
"to sendmail/SMTP is recorded as sent and never mailed again (the log names\n"
"its Message-ID); one never handed over is sent then, the same mail.\n"
"\n"
"Test hooks: the environment variable KVMARM_NOW (or --now T), an ISO 8601\n"
"time or epoch seconds, replaces the clock (generated time, default week,\n"
"schedule); with it the daemon does not sleep but jumps to the next\n"
"scheduled time. --max-iterations N stops the daemon after N scheduled\n"
"checks; --exit-after-catchup stops it after the start-up check.\n"
"KVMARM_TEST_KILL_AT=recorded|handed|accepted|sent makes the reporter\n"
"SIGKILL itself at that step of sending.\n"
"\n"
"Exit status: 0 done, 1 nothing to do (empty window, or already sent),\n"
"2 usage or configuration error, 3 or more a failure (store, output, delivery).\n";

struct opts {
	const char *config, *db, *week, *since, *until, *output, *format, *lang, *now;
	int once, no_send, resend, foreground, verbose;
	long max_iterations;
	int exit_after_catchup;
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* The clock: KVMARM_NOW / --now when given (tests), else the real time. */
static int parse_now(const char *s, int64_t *out)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	if (*s && !*end) {
		*out = v;
		return 0;
	}
	return kvtime_parse_iso(s, out);
}

struct ctx {
	struct opts o;
	struct kv_config *cfg;
	const char *zone;
	const char *lang;
	const char *outdir;
	struct strv formats;
	struct store *store;
	int store_rdonly;       /* a dry run fell back to a read-only store */
	int fake_clock;
	int64_t fake_now;
};

static int64_t now_utc(struct ctx *c)
{
	if (c->fake_clock)
		return c->fake_now;
	return (int64_t)time(NULL);
}

static int sent_get(struct ctx *c, const char *week, struct kv_err *err)
{
	struct store_reader *r;
	if (store_reader_begin(c->store, &r, err) < 0)
		return -1;
	const void *v;
	size_t len;
	int rc = store_kv_get(r, "sent", week, &v, &len, err);
	store_reader_end(r);
	return rc < 0 ? -1 : rc == 0;
}

/* One digest for [since, until). Returns an exit code. */
static int run_digest(struct ctx *c, const char *week, int64_t since, int64_t until, int send)
{
	struct kv_err err = { "" };
	char label[64];
	if (week)
		snprintf(label, sizeof(label), "%s", week);
	else {
		char a[16], b[16];
		kvtime_format(since, c->zone, "%Y-%m-%d", a, sizeof(a));
		kvtime_format(until, c->zone, "%Y-%m-%d", b, sizeof(b));
		snprintf(label, sizeof(label), "%s_%s", a, b);
	}
	if (send) {
		char *rec = NULL;
		int rv = deliver_recover(c->cfg, c->store, label, &rec, &err);
		if (rv < 0) {
			log_err("digest %s: finishing an interrupted send: %s", label, err.msg);
			return EX_FAIL;
		}
		if (rv == 1)
			log_warn("digest %s: an interrupted run had handed %s to the transport; recorded as sent, "
				 "not sent again (look for that Message-ID in the MTA's log)", label, rec);
		else if (rv == 2)
			log_info("digest %s: an interrupted run had not handed %s over; sent that same mail now",
				 label, rec);
		free(rec);
		if (rv > 0 && !c->o.resend)
			return rv == 1 ? EX_NOTHING : EX_DONE;
	}
	if (send && !c->o.resend) {
		int s = sent_get(c, label, &err);
		if (s < 0) {
			log_err("digest %s: reading the sent table: %s", label, err.msg);
			return EX_FAIL;
		}
		if (s == 1) {
			log_info("digest %s: already sent; nothing to do (--resend sends it again)", label);
			return EX_NOTHING;
		}
	}

	struct digest_opts dopt = {
		.zone = c->zone, .lang = c->lang, .week = week,
		.lore_url = config_str(c->cfg, "reporter", "lore_url"),
		.since = since, .until = until, .generated = now_utc(c),
		.large_threshold = (int)config_int(c->cfg, "reporter", "large_thread"),
		.review_wait_days = (int)config_int(c->cfg, "reporter", "review_wait_days"),
	};
	/* the lore backfill writes to the store: a dry run on a store it
	 * cannot write goes without (its failures never stop the digest) */
	const char *bf_url = config_str(c->cfg, "reporter", "backfill_url");
	if (*bf_url && c->store_rdonly) {
		log_warn("digest %s: backfill: the store is open read-only; nothing fetched", label);
	} else if (*bf_url) {
		struct backfill_opts bo = {
			.base_url = bf_url,
			.max_fetch = (long)config_int(c->cfg, "reporter", "backfill_max_fetch"),
			.timeout_s = (long)config_int(c->cfg, "reporter", "backfill_timeout"),
			.max_size = (size_t)config_int(c->cfg, "reporter", "backfill_max_size"),
			.now = now_utc(c),
		};
		struct backfill_result br;
		if (backfill_run(c->store, &bo, since, until, &br, &err) < 0)
			log_err("digest %s: backfill: %s", label, err.msg);
	}

	struct digest d = { 0 };
	struct store_reader *r;
	if (store_reader_begin(c->store, &r, &err) < 0) {
		log_err("digest %s: %s", label, err.msg);
		return EX_FAIL;
	}
	int rc = digest_build(r, &dopt, &d, &err);
	store_reader_end(r);
	if (rc < 0) {
		log_err("digest %s: %s", label, err.msg);
		digest_release(&d);
		return EX_FAIL;
	}
	/* an LLM failure leaves extractive summaries: the digest goes out anyway */
	if (summary_fill(c->cfg, c->store, &d, &err) < 0)
		log_warn("digest %s: summaries: %s", label, err.msg);

	struct sbuf md = SBUF_INIT, html = SBUF_INIT, txt = SBUF_INIT, js = SBUF_INIT;
	render_md(&d, &md);
	render_html(&d, &html);
	/* the mail's text part; also the archive's .txt */
	if ((send && d.nthreads) || strv_has(&c->formats, "txt"))
		render_text(&d, &txt);
	int ret = EX_DONE;
	for (size_t i = 0; i < c->formats.n; i++) {
		const char *f = c->formats.v[i];
		struct sbuf *b = NULL;
		if (!strcmp(f, "md"))
			b = &md;
		else if (!strcmp(f, "html"))
			b = &html;
		else if (!strcmp(f, "txt"))
			b = &txt;
		else if (!strcmp(f, "json")) {
			if (!js.len)
				render_json(&d, &js);
			b = &js;
		}
		char *path = NULL;
		if (archive_write(c->outdir, label, f, b->buf, b->len, &path, &err) < 0) {
			log_err("digest %s: %s", label, err.msg);
			ret = EX_FAIL;
			goto out;
		}
		printf("%s\n", path);
		free(path);
	}
	if (c->formats.n && archive_index(c->outdir, c->lang, &err) < 0)
		log_warn("digest %s: index: %s", label, err.msg);
	fflush(stdout);

	if (!d.nthreads) {
		log_info("digest %s: no mail in the window", label);
		ret = EX_NOTHING;
	}
	if (send && d.nthreads) {
		struct sbuf msg = SBUF_INIT;
		char *msgid = NULL;
		char *val = NULL;
		if (deliver_build(c->cfg, &d, txt.buf, html.buf, &msg, &msgid, &err) == 0) {
			char gen[32];
			kvtime_utc_iso(d.generated, gen, sizeof(gen));
			val = kv_xasprintf("%s <%s>", gen, msgid);
		}
		if (!val || deliver_digest(c->cfg, c->store, label, msg.buf, msg.len, val, &err) < 0) {
			log_err("digest %s: delivery: %s", label, err.msg);
			sbuf_release(&msg);
			free(msgid);
			free(val);
			ret = EX_FAIL;
			goto out;
		}
		log_info("digest %s: sent <%s>: %zu threads, %zu mails", label, msgid, d.nthreads,
			 d.total_mails);
		free(val);
		free(msgid);
		sbuf_release(&msg);
		if (summary_remember(c->store, &d, &err) < 0)
			log_warn("digest %s: remembering summaries: %s", label, err.msg);
	}
out:
	sbuf_release(&md);
	sbuf_release(&html);
	sbuf_release(&txt);
	sbuf_release(&js);
	digest_release(&d);
	return ret;
}

/* ---- schedule ---- */

struct schedule {
	int wday;       /* 1 = Monday .. 7 */
	int hour, min;
};

static int parse_schedule(const char *s, struct schedule *sc, struct kv_err *err)
{
	static const char *const days[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };
	char day[8];
	int h, m, n = 0;
	if (sscanf(s, "%7s %d:%d%n", day, &h, &m, &n) != 3 || s[n] || h < 0 || h > 23 || m < 0 || m > 59)
		return kv_err_set(err, "[reporter] schedule: bad value '%s' (e.g. \"Mon 08:00\")", s);
	for (int i = 0; i < 7; i++)
		if (strncasecmp(day, days[i], 3) == 0) {
			sc->wday = i + 1;
			sc->hour = h;
			sc->min = m;
			return 0;
		}
	return kv_err_set(err, "[reporter] schedule: bad weekday in '%s'", s);
}

/* The scheduled instant in the ISO week `week` (local). */
static int sched_in_week(const char *week, const char *zone, const struct schedule *sc, int64_t *out,
			 struct kv_err *err)
{
	int64_t mon, next;
	if (kvtime_week_window(week, zone, &mon, &next, err) < 0)
		return -1;
	struct tm tm;
	int off;
	if (kvtime_zone_offset(zone, mon, &off, err) < 0)
		return -1;
	kvtime_gmtime(mon + off + (int64_t)(sc->wday - 1) * 86400, &tm);
	tm.tm_hour = sc->hour;
	tm.tm_min = sc->min;
	tm.tm_sec = 0;
	return kvtime_zone_to_utc(zone, &tm, out, err);
}

static void week_shift(const char *week, int delta, const char *zone, char *out, size_t n)
{
	int64_t since, until;
	/* the middle of the week (Thursday noon) is far from any DST edge */
	if (kvtime_week_window(week, zone, &since, &until, NULL) < 0) {
		snprintf(out, n, "%s", week);
		return;
	}
	kvtime_week_of(since + 3 * 86400 + 43200 + (int64_t)delta * 7 * 86400, zone, out, n, NULL);
}

/* At instant now: the week whose digest is due (the last complete week
 * before the latest scheduled time <= now), and the next scheduled time. */
static int sched_due(int64_t now, const char *zone, const struct schedule *sc, char *due, size_t n,
		     int64_t *next, struct kv_err *err)
{
	char cur[16], prev[16];
	int64_t at;
	if (kvtime_week_of(now, zone, cur, sizeof(cur), err) < 0 ||
	    sched_in_week(cur, zone, sc, &at, err) < 0)
		return -1;
	if (at <= now) {
		/* this week's send time has passed: due is last week; next is next week's */
		week_shift(cur, -1, zone, due, n);
		char nx[16];
		week_shift(cur, 1, zone, nx, sizeof(nx));
		return sched_in_week(nx, zone, sc, next, err);
	}
	week_shift(cur, -1, zone, prev, sizeof(prev));
	week_shift(prev, -1, zone, due, n);
	*next = at;
	return 0;
}

static int run_daemon(struct ctx *c)
{
	struct kv_err err = { "" };
	struct schedule sc;
	if (parse_schedule(config_str(c->cfg, "reporter", "schedule"), &sc, &err) < 0) {
		log_err("%s", err.msg);
		return EX_USAGE;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	log_info("daemon: schedule %s (%s), store %s", config_str(c->cfg, "reporter", "schedule"),
		 c->zone, store_path(c->store));
	long iter = 0;
	int ret = EX_DONE;
	while (!stop_flag) {
		char due[16];
		int64_t next, now = now_utc(c);
		if (sched_due(now, c->zone, &sc, due, sizeof(due), &next, &err) < 0) {
			log_err("daemon: %s", err.msg);
			return EX_FAIL;
		}
		int s = sent_get(c, due, &err);
		if (s < 0) {
			log_err("daemon: %s", err.msg);
			ret = EX_FAIL;
		} else if (s == 0) {
			int64_t since, until;
			if (kvtime_week_window(due, c->zone, &since, &until, &err) < 0) {
				log_err("daemon: %s", err.msg);
				return EX_FAIL;
			}
			log_info("daemon: digest %s is due", due);
			int rc = run_digest(c, due, since, until, 1);
			if (rc == EX_NOTHING) {
				/* an empty week is done too: remember it so it is not retried */
				const char *v = "empty";
				if (store_kv_put(c->store, "sent", due, v, strlen(v), &err) < 0)
					log_warn("daemon: %s", err.msg);
			} else if (rc != EX_DONE) {
				ret = rc;
				/* the week stays unsent: try again in ten minutes rather
				 * than at next week's send time, when it is no longer due */
				if (now + RETRY_AFTER < next)
					next = now + RETRY_AFTER;
				log_warn("daemon: digest %s failed; retrying in %d s", due, RETRY_AFTER);
			}
		}
		iter++;
		if (c->o.exit_after_catchup || (c->o.max_iterations > 0 && iter >= c->o.max_iterations))
			break;
		if (c->fake_clock) {
			c->fake_now = next;
			continue;
		}
		/* sleep in short steps so a signal or a clock change is noticed */
		while (!stop_flag) {
			int64_t left = next - (int64_t)time(NULL);
			if (left <= 0)
				break;
			sleep(left > 60 ? 60 : (unsigned)left);
		}
	}
	log_info("daemon: stopping");
	return ret;
}

int main(int argc, char **argv)
{
	struct ctx c = { 0 };
	enum { O_NOSEND = 256, O_RESEND, O_NOW, O_MAXIT, O_CATCHUP };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "db", required_argument, NULL, 'd' },
		{ "once", no_argument, NULL, '1' },
		{ "week", required_argument, NULL, 'w' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "no-send", no_argument, NULL, O_NOSEND },
		{ "resend", no_argument, NULL, O_RESEND },
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'F' },
		{ "lang", required_argument, NULL, 'l' },
		{ "now", required_argument, NULL, O_NOW },
		{ "max-iterations", required_argument, NULL, O_MAXIT },
		{ "exit-after-catchup", no_argument, NULL, O_CATCHUP },
		{ "foreground", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "c:d:fvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': c.o.config = optarg; break;
		case 'd': c.o.db = optarg; break;
		case '1': c.o.once = 1; break;
		case 'w': c.o.week = optarg; break;
		case 's': c.o.since = optarg; break;
		case 'u': c.o.until = optarg; break;
		case O_NOSEND: c.o.no_send = 1; break;
		case O_RESEND: c.o.resend = 1; break;
		case 'o': c.o.output = optarg; break;
		case 'F': c.o.format = optarg; break;
		case 'l': c.o.lang = optarg; break;
		case O_NOW: c.o.now = optarg; break;
		case O_MAXIT: c.o.max_iterations = strtol(optarg, NULL, 10); break;
		case O_CATCHUP: c.o.exit_after_catchup = 1; break;
		case 'f': c.o.foreground = 1; break;
		case 'v': c.o.verbose = 1; break;
		case 'h': fputs(usage_text, stdout); return EX_DONE;
		default: fputs(usage_text, stderr); return EX_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kvmarm-reporter: unexpected argument '%s'\n", argv[optind]);
		fputs(usage_text, stderr);
		return EX_USAGE;
	}
	int daemon_syslog = !c.o.once && !c.o.foreground;
	log_open("kvmarm-reporter", daemon_syslog, "daemon");
	log_set_level(c.o.verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);

	if (c.o.week && (c.o.since || c.o.until)) {
		fprintf(stderr, "kvmarm-reporter: --week and --since/--until exclude each other\n");
		return EX_USAGE;
	}
	if (!!c.o.since != !!c.o.until) {
		fprintf(stderr, "kvmarm-reporter: --since and --until go together\n");
		return EX_USAGE;
	}
	if (!c.o.once && (c.o.week || c.o.since || c.o.no_send || c.o.resend)) {
		fprintf(stderr, "kvmarm-reporter: --week, --since, --no-send and --resend need --once\n");
		return EX_USAGE;
	}
	if (c.o.lang && strcmp(c.o.lang, "zh") && strcmp(c.o.lang, "en")) {
		fprintf(stderr, "kvmarm-reporter: --lang: '%s' is not zh or en\n", c.o.lang);
		return EX_USAGE;
	}
	const char *nowtext = c.o.now ? c.o.now : getenv("KVMARM_NOW");
	if (nowtext && *nowtext) {
		if (parse_now(nowtext, &c.fake_now) < 0) {
			fprintf(stderr, "kvmarm-reporter: bad time '%s' in %s\n", nowtext,
				c.o.now ? "--now" : "KVMARM_NOW");
			return EX_USAGE;
		}
		c.fake_clock = 1;
	}

	struct kv_err err = { "" };
	if (config_load(&c.cfg, c.o.config, &err) < 0) {
		fprintf(stderr, "kvmarm-reporter: %s\n", err.msg);
		return EX_USAGE;
	}
	c.zone = config_str(c.cfg, "reporter", "timezone");
	c.lang = c.o.lang ? c.o.lang : config_str(c.cfg, "reporter", "language");
	if (strcmp(c.lang, "zh") && strcmp(c.lang, "en")) {
		fprintf(stderr, "kvmarm-reporter: [reporter] language: '%s' is not zh or en\n", c.lang);
		config_free(c.cfg);
		return EX_USAGE;
	}
	int off;
	if (kvtime_zone_offset(c.zone, 0, &off, &err) < 0) {
		fprintf(stderr, "kvmarm-reporter: [reporter] timezone: %s\n", err.msg);
		config_free(c.cfg);
		return EX_USAGE;
	}
	c.outdir = c.o.output ? c.o.output : config_str(c.cfg, "reporter", "output_dir");
	if (c.o.format) {
		char *dup = kv_xstrdup(c.o.format), *save = NULL;
		for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save))
			strv_push(&c.formats, t);
		free(dup);
	} else {
		config_list(c.cfg, "reporter", "formats", &c.formats);
	}
	for (size_t i = 0; i < c.formats.n; i++)
		if (strcmp(c.formats.v[i], "md") && strcmp(c.formats.v[i], "html") &&
		    strcmp(c.formats.v[i], "txt") && strcmp(c.formats.v[i], "json")) {
			fprintf(stderr, "kvmarm-reporter: unknown format '%s' (md, html, txt, json)\n",
				c.formats.v[i]);
			strv_release(&c.formats);
			config_free(c.cfg);
			return EX_USAGE;
		}

	int64_t since = 0, until = 0;
	char weekbuf[16];
	const char *week = c.o.week;
	if (c.o.once) {
		if (c.o.week) {
			if (kvtime_week_window(c.o.week, c.zone, &since, &until, &err) < 0) {
				fprintf(stderr, "kvmarm-reporter: --week: %s\n", err.msg);
				return EX_USAGE;
			}
		} else if (c.o.since) {
			if (kvtime_parse_date(c.o.since, c.zone, &since, &err) < 0 ||
			    kvtime_parse_date(c.o.until, c.zone, &until, &err) < 0) {
				fprintf(stderr, "kvmarm-reporter: %s\n", err.msg);
				return EX_USAGE;
			}
			if (until <= since) {
				fprintf(stderr, "kvmarm-reporter: --until must be after --since\n");
				return EX_USAGE;
			}
		} else {
			/* the last complete week */
			if (kvtime_week_of(now_utc(&c) - 7 * 86400, c.zone, weekbuf, sizeof(weekbuf), &err) < 0 ||
			    kvtime_week_window(weekbuf, c.zone, &since, &until, &err) < 0) {
				fprintf(stderr, "kvmarm-reporter: %s\n", err.msg);
				return EX_FAIL;
			}
			week = weekbuf;
		}
	}

	mime_init();
	http_init();
	unsigned flags = 0;
	if (store_open_config(&c.store, c.cfg, c.o.db, flags, &err) < 0) {
		/* a dry run may read a store it cannot write */
		if (!(c.o.once && c.o.no_send) ||
		    store_open_config(&c.store, c.cfg, c.o.db, STORE_RDONLY, &err) < 0) {
			log_err("store %s", err.msg);
			strv_release(&c.formats);
			config_free(c.cfg);
			return EX_FAIL;
		}
		c.store_rdonly = 1;
	}
	int rc;
	if (c.o.once)
		rc = run_digest(&c, week, since, until, !c.o.no_send);
	else
		rc = run_daemon(&c);
	store_close(c.store);
	strv_release(&c.formats);
	config_free(c.cfg);
	return rc;
}
