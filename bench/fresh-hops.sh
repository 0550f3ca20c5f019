#!/usr/bin/env bash
# Splits the first streamed byte of fresh-connection requests into hops, from packet timestamps on
# loopback (tcpdump): client request -> proxy's upstream request ("in"), -> upstream's first answer
# bytes ("upstream"), -> proxy's first answer bytes to the client ("out"). Run against targets that
# bench/fresh-stream.sh left running (KEEP=1).
# Usage: bench/fresh-hops.sh TARGET_PORT [UPSTREAM_PORT=19700] [N=100]
set -euo pipefail
port="$1"; up="${2:-19700}"; n="${3:-100}"
body='{"model":"bench","stream":true,"messages":[{"role":"user","content":"Summarise the benefits of an LLM gateway in one line."}]}'
cap="$(mktemp /tmp/hops.XXXXXX)"
tcpdump -i lo -nn -tt -s 96 -B 8192 "tcp port $port or tcp port $up" -w "$cap.pcap" 2>/dev/null & td=$!
sleep 1
for _ in $(seq "$n"); do
  curl -N -s -o /dev/null -H 'content-type: application/json' -H 'x-bench-target: hops' -d "$body" "http://127.0.0.1:$port/v1/chat/completions"
done
sleep 0.3; kill $td; wait $td 2>/dev/null || true
tcpdump -r "$cap.pcap" -nn -tt 2>/dev/null > "$cap.txt"
node - "$cap.txt" "$port" "$up" <<'EOF'
const [file, port, up] = process.argv.slice(2);
const lines = require('fs').readFileSync(file, 'utf8').split('\n');
const reqs = []; let cur = null;
for (const l of lines) {
  const m = l.match(/^(\d+\.\d+) IP [\d.]+\.(\d+) > [\d.]+\.(\d+): Flags \[([^\]]+)\].*length (\d+)/);
  if (!m) continue;
  const t = +m[1] * 1e6, src = m[2], dst = m[3], flags = m[4], len = +m[5];
  if (dst === port && flags === 'S') { cur = { syn: t }; reqs.push(cur); continue; }
  if (!cur || len === 0) continue;
  if (dst === port && cur.req === undefined) cur.req = t;
  else if (port !== up && dst === up && cur.req !== undefined && cur.upReq === undefined) cur.upReq = t;
  else if (port !== up && src === up && cur.upReq !== undefined && cur.upResp === undefined) cur.upResp = t;
  else if (src === port && cur.req !== undefined && cur.resp === undefined) cur.resp = t;
}
const ok = reqs.filter(r => r.resp !== undefined && r.req !== undefined);
const q = (a, p) => { const s = a.filter(x => !isNaN(x)).sort((x, y) => x - y); return s.length ? Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]) : '-'; };
const show = (name, f) => { const a = ok.map(f); console.log(`${name.padEnd(34)} p50 ${String(q(a, .5)).padStart(6)}  p90 ${String(q(a, .9)).padStart(6)}`); };
console.log(`${ok.length} requests on port ${port} (µs)`);
show('SYN -> client request', r => r.req - r.syn);
if (port !== up) {
  show('in: client request -> upstream req', r => r.upReq - r.req);
  show('upstream: req -> first answer bytes', r => r.upResp - r.upReq);
  show('out: upstream answer -> client', r => r.resp - r.upResp);
}
show('client request -> first answer byte', r => r.resp - r.req);
EOF
rm -f "$cap" "$cap.pcap" "$cap.txt"
