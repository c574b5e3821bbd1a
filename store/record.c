/*
 * record.c - how the store keeps things: the record formats of messages,
 * threads and series, the key encodings (Message-ID keys, meta numbers),
 * and the two append-only data files the message records and bytes live in.
 * Every decoder reads through one bounds-checked byte reader (struct
 * rec_in), so a short or unterminated record is caught in one place.
 *
 * rec.dat: append-only, the records (fixed fields, then NUL-terminated
 * strings, so a struct msg_rec points straight into the mapped file), in
 * number order: a week's records are a few contiguous pages.
 * raw.dat: append-only, each added message's raw bytes, a NUL, then (unless
 * the body text is the tail of the raw bytes, as for a plain-text mail) the
 * text and a NUL. The record holds the offsets.
 * For both files meta holds the committed length ("blob_end", "rec_end").
 * A writer (holding LMDB's write lock) writes past it, syncs, then commits
 * the LMDB transaction that references the bytes: an aborted batch leaves
 * an unreferenced tail the next writer overwrites. Keeping records and
 * bytes out of the B-trees keeps the indexes dense in the map, so a query
 * touches few pages (a page fault costs tens of microseconds on the
 * virtual machines this runs on), and no page is half wasted on an
 * overflow chain.
 *
 * Thread records (database "thread") and series records ("series") are
 * LMDB values in the same style: fixed fields, then strings.
 */
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <zlib.h>
#include "banned.h"

const struct blob_file blob_files[F_COUNT] = {
	[F_RAW] = { "raw.dat", "blob_end" },
	[F_REC] = { "rec.dat", "rec_end" },
};

/* ---- the byte reader every decoder reads through ---- */

/*
 * A stored value read front to back: fixed-size fields, then runs of
 * NUL-terminated strings. Every read checks the bounds; the first read past
 * the end marks the reader bad and returns zeroes / NULL, so a decoder reads
 * all its fields and asks once at the end whether the value was whole.
 */
struct rec_in {
	const char *p, *end;
	int bad;
};

static void in_init(struct rec_in *in, const void *p, size_t n)
{
	in->p = p;
	in->end = in->p + n;
	in->bad = 0;
}

/* n bytes copied into out (zeroes when short). */
static void in_bytes(struct rec_in *in, void *out, size_t n)
{
	if (in->bad || (size_t)(in->end - in->p) < n) {
		in->bad = 1;
		memset(out, 0, n);
		return;
	}
	memcpy(out, in->p, n);
	in->p += n;
}

static uint64_t in_be64(struct rec_in *in)
{
	unsigned char b[8];

	in_bytes(in, b, 8);
	return db_get_be64(b);
}

/* The start of n NUL-terminated strings, which are skipped; NULL when the
 * value ends inside them. n == 0 gives the current position. */
static const char *in_strs(struct rec_in *in, uint32_t n)
{
	const char *start = in->p;

	for (uint32_t i = 0; i < n && !in->bad; i++) {
		const char *z = memchr(in->p, 0, (size_t)(in->end - in->p));
		if (!z)
			in->bad = 1;
		else
			in->p = z + 1;
	}
	return in->bad ? NULL : start;
}

static const char *in_str(struct rec_in *in)
{
	return in_strs(in, 1);
}

static size_t in_left(const struct rec_in *in)
{
	return in->bad ? 0 : (size_t)(in->end - in->p);
}

/* ---- keys ---- */

void idkey_make(struct idkey *k, const char *id)
{
	size_t n = strlen(id);

	if (n <= IDKEY_MAX && n > 0 && id[0] != '#') {
		memcpy(k->b, id, n);
		k->n = n;
		return;
	}
	{
		char h[KV_SHA256_HEX_LEN];
		kv_sha256_hex(id, n, h);
		k->n = (size_t)snprintf(k->b, sizeof(k->b), "#%s", h);
	}
}

int meta_get_u64(struct db_txn *t, struct store *s, const char *name, uint64_t *out,
		 struct kv_err *err)
{
	struct db_val v;
	int rc = db_get(t, s->d[D_META], name, strlen(name), &v, err);

	if (rc < 0)
		return -1;
	*out = 0;
	if (rc == 0 && v.n == 8)
		*out = db_get_be64(v.p);
	return 0;
}

int schema_get(struct db_txn *t, struct store *s, struct kv_err *err)
{
	struct db_val v;
	int rc = db_get(t, s->d[D_META], "schema_version", 14, &v, err);

	if (rc < 0)
		return -1;
	if (rc == 1 || v.n != 1 || ((const char *)v.p)[0] < '1' || ((const char *)v.p)[0] > '0' + STORE_SCHEMA_PAIRS)
		return 0;
	return ((const char *)v.p)[0] - '0';
}

int schema_put(struct db_txn *t, struct store *s, int version, struct kv_err *err)
{
	char v = (char)('0' + version);
	return db_put(t, s->d[D_META], "schema_version", 14, &v, 1, 0, err);
}

int meta_put_u64(struct db_txn *t, struct store *s, const char *name, uint64_t x,
		 struct kv_err *err)
{
	unsigned char b[8];
	db_be64(b, x);
	return db_put(t, s->d[D_META], name, strlen(name), b, 8, 0, err);
}

/* ---- message records ---- */

static void put_str(struct sbuf *sb, const char *s)
{
	sbuf_add(sb, s ? s : "", s ? strlen(s) + 1 : 1);
}

void msg_encode(const struct mail *m, size_t raw_len, struct sbuf *sb)
{
	struct msg_fixed f;
	size_t i;

	memset(&f, 0, sizeof(f));
	f.date = m->date;
	f.raw_len = raw_len;
	f.text_len = m->text_len;
	f.tz = m->tz_offset;
	f.flags = m->flags;
	f.nrefs = (uint32_t)m->refs.n;
	f.nto = (uint32_t)m->to.n;
	f.ncc = (uint32_t)m->cc.n;
	f.natts = (uint32_t)m->natts;
	sbuf_add(sb, &f, sizeof(f));
	put_str(sb, m->message_id);
	put_str(sb, m->in_reply_to);
	put_str(sb, m->from_name);
	put_str(sb, m->from_addr);
	put_str(sb, m->subject);
	put_str(sb, m->list_id);
	for (i = 0; i < m->refs.n; i++)
		put_str(sb, m->refs.v[i]);
	for (i = 0; i < m->to.n; i++)
		put_str(sb, m->to.v[i]);
	for (i = 0; i < m->cc.n; i++)
		put_str(sb, m->cc.v[i]);
	for (i = 0; i < m->natts; i++)
		sbuf_addf(sb, "%s\t%s\t%zu%c", m->atts[i].filename ? m->atts[i].filename : "",
			  m->atts[i].content_type ? m->atts[i].content_type : "",
			  m->atts[i].size, 0);
}

int msg_decode(const struct db_val *v, uint64_t num, struct msg_rec *m)
{
	struct msg_fixed f;
	struct rec_in in;

	memset(m, 0, sizeof(*m));
	if (v->n < sizeof(f))
		return -1;
	in_init(&in, v->p, v->n);
	in_bytes(&in, &f, sizeof(f));
	m->num = num;
	m->date = f.date;
	m->tz_offset = f.tz;
	m->flags = f.flags;
	m->raw_len = f.raw_len;
	m->text_len = f.text_len;
	m->message_id = in_str(&in);
	m->in_reply_to = in_str(&in);
	m->from_name = in_str(&in);
	m->from_addr = in_str(&in);
	m->subject = in_str(&in);
	m->list_id = in_str(&in);
	m->refs.n = f.nrefs;
	m->refs.p = in_strs(&in, f.nrefs);
	m->to.n = f.nto;
	m->to.p = in_strs(&in, f.nto);
	m->cc.n = f.ncc;
	m->cc.p = in_strs(&in, f.ncc);
	m->atts.n = f.natts;
	m->atts.p = in_strs(&in, f.natts);
	return in.bad ? -1 : 0;
}

/* Where the body starts: after the first empty line. */
static size_t body_offset(const char *raw, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (raw[i] != '\n')
			continue;
		if (raw[i + 1] == '\n')
			return i + 2;
		if (raw[i + 1] == '\r' && i + 2 < len && raw[i + 2] == '\n')
			return i + 3;
	}
	return len;
}

void msg_ident(const char *id, unsigned flags, const char *raw, size_t len,
	       unsigned char out[KV_SHA256_LEN])
{
	struct kv_sha256 c;
	size_t off = body_offset(raw, len), start = off;

	kv_sha256_init(&c);
	/* a backfilled copy is another identity than the delivered mail, so
	 * a late delivery after a backfill is stored and counted, not taken
	 * for a duplicate of the uncounted copy (a NUL can never start an id) */
	if (flags & MAIL_BACKFILLED)
		kv_sha256_update(&c, "\0backfilled", 11);
	kv_sha256_update(&c, id, strlen(id) + 1);
	/* CRLF hashes as LF; memchr finds the CRs (no byte loop over a
	 * large body) */
	for (size_t i = off; i + 1 < len;) {
		const char *cr = memchr(raw + i, '\r', len - 1 - i);
		if (!cr)
			break;
		i = (size_t)(cr - raw);
		if (raw[i + 1] == '\n') {
			kv_sha256_update(&c, raw + start, i - start);
			start = i + 1;
		}
		i++;
	}
	kv_sha256_update(&c, raw + start, len - start);
	kv_sha256_final(&c, out);
}

int rec_view(struct store *s, const struct blobmap *map, uint64_t num, const struct db_val *ix,
	     struct db_val *rv, char **owned, struct kv_err *err)
{
	const char *p;
	uint64_t off, len;

	*owned = NULL;
	if (ix->n != MSGIDX_OLD && ix->n != MSGIDX_LEN)
		return kv_err_set(err, "message %llu: malformed index entry", (unsigned long long)num);
	off = db_get_be64(ix->p);
	len = db_get_be64((const char *)ix->p + 8);
	if (len < sizeof(struct msg_fixed))
		return kv_err_set(err, "message %llu: record of %llu bytes", (unsigned long long)num,
				  (unsigned long long)len);
	if (blob_bytes(s, F_REC, map, off, len, &p, owned, err) < 0)
		return -1;
	rv->p = p;
	rv->n = len;
	return 0;
}

int rec_get(struct db_txn *t, struct store *s, const struct blobmap *map, uint64_t num,
	    struct db_val *rv, char **owned, struct kv_err *err)
{
	unsigned char k[8];
	struct db_val v;
	int rc;

	*owned = NULL;
	db_be64(k, num);
	rc = db_get(t, s->d[D_MSG], k, 8, &v, err);
	if (rc != 0)
		return rc;
	return rec_view(s, map, num, &v, rv, owned, err);
}

int msg_load(struct db_txn *t, struct store *s, const struct blobmap *map, uint64_t num,
	     struct msg_rec *m, char **owned, struct kv_err *err)
{
	unsigned char k[8];
	struct db_val v;
	int rc = rec_get(t, s, map, num, &v, owned, err);

	if (rc != 0)
		return rc;
	if (msg_decode(&v, num, m) < 0) {
		free(*owned);
		*owned = NULL;
		return kv_err_set(err, "message %llu: malformed record", (unsigned long long)num);
	}
	db_be64(k, num);
	rc = db_get(t, s->d[D_MTHR], k, 8, &v, err);
	if (rc < 0) {
		free(*owned);
		*owned = NULL;
		return -1;
	}
	m->thread = (rc == 0 && v.n == 8) ? db_get_be64(v.p) : 0;
	return 0;
}

int msg_offsets(struct db_txn *t, struct store *s, const struct blobmap *recmap, uint64_t num,
		struct msg_fixed *f, struct kv_err *err)
{
	struct db_val v;
	char *owned;
	int rc = rec_get(t, s, recmap, num, &v, &owned, err);

	if (rc != 0)
		return rc;
	memcpy(f, v.p, sizeof(*f));
	free(owned);
	return 0;
}

int text_load(struct db_txn *t, struct store *s, const struct blobmap *recmap,
	      const struct blobmap *rawmap, uint64_t num, const char **text, size_t *len,
	      char **owned, struct kv_err *err)
{
	struct msg_fixed f;
	int rc = msg_offsets(t, s, recmap, num, &f, err);

	*owned = NULL;
	if (rc != 0)
		return rc;
	if (blob_bytes(s, F_RAW, rawmap, f.text_off, f.text_len, text, owned, err) < 0)
		return -1;
	*len = f.text_len;
	return 0;
}

uint32_t store_crc(const void *p, size_t n)
{
	uLong c = crc32(0L, Z_NULL, 0);
	const Bytef *b = p;

	while (n > 0) {
		/* zlib takes an unsigned int length */
		uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
		c = crc32(c, b, k);
		b += k;
		n -= k;
	}
	return (uint32_t)c;
}

int msgidx_sums(const struct db_val *v, uint32_t sums[SUM_COUNT])
{
	const unsigned char *p = (const unsigned char *)v->p + MSGIDX_OLD;

	if (v->n != MSGIDX_LEN)
		return 0;
	for (int i = 0; i < SUM_COUNT; i++, p += 4)
		sums[i] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return 1;
}

/* ---- the data files ---- */

int blob_bytes(struct store *s, int f, const struct blobmap *map, uint64_t off, uint64_t len,
	       const char **p, char **owned, struct kv_err *err)
{
	*owned = NULL;
	if (map) {
		if (off > map->len || len > map->len - off)
			return kv_err_set(err, "%s/%s: bytes %llu..%llu lie past the committed end %llu",
					  s->dir, blob_files[f].name, (unsigned long long)off,
					  (unsigned long long)(off + len), (unsigned long long)map->len);
		*p = map->p + off;
		return 0;
	}
	*owned = kv_xmalloc(len + 1);
	if (blob_read(s, f, off, len, *owned, err) < 0) {
		free(*owned);
		*owned = NULL;
		return -1;
	}
	(*owned)[len] = 0;
	*p = *owned;
	return 0;
}

int blob_read(struct store *s, int f, uint64_t off, uint64_t len, char *dst, struct kv_err *err)
{
	if (s->fd[f] < 0)
		return kv_err_set(err, "%s/%s: missing", s->dir, blob_files[f].name);
	for (uint64_t got = 0; got < len;) {
		ssize_t n = pread(s->fd[f], dst + got, len - got, (off_t)(off + got));
		if (n <= 0)
			return kv_err_set(err, "%s/%s: cannot read %llu bytes at %llu: %s", s->dir,
					  blob_files[f].name, (unsigned long long)len, (unsigned long long)off,
					  n < 0 ? strerror(errno) : "file too short");
		got += (uint64_t)n;
	}
	return 0;
}

int blob_map(struct store *s, int f, struct db_txn *t, struct blobmap *map, struct kv_err *err)
{
	struct stat st;
	void *p;

	map->p = "";
	map->len = 0;
	if (meta_get_u64(t, s, blob_files[f].endkey, &map->len, err) < 0)
		return -1;
	if (map->len == 0)
		return 0;
	if (s->fd[f] < 0 || fstat(s->fd[f], &st) < 0 || (uint64_t)st.st_size < map->len) {
		uint64_t want = map->len;
		map->len = 0;
		return kv_err_set(err, "%s/%s: missing or shorter than the %llu committed bytes",
				  s->dir, blob_files[f].name, (unsigned long long)want);
	}
	p = mmap(NULL, map->len, PROT_READ, MAP_SHARED, s->fd[f], 0);
	if (p == MAP_FAILED) {
		map->len = 0;
		return kv_err_set(err, "%s/%s: mmap: %s", s->dir, blob_files[f].name, strerror(errno));
	}
	map->p = p;
	return 0;
}

void blob_unmap(struct blobmap *map)
{
	if (map->len)
		munmap((void *)map->p, map->len);
	map->p = "";
	map->len = 0;
}

int blob_write(struct store *s, int f, struct iovec *iov, int n, uint64_t off,
	       struct kv_err *err)
{
	while (n > 0) {
		ssize_t w = pwritev(s->fd[f], iov, n, (off_t)off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return kv_err_set(err, "%s/%s: write at %llu: %s", s->dir, blob_files[f].name,
					  (unsigned long long)off, strerror(errno));
		}
		off += (uint64_t)w;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* ---- thread records ---- */

int thr_decode(const struct db_val *v, uint64_t id, struct thread_rec *t, struct thr_fixed *fx)
{
	struct thr_fixed f;
	struct rec_in in;
	const char *subject, *mid;

	in_init(&in, v->p, v->n);
	in_bytes(&in, &f, sizeof(f));
	subject = in_str(&in);
	mid = in_str(&in);
	if (in.bad)
		return -1;
	if (t) {
		memset(t, 0, sizeof(*t));
		t->id = id;
		t->root = f.root;
		t->first_date = f.first;
		t->last_date = f.last;
		t->count = f.count;
		t->category = f.category;
		t->series = f.series;
		t->subject = subject;
		t->root_message_id = mid;
	}
	if (fx)
		*fx = f;
	return 0;
}

int trec_load(struct db_txn *tx, struct store *s, uint64_t id, struct trec *t,
	      struct kv_err *err)
{
	unsigned char k[8];
	struct db_val v;
	struct thread_rec tr;
	int rc;

	db_be64(k, id);
	rc = db_get(tx, s->d[D_THREAD], k, 8, &v, err);
	if (rc != 0)
		return rc;
	if (thr_decode(&v, id, &tr, &t->f) < 0)
		return kv_err_set(err, "thread %llu: malformed record", (unsigned long long)id);
	t->id = id;
	t->subject = kv_xstrdup(tr.subject);
	t->root_mid = kv_xstrdup(tr.root_message_id);
	return 0;
}

int trec_save(struct wctx *w, const struct trec *t)
{
	struct db_txn *tx = w->t;
	struct store *s = w->s;
	struct kv_err *err = w->err;
	size_t sl = strlen(t->subject ? t->subject : "") + 1;
	size_t ml = strlen(t->root_mid ? t->root_mid : "") + 1;
	unsigned char k[8];
	char *out;
	void *p;

	db_be64(k, t->id);
	if (db_reserve(tx, s->d[D_THREAD], k, 8, sizeof(t->f) + sl + ml, &p, err) != 0)
		return -1;
	tcol_touch(w, t->id);
	out = p;
	memcpy(out, &t->f, sizeof(t->f));
	memcpy(out + sizeof(t->f), t->subject ? t->subject : "", sl);
	memcpy(out + sizeof(t->f) + sl, t->root_mid ? t->root_mid : "", ml);
	return 0;
}

void trec_release(struct trec *t)
{
	free(t->subject);
	free(t->root_mid);
	t->subject = t->root_mid = NULL;
}

/* ---- series records ---- */

/* layout: u32 n, u32 maxver, title\0 author\0 project\0, then n times
 * { u64 thread (BE), i32 version, i64 date, message-id\0 subject\0 }
 * (the 32-bit and date fields in host order). */
#define SVER_MIN 22   /* the smallest version entry: fixed fields and two empty strings */

int srec_decode(const struct db_val *v, uint64_t id, struct srec *r, int copy)
{
	struct rec_in in;
	uint32_t n;

	memset(r, 0, sizeof(*r));
	if (copy) {
		r->buf = kv_xmalloc(v->n ? v->n : 1);
		memcpy(r->buf, v->p, v->n);
		in_init(&in, r->buf, v->n);
	} else {
		in_init(&in, v->p, v->n);
	}
	r->id = id;
	in_bytes(&in, &n, 4);
	in_bytes(&in, &r->maxver, 4);
	r->title = in_str(&in);
	r->author = in_str(&in);
	r->project = in_str(&in);
	/* a count the value cannot hold is a broken record, not an allocation */
	if (in.bad || n > in_left(&in) / SVER_MIN)
		return -1;
	r->v = kv_xcalloc(n ? n : 1, sizeof(*r->v));
	for (uint32_t i = 0; i < n; i++) {
		struct sver *e = &r->v[i];
		e->thread = in_be64(&in);
		in_bytes(&in, &e->version, 4);
		in_bytes(&in, &e->date, 8);
		e->mid = in_str(&in);
		e->subject = in_str(&in);
		if (in.bad)
			return -1;
		r->n++;
	}
	return 0;
}

void srec_encode(const struct srec *r, struct sbuf *sb)
{
	uint32_t n = (uint32_t)r->n;

	sbuf_add(sb, &n, 4);
	sbuf_add(sb, &r->maxver, 4);
	put_str(sb, r->title);
	put_str(sb, r->author);
	put_str(sb, r->project);
	for (size_t i = 0; i < r->n; i++) {
		unsigned char b[8];
		db_be64(b, r->v[i].thread);
		sbuf_add(sb, b, 8);
		sbuf_add(sb, &r->v[i].version, 4);
		sbuf_add(sb, &r->v[i].date, 8);
		put_str(sb, r->v[i].mid);
		put_str(sb, r->v[i].subject);
	}
}

void srec_release(struct srec *r)
{
	free(r->v);
	free(r->buf);
	strv_release(&r->own);
	memset(r, 0, sizeof(*r));
}

const char *srec_str(struct srec *r, const char *x)
{
	strv_push(&r->own, x);
	return r->own.v[r->own.n - 1];
}
