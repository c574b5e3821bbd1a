/*
 * series.c - linking a thread into its patch series when its root changes
 * (store.h, Model): a thread whose root is a patch (cover letter or lone
 * patch, not a reply) is a version of a series.
 *
 * size: over 900 lines on purpose: the version rules, the link wording,
 * the reply-only threads and the merge all read and write the same match
 * keys and series records inside one write transaction; split apart, each
 * part would need the others' key formats through a header.
 *
 * The rules (the series is decided by the set of stored mails, not by the
 * order they came in):
 *  - Evidence that two roots are versions of one series: the same
 *    change-id trailer; the same author address + project tag +
 *    normalised title (so RFC -> v2 and PATCH -> RESEND link, and a cover
 *    posted twice joins its twin); or a lore link in one root that names
 *    the other root, earlier in date, when the link is a version link.
 *  - A link is a version link only when the text around it (its line, the
 *    line before, and for a "[N] url" reference every line citing "[N]")
 *    does not say "based on" / "depends on" / "on top of" / "requires" /
 *    "prerequisite", is not a "Link:" trailer (the origin of a backport),
 *    and either says "vN" / "previous version" / "Link to vN" with the
 *    same author or the same normalised title, or (no wording) the target
 *    has the same normalised title. A "vN" named near the link must be
 *    the target's own version (the linker's own "this is v6" is left
 *    out), so "see v2 of this series [3]" next to another v1 is not a
 *    version link. Anything else is a dependency or a
 *    reference (the reporter shows dependencies as "depends on").
 *  - A link to a patch inside another thread (not its root) is never a
 *    version link, and a stable backport ("commit <sha> upstream") is no
 *    version of anything.
 *  - A thread made only of replies to a version whose root is not stored
 *    ("Re: [PATCH v4 07/15] ...", a reply-only thread) is never linked by
 *    its subject: the quoted subject names one patch, not the series, and
 *    a title match alone would pull unrelated series together. It is
 *    linked only through its message ids: when a stored cover letter (or
 *    lone patch) has a version link to an id that the reply-only thread
 *    references and that is not stored (the cover of the version it
 *    answers), the thread is that version, provided the version it quotes
 *    is older than the linker's and, for a link that names versions
 *    ("v4: https://..."), is one of them; a plain link (no wording) also
 *    needs the same normalised title. Either order of arrival gives the
 *    same series: the linker finds the thread through the id's node, the
 *    thread finds the linker through its "V:" key. Without such a link it
 *    shows as its own thread; its series appears once the root is
 *    imported.
 *  - When one root has evidence for several series, they merge into the
 *    lowest id; the merged-away ids forward ("f:" keys) to it. So every
 *    arrival order ends with the same partition (series ids may differ).
 * The match keys live in the skey database ("c:" change-id, "t:"
 * author/project/title, "V:" target Message-ID \0 linker Message-ID for a
 * link whose target has not arrived, "f:" forward of a merged series);
 * the series records (record.c) list each version's thread, so reading a
 * series costs one lookup. Stores written before these rules keep their
 * old "l:" keys, which are no longer read: re-import to relink old mail.
 *
 * Called by thread.c inside the batch's write transaction.
 */
#include "store_int.h"
#include "subject.h"
#include "body.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "banned.h"

static int series_load(struct wctx *w, uint64_t id, struct srec *r)
{
	unsigned char k[8];
	struct db_val v;
	int rc;

	db_be64(k, id);
	rc = db_get(w->t, w->s->d[D_SERIES], k, 8, &v, w->err);
	if (rc != 0)
		return rc;
	if (srec_decode(&v, id, r, 1) < 0) {
		srec_release(r);
		return kv_err_set(w->err, "series %llu: malformed record", (unsigned long long)id);
	}
	return 0;
}

static int series_save(struct wctx *w, const struct srec *r)
{
	unsigned char k[8];
	struct sbuf sb = SBUF_INIT;
	int rc;

	db_be64(k, r->id);
	if (r->n == 0) {
		rc = db_del(w->t, w->s->d[D_SERIES], k, 8, NULL, 0, w->err);
		return rc < 0 ? -1 : 0;
	}
	srec_encode(r, &sb);
	rc = db_put(w->t, w->s->d[D_SERIES], k, 8, sb.buf, sb.len, 0, w->err);
	sbuf_release(&sb);
	return rc < 0 ? -1 : 0;
}

/* Thread tid's first date moved: keep its series entry in step. */
int series_touch(struct wctx *w, uint64_t sid, uint64_t tid, int64_t first)
{
	struct srec r;
	int rc = series_load(w, sid, &r), changed = 0;

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	for (size_t i = 0; i < r.n; i++) {
		if (r.v[i].thread == tid && r.v[i].date != first) {
			r.v[i].date = first;
			changed = 1;
		}
	}
	rc = changed ? series_save(w, &r) : 0;
	srec_release(&r);
	return rc;
}

int series_remove(struct wctx *w, uint64_t sid, uint64_t tid)
{
	struct srec r;
	size_t i, j;
	int rc = series_load(w, sid, &r);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	for (i = j = 0; i < r.n; i++)
		if (r.v[i].thread != tid)
			r.v[j++] = r.v[i];
	r.n = j;
	rc = series_save(w, &r);
	srec_release(&r);
	return rc;
}

/* The live series an id leads to: merged-away series forward to the
 * series they were merged into. 0 when none is left. */
static int series_resolve(struct wctx *w, uint64_t sid, uint64_t *out)
{
	unsigned char k[10];
	struct db_val v;
	int rc;

	*out = 0;
	for (int hop = 0; sid && hop < 64; hop++) {
		db_be64(k, sid);
		rc = db_get(w->t, w->s->d[D_SERIES], k, 8, &v, w->err);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			*out = sid;
			return 0;
		}
		k[0] = 'f';
		k[1] = ':';
		db_be64(k + 2, sid);
		rc = db_get(w->t, w->s->d[D_SKEY], k, 10, &v, w->err);
		if (rc < 0)
			return -1;
		if (rc == 1 || v.n < 8)
			return 0;
		sid = db_get_be64(v.p);
	}
	return 0;
}

/* A series id from a match key, if the series (or what it merged into)
 * still exists. */
static int series_key_find(struct wctx *w, const char *key, size_t kn, uint64_t *sid)
{
	struct db_val v;
	int rc;

	*sid = 0;
	if (kn == 0 || kn > IDKEY_MAX)
		return 0;
	rc = db_get(w->t, w->s->d[D_SKEY], key, kn, &v, w->err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	return series_resolve(w, db_get_be64(v.p), sid);
}

static int series_key_put(struct wctx *w, const char *key, size_t kn, uint64_t sid)
{
	unsigned char b[8];

	if (kn == 0 || kn > IDKEY_MAX)
		return 0;
	db_be64(b, sid);
	return db_put(w->t, w->s->d[D_SKEY], key, kn, b, 8, 0, w->err) < 0 ? -1 : 0;
}

/* Is the thread root a version of a patch set: a cover letter or a lone
 * patch, not a reply? */
static int series_root_is_version(const struct subject_info *si)
{
	if (!(si->patch || si->rfc) || si->reply || si->pull)
		return 0;
	return si->index <= 0 || si->total == 1;
}

/* A stable backport ("commit <sha> upstream." or "[ Upstream commit <sha> ]"
 * in its text) repeats an applied patch for an older tree: it is not a
 * new version of the original, whatever its title. */
static int series_is_backport(const char *text, size_t len)
{
	const char *e = text + len;

	for (const char *ls = text; ls < e; ) {
		const char *le = memchr(ls, '\n', (size_t)(e - ls));
		const char *c = ls;
		size_t h = 0;
		if (!le)
			le = e;
		/* the stable formats open a line: "commit <sha> upstream." and
		 * "[ Upstream commit <sha> ]" */
		while (c < le && (*c == ' ' || *c == '\t' || *c == '['))
			c++;
		if ((size_t)(le - c) > 16 && strncasecmp(c, "upstream commit ", 16) == 0) {
			c += 16;
			while (c + h < le && isxdigit((unsigned char)c[h]))
				h++;
			if (h >= 12)
				return 1;
		} else if ((size_t)(le - c) > 7 && strncasecmp(c, "commit ", 7) == 0) {
			c += 7;
			while (c + h < le && isxdigit((unsigned char)c[h]))
				h++;
			if (h >= 12 && (size_t)(le - c - h) >= 9 && strncasecmp(c + h, " upstream", 9) == 0)
				return 1;
		}
		ls = le + 1;
	}
	return 0;
}

/* ---- what the text around a link says ---- */

static int has_word(const char *lc, const char *w)
{
	return strstr(lc, w) != NULL;
}

/* "v2", "v10" as words: the versions named near the link, as a bit mask
 * (bit N for vN, N < 64). */
static uint64_t says_version_number(const char *lc)
{
	uint64_t mask = 0;

	for (const char *p = lc; (p = strchr(p, 'v')); p++) {
		if ((p == lc || !isalnum((unsigned char)p[-1])) && isdigit((unsigned char)p[1])) {
			const char *q = p + 1;
			long n = strtol(p + 1, NULL, 10);
			while (isdigit((unsigned char)*q))
				q++;
			if (!isalnum((unsigned char)*q) && *q != '.' && n > 0 && n < 64)
				mask |= 1ull << n;
		}
	}
	return mask;
}

static void lower_append(struct sbuf *sb, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sbuf_addc(sb, (char)tolower((unsigned char)s[i]));
	sbuf_addc(sb, '\n');
}

/* The kind the words of lc (lower case) give a link; vmask the versions
 * they name. */
static int link_words(const char *lc, uint64_t *vmask)
{
	*vmask = 0;
	if (has_word(lc, "based on") || has_word(lc, "depends on") || has_word(lc, "depend on") ||
	    has_word(lc, "dependency") || has_word(lc, "dependencies") || has_word(lc, "on top of") ||
	    has_word(lc, "requires") || has_word(lc, "prerequisite") || has_word(lc, "applies on") ||
	    has_word(lc, "apply on"))
		return SERIES_LINK_DEP;
	if ((*vmask = says_version_number(lc)) || has_word(lc, "previous version") ||
	    has_word(lc, "previous series") || has_word(lc, "previous posting") ||
	    has_word(lc, "previous iteration") || has_word(lc, "previous revision") ||
	    has_word(lc, "earlier version") || has_word(lc, "last version") ||
	    has_word(lc, "prior version") || has_word(lc, "last posting") ||
	    has_word(lc, "previously posted"))
		return SERIES_LINK_VERSION;
	return SERIES_LINK_PLAIN;
}

/* The kind of the link to id in a cover letter or lone patch text: the
 * words of its own line (the id itself left out: b4 ids hold "-v2-") and,
 * for a "[N] url" reference, of the lines citing [N]; when those say
 * nothing, the line before ("v1:", "previously posted here:"). */
int series_link_kind(const char *text, size_t len, const char *id, uint64_t *vmask)
{
	struct sbuf own = SBUF_INIT, before = SBUF_INIT;
	const char *e = text + len, *ls, *prev = NULL;
	size_t idn = strlen(id), prevn = 0;
	int kind = SERIES_LINK_PLAIN, found = 0;

	*vmask = 0;
	for (ls = text; ls < e && !found; ) {
		const char *le = memchr(ls, '\n', (size_t)(e - ls));
		const char *at;
		size_t n;
		if (!le)
			le = e;
		n = (size_t)(le - ls);
		if (idn && n >= idn && (at = memmem(ls, n, id, idn))) {
			const char *p = ls;
			found = 1;
			while (p < le && (*p == ' ' || *p == '\t'))
				p++;
			if ((size_t)(le - p) >= 5 && strncasecmp(p, "link:", 5) == 0) {
				kind = SERIES_LINK_REF;
				break;
			}
			lower_append(&own, ls, (size_t)(at - ls));
			lower_append(&own, at + idn, (size_t)(le - at - idn));
			if (prev && !(p < le && *p == '['))
				lower_append(&before, prev, prevn);
			if (p < le && *p == '[') {
				const char *q = memchr(p, ']', (size_t)(le - p));
				if (q && q - p < 6) {
					size_t mn = (size_t)(q - p) + 1;
					for (const char *c = text; c < e; ) {
						const char *ce = memchr(c, '\n', (size_t)(e - c));
						if (!ce)
							ce = e;
						if (c != ls && memmem(c, (size_t)(ce - c), p, mn))
							lower_append(&own, c, (size_t)(ce - c));
						c = ce + 1;
					}
				}
			}
		}
		if (n > 0) {
			prev = ls;
			prevn = n;
		}
		ls = le + 1;
	}
	if (kind != SERIES_LINK_REF && own.len) {
		kind = link_words(own.buf, vmask);
		if (kind == SERIES_LINK_PLAIN && before.len)
			kind = link_words(before.buf, vmask);
	}
	sbuf_release(&own);
	sbuf_release(&before);
	return kind;
}

/* A thread root that replies to a patch ("Re: [PATCH v4 07/15] ..."): the
 * thread is made only of replies to a version whose root is not stored. */
static int series_reply_only(const struct subject_info *si)
{
	return si->reply && (si->patch || si->rfc) && !si->pull;
}

/* Is message id stored (not just referenced)? 1 yes, 0 no, -1 error. */
static int series_id_stored(struct wctx *w, const char *id)
{
	struct idkey k;
	struct db_val v;
	int rc;

	idkey_make(&k, id);
	rc = db_get(w->t, w->s->d[D_MID], k.b, k.n, &v, w->err);
	return rc < 0 ? -1 : rc == 0;
}

/* Who and what a root is, as the version rules compare them. */
struct rootid {
	const char *author;
	char norm[SUBJ_MAX];
	int64_t date;
	int version;
};

/* Does a link of this kind from linker to target make them versions?
 * vmask: the versions the text around the link names ("see v2 [3]" does
 * not make a v1 of another title a previous version). */
static int series_link_verified(int kind, uint64_t vmask, const struct rootid *from,
				const struct rootid *to)
{
	int same_title = to->norm[0] && strcmp(from->norm, to->norm) == 0;

	if (to->date >= from->date)
		return 0;    /* only an earlier cover is a previous version */
	if (kind == SERIES_LINK_VERSION)
		return same_title ||
		       (strcasecmp(from->author, to->author) == 0 &&
			(!vmask || (to->version > 0 && to->version < 64 && (vmask >> to->version) & 1)));
	if (kind == SERIES_LINK_PLAIN)
		return same_title;
	return 0;
}

/* The same for a link from a root of version from_version to an unstored
 * id that reply-only thread to references: to quotes an older version
 * (dates say nothing: replies to v4 go on after v5 is out), named by the
 * link when it names versions; a plain link also needs the same title. */
static int series_reply_link_verified(int kind, uint64_t vmask, int from_version,
				      const char *from_norm, const struct rootid *to)
{
	if (to->version <= 0 || to->version >= from_version)
		return 0;
	if (kind == SERIES_LINK_VERSION)
		return !vmask || (to->version < 64 && (vmask >> to->version) & 1);
	if (kind == SERIES_LINK_PLAIN)
		return to->norm[0] && strcmp(from_norm, to->norm) == 0;
	return 0;
}

/* The root of the thread holding message id, when id is that root and a
 * version: its series and identity. Or, when id is not stored and the
 * thread is a reply-only thread (*reply_only = its thread id), that
 * thread's identity and series (0 when it has none yet). 1 when not
 * applicable. */
static int series_link_target(struct wctx *w, const char *id, uint64_t self, uint64_t *sid,
			      struct rootid *to, char **own, uint64_t *reply_only)
{
	struct idkey k;
	struct db_val v;
	struct trec o;
	struct msg_rec m;
	struct subject_info si;
	int rc;

	idkey_make(&k, id);
	rc = db_get(w->t, w->s->d[D_NODE], k.b, k.n, &v, w->err);
	if (rc != 0)
		return rc;
	if (db_get_be64(v.p) == self)
		return 1;
	memset(&o, 0, sizeof(o));
	rc = trec_load(w->t, w->s, db_get_be64(v.p), &o, w->err);
	if (rc != 0)
		return rc;
	rc = 1;
	*reply_only = 0;
	if (o.f.series && o.root_mid && strcmp(o.root_mid, id) == 0) {
		rc = msg_load(w->t, w->s, NULL, o.f.root, &m, own, w->err);
		if (rc == 0) {
			subject_parse(m.subject, &si);
			to->author = m.from_addr;
			subject_norm_title(si.title, to->norm, sizeof(to->norm));
			to->date = o.f.first;
			to->version = si.version;
			*sid = o.f.series;
		}
	} else if (o.root_mid && strcmp(o.root_mid, id) != 0 && (rc = series_id_stored(w, id)) == 0) {
		/* id is a node of the thread that nobody stored: the cover
		 * of the version a reply-only thread answers? */
		rc = msg_load(w->t, w->s, NULL, o.f.root, &m, own, w->err);
		if (rc == 0) {
			subject_parse(m.subject, &si);
			if (series_reply_only(&si)) {
				to->author = "";
				subject_norm_title(si.title, to->norm, sizeof(to->norm));
				to->date = o.f.first;
				to->version = si.version;
				*sid = o.f.series;
				*reply_only = o.id;
			} else {
				rc = 1;
			}
		}
	}
	trec_release(&o);
	return rc;
}

/* The "V:" key of a link from linker to target. */
static void series_vkey(struct sbuf *sb, const char *target, const char *linker)
{
	sbuf_reset(sb);
	sbuf_addf(sb, "V:%s%c%s", target, 0, linker);
}

/* Remember a link whose target has not arrived, with what the target
 * will need to verify it. */
static int series_vkey_put(struct wctx *w, const char *target, const char *linker, int kind,
			   uint64_t vmask, const struct rootid *from, uint64_t sid)
{
	struct sbuf k = SBUF_INIT, v = SBUF_INIT;
	unsigned char b[16];
	int rc = 0;

	series_vkey(&k, target, linker);
	if (k.len <= IDKEY_MAX) {
		db_be64(b, sid);
		db_be64(b + 8, (uint64_t)from->date);
		sbuf_add(&v, b, 16);
		sbuf_addc(&v, (char)kind);
		db_be64(b, vmask);
		sbuf_add(&v, b, 8);
		sbuf_addf(&v, "%s%c%s", from->author, 0, from->norm);
		sbuf_addc(&v, '\0');
		rc = db_put(w->t, w->s->d[D_SKEY], k.buf, k.len, v.buf, v.len, 0, w->err) < 0 ? -1 : 0;
	}
	sbuf_release(&k);
	sbuf_release(&v);
	return rc;
}

/* Candidate series: a small set of live ids. */
struct cands {
	uint64_t v[64];
	size_t n;
};

static int cands_add(struct wctx *w, struct cands *c, uint64_t sid)
{
	if (series_resolve(w, sid, &sid) < 0)
		return -1;
	if (!sid)
		return 0;
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i] == sid)
			return 0;
	if (c->n < sizeof(c->v) / sizeof(c->v[0]))
		c->v[c->n++] = sid;
	return 0;
}

/* One "V:" link left by a root that names id: the linker's Message-ID
 * (NUL-terminated copy of the key's tail; NULL if too long) and the record value (series id
 * at 0, date at 8, kind at 16, version mask at 17, author at 25, then the
 * normalised title; both NUL-terminated). */
struct vlink {
	const char *linker;
	const unsigned char *v;
	const char *author, *norm;
};

/* Calls fn for each well-formed "V:id" link, in key order; stops at the
 * first fn < 0 (returned). */
static int series_each_vlink(struct wctx *w, const char *id,
			     int (*fn)(struct wctx *w, const struct vlink *l, void *ctx), void *ctx)
{
	struct db_cursor *cur;
	struct sbuf pre = SBUF_INIT;
	struct db_val k, v;
	int rc;

	sbuf_addf(&pre, "V:%s%c", id, 0);
	if (pre.len > IDKEY_MAX) {
		sbuf_release(&pre);
		return 0;
	}
	if (db_cursor_open(w->t, w->s->d[D_SKEY], &cur, w->err) < 0) {
		sbuf_release(&pre);
		return -1;
	}
	k.p = pre.buf;
	k.n = pre.len;
	for (rc = db_cursor_get(cur, DB_SET_RANGE, &k, &v, w->err); rc == 0;
	     rc = db_cursor_get(cur, DB_NEXT, &k, &v, w->err)) {
		char linker[IDKEY_MAX + 1];
		struct vlink l;
		if (k.n < pre.len || memcmp(k.p, pre.buf, pre.len) != 0)
			break;
		if (v.n < 27 || ((const char *)v.p)[v.n - 1] != '\0')
			continue;
		l.linker = NULL;   /* a linker id too long to copy: NULL */
		if (k.n - pre.len <= IDKEY_MAX) {
			memcpy(linker, (const char *)k.p + pre.len, k.n - pre.len);
			linker[k.n - pre.len] = '\0';
			l.linker = linker;
		}
		l.v = v.p;
		l.author = (const char *)v.p + 25;
		l.norm = l.author + strlen(l.author) + 1;
		if (fn(w, &l, ctx) < 0) {
			rc = -1;
			break;
		}
	}
	db_cursor_close(cur);
	sbuf_release(&pre);
	return rc < 0 ? -1 : 0;
}

struct links_ctx {
	const struct rootid *self;
	struct cands *c;
};

static int link_in(struct wctx *w, const struct vlink *l, void *ctx)
{
	struct links_ctx *x = ctx;
	struct rootid from;

	from.author = l->author;
	snprintf(from.norm, sizeof(from.norm), "%s", l->norm);
	from.date = (int64_t)db_get_be64(l->v + 8);
	from.version = 0;
	if (series_link_verified(l->v[16], db_get_be64(l->v + 17), &from, x->self))
		return cands_add(w, x->c, db_get_be64(l->v));
	return 0;
}

/* Links from roots that arrived earlier and name this root. */
static int series_links_in(struct wctx *w, const char *mid, const struct rootid *self,
			   struct cands *c)
{
	struct links_ctx x = { self, c };
	return series_each_vlink(w, mid, link_in, &x);
}

/* Merge series from into into: its versions move, its threads point at
 * into, and its id forwards to into. */
static int series_merge(struct wctx *w, struct srec *into, uint64_t from)
{
	struct srec o;
	unsigned char k[10], b[8];
	int rc = series_load(w, from, &o);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	into->v = kv_xrealloc(into->v, sizeof(*into->v) * (into->n + o.n + 1));
	for (size_t i = 0; i < o.n; i++) {
		struct trec t;
		struct sver *d = &into->v[into->n++];
		*d = o.v[i];
		d->mid = srec_str(into, o.v[i].mid);
		d->subject = srec_str(into, o.v[i].subject);
		if ((uint32_t)d->version >= into->maxver) {
			into->title = srec_str(into, o.title);
			into->maxver = (uint32_t)d->version;
		}
		memset(&t, 0, sizeof(t));
		rc = trec_load(w->t, w->s, o.v[i].thread, &t, w->err);
		if (rc < 0)
			goto fail;
		if (rc == 0) {
			t.f.series = into->id;
			rc = trec_save(w, &t);
			trec_release(&t);
			if (rc < 0)
				goto fail;
		}
	}
	o.n = 0;
	if (series_save(w, &o) < 0)
		goto fail;
	k[0] = 'f';
	k[1] = ':';
	db_be64(k + 2, from);
	db_be64(b, into->id);
	if (db_put(w->t, w->s->d[D_SKEY], k, 10, b, 8, 0, w->err) < 0)
		goto fail;
	srec_release(&o);
	return 0;
fail:
	srec_release(&o);
	return -1;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Add reply-only thread tid to series r as the version its root quotes. */
static int series_add_reply_only(struct wctx *w, struct srec *r, uint64_t tid)
{
	struct trec o;
	struct msg_rec m;
	struct subject_info si;
	char *own = NULL;
	int rc;

	memset(&o, 0, sizeof(o));
	rc = trec_load(w->t, w->s, tid, &o, w->err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	rc = msg_load(w->t, w->s, NULL, o.f.root, &m, &own, w->err);
	if (rc == 0) {
		subject_parse(m.subject, &si);
		r->v = kv_xrealloc(r->v, sizeof(*r->v) * (r->n + 1));
		r->v[r->n].thread = o.id;
		r->v[r->n].version = si.version;
		r->v[r->n].date = o.f.first;
		r->v[r->n].mid = srec_str(r, m.message_id);
		r->v[r->n].subject = srec_str(r, m.subject);
		r->n++;
		o.f.series = r->id;
		rc = trec_save(w, &o);
	}
	free(own);
	trec_release(&o);
	return rc < 0 ? -1 : 0;
}

/* The version of the series sid whose root is message id linker, or 0. */
static int series_version_of(struct wctx *w, uint64_t sid, const char *linker, int *version)
{
	struct srec r;
	int rc = series_load(w, sid, &r);

	*version = 0;
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	for (size_t i = 0; i < r.n; i++)
		if (r.v[i].mid && strcmp(r.v[i].mid, linker) == 0)
			*version = r.v[i].version;
	srec_release(&r);
	return 0;
}

static int reply_link_in(struct wctx *w, const struct vlink *l, void *ctx)
{
	struct links_ctx *x = ctx;
	uint64_t sid;
	int lver;

	if (!l->linker)
		return 0;
	if (series_resolve(w, db_get_be64(l->v), &sid) < 0 ||
	    (sid && series_version_of(w, sid, l->linker, &lver) < 0))
		return -1;
	if (sid && series_reply_link_verified(l->v[16], db_get_be64(l->v + 17), lver, l->norm, x->self))
		return cands_add(w, x->c, sid);
	return 0;
}

/* Series whose roots have a version link to unstored id, which reply-only
 * thread self references ("V:" keys left by the linkers). */
static int series_reply_links_in(struct wctx *w, const char *id, const struct rootid *self,
				 struct cands *c)
{
	struct links_ctx x = { self, c };
	return series_each_vlink(w, id, reply_link_in, &x);
}

/* Link reply-only thread t (root m) to the series whose roots link to the
 * unstored cover it answers; no series without such a link. */
static int series_reply_update(struct wctx *w, struct trec *t, const struct msg_rec *m,
			       const struct subject_info *si)
{
	struct rootid self;
	struct cands c;
	struct srec r;
	const char *x = m->refs.p;
	int rc;

	c.n = 0;
	self.author = "";
	subject_norm_title(si->title, self.norm, sizeof(self.norm));
	self.date = t->f.first;
	self.version = si->version;
	for (uint32_t i = 0; i <= m->refs.n; i++) {
		const char *id = i == 0 ? m->in_reply_to : x;
		if (i > 0)
			x += strlen(x) + 1;
		if (!id[0] || strcmp(id, m->message_id) == 0)
			continue;
		rc = series_id_stored(w, id);
		if (rc < 0)
			return -1;
		if (rc == 0 && series_reply_links_in(w, id, &self, &c) < 0)
			return -1;
	}
	if (!c.n)
		return 0;
	qsort(c.v, c.n, sizeof(c.v[0]), u64_cmp);
	memset(&r, 0, sizeof(r));
	if ((rc = series_load(w, c.v[0], &r)) != 0) {
		if (rc > 0)
			kv_err_set(w->err, "series %llu vanished", (unsigned long long)c.v[0]);
		srec_release(&r);
		return -1;
	}
	for (size_t i = 1; i < c.n; i++)
		if (series_merge(w, &r, c.v[i]) < 0)
			goto fail;
	r.v = kv_xrealloc(r.v, sizeof(*r.v) * (r.n + 1));
	r.v[r.n].thread = t->id;
	r.v[r.n].version = si->version;
	r.v[r.n].date = t->f.first;
	r.v[r.n].mid = srec_str(&r, m->message_id);
	r.v[r.n].subject = srec_str(&r, m->subject);
	r.n++;
	if (series_save(w, &r) < 0)
		goto fail;
	t->f.series = r.id;
	srec_release(&r);
	return 0;
fail:
	srec_release(&r);
	return -1;
}

/* (Re)link thread t after its root changed. */
int series_update(struct wctx *w, struct trec *t)
{
	struct subject_info si;
	struct body_info bi;
	struct msg_rec m;
	struct srec r;
	struct rootid self;
	struct cands c;
	const char *text = "";
	char *owned = NULL, *mown = NULL;
	size_t tl = 0, i;
	struct sbuf tkey = SBUF_INIT, ck = SBUF_INIT;
	uint64_t sid = 0;
	int rc, ret = -1, *kinds = NULL;
	uint64_t *vmasks = NULL;
	uint64_t *ro = NULL;     /* reply-only threads to add, no series yet */
	size_t nro = 0;

	memset(&bi, 0, sizeof(bi));
	memset(&r, 0, sizeof(r));
	c.n = 0;
	if (t->f.series) {
		if (series_remove(w, t->f.series, t->id) < 0)
			return -1;
		t->f.series = 0;
	}
	if ((rc = msg_load(w->t, w->s, NULL, t->f.root, &m, &mown, w->err)) != 0)
		return rc < 0 ? -1 : kv_err_set(w->err, "thread %llu: root %llu missing",
						 (unsigned long long)t->id, (unsigned long long)t->f.root);
	subject_parse(m.subject, &si);
	if (series_reply_only(&si)) {
		rc = series_reply_update(w, t, &m, &si);
		free(mown);
		return rc;
	}
	if (!series_root_is_version(&si)) {
		free(mown);
		return 0;
	}
	if (text_load(w->t, w->s, NULL, NULL, t->f.root, &text, &tl, &owned, w->err) < 0) {
		free(mown);
		return -1;
	}
	if (series_is_backport(text, tl)) {
		ret = 0;
		goto out;
	}
	body_analyze(text, tl, &bi);
	self.author = m.from_addr;
	subject_norm_title(si.title, self.norm, sizeof(self.norm));
	self.date = t->f.first;
	self.version = si.version;
	sbuf_addf(&tkey, "t:%s%c%s%c%s", m.from_addr, 0, si.project, 0, self.norm);
	/* every piece of evidence, each naming a series */
	if (bi.change_id && bi.change_id[0]) {
		sbuf_addf(&ck, "c:%s", bi.change_id);
		if (series_key_find(w, ck.buf, ck.len, &sid) < 0 || cands_add(w, &c, sid) < 0)
			goto out;
	}
	if (series_key_find(w, tkey.buf, tkey.len, &sid) < 0 || cands_add(w, &c, sid) < 0)
		goto out;
	kinds = kv_xcalloc(bi.links.n ? bi.links.n : 1, sizeof(*kinds));
	vmasks = kv_xcalloc(bi.links.n ? bi.links.n : 1, sizeof(*vmasks));
	for (i = 0; i < bi.links.n; i++) {
		struct rootid to;
		char *town = NULL;
		kinds[i] = series_link_kind(text, tl, bi.links.v[i], &vmasks[i]);
		/* "this is v6 of the series previously posted at" names the
		 * linker itself, not the target */
		if (si.version > 0 && si.version < 64)
			vmasks[i] &= ~(1ull << si.version);
		if (kinds[i] != SERIES_LINK_VERSION && kinds[i] != SERIES_LINK_PLAIN)
			continue;
		uint64_t ro_thread = 0;
		rc = series_link_target(w, bi.links.v[i], t->id, &sid, &to, &town, &ro_thread);
		if (rc == 0 && ro_thread) {
			/* the cover of the version a reply-only thread answers */
			if (!series_reply_link_verified(kinds[i], vmasks[i], si.version, self.norm, &to))
				;
			else if (sid)
				rc = cands_add(w, &c, sid);
			else {
				ro = kv_xrealloc(ro, sizeof(*ro) * (nro + 1));
				ro[nro++] = ro_thread;
			}
		} else if (rc == 0 && series_link_verified(kinds[i], vmasks[i], &self, &to)) {
			rc = cands_add(w, &c, sid);
		}
		free(town);
		if (rc < 0)
			goto out;
	}
	if (series_links_in(w, m.message_id, &self, &c) < 0)
		goto out;
	qsort(c.v, c.n, sizeof(c.v[0]), u64_cmp);
	if (c.n) {
		sid = c.v[0];
		if ((rc = series_load(w, sid, &r)) != 0) {
			if (rc > 0)
				kv_err_set(w->err, "series %llu vanished", (unsigned long long)sid);
			goto out;
		}
		for (i = 1; i < c.n; i++)
			if (series_merge(w, &r, c.v[i]) < 0)
				goto out;
	} else {
		r.id = sid = w->next_series++;
		r.author = srec_str(&r, m.from_addr);
		r.project = srec_str(&r, si.project);
	}
	r.v = kv_xrealloc(r.v, sizeof(*r.v) * (r.n + 1));
	r.v[r.n].thread = t->id;
	r.v[r.n].version = si.version;
	r.v[r.n].date = t->f.first;
	r.v[r.n].mid = srec_str(&r, m.message_id);
	r.v[r.n].subject = srec_str(&r, m.subject);
	r.n++;
	if (!r.title || (uint32_t)si.version >= r.maxver) {
		r.title = srec_str(&r, si.title);
		r.maxver = (uint32_t)si.version;
	}
	for (i = 0; i < nro; i++) {
		size_t k = 0;
		while (k < i && ro[k] != ro[i])
			k++;
		if (k == i && series_add_reply_only(w, &r, ro[i]) < 0)
			goto out;
	}
	if (series_save(w, &r) < 0)
		goto out;
	if (series_key_put(w, tkey.buf, tkey.len, sid) < 0)
		goto out;
	if (ck.len && series_key_put(w, ck.buf, ck.len, sid) < 0)
		goto out;
	/* links to roots not stored yet: the target decides when it comes */
	for (i = 0; i < bi.links.n; i++)
		if ((kinds[i] == SERIES_LINK_VERSION || kinds[i] == SERIES_LINK_PLAIN) &&
		    series_vkey_put(w, bi.links.v[i], m.message_id, kinds[i], vmasks[i], &self, sid) < 0)
			goto out;
	t->f.series = sid;
	ret = 0;
out:
	free(ro);
	free(kinds);
	free(vmasks);
	free(mown);
	free(owned);
	body_info_release(&bi);
	srec_release(&r);
	sbuf_release(&tkey);
	sbuf_release(&ck);
	return ret;
}
