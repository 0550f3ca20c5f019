-- wrk script: a streamed chat request (used to warm the streaming path up).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
-- BENCH_EXTRA: members added to the body (bench/log-ab.sh)
wrk.body = '{"model":"bench","stream":true,"messages":[{"role":"user","content":"Summarise the benefits of an LLM gateway in one line."}]' .. (os.getenv("BENCH_EXTRA") or "") .. '}'
-- BENCH_AUTH: a key every request carries (bench/ab.sh's AB_SETUP makes one)
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then wrk.headers["Authorization"] = "Bearer " .. auth end
