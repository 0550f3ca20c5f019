// Spend: /spend/report grouped by key, team, org, model, deployment, provider, tag, job, stage, A/B variant or
// a metadata field, over a range, optionally per hour or day, narrowed to one job; as a table, a chart, and the
// same query as CSV. A virtual key's report is its own (the API narrows it), by the groupings that split it.
import { apiText, query } from '../api.js';
import { RANGES, chart, download, el, errorBox, hashParams, ms, num, rangePicker, rangeQuery, table, usd, when } from '../util.js';
import { GROUPINGS, JOB_GROUPINGS, KEY_GROUPINGS, groupName, intervalLabel, report, uid, usdAxis } from './money-kit.js';

const BARS = 12;
const LINES = 6;
const COLORS = ['#2563eb', '#16a34a', '#d97706', '#dc2626', '#7c3aed', '#0891b2'];

export default {
  id: 'spend',
  title: 'Spend',
  roles: ['admin', 'key'],
  async render(host, ctx) {
    const admin = ctx.me.role === 'admin';
    const allowed = admin ? GROUPINGS.map(([v]) => v) : KEY_GROUPINGS;
    const s = readState(allowed);

    const ids = { group: uid('group-by'), meta: uid('meta'), interval: uid('interval'), job: uid('job') };
    const groupSelect = el('select', { id: ids.group, onchange: () => { s.group = groupSelect.value; apply(); } },
      GROUPINGS.filter(([v]) => allowed.includes(v)).map(([v, label]) => el('option', { value: v }, label)));
    const metaInput = el('input', { id: ids.meta, type: 'text', placeholder: 'e.g. page', autocomplete: 'off', spellcheck: 'false' });
    const metaField = el('span', { class: 'field' }, el('label', { for: ids.meta }, 'Metadata field'), metaInput);
    const intervalSelect = el('select', { id: ids.interval, onchange: () => { s.interval = intervalSelect.value; apply(); } },
      el('option', { value: '' }, 'Whole range'), el('option', { value: 'hour' }, 'Per hour'), el('option', { value: 'day' }, 'Per day'));
    const jobInput = el('input', { id: ids.job, type: 'text', placeholder: 'all jobs', autocomplete: 'off', spellcheck: 'false' });
    const csv = el('button', { type: 'button', class: 'secondary', onclick: () => downloadCsv() }, 'Download CSV');
    const form = el('form', { class: 'toolbar spend-query', 'aria-label': 'Report' },
      el('span', { class: 'field' }, el('label', { for: ids.group }, 'Group by'), groupSelect),
      metaField,
      rangePicker(uid('range'), s.hours, (h) => { s.hours = h; apply(); }),
      el('span', { class: 'field' }, el('label', { for: ids.interval }, 'Over time'), intervalSelect),
      el('span', { class: 'field' }, el('label', { for: ids.job }, 'Job id'), jobInput),
      el('button', { type: 'submit' }, 'Show'),
      csv);
    metaInput.value = s.meta;
    jobInput.value = s.job;
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      apply();
    });
    const narrowed = el('p', { class: 'narrowed', hidden: true });
    const summary = el('p', { class: 'summary', 'aria-live': 'polite' });
    const chartHost = el('div', { class: 'card chart-box', id: 'spend-chart' });
    const tableHost = el('div', { id: 'spend-table' });
    host.append(form, narrowed, summary, chartHost, tableHost);
    let dropChart = () => {};
    let asked = 0;

    /** The report's query for the state shown (without format). */
    function params() {
      const groupBy = s.group === 'metadata' ? (s.meta ? `metadata.${s.meta}` : null) : s.group;
      return { group_by: groupBy, interval: s.interval, job_id: s.job, ...rangeQuery(s.hours) };
    }

    /** Puts the state in the controls and the address, then reads the report. */
    async function apply() {
      s.meta = metaInput.value.trim(); // typed, perhaps not yet submitted: a change of another control keeps it
      s.job = jobInput.value.trim();
      if (s.job && !JOB_GROUPINGS.includes(s.group)) s.group = 'stage'; // what a report narrowed to a job may group by
      for (const o of groupSelect.options) o.disabled = Boolean(s.job) && !JOB_GROUPINGS.includes(o.value);
      groupSelect.value = s.group;
      metaField.hidden = s.group !== 'metadata';
      intervalSelect.value = s.interval;
      const q = new URLSearchParams();
      for (const [k, v] of [['group_by', s.group], ['meta', s.group === 'metadata' ? s.meta : ''], ['interval', s.interval],
        ['job_id', s.job], ['hours', s.hours === 24 ? '' : s.hours]]) if (v) q.set(k, v);
      history.replaceState(null, '', `#/spend${q.toString() ? `?${q}` : ''}`);
      narrowed.hidden = !s.job;
      narrowed.replaceChildren(...(s.job ? ['Narrowed to job ', el('strong', {}, s.job), ' ',
        el('button', { type: 'button', class: 'small secondary', onclick: () => { jobInput.value = ''; apply(); } }, 'Show all jobs')] : []));
      if (s.group === 'metadata' && !s.meta) {
        summary.textContent = 'Name the metadata field to group by (a member of the requests\' "metadata").';
        dropChart();
        chartHost.replaceChildren();
        tableHost.replaceChildren();
        metaInput.focus();
        return;
      }
      let rep;
      const mine = ++asked;
      try {
        rep = await report(params(), ctx.signal);
      } catch (e) {
        if (e.name === 'AbortError') return;
        if (!ctx.signal.aborted) summary.replaceChildren(errorBox(e));
        return;
      }
      if (!ctx.signal.aborted && mine === asked) show(rep); // else the page was left, or a newer query is on its way
    }

    function show(rep) {
      const t = rep.totals;
      summary.replaceChildren(`${num(t.requests)} ${t.requests === 1 ? 'request' : 'requests'}, ${usd(t.cost)}, `
        + `${num(t.input_tokens + t.output_tokens)} tokens`,
        ` from ${when(rep.from)} to ${when(rep.to)}.`);
      const by = rep.group_by ?? '';
      const groupKey = s.group === 'metadata' ? 'metadata' : s.group;
      const rows = rep.interval
        ? [...rep.data].sort((a, b) => Date.parse(b.interval_start) - Date.parse(a.interval_start) || b.cost - a.cost)
        : rep.data;
      const groupLabel = GROUPINGS.find(([v]) => v === groupKey)?.[1].replace('…', '') ?? 'Group';
      const columns = [
        ...(by ? [{ label: s.group === 'metadata' ? s.meta : groupLabel, value: (r) => groupName(r, by) }] : []),
        ...(rep.interval ? [{ label: rep.interval === 'day' ? 'Day (UTC)' : 'Hour', value: (r) => intervalLabel(r.interval_start, rep.interval) }] : []),
        { label: 'Requests', num: true, value: (r) => num(r.requests) },
        { label: 'Errors', num: true, value: (r) => num(r.errors) },
        { label: 'Tokens', num: true, value: (r) => num(r.input_tokens + r.output_tokens) },
        { label: 'Cost', num: true, value: (r) => usd(r.cost) },
        { label: 'Cache hits', num: true, value: (r) => num(r.cache_hits) },
        { label: 'Saved', num: true, value: (r) => usd(r.saved_cost) },
        { label: 'p50', num: true, value: (r) => ms(r.latency_ms?.p50) },
        { label: 'p95', num: true, value: (r) => ms(r.latency_ms?.p95) },
      ];
      const jobRow = by === 'job_id' && !s.job
        ? (r) => { if (r.group !== '(none)' && r.group !== '(other)') { jobInput.value = r.group; s.group = 'stage'; apply(); } }
        : undefined;
      const tbl = table(columns, rows, { empty: 'No calls in this range.', onRow: jobRow });
      const tableEl = tbl.querySelector?.('table');
      if (tableEl && (by || rep.interval)) {
        const cells = columns.map((c, i) => (i === 0 ? 'Total' : c.label === 'Day (UTC)' || c.label === 'Hour' ? '' : c.value(t)));
        tableEl.append(el('tfoot', {}, el('tr', {}, cells.map((v, i) => el(i === 0 ? 'th' : 'td',
          { class: columns[i].num ? 'num' : undefined, scope: i === 0 ? 'row' : undefined }, v)))));
      }
      if (jobRow) tableHost.replaceChildren(el('p', { class: 'muted' }, 'Choose a job to see its stages.'), tbl);
      else tableHost.replaceChildren(tbl);
      drawChart(rep, by);
    }

    function drawChart(rep, by) {
      dropChart();
      dropChart = () => {};
      chartHost.replaceChildren();
      chartHost.hidden = false;
      if (rep.interval) {
        const step = rep.interval === 'day' ? 86_400_000 : 3_600_000;
        const start = Math.floor(Date.parse(rep.from) / step) * step;
        const xs = [];
        for (let x = start; x < Date.parse(rep.to); x += step) xs.push(x / 1000);
        const totals = new Map();
        for (const r of rep.data) totals.set(r.group, (totals.get(r.group) ?? 0) + r.cost);
        const top = [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, LINES).map(([g]) => g);
        const series = top.map((g, i) => {
          const at = new Map(rep.data.filter((r) => r.group === g).map((r) => [Date.parse(r.interval_start) / 1000, r.cost]));
          const row = rep.data.find((r) => r.group === g);
          return { label: by === 'key' && row?.key_alias ? row.key_alias : g === 'all' ? 'Spend' : g,
            values: xs.map((x) => at.get(x) ?? 0), stroke: COLORS[i % COLORS.length] };
        });
        if (!series.length) series.push({ label: 'Spend', values: xs.map(() => 0) });
        chartHost.setAttribute('aria-label', `Spend per ${rep.interval}`);
        dropChart = chart(chartHost, `Spend per ${rep.interval}${totals.size > LINES ? ` (the ${LINES} largest)` : ''}`, xs, series,
          { yFormat: usdAxis });
        return;
      }
      if (!by || !rep.data.length) {
        chartHost.hidden = true;
        return;
      }
      const top = rep.data.slice(0, BARS);
      const max = Math.max(...top.map((r) => r.cost), 0);
      chartHost.setAttribute('aria-label', 'Spend per group');
      const per = s.group === 'metadata' ? s.meta : GROUPINGS.find(([v]) => v === s.group)?.[1].toLowerCase();
      chartHost.append(el('h3', { class: 'chart-title' }, `Spend per ${per}`
        + (rep.data.length > BARS ? ` (the ${BARS} largest)` : '')),
      el('ul', { class: 'hbars' }, top.map((r) => {
        const bar = el('span', { class: 'hbar' });
        bar.style.width = `${max > 0 ? Math.max(0.5, (r.cost / max) * 100).toFixed(1) : 0}%`;
        return el('li', {}, el('span', { class: 'hbar-label' }, groupName(r, by)), el('span', { class: 'hbar-track' }, bar),
          el('span', { class: 'hbar-value' }, usd(r.cost)));
      })));
    }

    async function downloadCsv() {
      try {
        const p = params();
        const text = await apiText(`/spend/report${query({ ...p, format: 'csv' })}`, { signal: ctx.signal });
        const name = ['spend', p.group_by?.replace(/[^A-Za-z0-9_-]+/g, '-') || 'total', s.job && `job-${s.job.replace(/[^A-Za-z0-9_-]+/g, '-')}`,
          s.interval && `per-${s.interval}`].filter(Boolean).join('-');
        download(`${name}.csv`, text);
      } catch (e) {
        summary.replaceChildren(errorBox(e));
      }
    }

    await apply();
    return () => dropChart();
  },
};

/** The page's state from its address (#/spend?group_by=stage&job_id=...&hours=168), within what this key may use. */
function readState(allowed) {
  const p = hashParams();
  let group = p.get('group_by') ?? (allowed.includes('model') ? 'model' : '');
  let meta = p.get('meta') ?? '';
  if (group.startsWith('metadata.')) {
    meta = group.slice('metadata.'.length);
    group = 'metadata';
  }
  if (!allowed.includes(group)) group = allowed.includes('model') ? 'model' : '';
  const hours = Number(p.get('hours'));
  return {
    group,
    meta,
    hours: RANGES.some(([, h]) => h === hours) ? hours : 24,
    interval: ['hour', 'day'].includes(p.get('interval')) ? p.get('interval') : '',
    job: p.get('job_id') ?? '',
  };
}
