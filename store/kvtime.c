/*
 * kvtime.c - implementation of kvtime.h: UTC arithmetic without the C
 * library's TZ machinery, zones from the TZif files (tzif.c, with the memo
 * described in kvtime.h), ISO weeks.
 */
#include "kvtime.h"
#include "kv.h"
#include "tzif.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <ctype.h>
#include <pthread.h>
#include "banned.h"

/* ---- UTC ---- */

/* Days from civil date, proleptic Gregorian (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int64_t kvtime_timegm(const struct tm *tm)
{
	int64_t y = (int64_t)tm->tm_year + 1900;
	int64_t mon = tm->tm_mon;
	/* normalise month overflow so mktime-like inputs work */
	y += mon / 12;
	mon %= 12;
	if (mon < 0) {
		mon += 12;
		y--;
	}
	int64_t days = days_from_civil(y, (unsigned)mon + 1, 1) + tm->tm_mday - 1;
	return days * 86400 + (int64_t)tm->tm_hour * 3600 + (int64_t)tm->tm_min * 60 + tm->tm_sec;
}

void kvtime_gmtime(int64_t t, struct tm *tm)
{
	time_t tt = (time_t)t;
	if (!gmtime_r(&tt, tm))
		memset(tm, 0, sizeof(*tm));
}

static char *put_digits(char *p, int v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + width;
}

void kvtime_utc_iso(int64_t t, char *buf, size_t n)
{
	struct tm tm;
	kvtime_gmtime(t, &tm);
	int y = tm.tm_year + 1900;
	if (n < 21 || y < 0 || y > 9999) {
		snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
		return;
	}
	/* the common case without snprintf: search prints one per line */
	char *p = put_digits(buf, y, 4);
	*p++ = '-';
	p = put_digits(p, tm.tm_mon + 1, 2);
	*p++ = '-';
	p = put_digits(p, tm.tm_mday, 2);
	*p++ = 'T';
	p = put_digits(p, tm.tm_hour, 2);
	*p++ = ':';
	p = put_digits(p, tm.tm_min, 2);
	*p++ = ':';
	p = put_digits(p, tm.tm_sec, 2);
	*p++ = 'Z';
	*p = 0;
}

static int parse_digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int kvtime_parse_iso(const char *s, int64_t *out)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, se = 0, off = 0;
	struct tm tm;

	if (parse_digits(&p, 4, &y) || *p++ != '-' || parse_digits(&p, 2, &mo) ||
	    *p++ != '-' || parse_digits(&p, 2, &d))
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (parse_digits(&p, 2, &h) || *p++ != ':' || parse_digits(&p, 2, &mi))
			return -1;
		if (*p == ':') {
			p++;
			if (parse_digits(&p, 2, &se))
				return -1;
			if (*p == '.' || *p == ',') {
				p++;
				if (!isdigit((unsigned char)*p))
					return -1;
				while (isdigit((unsigned char)*p))
					p++;
			}
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1, oh, om;
			if (parse_digits(&p, 2, &oh))
				return -1;
			if (*p == ':')
				p++;
			if (parse_digits(&p, 2, &om))
				return -1;
			if (oh > 23 || om > 59)
				return -1;
			off = sign * (oh * 3600 + om * 60);
		}
	}
	if (*p)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*out = kvtime_timegm(&tm) - off;
	return 0;
}

/* ---- zones ---- */

/*
 * The memo: zone name -> loaded zone, filled on first use and kept until
 * the process exits. A program uses one or two zones; when the table is
 * full a zone is loaded for each call (slower, still right). Lookups in a
 * zone are exact, so the memo never changes a result.
 */
#define ZONE_MEMO 16
static struct {
	char *name;
	struct tzif *tz;
} zone_memo[ZONE_MEMO];
static size_t zone_memo_n;
static pthread_mutex_t zone_memo_lock = PTHREAD_MUTEX_INITIALIZER;

/* The zone, or NULL with err set. *own is set when the caller frees it
 * (not memoised); a memoised zone lives until exit. */
static struct tzif *zone_get(const char *zone, int *own, struct kv_err *err)
{
	struct tzif *tz = NULL;
	*own = 0;
	pthread_mutex_lock(&zone_memo_lock);
	for (size_t i = 0; i < zone_memo_n && !tz; i++)
		if (strcmp(zone_memo[i].name, zone) == 0)
			tz = zone_memo[i].tz;
	pthread_mutex_unlock(&zone_memo_lock);
	if (tz)
		return tz;
	/* loaded outside the lock: it reads a file */
	tz = tzif_load(zone);
	if (!tz) {
		kv_err_set(err, "unknown time zone '%s' (want an IANA name such as Asia/Shanghai or UTC)", zone);
		return NULL;
	}
	pthread_mutex_lock(&zone_memo_lock);
	struct tzif *have = NULL;
	for (size_t i = 0; i < zone_memo_n && !have; i++)
		if (strcmp(zone_memo[i].name, zone) == 0)
			have = zone_memo[i].tz;
	if (!have && zone_memo_n < ZONE_MEMO) {
		zone_memo[zone_memo_n].name = kv_xstrdup(zone);
		zone_memo[zone_memo_n].tz = tz;
		zone_memo_n++;
		have = tz;
	}
	pthread_mutex_unlock(&zone_memo_lock);
	if (have == tz)
		return tz;
	if (have) {
		tzif_free(tz);
		return have;
	}
	*own = 1;
	return tz;
}

int kvtime_zone_offset(const char *zone, int64_t t, int *off, struct kv_err *err)
{
	int own;
	struct tzif *tz = zone_get(zone, &own, err);
	if (!tz)
		return -1;
	*off = tzif_offset(tz, t);
	if (own)
		tzif_free(tz);
	return 0;
}

int kvtime_zone_to_utc(const char *zone, const struct tm *local, int64_t *out, struct kv_err *err)
{
	int own;
	struct tzif *tz = zone_get(zone, &own, err);
	if (!tz)
		return -1;
	*out = tzif_to_utc(tz, kvtime_timegm(local));
	if (own)
		tzif_free(tz);
	return 0;
}

void kvtime_format(int64_t t, const char *zone, const char *fmt, char *out, size_t n)
{
	int off = 0;
	struct tm tm;
	if (kvtime_zone_offset(zone, t, &off, NULL) < 0)
		off = 0;
	kvtime_gmtime(t + off, &tm);
	if (!strftime(out, n, fmt, &tm) && n)
		out[0] = '\0';
}

/* ---- local dates and ISO weeks ---- */

static int64_t floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* Days since 1970-01-01 of a civil date (via kvtime_timegm, no TZ involved). */
static int64_t civil_days(int y, int m, int d)
{
	struct tm tm = { 0 };
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	return floordiv(kvtime_timegm(&tm), 86400);
}

/* ISO weekday 1 (Monday) .. 7 of a day number. */
static int iso_wday(int64_t days)
{
	int64_t w = (days + 3) % 7;   /* 1970-01-01 was a Thursday */
	if (w < 0)
		w += 7;
	return (int)w + 1;
}

static void iso_week_of_days(int64_t days, int *year, int *week)
{
	int64_t thu = days + (4 - iso_wday(days));
	struct tm tm;
	kvtime_gmtime(thu * 86400, &tm);
	*year = tm.tm_year + 1900;
	*week = tm.tm_yday / 7 + 1;
}

static int local_midnight_utc(int64_t days, const char *zone, int64_t *out, struct kv_err *err)
{
	struct tm tm;
	kvtime_gmtime(days * 86400, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	return kvtime_zone_to_utc(zone, &tm, out, err);
}

int kvtime_week_window(const char *week, const char *zone, int64_t *since, int64_t *until,
		       struct kv_err *err)
{
	int y, w, n = 0;
	if (!week || sscanf(week, "%4d-W%2d%n", &y, &w, &n) != 2 || n != 8 || week[n] != '\0' ||
	    w < 1 || w > 53)
		return kv_err_set(err, "bad week '%s': expected YYYY-Www, e.g. 2024-W10", week ? week : "");
	int64_t jan4 = civil_days(y, 1, 4);
	int64_t monday = jan4 - (iso_wday(jan4) - 1) + 7 * (int64_t)(w - 1);
	int cy, cw;
	iso_week_of_days(monday, &cy, &cw);
	if (cy != y || cw != w)
		return kv_err_set(err, "bad week '%s': year %d has no week %d", week, y, w);
	if (local_midnight_utc(monday, zone, since, err) < 0 ||
	    local_midnight_utc(monday + 7, zone, until, err) < 0)
		return -1;
	return 0;
}

int kvtime_week_of(int64_t t, const char *zone, char *out, size_t n, struct kv_err *err)
{
	int off, y, w;
	if (kvtime_zone_offset(zone, t, &off, err) < 0)
		return -1;
	iso_week_of_days(floordiv(t + off, 86400), &y, &w);
	snprintf(out, n, "%04d-W%02d", y, w);
	return 0;
}

int kvtime_parse_date(const char *s, const char *zone, int64_t *out, struct kv_err *err)
{
	int y, m, d, n = 0;
	if (s && sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) == 3 && n == 10 && s[10] == '\0') {
		if (m < 1 || m > 12 || d < 1 || d > 31)
			return kv_err_set(err, "bad date '%s'", s);
		return local_midnight_utc(civil_days(y, m, d), zone, out, err);
	}
	if (!s || kvtime_parse_iso(s, out) < 0)
		return kv_err_set(err, "bad date '%s': expected YYYY-MM-DD or ISO 8601", s ? s : "");
	return 0;
}
