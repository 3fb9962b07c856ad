-- The whole authorization-code + PKCE flow of a signed-in user whose consent is remembered:
-- GET the authorization endpoint (answered with a redirect carrying a code), then exchange the
-- code at the token endpoint. Codes are queued per thread, so every connection keeps working;
-- an operation is one completed flow (two requests).
operations = 0
bad = 0
bad_sample = ""

local codes = {}
local authorize_text = nil

function request()
  local code = table.remove(codes)
  if code then
    return wrk.format("POST", TOKEN_PATH, TOKEN_HEADERS, TOKEN_BODY_PREFIX .. code)
  end
  if authorize_text == nil then
    authorize_text = wrk.format("GET", AUTHORIZE_PATH, AUTHORIZE_HEADERS, nil)
  end
  return authorize_text
end

function response(status, headers, body)
  if status == 302 then
    local location = headers["Location"] or headers["location"] or ""
    local code = string.match(location, "[?&]code=([^&#]+)")
    if code then
      table.insert(codes, code)
    else
      note_bad(status, location)
    end
  elseif status == 200 then
    operations = operations + 1
  else
    note_bad(status, body)
  end
end
