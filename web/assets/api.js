// api.js - the portal's only door to tikgated's JSON API.
// The session token lives in sessionStorage (one tab, gone when the tab closes).

const TOKEN_KEY = 'tikgate.token';

export class ApiError extends Error {
  constructor(status, body) {
    const b = body && typeof body === 'object' ? body : {};
    super(b.message || `The server answered ${status}.`);
    this.status = status;
    this.type = b.type || 'api_error';
    this.code = b.code || 'unknown';
    this.param = b.param || null;
    this.retryAfter = null;
  }
}

let onSessionEnded = () => {};

export function setSessionEndedHandler(fn) { onSessionEnded = fn; }
export function getToken() { return sessionStorage.getItem(TOKEN_KEY); }
export function setToken(t) {
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/**
 * api('GET', '/v1/sites') -> parsed JSON (or null for 204).
 * Throws ApiError carrying {status, type, code, message, param}.
 */
export async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  const token = getToken();
  if (token && !opts.anonymous) headers.Authorization = `Bearer ${token}`;
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload, cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    const err = new ApiError(0, { type: 'network_error', code: 'network_error',
      message: 'tikgated cannot be reached. Check the connection and try again.' });
    throw err;
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    err.retryAfter = res.headers.get('Retry-After');
    if (res.status === 401 && !opts.anonymous && token) {
      setToken(null);
      onSessionEnded(err);
    }
    throw err;
  }
  return data;
}

export const enc = encodeURIComponent;

// The largest page tikgated hands out (docs/API.md "Paging").
const PAGE_MAX = 1000;

/**
 * apiList('/v1/sites') -> every item of a paged list, following after_id until a
 * page comes back shorter than the limit. path may carry a query already.
 */
export async function apiList(path) {
  const sep = path.includes('?') ? '&' : '?';
  const all = [];
  for (;;) {
    const after = all.length ? `&after_id=${enc(all[all.length - 1].id)}` : '';
    const page = await api('GET', `${path}${sep}limit=${PAGE_MAX}${after}`);
    all.push(...page);
    if (page.length < PAGE_MAX) return all;
  }
}
