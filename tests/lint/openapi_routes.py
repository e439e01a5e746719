#!/usr/bin/env python3
"""Every route of tikgated's routing table is described in api/openapi.yaml, and back.

usage: openapi_routes.py ROUTE_TABLE_PROGRAM OPENAPI_YAML

ROUTE_TABLE_PROGRAM (tests/unit/api/route_table.c) prints api_routes[] - the real table, linked
from api_lib - as "METHOD PATTERN" lines, aliases included. Each must be an operation (the path
under `paths:` and the method under it) of the OpenAPI description; an operation without a
route is reported too (a description of something tikgated does not serve). Standard library
only: the file's own layout is read (two-space indent: `  /path:` then `    method:`), which
the Redocly lint (tests/lint/openapi.sh) keeps valid YAML.
"""
import re
import subprocess
import sys

METHODS = ('get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace')


def openapi_operations(path):
    ops = set()
    in_paths = False
    current = None
    with open(path, encoding='utf-8') as f:
        for line in f:
            if re.match(r'^\S', line):
                in_paths = line.rstrip() == 'paths:'
                current = None
                continue
            if not in_paths:
                continue
            m = re.match(r"^  ('?)(/[^']*)\1:\s*$", line)
            if m:
                current = m.group(2)
                continue
            m = re.match(r'^    (\w+):', line)
            if m and current and m.group(1) in METHODS:
                ops.add((m.group(1).upper(), current))
    return ops


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    out = subprocess.run([argv[1]], check=True, capture_output=True, timeout=30).stdout.decode()
    routes = set()
    for line in out.splitlines():
        method, pattern = line.split(' ', 1)
        routes.add((method, pattern))
    if not routes:
        print('openapi_routes: the route table is empty?', file=sys.stderr)
        return 1
    ops = openapi_operations(argv[2])
    missing = sorted(routes - ops, key=lambda r: (r[1], r[0]))
    extra = sorted(ops - routes, key=lambda r: (r[1], r[0]))
    for m, p in missing:
        print('not in %s: %s %s' % (argv[2], m, p))
    for m, p in extra:
        print('in %s but not a route: %s %s' % (argv[2], m, p))
    print('%d routes, %d operations, %d undocumented, %d without a route'
          % (len(routes), len(ops), len(missing), len(extra)))
    return 1 if missing or extra else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
