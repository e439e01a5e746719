"""The fleet view's routes on a full history (docs/API.md "Fleet"): N sites (default 1000)
adopted by rows, 7 days of up-time hours each (168 rows a site) and 24 h of 5-minute samples,
then the median and worst time of GET /v1/fleet/summary, /v1/fleet/history and one page of
/v1/fleet/uptime (limit 1000) over R requests (default 20). SQLite only (the rows are written
behind the daemon's back with sqlite3). A figure, not a test.

    BUILD=build N=1000 R=20 python3 bench/fleet.py
"""
import os
import sqlite3
import statistics
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
os.environ.setdefault('TIKGATED', os.path.join(ROOT, os.environ.get('BUILD', 'build'), 'src',
                                               'daemon', 'tikgated'))
import tg  # noqa: E402

N = int(os.environ.get('N', '1000'))
R = int(os.environ.get('R', '20'))


def main():
    d = tg.Daemon(env={'TIKGATE_POLL_INTERVAL': '60'})
    try:
        d.start()
        site = d.request('POST', '/v1/sites', {'name': 'template'}).json
        db = sqlite3.connect(os.path.join(d.data_dir, 'tikgate.db'), timeout=30)
        now = int(time.time())
        hour = now - now % 3600
        with db:
            cols = [r[1] for r in db.execute('PRAGMA table_info(sites)')]
            uniq = {'id', 'name', 'bootstrap_token_hash', 'bootstrap_token_sealed'}
            rest = [c for c in cols if c not in uniq]
            for i in range(N):
                sid = '0190%04x-0000-7000-8000-%012x' % (i % 65536, i)
                db.execute('INSERT INTO sites(id, name, bootstrap_token_hash, bootstrap_token_sealed, %s) '
                           'SELECT ?, ?, randomblob(32), bootstrap_token_sealed, %s FROM sites WHERE id = ?'
                           % (', '.join(rest), ', '.join(rest)), (sid, 'site %d' % i, site['id']))
                db.execute("UPDATE sites SET status = 'online', adopted_at = ? WHERE id = ?",
                           (now - 8 * 86400, sid))
                db.executemany('INSERT INTO site_uptime(site_id, hour, up_s) VALUES (?, ?, ?)',
                               [(sid, hour - h * 3600, 3600 - (i + h) % 7) for h in range(168)])
            tenant = db.execute('SELECT tenant_id FROM sites WHERE id = ?', (site['id'],)).fetchone()[0]
            step = 300000
            at = now * 1000 - now * 1000 % step
            db.executemany('INSERT OR IGNORE INTO fleet_samples VALUES (?, ?, ?, ?)',
                           [(tenant, at - k * step, k % 9, k % 13) for k in range(288)])
        db.close()
        print('fleet bench: %d sites, %d up-time rows, 288 samples, %d requests each' % (N, N * 168, R))
        for path in ('/v1/fleet/summary', '/v1/fleet/history?hours=24',
                     '/v1/fleet/uptime?days=7&limit=1000'):
            times = []
            for _ in range(R):
                t = time.perf_counter()
                r = d.request('GET', path)
                times.append((time.perf_counter() - t) * 1000)
                assert r.status == 200, r
            print('  GET %-38s median %7.1f ms  max %7.1f ms  (%d bytes)'
                  % (path, statistics.median(times), max(times), len(r.raw)))
        db = sqlite3.connect(os.path.join(d.data_dir, 'tikgate.db'), timeout=30)
        t = time.perf_counter()
        rows = db.execute(
            'SELECT u.site_id, (u.hour - ?2) / 86400, sum(u.up_s) FROM site_uptime u JOIN sites s '
            'ON s.id = u.site_id WHERE s.tenant_id = ?1 AND u.hour >= ?2 AND s.created_at >= 0 AND '
            's.created_at <= ?3 GROUP BY 1, 2 ORDER BY 1, 2',
            (tenant, hour - 6 * 86400, now + 1)).fetchall()
        print('  the store\'s up-time query alone (sqlite3 module): %.1f ms, %d rows'
              % ((time.perf_counter() - t) * 1000, len(rows)))
        print('  plan:', ' / '.join(r[3] for r in db.execute(
            'EXPLAIN QUERY PLAN SELECT u.site_id, (u.hour - ?2) / 86400, sum(u.up_s) FROM site_uptime u JOIN sites s '
            'ON s.id = u.site_id WHERE s.tenant_id = ?1 AND u.hour >= ?2 AND s.created_at >= 0 AND '
            's.created_at <= ?3 GROUP BY 1, 2 ORDER BY 1, 2', (tenant, hour - 6 * 86400, now + 1))))
        db.close()
    finally:
        d.cleanup()


if __name__ == '__main__':
    main()
