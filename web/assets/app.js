// app.js - the portal's entry point: hash router, header, sign-in page and sign-out.
// Only index.html loads it; pages take the shared state from context.js, never from here.
import { api, getToken, setToken, setSessionEndedHandler } from './api.js';
import { h, clear, put, field, formError, clearErrors, showApiError, announce, errorBox, loading } from './ui.js';
import { session, leavePage, setPageTitle } from './context.js';
import { sitesPage } from './page-sites.js';
import { sitePage } from './page-site.js';
import { policiesPage, policyPage } from './page-policies.js';
import { apiKeysPage, usersPage } from './page-admin.js';
import { dashboardPage } from './page-fleet.js';

let signInMessage = '';

setSessionEndedHandler(() => {
  session.me = null;
  signInMessage = 'Your session ended. Sign in again.';
  if (!location.hash.startsWith('#/login')) location.hash = '#/login';
  else route();
});

const main = () => document.getElementById('main');

function renderHeader(active) {
  const top = document.getElementById('topbar');
  top.hidden = !session.me;
  if (!session.me) return;
  const u = session.me.user || {};
  document.getElementById('whoami').textContent = `${u.email || session.me.name || ''} (${u.role || session.me.kind})`;
  top.querySelectorAll('[data-admin]').forEach((li) => { li.hidden = !session.isAdmin; });
  top.querySelectorAll('[data-nav]').forEach((a) => {
    if (a.dataset.nav === active) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
}

function loginPage(root) {
  setPageTitle('Sign in');
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true, autofocus: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Sign in');
  const ferr = formError();
  const form = h('form', { class: 'login-form', novalidate: true, 'aria-labelledby': 'login-title' },
    h('div', { class: 'login-brand' }, h('img', { src: '/assets/logo.svg', alt: '', width: 40, height: 40 }),
      h('span', null, 'tikgate')),
    h('h1', { id: 'login-title', tabindex: '-1' }, 'Sign in'),
    signInMessage ? h('p', { class: 'alert alert-info', role: 'status' }, signInMessage) : null,
    ferr,
    field({ label: 'E-mail address', control: email, param: 'email' }),
    field({ label: 'Password', control: password, param: 'password' }),
    submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    if (!email.value.trim()) return showApiError(form, { param: 'email', message: 'Enter your e-mail address.' });
    if (!password.value) return showApiError(form, { param: 'password', message: 'Enter your password.' });
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    try {
      const r = await api('POST', '/v1/auth/login', { email: email.value.trim(), password: password.value }, { anonymous: true });
      setToken(r.token);
      signInMessage = '';
      session.me = await api('GET', '/v1/auth/me');
      const back = sessionStorage.getItem('tikgate.after-login');
      sessionStorage.removeItem('tikgate.after-login');
      location.hash = back && !back.startsWith('#/login') ? back : '#/sites';
    } catch (err) {
      let msg = err.message;
      if (err.status === 429) msg = `${err.message}`;
      // Wrong e-mail or password is not one field's fault: say so above the form.
      showApiError(form, err.code === 'invalid_credentials' ? { message: msg } : err);
      if (err.code === 'invalid_credentials') password.select();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Sign in';
    }
  });
  root.append(h('div', { class: 'login-wrap' }, form));
}

const routes = [
  [/^#\/login$/, 'login', (root) => loginPage(root)],
  [/^#\/dashboard$/, 'dashboard', (root) => dashboardPage(root)],
  [/^#\/sites$/, 'sites', (root) => sitesPage(root)],
  [/^#\/sites\/([0-9a-f-]{36})(?:\/([a-z-]+))?$/, 'sites', (root, m) => sitePage(root, m[1], m[2] || 'overview')],
  [/^#\/policies$/, 'policies', (root) => policiesPage(root)],
  [/^#\/policies\/(new|[0-9a-f-]{36})$/, 'policies', (root, m) => policyPage(root, m[1])],
  [/^#\/api-keys$/, 'api-keys', (root) => apiKeysPage(root)],
  [/^#\/users$/, 'users', (root) => usersPage(root)],
];

async function route() {
  leavePage();
  // A message about the page left behind does not belong on the next one.
  // (A message said just before this navigation, e.g. "Policy deleted", stays.)
  const toast = document.getElementById('toast');
  if (Date.now() - Number(toast.dataset.at || 0) > 1000) toast.classList.remove('show');
  const root = clear(main());
  let hash = location.hash || '#/sites';
  if (!getToken()) {
    session.me = null;
    if (hash !== '#/login') {
      sessionStorage.setItem('tikgate.after-login', hash);
      location.hash = '#/login';
      return;
    }
  } else if (!session.me) {
    root.append(loading());
    try {
      session.me = await api('GET', '/v1/auth/me');
    } catch (err) {
      if (!getToken()) return; // the session-ended handler moved us to sign-in
      put(root, errorBox(err, route));
      return;
    }
    clear(root);
  }
  if (getToken() && hash === '#/login') { location.hash = '#/sites'; return; }
  const found = routes.find(([re]) => re.test(hash));
  if (!found) { location.hash = '#/sites'; return; }
  const [re, nav, render] = found;
  renderHeader(nav);
  document.body.classList.toggle('signed-out', !session.me);
  const prevFocusInMain = document.activeElement && document.activeElement !== document.body;
  await render(root, re.exec(hash));
  // Move focus to the new page's heading so screen readers announce the change.
  if (prevFocusInMain || route.count++ > 0) {
    const t = root.querySelector('#page-title, h1');
    if (t && !root.contains(document.activeElement)) t.focus({ preventScroll: true });
  }
}
route.count = 0;

document.addEventListener('DOMContentLoaded', () => {
  document.getElementById('signout').addEventListener('click', async () => {
    try { await api('POST', '/v1/auth/logout'); } catch (_) { /* the token is dropped anyway */ }
    setToken(null);
    session.me = null;
    signInMessage = 'You signed out.';
    announce('Signed out');
    location.hash = '#/login';
  });
  document.getElementById('skip-link').addEventListener('click', (e) => {
    e.preventDefault();
    const m = main();
    (m.querySelector('h1') || m).focus();
  });
  window.addEventListener('hashchange', route);
  route();
});
