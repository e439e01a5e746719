#!/usr/bin/env python3
"""Checks the module boundaries of DESIGN.md §9 on the source tree (a `meson test` lint).

Fails (exit 1, one line per violation) when
  - a third-party header is included outside the module that owns it
    (microhttpd.h: http; jansson.h: api, and the sim, tests and fuzz targets; sqlite3.h and
    libpq-fe.h: store; jwt.h: api);
  - a module includes a header of a module it may not use (the arrows below);
  - a module's internal header (*_int.h, sim.h) is included from another module;
  - src/domain does I/O: system headers for files, sockets or processes, the log, or calls
    such as fopen/printf/open/read/write/socket;
  - a module outside src/common reads a clock or makes a condition variable itself
    (clock_gettime, pthread_cond_init: common/clock.h has clock_mono_ms/clock_real_ms and
    clock_cond_init, CLOCK_MONOTONIC) or sizes a UUID buffer with a literal 37 (UUID_STR_LEN).

Usage: boundaries.py [SRC_DIR]   (default: the src/ beside this script's ../..)
"""
import os
import re
import sys

# Who may include whom (besides itself). DESIGN.md §9 and docs/ARCHITECTURE.md: arrows point
# down only; `api` uses `http` for the plain request/response values (documented inversion).
ALLOWED = {
    'common': set(),
    'domain': {'common'},
    'ros': {'common'},
    'store': {'domain', 'common'},
    'jobs': {'store', 'domain', 'ros', 'common'},
    'edge': {'common'},
    'http': {'common'},
    'wg': {'common'},
    # hooks: webhook delivery (libcurl, jansson); api uses its URL check and secrets
    'hooks': {'store', 'domain', 'common'},
    'api': {'http', 'store', 'jobs', 'hooks', 'domain', 'common'},
    'daemon': {'api', 'http', 'jobs', 'hooks', 'store', 'domain', 'edge', 'ros', 'wg', 'common'},
    'sim': {'ros', 'wg', 'common'},
    'cli': {'common'},
}

# Third-party headers and the only modules that may include them.
OWNED_HEADERS = {
    'microhttpd.h': {'http'},
    'gnutls/gnutls.h': {'http'},
    'gnutls/abstract.h': {'http'},
    'jansson.h': {'api', 'sim', 'cli', 'hooks'},
    'sqlite3.h': {'store'},
    'libpq-fe.h': {'store'},
    'jwt.h': {'api'},
}

# What src/domain may not include or call: domain is pure rules, no I/O.
DOMAIN_BANNED_HEADERS = {
    'unistd.h', 'fcntl.h', 'sys/socket.h', 'sys/stat.h', 'sys/epoll.h', 'sys/types.h',
    'netinet/in.h', 'netinet/tcp.h', 'netdb.h', 'poll.h', 'dirent.h', 'pthread.h', 'signal.h',
    'log.h', 'curl/curl.h',
}
DOMAIN_BANNED_CALLS = re.compile(
    r'\b(fopen|fdopen|freopen|fread|fwrite|fgets|fputs|fprintf|printf|vprintf|puts|putchar|'
    r'getchar|perror|open|openat|creat|read|write|close|unlink|rename|mkdir|opendir|'
    r'socket|connect|bind|listen|accept|accept4|send|sendto|recv|recvfrom|getaddrinfo|'
    r'system|popen|fork|exec[lv]p?e?|log_debug|log_info|log_warn|log_error|log_msg)\s*\(')

# Shared helpers of src/common (docs/CODING.md): no private copies in the other modules.
COMMON_ONLY_CALLS = re.compile(r'\b(clock_gettime|pthread_cond_init)\s*\(')
UUID_LITERAL = re.compile(r'\[\s*37\s*\]|\b(snprintf|memcpy|strncpy)\s*\([^;]*,\s*37\s*,')

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def strip_comments_and_strings(text):
    """Blanks out comments and string/char literals so that code patterns only match code."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
            out.append('\n' * text.count('\n', i, j))
            i = j
        elif text.startswith('//', i):
            j = text.find('\n', i)
            i = n if j < 0 else j
        elif c in '"\'':
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == '\\' else 1
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, '..', '..', 'src')
    src = os.path.abspath(src)

    files = []
    owner = {}  # header basename -> module
    for module in sorted(os.listdir(src)):
        mdir = os.path.join(src, module)
        if not os.path.isdir(mdir):
            continue
        for dirpath, _, names in os.walk(mdir):
            for name in sorted(names):
                if name.endswith(('.c', '.h')):
                    path = os.path.join(dirpath, name)
                    files.append((module, path))
                    if name.endswith('.h'):
                        if name in owner and owner[name] != module:
                            print('%s: header name %s is also in src/%s: header names must be '
                                  'unique across modules' % (os.path.relpath(path, src), name,
                                                             owner[name]))
                        owner[name] = module

    errors = []

    def fail(path, line, msg):
        errors.append('src/%s:%d: %s' % (os.path.relpath(path, src), line, msg))

    for module, path in files:
        if module not in ALLOWED:
            fail(path, 1, 'module %s is not in the boundary table of tests/lint/boundaries.py '
                 '(add it with the modules it may use, following DESIGN.md §9)' % module)
            continue
        with open(path, encoding='utf-8', errors='replace') as fh:
            text = fh.read()
        for m in INCLUDE.finditer(text):
            line = text.count('\n', 0, m.start()) + 1
            kind, name = m.group(1), m.group(2)
            base = os.path.basename(name)
            if kind == '<' and name in OWNED_HEADERS and module not in OWNED_HEADERS[name]:
                fail(path, line, '<%s> may only be included in src/%s' %
                     (name, ', src/'.join(sorted(OWNED_HEADERS[name]))))
            if module == 'domain' and name in DOMAIN_BANNED_HEADERS:
                fail(path, line, 'src/domain does no I/O: <%s> is not allowed there' % name)
            if kind == '"':
                target = owner.get(base)
                if target is None:
                    continue  # generated or local to the directory (e.g. migrations.c)
                if target != module and target not in ALLOWED[module]:
                    fail(path, line, '%s (src/%s) includes "%s" of src/%s: against the arrows '
                         'of DESIGN.md §9 (%s may use: %s)' %
                         (module, module, name, target, module,
                          ', '.join(sorted(ALLOWED[module])) or 'nothing'))
                elif target != module and (base.endswith('_int.h') or base == 'sim.h'):
                    fail(path, line, '"%s" is internal to src/%s' % (name, target))
        code = strip_comments_and_strings(text)
        if module != 'common':
            for m in COMMON_ONLY_CALLS.finditer(code):
                line = code.count('\n', 0, m.start()) + 1
                fail(path, line, '%s() outside src/common: use common/clock.h (clock_mono_ms, '
                     'clock_real_ms, clock_cond_init)' % m.group(1))
        for m in UUID_LITERAL.finditer(code):
            line = code.count('\n', 0, m.start()) + 1
            fail(path, line, 'a literal 37: use UUID_STR_LEN (common/rand.h)')
        if module == 'domain':
            for m in DOMAIN_BANNED_CALLS.finditer(code):
                line = code.count('\n', 0, m.start()) + 1
                fail(path, line, 'src/domain does no I/O: call to %s()' % m.group(1))

    for e in errors:
        print(e)
    if errors:
        print('boundaries: %d violation(s) of DESIGN.md §9' % len(errors))
        return 1
    print('boundaries: %d files in %d modules follow DESIGN.md §9' %
          (len(files), len({m for m, _ in files})))
    return 0


if __name__ == '__main__':
    sys.exit(main())
