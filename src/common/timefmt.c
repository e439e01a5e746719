#include "timefmt.h"

#include "clock.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t time_now(void)
{
    return clock_real_ms() / 1000;
}

int64_t time_now_ms(void)
{
    return clock_real_ms();
}

void time_format_rfc3339(int64_t t, char out[RFC3339_LEN])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    char tmp[96];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d+00:00", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    memcpy(out, tmp, RFC3339_LEN - 1);
    out[RFC3339_LEN - 1] = '\0';
}

static int digits(const char *s, int n, int *ret)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    *ret = v;
    return 0;
}

int time_parse_rfc3339(const char *s, int64_t *ret_t)
{
    int y, mo, d, h, mi, sec;
    if (!s || strlen(s) < 20)
        return -EINVAL;
    if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
        digits(s + 17, 2, &sec))
        return -EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -EINVAL;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -EINVAL;
        while (isdigit((unsigned char)*p))
            p++;
    }
    int off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return -EINVAL;
        off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -EINVAL;
    }
    if (*p)
        return -EINVAL;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    /* timegm normalises 31 Feb into March: refuse dates that do not exist. */
    struct tm back;
    gmtime_r(&t, &back);
    if (back.tm_mday != d || back.tm_mon != mo - 1)
        return -EINVAL;
    *ret_t = (int64_t)t - off;
    return 0;
}

void time_phrase_relative(int64_t t, int64_t now, char *out, size_t outlen)
{
    int64_t diff = t - now;
    int future = diff > 0;
    int64_t a = future ? diff : -diff;
    const char *unit;
    int64_t n;
    if (a < 60) {
        n = a;
        unit = "second";
    } else if (a < 3600) {
        n = a / 60;
        unit = "minute";
    } else if (a < 86400) {
        n = a / 3600;
        unit = "hour";
    } else {
        n = a / 86400;
        unit = "day";
    }
    snprintf(out, outlen, "%lld %s%s %s", (long long)n, unit, n == 1 ? "" : "s",
             future ? "from now" : "ago");
}
