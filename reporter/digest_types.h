/*
 * digest_types.h - the data model of one weekly digest: the structs that
 * digest.c fills from the store (with facts.c reading each thread's mails),
 * the summary step completes, and the renderers and delivery read. Types
 * only (and the names of the status bits), so that every step can include
 * it without depending on the others.
 *
 * Time: every instant is int64 UTC seconds; display happens in d->zone.
 * Strings: all owned by the digest (digest_release frees them), valid UTF-8,
 * as they came from the mail (never escaped here: escaping is the renderer's
 * job, and each renderer escapes for its own output format).
 */
#ifndef KV_DIGEST_TYPES_H
#define KV_DIGEST_TYPES_H

#include <stddef.h>
#include <stdint.h>
#include "kv.h"
#include "category.h"

/* Status facts found in a thread's mails (bit set). */
enum digest_status {
	DST_APPLIED        = 1u << 0,  /* applied, pushed, taken, picked up; a pull request pulled / merged (status.c) */
	DST_QUEUED         = 1u << 1,  /* queued, also a stable-queue notice */
	DST_NAK            = 1u << 2,  /* "NAK" line, an explicit rejection, a Nacked-by from its own sender */
	DST_CHANGES        = 1u << 3,  /* a reviewer objected to the design or asked for a rework */
	DST_NEW_VERSION    = 1u << 4,  /* the series has a newer version than this thread */
	DST_BUILD_FAILURE  = 1u << 5,  /* kernel test robot reported a build error */
	DST_SYZBOT         = 1u << 6,  /* a syzbot report */
};
#define DST_COUNT 7
/* "applied", "queued", "nak", "changes_requested", "new_version",
 * "build_failure", "syzbot" for bit number i (the JSON and CSS names). */
static inline const char *digest_status_name(unsigned bit)
{
	static const char *const names[DST_COUNT] = {
		"applied", "queued", "nak", "changes_requested", "new_version",
		"build_failure", "syzbot",
	};
	if (bit >= DST_COUNT)
		kv_panic("digest_status_name: bit %u out of range", bit);
	return names[bit];
}

/* Review tags given in replies that count: not quoted, and the trailer's
 * address is the From address of the mail carrying it, or its name is the
 * sender's display name (then the tag is listed in other_addr too). Names
 * are "Name <addr>" of the sender, or the address. */
struct digest_review {
	struct strv reviewed, acked, tested;
	/* "Acked-by: Name <sender addr>" for each tag above whose trailer
	 * carried another address than the sender's ("from another address") */
	struct strv other_addr;
};

struct digest_mail {
	int number;              /* 1-based position in the thread's mail list */
	uint64_t num;            /* store message number */
	int64_t date;            /* UTC */
	unsigned flags;          /* enum mail_flag bits (parse warnings) */
	char *message_id;        /* without <> */
	char *subject;           /* clean, one line */
	char *from_name;         /* decoded; may be "" */
	char *from_addr;
	int is_patch;            /* a patch mail (not a reply) */
	int patch_index;         /* N of N/M, -1 when none (0 = cover letter) */
};

/* One patch of the thread (every non-reply patch mail, in or before the
 * window), with its review line. Tags on the cover letter (index 0) count
 * for every patch. */
struct digest_patch {
	int index, total;        /* -1 when the subject has no N/M */
	int64_t date;
	char *message_id;
	char *subject;
	int mail_number;         /* its number in the window list, 0 when before the window */
	struct digest_review review;
	/* tags in the patch's own trailers, carried from earlier versions:
	 * "Reviewed-by: Name <addr>", in trailer order, unique */
	struct strv carried;
};

/* A status fact with where it came from. */
struct digest_event {
	unsigned status;         /* one enum digest_status bit */
	int64_t date;            /* of the mail that carries it (0 for DST_NEW_VERSION) */
	char *who;               /* "Name <addr>" of that mail's sender, or "" */
	char *detail;            /* full commit ids, newer version "v3", ... or "" */
	char *branch;            /* target branch the mail names ("kvmarm-master/fixes"), or "" */
	int *patches;            /* "(subset)": the patch indexes taken; NULL = the whole thread */
	size_t npatches;
	int mail_number;         /* in the window list, 0 when outside the window */
};

struct digest_version {
	int version;
	int64_t date;            /* first date of that version's thread */
	uint64_t thread;
	char *message_id;        /* its root */
	char *subject;
};

/* A summary in three parts (plain text, never markup; "[n]" cites mail n
 * of the thread's list). */
struct digest_summary {
	char *about;             /* what the thread is about */
	char *before;            /* what happened before the window */
	char *week;              /* what happened in the window */
	int from_llm;            /* 1: model output; 0: extractive */
	int llm_failed;          /* 1: the LLM was asked and failed, extractive used */
	char *llm_error;         /* why, when llm_failed: one word of LLM_REASONS */
};

struct digest_thread {
	uint64_t id;
	char *subject;           /* the root's clean subject (also when the root predates the window) */
	enum category category;
	uint64_t root;           /* the root's store message number */
	char *root_message_id;
	char *root_from;         /* "Name <addr>" of the root's sender */
	char *root_addr;
	int64_t first_date;      /* thread start (whole thread) */
	int64_t last_date;
	uint32_t total_count;    /* stored members of the whole thread */
	int root_in_window;      /* 0: the thread started before the window */
	size_t nmails;           /* mails in the window, sorted by date */
	struct digest_mail *mails;
	struct strv participants;/* distinct senders in the window, "Name <addr>" */
	/* series */
	uint64_t series;         /* 0 when not a series version */
	int version;             /* this thread's version (1 when none) */
	int supersedes;          /* the version this one replaces, 0 when none */
	size_t nversions;        /* every version of the series, ascending */
	struct digest_version *versions;
	struct strv depends_on;
	struct strv addressed;   /* the root's To and Cc addresses, lower case (R10 roles) */  /* Message-IDs the root says it is based on / depends on */
	/* facts */
	size_t npatches;
	struct digest_patch *patches;   /* by index, then date */
	unsigned status;         /* enum digest_status bits (whole thread) */
	size_t nevents;
	struct digest_event *events;    /* by date */
	struct strv commits;     /* commit ids from "applied" replies */
	struct strv week_tags;   /* tags given in the window: "Reviewed-by: Name <addr> (2/5)" */
	int diff_files, diff_ins, diff_del;  /* diffstat totals of the root/cover, -1 when none */
	char *root_prose;        /* first paragraphs of the root's own prose, or "" */
	uint32_t others_mails;   /* members (whole thread) from someone other than the root's sender */
	uint32_t earlier_mails;  /* members dated before the window */
	struct strv earlier_people;     /* their distinct senders */
	char *last_summary;      /* remembered summary from an earlier run, or NULL */
	char *facts;             /* plain-text fact lines (series, tags, status) for the LLM */
	struct digest_summary summary;
};

/* Who must act on a thread (digest_finish decides; the rules are written
 * there). d->attention holds them in this order. */
enum digest_attention_kind {
	ATT_READY,               /* every patch has a review tag, nothing open: a maintainer may merge */
	ATT_AUTHOR,              /* changes requested or NAKed, no newer version: the author */
	ATT_NO_REPLY,            /* a patch series nobody has answered yet: the reviewers */
	ATT_UNANSWERED,          /* a question without an answer */
};
#define ATT_COUNT 4
struct digest_attention {
	enum digest_attention_kind kind;
	size_t thread;           /* index into d->threads */
};

struct digest {
	char *zone;              /* IANA zone of windows and display */
	char *lang;              /* "zh" or "en" */
	char *week;              /* "2024-W10" when built for an ISO week, else NULL */
	char *lore_url;          /* e.g. "https://lore.kernel.org/kvmarm/" (ends in '/') */
	int64_t since, until;    /* window [since, until), UTC */
	int64_t generated;       /* generation time (KVMARM_NOW in tests) */
	int large_threshold;     /* a thread is large when it has more window mails */
	int review_wait_days;    /* unanswered this many days at until: waits on reviewers */
	/* totals, window mails only */
	size_t total_mails;
	size_t large_threads;
	size_t cat_threads[CAT_COUNT], cat_mails[CAT_COUNT];
	/* threads: grouped by category (enum order), within a category by
	 * window mails descending, then first date, then id */
	size_t nthreads;
	struct digest_thread *threads;
	size_t nattention;
	struct digest_attention *attention;
	/* health */
	size_t health_recorded;  /* mails the store holds dated in the window */
	size_t health_flagged;   /* of those, mails with parse warnings */
	uint64_t store_messages; /* whole store */
};

struct digest_opts {
	const char *zone;
	const char *lang;
	const char *week;        /* may be NULL */
	const char *lore_url;
	int64_t since, until, generated;
	int large_threshold;
	int review_wait_days;    /* [reporter] review_wait_days */
};

#endif
