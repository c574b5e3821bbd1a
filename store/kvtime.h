/*
 * kvtime.h - time for every program, in one place: UTC instants (int64
 * seconds since the epoch) to and from broken-down time and ISO 8601 text,
 * IANA zones ("Asia/Shanghai", "UTC": offsets, local wall-clock time,
 * formatting), and ISO weeks ("2024-W10") as windows.
 *
 * Nothing here reads TZ or the process's local zone: every zone is named.
 * Zones are read from the system's TZif files by tzif.c (read-only once
 * loaded, so thread-safe). Loading a zone reads and parses its file, and a digest formats thousands
 * of time stamps, so a loaded zone is kept for the life of the process in
 * a small memo shared by all threads (under a mutex): every function here
 * may be called from any thread.
 */
#ifndef KV_KVTIME_H
#define KV_KVTIME_H

#include <stddef.h>
#include <stdint.h>

struct tm;
struct kv_err;

/* ---- UTC ---- */

/* struct tm (UTC fields; month overflow normalised) to seconds. */
int64_t kvtime_timegm(const struct tm *tm);
/* Seconds to broken-down UTC (reentrant; zeroed when out of range). */
void kvtime_gmtime(int64_t t, struct tm *tm);
/* "2021-01-25T02:46:42Z" into buf (>= 21 bytes). */
void kvtime_utc_iso(int64_t t, char *buf, size_t n);
/* "YYYY-MM-DD" (midnight UTC) or ISO 8601 with optional time, fractional
 * seconds and zone (Z, +hh:mm, +hhmm; UTC when none). 0 / -1. */
int kvtime_parse_iso(const char *s, int64_t *out);

/* ---- zones ---- */

/* The offset east of UTC in seconds of zone at instant t into *off. The
 * return is the status: 0, or -1 with err naming the zone when unknown. */
int kvtime_zone_offset(const char *zone, int64_t t, int *off, struct kv_err *err);
/* Local wall-clock time in zone -> UTC instant (first match on a DST
 * overlap). 0 / -1 with err. */
int kvtime_zone_to_utc(const char *zone, const struct tm *local, int64_t *out, struct kv_err *err);
/* Instant t formatted in zone with a strftime format into out ("" when it
 * does not fit). An unknown zone formats as UTC: callers validate the zone
 * once, up front (kvtime_zone_offset), not at every time stamp. */
void kvtime_format(int64_t t, const char *zone, const char *fmt, char *out, size_t n);

/* ---- local dates and ISO weeks ---- */

/* A command-line date: "YYYY-MM-DD" means local midnight in zone; ISO 8601
 * with a time is taken as written (UTC when no zone given). 0 / -1 with err
 * naming the text. */
int kvtime_parse_date(const char *s, const char *zone, int64_t *out, struct kv_err *err);
/* [since, until) of ISO week "YYYY-Www" in zone (Monday 00:00 to the next
 * Monday 00:00 local). 0 / -1 with err naming the text. */
int kvtime_week_window(const char *week, const char *zone, int64_t *since, int64_t *until,
		       struct kv_err *err);
/* The ISO week ("YYYY-Www") containing the local time of instant t in
 * zone, into out. 0 / -1 with err when the zone is unknown. */
int kvtime_week_of(int64_t t, const char *zone, char *out, size_t n, struct kv_err *err);

#endif
