-- The same request every time (a bearer GET, a client_credentials POST, an introspection).
operations = 0
bad = 0
bad_sample = ""

-- Built on first use: wrk fills in its own defaults only after the script has loaded.
local request_text = nil

function request()
  if request_text == nil then
    request_text = wrk.format(METHOD, PATH, HEADERS, BODY)
  end
  return request_text
end

function response(status, headers, body)
  if status == EXPECTED_STATUS then
    operations = operations + 1
  else
    note_bad(status, body)
  end
end
