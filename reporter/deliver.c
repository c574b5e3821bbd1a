/*
 * deliver.c - the digest mail and its submission. Header values are built
 * here; gmime (through mime_build_digest) encodes and serialises. sendmail
 * runs with fixed arguments (no shell, nothing from the mail on its command
 * line: -t takes the recipients from the headers we wrote), and has
 * [reporter] sendmail_timeout seconds before it is killed with its
 * children: an MTA that never answers must not hang the reporter.
 *
 * Sending is a small journal so that a killed reporter never mails a digest
 * twice (issue 14 item 6). Order: the mail is written to
 * STORE/outbox/LABEL.eml, the store records "sending:LABEL" = "<date>
 * <msgid>", then the process that hands the mail over (the sendmail child
 * just before exec, or this process before the SMTP transaction) creates
 * STORE/outbox/LABEL.handed, and only after the transport said yes is
 * "sent" recorded and the outbox cleaned. A run that finds "sending:LABEL"
 * decides by the mark: handed means the mail may have gone, so it is
 * recorded as sent and never mailed again; not handed means it never left,
 * so the same file (same Message-ID) is handed over now.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include "deliver.h"
#include "kvtime.h"
#include "text.h"
#include "render.h"
#include "config.h"
#include "mime.h"
#include "http.h"
#include "store.h"
#include "archive.h"
#include "log.h"
#include "banned.h"

char *deliver_addr(const char *s)
{
	const char *lt = strrchr(s, '<');
	if (lt) {
		const char *gt = strchr(lt, '>');
		if (gt)
			return kv_xstrndup(lt + 1, (size_t)(gt - lt - 1));
	}
	char *one = text_one_line(s);
	return one;
}

int deliver_build(const struct kv_config *cfg, const struct digest *d, const char *text,
		  const char *html, struct sbuf *out, char **msgid_out, struct kv_err *err)
{
	char date[64], host[128] = "localhost";
	int off = 0;
	struct tm tm;
	if (kvtime_zone_offset(d->zone, d->generated, &off, NULL) < 0)
		off = 0;
	kvtime_gmtime(d->generated + off, &tm);
	int aoff = off < 0 ? -off : off;
	size_t n = strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S", &tm);
	snprintf(date + n, sizeof(date) - n, " %c%02d%02d", off < 0 ? '-' : '+', aoff / 3600,
		 (aoff % 3600) / 60);

	char *from_addr = deliver_addr(config_str(cfg, "reporter", "from"));
	const char *at = strchr(from_addr, '@');
	if (at && at[1])
		snprintf(host, sizeof(host), "%s", at + 1);
	char label[64];
	if (d->week) {
		snprintf(label, sizeof(label), "%s", d->week);
	} else {
		char a[16], b[16];
		kvtime_format(d->since, d->zone, "%Y%m%d", a, sizeof(a));
		kvtime_format(d->until, d->zone, "%Y%m%d", b, sizeof(b));
		snprintf(label, sizeof(label), "%s-%s", a, b);
	}
	char *msgid = kv_xasprintf("kvmarm-digest.%s.%lld.%ld@%s", label, (long long)d->generated,
				   (long)getpid(), host);
	char *msgid_hdr = kv_xasprintf("<%s>", msgid);
	char *subject = render_mail_subject(d);
	const char *marker = config_str(cfg, "reporter", "marker_header");
	const char *hdrs[] = {
		"From", config_str(cfg, "reporter", "from"),
		"To", config_str(cfg, "reporter", "to"),
		"Subject", subject,
		"Date", date,
		"Message-ID", msgid_hdr,
		"Auto-Submitted", "auto-generated",
		(marker && *marker) ? marker : "X-Kvmarm-Digest", label,
		NULL,
	};
	int rc = mime_build_digest(hdrs, text, html, out, err);
	free(subject);
	free(msgid_hdr);
	free(from_addr);
	if (rc == 0 && msgid_out)
		*msgid_out = msgid;
	else
		free(msgid);
	return rc;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reap pid by the deadline; past it, kill its whole process group
 * (sendmail's own children, e.g. Postfix's postdrop, included). 0 with
 * *status, 1 when it had to be killed, -1 on a waitpid error. */
static int wait_until(pid_t pid, int *status, double deadline)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		if (now_s() >= deadline)
			break;
		struct timespec nap = { 0, 20 * 1000 * 1000 };
		nanosleep(&nap, NULL);
	}
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	return 1;
}

/*
 * Test hook: with KVMARM_TEST_KILL_AT=POINT in the environment the reporter
 * SIGKILLs itself at that step of sending (recorded, handed, accepted,
 * sent), so tests can stop it exactly there. Nothing else reads it.
 */
static void kill_point(const char *point)
{
	const char *at = getenv("KVMARM_TEST_KILL_AT");
	if (at && strcmp(at, point) == 0)
		raise(SIGKILL);
}

/* Create the mark that the mail is being handed over. 0 / -1 with errno. */
static int mark_handed(const char *handed)
{
	int fd = open(handed, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	return close(fd);
}

/* Run `path -oi -t` with the file as its standard input; it has timeout_s
 * seconds for everything (reading the mail, queueing it, exiting). Reading
 * a file, not a pipe from us, sendmail gets the whole mail even when we
 * are killed meanwhile; the child marks the handover just before exec. */
static int send_sendmail(const char *path, long long timeout_s, const char *file, const char *handed,
			 struct kv_err *err)
{
	int in = open(file, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return kv_err_set(err, "sendmail: %s: %s", file, strerror(errno));
	pid_t pid = fork();
	if (pid < 0) {
		close(in);
		return kv_err_set(err, "sendmail: fork: %s", strerror(errno));
	}
	if (pid == 0) {
		char *const argv[] = { (char *)path, "-oi", "-t", NULL };
		setpgid(0, 0);  /* its own group: a timeout kills its children too */
		if (dup2(in, 0) < 0 || mark_handed(handed) < 0)
			_exit(126);
		execv(path, argv);
		unlink(handed);  /* it never ran: nothing was handed over */
		_exit(127);
	}
	setpgid(pid, pid);  /* also here: no window where kill(-pid) misses */
	close(in);
	kill_point("handed");
	double deadline = now_s() + (double)timeout_s;
	int status;
	int wr = wait_until(pid, &status, deadline);
	if (wr < 0)
		return kv_err_set(err, "sendmail %s: waitpid: %s", path, strerror(errno));
	if (wr == 1)
		return kv_err_set(err, "sendmail %s: timed out after %lld s (killed; "
				  "[reporter] sendmail_timeout)", path, timeout_s);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 126)
		return kv_err_set(err, "sendmail %s: cannot create %s or read %s", path, handed, file);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return kv_err_set(err, "sendmail %s: cannot run it", path);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return kv_err_set(err, "sendmail %s: failed (%s %d)", path,
				  WIFEXITED(status) ? "exit status" : "signal",
				  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return 0;
}

static int send_smtp(const struct kv_config *cfg, const char *file, const char *handed, struct kv_err *err)
{
	char *msg;
	size_t len;
	if (kv_read_file(file, &msg, &len, err) < 0)
		return -1;
	struct strv to = STRV_INIT;
	config_list(cfg, "reporter", "to", &to);
	struct strv rcpts = STRV_INIT;
	for (size_t i = 0; i < to.n; i++)
		strv_push_owned(&rcpts, deliver_addr(to.v[i]));
	strv_release(&to);
	char *from = deliver_addr(config_str(cfg, "reporter", "from"));
	char *password = NULL;
	const char *pwfile = config_str(cfg, "reporter", "smtp_password_file");
	if (pwfile && *pwfile) {
		size_t plen;
		if (kv_read_file(pwfile, &password, &plen, err) < 0) {
			free(from);
			free(msg);
			strv_release(&rcpts);
			return -1;
		}
		while (plen && (password[plen - 1] == '\n' || password[plen - 1] == '\r'))
			password[--plen] = '\0';
	}
	const char *user = config_str(cfg, "reporter", "smtp_user");
	struct smtp_opts o = {
		.url = config_str(cfg, "reporter", "smtp_url"),
		.user = (user && *user) ? user : NULL,
		.password = password,
		.starttls = config_bool(cfg, "reporter", "smtp_starttls"),
		.timeout_s = 120,
	};
	int rc;
	if (mark_handed(handed) < 0)
		rc = kv_err_set(err, "%s: %s", handed, strerror(errno));
	else
		rc = http_smtp_send(&o, from, (const char *const *)rcpts.v, rcpts.n, msg, len, err);
	free(msg);
	free(password);
	free(from);
	strv_release(&rcpts);
	return rc;
}

/* Hand file over by [reporter] transport; handed is created just before. */
static int send_file(const struct kv_config *cfg, const char *file, const char *handed, struct kv_err *err)
{
	const char *transport = config_str(cfg, "reporter", "transport");
	if (strcmp(transport, "sendmail") == 0)
		return send_sendmail(config_str(cfg, "reporter", "sendmail_path"),
				     config_int(cfg, "reporter", "sendmail_timeout"), file, handed, err);
	if (strcmp(transport, "smtp") == 0)
		return send_smtp(cfg, file, handed, err);
	return kv_err_set(err, "[reporter] transport: unknown value '%s' (sendmail or smtp)", transport);
}

struct outbox {
	char *dir, *file, *handed, *key;
};

static void outbox_init(struct outbox *ob, struct store *s, const char *label)
{
	ob->dir = kv_xasprintf("%s/outbox", store_path(s));
	ob->file = kv_xasprintf("%s/%s.eml", ob->dir, label);
	ob->handed = kv_xasprintf("%s/%s.handed", ob->dir, label);
	ob->key = kv_xasprintf("sending:%s", label);
}

static void outbox_release(struct outbox *ob)
{
	free(ob->dir);
	free(ob->file);
	free(ob->handed);
	free(ob->key);
}

/* Forget the send in progress: the record first, so a kill in between
 * leaves only files no record points to. */
static int outbox_clear(struct store *s, const struct outbox *ob, struct kv_err *err)
{
	int rc = store_kv_del(s, "sent", ob->key, err);
	unlink(ob->handed);
	unlink(ob->file);
	return rc;
}

/* Hand the recorded mail over, then record "sent" = record. */
static int outbox_hand_over(const struct kv_config *cfg, struct store *s, const char *label,
			    const struct outbox *ob, const char *record, struct kv_err *err)
{
	if (send_file(cfg, ob->file, ob->handed, err) < 0) {
		/* the transport said no: nothing went, the next run builds anew */
		struct kv_err e2;
		if (outbox_clear(s, ob, &e2) < 0)
			log_warn("digest %s: clearing the outbox: %s", label, e2.msg);
		return -1;
	}
	kill_point("accepted");
	if (store_kv_put(s, "sent", label, record, strlen(record), err) < 0)
		return -1;
	kill_point("sent");
	if (outbox_clear(s, ob, err) < 0)
		log_warn("digest %s: sent, but clearing the outbox failed: %s", label, err->msg);
	return 0;
}

int deliver_digest(const struct kv_config *cfg, struct store *s, const char *label, const char *msg,
		   size_t len, const char *record, struct kv_err *err)
{
	struct outbox ob;
	outbox_init(&ob, s, label);
	int rc = -1;
	unlink(ob.handed);   /* a mark left by a failed earlier try is no news */
	if (archive_write(ob.dir, label, "eml", msg, len, NULL, err) < 0 ||
	    store_kv_put(s, "sent", ob.key, record, strlen(record), err) < 0)
		goto out;
	kill_point("recorded");
	rc = outbox_hand_over(cfg, s, label, &ob, record, err);
out:
	outbox_release(&ob);
	return rc;
}

int deliver_recover(const struct kv_config *cfg, struct store *s, const char *label, char **record_out,
		    struct kv_err *err)
{
	struct outbox ob;
	outbox_init(&ob, s, label);
	struct store_reader *r;
	const void *v;
	size_t vlen;
	char *record = NULL;
	int rc = -1;
	if (store_reader_begin(s, &r, err) < 0)
		goto out;
	int g = store_kv_get(r, "sent", ob.key, &v, &vlen, err);
	if (g == 0)
		record = kv_xstrndup(v, vlen);
	int sent = g == 0 ? store_kv_get(r, "sent", label, &v, &vlen, err) : 1;
	store_reader_end(r);
	if (g < 0 || sent < 0)
		goto out;
	if (g == 1 || sent == 0) {
		/* nothing in progress, or killed after "sent" was recorded:
		 * only the outbox is left to clean */
		rc = g == 1 ? 0 : outbox_clear(s, &ob, err) < 0 ? -1 : 0;
		goto out;
	}
	if (access(ob.handed, F_OK) == 0) {
		/* it may have gone: never a second copy of the same digest */
		char *done = kv_xasprintf("%s (handed over by an interrupted run)", record);
		rc = store_kv_put(s, "sent", label, done, strlen(done), err);
		free(done);
		if (rc == 0) {
			if (outbox_clear(s, &ob, err) < 0)
				log_warn("digest %s: clearing the outbox: %s", label, err->msg);
			rc = 1;
		}
	} else if (access(ob.file, R_OK) == 0) {
		/* recorded, never handed over: the same mail goes now */
		rc = outbox_hand_over(cfg, s, label, &ob, record, err) < 0 ? -1 : 2;
	} else {
		/* killed before the mail file was complete: start afresh */
		rc = outbox_clear(s, &ob, err) < 0 ? -1 : 0;
	}
out:
	if (rc > 0 && record_out)
		*record_out = record;
	else
		free(record);
	outbox_release(&ob);
	return rc;
}
