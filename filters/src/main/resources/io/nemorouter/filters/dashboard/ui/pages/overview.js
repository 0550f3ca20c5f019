// Overview: over a chosen range, the totals of /spend/report as tiles (requests, spend, tokens, cache, errors,
// latency), the same per hour or day as charts, and the top keys, teams, models, tags and jobs by spend. A
// virtual key sees its own: its budget and limits first, then its own figures (the API narrows them to it).
import { api } from '../api.js';
import { chart, el, errorBox, hashParams, ms, num, pct, rangePicker, rangeQuery, table, usd, when } from '../util.js';
import { intervalFor, msAxis, ownKeyCard, report, timeline, usdAxis } from './money-kit.js';

const POLL_MS = 15_000;
/** The top lists: [group_by, heading]; admin-only ones are marked. */
const TOPS = [['key', 'Top keys', true], ['team', 'Top teams', true], ['model', 'Top models'], ['tag', 'Top tags'], ['job_id', 'Top jobs']];
const TOP_N = 5;

export default {
  id: 'overview',
  title: 'Overview',
  roles: ['admin', 'key'],
  async render(host, ctx) {
    const admin = ctx.me.role === 'admin';
    const params = hashParams();
    let hours = Number(params.get('hours')) || 24;
    const updated = el('span', { class: 'muted updated', 'aria-live': 'off' });
    const refresh = el('button', { type: 'button', class: 'secondary', onclick: () => show() }, 'Refresh');
    host.append(el('div', { class: 'toolbar' }, rangePicker('overview-range', hours, (h) => {
      hours = h;
      history.replaceState(null, '', h === 24 ? '#/overview' : `#/overview?hours=${h}`);
      show();
    }), refresh, updated));
    const own = admin ? null : el('div', { class: 'card', id: 'overview-key', 'aria-label': 'Your key' });
    const body = el('div', { id: 'overview-body' });
    if (own) host.append(own);
    host.append(body);
    let charts = [];
    let running = null;

    async function show() {
      if (running) return running;
      running = (async () => {
        try {
          await fill();
        } finally {
          running = null;
        }
      })();
      return running;
    }

    async function fill() {
      const range = rangeQuery(hours);
      const interval = intervalFor(hours);
      const tops = TOPS.filter(([, , adminOnly]) => admin || !adminOnly);
      let keyInfo;
      let series;
      let groups;
      try {
        [keyInfo, series, ...groups] = await Promise.all([
          admin ? null : api('/key/info', { signal: ctx.signal }),
          report({ ...range, interval }, ctx.signal),
          ...tops.map(([by]) => report({ ...range, group_by: by }, ctx.signal)),
        ]);
      } catch (e) {
        if (e.name === 'AbortError') return;
        if (!admin && (e.status === 401 || e.status === 403)) {
          ctx.signedOut('The key was refused: it was deleted, rotated or blocked.');
          return;
        }
        if (!ctx.signal.aborted) body.replaceChildren(errorBox(e));
        return;
      }
      if (ctx.signal.aborted) return; // the page was left while the reports were on their way
      if (own) own.replaceChildren(...ownKeyCard(keyInfo.info ?? keyInfo, { compact: true }));
      const t = series.totals;
      const tokens = t.input_tokens + t.output_tokens;
      const tiles = el('div', { class: 'grid tiles', role: 'list', 'aria-label': 'Totals' },
        tile('Requests', num(t.requests), `${num(t.errors)} errors`),
        tile('Spend', usd(t.cost), t.requests ? `${usd(t.cost / t.requests)} a request` : null),
        tile('Tokens', num(tokens), `${num(t.input_tokens)} in · ${num(t.output_tokens)} out`),
        tile('Cache hit rate', t.requests ? pct(t.cache_hits / t.requests) : '—', `${num(t.cache_hits)} hits`),
        tile('Saved by the cache', usd(t.saved_cost), null),
        tile('Error rate', t.requests ? pct(t.errors / t.requests) : '—', `${num(t.errors)} of ${num(t.requests)}`),
        tile('Latency p50', ms(t.latency_ms?.p50), null),
        tile('Latency p95', ms(t.latency_ms?.p95), t.latency_ms?.p99 == null ? null : `p99 ${ms(t.latency_ms.p99)}`));

      const line = timeline(series, interval, {
        requests: (r) => r?.requests ?? 0,
        errors: (r) => r?.errors ?? 0,
        cost: (r) => r?.cost ?? 0,
        p50: (r) => r?.latency_ms?.p50 ?? null,
        p95: (r) => r?.latency_ms?.p95 ?? null,
      });
      const boxes = [
        ['Requests and errors per ' + interval, [{ label: 'Requests', values: line.series.requests, stroke: '#2563eb' },
          { label: 'Errors', values: line.series.errors, stroke: '#dc2626' }], (v) => num(v)],
        ['Spend per ' + interval, [{ label: 'Spend', values: line.series.cost, stroke: '#16a34a' }], usdAxis],
        ['Latency', [{ label: 'p50', values: line.series.p50, stroke: '#2563eb' }, { label: 'p95', values: line.series.p95, stroke: '#d97706' }],
          msAxis],
      ].map(([title, s, yFormat]) => ({ host: el('div', { class: 'card chart-box', role: 'img', 'aria-label': title }), title, s, yFormat }));

      const topCards = tops.map(([by, heading], i) => topCard(by, heading, groups[i], hours));
      charts.forEach((c) => c());
      charts = [];
      body.replaceChildren(
        tiles,
        el('h2', {}, 'Over time'),
        el('div', { class: 'charts' }, boxes.map((b) => b.host)),
        el('h2', {}, admin ? 'Where the spend goes' : 'Where your spend goes'),
        el('div', { class: 'tops' }, topCards));
      charts = boxes.map((b) => chart(b.host, b.title, line.xs, b.s, { yFormat: b.yFormat }));
      updated.textContent = `Updated ${when(Date.now())}`;
    }

    await show();
    ctx.every(POLL_MS, show);
    return () => charts.forEach((c) => c());
  },
};

function tile(label, value, sub) {
  return el('div', { class: 'stat', role: 'listitem' }, el('div', { class: 'label' }, label), el('div', { class: 'value' }, value),
    sub ? el('div', { class: 'sub muted' }, sub) : null);
}

/** A small table of a report's first groups by spend; a job opens the Spend page narrowed to it. */
function topCard(by, heading, rep, hours) {
  // calls without a job are not a job; without a tag they are worth seeing, as "(none)"
  const rows = rep.data.filter((r) => by !== 'job_id' || (r.group !== '(none)' && r.group !== '(other)')).slice(0, TOP_N);
  const onRow = by === 'job_id'
    ? (r) => { location.hash = `#/spend?job_id=${encodeURIComponent(r.group)}&group_by=stage&hours=${hours}`; }
    : undefined;
  const headingId = `top-${by}`;
  return el('section', { class: 'card top-list', 'aria-labelledby': headingId },
    el('h3', { id: headingId }, heading),
    table([
      { label: label(by), value: (r) => (by === 'key' ? r.key_alias ?? r.group : r.group) },
      { label: 'Requests', num: true, value: (r) => num(r.requests) },
      { label: 'Spend', num: true, value: (r) => usd(r.cost) },
    ], rows, { empty: { tag: 'No tagged calls in this range.', job_id: 'No calls with a job_id in this range.' }[by] ?? 'No calls in this range.', onRow }),
    el('a', { class: 'more', href: `#/spend?group_by=${by}&hours=${hours}`, 'aria-label': `${heading}: all in Spend` },
      rep.data.length > TOP_N ? `All ${num(rep.data.length)} in Spend` : 'Open in Spend'));
}

function label(by) {
  return { key: 'Key', team: 'Team', model: 'Model', tag: 'Tag', job_id: 'Job' }[by] ?? by;
}
