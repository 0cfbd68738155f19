-- Shared by the per-body wrk scripts: the body file (the first argument after --) and a JSON summary line.
--   wrk -t1 -cC -dD --latency -s wrk/BODY.lua URL -- BODY_FILE
local common = {}

function common.read(path)
  local f = assert(io.open(path, "rb"), "cannot open " .. tostring(path))
  local bytes = f:read("*a")
  f:close()
  return bytes
end

-- Requests answered with a status outside 200-299, counted per thread and summed in done().
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

non2xx = 0
function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

-- One line: WRK_RESULT {"requests", "duration_s", "rps", "p50_ms", ..., "non2xx", "socket_errors", ...}
function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do
    bad = bad + (t:get("non2xx") or 0)
  end
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_s": %.3f, "rps": %.2f, "p50_ms": %.3f, "p90_ms": %.3f, ' ..
    '"p99_ms": %.3f, "max_ms": %.3f, "mean_ms": %.3f, "non2xx": %d, "socket_errors": %d, "timeouts": %d, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "bytes": %d}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(99) / 1e3,
    latency.max / 1e3, latency.mean / 1e3, bad,
    e.connect + e.read + e.write, e.timeout, e.connect, e.read, e.write, summary.bytes))
end

return common
