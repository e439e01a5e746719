/*
 * timefmt.h - the API's time formats.
 *
 * Timestamps are RFC 3339 UTC with an explicit offset, second precision:
 * "2024-06-22T04:33:29+00:00" (DESIGN.md §2). time_to_expire is a human
 * phrase relative to now: "59 minutes from now", "2 hours from now",
 * "3 minutes ago".
 */
#ifndef TG_TIMEFMT_H
#define TG_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#define RFC3339_LEN 26 /* "2024-06-22T04:33:29+00:00" + NUL */

/* Wall-clock time in Unix seconds / milliseconds (time_now_ms() is clock_real_ms()). */
int64_t time_now(void);
int64_t time_now_ms(void);
/* Formats t (Unix seconds) into out. */
void time_format_rfc3339(int64_t t, char out[RFC3339_LEN]);
/*
 * Parses an RFC 3339 timestamp ("Z" or "+hh:mm"/"-hh:mm" offset, optional
 * fraction which is truncated). 0 on success with *ret_t set, -EINVAL otherwise.
 */
int time_parse_rfc3339(const char *s, int64_t *ret_t);
/* Human phrase for (t - now): "in 2 hours" style used by the seeds. */
void time_phrase_relative(int64_t t, int64_t now, char *out, size_t outlen);

#endif
