-- wrk script: a streamed chat request (used to warm the streaming path up).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"bench","stream":true,"messages":[{"role":"user","content":"Summarise the benefits of an LLM gateway in one line."}]}'
