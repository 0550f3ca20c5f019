-- wrk script: the same non-streaming chat request the latency bench sends.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"bench","stream":false,"messages":[{"role":"system","content":"You are a concise assistant."},{"role":"user","content":"Summarise the benefits of an LLM gateway in one line."}]}'
