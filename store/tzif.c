/*
 * tzif.c - time zones from TZif files (tzif.h): the version 2+ 64-bit
 * transitions, then transitions made from the footer's POSIX TZ rule for
 * every year after the last one up to MAX_YEAR, all in one sorted list, so
 * a lookup is one binary search. Lookups follow GTimeZone's (the library
 * this replaced) to the second, including its choices: before the first
 * transition the first standard-time type applies, and a local time is
 * placed as g_time_zone_adjust_time(G_TIME_TYPE_STANDARD) places it.
 */
#include "tzif.h"
#include "kv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "banned.h"

#define MAX_YEAR 2998   /* GTimeZone's last year of rule transitions */

struct tz_type {
	int32_t off;
	int isdst;
};

struct tzif {
	int64_t *t;              /* transition instants, ascending */
	unsigned char *ty;       /* the type from each transition on */
	size_t n;
	struct tz_type *types;
	size_t ntypes;
	int first;               /* the type before the first transition */
};

/* ---- the footer's POSIX TZ rule ---- */

struct rule_date {
	char kind;               /* 'J' (1..365, no Feb 29), 'D' (0..365), 'M' */
	int a, b, c;             /* n, or month, week, weekday */
	int32_t time;            /* seconds after local midnight */
};

struct posix_tz {
	int32_t std, dst;        /* offsets east of UTC */
	int has_dst;
	struct rule_date start, end;
};

static const char *parse_name(const char *p)
{
	if (*p == '<') {
		const char *e = strchr(p, '>');
		return e ? e + 1 : NULL;
	}
	const char *s = p;
	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
		p++;
	return p - s >= 3 ? p : NULL;
}

static int parse_num(const char **pp, int max, int *out)
{
	const char *p = *pp;
	int v = 0;
	if (*p < '0' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (*p++ - '0');
		if (v > max)
			return -1;
	}
	*out = v;
	*pp = p;
	return 0;
}

/* [+-]hh[:mm[:ss]] into seconds */
static const char *parse_hms(const char *p, int maxh, int32_t *out)
{
	int sign = 1, h = 0, m = 0, s = 0;
	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if (parse_num(&p, maxh, &h) < 0)
		return NULL;
	if (*p == ':') {
		p++;
		if (parse_num(&p, 59, &m) < 0)
			return NULL;
		if (*p == ':') {
			p++;
			if (parse_num(&p, 59, &s) < 0)
				return NULL;
		}
	}
	*out = sign * (h * 3600 + m * 60 + s);
	return p;
}

static const char *parse_date(const char *p, struct rule_date *d)
{
	d->time = 7200;
	if (*p == 'M') {
		p++;
		d->kind = 'M';
		if (parse_num(&p, 12, &d->a) < 0 || d->a < 1 || *p++ != '.' || parse_num(&p, 5, &d->b) < 0 ||
		    d->b < 1 || *p++ != '.' || parse_num(&p, 6, &d->c) < 0)
			return NULL;
	} else if (*p == 'J') {
		p++;
		d->kind = 'J';
		if (parse_num(&p, 365, &d->a) < 0 || d->a < 1)
			return NULL;
	} else {
		d->kind = 'D';
		if (parse_num(&p, 365, &d->a) < 0)
			return NULL;
	}
	if (*p == '/')
		p = parse_hms(p + 1, 167, &d->time);
	return p;
}

static int parse_posix(const char *s, struct posix_tz *tz)
{
	const char *p = parse_name(s);
	int32_t v;
	memset(tz, 0, sizeof(*tz));
	if (!p || !(p = parse_hms(p, 24, &v)))
		return -1;
	tz->std = -v;
	if (!*p)
		return 0;
	if (!(p = parse_name(p)))
		return -1;
	tz->has_dst = 1;
	tz->dst = tz->std + 3600;
	if (*p && *p != ',') {
		if (!(p = parse_hms(p, 24, &v)))
			return -1;
		tz->dst = -v;
	}
	if (*p != ',')
		return -1; /* no rule: POSIX leaves it to the implementation */
	if (!(p = parse_date(p + 1, &tz->start)) || *p != ',' || !(p = parse_date(p + 1, &tz->end)))
		return -1;
	return *p ? -1 : 0;
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* days since 1970-01-01 of y-m-d */
static int64_t days_of(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The local instant (seconds, as if UTC) of rule date d in year y. */
static int64_t rule_local(const struct rule_date *d, int64_t y)
{
	int64_t day;
	if (d->kind == 'J')
		day = days_of(y, 1, 1) + d->a - 1 + (is_leap(y) && d->a >= 60);
	else if (d->kind == 'D')
		day = days_of(y, 1, 1) + d->a;
	else {
		static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
		int64_t first = days_of(y, d->a, 1);
		int wd = (int)(((first + 4) % 7 + 7) % 7); /* 0 Sunday; 1970-01-01 was a Thursday */
		int md = 1 + (d->c - wd + 7) % 7 + (d->b - 1) * 7;
		int len = mdays[d->a - 1] + (d->a == 2 && is_leap(y));
		while (md > len)
			md -= 7;
		day = first + md - 1;
	}
	return day * 86400 + d->time;
}

static int64_t year_of(int64_t t)
{
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	int64_t y = 1970 + days / 366;
	while (days_of(y + 1, 1, 1) <= days)
		y++;
	while (days_of(y, 1, 1) > days)
		y--;
	return y;
}

/* ---- loading ---- */

static int64_t be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	if (n == 4)
		return (int32_t)(uint32_t)v;
	return (int64_t)v;
}

static void add_trans(struct tzif *z, size_t *cap, int64_t t, int ty)
{
	if (z->n == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		z->t = kv_xrealloc(z->t, *cap * sizeof(*z->t));
		z->ty = kv_xrealloc(z->ty, *cap);
	}
	z->t[z->n] = t;
	z->ty[z->n] = (unsigned char)ty;
	z->n++;
}

static int add_type(struct tzif *z, int32_t off, int isdst)
{
	for (size_t i = 0; i < z->ntypes; i++)
		if (z->types[i].off == off && z->types[i].isdst == isdst)
			return (int)i;
	if (z->ntypes >= 255)
		return -1;
	z->types = kv_xrealloc(z->types, (z->ntypes + 1) * sizeof(*z->types));
	z->types[z->ntypes] = (struct tz_type){ off, isdst };
	return (int)z->ntypes++;
}

static int name_ok(const char *name)
{
	if (!*name || name[0] == '/' || strlen(name) > 200)
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      strchr("/_-+", *p)))
			return 0;
	return !strstr(name, "..") && !strstr(name, "//");
}

/* hdr: counts at p (44-byte header); 0 and *need = body size, or -1 */
static int header(const unsigned char *p, size_t len, int tsize, size_t cnt[6], size_t *need)
{
	if (len < 44 || memcmp(p, "TZif", 4))
		return -1;
	for (int i = 0; i < 6; i++)
		cnt[i] = (size_t)be(p + 20 + 4 * i, 4) & 0xffffffffu;
	/* isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt */
	*need = cnt[3] * (size_t)tsize + cnt[3] + cnt[4] * 6 + cnt[5] + cnt[2] * (size_t)(tsize + 4) + cnt[1] + cnt[0];
	return 44 + *need <= len ? 0 : -1;
}

struct tzif *tzif_load(const char *name)
{
	const char *dir = getenv("TZDIR");
	char *path, *data = NULL;
	size_t len = 0, cnt[6], need;
	struct kv_err err;
	struct tzif *z = NULL;

	if (!name_ok(name))
		return NULL;
	path = kv_xasprintf("%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
	if (kv_read_file(path, &data, &len, &err) < 0)
		goto out;
	const unsigned char *p = (const unsigned char *)data;
	if (header(p, len, 4, cnt, &need) < 0 || p[4] < '2')
		goto out;
	p += 44 + need;
	len -= 44 + need;
	if (header(p, len, 8, cnt, &need) < 0 || cnt[4] == 0 || cnt[4] > 255)
		goto out;
	const unsigned char *tt = p + 44, *ti = tt + cnt[3] * 8, *ty = ti + cnt[3];
	const unsigned char *foot = p + 44 + need, *fend = p + len;

	z = kv_xcalloc(1, sizeof(*z));
	size_t cap = 0;
	/* the file's type numbers to ours: add_type merges equal types */
	int map[256];
	for (size_t i = 0; i < cnt[4]; i++)
		map[i] = add_type(z, (int32_t)be(ty + 6 * i, 4), ty[6 * i + 4] != 0);
	for (size_t i = 0; i < cnt[3]; i++) {
		if (ti[i] >= cnt[4] || (z->n && be(tt + 8 * i, 8) <= z->t[z->n - 1]))
			goto bad;
		add_trans(z, &cap, be(tt + 8 * i, 8), map[ti[i]]);
	}
	z->first = 0;
	for (size_t i = 0; i < z->ntypes; i++)
		if (!z->types[i].isdst) {
			z->first = (int)i;
			break;
		}
	/* the footer: "\nTZ\n" */
	if (foot < fend && *foot == '\n') {
		const unsigned char *e = memchr(foot + 1, '\n', (size_t)(fend - foot - 1));
		char tzs[128];
		struct posix_tz ptz;
		if (e && (size_t)(e - foot - 1) < sizeof(tzs)) {
			memcpy(tzs, foot + 1, (size_t)(e - foot - 1));
			tzs[e - foot - 1] = 0;
			if (tzs[0] && parse_posix(tzs, &ptz) == 0 && ptz.has_dst) {
				int s = add_type(z, ptz.std, 0), d = add_type(z, ptz.dst, 1);
				int64_t last = z->n ? z->t[z->n - 1] : INT64_MIN;
				int64_t y0 = z->n ? year_of(last) : 1970;
				if (s < 0 || d < 0)
					goto bad;
				for (int64_t y = y0; y <= MAX_YEAR; y++) {
					int64_t a = rule_local(&ptz.start, y) - ptz.std;
					int64_t b = rule_local(&ptz.end, y) - ptz.dst;
					int64_t first = a < b ? a : b, second = a < b ? b : a;
					if (first > last)
						add_trans(z, &cap, first, a < b ? d : s);
					if (second > last && second > first)
						add_trans(z, &cap, second, a < b ? s : d);
					last = z->t[z->n - 1] > last ? z->t[z->n - 1] : last;
				}
			}
		}
	}
	goto out;
bad:
	tzif_free(z);
	z = NULL;
out:
	free(data);
	free(path);
	return z;
}

void tzif_free(struct tzif *z)
{
	if (!z)
		return;
	free(z->t);
	free(z->ty);
	free(z->types);
	free(z);
}

/* ---- lookups, as GTimeZone's intervals: interval i runs from transition
 * i-1 (or the beginning of time) to transition i less one second ---- */

static int32_t iv_off(const struct tzif *z, size_t i)
{
	return z->types[i ? z->ty[i - 1] : (size_t)z->first].off;
}

static int iv_dst(const struct tzif *z, size_t i)
{
	return z->types[i ? z->ty[i - 1] : (size_t)z->first].isdst;
}

static int64_t iv_end(const struct tzif *z, size_t i)
{
	return i < z->n ? z->t[i] - 1 : INT64_MAX;
}

static int64_t iv_local_start(const struct tzif *z, size_t i)
{
	return i ? z->t[i - 1] + iv_off(z, i) : INT64_MIN;
}

static int64_t iv_local_end(const struct tzif *z, size_t i)
{
	return i < z->n ? z->t[i] - 1 + iv_off(z, i) : INT64_MAX;
}

/* the first interval whose end is at or after t */
static size_t find(const struct tzif *z, int64_t t)
{
	size_t lo = 0, hi = z->n; /* answer in [lo, hi] */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t <= iv_end(z, mid))
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

int tzif_offset(const struct tzif *z, int64_t t)
{
	return iv_off(z, find(z, t));
}

int64_t tzif_to_utc(const struct tzif *z, int64_t wall)
{
	size_t i = find(z, wall);
	if (wall < iv_local_start(z, i)) {
		i--;
		if (wall > iv_local_end(z, i)) {
			i++;
			wall = iv_local_start(z, i);
		}
	} else if (wall > iv_local_end(z, i)) {
		i++;
		if (wall < iv_local_start(z, i))
			wall = iv_local_start(z, i);
	} else if (iv_dst(z, i)) {
		if (i && wall <= iv_local_end(z, i - 1))
			i--;
		else if (i < z->n && wall >= iv_local_start(z, i + 1))
			i++;
	}
	return wall - iv_off(z, i);
}
