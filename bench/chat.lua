-- wrk script: POST a small chat completion request; at the end print one machine-readable line
-- ("WRKJSON {...}") with the request count, errors and exact latency percentiles in microseconds.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-client-not-forwarded"
wrk.body = '{"model":"gpt-4o-mini","messages":[' ..
  '{"role":"system","content":"You are a concise assistant for an internal engineering team. Answer in plain English."},' ..
  '{"role":"user","content":"Summarise in one sentence why connection reuse matters for a reverse proxy in front of an API."}' ..
  '],"max_tokens":64,"temperature":0.2}'

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"err_connect":%d,"err_read":%d,' ..
    '"err_write":%d,"err_status":%d,"err_timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"p999_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
