// Helpers the activity pages (requests, deployments, playground) share; the shell's util.js has the rest.
import { el } from '../util.js';

/** A time as the log shows it: the clock time today, else the date and time; the full instant as its title. */
export function shortTime(ts) {
  if (ts === null || ts === undefined) return '—';
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return String(ts);
  const today = new Date().toDateString() === d.toDateString();
  const text = today
    ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
    : d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return el('time', { datetime: d.toISOString(), title: d.toISOString() }, text);
}

/** A status code as a badge: green below 400, red from it. */
export function statusBadge(status, title) {
  const s = Number(status);
  return el('span', { class: `badge ${s && s < 400 ? 'ok' : 'bad'}`, title }, s ? String(s) : '—');
}

/** The cache decision (hit, miss, bypass) as a badge. */
export function cacheBadge(decision) {
  if (!decision) return '—';
  return el('span', { class: `badge cache-${decision}` }, decision);
}

/** A value as readable text: nested objects and arrays as indented JSON in a <pre>. */
export function jsonValue(v) {
  if (v === null || v === undefined) return el('span', { class: 'muted' }, '—');
  if (typeof v === 'object') return el('pre', { class: 'json' }, JSON.stringify(v, null, 2));
  return String(v);
}

/** A <dl class="fields"> of [label, value] pairs; values may be nodes. Pairs with undefined values are skipped. */
export function fields(pairs) {
  return el('dl', { class: 'fields' }, pairs.filter(([, v]) => v !== undefined)
    .flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v === null ? el('span', { class: 'muted' }, '—') : v)]));
}
