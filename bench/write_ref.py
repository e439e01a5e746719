#!/usr/bin/env python3
"""bench/write_ref.py DB SITE_ID SECONDS - the reference of bench/write.sh (not a test).
   bench/write_ref.py --sql DB SITE_ID - prints the statements bench/write_ref.c runs, one per
   line: INSERT ... SELECT copies of the warm-up create's rows with ?1 job id, ?2 grant id,
   ?3 port, ?4 entry point, ?5 a random name.

What one `POST .../transient-access` writes, without HTTP, authentication or validation: in
a copy of tikgated's own database (same schema, same indexes and triggers), with the
durability settings tikgated uses (journal_mode=WAL, synchronous=NORMAL, foreign_keys=ON), one
transaction per create, BEGIN IMMEDIATE ... COMMIT, inserting the rows a create inserted there:
the grant, its setup job and the job's events (copied from the row the warm-up request made,
with fresh ids, port and user). Python's sqlite3 module, so the loop itself costs a few µs per
statement on top of SQLite. Prints creates/s.
"""
import os
import sqlite3
import sys
import time
import uuid

if sys.argv[1] == '--sql':
    c = sqlite3.connect(sys.argv[2])
    g = c.execute('SELECT id, setup_job_id FROM grants WHERE site_id = ? LIMIT 1',
                  (sys.argv[3],)).fetchone()
    subst = {'jobs': {'id': '?1', 'token': '?5', 'idempotency_key': 'NULL'},
             'grants': {'id': '?2', 'setup_job_id': '?1', 'port': '?3', 'entry_point': '?4',
                        'username': '?5'},
             'job_events': {'id': None, 'job_id': '?1'}}
    where = {'jobs': "id = '%s'" % g[1], 'grants': "id = '%s'" % g[0],
             'job_events': "job_id = '%s'" % g[1]}
    for t in ('jobs', 'grants', 'job_events'):
        cols = [r[1] for r in c.execute('PRAGMA table_info(%s)' % t)
                if subst[t].get(r[1], '') is not None]
        exprs = [subst[t].get(k, k) for k in cols]
        print('INSERT INTO %s(%s) SELECT %s FROM %s WHERE %s' % (
            t, ','.join(cols), ','.join(exprs), t, where[t]))
    sys.exit(0)
db, site, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
c = sqlite3.connect(db, isolation_level=None)
c.execute('PRAGMA journal_mode=WAL')
c.execute('PRAGMA synchronous=NORMAL')
c.execute('PRAGMA foreign_keys=ON')
c.row_factory = sqlite3.Row
g = dict(c.execute('SELECT * FROM grants WHERE site_id = ? LIMIT 1', (site,)).fetchone())
j = dict(c.execute('SELECT * FROM jobs WHERE id = ?', (g['setup_job_id'],)).fetchone())
evs = [dict(r) for r in c.execute('SELECT * FROM job_events WHERE job_id = ?', (j['id'],))]
for e in evs:
    e.pop('id', None)
gcols, jcols = list(g), list(j)
gsql = 'INSERT INTO grants(%s) VALUES (%s)' % (','.join(gcols), ','.join('?' * len(gcols)))
jsql = 'INSERT INTO jobs(%s) VALUES (%s)' % (','.join(jcols), ','.join('?' * len(jcols)))
ecols = list(evs[0]) if evs else []
esql = 'INSERT INTO job_events(%s) VALUES (%s)' % (','.join(ecols), ','.join('?' * len(ecols)))
n = 0
t_end = time.perf_counter() + secs
t0 = time.perf_counter()
while time.perf_counter() < t_end:
    jid, gid = str(uuid.uuid4()), str(uuid.uuid4())
    j.update(id=jid, token=os.urandom(12).hex())
    if 'idempotency_key' in j:
        j['idempotency_key'] = None
    # a port is unique per entry point among live grants: 65 000 per made-up entry point
    g.update(id=gid, setup_job_id=jid, port=n % 65000 + 1, entry_point='ref-%d' % (n // 65000),
             username=os.urandom(12).hex())
    c.execute('BEGIN IMMEDIATE')
    c.execute(jsql, [j[k] for k in jcols])
    c.execute(gsql, [g[k] for k in gcols])
    for e in evs:
        e['job_id'] = jid
        c.execute(esql, [e[k] for k in ecols])
    c.execute('COMMIT')
    n += 1
print('%.0f' % (n / (time.perf_counter() - t0)))
