-- wrk script of `make bench`: every request signs with a new supporter e-mail and a fresh Idempotency-Key.
-- Arguments (after `--`): a run id, then one or more paths, used round-robin (one path per campaign).
-- At the end it prints one line `BENCH_JSON {...}` with what was sent, the 2xx and non-2xx responses and
-- the latency percentiles (microseconds), so that the caller can check the service's totals exactly. A 5xx
-- other than a 503 `busy` refusal (refused before any work) is counted as `unknown`: the service may have
-- committed the action before its MongoDB deadline ran out (a real client retries with the same key).
threads = {}
nthreads = 0

function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
  table.insert(threads, thread)
end

function init(args)
  run = args[1] or "run"
  paths = {}
  for i = 2, #args do paths[#paths + 1] = args[i] end
  if #paths == 0 then paths[1] = "/" end
  sent = 0
  ok = 0
  non2xx = 0
  unknown = 0
end

function request()
  sent = sent + 1
  local key = run .. "-" .. tid .. "-" .. sent
  local path = paths[(sent % #paths) + 1]
  local body = '{"supporter": {"email": "' .. key .. '@example.net", "first_name": "Bench"}}'
  return wrk.format("POST", path, {["Content-Type"] = "application/json", ["Idempotency-Key"] = key}, body)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else non2xx = non2xx + 1 end
  if status >= 500 and not string.find(body or "", "/busy", 1, true) then unknown = unknown + 1 end
end

function done(summary, latency, requests)
  local s, o, n, u = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    s = s + t:get("sent")
    o = o + t:get("ok")
    n = n + t:get("non2xx")
    u = u + t:get("unknown")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"sent": %d, "ok": %d, "non2xx": %d, "unknown": %d, "requests": %d, "duration_us": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d}\n',
    s, o, n, u, summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout))
end
