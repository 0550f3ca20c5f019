// Sequential chat requests to one gateway at a fixed rate, one model after another; prints the p50/p90/p99 of the
// gateway's own x-nemo-overhead-ms (its time before the hand-off upstream and between the answer's first byte and
// its head) per model, over the last two thirds of the requests. No load generator in the way: the gateway's own clock.
// Usage: node bench/overhead-client.mjs PORT MODEL[,MODEL...] [N=3000] [RATE=500]   (UNIQUE=1: a seed makes each request differ)
import http from 'node:http';

const port = Number(process.argv[2]);
const models = process.argv[3].split(',');
const n = Number(process.argv[4] || 3000);
const rate = Number(process.argv[5] || 500);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let seed = Math.floor(Math.random() * 1e9) * 1000;

function post(model) {
  const body = `{"model":"${model}","stream":false,"messages":[{"role":"system","content":"You are a concise assistant."},`
    + `{"role":"user","content":"Summarise the benefits of an LLM gateway in one line."}]`
    + (process.env.UNIQUE === '1' ? `,"seed":${++seed}` : '') + '}';
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const overhead = parseFloat(res.headers['x-nemo-overhead-ms']);
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(overhead) : reject(new Error(`${model}: status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

for (const model of models) {
  const got = [];
  for (let k = 0; k < n; k++) {
    const t0 = performance.now();
    got.push(await post(model));
    const left = 1000 / rate - (performance.now() - t0);
    if (left > 0) await new Promise((r) => setTimeout(r, left));
  }
  const s = got.slice(Math.floor(n / 3)).sort((a, b) => a - b);
  const q = (p) => (s[Math.floor(p * (s.length - 1))] * 1000).toFixed(0);
  console.log(`${model}: overhead p50 ${q(0.5)} µs, p90 ${q(0.9)} µs, p99 ${q(0.99)} µs`);
}
