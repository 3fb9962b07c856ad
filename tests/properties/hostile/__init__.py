"""The hostile-values matrix: every door a client's settings come through by every field by every output.

A cell is (door, field, value). The door either refuses the value (a 4xx or a form error, and
nothing written) or stores it; whatever is stored must then be inert in every output that shows
it. The rows live in three tables, so a new door, field or output joins by adding a row, not a
test file:

- `values.FIELDS`: the fields a client's developer controls, with the hostile values sent in each
  and the oracle the stored value must satisfy;
- `doors.DOORS`: services, RFC 7591 registration, the RFC 7592 PUT, the portal, the admin, the
  import, and a legacy row written around every policy;
- `outputs.OUTPUTS`: the pages (end user's apps, developer portal, admin), the consent page, the
  client and token exports (CSV, XLSX), the registration JSON answers (RFC 7591 POST, RFC 7592 PUT and GET),
  the audit event detail, the audit admin pages and the audit exports (CSV, XLSX).

The console's two big lists (tokens, audit log) render their own rows (`oauth_console.admin_rows`);
`list_cells.py` holds their rows of the matrix: the doors that put a value in a field of a token
or an audit event they show (a caller without credentials, a stored row), by every hostile value.

The oracles (`oracles.py`) are written from the threat (OWASP's XSS and CSV-injection cheat sheets,
RFC 7591 §3.2) rather than from our policy, so they judge whatever the policy does.
"""
