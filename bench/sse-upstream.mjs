// A tiny OpenAI-compatible SSE upstream for bench/fresh-stream.sh and bench/cold-start.sh: POST /v1/chat/completions answers
// with EVENTS chat.completion.chunk events GAP_MS apart, then "data: [DONE]". Plain node:http, no deps;
// keep-alive as Node does by default (server.keepAliveTimeout = 5 s unless KEEPALIVE_MS is set).
// Usage: node bench/sse-upstream.mjs [port] ; env SSE_EVENTS (20), SSE_GAP_MS (5), KEEPALIVE_MS (Node default);
// a request without "stream": true gets a plain chat.completion; request headers x-sse-events / x-sse-gap-ms override SSE_EVENTS / SSE_GAP_MS for that request. GET /stats: counts.
import http from 'node:http';

const port = Number(process.argv[2] || 19700);
const events = Number(process.env.SSE_EVENTS || 20);
const gap = Number(process.env.SSE_GAP_MS || 5);
let connections = 0, requests = 0;
// per x-bench-target header (curl sets it; the gateway and nginx forward it): requests, and requests that came on a new connection
const byTarget = {};

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ connections, requests, byTarget }));
    return;
  }
  if (req.method !== 'POST' || !req.url.startsWith('/v1/chat/completions')) {
    res.statusCode = 404; res.end('{"error":{"message":"not found"}}'); return;
  }
  requests++;
  const t = req.headers['x-bench-target'] || 'none';
  const s = byTarget[t] || (byTarget[t] = { requests: 0, newConnections: 0 });
  s.requests++;
  if (!req.socket.benchUsed) { s.newConnections++; req.socket.benchUsed = true; }
  const chunks = [];
  req.on('data', c => chunks.push(c));
  req.on('end', () => {
    let model = 'sse', stream = true;
    try { const b = JSON.parse(Buffer.concat(chunks).toString()); model = b.model || model; stream = b.stream === true; } catch { /* keep defaults */ }
    if (!stream) { // a plain chat completion, for the cold-start measurement's non-streaming requests
      const body = JSON.stringify({ id: 'chatcmpl-' + requests, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model,
        choices: [{ index: 0, message: { role: 'assistant', content: 'Hello there.' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 } });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    // per-request overrides (the gateway and nginx forward them): short streams for a quick warm-up
    const n = Number(req.headers['x-sse-events'] || events), g = Number(req.headers['x-sse-gap-ms'] ?? gap);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const id = 'chatcmpl-' + requests, created = Math.floor(Date.now() / 1000);
    let i = 0;
    const send = () => {
      if (res.destroyed) return;
      const delta = i === 0 ? { role: 'assistant', content: '' } : { content: 'tok' + i + ' ' };
      res.write('data: ' + JSON.stringify({ id, object: 'chat.completion.chunk', created, model,
        choices: [{ index: 0, delta, finish_reason: i === n - 1 ? 'stop' : null }] }) + '\n\n');
      if (++i < n) { if (g > 0) setTimeout(send, g); else send(); }
      else { res.write('data: [DONE]\n\n'); res.end(); }
    };
    send();
  });
});
server.on('connection', () => { connections++; });
if (process.env.KEEPALIVE_MS) server.keepAliveTimeout = Number(process.env.KEEPALIVE_MS);
server.listen(port, '127.0.0.1', () => console.log(`sse upstream on 127.0.0.1:${port} (${events} events, ${gap} ms apart, keepAliveTimeout ${server.keepAliveTimeout} ms)`));
