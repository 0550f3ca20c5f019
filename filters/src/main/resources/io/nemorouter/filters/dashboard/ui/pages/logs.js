// Requests: the request log from GET /spend/logs, newest first, filtered and paged by its cursor; one record
// opens in a dialog with every field it has; "Live" follows new requests. A virtual key reads only its own
// records (the API enforces it), so it is offered no key filter and no key column.
import { api, query } from '../api.js';
import { el, errorBox, usd, ms, num, copyText } from '../util.js';
import { shortTime, statusBadge, cacheBadge, jsonValue, fields } from './activity-util.js';

const PAGE_SIZE = 50;
const TAIL_EVERY_MS = 2000;
/** How far back a tail looks past the newest record shown: records reach the log a few ms out of order. */
const TAIL_SLACK_MS = 5000;

const STATUSES = [['', 'Any'], ['ok', 'Successful (< 400)'], ['error', 'Errors (≥ 400)'],
  ...['200', '400', '401', '402', '403', '404', '408', '413', '422', '429', '499', '500', '502', '503', '504'].map((s) => [s, s])];
const CACHES = [['', 'Any'], ['hit', 'hit'], ['miss', 'miss'], ['bypass', 'bypass']];
const RANGES = [['', 'Any time'], ['0.25', 'Last 15 minutes'], ['1', 'Last hour'], ['24', 'Last 24 hours'],
  ['168', 'Last 7 days'], ['720', 'Last 30 days'], ['custom', 'Custom…']];

/** The fields the dialog shows in its own sections; any other member is listed under "Other fields". */
const KNOWN = new Set(['id', 'time', 'ts', 'endpoint', 'model', 'deployment', 'provider', 'variant', 'stream', 'status',
  'error_type', 'error', 'key_id', 'key_alias', 'key_hash', 'team_id', 'org_id', 'total_ms', 'ttft_ms', 'upstream_ms',
  'overhead_ms', 'input_tokens', 'output_tokens', 'cached_tokens', 'usage_estimated', 'cost', 'saved_cost', 'unpriced',
  'cache', 'fallbacks', 'attempts', 'metadata', 'tags', 'dropped_params', 'prompt', 'completion']);

function field(id, label, control) {
  control.id = id;
  return el('span', { class: 'field' }, el('label', { for: id }, label), control);
}

function select(options, value = '') {
  return el('select', {}, options.map(([v, label]) => el('option', { value: v, selected: v === value }, label)));
}

function keyName(r) {
  if (r.key_alias) return r.key_alias;
  if (r.key_id === 'master') return 'master key';
  return r.key_id ?? 'no key';
}

function jobStage(r) {
  const m = r.metadata && typeof r.metadata === 'object' ? r.metadata : {};
  const parts = [m.job_id, m.stage].filter((v) => v !== undefined && v !== null && v !== '');
  return parts.length ? parts.map(String).join(' / ') : '—';
}

/** A millisecond figure exactly as logged, with its rounded reading. */
function exactMs(v) {
  if (v === null || v === undefined) return undefined;
  return `${ms(v)} (${v} ms)`;
}

function yesNo(v) {
  return v === undefined ? undefined : v ? 'yes' : 'no';
}

/** A body as logged: JSON pretty-printed when it is JSON, else as text. */
function body(text) {
  if (text === null || text === undefined) return undefined;
  try {
    return el('pre', { class: 'json' }, JSON.stringify(JSON.parse(text), null, 2));
  } catch {
    return el('pre', { class: 'json' }, String(text));
  }
}

/** The dialog of one record: every field it has, in sections. */
function recordDialog(r) {
  const title = el('h2', { id: 'record-title' }, 'Request ', el('code', {}, r.id ?? ''));
  const close = el('button', { type: 'button', class: 'secondary', id: 'record-close' }, 'Close');
  const copy = el('button', { type: 'button', class: 'quiet' }, 'Copy JSON');
  copy.addEventListener('click', () => copyText(JSON.stringify(r, null, 2), copy));
  const section = (name, content) => el('section', { class: 'record-section' }, el('h3', {}, name), content);
  const attempts = Array.isArray(r.attempts) && r.attempts.length
    ? el('div', { class: 'table-wrap' }, el('table', { class: 'attempts' },
      el('thead', {}, el('tr', {}, ['#', 'Deployment', 'Status', 'Time', 'Error'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, r.attempts.map((a, i) => el('tr', {},
        el('td', {}, String(i + 1)), el('td', {}, a.deployment ?? '—'), el('td', {}, statusBadge(a.status)),
        el('td', { class: 'num' }, ms(a.ms)), el('td', {}, a.error ?? '—'))))))
    : el('p', { class: 'muted' }, 'No upstream attempt (answered by the gateway).');
  const other = Object.keys(r).filter((k) => !KNOWN.has(k));
  const tags = Array.isArray(r.tags) ? r.tags : [];
  const d = el('dialog', { class: 'record', 'aria-labelledby': 'record-title' },
    el('div', { class: 'record-head' }, title, el('span', { class: 'record-actions' }, copy, close)),
    section('Request', fields([
      ['Time', r.time ? `${r.time} (${new Date(r.time).toLocaleString()})` : undefined],
      ['Endpoint', r.endpoint],
      ['Model', r.model],
      ['Deployment', r.deployment],
      ['Provider', r.provider],
      ['A/B variant', r.variant],
      ['Stream', yesNo(r.stream)],
      ['Status', r.status === undefined ? undefined : el('span', {}, statusBadge(r.status), r.error_type ? ` ${r.error_type}` : '')],
      ['Error', r.error ?? (r.status >= 400 ? null : undefined)],
      ['Key', r.key_id === undefined ? undefined : `${keyName(r)}${r.key_id && r.key_id !== 'master' ? ` (id ${r.key_id}${r.key_hash ? `, token ${r.key_hash}…` : ''})` : ''}`],
      ['Team', r.team_id],
      ['Organization', r.org_id],
    ])),
    section('Latency', fields([
      ['Total', exactMs(r.total_ms)],
      ['Time to first byte', exactMs(r.ttft_ms)],
      ['Upstream', exactMs(r.upstream_ms)],
      ['Gateway overhead', exactMs(r.overhead_ms)],
    ])),
    section('Tokens and cost', fields([
      ['Input tokens', r.input_tokens === undefined ? undefined : num(r.input_tokens)],
      ['Output tokens', r.output_tokens === undefined ? undefined : num(r.output_tokens)],
      ['Cached input tokens', r.cached_tokens === undefined ? undefined : num(r.cached_tokens)],
      ['Usage estimated', yesNo(r.usage_estimated)],
      ['Cost', r.cost === undefined ? undefined : `${usd(r.cost)} (${r.cost} USD)`],
      ['Saved by the cache', r.saved_cost === undefined ? undefined : usd(r.saved_cost)],
      ['Unpriced model', yesNo(r.unpriced)],
    ])),
    section('Cache and routing', el('div', {},
      fields([['Cache', r.cache === undefined ? undefined : cacheBadge(r.cache)],
        ['Fallbacks (failed attempts first)', r.fallbacks === undefined ? undefined : String(r.fallbacks)]]),
      el('h4', {}, 'Attempts'), attempts)),
    section('Metadata and tags', fields([
      ['Metadata', jsonValue(r.metadata)],
      ['Tags', tags.length ? el('span', { class: 'tags' }, tags.map((t) => el('span', { class: 'badge' }, String(t)))) : null],
      ['Dropped params', r.dropped_params === undefined ? undefined : jsonValue(r.dropped_params)],
    ])),
    r.prompt !== undefined || r.completion !== undefined
      ? section('Bodies', fields([['Request', body(r.prompt)], ['Answer', body(r.completion)]])) : null,
    other.length ? section('Other fields', fields(other.map((k) => [k, jsonValue(r[k])]))) : null);
  close.addEventListener('click', () => d.close());
  return d;
}

export default {
  id: 'logs',
  title: 'Requests',
  roles: ['admin', 'key'],
  async render(host, ctx) {
    const admin = ctx.me.role === 'admin';
    const c = {
      key: admin ? el('input', { type: 'search', list: 'logs-keys', placeholder: 'alias or id', spellcheck: 'false' }) : null,
      model: el('input', { type: 'search', list: 'logs-models', placeholder: 'any', spellcheck: 'false' }),
      status: select(STATUSES),
      tag: el('input', { type: 'search', placeholder: 'any', spellcheck: 'false' }),
      job: el('input', { type: 'search', placeholder: 'any', spellcheck: 'false' }),
      stage: el('input', { type: 'search', placeholder: 'any', spellcheck: 'false' }),
      cache: select(CACHES),
      range: select(RANGES, ''),
      from: el('input', { type: 'datetime-local', step: 1 }),
      to: el('input', { type: 'datetime-local', step: 1 }),
    };
    const keyList = el('datalist', { id: 'logs-keys' });
    const modelList = el('datalist', { id: 'logs-models' });
    const customFrom = field('logs-from', 'From', c.from);
    const customTo = field('logs-to', 'To', c.to);
    customFrom.hidden = customTo.hidden = true;
    const apply = el('button', { type: 'submit' }, 'Apply');
    const clear = el('button', { type: 'button', class: 'secondary' }, 'Clear');
    const form = el('form', { class: 'toolbar log-filters', role: 'search', 'aria-label': 'Filter requests' },
      admin ? field('logs-key', 'Key', c.key) : null,
      field('logs-model', 'Model', c.model),
      field('logs-status', 'Status', c.status),
      field('logs-tag', 'Tag', c.tag),
      field('logs-job', 'Job id', c.job),
      field('logs-stage', 'Stage', c.stage),
      field('logs-cache', 'Cache', c.cache),
      field('logs-range', 'Time', c.range),
      customFrom, customTo,
      el('span', { class: 'buttons' }, apply, clear),
      keyList, modelList);

    const live = el('input', { type: 'checkbox', id: 'logs-live', role: 'switch' });
    const liveState = el('span', { class: 'muted', id: 'logs-live-state', role: 'status', 'aria-live': 'polite' });
    const summary = el('p', { class: 'muted', id: 'logs-summary', role: 'status' });
    const bar = el('div', { class: 'log-bar' },
      el('label', { class: 'switch', for: 'logs-live' }, live, el('span', {}, 'Live')), liveState, summary);
    const errorHost = el('div', {});
    const tbody = el('tbody', {});
    const columns = [
      ['Time'], admin ? ['Key'] : null, ['Model / deployment'], ['Status'], ['Latency', true], ['Tokens in → out', true],
      ['Cost', true], ['Cache'], ['Job / stage'],
    ].filter(Boolean);
    const tableWrap = el('div', { class: 'table-wrap' }, el('table', { class: 'log-table', id: 'logs-table' },
      el('caption', { class: 'offscreen' }, 'Requests, newest first. Press Enter on a row to open it.'),
      el('thead', {}, el('tr', {}, columns.map(([label, n]) => el('th', { scope: 'col', class: n ? 'num' : undefined }, label)))),
      tbody));
    const empty = el('p', { class: 'empty', id: 'logs-empty' }, 'No requests match these filters.');
    const more = el('button', { type: 'button', class: 'secondary', id: 'logs-more' }, 'Load more');
    if (!admin) host.append(el('p', { class: 'muted', id: 'logs-own' }, `The requests made with this key (${ctx.me.label}) only.`));
    host.append(form, bar, errorHost, tableWrap, empty, el('p', { class: 'more' }, more));

    let records = [];
    let ids = new Set();
    let params = {}; // the applied filters, for "Load more" and the tail
    let cursor = null;
    let appliedAt = Date.now();
    let generation = 0; // answers to an older filter are dropped
    let tailing = false;

    const rowOf = (r, fresh) => {
      const cells = [
        shortTime(r.ts ?? r.time),
        admin ? el('span', {}, keyName(r), r.key_hash ? el('span', { class: 'sub' }, r.key_hash) : null) : null,
        el('span', {}, r.model ?? '—', r.deployment && r.deployment !== r.model ? el('span', { class: 'sub' }, r.deployment) : null,
          r.stream ? el('span', { class: 'sub' }, 'stream') : null),
        el('span', {}, statusBadge(r.status, r.error ?? undefined),
          r.fallbacks ? el('span', { class: 'sub' }, `${r.fallbacks} fallback${r.fallbacks === 1 ? '' : 's'}`) : null),
        el('span', { title: r.ttft_ms !== undefined ? `first byte after ${ms(r.ttft_ms)}` : undefined }, ms(r.total_ms)),
        `${num(r.input_tokens)} → ${num(r.output_tokens)}${r.usage_estimated ? ' (est.)' : ''}`,
        el('span', {}, usd(r.cost), r.saved_cost ? el('span', { class: 'sub' }, `saved ${usd(r.saved_cost)}`) : null,
          r.unpriced ? el('span', { class: 'sub' }, 'unpriced') : null),
        cacheBadge(r.cache),
        el('span', {}, jobStage(r), Array.isArray(r.tags) && r.tags.length ? el('span', { class: 'sub' }, r.tags.join(', ')) : null),
      ].filter((x) => x !== null);
      const tr = el('tr', { tabindex: 0, class: `clickable${fresh ? ' fresh' : ''}`, dataset: { id: r.id ?? '' } },
        cells.map((v, i) => el('td', { class: columns[i][1] ? 'num' : undefined }, v)));
      const open = () => {
        const d = recordDialog(r);
        host.append(d);
        d.addEventListener('close', () => { d.remove(); if (tr.isConnected) tr.focus(); });
        d.showModal();
        d.querySelector('#record-close').focus();
      };
      tr.addEventListener('click', open);
      tr.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); open(); } });
      return tr;
    };

    const showCounts = () => {
      empty.hidden = records.length > 0;
      tableWrap.hidden = records.length === 0;
      more.hidden = !cursor;
      summary.textContent = records.length ? `${num(records.length)} request${records.length === 1 ? '' : 's'} shown${cursor ? ', more to load' : ''}.` : '';
    };

    const filterParams = () => {
      const p = {
        key: c.key?.value.trim(), model: c.model.value.trim(), status: c.status.value, tag: c.tag.value.trim(),
        job_id: c.job.value.trim(), stage: c.stage.value.trim(), cache: c.cache.value, limit: PAGE_SIZE,
      };
      if (c.range.value === 'custom') {
        if (c.from.value) p.from = new Date(c.from.value).getTime();
        if (c.to.value) p.to = new Date(c.to.value).getTime();
      } else if (c.range.value) {
        p.from = Date.now() - Math.round(Number(c.range.value) * 3_600_000);
      }
      return p;
    };

    const load = async () => {
      const gen = ++generation;
      params = filterParams();
      appliedAt = Date.now();
      tableWrap.setAttribute('aria-busy', 'true');
      apply.disabled = true;
      try {
        const page = await api(`/spend/logs${query(params)}`);
        if (gen !== generation) return;
        errorHost.replaceChildren();
        records = page.data ?? [];
        ids = new Set(records.map((r) => r.id));
        cursor = page.has_more ? page.next_cursor : null;
        tbody.replaceChildren(...records.map((r) => rowOf(r, false)));
      } catch (e) {
        if (gen !== generation) return;
        if (e.status === 401) { ctx.signedOut('The key was refused; sign in again.'); return; }
        errorHost.replaceChildren(errorBox(e));
        records = [];
        ids = new Set();
        cursor = null;
        tbody.replaceChildren();
      } finally {
        if (gen === generation) {
          tableWrap.removeAttribute('aria-busy');
          apply.disabled = false;
          showCounts();
        }
      }
    };

    const loadMore = async () => {
      if (!cursor) return;
      const gen = generation;
      more.disabled = true;
      try {
        const page = await api(`/spend/logs${query({ ...params, cursor })}`);
        if (gen !== generation) return;
        const older = (page.data ?? []).filter((r) => !ids.has(r.id));
        older.forEach((r) => ids.add(r.id));
        records.push(...older);
        tbody.append(...older.map((r) => rowOf(r, false)));
        cursor = page.has_more ? page.next_cursor : null;
        errorHost.replaceChildren();
      } catch (e) {
        if (gen === generation) errorHost.replaceChildren(errorBox(e));
      } finally {
        more.disabled = false;
        showCounts();
      }
    };

    /** Live: asks for records since just before the newest shown, prepends the ones not shown yet. */
    const tail = async () => {
      if (!live.checked || tailing || apply.disabled) return;
      tailing = true;
      const gen = generation;
      try {
        const newest = records.length ? Math.max(...records.slice(0, 20).map((r) => r.ts ?? 0)) : appliedAt;
        const since = Math.max(newest - TAIL_SLACK_MS, params.from ?? 0);
        const page = await api(`/spend/logs${query({ ...params, from: since, limit: 200 })}`);
        if (gen !== generation || !live.checked) return;
        const fresh = (page.data ?? []).filter((r) => !ids.has(r.id));
        if (fresh.length) {
          fresh.forEach((r) => ids.add(r.id));
          records.unshift(...fresh);
          tbody.prepend(...fresh.map((r) => rowOf(r, true)));
          showCounts();
        }
        liveState.textContent = fresh.length
          ? `Following new requests: ${fresh.length} new at ${new Date().toLocaleTimeString()}.`
          : 'Following new requests.';
      } catch (e) {
        liveState.textContent = `Live paused: ${e.message}`;
      } finally {
        tailing = false;
      }
    };

    form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
    for (const s of [c.status, c.cache]) s.addEventListener('change', load);
    c.range.addEventListener('change', () => {
      customFrom.hidden = customTo.hidden = c.range.value !== 'custom';
      if (c.range.value !== 'custom') load();
    });
    clear.addEventListener('click', () => {
      for (const i of [c.key, c.model, c.tag, c.job, c.stage, c.from, c.to]) if (i) i.value = '';
      c.status.value = '';
      c.cache.value = '';
      c.range.value = '';
      customFrom.hidden = customTo.hidden = true;
      load();
    });
    more.addEventListener('click', loadMore);
    live.addEventListener('change', () => {
      liveState.textContent = live.checked ? 'Following new requests.' : '';
      if (live.checked) tail();
    });
    ctx.every(TAIL_EVERY_MS, tail);

    // suggestions for the key and model filters (typing anything else works too)
    api('/v1/models').then((m) => {
      modelList.replaceChildren(...[...(m.data ?? []).map((x) => x.id), 'auto'].map((id) => el('option', { value: id })));
    }).catch(() => {});
    if (admin) {
      api('/key/list?size=100').then((l) => {
        const names = new Set(['master']);
        for (const k of l.keys ?? []) names.add(k.key_alias || k.key_id);
        keyList.replaceChildren(...[...names].map((n) => el('option', { value: n })));
      }).catch(() => {});
    }
    await load();
  },
};
