-- The OpenID Connect sign-in of a signed-in user whose consent is remembered: GET the
-- authorization endpoint with scope openid (a redirect carrying a code), exchange the code at
-- the token endpoint (an answer that must hold an id_token), then GET UserInfo with the access
-- token. Codes and access tokens are queued per thread, so every connection keeps working; an
-- operation is one completed sign-in (three requests).
operations = 0
bad = 0
bad_sample = ""

local codes = {}
local access_tokens = {}
local authorize_text = nil

function request()
  local access_token = table.remove(access_tokens)
  if access_token then
    local headers = {}
    for name, value in pairs(USERINFO_HEADERS) do
      headers[name] = value
    end
    headers["Authorization"] = "Bearer " .. access_token
    return wrk.format("GET", USERINFO_PATH, headers, nil)
  end
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
    local access_token = string.match(body, '"access_token"%s*:%s*"([^"]+)"')
    if access_token then
      if string.find(body, '"id_token"', 1, true) then
        table.insert(access_tokens, access_token)
      else
        note_bad(status, "a token answer without an id_token: " .. body)
      end
    elseif string.find(body, '"sub"', 1, true) then
      operations = operations + 1
    else
      note_bad(status, body)
    end
  else
    note_bad(status, body)
  end
end
