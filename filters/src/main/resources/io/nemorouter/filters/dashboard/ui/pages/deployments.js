// Deployments: GET /health/deployments (master key) as a table by group, refreshed every 2 s while "Live" is on,
// and the catalog's model names from GET /v1/models with how many deployments serve each.
import { api } from '../api.js';
import { el, errorBox, ms, num, pct } from '../util.js';

const EVERY_MS = 2000;
/** The router's states (DeploymentState.State, lower-cased) in words. */
const STATES = {
  healthy: ['healthy', 'Taking requests.'],
  cooling_down: ['cooling down', 'Out of rotation after failures or a Retry-After until its cooldown ends.'],
  half_open: ['half open', 'Cooldown over: the next request probes it; an answer closes the circuit, a failure opens it again.'],
};

function stateBadge(state) {
  const [words, help] = STATES[state] ?? [state ?? 'unknown', undefined];
  return el('span', { class: `badge state-${state}`, title: help }, words);
}

function seconds(msLeft) {
  if (!msLeft) return '—';
  return msLeft >= 1000 ? `${(msLeft / 1000).toFixed(1)} s` : `${msLeft} ms`;
}

const COLUMNS = [
  ['Deployment', (d) => el('span', {}, d.id, el('span', { class: 'sub' }, d.provider))],
  ['State', (d) => stateBadge(d.state)],
  ['In flight', (d) => num(d.in_flight), true],
  ['Latency EWMA', (d) => (d.latency_ewma_ms ? ms(d.latency_ewma_ms) : '—'), true],
  ['Requests', (d) => num(d.requests), true],
  ['Failures', (d) => num(d.failures), true],
  ['Error rate', (d) => (d.requests ? pct(d.error_rate) : '—'), true],
  ['Cooldown left', (d) => seconds(d.cooldown_remaining_ms), true],
  ['Quota resets in', (d) => seconds(d.quota_reset_ms), true],
];

function stat(label, value, id) {
  return el('div', { class: 'stat' }, el('div', { class: 'label' }, label), el('div', { class: 'value', id }, value));
}

export default {
  id: 'deployments',
  title: 'Deployments',
  roles: ['admin'],
  async render(host, ctx) {
    const live = el('input', { type: 'checkbox', id: 'deployments-live', role: 'switch', checked: true });
    const updated = el('span', { class: 'muted', id: 'deployments-updated' });
    const stats = el('div', { class: 'grid', id: 'deployments-stats' });
    const errorHost = el('div', {});
    const tbody = el('tbody', {});
    const tableWrap = el('div', { class: 'table-wrap' }, el('table', { id: 'deployments-table', class: 'deployments' },
      el('caption', { class: 'offscreen' }, 'Deployments by group, updated every 2 seconds'),
      el('thead', {}, el('tr', {}, COLUMNS.map(([label, , n]) => el('th', { scope: 'col', class: n ? 'num' : undefined }, label)))),
      tbody));
    const catalog = el('div', { id: 'deployments-catalog' });
    host.append(
      el('div', { class: 'log-bar' },
        el('label', { class: 'switch', for: 'deployments-live' }, live, el('span', {}, 'Live')), updated),
      stats, errorHost, tableWrap,
      el('h2', {}, 'Catalog'),
      el('p', { class: 'muted' }, 'The model names clients may ask for (GET /v1/models), and the deployments serving each.'),
      catalog);

    let models = null;
    let busy = false;

    const draw = (health) => {
      const list = health.deployments ?? [];
      const groups = new Map();
      for (const d of list) {
        if (!groups.has(d.group)) groups.set(d.group, []);
        groups.get(d.group).push(d);
      }
      const count = (s) => list.filter((d) => d.state === s).length;
      stats.replaceChildren(
        stat('Deployments', num(list.length), 'dep-total'),
        stat('Healthy', num(count('healthy')), 'dep-healthy'),
        stat('Cooling down', num(count('cooling_down')), 'dep-cooling'),
        stat('Half open', num(count('half_open')), 'dep-half-open'),
        stat('In flight', num(list.reduce((a, d) => a + (d.in_flight ?? 0), 0)), 'dep-in-flight'));
      const rows = [];
      for (const [group, members] of groups) {
        const strategy = members[0]?.strategy;
        rows.push(el('tr', { class: 'group-row' }, el('th', { scope: 'rowgroup', colspan: COLUMNS.length },
          group, strategy ? el('span', { class: 'sub-inline' }, ` · ${strategy}`) : null)));
        for (const d of members) {
          rows.push(el('tr', { dataset: { deployment: d.id, state: d.state } },
            COLUMNS.map(([, value, n]) => el('td', { class: n ? 'num' : undefined }, value(d)))));
        }
      }
      tbody.replaceChildren(...rows);
      tableWrap.hidden = rows.length === 0;
      if (!rows.length) errorHost.replaceChildren(el('p', { class: 'empty' }, 'No deployments in the catalog.'));
      updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
      if (models) {
        catalog.replaceChildren(models.length ? el('ul', { class: 'catalog' }, models.map((m) => {
          const members = groups.get(m.id) ?? [];
          const healthy = members.filter((d) => d.state === 'healthy').length;
          return el('li', { dataset: { model: m.id } }, el('strong', {}, m.id),
            el('span', { class: 'muted' }, ` · ${m.owned_by ?? ''} · ${members.length} deployment${members.length === 1 ? '' : 's'}`
              + (members.length ? `, ${healthy} healthy` : '')));
        })) : el('p', { class: 'empty' }, 'The catalog is empty.'));
      }
    };

    const refresh = async () => {
      if (busy) return;
      busy = true;
      try {
        const health = await api('/health/deployments');
        if (!models) {
          try { models = (await api('/v1/models')).data ?? []; } catch { models = []; }
        }
        errorHost.replaceChildren();
        draw(health);
      } catch (e) {
        if (e.status === 401) { ctx.signedOut('The key was refused; sign in again.'); return; }
        errorHost.replaceChildren(errorBox(e));
      } finally {
        busy = false;
      }
    };

    live.addEventListener('change', () => { if (live.checked) refresh(); else updated.textContent += ' (paused)'; });
    ctx.every(EVERY_MS, () => { if (live.checked) refresh(); });
    await refresh();
  },
};
