/*
 * http.h - the reporter's one libcurl module: HTTP POST of JSON (the LLM
 * service), HTTP GET of an archive's raw mail (the lore backfill) and mail
 * submission over SMTP / SMTPS with STARTTLS and AUTH
 * (digest delivery). TLS peer verification is always on.
 */
#ifndef KV_HTTP_H
#define KV_HTTP_H

#include <stddef.h>
#include "kv.h"

/* Call once per process before threads start (curl_global_init). */
void http_init(void);

struct http_response {
	long status;             /* HTTP status, 0 when no response (timeout, refused) */
	struct sbuf body;        /* response body */
	double retry_after;      /* seconds from a Retry-After header, -1 when absent */
	int timed_out;           /* 1 when the transfer hit the timeout */
	int too_big;             /* 1 when the answer passed the size limit */
	int unreachable;         /* 1 when no connection could be made (refused,
				    unknown host, timeout): the server, not this URL */
	char error[256];         /* curl's message when status == 0 */
};
void http_response_release(struct http_response *r);

/*
 * POST body (application/json) to url with "Authorization: Bearer <key>"
 * when bearer is not NULL/empty. timeout_s bounds the whole transfer.
 * One attempt, no retry (the caller decides). Returns 0 when a response
 * arrived (any status), -1 with resp->error set otherwise.
 */
int http_post_json(const char *url, const char *bearer, const char *body, size_t len,
		   long timeout_s, struct http_response *resp);

/*
 * GET url (http:// or https:// only). Redirects are followed, at most 3,
 * and only to http/https. timeout_s bounds the whole transfer; an answer
 * longer than max_size bytes is cut off and is an error (resp->too_big).
 * Returns 0 when a response arrived (any status: a 404 is the caller's to
 * judge), -1 with resp->error naming the URL otherwise. One attempt.
 */
int http_get(const char *url, long timeout_s, size_t max_size, struct http_response *resp);

struct smtp_opts {
	const char *url;         /* smtp://host:port or smtps://host:port */
	const char *user;        /* NULL: no AUTH */
	const char *password;
	int starttls;            /* 1: require STARTTLS on smtp:// */
	long timeout_s;
};
/* Send msg (an RFC 5322 message, LF line ends) from `from` to each of rcpts. */
int http_smtp_send(const struct smtp_opts *o, const char *from, const char *const *rcpts,
		   size_t nrcpts, const char *msg, size_t len, struct kv_err *err);

#endif
