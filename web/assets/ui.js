// ui.js - small DOM helpers: element builder, dialogs with focus trapping, inline field
// errors, copy buttons, live announcements, times. Every text goes in as a text node.

let uid = 0;
export const nextId = (p = 'id') => `${p}-${++uid}`;

/** h('button', {class: 'btn', onclick: fn}, 'Save') */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'value') el.value = v;
      else if (k === 'checked') el.checked = !!v;
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

/** Replaces el's children (arrays flattened, null/false skipped, strings as text). */
export function put(el, ...children) { clear(el); append(el, children); return el; }

/** Polite screen-reader announcement plus a short visible toast. */
export function announce(msg) {
  const live = document.getElementById('live');
  live.textContent = '';
  setTimeout(() => { live.textContent = msg; }, 30);
  const toast = document.getElementById('toast');
  toast.textContent = msg;
  toast.dataset.at = String(Date.now());
  toast.classList.add('show');
  clearTimeout(announce.t);
  announce.t = setTimeout(() => toast.classList.remove('show'), 3500);
}

// ---- times ----

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function relTime(iso, now = Date.now()) {
  if (!iso) return 'never';
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  const a = Math.abs(s);
  let t;
  if (a < 5) return 'just now';
  if (a < 60) t = `${a} s`;
  else if (a < 3600) t = `${Math.floor(a / 60)} min`;
  else if (a < 86400) t = `${Math.floor(a / 3600)} h ${Math.floor((a % 3600) / 60)} min`;
  else t = `${Math.floor(a / 86400)} d`;
  return s >= 0 ? `${t} ago` : `in ${t}`;
}

/** "1 h 59 min 12 s" until iso, or null when past. */
export function countdown(iso, now = Date.now()) {
  let s = Math.floor((new Date(iso).getTime() - now) / 1000);
  if (!(s > 0)) return null;
  const hh = Math.floor(s / 3600); s %= 3600;
  const mm = Math.floor(s / 60); const ss = s % 60;
  return (hh ? `${hh} h ` : '') + (hh || mm ? `${mm} min ` : '') + `${ss} s`;
}

export function timeEl(iso) {
  return h('time', { datetime: iso || undefined, title: iso ? fmtTime(iso) : undefined },
    iso ? relTime(iso) : 'never');
}

export function badge(text, kind) {
  return h('span', { class: `badge badge-${kind || text}` }, text);
}

const STATUS_TEXT = { online: 'online', offline: 'offline', pending_onboarding: 'pending', deleting: 'deleting' };

/** A site's status (online / offline / pending / deleting) as a badge. */
export function statusBadge(status) {
  return badge(STATUS_TEXT[status] || status, `status-${status}`);
}

/**
 * A site's management tunnel (site.tunnel: up / down / pending; external ones say so). A pill
 * like a badge but not a .badge: a site's row and facts keep exactly one status badge.
 */
export function tunnelBadge(tunnel) {
  if (!tunnel) return '—';
  const state = tunnel.mode === 'external' ? 'external' : tunnel.status;
  return h('span', {
    class: `tunnel-state tunnel-${state}`,
    title: tunnel.mode === 'external' ? 'operator-managed tunnel'
      : tunnel.last_handshake_at ? `last handshake ${fmtTime(tunnel.last_handshake_at)}` : 'no handshake yet',
  }, tunnel.mode === 'external' ? 'external' : `VPN ${tunnel.status}`);
}

// ---- dialogs ----

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), ' +
  'select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/**
 * Opens a modal dialog. content: nodes; returns {el, body, close(result), done: Promise}.
 * Focus moves into the dialog, Tab cycles inside it, Escape closes it, and focus goes back
 * to where it was.
 */
export function openDialog({ title, content, wide, onClose, labelledBy }) {
  const opener = document.activeElement;
  const titleId = nextId('dlg-title');
  const body = h('div', { class: 'dialog-body' }, content);
  const closeBtn = h('button', { type: 'button', class: 'btn-icon dialog-x', 'aria-label': 'Close' }, '×');
  const dlg = h('dialog', { class: `dialog${wide ? ' dialog-wide' : ''}`, 'aria-labelledby': labelledBy || titleId,
    'aria-modal': 'true' },
    h('div', { class: 'dialog-head' }, h('h2', { id: titleId }, title), closeBtn),
    body);
  document.body.append(dlg);
  let resolve;
  const done = new Promise((r) => { resolve = r; });
  let closed = false;
  const close = (result) => {
    if (closed) return;
    closed = true;
    dlg.close();
    dlg.remove();
    if (onClose) onClose(result);
    resolve(result);
    if (opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
  };
  closeBtn.addEventListener('click', () => close(undefined));
  dlg.addEventListener('cancel', (e) => { e.preventDefault(); close(undefined); });
  dlg.addEventListener('keydown', (e) => {
    if (e.key !== 'Tab') return;
    const f = [...dlg.querySelectorAll(FOCUSABLE)].filter((x) => x.offsetParent !== null || x === document.activeElement);
    if (!f.length) return;
    const first = f[0]; const last = f[f.length - 1];
    if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
  });
  dlg.showModal();
  const auto = dlg.querySelector('[autofocus]') || body.querySelector(FOCUSABLE) || closeBtn;
  auto.focus();
  return { el: dlg, body, close, done };
}

/** Yes/no question; resolves true when confirmed. */
export function confirmDialog({ title, message, confirmLabel = 'Confirm', danger = false }) {
  const yes = h('button', { type: 'button', class: `btn ${danger ? 'btn-danger' : 'btn-primary'}` }, confirmLabel);
  const no = h('button', { type: 'button', class: 'btn', autofocus: true }, 'Cancel');
  const d = openDialog({ title, content: [
    h('p', { class: 'confirm-text' }, message),
    h('div', { class: 'form-actions' }, no, yes),
  ] });
  d.el.setAttribute('role', 'alertdialog');
  yes.addEventListener('click', () => d.close(true));
  no.addEventListener('click', () => d.close(false));
  return d.done.then((v) => v === true);
}

// ---- forms and inline errors ----

/**
 * A labelled field. param is the API's name for it (error `param` values map here).
 * control: an input/select/textarea element (gets an id, aria-describedby).
 */
export function field({ label, control, param, hint, inline }) {
  const id = control.id || nextId('f');
  control.id = id;
  const errId = `${id}-err`;
  const hintId = hint ? `${id}-hint` : null;
  control.setAttribute('aria-describedby', [hintId, errId].filter(Boolean).join(' '));
  const wrap = h('div', { class: `field${inline ? ' field-inline' : ''}`, dataset: param ? { param } : undefined },
    inline ? [control, h('label', { for: id }, label)] : [h('label', { for: id }, label), control],
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
    h('p', { class: 'field-error', id: errId, hidden: true }));
  return wrap;
}

export function clearErrors(root) {
  root.querySelectorAll('.field-error').forEach((e) => { e.textContent = ''; e.hidden = true; });
  root.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
  root.querySelectorAll('.form-error').forEach((e) => { e.textContent = ''; e.hidden = true; });
}

/** Finds the field for an API param: exact, then without [i], then its parent path. */
export function findField(root, param) {
  if (!param) return null;
  const tries = [param, param.replace(/\[\d+\]$/, ''), param.split('.')[0]];
  for (const p of tries) {
    const el = root.querySelector(`[data-param="${CSS.escape(p)}"]`);
    if (el) return el;
  }
  return null;
}

/** Shows message at the field named by param, else at the form's error area. Returns the element focused. */
export function showError(root, param, message, { focus = true } = {}) {
  const f = findField(root, param);
  let text = message;
  const m = param && /\[(\d+)\]$/.exec(param);
  if (f && m && f.dataset.param !== param) text = `Line ${Number(m[1]) + 1}: ${message}`;
  if (f) {
    const err = f.querySelector('.field-error');
    err.textContent = err.textContent ? `${err.textContent} ${text}` : text;
    err.hidden = false;
    const ctl = f.querySelector('input, select, textarea');
    if (ctl) {
      ctl.setAttribute('aria-invalid', 'true');
      if (focus) ctl.focus();
    }
    return f;
  }
  const fe = root.querySelector('.form-error');
  if (fe) {
    fe.textContent = message;
    fe.hidden = false;
    if (focus) fe.focus();
    return fe;
  }
  announce(message);
  return null;
}

export function formError() {
  return h('p', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
}

/** Sends an ApiError (or any error) to the right place in root. */
export function showApiError(root, err, opts) {
  let msg = err && err.message ? err.message : String(err);
  if (err && err.status === 429 && err.retryAfter) msg = `${msg}`;
  return showError(root, err && err.param, msg, opts);
}

/** A page-level error box (for loads that fail). */
export function errorBox(err, retry) {
  return h('div', { class: 'alert alert-error', role: 'alert' },
    h('p', null, err && err.message ? err.message : String(err)),
    retry ? h('button', { type: 'button', class: 'btn', onclick: retry }, 'Try again') : null);
}

// ---- copy ----

async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch (_) { /* fall back below */ }
  const ta = h('textarea', { class: 'visually-hidden', 'aria-hidden': 'true' });
  ta.value = text;
  document.body.append(ta);
  ta.select();
  let ok = false;
  try { ok = document.execCommand('copy'); } catch (_) { ok = false; }
  ta.remove();
  return ok;
}

export function copyButton(getText, what) {
  const b = h('button', { type: 'button', class: 'btn btn-small', 'aria-label': `Copy ${what}` }, 'Copy');
  b.addEventListener('click', async () => {
    const ok = await copyText(typeof getText === 'function' ? getText() : getText);
    b.textContent = ok ? 'Copied' : 'Select and copy';
    announce(ok ? `${what} copied to the clipboard` : `Could not copy; select the ${what} and copy it.`);
    setTimeout(() => { b.textContent = 'Copy'; }, 2000);
  });
  return b;
}

/** A read-only value with a copy button; the value is in an <output>-like code element. */
export function copyRow(label, value, testid) {
  const id = nextId('cv');
  return h('div', { class: 'copy-row' },
    h('span', { class: 'copy-label', id: `${id}-l` }, label),
    h('code', { class: 'copy-value', id, 'aria-labelledby': `${id}-l`, dataset: testid ? { testid } : undefined }, value),
    copyButton(value, label.toLowerCase()));
}

// ---- menus and tabs ----

/** A menu button: items [{label, onSelect, danger}] with arrow-key navigation. */
export function menuButton(label, items) {
  const menuId = nextId('menu');
  const btn = h('button', { type: 'button', class: 'btn', 'aria-haspopup': 'menu', 'aria-expanded': 'false',
    'aria-controls': menuId }, label, h('span', { 'aria-hidden': 'true', class: 'caret' }, ' ▾'));
  const menu = h('ul', { class: 'menu', role: 'menu', id: menuId, hidden: true, 'aria-label': label });
  const entries = items.map((it) => {
    const mi = h('li', { role: 'menuitem', tabindex: '-1', class: it.danger ? 'danger' : '' }, it.label);
    mi.addEventListener('click', () => { close(false); it.onSelect(); });
    mi.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); close(false); it.onSelect(); }
    });
    menu.append(mi);
    return mi;
  });
  const wrap = h('div', { class: 'menu-wrap' }, btn, menu);
  const open = (idx = 0) => {
    menu.hidden = false;
    btn.setAttribute('aria-expanded', 'true');
    entries[idx].focus();
    document.addEventListener('mousedown', outside, true);
  };
  const close = (refocus = true) => {
    menu.hidden = true;
    btn.setAttribute('aria-expanded', 'false');
    document.removeEventListener('mousedown', outside, true);
    if (refocus) btn.focus();
  };
  const outside = (e) => { if (!wrap.contains(e.target)) close(false); };
  btn.addEventListener('click', () => (menu.hidden ? open(0) : close()));
  btn.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown') { e.preventDefault(); open(0); }
    if (e.key === 'ArrowUp') { e.preventDefault(); open(entries.length - 1); }
  });
  menu.addEventListener('keydown', (e) => {
    const i = entries.indexOf(document.activeElement);
    if (e.key === 'ArrowDown') { e.preventDefault(); entries[(i + 1) % entries.length].focus(); }
    else if (e.key === 'ArrowUp') { e.preventDefault(); entries[(i - 1 + entries.length) % entries.length].focus(); }
    else if (e.key === 'Home') { e.preventDefault(); entries[0].focus(); }
    else if (e.key === 'End') { e.preventDefault(); entries[entries.length - 1].focus(); }
    else if (e.key === 'Escape' || e.key === 'Tab') { e.preventDefault(); close(); }
  });
  return wrap;
}

/**
 * Tabs that are links (each tab is a page with its own URL). tabs: [{id, label, href}].
 * Arrow keys move between tabs, Enter/Space follows.
 */
export function tabList(label, tabs, current, panelId) {
  const list = h('div', { class: 'tabs', role: 'tablist', 'aria-label': label });
  const els = tabs.map((t) => h('a', { role: 'tab', href: t.href, id: `tab-${t.id}`,
    'aria-selected': t.id === current ? 'true' : 'false', 'aria-controls': panelId,
    tabindex: t.id === current ? '0' : '-1', class: 'tab' }, t.label));
  list.append(...els);
  list.addEventListener('keydown', (e) => {
    const i = els.indexOf(document.activeElement);
    if (i < 0) return;
    let j = null;
    if (e.key === 'ArrowRight') j = (i + 1) % els.length;
    else if (e.key === 'ArrowLeft') j = (i - 1 + els.length) % els.length;
    else if (e.key === 'Home') j = 0;
    else if (e.key === 'End') j = els.length - 1;
    else if (e.key === ' ') { e.preventDefault(); els[i].click(); }
    if (j !== null) { e.preventDefault(); els[j].focus(); }
  });
  return list;
}

/** A table that becomes a card list at small widths (labels from data-label). */
export function table(caption, headers, rows, { empty = 'Nothing here yet.', captionHidden = true } = {}) {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'table' },
      h('caption', { class: captionHidden ? 'visually-hidden' : '' }, caption),
      h('thead', null, h('tr', null, headers.map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', null, rows.map((r) => {
        const tr = h('tr', r.attrs || null);
        // One wrapper per cell, so a stacked (phone) row is label | content.
        r.cells.forEach((c, i) => tr.append(i === 0 && r.rowHeader
          ? h('th', { scope: 'row', 'data-label': headers[i] }, h('div', { class: 'cell' }, c))
          : h('td', { 'data-label': headers[i] }, h('div', { class: 'cell' }, c))));
        return tr;
      }))));
}

export function pageHead(title, ...actions) {
  return h('div', { class: 'page-head' }, h('h1', { tabindex: '-1', id: 'page-title' }, title),
    h('div', { class: 'page-actions' }, actions));
}

export function loading(what = 'Loading…') {
  return h('p', { class: 'loading', role: 'status' }, what);
}
