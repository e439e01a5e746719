// audit.js - what an audit log entry (GET /v1/audit) says, in words. Pure: no DOM, no fetch.
// The server records the route pattern matched; aliases (/sites, /control-plane/...,
// /api/routers/...) read the same as their canonical /v1 path.

// [method, pattern of the canonical route without /v1, phrase]
const ACTIONS = [
  ['POST', /^\/auth\/login$/, 'Signed in'],
  ['POST', /^\/auth\/logout$/, 'Signed out'],
  ['POST', /^\/users$/, 'Added a user'],
  ['PATCH', /^\/users\/\{id\}$/, 'Changed a user'],
  ['DELETE', /^\/users\/\{id\}$/, 'Deleted a user'],
  ['POST', /^\/api-keys$/, 'Created an API key'],
  ['DELETE', /^\/api-keys\/\{id\}$/, 'Revoked an API key'],
  ['POST', /^\/control-plane\/policies$/, 'Created a policy'],
  ['PUT', /^\/control-plane\/policies\/\{id\}$/, 'Changed a policy'],
  ['DELETE', /^\/control-plane\/policies\/\{id\}$/, 'Deleted a policy'],
  ['POST|PUT', /^\/control-plane\/policies\/\{id\}\/sites$/, 'Attached sites to a policy'],
  ['POST', /^\/control-plane\/\{site\}\/credentials$/, 'Rotated the API credentials'],
  ['POST', /^\/control-plane\/\{site\}\/action$/, 'Ran a site action'],
  ['POST', /^\/control-plane\/\{site\}\/transient-access(es)?$/, 'Opened transient access'],
  ['PATCH', /^\/control-plane\/\{site\}\/transient-access(es)?\/\{id\}$/, 'Extended transient access'],
  ['DELETE', /^\/control-plane\/\{site\}\/transient-access(es)?\/\{id\}$/, 'Revoked transient access'],
  ['POST', /^\/(control-plane|api\/routers)\/\{site\}\/transient-forward(ing)?$/, 'Opened a port forward'],
  ['PATCH', /^\/(control-plane|api\/routers)\/\{site\}\/transient-forward(ing)?\/\{id\}$/, 'Extended a port forward'],
  ['DELETE', /^\/(control-plane|api\/routers)\/\{site\}\/transient-forward(ing)?\/\{id\}$/, 'Revoked a port forward'],
  ['POST', /^\/sites$/, 'Added a site'],
  ['PATCH', /^\/sites\/\{id\}$/, 'Changed a site'],
  ['DELETE', /^\/sites\/\{id\}$/, 'Deleted a site'],
  ['POST', /^\/sites\/\{id\}\/bootstrap$/, 'Re-armed a site\'s bootstrap'],
  ['POST', /^\/sites\/\{id\}\/move$/, 'Moved a site to another edge'],
  ['PUT', /^\/sites\/\{id\}\/note$/, 'Edited a site note'],
  ['POST', /^\/(sites|api\/routers)\/\{id\}\/jobs$/, 'Queued a job'],
  ['POST', /^\/api\/asynchronous\/\{id\}$/, 'Queued a job'],
  ['DELETE', /^\/(sites|api\/routers)\/\{id\}\/jobs\/\{job\}$/, 'Cancelled a job'],
];

/** The entry's action in words ("Revoked an API key"), else its method and route. */
export function auditAction(e) {
  const route = String(e.route || '').replace(/^\/v1(?=\/)/, '');
  for (const [methods, re, phrase] of ACTIONS) {
    if (methods.split('|').includes(e.method) && re.test(route)) {
      return phrase === 'Signed in' && e.status >= 400 ? 'Sign-in failed' : phrase;
    }
  }
  return `${e.method} ${e.route}`;
}

/** 'ok' for 1xx-3xx, 'failed' for 4xx and 5xx: the badge kind of the result. */
export function auditResultKind(status) {
  return status >= 400 ? 'failed' : 'ok';
}

/** The result as shown: "204", "404 resource_missing". */
export function auditResult(e) {
  return e.error_code ? `${e.status} ${e.error_code}` : String(e.status);
}

/** The query string of the list's filters ({result, object, actor}); empty values are left out. */
export function auditQuery(filters) {
  const q = new URLSearchParams();
  for (const k of ['result', 'object', 'actor']) {
    const v = (filters[k] || '').trim();
    if (v) q.set(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
