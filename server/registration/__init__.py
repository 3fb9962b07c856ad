"""Dynamic client registration (RFC 7591) and client configuration (RFC 7592): our hooks.

The protocol is `server.oauth2.registration`'s; this package only binds its hooks to our models
(`endpoints.py`) and says which metadata we keep and how it maps onto a Client (`metadata.py`),
as `server.bindings` binds the grants. `server.bindings` registers the endpoints on the one
authorization server; `server.registration_views` and `registration_urls` are their doors.
"""
