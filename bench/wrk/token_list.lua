-- Each request spends a distinct pre-issued credential (revocation, refresh rotation): thread i
-- of n takes lines OFFSET+i, OFFSET+i+n, ... of TOKEN_FILE, so no two requests share one.
operations = 0
bad = 0
bad_sample = ""
used = 0

local tokens = {}
local position = 0

function init(args)
  for line in io.lines(TOKEN_FILE) do
    if line ~= "" then
      tokens[#tokens + 1] = line
    end
  end
  position = OFFSET + thread_index
end

function request()
  -- Past the end it wraps around; the spent credentials then fail and show up as errors.
  local token = tokens[(position % #tokens) + 1]
  position = position + THREADS
  used = used + 1
  return wrk.format(METHOD, PATH, HEADERS, BODY_PREFIX .. token .. BODY_SUFFIX)
end

function response(status, headers, body)
  if status == EXPECTED_STATUS then
    operations = operations + 1
  else
    note_bad(status, body)
  end
end
