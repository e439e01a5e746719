#!/usr/bin/env python3
"""One-off: the first draft of src/store/pg_<entity>.c from sqlite_<entity>.c.

    scripts/dev/pg_from_sqlite.py ENTITY...     (e.g. tenants jobs)

Renames the SQLite calls to the pg_int.h twins (same signatures); the SQL is copied as is
and then edited by hand where PostgreSQL's dialect differs (docs/internals/store.md, "The
second backend"). Kept to show how the pg_ files began and to draft a new entity's file; it
refuses to overwrite an existing pg_ file.
"""
import os
import re
import sys

STORE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'src', 'store')
SUBS = [
    (r'sqlite3_bind_text\((\w+), ([^,]+), ([^,]+), -1, SQLITE_TRANSIENT\)', r'pg_bind_text(\1, \2, \3)'),
    (r'sqlite3_bind_blob\((\w+), ([^,]+), ([^,]+), ([^,]+), SQLITE_(?:STATIC|TRANSIENT)\)',
     r'pg_bind_blob(\1, \2, \3, \4)'),
    (r'sqlite3_column_type\((\w+), ([^)]+)\) == SQLITE_NULL', r'pg_column_isnull(\1, \2)'),
    (r'sqlite3_column_type\((\w+), ([^)]+)\) != SQLITE_NULL', r'!pg_column_isnull(\1, \2)'),
    (r'sqlite3_changes\((\w+)->db\)', r'pg_changes(\1)'),
    (r'\bsqlite3_stmt\b', 'struct pg_stmt'),
    (r'\bsqlite3_int64\b', 'int64_t'),
    (r'\bsqlite3_(bind_int64|bind_int|bind_null|column_text|column_int64|column_int|column_blob|'
     r'column_bytes|column_count|step|reset|clear_bindings)\b', r'pg_\1'),
    (r'\bSQLITE_ROW\b', 'PG_ROW'), (r'\bSQLITE_DONE\b', 'PG_DONE'),
    (r'\bstruct store_conn\b', 'struct pg_session'),
    (r'\bstore_conn\(', 'pg_session('),
    (r'\bstore_(prepare|stmt|begin_stmt|begin|commit|rollback|end|step_done|step_changed|'
     r'map_rc|collect|step_row|read_int|read_id|site_owned|page_check|bind_page|'
     r'tenant_page_stmt|site_row|policy_insert_conn)\b', r'pg_\1'),
    (r'\b(bind_text|bind_time|col_strdup|col_copy|col_time)\(', r'pg_\1('),
    (r'\bSITE_COLUMNS\b', 'PG_SITE_COLUMNS'),
    (r'\bsqlite_(\w+)\(', r'pg_\1('),
    (r'#include "sqlite_int.h"', '#include "pg_int.h"'),
    (r'sqlite_(\w+)\.c - ', r'pg_\1.c - '),
    (r'the SQLite store', 'the PostgreSQL store'),
]

for ent in sys.argv[1:]:
    src = os.path.join(STORE, 'sqlite_%s.c' % ent)
    dst = os.path.join(STORE, 'pg_%s.c' % ent)
    if os.path.exists(dst):
        sys.exit('%s exists' % dst)
    text = open(src).read()
    for pat, rep in SUBS:
        text = re.sub(pat, rep, text)
    open(dst, 'w').write(text)
    left = sorted(set(re.findall(r'\b(?:sqlite3?_\w+|SQLITE_\w+)', text)))
    print(dst, 'left:', ' '.join(left) or '-')
