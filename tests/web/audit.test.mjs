// Unit tests of web/assets/audit.js: the portal's wording of audit log entries.
// Run: node --test tests/web/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditAction, auditResult, auditResultKind, auditQuery } from '../../web/assets/audit.js';

test('canonical routes and their aliases read the same', () => {
  const cases = [
    ['DELETE', '/v1/api-keys/{id}', 'Revoked an API key'],
    ['POST', '/v1/sites', 'Added a site'], ['POST', '/sites', 'Added a site'],
    ['PATCH', '/sites/{id}', 'Changed a site'],
    ['PUT', '/v1/control-plane/policies/{id}', 'Changed a policy'],
    ['PUT', '/control-plane/policies/{id}', 'Changed a policy'],
    ['PUT', '/control-plane/policies/{id}/sites', 'Attached sites to a policy'],
    ['POST', '/v1/control-plane/{site}/transient-access', 'Opened transient access'],
    ['DELETE', '/control-plane/{site}/transient-accesses/{id}', 'Revoked transient access'],
    ['PATCH', '/api/routers/{site}/transient-forwarding/{id}', 'Extended a port forward'],
    ['DELETE', '/api/routers/{id}/jobs/{job}', 'Cancelled a job'],
    ['POST', '/api/asynchronous/{id}', 'Queued a job'],
    ['POST', '/v1/auth/logout', 'Signed out'],
  ];
  for (const [method, route, want] of cases) assert.equal(auditAction({ method, route, status: 200 }), want, `${method} ${route}`);
});

test('a failed sign-in says so; an unknown route shows its method and pattern', () => {
  assert.equal(auditAction({ method: 'POST', route: '/v1/auth/login', status: 200 }), 'Signed in');
  assert.equal(auditAction({ method: 'POST', route: '/v1/auth/login', status: 401 }), 'Sign-in failed');
  assert.equal(auditAction({ method: 'POST', route: '/v1/widgets/{id}', status: 201 }), 'POST /v1/widgets/{id}');
  assert.equal(auditAction({ method: 'GET', route: '/v1/sites', status: 200 }), 'GET /v1/sites');
});

test('results and filters', () => {
  assert.equal(auditResult({ status: 204, error_code: null }), '204');
  assert.equal(auditResult({ status: 404, error_code: 'resource_missing' }), '404 resource_missing');
  assert.equal(auditResultKind(201), 'ok');
  assert.equal(auditResultKind(403), 'failed');
  assert.equal(auditResultKind(503), 'failed');
  assert.equal(auditQuery({}), '');
  assert.equal(auditQuery({ result: '4xx', object: ' ab ', actor: '' }), '?result=4xx&object=ab');
});
