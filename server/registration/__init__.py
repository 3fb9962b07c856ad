"""Dynamic client registration (RFC 7591) and client configuration (RFC 7592) for our models.

The protocol is `server.oauth2.registration`'s; this package binds its hooks to our models
(`endpoints.py`), says which metadata we keep and how it maps onto a Client (`metadata.py`), and
routes the two doors (`urls.py`, `views.py`). The endpoints are registered on the one
authorization server in `server.provider`.
"""
