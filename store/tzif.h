/*
 * tzif.h - IANA time zones read from the system's TZif files (RFC 8536)
 * by our own code, for kvtime.c. It replaced GLib's GTimeZone, so that
 * kvmarm-store loads no GLib at start, and answers as GTimeZone did
 * (tests/unit/t_kvtime.c compares the two): the zone's transitions, then
 * those of the file's footer rule (the POSIX TZ string) up to MAX_YEAR.
 *
 * A loaded zone is read-only: any number of threads may use it at once.
 */
#ifndef KV_TZIF_H
#define KV_TZIF_H

#include <stdint.h>

struct tzif;

/* Zone name (an IANA name such as Europe/London, or "UTC") from $TZDIR or
 * /usr/share/zoneinfo; NULL when there is no such zone or its file is
 * not a TZif file. */
struct tzif *tzif_load(const char *name);
void tzif_free(struct tzif *z);

/* The offset east of UTC, in seconds, at instant t. */
int tzif_offset(const struct tzif *z, int64_t t);
/* The instant of local wall-clock time wall (seconds as if UTC): in a
 * gap, the end of the gap; in an overlap, the standard-time reading. */
int64_t tzif_to_utc(const struct tzif *z, int64_t wall);

#endif
