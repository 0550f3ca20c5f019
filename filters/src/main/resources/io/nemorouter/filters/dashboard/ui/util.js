// Small DOM and formatting helpers shared by the pages. Pages build their DOM with el(), never from HTML
// strings: every value shown comes from the gateway and may hold anything a client sent.

/** An element: el('td', {class: 'num'}, 'text', childNode, ...). Attributes starting with "on" are listeners. */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

/** US dollars: "$31.00", small amounts with enough digits to be non-zero ("$0.000123"). */
export function usd(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  const a = Math.abs(v);
  const digits = a === 0 || a >= 1 ? 2 : Math.min(8, Math.max(2, 1 - Math.floor(Math.log10(a)) + 2));
  return `${v < 0 ? '-' : ''}$${a.toFixed(digits)}`;
}

/** A count with thousands separators. */
export function num(v) {
  return v === null || v === undefined ? '—' : Number(v).toLocaleString('en-US');
}

export function pct(v) {
  return v === null || v === undefined || Number.isNaN(v) ? '—' : `${(v * 100).toFixed(1)}%`;
}

export function ms(v) {
  if (v === null || v === undefined) return '—';
  return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Number(v).toFixed(v < 10 ? 2 : 0)} ms`;
}

/** A local date and time for an ISO string or epoch milliseconds. */
export function when(t) {
  if (t === null || t === undefined) return '—';
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toLocaleString();
}

/**
 * Spend against budget as a bar and "$31.00 / $80.00"; without a budget just the spend. The bar turns
 * amber past 80% and red at the ceiling.
 */
export function budgetBar(spend, budget) {
  const label = budget ? `${usd(spend)} / ${usd(budget)}` : usd(spend);
  if (!budget) return el('span', { class: 'budget', 'aria-label': `Spend ${label}, no budget` }, label);
  const share = Math.max(0, Math.min(1, spend / budget));
  const bar = el('span', { class: `bar${share >= 1 ? ' full' : share >= 0.8 ? ' high' : ''}` });
  bar.style.width = `${(share * 100).toFixed(1)}%`;
  return el('span', { class: 'budget', role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': budget, 'aria-valuenow': spend,
    'aria-label': `Spend ${label}` }, el('span', { class: 'track' }, bar), el('span', { class: 'amount' }, label));
}

/** A table of rows: columns are {label, value: row => text|Node, num: right-aligned}. */
export function table(columns, rows, { empty = 'Nothing yet.', onRow } = {}) {
  if (!rows.length) return el('p', { class: 'empty' }, empty);
  const head = el('tr', {}, columns.map((c) => el('th', { scope: 'col', class: c.num ? 'num' : undefined }, c.label)));
  const body = rows.map((r) => {
    const tr = el('tr', {}, columns.map((c) => el('td', { class: c.num ? 'num' : undefined }, c.value(r))));
    if (onRow) {
      tr.tabIndex = 0;
      tr.classList.add('clickable');
      tr.addEventListener('click', () => onRow(r));
      tr.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); onRow(r); } });
    }
    return tr;
  });
  return el('div', { class: 'table-wrap' }, el('table', {}, el('thead', {}, head), el('tbody', {}, body)));
}

/** A message in place of a page's content when an API refused or failed. */
export function errorBox(e) {
  return el('p', { class: 'error', role: 'alert' }, e?.message ?? String(e));
}

/** Copies text to the clipboard; says so on the button for a moment. */
export async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // no clipboard permission (an http page on another host): select a hidden field instead
    const t = el('textarea', { class: 'offscreen', readonly: true });
    t.value = text;
    document.body.append(t);
    t.select();
    document.execCommand('copy');
    t.remove();
  }
  if (button) {
    const was = button.textContent;
    button.textContent = 'Copied';
    setTimeout(() => { button.textContent = was; }, 1500);
  }
}

/** Ranges a page may show, as [label, hours]. */
export const RANGES = [['Last hour', 1], ['Last 24 hours', 24], ['Last 7 days', 168], ['Last 30 days', 720]];

/** A labelled select of time ranges; calls onChange(hours). */
export function rangePicker(id, hours, onChange) {
  const s = el('select', { id, onchange: () => onChange(Number(s.value)) },
    RANGES.map(([label, h]) => el('option', { value: h, selected: h === hours }, label)));
  return el('span', { class: 'field' }, el('label', { for: id }, 'Range'), s);
}

/** from/to for the spend APIs: the last `hours` hours up to now. */
export function rangeQuery(hours) {
  const to = new Date();
  const from = new Date(to.getTime() - hours * 3_600_000);
  return { from: from.toISOString(), to: to.toISOString() };
}

/**
 * A uPlot time chart in `host`, sized to it: series are {label, values, stroke}; x is epoch seconds.
 * Returns a function that removes it. Falls back to a note when uPlot did not load.
 */
export function chart(host, title, xs, series, { yFormat = (v) => String(v) } = {}) {
  if (!window.uPlot) {
    host.append(el('p', { class: 'empty' }, 'Charts need uPlot, which did not load.'));
    return () => {};
  }
  const width = Math.max(240, host.clientWidth || 480);
  const u = new window.uPlot({
    title, width, height: 200,
    scales: { x: { time: true } },
    axes: [{}, { values: (_, ticks) => ticks.map(yFormat), size: 70 }],
    series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke ?? '#2563eb', width: 2, value: (_, v) => (v === null ? '—' : yFormat(v)) }))],
  }, [xs, ...series.map((s) => s.values)], host);
  const resize = () => u.setSize({ width: Math.max(240, host.clientWidth), height: 200 });
  window.addEventListener('resize', resize);
  return () => { window.removeEventListener('resize', resize); u.destroy(); };
}

/** Downloads text as a file. */
export function download(name, text, type = 'text/csv') {
  const a = el('a', { href: URL.createObjectURL(new Blob([text], { type })), download: name });
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 0);
}

/** The query of the page's address (#/spend?job_id=…), where pages keep what should survive a reload. */
export function hashParams() {
  return new URLSearchParams(location.hash.split('?')[1] ?? '');
}
