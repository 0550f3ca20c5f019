// The dashboard's shell: sign-in, the navigation, and one page at a time in <main>. Pages are modules under
// pages/ with a default export {id, title, roles, render(host, ctx)}; the address is #/<id>.
import { session, whoIs } from './api.js';
import { el, errorBox } from './util.js';
import overview from './pages/overview.js';
import keys from './pages/keys.js';
import spend from './pages/spend.js';
import logs from './pages/logs.js';
import deployments from './pages/deployments.js';
import playground from './pages/playground.js';

const PAGES = [overview, keys, spend, logs, deployments, playground];
const view = document.getElementById('view');
const signIn = document.getElementById('sign-in');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
const signOut = document.getElementById('sign-out');
let current = null; // {page, host, timers, abort}
let me = null;

function pagesFor(role) {
  return PAGES.filter((p) => p.roles.includes(role));
}

function showSignIn(message) {
  leave();
  me = null;
  nav.hidden = true;
  who.hidden = true;
  signOut.hidden = true;
  signIn.hidden = false;
  const err = document.getElementById('sign-in-error');
  err.hidden = !message;
  err.textContent = message ?? '';
  document.getElementById('sign-in-key').focus();
}

function showNav() {
  nav.replaceChildren(...pagesFor(me.role).map((p) => el('a', { href: `#/${p.id}`, id: `nav-${p.id}` }, p.title)));
  nav.hidden = false;
  who.textContent = me.label;
  who.hidden = false;
  signOut.hidden = false;
  signIn.hidden = true;
}

/** Stops what the current page runs (polls, streams) and removes it. */
function leave() {
  if (!current) return;
  current.timers.forEach(clearInterval);
  current.abort.abort();
  try { current.cleanup?.(); } catch { /* a page's cleanup must not keep the next from showing */ }
  current.host.remove();
  current = null;
}

async function route() {
  if (!me) return;
  const pages = pagesFor(me.role);
  const id = location.hash.replace(/^#\/?/, '').split('?')[0];
  const page = pages.find((p) => p.id === id) ?? pages[0];
  if (page.id !== id) {
    history.replaceState(null, '', `#/${page.id}`);
  }
  leave();
  for (const a of nav.querySelectorAll('a')) {
    if (a.id === `nav-${page.id}`) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  const host = el('section', { class: 'page', id: `page-${page.id}`, 'aria-labelledby': `title-${page.id}` },
    el('h1', { id: `title-${page.id}` }, page.title));
  view.append(host);
  document.title = `${page.title} · Nemo Router`;
  const state = { page, host, timers: [], abort: new AbortController(), cleanup: null };
  current = state;
  const ctx = {
    me,
    signal: state.abort.signal,
    /** Runs fn every ms while the page is shown. */
    every(ms, fn) { state.timers.push(setInterval(() => { if (current === state) fn(); }, ms)); },
    /** Goes to another page. */
    go(pageId) { location.hash = `#/${pageId}`; },
    /** The key was refused (revoked, blocked while signed in): back to sign-in. */
    signedOut(message) { session.clear(); showSignIn(message); },
  };
  try {
    state.cleanup = await page.render(host, ctx);
  } catch (e) {
    if (current === state) host.append(errorBox(e));
  }
}

async function start(key) {
  let found;
  try {
    found = await whoIs(key);
  } catch (e) {
    showSignIn(`The gateway did not answer: ${e.message}`);
    return;
  }
  if (!found) {
    session.clear();
    showSignIn('That key was not accepted. Use the master key or a virtual key of this gateway.');
    return;
  }
  session.set(key);
  me = found;
  showNav();
  await route();
}

document.getElementById('sign-in-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = document.getElementById('sign-in-key');
  const key = input.value.trim();
  input.value = '';
  if (key) start(key);
});
signOut.addEventListener('click', () => { session.clear(); history.replaceState(null, '', '#/'); showSignIn(); });
window.addEventListener('hashchange', route);

if (session.key()) start(session.key()); else showSignIn();
