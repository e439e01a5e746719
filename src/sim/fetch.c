/*
 * fetch.c - /tool fetch over HTTP(S) with libcurl.
 *
 * Like RouterOS's fetch, HTTPS certificates are verified only with
 * check-certificate=yes (or yes-without-crl): then the chain must lead to one
 * of the certificates in req->trust_pem (the /certificate store and
 * --ca-file, never the host's CA bundle) and the name in the URL must match
 * the certificate. Redirects are not followed. Bounded: 5 s to connect,
 * 30 s in all, SIM_MAX_SCRIPT bytes of body; a stop flag aborts at once.
 */
#include "alloc.h"
#include "sim.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sink {
    struct buf *body;
    bool overflow;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct sink *s = ud;
    size_t n = size * nmemb;
    if (buf_append(s->body, ptr, n) < 0) {
        s->overflow = true;
        return 0; /* aborts the transfer */
    }
    return n;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    const volatile bool *stop = ud;
    return stop && *stop; /* non-zero aborts */
}

/* Adds "Name: value" headers from a comma list (RouterOS http-header-field). */
static struct curl_slist *header_list(const char *headers)
{
    struct curl_slist *l = NULL;
    if (!headers || !*headers)
        return NULL;
    char *copy = xstrdup(headers), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        if (!*t || !strchr(t, ':'))
            continue;
        /* RouterOS accepts "Name:value"; curl wants "Name: value" (either works) */
        struct curl_slist *n = curl_slist_append(l, t);
        if (!n)
            break;
        l = n;
    }
    free(copy);
    return l;
}

int sim_fetch_curl(void *ctx, const struct sim_fetch_req *req, struct buf *body, long *status,
                   char err[SIM_ERR_LEN])
{
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(err, SIM_ERR_LEN, "curl init failed");
        return -ENOMEM;
    }
    char cerr[CURL_ERROR_SIZE] = "";
    struct sink s = {body, false};
    struct curl_slist *hdrs = NULL;
    for (const char *p = req->headers ? req->headers : ""; *p; p++)
        if (*p == '\r' || *p == '\n') {
            snprintf(err, SIM_ERR_LEN, "bad http-header-field");
            curl_easy_cleanup(h);
            return -EINVAL;
        }
    hdrs = header_list(req->headers);
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, req->check_cert ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, req->check_cert ? 2L : 0L);
    curl_easy_setopt(h, CURLOPT_CAINFO, NULL); /* the router's store only */
    curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
    struct curl_blob trust = {(void *)(req->trust_pem ? req->trust_pem : ""),
                              req->trust_pem ? strlen(req->trust_pem) : 0, CURL_BLOB_COPY};
    if (req->check_cert && trust.len)
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &trust);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "MikroTik");
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, ctx);
    if (req->post) {
        const char *d = req->data ? req->data : "";
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(d));
        curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS, d);
    }
    if (hdrs)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    CURLcode rc = curl_easy_perform(h);
    int r = 0;
    if (rc != CURLE_OK) {
        snprintf(err, SIM_ERR_LEN, "%s",
                 s.overflow ? "response too large"
                 : cerr[0]  ? cerr
                            : curl_easy_strerror(rc));
        r = rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return r;
}
