// What the overview, keys and spend pages share: the spend report, dialogs and form fields, limits and state.
import { api, query } from '../api.js';
import { budgetBar, el, num, usd, when } from '../util.js';

let seq = 0;
/** An id unique on the page. */
export function uid(prefix) {
  seq += 1;
  return `${prefix}-${seq}`;
}

/** GET /spend/report with {group_by, interval, from, to, job_id, ...}. */
export function report(params, signal) {
  return api(`/spend/report${query(params)}`, { signal });
}

/** The report's groupings: [value, label]; `metadata` stands for metadata.<name>. */
export const GROUPINGS = [
  ['', 'Nothing (totals)'], ['key', 'Key'], ['team', 'Team'], ['org', 'Organization'], ['model', 'Model'],
  ['deployment', 'Deployment'], ['provider', 'Provider'], ['tag', 'Tag'], ['job_id', 'Job'], ['stage', 'Stage'],
  ['variant', 'A/B variant'], ['metadata', 'Metadata field…'],
];
/** What a virtual key may break its own spend down by (key, team and org would be the key itself). */
export const KEY_GROUPINGS = ['', 'model', 'deployment', 'provider', 'tag', 'job_id', 'stage', 'variant', 'metadata'];
/** The groupings a report narrowed to one job may use. */
export const JOB_GROUPINGS = ['', 'stage', 'model', 'key'];

/** A report row's group as shown: a key by its alias and id. */
export function groupName(row, groupBy) {
  if (groupBy === 'key') {
    return row.key_alias ? el('span', {}, row.key_alias, ' ', el('span', { class: 'muted' }, row.group)) : row.group;
  }
  return row.group;
}

/** The report's interval for a range of hours: hourly up to a day, daily beyond. */
export function intervalFor(hours) {
  return hours <= 48 ? 'hour' : 'day';
}

/**
 * The x values (epoch seconds) of every interval from `from` to `to` (ISO strings from the report), and
 * per series name its values, 0 or null for intervals without calls. rows are the report's data.
 */
export function timeline(report, interval, pick) {
  const step = interval === 'day' ? 86_400_000 : 3_600_000;
  const start = Math.floor(Date.parse(report.from) / step) * step;
  const end = Date.parse(report.to);
  const xs = [];
  for (let t = start; t < end; t += step) xs.push(t / 1000);
  const at = new Map(report.data.map((r) => [Date.parse(r.interval_start) / 1000, r]));
  const series = {};
  for (const [name, f] of Object.entries(pick)) series[name] = xs.map((x) => f(at.get(x)));
  return { xs, series };
}

/** A key's, team's or org's state: blocked, expired or active. */
export function stateOf(r) {
  if (r.blocked) return 'blocked';
  if (r.expired) return 'expired';
  return 'active';
}

export function stateBadge(r) {
  const s = stateOf(r);
  return el('span', { class: `badge ${s === 'active' ? 'ok' : s === 'expired' ? 'warn' : 'bad'}` }, s);
}

/** RPM / TPM / parallel limits as "60 rpm · 8 parallel", or "none". */
export function limitsText(r) {
  const parts = [];
  if (r.rpm_limit) parts.push(`${num(r.rpm_limit)} rpm`);
  if (r.tpm_limit) parts.push(`${num(r.tpm_limit)} tpm`);
  if (r.max_parallel_requests) parts.push(`${num(r.max_parallel_requests)} parallel`);
  return parts.length ? parts.join(' · ') : 'none';
}

export function resetText(r) {
  return r.budget_reset_at ? when(r.budget_reset_at) : '—';
}

/** A date as a list shows it ("Jan 3, 2027"), the full local time in its title; '—' or `none` when absent. */
export function shortDate(iso, none = '—') {
  if (!iso) return none;
  const d = new Date(iso);
  return el('time', { datetime: iso, title: when(iso) },
    d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' }));
}

/** Limits one a line, for a narrow table cell. */
export function limitsLines(r) {
  const text = limitsText(r);
  return text === 'none' ? el('span', { class: 'muted' }, 'none')
    : el('span', { class: 'limits' }, text.split(' · ').map((l) => el('span', {}, l)));
}

/**
 * A modal dialog in `host` (gone with the page): a title, then what fill(dialog) appends. showModal()
 * keeps focus inside it; Escape or a Cancel button closes it, which removes it.
 */
export function openDialog(host, title, fill) {
  const titleId = uid('dialog-title');
  const d = el('dialog', { 'aria-labelledby': titleId, class: 'money-dialog' }, el('h2', { id: titleId }, title));
  host.append(d);
  d.addEventListener('close', () => d.remove());
  fill(d);
  d.showModal();
  const first = d.querySelector('input, select, textarea, button:not(.quiet)');
  first?.focus();
  return d;
}

/**
 * A labelled input for a form: spec is {name, label, type, value, hint, list: [options for a datalist],
 * options: [[value, label]] for a select, textarea: true}. The control carries data-field = name, so an
 * API error naming the field can point at it.
 */
export function field(spec) {
  const id = uid(`f-${spec.name}`);
  let control;
  if (spec.options) {
    control = el('select', { id, name: spec.name },
      spec.options.map(([v, label]) => el('option', { value: v, selected: String(spec.value ?? '') === String(v) }, label)));
  } else if (spec.textarea) {
    control = el('textarea', { id, name: spec.name, spellcheck: 'false', rows: 3, placeholder: spec.placeholder });
    control.value = spec.value ?? '';
  } else {
    let listId;
    if (spec.list) listId = uid('list');
    control = el('input', { id, name: spec.name, type: 'text', inputmode: spec.inputmode, list: listId, placeholder: spec.placeholder,
      autocomplete: 'off', spellcheck: 'false' });
    control.value = spec.value ?? '';
    if (spec.list) {
      return wrap(el('datalist', { id: listId }, spec.list.map((v) => el('option', { value: v }))));
    }
  }
  return wrap();

  function wrap(extra) {
    control.dataset.field = spec.name;
    const hintId = spec.hint ? uid('hint') : undefined;
    if (hintId) control.setAttribute('aria-describedby', hintId);
    return el('div', { class: `field${spec.wide ? ' wide' : ''}` }, el('label', { for: id }, spec.label), control, extra,
      spec.hint ? el('span', { class: 'hint', id: hintId }, spec.hint) : null);
  }
}

/** A number typed in a form: a number when it reads as one, else the text (the API names what is wrong). */
export function numberOrText(v) {
  const t = v.trim();
  return t !== '' && Number.isFinite(Number(t)) ? Number(t) : t;
}

/** "a, b ,c" → ['a', 'b', 'c']. */
export function list(v) {
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * Shows an API error in a form: the message in its alert, and the field it names (`max_budget`) marked
 * invalid and focused.
 */
export function showFormError(form, box, e) {
  for (const c of form.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
  box.textContent = e?.message ?? String(e);
  box.hidden = false;
  const named = /`([a-z_]+)`/.exec(box.textContent)?.[1];
  const control = named && (form.querySelector(`[data-field="${named}"]`)
    ?? (named === 'expires' ? form.querySelector('[data-field="duration"]') : null));
  if (control) {
    control.setAttribute('aria-invalid', 'true');
    control.focus();
  }
}

/** Runs fn; while it runs the button is disabled. */
export async function busy(button, fn) {
  button.disabled = true;
  try {
    return await fn();
  } finally {
    button.disabled = false;
  }
}

export const BUDGET_PERIODS = ['30m', '1h', '1d', '7d', '30d', '1mo'];

/**
 * What one key is, as a heading and a list of fields; compact: only its spend, budget, limits and expiry (the
 * overview shows that for the signed-in key).
 */
export function ownKeyCard(k, { compact = false } = {}) {
  const rows = [
    ['Spend / budget', [budgetBar(k.spend, k.max_budget), k.budget_duration ? el('span', { class: 'muted' }, ` per ${k.budget_duration}`) : null], true],
    ['Budget resets', resetText(k), true],
    ['Limits', limitsText(k), true],
    ['Expires', k.expires ? when(k.expires) : 'never', true],
    ['Total spend', usd(k.total_spend)],
    ['In flight', num(k.requests_in_flight)],
    ['Models', k.models?.length ? k.models.join(', ') : 'all'],
    ['Key', el('code', {}, k.key_name)],
    ['Team', k.team_id ?? '—'],
    ['Organization', k.organization_id ?? '—'],
    ['Tags', k.tags?.length ? k.tags.join(', ') : '—'],
    ['Created', when(k.created_at)],
  ].filter((r) => !compact || r[2]);
  return [
    el('h2', { class: 'key-title' }, k.key_alias || k.key_name, ' ', stateBadge(k)),
    el('dl', { class: 'fields' }, rows.flatMap(([dt, dd]) => [el('dt', {}, dt), el('dd', {}, dd)])),
  ];
}

/** Dollars for a chart's axis: short ("$0.00015", "$12.50", "$1.2k"). */
export function usdAxis(v) {
  if (v === null || v === undefined) return '—';
  const a = Math.abs(v);
  if (a === 0) return '$0';
  if (a >= 1000) return `$${(v / 1000).toFixed(1)}k`;
  if (a >= 1) return `$${v.toFixed(2)}`;
  return `$${Number(v.toPrecision(2))}`;
}

/** Milliseconds for a chart's axis. */
export function msAxis(v) {
  if (v === null || v === undefined) return '—';
  return v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${Number(v.toPrecision(2))} ms`;
}

/** An interval's start as a table shows it: an hour in local time, a day (the report's are UTC days) as its date. */
export function intervalLabel(iso, interval) {
  const d = new Date(iso);
  return interval === 'day'
    ? d.toLocaleDateString(undefined, { timeZone: 'UTC', year: 'numeric', month: 'short', day: 'numeric' })
    : d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/**
 * Marks a util.table for a narrow window: each cell carries its column's name (data-label), and below 600 px
 * money.css shows each row as a card of "name value" lines instead of a wide table.
 */
export function stacked(wrap, columns) {
  wrap.classList?.add('stack');
  for (const tr of wrap.querySelectorAll?.('tbody tr') ?? []) {
    [...tr.children].forEach((td, i) => { td.dataset.label = columns[i]?.label ?? ''; });
  }
  return wrap;
}
