/*
 * teststore.h - what the store's unit tests (t_store.c, t_index.c) share:
 * a list mail built from its fields, store_add of one mail, and damage to
 * one database made through the db layer behind the store's back.
 * Include after tap.h, store.h and db.h.
 */
#ifndef KV_TESTSTORE_H
#define KV_TESTSTORE_H

#include <stdint.h>
#include <string.h>
#include <time.h>
#include "kv.h"
#include "kvtime.h"

/* A mail from fields; eol is "\n" or "\r\n". */
static inline char *mk(const char *id, const char *irt, const char *from, const char *subj,
		int64_t date, const char *extra_hdr, const char *body, const char *eol)
{
	struct sbuf sb = SBUF_INIT;
	struct tm tm;
	char d[64];

	kvtime_gmtime(date, &tm);
	strftime(d, sizeof(d), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	if (extra_hdr)
		sbuf_addf(&sb, "%s%s", extra_hdr, eol);
	sbuf_addf(&sb, "From: %s%s", from, eol);
	sbuf_addf(&sb, "To: kvmarm@lists.linux.dev%s", eol);
	sbuf_addf(&sb, "Subject: %s%s", subj, eol);
	sbuf_addf(&sb, "Date: %s%s", d, eol);
	sbuf_addf(&sb, "Message-ID: <%s>%s", id, eol);
	if (irt)
		sbuf_addf(&sb, "In-Reply-To: <%s>%sReferences: <%s>%s", irt, eol, irt, eol);
	sbuf_addf(&sb, "MIME-Version: 1.0%sContent-Type: text/plain; charset=utf-8%s", eol, eol);
	sbuf_addf(&sb, "Content-Transfer-Encoding: 8bit%s%s", eol, eol);
	for (const char *p = body; *p; p++) {
		if (*p == '\n')
			sbuf_adds(&sb, eol);
		else
			sbuf_addc(&sb, *p);
	}
	return sbuf_detach(&sb, NULL);
}

static inline int add(struct store *s, const char *raw, struct store_item *it)
{
	struct kv_err err;
	int rc = store_add(s, raw, strlen(raw), 1600000000, it, &err);
	if (rc < 0)
		diag("store_add: %s", err.msg);
	return rc;
}

/* Damage one database through the db layer, then ask store_check. */
static inline int corrupt(const char *dir, const char *db, const void *k, size_t kn, const void *v, size_t vn,
		   int del)
{
	struct db_env *e;
	struct db_txn *t;
	struct kv_err err;
	db_dbi d;
	int rc;

	if (db_env_open(&e, dir, 1 << 24, 32, 0, &err) < 0)
		return -1;
	db_txn_begin(e, 0, &t, &err);
	rc = db_dbi_open(t, db, 0, 0, &d, &err);
	if (rc == 0)
		rc = del ? db_del(t, d, k, kn, v, vn, &err) : db_put(t, d, k, kn, v, vn, 0, &err);
	if (rc == 0)
		rc = db_txn_commit(t, &err);
	else
		db_txn_abort(t);
	db_env_close(e);
	if (rc)
		diag("corrupt %s: %s", db, err.msg);
	return rc;
}

#endif
