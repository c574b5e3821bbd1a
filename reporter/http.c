/*
 * http.c - the reporter's one libcurl module (see http.h): a single JSON
 * POST attempt for the LLM client, with the status, body, Retry-After and
 * timeout reported back so the caller can decide about retries; and mail
 * submission over SMTP / SMTPS for digest delivery; a GET with a size
 * limit for the lore backfill. Nothing else in the
 * tree includes curl.h (the Makefile's check-layering keeps it so).
 *
 * TLS peer and host verification are set explicitly on every handle and
 * never turned off. The POST follows no redirect: a redirect would carry
 * the Authorization header somewhere the configuration did not name. The
 * GET carries no credentials, so it follows a few (an archive may move a
 * list or send http to https), to http/https only.
 */
#include "http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include <time.h>
#include "banned.h"

/* An answer larger than this is not a chat completion: stop reading. */
#define HTTP_MAX_BODY (16u << 20)
/* A Retry-After further away than this is treated as this (the caller caps
 * it again against its own deadline). */
#define HTTP_MAX_RETRY_AFTER 86400.0

static pthread_once_t http_once = PTHREAD_ONCE_INIT;

static void http_global_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		kv_panic("curl_global_init failed");
}

void http_init(void)
{
	pthread_once(&http_once, http_global_init);
}

static void response_init(struct http_response *resp)
{
	resp->status = 0;
	resp->retry_after = -1;
	resp->timed_out = 0;
	resp->too_big = 0;
	resp->unreachable = 0;
	resp->error[0] = '\0';
	sbuf_init(&resp->body);
}

void http_response_release(struct http_response *r)
{
	if (!r)
		return;
	sbuf_release(&r->body);
}

struct post_ctx {
	struct http_response *resp;
	size_t max;
};

static size_t post_write(char *data, size_t size, size_t nmemb, void *p)
{
	struct post_ctx *c = p;
	size_t n = size * nmemb;
	if (c->resp->body.len + n > c->max) {
		c->resp->too_big = 1;
		return 0; /* makes curl fail the transfer with CURLE_WRITE_ERROR */
	}
	sbuf_add(&c->resp->body, data, n);
	return n;
}

/* Retry-After is either delta-seconds or an HTTP-date (RFC 9110 10.2.3). */
static double parse_retry_after(const char *v, size_t n)
{
	char buf[128];
	while (n && isspace((unsigned char)*v))
		v++, n--;
	while (n && isspace((unsigned char)v[n - 1]))
		n--;
	if (!n || n >= sizeof(buf))
		return -1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	if (isdigit((unsigned char)buf[0])) {
		char *end;
		double s = strtod(buf, &end);
		if (*end || s < 0)
			return -1;
		return s > HTTP_MAX_RETRY_AFTER ? HTTP_MAX_RETRY_AFTER : s;
	}
	time_t when = curl_getdate(buf, NULL);
	if (when == (time_t)-1)
		return -1;
	double d = difftime(when, time(NULL));
	if (d < 0)
		d = 0;
	return d > HTTP_MAX_RETRY_AFTER ? HTTP_MAX_RETRY_AFTER : d;
}

static size_t post_header(char *data, size_t size, size_t nitems, void *p)
{
	struct post_ctx *c = p;
	size_t n = size * nitems;
	static const char name[] = "retry-after:";
	/* A new status line (after a 100 Continue, say) starts a new header set. */
	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0)
		c->resp->retry_after = -1;
	else if (n > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0)
		c->resp->retry_after = parse_retry_after(data + sizeof(name) - 1, n - (sizeof(name) - 1));
	return n;
}

/* Settings every handle gets: no signals (we run in worker threads), TLS
 * verification on, no redirects. */
static void http_common(CURL *h, char *errbuf, long timeout_s)
{
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	if (timeout_s > 0) {
		curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, timeout_s < 30 ? timeout_s : 30L);
	}
}

/* A handle for one HTTP request to url whose answer goes into c->resp
 * (reset here); NULL with c->resp->error set. */
static CURL *http_handle(const char *url, char *errbuf, long timeout_s, struct post_ctx *c)
{
	CURL *h;

	http_init();
	response_init(c->resp);
	h = curl_easy_init();
	if (!h) {
		snprintf(c->resp->error, sizeof(c->resp->error), "%.200s: cannot create a curl handle", url);
		return NULL;
	}
	http_common(h, errbuf, timeout_s);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, post_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, post_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "kvmarm-digest");
	return h;
}

/* Run the request: 0 with the status when an answer arrived, -1 with the
 * error naming url (and too_big when the answer passed c->max). */
static int http_perform(CURL *h, const char *url, const char *errbuf, struct post_ctx *c)
{
	struct http_response *resp = c->resp;
	CURLcode rc = curl_easy_perform(h);

	if (rc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
		return 0;
	}
	resp->status = 0;
	resp->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
	resp->unreachable = rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_COULDNT_CONNECT ||
			    rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY;
	if (rc == CURLE_FILESIZE_EXCEEDED)
		resp->too_big = 1;
	if (resp->too_big)
		snprintf(resp->error, sizeof(resp->error), "%.200s: answer larger than %zu bytes", url, c->max);
	else
		snprintf(resp->error, sizeof(resp->error), "%.200s: %s", url,
			 errbuf[0] ? errbuf : curl_easy_strerror(rc));
	return -1;
}

int http_post_json(const char *url, const char *bearer, const char *body, size_t len,
		   long timeout_s, struct http_response *resp)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct post_ctx ctx = { resp, HTTP_MAX_BODY };
	struct curl_slist *hdrs = NULL;
	CURL *h;
	CURLcode rc;

	h = http_handle(url, errbuf, timeout_s, &ctx);
	if (!h)
		return -1;
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);

	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	/* Without this curl sends "Expect: 100-continue" on big bodies and
	 * waits a second for servers that never answer it. */
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (bearer && *bearer) {
		char *auth = kv_xasprintf("Authorization: Bearer %s", bearer);
		hdrs = curl_slist_append(hdrs, auth);
		/* The key must not linger in freed heap memory longer than needed. */
		memset(auth, 0, strlen(auth));
		free(auth);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);

	rc = http_perform(h, url, errbuf, &ctx);
	curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	return rc;
}

int http_get(const char *url, long timeout_s, size_t max_size, struct http_response *resp)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct post_ctx ctx = { resp, max_size };
	CURL *h;
	int rc;

	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) {
		response_init(resp);
		snprintf(resp->error, sizeof(resp->error), "%.200s: not an http:// or https:// URL", url);
		return -1;
	}
	h = http_handle(url, errbuf, timeout_s, &ctx);
	if (!h)
		return -1;
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 3L);
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	/* a Content-Length over the limit fails before the body is read */
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_size);
	rc = http_perform(h, url, errbuf, &ctx);
	curl_easy_cleanup(h);
	return rc;
}

/* ---- SMTP ---- */

struct upload {
	const char *p;
	size_t len, off;
};

static size_t smtp_read(char *buf, size_t size, size_t nitems, void *p)
{
	struct upload *u = p;
	size_t n = size * nitems, left = u->len - u->off;
	if (n > left)
		n = left;
	memcpy(buf, u->p + u->off, n);
	u->off += n;
	return n;
}

/* SMTP wants CRLF line ends: bare LF becomes CRLF, existing CRLF stays, and
 * the message ends with CRLF. libcurl dot-stuffs lines starting with '.'. */
static void to_crlf(const char *msg, size_t len, struct sbuf *out)
{
	sbuf_grow(out, len + len / 16 + 2);
	for (size_t i = 0; i < len; i++) {
		if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r'))
			sbuf_addc(out, '\r');
		sbuf_addc(out, msg[i]);
	}
	if (out->len < 2 || memcmp(out->buf + out->len - 2, "\r\n", 2) != 0)
		sbuf_add(out, "\r\n", 2);
}

int http_smtp_send(const struct smtp_opts *o, const char *from, const char *const *rcpts,
		   size_t nrcpts, const char *msg, size_t len, struct kv_err *err)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *rl = NULL;
	struct sbuf data = SBUF_INIT;
	struct upload up;
	char *mfrom;
	long code = 0;
	CURL *h;
	CURLcode rc;

	if (!o || !o->url || !*o->url)
		return kv_err_set(err, "smtp: no server url configured");
	if (strncasecmp(o->url, "smtp://", 7) != 0 && strncasecmp(o->url, "smtps://", 8) != 0)
		return kv_err_set(err, "%s: smtp url must start with smtp:// or smtps://", o->url);
	if (!nrcpts)
		return kv_err_set(err, "%s: no recipients", o->url);

	http_init();
	h = curl_easy_init();
	if (!h)
		return kv_err_set(err, "%s: cannot create a curl handle", o->url);
	http_common(h, errbuf, o->timeout_s);
	curl_easy_setopt(h, CURLOPT_URL, o->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	if (o->starttls || strncasecmp(o->url, "smtps://", 8) == 0)
		curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (o->user && *o->user) {
		curl_easy_setopt(h, CURLOPT_USERNAME, o->user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, o->password ? o->password : "");
	}
	mfrom = kv_xasprintf("<%s>", from ? from : "");
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, mfrom);
	for (size_t i = 0; i < nrcpts; i++) {
		char *r = kv_xasprintf("<%s>", rcpts[i]);
		rl = curl_slist_append(rl, r);
		free(r);
	}
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rl);

	to_crlf(msg, len, &data);
	up.p = data.buf;
	up.len = data.len;
	up.off = 0;
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, smtp_read);
	curl_easy_setopt(h, CURLOPT_READDATA, &up);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)data.len);

	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		if (code)
			kv_err_set(err, "%s: %s (last reply %ld)", o->url, errbuf[0] ? errbuf : curl_easy_strerror(rc), code);
		else
			kv_err_set(err, "%s: %s", o->url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
	}
	curl_easy_cleanup(h);
	curl_slist_free_all(rl);
	free(mfrom);
	sbuf_release(&data);
	return rc == CURLE_OK ? 0 : -1;
}
