/*
 * mbox.h - reading mail sources into raw messages, and writing mboxrd.
 * Pure I/O: no parsing beyond finding message boundaries, no gmime, no
 * LMDB. `kvmarm-store import` and `export` are its users.
 *
 * A source is a path or "-" (stdin):
 *  - an mbox (first line "From "), mboxrd or mboxo, plain or gzip (the
 *    gzip magic 1f 8b is recognised on any input, stdin too; the stream is
 *    decompressed as it is read, never loaded whole);
 *  - a maildir (a directory holding cur/ or new/): the files of new/ then
 *    cur/, in name order, then every folder below it, in name order:
 *    Maildir++ ".Name" folders and nested maildirs or directories (mail
 *    programs' own state, such as .notmuch or dovecot files, is passed
 *    over);
 *  - any other directory: its files and subdirectories, recursively, in
 *    name order (names starting with '.' are left out);
 *  - any other file: one message.
 *
 * Boundaries in an mbox: a line "From " starts a message when it is the
 * first line of the input or follows an empty line, and it looks like a
 * From_ line (a sender, then a time hh:mm and a four-digit year). So an
 * unescaped "From here on..." in a body does not split a message. The empty
 * line before the next From_ line (or the end of input) is the separator,
 * not part of the message. ">From " unescaping: mboxrd strips one '>' from
 * every line matching /^>+From /; mboxo only from /^>From /.
 *
 * Truncation: when the input ends inside the last message (no final
 * newline, or a gzip stream cut short), the message is still returned with
 * truncated = 1 and the caller decides (the CLI imports it when its header
 * block is complete and says so, and skips it otherwise).
 */
#ifndef KV_MBOX_H
#define KV_MBOX_H

#include <stddef.h>
#include <stdint.h>
#include "kv.h"

enum mbox_format {
	MBOX_MBOXRD = 0,   /* default: /^>+From / loses one '>' */
	MBOX_MBOXO,        /* only /^>From / loses its '>' */
};

/* Parse "mboxrd" / "mboxo"; -1 when unknown. */
int mbox_format_parse(const char *name, enum mbox_format *fmt);

struct mbox_msg {
	char *data;          /* message bytes (malloc'd, caller frees; NULL for a skip) */
	size_t len;
	int64_t arrival;     /* From_ line date or file mtime; 0 when unknown */
	char *file;          /* file it came from, "-" for stdin (malloc'd) */
	uint64_t index;      /* 1-based number of the message in an mbox; 0 for a file */
	uint64_t line;       /* line of its From_ line in the (decompressed) mbox; 0 for a file */
	int truncated;       /* input ended inside this message */
	int header_complete; /* an empty line ends the header block */
	char *skip;          /* not a message: why (malloc'd); data is NULL */
};

/* Free what m owns and zero it. */
void mbox_msg_release(struct mbox_msg *m);

struct mbox_reader;

/* Open path (or "-"). -1 with err naming path when it cannot be read. */
int mbox_open(struct mbox_reader **rp, const char *path, enum mbox_format fmt, struct kv_err *err);
/*
 * Next message or skip note into *m (release it after use). Returns 1 when
 * m was filled, 0 at the end of all input. A file that cannot be read, a
 * non-mail file, an empty file or a read error comes back as a skip (m->skip
 * set) and reading goes on with the next file.
 */
int mbox_next(struct mbox_reader *r, struct mbox_msg *m);
/* Bytes read so far from the (compressed) inputs, and the total size of
 * regular files known at open (0 for pipes), for progress. */
void mbox_progress(const struct mbox_reader *r, uint64_t *done, uint64_t *total);
void mbox_close(struct mbox_reader *r);
/* Messages of more than max bytes (0: no limit) come back as skip notes
 * ("too big: ..."); their bytes are read and dropped, never held, and a
 * line is never held whole either, so reading stays within about max
 * plus a few MB of memory whatever the input. */
void mbox_set_max_size(struct mbox_reader *r, uint64_t max);

/* Does line[0..len) (no newline needed) look like a From_ line? 1 / 0.
 * *date gets its date as UTC seconds, or 0 when it has none that parses
 * (or the epoch, as public-inbox writes). */
int mbox_is_from_line(const char *line, size_t len, int64_t *date);

/* Does data start like a mail header ("Name:" with a printable name)? */
int mbox_looks_like_mail(const char *data, size_t len);

/*
 * Append one message as mboxrd to out: a From_ line ("From ADDR DATE",
 * ADDR "MAILER-DAEMON" when from is NULL or empty, DATE asctime in UTC),
 * the bytes with every /^>*From / line given one more '>', a newline if the
 * message does not end with one, and the empty separator line. Reading it
 * back with MBOX_MBOXRD gives the same bytes (for messages that end with a
 * newline).
 */
void mbox_write_mboxrd(struct sbuf *out, const char *raw, size_t len, const char *from, int64_t date);

#endif
