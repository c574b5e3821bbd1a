/*
 * t_kvtime.c - zones (kvtime.c over tzif.c, our own TZif reader, which
 * replaced GLib's GTimeZone): offsets equal GLib's own answer (no
 * approximation, also at transitions that fall on odd seconds, such as
 * the end of local mean time), from many threads at once while the memo is
 * still filling, and with more zones than the memo holds; in the years the
 * files' footer rules cover (2038 on) offsets and local-to-UTC too, but
 * for Europe/Dublin's negative DST, where GLib is wrong (it puts Dublin at
 * +2 in the winter of 2038) and the POSIX answers are checked instead; an
 * unknown zone is an error that names it. kvtime_utc_iso (written without snprintf)
 * equals gmtime_r + snprintf over many times. Also the text helpers
 * (text.h) and strv_has.
 * The week and date functions are tested in t_reporter.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include "tap.h"
#include "kv.h"
#include "kvtime.h"
#include "text.h"

/* 20 zones: more than the memo's 16 slots. */
static const char *const zones[] = {
	"Asia/Shanghai", "America/New_York", "Europe/Dublin", "Australia/Lord_Howe",
	"Asia/Kathmandu", "UTC", "Europe/Amsterdam", "America/St_Johns", "Pacific/Chatham",
	"Asia/Kolkata", "Europe/London", "America/Phoenix", "Africa/Monrovia", "Asia/Tokyo",
	"Europe/Berlin", "America/Sao_Paulo", "Pacific/Apia", "Asia/Tehran", "Europe/Moscow",
	"America/Los_Angeles",
};
#define NZONES (sizeof(zones) / sizeof(*zones))
#define NTIMES 400

static int64_t times[NTIMES];
static int want[NZONES][NTIMES];

/* The offset straight from GLib, no memo. */
static int glib_offset(const char *zone, int64_t t)
{
	GTimeZone *tz = g_time_zone_new_identifier(zone);
	if (!tz)
		return -999999;
	int iv = g_time_zone_find_interval(tz, G_TIME_TYPE_UNIVERSAL, t);
	int off = iv < 0 ? 0 : g_time_zone_get_offset(tz, iv);
	g_time_zone_unref(tz);
	return off;
}

struct worker {
	int start, bad;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	for (int round = 0; round < 3; round++)
		for (size_t k = 0; k < NZONES; k++) {
			size_t z = (k + (size_t)w->start) % NZONES;
			for (int i = 0; i < NTIMES; i++) {
				int off = 12345;
				if (kvtime_zone_offset(zones[z], times[i], &off, NULL) < 0 || off != want[z][i])
					w->bad++;
			}
		}
	return NULL;
}

static void t_threads(void)
{
	/* 1850 .. 2037 (the files' own transitions), steps that are not a
	 * multiple of a day or an hour */
	for (int i = 0; i < NTIMES; i++)
		times[i] = -3786825600LL + (int64_t)i * 14800017;
	for (size_t z = 0; z < NZONES; z++)
		for (int i = 0; i < NTIMES; i++)
			want[z][i] = glib_offset(zones[z], times[i]);
	pthread_t th[6];
	struct worker w[6];
	for (int i = 0; i < 6; i++) {
		w[i] = (struct worker){ .start = i * 3, .bad = 0 };
		pthread_create(&th[i], NULL, work, &w[i]);
	}
	int bad = 0;
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		bad += w[i].bad;
	}
	is_int(bad, 0, "6 threads, 20 zones, memo filling: every offset equals GLib's");
}

/* Local mean time ended on odd seconds: the memo answers to the second. */
static void t_odd_transition(void)
{
	const char *zone = "Europe/Amsterdam";
	/* find the first change of offset after 1800 by bisection on GLib */
	int64_t lo = -5364662400LL, hi = 0;
	int first = glib_offset(zone, lo);
	if (glib_offset(zone, hi) == first) {
		ok(1, "# skip no offset change in %s", zone);
		return;
	}
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;
		if (glib_offset(zone, mid) == first)
			lo = mid;
		else
			hi = mid;
	}
	int a = 0, b = 0;
	kvtime_zone_offset(zone, lo, &a, NULL);
	kvtime_zone_offset(zone, hi, &b, NULL);
	ok(a == glib_offset(zone, lo) && b == glib_offset(zone, hi) && a != b,
	   "%s: the offset changes exactly at %lld (%d -> %d)", zone, (long long)hi, a, b);
}

/* Local wall time (as if UTC) to UTC, straight from GLib. */
static int64_t glib_to_utc(const char *zone, int64_t wall)
{
	GTimeZone *tz = g_time_zone_new_identifier(zone);
	gint64 w = wall;
	int iv = g_time_zone_adjust_time(tz, G_TIME_TYPE_STANDARD, &w);
	int64_t r = w - (iv < 0 ? 0 : g_time_zone_get_offset(tz, iv));
	g_time_zone_unref(tz);
	return r;
}

/* 2038 .. 2150: the footer rules' years; every 5 days and 7 hours, and
 * hourly around two spring-forward and fall-back days (gaps, overlaps). */
static void t_rule_years(void)
{
	int bad_off = 0, bad_utc = 0, n = 0;
	for (size_t z = 0; z < NZONES; z++) {
		if (!strcmp(zones[z], "Europe/Dublin"))
			continue;
		for (int64_t t = 2145916800LL; t < 5680281600LL; t += 5 * 86400 + 7 * 3600 + 13) {
			int off = 0;
			struct tm tm;
			int64_t u = 0;
			kvtime_zone_offset(zones[z], t, &off, NULL);
			kvtime_gmtime(t, &tm);
			kvtime_zone_to_utc(zones[z], &tm, &u, NULL);
			bad_off += off != glib_offset(zones[z], t);
			bad_utc += u != glib_to_utc(zones[z], t);
			n++;
		}
		/* 2038-03-14 .. 2038-04-05 and 2038-10-20 .. 2038-11-10, hourly */
		for (int k = 0; k < 2; k++)
			for (int64_t t = (k ? 2171260800LL : 2152224000LL), e = t + 22 * 86400; t < e; t += 3600 + 61) {
				int off = 0;
				struct tm tm;
				int64_t u = 0;
				kvtime_zone_offset(zones[z], t, &off, NULL);
				kvtime_gmtime(t, &tm);
				kvtime_zone_to_utc(zones[z], &tm, &u, NULL);
				bad_off += off != glib_offset(zones[z], t);
				bad_utc += u != glib_to_utc(zones[z], t);
				n++;
			}
	}
	is_int(bad_off, 0, "2038 .. 2150, 19 zones: every offset equals GLib's");
	is_int(bad_utc, 0, "2038 .. 2150, 19 zones: every local time to UTC equals GLib's");
	diag("%d instants compared", n);
	/* Dublin, footer IST-1GMT0,M10.5.0,M3.5.0/1: IST (+1) from the last
	 * Sunday of March 01:00 UTC, GMT from the last Sunday of October
	 * 01:00 UTC (2038: 28 March, 31 October) */
	int o1 = 9, o2 = 9, o3 = 9, o4 = 9, o5 = 9;
	kvtime_zone_offset("Europe/Dublin", 2153349325LL, &o1, NULL);  /* 2038-03-28 00:35:25 */
	kvtime_zone_offset("Europe/Dublin", 2153350800LL, &o2, NULL);  /* 2038-03-28 01:00:00 */
	kvtime_zone_offset("Europe/Dublin", 2172099599LL, &o3, NULL);  /* 2038-10-31 00:59:59 */
	kvtime_zone_offset("Europe/Dublin", 2172099600LL, &o4, NULL);  /* 2038-10-31 01:00:00 */
	kvtime_zone_offset("Europe/Dublin", 2176329600LL, &o5, NULL);  /* 2038-12-19 */
	ok(o1 == 0 && o2 == 3600 && o3 == 3600 && o4 == 0 && o5 == 0,
	   "Europe/Dublin 2038 by its footer rule: %d %d %d %d %d (want 0 3600 3600 0 0)", o1, o2, o3, o4, o5);
}

static void t_unknown(void)
{
	struct kv_err err = { "" };
	int off = 7;
	ok(kvtime_zone_offset("Mars/Olympus_Mons", 0, &off, &err) < 0, "unknown zone refused");
	ok(strstr(err.msg, "Mars/Olympus_Mons") != NULL, "the error names it: %s", err.msg);
	ok(kvtime_zone_offset("Mars/Olympus_Mons", 0, &off, NULL) < 0, "and again (not memoised)");
	char buf[32];
	kvtime_format(0, "Mars/Olympus_Mons", "%Y-%m-%d %H:%M", buf, sizeof(buf));
	is_str(buf, "1970-01-01 00:00", "formatting in an unknown zone falls back to UTC");
}

static void t_text(void)
{
	char *s = text_one_line("  [PATCH v2]\n\tKVM: arm64:  fix \r\n it  ");
	is_str(s, "[PATCH v2] KVM: arm64: fix it", "one line, single spaces, trimmed");
	free(s);
	s = text_one_line(NULL);
	is_str(s, "", "NULL is empty");
	free(s);
	s = text_person("Marc\n Zyngier", "maz@kernel.org");
	is_str(s, "Marc Zyngier <maz@kernel.org>", "person: name and address");
	free(s);
	s = text_person("", "maz@kernel.org");
	is_str(s, "maz@kernel.org", "person: address alone");
	free(s);
	s = text_person("Marc", NULL);
	is_str(s, "Marc", "person: name alone");
	free(s);
	const char *zh = "摘要ab";   /* two 3-byte characters, then ASCII */
	is_int(text_utf8_cut(zh, strlen(zh), 100), strlen(zh), "cut: fits");
	is_int(text_utf8_cut(zh, strlen(zh), 5), 3, "cut: inside the second character backs up to it");
	is_int(text_utf8_cut(zh, strlen(zh), 6), 6, "cut: on a boundary");
	is_int(text_utf8_cut(zh, strlen(zh), 7), 7, "cut: ASCII after");
	/* text_utf8_len agrees with GLib's validator on every lead byte and
	 * every two following bytes (after a 4-byte lead, the fourth byte a
	 * continuation byte, then not one): the length of the first well-formed prefix, else 0 */
	size_t bad = 0;
	for (int b0 = 1; b0 < 256; b0++)
		for (int b1 = 0; b1 < 256; b1++)
			for (int b2 = 0; b2 < 256; b2++)
				for (int b3 = b0 < 0xF0 ? 0x80 : 0x20; b3 <= 0x80; b3 += 0x60) {
					const char q[4] = { (char)b0, (char)b1, (char)b2, (char)b3 };
					size_t want = 0;
					for (size_t l = 1; l <= 4 && !want; l++)
						if (g_utf8_validate(q, (gssize)l, NULL))
							want = l;
					bad += text_utf8_len(q, 4) != want;
				}
	is_int(bad, 0, "utf8_len: agrees with g_utf8_validate on all 1..4 byte prefixes");
	is_int(text_utf8_len("\xe2\x80\xa8", 3), 3, "utf8_len: U+2028 is one 3-byte character");
	is_int(text_utf8_len("\xe2\x80\x17\xa8", 4), 0, "utf8_len: a control byte inside a sequence makes it invalid");
	is_int(text_utf8_len("\xe2\x80", 2), 0, "utf8_len: a sequence cut short by the length is invalid");
	is_int(text_utf8_len("\xf0\x9f\x98\x80", 4), 4, "utf8_len: 4-byte character");
	is_int(text_utf8_len("\xed\xa0\x80", 3), 0, "utf8_len: surrogate is invalid");
	struct strv sv = STRV_INIT;
	strv_push(&sv, "a");
	strv_push(&sv, "b");
	ok(strv_has(&sv, "b") && !strv_has(&sv, "c") && !strv_has(&sv, "B"), "strv_has: exact match");
	strv_release(&sv);
}

/* kvtime_utc_iso against the plain computation: every second of a day
 * boundary, a stride over 1900-2100, before 1970, years past 9999. */
static void t_iso(void)
{
	int bad = 0, n = 0;
	int64_t fixed[] = { 0, -1, 86399, 951782400 /* 2000-02-29 */, 253402300799LL /* 9999-12-31 */,
			    253402300800LL /* 10000-01-01 */, -62167219200LL /* 0000-01-01 */ };
	for (int64_t i = -4000; i < 600 + (int64_t)(sizeof(fixed) / sizeof(*fixed)) * 2; i++) {
		int64_t t;
		if (i < 0)
			t = -2208988800LL + (i + 4000) * 1000003LL * 2;   /* 1900 .. 2153 */
		else if (i < 600)
			t = 1704067200 - 300 + i;                           /* around 2024-01-01 */
		else
			t = fixed[(i - 600) / 2] + (i % 2);
		char got[64], want[64];
		struct tm tm;
		time_t tt = (time_t)t;
		gmtime_r(&tt, &tm);
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		kvtime_utc_iso(t, got, sizeof(got));
		n++;
		if (strcmp(got, want) && bad++ < 3)
			diag("utc_iso(%lld): got %s, want %s", (long long)t, got, want);
	}
	ok(!bad, "kvtime_utc_iso equals gmtime_r + snprintf for %d times (%d differ)", n, bad);
	char small[8];
	kvtime_utc_iso(1704067200, small, sizeof(small));
	is_str(small, "2024-01", "a short buffer gets a cut, terminated string");
}

int main(void)
{
	t_iso();
	t_threads();
	t_odd_transition();
	t_rule_years();
	t_unknown();
	t_text();
	return done_testing();
}
