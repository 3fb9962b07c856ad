-- Shared by every generated script: collect the threads, and print one machine-readable line
-- at the end (bench.wrk parses it), so nothing depends on wrk's human-readable summary.
local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

-- Count an unexpected answer, and keep the first one to show what went wrong.
function note_bad(status, text)
  bad = bad + 1
  if bad_sample == "" then
    bad_sample = tostring(status) .. " " .. string.sub(text or "", 1, 200)
  end
end

local function first_sample()
  for _, thread in ipairs(threads) do
    local sample = thread:get("bad_sample")
    if sample and sample ~= "" then
      -- Keep it a valid JSON string: no quotes, backslashes or control characters.
      return (string.gsub(sample, '[%c"\\]', " "))
    end
  end
  return ""
end

local function thread_sum(name)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + (tonumber(thread:get(name)) or 0)
  end
  return total
end

-- The most credentials one thread took: threads take every THREADS-th line, so the busiest
-- thread, not the total, says how far into the token file a burst reached.
local function thread_max(name)
  local most = 0
  for _, thread in ipairs(threads) do
    most = math.max(most, tonumber(thread:get(name)) or 0)
  end
  return most
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"operations": %d, "bad": %d, "used_max": %d, "bad_sample": "%s"}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    thread_sum("operations"), thread_sum("bad"), thread_max("used"), first_sample()))
end
