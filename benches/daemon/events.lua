-- wrk script: POST /v1/events, every request a new event (own event_id, own victim in 10.0.0.0/8).
-- Each wrk thread numbers its events from its own base so ids never collide.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("base", #threads * 100000000)
  table.insert(threads, thread)
end

function init(args)
  n = base
end

function request()
  n = n + 1
  local body = string.format(
    '{"timestamp":"2026-11-25T10:00:00Z","source":"wrk","victim_ip":"10.%d.%d.%d","vector":"udp_flood","top_dst_ports":[53],"event_id":"w%d"}',
    math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256, n)
  return wrk.format("POST", "/v1/events", {["Content-Type"] = "application/json"}, body)
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format("wrk: %d requests, %d non-2xx, %d socket errors\n", summary.requests, non2xx,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
