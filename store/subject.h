/*
 * subject.h - patch-subject parsing.
 *
 * "Re: [RFC PATCH kvmtool v2 3/7] arm64: fix foo" ->
 *   reply, rfc, patch, project "kvmtool", version 2, index 3, total 7,
 *   title "arm64: fix foo".
 */
#ifndef KV_SUBJECT_H
#define KV_SUBJECT_H

#include <stddef.h>

#define SUBJ_MAX 1024

struct subject_info {
	int reply;       /* Re:/RE:/AW:/Fwd:/Fw:/SV:/Antw: prefixes were present */
	int forward;     /* among them a Fwd:/Fw: */
	int patch;       /* PATCH tag */
	int rfc;
	int resend;
	int pull;        /* GIT PULL */
	int syzbot;
	int version;     /* 1 when no vN */
	int index;       /* N of N/M, -1 when none */
	int total;       /* M of N/M, -1 when none */
	char project[64];     /* "kvmtool", "kvm-unit-tests", "6.1.y", ... or "" */
	char tags[256];       /* the bracket tags as written, space-joined: "RFC PATCH v2 3/7" */
	char title[SUBJ_MAX]; /* subject without prefixes and bracket groups */
};

/* Parse subject (UTF-8, already decoded). Never fails. */
void subject_parse(const char *subject, struct subject_info *si);

/* Normalised title for series matching: lowercased, white space collapsed,
 * trailing punctuation dropped. Into out (size n). */
void subject_norm_title(const char *title, char *out, size_t n);

#endif
