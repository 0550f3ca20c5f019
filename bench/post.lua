-- wrk script: the same non-streaming chat request the latency bench sends.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
-- BENCH_EXTRA: members added to the body (bench/log-ab.sh)
wrk.body = '{"model":"bench","stream":false,"messages":[{"role":"system","content":"You are a concise assistant."},{"role":"user","content":"Summarise the benefits of an LLM gateway in one line."}]' .. (os.getenv("BENCH_EXTRA") or "") .. '}'
-- BENCH_AUTH: a key every request carries (bench/ab.sh's AB_SETUP makes one)
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then wrk.headers["Authorization"] = "Bearer " .. auth end
-- BENCH_UNIQUE=1: a "seed" counter makes every request differ (a response cache misses them all; bench/cache-ab.sh)
if os.getenv("BENCH_UNIQUE") == "1" then
  local base = wrk.body:sub(1, -2)
  local n = math.random(1, 1000000000) * 1000
  request = function()
    n = n + 1
    return wrk.format(nil, nil, nil, base .. ',"seed":' .. n .. '}')
  end
end
