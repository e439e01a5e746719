// page-policies.js - control-plane policies: list, create/edit every service and network with
// inline validation, attach sites, delete (never the default).
import { api, apiList, enc } from './api.js';
import { session, setPageTitle } from './context.js';
import { h, clear, put, pageHead, table, badge, fmtTime, loading, errorBox, field, formError, clearErrors,
  showApiError, showError, confirmDialog, announce } from './ui.js';
import { cidrProblem, splitNetworks } from './cidr.js';

const SERVICES = [
  ['winbox', 'WinBox'], ['ssh', 'SSH'], ['http', 'HTTP (WebFig)'], ['https', 'HTTPS (WebFig)'],
  ['telnet', 'Telnet'], ['ftp', 'FTP'], ['api', 'API'], ['api_ssl', 'API-SSL'],
];

export async function policiesPage(root) {
  setPageTitle('Policies');
  const add = session.can('cpf:create') ? h('a', { class: 'btn btn-primary', href: '#/policies/new', id: 'new-policy' }, 'New policy') : null;
  const list = h('div', { id: 'policy-list' }, loading());
  root.append(pageHead('Policies', add),
    h('p', { class: 'muted' }, 'A policy says which management services a router runs, on which ports, and from which networks they can be reached. Every site has one.'),
    list);
  try {
    const [ps, sites] = await Promise.all([apiList('/v1/control-plane/policies'), apiList('/v1/sites')]);
    const count = (id) => sites.filter((s) => s.policy_id === id).length;
    put(list, table('Policies', ['Name', 'Enabled services', 'Trusted networks', 'Sites', 'Updated'],
      ps.map((p) => ({ rowHeader: true, attrs: { 'data-policy-id': p.id }, cells: [
        [h('a', { href: `#/policies/${p.id}`, class: 'strong-link' }, p.name), p.default ? [' ', badge('default', 'default')] : null],
        SERVICES.filter(([k]) => p[k].enabled).map(([k, l]) => `${l} ${p[k].port}`).join(', ') || 'none',
        p.trusted_networks.length ? p.trusted_networks.join(', ') : '—',
        String(count(p.id)),
        fmtTime(p.updated_at),
      ] })), { empty: 'No policies.' }));
  } catch (err) { put(list, errorBox(err)); }
}

function netsText(list) { return (list || []).join('\n'); }

export async function policyPage(root, id) {
  const isNew = id === 'new';
  root.append(loading());
  let policy;
  let sites = [];
  try {
    if (isNew) {
      const ps = await apiList('/v1/control-plane/policies');
      const def = ps.find((p) => p.default) || ps[0];
      policy = def ? { ...JSON.parse(JSON.stringify(def)), name: '', default: false, id: null } : null;
    } else {
      policy = await api('GET', `/v1/control-plane/policies/${enc(id)}`);
    }
    sites = await apiList('/v1/sites');
  } catch (err) {
    put(root, h('p', null, h('a', { href: '#/policies' }, '← Policies')), errorBox(err));
    return;
  }
  const canSave = isNew ? session.can('cpf:create') : session.can('cpf:update');
  setPageTitle(isNew ? 'New policy' : `Policy ${policy.name}`);
  clear(root);
  root.append(h('nav', { 'aria-label': 'Breadcrumb', class: 'crumbs' }, h('a', { href: '#/policies' }, 'Policies'),
    h('span', { 'aria-hidden': 'true' }, ' / '), h('span', { 'aria-current': 'page' }, isNew ? 'New' : policy.name)));
  const delBtn = !isNew && !policy.default && session.can('cpf:delete')
    ? h('button', { type: 'button', class: 'btn btn-danger', id: 'delete-policy' }, 'Delete policy') : null;
  root.append(h('div', { class: 'page-head' },
    h('h1', { tabindex: '-1', id: 'page-title' }, isNew ? 'New policy' : policy.name, policy.default ? [' ', badge('default', 'default')] : null),
    h('div', { class: 'page-actions' }, delBtn)));
  if (policy.default) {
    root.append(h('p', { class: 'alert alert-info', id: 'default-note' }, 'This is the tenant\'s default policy: new sites get it, and it cannot be deleted.'));
  }

  const dis = !canSave;
  const name = h('input', { type: 'text', value: policy.name, maxlength: 40, required: true, disabled: dis, autocomplete: 'off' });
  const svcEls = {};
  const svcBoxes = SERVICES.map(([k, label]) => {
    const s = policy[k];
    const en = h('input', { type: 'checkbox', checked: s.enabled, disabled: dis });
    const port = h('input', { type: 'number', min: 1, max: 65535, value: s.port, disabled: dis, inputmode: 'numeric', class: 'port-input' });
    const nets = h('textarea', { rows: 3, class: 'mono', disabled: dis, spellcheck: 'false' });
    nets.value = netsText(s.networks);
    svcEls[k] = { en, port, nets };
    const box = h('fieldset', { class: 'svc', dataset: { service: k } },
      h('legend', null, label),
      field({ label: 'Enabled', control: en, param: `${k}.enabled`, inline: true }),
      field({ label: 'Port', control: port, param: `${k}.port` }),
      field({ label: 'Allowed networks', control: nets, param: `${k}.networks`, hint: 'One CIDR per line; empty allows only the management networks.' }));
    const sync = () => box.classList.toggle('svc-off', !en.checked);
    en.addEventListener('change', sync);
    sync();
    return box;
  });
  const trusted = h('textarea', { rows: 4, class: 'mono', disabled: dis, spellcheck: 'false' });
  trusted.value = netsText(policy.trusted_networks);
  const cir = h('input', { type: 'checkbox', checked: policy.custom_input_rules, disabled: dis });
  const save = canSave ? h('button', { type: 'submit', class: 'btn btn-primary', id: 'save-policy' }, isNew ? 'Create policy' : 'Save policy') : null;
  const ferr = formError();
  const form = h('form', { novalidate: true, id: 'policy-form', 'aria-labelledby': 'page-title' }, ferr,
    field({ label: 'Name', control: name, param: 'name', hint: '1 to 20 characters.' }),
    h('h2', null, 'Services'),
    h('div', { class: 'svc-grid' }, svcBoxes),
    h('h2', null, 'Networks'),
    field({ label: 'Trusted networks', control: trusted, param: 'trusted_networks', hint: 'Networks allowed to reach every enabled service; one CIDR per line.' }),
    field({ label: 'Custom input rules', control: cir, param: 'custom_input_rules', inline: true,
      hint: 'Keep firewall input rules written on the router by hand (tikgate only manages its own).' }),
    save ? h('div', { class: 'form-actions form-actions-left' }, save) : h('p', { class: 'muted' }, 'You can view this policy but not change it.'));
  root.append(form);

  const collect = () => {
    const body = { name: name.value.trim(), trusted_networks: splitNetworks(trusted.value), custom_input_rules: cir.checked };
    for (const [k] of SERVICES) {
      const e = svcEls[k];
      body[k] = { enabled: e.en.checked, port: e.port.value.trim() === '' ? NaN : Number(e.port.value), networks: splitNetworks(e.nets.value) };
    }
    return body;
  };
  /** Client checks for obvious mistakes; the server checks the rest and names the field. */
  const check = (body) => {
    const errs = [];
    const n = [...body.name].length;
    if (!n) errs.push(['name', 'Enter a name.']);
    else if (n > 20) errs.push(['name', `At most 20 characters (this one has ${n}).`]);
    for (const [k, label] of SERVICES) {
      const s = body[k];
      if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535) errs.push([`${k}.port`, `${label}: the port must be a whole number from 1 to 65535.`]);
      s.networks.forEach((net, i) => { const p = cidrProblem(net); if (p) errs.push([`${k}.networks[${i}]`, p]); });
    }
    body.trusted_networks.forEach((net, i) => { const p = cidrProblem(net); if (p) errs.push([`trusted_networks[${i}]`, p]); });
    return errs;
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!canSave) return;
    clearErrors(form);
    const body = collect();
    const errs = check(body);
    if (errs.length) {
      errs.forEach(([p, m], i) => showError(form, p, m, { focus: i === 0 }));
      announce(`${errs.length} problem${errs.length > 1 ? 's' : ''} in the form; the first one is focused.`);
      return;
    }
    save.disabled = true;
    try {
      const saved = isNew ? await api('POST', '/v1/control-plane/policies', body)
        : await api('PUT', `/v1/control-plane/policies/${policy.id}`, body);
      announce(isNew ? `Policy ${saved.name} created` : `Policy ${saved.name} saved; routers using it get the change.`);
      if (isNew) location.hash = `#/policies/${saved.id}`;
      else {
        policy = { ...policy, ...saved };
        for (const [k] of SERVICES) svcEls[k].nets.value = netsText(saved[k].networks);
        trusted.value = netsText(saved.trusted_networks);
        const ok = h('p', { class: 'alert alert-ok', role: 'status', id: 'policy-saved' }, `Saved ${fmtTime(saved.updated_at)}.`);
        form.querySelectorAll('.alert-ok').forEach((x) => x.remove());
        form.prepend(ok);
      }
    } catch (err) {
      showApiError(form, err);
    } finally { save.disabled = false; }
  });

  if (delBtn) {
    delBtn.addEventListener('click', async () => {
      const ok = await confirmDialog({ title: 'Delete policy?', danger: true, confirmLabel: 'Delete policy',
        message: `${policy.name} is deleted; its sites move to the default policy and get it pushed.` });
      if (!ok) return;
      try {
        await api('DELETE', `/v1/control-plane/policies/${policy.id}`);
        announce('Policy deleted');
        location.hash = '#/policies';
      } catch (err) { showApiError(form, err); }
    });
  }

  if (!isNew) root.append(attachSection(policy, sites));
}

function attachSection(policy, sites) {
  const sec = h('section', { class: 'card', 'aria-labelledby': 'sites-title', id: 'policy-sites' });
  const draw = () => {
    clear(sec);
    const mine = sites.filter((s) => s.policy_id === policy.id);
    const others = sites.filter((s) => s.policy_id !== policy.id);
    sec.append(h('h2', { id: 'sites-title', tabindex: '-1' }, 'Sites using this policy'),
      mine.length ? h('ul', { class: 'plain-list' }, mine.map((s) => h('li', null, h('a', { href: `#/sites/${s.id}` }, s.name))))
        : h('p', { class: 'muted' }, 'No site uses this policy.'));
    if (!session.can('cpf:update') || !others.length) return;
    const ferr = formError();
    const boxes = others.map((s) => {
      const cb = h('input', { type: 'checkbox', value: s.id, id: `attach-${s.id}` });
      return h('li', null, h('label', { for: cb.id, class: 'check' }, cb, ' ', s.name, ' ', h('span', { class: 'muted small' }, `(now: ${s.policy_id === policy.id ? 'this' : 'another policy'})`)));
    });
    const btn = h('button', { type: 'submit', class: 'btn', id: 'attach-sites' }, 'Attach selected sites');
    const form = h('form', { novalidate: true }, h('fieldset', { dataset: { param: 'sites' }, class: 'field' },
      h('legend', null, 'Attach sites'), ferr, h('ul', { class: 'plain-list checks' }, boxes),
      h('p', { class: 'field-error', hidden: true })), btn);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      const ids = [...form.querySelectorAll('input[type=checkbox]:checked')].map((c) => c.value);
      if (!ids.length) return showError(form, 'sites', 'Choose at least one site.');
      try {
        const p = await api('POST', `/v1/control-plane/policies/${policy.id}/sites`, { sites: ids });
        sites = sites.map((s) => (ids.includes(s.id) ? { ...s, policy_id: p.id } : s));
        announce(`${ids.length} site${ids.length > 1 ? 's' : ''} attached; the policy is being pushed.`);
        draw();
        sec.querySelector('h2').focus();
      } catch (err) { showApiError(form, err); }
    });
    sec.append(form);
  };
  draw();
  return sec;
}
