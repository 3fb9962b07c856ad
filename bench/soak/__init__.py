"""The soak test (issue 6): `python -m bench.soak`.

A bounded load run against gunicorn and PostgreSQL on loopback: concurrent virtual clients issue
(authorization code + PKCE, client credentials), refresh, use, introspect and revoke tokens for a
few minutes; then the run checks that nothing was lost or left behind. See `run.py`.
"""
