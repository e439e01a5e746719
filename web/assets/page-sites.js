// page-sites.js - the Sites list: status, last seen, policy, search; adding a site.
import { api, apiList } from './api.js';
import { session, every, setPageTitle } from './context.js';
import { h, clear, put, pageHead, table, statusBadge, timeEl, loading, errorBox, openDialog, field, formError,
  clearErrors, showApiError, copyRow, announce } from './ui.js';

function matches(site, policyName, q) {
  if (!q) return true;
  const hay = [site.name, site.identity, site.model, site.serial_number, site.software_version,
    site.tunnel_address, site.status, policyName].filter(Boolean).join(' ').toLowerCase();
  return q.toLowerCase().split(/\s+/).filter(Boolean).every((w) => hay.includes(w));
}

export async function sitesPage(root) {
  setPageTitle('Sites');
  const addBtn = session.can('site:create')
    ? h('button', { type: 'button', class: 'btn btn-primary', id: 'add-site' }, 'Add site') : null;
  const search = h('input', { type: 'search', id: 'site-search', placeholder: 'Name, identity, model, serial…',
    autocomplete: 'off', value: sessionStorage.getItem('tikgate.site-search') || '' });
  const count = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite', id: 'site-count' });
  const list = h('div', { id: 'site-list' }, loading());
  root.append(pageHead('Sites', addBtn),
    h('div', { class: 'toolbar', role: 'search' },
      h('label', { for: 'site-search', class: 'search-label' }, 'Search sites'), search, count),
    list);

  let sites = [];
  let policies = {};
  const draw = () => {
    const q = search.value.trim();
    const shown = sites.filter((s) => matches(s, policies[s.policy_id], q));
    // The list redraws itself every few seconds: keep keyboard focus on the same site.
    const focused = document.activeElement && list.contains(document.activeElement)
      ? document.activeElement.closest('[data-site-id]') : null;
    count.textContent = q ? `${shown.length} of ${sites.length} sites match` : `${sites.length} site${sites.length === 1 ? '' : 's'}`;
    put(list, table('Sites', ['Name', 'Status', 'Last seen', 'Policy', 'Router', 'RouterOS'],
      shown.map((s) => ({
        rowHeader: true,
        attrs: { 'data-site-id': s.id },
        cells: [
          h('a', { href: `#/sites/${s.id}`, class: 'strong-link' }, s.name),
          statusBadge(s.status),
          timeEl(s.last_seen_at),
          policies[s.policy_id] || '—',
          [s.identity || '—', s.model ? h('span', { class: 'muted' }, ` · ${s.model}`) : null],
          s.software_version || '—',
        ],
      })),
      { empty: sites.length ? 'No site matches the search.' : 'No sites yet. Add one to get its bootstrap command.' }));
    if (focused) {
      const again = list.querySelector(`[data-site-id="${focused.dataset.siteId}"] a`);
      if (again) again.focus({ preventScroll: true });
    }
  };
  const load = async () => {
    try {
      const [s, p] = await Promise.all([apiList('/v1/sites'), apiList('/v1/control-plane/policies')]);
      sites = s;
      policies = Object.fromEntries(p.map((x) => [x.id, x.name]));
      draw();
    } catch (err) {
      put(list, errorBox(err, load));
    }
  };
  search.addEventListener('input', () => { sessionStorage.setItem('tikgate.site-search', search.value); draw(); });
  if (addBtn) addBtn.addEventListener('click', () => addSiteDialog(load));
  await load();
  every(5000, load);
}

async function addSiteDialog(reload) {
  const name = h('input', { type: 'text', name: 'name', maxlength: 64, required: true, autofocus: true });
  const policy = h('select', { name: 'policy_id' });
  const ferr = formError();
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add site');
  const cancel = h('button', { type: 'button', class: 'btn' }, 'Cancel');
  const form = h('form', { novalidate: true }, ferr,
    field({ label: 'Name', control: name, param: 'name', hint: '1 to 64 characters, e.g. the customer and place.' }),
    field({ label: 'Policy', control: policy, param: 'policy_id' }),
    h('div', { class: 'form-actions' }, cancel, submit));
  const d = openDialog({ title: 'Add site', content: form });
  cancel.addEventListener('click', () => d.close());
  try {
    const ps = await apiList('/v1/control-plane/policies');
    for (const p of ps) policy.append(h('option', { value: p.id, selected: p.default }, p.default ? `${p.name} (default)` : p.name));
  } catch (err) {
    showApiError(form, err, { focus: false });
  }
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const n = name.value.trim();
    if (!n) return showApiError(form, { param: 'name', message: 'Enter a name for the site.' });
    submit.disabled = true;
    try {
      const body = { name: n };
      if (policy.value) body.policy_id = policy.value;
      const site = await api('POST', '/v1/sites', body);
      d.close();
      announce(`Site ${site.name} added`);
      reload();
      bootstrapDialog(site);
    } catch (err) {
      showApiError(form, err);
    } finally {
      submit.disabled = false;
    }
  });
}

function bootstrapDialog(site) {
  const ok = h('button', { type: 'button', class: 'btn btn-primary' }, 'Done');
  const open = h('a', { class: 'btn', href: `#/sites/${site.id}` }, 'Open the site');
  const d = openDialog({ title: `Onboard ${site.name}`, wide: true, content: [
    h('p', null, 'Paste this command into the router\'s terminal (WinBox → New Terminal, or SSH). ' +
      'The router fetches its set-up script, adopts itself and shows up as online here.'),
    copyRow('Bootstrap command', site.bootstrap_command || '', 'bootstrap-command'),
    h('div', { class: 'form-actions' }, open, ok),
  ] });
  ok.addEventListener('click', () => d.close());
  open.addEventListener('click', () => d.close());
}
