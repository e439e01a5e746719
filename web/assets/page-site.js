// page-site.js - one site: Overview, Transient Access, Port Forwards, Orchestration Log,
// API Credentials. Each tab is its own URL (#/sites/ID/tab).
import { api, apiList, enc } from './api.js';
import { session, every, onLeave, setPageTitle } from './context.js';
import { h, clear, put, tabList, table, badge, timeEl, fmtTime, countdown, loading, errorBox, openDialog,
  confirmDialog, field, formError, clearErrors, showApiError, showError, copyRow, copyButton, announce,
  menuButton, nextId, statusBadge, tunnelBadge } from './ui.js';
import { renderMarkdown } from './markdown.js';
import { cidrProblem } from './cidr.js';

const TABS = [
  { id: 'overview', label: 'Overview' },
  { id: 'access', label: 'Transient Access' },
  { id: 'forwards', label: 'Port Forwards' },
  { id: 'log', label: 'Orchestration Log' },
  { id: 'credentials', label: 'API Credentials' },
];

const ACTIONS = [
  { action: 'site.reboot', label: 'Reboot router', text: 'The router restarts; it is unreachable for a minute or two.' },
  { action: 'site.clear_firewall', label: 'Clear firewall', text: 'Every firewall filter rule on the router is removed, then the management rules are put back.' },
  { action: 'site.recreate_management_filter', label: 'Recreate management filter', text: 'The management firewall rules are removed and written again from the site\'s policy.' },
  { action: 'site.resend_api_user', label: 'Resend API user', text: 'The tikgate API user is written to the router again with the current password.' },
  { action: 'site.recreate_tunnel', label: 'Recreate management VPN', text: 'The router\'s side of the management VPN (the edge peer, its tunnel address and the input accept) is written again; the key stays.' },
  { action: 'site.upgrade', label: 'Upgrade RouterOS', text: 'The router downloads the latest RouterOS of its channel and reboots into it.' },
];

const VALIDITY = [[10, '10 minutes'], [30, '30 minutes'], [60, '1 hour'], [120, '2 hours'], [240, '4 hours'],
  [480, '8 hours'], [720, '12 hours'], [1440, '24 hours']];

export async function sitePage(root, siteId, tab) {
  if (!TABS.some((t) => t.id === tab)) { location.hash = `#/sites/${siteId}`; return; }
  root.append(loading());
  let site;
  try {
    site = await api('GET', `/v1/sites/${enc(siteId)}`);
  } catch (err) {
    put(root, h('p', null, h('a', { href: '#/sites' }, '← Sites')), errorBox(err));
    return;
  }
  const tabLabel = TABS.find((t) => t.id === tab).label;
  setPageTitle(`${site.name} · ${tabLabel}`);
  const panelId = 'site-panel';
  const statusSlot = h('span', { id: 'site-status' }, statusBadge(site.status));
  put(root, 
    h('nav', { 'aria-label': 'Breadcrumb', class: 'crumbs' }, h('a', { href: '#/sites' }, 'Sites'), h('span', { 'aria-hidden': 'true' }, ' / '), h('span', { 'aria-current': 'page' }, site.name)),
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1', id: 'page-title' }, site.name, ' ', statusSlot)),
    tabList('Site sections', TABS.map((t) => ({ ...t, href: `#/sites/${site.id}/${t.id}` })), tab, panelId));
  const panel = h('section', { id: panelId, role: 'tabpanel', 'aria-labelledby': `tab-${tab}`, class: 'tabpanel' });
  root.append(panel);
  const ctx = { site, panel, statusSlot };
  const pages = { overview, access: accessTab, forwards: forwardsTab, log: logTab, credentials: credentialsTab };
  await pages[tab](ctx);
}

// ---------------------------------------------------------------- Overview

/** The tunnel's health: badge, then when it last shook hands, from where, and the bytes. */
function tunnelFacts(t) {
  if (!t) return '—';
  const bytes = (n) => (n >= 1048576 ? `${(n / 1048576).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
  const parts = [tunnelBadge(t)];
  if (t.mode === 'managed') {
    parts.push(h('span', { class: 'muted' }, ` handshake `), timeEl(t.last_handshake_at));
    if (t.endpoint) parts.push(h('span', { class: 'muted' }, ` · from ${t.endpoint}`));
    parts.push(h('span', { class: 'muted' }, ` · ↓ ${bytes(t.rx_bytes)} ↑ ${bytes(t.tx_bytes)}`));
  }
  return parts;
}

async function overview(ctx) {
  const { panel } = ctx;
  let site = ctx.site;
  const facts = h('dl', { class: 'facts', id: 'site-facts' });
  const policySlot = h('div');
  const actionsSlot = h('div', { class: 'overview-actions' });
  const noteSlot = h('section', { class: 'card', 'aria-labelledby': 'note-title' });
  let policies = [];
  try { policies = await apiList('/v1/control-plane/policies'); } catch (err) { panel.append(errorBox(err)); }
  const policyName = (id) => (policies.find((p) => p.id === id) || {}).name || id;

  const drawFacts = () => {
    const row = (k, v) => [h('dt', null, k), h('dd', null, v)];
    put(facts, ...[
      row('Status', statusBadge(site.status)),
      row('Last seen', [timeEl(site.last_seen_at), site.last_seen_at ? h('span', { class: 'muted' }, ` (${fmtTime(site.last_seen_at)})`) : null]),
      row('Identity', site.identity || '—'),
      row('Model', site.model || '—'),
      row('Serial number', site.serial_number || '—'),
      row('RouterOS', site.software_version || '—'),
      row('Tunnel address', site.tunnel_address || '—'),
      row('Management VPN', tunnelFacts(site.tunnel)),
      row('Policy', h('a', { href: `#/policies/${site.policy_id}` }, policyName(site.policy_id))),
      row('Added', fmtTime(site.created_at))].flat());
    put(ctx.statusSlot, statusBadge(site.status));
  };
  drawFacts();

  const factsCard = h('section', { class: 'card', 'aria-labelledby': 'facts-title' },
    h('div', { class: 'card-head' }, h('h2', { id: 'facts-title' }, 'Router'), actionsSlot), facts);
  if (site.status === 'pending_onboarding' && site.bootstrap_command) {
    factsCard.append(h('div', { class: 'alert alert-info' },
      h('p', null, 'This site waits for its router. Paste the bootstrap command into the router\'s terminal:'),
      copyRow('Bootstrap command', site.bootstrap_command, 'bootstrap-command'),
      site.bootstrap_expires_at ? h('p', { class: 'muted small' }, `Valid until ${fmtTime(site.bootstrap_expires_at)}.`) : null));
  } else if (site.status === 'pending_onboarding' && session.can('site:update')) {
    // The command is withheld once its token expired (security-review F4): offer a new one.
    const renew = h('button', { type: 'button', class: 'btn btn-small', id: 'renew-bootstrap' }, 'New bootstrap command');
    const box = h('div', { class: 'alert alert-info', id: 'bootstrap-expired' },
      h('p', null, 'The bootstrap command of this site has expired. Issue a new one to onboard its router.'), renew);
    renew.addEventListener('click', async () => {
      renew.disabled = true;
      try {
        const s2 = await api('POST', `/v1/sites/${site.id}/bootstrap`);
        put(box, h('p', null, 'Paste the bootstrap command into the router\'s terminal:'),
          copyRow('Bootstrap command', s2.bootstrap_command || '', 'bootstrap-command'));
      } catch (err) { renew.disabled = false; box.append(errorBox(err)); }
    });
    factsCard.append(box);
  }
  panel.append(h('div', { class: 'grid-2' }, factsCard, h('div', null, policySlot, noteSlot)));

  // Actions menu (and delete) for those who may.
  const items = [];
  if (session.can('site:action')) {
    for (const a of ACTIONS) {
      items.push({ label: a.label, onSelect: async () => {
        const ok = await confirmDialog({ title: `${a.label}?`, message: `${a.text} Site: ${site.name}.`,
          confirmLabel: a.label, danger: a.action === 'site.reboot' || a.action === 'site.clear_firewall' });
        if (!ok) return;
        try {
          const r = await api('POST', `/v1/control-plane/${site.id}/action`, { action: a.action });
          announce(`${r.message || 'Action queued'}: ${a.label}. Follow it in the Orchestration Log.`);
        } catch (err) {
          announce(`${a.label} failed: ${err.message}`);
          showActionError(actionsSlot, err);
        }
      } });
    }
  }
  if (session.can('site:update')) items.push({ label: 'Rename site…', onSelect: () => renameDialog() });
  if (session.can('site:delete')) {
    items.push({ label: 'Delete site…', danger: true, onSelect: async () => {
      const ok = await confirmDialog({ title: 'Delete site?', danger: true, confirmLabel: 'Delete site',
        message: `${site.name} and its history are removed from tikgate. The router keeps its configuration.` });
      if (!ok) return;
      try {
        await api('DELETE', `/v1/sites/${site.id}`);
        announce(`Site ${site.name} deleted`);
        location.hash = '#/sites';
      } catch (err) { showActionError(actionsSlot, err); }
    } });
  }
  if (items.length) actionsSlot.append(menuButton('Actions', items));

  function renameDialog() {
    const name = h('input', { type: 'text', value: site.name, maxlength: 64, autofocus: true });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save');
    const cancel = h('button', { type: 'button', class: 'btn' }, 'Cancel');
    const form = h('form', { novalidate: true }, formError(), field({ label: 'Name', control: name, param: 'name' }),
      h('div', { class: 'form-actions' }, cancel, submit));
    const d = openDialog({ title: 'Rename site', content: form });
    cancel.addEventListener('click', () => d.close());
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      try {
        site = await api('PATCH', `/v1/sites/${site.id}`, { name: name.value.trim() });
        d.close();
        announce('Site renamed');
        location.reload();
      } catch (err) { showApiError(form, err); }
    });
  }

  // Policy picker.
  if (session.can('site:update') && policies.length) {
    const sel = h('select', { id: 'site-policy' }, policies.map((p) => h('option', { value: p.id, selected: p.id === site.policy_id },
      p.default ? `${p.name} (default)` : p.name)));
    const save = h('button', { type: 'submit', class: 'btn' }, 'Apply policy');
    const form = h('form', { class: 'inline-form', novalidate: true }, formError(),
      field({ label: 'Policy for this site', control: sel, param: 'policy_id', hint: 'Changing it pushes the new policy to the router.' }), save);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      if (sel.value === site.policy_id) return;
      try {
        site = await api('PATCH', `/v1/sites/${site.id}`, { policy_id: sel.value });
        drawFacts();
        announce(`Policy ${policyName(site.policy_id)} applied`);
      } catch (err) { showApiError(form, err); }
    });
    policySlot.append(h('section', { class: 'card', 'aria-labelledby': 'pol-title' }, h('h2', { id: 'pol-title' }, 'Policy'), form));
  }

  await noteEditor(site, noteSlot);

  every(5000, async () => {
    try { site = await api('GET', `/v1/sites/${site.id}`); drawFacts(); } catch (_) { /* shown on next load */ }
  });
}

function showActionError(slot, err) {
  let box = slot.querySelector('.form-error');
  if (!box) { box = h('p', { class: 'form-error', role: 'alert', tabindex: '-1' }); slot.append(box); }
  box.hidden = false;
  box.textContent = err.message;
}

async function noteEditor(site, slot) {
  const title = h('h2', { id: 'note-title' }, 'Note');
  const view = h('div', { class: 'markdown', id: 'note-view' });
  const meta = h('p', { class: 'muted small' });
  const head = h('div', { class: 'card-head' }, title);
  slot.append(head, view, meta);
  let note;
  try {
    note = await api('GET', `/v1/sites/${site.id}/note`);
  } catch (err) { slot.append(errorBox(err)); return; }
  const show = () => {
    view.innerHTML = note.content ? renderMarkdown(note.content) : '';
    if (!note.content) view.append(h('p', { class: 'muted' }, 'No note yet.'));
    meta.textContent = note.updated_at ? `Edited ${fmtTime(note.updated_at)}${note.updated_by ? ` by ${note.updated_by}` : ''}` : '';
  };
  show();
  if (!session.can('site:update')) return;
  const editBtn = h('button', { type: 'button', class: 'btn btn-small', id: 'note-edit' }, 'Edit note');
  head.append(editBtn);
  editBtn.addEventListener('click', () => {
    editBtn.hidden = true;
    view.hidden = true;
    meta.hidden = true;
    const ta = h('textarea', { rows: 10, class: 'mono', id: 'note-text', spellcheck: 'true' });
    ta.value = note.content || '';
    const preview = h('div', { class: 'markdown preview', id: 'note-preview', 'aria-live': 'polite', hidden: true });
    const writeBtn = h('button', { type: 'button', class: 'btn btn-small', 'aria-pressed': 'true' }, 'Write');
    const prevBtn = h('button', { type: 'button', class: 'btn btn-small', 'aria-pressed': 'false', id: 'note-preview-btn' }, 'Preview');
    const save = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save note');
    const cancel = h('button', { type: 'button', class: 'btn' }, 'Cancel');
    const form = h('form', { novalidate: true, class: 'note-form' }, formError(),
      h('div', { class: 'seg', role: 'group', 'aria-label': 'Editor mode' }, writeBtn, prevBtn),
      field({ label: 'Note (Markdown)', control: ta, param: 'content',
        hint: 'Markdown: # heading, **bold**, *italic*, `code`, - lists, [links](https://…). HTML is shown as text.' }),
      preview,
      h('div', { class: 'form-actions' }, cancel, save));
    slot.append(form);
    ta.focus();
    const mode = (p) => {
      writeBtn.setAttribute('aria-pressed', String(!p));
      prevBtn.setAttribute('aria-pressed', String(p));
      preview.hidden = !p;
      ta.closest('.field').hidden = p;
      if (p) {
        preview.innerHTML = ta.value.trim() ? renderMarkdown(ta.value) : '';
        if (!ta.value.trim()) preview.append(h('p', { class: 'muted' }, 'Nothing to preview.'));
      }
    };
    writeBtn.addEventListener('click', () => { mode(false); ta.focus(); });
    prevBtn.addEventListener('click', () => mode(true));
    const done = () => { form.remove(); editBtn.hidden = false; view.hidden = false; meta.hidden = false; editBtn.focus(); };
    cancel.addEventListener('click', done);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      save.disabled = true;
      try {
        note = await api('PUT', `/v1/sites/${site.id}/note`, { content: ta.value });
        show();
        done();
        announce('Note saved');
      } catch (err) {
        mode(false);
        showApiError(form, err);
      } finally { save.disabled = false; }
    });
  });
}

// ---------------------------------------------------------------- grants (shared)

function validitySelect() {
  return h('select', { name: 'expire_after_minutes' },
    VALIDITY.map(([m, t]) => h('option', { value: m, selected: m === 120 }, t)));
}

function cidrInput() {
  return h('input', { type: 'text', name: 'allow_only_cidr', placeholder: 'your address (default)',
    value: localStorage.getItem('tikgate.last-cidr') || '', autocomplete: 'off', spellcheck: 'false', inputmode: 'text' });
}

function checkCidr(form, input) {
  const v = input.value.trim();
  if (!v) return true;
  const p = cidrProblem(v);
  if (p) { showError(form, 'allow_only_cidr', p); return false; }
  return true;
}

/** Live countdowns: every element with data-expires gets "1 h 2 min 3 s" (or "expired"). */
function tickCountdowns(root) {
  const now = Date.now();
  root.querySelectorAll('[data-expires]').forEach((el) => {
    const c = countdown(el.dataset.expires, now);
    const t = c || 'expired';
    if (el.textContent !== t) el.textContent = t;
  });
}

function setupStatus(g) {
  if (g.config_committed_to_site) return badge('ready', 'ok');
  return badge('setting up…', 'pending');
}

/**
 * The list pattern shared by Transient Access and Port Forwards: active on top with a live
 * countdown, expired ones listed apart below; refreshes itself.
 */
async function grantsTab(ctx, opts) {
  const { panel, site } = ctx;
  const canAdd = session.can('transient:create');
  const addBtn = canAdd ? h('button', { type: 'button', class: 'btn btn-primary', id: opts.addId }, 'Add') : null;
  const active = h('div', { id: `${opts.kind}-active` }, loading());
  const expired = h('div', { id: `${opts.kind}-expired` });
  const expiredDetails = h('details', { class: 'expired-list' },
    h('summary', null, h('h3', { class: 'inline-h' }, 'Expired and revoked'), ' ', h('span', { class: 'muted', id: `${opts.kind}-expired-count` })),
    expired);
  panel.append(
    h('div', { class: 'section-head' }, h('h2', null, opts.title), addBtn),
    h('p', { class: 'muted' }, opts.intro),
    h('section', { 'aria-label': `Active ${opts.title.toLowerCase()}` }, active),
    expiredDetails);
  let items = [];
  const draw = () => {
    const now = Date.now();
    const live = items.filter((g) => !g.expired && new Date(g.expires_at).getTime() > now);
    const gone = items.filter((g) => !live.includes(g)).reverse();
    const focusedId = document.activeElement && document.activeElement.closest('[data-grant-id]')
      ? document.activeElement.closest('[data-grant-id]').dataset.grantId : null;
    const focusedLabel = document.activeElement ? document.activeElement.textContent : null;
    put(active, table(`Active ${opts.title}`, opts.activeHeaders,
      live.map((g) => ({ attrs: { 'data-grant-id': g.id }, cells: opts.activeCells(g, actionsFor(g)) })),
      { empty: opts.emptyActive }));
    put(expired, table(`Expired ${opts.title}`, opts.expiredHeaders,
      gone.map((g) => ({ attrs: { 'data-grant-id': g.id, class: 'row-expired' }, cells: opts.expiredCells(g) })),
      { empty: 'None.' }));
    document.getElementById(`${opts.kind}-expired-count`).textContent = `(${gone.length})`;
    tickCountdowns(active);
    if (focusedId) {
      const row = active.querySelector(`[data-grant-id="${focusedId}"]`);
      const btn = row && [...row.querySelectorAll('button')].find((b) => b.textContent === focusedLabel);
      if (btn) btn.focus();
    }
  };
  const actionsFor = (g) => {
    const out = [];
    if (opts.details) out.push(h('button', { type: 'button', class: 'btn btn-small', onclick: () => opts.details(g) }, opts.detailsLabel));
    if (session.can('transient:delete')) {
      out.push(h('button', { type: 'button', class: 'btn btn-small btn-danger-quiet', onclick: () => revoke(g) }, 'Revoke'));
    }
    return h('div', { class: 'row-actions' }, out);
  };
  const load = async () => {
    try {
      // A plain list answers the current grants only; ?state=all adds the expired and revoked
      // ones for the section below (docs/API.md).
      items = await apiList(`/v1/control-plane/${site.id}/${opts.path}?state=all`);
      draw();
    } catch (err) { put(active, errorBox(err, load)); }
  };
  const revoke = async (g) => {
    const ok = await confirmDialog({ title: 'Revoke?', danger: true, confirmLabel: 'Revoke',
      message: opts.revokeText(g) });
    if (!ok) return;
    try {
      await api('DELETE', `/v1/control-plane/${site.id}/${opts.path}/${g.id}`);
      announce('Revoked. The router-side teardown is queued.');
      await load();
    } catch (err) { announce(`Revoke failed: ${err.message}`); clear(active).prepend(errorBox(err)); }
  };
  if (addBtn) addBtn.addEventListener('click', () => opts.addDialog(site, async (g) => { await load(); if (opts.afterAdd) opts.afterAdd(g); }));
  await load();
  every(1000, () => { tickCountdowns(active); if (items.some((g) => !g.expired && new Date(g.expires_at).getTime() <= Date.now())) draw(); });
  every(4000, load);
  ctx.reload = load;
}

// ---------------------------------------------------------------- Transient Access

async function accessTab(ctx) {
  await grantsTab(ctx, {
    kind: 'access', path: 'transient-access', title: 'Transient Access', addId: 'add-access',
    intro: 'Short-lived WinBox or SSH logins through tikgate\'s edge. They are removed from the router when they expire or are revoked.',
    emptyActive: 'No active transient access. Add one to get a temporary login.',
    activeHeaders: ['Type', 'Access', 'Allowed from', 'Created by', 'Router', 'Expires in', 'Actions'],
    activeCells: (g, actions) => [
      g.type === 'ssh' ? 'SSH' : 'WinBox',
      g.full_access ? 'Full' : 'Read-only',
      [g.allow_only_cidr, g.allow_rfc1918 ? h('span', { class: 'muted' }, ' + RFC 1918') : null],
      g.created_by || '—',
      setupStatus(g),
      h('span', { class: 'countdown', 'data-expires': g.expires_at, title: fmtTime(g.expires_at) }, g.time_to_expire || ''),
      actions,
    ],
    expiredHeaders: ['Type', 'Username', 'Allowed from', 'Ended', 'How', 'Removed from router'],
    expiredCells: (g) => [
      g.type === 'ssh' ? 'SSH' : 'WinBox', h('code', null, g.username), g.allow_only_cidr, fmtTime(g.expires_at),
      g.revoked_early ? badge('revoked', 'revoked') : badge('expired', 'expired'),
      g.config_removed_from_site ? 'yes' : 'pending'],
    details: credentialsModal, detailsLabel: 'Credentials',
    revokeText: (g) => `The ${g.type === 'ssh' ? 'SSH' : 'WinBox'} login ${g.username} stops working now; open sessions are cut.`,
    addDialog: addAccessDialog,
  });
}

function addAccessDialog(site, onCreated) {
  const full = h('input', { type: 'checkbox', name: 'full_access' });
  const rfc = h('input', { type: 'checkbox', name: 'allow_rfc1918' });
  const cidr = cidrInput();
  const validity = validitySelect();
  const typeName = nextId('type');
  const winbox = h('input', { type: 'radio', name: typeName, value: 'winbox', checked: true, id: `${typeName}-w` });
  const ssh = h('input', { type: 'radio', name: typeName, value: 'ssh', id: `${typeName}-s` });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add');
  const cancel = h('button', { type: 'button', class: 'btn' }, 'Cancel');
  const typeErr = h('p', { class: 'field-error', id: `${typeName}-err`, hidden: true });
  const form = h('form', { novalidate: true, id: 'access-form' }, formError(),
    field({ label: 'Full Access', control: full, param: 'full_access', inline: true,
      hint: 'On: the user may change the router. Off: read-only.' }),
    field({ label: 'Allow RFC1918', control: rfc, param: 'allow_rfc1918', inline: true,
      hint: 'Allow connecting from private addresses (10/8, 172.16/12, 192.168/16).' }),
    field({ label: 'Allow From CIDR', control: cidr, param: 'allow_only_cidr',
      hint: 'Who may connect. Empty means your own address; give a range when the credentials are for someone else.' }),
    field({ label: 'Validity', control: validity, param: 'expire_after_minutes' }),
    h('fieldset', { class: 'field', dataset: { param: 'type' }, 'aria-describedby': typeErr.id },
      h('legend', null, 'Access Type'),
      h('div', { class: 'radios' },
        h('label', { for: winbox.id, class: 'radio' }, winbox, ' WinBox'),
        h('label', { for: ssh.id, class: 'radio' }, ssh, ' SSH')),
      typeErr),
    h('div', { class: 'form-actions' }, cancel, submit));
  const d = openDialog({ title: 'Add transient access', content: form });
  cancel.addEventListener('click', () => d.close());
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    if (!checkCidr(form, cidr)) return;
    const body = { expire_after_minutes: Number(validity.value), type: ssh.checked ? 'ssh' : 'winbox',
      full_access: full.checked, allow_rfc1918: rfc.checked };
    if (cidr.value.trim()) body.allow_only_cidr = cidr.value.trim();
    submit.disabled = true;
    try {
      const g = await api('POST', `/v1/control-plane/${site.id}/transient-access`, body);
      if (body.allow_only_cidr) localStorage.setItem('tikgate.last-cidr', body.allow_only_cidr);
      d.close();
      announce(`Transient ${g.type === 'ssh' ? 'SSH' : 'WinBox'} access added, valid for ${validity.selectedOptions[0].textContent}. Use Credentials to log in.`);
      onCreated(g);
    } catch (err) { showApiError(form, err); } finally { submit.disabled = false; }
  });
}

function credentialsModal(g) {
  const endpoint = `${g.entry_point}:${g.port}`;
  const isSsh = g.type === 'ssh';
  const content = [
    g.config_committed_to_site ? null : h('p', { class: 'alert alert-info', role: 'status' },
      'The router is still being set up for this login; it works once the job in the Orchestration Log completes.'),
    h('div', { class: 'copy-list', id: 'credentials-list' },
      copyRow('Endpoint', endpoint, 'endpoint'),
      copyRow('Username', g.username, 'username'),
      // The password is in the answer for transient:create holders only (security-review F6).
      g.password !== undefined ? copyRow('Password', g.password, 'password') : null),
    g.password !== undefined ? null : h('p', { class: 'muted small', id: 'password-withheld' },
      'The password is shown to users who may create transient access (your role can only view).'),
    isSsh
      ? h('div', { class: 'copy-list' }, copyRow('Command', `ssh -p ${g.port} ${g.username}@${g.entry_point}`, 'ssh-command'))
      : h('p', null, h('a', { href: g.onclick, class: 'btn btn-primary', id: 'winbox-link' }, 'Open in WinBox'),
        ' ', h('span', { class: 'muted small' }, 'or paste the endpoint, username and password into WinBox\'s login window.')),
    h('p', { class: 'muted small' }, 'Expires ', h('span', { 'data-expires': g.expires_at }, countdown(g.expires_at) || 'now'),
      ` from now (${fmtTime(g.expires_at)}). The endpoint is tikgate's edge, which relays to the router.`),
  ];
  const close = h('button', { type: 'button', class: 'btn' }, 'Close');
  content.push(h('div', { class: 'form-actions' }, close));
  const d = openDialog({ title: `${isSsh ? 'SSH' : 'WinBox'} credentials`, content, wide: true });
  d.el.id = 'credentials-modal';
  close.addEventListener('click', () => d.close());
  const t = setInterval(() => tickCountdowns(d.el), 1000);
  d.done.then(() => clearInterval(t));
  onLeave(() => d.close());
}

// ---------------------------------------------------------------- Port Forwards

async function forwardsTab(ctx) {
  await grantsTab(ctx, {
    kind: 'forward', path: 'transient-forward', title: 'Port Forwards', addId: 'add-forward',
    intro: 'Temporary forwards from tikgate\'s edge to a device behind the router (a camera, a switch, a web UI).',
    emptyActive: 'No active port forwards.',
    activeHeaders: ['Destination', 'Connect to', 'Allowed from', 'Masquerade', 'Router', 'Expires in', 'Actions'],
    activeCells: (g, actions) => [
      h('code', null, `${g.dst_address}:${g.dst_port}`),
      h('span', { class: 'nowrap' }, h('code', null, `${g.entry_point}:${g.port}`), ' ', copyButton(`${g.entry_point}:${g.port}`, 'endpoint')),
      g.allow_only_cidr,
      g.masquerade ? 'yes' : 'no',
      setupStatus(g),
      h('span', { class: 'countdown', 'data-expires': g.expires_at, title: fmtTime(g.expires_at) }, g.time_to_expire || ''),
      actions,
    ],
    expiredHeaders: ['Destination', 'Port', 'Allowed from', 'Ended', 'How', 'Removed from router'],
    expiredCells: (g) => [h('code', null, `${g.dst_address}:${g.dst_port}`), String(g.port), g.allow_only_cidr,
      fmtTime(g.expires_at), g.revoked_early ? badge('revoked', 'revoked') : badge('expired', 'expired'),
      g.config_removed_from_site ? 'yes' : 'pending'],
    revokeText: (g) => `The forward to ${g.dst_address}:${g.dst_port} stops now; open connections are cut.`,
    addDialog: addForwardDialog,
  });
}

function addForwardDialog(site, onCreated) {
  const dst = h('input', { type: 'text', name: 'dst_address', required: true, autofocus: true, autocomplete: 'off', spellcheck: 'false' });
  const port = h('input', { type: 'number', name: 'dst_port', min: 1, max: 65535, required: true, inputmode: 'numeric' });
  const cidr = cidrInput();
  const validity = validitySelect();
  const masq = h('input', { type: 'checkbox', name: 'masquerade' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add');
  const cancel = h('button', { type: 'button', class: 'btn' }, 'Cancel');
  const form = h('form', { novalidate: true, id: 'forward-form' }, formError(),
    field({ label: 'Destination address', control: dst, param: 'dst_address', hint: 'An address in the router\'s LAN, e.g. 192.168.88.20.' }),
    field({ label: 'Destination port', control: port, param: 'dst_port' }),
    field({ label: 'Allow From CIDR', control: cidr, param: 'allow_only_cidr', hint: 'Empty means your own address.' }),
    field({ label: 'Validity', control: validity, param: 'expire_after_minutes' }),
    field({ label: 'Masquerade', control: masq, param: 'masquerade', inline: true,
      hint: 'The device sees the router as the source (needed when its gateway is not the router).' }),
    h('div', { class: 'form-actions' }, cancel, submit));
  const d = openDialog({ title: 'Add port forward', content: form });
  cancel.addEventListener('click', () => d.close());
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    let ok = true;
    const dv = dst.value.trim();
    if (!dv) { showError(form, 'dst_address', 'Enter the device\'s address.'); ok = false; }
    else if (cidrProblem(dv) || dv.includes('/')) { showError(form, 'dst_address', `'${dv}' is not an IP address.`); ok = false; }
    const pv = Number(port.value);
    if (!Number.isInteger(pv) || pv < 1 || pv > 65535) { showError(form, 'dst_port', 'Enter a port from 1 to 65535.', { focus: ok }); ok = false; }
    if (ok && !checkCidr(form, cidr)) ok = false;
    if (!ok) return;
    const body = { dst_address: dv, dst_port: pv, expire_after_minutes: Number(validity.value), masquerade: masq.checked };
    if (cidr.value.trim()) body.allow_only_cidr = cidr.value.trim();
    submit.disabled = true;
    try {
      const g = await api('POST', `/v1/control-plane/${site.id}/transient-forward`, body);
      if (body.allow_only_cidr) localStorage.setItem('tikgate.last-cidr', body.allow_only_cidr);
      d.close();
      announce(`Port forward added: connect to ${g.entry_point}:${g.port}`);
      onCreated(g);
    } catch (err) { showApiError(form, err); } finally { submit.disabled = false; }
  });
}

// ---------------------------------------------------------------- Orchestration Log

const JOB_STATUS = { pending: 'pending', running: 'running', completed: 'ok', failed: 'failed', deleted: 'expired' };

async function logTab(ctx) {
  const { panel, site } = ctx;
  const auto = h('input', { type: 'checkbox', checked: true, id: 'log-auto' });
  const stamp = h('span', { class: 'muted small', role: 'status', id: 'log-updated' });
  const list = h('ol', { class: 'jobs', id: 'job-list', 'aria-label': 'Jobs, newest first' });
  const emptyMsg = h('p', { class: 'empty', hidden: true }, 'No jobs yet. Changes to this site queue jobs here.');
  panel.append(
    h('div', { class: 'section-head' }, h('h2', null, 'Orchestration Log'),
      h('label', { class: 'toggle', for: 'log-auto' }, auto, ' Refresh every 3 s')),
    h('p', { class: 'muted' }, 'Every change tikgate makes on the router is a job. Newest first; open a job to see its events. ', stamp),
    emptyMsg, list);
  const rows = new Map(); // job id -> {li, statusSlot, ..., open}
  const drawEvents = async (r) => {
    try {
      const j = await api('GET', `/v1/sites/${site.id}/jobs/${r.id}`);
      put(r.events, j.events && j.events.length
        ? h('ol', { class: 'events' }, j.events.map((ev) => h('li', null,
          h('time', { datetime: ev.at }, fmtTime(ev.at)), ' ', badge(ev.kind, 'event'), ' ', h('span', null, ev.message))))
        : h('p', { class: 'muted' }, 'No events yet.'));
      if (j.script) r.events.append(h('details', null, h('summary', null, 'Script'), h('pre', null, h('code', null, j.script))));
    } catch (err) { put(r.events, errorBox(err)); }
  };
  const makeRow = (job) => {
    const evId = `events-${job.id}`;
    const toggle = h('button', { type: 'button', class: 'job-toggle', 'aria-expanded': 'false', 'aria-controls': evId });
    const events = h('div', { class: 'job-events', id: evId, hidden: true });
    const li = h('li', { class: 'job', 'data-job-id': job.id }, toggle, events);
    const r = { id: job.id, li, toggle, events, open: false };
    toggle.addEventListener('click', () => {
      r.open = !r.open;
      toggle.setAttribute('aria-expanded', String(r.open));
      events.hidden = !r.open;
      if (r.open) { events.append(loading()); drawEvents(r); }
    });
    return r;
  };
  const fill = (r, job) => {
    const when = job.completed_at || job.failed_at || job.started_at || job.created_at;
    const key = JSON.stringify([job.status, job.attempts, job.last_error, when, job.description]);
    if (r.key === key) return false;
    r.key = key;
    put(r.toggle, 
      h('span', { class: 'chev', 'aria-hidden': 'true' }),
      badge(job.status, JOB_STATUS[job.status] || job.status),
      h('span', { class: 'job-desc' }, job.description || job.kind),
      h('span', { class: 'job-meta muted' }, job.kind, ' · ', fmtTime(job.created_at),
        job.completed_at ? ` · done ${fmtTime(job.completed_at)}` : '',
        job.failed_at ? ` · failed ${fmtTime(job.failed_at)}` : '',
        job.attempts > 1 ? ` · ${job.attempts} attempts` : '',
        job.created_by ? ` · by ${job.created_by}` : ''),
      job.last_error ? h('span', { class: 'job-error' }, job.last_error) : null);
    return true;
  };
  const load = async () => {
    let jobs;
    try { jobs = await apiList(`/v1/sites/${site.id}/jobs`); } catch (err) {
      stamp.textContent = `Could not refresh: ${err.message}`;
      return;
    }
    emptyMsg.hidden = jobs.length > 0;
    const seen = new Set();
    let prev = null;
    for (const job of jobs) {
      seen.add(job.id);
      let r = rows.get(job.id);
      if (!r) { r = makeRow(job); rows.set(job.id, r); }
      const changed = fill(r, job);
      const want = prev ? prev.li.nextSibling : list.firstChild;
      if (want !== r.li) list.insertBefore(r.li, want);
      if (changed && r.open) drawEvents(r);
      prev = r;
    }
    for (const [id, r] of rows) if (!seen.has(id)) { r.li.remove(); rows.delete(id); }
    stamp.textContent = `Updated ${new Date().toLocaleTimeString()}.`;
  };
  await load();
  every(3000, () => { if (auto.checked) load(); });
}

// ---------------------------------------------------------------- API Credentials

// Two-phase rotation: pending until the router has the password, then current; the ones
// before it retired.
function stateCell(c) {
  if (c.status === 'pending') return badge('pending', 'pending');
  if (c.status === 'retired' || (!c.status && c.deleted_at)) return `retired ${fmtTime(c.deleted_at)}`;
  return badge('current', 'ok');
}

async function credentialsTab(ctx) {
  const { panel, site } = ctx;
  const rotate = session.can('credentials:rotate')
    ? h('button', { type: 'button', class: 'btn btn-primary', id: 'rotate-credentials' }, 'Rotate') : null;
  const list = h('div', { id: 'credential-list' }, loading());
  panel.append(h('div', { class: 'section-head' }, h('h2', null, 'API Credentials'), rotate),
    h('p', { class: 'muted' }, 'The RouterOS API user tikgate manages the router with. Rotating sets a new password on the router; older rows are kept as history.'),
    list);
  const load = async () => {
    try {
      const creds = await api('GET', `/v1/control-plane/${site.id}/credentials`);
      const rows = creds.slice().reverse().map((c) => {
        // Passwords come to credentials:rotate holders only (security-review F6): the others
        // see the metadata.
        if (c.password === undefined) {
          return { attrs: { 'data-credential-id': c.id }, cells: [
            h('code', null, c.username), h('span', { class: 'muted' }, 'not shown to your role'),
            c.ip_address ? `${c.ip_address}:${c.api_port || ''}` : '—', fmtTime(c.created_at),
            stateCell(c),
          ] };
        }
        const pw = h('code', { class: 'secret', 'data-secret': 'hidden' }, '••••••••');
        const showBtn = h('button', { type: 'button', class: 'btn btn-small', 'aria-pressed': 'false' }, 'Show');
        showBtn.addEventListener('click', () => {
          const shown = showBtn.getAttribute('aria-pressed') === 'true';
          pw.textContent = shown ? '••••••••' : c.password;
          showBtn.setAttribute('aria-pressed', String(!shown));
          showBtn.textContent = shown ? 'Show' : 'Hide';
        });
        return { attrs: { 'data-credential-id': c.id }, cells: [
          h('code', null, c.username),
          h('span', { class: 'nowrap' }, pw, ' ', showBtn, ' ', copyButton(c.password, 'password')),
          c.ip_address ? `${c.ip_address}:${c.api_port || ''}` : '—',
          fmtTime(c.created_at),
          stateCell(c),
        ] };
      });
      put(list, table('API credentials, newest first', ['Username', 'Password', 'Router API', 'Created', 'State'], rows,
        { empty: 'No credentials yet.' }));
    } catch (err) { put(list, errorBox(err, load)); }
  };
  if (rotate) {
    rotate.addEventListener('click', async () => {
      const ok = await confirmDialog({ title: 'Rotate API credentials?', confirmLabel: 'Rotate',
        message: `A new password for the tikgate API user is generated and pushed to ${site.name}. It stays pending until the router has it; until then tikgate logs in with the old one.` });
      if (!ok) return;
      try {
        await api('POST', `/v1/control-plane/${site.id}/credentials`, {});
        announce('Credentials rotated; the change is queued for the router.');
        await load();
      } catch (err) { clear(list).prepend(errorBox(err)); }
    });
  }
  await load();
}
