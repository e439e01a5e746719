/*
 * session.c - where the CLI finds its server and token, and `tikgate login/logout/whoami`.
 *
 * Precedence: --url/--token, then TIKGATE_URL/TIKGATE_TOKEN, then the session file that
 * `tikgate login` writes ($XDG_CONFIG_HOME/tikgate/session, else ~/.config/tikgate/session;
 * JSON {url, token, email, expires_at}, mode 0600 in a 0700 directory).
 */
#include "alloc.h"
#include "cli_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#define DEFAULT_URL "http://127.0.0.1:8080"

static char *config_dir(void)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    if (xdg && xdg[0] == '/')
        return xasprintf("%s/tikgate", xdg);
    const char *home = getenv("HOME");
    if (!home || !*home)
        return NULL;
    return xasprintf("%s/.config/tikgate", home);
}

char *cli_session_path(void)
{
    char *dir = config_dir();
    if (!dir)
        return NULL;
    char *p = xasprintf("%s/session", dir);
    free(dir);
    return p;
}

static json_t *session_read(void)
{
    char *path = cli_session_path();
    if (!path)
        return NULL;
    json_t *s = json_load_file(path, 0, NULL);
    free(path);
    if (s && !json_is_object(s)) {
        json_decref(s);
        return NULL;
    }
    return s;
}

static char *trimmed_url(const char *u)
{
    char *s = xstrdup(u);
    size_t n = strlen(s);
    while (n && s[n - 1] == '/')
        s[--n] = '\0';
    return s;
}

int cli_config_load(struct cli *c, const char *url_flag, const char *token_flag)
{
    json_t *s = session_read();
    const char *url = url_flag ? url_flag : getenv("TIKGATE_URL");
    const char *token = token_flag ? token_flag : getenv("TIKGATE_TOKEN");
    const char *s_url = json_string_value(json_object_get(s, "url"));
    const char *s_token = json_string_value(json_object_get(s, "token"));
    c->url = trimmed_url(url && *url ? url : (s_url ? s_url : DEFAULT_URL));
    if (token && *token) {
        c->token = xstrdup(token);
    } else if (s_token && (!s_url || !strcmp(c->url, s_url))) {
        /* The session's token only goes to the server that issued it. */
        c->token = xstrdup(s_token);
    }
    c->ca_file = getenv("TIKGATE_CA_FILE");
    json_decref(s);
    return CLI_OK;
}

/* Reads one line from f without its newline; returns owned or NULL at EOF. */
static char *read_line(FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}

/* Prompts on the terminal with echo off. Returns owned or NULL. */
static char *read_secret(const char *prompt)
{
    FILE *tty = fopen("/dev/tty", "r+");
    if (!tty)
        return NULL;
    struct termios old, quiet;
    bool restore = tcgetattr(fileno(tty), &old) == 0;
    if (restore) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
    }
    fputs(prompt, tty);
    fflush(tty);
    char *line = read_line(tty);
    if (restore)
        tcsetattr(fileno(tty), TCSAFLUSH, &old);
    fputc('\n', tty);
    fclose(tty);
    return line;
}

static char *login_password(const struct cli_args *a)
{
    if (cli_flag(a, "password-stdin"))
        return read_line(stdin);
    const char *env = getenv("TIKGATE_PASSWORD");
    if (env)
        return xstrdup(env);
    return read_secret("Password: ");
}

static void wipe_free(char *s)
{
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int cli_session_save(const char *url, json_t *login_answer)
{
    char *dir = config_dir();
    if (!dir)
        return cli_fail(CLI_FAIL, "neither XDG_CONFIG_HOME nor HOME is set");
    char *parent = xstrdup(dir);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = '\0';
        mkdir(parent, 0700); /* ~/.config; an existing one keeps its mode */
    }
    free(parent);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        int e = errno;
        free(dir);
        return cli_fail(CLI_FAIL, "cannot create the config directory: %s", strerror(e));
    }
    json_t *s = json_pack("{s:s, s:O, s:O, s:O}", "url", url, "token",
                          json_object_get(login_answer, "token"), "email",
                          json_object_get(json_object_get(login_answer, "user"), "email"),
                          "expires_at", json_object_get(login_answer, "expires_at"));
    char *text = s ? json_dumps(s, JSON_INDENT(2)) : NULL;
    json_decref(s);
    char *path = xasprintf("%s/session", dir), *tmp = xasprintf("%s/.session.tmp", dir);
    free(dir);
    int rc = CLI_FAIL;
    unlink(tmp);
    int fd = text ? open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
    if (fd >= 0 && fchmod(fd, 0600) == 0 && write_all(fd, text, strlen(text)) == 0 &&
        write_all(fd, "\n", 1) == 0 && fsync(fd) == 0 && close(fd) == 0) {
        fd = -1;
        if (rename(tmp, path) == 0)
            rc = CLI_OK;
    }
    if (fd >= 0)
        close(fd);
    if (rc)
        rc = cli_fail(CLI_FAIL, "cannot write %s: %s", path, strerror(errno));
    unlink(tmp);
    wipe_free(text);
    free(path);
    free(tmp);
    return rc;
}

int cli_cmd_login(struct cli *c, struct cli_args *a)
{
    char *email = NULL;
    if (cli_arg(a, "email")) {
        email = xstrdup(cli_arg(a, "email"));
    } else if (!cli_flag(a, "password-stdin")) {
        fputs("E-mail: ", stderr);
        email = read_line(stdin);
    }
    if (!email || !*email) {
        free(email);
        return cli_fail(CLI_USAGE, "login needs an e-mail address (--email)");
    }
    char *password = login_password(a);
    if (!password) {
        free(email);
        return cli_fail(CLI_USAGE, "no password (a terminal, --password-stdin or "
                                   "TIKGATE_PASSWORD)");
    }
    json_t *body = json_pack("{s:s, s:s}", "email", email, "password", password);
    wipe_free(password);
    struct cli_resp r;
    int rc = cli_http(c, "POST", "/v1/auth/login", body, false, &r);
    json_object_clear(body);
    json_decref(body);
    if (rc == CLI_OK && r.status != 200)
        rc = cli_api_error(&r);
    else if (rc == CLI_OK && !json_is_string(json_object_get(r.body, "token")))
        rc = cli_fail(CLI_FAIL, "the login answer has no token");
    else if (rc == CLI_OK)
        rc = cli_session_save(c->url, r.body);
    if (rc == CLI_OK && c->json)
        cli_print(c, json_object_get(r.body, "user"), NULL, 0);
    else if (rc == CLI_OK)
        fprintf(stderr, "Signed in to %s as %s.\n", c->url, email);
    json_decref(r.body);
    free(email);
    return rc;
}

int cli_cmd_logout(struct cli *c, struct cli_args *a)
{
    (void)a;
    char *path = cli_session_path();
    json_t *s = session_read();
    const char *token = json_string_value(json_object_get(s, "token"));
    const char *url = json_string_value(json_object_get(s, "url"));
    int rc = CLI_OK;
    if (token && url) {
        /* Revoke it where it was issued (never send it to another --url); a session that
         * expired or was revoked already is fine. */
        struct cli at = *c;
        at.url = trimmed_url(url);
        at.token = xstrdup(token);
        struct cli_resp r;
        if (cli_http(&at, "POST", "/v1/auth/logout", NULL, true, &r) == CLI_OK) {
            if (r.status >= 400 && r.status != 401)
                rc = cli_api_error(&r);
            json_decref(r.body);
        } else {
            fputs("tikgate: the session could not be revoked on the server; removing it here\n",
                  stderr);
        }
        free(at.url);
        wipe_free(at.token);
    }
    json_decref(s);
    if (path && unlink(path) < 0 && errno != ENOENT)
        rc = cli_fail(CLI_FAIL, "cannot remove %s: %s", path, strerror(errno));
    else if (rc == CLI_OK)
        fprintf(stderr, "Signed out.\n");
    free(path);
    return rc;
}

int cli_cmd_whoami(struct cli *c, struct cli_args *a)
{
    (void)a;
    json_t *me = NULL;
    int rc = cli_api(c, "GET", "/v1/auth/me", NULL, &me);
    if (rc)
        return rc;
    if (!c->json)
        printf("url: %s\n", c->url);
    cli_print(c, me, NULL, 0);
    json_decref(me);
    return CLI_OK;
}
