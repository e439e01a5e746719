// page-admin.js - admin pages: API keys (secret shown once), users (invite, roles, disable) and
// the audit log.
import { api, apiList } from './api.js';
import { auditAction, auditQuery, auditResult, auditResultKind } from './audit.js';
import { session, setPageTitle } from './context.js';
import { h, clear, put, pageHead, table, badge, fmtTime, timeEl, loading, errorBox, openDialog, field, formError,
  clearErrors, showApiError, showError, confirmDialog, announce, copyRow } from './ui.js';

const SCOPE_GROUPS = [
  ['Policies', ['cpf:view', 'cpf:create', 'cpf:update', 'cpf:delete']],
  ['Sites', ['site:view', 'site:create', 'site:update', 'site:delete', 'site:action']],
  ['API credentials', ['credentials:view', 'credentials:rotate']],
  ['Transient access', ['transient:view', 'transient:create', 'transient:delete']],
  ['Jobs', ['job:view', 'job:create', 'job:delete']],
  ['Everything', ['admin']],
];

function adminOnly(root) {
  if (session.isAdmin) return false;
  root.append(pageHead('Not allowed'), h('p', { class: 'alert alert-error', role: 'alert' }, 'Only admins can open this page.'));
  return true;
}

// ---------------------------------------------------------------- API keys

export async function apiKeysPage(root) {
  setPageTitle('API keys');
  if (adminOnly(root)) return;
  const add = h('button', { type: 'button', class: 'btn btn-primary', id: 'new-key' }, 'New API key');
  const list = h('div', { id: 'key-list' }, loading());
  root.append(pageHead('API keys', add),
    h('p', { class: 'muted' }, 'Keys let scripts and other systems use the tikgate API with the scopes you give them. The secret is shown once, when the key is made.'),
    list);
  const load = async () => {
    try {
      const keys = await apiList('/v1/api-keys');
      put(list, table('API keys', ['Name', 'Prefix', 'Scopes', 'Created', 'Last used', 'State', ''],
        keys.slice().reverse().map((k) => ({ rowHeader: true, attrs: { 'data-key-id': k.id, class: k.revoked_at ? 'row-expired' : '' }, cells: [
          k.name, h('code', null, `${k.prefix}…`), h('span', { class: 'scopes' }, k.scopes.join(' ')),
          fmtTime(k.created_at), timeEl(k.last_used_at),
          k.revoked_at ? badge('revoked', 'revoked') : badge('active', 'ok'),
          k.revoked_at ? '' : h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet', onclick: () => revoke(k) }, 'Revoke'),
        ] })), { empty: 'No API keys.' }));
    } catch (err) { put(list, errorBox(err, load)); }
  };
  const revoke = async (k) => {
    if (!await confirmDialog({ title: 'Revoke API key?', danger: true, confirmLabel: 'Revoke',
      message: `${k.name} (${k.prefix}…) stops working at once. This cannot be undone.` })) return;
    try { await api('DELETE', `/v1/api-keys/${k.id}`); announce(`API key ${k.name} revoked`); await load(); } catch (err) { clear(list).prepend(errorBox(err)); }
  };
  add.addEventListener('click', () => {
    const name = h('input', { type: 'text', maxlength: 64, autofocus: true, autocomplete: 'off' });
    const checks = SCOPE_GROUPS.map(([g, scopes]) => h('div', { class: 'scope-group' }, h('p', { class: 'scope-group-title' }, g),
      scopes.map((s) => { const id = `scope-${s.replace(':', '-')}`; return h('label', { class: 'check', for: id }, h('input', { type: 'checkbox', value: s, id }), ' ', h('code', null, s)); })));
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create key');
    const cancel = h('button', { type: 'button', class: 'btn' }, 'Cancel');
    const form = h('form', { novalidate: true }, formError(),
      field({ label: 'Name', control: name, param: 'name', hint: 'What uses it, e.g. "billing sync".' }),
      h('fieldset', { class: 'field', dataset: { param: 'scopes' } }, h('legend', null, 'Scopes'), h('div', { class: 'scope-grid' }, checks),
        h('p', { class: 'field-error', hidden: true })),
      h('div', { class: 'form-actions' }, cancel, submit));
    const d = openDialog({ title: 'New API key', content: form, wide: true });
    cancel.addEventListener('click', () => d.close());
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      const scopes = [...form.querySelectorAll('input[type=checkbox]:checked')].map((c) => c.value);
      let bad = false;
      if (!name.value.trim()) { showError(form, 'name', 'Enter a name.'); bad = true; }
      if (!scopes.length) { showError(form, 'scopes', 'Choose at least one scope.', { focus: !bad }); bad = true; }
      if (bad) return;
      try {
        const k = await api('POST', '/v1/api-keys', { name: name.value.trim(), scopes });
        d.close();
        await load();
        const done = h('button', { type: 'button', class: 'btn btn-primary' }, 'I have stored it');
        const s = openDialog({ title: 'Your new API key', wide: true, content: [
          h('p', { class: 'alert alert-warn' }, 'Copy the secret now: it is shown only this once and cannot be read again.'),
          copyRow('Secret', k.secret, 'api-key-secret'),
          h('p', { class: 'muted small' }, 'Use it as: Authorization: Bearer <secret>'),
          h('div', { class: 'form-actions' }, done)] });
        done.addEventListener('click', () => s.close());
      } catch (err) { showApiError(form, err); }
    });
  });
  await load();
}

// ---------------------------------------------------------------- users

const ROLES = [['admin', 'Admin: everything, users and API keys'], ['operator', 'Operator: sites, policies, access; no users or keys'],
  ['read-only', 'Read-only: can look, cannot change']];

export async function usersPage(root) {
  setPageTitle('Users');
  if (adminOnly(root)) return;
  const add = h('button', { type: 'button', class: 'btn btn-primary', id: 'new-user' }, 'Add user');
  const list = h('div', { id: 'user-list' }, loading());
  const err = h('div', { 'aria-live': 'polite' });
  root.append(pageHead('Users', add), h('p', { class: 'muted' }, 'People who sign in to this portal, and what their role lets them do.'), err, list);
  const me = session.me && session.me.user ? session.me.user.id : null;
  const load = async () => {
    try {
      const users = await apiList('/v1/users');
      put(list, table('Users', ['E-mail', 'Role', 'State', 'Last sign-in', 'Actions'],
        users.map((u) => {
          const sel = h('select', { 'aria-label': `Role of ${u.email}`, disabled: u.id === me },
            ROLES.map(([r]) => h('option', { value: r, selected: u.role === r }, r)));
          sel.addEventListener('change', () => patch(u, { role: sel.value }, `${u.email} is now ${sel.value}`));
          const self = u.id === me;
          return { rowHeader: true, attrs: { 'data-user-id': u.id }, cells: [
            [u.email, self ? h('span', { class: 'muted' }, ' (you)') : null],
            sel,
            u.disabled ? badge('disabled', 'revoked') : badge('active', 'ok'),
            timeEl(u.last_login_at),
            self ? '' : h('div', { class: 'row-actions' },
              h('button', { type: 'button', class: 'btn btn-small', onclick: () => patch(u, { disabled: !u.disabled }, `${u.email} ${u.disabled ? 'enabled' : 'disabled'}`) },
                u.disabled ? 'Enable' : 'Disable'),
              h('button', { type: 'button', class: 'btn btn-small', onclick: () => resetPassword(u) }, 'Set password'),
              h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet', onclick: () => remove(u) }, 'Delete')),
          ] };
        })));
    } catch (e) { put(list, errorBox(e, load)); }
  };
  const patch = async (u, body, msg) => {
    clear(err);
    try { await api('PATCH', `/v1/users/${u.id}`, body); announce(msg); } catch (e) { err.append(errorBox(e)); }
    await load();
  };
  const remove = async (u) => {
    if (!await confirmDialog({ title: 'Delete user?', danger: true, confirmLabel: 'Delete user', message: `${u.email} can no longer sign in.` })) return;
    clear(err);
    try { await api('DELETE', `/v1/users/${u.id}`); announce(`${u.email} deleted`); } catch (e) { err.append(errorBox(e)); }
    await load();
  };
  const resetPassword = (u) => {
    const pw = h('input', { type: 'password', autocomplete: 'new-password', autofocus: true });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Set password');
    const cancel = h('button', { type: 'button', class: 'btn' }, 'Cancel');
    const form = h('form', { novalidate: true }, formError(),
      field({ label: `New password for ${u.email}`, control: pw, param: 'password', hint: 'Their open sessions end.' }),
      h('div', { class: 'form-actions' }, cancel, submit));
    const d = openDialog({ title: 'Set password', content: form });
    cancel.addEventListener('click', () => d.close());
    form.addEventListener('submit', async (e) => {
      e.preventDefault(); clearErrors(form);
      try { await api('PATCH', `/v1/users/${u.id}`, { password: pw.value }); d.close(); announce('Password set'); } catch (x) { showApiError(form, x); }
    });
  };
  add.addEventListener('click', () => {
    const email = h('input', { type: 'email', autocomplete: 'off', autofocus: true });
    const role = h('select', null, ROLES.map(([r, t]) => h('option', { value: r, selected: r === 'operator' }, t)));
    const pw = h('input', { type: 'password', autocomplete: 'new-password' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add user');
    const cancel = h('button', { type: 'button', class: 'btn' }, 'Cancel');
    const form = h('form', { novalidate: true }, formError(),
      field({ label: 'E-mail address', control: email, param: 'email' }),
      field({ label: 'Role', control: role, param: 'role' }),
      field({ label: 'Password (optional)', control: pw, param: 'password', hint: 'Leave empty to get a one-time password to hand over.' }),
      h('div', { class: 'form-actions' }, cancel, submit));
    const d = openDialog({ title: 'Add user', content: form });
    cancel.addEventListener('click', () => d.close());
    form.addEventListener('submit', async (e) => {
      e.preventDefault(); clearErrors(form);
      if (!email.value.trim()) return showError(form, 'email', 'Enter an e-mail address.');
      const body = { email: email.value.trim(), role: role.value };
      if (pw.value) body.password = pw.value;
      try {
        const u = await api('POST', '/v1/users', body);
        d.close();
        await load();
        if (u.password) {
          const ok = h('button', { type: 'button', class: 'btn btn-primary' }, 'Done');
          const s = openDialog({ title: 'Invitation', content: [
            h('p', null, `Give ${u.email} this one-time password; it is not shown again.`),
            copyRow('Password', u.password, 'invite-password'), h('div', { class: 'form-actions' }, ok)] });
          ok.addEventListener('click', () => s.close());
        } else announce(`${u.email} added`);
      } catch (x) { showApiError(form, x); }
    });
  });
  await load();
}

// ---------------------------------------------------------------- audit log

const AUDIT_PAGE = 100;

export async function auditPage(root) {
  setPageTitle('Audit log');
  if (adminOnly(root)) return;
  const result = h('select', { id: 'audit-result' }, [['', 'All results'], ['2xx', 'Succeeded (2xx)'],
    ['4xx', 'Refused (4xx)'], ['5xx', 'Server errors (5xx)']].map(([v, t]) => h('option', { value: v }, t)));
  const object = h('input', { type: 'search', id: 'audit-object', placeholder: 'an id', autocomplete: 'off', spellcheck: 'false' });
  const filters = h('form', { class: 'filters', id: 'audit-filters', role: 'search', 'aria-label': 'Filter the audit log' },
    field({ label: 'Result', control: result, param: 'result' }),
    field({ label: 'Object', control: object, param: 'object', hint: 'A site, grant, policy, job, key or user id.' }),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn' }, 'Filter')));
  const list = h('div', { id: 'audit-list' }, loading());
  const more = h('button', { type: 'button', class: 'btn', id: 'audit-more', hidden: true }, 'Older entries');
  root.append(pageHead('Audit log'),
    h('p', { class: 'muted' }, 'Every change made through the API or this portal, and every sign-in, newest first. Entries cannot be edited or deleted.'),
    filters, list, h('div', { class: 'form-actions' }, more));
  let entries = [];
  const row = (e) => ({ rowHeader: true, attrs: { 'data-audit-id': e.id }, cells: [
    timeEl(e.at),
    [e.actor.name || '—', h('span', { class: 'muted small' }, e.actor.kind === 'user' ? ' (user)' : ' (API key)')],
    [auditAction(e), h('div', { class: 'muted small' }, h('code', null, `${e.method} ${e.route}`))],
    e.object_id ? h('code', { class: 'small' }, e.object_id) : '—',
    badge(auditResult(e), auditResultKind(e.status)),
    e.source,
    h('code', { class: 'small', title: 'X-Request-Id' }, e.request_id),
  ] });
  const show = () => put(list, table('Audit log', ['When', 'Who', 'Action', 'Object', 'Result', 'From', 'Request id'],
    entries.map(row), { empty: 'No entries match.' }));
  const load = async (older) => {
    const q = auditQuery({ result: result.value, object: object.value });
    const sep = q ? '&' : '?';
    const after = older && entries.length ? `&after_id=${encodeURIComponent(entries[entries.length - 1].id)}` : '';
    try {
      const page = await api('GET', `/v1/audit${q}${sep}limit=${AUDIT_PAGE}${after}`);
      entries = older ? entries.concat(page) : page;
      more.hidden = page.length < AUDIT_PAGE;
      show();
    } catch (err) { put(list, errorBox(err, () => load(older))); }
  };
  filters.addEventListener('submit', (e) => { e.preventDefault(); load(false); });
  more.addEventListener('click', () => load(true));
  await load(false);
}

