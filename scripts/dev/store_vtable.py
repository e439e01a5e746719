#!/usr/bin/env python3
"""The store's backend table, generated from store.h (docs/internals/store.md).

    scripts/dev/store_vtable.py [--rename]

--rename (the mechanical commit, and again after merging a branch that changed
src/store/sqlite_*.c): in src/store/sqlite_*.c and sqlite_int.h every public
function of store.h that the SQLite backend defines is renamed store_x -> sqlite_x
(definitions and calls). Idempotent: names already renamed stay.

Always: regenerates the blocks between "GENERATED BEGIN" and "GENERATED END" from
store.h's prototypes:
  - store_ops.h: one function pointer per public function (struct store_ops),
    plus STORE_OPS_NAMES(X), an X-macro of the members (the NULL-entry test);
  - store.c: one wrapper per function, `return s->ops->x(...);`;
  - sqlite_int.h / pg_int.h: the backend's prototypes (sqlite_x / pg_x);
  - sqlite_ops.c / pg_ops.c: the tables store_sqlite_ops / store_pg_ops (whole files).
The functions in the table: every store.h function except the ones store.c or
secrets.c implement for all backends (COMMON) and the *_array_free() ones
(memory only, in the SQLite files for now, shared by both backends).
Then clang-format -i on what it wrote (and on the renamed files).
"""
import os
import re
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
STORE = os.path.join(ROOT, 'src', 'store')
COMMON = {'store_open', 'store_close', 'store_schema_version', 'store_seal_text',
          'store_open_text', 'store_derive_key', 'store_mac_hex', 'store_mac_verify',
          'store_copy', 'store_error_counts'}
BACKENDS = [('sqlite', 'sqlite_int.h', 'sqlite_ops.c', 'SQLite'),
            ('pg', 'pg_int.h', 'pg_ops.c', 'PostgreSQL')]


def prototypes():
    """(ret, name, params) of every function declared in store.h, in order."""
    text = open(os.path.join(STORE, 'store.h')).read()
    text = re.sub(r'/\*.*?\*/', '', text, flags=re.S)
    text = re.sub(r'^#.*$', '', text, flags=re.M)
    text = re.sub(r'struct\s+\w+\s*\{[^}]*\}\s*;', '', text, flags=re.S)
    out = []
    for m in re.finditer(r'([A-Za-z_][\w \t]*?[\s\*]+)(store_\w+)\s*\(([^;{)]*)\)\s*;', text):
        ret = ' '.join(m.group(1).split())
        params = ' '.join(m.group(3).split())
        out.append((ret, m.group(2), params))
    return out


def arg_names(params):
    if params == 'void':
        return []
    names = []
    for p in params.split(','):
        p = re.sub(r'\[.*?\]', '', p).strip()
        names.append(re.findall(r'\w+', p)[-1])
    return names


def table_functions():
    return [(r, n, p) for r, n, p in prototypes()
            if n not in COMMON and not n.endswith('_array_free')]


def replace_block(path, body):
    text = open(path).read()
    m = re.search(r'(/\* GENERATED BEGIN[^\n]*\*/\n).*?(/\* GENERATED END \*/)', text, re.S)
    if not m:
        sys.exit('%s: no GENERATED block' % path)
    text = text[:m.start()] + m.group(1) + body + m.group(2) + text[m.end():]
    open(path, 'w').write(text)


def rename(funcs):
    names = [n[len('store_'):] for _, n, _ in funcs]
    files = [f for f in sorted(os.listdir(STORE))
             if f.startswith('sqlite_') and (f.endswith('.c') or f == 'sqlite_int.h')
             and f != 'sqlite_ops.c']
    changed = []
    pat = re.compile(r'\bstore_(%s)\b' % '|'.join(sorted(names, key=len, reverse=True)))
    for f in files:
        path = os.path.join(STORE, f)
        text = open(path).read()
        new = pat.sub(r'sqlite_\1', text)
        if new != text:
            open(path, 'w').write(new)
            print('renamed in', f)
            changed.append(path)
    return changed


def main():
    funcs = table_functions()
    written = []
    if '--rename' in sys.argv[1:]:
        # sqlite_ is one character longer than store_: continuation lines move (clang-format).
        written += [os.path.relpath(p, STORE) for p in rename(funcs)]
    members = ''.join('%s (*%s)(%s);\n' % (r, n[6:], p) for r, n, p in funcs)
    # One member per line, outside clang-format (it does not reflow a long macro stably).
    members += ('// clang-format off\n#define STORE_OPS_NAMES(X) \\\n%s\n// clang-format on\n'
                % ' \\\n'.join('    X(%s)' % n[6:] for _, n, _ in funcs))
    replace_block(os.path.join(STORE, 'store_ops.h'), members)
    written.append('store_ops.h')
    wrappers = ''
    for r, n, p in funcs:
        call = 's->ops->%s(%s)' % (n[6:], ', '.join(arg_names(p)))
        body = ('%s;' % call) if r == 'void' else ('return %s;' % call)
        wrappers += '%s %s(%s)\n{\n    %s\n}\n\n' % (r, n, p, body)
    replace_block(os.path.join(STORE, 'store.c'), wrappers)
    written.append('store.c')
    for prefix, header, table, title in BACKENDS:
        if not os.path.exists(os.path.join(STORE, header)):
            continue
        decls = ''.join('%s %s_%s(%s);\n' % (r, prefix, n[6:], p) for r, n, p in funcs)
        replace_block(os.path.join(STORE, header), decls)
        written.append(header)
        ent = ''.join('    .%s = %s_%s,\n' % (n[6:], prefix, n[6:]) for _, n, _ in funcs)
        src = ('/* %s - the %s backend\'s table (store_ops.h). Generated by\n'
               ' * scripts/dev/store_vtable.py from store.h: do not edit. */\n'
               '#include "%s"\n\n'
               'const struct store_ops store_%s_ops = {\n'
               '    .name = "%s",\n    .open = %s_open,\n    .close = %s_close,\n%s};\n'
               % (table, title, header, prefix, 'postgres' if prefix == 'pg' else prefix,
                  prefix, prefix, ent))
        open(os.path.join(STORE, table), 'w').write(src)
        written.append(table)
    subprocess.run(['clang-format', '-i'] + [os.path.join(STORE, f) for f in written],
                   check=True)
    print('generated', ', '.join(written), '(%d functions)' % len(funcs))


if __name__ == '__main__':
    main()
