// Latency of the first N steps a freshly started target serves, in windows: for bench/cold-start.sh.
// A step is four sequential requests: a plain chat request on a kept-alive connection (timed to the
// last byte) and a short streamed one (3 events, no gaps) on a fresh connection (timed to the first
// body byte), each to the target and straight to the upstream ("direct"), so the client's and the
// upstream's own warm-up hit both alike; before the steps, CLIENT_WARM steps go to direct only.
// Usage: node bench/cold-start.mjs TARGET_URL DIRECT_URL [N=5000] [WINDOW=500] [label] (URLs: http://host:port)
import http from 'node:http';

const [target, direct, n = '5000', win = '500', label = 'target'] = process.argv.slice(2);
const clientWarm = Number(process.env.CLIENT_WARM || 3000);
const plainBody = JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: 'Hello' }] });
const streamBody = JSON.stringify({ model: 'bench', stream: true, messages: [{ role: 'user', content: 'Hello' }] });
const agents = {};

function req(url, body, fresh) {
  const u = new URL(url);
  const agent = fresh ? false : (agents[url] ||= new http.Agent({ keepAlive: true, maxSockets: 1 }));
  const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  if (fresh) Object.assign(headers, { 'x-sse-events': '3', 'x-sse-gap-ms': '0', connection: 'close' });
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    let first = 0n;
    const r = http.request({ host: u.hostname, port: u.port, path: '/v1/chat/completions', method: 'POST', agent, headers }, res => {
      res.on('data', () => { if (!first) first = process.hrtime.bigint(); });
      res.on('end', () => resolve({ first: Number(first - t0) / 1000, total: Number(process.hrtime.bigint() - t0) / 1000, status: res.statusCode }));
    });
    r.on('error', reject);
    r.end(body);
  });
}
const q = (a, p) => { const s = [...a].sort((x, y) => x - y); return Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]); };
for (let i = 0; i < clientWarm; i++) { await req(direct, plainBody, false); await req(direct, streamBody, true); }
console.log(`${label}: client warm; waiting for the target`);
const net = await import('node:net');
const tu = new URL(target);
for (;;) { // the first step goes out as soon as the target's port opens
  const up = await new Promise(r => { const s = net.connect(Number(tu.port), tu.hostname, () => { s.destroy(); r(true); }); s.on('error', () => r(false)); });
  if (up) break;
  await new Promise(r => setTimeout(r, 5));
}
const rows = { tp: [], dp: [], ts: [], ds: [] };
let bad = 0;
const started = Date.now();
for (let i = 0; i < Number(n); i++) {
  const order = Math.random() < 0.5;
  const [a, b] = order ? [target, direct] : [direct, target];
  const pa = await req(a, plainBody, false), pb = await req(b, plainBody, false);
  const sa = await req(a, streamBody, true), sb = await req(b, streamBody, true);
  const [tp, dp, ts, ds] = order ? [pa, pb, sa, sb] : [pb, pa, sb, sa];
  for (const x of [tp, dp, ts, ds]) if (x.status !== 200) bad++;
  rows.tp.push(tp.total); rows.dp.push(dp.total); rows.ts.push(ts.first); rows.ds.push(ds.first);
}
console.log(`${label}: ${n} steps in ${((Date.now() - started) / 1000).toFixed(1)} s, ${bad} non-200 (client warmed with ${clientWarm} direct steps first)`);
console.log(`${label} requests   | plain keep-alive, to last byte: p50  p90 | added p50 p90 || streamed, fresh conn., first byte: p50  p90 | added p50 p90  (µs)`);
const pad = (x, w = 6) => String(x).padStart(w);
for (let i = 0; i < rows.tp.length; i += Number(win)) {
  const s = k => rows[k].slice(i, i + Number(win));
  const [tp, dp, ts, ds] = ['tp', 'dp', 'ts', 'ds'].map(s);
  console.log(`${label} ${String(i + 1).padStart(5)}-${String(i + tp.length).padEnd(5)} |                      ${pad(q(tp, .5))} ${pad(q(tp, .9))} | ${pad(q(tp, .5) - q(dp, .5))} ${pad(q(tp, .9) - q(dp, .9))} ||                         ${pad(q(ts, .5))} ${pad(q(ts, .9))} | ${pad(q(ts, .5) - q(ds, .5))} ${pad(q(ts, .9) - q(ds, .9))}`);
}
