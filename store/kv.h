/*
 * kv.h - the small common ground every module of kvmarm-digest stands on:
 * the error struct that carries a message a person can act on, a growable
 * string buffer, string vectors, checked allocation, UTF-8 checks.
 *
 * Conventions (see STYLE.md): functions that can fail return 0 / -1 and fill
 * a struct kv_err; allocation failure aborts (kv_xmalloc and friends); only
 * main() and command functions exit.
 */
#ifndef KV_H
#define KV_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

#define KV_ERR_MAX 512

struct kv_err {
	char msg[KV_ERR_MAX];
};

/* Fill err (if not NULL) with a printf-style message. Always returns -1 so a
 * caller can write `return kv_err_set(err, "...")`. */
int kv_err_set(struct kv_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Allocation that aborts with a message on failure: never returns NULL. */
void *kv_xmalloc(size_t n);
void *kv_xcalloc(size_t n, size_t size);
void *kv_xrealloc(void *p, size_t n);
char *kv_xstrdup(const char *s);
char *kv_xstrndup(const char *s, size_t n);
char *kv_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Abort with "panic: ..." on stderr: a broken invariant, i.e. a bug. */
void kv_panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/*
 * struct sbuf: a growable, always NUL-terminated byte buffer.
 * SBUF_INIT or sbuf_init() before use; sbuf_release() frees the memory;
 * sbuf_detach() hands the buffer to the caller (free() it) and resets.
 */
struct sbuf {
	char *buf;
	size_t len, cap;
};
#define SBUF_INIT { NULL, 0, 0 }
void sbuf_init(struct sbuf *sb);
void sbuf_release(struct sbuf *sb);
char *sbuf_detach(struct sbuf *sb, size_t *len);
void sbuf_grow(struct sbuf *sb, size_t extra);
void sbuf_add(struct sbuf *sb, const void *data, size_t len);
void sbuf_adds(struct sbuf *sb, const char *s);
void sbuf_addc(struct sbuf *sb, char c);
void sbuf_addf(struct sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_vaddf(struct sbuf *sb, const char *fmt, va_list ap);
void sbuf_reset(struct sbuf *sb);

/* A growable array of owned strings. */
struct strv {
	char **v;
	size_t n, cap;
};
#define STRV_INIT { NULL, 0, 0 }
void strv_push(struct strv *sv, const char *s);      /* copies s */
void strv_push_owned(struct strv *sv, char *s);      /* takes s */
int strv_has(const struct strv *sv, const char *s);  /* 1 when s is in sv (strcmp) */
void strv_release(struct strv *sv);

/* strtod in the C locale (a '.' decimal point whatever setlocale said),
 * as JSON and the config want it; errno and *end as strtod sets them. */
double kv_strtod_c(const char *s, char **end);

/* UTF-8 helpers. kv_utf8_valid: 1 when s[0..len) is valid UTF-8 (no NUL).
 * kv_utf8_sanitize: copy with invalid sequences replaced by U+FFFD and NUL
 * and other C0 controls except \t \n dropped; caller frees. */
int kv_utf8_valid(const char *s, size_t len);
char *kv_utf8_sanitize(const char *s, size_t len);

/* Read a whole file / stream into memory; caller frees *data. 0 / -1. */
int kv_read_file(const char *path, char **data, size_t *len, struct kv_err *err);

#endif
