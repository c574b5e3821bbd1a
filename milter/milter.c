/*
 * milter.c - libmilter callbacks (see milter.h). One struct conn per SMTP
 * connection and one struct msg per message, both reached through
 * smfi_getpriv; nothing mutable is shared between connections except the
 * statistics, which take a lock.
 *
 * Protocol choices, and why:
 *  - No modification flags: the filter records, it never changes mail.
 *  - Negotiated away: connect, HELO, MAIL, RCPT, DATA, unknown commands:
 *    the message content is all we need. A message starts with its first
 *    header (or its end-of-header when it has none).
 *  - SMFIP_HDR_LEADSPC: the MTA passes the header value with the bytes
 *    after the colon untouched, so the stored header is the one delivered.
 *  - On a unix socket, headers and body chunks get no reply
 *    (SMFIP_NR_HDR, SMFIP_NR_BODY): each reply is a round trip. On TCP
 *    that would stall: a packet that gets no reply leaves the MTA's next
 *    small write waiting for a delayed ACK (Nagle), about 40 ms per mail.
 *    So with reply_every_packet (inet sockets) every step the MTA sends
 *    is answered and nothing is negotiated away that would leave a bare
 *    macro packet unanswered.
 *  - End-of-header decides: not a list mail, or the digest's own mail,
 *    is accepted there, so its body is never sent to us.
 *
 * An MTA that was never told about the filter sends nothing and says
 * nothing, and mail flows unrecorded: until the first connection a
 * watchdog thread logs a warning every no_mta_warn_ms. libmilter says why
 * a socket could not be opened only to syslog, so milter_open finds the
 * reason itself (socket_reason) for the caller to show.
 */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#include "milter.h"
#include "writer.h"
#include "latency.h"
#include "mime.h"
#include "log.h"
#include "banned.h"

struct msg {
	struct sbuf buf;      /* the message so far, LF line ends */
	int is_list;          /* a List-Id header matched */
	int marker;           /* the digest's marker header is present */
	int oversize;         /* over max_size: buffer dropped, pass unrecorded */
	int cr_pending;       /* a body chunk ended in CR */
	int in_body;
	char *msgid;          /* Message-ID header value, trimmed, for the log */
};

struct conn {
	unsigned long pflags;  /* protocol flags agreed in negotiation */
	struct msg *msg;
	unsigned nmsgs;
};

/* Set once before smfi_main; read-only afterwards. */
static struct milter_opts opts;
static struct writer *writer;

/* Statistics (eom latency in microseconds, outcome counts). */
static pthread_mutex_t stats_mu = PTHREAD_MUTEX_INITIALIZER;
static struct latency stats_us = LATENCY_INIT;

/* The no-MTA watchdog (see the top). */
static pthread_mutex_t watch_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t watch_cv;
static int mta_seen, watch_stop;
static char *sock_name;   /* the socket spec, for the warning */
static unsigned long stats_count[WR_JOURNALED + 1], stats_nonlist, stats_digest, stats_oversize;

void milter_setup(const struct milter_opts *o, struct writer *w)
{
	opts = *o;
	opts.list_ids = (struct strv)STRV_INIT;
	for (size_t i = 0; i < o->list_ids.n; i++) {
		char *id = milter_list_id(o->list_ids.v[i]);
		strv_push_owned(&opts.list_ids, id);
	}
	opts.marker_header = kv_xstrdup(o->marker_header ? o->marker_header : "X-Kvmarm-Digest");
	writer = w;
}

/* The id inside the last <...> (else the trimmed value), case kept. */
static char *angle_id(const char *value)
{
	const char *lt = strrchr(value, '<');
	const char *b, *e;
	char *out;

	if (lt && strchr(lt, '>')) {
		b = lt + 1;
		e = strchr(lt, '>');
	} else {
		b = value;
		e = value + strlen(value);
	}
	while (b < e && isspace((unsigned char)*b))
		b++;
	while (e > b && isspace((unsigned char)e[-1]))
		e--;
	out = kv_xstrndup(b, (size_t)(e - b));
	return out;
}

char *milter_list_id(const char *value)
{
	char *out = angle_id(value);
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return out;
}

static int list_id_wanted(const char *value)
{
	char *id = milter_list_id(value);
	int hit = 0;
	for (size_t i = 0; i < opts.list_ids.n && !hit; i++)
		hit = strcmp(id, opts.list_ids.v[i]) == 0;
	free(id);
	return hit;
}

static const char *queue_id(SMFICTX *ctx)
{
	const char *q = smfi_getsymval(ctx, "i");
	if (!q)
		q = smfi_getsymval(ctx, "{i}");
	return q ? q : "NOQUEUE";
}

static void stats_add(uint32_t us, enum writer_result r)
{
	pthread_mutex_lock(&stats_mu);
	latency_add(&stats_us, us);
	stats_count[r]++;
	pthread_mutex_unlock(&stats_mu);
}

static void stats_bump(unsigned long *c)
{
	pthread_mutex_lock(&stats_mu);
	(*c)++;
	pthread_mutex_unlock(&stats_mu);
}

void milter_log_stats(void)
{
	pthread_mutex_lock(&stats_mu);
	log_info("mails: %lu journaled, %lu recorded directly, %lu duplicate, %lu spooled, "
		 "%lu not a mail, %lu failed; "
		 "passed unrecorded: %lu not list mail, %lu digest, %lu over size limit",
		 stats_count[WR_JOURNALED], stats_count[WR_STORED], stats_count[WR_DUPLICATE],
		 stats_count[WR_SPOOLED],
		 stats_count[WR_SKIPPED], stats_count[WR_FAILED], stats_nonlist, stats_digest,
		 stats_oversize);
	if (stats_us.n > 0) {
		uint32_t p50, p99, max;
		latency_pctl(&stats_us, &p50, &p99, &max);
		log_info("eom latency over %zu mails: p50 %u us, p99 %u us, max %u us", stats_us.n,
			 p50, p99, max);
	}
	pthread_mutex_unlock(&stats_mu);
}

/* A connection from an MTA: the watchdog may stop. */
static void mta_connected(void)
{
	pthread_mutex_lock(&watch_mu);
	if (!mta_seen) {
		mta_seen = 1;
		pthread_cond_signal(&watch_cv);
	}
	pthread_mutex_unlock(&watch_mu);
}

static struct conn *conn_get(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);
	if (!c) {
		c = kv_xcalloc(1, sizeof *c);
		smfi_setpriv(ctx, c);
		mta_connected();
	}
	return c;
}

static void msg_free(struct conn *c)
{
	if (c && c->msg) {
		sbuf_release(&c->msg->buf);
		free(c->msg->msgid);
		free(c->msg);
		c->msg = NULL;
	}
}

static struct msg *msg_get(struct conn *c)
{
	if (!c->msg) {
		c->msg = kv_xcalloc(1, sizeof *c->msg);
		sbuf_init(&c->msg->buf);
		c->nmsgs++;
	}
	return c->msg;
}

/* Append with CRLF turned into LF; a CR at the end of one chunk waits for
 * the next chunk to know whether an LF follows. */
static void add_lf(struct msg *m, const char *p, size_t n)
{
	size_t i = 0;
	if (m->cr_pending) {
		m->cr_pending = 0;
		if (n > 0 && p[0] == '\n') {
			sbuf_addc(&m->buf, '\n');
			i = 1;
		} else {
			sbuf_addc(&m->buf, '\r');
		}
	}
	while (i < n) {
		const char *cr = memchr(p + i, '\r', n - i);
		if (!cr) {
			sbuf_add(&m->buf, p + i, n - i);
			break;
		}
		sbuf_add(&m->buf, p + i, (size_t)(cr - (p + i)));
		i = (size_t)(cr - p) + 1;
		if (i == n) {
			m->cr_pending = 1;
		} else if (p[i] == '\n') {
			sbuf_addc(&m->buf, '\n');
			i++;
		} else {
			sbuf_addc(&m->buf, '\r');
		}
	}
}

static void check_size(SMFICTX *ctx, struct msg *m)
{
	if (opts.max_size > 0 && m->buf.len > opts.max_size) {
		log_warn("queue id %s: message larger than max_message_size (%zu bytes): "
			 "passes unrecorded", queue_id(ctx), opts.max_size);
		m->oversize = 1;
		sbuf_release(&m->buf);
		stats_bump(&stats_oversize);
	}
}

static sfsistat step_reply(struct conn *c, unsigned long nr_flag)
{
	return (c->pflags & nr_flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
			     unsigned long f2, unsigned long f3, unsigned long *pf0,
			     unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	struct conn *c = conn_get(ctx);
	unsigned long want = SMFIP_HDR_LEADSPC;

	if (!opts.reply_every_packet)
		want |= SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | SMFIP_NORCPT |
			SMFIP_NODATA | SMFIP_NOUNKNOWN | SMFIP_NR_HDR | SMFIP_NR_BODY;
	c->pflags = want & f1;
	*pf0 = 0;        /* no modification actions */
	*pf1 = c->pflags;
	*pf2 = 0;
	*pf3 = 0;
	log_debug("negotiated: MTA offers protocol flags %#lx, we take %#lx", f1, c->pflags);
	return SMFIS_CONTINUE;
}

/* Steps we only see when the MTA cannot skip them (or on TCP, where every
 * step is answered on purpose). */
static sfsistat cb_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	conn_get(ctx);
	return SMFIS_CONTINUE;
}

static sfsistat cb_helo(SMFICTX *ctx, char *name)
{
	return SMFIS_CONTINUE;
}

static sfsistat cb_envfrom(SMFICTX *ctx, char **argv)
{
	/* A new transaction: anything left of the previous one is stale. */
	msg_free(conn_get(ctx));
	return SMFIS_CONTINUE;
}

static sfsistat cb_envrcpt(SMFICTX *ctx, char **argv)
{
	return SMFIS_CONTINUE;
}

static sfsistat cb_data(SMFICTX *ctx)
{
	return SMFIS_CONTINUE;
}

static sfsistat cb_unknown(SMFICTX *ctx, const char *cmd)
{
	return SMFIS_CONTINUE;
}

static sfsistat cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn *c = conn_get(ctx);
	struct msg *m = msg_get(c);

	if (m->oversize)
		return step_reply(c, SMFIP_NR_HDR);
	if (strcasecmp(name, "List-Id") == 0 && list_id_wanted(value))
		m->is_list = 1;
	if (strcasecmp(name, opts.marker_header) == 0)
		m->marker = 1;
	if (!m->msgid && strcasecmp(name, "Message-ID") == 0)
		m->msgid = angle_id(value);
	sbuf_adds(&m->buf, name);
	/* Without HDR_LEADSPC the MTA dropped the space after the colon. */
	sbuf_adds(&m->buf, (c->pflags & SMFIP_HDR_LEADSPC) ? ":" : ": ");
	add_lf(m, value, strlen(value));
	if (m->cr_pending) {
		m->cr_pending = 0;
		sbuf_addc(&m->buf, '\r');
	}
	sbuf_addc(&m->buf, '\n');
	check_size(ctx, m);
	return step_reply(c, SMFIP_NR_HDR);
}

static sfsistat cb_eoh(SMFICTX *ctx)
{
	struct conn *c = conn_get(ctx);
	struct msg *m = msg_get(c);

	if (m->marker) {
		log_debug("queue id %s: the digest's own mail (%s): passes unrecorded",
			  queue_id(ctx), opts.marker_header);
		stats_bump(&stats_digest);
		msg_free(c);
		return SMFIS_ACCEPT;
	}
	if (!m->is_list) {
		log_debug("queue id %s: not list mail: passes unrecorded", queue_id(ctx));
		stats_bump(&stats_nonlist);
		msg_free(c);
		return SMFIS_ACCEPT;
	}
	if (m->oversize) {
		msg_free(c);
		return SMFIS_ACCEPT;
	}
	sbuf_addc(&m->buf, '\n');
	m->in_body = 1;
	return SMFIS_CONTINUE;
}

static sfsistat cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct conn *c = conn_get(ctx);
	struct msg *m = c->msg;

	if (m && !m->oversize) {
		add_lf(m, (const char *)chunk, len);
		check_size(ctx, m);
	}
	if (m && m->oversize && !(c->pflags & SMFIP_NR_BODY)) {
		msg_free(c);
		return SMFIS_ACCEPT;  /* no more body for this message, please */
	}
	return step_reply(c, SMFIP_NR_BODY);
}

static sfsistat cb_eom(SMFICTX *ctx)
{
	struct conn *c = conn_get(ctx);
	struct msg *m = c->msg;
	struct timespec t0, t1;
	char why[2 * KV_ERR_MAX + 8], *raw, *msgid;
	size_t len;
	uint64_t num = 0;
	enum writer_result r;
	const char *qid;
	uint32_t us;

	if (!m || m->oversize || !m->is_list || m->marker) {
		msg_free(c);
		return SMFIS_ACCEPT;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (m->cr_pending) {
		m->cr_pending = 0;
		sbuf_addc(&m->buf, '\r');
	}
	raw = sbuf_detach(&m->buf, &len);
	msgid = m->msgid;
	m->msgid = NULL;
	msg_free(c);
	qid = queue_id(ctx);

	/* Parsing and recording happen in the writer's store thread; here
	 * only the (group) sync of the journal is waited for. */
	r = writer_submit(writer, raw, len, (int64_t)time(NULL), qid, msgid, &num, why, sizeof why);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	us = (uint32_t)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000);
	stats_add(us, r);
	log_debug("queue id %s: <%s> %s, eom %u us", qid, msgid ? msgid : "(none)",
		  r == WR_JOURNALED ? "journaled" : "handled", us);
	free(msgid);
	if (r == WR_FAILED && opts.tempfail_on_error)
		return SMFIS_TEMPFAIL;
	return SMFIS_ACCEPT;
}

static sfsistat cb_abort(SMFICTX *ctx)
{
	msg_free(smfi_getpriv(ctx));
	return SMFIS_CONTINUE;
}

static sfsistat cb_close(SMFICTX *ctx)
{
	struct conn *c = smfi_getpriv(ctx);
	if (c) {
		msg_free(c);
		free(c);
		smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

static struct smfiDesc desc = {
	.xxfi_name = "kvmarm-milter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_NONE,
	.xxfi_connect = cb_connect,
	.xxfi_helo = cb_helo,
	.xxfi_envfrom = cb_envfrom,
	.xxfi_envrcpt = cb_envrcpt,
	.xxfi_header = cb_header,
	.xxfi_eoh = cb_eoh,
	.xxfi_body = cb_body,
	.xxfi_eom = cb_eom,
	.xxfi_abort = cb_abort,
	.xxfi_close = cb_close,
	.xxfi_unknown = cb_unknown,
	.xxfi_data = cb_data,
	.xxfi_negotiate = cb_negotiate,
};

/* "PORT@HOST" of an inet socket spec: 0 with a bound test socket's verdict
 * in out, -1 when spec is not one. */
static int inet_reason(const char *spec, char *out, size_t outlen)
{
	const char *rest = strchr(spec, ':'), *at;
	struct addrinfo hints, *ai = NULL;
	char port[32], *host;
	int rc, fd, one = 1;

	if (!rest || !(at = strchr(rest + 1, '@')) || (size_t)(at - rest - 1) >= sizeof port)
		return -1;
	memcpy(port, rest + 1, (size_t)(at - rest - 1));
	port[at - rest - 1] = '\0';
	host = kv_xstrdup(at + 1);
	memset(&hints, 0, sizeof hints);
	hints.ai_family = strncmp(spec, "inet6:", 6) == 0 ? AF_INET6 : AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	rc = getaddrinfo(*host ? host : NULL, port, &hints, &ai);
	if (rc != 0) {
		snprintf(out, outlen, "cannot resolve %s port %s: %s", host, port, gai_strerror(rc));
		free(host);
		return 0;
	}
	free(host);
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0)
		snprintf(out, outlen, "%s", strerror(errno));
	else {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
			snprintf(out, outlen, "%s", strerror(errno));
		else
			snprintf(out, outlen, "libmilter refused it (see syslog)");
		close(fd);
	}
	freeaddrinfo(ai);
	return 0;
}

/* Why the socket spec could not be opened, as well as we can tell
 * (libmilter tells only syslog); saved: errno just after the failure. */
static void socket_reason(const char *spec, const char *upath, int saved, char *out, size_t outlen)
{
	if (upath) {
		char *dir = kv_xstrdup(upath), *slash = strrchr(dir, '/');
		struct stat st;
		if (slash)
			*(slash == dir ? slash + 1 : slash) = '\0';
		else
			snprintf(dir, strlen(dir) + 1, ".");
		if (strlen(upath) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			snprintf(out, outlen, "path longer than %zu bytes",
				 sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		else if (stat(dir, &st) < 0)
			snprintf(out, outlen, "directory %s: %s", dir, strerror(errno));
		else if (!S_ISDIR(st.st_mode))
			snprintf(out, outlen, "%s is not a directory", dir);
		else if (access(dir, W_OK | X_OK) < 0)
			snprintf(out, outlen, "cannot create it in %s: %s", dir, strerror(errno));
		else if (stat(upath, &st) == 0 && !S_ISSOCK(st.st_mode))
			snprintf(out, outlen, "%s exists and is not a socket", upath);
		else
			snprintf(out, outlen, "%s", saved ? strerror(saved) : "libmilter refused it (see syslog)");
		free(dir);
		return;
	}
	if (inet_reason(spec, out, outlen) < 0)
		snprintf(out, outlen, "%s", saved ? strerror(saved) : "libmilter refused it (see syslog)");
}

int milter_open(char *sockspec, int timeout, const char *upath, struct kv_err *err)
{
	char why[KV_ERR_MAX / 2];
	mode_t old;
	int rc, saved;

	free(sock_name);
	sock_name = kv_xstrdup(sockspec);
	if (smfi_setconn(sockspec) == MI_FAILURE)
		return kv_err_set(err, "not a valid milter socket");
	if (smfi_settimeout(timeout) == MI_FAILURE)
		log_warn("timeout %d: not accepted by libmilter", timeout);
	if (smfi_register(desc) == MI_FAILURE)
		return kv_err_set(err, "smfi_register failed");
	/* The socket is made with umask's mode; chmod follows at once, but
	 * start closed so it is never wider than asked. */
	old = umask(upath ? 0077 : 022);
	errno = 0;
	rc = smfi_opensocket(1);  /* 1: remove a stale unix socket */
	saved = errno;
	umask(old);
	if (rc == MI_FAILURE) {
		socket_reason(sockspec, upath, saved, why, sizeof why);
		return kv_err_set(err, "cannot open the milter socket: %s", why);
	}
	return 0;
}

/* Until the first connection, warn every interval ms (see the top). */
static void *watch_main(void *arg)
{
	int64_t interval = *(const int *)arg;
	int warned = 0;

	pthread_mutex_lock(&watch_mu);
	while (!mta_seen && !watch_stop) {
		struct timespec ts;
		int rc = 0;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += interval / 1000;
		ts.tv_nsec += (long)(interval % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (!mta_seen && !watch_stop && rc == 0)
			rc = pthread_cond_timedwait(&watch_cv, &watch_mu, &ts);
		if (!mta_seen && !watch_stop) {
			log_warn("no MTA has connected to %s since start: is smtpd_milters set "
				 "(Sendmail: INPUT_MAIL_FILTER)? see README", sock_name);
			warned = 1;
		}
	}
	if (mta_seen && warned)
		log_info("an MTA connected to %s", sock_name);
	pthread_mutex_unlock(&watch_mu);
	return NULL;
}

int milter_run(void)
{
	pthread_condattr_t ca;
	pthread_t watcher;
	int interval = opts.no_mta_warn_ms, watching = 0, rc;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&watch_cv, &ca);
	pthread_condattr_destroy(&ca);
	if (interval > 0)
		watching = pthread_create(&watcher, NULL, watch_main, &interval) == 0;
	rc = smfi_main() == MI_SUCCESS ? 0 : -1;
	if (watching) {
		pthread_mutex_lock(&watch_mu);
		watch_stop = 1;
		pthread_cond_signal(&watch_cv);
		pthread_mutex_unlock(&watch_mu);
		pthread_join(watcher, NULL);
	}
	pthread_cond_destroy(&watch_cv);
	return rc;
}
