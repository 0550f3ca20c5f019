// The gateway's admin and spend APIs, called with the signed-in key as a bearer header. The key is kept in
// sessionStorage (this tab only, gone when it closes), never in a URL or a cookie.
const STORE = 'nemo.key';

export const session = {
  key: () => sessionStorage.getItem(STORE),
  set: (key) => sessionStorage.setItem(STORE, key),
  clear: () => sessionStorage.removeItem(STORE),
};

/** An answer the gateway refused: its status and the OpenAI-shaped error's message. */
export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** The query string of {k: v} with empty values left out. */
export function query(params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

async function call(path, { method = 'GET', body, key = session.key(), headers = {}, signal } = {}) {
  const h = { ...headers };
  if (key) h.authorization = `Bearer ${key}`;
  if (body !== undefined) h['content-type'] = 'application/json';
  const r = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', signal });
  if (!r.ok) {
    let message = `${r.status} ${r.statusText}`;
    let code;
    try {
      const e = (await r.json()).error;
      if (e?.message) message = e.message;
      code = e?.code;
    } catch { /* not JSON: keep the status line */ }
    throw new ApiError(r.status, message, code);
  }
  return r;
}

/** GET or POST an API and read its JSON. */
export async function api(path, options) {
  return (await call(path, options)).json();
}

/** GET an API as text (CSV). */
export async function apiText(path, options) {
  return (await call(path, options)).text();
}

/** A raw fetch with the key (the playground reads the stream itself). */
export function apiFetch(path, options) {
  return call(path, options);
}

/**
 * Who a key is: the master key may list keys; a virtual key may read its own info. Null when neither
 * (a wrong key, or a gateway without keys). A key shaped like the gateway's own (sk-nemo- and 40 characters)
 * is asked about as a virtual key first, so that signing in with either kind starts with no refused request.
 */
export async function whoIs(key) {
  const order = /^sk-nemo-[0-9A-Za-z]{40}$/.test(key) ? [asVirtualKey, asMaster] : [asMaster, asVirtualKey];
  for (const ask of order) {
    const found = await ask(key);
    if (found) return found;
  }
  return null;
}

async function asMaster(key) {
  try {
    await api('/key/list?size=1', { key });
    return { role: 'admin', label: 'Admin (master key)' };
  } catch (e) {
    if (e.status === 401 || e.status === 403) return null;
    throw e;
  }
}

async function asVirtualKey(key) {
  try {
    const info = await api('/key/info', { key });
    const k = info.info ?? info;
    return { role: 'key', key: k, label: k.key_alias || k.key_name || 'Virtual key' };
  } catch (e) {
    if (e.status === 400 || e.status === 401 || e.status === 403) return null; // 400: the master key, which must name a key
    throw e;
  }
}
