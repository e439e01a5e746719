// context.js - the portal's shared state: who is signed in, the page title, and the timers and
// pollers a page starts. Pages import it instead of app.js; it imports nothing and touches the
// DOM only when called, so any page module (or a unit test) can be imported alone.

/** The signed-in principal: {user, scopes}; session.can('site:create'). */
export const session = {
  me: null,
  can(scope) {
    const s = (this.me && this.me.scopes) || [];
    return s.includes('admin') || s.includes(scope);
  },
  get isAdmin() { return ((this.me && this.me.scopes) || []).includes('admin'); },
};

// Timers and pollers a page starts; all stopped when the route changes (leavePage).
const cleanups = new Set();
export function onLeave(fn) { cleanups.add(fn); }
export function every(ms, fn) {
  const t = setInterval(fn, ms);
  onLeave(() => clearInterval(t));
  return t;
}

/** Runs and forgets every onLeave callback; the router calls it before it draws the next page. */
export function leavePage() {
  for (const fn of cleanups) { try { fn(); } catch (_) { /* page gone */ } }
  cleanups.clear();
}

export function setPageTitle(t) { document.title = t ? `${t} · tikgate` : 'tikgate'; }
