// Keys: for the master key, keys, teams and organizations with their spend against budget, limits and state,
// and what the admin API does with them (create, edit, rotate, block, delete); for a virtual key, its own key.
import { api, query } from '../api.js';
import { budgetBar, copyText, el, errorBox, hashParams, num, table, when } from '../util.js';
import {
  BUDGET_PERIODS, busy, field, limitsLines, limitsText, list, numberOrText, openDialog, ownKeyCard, shortDate, showFormError, stacked, stateBadge, uid,
} from './money-kit.js';

const PAGE_SIZE = 100;
const POLL_MS = 10_000;

export default {
  id: 'keys',
  title: 'Keys',
  roles: ['admin', 'key'],
  render(host, ctx) {
    return ctx.me.role === 'admin' ? adminView(host, ctx) : ownKeyView(host, ctx);
  },
};

// ---- a virtual key: its own key only -------------------------------------------------------------

/** The signed-in key's own settings, spend and state, from GET /key/info (re-read every few seconds). */
async function ownKeyView(host, ctx) {
  const card = el('div', { class: 'card', id: 'own-key' });
  host.append(el('p', { class: 'muted' }, 'Signed in with a virtual key: this is that key. Keys are managed with the master key.'), card);
  const show = async () => {
    try {
      const info = await api('/key/info', { signal: ctx.signal });
      card.replaceChildren(...ownKeyCard(info.info ?? info));
    } catch (e) {
      if (e.status === 401 || e.status === 403) ctx.signedOut('The key was refused: it was deleted, rotated or blocked.');
      else if (e.name !== 'AbortError') card.replaceChildren(errorBox(e));
    }
  };
  await show();
  ctx.every(POLL_MS, show);
}

// ---- the master key: keys, teams, organizations --------------------------------------------------

/** What each kind of record is called, where the API keeps it, and the fields of its forms. */
const KINDS = {
  keys: {
    noun: 'key', tab: 'Keys', list: '/key/list', items: 'keys', create: '/key/generate', update: '/key/update', remove: '/key/delete',
    idOf: (r) => r.token, nameOf: (r) => r.key_alias || r.key_name, idField: 'key', removeField: 'keys',
    fields: ['key_alias', 'team_id', 'models', 'max_budget', 'budget_duration', 'rpm_limit', 'tpm_limit', 'max_parallel_requests',
      'tags', 'metadata', 'duration'],
  },
  teams: {
    noun: 'team', tab: 'Teams', list: '/team/list', items: 'data', create: '/team/new', update: '/team/update', remove: '/team/delete',
    idOf: (r) => r.team_id, nameOf: (r) => r.team_alias || r.team_id, idField: 'team_id', removeField: 'team_ids',
    fields: ['team_id', 'team_alias', 'organization_id', 'models', 'max_budget', 'budget_duration', 'rpm_limit', 'tpm_limit',
      'max_parallel_requests', 'metadata'],
  },
  orgs: {
    noun: 'organization', tab: 'Organizations', list: '/organization/list', items: 'data', create: '/organization/new',
    update: '/organization/update', remove: '/organization/delete',
    idOf: (r) => r.organization_id, nameOf: (r) => r.organization_alias || r.organization_id, idField: 'organization_id',
    removeField: 'organization_ids',
    fields: ['organization_id', 'organization_alias', 'models', 'max_budget', 'budget_duration', 'rpm_limit', 'tpm_limit',
      'max_parallel_requests', 'metadata'],
  },
};

const LISTS = new Set(['models', 'tags']);
const NUMBERS = new Set(['max_budget', 'rpm_limit', 'tpm_limit', 'max_parallel_requests']);

async function adminView(host, ctx) {
  const params = hashParams();
  let tab = KINDS[params.get('tab')] ? params.get('tab') : 'keys';
  const notice = el('p', { class: 'notice', role: 'status', 'aria-live': 'polite' });
  const tablist = el('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Keys, teams and organizations' });
  const panels = {};
  const tabs = {};
  const state = { keys: { page: 1, team: '', asked: 0 }, teams: { page: 1, asked: 0 }, orgs: { page: 1, asked: 0 } };
  for (const [name, kind] of Object.entries(KINDS)) {
    const panelId = uid(`panel-${name}`);
    const tabId = uid(`tab-${name}`);
    tabs[name] = el('button', { type: 'button', role: 'tab', id: tabId, 'aria-controls': panelId, onclick: () => select(name) }, kind.tab);
    panels[name] = el('div', { role: 'tabpanel', id: panelId, 'aria-labelledby': tabId, class: 'tab-panel', tabindex: 0 });
    tablist.append(tabs[name]);
  }
  tablist.addEventListener('keydown', (e) => {
    const names = Object.keys(KINDS);
    const i = names.indexOf(tab);
    const next = e.key === 'ArrowRight' ? names[(i + 1) % names.length] : e.key === 'ArrowLeft' ? names[(i + names.length - 1) % names.length]
      : e.key === 'Home' ? names[0] : e.key === 'End' ? names[names.length - 1] : null;
    if (next) {
      e.preventDefault();
      select(next);
      tabs[next].focus();
    }
  });
  host.append(tablist, notice, ...Object.values(panels));

  function say(text, isError) {
    notice.textContent = text;
    notice.classList.toggle('error', Boolean(isError));
  }

  function select(name) {
    if (name !== tab) say('');
    tab = name;
    for (const [n, t] of Object.entries(tabs)) {
      t.setAttribute('aria-selected', String(n === name));
      t.tabIndex = n === name ? 0 : -1;
      panels[n].hidden = n !== name;
    }
    history.replaceState(null, '', name === 'keys' ? '#/keys' : `#/keys?tab=${name}`);
    return load(name);
  }

  /** Reads one list and shows it in its panel. */
  async function load(name) {
    const kind = KINDS[name];
    const s = state[name];
    const panel = panels[name];
    let answer;
    const mine = ++s.asked;
    try {
      answer = await api(kind.list + query({ page: s.page, size: PAGE_SIZE, team_id: s.team }), { signal: ctx.signal });
    } catch (e) {
      if (e.name === 'AbortError') return;
      panel.replaceChildren(errorBox(e));
      return;
    }
    if (mine !== s.asked || ctx.signal.aborted) return; // a newer read is on its way, or the page was left
    const rows = answer[kind.items];
    const toolbar = el('div', { class: 'toolbar' },
      el('button', { type: 'button', id: `new-${kind.noun}`, onclick: () => createDialog(name) }, `Create ${kind.noun}`));
    if (name === 'keys') toolbar.append(await teamFilter());
    const paging = answer.total_pages > 1 ? el('div', { class: 'toolbar paging' },
      el('button', { type: 'button', class: 'secondary', disabled: s.page <= 1, onclick: () => { s.page -= 1; load(name); } }, 'Previous'),
      el('span', {}, `Page ${answer.current_page} of ${answer.total_pages} (${num(answer.total_count)} ${kind.tab.toLowerCase()})`),
      el('button', { type: 'button', class: 'secondary', disabled: s.page >= answer.total_pages, onclick: () => { s.page += 1; load(name); } }, 'Next'))
      : el('p', { class: 'muted count' }, `${num(answer.total_count)} ${answer.total_count === 1 ? kind.noun : kind.tab.toLowerCase()}`);
    const cols = columns(name);
    panel.replaceChildren(toolbar, stacked(table(cols, rows, { empty: `No ${kind.tab.toLowerCase()} yet.` }), cols), paging);
  }

  async function teamFilter() {
    const id = uid('team-filter');
    let teams = [];
    try {
      teams = (await api('/team/list?size=500', { signal: ctx.signal })).data;
    } catch { /* the list still shows without the filter's choices */ }
    const s = el('select', { id, onchange: () => { state.keys.team = s.value; state.keys.page = 1; load('keys'); } },
      el('option', { value: '' }, 'All teams'),
      teams.map((t) => el('option', { value: t.team_id, selected: t.team_id === state.keys.team }, t.team_alias || t.team_id)));
    return el('span', { class: 'field' }, el('label', { for: id }, 'Team'), s);
  }

  function columns(name) {
    const kind = KINDS[name];
    const spend = { label: 'Spend / budget', value: (r) => budgetBar(r.spend, r.max_budget) };
    const resets = { label: 'Resets', value: (r) => el('span', { class: 'resets' }, shortDate(r.budget_reset_at),
      r.budget_duration ? el('span', { class: 'muted' }, `every ${r.budget_duration}`) : null) };
    const common = [spend, resets, { label: 'Limits', value: limitsLines }];
    const stateCol = { label: 'State', value: stateBadge };
    const actions = { label: 'Actions', value: (r) => rowActions(name, r) };
    if (name === 'keys') {
      return [
        { label: 'Alias', value: (r) => el('span', { class: 'key-name' }, el('strong', {}, r.key_alias ?? '—'), el('code', {}, r.key_name)) },
        { label: 'Team', value: (r) => r.team_id ?? '—' },
        ...common,
        { label: 'Expires', value: (r) => shortDate(r.expires, 'never') },
        stateCol, actions,
      ];
    }
    return [
      { label: 'ID', value: (r) => el('code', {}, kind.idOf(r)) },
      { label: 'Alias', value: (r) => r[`${name === 'teams' ? 'team' : 'organization'}_alias`] ?? '—' },
      ...(name === 'teams' ? [{ label: 'Organization', value: (r) => r.organization_id ?? '—' }] : []),
      ...common,
      name === 'teams' ? { label: 'Keys', num: true, value: (r) => num(r.keys) } : { label: 'Teams', num: true, value: (r) => num(r.teams) },
      stateCol, actions,
    ];
  }

  function rowActions(name, r) {
    const kind = KINDS[name];
    const who = kind.nameOf(r);
    const blocked = r.blocked;
    const act = (label, onclick, cls) => el('button', { type: 'button', class: `small ${cls ?? 'secondary'}`, 'aria-label': `${label} ${who}`, onclick }, label);
    return el('span', { class: 'row-actions' },
      act('Edit', () => editDialog(name, r)),
      name === 'keys' ? act('Rotate', () => rotateDialog(r)) : null,
      act(blocked ? 'Unblock' : 'Block', (e) => setBlocked(name, r, !blocked, e.currentTarget)),
      act('Delete', () => deleteDialog(name, r), 'danger'));
  }

  async function setBlocked(name, r, blocked, button) {
    const kind = KINDS[name];
    try {
      await busy(button, () => (name === 'keys'
        ? api(blocked ? '/key/block' : '/key/unblock', { method: 'POST', body: { key: r.token } })
        : api(kind.update, { method: 'POST', body: { [kind.idField]: kind.idOf(r), blocked } })));
      say(`${cap(kind.noun)} ${kind.nameOf(r)} ${blocked ? 'blocked: its requests are refused' : 'unblocked'}.`);
    } catch (e) {
      say(e.message, true);
    }
    await load(name);
    // the list was drawn again: keep the focus on the row's button, which now says the opposite
    panels[name].querySelector(`button[aria-label="${CSS.escape(`${blocked ? 'Unblock' : 'Block'} ${kind.nameOf(r)}`)}"]`)?.focus();
  }

  function deleteDialog(name, r) {
    const kind = KINDS[name];
    const what = `${kind.noun} ${kind.nameOf(r)}`;
    openDialog(host, `Delete ${what}?`, (d) => {
      const err = el('p', { class: 'error', role: 'alert', hidden: true });
      const yes = el('button', { type: 'button', class: 'danger', onclick: async () => {
        try {
          await busy(yes, () => api(kind.remove, { method: 'POST', body: { [kind.removeField]: [kind.idOf(r)] } }));
          d.close();
          say(`${cap(what)} deleted.`);
          load(name);
        } catch (e) {
          err.textContent = e.message;
          err.hidden = false;
        }
      } }, 'Delete');
      d.append(
        el('p', {}, name === 'keys' ? 'Requests with this key are refused from now on. Its spend stays in the reports. This cannot be undone.'
          : `A ${kind.noun} that still has ${name === 'teams' ? 'keys' : 'teams'} cannot be deleted. This cannot be undone.`),
        err,
        el('div', { class: 'dialog-actions' }, el('button', { type: 'button', class: 'secondary', onclick: () => d.close() }, 'Cancel'), yes));
    });
  }

  function rotateDialog(r) {
    openDialog(host, `Rotate key ${KINDS.keys.nameOf(r)}?`, (d) => {
      const err = el('p', { class: 'error', role: 'alert', hidden: true });
      const yes = el('button', { type: 'button', onclick: async () => {
        try {
          const made = await busy(yes, () => api('/key/regenerate', { method: 'POST', body: { key: r.token } }));
          showSecret(d, 'Key rotated', made);
          load('keys');
        } catch (e) {
          err.textContent = e.message;
          err.hidden = false;
        }
      } }, 'Rotate');
      d.append(
        el('p', {}, 'A new secret replaces this key\'s secret; the old one stops working at once. Settings, spend and the key id stay.'),
        err,
        el('div', { class: 'dialog-actions' }, el('button', { type: 'button', class: 'secondary', onclick: () => d.close() }, 'Cancel'), yes));
    });
  }

  /** Replaces a dialog's content with a new secret, shown this once, and a Copy button. */
  function showSecret(d, title, made) {
    const titleId = d.getAttribute('aria-labelledby');
    const code = el('code', { id: 'new-secret' }, made.key);
    const copy = el('button', { type: 'button', onclick: () => copyText(made.key, copy) }, 'Copy');
    const done = el('button', { type: 'button', class: 'secondary', onclick: () => d.close() }, 'Done');
    d.replaceChildren(
      el('h2', { id: titleId }, title),
      el('p', { class: 'once', role: 'alert' }, el('strong', {}, 'Copy this key now: it won\'t be shown again.'),
        ' The gateway keeps only its hash, so nobody can read it back later.'),
      el('div', { class: 'secret' }, code, copy),
      el('dl', { class: 'fields' },
        el('dt', {}, 'Alias'), el('dd', {}, made.key_alias ?? '—'),
        el('dt', {}, 'Key'), el('dd', {}, el('code', {}, made.key_name)),
        el('dt', {}, 'Spend / budget'), el('dd', {}, budgetBar(made.spend, made.max_budget)),
        el('dt', {}, 'Limits'), el('dd', {}, limitsText(made)),
        el('dt', {}, 'Expires'), el('dd', {}, made.expires ? when(made.expires) : 'never')),
      el('div', { class: 'dialog-actions' }, done));
    copy.focus();
  }

  async function createDialog(name) {
    const kind = KINDS[name];
    const choices = await formChoices(name);
    openDialog(host, `Create ${kind.noun}`, (d) => {
      const form = recordForm(name, null, choices, async (body, submit, err) => {
        try {
          const made = await busy(submit, () => api(kind.create, { method: 'POST', body }));
          if (name === 'keys') {
            showSecret(d, 'Key created', made);
          } else {
            d.close();
            say(`${cap(kind.noun)} ${kind.nameOf(made)} created.`);
          }
          load(name);
        } catch (e) {
          showFormError(form, err, e);
        }
      }, () => d.close());
      d.append(form);
    });
  }

  async function editDialog(name, r) {
    const kind = KINDS[name];
    const choices = await formChoices(name);
    openDialog(host, `Edit ${kind.noun} ${kind.nameOf(r)}`, (d) => {
      const form = recordForm(name, r, choices, async (body, submit, err) => {
        if (!Object.keys(body).length) {
          d.close();
          return;
        }
        try {
          await busy(submit, () => api(kind.update, { method: 'POST', body: { [kind.idField]: kind.idOf(r), ...body } }));
          d.close();
          say(`${cap(kind.noun)} ${kind.nameOf(r)} updated.`);
          load(name);
        } catch (e) {
          showFormError(form, err, e);
        }
      }, () => d.close());
      d.append(form);
    });
  }

  /** The teams (for a key) or organizations (for a team) a form offers, and the catalog's models. */
  async function formChoices(name) {
    const out = { teams: [], orgs: [], models: [] };
    const tries = [
      api('/v1/models').then((m) => { out.models = m.data.map((x) => x.id); }),
      name === 'keys' ? api('/team/list?size=500').then((t) => { out.teams = t.data; }) : null,
      name === 'teams' ? api('/organization/list?size=500').then((o) => { out.orgs = o.data; }) : null,
    ];
    await Promise.allSettled(tries);
    return out;
  }

  ctx.every(POLL_MS, () => {
    // re-read the spend bars, unless the user is in a dialog or on a row (a new table would take the focus away)
    if (host.querySelector('dialog[open]') || panels[tab].contains(document.activeElement)) return;
    load(tab);
  });
  await select(tab);
}

/**
 * The create or edit form of a key, team or organization. On submit it calls onSubmit(body, submitButton,
 * errorBox) with the fields to send: all that are filled in (create), or those that changed (edit, an
 * emptied one as null).
 */
function recordForm(name, record, choices, onSubmit, onCancel) {
  const kind = KINDS[name];
  const editing = Boolean(record);
  const specs = {
    key_alias: { label: 'Alias', hint: 'Who or what uses it, e.g. alice or invoices-batch' },
    team_alias: { label: 'Alias' },
    organization_alias: { label: 'Alias' },
    team_id: name === 'keys'
      ? { label: 'Team', options: [['', 'No team'], ...withCurrent(choices.teams.map((t) => [t.team_id, t.team_alias ? `${t.team_alias} (${t.team_id})` : t.team_id]), record?.team_id)] }
      : { label: 'Team id', hint: 'Left empty: one is made up' },
    organization_id: name === 'teams'
      ? { label: 'Organization', options: [['', 'No organization'], ...withCurrent(choices.orgs.map((o) => [o.organization_id, o.organization_alias ? `${o.organization_alias} (${o.organization_id})` : o.organization_id]), record?.organization_id)] }
      : { label: 'Organization id', hint: 'Left empty: one is made up' },
    models: { label: 'Models', hint: `Comma-separated; empty: every model.${choices.models.length ? ` Catalog: ${choices.models.join(', ')}` : ''}`, wide: true },
    max_budget: { label: 'Budget (USD)', inputmode: 'decimal', placeholder: 'none' },
    budget_duration: { label: 'Budget period', list: BUDGET_PERIODS, placeholder: 'never resets', hint: 'e.g. 1d, 30d, 1mo' },
    rpm_limit: { label: 'Requests per minute', inputmode: 'numeric', placeholder: 'no limit' },
    tpm_limit: { label: 'Tokens per minute', inputmode: 'numeric', placeholder: 'no limit' },
    max_parallel_requests: { label: 'Parallel requests', inputmode: 'numeric', placeholder: 'no limit' },
    tags: { label: 'Tags', hint: 'Comma-separated' },
    metadata: { label: 'Metadata (JSON object)', textarea: true, wide: true, placeholder: '{"owner": "ml-platform"}' },
    duration: { label: editing ? 'New expiry (from now)' : 'Expires after', list: ['1d', '7d', '30d', '90d', '365d'],
      placeholder: editing ? 'unchanged' : 'never', hint: 'e.g. 7d, 30d, 1mo' },
  };
  const fields = kind.fields.filter((f) => !(editing && f === kind.idField)); // an id is not edited
  const controls = {};
  const grid = el('div', { class: 'form-grid' });
  for (const f of fields) {
    const spec = { name: f, ...specs[f], value: record ? shown(f, record[f]) : '' };
    const wrap = field(spec);
    controls[f] = wrap.querySelector('[data-field]');
    grid.append(wrap);
  }
  const err = el('p', { class: 'error', role: 'alert', hidden: true });
  const submit = el('button', { type: 'submit' }, editing ? 'Save' : `Create ${kind.noun}`);
  const form = el('form', { class: 'record-form', novalidate: true }, grid, err,
    el('div', { class: 'dialog-actions' }, el('button', { type: 'button', class: 'secondary', onclick: onCancel }, 'Cancel'), submit));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const body = {};
    try {
      for (const f of fields) {
        const text = controls[f].value;
        if (f === 'duration') {
          if (text.trim()) body.duration = text.trim();
          continue;
        }
        const value = parsed(f, text);
        if (editing) {
          if (JSON.stringify(value) !== JSON.stringify(parsed(f, shown(f, record[f])))) body[f] = value;
        } else if (value !== null && !(Array.isArray(value) && !value.length) && !(f === 'metadata' && !Object.keys(value).length)) {
          body[f] = value;
        }
      }
    } catch (bad) {
      showFormError(form, err, bad);
      return;
    }
    err.hidden = true;
    onSubmit(body, submit, err);
  });
  return form;
}

function withCurrent(options, current) {
  return current && !options.some(([v]) => v === current) ? [...options, [current, current]] : options;
}

/** A record's value as a form shows it. */
function shown(f, v) {
  if (v === null || v === undefined) return '';
  if (LISTS.has(f)) return v.join(', ');
  if (f === 'metadata') return Object.keys(v).length ? JSON.stringify(v, null, 2) : '';
  return String(v);
}

/** A form's text as the API takes it: empty is null. */
function parsed(f, text) {
  const t = text.trim();
  if (LISTS.has(f)) return list(t);
  if (f === 'metadata') {
    if (!t) return {};
    try {
      return JSON.parse(t);
    } catch (e) {
      throw new Error(`\`metadata\` is not JSON: ${e.message}`);
    }
  }
  if (!t) return null;
  return NUMBERS.has(f) ? numberOrText(t) : t;
}

function cap(s) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
