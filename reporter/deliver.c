/*
 * deliver.c - the digest mail and its submission. Header values are built
 * here; gmime (through mime_build_digest) encodes and serialises. sendmail
 * runs with fixed arguments (no shell, nothing from the mail on its command
 * line: -t takes the recipients from the headers we wrote), and has
 * [reporter] sendmail_timeout seconds before it is killed with its
 * children: an MTA that never answers must not hang the reporter.
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

/* Feed the whole message into fd (non-blocking) until the deadline: a
 * sendmail that stops reading must not hold us once the pipe is full.
 * 0, -1 with errno, or 1 when the deadline passed. */
static int write_until(int fd, const char *p, size_t n, double deadline)
{
	while (n) {
		int left_ms = (int)((deadline - now_s()) * 1000);
		if (left_ms <= 0)
			return 1;
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		int r = poll(&pfd, 1, left_ms);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r <= 0)
			continue;
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
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

/* Run `path -oi -t` with msg on its standard input; it has timeout_s
 * seconds for everything (reading the mail, queueing it, exiting). */
static int send_sendmail(const char *path, long long timeout_s, const char *msg, size_t len,
			 struct kv_err *err)
{
	int fds[2];
	if (pipe(fds) < 0)
		return kv_err_set(err, "sendmail: pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return kv_err_set(err, "sendmail: fork: %s", strerror(errno));
	}
	if (pid == 0) {
		char *const argv[] = { (char *)path, "-oi", "-t", NULL };
		setpgid(0, 0);  /* its own group: a timeout kills its children too */
		dup2(fds[0], 0);
		close(fds[0]);
		close(fds[1]);
		execv(path, argv);
		_exit(127);
	}
	setpgid(pid, pid);  /* also here: no window where kill(-pid) misses */
	close(fds[0]);
	fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK);
	double deadline = now_s() + (double)timeout_s;
	/* a sendmail that dies early must not kill us with SIGPIPE */
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	int werr = write_until(fds[1], msg, len, deadline);
	int saved = errno;
	close(fds[1]);
	signal(SIGPIPE, old);
	int status;
	int wr = werr == 1 ? wait_until(pid, &status, 0) : wait_until(pid, &status, deadline);
	if (wr < 0)
		return kv_err_set(err, "sendmail %s: waitpid: %s", path, strerror(errno));
	if (wr == 1)
		return kv_err_set(err, "sendmail %s: timed out after %lld s (killed; "
				  "[reporter] sendmail_timeout)", path, timeout_s);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return kv_err_set(err, "sendmail %s: cannot run it", path);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return kv_err_set(err, "sendmail %s: failed (%s %d)", path,
				  WIFEXITED(status) ? "exit status" : "signal",
				  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	if (werr < 0)
		return kv_err_set(err, "sendmail %s: writing the message: %s", path, strerror(saved));
	return 0;
}

static int send_smtp(const struct kv_config *cfg, const char *msg, size_t len, struct kv_err *err)
{
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
	int rc = http_smtp_send(&o, from, (const char *const *)rcpts.v, rcpts.n, msg, len, err);
	free(password);
	free(from);
	strv_release(&rcpts);
	return rc;
}

int deliver_send(const struct kv_config *cfg, const char *msg, size_t len, struct kv_err *err)
{
	const char *transport = config_str(cfg, "reporter", "transport");
	if (strcmp(transport, "sendmail") == 0)
		return send_sendmail(config_str(cfg, "reporter", "sendmail_path"),
				     config_int(cfg, "reporter", "sendmail_timeout"), msg, len, err);
	if (strcmp(transport, "smtp") == 0)
		return send_smtp(cfg, msg, len, err);
	return kv_err_set(err, "[reporter] transport: unknown value '%s' (sendmail or smtp)", transport);
}
